"""Write a cohort to CSV, Parquet, SPSS .sav or Stata .dta, atomically.

Chunked formats (CSV, Parquet) stream chunk by chunk, so memory stays bounded
at any n. SPSS and Stata files are written by pyreadstat from one frame
(ReadStat has no append mode), with the study file's variable and value labels.
Every file is written under a temporary name and renamed when complete, so a
failed run never leaves a file that looks finished.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat

from analysis.atomic import all_or_nothing, atomic_path
from analysis.errors import AnalysisError
from analysis.render.safe import csv_cell, csv_column
from analysis.study import Study

# atomic_path and all_or_nothing live in analysis.atomic (a light module); imported here
# as they always were.
__all__ = ["FORMATS", "all_or_nothing", "atomic_path", "write_cohort"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".sav": "sav", ".dta": "dta"}

# Creation stamps that SPSS/Stata headers carry; fixed so outputs are byte-identical.
_SAV_STAMP = (92, b"01 Jan 70", b"00:00:00")  # after ncases (80) and bias (84)
_DTA_STAMP = re.compile(rb"<timestamp>\x11[^<]{17}</timestamp>")


def _labels(study: Study | None, columns: list[str]) -> tuple[dict, dict]:
    if study is None:
        return {}, {}
    column_labels = {}
    value_labels = {}
    for name in columns:
        var = study.variables.get(name)
        if var is None:
            continue
        column_labels[name] = var.display_label()
        if var.codes and all(isinstance(k, int) for k in var.codes):
            value_labels[name] = {int(k): v for k, v in var.codes.items()}
    return column_labels, value_labels


def _fix_stamp(path: Path, fmt: str) -> None:
    data = bytearray(path.read_bytes())
    if fmt == "sav":
        offset, date, time = _SAV_STAMP
        data[offset : offset + 9] = date
        data[offset + 9 : offset + 17] = time
    else:
        head = bytes(data[:4096])
        match = _DTA_STAMP.search(head)
        if match:
            data[match.start() : match.end()] = b"<timestamp>\x1101 Jan 1970 00:00</timestamp>"
    path.write_bytes(bytes(data))


def compact_codes(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The frame with each coded (categorical or binary) column that has no missing value
    and only whole codes within -128..127 stored as int8, the rest as they were.

    A coded column read as float64 takes 8 bytes a patient; as int8, one. The engine reads
    every column as float64 when it computes (``tables.numeric_values``), and an int8 code
    converts exactly, so the numbers are the same; a 10^7-row cohort is about 1 GB
    smaller in every job that reads it. Measurements stay float64: their values are
    recorded to several decimals (creatinine, CRP) and a float32 mean of 10^7 values
    would no longer match the paper's software to the digits the tables print.
    Columns with missing values keep NaN as float64 (pandas' nullable integers would
    change how every consumer sees a missing value)."""
    out = frame.copy(deep=False)
    for name in frame.columns:
        var = study.variables.get(name)
        column = frame[name]
        if var is None or not var.is_categorical or column.dtype.kind not in "fiu":
            continue
        values = column.to_numpy()
        if column.dtype.kind == "f" and (
            np.isnan(values).any() or not np.array_equal(values, np.round(values))
        ):
            continue
        if values.size and (values.min() < -128 or values.max() > 127):
            continue
        out[name] = values.astype(np.int8)
    return out


def write_cohort(
    chunks: Iterable[pd.DataFrame], out: str | Path, study: Study | None = None
) -> int:
    """Write the chunks to ``out`` (format from the extension); return the row count."""
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise AnalysisError(
            f"{out}: unknown output format '{out.suffix}' (use one of: {', '.join(FORMATS)})"
        )
    rows = 0
    with atomic_path(out) as tmp:
        if fmt == "csv":
            for i, chunk in enumerate(chunks):
                # Text cells and names that a spreadsheet would run as formulas are quoted
                # (analysis.render.safe, shared with the table writers); numbers are not.
                safe = chunk.copy(deep=False)  # the caller's frame is left as it was
                for j in range(chunk.shape[1]):
                    safe.isetitem(j, csv_column(chunk.iloc[:, j]))
                safe.columns = [csv_cell(str(name)) for name in chunk.columns]
                safe.to_csv(tmp, mode="w" if i == 0 else "a", header=i == 0, index=False)
                rows += len(chunk)
        elif fmt == "parquet":
            writer = None
            try:
                for chunk in chunks:
                    table = pa.Table.from_pandas(chunk, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                    rows += len(chunk)
            finally:
                if writer is not None:
                    writer.close()
        else:
            frame = pd.concat(list(chunks), ignore_index=True)
            rows = len(frame)
            column_labels, value_labels = _labels(study, list(frame.columns))
            writer_fn = pyreadstat.write_sav if fmt == "sav" else pyreadstat.write_dta
            writer_fn(
                frame, str(tmp), column_labels=column_labels, variable_value_labels=value_labels
            )
            _fix_stamp(tmp, fmt)
    return rows
