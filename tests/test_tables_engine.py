"""Table engine behaviour: policies decide and say why, overrides, missing data, models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.models import build_model
from analysis.render.grid import format_p, to_grid
from analysis.render.writers import to_markdown
from analysis.study import load_study
from analysis.tables import build_table


def make_study(tmp_path: Path, variables: list[dict], tables: list[dict], models=None):
    raw = {
        "study": {"id": "toy", "title": "Toy study", "subject_id": "pid"},
        "variables": [{"name": "pid", "label": "ID", "type": "id"}, *variables],
        "tables": tables,
    }
    if models:
        raw["models"] = models
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_study(path)


GROUP = {"name": "arm", "label": "Arm", "type": "binary", "codes": {0: "A", 1: "B"}}


@pytest.fixture
def toy(tmp_path):
    rng = np.random.default_rng(7)
    n = 200
    frame = pd.DataFrame({
        "pid": [f"P{i}" for i in range(2 * n)],
        "arm": np.repeat([0, 1], n),
        "normal": rng.normal(50, 10, 2 * n),
        "skewed": rng.exponential(3.0, 2 * n),
        "smoker": rng.integers(0, 2, 2 * n),
    })  # fmt: skip
    frame.loc[[3, 5, 250], "normal"] = np.nan
    variables = [
        GROUP,
        {"name": "normal", "label": "Normal", "type": "continuous", "unit": "u"},
        {"name": "skewed", "label": "Skewed", "type": "continuous"},
        {"name": "smoker", "label": "Smoker", "type": "binary", "codes": {0: "No", 1: "Yes"}},
    ]
    tables = [
        {"id": "t", "title": "T", "group_by": "arm", "policy": "paper",
         "rows": ["normal", "skewed", "smoker"]},
        {"id": "forced", "title": "F", "group_by": "arm", "policy": "paper", "rows": ["skewed"],
         "overrides": {"skewed": {"test": "welch_t", "summary": "mean_sd"}}},
        {"id": "listing", "kind": "listing", "title": "L", "columns": ["pid", "arm", "normal"]},
    ]  # fmt: skip
    return frame, make_study(tmp_path, variables, tables)


def rows_by_variable(result):
    return {r["variable"]: r for r in result["rows"]}


def test_paper_policy_chooses_by_normality_and_records_why(toy):
    frame, study = toy
    rows = rows_by_variable(build_table(frame, study, "t"))
    normal, skewed = rows["normal"], rows["skewed"]
    assert all(p >= 0.05 for p in normal["normality"].values())
    assert (normal["test"], normal["summary"]) == ("student_t", "mean_sd")
    assert "in every group" in normal["test_reason"]
    assert min(skewed["normality"].values()) < 0.05
    assert (skewed["test"], skewed["summary"]) == ("mann_whitney", "median_min_max")
    assert rows["smoker"]["test"] == "chi_square"
    assert set(normal["normality"]) == {"0", "1"}


def test_missing_values_counted_per_group_and_tests_use_available_cases(toy):
    frame, study = toy
    row = rows_by_variable(build_table(frame, study, "t"))["normal"]
    assert (row["stats"]["0"]["missing"], row["stats"]["1"]["missing"]) == (2, 1)
    assert (row["stats"]["0"]["n"], row["stats"]["1"]["n"]) == (198, 199)
    # hand: the mean of the 198 non-missing values of arm 0
    expected = frame.loc[frame.arm == 0, "normal"].dropna().mean()
    assert row["stats"]["0"]["mean"] == pytest.approx(expected)
    markdown = to_markdown(to_grid(build_table(frame, study, "t")))
    assert "| &nbsp;&nbsp;Missing | 2 | 1 |  |" in markdown


def test_override_forces_test_and_summary(toy):
    frame, study = toy
    (row,) = build_table(frame, study, "forced")["rows"]
    assert (row["test"], row["summary"]) == ("welch_t", "mean_sd")
    assert row["test_reason"] == "override in the study file"


def test_listing_numbers_cases_and_never_lists_identifiers(toy):
    frame, study = toy
    result = build_table(frame, study, "listing")
    assert [c["variable"] for c in result["columns"]] == ["arm", "normal"]
    assert [r["case"] for r in result["rows"]] == list(range(1, 401))
    assert result["rows"][0]["values"]["arm"] == "A"


def test_recommended_policy_switches_to_fisher_for_small_expected_counts(tmp_path):
    # Fisher's tea-tasting table [[3, 1], [1, 3]]; R: fisher.test(matrix(c(3,1,1,3),2))
    # p = 0.485714285714 (= 34/70, hypergeometric by hand)
    frame = pd.DataFrame({
        "pid": [f"P{i}" for i in range(8)],
        "arm": [0, 0, 0, 0, 1, 1, 1, 1],
        "guess": [1, 1, 1, 0, 1, 0, 0, 0],
    })  # fmt: skip
    variables = [GROUP, {"name": "guess", "label": "Guess", "type": "binary",
                         "codes": {0: "Tea first", 1: "Milk first"}}]  # fmt: skip
    tables = [{"id": "t", "title": "T", "group_by": "arm", "policy": "recommended",
               "rows": ["guess"]}]  # fmt: skip
    row = build_table(frame, make_study(tmp_path, variables, tables), "t")["rows"][0]
    assert row["test"] == "fisher_exact"
    assert row["p_value"] == pytest.approx(34 / 70)
    assert "expected count < 5" in row["test_reason"]


def test_single_group_present_means_no_test(tmp_path):
    frame = pd.DataFrame({"pid": ["a", "b", "c"], "arm": [0, 0, 0], "x": [1.0, 2.0, 4.0]})
    variables = [GROUP, {"name": "x", "label": "X", "type": "continuous"}]
    tables = [{"id": "t", "title": "T", "group_by": "arm", "rows": ["x"]}]
    (row,) = build_table(frame, make_study(tmp_path, variables, tables), "t")["rows"]
    assert row["test"] == "none" and row["p_value"] is None
    assert row["test_reason"] == "fewer than two groups with data"
    assert row["stats"]["1"]["n"] == 0


def test_model_reports_dropped_rows_and_adds_firth_when_events_are_few(tmp_path):
    rng = np.random.default_rng(3)
    n = 120
    x = rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 0.8 * x)))).astype(int)
    frame = pd.DataFrame({"pid": range(n), "arm": rng.integers(0, 2, n), "x": x, "y": y})
    frame["pid"] = frame["pid"].astype(str)
    frame.loc[:4, "x"] = np.nan
    variables = [
        GROUP,
        {"name": "x", "label": "X", "type": "continuous", "unit": "u"},
        {"name": "y", "label": "Y", "type": "binary", "codes": {0: "No", 1: "Yes"}},
    ]
    tables = [{"id": "t", "title": "T", "rows": ["x"]}]
    models = [{"id": "m", "outcome": "y", "event": 1, "predictors": ["x", "arm"]}]
    result = build_model(frame, make_study(tmp_path, variables, tables, models), "m")
    assert result["n"] == n - 5 and result["n_dropped"] == 5
    events = int(frame.loc[frame.x.notna(), "y"].sum())
    assert result["events"] == events
    assert events / 2 < 10  # few events per variable ...
    assert result["firth"]["method"] == "firth"  # ... so Firth's fit is added
    assert set(result["crude"]) == {"x", "arm"}
    assert result["term_labels"]["arm"] == "Arm (B vs A)"


@pytest.mark.parametrize(
    ("p", "shown"),
    [(0.0004, "<0.001"), (0.001, "0.001"), (0.0449, "0.045"), (0.5, "0.500"), (None, "")],
)
def test_p_value_formatting(p, shown):
    assert format_p(p) == shown


def test_rendered_table_footnotes_each_test(results):
    grid = to_grid(results["table2"])
    letters = {row[-1].mark for row in grid.rows if row[-1].mark}
    assert all(" " not in row[-1] for row in grid.rows)  # no letter glued into a p
    notes = [f for f in grid.footnotes if f[:2] in {f"{x} " for x in letters}]
    assert len(notes) == len(letters) >= 3
    assert any("Mann-Whitney" in f for f in notes)
    assert any("Pearson chi-square" in f for f in notes)


def test_policy_override_for_a_sensitivity_analysis(cohort, study):
    paper = rows_by_variable(build_table(cohort, study, "table2"))
    recommended = rows_by_variable(build_table(cohort, study, "table2", policy="recommended"))
    # the paper's policy lets Lilliefors decide; the override does not pre-test at all
    normal = all(p >= 0.05 for p in paper["albumin"]["normality"].values())
    assert paper["albumin"]["test"] == ("student_t" if normal else "mann_whitney")
    assert recommended["albumin"]["test"] == "welch_t"
    assert recommended["albumin"]["summary"] == "median_iqr"
    assert recommended["albumin"]["normality"] == {}
    # the one-column listing and descriptive tables are left alone
    assert build_table(cohort, study, "table6", policy="recommended")["policy"]["name"] == (
        "descriptive"
    )


def test_binary_show_key_picks_the_displayed_level(tmp_path):
    frame = pd.DataFrame({"pid": list("abcdef"), "arm": [0, 0, 0, 1, 1, 1],
                          "alive": [1, 1, 0, 1, 0, 0]})  # fmt: skip
    variables = [GROUP, {"name": "alive", "label": "Alive", "type": "binary",
                         "codes": {1: "Yes", 0: "No"}, "show": 1}]  # fmt: skip
    tables = [{"id": "t", "title": "T", "group_by": "arm", "rows": ["alive"]}]
    result = build_table(frame, make_study(tmp_path, variables, tables), "t")
    (row,) = [r for r in result["rows"] if r["shown"]]
    assert row["level"] == "1"
    # hand: 2 of 3 alive in arm A
    assert to_grid(result).rows[0][1] == "2 (66.7)"
