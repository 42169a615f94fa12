"""A site's bundle as a file: sealed with a checksum of its content, checked on arrival.

The coordinator trusts nothing it is sent. :func:`read_bundles` refuses, with one line
naming the bundle, a file that is not a bundle (JSON Schema), one edited after it was
sealed (its checksum), one made with another study file or version, a second bundle
from the same site, one missing a table row the study declares, and one holding a count
below the disclosure threshold (a site that skipped or weakened disclosure control).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError
from analysis.schema_check import first_error, key_path, load_schema, message_of

__all__ = [
    "canonical",
    "read_bundles",
    "seal",
    "small_counts",
    "summary_markdown",
    "verify_sealed",
]


def canonical(obj: Any) -> bytes:
    """The bytes a checksum is taken over: sorted keys, no whitespace, UTF-8."""
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _digest(bundle: dict[str, Any]) -> str:
    return hashlib.sha256(
        canonical({k: v for k, v in bundle.items() if k != "checksum"})
    ).hexdigest()


def seal(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle with the SHA-256 of the rest of its content, as JSON would read it back."""
    plain = json.loads(
        json.dumps({k: v for k, v in bundle.items() if k != "checksum"}, allow_nan=False)
    )
    return plain | {"checksum": {"algorithm": "sha256", "value": _digest(plain)}}


def _counts(bundle: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, value) of every count of patients in a bundle."""
    yield "n", bundle.get("n")
    for table in bundle.get("tables", []):
        tid = table.get("id")
        yield f"tables[{tid}].n", table.get("n")
        for g in table.get("groups", []):
            yield f"tables[{tid}].groups[{g.get('key')}].n", g.get("n")
        for row in table.get("rows", []):
            where = f"tables[{tid}].rows[{row.get('variable')}]"
            if row.get("kind") == "continuous":
                for key, stats in (row.get("groups") or {}).items():
                    for stat in ("n", "missing"):
                        yield f"{where}.groups[{key}].{stat}", stats.get(stat)
                ranks = row.get("ranks") or {}
                for i, n in enumerate(ranks.get("n", [])):
                    yield f"{where}.ranks.n[{i}]", n
            else:
                for stat in ("n", "missing"):
                    for key, value in (row.get(stat) or {}).items():
                        yield f"{where}.{stat}[{key}]", value
                for key, levels in (row.get("counts") or {}).items():
                    for level, value in levels.items():
                        yield f"{where}.counts[{key}][{level}]", value
    for model in bundle.get("models", []):
        for stat in ("n", "events", "nonevents"):
            yield f"models[{model.get('id')}].{stat}", model.get(stat)


def small_counts(bundle: dict[str, Any], threshold: int) -> list[str]:
    """Every count of 1 .. threshold - 1 in the bundle, as 'where = value'."""
    return [
        f"{where} = {value}"
        for where, value in _counts(bundle)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold
    ]


def _load(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnalysisError(f"{path}: not a readable {what} ({exc})") from None


def _check_seal(path: Path, doc: dict[str, Any], what: str) -> None:
    value = (doc.get("checksum") or {}).get("value") if isinstance(doc, dict) else None
    if value is None:
        raise AnalysisError(f"{path}: not a sealed {what} (no checksum)")
    if value != _digest(doc):
        raise AnalysisError(
            f"{path}: checksum does not match the content: the {what} was changed after "
            "it was sealed; ask for the file that was sent"
        )


def verify_sealed(path: Path, kind: str) -> dict[str, Any]:
    """A round or contribution file of the distributed fit, its kind and checksum checked."""
    doc = _load(path, kind)
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        raise AnalysisError(f"{path}: not a {kind} file")
    _check_seal(path, doc, kind)
    return doc


def _read_one(path: Path) -> dict[str, Any]:
    bundle = _load(path, "bundle")
    kind = bundle.get("kind") if isinstance(bundle, dict) else None
    if kind in ("multisite-round", "multisite-contribution"):
        # `pool *.json` in a folder that also holds the rounds: say so, not a schema error
        raise AnalysisError(
            f"{path}: a {kind.split('-')[1]} file of the distributed fit, not a bundle; "
            "keep bundles and rounds in separate folders"
        )
    _check_seal(path, bundle, "bundle")  # first: an edit is named as one, not as its symptom
    err = first_error(load_schema("bundle.schema.json"), bundle)
    if err is not None:
        where = key_path(err.absolute_path)
        raise AnalysisError(f"{path}: not a bundle: {where}: {message_of(err)}")
    return bundle


def _declared_rows(study) -> dict[str, list[str]]:
    return {t["id"]: list(t["rows"]) for t in study.tables if t.get("kind", "summary") != "listing"}


def read_bundles(
    paths: list[str | Path], study, study_sha256: str, threshold: int
) -> list[dict[str, Any]]:
    """The bundles, each checked on its own and against the others and the study file."""
    if not paths:
        raise AnalysisError("pool: give at least one bundle")
    bundles: list[dict[str, Any]] = []
    sites: dict[str, Path] = {}
    declared = _declared_rows(study)
    for raw in paths:
        path = Path(raw)
        bundle = _read_one(path)
        made = bundle["study"]
        if made["id"] != study.id or made["version"] != study.version:
            raise AnalysisError(
                f"{path}: made for study '{made['id']}' version {made['version']}, but the "
                f"study file is '{study.id}' version {study.version}"
            )
        if made["sha256"] != study_sha256:
            raise AnalysisError(
                f"{path}: made with another study file (sha256 {made['sha256'][:12]}..., "
                f"this one {study_sha256[:12]}...), though both say version {study.version}"
            )
        site = bundle["site"]
        if site in sites:
            raise AnalysisError(f"{path}: site '{site}' already given by {sites[site]}")
        sites[site] = path
        small = small_counts(bundle, threshold)
        if small:
            more = f" ({len(small) - 1} more)" if len(small) > 1 else ""
            raise AnalysisError(
                f"{path}: {small[0]} is below the disclosure threshold {threshold}{more}: "
                "the site must rerun share with disclosure control"
            )
        tables = {t["id"]: t for t in bundle["tables"]}
        for tid, rows in declared.items():
            if tid not in tables:
                raise AnalysisError(f"{path}: has no table '{tid}', which the study declares")
            if tables[tid].get("withheld"):
                continue
            present = {r["variable"] for r in tables[tid]["rows"]}
            for name in rows:
                if name not in present:
                    raise AnalysisError(
                        f"{path}: table {tid} has no row '{name}', which the study declares"
                    )
        models = {m["id"] for m in bundle["models"]}
        for m in study.models:
            if m["id"] not in models:
                raise AnalysisError(f"{path}: has no model '{m['id']}', which the study declares")
        bundles.append(bundle)
    return bundles


def _fmt(value: Any, decimals: int = 2) -> str:
    if value is None:
        return "withheld"
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def summary_markdown(bundle: dict[str, Any]) -> str:
    """Everything the bundle holds, as a site's data steward reads it before sending."""
    lines = [
        f"# What leaves site {bundle['site']}",
        "",
        f"Study `{bundle['study']['id']}` version {bundle['study']['version']} "
        f"(study file sha256 `{bundle['study']['sha256']}`).",
        f"Disclosure control: profile `{bundle['disclosure']['profile']}`, counts below "
        f"{bundle['disclosure']['threshold']} withheld, with any count that would give one "
        "back by subtraction. No patient row, identifier, date, minimum, maximum or "
        "listing is in the bundle.",
        f"Bundle checksum (sha256): `{bundle['checksum']['value']}`.",
        "",
        f"Patients in the site's cohort: {_fmt(bundle['n'])}.",
        "",
    ]
    for item in bundle["withheld"]:
        lines.append(f"- Not sent: {item['output']} ({item['why']}).")
    for table in bundle["tables"]:
        lines += ["", f"## Table {table.get('number') or table['id']}: {table.get('title')}", ""]
        if table.get("withheld"):
            lines.append(f"Withheld: {table['withheld']}.")
            continue
        groups = table["groups"]
        lines.append("Groups: " + ", ".join(f"{g['label']} n = {_fmt(g['n'])}" for g in groups))
        lines += [
            "",
            "| row | " + " | ".join(g["label"] for g in groups) + " |",
            "|---|" + "---|" * len(groups),
        ]
        for row in table["rows"]:
            if row["kind"] == "continuous":
                cells = []
                for g in groups:
                    s = row["groups"][g["key"]]
                    cells.append(
                        f"n {_fmt(s['n'])}, missing {_fmt(s['missing'])}, mean {_fmt(s['mean'])}, "
                        f"SD {_fmt(s['sd'])}, median {_fmt(s['median'])} "
                        f"(IQR {_fmt(s['q1'])}-{_fmt(s['q3'])}), sum {_fmt(s['total'])}, "
                        f"sum of squared deviations {_fmt(s['ss'])}"
                    )
                ranks = "rank sums sent" if row.get("ranks") else "no rank sums"
                lines.append(f"| {row['label']} ({ranks}) | " + " | ".join(cells) + " |")
                continue
            for level in row["levels"]:
                cells = [_fmt(row["counts"][g["key"]][level["code"]]) for g in groups]
                lines.append(f"| {row['label']}: {level['label']} | " + " | ".join(cells) + " |")
            cells = [_fmt(row["missing"][g["key"]]) for g in groups]
            lines.append(f"| {row['label']}: missing | " + " | ".join(cells) + " |")
    for model in bundle["models"]:
        lines += ["", f"## Model {model['id']}", ""]
        if model.get("withheld"):
            lines.append(f"Withheld: {model['withheld']}.")
            continue
        lines.append(
            f"n = {model['n']}, events = {model['events']}, non-events = {model['nonevents']}; "
            "estimates (log odds) and their covariance matrix:"
        )
        lines += ["", "| term | estimate | SE |", "|---|---|---|"]
        for i, term in enumerate(model["terms"]):
            se = model["cov"][i][i] ** 0.5
            lines.append(f"| {term} | {model['estimate'][i]:.6f} | {se:.6f} |")
    return "\n".join(lines) + "\n"
