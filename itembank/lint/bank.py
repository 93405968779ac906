"""Bank-level rules: where the keys sit, how often the key is the longest option, difficulty per topic."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Iterator

from ..model import Bank
from .choices import key_is_longest, single_key
from .registry import Finding, rule

if TYPE_CHECKING:
    from .engine import LintContext


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` (integer) degrees of freedom, in closed form."""
    if x <= 0:
        return 1.0
    if df % 2 == 0:
        term = total = 1.0
        for i in range(1, df // 2):
            term *= (x / 2) / i
            total += term
        return min(1.0, math.exp(-x / 2) * total)
    root = math.sqrt(x)
    p = math.erfc(root / math.sqrt(2))
    term = root
    total = 0.0
    for i in range(1, (df - 1) // 2 + 1):
        if i > 1:
            term *= x / (2 * i - 1)
        total += term
    return min(1.0, p + math.sqrt(2 / math.pi) * math.exp(-x / 2) * total)


@rule("IB551", "key-position-balance", "keys of unshuffled multiple choice items favour some positions (chi-square)", "HDR 20", scope="bank", thresholds=("key_balance_p", "key_balance_min_items"))
def key_position_balance(bank: Bank, ctx: LintContext) -> Iterator[Finding]:
    groups: dict[int, list[int]] = defaultdict(list)
    for item in ctx.live_items(bank):
        found = single_key(item)
        if found is not None and not found[0].shuffle:
            groups[len(found[0].options)].append(found[1])
    for k, keys in sorted(groups.items()):
        n = len(keys)
        if n < ctx.threshold("key_balance_min_items") or k < 2:
            continue
        counts = Counter(keys)
        observed = [counts.get(i, 0) for i in range(k)]
        expected = n / k
        chi2 = sum((o - expected) ** 2 / expected for o in observed)
        p = chi_square_sf(chi2, k - 1)
        if p < ctx.threshold("key_balance_p"):
            spread = ", ".join(f"{chr(ord('A') + i)} {o}" for i, o in enumerate(observed))
            yield Finding(
                f"the keys of {n} unshuffled multiple choice items with {k} options sit at {spread} (chi-square {chi2:.2f}, df {k - 1}, p = {p:.3g}): the favoured position can be guessed",
                f"move keys so that each position holds about {expected:.0f}, or let the platform shuffle (`shuffle: true`)",
            )


@rule("IB552", "longest-key-share", "the key is the longest option in too many multiple choice items", "HDR 24, 28d", scope="bank", thresholds=("longest_key_share", "longest_key_min_items"))
def longest_key_share(bank: Bank, ctx: LintContext) -> Iterator[Finding]:
    total = 0
    longest: list[str] = []
    for item in ctx.live_items(bank):
        found = single_key(item)
        if found is None:
            continue
        total += 1
        if key_is_longest(*found) is not None:
            longest.append(item.id)
    if total < ctx.threshold("longest_key_min_items"):
        return
    share = len(longest) / total
    if share > ctx.threshold("longest_key_share"):
        shown = ", ".join(longest[:8]) + (", ..." if len(longest) > 8 else "")
        yield Finding(
            f"the key is the longest option in {len(longest)} of {total} multiple choice items ({share:.0%}; {shown}): \"pick the longest\" beats chance",
            "lengthen distractors (or shorten keys) so that the longest option is the key in about 1 item in k (k options)",
        )


@rule("IB555", "difficulty-spread", "every item of a topic has the same difficulty", "HDR 1 (test specifications)", scope="bank", thresholds=("difficulty_spread_min_items",))
def difficulty_spread(bank: Bank, ctx: LintContext) -> Iterator[Finding]:
    by_topic: dict[str, Counter[str]] = defaultdict(Counter)
    for item in ctx.live_items(bank):
        if item.difficulty is not None:
            by_topic[item.topic or "General"][item.difficulty] += 1
    for topic, counts in by_topic.items():
        n = sum(counts.values())
        if n >= ctx.threshold("difficulty_spread_min_items") and len(counts) < 2:
            (only,) = counts
            yield Finding(
                f"topic '{topic}': all {n} items with a difficulty are {only}: a blueprint cannot draw other difficulties on it",
                "write items of other difficulties for this topic, or check the difficulty ratings",
            )
