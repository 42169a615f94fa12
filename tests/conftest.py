"""Shared fixtures: the study file, the default synthetic cohort (built once) and one run
of the whole Snakemake workflow (shared by tests/test_workflow.py and tests/tools/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from support import SNAKEMAKE, env_without, workflow_copy

from analysis.derive import derive_cohort
from analysis.models import build_model
from analysis.study import Study, load_study
from analysis.synth.generator import generate
from analysis.tables import build_table

ROOT = Path(__file__).resolve().parents[1]
STUDY_FILE = ROOT / "studies" / "baclofen_ckd.yaml"
WORKFLOW_FILES = ["Snakefile", "rules", "config", "studies", "docs", "envs"]


@pytest.fixture(scope="session")
def study() -> Study:
    return load_study(STUDY_FILE)


@pytest.fixture(scope="session")
def synthetic() -> pd.DataFrame:
    """The default synthetic cohort: n = 401, default seed."""
    return generate(401)


@pytest.fixture(scope="session")
def cohort(synthetic: pd.DataFrame, study: Study) -> pd.DataFrame:
    return derive_cohort(synthetic, study)[0]


@pytest.fixture(scope="session")
def results(cohort: pd.DataFrame, study: Study) -> dict[str, dict]:
    """Every table and model of the study on the default synthetic cohort."""
    out = {t["id"]: build_table(cohort, study, t["id"]) for t in study.tables}
    out.update({m["id"]: build_model(cohort, study, m["id"]) for m in study.models})
    return out


def _run_workflow(work: Path) -> Path:
    env = env_without(SNAKEMAKE.parent)  # the rules name their interpreter themselves
    out = subprocess.run(
        [str(SNAKEMAKE), "--cores", "2"], cwd=work, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return work


@pytest.fixture(scope="session")
def workflow_files(tmp_path_factory) -> Path:
    """The workflow's files (Snakefile, rules, config, study, ...) copied once: every run
    of the session starts from the same ones."""
    template = tmp_path_factory.mktemp("workflow_files")
    for name in WORKFLOW_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, template / name)
    return template


@pytest.fixture(scope="session")
def workflow_run(workflow_files, tmp_path_factory) -> Path:
    """The default workflow (synthetic cohort, every format) run once in a scratch copy.
    Shared by tests/test_workflow.py and tests/tools/: read it, do not change it."""
    return _run_workflow(workflow_copy(workflow_files, tmp_path_factory.mktemp("workflow")))


@pytest.fixture(scope="session")
def workflow_rerun(workflow_files, tmp_path_factory) -> Path:
    """A second, independent run of the same workflow in another folder (determinism)."""
    work = tmp_path_factory.mktemp("workflow_again")
    return _run_workflow(workflow_copy(workflow_files, work))
