"""Binary logistic regression: ML as SPSS LOGISTIC REGRESSION, and Firth.

* :func:`logistic_regression` -- maximum likelihood (Newton-Raphson), Wald
  tests and Wald CIs for Exp(B), -2LL, Cox & Snell and Nagelkerke R²,
  c-statistic, Hosmer-Lemeshow, with separation and EPV diagnostics.
* :func:`firth_logistic` -- Firth's penalised likelihood with profile
  penalised-likelihood CIs and penalised likelihood-ratio tests (R logistf).
* :func:`hosmer_lemeshow` -- the goodness-of-fit test on its own.

Both fits take ``groups`` ({predictor: [its columns]}) and then test each
predictor as a whole, as SPSS prints on a categorical variable's own row:
the joint Wald chi-square on k - 1 df and the likelihood-ratio test of
dropping all its columns, refitted on the same complete cases.

Missing-data policy: complete cases over the outcome and every predictor;
the number dropped is reported. Predictors are used exactly as given (a 0/1
column gives the OR for 1 vs 0, SPSS's "covariate" coding; factor coding is
the caller's job). Every term row has the same keys: ``term``,
``estimate``, ``se``, ``wald``, ``df``, ``p_value``, ``odds_ratio``,
``ci_low``, ``ci_high``; the intercept is the term ``"const"``, listed
first.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.linalg
from firthmodels import FirthLogisticRegression, detect_separation
from scipy import stats
from scipy.special import expit, xlogy
from statsmodels.discrete.discrete_model import Logit
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from .descriptive import _as_float_1d, _f

__all__ = [
    "EPV_MIN",
    "c_statistic",
    "firth_logistic",
    "hosmer_lemeshow",
    "logistic_regression",
]

#: Events per variable below which a warning is issued (Peduzzi et al. 1996).
EPV_MIN = 10.0
#: z quantile for the 95 % Wald CI (SPSS and R ``confint.default``).
_Z975 = float(stats.norm.ppf(0.975))
#: With ``separation_check="auto"`` the LP check runs when the complete cases
#: are at most this many (~2 s), or whenever the ML fit looks divergent.
SEPARATION_CHECK_MAX_ROWS = 200_000

HL_RULE = (
    "deciles of risk: cut points are the 10%, 20%, ..., 90% quantiles of the "
    "fitted probabilities (empirical-distribution quantile averaging at ties: "
    "Stata _pctile/xtile, R quantile type 2); an observation joins the first "
    "group whose cut point is >= its probability, so equal probabilities "
    "always share a group; empty groups are dropped; df = groups - 2"
)


# --------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------
def _prepare(y: np.ndarray, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str], int, int]:
    """Complete cases, design with a leading constant, and validation.

    Returns (y, design, term names, n used, n dropped).
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame with named predictor columns")
    names = [str(c) for c in X.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"X has duplicate column names: {names}")
    if "const" in names:
        raise ValueError("X must not contain a column named 'const' (the intercept is added)")
    yv = _as_float_1d(y, "y")
    if yv.size != len(X):
        raise ValueError(f"y has {yv.size} rows but X has {len(X)}")
    cols = []
    for name in X.columns:
        col = X[name]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise ValueError(f"predictor {name!r} is not numeric (dtype {col.dtype})")
        cols.append(_as_float_1d(col, f"X[{name!r}]"))
    xm = np.column_stack([np.ones(yv.size), *cols]) if cols else np.ones((yv.size, 1))
    keep = ~np.isnan(yv) & ~np.isnan(xm).any(axis=1)
    n_total = int(yv.size)
    yv, xm = yv[keep], xm[keep]
    n = int(yv.size)
    if n == 0:
        raise ValueError("no complete cases for the model")
    if not np.isfinite(xm).all():
        raise ValueError("predictors contain infinite values")
    if not np.isin(yv, (0.0, 1.0)).all():
        bad = yv[~np.isin(yv, (0.0, 1.0))][0]
        raise ValueError(f"outcome must be coded 0/1; found {bad!r}")
    events = int(yv.sum())
    if events == 0 or events == n:
        raise ValueError(f"outcome has {events} events among {n} complete cases: cannot fit")
    for j, name in enumerate(names, start=1):
        col = xm[:, j]
        if np.all(col == col[0]):
            raise ValueError(f"predictor {name!r} is constant among the complete cases")
    _check_rank(xm, ["const", *names])
    return yv, xm, ["const", *names], n, n_total - n


def _check_rank(xm: np.ndarray, names: list[str]) -> None:
    """Raise ValueError naming aliased columns if the design is not full rank.

    Works on the p x p cross-product (cheap for 10^7 rows): a square root
    ``M`` with ``M'M = X'X`` (scaled columns) has the same pivoted-QR rank
    pattern as ``X``.
    """
    gram = xm.T @ xm
    scale = np.sqrt(np.diag(gram))
    g = gram / np.outer(scale, scale)
    lam, vec = np.linalg.eigh(g)
    m = np.sqrt(np.clip(lam, 0.0, None))[:, None] * vec.T
    r, piv = scipy.linalg.qr(m, mode="r", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > 1e-7 * diag[0]))
    if rank < len(names):
        aliased = ", ".join(names[j] for j in sorted(piv[rank:]))
        raise ValueError(
            f"predictors are collinear (design rank {rank} < {len(names)}); aliased: {aliased}"
        )


# --------------------------------------------------------------------------
# fit statistics
# --------------------------------------------------------------------------
def c_statistic(y: np.ndarray, p: np.ndarray) -> float | None:
    """Concordance (c) statistic = area under the ROC curve.

    Mann-Whitney relation: ``(R_1 - n_1(n_1 + 1)/2) / (n_1 n_0)`` with
    ``R_1`` the sum of the mid-ranks of the predictions of the events, so a
    tied event/non-event pair counts 1/2. Vectorised (one ranking).
    Pairs with a missing value are dropped; ``None`` without both outcomes.

    Returns
    -------
    float or None
    """
    yv, pv = _as_float_1d(y, "y"), _as_float_1d(p, "p")
    if yv.size != pv.size:
        raise ValueError("y and p must have the same length")
    keep = ~(np.isnan(yv) | np.isnan(pv))
    yv, pv = yv[keep], pv[keep]
    n1 = int(np.count_nonzero(yv == 1))
    n0 = int(yv.size - n1)
    if n1 == 0 or n0 == 0:
        return None
    ranks = stats.rankdata(pv)
    r1 = float(ranks[yv == 1].sum())
    return (r1 - n1 * (n1 + 1) / 2.0) / (float(n1) * float(n0))


def _pctile_cuts(sorted_p: np.ndarray, groups: int) -> np.ndarray:
    """Stata ``_pctile`` cut points (R ``quantile(type = 2)``)."""
    n = sorted_p.size
    cuts = np.empty(groups - 1)
    for j in range(1, groups):
        num = n * j
        k, rem = divmod(num, groups)
        if rem == 0:
            cuts[j - 1] = 0.5 * (sorted_p[k - 1] + sorted_p[min(k, n - 1)])
        else:
            cuts[j - 1] = sorted_p[k]
    return cuts


def hosmer_lemeshow(y: np.ndarray, p: np.ndarray, groups: int = 10) -> dict:
    """Hosmer-Lemeshow goodness-of-fit test on deciles of risk.

    Parameters
    ----------
    y : array_like of 0/1
        Observed outcome.
    p : array_like of float in [0, 1]
        Fitted probabilities. Pairs with a missing value are dropped.
    groups : int, default 10
        Number of risk groups requested.

    Returns
    -------
    dict
        ``statistic`` (C-hat = sum over groups and both outcomes of
        (O - E)² / E), ``df`` (groups used - 2), ``p_value`` (chi-square),
        ``n``, ``method="hosmer_lemeshow"``, ``groups`` (groups used),
        ``groups_requested``, ``rule`` (the grouping rule in words),
        ``table`` [{``group``, ``n``, ``observed``, ``expected``,
        ``p_max``}], ``note``.

    Notes
    -----
    Grouping as Stata's ``estat gof, group(10)``: cut points are the
    ``_pctile`` quantiles of the fitted probabilities and an observation
    with ``cut_(g-1) < p <= cut_g`` is in group g, so tied probabilities are
    never split; cut points that coincide leave empty groups, which are
    dropped. SPSS's exact grouping algorithm is not documented; with many
    ties its group count and statistic can differ.

    References
    ----------
    Hosmer DW, Lemeshow S, Sturdivant RX (2013) Applied Logistic
    Regression, 3rd ed., section 5.2.2.
    """
    groups = int(groups)
    if groups < 3:
        raise ValueError("groups must be >= 3")
    yv, pv = _as_float_1d(y, "y"), _as_float_1d(p, "p")
    if yv.size != pv.size:
        raise ValueError("y and p must have the same length")
    keep = ~(np.isnan(yv) | np.isnan(pv))
    yv, pv = yv[keep], pv[keep]
    if not np.isin(yv, (0.0, 1.0)).all():
        raise ValueError("y must be coded 0/1")
    if ((pv < 0) | (pv > 1)).any():
        raise ValueError("p must lie in [0, 1]")
    n = int(yv.size)
    out = {
        "statistic": None,
        "df": None,
        "p_value": None,
        "n": n,
        "method": "hosmer_lemeshow",
        "groups": None,
        "groups_requested": groups,
        "rule": HL_RULE,
        "table": [],
        "note": None,
    }
    if n < groups:
        out["note"] = f"n = {n} is smaller than the number of groups"
        return out
    cuts = _pctile_cuts(np.sort(pv), groups)
    g = np.searchsorted(cuts, pv, side="left")
    ng = np.bincount(g, minlength=groups).astype(np.float64)
    o1 = np.bincount(g, weights=yv, minlength=groups)
    e1 = np.bincount(g, weights=pv, minlength=groups)
    pmax = np.full(groups, -np.inf)
    np.maximum.at(pmax, g, pv)
    used = ng > 0
    ng, o1, e1, pmax = ng[used], o1[used], e1[used], pmax[used]
    o0, e0 = ng - o1, ng - e1
    out["table"] = [
        {"group": i + 1, "n": int(a), "observed": int(b), "expected": float(c), "p_max": float(d)}
        for i, (a, b, c, d) in enumerate(zip(ng, o1, e1, pmax, strict=True))
    ]
    k = int(used.sum())
    out["groups"] = k
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(e1 > 0, (o1 - e1) ** 2 / e1, 0.0) + np.where(
            e0 > 0, (o0 - e0) ** 2 / e0, 0.0
        )
    if ((e1 <= 0) | (e0 <= 0)).any():
        out["note"] = "a group has zero expected count for one outcome; its term was omitted"
    stat = float(terms.sum())
    df = k - 2
    if df < 1:
        out["note"] = f"only {k} distinct risk group(s): no test (df < 1)"
        return out
    out["statistic"] = stat
    out["df"] = df
    out["p_value"] = float(stats.chi2.sf(stat, df))
    return out


def _null_loglik(events: int, n: int) -> float:
    """Log-likelihood of the intercept-only ML model."""
    p = events / n
    return float(xlogy(events, p) + xlogy(n - events, 1.0 - p))


def _term_rows(names: list[str], beta: np.ndarray, se: np.ndarray) -> list[dict]:
    wald = (beta / se) ** 2
    p = stats.chi2.sf(wald, 1)
    rows = []
    for i, name in enumerate(names):
        b, s = float(beta[i]), float(se[i])
        rows.append(
            {
                "term": name,
                "estimate": _f(b),
                "se": _f(s),
                "wald": _f(wald[i]),
                "df": 1,
                "p_value": _f(p[i]),
                "odds_ratio": _f(_safe_exp(b)),
                "ci_low": _f(_safe_exp(b - _Z975 * s)),
                "ci_high": _f(_safe_exp(b + _Z975 * s)),
            }
        )
    return rows


def _safe_exp(v: float) -> float:
    if not math.isfinite(v):
        return math.nan
    return math.exp(v) if v < 709.0 else math.inf


# --------------------------------------------------------------------------
# separation
# --------------------------------------------------------------------------
def _separation(xm: np.ndarray, yv: np.ndarray, names: list[str]) -> list[str]:
    """Terms whose ML estimate is infinite (Konis 2007 LP, on distinct rows)."""
    rows = np.unique(np.column_stack([xm[:, 1:], yv]), axis=0)
    res = detect_separation(rows[:, :-1], rows[:, -1], fit_intercept=True)
    # firthmodels orders the coefficients as (features..., intercept)
    order = [*names[1:], names[0]]
    return [order[i] for i in np.flatnonzero(~np.asarray(res.is_finite, dtype=bool))]


def _looks_divergent(beta: np.ndarray, p_hat: np.ndarray, converged: bool) -> bool:
    extreme = np.count_nonzero((p_hat < 1e-10) | (p_hat > 1.0 - 1e-10))
    return (not converged) or bool(np.any(np.abs(beta) > 15.0)) or extreme > 0


# --------------------------------------------------------------------------
# tests of a predictor as a whole (all its columns)
# --------------------------------------------------------------------------
def _group_columns(
    names: list[str], groups: Mapping[str, Sequence[str]]
) -> list[tuple[str, list[str], np.ndarray]]:
    """(predictor, its terms, their column indices in the design) for every group."""
    out = []
    for predictor, terms in groups.items():
        unknown = [t for t in terms if t not in names[1:]]
        if unknown or not terms:
            raise ValueError(f"groups[{predictor!r}]: {unknown or 'no'} column(s) not in X")
        out.append((predictor, list(terms), np.array([names.index(t) for t in terms])))
    return out


def _wald_joint(beta: np.ndarray, cov: np.ndarray, idx: np.ndarray) -> float | None:
    """b' V^-1 b over the columns ``idx``: the Wald chi-square that all are 0."""
    b = beta[idx]
    try:
        stat = float(b @ np.linalg.solve(cov[np.ix_(idx, idx)], b))
    except np.linalg.LinAlgError:
        return None
    return stat if math.isfinite(stat) else None


def _ml_loglik(yv: np.ndarray, xm: np.ndarray) -> tuple[float, bool]:
    """Maximised log-likelihood of the ML fit of ``yv`` on ``xm`` (constant first)."""
    if xm.shape[1] == 1:
        events = int(yv.sum())
        return _null_loglik(events, yv.size), True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            try:
                res = Logit(yv, xm).fit(method="newton", tol=1e-10, maxiter=50, disp=False)
                converged = bool(res.mle_retvals.get("converged", False))
            except np.linalg.LinAlgError:
                res = GLM(yv, xm, family=families.Binomial()).fit(
                    method="IRLS", tol=1e-10, maxiter=50
                )
                converged = False
    return float(res.llf), converged


#: Profile-likelihood limits are computed up to this many complete cases: each needs
#: some twenty constrained refits per term, and at larger n they agree with the Wald
#: limits to the printed precision (the log-likelihood is then close to quadratic).
PROFILE_CI_MAX_ROWS = 20_000
_CHI2_95_1DF = float(stats.chi2.ppf(0.95, 1))


def _constrained_loglik(yv: np.ndarray, xm: np.ndarray, j: int, value: float) -> float:
    """Maximised log-likelihood with coefficient ``j`` fixed at ``value`` (an offset).

    IRLS from its own start (fitted means (y + 1/2) / 2): warm-starting from the full
    fit's coefficients diverges when the fixed value is far from its estimate.
    """
    rest = np.delete(xm, j, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            res = GLM(yv, rest, family=families.Binomial(), offset=value * xm[:, j]).fit(
                tol=1e-13, maxiter=200
            )
    return float(res.llf)


def _profile_limits(
    yv: np.ndarray, xm: np.ndarray, beta: np.ndarray, se: np.ndarray, llf: float
) -> list[tuple[float | None, float | None]]:
    """95 % profile-likelihood limits of each coefficient (Venables & Ripley 2002, 8.4).

    Each limit solves 2 (LL - LL(b_j fixed)) = chi-square(1) 0.95 quantile, bracketed
    outwards from the Wald limit and found by Brent's method; ``None`` where no limit
    exists within 2^10 Wald half-widths (an estimate near separation).
    """
    from scipy.optimize import brentq

    limits = []
    for j in range(xm.shape[1]):

        def excess(value: float, j: int = j) -> float:
            return 2.0 * (llf - _constrained_loglik(yv, xm, j, value)) - _CHI2_95_1DF

        pair: list[float | None] = []
        for sign in (-1.0, 1.0):
            width = _Z975 * se[j] if math.isfinite(se[j]) and se[j] > 0 else 1.0
            far = beta[j] + sign * width
            for _ in range(10):
                if excess(far) > 0:
                    break
                width *= 2.0
                far = beta[j] + sign * width
            else:
                pair.append(None)
                continue
            low, high = sorted((beta[j], far))
            pair.append(brentq(excess, low, high, xtol=1e-12, rtol=1e-12))
        limits.append((pair[0], pair[1]))
    return limits


def _test_row(predictor: str, terms: list[str], wald: float | None, lr: float | None) -> dict:
    """One predictor's tests; a likelihood ratio a hair below 0 (rounding) counts as 0."""
    df = len(terms)
    if lr is not None and -1e-8 < lr < 0.0:
        lr = 0.0
    return {
        "predictor": predictor,
        "terms": terms,
        "df": df,
        "wald": _f(wald),
        "wald_p_value": _f(stats.chi2.sf(wald, df)) if wald is not None else None,
        "lr_statistic": _f(lr),
        "lr_p_value": _f(stats.chi2.sf(lr, df)) if lr is not None and lr >= 0 else None,
    }


def _ml_predictor_tests(
    yv: np.ndarray,
    xm: np.ndarray,
    names: list[str],
    beta: np.ndarray,
    cov: np.ndarray,
    llf: float,
    groups: Mapping[str, Sequence[str]],
    messages: list[str],
) -> list[dict]:
    """Joint Wald and likelihood-ratio test of each predictor of an ML fit.

    The reduced model drops the predictor's columns and is refitted on the rows of
    the full model, so both likelihoods describe the same patients (R's ``drop1``
    and SPSS's "Model if Term Removed" on complete cases).
    """
    rows = []
    for predictor, terms, idx in _group_columns(names, groups):
        keep = np.setdiff1d(np.arange(xm.shape[1]), idx)
        ll_reduced, converged = _ml_loglik(yv, xm[:, keep])
        if not converged:
            messages.append(
                f"the fit without {predictor} did not converge: its likelihood-ratio test "
                "is approximate"
            )
        rows.append(
            _test_row(predictor, terms, _wald_joint(beta, cov, idx), 2 * (llf - ll_reduced))
        )
    return rows


def _firth_state(
    xm: np.ndarray, yv: np.ndarray, beta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray] | None:
    """(penalised log-likelihood, X'WX, hat diagonal, p) at ``beta``; None if X'WX is singular.

    l*(b) = l(b) + 1/2 log|X'WX| (Firth 1993), the Jeffreys penalty on the full design.
    """
    eta = xm @ beta
    p = expit(eta)
    w = p * (1.0 - p)
    info = xm.T @ (xm * w[:, None])
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    half = scipy.linalg.solve_triangular(chol, (xm * np.sqrt(w)[:, None]).T, lower=True)
    hat = np.sum(half * half, axis=0)
    loglik = -float(yv @ np.logaddexp(0.0, -eta) + (1.0 - yv) @ np.logaddexp(0.0, eta))
    return loglik + 0.5 * logdet, info, hat, p


def _firth_constrained_loglik(
    xm: np.ndarray, yv: np.ndarray, start: np.ndarray, fixed: np.ndarray, tol: float = 1e-10
) -> tuple[float, bool]:
    """Maximum of l* with the columns ``fixed`` held at 0, the penalty on the full design.

    As logistf's penalised likelihood-ratio tests (``logistftest``) constrain the
    coefficients rather than drop the columns. Newton-Raphson on the modified score
    X'(y - p + h(1/2 - p)) (Firth 1993) with X'WX as the step matrix, steps capped
    at 5 (logistf's ``maxstep``) and halved until l* does not decrease; converged
    when the largest step is below ``tol``.
    """
    free = np.ones(xm.shape[1], dtype=bool)
    free[fixed] = False
    beta = np.where(free, start, 0.0)
    state = _firth_state(xm, yv, beta)
    if state is None:
        return math.nan, False
    loglik, info, hat, p = state
    for _ in range(200):
        score = xm.T @ (yv - p + hat * (0.5 - p))
        delta = np.zeros_like(beta)
        try:
            delta[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
        except np.linalg.LinAlgError:
            return math.nan, False
        largest = float(np.max(np.abs(delta)))
        if largest > 5.0:
            delta *= 5.0 / largest
        if largest <= tol:
            return loglik, True
        step = 1.0
        for _ in range(60):
            state = _firth_state(xm, yv, beta + step * delta)
            if state is not None and state[0] >= loglik - 1e-12 * max(1.0, abs(loglik)):
                break
            step /= 2.0
        if state is None:
            return math.nan, False
        beta = beta + step * delta
        loglik, info, hat, p = state
        if step * largest <= tol:
            return loglik, True
    return loglik, False


def _augmented_information_se(xm: np.ndarray, p_hat: np.ndarray, hat: np.ndarray) -> np.ndarray:
    """sqrt(diag((X' diag((1 + h) p(1 - p)) X)^-1)): the covariance logistf >= 1.24 returns.

    That is the information of Firth's pseudo-data (each row plus copies weighted h/2
    with y and 1 - y), the matrix logistf's Newton steps use (src/logistf.c,
    ``cov_augmented``), not the inverse Fisher information (X'WX)^-1.
    """
    w = (1.0 + hat) * p_hat * (1.0 - p_hat)
    try:
        cov = np.linalg.inv(xm.T @ (xm * w[:, None]))
    except np.linalg.LinAlgError:
        return np.full(xm.shape[1], np.nan)
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


# --------------------------------------------------------------------------
# public models
# --------------------------------------------------------------------------
def logistic_regression(
    y: np.ndarray,
    X: pd.DataFrame,
    separation_check: Literal["auto", "always", "never"] = "auto",
    groups: Mapping[str, Sequence[str]] | None = None,
) -> dict:
    """Binary logistic regression by maximum likelihood (SPSS parity).

    Parameters
    ----------
    y : array_like of 0/1 (``NaN`` missing)
        Outcome; 1 is the event modelled.
    X : pandas.DataFrame
        Numeric predictors, one column per term (no constant: it is added
        and reported as ``"const"``). Booleans are used as 0/1.
    separation_check : {"auto", "always", "never"}
        Run the linear-programming separation check (Konis 2007, firthmodels
        ``detect_separation``) always, never, or ("auto") when the complete
        cases are at most ``SEPARATION_CHECK_MAX_ROWS`` or the ML fit
        shows divergence (no convergence, |B| > 15 or fitted p within 1e-10
        of 0 or 1).
    groups : mapping of str to list of str, optional
        {predictor: its columns of ``X``}: adds ``predictor_tests``.

    Returns
    -------
    dict
        ``model``-level keys: ``method="logit_mle"``, ``n`` (complete cases
        used), ``n_dropped``, ``events`` (y = 1), ``nonevents``,
        ``events_per_variable`` (min(events, non-events) / number of
        predictor terms, Peduzzi et al. 1996; ``None`` without predictors),
        ``terms`` (see module docstring; Wald = (B/SE)², ``p_value`` from
        chi-square(1), CI = exp(B ± 1.959964·SE) as SPSS's "95% C.I. for
        EXP(B)"), ``fit`` {``minus2ll``, ``minus2ll_null``, ``lr_statistic``,
        ``lr_df``, ``lr_p_value`` (SPSS "Omnibus Tests of Model
        Coefficients"), ``cox_snell_r2``, ``nagelkerke_r2``,
        ``c_statistic``, ``hosmer_lemeshow`` {statistic, df, p_value,
        groups, rule}, ``iterations``}, ``converged``, ``separation``
        (``True``/``False``, ``None`` if not checked), ``warnings``
        [str]; with ``groups``, ``predictor_tests`` [{``predictor``,
        ``terms``, ``df`` (its number of columns), ``wald`` (b'V^-1 b over
        its columns, V the inverse information: SPSS's Wald on a categorical
        variable's own row), ``wald_p_value``, ``lr_statistic`` (2(LL -
        LL without its columns, refitted on the same complete cases)),
        ``lr_p_value``}].

    Notes
    -----
    ``statsmodels.Logit(...).fit(method="newton", tol=1e-10)``; SEs from the
    inverse observed information (equal to the expected one for the logit
    link, as in R ``glm`` and SPSS). Cox & Snell R² = 1 - exp(2(LL0 -
    LL)/n); Nagelkerke R² = Cox & Snell / (1 - exp(2 LL0 / n)). With
    separation the ML estimates do not exist: the result then carries the
    last iterate, ``converged`` is usually ``False`` and ``warnings`` points
    to :func:`firth_logistic`.

    Raises
    ------
    ValueError
        Non-numeric or constant predictors, collinear design, outcome not
        0/1 or without both outcomes among complete cases.
    """
    if separation_check not in ("auto", "always", "never"):
        raise ValueError("separation_check must be 'auto', 'always' or 'never'")
    yv, xm, names, n, n_dropped = _prepare(y, X)
    k = len(names) - 1
    events = int(yv.sum())
    nonevents = n - events
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            try:
                res = Logit(yv, xm).fit(method="newton", tol=1e-10, maxiter=50, disp=False)
                converged = bool(res.mle_retvals.get("converged", False))
                iterations = int(res.mle_retvals.get("iterations", -1))
            except np.linalg.LinAlgError:
                # Newton's information matrix became singular (typically separation):
                # the same likelihood by IRLS, whose weighted least squares use a
                # pseudo-inverse; the estimates are then reported as not interpretable.
                res = GLM(yv, xm, family=families.Binomial()).fit(
                    method="IRLS", tol=1e-10, maxiter=50
                )
                converged = False
                iterations = int(res.fit_history.get("iteration", -1))
                messages.append("singular information matrix in Newton-Raphson (separation?)")
    beta = np.asarray(res.params, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        se = np.asarray(res.bse, dtype=np.float64)
    p_hat = expit(xm @ beta)
    if not converged:
        messages.append(f"maximum likelihood did not converge in {iterations} iterations")
    for w in caught:
        # overflow noise and statsmodels' own non-convergence notice (reported above)
        if not issubclass(w.category, RuntimeWarning | ConvergenceWarning):
            text = f"statsmodels: {w.message}"
            if text not in messages:
                messages.append(text)

    separation = None
    # an intercept-only model with both outcomes present cannot be separated
    run_check = k > 0 and (
        separation_check == "always"
        or (
            separation_check == "auto"
            and (n <= SEPARATION_CHECK_MAX_ROWS or _looks_divergent(beta, p_hat, converged))
        )
    )
    if run_check:
        infinite = _separation(xm, yv, names)
        separation = bool(infinite)
        if infinite:
            messages.append(
                "complete or quasi-complete separation: the ML estimates of "
                f"{', '.join(infinite)} are infinite; the reported values are the last "
                "iterate and are not interpretable -- use firth_logistic"
            )
    epv = min(events, nonevents) / k if k else None
    if epv is not None and epv < EPV_MIN:
        messages.append(
            f"events per variable = {epv:.2f} < {EPV_MIN:g} (Peduzzi et al. 1996): "
            "estimates may be biased; consider firth_logistic or fewer predictors"
        )

    llf = float(res.llf)
    ll0 = _null_loglik(events, n)
    tests = None
    if groups is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cov = np.asarray(res.cov_params(), dtype=np.float64)
        tests = _ml_predictor_tests(yv, xm, names, beta, cov, llf, groups, messages)
    cox_snell = -math.expm1(2.0 * (ll0 - llf) / n)
    max_r2 = -math.expm1(2.0 * ll0 / n)
    lr = 2.0 * (llf - ll0)
    hl = hosmer_lemeshow(yv, p_hat, groups=10)
    fit = {
        "minus2ll": -2.0 * llf,
        "minus2ll_null": -2.0 * ll0,
        # Akaike's and Schwarz's criteria over the k + 1 estimated coefficients (as R's
        # AIC()/BIC() on a glm and statsmodels' Logit results count them).
        "aic": -2.0 * llf + 2.0 * (k + 1),
        "bic": -2.0 * llf + math.log(n) * (k + 1),
        "lr_statistic": lr,
        "lr_df": k,
        "lr_p_value": float(stats.chi2.sf(lr, k)) if k else None,
        "cox_snell_r2": cox_snell,
        "nagelkerke_r2": cox_snell / max_r2,
        "c_statistic": c_statistic(yv, p_hat),
        "hosmer_lemeshow": {
            key: hl[key] for key in ("statistic", "df", "p_value", "groups", "rule")
        },
        "iterations": iterations,
    }
    terms = _term_rows(names, beta, se)
    if converged and not separation and n <= PROFILE_CI_MAX_ROWS:
        for row, (low, high) in zip(terms, _profile_limits(yv, xm, beta, se, llf), strict=True):
            row["profile_ci_low"] = _f(_safe_exp(low)) if low is not None else None
            row["profile_ci_high"] = _f(_safe_exp(high)) if high is not None else None
    elif n > PROFILE_CI_MAX_ROWS:
        messages.append(
            f"profile-likelihood CIs are not computed above {PROFILE_CI_MAX_ROWS:,} complete "
            "cases, where they agree with the Wald CIs"
        )
    return {
        "method": "logit_mle",
        "n": n,
        "n_dropped": n_dropped,
        "events": events,
        "nonevents": nonevents,
        "events_per_variable": epv,
        "terms": terms,
        "fit": fit,
        "converged": converged,
        "separation": separation,
        "warnings": messages,
        **({"predictor_tests": tests} if tests is not None else {}),
    }


def _inverse_information_se(xm: np.ndarray, p_hat: np.ndarray) -> np.ndarray:
    """sqrt(diag((X'WX)^-1)), W = diag(p(1 - p)); ``NaN`` if singular."""
    w = p_hat * (1.0 - p_hat)
    info = xm.T @ (xm * w[:, None])
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full(xm.shape[1], np.nan)
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


def _firth_null_loglik(xm: np.ndarray, events: int, n: int) -> float:
    """Penalised log-likelihood of logistf's null model.

    logistf fits the intercept-only model with the other coefficients fixed
    at 0 but the Jeffreys penalty still computed from the full design. With
    one common probability p, |X'WX| = (p(1-p))^k |X'X|, and the maximiser
    is p = (events + k/2) / (n + k) (k = columns incl. the constant).
    """
    k = xm.shape[1]
    p = (events + k / 2.0) / (n + k)
    _, logdet = np.linalg.slogdet(xm.T @ xm)
    return float(
        xlogy(events, p) + xlogy(n - events, 1.0 - p) + 0.5 * (k * math.log(p * (1.0 - p)) + logdet)
    )


def firth_logistic(
    y: np.ndarray, X: pd.DataFrame, groups: Mapping[str, Sequence[str]] | None = None
) -> dict:
    """Firth's bias-reduced (penalised-likelihood) logistic regression.

    Parameters
    ----------
    y, X
        As :func:`logistic_regression` (complete cases; constant added).
    groups : mapping of str to list of str, optional
        {predictor: its columns of ``X``}: adds ``predictor_tests``.

    Returns
    -------
    dict
        ``method="firth"``, ``n``, ``n_dropped``, ``events``, ``nonevents``,
        ``events_per_variable``, ``terms`` (``estimate`` = penalised ML B,
        ``se`` = sqrt(diag((X'WX)^-1)) at B, the inverse Fisher information
        (Heinze & Schemper 2002; SAS FIRTH, brglm2), ``se_augmented`` =
        sqrt(diag((X' diag((1 + h) p(1 - p)) X)^-1)) at B, what logistf 1.24
        and later print as ``se(coef)`` (see Notes),
        ``wald`` = (B/SE)² (informational), ``lr_statistic``
        = penalised likelihood-ratio chi-square for B = 0, ``p_value`` from
        it on 1 df, ``ci_low``/``ci_high`` = exp of the 95 % profile
        penalised-likelihood limits), ``ci_method=
        "profile_penalized_likelihood"``, ``p_value_method=
        "penalized_likelihood_ratio"``, ``fit`` {``penalized_loglik``,
        ``penalized_loglik_null``, ``lr_statistic``, ``lr_df``,
        ``lr_p_value`` (logistf's model test), ``c_statistic``},
        ``converged``, ``warnings`` [str]; with ``groups``,
        ``predictor_tests`` as :func:`logistic_regression`'s but with
        ``lr_statistic`` the penalised likelihood ratio of fixing all the
        predictor's columns at 0 (logistf's ``logistftest``) and ``wald``
        from (X'WX)^-1.

    Notes
    -----
    Standard errors: the p-values and CIs do not use them. logistf's
    maintainers describe its covariance as (X'WX)^-1 (georgheinze/logistf
    issue #10), but its C code since 1.24 returns the inverse of the
    pseudo-data information X' diag((1 + h) p(1 - p)) X, which is smaller:
    on logistf's ``sex2`` example the two differ by up to 0.17 (dia: 1.675
    vs 1.505). ``se`` is the documented inverse Fisher information, and
    ``se_augmented`` reproduces logistf's printout; both are checked against
    logistf 1.26.1 in tests/stats/reference/logistf_reference.R.

    ``firthmodels.FirthLogisticRegression`` (Newton-Raphson, gradient and
    step tolerances 1e-6, up to 50 step-halvings: tighter tolerances make
    its constrained fits fail on step-halving at machine precision),
    ``.lrt()`` and ``.conf_int(method="pl", tol=1e-6)``. A test or CI
    bound that fails to converge is ``None`` and reported in ``warnings``.
    As in R's logistf (Heinze & Schemper 2002), the penalty 1/2 log|I(B)| is
    always evaluated on the full design, also in the constrained fits behind
    tests and profile CIs. ``lr_statistic`` is recovered from the p-value
    (firthmodels does not expose the constrained log-likelihood).

    References
    ----------
    Firth D (1993) Biometrika 80:27-38. Heinze G, Schemper M (2002) Stat
    Med 21:2409-2419.
    """
    yv, xm, names, n, n_dropped = _prepare(y, X)
    k = len(names) - 1
    if k == 0:
        raise ValueError("firth_logistic needs at least one predictor column")
    events = int(yv.sum())
    nonevents = n - events
    messages: list[str] = []
    model = FirthLogisticRegression(max_iter=100, max_halfstep=50, gtol=1e-6, xtol=1e-6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(xm[:, 1:], yv)
        model.lrt()
        ci = model.conf_int(alpha=0.05, method="pl", max_iter=100, tol=1e-6)
    for w in caught:
        text = f"firthmodels: {w.message}"
        if text not in messages:
            messages.append(text)
    # firthmodels orders parameters (features..., intercept); we put const first
    order = np.r_[k, np.arange(k)]
    beta = np.r_[model.coef_, model.intercept_][order]
    p_hat = expit(xm @ beta)
    se = _inverse_information_se(xm, p_hat)
    state = _firth_state(xm, yv, beta)
    se_aug = (
        _augmented_information_se(xm, p_hat, state[2])
        if state is not None
        else np.full(xm.shape[1], np.nan)
    )
    p_lr = np.asarray(model.lrt_pvalues_)[order]
    ci = np.asarray(ci)[order]
    terms = []
    for i, name in enumerate(names):
        b, s = float(beta[i]), float(se[i])
        p = _f(p_lr[i])
        terms.append(
            {
                "term": name,
                "estimate": _f(b),
                "se": _f(s),
                "se_augmented": _f(se_aug[i]),
                "wald": _f((b / s) ** 2) if s > 0 else None,
                "lr_statistic": _f(stats.chi2.isf(p, 1)) if p is not None else None,
                "df": 1,
                "p_value": p,
                "odds_ratio": _f(_safe_exp(b)),
                "ci_low": _f(_safe_exp(float(ci[i, 0]))),
                "ci_high": _f(_safe_exp(float(ci[i, 1]))),
            }
        )
    epv = min(events, nonevents) / k if k else None
    if epv is not None and epv < EPV_MIN:
        messages.append(f"events per variable = {epv:.2f} < {EPV_MIN:g} (Peduzzi et al. 1996)")
    ll = float(model.loglik_)
    ll0 = _firth_null_loglik(xm, events, n)
    lr = 2.0 * (ll - ll0)
    tests = None
    if groups is not None:
        try:
            cov = np.linalg.inv(xm.T @ (xm * (p_hat * (1.0 - p_hat))[:, None]))
        except np.linalg.LinAlgError:
            cov = np.full((xm.shape[1], xm.shape[1]), np.nan)
        tests = []
        for predictor, columns, idx in _group_columns(names, groups):
            ll_c, ok = _firth_constrained_loglik(xm, yv, beta, idx)
            if not ok:
                messages.append(
                    f"the penalised fit with {predictor} fixed at 0 did not converge: its "
                    "likelihood-ratio test is not reported"
                )
            lr_c = 2.0 * (ll - ll_c) if ok else None
            tests.append(_test_row(predictor, columns, _wald_joint(beta, cov, idx), lr_c))
    return {
        "method": "firth",
        "n": n,
        "n_dropped": n_dropped,
        "events": events,
        "nonevents": nonevents,
        "events_per_variable": epv,
        "terms": terms,
        "ci_method": "profile_penalized_likelihood",
        "p_value_method": "penalized_likelihood_ratio",
        "fit": {
            "penalized_loglik": ll,
            "penalized_loglik_null": ll0,
            "lr_statistic": lr,
            "lr_df": k,
            "lr_p_value": float(stats.chi2.sf(lr, k)) if k else None,
            "c_statistic": c_statistic(yv, p_hat),
        },
        "converged": bool(model.converged_),
        "warnings": messages,
        **({"predictor_tests": tests} if tests is not None else {}),
    }
