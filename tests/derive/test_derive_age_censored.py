"""age_at (completed years, 29 February) and censored lab values (rules, counts)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta

from analysis.derive import derive_cohort_traced, derive_variables
from analysis.derive_kinds import age_in_years
from analysis.errors import DataError, StudyFileError

DOB = {"name": "dob", "label": "Date of birth", "type": "date", "identifier": True}
VISIT = {"name": "visit", "label": "Admission date", "type": "date"}


def age_var(date: object = "2019-12-31", **extra) -> dict:
    return {
        "name": "age",
        "label": "Age",
        "type": "continuous",
        "unit": "years",
        "derive": {"kind": "age_at", "birth": "dob", "date": date},
        **extra,
    }


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else float(v) for v in series]


# --------------------------------------------------------------------- age_at

HAND = [
    # (birth, on, completed years) worked out by hand
    ("1950-06-15", "2019-06-14", 68),  # day before the birthday
    ("1950-06-15", "2019-06-15", 69),  # on the birthday
    ("1950-06-15", "2019-12-31", 69),
    ("1950-12-31", "2019-12-30", 68),
    ("1950-01-01", "2019-12-31", 69),
    ("2000-02-29", "2019-02-27", 18),
    ("2000-02-29", "2019-02-28", 19),  # 29 Feb birthday reached on 28 Feb in a common year
    ("2000-02-29", "2019-03-01", 19),
    ("2000-02-29", "2020-02-28", 19),  # leap year: not before the 29th
    ("2000-02-29", "2020-02-29", 20),
    ("2000-02-29", "2100-02-28", 100),  # 2100 is not a leap year
    ("1999-03-01", "2000-02-29", 0),
    ("2019-12-31", "2019-12-31", 0),
]


@pytest.mark.parametrize(("birth", "on", "years"), HAND)
def test_completed_years_by_hand(birth, on, years):
    got = age_in_years(pd.Series(pd.to_datetime([birth])), pd.Series(pd.to_datetime([on])))
    assert got.tolist() == [years]
    ref = relativedelta(dt.date.fromisoformat(on), dt.date.fromisoformat(birth)).years
    assert ref == years  # the second method agrees on every hand case


def test_completed_years_agree_with_relativedelta_on_many_dates():
    rng = np.random.default_rng(2019)
    start = np.datetime64("1900-01-01")
    births = start + rng.integers(0, 40_000, 5000).astype("timedelta64[D]")
    ons = births + rng.integers(0, 40_000, 5000).astype("timedelta64[D]")
    # every 29 February birth against the days around 28 Feb / 1 Mar of later years
    leap = [np.datetime64(f"{y}-02-29") for y in (1904, 1960, 1996, 2000)]
    around = [
        np.datetime64(f"{y}-{md}")
        for y in (1905, 1961, 1999, 2000, 2004, 2100)
        for md in ("02-27", "02-28", "03-01")
    ]
    births = np.concatenate([births, np.repeat(leap, len(around))])
    ons = np.concatenate([ons, np.tile(around, len(leap))])
    keep = ons >= births
    births, ons = births[keep], ons[keep]
    got = age_in_years(pd.Series(births), pd.Series(ons))
    expected = [
        relativedelta(o.astype(dt.date), b.astype(dt.date)).years
        for b, o in zip(births, ons, strict=True)
    ]
    assert got.tolist() == expected


def test_age_at_a_fixed_date_drops_the_date_of_birth(make_study):
    study = make_study([DOB, age_var(range=[0, 120])], rows=["age"])
    frame = pd.DataFrame({"dob": ["1950-06-15", "2000-02-29", None, "15/06/1950", "2019-02-30"]})
    traced = derive_cohort_traced(frame, study)
    assert values(traced.cohort["age"]) == [69, 19, None, None, None]
    assert "dob" not in traced.cohort.columns
    assert traced.made_missing == [
        {
            "column": "age",
            "reason": "dob missing (derived value missing)",
            "count": 1,
            "first_row": 3,
        },
        {
            "column": "age",
            "reason": "dob is not a date written YYYY-MM-DD (derived value missing)",
            "count": 2,
            "first_row": 4,
        },
    ]


def test_age_at_a_date_column(make_study):
    study = make_study([DOB, VISIT, age_var("visit")], rows=["age"])
    frame = pd.DataFrame(
        {
            "dob": pd.to_datetime(["1950-06-15", "1950-06-15", "2000-02-29"]),
            "visit": ["2019-06-14", "2019-06-15T08:30", None],
        }
    )
    traced = derive_cohort_traced(frame, study)
    assert values(traced.cohort["age"]) == [68, 69, None]
    assert traced.made_missing[0]["reason"] == "dob or visit missing (derived value missing)"


def test_numbers_are_not_taken_for_dates(make_study):
    study = make_study([DOB, age_var()], rows=["age"])
    out = derive_variables(pd.DataFrame({"dob": [43000, 1950]}), study)
    assert values(out["age"]) == [None, None]
    out = derive_variables(pd.DataFrame({"dob": ["2019", "1950-06"]}), study)
    assert values(out["age"]) == [None, None]


def test_an_unquoted_yaml_date_is_a_fixed_date(make_study, tmp_path):
    from analysis.study import load_study

    path = tmp_path / "unquoted.yaml"
    path.write_text(
        "study: {id: toy, title: Toy}\n"
        "variables:\n"
        "  - {name: dob, label: Birth, type: date, identifier: true}\n"
        "  - {name: age, label: Age, type: continuous,\n"
        "     derive: {kind: age_at, birth: dob, date: 2019-12-31}}\n"
        "tables: [{id: t1, title: All, kind: listing, columns: [age]}]\n",
        encoding="utf-8",
    )
    study = load_study(path)
    assert values(derive_variables(pd.DataFrame({"dob": ["1950-12-31"]}), study)["age"]) == [69]


def test_a_date_before_birth_is_refused_by_the_range_without_showing_the_birth_date(make_study):
    study = make_study([DOB, age_var("2019-12-31", range=[0, 120])], rows=["age"])
    with pytest.raises(DataError) as err:
        derive_cohort_traced(pd.DataFrame({"dob": ["1950-06-15", "2020-05-01"]}), study)
    message = str(err.value)
    assert message.startswith(
        "row 2, column 'age', value -1: derived age -1 from dob "
        "(identifier, not shown) is outside the plausible range 0-120"
    )
    assert "2020" not in message


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        (age_var("2019-02-30"), "variables.age.derive.date: '2019-02-30' is not a date"),
        (age_var("admission"), "variables.age.derive.date: 'admission' is not a declared variable"),
        (
            {**age_var(), "type": "categorical", "codes": {1: "a"}},
            "variables.age.derive.kind: age_at gives completed years: "
            "declare the variable continuous",
        ),
        (
            {**age_var(), "derive": {"kind": "age_at", "birth": "height", "date": "2019-12-31"}},
            "variables.age.derive.birth: 'height' is continuous: "
            "a date column is declared type: date",
        ),
    ],
)
def test_age_at_refusals(make_study, variable, text):
    height = {"name": "height", "label": "Height", "type": "continuous"}
    with pytest.raises(StudyFileError) as err:
        make_study([DOB, height, variable], rows=["height"])
    assert str(err.value).split(": ", 1)[1] == text


# ------------------------------------------------------------------- censored

CRP_RAW = {"name": "crp_raw", "label": "CRP as reported", "type": "text"}


def crp(below: str, above: str | None = None, **extra) -> dict:
    derive = {"kind": "censored", "source": "crp_raw", "below": below}
    if above:
        derive["above"] = above
    return {
        "name": "crp",
        "label": "CRP",
        "type": "continuous",
        "unit": "mg/dL",
        "derive": derive,
        **extra,
    }


RAW = ["5.2", "<0.1", "<= 0.1", "≤0.2", ">500", ">=500", None, "haemolysed", "0.3", " <0.1 "]


@pytest.mark.parametrize(
    ("below", "above", "expected"),
    [
        ("half_limit", "limit", [5.2, 0.05, 0.05, 0.1, 500, 500, None, None, 0.3, 0.05]),
        ("limit", "limit", [5.2, 0.1, 0.1, 0.2, 500, 500, None, None, 0.3, 0.1]),
        ("missing", None, [5.2, None, None, None, None, None, None, None, 0.3, None]),
        ("half_limit", "missing", [5.2, 0.05, 0.05, 0.1, None, None, None, None, 0.3, 0.05]),
    ],
)
def test_censored_rules(make_study, below, above, expected):
    study = make_study([CRP_RAW, crp(below, above)])
    out = derive_variables(pd.DataFrame({"crp_raw": RAW}), study)
    got = values(out["crp"])
    assert [g is None for g in got] == [e is None for e in expected]
    assert [g for g in got if g is not None] == pytest.approx(
        [e for e in expected if e is not None]
    )


def test_censored_substitutions_and_missing_values_are_counted(make_study):
    study = make_study([CRP_RAW, crp("half_limit")])
    traced = derive_cohort_traced(pd.DataFrame({"crp_raw": RAW}), study)
    assert traced.substituted == [
        {
            "column": "crp",
            "reason": "crp_raw <0.1: 0.05 used (half the limit)",
            "count": 2,
            "first_row": 2,
        },
        {
            "column": "crp",
            "reason": "crp_raw <=0.1: 0.05 used (half the limit)",
            "count": 1,
            "first_row": 3,
        },
        {
            "column": "crp",
            "reason": "crp_raw <=0.2: 0.1 used (half the limit)",
            "count": 1,
            "first_row": 4,
        },
    ]
    assert traced.made_missing == [
        {
            "column": "crp",
            "reason": "crp_raw missing (derived value missing)",
            "count": 1,
            "first_row": 7,
        },
        {
            "column": "crp",
            "reason": "crp_raw neither a number nor a censored value like '<0.1' "
            "(derived value missing)",
            "count": 1,
            "first_row": 8,
        },
        {
            "column": "crp",
            "reason": "crp_raw >500: above the limit (derived value missing)",
            "count": 1,
            "first_row": 5,
        },
        {
            "column": "crp",
            "reason": "crp_raw >=500: above the limit (derived value missing)",
            "count": 1,
            "first_row": 6,
        },
    ]


def test_many_different_limits_are_counted_together(make_study):
    study = make_study([CRP_RAW, crp("limit")])
    raw = [f"<{k / 100:g}" for k in range(1, 21)]
    traced = derive_cohort_traced(pd.DataFrame({"crp_raw": raw}), study)
    assert traced.substituted == [
        {
            "column": "crp",
            "reason": "crp_raw below a limit (20 different limits): the limit used",
            "count": 20,
            "first_row": 1,
        },
    ]


def test_a_substituted_value_is_range_checked(make_study):
    study = make_study([CRP_RAW, crp("half_limit", "limit", range=[0, 50])])
    with pytest.raises(
        DataError,
        match=r"^row 2, column 'crp', value 500: derived crp 500 from "
        r"crp_raw >500 is outside the plausible range 0-50 mg/dL",
    ):
        derive_cohort_traced(pd.DataFrame({"crp_raw": ["1", ">500"]}), study)


def test_censored_source_must_be_text(make_study):
    numeric = {"name": "crp_raw", "label": "CRP", "type": "continuous"}
    with pytest.raises(
        StudyFileError,
        match=r"variables.crp.derive.source: 'crp_raw' holds "
        r"values like '<0.1': declare it type: text$",
    ):
        make_study([numeric, crp("limit")])
