"""expression and combine on small frames: values, codes, missing counts, range checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.derive import derive_cohort_traced, derive_variables
from analysis.errors import DataError

STATUS = {
    "name": "status",
    "label": "Status",
    "type": "categorical",
    "codes": {0: "censored", 1: "transplant", 2: "dead"},
}
HD = {"name": "hd", "label": "Haemodialysis", "type": "binary", "codes": {0: "No", 1: "Yes"}}
PD = {"name": "pd", "label": "Peritoneal dialysis", "type": "binary", "codes": {0: "No", 1: "Yes"}}
MODALITY = {
    "name": "modality",
    "label": "Dialysis modality",
    "type": "categorical",
    "codes": {0: "none", 1: "HD", 2: "PD"},
}


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


# ----------------------------------------------------------------- expression


def test_condition_gives_the_binary_codes_false_first_true_last(make_study):
    # codes {1: No, 2: Yes}: false -> 1, true -> 2 (not 0/1)
    dead = {
        "name": "dead",
        "label": "Dead",
        "type": "binary",
        "codes": {1: "No", 2: "Yes"},
        "derive": {"kind": "expression", "expr": "status == 2"},
    }
    study = make_study([STATUS, dead])
    out = derive_variables(pd.DataFrame({"status": [0, 2, None, 1]}), study)
    assert values(out["dead"]) == [1, 2, None, 1]


def test_condition_with_text_codes(make_study):
    sex = {"name": "sex", "label": "Sex", "type": "categorical", "codes": {"M": "M", "F": "F"}}
    female = {
        "name": "female",
        "label": "Female",
        "type": "binary",
        "codes": {"n": "No", "y": "Yes"},
        "derive": {"kind": "expression", "expr": "sex == 'F'"},
    }
    study = make_study([sex, female])
    out = derive_variables(pd.DataFrame({"sex": ["F", "M", None]}), study)
    assert values(out["female"]) == ["y", "n", None]


def test_kleene_logic_reaches_the_derived_codes(make_study):
    dm = {"name": "dm", "label": "DM", "type": "binary", "codes": {0: "No", 1: "Yes"}}
    htn = {"name": "htn", "label": "HTN", "type": "binary", "codes": {0: "No", 1: "Yes"}}
    dm_only = {
        "name": "dm_only",
        "label": "DM only",
        "type": "binary",
        "codes": {0: "No", 1: "Yes"},
        "derive": {"kind": "expression", "expr": "(dm == 1) and not (htn == 1)"},
    }
    study = make_study([dm, htn, dm_only])
    frame = pd.DataFrame({"dm": [1, 1, 0, 0, None, 1, None], "htn": [0, 1, None, 0, 1, None, 0]})
    # by hand: T&T=1, T&F=0, F&?=0, F&T=0, ?&F=0, T&?=missing, ?&T=missing
    assert values(derive_variables(frame, study)["dm_only"]) == [1, 0, 0, 0, 0, None, None]


def test_arithmetic_derivation_and_what_it_made_missing(make_study):
    weight = {"name": "weight", "label": "Weight", "type": "continuous", "unit": "kg"}
    height = {"name": "height", "label": "Height", "type": "continuous", "unit": "cm"}
    bmi = {
        "name": "bmi2",
        "label": "BMI",
        "type": "continuous",
        "range": [10, 60],
        "derive": {"kind": "expression", "expr": "weight / (height / 100) ** 2"},
    }
    study = make_study([weight, height, bmi])
    frame = pd.DataFrame({"weight": [70.0, 80.0, None, 60.0], "height": [175.0, 160.0, 170.0, 0.0]})
    traced = derive_cohort_traced(frame, study)
    # 70/1.75^2 = 22.8571..., 80/1.6^2 = 31.25
    got = traced.cohort["bmi2"].tolist()
    assert got[:2] == pytest.approx([22.857142857, 31.25])
    assert np.isnan(got[2]) and np.isnan(got[3])
    assert traced.made_missing == [
        {
            "column": "bmi2",
            "reason": "weight or height missing (derived value missing)",
            "count": 1,
            "first_row": 3,
        },
        {
            "column": "bmi2",
            "reason": "no finite value: division by zero, overflow or a negative "
            "number to a fractional power (derived value missing)",
            "count": 1,
            "first_row": 4,
        },
    ]
    assert traced.substituted == []


def test_derived_expression_is_range_checked(make_study):
    weight = {"name": "weight", "label": "Weight", "type": "continuous", "unit": "kg"}
    height = {"name": "height", "label": "Height", "type": "continuous", "unit": "cm"}
    bmi = {
        "name": "bmi2",
        "label": "BMI",
        "type": "continuous",
        "range": [10, 60],
        "unit": "kg/m2",
        "derive": {"kind": "expression", "expr": "weight / (height / 100) ** 2"},
    }
    study = make_study([weight, height, bmi])
    frame = pd.DataFrame({"weight": [70.0, 25.0], "height": [175.0, 168.0]})
    with pytest.raises(
        DataError,
        match=r"^row 2, column 'bmi2', value 8.858: derived bmi2 8.858 "
        r"from weight 25 kg, height 168 cm is outside the plausible range 10-60",
    ):
        derive_cohort_traced(frame, study)


def test_derived_codes_are_checked_like_collected_ones(make_study):
    code = {
        "name": "stage",
        "label": "Stage",
        "type": "categorical",
        "codes": {1: "a", 2: "b"},
        "derive": {"kind": "expression", "expr": "status + 1"},
    }
    study = make_study([STATUS, code])
    with pytest.raises(
        DataError,
        match=r"^row 2, column 'stage', value 3: derived stage 3 "
        r"from status 2 \(dead\) is not a declared code \(1=a, 2=b\)$",
    ):
        derive_cohort_traced(pd.DataFrame({"status": [0, 2]}), study)


# -------------------------------------------------------------------- combine


def modality(**derive) -> dict:
    cases = [{"when": "hd == 1", "value": 1}, {"when": "pd == 1", "value": 2}]
    return {**MODALITY, "derive": {"kind": "combine", "cases": cases, **derive}}


FLAGS = pd.DataFrame(
    {
        "hd": [1, 0, 0, 1, None, 0, None, 1],
        "pd": [0, 1, 0, 1, 1, None, 0, None],
    }
)


def test_combine_first_true_case_wins_and_undecided_rows_are_missing(make_study):
    study = make_study([HD, PD, modality(otherwise=0)])
    traced = derive_cohort_traced(FLAGS, study)
    # by hand, row by row:
    #   HD only -> 1; PD only -> 2; neither -> 0 (otherwise); both -> 1 (first case);
    #   hd missing -> missing (case 1 undecided); hd 0, pd missing -> missing;
    #   hd missing, pd 0 -> missing (not "none"); hd 1, pd missing -> 1 (case 1 is true)
    assert values(traced.cohort["modality"]) == [1, 2, 0, 1, None, None, None, 1]
    assert traced.made_missing == [
        {
            "column": "modality",
            "reason": "hd or pd missing before any case was true (derived value missing)",
            "count": 3,
            "first_row": 5,
        },
    ]
    assert traced.substituted == [
        {
            "column": "modality",
            "reason": "matched case 1 (hd == 1) and a later case: case 1's value 1 (HD) used",
            "count": 1,
            "first_row": 4,
        },
    ]


def test_combine_without_otherwise_counts_rows_no_case_matched(make_study):
    study = make_study([HD, PD, modality()])
    traced = derive_cohort_traced(FLAGS, study)
    assert values(traced.cohort["modality"]) == [1, 2, None, 1, None, None, None, 1]
    assert {
        "column": "modality",
        "reason": "matched no case (derived value missing)",
        "count": 1,
        "first_row": 3,
    } in traced.made_missing


def test_combine_a_case_can_decide_missing_values_itself(make_study):
    cases = [
        {"when": "hd is missing and pd is missing", "value": 0},
        {"when": "hd == 1 and pd == 1", "value": 3},
        {"when": "hd == 1", "value": 1},
        {"when": "pd == 1", "value": 2},
    ]
    var = {
        **MODALITY,
        "codes": {0: "none", 1: "HD", 2: "PD", 3: "both"},
        "derive": {"kind": "combine", "cases": cases, "otherwise": 0},
    }
    study = make_study([HD, PD, var])
    frame = pd.DataFrame({"hd": [None, 1, 1, 0], "pd": [None, 1, 0, 0]})
    traced = derive_cohort_traced(frame, study)
    assert values(traced.cohort["modality"]) == [0, 3, 1, 0]
    assert traced.made_missing == []
    # row 2 matched case 2 and case 3: counted, case 2's code used
    assert [e["first_row"] for e in traced.substituted] == [2]


def test_combine_refusals(make_study):
    from analysis.errors import StudyFileError

    bad_value = {
        **MODALITY,
        "derive": {"kind": "combine", "cases": [{"when": "hd == 1", "value": 5}]},
    }
    with pytest.raises(
        StudyFileError,
        match=r"variables.modality.derive.cases\[0\].value: 5 is "
        r"not a code of 'modality' \(codes: 0, 1, 2\)$",
    ):
        make_study([HD, PD, bad_value])
    bad_else = modality(otherwise=9)
    with pytest.raises(StudyFileError, match=r"derive.otherwise: 9 is not a code of 'modality'"):
        make_study([HD, PD, bad_else])
    not_condition = {
        **MODALITY,
        "derive": {"kind": "combine", "cases": [{"when": "hd + 1", "value": 1}]},
    }
    with pytest.raises(StudyFileError, match=r"cases\[0\].when: 'when' needs a condition"):
        make_study([HD, PD, not_condition])
    typo = {
        **MODALITY,
        "derive": {
            "kind": "combine",
            "cases": [{"when": "hd == 1", "value": 1}, {"when": "p == 1", "value": 2}],
        },
    }
    with pytest.raises(
        StudyFileError,
        match=r'cases\[1\].when: "p == 1" at position 1: '
        r"'p' is not a declared variable$",
    ):
        make_study([HD, PD, typo])
    continuous = {
        "name": "m",
        "label": "M",
        "type": "continuous",
        "derive": {"kind": "combine", "cases": [{"when": "hd == 1", "value": 1}]},
    }
    with pytest.raises(StudyFileError, match=r"combine gives codes"):
        make_study([HD, PD, continuous])


def test_combine_text_codes(make_study):
    var = {
        **MODALITY,
        "codes": {"none": "none", "HD": "HD", "PD": "PD"},
        "derive": {
            "kind": "combine",
            "otherwise": "none",
            "cases": [{"when": "hd == 1", "value": "HD"}, {"when": "pd == 1", "value": "PD"}],
        },
    }
    study = make_study([HD, PD, var])
    out = derive_variables(pd.DataFrame({"hd": [1, 0, 0], "pd": [0, 1, 0]}), study)
    assert values(out["modality"]) == ["HD", "PD", "none"]
