"""``canvas``: a Canvas QTI 1.2 package (Classic Quizzes "QTI .zip file" import, Canvas flavour).

Layout, as Canvas's own quiz export writes it and its importer (QTIMigrationTool + ``qti_exporter``)
reads it::

    imsmanifest.xml                        resources: quiz (imsqti_xmlv1p2) -> meta, banks, images
    <quiz>/<quiz>.xml                      <questestinterop><assessment ident="<quiz>">
    <quiz>/assessment_meta.xml             <quiz identifier="<quiz>"> settings (same ident, or ignored)
    non_cc_assessments/<bank>.xml.qti      one <objectbank> per topic, ``bank_title`` before the items
    web_resources/<image path>             images, referenced as ``$IMS-CC-FILEBASE$/<image path>``

Why an objectbank per topic: the importer's metadata map has no ``question_bank`` field for quiz
items (it logs it as unmapped); items inside an ``<objectbank>`` get the bank's ``bank_title`` and
ident instead, so the user gets a reusable bank named "<bank> — <topic>".  The quiz holds the same
questions (identical content) with ``assessment_question_identifierref`` pointing at the bank copy,
which Canvas's importer de-duplicates, exactly as Canvas's own exports do.

Type mapping and every choice made for what Classic Quizzes cannot hold: see ``docs/canvas.md``.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO
from urllib.parse import quote

from lxml import etree

from itembank.export import ExportContext, ExportResult, ItembankError
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
)
from itembank.render import Renderer, escape, local_image, math_spans

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_SCHEMA = f"{QTI_NS} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
LOR = "associatedcontent/imscc_xmlv1p1/learning-application-resource"
FILEBASE = "$IMS-CC-FILEBASE$"
WEB_RESOURCES = "web_resources"
BANK_FOLDER = "non_cc_assessments"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: byte-identical zips
# Deflate level 1: a 10,000-question package is 14 MB instead of 10.7 MB at level 6, and zipping
# it takes ~0.6 s of CPU instead of ~1.8 s (a third of the export's time at level 6).
ZIP_LEVEL = 1

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]{0,31})\s*\}\}")


# --- identifiers --------------------------------------------------------------------------------


def _key(*parts: str) -> str:
    """A Canvas-style migration id ("g" + MD5): stable across exports, so re-imports update in place."""
    return "g" + hashlib.md5("\x00".join(parts).encode("utf-8")).hexdigest()


def bank_item_ident(bank: Bank, item: Item) -> str:
    """The ident of an item's question-bank copy (its Canvas assessment-question migration id)."""
    return _key("itembank-question", bank.title, item.id)


def quiz_item_ident(quiz_ident: str, item: Item) -> str:
    return _key("itembank-quiz-question", quiz_ident, item.id)


def quiz_ident(bank: Bank) -> str:
    form = bank.form.name if bank.form else ""
    return _key("itembank-quiz", bank.title, form)


def question_bank_title(bank: Bank, topic: str) -> str:
    return f"{bank.title} — {topic}"


def _answer_ids(item: Item, count: int) -> list[str]:
    """Integer answer ids (Canvas re-reads ``original_answer_ids`` as integers; others become random)."""
    base = (zlib.crc32(item.id.encode("utf-8")) % 9000 + 1000) * 1000
    return [str(base + i + 1) for i in range(count)]


def _num(value: float | Decimal) -> str:
    """A number as Canvas writes it: integers without a fraction, others in shortest repr."""
    if isinstance(value, Decimal):
        value = value.normalize()
        text = format(value, "f")
        return text
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


# --- HTML for Canvas ------------------------------------------------------------------------------


class CanvasHtml:
    """Item Markdown → the HTML Canvas stores, with images under the package and math as MathJax.

    Rendering goes through the shared (cached) renderer.  Only texts with an image or math need the
    Canvas rewrite (a parse); those results are cached here.  Everything else is the renderer's own
    string, returned as is: a second cache of every text would only cost memory.
    """

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.images: dict[str, str] = {}  # bank-relative ref -> package path
        self._rewritten: dict[str, str] = {}  # renderer HTML -> Canvas HTML

    def block(self, text: str) -> str:
        return self._canvas(self.renderer.html(text))

    def inline(self, text: str) -> str:
        return self._canvas(self.renderer.inline_html(text))

    def _canvas(self, html: str) -> str:
        if "<img" not in html and "math" not in html:
            return html
        out = self._rewritten.get(html)
        if out is None:
            out = self._rewritten[html] = self._rewrite(html)
        return out

    def _rewrite(self, html: str) -> str:
        root = etree.fromstring(f"<div>{html}</div>")
        for img in root.iter("img"):
            ref = local_image(img.get("src") or "")
            if ref is not None:
                img.set("src", self._package_image(ref))
        for span, latex, display in math_spans(root):
            for child in list(span):
                span.remove(child)
            # Canvas renders \( \) and $$ $$ with MathJax; the class stays for other readers.
            span.text = f"$${latex}$$" if display else f"\\({latex}\\)"
        parts = [escape(root.text or "")]
        parts.extend(etree.tostring(child, encoding="unicode") for child in root)
        return "".join(parts)

    def _package_image(self, ref: str) -> str:
        self.images[ref] = f"{WEB_RESOURCES}/{ref}"
        return f"{FILEBASE}/" + "/".join(quote(seg) for seg in ref.split("/"))


# --- feedback ------------------------------------------------------------------------------------


@dataclass
class Feedback:
    """The four kinds of feedback Canvas keeps (HTML), plus per-answer comments keyed by answer id."""

    general: str = ""
    correct: str = ""
    incorrect: str = ""
    answers: dict[str, str] = field(default_factory=dict)


def _section_html(title: str, body: str) -> str:
    return f"<p><strong>{escape(title)}</strong></p>{body}"


def _general_feedback(item: Item, html: CanvasHtml) -> str:
    """Rationale, solution steps, final answer, quick check and hints: shown after answering."""
    parts: list[str] = []
    if item.rationale:
        parts.append(html.block(item.rationale))
    sol = item.solution
    if sol is not None:
        if sol.steps:
            steps = "".join(
                f"<li>{'<strong>' + escape(s.title) + '</strong> ' if s.title else ''}{html.block(s.text)}</li>" for s in sol.steps
            )
            parts.append(_section_html("Solution", f"<ol>{steps}</ol>"))
        if sol.final_answer:
            parts.append(_section_html("Answer", html.block(sol.final_answer)))
        if sol.quick_check:
            parts.append(_section_html("Quick check", html.block(sol.quick_check)))
    if item.hints:
        # Classic Quizzes have no hints; they survive as feedback shown after the attempt.
        parts.append(_section_html("Hints", "<ul>" + "".join(f"<li>{html.block(h)}</li>" for h in item.hints) + "</ul>"))
    return "".join(parts)


def _incorrect_feedback(item: Item, html: CanvasHtml) -> str:
    if not item.common_mistakes:
        return ""
    return _section_html("Common mistakes", "<ul>" + "".join(f"<li>{html.block(m)}</li>" for m in item.common_mistakes) + "</ul>")


# --- XML helpers ----------------------------------------------------------------------------------

_Q = f"{{{QTI_NS}}}"

# Questions are built WITHOUT a namespace and only ever serialized inside a ``<questestinterop
# xmlns="…ims_qtiasiv1p2">`` document, whose default namespace they inherit (lxml writes no
# ``xmlns=""`` for them).  lxml creates an un-namespaced element about 40% faster (no namespace
# lookup up the tree per element), and a question has ~75 elements; the tests and the checker
# read every question back in the QTI namespace.
_E = etree.SubElement


def _meta_field(parent: etree._Element, label: str, entry: str) -> None:
    f = _E(parent, "qtimetadatafield")
    _E(f, "fieldlabel").text = label
    _E(f, "fieldentry").text = entry


def _mattext(parent: etree._Element, html: str, texttype: str = "text/html") -> None:
    mat = _E(parent, "material")
    # Entity-escaped HTML, as Canvas's own exporter writes it (lxml escapes '<' and '&').
    _E(mat, "mattext", texttype=texttype).text = html


def _condition(parent: etree._Element, continue_: str | None = None) -> tuple[etree._Element, etree._Element]:
    rc = _E(parent, "respcondition", {"continue": continue_} if continue_ else None)
    return rc, _E(rc, "conditionvar")


def _varequal(parent: etree._Element, respident: str, value: str) -> None:
    _E(parent, "varequal", respident=respident).text = value


def _setvar(rc: etree._Element, value: str, action: str = "Set") -> None:
    _E(rc, "setvar", action=action, varname="SCORE").text = value


def _display(rc: etree._Element, ident: str) -> None:
    _E(rc, "displayfeedback", feedbacktype="Response", linkrefid=ident)


def _other_feedback(resp: etree._Element, ident: str) -> None:
    rc, cv = _condition(resp, "Yes")
    _E(cv, "other")
    _display(rc, ident)


# --- one item -------------------------------------------------------------------------------------


@dataclass
class Built:
    """A Canvas question: its XML element (bank copy) and what the summary needs."""

    element: etree._Element
    canvas_type: str


class ItemBuilder:
    """Builds the Canvas-flavour ``<item>`` of one model item."""

    def __init__(self, html: CanvasHtml, notes: list[str]) -> None:
        self.html = html
        self.notes = notes

    # entry point
    def build(self, item: AnyItem, ident: str) -> Built | None:
        method = getattr(self, f"_build_{item.type}", None)
        if method is None:
            return None
        return method(item, ident)

    # skeleton shared by every type
    def _skeleton(
        self, item: Item, ident: str, canvas_type: str, answer_ids: list[str], stem_html: str
    ) -> tuple[etree._Element, etree._Element, etree._Element]:
        el = etree.Element("item", ident=ident, title=item.name)
        md = _E(_E(el, "itemmetadata"), "qtimetadata")
        _meta_field(md, "question_type", canvas_type)
        _meta_field(md, "points_possible", _num(item.points))
        _meta_field(md, "original_answer_ids", ",".join(answer_ids))
        pres = _E(el, "presentation")
        _mattext(pres, f"<div>{stem_html}</div>")
        resp = _E(el, "resprocessing")
        _E(_E(resp, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
        return el, pres, resp

    def _finish(self, el: etree._Element, resp: etree._Element, fb: Feedback, score_conditions: list[etree._Element]) -> None:
        """Insert the general feedback first and the incorrect one last, then write every itemfeedback."""
        if fb.general:
            rc = etree.Element("respcondition", {"continue": "Yes"})
            _E(_E(rc, "conditionvar"), "other")
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
        _mattext(_E(_E(el, "itemfeedback", ident=ident), "flow_mat"), body)

    def _base_feedback(self, item: Item) -> Feedback:
        return Feedback(general=_general_feedback(item, self.html), incorrect=_incorrect_feedback(item, self.html))

    def _answer_feedback_conditions(self, resp: etree._Element, fb: Feedback, respident: str = "response1") -> None:
        for answer_id in fb.answers:
            rc, cv = _condition(resp, "Yes")
            _varequal(cv, respident, answer_id)
            _display(rc, f"{answer_id}_fb")

    def _choice_presentation(self, pres: etree._Element, ids: list[str], texts: list[str], cardinality: str) -> None:
        lid = _E(pres, "response_lid", ident="response1", rcardinality=cardinality)
        rc = _E(lid, "render_choice")
        for answer_id, text in zip(ids, texts):
            _mattext(_E(rc, "response_label", ident=answer_id), text)

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
        ids = _answer_ids(item, len(item.options))
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
            both = _E(cv, "and")
            for answer_id, option in zip(ids, item.options):
                if option.correct:
                    _varequal(both, "response1", answer_id)
                else:
                    _varequal(_E(both, "not"), "response1", answer_id)
        _setvar(rc, "100")
        self._finish(el, resp, fb, [rc])
        return Built(el, canvas_type)

    def _build_true_false(self, item: TrueFalseItem, ident: str) -> Built:
        ids = _answer_ids(item, 2)
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
        rs = _E(pres, "response_str", ident="response1", rcardinality="Single")
        fib = _E(rs, "render_fib", {"fibtype": fibtype} if fibtype else None)
        _E(fib, "response_label", {"ident": "answer1"} if fibtype else {"ident": "answer1", "rshuffle": "No"})

    def _build_short_answer(self, item: ShortAnswerItem, ident: str) -> Built:
        if item.case_sensitive:
            self.notes.append(f"[{item.id}] case-sensitive answers: Canvas short-answer questions ignore letter case")
        ids = _answer_ids(item, len(item.answers))
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
        ids = _answer_ids(item, 1)
        el, pres, resp = self._skeleton(item, ident, "numerical_question", ids, stem)
        self._text_response(pres, "Decimal")
        fb = self._base_feedback(item)
        rc, cv = _condition(resp, "No")
        if item.range is not None:  # range answer
            _E(cv, "vargte", respident="response1").text = _num(item.range[0])
            _E(cv, "varlte", respident="response1").text = _num(item.range[1])
        else:  # exact answer with margin; Decimal so 0.1 ± 0.01 gives 0.09, not 0.09000000000000001
            assert item.answer is not None
            exact, margin = Decimal(repr(float(item.answer))), Decimal(repr(float(item.tolerance)))
            either = _E(cv, "or")
            _varequal(either, "response1", _num(exact))
            both = _E(either, "and")
            _E(both, "vargte", respident="response1").text = _num(exact - margin)
            _E(both, "varlte", respident="response1").text = _num(exact + margin)
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
                f"<li>{self.html.inline(c.criterion)} ({_num(c.points)} pt)"
                + (f": {self.html.inline(c.description)}" if c.description else "")
                + "</li>"
                for c in item.rubric
            )
            extra.append(_section_html("Rubric", f"<ul>{rows}</ul>"))
        if item.sample_answer:
            extra.append(_section_html("Sample answer", self.html.block(item.sample_answer)))
        fb.general += "".join(extra)
        _, cv = _condition(resp, "No")
        _E(cv, "other")
        self._finish(el, resp, fb, [])
        return Built(el, "essay_question")

    def _matching(
        self, item: Item, ident: str, stem: str, lefts: list[str], rights: list[str], extra_rights: tuple[str, ...]
    ) -> Built:
        """A matching_question: one response_lid per left entry, every (distinct) right entry as a choice."""
        choices = list(dict.fromkeys([*rights, *extra_rights]))
        ids = _answer_ids(item, len(lefts) + len(choices))
        left_ids, match_ids = ids[: len(lefts)], dict(zip(choices, ids[len(lefts) :]))
        el, pres, resp = self._skeleton(item, ident, "matching_question", left_ids, stem)
        for left_id, left in zip(left_ids, lefts):
            lid = _E(pres, "response_lid", ident=f"response_{left_id}")
            _mattext(lid, left)
            rc = _E(lid, "render_choice")
            for text, match_id in match_ids.items():
                _mattext(_E(rc, "response_label", ident=match_id), text, "text/plain")
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
            [p.match for p in item.pairs],
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
                    shown_choices[b.name] = " / ".join(b.choices)
            elif b.kind == "numeric":
                assert b.number is not None
                if b.tolerance:
                    self.notes.append(
                        f"[{item.id}] blank '{b.name}': tolerance ±{_num(b.tolerance)} cannot be expressed in a Canvas blank; "
                        "only the exact value is accepted"
                    )
                values = [_num(b.number)]
                if float(b.number).is_integer():
                    values.append(f"{float(b.number):.1f}")
                answers.append((b.name, values, None))
            else:
                if b.case_sensitive:
                    self.notes.append(f"[{item.id}] blank '{b.name}': Canvas blanks ignore letter case")
                answers.append((b.name, list(b.answers), None))
        if len({b.points for b in item.blanks}) > 1:
            self.notes.append(f"[{item.id}] blank weights differ: Canvas splits the points equally between blanks")

        def placeholder(m: re.Match[str]) -> str:
            name = m.group(1)
            return f"[{name}]" + (f" ({shown_choices[name]})" if name in shown_choices else "")

        stem = self.html.block(_PLACEHOLDER.sub(placeholder, item.stem))
        ids = _answer_ids(item, sum(len(a[1]) for a in answers))
        el, pres, resp = self._skeleton(item, ident, canvas_type, ids, stem)
        it = iter(ids)
        scoring: list[tuple[str, str]] = []
        for name, texts, correct in answers:
            lid = _E(pres, "response_lid", ident=f"response_{name}")
            _E(_E(lid, "material"), "mattext").text = name
            rc = _E(lid, "render_choice")
            first_right: str | None = None
            for text in texts:
                answer_id = next(it)
                _mattext(_E(rc, "response_label", ident=answer_id), text, "text/plain")
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
            rows = "".join(f"<li><strong>[{escape(n)}]</strong> {self.html.block(t)}</li>" for n, t in wrong)
            fb.incorrect += _section_html("If a blank was wrong", f"<ul>{rows}</ul>")
        self._finish(el, resp, fb, [])
        return Built(el, canvas_type)


# --- the package ----------------------------------------------------------------------------------
#
# The package is streamed: each question is built, serialized and dropped, and each file is written
# straight into its zip entry, so memory holds the compressed zip and one question's tree, never the
# ~90 MB of XML a 10,000-question bank makes.  Entries are produced in sorted name order (the zip's
# entry order), which is also the order their contents can be known in:
#
#   g<quiz>/assessment_meta.xml      settings: computed from the bank up front
#   g<quiz>/g<quiz>.xml              the quiz: builds every question; the bank copies go to a spool
#   imsmanifest.xml                  needs every image, known once every question is built
#   non_cc_assessments/<bank>.xml.qti  copied from the spool
#   web_resources/…                  the images


class _Members:
    """The files of the package, opened one at a time in sorted order: zip entries, or a folder's dict.

    A zip entry is deflated on a worker thread (``pool``): zlib releases the GIL while it
    compresses, so that runs on another core while this thread builds the next questions.
    """

    def __init__(self, zf: zipfile.ZipFile | None, pool: ThreadPoolExecutor | None = None) -> None:
        self.zf = zf
        self.pool = pool
        self.files: dict[str, bytes] = {}  # the folder's files (``zf`` None)
        self._last = ""

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if name <= self._last:  # a change of naming must not silently unsort the zip
            raise AssertionError(f"package file {name!r} comes after {self._last!r}: entries must be sorted")
        self._last = name
        if self.zf is None:
            buf = io.BytesIO()
            yield buf
            self.files[name] = buf.getvalue()
            return
        with self.zf.open(_zip_info(name), "w") as entry:
            if self.pool is None:
                yield entry
                return
            out = _BackgroundWriter(entry, self.pool)
            try:
                yield out  # type: ignore[misc]  # has the write() the writers use
            finally:
                out.drain()  # every batch is in the entry before it is closed, error or not

    def write(self, name: str, data: bytes) -> None:
        with self.open(name) as out:
            out.write(data)


class _BackgroundWriter:
    """Passes what it is given to ``entry.write`` on the pool's worker, in batches and in order."""

    _BATCH = 256 * 1024
    _AHEAD = 4  # batches in flight at most: bounds the memory a slow worker can pile up

    def __init__(self, entry: IO[bytes], pool: ThreadPoolExecutor) -> None:
        self._entry = entry
        self._pool = pool
        self._parts: list[bytes] = []
        self._size = 0
        self._pending: deque[Future[int]] = deque()

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        if self._size >= self._BATCH:
            self._submit()
        return len(data)

    def _submit(self) -> None:
        if self._parts:
            batch = b"".join(self._parts)
            self._parts.clear()
            self._size = 0
            self._pending.append(self._pool.submit(self._entry.write, batch))
        while len(self._pending) > self._AHEAD:
            self._pending.popleft().result()  # re-raises the worker's error here

    def drain(self) -> None:
        self._submit()
        while self._pending:
            self._pending.popleft().result()


def _zip_info(name: str) -> zipfile.ZipInfo:
    """Fixed date and permissions (byte-identical zips), deflated at ``ZIP_LEVEL``."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    # ZipFile.open(info, "w") takes the level from the ZipInfo: public as compress_level from 3.13
    if hasattr(info, "compress_level"):
        info.compress_level = ZIP_LEVEL
    else:
        info._compresslevel = ZIP_LEVEL  # type: ignore[attr-defined]
    return info


class _ZipView(Mapping[str, bytes]):
    """The finished zip read as ``{name: bytes}`` on demand (for ``--check``), without unpacking it all."""

    def __init__(self, data: bytes) -> None:
        self._zf = zipfile.ZipFile(io.BytesIO(data))
        self._names = self._zf.namelist()

    def __getitem__(self, name: str) -> bytes:
        try:
            return self._zf.read(name)
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _BankSpool:
    """Serialized question-bank copies, by topic, until their files' turn comes.

    Every question is built while the quiz is written, but the banks' files come after the quiz in
    the zip.  Their copies wait in a temporary file (in memory while small), so neither copy of the
    questions is held in memory.
    """

    MEMORY = 4 * 1024 * 1024  # below this the spool never touches the disk (small banks, tests)
    _CHUNK = 64 * 1024

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file  # a tempfile.SpooledTemporaryFile(max_size=MEMORY)
        self._ranges: dict[str, list[list[int]]] = {}  # topic -> [start, length] runs in the file

    def add(self, topic: str, data: bytes) -> None:
        start = self._file.tell()
        self._file.write(data)
        runs = self._ranges.setdefault(topic, [])
        if runs and runs[-1][0] + runs[-1][1] == start:
            runs[-1][1] += len(data)  # consecutive questions of one topic: one run
        else:
            runs.append([start, len(data)])

    def copy(self, topic: str, out: IO[bytes]) -> None:
        for start, length in self._ranges.get(topic, ()):
            self._file.seek(start)
            while length:
                chunk = self._file.read(min(length, self._CHUNK))
                out.write(chunk)
                length -= len(chunk)
        self._file.seek(0, io.SEEK_END)


@contextmanager
def _qti_document(out: IO[bytes]) -> Iterator[etree.xmlfile]:
    """An incremental writer of a ``<questestinterop>`` document: questions are written as they are built."""
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(_Q + "questestinterop", {f"{{{XSI}}}schemaLocation": QTI_SCHEMA}, nsmap={None: QTI_NS, "xsi": XSI}):
            yield xf


@dataclass
class QuizSection:
    ident: str
    title: str
    item_ids: tuple[str, ...]
    pick: int | None = None


class CanvasExporter:
    name = "canvas"
    description = "Canvas QTI 1.2 .zip (Classic Quizzes import, question banks per topic)"
    default_output = "canvas.zip"

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        result = ExportResult()
        unzipped = bool(ctx.option("unzipped"))
        buf = io.BytesIO()
        try:
            with ExitStack() as stack:
                if unzipped:
                    members = _Members(None)
                else:
                    zf = stack.enter_context(zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED))
                    members = _Members(zf, stack.enter_context(ThreadPoolExecutor(max_workers=1)))
                write_package(bank, ctx, result, members)
        except ValueError as exc:  # a bank or section title XML cannot hold
            raise ItembankError(f"canvas export: {exc}; run `itembank validate`") from None
        if unzipped:
            result.files = members.files
        else:
            result.data = buf.getvalue()
        if ctx.option("check"):
            from exporters._canvas_check import check_package  # private helper of this format

            problems = check_package(members.files if unzipped else _ZipView(result.data))
            if problems:
                shown = "\n  ".join(problems[:20])
                raise ItembankError(f"canvas package failed the structural check ({len(problems)} problems):\n  {shown}")
            result.notes.append("structural check passed (manifest, quiz settings, every item's type, points, answers, feedback)")
        return result


def _sections(bank: Bank, qident: str) -> list[QuizSection]:
    """The form's sections, or one section per topic (Canvas flattens sections without a pick)."""
    if bank.form is not None:
        return [
            QuizSection(_key("itembank-section", qident, str(n), s.title), s.title, s.item_ids, s.pick)
            for n, s in enumerate(bank.form.sections)
        ]
    by_topic: dict[str, list[str]] = {}
    for item in bank.items:
        by_topic.setdefault(item.topic or "General", []).append(item.id)
    return [QuizSection(_key("itembank-section", qident, topic), topic, tuple(ids)) for topic, ids in by_topic.items()]


def _bank_ident(bank: Bank, topic: str) -> str:
    return _key("itembank-bank", bank.title, topic)


def _bank_path(bank: Bank, topic: str) -> str:
    return f"{BANK_FOLDER}/{_bank_ident(bank, topic)}.xml.qti"


def _exportable(bank: Bank, result: ExportResult) -> dict[str, AnyItem]:
    """The items Canvas can hold, by id; every other item is skipped with its reason."""
    exported: dict[str, AnyItem] = {}
    for item in bank.items:
        if isinstance(item, FlashcardItem):
            result.skip(item.id, "flashcards have no Canvas quiz question type (use the markdown or xlsx export)")
        elif not hasattr(ItemBuilder, f"_build_{item.type}"):
            result.skip(item.id, f"item type '{item.type}' has no Canvas question type")
        else:
            exported[item.id] = item
    return exported


def write_package(bank: Bank, ctx: ExportContext, result: ExportResult, members: _Members) -> None:
    """Write every file of the package into ``members``, in sorted order (see the section comment)."""
    html = CanvasHtml(ctx.renderer)
    builder = ItemBuilder(html, result.notes)
    qident = quiz_ident(bank)
    exported = _exportable(bank, result)
    topics = list(dict.fromkeys(i.topic or "General" for i in exported.values()))
    members.write(f"{qident}/assessment_meta.xml", _assessment_meta(bank, qident, exported, html))
    with tempfile.SpooledTemporaryFile(max_size=_BankSpool.MEMORY) as spool_file:
        spool = _BankSpool(spool_file)  # type: ignore[arg-type]  # a binary file, typed as SpooledTemporaryFile
        written: set[str] = set()
        with members.open(f"{qident}/{qident}.xml") as out:
            _write_quiz(out, bank, qident, exported, builder, spool, written, result)
        # items of the bank that no section delivers still belong in the question bank
        for item in exported.values():
            if item.id not in written:
                _build(builder, bank, item, result, spool, written)
        images = {path: ref for ref, path in html.images.items()}  # refs "a.png" and "./a.png": one file
        bank_paths = {_bank_path(bank, t): t for t in topics}
        members.write("imsmanifest.xml", _manifest(qident, sorted(bank_paths), sorted(images)))
        for path in sorted(bank_paths):
            with members.open(path) as out:
                _write_bank(out, bank, bank_paths[path], spool)
    for path in sorted(images):
        target = bank.media_path(images[path].split("#", 1)[0].split("?", 1)[0])
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise ItembankError(f"image '{images[path]}' cannot be read: {exc.strerror or exc}") from None
        members.write(path, data)


def _write_quiz(
    out: IO[bytes],
    bank: Bank,
    qident: str,
    exported: dict[str, AnyItem],
    builder: ItemBuilder,
    spool: _BankSpool,
    written: set[str],
    result: ExportResult,
) -> None:
    """The quiz: a section per form section (or topic); each question is built, its bank copy
    spooled, then given its quiz ident and a reference to the bank copy and written here."""
    with _qti_document(out) as xf:
        title = bank.form.title if bank.form else bank.title
        with xf.element(_Q + "assessment", ident=qident, title=title):
            md = etree.Element("qtimetadata")
            _meta_field(md, "cc_maxattempts", "1")
            xf.write(md)
            with xf.element(_Q + "section", ident="root_section"):
                for sec in _sections(bank, qident):
                    members = [exported[i] for i in sec.item_ids if i in exported]
                    if not members:
                        continue
                    with xf.element(_Q + "section", ident=sec.ident, title=sec.title):
                        if sec.pick is not None:
                            xf.write(_selection(sec, members, result))
                        for item in members:
                            el = _build(builder, bank, item, result, spool, written)
                            _make_quiz_copy(el, qident, item)
                            xf.write(el)


def _write_bank(out: IO[bytes], bank: Bank, topic: str, spool: _BankSpool) -> None:
    """One topic's question bank: an ``<objectbank>``, its ``bank_title``, then the spooled questions."""
    with _qti_document(out) as xf, xf.element(_Q + "objectbank", ident=_bank_ident(bank, topic)):
        md = etree.Element("qtimetadata")
        _meta_field(md, "bank_title", question_bank_title(bank, topic))  # before the items: read while parsing
        xf.write(md)
        xf.flush()  # what the writer holds goes out first; the questions follow as serialized
        spool.copy(topic, out)


def _build(
    builder: ItemBuilder, bank: Bank, item: AnyItem, result: ExportResult, spool: _BankSpool, written: set[str]
) -> etree._Element:
    """Build one question; the first time, count it and spool its question-bank copy."""
    try:
        built = builder.build(item, bank_item_ident(bank, item))
    except ValueError as exc:  # lxml refuses characters XML 1.0 cannot hold (validation rule IB216)
        raise ItembankError(f"item '{item.id}': {exc}; run `itembank validate` to find the text") from None
    assert built is not None  # exported holds only buildable types
    if item.id not in written:
        written.add(item.id)
        result.wrote(item.type)
        spool.add(item.topic or "General", etree.tostring(built.element, encoding="UTF-8"))
    return built.element


def _make_quiz_copy(el: etree._Element, qident: str, item: Item) -> None:
    """Turn the bank question into the quiz question: its own ident plus a reference to the bank copy."""
    bank_ident = el.get("ident") or ""
    el.set("ident", quiz_item_ident(qident, item))
    _meta_field(el[0][0], "assessment_question_identifierref", bank_ident)  # itemmetadata/qtimetadata


def _selection(sec: QuizSection, members: list[AnyItem], result: ExportResult) -> etree._Element:
    """A Canvas question group: pick ``n`` of the section's questions, each worth the same points."""
    points = {m.points for m in members}
    if len(points) > 1:
        result.notes.append(
            f"section '{sec.title}': a Canvas question group gives every question the same points; "
            f"used {_num(max(points))} (items have {', '.join(_num(p) for p in sorted(points))})"
        )
    assert sec.pick is not None
    so = etree.Element("selection_ordering")
    sel = _E(so, "selection")
    _E(sel, "selection_number").text = str(min(sec.pick, len(members)))
    _E(_E(sel, "selection_extension"), "points_per_item").text = _num(max(points))
    return so


def _quiz_points(bank: Bank, exported: dict[str, AnyItem]) -> float:
    if bank.form is None:
        return sum(i.points for i in bank.items if i.id in exported)
    total = 0.0
    for s in bank.form.sections:
        members = [bank.by_id[i] for i in s.item_ids if i in exported]
        if not members:
            continue
        if s.pick is None:
            total += sum(m.points for m in members)
        else:
            total += min(s.pick, len(members)) * max(m.points for m in members)
    return total


def _shuffle(bank: Bank, exported: dict[str, AnyItem]) -> bool:
    """Canvas shuffles answers per quiz: on only when every choice/matching item allows it."""
    flags = [f for i in bank.items if i.id in exported and (f := getattr(i, "shuffle", None)) is not None]
    return bool(flags) and all(flags)


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _assessment_meta(bank: Bank, qident: str, exported: dict[str, AnyItem], html: CanvasHtml) -> bytes:
    root = etree.Element(f"{{{CANVAS_NS}}}quiz", nsmap={None: CANVAS_NS, "xsi": XSI}, identifier=qident)
    root.set(f"{{{XSI}}}schemaLocation", f"{CANVAS_NS} https://canvas.instructure.com/xsd/cccv1p0.xsd")
    c = f"{{{CANVAS_NS}}}"
    title = bank.form.title if bank.form else bank.title
    points = _num(_quiz_points(bank, exported))
    description = html.block(bank.form.instructions) if bank.form and bank.form.instructions else ""

    def add(parent: etree._Element, tag: str, text: str) -> etree._Element:
        el = etree.SubElement(parent, c + tag)
        el.text = text
        return el

    add(root, "title", title)
    add(root, "description", description)
    add(root, "shuffle_answers", "true" if _shuffle(bank, exported) else "false")
    add(root, "scoring_policy", "keep_highest")
    add(root, "hide_results", "")
    add(root, "quiz_type", "assignment")
    add(root, "points_possible", points)
    add(root, "show_correct_answers", "true")
    add(root, "anonymous_submissions", "false")
    add(root, "could_be_locked", "false")
    add(root, "allowed_attempts", "1")
    add(root, "one_question_at_a_time", "false")
    add(root, "cant_go_back", "false")
    add(root, "available", "false")
    add(root, "one_time_results", "false")
    add(root, "show_correct_answers_last_attempt", "false")
    add(root, "only_visible_to_overrides", "false")
    add(root, "module_locked", "false")
    assignment = etree.SubElement(root, c + "assignment", identifier=_key("itembank-assignment", qident))
    add(assignment, "title", title)
    add(assignment, "workflow_state", "unpublished")
    add(assignment, "quiz_identifierref", qident)
    add(assignment, "points_possible", points)
    add(assignment, "grading_type", "points")
    add(assignment, "submission_types", "online_quiz")
    add(root, "assignment_group_identifierref", _key("itembank-assignment-group", bank.title))
    return _serialize(root)


def _manifest(qident: str, bank_paths: list[str], image_paths: list[str]) -> bytes:
    m = f"{{{CP_NS}}}"
    root = etree.Element(m + "manifest", nsmap={None: CP_NS, "xsi": XSI}, identifier=_key("itembank-manifest", qident))
    md = etree.SubElement(root, m + "metadata")
    etree.SubElement(md, m + "schema").text = "IMS Content"
    etree.SubElement(md, m + "schemaversion").text = "1.1.3"
    etree.SubElement(root, m + "organizations")
    res = etree.SubElement(root, m + "resources")
    meta_ident = _key("itembank-quiz-meta", qident)
    quiz = etree.SubElement(res, m + "resource", identifier=qident, type="imsqti_xmlv1p2")
    etree.SubElement(quiz, m + "file", href=f"{qident}/{qident}.xml")
    etree.SubElement(quiz, m + "dependency", identifierref=meta_ident)
    meta = etree.SubElement(res, m + "resource", identifier=meta_ident, type=LOR, href=f"{qident}/assessment_meta.xml")
    etree.SubElement(meta, m + "file", href=f"{qident}/assessment_meta.xml")
    for path in bank_paths:
        ident = path.rsplit("/", 1)[1].split(".", 1)[0]
        r = etree.SubElement(res, m + "resource", identifier=ident, type=LOR, href=path)
        etree.SubElement(r, m + "file", href=path)
    for path in image_paths:
        r = etree.SubElement(res, m + "resource", identifier=_key("itembank-file", path), type="webcontent", href=path)
        etree.SubElement(r, m + "file", href=path)
    return _serialize(root)


exporter = CanvasExporter()
