"""Shared look of the figures: one colour-blind-safe palette, units, log ticks, saving.

Colours mean one thing everywhere: the codes of a grouping variable take the
Okabe-Ito colours in code order (so neurotoxicity No/Yes are the same two colours
in every figure); everything that is not a group is drawn in black and greys.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.atomic import atomic_path
from analysis.study import Variable

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "INK",
    "MUTED",
    "axis_label",
    "level_colours",
    "not_drawn",
    "plain_log_axis",
    "save_figure",
    "setup",
    "unit_text",
]

#: Okabe & Ito (2008), in the order codes take them: blue, vermillion, bluish green,
#: orange, sky blue, reddish purple, yellow, black.
OKABE_ITO = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#E69F00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#000000",
)
INK = "#000000"
MUTED = "#7F7F7F"
DPI = 300
#: Fixed so the SVG's element ids (and so its bytes) do not change between runs.
SVG_HASH_SALT = "analysis-figures"


def setup() -> None:
    """Agg backend and one theme, so every run draws with the same settings."""
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    matplotlib.rcParams["svg.hashsalt"] = SVG_HASH_SALT
    matplotlib.rcParams["font.family"] = "DejaVu Sans"


def level_colours(var: Variable) -> dict[str, str]:
    """Colour of each code's label: the palette in code order, the same in every figure."""
    return {label: OKABE_ITO[i % len(OKABE_ITO)] for i, label in enumerate(var.codes.values())}


def unit_text(unit: str) -> str:
    """Typeset a unit as written in the study file: ``kg/m2`` becomes ``kg/m²``."""
    text = re.sub(r"(?<=[A-Za-z])([23])\b", lambda m: "²" if m.group(1) == "2" else "³", unit)
    return re.sub(r"(?<=\d)(?=[A-Za-z]+[²³])", " ", text)


def axis_label(var: Variable) -> str:
    """The variable's label with its unit, for an axis."""
    return f"{var.label} ({unit_text(var.unit)})" if var.unit else var.label


def _plain(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def plain_log_axis(axis: Axis) -> None:
    """Log ticks at 1, 2, 5 x 10^k written as plain numbers (5, 10, 20, 50, 100)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(NullFormatter())


def not_drawn(reason: str) -> tuple[Figure, dict[str, str]]:
    """A small figure that says why there is nothing to draw, instead of a wrong one."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, f"Not drawn: {reason}", ha="center", va="center", wrap=True)
    return fig, {"not_drawn": reason}


def save_figure(fig: Figure, path: Path) -> list[Path]:
    """Write the PNG (300 dpi) and an SVG beside it, without dates or versions in them."""
    import matplotlib.pyplot as plt

    written = []
    for out, fmt, metadata in (
        (path, "png", {"Software": None}),
        (path.with_suffix(".svg"), "svg", {"Date": None, "Creator": None}),
    ):
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
        written.append(out)
    plt.close(fig)
    return written
