"""The sort-once paths give what the plain library calls give.

A table sorts each group once and hands the sorted copy to the quartiles, the
Lilliefors test and the Mann-Whitney ranks (``presorted``), and codes each categorical
variable once (``coded``). These tests hold those paths to the plain calls
(statsmodels' ``lilliefors``, scipy's ``mannwhitneyu``, ``kruskal``, numpy's
``percentile``) and to the paths without the shortcut, on random data with ties,
missing values, tiny groups and all-equal values; and the table to the same numbers
whatever dtype a column is stored in.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.diagnostic import lilliefors as sm_lilliefors

from analysis.stats import descriptive, effect_size, nonparametric
from analysis.tables import build_table

# the package exports a function of the same name; the module holds the helpers
normality = importlib.import_module("analysis.stats.normality")


def _samples() -> list[np.ndarray]:
    """Random samples: continuous, heavily tied, skewed, with NaNs, tiny, constant."""
    rng = np.random.default_rng(20260)
    out = [
        rng.normal(10, 2, 500),
        np.round(rng.normal(0, 1, 800), 1),  # many ties
        rng.integers(0, 5, 300).astype(float),  # few distinct values
        rng.lognormal(0, 1, 1000),
        np.round(rng.exponential(3, 2000)),
        rng.normal(size=4),
        rng.normal(size=5),
        np.array([1.0, 1.0, 1.0, 2.0]),
        np.full(7, 3.5),  # all equal
    ]
    with_nan = rng.normal(size=300)
    with_nan[rng.choice(300, 40, replace=False)] = np.nan
    out.append(with_nan)
    return out


SAMPLES = _samples()


def _present(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


@pytest.mark.parametrize("i", range(len(SAMPLES)))
@pytest.mark.parametrize("pvalmethod", ["approx", "table"])
def test_lilliefors_presorted_equals_statsmodels(i: int, pvalmethod: str) -> None:
    x = SAMPLES[i]
    fast = normality.lilliefors(x, pvalmethod, presorted=np.sort(_present(x)))
    assert fast == normality.lilliefors(x, pvalmethod)
    arr = _present(x)
    if np.ptp(arr) > 0:
        d, p = sm_lilliefors(arr, dist="norm", pvalmethod=pvalmethod)
        assert fast["statistic"] == float(d)
        assert fast["p_value"] == float(p)
    else:
        assert fast["statistic"] is None


def test_lilliefors_presorted_small_and_constant() -> None:
    for x in ([1.0, 2.0, 3.0], [2.0, 2.0, 2.0, 2.0], [np.nan, 1.0, 2.0, 3.0]):
        arr = np.asarray(x)
        assert normality.lilliefors(arr, presorted=np.sort(_present(arr))) == (
            normality.lilliefors(arr)
        )


def test_lilliefors_presorted_refuses_wrong_arrays() -> None:
    x = SAMPLES[0]
    with pytest.raises(ValueError, match="presorted"):
        normality.lilliefors(x, presorted=x)  # not sorted
    with pytest.raises(ValueError, match="presorted"):
        normality.lilliefors(x, presorted=np.sort(x)[1:])  # wrong size
    with_nan = SAMPLES[-1]
    n = _present(with_nan).size
    with pytest.raises(ValueError, match="presorted"):
        normality.lilliefors(with_nan, presorted=np.sort(with_nan)[-n:])  # holds NaNs


def test_normality_dispatch_passes_presorted() -> None:
    x = SAMPLES[3]
    s = np.sort(x)
    for method in normality.NORMALITY_METHODS:
        assert normality.normality(x, method, presorted=s) == normality.normality(x, method)


@pytest.mark.parametrize("i", range(len(SAMPLES)))
def test_continuous_summary_presorted_is_identical(i: int) -> None:
    x = SAMPLES[i]
    fast = descriptive.continuous_summary(x, presorted=np.sort(_present(x)))
    assert fast == descriptive.continuous_summary(x)
    arr = _present(x)
    q = np.percentile(arr, [25, 50, 75], method="weibull")
    assert [fast["q1"], fast["median"], fast["q3"]] == [float(v) for v in q]
    assert (fast["min"], fast["max"]) == (arr.min(), arr.max())


@pytest.mark.parametrize("x", [[], [np.nan], [5.0], [2.0, 1.0], [3.0, 1.0, 2.0]])
def test_continuous_summary_presorted_tiny(x: list[float]) -> None:
    arr = np.asarray(x, dtype=float)
    fast = descriptive.continuous_summary(arr, presorted=np.sort(_present(arr)))
    assert fast == descriptive.continuous_summary(arr)


def test_continuous_summary_presorted_refuses_unsorted() -> None:
    with pytest.raises(ValueError, match="presorted"):
        descriptive.continuous_summary(SAMPLES[0], presorted=SAMPLES[0])


PAIRS = [(SAMPLES[i], SAMPLES[j]) for i, j in [(0, 3), (1, 1), (2, 4), (5, 6), (7, 8), (9, 1)]]
PAIRS += [
    (np.array([1.0]), np.array([2.0])),
    (np.array([1.0, 1.0]), np.array([1.0, 1.0, 1.0])),  # all tied: undefined
    (np.array([1.0, np.nan, 2.0]), np.array([2.0, 2.0, 3.0])),
    (np.array([1.0, 2.0, 3.0]), np.array([np.nan, np.nan])),  # empty after NaNs
]


@pytest.mark.parametrize("k", range(len(PAIRS)))
def test_mann_whitney_presorted_equals_scipy(k: int) -> None:
    a, b = PAIRS[k]
    sa, sb = np.sort(_present(a)), np.sort(_present(b))
    fast = nonparametric.mann_whitney(sa, sb, presorted=True)
    assert fast == nonparametric.mann_whitney(a, b)
    pa, pb = _present(a), _present(b)
    if fast["p_value"] is None:
        return
    ref = stats.mannwhitneyu(pa, pb, method="asymptotic", use_continuity=False)
    assert fast["statistic"] == pytest.approx(float(ref.statistic), rel=1e-12, abs=1e-12)
    assert fast["p_value"] == pytest.approx(float(ref.pvalue), rel=1e-12, abs=1e-300)
    # tie handling: the rank sums are scipy's average ranks of the pooled sample
    ranks = stats.rankdata(np.concatenate([pa, pb]))
    assert fast["rank_sums"][0] == pytest.approx(ranks[: pa.size].sum(), rel=1e-12)
    _, t = np.unique(np.concatenate([pa, pb]), return_counts=True)
    n = pa.size + pb.size
    sigma = np.sqrt(pa.size * pb.size / 12 * ((n + 1) - (t**3 - t).sum() / (n * (n - 1))))
    z = (fast["statistic"] - pa.size * pb.size / 2) / sigma
    assert fast["z"] == pytest.approx(z, rel=1e-12)


def test_mann_whitney_presorted_exact_small() -> None:
    a, b = np.array([3.0, 1.0, 4.0, 1.5]), np.array([2.0, 7.0, 5.0])
    fast = nonparametric.mann_whitney(np.sort(a), np.sort(b), exact=True, presorted=True)
    assert fast == nonparametric.mann_whitney(a, b, exact=True)


def test_mann_whitney_presorted_refuses_unsorted() -> None:
    with pytest.raises(ValueError, match="not sorted"):
        nonparametric.mann_whitney(np.array([2.0, 1.0]), np.array([1.0, 3.0]), presorted=True)


def test_tie_counts_equal_numpy_unique() -> None:
    for x in SAMPLES:
        s = np.sort(_present(x))
        if s.size:
            assert np.array_equal(nonparametric._tie_counts(s), np.unique(s, return_counts=True)[1])


def test_kruskal_wallis_on_sorted_groups_equals_scipy() -> None:
    groups = [SAMPLES[1], SAMPLES[2], SAMPLES[4]]
    on_sorted = nonparametric.kruskal_wallis([np.sort(g) for g in groups])
    plain = nonparametric.kruskal_wallis(groups)
    assert on_sorted == plain
    ref = stats.kruskal(*groups)
    assert on_sorted["statistic"] == pytest.approx(float(ref.statistic), rel=1e-12)
    assert on_sorted["p_value"] == pytest.approx(float(ref.pvalue), rel=1e-12)


def test_categorical_coded_paths_equal_plain() -> None:
    rng = np.random.default_rng(5)
    levels = [1, 2, 3, 9]
    x = rng.choice([1, 2, 3, np.nan], 500).astype(float)  # level 9 never occurs
    codes = descriptive._level_codes(x, levels)
    assert descriptive.categorical_summary(codes, levels, coded=True) == (
        descriptive.categorical_summary(x, levels)
    )
    y = rng.choice([1, 3, np.nan], 300).astype(float)
    coded = effect_size.smd_max_pairwise(
        [codes, descriptive._level_codes(y, levels)], "categorical", levels=levels, coded=True
    )
    assert coded == effect_size.smd_max_pairwise([x, y], "categorical", levels=levels)
    with pytest.raises(ValueError, match="codes"):
        descriptive.categorical_summary(np.array([0, 4]), levels, coded=True)


def _compact(frame: pd.DataFrame, study, how: str) -> pd.DataFrame:
    """The cohort with coded columns (and maybe measurements) in a compact dtype."""
    out = frame.copy()
    for name in frame.columns:
        var = study.variables.get(name)
        if var is None or not pd.api.types.is_numeric_dtype(frame[name]):
            continue
        if var.is_categorical:
            if how == "Int8":
                out[name] = frame[name].astype("Int8")
            elif how == "category":
                out[name] = frame[name].astype("category")
            elif how == "int8" and not frame[name].isna().any():
                out[name] = frame[name].astype("int8")
        elif how == "float32" and pd.api.types.is_float_dtype(frame[name]):
            out[name] = frame[name].astype("float32")
    return out


@pytest.mark.parametrize("how", ["Int8", "int8", "category", "float32"])
def test_table_numbers_do_not_depend_on_dtypes(cohort, study, how: str) -> None:
    """Coded columns as nullable or narrow ints or categoricals give the same table bit for
    bit; float32 measurements give the table of their float64 values (computed in float64)."""
    compact = _compact(cohort, study, how)
    reference = cohort
    if how == "float32":
        reference = compact.copy()
        for name in compact.columns:
            if compact[name].dtype == np.float32:
                reference[name] = compact[name].astype(np.float64)
    for table in ("table1", "table2", "table3", "table7"):
        got = json.dumps(build_table(compact, study, table), sort_keys=True)
        assert got == json.dumps(build_table(reference, study, table), sort_keys=True), table


def test_quartiles_of_a_sorted_sample_are_numpys_bit_for_bit():
    """The quartiles read from a sorted group are numpy's weibull percentiles exactly (a
    numpy that computes them otherwise fails here, not in a results file)."""
    rng = np.random.default_rng(20261204)
    draws = [
        lambda n: rng.normal(size=n),
        lambda n: rng.integers(0, 5, size=n).astype(float),  # ties
        lambda n: np.round(rng.lognormal(size=n), 2),
        lambda n: rng.normal(1e6, 1e-3, size=n),
    ]
    sizes = [*range(1, 40), 97, 400, 401, 1000, 4999, 5000, 5001, 65_537]
    for n in sizes:
        for draw in draws:
            s = np.sort(draw(n))
            ref = np.percentile(s, [25.0, 50.0, 75.0], method="weibull")
            assert descriptive._weibull_quartiles(s).tobytes() == ref.tobytes(), n
