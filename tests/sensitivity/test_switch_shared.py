"""tests_switch builds each table once under all its policy variants
(:func:`analysis.tables.build_table_policies`): the same tables as one
:func:`analysis.tables.build_table` per policy, number for number; and the uncorrected
Kolmogorov-Smirnov test from a table's sorted copy gives scipy's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sensitivity import tests_switch
from analysis.stats.normality import ks_uncorrected, normality
from analysis.study import load_study
from analysis.tables import build_table, build_table_policies

HERE = Path(__file__).parent


def _dump(table: dict) -> str:
    return json.dumps(table, sort_keys=True, default=str)


def _check_shared(cohort: pd.DataFrame, study) -> None:
    for tid in tests_switch.tested_tables(study):
        name = study.table(tid).get("policy", "paper")
        added = {
            f"sensitivity_{name}_{v}": d
            for v, d in tests_switch.switch_policies(name, study.policies[name]).items()
        }
        extended = tests_switch._with_policies(study, added)
        policies = [None, *added]
        shared = build_table_policies(cohort, extended, tid, policies)
        assert len(shared) == len(policies)
        for policy, table in zip(policies, shared, strict=True):
            assert _dump(table) == _dump(build_table(cohort, extended, tid, policy=policy))


def test_shared_build_equals_one_build_per_policy(cohort, study):
    _check_shared(cohort, study)


def test_shared_build_equals_one_build_per_policy_small():
    study = load_study(HERE / "reference_small_study.yaml")
    _check_shared(pd.read_csv(HERE / "reference_small.csv"), study)


def test_shared_build_refuses_different_tables(cohort, study):
    from analysis.tables import _build_summary_tables

    table = study.table("table2")
    with pytest.raises(ValueError, match="only in their policy"):
        _build_summary_tables(cohort, study, [table, {**table, "where": {"sex": 1}}])


def _samples():
    rng = np.random.default_rng(20200543)
    for trial in range(200):
        n = int(rng.integers(2, 2000)) if trial % 4 else int(rng.integers(2, 12))
        kind = trial % 5
        if kind == 0:
            yield rng.normal(size=n)
        elif kind == 1:
            yield np.round(rng.normal(50, 10, size=n))  # ties
        elif kind == 2:
            yield np.round(rng.lognormal(1, 1, size=n), 1)
        elif kind == 3:
            yield rng.integers(0, 3, size=n).astype(float)  # few values, some constant
        else:
            yield rng.exponential(size=n)
    yield np.array([1.0, 1.0, 1.0])
    yield np.array([2.0, 3.0])


def test_ks_uncorrected_presorted_is_scipys():
    for x in _samples():
        expected = ks_uncorrected(x)
        assert ks_uncorrected(x, presorted=np.sort(x)) == expected
        assert normality(x, "ks_uncorrected", presorted=np.sort(x)) == expected


def test_ks_uncorrected_presorted_refuses_unsorted():
    x = np.array([3.0, 1.0, 2.0, 5.0])
    with pytest.raises(ValueError, match="presorted"):
        ks_uncorrected(x, presorted=x)
