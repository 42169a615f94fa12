"""Sensitivity analyses of the study models (bootstrap, multiple imputation, calibration, ...).

Which analyses run, and with what options, is the study file's choice (its
``sensitivity:`` list); :func:`run_analysis` runs one entry. Each analysis returns a
results-JSON-like dict ending in a ``conclusion`` block: does the paper's conclusion
still hold under it?
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["ANALYSES", "run_analysis"]

#: analysis name -> (module, function, takes the tables' results)
ANALYSES: dict[str, tuple[str, str, bool]] = {
    "tests_switch": ("analysis.sensitivity.tests_switch", "run_tests_switch", True),
    "models": ("analysis.sensitivity.models", "run_models", True),
    "evalue": ("analysis.sensitivity.evalue", "run_evalue", True),
    "bootstrap": ("analysis.sensitivity.bootstrap", "run_bootstrap", False),
    "imputation": ("analysis.sensitivity.imputation", "run_imputation", False),
    "calibration": ("analysis.sensitivity.calibration", "run_calibration", False),
    "dose_table": ("analysis.sensitivity.dose_table", "run_dose_table", True),
}

# Study-file option names that differ from the functions' keyword names.
_RENAMED = {"model": "model_id", "adjust": "adjustment", "per": "increments"}


def _kwargs(options: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in options.items():
        if key in ("id", "analysis", "title"):
            continue
        if key == "starting_doses":
            value = tuple({**d, "groups": tuple(d["groups"])} for d in value)
        elif isinstance(value, list):
            value = tuple(value)
        out[_RENAMED.get(key, key)] = value
    return out


def run_analysis(
    entry: dict[str, Any],
    cohort: Any,
    study: Any,
    results: dict[str, dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Run one ``sensitivity:`` entry of the study file; ``overrides`` win (e.g. workers)."""
    module, function, takes_results = ANALYSES[entry["analysis"]]
    run = getattr(import_module(module), function)
    kwargs = {**_kwargs(entry), **overrides}
    if takes_results:
        kwargs["results"] = results
    out = run(cohort, study, **kwargs)
    out["id"] = entry.get("id", entry["analysis"])
    return out
