"""``python -m analysis run``: start the Snakemake workflow the way ``make report`` does.

Why a wrapper at all, when Snakemake is the workflow engine:

* The data and mapping paths reach Snakemake as a YAML config file written here,
  never as shell text or ``--config key=value`` (which Snakemake parses as YAML,
  so a path such as ``1.csv`` or ``a: b.csv`` would change type).
* A missing input file is a one-line error before any work is done, and the report
  of whatever ran before goes with it: it cannot be the report of a file that does
  not exist, and should not be opened as if it were.
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
import time
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
    data: str | None,
    mapping: str | None,
    cores: int,
    extra: list[str] | None = None,
    *,
    disclosure: str | None = None,
    number_style: str | None = None,
    n: int | None = None,
    study: str | None = None,
) -> int:
    """Run the workflow on the default synthetic cohort (of ``n`` patients), or on ``data``
    (+ ``mapping``) described by the configuration's study file or ``study``, optionally
    under a disclosure-control profile and a journal's number style."""
    overrides: dict[str, object] = {}
    if n:
        overrides["synthetic"] = {"n": n}  # Snakemake merges nested config keys
    if disclosure:
        overrides["disclosure"] = disclosure
    if number_style:
        overrides["number_style"] = number_style
    if study and (not data or data == "synthetic"):
        # The synthetic cohort is generated for the configuration's own study.
        raise AnalysisError(
            f"STUDY={study}: give the data it describes too (DATA=...); the synthetic "
            "cohort is made for the configuration's study only"
        )
    dry_run = any(a in ("-n", "--dry-run", "--dryrun") for a in extra or [])
    try:
        if study:
            _check_file("STUDY", study)
        if data and data != "synthetic":
            _check_file("DATA", data)
        if mapping:
            _check_file("MAPPING", mapping)
    except AnalysisError:
        if not dry_run:
            for path in remove_report(Path("reports")):
                print(f"note: removed {path}: made from other inputs", file=sys.stderr)
        raise
    if study:
        overrides["study"] = study
    if data:
        overrides["data"] = data
    if mapping:
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
        started = time.time()
        status = subprocess.run([*command, *(extra or [])], check=False).returncode
    if status == 0:
        return 0
    causes = step_errors(Path("logs"), since=started)
    for log, line in causes:
        print(f"{line} (step log: {log})", file=sys.stderr)
    if not causes:
        print("error: the workflow failed; Snakemake's messages above say where", file=sys.stderr)
    return 2


def step_errors(logs: Path, since: float) -> list[tuple[Path, str]]:
    """The one-line ``error:`` each step that failed in this run wrote to its log.

    Snakemake reports a failed step in many lines and points at its log; the step's own
    one-line message is what the user needs, so it is repeated last.
    """
    found = []
    for log in sorted(logs.glob("*.log")) if logs.is_dir() else []:
        try:
            if log.stat().st_mtime < since:
                continue
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        found += [(log, line) for line in lines if line.startswith("error:")][-1:]
    return found


#: What the single-site steps write under results/ (not share/ or multisite/, whose
#: runs are their own).
RESULT_ENTRIES = (
    "synthetic",
    "validation.json",
    "cohort.parquet",
    "flow.json",
    "tables",
    "sensitivity",
    "scorecard.json",
)
#: The assembled report: rebuilt by every run whose inputs, code or settings differ.
REPORT_FILES = ("report.html", "report.md", "provenance.json")
#: Rendered tables and figures, the combined manuscript files and the scorecard: rebuilt
#: by every step when the inputs or the code differ (their rules carry those checksums as
#: params), so they may go only then.
REPORT_FOLDERS = (
    "tables",
    "figures",
    "tables.docx",
    "tables.xlsx",
    "tables.tex",
    "reproduction.html",
    "reproduction.md",
)


def _recorded(provenance: Path) -> dict | None:
    import json

    try:
        return json.loads(provenance.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _same_inputs_and_code(recorded: dict, fingerprint: dict) -> bool:
    """A subset test, because the report also checksums files the workflow made from
    those inputs (the generated synthetic cohort)."""
    made_from = {entry.get("sha256") for entry in recorded.get("inputs", [])}
    current = {entry["sha256"] for entry in fingerprint["files"].values() if entry}
    return current <= made_from and recorded.get("code_sha256") == fingerprint["code"]


def report_is_current(provenance: Path, fingerprint: dict) -> bool:
    """True if ``provenance`` names every checksum of ``fingerprint``, its code and settings."""
    recorded = _recorded(provenance)
    return (
        recorded is not None
        and _same_inputs_and_code(recorded, fingerprint)
        and recorded.get("settings_sha256") == fingerprint["settings"]
    )


def _remove(folder: Path, names: tuple[str, ...]) -> list[Path]:
    import shutil

    removed = []
    for name in names:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


def remove_report(reports: Path) -> list[Path]:
    """Delete the single-site report and all that was rendered with it, whatever made it
    (never ``reports/multisite``). For a run refused before it starts, because a file
    it names does not exist: an older report must not pass for that file's."""
    return _remove(reports, REPORT_FILES + REPORT_FOLDERS)


def remove_stale_report(reports: Path, fingerprint: dict, results: Path) -> list[Path]:
    """Delete a report made from other inputs before a run that will replace it.

    Called when a run starts, after Snakemake has planned its jobs: if the run then
    fails or is killed, no report is left that could be mistaken for one of the
    current inputs. The rendered tables and figures, and the single-site ``results``,
    go too only when the report names other input files or code, because then every
    step reruns and rewrites them (each rule carries those checksums as params); after
    a change of settings alone, some of them are up to date and the plan relies on them.
    """
    recorded = _recorded(reports / "provenance.json")
    if recorded is None:
        return _remove(reports, REPORT_FILES)  # no complete report: nothing to compare
    if not _same_inputs_and_code(recorded, fingerprint):
        removed = _remove(reports, REPORT_FILES + REPORT_FOLDERS)
        return removed + _remove(results, RESULT_ENTRIES)
    if recorded.get("settings_sha256") != fingerprint["settings"]:
        return _remove(reports, REPORT_FILES)
    return []
