"""MDRD eGFR against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.clinical import mdrd_creatinine, mdrd_egfr


def test_mdrd_male_hand_calculation():
    # 175 x 2.0^-1.154 x 60^-0.203, computed independently with bc:
    #   echo "175*e(-1.154*l(2))*e(-0.203*l(60))" | bc -l  ->  34.25190492...
    assert mdrd_egfr(np.array([2.0]), np.array([60.0]), np.array([False]))[0] == pytest.approx(
        34.25190492, rel=1e-8
    )


def test_mdrd_female_factor():
    male = mdrd_egfr(np.array([2.0]), np.array([60.0]), np.array([False]))[0]
    female = mdrd_egfr(np.array([2.0]), np.array([60.0]), np.array([True]))[0]
    assert female / male == pytest.approx(0.742)


def test_mdrd_creatinine_is_the_inverse():
    egfr = np.array([5.0, 14.9, 22.0])
    age = np.array([40.0, 70.0, 85.0])
    female = np.array([True, False, True])
    assert np.allclose(mdrd_egfr(mdrd_creatinine(egfr, age, female), age, female), egfr)
