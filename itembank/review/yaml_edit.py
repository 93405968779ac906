"""Writing review records into item files in place: new YAML in the plainest exact style, edits at libyaml's node marks."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import yaml

from ..errors import ItembankError
from ..problems import RULES
from ..rules import RuleContext, check_item
from ..schema import item_schema
from ..sources import parse
from ..workbook_layout import (
    DECISION_STATUS,
)
from .rows import ReviewRow

# --- writing new YAML: review records as block lines ---------------------------------------------
#
# The records are few short strings; each is written in the plainest style that reads back as the
# same string under YAML 1.2 (yaml_rs, ruamel) *and* 1.1 (PyYAML): plain, else single-quoted, else
# a literal block (multi-line), else double-quoted with JSON escapes.  The whole edited file is
# parsed again and compared before anything is written, so a wrong choice here can stop an import
# but never change what a file says.

#: Plain scalars that a YAML 1.1 or 1.2 resolver reads as something other than a string (``<<``:
#: YAML 1.1's merge key, which PyYAML cannot construct as a value).
_RESERVED_WORDS = frozenset({"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", "inf", "nan", "<<"})
#: Numbers, dates and times in either YAML version (ints with _ or sexagesimal :, 0x/0o/0b, floats,
#: ISO dates); deliberately wide — a false positive only costs a pair of quotes.
_SCALAR_LIKE = re.compile(r"[-+]?[0-9_.,:]+(?:[eE][-+]?[0-9]+)?|0[xXoObB][0-9a-fA-F_]+|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)")
_PLAIN_FIRST_BAD = frozenset("-?:,[]{}#&*!|>'\"%@`=~+.")
#: Characters a YAML stream may not hold raw, or that YAML 1.1 reads as line breaks.
_DQ_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _plain_ok(s: str) -> bool:
    if not s or s != s.strip() or not s.isprintable() or s[0] in _PLAIN_FIRST_BAD:
        return False
    if ": " in s or " #" in s or s.endswith(":") or s.lower() in _RESERVED_WORDS:
        return False
    # (yaml_rs, the bank's reader, takes underscores anywhere in a number: a plain _1_ is the number 1)
    return not ((s[0].isdigit() or s[0] == "_") and _SCALAR_LIKE.fullmatch(s))


def _double_quoted(s: str) -> str:
    # JSON escapes (\" \\ \n \t \uXXXX for C0 controls) are all valid YAML double-quoted escapes.
    return _DQ_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(s, ensure_ascii=False))


def _inline_scalar(s: str) -> str:
    """``s`` as a one-line YAML scalar."""
    if _plain_ok(s):
        return s
    if s.isprintable():  # no line breaks, tabs or control characters
        return "'" + s.replace("'", "''") + "'"
    return _double_quoted(s)


#: ``s`` as a one-line YAML scalar, for other writers of records (``itembank analyze --write``).
inline_scalar = _inline_scalar


def _literal_ok(s: str) -> bool:
    """A ``|-`` block holds ``s`` exactly: printable lines, no trailing newline, and a first content
    line that does not start with a space (which would need an indentation indicator)."""
    if "\n" not in s or s.endswith("\n"):
        return False
    lines = s.split("\n")
    first = next((line for line in lines if line), "")
    if first[:1] in (" ", "\t"):
        return False
    # Tabs are content inside a line, but never where indentation is read.
    return all(line[:1] != "\t" and line.replace("\t", " ").isprintable() for line in lines)


def _key_value_lines(key: str, value: str) -> list[str]:
    """``key: value`` as block YAML lines (keys at column 0, a literal block indented by 2)."""
    if _literal_ok(value):
        return [f"{key}: |-"] + [f"  {line}" if line else "" for line in value.split("\n")]
    return [f"{key}: {_inline_scalar(value)}"]


def entry_lines(record: dict[str, str], dash_col: int) -> list[str]:
    """A ``- key: value`` sequence entry whose dash sits at ``dash_col``."""
    lines = [line for k, v in record.items() for line in _key_value_lines(k, v)]
    pad = " " * dash_col
    return [f"{pad}- {lines[0]}"] + [f"{pad}  {line}" if line else "" for line in lines[1:]]


# --- editing item files in place ------------------------------------------------------------------
#
# Positions come from PyYAML's C composer (libyaml): node trees with start/end marks, ~30x faster
# than a pure-Python round-trip parser.  Marks are used by their character *index*, never by their
# line number: libyaml also breaks lines at \r, NEL, LS and PS, which this module's line table (split
# at \n only) does not.

_Node = yaml.Node
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the pure-Python loader only without libyaml


class EditedText:
    """A file's text with line offsets, collecting edits that are applied together."""

    def __init__(self, text: str) -> None:
        self.text = text
        # A leading BOM is not part of libyaml's character index.
        self.base = 1 if text.startswith("\ufeff") else 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        if self.starts[-1] != len(text):
            self.starts.append(len(text))  # sentinel: starts[n_lines] is the end of the text
        self.n_lines = len(self.starts) - 1
        first = text[: self.starts[1]] if self.n_lines else ""
        self.nl = "\r\n" if first.endswith("\r\n") else "\n"  # new lines end as the file's do
        self.edits: list[tuple[int, int, str]] = []

    def line(self, n: int) -> str:
        return self.text[self.starts[n] : self.starts[n + 1]]

    def offset(self, mark: Any) -> int:
        return mark.index + self.base

    def line_col(self, mark: Any) -> tuple[int, int]:
        at = self.offset(mark)
        n = bisect.bisect_right(self.starts, at) - 1
        return n, at - self.starts[n] - (self.base if n == 0 else 0)  # a BOM takes no column

    def line_of(self, mark: Any) -> int:
        return self.line_col(mark)[0]

    def col_of(self, mark: Any) -> int:
        return self.line_col(mark)[1]

    def _block(self, lines: list[str]) -> str:
        return "".join(f"{line}{self.nl}" for line in lines)

    def replace_scalar(self, key: _Node, node: _Node, value: str) -> None:
        """Put ``value`` in place of the scalar ``node`` (the value of ``key``), in the same quotes."""
        assert isinstance(node, yaml.ScalarNode)  # the caller checked: only scalars are replaced
        start, end = self.offset(node.start_mark), self.offset(node.end_mark)
        if node.style == "'":
            new = "'" + value.replace("'", "''") + "'"
        elif node.style == '"':
            new = _double_quoted(value)
        elif node.style in ("|", ">"):
            # The block's span runs into the next line: keep the line end and blank lines after it.
            body = self.text[start:end]
            new = _inline_scalar(value) + body[len(body.rstrip()) :]
        elif start == end:  # `key:` with nothing after it: the value goes right after the colon
            colon = self.text.index(":", self.offset(key.end_mark))
            start = end = colon + 1
            new = f" {_inline_scalar(value)}"
        else:
            new = _inline_scalar(value)
        self.edits.append((start, end, new))

    def insert_lines(self, before_line: int, lines: list[str]) -> None:
        at = self.starts[before_line] if before_line < self.n_lines else len(self.text)
        prefix = "" if at == 0 or self.text[at - 1] == "\n" else self.nl
        self.edits.append((at, at, prefix + self._block(lines)))

    def replace_lines(self, first: int, end: int, lines: list[str]) -> None:
        self.edits.append((self.starts[first], self.starts[min(end, self.n_lines)], self._block(lines)))

    def content_end(self, first: int, bound: int, indent: int) -> int:
        """The line after the last content line in [first, bound): trailing blank lines and comments
        indented no deeper than ``indent`` belong to what follows, not to this node."""
        end = bound
        while end > first + 1:
            line = self.line(end - 1)
            stripped = line.strip()
            if stripped and not (stripped.startswith("#") and len(line) - len(line.lstrip(" ")) <= indent):
                break
            end -= 1
        return end

    def result(self) -> str:
        """The text with every edit applied; insertions at one place keep the order they were made in."""
        out: list[str] = []
        at = 0
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1])):  # stable
            if start < at:
                raise ItembankError("internal error: overlapping edits")  # pragma: no cover - a bug
            out += (self.text[at:start], new)
            at = end
        out.append(self.text[at:])
        return "".join(out)


def _pairs(node: _Node) -> dict[str, tuple[_Node, _Node]]:
    """A block or flow mapping's entries by key text."""
    return {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _is_block_seq(node: _Node) -> bool:
    return isinstance(node, yaml.SequenceNode) and bool(node.value) and not node.flow_style


def _seq_offset(nodes: list[Any], text: EditedText) -> int:
    """How far this file indents a block sequence's dash past its key (``options:\n  - id``: 2), from
    the first block sequence found in ``nodes`` (the item, then the whole document); 2 if none."""
    for node in nodes:
        if not isinstance(node, yaml.MappingNode):
            continue
        for key, value in node.value:
            if _is_block_seq(value):  # a block sequence's start mark is its first dash
                return max(0, text.col_of(value.start_mark) - text.col_of(key.start_mark))
    return 2


class ItemEdit(Protocol):
    """One item's change: queued as text edits on its YAML mapping, and the same change on plain data."""

    item_id: str

    def edit(self, text: EditedText, node: _Node, doc: _Node, bound: int, raw: dict[str, Any]) -> None: ...

    def apply(self, raw: dict[str, Any]) -> None: ...


def append_entries(
    text: EditedText, node: _Node, doc: _Node, bound: int, raw: dict[str, Any], key: str, records: list[dict[str, Any]], entry: Callable[[dict[str, Any], int], list[str]]
) -> list[str]:
    """Queue appending ``records`` (each written by ``entry(record, dash column)``) to the block list
    under ``key`` of the item mapping ``node``, which ends before line ``bound``.  When the item has no
    such key, the lines to add at the item's end are returned instead (the caller adds them)."""
    pairs = _pairs(node)
    keys = [k.value for k, _v in node.value]
    indent = text.col_of(node.value[0][0].start_mark)
    pad = " " * indent
    offset = _seq_offset([node, doc], text)
    if key not in pairs:
        return [f"{pad}{key}:"] + [ln for rec in records for ln in entry(rec, indent + offset)]
    key_node, seq = pairs[key]
    pos = keys.index(key)
    region_end = text.line_of(node.value[pos + 1][0].start_mark) if pos + 1 < len(keys) else bound
    key_line, key_col = text.line_col(key_node.start_mark)
    end = text.content_end(key_line, region_end, key_col)
    if _is_block_seq(seq):
        dash = text.col_of(seq.start_mark)
        text.insert_lines(end, [ln for rec in records for ln in entry(rec, dash)])
    else:
        # Flow style (`key: []`) or empty: rewrite just this key as a block list.
        old = list(raw.get(key) or [])
        text.replace_lines(key_line, end, [f"{pad}{key}:"] + [ln for rec in old + records for ln in entry(rec, indent + offset)])
    return []


def _edit_item(text: EditedText, node: _Node, doc: _Node, bound: int, rows: list[ReviewRow], date: str, raw: dict[str, Any]) -> None:
    """Queue the edits of one item's mapping (which ends before line ``bound``); ``raw`` is its data."""
    pairs = _pairs(node)
    first_line, indent = text.line_col(node.value[0][0].start_mark)
    pad = " " * indent
    last = rows[-1]
    new_status = DECISION_STATUS[last.decision]
    suggested = next((r.suggested for r in reversed(rows) if r.suggested), None)
    appended: list[str] = []  # new keys, added after the item's last content line

    for key, value in (("status", new_status), ("difficulty", suggested)):
        if value is None:
            continue
        if key in pairs and isinstance(pairs[key][1], yaml.ScalarNode):
            text.replace_scalar(pairs[key][0], pairs[key][1], value)
        elif key not in pairs:
            appended.append(f"{pad}{key}: {value}")

    records: list[dict[str, Any]] = [r.record(date) for r in rows]
    appended += append_entries(text, node, doc, bound, raw, "reviews", records, lambda rec, col: entry_lines({k: str(v) for k, v in rec.items()}, col))
    if appended:
        text.insert_lines(text.content_end(first_line, bound, indent), appended)


def _apply_to_data(raw: dict[str, Any], rows: list[ReviewRow], date: str) -> None:
    """The same change on plain data: what the edited file must parse to."""
    raw["status"] = DECISION_STATUS[rows[-1].decision]
    suggested = next((r.suggested for r in reversed(rows) if r.suggested), None)
    if suggested:
        raw["difficulty"] = suggested
    raw["reviews"] = list(raw.get("reviews") or []) + [r.record(date) for r in rows]


class ReviewEdit:
    """A review import's change to one item: status, difficulty, records appended to ``reviews``."""

    def __init__(self, rows: list[ReviewRow], date: str) -> None:
        self.rows = rows
        self.date = date
        self.item_id = rows[0].item_id

    def edit(self, text: EditedText, node: _Node, doc: _Node, bound: int, raw: dict[str, Any]) -> None:
        _edit_item(text, node, doc, bound, self.rows, self.date, raw)

    def apply(self, raw: dict[str, Any]) -> None:
        _apply_to_data(raw, self.rows, self.date)


def _is_listed(data: Any) -> bool:
    """A file of the form ``items: [...]`` (else the file is one item)."""
    return isinstance(data, dict) and set(data) == {"items"}


def item_nodes(rel: str, old: str, data: Any) -> tuple[EditedText, Any, list[Any], bool]:
    """The file's text to edit, its YAML document node, the node of each item (in ``items:`` order,
    or the one item), and whether the items stand in an ``items:`` list; ``data`` is the parsed file."""
    text = EditedText(old)
    try:
        doc = yaml.compose(old[text.base :], Loader=_LOADER)
    except yaml.YAMLError as exc:  # the project's parser read it; libyaml (YAML 1.1) may not
        raise ItembankError(f"{rel}: cannot read the file for editing: {' '.join(str(exc).split())}") from None
    listed = _is_listed(data)
    if listed:
        seq = _pairs(doc)["items"][1] if isinstance(doc, yaml.MappingNode) else None
        nodes = list(seq.value) if isinstance(seq, yaml.SequenceNode) else []
    else:
        nodes = [doc]
    return text, doc, nodes, listed


def yaml_change(rel: str, old: str, data: Any, edits: Mapping[int | None, ItemEdit]) -> str:
    """The new text of a YAML file whose parsed content is ``data``."""
    text, doc, nodes, listed = item_nodes(rel, old, data)
    for index, change in edits.items():
        i = 0 if index is None else index
        node = nodes[i] if i < len(nodes) else None
        id_node = _pairs(node).get("id", (None, None))[1] if isinstance(node, yaml.MappingNode) and node.value else None
        if not isinstance(id_node, yaml.ScalarNode) or id_node.value != change.item_id:
            raise ItembankError(f"{rel}: item {change.item_id!r} is no longer where the bank was read from; run the command again")
        if listed and i + 1 < len(nodes):
            nxt = nodes[i + 1]
            first = nxt.value[0][0] if isinstance(nxt, yaml.MappingNode) and nxt.value else nxt
            bound = text.line_of(first.start_mark)
        else:
            bound = text.n_lines
        raw = data["items"][i] if listed else data
        assert isinstance(node, yaml.MappingNode) and doc is not None  # it holds the item's id (checked above)
        change.edit(text, node, doc, bound, raw)
    return text.result()


def json_change(rel: str, old: str, edits: Mapping[int | None, ItemEdit]) -> str:
    data = json.loads(old)
    for index, change in edits.items():
        change.apply(data if index is None else data["items"][index])
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def verify(rel: str, before: Any, new: str, edits: Mapping[int | None, ItemEdit], ctx: RuleContext, is_json: bool) -> None:
    """The new text must parse to exactly the old data (``before``, changed here into the expected
    data) plus the intended changes, and the changed items must still be valid; otherwise nothing is
    written."""
    after, prob = parse(new, rel, is_json=is_json)
    if prob is not None:
        raise ItembankError(f"{rel}: the edited file would not parse ({prob.message}); nothing was written")
    items = before["items"] if _is_listed(before) else None
    for index, change in edits.items():
        change.apply(before if index is None else items[index])  # type: ignore[index]
    if after != before:
        raise ItembankError(f"{rel}: cannot update the file without changing other content (unusual YAML layout?); nothing was written")
    schema = item_schema()
    got = after["items"] if items is not None else None
    for index, change in edits.items():
        raw = after if index is None else got[index]  # type: ignore[index]
        errors = [e.message for e in schema.errors(raw)]
        errors += [msg for _p, code, msg in check_item(raw, ctx) if RULES.get(code, ("error",))[0] == "error"]
        if errors:
            raise ItembankError(f"{rel}: item {change.item_id!r} would be invalid after the change ({errors[0]}); nothing was written")
