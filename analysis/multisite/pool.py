"""The coordinator's pooled tables and models, each saying how it was pooled.

What pools exactly and what does not is the point of this module:

* counts, percentages, means and SDs, Student's t and one-way ANOVA are exact: they are
  functions of each group's n, sum and sum of squared deviations, which the sites send;
  so is the ANOVA adjusted for site (site as a block), the parametric within-site test;
* a categorical row is tested stratified by site (Cochran-Mantel-Haenszel, with the
  Breslow-Day test of homogeneous odds ratios for a 2 x 2 row) beside the naive
  chi-square on the summed table, which ignores the sites;
* a rank-based row is tested stratified by site (van Elteren for two groups, its
  generalisation for more), from each site's rank sums; medians, quartiles, minimum and
  maximum cannot be pooled exactly from aggregates, so the sites' own medians are shown
  and no pooled one is invented;
* the model is pooled two ways, answering two questions (``MODEL_QUESTIONS``).

A row or group some site withheld (disclosure control) is not pooled at all: a pooled
value over the other sites would look complete and be wrong.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as sps

from analysis.errors import AnalysisError
from analysis.multisite import pooling

__all__ = ["MODEL_QUESTIONS", "pool_study"]

RANK_TESTS = {"mann_whitney", "mann_whitney_exact", "kruskal_wallis"}
MODEL_QUESTIONS = {
    "meta_analysis": (
        "What is the effect at a typical site, and how much does it vary between sites? "
        "Each site fits the model on its own patients; the site log odds ratios are "
        "combined by inverse-variance weighting (fixed effect: one common effect) and by "
        "DerSimonian-Laird random effects (site effects drawn from a distribution; its "
        "mean, tau-squared, I-squared and a 95% prediction interval for a new site)."
    ),
    "distributed": (
        "What would the single-centre analysis give on all the patients together? The "
        "model is fitted once on the pooled population by Newton-Raphson in which each "
        "site sends only its score vector and information matrix at the current "
        "estimates, round after round; the estimates and standard errors are those of the "
        "logistic regression on the concatenated rows. It assumes one intercept and one "
        "effect for all sites (no site term)."
    ),
}


def _site_rows(bundles: list[dict], table_id: str) -> list[tuple[str, dict]]:
    """(site, the bundle's table) for every bundle, in the order given."""
    out = []
    for b in bundles:
        table = next(t for t in b["tables"] if t["id"] == table_id)
        out.append((b["site"], table))
    return out


def _row(table: dict, variable: str) -> dict | None:
    return next((r for r in table["rows"] if r["variable"] == variable), None)


def _withheld_sites(values: dict[str, Any]) -> list[str]:
    return [site for site, v in values.items() if v is None]


def _continuous(name: str, per_site: list[tuple[str, dict]], keys: list[str]) -> dict:
    rows = {site: _row(t, name) for site, t in per_site}
    first = next(r for r in rows.values() if r is not None)
    pooled: dict[str, Any] = {}
    notes = []
    moments: dict[str, pooling.Moments | None] = {}
    cells: dict[str, list[pooling.Moments]] = {site: [] for site in rows}
    for key in keys:
        parts = {site: (r["groups"].get(key) if r else None) for site, r in rows.items()}
        hidden = [s for s, p in parts.items() if p is None or p["n"] is None]
        if hidden:
            moments[key] = None
            pooled[key] = None
            notes.append(f"group {key}: not pooled, withheld by {', '.join(hidden)}")
            continue
        for site, p in parts.items():
            cells[site].append(
                pooling.Moments(p["n"], p["total"], p["ss"])
                if p["n"]
                else pooling.Moments(0, 0.0, 0.0)
            )
        kept = [pooling.Moments(p["n"], p["total"], p["ss"]) for p in parts.values() if p["n"]]
        m = pooling.combine_moments(kept) if kept else pooling.Moments(0, 0.0, 0.0)
        moments[key] = m
        mean, sd = pooling.mean_sd(m) if m.n else (None, None)
        missing = sum(p["missing"] for p in parts.values() if p["missing"] is not None)
        pooled[key] = {"n": m.n, "missing": missing, "mean": mean, "sd": sd}
    tests: dict[str, Any] = {}
    present = [m for m in moments.values() if m is not None and m.n > 0]
    complete = all(m is not None for m in moments.values())
    if len(keys) > 1 and complete and len(present) >= 2:
        if len(present) == 2:
            tests["parametric"] = {"test": "student_t", **pooling.student_t(*present)}
        else:
            tests["parametric"] = {"test": "anova", **pooling.one_way_anova(present)}
        adjusted = pooling.site_adjusted_anova(list(cells.values()))
        if adjusted is not None:
            tests["site_adjusted"] = {"test": "site_adjusted_anova", **adjusted}
    strata = {site: (r or {}).get("ranks") for site, r in rows.items()}
    if len(keys) > 1 and complete and all(s is not None for s in strata.values()):
        strata_list = list(strata.values())
        if max(len([n for n in s["n"] if n]) for s in strata_list) >= 2:
            if len(present) == 2:
                tests["rank"] = {"test": "van_elteren", **pooling.van_elteren(strata_list)}
            else:
                test = pooling.stratified_rank_test(strata_list)
                tests["rank"] = {"test": "stratified_kruskal_wallis", **test}
    elif len(keys) > 1:
        withheld = [s for s, v in strata.items() if v is None]
        if withheld:
            notes.append("rank test not pooled: rank sums withheld by " + ", ".join(withheld))
    site_tests = {site: (r or {}).get("site_test") for site, r in rows.items()}
    rank_sites = [s for s, t in site_tests.items() if t in RANK_TESTS]
    primary = None
    if tests:
        # Within-site comparisons first, as for categorical rows (CMH): the rank test where
        # a site judged the row non-normal, else the site-adjusted ANOVA.
        if rank_sites and "rank" in tests:
            primary = "rank"
        else:
            primary = "site_adjusted" if "site_adjusted" in tests else "parametric"
        if primary not in tests:
            primary = next(iter(tests))
    reason = (
        f"the study's policy judged the data non-normal at {', '.join(rank_sites)}"
        if primary == "rank"
        else "the study's policy judged the data normal at every site"
    )
    return {
        "variable": name,
        "label": first["label"],
        "kind": "continuous",
        "decimals": first.get("decimals"),
        "pooled": pooled,
        "sites": {
            site: None
            if r is None
            else {
                "summary": r["summary"],
                "groups": {
                    k: {s: r["groups"][k][s] for s in ("n", "mean", "sd", "median", "q1", "q3")}
                    for k in keys
                    if k in r["groups"]
                },
                "test": r["site_test"],
                "p_value": r["site_p_value"],
            }
            for site, r in rows.items()
        },
        "tests": tests,
        "primary": primary,
        "primary_reason": reason if tests else None,
        "how": (
            "n, mean and SD exact from each site's n, sum and sum of squared deviations; "
            "medians cannot be pooled from aggregates: each site's own median (IQR) is shown"
        ),
        "notes": notes,
    }


def _categorical(name: str, per_site: list[tuple[str, dict]], keys: list[str]) -> dict:
    rows = {site: _row(t, name) for site, t in per_site}
    first = next(r for r in rows.values() if r is not None)
    levels = [lv["code"] for lv in first["levels"]]
    tables: dict[str, np.ndarray | None] = {}
    for site, r in rows.items():
        cells = [[(r["counts"].get(k) or {}).get(lv) for k in keys] for lv in levels] if r else None
        hidden = cells is None or any(v is None for line in cells for v in line)
        tables[site] = None if hidden else np.array(cells, dtype=float)
    hidden = _withheld_sites(tables)
    notes, tests = [], {}
    pooled = None
    if hidden:
        notes.append("not pooled: counts withheld (disclosure control) by " + ", ".join(hidden))
    else:
        total = sum(tables.values())
        missing = {k: sum(r["missing"][k] or 0 for r in rows.values()) for k in keys}
        col_n = total.sum(axis=0)
        pooled = {
            k: {
                "n": int(col_n[j]),
                "missing": missing[k],
                "counts": {lv: int(total[i, j]) for i, lv in enumerate(levels)},
                "percent": {
                    lv: (100.0 * total[i, j] / col_n[j] if col_n[j] else None)
                    for i, lv in enumerate(levels)
                },
            }
            for j, k in enumerate(keys)
        }
        if len(keys) > 1 and len(levels) > 1:
            strata = list(tables.values())
            tests["naive_chi_square"] = {
                "test": "naive_chi_square",
                **pooling.naive_chi_square(strata),
            }
            tests["cmh"] = {"test": "cmh", **pooling.cmh(strata)}
    return {
        "variable": name,
        "label": first["label"],
        "kind": "categorical",
        "levels": first["levels"],
        "pooled": pooled,
        "sites": {
            site: None
            if tables[site] is None
            else {
                "counts": {
                    k: {lv: int(tables[site][i, j]) for i, lv in enumerate(levels)}
                    for j, k in enumerate(keys)
                },
                "test": rows[site]["site_test"],
                "p_value": rows[site]["site_p_value"],
            }
            for site in rows
        },
        "tests": tests,
        "primary": "cmh" if "cmh" in tests else None,
        "how": (
            "counts summed over sites (exact); tested stratified by site "
            "(Cochran-Mantel-Haenszel), the naive chi-square on the summed table beside it"
        ),
        "notes": notes,
    }


def _pool_table(bundles: list[dict], table: dict) -> dict:
    per_site = _site_rows(bundles, table["id"])
    head = {k: table.get(k) for k in ("title", "number", "group_by")}
    withheld = [site for site, t in per_site if t.get("withheld")]
    if withheld:
        return {
            "id": table["id"],
            **head,
            "withheld": "withheld by " + ", ".join(withheld),
            "groups": [],
            "rows": [],
        }
    group_meta = per_site[0][1]["groups"]
    keys = [g["key"] for g in group_meta]
    groups = []
    for g in group_meta:
        sizes = [next(x for x in t["groups"] if x["key"] == g["key"])["n"] for _, t in per_site]
        n = None if any(s is None for s in sizes) else int(sum(sizes))
        groups.append(
            {
                "key": g["key"],
                "label": g["label"],
                "n": n,
                "by_site": dict(zip([s for s, _ in per_site], sizes, strict=True)),
            }
        )
    rows = []
    for name in table["rows"]:
        first = _row(per_site[0][1], name)
        kind = first["kind"] if first else "continuous"
        pool_row = _continuous if kind == "continuous" else _categorical
        rows.append(pool_row(name, per_site, keys))
    return {
        "id": table["id"],
        **head,
        "sites": [s for s, _ in per_site],
        "groups": groups,
        "rows": rows,
    }


def _meta(bundles: list[dict], model_id: str) -> dict:
    fits = {b["site"]: next(m for m in b["models"] if m["id"] == model_id) for b in bundles}
    usable = {s: f for s, f in fits.items() if not f.get("withheld")}
    withheld = {s: f["withheld"] for s, f in fits.items() if f.get("withheld")}
    terms = next(iter(fits.values()))["terms"]
    labels = next(iter(fits.values()))["term_labels"]
    out = {}
    for i, term in enumerate(terms):
        if term == "const":
            continue
        names = list(usable)
        est = [usable[s]["estimate"][i] for s in names]
        var = [usable[s]["cov"][i][i] for s in names]
        sites = []
        for s, b, v in zip(names, est, var, strict=True):
            low, high = pooling.wald_interval(b, math.sqrt(v))
            sites.append(
                {
                    "site": s,
                    "log_or": b,
                    "se": math.sqrt(v),
                    "or": math.exp(b),
                    "ci_low": math.exp(low),
                    "ci_high": math.exp(high),
                }
            )
        meta = pooling.meta_analysis(est, var, names) if len(names) >= 2 else None
        out[term] = {"label": labels.get(term, term), "sites": sites, "meta": meta}
    return {"terms": out, "withheld": withheld, "question": MODEL_QUESTIONS["meta_analysis"]}


def _distributed(model_id: str, fit: dict, rounds: int, labels: dict) -> dict:
    if rounds == 0 or not fit.get("converged"):
        last = f"{fit['max_step']:.3g}" if fit.get("max_step") is not None else "none taken"
        raise AnalysisError(
            f"model {model_id}: the distributed fit did not converge in {rounds} round(s) "
            f"(last step {last}); run more rounds (multisite.rounds in the configuration, "
            "or more pool-round and share-round steps by hand)"
        )
    terms = []
    for term, b, se in zip(fit["terms"], fit["beta"], fit["bse"], strict=True):
        low, high = pooling.wald_interval(b, se)
        z = b / se
        terms.append(
            {
                "term": term,
                "label": labels.get(term, term),
                "estimate": b,
                "se": se,
                "z": z,
                "p_value": float(2 * sps.norm.sf(abs(z))),
                "odds_ratio": math.exp(b),
                "ci_low": math.exp(low),
                "ci_high": math.exp(high),
            }
        )
    return {
        "terms": terms,
        "n": fit["n"],
        "loglik": fit["loglik"],
        "rounds": rounds,
        "iterations_to_converge": fit["converged_at"],
        "question": MODEL_QUESTIONS["distributed"],
    }


def pool_study(bundles: list[dict], study, final_round: dict | None) -> dict:
    """The pooled document: every summary table, and each model both ways."""
    tables = [
        _pool_table(bundles, t) for t in study.tables if t.get("kind", "summary") != "listing"
    ]
    models = []
    for spec in study.models:
        labels = next(m for m in bundles[0]["models"] if m["id"] == spec["id"])["term_labels"]
        entry = {
            "id": spec["id"],
            "title": spec.get("title"),
            "number": spec.get("number"),
            "meta_analysis": _meta(bundles, spec["id"]),
        }
        if final_round is not None:
            fit = final_round["models"][spec["id"]]
            entry["distributed"] = _distributed(spec["id"], fit, final_round["round"], labels)
        models.append(entry)
    return {
        "kind": "multisite-pooled",
        "study": {k: bundles[0]["study"][k] for k in ("id", "version", "sha256")},
        "sites": [
            {"site": b["site"], "n": b["n"], "bundle_sha256": b["checksum"]["value"]}
            for b in bundles
        ],
        "disclosure": bundles[0]["disclosure"],
        "tables": tables,
        "models": models,
    }
