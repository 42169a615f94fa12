"""Descriptive statistics for one variable (SPSS FREQUENCIES / EXAMINE parity).

Every function returns a plain, JSON-serialisable ``dict`` (python ``int``,
``float``, ``str``, ``None``). Missing values (``NaN``/``None``/``pd.NA``) are
dropped and counted; nothing is imputed.

This module also hosts the small private helpers that the other ``stats``
modules share (array cleaning, level coding, float conversion).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["categorical_summary", "continuous_summary", "kurtosis_se", "skewness_se"]


# --------------------------------------------------------------------------
# shared private helpers (imported by the sibling modules)
# --------------------------------------------------------------------------
def _as_float_1d(x: Any, name: str = "x") -> np.ndarray:
    """Return ``x`` as a 1-D float64 array; missing values become ``NaN``.

    Raises
    ------
    ValueError
        If ``x`` is not one-dimensional or holds non-numeric values.
    """
    try:
        if hasattr(x, "to_numpy"):
            arr = x.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numeric values ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _drop_nan(x: Any, name: str = "x") -> tuple[np.ndarray, int]:
    """Return (non-missing values, number of missing values)."""
    arr = _as_float_1d(x, name)
    keep = ~np.isnan(arr)
    n_keep = int(np.count_nonzero(keep))
    if n_keep == arr.size:
        return arr, 0
    return arr[keep], int(arr.size - n_keep)


def _finite(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Non-missing values of ``x``; ``±inf`` is rejected with ``ValueError``."""
    arr, _ = _drop_nan(x, name)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name}: infinite values are not allowed")
    return arr


def _f(v: Any) -> float | None:
    """Python ``float`` of a scalar, ``None`` when missing or not finite."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _py(v: Any) -> Any:
    """Convert numpy scalars to the matching python type (for dict keys)."""
    return v.item() if isinstance(v, np.generic) else v


def _level_codes(x: Any, levels: Sequence, name: str = "x") -> np.ndarray:
    """Vectorised coding of ``x`` against ``levels``.

    Returns an ``int64`` array: the index of each value in ``levels`` and
    ``-1`` for a missing value (``NaN``, ``None``, ``pd.NA``).

    Raises
    ------
    ValueError
        If ``levels`` is empty, has duplicates or missing entries, if ``x``
        is not 1-D, or if a non-missing value of ``x`` is not in ``levels``
        (the message names the first such value).
    """
    lv = list(levels)
    if not lv:
        raise ValueError(f"{name}: levels must not be empty")
    index = pd.Index(lv)
    if not index.is_unique:
        raise ValueError(f"{name}: levels must be unique, got {lv!r}")
    if index.hasnans:
        raise ValueError(f"{name}: levels must not contain a missing value")
    values = x if isinstance(x, pd.Series | pd.Index | pd.Categorical) else np.asarray(x)
    if np.ndim(values) != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {np.shape(values)}")
    codes = np.asarray(index.get_indexer(values), dtype=np.int64)
    unmatched = codes < 0
    if unmatched.any():
        missing = np.asarray(pd.isna(values), dtype=bool)
        bad = unmatched & ~missing
        if bad.any():
            first = np.asarray(values, dtype=object)[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"{name}: value {_py(first)!r} is not one of the declared levels {lv!r}"
            )
    return codes


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def continuous_summary(x: np.ndarray, *, presorted: np.ndarray | None = None) -> dict:
    """Summarise a continuous variable.

    Parameters
    ----------
    x : array_like, 1-D
        Numeric values; ``NaN``/``None`` are missing.
    presorted : array_like, 1-D, optional
        The non-missing values of ``x``, sorted ascending. A table sorts each group
        once and reuses it for the quartiles, the Lilliefors test and the ranks;
        the quartiles, median, min and max are then read from it (numpy's
        percentile selects from a sorted array in linear time). The mean and the
        moments are still taken from ``x`` in its own order, so every number is
        the same as without it.

    Returns
    -------
    dict
        ``n`` (non-missing count), ``missing`` (missing count), ``mean``,
        ``sd`` (sample SD, ``n - 1`` denominator; ``None`` when ``n < 2``),
        ``median``, ``min``, ``max``, ``q1``, ``q3``; and what SPSS EXAMINE
        prints beside them: ``se_mean`` (SD / sqrt(n)), ``ci_mean_low``/
        ``ci_mean_high`` (95 % t interval of the mean), ``skewness``,
        ``skewness_se``, ``kurtosis`` (excess), ``kurtosis_se``. All
        statistics are ``None`` when ``n == 0``; the SD-based ones need
        ``n >= 2``, skewness ``n >= 3`` and kurtosis ``n >= 4`` and a
        non-constant sample.

    Notes
    -----
    Quartiles follow SPSS FREQUENCIES/EXAMINE's default "weighted average at
    (n + 1)p" (HAVERAGE), which is ``numpy.percentile(method="weibull")`` and
    R's ``quantile(type = 6)``. When ``(n + 1)p < 1`` (or ``> n``) the
    Weibull rule clamps to the minimum (maximum): for ``n = 1`` all
    quartiles equal the value, for ``n = 2`` ``q1 = min`` and ``q3 = max``.
    The median under this rule is the ordinary median.

    Skewness and kurtosis are the bias-corrected G1 and G2 that SPSS prints
    (the values of ``scipy.stats.skew/kurtosis(bias=False)``), with SPSS's
    standard errors, which depend on n only::

        G1 = sqrt(n (n - 1)) / (n - 2) * m3 / m2^1.5
        G2 = (n - 1) / ((n - 2) (n - 3)) * ((n + 1) (m4 / m2² - 3) + 6)
        SES = sqrt(6 n (n - 1) / ((n - 2) (n + 1) (n + 3)))
        SEK = 2 SES sqrt((n² - 1) / ((n - 3) (n + 5)))

    with m_k the k-th central moment (divisor n).

    Missing-data policy: available cases (missing values dropped, counted in
    ``missing``). Infinite values raise ``ValueError``.
    """
    arr = _as_float_1d(x, "x")
    nan = np.isnan(arr)
    n_missing = int(np.count_nonzero(nan))
    if n_missing:
        arr = arr[~nan]
    if arr.size and not np.isfinite(arr).all():
        raise ValueError("x: infinite values are not allowed")
    n = int(arr.size)
    out: dict = {"n": n, "missing": n_missing}
    keys = ("mean", "sd", "median", "min", "max", "q1", "q3", *_SHAPE_KEYS)
    if n == 0:
        out.update(dict.fromkeys(keys))
        return out
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1)) if n >= 2 else None
    if presorted is None:
        ordered = arr
        q1, med, q3 = np.percentile(ordered, [25.0, 50.0, 75.0], method="weibull")
    else:
        ordered = _checked_sorted(presorted, n)
        q1, med, q3 = _weibull_quartiles(ordered)
    low, high = (arr.min(), arr.max()) if presorted is None else (ordered[0], ordered[-1])
    out.update(
        mean=mean,
        sd=sd,
        median=float(med),
        min=float(low),
        max=float(high),
        q1=float(q1),
        q3=float(q3),
    )
    out.update(_shape(arr, mean, sd))
    return out


_QUARTILES = np.array([25.0, 50.0, 75.0])


def _weibull_quartiles(ordered: np.ndarray) -> np.ndarray:
    """``numpy.percentile(ordered, [25, 50, 75], method="weibull")`` of a sorted array,
    read from it directly: the same numbers, bit for bit (numpy 2's steps on the same
    operands: virtual index n q + q - 1, its floor and the next index clipped to the
    sample, then numpy's two-sided lerp), without the copy and partial sort that
    numpy's percentile makes of its input (a table reads the quartiles of every group
    of every continuous row). tests/stats/test_stats_presorted.py holds it to numpy's."""
    n = ordered.shape[0]
    quantiles = np.true_divide(_QUARTILES, 100)
    virtual = n * quantiles + quantiles - 1  # numpy's alpha = beta = 0 terms vanish exactly
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    if above.any():
        previous[above] = -1
        following[above] = -1
    below = virtual < 0
    if below.any():
        previous[below] = 0
        following[below] = 0
    previous = previous.astype(np.intp)
    following = following.astype(np.intp)
    a, b = ordered[previous], ordered[following]
    gamma = np.asanyarray(virtual - previous, dtype=virtual.dtype)
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe")
    return out


def _checked_sorted(presorted: np.ndarray, n: int) -> np.ndarray:
    """``presorted`` as float64, refused unless it can be the n values sorted (size,
    ascending order, no missing value): a wrong array would give wrong quartiles."""
    s = np.asarray(presorted, dtype=np.float64)
    if s.ndim != 1 or s.size != n or np.isnan(s).any() or (s[1:] < s[:-1]).any():
        raise ValueError("presorted: expected the sample's non-missing values, sorted")
    return s


_SHAPE_KEYS = (
    "se_mean",
    "ci_mean_low",
    "ci_mean_high",
    "skewness",
    "skewness_se",
    "kurtosis",
    "kurtosis_se",
)


def skewness_se(n: int) -> float | None:
    """SPSS's standard error of the skewness G1 (None for n < 3).

    No library gives it: scipy and statsmodels compute G1 but not its SE.
    """
    if n < 3:
        return None
    return math.sqrt(6.0 * n * (n - 1) / ((n - 2) * (n + 1) * (n + 3)))


def kurtosis_se(n: int) -> float | None:
    """SPSS's standard error of the excess kurtosis G2 (None for n < 4)."""
    if n < 4:
        return None
    return 2.0 * skewness_se(n) * math.sqrt((n * n - 1.0) / ((n - 3) * (n + 5)))


def _shape(arr: np.ndarray, mean: float, sd: float | None) -> dict:
    """SE and 95 % CI of the mean, G1, G2 and their SEs, as SPSS EXAMINE prints them.

    The central moments come from one pass over the deviations (three dot products,
    ``einsum``: no BLAS threads)
    rather than from ``scipy.stats.skew`` and ``kurtosis``: each of those recomputes
    the mean and the deviations, which at 10^6 rows per group costs about seven
    times as much, on every continuous row of every table. The tests check G1 and G2
    against scipy, R's e1071 and SPSS printouts.
    """
    n = int(arr.size)
    out: dict = dict.fromkeys(_SHAPE_KEYS)
    if sd is None:
        return out
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(0.975, n - 1)) * se
    out.update(se_mean=se, ci_mean_low=mean - half, ci_mean_high=mean + half)
    if sd == 0.0 or n < 3:
        return out
    dev = arr - mean
    sq = dev * dev
    m2, m3, m4 = (float(np.einsum("i,i->", a, b)) / n for a, b in ((dev, dev), (sq, dev), (sq, sq)))
    # a near-constant sample can leave m2 at rounding level: no shape to report
    if m2 <= (np.finfo(float).eps * max(abs(mean), 1.0)) ** 2:
        return out
    g1 = math.sqrt(n * (n - 1.0)) / (n - 2.0) * m3 / m2**1.5
    out.update(skewness=_f(g1), skewness_se=skewness_se(n))
    if n >= 4:
        g2 = (n - 1.0) / ((n - 2.0) * (n - 3.0)) * ((n + 1.0) * (m4 / m2**2 - 3.0) + 6.0)
        out.update(kurtosis=_f(g2), kurtosis_se=kurtosis_se(n))
    return out


def categorical_summary(x: np.ndarray, levels: Sequence, *, coded: bool = False) -> dict:
    """Count a categorical variable over declared levels.

    Parameters
    ----------
    x : array_like, 1-D
        Values (numeric codes, strings, booleans, pandas categorical).
        ``NaN``/``None``/``pd.NA`` are missing.
    levels : sequence
        The allowed values, in display order.
    coded : bool, default False
        ``True`` when ``x`` already holds each value's index in ``levels`` (``-1``
        for missing), as :func:`_level_codes` returns it: a table codes a variable
        once and counts every group from those codes, instead of hashing the raw
        values again per group (the same counts).

    Returns
    -------
    dict
        ``n`` (non-missing count), ``missing``, ``levels`` (the levels as
        python scalars, in order), ``counts`` ``{level: int}`` and
        ``percent`` ``{level: float}`` (0-100, of the non-missing values;
        ``None`` for every level when ``n == 0``). Levels that do not occur
        get count 0.

    Raises
    ------
    ValueError
        If a non-missing value is not in ``levels`` (the message names it).

    Notes
    -----
    Vectorised: values are coded with a hash lookup and counted with
    ``numpy.bincount``. Missing-data policy: missing values are excluded
    from the percentages and counted in ``missing``.
    """
    codes = np.asarray(x, dtype=np.int64) if coded else _level_codes(x, levels, "x")
    k = len(levels)
    if coded and codes.size and (codes.max() >= k or codes.min() < -1):
        raise ValueError(f"x: codes must lie in -1..{k - 1} for {k} levels")
    valid = codes >= 0
    n = int(np.count_nonzero(valid))
    counts = np.bincount(codes[valid], minlength=k) if n else np.zeros(k, dtype=np.int64)
    keys = [_py(v) for v in levels]
    return {
        "n": n,
        "missing": int(codes.size - n),
        "levels": keys,
        "counts": {lv: int(c) for lv, c in zip(keys, counts, strict=True)},
        "percent": {
            lv: (100.0 * float(c) / n if n else None) for lv, c in zip(keys, counts, strict=True)
        },
    }
