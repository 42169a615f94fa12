"""Rank-based group comparisons (SPSS NPAR TESTS parity).

Missing values are dropped within each group (available cases); results are
plain dicts with ``statistic``, ``df``, ``p_value``, ``n``, ``n_by_group``,
``method`` and ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from .descriptive import _f, _finite
from .parametric import _clean_groups, _empty, _join

__all__ = ["kruskal_wallis", "mann_whitney"]

#: Largest n_a * n_b for which ``mann_whitney(exact=True)`` is allowed; scipy's
#: exact distribution takes ~1 s at 300 x 300 and grows steeply beyond.
EXACT_MAX_PRODUCT = 100_000


def mann_whitney(a: np.ndarray, b: np.ndarray, exact: bool = False) -> dict:
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
    pooled = np.concatenate([x, y])
    _, counts = np.unique(pooled, return_counts=True)
    tie_term = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    ties = bool(counts.size < n)
    extra["ties"] = ties
    sigma2 = na * nb / 12.0 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if sigma2 <= 0.0:
        return _empty(method, n, sizes, "all values are tied", **extra)
    res = stats.mannwhitneyu(
        x,
        y,
        alternative="two-sided",
        method="exact" if exact else "asymptotic",
        use_continuity=False,
    )
    u = float(res.statistic)
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
        "p_value": _f(res.pvalue),
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
