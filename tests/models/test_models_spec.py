"""Models from the study file: reference categories, one column in several roles, tests
of a predictor as a whole, Firth on request, and every mistake caught at load time.

Expected values: tests/stats/reference/logistf_reference.R (R 4.2.2 glm, car 3.1-1
Anova, drop1, logistf 1.26.1) on R's infert data (tests/stats/reference/infert.csv:
education coded 1 = 0-5 yrs, 2 = 6-11 yrs, 3 = 12+ yrs; spontaneous missing in five
rows). Each assertion names the R call behind its number.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.derive import derive_cohort
from analysis.errors import StudyFileError
from analysis.models import build_model
from analysis.render.grid import format_p, to_grid
from analysis.report import scorecard
from analysis.results import write_json
from analysis.study import Study, load_study

REF = Path(__file__).resolve().parents[1] / "stats" / "reference"
EDU = {1: "0-5 yrs", 2: "6-11 yrs", 3: "12+ yrs"}
STUDY = {
    "study": {"id": "infert", "title": "Infertility after abortion (R's infert)"},
    "variables": [
        {"name": "case", "label": "Case", "type": "binary", "codes": {0: "Control", 1: "Case"}},
        {"name": "education", "label": "Education", "type": "categorical", "codes": EDU},
        {"name": "age", "label": "Age", "unit": "years", "type": "continuous"},
        {"name": "age_group", "label": "Age group", "type": "categorical",
         "codes": {1: "<30", 2: "30-34", 3: "35+"},
         "derive": {"kind": "cut", "source": "age", "breaks": [30, 35]}},
        {"name": "spontaneous", "label": "Prior spontaneous abortions", "type": "continuous"},
        {"name": "spont_any", "label": "Any spontaneous abortion", "type": "binary",
         "codes": {0: "None", 1: "One or more"},
         "derive": {"kind": "cut", "source": "spontaneous", "breaks": [1]}},
        {"name": "induced", "label": "Prior induced abortions", "type": "continuous"},
    ],
    "tables": [{"id": "t", "title": "T", "rows": ["age"]}],
    "models": [
        {"id": "first", "outcome": "case", "event": 1,
         "predictors": ["age", "education", "spontaneous", "induced"]},
        {"id": "ref3", "outcome": "case", "event": 1,
         "predictors": ["age", {"variable": "education", "reference": 3}, "spontaneous",
                        "induced"]},
        {"id": "last", "outcome": "case", "event": 1, "reference": "last",
         "predictors": ["age", "education", "spontaneous", "induced"]},
        {"id": "firth3", "outcome": "case", "event": 1, "method": "firth",
         "predictors": ["age", {"variable": "education", "reference": "last"}, "spontaneous",
                        "induced"]},
        {"id": "trend", "outcome": "case", "event": 1,
         "predictors": ["age", {"variable": "education", "as": "continuous"}, "spontaneous",
                        "induced"]},
        {"id": "case_as_predictor", "outcome": "spont_any", "event": 1,
         "predictors": [{"variable": "case", "reference": 1}, "age"]},
        {"id": "age_groups", "outcome": "case", "event": 1,
         "predictors": [{"variable": "age_group", "reference": "last"}, "spontaneous"]},
        {"id": "where23", "outcome": "case", "event": 1, "where": {"education": [2, 3]},
         "predictors": ["education", "age"]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(REF / "logistf_reference.csv", dtype={"value": str}, keep_default_na=False)


def values(ref: pd.DataFrame, case: str, quantity: str) -> np.ndarray:
    rows = ref[(ref.case == case) & (ref.quantity == quantity)]
    assert len(rows), (case, quantity)
    return rows.value.astype(float).to_numpy()


def col(result: dict, key: str) -> np.ndarray:
    return np.array([t[key] for t in result["terms"]], dtype=float)


def joint_tests(result: dict) -> dict[str, dict]:
    return {t["predictor"]: t for t in result["predictor_tests"]}


def write_study(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "infert.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def infert_study(tmp_path_factory) -> Study:
    return load_study(write_study(tmp_path_factory.mktemp("infert"), STUDY))


@pytest.fixture(scope="module")
def fits(infert_study: Study) -> dict[str, dict]:
    """Every model of STUDY on infert.csv, the derived age_group and spont_any included."""
    cohort = derive_cohort(pd.read_csv(REF / "infert.csv"), infert_study)[0]
    return {m["id"]: build_model(cohort, infert_study, m["id"]) for m in infert_study.models}


def test_reference_first_code_is_the_default(fits, ref):
    res = fits["first"]
    assert [t["term"] for t in res["terms"]] == [
        "const", "age", "education[2]", "education[3]", "spontaneous", "induced",
    ]  # fmt: skip
    # R: glm(case ~ age + education + spontaneous + induced, binomial, infert)
    assert col(res, "estimate") == pytest.approx(values(ref, "infert_ml", "coef"), rel=1e-7)
    assert col(res, "se") == pytest.approx(values(ref, "infert_ml", "se"), rel=1e-6)
    assert res["predictor_coding"]["education"] == {
        "entered_as": "categorical", "levels": [1, 2, 3], "reference": 1,
        "reference_rule": "first",
    }  # fmt: skip
    assert res["predictors"] == ["age", "education", "spontaneous", "induced"]
    assert res["term_labels"]["education[3]"] == "Education (12+ yrs vs 0-5 yrs)"


@pytest.mark.parametrize("model", ["ref3", "last"])
def test_reference_by_code_or_last_matches_relevel(fits, ref, model):
    res = fits[model]
    assert [t["term"] for t in res["terms"]][2:4] == ["education[1]", "education[2]"]
    # R: glm(..., data = transform(infert, education = relevel(education, ref = "3")))
    assert col(res, "estimate") == pytest.approx(values(ref, "infert_ml_ref3", "coef"), rel=1e-7)
    assert col(res, "p_value") == pytest.approx(values(ref, "infert_ml_ref3", "p"), rel=1e-6)
    assert res["predictor_coding"]["education"]["reference"] == 3
    assert res["term_labels"]["education[1]"] == "Education (0-5 yrs vs 12+ yrs)"


@pytest.mark.parametrize(("model", "case"), [("first", "infert_ml"), ("ref3", "infert_ml_ref3")])
def test_factor_tests_match_car_anova_and_drop1(fits, ref, model, case):
    education = joint_tests(fits[model])["education"]
    # car::Anova(fit, type = 3, test.statistic = "Wald"): row education (3rd of 5)
    assert education["df"] == 2
    assert education["wald"] == pytest.approx(values(ref, case, "anova3_wald_chisq")[2], rel=1e-6)
    assert education["wald_p_value"] == pytest.approx(
        values(ref, case, "anova3_wald_p")[2], rel=1e-6
    )
    # drop1(fit, test = "LRT"): education refitted out on the same 243 rows
    assert education["lr_statistic"] == pytest.approx(values(ref, case, "drop1_lrt")[1], rel=1e-6)
    assert education["lr_p_value"] == pytest.approx(values(ref, case, "drop1_p")[1], rel=1e-6)


def test_crude_factor_tests_on_the_crude_rows(fits, ref):
    crude = fits["first"]["crude"]["education"]
    assert crude["n"] == 248  # education is never missing; the crude fit keeps all rows
    education = joint_tests(crude)["education"]
    # R: car::Anova(glm(case ~ education, binomial, infert), type = 3, test = "Wald")
    (wald,) = values(ref, "infert_ml", "crude_wald_education")
    # R: null deviance - deviance of the same fit
    (lrt,) = values(ref, "infert_ml", "crude_lrt_education")
    assert education["wald"] == pytest.approx(wald, rel=1e-6)
    assert education["lr_statistic"] == pytest.approx(lrt, rel=1e-6)


def test_factor_row_in_the_rendered_table(fits, ref):
    grid = to_grid(fits["first"])
    (i,) = [k for k, row in enumerate(grid.rows) if row[0] == "Education"]
    # adjusted p: car::Anova Wald p; crude p: the crude Wald test
    assert grid.rows[i][4] == format_p(values(ref, "infert_ml", "anova3_wald_p")[2])
    assert grid.rows[i][1] == grid.rows[i][3] == ""
    assert grid.indent[i] == 0 and grid.indent[i + 1] == grid.indent[i + 2] == 1
    assert grid.rows[i + 1][0] == "Education (6-11 yrs vs 0-5 yrs)"
    assert any("own row: joint test" in note for note in grid.footnotes)


def test_method_firth_from_the_study_file_matches_logistf(fits, ref):
    res = fits["firth3"]
    assert res["method"] == "firth" and res["method_requested"] == "firth"
    assert "firth" not in res  # Firth is the fit, not an addition
    case = "infert_firth_ref3"
    # R: logistf(case ~ age + education + spontaneous + induced, relevel(education, "3"))
    assert col(res, "estimate") == pytest.approx(values(ref, case, "coef"), rel=1e-6)
    assert col(res, "p_value") == pytest.approx(values(ref, case, "plr_p"), rel=1e-6)
    assert np.log(col(res, "ci_low")) == pytest.approx(values(ref, case, "ci_lower"), abs=1e-6)
    assert np.log(col(res, "ci_high")) == pytest.approx(values(ref, case, "ci_upper"), abs=1e-6)
    assert col(res, "se_augmented") == pytest.approx(values(ref, case, "se_logistf"), rel=1e-6)
    # R: logistftest(fit, test = c(3, 4)) with the first code as reference; the
    # penalised likelihood ratio does not depend on the reference
    chisq, _, p = values(ref, "infert_firth", "joint_education")
    assert joint_tests(res)["education"]["lr_statistic"] == pytest.approx(chisq, rel=1e-6)
    assert joint_tests(res)["education"]["lr_p_value"] == pytest.approx(p, rel=1e-6)
    # the crude fits are Firth fits too
    assert res["crude"]["age"]["method"] == "firth"
    grid = to_grid(res)
    assert any("profile penalised-likelihood" in note for note in grid.footnotes)
    assert not any("nan" in note for note in grid.footnotes)


def test_results_validate_against_the_schema(fits, tmp_path):
    for model_id, res in fits.items():
        write_json(res, tmp_path / f"{model_id}.json")  # raises if not schema-valid


def test_trend_entry_of_a_categorical_variable(fits, ref):
    res = fits["trend"]
    assert res["predictor_terms"]["education"] == ["education"]
    assert res["predictor_coding"]["education"] == {"entered_as": "continuous"}
    # R: glm(case ~ age + as.numeric(education) + spontaneous + induced, binomial)
    assert col(res, "estimate") == pytest.approx(values(ref, "roles_trend", "coef"), rel=1e-7)
    assert col(res, "se") == pytest.approx(values(ref, "roles_trend", "se"), rel=1e-6)
    assert res["term_labels"]["education"] == "Education (per 1 unit of its code)"


def test_outcome_of_one_model_predictor_of_another(fits, ref):
    res = fits["case_as_predictor"]
    assert res["outcome"] == "spont_any"
    # R: glm(spont_any ~ factor(case, levels = c(1, 0)) + age): OR for control vs case
    assert col(res, "estimate") == pytest.approx(
        values(ref, "roles_case_predictor", "coef"), rel=1e-7
    )
    assert res["term_labels"]["case"] == "Case (Control vs Case)"
    assert res["n"] == values(ref, "roles_case_predictor", "n")[0]


def test_continuous_column_by_category_through_a_derived_variable(fits, ref):
    res = fits["age_groups"]
    # R: glm(case ~ relevel(cut(age, c(-Inf, 30, 35, Inf), right = FALSE), "3") + spontaneous)
    assert [t["term"] for t in res["terms"]][1:3] == ["age_group[1]", "age_group[2]"]
    assert col(res, "estimate") == pytest.approx(values(ref, "roles_age_group", "coef"), rel=1e-7)


def test_where_keeps_two_codes_of_a_factor(fits, ref):
    res = fits["where23"]
    assert res["predictor_terms"]["education"] == ["education"]
    assert res["predictor_coding"]["education"]["levels"] == [2, 3]
    assert res["predictor_coding"]["education"]["reference"] == 2
    # R: glm(case ~ education + age, data = droplevels(subset(infert, education != 1)))
    assert res["n"] == values(ref, "roles_where", "n")[0] == 236
    assert col(res, "estimate") == pytest.approx(values(ref, "roles_where", "coef"), rel=1e-7)


def test_method_auto_chooses_and_says_why(tmp_path):
    rng = np.random.default_rng(11)
    n = 150
    x = rng.normal(0, 1, n)
    frame = pd.DataFrame({
        "x": x, "g": rng.integers(1, 4, n),
        "y": (rng.random(n) < 1 / (1 + np.exp(-(-3.0 + 0.7 * x)))).astype(int),
    })  # fmt: skip
    raw = {
        "study": {"id": "toy", "title": "Toy"},
        "variables": [
            {"name": "x", "label": "X", "type": "continuous"},
            {"name": "g", "label": "G", "type": "categorical", "codes": {1: "a", 2: "b", 3: "c"}},
            {"name": "y", "label": "Y", "type": "binary", "codes": {0: "no", 1: "yes"}},
        ],
        "tables": [{"id": "t", "title": "T", "rows": ["x"]}],
        "models": [{"id": "m", "outcome": "y", "event": 1, "method": "auto",
                    "predictors": ["x", "g"]}],
    }  # fmt: skip
    study = load_study(write_study(tmp_path, raw))
    res = build_model(frame, study, "m")
    assert res["events"] / 3 < 10
    assert res["method"] == "firth" and res["method_requested"] == "auto"
    assert "events per variable" in res["method_reason"]
    assert res["crude"]["g"]["method"] == "firth"
    many = pd.concat([frame] * 20, ignore_index=True)
    many["x"] += rng.normal(0, 0.01, len(many))  # keep the rows distinct
    res = build_model(many, study, "m")
    assert res["method"] == "logit_mle" and "firth" not in res
    assert "method: auto" in res["method_reason"]


def test_baclofen_model_keeps_its_results(results):
    res = results["table4"]
    assert res["predictors"] == ["albumin", "diabetic_nephropathy"]
    assert res["method"] == "logit_mle" and res["method_requested"] == "logit_mle"
    assert res["predictor_coding"]["diabetic_nephropathy"]["reference"] == 0
    assert [t["predictor"] for t in res["predictor_tests"]] == res["predictors"]
    # a one-term predictor's joint Wald test is its term's Wald test
    wald = {t["term"]: t["wald"] for t in res["terms"]}
    for test in res["predictor_tests"]:
        assert test["wald"] == pytest.approx(wald[test["predictor"]], rel=1e-9)


def _model(raw: dict, model_id: str) -> dict:
    return next(m for m in raw["models"] if m["id"] == model_id)


BROKEN = [
    ("reference not a code",
     lambda r: _model(r, "ref3")["predictors"][1].update(reference=4),
     "models[1].predictors[1].reference", "model 'ref3'", "education",
     "reference 4 is not a code of the variable (codes: 1, 2, 3; or first, last)"),
    ("reference written as text",
     lambda r: _model(r, "ref3")["predictors"][1].update(reference="3"),
     "models[1].predictors[1].reference", "model 'ref3'", "education", "'3' is not a code"),
    ("reference on a continuous predictor",
     lambda r: _model(r, "first")["predictors"].__setitem__(0, {"variable": "age",
                                                                 "reference": 1}),
     "models[0].predictors[0].reference", "model 'first'", "age",
     "a reference applies only to a binary or categorical predictor"),
    ("reference on a trend",
     lambda r: _model(r, "trend")["predictors"][1].update(reference=1),
     "models[4].predictors[1].reference", "model 'trend'", "education", "as: continuous"),
    ("continuous as categorical",
     lambda r: _model(r, "first")["predictors"].__setitem__(0, {"variable": "age",
                                                                 "as": "categorical"}),
     "models[0].predictors[0].as", "model 'first'", "age", "derive: {kind: cut"),
    ("text codes as continuous",
     lambda r: (r["variables"][1].update(codes={"lo": "Low", "mid": "Mid", "hi": "High"}),
                _model(r, "ref3")["predictors"][1].update(reference="hi")),
     "models[4].predictors[1].as", "model 'trend'", "education", "text code 'lo'"),
    ("reference excluded by where",
     lambda r: _model(r, "where23")["predictors"].__setitem__(
         0, {"variable": "education", "reference": 1}),
     "models[7].predictors[0].reference", "model 'where23'", "education",
     "excluded by the model's where"),
    ("where leaves one code",
     lambda r: _model(r, "where23").update(where={"education": 3}),
     "models[7].predictors[0]", "model 'where23'", "education", "keeps only 3"),
    ("predictor twice",
     lambda r: _model(r, "first")["predictors"].append({"variable": "education",
                                                        "as": "continuous"}),
     "models[0].predictors[4]", "model 'first'", "education", "already predictors[1]"),
    ("outcome as predictor",
     lambda r: _model(r, "first")["predictors"].append("case"),
     "models[0].predictors[4]", "model 'first'", "case", "is the model's outcome"),
    ("undeclared predictor",
     lambda r: _model(r, "first")["predictors"].append({"variable": "parity"}),
     "models[0].predictors[4]", "model 'first'", "parity", "not a declared variable"),
    ("event not a code",
     lambda r: _model(r, "first").update(event=2),
     "models[0].event", "model 'first'", "case", "2 is not a code of 'case'"),
    ("misspelt key in a predictor",
     lambda r: _model(r, "ref3")["predictors"][1].update(refrence=3),
     "models[1].predictors[1]", "", "", "unknown key 'refrence'"),
    ("model-wide reference not first or last",
     lambda r: _model(r, "first").update(reference=2),
     "models[0].reference", "", "", "is not one of ['first', 'last']"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "mutate", "key", "model", "variable", "text"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_model_mistakes_are_named_at_load(tmp_path, case, mutate, key, model, variable, text):
    raw = copy.deepcopy(STUDY)
    mutate(raw)
    path = write_study(tmp_path, raw)
    with pytest.raises(StudyFileError) as err:
        load_study(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}")
    assert model in message and text in message
    assert re.search(rf"\b{re.escape(variable)}\b", message)


def test_scorecard_reads_a_factor_from_its_joint_test(tmp_path, fits, ref):
    raw = copy.deepcopy(STUDY)
    raw["published"] = {"p_values": [{"table": "first", "variable": "education", "p": 0.9}]}
    study = load_study(write_study(tmp_path, raw))
    (row,) = scorecard(study, {"first": fits["first"]})
    # car::Anova Wald p of education (no single term is named 'education')
    assert row["ours"] == format_p(values(ref, "infert_ml", "anova3_wald_p")[2])
    assert row["agree"] is True
