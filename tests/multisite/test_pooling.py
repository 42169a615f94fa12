"""The pooling mathematics against independent values: scipy / statsmodels on the
concatenated rows, R (4.2.2) and published examples, or a hand calculation written out.
No expected number here was produced by ``analysis.multisite.pooling`` itself."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis.multisite import pooling

REL = 1e-10


# ------------------------------------------------------------------ helpers


def _r_array(values: list[float], dim: tuple[int, int, int]) -> list[np.ndarray]:
    """An R array(values, dim = c(R, C, K)) (filled column-major) as K R x C tables."""
    rows, cols, strata = dim
    arr = np.asarray(values, dtype=float).reshape(strata, cols, rows).transpose(0, 2, 1)
    return list(arr)


def _split(values: np.ndarray, sizes: tuple[int, ...]) -> list[np.ndarray]:
    return np.split(values, np.cumsum(sizes)[:-1])


@pytest.fixture(scope="module")
def groups() -> list[np.ndarray]:
    """Three groups of a continuous variable with a large mean (a test of stability)."""
    rng = np.random.default_rng(20261204)
    return [rng.normal(1e5 + shift, 3.0, size) for shift, size in ((0, 61), (1.2, 47), (0.5, 52))]


def _site_moments(values: np.ndarray) -> pooling.Moments:
    """The group's moments as three sites would send them, pooled by the coordinator."""
    third = values.size // 3
    parts = _split(values, (third, third + 5, values.size - 2 * third - 5))
    return pooling.combine_moments([pooling.moments(p) for p in parts])


# ------------------------------------------------------------------ 1. moments


def test_pooled_moments_equal_the_concatenated_mean_and_sd(groups):
    for values in groups:
        m = _site_moments(values)
        mean, sd = pooling.mean_sd(m)
        assert m.n == values.size
        assert mean == pytest.approx(np.mean(values), rel=REL)
        assert sd == pytest.approx(np.std(values, ddof=1), rel=REL)
        assert m.ss == pytest.approx(np.sum((values - values.mean()) ** 2), rel=1e-9)


def test_moments_drop_missing_and_sd_needs_two_values():
    m = pooling.moments([2.0, np.nan, 4.0])
    assert (m.n, m.total, m.ss) == (2, 6.0, 2.0)  # mean 3, deviations -1 and 1
    assert pooling.mean_sd(pooling.moments([5.0])) == (5.0, None)
    assert pooling.mean_sd(pooling.moments([np.nan])) == (None, None)
    empty = pooling.Moments(0, 0.0, 0.0)
    # 1 and 3: n 2, sum 4, deviations from the mean 2 are -1 and 1
    assert pooling.combine_moments([empty, pooling.moments([1.0, 3.0])]) == pooling.Moments(
        2, 4.0, 2.0
    )


def test_student_t_equals_scipy_on_the_concatenated_data(groups):
    a, b = groups[0], groups[1]
    got = pooling.student_t(_site_moments(a), _site_moments(b))
    ref = stats.ttest_ind(a, b, equal_var=True)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=REL)
    assert got["pvalue"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert got["df"] == a.size + b.size - 2
    ci = ref.confidence_interval(0.95)
    assert got["mean_diff"] == pytest.approx(a.mean() - b.mean(), rel=1e-9)
    assert got["se_diff"] == pytest.approx((a.mean() - b.mean()) / ref.statistic, rel=1e-9)
    assert got["ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert got["ci_high"] == pytest.approx(ci.high, rel=1e-9)


def test_welch_t_equals_scipy_on_the_concatenated_data(groups):
    a, b = groups[0], groups[2]
    got = pooling.welch_t(_site_moments(a), _site_moments(b))
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=REL)
    assert got["pvalue"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert got["df"] == pytest.approx(ref.df, rel=REL)
    ci = ref.confidence_interval(0.95)
    assert got["ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert got["ci_high"] == pytest.approx(ci.high, rel=1e-9)


def test_one_way_anova_equals_scipy_on_the_concatenated_data(groups):
    got = pooling.one_way_anova([_site_moments(g) for g in groups])
    ref = stats.f_oneway(*groups)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=REL)
    assert got["pvalue"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert (got["df_between"], got["df_within"]) == (2, sum(g.size for g in groups) - 3)


def test_site_adjusted_anova_by_hand():
    # Site A: group 0 {1, 3}, group 1 {5, 7}; site B: {11, 13}, {15, 17}. The cell means
    # (2, 6; 12, 16) are exactly additive, so the residual SS is the within-cell SS,
    # 4 x 2 = 8 on 8 - 3 = 5 df. Site alone fits the site means 4 and 14, leaving
    # 8 + 2 x (4 + 4 + 4 + 4) = 40: the group SS is 40 - 8 = 32 on 1 df, F = 32 / (8 / 5).
    cells = [
        [pooling.moments([1, 3]), pooling.moments([5, 7])],
        [pooling.moments([11, 13]), pooling.moments([15, 17])],
    ]
    got = pooling.site_adjusted_anova(cells)
    assert got["statistic"] == pytest.approx(20.0, rel=REL)
    assert (got["df_between"], got["df_within"]) == (1, 5)
    assert got["pvalue"] == pytest.approx(stats.f.sf(20.0, 1, 5), rel=1e-12)


def test_site_adjusted_anova_equals_r():
    # R 4.2.2: y, site and group as below, then
    #   anova(lm(y ~ site + group))   # group last: its sequential SS is the Type II one
    # group: Df 2, F 22.281944659011, Pr(>F) 4.15099044338479e-06; Residuals Df 23.
    sites = [
        [[5.1, 6.3, 4.8, 7.2], [8.0, 7.7, 9.1], [6.6, 5.9]],
        [[9.4, 10.2, 8.8], [11.5, 12.1, 10.9, 13.0], [12.2, 11.8]],
        [[3.3, 4.1, 2.9, 3.8, 4.4], [5.6, 6.2], [5.0, 4.7, 5.5]],
    ]
    got = pooling.site_adjusted_anova([[pooling.moments(v) for v in line] for line in sites])
    assert got["statistic"] == pytest.approx(22.281944659011, rel=1e-10)
    assert got["pvalue"] == pytest.approx(4.15099044338479e-06, rel=1e-9)
    assert (got["df_between"], got["df_within"]) == (2, 23)


def _ols_group_f(sites: list[list[np.ndarray]]) -> tuple[float, float, float, float]:
    """F, p and dfs of group in OLS value ~ C(site) + C(group), Type II, on the rows."""
    import pandas as pd
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    rows = [(s, g, v) for s, line in enumerate(sites) for g, vals in enumerate(line) for v in vals]
    frame = pd.DataFrame(rows, columns=["site", "group", "value"])
    table = anova_lm(ols("value ~ C(site) + C(group)", frame).fit(), typ=2)
    line = table.loc["C(group)"]
    return line["F"], line["PR(>F)"], line["df"], table.loc["Residual", "df"]


@pytest.mark.parametrize("n_groups", [2, 3])
def test_site_adjusted_anova_equals_statsmodels_on_the_concatenated_rows(n_groups):
    # Unbalanced cells, sites with different levels and group effects that differ a
    # little by site, and a large mean (stability of the moments).
    rng = np.random.default_rng(7 + n_groups)
    sizes = [(31, 12, 20), (55, 70, 9), (8, 14, 40)]
    sites = [
        [
            rng.normal(1e4 + 5.0 * s + 1.5 * g + 0.3 * s * g, 2.0 + g, sizes[s][g])
            for g in range(n_groups)
        ]
        for s in range(3)
    ]
    got = pooling.site_adjusted_anova([[pooling.moments(v) for v in line] for line in sites])
    f, p, df_group, df_resid = _ols_group_f(sites)
    assert got["statistic"] == pytest.approx(f, rel=1e-8)
    assert got["pvalue"] == pytest.approx(p, rel=1e-7)
    assert (got["df_between"], got["df_within"]) == (df_group, df_resid)


def test_site_adjusted_anova_with_a_group_absent_at_one_site():
    rng = np.random.default_rng(11)
    sites = [
        [rng.normal(0, 1, 25), rng.normal(1, 1, 30), rng.normal(2, 1, 18)],
        [rng.normal(3, 1, 40), rng.normal(4, 1, 22), np.array([])],
        [rng.normal(1, 1, 15), rng.normal(2, 1, 35), rng.normal(3, 1, 28)],
    ]
    got = pooling.site_adjusted_anova([[pooling.moments(v) for v in line] for line in sites])
    f, p, df_group, df_resid = _ols_group_f(sites)
    assert got["statistic"] == pytest.approx(f, rel=1e-8)
    assert got["pvalue"] == pytest.approx(p, rel=1e-7)
    assert (got["df_between"], got["df_within"]) == (df_group, df_resid)


def test_site_adjusted_anova_of_one_site_is_the_one_way_anova(groups):
    got = pooling.site_adjusted_anova([[pooling.moments(g) for g in groups]])
    ref = stats.f_oneway(*groups)
    assert got["statistic"] == pytest.approx(ref.statistic, rel=1e-8)
    assert got["pvalue"] == pytest.approx(ref.pvalue, rel=1e-7)


def test_site_adjusted_anova_needs_both_groups_within_some_site():
    # Each site saw one group only: group and site are confounded, nothing to test.
    cells = [
        [pooling.moments([1.0, 2.0, 4.0]), None],
        [pooling.Moments(0, 0.0, 0.0), pooling.moments([5.0, 6.5, 7.0])],
    ]
    assert pooling.site_adjusted_anova(cells) is None


# ------------------------------------------------------------------ 2. categorical rows

# R's ?mantelhaen.test "Rabbits": penicillin level (5 strata) x delay x response,
# Agresti (2002, p. 230). array(c(...), dim = c(2, 2, 5)).
RABBITS = [0, 0, 6, 5, 3, 0, 3, 6, 6, 2, 0, 4, 5, 6, 1, 0, 2, 5, 0, 0]
# Made-up 3 x 2 x 3 (3 levels, 2 groups, 3 sites) and 2 x 3 x 4 (2 levels, 3 groups, 4 sites).
X32 = [10, 7, 3, 6, 9, 8, 12, 5, 6, 8, 8, 11, 4, 6, 2, 3, 5, 7]
X23 = [5, 9, 7, 6, 12, 3, 8, 8, 10, 4, 9, 2, 3, 7, 4, 6, 8, 5, 6, 11, 7, 7, 13, 4]


def test_cmh_2x2_equals_r_on_the_rabbits_data():
    # R 4.2.2: r <- mantelhaen.test(Rabbits, correct = FALSE)
    #   statistic 5.65714285714286, df 1, p.value 0.0173844203520662,
    #   estimate 7, conf.int 1.02671268846167 47.72513338022257
    # (with correct = TRUE: 3.92857142857143, as in ?mantelhaen.test and Agresti 2002)
    got = pooling.cmh(_r_array(RABBITS, (2, 2, 5)))
    assert got["method"] == "mantel_haenszel_2x2"
    assert got["statistic"] == pytest.approx(5.65714285714286, rel=1e-12)
    assert got["df"] == 1
    assert got["pvalue"] == pytest.approx(0.0173844203520662, rel=1e-12)
    assert got["common_odds_ratio"] == pytest.approx(7.0, rel=1e-12)
    assert got["or_ci_low"] == pytest.approx(1.02671268846167, rel=1e-12)
    assert got["or_ci_high"] == pytest.approx(47.72513338022257, rel=1e-12)
    # Strata 1 and 5 have an empty column (nobody cured / nobody died): no information.
    assert (got["strata"], got["strata_used"]) == (5, 3)
    # Breslow-Day without Tarone's adjustment, by hand in R 4.2.2 (no package has it in
    # base R): over strata 2-4, psi <- mantelhaen.test(Rabbits)$estimate; for each
    # stratum solve a (n2 - m1 + a) = psi (n1 - a) (m1 - a) with uniroot(tol = 1e-14),
    # v <- 1 / (1/a + 1/(n1 - a) + 1/(m1 - a) + 1/(n2 - m1 + a)); BD = sum (x11 - a)^2 / v
    #   -> bd 8.627331762365070, df 2, p 0.013384393951994
    bd = got["breslow_day"]
    assert bd["statistic"] == pytest.approx(8.627331762365070, rel=1e-9)
    assert bd["df"] == 2
    assert bd["pvalue"] == pytest.approx(0.013384393951994, rel=1e-9)


def test_naive_chi_square_equals_r_on_the_summed_table():
    # R 4.2.2: chisq.test(apply(Rabbits, c(1, 2), sum), correct = FALSE)
    #   X-squared 1.237968927624099, df 1, p 0.265862850332884
    got = pooling.naive_chi_square(_r_array(RABBITS, (2, 2, 5)))
    assert got["statistic"] == pytest.approx(1.237968927624099, rel=1e-12)
    assert got["df"] == 1
    assert got["pvalue"] == pytest.approx(0.265862850332884, rel=1e-12)
    # x32 <- array(c(10, 7, 3, 6, 9, 8, 12, 5, 6, 8, 8, 11, 4, 6, 2, 3, 5, 7), dim = c(3, 2, 3))
    # chisq.test(apply(x32, c(1, 2), sum), correct = FALSE)
    #   X-squared 7.584136291113036, df 2, p 0.022548919147509
    got = pooling.naive_chi_square(_r_array(X32, (3, 2, 3)))
    assert got["statistic"] == pytest.approx(7.584136291113036, rel=1e-12)
    assert got["df"] == 2
    assert got["pvalue"] == pytest.approx(0.022548919147509, rel=1e-11)
    # The summed table [[26, 17], [18, 22], [11, 26]]: the smallest expected count is
    # 37 * 55 / 120 = 16.958..., none below 5.
    assert got["min_expected"] == pytest.approx(37 * 55 / 120, rel=1e-12)
    assert got["cells_expected_below_5"] == 0


def test_generalized_cmh_3x2_equals_r():
    # R 4.2.2: mantelhaen.test(x32) (x32 as above)
    #   Cochran-Mantel-Haenszel M^2 7.3752127010119, df 2, p 0.02503184785871
    got = pooling.cmh(_r_array(X32, (3, 2, 3)))
    assert got["method"] == "generalized_cmh"
    assert got["statistic"] == pytest.approx(7.3752127010119, rel=1e-12)
    assert got["df"] == 2
    assert got["pvalue"] == pytest.approx(0.02503184785871, rel=1e-11)
    assert got["breslow_day"] is None
    assert "not applicable" in got["note"]


def test_generalized_cmh_2x3_equals_r():
    # R 4.2.2: x23 <- array(c(5, 9, 7, 6, 12, 3, 8, 8, 10, 4, 9, 2, 3, 7, 4, 6, 8, 5,
    #                        6, 11, 7, 7, 13, 4), dim = c(2, 3, 4)); mantelhaen.test(x23)
    #   Cochran-Mantel-Haenszel M^2 16.4995293704251, df 2, p 0.00026132004253746
    got = pooling.cmh(_r_array(X23, (2, 3, 4)))
    assert got["method"] == "generalized_cmh"
    assert got["statistic"] == pytest.approx(16.4995293704251, rel=1e-12)
    assert got["df"] == 2
    assert got["pvalue"] == pytest.approx(0.00026132004253746, rel=1e-11)


def test_generalized_cmh_with_an_empty_level_at_one_site_equals_r():
    # R 4.2.2: x32 with a 4th stratum [[5, 4], [0, 0], [3, 6]] (level 2 absent there):
    # mantelhaen.test(array(c(x32, 5, 0, 3, 4, 0, 6), dim = c(3, 2, 4)))
    #   M^2 8.1013491698025462, df 2, p 0.0174106257318808
    got = pooling.cmh(_r_array([*X32, 5, 0, 3, 4, 0, 6], (3, 2, 4)))
    assert got["statistic"] == pytest.approx(8.1013491698025462, rel=1e-12)
    assert got["pvalue"] == pytest.approx(0.0174106257318808, rel=1e-11)
    assert got["strata_used"] == 4


def test_a_site_without_information_and_an_empty_level_change_nothing():
    """A site with one non-empty column contributes nothing, and a level no site has is
    dropped: the values stay R's mantelhaen.test(x32) (7.3752127010119, above)."""
    tables = _r_array(X32, (3, 2, 3))
    tables.append(np.array([[4.0, 0.0], [2.0, 0.0], [7.0, 0.0]]))  # one group only
    padded = [np.vstack([t, [[0.0, 0.0]]]) for t in tables]  # a 4th level nobody has
    got = pooling.cmh(padded)
    assert got["statistic"] == pytest.approx(7.3752127010119, rel=1e-12)
    assert got["df"] == 2
    assert (got["strata"], got["strata_used"], got["dropped_rows"]) == (4, 3, [3])
    assert "dropped" in got["note"] and "contribute nothing" in got["note"]
    naive = pooling.naive_chi_square(padded)
    assert naive["dropped_rows"] == [3] and naive["df"] == 2
    # and a 2 x 2 row whose every site has a zero margin: nothing to test, no crash
    empty = pooling.cmh([np.array([[3.0, 0.0], [4.0, 0.0]]), np.array([[0.0, 0.0], [2.0, 5.0]])])
    assert empty["statistic"] is None and empty["pvalue"] is None
    json.dumps(got), json.dumps(naive), json.dumps(empty)


# ------------------------------------------------------------------ 3. rank-based rows


def test_rank_stratum_by_hand():
    # Values 1, 3, 3 (group 1) and 2, 3, 5 (group 2). Sorted: 1 (rank 1), 2 (rank 2),
    # 3, 3, 3 (ranks 3, 4, 5: midrank 4), 5 (rank 6). Rank sums: 1 + 4 + 4 = 9 and
    # 2 + 4 + 6 = 12. Ties: one set of t = 3, t^3 - t = 24.
    got = pooling.rank_stratum([np.array([1.0, 3.0, 3.0, np.nan]), np.array([2.0, 3.0, 5.0])])
    assert got == {"N": 6, "n": [3, 3], "rank_sum": [9.0, 12.0], "tie_term": 24.0}
    assert isinstance(got["tie_term"], float)  # not a count of patients
    # One site: E R1 = 3 * 7 / 2 = 10.5; Var R1 = n1 n2 (N + 1) / 12 - n1 n2 * 24 / (12 N (N - 1))
    # = 63 / 12 - 216 / 360 = 5.25 - 0.6 = 4.65 (the weight 1/(N + 1) cancels);
    # Z = (9 - 10.5) / sqrt(4.65).
    ve = pooling.van_elteren([got])
    assert ve["z"] == pytest.approx(-1.5 / math.sqrt(4.65), rel=1e-12)


def test_one_site_van_elteren_is_kruskal_wallis_and_mann_whitney():
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 12, 23).astype(float), rng.integers(2, 14, 31).astype(float)
    ve = pooling.van_elteren([pooling.rank_stratum([a, b])])
    assert ve["z"] ** 2 == pytest.approx(stats.kruskal(a, b).statistic, rel=REL)
    mw = stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=False)
    assert ve["pvalue"] == pytest.approx(mw.pvalue, rel=1e-9)
    c = rng.integers(1, 13, 17).astype(float)
    general = pooling.stratified_rank_test([pooling.rank_stratum([a, b, c])])
    kw = stats.kruskal(a, b, c)
    assert general["statistic"] == pytest.approx(kw.statistic, rel=REL)
    assert general["df"] == 2
    assert general["pvalue"] == pytest.approx(kw.pvalue, rel=1e-9)


# Three sites, three groups, with ties. Same data in the R call below.
RANK_SITES = {
    "A": ([3, 5, 5, 7, 8], [4, 6, 7, 9, 9, 10], [2, 5, 6]),
    "B": ([12, 15, 11, 15], [14, 16, 18, 15], [13, 19, 17, 20]),
    "C": ([1, 1, 2, 3], [2, 4, 4, 5, 6], [3, 7]),
}
# R 4.2.2, coin 1.4-2 (midranks within site scaled by 1 / (N_site + 1): modified ridit
# scores; conditional (permutation) covariance within each site):
#   d <- data.frame(y = <the values above, site A group 1, 2, 3, then B, then C>,
#                   g = factor(<group>), site = factor(<site>))
#   ve <- function(data) trafo(data, numeric_trafo = function(y) rank_trafo(y) /
#                              (length(y) + 1), block = d2$site)
#   d2 <- droplevels(subset(d, g != 3))
#   independence_test(y ~ g | site, data = d2, teststat = "scalar",
#                     distribution = "asymptotic", ytrafo = ve)
#     -> Z = -2.84589807841034, p = 0.00442863671116094
#   d2 <- d; independence_test(y ~ g | site, data = d, teststat = "quadratic",
#                              distribution = "asymptotic", ytrafo = ve)
#     -> chi2 = 7.71225285024128, df = 2, p = 0.0211497662593003
R_VAN_ELTEREN_Z, R_VAN_ELTEREN_P = -2.84589807841034, 0.00442863671116094
R_STRATIFIED_CHI2, R_STRATIFIED_P = 7.71225285024128, 0.0211497662593003


def _strata(n_groups: int) -> list[dict]:
    return [
        pooling.rank_stratum([np.asarray(g, dtype=float) for g in site[:n_groups]])
        for site in RANK_SITES.values()
    ]


def test_van_elteren_equals_r_coin():
    got = pooling.van_elteren(_strata(2))
    assert got["statistic"] == pytest.approx(R_VAN_ELTEREN_Z, rel=1e-12)
    assert got["pvalue"] == pytest.approx(R_VAN_ELTEREN_P, rel=1e-11)
    assert got["strata_used"] == 3


def test_van_elteren_leaves_out_a_group_empty_at_every_site():
    strata = [
        pooling.rank_stratum([np.asarray(g, dtype=float) for g in (*site[:2], [])])
        for site in RANK_SITES.values()
    ]
    got = pooling.van_elteren(strata)
    assert got["statistic"] == pytest.approx(R_VAN_ELTEREN_Z, rel=1e-12)
    with pytest.raises(ValueError, match="two groups"):
        pooling.van_elteren(_strata(3))


def test_stratified_rank_test_equals_r_coin():
    got = pooling.stratified_rank_test(_strata(3))
    assert got["statistic"] == pytest.approx(R_STRATIFIED_CHI2, rel=1e-12)
    assert got["df"] == 2
    assert got["pvalue"] == pytest.approx(R_STRATIFIED_P, rel=1e-11)


def test_stratified_rank_test_with_two_groups_is_van_elteren_squared():
    two = pooling.stratified_rank_test(_strata(2))
    assert two["df"] == 1
    assert two["statistic"] == pytest.approx(R_VAN_ELTEREN_Z**2, rel=1e-12)
    assert two["pvalue"] == pytest.approx(R_VAN_ELTEREN_P, rel=1e-11)


def test_rank_aggregates_survive_json_and_a_group_absent_at_one_site():
    strata = json.loads(json.dumps(_strata(3)))
    assert pooling.stratified_rank_test(strata)["statistic"] == pytest.approx(
        R_STRATIFIED_CHI2, rel=1e-12
    )
    # A fourth site where group 3 is empty still adds its groups 1 and 2 (no crash).
    extra = pooling.rank_stratum([np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([])])
    got = pooling.stratified_rank_test([*strata, extra])
    assert got["df"] == 2 and got["strata_used"] == 4 and got["statistic"] > 0


# ------------------------------------------------------------------ 4. meta-analysis

# BCG vaccine trials (Colditz et al. 1994), metafor's dat.bcg: tpos, tneg, cpos, cneg.
BCG = [
    (4, 119, 11, 128),
    (6, 300, 29, 274),
    (3, 228, 11, 209),
    (62, 13536, 248, 12619),
    (33, 5036, 47, 5761),
    (180, 1361, 372, 1079),
    (8, 2537, 10, 619),
    (505, 87886, 499, 87892),
    (29, 7470, 45, 7232),
    (17, 1699, 65, 1600),
    (186, 50448, 141, 27197),
    (5, 2493, 3, 2338),
    (27, 16886, 29, 17825),
]


def _log_rr(tpos: int, tneg: int, cpos: int, cneg: int) -> tuple[float, float]:
    """metafor's escalc(measure = "RR"): log relative risk and its variance."""
    n1, n2 = tpos + tneg, cpos + cneg
    return math.log(tpos / n1) - math.log(cpos / n2), 1 / tpos - 1 / n1 + 1 / cpos - 1 / n2


def test_meta_analysis_equals_metafor_on_the_bcg_trials():
    # R 4.2.2, metafor 3.8.1:
    #   dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    #   re <- rma(yi, vi, data = dat, method = "DL"); fe <- rma(yi, vi, data = dat, method = "FE")
    # Viechtbauer (2010), J Stat Softw 36(3), reports the DL fit: -0.7141, tau^2 0.3088,
    # I^2 92.12 %, Q(12) = 152.2330.
    est, var = zip(*(_log_rr(*trial) for trial in BCG), strict=True)
    labels = [f"trial {i}" for i in range(1, 14)]
    got = pooling.meta_analysis(list(est), list(var), labels)
    re, fe = got["random"], got["fixed"]
    assert re["estimate"] == pytest.approx(-7.14117222073227e-01, rel=1e-11)
    assert re["se"] == pytest.approx(1.78742089535403e-01, rel=1e-11)
    assert re["ci_low"] == pytest.approx(-1.06444528008405, rel=1e-11)
    assert re["ci_high"] == pytest.approx(-3.63789164062403e-01, rel=1e-11)
    assert got["tau2"] == pytest.approx(3.08760262862376e-01, rel=1e-11)
    assert got["i2"] == pytest.approx(0.921173468545621, rel=1e-11)  # metafor: 92.1173 %
    assert got["q"] == pytest.approx(1.52233008082373e02, rel=1e-11)
    assert got["q_df"] == 12
    assert got["q_pvalue"] == pytest.approx(1.99676459084597e-26, rel=1e-8)
    assert fe["estimate"] == pytest.approx(-0.4302851636540909, rel=1e-11)
    assert fe["se"] == pytest.approx(0.0404987517108638, rel=1e-11)
    assert fe["ci_low"] == pytest.approx(-0.5096612584262139, rel=1e-11)
    assert fe["ci_high"] == pytest.approx(-0.3509090688819679, rel=1e-11)
    # predict(re) in metafor 3.8.1 uses the normal quantile: pi -1.858153752732168,
    # 0.429919308585714. We use Higgins et al.'s t on k - 2 df, computed in R as
    #   h <- qt(0.975, re$k - 2) * sqrt(re$tau2 + re$se^2); re$beta +- h
    #   -> -1.998838495752118, 0.570604051605664
    pi = got["prediction_interval"]
    assert (pi["distribution"], pi["df"]) == ("t", 11)
    assert pi["low"] == pytest.approx(-1.998838495752118, rel=1e-11)
    assert pi["high"] == pytest.approx(0.570604051605664, rel=1e-11)
    normal_half = 1.959963984540054 * math.sqrt(got["tau2"] + re["se"] ** 2)
    assert re["estimate"] - normal_half == pytest.approx(-1.858153752732168, rel=1e-11)
    # weights(re), weights(fe), in %
    r_random = [
        5.03649168323173,
        6.34732918264198,
        4.41202722473061,
        9.71764635681429,
        8.87537738165672,
        10.12106041934518,
        6.00791382572125,
        10.21634253328429,
        8.74841677655812,
        8.36825172426313,
        9.94753189514472,
        3.79769662242323,
        8.40391437418475,
    ]
    r_fixed = [
        0.503754802568308,
        0.842912651727497,
        0.394866486317794,
        8.196633059610312,
        3.202779488233885,
        23.750934121400952,
        0.735435894753549,
        41.401389870996276,
        2.906302536484126,
        2.246016467817258,
        13.213991427285180,
        0.308005800297218,
        2.296977392507657,
    ]
    assert [got["weights_random_pct"][x] for x in labels] == pytest.approx(r_random, rel=1e-11)
    assert [got["weights_fixed_pct"][x] for x in labels] == pytest.approx(r_fixed, rel=1e-11)
    json.dumps(got)


def test_meta_analysis_truncates_a_negative_tau2_as_metafor():
    # R 4.2.2, metafor 3.8.1: rma(yi = c(0.1, 0.11, 0.12), vi = c(0.04, 0.09, 0.05), method = "DL")
    #   estimate 0.10910891089108911, se 0.13349824784699543, tau2 0, I2 0,
    #   QE 0.00445544554455445, weights 44.5544554455445 19.8019801980198 35.6435643564356
    got = pooling.meta_analysis([0.1, 0.11, 0.12], [0.04, 0.09, 0.05], ["a", "b", "c"])
    assert got["tau2"] == 0.0 and got["i2"] == 0.0
    assert got["random"]["estimate"] == pytest.approx(0.10910891089108911, rel=1e-12)
    assert got["random"]["se"] == pytest.approx(0.13349824784699543, rel=1e-12)
    assert got["q"] == pytest.approx(0.00445544554455445, rel=1e-11)
    assert list(got["weights_random_pct"].values()) == pytest.approx(
        [44.5544554455445, 19.8019801980198, 35.6435643564356], rel=1e-12
    )
    assert got["notes"]


def test_meta_analysis_of_two_sites_has_no_prediction_interval():
    got = pooling.meta_analysis([0.2, 0.5], [0.01, 0.02])
    assert got["prediction_interval"] is None
    assert any("three or more" in n for n in got["notes"])
    # Fixed effect by hand: weights 100 and 50; (100 * 0.2 + 50 * 0.5) / 150 = 0.3,
    # se = sqrt(1 / 150).
    assert got["fixed"]["estimate"] == pytest.approx(0.3, rel=1e-12)
    assert got["fixed"]["se"] == pytest.approx(math.sqrt(1 / 150), rel=1e-12)
    assert got["weights_fixed_pct"] == pytest.approx({"1": 200 / 3, "2": 100 / 3}, rel=1e-12)


# ------------------------------------------------------------------ 5. distributed logistic


@pytest.fixture(scope="module")
def logistic_sites() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(42)
    sites = []
    for n, shift in ((400, 0.0), (650, 0.5), (250, -0.3)):
        x1 = rng.normal(shift, 1.0, n)
        x2 = rng.integers(0, 2, n).astype(float)
        X = np.column_stack([np.ones(n), x1, x2])
        p = 1 / (1 + np.exp(-(-0.4 + 0.8 * x1 - 0.6 * x2 + 0.3 * shift)))
        sites.append((X, (rng.random(n) < p).astype(float)))
    return sites


def test_distributed_fit_equals_statsmodels_on_the_concatenated_data(logistic_sites):
    callers = [
        lambda beta, X=X, y=y: pooling.site_contribution(X, y, beta) for X, y in logistic_sites
    ]
    got = pooling.fit_distributed(callers, n_params=3)
    X = np.vstack([X for X, _ in logistic_sites])
    y = np.concatenate([y for _, y in logistic_sites])
    ref = sm.Logit(y, X).fit(method="newton", tol=1e-12, disp=False)
    assert got["converged"] and got["iterations"] < 20
    assert got["params"] == pytest.approx(list(ref.params), abs=1e-8)
    assert got["bse"] == pytest.approx(list(ref.bse), abs=1e-8)
    assert np.asarray(got["cov"]) == pytest.approx(np.asarray(ref.cov_params()), abs=1e-10)
    assert got["loglik"] == pytest.approx(ref.llf, rel=1e-10)
    assert got["n"] == y.size
    json.dumps(got)


def test_newton_rounds_through_json_equal_the_direct_fit(logistic_sites):
    """The coordinator sees only the JSON of each round's contributions."""
    beta = np.zeros(3)
    for _ in range(25):
        parts = [
            json.loads(json.dumps(pooling.site_contribution(X, y, beta).to_dict()))
            for X, y in logistic_sites
        ]
        contributions = [pooling.ScoreContribution.from_dict({"terms": ["a"], **p}) for p in parts]
        beta, step = pooling.newton_update(beta, contributions)
        if step < 1e-10:
            break
    X = np.vstack([X for X, _ in logistic_sites])
    y = np.concatenate([y for _, y in logistic_sites])
    ref = sm.Logit(y, X).fit(method="newton", tol=1e-12, disp=False)
    assert list(beta) == pytest.approx(list(ref.params), abs=1e-8)


def test_a_site_contribution_holds_nothing_row_level(logistic_sites):
    X, y = logistic_sites[1]
    beta = np.array([0.1, -0.2, 0.3])
    small = pooling.site_contribution(X[:40], y[:40], beta).to_dict()
    large = pooling.site_contribution(X, y, beta).to_dict()
    for d in (small, large):
        assert set(d) == {"n", "score", "information", "loglik"}
        assert len(d["score"]) == 3
        assert [len(line) for line in d["information"]] == [3, 3, 3]
        assert isinstance(d["n"], int) and isinstance(d["loglik"], float)
    assert len(json.dumps(small)) < 400 and len(json.dumps(large)) < 400
    # the score and information are sums over the rows: X'(y - p) and X' diag(p(1 - p)) X
    p = 1 / (1 + np.exp(-(X @ beta)))
    assert large["score"] == pytest.approx(list(X.T @ (y - p)), rel=1e-10)
    assert np.asarray(large["information"]) == pytest.approx(
        X.T @ (X * (p * (1 - p))[:, None]), rel=1e-10
    )
