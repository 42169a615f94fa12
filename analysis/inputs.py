"""One way in for every verb: read a file, apply the site mapping if any.

The validator, the derive step and the ``tables`` verb all see the same frame,
so a site's file gives the same answer whichever command reads it.

The frame carries ``frame.attrs["made_missing"]``: every cell that held something in
the file and is missing in the frame, as ``{"column", "reason", "count", "first_row"}``
records (column = the study's name after renaming; first_row = 1-based data row),
sorted by column and reason; an empty list when nothing was made missing. Cells that
were empty in the file are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.study import Study

__all__ = ["ReadOptions", "load_input"]


@dataclass(frozen=True)
class ReadOptions:
    """How to read the input file; ``None`` means detect."""

    sheet: str | int | None = None
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None

    def as_kwargs(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def load_input(
    path: str | Path,
    study: Study,
    mapping: str | Path | None = None,
    options: ReadOptions | None = None,
) -> pd.DataFrame:
    """The input as the study file names it: read, then mapped (renames, codes, units)."""
    from analysis.io import read_cohort
    from analysis.io._common import sort_made_missing

    kwargs = (options or ReadOptions()).as_kwargs()
    if study.max_cell_chars is not None:
        kwargs["max_cell_chars"] = study.max_cell_chars
    frame = read_cohort(path, **kwargs)
    if mapping:
        from analysis.mapping import apply_mapping, load_mapping

        frame = apply_mapping(frame, load_mapping(mapping), study)
    frame.attrs["made_missing"] = sort_made_missing(frame.attrs.get("made_missing", []))
    return frame
