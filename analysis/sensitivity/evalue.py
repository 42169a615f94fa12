"""E-values for the model's associations (VanderWeele & Ding, Ann Intern Med 2017).

The E-value is the minimum strength of association, on the risk-ratio scale, that an
unmeasured confounder would need with both the exposure and the outcome, conditional on
the measured covariates, to explain away an observed association::

    E = RR + sqrt(RR · (RR - 1))            for RR >= 1 (for RR < 1, use 1/RR)

and for the confidence interval the same formula at the limit nearer 1 (E = 1 when the
interval includes 1). An odds ratio is first approximated by a risk ratio: RR ≈ OR when
the outcome is rare (prevalence below 15 %), else RR ≈ sqrt(OR) (VanderWeele 2017,
"On a square-root transformation of the odds ratio for a common outcome"), by the
outcome's prevalence among the model's complete cases.

:func:`run_evalue` applies this to every term of the study's model (Table 4), the
continuous ones (serum albumin) per one unit as Table 4 reports them, per the clinical
increment and per SD (the exact rescalings of :mod:`analysis.sensitivity.models`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.derive import apply_where
from analysis.errors import AnalysisError
from analysis.model_spec import model_predictors
from analysis.sensitivity.models import (
    INCREMENTS,
    MODEL_ID,
    conclusion_block,
    lower,
    model_result,
    rescale,
    significant_terms,
)
from analysis.study import Study

__all__ = ["RARE_OUTCOME_PREVALENCE", "evalue_ci", "evalue_rr", "or_to_rr", "run_evalue"]

#: Prevalence below which an OR is taken as a RR (VanderWeele & Ding 2017).
RARE_OUTCOME_PREVALENCE = 0.15


def evalue_rr(rr: float) -> float:
    """E-value of a risk ratio: RR + sqrt(RR (RR - 1)), with RR < 1 replaced by 1/RR."""
    if not (rr > 0 and math.isfinite(rr)):
        raise ValueError(f"a risk ratio must be positive and finite, not {rr!r}")
    r = rr if rr >= 1.0 else 1.0 / rr
    return float(r + math.sqrt(r * (r - 1.0)))


def evalue_ci(low: float, high: float) -> float:
    """E-value of a CI: that of the limit nearer 1, or 1 when the CI includes 1."""
    if not (0 < low <= high):
        raise ValueError(f"a CI needs 0 < low <= high, not ({low!r}, {high!r})")
    if low <= 1.0 <= high:
        return 1.0
    return evalue_rr(low if low > 1.0 else high)


def or_to_rr(odds_ratio: float, prevalence: float) -> tuple[float, str]:
    """(approximate RR, conversion): the OR itself when the outcome is rare (prevalence
    < 15 %), else sqrt(OR)."""
    if prevalence < RARE_OUTCOME_PREVALENCE:
        return float(odds_ratio), "rare_outcome_or_as_rr"
    return float(math.sqrt(odds_ratio)), "common_outcome_sqrt_or"


_CONVERSION_TEXT = {
    "rare_outcome_or_as_rr": "the OR taken as the RR (outcome prevalence below 15%)",
    "common_outcome_sqrt_or": "RR approximated by sqrt(OR) (outcome prevalence 15% or more)",
}


def _entry(
    term: str, label: str, per: str, k: float, row: dict[str, Any], prevalence: float
) -> dict[str, Any]:
    values = (row["odds_ratio"], row["ci_low"], row["ci_high"])
    if any(v is None or not 0.0 < v < math.inf for v in values):
        raise AnalysisError(
            f"the odds ratio of {label} or its CI is not estimable (separation), so no "
            "E-value can be computed"
        )
    rr, conversion = or_to_rr(row["odds_ratio"], prevalence)
    rr_low, _ = or_to_rr(row["ci_low"], prevalence)
    rr_high, _ = or_to_rr(row["ci_high"], prevalence)
    includes_one = rr_low <= 1.0 <= rr_high
    nearer = None if includes_one else (rr_low if rr_low > 1.0 else rr_high)
    return {
        "term": term,
        "label": label,
        "per": per,
        "k": k,
        "odds_ratio": row["odds_ratio"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "p_value": row["p_value"],
        "conversion": conversion,
        "risk_ratio": rr,
        "rr_ci_low": rr_low,
        "rr_ci_high": rr_high,
        "ci_includes_1": includes_one,
        "ci_limit_nearer_1": nearer,
        "evalue_point": evalue_rr(rr),
        "evalue_ci": evalue_ci(rr_low, rr_high),
    }


def run_evalue(
    cohort: pd.DataFrame,
    study: Study,
    results: dict[str, dict] | None = None,
    model_id: str = MODEL_ID,
    increments: dict[str, float] | None = None,
) -> dict[str, Any]:
    """E-values of each association of the model (ML fit, as Table 4).

    Returns a results-JSON-like dict: ``kind`` ("sensitivity"), ``analysis``
    ("evalue"), ``title``, ``method``, ``model``, ``outcome``, ``n``, ``events``,
    ``prevalence`` (events / n of the model's complete cases), ``conversion`` and
    ``conversion_text`` (which OR-to-RR rule was used), ``evalues`` [{``term``,
    ``label``, ``per``, ``k``, ``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value``,
    ``conversion``, ``risk_ratio``, ``rr_ci_low``, ``rr_ci_high``, ``ci_includes_1``,
    ``ci_limit_nearer_1``, ``evalue_point``, ``evalue_ci``}], ``primary`` (the first
    predictor per one unit, as Table 4), ``conclusion``.
    """
    increments = INCREMENTS if increments is None else increments
    spec = study.model(model_id)
    model = model_result(cohort, study, results, model_id)
    predictors = list(model["predictors"])
    n, events = int(model["n"]), int(model["events"])
    prevalence = events / n
    _, conversion = or_to_rr(1.0, prevalence)
    labels = model.get("term_labels", {})
    entries = []
    continuous = {p.variable for p in model_predictors(spec, study) if p.entry == "continuous"}
    data = apply_where(cohort, spec.get("where")).dropna(subset=[spec["outcome"], *predictors])
    for row in model["terms"]:
        term = row["term"]
        if term == "const":
            continue
        label = labels.get(term, term)
        per = "as reported"
        if term in continuous:
            per = f"1 {study.variables[term].unit}" if study.variables[term].unit else "1 unit"
        entries.append(_entry(term, label, per, 1.0, row, prevalence))
        if term in continuous:
            var = study.variables[term]
            unit = var.unit or "units"
            scales = []
            if term in increments:
                scales.append((f"{increments[term]:g} {unit}", float(increments[term])))
            sd = float(pd.to_numeric(data[term]).std(ddof=1))
            scales.append(("1 SD", sd))
            for per, k in scales:
                scaled = rescale(row, k)
                entries.append(_entry(term, var.label, per, k, scaled, prevalence))
    primary_term = predictors[0]
    primary = next(e for e in entries if e["term"] == primary_term)
    alpha = study.alpha
    observed = significant_terms(model, predictors, alpha)
    rr_text = (
        f"OR {primary['odds_ratio']:.3g} (95% CI {primary['ci_low']:.3g} to "
        f"{primary['ci_high']:.3g})"
    )
    direction = "lower" if primary["risk_ratio"] < 1 else "higher"
    because = (
        f"in model {model_id} {lower(study.variables[primary_term].label)} has "
        f"{rr_text}, p = {primary['p_value']:.3g} ({direction} risk with higher values); "
        f"with {_CONVERSION_TEXT[conversion]} (prevalence {100 * prevalence:.1f}%), "
        f"an unmeasured confounder would need a risk ratio of at least "
        f"{primary['evalue_point']:.2f} with both {lower(study.variables[primary_term].label)}"
        f" and {lower(study.variables[spec['outcome']].label)} to explain the estimate "
        f"away, and {primary['evalue_ci']:.2f} to move its CI to include 1"
        + (" (the CI already includes 1)" if primary["ci_includes_1"] else "")
        + "; "
        + "; ".join(
            f"{lower(study.variables[e['term']].label)}: E-value {e['evalue_point']:.2f}, "
            f"CI E-value {e['evalue_ci']:.2f}"
            for e in entries
            if e["term"] in predictors and e["term"] != primary_term and e["k"] == 1.0
        )
        + "."
    )
    conclusion = conclusion_block(study, observed, because, model_id=model_id)
    conclusion["evalue_point"] = primary["evalue_point"]
    conclusion["evalue_ci"] = primary["evalue_ci"]
    method = (
        "E-values (VanderWeele & Ding, Ann Intern Med 2017) were computed for each odds "
        f"ratio of the logistic model {model_id} (maximum likelihood, Wald 95% CI): "
        "E = RR + sqrt(RR·(RR − 1)) for RR ≥ 1, using 1/RR for RR < 1, for the estimate "
        "and for the CI limit nearer 1 (E = 1 when the CI includes 1). The odds ratio was "
        "converted to a risk ratio by the outcome's prevalence among the model's "
        f"{n} complete cases ({events} events, {100 * prevalence:.1f}%): "
        f"{_CONVERSION_TEXT[conversion]}. Continuous predictors are also given per "
        "clinical increment and per SD (OR per k units = exp(k·B))."
    )
    return {
        "kind": "sensitivity",
        "analysis": "evalue",
        "title": "E-values: robustness of the associations to unmeasured confounding",
        "method": method,
        "model": model_id,
        "outcome": spec["outcome"],
        "n": n,
        "events": events,
        "prevalence": prevalence,
        "rare_outcome_threshold": RARE_OUTCOME_PREVALENCE,
        "conversion": conversion,
        "conversion_text": _CONVERSION_TEXT[conversion],
        "evalues": entries,
        "primary": primary,
        "conclusion": conclusion,
    }
