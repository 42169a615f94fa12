"""Excel .xlsx: sheet choice, header row (given or detected), merged and broken headers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

HEADER = ["id", "sex", "age", "cr"]
DATA = [[1, "M", 71, 1.5], [2, "F", 65, None], [3, "M", 80, 3.25]]
EXPECTED = {"id": [1, 2, 3], "sex": ["M", "F", "M"], "age": [71, 65, 80]}


def workbook(path: Path, rows: list[list], merges: tuple[str, ...] = (), extra: bool = False):
    """Write ``rows`` to the first sheet ("Cohort"); optionally a second sheet "Labs"."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Cohort"
    for row in rows:
        ws.append(row)
    for ref in merges:
        ws.merge_cells(ref)
    if extra:
        book.create_sheet("Labs").append(["id", "egfr"])
        book["Labs"].append([1, 12.5])
    book.save(path)
    return path


def check_expected(frame):
    assert list(frame.columns) == HEADER
    assert {k: frame[k].tolist() for k in EXPECTED} == EXPECTED
    assert frame["cr"].iloc[0] == 1.5 and frame["cr"].isna().tolist() == [False, True, False]


def test_header_on_first_row(tmp_path, read_ok):
    result = read_ok(workbook(tmp_path / "plain.xlsx", [HEADER, *DATA]))
    assert (result.format, result.encoding, result.delimiter) == ("xlsx", None, None)
    check_expected(result.frame)


def test_title_rows_are_skipped(tmp_path, read_ok):
    rows = [["Baclofen cohort export"], [f"printed {dt.date(2019, 3, 1)}"], [], HEADER, *DATA]
    path = workbook(tmp_path / "titled.xlsx", rows, merges=("A1:D1",))
    check_expected(read_ok(path).frame)


def test_header_row_given(tmp_path, read_ok):
    # row 1 is mostly text, so detection would pick it; the caller knows better
    rows = [["site", "Seoul", "export", "v2"], HEADER, *DATA]
    path = workbook(tmp_path / "given.xlsx", rows)
    check_expected(read_ok(path, header_row=2).frame)


def test_blank_rows_dropped_and_dates_kept(tmp_path, read_ok):
    rows = [["id", "visit"], [1, dt.datetime(2019, 3, 1)], [], [2, dt.datetime(2019, 4, 2)], []]
    frame = read_ok(workbook(tmp_path / "dates.xlsx", rows)).frame
    assert frame["id"].tolist() == [1, 2]
    assert frame["visit"].tolist() == [dt.datetime(2019, 3, 1), dt.datetime(2019, 4, 2)]


def test_sheet_by_name_and_index(tmp_path, read_ok):
    path = workbook(tmp_path / "two.xlsx", [HEADER, *DATA], extra=True)
    check_expected(read_ok(path).frame)
    for sheet in ("Labs", 1, "1"):
        assert read_ok(path, sheet=sheet).frame.to_dict("list") == {"id": [1], "egfr": [12.5]}


def test_korean_headers(tmp_path, read_ok):
    path = workbook(tmp_path / "kr.xlsx", [["환자번호", "성별"], [1, "남"], [2, "여"]])
    assert read_ok(path).frame.to_dict("list") == {"환자번호": [1, 2], "성별": ["남", "여"]}


def test_empty_unnamed_column_is_dropped(tmp_path, read_ok):
    rows = [["id", None, "sex"], [1, None, "M"], [2, None, "F"]]
    frame = read_ok(workbook(tmp_path / "gap.xlsx", rows)).frame
    assert frame.to_dict("list") == {"id": [1, 2], "sex": ["M", "F"]}


# ---- errors -------------------------------------------------------------------------------


def test_two_row_header_with_group_labels(tmp_path, read_error):
    rows = [["", "Demographics", None, "Labs"], HEADER, *DATA]
    path = workbook(tmp_path / "grouped.xlsx", rows, merges=("B1:C1",))
    read_error(path, "sheet 'Cohort'", "merged cells B1:C1", "multi-row header")


def test_group_label_merged_above_the_header(tmp_path, read_error):
    rows = [[None, "Labs", None, None], HEADER, *DATA]  # row 1 is too sparse to be the header
    path = workbook(tmp_path / "above.xlsx", rows, merges=("B1:D1",))
    read_error(path, "merged cells B1:D1 above header row 2", "multi-row header")


def test_merged_cells_in_header_row(tmp_path, read_error):
    rows = [["id", "Labs", None, None], ["", "cr", "bun", "egfr"], [1, 1.5, 20, 12.0]]
    path = workbook(tmp_path / "merged.xlsx", rows, merges=("A1:A2", "B1:D1"))
    read_error(path, "merged cells A1:A2 in header row 1", "multi-row header")


def test_merged_cells_in_data(tmp_path, read_error):
    rows = [["group", "id"], ["CKD 4", 1], [None, 2]]
    path = workbook(tmp_path / "merged_data.xlsx", rows, merges=("A2:A3",))
    read_error(path, "merged cells A2:A3 in the data")


def test_duplicate_names(tmp_path, read_error):
    path = workbook(tmp_path / "dup.xlsx", [["id", "cr", "age", "cr"], [1, 1.5, 71, 1.6]])
    read_error(path, "duplicate column name 'cr'", "column B", "column D")


def test_data_under_an_empty_header_cell(tmp_path, read_error):
    rows = [["id", "sex"], [1, "M"], [2, "F", 99]]
    path = workbook(tmp_path / "stray.xlsx", rows)
    read_error(path, "column C has data but no header name", "row 3", "value '99.0'")


def test_no_header_found(tmp_path, read_error):
    path = workbook(tmp_path / "numbers.xlsx", [[1, 2, 3], [4, 5, 6]])
    read_error(path, "no header row in the first 20 rows", "header_row")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"sheet": "Lab"}, "no sheet 'Lab' (sheets: Cohort, Labs"),
        ({"sheet": 5}, "no sheet 5"),
        ({"header_row": 40}, "header_row 40 is outside rows 1-4"),
        ({"header_row": 0}, "header_row must be a row number from 1"),
        ({"delimiter": ";"}, "option delimiter does not apply to .xlsx"),
        ({"encoding": "cp949"}, "option encoding does not apply to .xlsx"),
    ],
)
def test_bad_options(tmp_path, read_error, options, problem):
    path = workbook(tmp_path / "opts.xlsx", [HEADER, *DATA], extra=True)
    read_error(path, problem, **options)


def test_header_only_and_empty_sheet(tmp_path, read_error):
    read_error(workbook(tmp_path / "head.xlsx", [HEADER]), "no data rows")
    read_error(workbook(tmp_path / "blank.xlsx", []), "sheet 'Cohort' is empty")


def test_truncated_or_not_a_workbook(tmp_path, read_error):
    good = workbook(tmp_path / "good.xlsx", [HEADER, *DATA]).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good[: len(good) // 2])
    read_error(cut, "cannot read as .xlsx", "corrupt or truncated")
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"id,age\n1,71\n")
    read_error(fake, "cannot read as .xlsx")
