"""report.html/report.md: contents, Methods from what ran, wording by data, no raw ids,
determinism, disclosure control, nothing loaded from a network."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis.errors import AnalysisError
from analysis.render.grid import to_grid
from analysis.report import write_report
from analysis.results import dumps
from analysis.tables import TEST_LABELS

# a 1x1 PNG: the report embeds figures as they are, it does not read them
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
SYNTHETIC = "synthetic cohort, n = 401, seed 1"
SITE = "site data: site.csv"
CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class _Page(HTMLParser):
    """Ids, local links, text outside tags (by enclosing element ids), headings."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.stack: list[tuple[str, str | None]] = []
        self.text: list[tuple[tuple[str, ...], tuple[str, ...], str]] = []
        self.headings: list[tuple[str, str]] = []
        self._heading: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag in ("h1", "h2", "h3"):
            self._heading = ""
            self.headings.append((tag, ""))
        if tag not in ("img", "meta", "br"):
            self.stack.append((tag, attrs.get("id")))

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings[-1] = (tag, self._heading.strip())
            self._heading = None
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        tags = tuple(t for t, _ in self.stack)
        ids = tuple(i for _, i in self.stack if i)
        self.text.append((tags, ids, data))
        if self._heading is not None:
            self._heading += data

    def visible(self, within: str | None = None, skip: tuple[str, ...] = ()) -> str:
        return " ".join(
            " ".join(data.split())
            for tags, ids, data in self.text
            if "style" not in tags
            and "title" not in tags
            and not set(skip) & set(tags)
            and (within is None or within in ids)
        )


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _write_inputs(folder: Path, study, results: dict, flow_steps: list) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for output_id, result in results.items():
        path = folder / f"{output_id}.json"
        path.write_text(dumps(result), encoding="utf-8")
        paths.append(path)
    flow = folder / "flow.json"
    flow.write_text(json.dumps({"study": study.id, "steps": flow_steps}), encoding="utf-8")
    validation = folder / "validation.json"
    validation.write_text(
        json.dumps(
            {
                "n_rows": 401,
                "problems": [],
                "missing_by_column": {"albumin": 8, "icu_days": 397},
            }
        ),
        encoding="utf-8",
    )
    figures = []
    for figure in study.figures:
        png = folder / f"{figure['id']}.png"
        png.write_bytes(PNG)
        figures.append(png)
    data = folder / "cohort.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    return {"results": paths, "flow": flow, "validation": validation, "figures": figures,
            "data": data}  # fmt: skip


def build(tmp: Path, study, results: dict, label: str = SYNTHETIC, name: str = "out", **kw):
    steps = [
        {"step": 0, "label": "Records in the input", "n": 410, "excluded": 0},
        {"step": 1, "label": study.inclusion[0]["label"], "n": 405, "excluded": 5,
         "excluded_not_met": 5, "excluded_value_missing": 0, "missing_variables": {}},
        {"step": 2, "label": study.inclusion[1]["label"], "n": 401, "excluded": 4,
         "excluded_not_met": 0, "excluded_value_missing": 4,
         "missing_variables": {"ckd_group": 4}},
    ]  # fmt: skip
    files = _write_inputs(tmp / "in", study, results, steps)
    html, md, _ = write_report(
        study,
        files["results"],
        files["flow"],
        files["figures"],
        tmp / name / "report.html",
        label,
        [files["data"], study.path],
        files["validation"],
        **kw,
    )
    return html.read_text(encoding="utf-8"), md.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def own(tmp_path_factory, study, results):
    return build(tmp_path_factory.mktemp("own"), study, results)


def test_contents_links_resolve_and_name_every_section(own, study, results):
    html, md = own
    page = parse(html)
    local = [h[1:] for h in page.hrefs if h.startswith("#")]
    assert local, "a contents list"
    assert not set(local) - page.ids, "every link has its target"
    contents = page.visible(within="contents")
    for title in ("Data and cohort", "Data checks", "Tables", "Figures", "Methods",
                  "Reproduction of the published results", "STROBE/RECORD checklist",
                  "Provenance"):  # fmt: skip
        assert title in contents
        assert title in md
    for result in results.values():
        assert result["title"] in contents
    for number, figure in enumerate(study.figures, start=1):
        assert f"Figure {number}. " in contents
        assert f'id="figure-{figure["id"]}"' in html
    assert "Disclosure control" not in contents  # no result carries disclosure marks


def test_methods_name_every_test_the_footnotes_name(own, results):
    html, md = own
    methods = parse(html).visible(within="methods")
    md_methods = md.split("## Methods", 1)[1]
    named = set()
    for result in results.values():
        for note in to_grid(result).footnotes:
            named |= {label for label in TEST_LABELS.values() if label in note}
    assert named, "the fixture's tables footnote some tests"
    for label in named:
        assert label in methods, label
        assert label.replace("'", "&#39;") in html
        assert label in md_methods, label
    # complete-case counts of the model, alpha, software
    model = results["table4"]
    assert f"{model['n']} of {model['n'] + model['n_dropped']} patients" in methods
    assert "p < 0.05" in methods
    assert "Python " in methods and "statsmodels " in methods


def test_own_data_is_a_reproduction(own):
    html, _ = own
    page = parse(html)
    assert "Reproduction of: " in html
    assert ("h2", "Reproduction of the published results") in page.headings


def test_site_data_is_not_presented_as_a_reproduction(tmp_path, study, results):
    html, md = build(tmp_path, study, results, SITE)
    page = parse(html)
    h1 = [text for tag, text in page.headings if tag == "h1"]
    assert h1 == [f"{study.title}: analysis of {SITE}"]
    assert "Reproduction" not in h1[0]
    assert "Reproduction" not in page.visible() and "Reproduc" not in md
    assert "Study design from: " in html and "Study design from: " in md
    assert ("h2", "Comparison with the published values") in page.headings
    assert "## Comparison with the published values" in md
    # the caller may say whose data they are
    html, _ = build(tmp_path, study, results, SITE, name="again", own_data=True)
    assert ("h2", "Reproduction of the published results") in parse(html).headings


def test_no_scorecard_without_published_values(tmp_path, study, results):
    raw = {k: v for k, v in copy.deepcopy(study.raw).items() if k != "published"}
    bare = dataclasses.replace(study, raw=raw)
    html, md = build(tmp_path, bare, results)
    assert 'id="published"' not in html
    assert "Published p" not in html and "Published p" not in md


def test_readers_see_captions_and_labels_not_ids(own, study):
    html, md = own
    # dataset column names are shown as code in the data checks; everything else is prose
    text = parse(html).visible(skip=("code",))
    raw_ids = set(study.output_ids()) | {f["id"] for f in study.figures}
    raw_ids |= {name for name in study.variables if "_" in name}
    for raw in sorted(raw_ids):
        assert re.search(rf"\b{re.escape(raw)}\b", text) is None, raw
    body = re.sub(r"\S+\.png", "", md.split("## Tables", 1)[1])  # figure files are named
    for raw in sorted(set(study.output_ids()) | {f["id"] for f in study.figures}):
        assert re.search(rf"\b{re.escape(raw)}\b", body) is None, raw


def test_same_inputs_same_bytes_but_the_time_of_the_run(tmp_path, study, results):
    first = build(tmp_path, study, results, name="one")
    second = build(tmp_path, study, results, name="two")
    for a, b in zip(first, second, strict=True):
        assert len(CREATED.findall(a)) == 1
        assert CREATED.sub("T", a) == CREATED.sub("T", b)


def test_source_date_epoch_fixes_the_time_so_a_rebuild_is_byte_identical(
    tmp_path, study, results, monkeypatch
):
    # 1583020800 s after 1970-01-01 is 2020-03-01 00:00 UTC (date -u -d @1583020800).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1583020800")
    first = build(tmp_path, study, results, name="one")
    second = build(tmp_path, study, results, name="two")
    assert first == second
    assert "Created 2020-03-01T00:00:00Z" in first[1]
    provenance = json.loads((tmp_path / "one" / "provenance.json").read_text("utf-8"))
    assert provenance["created"] == "2020-03-01T00:00:00Z"


@pytest.mark.parametrize("value", ["yesterday", "1.5", "99999999999999999999"])
def test_a_bad_source_date_epoch_is_one_line_naming_it(tmp_path, study, results, monkeypatch,
                                                        value):  # fmt: skip
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    with pytest.raises(AnalysisError, match=r"^SOURCE_DATE_EPOCH: .* is not a whole number"):
        build(tmp_path, study, results)
    assert not (tmp_path / "out" / "report.html").exists()


def test_disclosure_marks_and_withheld_tables_are_shown(tmp_path, study, results):
    marked = copy.deepcopy(results)
    marked["table2"]["disclosure"] = {
        "profile": "strict",
        "description": "Counts below 5 are suppressed.",
        "actions": [
            {"table": "table2", "row": "cancer", "group": "1", "what": "count suppressed",
             "why": "count below 5"},
        ],
    }  # fmt: skip
    withheld_reason = "fewer than 10 patients in a group"
    marked["table7"] = {
        "table": "table7",
        "kind": "summary",
        "title": results["table7"]["title"],
        "withheld": withheld_reason,
    }
    html, md = build(tmp_path, study, marked)
    page = parse(html)
    assert ("h2", "Disclosure control") in page.headings
    assert "Disclosure control" in page.visible(within="contents")
    section = page.visible(within="disclosure")
    # the row and group by their labels (the marks may name them by id or key)
    assert "Cancer" in section and "Yes" in section and "cancer" not in section
    for text in ("strict", "Counts below 5 are suppressed.", "count suppressed",
                 "count below 5", results["table2"]["title"], withheld_reason):  # fmt: skip
        assert text in section, text
    assert "table2" not in section
    # the withheld table: its caption and why, no table
    withheld = page.visible(within="table-table7")
    assert results["table7"]["title"] in withheld and withheld_reason in withheld
    start = html.index('id="table-table7"')
    assert "<table" not in html[start : html.index("</section>", start)]
    assert "## Disclosure control" in md and withheld_reason in md


def test_nothing_is_loaded_from_a_network(own):
    html, _ = own
    lowered = html.lower()
    assert re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", lowered) is None
    assert "@import" not in lowered
    assert re.search(r"url\(", lowered) is None
    assert "<script" not in lowered and "<link" not in lowered
    for match in re.finditer(r"""src\s*=\s*["']([^"']*)""", lowered):
        assert match.group(1).startswith("data:image/"), match.group(1)[:40]


def test_print_styles_keep_tables_whole(own):
    html, _ = own
    css = html[html.index("<style>") : html.index("</style>")]
    assert "@page wide" in css and "size: A4 landscape" in css
    assert "page: wide" in css
    assert "display: table-header-group" in css
    assert "overflow: visible" in css
    # the listing (one column per variable) prints on the landscape page
    start = html.index('id="table-table5"')
    assert "wide" in html[start : html.index(">", start)]
    # flow table: text cells left-aligned by class, numbers right
    flow = html[html.index('id="flow"') :]
    assert '<td class="text">Records in the input</td>' in flow


def test_methods_name_the_tests_of_another_policy(tmp_path, study, results, cohort):
    from analysis.tables import build_table

    raw = copy.deepcopy(study.raw)
    for table in raw["tables"]:
        if table["id"] == "table2":
            table["policy"] = "recommended"
    other = dataclasses.replace(study, raw=raw)
    changed = {**results, "table2": build_table(cohort, other, "table2")}
    html, _ = build(tmp_path, other, changed)
    methods = parse(html).visible(within="methods")
    named = {
        t for t in TEST_LABELS.values() for n in to_grid(changed["table2"]).footnotes if t in n
    }
    assert TEST_LABELS["welch_t"] in named
    for label in named:
        assert label in methods, label
    assert "test policy 'recommended'" in methods
