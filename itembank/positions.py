"""Line and column of a path inside a YAML/JSON file, for files that have problems.

Uses libyaml's composer through PyYAML (a node tree with marks; no values are constructed, so
aliases are not expanded).  It runs only for files that need a position in a report.
"""

from __future__ import annotations

from typing import Any

import yaml

try:  # libyaml's C composer; the pure-Python one gives the same marks, slower
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except Exception:  # the fast parser accepted it; a position is a nicety, never a crash
        return None


class PositionIndex:
    """Answers "where is ``items[3].options[2]``?" for one file (1-based line and column)."""

    def __init__(self, text: str) -> None:
        self.root = _compose(text)

    def locate(self, parts: tuple[object, ...] | list[object], *, key: bool = False) -> tuple[int, int]:
        """Position of the deepest node on the path that exists.

        With ``key=True`` and a path ending in a mapping key, point at the key rather than its value
        (that is where an unknown or misplaced field is written).
        """
        node = self.root
        if node is None:
            return 1, 1
        best = node
        best_key: yaml.Node | None = None
        for part in parts:
            best_key = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for k, v in node.value:
                    if getattr(k, "value", None) == part:
                        best_key, node = k, v
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                break
            best = node
        # A block collection starts on the line after its key: the key is where a reader looks.
        if best_key is not None and (key or isinstance(best, (yaml.MappingNode, yaml.SequenceNode))):
            target = best_key
        else:
            target = best
        mark = target.start_mark
        return mark.line + 1, mark.column + 1


def locate_duplicate_key(text: str) -> tuple[int, int, str]:
    """Find the first repeated key of a mapping, in document order: (line, column, key)."""
    root = _compose(text)
    found: list[tuple[int, int, str]] = []
    stack = [root] if root is not None else []
    seen_nodes: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # aliases share nodes
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for k, v in node.value:
                name = str(getattr(k, "value", ""))
                if name in keys:
                    found.append((k.start_mark.line + 1, k.start_mark.column + 1, name))
                    break
                keys.add(name)
            stack.extend(v for _, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return min(found) if found else (1, 1, "?")


def locate_non_string_key(text: str) -> tuple[int, int]:
    """Where the first mapping key that is not a string (``1:``, ``true:``, ``null:``) stands."""
    root = _compose(text)
    stack = [root] if root is not None else []
    found: list[tuple[int, int]] = []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if not (isinstance(k, yaml.ScalarNode) and k.tag == "tag:yaml.org,2002:str"):
                    found.append((k.start_mark.line + 1, k.start_mark.column + 1))
                stack.append(v)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return min(found) if found else (1, 1)
