"""Figures for the report, as the study file declares them (``figures:``).

Box plots drawn with seaborn on the Agg backend, with the individual points
up to a few thousand rows; PNG metadata is stripped so the same cohort gives
the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.derive import apply_where
from analysis.export import atomic_path
from analysis.study import Study

__all__ = ["draw_figures"]

POINTS_UP_TO = 5000


def _labelled(frame: pd.DataFrame, study: Study, name: str) -> pd.Series:
    var = study.variables[name]
    return frame[name].map(var.codes) if var.codes else frame[name]


def draw_figures(cohort: pd.DataFrame, study: Study, out_dir: str | Path) -> list[Path]:
    """Draw every declared figure; return the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    out_dir = Path(out_dir)
    sns.set_theme(style="whitegrid", context="paper")
    written = []
    for spec in study.figures:
        x, y, hue = spec["x"], spec["y"], spec.get("hue")
        source = apply_where(cohort, spec.get("where"))
        data = pd.DataFrame({c: _labelled(source, study, c) for c in (x, hue) if c})
        data[y] = pd.to_numeric(source[y], errors="coerce")
        data = data.dropna()
        x_order = list(study.variables[x].codes.values())
        hue_order = list(study.variables[hue].codes.values()) if hue else None
        fig, ax = plt.subplots(figsize=(5.5, 4.0))
        many = len(data) > POINTS_UP_TO
        sns.boxplot(
            data=data,
            x=x,
            y=y,
            hue=hue,
            order=x_order,
            hue_order=hue_order,
            ax=ax,
            showfliers=many,
            fill=False,
        )
        if not many:
            np.random.seed(0)  # noqa: NPY002 - seaborn's jitter uses numpy's global generator
            sns.stripplot(
                data=data,
                x=x,
                y=y,
                hue=hue,
                order=x_order,
                hue_order=hue_order,
                dodge=hue is not None,
                size=2.5,
                alpha=0.5,
                ax=ax,
                legend=False,
                jitter=0.25,
            )
        if spec.get("log_y"):
            ax.set_yscale("log")
        ax.set_xlabel(study.variables[x].label)
        ax.set_ylabel(study.variables[y].display_label())
        fig.tight_layout()
        path = out_dir / f"{spec['id']}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
        plt.close(fig)
        written.append(path)
    return written
