"""What SPSS 20 prints beside each test, against independent values.

Sources, named beside each number:

* SPSS-format printouts with their data, from the test suite of GNU PSPP (the free
  re-implementation of SPSS; ``tests/language/commands/*.at``), printed to 2-4
  decimals. The CROSSTABS "risk" example there is SPSS's own output, taken from a
  University of Nottingham SPSS handout (SPSSCrosstabW.pdf); the hsb2 crosstabs are
  UCLA's SPSS annotated-output data.
* R 4.2.2 (e1071, car, MASS): ``reference/spss_output_reference.R`` and its printed
  values ``reference/spss_output_reference.out``.
* Hand calculations from the definitions, written differently from the code.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import (
    chi_square_tests,
    continuous_summary,
    kruskal_wallis,
    ks_uncorrected,
    mann_whitney,
    one_way_anova,
    student_t,
    welch_anova,
    welch_t,
)
from analysis.stats.descriptive import kurtosis_se, skewness_se
from analysis.stats.normality import shapiro_wilk

REF = Path(__file__).parent / "reference"

# ---------------------------------------------------------------------------
# EXAMINE / DESCRIPTIVES: SE of the mean, skewness, kurtosis and their SEs
# ---------------------------------------------------------------------------

# PSPP descriptives.at, "DESCRIPTIVES basics": 10 cases, one digit per variable
# V0..V16; printed N, Mean, S.E. Mean, Std Dev, Variance, Kurtosis, S.E. Kurt,
# Skewness, S.E. Skew (Range, Min, Max, Sum left out).
DIGITS = """12128989012389023 34128080123890128 56127781237893217 78127378123793112
90913781237892318 37978547878935789 52878237892378279 12377912789378932
26787654347894348 29137178947891888""".split()
PRINTED = """V0,3.80,.84,2.66,7.07,-.03,1.33,.89,.69
V1,4.60,.96,3.03,9.16,-1.39,1.33,-.03,.69
V2,4.10,1.16,3.67,13.43,-2.02,1.33,.48,.69
V3,4.10,.87,2.77,7.66,-2.05,1.33,.42,.69
V4,7.00,.47,1.49,2.22,7.15,1.33,-2.52,.69
V5,4.90,1.03,3.25,10.54,-1.40,1.33,-.20,.69
V6,5.90,.80,2.51,6.32,-.29,1.33,-.96,.69
V7,4.70,1.10,3.47,12.01,-1.99,1.33,-.16,.69
V8,4.10,1.10,3.48,12.10,-1.93,1.33,.37,.69
V9,4.30,.87,2.75,7.57,-.87,1.33,.73,.69
V10,5.50,.85,2.68,7.17,-1.84,1.33,-.33,.69
V11,6.50,.78,2.46,6.06,-1.28,1.33,-.89,.69
V12,7.90,.60,1.91,3.66,5.24,1.33,-2.21,.69
V13,4.30,.99,3.13,9.79,-1.25,1.33,.33,.69
V14,3.60,1.01,3.20,10.27,-.96,1.33,.81,.69
V15,3.70,.92,2.91,8.46,-1.35,1.33,.71,.69
V16,6.40,.91,2.88,8.27,-1.14,1.33,-.92,.69""".splitlines()


@pytest.mark.parametrize("line", PRINTED, ids=[p.split(",")[0] for p in PRINTED])
def test_descriptives_match_the_printout(line):
    name, *printed = line.split(",")
    mean, se_mean, sd, var, kurt, se_kurt, skew, se_skew = map(float, printed)
    column = int(name[1:])
    res = continuous_summary(np.array([float(row[column]) for row in DIGITS]))
    half_unit = 0.005 + 1e-9  # printed to 2 decimals
    assert res["mean"] == pytest.approx(mean, abs=half_unit)
    assert res["se_mean"] == pytest.approx(se_mean, abs=half_unit)
    assert res["sd"] == pytest.approx(sd, abs=half_unit)
    assert res["sd"] ** 2 == pytest.approx(var, abs=half_unit)
    assert res["kurtosis"] == pytest.approx(kurt, abs=half_unit)
    assert res["kurtosis_se"] == pytest.approx(se_kurt, abs=half_unit)
    assert res["skewness"] == pytest.approx(skew, abs=half_unit)
    assert res["skewness_se"] == pytest.approx(se_skew, abs=half_unit)


@pytest.mark.parametrize(
    ("n", "ses", "sek"),
    # PSPP descriptives.at printouts with missing data: n = 3 (S.E. Skew 1.22),
    # n = 4 (1.01, S.E. Kurt 2.62), n = 5 (.91, 2.00); examine.at, n = 24 (.47, .92);
    # descriptives basics, n = 10 (.69, 1.33)
    [(3, 1.22, None), (4, 1.01, 2.62), (5, 0.91, 2.00), (10, 0.69, 1.33), (24, 0.47, 0.92)],
)
def test_standard_errors_of_skewness_and_kurtosis_match_printouts(n, ses, sek):
    assert skewness_se(n) == pytest.approx(ses, abs=0.005)
    if sek is None:
        assert kurtosis_se(n) is None
    else:
        assert kurtosis_se(n) == pytest.approx(sek, abs=0.005)
    assert skewness_se(2) is None


def test_skewness_kurtosis_match_r_e1071(groups):
    # R: e1071::skewness(b0, type = 2), kurtosis(b0, type = 2) (spss_output_reference.out)
    b = continuous_summary(groups["b"])
    assert b["skewness"] == pytest.approx(0.864228829164135, rel=1e-10)
    assert b["kurtosis"] == pytest.approx(0.229089828508655, rel=1e-10)
    a = continuous_summary(groups["a"])
    assert a["skewness"] == pytest.approx(-0.597174340314856, rel=1e-10)
    assert a["kurtosis"] == pytest.approx(1.5890446135901, rel=1e-10)
    # R: sd(b0) / sqrt(length(b0)); t.test(b0)$conf.int
    assert b["se_mean"] == pytest.approx(1.15031697760761, rel=1e-12)
    assert (b["ci_mean_low"], b["ci_mean_high"]) == pytest.approx(
        (9.17471697049887, 13.8873519950184), rel=1e-12
    )


def test_skewness_from_spss_sums_formula(groups):
    # hand, SPSS's algorithm in sums: g1 = W M3 / ((W-1)(W-2) s^3),
    # g2 = [W(W+1) M4 - 3 M2^2 (W-1)] / [(W-1)(W-2)(W-3) s^4], M_k = sum (x - mean)^k
    x = [v for v in groups["c"].tolist() if not math.isnan(v)]
    w = len(x)
    m = math.fsum(x) / w
    m2, m3, m4 = (math.fsum((v - m) ** k for v in x) for k in (2, 3, 4))
    s = math.sqrt(m2 / (w - 1))
    g1 = w * m3 / ((w - 1) * (w - 2) * s**3)
    g2 = (w * (w + 1) * m4 - 3 * m2**2 * (w - 1)) / ((w - 1) * (w - 2) * (w - 3) * s**4)
    res = continuous_summary(groups["c"])
    assert res["skewness"] == pytest.approx(g1, rel=1e-10)
    assert res["kurtosis"] == pytest.approx(g2, rel=1e-10)
    # SEs by hand for this n
    ses = math.sqrt(6 * w * (w - 1) / ((w - 2) * (w + 1) * (w + 3)))
    assert res["skewness_se"] == pytest.approx(ses, rel=1e-12)
    assert res["kurtosis_se"] == pytest.approx(
        math.sqrt(4 * (w * w - 1) * ses**2 / ((w - 3) * (w + 5))), rel=1e-12
    )


@pytest.mark.parametrize("n", [4, 17, 250, 200_000])
def test_skewness_kurtosis_match_scipy(n):
    # a second implementation: scipy's bias-corrected skew and kurtosis
    from scipy import stats

    x = np.random.default_rng(n).gamma(2.0, 3.0, size=n) + 1e4  # offset: cancellation
    res = continuous_summary(x)
    assert res["skewness"] == pytest.approx(stats.skew(x, bias=False), rel=1e-8)
    assert res["kurtosis"] == pytest.approx(stats.kurtosis(x, bias=False), rel=1e-8)


def test_shape_statistics_undefined_for_small_or_constant_groups():
    two = continuous_summary(np.array([1.0, 2.0]))
    assert two["se_mean"] == pytest.approx(0.5)  # hand: SD 0.7071 / sqrt(2)
    assert two["skewness"] is None and two["kurtosis"] is None
    three = continuous_summary(np.array([1.0, 2.0, 4.0]))
    assert three["skewness"] is not None and three["kurtosis"] is None
    flat = continuous_summary(np.full(6, 3.0))
    assert flat["se_mean"] == 0.0
    assert flat["skewness"] is None and flat["skewness_se"] is None


# ---------------------------------------------------------------------------
# ONEWAY and T-TEST
# ---------------------------------------------------------------------------

# PSPP oneway.at, "ONEWAY basic operation": breaking strain by manufacturer.
QUALITY = [7, 4, 3, 2, 1, 4, 2, 3, 5, 1, 4, 5, 2, 3, 6]
BRAND = [3, 3, 1, 1, 1, 2, 2, 2, 3, 1, 1, 2, 2, 3, 3]


def _brands() -> list[np.ndarray]:
    q, b = np.array(QUALITY, float), np.array(BRAND)
    return [q[b == k] for k in (1, 2, 3)]


def test_anova_table_matches_r_and_the_printout():
    res = one_way_anova(_brands())
    ss, ms = res["sum_of_squares"], res["mean_square"]
    # R: anova(lm(quality ~ brand)) (spss_output_reference.out)
    assert (ss["between"], ss["within"]) == pytest.approx((20.1333333333333, 23.6), rel=1e-12)
    assert (ms["between"], ms["within"]) == pytest.approx((10.0666666666666, 1.96666666666667))
    assert res["statistic"] == pytest.approx(5.1186440677966, rel=1e-10)
    # printout: Between 20.13, 2, 10.07, 5.12, .025; Within 23.60, 12, 1.97; Total 43.73, 14
    assert ss["total"] == pytest.approx(43.73, abs=0.005)
    assert res["df"] == [2, 12]
    assert res["p_value"] == pytest.approx(0.025, abs=0.0005)
    # printout "Test of Homogeneity of Variances": .09, 2, 12, .913; R: car::leveneTest
    assert res["levene"]["statistic"] == pytest.approx(0.0916905444126072, rel=1e-10)
    assert res["levene"]["p_value"] == pytest.approx(0.913020445548019, rel=1e-10)
    assert res["levene"]["df"] == [2, 12]


def test_plantgrowth_anova_sums_of_squares():
    # Dobson (1983) p. 9 / R's PlantGrowth; R: anova(lm(weight ~ group)) prints
    # Sum Sq 3.7663 (group) and 10.4921 (Residuals)
    d = pd.read_csv(Path(__file__).parents[1] / "fixtures" / "plantgrowth.csv")
    res = one_way_anova(
        [d.loc[d.group == g, "weight"].to_numpy() for g in ("ctrl", "trt1", "trt2")]
    )
    assert res["sum_of_squares"]["between"] == pytest.approx(3.76634, abs=5e-6)
    assert res["sum_of_squares"]["within"] == pytest.approx(10.49209, abs=5e-6)


def test_group_descriptives_of_oneway_printout():
    # printout "Descriptives": Aspeger N 5, mean 2.20, SD 1.30, Std. Error .58,
    # 95% CI .58 to 3.82; Total 3.47, 1.77, .46, 2.49 to 4.45
    aspeger = continuous_summary(_brands()[0])
    assert aspeger["se_mean"] == pytest.approx(0.58, abs=0.005)
    assert (aspeger["ci_mean_low"], aspeger["ci_mean_high"]) == pytest.approx(
        (0.58, 3.82), abs=0.005
    )
    total = continuous_summary(np.array(QUALITY, float))
    assert total["se_mean"] == pytest.approx(0.46, abs=0.005)
    assert (total["ci_mean_low"], total["ci_mean_high"]) == pytest.approx((2.49, 4.45), abs=0.005)


def test_t_test_prints_both_lines_and_levene(groups):
    student, welch = student_t(groups["a"], groups["b"]), welch_t(groups["a"], groups["b"])
    for res in (student, welch):
        assumed, not_assumed = res["equal_variances_assumed"], res["equal_variances_not_assumed"]
        # R: t.test(a0, b0, var.equal = TRUE) (group_tests_reference.out)
        assert assumed["statistic"] == pytest.approx(-1.32815663226965, rel=1e-10)
        assert assumed["df"] == 50
        assert assumed["p_value"] == pytest.approx(0.190157392550859, rel=1e-10)
        assert (assumed["ci_low"], assumed["ci_high"]) == pytest.approx(
            (-4.42532310434785, 0.90238457361322), rel=1e-10
        )
        # R: t.test(a0, b0, var.equal = FALSE)
        assert not_assumed["statistic"] == pytest.approx(-1.47341921970504, rel=1e-10)
        assert not_assumed["df"] == pytest.approx(32.4004642992635, rel=1e-10)
        assert (not_assumed["ci_low"], not_assumed["ci_high"]) == pytest.approx(
            (-4.19543849587847, 0.672499965143835), rel=1e-9
        )
        # R: car::leveneTest(v ~ g, center = mean), printed beside both lines
        assert res["levene"]["statistic"] == pytest.approx(28.421556856989, rel=1e-10)
    # hand: the Welch SE is sqrt(va/na + vb/nb)
    a, b = groups["a"][~np.isnan(groups["a"])], groups["b"][~np.isnan(groups["b"])]
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert student["equal_variances_not_assumed"]["se_diff"] == pytest.approx(se, rel=1e-12)


def test_t_test_printout():
    # PSPP t-test.at "T-TEST /GROUPS", DEP1: 1 2 2 2 3 vs 3 4 4 4 5; both lines print
    # Levene F .00, Sig. 1.000; t -4.47, df 8.00, Sig. .002, Mean Difference -2.00,
    # Std. Error Difference .45, 95% CI -3.03 to -.97
    res = student_t(np.array([1.0, 2, 2, 2, 3]), np.array([3.0, 4, 4, 4, 5]))
    assert res["levene"]["statistic"] == pytest.approx(0.0, abs=0.005)
    assert res["levene"]["p_value"] == pytest.approx(1.0, abs=0.0005)
    for line in (res["equal_variances_assumed"], res["equal_variances_not_assumed"]):
        assert line["statistic"] == pytest.approx(-4.47, abs=0.005)
        assert line["df"] == pytest.approx(8.0, abs=0.005)
        assert line["p_value"] == pytest.approx(0.002, abs=0.0005)
        assert line["mean_diff"] == pytest.approx(-2.0)
        assert line["se_diff"] == pytest.approx(0.45, abs=0.005)
        assert (line["ci_low"], line["ci_high"]) == pytest.approx((-3.03, -0.97), abs=0.005)


def test_welch_anova_reports_levene(groups):
    res = welch_anova([groups["a"], groups["b"], groups["c"]])
    # R: car::leveneTest(v ~ g, center = mean) on three groups (group_tests_reference.out)
    assert res["levene"]["statistic"] == pytest.approx(15.7401233079641, rel=1e-10)
    assert res["levene"]["df"] == [2, 69]


# ---------------------------------------------------------------------------
# NPAR TESTS: Mann-Whitney, Kruskal-Wallis, one-sample K-S
# ---------------------------------------------------------------------------

# PSPP npar.at, "NPAR TESTS Mann-Whitney": height by sex (0, 1)
HEIGHT = [201, 84, 83, 94, 88, 99, 55, 69, 86, 79, 91, 201, 88, 85, 82, 88, 75, 99, 81, 72,
          89, 92, 80, 82, 76, 65, 85, 76, 145, 24]  # fmt: skip
SEX = [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1]


def test_mann_whitney_ranks_and_test_statistics_printout():
    h, s = np.array(HEIGHT, float), np.array(SEX)
    res = mann_whitney(h[s == 0], h[s == 1])
    # printout "Ranks": N 15, 15; Mean Rank 14.5333, 16.4667; Sum of Ranks 218, 247.
    # "Test Statistics": Mann-Whitney U 98.0000, Wilcoxon W 218.0000, Z -.6020, p .547
    assert res["mean_ranks"] == pytest.approx([14.5333, 16.4667], abs=5e-5)
    assert res["u_min"] == 98 and res["wilcoxon_w"] == 218
    assert res["z_u_min"] == pytest.approx(-0.6020, abs=5e-5)
    assert res["p_value"] == pytest.approx(0.547, abs=0.0005)
    # R: sum(rank(height)[sex == 0]), [sex == 1]; wilcox.test(exact=FALSE, correct=FALSE)
    assert res["rank_sums"] == [218, 247]
    assert res["p_value"] == pytest.approx(0.547150846865451, rel=1e-10)


def test_wilcoxon_w_is_the_rank_sum_of_the_group_with_the_smaller_u():
    # hand: 1..20 against 21..25: ranks are the values; U = 0 for the first group,
    # so W is its rank sum 210 (= 20 * 21 / 2); Z = (0 - 50) / sqrt(20*5*26/12)
    res = mann_whitney(np.arange(1.0, 21.0), np.arange(21.0, 26.0))
    assert res["u_min"] == 0 and res["wilcoxon_w"] == 210
    assert res["rank_sums"] == [210, 115]
    assert res["z_u_min"] == pytest.approx(-50 / math.sqrt(20 * 5 * 26 / 12), rel=1e-12)
    # swapped, W is still the rank sum of 1..20; z of the first group changes sign
    swapped = mann_whitney(np.arange(21.0, 26.0), np.arange(1.0, 21.0))
    assert swapped["wilcoxon_w"] == 210 and swapped["z"] == -res["z"]


def test_kruskal_wallis_ranks_printout():
    # PSPP npar.at, "NPAR Kruskal-Wallis test": Mean Rank 4.400, 7.400, 11.500;
    # Chi-Square 6.406, df 2, Asymp. Sig. .041
    x = np.array([96, 128, 83, 132, 135, 109, 115, 61, 101, 82, 124, 149, 166, 147], float)
    g = np.array([1, 1, 1, 2, 2, 2, 3, 1, 1, 2, 2, 3, 3, 3])
    res = kruskal_wallis([x[g == k] for k in (1, 2, 3)])
    assert res["mean_ranks"] == pytest.approx([4.4, 7.4, 11.5], abs=5e-4)
    assert res["df"] == 2
    # R: kruskal.test(xscore, factor(gv)); tapply(rank(xscore), gv, mean)
    assert res["statistic"] == pytest.approx(6.40571428571429, rel=1e-12)
    assert res["p_value"] == pytest.approx(0.0406459067564302, rel=1e-10)
    assert res["rank_sums"] == pytest.approx([4.4 * 5, 7.4 * 5, 11.5 * 4], rel=1e-12)


def test_kruskal_wallis_with_ties_matches_r(groups):
    # ranks once, H by formula: still R's tie-corrected kruskal.test (group_tests_reference)
    res = kruskal_wallis([groups["a"], groups["b"], groups["c"]])
    assert res["statistic"] == pytest.approx(1.61775675310714, rel=1e-10)
    assert res["p_value"] == pytest.approx(0.445357309389432, rel=1e-10)


@pytest.mark.parametrize(
    ("column", "printed", "r_values"),
    [
        # PSPP npar.at "Kolmogorov-Smirnov Normal parameters imputed": N, Mean, Std.
        # Deviation, Absolute, Positive, Negative, Kolmogorov-Smirnov Z, Asymp. Sig.
        ("foo", (174, 62.109, 11.548, 0.059, 0.055, -0.059, 0.785, 0.569),
         # R: ks.test(x, "pnorm", mean, sd, exact = FALSE): D, D+ (greater), D- (less), p
         (0.0594790769145944, 0.0550024315352863, 0.0594790769145944, 0.569417770706835)),
        ("bar", (48, 13.108, 0.718, 0.115, 0.115, -0.082, 0.795, 0.552),
         (0.114748242885538, 0.114748242885538, 0.0823721851327701, 0.552300054856419)),
    ],
)  # fmt: skip
def test_one_sample_ks_printout(column, printed, r_values):
    x = pd.read_csv(REF / "pspp_ks_normal.csv")[column].dropna().to_numpy()
    res = ks_uncorrected(x)
    n, mean, sd, absolute, positive, negative, z, p = printed
    assert res["n"] == n
    assert (res["mean"], res["sd"]) == pytest.approx((mean, sd), abs=0.0005)
    assert res["statistic"] == pytest.approx(absolute, abs=0.0005)
    assert res["d_positive"] == pytest.approx(positive, abs=0.0005)
    assert res["d_negative"] == pytest.approx(negative, abs=0.0005)
    assert res["z"] == pytest.approx(z, abs=0.0005)
    assert res["p_value"] == pytest.approx(p, abs=0.0005)
    d, d_plus, d_minus, r_p = r_values
    assert res["statistic"] == pytest.approx(d, rel=1e-10)
    assert res["d_positive"] == pytest.approx(d_plus, rel=1e-10)
    assert res["d_negative"] == pytest.approx(-d_minus, rel=1e-10)
    # R sums the Kolmogorov series to tol 1e-6
    assert res["p_value"] == pytest.approx(r_p, rel=1e-5)
    assert res["z"] == pytest.approx(math.sqrt(n) * d, rel=1e-10)  # hand: sqrt(n) * D


def test_shapiro_wilk_left_out_above_spss_limit():
    x = np.random.default_rng(5).normal(size=60)
    assert shapiro_wilk(x, max_n=50)["statistic"] is None
    assert "n > 50" in shapiro_wilk(x, max_n=50)["note"]
    assert shapiro_wilk(x, max_n=60)["statistic"] is not None


# ---------------------------------------------------------------------------
# CROSSTABS: the "Chi-Square Tests" table
# ---------------------------------------------------------------------------

RISK = np.array([[20, 80], [15, 135]])  # Placebo / Aspirin x disease Yes / No


def test_crosstabs_risk_example_spss_printout():
    res = chi_square_tests(RISK, [0, 1], [0, 1])
    # SPSS (SPSSCrosstabW.pdf, as PSPP's crosstabs.at "CROSSTABS estimated risk"):
    # Pearson 4.98, 1, .026; Likelihood Ratio 4.88, 1, .027; Fisher's Exact Test
    # .039 (2-sided), .021 (1-sided); Continuity Correction 4.19, 1, .041;
    # Linear-by-Linear Association 4.96, 1, .026; N of Valid Cases 250
    printed = {
        "pearson": (4.98, 0.026),
        "likelihood_ratio": (4.88, 0.027),
        "continuity_correction": (4.19, 0.041),
        "linear_by_linear": (4.96, 0.026),
    }
    for key, (stat, p) in printed.items():
        assert res[key]["statistic"] == pytest.approx(stat, abs=0.005), key
        assert res[key]["p_value"] == pytest.approx(p, abs=0.0005), key
        assert res[key]["df"] == 1
    assert res["fisher_exact"]["p_two_sided"] == pytest.approx(0.039, abs=0.0005)
    assert res["fisher_exact"]["p_one_sided"] == pytest.approx(0.021, abs=0.0005)
    assert res["n"] == 250
    # R: MASS::loglm(~ 1 + 2) likelihood-ratio statistic; fisher.test(alternative =
    # "greater"); chisq.test(risk)$expected
    assert res["likelihood_ratio"]["statistic"] == pytest.approx(4.87636580689723, rel=1e-10)
    assert res["fisher_exact"]["p_one_sided"] == pytest.approx(0.0211829456809043, rel=1e-9)
    np.testing.assert_allclose(res["expected"], [[14, 86], [21, 129]], rtol=1e-12)
    assert res["expected_min"] == 14 and res["cells_expected_lt5"] == 0


def test_crosstabs_by_hand():
    res = chi_square_tests(RISK)
    n = RISK.sum()
    rows, cols = RISK.sum(axis=1), RISK.sum(axis=0)
    # hand: G2 = 2 sum O ln(O / E), E = row total x column total / N
    g2 = 2 * sum(
        RISK[i, j] * math.log(RISK[i, j] / (rows[i] * cols[j] / n))
        for i in range(2)
        for j in range(2)
    )
    assert res["likelihood_ratio"]["statistic"] == pytest.approx(g2, rel=1e-12)
    # hand: linear-by-linear = (N - 1) r^2, r the Pearson correlation of the N pairs
    pairs = np.array([(i, j) for i in range(2) for j in range(2) for _ in range(RISK[i, j])])
    r = np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]
    assert res["linear_by_linear"]["statistic"] == pytest.approx((n - 1) * r**2, rel=1e-10)

    # hand: one-sided Fisher p, the hypergeometric upper tail P(X >= 20) of cell (0, 0)
    # with margins fixed (the observed 20 exceeds its expected 14)
    def prob(a: int) -> float:
        return (
            math.comb(int(cols[0]), a)
            * math.comb(int(cols[1]), int(rows[0]) - a)
            / math.comb(int(n), int(rows[0]))
        )

    upper = math.fsum(prob(a) for a in range(20, int(min(rows[0], cols[0])) + 1))
    assert res["fisher_exact"]["p_one_sided"] == pytest.approx(upper, rel=1e-9)


def test_crosstabs_with_a_zero_cell():
    # a zero cell adds nothing to G2 (0 ln 0 = 0) and is not shifted by 0.5 for the
    # linear-by-linear association; hand: E = row x column / N = [[1.5, 3.5], [1.5, 3.5]]
    t = np.array([[0, 5], [3, 2]])
    res = chi_square_tests(t)
    n = t.sum()
    e = np.outer(t.sum(axis=1), t.sum(axis=0)) / n
    g2 = 2 * sum(
        t[i, j] * math.log(t[i, j] / e[i, j]) for i in range(2) for j in range(2) if t[i, j]
    )
    assert res["likelihood_ratio"]["statistic"] == pytest.approx(g2, rel=1e-12)
    pairs = np.array([(i, j) for i in range(2) for j in range(2) for _ in range(t[i, j])])
    r = np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]
    assert res["linear_by_linear"]["statistic"] == pytest.approx((n - 1) * r**2, rel=1e-12)
    # hand: P(cell (0, 0) = 0) with margins 5, 5 of 10 and a column total of 3:
    # C(3, 0) C(7, 5) / C(10, 5) = 21 / 252 = 1/12, the one-sided (lower) p
    assert res["fisher_exact"]["p_one_sided"] == pytest.approx(1 / 12, rel=1e-12)


def test_crosstabs_hsb2_spss_printouts():
    # PSPP crosstabs.at (UCLA hsb2 data): school type x female, 2x2:
    # Pearson .047 .828; LR .047 .828; Fisher .849 / .492; Continuity .001 .981;
    # Linear-by-Linear .047 .829
    res = chi_square_tests(np.array([[77, 91], [14, 18]]))
    for key, (stat, p) in {
        "pearson": (0.047, 0.828),
        "likelihood_ratio": (0.047, 0.828),
        "continuity_correction": (0.001, 0.981),
        "linear_by_linear": (0.047, 0.829),
    }.items():
        assert res[key]["statistic"] == pytest.approx(stat, abs=0.0005), key
        assert res[key]["p_value"] == pytest.approx(p, abs=0.0005), key
    assert res["fisher_exact"]["p_two_sided"] == pytest.approx(0.849, abs=0.0005)
    # R: fisher.test(school, alternative = "greater")$p.value, the smaller tail
    assert res["fisher_exact"]["p_one_sided"] == pytest.approx(0.492347602001203, rel=1e-9)
    # female (0, 1) x ses (1, 2, 3), 2x3: Pearson 4.577, 2, .101; LR 4.679, 2, .096;
    # Linear-by-Linear 3.110, 1, .078; no continuity correction or Fisher for 2x3
    ses = np.array([[15, 47, 29], [32, 48, 29]])
    res = chi_square_tests(ses, [0, 1], [1, 2, 3])
    assert res["pearson"]["statistic"] == pytest.approx(4.577, abs=0.0005)
    assert res["likelihood_ratio"]["statistic"] == pytest.approx(4.679, abs=0.0005)
    assert res["likelihood_ratio"]["df"] == 2
    assert res["likelihood_ratio"]["p_value"] == pytest.approx(0.096, abs=0.0005)
    assert res["linear_by_linear"]["statistic"] == pytest.approx(3.110, abs=0.0005)
    assert res["linear_by_linear"]["p_value"] == pytest.approx(0.078, abs=0.0005)
    assert res["continuity_correction"] is None and res["fisher_exact"] is None
    # R: MASS::loglm G2; (N - 1) * cor(female, ses)^2 on the 200 cases
    assert res["likelihood_ratio"]["statistic"] == pytest.approx(4.67889661754456, rel=1e-10)
    assert res["linear_by_linear"]["statistic"] == pytest.approx(3.1098383761285, rel=1e-10)


def test_crosstabs_scores_follow_dropped_columns():
    # an empty middle column (score 9) is dropped with its score: same table as above
    ses = np.array([[15, 0, 47, 29], [32, 0, 48, 29]])
    res = chi_square_tests(ses, [0, 1], [1, 9, 2, 3])
    assert res["dropped_cols"] == [1] and res["shape"] == [2, 3]
    # R: (N - 1) * cor(female, ses)^2
    assert res["linear_by_linear"]["statistic"] == pytest.approx(3.1098383761285, rel=1e-10)
    empty = chi_square_tests(np.array([[3, 0], [4, 0]]))
    assert empty["pearson"] is None and "fewer than 2" in empty["note"]
    # hand: expected counts of the 3x3 table in test_stats_contingency: 9 of 9 below 5
    t33 = chi_square_tests(np.array([[8, 3, 1], [4, 6, 2], [2, 3, 7]]))
    assert t33["cells_expected_lt5"] == 9
    assert t33["expected"][0][0] == pytest.approx(12 * 14 / 36)


def test_new_outputs_are_plain_json(groups):
    # the shared contract: python builtins only, strict JSON (test_stats_contract.py)
    from test_stats_contract import assert_plain

    three = [groups["a"], groups["b"], groups["c"]]
    for res in (
        continuous_summary(groups["b"]),
        ks_uncorrected(groups["b"]),
        student_t(groups["a"], groups["b"]),
        welch_t(groups["a"], groups["b"]),
        one_way_anova(three),
        welch_anova(three),
        mann_whitney(groups["a"], groups["b"]),
        kruskal_wallis(three),
        chi_square_tests(RISK),
        chi_square_tests(np.array([[15, 47, 29], [32, 48, 29]])),
    ):
        assert_plain(res)
