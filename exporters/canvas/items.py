"""One item -> a Canvas QTI 1.2 <item>: presentation, response processing, feedback (one builder per item type)."""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar

from lxml import etree

from itembank.model import (
    AnyItem,
    CalculatedItem,
    Solution,
    Step,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    Item,
    ItemType,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
    opaque_placeholders,
)
from itembank.render import escape, literal
from itembank.variants import key

from ..kit.numbers import fixed_text, number_text, percent_text
from .calculated import CanvasCalculated
from .html import CanvasHtml, Feedback, general_feedback, incorrect_feedback, section_html
from .names import QTI_NS, answer_ids

# --- XML helpers ----------------------------------------------------------------------------------

QTI = f"{{{QTI_NS}}}"

# Questions are built WITHOUT a namespace and only ever serialized inside a ``<questestinterop
# xmlns="…ims_qtiasiv1p2">`` document, whose default namespace they inherit (lxml writes no
# ``xmlns=""`` for them).  lxml creates an un-namespaced element about 40% faster (no namespace
# lookup up the tree per element), and a question has ~75 elements; the tests and the checker
# read every question back in the QTI namespace.
sub = etree.SubElement


def meta_field(parent: etree._Element, label: str, entry: str) -> None:
    f = sub(parent, "qtimetadatafield")
    sub(f, "fieldlabel").text = label
    sub(f, "fieldentry").text = entry


def _mattext(parent: etree._Element, html: str, texttype: str = "text/html") -> None:
    mat = sub(parent, "material")
    # Entity-escaped HTML, as Canvas's own exporter writes it (lxml escapes '<' and '&').
    sub(mat, "mattext", texttype=texttype).text = html


def _condition(parent: etree._Element, continue_: str | None = None) -> tuple[etree._Element, etree._Element]:
    rc = sub(parent, "respcondition", {"continue": continue_} if continue_ else None)
    return rc, sub(rc, "conditionvar")


def _varequal(parent: etree._Element, respident: str, value: str) -> None:
    sub(parent, "varequal", respident=respident).text = value


def _setvar(rc: etree._Element, value: str, action: str = "Set") -> None:
    sub(rc, "setvar", action=action, varname="SCORE").text = value


def _display(rc: etree._Element, ident: str) -> None:
    sub(rc, "displayfeedback", feedbacktype="Response", linkrefid=ident)


def _other_feedback(resp: etree._Element, ident: str) -> None:
    rc, cv = _condition(resp, "Yes")
    sub(cv, "other")
    _display(rc, ident)


# --- one item -------------------------------------------------------------------------------------


@dataclass
class Built:
    """A Canvas question: its XML element (bank copy) and what the summary needs."""

    element: etree._Element
    canvas_type: str


class ItemBuilder:
    """Builds the Canvas-flavour ``<item>`` of one model item."""

    def __init__(self, html: CanvasHtml, notes: list[str], var_sets: int = 10) -> None:
        self.html = html
        self.notes = notes
        self.var_sets = var_sets  # calculated items: generated variable sets each

    # entry point
    def build(self, item: AnyItem, ident: str) -> Built | None:
        build = self.BUILDERS.get(item.type)
        if build is None:
            return None
        return build(self, item, ident)

    # skeleton shared by every type
    def _skeleton(
        self, item: Item, ident: str, canvas_type: str, answer_ids: list[str], stem_html: str
    ) -> tuple[etree._Element, etree._Element, etree._Element]:
        el = etree.Element("item", ident=ident, title=item.name)
        md = sub(sub(el, "itemmetadata"), "qtimetadata")
        meta_field(md, "question_type", canvas_type)
        meta_field(md, "points_possible", number_text(item.points))
        meta_field(md, "original_answer_ids", ",".join(answer_ids))
        if item.title:  # the title attribute holds the title, the ident a hash: the id travels here (Canvas ignores the field)
            meta_field(md, "itembank_id", item.id)
        pres = sub(el, "presentation")
        _mattext(pres, f"<div>{stem_html}</div>")
        resp = sub(el, "resprocessing")
        sub(sub(resp, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
        return el, pres, resp

    def _finish(self, el: etree._Element, resp: etree._Element, fb: Feedback, score_conditions: list[etree._Element]) -> None:
        """Insert the general feedback first and the incorrect one last, then write every itemfeedback."""
        if fb.general:
            rc = etree.Element("respcondition", {"continue": "Yes"})
            sub(sub(rc, "conditionvar"), "other")
            _display(rc, "general_fb")
            resp.insert(1, rc)  # right after <outcomes>: Canvas's order
        if fb.correct:
            for rc in score_conditions:
                _display(rc, "correct_fb")
        if fb.incorrect:
            _other_feedback(resp, "general_incorrect_fb")
        for ident, body in (("general_fb", fb.general), ("correct_fb", fb.correct), ("general_incorrect_fb", fb.incorrect)):
            if body:
                self._itemfeedback(el, ident, body)
        for answer_id, body in fb.answers.items():
            self._itemfeedback(el, f"{answer_id}_fb", body)

    @staticmethod
    def _itemfeedback(el: etree._Element, ident: str, body: str) -> None:
        _mattext(sub(sub(el, "itemfeedback", ident=ident), "flow_mat"), body)

    def _base_feedback(self, item: Item) -> Feedback:
        return Feedback(general=general_feedback(item, self.html), incorrect=incorrect_feedback(item, self.html))

    def _answer_feedback_conditions(self, resp: etree._Element, fb: Feedback, respident: str = "response1") -> None:
        for answer_id in fb.answers:
            rc, cv = _condition(resp, "Yes")
            _varequal(cv, respident, answer_id)
            _display(rc, f"{answer_id}_fb")

    def _choice_presentation(self, pres: etree._Element, ids: list[str], texts: list[str], cardinality: str) -> None:
        lid = sub(pres, "response_lid", ident="response1", rcardinality=cardinality)
        rc = sub(lid, "render_choice")
        for answer_id, text in zip(ids, texts):
            _mattext(sub(rc, "response_label", ident=answer_id), text)

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
        el, pres, resp = self._skeleton(item, ident, canvas_type, ids, self.html.block(item.stem))
        single = canvas_type == "multiple_choice_question"
        self._choice_presentation(pres, ids, [self.html.inline(o.text) for o in item.options], "Single" if single else "Multiple")
        fb = self._base_feedback(item)
        fb.answers = {i: self.html.block(o.feedback) for i, o in zip(ids, item.options) if o.feedback}
        self._answer_feedback_conditions(resp, fb)
        rc, cv = _condition(resp, "No")
        if single:
            key = next(i for i, o in zip(ids, item.options) if o.correct)
            _varequal(cv, "response1", key)
        else:
            both = sub(cv, "and")
            for answer_id, option in zip(ids, item.options):
                if option.correct:
                    _varequal(both, "response1", answer_id)
                else:
                    _varequal(sub(both, "not"), "response1", answer_id)
        _setvar(rc, "100")
        self._finish(el, resp, fb, [rc])
        return Built(el, canvas_type)

    def _build_true_false(self, item: TrueFalseItem, ident: str) -> Built:
        ids = answer_ids(item, 2)
        el, pres, resp = self._skeleton(item, ident, "true_false_question", ids, self.html.block(item.stem))
        self._choice_presentation(pres, ids, ["True", "False"], "Single")
        fb = self._base_feedback(item)
        for answer_id, text in zip(ids, (item.true_feedback, item.false_feedback)):
            if text:
                fb.answers[answer_id] = self.html.block(text)
        self._answer_feedback_conditions(resp, fb)
        rc, cv = _condition(resp, "No")
        _varequal(cv, "response1", ids[0] if item.answer else ids[1])
        _setvar(rc, "100")
        self._finish(el, resp, fb, [rc])
        return Built(el, "true_false_question")

    def _text_response(self, pres: etree._Element, fibtype: str | None = None) -> None:
        rs = sub(pres, "response_str", ident="response1", rcardinality="Single")
        fib = sub(rs, "render_fib", {"fibtype": fibtype} if fibtype else None)
        sub(fib, "response_label", {"ident": "answer1"} if fibtype else {"ident": "answer1", "rshuffle": "No"})

    def _build_short_answer(self, item: ShortAnswerItem, ident: str) -> Built:
        if item.case_sensitive:
            self.notes.append(f"[{item.id}] case-sensitive answers: Canvas short-answer questions ignore letter case")
        ids = answer_ids(item, len(item.answers))
        el, pres, resp = self._skeleton(item, ident, "short_answer_question", ids, self.html.block(item.stem))
        self._text_response(pres)
        fb = self._base_feedback(item)
        rc, cv = _condition(resp, "No")
        for answer in item.answers:  # sibling varequals: any one matches (Canvas's own form)
            _varequal(cv, "response1", answer)
        _setvar(rc, "100")
        self._finish(el, resp, fb, [rc])
        return Built(el, "short_answer_question")

    def _build_numeric(self, item: NumericItem, ident: str) -> Built:
        stem = self.html.block(item.stem)
        if item.unit:
            stem += f"<p>Unit: {escape(item.unit)}</p>"
        ids = answer_ids(item, 1)
        el, pres, resp = self._skeleton(item, ident, "numerical_question", ids, stem)
        self._text_response(pres, "Decimal")
        fb = self._base_feedback(item)
        rc, cv = _condition(resp, "No")
        if item.range is not None:  # range answer
            sub(cv, "vargte", respident="response1").text = number_text(item.range[0])
            sub(cv, "varlte", respident="response1").text = number_text(item.range[1])
        else:  # exact answer with margin; Decimal so 0.1 ± 0.01 gives 0.09, not 0.09000000000000001
            assert item.answer is not None
            exact, margin = Decimal(repr(float(item.answer))), Decimal(repr(float(item.tolerance)))
            either = sub(cv, "or")
            _varequal(either, "response1", number_text(exact))
            both = sub(either, "and")
            sub(both, "vargte", respident="response1").text = number_text(exact - margin)
            sub(both, "varlte", respident="response1").text = number_text(exact + margin)
        _setvar(rc, "100")
        self._finish(el, resp, fb, [rc])
        return Built(el, "numerical_question")

    def _build_essay(self, item: EssayItem, ident: str) -> Built:
        stem = self.html.block(item.stem)
        if item.min_words or item.max_words:
            limits = " and ".join(
                p for p in (f"at least {item.min_words}" if item.min_words else "", f"at most {item.max_words}" if item.max_words else "") if p
            )
            stem += f"<p>Write {limits} words.</p>"
        if item.response_template:
            stem += f"<p>Start from:</p><pre>{escape(item.response_template)}</pre>"
        el, pres, resp = self._skeleton(item, ident, "essay_question", [], stem)
        self._text_response(pres)
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
        _, cv = _condition(resp, "No")
        sub(cv, "other")
        self._finish(el, resp, fb, [])
        return Built(el, "essay_question")

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
        el, pres, resp = self._skeleton(item, ident, "matching_question", left_ids, stem)
        for left_id, left in zip(left_ids, lefts):
            lid = sub(pres, "response_lid", ident=f"response_{left_id}")
            _mattext(lid, left)
            rc = sub(lid, "render_choice")
            for text, match_id in match_ids.items():
                _mattext(sub(rc, "response_label", ident=match_id), text, "text/plain")
        share = f"{100.0 / len(lefts):.2f}"
        for left_id, right in zip(left_ids, rights):
            rc, cv = _condition(resp)
            _varequal(cv, f"response_{left_id}", match_ids[right])
            _setvar(rc, share, "Add")
        self._finish(el, resp, self._base_feedback(item), [])
        return Built(el, "matching_question")

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
        el, pres, resp = self._skeleton(item, ident, canvas_type, ids, stem)
        it = iter(ids)
        scoring: list[tuple[str, str]] = []
        for name, texts, correct in answers:
            name = variable[name]
            lid = sub(pres, "response_lid", ident=f"response_{name}")
            sub(sub(lid, "material"), "mattext").text = name
            rc = sub(lid, "render_choice")
            first_right: str | None = None
            for text in texts:
                answer_id = next(it)
                _mattext(sub(rc, "response_label", ident=answer_id), text, "text/plain")
                if first_right is None and (correct is None or text == correct):
                    first_right = answer_id
            assert first_right is not None
            scoring.append((name, first_right))
        share = f"{100.0 / len(scoring):.2f}"
        for name, answer_id in scoring:
            rc, cv = _condition(resp)
            _varequal(cv, f"response_{name}", answer_id)
            _setvar(rc, share, "Add")
        fb = self._base_feedback(item)
        wrong = [(b.name, b.feedback) for b in item.blanks if b.feedback]
        if wrong:
            # Canvas has no per-blank wrong-answer feedback: they join the incorrect feedback, by blank.
            rows = "".join(f"<li><strong>[{escape(variable[n])}]</strong> {self.html.block(t)}</li>" for n, t in wrong)
            fb.incorrect += section_html("If a blank was wrong", f"<ul>{rows}</ul>")
        self._finish(el, resp, fb, [])
        return Built(el, canvas_type)

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
        el, pres, resp = self._skeleton(item, ident, "calculated_question", [], stem)
        self._text_response(pres, "Decimal")
        fb = self._base_feedback(shown)
        rc, cv = _condition(resp, "No")
        sub(cv, "other")
        _setvar(rc, "100")
        self._finish(el, resp, fb, [rc])
        calculated = sub(sub(el, "itemproc_extension"), "calculated")
        tolerance = percent_text(item.tolerance) + "%" if item.tolerance_type == "relative" else number_text(item.tolerance)
        sub(calculated, "answer_tolerance").text = tolerance
        if item.unit:
            sub(calculated, "unit_value").text = item.unit
        formulas = sub(calculated, "formulas", decimal_places=str(item.answer_decimals))
        sub(formulas, "formula").text = calc.formula
        vars_ = sub(calculated, "vars")
        for var in item.variables:
            v = sub(vars_, "var", name=var.name, scale=str(var.places))
            sub(v, "min").text = number_text(var.low)
            sub(v, "max").text = number_text(var.high)
        sets = sub(calculated, "var_sets")
        for n, variant in enumerate(calc.variants, 1):
            vs = sub(sets, "var_set", ident=f"{ident}_set{n}")
            values = variant.names
            for var in item.variables:  # in decimal, on the variable's places (2.77, never 2.7700000000000005)
                sub(vs, "var", name=var.name).text = fixed_text(values[var.name], var.places)
            sub(vs, "answer").text = number_text(key(item, variant.answer))
        return Built(el, "calculated_question")

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
