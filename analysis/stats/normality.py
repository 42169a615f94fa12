"""Normality tests as SPSS 20 prints them.

* ``lilliefors`` -- EXAMINE "Tests of Normality", Kolmogorov-Smirnov with
  the Lilliefors correction (the ``paper`` policy's default).
* ``ks_uncorrected`` -- NPAR TESTS one-sample Kolmogorov-Smirnov (same D,
  asymptotic Kolmogorov p, no Lilliefors correction).
* ``shapiro_wilk`` -- EXAMINE Shapiro-Wilk.

Every function drops missing values (available cases), reports ``n`` and
returns a plain dict with ``statistic``, ``p_value``, ``n``, ``method`` and
``note`` (``None`` unless something needs saying).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special, stats
from statsmodels.stats import _lilliefors as _sm_lf
from statsmodels.stats.diagnostic import lilliefors as _sm_lilliefors

from .descriptive import _checked_sorted, _f, _finite

__all__ = ["NORMALITY_METHODS", "ks_uncorrected", "lilliefors", "normality", "shapiro_wilk"]

#: Methods accepted by :func:`normality`.
NORMALITY_METHODS = ("lilliefors", "ks_uncorrected", "shapiro_wilk")

#: SPSS prints Lilliefors p-values at or above this as ".200*" (a lower bound).
SPSS_LILLIEFORS_FLOOR = 0.2
#: SPSS EXAMINE computes Shapiro-Wilk only for samples of 3 to this many values (as its
#: algorithms notes state; Royston's p-value approximation is validated to n = 5000).
SPSS_SHAPIRO_MAX_N = 5000


def _empty(method: str, n: int, note: str, **extra: object) -> dict:
    return {
        "statistic": None,
        "p_value": None,
        "n": n,
        "method": method,
        **extra,
        "note": note,
    }


def _zero_variance(x: np.ndarray) -> bool:
    return bool(x.size) and bool(np.all(x == x[0]))


def _lilliefors_presorted(arr: np.ndarray, ordered: np.ndarray, pvalmethod: str) -> tuple:
    """statsmodels' Lilliefors D and p for a sample whose sorted copy is already at hand.

    ``statsmodels.stats.diagnostic.lilliefors`` sorts the standardized sample again;
    at registry scale that sort is the costliest step of the test, and the table has
    already sorted each group for its quartiles. So this is statsmodels' ``kstest_fit``
    for ``dist="norm"`` with the sort taken out: z from the sample's own mean and SD
    (ddof 1, computed on ``arr`` in its order, as statsmodels does), D from its
    ``ksstat`` formula (evaluated once per run of tied values, below), and the p-value
    from statsmodels' own Dallal-Wilkinson approximation and simulated table
    (``pval_lf``, ``get_lilliefors_table``). Rounding is monotone, so the standardized
    sorted sample equals the sorted standardized one bit for bit and D and p are
    identical (tests/stats check it on random data, ties included).
    """
    nobs = arr.size
    # Runs of equal values (clinical data are rounded: a few hundred distinct values in
    # 10^5 rows): the normal CDF is the same across a run while i/n grows, so
    # statsmodels' maxima of i/n - F (D+) and F - (i - 1)/n (D-) fall on a run's last
    # and first position. Evaluating only there gives the same floating-point values,
    # hence the same D, with one CDF evaluation per distinct value.
    change = np.flatnonzero(ordered[1:] != ordered[:-1])
    first = np.concatenate(([0], change + 1))
    last = np.concatenate((change, [nobs - 1]))
    z = (ordered[first] - arr.mean()) / arr.std(ddof=1)
    cdfvals = special.ndtr(z)  # what stats.norm.cdf computes, without its argument checks
    d_plus = ((last + 1.0) / nobs - cdfvals).max()  # np.arange(1.0, n + 1) / n at the ends
    d_min = (cdfvals - first / nobs).max()  # np.arange(0.0, n) / n at the starts
    d_ks = np.max([d_plus, d_min])
    table = _sm_lf.get_lilliefors_table(dist="norm")
    if pvalmethod == "approx":
        pval = _sm_lf.pval_lf(d_ks, nobs)
        if pval > 0.1:
            pval = table.prob(d_ks, nobs)
    else:
        pval = table.prob(d_ks, nobs)
    return d_ks, pval


def lilliefors(
    x: np.ndarray, pvalmethod: str = "approx", *, presorted: np.ndarray | None = None
) -> dict:
    """Kolmogorov-Smirnov test of normality with the Lilliefors correction.

    D is the largest distance between the empirical CDF and the normal CDF
    with mean and SD (``n - 1``) estimated from the sample.

    Parameters
    ----------
    x : array_like, 1-D
        Data; missing values are dropped.
    pvalmethod : {"approx", "table"}
        Passed to ``statsmodels.stats.diagnostic.lilliefors``. ``"approx"``
        (default) uses the Dallal & Wilkinson (1986) formula for p < 0.1 and
        statsmodels' simulated table above it; ``"table"`` uses the table
        throughout.
    presorted : array_like, 1-D, optional
        The non-missing values of ``x``, sorted ascending (a table sorts each group
        once and reuses it): D is then computed without sorting again, with the same
        result (:func:`_lilliefors_presorted`).

    Returns
    -------
    dict
        ``statistic`` (D), ``p_value``, ``n``, ``method="lilliefors"``,
        ``pvalmethod``, ``p_is_lower_bound`` (``True`` when p >= 0.2, where
        SPSS prints ".200*" meaning "at least 0.2"), ``p_display_floor``
        (0.2 when ``p_is_lower_bound`` else ``None``; ``p_value`` always holds
        the computed value) and ``note``.

    Notes
    -----
    Needs n >= 4 and a non-constant sample; otherwise ``statistic`` and
    ``p_value`` are ``None`` and ``note`` says why.

    How SPSS interpolates p between 0.1 and 0.2 is not documented; values in
    that range may differ from SPSS in the third decimal (decisions at
    alpha = 0.05 are unaffected because Dallal-Wilkinson is used below 0.1).

    References
    ----------
    Lilliefors HW (1967) JASA 62:399-402. Dallal GE, Wilkinson L (1986)
    Am Stat 40:294-296.
    """
    if pvalmethod not in ("approx", "table"):
        raise ValueError(f"pvalmethod must be 'approx' or 'table', got {pvalmethod!r}")
    arr = _finite(x)
    n = int(arr.size)
    extra = {"pvalmethod": pvalmethod, "p_is_lower_bound": None, "p_display_floor": None}
    if n < 4:
        return _empty("lilliefors", n, "Lilliefors test needs n >= 4", **extra)
    ordered = None if presorted is None else _checked_sorted(presorted, n)
    constant = _zero_variance(arr) if ordered is None else bool(ordered[0] == ordered[-1])
    if constant:
        return _empty("lilliefors", n, "all values are equal (SD = 0)", **extra)
    if ordered is None:
        d, p = _sm_lilliefors(arr, dist="norm", pvalmethod=pvalmethod)
    else:
        d, p = _lilliefors_presorted(arr, ordered, pvalmethod)
    p = float(p)
    lower = p >= SPSS_LILLIEFORS_FLOOR
    return {
        "statistic": _f(d),
        "p_value": p,
        "n": n,
        "method": "lilliefors",
        "pvalmethod": pvalmethod,
        "p_is_lower_bound": lower,
        "p_display_floor": SPSS_LILLIEFORS_FLOOR if lower else None,
        "note": None,
    }


def _ks_presorted(ordered: np.ndarray, mean: float, sd: float) -> tuple:
    """``scipy.stats.kstest(x, "norm", args=(mean, sd), method="asymp")``'s D+ and D-
    for a sample whose sorted copy is already at hand, and the two-sided p-value.

    scipy sorts the sample again, and the one-sided call that gives the other side's
    difference also computes a one-sided exact p-value (``ksone.sf``, the costliest
    step at registry scale) that is not used. The arithmetic is scipy's ``ks_1samp``:
    the normal CDF is ``special.ndtr((x - mean) / sd)`` (what ``stats.norm.cdf``
    computes), D+ = max(i/n - F), D- = max(F - (i - 1)/n), D the larger (D- on a tie,
    as scipy), p = ``stats.kstwobign.sf(D * sqrt(n))`` clipped to [0, 1]. As in
    :func:`_lilliefors_presorted`, the CDF is evaluated once per run of tied values
    (the maxima fall on a run's last and first position), with the same floating-point
    values, hence the same D and p (tests check it on random data, ties included).
    """
    nobs = ordered.size
    change = np.flatnonzero(ordered[1:] != ordered[:-1])
    first = np.concatenate(([0], change + 1))
    last = np.concatenate((change, [nobs - 1]))
    cdfvals = special.ndtr((ordered[first] - mean) / sd)
    d_plus = ((last + 1.0) / nobs - cdfvals).max()
    d_minus = (cdfvals - first / nobs).max()
    sign = 1 if d_plus > d_minus else -1
    d = d_plus if sign > 0 else d_minus
    p = np.clip(np.asarray(stats.kstwobign.sf(d * math.sqrt(nobs)), dtype=np.float64), 0.0, 1.0)
    return float(d_plus), float(d_minus), sign, float(d), p


def ks_uncorrected(x: np.ndarray, *, presorted: np.ndarray | None = None) -> dict:
    """One-sample Kolmogorov-Smirnov test against N(mean, SD), no correction.

    Reproduces SPSS 20 NPAR TESTS /K-S(NORMAL): the normal parameters are the
    sample mean and SD (``n - 1``) but the p-value is the asymptotic
    Kolmogorov distribution of sqrt(n)·D, as if they were known.

    Returns
    -------
    dict
        ``statistic`` (D, SPSS's "Most Extreme Differences, Absolute"),
        ``d_positive`` (D+, "Positive"), ``d_negative`` (-D-, "Negative", as
        SPSS prints it: zero or below), ``z`` (sqrt(n)·D, SPSS's
        "Kolmogorov-Smirnov Z"), ``p_value`` ("Asymp. Sig. (2-tailed)"),
        ``mean`` and ``sd`` (SPSS's "Normal Parameters"), ``n``,
        ``method="ks_uncorrected"``, ``note``.

    Notes
    -----
    ``scipy.stats.kstest(x, "norm", args=(mean, sd), method="asymp")``; the
    ``args`` and ``method`` are essential (scipy otherwise tests N(0, 1) and
    goes exact for small n). This p-value is conservative; prefer
    :func:`lilliefors`. Needs n >= 2 and a non-constant sample.
    Missing values are dropped.

    The two-sided call returns D and which side it came from; the other
    side's difference takes one one-sided call (scipy returns only the
    larger of the two). With ``presorted`` (the non-missing values of ``x``,
    sorted, as a table has them) both sides and p come from one pass over the
    sorted values instead, with the same numbers (:func:`_ks_presorted`).
    """
    arr = _finite(x)
    n = int(arr.size)
    extra = {"d_positive": None, "d_negative": None, "z": None, "mean": None, "sd": None}
    if n < 2:
        return _empty("ks_uncorrected", n, "K-S test needs n >= 2", **extra)
    ordered = None if presorted is None else _checked_sorted(presorted, n)
    constant = _zero_variance(arr) if ordered is None else bool(ordered[0] == ordered[-1])
    if constant:
        return _empty("ks_uncorrected", n, "all values are equal (SD = 0)", **extra)
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1))
    if ordered is not None:
        d_plus, d_minus, _, d, pvalue = _ks_presorted(ordered, mean, sd)
    else:
        res = stats.kstest(arr, "norm", args=(mean, sd), method="asymp")
        d, pvalue = float(res.statistic), res.pvalue
        # the side that was not the maximum: "greater" gives D+, "less" gives D-
        other = "less" if res.statistic_sign > 0 else "greater"
        d_other = float(stats.kstest(arr, "norm", args=(mean, sd), alternative=other).statistic)
        d_plus, d_minus = (d, d_other) if res.statistic_sign > 0 else (d_other, d)
    return {
        "statistic": d,
        "d_positive": d_plus,
        "d_negative": 0.0 - d_minus,  # never -0.0
        "z": d * float(np.sqrt(n)),
        "p_value": _f(pvalue),
        "mean": mean,
        "sd": sd,
        "n": n,
        "method": "ks_uncorrected",
        "note": None,
    }


def shapiro_wilk(x: np.ndarray, max_n: int | None = None) -> dict:
    """Shapiro-Wilk W test of normality (``scipy.stats.shapiro``).

    Parameters
    ----------
    x : array_like, 1-D
        Data; missing values are dropped.
    max_n : int, optional
        Leave the test out (``note`` says so) above this n. SPSS EXAMINE
        computes Shapiro-Wilk only up to n = 5000 (:data:`SPSS_SHAPIRO_MAX_N`);
        a table reporting it beside another normality test uses that limit.

    Returns
    -------
    dict
        ``statistic`` (W), ``p_value``, ``n``, ``method="shapiro_wilk"``,
        ``note``.

    Notes
    -----
    Royston's (1995) algorithm AS R94, as in R's ``shapiro.test`` and SPSS
    EXAMINE. Needs 3 <= n; for n > 5000 the p-value approximation is outside
    the range Royston validated (``note`` says so; R refuses such n).
    Missing values are dropped.
    """
    arr = _finite(x)
    n = int(arr.size)
    if n < 3:
        return _empty("shapiro_wilk", n, "Shapiro-Wilk test needs n >= 3")
    if max_n is not None and n > max_n:
        return _empty("shapiro_wilk", n, f"not computed for n > {max_n} (as SPSS EXAMINE)")
    if _zero_variance(arr):
        return _empty("shapiro_wilk", n, "all values are equal (SD = 0)")
    note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = stats.shapiro(arr)
    if n > 5000:
        note = "n > 5000: Shapiro-Wilk p-value may be inaccurate (Royston 1995)"
    return {
        "statistic": _f(res.statistic),
        "p_value": _f(res.pvalue),
        "n": n,
        "method": "shapiro_wilk",
        "note": note,
    }


def normality(
    x: np.ndarray,
    method: str,
    shapiro_max_n: int | None = None,
    *,
    presorted: np.ndarray | None = None,
) -> dict:
    """Run the normality test named by ``method``.

    Parameters
    ----------
    x : array_like, 1-D
        Data; missing values are dropped.
    method : {"lilliefors", "ks_uncorrected", "shapiro_wilk"}
        ``"lilliefors"`` is SPSS EXAMINE's K-S (the study's default).
    shapiro_max_n : int, optional
        Passed to :func:`shapiro_wilk` as ``max_n``.
    presorted : array_like, 1-D, optional
        The non-missing values of ``x``, sorted: passed to :func:`lilliefors`
        and :func:`ks_uncorrected` (Shapiro-Wilk ignores it).

    Returns
    -------
    dict
        The result of the chosen function (its ``method`` key names it).
    """
    if method == "lilliefors":
        return lilliefors(x, presorted=presorted)
    if method == "ks_uncorrected":
        return ks_uncorrected(x, presorted=presorted)
    if method == "shapiro_wilk":
        return shapiro_wilk(x, max_n=shapiro_max_n)
    raise ValueError(f"unknown normality method {method!r}; expected one of {NORMALITY_METHODS}")
