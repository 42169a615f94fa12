"""Logistic models declared in the study file: adjusted fit beside crude fits.

Maximum likelihood with Wald CIs, as SPSS prints them. Binary predictors enter
as 0/1 covariates (OR for 1 vs 0), never as SPSS /CATEGORICAL with the last
category as reference (which inverts the OR). When events per variable are
fewer than 10 or the data are separated, Firth's penalised fit is added.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.derive import apply_where
from analysis.errors import DataError
from analysis.stats import regression
from analysis.study import Study
from analysis.tables import SCHEMA_VERSION

__all__ = ["build_model"]


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


def build_model(cohort: pd.DataFrame, study: Study, model_id: str) -> dict[str, Any]:
    """Adjusted model and one crude model per predictor, as the results-JSON dict."""
    spec = study.model(model_id)
    data = apply_where(cohort, spec.get("where"))
    outcome = data[spec["outcome"]]
    if outcome.notna().sum() == 0:
        raise DataError(f"model {model_id}: outcome '{spec['outcome']}' is missing for every row")
    y = (outcome == spec["event"]).astype(float).where(outcome.notna()).to_numpy()
    if np.nansum(y) == 0:
        raise DataError(f"model {model_id}: no events ({spec['outcome']} = {spec['event']})")
    X, groups, labels = _design(data, study, spec["predictors"])
    adjusted = _fit(y, X)
    # why rows were dropped: missing values per column (a row may miss several)
    missing = {spec["outcome"]: int(outcome.isna().sum())}
    missing.update({name: int(X[groups[name][0]].isna().sum()) for name in spec["predictors"]})
    crude = {}
    if spec.get("crude", True):
        for name in spec["predictors"]:
            crude[name] = _fit(y, X[groups[name]])
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
