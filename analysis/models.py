"""Logistic models declared in the study file: adjusted fit beside crude fits.

Maximum likelihood with Wald CIs, as SPSS prints them. Binary predictors enter
as 0/1 covariates (OR for the last code vs the first) and categorical ones as
indicators against a reference code, the first unless the model names another
(:mod:`analysis.model_spec`; SPSS's /CATEGORICAL default is the last, which
inverts the ORs). Each predictor is also tested as a whole: joint Wald and
likelihood ratio. With ``method: logit_mle`` Firth's penalised fit is added when
events per variable are fewer than 10 or the data are separated; ``method:
firth`` makes it the fit, and ``auto`` makes it the fit exactly in those cases.

:func:`model_issues` finds, from counts alone, what would stop a fit (no events or
only events among the complete cases, a predictor missing for every event, a
predictor constant, collinear predictors); the validator runs it on the included
cohort and :func:`build_model` refuses on it, so both give the same one line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.derive import apply_where
from analysis.errors import AnalysisError, DataError
from analysis.model_spec import Predictor, model_predictors, predictor_names
from analysis.stats import regression
from analysis.study import Study
from analysis.tables import SCHEMA_VERSION, Issue

__all__ = ["build_model", "design_columns", "model_issues"]


#: "per 1 year", not "per 1 years": units a label gives in the plural.
_SINGULAR = {"years": "year", "months": "month", "weeks": "week", "days": "day", "hours": "hour"}


def design_columns(
    data: pd.DataFrame, study: Study, predictors: list[Predictor]
) -> tuple[pd.DataFrame, dict[str, list[str]], dict[str, str]]:
    """Design columns, the columns of each predictor, and a label for every term.

    Continuous predictors (and categorical ones entered ``as: continuous``) enter per
    one unit of their value or code; a factor of k codes as k - 1 indicators against
    its reference, named ``variable[code]``, or just ``variable`` when k = 2 (a binary
    variable: the OR of the other code vs the reference).
    """
    columns: dict[str, pd.Series] = {}
    groups: dict[str, list[str]] = {}
    labels = {"const": "Constant"}
    for predictor in predictors:
        name = predictor.variable
        var = study.variables[name]
        if predictor.entry == "continuous":
            columns[name] = pd.to_numeric(data[name], errors="coerce").astype(float)
            groups[name] = [name]
            if var.is_categorical:
                labels[name] = f"{var.label} (per 1 unit of its code)"
            else:
                unit = _SINGULAR.get(var.unit, var.unit)
                labels[name] = f"{var.label} (per 1 {unit})" if var.unit else var.label
            continue
        reference, others = predictor.reference, predictor.others
        known = data[name].isin(predictor.levels)
        if len(others) == 1:
            terms = {name: others[0]}
        else:
            terms = {f"{name}[{code}]": code for code in others}
        for term, code in terms.items():
            columns[term] = (data[name] == code).astype(float).where(known)
            labels[term] = f"{var.label} ({var.codes[code]} vs {var.codes[reference]})"
        groups[name] = list(terms)
    return pd.DataFrame(columns, index=data.index), groups, labels


def _coding(study: Study, predictors: list[Predictor]) -> tuple[dict[str, Any], str]:
    """How each predictor entered (results ``predictor_coding``) and the sentence for it."""
    coding: dict[str, Any] = {}
    parts = []
    for predictor in predictors:
        var = study.variables[predictor.variable]
        if predictor.entry == "continuous":
            coding[predictor.variable] = {"entered_as": "continuous"}
            parts.append(
                f"{var.label} per 1 unit of its code"
                if var.is_categorical
                else f"{var.label} per 1 {var.unit or 'unit'}"
            )
            continue
        coding[predictor.variable] = {
            "entered_as": "categorical",
            "levels": list(predictor.levels),
            "reference": predictor.reference,
            "reference_rule": predictor.reference_rule,
        }
        rule = predictor.reference_rule
        how = f"code {predictor.reference}" if rule == "code" else f"the {rule} code"
        reference = var.codes[predictor.reference]
        if len(predictor.others) == 1:
            other = var.codes[predictor.others[0]]
            parts.append(f"{var.label}: {other} vs {reference} ({how} as reference)")
        else:
            parts.append(f"{var.label}: indicators against {reference} ({how})")
    return coding, "; ".join(parts)


def _ml_needs_firth(result: dict[str, Any]) -> str | None:
    """Why maximum likelihood is unreliable for this fit (few events, separation, no
    convergence), or None."""
    epv = result.get("events_per_variable")
    reasons = []
    if epv is not None and epv < regression.EPV_MIN:
        reasons.append(f"events per variable {epv:.2f} < {regression.EPV_MIN:g}")
    if result.get("separation"):
        reasons.append("separation")
    if not result.get("converged", True):
        reasons.append("maximum likelihood did not converge")
    return "; ".join(reasons) or None


def _fit(y: np.ndarray, X: pd.DataFrame, groups: dict[str, list[str]], firth: bool) -> dict:
    """Firth's fit when asked; otherwise ML, with Firth's fit added when ML is unreliable."""
    if firth:
        return regression.firth_logistic(y, X, groups=groups)
    result = regression.logistic_regression(y, X, groups=groups)
    if _ml_needs_firth(result):
        result["firth"] = regression.firth_logistic(y, X, groups=groups)
    return result


def _fits(spec: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(name, predictors) of every fit the model runs: the adjusted one, then the crude."""
    names = predictor_names(spec)
    fits = [("adjusted", names)]
    if spec.get("crude", True):
        fits += [(f"crude {name}", [name]) for name in names]
    return fits


def _fit_issue(
    model_id: str,
    fit: str,
    spec: dict[str, Any],
    y: np.ndarray,
    X: pd.DataFrame,
    groups: dict[str, list[str]],
    predictors: list[str],
) -> Issue | None:
    """Why this fit cannot be run, or None: the checks of ``regression`` in words."""
    outcome, event = spec["outcome"], spec["event"]
    head = f"model {model_id} ({fit} fit)"
    terms = [t for name in predictors for t in groups[name]]
    has_y = ~np.isnan(y)
    known = X[terms].notna().to_numpy().all(axis=1)
    complete = has_y & known
    n = int(complete.sum())
    events = int(np.nansum(y[complete]))
    for kind, rows, word in (("events", y == 1, "event"), ("non-events", y == 0, "non-event")):
        has = int(rows.sum())
        count = events if kind == "events" else n - events
        if has and count == 0:
            gone = [name for name in predictors
                    if X.loc[rows, groups[name]].isna().any(axis=1).all()]  # fmt: skip
            what = f"{outcome} = {event}" if kind == "events" else f"{outcome} != {event}"
            if gone:
                return Issue(
                    "error", gone[0], f"predictor_missing_for_{kind.replace('-', '')}",
                    f"{head}: predictor '{gone[0]}' is missing for every {word} ({what}, "
                    f"{has} row(s)): no {kind} among the complete cases, cannot be fitted",
                )  # fmt: skip
            return Issue(
                "error", outcome, f"no_{kind.replace('-', '')}_complete",
                f"{head}: no {kind} ({what}) among the {n} complete case(s) (outcome and "
                f"{', '.join(predictors)} all recorded): cannot be fitted",
            )  # fmt: skip
    for name in predictors:
        for term in groups[name]:
            values = X.loc[complete, term].to_numpy()
            if n and np.all(values == values[0]):
                return Issue(
                    "error", name, "predictor_constant",
                    f"{head}: predictor '{name}'{'' if term == name else f' ({term})'} takes the "
                    f"single value "
                    f"{values[0]:g} among the {n} complete case(s): cannot be fitted",
                )  # fmt: skip
    design = np.column_stack([np.ones(n), X.loc[complete, terms].to_numpy(float)])
    gram = design.T @ design
    scale = np.sqrt(np.diag(gram))
    eig = np.linalg.eigvalsh(gram / np.outer(scale, scale))
    if eig.min() <= 1e-14 * eig.max():
        return Issue(
            "error", predictors[0], "predictors_collinear",
            f"{head}: predictors {', '.join(predictors)} are collinear among the {n} "
            "complete case(s): cannot be fitted",
        )  # fmt: skip
    return None


def model_issues(cohort: pd.DataFrame, study: Study, model_id: str) -> list[Issue]:
    """Why the model (adjusted or a crude fit) cannot be fitted on ``cohort``, if it cannot.

    ``cohort`` is what the model sees: the included rows (the model's ``where``
    is applied here). Separation and few events are not here: Firth's fit handles them.
    """
    spec = study.model(model_id)
    outcome = spec["outcome"]
    needed = [*(spec.get("where") or {}), outcome, *predictor_names(spec)]
    absent = [name for name in dict.fromkeys(needed) if name not in cohort.columns]
    if absent:
        return [Issue("error", name, "model_column",
                      f"model {model_id}: column '{name}' is needed but not in the data")
                for name in absent]  # fmt: skip
    data = apply_where(cohort, spec.get("where"))
    values = data[outcome]
    rows = f"the {len(data)} included row(s)"
    if values.notna().sum() == 0:
        return [Issue("error", outcome, "outcome_missing",
                      f"model {model_id}: outcome '{outcome}' is missing for every one of "
                      f"{rows}: cannot be fitted")]  # fmt: skip
    y = (values == spec["event"]).astype(float).where(values.notna()).to_numpy()
    if np.nansum(y) == 0:
        return [Issue("error", outcome, "no_events",
                      f"model {model_id}: no events ({outcome} = {spec['event']}) among "
                      f"{rows}: cannot be fitted")]  # fmt: skip
    if np.nansum(y) == np.count_nonzero(~np.isnan(y)):
        return [Issue("error", outcome, "all_events",
                      f"model {model_id}: every one of {rows} with {outcome} recorded is an "
                      f"event ({outcome} = {spec['event']}): no comparison group, cannot be "
                      "fitted")]  # fmt: skip
    X, groups, _ = design_columns(data, study, model_predictors(spec, study))
    issues = []
    for fit, predictors in _fits(spec):
        issue = _fit_issue(model_id, fit, spec, y, X, groups, predictors)
        if issue is not None:
            issues.append(issue)
    return issues


def _fit_named(
    model_id: str,
    fit: str,
    y: np.ndarray,
    X: pd.DataFrame,
    groups: dict[str, list[str]],
    firth: bool,
) -> dict[str, Any]:
    """:func:`_fit`, with anything the fit still refuses named by model and fit."""
    try:
        return _fit(y, X, groups, firth)
    except AnalysisError:
        raise
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise DataError(f"model {model_id} ({fit} fit): {exc}") from exc


def build_model(cohort: pd.DataFrame, study: Study, model_id: str) -> dict[str, Any]:
    """Adjusted model and one crude model per predictor, as the results-JSON dict.

    Refuses with a one-line :class:`AnalysisError` naming the model and variable when
    :func:`model_issues` finds a fit that cannot run.
    """
    spec = study.model(model_id)
    for issue in model_issues(cohort, study, model_id):
        raise DataError(issue.message)
    data = apply_where(cohort, spec.get("where"))
    outcome = data[spec["outcome"]]
    y = (outcome == spec["event"]).astype(float).where(outcome.notna()).to_numpy()
    predictors = model_predictors(spec, study)
    names = [p.variable for p in predictors]
    X, groups, labels = design_columns(data, study, predictors)
    requested = spec.get("method", "logit_mle")
    if requested == "firth":
        firth, reason = True, "Firth's penalised likelihood, as the study file asks (method: firth)"
        adjusted = _fit_named(model_id, "adjusted", y, X, groups, firth)
    else:
        adjusted = _fit_named(model_id, "adjusted", y, X, groups, firth=False)
        why = _ml_needs_firth(adjusted)
        firth = requested == "auto" and why is not None
        if firth:  # the Firth fit ML's unreliability added becomes the fit
            adjusted = adjusted["firth"]
            reason = f"Firth's penalised likelihood (method: auto) because of {why}"
        elif requested == "auto":
            reason = "maximum likelihood (method: auto; events per variable >= 10, no separation)"
        else:
            reason = "maximum likelihood (method: logit_mle)"
    # why rows were dropped: missing values per column (a row may miss several)
    missing = {spec["outcome"]: int(outcome.isna().sum())}
    missing.update({name: int(X[groups[name][0]].isna().sum()) for name in names})
    crude = {}
    if spec.get("crude", True):
        for name in names:
            crude[name] = _fit_named(
                model_id, f"crude {name}", y, X[groups[name]], {name: groups[name]}, firth
            )
    coding, sentence = _coding(study, predictors)
    return {
        "schema_version": SCHEMA_VERSION,
        "study": study.id,
        "model": model_id,
        "kind": "logistic",
        "title": spec.get("title", model_id),
        "number": spec.get("number"),
        "outcome": spec["outcome"],
        "event": spec["event"],
        "predictors": names,
        "predictor_labels": {name: study.variables[name].label for name in names},
        "term_labels": labels,
        "predictor_terms": groups,
        "predictor_coding": coding,
        "coding": sentence,
        "method_requested": requested,
        "method_reason": reason,
        **adjusted,
        "missing_by_column": missing,
        "crude": crude,
    }
