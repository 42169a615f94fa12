"""Calibration and discrimination of a study model: Hosmer-Lemeshow, c with DeLong CI, plot data.

:func:`run_calibration` takes the fitted probabilities of the adjusted
maximum-likelihood model on its complete cases (apparent performance, on the data the
model was fitted to) and reports

* the Hosmer-Lemeshow test on deciles of risk, from
  :func:`analysis.stats.regression.hosmer_lemeshow`, whose grouping already keeps tied
  probabilities together: cut points are Stata's ``_pctile`` deciles of the fitted
  probabilities and an observation joins the first group whose cut point is >= its
  probability, which is Stata's ``estat gof, group(10)`` (``xtile``). SAS's
  ``LACKFIT`` also never splits ties but fills groups of about n/10 in sorted order
  (merging a small last group), so with many ties its groups, and statistic, can
  differ; SPSS does not document its rule. The same groups give the calibration plot.
* the c-statistic (area under the ROC curve) with DeLong et al. (1988)'s variance from
  the placement values (structural components) of the events and non-events, and a
  95% CI on the plain AUC scale, AUC -/+ z SE clipped to [0, 1] (what pROC's
  ``ci.auc(method = "delong")`` prints); the CI on the logit scale (logit(AUC) -/+
  z SE / (AUC (1 - AUC)), back-transformed; it stays inside (0, 1)) is given beside it.
* per risk group: patients, events, observed proportion with its Wilson score 95% CI,
  mean predicted probability; and a lowess curve of the outcome on the predicted
  probability (statsmodels ``lowess``, span 2/3, no robustness iterations -- robustness
  weights would treat the rarer outcome as outliers -- as Harrell's ``val.prob``),
  evaluated on a grid of :data:`CURVE_POINTS` probabilities.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit
from statsmodels.discrete.discrete_model import Logit
from statsmodels.nonparametric.smoothers_lowess import lowess

from analysis.errors import DataError
from analysis.models import build_model
from analysis.sensitivity.bootstrap import MATCH_TOL, conclusion, model_frame
from analysis.stats import regression
from analysis.study import Study

__all__ = ["calibration_groups", "delong_auc", "lowess_curve", "run_calibration", "wilson"]

CURVE_POINTS = 101
LOWESS_FRAC = 2.0 / 3.0

CI_SCALE = "plain AUC scale: AUC -/+ z * SE, clipped to [0, 1] (pROC ci.auc, method = 'delong')"


def delong_auc(y: np.ndarray, p: np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """AUC with DeLong, DeLong & Clarke-Pearson (1988)'s variance.

    Placement values: for an event i, V10_i = share of non-events j with p_i > p_j (ties
    1/2); for a non-event j, V01_j = share of events i with p_i > p_j (ties 1/2). AUC =
    mean(V10); Var = var(V10)/n1 + var(V01)/n0 (sample variances, n - 1). Computed from
    mid-ranks (Sun & Xu 2014), O(n log n).
    """
    yv = np.asarray(y, dtype=float)
    pv = np.asarray(p, dtype=float)
    cases, controls = pv[yv == 1], pv[yv == 0]
    n1, n0 = cases.size, controls.size
    if n1 < 2 or n0 < 2:
        raise ValueError("DeLong's variance needs at least 2 events and 2 non-events")
    ranks_all = stats.rankdata(np.r_[cases, controls])
    v10 = (ranks_all[:n1] - stats.rankdata(cases)) / n0
    v01 = 1.0 - (ranks_all[n1:] - stats.rankdata(controls)) / n1
    auc = float(v10.mean())
    var = float(v10.var(ddof=1) / n1 + v01.var(ddof=1) / n0)
    se = math.sqrt(var)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    out = {
        "auc": auc, "variance": var, "se": se, "n_events": int(n1), "n_nonevents": int(n0),
        "ci_low": max(0.0, auc - z * se), "ci_high": min(1.0, auc + z * se),
        "ci_scale": CI_SCALE, "ci_logit_low": None, "ci_logit_high": None,
    }  # fmt: skip
    if 0.0 < auc < 1.0:
        half = z * se / (auc * (1.0 - auc))
        out["ci_logit_low"] = float(expit(logit(auc) - half))
        out["ci_logit_high"] = float(expit(logit(auc) + half))
    return out


def wilson(events: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (no continuity correction)."""
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    prop = events / n
    centre = (prop + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(prop * (1 - prop) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # the limits are exactly 0 with no events and 1 with no non-events
    low = 0.0 if events == 0 else max(0.0, centre - half)
    high = 1.0 if events == n else min(1.0, centre + half)
    return low, high


def calibration_groups(
    y: np.ndarray, p: np.ndarray, groups: int = 10, level: float = 0.95
) -> list[dict[str, Any]]:
    """The Hosmer-Lemeshow risk groups (ties kept together), with observed and predicted."""
    yv, pv = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    cuts = regression._pctile_cuts(np.sort(pv), groups)
    g = np.searchsorted(cuts, pv, side="left")
    rows = []
    for k in np.unique(g):
        inside = g == k
        n, events = int(inside.sum()), int(yv[inside].sum())
        low, high = wilson(events, n, level)
        rows.append({
            "group": len(rows) + 1, "n": n, "events": events,
            "observed": events / n, "observed_ci_low": low, "observed_ci_high": high,
            "predicted": float(pv[inside].mean()),
            "p_min": float(pv[inside].min()), "p_max": float(pv[inside].max()),
        })  # fmt: skip
    return rows


def lowess_curve(
    y: np.ndarray, p: np.ndarray, points: int = CURVE_POINTS, frac: float = LOWESS_FRAC
) -> dict[str, list[float]]:
    """Lowess of the outcome on the predicted probability, on an even grid of ``p``."""
    pv = np.asarray(p, dtype=float)
    grid = np.linspace(pv.min(), pv.max(), points)
    fitted = lowess(np.asarray(y, dtype=float), pv, frac=frac, it=0, xvals=grid)
    return {"predicted": grid.tolist(), "observed": np.asarray(fitted, dtype=float).tolist()}


def fitted_probabilities(cohort: pd.DataFrame, study: Study, model_id: str) -> dict[str, Any]:
    """The adjusted ML model's fitted probabilities on its complete cases, and the model."""
    frame = model_frame(cohort, study, model_id)
    model = build_model(cohort, study, model_id)
    if (
        model.get("method") != "logit_mle"
        or model.get("separation")
        or not model.get("converged", True)
    ):
        raise DataError(
            f"model {model_id}: calibration needs a converged maximum-likelihood fit "
            f"(the model was fitted by {model.get('method')}, separation: "
            f"{model.get('separation')}, converged: {model.get('converged')})"
        )
    res = Logit(frame.y, frame.X).fit(method="newton", tol=1e-10, maxiter=50, disp=False)
    for term in model["terms"]:
        if abs(res.params[term["term"]] - term["estimate"]) > MATCH_TOL:
            raise DataError(f"model {model_id}: refit differs from the model at {term['term']}")
    return {"y": frame.y, "p": np.asarray(res.predict(frame.X)), "frame": frame, "model": model}


def run_calibration(
    cohort: pd.DataFrame,
    study: Study,
    model_id: str = "table4",
    *,
    groups: int = 10,
    level: float = 0.95,
    lowess_frac: float = LOWESS_FRAC,
) -> dict[str, Any]:
    """Hosmer-Lemeshow test, c-statistic with DeLong CI, and the calibration-plot data.

    Returns
    -------
    dict
        ``kind="sensitivity"``, ``analysis="calibration"``, ``model``, ``title``,
        ``method``, ``n``, ``events``, ``hosmer_lemeshow`` {``statistic``, ``df``,
        ``p_value``, ``groups``, ``groups_requested``, ``rule``}, ``c_statistic``
        {``auc``, ``se``, ``variance``, ``ci_low``, ``ci_high``, ``ci_scale``,
        ``ci_logit_low``, ``ci_logit_high``, ``n_events``, ``n_nonevents``},
        ``brier_score``, ``groups`` [{``group``, ``n``, ``events``, ``observed``,
        ``observed_ci_low``/``high`` (Wilson), ``predicted`` (mean), ``p_min``,
        ``p_max``}], ``lowess`` {``predicted``, ``observed``, ``frac``, ``iterations``},
        ``conclusion``.
    """
    fitted = fitted_probabilities(cohort, study, model_id)
    y, p, frame, model = fitted["y"], fitted["p"], fitted["frame"], fitted["model"]
    hl = regression.hosmer_lemeshow(y, p, groups=groups)
    auc = delong_auc(y, p, level)
    table = calibration_groups(y, p, groups, level)
    curve = lowess_curve(y, p, frac=lowess_frac)
    pct = f"{100 * level:g}%"
    hl_ok = hl["p_value"] is not None and hl["p_value"] >= study.alpha
    method = (
        f"Calibration and discrimination of the adjusted {model['title']} model on the "
        f"{len(y)} complete cases it was fitted to (apparent performance). Goodness of fit: "
        f"the Hosmer-Lemeshow test on {groups} groups of risk (deciles of the fitted "
        "probabilities, Stata _pctile cut points; tied probabilities are always kept in one "
        "group, as Stata's estat gof, group(10); groups left empty are dropped; chi-square "
        "on groups - 2 df). Discrimination: the c-statistic (area under the ROC curve) with "
        f"a {pct} confidence interval from DeLong's variance (DeLong et al. 1988, placement "
        "values), on the plain AUC scale (AUC ± 1.96 SE, as pROC); the logit-scale interval "
        "is also given. Calibration plot: observed proportion of events (Wilson score "
        f"{pct} CI) against mean predicted probability in each risk group, with the line of "
        "identity and a lowess smooth of the outcome on the predicted probability "
        f"(span {lowess_frac:.2f}, no robustness iterations)."
    )
    wald = {t["term"]: t for t in model["terms"]}
    intervals = {
        name: [(wald[t]["ci_low"], wald[t]["ci_high"]) for t in ts]
        for name, ts in frame.groups.items()
    }
    hl_text = (
        f"Hosmer-Lemeshow chi-square {hl['statistic']:.2f} on {hl['df']} df, p = "
        f"{hl['p_value']:.3f}"
        if hl["p_value"] is not None
        else "no Hosmer-Lemeshow test"
    )
    fit_text = (
        f"the model fits adequately ({hl_text}; c = {auc['auc']:.3f}, {pct} CI "
        f"{auc['ci_low']:.3f}-{auc['ci_high']:.3f})"
        if hl_ok
        else f"the Hosmer-Lemeshow test rejects the model's fit at alpha = {study.alpha:g} "
        f"or could not be run ({hl_text}; c = {auc['auc']:.3f})"
    )
    block = conclusion(
        study, model_id, intervals, f"the Wald {pct} CIs of the adjusted model",
        extra_ok=hl_ok, extra_text=fit_text,
    )  # fmt: skip
    return {
        "kind": "sensitivity",
        "analysis": "calibration",
        "study": study.id,
        "model": model_id,
        "title": f"Calibration and discrimination ({model['title']})",
        "method": method,
        "n": len(y),
        "events": int(y.sum()),
        "hosmer_lemeshow": {
            key: hl[key]
            for key in ("statistic", "df", "p_value", "groups", "groups_requested", "rule")
        },
        "c_statistic": auc,
        "brier_score": float(np.mean((p - y) ** 2)),
        "groups": table,
        "lowess": {**curve, "frac": lowess_frac, "iterations": 0},
        "conclusion": {**block, "fit_adequate": hl_ok},
    }
