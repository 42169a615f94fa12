"""How numbers are printed in the tables: one style object shared by every format.

A style is data (styles.yaml holds the presets); the study file picks one and may
change its keys (``display:``), and the workflow's config may pick another
(``number_style``). Every format prints from the same grid, so a style changes
Word, Excel, LaTeX, HTML, Markdown and CSV alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from functools import cache
from importlib import resources
from typing import Any

from analysis import yaml_safe
from analysis.errors import StudyFileError

__all__ = ["PAPER", "NumberStyle", "preset", "preset_names", "resolve_style"]


@dataclass(frozen=True)
class NumberStyle:
    name: str = "paper"
    p_decimals: int = 3
    p_floor: float = 0.001  # below it: "<0.001"
    p_ceiling: float | None = None  # above it: ">0.99"
    p_small_decimals: int | None = None  # more decimals for small p (AMA: 3 below 0.01)
    p_small_below: float | None = None
    p_significant: int | None = None  # significant figures instead of decimals (Lancet)
    leading_zero: bool = True  # False: ".03" (AMA prints P without the zero)
    decimal_mark: str = "."
    alpha: float = 0.05  # a p rounded onto alpha gets one more decimal

    def number(self, x: float, decimals: int) -> str:
        """``x`` with ``decimals`` decimals and this style's decimal mark."""
        text = f"{x:.{decimals}f}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]  # no "-0.0"
        return text.replace(".", self.decimal_mark) if self.decimal_mark != "." else text

    def p(self, p: float | None) -> str:
        """A p-value as the style prints it ("" when there is none)."""
        if p is None or (isinstance(p, float) and math.isnan(p)):
            return ""
        if p < self.p_floor:
            return "<" + self._p_text(self.p_floor, self._floor_decimals())
        if self.p_ceiling is not None and p > self.p_ceiling:
            return ">" + self._p_text(self.p_ceiling, self._decimals_of(self.p_ceiling))
        decimals = self._p_decimals(p)
        # 0.0496 printed "0.05" would read as not significant: show one more decimal.
        while decimals < 6 and p < self.alpha <= round(p, decimals):
            decimals += 1
        return self._p_text(p, decimals)

    def _p_decimals(self, p: float) -> int:
        if self.p_significant:
            decimals = max(self.p_significant - 1 - math.floor(math.log10(p)), 0)
            rounded = round(p, decimals)
            # 0.0996 to 2 figures is 0.10, not 0.100
            if rounded > 0 and math.floor(math.log10(rounded)) > math.floor(math.log10(p)):
                decimals = max(decimals - 1, 0)
            return decimals
        if self.p_small_decimals is not None and self.p_small_below and p < self.p_small_below:
            return self.p_small_decimals
        return self.p_decimals

    def _floor_decimals(self) -> int:
        return self._decimals_of(self.p_floor)

    @staticmethod
    def _decimals_of(x: float) -> int:
        text = f"{x:.10f}".rstrip("0")
        return len(text.split(".")[1]) if "." in text else 0

    def _p_text(self, p: float, decimals: int) -> str:
        text = self.number(p, decimals)
        if not self.leading_zero and text.startswith("0"):
            text = text[1:]
        return text


PAPER = NumberStyle()


@cache
def _presets() -> dict[str, dict[str, Any]]:
    text = resources.files("analysis.render").joinpath("styles.yaml").read_text("utf-8")
    return yaml_safe.load(text)


def preset_names() -> list[str]:
    return list(_presets())


def _build(name: str, keys: dict[str, Any], where: str) -> NumberStyle:
    known = {f.name for f in fields(NumberStyle)} - {"name"}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise StudyFileError(f"{where}: unknown number-style key '{unknown[0]}' (known: "
                         f"{', '.join(sorted(known))})")  # fmt: skip
    return NumberStyle(name=name, **keys)


def preset(name: str) -> NumberStyle:
    presets = _presets()
    if name not in presets:
        raise StudyFileError(
            f"number style '{name}' is not a preset (choose one of: {', '.join(presets)})"
        )
    return _build(name, presets[name], f"styles.yaml: {name}")


def resolve_style(
    display: dict[str, Any] | None, override: str | None = None, alpha: float = 0.05
) -> NumberStyle:
    """The style a run prints with: config's preset if given, else the study file's.

    The study file's ``display`` names a preset (``style``, default ``paper``) and may
    change any of its keys; a preset chosen in config replaces all of that.
    """
    if override:
        return replace(preset(override), alpha=alpha)
    display = dict(display or {})
    base = preset(display.pop("style", "paper"))
    if display:
        base = _build(base.name + " (study file)", {**_preset_keys(base), **display},
                      "study file: display")  # fmt: skip
    return replace(base, alpha=alpha)


def _preset_keys(style: NumberStyle) -> dict[str, Any]:
    return {f.name: getattr(style, f.name) for f in fields(NumberStyle) if f.name != "name"}
