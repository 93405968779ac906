"""Writing items as readable YAML: fields in the schema's order, multi-line text as ``|`` blocks.

A small emitter for what items hold (mappings, lists, strings, numbers, booleans): ~10x faster than
PyYAML's, and with the review import's scalar rules, so a string YAML 1.1 or 1.2 would read as
something else (``1e3``, ``yes``, ``null``, ``2024-01-01``) is quoted.  The caller parses every file
back (``yaml_rs``, the bank's own reader) and compares before writing.  Same data -> same bytes.
"""

from __future__ import annotations

from typing import Any

from .review.yaml_edit import _double_quoted, _inline_scalar, _literal_ok, _plain_ok

#: Field order in written files: identity, metadata, question, key, feedback, review history.
FIELD_ORDER = (
    "id", "type", "title", "topic", "difficulty", "level", "bloom", "points", "status", "tags", "objectives",
    "author", "source", "stem", "options", "shuffle", "scoring", "answer", "tolerance", "range", "unit",
    "answers", "case_sensitive", "true_feedback", "false_feedback", "pairs", "distractors", "sequence",
    "blanks", "rubric", "sample_answer", "min_words", "max_words", "response_template", "rationale",
    "hints", "solution", "common_mistakes", "reviews",
)
_ORDER = {k: i for i, k in enumerate(FIELD_ORDER)}
_SUB_ORDER = {k: i for i, k in enumerate((
    "id", "title", "text", "prompt", "match", "criterion", "answers", "choices", "correct", "number", "tolerance", "points",
    "case_sensitive", "feedback", "description", "steps", "final_answer", "quick_check", "min", "max",
))}

def _inline(v: Any) -> str:
    """A scalar on one line, in the plainest style YAML 1.1 and 1.2 both read back as the same value."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        if "e" in r and "." not in r:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            mant, _, exp = r.partition("e")
            r = f"{mant}.0e{exp}"
        return r
    return _inline_scalar(str(v))


def _block(s: str, pad: str) -> tuple[str, list[str]] | None:
    """A multi-line string as a literal block: (indicator, content lines), or None if it cannot be one."""
    if s.endswith("\n") and not s.endswith("\n\n") and _literal_ok(s[:-1]):
        body, ind = s[:-1], "|"
    elif _literal_ok(s):
        body, ind = s, "|-"
    else:
        return None
    return ind, [f"{pad}{line}" if line else "" for line in body.split("\n")]


_KEYS: dict[str, str] = {}


def _key(k: str) -> str:
    """A mapping key as written (the few field names repeat in every item: computed once each)."""
    written = _KEYS.get(k)
    if written is None:
        written = k if _plain_ok(k) else _double_quoted(k)
        if len(_KEYS) < 4096:
            _KEYS[k] = written
    return written


def _emit(value: Any, indent: int, out: list[str], prefix: str) -> None:
    """Emit ``value`` at ``indent``; its first line starts with ``prefix`` (``key:`` or ``- ``)."""
    dash = prefix.endswith("- ")
    if isinstance(value, dict) and value:
        if dash:  # "- key: value" then the other keys under the first
            for n, (k, v) in enumerate(value.items()):
                _emit(v, indent + 2, out, (prefix if n == 0 else " " * (indent + 2)) + _key(k) + ":")
            return
        out.append(prefix)
        for k, v in value.items():
            _emit(v, indent + 2, out, " " * (indent + 2) + _key(k) + ":")
        return
    if isinstance(value, list) and value and not dash:
        out.append(prefix)
        for v in value:
            _emit(v, indent, out, " " * indent + "- ")
        return
    sep = "" if dash else " "
    if isinstance(value, (dict, list)):  # empty, or a list inside a list (items have none): flow style
        out.append(prefix + sep + ("{}" if isinstance(value, dict) else "[" + ", ".join(_inline(v) for v in value) + "]"))
        return
    if isinstance(value, str) and "\n" in value:
        block = _block(value, " " * (indent + 2))
        if block is not None:
            out.append(prefix + sep + block[0])
            out.extend(block[1])
            return
    out.append(prefix + sep + _inline(value))


def ordered(data: Any, top: bool = True) -> Any:
    """A copy with mapping keys in the written order (schema order; nested mappings: id/text/... first)."""
    if isinstance(data, dict):
        if top:
            keys = sorted(data, key=lambda k: (_ORDER.get(k, 10_000), k))
        elif any(k in _SUB_ORDER for k in data):
            keys = sorted(data, key=lambda k: (_SUB_ORDER.get(k, 10_000), k))
        else:
            keys = list(data)  # e.g. the blanks mapping: placeholders in stem order
        return {k: ordered(data[k], top=False) for k in keys}
    if isinstance(data, list):
        return [ordered(v, top=False) for v in data]
    return data


def _nested_keys(data: dict[str, Any]) -> list[str]:
    """A nested mapping's keys in :func:`ordered`'s order."""
    for k in data:
        if k in _SUB_ORDER:
            return sorted(data, key=lambda k: (_SUB_ORDER.get(k, 10_000), k))
    return list(data)


def _top_key(k: str) -> tuple[int, str]:
    return (_ORDER.get(k, 10_000), k)


def _emit_ordered(value: Any, indent: int, out: list[str], prefix: str, dash: bool) -> None:
    """``_emit(ordered(value, top=False), ...)`` in one pass, without the ordered copy (an import of
    10,000 items writes each of them: the copy and the generic checks were half of writing)."""
    if isinstance(value, dict):
        if value:
            pad = " " * (indent + 2)
            keys = _nested_keys(value)
            if dash:  # "- key: value" then the other keys under the first
                lead = prefix
                for k in keys:
                    _emit_ordered(value[k], indent + 2, out, lead + _key(k) + ":", False)
                    lead = pad
                return
            out.append(prefix)
            for k in keys:
                _emit_ordered(value[k], indent + 2, out, pad + _key(k) + ":", False)
            return
    elif isinstance(value, list):
        if value and not dash:
            out.append(prefix)
            dashed = " " * indent + "- "
            for v in value:
                _emit_ordered(v, indent, out, dashed, True)
            return
    elif isinstance(value, str):
        sep = "" if dash else " "
        if "\n" in value:
            block = _block(value, " " * (indent + 2))
            if block is not None:
                out.append(prefix + sep + block[0])
                out.extend(block[1])
                return
        out.append(prefix + sep + _inline_scalar(value))
        return
    _emit(ordered(value, top=False), indent, out, prefix)  # empty containers, a list in a list, numbers...


def dump(data: dict[str, Any]) -> str:
    """Block YAML of a mapping, keys in the given order, a sequence's dashes at its key's column."""
    out: list[str] = []
    for k, v in data.items():
        _emit(v, 0, out, _key(k) + ":")
    return "\n".join(out) + "\n"


def dump_item(item: dict[str, Any]) -> str:
    """``dump(ordered(item))``, in one pass."""
    out: list[str] = []
    for k in sorted(item, key=_top_key):
        _emit_ordered(item[k], 0, out, _key(k) + ":", False)
    return "\n".join(out) + "\n"


def dump_items(items: list[dict[str, Any]], header: str = "") -> str:
    """An ``items:`` file, a blank line between items."""
    return items_file([dump_item(item) for item in items], header)


def items_file(item_texts: list[str], header: str = "") -> str:
    """An ``items:`` file of items already written by :func:`dump_item`, a blank line between them."""
    chunks = []
    for text in item_texts:
        lines = text.rstrip("\n").split("\n")
        chunks.append("  - " + lines[0] + "\n" + "".join(f"    {ln}\n" if ln else "\n" for ln in lines[1:]))
    return header + "items:\n" + "\n".join(chunks)


def key_lines(key: str, value: Any, indent: int) -> list[str]:
    """``key: value`` as block YAML lines indented by ``indent`` spaces (for in-place updates)."""
    body = dump({key: ordered(value, top=False)}).rstrip("\n").split("\n")
    pad = " " * indent
    return [f"{pad}{ln}" if ln else "" for ln in body]
