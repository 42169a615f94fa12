"""Check a dataset against its study file, reporting every problem in one pass.

Each rule is one vectorised pass over a column; a rule lists at most
``MAX_ROWS_PER_RULE`` offending rows and counts the rest, so a ten-million-row
file with a systematic error gives a short, readable report. Errors stop the
run; warnings go into the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.clinical import mdrd_egfr
from analysis.study import Study, Variable

__all__ = ["Problem", "ValidationReport", "validate_frame"]

MAX_ROWS_PER_RULE = 20


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" | "warning"
    column: str | None
    row: int | None  # 1-based data row (the header is row 0)
    value: Any
    rule: str
    message: str


@dataclass
class ValidationReport:
    source: str
    n_rows: int
    problems: list[Problem] = field(default_factory=list)
    truncated: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def line(self, p: Problem) -> str:
        parts = [self.source]
        if p.column is not None:
            parts.append(f"column '{p.column}'")
        if p.row is not None:
            parts.append(f"row {p.row}")
        if p.value is not None:
            parts.append(f"value {p.value!r}")
        return f"{', '.join(parts)}: {p.message} [{p.rule}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "n_rows": self.n_rows,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "problems": [asdict(p) for p in self.problems],
            "more_rows_not_listed": self.truncated,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


class _Checker:
    def __init__(self, frame: pd.DataFrame, study: Study, source: str):
        self.frame = frame
        self.study = study
        self.report = ValidationReport(source=source, n_rows=len(frame))
        self.numeric: dict[str, pd.Series] = {}

    def add(
        self, severity: str, column: str | None, mask: np.ndarray | None, rule: str, message: str
    ) -> None:
        if mask is None:
            self.report.problems.append(Problem(severity, column, None, None, rule, message))
            return
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return
        values = self.frame[column].to_numpy() if column in self.frame else None
        for r in rows[:MAX_ROWS_PER_RULE]:
            value = _plain(values[r]) if values is not None else None
            self.report.problems.append(Problem(severity, column, int(r) + 1, value, rule, message))
        if rows.size > MAX_ROWS_PER_RULE:
            self.report.truncated[f"{column}:{rule}"] = int(rows.size - MAX_ROWS_PER_RULE)

    def columns(self) -> None:
        for var in self.study.variables.values():
            if var.derive or var.identifier:
                continue
            if var.name not in self.frame.columns:
                self.add(
                    "error",
                    var.name,
                    None,
                    "required_column",
                    f"required column '{var.name}' ({var.label}) is missing",
                )

    def types_codes_ranges(self) -> None:
        for var in self.study.variables.values():
            if var.name not in self.frame.columns or var.identifier:
                continue
            col = self.frame[var.name]
            if var.type == "continuous" or (var.codes and _numeric_codes(var)):
                num = pd.to_numeric(col, errors="coerce")
                bad = (num.isna() & col.notna()).to_numpy()
                self.add("error", var.name, bad, "numeric", "not a number")
                self.numeric[var.name] = num
                col = num
            present = col.notna().to_numpy()
            if var.codes:
                bad = present & ~col.isin(list(var.codes)).to_numpy()
                allowed = ", ".join(f"{k}={v}" for k, v in var.codes.items())
                self.add(
                    "error", var.name, bad, "allowed_codes", f"not an allowed code ({allowed})"
                )
            if var.range and var.type == "continuous":
                lo, hi = var.range
                bad = present & ((col < lo) | (col > hi)).to_numpy()
                self.add(
                    "error",
                    var.name,
                    bad,
                    "plausible_range",
                    f"outside the plausible range {lo}-{hi}{_unit(var)}",
                )
            if col.notna().sum() == 0:
                self.add("warning", var.name, None, "all_missing", "every value is missing")

    def only_if(self) -> None:
        for var in self.study.variables.values():
            if not var.only_if or var.name not in self.frame.columns:
                continue
            ((ref, codes),) = var.only_if.items()
            if ref not in self.frame.columns:
                continue
            allowed = self.frame[ref].isin(codes).to_numpy()
            filled = self.frame[var.name].notna().to_numpy()
            self.add(
                "error",
                var.name,
                filled & ~allowed,
                "only_if",
                f"filled although {ref} is not {'/'.join(map(str, codes))}",
            )

    def duplicates(self) -> None:
        sid = self.study.subject_id
        if sid and sid in self.frame.columns:
            dup = self.frame[sid].duplicated(keep="first").to_numpy()
            self.add("error", sid, dup, "duplicate_id", "subject identifier appears twice")

    def consistency(self) -> None:
        """Derived columns supplied in the data must agree with their sources."""
        num = self.numeric
        for var in self.study.derived:
            spec = var.derive or {}
            if var.name not in num:
                continue
            given = num[var.name].to_numpy(float)
            if spec["kind"] == "ratio" and {spec["numerator"], spec["denominator"]} <= num.keys():
                den = num[spec["denominator"]].to_numpy(float)
                zero = den == 0
                self.add(
                    "error",
                    spec["denominator"],
                    zero,
                    "zero_denominator",
                    f"zero, so {var.name} cannot be derived",
                )
                with np.errstate(divide="ignore", invalid="ignore"):
                    expect = num[spec["numerator"]].to_numpy(float) / den
                bad = ~zero & ~np.isnan(given) & ~np.isclose(given, expect, rtol=1e-3, atol=0.01)
                self.add(
                    "error",
                    var.name,
                    bad,
                    "derived_consistency",
                    f"does not equal {spec['numerator']} / {spec['denominator']}",
                )
            elif spec["kind"] == "bmi" and {spec["weight"], spec["height_cm"]} <= num.keys():
                expect = (
                    num[spec["weight"]].to_numpy(float)
                    / (num[spec["height_cm"]].to_numpy(float) / 100) ** 2
                )
                bad = ~np.isnan(given) & ~np.isclose(given, expect, rtol=0, atol=0.05)
                self.add(
                    "warning",
                    var.name,
                    bad,
                    "derived_consistency",
                    "does not equal weight / height^2",
                )
            elif spec["kind"] == "mdrd_egfr" and {spec["creatinine"], spec["age"]} <= num.keys():
                female = (self.frame[spec["sex"]] == spec["female_code"]).to_numpy()
                expect = mdrd_egfr(
                    num[spec["creatinine"]].to_numpy(float),
                    num[spec["age"]].to_numpy(float),
                    female,
                )
                bad = ~np.isnan(given) & ~np.isclose(given, expect, rtol=0.02, atol=0.5)
                self.add(
                    "warning",
                    var.name,
                    bad,
                    "derived_consistency",
                    "differs from MDRD eGFR recomputed from creatinine, age and sex",
                )
            elif spec["kind"] == "ckd_group" and spec["egfr"] in num:
                self._ckd_band(var, spec)

    def _ckd_band(self, var: Variable, spec: dict[str, Any]) -> None:
        egfr = self.numeric[spec["egfr"]].to_numpy(float)
        group = self.frame[var.name].to_numpy()
        for band in spec["bands"]:
            in_group = group == band["code"]
            outside = (
                in_group
                & ~np.isnan(egfr)
                & ((egfr < band["egfr_min"]) | (egfr >= band["egfr_max"]))
            )
            self.add(
                "error",
                spec["egfr"],
                outside,
                "egfr_band",
                f"eGFR outside {band['egfr_min']}-{band['egfr_max']} for "
                f"{var.name} = {band['code']} ({var.codes.get(band['code'], '')})",
            )


def _numeric_codes(var: Variable) -> bool:
    return all(isinstance(k, int | float) for k in var.codes)


def _unit(var: Variable) -> str:
    return f" {var.unit}" if var.unit else ""


def validate_frame(frame: pd.DataFrame, study: Study, source: str = "data") -> ValidationReport:
    """Every problem of ``frame`` against ``study``, in one pass per rule."""
    checker = _Checker(frame, study, source)
    checker.columns()
    checker.types_codes_ranges()
    checker.only_if()
    checker.duplicates()
    checker.consistency()
    if len(frame) == 0:
        checker.add("error", None, None, "empty", "no data rows")
    return checker.report
