"""Standardised mean differences against hand calculations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analysis.stats import smd_categorical, smd_continuous, smd_max_pairwise

A = np.array([1.0, 2.0, 3.0, 4.0])  # mean 2.5, var 5/3
B = np.array([2.0, 4.0, 6.0, 8.0])  # mean 5,   var 20/3
C = A + 10.0  # mean 12.5, var 5/3


def test_smd_continuous_hand():
    # hand: (2.5 - 5) / sqrt((5/3 + 20/3) / 2) = -2.5 / sqrt(25/6) = -sqrt(6)/2
    assert smd_continuous(A, B) == pytest.approx(-math.sqrt(6) / 2, rel=1e-12)
    assert smd_continuous(B, A) == pytest.approx(math.sqrt(6) / 2, rel=1e-12)
    # missing values are dropped
    assert smd_continuous(np.r_[A, np.nan], B) == pytest.approx(-math.sqrt(6) / 2, rel=1e-12)
    assert smd_continuous(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0
    assert smd_continuous(np.array([1.0, 1.0]), np.array([2.0, 2.0])) is None
    assert smd_continuous(np.array([1.0]), B) is None


def test_smd_binary_reduces_to_austin():
    # hand: |0.3 - 0.5| / sqrt((0.3*0.7 + 0.5*0.5) / 2) = 0.2 / sqrt(0.23)
    assert smd_categorical(np.array([0.7, 0.3]), np.array([0.5, 0.5])) == pytest.approx(
        0.2 / math.sqrt(0.23), rel=1e-12
    )


def test_smd_multilevel_yang_dalton_hand():
    pa = np.array([0.2, 0.3, 0.5])
    pb = np.array([0.4, 0.4, 0.2])
    # hand, dropping level 1: T = (.3, .5), C = (.4, .2), d = (-.1, .3),
    # S = [[.225, -.115], [-.115, .205]], det S = .0329,
    # d'S^-1 d = (.205*.01 - 2*.115*.03 + .225*.09) / .0329 = .0154/.0329 = 22/47
    expected = math.sqrt(22 / 47)
    assert smd_categorical(pa, pb) == pytest.approx(expected, rel=1e-12)
    # invariant to which level is the reference (reorder the levels)
    order = [2, 0, 1]
    assert smd_categorical(pa[order], pb[order]) == pytest.approx(expected, rel=1e-12)
    # a level absent from both groups changes nothing
    assert smd_categorical(np.r_[pa, 0.0], np.r_[pb, 0.0]) == pytest.approx(expected, rel=1e-12)
    assert smd_categorical(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    with pytest.raises(ValueError, match="sum to 1"):
        smd_categorical(np.array([0.2, 0.2]), np.array([0.5, 0.5]))


def test_smd_max_pairwise_continuous_hand():
    res = smd_max_pairwise([A, B, C], kind="continuous", labels=["x", "y", "z"])
    # hand: x-z: -10 / sqrt(5/3) = -sqrt(60); y-z: -7.5 / sqrt(25/6) = -1.5 sqrt(6)
    smds = {(p["a"], p["b"]): p["smd"] for p in res["pairs"]}
    assert smds[("x", "y")] == pytest.approx(-math.sqrt(6) / 2, rel=1e-12)
    assert smds[("x", "z")] == pytest.approx(-math.sqrt(60), rel=1e-12)
    assert smds[("y", "z")] == pytest.approx(-1.5 * math.sqrt(6), rel=1e-12)
    assert res["statistic"] == pytest.approx(math.sqrt(60), rel=1e-12)
    mean = (math.sqrt(6) / 2 + math.sqrt(60) + 1.5 * math.sqrt(6)) / 3
    assert res["mean"] == pytest.approx(mean, rel=1e-12)
    json.dumps(res)


def test_smd_max_pairwise_categorical_hand():
    g1 = np.array(["a"] * 2 + ["b"] * 3 + ["c"] * 5, dtype=object)  # .2 .3 .5
    g2 = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 2 + [None], dtype=object)  # .4 .4 .2
    g3 = g1.copy()
    res = smd_max_pairwise([g1, g2, g3], kind="categorical", levels=["a", "b", "c"])
    assert res["statistic"] == pytest.approx(math.sqrt(22 / 47), rel=1e-12)
    assert res["n_by_group"] == [10, 10, 10]
    assert [p["smd"] for p in res["pairs"]][1] == 0.0
    with pytest.raises(ValueError, match="levels are required"):
        smd_max_pairwise([g1, g2], kind="categorical")
