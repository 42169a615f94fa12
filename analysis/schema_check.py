"""JSON Schema checks of user-written YAML (study, mapping, config) as one-line errors."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

__all__ = ["first_error", "jsonable", "key_path", "load_schema", "message_of"]


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped in ``analysis/schemas/`` (e.g. ``study.schema.json``)."""
    text = resources.files("analysis").joinpath(f"schemas/{name}").read_text("utf-8")
    return json.loads(text)


def jsonable(obj: Any) -> Any:
    """YAML allows integer mapping keys (value codes); JSON Schema needs strings."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    return obj


def key_path(path: Any) -> str:
    """``tables[1].group_by`` from jsonschema's absolute path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def first_error(schema: dict[str, Any], raw: Any) -> jsonschema.ValidationError | None:
    """The most specific error: best match, then down into oneOf/anyOf branches."""
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(jsonable(raw)))
    if not errors:
        return None
    err = jsonschema.exceptions.best_match(errors)
    while err.context:
        err = jsonschema.exceptions.best_match(err.context)
    if err.validator == "required":
        # A key missing beside an unknown one is most often that key misspelt
        # (`levels:` for `codes:`): name the unknown key, which the user typed.
        unknown = [
            e
            for e in errors
            if e.validator == "additionalProperties" and e.absolute_path == err.absolute_path
        ]
        if unknown:
            return unknown[0]
    return err


def message_of(err: jsonschema.ValidationError) -> str:
    """jsonschema's message, with unknown keys said plainly."""
    if err.validator == "additionalProperties":
        extra = err.message.split("(")[-1].split(" was")[0].split(" were")[0]
        return f"unknown key {extra} (misspelt, or not allowed here)"
    if err.validator == "type" and isinstance(err.instance, bool):
        return (
            f"{err.message} (YAML reads an unquoted Yes, No, true, false, on or off as "
            'true or false: quote it, e.g. "Yes")'
        )
    return err.message
