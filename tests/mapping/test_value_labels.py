"""SPSS/Stata value labels matched to the study's codes by label.

Every file here is written by hand with pyreadstat, its codes deliberately unlike the
study's (studies/baclofen_ckd.yaml: sex 1 = Male, 2 = Female; yes/no 0 = No, 1 = Yes;
dialysis_modality 0 = None, 1 = Haemodialysis, 2 = Peritoneal dialysis). The expected
values are worked out from those two codebooks, not from the code under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from support import one_line as _one_line

from analysis.derive import derive_cohort
from analysis.errors import DataError
from analysis.export import write_cohort
from analysis.inputs import load_input
from analysis.labels import label_key
from analysis.study import Study, load_study
from analysis.synth.generator import generate
from analysis.validate import validate_frame

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "studies" / "baclofen_ckd.yaml"
NAN = float("nan")


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(STUDY)


def _sav(path: Path, frame: pd.DataFrame, labels: dict, **options) -> Path:
    pyreadstat.write_sav(frame, str(path), variable_value_labels=labels, **options)
    return path


# --------------------------------------------------------------------------- matching


def test_label_key_is_nfkc_casefold_and_whitespace_collapsed():
    assert label_key("  Muscle   SPASM or\tcramps ") == "muscle spasm or cramps"
    assert label_key("Ｍａｌｅ") == "male"  # full-width letters (NFKC)
    nfd = unicodedata.normalize("NFD", "남")
    assert len(nfd) == 3 and label_key(nfd) == label_key("남")  # decomposed Hangul (NFD)


def test_swapped_codes_are_recoded_by_label(tmp_path, study):
    # file: 1 = Female, 2 = Male; study: 1 = Male, 2 = Female
    path = _sav(
        tmp_path / "site.sav",
        pd.DataFrame({"sex": [1.0, 2.0, 2.0, NAN, 1.0]}),
        {"sex": {1: "Female", 2: "Male"}},
    )
    frame = load_input(path, study)
    assert frame["sex"].tolist()[:3] == [2, 1, 1]
    assert np.isnan(frame["sex"].iloc[3]) and frame["sex"].iloc[4] == 2
    assert frame.attrs["value_labels"] == [
        {"column": "sex", "value": 1.0, "label": "Female", "code": 2, "code_label": "Female",
         "by": "label", "count": 2, "first_row": 1},
        {"column": "sex", "value": 2.0, "label": "Male", "code": 1, "code_label": "Male",
         "by": "label", "count": 2, "first_row": 2},
    ]  # fmt: skip
    assert frame.attrs["made_missing"] == []  # the empty cell was empty in the file


def test_labels_compare_case_space_and_unicode_insensitively(tmp_path, study):
    frame = pd.DataFrame(
        {
            "reason": [10.0, 20.0, 30.0, 20.0],
            "hypertension": [1.0, 2.0, 2.0, 1.0],
            "dialysis_modality": [1.0, 2.0, 3.0, 1.0],
        }
    )
    labels = {
        "reason": {10: " muscle  SPASM or cramps", 20: "HICCUPS", 30: "Ｏｔｈｅｒ"},
        "hypertension": {1: "yes", 2: " NO "},
        "dialysis_modality": {1: "none", 2: "Haemodialysis", 3: "peritoneal dialysis"},
    }
    out = load_input(_sav(tmp_path / "labels.sav", frame, labels), study)
    assert out["reason"].tolist() == [2, 1, 3, 1]
    assert out["hypertension"].tolist() == [1, 0, 0, 1]
    assert out["dialysis_modality"].tolist() == [0, 1, 2, 0]


def test_korean_labels_of_a_korean_study_match_whatever_the_unicode_form(tmp_path):
    study_file = tmp_path / "ko.yaml"
    study_file.write_text(
        textwrap.dedent(
            """\
            study: {id: ko, title: Korean codes}
            variables:
              - {name: sex, label: 성별, type: categorical, codes: {1: 남, 2: 여}}
              - {name: age, label: 나이, unit: years, type: continuous}
            tables:
              - {id: listing, title: Listing, kind: listing, columns: [sex, age]}
            """
        ),
        encoding="utf-8",
    )
    ko = load_study(study_file)
    nfd = {1: unicodedata.normalize("NFD", "여"), 2: unicodedata.normalize("NFD", "남")}
    path = _sav(
        tmp_path / "ko.sav", pd.DataFrame({"sex": [1.0, 2.0], "age": [70.0, 61.0]}), {"sex": nfd}
    )
    assert load_input(path, ko)["sex"].tolist() == [2, 1]


def test_file_already_in_the_study_codes_keeps_them(tmp_path, study):
    # the labels agree with the study's codes; 3 has another wording: kept, reported
    path = _sav(
        tmp_path / "same.sav",
        pd.DataFrame({"reason": [1.0, 2.0, 3.0, 3.0]}),
        {"reason": {1: "Hiccups", 2: "Muscle spasm or cramps", 3: "Something else"}},
    )
    frame = load_input(path, study)
    assert frame["reason"].tolist() == [1, 2, 3, 3]
    kept = [r for r in frame.attrs["value_labels"] if r["by"] == "code"]
    assert kept == [
        {"column": "reason", "value": 3.0, "label": "Something else", "code": 3,
         "code_label": "Other", "by": "code", "count": 2, "first_row": 3},
    ]  # fmt: skip


def test_labels_in_another_language_keep_valid_codes(tmp_path, study):
    path = _sav(
        tmp_path / "ko_labels.sav",
        pd.DataFrame({"sex": [1.0, 2.0, 1.0]}),
        {"sex": {1: "남", 2: "여"}},
    )
    frame = load_input(path, study)
    assert frame["sex"].tolist() == [1, 2, 1]
    assert {r["by"] for r in frame.attrs["value_labels"]} == {"code"}


def test_label_matching_nothing_on_an_invalid_code_is_an_error(tmp_path, study):
    # yes/no written 1 = 예, 2 = 아니오: no label matches and 2 is not a study code
    path = _sav(
        tmp_path / "yn.sav",
        pd.DataFrame({"cancer": [1.0, 1.0, 2.0]}),
        {"cancer": {1: "예", 2: "아니오"}},
    )
    with pytest.raises(DataError) as exc:
        load_input(path, study)
    _one_line(exc, str(path), "column 'cancer'", "row 3", "value 2", "'아니오'", "recode")


def test_two_file_labels_for_one_study_label_are_an_error(tmp_path, study):
    path = _sav(
        tmp_path / "twice.sav",
        pd.DataFrame({"sex": [1.0, 3.0, 2.0]}),
        {"sex": {1: "Male", 2: "Female", 3: " male"}},
    )
    with pytest.raises(DataError) as exc:
        load_input(path, study)
    _one_line(exc, str(path), "column 'sex'", "row 1", "values 1 ('Male') and 3 (' male')")


def test_unmatched_label_in_a_recoded_column_is_an_error(tmp_path, study):
    # codes differ from the study's (1 = Female), so the raw 3 means nothing there
    path = _sav(
        tmp_path / "mixed.sav",
        pd.DataFrame({"sex": [1.0, 2.0, 3.0]}),
        {"sex": {1: "Female", 2: "Male", 3: "Other"}},
    )
    with pytest.raises(DataError) as exc:
        load_input(path, study)
    _one_line(exc, str(path), "column 'sex'", "row 3", "value 3 labelled 'Other'")


def test_unlabelled_value_in_a_recoded_column_is_an_error(tmp_path, study):
    path = _sav(
        tmp_path / "unlabelled.sav",
        pd.DataFrame({"sex": [1.0, 2.0, 1.0, 0.0]}),
        {"sex": {1: "Female", 2: "Male"}},
    )
    with pytest.raises(DataError) as exc:
        load_input(path, study)
    _one_line(exc, str(path), "column 'sex'", "row 4", "value 0 has no value label")


def test_labels_of_user_missing_codes_do_not_get_in_the_way(tmp_path, study):
    path = _sav(
        tmp_path / "um.sav",
        pd.DataFrame({"sex": [1.0, 9.0, 2.0]}),
        {"sex": {1: "Female", 2: "Male", 9: "Unknown"}},
        missing_ranges={"sex": [9]},
    )
    frame = load_input(path, study)
    assert frame["sex"].iloc[[0, 2]].tolist() == [2, 1] and np.isnan(frame["sex"].iloc[1])
    assert frame.attrs["made_missing"] == [
        {"column": "sex", "reason": "SPSS user-missing value 9", "count": 1, "first_row": 2}
    ]


def test_stata_labels_too(tmp_path, study):
    path = tmp_path / "site.dta"
    pyreadstat.write_dta(
        pd.DataFrame({"neurotoxicity": [1, 2, 2, 1]}),
        str(path),
        variable_value_labels={"neurotoxicity": {1: "Yes", 2: "No"}},
    )
    assert load_input(path, study)["neurotoxicity"].tolist() == [1, 0, 0, 1]


# --------------------------------------------------------------------------- with a mapping


def test_mapping_recode_wins_over_labels(tmp_path, study):
    data = _sav(
        tmp_path / "site.sav",
        pd.DataFrame({"gender": [1.0, 2.0, 2.0]}),
        {"gender": {1: "Female", 2: "Male"}},
    )
    mapping = tmp_path / "site.yaml"
    # the site says its labels are wrong: 1 is male after all
    mapping.write_text("rename: {gender: sex}\nrecode:\n  sex: {1: 1, 2: 2}\n", encoding="utf-8")
    frame = load_input(data, study, mapping)
    assert frame["sex"].tolist() == [1, 2, 2]
    assert frame.attrs["value_labels"] == []


def test_labels_follow_the_rename_and_declared_missing_comes_first(tmp_path, study):
    data = _sav(
        tmp_path / "site.sav",
        pd.DataFrame({"gender": [1.0, 2.0, 9.0]}),
        {"gender": {1: "Female", 2: "Male", 9: "not recorded"}},
    )
    mapping = tmp_path / "site.yaml"
    mapping.write_text("rename: {gender: sex}\nmissing: {sex: [9]}\n", encoding="utf-8")
    frame = load_input(data, study, mapping)
    assert frame["sex"].iloc[:2].tolist() == [2, 1] and np.isnan(frame["sex"].iloc[2])
    assert [(r["column"], r["value"], r["code"]) for r in frame.attrs["value_labels"]] == [
        ("sex", 1.0, 2),
        ("sex", 2.0, 1),
    ]
    assert frame.attrs["made_missing"][0]["reason"] == "declared missing code 9 (mapping)"


def test_error_names_the_export_column_when_renamed(tmp_path, study):
    data = _sav(
        tmp_path / "site.sav",
        pd.DataFrame({"gender": [1.0, 3.0]}),
        {"gender": {1: "Female", 2: "Male", 3: "Other"}},
    )
    mapping = tmp_path / "site.yaml"
    mapping.write_text("rename: {gender: sex}\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_input(data, study, mapping)
    _one_line(exc, str(data), "column 'gender' (study variable 'sex')", "row 2", "value 3")


# --------------------------------------------------------------------------- the CLI


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_validate_prints_what_labels_matched(tmp_path):
    frame = generate(40, seed=5)
    frame["sex"] = 3 - frame["sex"]  # 1 = Female, 2 = Male in the file
    path = tmp_path / "site.sav"
    pyreadstat.write_sav(frame, str(path), variable_value_labels={"sex": {1: "Female", 2: "Male"}})
    women = int((frame["sex"] == 1).sum())
    out = _run("validate", str(path), "--json-out", str(tmp_path / "v.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    [line] = [x for x in out.stdout.splitlines() if x.startswith("note: value labels")]
    assert line.startswith("note: value labels, column 'sex': ")
    assert f"1 'Female' -> 2 (Female): {women} row(s)" in line
    assert f"2 'Male' -> 1 (Male): {40 - women} row(s)" in line
    report = json.loads((tmp_path / "v.json").read_text())
    assert {(r["value"], r["code"], r["count"]) for r in report["value_labels"]} == {
        (1.0, 2, women),
        (2.0, 1, 40 - women),
    }


def test_ambiguous_labels_exit_2_with_one_line_and_nothing_written(tmp_path):
    folder = tmp_path / "data_raw"
    folder.mkdir()
    path = _sav(
        folder / "site.sav",
        pd.DataFrame({"sex": [1.0, 2.0, 3.0]}),
        {"sex": {1: "Male", 2: "Female", 3: "MALE"}},
    )
    before = path.read_bytes()
    out = _run("validate", str(path))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert str(path) in out.stderr and "column 'sex'" in out.stderr
    assert "'MALE'" in out.stderr
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["site.sav"]


# --------------------------------------------------------------------------- the proof


YES_NO = [
    "diabetic_nephropathy", "hypertension", "heart_failure", "cancer", "cns_disease",
    "neurotoxicity", "mental_change", "seizure", "icu", "ventilator", "therapeutic_hd",
    "crrt", "therapeutic_pd", "cns_drugs",
]  # fmt: skip


def _site_coded(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The cohort in a site's own SPSS codes, with labels saying what they mean."""
    site = frame.copy()
    labels: dict[str, dict] = {}
    site["sex"] = 3 - frame["sex"]  # study 1 = Male -> 2
    labels["sex"] = {1: "Female", 2: "Male"}
    for name in YES_NO:  # study 1 = Yes -> 1, 0 = No -> 2
        site[name] = frame[name].map({1: 1.0, 0: 2.0})
        labels[name] = {1: "Yes", 2: "no"}
    site["reason"] = frame["reason"].map({1: 20.0, 2: 10.0, 3: 30.0})
    labels["reason"] = {10: "muscle spasm or cramps", 20: " HICCUPS", 30: "Other"}
    site["place"] = 3 - frame["place"]
    labels["place"] = {1: "Outpatient", 2: "Inpatient"}
    site["dialysis_modality"] = frame["dialysis_modality"] + 1
    labels["dialysis_modality"] = {
        1: "None", 2: "Haemodialysis", 3: "Peritoneal Dialysis", 9: "Unknown",
    }  # fmt: skip
    site["ckd_group"] = frame["ckd_group"].map({1: 3.0, 2: 2.0, 3: 1.0})
    labels["ckd_group"] = {1: "Dialysis", 2: "CKD stage 5 non-dialysis", 3: "CKD stage 4"}
    site["age_group"] = frame["age_group"]
    labels["age_group"] = {1: "<60", 2: ">=60"}
    return site, labels


@pytest.fixture(scope="module")
def twins(tmp_path_factory, study):
    folder = tmp_path_factory.mktemp("twins")
    frame = generate(401)
    write_cohort([frame], folder / "cohort.csv", study)
    site, labels = _site_coded(frame)
    assert not site["sex"].equals(frame["sex"])  # the codes really differ
    pyreadstat.write_sav(
        site,
        str(folder / "cohort.sav"),
        variable_value_labels=labels,
        missing_ranges={"dialysis_modality": [9]},
    )
    pyreadstat.write_dta(site, str(folder / "cohort.dta"), variable_value_labels=labels)
    return folder


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_labelled_file_gives_the_same_cohort_as_its_csv_twin(twins, study, fmt):
    csv = load_input(twins / "cohort.csv", study)
    labelled = load_input(twins / f"cohort.{fmt}", study)
    names = [v for v in study.variables if v in csv.columns]
    pd.testing.assert_frame_equal(
        labelled[names].astype("float64", errors="ignore"),
        csv[names].astype("float64", errors="ignore"),
        check_dtype=False,
    )
    assert validate_frame(labelled, study).errors == []
    cohort_csv, flow_csv = derive_cohort(csv, study)
    cohort_lab, flow_lab = derive_cohort(labelled, study)
    assert flow_lab == flow_csv
    pd.testing.assert_frame_equal(
        cohort_lab.reset_index(drop=True), cohort_csv.reset_index(drop=True), check_dtype=False
    )
    recoded = {r["column"] for r in labelled.attrs["value_labels"] if r["by"] == "label"}
    assert {"sex", "reason", "place", "dialysis_modality", *YES_NO} <= recoded


def test_labelled_sav_gives_the_same_tables_as_its_csv_twin(twins):
    for name in ("cohort.csv", "cohort.sav"):
        out = _run("tables", str(twins / name), "--out", str(twins / f"out_{name}"))
        assert out.returncode == 0, out.stderr[-2000:]
    reference, other = twins / "out_cohort.csv", twins / "out_cohort.sav"
    written = sorted(p.name for p in reference.iterdir())
    assert written == sorted(p.name for p in other.iterdir())
    assert any(n.endswith(".json") for n in written) and any(n.endswith(".md") for n in written)
    for name in written:
        if name.endswith((".json", ".md", ".csv")):
            assert (other / name).read_text() == (reference / name).read_text(), name


def test_report_lists_what_reading_did(tmp_path):
    from analysis.report import _data_checks

    path = tmp_path / "validation.json"
    path.write_text(
        json.dumps(
            {
                "n_rows": 3,
                "problems": [],
                "value_labels": [
                    {
                        "column": "sex",
                        "value": 1.0,
                        "label": "Female",
                        "code": 2,
                        "code_label": "Female",
                        "by": "label",
                        "count": 2,
                        "first_row": 1,
                    },
                ],
                "identifiers_dropped": ["성명"],
            }
        ),
        encoding="utf-8",
    )
    assert _data_checks(path)["notes"] == [
        "Identifier column(s) dropped on reading: '성명'.",
        "Value labels, column 'sex': 1 'Female' -> 2 (Female): 2 row(s).",
    ]
