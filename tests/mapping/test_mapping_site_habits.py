"""Site habits a mapping absorbs: Mac (NFD) text, near-miss names, Excel serial dates.

Expected values are worked out by hand: Excel serial 43831 is 2020-01-01 (Excel shows
it so), serial 1 is 1900-01-01, 59 is 1900-02-28, 61 is 1900-03-01, and 60 is the
1900-02-29 that Excel counts but that never was.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from support import one_line as _one_line
from support import write_text as _write

from analysis.errors import DataError, MappingError
from analysis.inputs import load_input
from analysis.io.excel_serial import from_serial
from analysis.mapping import apply_mapping, load_mapping
from analysis.study import Study, load_study
from analysis.validate import validate_frame

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(ROOT / "studies" / "baclofen_ckd.yaml")


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --------------------------------------------------------------------------- NFC


@pytest.mark.parametrize(("data_nfd", "mapping_nfd"), [(True, False), (False, True), (True, True)])
def test_nfd_and_nfc_text_match_each_other(tmp_path, study, data_nfd, mapping_nfd):
    data = "성별,암,처방사유\n남,예,딸꾹질\n여,아니오,기타\n"
    mapping = "rename: {성별: sex, 암: cancer, 처방사유: reason}\nrecode:\n"
    mapping += (
        "  sex: {남: 1, 여: 2}\n  cancer: {예: 1, 아니오: 0}\n  reason: {딸꾹질: 1, 기타: 3}\n"
    )
    (tmp_path / "site.csv").write_text(nfd(data) if data_nfd else data, encoding="utf-8")
    (tmp_path / "site.yaml").write_text(nfd(mapping) if mapping_nfd else mapping, "utf-8")
    frame = load_input(tmp_path / "site.csv", study, tmp_path / "site.yaml")
    assert frame["sex"].tolist() == [1, 2]
    assert frame["cancer"].tolist() == [1, 0]
    assert frame["reason"].tolist() == [1, 3]


def test_nfd_frame_built_in_code_matches_too(tmp_path, study):
    frame = pd.DataFrame({nfd("성별"): [nfd("남"), nfd("여")]})
    path = _write(tmp_path / "site.yaml", "rename: {성별: sex}\nrecode:\n  sex: {남: 1, 여: 2}\n")
    assert apply_mapping(frame, load_mapping(path), study)["sex"].tolist() == [1, 2]


def test_one_key_in_two_unicode_forms_is_an_error(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(f"recode:\n  cancer: {{예: 1, {nfd('예')}: 1}}\n", encoding="utf-8")
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    _one_line(exc, str(path), "recode.cancer", "two Unicode forms")


# --------------------------------------------------------------------------- did you mean


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("rename: {ALB_GL: albumin}\n", "rename.ALB_GL", "'alb_gL'"),
        ("rename: {alb gL: albumin}\n", "rename.alb gL", "'alb_gL'"),
        ("rename: {처방 사유: reason}\n", "rename.처방 사유", "'처방사유'"),
        ("drop: [Ward]\n", "drop[0]", "'ward'"),
    ],
)
def test_unknown_column_suggests_the_closest(tmp_path, study, text, key, suggestion):
    frame = pd.DataFrame({"alb_gL": [38], "처방사유": ["기타"], "ward": ["A"]})
    path = _write(tmp_path / "site.yaml", text)
    with pytest.raises(MappingError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _one_line(exc, str(path), key, "is not in the data", f"did you mean {suggestion}?")


def test_missing_study_column_suggests_the_file_column(study):
    frame = pd.DataFrame({"Sex": [1, 2], "albumn": [3.8, 4.0]})
    report = validate_frame(frame, study, source="site.csv")
    lines = {p.column: p.message for p in report.problems if p.rule == "required_column"}
    assert "did you mean 'Sex'?" in lines["sex"]
    assert "did you mean 'albumn'?" in lines["albumin"]
    assert "did you mean" not in lines["height"]


# --------------------------------------------------------------------------- Excel serials


def test_serial_conversion_by_hand():
    got = from_serial(np.array([1, 59, 60, 61, 43831, 43831.75, 0, -5, 1950, np.nan]))
    expected = [
        "1900-01-01", "1900-02-28", "NaT", "1900-03-01", "2020-01-01",
        "2020-01-01T18:00", "NaT", "NaT", "NaT", "NaT",
    ]  # fmt: skip
    assert [str(np.datetime64(v, "m")) if not np.isnat(v) else "NaT" for v in got] == [
        str(np.datetime64(e, "m")) if e != "NaT" else "NaT" for e in expected
    ]


def test_serial_dates_in_a_csv_give_age_and_days(tmp_path, study):
    # born 1950-06-15 = 18429; 2016-06-14 = 42535; 2016-06-15 = 42536; 2016-06-24 = 42545
    data = tmp_path / "site.csv"
    data.write_text(
        "dob,start,end\n18429,42535,42545\n18429,42536,42536\n"
        "1950-06-15,2016-06-15,2016-06-24\n,42536,\n",
        encoding="utf-8",
    )
    mapping = _write(
        tmp_path / "site.yaml",
        """\
        dates:
          age: {from: dob, to: start, unit: years}
          medication_days: {from: start, to: end, unit: days, inclusive: true}
        """,
    )
    frame = load_input(data, study, mapping)
    assert frame["age"].iloc[:3].tolist() == [65, 66, 66] and np.isnan(frame["age"].iloc[3])
    assert frame["medication_days"].iloc[:3].tolist() == [11, 1, 10]
    assert np.isnan(frame["medication_days"].iloc[3])


def test_fractional_serials_give_hours(tmp_path, study):
    frame = pd.DataFrame(
        {"first_dose": [43831.25, 43831.0], "onset": [43832.75, "2020-01-01 06:00"]}
    )
    path = _write(
        tmp_path / "site.yaml",
        "dates:\n  onset_hours: {from: first_dose, to: onset, unit: hours}\n",
    )
    assert apply_mapping(frame, load_mapping(path), study)["onset_hours"].tolist() == [36.0, 6.0]


def test_excel_column_mixing_date_cells_and_serial_numbers(tmp_path, study):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["dob", "index_date", "id", "note"])
    ws.append([dt.datetime(1950, 6, 15), 42536, 1, "a"])  # a cell formatted as a number
    ws.append([18429, dt.datetime(2016, 6, 14), 2, "b"])
    book.save(tmp_path / "dates.xlsx")
    mapping = _write(
        tmp_path / "site.yaml", "dates:\n  age: {from: dob, to: index_date, unit: years}\n"
    )
    frame = load_input(tmp_path / "dates.xlsx", study, mapping)
    assert frame["age"].tolist() == [66, 65]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("60", ["value 60", "neither a date in ISO format", "Excel serial day number"]),
        ("1950", ["value 1950", "looks like a year"]),
        ("20160614", ["value 20160614", "set format:"]),
        ("0", ["value 0", "neither"]),
    ],
)
def test_impossible_serials_are_errors(tmp_path, study, value, words):
    data = tmp_path / "site.csv"
    data.write_text(f"dob,idx\n18429,42535\n{value},42535\n", encoding="utf-8")
    mapping = _write(tmp_path / "site.yaml", "dates:\n  age: {from: dob, to: idx, unit: years}\n")
    with pytest.raises(DataError) as exc:
        load_input(data, study, mapping)
    _one_line(exc, str(mapping), "dates.age.from", "column 'dob'", "row 2", *words)


def test_with_a_format_numbers_are_not_serials(tmp_path, study):
    frame = pd.DataFrame({"dob": [19500615, 18429], "idx": [20160614, 20160614]})
    path = _write(
        tmp_path / "site.yaml",
        "dates:\n  age: {from: dob, to: idx, unit: years, format: '%Y%m%d'}\n",
    )
    with pytest.raises(DataError) as exc:
        apply_mapping(frame, load_mapping(path), study)
    _one_line(exc, str(path), "row 2", "value 18429", "format '%Y%m%d'")


# --------------------------------------------------------------------------- the CLI


def test_totals_row_stops_validate_with_exit_2(tmp_path):
    folder = tmp_path / "data_raw"
    folder.mkdir()
    path = folder / "site.csv"
    path.write_text("patient_id,sex,age\n1,1,70\n2,2,61\n합계,3,131\n", encoding="utf-8")
    before = path.read_bytes()
    out = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(path)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert f"{path}: data row 3 looks like a totals row ('합계' in column 'patient_id')" in (
        out.stderr
    )
    assert path.read_bytes() == before and [p.name for p in folder.iterdir()] == ["site.csv"]
