"""Statistical-package files (SPSS, Stata, SAS) through pyreadstat, and Parquet.

User-defined missing values become NaN: pyreadstat is asked to keep them
(``user_missing=True``) so that the declared SPSS values/ranges and the Stata/SAS
extended-missing codes are known, and this module blanks them. A blank string (``""``
or only spaces) is these packages' missing value for a string variable, so it becomes
NaN too. Each of these is counted in ``made_missing`` with its reason. Value labels
are returned, not applied here: :func:`analysis.inputs.load_input` matches them to the
study's codes (:mod:`analysis.labels`). A totals row ("합계", "Total", ...) in a string
variable is an error. Parquet keeps its own nulls and nothing else is made missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow
import pyreadstat

from analysis.errors import DataError
from analysis.io._common import (
    MAX_CELL_CHARS,
    ReadResult,
    blank_whitespace,
    check_cell_lengths,
    made_missing_entry,
    reason,
    sort_made_missing,
)
from analysis.io._totals import refuse_totals_rows

__all__ = ["ENCODING_FORMATS", "STAT_FORMATS", "read_parquet", "read_stat"]

STAT_FORMATS: dict[str, tuple[Callable[..., Any], str]] = {
    "sav": (pyreadstat.read_sav, "SPSS .sav"),
    "zsav": (pyreadstat.read_sav, "SPSS .zsav"),
    "por": (pyreadstat.read_por, "SPSS portable .por"),
    "dta": (pyreadstat.read_dta, "Stata .dta"),
    "sas7bdat": (pyreadstat.read_sas7bdat, "SAS .sas7bdat"),
    "xpt": (pyreadstat.read_xport, "SAS transport .xpt"),
}
#: pyreadstat's read_por and read_xport take no ``user_missing``; read_por no ``encoding``.
_USER_MISSING = {"sav", "zsav", "dta", "sas7bdat"}
ENCODING_FORMATS = {"sav", "zsav", "dta", "sas7bdat", "xpt"}
#: Which package's missing-value rules a format follows (named in ``made_missing``).
_PACKAGE = {"sav": "SPSS", "zsav": "SPSS", "por": "SPSS", "dta": "Stata"}


def _row(k: int) -> str:
    return f"row {k + 1}"


def read_stat(
    path: Path, fmt: str, *, encoding: str | None, max_cell_chars: int = MAX_CELL_CHARS
) -> ReadResult:
    """Read an SPSS/Stata/SAS file; user-defined missing values become NaN."""
    reader, kind = STAT_FORMATS[fmt]
    options: dict[str, Any] = {"dates_as_pandas_datetime": True}
    if fmt in _USER_MISSING:
        options["user_missing"] = True
    if encoding is not None:
        options["encoding"] = encoding
    if fmt == "xpt" and path.stat().st_size % 80:
        # transport files are 80-byte records; pyreadstat reads a cut file without error
        raise DataError(f"{path}: cannot read as {kind}: truncated (size not a multiple of 80)")
    try:
        frame, meta = reader(str(path), **options)
    except Exception as exc:  # ReadstatError and friends: one line for the user
        raise DataError(
            f"{path}: cannot read as {kind} (corrupt or truncated?): {reason(exc)}"
        ) from exc
    check_cell_lengths(path, frame, max_cell_chars, _row)
    package = _PACKAGE.get(fmt, "SAS")
    user_missing, counted = _blank_user_missing(frame, meta, package)
    counted += blank_whitespace(frame, f"{package} blank string", empty_too=True, reinfer=False)
    refuse_totals_rows(str(path), frame, _row)
    made_missing = sort_made_missing(counted)
    frame.attrs["made_missing"] = made_missing
    return ReadResult(
        frame=frame,
        source=str(path),
        format=fmt,
        encoding=encoding or getattr(meta, "file_encoding", None),
        variable_labels={k: v for k, v in meta.column_names_to_labels.items() if v},
        value_labels={k: dict(v) for k, v in meta.variable_value_labels.items()},
        user_missing=user_missing,
        made_missing=made_missing,
    )


def _show(value: Any) -> str:
    """99.0 -> 99, text quoted: how the value reads in a ``made_missing`` reason."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _blank_user_missing(
    frame: pd.DataFrame, meta: Any, package: str
) -> tuple[dict[str, list], list[dict[str, Any] | None]]:
    """Set user-defined missing values to NaN in place.

    Returns what was declared, per column (``ReadResult.user_missing``), and what was
    found and blanked (``made_missing`` records). SPSS: every declared value (``99``)
    or range (``(lo, hi)``), as SPSS itself would exclude them. Stata/SAS: the
    extended-missing codes present (``.a``, ``.A``), which pyreadstat hands over as
    letters in an otherwise numeric column.
    """
    blanked: dict[str, list] = {}
    counted: list[dict[str, Any] | None] = []
    for col, ranges in (meta.missing_ranges or {}).items():
        x = frame[col]
        mask = pd.Series(False, index=frame.index)
        for r in ranges:
            lo, hi = r["lo"], r["hi"]
            hit = (x == lo) if lo == hi else x.between(lo, hi)
            hit = hit.fillna(False).to_numpy(bool)
            what = f"value {_show(lo)}" if lo == hi else f"range {_show(lo)} to {_show(hi)}"
            counted.append(made_missing_entry(col, f"{package} user-missing {what}", hit))
            mask |= hit
        frame[col] = x.mask(mask)
        blanked[col] = [r["lo"] if r["lo"] == r["hi"] else (r["lo"], r["hi"]) for r in ranges]
    special = "extended missing value" if package == "Stata" else "special missing value"
    for col, codes in (meta.missing_user_values or {}).items():
        if col in blanked:
            continue
        x = frame[col]
        for c in codes:
            hit = (x == c).fillna(False).to_numpy(bool)
            counted.append(made_missing_entry(col, f"{package} {special} .{c}", hit))
        frame[col] = pd.to_numeric(x.mask(x.isin(codes)))
        blanked[col] = [f".{c}" for c in codes]
    return blanked, counted


def read_parquet(path: Path, *, max_cell_chars: int = MAX_CELL_CHARS) -> ReadResult:
    """Read a Parquet file (the package's own on-disk format); its nulls are its own."""
    try:
        # self_destruct frees each Arrow column once converted and split_blocks keeps
        # columns apart (no consolidation copy): the read peaks near one frame's memory,
        # not two. The frame (values, dtypes) is the same as a plain read's.
        frame = pd.read_parquet(
            path, to_pandas_kwargs={"self_destruct": True, "split_blocks": True}
        )
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(
            f"{path}: cannot read as Parquet (corrupt or truncated?): {reason(exc)}"
        ) from exc
    # Arrow's allocator keeps the converted columns' memory for reuse; give it back.
    pyarrow.default_memory_pool().release_unused()
    check_cell_lengths(path, frame, max_cell_chars, _row)
    frame.attrs["made_missing"] = []
    return ReadResult(frame=frame, source=str(path), format="parquet")
