"""Figures for the report, as the study file declares them (``figures:``).

Each figure has a ``kind`` (``boxplot`` by default, ``forest``,
``predicted_probability``, ``flow``, ``missing``) and is saved as
``<out_dir>/<id>.png`` (300 dpi) with an SVG beside it. Dates and versions are
left out of both, so the same inputs give the same bytes.

With a disclosure profile (:mod:`analysis.disclosure`) every figure shows only what
the protected tables show: no individual values, no small groups, protected counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.disclosure import Profile, apply_to_flow, apply_to_result
from analysis.errors import AnalysisError
from analysis.figures.boxplot import draw_boxplot
from analysis.figures.calibration import draw_calibration
from analysis.figures.flow import draw_flow
from analysis.figures.forest import draw_forest
from analysis.figures.missing import draw_missing
from analysis.figures.predicted import draw_predicted_probability
from analysis.figures.style import save_figure, setup
from analysis.study import Study

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["KINDS", "FigureInputs", "draw_figure", "draw_figures", "figure_files"]


@dataclass
class FigureInputs:
    """What the figures are drawn from: the cohort, and the results and flow when needed."""

    cohort: pd.DataFrame
    study: Study
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    flow: dict[str, Any] | None = None
    disclosure: Profile | None = None

    def result(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The results JSON of the figure's model, or one line saying it was not given."""
        model = spec["model"]
        if model not in self.results:
            raise AnalysisError(
                f"figure {spec['id']}: the results of model '{model}' are needed "
                "(--results results/tables/" + model + ".json)"
            )
        return self.results[model]

    def withheld(self, spec: dict[str, Any]) -> str | None:
        """Why the disclosure profile withholds the figure's model, or None."""
        if self.disclosure is None:
            return None
        return apply_to_result(self.result(spec), self.disclosure).get("withheld")

    def flow_steps(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """The flow table's steps, or one line saying flow.json was not given."""
        if not self.flow or not self.flow.get("steps"):
            raise AnalysisError(f"figure {spec['id']}: the cohort flow is needed (--flow)")
        if self.disclosure is not None:
            return apply_to_flow(self.flow, self.disclosure)["steps"]
        return self.flow["steps"]


Drawer = Callable[[dict[str, Any], FigureInputs], "tuple[Figure, dict[str, Any]]"]
KINDS: dict[str, Drawer] = {
    "boxplot": draw_boxplot,
    "forest": draw_forest,
    "predicted_probability": draw_predicted_probability,
    "flow": draw_flow,
    "missing": draw_missing,
    "calibration": draw_calibration,
}


def figure_files(out_dir: str | Path, figure_id: str) -> list[Path]:
    """The files one figure writes: the PNG the workflow declares, and its SVG."""
    png = Path(out_dir) / f"{figure_id}.png"
    return [png, png.with_suffix(".svg")]


def draw_figure(spec: dict[str, Any], inputs: FigureInputs) -> tuple[Figure, dict[str, Any]]:
    """Draw one figure; returns the matplotlib figure and the numbers it shows."""
    setup()
    return KINDS[spec.get("kind", "boxplot")](spec, inputs)


def draw_figures(
    cohort: pd.DataFrame,
    study: Study,
    out_dir: str | Path,
    results: dict[str, dict[str, Any]] | None = None,
    flow: dict[str, Any] | None = None,
    disclosure: Profile | None = None,
) -> list[Path]:
    """Draw every declared figure; return the written PNG paths.

    ``disclosure``: a profile under which the figures may leave the site (see
    :mod:`analysis.disclosure`); None draws them as they are.
    """
    inputs = FigureInputs(cohort, study, results or {}, flow, disclosure)
    written = []
    for spec in study.figures:
        fig, _ = draw_figure(spec, inputs)
        written.append(save_figure(fig, figure_files(out_dir, spec["id"])[0])[0])
    return written
