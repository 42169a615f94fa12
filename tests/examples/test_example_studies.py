"""The example studies under studies/examples/, end to end through the CLI, against R.

Each example is a public dataset (R's survival::pbc and MASS::birthwt, statsmodels'
copy of Fair's affairs survey) with a study file written as a new user would: derived
variables, inclusion criteria, tables with two and several groups, continuous and
categorical rows, and a logistic model with a categorical predictor whose reference
level is chosen. The reference values come from R (tests/reference/example_studies.R,
run by hand; its output is tests/reference/example_studies.json): every test a row
may choose, so each row is checked with whichever test its policy picked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "studies" / "examples"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "example_studies.json").read_text())
# The models' categorical predictors, as R names their indicator terms (factor + level).
FACTORS = {"pbc": ["edema_grade"], "birthwt": ["race"], "fair": ["rate_marriage", "religious"]}
TABLES = {
    "pbc": ["by_treatment", "by_stage"],
    "birthwt": ["by_low", "by_race"],
    "fair": ["by_affair", "by_occupation"],
}
MODELS = {"pbc": "death", "birthwt": "low_birth_weight", "fair": "affair"}


@pytest.fixture(scope="module", params=sorted(TABLES))
def example(request, tmp_path_factory):
    name = request.param
    out = tmp_path_factory.mktemp(name)
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "tables", str(EXAMPLES / name / f"{name}.csv"),
         "--study", str(EXAMPLES / name / f"{name}.yaml"), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    return name, results, REFERENCE[name]


def _level(value: object) -> str:
    """R writes factor levels as text ("0.5", "f"); the results JSON keys by code."""
    return str(value)


def test_cohort_size(example):
    name, results, ref = example
    for table in TABLES[name]:
        assert results[table]["n"] == ref["n"], table


def test_continuous_rows_and_their_tests(example):
    name, results, ref = example
    checked = 0
    for table in TABLES[name]:
        for row in results[table]["rows"]:
            if row["kind"] != "continuous":
                continue
            expected = ref[table][row["variable"]]
            for key, stats in row["stats"].items():
                group = _level(key).removesuffix(".0")
                assert stats["n"] == expected["n"][group], (table, row["variable"], key)
                assert stats["mean"] == pytest.approx(expected["mean"][group], rel=1e-9)
                assert stats["sd"] == pytest.approx(expected["sd"][group], rel=1e-9)
                assert stats["median"] == pytest.approx(expected["median"][group], rel=1e-9)
            assert row["test"] in expected, (table, row["variable"], row["test"])
            assert row["p_value"] == pytest.approx(expected[row["test"]], rel=1e-6), (
                table,
                row["variable"],
                row["test"],
            )
            checked += 1
    assert checked >= 4


def test_categorical_rows_counts_and_chi_square(example):
    name, results, ref = example
    checked = 0
    for table in TABLES[name]:
        groups = [g["key"] for g in results[table]["groups"]]
        rows = [r for r in results[table]["rows"] if r["kind"] == "categorical"]
        for variable in dict.fromkeys(r["variable"] for r in rows):
            expected = ref[table][variable]
            levels = [_level(v) for v in expected["levels"]]
            for row in (r for r in rows if r["variable"] == variable):
                level = _level(row["level"]).removesuffix(".0")
                counts = expected["counts"][levels.index(level)]
                assert [row["stats"][g]["count"] for g in groups] == counts, (table, variable)
                if row["test"] == "chi_square":
                    assert row["p_value"] == pytest.approx(expected["chi_square"], rel=1e-6)
                    assert row["statistic"] == pytest.approx(expected["statistic"], rel=1e-6)
                    checked += 1
    assert checked >= 1


def _r_term(name: str, term: str) -> str:
    """R's name of a model term: (Intercept), age, race2 -> const, age, race[2]."""
    if term == "(Intercept)":
        return "const"
    for factor in FACTORS[name]:
        if term.startswith(factor) and term != factor:
            return f"{factor}[{term.removeprefix(factor)}]"
    return term


def test_model_with_chosen_reference_levels(example):
    name, results, ref = example
    model, expected = results[MODELS[name]], ref[MODELS[name]]
    assert model["n"] == expected["n"]
    terms = {t["term"]: t for t in model["terms"]}
    assert sorted(terms) == sorted(_r_term(name, t) for t in expected["terms"])
    for i, r_term in enumerate(expected["terms"]):
        term = terms[_r_term(name, r_term)]
        assert term["estimate"] == pytest.approx(expected["estimate"][i], rel=1e-6, abs=1e-9)
        assert term["se"] == pytest.approx(expected["se"][i], rel=1e-6)
        assert term["p_value"] == pytest.approx(expected["p_value"][i], rel=1e-6)
    assert model["fit"]["minus2ll"] == pytest.approx(expected["minus2ll"], rel=1e-9)
    assert model["fit"]["aic"] == pytest.approx(expected["aic"], rel=1e-9)
    assert model["fit"]["bic"] == pytest.approx(expected["bic"], rel=1e-9)


def test_model_factor_wald_and_likelihood_ratio_tests(example):
    """SPSS's joint Wald row per factor and the LR test per predictor, against R's
    car::Anova(type = 3, test.statistic = "Wald") and drop1(test = "LRT")."""
    name, results, ref = example
    model, expected = results[MODELS[name]], ref[MODELS[name]]
    tests = {t["predictor"]: t for t in model["predictor_tests"]}
    for factor in FACTORS[name]:
        wald = expected["factor_wald"][factor]
        assert tests[factor]["df"] == wald["df"]
        assert tests[factor]["wald"] == pytest.approx(wald["statistic"], rel=1e-6)
        assert tests[factor]["wald_p_value"] == pytest.approx(wald["p_value"], rel=1e-6)
    for predictor, lr in expected["term_lr"].items():
        assert tests[predictor]["df"] == lr["df"], predictor
        assert tests[predictor]["lr_statistic"] == pytest.approx(lr["statistic"], rel=1e-6)
        assert tests[predictor]["lr_p_value"] == pytest.approx(lr["p_value"], rel=1e-6)


def test_model_profile_likelihood_ci_against_r_confint(example):
    """Each OR's profile-likelihood limits beside the Wald ones: R's confint() on the glm
    (MASS's profile interpolates a spline through the signed root deviance on a grid, so
    it agrees to a few 1e-4; tests/stats/test_profile_ci.py checks the defining equation
    itself to 1e-5)."""
    name, results, ref = example
    model, expected = results[MODELS[name]], ref[MODELS[name]]
    terms = {t["term"]: t for t in model["terms"]}
    for i, r_term in enumerate(expected["terms"]):
        term = terms[_r_term(name, r_term)]
        low, high = expected["profile_ci"][i]
        assert term["profile_ci_low"] == pytest.approx(low, rel=1e-3), r_term
        assert term["profile_ci_high"] == pytest.approx(high, rel=1e-3), r_term
