"""Outputs are safe to open and say what they were made from.

Hostile labels (from a study file) and values (from data) go through every
writer: no CSV cell may start a spreadsheet formula, no HTML may carry a
script element, no Markdown may carry a live tag or link. Listings are capped
in every format; values made missing and the inputs' checksums reach the report.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.export import write_cohort
from analysis.render.grid import to_grid
from analysis.render.safe import csv_cell, md_text
from analysis.render.writers import render_result, to_csv, to_html, to_markdown
from analysis.report import write_report
from analysis.results import write_json
from analysis.study import load_study
from analysis.tables import build_table

FORMULA = '=HYPERLINK("http://x")'
SCRIPT = "<script>alert(1)</script>"
LINK = "[x](javascript:alert(1))"
HOSTILE = [FORMULA, "+1+2", "-cmd", "@SUM(A1)", SCRIPT, LINK]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NOTE = "more rows not shown (listing capped at 500 rows; set listing_max_rows)"


# --- helpers ---------------------------------------------------------------------
def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_csv_inert(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_START):
                assert _is_number(cell), f"live formula in CSV: {cell!r}"
    return rows


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse_html(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser


def assert_html_inert(text: str) -> _Tags:
    parsed = parse_html(text)
    assert "script" not in [tag for tag, _ in parsed.tags]
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    return parsed


def assert_markdown_inert(text: str) -> None:
    assert "<script" not in text.lower()
    assert "<" not in text, "no raw '<' at all: no HTML tag can be live"
    assert re.search(r"(?<!\\)\]\(javascript", text) is None
    # every bracket and backtick is escaped, so no link, image or code span is live
    assert re.search(r"(?<!\\)[\[\]`]", text) is None
    assert not any(line.lstrip().startswith(("#### ", "# <")) for line in text.splitlines())


# --- a study whose labels and data are hostile ------------------------------------
@pytest.fixture
def hostile(tmp_path: Path):
    raw = {
        "study": {"id": "hostile", "title": FORMULA, "subject_id": "pid"},
        "variables": [
            {"name": "pid", "label": "ID", "type": "id"},
            {"name": "arm", "label": "+1+2", "type": "binary", "codes": {0: FORMULA, 1: LINK}},
            {"name": "score", "label": "-cmd", "type": "continuous"},
            {"name": "kind", "label": "@SUM(A1)", "type": "categorical",
             "codes": {1: SCRIPT, 2: LINK, 3: "-cmd"}},
            {"name": "note", "label": SCRIPT, "type": "text"},
        ],
        "tables": [
            {"id": "t1", "title": SCRIPT, "group_by": "arm", "policy": "paper",
             "rows": ["score", "kind"]},
            {"id": "t2", "kind": "listing", "title": LINK,
             "columns": ["pid", "arm", "score", "kind", "note"]},
        ],
    }  # fmt: skip
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    study = load_study(path)
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame({
        "pid": [f"P{i}" for i in range(n)],
        "arm": np.repeat([0, 1], n // 2),
        "score": rng.normal(-1.5, 1.0, n),
        "kind": rng.integers(1, 4, n),
        "note": [HOSTILE[i % len(HOSTILE)] for i in range(n)],
    })  # fmt: skip
    return study, frame


def test_hostile_labels_are_inert_in_every_table_format(hostile, tmp_path):
    study, frame = hostile
    for table_id in ("t1", "t2"):
        result = build_table(frame, study, table_id)
        paths = render_result(result, tmp_path / table_id)
        texts = {p.suffix: p.read_text(encoding="utf-8") for p in paths}
        rows = assert_csv_inert(texts[".csv"])
        cells = [c.strip() for row in rows for c in row]
        # the labels did reach the CSV, quoted
        assert any(c.startswith("'") for c in cells), table_id
        assert_html_inert(texts[".html"])
        assert "&lt;script&gt;" in texts[".html"]
        assert_markdown_inert(texts[".md"])
    # the listing's data values, too
    listing_csv = (tmp_path / "t2.csv").read_text(encoding="utf-8")
    assert {"'" + h for h in HOSTILE if h.startswith(FORMULA_START)} <= {
        c for row in csv.reader(io.StringIO(listing_csv)) for c in row
    }


def test_numbers_stay_numbers_in_csv():
    assert csv_cell("-1.5") == "-1.5"
    assert csv_cell("+3") == "+3"
    assert csv_cell("-2e-05") == "-2e-05"
    assert csv_cell("0.3 (0.1, 0.5)") == "0.3 (0.1, 0.5)"
    # not a plain number: a spreadsheet may evaluate it, so it is quoted
    assert csv_cell("-0.3 (-1.0, 0.2)") == "'-0.3 (-1.0, 0.2)"
    assert csv_cell("+1+2") == "'+1+2"
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell("\r=1") == "'\r=1"
    assert csv_cell(-1.5) == -1.5


def test_markdown_escape_keeps_the_text_readable():
    assert md_text("a | b") == "a \\| b"
    assert md_text("# heading") == "\\# heading"
    assert md_text("x < 0.05 & y") == "x &lt; 0.05 &amp; y"
    assert md_text("line\nbreak") == "line break"
    assert md_text("- item", line_start=True) == "\\- item"
    assert md_text("1. item", line_start=True) == "1\\. item"
    assert md_text(LINK) == "\\[x\\](javascript:alert(1))"
    assert md_text("snake_case _em_") == "snake_case \\_em\\_"


def test_cohort_csv_export_neutralises_text_not_numbers(tmp_path):
    frame = pd.DataFrame({
        "note": [*HOSTILE, "plain", None],
        "value": [-1.5, -2.0, 3.0, -0.25, 1.0, 2.0, -7.0, np.nan],
        "code": pd.Categorical(["-cmd", "ok"] * 4),
        "=evil": range(8),
    })  # fmt: skip
    before = frame.copy()
    out = tmp_path / "cohort.csv"
    write_cohort([frame.iloc[:4], frame.iloc[4:]], out)
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is not modified
    rows = assert_csv_inert(out.read_text(encoding="utf-8"))
    assert rows[0] == ["note", "value", "code", "'=evil"]
    assert [r[1] for r in rows[1:]] == ["-1.5", "-2.0", "3.0", "-0.25", "1.0", "2.0", "-7.0", ""]
    assert rows[1][0] == "'" + FORMULA
    assert rows[5][0] == SCRIPT  # not a formula: unchanged in CSV
    assert rows[1][2] == "'-cmd"


# --- the report ------------------------------------------------------------------
def _flow(made_missing: list | None, split: bool = False) -> dict:
    doc = {
        "study": "hostile",
        "steps": [
            {"step": 0, "label": "Records in the input", "n": 60, "excluded": 0},
            {"step": 1, "label": "Age 18 or over", "n": 57, "excluded": 3},
            {"step": 2, "label": SCRIPT, "n": 50, "excluded": 7},
        ],
    }
    if made_missing is not None:
        doc["made_missing"] = made_missing
    if split:  # newer flow files say why each step's rows went
        for step in doc["steps"]:
            step.update(excluded_not_met=0, excluded_value_missing=0, missing_variables={})
        doc["steps"][1].update(excluded_not_met=3)
        doc["steps"][2].update(
            excluded_not_met=4, excluded_value_missing=3, missing_variables={"albumin": 3, "x": 0}
        )
    return doc


def _validation(extra: dict | None) -> dict:
    doc = {
        "source": "x.csv",
        "n_rows": 60,
        "problems": [
            {"severity": "warning", "column": "score", "row": 4, "value": -9.0,
             "rule": "plausible_range", "message": LINK},
        ],
        "more_rows_not_listed": {"score:plausible_range": 12},
    }  # fmt: skip
    doc.update(extra or {})
    return doc


def _report(tmp_path: Path, study, frame, *, flow: dict, validation: dict, **kwargs):
    results = []
    for table_id in ("t1", "t2"):
        path = tmp_path / "results" / f"{table_id}.json"
        write_json(build_table(frame, study, table_id), path)
        results.append(path)
    flow_path = tmp_path / "results" / "flow.json"
    flow_path.write_text(json.dumps(flow), encoding="utf-8")
    validation_path = tmp_path / "results" / "validation.json"
    validation_path.write_text(json.dumps(validation), encoding="utf-8")
    # a folder named after a patient: the report must name the file only
    data_dir = tmp_path / "Hong Gildong"
    data_dir.mkdir(exist_ok=True)
    data = data_dir / "site.csv"
    frame.to_csv(data, index=False)
    html_path, md_path, prov_path = write_report(
        study, results, flow_path, [], tmp_path / "reports" / "report.html", SCRIPT,
        [data, study.path], validation_path, **kwargs,
    )  # fmt: skip
    return (
        html_path.read_text(encoding="utf-8"),
        md_path.read_text(encoding="utf-8"),
        json.loads(prov_path.read_text(encoding="utf-8")),
    )


MADE_MISSING = [
    {"column": "score", "reason": "outside the plausible range", "count": 12, "first_row": 4},
    {"column": "kind", "reason": LINK, "count": 3, "first_row": 9},
]


def _table_rows(parsed_html: str, caption: str) -> list[list[str]]:
    """The body rows of the HTML table with this caption, as cell texts."""

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.in_caption = self.in_cell = self.in_body = False
            self.caption = ""
            self.rows: list[list[str]] = []
            self.found: list[list[str]] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.caption, self.rows = "", []
            elif tag == "caption":
                self.in_caption = True
            elif tag == "tbody":
                self.in_body = True
            elif tag == "tr" and self.in_body:
                self.rows.append([])
            elif tag in ("td", "th") and self.in_body:
                self.rows[-1].append("")
                self.in_cell = True

        def handle_endtag(self, tag):
            if tag == "caption":
                self.in_caption = False
            elif tag in ("td", "th"):
                self.in_cell = False
            elif tag == "tbody":
                self.in_body = False
            elif tag == "table" and self.caption == caption and self.found is None:
                self.found = self.rows

        def handle_data(self, data):
            if self.in_caption:
                self.caption += data
            elif self.in_cell:
                self.rows[-1][-1] += data

    parser = Rows()
    parser.feed(parsed_html)
    assert parser.found is not None, f"no table captioned {caption!r}"
    return parser.found


def test_report_is_inert_and_shows_made_missing_inputs_and_flow(hostile, tmp_path):
    study, frame = hostile
    validation = _validation(
        {"made_missing": MADE_MISSING, "missing_by_column": {"score": 12, "kind": 3, "arm": 0}}
    )
    flow_missing = [{"column": "arm", "reason": "code 9", "count": 2, "first_row": 1}]
    html, md, prov = _report(
        tmp_path, study, frame, flow=_flow(flow_missing, split=True), validation=validation
    )
    assert_html_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_markdown_inert(md)
    # values made missing: column, reason, count, in both formats
    assert _table_rows(html, "Values made missing") == [
        ["score", "outside the plausible range", "12"],
        ["kind", LINK, "3"],
    ]
    assert _table_rows(html, "Values made missing during derivation") == [["arm", "code 9", "2"]]
    assert _table_rows(html, "Missing values by column") == [["score", "12"], ["kind", "3"]]
    assert "| score | outside the plausible range | 12 |" in md
    assert "| kind | \\[x\\](javascript:alert(1)) | 3 |" in md
    assert "| arm | code 9 | 2 |" in md
    assert "score:plausible_range: 12 more row(s) not listed" in html
    # each exclusion step: its reason and count
    why = "4 did not meet the criterion; 3 had a missing value (albumin 3)"
    assert _table_rows(html, "Flow of the cohort") == [
        ["0", "Records in the input", "60", "0", ""],
        ["1", "Age 18 or over", "57", "3", "3 did not meet the criterion"],
        ["2", SCRIPT, "50", "7", why],
    ]
    assert "| 1 | Age 18 or over | 57 | 3 | 3 did not meet the criterion |" in md
    assert f"| 2 | &lt;script&gt;alert(1)&lt;/script&gt; | 50 | 7 | {why} |" in md
    # inputs: file names and the provenance checksums, never the folder
    expected = {Path(e["path"]).name: e["sha256"] for e in prov["inputs"]}
    assert set(expected) == {"site.csv", "hostile.yaml"}
    for name, digest in expected.items():
        assert f"| {name} | {digest} |" in md
    assert _table_rows(html, "Input files") == [[n, d] for n, d in expected.items()]
    assert "Hong Gildong" not in html and "Hong Gildong" not in md


def test_report_from_old_files_adds_nothing(hostile, tmp_path):
    study, frame = hostile
    html, md, _ = _report(tmp_path, study, frame, flow=_flow(None), validation=_validation(None))
    for text in (html, md):
        assert "made missing" not in text.lower()
        assert "Missing values by column" not in text
        assert "No column has missing values" not in text
    assert _table_rows(html, "Flow of the cohort")[1] == ["1", "Age 18 or over", "57", "3"]
    assert "| 1 | Age 18 or over | 57 | 3 |" in md


# --- the listing cap -------------------------------------------------------------
def _listing(n: int) -> dict:
    return {
        "table": "t9",
        "kind": "listing",
        "title": "Listing",
        "n": n,
        "columns": [{"variable": "x", "label": "X"}],
        "rows": [{"case": i, "values": {"x": float(i)}} for i in range(1, n + 1)],
    }


def _listing_rows(fmt: str, text: str) -> tuple[int, bool]:
    """(data rows shown, whether the cap note is there) for one rendered format."""
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))  # tidy: one line per value
        data = {r["row"] for r in rows if r["row"].isdigit() and r["row"] != "0"}
        return len(data), any(NOTE in r["text"] for r in rows)
    if fmt == "md":
        data = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
        return len(data), NOTE in text
    body = text.split("<tbody>")[1].split("</tbody>")[0]
    return body.count("<tr>"), NOTE in text


@pytest.mark.parametrize("n,shown,noted", [(501, 500, True), (500, 500, False), (499, 499, False)])
def test_listing_is_capped_in_every_format(n, shown, noted):
    result = _listing(n)
    grid = to_grid(result)
    for fmt, text in (("csv", to_csv(grid)), ("md", to_markdown(grid)), ("html", to_html(grid))):
        assert _listing_rows(fmt, text) == (shown, noted), fmt
        if noted:
            assert f"{n - 500} {NOTE}" in text
    assert len(result["rows"]) == n  # the result itself keeps every row


def test_listing_cap_is_a_parameter(tmp_path):
    result = _listing(30)
    paths = render_result(result, tmp_path / "t9", listing_max_rows=10)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert _listing_rows(path.suffix[1:], text) == (10, False)
        assert "20 more rows not shown (listing capped at 10 rows; set listing_max_rows)" in text
    assert _listing_rows("csv", to_csv(to_grid(result, listing_max_rows=None))) == (30, False)
    with pytest.raises(ValueError):
        to_grid(result, listing_max_rows=-1)


def test_report_caps_the_listing(hostile, tmp_path):
    study, frame = hostile
    big = pd.concat([frame] * 9, ignore_index=True)  # 540 rows in the listing
    big["pid"] = [f"P{i}" for i in range(len(big))]
    html, md, _ = _report(tmp_path, study, big, flow=_flow(None), validation=_validation(None))
    assert "40 " + NOTE in html and "40 " + NOTE in md
    html, md, _ = _report(
        tmp_path, study, big, flow=_flow(None), validation=_validation(None), listing_max_rows=600
    )
    assert "more rows not shown" not in html and "more rows not shown" not in md
