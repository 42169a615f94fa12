"""An analysis the data cannot support says so, and the workflow goes on."""

from __future__ import annotations

import json

import numpy as np

from analysis.report import build_context
from analysis.sensitivity import run_analysis


def _separated(cohort):
    """Neurotoxicity exactly where albumin is lowest: complete separation on albumin."""
    frame = cohort.dropna(subset=["albumin"]).copy()
    cut = np.sort(frame["albumin"].to_numpy())[20]
    frame["neurotoxicity"] = (frame["albumin"] < cut).astype(int)
    return frame


def test_separation_makes_model_based_analyses_not_run(cohort, study):
    frame = _separated(cohort)
    entries = {e["id"]: e for e in study.sensitivity}
    for name in ("evalue", "calibration", "bootstrap"):
        out = run_analysis(entries[name], frame, study, None, **(
            {"workers": 1, "resamples": 200} if name == "bootstrap" else {}))  # fmt: skip
        assert out["not_run"], name
        assert out["conclusion"]["holds"] is None
        assert out["conclusion"]["text"].startswith("Not run on these data: ")
        json.dumps(out, allow_nan=False)


def test_the_report_shows_why_an_analysis_did_not_run(cohort, study, results):
    entry = next(e for e in study.sensitivity if e["analysis"] == "calibration")
    out = run_analysis(entry, _separated(cohort), study)
    context = build_context(study, list(results.values()), {}, [], "site data", {
        "inputs": [], "study_file": {"path": "s.yaml", "sha256": "0" * 64},
        "packages": {}, "python": "3", "platform": "x", "created": "now", "code_sha256": "0",
    }, None, sensitivity=[out], own_data=False)  # fmt: skip
    (section,) = context["sensitivity"]
    assert section["tables"] == [] and "Not run on these data" in section["conclusion"]
