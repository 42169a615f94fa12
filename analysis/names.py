"""How column names and short texts are compared across sites' exports.

Two forms, for two purposes:

* :func:`nfc` for equality. The same Korean header can arrive precomposed (NFC, as
  Windows and most programs write it) or decomposed into jamo (NFD, as macOS file
  systems and some Mac exports write it); both look identical on screen. Every
  header and text cell is put in NFC when a file is read, and mapping files are too,
  so ``성별`` matches ``성별`` whichever way either was typed.
* :func:`loose_key` for suggestions and recognising identifier headers: NFKC
  (full-width letters and ``㎎`` become plain ones), case-folded, with spaces,
  underscores, hyphens, dots and slashes removed, so ``Patient_ID``, ``patient id``
  and ``PATIENT-ID`` share one key. Never used to match a column silently: a loose
  match is only ever offered as "did you mean".
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

__all__ = ["did_you_mean", "loose_key", "nfc"]

_SEPARATORS = re.compile(r"[\s_\-./·]+")


def nfc(value: Any) -> Any:
    """``value`` in Unicode NFC if it is text; anything else unchanged."""
    if isinstance(value, str) and not unicodedata.is_normalized("NFC", value):
        return unicodedata.normalize("NFC", value)
    return value


def loose_key(name: Any) -> str:
    """A spelling-insensitive key: NFKC, case-folded, separators removed."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    return _SEPARATORS.sub("", text)


def did_you_mean(name: Any, candidates: Iterable[Any], cutoff: float = 0.75) -> str | None:
    """The candidate closest to ``name`` (difflib), or None if none is close.

    A candidate spelt the same once case, spaces, underscores and Unicode forms are
    ignored wins outright; otherwise ``difflib.get_close_matches`` on the loose keys.
    """
    names = [str(c) for c in candidates]
    key = loose_key(name)
    by_key: dict[str, str] = {}
    for c in names:
        by_key.setdefault(loose_key(c), c)
    if key in by_key and by_key[key] != str(name):
        return by_key[key]
    close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=cutoff)
    if close and by_key[close[0]] != str(name):
        return by_key[close[0]]
    raw = difflib.get_close_matches(str(name), names, n=1, cutoff=cutoff)
    return raw[0] if raw and raw[0] != str(name) else None
