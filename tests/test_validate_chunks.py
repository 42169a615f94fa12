"""Validation in chunks: the report is the same whatever the chunk size.

The row-wise rules run on slices of the frame (bounded memory at 10^7 rows); these
tests split small frames full of problems into many chunks and compare the whole
report (problems, their order, rows and values, truncation counts) with one chunk.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.study import Study, load_study
from analysis.synth.generator import generate
from analysis.validate import MAX_ROWS_PER_RULE, validate_frame

STUDY = "studies/baclofen_ckd.yaml"


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(STUDY)


def _spoiled(n: int = 401) -> pd.DataFrame:
    """The synthetic cohort with problems of every row-wise kind, spread over the rows
    (some rules past MAX_ROWS_PER_RULE, so truncation counts are summed over chunks),
    and duplicate IDs far apart (a dataset-wide rule: chunks must not hide them)."""
    f = generate(n, seed=7).astype({"age": object, "sex": float})
    rows = np.arange(3, n, 9)
    f.loc[rows, "sex"] = 7  # not an allowed code
    f.loc[rows[::2], "albumin"] = 99.0  # outside the plausible range (a unit hint)
    f.loc[[5, 200], "age"] = "n/a"  # not a number
    f.loc[[9], "age"] = "1e400"  # not finite
    f.loc[[11, 390], "weight"] = np.inf
    f.loc[[0, n - 1], "patient_id"] = f.loc[150, "patient_id"]  # duplicate IDs
    f.loc[f.index[f.neurotoxicity == 0][:30], "onset_hours"] = 5.0  # only_if
    f.loc[[20, 300], "egfr"] = 500.0  # outside its CKD band
    f.loc[[40, 41], "bmi"] = 80.0  # derived value that disagrees with its sources
    return f


def _report(frame: pd.DataFrame, study: Study, chunk_rows: int | None) -> dict:
    return validate_frame(frame.copy(), study, source="x.csv", chunk_rows=chunk_rows).to_dict()


@pytest.mark.parametrize("chunk_rows", [3, 7, 64, 400])
def test_report_is_the_same_for_any_chunk_size(study, chunk_rows):
    frame = _spoiled(401)
    whole = _report(frame, study, len(frame))
    assert _report(frame, study, chunk_rows) == whole
    rules = {p["rule"] for p in whole["problems"]}
    assert {"allowed_codes", "plausible_range", "numeric", "finite", "duplicate_id",
            "only_if", "egfr_band", "derived_consistency"} <= rules  # fmt: skip
    assert any(v > 0 for v in whole["more_rows_not_listed"].values())


def test_duplicates_in_different_chunks_are_found(study):
    frame = _spoiled(401)
    report = _report(frame, study, 50)
    dup = [p for p in report["problems"] if p["rule"] == "duplicate_id"]
    assert [p["row"] for p in dup] == [1, 151, 401]


def test_truncation_counts_every_chunk(study):
    frame = _spoiled(401)
    report = _report(frame, study, 13)
    listed = [p for p in report["problems"] if p["rule"] == "allowed_codes"]
    assert len(listed) == MAX_ROWS_PER_RULE
    n_bad = int((frame["sex"] == 7).sum())
    assert report["more_rows_not_listed"]["sex:allowed_codes"] == n_bad - MAX_ROWS_PER_RULE


def test_batch_reuses_the_validated_read_and_writes_the_same(tmp_path, monkeypatch):
    """validate then derive in one batch (one read) writes what two separate runs write."""
    study = str(Path(__file__).resolve().parents[1] / STUDY)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "in.csv"
    generate(401).to_csv(data, index=False)
    for name, steps in {
        "batch": [[["validate", str(data), "--study", study, "--json-out", "v1.json"],
                   ["derive", str(data), "--study", study, "--validated", "v1.json",
                    "--out", "c1.parquet", "--flow", "f1.json"]]],
        "split": [[["validate", str(data), "--study", study, "--json-out", "v2.json"]],
                  [["derive", str(data), "--study", study, "--validated", "v2.json",
                    "--out", "c2.parquet", "--flow", "f2.json"]]],
    }.items():  # fmt: skip
        for batch in steps:
            assert main(["batch", json.dumps(batch)]) == 0, name
    c1, c2 = pd.read_parquet("c1.parquet"), pd.read_parquet("c2.parquet")
    assert c1.equals(c2) and (c1.dtypes == c2.dtypes).all()
    for a, b in (("v1.json", "v2.json"), ("f1.json", "f2.json")):
        assert json.loads(Path(a).read_text()) == json.loads(Path(b).read_text())
