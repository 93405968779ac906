"""Line and column of a path inside a YAML/JSON file, for files that have problems.

Uses libyaml's composer through PyYAML (a node tree with marks; no values are constructed, so
aliases are not expanded).  It runs only for files that need a position in a report.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterator, NamedTuple

import yaml

try:  # libyaml's C composer; the pure-Python one gives the same marks, slower
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


#: Characters libyaml refuses anywhere in a stream (YAML 1.2 accepts some, and validation reports
#: them as IB216 with their place), a byte order mark inside the text, and the characters YAML 1.1
#: (libyaml) counts as line breaks but YAML 1.2 and JSON do not (NEL, U+2028, U+2029: libyaml put
#: every later problem a line too low, or failed inside a comment): each becomes one ``_``, so every
#: position stays where the bank's parsers see it.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
#: A surrogate pair written as two escapes (``"\ud83d\ude00"``, as ``json.dumps`` writes a non-BMP
#: character), which libyaml refuses: it becomes two escapes of the same length (``\u005f\u005f``).
_SURROGATE_PAIR_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
#: Where a line ends, as YAML 1.2 and JSON count lines (``str.splitlines`` also splits at form feeds,
#: ``\x1c``-``\x1e``, NEL, U+2028 and U+2029).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def printable(text: str) -> str:
    """The text with the characters libyaml cannot read (or would count as line breaks) replaced one for one."""
    text = _NON_PRINTABLE.sub("_", text)
    return _SURROGATE_PAIR_ESCAPE.sub(r"\\u005f\\u005f", text) if "\\u" in text else text


#: Searches over a file's text with a line break put before it, each from a line break (a literal
#: first character: the regular expression engine finds its candidates as fast as ``str.find``).
#: The top-level key of a file of several items (``items:``, nothing after it but a comment).
_ITEMS_KEY = re.compile(r"\nitems:[ ]*(?:#[^\r\n]*)?(?=\r?\n|$)")
#: A line that can be no entry's first: a tab before its text.
_TAB_INDENT = re.compile(r"\n *\t")
#: The first line of the list: blank lines and comments, then an entry (its indentation, ``-``, then a
#: space or the line's end).
_FIRST_ENTRY = re.compile(r"(?:[ ]*(?:#[^\r\n]*)?\r?\n)*( *)-(?: |\r?\n|$)")


#: A JSON file of several items up to its first entry: ``{"items": [`` (the only key ``validate`` takes).
_JSON_ITEMS = re.compile(r'\ufeff?[ \t\r\n]*\{[ \t\r\n]*"items"[ \t\r\n]*:[ \t\r\n]*\[[ \t\r\n]*')
_JSON_SPACE = re.compile(r"[ \t\r\n]*")
_JSON_END = re.compile(r"[ \t\r\n]*\}[ \t\r\n]*")
_JSON_ENTRY = json.JSONDecoder()


def _json_item_spans(text: str) -> list[tuple[int, int, int]] | None:
    """:func:`item_spans` of a JSON file ``{"items": [...]}``: each entry's extent as JSON's own
    scanner reads it (``raw_decode``, in C); None for a file of another shape."""
    head = _JSON_ITEMS.match(text)
    if head is None or "\r" in text:
        return None
    spans: list[tuple[int, int, int]] = []
    at, line_no = head.end(), text.count("\n", 0, head.end())
    while True:
        try:
            _value, end = _JSON_ENTRY.raw_decode(text, at)
        except ValueError:
            return None
        spans.append((line_no, at, end))
        line_no += text.count("\n", at, end)
        after = _JSON_SPACE.match(text, end).end()  # type: ignore[union-attr]  # (matches the empty string)
        line_no += text.count("\n", end, after)
        if text.startswith(",", after):
            at = _JSON_SPACE.match(text, after + 1).end()  # type: ignore[union-attr]
            line_no += text.count("\n", after + 1, at)
        elif text.startswith("]", after):
            return spans if _JSON_END.fullmatch(text, after + 1) else None
        else:
            return None


def item_spans(text: str) -> list[tuple[int, int, int]] | None:
    """Where each entry of the file's top-level ``items:`` block sequence is: its first line
    (counted from 0), and where its text starts and ends in ``text``; None for a file of another
    shape, or one with a tab before the text of a line or a lone CR (no guessing).  An entry starts at
    a line indented as the first one, ``-`` then a space (YAML: whatever an entry holds, a block
    scalar's lines too, is indented more); comments and blank lines go with the entry before them; a
    line indented less, or as much without ``-``, ends the list.  A guess from the text (searched
    from line breaks: ~5 ms for a file of 1,000 items, where a loop over its ~40,000 lines took
    ~70 ms): :func:`itembank.yaml_traps.find_traps` checks each entry it composes against what the
    parser read.  A JSON file (``{"items": [...]}``): each entry's extent as JSON's scanner reads it."""
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return _json_item_spans(text)
    if "\r" in text and re.search(r"\r(?!\n)", text):
        return None  # (a lone CR is a line break YAML counts, which these searches would not)
    framed = "\n" + text  # (offsets in it are one past those in text)
    keys = list(_ITEMS_KEY.finditer(framed))
    if len(keys) != 1 or _TAB_INDENT.search(framed):
        return None
    at = framed.find("\n", keys[0].end())
    first = _FIRST_ENTRY.match(framed, at + 1) if at >= 0 else None
    if first is None:
        return None
    indent = len(first.group(1))
    starts = [first.start(1)]
    stop = len(framed)
    # Every line of text (not a comment) indented at most as much: an entry, or the end of the list.
    for line in re.compile(rf"\n( {{0,{indent}}})[^ \r\n#]").finditer(framed, first.end()):
        if len(line.group(1)) == indent and framed.startswith("-", line.end() - 1) and framed[line.end() : line.end() + 1] in (" ", "\r", "\n", ""):
            starts.append(line.start() + 1)
        else:
            stop = line.start() + 1
            break
    line_no = framed.count("\n", 1, starts[0])
    spans: list[tuple[int, int, int]] = []
    for here, there in zip(starts, starts[1:] + [stop]):
        spans.append((line_no, here - 1, there - 1))
        line_no += framed.count("\n", here, there)
    return spans


def text_lines(text: str) -> list[str]:
    r"""The lines of a file as YAML and JSON count them (``\n``, ``\r\n`` or ``\r`` ends a line)."""
    return _LINE_BREAK.split(text)


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(printable(text), Loader=_Loader)
    except Exception:  # the fast parser accepted it; a position is a nicety, never a crash
        return None


class PositionIndex:
    """Answers "where is ``items[3].options[2]``?" for one file (1-based line and column).

    ``entries``: how many entries the file's parser read in its ``items:`` list, when the caller
    knows.  Then a path into one entry composes that entry alone (:func:`item_spans`: its marks
    counted from its first line), not the whole file: a finding in a file of 1,000 items took ~0.35 s
    to place (PyYAML's nodes and resolver, in Python, for ~3 MB).  When the file is not cut into as
    many entries, or the entry does not compose alone (an alias of another entry's anchor), the whole
    file is composed, as before."""

    def __init__(self, text: str, entries: int | None = None) -> None:
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False
        self._entries = entries
        self._spans: list[tuple[int, int, int]] | None = None
        self._alone: dict[int, tuple[yaml.Node, list[str]] | None] = {}
        self._aliases: dict[tuple[object, ...], tuple[int, int, str]] | None = None

    @property
    def root(self) -> yaml.Node | None:
        """The whole file's node tree (composed when first asked for)."""
        if not self._composed:
            self._root, self._composed = _compose(self.text), True
        return self._root

    def _from(self, parts: tuple[object, ...] | list[object]) -> tuple[yaml.Node | None, tuple[object, ...], int, list[str] | None]:
        """Where a walk along ``parts`` starts: the whole tree, or the entry the path goes into,
        composed alone (then the parts after its index, the line it starts at and its lines)."""
        parts = tuple(parts)
        if self._entries and len(parts) >= 2 and parts[0] == "items" and isinstance(parts[1], int) and not isinstance(parts[1], bool):
            index = parts[1]
            if index not in self._alone:
                self._alone[index] = self._compose_alone(index)
            alone = self._alone[index]
            if alone is not None and self._spans is not None:
                return alone[0], parts[2:], self._spans[index][0], alone[1]
        return self.root, parts, 0, None

    def _compose_alone(self, index: int) -> tuple[yaml.Node, list[str]] | None:
        if self._spans is None:
            self._spans = item_spans(self.text) or []
        if len(self._spans) != self._entries or not 0 <= index < len(self._spans):
            return None
        _first, begin, end = self._spans[index]
        # (a JSON entry starts inside its line: spaces in front keep its columns)
        entry = " " * (begin - self.text.rfind("\n", 0, begin) - 1) + self.text[begin:end]
        root = _compose(entry)
        if isinstance(root, yaml.SequenceNode) and len(root.value) == 1:  # a YAML file's `- ` entry
            return root.value[0], text_lines(entry)
        if isinstance(root, yaml.MappingNode) and entry.lstrip(" ").startswith("{"):  # a JSON file's entry
            return root, text_lines(entry)
        return None

    def locate(self, parts: tuple[object, ...] | list[object], *, key: bool = False) -> tuple[int, int]:
        """Position of the deepest node on the path that exists.

        With ``key=True`` and a path ending in a mapping key, point at the key rather than its value
        (that is where an unknown or misplaced field is written).
        """
        node, parts, first, _lines = self._from(parts)
        if node is None:
            return 1, 1
        best = node
        best_key: yaml.Node | None = None
        for part in parts:
            best_key = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                found = _entry(node, part)
                if found is None:
                    break
                best_key, node = found
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
        return first + mark.line + 1, mark.column + 1

    def alias(self, parts: tuple[object, ...] | list[object]) -> tuple[int, int, str] | None:
        """Where the node at ``parts`` is written as an alias (``*base``): (line, column, anchor), or
        None when it is written out (the composed tree gives an alias the anchored node's marks)."""
        if self._aliases is None:
            self._aliases = alias_marks(self.text) if "*" in self.text else {}
        return self._aliases.get(tuple(parts))

    def source(self, parts: tuple[object, ...] | list[object]) -> str | None:
        """The text of the scalar at ``parts`` exactly as written in the file, or None."""
        node, parts, _first, alone_lines = self._from(parts)
        for part in parts:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                found = _entry(node, part)
                node = found[1] if found is not None else None
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                return None
        if not isinstance(node, yaml.ScalarNode):
            return None
        start, end = node.start_mark, node.end_mark
        lines = alone_lines if alone_lines is not None else text_lines(self.text)
        if start.line != end.line or start.line >= len(lines):
            return None
        return lines[start.line][start.column : end.column] or None


def alias_marks(text: str) -> dict[tuple[object, ...], tuple[int, int, str]]:
    """Every value of the text written as an alias: its path (``("items", 1)``) -> (line, column, anchor).

    From libyaml's events, as its composer replaces an alias by the anchored node, marks and all.
    """
    out: dict[tuple[object, ...], tuple[int, int, str]] = {}
    # Per open collection: [path, is_mapping, the next key or index, whether a key comes next].
    frames: list[list[Any]] = []
    try:
        events = list(yaml.parse(printable(text), Loader=_Loader))
    except Exception:
        return out
    for ev in events:
        if not isinstance(ev, (yaml.ScalarEvent, yaml.AliasEvent, yaml.CollectionStartEvent, yaml.CollectionEndEvent)):
            continue
        if isinstance(ev, yaml.CollectionEndEvent):
            frames.pop()
            if frames:
                _advance(frames[-1])
            continue
        parent = frames[-1] if frames else None
        if parent is not None and parent[1] and parent[3]:  # a key
            if isinstance(ev, yaml.CollectionStartEvent):  # a complex key: its insides have no path
                parent[2] = None
                frames.append([None, isinstance(ev, yaml.MappingStartEvent), 0, True])
            else:
                parent[2] = ev.value if isinstance(ev, yaml.ScalarEvent) else None
                parent[3] = False
            continue
        path = () if parent is None else None if parent[0] is None else parent[0] + (parent[2],)
        if isinstance(ev, yaml.CollectionStartEvent):
            frames.append([path, isinstance(ev, yaml.MappingStartEvent), 0, True])
            continue
        mark = ev.start_mark
        if isinstance(ev, yaml.AliasEvent) and path is not None and mark is not None:
            out[path] = (mark.line + 1, mark.column + 1, str(ev.anchor))
        if parent is not None:
            _advance(parent)
    return out


def _advance(frame: list[Any]) -> None:
    """A collection's entry is complete: a mapping expects its next key, a list its next index."""
    if frame[1]:
        frame[3] = not frame[3] if frame[3] else True
    else:
        frame[2] += 1


def _entry(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key, value) nodes of ``key`` in a mapping; a key holding characters :func:`printable`
    replaced (a BOM, U+2028, an escaped surrogate pair) is found by its replaced spelling."""
    for k, v in node.value:
        if getattr(k, "value", None) == key:
            return k, v
    for shown in {printable(key), _ESCAPED_PAIR_READ.sub("__", printable(key))} - {key}:
        for k, v in node.value:
            if getattr(k, "value", None) == shown:
                return k, v
    return None


#: A character beyond the BMP, which a JSON text may write as a surrogate pair of escapes: those are
#: read as ``__`` here (:func:`printable`).
_ESCAPED_PAIR_READ = re.compile("[\U00010000-\U0010ffff]")


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


def _walk(root: yaml.Node | None) -> Iterator[tuple[yaml.Node, int, bool]]:
    """Every node in document order: (node, depth of containers above it + 1, whether it is a key)."""
    if root is None:
        return
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    seen: set[int] = set()
    while stack:
        node, depth, is_key = stack.pop()
        yield node, depth, is_key
        if id(node) in seen:  # aliases share nodes
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in reversed(node.value):
                stack.append((v, depth + 1, False))
                stack.append((k, depth + 1, True))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, depth + 1, False) for v in reversed(node.value))


def _value(node: yaml.ScalarNode) -> Any:
    """The value yaml_rs (YAML 1.2 core schema) gives a scalar node, which PyYAML (1.1) may read otherwise."""
    if node.style:  # quoted or block: always a string (plain is None or "" depending on the loader)
        return node.value
    import yaml_rs

    try:
        return yaml_rs.loads(node.value, parse_datetime=False)
    except Exception:
        return node.value


_DECIMAL_INT = re.compile(r"[-+]?[0-9]+")


def locate_long_integer(text: str, digits: int) -> tuple[int, int, str] | None:
    """The first plain scalar (a value or a key) that is a decimal integer of at least ``digits``
    digits: (line, column, its text); found without converting it (a YAML parser that makes it an
    int takes time quadratic in its length)."""
    for node, _depth, _is_key in _walk(_compose(text)):
        if isinstance(node, yaml.ScalarNode) and not node.style and len(node.value) >= digits and _DECIMAL_INT.fullmatch(node.value):
            if len(node.value.lstrip("+-").lstrip("0")) >= digits:  # (000…01 is 1)
                return node.start_mark.line + 1, node.start_mark.column + 1, node.value
    return None


class BadValue(NamedTuple):
    """Where a refused value stands; for a scalar, its value and its text as written."""

    line: int
    column: int
    value: Any = None
    written: str | None = None


def locate_bad_value(text: str, is_bad: Callable[[Any], bool], max_depth: int = 64) -> BadValue:
    """Where the first refused value stands: a non-string key, a scalar ``is_bad`` refuses, or a
    collection nested deeper than ``max_depth``."""
    for node, depth, is_key in _walk(_compose(text)):
        if depth > max_depth:
            return BadValue(node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            value = _value(node)
            if (is_key and not isinstance(value, str)) or is_bad(value):
                return BadValue(node.start_mark.line + 1, node.start_mark.column + 1, value, None if node.style else node.value)
        elif is_key:  # a collection as a key
            return BadValue(node.start_mark.line + 1, node.start_mark.column + 1)
    return BadValue(1, 1)


_TAG_FALLBACK = re.compile(r"(?:^|[\s\[\{,])(![^\s,\[\]\{\}]*)", re.MULTILINE)


def locate_tag(text: str, allowed: set[str]) -> tuple[int, int, str] | None:
    """The first explicit YAML tag not in ``allowed`` (full tag names): (line, column, tag as written)."""
    clean = printable(text)
    try:
        for token in yaml.scan(clean, Loader=_Loader):
            if isinstance(token, yaml.TagToken):
                handle, suffix = token.value
                full = f"tag:yaml.org,2002:{suffix}" if handle == "!!" else suffix if handle is None else f"{handle}{suffix}"
                if full not in allowed:
                    shown = f"!<{suffix}>" if handle is None else f"{handle}{suffix}"
                    return token.start_mark.line + 1, token.start_mark.column + 1, shown
        return None
    except yaml.YAMLError:
        # libyaml cannot scan what yaml_rs read: refuse what looks like a tag rather than let one pass.
        m = _TAG_FALLBACK.search(clean)
        if m is None:
            return None
        start = m.start(1)
        return text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1, m.group(1)
