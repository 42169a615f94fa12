"""Helpers shared by test modules (tests/ is on sys.path through its conftest.py)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest


def write_text(path: Path, text: str) -> Path:
    """Write dedented text (a YAML or CSV file written inline in a test)."""
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def one_line(exc: pytest.ExceptionInfo, *parts: str) -> str:
    """The error is one line holding every one of ``parts``."""
    message = str(exc.value)
    assert "\n" not in message, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"
    return message


def env_without(bin_dir: Path) -> dict[str, str]:
    """This process's environment with ``bin_dir`` taken off PATH: a workflow started as
    ``.venv/bin/snakemake`` must find its interpreter without an activated environment."""
    keep = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and Path(p).resolve() != Path(bin_dir).resolve()]  # fmt: skip
    return {**os.environ, "PATH": os.pathsep.join(keep)}
