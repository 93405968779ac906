"""One item -> a Canvas QTI 1.2 <item>: presentation, response processing, feedback (the values per item type, the XML by templates)."""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lxml import etree
from markupsafe import Markup

from itembank.model import (
    AnyItem,
    CalculatedItem,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    Item,
    ItemType,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    Solution,
    Step,
    TrueFalseItem,
    opaque_placeholders,
)
from itembank.render import escape, literal
from itembank.variants import key

from ..kit.escape import xml_attr, xml_text
from ..kit.numbers import fixed_text, number_text, percent_text
from .calculated import CanvasCalculated
from .html import CanvasHtml, Feedback, general_feedback, incorrect_feedback, section_html
from .names import QTI_NS, answer_ids

if TYPE_CHECKING:
    import jinja2

# --- XML helpers ----------------------------------------------------------------------------------

QTI = f"{{{QTI_NS}}}"

# Questions are written WITHOUT a namespace and only ever put inside a ``<questestinterop
# xmlns="…ims_qtiasiv1p2">`` document, whose default namespace they inherit; the tests and the
# checker read every question back in the QTI namespace.  The package's own elements (the quiz's
# and the banks' metadata) are built with lxml: these helpers.
sub = etree.SubElement


def meta_field(parent: etree._Element, label: str, entry: str) -> None:
    f = sub(parent, "qtimetadatafield")
    sub(f, "fieldlabel").text = label
    sub(f, "fieldentry").text = entry


# --- one item -------------------------------------------------------------------------------------


@dataclass
class Built:
    """A Canvas question: its question-bank copy's bytes (as lxml wrote the element: no namespace,
    no declaration) and what the summary needs."""

    data: bytes
    canvas_type: str


#: Markup of a string that holds nothing XML escapes (an answer id, a number, a fixed word), or that
#: is escaped already (``str.__new__``: Markup's own constructor is Python code).
_markup: Callable[[str], Markup] = partial(str.__new__, Markup)


def _text(value: str) -> Markup:
    """``value`` as element text, escaped as lxml writes it (``kit.escape``)."""
    return _markup(xml_text(value))


def _attr(value: str) -> Markup:
    """``value`` as an attribute's value, escaped as lxml writes it."""
    return _markup(xml_attr(value))


class ItemBuilder:
    """Writes the Canvas-flavour ``<item>`` of one model item: the values worked out here, the XML
    written by a Jinja2 template per kind (``templates/``: ``question.xml.j2`` and what extends it).

    The templates are not autoescaped (an escape call per value would be a good part of the time):
    every value is escaped here as lxml escapes it (``kit.escape``) or holds nothing XML escapes;
    ``strict`` templates (the tests') autoescape, and must write every question alike."""

    def __init__(self, html: CanvasHtml, notes: list[str], var_sets: int = 10, strict: bool = False) -> None:
        self.html = html
        self.notes = notes
        self.var_sets = var_sets  # calculated items: generated variable sets each
        self.templates = _templates(strict)

    # entry point
    def build(self, item: AnyItem, ident: str) -> Built | None:
        build = self.BUILDERS.get(item.type)
        if build is None:
            return None
        return build(self, item, ident)

    def _question(
        self, kind: str, item: Item, ident: str, canvas_type: str, ids: list[str], stem_html: str, fb: Feedback, **values: Any
    ) -> Built:
        """The question: its metadata, the stem, the kind's presentation and conditions, the feedback
        (the general feedback's condition first, the incorrect one's last, then every itemfeedback)."""
        fields = [("question_type", canvas_type), ("points_possible", number_text(item.points)), ("original_answer_ids", ",".join(ids))]
        if item.title:  # the title attribute holds the title, the ident a hash: the id travels here (Canvas ignores the field)
            fields.append(("itembank_id", item.id))
        feedbacks = [(i, b) for i, b in (("general_fb", fb.general), ("correct_fb", fb.correct), ("general_incorrect_fb", fb.incorrect)) if b]
        feedbacks += [(f"{answer_id}_fb", body) for answer_id, body in fb.answers.items()]
        out = self.templates.of(kind).render(
            ident=_attr(ident),
            title=_attr(item.name),
            fields=[(_markup(label), _text(entry)) for label, entry in fields],
            stem=_text(f"<div>{stem_html}</div>"),  # entity-escaped HTML, as Canvas's own exporter writes it
            general=bool(fb.general),
            incorrect=bool(fb.incorrect),
            correct=bool(fb.correct),
            feedbacks=[(_attr(i), _text(b)) for i, b in feedbacks],
            **values,
        )
        return Built(out.encode("utf-8"), canvas_type)

    def _base_feedback(self, item: Item) -> Feedback:
        return Feedback(general=general_feedback(item, self.html), incorrect=incorrect_feedback(item, self.html))

    # types ---------------------------------------------------------------------------------------

    def _build_multiple_choice(self, item: ChoiceItem, ident: str) -> Built:
        return self._build_choice(item, ident, "multiple_choice_question")

    def _build_multiple_response(self, item: ChoiceItem, ident: str) -> Built:
        if item.scoring == "all_or_nothing":
            self.notes.append(
                f"[{item.id}] all-or-nothing scoring: Classic Quizzes always give partial credit on multiple answers "
                "(New Quizzes: set 'exact match' after import)"
            )
        return self._build_choice(item, ident, "multiple_answers_question")

    def _build_choice(self, item: ChoiceItem, ident: str, canvas_type: str) -> Built:
        ids = answer_ids(item, len(item.options))
        stem = self.html.block(item.stem)
        single = canvas_type == "multiple_choice_question"
        texts = [self.html.inline(o.text) for o in item.options]
        fb = self._base_feedback(item)
        fb.answers = {i: self.html.block(o.feedback) for i, o in zip(ids, item.options) if o.feedback}
        key = next(i for i, o in zip(ids, item.options) if o.correct) if single else None
        return self._question(
            "choice", item, ident, canvas_type, ids, stem, fb,
            cardinality=_markup("Single" if single else "Multiple"),
            choices=[(_markup(i), _text(t)) for i, t in zip(ids, texts)],
            commented=[_markup(i) for i in fb.answers],
            key=_markup(key) if key is not None else None,
            options=[(_markup(i), o.correct) for i, o in zip(ids, item.options)],
        )

    def _build_true_false(self, item: TrueFalseItem, ident: str) -> Built:
        ids = answer_ids(item, 2)
        stem = self.html.block(item.stem)
        fb = self._base_feedback(item)
        for answer_id, text in zip(ids, (item.true_feedback, item.false_feedback)):
            if text:
                fb.answers[answer_id] = self.html.block(text)
        return self._question(
            "choice", item, ident, "true_false_question", ids, stem, fb,
            cardinality=_markup("Single"),
            choices=[(_markup(ids[0]), _markup("True")), (_markup(ids[1]), _markup("False"))],
            commented=[_markup(i) for i in fb.answers],
            key=_markup(ids[0] if item.answer else ids[1]),
            options=[],
        )

    def _build_short_answer(self, item: ShortAnswerItem, ident: str) -> Built:
        if item.case_sensitive:
            self.notes.append(f"[{item.id}] case-sensitive answers: Canvas short-answer questions ignore letter case")
        ids = answer_ids(item, len(item.answers))
        stem = self.html.block(item.stem)
        fb = self._base_feedback(item)
        return self._question(
            "text", item, ident, "short_answer_question", ids, stem, fb,
            fibtype=None, test="answers", answers=[_text(a) for a in item.answers], scored=True, calculated=False,
        )

    def _build_numeric(self, item: NumericItem, ident: str) -> Built:
        stem = self.html.block(item.stem)
        if item.unit:
            stem += f"<p>Unit: {escape(item.unit)}</p>"
        ids = answer_ids(item, 1)
        fb = self._base_feedback(item)
        values: dict[str, Any]
        if item.range is not None:  # range answer
            values = {"test": "range", "low": _markup(number_text(item.range[0])), "high": _markup(number_text(item.range[1]))}
        else:  # exact answer with margin; Decimal so 0.1 ± 0.01 gives 0.09, not 0.09000000000000001
            assert item.answer is not None
            exact, margin = Decimal(repr(float(item.answer))), Decimal(repr(float(item.tolerance)))
            values = {
                "test": "exact",
                "exact": _markup(number_text(exact)),
                "low": _markup(number_text(exact - margin)),
                "high": _markup(number_text(exact + margin)),
            }
        return self._question("text", item, ident, "numerical_question", ids, stem, fb, fibtype=_markup("Decimal"), scored=True, calculated=False, **values)

    def _build_essay(self, item: EssayItem, ident: str) -> Built:
        stem = self.html.block(item.stem)
        if item.min_words or item.max_words:
            limits = " and ".join(
                p for p in (f"at least {item.min_words}" if item.min_words else "", f"at most {item.max_words}" if item.max_words else "") if p
            )
            stem += f"<p>Write {limits} words.</p>"
        if item.response_template:
            stem += f"<p>Start from:</p><pre>{escape(item.response_template)}</pre>"
        fb = self._base_feedback(item)
        extra: list[str] = []
        if item.rubric:
            rows = "".join(
                f"<li>{self.html.inline(c.criterion)} ({number_text(c.points)} pt)"
                + (f": {self.html.inline(c.description)}" if c.description else "")
                + "</li>"
                for c in item.rubric
            )
            extra.append(section_html("Rubric", f"<ul>{rows}</ul>"))
        if item.sample_answer:
            extra.append(section_html("Sample answer", self.html.block(item.sample_answer)))
        fb.general += "".join(extra)
        return self._question("text", item, ident, "essay_question", [], stem, fb, fibtype=None, test="other", scored=False, calculated=False)

    def _matching(
        self, item: Item, ident: str, stem: str, lefts: list[str], rights: list[str], extra_rights: tuple[str, ...]
    ) -> Built:
        """A matching_question: one response_lid per left entry, every (distinct) right entry as a choice.

        Canvas lists the choices in the file's order under every left entry: in the answers' order
        the first choice would answer the first entry (an ordering item: the steps in the correct
        order), so the choices are scrambled, seeded by the item id, never left in that order.
        """
        choices = _scrambled(item.id, list(dict.fromkeys([*rights, *extra_rights])))
        ids = answer_ids(item, len(lefts) + len(choices))
        left_ids, match_ids = ids[: len(lefts)], dict(zip(choices, ids[len(lefts) :]))
        labels = [(_markup(match_id), _text(text)) for text, match_id in match_ids.items()]
        return self._question(
            "lists", item, ident, "matching_question", left_ids, stem, self._base_feedback(item),
            lids=[(_attr(f"response_{left_id}"), _text(left), _markup("text/html"), labels) for left_id, left in zip(left_ids, lefts)],
            scoring=[(_attr(f"response_{left_id}"), _markup(match_ids[right])) for left_id, right in zip(left_ids, rights)],
            share=_markup(f"{100.0 / len(lefts):.2f}"),
        )

    def _build_matching(self, item: MatchingItem, ident: str) -> Built:
        return self._matching(
            item,
            ident,
            self.html.block(item.stem),
            [self.html.inline(p.prompt) for p in item.pairs],
            # A match several pairs share is one choice (its first spelling), as Canvas itself gives
            # answers with the same right side one match_id.
            [item.targets[t] for t in item.target_of],
            item.distractors,
        )

    def _build_ordering(self, item: OrderingItem, ident: str) -> Built:
        # No Classic ordering type: a matching question "position -> step" scores each place.
        stem = self.html.block(item.stem) + "<p>Match each position with the step that belongs there.</p>"
        positions = [f"Position {n}" for n in range(1, len(item.sequence) + 1)]
        return self._matching(item, ident, stem, positions, list(item.sequence), ())

    def _build_cloze(self, item: ClozeItem, ident: str) -> Built:
        kinds = {b.kind for b in item.blanks}
        dropdowns = kinds == {"choice"}
        canvas_type = "multiple_dropdowns_question" if dropdowns else "fill_in_multiple_blanks_question"
        answers: list[tuple[str, list[str], str | None]] = []  # blank, accepted/offered texts, correct
        shown_choices: dict[str, str] = {}
        for b in item.blanks:
            if b.kind == "choice":
                if dropdowns:
                    answers.append((b.name, list(b.choices), b.correct))
                else:  # mixed cloze: typed blank accepting the right choice; choices shown after it
                    answers.append((b.name, [b.correct or ""], None))
                    # Choices are plain text (itembank.fields) going into the Markdown stem: literal.
                    shown_choices[b.name] = " / ".join(literal(c) for c in b.choices)
            elif b.kind == "numeric":
                assert b.number is not None
                if b.tolerance:
                    self.notes.append(
                        f"[{item.id}] blank '{b.name}': tolerance ±{number_text(b.tolerance)} cannot be expressed in a Canvas blank; "
                        "only the exact value is accepted"
                    )
                values = [number_text(b.number)]
                if float(b.number).is_integer() and abs(b.number) < 1e15:  # "3" and "3.0"; above, as written only (no binary digits)
                    values.append(f"{float(b.number):.1f}")
                answers.append((b.name, values, None))
            else:
                if b.case_sensitive:
                    self.notes.append(f"[{item.id}] blank '{b.name}': Canvas blanks ignore letter case")
                answers.append((b.name, list(b.answers), None))
        if len({b.points for b in item.blanks}) > 1:
            self.notes.append(f"[{item.id}] blank weights differ: Canvas splits the points equally between blanks")

        # The placeholders as tokens Markdown cannot touch (a blank named _a_ is no emphasis, nor are
        # [_x] ... [y_]), each followed by its choices as Markdown; Canvas's [name] goes in after.
        opaque = opaque_placeholders(item.stem, lambda name: f" ({shown_choices[name]})" if name in shown_choices else "")
        rendered = self.html.block(opaque.text)
        variable = canvas_variables(item, "".join(opaque.split(rendered)[::2]))
        stem = opaque.replace(rendered, lambda name: f"[{variable[name]}]")
        ids = answer_ids(item, sum(len(a[1]) for a in answers))
        it = iter(ids)
        lids: list[tuple[Markup, Markup, Markup | None, list[tuple[Markup, Markup]]]] = []
        scoring: list[tuple[Markup, Markup]] = []
        for name, texts, correct in answers:
            name = variable[name]
            labels: list[tuple[Markup, Markup]] = []
            first_right: str | None = None
            for text in texts:
                answer_id = next(it)
                labels.append((_markup(answer_id), _text(text)))
                if first_right is None and (correct is None or text == correct):
                    first_right = answer_id
            assert first_right is not None
            lids.append((_attr(f"response_{name}"), _text(name), None, labels))
            scoring.append((_attr(f"response_{name}"), _markup(first_right)))
        fb = self._base_feedback(item)
        wrong = [(b.name, b.feedback) for b in item.blanks if b.feedback]
        if wrong:
            # Canvas has no per-blank wrong-answer feedback: they join the incorrect feedback, by blank.
            rows = "".join(f"<li><strong>[{escape(variable[n])}]</strong> {self.html.block(t)}</li>" for n, t in wrong)
            fb.incorrect += section_html("If a blank was wrong", f"<ul>{rows}</ul>")
        return self._question("lists", item, ident, canvas_type, ids, stem, fb, lids=lids, scoring=scoring, share=_markup(f"{100.0 / len(scoring):.2f}"))

    def _build_calculated(self, item: CalculatedItem, ident: str) -> Built:
        """``calculated_question``: [name] variables in the stem, the formula, vars and generated var_sets."""
        calc = CanvasCalculated(item, self.var_sets)  # the package skips items whose stem Canvas cannot show
        shown = replace(
            item,
            rationale=calc.feedback(item.rationale) if item.rationale else None,
            hints=tuple(calc.feedback(h) for h in item.hints),
            common_mistakes=tuple(calc.feedback(c) for c in item.common_mistakes),
            solution=None
            if item.solution is None
            else Solution(
                steps=tuple(Step(text=calc.feedback(s.text), title=calc.feedback(s.title) if s.title else None) for s in item.solution.steps),
                final_answer=calc.feedback(item.solution.final_answer) if item.solution.final_answer else None,
                quick_check=calc.feedback(item.solution.quick_check) if item.solution.quick_check else None,
            ),
        )
        stem = self.html.block(calc.stem(item.stem))
        if item.unit:
            stem += f"<p>Unit: {escape(item.unit)}</p>"
        fb = self._base_feedback(shown)
        tolerance = percent_text(item.tolerance) + "%" if item.tolerance_type == "relative" else number_text(item.tolerance)
        var_sets = [
            (
                _attr(f"{ident}_set{n}"),
                # in decimal, on the variable's places (2.77, never 2.7700000000000005)
                [(_attr(var.name), _text(fixed_text(variant.names[var.name], var.places))) for var in item.variables],
                _text(number_text(key(item, variant.answer))),
            )
            for n, variant in enumerate(calc.variants, 1)
        ]
        return self._question(
            "text", item, ident, "calculated_question", [], stem, fb,
            fibtype=_markup("Decimal"), test="other", scored=True, calculated=True,
            tolerance=_text(tolerance),
            unit=_text(item.unit) if item.unit else None,
            decimals=_attr(str(item.answer_decimals)),
            formula=_text(calc.formula),
            variables=[
                (_attr(v.name), _attr(str(v.places)), _text(number_text(v.low)), _text(number_text(v.high))) for v in item.variables
            ],
            var_sets=var_sets,
        )

    #: The builder of each item type (a type missing here has no Canvas question type).
    BUILDERS: ClassVar[dict[ItemType, Callable[["ItemBuilder", Any, str], Built]]] = {
        "multiple_choice": _build_multiple_choice,
        "multiple_response": _build_multiple_response,
        "true_false": _build_true_false,
        "short_answer": _build_short_answer,
        "numeric": _build_numeric,
        "essay": _build_essay,
        "matching": _build_matching,
        "ordering": _build_ordering,
        "cloze": _build_cloze,
        "calculated": _build_calculated,
    }


def quiz_copy(bank_copy: bytes, bank_ident: str, quiz_ident: str) -> bytes:
    """The quiz question of a question-bank copy: its own ident, and a metadata field that refers to
    the bank copy (``assessment_question_identifierref``) after the others, as Canvas's export has it.
    The bank copy starts ``<item ident="…"``, and its metadata ends at its first ``</qtimetadata>``."""
    head = b'<item ident="%s"' % xml_attr(bank_ident).encode("utf-8")
    end = bank_copy.index(b"</qtimetadata>")
    if not bank_copy.startswith(head):
        raise ValueError("not a question-bank copy")
    before, after = _templates(False).reference
    field = before + xml_text(bank_ident).encode("utf-8") + after
    return b'<item ident="%s"' % xml_attr(quiz_ident).encode("utf-8") + bank_copy[len(head) : end] + field + bank_copy[end:]


class _Templates:
    """The questions' templates (see :class:`ItemBuilder`)."""

    def __init__(self, strict: bool) -> None:
        import jinja2  # (by the processes that write questions: a build's parent loads every format first)

        def source(name: str) -> tuple[str, str, Callable[[], bool]] | None:
            path = TEMPLATES / name
            if not path.is_file():
                return None
            # each line stripped and joined to the next: the question has no space between tags
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            return "".join(line for line in lines if not line.startswith("{#")), str(path), lambda: True

        self.env = jinja2.Environment(loader=jinja2.FunctionLoader(source), autoescape=strict, undefined=jinja2.StrictUndefined, auto_reload=False)
        self.kinds: dict[str, jinja2.Template] = {}
        #: A quiz copy's metadata field that refers to its bank copy, around the bank copy's ident
        #: (written once: the ident, escaped, goes between).
        field = self.env.from_string("<qtimetadatafield><fieldlabel>{{ label }}</fieldlabel><fieldentry>{{ entry }}</fieldentry></qtimetadatafield>")
        before, _, after = field.render(label=_markup("assessment_question_identifierref"), entry=_markup("\x00")).partition("\x00")
        self.reference = before.encode("utf-8"), after.encode("utf-8")

    def of(self, kind: str) -> jinja2.Template:
        t = self.kinds.get(kind)
        if t is None:
            t = self.kinds[kind] = self.env.get_template(f"{kind}.xml.j2")
        return t


@cache
def _templates(strict: bool) -> _Templates:
    return _Templates(strict)


TEMPLATES = Path(__file__).with_name("templates")


def canvas_variables(item: ClozeItem, text: str) -> dict[str, str]:
    """Each blank's Canvas variable: its name, unless the question text (``text``: the rendered stem
    without the blanks) shows ``[name]`` itself (``a[i]`` in code, with a blank named ``i``).  Canvas
    puts a blank's field at the first ``[name]`` of the question text (Quizzes::Quiz
    generate_submission_question: ``text.sub``), so that field went into the code and the blank's
    own place showed "[i]"; such a blank gets ``name_2`` (or the next free number) instead."""
    taken = set(re.findall(r"\[([^\[\]]*)\]", html.unescape(text)))
    out: dict[str, str] = {}
    for b in item.blanks:
        name, n = b.name, 2
        while name in taken:
            name, n = f"{b.name}_{n}", n + 1
        taken.add(name)
        out[b.name] = name
    return out


def _scrambled(item_id: str, values: list[str]) -> list[str]:
    """A scramble of ``values`` seeded by the item id that never leaves them in their given order."""
    out = list(values)
    if len(values) < 2:
        return out
    rng = random.Random(f"canvas:choices:{item_id}")
    for _ in range(20):
        rng.shuffle(out)
        if out != values:
            return out
    return out[1:] + out[:1]
