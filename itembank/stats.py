"""Counts over a bank: by type, difficulty, topic and status; and what the item analyses found."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .model import AnyItem, Bank
from .wording import plural


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


def evidence_stats(bank: Bank) -> dict[str, Any]:
    """The latest evidence record (``itembank analyze --write``) of every item that has one."""
    latest: dict[str, Any] = {}
    for item in bank.items:
        if not item.evidence:
            continue
        e = item.evidence[-1]
        latest[item.id] = {
            "date": e.date,
            "records": len(item.evidence),
            "n": e.n,
            "facility": e.facility,
            "discrimination": e.discrimination,
            "flags": list(e.flags),
            "difficulty": item.difficulty,
            "suggested_difficulty": e.suggested_difficulty,
        }
    return {"analysed": len(latest), "flagged": sorted(k for k, v in latest.items() if v["flags"]), "items": latest}


def _figure(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _evidence_lines(bank: Bank) -> list[str]:
    ev = evidence_stats(bank)
    if not ev["analysed"]:
        return []
    lines = [f"\nevidence (latest analysis per item): {ev['analysed']} analysed, {len(ev['flagged'])} flagged"]
    width = max(len(k) for k in ev["items"])
    for item_id, e in ev["items"].items():
        item: AnyItem = bank.by_id[item_id]
        tag = f"  tag {item.difficulty} -> {e['suggested_difficulty']}" if e["suggested_difficulty"] and e["suggested_difficulty"] != item.difficulty else ""
        lines.append(
            f"  {item_id.ljust(width)}  {e['date']}  n={e['n']:<5} facility {_figure(e['facility'])}  discrimination {_figure(e['discrimination'])}"
            f"  {' '.join(e['flags'])}{tag}".rstrip()
        )
    return lines


def format_stats(bank: Bank) -> str:
    lines = [f"{bank.title}: {plural(len(bank.items), 'item')}"]
    for name, counts in bank_stats(bank).items():
        lines.append(f"\nby {name}:")
        width = max((len(k) for k in counts), default=0)
        lines.extend(f"  {k.ljust(width)}  {v:>5}" for k, v in counts.items())
    lines.extend(_evidence_lines(bank))
    return "\n".join(lines) + "\n"
