"""Box plot of a continuous variable by a categorical one (the default figure kind).

The individual points are drawn over the boxes up to a few thousand rows; the n of
each group is in its tick label, so a reader sees how much data each box rests on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.derive import apply_where
from analysis.figures.style import axis_label, level_colours, plain_log_axis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.figures import FigureInputs
    from analysis.study import Study

__all__ = ["draw_boxplot"]

POINTS_UP_TO = 5000


def _labelled(frame: pd.DataFrame, study: Study, name: str) -> pd.Series:
    var = study.variables[name]
    return frame[name].map(var.codes) if var.codes else frame[name]


def draw_boxplot(spec: dict[str, Any], inputs: FigureInputs) -> tuple[Figure, dict[str, Any]]:
    """Boxes coloured by ``hue`` (or by ``x`` without one); returns the n of each box."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    study = inputs.study
    x, y, hue = spec["x"], spec["y"], spec.get("hue")
    colour_by = hue or x
    source = apply_where(inputs.cohort, spec.get("where"))
    data = pd.DataFrame({c: _labelled(source, study, c) for c in dict.fromkeys((x, colour_by))})
    data[y] = pd.to_numeric(source[y], errors="coerce")
    data = data.dropna()
    x_order = list(study.variables[x].codes.values())
    hue_order = list(study.variables[colour_by].codes.values())
    palette = level_colours(study.variables[colour_by])
    counts = {label: int((data[x] == label).sum()) for label in x_order}
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    many = len(data) > POINTS_UP_TO
    common = {"data": data, "x": x, "y": y, "hue": colour_by, "order": x_order,
              "hue_order": hue_order, "palette": palette, "ax": ax}  # fmt: skip
    sns.boxplot(**common, showfliers=many, fill=False, legend=hue is not None, linewidth=1.2)
    if not many:
        np.random.seed(0)  # noqa: NPY002 - seaborn's jitter uses numpy's global generator
        sns.stripplot(**common, dodge=hue is not None, size=2.5, alpha=0.5, legend=False,
                      jitter=0.25)  # fmt: skip
    if spec.get("log_y"):
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
    ax.set_xticks(range(len(x_order)))
    ax.set_xticklabels([f"{label}\n(n = {counts[label]})" for label in x_order])
    ax.set_xlabel(study.variables[x].label)
    ax.set_ylabel(axis_label(study.variables[y]))
    if hue:
        ax.legend(title=study.variables[hue].label, frameon=False)
    fig.tight_layout()
    return fig, {"counts": counts, "n": len(data)}
