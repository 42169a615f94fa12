"""Excel .xlsx: pick the sheet, find the header row, refuse merged or multi-row headers.

Header rule (when ``header_row`` is not given): the first of the sheet's first 20 rows
in which at least half of the columns hold text, where the number of columns is that
of the widest of those 20 rows. Title rows above it (a single caption, a date, blank
rows) are skipped; data rows are mostly numbers, so they do not qualify.

Merged cells are refused wherever they would make the frame silently wrong: one that
touches the header row or any row below it, or one in the row just above the header
that does not start in the header's first column (a group label over some columns,
i.e. a multi-row header). A title merged across the top of the table is allowed.

Values are read as Excel saved them (``data_only``): a formula's saved result, never
its text. A formula cell with no saved result (a file written by a program that does
not calculate, e.g. a script) would read as empty, so it is an error naming the cell.
Text stays text: "NA", "None" or "#N/A" are not turned into missing values; a cell of
only spaces is read as missing and counted in ``made_missing``. A totals row ("합계",
"Total", ...) is refused (``_totals``).

Every error after the sheet was chosen names that sheet and lists the workbook's sheets,
since the wrong sheet is a common cause.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.xml.functions import iterparse

from analysis.errors import DataError
from analysis.io._common import (
    MAX_CELL_CHARS,
    UNNAMED,
    ReadResult,
    blank_whitespace,
    check_cell_lengths,
    check_names,
    drop_unnamed,
    reason,
    sort_made_missing,
)
from analysis.io._totals import refuse_totals_rows

__all__ = ["SCAN_ROWS", "read_xlsx"]

SCAN_ROWS = 20
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


def read_xlsx(
    path: Path,
    *,
    sheet: str | int | None,
    header_row: int | None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ReadResult:
    """Read one sheet of a workbook; ``header_row`` is 1-based, as Excel numbers rows."""
    try:
        with warnings.catch_warnings():  # e.g. "no default style": noise, not a problem
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors: one line for the user
        raise DataError(
            f"{path}: cannot read as .xlsx (corrupt or truncated?): {reason(exc)}"
        ) from exc
    try:
        ws = _pick_sheet(path, book, sheet)
        title, sheets = ws.title, list(book.sheetnames)
        try:
            try:
                ws.reset_dimensions()  # some writers store a wrong sheet size
                rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
                merged = _merged_ranges(ws)
                formulas = _formulas_without_value(ws)
            except Exception as exc:
                raise DataError(f"{path}: cannot be read: {reason(exc)}") from None
        except DataError as exc:
            raise DataError(_in_sheet(str(exc), path, title, sheets)) from None
    finally:
        book.close()
    try:
        return _parse(path, title, rows, merged, formulas, header_row, max_cell_chars)
    except DataError as exc:
        raise DataError(_in_sheet(str(exc), path, title, sheets)) from None


def _in_sheet(message: str, path: Path, title: str, sheets: list[str]) -> str:
    """Name the sheet that was read in an error, and the sheets the workbook has."""
    head = f"{path}: "
    if message.startswith(head) and not message.startswith(f"{head}sheet "):
        message = f"{head}sheet '{title}': {message[len(head) :]}"
    return f"{message} (sheets in the workbook: {', '.join(repr(s) for s in sheets)})"


def _parse(
    path: Path,
    title: str,
    rows: list[tuple],
    merged: list[str],
    formulas: list[tuple[int, int, str]],
    header_row: int | None,
    max_cell_chars: int,
) -> ReadResult:
    """The sheet's rows as a frame: header found, merged cells and formulas checked."""
    where = f"{path}: sheet '{title}'"
    if not any(_used(r) for r in rows):
        raise DataError(f"{where} is empty")
    if header_row is None:
        h = _find_header(where, rows)
    elif not 1 <= header_row <= len(rows):
        raise DataError(f"{where}: header_row {header_row} is outside rows 1-{len(rows)}")
    else:
        h = header_row - 1
    _refuse_merged(where, merged, h + 1, rows[h])
    body = [(n, r) for n, r in enumerate(rows[h + 1 :], start=h + 2) if _used(r)]
    if not body:
        raise DataError(f"{where}: no data rows (header only, in row {h + 1})")
    width = max([_used(rows[h])] + [_used(r) for _, r in body])
    cells = [_text(v) for v in _pad(rows[h], width)]
    names = check_names(path, cells, _column)
    _refuse_formulas(where, formulas, h + 1, names, [n for n, _ in body])
    frame = pd.DataFrame.from_records([_pad(r, width) for _, r in body], columns=names)
    for col in frame.columns:
        if pd.api.types.is_object_dtype(frame[col]) and frame[col].isna().all():
            frame[col] = frame[col].astype("float64")  # an empty column reads as NaN, like CSV

    def data_row(k: int) -> str:
        return f"data row {k + 1} (sheet row {body[k][0]})"

    check_cell_lengths(path, frame, max_cell_chars, data_row)
    made_missing = blank_whitespace(frame, "whitespace-only cell")
    frame = drop_unnamed(path, frame, _column, lambda k: f"row {body[k][0]}")
    refuse_totals_rows(where, frame, data_row)
    made_missing = sort_made_missing([e for e in made_missing if e["column"] in frame.columns])
    frame.attrs["made_missing"] = made_missing
    return ReadResult(frame=frame, source=str(path), format="xlsx", made_missing=made_missing)


def _pick_sheet(path: Path, book: Any, sheet: str | int | None) -> Any:
    names = book.sheetnames
    if sheet is None:
        sheet = 0
    if isinstance(sheet, str) and sheet not in names and sheet.isdigit():
        sheet = int(sheet)  # "--sheet 1" from a command line
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return book[names[sheet]]
    if isinstance(sheet, str) and sheet in names:
        return book[sheet]
    raise DataError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(names)}; index from 0)")


def _find_header(where: str, rows: list[tuple]) -> int:
    head = rows[:SCAN_ROWS]
    width = max(_used(r) for r in head)
    for i, row in enumerate(head):
        if width and 2 * sum(isinstance(v, str) and bool(v.strip()) for v in row) >= width:
            return i
    raise DataError(
        f"{where}: no header row in the first {SCAN_ROWS} rows (a row at least half text); "
        "pass header_row"
    )


def _refuse_merged(where: str, merged: list[str], h: int, header: tuple) -> None:
    """Merged cells at or below header row ``h`` (1-based), or a group label above it."""
    first = next((i + 1 for i, v in enumerate(header) if v is not None), 1)
    for ref in merged:
        min_col, min_row, _, max_row = range_boundaries(ref)
        if min_row <= h <= max_row:
            raise DataError(
                f"{where}: merged cells {ref} in header row {h} (a merged or multi-row "
                "header); flatten the header to one row of unique column names"
            )
        if max_row > h:
            raise DataError(
                f"{where}: merged cells {ref} in the data below header row {h}; unmerge them "
                "so every cell holds its value"
            )
        if max_row == h - 1 and min_col > first:
            raise DataError(
                f"{where}: merged cells {ref} above header row {h} look like a multi-row "
                "header; flatten it to one row of unique column names"
            )


def _merged_ranges(ws: Any) -> list[str]:
    """Merged ranges listed in the sheet's XML.

    Read-only worksheets (used because they stream large sheets) do not expose merged
    cells, so the sheet's XML part is scanned for ``<mergeCell ref=...>`` in chunks.
    """
    found: set[str] = set()
    tail = b""
    with ws._get_source() as src:  # openpyxl's read-only handle on the sheet's XML part
        for chunk in iter(lambda: src.read(1 << 20), b""):
            buf = tail + chunk
            found.update(m.decode() for m in _MERGE.findall(buf))
            tail = buf[-256:]
    return sorted(found)


def _formulas_without_value(ws: Any) -> list[tuple[int, int, str]]:
    """(row, column, formula) of every formula cell with no saved result, both 1-based.

    openpyxl's ``data_only`` view reads such a cell as empty, indistinguishable from a
    blank. The sheet's XML part is first scanned in chunks for any ``<f>`` element (most
    exports have none, and then this costs one fast pass); only if there is one is the
    XML parsed again, streaming, with each row discarded once checked. A cell whose
    formula returns text (``t="str"``) may legitimately have an empty result.
    """
    with ws._get_source() as src:
        tail = b""
        for chunk in iter(lambda: src.read(1 << 20), b""):
            if _FORMULA.search(tail + chunk):
                break
            tail = chunk[-16:]
        else:
            return []
    found: list[tuple[int, int, str]] = []
    sheet_data = None
    row = col = 0
    with ws._get_source() as src:
        for event, elem in iterparse(src, events=("start", "end")):
            tag = elem.tag.rsplit("}", 1)[-1]
            if event == "start":
                if tag == "sheetData":
                    sheet_data = elem
                elif tag == "row":
                    row = int(elem.get("r") or row + 1)
                    col = 0
                continue
            if tag == "c":
                ref = elem.get("r")
                col = coordinate_to_tuple(ref)[1] if ref else col + 1
                parts = {child.tag.rsplit("}", 1)[-1]: child for child in elem}
                f, v = parts.get("f"), parts.get("v")
                if f is not None and (v is None or not v.text) and elem.get("t") != "str":
                    found.append((row, col, f.text or ""))
            elif tag == "row" and sheet_data is not None:
                sheet_data.clear()  # keep memory flat on large sheets
    return found


def _refuse_formulas(
    where: str,
    formulas: list[tuple[int, int, str]],
    header: int,
    names: list[str],
    body_rows: list[int],
) -> None:
    """The first formula without a saved value at or below the (1-based) header row."""
    hits = sorted((r, c, f) for r, c, f in formulas if r >= header)
    if not hits:
        return
    r, c, formula = hits[0]
    data_row = {n: k + 1 for k, n in enumerate(body_rows)}
    name = names[c - 1] if c <= len(names) and names[c - 1] != UNNAMED.format(c - 1) else None
    place = [f"column '{name}'" if name else _column(c - 1)]
    if r == header:
        place.append("the header row")
    elif r in data_row:
        place.append(f"data row {data_row[r]}")
    text = f"formula '={formula}'" if formula else "a shared formula"
    raise DataError(
        f"{where}, cell {get_column_letter(c)}{r} ({', '.join(place)}): {text} has no saved "
        "value; open and save the file in Excel, or export values"
    )


def _used(row: tuple) -> int:
    """Number of cells up to the last non-empty one."""
    for i in range(len(row) - 1, -1, -1):
        if row[i] is not None and not (isinstance(row[i], str) and not row[i].strip()):
            return i + 1
    return 0


def _pad(row: tuple, width: int) -> tuple:
    return tuple(row[:width]) + (None,) * (width - len(row))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _column(i: int) -> str:
    return f"column {get_column_letter(i + 1)}"
