"""``markdown``: a printable student paper, its answer key and the flashcards, as CommonMark/GFM.

``itembank export markdown -o dist/print/`` writes a folder:

* ``NAME.md`` — the student paper: title, instructions, questions numbered across sections, options
  as A–D, blank answer lines, matching as a table, cloze with numbered blanks, points; no answers.
* ``NAME-key.md`` — the answer key: every answer with its rationale, every option's explanation,
  solution steps, final answer, quick check, hints, common mistakes and essay rubrics.
* ``flashcards.md`` — the flashcards as front/back pairs.
* ``media/…`` — every image the files refer to, at the same relative path as in the bank, so that
  the references resolve from the output folder.

``NAME`` is the assessment form's name (``pattern-check-A``) or ``bank`` for the whole bank.  Item
text is authored Markdown and is passed through (indented into its list item); plain-text fields
(matches, distractors, ordering steps, cloze choices, accepted answers) are escaped.  Page breaks
between paper sections are raw ``latex`` and ``html`` blocks that pandoc honours (``docs/print.md``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from urllib.parse import unquote

from itembank.formats import DELIVERY_STATUSES, ExportContext, ExportResult
from itembank.fragments import Fragments, from_json_piece, strings_piece
from itembank.model import (
    AnyItem,
    Bank,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    FlashcardItem,
    Item,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
    markdown_texts,
    PLACEHOLDER,
)
from itembank.render import Renderer, local_image

from .kit.variants import concrete_bank

from .kit.explain import SectionKind, explanation
from .kit.numbers import key_text, number_text, plural
from .kit.wording import word_limits

#: Raw blocks: pandoc passes each one to its own output format only (LaTeX/PDF or HTML); GitHub
#: shows them as two small code blocks.
PAGE_BREAK = '```{=latex}\n\\newpage\n```\n\n```{=html}\n<div style="page-break-after: always;"></div>\n```'
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Escaped underscores: a visible writing line that can never become a thematic break or emphasis.
SHORT_LINE = "\\_" * 12
ANSWER_LINE = "\\_" * 30
BLANK_LINE = "\\_" * 16
WRITING_LINE = "\\_" * 50
# Characters with a meaning in CommonMark, GFM or pandoc Markdown inline text; escaping any ASCII
# punctuation with a backslash is always allowed, so escaping too much is harmless.
_PLAIN_SPECIALS = re.compile(r"([\\`*_\[\]<>|$&~^#])")
_BLOCK_START = re.compile(r"^\s*(```|~~~|\$\$|#|>|[-+*]\s|\d+[.)]\s|\||    )")


# --- small text helpers -------------------------------------------------------------------------


def plain(text: str) -> str:
    """Plain text (not Markdown) made safe for inline Markdown: specials escaped, one line."""
    return _PLAIN_SPECIALS.sub(r"\\\1", " ".join(text.split()))


_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")


def plain_line(text: str) -> str:
    """One line of plain text (itembank.fields: ``plain_lines``) made literal Markdown: specials
    escaped, a list marker or setext underline at its start escaped, its indentation kept as
    no-break spaces (four spaces would start a code block)."""
    body = text.lstrip(" \t")
    pad = "\u00a0" * (len(text) - len(body))
    escaped = _PLAIN_SPECIALS.sub(r"\\\1", body.rstrip())
    m = _LINE_START.match(escaped)
    if m:
        escaped = escaped[: m.end()] + "\\" + escaped[m.end() :] if m.group().isdigit() else "\\" + escaped
    return pad + escaped


def cell(markdown: str) -> str:
    """Authored inline Markdown made safe for a GFM/pandoc pipe-table cell: one line, ``|`` escaped."""
    return " ".join(markdown.split()).replace("|", "\\|")


def indent(text: str, width: int) -> str:
    """Indent every non-blank line (continuation of a list item); blank lines stay empty."""
    pad = " " * width
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def blocks(*parts: str | None) -> str:
    """Join Markdown blocks with one blank line, dropping empty ones."""
    return "\n\n".join(p.strip("\n") for p in parts if p and p.strip())


def labelled(label: str, text: str) -> str:
    """``label text`` on one line when the text starts as a paragraph, else the label above it."""
    text = text.strip("\n")
    if _BLOCK_START.match(text):
        return blocks(label, text)
    return f"{label} {text}"


def bullet(text: str, marker: str = "-") -> str:
    """One list item holding possibly multi-block Markdown."""
    width = len(marker) + 1
    first, _, rest = text.partition("\n")
    return f"{marker} {first}" + (("\n" + indent(rest, width)) if rest else "")


def bullets(texts: Iterable[str]) -> str:
    out = [bullet(t) for t in texts]
    # A loose list when an entry spans several blocks, so its parts stay inside the entry.
    sep = "\n\n" if any("\n\n" in t for t in out) else "\n"
    return sep.join(out)


def numbered(entries: Iterable[tuple[int, str]]) -> str:
    """An ordered list whose markers are the given numbers (the first one is the list's start)."""
    return "\n\n".join(bullet(text, f"{n}.") for n, text in entries)


def letter(k: int) -> str:
    """A, B, ... Z, then AA, AB, ... for the rare list longer than the alphabet."""
    return LETTERS[k] if k < len(LETTERS) else letter(k // len(LETTERS) - 1) + LETTERS[k % len(LETTERS)]


def seeded(item_id: str, what: str, values: list[str]) -> list[str]:
    """A seeded scramble of values that never leaves them in their given (correct) order."""
    out = list(values)
    if len(set(values)) < 2:
        return out
    rng = random.Random(f"print:{what}:{item_id}")
    for _ in range(20):
        rng.shuffle(out)
        if out != values:
            return out
    return out[1:] + out[:1]


# --- what goes on paper ---------------------------------------------------------------------------


@dataclass
class PrintSection:
    title: str
    instructions: str | None
    items: list[AnyItem]


@dataclass
class Layout:
    name: str  # file stem: the form's name, or "bank"
    title: str
    instructions: str | None
    sections: list[PrintSection]
    cards: list[FlashcardItem]
    not_drawn: list[tuple[AnyItem, str]]  # pool items a printed form leaves out, and why
    notes: list[str]


def layout(bank: Bank) -> Layout:
    """Sections and questions as printed: a form's sections, or the whole bank by topic.

    Flashcards go to ``flashcards.md`` only.  A delivery-time pool (``Section.pick``) cannot draw per
    learner on paper, so the printed form shows a draw seeded by the form (documented).
    """
    cards = [i for i in bank.items if isinstance(i, FlashcardItem)]
    questions = {i.id: i for i in bank.items if not isinstance(i, FlashcardItem)}
    form = bank.form
    sections: list[PrintSection] = []
    if form is None:
        sections = [
            PrintSection(topic, None, [i for i in questions.values() if (i.topic or "General") == topic])
            for topic in bank.topics()
        ]
        return Layout("bank", bank.title, None, [s for s in sections if s.items], cards, [], [])
    not_drawn: list[tuple[AnyItem, str]] = []
    notes: list[str] = []
    for index, section in enumerate(form.sections):
        ids = [i for i in section.item_ids if i in questions]
        if section.pick is not None and section.pick < len(ids):
            drawn = set(random.Random(f"{form.seed}:{form.form}:{index}:print").sample(ids, section.pick))
            reason = f"pool '{section.title}' draws {section.pick} of {len(ids)} at delivery; not in this printed form's seeded draw"
            not_drawn += [(questions[i], reason) for i in ids if i not in drawn]
            notes.append(f"section '{section.title}' is a delivery-time pool: the paper prints a seeded draw of {section.pick} of {len(ids)}")
            ids = [i for i in ids if i in drawn]
        if ids:
            sections.append(PrintSection(section.title, section.instructions, [questions[i] for i in ids]))
    title = form.quiz_title
    return Layout(form.name, title, form.instructions, sections, cards, not_drawn, notes)


def numbering(lay: Layout) -> Iterator[tuple[PrintSection, list[tuple[int, AnyItem]]]]:
    """Questions numbered 1..N across sections, the same numbers on paper and in the key."""
    n = 0
    for section in lay.sections:
        entries = []
        for item in section.items:
            n += 1
            entries.append((n, item))
        yield section, entries


# --- the student paper ----------------------------------------------------------------------------


def options_list(item: ChoiceItem) -> str:
    return bullets(labelled(f"**{letter(k)}.**", o.text) for k, o in enumerate(item.options))


def matches_column(item: MatchingItem) -> list[str]:
    """The right-hand column as printed: the distinct matches (a shared one once) and distractors,
    seeded, never in answer order."""
    return seeded(item.id, "matches", list(item.targets) + list(item.distractors))


def steps_column(item: OrderingItem) -> list[str]:
    return seeded(item.id, "order", list(item.sequence))


def matching_table(item: MatchingItem) -> str:
    right = matches_column(item)
    rows = ["| Item | Your answer | Options |", "|---|:---:|---|"]
    for k in range(max(len(item.pairs), len(right))):
        left = f"{k + 1}. {cell(item.pairs[k].prompt)}" if k < len(item.pairs) else ""
        blank = SHORT_LINE if k < len(item.pairs) else ""
        option = f"**{letter(k)}.** {plain(right[k])}" if k < len(right) else ""
        rows.append(f"| {left} | {blank} | {option} |")
    return "\n".join(rows)


def cloze_stem(item: ClozeItem) -> str:
    """The stem with each blank as its number and a line: ``(1)&nbsp;\\_\\_...``, with no emphasis of its
    own (``**{{b}}**`` printed ``****(1)** ...**``: nested delimiters Markdown cannot pair), and a
    no-break space after the line where a word character follows (``{{b}}s``: the line's underscores
    took the letter into their word)."""
    numbers = {b.name: k + 1 for k, b in enumerate(item.blanks)}

    def blank(m: re.Match[str]) -> str:
        glued = _WORD_START.match(m.string, m.end()) is not None
        return f"({numbers[m.group(1)]})&nbsp;{BLANK_LINE}" + ("&nbsp;" if glued else "")

    return PLACEHOLDER.sub(blank, item.stem)


#: A word character (as ``\w`` reads one): glued to a blank's line, it would join the line's word.
_WORD_START = re.compile(r"\w")


def paper_body(item: AnyItem) -> str:
    """The question as printed, without its number and points."""
    if isinstance(item, ChoiceItem):
        how = "*Choose one answer.*" if item.type == "multiple_choice" else "*Select all that apply.*"
        if how[1:-2].casefold() in item.stem.casefold():
            how = ""  # the stem already says so
        return blocks(item.stem, how, options_list(item))
    if isinstance(item, TrueFalseItem):
        return blocks(item.stem, "*True or false? Choose one.*", bullets(["**A.** True", "**B.** False"]))
    if isinstance(item, ShortAnswerItem):
        return blocks(item.stem, f"Answer: {ANSWER_LINE}")
    if isinstance(item, NumericItem):
        unit = f" {plain(item.unit)}" if item.unit else ""
        return blocks(item.stem, f"Answer: {ANSWER_LINE}{unit}")
    if isinstance(item, EssayItem):
        return blocks(item.stem, essay_limits(item), essay_template(item), *essay_lines(item))
    if isinstance(item, MatchingItem):
        extra = " An option may match more than one item." if item.shares_matches else ""
        extra += " Some options match nothing." if item.distractors else ""
        return blocks(item.stem, f"*Write the letter of the matching option next to each item.{extra}*", matching_table(item))
    if isinstance(item, OrderingItem):
        steps = [f"{SHORT_LINE} **{letter(k)}.** {plain(s)}" for k, s in enumerate(steps_column(item))]
        return blocks(item.stem, "*Number the steps in the right order (1 = first).*", bullets(steps))
    if isinstance(item, ClozeItem):
        choices = [f"**({k + 1})** {' / '.join(plain(c) for c in sorted(b.choices, key=str.casefold))}" for k, b in enumerate(item.blanks) if b.kind == "choice"]
        listed = blocks("*Choose from:*", bullets(choices)) if choices else None
        return blocks(cloze_stem(item), "*Fill in each numbered blank.*", listed)
    return item.stem  # pragma: no cover - flashcards are not printed as questions


def essay_limits(item: EssayItem) -> str | None:
    limits = word_limits(item.min_words, item.max_words)
    return f"*{limits}*" if limits else None


def essay_template(item: EssayItem) -> str | None:
    if not item.response_template:
        return None
    lines = item.response_template.strip("\n").splitlines()
    return "*Start from:*\n\n" + "\n".join(f"> {plain_line(line)}" if line.strip() else ">" for line in lines)


def essay_lines(item: EssayItem) -> list[str]:
    """Writing lines: about 12 words a line for the word limit, between 4 and 20 lines."""
    count = min(20, max(4, (item.max_words or 96) // 12))
    return [WRITING_LINE] * count


def question(n: int, item: AnyItem, body: str) -> str:
    """An ordered-list entry numbered ``n``: the points, then the body indented into the entry."""
    return bullet(blocks(f"*({plural(item.points, 'point')})*", body), f"{n}.")


def paper_entry(n: int, item: AnyItem) -> str:
    """Question ``n`` of the student paper."""
    return question(n, item, paper_body(item))


def paper(lay: Layout, entries: dict[int, PrintEntry] | None = None) -> str:
    """The student paper (``entries``: each question's paper and key entries by number, when made beforehand)."""
    total = sum(len(s.items) for s in lay.sections)
    score = sum(i.points for s in lay.sections for i in s.items)
    head = blocks(
        f"# {plain(lay.title)}",
        f"**Name:** {ANSWER_LINE} **Date:** {SHORT_LINE}",
        lay.instructions,
        f"*{total} question{'s' * (total != 1)}, {plural(score, 'point')} in total.*",
    )
    parts = [head]
    for k, (section, numbered_items) in enumerate(numbering(lay)):
        if k:
            parts.append(PAGE_BREAK)
        listed = "\n\n".join(paper_entry(n, item) if entries is None else entries[n][0] for n, item in numbered_items)
        parts.append(blocks(f"## {plain(section.title)}", section.instructions, listed))
    return blocks(*parts) + "\n"


# --- the answer key --------------------------------------------------------------------------------


def key_answer(item: AnyItem) -> str:
    """The correct answer, with the explanations tied to it (option and blank feedback)."""
    if isinstance(item, ChoiceItem):
        keys = [f"**{letter(k)}**" for k, o in enumerate(item.options) if o.correct]
        explained = []
        for k, o in enumerate(item.options):
            verdict = "correct" if o.correct else "wrong"
            entry = labelled(f"**{letter(k)}.** *({verdict})*", o.text)
            explained.append(blocks(entry, o.feedback))
        return blocks(f"**Answer:** {', '.join(keys)}", "**Options:**", bullets(explained))
    if isinstance(item, TrueFalseItem):
        feedback = [blocks(f"If answered **{label}**:", text) for label, text in (("True", item.true_feedback), ("False", item.false_feedback)) if text]
        return blocks(f"**Answer:** {'True' if item.answer else 'False'}", bullets(feedback) if feedback else None)
    if isinstance(item, ShortAnswerItem):
        case = "case-sensitive" if item.case_sensitive else "not case-sensitive"
        return f"**Accepted answers** ({case}): " + "; ".join(f"**{plain(a)}**" for a in item.answers)
    if isinstance(item, NumericItem):
        unit = f" {plain(item.unit)}" if item.unit else ""
        if item.range is not None:
            return f"**Answer:** any value from {number_text(item.range[0])} to {number_text(item.range[1])}{unit}"
        tol = f" ± {number_text(item.tolerance)}" if item.tolerance else " (exact)"
        return f"**Answer:** {key_text(item)}{unit}{tol}"
    if isinstance(item, EssayItem):
        return blocks(rubric_table(item), labelled("**Sample answer:**", item.sample_answer) if item.sample_answer else None)
    if isinstance(item, MatchingItem):
        right = matches_column(item)
        rows = ["| Item | Answer |", "|---|---|"]
        for k, (p, t) in enumerate(zip(item.pairs, item.target_of)):
            target = item.targets[t]
            rows.append(f"| {k + 1}. {cell(p.prompt)} | **{letter(right.index(target))}.** {plain(target)} |")
        spare = [f"**{letter(right.index(d))}.** {plain(d)}" for d in item.distractors]
        return blocks("**Answer:**", "\n".join(rows), ("Options that match nothing: " + "; ".join(spare)) if spare else None)
    if isinstance(item, OrderingItem):
        printed = steps_column(item)
        letters = ", ".join(letter(printed.index(s)) for s in item.sequence)
        order = numbered((k + 1, f"**{letter(printed.index(s))}.** {plain(s)}") for k, s in enumerate(item.sequence))
        return blocks(f"**Answer:** {letters}", order)
    if isinstance(item, ClozeItem):
        entries = []
        # A blank's points are its weight within the item: the key shows its share of the item's
        # points (as every platform scores it), so a points override shows in the blanks too.
        weights = sum(b.points for b in item.blanks) or 1.0
        for k, b in enumerate(item.blanks):
            if b.kind == "text":
                case = ", case-sensitive" if b.case_sensitive else ""
                answer = " or ".join(f"**{plain(a)}**" for a in b.answers) + case
            elif b.kind == "choice":
                answer = f"**{plain(b.correct or '')}**"
            else:
                tol = f" ± {number_text(b.tolerance)}" if b.tolerance else ""
                answer = f"**{number_text(b.number or 0)}**{tol}"
            entries.append(blocks(f"**({k + 1})** {answer} *({plural(item.points * b.points / weights, 'point', significant=3)})*", b.feedback))
        return blocks("**Answers:**", bullets(entries))
    return f"**Answer:** {item.answer}" if isinstance(item, FlashcardItem) else ""


def rubric_table(item: EssayItem) -> str | None:
    if not item.rubric:
        return "**Rubric:** none given; grade against the sample answer."
    rows = ["| Criterion | Points | What to look for |", "|---|---:|---|"]
    rows += [f"| {cell(c.criterion)} | {number_text(c.points)} | {cell(c.description or '')} |" for c in item.rubric]
    return blocks("**Rubric** (concepts to look for):", "\n".join(rows))


def key_explanations(item: Item) -> str:
    """Rationale, solution, hints and common mistakes: everything a teacher explains afterwards."""
    parts: list[str | None] = []
    for section in explanation(item, KEY_LABELS):
        label = section.label or ""
        if section.text:
            parts.append(labelled(label, section.text))
        elif section.steps:
            steps = [(k + 1, labelled(f"**{plain(s.title)}.**", s.text) if s.title else s.text) for k, s in enumerate(section.steps)]
            parts += [label, numbered(steps)]
        else:
            parts += [label, bullets(section.items)]
    return blocks(*parts)


#: Labels of the answer key's explanation sections, in order.
KEY_LABELS: dict[SectionKind, str | None] = {
    "rationale": "**Why:**",
    "steps": "**Solution:**",
    "final_answer": "**Final answer:**",
    "quick_check": "**Quick check:**",
    "hints": "**Hints:**",
    "common_mistakes": "**Common mistakes:**",
}


def key_entry(n: int, item: AnyItem) -> str:
    """Entry ``n`` of the answer key: the item's name and points, answer and explanations."""
    name = f"*{plain(item.title)}* (`{item.id}`)" if item.title else f"`{item.id}`"
    name += f" · {plural(item.points, 'point')}"
    return bullet(blocks(name, key_answer(item), key_explanations(item)), f"{n}.")


def key(lay: Layout, entries: dict[int, PrintEntry] | None = None) -> str:
    """The answer key (``entries``: as for :func:`paper`)."""
    parts = [blocks(f"# {plain(lay.title)}: answer key", "*For teachers: answers, explanations and rubrics. Do not hand out.*")]
    for section, numbered_items in numbering(lay):
        listed = [key_entry(n, item) if entries is None else entries[n][1] for n, item in numbered_items]
        parts.append(blocks(f"## {plain(section.title)}", "\n\n".join(listed)))
    return blocks(*parts) + "\n"


#: A printed question's entries: on the paper, in the key.
PrintEntry = tuple[str, str]


def print_entries(lay: Layout, fragments: Fragments) -> dict[int, PrintEntry]:
    """Each question's paper and key entries by number, from the fragment cache when the item is
    unchanged, else made (and kept).  An entry is kept with its number's width (the indent of its
    lines under ``n.``) and numbered anew when the item moved (an item added or removed before it)."""
    out: dict[int, PrintEntry] = {}
    for _section, numbered_items in numbering(lay):
        for n, item in numbered_items:
            marker = f"{n}."
            kept = fragments.key(item, "print", str(len(marker)))
            out[n] = fragments.cached(kept, partial(_both_entries, n, item), strings_piece, partial(_from_entries_piece, marker))
    return out


def _both_entries(n: int, item: AnyItem) -> PrintEntry:
    return paper_entry(n, item), key_entry(n, item)


def _from_entries_piece(marker: str, raw: bytes) -> PrintEntry:
    """The entries :func:`~itembank.fragments.strings_piece` kept, numbered ``marker`` (``n.``, as wide as theirs)."""
    paper_text, key_text = _from_strings_piece(2, raw)
    return _numbered_as(marker, paper_text), _numbered_as(marker, key_text)


def _numbered_as(marker: str, entry: str) -> str:
    """A kept list entry (:func:`bullet` with a marker ``n.`` as wide as ``marker``) with ``marker``
    instead; ValueError when it does not start with such a marker."""
    width = len(marker)
    if entry.startswith(marker) and entry[width : width + 1] == " ":
        return entry  # (kept under this number: most entries)
    if not (entry[: width - 1].isascii() and entry[: width - 1].isdigit() and entry[width - 1 : width + 1] == ". "):
        raise ValueError("not a numbered entry")
    return marker + entry[width:]


def _from_strings_piece(count: int, raw: bytes) -> tuple[str, ...]:
    """The ``count`` strings :func:`~itembank.fragments.strings_piece` kept; ValueError when the piece is not that."""
    value = from_json_piece(raw)
    if not isinstance(value, list) or len(value) != count or not all(isinstance(x, str) for x in value):
        raise ValueError("not a printed entry")
    return tuple(value)


# --- flashcards ----------------------------------------------------------------------------------


def card_block(k: int, card: FlashcardItem) -> str:
    """Card ``k`` of ``flashcards.md``."""
    about = " · ".join(plain(x) for x in (card.topic, card.level) if x)
    return blocks(
        f"## Card {k}: {plain(card.name)}",
        f"*{about}*" if about else None,
        labelled("**Front:**", card.stem),
        labelled("**Back:**", card.answer),
        key_explanations(card) or None,
    )


def flashcards(lay: Layout, bank_title: str, fragments: Fragments | None = None) -> str:
    """``flashcards.md`` (``fragments``: the export's fragment cache, for the cards of unchanged items)."""
    parts = [blocks(f"# {plain(bank_title)}: flashcards", "*Read the front, answer aloud, then check the back.*")]
    if not lay.cards:
        parts.append("*No flashcards.*")
    for k, card in enumerate(lay.cards, 1):
        if fragments is None:
            parts.append(card_block(k, card))
        else:
            made = fragments.cached(fragments.key(card, "card"), partial(_one_string, card_block, k, card), strings_piece, partial(_from_card_piece, k))
            parts.append(made[0])
    return blocks(*parts) + "\n"


def _one_string(make: Callable[[int, FlashcardItem], str], k: int, card: FlashcardItem) -> tuple[str]:
    return (make(k, card),)


def _from_card_piece(k: int, raw: bytes) -> tuple[str]:
    """The card :func:`~itembank.fragments.strings_piece` kept (:func:`card_block`), as card ``k`` (it was kept under
    another number when the card moved); ValueError when the piece is not a card."""
    (block,) = _from_strings_piece(1, raw)
    if block.startswith(f"## Card {k}: "):
        return (block,)  # (kept under this number: most cards)
    head, colon, rest = block.partition(": ")
    number = head[len("## Card ") :]
    if not (head.startswith("## Card ") and colon and number.isascii() and number.isdigit()):
        raise ValueError("not a card")
    return (f"## Card {k}: {rest}",)


# --- media -----------------------------------------------------------------------------------------


def media_files(bank: Bank, items: Iterable[AnyItem], renderer: Renderer, result: ExportResult) -> dict[str, bytes]:
    """Copies of the local images the items show, at their bank-relative paths (so links resolve)."""
    out: dict[str, bytes] = {}
    for item in items:
        for text in markdown_texts(item):
            if "![" not in text:
                continue
            for img in renderer.tree(text).iter("img"):
                src = img.get("src", "")
                rel = local_image(src)
                if rel is None:
                    continue  # a URL: the reader fetches it
                ref = unquote(src.split("#", 1)[0].split("?", 1)[0])  # as written, for the note below
                source = bank.media_path(rel)
                if rel in out:
                    continue
                if rel.startswith(("../", "/")) or rel == ".." or not source.is_file():
                    result.notes.append(f"[{item.id}] image '{ref}' was not copied (missing or outside the bank)")
                    continue
                if rel != ref:
                    result.notes.append(f"[{item.id}] image '{ref}' is copied as '{rel}'; write it that way so the link resolves")
                out[rel] = source.read_bytes()
    return out


# --- the exporter -----------------------------------------------------------------------------------


class MarkdownExporter:
    build_cost = 0.8  # see itembank.formats.Exporter
    cached_build_cost = 0.30
    shares_out = False  # one process writes it; see itembank.formats.Exporter
    name = "markdown"
    description = "printable student paper, answer key and flashcards (CommonMark/GFM for pandoc and GitHub)"
    default_output = "print"
    options = frozenset({"status"})
    default_status = DELIVERY_STATUSES

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        result = ExportResult()
        bank, calculated = concrete_bank(bank, result)  # each form prints its own seeded variant
        lay = layout(bank)
        printed = [i for s in lay.sections for i in s.items]
        entries = None if ctx.fragments is None else print_entries(lay, ctx.fragments)
        files = {
            f"{lay.name}.md": paper(lay, entries).encode("utf-8"),
            f"{lay.name}-key.md": key(lay, entries).encode("utf-8"),
            "flashcards.md": flashcards(lay, bank.title, ctx.fragments).encode("utf-8"),
        }
        for rel, data in media_files(bank, printed + list(lay.cards), ctx.renderer, result).items():
            files[f"{rel}"] = data
        for item in printed + list(lay.cards):
            result.wrote("calculated" if item.id in calculated else item.type)
        for item, reason in lay.not_drawn:
            result.skip(item.id, reason)
        result.notes.extend(lay.notes)
        result.files = dict(sorted(files.items()))
        return result


exporter = MarkdownExporter()
