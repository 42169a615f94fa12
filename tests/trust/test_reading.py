"""Reading and mapping never lose or invent data silently.

One test (or a few) per class of silent failure: text taken for missing, missing
codes nobody declared, uncounted blanks, ambiguous mappings, YAML traps, formulas
without values, SPSS blank strings and giant cells. Every expected number below is
counted by hand from the small input written in the test.
"""

from __future__ import annotations

import math
import re
import time
import zipfile
from itertools import pairwise
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from support import one_line as _one_line
from support import write_text as _write

from analysis.errors import DataError, MappingError, StudyFileError
from analysis.inputs import load_input
from analysis.io import read_table
from analysis.mapping import apply_mapping, load_mapping
from analysis.study import Study, load_study
from analysis.validate import validate_frame
from analysis.yaml_safe import load as safe_yaml

ROOT = Path(__file__).resolve().parents[2]
STUDY_FILE = ROOT / "studies" / "baclofen_ckd.yaml"

#: pandas' default NA strings (pandas.io.parsers: STR_NA_VALUES), written out by hand.
PANDAS_NA_STRINGS = [
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(STUDY_FILE)


def _isnan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


# ----------------------------------------------------------------- 1. no default NA strings


def test_none_is_a_code_not_a_missing_value(tmp_path, study):
    # 3 None, 2 HD, 1 PD: with pandas' defaults the 3 "None" rows would read as missing
    data = _write(tmp_path / "site.csv", "id,dialysis\n1,None\n2,HD\n3,None\n4,PD\n5,HD\n6,None\n")
    mapping = _write(
        tmp_path / "site.yaml",
        """\
        rename: {dialysis: dialysis_modality}
        recode:
          dialysis_modality: {None: 0, HD: 1, PD: 2}
        """,
    )
    frame = load_input(data, study, mapping)
    assert frame["dialysis_modality"].tolist() == [0, 1, 0, 2, 1, 0]
    assert frame.attrs["made_missing"] == []


@pytest.mark.parametrize("token", PANDAS_NA_STRINGS)
def test_pandas_na_strings_stay_text_in_csv(tmp_path, token):
    path = _write(tmp_path / "t.csv", f"id,note,empty\n1,{token},\n2,x,\n")
    result = read_table(path)
    assert result.frame["note"].tolist() == [token, "x"]
    assert result.frame["empty"].isna().all()  # truly empty cells are still missing
    assert result.made_missing == []


def test_na_strings_stay_text_in_excel_and_spss(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", "note"])
    for i, token in enumerate(["NA", "None", "null", "#N/A"], start=1):
        book.active.append([i, token])
    book.save(tmp_path / "t.xlsx")
    assert read_table(tmp_path / "t.xlsx").frame["note"].tolist() == ["NA", "None", "null", "#N/A"]

    sav = tmp_path / "t.sav"
    pyreadstat.write_sav(pd.DataFrame({"id": [1.0, 2.0], "note": ["NA", "None"]}), str(sav))
    assert read_table(sav).frame["note"].tolist() == ["NA", "None"]


def test_na_in_a_numeric_column_is_a_validation_error_not_a_blank(tmp_path, study):
    path = _write(tmp_path / "labs.csv", "albumin\n3.8\nNA\n4.1\n")
    frame = load_input(path, study)
    assert frame["albumin"].tolist() == ["3.8", "NA", "4.1"]  # nothing made missing
    report = validate_frame(frame, study, source=str(path))
    numeric = [p for p in report.problems if p.column == "albumin" and p.rule == "numeric"]
    assert [(p.row, p.value) for p in numeric] == [(2, "NA")]


# ----------------------------------------------------------------- whitespace-only cells


def test_whitespace_only_cells_are_missing_and_counted(tmp_path):
    # age: row 2 is three spaces; note: row 1 a tab, row 3 empty (not counted)
    path = tmp_path / "ws.csv"
    path.write_bytes(b"age,note\n71,\t\n   ,b\n65,\n")
    result = read_table(path)
    age = result.frame["age"].tolist()
    assert age[0] == 71 and _isnan(age[1]) and age[2] == 65  # numeric again once blanked
    assert result.frame["note"].isna().tolist() == [True, False, True]
    assert result.made_missing == [
        {"column": "age", "reason": "whitespace-only cell", "count": 1, "first_row": 2},
        {"column": "note", "reason": "whitespace-only cell", "count": 1, "first_row": 1},
    ]
    assert result.frame.attrs["made_missing"] == result.made_missing


def test_whitespace_only_excel_cell_counted(tmp_path):
    book = openpyxl.Workbook()
    for row in (["id", "sex"], [1, "M"], [2, "  "], [3, "F"], [4, " "]):
        book.active.append(row)
    book.save(tmp_path / "ws.xlsx")
    result = read_table(tmp_path / "ws.xlsx")
    assert result.frame["sex"].isna().tolist() == [False, True, False, True]
    assert result.made_missing == [
        {"column": "sex", "reason": "whitespace-only cell", "count": 2, "first_row": 2}
    ]


# ----------------------------------------------------------------- 2./3. declared codes, counted


def test_declared_missing_and_not_applicable_are_counted(tmp_path, study):
    data = _write(
        tmp_path / "site.csv",
        """\
        chol,onset,neurotox,alb
        150,No,N,NA
        999,12,Y,3.9
        NA,No,N,4.0
        999,unknown,Y,-9
        180,No,N,NA
        """,
    )
    mapping = _write(
        tmp_path / "site.yaml",
        """\
        rename: {chol: cholesterol, onset: onset_hours, neurotox: neurotoxicity, alb: albumin}
        missing:
          "*": ["NA"]
          cholesterol: [999]
          onset_hours: unknown
          albumin: -9
        not_applicable:
          onset_hours: ["No"]
        recode:
          neurotoxicity: {Y: 1, N: 0}
        """,
    )
    frame = load_input(data, study, mapping)
    chol = frame["cholesterol"].tolist()
    assert chol[0] == 150 and chol[4] == 180 and all(_isnan(v) for v in chol[1:4])
    onset = frame["onset_hours"].tolist()
    assert onset[1] == 12 and sum(_isnan(v) for v in onset) == 4
    albumin = frame["albumin"].tolist()
    assert albumin[1:3] == [3.9, 4.0] and sum(_isnan(v) for v in albumin) == 3
    assert frame["neurotoxicity"].tolist() == [0, 1, 0, 1, 0]
    assert frame.attrs["made_missing"] == [
        {"column": "albumin", "reason": "declared missing code 'NA' (mapping)", "count": 2,
         "first_row": 1},
        {"column": "albumin", "reason": "declared missing code -9 (mapping)", "count": 1,
         "first_row": 4},
        {"column": "cholesterol", "reason": "declared missing code 'NA' (mapping)", "count": 1,
         "first_row": 3},
        {"column": "cholesterol", "reason": "declared missing code 999 (mapping)", "count": 2,
         "first_row": 2},
        {"column": "onset_hours", "reason": "declared missing code 'unknown' (mapping)",
         "count": 1, "first_row": 4},
        {"column": "onset_hours", "reason": "not applicable ('No', mapping)", "count": 3,
         "first_row": 1},
    ]  # fmt: skip


def test_declared_missing_is_not_turned_into_the_code_for_empty_cells(tmp_path, study):
    # `null: 0` gives *empty* cells a code; a cell declared missing must stay missing
    frame = pd.DataFrame({"dialysis_modality": ["HD", "unknown", None, "PD"]})
    path = _write(
        tmp_path / "m.yaml",
        """\
        missing: {dialysis_modality: [unknown]}
        recode:
          dialysis_modality: {HD: 1, PD: 2, null: 0}
        """,
    )
    out = apply_mapping(frame, load_mapping(path), study)
    values = out["dialysis_modality"].tolist()
    assert values[0] == 1 and _isnan(values[1]) and values[2] == 0 and values[3] == 2


def test_recode_null_and_unmapped_missing_are_counted(tmp_path, study):
    frame = pd.DataFrame({"seizure": ["Y", "U", "N", "?", "U", "x", None]})
    path = _write(
        tmp_path / "m.yaml",
        "recode:\n  seizure: {values: {Y: 1, N: 0, U: null}, unmapped: missing}\n",
    )
    out = apply_mapping(frame, load_mapping(path), study)
    assert out["seizure"].isna().tolist() == [False, True, False, True, True, True, True]
    assert out.attrs["made_missing"] == [
        {"column": "seizure", "reason": "recoded to missing ('U', mapping)", "count": 2,
         "first_row": 2},
        {"column": "seizure", "reason": "unmapped value set missing (unmapped: missing)",
         "count": 2, "first_row": 4},
    ]  # fmt: skip


def test_reader_counts_are_renamed_and_dropped_columns_forgotten(tmp_path, study):
    data = tmp_path / "site.csv"
    data.write_bytes(b"alb_gL,name\n38,a\n  ,  \n40,c\n")
    mapping = _write(tmp_path / "m.yaml", "rename: {alb_gL: albumin}\ndrop: [name]\n")
    frame = load_input(data, study, mapping)
    assert frame.attrs["made_missing"] == [
        {"column": "albumin", "reason": "whitespace-only cell", "count": 1, "first_row": 2}
    ]


# ----------------------------------------------------------------- 4. ambiguous mappings


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("recode:\n  sex: {1: 1, '1': 2}\n", "recode.sex", "keys 1 and '1'"),
        ("recode:\n  sex: {2: 2, ' 2': 2}\n", "recode.sex", "keys 2 and ' 2'"),
        ("recode:\n  sex: {'01': 1, 1: 2}\n", "recode.sex", "keys '01' and 1"),
        ("recode:\n  sex: {'1.0': 1, 1: 2}\n", "recode.sex", "keys '1.0' and 1"),
        ("recode:\n  dialysis_modality: {null: 0, '': 0}\n", "recode.dialysis_modality", "twice"),
        (
            "missing: {sex: [9]}\nrecode:\n  sex: {1: 1, 2: 2, 9: 1}\n",
            "missing.sex",
            "also mapped by recode.sex",
        ),
        ("missing: {'*': [NA]}\nrecode:\n  sex: {NA: 1}\n", "missing.*", "recode.sex"),
        (
            "missing: {onset_hours: ['No']}\nnot_applicable: {onset_hours: ['No']}\n",
            "not_applicable.onset_hours",
            "also declared under missing",
        ),
        ("missing: {cholesterol: [999, '999']}\n", "missing.cholesterol", "same value"),
        ("rename: {1: sex, '1': age}\n", "rename", "listed twice"),
    ],
)
def test_ambiguous_mappings_are_refused(tmp_path, study, text, key, words):
    path = _write(tmp_path / "amb.yaml", text)
    with pytest.raises(MappingError) as exc:
        load_mapping(path, study)
    message = _one_line(exc, str(path), f": {key}", words)
    assert message.startswith(str(path))


def test_same_target_written_as_number_and_text_is_allowed_only_when_not_text_equal(
    tmp_path, study
):
    # "01" and 1 are different text codes; both meaning male is not ambiguous
    path = _write(tmp_path / "ok.yaml", "recode:\n  sex: {'01': 1, 1: 1, 2: 2}\n")
    out = apply_mapping(pd.DataFrame({"sex": ["01", "1", "2"]}), load_mapping(path), study)
    assert out["sex"].tolist() == [1, 1, 2]


@pytest.mark.parametrize(
    "text",
    [
        "recode:\n  sex: {1: 1}\nrecode:\n  age: {}\n",  # a whole section twice
        "recode:\n  sex: {1: 1, 2: 2, 1: 2}\n",  # a code twice
        "recode:\n  sex: {1: 1, 1.0: 2}\n",  # equal once constructed
    ],
)
def test_duplicate_yaml_keys_are_refused(tmp_path, text):
    path = _write(tmp_path / "dup.yaml", text)
    with pytest.raises(MappingError) as exc:
        load_mapping(path)
    _one_line(exc, str(path), "duplicate key", "at line")


def test_duplicate_key_in_a_study_file(tmp_path):
    text = STUDY_FILE.read_text(encoding="utf-8")
    path = tmp_path / "study.yaml"
    path.write_text(text.replace("study:\n", "study:\n  id: first\n", 1), encoding="utf-8")
    with pytest.raises(StudyFileError) as exc:
        load_study(path)
    _one_line(exc, str(path), "duplicate key 'id'")


# ----------------------------------------------------------------- 7. YAML alias bombs


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghi"
    for prev, name in pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_refused_quickly(tmp_path):
    # 9 levels of 9 aliases: 9**9 = 387,420,489 strings once expanded
    text = _billion_laughs()
    assert text.count("*") == 8 * 9
    for loader, error, name in (
        (load_mapping, MappingError, "bomb.yaml"),
        (load_study, StudyFileError, "bomb_study.yaml"),
    ):
        path = _write(tmp_path / name, text)
        start = time.perf_counter()
        with pytest.raises(error) as exc:
            loader(path)
        assert time.perf_counter() - start < 1.0
        _one_line(exc, str(path), "aliases are expanded")


def test_ordinary_anchors_still_work():
    assert safe_yaml("a: &yn {Y: 1, N: 0}\nb: *yn\nc: *yn\n") == {
        "a": {"Y": 1, "N": 0},
        "b": {"Y": 1, "N": 0},
        "c": {"Y": 1, "N": 0},
    }


def test_recursive_alias_and_deep_nesting_are_one_line_errors(tmp_path):
    for text in ("a: &x [1, *x]\n", "a: " + "[" * 5000 + "]" * 5000 + "\n"):
        path = _write(tmp_path / "r.yaml", text)
        with pytest.raises(MappingError) as exc:
            load_mapping(path)
        _one_line(exc, str(path), "not valid YAML")


# ----------------------------------------------------------------- 5. formulas without values


def _albumin_book(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "alb_gL", "albumin"])
    for i in range(1, 7):  # data rows 1..6 are sheet rows 2..7
        sheet.append([i, 38 + i, (38 + i) / 10])
    sheet["C7"] = "=B7/10"  # data row 6
    book.save(path)
    return path


def test_formula_without_saved_value_names_sheet_and_cell(tmp_path):
    path = _albumin_book(tmp_path / "labs.xlsx")
    with pytest.raises(DataError) as exc:
        read_table(path)
    _one_line(
        exc,
        str(path),
        "sheet 'Sheet', cell C7 (column 'albumin', data row 6): formula '=B7/10' has no "
        "saved value; open and save the file in Excel, or export values",
    )


def test_formula_with_a_saved_value_reads_the_value(tmp_path):
    path = _albumin_book(tmp_path / "labs.xlsx")
    # what Excel writes on saving: the formula and its cached result
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    # openpyxl writes the empty value as <v /> or <v></v>, by whether lxml is installed
    empty = re.compile(rb"<f>B7/10</f>(<v ?/>|<v></v>)")
    assert len(empty.findall(parts[sheet])) == 1
    parts[sheet] = empty.sub(b"<f>B7/10</f><v>4.4</v>", parts[sheet])
    saved = tmp_path / "saved.xlsx"
    with zipfile.ZipFile(saved, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    assert read_table(saved).frame["albumin"].iloc[5] == 4.4


# ----------------------------------------------------------------- 6. SPSS / Stata missing


def test_spss_blank_strings_and_user_missing_are_counted(tmp_path):
    path = tmp_path / "site.sav"
    frame = pd.DataFrame(
        {
            "sex": [1.0, 9.0, 2.0, 9.0, 1.0],
            "cr": [1.2, 98.5, 99.0, 2.0, 1.0],
            "ward": ["A", "", "B", "   ", "NA"],
        }
    )
    pyreadstat.write_sav(
        frame, str(path), missing_ranges={"sex": [9], "cr": [{"lo": 98, "hi": 99}]}
    )
    result = read_table(path)
    assert result.frame["ward"].tolist()[::2] == ["A", "B", "NA"]
    assert result.frame["ward"].isna().tolist() == [False, True, False, True, False]
    assert result.user_missing == {"sex": [9.0], "cr": [(98.0, 99.0)]}
    assert result.made_missing == [
        {"column": "cr", "reason": "SPSS user-missing range 98 to 99", "count": 2, "first_row": 2},
        {"column": "sex", "reason": "SPSS user-missing value 9", "count": 2, "first_row": 2},
        {"column": "ward", "reason": "SPSS blank string", "count": 2, "first_row": 2},
    ]


def test_stata_extended_missing_counted(tmp_path):
    path = tmp_path / "site.dta"
    df = pd.DataFrame({"cr": pd.Series([1.5, "a", 2.0, "a", "b"], dtype=object)})
    pyreadstat.write_dta(df, str(path), missing_user_values={"cr": ["a", "b"]})
    result = read_table(path)
    assert result.made_missing == [
        {"column": "cr", "reason": "Stata extended missing value .a", "count": 2, "first_row": 2},
        {"column": "cr", "reason": "Stata extended missing value .b", "count": 1, "first_row": 5},
    ]


def test_parquet_nulls_are_its_own_and_not_counted(tmp_path):
    path = tmp_path / "c.parquet"
    pd.DataFrame({"note": ["NA", None, " "]}).to_parquet(path)
    result = read_table(path)
    assert result.frame["note"].tolist()[0] == "NA" and result.frame["note"].isna().sum() == 1
    assert result.made_missing == []


# ----------------------------------------------------------------- 8. large cells


def test_50_mb_cell_is_one_line_error(tmp_path):
    path = tmp_path / "big.csv"
    size = 50 * 1024 * 1024
    with path.open("wb") as fh:
        fh.write(b"id,note\n1,short\n2,")
        fh.write(b"x" * size)
        fh.write(b"\n3,ok\n")
    with pytest.raises(DataError) as exc:
        read_table(path)
    message = _one_line(exc, str(path), "column 'note'", "data row 2", "52,428,800 characters")
    assert "32,767" in message
    assert len(message) < 500


def test_long_first_line_is_refused_plainly(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(b"id," + b"h" * 200_000 + b"\n1,2\n")
    with pytest.raises(DataError) as exc:
        read_table(path)
    _one_line(exc, str(path), "first line is longer than")


def test_long_excel_and_spss_cells(tmp_path):
    # openpyxl itself keeps Excel's 32,767 limit, so a lower limit is used here
    book = openpyxl.Workbook()
    for row in (["id", "note"], [1, "a"], [2, "b"], [3, "y" * 150]):
        book.active.append(row)
    book.save(tmp_path / "long.xlsx")
    assert read_table(tmp_path / "long.xlsx", max_cell_chars=150).frame.shape == (3, 2)
    with pytest.raises(DataError) as exc:
        read_table(tmp_path / "long.xlsx", max_cell_chars=149)
    _one_line(exc, "column 'note'", "data row 3 (sheet row 4)", "150 characters", "limit of 149")

    sav = tmp_path / "long.sav"
    pyreadstat.write_sav(pd.DataFrame({"note": ["a", "z" * 300]}), str(sav))
    with pytest.raises(DataError) as exc:
        read_table(sav, max_cell_chars=299)
    _one_line(exc, str(sav), "column 'note', row 2", "300 characters")


def test_study_file_limit_reaches_the_reader(tmp_path):
    text = STUDY_FILE.read_text(encoding="utf-8")
    assert not re.search(r"^limits:", text, flags=re.M)
    study_path = tmp_path / "study.yaml"
    study_path.write_text(text + "\nlimits:\n  max_cell_chars: 10\n", encoding="utf-8")
    study = load_study(study_path)
    assert study.max_cell_chars == 10
    ok = _write(tmp_path / "ok.csv", "note\nabcdefghij\n")
    assert load_input(ok, study)["note"].tolist() == ["abcdefghij"]
    long = _write(tmp_path / "long.csv", "note\nabc\nabcdefghijk\n")
    with pytest.raises(DataError) as exc:
        load_input(long, study)
    _one_line(exc, str(long), "column 'note', data row 2", "11 characters", "limit of 10")

    bad = tmp_path / "bad.yaml"
    bad.write_text(text + "\nlimits:\n  max_cell_chars: 0\n", encoding="utf-8")
    with pytest.raises(StudyFileError) as exc:
        load_study(bad)
    _one_line(exc, "limits.max_cell_chars")
