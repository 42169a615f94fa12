"""What every reader shares: the result type and the checks on column names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import DataError

__all__ = ["ReadResult", "check_names", "drop_unnamed", "reason"]

#: Placeholder given to a header cell that is empty, so pandas can still read the column.
UNNAMED = "\x00unnamed{}"


@dataclass(frozen=True)
class ReadResult:
    """A data file as read, plus what the reader learned about it on the way.

    ``user_missing`` lists, per column, what was turned into NaN: declared SPSS
    missing values (a number or string) and ranges (``(lo, hi)``), or the Stata/SAS
    extended-missing codes found (``".a"``, ``".A"``). ``value_labels`` are returned,
    never applied: codes stay numeric and the study file maps them.
    """

    frame: pd.DataFrame
    source: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict] = field(default_factory=dict)
    user_missing: dict[str, list] = field(default_factory=dict)


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
