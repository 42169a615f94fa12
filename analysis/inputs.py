"""One way in for every verb: read a file, apply the site mapping if any.

The validator, the derive step and the ``tables`` verb all see the same frame,
so a site's file gives the same answer whichever command reads it.

Steps: read (:mod:`analysis.io`); map (:mod:`analysis.mapping`), or, without a mapping
file, only match SPSS/Stata value labels to the study's codes (:mod:`analysis.labels`;
with a mapping this happens at its recode step); then drop every column whose header
is a listed direct identifier (:mod:`analysis.identifiers`) unless the study file
names it.

The frame carries, in ``frame.attrs``:

``made_missing``
    every cell that held something in the file and is missing in the frame, as
    ``{"column", "reason", "count", "first_row"}`` records (column = the study's name
    after renaming; first_row = 1-based data row), sorted by column and reason; an
    empty list when nothing was made missing. Cells that were empty in the file are
    not listed.
``value_labels``
    every value of a labelled column that was recoded or kept by its label,
    ``{"column", "value", "label", "code", "code_label", "by", "count", "first_row"}``.
``identifiers_dropped``
    the names of the columns dropped as identifiers.
``file_columns``
    with a mapping, the export's own name of each column it renamed (study name ->
    name in the file), so an error can name the column the user can find.
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
    """The input as the study file names it: read, mapped, labels matched, identifiers gone."""
    from analysis.identifiers import identifier_columns
    from analysis.io import read_table
    from analysis.io._common import sort_made_missing
    from analysis.labels import apply_value_labels

    kwargs = (options or ReadOptions()).as_kwargs()
    if study.max_cell_chars is not None:
        kwargs["max_cell_chars"] = study.max_cell_chars
    result = read_table(path, **kwargs)
    frame = result.frame
    if mapping:
        from analysis.mapping import apply_mapping, load_mapping

        frame = apply_mapping(
            frame,
            load_mapping(mapping),
            study,
            value_labels=result.value_labels,
            source=str(path),
        )
        matched = frame.attrs.get("value_labels", [])
    else:
        made_missing = frame.attrs.get("made_missing", [])
        frame, matched = apply_value_labels(frame, result.value_labels, study, source=str(path))
        frame.attrs["made_missing"] = made_missing
    dropped = identifier_columns(frame.columns, keep=study.variables)
    made_missing = [
        e for e in frame.attrs.get("made_missing", []) if e["column"] not in set(dropped)
    ]
    frame = frame.drop(columns=dropped)
    frame.attrs["made_missing"] = sort_made_missing(made_missing)
    frame.attrs["value_labels"] = matched
    frame.attrs["identifiers_dropped"] = [str(c) for c in dropped]
    return frame
