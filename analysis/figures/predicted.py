"""Predicted probability of a model's outcome across one continuous predictor.

The band needs the coefficients' covariance, which the results JSON does not keep:
the model is refitted here (statsmodels, maximum likelihood) on the complete cases
with the design of :mod:`analysis.models`, and must give the JSON's estimates back,
so the curve belongs to the model the tables report. Other predictors are held at
their mean among the complete cases (entered per unit) or at their reference code
(factors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.derive import apply_where
from analysis.errors import AnalysisError
from analysis.figures.style import INK, MUTED, axis_label, level_colours, not_drawn
from analysis.model_spec import model_predictors
from analysis.models import design_columns

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.figures import FigureInputs

# Past this many patients per outcome each distinct value is ticked once (a registry's
# million ticks would draw the same marks over one another).
RUG_DISTINCT_FROM = 5000

__all__ = ["draw_predicted_probability", "predicted_probability"]

Z_975 = 1.959963984540054
MATCH_TOL = 1e-6
GRID_POINTS = 200


def predicted_probability(spec: dict[str, Any], inputs: FigureInputs) -> dict[str, Any]:
    """The curve, its 95% band, the values the others are held at, and the data used."""
    study, result = inputs.study, inputs.result(spec)
    if result.get("method") != "logit_mle":
        raise AnalysisError(
            f"figure {spec['id']}: model {result['model']} was fitted by "
            f"{result.get('method')}; a predicted-probability figure needs maximum likelihood"
        )
    model = study.model(result["model"])
    x = spec["x"]
    predictors = model_predictors(model, study)
    entry = {p.variable: p.entry for p in predictors}
    if entry.get(x) != "continuous":
        raise AnalysisError(
            f"figure {spec['id']}: '{x}' is not a predictor of model {result['model']} "
            "entered per unit"
        )
    data = apply_where(inputs.cohort, model.get("where"))
    outcome = data[model["outcome"]]
    y = (outcome == model["event"]).astype(float).where(outcome.notna())
    design, groups, _ = design_columns(data, study, predictors)
    terms = [t for p in predictors for t in groups[p.variable]]
    complete = y.notna() & design[terms].notna().all(axis=1)
    X = design.loc[complete, terms].astype(float)
    X.insert(0, "const", 1.0)
    fit = _refit(y[complete].to_numpy(), X)
    expected = {t["term"]: t["estimate"] for t in result["terms"]}
    for term, value in fit.params.items():
        if abs(value - expected[term]) > MATCH_TOL:
            raise AnalysisError(
                f"figure {spec['id']}: the refit of model {result['model']} gives "
                f"{term} = {value:.8g}, the results JSON {expected[term]:.8g}: the cohort "
                "and the results are not from the same run"
            )
    held: dict[str, Any] = {}
    row = pd.Series(0.0, index=X.columns)
    row["const"] = 1.0
    for p in predictors:
        if p.variable == x:
            continue
        if p.entry == "continuous":
            row[p.variable] = X[p.variable].mean()
            held[p.variable] = {"at": "mean", "value": float(row[p.variable])}
        else:  # every indicator 0: the reference code
            held[p.variable] = {"at": "reference", "value": p.reference}
    observed = X[x]
    grid = np.linspace(observed.min(), observed.max(), GRID_POINTS)
    rows = np.tile(row.to_numpy(), (len(grid), 1))
    rows[:, list(X.columns).index(x)] = grid
    eta = rows @ fit.params.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", rows, fit.cov_params().to_numpy(), rows))
    return {
        "x": grid,
        "p": expit(eta),
        "low": expit(eta - Z_975 * se),
        "high": expit(eta + Z_975 * se),
        "held": held,
        "params": fit.params.to_dict(),
        "observed_x": observed.to_numpy(),
        "observed_y": y[complete].to_numpy(),
    }


def _why_not_drawn(result: dict[str, Any]) -> str | None:
    """Why a model gives no curve to draw, or None."""
    if result.get("method") != "logit_mle":
        method = result.get("method")
        return f"model {result['model']} was fitted by {method}, not maximum likelihood"
    if result.get("separation"):
        return f"model {result['model']} shows separation (its ML estimates do not exist)"
    if result.get("converged") is False:
        return f"the maximum-likelihood fit of model {result['model']} did not converge"
    return None


def _refit(y: np.ndarray, X: pd.DataFrame) -> Any:
    """Maximum-likelihood logistic fit (statsmodels), quietly."""
    from statsmodels.discrete.discrete_model import Logit

    return Logit(y, X).fit(disp=0, method="newton", maxiter=100, tol=1e-12)


def draw_predicted_probability(
    spec: dict[str, Any], inputs: FigureInputs
) -> tuple[Figure, dict[str, Any]]:
    """Curve with its band, and the observed patients as ticks (events top, others bottom)."""
    import matplotlib.pyplot as plt

    study, result = inputs.study, inputs.result(spec)
    unfit = inputs.withheld(spec) or _why_not_drawn(result)
    if unfit:
        # A site's data may give a model with no usable ML estimates (or one disclosure
        # control withholds): the run goes on, and the figure says why it shows no curve.
        return not_drawn(unfit)
    curve = predicted_probability(spec, inputs)
    protected = inputs.disclosure is not None
    if protected:
        # the observed patients' values (the ticks, and the ends of the curve at the
        # minimum and maximum) are single patients: the curve spans the 5th-95th
        # percentiles and no patient is drawn
        low, high = np.percentile(curve["observed_x"], [5, 95])
        keep = (curve["x"] >= low) & (curve["x"] <= high)
        for key in ("x", "p", "low", "high"):
            curve[key] = curve[key][keep]
        curve["observed_x"] = curve["observed_x"][:0]
        curve["observed_y"] = curve["observed_y"][:0]
    outcome = study.variables[result["outcome"]]
    colours = level_colours(outcome)
    event_label = outcome.codes.get(result["event"], str(result["event"]))
    other_label = next((v for k, v in outcome.codes.items() if k != result["event"]), "other")
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    ax.fill_between(curve["x"], curve["low"], curve["high"], color=MUTED, alpha=0.3,
                    linewidth=0, label="95% CI")  # fmt: skip
    ax.plot(curve["x"], curve["p"], color=INK, linewidth=1.5, label="Predicted probability")
    for value, level, label in ((1.0, 1.0, event_label), (0.0, 0.0, other_label)):
        if protected:
            break
        xs = curve["observed_x"][curve["observed_y"] == value]
        if len(xs) > RUG_DISTINCT_FROM:  # the same ticks, each drawn once
            xs = np.unique(xs)
        ax.plot(xs, np.full(len(xs), level), "|", color=colours.get(label, MUTED),
                markersize=8, alpha=0.6, label=f"{outcome.label}: {label}")  # fmt: skip
    ax.set_ylim(-0.04, 1.04)
    ax.set_xlabel(axis_label(study.variables[spec["x"]]))
    ax.set_ylabel(f"Predicted probability of {outcome.label.lower()}")
    ax.legend(frameon=False, loc="center right", fontsize="small")
    if protected:
        fig.text(0.01, 0.01, "Curve over the 5th-95th percentiles of the predictor; "
                 "individual patients not shown (disclosure control)", fontsize=6)  # fmt: skip
        fig.tight_layout(rect=(0, 0.04, 1, 1))
    else:
        fig.tight_layout()
    return fig, curve
