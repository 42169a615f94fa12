"""Bad-input corpus: every case gives a clear one-line error (or a documented warning).

For each case the file is made in a scratch ``data_raw/``, then the ``tables``
verb (the whole chain: read, map, validate, derive, tables) runs on it. Errors
must exit with status 2, print no traceback, name the file and what is wrong,
leave ``data_raw/`` byte-identical and write nothing to the output folder.
Warnings exit 0 and are printed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from analysis.export import write_cohort
from analysis.study import load_study
from analysis.synth.generator import generate

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "baclofen_ckd.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], tuple[Path, list[str]]]  # -> (data file, extra CLI args)
    expect: str  # text that must appear in the output
    error: bool = True


def _frame(n: int = 60, seed: int = 4) -> pd.DataFrame:
    return generate(n, seed=seed)


def _csv(frame: pd.DataFrame, name: str = "site.csv", **kwargs) -> Callable:
    def make(raw: Path) -> tuple[Path, list[str]]:
        path = raw / name
        frame.to_csv(path, index=False, **kwargs)
        return path, []

    return make


def _bytes(content: bytes, name: str, args: list[str] | None = None) -> Callable:
    def make(raw: Path) -> tuple[Path, list[str]]:
        path = raw / name
        path.write_bytes(content)
        return path, list(args or [])

    return make


def _edit(changes: dict) -> pd.DataFrame:
    frame = _frame()
    for (column, row), value in changes.items():
        if column not in frame or (frame[column].dtype.kind == "f" and isinstance(value, str)):
            frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    return frame


def _with(fn: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    return fn(_frame())


def _sav(raw: Path, name: str = "site.sav") -> Path:
    path = raw / name
    write_cohort([_frame()], path, load_study(STUDY))
    return path


def _truncated_sav(raw: Path) -> tuple[Path, list[str]]:
    path = _sav(raw, "tmp.sav")
    data = path.read_bytes()
    path.unlink()
    out = raw / "site.sav"
    out.write_bytes(data[: len(data) // 2])
    return out, []


def _truncated_dta(raw: Path) -> tuple[Path, list[str]]:
    full = raw / "tmp.dta"
    write_cohort([_frame()], full, load_study(STUDY))
    data = full.read_bytes()
    full.unlink()
    out = raw / "site.dta"
    out.write_bytes(data[:300])
    return out, []


def _sav_with_user_missing_albumin(raw: Path) -> tuple[Path, list[str]]:
    """99 declared as a user-missing code: honoured, so 99 g/dL is not an error."""
    frame = _frame()
    frame.loc[[1, 2], "albumin"] = 99.0
    path = raw / "site.sav"
    pyreadstat.write_sav(frame, str(path), missing_ranges={"albumin": [99.0]})
    return path, []


def _excel_merged_header(raw: Path) -> tuple[Path, list[str]]:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Baseline", None, "Laboratory", None])
    sheet.merge_cells("A1:B1")
    sheet.merge_cells("C1:D1")
    sheet.append(["sex", "age", "albumin", "creatinine"])
    sheet.append([1, 60, 3.4, 2.1])
    path = raw / "site.xlsx"
    book.save(path)
    return path, ["--header-row", "1"]


def _korean_headers(raw: Path) -> tuple[Path, list[str]]:
    frame = _frame().rename(columns={"sex": "성별", "age": "나이", "albumin": "알부민"})
    path = raw / "site.csv"
    frame.to_csv(path, index=False, encoding="cp949")
    return path, []


def _study_with_unknown_column(raw: Path) -> tuple[Path, list[str]]:
    text = STUDY.read_text(encoding="utf-8").replace(
        "  - name: cholesterol\n", "  - name: cholesterol_total\n"
    )
    study = raw.parent / "study.yaml"
    study.write_text(text.replace("cholesterol,", "cholesterol_total,"), encoding="utf-8")
    path = raw / "site.csv"
    _frame().to_csv(path, index=False)
    return path, ["--study", str(study)]


def _bad_yaml_study(raw: Path) -> tuple[Path, list[str]]:
    study = raw.parent / "study.yaml"
    study.write_text("study: {id: x\n", encoding="utf-8")
    path = raw / "site.csv"
    _frame().to_csv(path, index=False)
    return path, ["--study", str(study)]


def _edited_csv_lines(edit: Callable[[list[str]], None]) -> Callable:
    """A CSV of the cohort whose text lines ``edit`` changes in place."""

    def make(raw: Path) -> tuple[Path, list[str]]:
        lines = _frame().to_csv(index=False).splitlines()
        edit(lines)
        path = raw / "site.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path, []

    return make


def _rename_weight_to_height(lines: list[str]) -> None:
    lines[0] = lines[0].replace("weight", "height")


def _extra_fields(lines: list[str]) -> None:
    lines[5] += ",1,2,3"


def _wrong_delimiter(raw: Path) -> tuple[Path, list[str]]:
    path = raw / "site.csv"
    _frame().to_csv(path, index=False, sep=";")
    return path, ["--delimiter", ","]


def _missing_sheet(raw: Path) -> tuple[Path, list[str]]:
    path = raw / "site.xlsx"
    _frame().to_excel(path, index=False, sheet_name="cohort")
    return path, ["--sheet", "patients"]


CASES = [
    Case("truncated sav", _truncated_sav, "site.sav"),
    Case("corrupt sav", _bytes(b"$FL2 this is not really SPSS" * 20, "site.sav"), "site.sav"),
    Case("truncated dta", _truncated_dta, "site.dta"),
    Case("corrupt parquet", _bytes(b"PAR1 broken", "site.parquet"), "site.parquet"),
    Case("empty file", _bytes(b"", "site.csv"), "empty"),
    Case("header only", _bytes(b"sex,age,albumin\n", "site.csv"), "no data rows"),
    Case("unsupported extension", _bytes(b"{}", "site.json"), "unsupported"),
    Case("binary garbage as csv", _bytes(bytes(range(256)) * 40, "site.csv"), "site.csv"),
    Case("wrong delimiter", _wrong_delimiter, "site.csv"),
    Case("ragged rows", _edited_csv_lines(_extra_fields), "site.csv"),
    Case("duplicate column names", _edited_csv_lines(_rename_weight_to_height), "height"),
    Case("excel merged header rows", _excel_merged_header, "site.xlsx"),
    Case("excel sheet missing", _missing_sheet, "patients"),
    Case("korean headers without mapping", _korean_headers, "required column 'sex'"),
    Case("study names a column not in the data", _study_with_unknown_column,
         "required column 'cholesterol_total'"),
    Case("study file not YAML", _bad_yaml_study, "not valid YAML"),
    Case("missing required column", _csv(_frame().drop(columns=["albumin"])),
         "required column 'albumin'"),
    Case("text in a numeric column", _csv(_edit({("age", 3): "sixty"})),
         "column 'age', row 4, value 'sixty': not a number"),
    Case("mixed types", _csv(_edit({("creatinine", 2): "2,1"})), "column 'creatinine', row 3"),
    Case("value not a code", _csv(_edit({("sex", 5): 3})), "column 'sex', row 6, value 3"),
    Case("albumin in g/L", _csv(_edit({("albumin", 7): 38.0})), "a unit error?"),
    Case("negative dose", _csv(_edit({("total_dose", 1): -20.0})),
         "column 'total_dose', row 2, value -20.0: outside the plausible range"),
    Case("zero medication days", _csv(_edit({("medication_days", 0): 0})),
         "zero, so daily_dose cannot be derived"),
    Case("age out of range", _csv(_edit({("age", 9): 150})), "column 'age', row 10"),
    Case("daily dose inconsistent", _csv(_edit({("daily_dose", 4): 999.0})),
         "does not equal total_dose / medication_days"),
    Case("egfr outside its group", _csv(_with(lambda f: f.assign(
        egfr=f.egfr.where(f.ckd_group != 1, 45.0)))), "eGFR outside 15-30"),
    Case("neurotoxicity-only field filled", _csv(_with(lambda f: f.assign(
        seizure=f.seizure.fillna(0)))), "filled although neurotoxicity is not 1"),
    Case("duplicate ids", _csv(_with(lambda f: f.assign(
        patient_id=f.patient_id.where(f.index != 1, f.patient_id[0])))),
         "subject identifier appears more than once"),
    Case("zero events", _csv(_with(lambda f: f.assign(
        neurotoxicity=0, **{c: None for c in ("mental_change", "seizure", "onset_hours",
        "symptom_days", "icu", "icu_days", "ventilator", "ventilator_days", "therapeutic_hd",
        "therapeutic_hd_sessions", "crrt", "therapeutic_pd", "therapeutic_pd_days")}))),
         "no events"),
    Case("file not found", lambda raw: (raw / "nope.csv", []), "file not found"),
    # documented warnings: the run goes on
    Case("all-missing variable", _csv(_with(lambda f: f.assign(cholesterol=None))),
         "every value is missing", error=False),
    Case("single group present", _csv(_with(lambda f: f.loc[f.ckd_group == 1])),
         "only 1 group(s) present", error=False),
    Case("user-missing code honoured", _sav_with_user_missing_albumin, "", error=False),
]  # fmt: skip


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(tmp_path, case):
    raw = tmp_path / "data_raw"
    raw.mkdir()
    data, extra = case.make(raw)
    before = _checksums(raw)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "tables", str(data), "--out", str(out), *extra],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    text = done.stdout + done.stderr
    assert "Traceback" not in text
    assert _checksums(raw) == before, "data_raw/ was modified"
    assert case.expect in text, text[-1500:]
    if case.error:
        assert done.returncode == 2, text[-1500:]
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ")
        assert not out.exists() or not any(out.iterdir()), "output written despite the error"
    else:
        assert done.returncode == 0, text[-1500:]
        assert (out / "table2.json").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
