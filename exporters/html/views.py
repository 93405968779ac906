"""What the templates show of an item: its texts rendered (Markup), its parts in page order.

The templates lay these out; they never see the model's Markdown.  The explanation sections follow
the order of the other exports: the rationale, the answer, the solution steps, the final answer, the
quick check, the common mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from itembank.model import (
    AnyItem,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
)

from ..kit.explain import SectionKind, explanation
from ..kit.numbers import key_text, number_text, plural
from ..kit.wording import scrambled, word_limits
from .content import HtmlText
from .keys import matching_ids, ordering_ids, scoring_key

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: The part of the page an item belongs to in the self-study site.
PART = {"flashcard": "flashcards", "essay": "open"}


@dataclass
class Choice:
    id: str
    letter: str
    text: Markup
    correct: bool
    feedback: Markup


@dataclass
class Section:
    """One headed part of the explanation shown after answering."""

    kind: str
    heading: str
    body: Markup = Markup("")
    items: list[Markup] = field(default_factory=list)  # a list (steps, mistakes, accepted answers)
    ordered: bool = False
    titles: list[str] = field(default_factory=list)  # step titles, parallel to items ("" when none)


@dataclass
class ItemView:
    id: str
    dom: str
    type: str
    number: int
    points: float
    points_label: str
    points_text: str
    meta: list[str]
    stem: Markup
    key: dict[str, Any] | None
    choices: list[Choice] = field(default_factory=list)
    multiple: bool = False
    unit: str = ""
    prompts: list[tuple[str, Markup]] = field(default_factory=list)
    targets: list[tuple[str, str]] = field(default_factory=list)
    steps: list[tuple[str, Markup]] = field(default_factory=list)
    blank_feedback: list[tuple[str, int, Markup]] = field(default_factory=list)
    hints: list[Markup] = field(default_factory=list)
    explain: list[Section] = field(default_factory=list)
    rubric: list[tuple[Markup, Markup, str]] = field(default_factory=list)
    sample_answer: Markup = Markup("")
    words: str = ""
    min_words: str = ""
    max_words: str = ""
    template: str = ""
    back: Markup = Markup("")
    level: str = ""


def points_label(points: float) -> str:
    return plural(points, "point")


def dom_id(item: AnyItem) -> str:
    """The id of the item's ``<article>`` (and the prefix of its controls' ids)."""
    return f"q-{item.id}"


def item_view(item: AnyItem, number: int, text: HtmlText) -> ItemView:
    dom = dom_id(item)
    meta = [m for m in (item.difficulty, item.level) if m]
    view = ItemView(
        id=item.id,
        dom=dom,
        type=item.type,
        number=number,
        points=item.points,
        points_label=points_label(item.points) if item.type != "flashcard" else "",
        points_text=number_text(item.points),
        meta=meta,
        stem=text.block(item.stem),
        key=scoring_key(item),
        hints=[text.block(h) for h in item.hints],
        level=item.level or "",
    )
    answer: Section | None = None
    if isinstance(item, ChoiceItem):
        view.multiple = item.type == "multiple_response"
        view.choices = [
            Choice(o.id, LETTERS[i] if i < len(LETTERS) else str(i + 1), text.inline(o.text), o.correct, text.block(o.feedback))
            for i, o in enumerate(item.options)
        ]
    elif isinstance(item, TrueFalseItem):
        view.choices = [
            Choice("true", "", Markup("True"), item.answer, text.block(item.true_feedback)),
            Choice("false", "", Markup("False"), not item.answer, text.block(item.false_feedback)),
        ]
    elif isinstance(item, ShortAnswerItem):
        answer = Section("answer", "Accepted answers" if len(item.answers) > 1 else "Answer",
                         items=[Markup.escape(a) for a in item.answers])
    elif isinstance(item, NumericItem):
        view.unit = item.unit or ""
        low, high = item.bounds
        unit = f" {item.unit}" if item.unit else ""
        if item.range is not None:
            shown = f"Any number from {number_text(low, significant=15)} to {number_text(high, significant=15)}{unit}"
        elif item.tolerance:
            shown = f"{key_text(item, significant=15)}{unit} (± {number_text(item.tolerance, significant=15)})"
        else:
            shown = f"{key_text(item, significant=15)}{unit}"
        answer = Section("answer", "Answer", body=Markup("<p>{}</p>").format(shown))
    elif isinstance(item, MatchingItem):
        prompts, targets = matching_ids(item)
        view.prompts = [(pid, text.inline(p)) for pid, p in prompts]
        view.targets = scrambled(item.id, targets)
        answer = Section("answer", "Matches",
                         items=[Markup("{} → {}").format(text.inline(p.prompt), item.targets[t]) for p, t in zip(item.pairs, item.target_of)])
    elif isinstance(item, OrderingItem):
        view.steps = [(sid, Markup.escape(t)) for sid, t in scrambled(item.id, ordering_ids(item))]
        answer = Section("answer", "Order", items=[Markup.escape(t) for t in item.sequence], ordered=True)
    elif isinstance(item, ClozeItem):
        view.stem, _placed = text.cloze(item, dom)  # blanks no input can take: skipped before (site._deliverable)
        numbers = {b.name: n for n, b in enumerate(item.blanks, 1)}
        view.blank_feedback = [(b.name, numbers[b.name], text.block(b.feedback)) for b in item.blanks if b.feedback]
        answer = Section("answer", "Answers", ordered=True, items=[Markup.escape(_blank_answer(b)) for b in item.blanks])
    elif isinstance(item, EssayItem):
        view.rubric = [(text.inline(c.criterion), text.block(c.description), points_label(c.points)) for c in item.rubric]
        view.sample_answer = text.block(item.sample_answer)
        view.words = word_limits(item.min_words, item.max_words)
        view.min_words = str(item.min_words or "")
        view.max_words = str(item.max_words or "")
        view.template = item.response_template or ""
    elif isinstance(item, FlashcardItem):
        view.back = text.block(item.answer)
    view.explain = explain_sections(item, text, answer)
    return view


def _blank_answer(blank: Any) -> str:
    if blank.kind == "choice":
        return blank.correct or ""
    if blank.kind == "numeric":
        tol = f" (± {number_text(blank.tolerance, significant=15)})" if blank.tolerance else ""
        return f"{number_text(blank.number, significant=15)}{tol}"
    return " or ".join(blank.answers)


#: The explanation's parts shown after answering, in this order, with the page's headings; the key
#: itself ("answer", type-specific) goes right after the rationale.
LABELS: dict[SectionKind, str | None] = {
    "rationale": "Explanation",
    "steps": "Solution",
    "final_answer": "Final answer",
    "quick_check": "Quick check",
    "common_mistakes": "Common mistakes",
}


def explain_sections(item: AnyItem, text: HtmlText, answer: Section | None) -> list[Section]:
    out: list[Section] = []
    for part in explanation(item, LABELS):
        heading = part.label or ""
        if part.kind == "steps":
            out.append(Section("steps", heading, items=[text.block(s.text) for s in part.steps], ordered=True,
                               titles=[s.title or "" for s in part.steps]))
        elif part.items:
            out.append(Section(part.kind.replace("_", "-"), heading, items=[text.block(t) for t in part.items]))
        else:
            out.append(Section(part.kind.replace("_", "-"), heading, body=text.block(part.text)))
    if answer is not None:
        at = 1 if out and out[0].kind == "rationale" else 0
        out.insert(at, answer)
    return out
