"""Identifier headers: one list in analysis.identifiers, documented once, each one dropped."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from analysis.identifiers import IDENTIFIER_HEADERS, is_identifier_header, markdown_list
from analysis.inputs import load_input
from analysis.study import Study, load_study

ROOT = Path(__file__).resolve().parents[2]
OWN_DATA = ROOT / "docs" / "own-data.md"
ALL_HEADERS = [h for group in IDENTIFIER_HEADERS.values() for h in group]

#: The headers sites are known to use, written out here independently of the list.
REQUIRED = [
    "환자명", "성명", "이름", "주민등록번호", "주민번호", "등록번호", "병록번호", "환자번호",
    "생년월일", "전화번호", "연락처", "주소", "name", "patient name", "MRN",
    "hospital number", "date of birth", "DOB", "phone", "address", "email", "SSN",
]  # fmt: skip


@pytest.fixture(scope="module")
def study() -> Study:
    return load_study(ROOT / "studies" / "baclofen_ckd.yaml")


def test_the_known_headers_are_listed():
    listed = {h.casefold() for h in ALL_HEADERS}
    assert [h for h in REQUIRED if h.casefold() not in listed] == []
    assert len(ALL_HEADERS) == len({h.casefold() for h in ALL_HEADERS}), "listed twice"


def _csv(path: Path, headers: list[str]) -> Path:
    """One patient row: the study's sex and age, then a value under every header."""
    cells = [f"v{i}" for i in range(len(headers))]
    line = ",".join(['"' + h.replace('"', '""') + '"' for h in ["sex", "age", *headers]])
    path.write_text(f"{line}\n1,70,{','.join(cells)}\n", encoding="utf-8")
    return path


def test_every_listed_header_is_dropped(tmp_path, study):
    frame = load_input(_csv(tmp_path / "site.csv", ALL_HEADERS), study)
    assert list(frame.columns) == ["sex", "age"]
    assert frame.attrs["identifiers_dropped"] == [
        unicodedata.normalize("NFC", h) for h in ALL_HEADERS
    ]


@pytest.mark.parametrize(
    "header",
    [
        "Patient_Name", "PATIENT NAME", "patient-name", "PatientName", "환자 명", "환자_명",
        "주민등록번호(앞 6자리)", "E-Mail", "e_mail", "Date_of_Birth", "date of  birth",
        "Ｍ Ｒ Ｎ", "patient_phone", "보호자 연락처", "name [KR]",
    ],
)  # fmt: skip
def test_spellings_of_listed_headers_are_dropped(tmp_path, study, header):
    frame = load_input(_csv(tmp_path / "site.csv", [header]), study)
    assert list(frame.columns) == ["sex", "age"]


def test_decomposed_korean_header_is_dropped(tmp_path, study):
    header = unicodedata.normalize("NFD", "환자명")
    path = tmp_path / "mac.csv"
    path.write_bytes(f"sex,age,{header}\n1,70,홍길동\n".encode())
    frame = load_input(path, study)
    assert list(frame.columns) == ["sex", "age"]
    assert frame.attrs["identifiers_dropped"] == ["환자명"]


@pytest.mark.parametrize(
    "header", ["albumin", "sex", "total_dose", "ward", "신경독성", "처방사유", "nameless"]
)
def test_other_headers_are_kept(header):
    assert not is_identifier_header(header)


def test_study_variables_are_kept_even_when_named_like_identifiers(tmp_path, study):
    path = tmp_path / "site.csv"
    path.write_text("patient_id,sex,age,MRN\nP1,1,70,123\nP2,2,61,456\n", encoding="utf-8")
    frame = load_input(path, study)
    assert list(frame.columns) == ["patient_id", "sex", "age"]  # duplicates still checkable


def test_renamed_identifier_kept_as_the_study_id_and_counts_of_dropped_forgotten(tmp_path, study):
    data = tmp_path / "site.csv"
    data.write_text("환자번호,성명,sex\nA1,  ,1\nA2,홍길동,2\n", encoding="utf-8")
    mapping = tmp_path / "site.yaml"
    mapping.write_text("rename: {환자번호: patient_id}\n", encoding="utf-8")
    frame = load_input(data, study, mapping)
    assert list(frame.columns) == ["patient_id", "sex"]
    assert frame.attrs["identifiers_dropped"] == ["성명"]
    assert frame.attrs["made_missing"] == []  # the blank name cell went with its column


def test_validate_says_which_columns_were_dropped(tmp_path):
    from analysis.synth.generator import generate

    frame = generate(30, seed=4)
    frame.insert(1, "환자명", [f"이름{i}" for i in range(30)])
    frame.insert(2, "Phone", ["010-0000-0000"] * 30)
    path = tmp_path / "site.csv"
    frame.to_csv(path, index=False)
    out = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(path)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "note: identifier column(s) dropped: '환자명', 'Phone'" in out.stdout
    assert "이름1" not in out.stdout and "010-0000" not in out.stdout


# --------------------------------------------------------------------------- documented once


def _doc_block(text: str) -> str:
    match = re.search(
        r"<!-- identifier-headers:start.*?-->\n(.*?)\n<!-- identifier-headers:end -->", text, re.S
    )
    assert match, "docs/own-data.md has no identifier-headers block"
    return match.group(1).strip()


def test_docs_list_is_the_code_list():
    assert _doc_block(OWN_DATA.read_text(encoding="utf-8")) == markdown_list()


def test_readme_points_to_the_one_list():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/own-data.md#identifiers" in readme
    assert re.search(r"^#+ Identifiers$", OWN_DATA.read_text(encoding="utf-8"), re.M)
    quoted = set(re.findall(r"`([^`]+)`", readme))
    assert not quoted & set(ALL_HEADERS), "the README keeps a list of its own"
    assert not any(h in readme for h in ALL_HEADERS if not h.isascii())
