"""Delimited text (.csv, .tsv, .txt): guess the encoding and the delimiter, then let pandas read.

Rules (both can be overridden by the caller):

* Encoding: a byte-order mark decides (UTF-8 -> ``utf-8-sig``, UTF-16 -> ``utf-16``).
  Otherwise the first 64 KiB are decoded strictly as UTF-8, then CP949 (a superset of
  EUC-KR, used by Korean hospital systems), then Latin-1 (which never fails, so it comes
  last). CP949 is accepted only if at least half of the non-ASCII characters it decodes
  are Hangul, because Latin-1 accented text sometimes decodes as CP949 Hanja. If the
  sample is plain ASCII and a later byte is not UTF-8, the whole file is examined the
  same way; if the sample already had non-ASCII text, the file is refused instead of
  guessing again.
* Delimiter: ``csv.Sniffer`` on the first 20 lines, restricted to comma, semicolon, tab
  and pipe. If it fails, or picks a character absent from the header line, the candidate
  that occurs most often in the header line wins; a header with none of them is a
  one-column file.
* Missing values: only an empty cell is missing. pandas' default list ("NA", "N/A",
  "null", "NULL", "nan", "None", "#N/A", ...) is switched off, because those are real
  values for some sites (this study codes no dialysis as the text "None"): they stay
  text, so they either match a code of the site mapping or fail validation. A cell of
  only spaces is read as missing too, and counted in ``made_missing`` (reason
  "whitespace-only cell"). Codes a site uses for missing are declared in its mapping.
* Cell size: a cell longer than ``max_cell_chars`` characters is an error naming the
  column, the row and the length.
* A totals row ("합계", "Total", ...) is an error naming its row (``_totals``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.io._common import (
    MAX_CELL_CHARS,
    ReadResult,
    blank_whitespace,
    check_cell_lengths,
    check_names,
    drop_unnamed,
    reason,
    sort_made_missing,
)
from analysis.io._totals import refuse_totals_rows

__all__ = ["DELIMITERS", "ENCODINGS", "read_text"]

SAMPLE_BYTES = 64 * 1024
ENCODINGS = ("utf-8", "cp949", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_ALIASES = {name: char for char, name in _NAMES.items()} | {"\\t": "\t"}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def read_text(
    path: Path,
    fmt: str,
    *,
    encoding: str | None,
    delimiter: str | None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ReadResult:
    """Read a delimited text file with the header on its first line."""
    sample = _sample(path)
    if encoding is not None:
        enc = _known_encoding(path, encoding)
    else:
        enc = _detect(lambda: iter([sample]))
    if b"\x00" in sample and not enc.startswith("utf-16"):
        raise DataError(f"{path}: contains NUL bytes; a binary file, not delimited text?")
    try:
        text = codecs.getincrementaldecoder(enc)().decode(sample)
    except UnicodeDecodeError:
        raise DataError(_bad_text(path, enc)) from None
    if not text.strip():
        raise DataError(f"{path}: no content (only blank lines)")
    sep = _forced_delimiter(path, delimiter) if delimiter is not None else _sniff(text)
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep) if "".join(r).strip()]
    except csv.Error as exc:
        raise DataError(f"{path}: cannot parse the first lines: {reason(exc)}") from None
    # rows wider than the header get unnamed columns: pandas would otherwise silently turn
    # the leading column into the index (or drop the extra fields)
    width = max(len(row) for row in rows)
    header = [cell.strip() for cell in rows[0]] + [""] * (width - len(rows[0]))
    names = check_names(path, header, _column)
    try:
        frame = _read_csv(path, enc, sep, names)
    except UnicodeDecodeError:
        if encoding is not None or _NON_ASCII.search(text):
            raise DataError(_bad_text(path, enc)) from None
        enc = _detect(lambda: _chunks(path))
        try:
            frame = _read_csv(path, enc, sep, names)
        except UnicodeDecodeError:
            raise DataError(_bad_text(path, enc)) from None
    if frame.shape[1] == 1:
        others = [d for d in DELIMITERS if d != sep and d in frame.columns[0]]
        if others:
            raise DataError(
                f"{path}: read as a single column with delimiter {_show(sep)}, but the header "
                f"contains {_show(others[0])}; pass delimiter='{_NAMES[others[0]]}'"
            )

    def data_row(k: int) -> str:
        return f"data row {k + 1}"

    check_cell_lengths(path, frame, max_cell_chars, data_row)
    made_missing = blank_whitespace(frame, "whitespace-only cell")
    frame = drop_unnamed(path, frame, _column, data_row)
    refuse_totals_rows(str(path), frame, data_row)
    made_missing = sort_made_missing([e for e in made_missing if e["column"] in frame.columns])
    frame.attrs["made_missing"] = made_missing
    return ReadResult(
        frame=frame,
        source=str(path),
        format=fmt,
        encoding=enc,
        delimiter=sep,
        made_missing=made_missing,
    )


def _sample(path: Path) -> bytes:
    """The first 64 KiB, completed to the end of its line (if that line is not huge).

    The continuation is capped, and an unfinished last line left out, so a giant cell
    is neither loaded here nor handed to the ``csv`` module (whose field limit would
    raise an unhelpful error); pandas reads it and ``check_cell_lengths`` reports it.
    """
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        if sample.endswith(b"\n"):
            return sample
        sample += fh.readline(SAMPLE_BYTES - 1)
        if sample.endswith(b"\n") or not fh.read(1):
            return sample
    cut = sample.rfind(b"\n")
    if cut < 0:
        raise DataError(
            f"{path}: the first line is longer than {2 * SAMPLE_BYTES // 1024} KiB; "
            "not a delimited text file with a header line?"
        )
    return sample[: cut + 1]


def _read_csv(path: Path, enc: str, sep: str, names: list[str]) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            sep=sep,
            encoding=enc,
            header=0,
            names=names,
            index_col=False,
            low_memory=False,
            keep_default_na=False,  # "NA", "None", "null", ... are values, not missing
            na_values=[""],
        )
    except pd.errors.ParserError as exc:
        detail = reason(exc).removeprefix("Error tokenizing data. C error: ")
        raise DataError(f"{path}: cannot parse with delimiter {_show(sep)} ({detail})") from None


def _detect(chunks: Callable[[], Iterator[bytes]]) -> str:
    """The first encoding in ENCODINGS that decodes every chunk (after a BOM check)."""
    first = next(chunks(), b"")
    for bom, name in _BOMS:
        if first.startswith(bom):
            return name
    for name in ENCODINGS[:-1]:
        if _decodes(name, chunks()):
            return name
    return ENCODINGS[-1]


def _decodes(name: str, chunks: Iterable[bytes]) -> bool:
    decoder = codecs.getincrementaldecoder(name)()
    hangul = non_ascii = 0
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            if name == "cp949":
                hangul += len(_HANGUL.findall(text))
                non_ascii += len(_NON_ASCII.findall(text))
    except UnicodeDecodeError:
        return False
    return name != "cp949" or hangul * 2 >= non_ascii


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        yield from iter(lambda: fh.read(1 << 20), b"")


def _bad_text(path: Path, enc: str) -> str:
    """One line saying where the file stops being valid text in ``enc``."""
    where = ""
    if not enc.startswith("utf-16"):
        with path.open("rb") as fh:
            for n, line in enumerate(fh, start=1):
                try:
                    line.decode(enc)
                except UnicodeDecodeError as exc:
                    where = f" at line {n} (byte 0x{line[exc.start]:02x})"
                    break
    hint = "utf-8" if enc == "cp949" else "cp949"
    return f"{path}: not valid {enc} text{where}; pass the file's encoding, e.g. encoding='{hint}'"


def _known_encoding(path: Path, name: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise DataError(f"{path}: unknown encoding '{name}'") from None
    return name


def _forced_delimiter(path: Path, value: str) -> str:
    sep = _ALIASES.get(value.lower(), value)
    if len(sep) != 1:
        raise DataError(
            f"{path}: delimiter must be one character or comma/semicolon/tab/pipe, not '{value}'"
        )
    return sep


def _sniff(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0]
    try:
        sep = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sep = ""
    if sep and sep in header:
        return sep
    best = max(DELIMITERS, key=header.count)
    return best if header.count(best) else ","


def _column(i: int) -> str:
    return f"column {i + 1}"


def _show(sep: str) -> str:
    return _NAMES.get(sep, repr(sep))
