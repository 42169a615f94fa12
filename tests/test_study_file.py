"""The study file loads, and every kind of mistake gives one clear line."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from analysis.errors import StudyFileError
from analysis.study import load_study

PAPER_VARIABLES = [
    # paper.md "Variables collected", items 1-6
    "sex", "age", "height", "weight", "bmi",
    "diabetic_nephropathy", "hypertension", "heart_failure", "cancer", "cns_disease",
    "reason", "place", "total_dose", "medication_days", "daily_dose",
    "neurotoxicity", "mental_change", "seizure", "onset_hours", "symptom_days", "icu",
    "icu_days", "ventilator", "ventilator_days", "therapeutic_hd", "therapeutic_hd_sessions",
    "crrt", "therapeutic_pd", "therapeutic_pd_days", "dialysis_modality", "dialysis_years",
    "cns_drugs",
    "creatinine", "egfr", "albumin", "cholesterol", "crp", "total_co2", "pco2", "bicarbonate",
]  # fmt: skip


def test_baclofen_study_declares_every_variable_of_the_paper(study):
    missing = [v for v in PAPER_VARIABLES if v not in study.variables]
    assert missing == []
    for name in PAPER_VARIABLES:
        var = study.variables[name]
        assert var.label
        if var.is_categorical:
            assert var.codes, name
        if var.type == "continuous":
            assert var.range is not None and var.unit, name


def test_identifier_is_flagged(study):
    assert study.identifiers == ["patient_id"]


def test_seven_tables_and_the_model_are_declared(study):
    assert sorted(study.output_ids()) == [f"table{i}" for i in range(1, 8)]
    model = study.model("table4")
    assert model["predictors"] == ["albumin", "diabetic_nephropathy"]
    assert model["outcome"] == "neurotoxicity"


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _base() -> dict:
    path = Path(__file__).resolve().parents[1] / "studies" / "baclofen_ckd.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _var(raw: dict, name: str) -> dict:
    return next(v for v in raw["variables"] if v["name"] == name)


BROKEN = [
    ("misspelt key", lambda r: r["tables"][1].update(grup_by="ckd_group"),
     "tables[1] (table 'table2')", "unknown key 'grup_by'"),
    ("unknown group variable", lambda r: r["tables"][1].update(group_by="stage"),
     "tables[1].group_by", "'stage' is not a declared variable"),
    ("bad variable type", lambda r: _var(r, "age").update(type="numeric"),
     "variables[2].type", "'numeric' is not one of"),
    ("categorical without codes", lambda r: _var(r, "sex").pop("codes"),
     "variables[1]", "'codes' is a required property"),
    ("range reversed", lambda r: _var(r, "age").update(range=[110, 18]),
     "variables[2].range", "lower bound 110 > 18"),
    ("undefined policy", lambda r: r["tables"][0].update(policy="spss"),
     "tables[0].policy", "'spss' is not defined"),
    ("event not a code", lambda r: r["models"][0].update(event=2),
     "models[0].event", "2 is not a code of 'neurotoxicity'"),
    ("row not declared", lambda r: r["tables"][2]["rows"].append("dose"),
     "tables[2].rows", "'dose' is not a declared variable"),
    ("duplicate variable", lambda r: r["variables"].append(copy.deepcopy(_var(r, "age"))),
     "name", "'age' is declared twice"),
    ("group by a continuous variable", lambda r: r["tables"][0].update(group_by="age"),
     "tables[0].group_by", "'age' must be binary or categorical"),
    ("no tables", lambda r: r.update(tables=[]), "tables", "should be non-empty"),
    ("alpha out of range", lambda r: r["study"].update(alpha=5),
     "study.alpha", "5 is greater than or equal to the maximum of 1"),
    ("unknown derivation", lambda r: _var(r, "bmi").update(derive={"kind": "formula"}),
     "variables.bmi.derive.kind", "unknown derivation kind 'formula' (known: age_at, bmi, "
     "censored, ckd_epi_2021_egfr, ckd_group, combine, cut, expression, mdrd_egfr, ratio)"),
    ("override of a non-row", lambda r: r["tables"][5]["overrides"].update(age={"test": "anova"}),
     "tables[5].overrides", "'age' is not a row of the table"),
    # a required key misspelt is named as the key typed, not as the one missing
    ("codes misspelt", lambda r: _var(r, "sex").update(levels=_var(r, "sex").pop("codes")),
     "variables[1] (variable 'sex')", "unknown key 'levels'"),
    # YAML 1.1 reads an unquoted Yes as true: say so
    ("unquoted Yes", lambda r: _var(r, "sex").update(codes={1: "No", 2: True}),
     "variables[1].codes.2", "quote it"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "mutate", "key", "text"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_study_file_names_the_key(tmp_path, case, mutate, key, text):
    raw = _base()
    mutate(raw)
    path = _write(tmp_path, raw)
    with pytest.raises(StudyFileError) as err:
        load_study(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert key in message
    assert text in message


def test_not_yaml(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("study: [unclosed\n", encoding="utf-8")
    with pytest.raises(StudyFileError, match=r"not valid YAML at line \d+"):
        load_study(path)


def test_missing_file(tmp_path):
    with pytest.raises(StudyFileError, match="cannot read study file"):
        load_study(tmp_path / "nope.yaml")


def test_minimal_study_uses_builtin_policies_and_any_column_names(tmp_path):
    raw = {
        "study": {"id": "iris", "title": "Fisher's iris"},
        "variables": [
            {"name": "Sepal.Length", "label": "Sepal length", "type": "continuous"},
            {"name": "Species name", "label": "Species", "type": "categorical",
             "codes": {"setosa": "Setosa", "versicolor": "Versicolor"}},
        ],
        "tables": [{"id": "t1", "title": "By species", "group_by": "Species name",
                    "rows": ["Sepal.Length"]}],
    }  # fmt: skip
    study = load_study(_write(tmp_path, raw))
    assert {"paper", "recommended", "descriptive"} <= set(study.policies)
    assert study.policies["paper"]["normality"] == {
        "test": "lilliefors",
        "alpha": 0.05,
        "also": ["shapiro_wilk"],
    }


def test_builtin_policies_are_schema_valid():
    import jsonschema

    from analysis.study import default_policies, study_schema

    schema = study_schema()
    policy_schema = {"$defs": schema["$defs"], **schema["$defs"]["policy"]}
    for policy in default_policies().values():
        jsonschema.validate(policy, policy_schema)


def test_output_ids_stay_file_name_safe(tmp_path):
    raw = _base()
    raw["tables"][0]["id"] = "../table 1"
    with pytest.raises(StudyFileError, match=r"tables\[0\]\.id"):
        load_study(_write(tmp_path, raw))
