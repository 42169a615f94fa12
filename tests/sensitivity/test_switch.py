"""tests_switch: Fisher / Welch / normality variants, against R (reference_sensitivity.R,
output in reference_sensitivity.out) on the fixed 60-patient reference_small.csv, and on
the default synthetic cohort."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.sensitivity.tests_switch import run_tests_switch
from analysis.study import load_study

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def small():
    study = load_study(HERE / "reference_small_study.yaml")
    cohort = pd.read_csv(HERE / "reference_small.csv")
    return cohort, study, run_tests_switch(cohort, study)


def _row(rows, table, variable):
    (row,) = [r for r in rows if r["table"] == table and r["variable"] == variable]
    return row


# R: chisq.test(t, correct = FALSE)$p.value, fisher.test(t)$p.value
FISHER = {
    ("by_group", "sex"): (0.2115314306523, 0.235497671940869, 3.3),
    ("by_group", "reason"): (0.338426855005356, 0.286970057659155, 1.5),
    ("by_outcome", "sex"): (0.552125010912973, 0.731383500766406, 3.85),
    ("by_outcome", "reason"): (0.91129983624946, 1.0, 1.75),
}


def test_fisher_rows_match_r(small):
    _, _, res = small
    got = {(r["table"], r["variable"]) for r in res["fisher"]["rows"]}
    assert got == set(FISHER)  # exactly the rows with an expected count < 5
    for (table, variable), (chi_p, fisher_p, emin) in FISHER.items():
        row = _row(res["fisher"]["rows"], table, variable)
        assert row["before"]["test"] == "chi_square"
        assert row["after"]["test"] == "fisher_exact"
        assert row["before"]["p_value"] == pytest.approx(chi_p, rel=1e-9)
        assert row["after"]["p_value"] == pytest.approx(fisher_p, rel=1e-6)
        assert row["expected_min"] == pytest.approx(emin, rel=1e-12)
        assert row["significance_changed"] is False
    assert res["fisher"]["changed"] == []


# R: t.test(var.equal = TRUE/FALSE), oneway.test(var.equal = TRUE/FALSE)
WELCH = {
    ("by_outcome", "age"): ("student_t", 0.836332014547067, "welch_t", 0.84497392057792,
                            35.4554669354975),
    ("by_outcome", "weight"): ("student_t", 0.799184716034668, "welch_t", 0.793136651608537,
                               44.9285542068729),
    ("by_outcome", "albumin"): ("student_t", 0.0312142343587647, "welch_t",
                                0.0437621583875513, 35.2533254630828),
    ("by_outcome", "daily_dose"): ("student_t", 0.596382405362414, "welch_t",
                                   0.576261557491777, 47.8930150600947),
    ("by_group", "age"): ("anova", 0.838781042460823, "welch_anova", 0.791730420371126,
                          34.4601494235355),
    ("by_group", "weight"): ("anova", 0.640078761983012, "welch_anova", 0.754641310556868,
                             34.5755571215166),
    ("by_group", "albumin"): ("anova", 0.39802734822139, "welch_anova", 0.366817047821614,
                              37.7622811009621),
    ("by_group", "daily_dose"): ("anova", 0.253165562004745, "welch_anova",
                                 0.306809231405244, 34.9564445625333),
}  # fmt: skip


def test_welch_rows_match_r(small):
    _, _, res = small
    rows = res["welch"]["rows"]
    assert {(r["table"], r["variable"]) for r in rows} == set(WELCH)
    for key, (before, p_before, after, p_after, df) in WELCH.items():
        row = _row(rows, *key)
        assert row["before"]["test"] == before and row["after"]["test"] == after
        assert row["before"]["p_value"] == pytest.approx(p_before, rel=1e-8)
        assert row["after"]["p_value"] == pytest.approx(p_after, rel=1e-8)
        df_got = row["after"]["df"]
        df_got = df_got[-1] if isinstance(df_got, list) else df_got
        assert df_got == pytest.approx(df, rel=1e-8)
        assert row["significance_changed"] is False


# R: ks.test(x, "pnorm", mean(x), sd(x), exact = FALSE)$p.value; shapiro.test(x)$p.value
NORMALITY = {
    ("by_outcome", "weight", "0"): (0.637437075462886, 0.0191868895899327),
    ("by_outcome", "weight", "1"): (0.569107452348245, 0.616178403953997),
    ("by_outcome", "daily_dose", "0"): (0.494323275432031, 0.0118707771894023),
    ("by_outcome", "daily_dose", "1"): (0.851799664602557, 0.249658147317781),
    ("by_group", "weight", "1"): (0.530046366548668, 0.0499381393286842),
    ("by_group", "weight", "2"): (0.529058738835609, 0.011780328514843),
    ("by_group", "daily_dose", "2"): (0.694104338245793, 0.0820302189424841),
}


def test_normality_p_values_match_r(small):
    _, _, res = small
    for (table, variable, group), (ks_p, sw_p) in NORMALITY.items():
        row = _row(res["normality"]["rows"], table, variable)
        by = row["by_method"]
        assert by["ks_uncorrected"]["normality_p"][group] == pytest.approx(ks_p, rel=1e-6)
        assert by["shapiro_wilk"]["normality_p"][group] == pytest.approx(sw_p, rel=1e-6)


def test_normality_switch_changes_tests_and_one_significance(small):
    _, _, res = small
    # Shapiro-Wilk rejects in a group (R above: p 0.019, 0.012, 0.0499 and 0.0118), so
    # those rows move from Student / ANOVA to Mann-Whitney / Kruskal-Wallis
    weight = _row(res["normality"]["rows"], "by_outcome", "weight")["by_method"]
    assert weight["ks_uncorrected"]["test"] == "student_t"
    assert weight["shapiro_wilk"]["test"] == "mann_whitney"
    assert weight["shapiro_wilk"]["summary"] == "median_min_max"
    # R: wilcox.test(exact = FALSE, correct = FALSE) and t.test(var.equal = TRUE)
    assert weight["shapiro_wilk"]["p_value"] == pytest.approx(0.466319618475594, rel=1e-8)
    assert weight["ks_uncorrected"]["p_value"] == pytest.approx(0.799184716034668, rel=1e-8)
    group_weight = _row(res["normality"]["rows"], "by_group", "weight")["by_method"]
    assert group_weight["shapiro_wilk"]["test"] == "kruskal_wallis"
    assert group_weight["shapiro_wilk"]["p_value"] == pytest.approx(0.871832873496924, rel=1e-8)
    # CRP (log-normal): the Lilliefors test rejects in a group, the uncorrected K-S test
    # in none (R ks.test p >= 0.09 in every group, same D), so the paper's policy gives
    # the median with a rank test and K-S uncorrected gives mean ± SD with Student / ANOVA;
    # Shapiro-Wilk rejects too (R: p 3.3e-7 and 6.6e-5 by outcome)
    crp = _row(res["normality"]["rows"], "by_outcome", "crp")["by_method"]
    assert min(crp["lilliefors"]["normality_p"].values()) < 0.05
    assert crp["ks_uncorrected"]["normality_p"]["0"] == pytest.approx(0.0905517887573876, rel=1e-6)
    assert crp["shapiro_wilk"]["normality_p"]["0"] == pytest.approx(3.32353948562129e-07, rel=1e-5)
    for method in ("lilliefors", "shapiro_wilk"):
        assert (crp[method]["test"], crp[method]["summary"]) == ("mann_whitney", "median_min_max")
        # R: wilcox.test(exact = FALSE, correct = FALSE)
        assert crp[method]["p_value"] == pytest.approx(0.0343734443393233, rel=1e-8)
        assert crp[method]["significant"] is True
    assert (crp["ks_uncorrected"]["test"], crp["ks_uncorrected"]["summary"]) == (
        "student_t",
        "mean_sd",
    )
    # R: t.test(var.equal = TRUE): significance is lost under the uncorrected K-S test
    assert crp["ks_uncorrected"]["p_value"] == pytest.approx(0.117322798975591, rel=1e-8)
    assert crp["ks_uncorrected"]["significant"] is False
    by_group = _row(res["normality"]["rows"], "by_group", "crp")["by_method"]
    assert by_group["lilliefors"]["test"] == "kruskal_wallis"
    assert by_group["lilliefors"]["p_value"] == pytest.approx(0.707524053616135, rel=1e-8)
    assert by_group["ks_uncorrected"]["test"] == "anova"
    assert by_group["ks_uncorrected"]["p_value"] == pytest.approx(0.227208810916294, rel=1e-8)
    changed = {(c["table"], c["variable"]) for c in res["normality"]["test_changed"]}
    expected = {("by_outcome", "weight"), ("by_outcome", "daily_dose"), ("by_group", "weight"),
                ("by_outcome", "crp"), ("by_group", "crp")}  # fmt: skip
    assert changed == expected
    assert res["normality"]["significance_changed"] == [{"table": "by_outcome", "variable": "crp"}]


def test_small_conclusion(small):
    _, _, res = small
    c = res["conclusion"]
    # R glm: albumin p 0.0374, diabetic nephropathy p 0.466
    assert c["albumin_independent"] is True
    assert c["diabetic_nephropathy_independent"] is False
    assert c["holds"] is True and "still holds" in c["text"]


def test_default_cohort_runs_deterministic_json(cohort, study, results):
    first = run_tests_switch(cohort, study, results)
    again = run_tests_switch(cohort, study)
    text = json.dumps(first, sort_keys=True, allow_nan=False)
    assert text == json.dumps(again, sort_keys=True, allow_nan=False)
    assert first["kind"] == "sensitivity" and first["analysis"] == "tests_switch"
    assert first["tables"] == ["table1", "table2", "table3", "table7"]
    assert "Fisher's exact test" in first["method"] and "Welch's t-test" in first["method"]
    c = first["conclusion"]
    assert {"albumin_independent", "diabetic_nephropathy_independent", "holds", "text"} <= set(c)
    assert isinstance(c["holds"], bool)
