"""The mathematics of pooling a multi-site study from aggregates alone.

Each site sends numbers that summarise its patients (counts, sums, sums of squared
deviations, rank sums, score vectors); no function here ever needs a patient row from
another site. Site-side functions take the site's own values and return those aggregates;
coordinator-side functions take the aggregates of every site and return the pooled test.

Everything returned is plain Python (``float``, ``int``, ``None``, lists and dicts), so it
goes into JSON unchanged, and every function is deterministic.

Library routines are used wherever one does the job (scipy.stats, statsmodels); what is
written by hand says why next to it.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps
from statsmodels.discrete.discrete_model import Logit
from statsmodels.regression.linear_model import WLS
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.oneway import anova_generic
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

__all__ = [
    "Moments",
    "ScoreContribution",
    "cmh",
    "combine_moments",
    "fit_distributed",
    "mean_sd",
    "meta_analysis",
    "moments",
    "naive_chi_square",
    "newton_update",
    "one_way_anova",
    "rank_stratum",
    "site_adjusted_anova",
    "site_contribution",
    "stratified_rank_test",
    "student_t",
    "van_elteren",
    "wald_interval",
    "welch_t",
]

_Z975 = float(sps.norm.ppf(0.975))


def _float(x: Any) -> float | None:
    """A plain float, or None for a missing / non-finite value (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _chi2_p(statistic: float | None, df: int) -> float | None:
    return None if statistic is None else float(sps.chi2.sf(statistic, df))


# ------------------------------------------------------------------ 1. exact moments


@dataclass(frozen=True)
class Moments:
    """What a site sends for one group of a continuous variable.

    ``ss`` is the sum of squared deviations about the group's *own* mean, not the raw
    sum of squares: the raw form loses every digit when the mean is large relative to
    the SD (sum x^2 - (sum x)^2 / n cancels catastrophically).
    """

    n: int
    total: float
    ss: float


def moments(values: Iterable[float]) -> Moments:
    """Site side: n, sum and sum of squared deviations of the non-missing values."""
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Moments(0, 0.0, 0.0)
    total = math.fsum(x)
    mean = total / x.size
    return Moments(int(x.size), float(total), float(np.sum((x - mean) ** 2)))


def _combine_two(a: Moments, b: Moments) -> Moments:
    # No library combines (n, sum, ss) summaries; this is the exact pairwise update of
    # Chan, Golub & LeVeque (1979): ss = ss_a + ss_b + delta^2 * n_a * n_b / n.
    if a.n == 0:
        return b
    if b.n == 0:
        return a
    n = a.n + b.n
    delta = b.total / b.n - a.total / a.n
    return Moments(n, a.total + b.total, a.ss + b.ss + delta * delta * a.n * b.n / n)


def combine_moments(parts: Iterable[Moments]) -> Moments:
    """Coordinator side: the moments of the union of the sites' groups, exactly."""
    out = Moments(0, 0.0, 0.0)
    for part in parts:
        out = _combine_two(out, part)
    return Moments(int(out.n), float(out.total), float(out.ss))


def mean_sd(m: Moments) -> tuple[float | None, float | None]:
    """Mean and SD (n - 1 denominator, as SPSS); the SD is None below two values."""
    if m.n == 0:
        return None, None
    mean = m.total / m.n
    sd = math.sqrt(m.ss / (m.n - 1)) if m.n >= 2 else None
    return float(mean), sd


def _mean_var(m: Moments) -> tuple[float, float]:
    """Mean and n - 1 variance, with 0 for a single value (it adds nothing to ss)."""
    return m.total / m.n, (m.ss / (m.n - 1) if m.n >= 2 else 0.0)


def _two_sample(a: Moments, b: Moments, equal_var: bool) -> dict[str, Any]:
    (ma, va), (mb, vb) = _mean_var(a), _mean_var(b)
    res = sps.ttest_ind_from_stats(
        ma, math.sqrt(va), a.n, mb, math.sqrt(vb), b.n, equal_var=equal_var
    )
    if equal_var:
        df = a.n + b.n - 2
        se = math.sqrt((a.ss + b.ss) / df * (1 / a.n + 1 / b.n))
    else:
        qa, qb = va / a.n, vb / b.n
        se = math.sqrt(qa + qb)
        # Welch-Satterthwaite df: scipy computes it internally but does not return it.
        df = (qa + qb) ** 2 / (qa**2 / (a.n - 1) + qb**2 / (b.n - 1))
    diff = ma - mb
    half = float(sps.t.ppf(0.975, df)) * se
    return {
        "statistic": _float(res.statistic),
        "df": float(df),
        "pvalue": _float(res.pvalue),
        "mean_diff": float(diff),
        "se_diff": float(se),
        "ci_low": float(diff - half),
        "ci_high": float(diff + half),
    }


def student_t(a: Moments, b: Moments) -> dict[str, Any]:
    """Pooled-variance Student t (SPSS "equal variances assumed"), first minus second."""
    return _two_sample(a, b, equal_var=True)


def welch_t(a: Moments, b: Moments) -> dict[str, Any]:
    """Welch t (SPSS "equal variances not assumed"), first minus second."""
    return _two_sample(a, b, equal_var=False)


def one_way_anova(groups: Sequence[Moments]) -> dict[str, Any]:
    """Classic one-way ANOVA F from each group's moments (SPSS ONEWAY)."""
    mv = [_mean_var(g) for g in groups]
    res = anova_generic(
        np.array([m for m, _ in mv]),
        np.array([v for _, v in mv]),
        np.array([g.n for g in groups], dtype=float),
        use_var="equal",
    )
    return {
        "statistic": _float(res.statistic),
        "df_between": round(float(res.df_num)),
        "df_within": round(float(res.df_denom)),
        "pvalue": _float(res.pvalue),
    }


def _cell_fit_ssr(means: np.ndarray, weights: np.ndarray, design: np.ndarray) -> tuple[float, int]:
    """Weighted residual SS of the cell means and the rank of the design."""
    with warnings.catch_warnings():
        # A group absent from every site but one can make the design rank-deficient;
        # the pseudo-inverse fit is still the least-squares one, and the rank is counted.
        warnings.simplefilter("ignore", SingularMatrixWarning)
        fit = WLS(means, design, weights=weights).fit()
    return float(fit.ssr), int(np.linalg.matrix_rank(design))


def site_adjusted_anova(cells: Sequence[Sequence[Moments | None]]) -> dict[str, Any] | None:
    """The groups compared within sites: F test of group in the additive two-way ANOVA
    ``value ~ site + group`` (site as a block, no interaction; Type II sum of squares),
    from each site-by-group cell's n, sum and sum of squared deviations.

    ``cells[s][g]`` are site s's moments of group g (None or n = 0: nobody). No library
    fits a linear model from cell summaries, so it is built here from one fact: any model
    that is constant within cells has residual SS = the within-cell SS plus the
    n-weighted residual SS of the cell means about its fit, and that weighted fit is a
    WLS on the cell means (statsmodels). The F and its dfs equal the ordinary least
    squares ANOVA on the concatenated rows (checked against statsmodels' anova_lm).
    None when the design leaves no group contrast within sites or no residual df.
    """
    site_idx, group_idx, means, weights = [], [], [], []
    within, n_total = 0.0, 0
    for s, line in enumerate(cells):
        for g, m in enumerate(line):
            if m is None or m.n == 0:
                continue
            site_idx.append(s)
            group_idx.append(g)
            means.append(m.total / m.n)
            weights.append(float(m.n))
            within += m.ss
            n_total += m.n
    if not means:
        return None
    n_sites, n_groups = len(cells), max(len(line) for line in cells)
    site_cols = np.eye(n_sites)[site_idx]
    group_cols = np.eye(n_groups)[group_idx][:, 1:]
    y, w = np.asarray(means), np.asarray(weights)
    ssr_site, rank_site = _cell_fit_ssr(y, w, site_cols)
    ssr_both, rank_both = _cell_fit_ssr(y, w, np.hstack([site_cols, group_cols]))
    df_group, df_resid = rank_both - rank_site, n_total - rank_both
    residual = within + ssr_both
    if df_group == 0 or df_resid <= 0 or residual <= 0:
        return None
    group_ss = max(ssr_site - ssr_both, 0.0)  # rounding can leave -1e-16
    statistic = (group_ss / df_group) / (residual / df_resid)
    return {
        "statistic": _float(statistic),
        "df_between": df_group,
        "df_within": df_resid,
        "pvalue": _float(sps.f.sf(statistic, df_group, df_resid)),
    }


# ------------------------------------------------------------------ 2. categorical rows


def _as_tables(tables: Sequence[Any]) -> np.ndarray:
    """The strata as one K x R x C float array (rows = levels, columns = groups)."""
    arr = np.asarray([np.asarray(t, dtype=float) for t in tables], dtype=float)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError("expected one or more R x C tables of the same shape")
    return arr


def _drop_empty(arr: np.ndarray) -> tuple[np.ndarray, list[int], list[int]]:
    """Drop rows / columns that are zero in the summed table (a level nobody had, a
    group with nobody): they carry no information and make the covariance singular."""
    total = arr.sum(axis=0)
    rows = [i for i in range(total.shape[0]) if total[i].sum() > 0]
    cols = [j for j in range(total.shape[1]) if total[:, j].sum() > 0]
    dropped_rows = [i for i in range(total.shape[0]) if i not in rows]
    dropped_cols = [j for j in range(total.shape[1]) if j not in cols]
    return arr[:, rows][:, :, cols], dropped_rows, dropped_cols


def _dropped_note(dropped_rows: list[int], dropped_cols: list[int]) -> list[str]:
    notes = []
    if dropped_rows:
        notes.append(f"row(s) {dropped_rows} (0-based) empty in every site: dropped")
    if dropped_cols:
        notes.append(f"column(s) {dropped_cols} (0-based) empty in every site: dropped")
    return notes


def naive_chi_square(tables: Sequence[Any]) -> dict[str, Any]:
    """Pearson chi-square (no continuity correction) on the table summed over sites.

    It ignores the sites, so it is shown beside the stratified test, not instead of it.
    """
    arr, dropped_rows, dropped_cols = _drop_empty(_as_tables(tables))
    notes = _dropped_note(dropped_rows, dropped_cols)
    total = arr.sum(axis=0)
    if min(total.shape) < 2:
        return {
            "statistic": None,
            "df": None,
            "pvalue": None,
            "dropped_rows": dropped_rows,
            "dropped_cols": dropped_cols,
            "note": "; ".join([*notes, "fewer than two non-empty rows or columns"]),
        }
    res = sps.chi2_contingency(total, correction=False)
    expected = np.asarray(res.expected_freq)
    return {
        "statistic": float(res.statistic),
        "df": int(res.dof),
        "pvalue": float(res.pvalue),
        "min_expected": float(expected.min()),
        "cells_expected_below_5": int((expected < 5).sum()),
        "cells": int(expected.size),
        "dropped_rows": dropped_rows,
        "dropped_cols": dropped_cols,
        "note": "; ".join(notes) or None,
    }


def _informative(t: np.ndarray) -> bool:
    """A stratum with at least two non-empty rows and two non-empty columns; any other
    stratum has zero null variance and adds exactly nothing to a CMH statistic."""
    return bool((t.sum(axis=1) > 0).sum() >= 2 and (t.sum(axis=0) > 0).sum() >= 2)


def _cmh_2x2(strata: np.ndarray) -> dict[str, Any]:
    """CMH, Mantel-Haenszel common OR and Breslow-Day, all by statsmodels.

    Only strata without a zero margin are passed: the others add nothing to the CMH
    statistic or the MH odds ratio, and statsmodels' Breslow-Day divides by zero on them.
    """
    st = StratifiedTable([t for t in strata])
    null = st.test_null_odds(correction=False)
    low, high = st.oddsratio_pooled_confint(alpha=0.05)
    breslow_day = None
    if len(strata) >= 2:
        bd = st.test_equal_odds(adjust=False)
        breslow_day = {
            "statistic": _float(bd.statistic),
            "df": len(strata) - 1,
            "pvalue": _float(bd.pvalue),
        }
    return {
        "method": "mantel_haenszel_2x2",
        "statistic": _float(null.statistic),
        "df": 1,
        "pvalue": _float(null.pvalue),
        "common_odds_ratio": _float(st.oddsratio_pooled),
        "or_ci_low": _float(low),
        "or_ci_high": _float(high),
        "breslow_day": breslow_day,
    }


def _cmh_general(strata: np.ndarray) -> dict[str, Any]:
    """Generalized CMH "general association" statistic for R x C strata.

    Written by hand because neither scipy nor statsmodels has it (statsmodels'
    StratifiedTable is 2 x 2 only). Landis, Heyman & Koch (1978); the same computation as
    R's mantelhaen.test for an I x J x K table: with n the first (R-1)(C-1) cells of a
    stratum, m their expectations row x col / N and
    V = [(N diag(r) - r r') kron (N diag(c) - c c')] / (N^2 (N - 1)) (r, c the first R-1
    row and C-1 column totals), the statistic is (sum n - m)' (sum V)^-1 (sum n - m) on
    (R-1)(C-1) df.
    """
    n_rows, n_cols = strata.shape[1:]
    size = (n_rows - 1) * (n_cols - 1)
    dev, cov = np.zeros(size), np.zeros((size, size))
    for t in strata:
        total = t.sum()
        r, c = t.sum(axis=1)[:-1], t.sum(axis=0)[:-1]
        dev += (t[:-1, :-1] - np.outer(r, c) / total).ravel()
        cov += np.kron(total * np.diag(r) - np.outer(r, r), total * np.diag(c) - np.outer(c, c)) / (
            total**2 * (total - 1)
        )
    rank = int(np.linalg.matrix_rank(cov))
    note = "Breslow-Day is for 2 x 2 strata only: not applicable"
    if rank == 0:
        return {
            "method": "generalized_cmh",
            "statistic": None,
            "df": None,
            "pvalue": None,
            "breslow_day": None,
            "note": note,
        }
    if rank < size:  # a singular covariance: the generalised inverse, on its rank's df
        statistic = float(dev @ np.linalg.pinv(cov) @ dev)
        note += f"; covariance singular, generalised inverse used (df = rank {rank})"
    else:
        statistic = float(dev @ np.linalg.solve(cov, dev))
    return {
        "method": "generalized_cmh",
        "statistic": statistic,
        "df": rank,
        "pvalue": _chi2_p(statistic, rank),
        "breslow_day": None,
        "note": note,
    }


def cmh(tables: Sequence[Any]) -> dict[str, Any]:
    """Cochran-Mantel-Haenszel test of no association, stratified by site.

    2 x 2 strata: the MH test (no continuity correction), the MH common odds ratio with
    its Robins-Breslow-Greenland 95% CI (odds of the first row in the first column over
    those in the second column) and the Breslow-Day test of homogeneous odds ratios.
    R x C strata: the generalized CMH general-association statistic on (R-1)(C-1) df.
    Strata with no information (one non-empty row or column) contribute nothing.
    """
    arr, dropped_rows, dropped_cols = _drop_empty(_as_tables(tables))
    notes = _dropped_note(dropped_rows, dropped_cols)
    keep = [t for t in arr if t.sum() >= 2 and _informative(t)]
    head = {
        "strata": len(arr),
        "strata_used": len(keep),
        "dropped_rows": dropped_rows,
        "dropped_cols": dropped_cols,
    }
    if len(arr) - len(keep):
        notes.append(
            f"{len(arr) - len(keep)} site(s) with a zero margin (one non-empty row or "
            "column): no information, contribute nothing"
        )
    if min(arr.shape[1:]) < 2 or not keep:
        notes.append("nothing to test: fewer than two non-empty rows or columns")
        return {
            "method": None,
            "statistic": None,
            "df": None,
            "pvalue": None,
            "breslow_day": None,
            **head,
            "note": "; ".join(notes),
        }
    strata = np.asarray(keep)
    if strata.shape[1:] == (2, 2):
        out = _cmh_2x2(strata)
        if out["breslow_day"] is None:
            notes.append("Breslow-Day needs two or more informative sites")
    else:
        out = _cmh_general(strata)
        notes.append(out.pop("note"))
    return {**out, **head, "note": "; ".join(notes) or None}


# ------------------------------------------------------------------ 3. rank-based rows


def rank_stratum(groups: Sequence[Any]) -> dict[str, Any]:
    """Site side: the site's rank aggregates for a stratified rank test.

    Midranks within the site; per group n and rank sum; the tie term sum(t^3 - t) over
    tied sets (a float: it is not a count of patients). Nothing else leaves the site.
    """
    arrays = [np.asarray(g, dtype=float) for g in groups]
    arrays = [a[~np.isnan(a)] for a in arrays]
    pooled = np.concatenate(arrays) if arrays else np.array([])
    ranks = sps.rankdata(pooled) if pooled.size else pooled
    bounds = np.cumsum([0, *(a.size for a in arrays)])
    _, ties = np.unique(pooled, return_counts=True)
    ties = ties.astype(float)
    return {
        "N": int(pooled.size),
        "n": [int(a.size) for a in arrays],
        "rank_sum": [float(ranks[lo:hi].sum()) for lo, hi in itertools.pairwise(bounds)],
        "tie_term": float(np.sum(ties**3 - ties)),
    }


def _weighted_rank_deviation(
    strata: Sequence[Mapping[str, Any]],
) -> tuple[np.ndarray, np.ndarray, int]:
    """Sum over sites of w_k (R_k - E R_k) and of w_k^2 Cov(R_k), w_k = 1 / (N_k + 1).

    Written by hand: no library works from rank sums. Under the null, a site's vector of
    rank sums is a draw without replacement of its midranks, so
    E R_i = n_i (N + 1) / 2 and Cov(R) = s (N diag(n) - n n') with
    s = [(N^3 - N) - sum(t^3 - t)] / (12 N (N - 1)) (the tie-corrected variance of the
    midranks, n - 1 denominator). Weighting by 1 / (N_k + 1) turns ranks into modified
    ridit scores (van Elteren 1960; SAS PROC FREQ CMH SCORES=MODRIDIT).
    """
    g = len(strata[0]["n"])
    dev, cov, used = np.zeros(g), np.zeros((g, g)), 0
    for s in strata:
        n = np.asarray(s["n"], dtype=float)
        if n.size != g:
            raise ValueError("every site must give rank sums for the same groups")
        big_n = float(s["N"])
        if big_n < 2 or (n > 0).sum() < 2:
            continue  # a site with one group (or one patient) says nothing about differences
        w = 1.0 / (big_n + 1.0)
        spread = ((big_n**3 - big_n) - float(s["tie_term"])) / (12.0 * big_n * (big_n - 1.0))
        dev += w * (np.asarray(s["rank_sum"], dtype=float) - n * (big_n + 1.0) / 2.0)
        cov += w * w * spread * (big_n * np.diag(n) - np.outer(n, n))
        used += 1
    return dev, cov, used


def _present_groups(strata: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The strata without the groups that are empty at every site (their rank sums are 0
    and they take no part in any site's ranking)."""
    total = np.sum([np.asarray(s["n"], dtype=float) for s in strata], axis=0)
    keep = [i for i, n in enumerate(total) if n > 0]
    return [
        {**s, "n": [s["n"][i] for i in keep], "rank_sum": [s["rank_sum"][i] for i in keep]}
        for s in strata
    ]


def van_elteren(strata: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Van Elteren's (1960) stratified Wilcoxon test for two groups, weights 1/(N_k + 1).

    Z compares the first group with the second (negative: the first tends lower), with
    the tie-corrected null variance; two-sided normal p. A group empty at every site
    (a third study group nobody is in) is left out.
    """
    strata = _present_groups(strata)
    if any(len(s["n"]) != 2 for s in strata):
        raise ValueError("van Elteren's test compares exactly two groups")
    dev, cov, used = _weighted_rank_deviation(strata)
    if cov[0, 0] <= 0:
        return {
            "statistic": None,
            "z": None,
            "chi_square": None,
            "df": 1,
            "pvalue": None,
            "strata_used": used,
            "weights": "1/(N_k+1)",
            "note": "no site has both groups with a spread of values",
        }
    z = float(dev[0] / math.sqrt(cov[0, 0]))
    return {
        "statistic": z,
        "z": z,
        "chi_square": z * z,
        "df": 1,
        "pvalue": float(2.0 * sps.norm.sf(abs(z))),
        "strata_used": used,
        "weights": "1/(N_k+1)",
        "note": None,
    }


def stratified_rank_test(strata: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The van Elteren test for g >= 2 groups: chi-square on g - 1 df.

    The weighted rank-sum deviations of the groups, against their null covariance: the
    CMH "row mean scores differ" statistic with modified ridit scores. With two groups it
    is van Elteren's Z squared; with one site, the tie-corrected Kruskal-Wallis H.
    """
    dev, cov, used = _weighted_rank_deviation(strata)
    total_n = np.sum([np.asarray(s["n"], dtype=float) for s in strata], axis=0)
    present = [i for i, n in enumerate(total_n) if n > 0]
    notes = []
    if len(present) < len(total_n):
        notes.append(
            f"group(s) {[i for i in range(len(total_n)) if i not in present]} "
            "(0-based) empty at every site: left out"
        )
    # The g deviations sum to zero, so one group (the last present) is left out.
    keep = present[:-1]
    sub_dev, sub_cov = dev[keep], cov[np.ix_(keep, keep)]
    rank = int(np.linalg.matrix_rank(sub_cov)) if keep else 0
    if rank == 0:
        notes.append("nothing to test: no site has two groups with a spread of values")
        return {
            "statistic": None,
            "df": None,
            "pvalue": None,
            "strata_used": used,
            "weights": "1/(N_k+1)",
            "note": "; ".join(notes),
        }
    if rank < len(keep):
        statistic = float(sub_dev @ np.linalg.pinv(sub_cov) @ sub_dev)
        notes.append(f"covariance singular, generalised inverse used (df = rank {rank})")
    else:
        statistic = float(sub_dev @ np.linalg.solve(sub_cov, sub_dev))
    return {
        "statistic": statistic,
        "df": rank,
        "pvalue": _chi2_p(statistic, rank),
        "strata_used": used,
        "weights": "1/(N_k+1)",
        "note": "; ".join(notes) or None,
    }


# ------------------------------------------------------------------ 4. meta-analysis


def wald_interval(estimate: float, se: float) -> tuple[float, float]:
    """The 95 % Wald interval on the scale of ``estimate`` (log odds ratios here)."""
    return float(estimate - _Z975 * se), float(estimate + _Z975 * se)


def _summary(estimate: float, se: float) -> dict[str, float]:
    z = estimate / se
    low, high = wald_interval(estimate, se)
    return {
        "estimate": float(estimate),
        "se": float(se),
        "ci_low": low,
        "ci_high": high,
        "z": float(z),
        "pvalue": float(2.0 * sps.norm.sf(abs(z))),
    }


def _percent(weights: np.ndarray, labels: list[str]) -> dict[str, float]:
    w = np.asarray(weights, dtype=float)
    return {label: float(100.0 * v / w.sum()) for label, v in zip(labels, w, strict=True)}


def meta_analysis(
    estimates: Sequence[float], variances: Sequence[float], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """Inverse-variance fixed effect and DerSimonian-Laird random effects of site estimates.

    Wald 95% CIs (normal quantile, as metafor's default). The 95% prediction interval for
    a new site is Higgins, Thompson & Spiegelhalter (2009):
    est_RE +- t(k - 2, 0.975) sqrt(tau^2 + se_RE^2), so it is None below three sites.
    ``i2`` is a fraction (0-1); weights are percentages by label.
    """
    eff = np.asarray(estimates, dtype=float)
    var = np.asarray(variances, dtype=float)
    k = int(eff.size)
    names = [str(x) for x in (labels if labels is not None else range(1, k + 1))]
    if k < 2 or var.size != k or len(names) != k:
        raise ValueError("meta-analysis needs two or more estimates, each with a variance")
    with np.errstate(invalid="ignore"):  # sqrt of a negative variance: handled below
        res = combine_effects(eff, var, method_re="dl", row_names=names)
    notes = []
    q, df = float(res.q), k - 1
    # statsmodels 0.15 does not truncate the DL moment estimate at zero: with Q < k - 1 it
    # returns a negative tau^2 (and negative weights, a negative I^2). DerSimonian & Laird
    # (1986) and metafor set tau^2 = max(0, .); then the random-effects model is the fixed one.
    if res.tau2 > 0:
        tau2 = float(res.tau2)
        random = _summary(res.mean_effect_re, res.sd_eff_w_re)
        w_random = res.weights_re
    else:
        tau2 = 0.0
        random = _summary(res.mean_effect_fe, res.sd_eff_w_fe)
        w_random = res.weights_fe
        notes.append("Q <= k - 1: tau-squared truncated at 0, random effects = fixed effect")
    prediction = None
    if k >= 3:
        half = float(sps.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + random["se"] ** 2)
        prediction = {
            "low": random["estimate"] - half,
            "high": random["estimate"] + half,
            "distribution": "t",
            "df": k - 2,
        }
    else:
        notes.append("prediction interval needs three or more sites (t on k - 2 df)")
    return {
        "k": k,
        "method": "DerSimonian-Laird",
        "fixed": _summary(res.mean_effect_fe, res.sd_eff_w_fe),
        "random": random,
        "q": q,
        "q_df": df,
        "q_pvalue": float(sps.chi2.sf(q, df)),
        "i2": max(0.0, (q - df) / q) if q > 0 else 0.0,
        "tau2": tau2,
        "tau": math.sqrt(tau2),
        "prediction_interval": prediction,
        "weights_fixed_pct": _percent(res.weights_fe, names),
        "weights_random_pct": _percent(w_random, names),
        "notes": notes,
    }


# ------------------------------------------------------------------ 5. distributed logistic


@dataclass(frozen=True)
class ScoreContribution:
    """What a site sends in one Newton-Raphson round: its size, the score vector, the
    information matrix and log-likelihood at the coordinator's current estimates. Its
    size depends on the number of parameters only, never on the number of patients."""

    n: int
    score: tuple[float, ...]
    information: tuple[tuple[float, ...], ...]
    loglik: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": int(self.n),
            "score": [float(v) for v in self.score],
            "information": [[float(v) for v in line] for line in self.information],
            "loglik": float(self.loglik),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScoreContribution:
        """From ``to_dict``'s form; other keys (e.g. the term names) are ignored."""
        return cls(
            n=int(d["n"]),
            score=tuple(float(v) for v in d["score"]),
            information=tuple(tuple(float(v) for v in line) for line in d["information"]),
            loglik=float(d["loglik"]),
        )


def site_contribution(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> ScoreContribution:
    """Site side: the logistic log-likelihood's score, information (minus the Hessian)
    and value at ``beta`` on the site's own rows (statsmodels' Logit)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    beta = np.asarray(beta, dtype=float)
    model = Logit(y, X)
    info = -np.asarray(model.hessian(beta))
    return ScoreContribution(
        n=int(y.size),
        score=tuple(float(v) for v in model.score(beta)),
        information=tuple(tuple(float(v) for v in line) for line in info),
        loglik=float(model.loglike(beta)),
    )


def _summed(contributions: Sequence[ScoreContribution]) -> tuple[np.ndarray, np.ndarray]:
    score = np.sum([np.asarray(c.score, dtype=float) for c in contributions], axis=0)
    info = np.sum([np.asarray(c.information, dtype=float) for c in contributions], axis=0)
    return score, info


def newton_update(
    beta: np.ndarray, contributions: Sequence[ScoreContribution]
) -> tuple[np.ndarray, float]:
    """Coordinator side: one Newton-Raphson step on the summed score and information
    (the log-likelihood of all patients is the sum of the sites')."""
    score, info = _summed(contributions)
    step = np.linalg.solve(info, score)
    return np.asarray(beta, dtype=float) + step, float(np.max(np.abs(step)))


def fit_distributed(
    sites: Sequence[Callable[[np.ndarray], ScoreContribution]],
    n_params: int,
    start: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> dict[str, Any]:
    """Logistic regression on all sites' patients, exactly, by rounds of score exchange.

    ``sites`` are callables (one per site) returning that site's contribution at the
    given estimates. Standard errors come from the inverse of the summed information at
    the final estimates, as a single-centre fit's do.
    """
    beta = np.zeros(n_params) if start is None else np.asarray(start, dtype=float)
    converged, iterations = False, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        beta, step = newton_update(beta, [site(beta) for site in sites])
        if step < tol:
            converged = True
            break
    final = [site(beta) for site in sites]
    _, info = _summed(final)
    cov = np.linalg.inv(info)
    return {
        "params": [float(v) for v in beta],
        "bse": [float(v) for v in np.sqrt(np.diag(cov))],
        "cov": [[float(v) for v in line] for line in cov],
        "loglik": float(sum(c.loglik for c in final)),
        "n": int(sum(c.n for c in final)),
        "iterations": iterations,
        "converged": converged,
    }
