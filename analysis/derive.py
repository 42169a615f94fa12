"""Cohort derivation: drop identifiers, compute derived variables, apply inclusion.

What is derived and how is declared in the study file (``derive:`` on a
variable); this module only knows the kinds of derivation. Inclusion criteria
are applied in order and each step's count is kept for the flow table.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from analysis.clinical import ckd_epi_2021_egfr, mdrd_egfr
from analysis.errors import DataError
from analysis.study import Study, Variable

__all__ = [
    "IDENTIFIER_PATTERN",
    "apply_where",
    "derive_cohort",
    "derive_variables",
    "drop_identifiers",
    "is_identifier",
]

# Common direct-identifier column names (English and Korean), dropped even if the
# study file forgets to flag them: names, record and registration numbers, dates of
# birth, phone numbers, addresses, e-mail.
IDENTIFIER_PATTERN = re.compile(
    r"(^|_)(name|surname|mrn|patient_?(id|no|number)|hospital_?(id|no|number)|rrn|ssn|"
    r"resident_?(registration)?_?(no|number)|birth_?date|date_?of_?birth|dob|phone|"
    r"mobile|tel|address|e_?mail)($|_)"
    r"|이름|성명|환자\s*번호|등록\s*번호|주민|생년월일|전화|연락처|주소|이메일",
    re.IGNORECASE,
)


def _cut(frame: pd.DataFrame, var: Variable, spec: dict[str, Any]) -> pd.Series:
    x = pd.to_numeric(frame[spec["source"]], errors="coerce").to_numpy(float)
    bins = np.searchsorted(np.asarray(spec["breaks"], float), x, side="right")
    codes = np.asarray(var.levels, dtype=object)[bins]
    return pd.Series(np.where(np.isnan(x), np.nan, codes), index=frame.index).infer_objects()


def _ratio(frame: pd.DataFrame, var: Variable, spec: dict[str, Any]) -> pd.Series:
    num = pd.to_numeric(frame[spec["numerator"]], errors="coerce")
    den = pd.to_numeric(frame[spec["denominator"]], errors="coerce")
    return num / den.where(den != 0)


def _bmi(frame: pd.DataFrame, var: Variable, spec: dict[str, Any]) -> pd.Series:
    height_m = pd.to_numeric(frame[spec["height_cm"]], errors="coerce") / 100.0
    return pd.to_numeric(frame[spec["weight"]], errors="coerce") / height_m**2


def _egfr(frame: pd.DataFrame, var: Variable, spec: dict[str, Any]) -> pd.Series:
    equation = EGFR_EQUATIONS[spec["kind"]]
    female = (frame[spec["sex"]] == spec["female_code"]).to_numpy()
    egfr = equation(
        pd.to_numeric(frame[spec["creatinine"]], errors="coerce").to_numpy(float),
        pd.to_numeric(frame[spec["age"]], errors="coerce").to_numpy(float),
        female,
    )
    egfr[frame[spec["sex"]].isna().to_numpy()] = np.nan
    return pd.Series(egfr, index=frame.index)


def _ckd_group(frame: pd.DataFrame, var: Variable, spec: dict[str, Any]) -> pd.Series:
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
}


def derive_variables(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Add (or recompute) every derived variable, in study-file order."""
    out = frame.copy()
    for var in study.derived:
        spec = var.derive or {}
        missing = [
            v
            for k, v in spec.items()
            if isinstance(v, str) and k != "kind" and v not in out.columns
        ]
        if missing:
            raise DataError(
                f"column '{missing[0]}' is needed to derive '{var.name}' but is not in the data"
            )
        out[var.name] = _KINDS[spec["kind"]](out, var, spec)
    return out


def _condition(frame: pd.DataFrame, cond: dict[str, Any]) -> pd.Series:
    col = frame[cond["variable"]]
    op, value = cond["op"], cond.get("value")
    if op == "notnull":
        return col.notna()
    if op == "in":
        return col.isin(value if isinstance(value, list) else [value])
    compare = {
        "lt": col.lt,
        "le": col.le,
        "gt": col.gt,
        "ge": col.ge,
        "eq": col.eq,
        "ne": col.ne,
    }[op]
    return compare(value).fillna(False)


def apply_where(frame: pd.DataFrame, where: dict[str, Any] | None) -> pd.DataFrame:
    """Rows matching a study-file ``where`` mapping (variable -> code or list of codes)."""
    if not where:
        return frame
    mask = pd.Series(True, index=frame.index)
    for name, values in where.items():
        mask &= frame[name].isin(values if isinstance(values, list) else [values])
    return frame.loc[mask]


def is_identifier(study: Study, column: str) -> bool:
    """Flagged in the study file, or named like a direct identifier."""
    var = study.variables.get(column)
    return bool(var and var.identifier) or bool(IDENTIFIER_PATTERN.search(str(column)))


def drop_identifiers(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if is_identifier(study, c)])


def derive_cohort(frame: pd.DataFrame, study: Study) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The analysis cohort and its flow table [{step, label, n, excluded}]."""
    data = derive_variables(drop_identifiers(frame, study), study)
    flow = [{"step": 0, "label": "Records in the input", "n": len(data), "excluded": 0}]
    for i, crit in enumerate(study.inclusion, start=1):
        conds = [_condition(data, c) for c in crit.get("all", crit.get("any", []))]
        combine = np.logical_and if "all" in crit else np.logical_or
        mask = conds[0]
        for c in conds[1:]:
            mask = combine(mask, c)
        before = len(data)
        data = data.loc[mask.to_numpy(bool)]
        flow.append(
            {"step": i, "label": crit["label"], "n": len(data), "excluded": before - len(data)}
        )
    keep = [name for name in study.variables if name in data.columns]
    return data[keep].reset_index(drop=True), flow
