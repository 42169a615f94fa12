"""MDRD eGFR against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.clinical import ckd_epi_2021_egfr, mdrd_creatinine, mdrd_egfr


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


@pytest.mark.parametrize(
    ("scr", "age", "female", "expected"),
    [
        # computed independently with bc from Inker et al. NEJM 2021, e.g.
        #   echo "142*e(-1.200*l(1.0/0.9))*e(50*l(0.9938))" | bc -l
        (1.0, 50, False, 91.69147860983322),
        (0.5, 70, True, 100.83590075564284),  # Scr below kappa: the alpha branch
        (3.0, 65, False, 22.34952805000030),
    ],
)
def test_ckd_epi_2021(scr, age, female, expected):
    value = ckd_epi_2021_egfr(np.array([scr]), np.array([age]), np.array([female]))[0]
    assert value == pytest.approx(expected, rel=1e-10)


def test_derive_uses_the_equation_the_study_file_names(tmp_path, study, synthetic):
    from analysis.derive import derive_variables
    from analysis.study import load_study

    text = study.path.read_text(encoding="utf-8").replace(
        "kind: mdrd_egfr", "kind: ckd_epi_2021_egfr"
    )
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    rows = synthetic.head(5)
    out = derive_variables(rows, load_study(path))
    expected = ckd_epi_2021_egfr(rows.creatinine, rows.age, rows.sex == 2)
    assert np.allclose(out.egfr, expected)
