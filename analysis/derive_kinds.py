"""The general derivation kinds: expression, combine, age_at and censored.

Each kind computes its column for every row at once (numpy/pandas, no Python loop
over rows) and can account for itself afterwards: :func:`trace` returns the values it
left missing and the values it substituted, each ``{column, reason, count,
first_row}``, so nothing changes in the data without being counted. What each kind
does, and its rules for missing, censored and Feb-29 values, is in
docs/study-file.md (``derive`` kinds).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis import expression as ex
from analysis.derive_check import derivation_sources, expression_types, parsed, reference_date
from analysis.study import Study, Variable

__all__ = ["KINDS", "Trace", "age_in_years", "parse_censored", "trace"]

Entry = dict[str, Any]


class Trace(NamedTuple):
    """What a derivation did beyond computing: values it left missing, values it set by rule."""

    made_missing: list[Entry]
    substituted: list[Entry]


def _entries(groups: list[tuple[np.ndarray, str]], column: str) -> list[Entry]:
    """One ``{column, reason, count, first_row}`` per reason that has rows (1-based row)."""
    out = []
    for rows, why in groups:
        hits = np.flatnonzero(rows)
        if hits.size:
            out.append({"column": column, "reason": why, "count": int(hits.size),
                        "first_row": int(hits[0]) + 1})  # fmt: skip
    return out


def _missing_reason(sources: list[str]) -> str:
    return f"{' or '.join(sources)} missing (derived value missing)"


# ----------------------------------------------------------------- expression


def _as_variable(result: ex.Result, var: Variable, index: pd.Index) -> pd.Series:
    """An evaluated expression as the variable's values: a condition becomes its codes.

    For a binary variable false is the first code and true the last (the one tables
    show as "Yes"); missing stays missing.
    """
    if result.kind == ex.BOOL:
        first, last = var.levels[0], var.levels[-1]
        numeric = all(isinstance(c, int | float) for c in (first, last))
        values = np.where(result.values, last, first).astype(float if numeric else object)
        values[result.missing] = np.nan
        return pd.Series(values, index=index)
    return pd.Series(result.values, index=index)


def _evaluate(frame: pd.DataFrame, text: str, study: Study) -> ex.Result:
    return ex.evaluate(parsed(text), frame, expression_types(study.variables))


def expression(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    return _as_variable(_evaluate(frame, spec["expr"], study), var, frame.index)


def _trace_expression(
    derived: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study
) -> Trace:
    sources = derivation_sources(spec)
    gone = derived[var.name].isna().to_numpy()
    source_missing = (
        derived[sources].isna().any(axis=1).to_numpy() if sources else np.zeros(len(gone), bool)
    )
    groups = [
        (gone & source_missing, _missing_reason(sources)),
        (gone & ~source_missing, "no finite value: division by zero, overflow or a negative "
                                 "number to a fractional power (derived value missing)"),
    ]  # fmt: skip
    return Trace(_entries(groups, var.name), [])


# -------------------------------------------------------------------- combine


class _Choice(NamedTuple):
    winner: np.ndarray  # index of the case that gives the value, -1 for none
    undecided: np.ndarray  # a case read a missing value before any case was true
    overlap: np.ndarray  # a later case was true as well


def _choose(frame: pd.DataFrame, spec: dict[str, Any], study: Study) -> _Choice:
    """First true case wins; a case that cannot be decided stops the search (missing)."""
    n = len(frame)
    winner = np.full(n, -1)
    undecided = np.zeros(n, bool)
    true_count = np.zeros(n, int)
    for i, case in enumerate(spec["cases"]):
        result = _evaluate(frame, case["when"], study)
        open_rows = (winner < 0) & ~undecided
        winner[open_rows & result.values] = i
        undecided |= open_rows & result.missing
        true_count += result.values
    return _Choice(winner, undecided, (winner >= 0) & (true_count > 1))


def combine(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    choice = _choose(frame, spec, study)
    numeric = all(isinstance(c, int | float) for c in var.codes)
    out = np.full(len(frame), np.nan, dtype=float if numeric else object)
    for i, case in enumerate(spec["cases"]):
        out[choice.winner == i] = case["value"]
    if "otherwise" in spec:
        out[(choice.winner < 0) & ~choice.undecided] = spec["otherwise"]
    return pd.Series(out, index=frame.index)


def _trace_combine(
    derived: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study
) -> Trace:
    choice = _choose(derived, spec, study)
    sources = derivation_sources(spec)
    missing = [(choice.undecided, f"{' or '.join(sources)} missing before any case was true "
                                  "(derived value missing)")]  # fmt: skip
    if "otherwise" not in spec:
        missing.append(((choice.winner < 0) & ~choice.undecided,
                        "matched no case (derived value missing)"))  # fmt: skip
    substituted = []
    for i, case in enumerate(spec["cases"]):
        label = var.codes.get(case["value"], "")
        why = (
            f"matched case {i + 1} ({case['when']}) and a later case: case {i + 1}'s value "
            f"{case['value']} ({label}) used"
        )
        substituted.append((choice.overlap & (choice.winner == i), why))
    return Trace(_entries(missing, var.name), _entries(substituted, var.name))


# --------------------------------------------------------------------- age_at

_DATE_TEXT = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"


def _dates(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """(dates, unreadable): text must be a full ISO date (YYYY-MM-DD, time ignored).

    Numbers are not taken for dates (an Excel serial or a bare year would otherwise
    silently become some day in 1970 or 1 January).
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        dates = series.dt.tz_localize(None) if series.dt.tz is not None else series
        return dates.dt.normalize(), np.zeros(len(series), bool)
    present = series.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(series):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]"), present
    text = series.astype("string").str.strip()
    full = text.str.fullmatch(_DATE_TEXT).fillna(False).astype(bool)
    dates = pd.to_datetime(text.where(full), format="ISO8601", errors="coerce")
    dates = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates
    return dates.dt.normalize(), present & dates.isna().to_numpy()


def _ymd(dates: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(
        getattr(dates.dt, part).to_numpy(dtype=float, na_value=np.nan)
        for part in ("year", "month", "day")
    )  # type: ignore[return-value]


def age_in_years(birth: pd.Series, on: pd.Series) -> np.ndarray:
    """Completed years from ``birth`` to ``on`` (both datetime), NaN where either is missing.

    One year less until the birthday is reached in the year of ``on``; a 29 February
    birthday is reached on 28 February in a common year (as dateutil's relativedelta
    counts).
    """
    by, bm, bd = _ymd(birth)
    ry, rm, rd = _ymd(on)
    leap = (ry % 4 == 0) & ((ry % 100 != 0) | (ry % 400 == 0))
    birthday = np.where((bm == 2) & (bd == 29) & ~leap, 28, bd)
    not_yet = (rm < bm) | ((rm == bm) & (rd < birthday))
    return ry - by - not_yet


def _age_dates(frame: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series, dict]:
    birth, bad_birth = _dates(frame[spec["birth"]])
    unreadable = {spec["birth"]: bad_birth}
    fixed = reference_date(spec["date"])
    if fixed is None:
        on, bad_on = _dates(frame[spec["date"]])
        unreadable[spec["date"]] = bad_on
    else:
        on = pd.Series(pd.Timestamp(fixed), index=frame.index)
    return birth, on, unreadable


def age_at(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    birth, on, _ = _age_dates(frame, spec)
    return pd.Series(age_in_years(birth, on), index=frame.index)


def _trace_age_at(
    derived: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study
) -> Trace:
    _, _, unreadable = _age_dates(derived, spec)
    sources = derivation_sources(spec)
    absent = derived[sources].isna().any(axis=1).to_numpy()
    groups = [(absent, _missing_reason(sources))]
    groups += [(bad & ~absent, f"{name} is not a date written YYYY-MM-DD (derived value "
                               "missing)") for name, bad in unreadable.items()]  # fmt: skip
    return Trace(_entries(groups, var.name), [])


# ------------------------------------------------------------------- censored

_CENSORED = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$")
_SIDE = {"<": -1, "<=": -1, "≤": -1, ">": 1, ">=": 1, "≥": 1}
_ASCII = {"≤": "<=", "≥": ">="}


class Censored(NamedTuple):
    """A lab column read: plain numbers, and censored values with their side and limit."""

    number: np.ndarray  # the plain numbers, NaN elsewhere
    side: np.ndarray  # -1 below a limit ('<0.1'), +1 above ('>500'), 0 otherwise
    limit: np.ndarray  # the limit of a censored value, NaN elsewhere
    op: np.ndarray  # '<', '<=', '>' or '>=' of a censored value, '' elsewhere
    unreadable: np.ndarray  # present, but neither a number nor a censored value


def parse_censored(series: pd.Series) -> Censored:
    """Numbers as they are; ``<0.1``, ``<=0.1``, ``≤0.1``, ``>500``, ``>= 500`` as limits."""
    n = len(series)
    number = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    number[~np.isfinite(number)] = np.nan
    rest = series.notna().to_numpy() & np.isnan(number)
    side = np.zeros(n, int)
    limit = np.full(n, np.nan)
    op = np.full(n, "", dtype=object)
    if rest.any():
        found = series[rest].astype(str).str.extract(_CENSORED)
        ok = found[0].notna().to_numpy()
        rows = np.flatnonzero(rest)[ok]
        ops = found[0].to_numpy(dtype=object)[ok]
        side[rows] = [_SIDE[o] for o in ops]
        op[rows] = [_ASCII.get(o, o) for o in ops]
        limit[rows] = found[1].to_numpy(dtype=object)[ok].astype(float)
    return Censored(number, side, limit, op, rest & (side == 0))


def censored(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    values = parse_censored(frame[spec["source"]])
    out = values.number.copy()
    below, above = values.side == -1, values.side == 1
    rule = spec["below"]
    if rule != "missing":
        out[below] = values.limit[below] / (2 if rule == "half_limit" else 1)
    if spec.get("above", "missing") == "limit":
        out[above] = values.limit[above]
    return pd.Series(out, index=frame.index)


_MAX_LIMITS = 12  # distinct limits listed one by one; more are counted together


def _by_limit(values: Censored, rows: np.ndarray) -> list[tuple[np.ndarray, str, float]]:
    """(rows, 'op limit', limit) per distinct censored value among ``rows``."""
    keys = sorted({(o, lim) for o, lim in zip(values.op[rows], values.limit[rows], strict=True)})
    return [
        (rows & (values.op == o) & (values.limit == lim), f"{o}{lim:g}", lim) for o, lim in keys
    ]


def _trace_censored(
    derived: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study
) -> Trace:
    src = spec["source"]
    values = parse_censored(derived[src])
    missing = [
        (derived[src].isna().to_numpy(), _missing_reason([src])),
        (values.unreadable, f"{src} neither a number nor a censored value like '<0.1' "
                            "(derived value missing)"),
    ]  # fmt: skip
    substituted: list[tuple[np.ndarray, str]] = []
    rules = {-1: spec["below"], 1: spec.get("above", "missing")}
    for side, where in ((-1, "below"), (1, "above")):
        rows = values.side == side
        rule = rules[side]
        groups = _by_limit(values, rows)
        if len(groups) > _MAX_LIMITS:
            lump = f"{src} {where} a limit ({len(groups)} different limits)"
            if rule == "missing":
                missing.append((rows, f"{lump} (derived value missing)"))
            else:
                used = "half the limit" if rule == "half_limit" else "the limit"
                substituted.append((rows, f"{lump}: {used} used"))
            continue
        for hit, shown, lim in groups:
            if rule == "missing":
                missing.append((hit, f"{src} {shown}: {where} the limit (derived value missing)"))
            elif rule == "half_limit":
                substituted.append((hit, f"{src} {shown}: {lim / 2:g} used (half the limit)"))
            else:
                substituted.append((hit, f"{src} {shown}: {lim:g} used (the limit)"))
    return Trace(_entries(missing, var.name), _entries(substituted, var.name))


# ------------------------------------------------------------------- registry

Kind = Callable[[pd.DataFrame, Variable, dict[str, Any], Study], pd.Series]
KINDS: dict[str, Kind] = {
    "expression": expression,
    "combine": combine,
    "age_at": age_at,
    "censored": censored,
}
_TRACERS: dict[str, Callable[[pd.DataFrame, Variable, dict[str, Any], Study], Trace]] = {
    "expression": _trace_expression,
    "combine": _trace_combine,
    "age_at": _trace_age_at,
    "censored": _trace_censored,
}


def trace(derived: pd.DataFrame, var: Variable, study: Study) -> Trace:
    """What ``var``'s derivation left missing and substituted, read off the derived frame."""
    spec = var.derive or {}
    return _TRACERS[spec["kind"]](derived, var, spec, study)
