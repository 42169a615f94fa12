"""Box plot of a continuous variable by a categorical one (the default figure kind).

The individual points are drawn over the boxes up to a few thousand rows; the n of
each group is in its tick label, so a reader sees how much data each box rests on.

Under a disclosure profile no single patient is drawn: no points and no fliers,
whiskers at the 5th and 95th percentiles (not at the extreme values), a group or
box with fewer patients than the threshold is left out (its tick says so), and the
n labels are rounded or hidden as in the tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.derive import apply_where
from analysis.disclosure import protect_line
from analysis.figures.style import axis_label, level_colours, plain_log_axis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.disclosure import Profile
    from analysis.figures import FigureInputs
    from analysis.study import Study

__all__ = ["draw_boxplot"]

POINTS_UP_TO = 5000
# Past this many rows the points beyond the whiskers are not drawn either: a registry's
# tens of thousands of them make an unreadable smear and a figure file of hundreds of MB.
FLIERS_UP_TO = 50_000
FLIERS_NOTE = "Boxes of {n:,} patients: points beyond the whiskers (1.5 IQR) not drawn"


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
    profile = inputs.disclosure
    ticks = [f"{label}\n(n = {counts[label]})" for label in x_order]
    if profile is not None:
        data, ticks, counts = _protected(data, x, colour_by, x_order, counts, profile)
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    many = len(data) > POINTS_UP_TO or profile is not None
    common = {"data": data, "x": x, "y": y, "hue": colour_by, "order": x_order,
              "hue_order": hue_order, "palette": palette, "ax": ax}  # fmt: skip
    if profile is None:
        fliers = many and len(data) <= FLIERS_UP_TO
        sns.boxplot(**common, showfliers=fliers, fill=False, legend=hue is not None, linewidth=1.2)
    else:
        _percentile_boxes(ax, data, x, y, colour_by, x_order, hue_order, palette, hue)
    if not many:
        np.random.seed(0)  # noqa: NPY002 - seaborn's jitter uses numpy's global generator
        sns.stripplot(**common, dodge=hue is not None, size=2.5, alpha=0.5, legend=False,
                      jitter=0.25)  # fmt: skip
    if spec.get("log_y"):
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
    ax.set_xticks(range(len(x_order)))
    ax.set_xticklabels(ticks)
    ax.set_xlabel(study.variables[x].label)
    ax.set_ylabel(axis_label(study.variables[y]))
    if hue and profile is None:
        ax.legend(title=study.variables[hue].label, frameon=False)
    elif hue:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=palette[h], linewidth=1.2, label=h) for h in hue_order]
        ax.legend(handles=handles, title=study.variables[hue].label, frameon=False)
    if profile is None:
        if len(data) > FLIERS_UP_TO:
            fig.text(0.01, 0.01, FLIERS_NOTE.format(n=len(data)), fontsize=6)
            fig.tight_layout(rect=(0, 0.04, 1, 1))
        else:
            fig.tight_layout()
        return fig, {"counts": counts, "n": len(data)}
    fig.text(0.01, 0.01, PROTECTED_NOTE.format(small=profile.small_label), fontsize=6)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig, {"counts": counts, "n": None}


PROTECTED_NOTE = (
    "Boxes: quartiles; whiskers: 5th and 95th percentiles; individual values not shown;\n"
    "groups or boxes with {small} not shown (disclosure control)"
)


def _percentile_boxes(ax, data, x, y, colour_by, x_order, hue_order, palette, hue) -> None:
    """Boxes whose every line is a stated percentile: quartiles and median, whiskers at
    the 5th and 95th. (Matplotlib's ``whis=(5, 95)`` stops a whisker at the last
    patient inside the percentile, i.e. at one patient's value.)"""
    levels = hue_order if hue else [None]
    width = 0.8 / len(levels)
    for i, label in enumerate(x_order):
        for j, level in enumerate(levels):
            rows = data[x] == label
            if hue:
                rows &= data[colour_by] == level
            values = data.loc[rows, y].to_numpy(dtype=float)
            if not len(values):
                continue
            p5, q1, med, q3, p95 = np.percentile(values, [5, 25, 50, 75, 95])
            stats = {"med": med, "q1": q1, "q3": q3, "whislo": p5, "whishi": p95, "fliers": []}
            colour = palette[level if hue else label]
            line = {"color": colour, "linewidth": 1.2}
            ax.bxp([stats], positions=[i - 0.4 + (j + 0.5) * width], widths=[width * 0.8],
                   showfliers=False, boxprops=line, whiskerprops=line, capprops=line,
                   medianprops=line, manage_ticks=False)  # fmt: skip
    ax.set_xlim(-0.5, len(x_order) - 0.5)
    ax.grid(axis="x", visible=False)


def _protected(
    data: pd.DataFrame, x: str, colour_by: str, x_order: list, counts: dict, profile: Profile
) -> tuple[pd.DataFrame, list[str], dict[str, int | None]]:
    """The rows that may be drawn, the tick labels and the n shown under ``profile``.

    An x group below the threshold, and a box (x, hue) below it, are dropped; the n
    shown are rounded when the profile rounds. The groups' total is published
    elsewhere (the tables), so when one n is hidden another is too (its box is drawn,
    its n is not), as in the tables.
    """
    sizes = data.groupby([x, colour_by], sort=False, observed=True).size()
    small_boxes = {key for key, size in sizes.items() if profile.is_small(int(size))}
    keep = pd.Series(
        [(a, b) not in small_boxes and not profile.is_small(counts.get(a, 0))
         for a, b in zip(data[x], data[colour_by], strict=True)],
        index=data.index, dtype=bool,
    )  # fmt: skip
    data = data[keep]
    states = protect_line({label: counts[label] for label in x_order}, profile)
    ticks, shown = [], {}
    for label in x_order:
        shown[label] = None if states[label] else profile.rounded(counts[label])
        if states[label] == "suppressed":
            ticks.append(f"{label}\n({profile.small_label}, not shown)")
        elif states[label]:  # the total less the others would give a hidden n back
            ticks.append(f"{label}\n(n not shown)")
        else:
            ticks.append(f"{label}\n(n = {shown[label]})")
    return data, ticks, shown
