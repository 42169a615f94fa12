"""E-values against VanderWeele & Ding (Ann Intern Med 2017) and hand calculations."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.sensitivity.evalue import evalue_ci, evalue_rr, or_to_rr, run_evalue
from analysis.study import load_study

HERE = Path(__file__).parent


def test_published_worked_example():
    # VanderWeele & Ding 2017: RR 3.9 (95% CI 1.8 to 8.7) -> E = 7.26, CI E = 3.0
    assert evalue_rr(3.9) == pytest.approx(7.26, abs=0.005)
    assert evalue_ci(1.8, 8.7) == pytest.approx(3.0, abs=1e-12)  # 1.8 + sqrt(1.44)


def test_hand_calculations():
    assert evalue_rr(2.0) == pytest.approx(2 + math.sqrt(2))  # 3.4142
    assert evalue_rr(0.5) == pytest.approx(2 + math.sqrt(2))  # 1/RR
    assert evalue_rr(1.0) == 1.0
    assert evalue_ci(0.2, 0.5) == pytest.approx(2 + math.sqrt(2))  # limit nearer 1: 0.5
    assert evalue_ci(0.7, 1.3) == 1.0  # the CI includes 1
    assert or_to_rr(0.25, 0.10) == (0.25, "rare_outcome_or_as_rr")
    assert or_to_rr(0.25, 0.15) == (0.5, "common_outcome_sqrt_or")
    with pytest.raises(ValueError):
        evalue_rr(0.0)


def test_small_cohort_common_outcome():
    study = load_study(HERE / "reference_small_study.yaml")
    cohort = pd.read_csv(HERE / "reference_small.csv")
    res = run_evalue(cohort, study)
    # R: 21 events of 60 (35%): the square-root conversion
    assert res["prevalence"] == pytest.approx(21 / 60)
    assert res["conversion"] == "common_outcome_sqrt_or"
    p = res["primary"]
    # R glm: albumin OR 0.216026540380317 (0.0510411252835655, 0.914311075420485)
    rr = math.sqrt(0.216026540380317)  # 0.46479
    assert p["risk_ratio"] == pytest.approx(rr, rel=1e-6)
    assert p["evalue_point"] == pytest.approx(1 / rr + math.sqrt(1 / rr * (1 / rr - 1)),
                                              rel=1e-6)  # fmt: skip
    near = math.sqrt(0.914311075420485)
    assert p["evalue_ci"] == pytest.approx(1 / near + math.sqrt(1 / near * (1 / near - 1)),
                                           rel=1e-6)  # fmt: skip
    dn = next(e for e in res["evalues"] if e["term"] == "diabetic_nephropathy")
    assert dn["ci_includes_1"] is True and dn["evalue_ci"] == 1.0
    # per 0.5 g/dL, from R's refit OR 0.464786553570902
    half = next(e for e in res["evalues"] if e["per"] == "0.5 g/dL")
    assert half["risk_ratio"] == pytest.approx(math.sqrt(0.464786553570902), rel=1e-6)
    assert res["conclusion"]["holds"] is True


def test_default_cohort_runs_deterministic_json(cohort, study, results):
    first = run_evalue(cohort, study, results)
    again = run_evalue(cohort, study)
    assert json.dumps(first, sort_keys=True, allow_nan=False) == json.dumps(
        again, sort_keys=True, allow_nan=False
    )
    assert first["analysis"] == "evalue" and first["kind"] == "sensitivity"
    c = first["conclusion"]
    assert {"albumin_independent", "diabetic_nephropathy_independent", "holds", "text"} <= set(c)
