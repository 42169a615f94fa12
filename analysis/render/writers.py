"""Write a display grid as Markdown, CSV, an HTML fragment/page, Word or Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from analysis.export import atomic_path
from analysis.render.grid import LISTING_MAX_ROWS, Grid, to_grid
from analysis.render.safe import csv_cell, md_text

__all__ = ["DEFAULT_FORMATS", "FORMATS", "render_result", "to_csv", "to_html", "to_markdown"]

FORMATS = ("md", "csv", "html", "docx", "xlsx")
# What the command line writes unless --formats says otherwise (config/config.yaml's too).
DEFAULT_FORMATS = ("md", "csv", "html")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def to_markdown(grid: Grid) -> str:
    """A GitHub-flavoured Markdown table; every piece of text goes through md_text."""
    lines = [f"### {md_text(grid.title)}", ""]
    lines.append(_md_row([md_text(h) for h in grid.header]))
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(grid.header) - 1)) + "|")
    for row, level in zip(grid.rows, grid.indent, strict=True):
        first = ("&nbsp;&nbsp;" * level) + md_text(row[0])
        lines.append(_md_row([first] + [md_text(c) for c in row[1:]]))
    lines.append("")
    if grid.cap_note:
        lines += [md_text(grid.cap_note, line_start=True), ""]
    lines.extend(md_text(note, line_start=True) for note in grid.footnotes)
    return "\n".join(lines) + "\n"


def to_csv(grid: Grid) -> str:
    """Header and rows (a capped listing ends with its note as a one-cell row).

    Every cell goes through csv_cell, so a label cannot become a live formula.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in grid.header])
    for row, level in zip(grid.rows, grid.indent, strict=True):
        # neutralised before indenting: some importers trim leading spaces
        writer.writerow([("  " * level) + csv_cell(row[0]), *(csv_cell(c) for c in row[1:])])
    if grid.cap_note:
        writer.writerow([csv_cell(grid.cap_note)])
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
) -> list[Path]:
    """Write ``out_base``.<fmt> for each of ``formats``; return the paths.

    Every format prints the same grid. A listing shows at most
    ``listing_max_rows`` rows (``None``: all) in every format; the result
    itself is not changed.
    """
    grid = to_grid(result, listing_max_rows=listing_max_rows)
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
        else:
            with atomic_path(path) as tmp:
                tmp.write_text(text[fmt](grid), encoding="utf-8")
        paths.append(path)
    return paths
