"""Read a cohort file (CSV/TSV/TXT, Excel, SPSS, Stata, SAS, Parquet) into a data frame.

Only ever reads: files (including everything under data_raw/) are opened read-only
and never rewritten. Every problem the user can fix is a ``DataError`` whose message
is one line naming the file and what is wrong (and the column and row where known).

Detection rules are documented where they live: encoding and delimiter in
``_text``, the Excel header row and merged cells in ``_excel``, user-defined missing
values in ``_stat``.

Missing values: only cells that are empty in the file, user-defined missing values of
SPSS/Stata/SAS, and their blank strings become missing; no text ("NA", "None",
"null", ...) is ever taken for missing. Everything made missing that was not empty in
the file is counted in ``ReadResult.made_missing`` (also ``frame.attrs["made_missing"]``).
A text cell longer than ``max_cell_chars`` (default 32,767, Excel's limit) is an error.

Column names and text cells are returned in Unicode NFC (a Mac export's decomposed
Hangul becomes the composed form everything else uses). A totals row ("합계",
"Total", ...) is refused, not read as a patient (``_totals``). Value labels are
returned in ``ReadResult.value_labels``, not applied.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.io._common import MAX_CELL_CHARS, ReadResult, nfc_result
from analysis.io._excel import read_xlsx
from analysis.io._stat import ENCODING_FORMATS, STAT_FORMATS, read_parquet, read_stat
from analysis.io._text import read_text

__all__ = ["FORMATS", "MAX_CELL_CHARS", "ReadResult", "read_cohort", "read_table"]

_TEXT = ("csv", "tsv", "txt")
#: File extension -> ``ReadResult.format``.
FORMATS = {f".{f}": f for f in (*_TEXT, "xlsx", *STAT_FORMATS, "parquet")}


def read_table(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ReadResult:
    """The file as one row per subject, with what was learned reading it.

    ``sheet`` (name, or index from 0) and ``header_row`` (1-based) apply to .xlsx;
    ``delimiter`` (a character or comma/semicolon/tab/pipe) to text files; ``encoding``
    to text files and to SPSS .sav/.zsav, Stata, SAS. ``None`` means detect / default.
    ``max_cell_chars`` is the longest text cell accepted (the study file's
    ``limits.max_cell_chars``).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unsupported file type '{path.suffix}' (use one of: {', '.join(FORMATS)})"
        )
    _check_options(
        path, fmt, sheet=sheet, header_row=header_row, encoding=encoding, delimiter=delimiter
    )
    if (
        isinstance(max_cell_chars, bool)
        or not isinstance(max_cell_chars, int)
        or max_cell_chars < 1
    ):
        raise DataError(
            f"{path}: max_cell_chars must be a whole number from 1, not {max_cell_chars!r}"
        )
    limit = max_cell_chars
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: file is empty (0 bytes)")
        if fmt in _TEXT:
            result = read_text(
                path, fmt, encoding=encoding, delimiter=delimiter, max_cell_chars=limit
            )
        elif fmt == "xlsx":
            result = read_xlsx(path, sheet=sheet, header_row=header_row, max_cell_chars=limit)
        elif fmt == "parquet":
            result = read_parquet(path, max_cell_chars=limit)
        else:
            result = read_stat(path, fmt, encoding=encoding, max_cell_chars=limit)
    except OSError as exc:  # permissions, a file vanishing mid-read, ...
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    result = nfc_result(result)
    _check_frame(path, result.frame)
    return result


def read_cohort(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> pd.DataFrame:
    """The file as one row per subject; SPSS/Stata value codes are kept as the file has them.

    (:func:`analysis.inputs.load_input` then matches value labels to the study's codes.)

    ``frame.attrs["made_missing"]`` lists what was made missing (see ``ReadResult``).
    """
    return read_table(
        path,
        sheet=sheet,
        header_row=header_row,
        encoding=encoding,
        delimiter=delimiter,
        max_cell_chars=max_cell_chars,
    ).frame


def _check_options(path: Path, fmt: str, **options: object) -> None:
    """An option that cannot apply to this file type is a mistake, not something to ignore."""
    allowed = {
        "sheet": fmt == "xlsx",
        "header_row": fmt == "xlsx",
        "delimiter": fmt in _TEXT,
        "encoding": fmt in _TEXT or fmt in ENCODING_FORMATS,
    }
    for name, value in options.items():
        if value is not None and not allowed[name]:
            raise DataError(f"{path}: option {name} does not apply to .{fmt} files")
    header_row = options["header_row"]
    if header_row is not None and (not isinstance(header_row, int) or header_row < 1):
        raise DataError(f"{path}: header_row must be a row number from 1, not {header_row!r}")


def _check_frame(path: Path, frame: pd.DataFrame) -> None:
    """Checks every format needs: unique column names and at least one data row."""
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        raise DataError(f"{path}: duplicate column name '{duplicated[0]}'")
    if frame.shape[1] == 0:
        raise DataError(f"{path}: no columns")
    if frame.shape[0] == 0:
        raise DataError(f"{path}: no data rows (header only)")
