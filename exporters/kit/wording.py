"""What several formats say or show alike of an item: the essay's word limits as a sentence, and
the order a matching or ordering item's entries are shown in (not the key's)."""

from __future__ import annotations

import hashlib


def word_limits(low: int | None, high: int | None) -> str:
    """The essay's word limits as an instruction ("" when it has none)."""
    if low and high:
        return f"Write {low}–{high} words."
    if low:
        return f"Write at least {low} words."
    if high:
        return f"Write at most {high} words."
    return ""


def scrambled(seed: str, entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A deterministic order of ``entries`` (keyed by their first value) that is not the given one,
    for two or more entries: the same in every build and in every format that shows it."""
    keyed = sorted(entries, key=lambda p: hashlib.sha256(f"{seed}\0{p[0]}".encode()).hexdigest())
    if len(entries) > 1 and keyed == entries:
        keyed = keyed[1:] + keyed[:1]
    return keyed
