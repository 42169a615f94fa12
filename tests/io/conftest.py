"""Helpers for the reader tests: every error must be one line, name the file, leave it intact."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from analysis.errors import DataError
from analysis.io import read_table

FIXTURES = Path(__file__).parent / "fixtures"


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


@pytest.fixture
def read_error() -> Callable[..., str]:
    """Read ``path`` expecting a DataError; check the message and that nothing was written."""

    def check(path: Path, *fragments: str, **options: object) -> str:
        before = _digest(path)
        listing = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
        with pytest.raises(DataError) as info:
            read_table(path, **options)
        message = str(info.value)
        assert "\n" not in message, message
        assert path.name in message, message
        for fragment in fragments:
            assert fragment in message, message
        assert _digest(path) == before, "the input file was modified"
        if listing:
            assert sorted(p.name for p in path.parent.iterdir()) == listing
        return message

    return check


@pytest.fixture
def read_ok() -> Callable[..., object]:
    """Read ``path`` with read_table and check the file's bytes are unchanged."""

    def check(path: Path, **options: object):
        before = _digest(path)
        result = read_table(path, **options)
        assert _digest(path) == before, "the input file was modified"
        return result

    return check
