"""Helpers shared by test modules (tests/ is on sys.path through its conftest.py)."""

from __future__ import annotations

import os
import shutil
import sys
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


#: The Snakemake beside this interpreter (the project's .venv/bin/snakemake).
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def workflow_copy(template: Path, work: Path) -> Path:
    """The workflow's files in a scratch folder, with an empty data_raw/."""
    shutil.copytree(template, work, dirs_exist_ok=True)
    (work / "data_raw").mkdir()
    (work / "data_raw" / "README.md").write_text("input files\n")
    return work
