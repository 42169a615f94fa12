"""Helpers for the derivation tests: a small study file written and loaded from a dict."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis.study import Study, load_study

StudyMaker = Callable[..., Study]


def study_dict(variables: list[dict[str, Any]], rows: list[str] | None = None) -> dict:
    """A valid study file around ``variables``: one listing table of ``rows``."""
    names = rows or [v["name"] for v in variables if v.get("type") not in ("id", "date")]
    return {
        "study": {"id": "toy", "title": "Toy"},
        "variables": variables,
        "tables": [{"id": "t1", "title": "All", "kind": "listing", "columns": names}],
    }


@pytest.fixture
def make_study(tmp_path: Path) -> StudyMaker:
    """``make_study(variables)`` -> the loaded Study (StudyFileError if refused)."""
    count = iter(range(1000))

    def make(variables: list[dict[str, Any]], rows: list[str] | None = None) -> Study:
        path = tmp_path / f"study{next(count)}.yaml"
        text = yaml.safe_dump(study_dict(variables, rows), sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        return load_study(path)

    return make
