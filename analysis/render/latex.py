"""Write display grids as LaTeX: booktabs rules, threeparttable notes, Jinja2 templates.

Each table is a ``table`` float in a ``threeparttable``: the caption as every
other format prints it ("Table 2. <title>"), ``\\toprule``, the header,
``\\midrule``, the rows (a level-1 row indented by ``\\quad``), ``\\bottomrule``
and a ``tablenotes`` list: the footnote naming each row's test as
``\\item[a]`` (the same letter as the ``\\textsuperscript{a}`` after the cell),
every other note as ``\\item[]``. A table of more than ``LANDSCAPE_COLUMNS``
columns is set in a ``landscape`` environment (pdflscape); a table of more
than ``LONGTABLE_ROWS`` rows is a ``longtable`` (in threeparttablex's
``ThreePartTable``) whose header repeats on every page.

Every piece of text (caption, header, cells, marks, notes) goes through
:func:`tex_text` before it reaches the output: the templates' environment
escapes every ``((( … )))`` expression unless it is :class:`TeX` (text this
module has already escaped). A label such as ``\\input{/etc/passwd}`` is
printed as it is written, never run.

A fragment from :func:`to_latex` expects the preamble of
:func:`to_latex_document` (see ``PACKAGES``), in particular
``\\captionsetup{labelformat=empty}``: the caption text carries its own
"Table 2." (and ``\\thetable`` is set to the table's number, so ``\\ref``
prints it too).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from analysis.atomic import atomic_path
from analysis.render.grid import Cell, Grid

__all__ = [
    "HEADER_MIN_WIDTH",
    "LONGTABLE_ROWS",
    "PACKAGES",
    "TeX",
    "tex_text",
    "to_latex",
    "to_latex_document",
    "write_latex",
    "write_tables_latex",
]

# Tables of more rows than this are longtables: they break across pages and repeat
# their header. (Table 2 of the paper, ~40 rows, still fits one portrait page.)
LONGTABLE_ROWS = 50

# A heading is broken into lines no longer than its column's widest cell, or this.
HEADER_MIN_WIDTH = 8

# The packages a table needs, in the order the document loads them.
PACKAGES = (
    r"\usepackage[T1]{fontenc}",
    r"\usepackage{lmodern}",  # scalable Type 1 fonts: no bitmap fonts made at compile time
    r"\usepackage[utf8]{inputenc}",
    r"\usepackage{textcomp}",
    r"\usepackage[a4paper,margin=2cm]{geometry}",
    r"\usepackage{booktabs}",
    r"\usepackage{threeparttable}",
    r"\usepackage{longtable}",
    r"\usepackage{threeparttablex}",
    r"\usepackage{pdflscape}",
    r"\usepackage{graphicx}",
    r"\usepackage{caption}",
    r"\captionsetup{labelformat=empty,labelsep=none,justification=raggedright,"
    r"singlelinecheck=false,skip=4pt}",
    r"\newsavebox{\gridbox}",  # a landscape table, measured to shrink it to the page
)


class TeX(str):
    """Text that is already LaTeX (escaped by this module): the templates print it as is."""


# The ten specials, the brackets (an optional argument after \\, \item or \midrule)
# and the Unicode the tables print, each as text that typesets it and does nothing else.
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "[": "{[}",
    "]": "{]}",
    "±": r"\textpm{}",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "≠": r"$\neq$",
    "≈": r"$\approx$",
    "×": r"\texttimes{}",
    "÷": r"\textdiv{}",
    "–": "{--}",
    "—": "{---}",
    "−": "$-$",
    "·": r"\textperiodcentered{}",
    "µ": r"\textmu{}",  # micro sign
    "μ": r"\textmu{}",  # Greek small mu, as typed for µg
    "°": r"\textdegree{}",
    "€": r"\texteuro{}",
    "…": r"\dots{}",
    "‰": r"\textperthousand{}",
    "\u00a0": "~",  # no-break space
    "\u202f": "~",  # narrow no-break space (thousands in some styles)
    "\u2009": r"\,",  # thin space
}
_SUPERSCRIPTS = dict(
    zip(
        "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻",
        "abcdefghijklmnoprstuvwxyz0123456789+-",
        strict=True,
    )
)
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋", "0123456789+-", strict=True))
_SPECIAL.update({k: rf"\textsuperscript{{{v}}}" for k, v in _SUPERSCRIPTS.items()})
_SPECIAL.update({k: rf"\textsubscript{{{v}}}" for k, v in _SUBSCRIPTS.items()})
_SPECIAL["⁻"] = r"\textsuperscript{$-$}"
_SPECIAL["₋"] = r"\textsubscript{$-$}"
_ESCAPE = re.compile("|".join(re.escape(ch) for ch in _SPECIAL))
# Line breaks, tabs and other control characters: a blank line would end a table cell's
# paragraph (an error in a tabular), a form feed or NUL is invalid input.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def tex_text(text: Any) -> TeX:
    """``text`` as inert LaTeX: it typesets as written and runs no command.

    Every special character becomes a command that prints it, so no backslash,
    brace, ``$``, ``%``, ``#``, ``&``, ``^`` (nor ``^^5c``), ``~`` or ``_`` from the
    input reaches TeX as itself; line breaks and control characters become spaces.
    The Unicode the tables print (±, ≥, ≤, ×, en and em dashes, minus, ², ₂, ·, µ,
    superscript letters, no-break space) becomes a safe command; any other
    non-ASCII character is passed to inputenc as it is.
    """
    if text is None:
        return TeX("")
    if isinstance(text, TeX):
        return text
    out = _CONTROL.sub(" ", unicodedata.normalize("NFC", str(text)))
    return TeX(_ESCAPE.sub(lambda m: _SPECIAL[m.group()], out))


def _label(grid: Grid) -> TeX:
    """``tab:<id>`` with only characters that are safe in a label (and an aux file)."""
    ident = re.sub(r"[^A-Za-z0-9:._-]+", "-", grid.id or grid.number or "table")
    return TeX(f"tab:{ident}")


def _cell(cell: Cell | str, level: int = 0) -> TeX:
    """A cell escaped, its footnote letter a superscript after it, indented by level."""
    text = r"\quad " * level + tex_text(cell)
    mark = getattr(cell, "mark", "")
    if mark:
        text += rf"\textsuperscript{{{tex_text(mark)}}}"
    return TeX(text)


def _header_cell(text: str, width: int, align: str) -> TeX:
    """A header cell broken into lines of about ``width`` characters (the column's widest
    cell), stacked in a bottom-aligned tabular so long headings do not widen the table."""
    lines: list[str] = []
    for word in re.split(r"(?<!=)\s+(?!=)", str(text).strip()):  # "(n = 12)" stays whole
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) <= 1:
        return tex_text(text)
    body = r" \\ ".join(_line_start(tex_text(line)) for line in lines)
    return TeX(rf"\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}{body}\end{{tabular}}")


def _header(grid: Grid) -> TeX:
    """The header row; each heading wrapped to its column's widest body cell (at least
    ``HEADER_MIN_WIDTH`` characters)."""
    cells = []
    for j, heading in enumerate(grid.header):
        body = [len(row[j]) + len(getattr(row[j], "mark", "")) for row in grid.rows if j < len(row)]
        width = max([HEADER_MIN_WIDTH, *body])
        cells.append(_header_cell(heading, width, "l" if j == 0 else "c"))
    return _row(cells)


def _line_start(text: TeX) -> TeX:
    """Text that follows a ``\\\\``: a leading ``*`` would be read as ``\\\\*`` and lost."""
    return TeX("{}" + text) if text.startswith("*") else text


def _row(cells: Iterable[TeX]) -> TeX:
    cells = list(cells)
    if cells:
        cells[0] = _line_start(cells[0])
    return TeX(" & ".join(cells) + r" \\")


_LETTER_NOTE = re.compile(r"([a-z]) (.+)", re.DOTALL)


def _notes(grid: Grid) -> list[tuple[TeX, TeX]]:
    """(tag, text) of each note: a test's letter for "a Student's t-test.", else none."""
    marks = {cell.mark for row in grid.rows for cell in row if getattr(cell, "mark", "")}
    notes = [(TeX(""), tex_text(grid.cap_note))] if grid.cap_note else []
    for note in grid.footnotes:
        match = _LETTER_NOTE.fullmatch(note)
        if match and match.group(1) in marks:
            notes.append((tex_text(match.group(1)), tex_text(match.group(2))))
        else:
            notes.append((TeX(""), tex_text(note)))
    return notes


def _finalize(value: Any) -> Any:
    """Applied by jinja2 to every ``((( … )))``: text not already TeX is escaped."""
    return value if isinstance(value, TeX) else tex_text(value)


@cache
def _environment() -> jinja2.Environment:
    """Templates with delimiters that never clash with TeX braces or percent signs."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("analysis", "templates"),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        line_statement_prefix=None,
        line_comment_prefix=None,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
    )


def _context(grid: Grid) -> dict[str, Any]:
    from analysis.render.docx import LANDSCAPE_COLUMNS  # loads python-docx: not at import

    columns = len(grid.header)
    landscape = columns > LANDSCAPE_COLUMNS
    very_wide = columns > 2 * LANDSCAPE_COLUMNS
    size = r"\scriptsize" if very_wide else r"\footnotesize" if landscape else r"\small"
    indent = grid.indent or [0] * len(grid.rows)
    return {
        "grid": grid,
        "label": _label(grid),
        "columns": columns,
        "colspec": TeX("l" + "c" * max(columns - 1, 0)),
        "landscape": landscape,
        "long": len(grid.rows) > LONGTABLE_ROWS,
        "size": TeX(size),
        "tabcolsep": TeX("2pt" if very_wide else "3pt"),
        "header": _header(grid),
        "rows": [
            _row(_cell(c, level if j == 0 else 0) for j, c in enumerate(row))
            for row, level in zip(grid.rows, indent, strict=True)
        ],
        "notes": _notes(grid),
    }


def to_latex(grid: Grid) -> str:
    """One table as a LaTeX fragment (a float, or a longtable; landscape when wide)."""
    return _environment().get_template("table.tex").render(**_context(grid))


def to_latex_document(grids: Iterable[Grid]) -> str:
    """A standalone article with every table, one to a page, that pdflatex compiles."""
    tables = [TeX(to_latex(grid)) for grid in grids]
    return (
        _environment().get_template("tables.tex").render(packages=map(TeX, PACKAGES), tables=tables)
    )


def write_latex(grid: Grid, path: str | Path) -> Path:
    """Write one table's fragment to ``path`` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(to_latex(grid), encoding="utf-8")
    return path


def write_tables_latex(grids: Iterable[Grid], path: str | Path) -> Path:
    """Write a standalone document of every table to ``path`` atomically."""
    path = Path(path)
    text = to_latex_document(grids)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
