"""Every table of a study in one file per submission format: Word, Excel, LaTeX.

Authors submit one document of tables, numbered as in the paper. The grids are the
same ones the per-table files print, so the numbers agree to the last character.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.disclosure import Profile, apply_to_result
from analysis.render.grid import LISTING_MAX_ROWS, Grid, to_grid
from analysis.render.number_style import PAPER, NumberStyle
from analysis.results import read_json
from analysis.study import Study

__all__ = ["order_results", "ordered_grids", "write_manuscript"]

_NUMBER = re.compile(r"([A-Za-z]*)(\d+)([a-z]?)")


def _order_key(result: dict[str, Any], position: dict[str, int]) -> tuple:
    """Numbered tables in the paper's order (1, 2, ..., then S1, S2), then the rest."""
    output_id = result.get("table") or result.get("model") or ""
    match = _NUMBER.fullmatch(str(result.get("number") or ""))
    if match:
        prefix, digits, suffix = match.groups()
        return (0, prefix.upper(), int(digits), suffix, position.get(output_id, 0))
    return (1, "", 0, "", position.get(output_id, 0))


def order_results(study: Study, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results in the order a reader expects them: by table number, then the study's."""
    position = {oid: i for i, oid in enumerate(study.output_ids())}
    return sorted(results, key=lambda r: _order_key(r, position))


def ordered_grids(
    study: Study,
    results: list[dict[str, Any]],
    *,
    listing_max_rows: int | None = LISTING_MAX_ROWS,
    style: NumberStyle = PAPER,
    disclosure: Profile | None = None,
) -> list[Grid]:
    """The results' grids in the paper's order, protected by ``disclosure`` if given."""
    ordered = order_results(study, results)
    if disclosure is not None:
        ordered = [apply_to_result(r, disclosure) for r in ordered]
    return [to_grid(r, listing_max_rows=listing_max_rows, style=style) for r in ordered]


def write_manuscript(
    study: Study,
    result_paths: list[Path],
    outputs: Mapping[str, Path],
    *,
    listing_max_rows: int | None = LISTING_MAX_ROWS,
    style: NumberStyle = PAPER,
    disclosure: Profile | None = None,
) -> list[Path]:
    """Write each of ``outputs`` (format "docx" | "xlsx" | "tex" -> path); return the paths."""
    grids = ordered_grids(
        study,
        [read_json(p) for p in result_paths],
        listing_max_rows=listing_max_rows,
        style=style,
        disclosure=disclosure,
    )
    written = []
    for fmt, path in outputs.items():
        if fmt == "docx":
            from analysis.render.docx import write_tables_docx

            written.append(write_tables_docx(grids, path))
        elif fmt == "xlsx":
            from analysis.render.xlsx import write_tables_xlsx

            written.append(write_tables_xlsx(_sheet_names(grids), path))
        elif fmt == "tex":
            from analysis.render.latex import write_tables_latex

            written.append(write_tables_latex(grids, path))
        else:
            raise ValueError(f"manuscript format '{fmt}' is not one of docx, xlsx, tex")
    return written


def _sheet_names(grids: list[Grid]) -> dict[str, Grid]:
    """A sheet per table, named "Table 2" when the study numbers it, else by its id."""
    return {(f"Table {g.number}" if g.number else g.id or g.title): g for g in grids}
