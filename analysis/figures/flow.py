"""Cohort flow diagram (STROBE item 13c) from ``flow.json``.

One box per step with the n left, and beside it the rows that step excluded, split
into "could not be judged" (a value the criterion reads is missing) and "criterion
not met", as the flow table records them. Under a disclosure profile the steps come
protected (:func:`analysis.disclosure.apply_to_flow`): a hidden count reads
"suppressed".
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from analysis.figures.style import unit_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.figures import FigureInputs

__all__ = ["draw_flow", "exclusion_text"]

BOX = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "black", "linewidth": 1}
WRAP = 38


def _shown(value: Any) -> str:
    """A count as drawn: hidden by disclosure control reads "suppressed"."""
    return "suppressed" if value is None else str(value)


def exclusion_text(step: dict[str, Any]) -> str:
    """The exclusion box of a step: how many went and why."""
    lines = [f"Excluded (n = {_shown(step['excluded'])})"]
    if step["excluded"] or step["excluded"] is None:
        missing = step.get("missing_variables") or {}
        by = ", ".join(f"{name} {_shown(count)}" for name, count in missing.items())
        lines.append(
            f"value missing: {_shown(step['excluded_value_missing'])}" + (f" ({by})" if by else "")
        )
        lines.append(f"criterion not met: {_shown(step['excluded_not_met'])}")
    return "\n".join(textwrap.fill(line, WRAP) for line in lines)


def draw_flow(spec: dict[str, Any], inputs: FigureInputs) -> tuple[Figure, dict[str, Any]]:
    """Steps top to bottom, exclusions to the right; returns the texts drawn."""
    import matplotlib.pyplot as plt

    steps = inputs.flow_steps(spec)
    height = 1.3 * len(steps) + 0.4
    fig, ax = plt.subplots(figsize=(7.0, height))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, len(steps))
    ax.axis("off")
    texts: dict[str, list[str]] = {"steps": [], "excluded": []}
    for i, step in enumerate(steps):
        y = len(steps) - 0.5 - i
        label = textwrap.fill(unit_text(str(step["label"])), WRAP)
        text = f"{label}\nn = {_shown(step['n'])}"
        ax.text(0.3, y, text, ha="center", va="center", bbox=BOX, fontsize=8)
        texts["steps"].append(text)
        if i == 0:
            continue
        ax.annotate("", xy=(0.3, y + 0.3), xytext=(0.3, y + 0.7),
                    arrowprops={"arrowstyle": "->", "color": "black"})  # fmt: skip
        excluded = exclusion_text(step)
        ax.annotate("", xy=(0.6, y + 0.5), xytext=(0.3, y + 0.5),
                    arrowprops={"arrowstyle": "->", "color": "black"})  # fmt: skip
        ax.text(0.62, y + 0.5, excluded, ha="left", va="center", fontsize=7, bbox=BOX)
        texts["excluded"].append(excluded)
    return fig, texts
