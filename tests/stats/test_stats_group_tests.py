"""t tests, ANOVA, Levene, Mann-Whitney, Kruskal-Wallis against R
(reference/group_tests_reference.R; data reference/groups.csv with NAs and ties)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.stats import (
    kruskal_wallis,
    levene_mean,
    mann_whitney,
    one_way_anova,
    student_t,
    welch_anova,
    welch_t,
)

REF = Path(__file__).parent / "reference"


def test_student_t(groups):
    res = student_t(groups["a"], groups["b"])
    # R: t.test(a0, b0, var.equal = TRUE)
    assert res["statistic"] == pytest.approx(-1.32815663226965, rel=1e-10)
    assert res["df"] == 50
    assert res["p_value"] == pytest.approx(0.190157392550859, rel=1e-10)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx(
        (-4.42532310434785, 0.90238457361322), rel=1e-10
    )
    assert res["mean_diff"] == pytest.approx(-1.76146926536732, rel=1e-10)
    assert res["n"] == 52 and res["n_by_group"] == [23, 29]
    # R: car::leveneTest(v ~ g, center = mean)  (= anova(lm(|x - mean| ~ g)))
    assert res["levene"]["statistic"] == pytest.approx(28.421556856989, rel=1e-10)
    assert res["levene"]["p_value"] == pytest.approx(2.34630531353989e-06, rel=1e-8)
    assert res["levene"]["df"] == [1, 50]
    json.dumps(res)


def test_welch_t(groups):
    res = welch_t(groups["a"], groups["b"])
    # R: t.test(a0, b0, var.equal = FALSE)
    assert res["statistic"] == pytest.approx(-1.47341921970504, rel=1e-10)
    assert res["df"] == pytest.approx(32.4004642992635, rel=1e-10)
    assert res["p_value"] == pytest.approx(0.15028772117792, rel=1e-9)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx(
        (-4.19543849587847, 0.672499965143835), rel=1e-9
    )


def test_one_way_anova_and_levene(groups):
    groups = [groups["a"], groups["b"], groups["c"]]
    res = one_way_anova(groups)
    # R: oneway.test(v ~ g, var.equal = TRUE)
    assert res["statistic"] == pytest.approx(1.12396417868207, rel=1e-10)
    assert res["df"] == [2, 69]
    assert res["p_value"] == pytest.approx(0.330865369084437, rel=1e-9)
    # R: car::leveneTest(v ~ g, center = mean) on three groups
    assert res["levene"]["statistic"] == pytest.approx(15.7401233079641, rel=1e-10)
    assert res["levene"]["p_value"] == pytest.approx(2.33619852596999e-06, rel=1e-8)
    assert levene_mean(groups)["statistic"] == pytest.approx(15.7401233079641, rel=1e-10)


def test_welch_anova(groups):
    res = welch_anova([groups["a"], groups["b"], groups["c"]])
    # R: oneway.test(v ~ g, var.equal = FALSE)
    assert res["statistic"] == pytest.approx(2.42437869845025, rel=1e-10)
    assert res["df"][0] == 2
    assert res["df"][1] == pytest.approx(36.625179917048, rel=1e-10)
    assert res["p_value"] == pytest.approx(0.102613038202961, rel=1e-9)


def test_mann_whitney_asymptotic_tie_corrected_no_continuity(groups):
    res = mann_whitney(groups["a"], groups["b"])
    # R: wilcox.test(a0, b0, exact = FALSE, correct = FALSE) -> W = 320 (U of a0)
    assert res["statistic"] == 320
    assert res["p_value"] == pytest.approx(0.803530611965219, rel=1e-10)
    # hand (R): z = (U - n1 n2 / 2) / sigma, tie-corrected sigma
    assert res["z"] == pytest.approx(-0.248780453136733, rel=1e-10)
    assert res["u_min"] == 320 and res["ties"] is True
    assert res["method"] == "mann_whitney_asymptotic"
    swapped = mann_whitney(groups["b"], groups["a"])
    assert swapped["statistic"] == 23 * 29 - 320
    assert swapped["p_value"] == pytest.approx(res["p_value"], rel=1e-12)


def test_mann_whitney_exact_untied():
    x8 = [1.1, 2.3, 3.2, 4.8, 5.5, 6.1, 7.9, 8.4]
    y10 = [3.0, 5.0, 6.6, 7.1, 8.8, 9.2, 9.9, 10.4, 11.7, 12.5]
    res = mann_whitney(np.array(x8), np.array(y10), exact=True)
    # R: wilcox.test(x8, y10, exact = TRUE) -> W = 14, p = 0.0205219616984323
    assert res["statistic"] == 14
    assert res["p_value"] == pytest.approx(0.0205219616984323, rel=1e-10)
    assert res["method"] == "mann_whitney_exact" and res["note"] is None
    tied = mann_whitney(np.array([1.0, 2, 2, 3]), np.array([2.0, 4, 5]), exact=True)
    assert "ignores ties" in tied["note"]
    with pytest.raises(ValueError, match="exact Mann-Whitney is limited"):
        mann_whitney(np.arange(400.0), np.arange(400.0) + 0.5, exact=True)


def test_kruskal_wallis(groups):
    res = kruskal_wallis([groups["a"], groups["b"], groups["c"]])
    # R: kruskal.test(v ~ g)
    assert res["statistic"] == pytest.approx(1.61775675310714, rel=1e-10)
    assert res["df"] == 2
    assert res["p_value"] == pytest.approx(0.445357309389432, rel=1e-10)


def test_degenerate_inputs_return_none_with_note():
    res = student_t(np.array([1.0, 1.0]), np.array([1.0, 1.0, np.nan]))
    assert res["statistic"] is None and res["note"] == "both groups have zero variance"
    assert welch_t(np.array([1.0]), np.array([1.0, 2.0]))["p_value"] is None
    res = one_way_anova([np.array([1.0, 2.0]), np.array([np.nan]), np.array([3.0, 5.0])])
    assert res["df"] == [1, 2] and "dropped" in res["note"]
    assert mann_whitney(np.array([2.0, 2.0]), np.array([2.0]))["p_value"] is None
    assert kruskal_wallis([np.array([1.0]), np.array([1.0])])["p_value"] is None
    assert welch_anova([np.array([1.0, 1.0]), np.array([2.0, 3.0])])["p_value"] is None
