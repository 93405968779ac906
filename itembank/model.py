"""The typed, normalized item model every exporter reads.

The model holds the author's text (Markdown) and facts only, never output markup: each exporter
renders and escapes for its own format.  Items are immutable; defaults are filled in by the loader,
so exporters never need to know the file format's defaults.
"""

from __future__ import annotations

import html as _html
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union, get_args

if TYPE_CHECKING:
    from .assessments import Selection

ItemType = Literal[
    "multiple_choice",
    "multiple_response",
    "true_false",
    "short_answer",
    "numeric",
    "essay",
    "matching",
    "ordering",
    "cloze",
    "flashcard",
    "calculated",
]
ITEM_TYPES: tuple[ItemType, ...] = get_args(ItemType)
BlankKind = Literal["text", "choice", "numeric"]
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
STATUSES: tuple[str, ...] = ("draft", "review", "approved", "retired")
BLOOM: tuple[str, ...] = ("remember", "understand", "apply", "analyze", "evaluate", "create")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where an item was read from: the file (relative to the bank root) and its first line."""

    path: str
    line: int = 1
    index: int | None = None  # position in an ``items:`` list, None for a one-item file


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    text: str
    correct: bool = False
    feedback: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    text: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Solution:
    steps: tuple[Step, ...] = ()
    final_answer: str | None = None
    quick_check: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    decision: str
    reviewer: str | None = None
    comment: str | None = None
    date: str | None = None
    suggested_difficulty: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One item analysis record (``itembank analyze --write``): figures from a delivered quiz."""

    date: str
    source: str
    n: int
    facility: float | None = None
    sd: float | None = None
    discrimination: float | None = None
    discriminative_efficiency: float | None = None
    options: tuple[tuple[str, float], ...] = ()  # (option id, share of attempts choosing it)
    groups: tuple[tuple[str, tuple[float, float, float]], ...] = ()  # (option id, (low, middle, high) group shares)
    flags: tuple[str, ...] = ()
    suggested_difficulty: str | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """A lint finding the author accepts on purpose: the rule code and why (``lint: {ignore: [...]}``)."""

    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class Criterion:
    criterion: str
    points: float
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Pair:
    prompt: str
    match: str


@dataclass(frozen=True, slots=True)
class Blank:
    """One cloze blank.  ``kind`` says which of the three shapes it has."""

    name: str
    kind: BlankKind
    answers: tuple[str, ...] = ()
    case_sensitive: bool = False
    choices: tuple[str, ...] = ()
    correct: str | None = None
    number: float | None = None
    tolerance: float = 0.0
    points: float = 1.0
    feedback: str | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """A numeric blank's accepted closed interval, ``number ± tolerance`` computed in decimal."""
        assert self.number is not None
        return interval(self.number, self.tolerance)


def as_written(value: float) -> Decimal:
    """A number as the author wrote it: the shortest decimal that reads back as the same float."""
    return Decimal(repr(float(value)))


def interval(value: float, tolerance: float) -> tuple[float, float]:
    """``value ± tolerance`` computed in decimal, each bound the float nearest the exact result.

    Binary floats would give 1.96 + 0.005 = 1.9649999999999999, which a platform compares against
    a typed 1.965 and refuses; the nearest float to the exact 1.965 prints as ``1.965``.
    """
    v, t = as_written(value), as_written(tolerance)
    return float(v - t), float(v + t)


@dataclass(frozen=True, slots=True, kw_only=True, weakref_slot=True)  # weakref: itembank.fragments keeps digests
class Item:
    """Fields every item type has."""

    id: str
    type: ItemType
    stem: str
    location: SourceRef
    title: str | None = None
    difficulty: str | None = None
    level: str | None = None
    topic: str | None = None
    tags: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    bloom: str | None = None
    points: float = 1.0
    status: str = "draft"
    author: str | None = None
    source: str | None = None  # where the content comes from (a page, a book)
    rationale: str | None = None
    hints: tuple[str, ...] = ()
    solution: Solution | None = None
    common_mistakes: tuple[str, ...] = ()
    reviews: tuple[Review, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    lint_ignore: tuple[Suppression, ...] = ()  # ``lint: {ignore: [{code, reason}]}``

    @property
    def name(self) -> str:
        """The title if there is one, else the id: what exports show as the question's name."""
        return self.title or self.id

    @property
    def gradable(self) -> bool:
        """Whether a machine can score the item (essays and flashcards it cannot)."""
        return self.type not in ("essay", "flashcard")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceItem(Item):
    """multiple_choice (exactly one key) and multiple_response (one or more keys)."""

    options: tuple[Option, ...]
    shuffle: bool = True
    scoring: Literal["partial", "all_or_nothing"] = "partial"

    @property
    def keys(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.correct)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrueFalseItem(Item):
    answer: bool
    true_feedback: str | None = None
    false_feedback: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortAnswerItem(Item):
    answers: tuple[str, ...]
    case_sensitive: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NumericItem(Item):
    """A numeric answer: ``answer ± tolerance``, or the closed interval ``[low, high]``."""

    answer: float | None = None
    tolerance: float = 0.0
    range: tuple[float, float] | None = None
    unit: str | None = None
    #: Decimal places the key is shown with (a calculated item's variant: its ``answer_decimals``, or
    #: more where the tolerance needs them); None: the answer as written.
    shown_decimals: int | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted closed interval, whichever way the author wrote it."""
        if self.range is not None:
            return self.range
        assert self.answer is not None
        return interval(self.answer, self.tolerance)

    @property
    def centre(self) -> float:
        """The value to show as the key: the answer, or the middle of the range (in decimal)."""
        if self.answer is not None:
            return self.answer
        low, high = self.bounds
        return float((as_written(low) + as_written(high)) / 2)

    @property
    def half_width(self) -> float:
        """The tolerance around :attr:`centre` that gives :attr:`bounds` (in decimal)."""
        if self.answer is not None:
            return self.tolerance
        low, high = self.bounds
        centre = as_written(self.centre)
        return float(max(centre - as_written(low), as_written(high) - centre))


@dataclass(frozen=True, slots=True, kw_only=True)
class EssayItem(Item):
    rubric: tuple[Criterion, ...] = ()
    sample_answer: str | None = None
    min_words: int | None = None
    max_words: int | None = None
    response_template: str | None = None


def shown_alike(text: str) -> str:
    """A text as learners tell it apart from another: runs of white space are one space (Markdown
    shows them so), letter case counts ("Yes" and "yes" are two answers).  Duplicate options,
    choices, prompts, matches and steps are found by it (IB217, itembank.rules), and by the
    importers; matches shown alike are one target (MatchingItem.targets)."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchingItem(Item):
    pairs: tuple[Pair, ...]
    distractors: tuple[str, ...] = ()
    shuffle: bool = True

    @property
    def targets(self) -> tuple[str, ...]:
        """The distinct matches, in the order first met, each as written the first time.

        Pairs may share a match (cat → mammal, dog → mammal, frog → amphibian): every export
        offers each distinct match once, as a target that several prompts take; matches shown
        alike (:func:`shown_alike`) are one target.  Distractors come after these."""
        seen: dict[str, str] = {}
        for p in self.pairs:
            seen.setdefault(shown_alike(p.match), p.match)
        return tuple(seen.values())

    @property
    def target_of(self) -> tuple[int, ...]:
        """For each pair, the index of its match in :attr:`targets`."""
        index: dict[str, int] = {}
        for p in self.pairs:
            index.setdefault(shown_alike(p.match), len(index))
        return tuple(index[shown_alike(p.match)] for p in self.pairs)

    @property
    def shares_matches(self) -> bool:
        """Whether two pairs share a match (fewer targets than prompts)."""
        return len(self.targets) < len(self.pairs)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderingItem(Item):
    sequence: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClozeItem(Item):
    blanks: tuple[Blank, ...]

    def blank(self, name: str) -> Blank:
        for b in self.blanks:
            if b.name == name:
                return b
        raise KeyError(name)


# --- cloze placeholders: the one reading of ``{{name}}`` in a stem, for rules and every exporter --

#: A blank's place in a cloze stem: ``{{name}}`` (spaces inside the braces allowed).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]{0,31})\s*\}\}")


def placeholder_names(text: str) -> list[str]:
    """The blank names of ``text``'s placeholders, in order, repeats kept."""
    return [m.group(1) for m in PLACEHOLDER.finditer(text)]


def has_placeholder(text: str) -> bool:
    return PLACEHOLDER.search(text) is not None


def replace_placeholders(text: str, replace: Callable[[str], str]) -> str:
    """``text`` with each placeholder replaced by ``replace(name)``."""
    return PLACEHOLDER.sub(lambda m: replace(m.group(1)), text)


def split_at_placeholders(text: str) -> list[str]:
    """``[text, name, text, name, ..., text]``: the text between placeholders and their names."""
    return PLACEHOLDER.split(text)


#: Where the marks of :class:`OpaqueStem` are taken from: Unicode's private use areas (Markdown reads
#: their characters as letters of no script: no syntax, no entity, no case).
_PRIVATE = (range(0xE000, 0xF900), range(0xF0000, 0xFFFFE), range(0x100000, 0x10FFFE))


@dataclass(frozen=True, slots=True)
class OpaqueStem:
    """A cloze stem whose placeholders Markdown cannot touch, for an exporter that renders it.

    A blank's name may hold underscores (``{{_a_}}``, ``{{_x}} ... {{y_}}``, ``{{a_b_c}}``), which
    Markdown reads as emphasis: rendered as written, a placeholder can lose its underscores to an
    ``<em>`` or be cut in two by one, and no format then finds it.  :attr:`text` is the stem with each
    placeholder replaced by a token ``{<open>N<close>}``: the braces keep what Markdown makes of the
    characters on either side (a placeholder starts and ends with a brace too), and ``open`` and
    ``close`` are two private-use characters that neither the stem nor a character reference in it
    holds, so a token in the rendered text is always one of ours.  An exporter renders :attr:`text`,
    puts its answer field where :meth:`split` finds a token, and gives a token in code back as the
    placeholder as written (:meth:`restore`).
    """

    text: str
    names: tuple[str, ...]  # the blank of each token, by its number
    written: tuple[str, ...]  # each placeholder as written (``{{ name }}``)
    pattern: re.Pattern[str]  # a token; group 1: its number

    def split(self, text: str) -> list[str]:
        """``[text, name, text, name, ..., text]``: rendered ``text`` cut at its tokens."""
        pieces = self.pattern.split(text)
        for i in range(1, len(pieces), 2):
            pieces[i] = self.names[int(pieces[i])]
        return pieces

    def has_token(self, text: str) -> bool:
        return self.pattern.search(text) is not None

    def replace(self, text: str, replace: Callable[[str], str]) -> str:
        """Rendered ``text`` with each token replaced by ``replace(name)``."""
        return self.pattern.sub(lambda m: replace(self.names[int(m.group(1))]), text)

    def restore(self, text: str) -> str:
        """``text`` with each token given back as the placeholder as written (a token in code: code)."""
        return self.pattern.sub(lambda m: self.written[int(m.group(1))], text)


def opaque_placeholders(text: str, after: Callable[[str], str] | None = None) -> OpaqueStem:
    """``text`` with its placeholders as tokens Markdown cannot touch (:class:`OpaqueStem`);
    ``after(name)``, when given, is Markdown put right after each token (a list of choices...)."""
    seen = set(text)
    if "&" in text:
        seen |= set(_html.unescape(text))
    if after is not None:
        seen |= {c for m in PLACEHOLDER.finditer(text) for c in after(m.group(1))}
    marks = [chr(c) for c in itertools.islice((c for r in _PRIVATE for c in r if chr(c) not in seen), 2)]
    if len(marks) < 2:
        raise ValueError("the text holds every private-use character: no mark is left to keep its cloze placeholders apart")
    open_, close = marks
    names: list[str] = []
    written: list[str] = []

    def token(m: re.Match[str]) -> str:
        names.append(m.group(1))
        written.append(m.group(0))
        return "{" + open_ + str(len(names) - 1) + close + "}" + (after(m.group(1)) if after is not None else "")

    opaque = PLACEHOLDER.sub(token, text)
    pattern = re.compile("\\{" + re.escape(open_) + "(\\d+)" + re.escape(close) + "\\}")
    return OpaqueStem(opaque, tuple(names), tuple(written), pattern)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlashcardItem(Item):
    answer: str


@dataclass(frozen=True, slots=True)
class Variable:
    """One input variable of a calculated item: a range (with ``step`` or ``decimals``) or a list of values."""

    name: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    decimals: int | None = None
    values: tuple[float, ...] = ()

    @property
    def low(self) -> float:
        return min(self.values) if self.values else float(self.min)  # type: ignore[arg-type]

    @property
    def high(self) -> float:
        return max(self.values) if self.values else float(self.max)  # type: ignore[arg-type]

    @property
    def places(self) -> int:
        """Decimal places of the values it takes (Moodle's dataset ``decimals``, Canvas's ``scale``)."""
        if self.decimals is not None:
            return self.decimals
        numbers = self.values or (self.min, self.step)
        return max(_places(float(n)) for n in numbers if n is not None)


def _places(x: float) -> int:
    """Decimal places of ``x`` as written (its shortest repr, read as a decimal): 0.25 -> 2, 1e-12 -> 12, 1e20 -> 0."""
    exponent = Decimal(repr(x)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CalculatedItem(Item):
    """A parameterised numeric item: variables, derived variables and an answer formula (see
    :mod:`itembank.variants` for drawing concrete variants, :mod:`itembank.formulas` for formulas)."""

    variables: tuple[Variable, ...]
    derived: tuple[tuple[str, str], ...] = ()  # (name, formula) in evaluation order
    formula: str
    tolerance: float = 0.0
    tolerance_type: Literal["absolute", "relative"] = "absolute"
    unit: str | None = None
    answer_decimals: int = 2
    answer_range: tuple[float, float] | None = None


AnyItem = Union[
    ChoiceItem,
    TrueFalseItem,
    ShortAnswerItem,
    NumericItem,
    EssayItem,
    MatchingItem,
    OrderingItem,
    ClozeItem,
    FlashcardItem,
    CalculatedItem,
]


@dataclass(frozen=True, slots=True)
class LintSettings:
    """The ``lint:`` section of ``itembank.yaml``: which rules run, bank-wide suppressions, thresholds."""

    select: tuple[str, ...] = ()  # rule codes or prefixes to run (empty: every rule)
    ignore: tuple[Suppression, ...] = ()  # rules turned off for the whole bank, each with its reason
    thresholds: tuple[tuple[str, object], ...] = ()  # (name, value) pairs overriding the defaults


def markdown_texts(item: AnyItem) -> Iterator[str]:
    """Every Markdown field of an item: where an image can be referenced (the Markdown export copies
    them), and what the QTI export parses in one go (BodyWriter.parse_ahead)."""
    yield item.stem
    yield from (t for t in (item.rationale,) if t)
    yield from item.hints
    yield from item.common_mistakes
    if item.solution is not None:
        yield from (s.text for s in item.solution.steps)
        yield from (t for t in (item.solution.final_answer, item.solution.quick_check) if t)
    if isinstance(item, ChoiceItem):
        for o in item.options:
            yield o.text
            if o.feedback:
                yield o.feedback
    elif isinstance(item, TrueFalseItem):
        yield from (t for t in (item.true_feedback, item.false_feedback) if t)
    elif isinstance(item, EssayItem):
        for c in item.rubric:
            yield c.criterion
            if c.description:
                yield c.description
        if item.sample_answer:
            yield item.sample_answer
    elif isinstance(item, MatchingItem):
        yield from (p.prompt for p in item.pairs)
    elif isinstance(item, ClozeItem):
        yield from (b.feedback for b in item.blanks if b.feedback)
    elif isinstance(item, FlashcardItem):
        yield item.answer


@dataclass(frozen=True, slots=True)
class BankConfig:
    """The bank's own settings, from ``itembank.yaml`` at the bank root (all optional)."""

    title: str = "Item bank"
    require_distractor_feedback: bool = True
    require_rationale: bool = False
    lint: LintSettings = LintSettings()


@dataclass(frozen=True, slots=True)
class Section:
    """One section of an assessment form.

    ``item_ids`` are in delivery order.  ``pick`` is None when every listed item is delivered; a number
    when the platform draws that many at random from ``item_ids`` at delivery time (a Canvas question
    group, a QTI ``selection``) instead of at build time.
    """

    title: str
    item_ids: tuple[str, ...]
    pick: int | None = None
    shuffle: bool = False
    instructions: str | None = None  # Markdown shown under the section's title (print, platforms)


@dataclass(frozen=True, slots=True)
class Form:
    """One printed/delivered version (A, B, ...) of an assessment, fully resolved at build time."""

    assessment: str  # the assessment's file stem, e.g. "pattern-check"
    title: str
    form: str  # "A", "B", ...
    sections: tuple[Section, ...]
    instructions: str | None = None
    seed: int = 0

    @property
    def name(self) -> str:
        """File-name stem for this form, e.g. ``pattern-check-A``."""
        return f"{self.assessment}-{self.form}"

    @property
    def quiz_title(self) -> str:
        """The form's title as every export shows it (paper, QTI test, Canvas quiz): ``Title (form A)``."""
        return f"{self.title} (form {self.form})"


@dataclass(frozen=True)
class Bank:
    """A loaded bank: its root folder, settings and items in a stable order (file, then position).

    When ``form`` is set, the bank is an assessment form's selection: ``items`` holds exactly the
    selected items in delivery order (points overrides and option orders already applied), and
    exporters that know sections or pools read ``form.sections``; the others just export ``items``.
    """

    root: Path
    config: BankConfig
    items: tuple[AnyItem, ...]
    by_id: dict[str, AnyItem] = field(default_factory=dict, compare=False, repr=False)
    form: Form | None = None
    #: The bank's assessments (``assessments/NAME.yaml``) as validation resolved them against the
    #: items, by name: exports build forms from these and never read the bank folder again.
    assessments: Mapping[str, Selection] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id.update((i.id, i) for i in self.items)

    @property
    def title(self) -> str:
        return self.config.title

    def topics(self) -> list[str]:
        """Topics in first-seen order; items without one fall under ``General``."""
        seen: dict[str, None] = {}
        for item in self.items:
            seen.setdefault(item.topic or "General", None)
        return list(seen)

    def media_path(self, ref: str) -> Path:
        """The file an image reference (relative to the bank root) points at."""
        return self.root / ref
