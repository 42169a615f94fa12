"""Load user-written YAML (study files, mapping files) without its silent traps.

PyYAML's ``safe_load`` is safe from code execution but not from two other things a
user file can do:

* **Duplicate keys.** ``{a: 1, a: 2}`` silently keeps the last value, so half of what
  the user wrote is ignored without a word. Here any two keys of one mapping that are
  equal once constructed are refused (``a``/``a``, and also ``1``/``1.0`` or ``1``/
  ``true``, which Python dictionaries would merge). Keys brought in by a merge
  (``<<: *base``) may be overridden, as YAML intends.
* **Alias bombs.** Anchors and aliases (``&yn`` / ``*yn``) are legitimate and used by
  the example mapping, but nine levels of nine aliases ("billion laughs") expand to
  10^9 nodes. The document is composed into its node graph first (aliases are shared
  references there, so this is cheap), its expanded size is counted with memoisation,
  and it is constructed only if that size is at most ``max_nodes``.

Errors are ``yaml.constructor.ConstructorError`` (a ``yaml.YAMLError`` with a
``problem`` and a ``problem_mark``), so callers report them exactly as they report a
YAML syntax error: one line with the file, line and column.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MAX_CHARS", "MAX_NODES", "load"]

#: Largest expanded document accepted. A study file is a few thousand nodes; the
#: largest realistic mapping file (every code of every variable) far below this.
MAX_NODES = 100_000
#: Longest text parsed at all. The pure-Python parser takes seconds per megabyte, and
#: a study or mapping file is a few kilobytes; a bigger one is refused unread.
MAX_CHARS = 1_000_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load(
    text: str, *, loader: type[yaml.SafeLoader] = yaml.SafeLoader, max_nodes: int = MAX_NODES
) -> Any:
    """The single YAML document in ``text``, refusing duplicate keys and alias bombs.

    ``loader`` must be ``yaml.SafeLoader`` or a subclass of it (e.g. one with YAML 1.2
    scalar rules); it decides how scalars are resolved and constructed.
    """
    if not issubclass(loader, yaml.SafeLoader):
        raise TypeError("yaml_safe.load needs a SafeLoader subclass")
    if len(text) > MAX_CHARS:
        raise ConstructorError(
            None,
            None,
            f"is {len(text):,} characters long; more than {MAX_CHARS:,} is refused "
            "(a study or mapping file is a few thousand)",
            None,
        )
    instance = loader(text)
    try:
        try:
            root = instance.get_single_node()
        except RecursionError:
            raise ConstructorError(None, None, "nested too deeply", None) from None
        if root is None:
            return None
        _check_size(root, max_nodes)
        _check_duplicate_keys(instance, root)
        return instance.construct_document(root)
    finally:
        instance.dispose()


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_size(root: Node, max_nodes: int) -> None:
    """Refuse a graph whose expansion (aliases copied out) exceeds ``max_nodes``.

    Iterative post-order walk with a memo keyed by node identity: each distinct node
    is visited once, so a billion-laughs document costs a few dozen steps. An alias
    that refers to one of its own ancestors (a recursive structure) is refused too.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > max_nodes:
                raise ConstructorError(
                    None,
                    None,
                    f"has more than {max_nodes} nodes once aliases are expanded (far more "
                    "than any study or mapping file needs; aliases repeated many times?)",
                    node.start_mark,
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise ConstructorError(
                None, None, "an alias refers to a node that contains it", node.start_mark
            )
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise ConstructorError(
                    None, None, "an alias refers to a node that contains it", child.start_mark
                )
            if id(child) not in size:
                stack.append((child, False))


def _check_duplicate_keys(loader: yaml.SafeLoader, root: Node) -> None:
    """Refuse a mapping whose explicit keys repeat once constructed (``1`` and ``1.0`` too)."""
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        stack.extend(_children(node))
        if not isinstance(node, MappingNode):
            continue
        first: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue  # complex keys are rare and refused by the constructor anyway
            key = loader.construct_object(key_node)
            try:
                earlier = first.get(key)
            except TypeError:  # unhashable: the constructor reports it
                continue
            if earlier is not None:
                line = earlier.start_mark.line + 1
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {key_node.value!r} (already at line {line}; "
                    "YAML would silently keep only the last)",
                    key_node.start_mark,
                )
            first[key] = key_node


def load_file_text(text: str, where: object) -> Any:
    """:func:`load` for a study-side file (study, published figures): a YAML error
    becomes one StudyFileError line naming the file and the position."""
    from analysis.errors import StudyFileError

    try:
        return load(text)  # no duplicate keys, no alias bombs
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise StudyFileError(f"{where}: not valid YAML{at}: {problem}") from exc
