"""How an item's plain fields and fixed labels are written in QTI: one-line texts, word limits,
the explanation's headings, the order an ordering item's steps are shown in."""

from __future__ import annotations

import hashlib
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


def word_limits(low: int | None, high: int | None) -> str:
    if low and high:
        return f"Write {low}–{high} words."
    if low:
        return f"Write at least {low} words."
    if high:
        return f"Write at most {high} words."
    return ""


def expected_lines(max_words: int | None) -> int:
    return max(5, min(30, (max_words or 150) // 10))


def scrambled(seed: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A deterministic non-identity permutation (for two or more entries)."""
    keyed = sorted(pairs, key=lambda p: hashlib.sha256(f"{seed}\0{p[0]}".encode()).hexdigest())
    if len(pairs) > 1 and keyed == pairs:
        keyed = keyed[1:] + keyed[:1]
    return keyed


def boolean(value: bool) -> str:
    return "true" if value else "false"


def has_solution(item: AnyItem) -> bool:
    """Whether the item has an explanation to show (its rationale, solution or common mistakes)."""
    return bool(explanation(item, SOLUTION_LABELS))
