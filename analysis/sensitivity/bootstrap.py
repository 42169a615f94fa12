"""Case-resampling bootstrap of a study model's adjusted odds ratios (percentile and BCa).

:func:`run_bootstrap` resamples whole patients (rows of the complete cases, with
replacement), refits the adjusted logistic model by maximum likelihood on every
resample, and gives each odds ratio a percentile and a bias-corrected and
accelerated (BCa; Efron 1987, Efron & Tibshirani 1993 ch. 14) 95% interval.

Determinism: every resample's row indices are drawn up front in the parent
process from ``numpy.random.default_rng(seed)`` (``integers(0, n, (B, n))``, the
draw ``scipy.stats.bootstrap`` makes), and the fits are returned in resample
order, so the numbers do not depend on how many workers fit them.

Fits: Newton-Raphson on a batch of resamples at once (vectorised numpy), up to
:data:`MAX_ITER` iterations, converged when the largest coefficient step is below
:data:`TOL`. A resample is excluded (and counted) when it has no events or no
non-events, a predictor constant within it, a fit that did not converge, or a fit
with complete or quasi-complete separation (the linear-programming check of
:mod:`analysis.stats.regression`, run on every resample whose fit did not converge
or looks divergent). The BCa interval (conventions of ``scipy.stats.bootstrap``:
bias correction z0 from the mid-share of replicates below the estimate,
acceleration from the leave-one-out jackknife, linearly interpolated percentiles)
is computed on the replicates kept; tests/sensitivity/test_bootstrap.py checks it
against ``scipy.stats.bootstrap(method="BCa")`` on the same resamples.

This module also holds what the sensitivity analyses share: the model's complete-case
design (:func:`model_frame`, the design of :mod:`analysis.models`) and the
conclusion block (:func:`conclusion`).
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr, ndtri

from analysis.derive import apply_where
from analysis.errors import DataError
from analysis.model_spec import model_predictors
from analysis.models import build_model, design_columns
from analysis.stats import regression
from analysis.study import Study

__all__ = [
    "ModelFrame",
    "bca_interval",
    "conclusion",
    "fit_resamples",
    "model_frame",
    "paper_claims",
    "percentile_interval",
    "run_bootstrap",
]

MAX_ITER = 50
TOL = 1e-8
#: Coefficients beyond this (or fitted probabilities within 1e-10 of 0 or 1) send a
#: converged resample to the separation check.
DIVERGENT_BETA = 15.0
#: Rows x resamples x parameters held by one batch of fits (memory bound).
BATCH_CELLS = 2_000_000
MATCH_TOL = 1e-6


# --------------------------------------------------------------------------
# shared by the sensitivity analyses
# --------------------------------------------------------------------------
@dataclass
class ModelFrame:
    """A study model's data: the included rows, and its complete-case design."""

    spec: dict[str, Any]
    data: pd.DataFrame  # the included rows (the model's ``where``), every column
    y: np.ndarray  # outcome 0/1 of the complete cases
    X: pd.DataFrame  # design of the complete cases, "const" first
    groups: dict[str, list[str]]  # predictor -> its terms
    labels: dict[str, str]  # term -> label
    complete: pd.Series  # boolean over ``data``: outcome and every predictor recorded


def model_frame(cohort: pd.DataFrame, study: Study, model_id: str) -> ModelFrame:
    """The model's rows and design, as :func:`analysis.models.build_model` builds them."""
    spec = study.model(model_id)
    data = apply_where(cohort, spec.get("where"))
    outcome = data[spec["outcome"]]
    y = (outcome == spec["event"]).astype(float).where(outcome.notna())
    design, groups, labels = design_columns(data, study, model_predictors(spec, study))
    terms = [t for ts in groups.values() for t in ts]
    complete = y.notna() & design[terms].notna().all(axis=1)
    X = design.loc[complete, terms].astype(float)
    X.insert(0, "const", 1.0)
    return ModelFrame(spec, data, y[complete].to_numpy(float), X, groups, labels, complete)


def paper_claims(study: Study, model_id: str) -> dict[str, bool]:
    """{predictor: independently associated?} as the paper states it (``published``)."""
    claims: dict[str, bool] = {}
    for entry in study.published:  # checked entries (analysis.published), inline or file
        if entry.get("table") != model_id or entry.get("level") is not None:
            continue
        if entry.get("kind") == "significance" and entry.get("significant") is not None:
            claims[entry["variable"]] = bool(entry["significant"])
        elif entry.get("kind") == "p_value" and entry.get("value") is not None:
            claims[entry["variable"]] = float(entry["value"]) < study.alpha
    return claims


def lower(label: str) -> str:
    """A label in running text: first letter lower-cased unless it starts an acronym."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _names(study: Study, names: list[str]) -> str:
    labels = [lower(study.variables[n].label) if n in study.variables else n for n in names]
    return " and ".join(labels) if len(labels) <= 2 else ", ".join(labels)


def conclusion(
    study: Study,
    model_id: str,
    intervals: dict[str, list[tuple[float | None, float | None]]],
    basis: str,
    extra_ok: bool = True,
    extra_text: str = "",
) -> dict[str, Any]:
    """The conclusion block: is each predictor still independently associated?

    ``intervals``: {predictor: [(low, high) of the OR of each of its terms]}; a predictor
    is independently associated when a term's interval excludes 1. ``basis`` names the
    intervals in the text ("the BCa 95% CIs"). The paper's claims come from the study
    file's published figures of the model (:func:`paper_claims`). ``extra_ok`` and
    ``extra_text``: a further condition of the analysis (calibration: the model's fit is
    not rejected) and the clause that states it; when it fails the conclusion does not
    hold even if the intervals agree.
    """
    independent: dict[str, bool | None] = {}
    for name, cis in intervals.items():
        known = [(lo, hi) for lo, hi in cis if lo is not None and hi is not None]
        independent[name] = any(lo > 1.0 or hi < 1.0 for lo, hi in known) if known else None
    claims = paper_claims(study, model_id)
    agree = {name: independent.get(name) == claim for name, claim in claims.items()}
    intervals_agree = bool(claims) and all(agree.values())
    holds = intervals_agree and extra_ok
    yes = [n for n, c in claims.items() if c]
    no = [n for n, c in claims.items() if not c]
    stated = []
    if yes:
        stated.append(f"{_names(study, yes)} independently associated")
    if no:
        stated.append(f"{_names(study, no)} not")
    claim_text = f"The paper's conclusion ({', '.join(stated) or 'none stated'})"
    extra = f"; {extra_text}" if extra_text else ""
    if holds:
        text = f"{claim_text} still holds: {basis} agree with it{extra}"
    elif intervals_agree:
        text = (
            f"{claim_text} does not hold without reservation: {basis} agree with it, but "
            f"{extra_text or 'the further condition of this analysis fails'}"
        )
    else:
        reasons = []
        for name in (n for n, ok in agree.items() if not ok):
            label = _names(study, [name])
            if independent.get(name) is None:
                reasons.append(f"{basis} of {label} could not be computed")
            elif independent[name]:
                reasons.append(f"{basis} of {label} exclude 1")
            else:
                reasons.append(f"{basis} of {label} include 1")
        if not claims:
            reasons.append("the study file states no published result for this model")
        text = f"{claim_text} does not hold because " + "; ".join(reasons) + extra
    out: dict[str, Any] = {f"{name}_independent": value for name, value in independent.items()}
    out.update({"holds": holds, "paper": claims, "text": text + "."})
    return out


# --------------------------------------------------------------------------
# fitting many resamples
# --------------------------------------------------------------------------
def _newton_batch(y: np.ndarray, X: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ML coefficients of the resamples ``idx`` (B, m): (beta (B, p), converged (B,))."""
    xb = X[idx]  # (B, m, p)
    yb = y[idx]
    n_b, _, p = xb.shape
    beta = np.zeros((n_b, p))
    converged = np.zeros(n_b, dtype=bool)
    active = np.ones(n_b, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(MAX_ITER):
            if not active.any():
                break
            xa, ya, ba = xb[active], yb[active], beta[active]
            mu = expit(np.einsum("bmp,bp->bm", xa, ba))
            w = mu * (1.0 - mu)
            grad = np.einsum("bmp,bm->bp", xa, ya - mu)
            hess = np.matmul(xa.transpose(0, 2, 1) * w[:, None, :], xa)  # X'WX per resample
            step = np.full_like(ba, np.nan)
            ok = np.isfinite(hess).all(axis=(1, 2)) & (np.linalg.cond(hess) < 1e14)
            if ok.any():
                step[ok] = np.linalg.solve(hess[ok], grad[ok][..., None])[..., 0]
            rows = np.flatnonzero(active)
            beta[rows] = ba + np.where(np.isfinite(step), step, 0.0)
            size = np.abs(step).max(axis=1)
            done = np.isfinite(size) & (size < TOL)
            failed = ~np.isfinite(size)
            converged[rows[done]] = True
            active[rows[done | failed]] = False
    return beta, converged


def _fit_chunk(y: np.ndarray, X: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and status of each resample of ``idx``.

    Status: 0 kept, 1 degenerate (no events, no non-events, or a predictor constant),
    2 not converged, 3 separation.
    """
    n_b, m = idx.shape
    p = X.shape[1]
    beta = np.full((n_b, p), np.nan)
    status = np.zeros(n_b, dtype=np.int8)
    yb = y[idx]
    events = yb.sum(axis=1)
    xb = X[idx][:, :, 1:]
    constant = (np.ptp(xb, axis=1) == 0).any(axis=1) if p > 1 else np.zeros(n_b, bool)
    degenerate = (events == 0) | (events == m) | constant
    status[degenerate] = 1
    fit = np.flatnonzero(~degenerate)
    step = max(1, BATCH_CELLS // max(1, m * p))
    names = [f"x{j}" for j in range(p)]
    for start in range(0, fit.size, step):
        rows = fit[start : start + step]
        b, conv = _newton_batch(y, X, idx[rows])
        with np.errstate(over="ignore"):
            fitted = expit(np.einsum("bmp,bp->bm", X[idx[rows]], np.nan_to_num(b)))
        suspicious = (
            ~conv
            | (np.abs(b) > DIVERGENT_BETA).any(axis=1)
            | ((fitted < 1e-10) | (fitted > 1.0 - 1e-10)).any(axis=1)
        )
        for k, row in enumerate(rows):
            if suspicious[k] and regression._separation(X[idx[row]], y[idx[row]], names):
                status[row] = 3
            elif not conv[k]:
                status[row] = 2
            else:
                beta[row] = b[k]
    return beta, status


def fit_resamples(
    y: np.ndarray, X: np.ndarray, idx: np.ndarray, workers: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fit_chunk` over ``idx`` (B, m), split across ``workers`` processes.

    The chunks are fixed by ``idx`` and returned in order: the same numbers with any
    number of workers.
    """
    workers = max(1, int(workers))
    n_b = idx.shape[0]
    if workers == 1 or n_b < 2:
        return _fit_chunk(y, X, idx)
    chunks = np.array_split(np.arange(n_b), min(n_b, 4 * workers))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(_fit_chunk, [y] * len(chunks), [X] * len(chunks),
                              [idx[c] for c in chunks]))  # fmt: skip
    return np.concatenate([b for b, _ in parts]), np.concatenate([s for _, s in parts])


def jackknife_indices(n: int) -> np.ndarray:
    """(n, n - 1): row i leaves out observation i (scipy's ``_jackknife_resample``)."""
    keep = ~np.eye(n, dtype=bool)
    return np.broadcast_to(np.arange(n), (n, n))[keep].reshape(n, n - 1)


# --------------------------------------------------------------------------
# intervals
# --------------------------------------------------------------------------
def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The (1 - level)/2 and (1 + level)/2 quantiles of the replicates (linear interpolation)."""
    alpha = (1.0 - level) / 2.0
    low, high = np.percentile(replicates, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def bca_interval(
    estimate: float, replicates: np.ndarray, jackknife: np.ndarray, level: float = 0.95
) -> dict[str, float]:
    """BCa interval of one parameter (Efron & Tibshirani 1993, eq. 14.10-14.15).

    z0 = Phi^-1(share of replicates below the estimate, ties counted half); acceleration
    a = sum(d^3) / (6 (sum d^2)^(3/2)) with d = mean(jackknife) - jackknife_i; the limits
    are the replicates' percentiles at Phi(z0 + (z0 + z)/(1 - a (z0 + z))), z = the
    normal quantiles of (1 -/+ level)/2. As ``scipy.stats.bootstrap(method="BCa")``.
    """
    reps = np.asarray(replicates, dtype=float)
    below = np.count_nonzero(reps < estimate) + np.count_nonzero(reps <= estimate)
    z0 = float(ndtri(below / (2.0 * reps.size)))
    d = np.mean(jackknife) - np.asarray(jackknife, dtype=float)
    den = np.sum(d**2)
    accel = float(np.sum(d**3) / (6.0 * den**1.5)) if den > 0 else 0.0
    alpha = (1.0 - level) / 2.0
    points = []
    for z in (float(ndtri(alpha)), -float(ndtri(alpha))):
        points.append(float(ndtr(z0 + (z0 + z) / (1.0 - accel * (z0 + z)))))
    if not all(math.isfinite(v) for v in points):
        return {"low": math.nan, "high": math.nan, "z0": z0, "acceleration": accel,
                "alpha_low": points[0], "alpha_high": points[1]}  # fmt: skip
    low, high = np.percentile(reps, [100 * points[0], 100 * points[1]])
    return {"low": float(low), "high": float(high), "z0": z0, "acceleration": accel,
            "alpha_low": points[0], "alpha_high": points[1]}  # fmt: skip


def _f(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _exp(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return math.exp(value) if value < 709 else None


# --------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------
def run_bootstrap(
    cohort: pd.DataFrame,
    study: Study,
    model_id: str = "table4",
    *,
    resamples: int = 2000,
    seed: int = 20200901,
    workers: int = 2,
    level: float = 0.95,
) -> dict[str, Any]:
    """Bootstrap percentile and BCa CIs of the model's adjusted odds ratios.

    Parameters
    ----------
    cohort, study, model_id
        The derived cohort, the study, the model (its ``where``, outcome, predictors).
    resamples : int, default 2000
        Bootstrap resamples B (at least 2,000 for BCa limits; fewer only for tests).
    seed : int
        Seed of ``numpy.random.default_rng``; the resample indices depend on it alone.
    workers : int, default 2
        Processes fitting the resamples (``ProcessPoolExecutor``); no effect on results.
    level : float, default 0.95

    Returns
    -------
    dict
        ``kind="sensitivity"``, ``analysis="bootstrap"``, ``model``, ``title``,
        ``method``, ``n``, ``events``, ``resamples`` {``requested``, ``used``,
        ``excluded`` {``degenerate``, ``not_converged``, ``separation``}},
        ``seed``, ``level``, ``terms`` [{``term``, ``label``, ``estimate``,
        ``odds_ratio``, ``wald_ci_low``/``high`` (the model's Wald CI),
        ``bootstrap_se``, ``bias`` (mean replicate - estimate, log-odds),
        ``percentile_ci_low``/``high``, ``bca_ci_low``/``high``, ``bca_z0``,
        ``bca_acceleration``}] (ORs and limits on the odds-ratio scale),
        ``jackknife_failed``, ``conclusion``.
    """
    if resamples < 1:
        raise ValueError("resamples must be >= 1")
    frame = model_frame(cohort, study, model_id)
    model = build_model(cohort, study, model_id)
    y, X = frame.y, frame.X.to_numpy(float)
    n, names = len(y), list(frame.X.columns)
    full, _ = _fit_chunk(y, X, np.arange(n)[None, :])
    estimate = full[0]
    expected = {t["term"]: t["estimate"] for t in model["terms"]}
    if model.get("method") != "logit_mle" or not np.isfinite(estimate).all():
        raise DataError(
            f"model {model_id}: the bootstrap needs a maximum-likelihood fit of the full "
            "data, which does not exist here (separation or no convergence)"
        )
    for term, value in zip(names, estimate, strict=True):
        if abs(value - expected[term]) > MATCH_TOL:
            raise DataError(
                f"model {model_id}: bootstrap fit gives {term} = {value:.8g}, the model "
                f"{expected[term]:.8g}"
            )
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, (resamples, n))
    reps, status = fit_resamples(y, X, idx, workers)
    jack, jstatus = fit_resamples(y, X, jackknife_indices(n), workers)
    kept = status == 0
    reps = reps[kept]
    jack_ok = bool((jstatus == 0).all())
    wald = {t["term"]: t for t in model["terms"]}
    terms = []
    for j, term in enumerate(names):
        if term == "const":
            continue
        col = reps[:, j]
        row: dict[str, Any] = {
            "term": term,
            "label": frame.labels.get(term, term),
            "estimate": float(estimate[j]),
            "odds_ratio": _exp(estimate[j]),
            "wald_ci_low": wald[term]["ci_low"],
            "wald_ci_high": wald[term]["ci_high"],
            "bootstrap_se": _f(np.std(col, ddof=1)) if col.size > 1 else None,
            "bias": _f(np.mean(col) - estimate[j]) if col.size else None,
        }
        if col.size:
            low, high = percentile_interval(col, level)
            row["percentile_ci_low"], row["percentile_ci_high"] = _exp(low), _exp(high)
        else:
            row["percentile_ci_low"] = row["percentile_ci_high"] = None
        if col.size and jack_ok:
            bca = bca_interval(estimate[j], col, jack[:, j], level)
            row["bca_ci_low"], row["bca_ci_high"] = _exp(bca["low"]), _exp(bca["high"])
            row["bca_z0"], row["bca_acceleration"] = _f(bca["z0"]), _f(bca["acceleration"])
        else:
            row["bca_ci_low"] = row["bca_ci_high"] = row["bca_z0"] = None
            row["bca_acceleration"] = None
        terms.append(row)
    excluded = {
        "degenerate": int(np.count_nonzero(status == 1)),
        "not_converged": int(np.count_nonzero(status == 2)),
        "separation": int(np.count_nonzero(status == 3)),
    }
    used = int(kept.sum())
    pct = f"{100 * level:g}%"
    method = (
        f"Nonparametric bootstrap by case resampling: {resamples:,} samples of {n} patients "
        f"drawn with replacement from the {n} complete cases of the {model['title']} model "
        f"(numpy default_rng, seed {seed}); the adjusted logistic model was refitted by "
        "maximum likelihood (Newton-Raphson) on each sample, and samples with no events, "
        "a constant predictor, a fit that did not converge or complete or quasi-complete "
        f"separation were excluded ({resamples - used} of {resamples:,}). {pct} confidence "
        f"intervals for the odds ratios are the {100 * (1 - level) / 2:g}th and "
        f"{100 * (1 + level) / 2:g}th percentiles of the bootstrap log odds ratios "
        "(percentile method) and the bias-corrected and accelerated (BCa) percentiles, "
        "with the bias correction from the proportion of bootstrap estimates below the "
        "original estimate and the acceleration from the leave-one-out jackknife "
        "(Efron & Tibshirani 1993)."
    )
    intervals: dict[str, list[tuple[float | None, float | None]]] = {}
    by_term = {r["term"]: r for r in terms}
    for name, ts in frame.groups.items():
        intervals[name] = [(by_term[t]["bca_ci_low"], by_term[t]["bca_ci_high"]) for t in ts]
    return {
        "kind": "sensitivity",
        "analysis": "bootstrap",
        "study": study.id,
        "model": model_id,
        "title": f"Bootstrap confidence intervals of the adjusted odds ratios ({model['title']})",
        "method": method,
        "n": n,
        "events": int(y.sum()),
        "seed": int(seed),
        "level": level,
        "resamples": {"requested": int(resamples), "used": used, "excluded": excluded},
        "jackknife_failed": int(np.count_nonzero(jstatus != 0)),
        "terms": terms,
        "conclusion": conclusion(study, model_id, intervals, f"the BCa {pct} CIs"),
    }
