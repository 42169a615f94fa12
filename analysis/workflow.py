"""``python -m analysis run``: start the Snakemake workflow the way ``make report`` does.

Why a wrapper at all, when Snakemake is the workflow engine:

* The data and mapping paths reach Snakemake as a YAML config file written here,
  never as shell text or ``--config key=value`` (which Snakemake parses as YAML,
  so a path such as ``1.csv`` or ``a: b.csv`` would change type).
* A missing input file is a one-line error before any work is done.
* A run killed hard leaves Snakemake's lock behind, and the next run refuses to
  start. This wrapper holds an OS file lock for as long as it runs (the kernel
  releases it when the process dies, however it dies), so when it can take that
  lock and no Snakemake process is working in this folder, any Snakemake lock
  left over is stale and is removed with ``snakemake --unlock``.

Scheduling stays with Snakemake (locally or through its executor plugins).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import yaml

from analysis.errors import AnalysisError

__all__ = ["run_workflow", "snakemake_running_here"]

STATE = Path(".snakemake")
RUN_LOCK = STATE / "run.lock"
RUN_CONFIG = STATE / "run" / "config.yaml"


def _check_file(option: str, value: str) -> None:
    path = Path(value)
    if not path.exists():
        raise AnalysisError(f"{option}={value}: file not found")
    if not path.is_file():
        raise AnalysisError(f"{option}={value}: not a file")


def snakemake_running_here(workdir: Path) -> list[int]:
    """PIDs of Snakemake processes whose working directory is ``workdir`` (Linux /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    here = workdir.resolve()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if not any(b"snakemake" in part for part in cmdline[:3]):
                continue
            if Path(os.readlink(entry / "cwd")).resolve() == here:
                found.append(int(entry.name))
        except OSError:  # the process ended, or is not ours to inspect
            continue
    return sorted(found)


def _unlock_if_stale(snakemake: list[str]) -> None:
    locks = STATE / "locks"
    if not locks.is_dir() or not any(locks.iterdir()):
        return
    busy = snakemake_running_here(Path.cwd())
    if busy:
        raise AnalysisError(
            "Snakemake is already running in this folder (pid "
            f"{', '.join(map(str, busy))}); wait for it, or stop it and rerun"
        )
    print("note: removing the lock left by an interrupted run (snakemake --unlock)")
    subprocess.run([*snakemake, "--unlock", "--cores", "1"], check=True, capture_output=True)


def run_workflow(
    data: str | None, mapping: str | None, cores: int, extra: list[str] | None = None
) -> int:
    """Run the workflow on the default synthetic cohort, or on ``data`` (+ ``mapping``)."""
    overrides: dict[str, str] = {}
    if data:
        if data != "synthetic":
            _check_file("DATA", data)
        overrides["data"] = data
    if mapping:
        _check_file("MAPPING", mapping)
        overrides["mapping"] = mapping
    snakemake = [sys.executable, "-m", "snakemake"]
    STATE.mkdir(exist_ok=True)
    with open(RUN_LOCK, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AnalysisError(
                "another `make report` is running in this folder; wait for it to finish"
            ) from None
        _unlock_if_stale(snakemake)
        command = [*snakemake, "--cores", str(cores)]
        if overrides:
            RUN_CONFIG.parent.mkdir(parents=True, exist_ok=True)
            RUN_CONFIG.write_text(yaml.safe_dump(overrides, allow_unicode=True), "utf-8")
            command += ["--configfile", str(RUN_CONFIG)]
        return subprocess.run([*command, *(extra or [])], check=False).returncode


#: What the report step writes; removed together when they no longer match the inputs.
REPORT_ARTEFACTS = ("report.html", "report.md", "provenance.json", "tables", "figures")


def report_is_current(provenance: Path, fingerprint: dict) -> bool:
    """True if ``provenance`` names every checksum of ``fingerprint``, the same code and settings.

    A subset test, because the report also checksums files the workflow made from
    those inputs (the generated synthetic cohort).
    """
    import json

    try:
        recorded = json.loads(provenance.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    made_from = {entry.get("sha256") for entry in recorded.get("inputs", [])}
    current = {entry["sha256"] for entry in fingerprint["files"].values() if entry}
    return (
        current <= made_from
        and recorded.get("code_sha256") == fingerprint["code"]
        and recorded.get("settings_sha256") == fingerprint["settings"]
    )


def remove_stale_report(reports: Path, fingerprint: dict) -> list[Path]:
    """Delete a report made from other inputs before a run that will replace it.

    Called when a run starts: if the run then fails or is killed, no report is left
    that could be mistaken for one of the current inputs.
    """
    import shutil

    if report_is_current(reports / "provenance.json", fingerprint):
        return []
    removed = []
    for name in REPORT_ARTEFACTS:
        path = reports / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed
