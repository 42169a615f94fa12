"""Sensitivity of the summary tables to the choice of test.

:func:`run_tests_switch` rebuilds every grouped summary table of the study (Tables 1, 2,
3 and 7 of the baclofen study) through the table engine under variants of each table's
own policy (policies are data: the variants are policies added to a copy of the study,
and :func:`analysis.tables.build_table_policies` runs them, each table once under all its
variants), and lists the rows whose test, and whose significance, change:

(a) ``fisher``: Fisher's exact test instead of the Pearson chi-square wherever an
    expected count is below 5 (2x2: ``scipy.stats.fisher_exact``; r x c: the
    Fisher-Freeman-Halton test, exact by the network algorithm, as the engine's
    ``recommended`` policy runs it, :func:`analysis.stats.contingency.fisher_exact`);
(b) ``welch``: Welch's t-test and Welch's ANOVA instead of Student's t-test and the
    one-way ANOVA on the rows the table's policy tested with those;
(c) ``normality``: the normality pre-test deciding mean ± SD with a parametric test
    versus a median with a rank test, by the Kolmogorov-Smirnov test with the Lilliefors
    correction (the paper's, SPSS EXAMINE), the uncorrected Kolmogorov-Smirnov test
    (SPSS NPAR TESTS) and the Shapiro-Wilk test.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pandas as pd

from analysis.sensitivity.models import (
    MODEL_ID,
    conclusion_block,
    lower,
    model_result,
    paper_findings,
    significant_terms,
)
from analysis.study import Study
from analysis.tables import NORMALITY_LABELS, TEST_LABELS, build_table_policies

__all__ = ["NORMALITY_METHODS", "run_tests_switch", "switch_policies", "tested_tables"]

#: The normality pre-tests compared in (c); the first is the paper's.
NORMALITY_METHODS = ("lilliefors", "ks_uncorrected", "shapiro_wilk")
_PARAMETRIC = {"student_t": "welch_t", "anova": "welch_anova"}


def tested_tables(study: Study) -> list[str]:
    """Ids of the grouped summary tables whose policy runs tests."""
    out = []
    for table in study.tables:
        if table.get("kind", "summary") != "summary" or "group_by" not in table:
            continue
        pol = study.policies[table.get("policy", "paper")]
        tests = {pol["categorical"]["test"]} | {
            pol[b][k] for b in ("normal", "non_normal") for k in ("two_groups", "k_groups")
        }
        if tests != {"none"}:
            out.append(table["id"])
    return out


def switch_policies(base_name: str, base: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The variant policies of ``base`` (a policy definition), by variant name."""
    out: dict[str, dict[str, Any]] = {}
    fisher = copy.deepcopy(base)
    fisher["categorical"]["small_expected"] = "fisher_exact"
    fisher["description"] = f"{base_name}, with Fisher's exact test when an expected count < 5"
    out["fisher"] = fisher
    welch = copy.deepcopy(base)
    for branch in ("normal", "non_normal"):
        for key in ("two_groups", "k_groups"):
            welch[branch][key] = _PARAMETRIC.get(welch[branch][key], welch[branch][key])
    welch["description"] = f"{base_name}, with Welch's t-test / Welch's ANOVA"
    out["welch"] = welch
    if base.get("normality"):
        for method in NORMALITY_METHODS:
            variant = copy.deepcopy(base)
            variant["normality"]["test"] = method
            variant["normality"]["also"] = [
                m for m in base["normality"].get("also", []) if m != method
            ]
            variant["description"] = f"{base_name}, normality by {NORMALITY_LABELS[method]}"
            out[f"normality_{method}"] = variant
    return out


def _with_policies(study: Study, policies: dict[str, dict[str, Any]]) -> Study:
    raw = {**study.raw, "policies": {**study.raw.get("policies", {}), **policies}}
    return dataclasses.replace(study, raw=raw)


def _by_variable(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The first row of each variable (a categorical variable's rows share its test)."""
    out: dict[str, dict[str, Any]] = {}
    for row in table["rows"]:
        out.setdefault(row["variable"], row)
    return out


def _sig(p: float | None, alpha: float) -> bool | None:
    return None if p is None else bool(p < alpha)


def _row_result(row: dict[str, Any], alpha: float) -> dict[str, Any]:
    return {
        "test": row["test"],
        "test_label": TEST_LABELS.get(row["test"], row["test"]),
        "summary": row["summary"],
        "statistic": row["statistic"],
        "df": row["df"],
        "p_value": row["p_value"],
        "significant": _sig(row["p_value"], alpha),
    }


def _fisher_rows(tid: str, base: dict, variant: dict, alpha: float) -> list[dict[str, Any]]:
    rows = []
    after = _by_variable(variant)
    for name, row in _by_variable(base).items():
        new = after[name]
        if row["kind"] == "continuous" or new["test"] == row["test"]:
            continue
        crosstabs = row.get("test_details", {}).get("crosstabs") or {}
        details = row.get("test_details", {})
        rows.append({
            "table": tid,
            "variable": name,
            "label": row["label"],
            "shape": new.get("test_details", {}).get("shape"),
            "expected_min": details.get("expected_min", crosstabs.get("expected_min")),
            "cells_expected_lt5": details.get("cells_expected_lt5"),
            "cells_expected_lt5_pct": details.get("cells_expected_lt5_pct"),
            "before": _row_result(row, alpha),
            "after": _row_result(new, alpha),
            "significance_changed": _sig(row["p_value"], alpha) != _sig(new["p_value"], alpha),
        })  # fmt: skip
    return rows


def _welch_rows(tid: str, base: dict, variant: dict, alpha: float) -> list[dict[str, Any]]:
    rows = []
    after = _by_variable(variant)
    for name, row in _by_variable(base).items():
        if row["test"] not in _PARAMETRIC:
            continue
        new = after[name]
        rows.append({
            "table": tid,
            "variable": name,
            "label": row["label"],
            "before": _row_result(row, alpha),
            "after": _row_result(new, alpha),
            "significance_changed": _sig(row["p_value"], alpha) != _sig(new["p_value"], alpha),
        })  # fmt: skip
    return rows


def _normality_rows(tid: str, variants: dict[str, dict], alpha: float) -> list[dict[str, Any]]:
    rows = []
    tables = {m: _by_variable(variants[m]) for m in NORMALITY_METHODS}
    for name, row in tables[NORMALITY_METHODS[0]].items():
        if row["kind"] != "continuous":
            continue
        by_method = {}
        for method in NORMALITY_METHODS:
            r = tables[method][name]
            by_method[method] = {
                **_row_result(r, alpha),
                "normality_p": dict(r.get("normality") or {}),
                "test_reason": r.get("test_reason"),
            }
        tests = {v["test"] for v in by_method.values()}
        summaries = {v["summary"] for v in by_method.values()}
        sigs = {v["significant"] for v in by_method.values()}
        rows.append({
            "table": tid,
            "variable": name,
            "label": row["label"],
            "by_method": by_method,
            "test_changes": len(tests) > 1,
            "summary_changes": len(summaries) > 1,
            "significance_changes": len(sigs) > 1,
        })  # fmt: skip
    return rows


def _outcome_table(study: Study, outcome: str, tables: list[str]) -> str | None:
    """The table comparing the model's outcome groups on the whole cohort (Table 2)."""
    for tid in tables:
        table = study.table(tid)
        if table.get("group_by") == outcome and not table.get("where"):
            return tid
    return None


def run_tests_switch(
    cohort: pd.DataFrame,
    study: Study,
    results: dict[str, dict] | None = None,
    model_id: str = MODEL_ID,
) -> dict[str, Any]:
    """Fisher instead of chi-square, Welch instead of Student/ANOVA, three normality tests.

    Returns a results-JSON-like dict: ``kind`` ("sensitivity"), ``analysis``
    ("tests_switch"), ``title``, ``method``, ``alpha``, ``tables`` [ids], ``policies``
    {table id: its policy's name}, ``fisher`` {``rows``, ``changed``}, ``welch``
    {``rows``, ``changed``}, ``normality`` {``methods``, ``rows``, ``test_changed``,
    ``significance_changed``}, ``outcome_table``, ``predictor_rows``, ``conclusion``.
    A ``fisher``/``welch`` row: ``table``, ``variable``, ``label``, ``before`` and
    ``after`` {``test``, ``test_label``, ``summary``, ``statistic``, ``df``,
    ``p_value``, ``significant``}, ``significance_changed`` (Fisher rows add ``shape``,
    ``expected_min``, ``cells_expected_lt5``, ``cells_expected_lt5_pct``). A
    ``normality`` row: ``table``, ``variable``, ``label``, ``by_method`` {method: as
    ``before`` plus ``normality_p`` {group: p}, ``test_reason``}, ``test_changes``,
    ``summary_changes``, ``significance_changes``. ``changed`` lists (table, variable)
    whose significance changes.
    """
    alpha = study.alpha
    tables = tested_tables(study)
    variants: dict[str, dict[str, dict[str, Any]]] = {}
    added: dict[str, dict[str, Any]] = {}
    base_names = {}
    for tid in tables:
        name = study.table(tid).get("policy", "paper")
        base_names[tid] = name
        for variant, definition in switch_policies(name, study.policies[name]).items():
            added[f"sensitivity_{name}_{variant}"] = definition
    extended = _with_policies(study, added)
    base_tables = {}
    for tid in tables:
        given = (results or {}).get(tid)
        usable = given is not None and given.get("policy", {}).get("name") == base_names[tid]
        names = list(switch_policies(base_names[tid], study.policies[base_names[tid]]))
        # each table once under all its variants (and its own policy unless given):
        # what a variant does not change (the groups, the summaries, the tests of the
        # other kind) is computed once
        built = build_table_policies(
            cohort,
            extended,
            tid,
            ([] if usable else [None]) + [f"sensitivity_{base_names[tid]}_{v}" for v in names],
        )
        base_tables[tid] = given if usable else built.pop(0)
        variants[tid] = dict(zip(names, built, strict=True))

    fisher_rows, welch_rows, normality_rows = [], [], []
    for tid in tables:
        fisher_rows += _fisher_rows(tid, base_tables[tid], variants[tid]["fisher"], alpha)
        welch_rows += _welch_rows(tid, base_tables[tid], variants[tid]["welch"], alpha)
        if all(f"normality_{m}" in variants[tid] for m in NORMALITY_METHODS):
            normality_rows += _normality_rows(
                tid, {m: variants[tid][f"normality_{m}"] for m in NORMALITY_METHODS}, alpha
            )

    def changed(rows: list[dict], key: str) -> list[dict[str, str]]:
        return [{"table": r["table"], "variable": r["variable"]} for r in rows if r[key]]

    # the conclusion: the model does not use the tables' tests; the univariable
    # comparison that brought its predictors into it (Table 2) may
    model = model_result(cohort, study, results, model_id)
    spec = study.model(model_id)
    predictors = list(model["predictors"])
    findings = paper_findings(study, model_id)
    observed = significant_terms(model, predictors, alpha)
    outcome_tid = _outcome_table(study, spec["outcome"], tables)
    predictor_rows = []
    robust = True
    if outcome_tid is not None:
        versions = {"paper": base_tables[outcome_tid], **variants[outcome_tid]}
        for name in predictors:
            if name not in _by_variable(base_tables[outcome_tid]):
                continue
            by_variant = {v: _row_result(_by_variable(t)[name], alpha) for v, t in versions.items()}
            stable = len({r["significant"] for r in by_variant.values()}) == 1
            predictor_rows.append({"variable": name, "by_variant": by_variant,
                                   "significance_stable": stable})  # fmt: skip
            if findings.get(name) and not all(r["significant"] for r in by_variant.values()):
                robust = False
    model_text = ", ".join(
        f"{lower(study.variables[t['term']].label)} p = {t['p_value']:.3g}"
        for t in model["terms"]
        if t["term"] in predictors
    )
    univariable = "; ".join(
        f"in {outcome_tid} {lower(study.variables[r['variable']].label)} is "
        + (
            f"significant under every test choice (largest p = "
            f"{max(v['p_value'] for v in r['by_variant'].values()):.3g})"
            if all(v["significant"] for v in r["by_variant"].values())
            else "not significant under any test choice"
            if not any(v["significant"] for v in r["by_variant"].values())
            else "significant under some test choices only ("
            + ", ".join(f"{k} p = {v['p_value']:.3g}" for k, v in r["by_variant"].items())
            + ")"
        )
        for r in predictor_rows
    )
    n_changed = (
        len(changed(fisher_rows, "significance_changed"))
        + len(changed(welch_rows, "significance_changed"))
        + len(changed(normality_rows, "significance_changes"))
    )
    because = (
        f"the choice of test in the summary tables does not enter the logistic model "
        f"(model {model_id}: {model_text}); {univariable or 'no table compares the outcome'}"
        f"; {n_changed} table row(s) change significance across the test choices."
    )
    conclusion = conclusion_block(study, observed, because, robust, model_id)

    labels = TEST_LABELS
    method = (
        "Each grouped summary table ("
        + ", ".join(tables)
        + ") was rebuilt by the table engine under variants of its own test policy: "
        f"(a) {labels['fisher_exact']} instead of the {labels['chi_square']} whenever any "
        "expected count was below 5 (two-sided; 2x2 tables by the hypergeometric "
        "distribution, larger tables by the Fisher-Freeman-Halton extension, exact by the "
        f"network algorithm of Mehta & Patel, or {labels['fisher_exact_monte_carlo']} if "
        f"that fails); (b) {labels['welch_t']} and {labels['welch_anova']} instead of "
        f"{labels['student_t']} and {labels['anova']} on the rows the policy tested with "
        "those; (c) the per-group normality pre-test that chooses between mean ± SD with "
        "a parametric test and a median with a rank test, at alpha = "
        f"{alpha:g}, by the "
        + ", ".join(NORMALITY_LABELS[m] for m in NORMALITY_METHODS)
        + f". Significance is p < {alpha:g}; each row's test before and after is named."
    )
    return {
        "kind": "sensitivity",
        "analysis": "tests_switch",
        "title": "Sensitivity of the summary tables to the choice of test",
        "method": method,
        "alpha": alpha,
        "tables": tables,
        "policies": base_names,
        "fisher": {"rows": fisher_rows, "changed": changed(fisher_rows, "significance_changed")},
        "welch": {"rows": welch_rows, "changed": changed(welch_rows, "significance_changed")},
        "normality": {
            "methods": list(NORMALITY_METHODS),
            "method_labels": {m: NORMALITY_LABELS[m] for m in NORMALITY_METHODS},
            "rows": normality_rows,
            "test_changed": changed(normality_rows, "test_changes"),
            "significance_changed": changed(normality_rows, "significance_changes"),
        },
        "outcome_table": outcome_tid,
        "predictor_rows": predictor_rows,
        "conclusion": conclusion,
    }
