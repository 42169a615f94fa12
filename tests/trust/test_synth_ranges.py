"""Synthetic cohorts pass the project's own validation at every size.

Every collected and derived variable must lie inside the range the study file
declares (studies/baclofen_ckd.yaml, ``range:``) and every validation rule
(only_if fields, daily dose = total / period, eGFR inside its CKD group's band)
must hold, at n = 50 to 10^6. Expected values come from the study file or from
the assumed distributions (scipy), never from the generator's own output.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.__main__ import main
from analysis.derive import derive_cohort
from analysis.errors import AnalysisError
from analysis.study import Study, load_study
from analysis.synth.generator import SynthParams, generate, load_params
from analysis.synth.tails import grid_bounds, redraw_tails
from analysis.validate import validate_frame

ROOT = Path(__file__).resolve().parents[2]
STUDY = load_study(ROOT / "studies" / "baclofen_ckd.yaml")
PARAMS = load_params()
# Rules about the data set as a whole, not about implausible records.
DATASET_WARNINGS = {"all_missing", "single_group"}
SIZES = [
    (50, None),
    (50, 1),
    (50, 2),
    (50, 3),
    (401, None),
    (401, 7),
    (5000, None),
    (100_000, None),
]


@pytest.fixture(scope="module")
def cohorts() -> dict[tuple[int, int | None], tuple[pd.DataFrame, Counter]]:
    """Each (n, seed) generated once, with its tally of tail redraws."""
    out = {}
    for n, seed in SIZES:
        tally: Counter[str] = Counter()
        out[(n, seed)] = generate(n, seed, tally=tally), tally
    return out


def _ranged(study: Study, derived: bool) -> dict[str, tuple[float, float]]:
    return {
        v.name: v.range
        for v in study.variables.values()
        if v.range is not None and v.type == "continuous" and bool(v.derive) == derived
    }


@pytest.mark.parametrize(("n", "seed"), SIZES, ids=[f"n{n}-seed{s}" for n, s in SIZES])
def test_validation_passes(cohorts, n, seed):
    frame, _ = cohorts[(n, seed)]
    report = validate_frame(frame, STUDY, source=f"synth n={n}")
    assert [report.line(p) for p in report.errors] == []
    implausible = [report.line(p) for p in report.warnings if p.rule not in DATASET_WARNINGS]
    assert implausible == []


@pytest.mark.parametrize(("n", "seed"), SIZES, ids=[f"n{n}-seed{s}" for n, s in SIZES])
def test_collected_and_derived_values_inside_declared_ranges(cohorts, n, seed):
    frame, _ = cohorts[(n, seed)]
    for name, (lo, hi) in _ranged(STUDY, derived=False).items():
        x = frame[name].dropna()
        assert x.between(lo, hi).all(), (name, x.min(), x.max())
    cohort, flow = derive_cohort(frame, STUDY)
    assert flow[-1]["n"] == n  # nobody falls out of the inclusion criteria
    for name, (lo, hi) in _ranged(STUDY, derived=True).items():
        x = cohort[name].dropna()
        assert len(x) > 0 and x.between(lo, hi).all(), (name, x.min(), x.max())
    # eGFR recomputed from creatinine keeps every patient in the CKD group generated
    # (so the published group counts survive the derivation), inside its band
    assert (cohort["ckd_group"].to_numpy() == frame["ckd_group"].to_numpy()).all()
    spec = STUDY.variables["ckd_group"].derive
    for band in spec["bands"]:
        egfr = cohort.loc[cohort["ckd_group"] == band["code"], "egfr"]
        assert egfr.between(band["egfr_min"], band["egfr_max"], inclusive="left").all()


def test_a_million_rows():
    """10^6 rows (~15 s): where the unbounded tails used to fail ~1,400 checks."""
    n = 1_000_000
    frame = generate(n)
    report = validate_frame(frame, STUDY)
    assert [report.line(p) for p in report.errors] == []
    assert [p.rule for p in report.warnings] == []
    cohort, flow = derive_cohort(frame, STUDY)
    assert flow[-1]["n"] == n
    for name, (lo, hi) in _ranged(STUDY, derived=True).items():
        assert cohort[name].dropna().between(lo, hi).all(), name


def test_assumed_limits_hold_exactly(cohorts):
    """The assumptions file's own limits (BMI 15-40, albumin, age) are not just approximate."""
    frame, _ = cohorts[(100_000, None)]
    lo, hi = PARAMS["bmi"]["min"], PARAMS["bmi"]["max"]
    bmi = frame["weight"] / (frame["height"] / 100) ** 2
    assert bmi.between(lo, hi).all()
    age = PARAMS["age"]
    assert frame["age"].between(age["min"], age["max"]).all()
    alb = PARAMS["albumin"]
    assert frame["albumin"].dropna().between(alb["min"], alb["max"]).all()


def _cell_mass(dist, value: float, unit: float) -> float:
    """Probability that a draw rounds to ``value`` (grid ``unit``)."""
    return float(dist.cdf(value + unit / 2) - dist.cdf(value - unit / 2))


def test_no_value_piles_up_at_a_bound(cohorts):
    """Tail draws are redrawn, not clipped: a bound holds no more than its own density.

    Clipping would add the whole tail beyond the bound (e.g. ~0.8 % of ages at 95,
    ~2 % of BMIs at 15) to the bound's count.
    """
    frame, _ = cohorts[(100_000, None)]
    n = len(frame)
    age = PARAMS["age"]
    age_dist = stats.norm(age["mean"], age["sd"])
    chol = PARAMS["labs"]["cholesterol"]
    chol_dist = stats.norm(chol["mean"], chol["sd"])
    dy = PARAMS["dialysis_years"]
    dy_dist = stats.lognorm(s=np.log(dy["gsd"]), scale=dy["median"])
    dialysed = frame.loc[(frame.dialysis_modality > 0) & (frame.neurotoxicity == 0)]
    checks = [
        ("age", frame["age"], age["min"], age_dist, 1, n),
        ("age", frame["age"], age["max"], age_dist, 1, n),
        ("cholesterol", frame["cholesterol"], 30, chol_dist, 1, frame.cholesterol.notna().sum()),
        ("dialysis_years", dialysed["dialysis_years"], dy["max"], dy_dist, 1, len(dialysed)),
    ]
    for name, values, bound, dist, unit, size in checks:
        expected = size * _cell_mass(dist, bound, unit)
        tail = size * (dist.cdf(bound - unit / 2) if bound < dist.median() else dist.sf(bound))
        observed = int((values == bound).sum())
        assert observed <= 1.25 * expected + 10, (name, bound, observed, expected, tail)
    # BMI 15: the lowest 0.2 kg/m2 are no denser than the next 0.2 (density rises towards 22)
    bmi = frame["weight"] / (frame["height"] / 100) ** 2
    lowest = int(bmi.between(15, 15.2, inclusive="left").sum())
    next_ = int(bmi.between(15.2, 15.4, inclusive="left").sum())
    assert lowest <= next_ * 1.2 + 10, (lowest, next_)


def test_redraws_happen_as_often_as_the_tail_mass_says(cohorts):
    """At 10^5 rows the number of redraws matches the assumed distribution's tails."""
    _, tally = cohorts[(100_000, None)]
    n = 100_000
    age = PARAMS["age"]
    age_dist = stats.norm(age["mean"], age["sd"])
    chol_range = STUDY.variables["cholesterol"].range
    chol = PARAMS["labs"]["cholesterol"]
    chol_dist = stats.norm(chol["mean"], chol["sd"])
    crp_range = STUDY.variables["crp"].range
    crp = PARAMS["labs"]["crp"]
    crp_dist = stats.lognorm(s=np.log(crp["gsd"]), scale=crp["median"])
    expected = {
        "age": age_dist.cdf(age["min"] - 0.5) + age_dist.sf(age["max"] + 0.5),
        "cholesterol": chol_dist.cdf(chol_range[0] - 0.5) + chol_dist.sf(chol_range[1] + 0.5),
        "crp": crp_dist.sf(crp_range[1] + 0.005),
    }
    for name, share in expected.items():
        assert tally[name] == pytest.approx(n * share, rel=0.3, abs=5), name


def test_study_ranges_hold_even_for_wild_assumptions():
    """Ranges come from the study file, not from assumptions being well behaved."""
    raw = copy.deepcopy(PARAMS.raw)
    for spec in raw["labs"].values():
        if "sd" in spec:
            spec["sd"] *= 5
        else:
            spec["gsd"] = 12.0
    raw["age"].update(sd=40.0, min=0, max=200)
    raw["albumin"].update(sd=2.0, min=-5, max=50)
    raw["bmi"] = {"min": 0, "max": 500}
    raw["height"]["female"]["sd"] = 30.0
    raw["daily_dose_range"] = [0.01, 1000]
    wild = SynthParams(raw=raw, path=PARAMS.path)
    frame = generate(5000, seed=11, params=wild)
    report = validate_frame(frame, STUDY)
    assert [report.line(p) for p in report.errors] == []
    cohort, _ = derive_cohort(frame, STUDY)
    for name, (lo, hi) in _ranged(STUDY, derived=True).items():
        assert cohort[name].dropna().between(lo, hi).all(), name


def test_an_assumption_that_cannot_fit_the_study_fails_loudly():
    raw = copy.deepcopy(PARAMS.raw)
    raw["egfr_band"][1] = [15.2, 250.0]  # eGFR above the study's 0-200
    with pytest.raises(ValueError, match="outside the study range"):
        generate(2000, params=SynthParams(raw=raw, path=PARAMS.path))


def test_a_missing_study_file_is_one_clear_error(tmp_path):
    raw = {**PARAMS.raw, "study": "nowhere.yaml"}
    moved = SynthParams(raw=raw, path=tmp_path / "assumptions.yaml")
    with pytest.raises(AnalysisError, match=r"nowhere\.yaml"):
        generate(10, params=moved)


def test_cli_synth_then_validate(tmp_path, capsys):
    data, report = tmp_path / "cohort.parquet", tmp_path / "validation.json"
    assert main(["synth", "--n", "5000", "--seed", "3", "--out", str(data)]) == 0
    assert main(["validate", str(data), "--json-out", str(report)]) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["n_errors"] == 0


# -- the tail rule on its own ---------------------------------------------------


def test_grid_bounds_hand_examples():
    lo, hi = grid_bounds(20, 95, 0)
    assert np.round(lo) == 20 and np.round(hi) == 95
    assert 19.5 < lo < 19.51 and 95.49 < hi < 95.5
    # a weight limit off the 0.1-kg grid moves inward to 51.4 kg
    lo, _ = grid_bounds(51.337, 200, 1)
    assert np.round(lo, 1) == 51.4 and lo > 51.35
    # 0.3 * 10 is not exactly 3 in floating point; the limit must stay 0.3
    lo, _ = grid_bounds(0.3, 30, 1)
    assert np.round(lo, 1) == 0.3
    # whole days rounded up: ceil(x) in [1, 15] <=> 0 < x <= 15
    lo, hi = grid_bounds(1, 15, 0, how="ceil")
    assert 0 < lo < 1e-5 and hi == 15


def test_redraw_touches_only_the_tails():
    rng = np.random.default_rng(0)
    z = rng.standard_normal(100_000)
    out, k = redraw_tails(z, -1.0, 2.0, np.random.default_rng(1))
    inside = (z >= -1) & (z <= 2)
    assert k == int((~inside).sum())
    assert np.array_equal(out[inside], z[inside])
    assert out.min() >= -1 and out.max() <= 2
    assert (out[z > 2] >= 0).all() and (out[z < -1] <= 0).all()  # same side of the median


def test_redraw_gives_the_half_truncated_distribution():
    """Each half keeps its mass (median kept) and is spread like the normal density in it."""
    z = stats.norm.ppf((np.arange(400_000) + 0.5) / 400_000)
    out, _ = redraw_tails(z, -1.0, 2.0, np.random.default_rng(2))
    assert np.mean(out < 0) == pytest.approx(0.5, abs=1e-9)
    phi = stats.norm.cdf
    for a, b in [(1.5, 2.0), (1.99, 2.0), (0.0, 0.5)]:
        expected = 0.5 * (phi(b) - phi(a)) / (phi(2.0) - 0.5)
        assert np.mean((out >= a) & (out < b)) == pytest.approx(expected, rel=0.03)
    expected = 0.5 * (phi(-0.99) - phi(-1.0)) / (0.5 - phi(-1.0))
    assert np.mean((out >= -1.0) & (out < -0.99)) == pytest.approx(expected, rel=0.05)


def test_redraw_respects_a_pivot_and_per_row_limits():
    z = np.array([-9.0, -9.0, 9.0, 0.1])
    z_lo = np.array([-3.0, -2.0, -2.0, -2.0])
    z_hi = np.array([3.0, 1.0, 2.5, 1.0])
    out, k = redraw_tails(z, z_lo, z_hi, np.random.default_rng(3), pivot=-0.5)
    assert k == 3 and out[3] == 0.1
    assert -3.0 <= out[0] <= -0.5 and -2.0 <= out[1] <= -0.5 and -0.5 <= out[2] <= 2.5
    with pytest.raises(ValueError, match="empty interval"):
        redraw_tails(
            np.zeros(2), np.array([0.0, 1.0]), np.array([1.0, 0.5]), np.random.default_rng()
        )
