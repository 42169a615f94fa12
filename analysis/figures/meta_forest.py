"""Meta-analysis forest plot: one model term's odds ratio at each site and pooled.

One row per site (a square sized by its random-effects weight, its 95% CI as a
line), then the fixed-effect and the random-effects pooled odds ratios as
diamonds spanning their 95% CIs, and the random-effects prediction interval as a
line under its diamond. Log x axis with a dashed line at OR = 1; a text column
gives each row's OR (95% CI) and weight; the subtitle gives I² and tau².

A site whose OR is withheld (``None``: disclosure control kept it back) is listed
with the word "withheld" and nothing drawn; one whose OR or limits do not exist
(separation: 0 or infinity) says "not estimable". A point there would invent a
number. Site names are the sites' labels, never anything about a patient.

Saved like every figure (:func:`analysis.figures.style.save_figure`): 300 dpi,
no dates or versions in the files, a fixed SVG hash salt -- the same numbers give
the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.atomic import atomic_path
from analysis.figures.style import DPI, INK, MUTED, plain_log_axis, setup

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "draw_meta_forest", "meta_forest"]

#: Metadata left out of each format, so that a file's bytes depend only on what it shows.
FORMATS: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}
WITHHELD = "withheld"
NOT_ESTIMABLE = "not estimable"
_HALF_HEIGHT = 0.28  # half the height of a pooled diamond, in rows
_MAX_SQUARE = 13.0  # side (points) of the square of the heaviest site


def meta_forest(
    term_label: str,
    sites: list[dict],
    fixed: dict,
    random: dict,
    out_base: Path | str,
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """Draw the forest plot of one term and save it as ``<out_base>.<format>`` for each format.

    ``sites``: ``[{"site", "or", "ci_low", "ci_high", "weight_random_pct"}]`` in the
    order to draw them (``or`` None = withheld; ``weight_random_pct`` may be None).
    ``fixed``: ``{"or", "ci_low", "ci_high"}``; ``random``: the same and optionally
    ``pi_low``/``pi_high`` (95% prediction interval), ``i2`` (a fraction, 0-1) and
    ``tau2`` (between-site variance of the log OR). ``out_base`` has no extension.
    Returns the files written, in the order of ``formats``.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be some of {sorted(FORMATS)}; got {list(formats)}")
    fig = draw_meta_forest(term_label, sites, fixed, random)
    return _save(fig, Path(out_base), formats)


def draw_meta_forest(term_label: str, sites: list[dict], fixed: dict, random: dict) -> Figure:
    """The figure :func:`meta_forest` saves (not saved, not closed)."""
    setup()
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    rows = _rows(sites, fixed, random)
    n = len(rows)
    fig, (ax, col) = plt.subplots(
        1, 2, figsize=(8.0, 1.7 + 0.36 * n), gridspec_kw={"width_ratios": [3.0, 1.9]},
    )  # fmt: skip
    heaviest = max((r["weight"] or 0.0 for r in rows if r["kind"] == "site"), default=0.0)
    for row in rows:
        y = row["y"]
        if row["kind"] == "site" and row["drawn"]:
            odds, low, high = row["values"]
            ax.plot([low, high], [y, y], color=INK, linewidth=1.0, solid_capstyle="butt")
            ax.plot([odds], [y], marker="s", linestyle="none", color=INK,
                    markersize=_square_side(row["weight"], heaviest))  # fmt: skip
        elif row["kind"] in ("fixed", "random") and row["drawn"]:
            odds, low, high = row["values"]
            face = "white" if row["kind"] == "fixed" else INK
            corners = [(low, y), (odds, y + _HALF_HEIGHT), (high, y), (odds, y - _HALF_HEIGHT)]
            ax.add_patch(Polygon(corners, closed=True, facecolor=face, edgecolor=INK, lw=1.0))
        elif row["kind"] == "pi" and row["drawn"]:
            _, low, high = row["values"]
            ax.plot([low, high], [y, y], color=INK, linewidth=1.2)
            ax.plot([low, high], [y, y], marker="|", markersize=7, linestyle="none", color=INK)
        elif not row["drawn"] and row["kind"] != "pi":
            ax.text(1.0, y, f" {row['status']} ", ha="center", va="center", fontsize=7,
                    color=MUTED, style="italic",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})  # fmt: skip
        col.text(0.02, y, row["estimate"], ha="left", va="center", fontsize=8)
        col.text(0.98, y, row["weight_text"], ha="right", va="center", fontsize=8)
    header = max(r["y"] for r in rows) + 1.0  # the line above the first site
    col.text(0.02, header, "OR (95% CI)", ha="left", va="center", fontsize=8, weight="bold")
    col.text(0.98, header, "Weight (random)", ha="right", va="center", fontsize=8, weight="bold")
    col.set_xlim(0, 1)
    col.set_ylim(-0.8, header + 0.6)
    col.axis("off")

    ax.axvline(1.0, color=MUTED, linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlim(*_x_limits(rows))
    plain_log_axis(ax.xaxis)
    ax.set_yticks([r["y"] for r in rows])
    ax.set_yticklabels([r["label"] for r in rows])
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row["kind"] in ("fixed", "random"):
            tick.set_fontweight("bold")
        elif row["kind"] == "pi":
            tick.set_fontsize(7)
    ax.set_ylim(-0.8, header + 0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Odds ratio (95% CI, log scale)")
    fig.suptitle(term_label, x=0.02, ha="left", fontsize=11)
    ax.set_title(_subtitle(random), loc="left", fontsize=8, color=MUTED)
    fig.tight_layout()
    return fig


def _rows(sites: list[dict], fixed: dict, random: dict) -> list[dict[str, Any]]:
    """Every line of the plot, top (sites) to bottom (prediction interval), with its y."""
    rows: list[dict[str, Any]] = []
    for site in sites:
        values = (site.get("or"), site.get("ci_low"), site.get("ci_high"))
        weight = _number(site.get("weight_random_pct"))
        rows.append(
            _row("site", str(site["site"]), values)
            | {"weight": weight, "weight_text": "–" if weight is None else f"{weight:.1f} %"}
        )
    rows.append(_row("fixed", "Fixed effect", (fixed.get("or"), fixed.get("ci_low"),
                                               fixed.get("ci_high"))))  # fmt: skip
    rows.append(_row("random", "Random effects", (random.get("or"), random.get("ci_low"),
                                                  random.get("ci_high"))))  # fmt: skip
    if random.get("pi_low") is not None or random.get("pi_high") is not None:
        pi = _row("pi", "Prediction interval (95%)",
                  (random.get("or"), random.get("pi_low"), random.get("pi_high")))  # fmt: skip
        pi["estimate"] = (
            f"{_fmt(pi['values'][1])} to {_fmt(pi['values'][2])}" if pi["drawn"] else "–"
        )
        rows.append(pi)
    # from the bottom: the PI just under its diamond, the pooled lines, a gap, the sites
    has_pi = rows[-1]["kind"] == "pi"
    random_y = 0.6 if has_pi else 0.0
    place = {"pi": 0.0, "random": random_y, "fixed": random_y + 1.0}
    first_site = random_y + 2.5 + (len(sites) - 1)
    for i, row in enumerate(rows):
        row["y"] = place.get(row["kind"], first_site - i)
        row.setdefault("weight", None)
        row.setdefault("weight_text", "100 %" if row["kind"] == "random" else "")
    return rows


def _row(kind: str, label: str, values: tuple[Any, Any, Any]) -> dict[str, Any]:
    numbers = tuple(_number(v) for v in values)
    drawn = all(v is not None and 0 < v < math.inf for v in numbers)
    if drawn:
        odds, low, high = numbers
        estimate = f"{_fmt(odds)} ({_fmt(low)} to {_fmt(high)})"
        status = ""
    else:
        status = WITHHELD if values[0] is None else NOT_ESTIMABLE
        estimate = status
    return {"kind": kind, "label": label, "values": numbers, "drawn": drawn,
            "status": status, "estimate": estimate}  # fmt: skip


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _square_side(weight: float | None, heaviest: float) -> float:
    """Area proportional to the weight; a site without a weight gets a middling square."""
    if weight is None or heaviest <= 0:
        return _MAX_SQUARE * 0.5
    return max(3.0, _MAX_SQUARE * math.sqrt(max(weight, 0.0) / heaviest))


def _x_limits(rows: Iterable[dict[str, Any]]) -> tuple[float, float]:
    """Every drawn value and 1, with a margin on the log scale."""
    values = [1.0] + [v for r in rows if r["drawn"] for v in r["values"]]
    low, high = min(values), max(values)
    span = math.log10(high / low) if high > low else 1.0
    pad = 10 ** (0.08 * span)
    low, high = low / pad, high * pad
    if high / low < 4:  # a little room around 1 when everything sits close to it
        mid = math.sqrt(low * high)
        low, high = mid / 2, mid * 2
    return low, high


def _subtitle(random: dict) -> str:
    parts = ["Squares: sites, area by random-effects weight; diamonds: pooled"]
    i2, tau2 = _number(random.get("i2")), _number(random.get("tau2"))
    if i2 is not None:
        parts.append(f"I² = {i2 * 100:.1f} %")
    if tau2 is not None:
        parts.append(f"τ² = {tau2:.4f}")
    return "; ".join(parts)


def _save(fig: Figure, base: Path, formats: Sequence[str]) -> list[Path]:
    """``<base>.<format>`` for each format, metadata left out (as ``save_figure``)."""
    import matplotlib.pyplot as plt

    written = []
    try:
        for fmt in formats:
            out = base.with_name(f"{base.name}.{fmt}")
            with atomic_path(out) as tmp:
                fig.savefig(tmp, format=fmt, dpi=DPI, metadata=FORMATS[fmt])
            written.append(out)
    finally:
        plt.close(fig)
    return written
