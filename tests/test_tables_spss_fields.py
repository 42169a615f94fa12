"""The table engine puts what SPSS prints into each result row, and a table-wide test
reaches every continuous row. Reference values: R (tests/stats/reference/*.out), SPSS
printouts and hand calculations, as named beside each number."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.results import results_schema
from analysis.study import load_study
from analysis.tables import build_table

REF = Path(__file__).parent / "stats" / "reference"

VARIABLES = [
    {"name": "pid", "label": "ID", "type": "id"},
    {"name": "group", "label": "Group", "type": "categorical",
     "codes": {"a": "A", "b": "B", "c": "C"}},
    {"name": "value", "label": "Value", "type": "continuous"},
]  # fmt: skip
NPAR_KS = {
    "description": "NPAR TESTS K-S decides; Shapiro-Wilk recorded.",
    "normality": {"test": "ks_uncorrected", "alpha": 0.05, "also": ["shapiro_wilk"]},
    "normal": {"summary": "mean_sd", "two_groups": "student_t", "k_groups": "anova"},
    "non_normal": {"summary": "median_min_max", "two_groups": "mann_whitney",
                   "k_groups": "kruskal_wallis"},
    "categorical": {"summary": "n_pct", "test": "chi_square"},
}  # fmt: skip


def make_study(tmp_path: Path, tables: list[dict], variables=VARIABLES, policies=None):
    raw = {"study": {"id": "toy", "title": "Toy", "subject_id": "pid"},
           "variables": variables, "tables": tables}  # fmt: skip
    if policies:
        raw["policies"] = policies
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_study(path)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    d = pd.read_csv(REF / "groups.csv")
    d.insert(0, "pid", [f"P{i}" for i in range(len(d))])
    return d


def only_row(result: dict) -> dict:
    (row,) = result["rows"]
    jsonschema.validate(result, results_schema())
    return row


def test_paper_policy_records_lilliefors_and_shapiro_wilk(tmp_path, frame):
    study = make_study(tmp_path, [{"id": "t", "title": "T", "group_by": "group",
                                   "rows": ["value"]}])  # fmt: skip
    row = only_row(build_table(frame, study, "t"))
    b = row["normality_details"]["b"]
    assert set(b) == {"lilliefors", "shapiro_wilk"}
    # R: nortest::lillie.test(b0); shapiro.test(b0) (group_tests_reference.out)
    assert b["lilliefors"]["statistic"] == pytest.approx(0.158927798906085, rel=1e-10)
    assert b["shapiro_wilk"]["statistic"] == pytest.approx(0.921731763725529, rel=1e-6)
    assert b["shapiro_wilk"]["p_value"] == pytest.approx(0.0337404359028685, rel=1e-6)
    # the decision still rests on Lilliefors alone
    assert row["normality"]["b"] == b["lilliefors"]["p_value"]
    # R: e1071::skewness(b0, type = 2) (spss_output_reference.out)
    assert row["stats"]["b"]["skewness"] == pytest.approx(0.864228829164135, rel=1e-10)
    assert row["stats"]["b"]["se_mean"] == pytest.approx(1.15031697760761, rel=1e-12)


def test_npar_ks_policy_records_d_z_and_normal_parameters(tmp_path, frame):
    tables = [{"id": "t", "title": "T", "group_by": "group", "policy": "npar", "rows": ["value"]}]
    study = make_study(tmp_path, tables, policies={"npar": NPAR_KS})
    row = only_row(build_table(frame, study, "t"))
    assert row["normality_test"] == "ks_uncorrected"
    ks = row["normality_details"]["b"]["ks_uncorrected"]
    # R: ks.test(b0, "pnorm", mean(b0), sd(b0), exact = FALSE) -> D, p
    assert ks["statistic"] == pytest.approx(0.158927798906085, rel=1e-10)
    assert ks["p_value"] == pytest.approx(0.456472681591219, rel=1e-5)
    # hand: Z = sqrt(29) D; the normal parameters are the group's mean and SD
    assert ks["z"] == pytest.approx(math.sqrt(29) * 0.158927798906085, rel=1e-10)
    assert ks["mean"] == pytest.approx(11.5310344827586, rel=1e-12)  # R: mean(b0)
    assert row["normality"]["b"] == ks["p_value"]
    assert max(ks["d_positive"], -ks["d_negative"]) == ks["statistic"]


def test_table_wide_test_reaches_every_continuous_row(tmp_path, frame):
    two = frame[frame.group != "c"].copy()
    two["twice"] = two["value"] * 2
    two["flag"] = (two["value"] > 10).astype(float).where(two["value"].notna())
    variables = [
        {"name": "pid", "label": "ID", "type": "id"},
        {"name": "group", "label": "Group", "type": "binary", "codes": {"a": "A", "b": "B"}},
        {"name": "value", "label": "Value", "type": "continuous"},
        {"name": "twice", "label": "Twice", "type": "continuous"},
        {"name": "flag", "label": "Flag", "type": "binary", "codes": {0: "No", 1: "Yes"}},
    ]
    tables = [{"id": "t", "title": "T", "group_by": "group", "test": "mann_whitney",
               "rows": ["value", "twice", "flag"],
               "overrides": {"twice": {"test": "welch_t"}}}]  # fmt: skip
    result = build_table(two, make_study(tmp_path, tables, variables), "t")
    jsonschema.validate(result, results_schema())
    rows = {r["variable"]: r for r in result["rows"]}
    assert rows["value"]["test"] == "mann_whitney"
    assert rows["value"]["test_reason"] == "the table's test in the study file"
    assert rows["twice"]["test"] == "welch_t"  # the row's own override wins
    assert rows["flag"]["test"] == "chi_square"  # categorical rows keep the policy's test
    details = rows["value"]["test_details"]
    # R: wilcox.test(a0, b0, exact = FALSE, correct = FALSE) -> W = 320 (U of a)
    assert rows["value"]["statistic"] == 320 and details["u_min"] == 320
    # hand, a second ranking: pandas' average ranks of the pooled values
    pooled = two.dropna(subset=["value"])
    ranks = pooled["value"].rank()
    sums = [float(ranks[pooled.group == g].sum()) for g in ("a", "b")]
    assert details["rank_sums"] == pytest.approx(sums, rel=1e-12)
    assert details["mean_ranks"] == pytest.approx([sums[0] / 23, sums[1] / 29], rel=1e-12)
    # R: car::leveneTest(center = mean) for a vs b, beside Welch's t too
    assert rows["twice"]["test_details"]["levene"]["statistic"] == pytest.approx(
        28.421556856989, rel=1e-10
    )


def test_categorical_rows_carry_the_chi_square_tests_table(tmp_path):
    # the "risk" example: SPSS printed Pearson 4.98, LR 4.88, Fisher .039 / .021,
    # continuity 4.19, linear-by-linear 4.96, N 250 (PSPP crosstabs.at, from an SPSS
    # handout); R: chisq.test(risk)$expected -> 14, 21, 86, 129
    counts = {(0, 1): 20, (0, 0): 80, (1, 1): 15, (1, 0): 135}
    pairs = [k for k, n in counts.items() for _ in range(n)]
    frame = pd.DataFrame(pairs, columns=["factor", "disease"])
    frame.insert(0, "pid", [str(i) for i in range(len(frame))])
    variables = [
        {"name": "pid", "label": "ID", "type": "id"},
        {"name": "factor", "label": "Factor", "type": "binary",
         "codes": {0: "Placebo", 1: "Aspirin"}},
        {"name": "disease", "label": "Disease", "type": "binary", "codes": {1: "Yes", 0: "No"}},
    ]  # fmt: skip
    tables = [{"id": "t", "title": "T", "group_by": "factor", "rows": ["disease"]}]
    result = build_table(frame, make_study(tmp_path, tables, variables), "t")
    jsonschema.validate(result, results_schema())
    row = result["rows"][0]
    crosstabs = row["test_details"]["crosstabs"]
    assert crosstabs["likelihood_ratio"]["statistic"] == pytest.approx(4.88, abs=0.005)
    assert crosstabs["linear_by_linear"]["statistic"] == pytest.approx(4.96, abs=0.005)
    assert crosstabs["continuity_correction"]["statistic"] == pytest.approx(4.19, abs=0.005)
    assert crosstabs["fisher_exact"]["p_one_sided"] == pytest.approx(0.021, abs=0.0005)
    assert crosstabs["n"] == 250
    assert crosstabs["expected"] == {"0": {"1": 14.0, "0": 86.0}, "1": {"1": 21.0, "0": 129.0}}
    assert row["statistic"] == pytest.approx(4.98, abs=0.005)


def test_shapiro_wilk_beside_the_decision_follows_spss_limit(tmp_path):
    rng = np.random.default_rng(11)
    n = 5200
    frame = pd.DataFrame({"pid": [str(i) for i in range(n)],
                          "group": np.where(np.arange(n) < 5100, "a", "b"),
                          "value": rng.normal(size=n)})  # fmt: skip
    variables = [
        VARIABLES[0],
        {"name": "group", "label": "Group", "type": "binary", "codes": {"a": "A", "b": "B"}},
        VARIABLES[2],
    ]
    tables = [{"id": "t", "title": "T", "group_by": "group", "rows": ["value"]}]
    row = only_row(build_table(frame, make_study(tmp_path, tables, variables), "t"))
    big, small = row["normality_details"]["a"], row["normality_details"]["b"]
    assert big["shapiro_wilk"]["statistic"] is None
    assert "n > 5000" in big["shapiro_wilk"]["note"]
    assert big["lilliefors"]["statistic"] is not None
    assert small["shapiro_wilk"]["statistic"] is not None
