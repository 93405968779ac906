"""Counts over a bank: by type, difficulty, topic and status."""

from __future__ import annotations

from collections import Counter

from .model import Bank


def bank_stats(bank: Bank) -> dict[str, dict[str, int]]:
    def count(values: list[str | None]) -> dict[str, int]:
        c = Counter(v or "(none)" for v in values)
        return dict(sorted(c.items()))

    items = bank.items
    return {
        "type": count([i.type for i in items]),
        "difficulty": count([i.difficulty for i in items]),
        "topic": count([i.topic for i in items]),
        "status": count([i.status for i in items]),
    }


def format_stats(bank: Bank) -> str:
    lines = [f"{bank.title}: {len(bank.items)} items"]
    for name, counts in bank_stats(bank).items():
        lines.append(f"\nby {name}:")
        width = max((len(k) for k in counts), default=0)
        lines.extend(f"  {k.ljust(width)}  {v:>5}" for k, v in counts.items())
    return "\n".join(lines) + "\n"
