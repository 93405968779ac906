"""Line and column of a path inside a YAML/JSON file, for files that have problems.

Uses ruamel.yaml's composer (node tree with marks).  It is much slower than the fast parser, which
is why it only runs for files that need a position in a report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# ruamel.yaml is imported on first use: most runs have no problem to locate.
if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node


class PositionIndex:
    """Answers "where is ``items[3].options[2]``?" for one file (1-based line and column)."""

    def __init__(self, text: str) -> None:
        from ruamel.yaml import YAML

        self.root: Node | None
        try:
            self.root = YAML(typ="rt").compose(text)
        except Exception:  # the fast parser accepted it; a position is a nicety, never a crash
            self.root = None

    def locate(self, parts: tuple[object, ...] | list[object], *, key: bool = False) -> tuple[int, int]:
        """Position of the deepest node on the path that exists.

        With ``key=True`` and a path ending in a mapping key, point at the key rather than its value
        (that is where an unknown or misplaced field is written).
        """
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        node = self.root
        if node is None:
            return 1, 1
        best = node
        best_key: Node | None = None
        for part in parts:
            best_key = None
            if isinstance(node, MappingNode) and isinstance(part, str):
                for k, v in node.value:
                    if getattr(k, "value", None) == part:
                        best_key, node = k, v
                        break
                else:
                    break
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                break
            best = node
        # A block collection starts on the line after its key: the key is where a reader looks.
        if best_key is not None and (key or isinstance(best, (MappingNode, SequenceNode))):
            target = best_key
        else:
            target = best
        mark = target.start_mark
        return mark.line + 1, mark.column + 1


def locate_duplicate_key(text: str) -> tuple[int, int, str]:
    """Find the first duplicated mapping key: (line, column, key)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError

    try:
        YAML(typ="rt").load(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = _key_from_message(str(exc.problem))
        return (mark.line + 1, mark.column + 1, key) if mark else (1, 1, key)
    except Exception:
        pass
    return 1, 1, "?"


def _key_from_message(msg: str) -> str:
    # ruamel says: found duplicate key "a" with value "2" (original value: "1")
    if '"' in msg:
        return msg.split('"')[1]
    return msg


def item_line(index: PositionIndex, item_index: int | None) -> int:
    """First line of an item: the file's first line, or its entry in ``items:``."""
    if item_index is None:
        return index.locate(())[0]
    return index.locate(("items", item_index))[0]


def node_at(data: Any, parts: tuple[object, ...]) -> Any:
    """The value at a path in plain data, or None."""
    for p in parts:
        try:
            data = data[p]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return data
