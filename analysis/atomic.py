"""Atomic writes: a file is renamed into place only when complete, a set of files is
whole or absent.

A light module (the standard library and :mod:`analysis.errors` only), so that a step
that only writes text (the report) does not import the data libraries that
:mod:`analysis.export`, which re-exports these, needs to write cohorts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from analysis.errors import AnalysisError

__all__ = ["all_or_nothing", "atomic_path", "write_texts"]


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto ``target`` only on success.

    Only a regular file (or nothing) is ever replaced: renaming onto a device such as
    /dev/null or /dev/full, a pipe or a folder would destroy it. A failed write (a
    full disk, a read-only folder) is one error naming ``target``, not the
    temporary file.
    """
    target = Path(target)
    if target.is_dir():
        raise AnalysisError(f"{target}: is a folder; give a file name")
    if target.exists() and not target.is_file():
        raise AnalysisError(f"{target}: is not a regular file (a device or a pipe); give a file")
    tmp = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise AnalysisError(
            f"{target}: could not be written ({exc.strerror or exc}); nothing was written there"
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            tmp.unlink()


@contextlib.contextmanager
def all_or_nothing(paths: Iterable[str | Path]) -> Iterator[None]:
    """Remove every one of ``paths`` if the block fails: a set of outputs is whole or absent.

    Each file is already written atomically; this makes the set atomic too, so a
    failure half-way (a full disk on the fourth table) leaves no mix of new and old
    files that could pass for one run's results.
    """
    try:
        yield
    except BaseException:
        for path in paths:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                Path(path).unlink()
        raise


def write_texts(files: Iterable[tuple[str | Path, str]]) -> list[Path]:
    """Several UTF-8 text files, each atomic, the set whole or absent."""
    files = [(Path(path), text) for path, text in files]
    with all_or_nothing([path for path, _ in files]):
        for path, text in files:
            with atomic_path(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
    return [path for path, _ in files]
