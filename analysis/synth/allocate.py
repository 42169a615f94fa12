"""Exact-count allocation and stratified sampling for the synthetic cohort.

Why by hand: no maintained library offers "allocate k successes over cells
proportionally with integer counts" (Hamilton's largest-remainder method) or
Latin-hypercube draws *within* arbitrary cells, vectorised. Both are a few
lines of numpy; the first is what makes published counts exact at n = 401.
The generator no longer stratifies variables the paper found not to differ
(that planted them equal across groups, p-values near 1); it draws them from
one distribution for everybody. ``stratified_uniform`` stays for other users.
``pinned_sample`` / ``pinned_capped_sample`` place published "median (min, max)"
summaries exactly, the latter with a plausibility cap per row.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "allocate_binary",
    "allocate_counts",
    "largest_remainder",
    "pinned_sample",
    "rank_within",
    "stratified_uniform",
]


def largest_remainder(expected: np.ndarray, total: int | None = None) -> np.ndarray:
    """Integer counts close to ``expected`` that add up to ``total``.

    Hamilton's method: floor every expectation, then hand the remaining units
    to the largest fractional parts (ties by position, so it is deterministic).
    ``total`` defaults to the rounded sum of the expectations.
    """
    expected = np.round(np.asarray(expected, dtype=float), 9)
    if total is None:
        total = int(np.floor(expected.sum() + 0.5))
    base = np.floor(expected).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        order = np.argsort(-(expected - base), kind="stable")
        base[order[:short]] += 1
    elif short < 0:
        order = np.argsort(expected - base, kind="stable")
        base[order[:-short]] -= 1
    return base


def allocate_counts(weights: dict, n: int) -> np.ndarray:
    """Codes repeated in proportion to ``weights`` (exact counts), unshuffled."""
    keys = list(weights)
    counts = largest_remainder(
        np.array([weights[k] for k in keys], float) * n / sum(weights.values()), n
    )
    return np.repeat(np.array(keys), counts)


def rank_within(cell: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random rank of each row within its cell, and the size of its cell."""
    n = cell.size
    order = np.lexsort((rng.random(n), cell))
    sorted_cell = cell[order]
    starts = np.flatnonzero(np.r_[True, sorted_cell[1:] != sorted_cell[:-1]])
    sizes = np.diff(np.r_[starts, n])
    run = np.repeat(np.arange(starts.size), sizes)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[run]
    size = np.empty(n, dtype=np.int64)
    size[order] = sizes[run]
    return rank, size


def stratified_uniform(cell: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Latin-hypercube uniforms: each cell covers (0, 1) evenly.

    Feeding these to a quantile function gives every cell nearly the target
    distribution, so variables meant not to differ between groups do not.
    """
    rank, size = rank_within(cell, rng)
    return (rank + rng.random(cell.size)) / size


def allocate_binary(
    cell: np.ndarray,
    prob: np.ndarray,
    rng: np.random.Generator,
    total: int | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """A 0/1 flag with exactly round(sum(size_c * p_c)) ones, spread over cells.

    ``prob`` is the probability of each row's cell (array aligned with rows).
    Only ``eligible`` rows can be 1. Counts per cell come from the
    largest-remainder method, members within each cell are chosen at random.
    """
    n = cell.size
    flag = np.zeros(n, dtype=np.int64)
    if eligible is None:
        eligible = np.ones(n, dtype=bool)
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        return flag
    sub_cell = cell[idx]
    cells, inverse = np.unique(sub_cell, return_inverse=True)
    sizes = np.bincount(inverse)
    p_cell = np.zeros(cells.size)
    p_cell[inverse] = prob[idx]
    counts = np.minimum(largest_remainder(sizes * p_cell, total), sizes)
    rank, _ = rank_within(inverse, rng)
    flag[idx] = (rank < counts[inverse]).astype(np.int64)
    return flag


def pinned_sample(
    k: int,
    median: float,
    low: float,
    high: float,
    decimals: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``k`` values whose median, minimum and maximum are exactly the targets.

    For published "median (min, max)" summaries: the extremes and the median
    order statistics are placed exactly; the rest are log-normal draws
    clipped into the half they belong to. Returned in random order.
    """
    if k == 0:
        return np.empty(0)
    if k == 1:
        return np.array([float(median)])
    spread = max(np.log(high / median), np.log(median / low)) / 2.0
    u = (rng.permutation(k) + rng.random(k)) / k
    x = np.sort(np.round(np.clip(median * np.exp(spread * stats.norm.ppf(u)), low, high), decimals))
    x[0], x[-1] = low, high
    half = k // 2
    if k % 2:
        x[half] = median
        x[1:half] = np.clip(x[1:half], low, median)
        x[half + 1 : -1] = np.clip(x[half + 1 : -1], median, high)
    elif k > 2:
        lower = round(min(x[half - 1], median), decimals)
        lower = max(lower, 2 * median - high, low)
        upper = 2 * median - lower
        x[half - 1], x[half] = lower, upper
        x[1 : half - 1] = np.clip(x[1 : half - 1], low, lower)
        x[half + 1 : -1] = np.clip(x[half + 1 : -1], upper, high)
    return rng.permutation(np.sort(x))


def pinned_capped_sample(
    median: float,
    low: float,
    high: float,
    decimals: int,
    caps: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One value per row, each <= its row's cap, whose median, min and max are the targets.

    Like :func:`pinned_sample`, for published "median (min, max)" summaries whose
    values must also be plausible row by row (an onset within the course, ventilator
    days within the ICU stay). Each row draws from the log-normal truncated to
    [low, min(high, cap)]; the row with the largest draw among those whose cap admits
    ``high`` takes ``high``, the smallest draw takes ``low``, and the middle order
    statistics take the median (for an even count the two grid values either side of
    it, e.g. 39 and 40 h for 39.5 h). Values between are clipped into their half.
    A cap below ``low`` or a median no row can hold is a ValueError.
    """
    caps = np.asarray(caps, dtype=float)
    k = caps.size
    if k == 0:
        return np.empty(0)
    top = np.minimum(caps, high)
    if (top < low).any():
        raise ValueError(f"a cap below the published minimum {low}: {sorted(caps)}")
    spread = max(np.log(high / median), np.log(median / low)) / 2.0

    def draw(lo: np.ndarray | float, hi: np.ndarray | float, size: int) -> np.ndarray:
        """Log-normal draws truncated to [lo, hi], rounded."""
        cdf = stats.norm.cdf
        a = cdf(np.log(lo / median) / spread)
        b = cdf(np.log(np.maximum(hi, lo) / median) / spread)
        u = a + (b - a) * rng.random(size)
        z = stats.norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
        return np.round(np.clip(median * np.exp(spread * z), lo, hi), decimals)

    if k == 1:
        return np.array([min(float(median), float(top[0]))])
    if k == 2:  # the published median is the mean of the minimum and the maximum
        x = np.array([high, low], float) if caps[0] >= caps[1] else np.array([low, high], float)
        if (x > caps).any():
            raise ValueError(f"no placement of {low} and {high} fits the caps {sorted(caps)}")
        return x
    x = draw(low, top, k)
    can_top = np.flatnonzero(caps >= high)
    if can_top.size:
        x[can_top[np.argmax(x[can_top])]] = high
    order = np.argsort(x + rng.random(k) * 1e-9, kind="stable")
    x[order[0]] = low
    half = k // 2
    unit = 10.0**-decimals
    if k % 2:
        lower = upper = float(median)
        mids = [order[half]]
    else:
        lower = np.floor(np.round(median / unit, 6)) * unit
        upper = 2 * median - lower
        mids = [order[half - 1], order[half]]
    # values on the wrong side of the median are drawn again inside their half
    below, above = order[1:half], order[half + 1 : -1]
    bad = below[x[below] > lower]
    x[bad] = draw(low, np.minimum(lower, top[bad]), bad.size)
    bad = above[x[above] < upper]
    x[bad] = draw(upper, np.maximum(top[bad], upper), bad.size)
    if k % 2:
        x[mids[0]] = median
    else:
        x[mids[0]], x[mids[1]] = lower, upper
    if (x > caps).any():
        raise ValueError(f"no placement of median {median} fits the caps {sorted(caps)}")
    return np.round(x, decimals)
