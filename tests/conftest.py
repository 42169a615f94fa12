"""Shared fixtures: the study file and the default synthetic cohort (built once)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.derive import derive_cohort
from analysis.models import build_model
from analysis.study import Study, load_study
from analysis.synth.generator import generate
from analysis.tables import build_table

ROOT = Path(__file__).resolve().parents[1]
STUDY_FILE = ROOT / "studies" / "baclofen_ckd.yaml"


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
