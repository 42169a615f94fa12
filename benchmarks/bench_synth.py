"""Time and peak memory of the synthetic generator at 10^6 and 10^7 rows.

Each size runs in a fresh process (`python -m analysis synth`), so its peak
resident memory is read cleanly from the OS (getrusage of the child).
Usage: python benchmarks/bench_synth.py [N ...] [--format parquet|csv]
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def run_once(n: int, fmt: str) -> tuple[float, float, float]:
    OUT.mkdir(exist_ok=True)
    target = OUT / f"synth_{n}.{fmt}"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "analysis", "synth", "--n", str(n), "--out", str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mb = target.stat().st_size / 1e6
    target.unlink()
    return seconds, peak_mb, size_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 10_000_000])
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    args = parser.parse_args()
    print(f"# {date.today()} {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}")  # fmt: skip
    print("| rows | format | seconds | peak RSS (MB) | file (MB) |")
    print("|---:|---|---:|---:|---:|")
    for n in sorted(args.sizes):
        seconds, peak, size = run_once(n, args.format)
        print(f"| {n:,} | {args.format} | {seconds:.1f} | {peak:.0f} | {size:.0f} |", flush=True)


if __name__ == "__main__":
    main()
