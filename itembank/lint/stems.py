"""Rules about the stem: negatives, its form, true/false absolutes, readability (HDR 8, 9, 13-17, 28a)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from collections.abc import Iterator

from ..model import AnyItem, ChoiceItem, TrueFalseItem
from .registry import CHOICE, Finding, rule
from .text import last_sentence, prose, sentences, words

if TYPE_CHECKING:
    from .engine import LintContext

_NEGATIVE = re.compile(r"(?<![\w-])(not|except|least|cannot)(?![\w-])", re.I)
_NOT_NEGATIVE = re.compile(r"\bat\s+least\b|\bnot\s+only\b|\bwhether\s+or\s+not\b", re.I)
_EMPHASIS_SPAN = re.compile(r"(\*\*|__)(.+?)\1|(?<!\w)(\*|_)(?!\s)(.+?)(?<!\s)\3(?!\w)")
#: A question that asks learners to pick an option: "Which ...", "What ...", "All of the following ... except".
_SELECTION = re.compile(r"^\W*(?:which|what|who|whom|all|each|every)\b|\bof\s+(?:the\s+following|these|those|the\s+options)\b", re.I)


def _may_be_negative(low: str) -> bool:
    """A cheap necessary condition of _NEGATIVE on the lower-cased text (re.I also reads "ſ" as "s")."""
    return "not" in low or "except" in low or "least" in low or "ſ" in low


@rule("IB504", "negative-stem", "the question is negative (NOT, EXCEPT, LEAST) without emphasis", "HDR 17", types=CHOICE)
def negative_stem(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem):
        return
    if not _may_be_negative(item.stem.lower()) or not _NEGATIVE.search(item.stem):
        return
    sentence = last_sentence(item.stem, emphasis=True)
    if not _NEGATIVE.search(sentence) or not _SELECTION.search(sentence.replace("*", "").replace("_", " ")):
        return  # "Why does the loss not fall?" asks about a negative fact; it is not a negative stem
    spans = [m.span() for m in _EMPHASIS_SPAN.finditer(sentence)]
    ignored = [m.span() for m in _NOT_NEGATIVE.finditer(sentence)]
    for m in _NEGATIVE.finditer(sentence):
        at = m.start()
        if any(a <= at < b for a, b in ignored):
            continue
        word = m.group(1)
        if word.isupper() or any(a <= at < b for a, b in spans):
            continue
        yield Finding(
            f'the question turns on "{word}", unemphasised: learners who miss it answer the opposite question',
            f"ask the question positively, or write the negative as **{word.upper()}** (bold capitals)",
            ("stem",),
        )
        return


_IMPERATIVES = frozenset(
    """select choose identify pick mark tick name find determine indicate match order arrange compute calculate
    give complete fill classify decide estimate evaluate predict state list rank sort circle check""".split()
)
_INTERROGATIVES = frozenset("which what who whom whose when where why how is are does do did can could should would will".split())


def stem_form_problem(stem: str) -> tuple[str, str] | None:
    """(reason, suggestion) when a choice stem is neither a question, an incomplete statement nor a directive."""
    if any(part.rstrip().rstrip("\"'“”‘’()[] ").endswith("?") for part in sentences(prose(stem))):
        return None  # the stem asks its question; a note may follow it ("... variance? Note that ...")
    sentence = last_sentence(stem).strip().strip("\"'“”‘’()[] ")
    if not sentence:
        return "the stem has no words, only code or math", "state the question in words after the code or formula"
    end = sentence[-1]
    if end == "?" or end == ":" or end.isalnum() or sentence.endswith(("…", "...", "_")):
        return None
    first = words(sentence)[:1]
    if end in ".!" and first and first[0] in _IMPERATIVES:
        return None
    if first and first[0] in _INTERROGATIVES and end == ".":
        return "the stem asks a question but ends with a full stop", "end the question with a question mark"
    return (
        "the stem is a statement, neither a question nor an incomplete statement: learners must guess what is asked",
        'end the stem with the question ("Which ...?") or as an incomplete statement the options complete',
    )


@rule("IB511", "stem-form", "the stem is neither a question nor an incomplete statement", "HDR 9, 14, 15", types=CHOICE)
def stem_form(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, ChoiceItem):
        return
    if len(item.options) == 2 and {" ".join(words(prose(o.text))) for o in item.options} <= {"true", "false", "yes", "no"}:
        return  # a true/false item written as choices: the stem is rightly a statement
    found = stem_form_problem(item.stem)
    if found is not None:
        yield Finding(found[0], found[1], ("stem",))


TF_ABSOLUTES = frozenset(
    {"always", "never", "all", "none", "every", "completely", "absolutely", "entirely", "totally", "invariably", "nothing", "nobody"}
)


@rule(
    "IB510",
    "true-false-absolute",
    "a true/false statement uses absolute wording (always, never, all, none)",
    "HDR 28a",
    types=("true_false",),
)
def true_false_absolute(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if not isinstance(item, TrueFalseItem):
        return
    found = [w for w in words(prose(item.stem)) if w in TF_ABSOLUTES]
    if found:
        yield Finding(
            f'the statement says "{found[0]}": absolute statements are nearly always false, so the wording answers the item',
            "state the claim with the qualification it really has, or test the idea with a multiple choice item",
            ("stem",),
        )


def _load_readability() -> None:
    """textstat-rs reads its pronouncing dictionary and hyphenation patterns on first use (~0.06 s)."""
    import textstat_rs

    textstat_rs.flesch_kincaid_grade("Backpropagation computes the gradients of differentiable layers quickly.")


@rule(
    "IB514",
    "readability",
    "the stem reads far above the item's level (Flesch-Kincaid grade)",
    "HDR 8, 13",
    thresholds=("readability_max_grade", "readability_min_words"),
    setup=_load_readability,
)
def readability(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    if item.level is None:
        return
    text = prose(item.stem)
    n = text.count(" ") + 1  # prose() leaves single spaces between words
    if n < ctx.threshold("readability_min_words"):
        return  # a grade formula needs some text to mean anything
    limit = ctx.threshold("readability_max_grade").get(item.level)
    if limit is None:
        return
    import textstat_rs

    grade = textstat_rs.flesch_kincaid_grade(text)
    if grade > limit:
        yield Finding(
            f"the stem reads at grade {grade:.1f} (Flesch-Kincaid, {n} words), above the {limit:g} allowed for level {item.level}",
            "use shorter sentences and plainer words, or set the level the text really needs",
            ("stem",),
        )
