"""Logistic models declared in the study file: adjusted fit beside crude fits.

Maximum likelihood with Wald CIs, as SPSS prints them. Binary predictors enter
as 0/1 covariates (OR for 1 vs 0), never as SPSS /CATEGORICAL with the last
category as reference (which inverts the OR). When events per variable are
fewer than 10 or the data are separated, Firth's penalised fit is added.

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
from analysis.stats import regression
from analysis.study import Study
from analysis.tables import SCHEMA_VERSION, Issue

__all__ = ["build_model", "model_issues"]


def _design(
    data: pd.DataFrame, study: Study, predictors: list[str]
) -> tuple[pd.DataFrame, dict[str, list[str]], dict[str, str]]:
    """Design columns, the columns of each predictor, and a label for every term.

    Continuous predictors enter per one unit; binary ones as 0/1 (the last code vs
    the first); categorical ones with k codes as k - 1 indicators against the first
    code (the reference), named ``variable[code]``.
    """
    columns: dict[str, pd.Series] = {}
    groups: dict[str, list[str]] = {}
    labels = {"const": "Constant"}
    for name in predictors:
        var = study.variables[name]
        if not var.is_categorical:
            columns[name] = pd.to_numeric(data[name], errors="coerce").astype(float)
            groups[name] = [name]
            labels[name] = f"{var.label} (per 1 {var.unit})" if var.unit else var.label
            continue
        reference, *others = var.levels
        known = data[name].isin(var.levels)
        if len(others) == 1:
            terms = {name: others[0]}
        else:
            terms = {f"{name}[{code}]": code for code in others}
        for term, code in terms.items():
            columns[term] = (data[name] == code).astype(float).where(known)
            labels[term] = f"{var.label} ({var.codes[code]} vs {var.codes[reference]})"
        groups[name] = list(terms)
    return pd.DataFrame(columns, index=data.index), groups, labels


def _fit(y: np.ndarray, X: pd.DataFrame) -> dict[str, Any]:
    """ML fit; Firth's fit is added when events per variable are few, the data are
    separated, or maximum likelihood did not converge."""
    result = regression.logistic_regression(y, X)
    epv = result.get("events_per_variable")
    few_events = epv is not None and epv < regression.EPV_MIN
    if few_events or result.get("separation") or not result.get("converged", True):
        result["firth"] = regression.firth_logistic(y, X)
    return result


def _fits(spec: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(name, predictors) of every fit the model runs: the adjusted one, then the crude."""
    fits = [("adjusted", list(spec["predictors"]))]
    if spec.get("crude", True):
        fits += [(f"crude {name}", [name]) for name in spec["predictors"]]
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
    needed = [*(spec.get("where") or {}), outcome, *spec["predictors"]]
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
    X, groups, _ = _design(data, study, spec["predictors"])
    issues = []
    for fit, predictors in _fits(spec):
        issue = _fit_issue(model_id, fit, spec, y, X, groups, predictors)
        if issue is not None:
            issues.append(issue)
    return issues


def _fit_named(model_id: str, fit: str, y: np.ndarray, X: pd.DataFrame) -> dict[str, Any]:
    """:func:`_fit`, with anything the fit still refuses named by model and fit."""
    try:
        return _fit(y, X)
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
    X, groups, labels = _design(data, study, spec["predictors"])
    adjusted = _fit_named(model_id, "adjusted", y, X)
    # why rows were dropped: missing values per column (a row may miss several)
    missing = {spec["outcome"]: int(outcome.isna().sum())}
    missing.update({name: int(X[groups[name][0]].isna().sum()) for name in spec["predictors"]})
    crude = {}
    if spec.get("crude", True):
        for name in spec["predictors"]:
            crude[name] = _fit_named(model_id, f"crude {name}", y, X[groups[name]])
    return {
        "schema_version": SCHEMA_VERSION,
        "study": study.id,
        "model": model_id,
        "kind": "logistic",
        "title": spec.get("title", model_id),
        "outcome": spec["outcome"],
        "event": spec["event"],
        "predictors": spec["predictors"],
        "term_labels": labels,
        "predictor_terms": groups,
        "coding": "binary predictors entered as 0/1 covariates (odds ratio for the last code "
        "vs the first); categorical predictors as indicators against their first code; "
        "continuous predictors per one unit",
        **adjusted,
        "missing_by_column": missing,
        "crude": crude,
    }
