"""Write display grids as an Excel workbook, one sheet per table.

Each sheet has the title in its first row, the header in bold below it, the
grid's rows, then the notes. Cells are the grid's strings, except that a cell
that is a plain decimal number (a count, n) is stored as a number, shown with
the same decimals as its text. Every other cell is a string cell: text that a
spreadsheet would read as a formula (OWASP, "CSV Injection": a leading ``=``,
``+``, ``-``, ``@``, tab or carriage return) is written with ``write_string``
and Excel's quote-prefix flag, so it is never a formula, even after an edit,
and shows the same text as the other formats.

xlsxwriter, not openpyxl, writes the file: with a fixed creation date its
files are byte-identical between runs (it stamps zip entries 1980-01-01).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from pathlib import Path

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from analysis.atomic import atomic_path
from analysis.render.grid import Grid
from analysis.render.safe import FORMULA_START
from analysis.render.typeset import superscript

__all__ = ["to_xlsx", "write_tables_xlsx", "write_xlsx"]

_CREATED = dt.datetime(2000, 1, 1)
# A cell stored as a number: "12", "-3", "0.25". Not "+3", "007" or "1e5", which
# would not show as written, nor anything with more text ("12 (40.0)", "<0.001").
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,14})(?:\.(\d{1,15}))?")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_MAX_SHEET_NAME = 31


class _Formats:
    """Cell formats, made once per workbook and shared by every sheet."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self.made: dict[tuple, Format] = {}

    def get(
        self, *, bold: bool = False, indent: int = 0, quote: bool = False, number: str = ""
    ) -> Format | None:
        key = (bold, indent, quote, number)
        if key == (False, 0, False, ""):
            return None
        if key not in self.made:
            props: dict[str, object] = {}
            if bold:
                props["bold"] = True
            if indent:
                props["indent"] = indent
            if number:
                props["num_format"] = number
            fmt = self.workbook.add_format(props)
            if quote:
                fmt.set_quote_prefix()
            self.made[key] = fmt
        return self.made[key]

    def plain(self) -> Format:
        if "plain" not in self.made:
            self.made["plain"] = self.workbook.add_format({})
        return self.made["plain"]

    def superscript(self) -> Format:
        if "superscript" not in self.made:
            self.made["superscript"] = self.workbook.add_format({"font_script": 1})
        return self.made["superscript"]


def _write_cell(
    sheet: Worksheet, row: int, col: int, text: str, formats: _Formats, **style: object
) -> None:
    """A plain number as a number (same decimals shown); anything else as a string.

    A footnote letter stays out of the value: a number shows it through its number
    format (as a superscript letter), a string as a superscript run.
    """
    mark = getattr(text, "mark", "")
    match = _PLAIN_NUMBER.fullmatch(text)
    if match:
        decimals = len(match.group(1) or "")
        number = "0." + "0" * decimals if decimals else "0"
        if mark:
            number += f'"{superscript(mark)}"'
        sheet.write_number(row, col, float(text), formats.get(number=number, **style))
        return
    quote = text.startswith(FORMULA_START)
    if mark:
        sheet.write_rich_string(
            row, col, formats.get(**style) or formats.plain(), str(text),
            formats.superscript(), mark, formats.get(quote=quote, **style) or formats.plain(),
        )  # fmt: skip
        return
    sheet.write_string(row, col, text, formats.get(quote=quote, **style))


def _sheet_name(name: str, used: set[str]) -> str:
    """A name Excel accepts (31 characters, none of []:*?/\\), unique in the workbook."""
    base = _BAD_SHEET_CHARS.sub("_", name).strip("'")[:_MAX_SHEET_NAME] or "Table"
    candidate, n = base, 1
    while candidate.lower() in used:
        n += 1
        suffix = f" ({n})"
        candidate = base[: _MAX_SHEET_NAME - len(suffix)] + suffix
    used.add(candidate.lower())
    return candidate


def _add_sheet(workbook: Workbook, formats: _Formats, grid: Grid, name: str) -> Worksheet:
    sheet = workbook.add_worksheet(name)
    title_quote = grid.caption.startswith(FORMULA_START)
    sheet.write_string(0, 0, grid.caption, formats.get(bold=True, quote=title_quote))
    if grid.withheld:
        notes = [f"Withheld: {grid.withheld}", *grid.footnotes]
        for k, note in enumerate(notes, start=2):
            sheet.write_string(k, 0, note, formats.get(quote=note.startswith(FORMULA_START)))
        return sheet
    for j, text in enumerate(grid.header):
        _write_cell(sheet, 1, j, text, formats, bold=True)
    for i, (row, level) in enumerate(zip(grid.rows, grid.indent, strict=True), start=2):
        for j, text in enumerate(row):
            _write_cell(sheet, i, j, text, formats, indent=level if j == 0 else 0)
    notes = ([grid.cap_note] if grid.cap_note else []) + grid.footnotes
    for k, note in enumerate(notes, start=len(grid.rows) + 3):
        sheet.write_string(k, 0, note, formats.get(quote=note.startswith(FORMULA_START)))
    labels = zip(grid.rows, grid.indent, strict=True)
    first = max([len(grid.header[0]), *(len(row[0]) + 2 * level for row, level in labels)])
    sheet.set_column(0, 0, min(first + 2, 60))
    if len(grid.header) > 1:
        widest = max(len(r[j]) for r in [grid.header, *grid.rows] for j in range(1, len(r)))
        sheet.set_column(1, len(grid.header) - 1, min(widest + 2, 40))
    return sheet


def _workbook_bytes(grids: Mapping[str, Grid]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,  # never: a label must not become a formula
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties({"created": _CREATED})
    formats = _Formats(workbook)
    used: set[str] = set()
    for name, grid in grids.items():
        _add_sheet(workbook, formats, grid, _sheet_name(name, used))
    workbook.close()
    return buffer.getvalue()


def to_xlsx(grid: Grid, sheet: str = "Table") -> bytes:
    """One table as the bytes of an .xlsx file with one sheet."""
    return _workbook_bytes({sheet: grid})


def write_xlsx(grid: Grid, path: str | Path, sheet: str | None = None) -> Path:
    """Write one table as an .xlsx file (atomically); the sheet is named after the file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(to_xlsx(grid, sheet or path.stem))
    return path


def write_tables_xlsx(grids: Mapping[str, Grid], path: str | Path) -> Path:
    """Write every table into one workbook, one sheet each, named by the mapping's keys."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(_workbook_bytes(grids))
    return path
