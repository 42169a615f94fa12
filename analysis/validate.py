"""Check a dataset against its study file, reporting every problem in one pass.

The rules are a pandera schema built from the study file: types, allowed
codes, plausible ranges and unique subject IDs per column, and frame-wide
checks for the rules that span columns (``only_if`` fields, derived values
that disagree with their sources, eGFR outside its CKD group's band).
pandera's lazy mode collects every failure; this module only turns them into
one line each (file, column, row, value, rule) and caps each rule at
``MAX_ROWS_PER_RULE`` listed rows. Errors stop the run; warnings go into the
report. The row-wise rules run ``CHUNK_ROWS`` rows at a time (bounded memory at
10^7 rows); the dataset-wide ones (unique IDs, the output checks) on the whole frame,
and the report is the same as one pass's.

It then derives the cohort as ``derive`` will (every input row: derived values
outside their declared range or codes are errors naming the sources), applies the
inclusion criteria, and asks each table and model what those included rows would
do to it (:func:`analysis.tables.table_issues`, :func:`analysis.models.model_issues`):
an output that cannot be produced is an error here, not a crash later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.derive import (
    EGFR_EQUATIONS,
    apply_inclusion,
    derive_variables,
    derived_value_problems,
    drop_identifiers,
    is_identifier,
)
from analysis.derive_check import derivation_sources
from analysis.errors import AnalysisError
from analysis.models import model_issues
from analysis.names import did_you_mean
from analysis.study import Study, Variable
from analysis.tables import table_issues

__all__ = ["Problem", "ValidationReport", "validate_frame"]

MAX_ROWS_PER_RULE = 20
#: Rows per chunk for the row-wise rules: bounds their temporaries (pandera's check
#: results, per-rule boolean and float columns) whatever the number of rows.
CHUNK_ROWS = 250_000
# Factors by which a value outside its range may be in the wrong unit
# (g/L vs g/dL, umol/L vs mg/dL, g vs mg, m vs cm).
UNIT_FACTORS = (10.0, 88.4, 1000.0, 100.0)


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
    # values the readers or the mapping turned into missing (``frame.attrs``), as given
    made_missing: list[dict[str, Any]] = field(default_factory=list)
    # missing values per study variable present in the data
    missing_by_column: dict[str, int] = field(default_factory=dict)
    # rows the tables and models will see (after the inclusion criteria); None if not derived
    n_included: int | None = None
    # values of labelled SPSS/Stata columns recoded or kept by label (``frame.attrs``)
    value_labels: list[dict[str, Any]] = field(default_factory=list)
    # columns dropped on reading because their header is a listed identifier
    identifiers_dropped: list[str] = field(default_factory=list)
    # the data file's name of each column a mapping renamed (study name -> file name)
    file_columns: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def line(self, p: Problem) -> str:
        parts = [self.source]
        if p.column is not None:
            in_file = self.file_columns.get(p.column)
            parts.append(
                f"column '{p.column}'" + (f" (column '{in_file}' in the file)" if in_file else "")
            )
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
            "made_missing": self.made_missing,
            "missing_by_column": self.missing_by_column,
            "n_included": self.n_included,
            "value_labels": self.value_labels,
            "identifiers_dropped": self.identifiers_dropped,
        }


@dataclass(frozen=True)
class _Rule:
    """A frame-wide check: ``fails(frame)`` is True on the offending rows of ``column``."""

    column: str
    rule: str
    message: str
    severity: str
    fails: Callable[[pd.DataFrame], pd.Series]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _numeric_codes(var: Variable) -> bool:
    return bool(var.codes) and all(isinstance(k, int | float) for k in var.codes)


def _is_numeric(var: Variable) -> bool:
    return var.type == "continuous" or _numeric_codes(var)


def _unit_hint(var: Variable, value: Any) -> str:
    if var.range is None or not isinstance(value, int | float):
        return ""
    lo, hi = var.range
    for factor in UNIT_FACTORS:
        for candidate, how in ((value / factor, "divided"), (value * factor, "multiplied")):
            if lo <= candidate <= hi and candidate != value:
                return f"; {how} by {factor:g} it would fit: a unit error?"
    return ""


def _column_schema(study: Study, present: set[str], unique: bool = True) -> pa.DataFrameSchema:
    """The per-column rules; ``unique=False`` leaves out the subject-ID uniqueness rule
    (dataset-wide, so checked once on the whole column rather than per chunk)."""
    columns = {}
    for var in study.variables.values():
        if var.name not in present:
            continue
        checks = []
        if var.codes:
            checks.append(pa.Check.isin(list(var.codes), error="allowed_codes"))
        if var.range and var.type == "continuous":
            checks.append(pa.Check.in_range(*var.range, error="plausible_range"))
        is_id = unique and var.name == study.subject_id
        columns[var.name] = pa.Column(checks=checks, nullable=True, unique=is_id, required=False)
    return pa.DataFrameSchema(columns)


def _cross_rules(study: Study, present: set[str]) -> list[_Rule]:
    """Rules that read several columns, from ``only_if`` and ``derive`` declarations."""
    rules: list[_Rule] = []
    for var in study.variables.values():
        if var.only_if and var.name in present:
            ((ref, codes),) = var.only_if.items()
            if ref in present:
                rules.append(_Rule(
                    var.name, "only_if",
                    f"filled although {ref} is not {'/'.join(map(str, codes))}", "error",
                    lambda f, v=var.name, r=ref, c=codes: f[v].notna() & ~f[r].isin(c),
                ))  # fmt: skip
        spec = var.derive or {}
        sources = derivation_sources(spec)
        if var.name not in present or not set(sources) <= present:
            continue
        kind = spec.get("kind")
        if kind == "ratio":
            num, den = spec["numerator"], spec["denominator"]
            rules.append(_Rule(den, "zero_denominator", f"zero, so {var.name} cannot be derived",
                               "error", lambda f, d=den: f[d] == 0))  # fmt: skip
            rules.append(_Rule(
                var.name, "derived_consistency", f"does not equal {num} / {den}", "error",
                lambda f, v=var.name, n=num, d=den: _differs(f[v], f[n] / f[d].where(f[d] != 0),
                                                            rtol=1e-3, atol=0.01),
            ))  # fmt: skip
        elif kind == "bmi":
            w, h = spec["weight"], spec["height_cm"]
            rules.append(_Rule(
                var.name, "derived_consistency", "does not equal weight / height^2", "warning",
                lambda f, v=var.name, w=w, h=h: _differs(f[v], f[w] / (f[h] / 100) ** 2,
                                                        rtol=0, atol=0.05),
            ))  # fmt: skip
        elif kind in EGFR_EQUATIONS:
            rules.append(_Rule(
                var.name, "derived_consistency",
                f"differs from {kind.removesuffix('_egfr')} eGFR recomputed from creatinine, "
                "age and sex", "warning",
                lambda f, v=var.name, s=spec: _differs(f[v], pd.Series(
                    EGFR_EQUATIONS[s["kind"]](f[s["creatinine"]], f[s["age"]],
                                              f[s["sex"]] == s["female_code"]),
                    index=f.index), rtol=0.02, atol=0.5),
            ))  # fmt: skip
        elif kind == "ckd_group":
            egfr = spec["egfr"]
            for band in spec["bands"]:
                label = var.codes.get(band["code"], "")
                rules.append(_Rule(
                    egfr, "egfr_band",
                    f"eGFR outside {band['egfr_min']}-{band['egfr_max']} for "
                    f"{var.name} = {band['code']} ({label})", "error",
                    lambda f, v=var.name, e=egfr, b=band: (f[v] == b["code"]) & f[e].notna() & (
                        (f[e] < b["egfr_min"]) | (f[e] >= b["egfr_max"])),
                ))  # fmt: skip
    return rules


def _differs(given: pd.Series, expected: pd.Series, rtol: float, atol: float) -> pd.Series:
    close = np.isclose(given.to_numpy(float), expected.to_numpy(float), rtol=rtol, atol=atol)
    return given.notna() & expected.notna() & ~pd.Series(close, index=given.index)


class _Collector:
    def __init__(self, frame: pd.DataFrame, study: Study, source: str):
        self.frame = frame
        self.study = study
        self.report = ValidationReport(source=source, n_rows=len(frame))

    def add_rows(self, severity: str, column: str | None, rows: np.ndarray, rule: str,
                 message: str, values: pd.Series | None = None) -> None:  # fmt: skip
        rows = np.unique(rows)
        source = values if values is not None else self.frame.get(column)
        if column is not None and is_identifier(self.study, column):
            source = None  # the row number locates it; identifier values never leave
        var = self.study.variables.get(column) if column else None
        for r in rows[:MAX_ROWS_PER_RULE]:
            value = _plain(source.iloc[r]) if source is not None else None
            hint = _unit_hint(var, value) if var and rule == "plausible_range" else ""
            self.report.problems.append(
                Problem(severity, column, int(r) + 1, value, rule, message + hint)
            )
        if rows.size > MAX_ROWS_PER_RULE:
            key = f"{column}:{rule}"
            self.report.truncated[key] = self.report.truncated.get(key, 0) + int(
                rows.size - MAX_ROWS_PER_RULE
            )

    def add(self, severity: str, column: str | None, rule: str, message: str) -> None:
        self.report.problems.append(Problem(severity, column, None, None, rule, message))


def _required_columns(c: _Collector) -> None:
    others = [str(n) for n in c.frame.columns if n not in c.study.variables]
    for var in c.study.variables.values():
        if not (var.derive or var.identifier) and var.name not in c.frame.columns:
            close = did_you_mean(var.name, others)
            hint = f" (did you mean '{close}'? rename it in the mapping file)" if close else ""
            c.add("error", var.name, "required_column",
                  f"required column '{var.name}' ({var.label}) is missing{hint}")  # fmt: skip


def _coerce_numbers(c: _Collector, present: set[str]) -> pd.DataFrame:
    """Numeric columns as floats; text that is not a number is an error (and then missing)."""
    # A shallow copy: copy-on-write keeps the caller's columns apart, and only the
    # coerced columns get new memory (no full-frame copy).
    data = c.frame.copy(deep=False)
    for var in c.study.variables.values():
        if var.name not in present or not _is_numeric(var) or var.identifier:
            continue
        raw = data[var.name]
        if raw.dtype == np.float64:
            number = raw  # already floats: kept as they are, no copy of the column
        else:
            number = pd.to_numeric(raw, errors="coerce")
            bad = np.flatnonzero((number.isna() & raw.notna()).to_numpy())
            if bad.size:
                c.add_rows("error", var.name, bad, "numeric", "not a number", values=raw)
        # inf, -inf and overflowing text such as 1e400 are numbers to pandas but not
        # measurements; left in, they would break the tests and models downstream.
        infinite = np.flatnonzero(np.isinf(number.to_numpy(dtype=float, na_value=np.nan)))
        if infinite.size:
            c.add_rows("error", var.name, infinite, "finite", "not a finite number", values=raw)
            number = number.mask(np.isinf(number.astype(float)))
        data[var.name] = number.astype(float)
    return data


def _schema_failures(
    data: pd.DataFrame, schema: pa.DataFrameSchema
) -> list[tuple[str, str, np.ndarray]]:
    """(column, check, rows) of every failed schema rule on ``data``, in pandera's order.

    ``rows`` are ``data``'s index labels (global row positions: ``data`` is a slice of a
    frame with a RangeIndex). ``inplace=True``: pandera would otherwise copy the frame.
    """
    try:
        schema.validate(data, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return [
            (column, check, part["index"].dropna().astype(int).to_numpy())
            for (column, check), part in cases.groupby(["column", "check"], sort=False)
        ]
    return []


def _run_checks(c: _Collector, data: pd.DataFrame, present: set[str], chunk_rows: int) -> None:
    """The schema's rules and the cross-column rules, row-wise ones ``chunk_rows`` rows at a time.

    Every rule but the subject-ID uniqueness reads one row at a time, so running it on
    slices of the frame gives the same rows as one pass, with temporaries (pandera's
    check results, each rule's boolean and float columns) bounded by the chunk.
    Uniqueness is checked once on the whole ID column. The rows of each rule are
    gathered over the chunks and reported in one-pass order: schema rules by column
    in study-file order (uniqueness first, then codes, then range, as pandera lists
    them), then the cross-column rules in their order.
    """
    study = c.study
    schema = _column_schema(study, present, unique=False)
    rules = _cross_rules(study, present)
    found: dict[tuple[str, str], list[np.ndarray]] = {}
    crossed: list[list[np.ndarray]] = [[] for _ in rules]
    if study.subject_id in present:
        ids = pa.DataFrameSchema({study.subject_id: pa.Column(nullable=True, unique=True)})
        for column, check, rows in _schema_failures(data[[study.subject_id]], ids):
            found.setdefault((column, check), []).append(rows)
    for start in range(0, len(data), chunk_rows):
        chunk = data.iloc[start : start + chunk_rows]
        for column, check, rows in _schema_failures(chunk, schema):
            found.setdefault((column, check), []).append(rows)
        for k, rule in enumerate(rules):
            fails = rule.fails(chunk).fillna(False).to_numpy(bool)
            crossed[k].append(np.flatnonzero(fails) + start)
    order = {name: i for i, name in enumerate(schema.columns)}
    checks = {"field_uniqueness": 0, "allowed_codes": 1, "plausible_range": 2}
    for column, check in sorted(found, key=lambda k: (order[k[0]], checks.get(k[1], 3))):
        rows = np.concatenate(found[column, check])
        if check == "field_uniqueness":
            rule, message = "duplicate_id", "subject identifier appears more than once"
        else:
            rule, message = check, _check_message(study, column, check)
        c.add_rows("error", column, rows, rule, message, values=c.frame[column])
    for rule, parts in zip(rules, crossed, strict=True):
        rows = np.concatenate(parts) if parts else np.empty(0, int)
        if rows.size:
            c.add_rows(rule.severity, rule.column, rows, rule.rule, rule.message, data[rule.column])


def _check_message(study: Study, column: str, check: str) -> str:
    var = study.variables[column]
    if check == "allowed_codes":
        return "not an allowed code (" + ", ".join(f"{k}={v}" for k, v in var.codes.items()) + ")"
    if check == "plausible_range" and var.range:
        unit = f" {var.unit}" if var.unit else ""
        return f"outside the plausible range {var.range[0]}-{var.range[1]}{unit}"
    return check


def validate_frame(
    frame: pd.DataFrame, study: Study, source: str = "data", chunk_rows: int | None = None
) -> ValidationReport:
    """Every problem of ``frame`` against ``study``: one report, all rules.

    The row-wise rules run ``chunk_rows`` rows at a time (default :data:`CHUNK_ROWS`);
    the report is the same for any chunk size.
    """
    c = _Collector(frame.reset_index(drop=True), study, source)
    c.report.made_missing = list(frame.attrs.get("made_missing", []))
    c.report.value_labels = list(frame.attrs.get("value_labels", []))
    c.report.identifiers_dropped = list(frame.attrs.get("identifiers_dropped", []))
    c.report.file_columns = dict(frame.attrs.get("file_columns", {}))
    c.report.missing_by_column = {
        name: int(frame[name].isna().sum()) for name in study.variables if name in frame.columns
    }
    if len(frame) == 0:
        c.add("error", None, "empty", "no data rows")
        return c.report
    present = set(frame.columns)
    _required_columns(c)
    data = _coerce_numbers(c, present)
    _run_checks(c, data, present, chunk_rows or CHUNK_ROWS)
    for var in study.variables.values():
        if var.name in present and not var.identifier and data[var.name].isna().all():
            c.add("warning", var.name, "all_missing", "every value is missing")
    if not any(p.rule == "required_column" for p in c.report.errors):
        _output_checks(c, data)
    return c.report


def _output_checks(c: _Collector, data: pd.DataFrame) -> None:
    """Derive as ``derive`` will, then ask every table and model about the included rows."""
    try:
        derived = derive_variables(data, c.study)  # identifiers dropped after (age_at)
    except AnalysisError as exc:
        c.add("error", None, "derive", str(exc))
        return
    _derived_values(c, derived)
    cohort, _, _ = apply_inclusion(drop_identifiers(derived, c.study), c.study)
    c.report.n_included = len(cohort)
    checks = [(t["id"], table_issues) for t in c.study.tables]
    checks += [(m["id"], model_issues) for m in c.study.models]
    for output_id, issues_of in checks:
        try:
            issues = issues_of(cohort, c.study, output_id)
        except AnalysisError as exc:
            c.add("error", None, "output", f"{output_id}: {exc}")
            continue
        for issue in issues:
            c.add(issue.severity, issue.column, issue.rule, issue.message)


def _derived_values(c: _Collector, derived: pd.DataFrame) -> None:
    """Derived values outside their declared range or codes, unless already reported.

    A row is skipped when the derived column itself (as given in the file) or one of
    its sources already has an error on that row: one cause, one line.
    """
    flagged = {(p.column, p.row) for p in c.report.errors if p.row is not None}
    listed: dict[str, int] = {}
    for problem in derived_value_problems(derived, c.study):
        sources = derivation_sources(c.study.variables[problem.variable].derive or {})
        if any((name, problem.row) in flagged for name in [problem.variable, *sources]):
            continue
        shown = listed.get(problem.variable, 0)
        listed[problem.variable] = shown + 1
        if shown >= MAX_ROWS_PER_RULE:
            key = f"{problem.variable}:derived_range"
            c.report.truncated[key] = c.report.truncated.get(key, 0) + 1
            continue
        value = problem.value
        if isinstance(value, float):
            value = float(f"{value:.4g}")
        c.report.problems.append(Problem("error", problem.variable, problem.row, value,
                                         "derived_range", problem.description))  # fmt: skip
