"""Forest plot: crude and adjusted odds ratios with 95% CIs of one model.

Drawn from the model's results JSON (the numbers the tables print), so the figure
cannot disagree with Table 4.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis.figures.style import INK, MUTED, not_drawn, plain_log_axis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.figures import FigureInputs

__all__ = ["draw_forest", "forest_rows"]


def forest_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per term: its label, the adjusted OR and CI, and the crude one if fitted."""
    crude_terms = {
        term["term"]: term for fit in (result.get("crude") or {}).values() for term in fit["terms"]
    }
    rows = []
    for term in result["terms"]:
        if term["term"] == "const":
            continue
        crude = crude_terms.get(term["term"])
        rows.append(
            {
                "term": term["term"],
                "label": result["term_labels"].get(term["term"], term["term"]),
                "adjusted": (term["odds_ratio"], term["ci_low"], term["ci_high"]),
                "crude": (crude["odds_ratio"], crude["ci_low"], crude["ci_high"])
                if crude
                else None,
            }
        )
    return rows


def draw_forest(spec: dict[str, Any], inputs: FigureInputs) -> tuple[Figure, dict[str, Any]]:
    """Each term on its own line, crude (grey, open) above adjusted (black, filled)."""
    import matplotlib.pyplot as plt

    result = inputs.result(spec)
    withheld = inputs.withheld(spec)
    if withheld:
        return not_drawn(withheld)
    rows = forest_rows(result)
    fig, ax = plt.subplots(figsize=(6.5, 1.4 + 0.7 * len(rows)))
    drawn: dict[str, list[tuple[str, float, float, float]]] = {"crude": [], "adjusted": []}
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        for fit, offset, colour, face in (
            ("crude", 0.15, MUTED, "white"),
            ("adjusted", -0.15, INK, INK),
        ):
            if row[fit] is None:
                continue
            odds, low, high = row[fit]
            if not all(isinstance(v, int | float) and 0 < v < float("inf") for v in row[fit]):
                # an OR or limit that does not exist (separation, a bound not found): the
                # table says so; a point or bar here would invent one
                drawn[fit].append((row["term"], odds, low, high))
                continue
            ax.errorbar(
                [odds], [y + offset], xerr=[[odds - low], [high - odds]], fmt="o",
                color=colour, markerfacecolor=face, capsize=3, linewidth=1.2,
                label=f"{fit.capitalize()} OR (95% CI)" if i == 0 else None,
            )  # fmt: skip
            drawn[fit].append((row["term"], odds, low, high))
    ax.axvline(1.0, color=MUTED, linestyle="--", linewidth=1)
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([row["label"] for row in reversed(rows)])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("Odds ratio (95% CI, log scale)")
    ax.grid(axis="y", visible=False)
    ax.legend(frameon=False, loc="best")
    fig.tight_layout()
    return fig, drawn
