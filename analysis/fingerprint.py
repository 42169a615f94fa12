"""Content checksums that tie every result to the exact inputs it was made from.

The workflow passes these to its rules as params, so Snakemake's ``params``
rerun trigger reruns a step whenever the content of what it reads changes,
whatever the files' modification times say (``cp -p``, unzip and rsync keep
old ones). The package's own code is one of the inputs: a changed engine
reruns everything it computed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["code_sha256", "file_sha256", "run_fingerprint", "text_sha256"]

_PACKAGE = Path(__file__).resolve().parent
_CODE_SUFFIXES = {".py", ".yaml", ".json", ".html", ".css"}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (registry extracts are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_sha256(package: Path = _PACKAGE) -> str:
    """One checksum over the package's source files, names included, in a fixed order."""
    digest = hashlib.sha256()
    files = sorted(
        p
        for p in package.rglob("*")
        if p.is_file() and p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts
    )
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_fingerprint(files: dict[str, str | Path | None], settings: dict[str, Any]) -> dict:
    """Checksums of the named input files, of the code, and of the run's settings.

    ``files`` maps a role (data, mapping, study, ...) to a path or None; ``settings``
    holds the configuration values that change results (serialised canonically).
    """
    return {
        "files": {
            role: None if path is None else {"name": Path(path).name, "sha256": file_sha256(path)}
            for role, path in sorted(files.items())
        },
        "code": code_sha256(),
        "settings": text_sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False)),
    }
