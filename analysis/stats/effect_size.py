"""Standardised mean differences (SMD) for baseline-balance columns.

Definitions follow Austin (2009) for continuous variables and Yang & Dalton
(2012) for categorical ones -- the same as R's tableone/gtsummary ``smd``.
SMDs are descriptive (no p-value); missing values are dropped per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Literal

import numpy as np

from .descriptive import _finite, _level_codes

__all__ = ["smd_categorical", "smd_continuous", "smd_max_pairwise"]

_SUM_TOL = 1e-6


def smd_continuous(a: np.ndarray, b: np.ndarray) -> float | None:
    """SMD of a continuous variable between two groups.

    ``(mean_a - mean_b) / sqrt((sd_a² + sd_b²) / 2)`` with ``n - 1`` SDs
    (Austin PC (2009) Stat Med 28:3083-3107, eq. 1).

    Parameters
    ----------
    a, b : array_like, 1-D
        The two groups; missing values are dropped.

    Returns
    -------
    float or None
        Signed SMD (positive when ``a`` has the larger mean). ``0.0`` when
        both SDs and the mean difference are zero; ``None`` when undefined
        (a group has < 2 values, or zero SDs with different means).
    """
    x, y = _finite(a, "a"), _finite(b, "b")
    if x.size < 2 or y.size < 2:
        return None
    num = float(x.mean() - y.mean())
    den = float(np.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2.0))
    if den == 0.0:
        return 0.0 if num == 0.0 else None
    return num / den


def _proportions(p: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name}: expected a 1-D vector of >= 2 proportions")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"{name}: proportions must be finite and non-negative")
    if abs(arr.sum() - 1.0) > _SUM_TOL:
        raise ValueError(f"{name}: proportions must sum to 1 (got {arr.sum()!r})")
    return arr


def smd_categorical(p_a: np.ndarray, p_b: np.ndarray) -> float:
    """SMD of a categorical variable (Yang & Dalton 2012).

    ``sqrt((T - C)' S^-1 (T - C))`` where T, C are the level proportions
    without one reference level and ``S = (S_T + S_C) / 2`` with
    ``S_kk = p_k (1 - p_k)``, ``S_kl = -p_k p_l``. Levels absent from both
    groups are dropped first; a generalised inverse guards against
    singularity (as R tableone's ``MASS::ginv``).

    Parameters
    ----------
    p_a, p_b : array_like, 1-D, same length
        Proportions over the same levels (each summing to 1). Percentages
        from :func:`~analysis.stats.descriptive.categorical_summary` must be
        divided by 100.

    Returns
    -------
    float
        Non-negative SMD. For a binary variable it equals
        ``|p1 - p2| / sqrt((p1(1 - p1) + p2(1 - p2)) / 2)`` (the absolute
        value of Austin's binary SMD; the multi-level form has no sign).

    References
    ----------
    Yang D, Dalton JE (2012) A unified approach to measuring the effect
    size between two groups using SAS. SAS Global Forum, paper 335-2012.
    """
    pa = _proportions(p_a, "p_a")
    pb = _proportions(p_b, "p_b")
    if pa.shape != pb.shape:
        raise ValueError(f"p_a and p_b must have the same length ({pa.size} != {pb.size})")
    keep = (pa > 0) | (pb > 0)
    pa, pb = pa[keep], pb[keep]
    if pa.size < 2:
        return 0.0
    t, c = pa[1:], pb[1:]
    s = (np.diag(t) - np.outer(t, t) + np.diag(c) - np.outer(c, c)) / 2.0
    d = t - c
    val = float(d @ np.linalg.pinv(s) @ d)
    return float(np.sqrt(max(val, 0.0)))


def smd_max_pairwise(
    groups: Sequence[np.ndarray],
    kind: Literal["continuous", "categorical"],
    levels: Sequence | None = None,
    labels: Sequence | None = None,
    *,
    coded: bool = False,
) -> dict:
    """SMDs for every pair of k >= 2 groups, and their maximum.

    Parameters
    ----------
    groups : sequence of array_like
        Raw values of the variable, one 1-D array per group.
    kind : {"continuous", "categorical"}
        Which SMD to compute (:func:`smd_continuous` or
        :func:`smd_categorical` on the groups' level proportions).
    levels : sequence, optional
        Required for ``kind="categorical"``: the declared levels.
    labels : sequence, optional
        Group labels used in ``pairs`` (default: group indices).
    coded : bool, default False
        Categorical only: the groups already hold level indices (``-1`` missing),
        as :func:`~analysis.stats.descriptive.categorical_summary` with
        ``coded=True`` takes them; the values are not coded again.

    Returns
    -------
    dict
        ``statistic`` (largest absolute pairwise SMD, ``None`` if none is
        defined), ``mean`` (mean absolute pairwise SMD -- R tableone prints
        this for k > 2), ``pairs`` [{``a``, ``b``, ``smd``}] for every pair
        (signed for continuous), ``n`` (non-missing, all groups),
        ``n_by_group``, ``method``
        ("smd_max_pairwise"), ``kind``, ``note`` (pairs that were undefined).
    """
    if kind not in ("continuous", "categorical"):
        raise ValueError(f"kind must be 'continuous' or 'categorical', got {kind!r}")
    k = len(groups)
    if k < 2:
        raise ValueError("smd_max_pairwise needs at least 2 groups")
    names = (
        list(range(k))
        if labels is None
        else [v.item() if isinstance(v, np.generic) else v for v in labels]
    )
    if len(names) != k:
        raise ValueError("labels must have one entry per group")

    if kind == "continuous":
        cleaned = [_finite(g, f"groups[{i}]") for i, g in enumerate(groups)]
        sizes = [int(g.size) for g in cleaned]

        def pair(i: int, j: int) -> float | None:
            return smd_continuous(cleaned[i], cleaned[j])
    else:
        if levels is None:
            raise ValueError("levels are required for kind='categorical'")
        props: list[np.ndarray | None] = []
        sizes = []
        for i, g in enumerate(groups):
            codes = np.asarray(g, np.int64) if coded else _level_codes(g, levels, f"groups[{i}]")
            if coded and codes.size and codes.max() >= len(levels):
                raise ValueError(f"groups[{i}]: codes must lie in -1..{len(levels) - 1}")
            codes = codes[codes >= 0]
            sizes.append(int(codes.size))
            counts = np.bincount(codes, minlength=len(levels)).astype(np.float64)
            props.append(counts / codes.size if codes.size else None)

        def pair(i: int, j: int) -> float | None:
            pa, pb = props[i], props[j]
            return None if pa is None or pb is None else smd_categorical(pa, pb)

    pairs = []
    undefined = []
    for i, j in combinations(range(k), 2):
        value = pair(i, j)
        pairs.append({"a": names[i], "b": names[j], "smd": value})
        if value is None:
            undefined.append(f"{names[i]} vs {names[j]}")
    defined = [abs(p["smd"]) for p in pairs if p["smd"] is not None]
    return {
        "statistic": max(defined) if defined else None,
        "mean": float(np.mean(defined)) if defined else None,
        "pairs": pairs,
        "n": int(sum(sizes)),
        "n_by_group": sizes,
        "method": "smd_max_pairwise",
        "kind": kind,
        "note": f"undefined SMD for {', '.join(undefined)}" if undefined else None,
    }
