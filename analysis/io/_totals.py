"""Refuse a totals row ("합계", "Total", ...) rather than count it as a patient.

Spreadsheet exports often end with a row of sums labelled in the ID column or in a
text column. Read as data it would be one more patient with impossible values (or,
worse, plausible ones). A row is a totals row when one of its text cells is, as a
whole, one of :data:`TOTALS_WORDS` (compared case-insensitively after NFKC, with
spaces collapsed and a trailing colon ignored). Cells that merely contain such a word
("total dose", "합계 용량") are ordinary text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import DataError

__all__ = ["TOTALS_WORDS", "refuse_totals_rows"]

#: Whole-cell labels of a totals or subtotals row, English and Korean.
TOTALS_WORDS = (
    "total", "totals", "grand total", "subtotal", "sub-total", "sub total", "sum",
    "합계", "총계", "총합", "소계", "계", "누계", "합",
)  # fmt: skip
_KEYS = frozenset(TOTALS_WORDS)
#: Every totals word holds one of these (jamo and full-width forms: a Mac's decomposed
#: Hangul and ＴＯＴＡＬ, which NFKC turns into the listed words). Characters, not
#: ``\\u`` escapes, and no ``(?i)``: that keeps the pattern in pyarrow's fast engine.
_CANDIDATE = (
    f"[Tt][Oo][Tt]|[Ss][Uu][Mm]|합|계|[{chr(0x1100)}-{chr(0x11FF)}{chr(0xFF01)}-{chr(0xFF5E)}]"
)


def _key(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(unicodedata.normalize("NFKC", value).casefold().split())
    return text.removesuffix(":").strip()


def _candidates(col: pd.Series) -> np.ndarray:
    """Cells that could be a totals label (a cheap vectorised filter before the exact test)."""
    try:
        hit = col.str.contains(_CANDIDATE, regex=True, na=False)
    except AttributeError:  # an object column holding no text at all
        return np.zeros(len(col), dtype=bool)
    return hit.fillna(False).to_numpy(bool)


def refuse_totals_rows(where: str, frame: pd.DataFrame, row: Callable[[int], str]) -> None:
    """Raise a DataError naming the first totals row; ``row(k)`` names data row k (0-based)."""
    first: tuple[int, str, str] | None = None
    rows: set[int] = set()
    for column in frame.columns:
        col = frame[column]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        maybe = np.flatnonzero(_candidates(col))
        if not maybe.size:
            continue
        codes, uniques = pd.factorize(col.iloc[maybe], use_na_sentinel=True)
        total = np.array([_key(u) in _KEYS for u in uniques] + [False], dtype=bool)
        found = [int(k) for k in maybe[total[codes]]]  # code -1 (none here) reads False
        if not found:
            continue
        rows.update(found)
        if first is None or found[0] < first[0]:
            first = (found[0], str(column), str(col.iloc[found[0]]))
    if first is None:
        return
    k, column, value = first
    more = f" (and {len(rows) - 1} more such row(s))" if len(rows) > 1 else ""
    raise DataError(
        f"{where}: {row(k)} looks like a totals row ({value!r} in column '{column}'){more}; "
        "remove it from the export: a total is not a patient"
    )
