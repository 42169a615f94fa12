"""The result contract shared by every stats function: plain python types,
strict JSON (no NaN/inf), the common key names, and vectorised speed."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from analysis import stats as S

PLAIN = (bool, int, float, str, type(None))
TERM_KEYS = {"term", "estimate", "se", "df", "p_value", "odds_ratio", "ci_low", "ci_high"}


def assert_plain(obj, path="result"):
    """Only exact python builtins (np.float64 subclasses float: reject it too)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert type(k) in PLAIN, f"{path}: key {k!r} is {type(k)}"
            assert_plain(v, f"{path}[{k!r}]")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_plain(v, f"{path}[{i}]")
    else:
        assert type(obj) in PLAIN, f"{path} is {type(obj).__name__}"
    json.dumps(obj, allow_nan=False)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    a = rng.normal(10, 2, 60)
    b = rng.lognormal(2, 0.5, 70)
    c = rng.normal(11, 3, 50)
    a[3] = np.nan
    n = 400
    X = pd.DataFrame({"age": rng.normal(60, 10, n), "ckd": rng.integers(0, 2, n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(-6 + 0.09 * X["age"] + X["ckd"])))).astype(float)
    return a, b, c, X, y


def test_all_results_are_plain_json(data):
    a, b, c, X, y = data
    tab = np.array([[10, 4, 3], [5, 9, 8]])
    results = [
        S.continuous_summary(a),
        S.categorical_summary(np.array([1, 2, 2, np.nan]), [1, 2]),
        S.lilliefors(b),
        S.ks_uncorrected(b),
        S.shapiro_wilk(b),
        S.student_t(a, b),
        S.welch_t(a, b),
        S.one_way_anova([a, b, c]),
        S.welch_anova([a, b, c]),
        S.mann_whitney(a, b),
        S.kruskal_wallis([a, b, c]),
        S.chi_square(tab),
        S.fisher_exact(tab[:, :2]),
        S.fisher_exact(tab, n_resamples=2_000),
        S.smd_max_pairwise([a, b, c], kind="continuous"),
        S.hosmer_lemeshow(y, np.full(y.size, y.mean())),
        S.logistic_regression(y, X),
        S.firth_logistic(y, X),
    ]
    for res in results:
        assert_plain(res)
    for res in results[2:14]:  # the hypothesis tests
        assert {"statistic", "p_value", "n", "method"} <= res.keys()
    for res in results[5:14]:
        assert "df" in res
    for res in results[-2:]:
        for term in res["terms"]:
            assert TERM_KEYS <= term.keys()


def test_vectorised_on_large_input():
    rng = np.random.default_rng(1)
    n = 1_000_000
    x = rng.normal(size=n)
    x[::97] = np.nan
    g = rng.integers(0, 3, n)
    cat = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    start = time.perf_counter()
    S.continuous_summary(x)
    S.categorical_summary(cat, ["a", "b", "c"])
    t = S.table_from_codes(g, cat, [0, 1, 2], ["a", "b", "c"])
    S.chi_square(t)
    S.lilliefors(x)
    S.mann_whitney(x[g == 0], x[g == 1])
    S.kruskal_wallis([x[g == k] for k in range(3)])
    elapsed = time.perf_counter() - start
    assert t.sum() == n
    # ~1 s on the 2-core reference machine; a per-row python loop would take minutes
    assert elapsed < 15
