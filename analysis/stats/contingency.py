"""Contingency-table tests (SPSS CROSSTABS parity).

* ``table_from_codes`` -- vectorised r x c crosstab of two coded variables.
* ``chi_square`` -- Pearson X² (SPSS "Pearson Chi-Square"), optionally with
  Yates' correction on 2x2 tables (SPSS "Continuity Correction"), with the
  expected-count footnote SPSS prints under every chi-square table.
* ``chi_square_from_tests`` -- ``chi_square``'s result read from ``chi_square_tests``'
  result for the same table (no second test).
* ``fisher_exact`` -- exact 2x2 test; r x c by seeded Monte Carlo.
* ``chi_square_tests`` -- everything SPSS CROSSTABS /STATISTICS=CHISQ prints in
  its "Chi-Square Tests" table (Pearson, continuity correction, likelihood
  ratio, Fisher's exact test, linear-by-linear association) and the expected
  count of every cell.

Rows or columns of a table whose total is zero carry no information and are
dropped before testing (SPSS does not show empty categories); the result's
``note`` names them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np
from scipy import stats
from scipy.special import gammaln
from statsmodels.stats.contingency_tables import Table

from .descriptive import _f, _level_codes

__all__ = [
    "chi_square",
    "chi_square_from_tests",
    "chi_square_tests",
    "fisher_exact",
    "table_from_codes",
]

#: Default seed for the Monte Carlo Fisher test (documented in the results).
DEFAULT_SEED = 20200543
#: Cells per Monte Carlo batch: bounds memory to ~16 MB whatever n_resamples.
_MC_BATCH_CELLS = 2_000_000


def table_from_codes(
    x: np.ndarray, y: np.ndarray, x_levels: Sequence, y_levels: Sequence
) -> np.ndarray:
    """Cross-tabulate two categorical variables over declared levels.

    Parameters
    ----------
    x, y : array_like, 1-D, same length
        Values (numeric codes or strings); ``NaN``/``None`` are missing.
    x_levels, y_levels : sequence
        Allowed values; they fix the row and column order.

    Returns
    -------
    numpy.ndarray of int64, shape (len(x_levels), len(y_levels))
        Counts; pairs where either value is missing are dropped.

    Raises
    ------
    ValueError
        If lengths differ or a non-missing value is not a declared level.

    Notes
    -----
    Vectorised: both variables are coded by hash lookup and counted with one
    ``numpy.bincount`` of ``code_x * len(y_levels) + code_y``.
    """
    cx = _level_codes(x, x_levels, "x")
    cy = _level_codes(y, y_levels, "y")
    if cx.size != cy.size:
        raise ValueError(f"x and y must have the same length ({cx.size} != {cy.size})")
    nr, nc = len(x_levels), len(y_levels)
    keep = (cx >= 0) & (cy >= 0)
    flat = cx[keep] * nc + cy[keep]
    return np.bincount(flat, minlength=nr * nc).reshape(nr, nc).astype(np.int64)


def _clean_table(table: np.ndarray) -> tuple[np.ndarray, list[int], list[int], str | None]:
    """Validate a count table and drop all-zero rows/columns."""
    t = np.asarray(table)
    if t.ndim != 2:
        raise ValueError(f"table must be 2-D, got shape {t.shape}")
    if t.size == 0:
        raise ValueError("table is empty")
    t = t.astype(np.float64)
    if not np.isfinite(t).all() or (t < 0).any() or (t != np.round(t)).any():
        raise ValueError("table must hold non-negative integer counts")
    t = t.astype(np.int64)
    row_ok = t.sum(axis=1) > 0
    col_ok = t.sum(axis=0) > 0
    dropped_rows = [int(i) for i in np.flatnonzero(~row_ok)]
    dropped_cols = [int(j) for j in np.flatnonzero(~col_ok)]
    note = None
    if dropped_rows or dropped_cols:
        note = f"empty rows {dropped_rows} and columns {dropped_cols} dropped before testing"
        t = t[row_ok][:, col_ok]
    return t, dropped_rows, dropped_cols, note


def _join(*notes: str | None) -> str | None:
    kept = [s for s in notes if s]
    return "; ".join(kept) if kept else None


def chi_square(table: np.ndarray, correction: bool = False) -> dict:
    """Pearson chi-square test of independence for an r x c table.

    Parameters
    ----------
    table : array_like, 2-D
        Non-negative integer counts (e.g. from :func:`table_from_codes`).
    correction : bool, default False
        ``False``: Pearson X² (SPSS "Pearson Chi-Square", the ``paper``
        policy). ``True``: Yates' continuity correction, which exists for
        2x2 tables only -- any other shape (after dropping empty rows and
        columns) raises ``ValueError`` rather than silently running a
        different test.

    Returns
    -------
    dict
        ``statistic`` (X²), ``df`` ((r-1)(c-1), int), ``p_value``, ``n``
        (table total), ``method`` ("pearson_chi_square" or
        "yates_chi_square"), ``shape`` [r, c] actually tested,
        ``expected_min``, ``cells_expected_lt5`` (count of cells with
        expected count < 5), ``cells_expected_lt5_pct`` (0-100),
        ``dropped_rows``/``dropped_cols`` (indices of empty rows/columns),
        ``note``. When fewer than 2 rows or columns remain the test is
        undefined and statistic/df/p are ``None``.

    Notes
    -----
    ``scipy.stats.chi2_contingency(table, correction=...)`` (its default
    ``correction=True`` would apply Yates to every 2x2 table). X² =
    sum (O - E)² / E with E = row total x column total / n. Yates uses
    sum (|O - E| - min(0.5, |O - E|))² / E, as scipy and R's ``chisq.test``
    do; whether SPSS clips the 0.5 when |ad - bc| < n/2 is unconfirmed.
    Missing data: the table holds complete pairs only (see
    :func:`table_from_codes`).
    """
    method = "yates_chi_square" if correction else "pearson_chi_square"
    t, drop_r, drop_c, note = _clean_table(table)
    n = int(t.sum())
    base = {
        "statistic": None,
        "df": None,
        "p_value": None,
        "n": n,
        "method": method,
        "shape": [int(t.shape[0]), int(t.shape[1])],
        "expected_min": None,
        "cells_expected_lt5": None,
        "cells_expected_lt5_pct": None,
        "dropped_rows": drop_r,
        "dropped_cols": drop_c,
        "note": note,
    }
    if t.shape[0] < 2 or t.shape[1] < 2:
        base["note"] = _join(note, "fewer than 2 non-empty rows or columns: no test")
        return base
    if correction and t.shape != (2, 2):
        raise ValueError(
            f"Yates' continuity correction applies to 2x2 tables only; table is "
            f"{t.shape[0]}x{t.shape[1]} after dropping empty rows/columns"
        )
    res = stats.chi2_contingency(t, correction=correction)
    expected = np.asarray(res.expected_freq)
    lt5 = int(np.count_nonzero(expected < 5.0))
    base.update(
        statistic=_f(res.statistic),
        df=int(res.dof),
        p_value=_f(res.pvalue),
        expected_min=float(expected.min()),
        cells_expected_lt5=lt5,
        cells_expected_lt5_pct=100.0 * lt5 / expected.size,
    )
    return base


def chi_square_from_tests(tests: dict, correction: bool = False) -> dict:
    """:func:`chi_square`'s result read from :func:`chi_square_tests`' result for the same
    table, without testing again: its Pearson (or, with ``correction``, continuity-
    correction) line and the expected-count footnote come from the same
    ``scipy.stats.chi2_contingency`` calls, so every number is the one
    :func:`chi_square` computes. A table runs both (a table row's test and its SPSS
    "Chi-Square Tests"), and the Pearson chi-square is then computed once.

    Raises ``ValueError`` as :func:`chi_square` does: Yates' correction on a table that
    is not 2x2 after dropping empty rows and columns.
    """
    method = "yates_chi_square" if correction else "pearson_chi_square"
    shape = [int(tests["shape"][0]), int(tests["shape"][1])]
    out = {
        "statistic": None,
        "df": None,
        "p_value": None,
        "n": int(tests["n"]),
        "method": method,
        "shape": shape,
        "expected_min": None,
        "cells_expected_lt5": None,
        "cells_expected_lt5_pct": None,
        "dropped_rows": list(tests["dropped_rows"]),
        "dropped_cols": list(tests["dropped_cols"]),
        "note": tests["note"],
    }
    if tests["pearson"] is None:  # fewer than 2 rows or columns: no test (same note)
        return out
    if correction and shape != [2, 2]:
        raise ValueError(
            f"Yates' continuity correction applies to 2x2 tables only; table is "
            f"{shape[0]}x{shape[1]} after dropping empty rows/columns"
        )
    line = tests["continuity_correction" if correction else "pearson"]
    out.update(
        statistic=line["statistic"],
        df=line["df"],
        p_value=line["p_value"],
        expected_min=tests["expected_min"],
        cells_expected_lt5=tests["cells_expected_lt5"],
        cells_expected_lt5_pct=tests["cells_expected_lt5_pct"],
    )
    return out


def _fisher_monte_carlo(t: np.ndarray, seed: int, n_resamples: int) -> float:
    """Monte Carlo p of the Fisher-Freeman-Halton test, batched, seeded.

    Tables are drawn with fixed margins (Patefield 1981, AS 159) and a table
    counts as "at least as extreme" when its null probability does not
    exceed the observed one, compared on the log scale as
    sum(log(cell!)) >= observed / (1 + 64 eps) -- the rule of R's
    ``fisher.test(simulate.p.value = TRUE)``. p = (1 + #extreme) / (B + 1).
    """
    rng = np.random.default_rng(seed)
    dist = stats.random_table(t.sum(axis=1), t.sum(axis=0), seed=rng)
    observed = float(gammaln(t + 1).sum())
    threshold = observed / (1.0 + 64.0 * np.finfo(np.float64).eps)
    batch = max(1, min(n_resamples, _MC_BATCH_CELLS // t.size))
    extreme = 0
    done = 0
    while done < n_resamples:
        size = min(batch, n_resamples - done)
        sims = dist.rvs(size=size, method="patefield")
        score = gammaln(sims + 1.0).sum(axis=(1, 2))
        extreme += int(np.count_nonzero(score >= threshold))
        done += size
    return (1.0 + extreme) / (n_resamples + 1.0)


def _fisher_network(t: np.ndarray) -> float | None:
    """Exact r x c p-value by Mehta & Patel's network algorithm (the algorithm of R's
    fisher.test), from the fisher-rxc package; None if it reports a failure (e.g. its
    workspace is too small for a large table)."""
    import fisher

    # Its failures are printed by native code: keep them off our stdout.
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            p = float(fisher.exact(t.astype(np.int64).tolist()))
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return min(p, 1.0) if p >= 0 else None


def fisher_exact(
    table: np.ndarray,
    seed: int = DEFAULT_SEED,
    n_resamples: int = 100_000,
    exact_rxc: bool = True,
) -> dict:
    """Fisher's exact test: 2x2 and r x c exact, or r x c by seeded Monte Carlo.

    Parameters
    ----------
    table : array_like, 2-D
        Non-negative integer counts. All-zero rows/columns are dropped.
    seed : int
        Seed of the ``numpy.random.default_rng`` generator used for r x c
        tables (ignored for 2x2, which is exact).
    n_resamples : int
        Number of simulated tables for r x c tables (Monte Carlo only).
    exact_rxc : bool
        r x c tables: exact network algorithm (default), falling back to Monte
        Carlo when it fails; ``False`` forces Monte Carlo.

    Returns
    -------
    dict
        ``statistic`` (always ``None``: SPSS prints no statistic for this
        test), ``df`` (``None``), ``p_value`` (two-sided), ``n``, ``method``
        ("fisher_exact" when exact, "fisher_exact_monte_carlo" otherwise),
        ``shape``, ``n_resamples`` and ``seed`` (``None`` for the exact test),
        ``mc_standard_error`` (sqrt(p(1-p)/B), Monte Carlo only),
        ``odds_ratio`` (2x2: sample OR ad/bc as SPSS "Risk Estimate";
        ``None`` if a cell is 0), ``odds_ratio_conditional`` (2x2: conditional
        MLE, as R's ``fisher.test``), ``ci_low``/``ci_high`` (2x2: exact 95 %
        CI of the conditional OR, as R's ``fisher.test``; ``None`` when
        infinite), ``dropped_rows``, ``dropped_cols``, ``note``.

    Notes
    -----
    2x2: ``scipy.stats.fisher_exact`` -- two-sided p sums the hypergeometric
    probabilities of all tables no more probable than the observed one.

    r x c: SPSS Base cannot do this (needs the Exact Tests module). Exact by
    the network algorithm of Mehta & Patel (1983), as R's ``fisher.test``,
    through the fisher-rxc package. Monte Carlo fallback: scipy's
    own r x c path is not used: it compares table probabilities on the
    linear scale (they underflow to 0 for large n) and fails to reshape
    batches when n exceeds the batch's cell count (scipy 1.17). We draw the
    tables with ``scipy.stats.random_table(...).rvs(method="patefield")``
    from a seeded generator in batches of at most 2e6 cells, so memory does
    not grow with n or ``n_resamples``, and results are reproducible for a
    given seed. Missing data: the table holds complete pairs only.
    """
    if int(n_resamples) < 1:
        raise ValueError("n_resamples must be >= 1")
    t, drop_r, drop_c, note = _clean_table(table)
    out = {
        "statistic": None,
        "df": None,
        "p_value": None,
        "n": int(t.sum()),
        "method": "fisher_exact" if t.shape == (2, 2) else "fisher_exact_monte_carlo",
        "shape": [int(t.shape[0]), int(t.shape[1])],
        "n_resamples": None,
        "seed": None,
        "mc_standard_error": None,
        "odds_ratio": None,
        "odds_ratio_conditional": None,
        "ci_low": None,
        "ci_high": None,
        "dropped_rows": drop_r,
        "dropped_cols": drop_c,
        "note": note,
    }
    if t.shape[0] < 2 or t.shape[1] < 2:
        out["note"] = _join(note, "fewer than 2 non-empty rows or columns: no test")
        return out
    if t.shape == (2, 2):
        res = stats.fisher_exact(t, alternative="two-sided")
        cond = stats.contingency.odds_ratio(t, kind="conditional")
        ci = cond.confidence_interval(confidence_level=0.95)
        out.update(
            p_value=min(1.0, float(res.pvalue)),
            odds_ratio=_f(res.statistic),
            odds_ratio_conditional=_f(cond.statistic),
            ci_low=_f(ci.low),
            ci_high=_f(ci.high),
        )
        if out["odds_ratio"] is None:
            out["note"] = _join(out["note"], "a zero cell makes the sample odds ratio undefined")
        return out
    if exact_rxc:
        p = _fisher_network(t)
        if p is not None:
            out.update(method="fisher_exact", p_value=p)
            return out
        out["note"] = _join(out["note"], "network algorithm failed: Monte Carlo p-value")
    out["method"] = "fisher_exact_monte_carlo"
    n_resamples = int(n_resamples)
    p = _fisher_monte_carlo(t, int(seed), n_resamples)
    out.update(
        p_value=p,
        n_resamples=n_resamples,
        seed=int(seed),
        mc_standard_error=float(np.sqrt(p * (1.0 - p) / n_resamples)),
    )
    return out


def _line(statistic: float | None, df: int, p: float | None) -> dict:
    return {"statistic": _f(statistic), "df": df, "p_value": _f(p)}


def chi_square_tests(
    table: np.ndarray,
    row_scores: Sequence[float] | None = None,
    col_scores: Sequence[float] | None = None,
) -> dict:
    """SPSS CROSSTABS' "Chi-Square Tests" table for an r x c table of counts.

    Parameters
    ----------
    table : array_like, 2-D
        Non-negative integer counts; all-zero rows and columns are dropped
        first, as SPSS shows no empty category.
    row_scores, col_scores : sequence of float, optional
        Scores of the rows and columns of ``table`` (before dropping) for the
        linear-by-linear association. SPSS uses the variables' values (the
        numeric codes); default 1, 2, ... in order.

    Returns
    -------
    dict
        ``pearson``, ``continuity_correction`` (2x2 only, else ``None``),
        ``likelihood_ratio`` and ``linear_by_linear``, each ``{statistic, df,
        p_value}``; ``fisher_exact`` (2x2 only) ``{p_two_sided,
        p_one_sided}``; ``n`` (SPSS's "N of Valid Cases"), ``expected`` (the
        expected count of every cell of the tested table, rows x columns),
        ``expected_min``, ``cells_expected_lt5``, ``cells_expected_lt5_pct``
        (SPSS's footnote), ``shape``, ``dropped_rows``, ``dropped_cols``,
        ``method="chi_square_tests"``, ``note``. With fewer than 2 rows or
        columns left every test is ``None``.

    Notes
    -----
    * Pearson and Yates: ``scipy.stats.chi2_contingency(correction=False /
      True)``; likelihood ratio (G² = 2 sum O ln(O/E)):
      ``chi2_contingency(lambda_="log-likelihood", correction=False)``.
    * Linear-by-linear association (Mantel-Haenszel chi-square for trend),
      M² = (N - 1) r² with r the Pearson correlation of the row and column
      scores over the N cases, on 1 df: the square of the z of statsmodels'
      ``Table.test_ordinal_association`` (its null variance is the
      permutation variance, which gives exactly (N - 1) r²). The table is
      given to statsmodels with ``shift_zeros=False``: its default adds 0.5
      to every cell when one is zero.
    * Fisher (2x2): ``scipy.stats.fisher_exact``; SPSS's "Exact Sig.
      (1-sided)" is the smaller of the two one-sided p-values
      (alternatives "less" and "greater").
    """
    t, drop_r, drop_c, note = _clean_table(table)
    keep_r = [i for i in range(np.shape(table)[0]) if i not in drop_r]
    keep_c = [j for j in range(np.shape(table)[1]) if j not in drop_c]
    out: dict = {
        "pearson": None,
        "continuity_correction": None,
        "likelihood_ratio": None,
        "fisher_exact": None,
        "linear_by_linear": None,
        "n": int(t.sum()),
        "expected": None,
        "expected_min": None,
        "cells_expected_lt5": None,
        "cells_expected_lt5_pct": None,
        "shape": [int(t.shape[0]), int(t.shape[1])],
        "dropped_rows": drop_r,
        "dropped_cols": drop_c,
        "method": "chi_square_tests",
        "note": note,
    }
    if t.shape[0] < 2 or t.shape[1] < 2:
        out["note"] = _join(note, "fewer than 2 non-empty rows or columns: no test")
        return out
    pearson = stats.chi2_contingency(t, correction=False)
    expected = np.asarray(pearson.expected_freq)
    lt5 = int(np.count_nonzero(expected < 5.0))
    g2 = stats.chi2_contingency(t, correction=False, lambda_="log-likelihood")
    rs = np.arange(1.0, t.shape[0] + 1) if row_scores is None else np.asarray(row_scores, float)
    cs = np.arange(1.0, t.shape[1] + 1) if col_scores is None else np.asarray(col_scores, float)
    if row_scores is not None:
        rs = rs[keep_r]
    if col_scores is not None:
        cs = cs[keep_c]
    trend = Table(t, shift_zeros=False).test_ordinal_association(rs, cs)
    m2 = float(trend.zscore) ** 2
    out.update(
        pearson=_line(pearson.statistic, int(pearson.dof), pearson.pvalue),
        likelihood_ratio=_line(g2.statistic, int(g2.dof), g2.pvalue),
        linear_by_linear=_line(m2, 1, stats.chi2.sf(m2, 1)),
        expected=[[float(e) for e in row] for row in expected],
        expected_min=float(expected.min()),
        cells_expected_lt5=lt5,
        cells_expected_lt5_pct=100.0 * lt5 / expected.size,
    )
    if t.shape == (2, 2):
        yates = stats.chi2_contingency(t, correction=True)
        less = stats.fisher_exact(t, alternative="less").pvalue
        greater = stats.fisher_exact(t, alternative="greater").pvalue
        out.update(
            continuity_correction=_line(yates.statistic, int(yates.dof), yates.pvalue),
            fisher_exact={
                "p_two_sided": min(1.0, float(stats.fisher_exact(t).pvalue)),
                "p_one_sided": min(1.0, float(less), float(greater)),
            },
        )
    return out
