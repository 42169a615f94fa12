"""Largest-remainder allocation and pinned samples, against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.synth.allocate import (
    allocate_binary,
    largest_remainder,
    pinned_sample,
    stratified_uniform,
)


def test_largest_remainder_hand_example():
    # 174/97/130 of 401 scaled to 100: 43.39, 24.19, 32.42 -> floors 43, 24, 32 (99);
    # the one left goes to the largest remainder (0.42, the third).
    assert largest_remainder(np.array([174, 97, 130]) * 100 / 401, 100).tolist() == [43, 24, 33]


def test_largest_remainder_exact_counts_are_kept():
    assert largest_remainder(np.array([174.0, 97.0, 130.0])).tolist() == [174, 97, 130]


def test_allocate_binary_counts_per_cell():
    cell = np.repeat([0, 1, 2], [10, 20, 30])
    prob = np.repeat([0.5, 0.25, 0.1], [10, 20, 30])
    flag = allocate_binary(cell, prob, np.random.default_rng(0))
    # expected 5, 5, 3 ones -> exactly those
    assert [flag[cell == c].sum() for c in range(3)] == [5, 5, 3]


def test_allocate_binary_respects_eligibility():
    cell = np.zeros(10, dtype=int)
    eligible = np.arange(10) < 4
    flag = allocate_binary(cell, np.full(10, 0.5), np.random.default_rng(1), eligible=eligible)
    assert flag[~eligible].sum() == 0
    assert flag.sum() == 2


def test_stratified_uniform_covers_each_cell_evenly():
    cell = np.repeat([0, 1], [50, 50])
    u = stratified_uniform(cell, np.random.default_rng(2))
    for c in (0, 1):
        # one draw in each of the 50 strata [k/50, (k+1)/50)
        strata = np.sort(np.floor(u[cell == c] * 50)).astype(int)
        assert strata.tolist() == list(range(50))


@pytest.mark.parametrize(
    ("k", "median", "low", "high"),
    [
        (28, 39.5, 9, 240),
        (4, 17.5, 5, 35),
        (3, 12, 8, 27),
        (15, 2, 1, 7),
        (2, 3, 2, 4),
        (1, 3, 3, 3),
    ],
)
def test_pinned_sample_hits_median_and_range(k, median, low, high):
    x = pinned_sample(k, median, low, high, 0, np.random.default_rng(4))
    assert len(x) == k
    assert (np.median(x), x.min(), x.max()) == (median, low, high)
