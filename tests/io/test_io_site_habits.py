"""Site habits the readers absorb or refuse: decomposed Hangul, totals rows, wrong sheets.

Every file is written by hand in the test; the expected names, values and rows are
read off what was written.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from analysis.io import read_table
from analysis.io._totals import TOTALS_WORDS


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --------------------------------------------------------------------------- NFC


def test_decomposed_hangul_headers_and_cells_read_as_nfc(tmp_path, read_ok):
    # what a Mac writes: every syllable split into its jamo
    text = nfd("환자번호,성별,처방사유\n1,남,딸꾹질\n2,여,기타\n")
    path = tmp_path / "mac.csv"
    path.write_bytes(text.encode("utf-8"))
    assert "성별" not in text  # really decomposed
    result = read_ok(path)
    assert list(result.frame.columns) == ["환자번호", "성별", "처방사유"]
    assert result.frame["성별"].tolist() == ["남", "여"]
    assert result.frame["처방사유"].tolist() == ["딸꾹질", "기타"]


def test_nfc_and_nfd_spellings_of_one_header_are_duplicates(tmp_path, read_error):
    path = tmp_path / "twice.csv"
    path.write_bytes(f"id,성별,{nfd('성별')}\n1,1,2\n".encode())
    read_error(path, "duplicate column name '성별'", "column 2", "column 3")


def test_decomposed_hangul_in_excel_and_spss(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", nfd("성별")])
    book.active.append([1, nfd("남")])
    book.save(tmp_path / "mac.xlsx")
    frame = read_table(tmp_path / "mac.xlsx").frame
    assert list(frame.columns) == ["id", "성별"] and frame["성별"].tolist() == ["남"]

    sav = tmp_path / "mac.sav"
    pyreadstat.write_sav(
        pd.DataFrame({"sex": [1.0], "ward": [nfd("내과")]}),
        str(sav),
        variable_value_labels={"sex": {1: nfd("남")}},
    )
    result = read_table(sav)
    assert result.frame["ward"].tolist() == ["내과"]
    assert result.value_labels == {"sex": {1.0: nfd("남")}}  # labels as the file has them


# --------------------------------------------------------------------------- totals rows


@pytest.mark.parametrize("word", ["합계", "Total", "TOTAL", "Sum", "계", "소계", "Grand total"])
def test_totals_row_in_the_id_column_is_refused(tmp_path, read_error, word):
    path = tmp_path / "with_total.csv"
    path.write_text(f"id,age,dose\n1,71,100\n2,65,50\n{word},136,150\n", encoding="utf-8")
    read_error(path, "data row 3", f"{word!r}", "column 'id'", "totals row", "remove it")


def test_totals_row_in_a_text_column_case_and_spaces_ignored(tmp_path, read_error):
    path = tmp_path / "labelled_total.csv"
    path.write_text("id,ward,dose\n1,A,100\n2,B,50\n,  grand   TOTAL: ,150\n", encoding="utf-8")
    read_error(path, "data row 3", "column 'ward'", "totals row")


def test_subtotal_rows_are_counted_in_the_message(tmp_path, read_error):
    path = tmp_path / "subtotals.csv"
    path.write_text(
        "ward,id,dose\nA,1,100\n소계,,100\nB,2,50\n소계,,50\n합계,,150\n", encoding="utf-8"
    )
    read_error(path, "data row 2", "'소계'", "and 2 more such row(s)")


def test_text_that_only_contains_a_totals_word_is_data(tmp_path, read_ok):
    path = tmp_path / "fine.csv"
    path.write_text(
        "id,note,계획\n1,total dose 100 mg,합계 아님\n2,Sum of two doses,x\n", encoding="utf-8"
    )
    assert read_ok(path).frame["note"].tolist() == ["total dose 100 mg", "Sum of two doses"]


def test_totals_words_are_the_documented_ones():
    assert {"합계", "total", "sum", "계", "소계", "grand total"} <= set(TOTALS_WORDS)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "own-data.md").read_text("utf-8")
    paragraph = docs[docs.index("A **totals row**") :].split("\n\n")[0].casefold()
    assert [w for w in TOTALS_WORDS if f"`{w}`" not in paragraph] == []


def test_totals_row_in_excel_names_sheet_and_row(tmp_path, read_error):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "환자"
    rows = (
        ["Export of 2019-03-01"],
        [],
        ["id", "age", "sex", "dose"],
        [1, 71, "M", 100],
        [2, 65, "F", 50],
        ["합계", 136, None, 150],
    )
    for row in rows:
        ws.append(row)
    book.create_sheet("Notes")
    book.save(tmp_path / "totals.xlsx")
    read_error(
        tmp_path / "totals.xlsx",
        "sheet '환자'",
        "data row 3 (sheet row 6)",
        "'합계'",
        "sheets in the workbook: '환자', 'Notes'",
    )


def test_totals_row_in_an_spss_string_variable(tmp_path, read_error):
    path = tmp_path / "totals.sav"
    pyreadstat.write_sav(
        pd.DataFrame({"id": ["1", "2", "Total"], "age": [71.0, 65.0, 136.0]}), str(path)
    )
    read_error(path, "row 3", "'Total'", "column 'id'")


# --------------------------------------------------------------------------- Excel errors


def _book(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([["id", "age", "age"], [1, 2, 3]], "duplicate column name 'age'"),
        ([["id", "age"], [1, 71, 99]], "column C has data but no header name"),
        ([["id", "age"]], "no data rows"),
        ([["id", "note"], [1, "x" * 200]], "longer than the limit of 100"),
        ([], "is empty"),
    ],
)
def test_every_excel_error_names_the_sheet_and_lists_the_sheets(
    tmp_path, read_error, rows, problem
):
    path = _book(tmp_path / "site.xlsx", {"Summary": [["a"], [1]], "Cohort": rows})
    message = read_error(path, problem, sheet="Cohort", max_cell_chars=100)
    assert "sheet 'Cohort'" in message
    assert message.endswith("(sheets in the workbook: 'Summary', 'Cohort')")


def test_wrong_sheet_name_lists_the_sheets(tmp_path, read_error):
    path = _book(tmp_path / "site.xlsx", {"Summary": [["a"], [1]], "Cohort": [["id"], [1]]})
    read_error(path, "no sheet 'cohort'", "sheets: Summary, Cohort", sheet="cohort")
