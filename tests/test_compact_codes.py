"""Coded columns stored as int8 in the derived cohort: smaller, and the same numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.export import compact_codes
from analysis.models import build_model
from analysis.results import dumps
from analysis.tables import build_table


def test_only_complete_coded_columns_become_int8(cohort, study):
    compact = compact_codes(cohort, study)
    for name in cohort.columns:
        var = study.variables.get(name)
        column = cohort[name]
        coded = var is not None and var.is_categorical
        if coded and column.notna().all() and column.dtype.kind in "fiu":
            assert compact[name].dtype == np.int8, name
            assert (compact[name].to_numpy(float) == column.to_numpy(float)).all(), name
        else:
            assert compact[name].dtype == column.dtype, name
    # measurements and codes with missing values (only_if rows) keep float64 and NaN
    assert compact["albumin"].dtype == np.float64
    assert compact["mental_change"].isna().any() and compact["mental_change"].dtype == np.float64
    assert compact["neurotoxicity"].dtype == np.int8
    assert compact.memory_usage().sum() < cohort.memory_usage().sum()


def test_the_input_frame_is_left_as_it_was(cohort, study):
    before = cohort.dtypes.copy()
    compact_codes(cohort, study)
    pd.testing.assert_series_equal(cohort.dtypes, before)


def test_codes_out_of_int8_range_or_fractional_stay_as_they_are(study):
    frame = pd.DataFrame({"ckd_group": [1.0, 2.5, 3.0], "sex": [1, 2, 300]})
    compact = compact_codes(frame, study)
    assert compact["ckd_group"].dtype == np.float64
    assert compact["sex"].dtype == frame["sex"].dtype


def test_every_table_and_the_model_are_byte_identical(cohort, study):
    compact = compact_codes(cohort, study)
    for table in study.tables:
        expected = dumps(build_table(cohort, study, table["id"]))
        assert dumps(build_table(compact, study, table["id"])) == expected, table["id"]
    for model in study.models:
        expected = dumps(build_model(cohort, study, model["id"]))
        assert dumps(build_model(compact, study, model["id"])) == expected, model["id"]
