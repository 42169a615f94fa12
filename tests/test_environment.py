"""envs/analysis.yaml (conda) pins the same versions as requirements.lock."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pyyaml": "pyyaml"}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def _conda() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "envs" / "analysis.yaml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep.get("pip", []):
                name, version = pip_dep.split("==")
                pins[name.lower()] = version
        elif "=" in dep:
            name, version = dep.split("=", 1)
            pins[CONDA_TO_PYPI.get(name, name).lower()] = version
    return pins


def test_conda_environment_matches_the_lock_file():
    lock, conda = _lock(), _conda()
    conda.pop("python")
    mismatched = {k: (v, lock.get(k)) for k, v in conda.items() if lock.get(k) != v}
    assert mismatched == {}


def test_direct_dependencies_are_in_both():
    lock, conda = _lock(), _conda()
    for name in ("pandas", "scipy", "statsmodels", "pyreadstat", "seaborn", "snakemake"):
        assert name in lock
    for name in ("pandas", "scipy", "statsmodels", "pyreadstat", "seaborn"):
        assert name in conda
