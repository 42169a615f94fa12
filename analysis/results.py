"""Results JSON: plain, deterministic, validated against its schema before writing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from analysis.atomic import atomic_path
from analysis.schema_check import load_schema

__all__ = ["dumps", "read_json", "results_schema", "write_json"]


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, np.ndarray):
        return [_plain(v) for v in obj.tolist()]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj: Any) -> str:
    """JSON text; NaN/inf become null; the same input always gives the same bytes."""
    return json.dumps(_plain(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def results_schema() -> dict[str, Any]:
    return load_schema("results.schema.json")


def write_json(obj: dict[str, Any], path: str | Path, validate: bool = True) -> Path:
    text = dumps(obj)
    if validate:
        jsonschema.validate(json.loads(text), results_schema())
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
