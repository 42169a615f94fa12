"""Read a cohort file (CSV, Parquet, SPSS, Stata) into a data frame.

Only ever reads: files under data_raw/ are opened read-only and never
rewritten. Errors name the file and what is wrong in one line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat

from analysis.errors import DataError

__all__ = ["read_cohort"]


def read_cohort(path: str | Path) -> pd.DataFrame:
    """The file as one row per subject; SPSS/Stata value codes are kept as numbers."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            frame = pd.read_csv(path, low_memory=False)
        elif suffix in (".sav", ".zsav"):
            frame, _ = pyreadstat.read_sav(str(path), user_missing=False)
        elif suffix == ".dta":
            frame, _ = pyreadstat.read_dta(str(path))
        else:
            raise DataError(f"{path}: unsupported file type '{path.suffix}'")
    except DataError:
        raise
    except Exception as exc:  # readers raise many types; the user needs one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: cannot read file ({reason})") from exc
    if frame.shape[0] == 0:
        raise DataError(f"{path}: no data rows (header only)")
    return frame
