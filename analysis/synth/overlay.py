"""Assumptions files that extend another: ``extends:`` plus only the keys they change.

A site's assumptions (``studies/multisite/site_b.synth.yaml``) are the reference
cohort's with a few numbers changed. Rather than a copy of the whole file, it says::

    extends: ../baclofen_ckd.synth.yaml   # relative to this file
    ckd_group: {1: 120, 2: 71, 3: 210}

and is read as the base with those keys laid over it (:func:`load_assumptions`):

* mappings are merged key by key, recursively (``age: {mean: 72}`` changes the
  mean and keeps the base's ``sd``, ``min`` and ``max``);
* everything else -- numbers, strings, lists, ``null`` -- replaces the base's value
  whole (a list is never merged item by item);
* a key the base does not have is an error naming the file and the key's full path
  (``age.meen``): a misspelt key would otherwise be silently ignored and the cohort
  drawn from the base's value;
* a base may itself extend another; a chain that comes back to a file already in
  it is an error, as is an ``extends:`` file that does not exist.

Paths inside the files stay relative to the file that wrote them: the base's
``study: baclofen_ckd.yaml`` still names ``studies/baclofen_ckd.yaml`` when the
overlay sits in ``studies/multisite/`` (it is rewritten relative to the overlay,
which is the ``path`` the generator resolves it against). A file without
``extends:`` reads exactly as ``yaml.safe_load`` reads it, duplicate keys refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError
from analysis.yaml_safe import load_file_text

__all__ = ["EXTENDS", "PATH_KEYS", "deep_merge", "load_assumptions", "overlay_files"]

#: The key naming the file this one extends (relative to this file).
EXTENDS = "extends"
#: Top-level keys holding a path relative to the file that gives them.
PATH_KEYS = ("study",)


def deep_merge(
    base: Any, overlay: Any, *, where: str = "", file: object = "overlay", base_file: object = None
) -> Any:
    """``overlay`` laid over ``base``: mappings merged recursively, anything else replaced.

    Neither argument is modified. Raises AnalysisError naming ``file`` and the dotted
    key when ``overlay`` has a key ``base`` does not (``where`` is the path so far).
    """
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        return overlay
    merged = dict(base)
    for key, value in overlay.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in base:
            known = ", ".join(str(k) for k in base) or "none"
            extended = f"the file it extends ({base_file})" if base_file else "the file it extends"
            raise AnalysisError(
                f"{file}: key '{dotted}' is not in {extended} (known keys "
                f"{'under ' + repr(where) if where else 'at the top level'}: {known}); "
                "an overlay may only change keys the base has -- is it misspelt?"
            )
        merged[key] = deep_merge(base[key], value, where=dotted, file=file, base_file=base_file)
    return merged


def overlay_files(path: str | Path) -> list[Path]:
    """The file and every file it extends, nearest first (all the inputs of a cohort)."""
    return [p for p, _ in _chain(Path(path))]


def load_assumptions(path: str | Path) -> dict[str, Any]:
    """The assumptions in ``path`` with every ``extends:`` resolved (see the module doc)."""
    leaf = Path(path)
    chain = _chain(leaf)
    merged: dict[str, Any] = {}
    base_file = None
    # the farthest base first; each nearer file laid over what is merged so far
    for file, raw in reversed(chain):
        raw = {k: v for k, v in raw.items() if k != EXTENDS}
        raw = _rebase_paths(raw, file.parent, leaf.parent)
        merged = (
            raw if base_file is None else deep_merge(merged, raw, file=file, base_file=base_file)
        )
        base_file = file
    return merged


def _chain(leaf: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(file, its own keys) from ``leaf`` to the farthest base; cycles refused."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    path: Path | None = leaf
    while path is not None:
        real = path.resolve()
        if real in seen:
            loop = " -> ".join(str(p) for p, _ in chain) + f" -> {path}"
            raise AnalysisError(f"{path}: 'extends' comes back to a file already extended: {loop}")
        seen.append(real)
        raw = _read(path)
        chain.append((path, raw))
        target = raw.get(EXTENDS)
        if target is None:
            path = None
            continue
        if not isinstance(target, str) or not target.strip():
            raise AnalysisError(
                f"{path}: 'extends' must be the path of another assumptions file, "
                f"relative to this one; got {target!r}"
            )
        nxt = path.parent / target
        if not nxt.is_file():
            raise AnalysisError(f"{path}: extends '{target}': no such file ({nxt})")
        path = nxt
    return chain


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read the assumptions file ({exc.strerror})") from exc
    raw = load_file_text(text, path)
    if not isinstance(raw, dict):
        raise AnalysisError(f"{path}: an assumptions file is a mapping of keys to values")
    return raw


def _rebase_paths(raw: dict[str, Any], own_dir: Path, leaf_dir: Path) -> dict[str, Any]:
    """Relative paths of ``PATH_KEYS`` rewritten from ``own_dir`` to ``leaf_dir``."""
    if own_dir.resolve() == leaf_dir.resolve():
        return raw
    out = dict(raw)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value and not os.path.isabs(value):
            target = os.path.abspath(own_dir / value)
            try:
                value = os.path.relpath(target, os.path.abspath(leaf_dir))
            except ValueError:  # another drive (Windows): no relative path exists
                value = target
            out[key] = Path(value).as_posix()
    return out
