"""Profile-likelihood limits of ML logistic coefficients, by their definition.

A 95 % limit b* of coefficient j is where the log-likelihood maximised over the other
coefficients, with b_j fixed at b*, is 3.841/2 below the maximum. The test recomputes
that constrained maximum by a second method (scipy's BFGS on the log-likelihood
written out here) and checks the defining equation at both limits of every term.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.special import log_expit

from analysis.stats.regression import logistic_regression

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _loglik(beta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    eta = x @ beta
    return float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))


def _constrained_max(x: np.ndarray, y: np.ndarray, j: int, value: float) -> float:
    rest = np.delete(np.arange(x.shape[1]), j)

    def negative(b_rest: np.ndarray) -> float:
        beta = np.empty(x.shape[1])
        beta[rest], beta[j] = b_rest, value
        return -_loglik(beta, x, y)

    best = optimize.minimize(negative, np.zeros(rest.size), method="BFGS", options={"gtol": 1e-9})
    return -best.fun


def test_limits_satisfy_the_profile_equation():
    data = pd.read_csv(ROOT / "studies" / "examples" / "birthwt" / "birthwt.csv")
    X = pd.DataFrame(
        {
            "age": data["age"],
            "lwt": data["lwt"] / 10,
            "race2": (data["race"] == 2).astype(float),
            "race3": (data["race"] == 3).astype(float),
            "smoke": data["smoke"].astype(float),
        }
    )
    y = data["low"].to_numpy(float)
    fit = logistic_regression(y, X)
    x = np.column_stack([np.ones(len(X)), X.to_numpy(float)])
    full = _loglik(np.array([t["estimate"] for t in fit["terms"]]), x, y)
    target = stats.chi2.ppf(0.95, 1) / 2
    for j, term in enumerate(fit["terms"]):
        for key in ("profile_ci_low", "profile_ci_high"):
            value = math.log(term[key])
            drop = full - _constrained_max(x, y, j, value)
            assert drop == pytest.approx(target, abs=1e-5), (term["term"], key)
        # the profile interval is not the Wald one, but close at this n
        assert term["profile_ci_low"] != pytest.approx(term["ci_low"], rel=1e-6)
        assert term["profile_ci_low"] == pytest.approx(term["ci_low"], rel=0.2)
