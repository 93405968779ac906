"""Bank-level rules: where the keys sit, how often the key is the longest option, difficulty per topic."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING
from collections.abc import Iterator

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


@rule(
    "IB551",
    "key-position-balance",
    "keys of unshuffled multiple choice items favour some positions (chi-square)",
    "HDR 20",
    scope="bank",
    thresholds=("key_balance_p", "key_balance_min_items"),
)
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


def chance_tail(count: int, sizes: list[int]) -> float:
    """P(at least ``count`` keys are the longest option by chance), item i's chance being 1/k_i.

    Exact (binomials per option count, convolved) up to 400 items, normal approximation beyond."""
    n = len(sizes)
    if n <= 400:
        dist = [1.0]
        for k, m in Counter(sizes).items():
            p = 1 / k
            pmf = [math.comb(m, j) * p**j * (1 - p) ** (m - j) for j in range(m + 1)]
            out = [0.0] * (len(dist) + m)
            for a, pa in enumerate(dist):
                if pa:
                    for b, pb in enumerate(pmf):
                        out[a + b] += pa * pb
            dist = out
        return min(1.0, sum(dist[count:]))
    mean = sum(1 / k for k in sizes)
    sd = math.sqrt(sum((1 / k) * (1 - 1 / k) for k in sizes))
    return 0.5 * math.erfc((count - 0.5 - mean) / (sd * math.sqrt(2))) if sd else float(count <= mean)


@rule(
    "IB552",
    "longest-key-share",
    "the key is the longest option in too many multiple choice items (more than chance)",
    "HDR 24, 28d",
    scope="bank",
    thresholds=("longest_key_share", "longest_key_p", "longest_key_min_items"),
)
def longest_key_share(bank: Bank, ctx: LintContext) -> Iterator[Finding]:
    sizes: list[int] = []
    longest: list[str] = []
    for item in ctx.live_items(bank):
        found = single_key(item)
        if found is None:
            continue
        sizes.append(len(found[0].options))
        if key_is_longest(*found) is not None:
            longest.append(item.id)
    total = len(sizes)
    if total < ctx.threshold("longest_key_min_items"):
        return
    share = len(longest) / total
    if share <= ctx.threshold("longest_key_share"):
        return
    p = chance_tail(len(longest), sizes)
    if p < ctx.threshold("longest_key_p"):
        chance = sum(1 / k for k in sizes) / total
        shown = ", ".join(longest[:8]) + (", ..." if len(longest) > 8 else "")
        yield Finding(
            f'the key is the longest option in {len(longest)} of {total} multiple choice items ({share:.0%}; {shown}), where chance gives {chance:.0%} (p = {p:.3g}): "pick the longest" pays',
            "lengthen distractors (or shorten keys) so that the longest option is the key in about 1 item in k (k options)",
        )


@rule(
    "IB555",
    "difficulty-spread",
    "every item of a topic has the same difficulty",
    "HDR 1 (test specifications)",
    scope="bank",
    thresholds=("difficulty_spread_min_items",),
)
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
