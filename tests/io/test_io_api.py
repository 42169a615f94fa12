"""The public surface: names, result type, and the errors raised before any format reader."""

from __future__ import annotations

import dataclasses

import pytest

import analysis.io
from analysis.errors import DataError
from analysis.io import FORMATS, ReadResult, read_cohort, read_table


def test_public_names():
    assert set(analysis.io.__all__) == {
        "FORMATS",
        "MAX_CELL_CHARS",
        "ReadResult",
        "read_cohort",
        "read_table",
    }
    assert set(FORMATS.values()) == {
        "csv", "tsv", "txt", "xlsx", "sav", "zsav", "por", "dta", "sas7bdat", "xpt", "parquet",
    }  # fmt: skip


def test_result_is_frozen(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"id\n1\n")
    result = read_table(path)
    assert isinstance(result, ReadResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.format = "xlsx"  # type: ignore[misc]


def test_read_cohort_takes_only_a_path_as_before(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"id;age\n1;71\n")
    assert read_cohort(str(path)).to_dict("list") == {"id": [1], "age": [71]}


def test_file_not_found(tmp_path):
    with pytest.raises(DataError, match=r"missing\.csv: file not found$"):
        read_table(tmp_path / "missing.csv")


def test_directory(tmp_path, read_error):
    folder = tmp_path / "export.csv"
    folder.mkdir()
    read_error(folder, "not a file")


@pytest.mark.parametrize("name", ["old.xls", "notes.docx", "noext"])
def test_unsupported_extension(tmp_path, read_error, name):
    path = tmp_path / name
    path.write_bytes(b"id\n1\n")
    read_error(path, "unsupported file type", ".csv", ".sav")
