"""Load-time checks of ``derive:`` declarations, so a mistake stops the run before any data.

The study file's JSON Schema checks each kind's keys; this module checks what the
schema cannot: the kind itself (one plain message naming the known kinds), that every
source is a declared variable derived earlier in the file (derivations run in file
order) and not an identifier, that expressions parse and read columns of fitting
types, and that codes written in a derivation are codes of the variables concerned.
It also says which columns a derivation reads (:func:`derivation_sources`), for the
derive step and the validator.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis import expression as ex
from analysis.errors import StudyFileError
from analysis.identifiers import is_identifier_header
from analysis.schema_check import load_schema

if TYPE_CHECKING:
    from analysis.study import Variable

__all__ = [
    "check_derivation",
    "derivation_sources",
    "expression_types",
    "known_kinds",
    "parsed",
    "reference_date",
    "unknown_kind_message",
]

#: The keys naming source columns, for the kinds whose sources are plain keys.
SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "cut": ("source",),
    "ratio": ("numerator", "denominator"),
    "bmi": ("weight", "height_cm"),
    "mdrd_egfr": ("creatinine", "age", "sex"),
    "ckd_epi_2021_egfr": ("creatinine", "age", "sex"),
    "ckd_group": ("egfr", "dialysis"),
    "censored": ("source",),
    "age_at": ("birth",),
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@cache
def known_kinds() -> tuple[str, ...]:
    """The derivation kinds, as the study schema lists them (sorted)."""
    schema = load_schema("study.schema.json")
    return tuple(sorted(schema["$defs"]["derivation"]["properties"]["kind"]["enum"]))


def unknown_kind_message(raw: Any) -> str | None:
    """``variables.x.derive.kind: unknown derivation kind 'y' (known: ...)``, or None.

    Run before the schema, whose complaint about an unknown kind would be about the
    other keys of the derivation rather than the kind.
    """
    variables = raw.get("variables") if isinstance(raw, dict) else None
    if not isinstance(variables, list):
        return None
    known = known_kinds()
    for i, var in enumerate(variables):
        spec = var.get("derive") if isinstance(var, dict) else None
        if not isinstance(spec, dict) or "kind" not in spec or spec["kind"] in known:
            continue
        name = var.get("name")
        where = f"variables.{name}" if isinstance(name, str) else f"variables[{i}]"
        kind = spec["kind"]
        shown = f"'{kind}'" if isinstance(kind, str) else repr(kind)
        return f"{where}.derive.kind: unknown derivation kind {shown} (known: {', '.join(known)})"
    return None


@cache
def parsed(text: str) -> ex.Node:
    """The expression tree of ``text`` (parsed once per text)."""
    return ex.parse(text)


def reference_date(value: Any) -> dt.date | None:
    """``age_at``'s ``date`` as a fixed date, or None when it names a column.

    A YAML date (``2019-12-31`` unquoted) or text written ``YYYY-MM-DD`` is a date;
    anything else is a column name. ValueError for ``YYYY-MM-DD`` that is no date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return dt.date.fromisoformat(value)
    return None


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def derivation_sources(spec: Mapping[str, Any]) -> list[str]:
    """The columns a derivation reads, each once, in the order written."""
    kind = spec.get("kind")
    if kind == "expression":
        return _unique([n.name for n in ex.names(parsed(spec["expr"]))])
    if kind == "combine":
        return _unique([n.name for case in spec["cases"] for n in ex.names(parsed(case["when"]))])
    found = [spec[k] for k in SOURCE_KEYS.get(str(kind), ()) if isinstance(spec.get(k), str)]
    if kind == "age_at":
        try:
            fixed = reference_date(spec.get("date"))
        except ValueError:
            fixed = None
        if fixed is None and isinstance(spec.get("date"), str):
            found.append(spec["date"])
    return _unique(found)


def _value_type(var: Variable) -> tuple[str | None, str]:
    """How an expression reads ``var``: (number/text, "") or (None, why it cannot)."""
    if var.type == "continuous":
        return ex.NUM, ""
    if var.type in ("binary", "categorical"):
        numeric = [isinstance(c, int | float) and not isinstance(c, bool) for c in var.codes]
        if all(numeric):
            return ex.NUM, ""
        if not any(numeric):
            return ex.TEXT, ""
        return None, "has both numeric and text codes"
    if var.type == "text":
        return ex.TEXT, ""
    if var.type == "date":
        return None, "is a date (use kind: age_at)"
    return None, "is an identifier"


def expression_types(variables: Mapping[str, Variable]) -> dict[str, str]:
    """Every declared variable an expression can read -> number or text."""
    out = {}
    for name, var in variables.items():
        kind, _ = _value_type(var)
        if kind is not None:
            out[name] = kind
    return out


def _shown(text: str) -> str:
    """An expression on one line (same length, so positions still point right)."""
    return text.replace("\n", " ").replace("\t", " ").replace("\r", " ")


def _codes_text(var: Variable) -> str:
    return ", ".join(map(str, var.codes))


def _numeric_codes(var: Variable) -> bool:
    return all(isinstance(c, int | float) and not isinstance(c, bool) for c in var.codes)


class _Checker:
    """The checks of one derived variable; every failure is one StudyFileError line."""

    def __init__(self, where: Path, var: Variable, variables: Mapping[str, Variable]) -> None:
        self.where = where
        self.var = var
        self.variables = variables
        self.order = {name: i for i, name in enumerate(variables)}
        self.spec: dict[str, Any] = var.derive or {}

    def fail(self, key: str, message: str) -> StudyFileError:
        return StudyFileError(f"{self.where}: variables.{self.var.name}.derive.{key}: {message}")

    def source_problem(self, ref: str, *, identifier_ok: bool = False) -> str | None:
        """Why ``ref`` cannot be read by this derivation, or None."""
        if ref not in self.variables:
            return f"'{ref}' is not a declared variable"
        if ref == self.var.name:
            return f"'{ref}' is the variable being derived"
        src = self.variables[ref]
        if src.derive and self.order[ref] > self.order[self.var.name]:
            return f"'{ref}' is derived later in the file (derivations run in file order)"
        named_like_one = is_identifier_header(ref)
        if not identifier_ok and (src.identifier or named_like_one):
            return (
                f"'{ref}' is an identifier; a derivation reads identifiers only as "
                "age_at's birth date"
            )
        return None

    def need(self, key: str, *, identifier_ok: bool = False) -> Variable:
        ref = self.spec[key]
        problem = self.source_problem(ref, identifier_ok=identifier_ok)
        if problem:
            raise self.fail(key, problem)
        return self.variables[ref]

    def code(self, key: str, value: Any) -> None:
        if value not in self.var.codes:
            raise self.fail(
                key,
                f"{value!r} is not a code of '{self.var.name}' (codes: {_codes_text(self.var)})",
            )

    def expression(self, key: str, text: str) -> str:
        """Parse and type ``text``; its type (number, text, condition)."""
        shown = _shown(text)

        def bad(position: int, message: str) -> StudyFileError:
            return self.fail(key, f'"{shown}" at position {position}: {message}')

        try:
            tree = parsed(text)
        except ex.ExpressionError as err:
            raise bad(err.position, err.message) from None
        types: dict[str, str] = {}
        for node in ex.names(tree):
            problem = self.source_problem(node.name)
            if problem is None:
                kind, why = _value_type(self.variables[node.name])
                problem = None if kind else f"'{node.name}' {why}"
                types[node.name] = kind or ""
            if problem:
                raise bad(node.pos, problem)
        try:
            kind = ex.infer(tree, types)
        except ex.ExpressionError as err:
            raise bad(err.position, err.message) from None
        for name, literal in ex.literal_codes(tree):
            codes = self.variables[name].codes
            if codes and literal.value not in codes:
                raise bad(
                    literal.pos,
                    f"{literal.value!r} is not a code of '{name}' "
                    f"(codes: {_codes_text(self.variables[name])})",
                )
        return kind

    def result_fits(self, key: str, text: str, kind: str) -> None:
        """An expression's type must suit the variable it derives."""
        var = self.var
        if var.type == "continuous" and kind == ex.NUM:
            return
        if var.is_categorical:
            if kind == ex.BOOL and var.type == "binary" and len(var.codes) == 2:
                return
            if kind == ex.BOOL:
                why = "is a condition: it gives a binary variable with two codes"
                raise self.fail(key, f'"{_shown(text)}" {why} (use kind: combine for more)')
            if kind == (ex.NUM if _numeric_codes(var) else ex.TEXT):
                return
        raise self.fail(
            key, f'"{_shown(text)}" gives a {kind}, which does not fit a {var.type} variable'
        )

    def run(self) -> None:
        kind = self.spec["kind"]
        if kind == "expression":
            text = self.spec["expr"]
            self.result_fits("expr", text, self.expression("expr", text))
            return
        if kind == "combine":
            self.combine()
            return
        for key in SOURCE_KEYS.get(kind, ()):
            if key in self.spec:
                self.need(key, identifier_ok=kind == "age_at")
        if kind == "age_at":
            self.age_at()
        elif kind == "censored":
            self.censored()

    def combine(self) -> None:
        if not self.var.is_categorical:
            raise self.fail(
                "kind", "combine gives codes: declare the variable binary or categorical"
            )
        for i, case in enumerate(self.spec["cases"]):
            kind = self.expression(f"cases[{i}].when", case["when"])
            if kind != ex.BOOL:
                raise self.fail(f"cases[{i}].when", f"'when' needs a condition, not a {kind}")
            self.code(f"cases[{i}].value", case["value"])
        if "otherwise" in self.spec:
            self.code("otherwise", self.spec["otherwise"])

    def age_at(self) -> None:
        if self.var.type != "continuous":
            raise self.fail("kind", "age_at gives completed years: declare the variable continuous")
        self.dated("birth")
        try:
            fixed = reference_date(self.spec["date"])
        except ValueError:
            raise self.fail("date", f"'{self.spec['date']}' is not a date") from None
        if fixed is None:
            if not isinstance(self.spec["date"], str):
                raise self.fail("date", "expected a date (YYYY-MM-DD) or a column name")
            self.need("date", identifier_ok=True)
            self.dated("date")

    def dated(self, key: str) -> None:
        src = self.variables[self.spec[key]]
        if src.type not in ("date", "text", "id"):
            raise self.fail(
                key, f"'{src.name}' is {src.type}: a date column is declared type: date"
            )

    def censored(self) -> None:
        if self.var.type != "continuous":
            raise self.fail("kind", "censored gives numbers: declare the variable continuous")
        src = self.variables[self.spec["source"]]
        if src.type != "text":
            raise self.fail(
                "source", f"'{src.name}' holds values like '<0.1': declare it type: text"
            )


def check_derivation(where: Path, var: Variable, variables: Mapping[str, Variable]) -> None:
    """Refuse, with one line, a derivation that cannot work whatever the data."""
    _Checker(where, var, variables).run()
