"""The tolerance of each kind of published figure, on hand-worked cases.

p-values: within a factor of 2 (|log10(ours / published)| <= log10 2 = 0.301) and on
the same side of 0.05. 0.0059 / 0.003 = 1.97 (log10 0.294): passes; 0.0061 / 0.003 =
2.03 (log10 0.308): fails. Medians, minima, maxima and percentages: equal at the
printed precision (ours rounded as the paper prints it). Counts: exact.
"""

from __future__ import annotations

import pytest

from analysis.scorecard import check


@pytest.mark.parametrize(
    ("ours", "published", "ok"),
    [
        (0.0059, 0.003, True),  # x1.97
        (0.0061, 0.003, False),  # x2.03
        (0.0016, 0.003, True),  # /1.88
        (0.0014, 0.003, False),  # /2.14
        (0.003, 0.003, True),
        (0.06, 0.04, False),  # within a factor of 2, but on the other side of 0.05
        (0.04, 0.06, False),
        (0.03, 0.04, True),
        (0.0003, 0.007, False),  # the same side, 23 times smaller
    ],
)
def test_p_value_within_a_factor_of_2_and_same_side(ours, published, ok):
    reproduced, why = check("p_value", ours, published, alpha=0.05)
    assert reproduced is ok
    assert (why == "") is ok


def test_p_value_reasons_say_which_rule_failed():
    _, why = check("p_value", 0.06, 0.04)
    assert "other side of 0.05" in why and "factor" not in why
    _, why = check("p_value", 0.0061, 0.003)
    assert "more than a factor of 2" in why and "0.0061" in why
    _, why = check("p_value", 0.2, 0.003)
    assert "other side" in why and "factor of 2" in why


def test_significance_is_the_side_of_alpha():
    assert check("significance", 0.20, False)[0]
    assert check("significance", 0.051, False)[0]
    assert not check("significance", 0.049, False)[0]
    assert check("significance", 0.01, True)[0]
    assert not check("significance", 0.01, True, alpha=0.005)[0]


@pytest.mark.parametrize(
    ("kind", "ours", "published", "ok"),
    [
        ("median", 39.54, 39.5, True),
        ("median", 39.46, 39.5, True),
        ("median", 39.6, 39.5, False),
        ("median", 39.56, 39.5, False),
        ("min", 9.0, 9.0, True),
        ("max", 240.04, 240.0, True),
        ("max", 239.9, 240.0, False),
        ("percent", 92.85714285714286, 92.9, True),  # 26 of 28
        ("percent", 88.52867830423941, 88.5, True),  # 355 of 401
        ("percent", 7.142857142857143, 7.0, False),
        ("percent", 6.982543640897756, 7.0, True),  # 28 of 401
    ],
)
def test_exact_at_the_printed_precision(kind, ours, published, ok):
    assert check(kind, ours, published)[0] is ok


def test_printed_precision_of_whole_numbers():
    # "lowest total dose 5 mg": printed without decimals
    assert check("min", 5.4, 5, decimals=0)[0]
    assert not check("min", 5.6, 5, decimals=0)[0]
    assert not check("min", 5.4, 5)[0]  # at the default 1 decimal


def test_counts_are_exact():
    assert check("count", 28, 28)[0]
    assert check("count", 28.0, 28)[0]
    reproduced, why = check("count", 27, 28)
    assert not reproduced and why == "27 is not 28"
    assert not check("count", 28.5, 28)[0]


def test_a_missing_value_is_not_reproduced():
    assert check("median", None, 39.5) == (False, "not in the results")
    assert check("p_value", float("nan"), 0.003)[0] is False
