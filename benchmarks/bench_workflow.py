"""The whole workflow at registry sizes, job by job, and the fan-out over cores.

Each run is a fresh scratch copy of the workflow files (the project's own results are
never touched) started as `make report N=...` starts it. Every job writes Snakemake's
benchmark file (logs/benchmarks/<job>.tsv: wall seconds, peak RSS); this script reads
them, prints one markdown table per run and, over several sizes, how each job grows
with n: the exponent b of time ~ n^b, a least-squares fit on the log-log points.

Usage:
  python benchmarks/bench_workflow.py --sizes 100000 1000000 10000000
  python benchmarks/bench_workflow.py --fanout --sizes 401   # split and grouped, 1 and 2 cores
"""

from __future__ import annotations

import argparse
import csv
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
COPY = ("Snakefile", "rules", "config", "studies", "analysis", "envs", "docs")


def scratch_copy(base: Path) -> Path:
    work = base / "work"
    work.mkdir(parents=True)
    for name in COPY:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    (work / "data_raw").mkdir()
    return work


def run(n: int, cores: int, split: bool) -> tuple[float, dict[str, tuple[float, float]]]:
    """Wall seconds of the whole run and {job: (seconds, peak RSS MB)}."""
    with tempfile.TemporaryDirectory(prefix="bench-workflow-") as tmp:
        work = scratch_copy(Path(tmp))
        command = [sys.executable, "-m", "analysis", "run", "--n", str(n), "--cores", str(cores)]
        if split:
            command += ["--", "--config", "split_jobs=true"]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=work, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"n = {n}: the workflow failed\n{done.stderr[-2000:]}")
        jobs = {}
        for tsv in sorted((work / "logs" / "benchmarks").glob("*.tsv")):
            with tsv.open() as f:
                row = list(csv.DictReader(f, delimiter="\t"))[-1]
            jobs[tsv.stem] = (float(row["s"]), float(row["max_rss"]))
    return wall, jobs


def exponent(ns: list[int], values: list[float]) -> float:
    """b in value ~ n^b (least squares on log-log)."""
    return float(np.polyfit(np.log(ns), np.log(values), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--fanout", action="store_true", help="split and grouped jobs on 1 and 2 cores"
    )
    args = parser.parse_args()
    print(f"# {date.today()}, {platform.machine()}, Python {platform.python_version()}")
    if args.fanout:
        print("| n | cores | jobs | wall s | speed-up |\n|---:|---:|---|---:|---:|")
        for n in args.sizes:
            for split in (True, False):
                one, _ = run(n, 1, split=split)
                two, _ = run(n, 2, split=split)
                jobs = "split" if split else "grouped"
                print(f"| {n:,} | 1 | {jobs} | {one:.1f} | 1.00 |")
                print(f"| {n:,} | 2 | {jobs} | {two:.1f} | {one / two:.2f} |")
        return
    runs = {n: run(n, args.cores, split=False) for n in args.sizes}
    jobs = sorted({job for _, per_job in runs.values() for job in per_job})
    head = " | ".join(f"{n:,}: s / MB" for n in args.sizes)
    grow = len(args.sizes) > 1
    print(f"| job | {head} |" + (" time ~ n^b |" if grow else ""))
    print("|---|" + "---:|" * len(args.sizes) + ("---:|" if grow else ""))
    for job in jobs:
        cells = [runs[n][1].get(job) for n in args.sizes]
        text = " | ".join(f"{c[0]:.1f} / {c[1]:.0f}" if c else "-" for c in cells)
        b = exponent(args.sizes, [c[0] for c in cells]) if grow and all(cells) else None
        print(f"| {job} | {text} |" + (f" {b:.2f} |" if grow else ""))
    walls = " | ".join(f"{runs[n][0]:.1f} s" for n in args.sizes)
    print(f"| **whole run (wall)** | {walls} |" + (" |" if grow else ""))


if __name__ == "__main__":
    main()
