"""The multi-site report: pooled tables with each site's values beneath, heterogeneity,
the model both ways and a forest plot per term.

One view (lists of text cells) feeds both the HTML page (a jinja2 template, every cell
autoescaped) and the Markdown file, so the two cannot disagree. Numbers are printed in
the paper's style (:data:`analysis.render.number_style.PAPER`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from analysis.atomic import all_or_nothing, write_texts
from analysis.render.number_style import PAPER
from analysis.results import dumps

__all__ = ["build_view", "write_pooled"]

TEST_NAMES = {
    "student_t": "Student's t",
    "anova": "one-way ANOVA",
    "site_adjusted_anova": "ANOVA adjusted for site",
    "van_elteren": "van Elteren",
    "stratified_kruskal_wallis": "stratified Kruskal-Wallis",
    "cmh": "Cochran-Mantel-Haenszel",
    "naive_chi_square": "Pearson chi-square",
    "breslow_day": "Breslow-Day (homogeneity)",
    # the sites' own tests
    "welch_t": "Welch's t",
    "welch_anova": "Welch's ANOVA",
    "mann_whitney": "Mann-Whitney",
    "mann_whitney_exact": "Mann-Whitney (exact)",
    "kruskal_wallis": "Kruskal-Wallis",
    "chi_square": "chi-square",
    "yates_chi_square": "chi-square (Yates)",
    "fisher_exact": "Fisher's exact",
    "fisher_exact_monte_carlo": "Fisher's exact (Monte Carlo)",
}
HOW_POOLED = (
    "Pooled n, counts, percentages, means and SDs are exact (from each site's counts, sums "
    "and sums of squared deviations). Medians and quartiles cannot be pooled from "
    "aggregates: each site's row shows its own median (IQR), or mean ± SD where its policy "
    "judged the data normal, and its own test."
)
HOW_TESTED = (
    "Site-stratified tests compare the groups within each site and combine the sites: for "
    "continuous rows, the two-way ANOVA with site as a block (the F test of group given "
    "site, no interaction) and van Elteren's rank test (two groups) or its generalisation "
    "(more), the one read first named first; Cochran-Mantel-Haenszel for categorical rows, "
    "with Breslow-Day for homogeneous odds ratios in a 2 x 2 row. Tests with the sites "
    "ignored treat all patients as one dataset and are exactly what the concatenated rows "
    "give (Student's t or one-way ANOVA; Pearson chi-square); a difference in case-mix "
    "between sites can make them disagree."
)
#: The two test columns of a pooled table: tests within sites, and tests on the pooled
#: numbers as one dataset (what the concatenated rows would give).
TEST_COLUMNS = ["Site-stratified test, p", "Sites ignored (one dataset), p"]


def _num(x: float | None, decimals: int) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return PAPER.number(x, decimals)


def _p(p: float | None) -> str:
    return PAPER.p(p) or "–"


def _test_cell(test: dict | None) -> str:
    """'name: p' of one pooled test ('' when it was not run)."""
    if not test:
        return ""
    return f"{TEST_NAMES[test['test']]}: {_p(test.get('pvalue'))}"


def _site_test(site: dict | None) -> str:
    """'name: p' of the test a site ran on its own patients."""
    if not site or not site.get("test") or site["test"] == "none":
        return ""
    return f"{TEST_NAMES.get(site['test'], site['test'])}: {_p(site['p_value'])}"


def _mean_sd(group: dict | None, decimals: int) -> str:
    """A pooled group's mean ± SD, with its n when some values were missing."""
    if group is None:
        return "not pooled"
    text = f"{_num(group['mean'], decimals)} ± {_num(group['sd'], decimals)}"
    return text + (f" (n = {group['n']})" if group["missing"] else "")


def _continuous_cells(row: dict, keys: list[str]) -> list[list[str]]:
    d = row.get("decimals")
    d = 1 if d is None else d
    pooled = row["pooled"]
    first = [_mean_sd(pooled.get(k), d) for k in keys]
    tests = row["tests"]
    within = ["rank", "site_adjusted"]
    if row.get("primary") == "site_adjusted":
        within.reverse()
    stratified = "; ".join(filter(None, (_test_cell(tests.get(k)) for k in within)))
    ignored = _test_cell(tests.get("parametric"))
    lines = [[f"{row['label']}, mean ± SD", "Pooled", *first, stratified, ignored]]
    for site, s in row["sites"].items():
        if s is None:
            lines.append(["", site, *(["withheld"] * len(keys)), "", ""])
            continue
        summary = "mean ± SD" if s["summary"] == "mean_sd" else "median (IQR)"
        cells = []
        for k in keys:
            g = s["groups"].get(k)
            if g is None or g.get("n") is None:
                cells.append("withheld")
            elif s["summary"] == "mean_sd":
                cells.append(f"{_num(g['mean'], d)} ± {_num(g['sd'], d)}")
            else:
                cells.append(f"{_num(g['median'], d)} ({_num(g['q1'], d)}, {_num(g['q3'], d)})")
        lines.append(["", f"{site}, {summary}", *cells, _site_test(s), ""])
    return lines


def _categorical_cells(row: dict, keys: list[str]) -> list[list[str]]:
    lines = []
    tests = row["tests"]
    cmh = tests.get("cmh")
    stratified = _test_cell(cmh)
    if cmh and cmh.get("breslow_day"):
        stratified += f"; {TEST_NAMES['breslow_day']}: {_p(cmh['breslow_day'].get('pvalue'))}"
    ignored = _test_cell(tests.get("naive_chi_square"))
    for i, level in enumerate(row["levels"]):
        code = level["code"]
        label = f"{row['label']}: {level['label']}, n (%)"
        if row["pooled"] is None:
            cells = ["withheld"] * len(keys)
        else:
            cells = [
                f"{row['pooled'][k]['counts'][code]} ({_num(row['pooled'][k]['percent'][code], 1)})"
                for k in keys
            ]
        lines.append(
            [label, "Pooled", *cells, stratified if i == 0 else "", ignored if i == 0 else ""]
        )
        for site, s in row["sites"].items():
            site_cells = (
                ["withheld"] * len(keys) if s is None else [str(s["counts"][k][code]) for k in keys]
            )
            lines.append(["", site, *site_cells, _site_test(s) if i == 0 else "", ""])
    return lines


def _table_view(table: dict) -> dict[str, Any]:
    keys = [g["key"] for g in table["groups"]]
    header = ["Characteristic", "Source"]
    header += [
        f"{g['label']} (n = {g['n'] if g['n'] is not None else 'withheld'})"
        for g in table["groups"]
    ]
    header += TEST_COLUMNS
    body = []
    notes: list[str] = []
    rank_first: list[str] = []
    for row in table["rows"]:
        cells = _continuous_cells if row["kind"] == "continuous" else _categorical_cells
        body += cells(row, keys)
        notes += [f"{row['label']}: {n}" for n in row.get("notes", [])]
        if row.get("primary") == "rank":
            rank_first.append(row["label"])
    if rank_first:
        notes.append(
            "Read the site-stratified rank test first for "
            + ", ".join(rank_first)
            + ": the study's policy judged these rows non-normal at one site or more."
        )
    if len(keys) > 1:
        notes.append(HOW_TESTED)
    notes.append(HOW_POOLED)
    title = f"Table {table.get('number') or table['id']} (pooled): {table.get('title')}"
    return {
        "id": table["id"],
        "title": title,
        "header": header,
        "body": body,
        "notes": notes,
        "withheld": table.get("withheld"),
    }


def _or_text(or_: float, low: float, high: float) -> str:
    return f"{_num(or_, 2)} ({_num(low, 2)}–{_num(high, 2)})"


def _model_view(model: dict) -> dict[str, Any]:
    meta = model["meta_analysis"]
    terms = []
    for term, entry in meta["terms"].items():
        rows = [
            [s["site"], _or_text(s["or"], s["ci_low"], s["ci_high"]), ""] for s in entry["sites"]
        ]
        m = entry["meta"]
        facts = []
        if m is not None:
            weights = m.get("weights_random_pct") or {}
            for line in rows:
                w = weights.get(line[0])
                line[2] = "" if w is None else f"{_num(w, 1)} %"
            fe, re_ = m["fixed"], m["random"]
            rows.append(
                [
                    "Fixed effect",
                    _or_text(
                        math.exp(fe["estimate"]), math.exp(fe["ci_low"]), math.exp(fe["ci_high"])
                    ),
                    "",
                ]
            )
            rows.append(
                [
                    "Random effects (DerSimonian-Laird)",
                    _or_text(
                        math.exp(re_["estimate"]), math.exp(re_["ci_low"]), math.exp(re_["ci_high"])
                    ),
                    "",
                ]
            )
            pi = m.get("prediction_interval")
            if pi and pi.get("low") is not None:
                rows.append(
                    [
                        "95% prediction interval (a new site)",
                        f"{_num(math.exp(pi['low']), 2)}–{_num(math.exp(pi['high']), 2)}",
                        "",
                    ]
                )
            facts = [
                f"Cochran's Q = {_num(m['q'], 2)} on {m['q_df']} df, p = {_p(m['q_pvalue'])}",
                f"I² = {_num(m['i2'] * 100, 1)} %",
                f"tau² = {_num(m['tau2'], 4)}",
            ]
        terms.append(
            {
                "term": term,
                "label": entry["label"],
                "rows": rows,
                "facts": facts,
                "figure": f"figures/{model['id']}_{term}.svg",
            }
        )
    withheld = [f"{site}: {why}" for site, why in meta["withheld"].items()]
    distributed = None
    if model.get("distributed"):
        d = model["distributed"]
        distributed = {
            "question": d["question"],
            "facts": f"n = {d['n']}; log-likelihood {_num(d['loglik'], 4)}; converged at round "
            f"{d['iterations_to_converge']} of {d['rounds']}",
            "rows": [
                [
                    t["label"],
                    _num(t["estimate"], 4),
                    _num(t["se"], 4),
                    _or_text(t["odds_ratio"], t["ci_low"], t["ci_high"]),
                    _p(t["p_value"]),
                ]
                for t in d["terms"]
            ],
        }
    return {
        "id": model["id"],
        "title": f"Table {model.get('number') or model['id']}: {model.get('title')}",
        "meta_question": meta["question"],
        "terms": terms,
        "withheld": withheld,
        "distributed": distributed,
    }


def build_view(doc: dict) -> dict[str, Any]:
    """Everything the report prints, as text."""
    sites = ", ".join(f"{s['site']} (n = {s['n']})" for s in doc["sites"])
    return {
        "title": f"Multi-site study: {doc['study']['id']} version {doc['study']['version']}",
        "sites": sites,
        "disclosure": (
            f"Each site's bundle passed disclosure control (profile "
            f"{doc['disclosure']['profile']}: counts below {doc['disclosure']['threshold']} "
            "withheld, with any count that would give one back); no patient row left a site."
        ),
        "tables": [_table_view(t) for t in doc["tables"]],
        "models": [_model_view(m) for m in doc["models"]],
    }


def _markdown(view: dict) -> str:
    def table(header: list[str], body: list[list[str]]) -> list[str]:
        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        out = ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(map(cell, line)) + " |" for line in body]
        return out

    lines = [f"# {view['title']}", "", f"Sites: {view['sites']}.", "", view["disclosure"], ""]
    for t in view["tables"]:
        lines += [f"## {t['title']}", ""]
        if t["withheld"]:
            lines += [f"Not pooled: {t['withheld']}.", ""]
            continue
        lines += [*table(t["header"], t["body"]), ""]
        lines += [f"- {note}" for note in t["notes"]] + ([""] if t["notes"] else [])
    for m in view["models"]:
        lines += [
            f"## {m['title']}",
            "",
            "### Meta-analysis of the sites' estimates",
            "",
            m["meta_question"],
            "",
        ]
        for term in m["terms"]:
            lines += [f"#### {term['label']}", ""]
            lines += [*table(["Site", "OR (95% CI)", "Weight (random)"], term["rows"]), ""]
            lines += [f"- {fact}" for fact in term["facts"]] + [""]
            lines += [f"![Forest plot: {term['label']}]({term['figure']})", ""]
        lines += [f"- Withheld: {w}" for w in m["withheld"]]
        if m["distributed"]:
            d = m["distributed"]
            lines += ["### Exact distributed fit", "", d["question"], "", d["facts"], ""]
            lines += [*table(["Term", "Estimate", "SE", "OR (95% CI)", "p"], d["rows"]), ""]
    return "\n".join(lines) + "\n"


def _html(view: dict) -> str:
    from analysis.render.writers import _environment

    return _environment().get_template("multisite.html").render(**view)


def _forest_plots(doc: dict, out_dir: Path) -> list[Path]:
    """One forest plot per model term: the sites, both pooled estimates, the prediction
    interval."""
    from analysis.figures.meta_forest import meta_forest

    written = []
    for model in doc["models"]:
        for term, entry in model["meta_analysis"]["terms"].items():
            m = entry["meta"]
            if m is None:
                continue
            weights = m.get("weights_random_pct") or {}
            sites = [
                {
                    "site": s["site"],
                    "or": s["or"],
                    "ci_low": s["ci_low"],
                    "ci_high": s["ci_high"],
                    "weight_random_pct": weights.get(s["site"]),
                }
                for s in entry["sites"]
            ]
            fe, re_ = m["fixed"], m["random"]
            pi = m.get("prediction_interval") or {}
            fixed = {
                k: math.exp(fe[v])
                for k, v in (("or", "estimate"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))
            }
            random = {
                k: math.exp(re_[v])
                for k, v in (("or", "estimate"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))
            }
            if pi.get("low") is not None:
                random |= {"pi_low": math.exp(pi["low"]), "pi_high": math.exp(pi["high"])}
            random |= {"i2": m["i2"], "tau2": m["tau2"]}
            base = out_dir / "figures" / f"{model['id']}_{term}"
            written += meta_forest(entry["label"], sites, fixed, random, base)
    return written


def write_pooled(doc: dict, out_dir: Path) -> list[Path]:
    """pooled.json, report.md, report.html and the forest plots, all or none."""
    view = build_view(doc)
    files = [
        (out_dir / "pooled.json", dumps(doc)),
        (out_dir / "report.md", _markdown(view)),
        (out_dir / "report.html", _html(view)),
    ]
    with all_or_nothing([path for path, _ in files]):
        return _forest_plots(doc, out_dir) + write_texts(files)
