"""Calibration and discrimination (analysis.sensitivity.calibration) and its figure.

References: pROC's AUC, DeLong variance and ci.auc(method = "delong") from
tests/sensitivity/reference_delong.R (printed values copied here); Hosmer-Lemeshow
groups and statistic worked by hand on a small example with ties; Wilson intervals from
statsmodels' proportion_confint; the lowess curve from a local tricube-weighted linear
fit written out here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit, logit
from statsmodels.stats.proportion import proportion_confint

from analysis.figures import FigureInputs
from analysis.figures.calibration import draw_calibration
from analysis.figures.style import save_figure, setup
from analysis.sensitivity.calibration import (
    calibration_groups,
    delong_auc,
    lowess_curve,
    run_calibration,
    wilson,
)
from analysis.stats.regression import hosmer_lemeshow
from analysis.study import Study

# fmt: off
# reference_delong.R, example 1 (ties within and across outcomes; CI clipped at 1)
Y1 = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0]
P1 = [0.10, 0.20, 0.20, 0.30, 0.35, 0.40, 0.50, 0.50, 0.50, 0.60, 0.70, 0.20, 0.90, 0.65,
      0.35, 0.05]  # fmt: skip
R1 = {"auc": 0.758333333333333, "variance": 0.0177685185185185,
      "ci": (0.497072865229891, 1.0)}  # fmt: skip
# example 2 (60 patients, 39 events), p2 and y2 as R printed them
P2 = [0.62, 0.24, 0.85, 0.47, 0.09, 0.71, 0.33, 0.94, 0.56, 0.18, 0.80, 0.42, 0.03, 0.65, 0.27,
      0.89, 0.51, 0.12, 0.74, 0.36, 0.98, 0.60, 0.21, 0.83, 0.45, 0.07, 0.69, 0.30, 0.92, 0.54,
      0.16, 0.78, 0.40, 0.01, 0.63, 0.25, 0.87, 0.49, 0.10, 0.72, 0.34, 0.96, 0.58, 0.19, 0.81,
      0.43, 0.05, 0.67, 0.28, 0.90, 0.52, 0.14, 0.76, 0.37, 0.99, 0.61, 0.23, 0.85, 0.46, 0.08]
Y2 = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1,
      0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1]
R2 = {"auc": 0.642246642246642, "variance": 0.00586016244392955,
      "ci": (0.492208071502538, 0.792285212990747)}
# fmt: on


@pytest.mark.parametrize(("y", "p", "ref"), [(Y1, P1, R1), (Y2, P2, R2)], ids=["ties", "n60"])
def test_delong_matches_proc(y, p, ref) -> None:
    out = delong_auc(np.array(y, float), np.array(p))
    assert out["auc"] == pytest.approx(ref["auc"], rel=1e-13)
    assert out["variance"] == pytest.approx(ref["variance"], rel=1e-12)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx(ref["ci"], rel=1e-12)
    # the logit-scale interval, from pROC's AUC and variance by hand
    half = stats.norm.ppf(0.975) * np.sqrt(ref["variance"]) / (ref["auc"] * (1 - ref["auc"]))
    assert out["ci_logit_low"] == pytest.approx(expit(logit(ref["auc"]) - half), rel=1e-12)
    assert out["ci_logit_high"] == pytest.approx(expit(logit(ref["auc"]) + half), rel=1e-12)


def test_delong_by_hand_on_four_patients() -> None:
    """Events at 0.8, 0.4; non-events at 0.4, 0.2. Placement values: events (1 + 1)/2 = 1
    and (1/2 + 1)/2 = 3/4; non-events (1 + 1/2)/2 = 3/4 and (1 + 1)/2 = 1. AUC = 7/8;
    Var = var(1, 3/4)/2 + var(3/4, 1)/2 = (1/32)/2 + (1/32)/2 = 1/32."""
    out = delong_auc(np.array([1.0, 1, 0, 0]), np.array([0.8, 0.4, 0.4, 0.2]))
    assert out["auc"] == pytest.approx(7 / 8) and out["variance"] == pytest.approx(1 / 32)


# Hosmer-Lemeshow on 12 sorted probabilities, 4 groups. Stata _pctile cuts (n j / 4 whole
# -> mean of the two order statistics): 0.2, 0.35, 0.55; p <= cut joins the group, so the
# three 0.2s stay together (an equal-size split of 3 per group would break them up).
HL_P = [0.1, 0.1, 0.2, 0.2, 0.2, 0.3, 0.4, 0.4, 0.5, 0.6, 0.7, 0.8]
HL_Y = [0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1]
HL_GROUPS = [[0, 1, 2, 3, 4], [5], [6, 7, 8], [9, 10, 11]]


def test_hosmer_lemeshow_keeps_ties_together_by_hand() -> None:
    order = np.random.default_rng(0).permutation(len(HL_P))  # input order does not matter
    p, y = np.array(HL_P)[order], np.array(HL_Y, float)[order]
    rows = calibration_groups(y, p, groups=4)
    assert [r["n"] for r in rows] == [len(g) for g in HL_GROUPS]
    stat = 0.0
    for row, members in zip(rows, HL_GROUPS, strict=True):
        o1 = sum(HL_Y[i] for i in members)
        e1 = sum(HL_P[i] for i in members)
        o0, e0 = len(members) - o1, len(members) - e1
        stat += (o1 - e1) ** 2 / e1 + (o0 - e0) ** 2 / e0
        assert row["events"] == o1 and row["predicted"] == pytest.approx(e1 / len(members))
    # 0.05 + 0.2²/4.2 + 0.3 + 0.3²/0.7 + 0.7²/1.3 + 0.7²/1.7 + 0.1²/2.1 + 0.1²/0.9
    # = 0.05 + 0.009524 + 0.3 + 0.128571 + 0.376923 + 0.288235 + 0.004762 + 0.011111
    assert stat == pytest.approx(1.169127, abs=1e-6)
    hl = hosmer_lemeshow(y, p, groups=4)
    assert hl["statistic"] == pytest.approx(stat, rel=1e-12) and hl["df"] == 2
    assert hl["p_value"] == pytest.approx(stats.chi2.sf(stat, 2), rel=1e-12)


@pytest.mark.parametrize(("events", "n"), [(0, 44), (2, 36), (8, 37), (37, 37)])
def test_wilson_matches_statsmodels(events: int, n: int) -> None:
    assert wilson(events, n) == pytest.approx(
        proportion_confint(events, n, alpha=0.05, method="wilson"), rel=1e-12, abs=1e-15
    )


def test_lowess_is_local_tricube_linear_fit() -> None:
    rng = np.random.default_rng(1)
    x = np.round(rng.random(50), 2)
    y = (rng.random(50) < x).astype(float)
    curve = lowess_curve(y, x, points=7, frac=2 / 3)
    k = int(np.floor(2 / 3 * 50))  # neighbours in the span
    for x0, fitted in zip(curve["predicted"], curve["observed"], strict=True):
        d = np.abs(x - x0)
        u = d / np.sort(d)[k - 1]
        w = np.where(u < 1, (1 - u**3) ** 3, 0.0)
        X = np.column_stack([np.ones_like(x), x])
        b = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
        assert fitted == pytest.approx(b[0] + b[1] * x0, rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def default_run(cohort: pd.DataFrame, study: Study) -> dict:
    return run_calibration(cohort, study)


def test_default_synthetic_cohort(default_run, cohort, study, results) -> None:
    run = default_run
    assert json.dumps(run, sort_keys=True, allow_nan=False) == json.dumps(
        run_calibration(cohort, study), sort_keys=True, allow_nan=False
    )
    assert run["kind"] == "sensitivity" and run["analysis"] == "calibration"
    fit = results["table4"]["fit"]
    assert run["n"] == results["table4"]["n"]
    assert run["hosmer_lemeshow"]["statistic"] == pytest.approx(
        fit["hosmer_lemeshow"]["statistic"], rel=1e-9
    )
    assert run["c_statistic"]["auc"] == pytest.approx(fit["c_statistic"], rel=1e-12)
    assert sum(g["n"] for g in run["groups"]) == run["n"]
    assert sum(g["events"] for g in run["groups"]) == run["events"]
    assert run["c_statistic"]["ci_low"] < run["c_statistic"]["auc"] < run["c_statistic"]["ci_high"]
    block = run["conclusion"]
    assert {"albumin_independent", "diabetic_nephropathy_independent", "holds"} <= set(block)
    assert block["text"].startswith("The paper's conclusion")
    assert block["fit_adequate"] == (run["hosmer_lemeshow"]["p_value"] >= study.alpha)
    assert block["holds"] == (
        block["albumin_independent"]
        and not block["diabetic_nephropathy_independent"]
        and block["fit_adequate"]
    )


def test_figure_drawn_twice_byte_identical(cohort, study, default_run, tmp_path: Path) -> None:
    spec = {"id": "table4_calibration", "kind": "calibration", "model": "table4"}
    digests = []
    for name, results in (("a", {}), ("b", {"table4_calibration": default_run})):
        setup()
        fig, data = draw_calibration(spec, FigureInputs(cohort, study, results))
        assert data["groups"] == default_run["groups"]
        paths = save_figure(fig, tmp_path / name / "table4_calibration.png")
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
        assert [p.suffix for p in paths] == [".png", ".svg"]
    assert digests[0] == digests[1]


def test_figure_under_disclosure_hides_small_groups_and_the_curve(
    cohort, study, default_run, results
) -> None:
    from analysis.disclosure import Profile

    profile = Profile(name="threshold", description="test", threshold=3)
    setup()
    fig, data = draw_calibration(
        {"id": "c", "kind": "calibration", "model": "table4"},
        FigureInputs(cohort, study, {"table4": results["table4"]}, None, profile),
    )
    small = [
        g["group"]
        for g in default_run["groups"]
        if any(0 < v < 3 for v in (g["n"], g["events"], g["n"] - g["events"]))
    ]
    assert data["hidden_groups"] == small
    assert data["lowess"] is None
    assert [g["group"] for g in data["groups"]] == [
        g["group"] for g in default_run["groups"] if g["group"] not in small
    ]
    import matplotlib.pyplot as plt

    plt.close(fig)
