"""SPSS, Stata, SAS and Parquet: user-defined missing values, labels, damaged files."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
NAN = float("nan")


def same(values: list, expected: list) -> bool:
    """Element-wise equality where NaN equals NaN."""
    return len(values) == len(expected) and all(
        (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
        or a == b
        for a, b in zip(values, expected, strict=True)
    )


@pytest.fixture
def spss_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sex": [1.0, 2.0, 9.0, 1.0],
            "cr": [1.2, 99.0, 98.5, 3.0],
            "egfr": [12.0, -1.0, 30.0, 8.0],
            "ward": ["A", "B", "zz", "C"],
        }
    )


def write_sav(df: pd.DataFrame, path: Path, compress: bool = False) -> Path:
    pyreadstat.write_sav(
        df,
        str(path),
        compress=compress,
        column_labels={"sex": "Sex", "cr": "Serum creatinine (mg/dL)"},
        variable_value_labels={"sex": {1: "male", 2: "female", 9: "unknown"}},
        missing_ranges={
            "sex": [9],
            "cr": [{"lo": 98, "hi": 99}],
            "egfr": [-1, -2],
            "ward": ["zz"],
        },
    )
    return path


@pytest.mark.parametrize(("name", "compress"), [("site.sav", False), ("site.zsav", True)])
def test_spss_user_missing_and_labels(tmp_path, read_ok, spss_frame, name, compress):
    result = read_ok(write_sav(spss_frame, tmp_path / name, compress), encoding=None)
    frame = result.frame
    assert result.format == name.split(".")[1]
    assert same(frame["sex"].tolist(), [1.0, 2.0, NAN, 1.0])  # 9 declared missing
    assert same(frame["cr"].tolist(), [1.2, NAN, NAN, 3.0])  # range 98-99
    assert same(frame["egfr"].tolist(), [12.0, NAN, 30.0, 8.0])  # discrete -1, -2
    assert same(frame["ward"].tolist(), ["A", "B", NAN, "C"])  # string missing value
    assert result.user_missing == {
        "sex": [9.0],
        "cr": [(98.0, 99.0)],
        "egfr": [-1.0, -2.0],
        "ward": ["zz"],
    }
    # value labels are returned, not applied: codes stay numeric
    assert frame["sex"].dtype == np.float64
    assert result.value_labels == {"sex": {1.0: "male", 2.0: "female", 9.0: "unknown"}}
    assert result.variable_labels == {"sex": "Sex", "cr": "Serum creatinine (mg/dL)"}


def test_spss_encoding_can_be_forced(tmp_path, read_ok, spss_frame):
    path = write_sav(spss_frame, tmp_path / "forced.sav")
    result = read_ok(path, encoding="utf-8")
    assert result.encoding == "utf-8"
    assert result.frame.shape == (4, 4)


def test_spss_portable(tmp_path, read_ok):
    path = tmp_path / "old.por"
    pyreadstat.write_por(pd.DataFrame({"ID": [1.0, 2.0], "SEX": ["M", "F"]}), str(path))
    result = read_ok(path)
    assert result.format == "por"
    assert result.frame.to_dict("list") == {"ID": [1.0, 2.0], "SEX": ["M", "F"]}


def test_stata_extended_missing_and_labels(tmp_path, read_ok):
    df = pd.DataFrame(
        {
            "cr": pd.Series([1.5, "a", 2.0, "b", NAN], dtype=object),
            "ckd": [3.0, 4.0, 5.0, 4.0, 3.0],
        }
    )
    path = tmp_path / "site.dta"
    pyreadstat.write_dta(
        df,
        str(path),
        missing_user_values={"cr": ["a", "b"]},
        variable_value_labels={"ckd": {3: "CKD 3", 4: "CKD 4", 5: "CKD 5"}},
        column_labels={"cr": "Creatinine"},
    )
    result = read_ok(path)
    assert result.format == "dta"
    assert result.frame["cr"].dtype == np.float64
    assert same(result.frame["cr"].tolist(), [1.5, NAN, 2.0, NAN, NAN])
    assert result.frame["ckd"].tolist() == [3.0, 4.0, 5.0, 4.0, 3.0]
    assert result.user_missing == {"cr": [".a", ".b"]}
    assert result.value_labels == {"ckd": {3: "CKD 3", 4: "CKD 4", 5: "CKD 5"}}
    assert result.variable_labels == {"cr": "Creatinine"}


def test_sas_transport(tmp_path, read_ok):
    path = tmp_path / "site.xpt"
    df = pd.DataFrame({"id": [1.0, 2.0], "sex": ["M", "F"]})
    pyreadstat.write_xport(df, str(path), column_labels={"id": "Patient"})
    result = read_ok(path)
    assert result.format == "xpt"
    assert result.frame.to_dict("list") == {"id": [1.0, 2.0], "sex": ["M", "F"]}
    assert result.variable_labels == {"id": "Patient"}


def test_sas7bdat_fixture_with_special_missing(tmp_path, read_ok):
    # written by R haven (fixtures/make_sas7bdat.R): pyreadstat cannot write SAS7BDAT
    path = tmp_path / "tiny.sas7bdat"
    shutil.copy(FIXTURES / "tiny.sas7bdat", path)
    result = read_ok(path)
    assert result.format == "sas7bdat"
    assert result.frame["id"].tolist() == [1.0, 2.0, 3.0]
    assert result.frame["sex"].tolist() == ["M", "F", "M"]
    assert same(result.frame["cr"].tolist(), [1.5, NAN, 3.25])  # .A -> NaN
    assert result.user_missing == {"cr": [".A"]}
    assert result.variable_labels == {"cr": "Creatinine"}


def test_parquet(tmp_path, read_ok):
    path = tmp_path / "cohort.parquet"
    pd.DataFrame({"id": [1, 2], "cr": [1.5, NAN]}).to_parquet(path)
    result = read_ok(path)
    assert (result.format, result.encoding, result.delimiter) == ("parquet", None, None)
    assert same(result.frame["cr"].tolist(), [1.5, NAN])
    assert result.frame["id"].tolist() == [1, 2]


# ---- errors: damaged files, header only, options that do not apply -------------------------


def _full(tmp_path: Path, fmt: str) -> Path:
    df = pd.DataFrame({"id": np.arange(500.0), "cr": np.linspace(0.5, 9.0, 500)})
    path = tmp_path / f"full.{fmt}"
    if fmt == "sav":
        pyreadstat.write_sav(df, str(path))
    elif fmt == "zsav":
        pyreadstat.write_sav(df, str(path), compress=True)
    elif fmt == "dta":
        pyreadstat.write_dta(df, str(path))
    elif fmt == "por":
        pyreadstat.write_por(df, str(path))
    elif fmt == "xpt":
        pyreadstat.write_xport(df, str(path))
    elif fmt == "sas7bdat":
        shutil.copy(FIXTURES / "tiny.sas7bdat", path)
    else:
        df.to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [
        ("sav", "SPSS .sav"),
        ("zsav", "SPSS .zsav"),
        ("por", "SPSS portable .por"),
        ("dta", "Stata .dta"),
        ("xpt", "SAS transport .xpt"),
        ("sas7bdat", "SAS .sas7bdat"),
        ("parquet", "Parquet"),
    ],
)
def test_cut_in_half(tmp_path, read_error, fmt, kind):
    data = _full(tmp_path, fmt).read_bytes()
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[: len(data) // 2 + 1])
    read_error(cut, f"cannot read as {kind}", "truncated")


def test_not_really_spss(tmp_path, read_error):
    path = tmp_path / "renamed.sav"
    path.write_bytes(b"id,age\n1,71\n")
    read_error(path, "cannot read as SPSS .sav")


def test_spss_with_no_rows(tmp_path, read_error):
    path = tmp_path / "empty_rows.sav"
    pyreadstat.write_sav(pd.DataFrame({"id": pd.Series([], dtype=float)}), str(path))
    read_error(path, "no data rows")


@pytest.mark.parametrize(
    ("fmt", "options", "problem"),
    [
        ("por", {"encoding": "cp949"}, "option encoding does not apply to .por"),
        ("parquet", {"encoding": "utf-8"}, "option encoding does not apply to .parquet"),
        ("sav", {"delimiter": ","}, "option delimiter does not apply to .sav"),
        ("dta", {"header_row": 2}, "option header_row does not apply to .dta"),
    ],
)
def test_options_that_do_not_apply(tmp_path, read_error, fmt, options, problem):
    read_error(_full(tmp_path, fmt), problem, **options)
