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
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple


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
from ..kit.escape import as_is, attr_markup, finalize
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
    import jinja2

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
    shares_out = True  # its items over ExportContext.jobs processes; see itembank.formats.Exporter
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
        # Each question is written by the template on its own into one growing buffer, so memory
        # holds the output once (measured on 10,000 items when the questions were lxml trees: peak
        # 326 MB with one document tree, 175 MB serialized one at a time like this).
        out = io.BytesIO()
        out.write(XML_HEADER + b"<quiz>\n  " + MOODLE_XML_MARK + b"\n")  # the mark first: a later export may replace the file
        for comment, path, items in cats:
            out.write(_comment(comment))
            out.write(category_question(path))
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

    A piece holds the question's bytes as :func:`_question_bytes` wrote them and, in its head, what the
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
    """The item's ``<question>`` as the Moodle XML file holds it (:class:`ItemSkipped` when Moodle
    cannot take it); a text XML cannot hold is an error that names the item."""
    try:
        return w.question(item)
    except ValueError as exc:  # what lxml refused: characters XML 1.0 cannot hold (validation rule IB216 finds them first)
        raise ItembankError(f"item '{item.id}': {exc} (validating the bank finds the text)") from None


#: A hyphen followed by another: "--" cannot appear inside an XML comment.
_HYPHEN_PAIR = re.compile("-(?=-)")


def _comment_safe(text: str) -> str:
    """``text`` on one line, a space after each hyphen another follows ("a---b": "a- - -b"; replacing
    each "--" left "a- --b", which lxml refuses)."""
    return _HYPHEN_PAIR.sub("- ", text.replace("\n", " "))


def _comment(text: str) -> bytes:
    """A comment line of ``<quiz>``: ``text`` (:func:`_comment_safe`), as lxml writes a comment."""
    return _render(kind="comment", comment=as_is(f" {_comment_safe(text)} "))


def category_question(path: str) -> bytes:
    """A category question: the questions after it go into the category ``path``."""
    return _render(kind="category", path=path)


# --- the template --------------------------------------------------------------------------------

TEMPLATE = Path(__file__).with_name("templates") / "question.xml.j2"
#: A line of the template that stands for an HTML field's text and files (see the template's note).
_TEXT_LINE = re.compile(r"^@text (\d+) (\w+)$", re.MULTILINE)


def _expanded(source: str) -> str:
    """The template's source with each ``@text N V`` line written out."""

    def lines(m: re.Match[str]) -> str:
        pad, v = " " * int(m.group(1)), m.group(2)
        return (
            f"{pad}<text>{{% if {v}.cdata %}}<![CDATA[{{{{ {v}.raw }}}}]]>{{% else %}}{{{{ {v}.raw }}}}{{% endif %}}</text>\n"
            f"{{%- for file_name, file_data in {v}.files %}}\n"
            f'{pad}<file name="{{{{ file_name|attr }}}}" path="/" encoding="base64">{{{{ file_data }}}}</file>\n'
            "{%- endfor %}"
        )

    return _TEXT_LINE.sub(lines, source)


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    """The template (its environment made once a process)."""
    import jinja2  # (by the processes that write questions: a build's parent loads every format first)

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _expanded(TEMPLATE.read_text(encoding="utf-8"))),
        autoescape=False,  # every value is written by finalize, escaped unless the writer made it Markup
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.filters["attr"] = attr_markup
    return env.get_template(TEMPLATE.name)


#: The values a kind of question does not have (the template asks for them all).
_NONE: dict[str, Any] = {"grade": None, "unit": None, "shownumcorrect": False, "answers": (), "hints": (), "tags": ()}


def _render(**values: Any) -> bytes:
    """One child of ``<quiz>`` (``kind``: "comment", "category" or a question's), its line break after it."""
    return (_template().render(**values)[1:] + "\n").encode("utf-8")  # (its text starts with a line break)


class Field(NamedTuple):
    """The ``<text>`` of an HTML field: its HTML in CDATA (as Moodle writes it), or escaped where
    CDATA cannot hold it (it holds "]]>"; an empty text); and the images it shows, as ``<file>``
    elements (name, base64).  A named tuple: ~20 are made for each question, where a frozen
    dataclass's construction cost three times as much."""

    raw: str
    cdata: bool
    files: tuple[tuple[str, str], ...] = ()


_NO_TEXT = Field("", False)


class _QuestionWriter:
    """Writes one ``<question>`` per item; raises :class:`ItemSkipped` for what Moodle cannot take."""

    def __init__(self, mh: MoodleHtml, media: MediaFiles, dataset_items: int = 10) -> None:
        self.mh = mh
        self.media = media
        self.dataset_items = dataset_items
        self.calculated_formats: list[str] = []
        self.all_or_nothing: list[str] = []
        self.changed_tags: list[str] = []  # tags Moodle changes on import: longer than 50 characters, or TAG_UNSAFE
        self._body: dict[str, Callable[[AnyItem], dict[str, Any]]] = {
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

    def question(self, item: AnyItem) -> bytes:
        """The item's ``<question>``: its parts made in the order of the file (images are read,
        notes and changed tags kept, in that order)."""
        if isinstance(item, CalculatedItem):
            return self._calculated(item)
        if isinstance(item, ClozeItem):  # no grade: Moodle sums the blanks' weights
            header = self._header(item, cloze_text(item, self.mh), grade=False)
            body: dict[str, Any] = {"kind": "cloze"}
        else:
            header = self._header(item, self.mh.block(item.stem))
            body = self._body[item.type](item)
        return _render(**{**_NONE, **header, **body, "hints": self._hints(item), "tags": self._tags(item)})

    # --- parts every question has ---

    def field(self, html: Html) -> Field:
        """An HTML field's text and images."""
        text = html.text
        files = tuple((image.name, self.media.base64(image.ref)) for image in html.images) if html.images else ()
        if text and "]]>" not in text:
            return Field(as_is(text), True, files)
        return Field(text, False, files) if (text or files) else _NO_TEXT

    def _header(self, item: AnyItem, stem: Html, *, grade: bool = True) -> dict[str, Any]:
        penalty = "1.0000000" if item.type == "true_false" else ("0.0000000" if item.type in ("essay", "flashcard") else DEFAULT_PENALTY)
        return {
            "qtype": QTYPES[item.type],
            "name": item.name,
            "stem": self.field(stem),
            "general": self.field(general_feedback(item, self.mh, hints=item.type in TYPES_WITHOUT_HINTS)),
            "grade": f"{item.points:.7f}" if grade else None,
            "penalty": penalty,
            "idnumber": item.id,
        }

    def _hints(self, item: AnyItem) -> list[Field]:
        if item.type in TYPES_WITHOUT_HINTS:
            return []  # their hints are in the general feedback
        return [self.field(self.mh.block(hint)) for hint in item.hints]

    def _tags(self, item: AnyItem) -> list[str]:
        tags = item_tags(item)
        for tag in tags:
            if len(tag) > 50 or TAG_UNSAFE.search(tag):  # what Moodle changes (both noted by the export)
                self.changed_tags.append(tag)
        return tags

    # --- per type ---

    def _choice(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, ChoiceItem)
        single = item.type == "multiple_choice"
        answers = [
            (fraction, self.field(self.mh.inline(option.text)), self.field(self.mh.block(option.feedback)))
            for option, fraction in zip(item.options, self._fractions(item))
        ]
        return {"kind": "choice", "single": _bool(single), "shuffle": _bool(item.shuffle), "shownumcorrect": not single, "answers": answers}

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

    def _true_false(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, TrueFalseItem)
        answers = [
            ("100" if item.answer is value else "0", "true" if value else "false", self.field(self.mh.block(feedback)))
            for value, feedback in ((True, item.true_feedback), (False, item.false_feedback))
        ]
        return {"kind": "true_false", "answers": answers}

    def _short_answer(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, ShortAnswerItem)
        answers = [("100", shortanswer_literal(answer), _NO_TEXT) for answer in item.answers]
        return {"kind": "short_answer", "usecase": "1" if item.case_sensitive else "0", "answers": answers}

    def _numeric(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, NumericItem)
        return {
            "kind": "numeric",
            "answers": [("100", format_number(item.centre), _NO_TEXT)],
            "tolerance": format_number(item.half_width),
            "unit": item.unit or None,
            "showunits": "0" if item.unit else "3",  # 0: text input, 3: no units; the unit is optional ("50000" scores)
        }

    def _essay(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, EssayItem)
        template = Html(plain_to_html(item.response_template)) if item.response_template else EMPTY
        return {
            "kind": "essay",
            "required": "1",
            "lines": "15",
            "min_words": str(item.min_words) if item.min_words else None,
            "max_words": str(item.max_words) if item.max_words else None,
            "grader": self.field(grader_info(item, self.mh)),
            "template": self.field(template),
        }

    def _flashcard(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, FlashcardItem)
        # A self-check card: the learner may write what they recall; the back shows as general feedback.
        return {"kind": "flashcard", "required": "0", "lines": "5", "min_words": None, "max_words": None, "grader": self.field(grader_info(item, self.mh)), "template": _NO_TEXT}

    def _matching(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, MatchingItem)
        # Pairs that share a match carry the same answer text (its first spelling): Moodle offers each
        # distinct answer text once in every prompt's menu (qtype_match).
        answers = iter(match_answers([*(item.targets[t] for t in item.target_of), *item.distractors]))
        subquestions = [(self.field(self.mh.inline(pair.prompt)), next(answers)) for pair in item.pairs]
        # An empty subquestion with an answer is how Moodle stores an extra wrong answer (a distractor).
        subquestions += [(_NO_TEXT, answer) for answer in answers]
        return {"kind": "matching", "shuffle": _bool(item.shuffle), "shownumcorrect": True, "subquestions": subquestions}

    def _ordering(self, item: AnyItem) -> dict[str, Any]:
        assert isinstance(item, OrderingItem)
        # in the correct order; Moodle shuffles them for the learner
        answers = [("100", self.field(Html(_html.escape(entry, quote=False))), _NO_TEXT) for entry in item.sequence]
        return {"kind": "ordering", "count": str(len(item.sequence)), "shownumcorrect": True, "answers": answers}

    def _calculated(self, item: CalculatedItem) -> bytes:
        """``calculated``: the answer formula, tolerance, units and one private dataset per variable."""
        try:
            calc = MoodleCalculated(item, self.dataset_items)
        except ValueError as exc:  # no finite variants (validation rules this out for 300 draws)
            raise ItemSkipped(str(exc)) from None
        if calc.lost_formats():
            self.calculated_formats.append(item.id)
        shown = calc.item_for_text()
        count = str(len(calc.variants))
        datasets = [
            {
                "name": var.name,
                "minimum": dataset_value(var.low, var.places),
                "maximum": dataset_value(var.high, var.places),
                "decimals": str(var.places),
                "count": count,
                "data": [dataset_value(v.names[var.name], var.places) for v in calc.variants],
            }
            for var in item.variables
        ]
        return _render(**{
            **_NONE,
            **self._header(shown, self.mh.block(shown.stem)),
            "kind": "calculated",
            "showunits": "0" if item.unit else "3",
            "answer": calc.answer,
            "tolerance": format_number(item.tolerance),
            "tolerancetype": TOLERANCE_TYPE[item.tolerance_type],
            "answer_length": str(item.answer_decimals),
            "unit": item.unit or None,
            "datasets": datasets,
            "hints": self._hints(shown),
            "tags": self._tags(item),
        })


def _bool(value: bool) -> str:
    return "true" if value else "false"


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
