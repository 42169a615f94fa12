"""Word and Excel tables: the same grid as the other formats, safe cells, same bytes twice."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from analysis.__main__ import main
from analysis.render.docx import LANDSCAPE_COLUMNS, to_docx, write_tables_docx
from analysis.render.grid import Grid, to_grid
from analysis.render.writers import FORMATS, render_result
from analysis.render.xlsx import to_xlsx, write_tables_xlsx
from analysis.results import read_json

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
IDS = ("weight_anova", "weight_kruskal", "heavy_by_group")


@pytest.fixture(scope="module")
def plantgrowth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plant-growth tables, rendered by the command line as Markdown, Word and Excel."""
    out = tmp_path_factory.mktemp("plantgrowth")
    code = main(
        [
            "tables",
            str(FIXTURES / "plantgrowth.csv"),
            "--study",
            str(FIXTURES / "plantgrowth.yaml"),
            "--out",
            str(out),
            "--formats",
            "md",
            "docx",
            "xlsx",
        ]
    )
    assert code == 0
    return out


def _grid(out: Path, output_id: str) -> Grid:
    return to_grid(read_json(out / f"{output_id}.json"))


def _wide_grid(columns: int = LANDSCAPE_COLUMNS + 2) -> Grid:
    header = ["Variable"] + [f"Group {k}" for k in range(1, columns)]
    rows = [["Age, mean ± SD"] + ["70.1 ± 9.2"] * (columns - 1), ["n"] + ["12"] * (columns - 1)]
    return Grid("A wide table", header, rows, [0, 1], ["a Student's t-test."])


def _shown(cell) -> str:
    """A cell's text as Excel shows it: a number with its format's decimals."""
    if cell.value is None:
        return ""
    if cell.data_type == "n":
        digits, _, literal = cell.number_format.partition('"')
        decimals = len(digits.partition(".")[2])
        letter = "".join(_LETTER.get(ch, ch) for ch in literal.rstrip('"'))
        return f"{cell.value:.{decimals}f}{letter}"
    return cell.value


# Unicode superscript letters back to letters (an independent table, from the code charts)
_LETTER = {"ᵃ": "a", "ᵇ": "b", "ᶜ": "c", "ᵈ": "d", "ᵉ": "e", "ᶠ": "f"}


def _plain(rows) -> list[list[str]]:
    """A grid's rows as the text a reader sees: each cell with its footnote letter."""
    return [[cell + getattr(cell, "mark", "") for cell in row] for row in rows]


def _docx_cells(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def _edges(cell) -> set[str]:
    borders = cell._tc.tcPr.find(qn("w:tcBorders")) if cell._tc.tcPr is not None else None
    if borders is None:
        return set()
    return {child.tag.split("}")[1] for child in borders if child.get(qn("w:val")) == "single"}


def test_formats_offer_word_and_excel():
    assert {"docx", "xlsx"} <= set(FORMATS)


@pytest.mark.parametrize("output_id", IDS)
def test_docx_cells_title_and_notes_are_the_grids(plantgrowth: Path, output_id: str):
    grid = _grid(plantgrowth, output_id)
    document = docx.Document(str(plantgrowth / f"{output_id}.docx"))
    [table] = document.tables
    assert _docx_cells(table) == [grid.header, *_plain(grid.rows)]
    marked = [run for row in table.rows for c in row.cells for p in c.paragraphs
              for run in p.runs if run.font.superscript]  # fmt: skip
    assert [run.text for run in marked] == [c.mark for row in grid.rows for c in row if c.mark]
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == grid.caption
    assert paragraphs[1:] == grid.footnotes
    # the p-value text and footnote letters match the Markdown rendering
    markdown = (plantgrowth / f"{output_id}.md").read_text(encoding="utf-8")
    for row in grid.rows:
        assert row[-1] in markdown


@pytest.mark.parametrize("output_id", IDS)
def test_docx_has_three_rules_and_no_vertical_lines(plantgrowth: Path, output_id: str):
    document = docx.Document(str(plantgrowth / f"{output_id}.docx"))
    [table] = document.tables
    table_borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert {child.get(qn("w:val")) for child in table_borders} == {"nil"}
    rows = table.rows
    assert all(_edges(cell) == {"top", "bottom"} for cell in rows[0].cells)
    assert all(_edges(cell) == {"bottom"} for cell in rows[-1].cells)
    for row in rows[1:-1]:
        assert all(_edges(cell) == set() for cell in row.cells)
    # no vertical line anywhere: the only drawn edges in the table are top and bottom
    drawn = {e for row in rows for cell in row.cells for e in _edges(cell)}
    assert drawn == {"top", "bottom"}


def test_wide_table_gets_a_landscape_page():
    wide = docx.Document(io.BytesIO(to_docx(_wide_grid())))
    section = wide.sections[-1]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert section.page_width > section.page_height
    narrow = docx.Document(io.BytesIO(to_docx(_wide_grid(LANDSCAPE_COLUMNS))))
    assert narrow.sections[-1].orientation == WD_ORIENT.PORTRAIT

    # A4 (210 x 297 mm; 1 mm = 36,000 EMU, stored in twips), turned for the landscape page
    def mm(section) -> tuple[int, int]:
        return round(section.page_width / 36_000), round(section.page_height / 36_000)

    assert mm(narrow.sections[-1]) == (210, 297)
    assert mm(section) == (297, 210)


def test_all_tables_in_one_document(plantgrowth: Path, tmp_path: Path):
    grids = [_grid(plantgrowth, oid) for oid in IDS] + [_wide_grid()]
    path = write_tables_docx(grids, tmp_path / "tables.docx")
    document = docx.Document(str(path))
    assert [_docx_cells(t) for t in document.tables] == [[g.header, *_plain(g.rows)] for g in grids]
    titles = [p.text for p in document.paragraphs if p.text.startswith("Table ")]
    assert titles == [f"Table {k}. {g.title}" for k, g in enumerate(grids, start=1)]
    orientations = [s.orientation for s in document.sections]
    assert orientations == [WD_ORIENT.PORTRAIT] * 3 + [WD_ORIENT.LANDSCAPE]


@pytest.mark.parametrize("output_id", IDS)
def test_xlsx_cells_are_the_grids(plantgrowth: Path, output_id: str):
    grid = _grid(plantgrowth, output_id)
    workbook = openpyxl.load_workbook(plantgrowth / f"{output_id}.xlsx")
    assert workbook.sheetnames == [output_id]
    sheet = workbook.active
    values = [[_shown(c) for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == grid.caption
    width = len(grid.header)
    assert [row[:width] for row in values[1 : 2 + len(grid.rows)]] == [
        grid.header,
        *_plain(grid.rows),
    ]
    assert sheet.cell(2, 1).font.bold
    notes = [row[0] for row in values[3 + len(grid.rows) :]]
    assert notes == grid.footnotes


def test_xlsx_numbers_are_numbers_and_formula_text_stays_text():
    labels = ["=1+1", "+44 1234", "-x", "@SUM(A1)", "\tTab", "-", "-0.3 (-1.0, 0.2)"]
    rows = [[label, "12", "-3", "0.250", "007"] for label in labels]
    grid = Grid('=HYPERLINK("http://x")', ["Variable", "n", "d", "p", "id"], rows, [0] * 7)
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx(grid)))
    sheet = workbook.active
    assert sheet["A1"].value == grid.title and sheet["A1"].data_type == "s"
    assert sheet["A1"].quotePrefix
    for i, label in enumerate(labels, start=3):
        cell = sheet.cell(i, 1)
        assert (cell.value, cell.data_type) == (label, "s")
        assert cell.quotePrefix
        assert [sheet.cell(i, j).value for j in (2, 3, 4)] == [12, -3, 0.25]
        assert [sheet.cell(i, j).data_type for j in (2, 3, 4)] == ["n"] * 3
        assert [sheet.cell(i, j).number_format for j in (2, 3, 4)] == ["0", "0", "0.000"]
        assert (sheet.cell(i, 5).value, sheet.cell(i, 5).data_type) == ("007", "s")
    raw = zipfile.ZipFile(io.BytesIO(to_xlsx(grid))).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in raw


def test_all_tables_in_one_workbook(plantgrowth: Path, tmp_path: Path):
    grids = {oid: _grid(plantgrowth, oid) for oid in IDS}
    grids["a/b:c*" + "x" * 40] = _wide_grid()
    path = write_tables_xlsx(grids, tmp_path / "tables.xlsx")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[:3] == list(IDS)
    assert workbook.sheetnames[3] == ("a_b_c_" + "x" * 40)[:31]
    for name, grid in zip(workbook.sheetnames, grids.values(), strict=True):
        assert workbook[name]["A1"].value == grid.caption


def test_word_and_excel_are_byte_identical_twice(plantgrowth: Path, tmp_path: Path):
    result = read_json(plantgrowth / "heavy_by_group.json")
    first = render_result(result, tmp_path / "one" / "t", ["docx", "xlsx"])
    second = render_result(result, tmp_path / "two" / "t", ["docx", "xlsx"])
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
        # no clock in the package: every zip entry carries the same fixed stamp
        with zipfile.ZipFile(a) as package:
            assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    core = zipfile.ZipFile(first[0]).read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    grids = [to_grid(result), _wide_grid()]
    write_tables_docx(grids, tmp_path / "a.docx")
    write_tables_docx(grids, tmp_path / "b.docx")
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()
