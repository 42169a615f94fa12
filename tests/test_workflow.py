"""The Snakemake workflow end to end (what `make report` runs), in a scratch copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from html import unescape
from pathlib import Path

import pytest
from support import env_without

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
COPY = ["Snakefile", "rules", "config", "studies", "docs", "envs"]

pytestmark = pytest.mark.workflow


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = env_without(SNAKEMAKE.parent)  # the rules name their interpreter themselves
    return subprocess.run(
        [str(SNAKEMAKE), "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def workdir(workflow_run) -> Path:
    """The session's one workflow run (tests/conftest.py), shared with tests/tools/."""
    return workflow_run


def test_report_artefacts_exist(workdir, study):
    reports = workdir / "reports"
    assert (reports / "report.html").stat().st_size > 10_000
    html = (reports / "report.html").read_text()
    assert "401 rows validated against the study file: no errors" in html
    assert (reports / "report.md").exists()
    assert (reports / "provenance.json").exists()
    for i in range(1, 8):
        for ext in ("md", "csv", "html"):
            assert (reports / "tables" / f"table{i}.{ext}").exists()
    assert len(list((reports / "figures").glob("*.png"))) == len(study.figures)
    assert (workdir / "results" / "tables" / "table2.json").exists()
    # one machine: grouped jobs, each with its log and its time and memory (benchmark)
    for step in ("cohort", "tables", "sensitivity", "figures", "report"):
        assert (workdir / "logs" / f"{step}.log").exists()
        assert (workdir / "logs" / "benchmarks" / f"{step}.tsv").exists()
    for name in ("tables.docx", "tables.xlsx", "tables.tex", "reproduction.html"):
        assert (reports / name).exists(), name


def test_report_reproduces_every_published_figure_and_each_sensitivity_analysis(workdir, study):
    """The default run's scorecard says M of M, and every sensitivity analysis the study
    file declares has its section and its paragraph in the Methods."""
    published = len(study.published)
    card = json.loads((workdir / "results" / "scorecard.json").read_text())
    assert card["n_total"] == published and card["n_reproduced"] == published, card["misses"]
    headline = f"{published} of {published} published figures reproduced"
    assert headline in (workdir / "reports" / "reproduction.html").read_text()
    html = (workdir / "reports" / "report.html").read_text()
    assert headline in html
    methods = unescape(html.split('id="methods"')[1])
    for entry in study.sensitivity:
        result = json.loads(
            (workdir / "results" / "sensitivity" / f"{entry['id']}.json").read_text()
        )
        assert f'id="sensitivity-{entry["id"]}"' in html
        assert result["title"] in methods  # named in the Methods as in its section
        assert result["conclusion"]["text"] or result["conclusion"]["holds"] is not None


def test_second_run_does_nothing(workdir):
    out = _snakemake(workdir)
    assert out.returncode == 0
    assert "Nothing to be done" in out.stdout + out.stderr


def test_report_has_no_identifiers_and_no_timestamp(workdir):
    html = (workdir / "reports" / "report.html").read_text()
    assert "SYN0000" not in html
    html = html.replace(_created(workdir).decode(), "")  # the provenance block's, alone
    assert "2026-" not in html and "2025-" not in html
    for table in (workdir / "reports" / "tables").glob("*"):
        if table.suffix in (".docx", ".xlsx"):  # zip archives of XML parts
            with zipfile.ZipFile(table) as archive:
                text = "".join(
                    archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
                )
        else:
            text = table.read_text()
        assert "SYN0000" not in text, table.name


def test_data_raw_untouched(workdir):
    assert sorted(p.name for p in (workdir / "data_raw").iterdir()) == ["README.md"]


def _created(work: Path) -> bytes:
    """The one time stamp of a run: provenance.json's `created`."""
    created = json.loads((work / "reports" / "provenance.json").read_text())["created"]
    assert created
    return created.encode()


def _outputs(work: Path) -> dict[str, bytes]:
    """Every file under reports/ (a glob: every format and figure) and results/tables/,
    with the run's time stamp (provenance.json, report.html's provenance) blanked."""
    created = _created(work)
    files = [*(work / "reports").rglob("*"), *(work / "results" / "tables").glob("*.json")]
    return {
        p.relative_to(work).as_posix(): p.read_bytes().replace(created, b"<created>")
        for p in files
        if p.is_file()
    }


def test_rerun_from_scratch_is_byte_identical(workdir, workflow_rerun):
    """Two independent runs, in two folders, write the same bytes: DOCX, XLSX, SVG, PNG,
    md, csv, html, report.html and the results (so no path nor time leaks into them)."""
    first, second = _outputs(workdir), _outputs(workflow_rerun)
    suffixes = {Path(name).suffix for name in first}
    assert {".docx", ".xlsx", ".svg", ".png", ".md", ".csv", ".html", ".json"} <= suffixes
    assert sorted(first) == sorted(second)
    differ = [name for name in first if first[name] != second[name]]
    assert differ == []


# --- a site's own file with direct identifiers planted ----------------------------
PLANTED = {
    "patient_name": "Hong Gildong",
    "이름": "홍길동",
    "phone": "010-9876-5432",
    "rrn": "500615-1234567",
    "birth_date": "1950-06-15",
}
PLANTED_ID_PREFIX = "MRN-77"


@pytest.fixture(scope="module")
def site_run(tmp_path_factory) -> Path:
    from analysis.synth.generator import generate

    work = tmp_path_factory.mktemp("site")
    for name in COPY:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    frame = generate(401, seed=11)
    frame["patient_id"] = [f"{PLANTED_ID_PREFIX}{i:05d}" for i in range(len(frame))]
    for column, value in PLANTED.items():
        frame[column] = value
    frame.loc[3, "patient_id"] = frame.loc[4, "patient_id"]  # a duplicate: reported, not shown
    (work / "data_raw").mkdir()
    frame.to_csv(work / "data_raw" / "site.csv", index=False)
    first = _snakemake(work, "--config", "data=data_raw/site.csv")
    assert first.returncode != 0  # the duplicate identifier stops the run
    return work


def _checksums(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_duplicate_id_stops_the_run_without_showing_identifiers(site_run):
    report = (site_run / "logs" / "cohort.log").read_text()
    assert "column 'patient_id', row 4: subject identifier appears more than once" in report
    assert PLANTED_ID_PREFIX not in report
    assert not (site_run / "reports" / "report.html").exists()


def test_planted_identifiers_reach_no_output(site_run):
    # Mend the duplicate and run again: the workflow completes.
    import pandas as pd

    raw = site_run / "data_raw" / "site.csv"
    frame = pd.read_csv(raw)
    frame.loc[3, "patient_id"] = f"{PLANTED_ID_PREFIX}99999"
    frame.to_csv(raw, index=False)
    before = _checksums(site_run / "data_raw")
    out = _snakemake(site_run, "--config", "data=data_raw/site.csv")
    assert out.returncode == 0, out.stderr[-2000:]
    assert _checksums(site_run / "data_raw") == before
    assert (site_run / "reports" / "report.html").exists()
    needles = [*PLANTED.values(), PLANTED_ID_PREFIX]
    for folder in ("results", "reports", "logs"):
        for path in (site_run / folder).rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            if path.suffix == ".parquet":
                data = pd.read_parquet(path).to_csv().encode()
            for needle in needles:
                assert needle.encode() not in data, f"{needle!r} found in {path}"


def test_site_export_with_mapping_runs_end_to_end(tmp_path):
    """docs/own-data.md: make report DATA=data_raw/site.csv MAPPING=config/mapping.example.yaml"""
    for name in COPY:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / name)
    (tmp_path / "data_raw").mkdir()
    shutil.copy2(ROOT / "tests" / "mapping" / "fixtures" / "site_export.csv",
                 tmp_path / "data_raw" / "site.csv")  # fmt: skip
    out = _snakemake(
        tmp_path, "--config", "data=data_raw/site.csv", "mapping=config/mapping.example.yaml"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    html = (tmp_path / "reports" / "report.html").read_text()
    assert "site data: site.csv" in html
    provenance = (tmp_path / "reports" / "provenance.json").read_text()
    assert "mapping.example.yaml" in provenance
