"""Near-duplicate items: the same question (stem and key) written twice, perhaps slightly reworded.

All pairs of a 10,000-item bank are 50 million comparisons: too many even for RapidFuzz's C++
(≈ 90 s here), and MinHash (datasketch) costs about a second on 10,000 items before it finds
anything, plus numpy and scipy.  So candidates come from *phrases*: each normalized text is cut
before its function words (the, a, of, to, is, which, ...), which gives content-defined runs of
words; those of three words or more count; a reworded copy keeps most of them, wherever the edits are.  Two items are
compared only if they share two phrases that at most ``MAX_BUCKET`` items have (a phrase in more
items is boilerplate, like "select all that apply", and says nothing about duplication; one shared
phrase is enough when a text has four phrases or fewer).  Each
candidate pair is then scored with RapidFuzz's normalized Indel similarity (``fuzz.ratio``) on the
whole normalized stem and key, and reported at or above ``near_duplicate_similarity``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from functools import partial
from typing import TYPE_CHECKING
from collections.abc import Iterator

from rapidfuzz import fuzz

from ..model import AnyItem, Bank, ChoiceItem, ClozeItem, FlashcardItem, NumericItem, ShortAnswerItem, TrueFalseItem
from .registry import Finding, rule
from .text import prose

if TYPE_CHECKING:
    from .engine import LintContext

#: A phrase shared by more items than this is boilerplate: it makes nobody a candidate.
MAX_BUCKET = 32
_PHRASE_START = re.compile(
    r" (?=(?:the|a|an|of|to|and|or|in|on|at|by|for|from|with|is|are|was|were|be|that|this|it|as|which|what|when|how|why)(?: |$))"
)


def key_text(item: AnyItem) -> str:
    if isinstance(item, ChoiceItem):
        return " ".join(o.text for o in item.options if o.correct)
    if isinstance(item, TrueFalseItem):
        return "true" if item.answer else "false"
    if isinstance(item, ShortAnswerItem):
        return item.answers[0] if item.answers else ""
    if isinstance(item, NumericItem):
        return f"{item.centre:g}"
    if isinstance(item, FlashcardItem):
        return item.answer
    if isinstance(item, ClozeItem):
        return " ".join(b.correct or (b.answers[0] if b.answers else f"{b.number:g}" if b.number is not None else "") for b in item.blanks)
    return ""


#: Punctuation becomes a space (str.translate: several times faster than a word regex on 10,000 stems).
_PUNCTUATION = str.maketrans({c: " " for c in '!"#$%&()*+,./:;<=>?@[\\]^_`{|}~‘’“”«»…–—·•'})


def normalized(item: AnyItem) -> str:
    """Stem and key as lower-case words: what makes two items the same question."""
    return " ".join((prose(item.stem) + " " + prose(key_text(item))).lower().translate(_PUNCTUATION).split())


def comparable(item: AnyItem) -> str:
    """The item's :func:`normalized` text, then its :func:`phrases` (the text among them), a line
    each (neither holds a line break: a normalized text is words and single spaces); ``""`` for an
    item with no text."""
    text = normalized(item)
    return "\n".join([text, *sorted(phrases(text) - {text})]) if text else ""


def phrases(text: str) -> set[str]:
    """The text's phrases of three words or more (cut before function words), its first and last four
    words, and the text itself.  A long run without function words (a list of terms) is also cut into
    four-word pieces, so that one changed word leaves the rest of it shared."""
    out = {text}
    for p in _PHRASE_START.split(text):
        if p.count(" ") >= 2:
            out.add(p)
            if p.count(" ") >= 8:
                w = p.split(" ")
                out.update(" ".join(w[k : k + 4]) for k in range(0, len(w) - 3, 4))
    w = text.split(" ")
    if len(w) > 4:
        out.add(" ".join(w[:4]))
        out.add(" ".join(w[-4:]))
    return out


def duplicated(texts: list[str], threshold: float, found_in: list[set[str]] | None = None) -> list[tuple[int, int, float, int]]:
    """For each text ``j`` similar to an earlier one: (j, the most similar earlier text (the first
    of those when several are as similar), its similarity, how many earlier texts are similar),
    in the order of ``j``."""
    best: dict[int, tuple[float, int]] = {}
    count: Counter[int] = Counter()
    for i, j, score in similar_pairs(texts, threshold, found_in):
        count[j] += 1
        if j not in best or score > best[j][0]:
            best[j] = (score, i)
    return [(j, best[j][1], best[j][0], count[j]) for j in sorted(best)]


def _rows(kept: str, items: int) -> list[tuple[int, int, float, int]] | None:
    """:func:`duplicated`'s rows as kept (JSON), when they are rows of texts ``0 .. items - 1``
    (None: not so, the search is made again)."""
    try:
        rows = json.loads(kept)
    except ValueError:
        return None
    out: list[tuple[int, int, float, int]] = []
    for row in rows if isinstance(rows, list) else [None]:
        if not (isinstance(row, list) and len(row) == 4 and all(type(n) is int for n in (row[0], row[1], row[3])) and type(row[2]) is float):
            return None
        j, i, score, count = row
        if not (0 <= i < j < items and count >= 1 and 0 <= score <= 1):
            return None
        out.append((j, i, score, count))
    return out


def similar_pairs(texts: list[str], threshold: float, found_in: list[set[str]] | None = None) -> Iterator[tuple[int, int, float]]:
    """(i, j, similarity) with i < j for pairs of texts at least ``threshold`` similar (0-1).
    ``found_in``: each text's :func:`phrases` (an empty set for an empty text), when known."""
    index: dict[str, list[int]] = {}
    sizes: list[int] = []
    for j, text in enumerate(texts):
        found = found_in[j] if found_in is not None else phrases(text) if text else set()
        sizes.append(len(found))
        for phrase in found:
            index.setdefault(phrase, []).append(j)
    shared: Counter[tuple[int, int]] = Counter()
    for bucket in index.values():
        if 1 < len(bucket) <= MAX_BUCKET:
            shared.update((a, b) for k, a in enumerate(bucket) for b in bucket[k + 1 :])
    cutoff = threshold * 100
    slack = 1 - threshold
    # A copy with a few words changed keeps most of its phrases: one shared phrase out of many is
    # chance (a common turn of phrase), except for short texts that have only a few.  (Filtered
    # before sorting: on 10,000 items about 65,000 pairs share a phrase and some 60 pass.)
    candidates = [(i, j) for (i, j), n in shared.items() if n >= 2 or sizes[i] <= 4 or sizes[j] <= 4]
    for i, j in sorted(candidates):
        a, b = texts[i], texts[j]
        # Indel similarity >= r needs |a - b| <= (1 - r)(a + b): skip pairs the lengths rule out.
        if abs(len(a) - len(b)) > slack * (len(a) + len(b)):
            continue
        score = fuzz.ratio(a, b, score_cutoff=cutoff)
        if score:
            yield i, j, score / 100


@rule(
    "IB553",
    "near-duplicate",
    "two items ask the same question with the same key (near-duplicate stem and key)",
    "HDR 4",
    scope="bank",
    thresholds=("near_duplicate_similarity",),
)
def near_duplicates(bank: Bank, ctx: LintContext) -> Iterator[Finding]:
    items = list(ctx.live_items(bank))
    # Each item's text and phrases, worked out from the item alone: kept by the review workbook's
    # cache (most of this rule's time on 10,000 items, when nothing else changed).
    compared = [ctx.kept_text(i, "near-duplicate", partial(comparable, i)) for i in items]
    texts = [kept.partition("\n")[0] for kept in compared]
    threshold = ctx.threshold("near_duplicate_similarity")

    def search() -> list[tuple[int, int, float, int]]:
        return duplicated(texts, threshold, [set(kept.split("\n")) if kept else set() for kept in compared])

    # The search depends on the texts alone (and the threshold): kept by the review workbook's cache
    # for the same texts, so an edit that leaves every stem and key as it was (a title, feedback, a
    # distractor, a tag) does not search again (0.12 s of 10,000 items); the same findings.
    inputs = hashlib.blake2b(f"{threshold!r}\0{len(texts)}\0".encode() + "\n".join(texts).encode("utf-8", "surrogatepass"), digest_size=16).digest()
    kept = ctx.kept_result("near-duplicate", inputs, lambda: json.dumps(search()))
    found = _rows(kept, len(items))
    for j, i, score, count in found if found is not None else search():
        other = items[i]
        more = f" (and {count - 1} more)" if count > 1 else ""
        yield Finding(
            f"stem and key are {score:.0%} similar to item '{other.id}' ({other.location.path}){more}: the bank holds the same question twice",
            "retire one of them, or make them test different things; two copies in one form give the answer away",
            ("stem",),
            item=items[j],
        )
