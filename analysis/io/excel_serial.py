"""Excel serial day numbers (the 1900 date system) as dates.

Excel stores a date as the number of days since 1900-01-00: 1 is 1900-01-01 and
43831 is 2020-01-01; a fraction is the time of day (43831.5 is 2020-01-01 12:00). A
CSV saved from a sheet whose date cells were formatted as numbers holds these numbers.

Excel counts a 29 February 1900 that never was (serial 60; a bug kept from Lotus
1-2-3). Serials from 61 on are therefore one day more than a plain count from
1900-01-01 would give, and this module converts them as Excel displays them: 1-59 are
1900-01-01 to 1900-02-28, 61 is 1900-03-01. Serial 60 is refused, as is anything
below 1 or after 2261-12-31 (132219; pandas dates end in April 2262). The 1904 date
system of old Mac workbooks is not supported (its serials are 1462 days smaller).

Whole numbers from 1000 to 2999 are refused too: in a date column they are far more
often a year (1950) than a day in 1902-1908.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FIRST_SERIAL", "LAST_SERIAL", "YEAR_LIKE", "from_serial", "year_like"]

FIRST_SERIAL = 1
LAST_SERIAL = 132_219  # 2261-12-31
YEAR_LIKE = (1000, 2999)
_EPOCH = np.datetime64("1899-12-30T00:00:00", "ns")  # serial 0 for serials from 61 on
_NS_PER_DAY = 86_400 * 10**9


def year_like(serials: np.ndarray) -> np.ndarray:
    """Which serials are whole numbers that read as a year (refused)."""
    s = np.asarray(serials, dtype="float64")
    return (s == np.floor(s)) & (s >= YEAR_LIKE[0]) & (s <= YEAR_LIKE[1])


def from_serial(serials: np.ndarray) -> np.ndarray:
    """``datetime64[ns]`` for each serial; NaT where it is not a valid Excel date.

    Invalid: NaN, below 1, serial 60 (1900-02-29), after 2261-12-31, or year-like.
    Times are rounded to the nearest millisecond, as Excel shows them.
    """
    s = np.asarray(serials, dtype="float64")
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(s)
            & (s >= FIRST_SERIAL)
            & (s < LAST_SERIAL + 1)
            & (np.floor(s) != 60)
            & ~year_like(s)
        )
    days = np.where(ok, s, 0.0)
    days = np.where(days < 60, days + 1, days)  # before the phantom 1900-02-29: one day back
    ms = np.rint(days * 86_400_000).astype("int64")
    out = _EPOCH + (ms * (_NS_PER_DAY // 86_400_000)).astype("timedelta64[ns]")
    return np.where(ok, out, np.datetime64("NaT", "ns"))
