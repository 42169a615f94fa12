"""The report: every table, the flow of the cohort, figures, methods, scorecard.

The HTML carries no timestamp (so reruns are byte-identical); when and with
what the run was made goes to the provenance manifest beside it.
"""

from __future__ import annotations

import base64
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.export import atomic_path
from analysis.fingerprint import code_sha256, file_sha256
from analysis.render.grid import LISTING_MAX_ROWS, format_p, normality_grid, to_grid
from analysis.render.safe import md_text
from analysis.render.writers import _environment, to_markdown
from analysis.results import dumps, read_json
from analysis.study import Study
from analysis.tables import TEST_LABELS

__all__ = ["input_list", "methods_text", "provenance", "scorecard", "write_report"]

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
        if m.get("method") == "firth":
            how = (
                "by Firth's penalised likelihood (firthmodels), profile penalised-likelihood "
                "95% confidence intervals and penalised likelihood-ratio p-values"
            )
        else:
            how = "by maximum likelihood (statsmodels), Wald 95% confidence intervals"
        paragraphs.append(
            f"{m['title']}: logistic regression of {m['outcome']} on "
            f"{', '.join(m['predictors'])} {how}; {m['coding']}; n = {m['n']}, "
            f"{m['events']} events. Crude odds ratios come from one model per predictor."
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
            if ours is None:  # a factor: its joint test (Wald as SPSS, or Firth's penalised LR)
                key = "lr_p_value" if res.get("method") == "firth" else "wald_p_value"
                ours = next(
                    (t[key] for t in res.get("predictor_tests", [])
                     if t["predictor"] == item["variable"]),
                    None,
                )  # fmt: skip
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


def provenance(study: Study, inputs: list[Path]) -> dict[str, Any]:
    """What the run was made with and from; each input hashed once (shown in the report too)."""
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
        # File names only: a folder name may carry a patient's or a site's name.
        "study_file": {"path": Path(study.path).name, "sha256": file_sha256(study.path)},
        "inputs": [{"path": p.name, "sha256": file_sha256(p)} for p in inputs if p.exists()],
        # The package's own code: a changed engine makes this report stale.
        "code_sha256": code_sha256(),
    }


def input_list(manifest: dict[str, Any]) -> list[dict[str, str]]:
    """The inputs a report names: the study file and each input, by file name and SHA-256.

    Taken from the provenance manifest so the report and provenance.json show the
    same checksums. Only the file name is shown: a folder name may carry a patient's
    or a site's name.
    """
    entries = [*manifest["inputs"], manifest["study_file"]]
    seen: set[str] = set()
    out = []
    for entry in entries:
        if entry["path"] in seen:
            continue
        seen.add(entry["path"])
        out.append({"name": Path(entry["path"]).name, "sha256": entry["sha256"]})
    return out


def write_report(
    study: Study,
    result_paths: list[Path],
    flow_path: Path | None,
    figure_paths: list[Path],
    out_html: Path,
    data_label: str,
    inputs: list[Path] | None = None,
    validation_path: Path | None = None,
    *,
    listing_max_rows: int | None = LISTING_MAX_ROWS,
    settings_sha256: str | None = None,
) -> list[Path]:
    """Write report.html, report.md and provenance.json next to each other.

    A listing shows at most ``listing_max_rows`` rows (``None``: all), as in the
    rendered tables. ``settings_sha256`` (the workflow's configuration checksum) goes
    into provenance.json, so a later run with other settings knows this report is stale.
    """
    results = [read_json(p) for p in result_paths]
    order = {oid: i for i, oid in enumerate(sorted(study.output_ids(), key=_table_number))}
    results.sort(key=lambda r: order.get(r.get("table") or r.get("model"), 99))
    by_id = {r.get("table") or r.get("model"): r for r in results}
    grids = [to_grid(r, listing_max_rows=listing_max_rows) for r in results]
    flow_doc = read_json(flow_path) if flow_path else {}
    checks = _data_checks(validation_path)
    flow_missing = flow_doc.get("made_missing") or []
    if checks and checks["made_missing"] == flow_missing:
        flow_missing = []  # the same entries, already listed under the data checks
    manifest = provenance(study, inputs or [])
    if settings_sha256:
        manifest["settings_sha256"] = settings_sha256
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
        "inputs": input_list(manifest),
        "flow": [{**step, "detail": _exclusion_detail(step)} for step in flow_doc.get("steps", [])],
        "flow_missing": flow_missing,
        "flow_substituted": flow_doc.get("substituted") or [],
        "tables": grids,
        "normality": [
            g
            for g in (normality_grid(r) for r in results if r.get("kind") == "summary")
            if g is not None
        ],
        "figures": figures,
        "methods": methods_text(study, results),
        "scorecard": scorecard(study, by_id),
        "checks": checks,
    }
    html = _environment().get_template("report.html").render(**context)
    out_html = Path(out_html)
    out_md = out_html.with_suffix(".md")
    out_prov = out_html.with_name("provenance.json")
    for path, text in (
        (out_html, html),
        (out_md, _markdown(context)),
        (out_prov, dumps(manifest)),
    ):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return [out_html, out_md, out_prov]


def _exclusion_detail(step: dict[str, Any]) -> str:
    """Why a step's rows went, when flow.json splits the count (newer files do)."""
    parts = []
    if step.get("excluded_not_met"):
        parts.append(f"{step['excluded_not_met']} did not meet the criterion")
    if step.get("excluded_value_missing"):
        by_var = ", ".join(
            f"{k} {v}" for k, v in (step.get("missing_variables") or {}).items() if v
        )
        parts.append(
            f"{step['excluded_value_missing']} had a missing value"
            + (f" ({by_var})" if by_var else "")
        )
    return "; ".join(parts)


def _md_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """A small Markdown table, every cell escaped (md_text)."""
    lines = ["| " + " | ".join(md_text(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _made_missing_md(entries: list[dict[str, Any]], caption: str) -> list[str]:
    if not entries:
        return []
    rows = [[e["column"], e["reason"], e["count"]] for e in entries]
    return [f"**{md_text(caption)}**", "", *_md_table(["Column", "Reason", "Count"], rows)]


def _markdown(context: dict[str, Any]) -> str:
    """report.md: the same sections as report.html; user text always through md_text.

    Built in Python rather than from a template: jinja2 has no Markdown
    autoescaping, and a forgotten filter in a template would leave a label live.
    """
    study = context["study"]
    parts = [f"# {md_text(study['title'])}", ""]
    if study.get("citation"):
        parts += [f"Reproduction of: {md_text(study['citation'])}", ""]
    parts += [f"Data: {md_text(context['data_label'])}", ""]
    if context["inputs"]:
        parts += ["## Inputs", ""]
        parts += _md_table(
            ["File", "SHA-256"], [[i["name"], i["sha256"]] for i in context["inputs"]]
        )
    if context["flow"]:
        parts += ["## Cohort", ""]
        detail = any(s["detail"] for s in context["flow"])
        parts += _md_table(
            ["Step", "Criterion", "n", "Excluded"] + (["Why"] if detail else []),
            [
                [s["step"], s["label"], s["n"], s["excluded"]] + ([s["detail"]] if detail else [])
                for s in context["flow"]
            ],
        )
    parts += _made_missing_md(context["flow_missing"], "Values made missing during derivation")
    parts += _made_missing_md(context["flow_substituted"], "Values substituted during derivation")
    checks = context["checks"]
    if checks:
        parts += ["## Data checks", ""]
        parts += [
            f"{checks['n_rows']} rows validated against the study file: no errors, "
            f"{len(checks['warnings'])} warning(s).",
            "",
        ]
        parts += [f"- {md_text(line)}" for line in checks["warnings"] + checks["more"]]
        if checks["warnings"] or checks["more"]:
            parts.append("")
        parts += [f"- {md_text(line)}" for line in checks["notes"]]
        if checks["notes"]:
            parts.append("")
        parts += _made_missing_md(checks["made_missing"], "Values made missing")
        if checks["missing_by_column"] is not None:
            if checks["missing_by_column"]:
                parts += ["**Missing values by column**", ""]
                parts += _md_table(["Column", "Missing"], checks["missing_by_column"])
            else:
                parts += ["No column has missing values.", ""]
    parts += ["## Tables", ""]
    parts += [to_markdown(g) for g in context["tables"]]
    parts += ["## Methods", ""] + [md_text(p, line_start=True) + "\n" for p in context["methods"]]
    parts += [
        "Provenance (package versions, input checksums, time of the run): provenance.json.",
        "",
    ]
    return "\n".join(parts)


def _data_checks(validation_path: Path | None) -> dict[str, Any] | None:
    """The validation warnings (errors would have stopped the run), as report lines,
    with the values made missing and the missing counts per column when the file has them."""
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
    by_column = report.get("missing_by_column")
    return {
        "n_rows": report["n_rows"],
        "warnings": lines,
        "more": [
            f"{key}: {count} more row(s) not listed"
            for key, count in (report.get("more_rows_not_listed") or {}).items()
        ],
        "made_missing": report.get("made_missing") or [],
        "notes": _reading_notes(report),
        # [[column, count]] for columns with any missing value; None: not in the file
        "missing_by_column": (
            None
            if by_column is None
            else [[column, count] for column, count in by_column.items() if count]
        ),
    }


def _reading_notes(report: dict[str, Any]) -> list[str]:
    """What reading did besides reading: identifier columns dropped, values matched by label."""
    from analysis.labels import summary_lines

    notes = []
    if report.get("identifiers_dropped"):
        names = ", ".join(f"'{c}'" for c in report["identifiers_dropped"])
        notes.append(f"Identifier column(s) dropped on reading: {names}.")
    notes += [f"Value labels, {line}." for line in summary_lines(report.get("value_labels") or [])]
    return notes


def _table_number(output_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in output_id if ch.isdigit())
    return (int(digits) if digits else 99, output_id)
