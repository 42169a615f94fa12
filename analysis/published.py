"""The figures a study's paper publishes, as data: load, validate, cross-check.

The study file points at them (``published: {file: <name>.published.yaml}``, relative
to the study file); each entry names a table or model of the study (or ``cohort``), a
variable, optionally a level and a group, what kind of figure it is and the printed
value. The older inline form (``published: {counts: ..., p_values: [...]}``) is read
too, as the same entries. Errors are one line naming the file, the entry and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import yaml_safe
from analysis.errors import StudyFileError
from analysis.model_spec import predictor_names
from analysis.schema_check import first_error, key_path, load_schema, message_of

if TYPE_CHECKING:
    from analysis.study import Study

__all__ = [
    "COHORT",
    "KINDS",
    "load_published",
    "published_entries",
    "published_path",
    "published_schema",
]

#: The ``table`` of a figure about the whole cohort.
COHORT = "cohort"
#: Every kind of figure, in the order the scorecard explains them.
KINDS = ("count", "percent", "median", "min", "max", "p_value", "significance")
_STATS = ("percent", "median", "min", "max")


def published_schema() -> dict[str, Any]:
    return load_schema("published.schema.json")


def published_path(study: Study) -> Path | None:
    """The published-figures file of ``study`` (None for the inline form or none)."""
    spec = study.raw.get("published") or {}
    if "file" not in spec:
        return None
    return Path(study.path).parent / spec["file"]


def published_entries(study: Study) -> list[dict[str, Any]]:
    """Every published figure of ``study`` as a checked entry (empty when it has none).

    Each entry: ``index`` (its place in the file), ``table``, ``variable`` (None only
    for the cohort's number of subjects), ``level`` and ``group`` (codes as text, or
    None), ``kind``, ``value`` (None for ``significance``), ``significant`` (None
    unless ``kind`` is ``significance``), ``decimals`` (None: the kind's default) and
    ``source``.
    """
    spec = study.raw.get("published") or {}
    if not spec:
        return []
    path = published_path(study)
    if path is not None:
        return load_published(path, study)
    where = Path(study.path)
    entries = _inline_entries(spec)
    err = first_error(published_schema(), {"entries": entries}) if entries else None
    if err is not None:
        raise StudyFileError(f"{where}: published: {message_of(err)}")
    return _check(where, "published.entries", entries, study)


def load_published(path: str | Path, study: Study) -> list[dict[str, Any]]:
    """Read ``path``, validate it against its schema and against ``study``."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise StudyFileError(
            f"{where}: cannot read the published-figures file named by "
            f"{Path(study.path).name} ({exc.strerror})"
        ) from exc
    raw = yaml_safe.load_file_text(text, where)
    if not isinstance(raw, dict):
        raise StudyFileError(f"{where}: (top level): expected a mapping with 'entries'")
    err = first_error(published_schema(), raw)
    if err is not None:
        raise StudyFileError(f"{where}: {key_path(err.absolute_path)}: {message_of(err)}")
    if raw.get("study") not in (None, study.id):
        raise StudyFileError(
            f"{where}: study: '{raw['study']}' is not the study of {Path(study.path).name} "
            f"('{study.id}')"
        )
    return _check(where, "entries", raw["entries"], study)


def _inline_entries(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline ``counts`` and ``p_values`` as entries of the file form."""
    out: list[dict[str, Any]] = []
    for name, value in (spec.get("counts") or {}).items():
        where = f"study file, published.counts.{name}"
        if name == "n":
            out.append({"table": COHORT, "kind": "count", "value": value, "source": where})
            continue
        for level, count in (value or {}).items():
            out.append({"table": COHORT, "variable": name, "level": level, "kind": "count",
                        "value": count, "source": where})  # fmt: skip
    for item in spec.get("p_values") or []:
        entry = {"table": item["table"], "variable": item["variable"]}
        if "p" in item:
            entry |= {"kind": "p_value", "value": item["p"]}
        else:
            entry |= {"kind": "significance", "significant": bool(item.get("significant"))}
        out.append(entry | {"source": "study file, published.p_values"})
    return out


def _check(
    where: Path, key: str, entries: list[dict[str, Any]], study: Study
) -> list[dict[str, Any]]:
    tables = {t["id"]: t for t in study.tables}
    models = {m["id"]: m for m in study.models}
    out = []
    for i, item in enumerate(entries):
        at = f"{where}: {key}[{i}]"

        def fail(field: str, text: str, at: str = at) -> StudyFileError:
            return StudyFileError(f"{at}.{field}: {text}")

        table, kind, name = item["table"], item["kind"], item.get("variable")
        level, group = item.get("level"), item.get("group")
        if table == COHORT:
            rows: list[str] | None = None
        elif table in models:
            rows = predictor_names(models[table])
        elif table in tables:
            spec = tables[table]
            if spec.get("kind", "summary") != "summary":
                raise fail("table", f"'{table}' is a {spec['kind']}, which has no statistics")
            rows = list(spec.get("rows", []))
        else:
            ids = ", ".join([*tables, *models, COHORT])
            raise fail("table", f"'{table}' is not a table or model of the study ({ids})")
        if name is None:
            if not (table == COHORT and kind == "count" and level is None):
                raise fail("variable", "missing (only the cohort's number of subjects has none)")
        elif name not in study.variables:
            raise fail("variable", f"'{name}' is not a declared variable")
        elif rows is not None and name not in rows:
            what = "a predictor of model" if table in models else "a row of table"
            raise fail("variable", f"'{name}' is not {what} '{table}' ({', '.join(rows)})")
        var = study.variables.get(name) if name else None
        if kind in ("p_value", "significance"):
            if table == COHORT:
                raise fail("kind", f"a {kind} belongs to a table or model, not to the cohort")
        elif table in models:
            raise fail("kind", f"a model publishes p-values only, not a {kind}")
        elif kind in ("median", "min", "max"):
            if var is not None and var.is_categorical:
                raise fail("kind", f"'{name}' is {var.type}: it has counts, not a {kind}")
            if level is not None:
                raise fail("level", f"a {kind} has no level")
        elif var is not None and kind in ("count", "percent"):
            if not var.is_categorical:
                raise fail("kind", f"'{name}' is {var.type}: it has no {kind} (give a median)")
            if level is None:
                raise fail("level", f"a {kind} of '{name}' needs the level it counts")
        elif var is None and kind != "count":
            raise fail("variable", f"a {kind} needs a variable")
        if level is not None:
            codes = {str(c): c for c in var.codes}
            if str(level) not in codes:
                raise fail(
                    "level", f"{level!r} is not a code of '{name}' (codes: {', '.join(codes)})"
                )
        if group is not None:
            by = tables.get(table, {}).get("group_by")
            if by is None:
                raise fail("group", f"'{table}' has no groups (no group_by)")
            codes = {str(c): c for c in study.variables[by].codes}
            if str(group) not in codes:
                raise fail(
                    "group",
                    f"{group!r} is not a code of '{by}', the groups of '{table}' "
                    f"(codes: {', '.join(codes)})",
                )
        out.append(
            {
                "index": i,
                "table": table,
                "variable": name,
                "level": None if level is None else str(level),
                "group": None if group is None else str(group),
                "kind": kind,
                "value": item.get("value"),
                "significant": item.get("significant") if kind == "significance" else None,
                "decimals": item.get("decimals"),
                "source": item.get("source", ""),
            }
        )
    return out
