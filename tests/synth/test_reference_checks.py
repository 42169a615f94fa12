"""The reference checks: rejection sampling over sub-seeds, deterministic and honest."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from analysis.derive import derive_cohort
from analysis.errors import AnalysisError
from analysis.models import build_model
from analysis.synth.checks import logit_wald_p, within_factor
from analysis.synth.generator import SynthParams, generate, load_params


def test_within_factor():
    assert within_factor(0.004, 0.002, 2.0, 0.05)
    assert not within_factor(0.0041, 0.002, 2.0, 0.05)
    assert within_factor(0.0205, 0.041, 2.0, 0.05)
    assert not within_factor(0.06, 0.041, 2.0, 0.05)  # within 2x but across 0.05
    assert not within_factor(float("nan"), 0.041, 2.0, 0.05)


def test_the_fast_logistic_fit_is_the_engines(cohort, study):
    """The check's Wald p-values equal analysis.models' adjusted Table 4 fit."""
    model = build_model(cohort, study, "table4")
    terms = {t["term"]: t["p_value"] for t in model["terms"]}
    y = cohort["neurotoxicity"].to_numpy(float)
    x = cohort[["albumin", "diabetic_nephropathy"]].to_numpy(float)
    p = logit_wald_p(y, x)
    assert p[1] == pytest.approx(terms["albumin"], rel=1e-6)
    assert p[2] == pytest.approx(terms["diabetic_nephropathy"], rel=1e-6)


def test_checks_run_only_at_the_reference_size():
    attempts: dict[str, int] = {}
    generate(400, attempts=attempts)
    assert set(attempts.values()) == {0}
    attempts = {}
    generate(401, attempts=attempts)
    assert attempts["doses"] > 0  # the dose block is redrawn at the default seed
    assert set(attempts) >= {"age", "sex", "doses", "albumin", "cholesterol"}


def test_redraws_touch_only_their_own_block():
    """A block's draw depends on its own attempt, not on how often others were redrawn."""
    checked = generate(401, seed=3)
    first = generate(401, seed=3, reference_checks=False)
    attempts: dict[str, int] = {}
    generate(401, seed=3, attempts=attempts)
    if attempts["age"] == 0:
        assert np.array_equal(checked.age, first.age)
    if attempts["cholesterol"] == 0:
        assert np.array_equal(checked.cholesterol, first.cholesterol, equal_nan=True)
    assert np.array_equal(checked.ckd_group, first.ckd_group)
    assert np.array_equal(checked.neurotoxicity, first.neurotoxicity)


def test_an_unreachable_target_is_one_clear_error():
    params = load_params()
    raw = copy.deepcopy(params.raw)
    raw["reference_checks"]["max_attempts"] = 3
    raw["reference_checks"]["blocks"]["diabetic_nephropathy"][0]["p"] = 0.5
    with pytest.raises(AnalysisError, match="diabetic_nephropathy"):
        generate(401, params=SynthParams(raw=raw, path=params.path))


def test_derived_groups_agree_with_the_generated_ones(synthetic, study):
    cohort = derive_cohort(synthetic, study)[0]
    assert (cohort.ckd_group.to_numpy() == synthetic.ckd_group.to_numpy()).all()
    assert (cohort.age_group.to_numpy() == synthetic.age_group.to_numpy()).all()


def test_no_checks_for_another_study():
    """Generated for a study without the paper's tables, the cohort is not checked."""
    from pathlib import Path

    from analysis.study import load_study

    other = load_study(Path(__file__).resolve().parents[1] / "fixtures" / "sleep.yaml")
    attempts: dict[str, int] = {}
    assert len(generate(401, study=other, attempts=attempts)) == 401
    assert set(attempts.values()) == {0}
