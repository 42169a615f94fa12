"""Missing-data overview: % missing of each study variable among the included patients.

A variable asked only of some patients (``only_if``, e.g. ICU days) counts only
the patients it applies to, as the tables do. Under a disclosure profile the
percentages come from protected counts: a missing count below the threshold is not
drawn (its label says so) and, when the profile rounds, both the missing count and
the patients it applies to are rounded first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.derive import apply_where
from analysis.figures.style import MUTED

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.disclosure import Profile
    from analysis.figures import FigureInputs
    from analysis.study import Study

__all__ = ["draw_missing", "percent_missing"]


def percent_missing(
    cohort: pd.DataFrame, study: Study, names: list[str] | None = None
) -> dict[str, float]:
    """{variable: % missing} in study-file order, among the rows each applies to."""
    if names is None:
        names = [n for n, v in study.variables.items() if not v.identifier and n in cohort]
    out = {}
    for name in names:
        rows = cohort
        only_if = study.variables[name].only_if
        if only_if:
            for ref, codes in only_if.items():
                rows = rows[rows[ref].isin(codes)]
        out[name] = 100.0 * float(rows[name].isna().mean()) if len(rows) else 0.0
    return out


def missing_counts(
    cohort: pd.DataFrame, study: Study, names: list[str] | None = None
) -> dict[str, tuple[int, int]]:
    """{variable: (missing, patients it applies to)}, as :func:`percent_missing` counts."""
    if names is None:
        names = [n for n, v in study.variables.items() if not v.identifier and n in cohort]
    out = {}
    for name in names:
        rows = cohort
        for ref, codes in (study.variables[name].only_if or {}).items():
            rows = rows[rows[ref].isin(codes)]
        out[name] = (int(rows[name].isna().sum()), len(rows))
    return out


def _protected_percent(
    cohort: pd.DataFrame, study: Study, names: list[str] | None, profile: Profile
) -> dict[str, float | None]:
    """% missing from protected counts; None where the missing count is hidden."""
    out: dict[str, float | None] = {}
    for name, (missing, applies) in missing_counts(cohort, study, names).items():
        if profile.is_small(missing) or profile.is_small(applies - missing):
            out[name] = None
            continue
        missing, applies = profile.rounded(missing), profile.rounded(applies)
        out[name] = 100.0 * missing / applies if applies else 0.0
    return out


def draw_missing(spec: dict[str, Any], inputs: FigureInputs) -> tuple[Figure, dict[str, Any]]:
    """Horizontal bars, one per variable, with the % written beside each."""
    import matplotlib.pyplot as plt

    study = inputs.study
    cohort = apply_where(inputs.cohort, spec.get("where"))
    profile = inputs.disclosure
    if profile is None:
        pct: dict[str, float | None] = dict(percent_missing(cohort, study, spec.get("variables")))
    else:
        pct = _protected_percent(cohort, study, spec.get("variables"), profile)
    names = list(pct)
    fig, ax = plt.subplots(figsize=(6.5, 1.0 + 0.22 * len(names)))
    positions = range(len(names) - 1, -1, -1)
    ax.barh(list(positions), [pct[n] or 0.0 for n in names], color=MUTED, height=0.7)
    top = max([*(v for v in pct.values() if v is not None), 1.0])
    hidden = f"not shown (a count {profile.below})" if profile else ""
    for y, name in zip(positions, names, strict=True):
        value = pct[name]
        text = hidden if value is None else f"{value:.1f}%"
        ax.text((value or 0.0) + top * 0.01, y, text, va="center", fontsize=6)
    ax.set_yticks(list(positions))
    ax.set_yticklabels([study.variables[n].label for n in names], fontsize=7)
    ax.set_xlim(0, top * 1.12)
    ax.set_ylim(-0.6, len(names) - 0.4)
    n: int | None = len(cohort)
    if profile is not None:
        n = None if profile.is_small(n) else profile.rounded(n)
    shown = "fewer than the threshold of" if n is None else f"the {n}"
    ax.set_xlabel(f"Missing (% of {shown} included patients it applies to)")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig, {"percent": pct, "n": n}
