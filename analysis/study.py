"""The study file: load, validate against its JSON Schema, check cross-references.

A study file is data, not code: the engine reads which variables exist, how
derived ones are built, which tables and models to produce and with which
test policy. Errors name the file, the key path and what is wrong, in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from analysis import yaml_safe
from analysis.derive_check import check_derivation, unknown_kind_message
from analysis.errors import StudyFileError
from analysis.model_spec import check_model, predictor_names
from analysis.schema_check import first_error, key_path, load_schema, message_of
from analysis.table_spec import check_table

__all__ = ["Study", "Variable", "load_study", "study_schema"]

_COMMON_FIGURE_KEYS = {"id", "kind", "caption"}
#: The keys each figure kind reads (the schema checks which are required).
FIGURE_KEYS = {
    "boxplot": _COMMON_FIGURE_KEYS | {"x", "y", "hue", "log_y", "where"},
    "forest": _COMMON_FIGURE_KEYS | {"model"},
    "predicted_probability": _COMMON_FIGURE_KEYS | {"model", "x"},
    "flow": _COMMON_FIGURE_KEYS,
    "missing": _COMMON_FIGURE_KEYS | {"variables", "where"},
    "calibration": _COMMON_FIGURE_KEYS | {"model", "groups", "results"},
}


@dataclass(frozen=True)
class Variable:
    """One column of the analysis dataset, as the study file declares it."""

    name: str
    label: str
    type: str
    unit: str | None = None
    codes: dict[Any, str] = field(default_factory=dict)
    range: tuple[float, float] | None = None
    identifier: bool = False
    only_if: dict[str, list[Any]] | None = None
    derive: dict[str, Any] | None = None
    summary: str | None = None
    decimals: int = 1
    show: Any = None

    @property
    def is_categorical(self) -> bool:
        return self.type in ("binary", "categorical")

    @property
    def levels(self) -> list[Any]:
        return list(self.codes)

    def display_label(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class Study:
    """A validated study file."""

    path: Path
    raw: dict[str, Any]
    variables: dict[str, Variable]

    @property
    def id(self) -> str:
        return self.raw["study"]["id"]

    @property
    def title(self) -> str:
        return self.raw["study"]["title"]

    @property
    def version(self) -> str | None:
        """The study file's declared version: sites and coordinator must use the same."""
        value = self.raw["study"].get("version")
        return None if value is None else str(value)

    @property
    def alpha(self) -> float:
        return float(self.raw["study"].get("alpha", 0.05))

    @property
    def subject_id(self) -> str | None:
        return self.raw["study"].get("subject_id")

    @property
    def tables(self) -> list[dict[str, Any]]:
        return self.raw["tables"]

    @property
    def models(self) -> list[dict[str, Any]]:
        return self.raw.get("models", [])

    @property
    def policies(self) -> dict[str, dict[str, Any]]:
        """The built-in policies, overridden or extended by the study file's own."""
        return {**default_policies(), **self.raw.get("policies", {})}

    @property
    def limits(self) -> dict[str, Any]:
        """``limits:`` of the study file (e.g. ``max_cell_chars``); empty when not given."""
        return dict(self.raw.get("limits") or {})

    @property
    def max_cell_chars(self) -> int | None:
        """Longest text cell the readers accept; None means their default (32,767)."""
        return self.limits.get("max_cell_chars")

    @property
    def inclusion(self) -> list[dict[str, Any]]:
        return self.raw.get("cohort", {}).get("inclusion", [])

    @property
    def figures(self) -> list[dict[str, Any]]:
        return self.raw.get("figures", [])

    @property
    def sensitivity(self) -> list[dict[str, Any]]:
        """The sensitivity analyses, each with its ``id`` (default: the analysis name)."""
        return [{"id": e.get("id", e["analysis"]), **e} for e in self.raw.get("sensitivity", [])]

    @cached_property
    def published(self) -> list[dict[str, Any]]:
        """Every figure the paper publishes, one checked entry each (analysis/published.py):
        from the file ``published: {file: ...}`` names, or the inline counts and p-values.

        Read and checked when asked for (the scorecard, ``analysis.published``), not when
        the study loads: a study file copied elsewhere without its published figures
        still runs every table. Read once per Study."""
        from analysis.published import published_entries  # it reads Study: import here

        return published_entries(self)

    @property
    def identifiers(self) -> list[str]:
        return [v.name for v in self.variables.values() if v.identifier]

    @property
    def derived(self) -> list[Variable]:
        return [v for v in self.variables.values() if v.derive]

    def table(self, table_id: str) -> dict[str, Any]:
        for t in self.tables:
            if t["id"] == table_id:
                return t
        raise StudyFileError(f"{self.path}: no table with id '{table_id}'")

    def model(self, model_id: str) -> dict[str, Any]:
        for m in self.models:
            if m["id"] == model_id:
                return m
        raise StudyFileError(f"{self.path}: no model with id '{model_id}'")

    def output_ids(self) -> list[str]:
        """Every table and model id, in file order (tables first)."""
        return [t["id"] for t in self.tables] + [m["id"] for m in self.models]


@cache
def default_policies() -> dict[str, dict[str, Any]]:
    """analysis/policies.yaml: paper, recommended, descriptive."""
    text = resources.files("analysis").joinpath("policies.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def study_schema() -> dict[str, Any]:
    return load_schema("study.schema.json")


def _item_name(raw: Any, path: list[Any]) -> str:
    """' (variable 'race')' for a path into a list of named items: the user finds an
    item by its name, not by counting to variables[4]."""
    if len(path) < 2 or not isinstance(path[1], int) or not isinstance(raw, dict):
        return ""
    items = raw.get(path[0])
    item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
    key = {"variables": "name"}.get(path[0], "id")
    if not isinstance(item, dict) or not isinstance(item.get(key), str):
        return ""
    kind = {"variables": "variable", "tables": "table", "models": "model"}.get(path[0])
    return f" ({kind or 'id'} '{item[key]}')"


def _schema_error(where: Path, raw: dict[str, Any]) -> str | None:
    err = first_error(study_schema(), raw)
    if err is None:
        return None
    path = list(err.absolute_path)
    return f"{where}: {key_path(path)}{_item_name(raw, path)}: {message_of(err)}"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _build_variables(where: Path, raw: dict[str, Any]) -> dict[str, Variable]:
    variables: dict[str, Variable] = {}
    for i, v in enumerate(raw["variables"]):
        if v["name"] in variables:
            raise StudyFileError(f"{where}: variables[{i}].name: '{v['name']}' is declared twice")
        rng = v.get("range")
        if rng is not None and rng[0] > rng[1]:
            raise StudyFileError(f"{where}: variables[{i}].range: lower bound {rng[0]} > {rng[1]}")
        only_if = {k: _as_list(val) for k, val in v.get("only_if", {}).items()} or None
        variables[v["name"]] = Variable(
            name=v["name"],
            label=v["label"],
            type=v["type"],
            unit=v.get("unit"),
            codes=dict(v.get("codes", {})),
            range=tuple(rng) if rng else None,
            identifier=bool(v.get("identifier", False)) or v["type"] == "id",
            only_if=only_if,
            derive=v.get("derive"),
            summary=v.get("summary"),
            decimals=int(v.get("decimals", 1)),
            show=v.get("show"),
        )
    return variables


def _check_references(where: Path, raw: dict[str, Any], variables: dict[str, Variable]) -> None:
    """Every name the file refers to must be a declared variable, table, policy."""

    def need(name: str, key: str) -> Variable:
        if name not in variables:
            raise StudyFileError(f"{where}: {key}: '{name}' is not a declared variable")
        return variables[name]

    def need_categorical(name: str, key: str) -> None:
        if not need(name, key).is_categorical:
            raise StudyFileError(f"{where}: {key}: '{name}' must be binary or categorical")

    def need_codes(name: str, values: list[Any], key: str) -> None:
        var = need(name, key)
        if var.codes:
            unknown = [x for x in values if x not in var.codes]
            if unknown:
                raise StudyFileError(
                    f"{where}: {key}: {unknown[0]!r} is not a code of '{name}' "
                    f"(codes: {', '.join(map(str, var.codes))})"
                )

    sid = raw["study"].get("subject_id")
    if sid is not None:
        need(sid, "study.subject_id")
    for name, var in variables.items():
        if var.show is not None:
            need_codes(name, [var.show], f"variables.{name}.show")
        for ref, values in (var.only_if or {}).items():
            need_codes(ref, values, f"variables.{name}.only_if")
        if var.derive:
            # sources declared (earlier if derived), expressions parsed, codes known
            check_derivation(where, var, variables)
            if var.derive["kind"] == "cut" and len(var.codes) != len(var.derive["breaks"]) + 1:
                raise StudyFileError(
                    f"{where}: variables.{name}.derive.breaks: {len(var.derive['breaks'])} "
                    f"break(s) need {len(var.derive['breaks']) + 1} codes, found {len(var.codes)}"
                )
    for j, crit in enumerate(raw.get("cohort", {}).get("inclusion", [])):
        for k, cond in enumerate(crit.get("all", crit.get("any", []))):
            need(cond["variable"], f"cohort.inclusion[{j}].conditions[{k}].variable")
            if cond["op"] != "notnull" and "value" not in cond:
                raise StudyFileError(
                    f"{where}: cohort.inclusion[{j}].conditions[{k}]: "
                    f"op '{cond['op']}' needs a value"
                )
    policies = {**default_policies(), **raw.get("policies", {})}
    seen: set[str] = set()
    for i, table in enumerate(raw["tables"]):
        key = f"tables[{i}]"
        if table["id"] in seen:
            raise StudyFileError(f"{where}: {key}.id: '{table['id']}' is used twice")
        seen.add(table["id"])
        if "group_by" in table:
            need_categorical(table["group_by"], f"{key}.group_by")
        for name, values in table.get("where", {}).items():
            need_codes(name, _as_list(values), f"{key}.where")
        for name in table.get("rows", []) + table.get("columns", []) + table.get("sort_by", []):
            need(name, f"{key}.rows")
        for name in table.get("overrides", {}):
            if name not in table.get("rows", []):
                raise StudyFileError(
                    f"{where}: {key}.overrides: '{name}' is not a row of the table"
                )
        if table.get("kind", "summary") == "summary":
            policy = table.get("policy", "paper")
            if policy not in policies:
                raise StudyFileError(
                    f"{where}: {key}.policy: '{policy}' is not defined under policies"
                )
        # every test the table names fits its rows and groups (table_spec.py)
        check_table(where, key, table, policies, variables)
    models = {model["id"]: model for model in raw.get("models", [])}
    for i, fig in enumerate(raw.get("figures", [])):
        kind = fig.get("kind", "boxplot")
        stray = sorted(set(fig) - FIGURE_KEYS[kind])
        if stray:
            raise StudyFileError(
                f"{where}: figures[{i}].{stray[0]}: not a key of a {kind} figure "
                f"(keys: {', '.join(sorted(FIGURE_KEYS[kind]))})"
            )
        for key in ("x", "y", "hue"):
            if key in fig:
                need(fig[key], f"figures[{i}].{key}")
        for name in fig.get("variables", []):
            need(name, f"figures[{i}].variables")
        if kind == "boxplot":
            for key in ("x", "hue"):
                if key in fig:
                    need_categorical(fig[key], f"figures[{i}].{key}")
        if "model" in fig and fig["model"] not in models:
            raise StudyFileError(
                f"{where}: figures[{i}].model: '{fig['model']}' is not a model of the study "
                f"(models: {', '.join(models) or 'none'})"
            )
        if kind == "predicted_probability":
            if fig["x"] not in predictor_names(models[fig["model"]]):
                raise StudyFileError(
                    f"{where}: figures[{i}].x: '{fig['x']}' is not a predictor of model "
                    f"'{fig['model']}'"
                )
    analyses: set[str] = set()
    for i, entry in enumerate(raw.get("sensitivity", [])):
        key = f"sensitivity[{i}]"
        name = entry.get("id", entry["analysis"])
        if name in analyses:
            raise StudyFileError(f"{where}: {key}: '{name}' is used twice (give it an id)")
        analyses.add(name)
        if "model" in entry and entry["model"] not in models:
            raise StudyFileError(
                f"{where}: {key}.model: '{entry['model']}' is not a model of the study "
                f"(models: {', '.join(models) or 'none'})"
            )
        for option in ("adjust", "auxiliary"):
            for variable in entry.get(option, []):
                need(variable, f"{key}.{option}")
        for option in ("group_variable", "dose_variable"):
            if option in entry:
                need(entry[option], f"{key}.{option}")
        for variable in entry.get("per", {}):
            need(variable, f"{key}.per")
    for i, model in enumerate(raw.get("models", [])):
        key = f"models[{i}]"
        if model["id"] in seen:
            raise StudyFileError(f"{where}: {key}.id: '{model['id']}' is used twice")
        seen.add(model["id"])
        # outcome, event, where, and how each predictor enters (reference codes, as:)
        check_model(where, key, model, variables)


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; raise StudyFileError with one clear line."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise StudyFileError(f"{where}: cannot read study file ({exc.strerror})") from exc
    raw = yaml_safe.load_file_text(text, where)
    if not isinstance(raw, dict):
        raise StudyFileError(f"{where}: (top level): expected a mapping of keys, got {raw!r:.40}")
    unknown_kind = unknown_kind_message(raw)  # before the schema: its message is clearer
    if unknown_kind:
        raise StudyFileError(f"{where}: {unknown_kind}")
    problem = _schema_error(where, raw)
    if problem:
        raise StudyFileError(problem)
    variables = _build_variables(where, raw)
    _check_references(where, raw, variables)
    return Study(path=where, raw=raw, variables=variables)
