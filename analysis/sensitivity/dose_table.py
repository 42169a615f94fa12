"""The paper's suggested starting doses beside the toxic doses observed in the data.

Cheong et al. (Nefrologia 2020) conclude by suggesting a starting baclofen dose of
7.5 mg/day in CKD stage 4-5 not on dialysis and 2.5 mg/day on dialysis
(:data:`PAPER_STARTING_DOSES`, the paper's numbers, not ours). :func:`run_dose_table`
sets them beside the distribution of the daily dose among the patients with
neurotoxicity, by CKD group (n, minimum, quartiles, median, maximum; quartiles by SPSS's
weighted average at (n + 1)p, as every table of the package), and counts the neurotoxic
patients whose daily dose was at or below the suggested start.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.sensitivity.models import (
    MODEL_ID,
    conclusion_block,
    lower,
    model_result,
    significant_terms,
)
from analysis.stats.descriptive import continuous_summary
from analysis.study import Study

__all__ = ["DOSE_VARIABLE", "GROUP_VARIABLE", "PAPER_STARTING_DOSES", "run_dose_table"]

#: The paper's suggested starting doses (Cheong et al., Nefrologia 2020, Conclusion), by
#: the codes of the study's CKD group (1 CKD stage 4, 2 CKD stage 5 non-dialysis,
#: 3 dialysis).
PAPER_STARTING_DOSES: tuple[dict[str, Any], ...] = (
    {"label": "CKD stage 4-5 not on dialysis", "groups": (1, 2), "dose": 7.5},
    {"label": "On dialysis", "groups": (3,), "dose": 2.5},
)
GROUP_VARIABLE = "ckd_group"
DOSE_VARIABLE = "daily_dose"

_STATS = ("n", "missing", "min", "q1", "median", "q3", "max", "mean", "sd")


def _summary(doses: np.ndarray, start: float | None) -> dict[str, Any]:
    s = continuous_summary(doses)
    out = {key: s[key] for key in _STATS}
    present = doses[~np.isnan(doses)]
    if start is None:
        out.update(n_at_or_below_start=None, percent_at_or_below_start=None)
        return out
    at_or_below = int(np.count_nonzero(present <= start))
    out["n_at_or_below_start"] = at_or_below
    out["percent_at_or_below_start"] = 100.0 * at_or_below / present.size if present.size else None
    out["min_over_start"] = None if s["min"] is None else float(s["min"] / start)
    return out


def run_dose_table(
    cohort: pd.DataFrame,
    study: Study,
    results: dict[str, dict] | None = None,
    starting_doses: tuple[dict[str, Any], ...] = PAPER_STARTING_DOSES,
    model_id: str = MODEL_ID,
    group_variable: str = GROUP_VARIABLE,
    dose_variable: str = DOSE_VARIABLE,
) -> dict[str, Any]:
    """Suggested starting dose beside the toxic daily doses, by CKD group.

    ``starting_doses``: [{``label``, ``groups`` (codes of ``group_variable``), ``dose``
    (in the dose variable's unit)}], the paper's by default. The neurotoxic patients
    are those with the model's outcome equal to its event.

    Returns a results-JSON-like dict: ``kind`` ("sensitivity"), ``analysis``
    ("dose_table"), ``title``, ``method``, ``source``, ``group_by``, ``dose_variable``,
    ``unit``, ``outcome``, ``event``, ``starting_doses``, ``groups`` [{``key``,
    ``label``, ``suggested_start``, ``band``, ``n``, ``missing``, ``min``, ``q1``,
    ``median``, ``q3``, ``max``, ``mean``, ``sd``, ``n_at_or_below_start``,
    ``percent_at_or_below_start``, ``min_over_start``}], ``bands`` [the same per
    starting-dose band, pooled], ``overall`` {``n_toxic``, ``n_with_dose``,
    ``n_at_or_below_start``}, ``conclusion`` (with ``starting_doses_below_all_toxic``).
    """
    spec = study.model(model_id)
    outcome, event = spec["outcome"], spec["event"]
    group_var = study.variables[group_variable]
    dose_var = study.variables[dose_variable]
    toxic = cohort.loc[cohort[outcome] == event]
    codes = toxic[group_variable].to_numpy()
    doses = pd.to_numeric(toxic[dose_variable], errors="coerce").to_numpy(dtype=float)
    start_of: dict[Any, float] = {}
    band_of: dict[Any, str] = {}
    for band in starting_doses:
        for code in band["groups"]:
            start_of[code] = float(band["dose"])
            band_of[code] = band["label"]
    groups = []
    for code, label in group_var.codes.items():
        start = start_of.get(code)
        groups.append({
            "key": str(code), "label": label, "suggested_start": start,
            "band": band_of.get(code), **_summary(doses[codes == code], start),
        })  # fmt: skip
    bands = []
    for band in starting_doses:
        mask = np.isin(codes, list(band["groups"]))
        bands.append({
            "label": band["label"], "groups": [str(c) for c in band["groups"]],
            "suggested_start": float(band["dose"]),
            **_summary(doses[mask], float(band["dose"])),
        })  # fmt: skip
    n_below = sum(b["n_at_or_below_start"] or 0 for b in bands)
    n_with_dose = int(sum(b["n"] for b in bands))
    overall = {
        "n_toxic": len(toxic),
        "n_with_dose": n_with_dose,
        "n_at_or_below_start": n_below,
        "n_unassigned": int(np.count_nonzero(~np.isin(codes, list(start_of)))),
    }
    unit = dose_var.unit or ""
    model = model_result(cohort, study, results, model_id)
    predictors = list(model["predictors"])
    observed = significant_terms(model, predictors, study.alpha)
    per_band = "; ".join(
        f"{lower(b['label'])}: suggested {b['suggested_start']:g} {unit}, toxic daily "
        + (
            f"doses from {b['min']:.3g} (median {b['median']:.3g}, n = {b['n']}), "
            f"{b['n_at_or_below_start']} at or below the suggested start"
            if b["n"]
            else "doses: none observed"
        )
        for b in bands
    )
    model_text = ", ".join(
        f"{lower(study.variables[t['term']].label)} p = {t['p_value']:.3g}"
        for t in model["terms"]
        if t["term"] in predictors
    )
    because = (
        f"the dose table does not change the model (model {model_id}: {model_text}); "
        f"{per_band}; overall {n_below} of {n_with_dose} neurotoxic patient(s) with a "
        "recorded dose had a daily dose at or below the suggested start."
    )
    conclusion = conclusion_block(study, observed, because, model_id=model_id)
    conclusion["starting_doses_below_all_toxic"] = n_below == 0
    method = (
        f"Among the patients with {lower(study.variables[outcome].label)}, the "
        f"{lower(dose_var.label)} ({unit}) was summarised by "
        f"{lower(group_var.label)} as n, minimum, first quartile, median, third quartile "
        "and maximum (quartiles by the weighted average at (n + 1)p, as SPSS EXAMINE), and "
        "compared with the starting doses the paper suggests ("
        + "; ".join(f"{b['label']}: {b['dose']:g} {unit}" for b in starting_doses)
        + "), counting the patients whose daily dose was at or below the suggested start."
    )
    return {
        "kind": "sensitivity",
        "analysis": "dose_table",
        "title": "Suggested starting doses and the toxic daily doses observed, by CKD group",
        "method": method,
        "source": "Cheong M, Lee J, Lee TY, Kim SB. Nefrologia 2020;40(5):543-551 "
        "(suggested starting doses)",
        "group_by": group_variable,
        "dose_variable": dose_variable,
        "unit": unit,
        "outcome": outcome,
        "event": event,
        "starting_doses": [
            {"label": b["label"], "groups": [str(c) for c in b["groups"]], "dose": float(b["dose"])}
            for b in starting_doses
        ],
        "groups": groups,
        "bands": bands,
        "overall": overall,
        "conclusion": conclusion,
    }
