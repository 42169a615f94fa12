"""The workflow around the engine: results belong to their inputs, names are never run,
a killed run recovers, a failed run leaves no report that looks current.

Each case is one a user meets: a mistyped path, a data file replaced by one with an
older modification time (``cp -p``, unzip, rsync), a file name with shell syntax in it,
an Excel sheet named with a quote, a run killed half-way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.fingerprint import file_sha256

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COPY = ["Snakefile", "rules", "config", "studies", "docs", "envs"]
# Spaces, a quote, a semicolon, command substitution, brackets, non-ASCII letters.
HOSTILE_NAME = "site export (1) it's; $(touch PWNED) `touch PWNED2` [v2] é환자.xlsx"
HOSTILE_SHEET = "pt's data; $(touch PWNED3)"
SENTINELS = ("PWNED", "PWNED2", "PWNED3", "X")
OLD = 946_684_800  # 2000-01-01: older than anything the workflow writes

pytestmark = pytest.mark.workflow


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def _copy_project(work: Path) -> Path:
    for name in COPY:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    (work / "data_raw").mkdir()
    return work


def _snakemake(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", *args],
        cwd=work, capture_output=True, text=True, env=_env(),
    )  # fmt: skip


def _run(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", "run", "--cores", "2", *args],
        cwd=work, capture_output=True, text=True, env=_env(),
    )  # fmt: skip


def _no_sentinels(work: Path) -> None:
    for name in SENTINELS:
        hits = [p for p in work.rglob(name)] + [p for p in Path.cwd().glob(name)]
        assert not hits, f"a file name or value was executed: {hits}"


def _site_frame(seed: int = 11, n: int = 401) -> pd.DataFrame:
    from analysis.synth.generator import generate

    return generate(n, seed=seed)


def _write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=sheet, index=False)


def _provenance_checksums(work: Path) -> set[str]:
    provenance = json.loads((work / "reports" / "provenance.json").read_text())
    return {entry["sha256"] for entry in provenance["inputs"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A finished run on an Excel export whose file and sheet names hold shell syntax."""
    work = _copy_project(tmp_path_factory.mktemp("trust"))
    _write_xlsx(_site_frame(), work / "data_raw" / HOSTILE_NAME, HOSTILE_SHEET)
    config = {"data": f"data_raw/{HOSTILE_NAME}", "read": {"sheet": HOSTILE_SHEET}}
    (work / "site.yaml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    out = _snakemake(work, "--configfile", "site.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    return work


def test_hostile_file_and_sheet_names_run_end_to_end_and_execute_nothing(site):
    _no_sentinels(site)
    assert (site / "reports" / "report.html").exists()
    assert file_sha256(site / "data_raw" / HOSTILE_NAME) in _provenance_checksums(site)


def test_report_names_the_checksums_of_the_files_on_disk(site):
    on_disk = {
        file_sha256(site / "data_raw" / HOSTILE_NAME),
        file_sha256(site / "studies" / "baclofen_ckd.yaml"),
        file_sha256(site / "studies" / "baclofen_ckd.published.yaml"),  # the scorecard's
    }
    assert _provenance_checksums(site) == on_disk


def test_replaced_data_with_an_older_mtime_reruns(site):
    """`cp -p` of another export: same name, older mtime, other content."""
    raw = site / "data_raw" / HOSTILE_NAME
    _write_xlsx(_site_frame(seed=12, n=380), raw, HOSTILE_SHEET)
    os.utime(raw, (OLD, OLD))
    out = _snakemake(site, "--configfile", "site.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Nothing to be done" not in out.stdout + out.stderr
    assert file_sha256(raw) in _provenance_checksums(site)
    validation = json.loads((site / "results" / "validation.json").read_text())
    assert validation["n_rows"] == 380
    _no_sentinels(site)


def test_changed_study_file_with_an_older_mtime_reruns(site):
    study = site / "studies" / "baclofen_ckd.yaml"
    study.write_text(study.read_text() + "\n# a comment changes the bytes\n")
    os.utime(study, (OLD, OLD))
    out = _snakemake(site, "--configfile", "site.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Nothing to be done" not in out.stdout + out.stderr
    assert file_sha256(study) in _provenance_checksums(site)


def test_no_change_does_nothing(site):
    out = _snakemake(site, "--configfile", "site.yaml")
    assert out.returncode == 0
    assert "Nothing to be done" in out.stdout + out.stderr


def test_failed_run_on_new_data_leaves_no_report(site):
    raw = site / "data_raw" / HOSTILE_NAME
    frame = _site_frame(seed=13)
    frame.loc[5, "albumin"] = 99.0  # outside the study's plausible range: validation fails
    _write_xlsx(frame, raw, HOSTILE_SHEET)
    os.utime(raw, (OLD, OLD))
    out = _snakemake(site, "--configfile", "site.yaml")
    assert out.returncode != 0
    for name in ("report.html", "report.md", "provenance.json", "tables", "figures"):
        assert not (site / "reports" / name).exists(), name
    # nor the previous data's results (the failed validation wrote no cohort after it)
    for name in ("cohort.parquet", "flow.json", "tables", "sensitivity", "scorecard.json"):
        assert not (site / "results" / name).exists(), name


@pytest.mark.parametrize("option", ["data", "mapping"])
def test_missing_input_is_one_line_and_no_work(site, option):
    before = sorted(p.name for p in (site / "logs").iterdir())
    out = _snakemake(site, "--config", f"{option}=data_raw/typo.sav")
    assert out.returncode == 2
    # Snakemake itself may first note that --config extends the config file; ours is
    # the one error line, last, with no traceback.
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error")] == lines[-1:]
    assert lines[-1] == f"error: {option}: data_raw/typo.sav: file not found"
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in (site / "logs").iterdir()) == before


def _earlier_report(work: Path) -> list[Path]:
    files = [work / "reports" / n for n in ("report.html", "provenance.json", "tables/t.md")]
    files.append(work / "reports" / "multisite" / "report.html")  # another study's
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("made from other inputs", encoding="utf-8")
    return files


@pytest.mark.parametrize("option", ["--data", "--mapping"])
def test_a_mistyped_path_takes_the_earlier_report_with_it(tmp_path, option):
    """A user who misses the error line must not open the last run's report as this one."""
    work = _copy_project(tmp_path)
    *single_site, multisite = _earlier_report(work)
    out = _run(work, option, "data_raw/stie.csv")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert lines[-1] == f"error: {option[2:].upper()}=data_raw/stie.csv: file not found"
    assert all(line.startswith("note: removed reports/") for line in lines[:-1]), lines
    assert not any(path.exists() for path in single_site)
    assert multisite.exists()


def test_a_dry_run_with_a_mistyped_path_removes_nothing(tmp_path):
    work = _copy_project(tmp_path)
    files = _earlier_report(work)
    out = _run(work, "--data", "data_raw/stie.csv", "--", "--dry-run")
    assert out.returncode == 2
    assert all(path.exists() for path in files)


def test_runner_refuses_a_missing_file_with_shell_syntax_in_its_name(tmp_path):
    work = _copy_project(tmp_path)
    out = _run(work, "--data", "data_raw/a;touch X;b.csv")
    assert out.returncode == 2
    assert out.stderr.strip() == "error: DATA=data_raw/a;touch X;b.csv: file not found"
    _no_sentinels(work)


def test_make_passes_hostile_paths_literally(tmp_path):
    """make report 'DATA=data_raw/a;touch X;b $(touch PWNED).csv' runs nothing."""
    work = _copy_project(tmp_path)
    for name in ("Makefile", "requirements.lock", "pyproject.toml"):
        shutil.copy2(ROOT / name, work / name)
    (work / ".venv").symlink_to(ROOT / ".venv")
    data = "data_raw/a;touch X;b $(touch PWNED) `touch PWNED2`.csv"
    out = subprocess.run(
        ["make", "--no-print-directory", "report", f"DATA={data}"],
        cwd=work, capture_output=True, text=True, env=_env(),
    )  # fmt: skip
    assert out.returncode != 0
    assert f"error: DATA={data}: file not found" in out.stderr
    _no_sentinels(work)


def test_a_killed_run_recovers_on_the_next_run(tmp_path):
    work = _copy_project(tmp_path)
    frame = _site_frame(n=120)
    frame.to_csv(work / "data_raw" / "site.csv", index=False)
    run = subprocess.Popen(
        [sys.executable, "-m", "analysis", "run", "--cores", "1", "--data", "data_raw/site.csv"],
        cwd=work, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    locks = work / ".snakemake" / "locks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (locks.is_dir() and any(locks.iterdir())):
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(run.pid, signal.SIGKILL)  # as an out-of-memory kill or a closed laptop would
    run.wait()
    assert any(locks.iterdir()), "the kill should have left Snakemake's lock behind"
    assert not (work / "reports" / "report.html").exists()
    out = _run(work, "--data", "data_raw/site.csv")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "removing the lock left by an interrupted run" in out.stdout
    assert file_sha256(work / "data_raw" / "site.csv") in _provenance_checksums(work)


def test_settings_change_reruns_and_a_failed_step_ends_in_its_one_line(tmp_path):
    """A changed setting reruns only what it affects, on top of a complete run; a step
    that fails repeats its own one-line error last, with exit status 2."""
    work = _copy_project(tmp_path)
    _site_frame(n=120).to_csv(work / "data_raw" / "site.csv", index=False)
    first = _run(work, "--data", "data_raw/site.csv")
    assert first.returncode == 0, first.stderr[-3000:]
    capped = _run(work, "--data", "data_raw/site.csv", "--", "--config", "listing_max_rows=3")
    assert capped.returncode == 0, capped.stderr[-3000:]
    assert "listing capped at 3 rows" in (work / "reports" / "report.md").read_text()
    again = _run(work, "--data", "data_raw/site.csv", "--", "--config", "listing_max_rows=3")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    bad = _site_frame(seed=13, n=120)
    bad.loc[5, "albumin"] = 99.0
    bad.to_csv(work / "data_raw" / "bad.csv", index=False)
    failed = _run(work, "--data", "data_raw/bad.csv")
    assert failed.returncode == 2
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: data_raw/bad.csv: 1 validation error(s)") or (
        last.startswith("error:") and "albumin" in last
    ), last
    assert last.endswith("(step log: logs/cohort.log)"), last
    assert not (work / "reports" / "report.html").exists()


def test_another_study_runs_through_the_workflow_with_its_data(tmp_path):
    """`make report STUDY=... DATA=...`: any study file, not only the configuration's."""
    work = _copy_project(tmp_path)
    example = "studies/examples/birthwt"
    out = _run(work, "--study", f"{example}/birthwt.yaml", "--data", f"{example}/birthwt.csv")
    assert out.returncode == 0, out.stderr[-3000:]
    tables = sorted((work / "results" / "tables").glob("*.json"))
    assert tables and all(json.loads(t.read_text())["study"] == "birthwt" for t in tables)
    provenance = json.loads((work / "reports" / "provenance.json").read_text())
    assert provenance["study_file"]["path"] == "birthwt.yaml"
    assert not (work / "results" / "synthetic").exists()


def test_another_study_needs_its_data_and_an_existing_file(tmp_path):
    work = _copy_project(tmp_path)
    out = _run(work, "--study", "studies/examples/birthwt/birthwt.yaml")
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: STUDY=studies/examples/birthwt/birthwt.yaml: "
                                         "give the data it describes too")  # fmt: skip
    out = _run(work, "--study", "studies/mine.yaml", "--data", "studies/examples/fair/fair.csv")
    assert out.returncode == 2
    assert out.stderr.strip() == "error: STUDY=studies/mine.yaml: file not found"
