"""Inputs are read-only: refuse any output path that is, or leads to, an input.

Every writing verb calls ``refuse_overwriting`` with what it reads and what it
will write before it writes anything. An output is refused when it resolves
(symlinks followed, ``..`` collapsed) to an input file or to the same file by
another name (a hard link), or when it lies under a ``data_raw/`` folder: the
project's own, or one in the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from analysis.errors import AnalysisError

__all__ = ["protected_folders", "refuse_overwriting"]

_PROJECT = Path(__file__).resolve().parents[1]


def protected_folders() -> list[Path]:
    """The ``data_raw/`` folders no command may write into."""
    return sorted({(_PROJECT / "data_raw").resolve(), (Path.cwd() / "data_raw").resolve()})


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def refuse_overwriting(
    inputs: Iterable[str | Path | None], outputs: Iterable[tuple[str, str | Path | None]]
) -> None:
    """Raise if an output (``(option, path)``) would write an input or into data_raw/,
    or if two options would write the same file."""
    read = [Path(p) for p in inputs if p]
    resolved_inputs = {p.resolve(): p for p in read}
    written: dict[Path, tuple[str, str | Path]] = {}
    for option, out in outputs:
        if not out:
            continue
        target = Path(out).resolve()
        if target in written and written[target][0] != option:
            first_option, first = written[target]
            raise AnalysisError(
                f"{option} {out}: is also {first_option} {first}; one file cannot hold both"
            )
        written.setdefault(target, (option, out))
        source = resolved_inputs.get(target) or next(
            (p for p in read if _same_file(p, target)), None
        )
        if source is not None:
            raise AnalysisError(
                f"{option} {out}: is the input file {source}; inputs are never written, "
                "choose another output path"
            )
        for folder in protected_folders():
            if target == folder or folder in target.parents:
                raise AnalysisError(
                    f"{option} {out}: is inside {folder.name}/, where input files live and "
                    "nothing is ever written; write under results/ or reports/ instead"
                )
