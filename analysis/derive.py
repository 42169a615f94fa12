"""Cohort derivation: compute derived variables, drop identifiers, apply inclusion.

What is derived and how is declared in the study file (``derive:`` on a
variable); this module only knows the kinds of derivation (the general ones,
expression, combine, age_at and censored, are in :mod:`analysis.derive_kinds`).
Identifiers are dropped after deriving, so an age can be computed from a date of
birth; no derivation but age_at may read one (checked when the study is loaded), and
no identifier value is ever shown in a message. Inclusion criteria
are applied in order and each step's count is kept for the flow table, split into
rows excluded for a missing value and rows that fail the criterion. Derived values
are held to their variable's declared range and codes, like collected ones, and
every derived value left missing or substituted (a censored lab value given a
number) is counted with why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis import derive_kinds
from analysis.clinical import ckd_epi_2021_egfr, mdrd_egfr
from analysis.derive_check import derivation_sources
from analysis.errors import DataError
from analysis.identifiers import is_identifier_header
from analysis.study import Study, Variable

__all__ = [
    "DerivedCohort",
    "DerivedValueProblem",
    "apply_inclusion",
    "apply_where",
    "derive_cohort",
    "derive_cohort_traced",
    "derive_variables",
    "derived_made_missing",
    "derived_substituted",
    "derived_value_problems",
    "drop_identifiers",
    "is_identifier",
]


# Common direct-identifier column names (English and Korean), dropped even if the
# study file forgets to flag them: names, record and registration numbers, dates of
# birth, phone numbers, addresses, e-mail.
def _cut(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    x = pd.to_numeric(frame[spec["source"]], errors="coerce").to_numpy(float)
    bins = np.searchsorted(np.asarray(spec["breaks"], float), x, side="right")
    codes = np.asarray(var.levels, dtype=object)[bins]
    return pd.Series(np.where(np.isnan(x), np.nan, codes), index=frame.index).infer_objects()


def _ratio(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    num = pd.to_numeric(frame[spec["numerator"]], errors="coerce")
    den = pd.to_numeric(frame[spec["denominator"]], errors="coerce")
    return num / den.where(den != 0)


def _bmi(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    height_m = pd.to_numeric(frame[spec["height_cm"]], errors="coerce") / 100.0
    return pd.to_numeric(frame[spec["weight"]], errors="coerce") / height_m**2


def _egfr(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    equation = EGFR_EQUATIONS[spec["kind"]]
    female = (frame[spec["sex"]] == spec["female_code"]).to_numpy()
    egfr = equation(
        pd.to_numeric(frame[spec["creatinine"]], errors="coerce").to_numpy(float),
        pd.to_numeric(frame[spec["age"]], errors="coerce").to_numpy(float),
        female,
    )
    egfr[frame[spec["sex"]].isna().to_numpy()] = np.nan
    return pd.Series(egfr, index=frame.index)


def _ckd_group(frame: pd.DataFrame, var: Variable, spec: dict[str, Any], study: Study) -> pd.Series:
    egfr = pd.to_numeric(frame[spec["egfr"]], errors="coerce").to_numpy(float)
    dialysis = frame[spec["dialysis"]]
    on = (dialysis.notna() & (dialysis != spec["not_on_dialysis_code"])).to_numpy()
    out = np.full(len(frame), np.nan)
    for band in spec["bands"]:
        inside = (egfr >= band["egfr_min"]) & (egfr < band["egfr_max"]) & ~on
        out[inside] = band["code"]
    out[on] = spec["dialysis_code"]
    out[dialysis.isna().to_numpy()] = np.nan
    return pd.Series(out, index=frame.index)


EGFR_EQUATIONS = {"mdrd_egfr": mdrd_egfr, "ckd_epi_2021_egfr": ckd_epi_2021_egfr}
_KINDS = {
    "cut": _cut,
    "ratio": _ratio,
    "bmi": _bmi,
    "mdrd_egfr": _egfr,
    "ckd_epi_2021_egfr": _egfr,
    "ckd_group": _ckd_group,
    **derive_kinds.KINDS,
}


def derive_variables(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Add (or recompute) every derived variable, in study-file order.

    ``frame`` is left as it was: the shallow copy shares its columns, and copy-on-write
    gives an assigned column new memory (no full-frame copy of the input).
    """
    out = frame.copy(deep=False)
    for var in study.derived:
        spec = var.derive or {}
        missing = [v for v in derivation_sources(spec) if v not in out.columns]
        if missing:
            raise DataError(
                f"column '{missing[0]}' is needed to derive '{var.name}' but is not in the data"
            )
        out[var.name] = _KINDS[spec["kind"]](out, var, spec, study)
    return out


def apply_where(frame: pd.DataFrame, where: dict[str, Any] | None) -> pd.DataFrame:
    """Rows matching a study-file ``where`` mapping (variable -> code or list of codes)."""
    if not where:
        return frame
    mask = pd.Series(True, index=frame.index)
    for name, values in where.items():
        mask &= frame[name].isin(values if isinstance(values, list) else [values])
    return frame.loc[mask]


def is_identifier(study: Study, column: str) -> bool:
    """Flagged in the study file, or a header of the one list in analysis.identifiers."""
    var = study.variables.get(column)
    return bool(var and var.identifier) or is_identifier_header(column)


def drop_identifiers(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if is_identifier(study, c)])


def _condition(frame: pd.DataFrame, cond: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """(met, undecided): a criterion on a missing value is never met, and says so."""
    col = frame[cond["variable"]]
    missing = col.isna()
    op, value = cond["op"], cond.get("value")
    if op == "notnull":
        return ~missing, missing
    if op == "in":
        met = col.isin(value if isinstance(value, list) else [value])
    else:
        compare = {
            "lt": col.lt,
            "le": col.le,
            "gt": col.gt,
            "ge": col.ge,
            "eq": col.eq,
            "ne": col.ne,
        }[op]
        met = compare(value).fillna(False).astype(bool)
    # a missing value does not meet "ne" either: it is excluded as missing, not let through
    return met & ~missing, missing


def apply_inclusion(
    derived: pd.DataFrame, study: Study
) -> tuple[pd.DataFrame, list[dict[str, Any]], np.ndarray]:
    """The included rows, the flow table, and each kept row's position in ``derived``.

    Every step splits its exclusions: ``excluded_value_missing`` (a criterion could not
    be decided because a variable it reads is missing; ``missing_variables`` counts
    them per variable) and ``excluded_not_met`` (the values are there and fail).
    """
    data = derived
    positions = np.arange(len(derived))
    flow: list[dict[str, Any]] = [
        {"step": 0, "label": "Records in the input", "n": len(data), "excluded": 0,
         "excluded_value_missing": 0, "excluded_not_met": 0, "missing_variables": {}}
    ]  # fmt: skip
    for i, crit in enumerate(study.inclusion, start=1):
        conds = crit.get("all", crit.get("any", []))
        results = [_condition(data, c) for c in conds]
        combine = np.logical_and if "all" in crit else np.logical_or
        mask = results[0][0].to_numpy(bool)
        for met, _ in results[1:]:
            mask = combine(mask, met.to_numpy(bool))
        excluded = ~mask
        # excluded for a missing value: some condition failed only because its variable
        # is missing (with the value there the criterion might have been met)
        undecided = [(c["variable"], (~met & miss).to_numpy(bool)) for c, (met, miss)
                     in zip(conds, results, strict=True)]  # fmt: skip
        by_missing = np.zeros(len(data), bool)
        missing_variables: dict[str, int] = {}
        for name, rows in undecided:
            hit = rows & excluded
            by_missing |= hit
            if hit.any():
                missing_variables[name] = missing_variables.get(name, 0) + int(hit.sum())
        n_missing = int(by_missing.sum())
        n_excluded = int(excluded.sum())
        if n_excluded:  # a step that keeps every row copies nothing
            data = data.loc[mask]
            positions = positions[mask]
        flow.append({
            "step": i, "label": crit["label"], "n": len(data), "excluded": n_excluded,
            "excluded_value_missing": n_missing, "excluded_not_met": n_excluded - n_missing,
            "missing_variables": missing_variables,
        })  # fmt: skip
    keep = [name for name in study.variables if name in data.columns]
    return data[keep].reset_index(drop=True), flow, positions


def _sources(var: Variable) -> list[str]:
    return derivation_sources(var.derive or {})


def _show(study: Study, name: str, value: Any) -> str:
    """``weight 25 kg`` / ``sex 2 (Female)`` / ``height missing``: a source as a user reads it.

    An identifier's value (a date of birth) is never shown.
    """
    if is_identifier(study, name):
        return f"{name} (identifier, not shown)"
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"{name} missing"
    var = study.variables.get(name)
    if isinstance(value, float | np.floating):
        value = f"{float(value):.4g}"
    text = f"{name} {value}"
    if var is not None and var.unit:
        text += f" {var.unit}"
    if var is not None and var.codes:
        label = var.codes.get(value) if not isinstance(value, str) else None
        if label is None:
            try:
                label = var.codes.get(int(float(value)))
            except (TypeError, ValueError):
                label = None
        if label is not None:
            text += f" ({label})"
    return text


@dataclass(frozen=True)
class DerivedValueProblem:
    """A derived value outside its variable's declared range or codes."""

    variable: str
    position: int  # 0-based position in the input frame
    value: Any
    sources: str  # e.g. "weight 25 kg, height 168 cm"
    message: str

    @property
    def row(self) -> int:
        """1-based data row of the input (the header is row 0)."""
        return self.position + 1

    @property
    def description(self) -> str:
        """``derived bmi 8.858 from weight 25 kg, height 168 cm is outside ...``."""
        value = _fmt(self.value)
        return f"derived {self.variable} {value} from {self.sources} is {self.message}"

    def line(self) -> str:
        """One line naming row, variable, value and the sources it came from."""
        return f"row {self.row}, column '{self.variable}', value {_fmt(self.value)}: " + (
            self.description
        )


def _fmt(value: Any) -> str:
    return f"{float(value):.4g}" if isinstance(value, float | np.floating) else str(value)


def derived_value_problems(derived: pd.DataFrame, study: Study) -> list[DerivedValueProblem]:
    """Derived values held to the same range and codes as collected ones (all input rows)."""
    problems: list[DerivedValueProblem] = []
    for var in study.derived:
        if var.name not in derived.columns:
            continue
        values = derived[var.name]
        present = values.notna().to_numpy()
        if var.codes:
            bad = present & ~values.isin(list(var.codes)).to_numpy()
            allowed = ", ".join(f"{k}={v}" for k, v in var.codes.items())
            message = f"not a declared code ({allowed})"
        elif var.range is not None:
            x = pd.to_numeric(values, errors="coerce").to_numpy(float)
            lo, hi = var.range
            with np.errstate(invalid="ignore"):
                bad = present & ~((x >= lo) & (x <= hi))
            unit = f" {var.unit}" if var.unit else ""
            message = f"outside the plausible range {lo:g}-{hi:g}{unit}"
        else:
            continue
        for pos in np.flatnonzero(bad):
            value = values.iloc[pos]
            value = value.item() if isinstance(value, np.generic) else value
            sources = ", ".join(_show(study, s, derived[s].iloc[pos]) for s in _sources(var))
            problems.append(DerivedValueProblem(var.name, int(pos), value, sources, message))
    return problems


def _traces(derived: pd.DataFrame, study: Study) -> dict[str, derive_kinds.Trace]:
    """What each general derivation left missing and substituted (computed once per run)."""
    return {
        var.name: derive_kinds.trace(derived, var, study)
        for var in study.derived
        if var.name in derived.columns and (var.derive or {}).get("kind") in derive_kinds.KINDS
    }


def derived_made_missing(
    derived: pd.DataFrame, study: Study, traces: dict[str, derive_kinds.Trace] | None = None
) -> list[dict[str, Any]]:
    """Derived values left missing, counted with why (over every input row).

    ``[{column, reason, count, first_row}]`` as the readers' ``made_missing`` list;
    ``first_row`` is the 1-based data row of the input.
    """
    out: list[dict[str, Any]] = []
    for var in study.derived:
        if var.name not in derived.columns:
            continue
        spec = var.derive or {}
        if spec.get("kind") in derive_kinds.KINDS:
            traced = traces.get(var.name) if traces else None
            out += (traced or derive_kinds.trace(derived, var, study)).made_missing
            continue
        sources = [s for s in _sources(var) if s in derived.columns]
        gone = derived[var.name].isna().to_numpy()
        source_missing = derived[sources].isna().any(axis=1).to_numpy() if sources else gone & False
        kind = spec.get("kind")
        # ckd_group: dialysis status decides alone for patients on dialysis
        if kind == "ckd_group":
            source_missing = derived[spec["dialysis"]].isna().to_numpy() | (
                derived[spec["egfr"]].isna().to_numpy()
            )
        groups = [(gone & source_missing,
                   f"{' or '.join(sources)} missing (derived value missing)")]  # fmt: skip
        rest = gone & ~source_missing
        if kind == "ratio":
            groups.append((rest, f"{spec['denominator']} is zero (derived value missing)"))
        elif kind == "ckd_group":
            groups.append((rest, f"{spec['egfr']} in no declared band and not on dialysis "
                                 "(derived value missing)"))  # fmt: skip
        else:
            groups.append((rest, "cannot be computed from its sources (derived value missing)"))
        for rows, reason in groups:
            if rows.any():
                out.append({"column": var.name, "reason": reason, "count": int(rows.sum()),
                            "first_row": int(np.flatnonzero(rows)[0]) + 1})  # fmt: skip
    return out


def derived_substituted(
    derived: pd.DataFrame, study: Study, traces: dict[str, derive_kinds.Trace] | None = None
) -> list[dict[str, Any]]:
    """Derived values set by a declared rule rather than read as they are, counted with why.

    A censored lab value given a number (``'<0.1'`` -> 0.05 under ``below:
    half_limit``) and a row that more than one ``combine`` case matched (the first
    case's code is used). Same ``[{column, reason, count, first_row}]`` form as
    :func:`derived_made_missing`.
    """
    traces = _traces(derived, study) if traces is None else traces
    return [entry for trace in traces.values() for entry in trace.substituted]


class DerivedCohort(NamedTuple):
    """The cohort, its flow table, every value made missing and every value substituted."""

    cohort: pd.DataFrame
    flow: list[dict[str, Any]]
    made_missing: list[dict[str, Any]]
    substituted: list[dict[str, Any]]


def derive_cohort_traced(frame: pd.DataFrame, study: Study) -> DerivedCohort:
    """Derive and include, refusing derived values outside their range or codes.

    ``made_missing`` is the readers' list (``frame.attrs["made_missing"]``, if any)
    followed by the derive step's own (derived values left missing, with why);
    ``substituted`` is :func:`derived_substituted`. Identifiers are dropped after the
    derivations (age_at may read a date of birth) and before anything else.
    """
    readers = list(frame.attrs.get("made_missing", []))
    data = derive_variables(frame.reset_index(drop=True), study)
    problems = derived_value_problems(data, study)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(f"{problems[0].line()}{more}")
    traces = _traces(data, study)
    made_missing = readers + derived_made_missing(data, study, traces)
    substituted = derived_substituted(data, study, traces)
    cohort, flow, _ = apply_inclusion(drop_identifiers(data, study), study)
    return DerivedCohort(cohort, flow, made_missing, substituted)


def derive_cohort(frame: pd.DataFrame, study: Study) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The analysis cohort and its flow table (see :func:`derive_cohort_traced`)."""
    derived = derive_cohort_traced(frame, study)
    return derived.cohort, derived.flow
