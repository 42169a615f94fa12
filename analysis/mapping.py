"""Site mapping file: one hospital's export -> the variables of a study file.

A mapping file is YAML (schema: ``analysis/schemas/mapping.schema.json``;
guide: ``docs/own-data.md``). Its sections are applied in this order:

``rename``     ``{column in the export: study variable}``
``drop``       ``[columns to discard]`` (names after ``rename``)
``missing``    ``{column: [codes the site uses for "unknown"]}``; ``"*"`` for every column
``not_applicable`` ``{column: [values meaning "does not apply"]}`` (e.g. "No" in
               onset_hours for a patient without neurotoxicity)
``recode``     ``{variable: {source value: study code}}``, or the long form
               ``{variable: {values: {...}, unmapped: error|keep|missing}}``; a
               labelled SPSS/Stata column without a recode is recoded by its value
               labels here (:mod:`analysis.labels`)
``units``      ``{variable: unit of the export}`` -> the unit the study file declares
               (table: ``MAPPING_UNITS``); long form ``{from: unit, substance: name}``
``dates``      ``{variable: {from, to, unit: years|months|days|hours, inclusive,
               format, from_format, to_format}}``; without a format, ISO text or
               Excel serial day numbers (:mod:`analysis.io.excel_serial`)
``constants``  ``{variable: value}``

Every section after ``rename`` names columns as they are after renaming (the
study name if renamed, otherwise the export's own name). Column names, keys and
values are compared in Unicode NFC (a Mac's decomposed Hangul matches the composed
form), and a name that is not found gets the closest one as "did you mean". The YAML is read with
YAML 1.2 scalars: only ``true``/``false`` are booleans (``Y``, ``N``, ``yes``,
``no``, ``on``, ``off`` stay text), ``2016-06-14`` stays text, and ``01`` stays
text (``1`` is a number). Duplicate keys and alias bombs are refused
(:mod:`analysis.yaml_safe`), and so is a source value listed twice in any way that
would make the result depend on which one wins (``1`` and ``"1"``; a code both
declared missing and recoded).

Everything the mapping makes missing (declared codes, not-applicable values, values
recoded to ``null``, ``unmapped: missing``) is counted in
``frame.attrs["made_missing"]``, after what the reader counted (renamed).

Problems with the mapping file raise :class:`MappingError` (``file: key: problem``);
problems with the data raise :class:`~analysis.errors.DataError` naming the
mapping file, the key, the column, the 1-based data row and the value.

Scale: every transform is vectorised. Recoding and date parsing factorise the
column once and do their per-value work once per *distinct* value (a handful of
codes, a few thousand dates), never per row: a 2-million-row, 41-column export
maps in 2-4 seconds on one core. The input frame is never modified, and rows are never
removed or reordered, so row numbers in later validation messages are the
export's own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analysis import yaml_safe
from analysis.errors import DataError, MappingError
from analysis.io._common import made_missing_entry, numeric_if_all_numbers, sort_made_missing
from analysis.io.excel_serial import from_serial, year_like
from analysis.labels import apply_value_labels
from analysis.labels import show_value as _show
from analysis.names import did_you_mean, nfc
from analysis.schema_check import first_error, key_path, load_schema, message_of
from analysis.study import Study, Variable

__all__ = [
    "MAPPING_UNITS",
    "Mapping",
    "MappingError",
    "UnitConversion",
    "apply_mapping",
    "check_mapping",
    "load_mapping",
    "mapping_schema",
]

MAX_ROWS_IN_MESSAGE = 5


# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class UnitConversion:
    """``value in to_unit = value in from_unit * factor`` (factor kept exact as a fraction)."""

    from_unit: str
    to_unit: str
    factor: Fraction
    substance: str | None = None  # molar <-> mass conversions hold for one substance only
    note: str = ""

    def apply(self, values: pd.Series) -> pd.Series:
        # Multiply by the numerator, then divide by the denominator: 176.8 / 88.4 is exactly 2.0.
        return values * self.factor.numerator / self.factor.denominator


# (from, to, factor, substances, note). The reverse of each row is added automatically.
# Substance-specific rows apply when the variable is named like the substance, or when the
# mapping says `{from: ..., substance: ...}`.
_MONOVALENT = ("bicarbonate", "total_co2", "sodium", "potassium", "chloride")
_CONVERSIONS: tuple[tuple[str, str, str, tuple[str, ...] | None, str], ...] = (
    # mass concentration
    ("g/L", "g/dL", "1/10", None, "albumin, total protein, haemoglobin"),
    ("mg/L", "mg/dL", "1/10", None, "C-reactive protein"),
    # substance concentration <-> mass concentration
    ("umol/L", "mg/dL", "1/88.4", ("creatinine",), "1 mg/dL creatinine = 88.4 umol/L"),
    ("mmol/L", "mg/dL", "38.67", ("cholesterol",), "1 mmol/L cholesterol = 38.67 mg/dL"),
    ("mmol/L", "mg/dL", "18.016", ("glucose",), "1 mmol/L glucose = 18.016 mg/dL"),
    ("mmol/L", "mg/dL", "2.801", ("urea_nitrogen", "bun"), "1 mmol/L urea = 2.801 mg/dL BUN"),
    ("mEq/L", "mmol/L", "1", _MONOVALENT, "monovalent ions only"),
    # pressure
    ("kPa", "mmHg", "7.50062", None, "1 kPa = 7.50062 mmHg"),
    # mass (doses, body weight)
    ("g", "mg", "1000", None, ""),
    ("ug", "mg", "1/1000", None, "also written mcg"),
    ("kg", "g", "1000", None, ""),
    ("lb", "kg", "0.45359237", None, "international pound"),
    # length
    ("m", "cm", "100", None, ""),
    ("mm", "cm", "1/10", None, ""),
    ("in", "cm", "2.54", None, ""),
    # time
    ("min", "hours", "1/60", None, ""),
    ("days", "hours", "24", None, ""),
    ("weeks", "days", "7", None, ""),
    ("years", "months", "12", None, ""),
    ("years", "days", "365.25", None, "mean Julian year; exact ages come from `dates`"),
)


def _build_units() -> dict[tuple[str, str, str | None], UnitConversion]:
    table: dict[tuple[str, str, str | None], UnitConversion] = {}
    for src, dst, factor, substances, note in _CONVERSIONS:
        for substance in substances or (None,):
            num, _, den = factor.partition("/")
            f = Fraction(num) / Fraction(den or "1")
            for a, b, k in ((src, dst, f), (dst, src, 1 / f)):
                table.setdefault((a, b, substance), UnitConversion(a, b, k, substance, note))
    return table


#: The conversion table: ``(from unit, to unit, substance or None) -> UnitConversion``.
MAPPING_UNITS: dict[tuple[str, str, str | None], UnitConversion] = _build_units()

_UNIT_ALIASES = {
    "mcg": "ug",
    "mcmol/l": "umol/l",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "d": "days",
    "day": "days",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "mo": "months",
    "month": "months",
    "y": "years",
    "yr": "years",
    "yrs": "years",
    "year": "years",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "inch": "in",
    "inches": "in",
    "meq/l": "meq/l",
}


def _norm_unit(unit: str) -> str:
    """Compare units by spelling-insensitive form: 'µmol/L', 'umol/l', '㎛ol/ℓ'... alike."""
    u = unicodedata.normalize("NFKC", str(unit)).replace("μ", "u").replace("µ", "u")
    u = re.sub(r"[\s^]", "", u).lower()
    return _UNIT_ALIASES.get(u, u)


_UNIT_INDEX = {(_norm_unit(a), _norm_unit(b), s): conv for (a, b, s), conv in MAPPING_UNITS.items()}
_UNIT_SPELLING = {_norm_unit(u): u for (a, b, _) in MAPPING_UNITS for u in (a, b)}


def _find_conversion(src: str, dst: str, substance: str | None) -> UnitConversion | None:
    a, b = _norm_unit(src), _norm_unit(dst)
    return _UNIT_INDEX.get((a, b, substance)) or _UNIT_INDEX.get((a, b, None))


# --------------------------------------------------------------------------- loading


class _Loader(yaml.SafeLoader):
    """YAML 1.2 core scalars: no yes/no/on/off booleans, no timestamps, no octal/sexagesimal."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float", "timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9]+[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def mapping_schema() -> dict[str, Any]:
    return load_schema("mapping.schema.json")


def _schema_problem(where: Path, raw: dict[str, Any]) -> str | None:
    """The most specific schema error as one line."""
    err = first_error(mapping_schema(), raw)
    if err is None:
        return None
    message = message_of(err)
    if err.validator == "type" and len(err.absolute_path) == 3 and err.absolute_path[0] == "recode":
        # a nested value under recode.<variable> in the short form: a misspelt keyword
        message = (
            f"unknown key '{err.absolute_path[2]}' (misspelt 'values' or 'unmapped'?; "
            "in the short form each value in the export maps to one study code)"
        )
    elif err.validator == "enum":
        message = f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    return f"{where}: {key_path(err.absolute_path)}: {message}"


def _nfc_tree(node: Any, where: Path, key: str = "") -> Any:
    """Every text of a parsed YAML document in NFC; keys that become equal are an error."""
    if isinstance(node, list):
        return [_nfc_tree(v, where, key) for v in node]
    if not isinstance(node, dict):
        return nfc(node)
    out: dict[Any, Any] = {}
    original: dict[Any, Any] = {}
    for k, v in node.items():
        new = nfc(k)
        path = f"{key}.{new}" if key else str(new)
        if new in out:
            raise MappingError(
                f"{where}: {key or '(top level)'}: keys {original[new]!r} and {k!r} are the "
                "same text in two Unicode forms (composed and decomposed); keep one"
            )
        original[new] = k
        out[new] = _nfc_tree(v, where, path)
    return out


@dataclass(frozen=True)
class Mapping:
    """A loaded, schema-valid mapping file (``raw`` is the YAML as read, texts in NFC).

    Text is put in Unicode NFC, like the data the readers return, so a mapping typed
    on a Mac (decomposed Hangul) matches the columns and values of any export.
    """

    path: Path
    raw: dict[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", _nfc_tree(self.raw, self.path))

    def where(self, key: str) -> str:
        return f"{self.path}: {key}"

    @property
    def rename(self) -> dict[str, str]:
        return {str(k): v for k, v in (self.raw.get("rename") or {}).items()}

    @property
    def drop(self) -> list[str]:
        return list(self.raw.get("drop") or [])

    def _codes(self, section: str) -> dict[str, list[Any]]:
        """``{column: [codes]}`` of ``missing`` / ``not_applicable`` (a scalar is a list of one)."""
        out = {}
        for name, codes in (self.raw.get(section) or {}).items():
            out[str(name)] = list(codes) if isinstance(codes, list) else [codes]
        return out

    @property
    def missing(self) -> dict[str, list[Any]]:
        """Declared missing codes per column; key ``"*"`` applies to every column."""
        return self._codes("missing")

    @property
    def not_applicable(self) -> dict[str, list[Any]]:
        """Values meaning "does not apply" per column: made missing, counted as such."""
        return self._codes("not_applicable")

    @property
    def recode(self) -> dict[str, dict[str, Any]]:
        """``{variable: {"values": {source: target}, "unmapped": policy}}`` (long form)."""
        out = {}
        for name, spec in (self.raw.get("recode") or {}).items():
            if "values" in spec or "unmapped" in spec:
                out[str(name)] = {"values": spec["values"], "unmapped": spec.get("unmapped")}
            else:
                out[str(name)] = {"values": spec, "unmapped": None}
            out[str(name)]["unmapped"] = out[str(name)]["unmapped"] or "error"
        return out

    @property
    def units(self) -> dict[str, dict[str, str | None]]:
        """``{variable: {"from": unit, "substance": name or None}}``."""
        out = {}
        for name, spec in (self.raw.get("units") or {}).items():
            spec = spec if isinstance(spec, dict) else {"from": spec}
            out[str(name)] = {"from": spec["from"], "substance": spec.get("substance")}
        return out

    @property
    def dates(self) -> dict[str, dict[str, Any]]:
        return {str(k): dict(v) for k, v in (self.raw.get("dates") or {}).items()}

    @property
    def constants(self) -> dict[str, Any]:
        return {str(k): v for k, v in (self.raw.get("constants") or {}).items()}


def load_mapping(path: str | Path, study: Study | None = None) -> Mapping:
    """Read and validate a mapping file; with ``study``, also check it against the study file."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(f"{where}: cannot read mapping file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(f"{where}: not UTF-8 text (save the mapping file as UTF-8)") from exc
    try:
        raw = yaml_safe.load(text, loader=_Loader)  # no duplicate keys, no alias bombs
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise MappingError(f"{where}: not valid YAML{at}: {problem}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: (top level): expected a mapping of keys, got {raw!r:.40}")
    mapping = Mapping(path=where, raw=raw)
    _check_self(mapping)
    if study is not None:
        check_mapping(mapping, study)
    return mapping


def _check_self(m: Mapping) -> None:
    """The schema, and the checks that need neither the study file nor the data."""
    _check_key_spellings(m)
    problem = _schema_problem(m.path, m.raw)
    if problem:
        raise MappingError(problem)
    _check_ambiguous_codes(m)
    seen: dict[str, str] = {}
    for src, dst in m.rename.items():
        if dst in seen:
            raise MappingError(
                f"{m.where(f'rename.{src}')}: '{dst}' is already the new name of '{seen[dst]}'"
            )
        seen[dst] = src
    for name, spec in m.dates.items():
        if spec.get("inclusive") and spec["unit"] != "days":
            raise MappingError(
                f"{m.where(f'dates.{name}.inclusive')}: only applies to unit: days "
                f"(this entry has unit: {spec['unit']})"
            )
        if spec["from"] == spec["to"]:
            raise MappingError(f"{m.where(f'dates.{name}')}: from and to are the same column")
    for name in m.constants:
        for section in ("recode", "units", "dates"):
            if name in (m.raw.get(section) or {}):
                raise MappingError(
                    f"{m.where(f'constants.{name}')}: '{name}' is also under {section}; "
                    "a constant replaces the whole column"
                )
    for name in m.dates:
        for section in ("recode", "units"):
            if name in (m.raw.get(section) or {}):
                raise MappingError(
                    f"{m.where(f'dates.{name}')}: '{name}' is also under {section}; "
                    "dates computes the column from scratch"
                )


_COLUMN_SECTIONS = ("rename", "missing", "not_applicable", "recode", "units", "dates", "constants")


def _check_key_spellings(m: Mapping) -> None:
    """Column keys that are the same name once read as text (``1`` and ``"1"``)."""
    for section in _COLUMN_SECTIONS:
        entries = m.raw.get(section)
        if not isinstance(entries, dict):
            continue  # the schema reports it
        first: dict[str, Any] = {}
        for key in entries:
            if str(key) in first:
                raise MappingError(
                    f"{m.where(section)}: column {first[str(key)]!r} is listed twice "
                    f"(also as {key!r}); keep one"
                )
            first[str(key)] = key


def _same_in_data(a: Any, b: Any) -> bool:
    """Whether two source values would match the same cells (as text, or as numbers)."""
    if _text_key(a) == _text_key(b):
        return True
    fa, fb = _float_key(a), _float_key(b)
    return fa is not None and fa == fb


def _check_ambiguous_codes(m: Mapping) -> None:
    """A source value listed twice, so that the outcome would depend on which one wins.

    Keys of one recode that match the same cells: ``1``, ``1.0`` and ``"1"`` (and
    ``" Y"`` / ``"Y"``) always, since readers give numbers or text depending on the file;
    ``"01"`` and ``1`` (equal only as numbers) when their targets differ. Two ways of
    giving empty cells a code (``null:`` and ``"":``). A value declared missing or not
    applicable that a recode also maps, or that is both missing and not applicable.
    """
    for name, spec in m.recode.items():
        keys = list(spec["values"])
        blanks = [k for k in keys if k is None or _is_blank_value(k)]
        if len(blanks) > 1:
            raise MappingError(
                f"{m.where(f'recode.{name}')}: empty cells are given a code twice "
                f"({' and '.join(repr(k) for k in blanks)}); keep one"
            )
        keys = [k for k in keys if k not in blanks]
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                same_text = _text_key(a) == _text_key(b)
                if same_text or (_same_in_data(a, b) and spec["values"][a] != spec["values"][b]):
                    raise MappingError(
                        f"{m.where(f'recode.{name}')}: keys {a!r} and {b!r} match the same "
                        "cells (a file may hold a code as a number or as text); keep one"
                    )
    missing, not_applicable = m.missing, m.not_applicable
    for section, table in (("missing", missing), ("not_applicable", not_applicable)):
        for name, codes in table.items():
            key = f"{section}.{name}"
            for i, a in enumerate(codes):
                twin = next((b for b in codes[i + 1 :] if _same_in_data(a, b)), None)
                if twin is not None:
                    raise MappingError(
                        f"{m.where(key)}: {a!r} and {twin!r} are the same value; keep one"
                    )
            for column in list(m.recode) if name == "*" else [name]:
                for source in m.recode.get(column, {}).get("values", {}):
                    if source is None or _is_blank_value(source):
                        continue
                    hit = next((c for c in codes if _same_in_data(c, source)), None)
                    if hit is not None:
                        raise MappingError(
                            f"{m.where(key)}: {hit!r} is also mapped by recode.{column} "
                            f"(key {source!r}); keep one"
                        )
    for name, codes in not_applicable.items():
        declared = missing.get(name, []) + missing.get("*", [])
        hit = next((c for c in codes if any(_same_in_data(c, d) for d in declared)), None)
        if hit is not None:
            raise MappingError(
                f"{m.where(f'not_applicable.{name}')}: {hit!r} is also declared under "
                "missing; keep one"
            )


# --------------------------------------------------------------------------- study checks


def _suggest(name: str, candidates: Any) -> str:
    close = did_you_mean(name, candidates)
    return f" (did you mean '{close}'?)" if close else ""


def _numeric_codes(var: Variable) -> bool:
    return bool(var.codes) and all(
        isinstance(k, int | float) and not isinstance(k, bool) for k in var.codes
    )


def _code_for(var: Variable, value: Any) -> tuple[bool, Any]:
    """(True, the study's own code object) if ``value`` denotes one of ``var``'s codes."""
    if value in var.codes and not isinstance(value, bool):
        for code in var.codes:  # return the study's object (1, not 1.0)
            if code == value:
                return True, code
    text = _text_key(value)
    for code in var.codes:
        if _text_key(code) == text:
            return True, code
    return False, None


def _codes_list(var: Variable) -> str:
    return ", ".join(f"{k}={v}" for k, v in var.codes.items())


def check_mapping(mapping: Mapping, study: Study) -> None:
    """Check a mapping against a study file (no data needed); raise MappingError."""
    m, variables = mapping, study.variables
    date_columns = {s[k] for s in m.dates.values() for k in ("from", "to")}

    def need(name: str, key: str) -> Variable:
        if name not in variables:
            raise MappingError(
                f"{m.where(key)}: '{name}' is not a variable of {study.path}"
                f"{_suggest(name, variables)}"
            )
        return variables[name]

    for src, dst in m.rename.items():
        if dst not in variables and dst not in date_columns:
            raise MappingError(
                f"{m.where(f'rename.{src}')}: '{dst}' is not a variable of {study.path} "
                f"nor a column read by dates{_suggest(dst, variables)}"
            )
    for section in ("missing", "not_applicable"):
        for name in getattr(m, section):
            if name != "*" and name not in variables and name not in date_columns:
                raise MappingError(
                    f"{m.where(f'{section}.{name}')}: '{name}' is not a variable of "
                    f"{study.path} nor a column read by dates{_suggest(name, variables)}"
                )
    for name, spec in m.recode.items():
        var = need(name, f"recode.{name}")
        for source, target in spec["values"].items():
            key = f"recode.{name}.{source}"
            if target is None:
                continue
            if var.codes:
                ok, _ = _code_for(var, target)
                if not ok:
                    raise MappingError(
                        f"{m.where(key)}: {target!r} is not a code of '{name}' "
                        f"(codes: {_codes_list(var)})"
                    )
            elif var.type == "continuous" and (
                isinstance(target, bool) or not isinstance(target, int | float)
            ):
                raise MappingError(
                    f"{m.where(key)}: {target!r} is not a number ('{name}' is continuous)"
                )
    for name, spec in m.units.items():
        var = need(name, f"units.{name}")
        _unit_conversion(m, name, spec, var)
    for name, spec in m.dates.items():
        key = f"dates.{name}"
        var = need(name, key)
        if var.type != "continuous":
            raise MappingError(f"{m.where(key)}: '{name}' is {var.type}, not continuous")
        if var.unit and _norm_unit(var.unit) != _norm_unit(spec["unit"]):
            raise MappingError(
                f"{m.where(f'{key}.unit')}: '{spec['unit']}', but {study.path} declares "
                f"'{name}' in {var.unit}"
            )
    for name, value in m.constants.items():
        key = f"constants.{name}"
        var = need(name, key)
        if value is not None and var.codes and not _code_for(var, value)[0]:
            raise MappingError(
                f"{m.where(key)}: {value!r} is not a code of '{name}' (codes: {_codes_list(var)})"
            )


def _unit_conversion(
    m: Mapping, name: str, spec: dict[str, Any], var: Variable
) -> UnitConversion | None:
    """The conversion for ``units.<name>``, None when the units already agree."""
    key = f"units.{name}"
    src = spec["from"]
    if not var.unit:
        raise MappingError(f"{m.where(key)}: the study file declares no unit for '{name}'")
    if _norm_unit(src) == _norm_unit(var.unit):
        return None
    substance = spec["substance"] or name
    conv = _find_conversion(src, var.unit, substance)
    if conv is not None:
        return conv
    a, b = _norm_unit(src), _norm_unit(var.unit)
    if a not in _UNIT_SPELLING:
        known = sorted(_UNIT_SPELLING.values(), key=str.lower)
        raise MappingError(
            f"{m.where(key)}: unknown unit '{src}'{_suggest(src, known)} "
            f"(known: {', '.join(known)})"
        )
    needs = sorted({s for (x, y, s) in _UNIT_INDEX if (x, y) == (a, b) and s})
    if needs and spec["substance"]:
        raise MappingError(
            f"{m.where(key)}.substance: no {src} -> {var.unit} conversion for "
            f"'{spec['substance']}' (the table has it for: {', '.join(needs)})"
        )
    if needs:
        raise MappingError(
            f"{m.where(key)}: {src} -> {var.unit} depends on the substance and the table has "
            f"it for: {', '.join(needs)}; if '{name}' is one of these, write "
            f"{{from: {src}, substance: {needs[0]}}}"
        )
    targets = sorted(
        {_UNIT_SPELLING[y] + (f" ({s})" if s else "") for (x, y, s) in _UNIT_INDEX if x == a},
        key=str.lower,
    )
    raise MappingError(
        f"{m.where(key)}: no conversion from '{src}' to '{var.unit}' (the unit of '{name}' "
        f"in the study file); from {src} the table converts to: {', '.join(targets)}"
    )


# --------------------------------------------------------------------------- data helpers


def _rows_note(positions: np.ndarray) -> str:
    shown = ", ".join(str(int(p) + 1) for p in positions[:MAX_ROWS_IN_MESSAGE])
    more = f", ... ({positions.size} rows in all)" if positions.size > MAX_ROWS_IN_MESSAGE else ""
    return f"row{'s' if positions.size > 1 else ''} {shown}{more}"


def _text_key(value: Any) -> str:
    """How a mapping key or a code compares with text data: 1, 1.0 and '1' alike."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value).strip())


def _float_key(value: Any) -> float | None:
    """How a mapping key compares with numeric data; None if it cannot match a number."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _as_text(col: pd.Series) -> pd.Series:
    """Text form of a column for matching (stripped; 1.0 -> '1' in mixed object columns)."""
    mixed = col.dtype == object or isinstance(col.dtype, pd.CategoricalDtype)
    text = col.astype(object).astype("str") if mixed else col.astype("str")
    text = text.str.strip()
    if mixed:
        text = text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return text


def _blank(col: pd.Series, text: pd.Series | None = None) -> np.ndarray:
    """Missing cells: NA, or text that is empty after stripping."""
    na = col.isna().to_numpy()
    if _is_numeric(col) or pd.api.types.is_datetime64_any_dtype(col):
        return na
    text = _as_text(col) if text is None else text
    return na | (text == "").to_numpy()


def _to_numeric_if_possible(values: pd.Series) -> pd.Series:
    try:
        return pd.to_numeric(values)
    except (ValueError, TypeError):
        return values


# --------------------------------------------------------------------------- transforms


def _rename_and_drop(frame: pd.DataFrame, m: Mapping) -> pd.DataFrame:
    columns = [str(c) for c in frame.columns]
    for src in m.rename:
        if src not in columns:
            raise MappingError(
                f"{m.where(f'rename.{src}')}: column '{src}' is not in the data"
                f"{_suggest(src, columns)}"
            )
    renamed_away = set(m.rename)
    for src, dst in m.rename.items():
        if dst in columns and dst not in renamed_away:
            raise MappingError(
                f"{m.where(f'rename.{src}')}: the data already have a column '{dst}'; "
                "drop it or rename it too"
            )
    out = frame.rename(columns={c: m.rename.get(str(c), c) for c in frame.columns})
    now = [str(c) for c in out.columns]
    for i, name in enumerate(m.drop):
        if name not in now:
            hint = " (it was renamed; drop uses the names after rename)" if name in m.rename else ""
            raise MappingError(
                f"{m.where(f'drop[{i}]')}: column '{name}' is not in the data"
                f"{hint or _suggest(name, now)}"
            )
    return out.drop(columns=m.drop) if m.drop else out


def _need_column(out: pd.DataFrame, m: Mapping, key: str, name: str) -> pd.Series:
    if name not in out.columns:
        sources = [s for s, d in m.rename.items() if d == name]
        hint = (
            f"; rename the export's column to '{name}' under rename"
            if not sources
            else f" ('{sources[0]}' was renamed to it but then dropped)"
        )
        raise MappingError(
            f"{m.where(key)}: column '{name}' is not in the data after rename and drop"
            f"{_suggest(name, out.columns) if not sources else ''}{hint}"
        )
    return out[name]


def _factorize(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row codes (-1 = missing) and the distinct values: per-value work is done once per value."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return np.asarray(codes), np.asarray(uniques, dtype=object)


def _is_blank_value(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _expand(values: list[Any], codes: np.ndarray, missing: Any, index: pd.Index) -> pd.Series:
    """One value per row from one value per distinct value (``missing`` where code is -1)."""
    values = [*values, missing]
    idx = np.where(codes < 0, len(values) - 1, codes)
    numbers = [v for v in values if v is not None]
    if all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in numbers):
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype="float64")[idx]
        if all(isinstance(v, int | np.integer) for v in numbers) and not np.isnan(arr).any():
            return pd.Series(arr.astype("int64"), index=index)
        return pd.Series(arr, index=index)
    return pd.Series(np.array(values, dtype=object)[idx], index=index).infer_objects()


def _blank_declared(out: pd.DataFrame, m: Mapping) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Make declared missing and not-applicable values missing, in place.

    Returns, per column, which rows were blanked (so that a recode's ``null:`` entry,
    which gives *empty* cells a code, cannot turn them into a value), and the
    ``made_missing`` records. Codes match like recode keys: ``99`` matches 99, 99.0 and
    the text "99"; text is compared after trimming spaces, case-sensitively.
    """
    plans: dict[str, list[tuple[Any, str]]] = {}
    for name, codes in m.missing.items():
        if name != "*":
            _need_column(out, m, f"missing.{name}", name)
            plans.setdefault(name, []).extend(
                (c, f"declared missing code {_show(c)} (mapping)") for c in codes
            )
    for name, codes in m.not_applicable.items():
        _need_column(out, m, f"not_applicable.{name}", name)
        plans.setdefault(name, []).extend(
            (c, f"not applicable ({_show(c)}, mapping)") for c in codes
        )
    for name in map(str, out.columns):
        for c in m.missing.get("*", []):  # the column's own list wins where they overlap
            if not any(_same_in_data(c, d) for d, _ in plans.get(name, [])):
                plans.setdefault(name, []).append(
                    (c, f"declared missing code {_show(c)} (mapping)")
                )
    masks: dict[str, np.ndarray] = {}
    counted: list[dict] = []
    for name, plan in plans.items():
        col = out[name]
        key_of = _float_key if _is_numeric(col) else _text_key
        codes, uniques = _factorize(col)
        unique_keys = [key_of(u) for u in uniques]
        total = np.zeros(len(col), dtype=bool)
        for code, reason in plan:
            key = key_of(code)
            flag = np.array([k is not None and k == key for k in unique_keys], dtype=bool)
            if key is None or not flag.any():
                continue
            mask = (codes >= 0) & flag[np.maximum(codes, 0)]
            counted.append(made_missing_entry(name, reason, mask))
            total |= mask
        if total.any():
            out[name] = numeric_if_all_numbers(col.mask(total))
            masks[name] = total
    return masks, counted


def _recode(
    col: pd.Series, m: Mapping, name: str, spec: dict[str, Any], var: Variable
) -> tuple[pd.Series, list[dict]]:
    """The recoded column and what it made missing (``null`` targets, ``unmapped: missing``)."""
    # Targets as the study's own code objects (1, not '1').
    targets = {
        k: (_code_for(var, t)[1] if var.codes and t is not None else t)
        for k, t in spec["values"].items()
    }
    blank_keys = [k for k in targets if k is None or _is_blank_value(k)]
    blank_target = targets[blank_keys[0]] if blank_keys else None
    numeric = _is_numeric(col)
    key_of = _float_key if numeric else _text_key
    lookup = {key_of(k): t for k, t in targets.items() if k not in blank_keys}
    source_of = {key_of(k): k for k in targets if k not in blank_keys}
    valid = {key_of(c): c for c in var.codes}
    policy = spec["unmapped"]

    codes, uniques = _factorize(col)
    out: list[Any] = []
    bad = np.zeros(len(uniques), dtype=bool)
    why: list[str | None] = [None] * len(uniques)  # why a distinct value became missing
    for i, value in enumerate(uniques):  # distinct values, not rows
        key = key_of(value)
        if _is_blank_value(value):
            out.append(blank_target)
        elif key in lookup:
            out.append(lookup[key])
            if lookup[key] is None:
                why[i] = f"recoded to missing ({_show(source_of[key])}, mapping)"
        elif policy == "keep" and var.codes and key in valid:
            out.append(valid[key])
        elif policy == "keep" and not var.codes:
            out.append(value)
        elif policy == "missing":
            out.append(None)
            why[i] = "unmapped value set missing (unmapped: missing)"
        else:
            out.append(None)
            bad[i] = True
    if bad.any():
        rows = np.flatnonzero(bad[codes] & (codes >= 0))
        listed = ", ".join(_show(v) for v in uniques[bad][:MAX_ROWS_IN_MESSAGE])
        more = ", ..." if bad.sum() > MAX_ROWS_IN_MESSAGE else ""
        what = "not listed" if policy == "error" else "neither listed nor a code of the study"
        raise DataError(
            f"{m.where(f'recode.{name}')}: column '{name}', row {rows[0] + 1}: value "
            f"{_show(col.iloc[rows[0]])} is {what} (unlisted: {listed}{more}; "
            f"{_rows_note(rows)}); add it, or set unmapped: keep or missing"
        )
    result = _expand(out, codes, blank_target, col.index)
    counted = []
    for reason in sorted({w for w in why if w}):
        flag = np.array([w == reason for w in why], dtype=bool)
        counted.append(made_missing_entry(name, reason, (codes >= 0) & flag[np.maximum(codes, 0)]))
    if var.type == "continuous" or _numeric_codes(var):
        return _to_numeric_if_possible(result), counted
    return result, counted


def _convert(col: pd.Series, m: Mapping, name: str, conv: UnitConversion) -> pd.Series:
    num = pd.to_numeric(col, errors="coerce") if not _is_numeric(col) else col
    bad = num.isna().to_numpy() & ~_blank(col)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"{m.where(f'units.{name}')}: column '{name}', row {rows[0] + 1}: value "
            f"{_show(col.iloc[rows[0]])} is not a number, so it cannot be converted from "
            f"{conv.from_unit} ({_rows_note(rows)})"
        )
    return conv.apply(num.astype("float64"))


_PLAIN_NUMBER = re.compile(r"^\s*[0-9]+(?:\.[0-9]+)?\s*$")


def _serial_number(value: Any) -> float:
    """A cell as an Excel serial day number candidate (NaN if it is not a plain number)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _PLAIN_NUMBER.match(value):
        return float(value)
    return float("nan")


def _parse_dates(col: pd.Series, m: Mapping, key: str, fmt: str | None) -> pd.Series:
    """Dates from date cells, text in ``fmt`` (default ISO 8601) or, without a format,
    Excel serial day numbers (43831 = 2020-01-01; :mod:`analysis.io.excel_serial`)."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return col
    codes, uniques = _factorize(col)  # registries repeat dates: parse each distinct value once
    values = pd.Series(uniques, dtype=object)
    blank = values.map(_is_blank_value).to_numpy(dtype=bool)
    is_date = values.map(lambda v: hasattr(v, "year")).to_numpy(dtype=bool)  # SPSS, Excel
    serial = np.full(len(values), np.nan)
    if fmt is None:
        serial = np.array([_serial_number(v) for v in uniques], dtype="float64")
    is_serial = ~np.isnan(serial) & ~is_date
    is_text = ~(is_date | is_serial | blank)
    parsed = np.full(len(values), np.datetime64("NaT", "ns"))
    if is_date.any():
        parsed[is_date] = pd.to_datetime(values[is_date], errors="coerce").to_numpy("M8[ns]")
    if is_serial.any():
        parsed[is_serial] = from_serial(serial[is_serial])
    if is_text.any():
        text = values[is_text].map(_text_key)  # 19500615.0 -> '19500615'
        found = pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce")
        parsed[is_text] = found.to_numpy("M8[ns]")
    bad = np.isnat(parsed) & ~blank
    if bad.any():
        rows = np.flatnonzero(bad[codes] & (codes >= 0))
        first = codes[rows[0]]
        if is_serial[first] and year_like(serial[first : first + 1])[0]:
            problem = "looks like a year, not a date (a date needs a day)"
        elif fmt:
            problem = f"is not a date in format {fmt!r}"
        else:
            problem = (
                "is neither a date in ISO format (YYYY-MM-DD) nor an Excel serial day "
                "number (set format: if the column is written another way)"
            )
        raise DataError(
            f"{m.where(key)}: column '{col.name}', row {rows[0] + 1}: value "
            f"{_show(col.iloc[rows[0]])} {problem} ({_rows_note(rows)})"
        )
    arr = np.concatenate([parsed, np.array(["NaT"], dtype="M8[ns]")])
    return pd.Series(arr[np.where(codes < 0, len(arr) - 1, codes)], index=col.index)


def _interval(start: pd.Series, end: pd.Series, spec: dict[str, Any]) -> pd.Series:
    unit = spec["unit"]
    if unit in ("years", "months"):
        fy, fm, fd = (start.dt.year, start.dt.month, start.dt.day)
        ty, tm, td = (end.dt.year, end.dt.month, end.dt.day)
        if unit == "years":  # completed years: birthday not yet reached -> one fewer
            out = (ty - fy) - ((tm * 100 + td) < (fm * 100 + fd))
        else:
            out = (ty - fy) * 12 + (tm - fm) - (td < fd)
    elif unit == "days":
        out = (end.dt.normalize() - start.dt.normalize()).dt.days + int(bool(spec.get("inclusive")))
    else:  # hours
        out = (end - start).dt.total_seconds() / 3600.0
    return out.astype("float64")


def apply_mapping(
    frame: pd.DataFrame,
    mapping: Mapping,
    study: Study,
    *,
    value_labels: dict[str, dict[Any, str]] | None = None,
    source: str = "data",
) -> pd.DataFrame:
    """A new frame with the study's variable names, codes and units; ``frame`` is untouched.

    ``value_labels`` (``ReadResult.value_labels``, keyed by the export's column names)
    recode, by label, every labelled column the mapping does not recode itself
    (:mod:`analysis.labels`; ``source`` names the data file in its errors). What they
    matched is in ``frame.attrs["value_labels"]``.
    """
    m = mapping
    _check_self(m)  # a Mapping built in code rather than by load_mapping is checked too
    check_mapping(m, study)
    names = [nfc(c) for c in frame.columns]
    if names != list(frame.columns):  # a frame built elsewhere than by the readers
        frame = frame.set_axis(names, axis=1)
    out = _rename_and_drop(frame, m)
    read_counts = [
        {**e, "column": m.rename.get(e["column"], e["column"])}
        for e in frame.attrs.get("made_missing", [])
        if m.rename.get(e["column"], e["column"]) not in m.drop
    ]
    blanked, counted = _blank_declared(out, m)
    labels = {m.rename.get(nfc(c), nfc(c)): (nfc(c), v) for c, v in (value_labels or {}).items()}
    out, matched = apply_value_labels(
        out,
        {name: v for name, (_, v) in labels.items()},
        study,
        source=source,
        skip=m.recode,
        file_names={name: c for name, (c, _) in labels.items()},
    )

    for name, spec in m.recode.items():
        col = _need_column(out, m, f"recode.{name}", name)
        out[name], more = _recode(col, m, name, spec, study.variables[name])
        counted += more
        if name in blanked:  # declared missing stays missing, whatever `null:` says
            out[name] = out[name].mask(blanked[name])

    for name, spec in m.units.items():
        col = _need_column(out, m, f"units.{name}", name)
        conv = _unit_conversion(m, name, spec, study.variables[name])
        if conv is not None:
            out[name] = _convert(col, m, name, conv)
        elif not _is_numeric(col):
            out[name] = _to_numeric_if_possible(col)

    date_sources: set[str] = set()
    parsed: dict[tuple[str, str | None], pd.Series] = {}
    for name, spec in m.dates.items():
        key = f"dates.{name}"
        if name in out.columns:
            raise MappingError(
                f"{m.where(key)}: the data already have a column '{name}'; "
                "drop it or remove this entry"
            )
        ends = []
        for end in ("from", "to"):
            column = spec[end]
            fmt = spec.get(f"{end}_format") or spec.get("format")
            _need_column(out, m, f"{key}.{end}", column)
            if (column, fmt) not in parsed:
                parsed[(column, fmt)] = _parse_dates(out[column], m, f"{key}.{end}", fmt)
            ends.append(parsed[(column, fmt)])
            date_sources.add(column)
        out[name] = _interval(ends[0], ends[1], spec)
    # Source dates (birth dates, prescription dates) are identifying: not carried further.
    out = out.drop(columns=[c for c in date_sources if c not in study.variables])

    for name, value in m.constants.items():
        if name in out.columns:
            raise MappingError(
                f"{m.where(f'constants.{name}')}: the data already have a column '{name}'; "
                "drop it or remove the constant"
            )
        var = study.variables[name]
        code = _code_for(var, value)[1] if var.codes and value is not None else value
        out[name] = pd.Series(np.nan if code is None else code, index=out.index)
    out.attrs["made_missing"] = sort_made_missing(read_counts + counted)
    out.attrs["value_labels"] = matched
    # The export's own name of each renamed column, for errors the user can find in it.
    out.attrs["file_columns"] = {
        study_name: file_name
        for file_name, study_name in m.rename.items()
        if file_name != study_name and study_name in out.columns
    }
    return out
