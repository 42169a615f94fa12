"""Normality tests against R (reference/group_tests_reference.R).

R's nortest::lillie.test and statsmodels' ``pvalmethod="approx"`` share the
Dallal-Wilkinson formula (with the (n/100)^0.49 rescaling for n > 100) for
p <= 0.1, so there p is compared tightly. Above 0.1 nortest switches to
Stephens' (1974) modified-statistic polynomial and statsmodels to its
simulated table, so p is only compared loosely (the decision at 0.05 and the
SPSS ".200*" floor are what matter).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import ks_uncorrected, lilliefors, normality, shapiro_wilk

REF = Path(__file__).parent / "reference"


def test_lilliefors_dallal_wilkinson_branch(groups):
    res = lilliefors(groups["b"])
    # R: nortest::lillie.test(b0) -> D = 0.158927798906085, p = 0.0591241223332258
    assert res["statistic"] == pytest.approx(0.158927798906085, rel=1e-10)
    assert res["p_value"] == pytest.approx(0.0591241223332258, rel=1e-6)
    assert res["n"] == 29 and res["method"] == "lilliefors"
    assert res["p_is_lower_bound"] is False and res["p_display_floor"] is None


def test_lilliefors_large_n_rescaling():
    x = pd.read_csv(REF / "skewed150.csv")["value"].to_numpy()
    res = lilliefors(x)
    # R: lillie.test(skewed150) -> D = 0.196153534501613, p = 1.70952626901752e-15
    assert res["statistic"] == pytest.approx(0.196153534501613, rel=1e-10)
    assert res["p_value"] == pytest.approx(1.70952626901752e-15, rel=1e-6)


def test_lilliefors_above_0_1_loose(groups):
    res = lilliefors(groups["a"])
    # R: lillie.test(a0) -> D = 0.159700796142294, p = 0.133595655685788 (Stephens
    # polynomial; statsmodels uses its table here: compare loosely)
    assert res["statistic"] == pytest.approx(0.159700796142294, rel=1e-10)
    assert res["p_value"] == pytest.approx(0.133595655685788, abs=0.03)
    assert res["p_is_lower_bound"] is False


def test_lilliefors_spss_floor(groups):
    res = lilliefors(groups["c"])
    # R: lillie.test(c0) -> D = 0.0854718049251736, p = 0.964094680795023
    assert res["statistic"] == pytest.approx(0.0854718049251736, rel=1e-10)
    assert res["p_value"] >= 0.2
    assert res["p_is_lower_bound"] is True and res["p_display_floor"] == 0.2


def test_lilliefors_small_and_constant():
    res = lilliefors(np.array([1.0, 2.0, np.nan, 3.0]))
    assert res["p_value"] is None and res["n"] == 3 and "n >= 4" in res["note"]
    res = lilliefors(np.full(10, 2.5))
    assert res["statistic"] is None and "SD = 0" in res["note"]


def test_ks_uncorrected_matches_r(groups):
    res = ks_uncorrected(groups["b"])
    # R: ks.test(b0, "pnorm", mean(b0), sd(b0), exact = FALSE); R sums the Kolmogorov
    # series only to tol = 1e-6 (C_pKS2), hence rel=1e-5
    assert res["statistic"] == pytest.approx(0.158927798906085, rel=1e-10)
    assert res["p_value"] == pytest.approx(0.456472681591219, rel=1e-5)
    assert res["z"] == pytest.approx(0.158927798906085 * np.sqrt(29), rel=1e-10)
    res = ks_uncorrected(groups["a"])
    # R: ks.test(a0, "pnorm", mean(a0), sd(a0), exact = FALSE)
    assert res["p_value"] == pytest.approx(0.600480732483499, rel=1e-5)


def test_shapiro_matches_r(groups):
    res = shapiro_wilk(groups["b"])
    # R: shapiro.test(b0)
    assert res["statistic"] == pytest.approx(0.921731763725529, rel=1e-6)
    assert res["p_value"] == pytest.approx(0.0337404359028685, rel=1e-6)
    res = shapiro_wilk(groups["a"])
    # R: shapiro.test(a0)
    assert res["statistic"] == pytest.approx(0.954353989431599, rel=1e-6)
    assert res["p_value"] == pytest.approx(0.359255714411919, rel=1e-6)


def test_dispatcher(groups):
    assert normality(groups["b"], "lilliefors")["method"] == "lilliefors"
    assert normality(groups["b"], "ks_uncorrected")["method"] == "ks_uncorrected"
    assert normality(groups["b"], "shapiro_wilk")["method"] == "shapiro_wilk"
    with pytest.raises(ValueError, match="unknown normality method"):
        normality(groups["b"], "anderson")
