"""Chi-square and Fisher tests against R (reference/group_tests_reference.R)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.stats import chi_square, fisher_exact, table_from_codes

T22 = np.array([[12, 5], [7, 15]])
T33 = np.array([[8, 3, 1], [4, 6, 2], [2, 3, 7]])
T24 = np.array([[3, 0, 9, 1], [2, 0, 12, 4]])  # column 2 is empty


def test_pearson_chi_square_2x2():
    res = chi_square(T22)
    # R: chisq.test(t22, correct = FALSE)
    assert res["statistic"] == pytest.approx(5.76959611595834, rel=1e-10)
    assert res["df"] == 1
    assert res["p_value"] == pytest.approx(0.0163057815846502, rel=1e-10)
    assert res["method"] == "pearson_chi_square"
    # R: min(chisq.test(t22)$expected)
    assert res["expected_min"] == pytest.approx(8.28205128205128, rel=1e-10)
    assert res["cells_expected_lt5"] == 0 and res["cells_expected_lt5_pct"] == 0.0
    assert res["n"] == 39
    json.dumps(res)


def test_yates_chi_square_2x2():
    res = chi_square(T22, correction=True)
    # R: chisq.test(t22, correct = TRUE)
    assert res["statistic"] == pytest.approx(4.32212039121869, rel=1e-10)
    assert res["p_value"] == pytest.approx(0.0376200166348401, rel=1e-10)
    assert res["method"] == "yates_chi_square"


def test_chi_square_rxc_expected_footnote():
    res = chi_square(T33)
    # R: chisq.test(t33, correct = FALSE); min(expected); sum(expected < 5)
    assert res["statistic"] == pytest.approx(11.7, rel=1e-12)
    assert res["df"] == 4
    assert res["p_value"] == pytest.approx(0.0197273092329045, rel=1e-10)
    assert res["expected_min"] == pytest.approx(3.33333333333333, rel=1e-10)
    assert res["cells_expected_lt5"] == 9
    assert res["cells_expected_lt5_pct"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="2x2 tables only"):
        chi_square(T33, correction=True)


def test_chi_square_drops_empty_columns():
    res = chi_square(T24)
    # R: chisq.test(t24[, -2], correct = FALSE)
    assert res["statistic"] == pytest.approx(1.66544566544567, rel=1e-10)
    assert res["df"] == 2
    assert res["p_value"] == pytest.approx(0.434863611984943, rel=1e-10)
    assert res["dropped_cols"] == [1] and res["shape"] == [2, 3]
    assert "dropped" in res["note"]
    single = chi_square(np.array([[3, 0], [4, 0]]))
    assert single["p_value"] is None and "fewer than 2" in single["note"]


def test_chi_square_rejects_bad_tables():
    with pytest.raises(ValueError):
        chi_square(np.array([[1, -1], [2, 3]]))
    with pytest.raises(ValueError):
        chi_square(np.array([[1.5, 1], [2, 3]]))
    with pytest.raises(ValueError):
        chi_square(np.array([1, 2, 3]))


def test_fisher_2x2():
    res = fisher_exact(T22)
    # R: fisher.test(t22)$p.value
    assert res["p_value"] == pytest.approx(0.0248417203778233, rel=1e-9)
    # R: fisher.test(t22)$estimate = 4.90824205805703, $conf.int = 1.08780208093885,
    # 25.7663268683155 -- found by uniroot at its default tol (~1e-4), so only ~3
    # digits agree. The same R code with tol = 1e-15 (reference script, "tight")
    # gives 4.90824174240455, 1.08783600691579, 25.7854585721326:
    assert res["odds_ratio_conditional"] == pytest.approx(4.90824205805703, rel=1e-6)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((1.0878020809, 25.766326868), rel=1e-3)
    assert res["odds_ratio_conditional"] == pytest.approx(4.90824174240455, rel=1e-8)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx(
        (1.08783600691579, 25.7854585721326), rel=1e-8
    )
    # hand: sample odds ratio ad/bc = 12*15 / (5*7)
    assert res["odds_ratio"] == pytest.approx(180 / 35)
    assert res["method"] == "fisher_exact" and res["seed"] is None
    json.dumps(res)


def test_fisher_rxc_exact_network_algorithm():
    # R: fisher.test(t33)$p.value (network algorithm, exact) = 0.0347136693910042
    res = fisher_exact(T33)
    assert res["method"] == "fisher_exact"
    assert res["p_value"] == pytest.approx(0.0347136693910042, rel=1e-9)
    # R: Job <- matrix(c(1,2,1,0, 3,3,6,1, 10,10,14,9, 6,7,12,11), 4, 4)
    #    fisher.test(Job)$p.value = 0.782684938965639 (R's ?fisher.test example)
    job = np.array([[1, 3, 10, 6], [2, 3, 10, 7], [1, 6, 14, 12], [0, 1, 9, 11]])
    assert fisher_exact(job)["p_value"] == pytest.approx(0.782684938965639, rel=1e-9)


def test_fisher_rxc_monte_carlo_close_to_exact_and_seeded():
    res = fisher_exact(T33, n_resamples=20_000, exact_rxc=False)
    # R: fisher.test(t33)$p.value (network algorithm, exact) = 0.0347136693910042;
    # Monte Carlo SE at B = 20000 is ~0.0013, so +-0.01 is > 7 SE
    assert res["p_value"] == pytest.approx(0.0347136693910042, abs=0.01)
    assert res["method"] == "fisher_exact_monte_carlo"
    assert res["seed"] == 20200543 and res["n_resamples"] == 20_000
    again = fisher_exact(T33, n_resamples=20_000, exact_rxc=False)
    assert again["p_value"] == res["p_value"]  # same seed -> identical
    other = fisher_exact(T33, n_resamples=20_000, seed=1, exact_rxc=False)
    assert other["p_value"] != res["p_value"]


def test_fisher_rxc_empty_column_dropped():
    res = fisher_exact(T24)
    # R: fisher.test(t24[, -2])$p.value = 0.489158646483214
    assert res["p_value"] == pytest.approx(0.489158646483214, rel=1e-9)
    assert res["dropped_cols"] == [1]


def test_fisher_rxc_large_n_no_underflow():
    # n = 60 000: table probabilities underflow on the linear scale; independence
    # holds exactly in expectation here, so p must be far from 0.
    t = np.array([[10_000, 10_000, 10_000], [10_000, 10_020, 9_980]])
    res = fisher_exact(t, n_resamples=2_000, exact_rxc=False)
    assert 0.5 < res["p_value"] <= 1.0


def test_table_from_codes_hand_count():
    x = np.array([1, 2, 2, np.nan, 1, 2, 1])
    y = np.array(["n", "y", "y", "y", None, "n", "y"], dtype=object)
    t = table_from_codes(x, y, [1, 2], ["n", "y"])
    # hand: complete pairs (1,n) (2,y) (2,y) (2,n) (1,y)
    np.testing.assert_array_equal(t, [[1, 1], [1, 2]])
    assert t.dtype == np.int64
    with pytest.raises(ValueError, match="'z' is not one of"):
        table_from_codes(x, np.array(["z"] * 7, dtype=object), [1, 2], ["n", "y"])
    with pytest.raises(ValueError, match="same length"):
        table_from_codes(x[:3], y, [1, 2], ["n", "y"])
