"""``gift``: the bank in Moodle's GIFT text format (question bank → Import → "GIFT format").

One question per block (blocks are separated by a blank line, so every newline inside a text is
written as ``\\n``), ``$CATEGORY:`` per topic, ``::title::``, ``[html]`` text (the same Moodle-flavoured
HTML as the Moodle XML export), ``####`` general feedback and ``// [id:…] [tag:…]`` comments, which
Moodle 4.x reads as the question's ID number and tags.  GIFT cannot carry files, hints, units or
essay grading information: see docs/moodle.md for what is skipped and what is noted.
"""

from __future__ import annotations

import html as _html
import io
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from itembank.formats import DELIVERY_STATUSES, ExportContext, ExportResult
from itembank.model import (
    CalculatedItem,
    AnyItem,
    Bank,
    ChoiceItem,
    EssayItem,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
)
from itembank.render import Renderer

from ..kit import ahead as kit_ahead
from ..kit import pieces
from ..kit.variants import expanded, expansion_note, refuse_clashing_ids
from .content import (
    Html,
    ItemSkipped,
    TAG_UNSAFE,
    MoodleHtml,
    categories,
    category_notes,
    form_note,
    format_fraction,
    format_number,
    general_feedback,
    item_tags,
    match_answers,
    moodle_fractions,
)

if TYPE_CHECKING:
    from itembank.fragments import Fragments

#: Characters GIFT gives a meaning to; a backslash makes them literal (Moodle's escapedchar_pre).
_SPECIAL = re.compile(r"([\\~=#{}:])")
#: Control characters, which a GIFT [tag:...] cannot hold: written as spaces (see content.TAG_UNSAFE for the rest).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Moodle reads "%50%" at the start of an answer as its weight.
_WEIGHT_LIKE = re.compile(r"^%-*[0-9]{1,2}\.?[0-9]*%")

SKIP_REASONS: dict[str, str] = {
    "cloze": "GIFT has no cloze question type (use the Moodle XML export)",
}
#: What Moodle's ordering question reads after ``{>`` (qtype_ordering's import_from_gift, core since
#: Moodle 4.4): how many items, all of them, vertical, absolute-position grading (partial credit per
#: item in its place), grading details shown, no numbering: the Moodle XML export's settings.
ORDERING_HEAD = ">{count} ALL VERTICAL ABSOLUTE_POSITION SHOW none"


def escape(text: str) -> str:
    """Text made literal for GIFT: ``~ = # { } : \\`` backslash-escaped, newlines as ``\\n``.

    By ``str.replace``, the backslash first (no later replacement adds one it would double), each
    only where it occurs: a fifth of the time of ``_SPECIAL.sub`` with its template (65,000 texts
    of the 10,000 generated items: 0.25 -> 0.05 s)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    for special in _ESCAPED:
        if special in text:
            text = text.replace(special, "\\" + special)
    return text.replace("\n", "\\n")


#: What :func:`escape` puts a backslash before, after the backslash itself (:data:`_SPECIAL`).
_ESCAPED = "~=#{}:"


def category_line(path: str) -> str:
    """The ``$CATEGORY:`` line for a category path, read back by Moodle as the path exactly.

    Moodle's GIFT reader runs its escape pass over the line (``\\\\`` -> a backslash, ``\\n``,
    ``\\:``, ``\\#`` ... -> placeholders) but, unlike for question text, never turns the placeholders
    back, so the category takes ``\\:`` as the text '&&058;' and a topic's ``\\n`` (as in
    ``C:\\new``) as '&&010'. Only the backslash is escaped, then, each one doubled (the ':', '#', '='
    ... of a path are plain text on that line); a path holding Moodle's own placeholder '&&092;' is
    read with a backslash in its place, and a line break is written as a space (``category_line_note``).
    """
    return "$CATEGORY: " + _LINE_BREAK.sub(" ", path).replace("\\", "\\\\")


#: A line break with the spaces around it: a category line is one line (GIFT reads a blank line as the
#: end of the block, and a next line starting with '//' as a comment), so it is written as a space.
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n?|\n)\s*")


def category_line_note(paths: list[str]) -> list[str]:
    """What of the category paths Moodle's GIFT reader cannot give back exactly (see ``category_line``)."""
    notes: list[str] = []
    bad = [p for p in paths if "&&092;" in p]
    if bad:
        notes.append("Moodle's GIFT reader turns '&&092;' in a $CATEGORY: line into a backslash (its own placeholder, "
                     "which the line cannot escape), so these categories get another name: " + ", ".join(repr(p) for p in bad[:5]))
    broken = [p for p in paths if _LINE_BREAK.search(p)]
    if broken:
        notes.append("a $CATEGORY: line is one line: a line break in these category paths (a topic or the bank's title) "
                     "is written as a space: " + ", ".join(repr(p) for p in broken[:5]))
    return notes


def html_text(html: str) -> str:
    """An HTML text for a place where Moodle reads an optional ``[format]`` marker first.

    The question's ``[html]`` applies to its answers and feedback too; a text that itself starts
    with "[" gets its own marker so that "[plain] …" is not read as one.
    """
    return escape("[html]" + html if html.startswith("[") else html)


class GiftExporter:
    build_cost = 1.2  # see itembank.formats.Exporter
    cached_build_cost = 0.21
    shares_out = True  # its items over ExportContext.jobs processes; see itembank.formats.Exporter
    name = "gift"
    description = "Moodle GIFT text: question bank → Import → GIFT format"
    default_output = "questions.gift"
    options = frozenset({"status", "strict", "expand_variants"})  # expand_variants: calculated items as N numeric variants each
    default_status = DELIVERY_STATUSES

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        result = ExportResult()
        writer = _GiftWriter(MoodleHtml(ctx.renderer), strict=ctx.options.strict)
        count = ctx.options.expand_variants
        refuse_clashing_ids(bank, count)
        expanded_ids: list[str] = []
        out = io.BytesIO()  # blocks are encoded as they come: the output is held once, not as str and bytes
        out.write(f"// {escape(bank.title)}: Moodle GIFT export by itembank; import with \"Get category from file\" on.\n".encode())
        fragments = ctx.fragments
        cats = categories(bank)  # (the export's order: its items are built ahead in it)
        built = _built_ahead(cats, ctx)
        for _, path, items in cats:
            out.write(f"\n{category_line(path)}\n".encode())
            for item in items:
                if fragments is not None or built is not None:
                    block_bytes, skipped, expanded_item = _cached_blocks(writer, item, count, fragments, built)
                else:
                    block_bytes, skipped, expanded_item = _blocks(writer, item, count)
                if block_bytes is None:
                    result.skip(item.id, skipped or "")
                    continue
                out.write(block_bytes)
                if expanded_item:
                    expanded_ids.append(item.id)
                    result.variants[item.id] = count
                result.wrote(item.type)
        if expanded_ids:
            result.notes.append(expansion_note(expanded_ids, count))
        result.notes.extend(writer.notes())
        note = form_note(bank)
        if note:
            result.notes.append(note)
        result.notes.extend(category_notes(bank))
        result.notes.extend(category_line_note([path for _, path, _ in cats]))
        result.data = out.getvalue()
        return result


def _blocks(writer: _GiftWriter, item: AnyItem, count: int) -> tuple[bytes | None, str | None, bool]:
    """An item's blocks as the export writes them (a calculated item's: one per variant), or (None,
    why it is skipped); and whether it was written as variants."""
    if isinstance(item, CalculatedItem):
        numeric = expanded(item, count, "GIFT cannot hold a calculated item's variables")
        if isinstance(numeric, str):
            return None, numeric, False
        try:  # the variants share their texts: what GIFT cannot carry stops the first
            blocks = [writer.question(variant) for variant in numeric]
        except ItemSkipped as why:
            return None, str(why), False
        return b"".join(f"\n{block}\n".encode() for block in blocks), None, True
    try:
        block = writer.question(item)
    except ItemSkipped as why:
        return None, str(why), False
    return f"\n{block}\n".encode(), None, False


def _built_ahead(cats: list[tuple[str, str, list[AnyItem]]], ctx: ExportContext) -> kit_ahead.BuiltAhead | None:
    """The items' blocks built ahead over the export's processes (``kit.ahead``), in the order the
    export writes them (``cats``: its :func:`categories`), when it has more than one and
    ``kit.ahead.PARALLEL_FROM`` items or more (those of the fragment cache are read there); else
    None: made here, one after the other."""
    order = [item for _comment, _path, items in cats for item in items]
    make = partial(_made_pieces, ctx.renderer, ctx.options.strict, ctx.options.expand_variants)
    return kit_ahead.worth_it(order, make, ctx.jobs, kit_ahead.kept_in(ctx.fragments, "block"))


def _made_pieces(renderer: Renderer, strict: bool, count: int, items: Sequence[AnyItem]) -> list[bytes]:
    """The pieces of ``items`` (:func:`_made_piece`), made with a writer of their own: what making
    them adds to the list of what GIFT cannot carry is in the pieces, added to the export's writer
    as each is taken."""
    writer = _GiftWriter(MoodleHtml(renderer), strict=strict)
    return [_made_piece(writer, item, count)[0] for item in items]


def _made_piece(writer: _GiftWriter, item: AnyItem, count: int) -> tuple[bytes, bytes | None, str | None, bool]:
    """:func:`_blocks` made by ``writer`` (what GIFT cannot carry added to its list), with the piece
    the fragment cache keeps of them (:func:`_cached_blocks`) first."""
    marks = {what: len(ids) for what, ids in writer.lost.items()}
    blocks, skipped, variants = _blocks(writer, item, count)
    added = [[what, ids[marks.get(what, 0) :]] for what, ids in writer.lost.items() if len(ids) > marks.get(what, 0)]
    return pieces.encode({"s": skipped, "x": variants, "l": added}, blocks or b""), blocks, skipped, variants


def _cached_blocks(
    writer: _GiftWriter, item: AnyItem, count: int, fragments: Fragments | None, built: kit_ahead.BuiltAhead | None = None
) -> tuple[bytes | None, str | None, bool]:
    """:func:`_blocks` from the fragment cache when the item is unchanged, else built ahead in other
    processes (``built``) or made here, and kept.

    A piece holds the blocks' bytes and, in its head, the skip reason, whether the item was written
    as variants, and what it added to the writer's list of what GIFT cannot carry (added back in the
    same order).  A damaged piece is made again."""
    key = fragments.key(item, "block") if fragments is not None else b""
    if fragments is not None:
        taken = _taken(writer, pieces.decode(fragments.get(key)))
        if taken is not None:
            fragments.hits += 1
            return taken
        fragments.misses += 1
    raw = built.take(item) if built is not None else None
    ahead = _taken(writer, pieces.decode(raw))
    if raw is None or ahead is None:  # not built ahead: made here
        raw, blocks, skipped, variants = _made_piece(writer, item, count)
        ahead = blocks, skipped, variants
    if fragments is not None:
        fragments.put(key, raw)
    return ahead


def _taken(writer: _GiftWriter, piece: tuple[dict[str, Any], bytes] | None) -> tuple[bytes | None, str | None, bool] | None:
    """A whole piece's blocks (or why the item is skipped), what it adds to the list of what GIFT
    cannot carry added to ``writer``'s; None when there is none or it is damaged."""
    if piece is None:
        return None
    head, body = piece
    lost = head.get("l")
    if not (
        isinstance(head.get("s"), (str, type(None)))
        and isinstance(head.get("x"), bool)
        and isinstance(lost, list)
        and all(isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and pieces.strings(entry[1]) for entry in lost)
    ):
        return None
    for what, ids in lost:
        writer.lost[what].extend(ids)
    return (None, head["s"], False) if head["s"] is not None else (body, None, head["x"])


class _GiftWriter:
    """One GIFT block per item; raises :class:`ItemSkipped` for what GIFT cannot carry."""

    def __init__(self, mh: MoodleHtml, *, strict: bool = False) -> None:
        self.mh = mh
        self.strict = strict
        self.lost: dict[str, list[str]] = defaultdict(list)  # what GIFT cannot carry -> item ids

    def question(self, item: AnyItem) -> str:
        if item.type in SKIP_REASONS:
            raise ItemSkipped(SKIP_REASONS[item.type])
        if item.points != 1 and self.strict:
            raise ItemSkipped(f"worth {format_number(item.points)} points, and GIFT imports every question worth 1 (--strict); use the Moodle XML export")
        stem = self.html(self.mh.block(item.stem))
        answers = self.answers(item)
        feedback = self.html(general_feedback(item, self.mh, hints=True))  # GIFT has no hints: they go here
        if feedback:
            answers.append("####" + html_text(feedback))
        if item.points != 1:
            # GIFT has no syntax for a question's mark: Moodle imports every GIFT question worth 1.
            self.lost["points (Moodle imports every GIFT question worth 1 point: set the mark after import)"].append(f"{item.id} ({format_number(item.points)})")
        lines = [self.comment(item), f"::{escape(item.name)}::[html]{escape(stem)}{{", *answers, "}"]
        return "\n".join(line for line in lines if line)

    def html(self, html: Html) -> str:
        if html.images:
            raise ItemSkipped(f"GIFT cannot carry image files ({html.images[0].ref}); use the Moodle XML export")
        return html.text

    def comment(self, item: AnyItem) -> str:
        # Moodle reads a tag (extract_idnumber_and_tags_from_comment) without '<', '>', '`' or a
        # control character, and ']' written '\]'; a tag it cannot read it skips without a word.
        tags = []
        for tag in item_tags(item):
            tag = _CONTROL.sub(" ", tag)
            if TAG_UNSAFE.search(tag) or tag.endswith("\\"):
                self.lost["tags containing '<', '>', '`' (or ending with a backslash), which Moodle's GIFT import skips"].append(item.id)
                continue
            tags.append("[tag:" + tag.replace("]", "\\]") + "]")
        return " ".join([f"// [id:{item.id}]", *tags])

    def answers(self, item: AnyItem) -> list[str]:
        if isinstance(item, ChoiceItem):
            return self.choice(item)
        if isinstance(item, TrueFalseItem):
            return self.true_false(item)
        if isinstance(item, ShortAnswerItem):
            return self.short_answer(item)
        if isinstance(item, NumericItem):
            if item.unit:
                self.lost["numeric units"].append(item.id)
            if item.range is not None:  # Moodle reads min..max as their middle ± half the width
                return [f"#{format_number(item.range[0])}..{format_number(item.range[1])}"]
            return [f"#{format_number(item.centre)}:{format_number(item.half_width)}"]
        if isinstance(item, MatchingItem):
            return self.matching(item)
        if isinstance(item, EssayItem):
            if item.rubric or item.sample_answer or item.min_words or item.max_words or item.response_template:
                self.lost["essay grader information (rubric, sample answer), word limits and response template"].append(item.id)
            return []  # "{}" (with only general feedback) is an essay
        if isinstance(item, OrderingItem):
            return self.ordering(item)
        if isinstance(item, FlashcardItem):
            return []  # a self-check essay: the card's back is in the general feedback
        raise ItemSkipped(f"GIFT has no {item.type} question type")  # pragma: no cover - every type is handled above

    def choice(self, item: ChoiceItem) -> list[str]:
        lines = []
        if item.type == "multiple_choice":
            weights = ["=" if o.correct else "~" for o in item.options]
        else:
            grades = moodle_fractions(len(item.keys), len(item.options) - len(item.keys), item.scoring)
            if grades is None:
                raise ItemSkipped(f"{len(item.keys)} correct options cannot share 100% on Moodle's grade list (IB221)")
            correct, wrong = iter(grades.correct), iter(grades.wrong)
            # Only "~%n%" answers: an "=" anywhere would make Moodle import a single-answer question.
            weights = [f"~%{format_fraction(next(correct) if o.correct else next(wrong))}%" for o in item.options]
        for option, weight in zip(item.options, weights):
            text = html_text(self.html(self.mh.inline(option.text)))
            if weight == "~" and _WEIGHT_LIKE.match(text):
                weight = "~%0%"
            line = weight + text
            feedback = self.html(self.mh.block(option.feedback))
            if feedback:
                line += "#" + html_text(feedback)
            lines.append(line)
        if not item.shuffle:
            self.lost["'shuffle: false' (GIFT always lets Moodle shuffle)"].append(item.id)
        return lines

    def true_false(self, item: TrueFalseItem) -> list[str]:
        # "{TRUE#fb1#fb2}": fb1 shows for the wrong answer, fb2 for the right one.
        right, wrong = (item.true_feedback, item.false_feedback) if item.answer else (item.false_feedback, item.true_feedback)
        line = "TRUE" if item.answer else "FALSE"
        right_html, wrong_html = self.html(self.mh.block(right)), self.html(self.mh.block(wrong))
        if right_html or wrong_html:
            line += f"#{html_text(wrong_html)}#{html_text(right_html)}"
        return [line]

    def short_answer(self, item: ShortAnswerItem) -> list[str]:
        if item.case_sensitive:
            raise ItemSkipped("GIFT short answers are always case-insensitive; use the Moodle XML export for case_sensitive: true")
        if any("->" in a for a in item.answers):
            raise ItemSkipped("a short answer containing '->' would be imported as a matching question (GIFT cannot escape it)")
        lines = []
        for answer in item.answers:
            text = escape(answer.strip().replace("*", "\\*"))  # "*" is Moodle's wildcard unless escaped
            lines.append(("=%100%" if _WEIGHT_LIKE.match(text) else "=") + text)
        return lines

    def matching(self, item: MatchingItem) -> list[str]:
        # Pairs that share a match carry the same answer text, offered once in every menu (as in XML).
        # The answers are plain text that Moodle shows through format_string: HTML-escaped, kept apart (match_answers).
        answers = iter(match_answers([*(item.targets[t].strip() for t in item.target_of), *(d.strip() for d in item.distractors)]))
        lines = [f"={html_text(self.html(self.mh.inline(p.prompt)))} -> {escape(next(answers))}" for p in item.pairs]
        # An empty prompt is Moodle's extra wrong answer.
        lines.extend(f"= -> {escape(answer)}" for answer in answers)
        if not item.shuffle:
            self.lost["'shuffle: false' (GIFT always lets Moodle shuffle)"].append(item.id)
        return lines

    def ordering(self, item: OrderingItem) -> list[str]:
        """``{>N ALL VERTICAL ABSOLUTE_POSITION SHOW none`` then one entry a line (qtype_ordering).

        Moodle hands the ordering question its answer text with GIFT's escapes already turned into
        placeholders it never turns back, and ends the answers at the first ``}``: so the entries are
        written unescaped, each on one line, and an entry GIFT cannot carry skips the item.
        """
        lines = [ORDERING_HEAD.format(count=len(item.sequence))]
        for entry in item.sequence:
            # A step is plain text (itembank.fields), as the Moodle XML export writes it: escaped, not rendered.
            html = _html.escape(entry, quote=False).replace("\r", " ").replace("\n", " ").strip()
            for bad, why in (("}", "'}'"), ("####", "'####'"), ("\\", "a backslash")):
                if bad in html:
                    raise ItemSkipped(f"an ordering entry holds {why}, which Moodle's GIFT import of ordering questions cannot read; use the Moodle XML export")
            lines.append(_kept_entry(html))
        return ["\n".join(lines)]

    def notes(self) -> list[str]:
        out = []
        for what, ids in sorted(self.lost.items()):
            # Every item, not the first ten: a note that stops at "..." would leave the rest silent.
            out.append(f"GIFT cannot carry {what}; use the Moodle XML export for: {', '.join(ids)}")
        return out


def _kept_entry(html: str) -> str:
    """An ordering entry (one line of HTML) that Moodle keeps: qformat_gift blanks a line starting with
    ``//`` (a comment) before the ordering question reads its lines, and that question drops an entry
    PHP finds false (``"0"``).  Their first character as an entity shows the same and is kept."""
    if html.startswith("//"):
        return "&#47;" + html[1:]
    if html == "0":
        return "&#48;"
    return html


exporter = GiftExporter()
