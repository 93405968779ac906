"""``moodle``: the bank as one Moodle XML file for Moodle 4.x's question bank → Import → "Moodle XML format".

The elements are the ones qformat_xml's ``import_question`` readers look for: one category question
per topic (``$course$/<bank title>/<topic>``) followed by its questions; HTML in CDATA; images
embedded as base64 ``<file>`` elements of the field that shows them.  Type mapping, scoring choices
and caveats are in docs/moodle.md.
"""

from __future__ import annotations

import html as _html
import io
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from lxml import etree

from itembank.errors import ItembankError
from itembank.formats import DELIVERY_STATUSES, MOODLE_XML_MARK, ExportContext, ExportResult
from itembank.model import (
    CalculatedItem,
    AnyItem,
    Bank,
    Blank,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
    opaque_placeholders,
)
from itembank.render import Renderer

from ..kit import ahead as kit_ahead
from ..kit import pieces
from ..kit.numbers import number_text
from .calculated import ROUND_NOTE, TOLERANCE_TYPE, MoodleCalculated, dataset_value, uses_round
from .content import (
    TAG_UNSAFE,
    category_notes,
    EMPTY,
    TYPES_WITHOUT_HINTS,
    Html,
    ItemSkipped,
    MediaFiles,
    MoodleHtml,
    categories,
    form_note,
    format_fraction,
    format_number,
    general_feedback,
    grader_info,
    item_tags,
    match_answers,
    moodle_fractions,
    plain_to_html,
)

if TYPE_CHECKING:
    from itembank.fragments import Fragments

XML_HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n'
DEFAULT_PENALTY = "0.3333333"  # Moodle's default for multiple tries (interactive behaviour)
#: Moodle question type per item type.
QTYPES: dict[str, str] = {
    "multiple_choice": "multichoice",
    "multiple_response": "multichoice",
    "true_false": "truefalse",
    "short_answer": "shortanswer",
    "numeric": "numerical",
    "essay": "essay",
    "matching": "match",
    "ordering": "ordering",
    "cloze": "cloze",
    "flashcard": "essay",  # see docs/moodle.md: a self-check essay whose feedback is the card's back
    "calculated": "calculated",
}


class MoodleXmlExporter:
    build_cost = 1.9  # see itembank.formats.Exporter
    cached_build_cost = 0.20
    name = "moodle"
    description = "Moodle XML for Moodle 4.x: question bank → Import → Moodle XML format"
    default_output = "moodle.xml"
    options = frozenset({"status", "variants"})  # variants: calculated items' dataset items per item
    default_status = DELIVERY_STATUSES

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        result = ExportResult()
        writer = _QuestionWriter(MoodleHtml(ctx.renderer), MediaFiles(bank), ctx.options.variants)
        cats = categories(bank)  # (the export's order: its questions are built ahead in it)
        built = _built_ahead(bank, cats, ctx)
        cached = _CachedQuestions(writer, ctx.fragments, built) if ctx.fragments is not None or built is not None else None
        # Each question is built as an lxml tree and serialized on its own into one growing buffer,
        # so memory holds one question's tree at a time instead of the whole bank's, and the output
        # once (measured on 10,000 items: peak 326 MB with one document tree, 175 MB like this).
        out = io.BytesIO()
        out.write(XML_HEADER + b"<quiz>\n  " + MOODLE_XML_MARK + b"\n")  # the mark first: a later export may replace the file
        for comment, path, items in cats:
            out.write(_serialize(etree.Comment(f" {_comment_safe(comment)} ")))
            out.write(_serialize(category_question(path)))
            for item in items:
                if cached is not None:
                    question, skipped = cached.question(item)
                    if question is None:
                        result.skip(item.id, skipped or "")
                        continue
                    out.write(question)
                    result.wrote(item.type)
                    continue
                try:
                    out.write(_question_bytes(writer, item))
                except ItemSkipped as why:
                    result.skip(item.id, str(why))
                    continue
                result.wrote(item.type)
        out.write(b"</quiz>\n")
        note = form_note(bank)
        if note:
            result.notes.append(note)
        result.notes.extend(category_notes(bank))
        if writer.calculated_formats:
            result.notes.append(
                "Moodle shows a calculated item's values as its datasets store them: placeholder number formats "
                "({m:.2f}) are dropped in: " + ", ".join(writer.calculated_formats[:10]) + (" ..." if len(writer.calculated_formats) > 10 else "")
            )
        left_out = {i for i, _ in result.skipped}
        rounding = [i.id for _, _, items in cats for i in items if isinstance(i, CalculatedItem) and i.id not in left_out and uses_round(i)]
        if rounding:
            result.notes.append(f"{ROUND_NOTE}: " + ", ".join(rounding[:10]) + (" ..." if len(rounding) > 10 else ""))
        if writer.all_or_nothing:
            result.notes.append(
                "all_or_nothing multiple response items are scored with wrong options at -100% (any wrong tick scores 0); "
                "Moodle still gives partial credit for an incomplete selection: " + ", ".join(writer.all_or_nothing)
            )
        remarked = cloze_marks_changed(bank, result)
        if remarked:
            result.notes.append(
                f"Moodle marks a cloze question out of the sum of its blanks' integer weights, which cannot add up to the "
                f"points of {len(remarked)} item(s) (set their mark in the quiz after import): " + ", ".join(remarked[:10]) + (" ..." if len(remarked) > 10 else "")
            )
        long = [t for t in writer.changed_tags if len(t) > 50]
        if long:
            result.notes.append(f"{len(long)} tag(s) are longer than Moodle's 50 characters and will be shortened on import, e.g. " + repr(long[0]))
        marked = [t for t in writer.changed_tags if TAG_UNSAFE.search(t)]
        if marked:
            result.notes.append(
                f"{len(marked)} tag(s) hold '<', '>' or '`', which Moodle removes from a tag on import (PARAM_TAG), e.g. " + repr(marked[0])
            )
        result.data = out.getvalue()
        return result


def _built_ahead(bank: Bank, cats: list[tuple[str, str, list[AnyItem]]], ctx: ExportContext) -> kit_ahead.BuiltAhead | None:
    """The questions built ahead over the export's processes (``kit.ahead``), in the order the
    export writes them (``cats``: its :func:`categories`), when it has more than one and
    ``kit.ahead.PARALLEL_FROM`` questions or more (those of the fragment cache are read there);
    else None: built here, one after the other."""
    order = [item for _comment, _path, items in cats for item in items]
    make = partial(_made_pieces, ctx.renderer, bank, ctx.options.variants)
    return kit_ahead.worth_it(order, make, ctx.jobs, kit_ahead.kept_in(ctx.fragments, "question"))


def _made_pieces(renderer: Renderer, bank: Bank, variants: int, items: Sequence[AnyItem]) -> list[bytes]:
    """The pieces of ``items`` (:func:`_made_piece`), built with a writer of their own: what building
    them notes is in the pieces, and is added to the export's writer as each is taken."""
    writer = _QuestionWriter(MoodleHtml(renderer), MediaFiles(bank), variants)
    return [_made_piece(writer, item)[0] for item in items]


def _made_piece(w: _QuestionWriter, item: AnyItem) -> tuple[bytes, bytes | None, str | None]:
    """An item's question built by ``w`` (what it notes added to ``w``'s): the piece the fragment
    cache keeps of it (:class:`_CachedQuestions`), the question's bytes, or None and why the item
    is skipped."""
    marks = len(w.calculated_formats), len(w.all_or_nothing), len(w.changed_tags), len(w.media.asked)
    question: bytes | None = None
    skipped: str | None = None
    try:
        question = _question_bytes(w, item)
    except ItemSkipped as why:
        skipped = str(why)
    head = {
        "s": skipped,
        "c": w.calculated_formats[marks[0] :],
        "a": w.all_or_nothing[marks[1] :],
        "t": w.changed_tags[marks[2] :],
        "m": [[ref, w.media.state(ref)] for ref in dict.fromkeys(w.media.asked[marks[3] :])],
    }
    return pieces.encode(head, question or b""), question, skipped


class _CachedQuestions:
    """Each item's serialized ``<question>`` (or why it is skipped) from the fragment cache when the
    item is unchanged, else built ahead in other processes (``ahead``) or by ``writer``, and kept.

    A piece holds the question's bytes as :func:`_serialize` wrote them and, in its head, what the
    question added to the writer's notes (the same entries are added back, in the same order) and the
    image files it embeds, each with what the file was: a question whose image changed, appeared or
    went is built again.  A damaged piece is built again too."""

    def __init__(self, writer: _QuestionWriter, fragments: Fragments | None, ahead: kit_ahead.BuiltAhead | None = None) -> None:
        self.writer = writer
        self.fragments = fragments
        self.ahead = ahead

    def question(self, item: AnyItem) -> tuple[bytes | None, str | None]:
        """The question's bytes, or (None, why the item is skipped)."""
        fragments = self.fragments
        key = fragments.key(item, "question") if fragments is not None else b""
        if fragments is not None:
            piece = pieces.decode(fragments.get(key))
            if piece is not None and self._usable(piece[0]):
                fragments.hits += 1
                return self._taken(piece)
            fragments.misses += 1
        raw = self.ahead.take(item) if self.ahead is not None else None
        piece = pieces.decode(raw)
        if raw is not None and piece is not None and self._usable(piece[0]):
            out = self._taken(piece)
        else:  # not built ahead: built here, what it notes added to the writer's as it goes
            raw, question, skipped = _made_piece(self.writer, item)
            out = question, skipped
        if fragments is not None:
            fragments.put(key, raw)
        return out

    def _taken(self, piece: tuple[dict[str, Any], bytes]) -> tuple[bytes | None, str | None]:
        """A whole piece's question (or why it is skipped), what building it noted added to the writer's."""
        head, body = piece
        w = self.writer
        w.calculated_formats.extend(head["c"])
        w.all_or_nothing.extend(head["a"])
        w.changed_tags.extend(head["t"])
        return (None, head["s"]) if head["s"] is not None else (body, None)

    def _usable(self, head: dict[str, Any]) -> bool:
        """Whether a decoded head is whole and its images are the files it was built with."""
        if not (isinstance(head.get("s"), (str, type(None))) and all(pieces.strings(head.get(k)) for k in "cat")):
            return False
        images = head.get("m")
        if not isinstance(images, list) or not all(isinstance(m, list) and len(m) == 2 and pieces.strings(m) for m in images):
            return False
        return all(self.writer.media.state(ref) == state for ref, state in images)


def _question_bytes(w: _QuestionWriter, item: AnyItem) -> bytes:
    """The item's ``<question>`` as :func:`_serialize` writes it (:class:`ItemSkipped` when Moodle
    cannot take it); a text XML cannot hold is an error that names the item."""
    try:
        return _serialize(w.question(item))
    except ValueError as exc:  # lxml refuses characters XML 1.0 cannot hold (validation rule IB216 finds them first)
        raise ItembankError(f"item '{item.id}': {exc} (validating the bank finds the text)") from None


def _serialize(element: etree._Element) -> bytes:
    """One child of ``<quiz>``, indented as it would be inside the pretty-printed document."""
    if not isinstance(element, etree._Comment):  # indent() takes elements only; a comment has nothing to indent
        etree.indent(element, space="  ", level=1)
    return b"  " + etree.tostring(element, encoding="UTF-8", with_tail=False) + b"\n"


#: A hyphen followed by another: "--" cannot appear inside an XML comment.
_HYPHEN_PAIR = re.compile("-(?=-)")


def _comment_safe(text: str) -> str:
    """``text`` on one line, a space after each hyphen another follows ("a---b": "a- - -b"; replacing
    each "--" left "a- --b", which lxml refuses)."""
    return _HYPHEN_PAIR.sub("- ", text.replace("\n", " "))


def category_question(path: str) -> etree._Element:
    question = etree.Element("question", type="category")
    _text(etree.SubElement(question, "category"), path, cdata=False)
    info = etree.SubElement(question, "info", format="html")
    _text(info, "")
    etree.SubElement(question, "idnumber").text = ""
    return question


# --- small element builders ---------------------------------------------------------------------


def _text(parent: etree._Element, value: str, *, cdata: bool = True) -> etree._Element:
    """``<text>`` with HTML in CDATA (as Moodle writes it), or escaped when CDATA cannot hold it."""
    el = etree.SubElement(parent, "text")
    if cdata and value and "]]>" not in value:
        el.text = etree.CDATA(value)
    else:
        el.text = value  # lxml escapes it; "]]>" cannot sit inside a CDATA section
    return el


class _QuestionWriter:
    """Builds one ``<question>`` per item; raises :class:`ItemSkipped` for what Moodle cannot take."""

    def __init__(self, mh: MoodleHtml, media: MediaFiles, dataset_items: int = 10) -> None:
        self.mh = mh
        self.media = media
        self.dataset_items = dataset_items
        self.calculated_formats: list[str] = []
        self.all_or_nothing: list[str] = []
        self.changed_tags: list[str] = []  # tags Moodle changes on import: longer than 50 characters, or TAG_UNSAFE
        self._body: dict[str, Callable[[etree._Element, AnyItem], None]] = {
            "multiple_choice": self._choice,
            "multiple_response": self._choice,
            "true_false": self._true_false,
            "short_answer": self._short_answer,
            "numeric": self._numeric,
            "essay": self._essay,
            "matching": self._matching,
            "ordering": self._ordering,
            "flashcard": self._flashcard,
        }

    def question(self, item: AnyItem) -> etree._Element:
        if isinstance(item, ClozeItem):
            return self._cloze(item)
        if isinstance(item, CalculatedItem):
            return self._calculated(item)
        q = etree.Element("question", type=QTYPES[item.type])
        self._header(q, item, self.mh.block(item.stem))
        self._body[item.type](q, item)
        self._hints(q, item)
        self._tags(q, item)
        return q

    # --- parts every question has ---

    def field(self, parent: etree._Element, tag: str, html: Html, **attrs: str) -> etree._Element:
        """An HTML field: ``<tag format="html"><text>…</text><file …/>…</tag>``."""
        el = etree.SubElement(parent, tag, {"format": "html", **attrs})
        _text(el, html.text)
        for image in html.images:
            f = etree.SubElement(el, "file", name=image.name, path="/", encoding="base64")
            f.text = self.media.base64(image.ref)
        return el

    def _header(self, q: etree._Element, item: AnyItem, stem: Html, *, grade: bool = True) -> None:
        _text(etree.SubElement(q, "name"), item.name, cdata=False)
        self.field(q, "questiontext", stem)
        self.field(q, "generalfeedback", general_feedback(item, self.mh, hints=item.type in TYPES_WITHOUT_HINTS))
        if grade:
            etree.SubElement(q, "defaultgrade").text = f"{item.points:.7f}"
        penalty = "1.0000000" if item.type == "true_false" else ("0.0000000" if item.type in ("essay", "flashcard") else DEFAULT_PENALTY)
        etree.SubElement(q, "penalty").text = penalty
        etree.SubElement(q, "hidden").text = "0"
        etree.SubElement(q, "idnumber").text = item.id

    def _hints(self, q: etree._Element, item: AnyItem) -> None:
        if item.type in TYPES_WITHOUT_HINTS:
            return  # their hints are in the general feedback
        for hint in item.hints:
            self.field(q, "hint", self.mh.block(hint))

    def _tags(self, q: etree._Element, item: AnyItem) -> None:
        tags = item_tags(item)
        if not tags:
            return
        parent = etree.SubElement(q, "tags")
        for tag in tags:
            if len(tag) > 50 or TAG_UNSAFE.search(tag):  # what Moodle changes (both noted by the export)
                self.changed_tags.append(tag)
            _text(etree.SubElement(parent, "tag"), tag, cdata=False)

    def _combined_feedback(self, q: etree._Element, *, shownumcorrect: bool) -> None:
        # The bank has no per-outcome feedback: Moodle shows its standard "Your answer is correct" etc.
        for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
            self.field(q, tag, EMPTY)
        if shownumcorrect:
            etree.SubElement(q, "shownumcorrect")

    def _answer(self, q: etree._Element, fraction: str, text: Html | str, feedback: Html = EMPTY, *, html: bool = True) -> etree._Element:
        """``<answer fraction=…>`` with its text (HTML, or plain for typed answers) and feedback."""
        if html:
            assert isinstance(text, Html)
            a = self.field(q, "answer", text, fraction=fraction)
        else:
            a = etree.SubElement(q, "answer", fraction=fraction, format="moodle_auto_format")
            _text(a, str(text), cdata=False)
        self.field(a, "feedback", feedback)
        return a

    # --- per type ---

    def _choice(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, ChoiceItem)
        single = item.type == "multiple_choice"
        etree.SubElement(q, "single").text = "true" if single else "false"
        etree.SubElement(q, "shuffleanswers").text = "true" if item.shuffle else "false"
        etree.SubElement(q, "answernumbering").text = "abc"
        etree.SubElement(q, "showstandardinstruction").text = "1"
        self._combined_feedback(q, shownumcorrect=not single)
        for option, fraction in zip(item.options, self._fractions(item)):
            self._answer(q, fraction, self.mh.inline(option.text), self.mh.block(option.feedback))

    def _fractions(self, item: ChoiceItem) -> list[str]:
        """Each option's fraction, in option order, on Moodle's grade list."""
        if item.type == "multiple_choice":
            return ["100" if o.correct else "0" for o in item.options]
        n_correct = len(item.keys)
        grades = moodle_fractions(n_correct, len(item.options) - n_correct, item.scoring)
        if grades is None:
            raise ItemSkipped(f"{n_correct} correct options cannot share 100% on Moodle's grade list (IB221)")
        if not grades.exact:
            self.all_or_nothing.append(item.id)
        correct, wrong = iter(grades.correct), iter(grades.wrong)
        return [format_fraction(next(correct) if o.correct else next(wrong)) for o in item.options]

    def _true_false(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, TrueFalseItem)
        for value, feedback in ((True, item.true_feedback), (False, item.false_feedback)):
            a = etree.SubElement(q, "answer", fraction="100" if item.answer is value else "0", format="moodle_auto_format")
            _text(a, "true" if value else "false", cdata=False)
            self.field(a, "feedback", self.mh.block(feedback))

    def _short_answer(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, ShortAnswerItem)
        etree.SubElement(q, "usecase").text = "1" if item.case_sensitive else "0"
        for answer in item.answers:
            self._answer(q, "100", shortanswer_literal(answer), html=False)

    def _calculated(self, item: CalculatedItem) -> etree._Element:
        """``calculated``: the answer formula, tolerance, units and one private dataset per variable."""
        try:
            calc = MoodleCalculated(item, self.dataset_items)
        except ValueError as exc:  # no finite variants (validation rules this out for 300 draws)
            raise ItemSkipped(str(exc)) from None
        if calc.lost_formats():
            self.calculated_formats.append(item.id)
        shown = calc.item_for_text()
        q = etree.Element("question", type="calculated")
        self._header(q, shown, self.mh.block(shown.stem))
        etree.SubElement(q, "synchronize").text = "0"
        etree.SubElement(q, "single").text = "0"
        etree.SubElement(q, "answernumbering").text = "abc"
        etree.SubElement(q, "shuffleanswers").text = "0"
        self._combined_feedback(q, shownumcorrect=False)
        etree.SubElement(q, "unitgradingtype").text = "0"
        etree.SubElement(q, "unitpenalty").text = "0.1000000"
        etree.SubElement(q, "showunits").text = "0" if item.unit else "3"
        etree.SubElement(q, "unitsleft").text = "0"
        a = etree.SubElement(q, "answer", fraction="100")
        _text(a, calc.answer, cdata=False)
        etree.SubElement(a, "tolerance").text = format_number(item.tolerance)
        etree.SubElement(a, "tolerancetype").text = TOLERANCE_TYPE[item.tolerance_type]
        etree.SubElement(a, "correctanswerformat").text = "1"  # decimals
        etree.SubElement(a, "correctanswerlength").text = str(item.answer_decimals)
        self.field(a, "feedback", EMPTY)
        if item.unit:
            unit = etree.SubElement(etree.SubElement(q, "units"), "unit")
            etree.SubElement(unit, "multiplier").text = "1"
            etree.SubElement(unit, "unit_name").text = item.unit
        definitions = etree.SubElement(q, "dataset_definitions")
        for var in item.variables:
            d = etree.SubElement(definitions, "dataset_definition")
            _text(etree.SubElement(d, "status"), "private", cdata=False)
            _text(etree.SubElement(d, "name"), var.name, cdata=False)
            etree.SubElement(d, "type").text = "calculated"
            _text(etree.SubElement(d, "distribution"), "uniform", cdata=False)
            places = var.places
            _text(etree.SubElement(d, "minimum"), dataset_value(var.low, places), cdata=False)
            _text(etree.SubElement(d, "maximum"), dataset_value(var.high, places), cdata=False)
            _text(etree.SubElement(d, "decimals"), str(places), cdata=False)
            etree.SubElement(d, "itemcount").text = str(len(calc.variants))
            items = etree.SubElement(d, "dataset_items")
            for n, v in enumerate(calc.variants, 1):
                di = etree.SubElement(items, "dataset_item")
                etree.SubElement(di, "number").text = str(n)
                etree.SubElement(di, "value").text = dataset_value(v.names[var.name], places)
            etree.SubElement(d, "number_of_items").text = str(len(calc.variants))
        self._hints(q, shown)
        self._tags(q, item)
        return q

    def _numeric(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, NumericItem)
        a = self._answer(q, "100", format_number(item.centre), html=False)
        etree.SubElement(a, "tolerance").text = format_number(item.half_width)
        if item.unit:
            unit = etree.SubElement(etree.SubElement(q, "units"), "unit")
            etree.SubElement(unit, "multiplier").text = "1"
            etree.SubElement(unit, "unit_name").text = item.unit
        etree.SubElement(q, "unitgradingtype").text = "0"  # the unit is optional: "50000" and "50000 examples" both score
        etree.SubElement(q, "unitpenalty").text = "0.1000000"
        etree.SubElement(q, "showunits").text = "0" if item.unit else "3"  # 0: text input, 3: no units
        etree.SubElement(q, "unitsleft").text = "0"

    def _essay_options(self, q: etree._Element, *, required: bool, lines: int, min_words: int | None, max_words: int | None) -> None:
        etree.SubElement(q, "responseformat").text = "editor"
        etree.SubElement(q, "responserequired").text = "1" if required else "0"
        etree.SubElement(q, "responsefieldlines").text = str(lines)
        if min_words:
            etree.SubElement(q, "minwordlimit").text = str(min_words)
        if max_words:
            etree.SubElement(q, "maxwordlimit").text = str(max_words)
        etree.SubElement(q, "attachments").text = "0"
        etree.SubElement(q, "attachmentsrequired").text = "0"

    def _essay(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, EssayItem)
        self._essay_options(q, required=True, lines=15, min_words=item.min_words, max_words=item.max_words)
        self.field(q, "graderinfo", grader_info(item, self.mh))
        template = etree.SubElement(q, "responsetemplate", format="html")
        _text(template, plain_to_html(item.response_template) if item.response_template else "")

    def _flashcard(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, FlashcardItem)
        # A self-check card: the learner may write what they recall; the back shows as general feedback.
        self._essay_options(q, required=False, lines=5, min_words=None, max_words=None)
        self.field(q, "graderinfo", grader_info(item, self.mh))
        _text(etree.SubElement(q, "responsetemplate", format="html"), "")

    def _matching(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, MatchingItem)
        etree.SubElement(q, "shuffleanswers").text = "true" if item.shuffle else "false"
        self._combined_feedback(q, shownumcorrect=True)
        # Pairs that share a match carry the same answer text (its first spelling): Moodle offers each
        # distinct answer text once in every prompt's menu (qtype_match).
        answers = iter(match_answers([*(item.targets[t] for t in item.target_of), *item.distractors]))
        for pair in item.pairs:
            sub = self.field(q, "subquestion", self.mh.inline(pair.prompt))
            _text(etree.SubElement(sub, "answer"), next(answers), cdata=False)
        for answer in answers:
            # An empty subquestion with an answer is how Moodle stores an extra wrong answer (a distractor).
            sub = self.field(q, "subquestion", EMPTY)
            _text(etree.SubElement(sub, "answer"), answer, cdata=False)

    def _ordering(self, q: etree._Element, item: AnyItem) -> None:
        assert isinstance(item, OrderingItem)
        etree.SubElement(q, "layouttype").text = "VERTICAL"
        etree.SubElement(q, "selecttype").text = "ALL"
        etree.SubElement(q, "selectcount").text = str(len(item.sequence))
        etree.SubElement(q, "gradingtype").text = "ABSOLUTE_POSITION"
        etree.SubElement(q, "showgrading").text = "SHOW"
        etree.SubElement(q, "numberingstyle").text = "none"
        self._combined_feedback(q, shownumcorrect=True)
        for entry in item.sequence:  # in the correct order; Moodle shuffles them for the learner
            self._answer(q, "100", Html(_html.escape(entry, quote=False)))

    def _cloze(self, item: ClozeItem) -> etree._Element:
        q = etree.Element("question", type="cloze")
        self._header(q, item, cloze_text(item, self.mh), grade=False)  # Moodle sums the blanks' weights
        self._hints(q, item)
        self._tags(q, item)
        return q


# --- text rules of Moodle's own syntaxes -------------------------------------------------------


def shortanswer_literal(answer: str) -> str:
    """A short answer matched literally: Moodle reads ``*`` as a wildcard unless written ``\\*``."""
    return answer.replace("*", "\\*")


def cloze_text(item: ClozeItem, mh: MoodleHtml) -> Html:
    """The stem with each ``{{name}}`` replaced by Moodle's embedded answer ``{weight:TYPE:...}``."""
    # The placeholders as tokens Markdown cannot touch (a blank named _a_ is no emphasis).
    opaque = opaque_placeholders(item.stem)
    stem = mh.block(opaque.text)
    weights = cloze_weights(item)
    # A literal "{" in the text could be read as an embedded answer (or as Moodle's own "{#1}"):
    # as an entity it shows the same and parses as text (the tokens' braces first go with them).
    pieces = opaque.split(stem.text)
    names = pieces[1::2]
    if sorted(names) != sorted(b.name for b in item.blanks):
        raise ItemSkipped("a blank's placeholder did not survive Markdown rendering (is it inside a link or image?)")
    codes = {b.name: embedded_answer(b, weights[b.name], mh) for b in item.blanks}
    text = "".join(piece.replace("{", "&#123;") if i % 2 == 0 else codes[piece] for i, piece in enumerate(pieces))
    return Html(text, stem.images)


def cloze_marks_changed(bank: Bank, result: ExportResult) -> list[str]:
    """The written cloze items whose mark in Moodle (the sum of their weights) is not their points,
    each as ``id (points -> mark)``."""
    skipped = {item_id for item_id, _ in result.skipped}
    changed = []
    for item in bank.items:
        if isinstance(item, ClozeItem) and item.id not in skipped:
            mark = sum(cloze_weights(item).values())
            if abs(mark - item.points) > 1e-9:
                changed.append(f"{item.id} ({number_text(item.points)} -> {mark})")
    return changed


def cloze_weights(item: ClozeItem) -> dict[str, int]:
    """Integer weights (Moodle's syntax has no others) in the blanks' proportions.

    Scaled so that they add up to the item's points when that gives integers (Moodle's mark for a
    cloze question is the sum of its weights), else the smallest integers in the same proportions.
    """
    total = sum(b.points for b in item.blanks)
    scaled = {b.name: b.points * item.points / total for b in item.blanks}
    if all(abs(w - round(w)) < 1e-9 and round(w) >= 1 for w in scaled.values()):
        return {k: round(w) for k, w in scaled.items()}
    for factor in range(1, 1001):
        raw = {b.name: b.points * factor for b in item.blanks}
        if all(abs(w - round(w)) < 1e-9 and round(w) >= 1 for w in raw.values()):
            return {k: round(w) for k, w in raw.items()}
    raise ItemSkipped("blank points cannot be written as Moodle's integer blank weights")


_CLOZE_SPECIAL = re.compile(r'([\\}#~/"])')


def cloze_answer(text: str) -> str:
    """An answer inside ``{…}``: ``} # ~ / " \\`` backslash-escaped, then HTML-escaped (the stem is HTML)."""
    stripped = text.strip()
    if stripped.endswith(("\\", "&")):
        # Moodle's answer pattern never ends after "\\" or "&amp;": the blank would swallow the next one.
        raise ItemSkipped(f"cloze answer {stripped!r} ends with '{stripped[-1]}', which Moodle's embedded-answer syntax cannot end an answer with")
    return _html.escape(_CLOZE_SPECIAL.sub(r"\\\1", stripped), quote=False)


# "~" and "}" end a feedback, a "\\" before them would hide that end, "{" could start an answer;
# "#" inside a feedback is plain text to Moodle's pattern.
_FEEDBACK_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "{}~\\"})


def cloze_feedback(html: str) -> str:
    """Feedback HTML inside ``{…}``: the characters Moodle's pattern would read as syntax become entities."""
    return html.translate(_FEEDBACK_ENTITIES)


def embedded_answer(blank: Blank, weight: int, mh: MoodleHtml) -> str:
    """One blank in Moodle's embedded-answer syntax, e.g. ``{2:SHORTANSWER:%100%pre-trained~%0%*#Not quite}``."""
    feedback = mh.inline(blank.feedback)
    if feedback.images:
        raise ItemSkipped("an image in a cloze blank's feedback cannot be embedded in Moodle's embedded-answer syntax")
    wrong_fb = f"#{cloze_feedback(feedback.text)}" if feedback.text else ""
    if blank.kind == "text":
        qtype = "SHORTANSWER_C" if blank.case_sensitive else "SHORTANSWER"
        alts = [f"%100%{cloze_answer(shortanswer_literal(a))}" for a in blank.answers]
        if wrong_fb:
            alts.append(f"%0%*{wrong_fb}")
    elif blank.kind == "choice":
        qtype = "MULTICHOICE"
        alts = [f"%100%{cloze_answer(c)}" if c == blank.correct else f"%0%{cloze_answer(c)}{wrong_fb}" for c in blank.choices]
    else:
        qtype = "NUMERICAL"
        assert blank.number is not None
        alts = [f"%100%{format_number(blank.number)}:{format_number(blank.tolerance)}"]
        if wrong_fb:
            alts.append(f"%0%*{wrong_fb}")
    return "{" + f"{weight}:{qtype}:" + "~".join(alts) + "}"


exporter = MoodleXmlExporter()
