"""Plausibility rules of the synthetic records, one test per rule.

Checked on the default cohort (n = 401) and on other sizes and seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.synth.allocate import pinned_capped_sample
from analysis.synth.generator import assign_capped, generate

COHORTS = [(401, None), (401, 11), (60, 5), (5000, 2)]


@pytest.fixture(scope="module", params=COHORTS, ids=[f"n{n}-seed{s}" for n, s in COHORTS])
def frame(request) -> pd.DataFrame:
    n, seed = request.param
    return generate(n, seed)


def _nt(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.neurotoxicity == 1]


def test_onset_within_the_course(frame):
    """Onset no later than the end of the course plus a day (the last dose's effect)."""
    nt = _nt(frame)
    assert (nt.onset_hours <= 24 * (nt.medication_days + 1)).all()
    assert (nt.onset_hours > 0).all()


def test_ventilation_and_crrt_only_in_the_icu(frame):
    nt = _nt(frame)
    assert (nt.loc[nt.ventilator == 1, "icu"] == 1).all()
    assert (nt.loc[nt.crrt == 1, "icu"] == 1).all()


def test_ventilator_days_within_the_icu_stay(frame):
    vent = _nt(frame).query("ventilator == 1")
    assert (vent.ventilator_days <= vent.icu_days).all()


def test_dialysis_treatment_fits_the_modality(frame):
    """Therapeutic PD only for PD patients; therapeutic HD never for a PD patient."""
    nt = _nt(frame)
    assert (nt.loc[nt.therapeutic_pd == 1, "dialysis_modality"] == 2).all()
    assert (nt.loc[nt.therapeutic_hd == 1, "dialysis_modality"] != 2).all()


def test_dialysis_sessions_at_most_one_a_day_while_symptomatic(frame):
    nt = _nt(frame)
    hd = nt.query("therapeutic_hd == 1")
    assert (hd.therapeutic_hd_sessions <= hd.symptom_days + 1).all()
    pd_ = nt.query("therapeutic_pd == 1")
    assert (pd_.therapeutic_pd_days <= pd_.symptom_days + 1).all()


def test_dialysis_vintage_not_before_adulthood(frame):
    on = frame[frame.dialysis_modality > 0]
    assert (on.dialysis_years <= on.age - 18).all()


def test_courses_are_whole_days_and_daily_dose_is_total_over_days(frame):
    assert (frame.medication_days >= 1).all()
    assert (frame.medication_days == np.round(frame.medication_days)).all()
    assert np.allclose(frame.daily_dose, frame.total_dose / frame.medication_days)
    assert frame.daily_dose.between(2.5 - 1e-9, 60 + 5).all()


def test_toxic_daily_doses_inside_the_published_ranges(frame):
    """paper.md Table 7: toxic daily doses 10-20 (CKD 4, 5ND) and 5-20 mg/day (dialysis)."""
    nt = _nt(frame)
    for group, (low, high) in {1: (10, 20), 2: (10, 20), 3: (5, 20)}.items():
        assert nt.loc[nt.ckd_group == group, "daily_dose"].between(low, high).all()


def test_assign_capped_respects_every_cap():
    rng = np.random.default_rng(0)
    caps = np.array([48.0] * 5 + [72.0] * 3 + [400.0])
    values = np.array([9, 12, 20, 30, 40, 50, 60, 70, 240.0])
    out = assign_capped(values, caps, rng)
    assert sorted(out) == sorted(values) and (out <= caps).all()
    with pytest.raises(ValueError):
        assign_capped(np.array([100.0, 100.0]), np.array([48.0, 200.0]), rng)


def test_pinned_capped_sample_keeps_the_summary_and_the_caps():
    rng = np.random.default_rng(1)
    caps = np.array([48.0] * 11 + [72.0] * 9 + [96.0] * 3 + [120.0] * 3 + [264.0, 384.0])
    for _ in range(50):
        x = pinned_capped_sample(39.5, 9, 240, 0, caps, rng)
        assert (np.median(x), x.min(), x.max()) == (39.5, 9, 240)
        assert (x <= caps).all()
        # no pile at the median: at most a few rows share a middle value
        assert np.unique(x, return_counts=True)[1].max() <= 6
