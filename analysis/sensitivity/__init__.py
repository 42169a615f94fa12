"""Sensitivity analyses of the study models (bootstrap, multiple imputation, calibration, ...).

Which analyses run, and with what options, is the study file's choice (its
``sensitivity:`` list); :func:`run_analysis` runs one entry. Each analysis returns a
results-JSON-like dict ending in a ``conclusion`` block: does the paper's conclusion
still hold under it?
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np

from analysis.errors import AnalysisError

__all__ = ["ANALYSES", "MAX_ROWS", "PART_LIMITED", "not_run", "run_analysis", "too_large"]

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

#: Largest cohort an analysis runs on unless its study-file entry sets ``max_rows``, and
#: why. Measured on 2 cores: the bootstrap takes 153 s and 8.7 GB at 20,000 rows (its
#: jackknife grows as n^2), the imputation 49 s at 50,000, Firth's fits 138 s at 10^6.
#: On larger cohorts the main model's own intervals are precise; the report says the
#: analysis was not run and why. The other analyses grow linearly with n and always run.
#: For an analysis in :data:`PART_LIMITED` the limit is that of one part of it: above it
#: the analysis runs without that part and says why where the part's numbers would be.
MAX_ROWS: dict[str, tuple[int, str]] = {
    "bootstrap": (5_000, "it refits the model on every resample and leave-one-out sample"),
    "imputation": (50_000, "it refits a chained-equations model per variable and cycle"),
    "models": (200_000, "Firth's penalised fits with profile-likelihood intervals take minutes "
               "per million rows, and the small-sample bias they correct shrinks as 1/n"),
}  # fmt: skip

#: analysis -> (keyword of its function that takes the reason the part is not run, what
#: the limit is of): ``models`` runs its maximum-likelihood fits on any cohort, its Firth
#: fits up to its limit.
PART_LIMITED: dict[str, tuple[str, str]] = {
    "models": ("firth_not_run", "Firth's fits run on"),
}

# Study-file option names that differ from the functions' keyword names.
_RENAMED = {"model": "model_id", "adjust": "adjustment", "per": "increments"}


def _kwargs(options: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in options.items():
        if key in ("id", "analysis", "title", "max_rows"):
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
    limit, why = MAX_ROWS.get(entry["analysis"], (None, ""))
    limit = entry.get("max_rows", limit)
    run = getattr(import_module(module), function)
    kwargs = {**_kwargs(entry), **overrides}
    if takes_results:
        kwargs["results"] = results
    try:
        if limit is not None and len(cohort) > limit:
            if entry["analysis"] in PART_LIMITED:
                keyword, what = PART_LIMITED[entry["analysis"]]
                kwargs[keyword] = too_large(len(cohort), limit, what, why)
            else:
                raise AnalysisError(too_large(len(cohort), limit, "this analysis runs on", why))
        out = run(cohort, study, **kwargs)
    except AnalysisError as exc:  # the data cannot support it: say so in the report
        out = not_run(entry, str(exc))
    except np.linalg.LinAlgError as exc:  # e.g. an imputation model singular on few rows
        out = not_run(entry, f"a model of the analysis is singular on these data ({exc})")
    out["id"] = entry.get("id", entry["analysis"])
    return out


def too_large(n: int, limit: int, what: str, why: str = "") -> str:
    """Why an analysis (``what``: "this analysis runs on") or a part of it is not run on a
    cohort of ``n`` rows, above its ``limit`` (:data:`MAX_ROWS`)."""
    return (
        f"the cohort's {n:,} rows are more than the {limit:,} {what} "
        f"(`max_rows` of its entry in the study file){': ' + why if why else ''}"
    )


def not_run(entry: dict[str, Any], reason: str) -> dict[str, Any]:
    """The result of an analysis these data cannot support (e.g. a model that separates):
    the report shows why, and the paper's conclusion is neither confirmed nor refuted."""
    name = entry["analysis"]
    return {
        "kind": "sensitivity",
        "analysis": name,
        "title": entry.get("title") or TITLES[name],
        "method": "",
        "not_run": reason,
        "conclusion": {
            "albumin_independent": None,
            "diabetic_nephropathy_independent": None,
            "holds": None,
            "text": f"Not run on these data: {reason}.",
        },
    }


#: Titles of analyses that could not run (a finished analysis gives its own).
TITLES = {
    "tests_switch": "Sensitivity of the summary tables to the choice of test",
    "models": "Sensitivity of the logistic model to Firth's correction, adjustment and scaling",
    "evalue": "E-values: robustness of the associations to unmeasured confounding",
    "bootstrap": "Bootstrap confidence intervals of the adjusted odds ratios",
    "imputation": "Multiple imputation versus complete cases",
    "calibration": "Calibration and discrimination",
    "dose_table": "Suggested starting doses and the toxic daily doses observed",
}
