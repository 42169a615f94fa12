"""Sensitivity of the study's logistic model (Table 4) to how it is fitted and adjusted.

:func:`run_models` refits the study file's model (by default ``table4``: neurotoxicity on
serum albumin and diabetic nephropathy) through the engine (:func:`analysis.models.
build_model`), as model specifications added to a copy of the study, never by hand:

(a) Firth's penalised likelihood beside maximum likelihood (both ORs, CIs and p);
(b) the same model adjusted for age, sex, CKD group (categorical, first code the
    reference) and daily dose, by ML and by Firth;
(c) each continuous predictor per a clinical increment (albumin per 0.5 g/dL) and per
    SD: OR per k units = exp(k·B), CI = exp(k·(limits on the B scale)), exact rescalings
    of the fitted coefficient (the test suite refits with the rescaled variable);
(d) events per variable of every fit, with a warning below 10 (Peduzzi et al. 1996).

The helpers here (the model and its fits, the conclusion block) are shared by the other
sensitivity modules of this package that read the model.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd

from analysis.derive import apply_where
from analysis.model_spec import check_model, model_predictors, predictor_names
from analysis.models import build_model
from analysis.stats.regression import EPV_MIN
from analysis.study import Study

__all__ = [
    "ADJUSTMENT",
    "INCREMENTS",
    "MODEL_ID",
    "conclusion_block",
    "lower",
    "model_result",
    "paper_findings",
    "rescale",
    "run_models",
]

#: The model whose conclusion the sensitivity analyses test (the study file's Table 4).
MODEL_ID = "table4"
#: Confounders added in the adjusted model (b), as a reviewer asked for them; a
#: categorical one enters as indicators against its first code (CKD stage 4).
ADJUSTMENT: tuple[str, ...] = ("age", "sex", "ckd_group", "daily_dose")
#: Clinical increments of continuous predictors, in the variable's unit (c).
INCREMENTS: dict[str, float] = {"albumin": 0.5}

_TERM_KEYS = ("term", "estimate", "se", "odds_ratio", "ci_low", "ci_high", "p_value")


# --------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------
def model_result(
    cohort: pd.DataFrame,
    study: Study,
    results: dict[str, dict] | None = None,
    model_id: str = MODEL_ID,
) -> dict[str, Any]:
    """The model's results JSON: taken from ``results`` when it holds it, else built."""
    if results and model_id in results and results[model_id].get("kind") == "logistic":
        return results[model_id]
    return build_model(cohort, study, model_id)


def paper_findings(study: Study, model_id: str = MODEL_ID) -> dict[str, bool | None]:
    """{predictor: independently associated in the paper} for the model's predictors, as
    the study's published figures state it (None for a predictor they do not name)."""
    from analysis.sensitivity.bootstrap import paper_claims

    claims = paper_claims(study, model_id)
    return {name: claims.get(name) for name in predictor_names(study.model(model_id))}


def significant_terms(fit: dict[str, Any], predictors: list[str], alpha: float) -> dict:
    """{predictor: p < alpha} of one fit; a factor by its joint test (ML: Wald, Firth:
    penalised likelihood ratio), a one-column predictor by its own row."""
    rows = {t["term"]: t for t in fit["terms"]}
    tests = {t["predictor"]: t for t in fit.get("predictor_tests", [])}
    out = {}
    for name in predictors:
        if name in rows:
            p = rows[name]["p_value"]
        else:
            test = tests.get(name, {})
            p = test.get("lr_p_value") if fit["method"] == "firth" else test.get("wald_p_value")
        out[name] = p is not None and p < alpha
    return out


def conclusion_block(
    study: Study,
    observed: dict[str, bool],
    because: str,
    extra_condition: bool = True,
    model_id: str = MODEL_ID,
) -> dict[str, Any]:
    """The ``conclusion`` of a sensitivity analysis.

    ``observed`` is {predictor: independently associated (p < alpha) under the
    analysis}; the paper's finding is what its published figures say (:func:`paper_findings`).
    Keys: ``<predictor>_independent`` for each predictor of the model, ``holds`` (every
    observed finding equals the paper's, and ``extra_condition``), and ``text``.
    """
    findings = paper_findings(study, model_id)
    block: dict[str, Any] = {f"{name}_independent": bool(observed[name]) for name in findings}
    agree = all(
        stated is None or bool(observed[name]) == stated for name, stated in findings.items()
    )
    holds = bool(agree and extra_condition)
    label = {name: lower(study.variables[name].label) for name in findings}
    yes = [label[n] for n, s in findings.items() if s]
    no = [label[n] for n, s in findings.items() if s is False]
    claim = (
        f"{' and '.join(yes) or 'no predictor'} independently associated with "
        f"{lower(study.variables[study.model(model_id)['outcome']].label)}"
        + (f", {' and '.join(no)} not" if no else "")
    )
    block["holds"] = holds
    block["text"] = (
        f"The paper's conclusion ({claim}) {'still holds' if holds else 'does not hold'} "
        f"because {because}"
    )
    return block


def _g(value: float | None) -> str:
    return "not computed" if value is None else f"{value:.3g}"


def lower(label: str) -> str:
    """A label inside a sentence: "Serum albumin" -> "serum albumin", "CKD group" kept."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _with_models(study: Study, specs: list[dict[str, Any]]) -> Study:
    """A copy of the study with ``specs`` added to its models, checked as on loading."""
    for i, spec in enumerate(specs):
        check_model(study.path, f"sensitivity models[{i}]", spec, study.variables)
    raw = {**study.raw, "models": [*study.models, *specs]}
    return dataclasses.replace(study, raw=raw)


def _term_row(row: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    out = {key: row.get(key) for key in _TERM_KEYS}
    out["label"] = labels.get(row["term"], row["term"])
    return out


def _fit_summary(result: dict[str, Any], name: str, description: str) -> dict[str, Any]:
    """One fit as the sensitivity result shows it (terms without the constant)."""
    labels = result.get("term_labels", {})
    epv = result.get("events_per_variable")
    n_terms = len(result["terms"]) - 1
    return {
        "fit": name,
        "description": description,
        "method": result["method"],
        "ci_method": result.get("ci_method", "wald"),
        "p_value_method": result.get("p_value_method", "wald"),
        "predictors": list(result.get("predictors", [])),
        "n": result["n"],
        "events": result["events"],
        "nonevents": result["nonevents"],
        "terms_count": n_terms,
        "events_per_variable": epv,
        "epv_warning": epv is not None and epv < EPV_MIN,
        "converged": result.get("converged"),
        "terms": [_term_row(t, labels) for t in result["terms"] if t["term"] != "const"],
        "predictor_tests": result.get("predictor_tests", []),
        "warnings": list(result.get("warnings", [])),
    }


def _fit_not_run(name: str, description: str, reason: str) -> dict[str, Any]:
    """A fit that was not run, in place of :func:`_fit_summary`'s numbers: why."""
    return {
        "fit": name,
        "description": description,
        "method": "firth" if name.endswith("firth") else "logit_mle",
        "not_run": reason,
    }


_COUNT = {1: "one", 2: "two", 3: "three", 4: "four"}


def rescale(term: dict[str, Any], k: float) -> dict[str, Any]:
    """OR and CI of a term per ``k`` units: exp(k·B) and exp(k·limit) on the B scale
    (for Wald limits exp(k·(B ± z·SE)); profile limits rescale the same way, as the
    profile likelihood of k·B is that of B reparametrised). The p-value is unchanged."""

    def power(v: float | None) -> float | None:
        """v**k; an interval open to 0 or infinity (separation) stays open (None for
        infinity, which JSON cannot hold)."""
        if v is None or math.isinf(v):
            return None if v is None or k > 0 else 0.0
        if v <= 0.0:
            return 0.0 if k > 0 else None
        return float(math.exp(k * math.log(v)))

    low, high = power(term["ci_low"]), power(term["ci_high"])
    if k < 0:
        low, high = high, low
    return {
        "estimate": None if term["estimate"] is None else float(k * term["estimate"]),
        "odds_ratio": None if term["estimate"] is None else float(math.exp(k * term["estimate"])),
        "ci_low": low,
        "ci_high": high,
        "p_value": term["p_value"],
    }


def _complete_cases(cohort: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    data = apply_where(cohort, spec.get("where"))
    return data.dropna(subset=[spec["outcome"], *predictor_names(spec)])


# --------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------
def _specs(study: Study, model_id: str, adjustment: tuple[str, ...]) -> list[dict[str, Any]]:
    base = study.model(model_id)
    names = predictor_names(base)
    extra = [name for name in adjustment if name not in names and name != base["outcome"]]
    adjusted_predictors = [
        *base["predictors"],
        *[
            {"variable": name, "reference": "first"}
            if study.variables[name].is_categorical
            else name
            for name in extra
        ],
    ]
    common = {k: v for k, v in base.items() if k in ("outcome", "event", "where", "reference")}
    return [
        {"id": f"{model_id}_sens_firth", **common, "predictors": base["predictors"],
         "crude": False, "method": "firth"},
        {"id": f"{model_id}_sens_adjusted", **common, "predictors": adjusted_predictors,
         "crude": False, "method": "logit_mle"},
        {"id": f"{model_id}_sens_adjusted_firth", **common,
         "predictors": adjusted_predictors, "crude": False, "method": "firth"},
    ]  # fmt: skip


def run_models(
    cohort: pd.DataFrame,
    study: Study,
    results: dict[str, dict] | None = None,
    model_id: str = MODEL_ID,
    adjustment: tuple[str, ...] = ADJUSTMENT,
    increments: dict[str, float] | None = None,
    firth_not_run: str | None = None,
) -> dict[str, Any]:
    """Firth beside ML, an adjusted model, rescaled continuous predictors and EPV.

    ``firth_not_run``: why Firth's fits are not run (the cohort is larger than they run
    on, :data:`analysis.sensitivity.MAX_ROWS`); None: they run. Without them the two
    maximum-likelihood fits run as usual, ``fits.firth`` and ``fits.adjusted_firth`` hold
    ``not_run`` (the reason) instead of numbers, ``firth_vs_ml`` gives it in place of
    each term's Firth figures, the rescaled terms, events per variable and the
    conclusion come from the fits that ran, and ``firth_not_run`` repeats it.

    Returns a results-JSON-like dict: ``kind`` ("sensitivity"), ``analysis``
    ("models"), ``title``, ``method``, ``model``, ``outcome``, ``event``,
    ``predictors``, ``adjustment`` (the added variables), ``fits`` {``ml``, ``firth``,
    ``adjusted_ml``, ``adjusted_firth``: {``fit``, ``description``, ``method``,
    ``ci_method``, ``p_value_method``, ``predictors``, ``n``, ``events``,
    ``nonevents``, ``terms_count``, ``events_per_variable``, ``epv_warning``,
    ``converged``, ``terms`` [{``term``, ``label``, ``estimate``, ``se``,
    ``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value``}], ``predictor_tests``,
    ``warnings``}}, ``firth_vs_ml`` [per term: both ORs, CIs, p], ``rescaled``
    [{``fit``, ``term``, ``per``, ``k``, ``sd`` (for per SD), ``estimate``,
    ``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value``}], ``events_per_variable``
    [{``fit``, ``events``, ``nonevents``, ``terms``, ``epv``, ``warning``}],
    ``warnings`` [str], ``conclusion``.
    """
    increments = INCREMENTS if increments is None else increments
    base_spec = study.model(model_id)
    predictors = predictor_names(base_spec)
    specs = _specs(study, model_id, adjustment)
    added = [name for name in predictor_names(specs[1]) if name not in predictors]
    extended = _with_models(study, specs)
    ml = model_result(cohort, study, results, model_id)
    skip_firth = firth_not_run is not None
    firth = None if skip_firth else build_model(cohort, extended, specs[0]["id"])
    adj = build_model(cohort, extended, specs[1]["id"])
    adj_firth = None if skip_firth else build_model(cohort, extended, specs[2]["id"])
    adjust_text = ", ".join(
        f"{lower(study.variables[n].label)}"
        + (
            f" (categorical, {study.variables[n].codes[study.variables[n].levels[0]]} the "
            "reference)"
            if study.variables[n].is_categorical and len(study.variables[n].levels) > 2
            else ""
        )
        for n in added
    )
    descriptions = {
        "ml": "the study model by maximum likelihood (as Table 4)",
        "firth": "the study model by Firth's penalised likelihood",
        "adjusted_ml": f"adjusted for {adjust_text}, maximum likelihood",
        "adjusted_firth": f"adjusted for {adjust_text}, Firth",
    }
    fitted = {"ml": ml, "firth": firth, "adjusted_ml": adj, "adjusted_firth": adj_firth}
    fits = {
        key: _fit_summary(res, key, descriptions[key])
        if res is not None
        else _fit_not_run(key, descriptions[key], str(firth_not_run))
        for key, res in fitted.items()
    }
    for key, res in (("adjusted_ml", adj), ("adjusted_firth", adj_firth)):
        if res is not None:
            fits[key]["predictor_coding"] = res.get("coding")
    # the fits that ran (all four unless Firth's are not run), in this order
    ran = [key for key, res in fitted.items() if res is not None]

    firth_vs_ml = []
    firth_rows = {t["term"]: t for t in fits["firth"].get("terms", [])}
    for row in fits["ml"]["terms"]:
        if skip_firth:
            firth_figures = {"not_run": firth_not_run}
        else:
            f = firth_rows[row["term"]]
            firth_figures = {k: f[k] for k in ("odds_ratio", "ci_low", "ci_high", "p_value")}
        firth_vs_ml.append({
            "term": row["term"],
            "label": row["label"],
            "ml": {k: row[k] for k in ("odds_ratio", "ci_low", "ci_high", "p_value")},
            "firth": firth_figures,
        })  # fmt: skip

    # (c) continuous predictors per clinical increment and per SD of the model's data
    rescaled = []
    continuous = [p.variable for p in model_predictors(base_spec, study) if p.entry == "continuous"]
    complete = _complete_cases(cohort, base_spec)
    for name in continuous:
        var = study.variables[name]
        sd = float(pd.to_numeric(complete[name]).std(ddof=1))
        scales = [(f"1 {var.unit}" if var.unit else "1 unit", 1.0, None)]
        if name in increments:
            k = float(increments[name])
            scales.append((f"{k:g} {var.unit}" if var.unit else f"{k:g} units", k, None))
        scales.append(("1 SD", sd, sd))
        for fit_key in ran:
            term = next(t for t in fits[fit_key]["terms"] if t["term"] == name)
            for per, k, sd_value in scales:
                rescaled.append({
                    "fit": fit_key, "term": name, "label": var.label, "per": per, "k": k,
                    "sd": sd_value, **rescale(term, k),
                })  # fmt: skip

    epv_rows = []
    warnings = []
    for key in ran:
        fit = fits[key]
        epv = fit["events_per_variable"]
        warn = epv is not None and epv < EPV_MIN
        epv_rows.append({
            "fit": key, "events": fit["events"], "nonevents": fit["nonevents"],
            "terms": fit["terms_count"], "epv": epv, "warning": warn,
        })  # fmt: skip
        if warn:
            warnings.append(
                f"{key}: events per variable {epv:.2f} < {EPV_MIN:g} (min(events, non-events)"
                f" = {min(fit['events'], fit['nonevents'])} over {fit['terms_count']} terms; "
                "Peduzzi et al. 1996): maximum-likelihood estimates may be biased, Firth's "
                "fit is the more reliable one"
            )

    alpha = study.alpha
    significance = {key: significant_terms(fitted[key], predictors, alpha) for key in ran}
    findings = paper_findings(study, model_id)
    # a predictor counts as independent only if it is so in every fit
    observed = {name: all(s[name] for s in significance.values()) for name in predictors}
    varying = [name for name in predictors if len({s[name] for s in significance.values()}) > 1]
    parts = []
    for name in predictors:
        ps = {key: next(t["p_value"] for t in fits[key]["terms"] if t["term"] == name)
              for key in ran}  # fmt: skip
        ors = {key: next(t["odds_ratio"] for t in fits[key]["terms"] if t["term"] == name)
               for key in ran}  # fmt: skip
        parts.append(
            f"{lower(study.variables[name].label)} has OR "
            + ", ".join(f"{_g(ors[k])} (p = {_g(ps[k])}, {k.replace('_', ' ')})" for k in ran)
        )
    because = (
        "; ".join(parts)
        + (
            f"; its significance differs between fits for {', '.join(varying)}"
            if varying
            else "; every fit agrees on which predictors are significant"
        )
        + f" (alpha = {alpha:g})."
        + (f" Firth's fits were not run: {firth_not_run}." if skip_firth else "")
    )
    # as the paper's finding is stated: "independent" must hold in every fit, "not
    # independent" must hold in every fit too (significant in any fit counts against it)
    observed = {
        name: observed[name] if findings.get(name)
        else any(s[name] for s in significance.values())
        for name in predictors
    }  # fmt: skip
    conclusion = conclusion_block(study, observed, because, model_id=model_id)
    conclusion["significance_by_fit"] = significance

    outcome = lower(study.variables[base_spec["outcome"]].label)
    method = (
        f"The logistic regression of {outcome} on "
        + " and ".join(lower(study.variables[n].label) for n in predictors)
        + " (model "
        + model_id
        + ") was refitted by maximum likelihood (Newton-Raphson; Wald 95% CI = "
        "exp(B ± 1.96·SE), Wald p, as SPSS LOGISTIC REGRESSION) and by Firth's penalised "
        "likelihood (Firth 1993; Heinze & Schemper 2002: 95% profile penalised-likelihood "
        "CI and penalised likelihood-ratio p, as R's logistf). The model was then adjusted "
        f"for {adjust_text}, with both fitting methods. Continuous predictors are also "
        "reported per "
        + ", ".join(
            f"{increments[n]:g} {study.variables[n].unit or 'units'} of {n}"
            for n in continuous
            if n in increments
        )
        + (" and " if any(n in increments for n in continuous) else "")
        + "per standard deviation (SD of the model's complete cases, n - 1 denominator), "
        "rescaling the coefficient exactly: OR per k units = exp(k·B), with the CI limits "
        "exp(k·limit). Events per variable = min(events, non-events) / number of model "
        f"terms, with a warning below {EPV_MIN:g} (Peduzzi et al. 1996). The paper's "
        f"conclusion is taken to hold when each predictor it found independently "
        f"associated has p < {alpha:g} in all {_COUNT[len(ran)]} fits and each it found not "
        f"associated has p >= {alpha:g} in all {_COUNT[len(ran)]} (ML p: Wald"
        + ("" if skip_firth else "; Firth p: penalised likelihood ratio")
        + ")."
        + (f" Firth's fits were not run: {firth_not_run}." if skip_firth else "")
    )
    out = {
        "kind": "sensitivity",
        "analysis": "models",
        "title": "Sensitivity of the logistic model to Firth's correction, adjustment and scaling",
        "method": method,
        "model": model_id,
        "outcome": base_spec["outcome"],
        "event": base_spec["event"],
        "predictors": predictors,
        "adjustment": added,
        "alpha": alpha,
        "fits": fits,
        "firth_vs_ml": firth_vs_ml,
        "rescaled": rescaled,
        "events_per_variable": epv_rows,
        "warnings": warnings,
        "conclusion": conclusion,
    }
    if skip_firth:
        out["firth_not_run"] = firth_not_run
    return out
