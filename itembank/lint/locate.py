"""Line and column of a field in a plain one-item YAML file, without building a node tree.

Lint findings are many (one file in ten of a large bank) and :class:`~itembank.positions.PositionIndex`
composes the whole file for each.  Item files are nearly always written the same simple way: top-level
``key: value`` lines at column 0 and block lists of mappings (``options:`` then ``  - id: a``).  For
those, a scan of the lines gives the same answer as the composer; anything else (flow collections
where a path goes into them, anchors, tags, directives, ``items:`` lists, values starting on the
next line) answers None, and the caller falls back to the composer.  ``tests/test_lint.py`` checks
the two agree on every field of every example and generated item file.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*):(?=[ \t]|$)")
_ENTRY = re.compile(r"^( *)-( +|$)")
#: Anchors, aliases and tags where a value starts (or anything that looks like one): the composer decides.
_UNSURE = re.compile(r"[:-][ \t]+[&*!]")
_TOP: dict[str, re.Pattern[str]] = {}


def _unsure(text: str) -> bool:
    """Directives, a second document, an anchor, alias or tag, or CR line ends: not for a line scan."""
    return "\r" in text or text.startswith("%") or "\n%" in text or "\n..." in text or "\n---" in text or _UNSURE.search(text) is not None


def _top_key(text: str, key: str) -> int | None:
    """The offset of the one line ``key:`` at column 0, or None (missing, or more than one)."""
    pattern = _TOP.get(key)
    if pattern is None:
        pattern = _TOP[key] = re.compile(rf"^{re.escape(key)}:(?=[ \t\r]|$)", re.M)
    found = pattern.search(text)
    if found is None or pattern.search(text, found.end()) is not None:
        return None
    return found.start()


def _value(line: str, start: int) -> tuple[str, int] | None:
    """What follows ``key:`` on a line: ("scalar", column) or ("collection", 0); None when unsure."""
    rest = line[start:]
    stripped = rest.lstrip(" \t")
    if not stripped or stripped.startswith("#"):
        return None  # the value starts on a later line: leave it to the composer
    col = len(line) - len(stripped) + 1
    if stripped[0] in "[{":
        return ("collection", 0)
    if stripped[0] in "&*!%@`":
        return None
    return ("scalar", col)


def fast_locate(text: str, path: tuple[object, ...]) -> tuple[int, int] | None:
    """(line, column) as ``PositionIndex(text).locate(path)`` gives for a one-item file, or None."""
    if not path or not isinstance(path[0], str) or _unsure(text):
        return None
    at = _top_key(text, path[0])
    if at is None:
        return None
    base = text.count("\n", 0, at)  # the key's line, 0-based
    lines = text[at:].split("\n")
    n = 0
    line = lines[0]
    if len(path) == 1:
        value = _value(line, len(path[0]) + 1)
        if value is None:
            rest = line[len(path[0]) + 1 :].strip()
            if rest and not rest.startswith("#"):
                return None
            # A block collection on the next lines: the composer points at the key.
            follow = next((ln for ln in lines[n + 1 :] if ln.strip() and not ln.lstrip().startswith("#")), "")
            if _ENTRY.match(follow) or (follow.startswith(" ") and _KEY.match(follow.lstrip(" "))):
                return base + 1, 1
            return None
        kind, col = value
        return (base + 1, 1) if kind == "collection" else (base + 1, col)
    if len(path) != 3 or not isinstance(path[1], int) or not isinstance(path[2], str):
        return None
    if line[len(path[0]) + 1 :].strip():
        return None  # a flow list, or something else on the key's line
    index, field = path[1], path[2]
    entries: list[int] = []
    dash: int | None = None
    end = len(lines)
    for k in range(n + 1, len(lines)):
        ln = lines[k]
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        indent = len(ln) - len(ln.lstrip(" "))
        m = _ENTRY.match(ln)
        if dash is None:
            if not m:
                return None
            dash = len(m.group(1))
        if m and len(m.group(1)) == dash:
            entries.append(k)
        elif indent <= dash and not (m and len(m.group(1)) == dash):
            end = k  # back at the parent's level: the list is over
            break
    if dash is None or index >= len(entries):
        return None
    first = entries[index]
    stop = entries[index + 1] if index + 1 < len(entries) else end
    entry = lines[first]
    after_dash = _ENTRY.match(entry)
    assert after_dash is not None
    content = after_dash.end()  # the column (0-based) where the entry's keys stand
    head = entry[content:]
    if not head or head[0] in "[{&*!":
        return None  # a flow mapping or something unusual: the composer knows
    for k in range(first, stop):
        ln = lines[k]
        if k == first:
            candidate, offset = head, content
        elif len(ln) - len(ln.lstrip(" ")) == content:
            candidate, offset = ln[content:], content
        else:
            continue
        if candidate.startswith(field + ":") and _KEY.match(candidate):
            value = _value(ln, offset + len(field) + 1)
            if value is None or value[0] == "collection":
                return None
            return base + k + 1, value[1]
    return None
