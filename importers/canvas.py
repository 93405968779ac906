"""``canvas``: QTI 1.2 -- a Canvas Classic Quizzes quiz or question-bank export (``.zip``, ``.imscc``,
a folder, or one ``.xml``/``.xml.qti`` file), and QTI 1.2 as D2L, Blackboard and Respondus write it.

What is read (see ``docs/import.md``, "Canvas, QTI and text2qti"):

* every ``<questestinterop>`` document of the package: ``<objectbank>`` (a question bank, its
  ``bank_title`` becomes the items' topic), ``<assessment>`` (a quiz, sections and question groups),
  and loose ``<item>`` elements; ``assessment_meta.xml`` gives the quiz title;
* a quiz question that points at its bank copy (``assessment_question_identifierref``) is read once;
* the type from Canvas's ``question_type`` (else Blackboard/D2L metadata, else the structure):
  multiple choice, true/false, multiple answers, short answer, fill in multiple blanks, multiple
  dropdowns, matching (with distractors), numerical (exact with margin, range), essay, calculated
  (formula: :mod:`.canvas_calculated`); file upload, text only and unknown types are skipped with the reason;
* feedback: general (``general_fb``) -> rationale, with the labelled parts our own Canvas export
  writes (Solution, Answer, Quick check, Hints, Rubric, Sample answer) back in their fields;
  incorrect (``general_incorrect_fb``) -> common mistakes; per answer (``<answer id>_fb``) -> the
  option's feedback; correct feedback -> appended to the rationale (noted);
* points from ``points_possible`` (Canvas), ``qmd_weighting``/``qmd_absolutescore_max`` (others).

Everything a format difference forces is a note on the item; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from itembank.model import shown_alike

from ._qti_common import (
    Package,
    Text,
    clean_number,
    decimal_diff,
    head_bytes,
    inner_html,
    items_of,
    local,
    blanks_problem,
    interval_problem,
    number,
    options_problem,
    pairs_problem,
    protect_braces,
    restore_braces,
    split_sections,
    strip_namespaces,
    text_of,
)
from .base import BadInput, ImportContext, ImportedItem, ReadResult, Skipped
from .kit.ids import blank_name, option_id
from .kit.meta import item_title
from .kit.zip import is_zip

#: Canvas question types with no item type: skipped with this reason.
UNSUPPORTED = {
    "file_upload_question": "file-upload questions have no item type (the answer is a file, not text)",
    "text_only_question": "text-only entry: a description, not a question",
}
#: Blackboard (bbmd_questiontype) and D2L (qmd_questiontype) types we cannot read.
VENDOR_UNSUPPORTED = {
    "calculated": "calculated (formula) question",
    "calculated numeric": "calculated numeric question",
    "arithmetic": "arithmetic (formula) question",
    "significant figures": "formula question",
    "likert": "Likert / opinion scale question (no correct answer)",
    "opinion scale": "Likert / opinion scale question (no correct answer)",
    "quiz bowl": "quiz bowl question",
    "hot spot": "hot spot (image area) question",
    "jumbled sentence": "jumbled sentence question",
    "file upload": "file upload question",
    "fill in the blank plus": "fill in multiple blanks (Blackboard)",
}
#: Blackboard types read by a Canvas type's reader (Blackboard 8/9 write their answers in their own layout).
VENDOR_READERS = {"ordering": "ordering_question", "matching": "matching_question"}

NOT_CARRIED = ("Canvas QTI 1.2 carries no difficulty, level, Bloom level, tags, objectives, author, source, status, review "
               "history, option ids (options are named a, b, c... unless the source's fit), per-item shuffle, all-or-nothing scoring "
               "or letter case rules; a question that itembank did not export (or that Canvas exported again) gets its Canvas ident as its id")
QUIZ_NOTE_ORDERING = "Match each position with the step that belongs there."


@dataclass
class Condition:
    var: etree._Element
    score: float | None  # the SCORE set/added, None when the condition does not score
    action: str
    feedback: list[str]
    title: str
    continue_: bool


@dataclass
class Response:
    ident: str
    kind: str  # lid, str, num, xy, grp
    cardinality: str
    labels: list[tuple[str, str]]  # (ident, html)
    prompt_html: str  # material inside the response (matching: the left side; Canvas blanks: the blank name)
    fibtype: str = ""


@dataclass
class Context:
    """Where an item sits: its bank (title) and quiz/section."""

    bank_title: str | None = None
    quiz_title: str | None = None
    section_title: str | None = None
    group_note: str | None = None
    no_topic: bool = False  # the bank is our export's bank of the items without a topic (_our_no_topic_bank)


@dataclass
class Found:
    el: etree._Element
    where: Context
    doc: str


class CanvasImporter:
    name = "canvas"
    description = "Canvas QTI 1.2 quiz / question bank export (.zip, .imscc, folder or .xml); also QTI 1.2 from D2L, Blackboard, Respondus"

    def sniff(self, path: Path) -> bool:
        try:
            if is_zip(path):
                with Package(path) as pkg:
                    names = pkg.names()
                    # The manifest at the top, or in the one folder a zip made of a folder has
                    # (what Finder's and Explorer's "Compress" write): the explicit reader reads both.
                    for name in (n for n in names if n == "imsmanifest.xml" or (n.endswith("/imsmanifest.xml") and n.count("/") == 1)):
                        manifest = pkg.read(name)
                        if b"imsqti_xmlv1p2" in manifest or b"imsqti_xmlv1p2p1" in manifest:
                            return True
                    if any(n.endswith(".xml.qti") for n in names):
                        return True
                    # No manifest at all: a QTI 1.2 document among its first XML files.
                    return not any(n.endswith("imsmanifest.xml") for n in names) and any(
                        b"questestinterop" in pkg.read(n)[:4096] for n in [n for n in names if n.lower().endswith(".xml")][:20]
                    )
            if path.is_file():
                return b"questestinterop" in head_bytes(path)
        except Exception:  # sniffing never raises
            return False
        return False

    def read(self, path: Path, ctx: ImportContext) -> ReadResult:
        with Package(path) as pkg:
            return _Reader(pkg, ctx).run()


class _Reader:
    def __init__(self, pkg: Package, ctx: ImportContext) -> None:
        self.pkg = pkg
        self.ctx = ctx
        self.result = ReadResult(format_notes=[NOT_CARRIED], not_carried=frozenset({"options[].id", "scoring"}))
        self.text_cache: dict[tuple[str, str], tuple[str, list[str], list[str]]] = {}  # HTML -> Markdown, per package

    # --- the package --------------------------------------------------------------------

    def run(self) -> ReadResult:
        docs: list[tuple[str, etree._Element]] = []
        qti2: list[str] = []
        quiz_titles: dict[str, str] = {}
        for name in self.pkg.xml_names():
            base = name.rsplit("/", 1)[-1]
            if base == "imsmanifest.xml" or name.startswith("web_resources/"):
                continue
            data = self.pkg.read(name)
            head = data[:4096]
            if base == "assessment_meta.xml" or b"cccv1p0" in head and b"<quiz" in head:
                root = strip_namespaces(self.pkg.xml(name))
                if local(root) == "quiz":
                    title = root.findtext("title")
                    if title and root.get("identifier"):
                        quiz_titles[root.get("identifier") or ""] = title.strip()
                    if (root.findtext("description") or "").strip():
                        self.result.problems.append(f"{self.pkg.origin(name)}: the quiz's description and settings are not kept "
                                                    "(the import keeps questions, not quizzes)")
                continue
            if b"questestinterop" in data[:65536] or self.pkg.single:
                root = self.pkg.xml(name)
                if local(root) == "questestinterop":
                    docs.append((name, strip_namespaces(root)))
                elif local(root) in ("assessmentItem", "assessmentTest", "qti-assessment-item", "qti-assessment-test"):
                    qti2.append(name)
            elif b"assessmentItem" in head or b"qti-assessment-item" in head:
                qti2.append(name)
        if not docs:
            if qti2:
                raise BadInput(self.pkg.label, f"this is QTI 2.x/3.0 ({qti2[0]}), not Canvas QTI 1.2: use `itembank import qti`")
            raise BadInput(self.pkg.label, "no QTI 1.2 document (<questestinterop>) found: not a Canvas quiz or question-bank export")
        if qti2:
            self.result.problems.append(f"{len(qti2)} QTI 2.x file(s) in this package were not read (use `itembank import qti`): {', '.join(qti2[:5])}")
        found: list[Found] = []
        # A course export (.imscc) holds each quiz twice: the Common Cartridge profile (<quiz>/assessment_qti.xml)
        # and Canvas's full version (non_cc_assessments/<quiz>.xml.qti).  Read the full version first; an item
        # ident already read from another document is the same question.
        docs.sort(key=lambda d: (0 if d[0].startswith("non_cc_assessments/") else 1, d[0]))
        for name, root in docs:
            self._collect(name, root, quiz_titles, found)
        seen_idents: dict[tuple[str, str], str] = {}
        unique: list[Found] = []
        for f in found:
            ident = f.el.get("ident")
            kind = "bank" if f.where.bank_title is not None else "quiz"
            if ident and (ident, kind) in seen_idents and seen_idents[(ident, kind)] != f.doc:
                continue
            if ident:
                seen_idents[(ident, kind)] = f.doc
            unique.append(f)
        found = unique
        # a quiz question that points at its bank copy is the same question: read the bank copy once
        bank_idents = {f.el.get("ident") for f in found if f.where.bank_title is not None and f.el.get("ident")}
        seen_refs: set[str] = set()
        ordered: list[Found] = []
        by_ident = {f.el.get("ident"): f for f in found if f.where.bank_title is not None}
        for f in found:
            if f.where.bank_title is not None:
                continue
            ref = _meta(f.el).get("assessment_question_identifierref")
            if ref and ref in bank_idents:
                if ref not in seen_refs:
                    seen_refs.add(ref)
                    bank = by_ident[ref]
                    ordered.append(Found(bank.el, Context(bank.where.bank_title, f.where.quiz_title, f.where.section_title, f.where.group_note,
                                                               bank.where.no_topic), bank.doc))
                continue
            ordered.append(f)
        ordered += [f for f in found if f.where.bank_title is not None and f.el.get("ident") not in seen_refs]
        for f in ordered:
            self._item(f)
        return self.result

    def _collect(self, doc: str, root: etree._Element, quiz_titles: dict[str, str], found: list[Found]) -> None:
        def walk(el: etree._Element, where: Context) -> None:
            for child in el:
                name = local(child)
                if name == "item":
                    found.append(Found(child, where, doc))
                elif name == "objectbank":
                    title = (_meta(child).get("bank_title") or child.get("title") or where.bank_title or "Question bank").strip()
                    walk(child, Context(title, where.quiz_title, None, None, _our_no_topic_bank(child.get("ident") or "", title)))
                elif name == "assessment":
                    title = quiz_titles.get(child.get("ident") or "") or child.get("title") or "Quiz"
                    walk(child, Context(where.bank_title, title.strip(), None, None))
                elif name == "section":
                    walk(child, self._section(child, where, doc))
                elif name in ("itemref", "sectionref"):
                    self.result.skipped.append(Skipped(child.get("linkrefid") or "?", f"{self.pkg.origin(doc)}:{child.sourceline}",
                                                       f"{name} points at {child.get('linkrefid')!r}, which QTI 1.2 readers cannot follow"))

        walk(root, Context())

    def _section(self, sec: etree._Element, where: Context, doc: str) -> Context:
        title = sec.get("title")
        title = None if not title or sec.get("ident") == "root_section" else title.strip()
        note = where.group_note
        number_el = sec.find("selection_ordering/selection/selection_number")
        if number_el is not None:
            pick = (number_el.text or "").strip()
            items = [i for i in sec.iter() if local(i) == "item"]
            ref = sec.find("selection_ordering/selection/sourcebank_ref")
            refs = sec.findall("selection_ordering/selection//selection_metadata")
            if (ref is not None or refs) and not items:
                source = f"question bank {(ref.text or '').strip()!r}" if ref is not None else f"{len(refs)} question(s) referenced by id"
                self.result.skipped.append(Skipped(
                    title or sec.get("ident") or "question group", f"{self.pkg.origin(doc)}:{sec.sourceline}",
                    f"question group draws {pick} question(s) from {source}, which are not in this package"))
            note = f"in quiz question group '{title or sec.get('ident')}' that picks {pick} of {len(items)} question(s): the group is not kept, the question is"
            per_item = (sec.findtext("selection_ordering/selection/selection_extension/points_per_item") or "").strip()
            if per_item:
                note += f" (the group gives each question {per_item} points; the question keeps its own)"
        return Context(where.bank_title, where.quiz_title, title or where.section_title, note)

    # --- one item ---------------------------------------------------------------------------

    def _item(self, f: Found) -> None:
        el = f.el
        ident = el.get("ident") or el.get("label") or ""
        title = (el.get("title") or "").strip()
        origin = f"{self.pkg.origin(f.doc)}:{el.sourceline}"
        who = ident or title or f"item at line {el.sourceline}"
        try:
            reader = _ItemReader(self, el, f.doc)
            data = reader.read()
        except _Skip as exc:
            self.result.skipped.append(Skipped(who, origin, str(exc)))
            return
        notes = reader.notes
        topic = None if f.where.no_topic else f.where.bank_title or f.where.section_title or f.where.quiz_title
        if topic and f.where.bank_title and f.where.quiz_title and topic.startswith(f.where.quiz_title + " — "):
            topic = topic[len(f.where.quiz_title) + 3 :]  # our export names banks "<bank title> — <topic>"
        if topic:
            data["topic"] = topic
        if f.where.group_note:
            notes.append(f.where.group_note)
        content = data["stem"] + "|" + data["type"]
        source_id = ident or None
        carried = _meta(f.el).get("itembank_id", "").strip()
        if carried and _our_bank_copy(ident, carried, f.where):
            source_id = carried  # our own export of a titled item: its id travels in a metadata field
        elif title and _our_bank_copy(ident, title, f.where):
            source_id = title  # our own export: the item's id was its title (an item without a title)
        data_id = self.ctx.ids.derive(source_id, title or _first_words(data["stem"]), content)
        if title and title != data_id and title != ident:
            data["title"] = item_title(title, notes)
        data = {"id": data_id, **data}
        self.result.items.append(ImportedItem(data, origin, notes))


def _our_no_topic_bank(ident: str, title: str) -> bool:
    """Whether an objectbank is the one itembank's Canvas export puts the items without a topic in:
    titled ``<bank title> — General`` with the ident ``"g" + md5("itembank-bank", bank title, "General")``
    (exporters/canvas/names.py: a bank of items whose topic is "General" has another ident)."""
    prefix, sep, name = title.rpartition(" — ")
    if not sep or name != "General" or not re.fullmatch(r"g[0-9a-f]{32}", ident):
        return False
    return "g" + hashlib.md5("\x00".join(("itembank-bank", prefix, name)).encode("utf-8")).hexdigest() == ident


def _our_bank_copy(ident: str, title: str, where: Context) -> bool:
    """Whether ``ident`` is the one itembank's Canvas export derives for an item whose id is ``title``
    (``"g" + md5("itembank-question", bank title, item id)``; the bank title is the quiz title)."""
    if not re.fullmatch(r"g[0-9a-f]{32}", ident):
        return False
    titles = {t for t in (where.quiz_title, (where.bank_title or "").rsplit(" — ", 1)[0]) if t}
    for bank_title in titles:
        if "g" + hashlib.md5("\x00".join(("itembank-question", bank_title, title)).encode("utf-8")).hexdigest() == ident:
            return True
    return False


class _Skip(Exception):
    pass


def _meta(el: etree._Element) -> dict[str, str]:
    """Metadata fields of an item/bank: qtimetadatafield (Canvas), qti_metadatafield (D2L), bbmd_* (Blackboard)."""
    out: dict[str, str] = {}
    md_parent = el.find("itemmetadata")
    if md_parent is None:
        md_parent = el
    for qmd in md_parent.iter("qtimetadata"):
        for fld in qmd:
            if local(fld) in ("qtimetadatafield", "qti_metadatafield"):
                label = (fld.findtext("fieldlabel") or "").strip()
                if label and label not in out:
                    out[label] = (fld.findtext("fieldentry") or "").strip()
        if el.tag in ("objectbank", "assessment"):
            break
    if md_parent is not el:
        for child in md_parent:
            name = local(child)
            if name and name not in ("qtimetadata",) and len(child) == 0 and name not in out:
                out[name] = (child.text or "").strip()
    return out


def _first_words(md: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", md).split()[:8]) or "question"


def _material_html(el: etree._Element | None) -> str:
    """The HTML of a ``material`` (or any element holding materials): mattext/mat_formattedtext/matimage."""
    if el is None:
        return ""
    from html import escape

    parts: list[str] = []
    for node in el.iter():
        name = local(node)
        if name in ("mattext", "mat_formattedtext", "matemtext"):
            text = node.text or ""
            kind = (node.get("texttype") or node.get("type") or "text/plain").lower()
            if "html" in kind:
                parts.append(text)
            else:
                parts.append(escape(text).replace("\n", "<br/>") if text.strip() else "")
        elif name == "matimage" and node.get("uri"):
            parts.append(f'<img src="{escape(node.get("uri") or "")}" alt="{escape(node.get("label") or "")}"/>')
        elif name in ("mataudio", "matvideo", "matapplet", "matapplication") and node.get("uri"):
            uri = escape(node.get("uri") or "")  # kept as a link: Markdown has no audio/video element
            parts.append(f'<a href="{uri}">{escape(node.get("label") or uri)}</a>')
        elif name == "matbreak":
            parts.append("<br/>")
    return "".join(parts)


class _ItemReader:
    """Reads one QTI 1.2 ``<item>`` into an item dict (raises :class:`_Skip` with a reason)."""

    def __init__(self, reader: _Reader, el: etree._Element, doc: str) -> None:
        self.r = reader
        self.el = el
        self.meta = _meta(el)
        base = doc.rsplit("/", 1)[0] if "/" in doc else ""
        self.text = Text(reader.pkg, reader.ctx.media, base, cache=reader.text_cache)
        self.notes: list[str] = []
        self._used: set[str] = set()  # feedback idents a type reader tied to answers (the rest goes to the rationale)
        self.calc: Any = None  # calculated questions: canvas_calculated.CanvasCalculated
        self.responses = self._responses()
        self.conditions = self._conditions()
        self.feedback = self._feedback()

    # structure ------------------------------------------------------------------------------

    def _responses(self) -> list[Response]:
        out: list[Response] = []
        pres = self.el.find("presentation")
        if pres is None:
            return out
        for node in pres.iter():
            name = local(node)
            if not name.startswith("response_") or name == "response_label":
                continue
            labels: list[tuple[str, str]] = []
            fibtype = ""
            for lab in node.iter("response_label"):
                labels.append((lab.get("ident") or "", _material_html(lab)))
            for fib in node.iter("render_fib"):
                fibtype = fib.get("fibtype") or ""
            prompt = "".join(_material_html(m) for m in node if local(m) == "material")
            out.append(Response(node.get("ident") or "", name[len("response_") :], (node.get("rcardinality") or "Single"), labels, prompt, fibtype))
        return out

    def stem_html(self) -> str:
        pres = self.el.find("presentation")
        if pres is None:
            return ""
        parts: list[str] = []

        def walk(node: etree._Element) -> None:
            for child in node:
                name = local(child)
                if name.startswith("response_"):
                    continue
                if name == "material":
                    parts.append(_material_html(child))
                elif name in ("flow", "flow_mat"):
                    walk(child)

        walk(pres)
        return _unwrap_div("".join(parts))

    def _conditions(self) -> list[Condition]:
        out: list[Condition] = []
        for rp in self.el.findall("resprocessing"):
            for rc in rp.iter("respcondition"):
                var = rc.find("conditionvar")
                if var is None:
                    continue
                score: float | None = None
                action = "Set"
                for sv in rc.findall("setvar"):
                    name = sv.get("varname") or sv.get("variablename") or "SCORE"
                    if name.upper() not in ("SCORE", "QUE_SCORE"):
                        continue
                    raw = (sv.text or "").strip()
                    action = sv.get("action") or "Set"
                    score = 100.0 if raw.upper() == "SCORE.MAX" else number(raw)
                fbs = [d.get("linkrefid") or "" for d in rc.findall("displayfeedback")]
                out.append(Condition(var, score, action, fbs, (rc.get("title") or "").strip().lower(), (rc.get("continue") or "No").lower() == "yes"))
        return out

    def _feedback(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for fb in self.el.findall("itemfeedback"):
            ident = fb.get("ident") or ""
            html = _material_html(fb)
            if ident and html.strip():
                out[ident] = html
        return out

    def scoring(self, cond: Condition) -> bool:
        """Whether a condition marks a correct answer."""
        if cond.score is not None:
            return cond.score > 0
        return cond.title == "correct" or "correct" in cond.feedback

    def equals(self, var: etree._Element, direct_only: bool = False) -> list[tuple[str, str, bool]]:
        """(respident, value, negated) of the varequal tests in a conditionvar."""
        out = []
        for v in var.iter("varequal"):
            negated = any(local(a) == "not" for a in v.iterancestors() if a is not var and var in a.iterancestors())
            out.append((v.get("respident") or "", (v.text or "").strip(), negated))
        return out

    # dispatch --------------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        qtype = (self.meta.get("question_type") or "").strip()
        vendor = (self.meta.get("bbmd_questiontype") or self.meta.get("qmd_questiontype") or "").strip()
        if qtype in UNSUPPORTED:
            raise _Skip(UNSUPPORTED[qtype])
        if not qtype and vendor.lower() in VENDOR_UNSUPPORTED:
            what = VENDOR_UNSUPPORTED[vendor.lower()]
            if "formula" in what or "calculated" in what:  # calculated items exist; this vendor's layout is not read
                raise _Skip(f"{what} in {vendor!r} layout: only Canvas's own formula questions (calculated_question) are read into calculated items")
            raise _Skip(f"{what}: no item type reads it")
        kind = qtype or VENDOR_READERS.get(vendor.lower()) or self._infer()
        method = getattr(self, f"_read_{kind}", None)
        if method is None:
            raise _Skip(f"question type '{kind}' has no item type")
        data: dict[str, Any] = method()
        if not data["stem"].strip():
            raise _Skip("the question has no text (empty stem)")
        problem = pairs_problem(data["pairs"]) if data["type"] == "matching" else (
            interval_problem(data) if data["type"] == "numeric" else None)
        if problem:
            raise _Skip(problem)
        self._points(data)
        self._general(data)
        if self.calc is not None:
            self.calc.finish(data)  # placeholders back where the texts' tokens are
        self.notes += self.text.take_notes()
        return data

    def _infer(self) -> str:
        rs = self.responses
        lids = [r for r in rs if r.kind == "lid"]
        strs = [r for r in rs if r.kind in ("str", "num")]
        if not rs:
            raise _Skip("no response: a text-only entry, not a question")
        if any(r.kind in ("xy", "grp") for r in rs):
            raise _Skip(f"response type response_{rs[0].kind} (hot spot / grouped) has no item type")
        if len(lids) > 1 and not strs:
            return "matching_question"
        if len(lids) == 1 and not strs:
            lid = lids[0]
            if lid.cardinality.lower() == "multiple":
                return "multiple_answers_question"
            texts = {text_of(_frag(h)).lower() for _i, h in lid.labels}
            if texts == {"true", "false"}:
                return "true_false_question"
            return "multiple_choice_question"
        if len(strs) == 1 and not lids:
            r = strs[0]
            if r.kind == "num" or r.fibtype.lower() in ("decimal", "integer"):
                return "numerical_question"
            if any(e[1] and not e[2] for c in self.conditions if self.scoring(c) for e in self.equals(c.var)):
                return "short_answer_question"
            return "essay_question"
        raise _Skip(f"{len(rs)} responses of mixed kinds ({', '.join(r.kind for r in rs)}): a layout no item type reads")

    # shared pieces ------------------------------------------------------------------------------

    def _points(self, data: dict[str, Any]) -> None:
        raw = self.meta.get("points_possible") or self.meta.get("qmd_weighting") or ""
        value = number(raw)
        if value is None or value <= 0:
            alt = number(self.meta.get("qmd_absolutescore_max"))
            if alt is not None and alt > 0:
                value = alt
        if value is None:
            return
        if value <= 0:
            self.notes.append(f"the source gives {raw} points; items need more than 0, so the default 1 applies")
            return
        data["points"] = clean_number(value)

    def stem(self) -> str:
        return self.text.md(self.stem_html())

    def answer_feedback(self, label: str) -> str:
        """The feedback shown for one answer: Canvas ``<id>_fb``, or what a condition on that answer displays."""
        for key in (f"{label}_fb", label):
            if key in self.feedback:
                return self.feedback[key]
        for c in self.conditions:
            eq = self.equals(c.var)
            if len(eq) == 1 and eq[0][1] == label and not eq[0][2]:
                for ref in c.feedback:
                    if ref in self.feedback and ref not in ("correct", "incorrect", "correct_fb", "general_fb", "general_incorrect_fb"):
                        return self.feedback[ref]
        return ""

    def used_feedback(self, labels: list[str]) -> set[str]:
        used = set()
        for label in labels:
            for key in (f"{label}_fb", label):
                if key in self.feedback:
                    used.add(key)
            for c in self.conditions:
                eq = self.equals(c.var)
                if len(eq) == 1 and eq[0][1] == label:
                    used.update(c.feedback)
        return used

    def _general(self, data: dict[str, Any]) -> None:
        """General, correct and incorrect feedback (and leftovers) into rationale, solution, hints..."""
        used = set(self._used)
        general = self.feedback.get("general_fb", "")
        correct = self.feedback.get("correct_fb") or self.feedback.get("correct", "")
        incorrect = self.feedback.get("general_incorrect_fb") or self.feedback.get("incorrect", "")
        used.update({"general_fb", "correct_fb", "correct", "general_incorrect_fb", "incorrect"})
        # feedback shown by an <other/> condition that scores nothing: general (continue) or incorrect
        for c in self.conditions:
            if c.var.find("other") is not None and not self.scoring(c):
                for ref in c.feedback:
                    if ref in self.feedback and ref not in used:
                        used.add(ref)
                        if c.continue_ and not general:
                            general = self.feedback[ref]
                        elif not incorrect:
                            incorrect = self.feedback[ref]
        rationale_parts: list[str] = []
        if general:
            head, sections = split_sections(general)
            head_md = self.text.md(head)
            if head_md:
                rationale_parts.append(head_md)
            self._sections(data, sections)
        if correct:
            rationale_parts.append(self.text.md(correct))
            self.notes.append("correct-answer feedback kept in the rationale (the item format has no correct-only feedback)")
        if incorrect:
            head, sections = split_sections(incorrect)
            self._sections(data, sections)
            head_md = self.text.md(head)
            if head_md:
                data.setdefault("common_mistakes", []).insert(0, head_md)
                self.notes.append("incorrect-answer feedback kept as a common mistake (the item format has no incorrect-only feedback)")
        for ident, html in self.feedback.items():
            if ident not in used:
                md = self.text.md(html)
                if md:
                    rationale_parts.append(md)
                    self.notes.append(f"feedback '{ident}' is not tied to an answer the item format keeps: kept in the rationale")
        extra = data.pop("_extra_rationale", [])
        rationale_parts += extra
        if rationale_parts:
            data["rationale"] = "\n\n".join(p for p in rationale_parts if p)

    def _sections(self, data: dict[str, Any], sections: dict[str, etree._Element]) -> None:
        for label, sec in sections.items():
            if label == "Solution":
                steps: list[Any] = []
                for li in items_of(sec):
                    title = None
                    if len(li) and li[0].tag == "strong" and not (li.text or "").strip():
                        title = text_of(li[0])
                        rest = li[0].tail or ""
                        li.remove(li[0])
                        li.text = rest
                    body = self.text.md(inner_html(li))
                    steps.append({"title": title, "text": body} if title else body)
                if steps:
                    data.setdefault("solution", {})["steps"] = steps
            elif label in ("Answer", "Quick check"):
                key = "final_answer" if label == "Answer" else "quick_check"
                md = self.text.md(inner_html(sec))
                if md:
                    data.setdefault("solution", {})[key] = md
            elif label in ("Hints", "Hint"):
                hints = [self.text.md(inner_html(li)) for li in items_of(sec)]
                if hints:
                    data["hints"] = [h for h in hints if h]
            elif label == "Common mistakes":
                mistakes = [self.text.md(inner_html(li)) for li in items_of(sec)]
                data.setdefault("common_mistakes", []).extend(m for m in mistakes if m)
            elif label == "Rubric" and data.get("type") == "essay":
                rubric = []
                for li in items_of(sec):
                    m = re.match(r"^(.*?) \(([\d.]+) pt\)(?:: (.*))?$", text_of(li), re.S)
                    if m:
                        entry: dict[str, Any] = {"criterion": m.group(1), "points": clean_number(float(m.group(2)))}
                        if m.group(3):
                            entry["description"] = m.group(3)
                        rubric.append(entry)
                if rubric:
                    data["rubric"] = rubric
            elif label == "Sample answer" and data.get("type") == "essay":
                md = self.text.md(inner_html(sec))
                if md:
                    data["sample_answer"] = md
            elif label == "If a blank was wrong" and data.get("type") == "cloze":
                for li in items_of(sec):
                    if len(li) and li[0].tag == "strong":
                        name = text_of(li[0]).strip("[]")
                        rest = li[0].tail or ""
                        li.remove(li[0])
                        li.text = rest
                        if name in data["blanks"]:
                            data["blanks"][name]["feedback"] = self.text.md(inner_html(li))
            else:
                md = self.text.md(inner_html(sec))
                if md:
                    data.setdefault("_extra_rationale", []).append(f"**{label}**\n\n{md}")

    # types --------------------------------------------------------------------------------------

    def _single_lid(self) -> Response:
        lids = [r for r in self.responses if r.kind == "lid"]
        if len(lids) != 1:
            raise _Skip(f"expected one choice response, found {len(lids)}")
        if not lids[0].labels:
            raise _Skip("choice question without choices")
        return lids[0]

    def _correct_labels(self, lid: Response) -> tuple[set[str], set[str]]:
        """(labels a scoring condition requires, labels it requires absent)."""
        yes: set[str] = set()
        no: set[str] = set()
        for c in self.conditions:
            if not self.scoring(c):
                continue
            for resp, value, negated in self.equals(c.var):
                if resp and resp != lid.ident:
                    continue
                (no if negated else yes).add(value)
        return yes, no

    def _options(self, lid: Response, correct: set[str]) -> list[dict[str, Any]]:
        used: set[str] = set()
        options = []
        blank = 0
        for n, (ident, html) in enumerate(lid.labels):
            text = self.text.md(html)
            if not text:
                if ident in correct:
                    raise _Skip(f"choice {ident!r} has no text, and it is a correct one")
                blank += 1  # Blackboard keeps the empty choices of its editor's four: a wrong one is dropped
                continue
            opt: dict[str, Any] = {"id": option_id(ident if not ident.isdigit() else None, n, used), "text": text}
            if ident in correct:
                opt["correct"] = True
            fb = self.text.md(self.answer_feedback(ident))
            if fb:
                opt["feedback"] = fb
            options.append(opt)
        if blank:
            self.notes.append(f"{blank} wrong choice{'s' * (blank > 1)} without text dropped ({len(options)} kept)")
        self._used = self.used_feedback([i for i, _h in lid.labels if i in correct or self.text.md(_h)])
        idents = [i for i, _h in lid.labels]
        if len(set(idents)) < len(idents):
            raise _Skip("two choices share one identifier: which one is correct cannot be told")
        problem = options_problem(options)
        if problem:
            raise _Skip(problem)
        return options

    def _keys(self, lid: Response) -> set[str]:
        yes, no = self._correct_labels(lid)
        labels = [i for i, _h in lid.labels]
        keys = yes & set(labels)
        if not keys and yes and not (yes | no) & set(labels):
            # Blackboard Ultra: the conditions name the choices by other idents, in the choices' order
            order = [v for c in self.conditions if self.scoring(c) for _r, v, _n in self.equals(c.var)]
            order = list(dict.fromkeys(order))
            if len(order) == len(labels):
                keys = {labels[order.index(v)] for v in yes}
                self.notes.append("the answer conditions name the choices by other identifiers: matched by position")
        if not keys:
            if any(c.score == 0 for c in self.conditions) and not any(self.scoring(c) for c in self.conditions):
                raise _Skip("no answer scores any points (a 0-point question): no correct choice to keep")
            raise _Skip("no correct choice is marked")
        return keys

    def _read_multiple_choice_question(self) -> dict[str, Any]:
        lid = self._single_lid()
        keys = self._keys(lid)
        data: dict[str, Any] = {"type": "multiple_choice", "stem": self.stem()}
        if len(keys) > 1:
            data["type"] = "multiple_response"
            self.notes.append(f"multiple choice with {len(keys)} answers that each score: read as multiple response")
        data["options"] = self._options(lid, keys)
        return data

    def _read_multiple_answers_question(self) -> dict[str, Any]:
        lid = self._single_lid()
        keys = self._keys(lid)
        data: dict[str, Any] = {"type": "multiple_response", "stem": self.stem(), "scoring": "partial"}
        data["options"] = self._options(lid, keys)
        return data

    def _read_true_false_question(self) -> dict[str, Any]:
        lid = self._single_lid()
        yes, _no = self._correct_labels(lid)
        texts = {i: text_of(_frag(h)).lower() for i, h in lid.labels}
        if sorted(texts.values()) != ["false", "true"]:
            self.notes.append("true/false question whose answers are not True and False: read as multiple choice")
            return self._read_multiple_choice_question()
        keys = [i for i in yes if i in texts]
        if len(keys) != 1:
            raise _Skip("true/false question without exactly one correct answer")
        data: dict[str, Any] = {"type": "true_false", "stem": self.stem(), "answer": texts[keys[0]] == "true"}
        for ident, value in texts.items():
            fb = self.text.md(self.answer_feedback(ident))
            if fb:
                data[f"{value}_feedback"] = fb
        self._used = self.used_feedback(list(texts))
        return data

    def _text_answers(self, ident: str | None) -> list[str]:
        answers: list[str] = []
        for c in self.conditions:
            if not self.scoring(c):
                continue
            for resp, value, negated in self.equals(c.var):
                if not negated and value and (ident is None or not resp or resp == ident) and value not in answers:
                    answers.append(value)
        return answers

    def _read_short_answer_question(self) -> dict[str, Any]:
        rs = [r for r in self.responses if r.kind in ("str", "num")]
        answers = self._text_answers(rs[0].ident if len(rs) > 1 else None)
        if not answers:
            raise _Skip("short answer without any accepted answer")
        self._used = self.used_feedback(answers)
        for a in answers:
            fb = self.answer_feedback(a)
            if fb:
                self.notes.append(f"feedback for the answer '{a}' kept in the rationale (short answers have no per-answer feedback)")
        data: dict[str, Any] = {"type": "short_answer", "stem": self.stem(), "answers": answers}
        boxes = next((f.get("input_boxes") for f in self.el.iter("render_fib") if f.get("input_boxes")), None)
        if boxes and boxes != "1":
            self.notes.append(f"the source asks for {boxes} answers in {boxes} boxes; the item takes one answer, any of the accepted ones")
        if any(v.get("case") == "Yes" for c in self.conditions for v in c.var.iter("varequal")):
            data["case_sensitive"] = True
        extra = [self.text.md(self.answer_feedback(a)) for a in answers]
        if any(extra):
            data["_extra_rationale"] = [e for e in extra if e]
        return data

    def _read_numerical_question(self) -> dict[str, Any]:
        stem_html = self.stem_html()
        unit = None
        m = re.search(r"<p>Unit: ([^<]+)</p>\s*$", stem_html)
        if m:  # our own export writes the unit under the stem
            from html import unescape

            unit = unescape(m.group(1)).strip()
            stem_html = stem_html[: m.start()]
        answers: list[dict[str, Any]] = []
        for c in self.conditions:
            if not self.scoring(c):
                continue
            ans = _numeric_answer(c.var)
            if ans is not None:
                answers.append(ans)
                eq = c.var.find(".//varequal")
                if eq is not None and eq.get("margintype") == "percent":
                    self.notes.append(f"margin of {eq.get('margin')}% read as the absolute interval Canvas computed for it")
                if eq is not None and eq.get("precisiontype"):
                    self.notes.append(f"precision answer ({eq.get('precision')} {eq.get('precisiontype')}) read as the interval Canvas "
                                      "computed for it (its lower end is exclusive in Canvas, inclusive here)")
        if not answers:
            raise _Skip("numerical question without a readable answer (exact, margin or range)")
        data: dict[str, Any] = {"type": "numeric", "stem": self.text.md(stem_html), **answers[0]}
        if len(answers) > 1:
            self.notes.append(f"numerical question with {len(answers)} accepted answers: the item format holds one, kept the first "
                              f"(others: {'; '.join(_describe(a) for a in answers[1:])})")
        if unit:
            data["unit"] = unit
        self._used = set()
        return data

    def _read_calculated_question(self) -> dict[str, Any]:
        from .canvas_calculated import CanvasCalculated, strip_unit
        from .formula_translate import Untranslatable

        ext = self.el.find("itemproc_extension/calculated")
        if ext is None:
            raise _Skip("formula question without its <calculated> definition (variables and formula)")
        calc = CanvasCalculated(ext)
        try:
            data = calc.fields(self.notes)
        except (Untranslatable, ValueError) as exc:
            raise _Skip(f"formula question: {exc}") from None
        self.calc = calc
        self.feedback = {k: calc.tokenize(v) for k, v in self.feedback.items()}
        data["stem"] = self.text.md(calc.tokenize(strip_unit(self.stem_html(), data.get("unit"))))
        if calc.unknown:
            self.notes.append("the texts show " + ", ".join(f"[{n}]" for n in calc.unknown) + ", which name(s) no variable of the formula "
                              "question (Canvas has no derived variables): kept as text")
        self._used = set()
        return data

    def _read_essay_question(self) -> dict[str, Any]:
        html = self.stem_html()
        data: dict[str, Any] = {"type": "essay"}
        m = re.search(r"<p>Start from:</p><pre>(.*?)</pre>\s*$", html, re.S)
        if m:
            from html import unescape

            data["response_template"] = unescape(m.group(1))
            html = html[: m.start()]
        m = re.search(r"<p>Write (at least (\d+))?( and )?(at most (\d+))? words\.</p>\s*$", html)
        if m and (m.group(2) or m.group(5)):
            if m.group(2):
                data["min_words"] = int(m.group(2))
            if m.group(5):
                data["max_words"] = int(m.group(5))
            html = html[: m.start()]
        data["stem"] = self.text.md(html)
        self._used = set()
        return data

    def _read_matching_question(self) -> dict[str, Any]:
        lids = [r for r in self.responses if r.kind == "lid"]
        if not lids:
            raise _Skip("matching question without prompts")
        pairs = []
        all_matches: dict[str, str] = {}
        for lid in lids:
            for ident, html in lid.labels:
                all_matches.setdefault(ident, text_of(_frag(html)))
        stem_html: str | None = None
        if all_matches and not any(all_matches.values()):
            all_matches, stem_html = self._blackboard_matching(lids)
        if not all_matches or not any(all_matches.values()):
            raise _Skip("matching answers have no text in the QTI (the pairs are written outside it)")
        used_matches: set[str] = set()
        unmatched: list[str] = []
        for lid in lids:
            prompt = self.text.md(lid.prompt_html or self._after_response(lid.ident))
            chosen = None
            for c in self.conditions:
                if not self.scoring(c):
                    continue
                for resp, value, negated in self.equals(c.var):
                    if resp == lid.ident and not negated and value in all_matches:
                        chosen = value
                        break
                if chosen:
                    break
            if chosen is None or not prompt:
                unmatched.append(prompt or lid.ident)
                continue
            if not all_matches[chosen]:
                unmatched.append(prompt)
                continue
            used_matches.add(chosen)
            pairs.append({"prompt": prompt, "match": all_matches[chosen]})
        if not pairs:
            raise _Skip("matching question without a correct pair")
        if len(pairs) < 2:
            raise _Skip(f"{len(pairs)} pair: a matching question needs at least two")
        if unmatched:
            self.notes.append(f"{len(unmatched)} prompt(s) without a correct match dropped: {', '.join(unmatched)}")
        # Several prompts may take one choice (Canvas gives answers with the same right side one match_id):
        # pairs that share a match.  A choice no prompt takes, shown like a match, is that match again.
        taken = {shown_alike(p["match"]) for p in pairs}
        distractors = [t for i, t in all_matches.items() if i not in used_matches and t and shown_alike(t) not in taken]
        if stem_html is None:
            stem_html = self.stem_html()
        ordering_note = f"<p>{QUIZ_NOTE_ORDERING}</p>"
        prompts = [p["prompt"] for p in pairs]
        if stem_html.rstrip().endswith(ordering_note) and prompts == [f"Position {n}" for n in range(1, len(pairs) + 1)] and not distractors:
            # our own export of an ordering item
            stem_html = stem_html.rstrip()[: -len(ordering_note)]
            self._used = set()
            if len({p["match"] for p in pairs}) == len(pairs):
                return {"type": "ordering", "stem": self.text.md(stem_html), "sequence": [p["match"] for p in pairs]}
        data: dict[str, Any] = {"type": "matching", "stem": self.text.md(stem_html), "pairs": pairs}
        if distractors:
            data["distractors"] = list(dict.fromkeys(distractors))
        self._used = set()
        return data

    def _blackboard_matching(self, lids: list[Response]) -> tuple[dict[str, str], str]:
        """Blackboard 8/9 matching: empty choices in each list, the answers in a right-hand column
        (``<flow class="RIGHT_MATCH_BLOCK">``, one block per answer), the n-th choice of every list being
        the n-th answer.  Returns (choice ident -> answer text, the stem from the question block only);
        _Skip when that layout is not there whole."""
        pres = self.el.find("presentation")
        blocks = [f for f in (pres.iter("flow") if pres is not None else []) if (f.get("class") or "") == "RIGHT_MATCH_BLOCK"]
        questions = [f for f in (pres.iter("flow") if pres is not None else []) if (f.get("class") or "") == "QUESTION_BLOCK"]
        head = "matching answers have no text in the QTI"
        if len(blocks) != 1 or len(questions) != 1:
            raise _Skip(f"{head}, and no right-hand column (RIGHT_MATCH_BLOCK) holds them: the pairs cannot be recovered")
        rights = [text_of(_frag(_material_html(f))) for f in blocks[0] if local(f) == "flow"]
        if not rights or not all(rights) or len(set(rights)) < len(rights):
            raise _Skip(f"{head}, and the right-hand column (RIGHT_MATCH_BLOCK) has an empty or repeated answer: the pairs cannot be recovered")
        if {len(lid.labels) for lid in lids} != {len(rights)}:
            raise _Skip(f"{head}; the right-hand column has {len(rights)} answers but the lists offer "
                        f"{'/'.join(sorted({str(len(lid.labels)) for lid in lids}))} choices: which choice is which answer cannot be told")
        matches = {ident: rights[n] for lid in lids for n, (ident, _html) in enumerate(lid.labels)}
        self.notes.append(f"Blackboard matching: {len(lids)} lists of empty choices read with the answers of its right-hand column "
                          "(RIGHT_MATCH_BLOCK), the n-th choice of each list being the n-th answer")
        return matches, _unwrap_div(_material_html(questions[0]))

    def _after_response(self, ident: str) -> str:
        """The text right after a response in its block (Blackboard matching: the left-hand side)."""
        pres = self.el.find("presentation")
        for node in pres.iter() if pres is not None else []:
            if local(node).startswith("response_") and local(node) != "response_label" and node.get("ident") == ident:
                nxt = node.getnext()
                return _material_html(nxt) if nxt is not None and local(nxt) in ("flow", "material") else ""
        return ""

    def _read_ordering_question(self) -> dict[str, Any]:
        """New Quizzes' QTI export: one ordered response, the correct order as varequals in order."""
        lid = self._single_lid()
        texts = {i: text_of(_frag(h)) for i, h in lid.labels}
        order = [v for c in self.conditions if self.scoring(c) for r, v, neg in self.equals(c.var) if not neg and v in texts]
        order = list(dict.fromkeys(order))
        if len(order) < 2:
            raise _Skip("ordering question without a correct order")
        if len(order) < len(texts):
            self.notes.append(f"{len(texts) - len(order)} entr(y/ies) outside the correct order dropped")
        sequence = [texts[v] for v in order]
        if not all(sequence):
            raise _Skip("an entry of the order has no text")
        if len(set(sequence)) < len(sequence):
            raise _Skip("the correct order lists the same entry twice: an ordering item needs distinct entries")
        self._used = set()
        return {"type": "ordering", "stem": self.stem(), "sequence": sequence}

    def _read_categorization_question(self) -> dict[str, Any]:
        """New Quizzes' categorization: a response per category listing its entries -> matching entry -> category."""
        lids = [r for r in self.responses if r.kind == "lid"]
        texts: dict[str, str] = {}
        for lid in lids:
            for ident, html in lid.labels:
                texts.setdefault(ident, text_of(_frag(html)))
        pairs: list[dict[str, str]] = []
        placed: set[str] = set()
        for lid in lids:
            category = text_of(_frag(lid.prompt_html))
            for value in self._lid_correct(lid):
                if value in texts and value not in placed and category:
                    placed.add(value)
                    pairs.append({"prompt": self.text.plain_md(texts[value]), "match": category})
        if not pairs:
            raise _Skip("categorization question without any entry in a category")
        self.notes.append("categorization read as matching: each entry is matched with its category")
        unplaced = [t for i, t in texts.items() if i not in placed and t]
        if unplaced:
            self.notes.append(f"entries that belong to no category dropped (matching has no left-hand distractors): {', '.join(unplaced)}")
        self._used = set()
        return {"type": "matching", "stem": self.stem(), "pairs": pairs}

    def _blank_lids(self) -> list[Response]:
        lids = [r for r in self.responses if r.kind == "lid"]
        if not lids:
            raise _Skip("blanks question without blanks")
        return lids

    def _blank_key(self, lid: Response) -> str:
        name = text_of(_frag(lid.prompt_html)) or lid.ident.removeprefix("response_")
        return name

    def _cloze_stem(self, names: dict[str, str]) -> str:
        html = protect_braces(self.stem_html())

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            return "{{" + names[key] + "}}" if key in names else m.group(0)

        return re.sub(r"\[([^\[\]\s]{1,64})\]", sub, html)

    def _read_fill_in_multiple_blanks_question(self) -> dict[str, Any]:
        lids = self._blank_lids()
        used: set[str] = set()
        names: dict[str, str] = {}
        blanks: dict[str, Any] = {}
        stem_html = self.stem_html()
        for n, lid in enumerate(lids):
            key = self._blank_key(lid)
            name = blank_name(key, n, used)
            names[key] = name
            # Canvas: every answer listed under a blank is accepted (only one of them is in a condition)
            answers = [a for a in dict.fromkeys(text_of(_frag(h)) for _i, h in lid.labels) if a]
            if not answers:
                raise _Skip(f"blank [{key}] has no accepted answer")
            # our export: a dropdown blank in a mixed cloze is "[name] (a / b / c)"
            m = re.search(r"\[" + re.escape(key) + r"\] \(([^()<>]+)\)", stem_html)
            choices = [c.strip() for c in m.group(1).split(" / ")] if m else []
            if m and len(answers) == 1 and answers[0] in choices and len(choices) > 1:
                blanks[name] = {"choices": choices, "correct": answers[0]}
                stem_html = stem_html.replace(m.group(0), f"[{key}]")
            elif _all_same_number(answers):
                blanks[name] = {"number": clean_number(float(answers[0]))}
                if len(answers) > 1:
                    self.notes.append(f"blank '{name}': accepted answers {', '.join(answers)} are one number: read as a numeric blank")
            else:
                blanks[name] = {"answers": answers}
        html = stem_html

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            return "{{" + names[key] + "}}" if key in names else m.group(0)

        stem = restore_braces(self.text.md(re.sub(r"\[([^\[\]\s]{1,64})\]", sub, protect_braces(html))))
        missing = [n for n in blanks if "{{" + n + "}}" not in stem]
        if missing:
            raise _Skip(f"blank(s) {', '.join(missing)} do not appear as [name] in the question text")
        self._used = set()
        problem = blanks_problem(stem, blanks)
        if problem:
            raise _Skip(problem)
        return {"type": "cloze", "stem": stem, "blanks": blanks}

    def _lid_correct(self, lid: Response) -> list[str]:
        out: list[str] = []
        for c in self.conditions:
            if not self.scoring(c):
                continue
            for resp, value, negated in self.equals(c.var):
                if resp == lid.ident and not negated and value not in out:
                    out.append(value)
        return out

    def _read_multiple_dropdowns_question(self) -> dict[str, Any]:
        lids = self._blank_lids()
        used: set[str] = set()
        names: dict[str, str] = {}
        blanks: dict[str, Any] = {}
        for n, lid in enumerate(lids):
            key = self._blank_key(lid)
            name = blank_name(key, n, used)
            names[key] = name
            texts = {i: text_of(_frag(h)) for i, h in lid.labels}
            choices = [t for t in dict.fromkeys(texts.values()) if t]
            correct = [texts[v] for v in self._lid_correct(lid) if v in texts]
            if not correct:
                raise _Skip(f"dropdown [{key}] has no correct choice")
            if len(set(correct)) > 1:
                self.notes.append(f"dropdown '{name}' accepts {len(set(correct))} choices: kept the first as the correct one")
            blanks[name] = {"choices": choices, "correct": correct[0]}
        stem = restore_braces(self.text.md(self._cloze_stem(names)))
        missing = [n for n in blanks if "{{" + n + "}}" not in stem]
        if missing:
            raise _Skip(f"dropdown(s) {', '.join(missing)} do not appear as [name] in the question text")
        self._used = set()
        problem = blanks_problem(stem, blanks)
        if problem:
            raise _Skip(problem)
        return {"type": "cloze", "stem": stem, "blanks": blanks}


def _unwrap_div(html: str) -> str:
    """``<div>X</div>`` -> ``X`` (Canvas wraps every question text in one div)."""
    stripped = html.strip()
    if stripped.startswith("<div>") and stripped.endswith("</div>"):
        root = _frag(stripped)
        if len(root) == 1 and root[0].tag == "div" and not (root.text or "").strip() and not (root[0].tail or "").strip() and not root[0].attrib:
            return inner_html(root[0])
    return html


def _frag(html: str) -> etree._Element:
    from ._qti_common import _fragment

    return _fragment(html or "")


def _all_same_number(answers: list[str]) -> bool:
    values = [number(a) for a in answers]
    if not values or any(v is None for v in values) or len(set(values)) != 1:
        return False
    canonical = {str(clean_number(values[0])), repr(values[0]), f"{values[0]:.1f}"}  # type: ignore[arg-type]
    return all(a.strip() in canonical for a in answers)


def _numeric_answer(var: etree._Element) -> dict[str, Any] | None:
    """exact (varequal), exact with margin (or: varequal + and(vargte, varlte)), or range (vargte + varlte)."""
    exact_el = var.find(".//varequal")
    low_el = next((e for e in var.iter() if local(e) in ("vargte", "vargt")), None)
    high_el = next((e for e in var.iter() if local(e) in ("varlte", "varlt")), None)
    exact = number(exact_el.text) if exact_el is not None else None
    low = number(low_el.text) if low_el is not None else None
    high = number(high_el.text) if high_el is not None else None
    if exact is not None:
        if low is not None and high is not None and low <= exact <= high:
            assert low_el is not None and high_el is not None and exact_el is not None
            margin = max(decimal_diff(low_el.text or "", exact_el.text or ""), decimal_diff(exact_el.text or "", high_el.text or ""))
            if abs(decimal_diff(low_el.text or "", exact_el.text or "") - decimal_diff(exact_el.text or "", high_el.text or "")) < 1e-12:
                return {"answer": clean_number(exact), "tolerance": clean_number(margin)} if margin else {"answer": clean_number(exact)}
            return {"range": {"min": clean_number(low), "max": clean_number(high)}}
        return {"answer": clean_number(exact)}
    if low is not None and high is not None:
        return {"range": {"min": clean_number(low), "max": clean_number(high)}}
    return None


def _describe(ans: dict[str, Any]) -> str:
    if "range" in ans:
        return f"{ans['range']['min']} to {ans['range']['max']}"
    return f"{ans['answer']}" + (f" ± {ans['tolerance']}" if ans.get("tolerance") else "")


importer = CanvasImporter()
