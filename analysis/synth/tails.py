"""Keep synthetic draws inside their limits without piling values at a bound.

Why: the generator draws every continuous variable as a quantile of a normal
or log-normal distribution, whose tails are unbounded, while the study file
declares a plausible range that ``validate`` enforces. Clipping would pile the
tail mass on the bound (a spike no real data set has); redrawing the whole
variable from a truncated distribution would move every value, including at
the reference size n = 401 where nothing crosses a bound. So only the draws
that cross a limit are redrawn, from the same distribution truncated to the
stretch between its median and the limit crossed: values inside the limits
are never touched, no value lands on the bound more often than its density
says, the median is kept and no redrawn row changes side of the median.

Everything works on standard-normal scores ``z`` so one helper serves the
normal and log-normal variables alike; per-row bounds (e.g. weight limits
from a BMI range and each row's height) are arrays.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["grid_bounds", "redraw_tails"]

# Fraction of a rounding unit kept clear of the half-way points, so that a raw
# value at a computed bound cannot round (half to even) past the limit.
_CLEARANCE = 1e-6


def grid_bounds(
    lo: np.ndarray | float,
    hi: np.ndarray | float,
    decimals: int | None,
    how: str = "round",
) -> tuple[np.ndarray, np.ndarray]:
    """The raw interval whose values, once rounded, stay inside [lo, hi].

    ``how="round"``: a limit on the rounding grid (age 95) admits raw values
    up to half a unit beyond it (95.49 rounds to 95); a limit off the grid (a
    weight of 51.337 kg from BMI 15) is first moved inward to the nearest grid
    point (51.4). ``how="ceil"`` (whole days of a course): ceil(x) <= 15 means
    x <= 15, and ceil(x) >= 1 means x > 0. ``decimals=None``: not rounded, the
    limits are the raw interval.
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    if decimals is None:
        return lo, hi
    unit = 10.0**-decimals
    # round(., 6) first: 0.3 * 10 is 3.0000000000000004, whose ceiling is 4
    lo_grid = np.ceil(np.round(lo / unit, 6)) * unit
    hi_grid = np.floor(np.round(hi / unit, 6)) * unit
    clear = _CLEARANCE * unit
    if how == "ceil":
        return lo_grid - unit + clear, hi_grid
    if how != "round":
        raise ValueError(f"unknown rounding {how!r}")
    half = 0.5 * unit - clear
    return lo_grid - half, hi_grid + half


def redraw_tails(
    z: np.ndarray,
    z_lo: np.ndarray | float,
    z_hi: np.ndarray | float,
    rng: np.random.Generator,
    pivot: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, int]:
    """Scores with every one outside [z_lo, z_hi] redrawn; and how many were.

    A score above ``z_hi`` is replaced by a standard-normal draw truncated to
    [max(z_lo, pivot), z_hi] (between the pivot, by default the median, and
    the bound it crossed), one below ``z_lo`` by a draw truncated to
    [z_lo, min(z_hi, pivot)]. If both limits lie on one side of the pivot the
    draw covers [z_lo, z_hi]. A pivot at a cut point (age 60) keeps every
    redrawn row in its group. ``rng`` should be a stream of its own, so that
    redraws never shift the other variables.
    """
    z = np.array(z, dtype=float, copy=True)
    z_lo = np.broadcast_to(np.asarray(z_lo, dtype=float), z.shape)
    z_hi = np.broadcast_to(np.asarray(z_hi, dtype=float), z.shape)
    empty = z_lo > z_hi
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ValueError(f"empty interval of allowed values at row {i}: [{z_lo[i]}, {z_hi[i]}]")
    high = z > z_hi
    low = z < z_lo
    out = np.flatnonzero(high | low)
    if out.size == 0:
        return z, 0
    lo, hi, up = z_lo[out], z_hi[out], high[out]
    mid = np.broadcast_to(np.asarray(pivot, dtype=float), z.shape)[out]
    a = np.where(up, np.where(hi > mid, np.maximum(lo, mid), lo), lo)
    b = np.where(up, hi, np.where(lo < mid, np.minimum(hi, mid), hi))
    u = rng.random(out.size)
    flat = a == b
    draw = np.where(flat, a, 0.0)
    if (~flat).any():
        draw[~flat] = stats.truncnorm.ppf(u[~flat], a[~flat], b[~flat])
    z[out] = np.clip(draw, a, b)  # numerical guard only: ppf is exact up to rounding
    return z, int(out.size)
