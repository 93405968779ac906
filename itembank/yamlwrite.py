"""Writing items as readable YAML: fields in the schema's order, multi-line text as ``|`` blocks.

The output is read back by the bank loader (``yaml_rs``, YAML 1.2), so every string that YAML 1.2
would read as something else (``1e3``, ``true``, ``null``, ``0x1F``, ``.inf``) is quoted; the caller
checks that the text parses back to the same data.  Same data -> same bytes.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

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

# YAML 1.2 core-schema (and YAML 1.1) scalars that are not strings: written quoted when they are strings.
_NOT_PLAIN = re.compile(
    r"^(?:[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+"
    r"|[-+]?\d[\d_]*(?::[0-5]?\d)+(?:\.\d*)?|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N"
    r"|null|Null|NULL|~|)$"
)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value.strip("\n") and _block_ok(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if _NOT_PLAIN.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _block_ok(value: str) -> bool:
    lines = value.split("\n")
    return all(line == line.rstrip(" \t") and line.replace("\t", " ").isprintable() for line in lines) and not value.startswith((" ", "\n"))


_Dumper.add_representer(str, _str)


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


def dump(data: Any) -> str:
    """YAML text of ``data`` (a mapping), block style, Unicode kept, no line folding."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000, indent=2)


def dump_item(item: dict[str, Any]) -> str:
    return dump(ordered(item))


def dump_items(items: list[dict[str, Any]], header: str = "") -> str:
    """An ``items:`` file, a blank line between items."""
    chunks = []
    for item in items:
        lines = dump(ordered(item)).rstrip("\n").split("\n")
        chunks.append("  - " + lines[0] + "\n" + "".join(f"    {ln}\n" if ln else "\n" for ln in lines[1:]))
    return header + "items:\n" + "\n".join(chunks)


def key_lines(key: str, value: Any, indent: int) -> list[str]:
    """``key: value`` as block YAML lines indented by ``indent`` spaces (for in-place updates)."""
    body = dump({key: ordered(value, top=False)}).rstrip("\n").split("\n")
    pad = " " * indent
    return [f"{pad}{ln}" if ln else "" for ln in body]
