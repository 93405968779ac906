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
from typing import Iterator

import yaml

from .positions import _compose, text_lines

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


def find_traps(text: str) -> list[Trap]:
    root = _compose(text)
    if root is None:
        return []
    lines = text_lines(text)
    return list(_walk(root, (), None, lines))


def _walk(node: yaml.Node, path: tuple[object, ...], key: str | None, lines: list[str]) -> Iterator[Trap]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            name = getattr(k, "value", None)
            if isinstance(name, str):
                yield from _walk(v, path + (name,), name, lines)
    elif isinstance(node, yaml.SequenceNode):
        if node.flow_style and key in TEXT_LISTS:
            trap = _split_sentence(node, path)
            if trap is not None:
                yield trap
        for i, v in enumerate(node.value):
            yield from _walk(v, path + (i,), key, lines)
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
                    end.line + 1,
                    end.column + m.end(),
                )


def _split_sentence(node: yaml.SequenceNode, path: tuple[object, ...]) -> Trap | None:
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
                mark.line + 1,
                mark.column + 1,
            )
    return None
