"""dose_table: the paper's starting doses beside the toxic doses; against R quantile
(type = 6) on reference_small.csv (reference_sensitivity.R)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.sensitivity.dose_table import PAPER_STARTING_DOSES, run_dose_table
from analysis.study import load_study

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def small():
    study = load_study(HERE / "reference_small_study.yaml")
    cohort = pd.read_csv(HERE / "reference_small.csv")
    return run_dose_table(cohort, study)


def test_paper_doses_are_the_papers():
    assert [(b["groups"], b["dose"]) for b in PAPER_STARTING_DOSES] == [((1, 2), 7.5), ((3,), 2.5)]


# R: n, min, quantile(type = 6) 25/50/75, max; counts at or below the start
R_GROUPS = {
    "1": ([8, 5.5, 8.125, 10, 14, 15], 7.5, 1),
    "2": ([4, 2.5, 4.125, 10.5, 20.25, 23], 7.5, 1),
    "3": ([9, 5.5, 7.25, 11, 17.75, 24], 2.5, 0),
}


def test_groups_match_r(small):
    groups = {g["key"]: g for g in small["groups"]}
    for key, (stats, start, below) in R_GROUPS.items():
        g = groups[key]
        got = [g["n"], g["min"], g["q1"], g["median"], g["q3"], g["max"]]
        assert got == pytest.approx(stats, rel=1e-12)
        assert g["suggested_start"] == start
        assert g["n_at_or_below_start"] == below
    band = small["bands"][0]
    assert [band["n"], band["min"], band["q1"], band["median"], band["q3"], band["max"]] == (
        pytest.approx([12, 2.5, 8.125, 10, 14, 23]))  # fmt: skip
    assert band["n_at_or_below_start"] == 2
    assert small["overall"] == {"n_toxic": 21, "n_with_dose": 21, "n_at_or_below_start": 2,
                                "n_unassigned": 0}  # fmt: skip
    assert small["conclusion"]["starting_doses_below_all_toxic"] is False


def test_starting_doses_as_parameter():
    study = load_study(HERE / "reference_small_study.yaml")
    cohort = pd.read_csv(HERE / "reference_small.csv")
    res = run_dose_table(cohort, study, starting_doses=(
        {"label": "All", "groups": (1, 2, 3), "dose": 2.5},))  # fmt: skip
    # R: n <= 2.5 is 0, 1, 0 by group
    assert res["overall"]["n_at_or_below_start"] == 1


def test_default_cohort_runs_deterministic_json(cohort, study, results):
    first = run_dose_table(cohort, study, results)
    again = run_dose_table(cohort, study)
    assert json.dumps(first, sort_keys=True, allow_nan=False) == json.dumps(
        again, sort_keys=True, allow_nan=False
    )
    assert first["analysis"] == "dose_table"
    assert [g["key"] for g in first["groups"]] == ["1", "2", "3"]
    c = first["conclusion"]
    assert {"albumin_independent", "diabetic_nephropathy_independent", "holds", "text"} <= set(c)
