"""The report: data and cohort, data checks, every table, figures, methods, checklist.

Everything in report.html and report.md is written from the results, the study file
and the provenance manifest; the one value that changes between two runs on the
same inputs is the time of the run, in the provenance block at the end. A reader
sees table captions and variable labels, never the study file's ids.
"""

from __future__ import annotations

import base64
import os
import platform
import re
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.atomic import atomic_path
from analysis.derive_check import derivation_sources
from analysis.disclosure import Profile, apply_to_flow, apply_to_result
from analysis.errors import AnalysisError
from analysis.fingerprint import code_sha256, file_sha256
from analysis.method_labels import NORMALITY_LABELS, TEST_LABELS
from analysis.render.grid import (
    LISTING_MAX_ROWS,
    SUMMARY_LABELS,
    Grid,
    normality_grid,
    to_grid,
)
from analysis.render.manuscript import order_results
from analysis.render.number_style import PAPER, NumberStyle
from analysis.render.safe import md_text
from analysis.render.typeset import typeset
from analysis.render.writers import _environment, to_markdown
from analysis.results import dumps, read_json
from analysis.scorecard import score
from analysis.strobe import checklist
from analysis.study import Study

__all__ = [
    "build_context",
    "input_list",
    "methods_text",
    "provenance",
    "scorecard",
    "table_caption",
    "write_report",
]

PACKAGES = [
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "firthmodels",
    "pyarrow",
    "pyreadstat",
    "matplotlib",
    "seaborn",
    "jinja2",
    "snakemake",
]

#: Tables wider than this (estimated characters per line) print on a landscape page.
WIDE_CHARS = 95

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".svg": "image/svg+xml"}  # fmt: skip


# --------------------------------------------------------------------- names


def _output_id(result: dict[str, Any]) -> str:
    return result.get("table") or result.get("model") or ""


def _anchor(prefix: str, name: str) -> str:
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_-]+', '-', str(name))}"


def _label(study: Study, name: str) -> str:
    """A variable's label from the study file (its name when it is not a study variable)."""
    var = study.variables.get(name)
    return var.label if var else str(name)


def _specs(study: Study) -> dict[str, dict[str, Any]]:
    return {spec["id"]: spec for spec in [*study.tables, *study.models]}


def table_caption(study: Study, result: dict[str, Any], grid: Grid | None = None) -> str:
    """ "Table 1. <title>" (the bare title when the study file gives no number)."""
    if grid is not None and hasattr(grid, "caption"):
        return grid.caption
    spec = _specs(study).get(_output_id(result), {})
    title = result.get("title") or spec.get("title") or _output_id(result)
    number = result.get("number") or spec.get("number")
    return f"Table {number}. {title}" if number else title


def _short(caption: str) -> str:
    """ "Table 1" of "Table 1. <title>"; the whole caption when it has no number."""
    found = re.match(r"(Table \S+?)\.\s", caption)
    return found.group(1) if found else caption


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ------------------------------------------------------------------- methods


def _methods(
    study: Study,
    results: list[dict[str, Any]],
    *,
    captions: dict[str, str] | None = None,
    manifest: dict[str, Any] | None = None,
    flow: dict[str, Any] | None = None,
    data_label: str = "",
) -> dict[str, list[str]]:
    """The Methods, by subsection: cohort, statistics, models, missing data, software."""
    captions = captions or {}

    def short(res: dict[str, Any]) -> str:
        return _short(captions.get(_output_id(res)) or table_caption(study, res))

    shown = [res for res in results if not res.get("withheld")]
    summaries = [res for res in shown if res.get("kind") == "summary"]
    models = [res for res in shown if "model" in res]
    out: dict[str, list[str]] = {"cohort": [], "statistics": [], "missing": [], "software": []}

    steps = (flow or {}).get("steps") or []
    if steps:
        criteria = [typeset(s["label"]) for s in steps if s.get("step", 0) > 0]
        text = f"The analysis used the {data_label}. " if data_label else ""
        if criteria:
            text += "Inclusion criteria were applied in this order: " + "; ".join(criteria) + ". "
        text += (
            f"Of {steps[0]['n']} records read, {steps[-1]['n']} were included "
            "(flow of the cohort, with the number excluded at each step and why)."
        )
        out["cohort"].append(text)

    # descriptive statistics
    continuous = sorted(
        {r["summary"] for res in summaries for r in res["rows"] if r["kind"] == "continuous"}
    )
    if summaries:
        text = "Continuous variables are summarised as " + (
            " or ".join(SUMMARY_LABELS.get(s, s) for s in continuous) or "-"
        )
        text += "; categorical variables as n (%), percentages of the non-missing values."
        out["statistics"].append(text)

    # test policies, each with the tables that follow it
    by_policy: dict[str, list[dict[str, Any]]] = {}
    for res in summaries:
        by_policy.setdefault(res["policy"]["name"], []).append(res)
    for name, members in by_policy.items():
        policy = members[0]["policy"]
        tables = _join([short(r) for r in members])
        text = f"{tables}: test policy '{name}', fixed in the study file before the analysis"
        description = typeset((policy.get("description") or "").strip())
        text += f": {description}" if description else "."
        normality = policy.get("normality")
        if normality:
            test = normality.get("test")
            text += (
                f" Normality was tested in each group with the "
                f"{NORMALITY_LABELS.get(test, test)} at alpha = {normality.get('alpha', 0.05)}"
                "; a variable normal in every group is summarised and compared as normal, "
                "otherwise as not normal"
            )
            also = [NORMALITY_LABELS.get(t, t) for t in normality.get("also") or []]
            text += f" ({_join(also)} computed alongside, not used to choose)." if also else "."
        out["statistics"].append(text)

    # the tests that ran, each with its tables, named as the footnotes name them
    used: dict[str, list[str]] = {}
    for res in summaries:
        for row in res["rows"]:
            test = row.get("test")
            if test and test != "none" and short(res) not in used.setdefault(test, []):
                used[test].append(short(res))
    if used:
        parts = [f"{TEST_LABELS.get(t, t)} ({_join(tables)})" for t, tables in sorted(used.items())]
        out["statistics"].append("Groups were compared with: " + "; ".join(parts) + ".")
    for res in summaries:
        overridden: dict[str, list[str]] = {}
        for row in res["rows"]:
            if "override" in str(row.get("test_reason") or ""):
                labels = overridden.setdefault(row.get("test") or "none", [])
                if _label(study, row["variable"]) not in labels:
                    labels.append(_label(study, row["variable"]))
        for test, labels in overridden.items():
            how = "no test" if test == "none" else TEST_LABELS.get(test, test)
            out["statistics"].append(
                f"{short(res)}: {_join(labels)} use the summary and test the study file sets "
                f"for them ({how}), not the policy's choice."
            )

    versions = (manifest or {}).get("packages") or {}

    def version(name: str) -> str:
        return f" {versions[name]}" if versions.get(name) else ""

    for m in models:
        outcome = _label(study, m["outcome"])
        event = study.variables[m["outcome"]].codes.get(m.get("event")) if (
            m["outcome"] in study.variables) else None  # fmt: skip
        predictors = [
            (m.get("predictor_labels") or {}).get(p) or _label(study, p) for p in m["predictors"]
        ]
        if m.get("method") == "firth":
            how = (
                f"Firth's penalised likelihood (firthmodels{version('firthmodels')}), with "
                "profile penalised-likelihood 95% confidence intervals and penalised "
                "likelihood-ratio p-values"
            )
        else:
            how = (
                f"maximum likelihood (statsmodels{version('statsmodels')}), with Wald 95% "
                "confidence intervals and Wald p-values"
            )
        text = (
            f"{short(m)}: logistic regression of {outcome}"
            + (f" ({event})" if event else "")
            + f" on {_join(predictors)}, fitted by {how}; {m.get('coding', '')}."
        )
        if m.get("crude"):
            text += " Crude odds ratios come from one model per predictor, adjusted ones from "
            text += "the model with all predictors."
        if m.get("firth"):
            text += (
                " Because of few events per variable or separation, a fit by Firth's "
                "penalised likelihood is shown beside it."
            )
        out["statistics"].append(text)

    out["statistics"].append(
        f"Two-sided p < {study.alpha} was considered significant. Quartiles use SPSS's "
        "weighted average at (n + 1)p; standard deviations use n - 1."
    )

    # missing data
    if summaries:
        out["missing"].append(
            "No values were imputed. Each table row uses the patients with a value for "
            "that variable (their number per group is in the column header, those without "
            "one are counted in a 'Missing' line under the row); percentages are of the "
            "non-missing values."
        )
    for m in models:
        dropped = m.get("n_dropped") or 0
        by_column = [
            f"{_label(study, c)} {k}" for c, k in (m.get("missing_by_column") or {}).items() if k
        ]
        text = (
            f"{short(m)} is a complete-case analysis: {m['n']} of {m['n'] + dropped} "
            f"patients had every model variable ({m['events']} events"
        )
        if m.get("events_per_variable") is not None:
            text += f", {m['events_per_variable']:.1f} events per variable"
        text += f"); {dropped} excluded for a missing value"
        text += f" ({', '.join(by_column)})." if by_column else "."
        out["missing"].append(text)

    # software
    if manifest:
        packages = [f"{name}{version(name)}" for name in versions if versions.get(name)]
        text = f"Analysis in Python {manifest.get('python', '')}"
        text += f" with {_join(packages)}." if packages else "."
        text += (
            " Study file, input files and code are identified by their SHA-256 checksums "
            "under Provenance."
        )
        out["software"].append(text)
    reference = study.raw["study"].get("software_reference")
    if reference:
        out["software"].append(f"The published analysis used {reference}.")
    return out


def methods_text(
    study: Study,
    results: list[dict[str, Any]],
    *,
    captions: dict[str, str] | None = None,
    manifest: dict[str, Any] | None = None,
    flow: dict[str, Any] | None = None,
    data_label: str = "",
) -> list[str]:
    """Methods paragraphs written from what actually ran (every subsection, in order)."""
    parts = _methods(
        study, results, captions=captions, manifest=manifest, flow=flow, data_label=data_label
    )
    return [p for paragraphs in parts.values() for p in paragraphs]


# ----------------------------------------------------------------- variables


def _derivation(study: Study, spec: dict[str, Any] | None) -> str:
    """How a derived variable is computed, in words (labels, not names)."""
    if not spec:
        return ""
    kind = str(spec.get("kind"))
    sources = [_label(study, s) for s in derivation_sources(spec)]
    if kind == "cut" and sources:
        breaks = ", ".join(f"{b:g}" if isinstance(b, float) else str(b)
                           for b in spec.get("breaks", []))  # fmt: skip
        return f"{sources[0]} cut at {breaks} (lower bound in the upper group)"
    if kind == "ratio" and len(sources) == 2:
        return f"{sources[0]} / {sources[1]}"
    if kind == "bmi" and len(sources) == 2:
        return f"{sources[0]} / ({sources[1]} in m)²"
    if kind == "mdrd_egfr":
        return "MDRD study equation from " + _join(sources)
    if kind == "ckd_group":
        var_codes = {}
        for var in study.variables.values():
            if var.derive is spec:
                var_codes = var.codes
        egfr = _label(study, spec.get("egfr", ""))
        parts = [
            f"{var_codes.get(b['code'], b['code'])}: {egfr} {b['egfr_min']:g} to "
            f"< {b['egfr_max']:g}"
            for b in spec.get("bands", [])
        ]
        dialysis = spec.get("dialysis")
        if dialysis:
            codes = study.variables[dialysis].codes if dialysis in study.variables else {}
            off = codes.get(spec.get("not_on_dialysis_code"), spec.get("not_on_dialysis_code"))
            code = spec.get("dialysis_code")
            parts.append(f"{var_codes.get(code, code)}: {_label(study, dialysis)} other than {off}")
        return "; ".join(parts)
    if kind == "expression":
        return f"expression: {spec.get('expr', '')}"
    return f"{kind.replace('_', ' ')} of {_join(sources)}" if sources else kind.replace("_", " ")


def _variables(study: Study, captions: dict[str, str]) -> list[dict[str, str]]:
    """The study variables the report uses: label, unit, type, values, derivation, where."""
    used: dict[str, list[str]] = {}

    def use(name: Any, where: str) -> None:
        if isinstance(name, str) and name in study.variables:
            places = used.setdefault(name, [])
            if where and where not in places:
                places.append(where)

    for spec in [*study.tables, *study.models]:
        where = _short(captions.get(spec["id"], spec.get("title", "")))
        for key in ("rows", "columns", "predictors"):
            for name in spec.get(key) or []:
                use(name, where)
        for key in ("group_by", "outcome"):
            use(spec.get(key), where)
        for name in spec.get("where") or {}:
            use(name, where)
    for name in _inclusion_variables(study.inclusion):
        use(name, "Inclusion")
    pending = list(used)
    while pending:  # what the derived variables are made of
        var = study.variables[pending.pop()]
        for source in derivation_sources(var.derive) if var.derive else []:
            if source in study.variables and source not in used:
                used[source] = []
                pending.append(source)
    rows = []
    for name, var in study.variables.items():
        if name not in used or var.identifier:
            continue
        if var.codes:
            values = "; ".join(f"{code} = {text}" for code, text in var.codes.items())
        elif var.range:
            values = f"{var.range[0]:g} to {var.range[1]:g}"
        else:
            values = ""
        if var.only_if:
            condition = "; ".join(
                f"{_label(study, k)} = "
                + ", ".join(
                    str(study.variables[k].codes.get(v, v)) if k in study.variables else str(v)
                    for v in (vals if isinstance(vals, list) else [vals])
                )
                for k, vals in var.only_if.items()
            )  # fmt: skip
            values += ("; " if values else "") + f"recorded only if {condition}"
        rows.append(
            {
                "label": typeset(var.label),
                "unit": typeset(var.unit or ""),
                "type": var.type,
                "allowed": typeset(values),
                "derived": _derivation(study, var.derive),
                "used": ", ".join(used[name]),
            }
        )
    return rows


def _inclusion_variables(criteria: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for criterion in criteria:
        if "variable" in criterion:
            out.append(criterion["variable"])
        for key in ("any", "all"):
            out += _inclusion_variables(criterion.get(key) or [])
    return out


# ----------------------------------------------------------------- scorecard


def scorecard(
    study: Study,
    results: dict[str, dict[str, Any]],
    flow: dict[str, Any] | None = None,
    *,
    own_data: bool = True,
) -> list[dict[str, Any]]:
    """Each published figure beside ours (analysis.scorecard.score), as plain rows:
    ``table``, ``variable``, ``kind``, ``published`` and ``ours`` (as printed), ``agree``
    (reproduced under the figure's tolerance) and ``why_not``."""
    card = score(study, results, flow, own_data=own_data)
    return [
        {
            "table": e["table"],
            "variable": e["variable"],
            "kind": e["kind"],
            "published": e["published_text"],
            "ours": e["ours_text"],
            "agree": e["reproduced"],
            "why_not": e["why_not"],
        }
        for e in card["entries"]
    ]


#: Where the full scorecard is, next to the report (reports/reproduction.html).
SCORECARD_HTML = "reproduction.html"
#: The misses the report lists before it refers to the full scorecard.
SCORECARD_MISSES_SHOWN = 25


def _scorecard_summary(
    study: Study, results: dict[str, dict[str, Any]], flow: dict[str, Any] | None, own_data: bool
) -> dict[str, Any] | None:
    """The report's short scorecard: headline, the misses, a link to the full one."""
    if not study.published:
        return None
    card = score(study, results, flow, own_data=own_data)
    misses = [
        {
            "table": e["table_short"],
            "figure": e["variable_label"] + (f" ({e['group_label']})" if e["group_label"] else ""),
            "published": e["published_text"],
            "ours": e["ours_text"],
            "why": e["why_not"],
        }
        for e in card["misses"]
    ]
    return {
        "headline": card["headline"],
        "n_reproduced": card["n_reproduced"],
        "n_total": card["n_total"],
        "misses": misses[:SCORECARD_MISSES_SHOWN],
        "more_misses": max(len(misses) - SCORECARD_MISSES_SHOWN, 0),
        "href": SCORECARD_HTML,
    }


def created_at() -> str:
    """When the report was made, in UTC: ``SOURCE_DATE_EPOCH`` when set (the reproducible-
    builds convention), so a reviewer's rebuild of the same inputs is byte-identical to
    the report they were sent; otherwise now."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        moment = datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        raise AnalysisError(
            f"SOURCE_DATE_EPOCH: {raw!r} is not a whole number of seconds since 1970-01-01"
        ) from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(study: Study, inputs: list[Path]) -> dict[str, Any]:
    """What the run was made with and from; each input hashed once (shown in the report too)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "created": created_at(),
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


# -------------------------------------------------------------------- report


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
    own_data: bool | None = None,
    style: NumberStyle = PAPER,
    disclosure: Profile | None = None,
    sensitivity_paths: list[Path] | None = None,
) -> list[Path]:
    """Write report.html, report.md and provenance.json next to each other.

    A listing shows at most ``listing_max_rows`` rows (``None``: all), as in the
    rendered tables. ``settings_sha256`` (the workflow's configuration checksum) goes
    into provenance.json, so a later run with other settings knows this report is stale.
    ``own_data``: the data are the study's own (its synthetic stand-in), so the report
    is a reproduction of the published results; otherwise (a site's data) it is an
    analysis with the study's design, compared with the published values. Default:
    whether ``data_label`` starts with "synthetic". ``style`` prints the numbers as the
    tables do; ``disclosure`` protects every table, the flow and the listing first.
    ``sensitivity_paths``: the sensitivity analyses' JSONs (results/sensitivity/*.json),
    each shown in a subsection of "Sensitivity analyses" and named in the Methods; under
    ``disclosure`` their small counts and single patients' values are withheld.
    """
    results = order_results(study, [read_json(p) for p in result_paths])
    flow_doc = read_json(flow_path) if flow_path else {}
    if disclosure is not None:
        results = [apply_to_result(r, disclosure) for r in results]
        if flow_doc:
            flow_doc = apply_to_flow(flow_doc, disclosure)
    manifest = provenance(study, inputs or [])
    if settings_sha256:
        manifest["settings_sha256"] = settings_sha256
    if own_data is None:
        own_data = data_label.strip().lower().startswith("synthetic")
    context = build_context(
        study,
        results,
        flow_doc,
        figure_paths,
        data_label,
        manifest,
        _data_checks(validation_path),
        listing_max_rows=listing_max_rows,
        own_data=own_data,
        style=style,
        sensitivity=sensitivity_paths,
        profile=disclosure,
    )
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


def build_context(
    study: Study,
    results: list[dict[str, Any]],
    flow_doc: dict[str, Any],
    figure_paths: list[Path],
    data_label: str,
    manifest: dict[str, Any],
    checks: dict[str, Any] | None,
    *,
    listing_max_rows: int | None = LISTING_MAX_ROWS,
    own_data: bool = True,
    style: NumberStyle = PAPER,
    sensitivity: list[Path | dict[str, Any]] | None = None,
    profile: Profile | None = None,
) -> dict[str, Any]:
    """Everything report.html and report.md show, as plain data.

    ``sensitivity``: the sensitivity analyses' outputs (paths or loaded dicts);
    ``profile``: the disclosure profile applied to the report, if any (the sensitivity
    outputs are protected here; ``results`` come already protected).
    """
    info = study.raw["study"]
    tables, captions = _tables(study, results, listing_max_rows, style)
    by_id = {_output_id(r): r for r in results if not r.get("withheld")}
    flow_missing = flow_doc.get("made_missing") or []
    if checks and checks["made_missing"] == flow_missing:
        flow_missing = []  # the same entries, already listed under the data checks
    figures = _figures(study, figure_paths)
    methods = _methods(
        study, results, captions=captions, manifest=manifest, flow=flow_doc, data_label=data_label
    )
    normality = []
    for res in results:
        if res.get("kind") != "summary" or res.get("withheld"):
            continue
        grid = normality_grid(res, style)
        if grid is not None:
            grid.title = f"Tests of normality: {captions.get(_output_id(res), grid.title)}"
            normality.append(grid)
    card = _scorecard_summary(study, by_id, flow_doc, own_data)
    if own_data:
        title = info["title"]
        source = f"Reproduction of: {info['citation']}" if info.get("citation") else ""
        card_title = "Reproduction of the published results"
    else:
        title = f"{info['title']}: analysis of {data_label}" if data_label else info["title"]
        source = f"Study design from: {info['citation']}" if info.get("citation") else ""
        card_title = "Comparison with the published values"
    disclosure = _disclosure(study, results, captions)
    flow = [
        {**step, "label": typeset(step.get("label", "")), "detail": _exclusion_detail(step, study)}
        for step in flow_doc.get("steps", [])
    ]
    variables = _variables(study, captions)
    sensitivity_view = _sensitivity(
        study, _sensitivity_docs(sensitivity), captions, figures, style, profile
    )
    methods["sensitivity"] = [
        f"{s['title']}: {s['method']}" for s in sensitivity_view if s["method"]
    ]
    context: dict[str, Any] = {
        "title": title,
        "source": source,
        "own_data": own_data,
        "study": info,
        "data_label": data_label,
        "inputs": input_list(manifest),
        "flow": flow,
        "flow_missing": flow_missing,
        "flow_substituted": flow_doc.get("substituted") or [],
        "tables": tables,
        "normality": normality,
        "figures": figures,
        "sensitivity": sensitivity_view,
        "methods": methods,
        "variables": variables,
        "scorecard": card,
        "scorecard_title": card_title,
        "alpha": study.alpha,
        "checks": checks,
        "disclosure": disclosure,
        "provenance": _provenance_view(manifest),
    }
    context["strobe"] = checklist(_places(study, context))
    context["contents"] = _contents(context)
    return context


def _tables(
    study: Study,
    results: list[dict[str, Any]],
    listing_max_rows: int | None,
    style: NumberStyle = PAPER,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Each table as the report shows it (grid, or the reason it is withheld), and captions."""
    tables = []
    captions = {}
    for res in results:
        oid = _output_id(res)
        grid = to_grid(res, listing_max_rows=listing_max_rows, style=style)
        caption = table_caption(study, res, grid)
        captions[oid] = caption
        tables.append(
            {
                "anchor": _anchor("table", oid),
                "caption": caption,
                "short": _short(caption),
                "grid": grid,
                "withheld": res.get("withheld") or "",
                "wide": not res.get("withheld") and _is_wide(grid),
                "kind": "model" if "model" in res else res.get("kind", "summary"),
                "id": oid,
                "group_by": res.get("group_by"),
                "variables": [r.get("variable") for r in res.get("rows", [])]
                if res.get("kind") == "summary"
                else [],
            }
        )
    return tables, captions


def _is_wide(grid: Grid) -> bool:
    """Whether the table needs a landscape page: many columns or long lines."""
    widths = []
    for j, head in enumerate(grid.header):
        cells = [len(row[j]) for row in grid.rows[:200] if j < len(row)]
        longest_word = max((len(w) for w in head.split()), default=0)
        first = 28 if j == 0 else 0  # the row labels wrap, within reason
        widths.append(
            max(min(len(head), 16), longest_word, min(max(cells, default=0), first or 99))
        )
    return len(grid.header) > 7 or sum(widths) + 2 * len(widths) > WIDE_CHARS


def _figures(study: Study, figure_paths: list[Path]) -> list[dict[str, Any]]:
    """The figures in the order of the study file, numbered "Figure 1." on."""
    specs = {fig["id"]: (i, fig) for i, fig in enumerate(study.figures)}
    paths = sorted(
        (Path(p) for p in figure_paths),
        key=lambda p: (specs[p.stem][0] if p.stem in specs else len(specs), 0),
    )
    out = []
    for number, path in enumerate(paths, start=1):
        spec = specs.get(path.stem, (0, {}))[1]
        text = " ".join(str(spec.get("caption") or path.stem.replace("_", " ")).split())
        out.append(
            {
                "anchor": _anchor("figure", path.stem),
                "label": f"Figure {number}",
                "caption": f"Figure {number}. {text}",
                "alt": text,
                "kind": spec.get("kind", "boxplot"),
                "model": spec.get("model"),
                "file": path.name,
                "mime": _IMAGE_TYPES.get(path.suffix.lower(), "image/png"),
                "data": base64.b64encode(path.read_bytes()).decode("ascii"),
            }
        )
    return out


# --------------------------------------------------------------- sensitivity

#: The sensitivity analyses in the order the report shows them.
SENSITIVITY_ORDER = (
    "tests_switch", "models", "evalue", "bootstrap", "imputation", "calibration", "dose_table",
)  # fmt: skip
#: What the report says in place of a number disclosure control hides.
WITHHELD = "withheld under disclosure control"

_FIT_LABELS = {
    "ml": "maximum likelihood",
    "firth": "Firth",
    "adjusted_ml": "adjusted, maximum likelihood",
    "adjusted_firth": "adjusted, Firth",
}
_SWITCH_LABELS = {
    "fisher": "Fisher's exact test instead of the chi-square test",
    "welch": "Welch's tests instead of Student's t-test and ANOVA",
}


def _sensitivity_docs(items: list[Path | dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The sensitivity outputs (paths or dicts), in :data:`SENSITIVITY_ORDER`."""
    docs = [read_json(Path(i)) if not isinstance(i, dict) else i for i in items or []]
    rank = {name: i for i, name in enumerate(SENSITIVITY_ORDER)}
    return sorted(
        docs,
        key=lambda d: (rank.get(d.get("analysis"), len(rank)), str(d.get("id") or "")),
    )


def _plain(study: Study, text: Any, captions: dict[str, str]) -> str:
    """Running text with the study file's ids replaced by what a reader sees, typeset."""
    text = str(text or "")
    shorts = {oid: _short(c) for oid, c in captions.items() if oid}
    for spec in [*study.tables, *study.models]:
        shorts.setdefault(spec["id"], _short(table_caption(study, {"table": spec["id"]})))
    if shorts:
        ids = "|".join(re.escape(i) for i in sorted(shorts, key=len, reverse=True))
        text = re.sub(
            rf"\b(?:the logistic model|the model|model) ({ids})\b",
            lambda m: f"the model of {shorts[m.group(1)]}",
            text,
        )
        text = re.sub(rf"\b({ids})\b", lambda m: shorts[m.group(1)], text)
    fits = "|".join(sorted((re.escape(k) for k in _FIT_LABELS), key=len, reverse=True))
    text = re.sub(rf"(?<=, )({fits}|adjusted ml|adjusted firth)(?=\))",
                  lambda m: _FIT_LABELS[m.group(1).replace(" ", "_")], text)  # fmt: skip
    text = re.sub(rf"^({fits}):", lambda m: _sentence(_FIT_LABELS[m.group(1)]) + ":", text)
    for name in sorted((n for n in study.variables if "_" in n), key=len, reverse=True):
        label = _label(study, name)
        text = re.sub(rf"\b{re.escape(name)}\b", label[:1].lower() + label[1:], text)
    return typeset(text)


def _ci(style: NumberStyle, est: Any, low: Any, high: Any, decimals: int = 3) -> str:
    """ "0.324 (0.143–0.734)"; "not estimable" when a number is missing."""
    if None in (est, low, high):
        return "not estimable"
    n = style.number
    return f"{n(est, decimals)} ({n(low, decimals)}–{n(high, decimals)})"


def _sens_table(caption: str, header: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"caption": caption, "header": header, "rows": [[str(c) for c in r] for r in rows]}


def _sens_tests_switch(doc, study, style, plain, profile):
    tables, notes = [], []
    rows = []
    for key in ("fisher", "welch"):
        for r in (doc.get(key) or {}).get("rows") or []:
            before, after = r["before"], r["after"]
            if before.get("test") == after.get("test") and not r.get("significance_changed"):
                continue
            rows.append([
                _SWITCH_LABELS[key], plain(r["table"]), typeset(r.get("label") or ""),
                f"{before['test_label']}, p = {style.p(before['p_value'])}",
                f"{after['test_label']}, p = {style.p(after['p_value'])}",
                "yes" if r.get("significance_changed") else "no",
            ])  # fmt: skip
    normality = doc.get("normality") or {}
    methods = normality.get("methods") or []
    if methods:
        base = methods[0]
        for r in normality.get("rows") or []:
            by = r.get("by_method") or {}
            ref = by.get(base) or {}
            for method in methods[1:]:
                alt = by.get(method) or {}
                if alt.get("test") == ref.get("test") and alt.get("significant") == ref.get(
                    "significant"
                ):
                    continue
                rows.append([
                    f"Normality by the {NORMALITY_LABELS.get(method, method)} instead of the "
                    f"{NORMALITY_LABELS.get(base, base)}",
                    plain(r["table"]), typeset(r.get("label") or ""),
                    f"{ref.get('test_label', '')}, p = {style.p(ref.get('p_value'))}",
                    f"{alt.get('test_label', '')}, p = {style.p(alt.get('p_value'))}",
                    "yes" if alt.get("significant") != ref.get("significant") else "no",
                ])  # fmt: skip
    if rows:
        tables.append(_sens_table(
            "Rows whose test or significance changes",
            ["Change", "Table", "Row", "Before", "After", "Significance changes"], rows,
        ))  # fmt: skip
    else:
        notes.append("No row changes its test or its significance under any of the switches.")
    checked = _join([plain(t) for t in doc.get("tables") or []])
    if checked:
        notes.insert(0, f"Tables rebuilt: {checked}; significance is p < {doc.get('alpha')}.")
    return tables, notes


def _sens_models(doc, study, style, plain, profile):
    rows = []
    for name, fit in (doc.get("fits") or {}).items():
        epv = fit.get("events_per_variable")
        epv_text = "–" if epv is None else style.number(epv, 1)
        if fit.get("epv_warning"):
            epv_text += " (below 10)"
        for term in fit.get("terms") or []:
            rows.append([
                _sentence(_FIT_LABELS.get(name, name)),
                typeset(term.get("label") or _label(study, term["term"])),
                _ci(style, term.get("odds_ratio"), term.get("ci_low"), term.get("ci_high")),
                style.p(term.get("p_value")), epv_text,
            ])  # fmt: skip
    tables = [_sens_table("Odds ratios by fit", ["Fit", "Term", "OR (95% CI)", "p",
                                                  "Events per variable"], rows)]  # fmt: skip
    rescaled = [
        [
            _sentence(_FIT_LABELS.get(r["fit"], r["fit"])),
            typeset(r.get("label") or _label(study, r["term"])), _per(r.get("per")),
            _ci(style, r.get("odds_ratio"), r.get("ci_low"), r.get("ci_high")),
            style.p(r.get("p_value")),
        ]
        for r in doc.get("rescaled") or []
    ]  # fmt: skip
    if rescaled:
        tables.append(
            _sens_table(
                "Continuous predictors rescaled",
                ["Fit", "Predictor", "Per", "OR (95% CI)", "p"],
                rescaled,
            )
        )
    notes = [plain(w) for w in doc.get("warnings") or []]
    skipped: dict[str, list[str]] = {}  # why -> the fits not run for it (Firth's, above a size)
    for name, fit in (doc.get("fits") or {}).items():
        if fit.get("not_run"):
            skipped.setdefault(fit["not_run"], []).append(_FIT_LABELS.get(name, name))
    notes += [f"Fits not run ({'; '.join(names)}): {plain(why)}." for why, names in skipped.items()]
    return tables, notes


def _sens_evalue(doc, study, style, plain, profile):
    rows = [
        [
            typeset(e.get("label") or _label(study, e["term"])), _per(e.get("per")),
            _ci(style, e.get("odds_ratio"), e.get("ci_low"), e.get("ci_high")),
            style.p(e.get("p_value")),
            _ci(style, e.get("risk_ratio"), e.get("rr_ci_low"), e.get("rr_ci_high")),
            style.number(e["evalue_point"], 2), style.number(e["evalue_ci"], 2),
        ]
        for e in doc.get("evalues") or []
    ]  # fmt: skip
    tables = [_sens_table(
        "E-values", ["Term", "Per", "OR (95% CI)", "p", "Approximate RR (95% CI)",
                     "E-value, estimate", "E-value, CI limit nearer 1"], rows,
    )]  # fmt: skip
    prevalence = doc.get("prevalence")
    note = f"OR to RR: {plain(doc.get('conversion_text'))}"
    if prevalence is not None:
        note += f" (outcome prevalence {style.number(100 * prevalence, 1)}%)"
    return tables, [note + "."]


def _sens_bootstrap(doc, study, style, plain, profile):
    rows = [
        [
            typeset(t.get("label") or _label(study, t["term"])),
            _ci(style, t.get("odds_ratio"), t.get("wald_ci_low"), t.get("wald_ci_high")),
            _ci(style, t.get("odds_ratio"), t.get("percentile_ci_low"),
                t.get("percentile_ci_high")),
            _ci(style, t.get("odds_ratio"), t.get("bca_ci_low"), t.get("bca_ci_high")),
        ]
        for t in doc.get("terms") or []
    ]  # fmt: skip
    tables = [_sens_table("Odds ratios with three 95% CIs",
                          ["Term", "Wald", "Percentile", "BCa"], rows)]  # fmt: skip
    res = doc.get("resamples") or {}
    excluded = res.get("excluded") or {}
    why = {"degenerate": "no events, no non-events or a constant predictor",
           "not_converged": "not converged", "separation": "separation"}  # fmt: skip
    parts = [f"{why.get(k, k)} {v}" for k, v in excluded.items() if v]
    note = (f"Resamples: {res.get('requested')} drawn, {res.get('used')} used, "
            f"{sum(excluded.values())} excluded" + (f" ({', '.join(parts)})" if parts else "")
            + f"; seed {doc.get('seed')}.")  # fmt: skip
    return tables, [note]


def _sens_imputation(doc, study, style, plain, profile):
    rows = []
    for t in doc.get("terms") or []:
        cc, mi = t.get("complete_case") or {}, t.get("multiple_imputation") or {}
        rows.append([
            typeset(t.get("label") or _label(study, t["term"])),
            _ci(style, cc.get("odds_ratio"), cc.get("ci_low"), cc.get("ci_high")),
            style.p(cc.get("p_value")),
            _ci(style, mi.get("odds_ratio"), mi.get("ci_low"), mi.get("ci_high")),
            style.p(mi.get("p_value")),
            "" if mi.get("df") is None else style.number(mi["df"], 1),
            "" if mi.get("fmi") is None else style.number(mi["fmi"], 3),
        ])  # fmt: skip
    tables = [_sens_table(
        "Complete cases and multiple imputation",
        ["Term", "Complete cases: OR (95% CI)", "p", "Imputed: OR (95% CI)", "p", "df",
         "Fraction of missing information"], rows,
    )]  # fmt: skip
    imputed = []
    for name, count in (doc.get("imputed") or {}).items():
        shown = WITHHELD if profile is not None and profile.is_small(count) else count
        imputed.append([typeset(_label(study, name)), shown])
    if imputed:
        tables.append(_sens_table("Values imputed", ["Variable", "Values imputed"], imputed))
    settings = doc.get("settings") or {}
    notes = [f"{settings.get('imputations')} imputed datasets; seed {settings.get('seed')}."]
    return tables, notes


def _sens_calibration(doc, study, style, plain, profile):
    hl, c = doc.get("hosmer_lemeshow") or {}, doc.get("c_statistic") or {}
    num = style.number
    rows = [
        ["Hosmer-Lemeshow chi-square",
         f"{num(hl['statistic'], 2)} on {hl.get('df')} df, p = {style.p(hl.get('p_value'))}"
         if hl.get("statistic") is not None else "not computed"],
        ["Hosmer-Lemeshow groups", f"{hl.get('groups')} of {hl.get('groups_requested')}"],
        ["c-statistic (DeLong 95% CI)", _ci(style, c.get("auc"), c.get("ci_low"),
                                             c.get("ci_high"))],
        ["c-statistic, logit-scale 95% CI", _ci(style, c.get("auc"), c.get("ci_logit_low"),
                                                 c.get("ci_logit_high"))],
        ["Brier score", "" if doc.get("brier_score") is None else num(doc["brier_score"], 3)],
    ]  # fmt: skip
    tables = [_sens_table("Calibration and discrimination", ["Measure", "Value"], rows)]
    notes = []
    if hl.get("rule"):
        notes.append(f"Hosmer-Lemeshow groups: {plain(hl['rule'])}.")
    if profile is not None:
        notes.append(f"Patients and events per risk group: {WITHHELD}.")
    return tables, notes


def _sens_dose_table(doc, study, style, plain, profile):
    unit = typeset(doc.get("unit") or "")
    num = style.number

    def dose(x: Any) -> str:
        if x is None:
            return "–"
        return num(x, 0) if float(x).is_integer() else num(x, 1)

    rows, notes = [], []
    for g in doc.get("groups") or []:
        small = profile is not None and profile.is_small(g.get("n"))
        median = (f"{dose(g.get('median'))} ({dose(g.get('q1'))}–{dose(g.get('q3'))})"
                  if g.get("median") is not None else "–")  # fmt: skip
        if profile is None:
            rows.append([typeset(g["label"]), dose(g.get("suggested_start")), g.get("n"),
                         dose(g.get("min")), median, dose(g.get("max")),
                         g.get("n_at_or_below_start")])  # fmt: skip
        elif small:
            rows.append([typeset(g["label"]), dose(g.get("suggested_start")), WITHHELD,
                         WITHHELD])  # fmt: skip
        else:
            rows.append([typeset(g["label"]), dose(g.get("suggested_start")), g.get("n"),
                         median])  # fmt: skip
    if profile is None:
        header = ["CKD group", f"Suggested start ({unit})", "n", "Minimum",
                  "Median (IQR)", "Maximum", "At or below the start"]  # fmt: skip
    else:
        header = ["CKD group", f"Suggested start ({unit})", "n", "Median (IQR)"]
        notes.append(f"Minimum and maximum (single patients' doses), counts at or below the "
                     f"start and any group of {profile.small_label}: {WITHHELD}.")  # fmt: skip
    outcome = _lower(_label(study, str(doc.get("outcome") or "")))
    caption = f"Daily doses of the patients with {outcome}, by CKD group"
    tables = [_sens_table(caption, header, rows)]
    if doc.get("source"):
        notes.append(f"Suggested starting doses from {typeset(doc['source'])}.")
    return tables, notes


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _per(per: Any) -> str:
    text = str(per or "")
    return typeset(f"per {text}" if text[:1].isdigit() else text)


def _lower(label: str) -> str:
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


_SENSITIVITY_BUILDERS = {
    "tests_switch": _sens_tests_switch,
    "models": _sens_models,
    "evalue": _sens_evalue,
    "bootstrap": _sens_bootstrap,
    "imputation": _sens_imputation,
    "calibration": _sens_calibration,
    "dose_table": _sens_dose_table,
}


def _conclusion_text(doc: dict[str, Any], plain, profile: Profile | None) -> str:
    conclusion = doc.get("conclusion") or {}
    text = plain(conclusion.get("text") or "")
    if profile is not None and doc.get("analysis") == "dose_table":
        # the text cites the smallest toxic dose and the n of each group
        head = re.split(r"\s+because\s+", text, maxsplit=1)[0]
        text = f"{head}; its figures are {WITHHELD}."
    if not text:
        text = "The paper's conclusion " + ("still holds." if conclusion.get("holds")
                                             else "does not hold.")  # fmt: skip
    return text


def _method_text(doc: dict[str, Any], plain, profile: Profile | None) -> str:
    text = plain(doc.get("method") or "")
    if profile is not None:  # counts of values imputed per variable
        text = re.sub(r"\s*Values imputed: [^.]*\.", f" Values imputed per variable: {WITHHELD}.",
                      text)  # fmt: skip
    return text


def _sensitivity(
    study: Study,
    docs: list[dict[str, Any]],
    captions: dict[str, str],
    figures: list[dict[str, Any]],
    style: NumberStyle,
    profile: Profile | None,
) -> list[dict[str, Any]]:
    """Each sensitivity analysis as the report shows it: title, method, tables, conclusion."""

    def plain(text: Any) -> str:
        return _plain(study, text, captions)

    entries = {
        str(e.get("id") or e.get("analysis")): e for e in getattr(study, "sensitivity", None) or []
    }
    out: list[dict[str, Any]] = []
    anchors: set[str] = set()
    for doc in docs:
        name = str(doc.get("analysis") or "")
        anchor = _anchor("sensitivity", str(doc.get("id") or name))
        while anchor in anchors:  # the same analysis twice, e.g. on two models
            anchor += "-2"
        anchors.add(anchor)
        title = entries.get(str(doc.get("id") or name), {}).get("title") or doc.get("title")
        builder = _SENSITIVITY_BUILDERS.get(name)
        if doc.get("not_run"):  # the data could not support it; the conclusion says why
            tables, notes = [], []
        else:
            tables, notes = builder(doc, study, style, plain, profile) if builder else ([], [])
        figure = None
        if name == "calibration":
            figure = next(
                ({"anchor": f["anchor"], "label": f["label"]}
                 for f in figures if f["kind"] == "calibration"), None,
            )  # fmt: skip
        conclusion = doc.get("conclusion") or {}
        out.append(
            {
                "analysis": name,
                "anchor": anchor,
                "title": plain(title or name.replace("_", " ")),
                "method": _method_text(doc, plain, profile),
                "tables": [
                    {
                        **t,
                        "caption": plain(t["caption"]),
                        "rows": [[plain(c) for c in r] for r in t["rows"]],
                    }
                    for t in tables
                ],
                "notes": [plain(n) for n in notes],
                "figure": figure,
                "holds": bool(conclusion.get("holds")),
                "conclusion": _conclusion_text(doc, plain, profile),
            }
        )
    return out


def _disclosure(
    study: Study, results: list[dict[str, Any]], captions: dict[str, str]
) -> dict[str, Any] | None:
    """Disclosure control: the profiles applied, every action, the tables withheld."""
    profiles: list[dict[str, str]] = []
    actions = []
    withheld = []
    for res in results:
        oid = _output_id(res)
        marks = res.get("disclosure")
        if marks:
            profile = {
                "profile": str(marks.get("profile") or ""),
                "description": str(marks.get("description") or ""),
            }
            if profile not in profiles:
                profiles.append(profile)
            groups = {str(g.get("key")): g.get("label") for g in res.get("groups") or []}
            for action in marks.get("actions") or []:
                table = action.get("table") or oid
                row, group = action.get("row"), action.get("group")
                actions.append(
                    {
                        "table": captions.get(table, str(table)),
                        # a variable or group named by its id is shown by its label
                        "row": "" if row is None else _label(study, str(row)),
                        "group": "" if group is None else str(groups.get(str(group)) or group),
                        "what": str(action.get("what") or ""),
                        "why": str(action.get("why") or ""),
                    }
                )
        if res.get("withheld"):
            withheld.append({"table": captions.get(oid, oid), "reason": str(res["withheld"])})
    if not (profiles or actions or withheld):
        return None
    return {"profiles": profiles, "actions": actions, "withheld": withheld}


def _provenance_view(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "created": manifest.get("created", ""),
        "python": manifest.get("python", ""),
        "platform": manifest.get("platform", ""),
        "packages": [[n, v] for n, v in (manifest.get("packages") or {}).items() if v],
        "code_sha256": manifest.get("code_sha256", ""),
        "settings_sha256": manifest.get("settings_sha256", ""),
    }


def _places(study: Study, context: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The anchors of this report for each checklist place (analysis/strobe.py)."""
    tables = [t for t in context["tables"] if not t["withheld"]]
    summaries = [t for t in tables if t["kind"] == "summary"]
    outcomes = {m["outcome"] for m in study.models}
    figures = context["figures"]

    def links(entries: list[dict[str, Any]], text: str = "short") -> list[tuple[str, str]]:
        return [(e["anchor"], e[text]) for e in entries]

    methods = context["methods"]
    return {
        "data": [("data", "Data and cohort")],
        "flow": [("flow", "Flow of the cohort")] if context["flow"] else [],
        "flow_figure": links([f for f in figures if f["kind"] == "flow"], "label"),
        "data_checks": [("data-checks", "Data checks")] if context["checks"] else [],
        "missing": [("missing-data", "Missing data")] if methods["missing"] else [],
        "missing_figure": links([f for f in figures if f["kind"] == "missing"], "label"),
        "variables": [("variables", "Variables")] if context["variables"] else [],
        "methods": [("statistics", "Statistical analysis")],
        "normality": [("normality", "Tests of normality")] if context["normality"] else [],
        "descriptive_tables": links([t for t in summaries if t["group_by"]] or summaries),
        "outcome_tables": links(
            [t for t in summaries if t["group_by"] in outcomes or outcomes & set(t["variables"])]
        ),
        "model_tables": links([t for t in tables if t["kind"] == "model"]),
        "model_figures": links([f for f in figures if f["model"]], "label"),
        "sensitivity": [("sensitivity", "Sensitivity analyses")] if context["sensitivity"] else [],
        "provenance": [("provenance", "Provenance")],
    }


def _contents(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The contents list: each section with its anchor, tables and figures one by one."""
    out = [{"anchor": "data", "title": "Data and cohort", "children": []}]
    if context["checks"]:
        out.append({"anchor": "data-checks", "title": "Data checks", "children": []})
    out.append(
        {
            "anchor": "tables",
            "title": "Tables",
            "children": [{"anchor": t["anchor"], "title": t["caption"]} for t in context["tables"]],
        }
    )
    if context["figures"]:
        out.append(
            {
                "anchor": "figures",
                "title": "Figures",
                "children": [
                    {"anchor": f["anchor"], "title": f["label"] + ". " + f["alt"]}
                    for f in context["figures"]
                ],
            }
        )
    if context["sensitivity"]:
        out.append(
            {
                "anchor": "sensitivity",
                "title": "Sensitivity analyses",
                "children": [
                    {"anchor": s["anchor"], "title": s["title"]} for s in context["sensitivity"]
                ],
            }
        )
    out.append(
        {
            "anchor": "methods",
            "title": "Methods",
            "children": (
                [{"anchor": "methods-sensitivity", "title": "Sensitivity analyses (methods)"}]
                if context["methods"].get("sensitivity")
                else []
            ),
        }
    )
    if context["scorecard"]:
        out.append({"anchor": "published", "title": context["scorecard_title"], "children": []})
    if context["disclosure"]:
        out.append({"anchor": "disclosure", "title": "Disclosure control", "children": []})
    out.append({"anchor": "checklist", "title": "STROBE/RECORD checklist", "children": []})
    out.append({"anchor": "provenance", "title": "Provenance", "children": []})
    return out


def _exclusion_detail(step: dict[str, Any], study: Study | None = None) -> str:
    """Why a step's rows went, when flow.json splits the count (newer files do)."""
    parts = []
    if step.get("excluded_not_met"):
        parts.append(f"{step['excluded_not_met']} did not meet the criterion")
    if step.get("excluded_value_missing"):
        by_var = ", ".join(
            f"{_label(study, k) if study else k} {v}"
            for k, v in (step.get("missing_variables") or {}).items()
            if v
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
    parts = [f"# {md_text(context['title'])}", ""]
    if context["source"]:
        parts += [md_text(context["source"], line_start=True), ""]
    parts += [f"Data: {md_text(context['data_label'])}", ""]
    parts += ["Contents:", ""]
    for entry in context["contents"]:
        parts.append(f"- {md_text(entry['title'])}")
        parts += [f"    - {md_text(child['title'])}" for child in entry["children"]]
    parts += ["", "## Data and cohort", ""]
    if context["flow"]:
        detail = any(s["detail"] for s in context["flow"])
        parts += ["**Flow of the cohort**", ""]
        parts += _md_table(
            ["Step", "Criterion", "n", "Excluded"] + (["Why"] if detail else []),
            [
                [s["step"], s["label"], s["n"], s["excluded"]] + ([s["detail"]] if detail else [])
                for s in context["flow"]
            ],
        )
    parts += _made_missing_md(context["flow_missing"], "Values made missing during derivation")
    parts += _made_missing_md(context["flow_substituted"], "Values substituted during derivation")
    parts += ["Input files and their SHA-256 checksums: see Provenance.", ""]
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
    for table in context["tables"]:
        if table["withheld"]:
            parts += [f"### {md_text(table['caption'])}", ""]
            parts += [f"Withheld: {md_text(table['withheld'])}", ""]
        else:
            parts.append(to_markdown(table["grid"]))
    if context["figures"]:
        parts += ["## Figures", ""]
        for fig in context["figures"]:
            parts += [
                f"{md_text(fig['caption'], line_start=True)} File: {md_text(fig['file'])}",
                "",
            ]
    if context["sensitivity"]:
        parts += ["## Sensitivity analyses", ""]
        parts += [
            "Each analysis is described under Methods; the last sentence of each says "
            "whether the paper's conclusion still holds.",
            "",
        ]
        for s in context["sensitivity"]:
            parts += [f"### {md_text(s['title'])}", ""]
            for table in s["tables"]:
                parts += [f"**{md_text(table['caption'])}**", ""]
                parts += _md_table(table["header"], table["rows"])
            parts += [f"- {md_text(note)}" for note in s["notes"]]
            if s["notes"]:
                parts.append("")
            if s["figure"]:
                parts += [f"Calibration plot: {md_text(s['figure']['label'])}.", ""]
            parts += [f"**{md_text(s['conclusion'])}**", ""]
    parts += ["## Methods", ""]
    methods = context["methods"]
    for key, heading in (("cohort", "Cohort"), ("statistics", "Statistical analysis")):
        if methods[key]:
            parts += [f"### {heading}", ""]
            parts += [md_text(p, line_start=True) + "\n" for p in methods[key]]
        if key == "cohort" and context["variables"]:
            parts += ["### Variables", ""]
            parts += _md_table(
                ["Variable", "Unit", "Type", "Values", "Derived as", "Used in"],
                [
                    [v["label"], v["unit"], v["type"], v["allowed"], v["derived"], v["used"]]
                    for v in context["variables"]
                ],
            )
    if methods["missing"]:
        parts += ["### Missing data", ""]
        parts += [md_text(p, line_start=True) + "\n" for p in methods["missing"]]
    if methods.get("sensitivity"):
        parts += ["### Sensitivity analyses", ""]
        parts += [
            "The sensitivity analyses below were run on the same data; each has its results "
            "and conclusion under Sensitivity analyses.\n"
        ]
        parts += [md_text(p, line_start=True) + "\n" for p in methods["sensitivity"]]
    if methods["software"]:
        parts += ["### Software", ""]
        parts += [md_text(p, line_start=True) + "\n" for p in methods["software"]]
    if context["normality"]:
        parts += ["### Tests of normality", ""]
        parts += [to_markdown(g) for g in context["normality"]]
    card = context["scorecard"]
    if card:
        parts += [f"## {md_text(context['scorecard_title'])}", ""]
        parts += [f"**{md_text(card['headline'])}.** " + _scorecard_intro(context), ""]
        if card["misses"]:
            heading = "Not reproduced" if context["own_data"] else "Differences"
            parts += [f"{heading}:", ""]
            ours = "reproduced" if context["own_data"] else "here"
            parts += [
                "- " + md_text(f"{m['table']}, {m['figure']}: published {m['published']}, "
                               f"{ours} {m['ours']} ({m['why']})")
                for m in card["misses"]
            ]  # fmt: skip
            if card["more_misses"]:
                parts += [f"- and {card['more_misses']} more"]
            parts += [""]
        parts += [
            f"Every published figure beside ours, with the rule applied to each: "
            f"[{card['href']}]({card['href']}).",
            "",
        ]
    disclosure = context["disclosure"]
    if disclosure:
        parts += ["## Disclosure control", ""]
        for profile in disclosure["profiles"]:
            parts += [
                md_text(
                    f"Profile '{profile['profile']}': {profile['description']}", line_start=True
                ),
                "",
            ]
        if disclosure["actions"]:
            parts += _md_table(
                ["Table", "Row", "Group", "Action", "Reason"],
                [[a["table"], a["row"], a["group"], a["what"], a["why"]]
                 for a in disclosure["actions"]],
            )  # fmt: skip
        for item in disclosure["withheld"]:
            parts += [
                md_text(f"{item['table']}: withheld ({item['reason']}).", line_start=True),
                "",
            ]
    parts += ["## STROBE/RECORD checklist", ""]
    parts += [_CHECKLIST_INTRO, ""]
    parts += _md_table(
        ["Item", "Topic", "In this report"],
        [
            [
                f"{i['list']} {i['item']}",
                i["topic"],
                (
                    "; ".join(text for _, text in i["links"])
                    + (f" ({i['note']})" if i["note"] else "")
                )
                if i["links"]
                else "for the authors",
            ]
            for i in context["strobe"]
        ],
    )
    prov = context["provenance"]
    parts += ["## Provenance", ""]
    parts += [
        f"Created {md_text(prov['created'])}; Python {md_text(prov['python'])} on "
        f"{md_text(prov['platform'])}.",
        "",
    ]
    if context["inputs"]:
        parts += ["**Input files**", ""]
        parts += _md_table(
            ["File", "SHA-256"], [[i["name"], i["sha256"]] for i in context["inputs"]]
        )
    parts += _md_table(["Package", "Version"], prov["packages"])
    checksums = [["Code of the analysis package", prov["code_sha256"]]]
    if prov["settings_sha256"]:
        checksums.append(["Workflow settings", prov["settings_sha256"]])
    parts += _md_table(["What", "SHA-256"], checksums)
    parts += ["The same, machine-readable: provenance.json.", ""]
    return "\n".join(parts)


_CHECKLIST_INTRO = (
    "Where this report answers each item of the STROBE checklist for cohort studies and "
    "its RECORD extension for routinely collected data; items only the authors can "
    "write are marked for the authors."
)


def _scorecard_intro(context: dict[str, Any]) -> str:
    alpha = context["alpha"]
    rules = (
        "counts exact; percentages, medians and ranges at the printed precision; p-values "
        f"within a factor of 2 and on the same side of {alpha}"
    )
    if context["own_data"]:
        return f"Each figure the paper publishes, regenerated here ({rules})."
    return (
        f"Each figure the paper publishes, beside the same figure from these data ({rules}). "
        "These data are not the paper's: a figure that differs is a difference between the "
        "cohorts, not an error."
    )


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
