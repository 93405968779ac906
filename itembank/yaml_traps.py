"""YAML that parses, but not into what the author meant: warnings with the fix.

* ``hints: [Fine-tuning = adapt a model, not train it from scratch.]`` is two hints: in a flow
  sequence (``[...]``) a comma separates entries, so one sentence with a comma becomes two (IB320).
* ``stem: Use C# #include <stdio.h>`` is ``Use C#``: in a plain (unquoted) value, `` #`` starts a
  comment and the rest of the line is silently dropped (IB321).

Both are found on libyaml's node tree (positions and styles), which is built only for files whose
text can hold the trap at all (a cheap text test first).
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Sequence

import yaml
import yaml_rs

from .positions import _compose, item_spans, text_lines

#: Fields whose values are texts an author writes in sentences (a list of them, or one of them).
TEXT_LISTS = frozenset({"hints", "common_mistakes", "steps", "distractors", "sequence", "answers", "choices", "objectives"})
TEXT_FIELDS = frozenset(
    {
        "stem", "title", "rationale", "text", "feedback", "true_feedback", "false_feedback", "sample_answer",
        "response_template", "criterion", "description", "prompt", "match", "answer", "final_answer",
        "quick_check", "comment", "correct", "source", "author",
    }
) | TEXT_LISTS

_FLOW_WITH_COMMA = re.compile(r"\[[^\]\n]*,")
_ENDS_SENTENCE = re.compile(r"[.!?…:;]$")
_ENDS_SENTENCE_STRICT = re.compile(r"[.!?…]$")

Trap = tuple[tuple[object, ...], str, str, int, int]  # path from the document root, code, message, line, column


def may_hold_traps(text: str) -> bool:
    return _space_hash(text) or _FLOW_WITH_COMMA.search(text) is not None


def _space_hash(text: str) -> bool:
    """``" #" in text``, by one-character finds (memchr): a two-character ``in`` scans several times
    slower, and most files have no ``#`` at all."""
    i = text.find("#")
    while i >= 0:
        if i > 0 and text[i - 1] == " ":
            return True
        i = text.find("#", i + 1)
    return False


def find_traps(text: str, entries: Sequence[tuple[int | None, Any]] = ()) -> list[Trap]:
    """The traps of a file's text.  ``entries``: what the file's parser read, as
    ``itembank.validate`` splits it (an ``items:`` list: each entry with its index); a file of such
    a list then has only the entries that can hold a trap composed, each alone (:func:`_by_entry`)."""
    listed = {index: raw for index, raw in entries if index is not None}
    if listed:
        found = _by_entry(text, listed)
        if found is not None:
            return found
    root = _compose(text)
    if root is None:
        return []
    return list(_walk(root, (), None, text_lines(text)))


def _by_entry(text: str, listed: dict[int, Any]) -> list[Trap] | None:
    """The traps of a file of an ``items:`` list, its entries looked at one by one: only those whose
    text can hold a trap are composed, each alone (the same findings as composing the whole file,
    in the same order: its marks count from its first line, which :func:`_walk` adds back).  A file
    of 1,000 items has a ``" #"`` somewhere (a comment, code in a block scalar): composing all of it
    took ~0.35 s, 90 % of checking it.  Each entry composed must read as the very entry the file's
    parser read (``listed``), else (an alias of another entry's anchor, entries cut elsewhere than
    the parser cuts them) None: the whole file is composed, as before."""
    spans = item_spans(text)
    if spans is None or len(spans) != len(listed):
        return None
    found: list[Trap] = []
    for index, (first, begin, end) in enumerate(spans):
        entry = text[begin:end]
        if not may_hold_traps(entry):
            continue
        try:
            data = yaml_rs.loads(entry, parse_datetime=False)
        except Exception:  # noqa: BLE001 - any doubt: the whole file
            return None
        if not isinstance(data, list) or len(data) != 1 or index not in listed or data[0] != listed[index]:
            return None
        root = _compose(entry)
        if not isinstance(root, yaml.SequenceNode) or len(root.value) != 1:
            return None
        found.extend(_walk(root.value[0], ("items", index), "items", text_lines(entry), first))
    return found


def _walk(node: yaml.Node, path: tuple[object, ...], key: str | None, lines: list[str], first: int = 0) -> Iterator[Trap]:
    """The traps under ``node``, composed from ``lines``, which are the file's from line ``first`` on."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            name = getattr(k, "value", None)
            if isinstance(name, str):
                yield from _walk(v, path + (name,), name, lines, first)
    elif isinstance(node, yaml.SequenceNode):
        if node.flow_style and key in TEXT_LISTS:
            trap = _split_sentence(node, path, first)
            if trap is not None:
                yield trap
        for i, v in enumerate(node.value):
            yield from _walk(v, path + (i,), key, lines, first)
    elif isinstance(node, yaml.ScalarNode) and key in TEXT_FIELDS and not node.style and node.tag == "tag:yaml.org,2002:str":
        end = node.end_mark
        if end.line < len(lines):
            rest = lines[end.line][end.column :]
            m = re.match(r"\s+#", rest)
            if m is not None:
                comment = rest[m.end() :].strip()
                yield (
                    path,
                    "IB321",
                    f"the text ends at ` #`: YAML reads `#{comment[:30]}` as a comment and drops it; if it belongs to the text, put the whole text in quotes or use a block scalar (`|`)",
                    first + end.line + 1,
                    end.column + m.end(),
                )


def _split_sentence(node: yaml.SequenceNode, path: tuple[object, ...], first: int = 0) -> Trap | None:
    """A flow list whose entries read as one sentence cut at its commas."""
    values = [v.value for v in node.value if isinstance(v, yaml.ScalarNode) and not v.style]
    if len(values) < 2 or len(values) != len(node.value):
        return None
    if not _ENDS_SENTENCE_STRICT.search(values[-1].strip()):
        return None
    for i in range(1, len(values)):
        prev, cur = values[i - 1].strip(), values[i].strip()
        if prev and cur and not _ENDS_SENTENCE.search(prev) and cur[0].islower():
            joined = ", ".join(values)
            shown = joined if len(joined) <= 70 else joined[:67] + "..."
            mark = node.start_mark
            return (
                path,
                "IB320",
                f"this [...] list has {len(values)} entries: a comma separates entries, so one sentence became {len(values)}; "
                f'if it is one text, quote it: ["{shown}"] (or write one entry a line with `- `)',
                first + mark.line + 1,
                mark.column + 1,
            )
    return None
