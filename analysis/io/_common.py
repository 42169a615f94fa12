"""What every reader shares: the result type and the checks on column names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import DataError

__all__ = [
    "MAX_CELL_CHARS",
    "ReadResult",
    "blank_whitespace",
    "check_cell_lengths",
    "check_names",
    "drop_unnamed",
    "made_missing_entry",
    "nfc_result",
    "numeric_if_all_numbers",
    "reason",
    "sort_made_missing",
]

#: Longest text cell accepted: Excel's own limit (32,767 characters per cell). A longer
#: cell is almost always a broken export (a whole file pasted into one field).
MAX_CELL_CHARS = 32_767
#: A number as delimited text writes it. Deliberately no ``nan``/``inf``: pandas'
#: ``to_numeric`` would turn the text "nan" into a missing value without a word.
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")

#: Placeholder given to a header cell that is empty, so pandas can still read the column.
UNNAMED = "\x00unnamed{}"


@dataclass(frozen=True)
class ReadResult:
    """A data file as read, plus what the reader learned about it on the way.

    ``user_missing`` lists, per column, what was turned into NaN: declared SPSS
    missing values (a number or string) and ranges (``(lo, hi)``), or the Stata/SAS
    extended-missing codes found (``".a"``, ``".A"``). ``value_labels`` are returned,
    not applied: codes stay as the file holds them, and
    :func:`analysis.inputs.load_input` matches them to the study's codes by label
    (:mod:`analysis.labels`).

    Column names and text cells are in Unicode NFC (:func:`nfc_result`).

    ``made_missing`` counts every cell that held something in the file and was read as
    missing: ``{"column", "reason", "count", "first_row"}`` (first_row is the 1-based data
    row), sorted by column then reason. Cells that were empty in the file are not listed.
    The same list is in ``frame.attrs["made_missing"]``.
    """

    frame: pd.DataFrame
    source: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict] = field(default_factory=dict)
    user_missing: dict[str, list] = field(default_factory=dict)
    made_missing: list[dict[str, Any]] = field(default_factory=list)


def _nfc(value: Any) -> Any:
    if isinstance(value, str) and not unicodedata.is_normalized("NFC", value):
        return unicodedata.normalize("NFC", value)
    return value


def _nfc_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells in NFC; only non-ASCII cells are looked at, and only changed columns copied."""
    out = frame
    for j, col in enumerate(frame.columns):
        x = frame[col]
        if not _is_text_column(x):
            continue
        try:
            ascii_only = x.str.isascii()
        except AttributeError:  # an object column holding no text at all
            continue
        other = ~ascii_only.astype("boolean").fillna(True).to_numpy(bool)
        if not other.any():
            continue
        rows = np.flatnonzero(other)
        cells = x.iloc[rows].to_numpy(object)
        stale = [
            k
            for k, v in enumerate(cells)
            if isinstance(v, str) and not unicodedata.is_normalized("NFC", v)
        ]
        if not stale:
            continue
        if out is frame:
            out = frame.copy(deep=False)
        values = x.to_numpy(object, copy=True)
        values[rows[stale]] = [unicodedata.normalize("NFC", cells[k]) for k in stale]
        out.isetitem(j, pd.Series(values, index=x.index, dtype=x.dtype, name=x.name))
    return out


def nfc_result(result: ReadResult) -> ReadResult:
    """The result with column names, text cells and label keys in Unicode NFC.

    Hangul typed on a Mac can arrive decomposed (NFD): it looks the same but would not
    match the same name typed elsewhere. NFC is the canonical composed form; it changes
    no character a reader can see.
    """
    frame = _nfc_cells(result.frame)
    names = [_nfc(c) for c in frame.columns]
    if names != list(frame.columns):
        frame = frame.set_axis(names, axis=1)
    attrs = dict(result.frame.attrs)
    made_missing = [{**e, "column": _nfc(e["column"])} for e in result.made_missing]
    attrs["made_missing"] = made_missing
    frame.attrs = attrs
    return replace(
        result,
        frame=frame,
        variable_labels={_nfc(k): v for k, v in result.variable_labels.items()},
        value_labels={_nfc(k): v for k, v in result.value_labels.items()},
        user_missing={_nfc(k): v for k, v in result.user_missing.items()},
        made_missing=made_missing,
    )


def reason(exc: BaseException) -> str:
    """The first line of an exception's message: third-party readers can be verbose."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_names(path: Path, names: list[str], where: Callable[[int], str]) -> list[str]:
    """Header names with empty ones replaced by placeholders; duplicates are an error.

    pandas would silently rename a second ``age`` to ``age.1``, so a study variable
    could be read from the wrong column; we refuse instead. ``where(i)`` names column i.
    """
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = unicodedata.normalize("NFC", name)  # a Mac export's decomposed Hangul
        if not name:
            out.append(UNNAMED.format(i))
            continue
        if name in seen:
            raise DataError(
                f"{path}: duplicate column name '{name}' ({where(seen[name])} and {where(i)})"
            )
        seen[name] = i
        out.append(name)
    return out


def drop_unnamed(
    path: Path, frame: pd.DataFrame, where: Callable[[int], str], row: Callable[[int], str]
) -> pd.DataFrame:
    """Drop empty columns with no header (export debris); an unnamed column with data is an error.

    ``where(i)`` names column i, ``row(k)`` names data row k (0-based) as the user sees it.
    """
    unnamed = [c for i, c in enumerate(frame.columns) if c == UNNAMED.format(i)]
    for name in unnamed:
        values = frame[name]
        filled = values.notna().to_numpy().nonzero()[0]
        if filled.size:
            k = int(filled[0])
            raise DataError(
                f"{path}: {where(frame.columns.get_loc(name))} has data but no header name "
                f"({row(k)}, value '{values.iloc[k]}'); name the column or delete it"
            )
    return frame.drop(columns=unnamed)


def made_missing_entry(column: Any, reason_text: str, mask: np.ndarray) -> dict[str, Any] | None:
    """One ``made_missing`` record for the cells where ``mask`` is true (None if there are none)."""
    hits = np.flatnonzero(mask)
    if not hits.size:
        return None
    return {
        "column": str(column),
        "reason": reason_text,
        "count": int(hits.size),
        "first_row": int(hits[0]) + 1,
    }


def sort_made_missing(entries: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Deterministic order (column, reason); records for the same pair are added up."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for e in entries:
        if e is None:
            continue
        key = (e["column"], e["reason"])
        if key in merged:
            old = merged[key]
            old["count"] += e["count"]
            old["first_row"] = min(old["first_row"], e["first_row"])
        else:
            merged[key] = dict(e)
    return [merged[k] for k in sorted(merged)]


def _is_text_column(col: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(col)
        or pd.api.types.is_bool_dtype(col)
        or pd.api.types.is_datetime64_any_dtype(col)
    )


def _blank_text(col: pd.Series) -> np.ndarray:
    """Which cells are text that is empty or only whitespace (vectorised for string columns)."""
    if isinstance(col.dtype, pd.StringDtype):
        return (col.str.strip() == "").fillna(False).to_numpy(bool)
    # object columns mix types (Excel, Stata): a plain loop, once per cell
    return np.fromiter(
        (isinstance(v, str) and not v.strip() for v in col.to_numpy(object)), bool, len(col)
    )


def _text_lengths(col: pd.Series) -> np.ndarray:
    """Characters in each text cell (0 for anything else)."""
    if isinstance(col.dtype, pd.StringDtype):
        return col.str.len().fillna(0).to_numpy("int64")
    return np.fromiter(
        (len(v) if isinstance(v, str) else 0 for v in col.to_numpy(object)), "int64", len(col)
    )


def blank_whitespace(
    frame: pd.DataFrame, reason_text: str, *, empty_too: bool = False, reinfer: bool = True
) -> list[dict[str, Any]]:
    """Make whitespace-only text cells missing, in place; return what was counted.

    Whitespace-only counts as empty (a user cannot see the difference) but, unlike a
    truly empty cell, it is counted. ``empty_too`` also counts ``""`` (SPSS/Stata/SAS
    store a missing string as blanks, so there it is a missing value, not an absence);
    otherwise ``""`` is made missing silently, as an empty cell. With ``reinfer``, a
    column that holds only numbers once blanked becomes numeric, as a text reader would
    have made it had those cells been empty (files with declared types keep them).
    """
    out = []
    for col in list(frame.columns):
        x = frame[col]
        if not _is_text_column(x):
            continue
        blank = _blank_text(x)
        if not blank.any():
            continue
        counted = blank if empty_too else blank & (x != "").fillna(True).to_numpy(bool)
        entry = made_missing_entry(col, reason_text, counted)
        if entry is not None:
            out.append(entry)
        frame[col] = numeric_if_all_numbers(x.mask(blank)) if reinfer else x.mask(blank)
    return out


def numeric_if_all_numbers(col: pd.Series) -> pd.Series:
    """The column as numbers if every non-missing cell is a number or text writing one."""
    if not _is_text_column(col):
        return col
    values = col.dropna()
    if values.empty:
        return col.astype("float64")
    ok = values.map(
        lambda v: (
            (isinstance(v, int | float | np.number) and not isinstance(v, bool))
            or (isinstance(v, str) and _NUMBER.match(v) is not None)
        )
    )
    if not ok.all():
        return col
    return pd.to_numeric(col.astype(object))


def check_cell_lengths(
    path: Path, frame: pd.DataFrame, limit: int, row: Callable[[int], str]
) -> None:
    """Refuse a text cell longer than ``limit`` characters, naming column, row and length.

    ``row(k)`` names data row k (0-based) as the user sees it. Runs before anything
    quotes a cell's value in a message, so no message ever carries a huge cell.
    """
    for col in frame.columns:
        x = frame[col]
        if not _is_text_column(x):
            continue
        lengths = _text_lengths(x)
        too_long = lengths > limit
        if too_long.any():
            k = int(np.flatnonzero(too_long)[0])
            raise DataError(
                f"{path}: column '{col}', {row(k)}: a cell of {int(lengths[k]):,} characters, "
                f"longer than the limit of {limit:,} (a broken export? if the text is real, "
                "raise limits.max_cell_chars in the study file)"
            )
