"""continuous_summary / categorical_summary against R (reference/group_tests_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import categorical_summary, continuous_summary

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def groups() -> pd.DataFrame:
    return pd.read_csv(REF / "groups.csv")


def test_continuous_summary_matches_r(groups):
    b = groups.loc[groups.group == "b", "value"].to_numpy()
    res = continuous_summary(b)
    # R: length, mean(b0), sd(b0)
    assert res["n"] == 29
    assert res["missing"] == 1
    assert res["mean"] == pytest.approx(11.5310344827586, rel=1e-12)
    assert res["sd"] == pytest.approx(6.19464650486184, rel=1e-12)
    # R: median(b0), min(b0), max(b0)
    assert (res["median"], res["min"], res["max"]) == pytest.approx((10.6, 3.5, 28.2))
    # R: quantile(b0, c(.25, .75), type = 6)  (SPSS HAVERAGE)
    assert (res["q1"], res["q3"]) == pytest.approx((6.1, 15.8), rel=1e-12)


def test_weibull_quartiles_group_a(groups):
    a = groups.loc[groups.group == "a", "value"].to_numpy()
    res = continuous_summary(a)
    # R: quantile(a0, c(.25, .75), type = 6)
    assert (res["q1"], res["q3"]) == pytest.approx((8.8, 10.8), rel=1e-12)
    # numpy's default (linear, R type 7) differs here: the trap the module avoids
    assert np.nanpercentile(a, 75) != pytest.approx(10.8)


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        # R: quantile(a0[1:k], c(.25, .5, .75), type = 6); tiny n clamps to the extremes
        (1, (8.8, 8.8, 8.8)),
        (2, (8.8, 9.35, 9.9)),
        (3, (8.8, 9.9, 11.3)),
        (5, (8.0, 8.8, 10.6)),
    ],
)
def test_weibull_quartiles_tiny_n(groups, k, expected):
    a = groups.loc[groups.group == "a", "value"].dropna().to_numpy()[:k]
    res = continuous_summary(a)
    assert (res["q1"], res["median"], res["q3"]) == pytest.approx(expected, rel=1e-12)
    if k == 1:
        assert res["sd"] is None


def test_continuous_summary_empty_and_missing():
    res = continuous_summary(np.array([np.nan, np.nan]))
    assert res["n"] == 0 and res["missing"] == 2
    assert all(res[k] is None for k in ("mean", "sd", "median", "min", "max", "q1", "q3"))
    res = continuous_summary(pd.Series([1.0, None, 3.0], dtype="Float64"))
    assert res["n"] == 2 and res["missing"] == 1 and res["mean"] == 2.0
    with pytest.raises(ValueError, match="infinite"):
        continuous_summary(np.array([1.0, np.inf]))
    with pytest.raises(ValueError):
        continuous_summary(np.ones((2, 2)))


def test_categorical_summary_hand_counts():
    x = np.array(["yes", "no", None, "yes", np.nan, "yes"], dtype=object)
    res = categorical_summary(x, ["no", "yes", "unknown"])
    assert res["n"] == 4 and res["missing"] == 2
    assert res["counts"] == {"no": 1, "yes": 3, "unknown": 0}
    assert res["percent"]["yes"] == pytest.approx(75.0)
    assert res["percent"]["unknown"] == 0.0
    json.dumps(res)


def test_categorical_summary_numeric_codes_and_errors():
    x = np.array([1.0, 2.0, 2.0, np.nan, 1.0, 1.0])
    res = categorical_summary(x, [1, 2])
    assert res["counts"] == {1: 3, 2: 2}
    assert res["percent"][1] == pytest.approx(60.0)
    assert res["levels"] == [1, 2]
    with pytest.raises(ValueError, match=r"value 3\.0 is not one of"):
        categorical_summary(np.array([1.0, 3.0]), [1, 2])
    with pytest.raises(ValueError, match="unique"):
        categorical_summary(x, [1, 1])
    empty = categorical_summary(np.array([np.nan]), [1, 2])
    assert empty["n"] == 0 and empty["percent"] == {1: None, 2: None}
