"""Every test a table names is checked when the study loads, and a mistake is one line
naming the key, the table and the variable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.errors import DataError, StudyFileError
from analysis.study import load_study
from analysis.tables import build_table, table_issues

VARIABLES = [
    {"name": "pid", "label": "ID", "type": "id"},
    {"name": "arm", "label": "Arm", "type": "binary", "codes": {0: "A", 1: "B"}},
    {"name": "ckd_group", "label": "CKD group", "type": "categorical",
     "codes": {1: "Stage 4", 2: "Stage 5", 3: "Dialysis"}},
    {"name": "albumin", "label": "Albumin", "type": "continuous", "unit": "g/dL"},
    {"name": "sex", "label": "Sex", "type": "binary", "codes": {1: "Male", 2: "Female"}},
    {"name": "reason", "label": "Reason", "type": "categorical",
     "codes": {1: "Spasticity", 2: "Pain", 3: "Other"}},
]  # fmt: skip


def write_study(tmp_path: Path, tables: list[dict], policies: dict | None = None) -> Path:
    raw = {"study": {"id": "toy", "title": "Toy", "subject_id": "pid"},
           "variables": VARIABLES, "tables": tables}  # fmt: skip
    if policies:
        raw["policies"] = policies
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def load_error(tmp_path: Path, tables: list[dict], policies: dict | None = None) -> str:
    path = write_study(tmp_path, tables, policies)
    with pytest.raises(StudyFileError) as err:
        load_study(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    return message.removeprefix(f"{path}: ")


YATES = {
    "description": "Yates everywhere.",
    "normality": None,
    "normal": {"summary": "mean_sd", "two_groups": "student_t", "k_groups": "anova"},
    "non_normal": {"summary": "mean_sd", "two_groups": "student_t", "k_groups": "anova"},
    "categorical": {"summary": "n_pct", "test": "yates_chi_square"},
}


def test_two_group_override_on_three_groups(tmp_path):
    tables = [{"id": "table2", "title": "T", "group_by": "ckd_group", "rows": ["albumin"],
               "overrides": {"albumin": {"test": "student_t"}}}]  # fmt: skip
    assert load_error(tmp_path, tables) == (
        "tables[0].overrides.albumin.test: table table2, variable albumin: test 'student_t' "
        "needs exactly two groups but group variable ckd_group has 3 codes"
    )


def test_table_wide_test_on_three_groups(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "ckd_group", "test": "mann_whitney",
               "rows": ["sex", "albumin"]}]  # fmt: skip
    assert load_error(tmp_path, tables) == (
        "tables[0].test: table t1, variable albumin: test 'mann_whitney' (the table's test) "
        "needs exactly two groups but group variable ckd_group has 3 codes"
    )


def test_where_on_the_group_variable_leaves_two_groups(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "ckd_group", "where": {"ckd_group": [1, 3]},
               "test": "mann_whitney", "rows": ["albumin"]},
              {"id": "t2", "title": "T", "group_by": "ckd_group", "where": {"ckd_group": [1]},
               "rows": ["albumin"],
               "overrides": {"albumin": {"test": "kruskal_wallis"}}}]  # fmt: skip
    study = load_study(write_study(tmp_path, tables))
    assert study.table("t1")["test"] == "mann_whitney"


def test_where_is_named_when_it_leaves_three(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "ckd_group",
               "where": {"ckd_group": [1, 2, 3]}, "test": "welch_t",
               "rows": ["albumin"]}]  # fmt: skip
    assert load_error(tmp_path, tables).endswith("has 3 codes after the table's where")


def test_continuous_test_on_a_categorical_row(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "arm", "rows": ["sex"],
               "overrides": {"sex": {"test": "mann_whitney"}}}]  # fmt: skip
    assert load_error(tmp_path, tables).startswith(
        "tables[0].overrides.sex.test: table t1, variable sex: test 'mann_whitney' cannot be "
        "used on a binary variable"
    )
    # with a numeric summary the codes are summarised and tested as numbers
    tables[0]["overrides"]["sex"]["summary"] = "median_iqr"
    load_study(write_study(tmp_path, tables))


def test_categorical_test_on_a_continuous_row(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "arm", "rows": ["albumin"],
               "overrides": {"albumin": {"test": "chi_square"}}}]  # fmt: skip
    assert load_error(tmp_path, tables) == (
        "tables[0].overrides.albumin.test: table t1, variable albumin: test 'chi_square' "
        "cannot be used on a continuous variable"
    )


def test_yates_from_the_policy_needs_two_by_two(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "arm", "policy": "yates",
               "rows": ["sex", "reason"]}]  # fmt: skip
    assert load_error(tmp_path, tables, {"yates": YATES}) == (
        "tables[0].policy: table t1, variable reason: test 'yates_chi_square' (policy 'yates') "
        "needs a 2x2 table but group variable arm has 2 codes and reason has 3 codes"
    )
    # a where keeping two of the three reasons makes the table 2x2
    tables[0]["where"] = {"reason": [1, 2]}
    load_study(write_study(tmp_path, tables, {"yates": YATES}))


def test_tests_need_a_group_by_and_a_summary_table(tmp_path):
    one_column = [{"id": "t1", "title": "T", "test": "anova", "rows": ["albumin"]}]
    assert load_error(tmp_path, one_column) == (
        "tables[0].test: table t1: test 'anova' needs a group_by to compare groups"
    )
    override = [{"id": "t1", "title": "T", "rows": ["albumin"],
                 "overrides": {"albumin": {"test": "welch_t"}}}]  # fmt: skip
    assert "needs the table to have a group_by" in load_error(tmp_path, override)
    listing = [{"id": "l1", "title": "L", "kind": "listing", "columns": ["albumin"],
                "test": "welch_t"}]  # fmt: skip
    assert "a listing has no tests" in load_error(tmp_path, listing)


def test_n_pct_summary_needs_a_coded_variable(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "arm", "rows": ["albumin"],
               "overrides": {"albumin": {"summary": "n_pct"}}}]  # fmt: skip
    assert load_error(tmp_path, tables) == (
        "tables[0].overrides.albumin.summary: table t1, variable albumin: summary 'n_pct' "
        "needs a binary or categorical variable, not a continuous one"
    )


def test_replacement_policy_is_checked_before_anything_runs(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "arm", "rows": ["albumin", "reason"]}]
    study = load_study(write_study(tmp_path, tables, {"yates": YATES}))
    frame = pd.DataFrame({"pid": ["a", "b"], "arm": [0, 1], "ckd_group": [1, 2],
                          "albumin": [3.5, 4.0], "sex": [1, 2], "reason": [1, 3]})  # fmt: skip
    with pytest.raises(StudyFileError, match=r"tables\[0\] with policy 'yates'.policy: table t1, "
                       "variable reason: test 'yates_chi_square'"):  # fmt: skip
        build_table(frame, study, "t1", policy="yates")
    with pytest.raises(StudyFileError, match="policy 'nope' is not defined"):
        build_table(frame, study, "t1", policy="nope")


def test_exact_mann_whitney_too_large_is_found_from_counts(tmp_path):
    tables = [{"id": "t1", "title": "T", "group_by": "arm", "test": "mann_whitney_exact",
               "rows": ["albumin"]}]  # fmt: skip
    study = load_study(write_study(tmp_path, tables))
    n = 400
    frame = pd.DataFrame({"pid": [str(i) for i in range(2 * n)], "arm": np.repeat([0, 1], n),
                          "albumin": np.linspace(2, 5, 2 * n)})  # fmt: skip
    (issue,) = table_issues(frame, study, "t1")
    assert issue.severity == "error" and issue.column == "albumin"
    assert issue.message == (
        "table t1, variable 'albumin': test 'mann_whitney_exact' is limited to n_a x n_b <= "
        "100,000, but the groups have 400 and 400 values: use mann_whitney (asymptotic)"
    )
    with pytest.raises(DataError, match="limited to n_a x n_b"):
        build_table(frame, study, "t1")
    # a smaller sample runs
    small = frame.iloc[list(range(10)) + list(range(n, n + 10))]
    (row,) = build_table(small, study, "t1")["rows"]
    assert row["test"] == "mann_whitney_exact"
