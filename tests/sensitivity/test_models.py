"""models: Firth beside ML, adjusted model, rescaling, EPV; against R glm and a Firth fit
written out in R (reference_sensitivity.R, output reference_sensitivity.out)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.report import build_context
from analysis.sensitivity import run_analysis
from analysis.sensitivity.models import rescale, run_models
from analysis.stats import logistic_regression
from analysis.study import load_study

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def small():
    study = load_study(HERE / "reference_small_study.yaml")
    cohort = pd.read_csv(HERE / "reference_small.csv")
    return cohort, study, run_models(cohort, study)


def terms(fit):
    return {t["term"]: t for t in fit["terms"]}


def test_ml_and_firth_match_r(small):
    _, _, res = small
    ml, firth = terms(res["fits"]["ml"]), terms(res["fits"]["firth"])
    # glm(neurotoxicity ~ albumin + diabetic_nephropathy, binomial)
    assert ml["albumin"]["estimate"] == pytest.approx(-1.53235400671504, rel=1e-7)
    assert ml["albumin"]["se"] == pytest.approx(0.736120458213609, rel=1e-6)
    assert ml["albumin"]["p_value"] == pytest.approx(0.0373733512514045, rel=1e-6)
    assert ml["diabetic_nephropathy"]["p_value"] == pytest.approx(0.466472971734811, rel=1e-6)
    assert ml["albumin"]["ci_low"] == pytest.approx(0.0510411252835655, rel=1e-6)
    assert ml["albumin"]["ci_high"] == pytest.approx(0.914311075420485, rel=1e-6)
    # Firth by Newton on the modified score in R; penalised likelihood-ratio p
    assert firth["albumin"]["estimate"] == pytest.approx(-1.41090952596127, abs=1e-6)
    assert firth["diabetic_nephropathy"]["estimate"] == pytest.approx(0.390070562005285, abs=1e-6)
    assert firth["albumin"]["se"] == pytest.approx(0.720765725193911, rel=1e-6)
    assert firth["albumin"]["p_value"] == pytest.approx(0.0339564821488124, rel=1e-6)
    assert firth["diabetic_nephropathy"]["p_value"] == pytest.approx(0.481435848431294, rel=1e-6)
    # 95% profile penalised-likelihood limits (uniroot on the penalised likelihood ratio)
    assert [firth["albumin"]["ci_low"], firth["albumin"]["ci_high"]] == pytest.approx(
        [0.0547050996843571, 0.902231042432773], rel=1e-6
    )
    assert [
        firth["diabetic_nephropathy"]["ci_low"],
        firth["diabetic_nephropathy"]["ci_high"],
    ] == pytest.approx([0.496477701260337, 4.45438387763288], rel=1e-6)
    pair = res["firth_vs_ml"][0]
    assert pair["term"] == "albumin"
    assert pair["firth"]["odds_ratio"] == pytest.approx(np.exp(-1.41090952596127), rel=1e-6)
    assert pair["ml"]["odds_ratio"] == pytest.approx(np.exp(-1.53235400671504), rel=1e-7)


def test_adjusted_model_matches_r(small):
    _, _, res = small
    adj = res["fits"]["adjusted_ml"]
    # glm(... + age + factor(sex) + factor(ckd_group) + daily_dose): first code reference
    # (glm.control(epsilon = 1e-14): glm's SEs use the last iteration's weights)
    coef = [
        4.60394317838961,
        -1.58074072222863,
        0.313263787620215,
        0.00363170222923585,
        -0.736002131435375,
        -0.246457376763834,
        0.696578164727946,
        -0.0336475920855211,
    ]
    p = [
        0.131433677969025,
        0.0391590900008723,
        0.602521481283292,
        0.888144735505068,
        0.382411801863326,
        0.756355063247628,
        0.329192198724226,
        0.50233048857977,
    ]
    names = ["albumin", "diabetic_nephropathy", "age", "sex", "ckd_group[2]",
             "ckd_group[3]", "daily_dose"]  # fmt: skip
    t = terms(adj)
    assert [t[n]["estimate"] for n in names] == pytest.approx(coef[1:], rel=1e-6)
    assert [t[n]["p_value"] for n in names] == pytest.approx(p[1:], rel=1e-6)
    assert res["adjustment"] == ["age", "sex", "ckd_group", "daily_dose"]


def test_rescaled_albumin_matches_refit(small):
    cohort, _, res = small
    rows = {(r["fit"], r["per"]): r for r in res["rescaled"] if r["term"] == "albumin"}
    half, sd = rows[("ml", "0.5 g/dL")], rows[("ml", "1 SD")]
    # R: glm with I(albumin / 0.5) and I(albumin / sd(albumin)), Wald CI
    assert [half["odds_ratio"], half["ci_low"], half["ci_high"], half["p_value"]] == (
        pytest.approx([0.464786553570902, 0.225922830372598, 0.956196149030357,
                       0.0373733512514045], rel=1e-6))  # fmt: skip
    assert sd["sd"] == pytest.approx(0.420770748269019, rel=1e-12)
    assert [sd["odds_ratio"], sd["ci_low"], sd["ci_high"]] == pytest.approx(
        [0.52478336375404, 0.285976688432908, 0.963007091179793], rel=1e-6
    )
    # and by refitting here with the rescaled column: the same OR and CI
    y = cohort["neurotoxicity"].to_numpy()
    X = pd.DataFrame({"albumin": cohort["albumin"] / 0.5,
                      "diabetic_nephropathy": cohort["diabetic_nephropathy"]})  # fmt: skip
    refit = {t["term"]: t for t in logistic_regression(y, X)["terms"]}["albumin"]
    for key in ("odds_ratio", "ci_low", "ci_high", "p_value"):
        assert half[key] == pytest.approx(refit[key], rel=1e-8)


def test_rescale_by_hand():
    # OR 0.2 with CI 0.05-0.8 per unit: per 0.5 units sqrt of each; per -1 the inverse
    got = rescale({"estimate": np.log(0.2), "odds_ratio": 0.2, "ci_low": 0.05,
                   "ci_high": 0.8, "p_value": 0.01}, 0.5)  # fmt: skip
    assert got["odds_ratio"] == pytest.approx(np.sqrt(0.2))
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((np.sqrt(0.05), np.sqrt(0.8)))
    inv = rescale({"estimate": np.log(0.2), "odds_ratio": 0.2, "ci_low": 0.05,
                   "ci_high": 0.8, "p_value": 0.01}, -1.0)  # fmt: skip
    assert (inv["ci_low"], inv["ci_high"]) == pytest.approx((1.25, 20.0))


def test_events_per_variable(small):
    _, _, res = small
    epv = {r["fit"]: r for r in res["events_per_variable"]}
    # 21 events of 60 (R); 2 terms, then 7 terms (ckd_group has two indicators)
    assert epv["ml"]["epv"] == pytest.approx(21 / 2) and epv["ml"]["warning"] is False
    assert epv["adjusted_ml"]["epv"] == pytest.approx(3.0) and epv["adjusted_ml"]["warning"]
    assert any(w.startswith("adjusted_ml: events per variable 3.00") for w in res["warnings"])


def test_small_conclusion(small):
    _, _, res = small
    c = res["conclusion"]
    # albumin p < 0.05 in all four fits (R: 0.0374 ML, 0.0340 Firth, 0.0391 adjusted)
    assert c["albumin_independent"] is True
    assert c["diabetic_nephropathy_independent"] is False
    assert c["holds"] is True


def test_default_cohort_runs_deterministic_json(cohort, study, results):
    first = run_models(cohort, study, results)
    again = run_models(cohort, study)
    assert json.dumps(first, sort_keys=True, allow_nan=False) == json.dumps(
        again, sort_keys=True, allow_nan=False
    )
    assert first["kind"] == "sensitivity" and first["analysis"] == "models"
    assert set(first["fits"]) == {"ml", "firth", "adjusted_ml", "adjusted_firth"}
    c = first["conclusion"]
    assert {"albumin_independent", "diabetic_nephropathy_independent", "holds", "text"} <= set(c)


def _without_firth(study, tmp_path, max_rows):
    """The small study with a `models` entry whose `max_rows` the 60 patients exceed."""
    text = (HERE / "reference_small_study.yaml").read_text(encoding="utf-8")
    path = tmp_path / "small_study.yaml"
    path.write_text(f"{text}\nsensitivity:\n  - {{analysis: models, max_rows: {max_rows}}}\n")
    return load_study(path)


def test_above_max_rows_only_firth_is_skipped(small, tmp_path):
    """Above the analysis' `max_rows`, the maximum-likelihood fits (the study model and
    the adjusted one) still run, with the same numbers; Firth's two fits say why not."""
    cohort, _, full = small
    study = _without_firth(small[1], tmp_path, 30)
    (entry,) = study.sensitivity
    out = run_analysis(entry, cohort, study)
    why = (
        "the cohort's 60 rows are more than the 30 Firth's fits run on (`max_rows` of its "
        "entry in the study file): Firth's penalised fits"
    )
    assert "not_run" not in out and out["id"] == "models"
    assert out["firth_not_run"].startswith(why)
    assert set(out["fits"]) == {"ml", "firth", "adjusted_ml", "adjusted_firth"}
    for key in ("firth", "adjusted_firth"):
        fit = out["fits"][key]
        assert fit["not_run"] == out["firth_not_run"] and "terms" not in fit
        assert fit["method"] == "firth" and fit["fit"] == key
    for key in ("ml", "adjusted_ml"):
        assert out["fits"][key] == full["fits"][key]
    skipped = {"not_run": out["firth_not_run"]}
    assert [r["firth"] for r in out["firth_vs_ml"]] == [skipped] * len(full["firth_vs_ml"])
    assert [r["ml"] for r in out["firth_vs_ml"]] == [r["ml"] for r in full["firth_vs_ml"]]
    assert out["rescaled"] == [r for r in full["rescaled"] if r["fit"] in ("ml", "adjusted_ml")]
    assert out["events_per_variable"] == [
        r for r in full["events_per_variable"] if r["fit"] in ("ml", "adjusted_ml")
    ]
    assert set(out["conclusion"]["significance_by_fit"]) == {"ml", "adjusted_ml"}
    assert out["conclusion"]["holds"] in (True, False)
    assert "Firth's fits were not run: " + why in out["conclusion"]["text"]
    assert "in all two fits" in out["method"] and "Firth's fits were not run" in out["method"]
    json.dumps(out, allow_nan=False)


def test_at_max_rows_firth_runs(small, tmp_path):
    cohort, _, full = small
    study = _without_firth(small[1], tmp_path, 60)
    (entry,) = study.sensitivity
    out = run_analysis(entry, cohort, study)
    assert "firth_not_run" not in out
    assert {k: v for k, v in out.items() if k != "id"} == full


def test_the_report_says_which_fits_did_not_run(small, tmp_path):
    cohort, _, _ = small
    study = _without_firth(small[1], tmp_path, 30)
    out = run_analysis(study.sensitivity[0], cohort, study)
    context = build_context(study, [], {}, [], "site data", {
        "inputs": [], "study_file": {"path": "s.yaml", "sha256": "0" * 64},
        "packages": {}, "python": "3", "platform": "x", "created": "now", "code_sha256": "0",
    }, None, sensitivity=[out], own_data=False)  # fmt: skip
    (section,) = context["sensitivity"]
    fits_shown = {row[0] for row in section["tables"][0]["rows"]}
    assert fits_shown == {"Maximum likelihood", "Adjusted, maximum likelihood"}
    (note,) = [n for n in section["notes"] if n.startswith("Fits not run")]
    assert note.startswith("Fits not run (Firth; adjusted, Firth): the cohort's 60 rows")
