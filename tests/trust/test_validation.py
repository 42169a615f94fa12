"""Trust: what would break a table or model is caught up front, derived values are
range-checked, and nothing is dropped or made missing without being counted.

Small hand-built frames on a toy study (every expected number is counted by hand
in the comments), then the CLI on the study's own synthetic cohort for the cases
that used to end in "unexpected ...".
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.__main__ import main
from analysis.derive import derive_cohort, derive_cohort_traced
from analysis.errors import AnalysisError, StudyFileError
from analysis.models import build_model
from analysis.study import Study, load_study
from analysis.synth.generator import generate
from analysis.tables import build_table
from analysis.validate import ValidationReport, validate_frame

TOY = {
    "study": {"id": "toy", "title": "Toy", "subject_id": "pid"},
    "variables": [
        {"name": "pid", "label": "ID", "type": "id", "identifier": True},
        {"name": "age", "label": "Age", "unit": "years", "type": "continuous",
         "range": [0, 110]},
        {"name": "arm", "label": "Arm", "type": "categorical", "codes": {1: "A", 2: "B", 3: "C"}},
        {"name": "weight", "label": "Weight", "unit": "kg", "type": "continuous",
         "range": [25, 200]},
        {"name": "height", "label": "Height", "unit": "cm", "type": "continuous",
         "range": [120, 210]},
        {"name": "bmi", "label": "BMI", "unit": "kg/m2", "type": "continuous", "range": [10, 60],
         "derive": {"kind": "bmi", "weight": "weight", "height_cm": "height"}},
        {"name": "dose", "label": "Dose", "unit": "mg", "type": "continuous", "range": [1, 1000]},
        {"name": "days", "label": "Days", "unit": "days", "type": "continuous",
         "range": [0, 100]},
        {"name": "daily", "label": "Daily dose", "unit": "mg/day", "type": "continuous",
         "derive": {"kind": "ratio", "numerator": "dose", "denominator": "days"}},
        {"name": "x", "label": "X", "unit": "u", "type": "continuous", "range": [0, 100]},
        {"name": "y", "label": "Y", "type": "binary", "codes": {0: "No", 1: "Yes"}},
    ],
    "cohort": {"inclusion": [
        {"label": "Adult", "all": [{"variable": "age", "op": "ge", "value": 18}]},
        {"label": "Arm known", "all": [{"variable": "arm", "op": "notnull"}]},
    ]},
    "tables": [
        {"id": "t1", "title": "T1", "group_by": "arm", "policy": "paper", "rows": ["x"]},
    ],
    "models": [{"id": "m1", "title": "M1", "outcome": "y", "event": 1, "predictors": ["x"]}],
}  # fmt: skip

LINE = re.compile(r"^toy\.csv(, column '[^']+')?(, row \d+)?(, value [^:]+)?: [^\n]+ \[[a-z_]+\]$")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Study:
    path = tmp_path_factory.mktemp("toy") / "toy.yaml"
    path.write_text(yaml.safe_dump(TOY, sort_keys=False), encoding="utf-8")
    return load_study(path)


def frame(**changes) -> pd.DataFrame:
    """Ten patients. Inclusion by hand: row 7 (age 15) fails 'Adult', row 8 (age missing)
    is excluded for a missing value, row 10 (arm missing) fails 'Arm known' for a missing
    value: 7 included rows (1-6, 9), events y = 1 among them at rows 2, 4, 6."""
    data = pd.DataFrame({
        "pid": [f"p{i}" for i in range(1, 11)],
        "age": [30, 40, 50, 60, 70, 80, 15, np.nan, 45, 55],
        "arm": [1, 1, 2, 2, 3, 3, 1, 1, 2, np.nan],
        "weight": [70.0] * 10,
        "height": [170.0] * 10,
        "dose": [100.0] * 10,
        "days": [10.0] * 10,
        "x": [10, 20, 30, 40, 50, 60, 70, 80, 35, 45],
        "y": [0, 1, 0, 1, 0, 1, 1, 1, 0, 0],
    })  # fmt: skip
    for column, values in changes.items():
        for row, value in values.items():  # 1-based data rows, as the messages say
            data.loc[row - 1, column] = value
    return data


def report_of(data: pd.DataFrame, study: Study) -> ValidationReport:
    report = validate_frame(data, study, source="toy.csv")
    for p in report.problems:
        assert LINE.match(report.line(p)), report.line(p)
    return report


def by_rule(report: ValidationReport, rule: str) -> list:
    return [p for p in report.problems if p.rule == rule]


def cohort_of(data: pd.DataFrame, study: Study) -> pd.DataFrame:
    return derive_cohort(data, study)[0]


# ---------------------------------------------------------------- 1. outputs


def test_clean_frame_has_no_problems(toy):
    report = report_of(frame(), toy)
    assert report.problems == []
    assert report.n_included == 7


def test_all_included_patients_events_is_an_error_after_inclusion(toy):
    # y = 1 on every included row (1-6, 9); the non-events left are rows 7, 8, 10, all
    # excluded: the raw file has both outcomes, the model's rows do not.
    data = frame(y={1: 1, 3: 1, 5: 1, 9: 1})
    report = report_of(data, toy)
    (problem,) = report.errors
    assert (problem.rule, problem.column) == ("all_events", "y")
    assert "model m1" in problem.message and "7 included row(s)" in problem.message
    with pytest.raises(AnalysisError, match=r"^model m1: every one of the 7 included"):
        build_model(cohort_of(data, toy), toy, "m1")


def test_no_events_among_included_rows(toy):
    # events only at rows 7 and 8, both excluded
    data = frame(y={2: 0, 4: 0, 6: 0})
    (problem,) = report_of(data, toy).errors
    assert problem.rule == "no_events" and "model m1" in problem.message
    with pytest.raises(AnalysisError, match="model m1: no events"):
        build_model(cohort_of(data, toy), toy, "m1")


def test_predictor_missing_for_every_event(toy):
    # the three included events (rows 2, 4, 6) lack x
    data = frame(x={2: np.nan, 4: np.nan, 6: np.nan})
    errors = report_of(data, toy).errors
    assert [(p.rule, p.column) for p in errors] == [
        ("predictor_missing_for_events", "x"),  # adjusted fit
        ("predictor_missing_for_events", "x"),  # crude fit of x
    ]
    assert "every event (y = 1, 3 row(s))" in errors[0].message
    with pytest.raises(AnalysisError, match=r"model m1 \(adjusted fit\): predictor 'x'"):
        build_model(cohort_of(data, toy), toy, "m1")


def test_predictor_constant_among_complete_cases(toy):
    data = frame(x={r: 50 for r in range(1, 11)})
    errors = report_of(data, toy).errors
    assert {p.rule for p in errors} == {"predictor_constant"}
    assert "single value 50 among the 7 complete case(s)" in errors[0].message
    with pytest.raises(AnalysisError, match="model m1"):
        build_model(cohort_of(data, toy), toy, "m1")


def test_single_group_is_a_warning_and_the_table_renders_without_tests(toy):
    data = frame(arm={r: 1 for r in range(1, 10)})
    report = report_of(data, toy)
    assert report.errors == []
    (warned,) = by_rule(report, "single_group")
    assert warned.column == "arm"
    assert warned.message == (
        "table t1: only 1 group(s) present in 'arm' among the 7 included row(s): the table "
        "will have no tests"
    )
    (row,) = build_table(cohort_of(data, toy), toy, "t1")["rows"]
    assert row["test"] == "none"


def test_two_group_test_on_three_groups_names_table_and_variable(tmp_path):
    # arm declares three codes: a two-group test is refused when the study file loads,
    # before any data are read
    table = {"id": "t2", "title": "T2", "group_by": "arm", "policy": "paper", "rows": ["x"],
             "overrides": {"x": {"test": "student_t"}}}  # fmt: skip
    raw = {**TOY, "tables": [*TOY["tables"], table]}
    path = tmp_path / "t2.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(StudyFileError) as err:
        load_study(path)
    assert str(err.value) == (
        f"{path}: tables[1].overrides.x.test: table t2, variable x: test 'student_t' needs "
        "exactly two groups but group variable arm has 3 codes"
    )
    # restricted to two arms by the table's where, it loads; with arm 2 empty among the
    # included rows (rows 3, 4, 9 moved to arm 3) the table renders without a test
    raw["tables"][1] = {**table, "where": {"arm": [1, 2]}}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    study = load_study(path)
    assert build_table(cohort_of(frame(), study), study, "t2")["rows"][0]["test"] == "student_t"
    one = frame(arm={3: 3, 4: 3, 9: 3})
    (warned,) = [p for p in by_rule(report_of(one, study), "single_group") if "t2" in p.message]
    assert warned.message == (
        "table t2: only 1 group(s) present in 'arm' among the 2 included row(s) where arm = "
        "[1, 2]: the table will have no tests"
    )
    assert build_table(cohort_of(one, study), study, "t2")["rows"][0]["test"] == "none"


def test_table_values_refused_with_cohort_row(toy):
    cohort = cohort_of(frame(), toy)
    cohort["x"] = cohort["x"].astype(float)
    cohort.loc[3, "x"] = np.inf
    with pytest.raises(AnalysisError, match=r"table t1, variable 'x', cohort row 4, value inf"):
        build_table(cohort, toy, "t1")


def test_one_row_gives_errors_not_crashes(toy):
    data = frame().iloc[[0]]
    report = report_of(data, toy)
    assert [p.rule for p in report.errors] == ["no_events"]
    with pytest.raises(AnalysisError, match="model m1"):
        build_model(cohort_of(data, toy), toy, "m1")
    assert build_table(cohort_of(data, toy), toy, "t1")["n"] == 1


# ---------------------------------------------------------- 2. derived values


def test_derived_value_outside_its_range_names_row_value_and_sources(toy):
    # row 3: 25 kg / 1.68 m^2 = 8.8577... < 10 (bmi's own range 10-60)
    data = frame(weight={3: 25.0}, height={3: 168.0})
    report = report_of(data, toy)
    (problem,) = report.errors
    assert report.line(problem) == (
        "toy.csv, column 'bmi', row 3, value 8.858: derived bmi 8.858 from weight 25 kg, "
        "height 168 cm is outside the plausible range 10-60 kg/m2 [derived_range]"
    )
    with pytest.raises(
        AnalysisError,
        match=r"^row 3, column 'bmi', value 8.858: derived bmi "
        r"8.858 from weight 25 kg, height 168 cm is outside",
    ):
        derive_cohort(data, toy)


def test_derived_value_of_a_bad_source_is_not_reported_twice(toy):
    # weight 20 kg is itself out of range (25-200): one line, not a second for bmi 7.09
    report = report_of(frame(weight={3: 20.0}), toy)
    assert [(p.column, p.row, p.rule) for p in report.errors] == [("weight", 3, "plausible_range")]


# ----------------------------------------------------- 3. nothing made missing silently


def test_report_carries_made_missing_and_missing_by_column(toy):
    data = frame(x={4: np.nan, 5: np.nan})
    readers = [{"column": "x", "reason": "user-missing code 99", "count": 2, "first_row": 4}]
    data.attrs["made_missing"] = readers
    out = report_of(data, toy).to_dict()
    assert out["made_missing"] == readers
    # hand: age row 8, arm row 10, x rows 4 and 5; bmi/daily are not in the file
    assert out["missing_by_column"] == {
        "pid": 0, "age": 1, "arm": 1, "weight": 0, "height": 0, "dose": 0, "days": 0,
        "x": 2, "y": 0,
    }  # fmt: skip


def test_derive_counts_what_it_makes_missing(toy):
    data = frame(height={2: np.nan}, days={5: np.nan, 9: 0.0}, dose={6: np.nan})
    readers = [{"column": "y", "reason": "declared missing code 9", "count": 1, "first_row": 1}]
    data.attrs["made_missing"] = readers
    traced = derive_cohort_traced(data, toy)
    assert traced.made_missing == [
        *readers,
        {"column": "bmi", "reason": "weight or height missing (derived value missing)",
         "count": 1, "first_row": 2},
        {"column": "daily", "reason": "dose or days missing (derived value missing)",
         "count": 2, "first_row": 5},
        {"column": "daily", "reason": "days is zero (derived value missing)",
         "count": 1, "first_row": 9},
    ]  # fmt: skip
    assert derive_cohort(data, toy)[0].equals(traced.cohort)  # the old signature still works


def test_flow_splits_missing_from_not_met(toy):
    _, flow = derive_cohort(frame(), toy)
    assert [(s["n"], s["excluded"], s["excluded_value_missing"], s["excluded_not_met"])
            for s in flow] == [(10, 0, 0, 0), (8, 2, 1, 1), (7, 1, 1, 0)]  # fmt: skip
    assert [s["missing_variables"] for s in flow] == [{}, {"age": 1}, {"arm": 1}]


def test_missing_value_never_meets_a_ne_criterion(tmp_path):
    raw = {**TOY, "cohort": {"inclusion": [
        {"label": "Not arm C", "all": [{"variable": "arm", "op": "ne", "value": 3}]}]}}  # fmt: skip
    path = tmp_path / "ne.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    _, flow = derive_cohort(frame(), load_study(path))
    # arm 3 at rows 5, 6 (not met); arm missing at row 10 (missing, not let through)
    assert (flow[1]["n"], flow[1]["excluded_not_met"], flow[1]["excluded_value_missing"]) == (
        7, 2, 1,
    )  # fmt: skip


# ------------------------------------------------------------- the CLI, end to end

ONLY_IF = ["mental_change", "seizure", "onset_hours", "symptom_days", "icu", "icu_days",
           "ventilator", "ventilator_days", "therapeutic_hd", "therapeutic_hd_sessions", "crrt",
           "therapeutic_pd", "therapeutic_pd_days"]  # fmt: skip


def _base() -> pd.DataFrame:
    return generate(60, seed=4)


def _all_events(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(neurotoxicity=1)


def _events_without_albumin(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(albumin=f.albumin.where(f.neurotoxicity != 1))


def _single_event(f: pd.DataFrame) -> pd.DataFrame:
    later = f.index[f.neurotoxicity == 1][1:]
    f.loc[later, "neurotoxicity"] = 0
    f.loc[later, ONLY_IF] = np.nan
    return f


def _dialysis_only(f: pd.DataFrame) -> pd.DataFrame:
    return f.loc[f.dialysis_modality.isin([1, 2])]


def _one_row(f: pd.DataFrame) -> pd.DataFrame:
    return f.iloc[[0]]


@pytest.mark.parametrize(
    ("make", "status", "expect"),
    [
        (_all_events, 2, "model table4: every one"),
        (_events_without_albumin, 2, "model table4 (adjusted fit): predictor 'albumin'"),
        (_one_row, 2, "model table4: no events"),
        (_single_event, 0, "table table7: only 1 group(s) present in 'ckd_group'"),
        (_dialysis_only, 0, "table table1: only 1 group(s) present in 'ckd_group'"),
    ],
    ids=["all events", "events without the predictor", "one row", "single event",
         "one group"],
)  # fmt: skip
def test_cli_tables_never_unexpected(tmp_path, capsys, make, status, expect):
    data = tmp_path / "site.csv"
    make(_base()).to_csv(data, index=False)
    out = tmp_path / "out"
    assert main(["tables", str(data), "--out", str(out), "--formats", "md"]) == status
    err = capsys.readouterr().err
    assert "unexpected" not in err
    assert expect in err
    if status == 2:
        assert err.strip().splitlines()[-1].startswith("error: ")
        assert not out.exists() or not any(out.iterdir())
    else:
        assert (out / "table4.json").exists()
    # validate says the same before anything runs
    assert main(["validate", str(data)]) == status
    assert expect in capsys.readouterr().out


def test_cli_result_on_an_unvalidated_cohort_names_the_model(tmp_path, capsys):
    study = load_study(Path(__file__).resolve().parents[2] / "studies" / "baclofen_ckd.yaml")
    cohort = derive_cohort(_all_events(_base()), study)[0]
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    status = main(["result", str(path), "--id", "table4", "--out", str(tmp_path / "t4.json")])
    err = capsys.readouterr().err
    assert status == 2 and "unexpected" not in err
    assert err.startswith("error: model table4: every one of the 60 included row(s)")
