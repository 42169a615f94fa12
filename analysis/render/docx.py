"""Write display grids as a Word document, in the style journals ask for.

Each table has its title above, three horizontal rules (above the header,
below the header, below the last row), no vertical lines, and its footnotes
(the letters naming each row's test) and notes below. A table of more than
``LANDSCAPE_COLUMNS`` columns gets a landscape section of its own.

The cells are the grid's strings as they are, so the numbers, p-values and
footnote letters match the Markdown, CSV and HTML renderings. Word never runs
cell text, so nothing needs neutralising here.

Saved documents are byte-identical between runs: the core properties carry
fixed dates and the zip entries a fixed timestamp, in python-docx's own order.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Mm, Pt
from docx.table import Table, _Cell

from analysis.atomic import atomic_path
from analysis.render.grid import Grid

__all__ = ["LANDSCAPE_COLUMNS", "add_table", "to_docx", "write_docx", "write_tables_docx"]

# Tables wider than this many columns are set on a landscape page.
LANDSCAPE_COLUMNS = 7

# Fixed stamps so two runs give the same bytes.
_CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_RULE = {"val": "single", "sz": "8", "space": "0", "color": "000000"}  # 1 pt, black
_BODY_PT = 9
# The cells' paragraph style: size and spacing set once on it, not on every cell (python-
# docx's per-run and per-paragraph setters made a 500-row listing take seconds).
_CELL_STYLE = "Table cell"


def _no_table_borders(table: Table) -> None:
    """Switch off every table-level border: the rules are drawn on cells."""
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.append(borders)


def _rule(cell: _Cell, *edges: str) -> None:
    """Draw a horizontal rule on the given edges (top/bottom) of one cell."""
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge in edges:
        element = OxmlElement(f"w:{edge}")
        for key, value in _RULE.items():
            element.set(qn(f"w:{key}"), value)
        borders.append(element)


def _repeat_header(table: Table) -> None:
    """The header row repeats on every page a long table runs onto."""
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:tblHeader"))


def _cell_style(document: DocumentObject):
    """The paragraph style of every table cell (created on first use)."""
    styles = document.styles
    if _CELL_STYLE in [s.name for s in styles]:
        return styles[_CELL_STYLE]
    style = styles.add_style(_CELL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"]
    style.font.size = Pt(_BODY_PT)
    style.paragraph_format.space_after = Pt(0)
    return style


def _write_cell(
    cell: _Cell,
    text: str,
    style_id: str,
    *,
    bold: bool = False,
    first: bool,
    level: int = 0,
    mark: str = "",
) -> None:
    paragraph = cell.paragraphs[0]
    # by id: assigning the style object makes python-docx look it up among all styles
    paragraph._p.style = style_id
    paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT if first else WD_ALIGN_PARAGRAPH.CENTER
    if level:
        paragraph.paragraph_format.left_indent = Inches(0.15 * level)
    run = paragraph.add_run(text)
    if bold:
        run.bold = True
    if mark:  # the footnote letter, superscript as journals set it
        paragraph.add_run(mark).font.superscript = True


def _note(document: DocumentObject, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.add_run(text).font.size = Pt(_BODY_PT - 1)


def _orient(document: DocumentObject, landscape: bool, new_section: bool) -> None:
    """Start a new section (a new page) if asked, and turn its page to fit the table."""
    section = document.add_section(WD_SECTION.NEW_PAGE) if new_section else document.sections[-1]
    want = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    if section.orientation != want:
        width, height = section.page_width, section.page_height
        section.orientation = want
        section.page_width, section.page_height = height, width


def table_title(grid: Grid, number: int | None = None) -> str:
    """The study file's 'Table N. title'; else numbered in order when ``number`` is given."""
    if grid.number or number is None or grid.title.lower().startswith("table "):
        return grid.caption
    return f"Table {number}. {grid.title}"


def add_table(
    document: DocumentObject, grid: Grid, number: int | None = None, new_section: bool = False
) -> Table | None:
    """Append one grid to ``document``: title, three-rule table, then notes."""
    _orient(document, len(grid.header) > LANDSCAPE_COLUMNS, new_section)
    title = document.add_paragraph()
    title.paragraph_format.keep_with_next = True
    title.add_run(table_title(grid, number)).bold = True
    if grid.withheld:
        _note(document, f"Withheld: {grid.withheld}")
        for footnote in grid.footnotes:
            _note(document, footnote)
        return None

    table = document.add_table(rows=1 + len(grid.rows), cols=len(grid.header))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_table_borders(table)
    style = _cell_style(document).style_id
    width = len(grid.header)
    # every cell at once, row by row: `table.rows[i].cells` rebuilds the whole table's cell
    # list on each call, which made long tables quadratic
    cells = table._cells
    for j, text in enumerate(grid.header):
        _write_cell(cells[j], text, style, bold=True, first=j == 0)
        _rule(cells[j], "top", "bottom")
    _repeat_header(table)
    for i, (row, level) in enumerate(zip(grid.rows, grid.indent, strict=True), start=1):
        for j, text in enumerate(row):
            cell = cells[i * width + j]
            _write_cell(cell, text, style, first=j == 0, level=level if j == 0 else 0,
                        mark=text.mark)  # fmt: skip
    if grid.rows:
        for cell in cells[-width:]:
            _rule(cell, "bottom")

    if grid.cap_note:
        _note(document, grid.cap_note)
    for footnote in grid.footnotes:
        _note(document, footnote)
    return table


def _fixed_properties(document: DocumentObject) -> None:
    props = document.core_properties
    props.author = ""
    props.last_modified_by = ""
    props.created = _CREATED
    props.modified = _CREATED
    props.last_printed = _CREATED
    props.revision = 1


def _stable_zip(data: bytes) -> bytes:
    """The same package with every entry stamped 1980-01-01, so runs compare equal."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, _ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def _document_bytes(grids: Iterable[Grid], numbered: bool) -> bytes:
    document = Document()
    section = document.sections[0]  # A4, not python-docx's US Letter template
    section.page_width, section.page_height = Mm(210), Mm(297)
    for index, grid in enumerate(grids):
        add_table(document, grid, index + 1 if numbered else None, new_section=index > 0)
    _fixed_properties(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return _stable_zip(buffer.getvalue())


def to_docx(grid: Grid) -> bytes:
    """One table as the bytes of a .docx file."""
    return _document_bytes([grid], numbered=False)


def write_docx(grid: Grid, path: str | Path) -> Path:
    """Write one table as a .docx file (atomically); return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(to_docx(grid))
    return path


def write_tables_docx(grids: Iterable[Grid], path: str | Path, numbered: bool = True) -> Path:
    """Write every table into one .docx, each on its own page, numbered in order.

    ``numbered`` prefixes 'Table N.' to titles that do not already start with 'Table'.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(_document_bytes(grids, numbered))
    return path
