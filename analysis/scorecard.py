"""The reproduction scorecard: every published figure beside the one regenerated here.

``score()`` reads each figure of the study's published file (analysis/published.py),
finds the same figure in the results JSONs (a table row's statistic in a group, a
model term's p-value, the cohort's counts from the flow or the tables), applies the
tolerance its kind calls for and says, for each, whether it was reproduced and if not
why. ``write_scorecard()`` writes reports/reproduction.html and .md and the JSON.

Tolerances (the rule follows from the kind of figure):

- count: exact;
- percent, median, min, max: equal at the printed precision (percent and the others
  1 decimal unless the entry says ``decimals``): ours is rounded as the paper prints;
- p_value: within a factor of 2 (|log10(ours / published)| <= log10 2) and on the same
  side of alpha;
- significance (the paper says only "not significant"): the same side of alpha.

On a site's data (``own_data=False``) the same comparison is "matched by this
analysis", never a failed reproduction: the data are not the paper's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from analysis.atomic import atomic_path
from analysis.published import COHORT
from analysis.render.grid import format_p
from analysis.render.safe import md_text
from analysis.render.writers import _environment
from analysis.results import dumps
from analysis.study import Study

__all__ = ["RULES", "check", "score", "write_scorecard"]

#: What each kind of figure is called in the scorecard.
KIND_LABELS = {
    "count": "n",
    "percent": "%",
    "median": "median",
    "min": "minimum",
    "max": "maximum",
    "p_value": "p",
    "significance": "significance",
}
#: How far a p-value may be from the published one: a factor of 2.
P_FACTOR = 2.0
#: The rule of each kind, as the scorecard states it ({d}: decimals, {alpha}).
RULES = {
    "count": "exact",
    "percent": "exact at {d}",
    "median": "exact at {d}",
    "min": "exact at {d}",
    "max": "exact at {d}",
    "p_value": "within a factor of 2 and same side of {alpha}",
    "significance": "same side of {alpha}",
}
_DEFAULT_DECIMALS = {"count": 0, "percent": 1, "median": 1, "min": 1, "max": 1}


# ------------------------------------------------------------------ tolerance


def _decimals(entry: dict[str, Any]) -> int:
    d = entry.get("decimals")
    return _DEFAULT_DECIMALS.get(entry["kind"], 0) if d is None else int(d)


def _places(d: int) -> str:
    return "the whole number" if d == 0 else f"{d} decimal" + ("s" if d > 1 else "")


def rule_text(entry: dict[str, Any], alpha: float) -> str:
    return RULES[entry["kind"]].format(d=_places(_decimals(entry)), alpha=alpha)


def _fixed(x: float, d: int) -> str:
    return f"{x:.{d}f}"


def check(
    kind: str,
    ours: float | None,
    published: float | bool | None,
    *,
    decimals: int | None = None,
    alpha: float = 0.05,
) -> tuple[bool, str]:
    """Whether ``ours`` reproduces ``published`` under the rule of ``kind``, and if not why.

    ``published`` is the printed number, or for ``significance`` whether the paper
    calls the difference significant.
    """
    if ours is None or (isinstance(ours, float) and not math.isfinite(ours)):
        return False, "not in the results"
    if kind == "count":
        if float(ours).is_integer() and int(ours) == int(published):
            return True, ""
        return False, f"{_fmt_count(ours)} is not {_fmt_count(published)}"
    if kind in _DEFAULT_DECIMALS:
        d = _DEFAULT_DECIMALS[kind] if decimals is None else decimals
        ok = _fixed(ours, d) == _fixed(float(published), d)
        return ok, "" if ok else f"{_fixed(ours, d)} is not {_fixed(float(published), d)}"
    side = (ours < alpha) == (published < alpha if kind == "p_value" else bool(published))
    other_side = "" if side else (f"p = {format_p(ours)} is on the other side of {alpha}")
    if kind == "significance":
        return side, other_side
    if kind != "p_value":
        raise ValueError(f"unknown kind of published figure: {kind!r}")
    if ours <= 0:
        return False, f"p = {format_p(ours)} cannot be compared on a ratio scale"
    ratio = abs(math.log10(ours / float(published)))
    near = ratio <= math.log10(P_FACTOR) + 1e-12
    reasons = [other_side] if other_side else []
    if not near:
        reasons.append(f"p = {_p_text(ours)} is more than a factor of 2 from {published:g}")
    return side and near, "; ".join(reasons)


def _fmt_count(x: Any) -> str:
    return str(int(x)) if float(x).is_integer() else f"{float(x):g}"


def _p_text(p: float) -> str:
    """A p-value with enough digits to see the factor: 0.0061, 0.00031, 0.204."""
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


# ------------------------------------------------------------------ our values


def _output_id(result: dict[str, Any]) -> str:
    return result.get("table") or result.get("model") or ""


def _steps(flow: dict[str, Any] | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not flow:
        return []
    return list(flow.get("steps") or []) if isinstance(flow, dict) else list(flow)


def _model_p(res: dict[str, Any], variable: str) -> float | None:
    for term in res.get("terms") or []:
        if term.get("term") == variable:
            return term.get("p_value")
    # a factor with several terms: its joint test (Wald as SPSS, Firth's penalised LR)
    key = "lr_p_value" if res.get("method") == "firth" else "wald_p_value"
    for test in res.get("predictor_tests") or []:
        if test.get("predictor") == variable:
            return test.get(key)
    return None


def _rows(res: dict[str, Any], variable: str, level: str | None) -> list[dict[str, Any]]:
    return [
        r
        for r in res.get("rows") or []
        if r.get("variable") == variable and (level is None or str(r.get("level")) == level)
    ]


def _pooled(kind: str, stats: list[dict[str, Any]]) -> tuple[float | None, str]:
    """A statistic over all the groups of a row together, where the groups allow it."""
    if any(not s for s in stats):
        return None, "a group's statistics are not in the results"
    if kind == "count":
        values = [s.get("count") for s in stats]
        return (None, "a count is withheld") if None in values else (sum(values), "")
    if kind == "percent":
        counts = [s.get("count") for s in stats]
        ns = [s.get("n") for s in stats]
        if None in counts or None in ns or not sum(ns):
            return None, "a count is withheld"
        return 100.0 * sum(counts) / sum(ns), ""
    if kind in ("min", "max"):
        values = [s.get(kind) for s in stats if s.get("n")]
        if not values or None in values:
            return None, f"a group's {kind} is withheld"
        return (min if kind == "min" else max)(values), ""
    return None, f"the {kind} of all the groups together is not in the results"


def _from_table(entry: dict[str, Any], res: dict[str, Any]) -> tuple[float | None, str]:
    kind, variable = entry["kind"], entry["variable"]
    rows = _rows(res, variable, entry["level"])
    if not rows:
        return None, "the row is not in the results"
    if kind in ("p_value", "significance"):
        p = next((r.get("p_value") for r in rows if r.get("p_value") is not None), None)
        return (p, "") if p is not None else (None, "the results carry no p-value for the row")
    stat = "count" if kind == "count" else kind
    by_group = rows[0].get("stats") or {}
    if entry["group"] is not None:
        s = by_group.get(entry["group"])
        if not s:
            return None, "the group is not in the results (no patients in it?)"
        value = s.get(stat)
        return (value, "") if value is not None else (None, f"the {KIND_LABELS[kind]} is withheld")
    if len(by_group) == 1:
        (s,) = by_group.values()
        value = s.get(stat)
        return (value, "") if value is not None else (None, f"the {KIND_LABELS[kind]} is withheld")
    return _pooled(kind, list(by_group.values()))


def _from_cohort(
    entry: dict[str, Any],
    study: Study,
    results: dict[str, dict[str, Any]],
    flow: Any,
    cohort: Any,
) -> tuple[float | None, str]:
    variable, level, kind = entry["variable"], entry["level"], entry["kind"]
    if variable is None:  # the number of subjects analysed
        steps = _steps(flow)
        if steps:
            return steps[-1].get("n"), ""
        for res in _whole_cohort_tables(study, results):
            return sum(g.get("n") or 0 for g in res.get("groups") or []), ""
        if cohort is not None:
            return len(cohort), ""
        return None, "neither the cohort flow nor a table of the whole cohort was given"
    for res in _whole_cohort_tables(study, results):
        if res.get("group_by") == variable:  # the table's own groups
            groups = {str(g["key"]): g.get("n") for g in res.get("groups") or []}
            if level in groups and groups[level] is not None:
                if kind == "count":
                    return groups[level], ""
                total = sum(n or 0 for n in groups.values())
                return 100.0 * groups[level] / total, ""
        rows = _rows(res, variable, level)
        if rows:
            return _pooled(kind, list((rows[0].get("stats") or {}).values()))
    if cohort is not None and variable in getattr(cohort, "columns", []):
        col = cohort[variable]
        known = col.notna()
        count = int((col[known].astype(str).str.replace(r"\.0$", "", regex=True) == level).sum())
        return (count, "") if kind == "count" else (100.0 * count / max(int(known.sum()), 1), "")
    return None, "no table of the whole cohort has this row"


def _whole_cohort_tables(study: Study, results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary results over every patient (no ``where``), in the study's order."""
    out = []
    for spec in study.tables:
        res = results.get(spec["id"])
        if (
            res
            and res.get("kind") == "summary"
            and not res.get("where")
            and not spec.get("where")
            and not res.get("withheld")
        ):
            out.append(res)
    return out


def _regenerate(
    entry: dict[str, Any],
    study: Study,
    results: dict[str, dict[str, Any]],
    flow: Any,
    cohort: Any,
) -> tuple[float | None, str]:
    if entry["table"] == COHORT:
        return _from_cohort(entry, study, results, flow, cohort)
    res = results.get(entry["table"])
    if res is None:
        return None, "its results were not given"
    if res.get("withheld"):
        return None, f"withheld ({res['withheld']})"
    if "model" in res:
        p = _model_p(res, entry["variable"])
        return (p, "") if p is not None else (None, "the term is not in the model's results")
    return _from_table(entry, res)


# -------------------------------------------------------------------- labels


def _caption(study: Study, table: str, results: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """("Table 2", "Table 2. <title>") for a table or model; the whole cohort's own."""
    if table == COHORT:
        return "Cohort", "The whole cohort"
    spec = next((s for s in [*study.tables, *study.models] if s["id"] == table), {})
    res = results.get(table) or {}
    number = res.get("number") or spec.get("number")
    title = res.get("title") or spec.get("title") or table
    short = f"Table {number}" if number else title
    return short, (f"Table {number}. {title}" if number else title)


def _code_label(study: Study, variable: str | None, code: str | None) -> str:
    if variable is None or code is None:
        return ""
    var = study.variables[variable]
    labels = {str(k): v for k, v in var.codes.items()}
    return str(labels.get(code, code))


def _figure_label(study: Study, entry: dict[str, Any]) -> str:
    """What the figure is, in the reader's words: "Reason for baclofen: Hiccups, n"."""
    if entry["variable"] is None:
        return "Patients analysed, n"
    var = study.variables[entry["variable"]]
    text = var.label
    if entry["level"] is not None:
        text += f": {_code_label(study, entry['variable'], entry['level'])}"
    kind = entry["kind"]
    if kind in ("median", "min", "max"):
        text += f", {KIND_LABELS[kind]}" + (f" ({var.unit})" if var.unit else "")
    elif kind in ("count", "percent"):
        text += f", {KIND_LABELS[kind]}"
    elif kind == "p_value":
        text += ", p"
    else:
        text += ", significance of the difference"
    return text


def _group_label(study: Study, entry: dict[str, Any]) -> str:
    if entry["table"] == COHORT:
        return "All patients"
    spec = next((t for t in study.tables if t["id"] == entry["table"]), {})
    by = spec.get("group_by")
    if entry["group"] is not None and by:
        return f"{study.variables[by].label}: {_code_label(study, by, entry['group'])}"
    if entry["kind"] in ("p_value", "significance"):
        return "Between groups" if by else ""
    return "All groups together" if by else "All patients"


def _published_text(entry: dict[str, Any], alpha: float) -> str:
    kind, value = entry["kind"], entry["value"]
    if kind == "significance":
        return f"p < {alpha} (significant)" if entry["significant"] else "not significant"
    if kind == "count":
        return _fmt_count(value)
    if kind == "p_value":
        return f"{value:g}"
    text = _fixed(float(value), _decimals(entry))
    return f"{text} %" if kind == "percent" else text


def _ours_text(entry: dict[str, Any], ours: float | None) -> str:
    if ours is None:
        return "n/a"
    kind = entry["kind"]
    if kind == "count":
        return _fmt_count(ours)
    if kind in ("p_value", "significance"):
        return format_p(ours)
    text = _fixed(float(ours), _decimals(entry))
    return f"{text} %" if kind == "percent" else text


# --------------------------------------------------------------------- score


def headline(n_reproduced: int, n_total: int, own_data: bool) -> str:
    if own_data:
        return f"{n_reproduced} of {n_total} published figures reproduced"
    return f"{n_reproduced} of {n_total} published figures matched by this analysis"


def score(
    study: Study,
    results: dict[str, dict[str, Any]],
    flow: dict[str, Any] | list[dict[str, Any]] | None = None,
    cohort: Any = None,
    *,
    own_data: bool = True,
) -> dict[str, Any]:
    """Each published figure of ``study`` beside ours, under its tolerance.

    ``results``: results JSONs by table/model id (missing ones make their figures
    "not reproduced", with the reason). ``flow``: the cohort flow (``{"steps": [...]}``
    or the list of steps), for the number analysed. ``cohort``: an optional pandas
    frame of the analysed cohort, for whole-cohort counts no table holds.
    ``own_data``: the study's own (synthetic) data, a reproduction; False: a site's
    data, compared with the paper.
    """
    alpha = study.alpha
    entries = []
    for entry in study.published:
        ours, why = _regenerate(entry, study, results, flow, cohort)
        expected = entry["significant"] if entry["kind"] == "significance" else entry["value"]
        withheld = ours is None and "withheld" in why  # disclosure control, not a miss
        if ours is None:
            ok, reason = False, why
        else:
            ok, reason = check(
                entry["kind"], float(ours), expected, decimals=_decimals(entry), alpha=alpha
            )
        short, caption = _caption(study, entry["table"], results)
        entries.append(
            {
                **entry,
                "table_short": short,
                "table_caption": caption,
                "variable_label": _figure_label(study, entry),
                "group_label": _group_label(study, entry),
                "kind_label": KIND_LABELS[entry["kind"]],
                "ours": None if ours is None else float(ours),
                "ours_text": _ours_text(entry, None if ours is None else float(ours)),
                "published_text": _published_text(entry, alpha),
                "reproduced": bool(ok),
                "withheld": withheld,
                "rule": rule_text(entry, alpha),
                "why_not": "" if ok else reason,
            }
        )
    n_ok = sum(e["reproduced"] for e in entries)
    n_withheld = sum(e["withheld"] for e in entries)
    line = headline(n_ok, len(entries), own_data)
    if n_withheld:
        line += f"; {n_withheld} withheld under disclosure control"
    return {
        "kind": "scorecard",
        "study": study.id,
        "own_data": bool(own_data),
        "alpha": alpha,
        "title": (
            "Reproduction of the published results"
            if own_data
            else "Comparison with the published study"
        ),
        "n_reproduced": n_ok,
        "n_total": len(entries),
        "n_withheld": n_withheld,
        "headline": line,
        "entries": entries,
        "misses": [e for e in entries if not e["reproduced"] and not e["withheld"]],
    }


# --------------------------------------------------------------------- write


def _sections(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries by paper table, in the file's order of first appearance."""
    out: dict[str, dict[str, Any]] = {}
    for e in card["entries"]:
        sec = out.setdefault(
            e["table"], {"caption": e["table_caption"], "short": e["table_short"], "rows": []}
        )
        sec["rows"].append(e)
    for sec in out.values():
        sec["n_reproduced"] = sum(e["reproduced"] for e in sec["rows"])
        sec["n_total"] = len(sec["rows"])
    return list(out.values())


def _words(card: dict[str, Any]) -> dict[str, str]:
    if card["own_data"]:
        return {
            "ours": "Reproduced",
            "yes": "reproduced",
            "no": "not reproduced",
            "misses": "Not reproduced",
        }
    return {
        "ours": "This analysis",
        "yes": "matches",
        "no": "differs",
        "misses": "Differences from the published figures",
    }


def _intro(card: dict[str, Any]) -> str:
    alpha = card["alpha"]
    text = (
        "Every figure the paper publishes (counts, percentages, medians and ranges, "
        "p-values and stated non-significance), one per row, beside the same figure "
        "computed here. Counts must be equal; percentages, medians, minima and maxima "
        "equal at the printed precision; p-values within a factor of 2 and on the same "
        f"side of {alpha}; a stated non-significance on the same side of {alpha}."
    )
    if not card["own_data"]:
        text += (
            " These data are not the paper's: a figure that differs is a difference "
            "between the cohorts, not an error."
        )
    return text


def render_html(card: dict[str, Any], study: Study) -> str:
    template = _environment().get_template("reproduction.html")
    return template.render(
        card=card,
        study=study.raw["study"],
        sections=_sections(card),
        words=_words(card),
        intro=_intro(card),
    )


def _md_row(cells: list[Any]) -> str:
    return "| " + " | ".join(md_text(c) for c in cells) + " |"


def render_markdown(card: dict[str, Any], study: Study) -> str:
    words = _words(card)
    info = study.raw["study"]
    parts = [f"# {md_text(card['title'])}", ""]
    if info.get("citation"):
        parts += [md_text(info["citation"], line_start=True), ""]
    parts += [f"**{md_text(card['headline'])}**", "", md_text(_intro(card), line_start=True), ""]
    if card["misses"]:
        parts += [f"## {md_text(words['misses'])}", ""]
        for e in card["misses"]:
            parts.append(
                "- "
                + md_text(
                    f"{e['table_short']}, {e['variable_label']}"
                    + (f" ({e['group_label']})" if e["group_label"] else "")
                    + f": published {e['published_text']}, {words['ours'].lower()} "
                    f"{e['ours_text']} ({e['why_not']})"
                )
            )
        parts.append("")
    for sec in _sections(card):
        parts += [f"## {md_text(sec['caption'])}", ""]
        parts += [
            md_text(f"{sec['n_reproduced']} of {sec['n_total']} {words['yes']}.", line_start=True),
            "",
        ]
        head = ["Figure", "Group", "Published", words["ours"], "Rule", "Result", "Source"]
        parts += [_md_row(head), "| " + " | ".join("---" for _ in head) + " |"]
        for e in sec["rows"]:
            result = (
                words["yes"]
                if e["reproduced"]
                else f"withheld: {e['why_not']}"
                if e["withheld"]
                else f"{words['no']}: {e['why_not']}"
            )
            parts.append(
                _md_row(
                    [
                        e["variable_label"],
                        e["group_label"],
                        e["published_text"],
                        e["ours_text"],
                        e["rule"],
                        result,
                        e["source"],
                    ]
                )
            )
        parts.append("")
    return "\n".join(parts)


def write_scorecard(
    card: dict[str, Any],
    study: Study,
    out_html: str | Path,
    out_md: str | Path,
    out_json: str | Path,
) -> list[Path]:
    """reproduction.html, reproduction.md and the scorecard JSON, each written atomically."""
    paths = [Path(out_html), Path(out_md), Path(out_json)]
    texts = [render_html(card, study), render_markdown(card, study), dumps(card)]
    for path, text in zip(paths, texts, strict=True):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return paths
