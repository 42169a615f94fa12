"""The STROBE/RECORD checklist of the report: each item and where the report answers it.

The items and the places that answer them are data (strobe.yaml). A report names the
places it has (an anchor and a link text each); an item none of whose places is in the
report is listed for the authors, as are the items only authors can write.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["PLACES", "checklist", "items"]

#: The parts of a report a checklist item may point at.
PLACES = (
    "data",
    "flow",
    "flow_figure",
    "data_checks",
    "missing",
    "missing_figure",
    "variables",
    "methods",
    "normality",
    "descriptive_tables",
    "outcome_tables",
    "model_tables",
    "model_figures",
    "sensitivity",
    "provenance",
)


@cache
def items() -> tuple[dict[str, Any], ...]:
    """The checklist items of strobe.yaml, in order."""
    text = resources.files("analysis").joinpath("strobe.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)["items"]
    for item in loaded:
        unknown = set(item.get("places", [])) - set(PLACES)
        if unknown:
            raise ValueError(f"strobe.yaml: item {item['item']}: unknown place(s) {unknown}")
    return tuple(loaded)


def checklist(places: dict[str, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    """Each item with its links ``[(anchor, text)]`` in this report, or ``authors: True``.

    ``places`` maps a place name (PLACES) to the anchors the report has for it; a
    place the report lacks is absent or empty.
    """
    out = []
    for item in items():
        links: list[tuple[str, str]] = []
        if not item.get("authors"):
            for place in item.get("places", []):
                links += [link for link in places.get(place, []) if link not in links]
        out.append(
            {
                "item": str(item["item"]),
                "list": item["list"],
                "topic": item["topic"],
                "links": links,
                "note": item.get("note", "") if links else "",
                "authors": not links,
            }
        )
    return out
