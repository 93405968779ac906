"""An item's explanation — what a teacher says after the attempt — as headed sections.

Composed once here from the model (the card's back, rationale, solution steps, final answer, quick
check, common mistakes, hints); each format only renders the sections, with its own headings (the
``labels`` it passes: a format's headings are part of its output, so they stay as each format has
always written them) and its own markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

from itembank.model import FlashcardItem, Item, Step

SectionKind = Literal["answer", "rationale", "steps", "final_answer", "quick_check", "common_mistakes", "hints"]


class Section(NamedTuple):
    """One part of the explanation: ``text`` (one Markdown text), ``items`` (a list) or ``steps``.

    A named tuple: made ~90,000 times in a build of 10,000 items (each format asks for the items'
    explanations), where a frozen dataclass's construction cost three times as much."""

    kind: SectionKind
    label: str | None  # the format's heading; None: no heading
    text: str | None = None
    items: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()


def explanation(item: Item, labels: Mapping[SectionKind, str | None]) -> list[Section]:
    """The sections ``item`` has, of the kinds in ``labels``, in ``labels``' order, headed by its values."""
    sol = item.solution
    out: list[Section] = []
    for kind, label in labels.items():
        if kind == "answer":
            if isinstance(item, FlashcardItem) and item.answer:
                out.append(Section(kind, label, text=item.answer))
        elif kind == "rationale":
            if item.rationale:
                out.append(Section(kind, label, text=item.rationale))
        elif kind == "steps":
            if sol is not None and sol.steps:
                out.append(Section(kind, label, steps=sol.steps))
        elif kind == "final_answer":
            if sol is not None and sol.final_answer:
                out.append(Section(kind, label, text=sol.final_answer))
        elif kind == "quick_check":
            if sol is not None and sol.quick_check:
                out.append(Section(kind, label, text=sol.quick_check))
        elif kind == "common_mistakes":
            if item.common_mistakes:
                out.append(Section(kind, label, items=tuple(item.common_mistakes)))
        elif kind == "hints":
            if item.hints:
                out.append(Section(kind, label, items=tuple(item.hints)))
    return out
