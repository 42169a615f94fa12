"""Calibration plot of a model: observed against predicted risk by group of risk.

Drawn from :func:`analysis.sensitivity.calibration.run_calibration` (the numbers of the
calibration results JSON): one point per Hosmer-Lemeshow risk group (deciles of the
fitted probabilities, ties kept together) at its mean predicted probability and
observed proportion with the Wilson 95% CI, the line of identity, and a lowess smooth
of the outcome on the predicted probability. The legend carries the Hosmer-Lemeshow
test and the c-statistic with its DeLong 95% CI.

Study-file entry::

    - id: table4_calibration
      kind: calibration
      model: table4
      groups: 10            # optional, risk groups (default 10)
      caption: ...

If the figure inputs hold the calibration results (``results["<model>_calibration"]``,
or the key the spec names as ``results``) they are drawn; otherwise they are computed
from the cohort. Under a disclosure profile the lowess curve (which follows individual
patients) is left out, and so is a risk group whose patients, events or non-events
are a count the profile hides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis.figures.style import INK, MUTED, not_drawn

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.figures import FigureInputs

__all__ = ["calibration_data", "draw_calibration"]


def calibration_data(spec: dict[str, Any], inputs: FigureInputs) -> dict[str, Any]:
    """The calibration results the figure shows (given, or computed from the cohort)."""
    key = spec.get("results", f"{spec['model']}_calibration")
    given = inputs.results.get(key)
    if given is not None and given.get("analysis") == "calibration":
        return given
    from analysis.sensitivity.calibration import run_calibration

    return run_calibration(
        inputs.cohort, inputs.study, spec["model"], groups=int(spec.get("groups", 10))
    )


def draw_calibration(spec: dict[str, Any], inputs: FigureInputs) -> tuple[Figure, dict[str, Any]]:
    """Risk-group points with CIs, the diagonal and the lowess curve, on [0, max] axes."""
    import matplotlib.pyplot as plt

    from analysis.errors import AnalysisError

    if inputs.disclosure is not None and spec["model"] in inputs.results:
        withheld = inputs.withheld(spec)
        if withheld:
            return not_drawn(withheld)
    try:
        result = calibration_data(spec, inputs)
    except AnalysisError as exc:  # no ML fit to calibrate: say so instead of failing the run
        return not_drawn(str(exc))
    protected = inputs.disclosure is not None
    groups = result["groups"]
    hidden = []
    if protected:
        # a group's point and CI give away its patients, events and non-events: drawn
        # only when none of the three is a count the profile hides
        profile = inputs.disclosure

        def small(g: dict[str, Any]) -> bool:
            return any(profile.is_small(v) for v in (g["n"], g["events"], g["n"] - g["events"]))

        hidden = [g["group"] for g in groups if small(g)]
        groups = [g for g in groups if not small(g)]
    fig, ax = plt.subplots(figsize=(5.0, 5.0))
    xs = [g["predicted"] for g in groups]
    ys = [g["observed"] for g in groups]
    upper = [g["observed_ci_high"] for g in groups]
    top = max([*xs, *upper, *(result["lowess"]["observed"] if not protected else [])], default=1)
    limit = min(1.0, 1.05 * top) if top > 0 else 1.0
    ax.plot([0, limit], [0, limit], color=MUTED, linestyle="--", linewidth=1,
            label="Perfect calibration")  # fmt: skip
    if not protected:
        ax.plot(result["lowess"]["predicted"], result["lowess"]["observed"], color=MUTED,
                linewidth=1.5, label="Lowess smooth")  # fmt: skip
    ax.errorbar(
        xs, ys,
        yerr=[[max(0.0, o - g["observed_ci_low"]) for o, g in zip(ys, groups, strict=True)],
              [max(0.0, g["observed_ci_high"] - o) for o, g in zip(ys, groups, strict=True)]],
        fmt="o", color=INK, markerfacecolor=INK, capsize=3, linewidth=1.2,
        label="Risk group: observed (95% CI)",
    )  # fmt: skip
    hl, c = result["hosmer_lemeshow"], result["c_statistic"]
    lines = []
    if hl.get("p_value") is not None:
        lines.append(f"Hosmer-Lemeshow χ² = {hl['statistic']:.2f}, df = {hl['df']}, "
                     f"p = {hl['p_value']:.3f}")  # fmt: skip
    lines.append(f"c = {c['auc']:.3f} (95% CI {c['ci_low']:.3f}-{c['ci_high']:.3f})")
    ax.text(0.98, 0.02, "\n".join(lines), transform=ax.transAxes, ha="right", va="bottom",
            fontsize="small")  # fmt: skip
    # a little room below 0 so a group with no events is not cut in half by the axis
    ax.set_xlim(-0.02 * limit, limit)
    ax.set_ylim(-0.02 * limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("Predicted probability (mean of the risk group)")
    ax.set_ylabel("Observed proportion")
    ax.legend(frameon=False, loc="upper left", fontsize="small")
    if hidden:
        fig.text(0.01, 0.01, f"{len(hidden)} risk group(s) with a count "
                 f"({inputs.disclosure.small_label}) not drawn; lowess curve not shown "
                 "(disclosure control)", fontsize=6)  # fmt: skip
    elif protected:
        fig.text(0.01, 0.01, "Lowess curve not shown (disclosure control)", fontsize=6)
    fig.tight_layout()
    return fig, {"groups": groups, "lowess": None if protected else result["lowess"],
                 "hosmer_lemeshow": hl, "c_statistic": c, "hidden_groups": hidden}  # fmt: skip
