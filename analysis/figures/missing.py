"""Missing-data overview: % missing of each study variable among the included patients.

A variable asked only of some patients (``only_if``, e.g. ICU days) counts only
the patients it applies to, as the tables do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.derive import apply_where
from analysis.figures.style import MUTED

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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


def draw_missing(spec: dict[str, Any], inputs: FigureInputs) -> tuple[Figure, dict[str, Any]]:
    """Horizontal bars, one per variable, with the % written beside each."""
    import matplotlib.pyplot as plt

    study = inputs.study
    cohort = apply_where(inputs.cohort, spec.get("where"))
    pct = percent_missing(cohort, study, spec.get("variables"))
    names = list(pct)
    fig, ax = plt.subplots(figsize=(6.5, 1.0 + 0.22 * len(names)))
    positions = range(len(names) - 1, -1, -1)
    ax.barh(list(positions), [pct[n] for n in names], color=MUTED, height=0.7)
    top = max([*pct.values(), 1.0])
    for y, name in zip(positions, names, strict=True):
        ax.text(pct[name] + top * 0.01, y, f"{pct[name]:.1f}%", va="center", fontsize=6)
    ax.set_yticks(list(positions))
    ax.set_yticklabels([study.variables[n].label for n in names], fontsize=7)
    ax.set_xlim(0, top * 1.12)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel(f"Missing (% of the {len(cohort)} included patients it applies to)")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig, {"percent": pct, "n": len(cohort)}
