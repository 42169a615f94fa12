"""Rank-based group comparisons (SPSS NPAR TESTS parity).

Missing values are dropped within each group (available cases); results are
plain dicts with ``statistic``, ``df``, ``p_value``, ``n``, ``n_by_group``,
``method`` and ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import special, stats

from .descriptive import _f, _finite
from .parametric import _clean_groups, _empty, _join

__all__ = ["kruskal_wallis", "mann_whitney"]

#: Largest n_a * n_b for which ``mann_whitney(exact=True)`` is allowed; scipy's
#: exact distribution takes ~1 s at 300 x 300 and grows steeply beyond.
EXACT_MAX_PRODUCT = 100_000


def _tie_counts(pooled_sorted: np.ndarray) -> np.ndarray:
    """Sizes of the runs of equal values in a sorted array (what ``np.unique``'s
    ``return_counts`` gives, without the sort ``np.unique`` does first)."""
    n = pooled_sorted.size
    starts = np.flatnonzero(pooled_sorted[1:] != pooled_sorted[:-1]) + 1
    return np.diff(np.concatenate(([0], starts, [n])))


def _asymptotic_presorted(x: np.ndarray, y: np.ndarray, sigma2: float) -> tuple[float, float]:
    """U of ``x`` and the two-sided asymptotic p (no continuity correction) of
    ``scipy.stats.mannwhitneyu``, for two groups that are already sorted.

    scipy takes no sorted groups or ranks: it ranks the pooled sample again and spends
    more on its checks and its per-element tie array than on the merge. For sorted
    groups, U_a (the rank sum of ``x`` with ties averaged, minus n_a(n_a + 1)/2) is the
    number of pairs with x_i > y_j plus half the tied pairs, counted exactly in
    integers by two binary searches of the smaller group's values in the larger. The
    p-value repeats scipy's own steps: U = max(U_a, U_b), z = (U - n_a n_b / 2) / sigma
    with the tie-corrected variance ``sigma2`` (computed by the caller from the pooled
    tie counts, scipy's formula), p = 2 ndtr(-z) clipped to [0, 1]. tests/stats hold
    it to scipy to 1e-12, ties included.
    """
    na, nb = x.size, y.size
    # the smaller group is searched for in the larger: U_b = n_a n_b - U_a
    small, large = (x, y) if na <= nb else (y, x)
    below = int(np.searchsorted(large, small, side="left").sum())  # pairs large < small
    at_or_below = int(np.searchsorted(large, small, side="right").sum())  # large <= small
    u_small = (below + at_or_below) / 2.0
    u = u_small if na <= nb else na * nb - u_small
    z = (max(u, na * nb - u) - na * nb / 2) / np.sqrt(sigma2)
    return u, float(np.clip(special.ndtr(-z) * 2, 0.0, 1.0))


def mann_whitney(
    a: np.ndarray, b: np.ndarray, exact: bool = False, *, presorted: bool = False
) -> dict:
    """Mann-Whitney U (Wilcoxon rank-sum) test, two-sided.

    Parameters
    ----------
    a, b : array_like, 1-D
        The two groups; missing values are dropped per group.
    exact : bool, default False
        ``False`` (default, SPSS "Asymp. Sig. (2-tailed)"): normal
        approximation with the tie-corrected variance and **no** continuity
        correction, ``scipy.stats.mannwhitneyu(a, b, method="asymptotic",
        use_continuity=False)``. ``True``: ``method="exact"``, the exact
        permutation distribution of U **without ties** -- scipy's exact
        distribution ignores ties, so with tied data the p-value is only
        approximate (``note`` says so). SPSS's "Exact Sig. [2*(1-tailed
        Sig.)]" is yet another quantity and is not reproduced. Limited to
        ``n_a * n_b <= EXACT_MAX_PRODUCT`` (``ValueError`` beyond).
    presorted : bool, default False
        ``True`` when ``a`` and ``b`` are each sorted ascending (a table sorts each
        group once for its quartiles and the Lilliefors test). The result is the
        same, only faster: the tie counts come from a stable sort that merges the
        two sorted runs in linear time, and the asymptotic U and p from
        :func:`_asymptotic_presorted` instead of ranking again. Unsorted input with
        ``True`` raises ``ValueError``.

    Returns
    -------
    dict
        ``statistic`` (U of the **first** group ``a``:
        ``R_a - n_a(n_a + 1)/2``, what R's ``wilcox.test`` calls W; SPSS
        prints the smaller of U_a and U_b), ``u_min`` (that smaller U,
        SPSS's "Mann-Whitney U"), ``z`` (signed, ``(U_a - n_a n_b / 2) /
        sigma_U`` with the tie-corrected sigma), ``z_u_min`` (the same from
        ``u_min``: SPSS's "Z", never positive), ``wilcoxon_w`` (SPSS's
        "Wilcoxon W", below), ``rank_sums`` and ``mean_ranks`` ``[a, b]``
        (SPSS's "Ranks" table), ``df`` (``None``), ``p_value``, ``n``,
        ``n_by_group``, ``method`` ("mann_whitney_asymptotic" or
        "mann_whitney_exact"), ``ties`` (bool), ``note``.

    Notes
    -----
    sigma_U^2 = n_a n_b / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))), t the
    sizes of tie groups. Undefined (``None``) when all values are tied.

    The rank sums follow from U without ranking again: R_a = U_a + n_a(n_a +
    1)/2 and R_a + R_b = N(N + 1)/2. Wilcoxon W is the rank sum of the group
    whose U is the smaller (the second group when they are equal), as GNU
    PSPP computes it; with groups of equal size it is the smaller rank sum,
    as in Field's printed SPSS output. IBM's command reference calls W "the
    rank sum of the smaller group", which can differ when the groups have
    unequal sizes; ``rank_sums`` holds both.
    """
    method = "mann_whitney_exact" if exact else "mann_whitney_asymptotic"
    x, y = _finite(a, "a"), _finite(b, "b")
    na, nb = int(x.size), int(y.size)
    sizes = [na, nb]
    n = na + nb
    extra = {
        "u_min": None,
        "z": None,
        "z_u_min": None,
        "wilcoxon_w": None,
        "rank_sums": None,
        "mean_ranks": None,
        "ties": None,
    }
    if na < 1 or nb < 1:
        return _empty(method, n, sizes, "needs >= 1 value per group", **extra)
    if exact and na * nb > EXACT_MAX_PRODUCT:
        raise ValueError(
            f"exact Mann-Whitney is limited to n_a * n_b <= {EXACT_MAX_PRODUCT} "
            f"(got {na} x {nb}); use the asymptotic test"
        )
    if presorted and ((x[1:] < x[:-1]).any() or (y[1:] < y[:-1]).any()):
        raise ValueError("presorted=True but a group is not sorted ascending")
    # Tie counts of the pooled sample; when the groups come sorted, a stable sort
    # (timsort) merges the two runs in linear time.
    pooled = np.concatenate([x, y])
    counts = _tie_counts(np.sort(pooled, kind="stable" if presorted else None))
    tie_term = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    ties = bool(counts.size < n)
    extra["ties"] = ties
    sigma2 = na * nb / 12.0 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if sigma2 <= 0.0:
        return _empty(method, n, sizes, "all values are tied", **extra)
    if presorted and not exact:
        u, p_value = _asymptotic_presorted(x, y, sigma2)
    else:
        res = stats.mannwhitneyu(
            x,
            y,
            alternative="two-sided",
            method="exact" if exact else "asymptotic",
            use_continuity=False,
        )
        u, p_value = float(res.statistic), res.pvalue
    u_b = na * nb - u
    sigma = float(np.sqrt(sigma2))
    r_a = u + na * (na + 1) / 2.0
    r_b = n * (n + 1) / 2.0 - r_a
    extra.update(
        u_min=min(u, u_b),
        z=float((u - na * nb / 2.0) / sigma),
        z_u_min=float((min(u, u_b) - na * nb / 2.0) / sigma),
        wilcoxon_w=r_b if u_b <= na * nb / 2.0 else r_a,
        rank_sums=[r_a, r_b],
        mean_ranks=[r_a / na, r_b / nb],
    )
    note = None
    if exact and ties:
        note = "exact p-value ignores ties (scipy's exact null distribution assumes no ties)"
    return {
        "statistic": u,
        "df": None,
        "p_value": _f(p_value),
        "n": n,
        "n_by_group": sizes,
        "method": method,
        **extra,
        "note": note,
    }


def kruskal_wallis(groups: Sequence[np.ndarray]) -> dict:
    """Kruskal-Wallis H test (SPSS NPAR TESTS /K-W), tie-corrected.

    Parameters
    ----------
    groups : sequence of array_like
        One 1-D array per group; missing values are dropped, groups left
        empty are dropped (``note``).

    Returns
    -------
    dict
        ``statistic`` (H corrected for ties), ``df`` (k - 1, int, k the
        number of non-empty groups), ``p_value`` (chi-square approximation),
        ``rank_sums`` and ``mean_ranks`` (one per non-empty group: SPSS's
        "Ranks" table), ``n``, ``n_by_group``, ``method="kruskal_wallis"``,
        ``note``.

    Notes
    -----
    H = [12 / (N(N+1)) sum R_i^2 / n_i - 3(N+1)] / [1 - sum(t^3 - t) / (N^3 - N)],
    the formula of ``scipy.stats.kruskal``. scipy returns H and p but not the
    rank sums SPSS prints, so the pooled values are ranked once here
    (``scipy.stats.rankdata``, ties averaged; ``scipy.stats.tiecorrect``) and
    H is taken from those ranks: calling ``kruskal`` as well would rank the
    data a second time, the costly step at registry scale. Undefined
    (``None``) when all values are tied.
    """
    cleaned, sizes, note = _clean_groups(groups)
    n = int(sum(sizes))
    k = len(cleaned)
    extra = {"rank_sums": None, "mean_ranks": None}
    if k < 2:
        return _empty("kruskal_wallis", n, sizes, _join(note, "needs >= 2 non-empty groups"),
                      **extra)  # fmt: skip
    pooled = np.concatenate(cleaned)
    if np.all(pooled == pooled[0]):
        return _empty("kruskal_wallis", n, sizes, _join(note, "all values are tied"), **extra)
    ranks = stats.rankdata(pooled)
    counts = np.array([g.size for g in cleaned])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank_sums = np.add.reduceat(ranks, starts)
    h = 12.0 / (n * (n + 1.0)) * float(np.sum(rank_sums**2 / counts)) - 3.0 * (n + 1.0)
    h /= float(stats.tiecorrect(ranks))
    return {
        "statistic": _f(h),
        "df": k - 1,
        "p_value": _f(stats.chi2.sf(h, k - 1)),
        "rank_sums": [float(r) for r in rank_sums],
        "mean_ranks": [float(r) for r in rank_sums / counts],
        "n": n,
        "n_by_group": sizes,
        "method": "kruskal_wallis",
        "note": note,
    }
