"""What one site sends to the coordinator: aggregates of its tables and model, protected.

A site of a multi-site study runs the study's tables and model on its own patients and
keeps every row. What leaves is a *bundle*: for each summary table row the per-group
counts, n, sum and sum of squared deviations (what pooled means, SDs, t-tests and ANOVA
need exactly), the rank sums and tie term of its rank test (what the site-stratified
van Elteren test needs), its contingency table (what Cochran-Mantel-Haenszel needs),
the site's own summary and test, and the model's estimates with their covariance (what
a meta-analysis needs). The exact distributed fit needs more, one round at a time: the
score and information at the coordinator's current estimates (:func:`score_round`).

Disclosure control runs first (:func:`analysis.disclosure.apply_to_result`, the same
rules as every other output): a count below the threshold and any count that would give
it back by subtraction is withheld, and so is every statistic of a group whose n is
withheld; minimum, maximum and listings never leave. Pooling needs exact counts, so a
profile that rounds counts (opensafely) is refused here.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from analysis.derive import apply_where
from analysis.disclosure import Profile, apply_to_result, model_withheld_reason
from analysis.errors import AnalysisError, DataError
from analysis.model_spec import model_predictors
from analysis.models import design_columns
from analysis.multisite import pooling
from analysis.study import Study
from analysis.table_spec import is_categorical_row
from analysis.tables import build_table, group_index, numeric_values

__all__ = [
    "BUNDLE_KIND",
    "BUNDLE_VERSION",
    "SITE_NAME",
    "build_bundle",
    "check_profile",
    "check_site_name",
    "model_design",
    "score_round",
]

BUNDLE_KIND = "multisite-aggregates"
BUNDLE_VERSION = 1
#: A site's own summary statistics of a continuous row that may leave (never min/max:
#: a single patient's value).
#: A site's name (the bundle schema's pattern too).
SITE_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_SITE_STATS = ("n", "missing", "mean", "sd", "median", "q1", "q3")


def check_site_name(site: str) -> str:
    """A site's name as bundles carry it (and file names may): letters, digits, '_', '.',
    '-', starting with a letter or digit; so it never names a path elsewhere."""
    if not re.fullmatch(SITE_NAME, site or ""):
        raise AnalysisError(
            f"--site {site!r}: a site name is 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return site


def check_profile(profile: Profile | None) -> Profile:
    """The profile a bundle is protected with: one that keeps counts exact."""
    if profile is None:
        raise AnalysisError("a disclosure profile is required (e.g. --disclosure threshold)")
    if profile.round_to:
        raise AnalysisError(
            f"disclosure profile '{profile.name}' rounds counts, and pooling needs exact "
            "counts; use a profile that suppresses without rounding (e.g. threshold)"
        )
    return profile


def _row_values(data: pd.DataFrame, var, group_var) -> list[np.ndarray]:
    """The non-missing values of a continuous row in each group, as the table saw them."""
    if var.only_if:
        ((ref, codes),) = var.only_if.items()
        data = data.loc[data[ref].isin(codes)]
    x = numeric_values(data[var.name])
    return [x[idx][~np.isnan(x[idx])] for _, _, idx in group_index(data, group_var)]


def _continuous(row: dict, values: list[np.ndarray], keys: list[str]) -> dict[str, Any]:
    """A continuous row: the site's protected summary, plus moments and ranks where every
    count they rest on is shown."""
    groups: dict[str, Any] = {}
    for key, arr in zip(keys, values, strict=True):
        shown = row["stats"][key]
        stats = {s: shown.get(s) for s in _SITE_STATS}
        if stats["n"] is not None and arr.size:
            m = pooling.moments(arr)
            stats |= {"total": m.total, "ss": m.ss}
        else:  # a hidden n (or an empty group): mean = total / n would give it back
            stats |= (
                {"total": None, "ss": None} if stats["n"] is None else {"total": 0.0, "ss": 0.0}
            )
        groups[key] = stats
    with_data = [arr for arr in values if arr.size]
    ranks = None
    if len(keys) > 1 and all(g["n"] is not None for g in groups.values()) and len(with_data) > 1:
        ranks = pooling.rank_stratum(values)
    return {
        "variable": row["variable"],
        "label": row["label"],
        "kind": "continuous",
        "summary": row["summary"],
        "decimals": row.get("decimals"),
        "groups": groups,
        "ranks": ranks,
        "site_test": row.get("test"),
        "site_statistic": row.get("statistic"),
        "site_p_value": row.get("p_value"),
    }


def _categorical(rows: list[dict], keys: list[str]) -> dict[str, Any]:
    """A categorical variable (one results row per level): its contingency table."""
    first = rows[0]
    counts = {k: {str(r["level"]): r["stats"][k].get("count") for r in rows} for k in keys}
    return {
        "variable": first["variable"],
        "label": first["label"],
        "kind": "categorical",
        "decimals": first.get("decimals"),
        "levels": [{"code": str(r["level"]), "label": r["level_label"]} for r in rows],
        "n": {k: first["stats"][k].get("n") for k in keys},
        "missing": {k: first["stats"][k].get("missing") for k in keys},
        "counts": counts,
        "site_test": first.get("test"),
        "site_statistic": first.get("statistic"),
        "site_p_value": first.get("p_value"),
    }


def _table(cohort: pd.DataFrame, study: Study, table: dict, profile: Profile) -> dict[str, Any]:
    protected = apply_to_result(build_table(cohort, study, table["id"]), profile)
    head = {k: protected.get(k) for k in ("title", "number", "where", "group_by", "group_label")}
    out = {"id": table["id"], **head, "n": protected["n"]}
    if protected.get("withheld"):
        return out | {"withheld": protected["withheld"], "groups": [], "rows": []}
    keys = [g["key"] for g in protected["groups"]]
    data = apply_where(cohort.reset_index(drop=True), table.get("where"))
    group_var = study.variables[table["group_by"]] if "group_by" in table else None
    if group_var is not None:
        data = data.loc[data[group_var.name].notna()]
    rows: list[dict[str, Any]] = []
    by_var: dict[str, list[dict]] = {}
    for row in protected["rows"]:
        by_var.setdefault(row["variable"], []).append(row)
    overrides = table.get("overrides", {})
    for name, var_rows in by_var.items():
        var = study.variables[name]
        if is_categorical_row(var, overrides.get(name, {})):
            rows.append(_categorical(var_rows, keys))
        else:
            rows.append(_continuous(var_rows[0], _row_values(data, var, group_var), keys))
    groups = [{"key": g["key"], "label": g["label"], "n": g["n"]} for g in protected["groups"]]
    return out | {"policy": protected["policy"]["name"], "groups": groups, "rows": rows}


def model_design(cohort: pd.DataFrame, study: Study, model_id: str) -> tuple:
    """(X with a constant first, y, term names) of the model's complete cases: the same
    design at every site, since the coding comes from the study file."""
    spec = study.model(model_id)
    data = apply_where(cohort, spec.get("where"))
    outcome = data[spec["outcome"]]
    y = (outcome == spec["event"]).astype(float).where(outcome.notna())
    X, _, labels = design_columns(data, study, model_predictors(spec, study))
    complete = y.notna() & X.notna().all(axis=1)
    terms = ["const", *X.columns]
    xm = np.column_stack([np.ones(int(complete.sum())), X.loc[complete].to_numpy(float)])
    return xm, y.loc[complete].to_numpy(float), terms, labels


def _model(cohort: pd.DataFrame, study: Study, model_id: str, profile: Profile) -> dict:
    """The site's maximum-likelihood fit: estimates and covariance (inverse information at
    the estimates), or the reason it is withheld."""
    from statsmodels.discrete.discrete_model import Logit

    xm, y, terms, labels = model_design(cohort, study, model_id)
    events = int(y.sum())
    fit = {"n": int(y.size), "events": events, "nonevents": int(y.size - events)}
    out = {"id": model_id, "terms": terms, "term_labels": labels}
    reason = model_withheld_reason(fit, len(terms), profile)
    if reason is not None:
        return out | {"n": None, "events": None, "nonevents": None, "withheld": reason}
    try:
        res = Logit(y, xm).fit(method="newton", tol=1e-12, maxiter=100, disp=False)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise DataError(f"model {model_id}: the site's fit failed ({exc})") from exc
    converged = bool(res.mle_retvals.get("converged", False))
    if not converged:
        return out | {
            "n": None,
            "events": None,
            "nonevents": None,
            "withheld": "maximum likelihood did not converge at this site",
        }
    return (
        out
        | fit
        | {
            "estimate": [float(b) for b in res.params],
            "cov": [[float(v) for v in line] for line in np.asarray(res.cov_params())],
            "converged": converged,
        }
    )


def build_bundle(
    cohort: pd.DataFrame, study: Study, site: str, profile: Profile, study_sha256: str
) -> dict[str, Any]:
    """The site's bundle (without its checksum: :func:`analysis.multisite.bundle.seal`)."""
    check_profile(profile)
    if profile.is_small(len(cohort)):
        raise DataError(f"share: the site's cohort is smaller than {profile.threshold} patients")
    tables, withheld = [], []
    for table in study.tables:
        if table.get("kind", "summary") == "listing":
            withheld.append({"output": table["id"], "why": "a listing: one row per patient"})
            continue
        tables.append(_table(cohort, study, table, profile))
    return {
        "bundle": BUNDLE_KIND,
        "bundle_version": BUNDLE_VERSION,
        "site": site,
        "study": {
            "id": study.id,
            "version": study.version,
            "sha256": study_sha256,
        },
        "disclosure": {"profile": profile.name, "threshold": profile.threshold},
        "n": len(cohort),
        "tables": tables,
        "models": [_model(cohort, study, m["id"], profile) for m in study.models],
        "withheld": withheld,
    }


def score_round(
    cohort: pd.DataFrame, study: Study, model_id: str, beta: list[float], profile: Profile
) -> dict[str, Any]:
    """One round of the exact distributed fit: this site's score vector, information matrix
    and log-likelihood at the coordinator's ``beta``, sums over its complete cases."""
    xm, y, terms, _ = model_design(cohort, study, model_id)
    if len(beta) != len(terms):
        raise AnalysisError(
            f"model {model_id}: the coordinator sent {len(beta)} estimates for {len(terms)} terms"
        )
    events = int(y.sum())
    fit = {"n": int(y.size), "events": events, "nonevents": int(y.size - events)}
    check_profile(profile)
    reason = model_withheld_reason(fit, len(terms), profile)
    if reason is not None:
        raise DataError(f"model {model_id}: this site cannot take part in the fit: {reason}")
    part = pooling.site_contribution(xm, y, np.asarray(beta, dtype=float))
    return {"terms": terms, **part.to_dict()}
