"""Shared reference data of the statistics tests (made by reference/make_fixtures.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF = Path(__file__).parent / "reference"


@pytest.fixture(scope="session")
def groups() -> dict[str, np.ndarray]:
    """Three samples a, b, c of reference/groups.csv."""
    d = pd.read_csv(REF / "groups.csv")
    return {k: d.loc[d.group == k, "value"].to_numpy() for k in ("a", "b", "c")}
