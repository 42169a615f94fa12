"""Bootstrap CIs of the adjusted odds ratios (analysis.sensitivity.bootstrap).

Every number is checked against a value computed here independently: the replicates by
statsmodels' Logit on each resample (the same indices, redrawn here from the seed), the
percentile limits by numpy's quantiles, the BCa limits by scipy.stats.bootstrap(method=
"BCa") fed the same resamples with statsmodels as the statistic.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit

from analysis.sensitivity.bootstrap import conclusion, paper_claims, run_bootstrap
from analysis.study import Study

SEED = 12345


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """80 patients with the Table 4 variables: albumin, diabetic nephropathy, outcome."""
    rng = np.random.default_rng(2020)
    n = 80
    albumin = np.round(rng.normal(3.3, 0.5, n), 1)
    dn = rng.integers(0, 2, n)
    y = (rng.random(n) < expit(4.0 - 1.4 * albumin + 0.6 * dn)).astype(int)
    return pd.DataFrame({"albumin": albumin, "diabetic_nephropathy": dn, "neurotoxicity": y})


def _design(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    X = np.column_stack([np.ones(len(frame)), frame["albumin"], frame["diabetic_nephropathy"]])
    return frame["neurotoxicity"].to_numpy(float), X


def _sm_coef(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(sm.Logit(y, X).fit(disp=0, method="newton", tol=1e-12).params)


def _term(result: dict, term: str) -> dict:
    return next(t for t in result["terms"] if t["term"] == term)


def test_percentile_ci_is_numpy_quantiles_of_independent_refits(small, study: Study) -> None:
    B = 300
    result = run_bootstrap(small, study, resamples=B, seed=SEED, workers=1)
    y, X = _design(small)
    idx = np.random.default_rng(SEED).integers(0, len(y), (B, len(y)))
    reps = np.array([_sm_coef(y[i], X[i]) for i in idx])
    assert result["resamples"]["used"] == B  # no resample separated here
    assert result["resamples"]["excluded"] == {"degenerate": 0, "not_converged": 0,
                                               "separation": 0}  # fmt: skip
    for j, term in ((1, "albumin"), (2, "diabetic_nephropathy")):
        low, high = np.quantile(reps[:, j], [0.025, 0.975])
        row = _term(result, term)
        assert row["percentile_ci_low"] == pytest.approx(np.exp(low), rel=1e-7)
        assert row["percentile_ci_high"] == pytest.approx(np.exp(high), rel=1e-7)
        assert row["bootstrap_se"] == pytest.approx(reps[:, j].std(ddof=1), rel=1e-7)
        full = _sm_coef(y, X)
        assert row["odds_ratio"] == pytest.approx(np.exp(full[j]), rel=1e-9)
        assert row["bias"] == pytest.approx(reps[:, j].mean() - full[j], rel=1e-6, abs=1e-9)


def test_bca_matches_scipy_on_the_same_resamples(small, study: Study) -> None:
    """scipy.stats.bootstrap(method="BCa") with statsmodels as the statistic, 2,000
    resamples drawn by scipy from default_rng(SEED): the same rows run_bootstrap draws."""
    B = 2000
    y, X = _design(small)
    n = len(y)
    seen: list[np.ndarray] = []
    fits: dict[bytes, np.ndarray] = {}  # both terms use the same resamples: fit each once

    def coef(i: np.ndarray) -> np.ndarray:
        key = i.tobytes()
        if key not in fits:
            fits[key] = _sm_coef(y[i], X[i])
        return fits[key]

    def statistic(j: int):
        def stat(idx: np.ndarray, axis: int = -1) -> np.ndarray:
            idx = np.atleast_2d(idx)
            if idx.shape == (B, n):
                seen.append(idx.copy())
            return np.array([coef(i)[j] for i in idx])

        return stat

    result = run_bootstrap(small, study, resamples=B, seed=SEED, workers=2)
    for j, term in ((1, "albumin"), (2, "diabetic_nephropathy")):
        ref = stats.bootstrap(
            (np.arange(n),), statistic(j), vectorized=True, n_resamples=B, method="BCa",
            confidence_level=0.95, rng=np.random.default_rng(SEED),
        )  # fmt: skip
        row = _term(result, term)
        assert row["bca_ci_low"] == pytest.approx(np.exp(ref.confidence_interval.low), rel=1e-7)
        assert row["bca_ci_high"] == pytest.approx(np.exp(ref.confidence_interval.high), rel=1e-7)
    mine = np.random.default_rng(SEED).integers(0, n, (B, n))
    assert all(np.array_equal(s, mine) for s in seen)  # scipy resampled the same rows


def test_same_seed_same_numbers_with_one_or_two_workers(small, study: Study) -> None:
    one = run_bootstrap(small, study, resamples=150, seed=7, workers=1)
    two = run_bootstrap(small, study, resamples=150, seed=7, workers=2)
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    other = run_bootstrap(small, study, resamples=150, seed=8, workers=1)
    assert (
        _term(other, "albumin")["percentile_ci_low"] != _term(one, "albumin")["percentile_ci_low"]
    )


def test_degenerate_and_separated_resamples_are_counted(study: Study) -> None:
    """30 patients, 3 events: many resamples have no event or separate; counted, excluded."""
    rng = np.random.default_rng(3)
    n = 30
    frame = pd.DataFrame({
        "albumin": np.round(rng.normal(3.3, 0.5, n), 1),
        "diabetic_nephropathy": rng.integers(0, 2, n),
        "neurotoxicity": np.r_[np.ones(3, int), np.zeros(n - 3, int)],
    })  # fmt: skip
    frame.loc[:2, "albumin"] = [2.4, 3.9, 2.9]  # events inside the albumin range
    B = 100
    result = run_bootstrap(frame, study, resamples=B, seed=11, workers=1)
    idx = np.random.default_rng(11).integers(0, n, (B, n))
    y = frame["neurotoxicity"].to_numpy()[idx]
    dn = frame["diabetic_nephropathy"].to_numpy()[idx]
    alb = frame["albumin"].to_numpy()[idx]
    degenerate = (y.sum(1) == 0) | (y.sum(1) == n) | (np.ptp(dn, 1) == 0) | (np.ptp(alb, 1) == 0)
    excluded = result["resamples"]["excluded"]
    assert excluded["degenerate"] == int(degenerate.sum()) > 0
    assert excluded["separation"] > 0
    assert result["resamples"]["used"] == B - sum(excluded.values())
    assert str(sum(excluded.values())) in result["method"]


def test_default_synthetic_cohort(cohort: pd.DataFrame, study: Study, results) -> None:
    first = run_bootstrap(cohort, study, resamples=200, seed=1)
    second = run_bootstrap(cohort, study, resamples=200, seed=1)
    text = json.dumps(first, sort_keys=True, allow_nan=False)
    assert text == json.dumps(second, sort_keys=True, allow_nan=False)
    assert first["kind"] == "sensitivity" and first["analysis"] == "bootstrap"
    assert first["n"] == results["table4"]["n"]
    for row in first["terms"]:
        wald = _term(results["table4"], row["term"])
        assert row["odds_ratio"] == pytest.approx(wald["odds_ratio"], rel=1e-9)
        assert row["percentile_ci_low"] < row["odds_ratio"] < row["percentile_ci_high"]
    block = first["conclusion"]
    assert set(block) >= {"albumin_independent", "diabetic_nephropathy_independent", "holds",
                          "text"}  # fmt: skip
    assert block["holds"] == (block["albumin_independent"]
                              and not block["diabetic_nephropathy_independent"])  # fmt: skip
    assert block["text"].startswith("The paper's conclusion")


def _cis(albumin: tuple[float, float], dn: tuple[float, float]) -> dict[str, list]:
    return {"albumin": [albumin], "diabetic_nephropathy": [dn]}


def test_conclusion_block_follows_the_intervals(study: Study) -> None:
    assert paper_claims(study, "table4") == {"albumin": True, "diabetic_nephropathy": False}
    agree = conclusion(study, "table4", _cis((0.1, 0.5), (0.7, 4.3)), "the CIs")
    assert agree["holds"] and agree["albumin_independent"]
    assert not agree["diabetic_nephropathy_independent"]
    assert "still holds" in agree["text"]
    both = conclusion(study, "table4", _cis((0.1, 0.5), (1.1, 4.3)), "the CIs")
    assert not both["holds"] and both["diabetic_nephropathy_independent"]
    assert "does not hold because the CIs of diabetic nephropathy exclude 1" in both["text"]
    neither = conclusion(study, "table4", _cis((0.1, 1.5), (0.7, 4.3)), "the CIs")
    assert not neither["holds"] and "serum albumin include 1" in neither["text"]
    unfit = conclusion(
        study, "table4", _cis((0.1, 0.5), (0.7, 4.3)), "the CIs",
        extra_ok=False, extra_text="the fit is rejected",
    )  # fmt: skip
    assert not unfit["holds"] and "without reservation" in unfit["text"]
