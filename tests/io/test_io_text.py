"""Delimited text: encodings (UTF-8, BOM, UTF-16, CP949/EUC-KR, Latin-1) and delimiters."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analysis.io import read_cohort, read_table

KOREAN = "환자번호,성별,나이,진단\n1,남,71,만성신부전\n2,여,65,투석\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_comma(tmp_path, read_ok):
    path = write(tmp_path, "site.csv", b"id,age,cr\n1,71,1.5\n2,65,\n")
    result = read_ok(path)
    assert (result.format, result.encoding, result.delimiter) == ("csv", "utf-8", ",")
    assert list(result.frame.columns) == ["id", "age", "cr"]
    assert result.frame["age"].tolist() == [71, 65]
    assert result.frame["cr"].iloc[0] == 1.5 and math.isnan(result.frame["cr"].iloc[1])
    assert result.source == str(path)
    assert (result.variable_labels, result.value_labels, result.user_missing) == ({}, {}, {})


def test_utf8_bom_is_not_part_of_the_first_name(tmp_path, read_ok):
    path = write(tmp_path, "bom.csv", "\ufeffid;나이\n1;71\n".encode())
    result = read_ok(path)
    assert (result.encoding, result.delimiter) == ("utf-8-sig", ";")
    assert list(result.frame.columns) == ["id", "나이"]
    assert result.frame["나이"].tolist() == [71]


@pytest.mark.parametrize("codec", ["cp949", "euc-kr"])
def test_korean_hospital_export(tmp_path, read_ok, codec):
    path = write(tmp_path, "korean.csv", KOREAN.encode(codec))
    result = read_ok(path)
    assert result.encoding == "cp949"
    assert list(result.frame.columns) == ["환자번호", "성별", "나이", "진단"]
    assert result.frame["성별"].tolist() == ["남", "여"]
    assert result.frame["진단"].tolist() == ["만성신부전", "투석"]


def test_latin1_accents_are_not_taken_for_cp949(tmp_path, read_ok):
    # b"Gr\xf6\xdfe" also decodes as CP949 (to a Hanja), so the Hangul check must reject it
    path = write(tmp_path, "de.csv", "name;Größe\nJosé;181\nRenée;167\n".encode("latin-1"))
    result = read_ok(path)
    assert (result.encoding, result.delimiter) == ("latin-1", ";")
    assert list(result.frame.columns) == ["name", "Größe"]
    assert result.frame["name"].tolist() == ["José", "Renée"]


def test_utf16_tab_text_as_excel_saves_unicode_text(tmp_path, read_ok):
    path = write(tmp_path, "unicode.txt", "id\t성별\n1\t남\n2\t여\n".encode("utf-16"))
    result = read_ok(path)
    assert (result.format, result.encoding, result.delimiter) == ("txt", "utf-16", "\t")
    assert result.frame["성별"].tolist() == ["남", "여"]


@pytest.mark.parametrize(
    ("name", "sep"), [("a.tsv", "\t"), ("a.txt", "|"), ("a.csv", ";"), ("b.csv", ",")]
)
def test_delimiters_detected(tmp_path, read_ok, name, sep):
    text = sep.join(["id", "sex", "note"]) + "\n"
    text += sep.join(["1", "M", '"a, b; c | d"']) + "\n" + sep.join(["2", "F", "x"]) + "\n"
    result = read_ok(write(tmp_path, name, text.encode()))
    assert result.delimiter == sep
    assert result.frame.to_dict("list") == {
        "id": [1, 2],
        "sex": ["M", "F"],
        "note": ["a, b; c | d", "x"],
    }


def test_semicolon_with_decimal_commas_in_data(tmp_path, read_ok):
    path = write(tmp_path, "eu.csv", b"id;cr\n1;1,5\n2;2,25\n")
    result = read_ok(path)
    assert result.delimiter == ";"
    assert result.frame["cr"].tolist() == ["1,5", "2,25"]  # decimal commas are not converted


def test_forced_encoding_and_delimiter(tmp_path, read_ok):
    path = write(tmp_path, "forced.txt", KOREAN.replace(",", "|").encode("cp949"))
    result = read_ok(path, encoding="euc-kr", delimiter="pipe")
    assert (result.encoding, result.delimiter) == ("euc-kr", "|")
    assert result.frame["나이"].tolist() == [71, 65]
    assert read_ok(path, delimiter="|").frame.shape == (2, 4)


def test_non_ascii_only_after_the_sample_rereads_whole_file(tmp_path, read_ok):
    rows = "".join(f"{i},M,{60 + i % 30},none\n" for i in range(6000))  # > 64 KiB of ASCII
    data = ("id,sex,age,dx\n" + rows + "6000,여,70,투석\n").encode("cp949")
    assert len(data) > 64 * 1024
    result = read_ok(write(tmp_path, "late.csv", data))
    assert result.encoding == "cp949"
    assert result.frame.shape == (6001, 4)
    assert result.frame["dx"].iloc[-1] == "투석"


def test_single_column_file_is_fine(tmp_path, read_ok):
    result = read_ok(write(tmp_path, "ids.csv", b"id\n1\n2\n"))
    assert result.frame.to_dict("list") == {"id": [1, 2]}


def test_header_names_are_stripped_and_empty_trailing_column_dropped(tmp_path, read_ok):
    result = read_ok(write(tmp_path, "trail.csv", b" id , age ,\n1,71,\n2,65,\n"))
    assert result.frame.to_dict("list") == {"id": [1, 2], "age": [71, 65]}


def test_read_cohort_returns_the_frame(tmp_path):
    path = write(tmp_path, "site.CSV", b"id,age\n1,71\n")
    assert read_cohort(path).equals(read_table(path).frame)


# ---- errors: one line, file name, what is wrong, file untouched ---------------------------


def test_undecodable_forced_encoding_names_the_line(tmp_path, read_error):
    path = write(tmp_path, "korean.csv", KOREAN.encode("cp949"))
    read_error(path, "not valid utf-8", "line 1", "encoding=", encoding="utf-8")


def test_utf8_broken_after_the_sample_is_refused_not_guessed(tmp_path, read_error):
    rows = "".join(f"{i},남\n" for i in range(12000)).encode()
    data = b"id,sex\n" + rows + b"99999,\xff\xfe\n"
    path = write(tmp_path, "broken.csv", data)
    read_error(path, "not valid utf-8", "line 12002", "0xff")


def test_wrong_delimiter_leaving_one_column(tmp_path, read_error):
    path = write(tmp_path, "semi.csv", b"id;age;sex\n1;71;M\n")
    read_error(path, "single column", "delimiter comma", "semicolon", delimiter=",")


def test_duplicate_column_names(tmp_path, read_error):
    path = write(tmp_path, "dup.csv", b"id,age,age\n1,71,72\n")
    read_error(path, "duplicate column name 'age'", "column 2", "column 3")


def test_unnamed_column_with_data(tmp_path, read_error):
    path = write(tmp_path, "unnamed.csv", b"id,,sex\n1,,M\n2,x,F\n")
    read_error(path, "column 2 has data but no header name", "data row 2", "'x'")


def test_rows_wider_than_the_header_are_not_shifted(tmp_path, read_error, read_ok):
    # pandas alone would make "id" the index and shift every value one column left
    path = write(tmp_path, "wide.csv", b"id,age\n1,71,x\n2,65,y\n")
    read_error(path, "column 3 has data but no header name", "data row 1", "'x'")
    path = write(tmp_path, "trailing.csv", b"id,age\n1,71,\n2,65,\n")
    assert read_ok(path).frame.to_dict("list") == {"id": [1, 2], "age": [71, 65]}


def test_ragged_row(tmp_path, read_error):
    path = write(tmp_path, "ragged.csv", b"id,age\n1,71\n2,65,extra\n")
    read_error(path, "delimiter comma", "line 3")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty (0 bytes)"),
        (b"id,age,sex\n", "no data rows"),
        (b"\n\n  \n", "only blank lines"),
        (b"PK\x03\x04\x00\x00binary", "NUL bytes"),
    ],
)
def test_empty_header_only_and_binary(tmp_path, read_error, data, problem):
    read_error(write(tmp_path, "bad.csv", data), problem)


def test_bad_options(tmp_path, read_error):
    path = write(tmp_path, "ok.csv", b"id,age\n1,71\n")
    read_error(path, "unknown encoding 'klingon'", encoding="klingon")
    read_error(path, "delimiter must be one character", delimiter="::")
    read_error(path, "option sheet does not apply to .csv", sheet="Sheet1")
