"""The report: every table, the flow of the cohort, figures, methods, scorecard.

The HTML carries no timestamp (so reruns are byte-identical); when and with
what the run was made goes to the provenance manifest beside it.
"""

from __future__ import annotations

import base64
import hashlib
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.export import atomic_path
from analysis.render.grid import format_p, normality_grid, to_grid
from analysis.render.writers import _environment, to_html, to_markdown
from analysis.results import dumps, read_json
from analysis.study import Study
from analysis.tables import TEST_LABELS

__all__ = ["methods_text", "provenance", "scorecard", "sha256", "write_report"]

PACKAGES = [
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "pyreadstat",
    "seaborn",
    "snakemake",
    "firthmodels",
]


def methods_text(study: Study, results: list[dict[str, Any]]) -> list[str]:
    """Methods paragraphs written from what actually ran."""
    summaries = [res for res in results if res.get("kind") == "summary"]
    used = sorted({r["test"] for res in summaries for r in res["rows"]} - {"none"})
    policies = {res["policy"]["name"]: res["policy"] for res in summaries}
    paragraphs = []
    for name, policy in policies.items():
        paragraphs.append(f"Policy '{name}': {policy.get('description', '').strip()}")
    if used:
        paragraphs.append("Tests that ran: " + "; ".join(TEST_LABELS.get(t, t) for t in used) + ".")
    models = [res for res in results if "model" in res]
    for m in models:
        paragraphs.append(
            f"{m['title']}: logistic regression of {m['outcome']} on "
            f"{', '.join(m['predictors'])} by maximum likelihood (statsmodels), Wald 95% "
            f"confidence intervals; n = {m['n']}, {m['events']} events. "
            "Crude odds ratios come from one model per predictor."
        )
    paragraphs.append(
        f"Two-sided p < {study.alpha} was considered significant. Quartiles use SPSS's "
        "weighted average at (n + 1)p; standard deviations use n - 1."
    )
    return paragraphs


def scorecard(study: Study, results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each p-value the paper states beside ours, and whether both fall on the same side."""
    alpha = study.alpha
    rows = []
    for item in study.published.get("p_values", []):
        res = results.get(item["table"])
        ours = None
        if res is None:
            pass
        elif "model" in res:
            ours = next((t["p_value"] for t in res["terms"] if t["term"] == item["variable"]), None)
        else:
            ours = next(
                (r["p_value"] for r in res["rows"] if r["variable"] == item["variable"]), None
            )
        published_sig = item["p"] < alpha if "p" in item else item["significant"]
        published = format_p(item["p"]) if "p" in item else ("< 0.05" if published_sig else "ns")
        rows.append(
            {
                "table": item["table"],
                "variable": item["variable"],
                "published": published,
                "ours": format_p(ours) if ours is not None else "n/a",
                "agree": ours is not None and (ours < alpha) == published_sig,
            }
        )
    return rows


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(study: Study, inputs: list[Path]) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "study_file": {"path": str(study.path), "sha256": sha256(study.path)},
        "inputs": [{"path": str(p), "sha256": sha256(p)} for p in inputs if p.exists()],
    }


def write_report(
    study: Study,
    result_paths: list[Path],
    flow_path: Path | None,
    figure_paths: list[Path],
    out_html: Path,
    data_label: str,
    inputs: list[Path] | None = None,
    validation_path: Path | None = None,
) -> list[Path]:
    """Write report.html, report.md and provenance.json next to each other."""
    results = [read_json(p) for p in result_paths]
    order = {oid: i for i, oid in enumerate(sorted(study.output_ids(), key=_table_number))}
    results.sort(key=lambda r: order.get(r.get("table") or r.get("model"), 99))
    by_id = {r.get("table") or r.get("model"): r for r in results}
    grids = [to_grid(r) for r in results]
    flow = read_json(flow_path)["steps"] if flow_path else []
    captions = {fig["id"]: fig["caption"] for fig in study.figures}
    figures = [
        {
            "caption": captions.get(p.stem, p.stem),
            "data": base64.b64encode(p.read_bytes()).decode("ascii"),
        }
        for p in figure_paths
    ]
    context = {
        "study": study.raw["study"],
        "data_label": data_label,
        "flow": flow,
        "tables": [to_html(g, standalone=False) for g in grids],
        "normality": [
            to_html(g, standalone=False)
            for g in (normality_grid(r) for r in results if r.get("kind") == "summary")
            if g is not None
        ],
        "figures": figures,
        "methods": methods_text(study, results),
        "scorecard": scorecard(study, by_id),
        "checks": _data_checks(validation_path),
    }
    html = _environment().get_template("report.html").render(**context)
    md_parts = [f"# {study.title}", "", f"Data: {data_label}", ""]
    md_parts += [to_markdown(g) for g in grids]
    md_parts += ["## Methods", ""] + [p + "\n" for p in context["methods"]]
    out_html = Path(out_html)
    out_md = out_html.with_suffix(".md")
    out_prov = out_html.with_name("provenance.json")
    for path, text in (
        (out_html, html),
        (out_md, "\n".join(md_parts)),
        (out_prov, dumps(provenance(study, inputs or []))),
    ):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return [out_html, out_md, out_prov]


def _data_checks(validation_path: Path | None) -> dict[str, Any] | None:
    """The validation warnings (errors would have stopped the run), as report lines."""
    if validation_path is None:
        return None
    report = read_json(validation_path)
    lines = []
    for p in report["problems"]:
        where = ", ".join(
            part for part in (
                f"column '{p['column']}'" if p["column"] else "",
                f"row {p['row']}" if p["row"] else "",
            ) if part
        )  # fmt: skip
        lines.append(f"{where}: {p['message']} [{p['rule']}]" if where else p["message"])
    return {"n_rows": report["n_rows"], "warnings": lines, "more": report["more_rows_not_listed"]}


def _table_number(output_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in output_id if ch.isdigit())
    return (int(digits) if digits else 99, output_id)
