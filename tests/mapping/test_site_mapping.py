"""Site mapping files: schema errors, each transform against a hand calculation, the example."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from analysis.derive import derive_cohort
from analysis.errors import AnalysisError, DataError
from analysis.mapping import (
    MAPPING_UNITS,
    Mapping,
    MappingError,
    apply_mapping,
    load_mapping,
    mapping_schema,
)
from analysis.study import Study, load_study
from analysis.validate import validate_frame

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLE_MAPPING = ROOT / "config" / "mapping.example.yaml"
EXAMPLE_EXPORT = HERE / "fixtures" / "site_export.csv"


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(ROOT / "studies" / "baclofen_ckd.yaml")


@pytest.fixture
def write(tmp_path: Path):
    def _write(text: str) -> Path:
        path = tmp_path / "site.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


def _error(exc_info: pytest.ExceptionInfo, path: Path, *parts: str) -> str:
    """The message is one line, starts with the mapping file and contains every part."""
    message = str(exc_info.value)
    assert "\n" not in message, message
    assert message.startswith(str(path)), message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    return message


def _apply(write, study: Study, text: str, frame: pd.DataFrame) -> pd.DataFrame:
    return apply_mapping(frame, load_mapping(write(text)), study)


# --------------------------------------------------------------------------- schema


def test_schema_is_valid_draft_2020_12():
    schema = mapping_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")

    def closed(node):  # every object with fixed keys refuses unknown keys
        if isinstance(node, dict):
            if "properties" in node:
                assert node.get("additionalProperties") is False, node
            for value in node.values():
                closed(value)
        elif isinstance(node, list):
            for value in node:
                closed(value)

    closed(schema)


@pytest.mark.parametrize(
    ("text", "key", "word"),
    [
        ("renmae: {a: b}\n", "(top level)", "'renmae'"),
        ("recode:\n  sex: {values: {1: 1}, unmaped: keep}\n", "recode.sex", "'unmaped'"),
        ("recode:\n  sex: {valeus: {1: 1}}\n", "recode.sex.valeus", "'valeus'"),
        ("recode:\n  sex: {values: {1: 1}, unmapped: drop}\n", "recode.sex.unmapped", "'drop'"),
        ("units:\n  albumin: {form: g/L}\n", "units.albumin", "'form'"),
        (
            "dates:\n  age: {from: a, to: b, unit: years, inclusiv: true}\n",
            "dates.age",
            "'inclusiv'",
        ),
        ("dates:\n  age: {from: a, to: b, unit: decades}\n", "dates.age.unit", "'decades'"),
        ("dates:\n  age: {from: a, unit: years}\n", "dates.age", "'to'"),
        ("drop: sex\n", "drop", "array"),
    ],
)
def test_schema_errors_are_one_line_naming_the_key(write, text, key, word):
    path = write(text)
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    _error(exc, path, f": {key}: ", word)


def test_mapping_error_is_an_analysis_error_for_the_cli():
    assert issubclass(MappingError, AnalysisError)


def test_unreadable_and_invalid_yaml(write, tmp_path):
    with pytest.raises(MappingError, match="cannot read mapping file"):
        load_mapping(tmp_path / "nope.yaml")
    path = write("rename: [a\n")
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    _error(exc, path, "not valid YAML at line")
    path = write("- a\n- b\n")
    with pytest.raises(MappingError, match="expected a mapping"):
        load_mapping(path)


def test_empty_mapping_is_a_no_op(write, study):
    frame = pd.DataFrame({"sex": [1, 2]})
    out = apply_mapping(frame, load_mapping(write("")), study)
    pd.testing.assert_frame_equal(out, frame)


def test_yaml_is_read_with_yaml_1_2_scalars(write):
    """Y/N/yes/no/on/off stay text, 01 stays text, dates stay text; only true/false are bools."""
    mapping = load_mapping(
        write(
            """\
            recode:
              a: {Y: 1, N: 0, yes: 1, no: 0, on: 1, off: 0, 01: 1, 1: 1, 1.5: 2, 010: 3}
            constants: {d: 2016-06-14, e: true, f: 10:30}
            """
        )
    )
    keys = list(mapping.recode["a"]["values"])
    assert keys == ["Y", "N", "yes", "no", "on", "off", "01", 1, 1.5, "010"]
    assert mapping.constants == {"d": "2016-06-14", "e": True, "f": "10:30"}
    assert mapping.recode["a"]["unmapped"] == "error"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("units:\n  albumin: g/LL\n", "units.albumin", ["unknown unit 'g/LL'", "'g/L'"]),
        ("units:\n  albumin: mg/L\n", "units.albumin", ["no conversion from 'mg/L' to 'g/dL'"]),
        ("units:\n  albumin: umol/L\n", "units.albumin", ["mg/dL (creatinine)"]),
        ("units:\n  sex: kg\n", "units.sex", ["declares no unit"]),
        (
            "units:\n  creatinine: {from: umol/L, substance: creatine}\n",
            "units.creatinine.substance",
            ["'creatine'", "creatinine"],
        ),
        ("rename:\n  alb_gL: albmin\n", "rename.alb_gL", ["'albmin'", "did you mean 'albumin'"]),
        ("rename: {a: sex, b: sex}\n", "rename.b", ["already the new name of 'a'"]),
        ("recode:\n  sexx: {1: 1}\n", "recode.sexx", ["not a variable", "'sex'"]),
        ("recode:\n  cancer: {예: 2, 아니오: 0}\n", "recode.cancer.예", ["2 is not a code"]),
        ("recode:\n  age: {unknown: x}\n", "recode.age.unknown", ["not a number"]),
        ("dates:\n  age: {from: a, to: b, unit: days}\n", "dates.age.unit", ["in years"]),
        ("dates:\n  sex: {from: a, to: b, unit: years}\n", "dates.sex", ["not continuous"]),
        (
            "dates:\n  age: {from: a, to: b, unit: years, inclusive: true}\n",
            "dates.age.inclusive",
            ["only applies to unit: days"],
        ),
        ("constants: {place: 3}\n", "constants.place", ["3 is not a code of 'place'"]),
        ("constants: {place: 1}\nrecode: {place: {a: 1}}\n", "constants.place", ["recode"]),
    ],
)
def test_mapping_errors_against_the_study_name_the_key(write, study, text, key, words):
    path = write(text)
    with pytest.raises(MappingError) as exc:
        load_mapping(path, study)
    _error(exc, path, f": {key}", *words)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("recode:\n  cancer: {예: 1, 아니오: 0}\n", "recode.cancer", ["column 'cancer'"]),
        ("rename: {alb_gl: albumin}\n", "rename.alb_gl", ["did you mean 'alb_gL'"]),
        ("drop: [성 명]\n", "drop[0]", ["'성 명'", "did you mean '성명'"]),
        ("rename: {암: cancer}\ndrop: [암]\n", "drop[0]", ["names after rename"]),
        ("rename: {alb_gL: albumin}\nconstants: {albumin: 3.5}\n", "constants.albumin", []),
        ("units: {albumin: g/L}\n", "units.albumin", ["not in the data"]),
        ("dates:\n  age: {from: dob, to: presc_start_dt, unit: years}\n", "dates.age.from", []),
    ],
)
def test_mapping_errors_against_the_data_name_the_key(write, study, text, key, words):
    frame = pd.read_csv(EXAMPLE_EXPORT)
    path = write(text)
    with pytest.raises(MappingError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _error(exc, path, f": {key}", *words)


# --------------------------------------------------------------------------- units


def test_unit_table_has_the_documented_conversions_and_their_reverses():
    def factor(a, b, substance=None):
        return MAPPING_UNITS[(a, b, substance)].factor

    assert factor("g/L", "g/dL") == Fraction(1, 10)
    assert factor("g/dL", "g/L") == 10
    assert factor("umol/L", "mg/dL", "creatinine") == 1 / Fraction("88.4")
    assert factor("g", "mg") == 1000
    assert factor("m", "cm") == 100
    assert factor("lb", "kg") == Fraction("0.45359237")
    assert factor("mmol/L", "mg/dL", "cholesterol") == Fraction("38.67")
    assert ("umol/L", "mg/dL", None) not in MAPPING_UNITS  # molar conversions need a substance


def test_units_convert_to_the_study_unit(write, study):
    frame = pd.DataFrame(
        {
            "albumin": [38, 25.5, None],  # g/L
            "creatinine": [176.8, 88.4, 442.0],  # umol/L
            "total_dose": [0.25, 1, 0.005],  # g
            "height": [1.70, 1.55, 1.8],  # m
            "weight": [154.0, 100.0, 220.0],  # lb
            "crp": ["5", "12.5", ""],  # mg/L, read as text
            "pco2": [5.33, 4.0, 6.0],  # kPa
            "cholesterol": [5.0, 4.0, 3.0],  # mmol/L
            "bicarbonate": [22, 18, 25],  # mEq/L
            "onset_hours": [2.0, 0.5, None],  # days
        }
    )
    out = _apply(
        write,
        study,
        """\
        units:
          albumin: g/L
          creatinine: µmol/L
          total_dose: g
          height: m
          weight: lbs
          crp: ㎎/ℓ
          pco2: kPa
          cholesterol: mmol/L
          bicarbonate: mEq/L
          onset_hours: days
        """,
        frame,
    )
    assert out["albumin"].iloc[0] == 3.8
    assert out["albumin"].iloc[1] == 2.55
    assert np.isnan(out["albumin"].iloc[2])
    assert out["creatinine"].tolist() == [2.0, 1.0, 5.0]  # exact: x * 5 / 442
    assert out["total_dose"].tolist() == [250.0, 1000.0, 5.0]
    assert out["height"].tolist() == [170.0, 155.0, 180.0]
    assert out["weight"].iloc[0] == pytest.approx(69.853225, abs=1e-6)
    assert out["crp"].iloc[:2].tolist() == [0.5, 1.25] and np.isnan(out["crp"].iloc[2])
    assert out["pco2"].iloc[0] == pytest.approx(39.978, abs=1e-3)
    assert out["cholesterol"].iloc[0] == pytest.approx(193.35)
    assert out["bicarbonate"].tolist() == [22, 18, 25]
    assert out["onset_hours"].iloc[:2].tolist() == [48.0, 12.0]


def test_same_unit_is_checked_but_not_converted(write, study):
    frame = pd.DataFrame({"weight": [65.5, 70.0]})
    out = _apply(write, study, "units: {weight: KG}\n", frame)
    assert out["weight"].tolist() == [65.5, 70.0]


MINI_STUDY = """\
study: {id: mini, title: A study with its own names}
variables:
  - {name: scr, label: Serum creatinine, unit: mg/dL, type: continuous}
  - {name: vintage, label: Time on dialysis, unit: months, type: continuous}
tables:
  - {id: listing, title: Listing, kind: listing, columns: [scr, vintage]}
"""


@pytest.fixture
def mini_study(tmp_path) -> Study:
    path = tmp_path / "mini.yaml"
    path.write_text(MINI_STUDY, encoding="utf-8")
    return load_study(path)


def test_substance_for_a_variable_named_otherwise(write, mini_study):
    frame = pd.DataFrame({"scr": [176.8]})
    path = write("units: {scr: umol/L}\n")
    with pytest.raises(MappingError) as exc:
        load_mapping(path, mini_study)
    _error(exc, path, "units.scr", "substance: creatinine")
    text = "units: {scr: {from: umol/L, substance: creatinine}}\n"
    assert _apply(write, mini_study, text, frame)["scr"].tolist() == [2.0]


def test_non_numeric_value_to_convert_names_column_row_value(write, study):
    frame = pd.DataFrame({"crp": ["5", "<0.1", "3", "<0.1"]})
    path = write("units: {crp: mg/L}\n")
    with pytest.raises(DataError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _error(exc, path, "units.crp", "column 'crp'", "row 2", "'<0.1'", "rows 2, 4")


# --------------------------------------------------------------------------- recode


def test_recode_korean_labels_and_yes_no(write, study):
    frame = pd.DataFrame(
        {
            "성별": ["남", "여", " 여 ", None],
            "cancer": ["예", "아니오", "아니오", "예"],
            "hypertension": ["Y", "N", "", "Y"],
        }
    )
    out = _apply(
        write,
        study,
        """\
        rename: {성별: sex}
        recode:
          sex: {남: 1, 여: 2}
          cancer: {예: 1, 아니오: 0}
          hypertension: {Y: 1, N: 0}
        """,
        frame,
    )
    assert out["sex"].iloc[:3].tolist() == [1, 2, 2] and np.isnan(out["sex"].iloc[3])
    assert out["cancer"].tolist() == [1, 0, 0, 1]
    assert out["cancer"].dtype == "int64"
    assert out["hypertension"].iloc[[0, 1, 3]].tolist() == [1, 0, 1]
    assert np.isnan(out["hypertension"].iloc[2])  # an empty cell stays empty


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, 2, 2, 1]),  # CSV
        pd.Series([1.0, 2.0, 2.0, 1.0]),  # SPSS
        pd.Series(["1", "2", "2", "1"]),  # text
        pd.Series([1, "2", 2.0, "1"], dtype=object),  # Excel
    ],
)
def test_recode_numeric_codes_whatever_the_column_type(write, study, column):
    """Sex 1/2 in the export with 2 = male (say): recoded to the study's 1 = Male, 2 = Female."""
    out = _apply(write, study, "recode: {sex: {1: 2, 2: 1}}\n", pd.DataFrame({"sex": column}))
    assert out["sex"].tolist() == [2, 1, 1, 2]


def test_recode_text_keys_match_numeric_columns(write, study):
    out = _apply(write, study, 'recode: {sex: {"01": 1, "02": 2}}\n', pd.DataFrame({"sex": [1, 2]}))
    assert out["sex"].tolist() == [1, 2]


def test_recode_to_text_codes_of_another_study(write):
    plants = load_study(ROOT / "tests" / "fixtures" / "plantgrowth.yaml")
    frame = pd.DataFrame({"group": [1, 2, 3, None], "weight": [4.17, 4.81, 6.31, 5.0]})
    out = _apply(write, plants, "recode: {group: {1: ctrl, 2: trt1, 3: trt2}}\n", frame)
    assert out["group"].iloc[:3].tolist() == ["ctrl", "trt1", "trt2"]
    assert pd.isna(out["group"].iloc[3])
    report = validate_frame(out, plants)
    assert report.errors == []


def test_unmapped_value_names_column_row_and_value(write, study):
    frame = pd.DataFrame({"neurotox": ["N", "Y", "U", "N", "?", "U"]}, index=range(100, 106))
    path = write("rename: {neurotox: neurotoxicity}\nrecode: {neurotoxicity: {Y: 1, N: 0}}\n")
    with pytest.raises(DataError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _error(
        exc,
        path,
        "recode.neurotoxicity",
        "column 'neurotoxicity'",
        "row 3",  # positional and 1-based, whatever the frame's index
        "value 'U'",
        "'U', '?'",
        "rows 3, 5, 6",
        "unmapped: keep or missing",
    )


def test_unmapped_keep_and_missing(write, study):
    frame = pd.DataFrame({"reason": ["hiccups", "3", "spasm", 2, None]})
    keep = _apply(
        write,
        study,
        "recode:\n  reason: {values: {hiccups: 1, spasm: 2}, unmapped: keep}\n",
        frame,
    )
    assert keep["reason"].iloc[:4].tolist() == [1, 3, 2, 2] and np.isnan(keep["reason"].iloc[4])

    bad = pd.DataFrame({"reason": ["hiccups", "7"]})
    path = write("recode:\n  reason: {values: {hiccups: 1}, unmapped: keep}\n")
    with pytest.raises(DataError) as exc:
        apply_mapping(bad, load_mapping(path), study)
    _error(exc, path, "recode.reason", "row 2", "'7'", "neither listed nor a code")

    missing = _apply(
        write, study, "recode:\n  reason: {values: {hiccups: 1}, unmapped: missing}\n", bad
    )
    assert missing["reason"].iloc[0] == 1 and np.isnan(missing["reason"].iloc[1])


def test_recode_blank_cells_and_null_targets(write, study):
    frame = pd.DataFrame({"투석": ["HD", None, "PD", "", "unknown"]})
    out = _apply(
        write,
        study,
        """\
        rename: {투석: dialysis_modality}
        recode:
          dialysis_modality: {HD: 1, PD: 2, null: 0, unknown: null}
        """,
        frame,
    )
    assert out["dialysis_modality"].iloc[:4].tolist() == [1, 0, 2, 0]
    assert np.isnan(out["dialysis_modality"].iloc[4])


def test_recode_a_sentinel_of_a_continuous_variable(write, study):
    frame = pd.DataFrame({"cholesterol": [150, -9, 999, 180.5]})
    out = _apply(
        write,
        study,
        "recode:\n  cholesterol: {values: {-9: null, 999: null}, unmapped: keep}\n",
        frame,
    )
    assert out["cholesterol"].iloc[[0, 3]].tolist() == [150, 180.5]
    assert out["cholesterol"].iloc[[1, 2]].isna().all()


# --------------------------------------------------------------------------- dates


def test_age_in_completed_years(write, study):
    frame = pd.DataFrame(
        {
            "dob": ["1950-06-15", "1950-06-15", "1960-02-29", "1960-02-29", None],
            "index_date": ["2016-06-14", "2016-06-15", "2017-02-28", "2017-03-01", "2016-01-01"],
        }
    )
    out = _apply(write, study, "dates:\n  age: {from: dob, to: index_date, unit: years}\n", frame)
    assert out["age"].iloc[:4].tolist() == [65, 66, 56, 57]
    assert np.isnan(out["age"].iloc[4])
    assert "dob" not in out and "index_date" not in out  # source dates are not carried on


def test_medication_days_inclusive_and_formats(write, study):
    frame = pd.DataFrame(
        {
            "start": [20160614, 20160229, 20161231],
            "end": ["23/06/2016", "01/03/2016", "01/01/2017"],
        }
    )
    spec = "{from: start, to: end, unit: days, from_format: '%Y%m%d', to_format: '%d/%m/%Y'"
    both = _apply(write, study, f"dates:\n  medication_days: {spec}, inclusive: true}}\n", frame)
    assert both["medication_days"].tolist() == [10, 2, 2]
    span = _apply(write, study, f"dates:\n  medication_days: {spec}}}\n", frame)
    assert span["medication_days"].tolist() == [9, 1, 1]


def test_hours_and_months(write, study, mini_study):
    frame = pd.DataFrame(
        {
            "first_dose": ["2016-06-14 08:00", "2016-06-14T22:15:00"],
            "onset": ["2016-06-15 20:30", "2016-06-15 00:15"],
            "hd_start": ["2010-01-31", "2012-05-15"],
            "today": ["2013-01-30", "2013-05-15"],
        }
    )
    text = "dates:\n  onset_hours: {from: first_dose, to: onset, unit: hours}\n"
    assert _apply(write, study, text, frame)["onset_hours"].tolist() == [36.5, 2.0]
    text = "dates:\n  vintage: {from: hd_start, to: today, unit: months}\n"
    assert _apply(write, mini_study, text, frame)["vintage"].tolist() == [35, 12]


def test_dates_already_parsed_by_the_reader(write, study):
    import datetime as dt

    frame = pd.DataFrame(
        {
            "dob": pd.Series([dt.date(1950, 6, 15), None], dtype=object),  # pyreadstat
            "index_date": pd.to_datetime(["2016-06-14", "2016-06-15"]),
        }
    )
    out = _apply(write, study, "dates:\n  age: {from: dob, to: index_date, unit: years}\n", frame)
    assert out["age"].iloc[0] == 65 and np.isnan(out["age"].iloc[1])


def test_unparseable_date_names_column_row_and_value(write, study):
    frame = pd.DataFrame(
        {"dob": ["1950-06-15", "1950-13-01", "", "15.06.1950"], "idx": ["2016-06-14"] * 4}
    )
    path = write("dates:\n  age: {from: dob, to: idx, unit: years}\n")
    with pytest.raises(DataError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _error(exc, path, "dates.age.from", "column 'dob'", "row 2", "'1950-13-01'", "rows 2, 4")

    path = write("dates:\n  age: {from: dob, to: idx, unit: years, format: '%Y%m%d'}\n")
    with pytest.raises(DataError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _error(exc, path, "row 1", "'1950-06-15'", "format '%Y%m%d'")


def test_date_target_already_in_the_data(write, study):
    frame = pd.DataFrame({"age": [60], "dob": ["1950-01-01"], "idx": ["2016-01-01"]})
    path = write("dates:\n  age: {from: dob, to: idx, unit: years}\n")
    with pytest.raises(MappingError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _error(exc, path, "dates.age", "already have a column 'age'")


# ----------------------------------------------------------------- rename, drop, constants


def test_rename_drop_and_constants(write, study):
    frame = pd.DataFrame({"성명": ["홍길동"], "입원외래": [1], "wt": [60.0]})
    out = _apply(
        write,
        study,
        """\
        rename: {wt: weight}
        drop: [성명, 입원외래]
        constants: {place: 2, cholesterol: null}
        """,
        frame,
    )
    assert list(out.columns) == ["weight", "place", "cholesterol"]
    assert out["place"].tolist() == [2]
    assert out["cholesterol"].isna().all()


def test_rename_onto_an_existing_column_is_an_error(write, study):
    frame = pd.DataFrame({"sex": [1], "성별": [1]})
    path = write("rename: {성별: sex}\n")
    with pytest.raises(MappingError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _error(exc, path, "rename.성별", "already have a column 'sex'")


# --------------------------------------------------------------------------- the example


@pytest.fixture(scope="module")
def example(study) -> tuple[pd.DataFrame, pd.DataFrame]:
    export = pd.read_csv(EXAMPLE_EXPORT, encoding="utf-8")
    return export, apply_mapping(export, load_mapping(EXAMPLE_MAPPING, study), study)


def test_example_loads_without_the_study_too():
    mapping = load_mapping(EXAMPLE_MAPPING)
    assert isinstance(mapping, Mapping)
    assert mapping.path == EXAMPLE_MAPPING
    assert mapping.units["albumin"] == {"from": "g/L", "substance": None}
    assert set(mapping.raw) == {
        "site", "description", "rename", "drop", "missing", "not_applicable", "recode", "units",
        "dates", "constants",
    }  # fmt: skip


def test_example_export_has_korean_headers_and_site_codes(example):
    export, _ = example
    assert {"성별", "생년월일", "환자번호", "암", "처방사유", "투석"} <= set(export.columns)
    assert set(export["성별"]) <= {1, 2, 3, 4}
    assert set(export["neurotox"]) == {"Y", "N"}
    assert export["alb_gL"].between(20, 50).all()  # g/L
    assert export["scr_umol"].gt(100).all()  # umol/L


def test_example_passes_validation(example, study):
    _, frame = example
    report = validate_frame(frame, study, source=str(EXAMPLE_EXPORT))
    assert [report.line(p) for p in report.problems] == []
    required = [v.name for v in study.variables.values() if not v.derive and not v.identifier]
    assert set(required) <= set(frame.columns)


def test_a_data_error_names_the_column_as_the_export_spells_it(study, tmp_path):
    """The user looks for `wt_kg` in their file, not the study's `weight`."""
    export = pd.read_csv(EXAMPLE_EXPORT, encoding="utf-8", dtype={"wt_kg": str})
    export.loc[2, "wt_kg"] = "6O.5"  # a letter O typed for a zero, data row 3
    frame = apply_mapping(export, load_mapping(EXAMPLE_MAPPING, study), study)
    report = validate_frame(frame, study, source="site.csv")
    assert [report.line(p) for p in report.errors] == [
        "site.csv, column 'weight' (column 'wt_kg' in the file), row 3, value '6O.5': "
        "not a number [numeric]"
    ]


def test_example_values_by_hand(example):
    _, frame = example
    first = frame.iloc[0]
    assert first["age"] == 66  # 1950-06-15 to 20160615: the 66th birthday
    assert first["albumin"] == 3.8  # 38 g/L
    assert first["creatinine"] == 2.5  # 221.0 umol/L
    assert first["height"] == 170.0  # 1.7 m
    assert first["crp"] == 0.5  # 5 mg/L
    assert first["medication_days"] == 10  # 2016-06-15 .. 2016-06-24, both counted
    assert first["dialysis_modality"] == 0  # empty cell
    assert frame["sex"].tolist() == [1, 2, 1, 1, 1, 2, 1, 1, 1, 2]
    assert frame["reason"].tolist() == [1, 1, 1, 1, 1, 1, 2, 3, 1, 1]
    assert frame["dialysis_modality"].tolist() == [0, 0, 1, 2, 0, 0, 0, 1, 0, 0]
    assert frame["medication_days"].tolist() == [10, 5, 31, 2, 14, 3, 31, 10, 2, 10]
    no_tox = frame["neurotoxicity"] == 0
    assert frame.loc[no_tox, ["mental_change", "seizure", "onset_hours"]].isna().all().all()
    # identifiers: name and registration number dropped, dates of birth not carried on
    assert not {"성명", "주민등록번호", "생년월일", "birth_date", "presc_start_dt"} & set(frame)


def test_example_derives_the_cohort(example, study):
    _, frame = example
    cohort, flow = derive_cohort(frame, study)
    assert flow[-1]["n"] == 10
    assert sorted(cohort["ckd_group"].unique()) == [1, 2, 3]
    assert "patient_id" not in cohort
    assert cohort["daily_dose"].tolist() == [10, 10, 5, 5, 20, 20, 30, 5, 20, 15]


def test_input_frame_is_not_mutated(example, study):
    export = pd.read_csv(EXAMPLE_EXPORT, encoding="utf-8")
    before = export.copy(deep=True)
    columns = list(export.columns)
    out = apply_mapping(export, load_mapping(EXAMPLE_MAPPING), study)
    assert out is not export
    assert list(export.columns) == columns
    pd.testing.assert_frame_equal(export, before)
    # also when nothing is renamed or dropped, and the frame is changed in place elsewhere
    frame = pd.DataFrame({"albumin": [38.0]})
    inline = Mapping(path=Path("inline.yaml"), raw={"units": {"albumin": "g/L"}})
    assert apply_mapping(frame, inline, study)["albumin"].tolist() == [3.8]
    assert frame["albumin"].tolist() == [38.0]
