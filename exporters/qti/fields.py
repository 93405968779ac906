"""How an item's plain fields and fixed labels are written in QTI: one-line texts, the explanation's
headings, an essay's expected lines (the word limits and the order of shown steps: ``kit.wording``)."""

from __future__ import annotations

from collections.abc import Iterable

from itembank.model import AnyItem

from ..kit.explain import SectionKind, explanation

#: Headings of the solution feedback's sections, in order (hints have their own modal feedback).
SOLUTION_LABELS: dict[SectionKind, str | None] = {
    "rationale": "Explanation",
    "steps": "Solution",
    "final_answer": "Answer",
    "quick_check": "Quick check",
    "common_mistakes": "Common mistakes",
}


def one_line(text: str) -> str:
    """A plain-text field (itembank.fields) where the format has no line break: spaces for breaks."""
    return " ".join(text.split())


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def expected_lines(max_words: int | None) -> int:
    return max(5, min(30, (max_words or 150) // 10))


def boolean(value: bool) -> str:
    return "true" if value else "false"


def has_solution(item: AnyItem) -> bool:
    """Whether the item has an explanation to show (its rationale, solution or common mistakes)."""
    return bool(explanation(item, SOLUTION_LABELS))
