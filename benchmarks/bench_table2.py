"""Table 2 at registry scale: the engine beside a plain numpy/scipy floor and tableone.

The floor computes the same summaries (n, missing, mean, SD, median, min, max,
SPSS quartiles, SMD) and the same tests (per-group Lilliefors deciding Student
t or Mann-Whitney; Pearson chi-square) directly on arrays, with no result
objects, policies or JSON. Bar: engine time <= 1.5 x floor time, and peak
memory during the table <= 150 MB above the loaded cohort (tracemalloc).
Python's tableone, if installed, runs on the same frame for comparison.

Usage: python benchmarks/bench_table2.py [--n 1000000] [--repeats 3] [--no-tableone]
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.diagnostic import lilliefors

from analysis.derive import derive_cohort
from analysis.study import load_study
from analysis.synth.generator import generate
from analysis.tables import build_table

ROOT = Path(__file__).resolve().parents[1]


def floor_table(cohort: pd.DataFrame, rows: list[str], categorical: dict[str, list]) -> list:
    """The same numbers as Table 2, straight from numpy/scipy/statsmodels."""
    group = cohort["neurotoxicity"].to_numpy()
    idx = [np.flatnonzero(group == g) for g in (0, 1)]
    out = []
    for name in rows:
        values = cohort[name].to_numpy()
        if name in categorical:
            levels = categorical[name]
            table = np.array([[np.sum(values[i] == lv) for lv in levels] for i in idx])
            table = table[:, table.sum(axis=0) > 0]
            chi = stats.chi2_contingency(table, correction=False)
            props = table / table.sum(axis=1, keepdims=True)
            out.append((chi.statistic, chi.pvalue, props))
            continue
        x = values.astype(float)
        parts = [x[i][~np.isnan(x[i])] for i in idx]
        summaries = [
            (p.size, p.mean(), p.std(ddof=1), p.min(), p.max(),
             np.percentile(p, [25, 50, 75], method="weibull"))
            for p in parts
        ]  # fmt: skip
        normal = all(lilliefors(p, pvalmethod="approx")[1] >= 0.05 for p in parts)
        if normal:
            test = stats.ttest_ind(*parts, equal_var=True)
            stats.levene(*parts, center="mean")
        else:
            test = stats.mannwhitneyu(*parts, method="asymptotic", use_continuity=False)
        smd = (summaries[0][1] - summaries[1][1]) / np.sqrt(
            (summaries[0][2] ** 2 + summaries[1][2] ** 2) / 2
        )
        out.append((test.statistic, test.pvalue, summaries, smd))
    return out


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-tableone", action="store_true")
    args = parser.parse_args()

    study = load_study(ROOT / "studies" / "baclofen_ckd.yaml")
    table = study.table("table2")
    cohort, _ = derive_cohort(generate(args.n), study)
    categorical = {
        v: study.variables[v].levels for v in table["rows"] if study.variables[v].is_categorical
    }

    engine_s = best_of(lambda: build_table(cohort, study, "table2"), args.repeats)
    floor_s = best_of(lambda: floor_table(cohort, table["rows"], categorical), args.repeats)

    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    build_table(cohort, study, "table2")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    extra_mb = (peak - base) / 2**20
    loaded_mb = cohort.memory_usage(deep=True).sum() / 2**20

    print(f"# {date.today()}, {platform.machine()}, Python {platform.python_version()}, "
          f"n = {args.n:,}, best of {args.repeats}")  # fmt: skip
    print("| what | seconds | note |")
    print("|---|---:|---|")
    print(f"| engine (Table 2, policy paper) | {engine_s:.2f} | "
          f"{engine_s / floor_s:.2f} x floor (bar 1.5) |")  # fmt: skip
    print(f"| numpy/scipy floor | {floor_s:.2f} | same summaries and tests on arrays |")
    if not args.no_tableone:
        try:
            from tableone import TableOne, __version__
        except ImportError:
            print("| tableone | - | not installed (pip install tableone==0.9.6) |")
        else:
            nonnormal = [v for v in table["rows"] if v not in categorical]
            frame = cohort[table["rows"] + ["neurotoxicity"]]
            start = time.perf_counter()
            TableOne(frame, columns=table["rows"], categorical=list(categorical),
                     groupby="neurotoxicity", nonnormal=nonnormal, pval=True)  # fmt: skip
            t1 = time.perf_counter() - start
            print(f"| tableone {__version__} | {t1:.2f} | engine is {t1 / engine_s:.1f} x faster |")
    print(f"\nPeak memory while building the table: {extra_mb:.0f} MB above the loaded "
          f"cohort ({loaded_mb:.0f} MB in memory); bar 150 MB.")  # fmt: skip


if __name__ == "__main__":
    main()
