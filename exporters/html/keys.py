"""The scoring data the page's script grades with, computed from the model's values.

The rules are those of the QTI export (``exporters/_qti.py``), which the real QTI player checks:

* multiple choice, true/false, ordering: full points for the key, else 0;
* multiple response, ``partial``: the exact key scores full points; any other selection scores the
  sum of its options' values (a key earns points/k, a distractor costs points/(n−k)), clamped to
  [0, points]; ``all_or_nothing``: the exact key or 0;
* short answer: any accepted answer, as ``itembank.rules.typed_alike`` compares them (white space runs
  one space, trimmed; NFC; unless ``case_sensitive``, NFKC and a locale-independent case fold);
* numeric: any number in the closed interval ``bounds`` (answer ± tolerance, or the range), its ends
  at 15 significant digits like the Moodle export (0.7 ± 0.1 accepts 0.8);
* matching: points/n for each prompt matched to its partner (no penalty);
* cloze: each blank scores its share ``points × blank.points / Σ blank.points`` when right (text as
  short answer, menu: the correct choice, number: within ± tolerance).

Values are plain JSON numbers; the page shows scores rounded to two decimals.
"""

from __future__ import annotations

from typing import Any

from itembank.model import (
    AnyItem,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
)


def matching_ids(item: MatchingItem) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(prompt id, prompt) and (target id, target text) lists: P1.., M1.. for the distinct matches (a
    match several pairs share is one target, MatchingItem.targets), D1.. for distractors."""
    prompts = [(f"P{i}", p.prompt) for i, p in enumerate(item.pairs, 1)]
    targets = [(f"M{j}", text) for j, text in enumerate(item.targets, 1)]
    targets += [(f"D{i}", text) for i, text in enumerate(item.distractors, 1)]
    return prompts, targets


def ordering_ids(item: OrderingItem) -> list[tuple[str, str]]:
    return [(f"S{i}", text) for i, text in enumerate(item.sequence, 1)]


def cloze_share(item: ClozeItem) -> dict[str, float]:
    total = sum(b.points for b in item.blanks) or 1.0
    return {b.name: item.points * b.points / total for b in item.blanks}


def bound(value: float) -> float:
    """An interval end at 15 significant digits, as the Moodle export writes it: 0.7 + 0.1 is 0.8,
    not 0.7999999999999999 (which would refuse a student's 0.8)."""
    return float(format(value, ".15g"))


def scoring_key(item: AnyItem) -> dict[str, Any] | None:
    """What the script needs to grade ``item``; None for a flashcard (nothing to grade)."""
    points = item.points
    if isinstance(item, ChoiceItem):
        keys = [o.id for o in item.options if o.correct]
        n_wrong = max(1, len(item.options) - len(keys))
        values = {o.id: (points / len(keys) if o.correct else -points / n_wrong) for o in item.options}
        partial = item.type == "multiple_response" and item.scoring == "partial"
        return {"kind": "choice", "points": points, "keys": keys, "partial": partial, "values": values if partial else {}}
    if isinstance(item, TrueFalseItem):
        return {"kind": "choice", "points": points, "keys": ["true" if item.answer else "false"], "partial": False, "values": {}}
    if isinstance(item, ShortAnswerItem):
        return {"kind": "text", "points": points, "answers": list(item.answers), "case": item.case_sensitive}
    if isinstance(item, NumericItem):
        low, high = item.bounds
        return {"kind": "number", "points": points, "low": bound(low), "high": bound(high)}
    if isinstance(item, MatchingItem):
        prompts, _targets = matching_ids(item)
        return {"kind": "match", "points": points, "pairs": {p: f"M{t + 1}" for (p, _t), t in zip(prompts, item.target_of)},
                "share": points / len(item.pairs)}
    if isinstance(item, OrderingItem):
        return {"kind": "order", "points": points, "order": [i for i, _t in ordering_ids(item)]}
    if isinstance(item, ClozeItem):
        shares = cloze_share(item)
        blanks: dict[str, Any] = {}
        for b in item.blanks:
            if b.kind == "choice":
                spec: dict[str, Any] = {"kind": "choice", "correct": str(b.choices.index(b.correct) + 1) if b.correct in b.choices else ""}
            elif b.kind == "numeric":
                assert b.number is not None
                spec = {"kind": "number", "low": bound(b.number - b.tolerance), "high": bound(b.number + b.tolerance)}
            else:
                spec = {"kind": "text", "answers": list(b.answers), "case": b.case_sensitive}
            spec["share"] = shares[b.name]
            blanks[b.name] = spec
        return {"kind": "cloze", "points": points, "blanks": blanks}
    if isinstance(item, EssayItem):
        return {"kind": "essay", "points": points, "concepts": len(item.rubric)}
    return None
