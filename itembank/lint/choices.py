"""Rules about the options of multiple choice and multiple response items (HDR 18-28)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING
from collections.abc import Iterator

from ..model import AnyItem, ChoiceItem
from .registry import CHOICE, Finding, rule
from .text import content_words, last_sentence, prose, words

if TYPE_CHECKING:
    from .engine import LintContext

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _label(item: ChoiceItem, i: int) -> str:
    return f"option {item.options[i].id}"


_last_texts: tuple[ChoiceItem | None, list[str]] = (None, [])


def _texts(item: ChoiceItem) -> list[str]:
    """The options as prose (read only: the list is shared).  Eight rules ask in turn for the same
    item's options, so the last item's list is kept."""
    global _last_texts
    if _last_texts[0] is item:
        return _last_texts[1]
    texts = [prose(o.text) for o in item.options]
    _last_texts = (item, texts)
    return texts


def single_key(item: AnyItem) -> tuple[ChoiceItem, int] | None:
    """A multiple choice item and the position of its one key (None for anything else)."""
    if not isinstance(item, ChoiceItem) or item.type != "multiple_choice":
        return None
    keys = [i for i, o in enumerate(item.options) if o.correct]
    return (item, keys[0]) if len(keys) == 1 else None


def key_is_longest(item: ChoiceItem, key: int, texts: list[str] | None = None) -> tuple[int, int] | None:
    """(key length, next longest) when the key is strictly the longest option, else None."""
    texts = texts if texts is not None else _texts(item)
    lengths = [len(t) for t in texts]
    others = [n for i, n in enumerate(lengths) if i != key]
    if not others or lengths[key] <= max(others):
        return None
    return lengths[key], max(others)


@rule(
    "IB501",
    "key-longest",
    "the key is the longest option by a clear margin",
    "HDR 24, 28d",
    thresholds=("key_length_ratio", "key_length_min_chars"),
    types=("multiple_choice",),
)
def key_longest(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    found = single_key(item)
    if found is None:
        return
    choice, key = found
    lengths = key_is_longest(choice, key)
    if lengths is None:
        return
    n, runner_up = lengths
    if n >= ctx.threshold("key_length_ratio") * runner_up and n - runner_up >= ctx.threshold("key_length_min_chars"):
        yield Finding(
            f"the key ({_label(choice, key)}, {n} characters) is much longer than every distractor (the next longest has {runner_up})",
            "make the distractors as specific and as long as the key, or shorten the key: test-wise learners pick the longest option",
            ("options", key, "text"),
        )


_ALL_ABOVE = re.compile(r"\ball\s+(?:of\s+)?(?:the\s+)?(?:above|these|of\s+these|(?:options|answers|choices)\s+above)\b", re.I)
_NONE_ABOVE = re.compile(r"\bnone\s+of\s+(?:the\s+)?(?:above|these|them|(?:other\s+)?(?:options|answers|choices)(?:\s+above)?)\b", re.I)


@rule("IB502", "all-of-the-above", 'an option is "all of the above"', "HDR 26", types=CHOICE)
def all_of_the_above(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem):
        return
    for i, text in enumerate(_texts(item)):
        if "all" in text.lower() and _ALL_ABOVE.search(text):  # the substring test: a cheap necessary condition
            yield Finding(
                f'{_label(item, i)} is "all of the above": recognising two correct options is enough to answer',
                "replace it with a plausible distractor, or make the item multiple_response",
                ("options", i, "text"),
            )


@rule("IB503", "none-of-the-above", 'an option is "none of the above"', "HDR 25", types=CHOICE)
def none_of_the_above(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem):
        return
    for i, text in enumerate(_texts(item)):
        if "none" in text.lower() and _NONE_ABOVE.search(text):  # the substring test: a cheap necessary condition
            yield Finding(
                f'{_label(item, i)} is "none of the above": it shows what a learner does not know, not what they know',
                "replace it with a plausible distractor (if it stays, it must sometimes be the key)",
                ("options", i, "text"),
            )


# --- grammatical cues -------------------------------------------------------------------------

_AN_EXCEPTIONS = ("one", "once", "uni", "use", "usu", "uti", "eu", "ewe", "ufo")
_AN_NEGATED = ("unin", "unim", "unid", "unil")  # un- words: an uninstalled, an unimportant
_AN_SILENT_H = ("hour", "honest", "honor", "honour", "heir")
_SINGULAR = {"a", "an", "one", "each", "every", "this", "that", "another", "either", "neither"}
_PLURAL = {"two", "three", "four", "five", "several", "many", "both", "these", "those", "few", "multiple", "various"}


def _wants_an(word: str) -> bool | None:
    """Whether "an" goes before the word; None when it cannot tell (numbers, symbols, code)."""
    if not word or not word[0].isalpha():
        return None
    if word.isupper() and len(word) <= 5:  # an acronym read letter by letter: an SQL, an HTTP request
        return word[0] in "AEFHILMNORSX"
    low = word.lower()
    if low.startswith(_AN_SILENT_H + _AN_NEGATED):
        return True
    if low.startswith(_AN_EXCEPTIONS):
        return False
    return low[0] in "aeiou"


def _number(text: str) -> str | None:
    first = words(text)[:1]
    if not first:
        return None
    return "singular" if first[0] in _SINGULAR else "plural" if first[0] in _PLURAL else None


@rule(
    "IB505",
    "grammatical-cue",
    "only the key agrees with the stem's article (a/an) or number (is/are)",
    "HDR 28c",
    types=("multiple_choice",),
)
def grammatical_cue(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    found = single_key(item)
    if found is None:
        return
    choice, key = found
    sentence = last_sentence(choice.stem).rstrip(" :…")
    tail = words(sentence)[-1:] if sentence and sentence[-1].isalnum() else []
    if not tail:
        return
    last = tail[0]
    texts = _texts(choice)
    if last in ("a", "an"):
        firsts = [t.split(" ", 1)[0].strip("\"'(*_") for t in texts]
        wants = [_wants_an(w) for w in firsts]
        if wants[key] is None:
            return
        agree = [w is None or w == (last == "an") for w in wants]
        what = f'the stem ends in "{last}"'
    elif last in ("is", "was", "are", "were"):
        want = "singular" if last in ("is", "was") else "plural"
        numbers = [_number(t) for t in texts]
        if numbers[key] is None:
            return
        agree = [n is None or n == want for n in numbers]
        what = f'the stem ends in "{last}" ({want})'
    else:
        return
    if agree[key] and not all(agree):
        bad = ", ".join(_label(choice, i) for i, ok in enumerate(agree) if not ok)
        yield Finding(
            f"{what}: the key fits it but {bad} do{'es' * (sum(1 for a in agree if not a) == 1)} not, which gives the key away",
            'move the article or verb into every option ("a/an", "is/are" in the options), or make every option agree with the stem',
            ("stem",),
        )


@rule(
    "IB506",
    "clang",
    "the key repeats stem words that no distractor has (clang association)",
    "HDR 28b",
    thresholds=("clang_min_words",),
    types=("multiple_choice",),
)
def clang(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    found = single_key(item)
    if found is None:
        return
    choice, key = found
    texts = _texts(choice)
    stem_text = prose(choice.stem).lower()
    # A stemmed word is a prefix of the words it stands for: if it is nowhere in the stem's text, no
    # stem word shares it (this skips the stem's own word set for most items).
    min_words = ctx.threshold("clang_min_words")
    if sum(1 for w in content_words(texts[key]) if w in stem_text) < min_words:
        return
    shared = content_words(texts[key]) & content_words(stem_text)
    if len(shared) < min_words:
        return
    for i, text in enumerate(texts):
        if i != key:
            shared -= content_words(text)
    if len(shared) >= ctx.threshold("clang_min_words"):
        listed = ", ".join(sorted(shared))
        yield Finding(
            f"the key shares words with the stem that no distractor uses ({listed})",
            "reword the key, or use the stem's words in the distractors too, so that matching words does not point at the answer",
            ("options", key, "text"),
        )


ABSOLUTES = frozenset({"always", "never", "all", "none", "every", "completely", "absolutely", "entirely", "totally", "invariably"})


_ABSOLUTE_RE = re.compile(r"\b(?:" + "|".join(sorted(ABSOLUTES)) + r")\b", re.I)
#: Substrings one of which is in the lower-cased text whenever _ABSOLUTE_RE matches ("all" also covers
#: "totally"; "ſ" is the one letter re.I matches as "s" that str.lower() keeps).
_ABSOLUTE_TESTS = ("all", "alway", "never", "none", "every", "complete", "absolute", "entire", "invariabl", "ſ")


def absolutes(text: str) -> list[str]:
    low = text.lower()  # a cheap necessary condition first (re.I also lets "ſ" stand for "s")
    if not any(w in low for w in _ABSOLUTE_TESTS) or not _ABSOLUTE_RE.search(text):
        return []
    found = [w for w in words(text) if w in ABSOLUTES]
    if found and ("all" in found or "none" in found):
        found = [w for w in words(_NONE_ABOVE.sub(" ", _ALL_ABOVE.sub(" ", text))) if w in ABSOLUTES]
    return found


@rule("IB507", "absolute-distractor", "absolute terms (always, never, all, none) appear only in distractors", "HDR 28a", types=CHOICE)
def absolute_distractor(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem) or not any(o.correct for o in item.options):
        return
    texts = _texts(item)
    if any(absolutes(t) for t, o in zip(texts, item.options) if o.correct):
        return
    for i, (text, option) in enumerate(zip(texts, item.options)):
        found = absolutes(text)
        if found and not option.correct:
            yield Finding(
                f'{_label(item, i)}, a distractor, says "{found[0]}" and no key uses an absolute term: learners learn to rule such options out',
                "qualify the distractor, or word a key as strongly, so that absolute words are no cue",
                ("options", i, "text"),
            )
            return


# --- numbers and ranges -----------------------------------------------------------------------

_NUM = r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+−]?\.\d+"
_UNIT = r"(?:\s*(?:%|[A-Za-zµ°/]+(?:\s[A-Za-z]+)?))?"
_PREFIX = r"(?:about\s+|approximately\s+|roughly\s+)?[$€£]?"


def _num(s: str) -> float:
    return float(s.replace(",", "").replace("−", "-"))


_RANGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p + r"\.?$", re.I), kind)
    for p, kind in (
        (rf"^(?:from\s+|between\s+)?{_PREFIX}({_NUM}){_UNIT}\s*(?:-|–|—|to|and)\s*{_PREFIX}({_NUM}){_UNIT}", "closed"),
        (rf"^(?:less\s+than|fewer\s+than|under|below|<)\s*{_PREFIX}({_NUM}){_UNIT}", "lt"),
        (rf"^(?:more\s+than|greater\s+than|over|above|>)\s*{_PREFIX}({_NUM}){_UNIT}", "gt"),
        (rf"^(?:at\s+least|no\s+less\s+than|no\s+fewer\s+than|>=|≥)\s*{_PREFIX}({_NUM}){_UNIT}", "ge"),
        (rf"^{_PREFIX}({_NUM}){_UNIT}\s+or\s+(?:more|greater|above|higher)", "ge"),
        (rf"^(?:at\s+most|no\s+more\s+than|up\s+to|<=|≤)\s*{_PREFIX}({_NUM}){_UNIT}", "le"),
        (rf"^{_PREFIX}({_NUM}){_UNIT}\s+or\s+(?:less|fewer|below|lower)", "le"),
        (rf"^{_PREFIX}({_NUM}){_UNIT}", "point"),
    )
)

Interval = tuple[float, bool, float, bool]  # low, low closed, high, high closed
_LETTERS = re.compile(r"[^\W\d_]{2}")


_RANGE_WORDS = frozenset("less fewer more greater under below over above at no up between from about approximately roughly".split())


def parse_range(text: str) -> Interval | None:
    """The interval an option names (``10-20``, ``less than 5``, ``at least 3 ms``, ``42``), or None."""
    text = text.strip()
    if not text or not (text[0].isdigit() or text[0] in "-+−.$€£<>≤≥" or text.split(" ", 1)[0].lower() in _RANGE_WORDS):
        return None
    for pattern, kind in _RANGE_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        a = _num(m.group(1))
        if kind == "closed":
            b = _num(m.group(2))
            return (min(a, b), True, max(a, b), True)
        return {
            "lt": (-math.inf, False, a, False),
            "gt": (a, False, math.inf, False),
            "ge": (a, True, math.inf, False),
            "le": (-math.inf, False, a, True),
            "point": (a, True, a, True),
        }[kind]
    return None


def _overlap(x: Interval, y: Interval) -> bool:
    low, low_closed = (x[0], x[1]) if x[0] > y[0] else (y[0], y[1]) if y[0] > x[0] else (x[0], x[1] and y[1])
    high, high_closed = (x[2], x[3]) if x[2] < y[2] else (y[2], y[3]) if y[2] < x[2] else (x[2], x[3] and y[3])
    return low < high or (low == high and low_closed and high_closed)


@rule(
    "IB508",
    "overlapping-options",
    "options overlap (numeric ranges that share values, or one option lists another)",
    "HDR 22",
    types=CHOICE,
)
def overlapping_options(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem):
        return
    texts = _texts(item)
    ranges = [parse_range(t) for t in texts]
    if all(r is not None for r in ranges) and any(r[0] != r[2] for r in ranges if r is not None):
        for j in range(len(ranges)):
            for i in range(j):
                a, b = ranges[i], ranges[j]
                assert a is not None and b is not None
                if _overlap(a, b):
                    yield Finding(
                        f"{_label(item, j)} ({texts[j]}) overlaps {_label(item, i)} ({texts[i]}): a value in both makes two options right",
                        "make the ranges disjoint (e.g. 10-19 and 20-29) and cover every possible value once",
                        ("options", j, "text"),
                    )
                    return
        return
    if all(r is not None for r in ranges):
        return  # numbers only: "3" is not contained in "3.5"
    lowered = [" ".join(t.lower().split()).rstrip(".") for t in texts]
    for j, outer in enumerate(lowered):
        for i, inner in enumerate(lowered):
            if i != j and inner != outer and _LETTERS.search(inner) and inner in outer and _conjunct(inner, outer):
                yield Finding(
                    f'{_label(item, j)} includes {_label(item, i)} ("{texts[i]}") as one of its parts: choosing it also chooses the other',
                    "make each option stand on its own, so that choosing one does not imply another",
                    ("options", j, "text"),
                )
                return


def _conjunct(inner: str, outer: str) -> bool:
    """Whether ``inner`` is one member of a list in ``outer`` ("Paris and Rome", "both A and B", "A, B"),
    not merely words inside it ("another wrong answer", "do not increase the rate")."""
    before = r"(?:^|[,;&/]\s*|\b(?:and|or|plus|both|either)\s+)"
    after = r"(?:\s*[,;&/]|\s+(?:and|or|plus|as well as)\b|$)"
    for m in re.finditer(re.escape(inner), outer):
        head, tail = outer[: m.start()], outer[m.end() :]
        if re.search(before + r"$", head) and re.match(after, tail) and (head.strip() or tail.strip()):
            return True
    return False


@rule(
    "IB509",
    "option-count",
    "fewer than 3 options, or a multiple choice item with more than 5",
    "HDR 18",
    thresholds=("min_options", "max_options"),
    types=CHOICE,
)
def option_count(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem):
        return
    n = len(item.options)
    low, high = ctx.threshold("min_options"), ctx.threshold("max_options")
    if n < low:
        binary = {" ".join(words(prose(o.text))) for o in item.options} <= {"true", "false", "yes", "no"}
        yield Finding(
            f"{n} option{'s' * (n != 1)}: with fewer than {low}, guessing pays too well",
            "write it as a true_false item (platforms score and report those as such)"
            if binary
            else f"add plausible distractors (common mistakes make good ones) up to {low}-{high} options",
            ("options",),
        )
    elif n > high and item.type == "multiple_choice":  # "select all that apply" lists are longer by nature
        yield Finding(
            f"{n} options: more than {high} rarely adds plausible distractors and lengthens reading",
            f"keep the {high} most plausible options (three good ones are enough)",
            ("options",),
        )


@rule("IB513", "option-order", "numeric options are not in numeric order although they are not shuffled", "HDR 21", types=CHOICE)
def option_order(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem) or item.shuffle or len(item.options) < 3:
        return
    ranges = [parse_range(t) for t in _texts(item)]
    if any(r is None for r in ranges):
        return
    values = [r[0] if r[0] != -math.inf else r[2] for r in ranges if r is not None]
    if values != sorted(values) and values != sorted(values, reverse=True):
        yield Finding(
            f"the numeric options are in no order ({', '.join(f'{v:g}' for v in values)}) and `shuffle: false` keeps it",
            "list numeric options in increasing (or decreasing) order",
            ("options",),
        )
