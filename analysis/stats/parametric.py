"""Parametric group comparisons (SPSS T-TEST and ONEWAY parity).

All functions drop missing values within each group (available cases),
report ``n`` (total) and ``n_by_group``, and return plain dicts with the
shared keys ``statistic``, ``df``, ``p_value``, ``n``, ``method``,
``ci_low``, ``ci_high`` (where they apply) and ``note``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.oneway import anova_oneway

from .descriptive import _f, _finite

__all__ = ["levene_mean", "one_way_anova", "student_t", "welch_anova", "welch_t"]

_CONF = 0.95


def _clean_groups(groups: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[int], str | None]:
    """Drop missing values; drop groups left empty (and say so)."""
    if isinstance(groups, np.ndarray) and groups.ndim == 1 and groups.dtype != object:
        raise ValueError("groups must be a sequence of 1-D arrays, not a single array")
    cleaned = [_finite(g, f"groups[{i}]") for i, g in enumerate(groups)]
    sizes = [int(g.size) for g in cleaned]
    empty = [i for i, s in enumerate(sizes) if s == 0]
    note = None
    if empty:
        note = f"groups with no non-missing values dropped: {empty}"
        cleaned = [g for g in cleaned if g.size]
    return cleaned, sizes, note


def _join(*notes: str | None) -> str | None:
    kept = [s for s in notes if s]
    return "; ".join(kept) if kept else None


def _empty(method: str, n: int, sizes: list[int], note: str, **extra: object) -> dict:
    return {
        "statistic": None,
        "df": None,
        "p_value": None,
        "n": n,
        "n_by_group": sizes,
        "method": method,
        **extra,
        "note": note,
    }


def levene_mean(groups: Sequence[np.ndarray]) -> dict:
    """Levene's test with mean centring (SPSS's "Levene's Test").

    One-way ANOVA on ``|x - group mean|``: ``scipy.stats.levene(...,
    center="mean")`` (scipy's default centre, the median, is the
    Brown-Forsythe test, not what SPSS prints).

    Returns
    -------
    dict
        ``statistic`` (F), ``df`` [k - 1, N - k], ``p_value``, ``n``,
        ``method="levene_mean"``, ``note``. Missing values dropped.
    """
    cleaned, sizes, note = _clean_groups(groups)
    n = int(sum(sizes))
    k = len(cleaned)
    if k < 2 or n - k < 1:
        return _empty("levene_mean", n, sizes, _join(note, "needs >= 2 groups and N > k"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.levene(*cleaned, center="mean")
    f, p = _f(res.statistic), _f(res.pvalue)
    if f is None or p is None:
        note = _join(note, "no within-group spread of |x - mean| (all deviations equal)")
    return {
        "statistic": f,
        "df": [k - 1, n - k],
        "p_value": p if f is not None else None,
        "n": n,
        "n_by_group": sizes,
        "method": "levene_mean",
        "note": note,
    }


def _t_row(x: np.ndarray, y: np.ndarray, va: float, vb: float, equal_var: bool) -> dict | None:
    """One line of SPSS's "Independent Samples Test" table (None where it is undefined)."""
    na, nb = int(x.size), int(y.size)
    if equal_var and (na < 1 or nb < 1 or na + nb < 3):
        return None
    if not equal_var and (na < 2 or nb < 2):
        return None
    if va == 0.0 and vb == 0.0:
        return None
    res = stats.ttest_ind(x, y, equal_var=equal_var)
    ci = res.confidence_interval(_CONF)
    if equal_var:
        sp2 = ((na - 1) * va + (nb - 1) * vb) / (na + nb - 2)
        se = float(np.sqrt(sp2 * (1.0 / na + 1.0 / nb)))
    else:
        se = float(np.sqrt(va / na + vb / nb))
    return {
        "statistic": _f(res.statistic),
        "df": float(res.df),
        "p_value": _f(res.pvalue),
        "mean_diff": float(x.mean() - y.mean()),
        "se_diff": se,
        "ci_low": _f(ci.low),
        "ci_high": _f(ci.high),
    }


def _two_sample(a: np.ndarray, b: np.ndarray, equal_var: bool) -> dict:
    """Student or Welch t as the test, with both lines and Levene's test beside it,
    as SPSS T-TEST prints them whichever line the analysis reports."""
    method = "student_t" if equal_var else "welch_t"
    x, y = _finite(a, "a"), _finite(b, "b")
    na, nb = int(x.size), int(y.size)
    sizes = [na, nb]
    n = na + nb
    extra: dict = {
        "mean_diff": None,
        "se_diff": None,
        "ci_low": None,
        "ci_high": None,
        "conf_level": _CONF,
        "levene": None,
        "equal_variances_assumed": None,
        "equal_variances_not_assumed": None,
    }
    if equal_var and (na < 1 or nb < 1 or n < 3):
        return _empty(method, n, sizes, "needs >= 1 value per group and N >= 3", **extra)
    if not equal_var and (na < 2 or nb < 2):
        return _empty(method, n, sizes, "Welch t needs >= 2 values per group", **extra)
    va = float(x.var(ddof=1)) if na > 1 else 0.0
    vb = float(y.var(ddof=1)) if nb > 1 else 0.0
    extra["mean_diff"] = float(x.mean() - y.mean())
    lev = levene_mean([x, y])
    extra["levene"] = {k: lev[k] for k in ("statistic", "df", "p_value")}
    assumed = _t_row(x, y, va, vb, equal_var=True)
    not_assumed = _t_row(x, y, va, vb, equal_var=False)
    extra.update(equal_variances_assumed=assumed, equal_variances_not_assumed=not_assumed)
    row = assumed if equal_var else not_assumed
    if row is None:
        return _empty(method, n, sizes, "both groups have zero variance", **extra)
    extra.update(se_diff=row["se_diff"], ci_low=row["ci_low"], ci_high=row["ci_high"])
    return {
        "statistic": row["statistic"],
        "df": row["df"],
        "p_value": row["p_value"],
        "n": n,
        "n_by_group": sizes,
        "method": method,
        **extra,
        "note": None,
    }


def student_t(a: np.ndarray, b: np.ndarray) -> dict:
    """Independent-samples Student t test, pooled variance (SPSS "Equal
    variances assumed").

    Parameters
    ----------
    a, b : array_like, 1-D
        The two groups; missing values are dropped per group.

    Returns
    -------
    dict
        ``statistic`` (t), ``df`` (n_a + n_b - 2, float), ``p_value``
        (two-sided), ``n``, ``n_by_group`` [n_a, n_b], ``method="student_t"``,
        ``mean_diff`` (mean_a - mean_b), ``se_diff``, ``ci_low``/``ci_high``
        (95 % CI of ``mean_diff``), ``conf_level``, ``levene``
        ``{statistic, df, p_value}`` (mean-centred, as SPSS), ``note``, and
        both lines of SPSS's "Independent Samples Test" table,
        ``equal_variances_assumed`` and ``equal_variances_not_assumed``, each
        ``{statistic, df, p_value, mean_diff, se_diff, ci_low, ci_high}`` or
        ``None`` where undefined (the Welch line needs >= 2 values per group).

    Notes
    -----
    ``scipy.stats.ttest_ind(a, b, equal_var=True)``. If both groups have zero
    variance the test is undefined: statistic/p are ``None`` and ``note``
    says so.
    """
    return _two_sample(a, b, equal_var=True)


def welch_t(a: np.ndarray, b: np.ndarray) -> dict:
    """Welch's unequal-variance t test (SPSS "Equal variances not assumed").

    Returns
    -------
    dict
        As :func:`student_t` (with Levene's test and both lines); ``df`` is
        the Welch-Satterthwaite value
        ``(va/na + vb/nb)^2 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1))``.

    Notes
    -----
    ``scipy.stats.ttest_ind(a, b, equal_var=False)``; needs >= 2 values per
    group. Missing values are dropped per group.
    """
    return _two_sample(a, b, equal_var=False)


def one_way_anova(groups: Sequence[np.ndarray]) -> dict:
    """Classic one-way ANOVA F test (SPSS ONEWAY).

    Parameters
    ----------
    groups : sequence of array_like
        One 1-D array per group; missing values are dropped, groups left
        empty are dropped (``note``).

    Returns
    -------
    dict
        ``statistic`` (F), ``df`` [k - 1, N - k] (ints), ``p_value``, ``n``,
        ``n_by_group`` (as given, before dropping empty groups),
        ``method="anova"``, ``levene`` ``{statistic, df, p_value}``
        (mean-centred), ``sum_of_squares`` ``{between, within, total}`` and
        ``mean_square`` ``{between, within}`` (SPSS's ANOVA table), ``note``.

    Notes
    -----
    ``scipy.stats.f_oneway``. F = MS_between / MS_within. Undefined (``None``)
    when every group has zero variance. scipy returns F and p only, so the
    sums of squares are computed here from the group means (one pass per
    group, which the within-group sum needs anyway):
    SS_between = sum n_i (mean_i - mean)², SS_within = sum (x - mean_i)².
    """
    cleaned, sizes, note = _clean_groups(groups)
    n = int(sum(sizes))
    k = len(cleaned)
    table = {"sum_of_squares": None, "mean_square": None}
    if k < 2 or n - k < 1:
        return _empty(
            "anova", n, sizes, _join(note, "needs >= 2 non-empty groups and N > k"),
            levene=None, **table,
        )  # fmt: skip
    lev = levene_mean(cleaned)
    levene = {key: lev[key] for key in ("statistic", "df", "p_value")}
    means = [float(g.mean()) for g in cleaned]
    within = float(sum(float(((g - m) ** 2).sum()) for g, m in zip(cleaned, means, strict=True)))
    grand = sum(g.size * m for g, m in zip(cleaned, means, strict=True)) / n
    between = float(sum(g.size * (m - grand) ** 2 for g, m in zip(cleaned, means, strict=True)))
    table = {
        "sum_of_squares": {"between": between, "within": within, "total": between + within},
        "mean_square": {"between": between / (k - 1), "within": within / (n - k)},
    }
    if within == 0.0:
        return _empty(
            "anova", n, sizes, _join(note, "zero within-group variance"), levene=levene, **table
        )
    res = stats.f_oneway(*cleaned)
    return {
        "statistic": _f(res.statistic),
        "df": [k - 1, n - k],
        "p_value": _f(res.pvalue),
        "n": n,
        "n_by_group": sizes,
        "method": "anova",
        "levene": levene,
        **table,
        "note": note,
    }


def welch_anova(groups: Sequence[np.ndarray]) -> dict:
    """Welch's heteroscedastic one-way ANOVA (SPSS ONEWAY /STATISTICS WELCH).

    Returns
    -------
    dict
        ``statistic`` (Welch F), ``df`` [k - 1, Welch denominator df (float)],
        ``p_value``, ``n``, ``n_by_group``, ``method="welch_anova"``,
        ``levene`` ``{statistic, df, p_value}`` (SPSS ONEWAY prints it beside
        the robust test with /STATISTICS HOMOGENEITY WELCH), ``note``.

    Notes
    -----
    ``statsmodels.stats.oneway.anova_oneway(groups, use_var="unequal",
    welch_correction=True)`` (Welch 1951; R ``oneway.test(var.equal=FALSE)``).
    Needs >= 2 values and non-zero variance in every group. Missing values are
    dropped; empty groups are dropped (``note``).
    """
    cleaned, sizes, note = _clean_groups(groups)
    n = int(sum(sizes))
    k = len(cleaned)
    if k < 2:
        return _empty("welch_anova", n, sizes, _join(note, "needs >= 2 non-empty groups"),
                      levene=None)  # fmt: skip
    lev = levene_mean(cleaned)
    levene = {key: lev[key] for key in ("statistic", "df", "p_value")}
    if any(g.size < 2 for g in cleaned):
        return _empty(
            "welch_anova", n, sizes, _join(note, "Welch ANOVA needs >= 2 values per group"),
            levene=levene,
        )  # fmt: skip
    if any(float(g.var(ddof=1)) == 0.0 for g in cleaned):
        return _empty("welch_anova", n, sizes, _join(note, "a group has zero variance"),
                      levene=levene)  # fmt: skip
    res = anova_oneway(cleaned, use_var="unequal", welch_correction=True)
    return {
        "statistic": _f(res.statistic),
        "df": [float(res.df_num), float(res.df_denom)],
        "p_value": _f(res.pvalue),
        "n": n,
        "n_by_group": sizes,
        "method": "welch_anova",
        "levene": levene,
        "note": note,
    }
