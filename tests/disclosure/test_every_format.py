"""The same suppression reaches every format: what one hides, none shows.

The rules themselves are tested in test_disclosure.py; here the protected Table 2 of
the default synthetic cohort is rendered in every format, the manuscript files and
the report, and each is read back with the format's own reader.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import docx
import openpyxl
import pytest

from analysis.disclosure import apply_to_result, load_profile
from analysis.render.grid import SUPPRESSED, to_grid
from analysis.render.manuscript import write_manuscript
from analysis.render.writers import FORMATS, render_result
from analysis.report import write_report
from analysis.results import write_json


class _Cells(HTMLParser):
    """The text of every td/th cell of an HTML page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self.cells.append("")
            self._open = True

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._open = False

    def handle_data(self, data):
        if self._open:
            self.cells[-1] += data


def _html_cells(text: str) -> list[str]:
    parser = _Cells()
    parser.feed(text)
    return [c.strip() for c in parser.cells]


def _md_cells(text: str) -> list[str]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    cells = [
        c.strip().replace("\\[", "[").replace("\\]", "]")
        for r in rows
        for c in r[2:-2].split(" | ")
    ]
    return [re.sub(r"[ᵃ-ᶻ]+$", "", c.replace("&nbsp;", "")) for c in cells]


@pytest.fixture(scope="module")
def protected(results):
    profile = load_profile("threshold")
    table = results["table2"]
    open_grid, grid = to_grid(table), to_grid(apply_to_result(table, profile))
    shown = {c for row in grid.rows for c in row}
    hidden = {
        open_grid.rows[i][j]
        for i, row in enumerate(grid.rows)
        for j, cell in enumerate(row)
        if cell == SUPPRESSED
    }
    # a hidden value is one that no shown cell prints (a count can repeat elsewhere)
    return profile, grid, hidden - shown


def test_the_profile_bites_on_the_synthetic_default(protected):
    _, grid, hidden = protected
    n_suppressed = sum(c == SUPPRESSED for row in grid.rows for c in row)
    assert n_suppressed >= 4 and hidden  # the 2 women among 28 neurotoxic patients, ...


def test_every_table_format_shows_the_same_suppression(protected, results, tmp_path):
    profile, grid, hidden = protected
    n_suppressed = sum(c == SUPPRESSED for row in grid.rows for c in row)
    paths = render_result(results["table2"], tmp_path / "t2", FORMATS, disclosure=profile)
    cells_by_format = {}
    for path in paths:
        fmt = path.suffix[1:]
        if fmt == "md":
            cells = _md_cells(path.read_text("utf-8"))
        elif fmt == "html":
            cells = _html_cells(path.read_text("utf-8"))
        elif fmt == "csv":
            cells = [r["text"] for r in csv.DictReader(io.StringIO(path.read_text("utf-8")))]
        elif fmt == "docx":
            (table,) = docx.Document(str(path)).tables
            cells = [c.text for row in table.rows for c in row.cells]
        elif fmt == "xlsx":
            sheet = openpyxl.load_workbook(path).active
            cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        else:
            body = path.read_text("utf-8").split("\\bottomrule")[0]  # cells, not notes
            assert body.count("{[}S{]}") == n_suppressed, fmt
            continue
        cells_by_format[fmt] = cells
        assert not hidden & set(cells), (fmt, hidden & set(cells))
    for fmt in ("md", "html", "docx", "xlsx"):
        assert cells_by_format[fmt].count(SUPPRESSED) == n_suppressed, fmt
    # the tidy CSV has one line per suppressed cell, its value left empty
    assert cells_by_format["csv"].count(SUPPRESSED) == n_suppressed


def test_manuscript_and_report_are_protected(protected, results, study, tmp_path):
    profile, grid, _ = protected
    paths = []
    for output_id, result in results.items():
        paths.append(tmp_path / f"{output_id}.json")
        write_json(result, paths[-1])
    out = {"docx": tmp_path / "all.docx", "xlsx": tmp_path / "all.xlsx"}
    write_manuscript(study, paths, out, disclosure=profile)
    document = docx.Document(str(out["docx"]))
    titles = [p.text for p in document.paragraphs]
    assert any(t.startswith("Withheld: ") for t in titles)  # the Table 5 listing
    table2 = document.tables[1]
    assert [c.text for c in table2.rows[0].cells] == grid.header
    report = write_report(study, paths, None, [], tmp_path / "report.html", "synthetic",
                          disclosure=profile)[0]  # fmt: skip
    html = Path(report).read_text("utf-8")
    assert "Disclosure control" in html and "below 10" in html
    assert "Withheld" in html
    cells = _html_cells(html)
    assert cells.count(SUPPRESSED) >= sum(c == SUPPRESSED for row in grid.rows for c in row)


def test_scorecard_under_a_profile_shows_no_small_count(results, study):
    from analysis.scorecard import score

    profile = load_profile("threshold")
    protected = {key: apply_to_result(doc, profile) for key, doc in results.items()}
    card = score(study, protected, None, own_data=True)
    small = [e for e in card["entries"] if e["kind"] == "count" and e["value"] < 10]
    assert small  # the paper publishes counts below 10 (seizure 5, PD 2, ...)
    assert all(e["ours"] is None for e in small), [e for e in small if e["ours"] is not None]
    assert all(e["withheld"] for e in small) and not any(e["withheld"] for e in card["misses"])
    assert card["headline"].endswith(f"{card['n_withheld']} withheld under disclosure control")


@pytest.mark.parametrize("table_id", ["table1", "table2"])
def test_opensafely_shows_rounded_counts_and_hides_only_small_ones(results, table_id):
    # The OpenSAFELY rule by hand: a count of 1 to 7 is redacted, the rest are shown
    # rounded to the nearest 5 (c / 5 never ends in .5, so round() is unambiguous); a
    # zero discloses nobody and stays 0.
    table = results[table_id]
    open_grid = to_grid(table)
    grid = to_grid(apply_to_result(table, load_profile("opensafely")))
    shown = redacted = 0
    for open_row, row in zip(open_grid.rows, grid.rows, strict=True):
        for open_cell, cell in zip(open_row[1:], row[1:], strict=True):
            count = re.match(r"^(\d+) \(", str(open_cell))
            if count is None:
                continue
            c = int(count.group(1))
            if 1 <= c <= 7:
                assert str(cell) == SUPPRESSED, (open_cell, cell)
                redacted += 1
            elif str(cell) != SUPPRESSED:  # complementary suppression may hide a few more
                assert str(cell).startswith(f"{5 * round(c / 5)} ("), (open_cell, cell)
                shown += 1
    assert shown >= 5 and redacted >= 1  # counts are shown, rounded; small ones are not
    headers = 0
    for open_head, head in zip(open_grid.header[1:], grid.header[1:], strict=True):
        n = re.search(r"\(n = (\d+)\)", open_head)
        if n and int(n.group(1)) > 7:
            assert f"(n = {5 * round(int(n.group(1)) / 5)})" in head, (open_head, head)
            headers += 1
    assert headers >= 2  # the group sizes were compared
