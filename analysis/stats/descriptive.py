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

__all__ = ["categorical_summary", "continuous_summary"]


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
def continuous_summary(x: np.ndarray) -> dict:
    """Summarise a continuous variable.

    Parameters
    ----------
    x : array_like, 1-D
        Numeric values; ``NaN``/``None`` are missing.

    Returns
    -------
    dict
        ``n`` (non-missing count), ``missing`` (missing count), ``mean``,
        ``sd`` (sample SD, ``n - 1`` denominator; ``None`` when ``n < 2``),
        ``median``, ``min``, ``max``, ``q1``, ``q3``. All statistics are
        ``None`` when ``n == 0``.

    Notes
    -----
    Quartiles follow SPSS FREQUENCIES/EXAMINE's default "weighted average at
    (n + 1)p" (HAVERAGE), which is ``numpy.percentile(method="weibull")`` and
    R's ``quantile(type = 6)``. When ``(n + 1)p < 1`` (or ``> n``) the
    Weibull rule clamps to the minimum (maximum): for ``n = 1`` all
    quartiles equal the value, for ``n = 2`` ``q1 = min`` and ``q3 = max``.
    The median under this rule is the ordinary median.

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
    keys = ("mean", "sd", "median", "min", "max", "q1", "q3")
    if n == 0:
        out.update(dict.fromkeys(keys))
        return out
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1)) if n >= 2 else None
    q1, med, q3 = np.percentile(arr, [25.0, 50.0, 75.0], method="weibull")
    out.update(
        mean=mean,
        sd=sd,
        median=float(med),
        min=float(arr.min()),
        max=float(arr.max()),
        q1=float(q1),
        q3=float(q3),
    )
    return out


def categorical_summary(x: np.ndarray, levels: Sequence) -> dict:
    """Count a categorical variable over declared levels.

    Parameters
    ----------
    x : array_like, 1-D
        Values (numeric codes, strings, booleans, pandas categorical).
        ``NaN``/``None``/``pd.NA`` are missing.
    levels : sequence
        The allowed values, in display order.

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
    codes = _level_codes(x, levels, "x")
    k = len(levels)
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
