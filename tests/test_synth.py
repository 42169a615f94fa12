"""The synthetic cohort: published counts, internal consistency, determinism, formats."""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from analysis.clinical import mdrd_egfr
from analysis.export import write_cohort
from analysis.synth.generator import NEUROTOXIC_ONLY, generate, iter_chunks, load_params


def _count(frame: pd.DataFrame, column: str, value) -> int:
    return int((frame[column] == value).sum())


# Published counts, paper.md "Published figures" (n = 401).
def test_published_counts_whole_cohort(synthetic):
    df = synthetic
    assert len(df) == 401
    assert [_count(df, "ckd_group", g) for g in (1, 2, 3)] == [174, 97, 130]
    assert _count(df, "sex", 1) == 355
    assert _count(df, "sex", 2) == 46
    assert _count(df, "neurotoxicity", 1) == 28
    assert _count(df, "reason", 1) == 373


# paper.md, Tables 5-6: counts among the 28 neurotoxic patients.
PUBLISHED_NEUROTOXIC_COUNTS = {
    ("reason", 1): 26,
    ("reason", 2): 2,
    ("place", 1): 26,
    ("mental_change", 1): 26,
    ("seizure", 1): 5,
    ("icu", 1): 4,
    ("ventilator", 1): 3,
    ("therapeutic_hd", 1): 15,
    ("crrt", 1): 1,
    ("therapeutic_pd", 1): 2,
    ("dialysis_modality", 1): 10,
    ("dialysis_modality", 2): 2,
    ("cns_drugs", 1): 26,
}


def test_published_counts_among_the_28_neurotoxic(synthetic):
    nt = synthetic[synthetic.neurotoxicity == 1]
    ours = {key: _count(nt, *key) for key in PUBLISHED_NEUROTOXIC_COUNTS}
    assert ours == PUBLISHED_NEUROTOXIC_COUNTS


# paper.md Tables 5-6: median (min, max) of the neurotoxic patients.
PUBLISHED_MEDIAN_RANGE = {
    "onset_hours": (39.5, 9.0, 240.0),
    "symptom_days": (2.0, 1.0, 16.0),
    "icu_days": (17.5, 5.0, 35.0),
    "ventilator_days": (12.0, 8.0, 27.0),
    "therapeutic_hd_sessions": (2.0, 1.0, 7.0),
    "therapeutic_pd_days": (3.0, 2.0, 4.0),
}


@pytest.mark.parametrize("column", list(PUBLISHED_MEDIAN_RANGE))
def test_table6_medians_and_ranges(synthetic, column):
    x = synthetic.loc[synthetic.neurotoxicity == 1, column].dropna()
    assert (x.median(), x.min(), x.max()) == PUBLISHED_MEDIAN_RANGE[column]


def test_dialysis_vintage_of_the_neurotoxic(synthetic):
    x = synthetic.loc[
        (synthetic.neurotoxicity == 1) & (synthetic.dialysis_modality > 0), "dialysis_years"
    ]
    assert (x.median(), x.min(), x.max()) == (3.0, 1.0, 7.0)


def test_table7_dose_extremes(synthetic):
    nt = synthetic[synthetic.neurotoxicity == 1]
    # Minimum toxic daily dose 10 / 10 / 5 mg by CKD group; all maxima 20 mg.
    assert nt.groupby("ckd_group").daily_dose.min().tolist() == [10, 10, 5]
    assert nt.groupby("ckd_group").daily_dose.max().tolist() == [20, 20, 20]
    lowest = nt.loc[nt.total_dose.idxmin()]
    highest = nt.loc[nt.total_dose.idxmax()]
    assert lowest.total_dose == 5 and lowest.dialysis_modality == 2  # a PD patient
    assert highest.total_dose == 150 and highest.ckd_group == 1  # a stage-4 patient
    # The published medians 10 / 12.5 / 10 mg/day (overall 10.6, Table 2).
    assert nt.groupby("ckd_group").daily_dose.median().tolist() == [10.0, 12.5, 10.0]
    assert round(nt.daily_dose.median(), 1) == 10.6
    # ...and total doses 20 / 30 / 17.5 mg (Table 7)
    assert nt.groupby("ckd_group").total_dose.median().tolist() == [20.0, 30.0, 17.5]


def test_daily_dose_is_total_over_days(synthetic):
    assert np.allclose(synthetic.daily_dose, synthetic.total_dose / synthetic.medication_days)
    assert (synthetic.medication_days == np.round(synthetic.medication_days)).all()
    assert (synthetic.medication_days >= 1).all()


def test_bmi_is_weight_over_height_squared(synthetic):
    expected = synthetic.weight / (synthetic.height / 100) ** 2
    assert np.allclose(synthetic.bmi, expected, atol=0.005)


def test_egfr_is_mdrd_and_inside_each_group_band(synthetic):
    female = synthetic.sex == 2
    recomputed = mdrd_egfr(synthetic.creatinine, synthetic.age, female)
    assert np.allclose(synthetic.egfr, recomputed, atol=0.05)
    bands = {1: (15, 30), 2: (0, 15), 3: (0, 15)}
    for group, (lo, hi) in bands.items():
        egfr = synthetic.loc[synthetic.ckd_group == group, "egfr"]
        assert egfr.between(lo, hi, inclusive="left").all(), group
    assert ((synthetic.ckd_group == 3) == (synthetic.dialysis_modality > 0)).all()


def test_neurotoxicity_only_fields_empty_without_neurotoxicity(synthetic):
    without = synthetic[synthetic.neurotoxicity == 0]
    assert without[NEUROTOXIC_ONLY].isna().all().all()
    with_ = synthetic[synthetic.neurotoxicity == 1]
    for name in ("mental_change", "seizure", "icu", "onset_hours", "symptom_days"):
        assert with_[name].notna().all(), name
    # sub-fields only where their parent applies
    assert with_.loc[with_.icu == 0, "icu_days"].isna().all()
    assert with_.loc[with_.ventilator == 1, "icu"].eq(1).all()


def test_lab_missingness_follows_the_parameters(synthetic):
    params = load_params()
    for name, share in params["missing"].items():
        assert synthetic[name].isna().sum() == round(share * 401), name
    no_missing = copy.deepcopy(params.raw)
    no_missing["missing"] = {k: 0 for k in no_missing["missing"]}
    frame = generate(401, params=type(params)(raw=no_missing, path=params.path))
    assert frame[list(params["missing"])].notna().all().all()


def test_every_assumption_is_documented():
    """Each leaf of the assumptions file carries '# assumed' or '# published' nearby."""
    text = load_params().path.read_text(encoding="utf-8")
    assert text.count("# assumed") >= 25
    assert text.count("published") >= 10


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_any_n_works(n):
    frame = generate(n, seed=3)
    assert len(frame) == n
    assert frame.patient_id.is_unique
    assert frame.ckd_group.isin([1, 2, 3]).all()


def test_chunks_are_deterministic_and_sized():
    a = pd.concat(iter_chunks(2500, seed=9, chunk_size=1000), ignore_index=True)
    b = pd.concat(iter_chunks(2500, seed=9, chunk_size=1000), ignore_index=True)
    pd.testing.assert_frame_equal(a, b)
    assert [len(c) for c in iter_chunks(2500, seed=9, chunk_size=1000)] == [1000, 1000, 500]
    # proportions hold in every chunk
    assert abs((a.ckd_group == 1).mean() - 174 / 401) < 0.002


def test_different_seeds_give_different_data():
    a, b = generate(401, seed=1), generate(401, seed=2)
    assert not a.albumin.equals(b.albumin)
    assert not a.age.equals(b.age)
    # ...with the same published counts
    assert (a.neurotoxicity.sum(), (a.sex == 1).sum()) == (
        b.neurotoxicity.sum(),
        (b.sex == 1).sum(),
    )


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("ext", ["csv", "parquet", "sav", "dta"])
def test_same_seed_gives_byte_identical_files(tmp_path, study, ext):
    first, second = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
    write_cohort(iter_chunks(401, seed=5), first, study)
    write_cohort(iter_chunks(401, seed=5), second, study)
    assert _sha(first) == _sha(second)
    third = tmp_path / f"c.{ext}"
    write_cohort(iter_chunks(401, seed=6), third, study)
    assert _sha(first) != _sha(third)


def test_fixed_creation_stamps_leave_the_headers_intact(tmp_path, study):
    import struct

    sav, dta = tmp_path / "c.sav", tmp_path / "c.dta"
    write_cohort(iter_chunks(10), sav, study)
    write_cohort(iter_chunks(10), dta, study)
    head = sav.read_bytes()[:120]
    # SPSS system-file header: ncases at byte 80, compression bias at 84, then the
    # creation date and time (IBM SPSS Statistics, "System File Format")
    assert struct.unpack("<i", head[80:84]) == (10,)
    assert struct.unpack("<d", head[84:92]) == (100.0,)
    assert head[92:109] == b"01 Jan 7000:00:00"
    assert b"<timestamp>\x1101 Jan 1970 00:00</timestamp>" in dta.read_bytes()[:2000]


def test_sav_round_trip_keeps_labels(tmp_path, study, synthetic):
    path = tmp_path / "cohort.sav"
    write_cohort([synthetic], path, study)
    frame, meta = pyreadstat.read_sav(str(path))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["albumin"] == "Serum albumin (g/dL)"
    assert labels["neurotoxicity"] == "Neurotoxicity"
    assert meta.variable_value_labels["sex"] == {1.0: "Male", 2.0: "Female"}
    assert meta.variable_value_labels["ckd_group"][3.0] == "Dialysis"
    assert len(frame) == 401
    assert np.allclose(frame.albumin, synthetic.albumin, equal_nan=True)


def test_dta_round_trip(tmp_path, study, synthetic):
    path = tmp_path / "cohort.dta"
    write_cohort([synthetic], path, study)
    frame, meta = pyreadstat.read_dta(str(path))
    assert len(frame) == 401
    assert meta.variable_value_labels["sex"] == {1: "Male", 2: "Female"}


def test_unknown_output_format(tmp_path, study):
    from analysis.errors import AnalysisError

    with pytest.raises(AnalysisError, match=r"unknown output format '\.xls'"):
        write_cohort(iter_chunks(5), tmp_path / "x.xls", study)
    assert not list(tmp_path.iterdir())
