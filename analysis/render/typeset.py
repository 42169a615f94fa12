"""Typeset labels as a journal prints them: kg/m², ≥ 60, ±, CO₂.

Study files and site mappings are typed on keyboards, so they say "kg/m2",
">=60" and "+/-". The rendered tables print the typographic forms; the results
JSON keeps the text as written. Only unambiguous patterns are rewritten: a "2"
after "m" at the end of a unit, "CO2" as a word, comparison operators before a
number.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["superscript", "typeset"]

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\+/-"), "±"),
    (re.compile(r"(?<![\w])(>=|=>)\s*(?=[-\d.])"), "≥ "),
    (re.compile(r"(?<![\w])(<=|=<)\s*(?=[-\d.])"), "≤ "),
    (re.compile(r"(?<![\w<>=])([<>])\s*(?=\d)"), r"\1 "),
    # m2, m3 in units (kg/m2, 1.73m2, /m2): not inside words such as "m2x"
    (re.compile(r"(?<=\d)m2\b"), " m²"),
    (re.compile(r"(?<=[/\s(])m2\b"), "m²"),
    (re.compile(r"(?<=[/\s(])m3\b"), "m³"),
    (re.compile(r"\b(p?)CO2\b"), r"\1CO₂"),
    (re.compile(r"\bO2\b"), "O₂"),
]


@lru_cache(maxsize=4096)
def typeset(text: str) -> str:
    """``text`` with keyboard spellings of units and operators replaced."""
    if not text:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


# Unicode's superscript letters, for places that cannot raise text (Markdown without
# HTML, Excel number formats). Unicode has none for "q": it stays as it is.
_SUPERSCRIPT = dict(zip("abcdefghijklmnoprstuvwxyz", "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ", strict=True))


def superscript(mark: str) -> str:
    """A footnote letter as a superscript character ("b" becomes "ᵇ")."""
    return "".join(_SUPERSCRIPT.get(ch, ch) for ch in mark)
