"""Make user-written text inert in the outputs a reader opens.

Labels, titles, level names and footnotes come from study files and data that
anyone may write, so every writer passes them through here:

- CSV: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  is a live formula to Excel and LibreOffice (OWASP, "CSV Injection"). Such a
  cell is prefixed with a single quote unless it is a plain number.
- Markdown: ``<``, ``>`` and ``&`` become entities (so no HTML tag is live) and
  the characters that make links, images, code, emphasis, table cells and
  headings are backslash-escaped (CommonMark escapes any ASCII punctuation).

HTML needs nothing here: jinja2 autoescaping does it in the templates.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the report imports this module without pandas
    import pandas as pd

__all__ = ["FORMULA_START", "csv_cell", "csv_column", "md_text"]

# OWASP's list of characters that open a formula in a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# A plain decimal number, as a spreadsheet reads it: "-1.5", "+3", "-2e-05".
# Anything else (e.g. "-0.3 (-1.0, 0.2)", a lone "-", "+1+2") is quoted: a
# spreadsheet may evaluate it, while a quoted cell shows the same text.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _is_live(value: Any) -> bool:
    return (
        isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value)
    )


def csv_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet will run as a formula; non-strings pass through."""
    return "'" + value if _is_live(value) else value


def csv_column(series: pd.Series) -> pd.Series:
    """:func:`csv_cell` over a column; the caller's series is never modified.

    Numeric columns are returned as they are (a number is never a formula);
    categorical columns have their categories neutralised.
    """
    import pandas as pd  # the caller has it already: imported here, not by the module

    if isinstance(series.dtype, pd.CategoricalDtype):
        fixed = [csv_cell(c) for c in series.cat.categories]
        if fixed == list(series.cat.categories):
            return series
        if len(set(fixed)) == len(fixed):
            return series.cat.rename_categories(fixed)
        series = series.astype(object)  # "'x" is already a category: neutralise cell by cell
    if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
        return series
    live = series.map(_is_live, na_action="ignore").fillna(False).astype(bool)
    if not live.any():
        return series
    out = series.copy()
    out[live] = "'" + series[live].astype(str)
    return out


# Characters that act inline in CommonMark / GitHub Markdown wherever they stand:
# backslash, code, emphasis, strikethrough, link and image brackets, table pipes;
# and "_" except inside a word, where it never acts (keeps "listing_max_rows" readable).
_MD_INLINE = re.compile(r"([\\`*~\[\]|]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
# At the start of a line: headings, block quotes (already &gt;), list items and
# setext underlines.
_MD_LINE_START = re.compile(r"^(\s*)([#+=-])")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])")  # "1." or "1)": escape the punctuation


def md_text(text: Any, line_start: bool = False) -> str:
    """``text`` as inert Markdown: no live HTML tag, link, image, code or table break.

    ``line_start`` marks text that begins a Markdown line (a paragraph or a
    footnote), where a leading ``#``, ``-``, ``+``, ``=`` or ``1.`` would act.
    A leading ``#`` is escaped everywhere. Line breaks become spaces, so a
    label cannot end a table row or start a block of its own.
    """
    # html.escape (quote=False) turns & < > into entities and keeps quotes
    # readable in the raw file; the Markdown escapes are a short regex, as no
    # installed library offers them.
    out = html.escape(" ".join(str(text).splitlines()), quote=False)
    out = _MD_INLINE.sub(r"\\\1", out)
    if line_start:
        out = _MD_LINE_START.sub(r"\1\\\2", out)
        out = _MD_ORDERED.sub(r"\1\\\2", out)
    elif out.lstrip().startswith("#"):
        out = out.replace("#", "\\#", 1)
    return out
