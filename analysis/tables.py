"""Table engine: a cohort and a study file in, results JSON (as dicts) out.

Which summary and which test each row gets is decided by the table's policy
(declared in the study file) and per-variable overrides; the result records
the test that ran and why. Numbers stay unrounded; renderers round.
Each variable is split into groups once, and every statistic is one
vectorised call per group. A continuous row sorts each group once: the quartiles,
the Lilliefors test and the Mann-Whitney ranks all read that sorted copy (the
ranking of two sorted groups is a linear merge), so the one O(n log n) step is not
repeated per statistic. A categorical row codes its values once and counts every
group, the crosstab and the SMD from those codes.

Whether a named test fits its row is a property of the study file, checked when the
study loads (:mod:`analysis.table_spec`). :func:`table_issues` says up front, from counts
alone, what the data would do to a table (an empty group, a group too large for an
exact test); the validator runs it on the included cohort and :func:`build_table`
refuses on its errors, so both give the same one-line answer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis.derive import apply_where
from analysis.errors import AnalysisError, DataError, StudyFileError
from analysis.method_labels import NORMALITY_LABELS, TEST_LABELS
from analysis.stats import contingency, descriptive, effect_size, nonparametric, parametric
from analysis.stats.descriptive import _level_codes
from analysis.stats.nonparametric import EXACT_MAX_PRODUCT
from analysis.stats.normality import SPSS_SHAPIRO_MAX_N
from analysis.stats.normality import normality as normality_test
from analysis.study import Study, Variable
from analysis.table_spec import (
    check_table,
    is_categorical_row,
)

__all__ = [
    "NORMALITY_LABELS",
    "SCHEMA_VERSION",
    "TEST_LABELS",
    "Issue",
    "build_listing",
    "build_summary_table",
    "build_table",
    "build_table_policies",
    "group_index",
    "numeric_values",
    "table_issues",
]

SCHEMA_VERSION = "1.0"

# The study file is checked when it loads (table_spec.check_table): by the time a row
# runs, its test fits the row and the number of groups.
# Each runner gets the groups' values in their own order and sorted (``_Groups``): the
# rank tests take the sorted copies, which makes their ranking a merge of sorted runs;
# the others take the values in order, so their sums round as they always have.
_CONTINUOUS_RUNNERS = {
    "student_t": lambda g: parametric.student_t(*g.values),
    "welch_t": lambda g: parametric.welch_t(*g.values),
    "mann_whitney": lambda g: nonparametric.mann_whitney(*g.ordered, presorted=True),
    "mann_whitney_exact": lambda g: nonparametric.mann_whitney(
        *g.ordered, exact=True, presorted=True
    ),
    "anova": lambda g: parametric.one_way_anova(g.values),
    "welch_anova": lambda g: parametric.welch_anova(g.values),
    "kruskal_wallis": lambda g: nonparametric.kruskal_wallis(g.ordered),
}


class _Groups(NamedTuple):
    """The non-missing values of one row's groups, in row order and sorted."""

    values: list[np.ndarray]
    ordered: list[np.ndarray]


class Issue(NamedTuple):
    """Something the data do to a table or model, found before it is computed.

    ``error``: the output cannot be produced; ``warning``: it can, but with less
    (an empty group, no tests). ``message`` is one line naming the table or model.
    """

    severity: str  # "error" | "warning"
    column: str | None
    rule: str
    message: str


def group_index(
    data: pd.DataFrame, group_var: Variable | None
) -> list[tuple[str, str, np.ndarray]]:
    """(key, label, row positions) for each group, in code order; one 'all' group if none."""
    if group_var is None:
        return [("all", "All", np.arange(len(data)))]
    codes = data[group_var.name].to_numpy()
    return [
        (str(code), label, np.flatnonzero(codes == code)) for code, label in group_var.codes.items()
    ]


def numeric_values(series: pd.Series) -> np.ndarray:
    """float64 whatever the column's dtype (float32, nullable or categorical codes), so
    the numbers do not depend on how the data were stored."""
    if series.dtype == np.float64 and isinstance(series.dtype, np.dtype):
        return series.to_numpy()  # already what the conversion below gives (no copy)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _present(values: np.ndarray) -> np.ndarray:
    """The non-missing values (no copy when none is missing)."""
    missing = np.isnan(values)
    return values[~missing] if missing.any() else values


def _run_continuous_test(test: str, groups: _Groups) -> dict[str, Any]:
    """The test's result (the study file was checked on loading: the test fits)."""
    if test == "none":
        return {"method": "none", "statistic": None, "df": None, "p_value": None}
    return _CONTINUOUS_RUNNERS[test](groups)


def _default_test(branch: dict[str, Any], k: int) -> str:
    return branch["two_groups"] if k == 2 else branch["k_groups"]


def _smd(
    kind: str, groups: list[np.ndarray], levels: list[Any] | None = None, coded: bool = False
) -> float | None:
    """Standardized mean difference; the largest pairwise one for more than two groups
    (R's tableone prints the mean of the pairs instead; both are in the stats module)."""
    nonempty = [g for g in groups if g.size]
    if len(nonempty) < 2:
        return None
    return effect_size.smd_max_pairwise(nonempty, kind, levels=levels, coded=coded)["statistic"]


def _test_fields(result: dict[str, Any], test: str) -> dict[str, Any]:
    """Contract fields; ``test`` is the contract's test name, the library's label stays
    in ``test_details.method``."""
    keep = ("statistic", "df", "p_value")
    details = {k: v for k, v in result.items() if k not in keep}
    return {
        "test": test if result.get("p_value") is not None or test == "none" else "none",
        "statistic": result.get("statistic"),
        "df": result.get("df"),
        "p_value": result.get("p_value"),
        "test_details": details,
    }


def _normality(
    groups,
    present: list[np.ndarray],
    ordered: list[np.ndarray],
    norm_spec: dict[str, Any],
    memo: dict[Any, Any] | None = None,
) -> tuple[dict[str, float | None], dict[str, dict[str, Any]]]:
    """Per group: the deciding test's p, and every normality result the policy asks for.

    ``also`` tests are recorded, not used; a Shapiro-Wilk among them follows SPSS
    EXAMINE's limit (n <= 5000), so at registry scale it costs nothing. ``memo`` keeps
    each result for the row's other policies (:func:`build_table_policies`).
    """
    names = [norm_spec["test"], *[t for t in norm_spec.get("also", []) if t != norm_spec["test"]]]
    memo = {} if memo is None else memo

    def run(name: str, key: str, arr: np.ndarray, srt: np.ndarray, max_n: int | None) -> dict:
        cached = ("normality", name, max_n if name == "shapiro_wilk" else None, key)
        if cached not in memo:
            memo[cached] = normality_test(arr, name, shapiro_max_n=max_n, presorted=srt)
        return memo[cached]

    p_values: dict[str, float | None] = {}
    details: dict[str, dict[str, Any]] = {}
    for (key, _, _), arr, srt in zip(groups, present, ordered, strict=True):
        if arr.size == 0:
            continue
        results = {names[0]: run(names[0], key, arr, srt, None)}
        for name in names[1:]:
            results[name] = run(name, key, arr, srt, SPSS_SHAPIRO_MAX_N)
        p_values[key] = results[names[0]].get("p_value")
        details[key] = results
    return p_values, details


def _continuous_row(
    var: Variable,
    data: pd.DataFrame,
    groups,
    policy: dict[str, Any],
    override: dict[str, Any],
    tested: bool,
    overall: bool,
    table_test: str | None = None,
    memo: dict[Any, Any] | None = None,
) -> dict[str, Any]:
    # ``memo``: what the row's other policies computed (the policy decides only the
    # normality test and the test; :func:`build_table_policies`)
    memo = {} if memo is None else memo
    if "stats" not in memo:
        x = numeric_values(data[var.name])
        present = [_present(x[idx]) for _, _, idx in groups]
        # The one sort of each group: quartiles, Lilliefors and ranks all read it.
        ordered = [np.sort(a) for a in present]
        stats = {
            key: descriptive.continuous_summary(arr, presorted=srt)
            | {"missing": idx.size - arr.size}
            for (key, _, idx), arr, srt in zip(groups, present, ordered, strict=True)
        }
        if overall:
            # The groups hold every row: their sorted runs merge in linear time (timsort).
            whole = sum(idx.size for _, _, idx in groups) == x.size
            merged = np.sort(np.concatenate(ordered), kind="stable") if whole else None
            stats["overall"] = descriptive.continuous_summary(x, presorted=merged)
        memo.update(present=present, ordered=ordered, stats=stats)
    present, ordered, stats = memo["present"], memo["ordered"], memo["stats"]
    testable = _Groups([a for a in present if a.size > 0], [s for s in ordered if s.size > 0])
    norm_spec = policy.get("normality")
    normality_p: dict[str, float | None] = {}
    normality_details: dict[str, dict[str, Any]] = {}
    is_normal = True
    reason = "policy without normality pre-testing"
    if norm_spec:
        normality_p, normality_details = _normality(groups, present, ordered, norm_spec, memo)
        ps = list(normality_p.values())
        is_normal = all(p is not None and p >= norm_spec["alpha"] for p in ps) and bool(ps)
        reason = (
            f"{norm_spec['test']} p >= {norm_spec['alpha']} in every group"
            if is_normal
            else f"{norm_spec['test']} p < {norm_spec['alpha']} (or not testable) in a group"
        )
    branch = policy["normal"] if is_normal else policy["non_normal"]
    summary = override.get("summary") or var.summary or branch["summary"]
    if "test" in override:
        test_name, reason = override["test"], "override in the study file"
    elif table_test is not None:
        test_name, reason = table_test, "the table's test in the study file"
    else:
        test_name = _default_test(branch, len(testable.values))
    if not tested or len(testable.values) < 2:
        test_name = "none"
        if tested:
            reason = "fewer than two groups with data"
    if ("test", test_name) not in memo:
        memo["test", test_name] = _run_continuous_test(test_name, testable)
    result = memo["test", test_name]
    if "smd" not in memo:
        memo["smd"] = _smd("continuous", present) if len(present) > 1 else None
    return {
        "variable": var.name,
        "label": var.display_label(),
        "level": None,
        "level_label": None,
        "kind": "continuous",
        "summary": summary,
        "decimals": var.decimals,
        "stats": stats,
        **_test_fields(result, test_name),
        "test_reason": reason,
        "normality_test": norm_spec["test"] if norm_spec else None,
        "normality": normality_p,
        "normality_details": normality_details,
        "smd": memo["smd"],
    }


def _categorical_rows(
    var: Variable,
    data: pd.DataFrame,
    groups,
    group_var: Variable | None,
    policy: dict[str, Any],
    override: dict[str, Any],
    tested: bool,
    overall: bool,
    memo: dict[Any, Any] | None = None,
) -> list[dict[str, Any]]:
    # ``memo``: what the row's other policies computed (the policy decides only the
    # test; :func:`build_table_policies`)
    memo = {} if memo is None else memo
    levels = var.levels
    if "per_group" not in memo:
        # Coded once (a hash lookup over every row); each group is counted from the codes.
        codes = _level_codes(data[var.name].to_numpy(), levels)
        per_group = {
            key: descriptive.categorical_summary(codes[idx], levels, coded=True)
            for key, _, idx in groups
        }
        if overall:
            per_group["overall"] = descriptive.categorical_summary(codes, levels, coded=True)
        group_codes = [codes[idx] for _, _, idx in groups]
        smd = _smd("categorical", group_codes, levels, coded=True) if len(groups) > 1 else None
        memo.update(per_group=per_group, smd=smd)
    per_group, smd = memo["per_group"], memo["smd"]
    cat_policy = policy["categorical"]
    test_name = override.get("test") or cat_policy["test"]
    reason = "override in the study file" if "test" in override else "categorical variable"
    result: dict[str, Any] = {"method": "none", "statistic": None, "df": None, "p_value": None}
    result_test = "none"
    if tested and test_name != "none" and group_var is not None:
        # The study file was checked on loading: the test is a contingency-table test,
        # and Yates' correction only meets tables declared 2x2.
        # groups x levels: the groups are the rows of the data with a declared code
        # of the grouping variable, in code order, so their counts are the crosstab
        # (contingency.table_from_codes of the two columns, without coding them again).
        full = np.array(
            [[per_group[key]["counts"][lv] for lv in per_group[key]["levels"]]
             for key, _, _ in groups],
            dtype=np.int64,
        )  # fmt: skip
        rows_kept = np.flatnonzero(full.sum(axis=1) > 0)
        cols_kept = np.flatnonzero(full.sum(axis=0) > 0)
        table = full[rows_kept][:, cols_kept]
        if table.shape[0] < 2 or table.shape[1] < 2:
            reason = "fewer than two groups or levels with data"
        else:
            if "crosstabs" not in memo:
                memo["crosstabs"] = _crosstabs(table, group_var, var, rows_kept, cols_kept)
            cached = ("test", test_name, cat_policy.get("small_expected"))
            if cached not in memo:
                memo[cached] = _categorical_test(test_name, table, cat_policy, memo["crosstabs"])
            result_test, result = memo[cached]
            if result_test != test_name:
                reason = "an expected count < 5: Fisher's exact test (policy)"
            result = {**result, "crosstabs": memo["crosstabs"]}
    shown_code = var.show if var.show is not None else levels[-1]
    rows = []
    for code, level_label in var.codes.items():
        stats = {
            key: {
                "n": s["n"],
                "missing": s["missing"],
                "count": s["counts"][code],
                "percent": s["percent"][code],
            }
            for key, s in per_group.items()
        }
        rows.append(
            {
                "variable": var.name,
                "label": var.display_label(),
                "level": str(code),
                "level_label": level_label,
                "kind": var.type,
                "summary": "n_pct",
                "shown": var.type != "binary" or code == shown_code,
                "decimals": 1,
                "stats": stats,
                **_test_fields(result, result_test),
                "test_reason": reason,
                "normality_test": None,
                "normality": {},
                "smd": smd,
            }
        )
    return rows


def _scores(var: Variable) -> np.ndarray:
    """Scores of a variable's codes for the linear-by-linear association: the codes
    themselves when they are numbers (as SPSS uses the values), else 1, 2, ... in order."""
    codes = var.levels
    numeric = all(isinstance(c, int | float) and not isinstance(c, bool) for c in codes)
    return np.array(codes if numeric else range(1, len(codes) + 1), dtype=float)


def _crosstabs(
    table: np.ndarray,
    group_var: Variable,
    var: Variable,
    rows_kept: np.ndarray,
    cols_kept: np.ndarray,
) -> dict[str, Any]:
    """SPSS CROSSTABS' "Chi-Square Tests" for the groups x levels table with data, and
    each cell's expected count keyed by group and level (as the ``stats`` are)."""
    res = contingency.chi_square_tests(
        table, _scores(group_var)[rows_kept], _scores(var)[cols_kept]
    )
    if res["expected"] is not None:
        group_keys = [str(group_var.levels[i]) for i in rows_kept]
        level_keys = [str(var.levels[j]) for j in cols_kept]
        res["expected"] = {
            g: dict(zip(level_keys, row, strict=True))
            for g, row in zip(group_keys, res["expected"], strict=True)
        }
    return res


def _categorical_test(
    test_name: str, table: np.ndarray, cat_policy: dict[str, Any], crosstabs: dict[str, Any]
) -> tuple[str, dict]:
    """(contract test name, result); Monte Carlo Fisher is named as such. A chi-square
    test is read from the table's ``crosstabs`` (:func:`_crosstabs`), which ran it on the
    same table: the same numbers as ``contingency.chi_square(table)``, computed once."""
    if test_name != "fisher_exact":
        chi = contingency.chi_square_from_tests(
            crosstabs, correction=test_name == "yates_chi_square"
        )
        small = chi.get("cells_expected_lt5", 0) > 0
        if not (cat_policy.get("small_expected") == "fisher_exact" and small):
            return test_name, chi
    fisher = contingency.fisher_exact(table)
    name = "fisher_exact_monte_carlo" if "monte_carlo" in fisher["method"] else "fisher_exact"
    return name, fisher


def _policy(study: Study, table: dict[str, Any]) -> dict[str, Any]:
    """The table's policy with its name (defined: checked on loading, or by ``_resolve``)."""
    name = table.get("policy", "paper")
    return {"name": name, **study.policies[name]}


def _needed_columns(study: Study, table: dict[str, Any]) -> list[str]:
    """Every column the table reads: filter, grouping, rows and their ``only_if`` references."""
    names = list((table.get("where") or {}).keys())
    if table.get("kind", "summary") == "listing":
        names += [c for c in table["columns"] if not study.variables[c].identifier]
        names += list(table.get("sort_by", []))
    else:
        names += [table["group_by"]] if "group_by" in table else []
        for name in table["rows"]:
            names.append(name)
            only_if = study.variables[name].only_if
            names += list(only_if) if only_if else []
    return list(dict.fromkeys(names))


def _where_text(table: dict[str, Any]) -> str:
    where = table.get("where")
    if not where:
        return ""
    return " where " + ", ".join(f"{k} = {v}" for k, v in where.items())


def _group_codes(data: pd.DataFrame, group_var: Variable) -> np.ndarray:
    """Each row's group as 0..k-1 in code order (-1 if not a declared code)."""
    return pd.Categorical(data[group_var.name], categories=group_var.levels).codes


def _candidate_tests(
    policy: dict[str, Any], override: dict[str, Any], k: int, table_test: str | None
) -> set[str]:
    """The continuous tests a row may get with k groups, whatever normality decides."""
    if "test" in override:
        return {override["test"]}
    if table_test is not None:
        return {table_test}
    branches = (
        [policy["normal"], policy["non_normal"]] if policy.get("normality") else [policy["normal"]]
    )
    return {_default_test(branch, k) for branch in branches}


def _resolve(study: Study, table_id: str, policy: str | None) -> dict[str, Any]:
    """The table as it will run; a replacement ``policy`` is checked against its rows as
    the study's own policy was on loading (e.g. Yates' correction on a 3-level row)."""
    table = study.table(table_id)
    if policy is not None and "group_by" in table and table.get("kind", "summary") != "listing":
        index = next(i for i, t in enumerate(study.tables) if t["id"] == table_id)
        check_table(study.path, f"tables[{index}] with policy '{policy}'", table,
                    study.policies, study.variables, policy)  # fmt: skip
        table = {**table, "policy": policy}
    return table


def table_issues(
    cohort: pd.DataFrame, study: Study, table_id: str, policy: str | None = None
) -> list[Issue]:
    """What the data would do to one table, from counts alone (no statistic is computed).

    Errors: a column the table reads is absent; groups too large for the exact
    Mann-Whitney test. Warnings, the table still renders: no rows, fewer than two groups
    with data (no tests), a declared group with no rows (shown empty, tests compare the
    others). ``cohort`` is what the table sees: the included rows. Whether each test
    fits its row was settled when the study loaded (:mod:`analysis.table_spec`).
    """
    table = _resolve(study, table_id, policy)
    tid = table["id"]
    issues = [
        Issue("error", name, "table_column",
              f"table {tid}: column '{name}' is needed but not in the data")
        for name in _needed_columns(study, table) if name not in cohort.columns
    ]  # fmt: skip
    if issues or table.get("kind", "summary") == "listing":
        return issues
    data = apply_where(cohort, table.get("where"))
    where = _where_text(table)
    if len(data) == 0:
        return [Issue("warning", None, "table_empty",
                      f"table {tid}: none of the {len(cohort)} included row(s){where}: "
                      "the table is empty")]  # fmt: skip
    if "group_by" not in table:
        return issues
    group_var = study.variables[table["group_by"]]
    gname = group_var.name
    data = data.loc[data[gname].notna()]
    pol = _policy(study, table)
    overrides = table.get("overrides", {})
    codes = _group_codes(data, group_var)
    grouped = codes >= 0  # rows in a declared group
    sizes = np.bincount(codes[codes >= 0], minlength=len(group_var.levels))
    with_data = int(np.count_nonzero(sizes))
    table_test = table.get("test")
    declares_tests = pol["categorical"]["test"] != "none" or any(
        t != "none" for b in ("normal", "non_normal") for t in (pol[b]["two_groups"],
                                                                 pol[b]["k_groups"])
    ) or any("test" in o and o["test"] != "none" for o in overrides.values()) or (
        table_test not in (None, "none"))  # fmt: skip
    if with_data < 2:
        if declares_tests:
            issues.append(Issue(
                "warning", gname, "single_group",
                f"table {tid}: only {with_data} group(s) present in '{gname}' among the "
                f"{len(data)} included row(s){where}: the table will have no tests",
            ))  # fmt: skip
        return issues
    for (code, label), size in zip(group_var.codes.items(), sizes, strict=True):
        if size == 0:
            issues.append(Issue(
                "warning", gname, "empty_group",
                f"table {tid}: group {code} ({label}) of '{gname}' has no rows among the "
                f"{len(data)} included row(s){where}: shown empty, tests compare the other "
                "groups",
            ))  # fmt: skip
    for name in table["rows"]:
        var = study.variables[name]
        override = overrides.get(name, {})
        if is_categorical_row(var, override):
            continue
        subset = grouped
        if var.only_if:
            ((ref, ref_codes),) = var.only_if.items()
            subset = grouped & data[ref].isin(ref_codes).to_numpy()
        context = f"table {tid}, variable '{name}'"
        missing = np.isnan(numeric_values(data[name]))
        if var.only_if or missing.any():
            per_group = np.bincount(codes[subset & ~missing],
                                    minlength=len(group_var.levels))  # fmt: skip
        else:
            per_group = sizes  # every grouped row has a value: the group sizes
        k = int(np.count_nonzero(per_group))
        if k < 2:
            if override.get("test", table_test) != "none":
                issues.append(Issue(
                    "warning", name, "single_group",
                    f"{context}: only {k} group(s) of '{gname}' have values among the "
                    f"{len(data)} included row(s){where}: no test",
                ))  # fmt: skip
            continue
        if "mann_whitney_exact" in _candidate_tests(pol, override, k, table_test):
            n_a, n_b = (int(c) for c in per_group[per_group > 0])
            if n_a * n_b > EXACT_MAX_PRODUCT:
                issues.append(Issue(
                    "error", name, "table_test",
                    f"{context}: test 'mann_whitney_exact' is limited to n_a x n_b <= "
                    f"{EXACT_MAX_PRODUCT:,}, but the groups have {n_a} and {n_b} values"
                    f"{where}: use mann_whitney (asymptotic)",
                ))  # fmt: skip
    return issues


def _refuse(issues: list[Issue]) -> None:
    """Raise the first error of ``issues`` (warnings pass: the output can be produced)."""
    for issue in issues:
        if issue.severity == "error":
            raise DataError(issue.message)


def _declared_codes_only(values: pd.Series, levels: list[Any]) -> bool:
    """True when a plain numpy numeric column holds only missing values and the declared
    numeric codes: one comparison per code, instead of pandas' ``isin`` (a hash table
    over every row); False means "look closer" (:func:`_value_errors` names the row)."""
    if not isinstance(values.dtype, np.dtype) or values.dtype.kind not in "fiu":
        return False
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in levels):
        return False
    arr = values.to_numpy()
    ok = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, dtype=bool)
    for code in levels:
        ok |= arr == code
    return bool(ok.all())


def _value_errors(data: pd.DataFrame, var: Variable, context: str) -> None:
    """Values the statistics would refuse, named by cohort row (1-based) and value."""
    values = data[var.name]
    if var.is_categorical and _declared_codes_only(values, var.levels):
        return
    if not var.is_categorical and values.dtype.kind in "fiu":
        # plain numpy numbers (the usual case): only +-inf is refused; one pass over the
        # array instead of pandas' coercion and masks, which cost more than the
        # statistics on a large cohort
        arr = values.to_numpy()
        if values.dtype.kind != "f" or not np.isinf(arr).any():
            return
    present = values.notna().to_numpy()
    if var.is_categorical:
        bad = present & ~values.isin(var.levels).to_numpy()
        what = "not a declared code (" + ", ".join(f"{k}={v}" for k, v in var.codes.items())
        what += ")"
    else:
        x = pd.to_numeric(values, errors="coerce")
        finite = np.isfinite(x.to_numpy(dtype=np.float64, na_value=np.nan))
        bad = present & ~finite
        what = "not a finite number"
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        value = values.iloc[first]
        value = value.item() if isinstance(value, np.generic) else value
        raise DataError(
            f"{context}, cohort row {int(data.index[first]) + 1}, value {value!r}: {what}"
            + (f" ({int(bad.sum()) - 1} more row(s))" if bad.sum() > 1 else "")
        )


def build_summary_table(
    cohort: pd.DataFrame, study: Study, table: dict[str, Any]
) -> dict[str, Any]:
    """Results of one summary table (Table 1-style), as the results-JSON dict."""
    return _build_summary_tables(cohort, study, [table])[0]


def _build_summary_tables(
    cohort: pd.DataFrame, study: Study, versions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One summary table under several policies (``versions``: the table, differing only
    in ``policy``), as :func:`build_summary_table` builds each. Each row's data, groups,
    sorted values and summaries are computed once, each normality test and test once per
    test name, and every policy's row takes them (a row's ``memo``)."""
    table = versions[0]
    if any({**v, "policy": None} != {**table, "policy": None} for v in versions):
        raise ValueError("the versions of a table may differ only in their policy")
    tid = table["id"]
    for name in _needed_columns(study, table):
        if name not in cohort.columns:
            raise StudyFileError(f"{study.path}: table {tid}: column '{name}' not in data")
    cohort = cohort.reset_index(drop=True)  # cohort row numbers in messages
    data = apply_where(cohort, table.get("where"))
    group_var = study.variables[table["group_by"]] if "group_by" in table else None
    if group_var is not None:
        data = data.loc[data[group_var.name].notna()]
        _value_errors(data, group_var, f"table {tid}, grouping variable '{group_var.name}'")
    groups = group_index(data, group_var)
    policies = [_policy(study, v) for v in versions]
    overrides = table.get("overrides", {})
    tested = group_var is not None
    overall = bool(table.get("overall", False)) and group_var is not None
    all_rows: list[list[dict[str, Any]]] = [[] for _ in versions]
    for name in table["rows"]:
        var = study.variables[name]
        context = f"table {tid}, variable '{name}'"
        override = overrides.get(name, {})
        var_data, var_groups = data, groups
        if var.only_if:
            # Rows where the variable does not apply are neither counted nor missing.
            ((ref, codes),) = var.only_if.items()
            var_data = data.loc[data[ref].isin(codes)]
            var_groups = group_index(var_data, group_var)
        _value_errors(var_data, var, context)
        memo: dict[Any, Any] = {}
        try:
            for rows, policy in zip(all_rows, policies, strict=True):
                if is_categorical_row(var, override):
                    rows.extend(
                        _categorical_rows(var, var_data, var_groups, group_var, policy,
                                          override, tested, overall, memo)
                    )  # fmt: skip
                else:
                    rows.append(
                        _continuous_row(var, var_data, var_groups, policy, override, tested,
                                        overall, table.get("test"), memo)
                    )  # fmt: skip
        except AnalysisError:
            raise
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
            # the statistics refuse data they cannot use; say which table and variable
            raise DataError(f"{context}: {exc}") from exc
    return [
        _summary_result(study, table, group_var, data, groups, policy, rows)
        for policy, rows in zip(policies, all_rows, strict=True)
    ]


def _summary_result(
    study: Study,
    table: dict[str, Any],
    group_var: Variable | None,
    data: pd.DataFrame,
    groups: list[tuple[str, str, np.ndarray]],
    policy: dict[str, Any],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "study": study.id,
        "table": table["id"],
        "kind": "summary",
        "title": table["title"],
        "number": table.get("number"),
        "group_by": group_var.name if group_var else None,
        "group_label": group_var.label if group_var else None,
        "where": table.get("where"),
        "n": len(data),
        "groups": [{"key": k, "label": lab, "n": int(idx.size)} for k, lab, idx in groups],
        "policy": {k: v for k, v in policy.items()},
        "alpha": study.alpha,
        "rows": rows,
    }


def _cell(var: Variable, value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if var.codes:
        return (
            var.codes.get(value, var.codes.get(int(value), value))
            if _is_number(value)
            else (var.codes.get(value, value))
        )
    return float(value) if _is_number(value) else value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating)


def build_listing(cohort: pd.DataFrame, study: Study, table: dict[str, Any]) -> dict[str, Any]:
    """One row per subject, numbered 1..k; identifiers are never listed."""
    for name in _needed_columns(study, table):
        if name not in cohort.columns:
            raise StudyFileError(f"{study.path}: table {table['id']}: column '{name}' not in data")
    data = apply_where(cohort, table.get("where"))
    sort_by = [c for c in table.get("sort_by", []) if c in data.columns]
    if sort_by:
        data = data.sort_values(sort_by, kind="stable")
    columns = [c for c in table["columns"] if not study.variables[c].identifier]
    rows = []
    for case, record in enumerate(data[columns].itertuples(index=False), start=1):
        values = {c: _cell(study.variables[c], v) for c, v in zip(columns, record, strict=True)}
        rows.append({"case": case, "values": values})
    return {
        "schema_version": SCHEMA_VERSION,
        "study": study.id,
        "table": table["id"],
        "kind": "listing",
        "title": table["title"],
        "number": table.get("number"),
        "where": table.get("where"),
        "n": len(data),
        "columns": [{"variable": c, "label": study.variables[c].display_label()} for c in columns],
        "rows": rows,
    }


def build_table_policies(
    cohort: pd.DataFrame, study: Study, table_id: str, policies: list[str | None]
) -> list[dict[str, Any]]:
    """``[build_table(cohort, study, table_id, p) for p in policies]``, the same numbers,
    with the work no policy changes done once: each row's groups, sorted values and
    summaries, and each normality test and test once per test name (a sensitivity
    analysis rebuilding a table under several policies). The tables share the dicts their
    rows have in common: read them, do not change them."""
    tables = [_resolve(study, table_id, p) for p in policies]
    if not tables or tables[0].get("kind", "summary") == "listing":
        return [build_listing(cohort, study, t) for t in tables]
    # A policy changes table_issues' errors only through the continuous tests a row may
    # get (the exact Mann-Whitney test's limit): policies alike in those refuse alike.
    checked = set()
    for p, table in zip(policies, tables, strict=True):
        pol = _policy(study, table)
        branches = [pol[b][k] for b in ("normal", "non_normal") for k in ("two_groups", "k_groups")]
        tests = (bool(pol.get("normality")), *branches)
        if tests not in checked:
            checked.add(tests)
            _refuse(table_issues(cohort, study, table_id, p))
    return _build_summary_tables(cohort, study, tables)


def build_table(
    cohort: pd.DataFrame, study: Study, table_id: str, policy: str | None = None
) -> dict[str, Any]:
    """One table of the study; ``policy`` replaces the policy of every grouped summary
    table (a sensitivity analysis, e.g. ``recommended`` instead of ``paper``).

    Refuses with a one-line :class:`AnalysisError` naming the table and variable when
    :func:`table_issues` finds an error.
    """
    table = _resolve(study, table_id, policy)
    if table.get("kind", "summary") == "listing":
        return build_listing(cohort, study, table)
    _refuse(table_issues(cohort, study, table_id, policy))
    return build_summary_table(cohort, study, table)
