"""Excel .xlsx: pick the sheet, find the header row, refuse merged or multi-row headers.

Header rule (when ``header_row`` is not given): the first of the sheet's first 20 rows
in which at least half of the columns hold text, where the number of columns is that
of the widest of those 20 rows. Title rows above it (a single caption, a date, blank
rows) are skipped; data rows are mostly numbers, so they do not qualify.

Merged cells are refused wherever they would make the frame silently wrong: one that
touches the header row or any row below it, or one in the row just above the header
that does not start in the header's first column (a group label over some columns,
i.e. a multi-row header). A title merged across the top of the table is allowed.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter, range_boundaries

from analysis.errors import DataError
from analysis.io._common import ReadResult, check_names, drop_unnamed, reason

__all__ = ["SCAN_ROWS", "read_xlsx"]

SCAN_ROWS = 20
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def read_xlsx(path: Path, *, sheet: str | int | None, header_row: int | None) -> ReadResult:
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
        title = ws.title
        try:
            ws.reset_dimensions()  # some writers store a wrong sheet size
            rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
            merged = _merged_ranges(ws)
        except Exception as exc:
            raise DataError(f"{path}: sheet '{title}' cannot be read: {reason(exc)}") from None
    finally:
        book.close()
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
    width = max([_used(rows[h])] + [_used(r) for _, r in body])
    cells = [_text(v) for v in _pad(rows[h], width)]
    names = check_names(path, cells, _column)
    frame = pd.DataFrame.from_records([_pad(r, width) for _, r in body], columns=names)
    for col in frame.columns:
        if pd.api.types.is_object_dtype(frame[col]) and frame[col].isna().all():
            frame[col] = frame[col].astype("float64")  # an empty column reads as NaN, like CSV
    frame = drop_unnamed(path, frame, _column, lambda k: f"row {body[k][0]}")
    return ReadResult(frame=frame, source=str(path), format="xlsx")


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
