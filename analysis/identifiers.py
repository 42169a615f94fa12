"""Column headers recognised as direct identifiers: the one list, and how it is matched.

A column whose header is one of :data:`IDENTIFIER_HEADERS` is dropped as soon as a
file has been read and mapped (:func:`analysis.inputs.load_input`), unless the study
file names it as a variable (the study's own ``patient_id`` is kept to check for
duplicate patients and dropped by the derive step). docs/own-data.md lists the same
headers; a test checks that the two lists agree (:func:`markdown_list` writes the
documentation's block).

A header is recognised when, compared by :func:`analysis.names.loose_key` (NFKC,
case-folded, spaces, underscores, hyphens, dots and slashes ignored), it is a listed
header, or one of its words or runs of words is: ``Patient_Name``, ``PATIENT NAME``,
``환자 명``, ``patient_phone``, ``보호자 연락처`` and ``주민등록번호(앞 6자리)`` are all
recognised. Words are separated by spaces, underscores, hyphens, dots, slashes and
brackets; Korean written without a space (``환자주소``) is one word and is not taken
apart, so such headers go under ``drop`` in the mapping file.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from analysis.names import loose_key

__all__ = [
    "IDENTIFIER_HEADERS",
    "identifier_columns",
    "is_identifier_header",
    "markdown_list",
]

#: What each group is -> the headers in it, as a site would write them.
IDENTIFIER_HEADERS: dict[str, tuple[str, ...]] = {
    "names": (
        "name", "full name", "patient name", "first name", "last name", "surname",
        "given name", "family name",
        "이름", "성명", "환자명", "환자이름", "환자성명", "수진자명", "한글이름", "영문이름",
        "보호자명",
    ),
    "national identity numbers": (
        "SSN", "social security number", "RRN", "resident registration number",
        "resident number", "national ID", "passport number",
        "주민등록번호", "주민번호", "외국인등록번호", "여권번호",
    ),
    "hospital and record numbers": (
        "MRN", "medical record number", "hospital number", "hospital ID", "hospital no",
        "patient number", "patient no", "patient ID", "chart number", "chart no",
        "record number", "insurance number",
        "등록번호", "병록번호", "환자번호", "환자ID", "차트번호", "의무기록번호",
        "병원등록번호", "진료번호", "건강보험증번호",
    ),
    "dates of birth": (
        "date of birth", "birth date", "DOB", "birthday",
        "생년월일", "생일", "출생일", "출생일자",
    ),
    "contact details": (
        "phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell phone",
        "address", "home address", "postal code", "zip code", "email", "e-mail",
        "email address",
        "전화번호", "전화", "휴대폰", "휴대폰번호", "휴대전화", "핸드폰", "연락처",
        "보호자연락처", "주소", "우편번호", "이메일", "전자우편",
    ),
}  # fmt: skip

_WORDS = re.compile(r"[\s_\-./·()\[\]{}]+")
_KEYS = frozenset(loose_key(h) for group in IDENTIFIER_HEADERS.values() for h in group)


def _words(header: Any) -> list[str]:
    text = unicodedata.normalize("NFKC", str(header)).casefold()
    return [w for w in _WORDS.split(text) if w]


def is_identifier_header(header: Any) -> bool:
    """Whether ``header`` is, or has as words, a listed identifier header."""
    if loose_key(header) in _KEYS:
        return True
    words = _words(header)
    return any(
        "".join(words[i:j]) in _KEYS
        for i in range(len(words))
        for j in range(i + 1, len(words) + 1)
    )


def identifier_columns(columns: Any, keep: Any = ()) -> list[str]:
    """The columns named like a listed identifier, except those in ``keep``."""
    kept = set(keep)
    return [c for c in columns if c not in kept and is_identifier_header(c)]


def markdown_list() -> str:
    """The documentation's list: one line per group, headers in backquotes."""
    lines = []
    for group, headers in IDENTIFIER_HEADERS.items():
        lines.append(f"- **{group}**: " + ", ".join(f"`{h}`" for h in headers))
    return "\n".join(lines)
