"""Write a display grid as Markdown, CSV, an HTML fragment/page, Word or Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from analysis.atomic import atomic_path
from analysis.disclosure import Profile, apply_to_result
from analysis.render import DEFAULT_FORMATS, FORMATS
from analysis.render.grid import LISTING_MAX_ROWS, Cell, Grid, to_grid
from analysis.render.number_style import PAPER, NumberStyle
from analysis.render.safe import csv_cell, md_text
from analysis.render.typeset import superscript

__all__ = ["DEFAULT_FORMATS", "FORMATS", "render_result", "to_csv", "to_html", "to_markdown"]


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_cell(cell: Cell) -> str:
    """The cell escaped, its footnote letter a superscript character (no HTML tag)."""
    return md_text(cell) + superscript(cell.mark)


def to_markdown(grid: Grid) -> str:
    """A GitHub-flavoured Markdown table; every piece of text goes through md_text."""
    lines = [f"### {md_text(grid.caption)}", ""]
    if grid.withheld:
        lines += [md_text(f"Withheld: {grid.withheld}", line_start=True), ""]
    else:
        lines.append(_md_row([md_text(h) for h in grid.header]))
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(grid.header) - 1)) + "|")
        for row, level in zip(grid.rows, grid.indent, strict=True):
            first = ("&nbsp;&nbsp;" * level) + _md_cell(row[0])
            lines.append(_md_row([first] + [_md_cell(c) for c in row[1:]]))
        lines.append("")
    if grid.cap_note:
        lines += [md_text(grid.cap_note, line_start=True), ""]
    lines.extend(md_text(note, line_start=True) for note in grid.footnotes)
    return "\n".join(lines) + "\n"


# The tidy CSV: one line per number (or text cell), then one per note.
TIDY_COLUMNS = [
    "table", "title", "row", "label", "level", "column", "statistic", "value", "text",
    "footnote",
]  # fmt: skip


def to_csv(grid: Grid) -> str:
    """The table as tidy data: one line per number shown, with its footnote letter and
    the table's notes in columns of their own, never glued into a number.

    ``value`` is the number as the tables print it (same rounding); ``text`` is the
    printed cell. Header numbers (each group's n) are on row 0. Every text goes through
    csv_cell, so a label cannot become a live formula.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TIDY_COLUMNS)
    table = grid.number or ""
    title = csv_cell(grid.caption)

    def line(row: int | str, label: str, level: int | str, column: str, statistic: str,
             value: object, text: str, footnote: str = "") -> None:  # fmt: skip
        writer.writerow(
            [table, title, row, csv_cell(label), level, csv_cell(column), statistic,
             "" if value is None else value, csv_cell(text), footnote]
        )  # fmt: skip

    if grid.withheld:
        line("", "", "", "", "withheld", None, grid.withheld)
    for j, values in enumerate(grid.header_values):
        for statistic, value in values:
            line(0, grid.header[0] if grid.header else "", 0, grid.header[j], statistic,
                 value, grid.header[j])  # fmt: skip
    for i, (row, level) in enumerate(zip(grid.rows, grid.indent, strict=True), start=1):
        label = row[0]
        cells = list(zip(grid.header[1:], row[1:], strict=True))
        if not any(cell or cell.mark for _, cell in cells):
            line(i, label, level, "", "label", None, "")  # a heading row (a factor's name)
        for column, cell in cells:
            if cell.values:
                for statistic, value in cell.values:
                    line(i, label, level, column, statistic, value, cell, cell.mark)
            elif cell or cell.mark:
                line(i, label, level, column, "text", None, cell, cell.mark)
    if grid.cap_note:
        line("", "", "", "", "note", None, grid.cap_note)
    for note in grid.footnotes:
        line("", "", "", "", "note", None, note)
    return buffer.getvalue()


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("analysis", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
    )


def to_html(grid: Grid, standalone: bool = True) -> str:
    """The table as an HTML page (or a fragment); the template autoescapes every cell."""
    template = _environment().get_template("table.html")
    return template.render(grid=grid, standalone=standalone)


def render_result(
    result: dict[str, Any],
    out_base: str | Path,
    formats: Iterable[str] = DEFAULT_FORMATS,
    *,
    listing_max_rows: int | None = LISTING_MAX_ROWS,
    style: NumberStyle = PAPER,
    disclosure: Profile | None = None,
) -> list[Path]:
    """Write ``out_base``.<fmt> for each of ``formats``; return the paths.

    Every format prints the same grid. A listing shows at most
    ``listing_max_rows`` rows (``None``: all) in every format; the result
    itself is not changed.
    """
    if disclosure is not None:
        result = apply_to_result(result, disclosure)
    grid = to_grid(result, listing_max_rows=listing_max_rows, style=style)
    text = {"md": to_markdown, "csv": to_csv, "html": to_html}
    paths = []
    for fmt in formats:
        path = Path(f"{out_base}.{fmt}")
        # Word and Excel load their libraries only when asked for.
        if fmt == "docx":
            from analysis.render.docx import write_docx

            write_docx(grid, path)
        elif fmt == "xlsx":
            from analysis.render.xlsx import write_xlsx

            write_xlsx(grid, path)
        elif fmt == "tex":
            from analysis.render.latex import write_latex

            write_latex(grid, path)
        else:
            with atomic_path(path) as tmp:
                tmp.write_text(text[fmt](grid), encoding="utf-8")
        paths.append(path)
    return paths
