"""Write a display grid as Markdown, CSV or an HTML fragment/page."""

from __future__ import annotations

import csv
import io
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from analysis.export import atomic_path
from analysis.render.grid import Grid, to_grid

__all__ = ["FORMATS", "render_result", "to_csv", "to_html", "to_markdown"]

FORMATS = ("md", "csv", "html")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(grid: Grid) -> str:
    lines = [f"### {grid.title}", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in grid.header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(grid.header) - 1)) + "|")
    for row, level in zip(grid.rows, grid.indent, strict=True):
        first = ("&nbsp;&nbsp;" * level) + _md_escape(row[0])
        lines.append("| " + " | ".join([first] + [_md_escape(c) for c in row[1:]]) + " |")
    lines.append("")
    lines.extend(grid.footnotes)
    return "\n".join(lines) + "\n"


def to_csv(grid: Grid) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(grid.header)
    for row, level in zip(grid.rows, grid.indent, strict=True):
        writer.writerow([("  " * level) + row[0], *row[1:]])
    return buffer.getvalue()


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("analysis", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
    )


def to_html(grid: Grid, standalone: bool = True) -> str:
    template = _environment().get_template("table.html")
    return template.render(grid=grid, standalone=standalone)


def render_result(result: dict[str, Any], out_base: str | Path, formats=FORMATS) -> list[Path]:
    """Write ``out_base``.md/.csv/.html for one result; return the paths."""
    grid = to_grid(result)
    writers = {"md": to_markdown, "csv": to_csv, "html": to_html}
    paths = []
    for fmt in formats:
        path = Path(f"{out_base}.{fmt}")
        with atomic_path(path) as tmp:
            tmp.write_text(writers[fmt](grid), encoding="utf-8")
        paths.append(path)
    return paths
