"""``qti``: QTI 2.1, 2.2 and 3.0 -- content packages (zip or folder with ``imsmanifest.xml``) or single
item files; the version is detected from each file (2.x camelCase elements, 3.0 ``qti-`` kebab-case).

Read (see ``docs/import.md``, "Canvas, QTI and text2qti"):

* interactions: choice (single -> multiple choice or true/false, multiple -> multiple response),
  text entry (alone: short answer or numeric; inside text: cloze), extended text (essay; with our
  ``ANSWER`` feedback: flashcard), inline choice (cloze dropdown), match, gap match (cloze with
  dropdowns, noted), order; associate, hotspot, slider, upload, drawing, custom... are skipped with
  the reason; an item with several block interactions is skipped (no item type holds it);
* the key from ``correctResponse``, else from the response processing: the standard templates
  (match_correct, map_response) and the explicit patterns our exports and Canvas write
  (``match``/``stringMatch`` against a value, ``gte``/``lte`` intervals, ``equal`` with tolerance);
  ``mapping`` gives the accepted short answers and partial-credit scoring;
* points from ``MAXSCORE``, ``SCORE``'s ``normalMaximum``, Canvas's ``points_possible`` (``max_score`` of Blackboard's) or the mapping;
* modal feedback: per choice -> the option's feedback; our ``SOLUTION``/``HINT``/``ANSWER`` feedback
  and essay rubric blocks back into rationale, solution, common mistakes, hints, rubric, sample answer;
  anything else into the rationale with a note;
* the package manifest's LOM: identifier -> id, keywords -> tags, difficulty, objectives; the test's
  section titles -> topic;
* MathML -> ``$...$`` (through the kit's HTML converter and :mod:`importers.kit.mathml`).
"""

from __future__ import annotations

import math
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

from itembank.model import shown_alike
from itembank.render import replace_with_text

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

BLOCK = {"choiceInteraction", "extendedTextInteraction", "matchInteraction", "orderInteraction", "associateInteraction",
         "gapMatchInteraction", "hotspotInteraction", "hottextInteraction", "sliderInteraction", "uploadInteraction",
         "drawingInteraction", "mediaInteraction", "selectPointInteraction", "graphicOrderInteraction",
         "graphicAssociateInteraction", "graphicGapMatchInteraction", "positionObjectInteraction", "customInteraction",
         "portableCustomInteraction", "endAttemptInteraction"}
INLINE = {"textEntryInteraction", "inlineChoiceInteraction"}
UNSUPPORTED = {
    "associateInteraction": "associate interaction (pairs chosen freely from one set) has no item type",
    "hotspotInteraction": "hotspot (click on an image) has no item type",
    "hottextInteraction": "hot text (select words in the text) has no item type",
    "sliderInteraction": "slider has no item type",
    "uploadInteraction": "file upload has no item type",
    "drawingInteraction": "drawing has no item type",
    "mediaInteraction": "media interaction has no item type",
    "selectPointInteraction": "select point (on an image) has no item type",
    "graphicOrderInteraction": "graphic order (on an image) has no item type",
    "graphicAssociateInteraction": "graphic associate (on an image) has no item type",
    "graphicGapMatchInteraction": "drag and drop onto an image has no item type",
    "positionObjectInteraction": "position object has no item type",
    "customInteraction": "custom interaction (vendor-specific) has no item type",
    "portableCustomInteraction": "portable custom interaction has no item type",
    "endAttemptInteraction": "end-attempt button has no item type",
}
#: The toolName our QTI export writes on every item (exporters/qti/profiles.py).
TOOL_NAME = "itembank"
NOT_CARRIED = ("QTI packages carry no level, Bloom level, author, source, status, review history, lint ignores or analysis evidence (our exports write "
               "difficulty, tags and objectives as LOM, topics as test sections); option ids are kept when they fit")
LOM_DIFFICULTY = {"very easy": "easy", "easy": "easy", "medium": "medium", "difficult": "hard", "very difficult": "hard"}
CANVAS_UNSUPPORTED = {"file_upload_question": "file-upload questions have no item type",
                      "text_only_question": "text-only entry: a description, not a question"}


def _camel(name: str) -> str:
    parts = name.split("-")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def normalize(root: etree._Element) -> etree._Element:
    """No namespaces, QTI 3.0 names in their 2.x spelling (``qti-choice-interaction max-choices`` ->
    ``choiceInteraction maxChoices``), 3.0's ``qti-content-body`` wrappers unwrapped."""
    strip_namespaces(root)
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if el.tag.startswith("qti-"):
            el.tag = _camel(el.tag[4:])
            for key in list(el.attrib):
                if isinstance(key, str) and "-" in key and not key.startswith(("data-", "aria-")):
                    el.attrib[_camel(key)] = el.attrib.pop(key)
    for el in list(root.iter("contentBody")):
        parent = el.getparent()
        if parent is None:
            continue
        idx = parent.index(el)
        if el.text:
            prev = el.getprevious()
            if prev is None:
                parent.text = (parent.text or "") + el.text
            else:
                prev.tail = (prev.tail or "") + el.text
        for child in list(el):
            parent.insert(idx, child)
            idx += 1
        parent.remove(el)
    return root


@dataclass
class ItemMeta:
    """What a package says about one item (manifest LOM, test section)."""

    lom_id: str | None = None
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    difficulty: str | None = None
    difficulty_raw: str | None = None
    objectives: list[str] = field(default_factory=list)
    topic: str | None = None
    notes: list[str] = field(default_factory=list)  # what the test said about the item (selection)


class QtiImporter:
    name = "qti"
    description = "QTI 2.1 / 2.2 / 3.0 content package (.zip or folder) or single item file (version detected)"

    def sniff(self, path: Path) -> bool:
        try:
            if is_zip(path):
                with Package(path) as pkg:
                    if pkg.has("imsmanifest.xml"):
                        m = pkg.read("imsmanifest.xml")
                        return bool(re.search(rb"imsqti_(item|test)_xmlv(2p|3p)|imsqti_v2p|imsqtiasi_v3p0|QTIv2|QTI Package", m))
                    return False
            if path.is_dir():
                return (path / "imsmanifest.xml").is_file() and b"imsqti_item_xmlv" in head_bytes(path / "imsmanifest.xml", 1 << 20)
            head = head_bytes(path)
            return b"assessmentItem" in head or b"qti-assessment-item" in head or b"assessmentTest" in head or b"qti-assessment-test" in head
        except Exception:  # sniffing never raises
            return False

    def read(self, path: Path, ctx: ImportContext) -> ReadResult:
        with Package(path) as pkg:
            return _Reader(pkg, ctx).run()


class _Skip(Exception):
    pass


class _Reader:
    def __init__(self, pkg: Package, ctx: ImportContext) -> None:
        self.pkg = pkg
        self.ctx = ctx
        self.result = ReadResult(format_notes=[NOT_CARRIED])
        self.text_cache: dict[tuple[str, str], tuple[str, list[str], list[str]]] = {}  # HTML -> Markdown, per package
        self.meta: dict[str, ItemMeta] = {}

    def run(self) -> ReadResult:
        item_files: list[str] = []
        test_files: list[str] = []
        if self.pkg.has("imsmanifest.xml"):
            manifest = strip_namespaces(self.pkg.xml("imsmanifest.xml"))
            for res in manifest.iter("resource"):
                kind = res.get("type") or ""
                href = res.get("href") or next((f.get("href") for f in res.iter("file")), None)
                if not href:
                    continue
                # xml:base on <resources> and <resource> (IMS CP) prefixes the href
                parent = res.getparent()
                base = ((parent.get("base") if parent is not None else None) or "") + (res.get("base") or "")
                href = posixpath.normpath(unquote(base + href))
                if "imsqti_item" in kind:
                    item_files.append(href)
                    self.meta[href] = self._lom(res)
                elif "imsqti_test" in kind:
                    test_files.append(href)
                elif "imsqti_xmlv1p2" in kind:
                    raise BadInput(self.pkg.label, "this is a QTI 1.2 package, not QTI 2.x/3.0: use `itembank import canvas`")
        else:
            for name in self.pkg.xml_names():
                data = self.pkg.read(name)
                head = data[:4096]
                if b"questestinterop" in head:
                    raise BadInput(self.pkg.origin(name), "this is QTI 1.2, not QTI 2.x/3.0: use `itembank import canvas`")
                if b"assessmentTest" in head or b"qti-assessment-test" in head:
                    test_files.append(name)
                elif b"assessmentItem" in head or b"qti-assessment-item" in head:
                    item_files.append(name)
        if not item_files and not test_files:
            raise BadInput(self.pkg.label, "no QTI 2.x/3.0 item (assessmentItem) found")
        present = set(self.pkg.names())
        referenced: set[str] = set()
        for test in test_files:
            referenced |= self._test(test, present)
        for href in item_files:
            if href not in present:
                self.result.skipped.append(Skipped(href, self.pkg.label, "the manifest lists this item file but the package does not hold it"))
                continue
            self._item(href)
        for href in sorted(referenced - set(item_files)):
            if href in present:
                self._item(href)
        return self.result

    def _lom(self, res: etree._Element) -> ItemMeta:
        meta = ItemMeta()
        for lom in res.iter("lom"):
            general = lom.find("general")
            if general is not None:
                entry = general.findtext("identifier/entry")
                meta.lom_id = entry.strip() if entry else None
                title = general.find("title")
                if title is not None:
                    meta.title = text_of(title) or None
                meta.tags = [text_of(k) for k in general.findall("keyword") if text_of(k)]
            diff = lom.findtext("educational/difficulty/value")
            if diff:
                meta.difficulty_raw = diff.strip()
                meta.difficulty = LOM_DIFFICULTY.get(diff.strip().lower())
            for cls in lom.findall("classification"):
                purpose = (cls.findtext("purpose/value") or "").strip().lower()
                if "objective" in purpose:
                    desc = cls.find("description")
                    if desc is not None and text_of(desc):
                        meta.objectives.append(text_of(desc))
        return meta

    def _test(self, name: str, present: set[str]) -> set[str]:
        """Section titles -> topics of the items the test references; refs to absent items are reported."""
        if name not in present:
            return set()
        root = normalize(self.pkg.xml(name))
        base = posixpath.dirname(name)
        refs: set[str] = set()
        ours = TOOL_NAME in (root.get("toolName"), root.get("tool-name"))

        def walk(el: etree._Element, title: str | None, note: str | None = None) -> None:
            for child in el:
                tag = local(child)
                if tag == "assessmentSection":
                    selection = child.find("selection")
                    inner = note
                    if selection is not None and selection.get("select"):
                        count = sum(1 for c in child if local(c) in ("assessmentItemRef", "assessmentSection"))
                        inner = (f"in test section '{child.get('title') or child.get('identifier')}' that selects {selection.get('select')} "
                                 f"of {count}: the selection is not kept, the item is")
                    own = child.get("title") or None
                    if ours and own == "General" and re.fullmatch(r"SECTION_[0-9]+", child.get("identifier") or ""):
                        own = ""  # our export's section of the items without a topic (exporters/qti/assessment_test.py)
                    walk(child, title if own is None else own, inner)
                elif tag == "assessmentItemRef":
                    href = posixpath.normpath(posixpath.join(base, unquote(child.get("href") or "")))
                    refs.add(href)
                    if href not in present:
                        self.result.skipped.append(Skipped(child.get("identifier") or href, f"{self.pkg.origin(name)}:{child.sourceline}",
                                                           f"the test refers to item file {href!r}, which is not in this package"))
                        continue
                    meta = self.meta.setdefault(href, ItemMeta())
                    if title and meta.topic is None:
                        meta.topic = title
                    if note and note not in meta.notes:
                        meta.notes.append(note)
                elif tag in ("testPart",):
                    walk(child, title, note)

        walk(root, None)
        return refs

    def _item(self, name: str) -> None:
        root = self.pkg.xml(name)
        origin = self.pkg.origin(name)
        root = normalize(root)
        if local(root) != "assessmentItem":
            raise BadInput(origin, f"expected an assessmentItem, found <{local(root)}>")
        ident = root.get("identifier") or posixpath.basename(name)
        meta = self.meta.get(name, ItemMeta())
        try:
            reader = _ItemReader(self, root, name)
            data = reader.read()
        except _Skip as exc:
            self.result.skipped.append(Skipped(ident, f"{origin}:{root.sourceline}", str(exc)))
            return
        notes = reader.notes + meta.notes
        title = (root.get("title") or "").strip()
        source_id = meta.lom_id or ident
        if meta.lom_id is None and ident.startswith("I_") and re.fullmatch(r"I_[0-9][a-z0-9._-]*", ident):
            source_id = ident[2:]  # our export prefixes ids that cannot start an identifier
        data_id = self.ctx.ids.derive(source_id, title or text_of(etree.fromstring("<x/>")), data["stem"] + "|" + data["type"])
        out: dict[str, Any] = {"id": data_id}
        if title and title != data_id and title != ident:
            out["title"] = item_title(title, notes)
        out.update(data)
        if meta.topic:
            out["topic"] = meta.topic
        if meta.difficulty:
            out["difficulty"] = meta.difficulty
            if meta.difficulty_raw and meta.difficulty_raw.lower() in ("very easy", "very difficult"):
                notes.append(f"LOM difficulty '{meta.difficulty_raw}' read as '{meta.difficulty}'")
        elif meta.difficulty_raw:
            notes.append(f"LOM difficulty '{meta.difficulty_raw}' is not one the item format knows: not kept")
        if meta.tags:
            out["tags"] = list(dict.fromkeys(meta.tags))
        if meta.objectives:
            out["objectives"] = list(dict.fromkeys(meta.objectives))
        self.result.items.append(ImportedItem(out, f"{origin}:{root.sourceline}", notes))


@dataclass
class Decl:
    ident: str
    cardinality: str
    base_type: str
    correct: list[str]
    mapping: dict[str, float]
    case_sensitive: bool
    upper: float | None
    lower: float | None = None
    default: float = 0.0  # what a choice the mapping does not name is worth


class _ItemReader:
    def __init__(self, reader: _Reader, root: etree._Element, name: str) -> None:
        self.r = reader
        self.root = root
        self.text = Text(reader.pkg, reader.ctx.media, posixpath.dirname(name), cache=reader.text_cache, escaped_html_divs=True)
        self.notes: list[str] = []
        self.decls = {d.ident: d for d in (self._decl(e) for e in root.findall("responseDeclaration"))}
        self.outcomes = {e.get("identifier") or "": e for e in root.findall("outcomeDeclaration")}
        self.rp = root.find("responseProcessing")
        self.body = root.find("itemBody")
        self.modals = [m for m in root.findall("modalFeedback")]
        self.used_modals: set[int] = set()
        self.instructure = {f.get("name"): f.get("value") for f in root.iter("instructureField")}
        self._extra: list[str] = []  # texts for the rationale found while reading the body
        self._body_extras_done = False
        self._rubrics_read = False  # essays read their rubric blocks into fields themselves

    def _decl(self, el: etree._Element) -> Decl:
        correct = [(v.text or "").strip() for v in el.findall("correctResponse/value")]
        mapping: dict[str, float] = {}
        case = False
        upper = lower = None
        default = 0.0
        m = el.find("mapping")
        if m is not None:
            upper = number(m.get("upperBound"))
            lower = number(m.get("lowerBound"))
            default = number(m.get("defaultValue")) or 0.0
            for entry in m.findall("mapEntry"):
                value = number(entry.get("mappedValue"))
                mapping[entry.get("mapKey") or ""] = value if value is not None else 0.0
                if entry.get("caseSensitive") == "true":
                    case = True
        return Decl(el.get("identifier") or "", el.get("cardinality") or "single", el.get("baseType") or "", correct, mapping, case, upper, lower, default)

    # ------------------------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        if self.body is None:
            raise _Skip("no itemBody")
        qtype = self.instructure.get("question_type") or ""
        if qtype in CANVAS_UNSUPPORTED:
            raise _Skip(CANVAS_UNSUPPORTED[qtype])
        if qtype == "calculated_question":
            return self._canvas_calculated()
        if self.root.find("templateDeclaration") is not None or self.root.find("templateProcessing") is not None:
            raise _Skip("template item (its values are drawn at random when delivered): the qti reader does not read template "
                        "declarations and template processing into a calculated item; import the Moodle XML or Canvas export instead")
        for end in [e for e in self.body.iter() if local(e) == "endAttemptInteraction"]:
            self.notes.append(f"'{end.get('title') or 'end attempt'}' button (endAttemptInteraction) dropped: the item format has no such button")
            replace_with_text(end)
        if self.root.get("adaptive") == "true":
            self.notes.append("adaptive item (several attempts with changing feedback): read as one attempt")
        inters = [e for e in self.body.iter() if local(e).endswith("Interaction")]
        if not inters:
            raise _Skip("no interaction: a text-only entry, not a question")
        kinds = [local(e) for e in inters]
        for k in kinds:
            if k in UNSUPPORTED:
                raise _Skip(UNSUPPORTED[k])
            if k not in BLOCK and k not in INLINE:
                raise _Skip(f"{k} is not a QTI interaction this reader knows")
        if qtype in ("fill_in_multiple_blanks_question", "multiple_dropdowns_question") and all(k == "choiceInteraction" for k in kinds):
            data = self._canvas_blanks(inters, qtype)
        else:
            blocks = [e for e in inters if local(e) in BLOCK]
            if len(blocks) > 1 and all(local(b) == "choiceInteraction" for b in blocks) and len(blocks) == len(inters):
                data = self._choices_as_matching(blocks)
            elif len(blocks) > 1:
                raise _Skip(f"{len(blocks)} interactions in one item ({', '.join(local(b) for b in blocks)}): no item type holds more than one")
            elif blocks and len(inters) > 1:
                raise _Skip(f"a {local(blocks[0])} together with blanks in the text: no item type holds both")
            elif blocks:
                data = getattr(self, f"_{local(blocks[0])}")(blocks[0])
            elif len(inters) == 1 and local(inters[0]) == "textEntryInteraction" and (self._alone(inters[0]) or not self.keys(
                    inters[0].get("responseIdentifier") or "")):
                data = self._text_entry(inters[0])
            else:
                data = self._cloze(inters)
        if not data["stem"].strip():
            raise _Skip("the question has no text (empty stem)")
        problem = pairs_problem(data["pairs"]) if data["type"] == "matching" else (
            interval_problem(data) if data["type"] == "numeric" else None)
        if problem:
            raise _Skip(problem)
        self._points(data)
        self._feedback(data)
        self.notes += self.text.take_notes()
        return data

    def _canvas_calculated(self) -> dict[str, Any]:
        """Canvas's formula question as its QTI converter writes it: ``itemproc_extension/calculated`` (see canvas_calculated)."""
        from .canvas_calculated import CanvasCalculated, finish_markdown
        from .formula_translate import Untranslatable

        ext = self.root.find("itemproc_extension/calculated")
        if ext is None:
            raise _Skip("Canvas formula question without its <calculated> definition (variables and formula)")
        calc = CanvasCalculated(ext)
        try:
            data = calc.fields(self.notes)
        except (Untranslatable, ValueError) as exc:
            raise _Skip(f"Canvas formula question: {exc}") from None
        data["stem"] = self.stem()
        if not data["stem"].strip():
            raise _Skip("the question has no text (empty stem)")
        self._points(data)
        self._feedback(data)
        finish_markdown(data, calc.rename, self.notes)
        self.notes += self.text.take_notes()
        return data

    # text -------------------------------------------------------------------------------------

    def _alone(self, inter: etree._Element) -> bool:
        """A text entry in a paragraph of its own (or followed only by a unit): a short answer/numeric."""
        parent = inter.getparent()
        if parent is None or local(parent) not in ("p", "div", "itemBody"):
            return False
        before = (parent.text or "").strip() if parent[0] is inter else "x"
        others = [c for c in parent if c is not inter]
        return not before and not others

    def body_html(self, body: etree._Element | None = None) -> str:
        """The item body as HTML without interactions, rubric and feedback blocks."""
        body = body if body is not None else self.body
        assert body is not None
        parts = [body.text or ""] if (body.text or "").strip() else []
        for child in body:
            if isinstance(child.tag, str):
                parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
        return "".join(parts)

    def _clean_body(self, keep: set[str] | None = None) -> etree._Element:
        """A copy of the body without interactions (their prompts kept), rubric and feedback blocks."""
        import copy

        assert self.body is not None
        body = copy.deepcopy(self.body)
        for el in list(body.iter()):
            tag = local(el)
            if tag.endswith("Interaction") and tag not in (keep or set()):
                prompt = el.find("prompt")
                parent = el.getparent()
                if parent is None:
                    continue
                if prompt is not None and text_of(prompt):
                    prompt.tag = "p"
                    prompt.tail = el.tail
                    parent.replace(el, prompt)
                else:
                    replace_with_text(el)
            elif tag in ("rubricBlock", "feedbackBlock", "feedbackInline", "templateBlock", "templateInline"):
                if not self._body_extras_done and text_of(el):
                    if tag.startswith("feedback"):
                        self.notes.append("feedback shown inside the question text was taken out of the stem (kept in the rationale)")
                        self._extra.append(self.text.md(inner_html(el)))
                    elif tag == "rubricBlock" and not self._rubrics_read:
                        self.notes.append(f"rubric block for '{el.get('view') or 'all'}' taken out of the stem (kept in the rationale)")
                        self._extra.append(self.text.md(inner_html(el)))
                replace_with_text(el)
        self._body_extras_done = True  # the body's feedback and rubric texts are collected once
        for p in list(body.iter("p")):  # paragraphs emptied by the removal
            if not text_of(p) and not len(p) and p.getparent() is not None:
                replace_with_text(p)
        return body

    def stem(self, keep: set[str] | None = None) -> str:
        return self._with_stimulus(self.text.md(self.body_html(self._clean_body(keep))))

    def _with_stimulus(self, stem: str) -> str:
        """QTI 3.0 shared stimuli (``assessmentStimulusRef``) go before the stem: the item format has no shared text."""
        parts = []
        for ref in self.root.findall("assessmentStimulusRef"):
            href = posixpath.normpath(posixpath.join(self.text.base, unquote(ref.get("href") or "")))
            label = ref.get("title") or ref.get("identifier") or href
            if not self.r.pkg.has(href):
                self.notes.append(f"shared stimulus '{label}' ({href}) is not in the package: not included")
                continue
            stim = normalize(self.r.pkg.xml(href))
            body = stim.find("stimulusBody")
            if body is None:
                continue
            saved = self.text.base
            self.text.base = posixpath.dirname(href)  # its images are relative to the stimulus file
            parts.append(self.text.md(self.body_html(body)))
            self.text.base = saved
            self.notes.append(f"shared stimulus '{label}' copied into the stem (the item format has no shared stimuli)")
        return "\n\n".join([*parts, stem]) if parts else stem

    # keys -----------------------------------------------------------------------------------------

    def _feedback_values(self, ident: str, feedback: str) -> list[str]:
        """Values a branch that adds ``feedback`` to FEEDBACK compares ``ident`` with (Blackboard's converted matching)."""
        out: list[str] = []
        if self.rp is None:
            return out
        for branch in self.rp.iter("responseIf", "responseElseIf"):
            shows = any((b.text or "").strip() == feedback for so in branch.findall("setOutcomeValue")
                        if (so.get("identifier") or "") == "FEEDBACK" for b in so.iter("baseValue"))
            if not shows or len(branch) == 0 or local(branch[0]) != "match":
                continue
            if [v.get("identifier") for v in branch[0].iter("variable")] == [ident]:
                out += [b.text.strip() for b in branch[0].iter("baseValue") if b.text and b.text.strip() not in out]
        return out

    def _rp_values(self, ident: str) -> list[str]:
        """Values a scoring branch of the response processing compares ``ident`` with (Canvas style)."""
        out: list[str] = []
        if self.rp is None:
            return out
        for branch in self.rp.iter("responseIf", "responseElseIf"):
            scores = False
            for so in branch.findall("setOutcomeValue"):
                if (so.get("identifier") or "").upper().endswith("SCORE"):  # SCORE, QUE_SCORE (Respondus)
                    vals = [number(b.text) for b in so.iter("baseValue")]
                    if any(v is not None and v > 0 for v in vals) or so.find(".//variable[@identifier='MAXSCORE']") is not None:
                        scores = True
            if not scores or len(branch) == 0:
                continue
            cond = branch[0]
            for m in cond.iter("match", "stringMatch", "equal", "member"):
                vars_ = [v.get("identifier") for v in m.iter("variable")]
                if ident in vars_:
                    for b in m.iter("baseValue"):
                        if b.text and b.text.strip() not in out:
                            out.append(b.text.strip())
        return out

    def _text_answers(self, ident: str, where: str) -> list[str]:
        """The answers a text entry accepts in full: its correct response and the mapped answers worth
        the most; an answer mapped to less (partial credit: Paris 2, Lutetia 1) is dropped with a note
        (an answer is right or wrong here), never taken as fully right."""
        decl = self.decls.get(ident)
        mapping = decl.mapping if decl is not None else {}
        top = max(mapping.values(), default=0.0)
        full = [k for k, v in mapping.items() if v > 0 and v >= top]
        base = decl.correct if decl is not None and decl.correct else ([] if mapping else self.keys(ident))
        answers = [a for a in dict.fromkeys(base + full) if a]
        for answer, value in mapping.items():
            if 0 < value < top and answer not in answers:
                self.notes.append(f"{where}: answer {answer!r} worth {value:g} of {top:g} dropped (an answer is right or wrong here)")
        return answers

    def keys(self, ident: str) -> list[str]:
        d = self.decls.get(ident)
        if d is None:
            return []
        if d.correct:
            return d.correct
        positive = [k for k, v in d.mapping.items() if v > 0]
        return positive or self._rp_values(ident)

    def _intervals(self, ident: str) -> tuple[str, str] | None:
        """Our export's numeric check: and(gte(var, low), lte(var, high)) -- as written (decimal strings)."""
        if self.rp is None:
            return None
        for both in self.rp.iter("and"):
            low = high = None
            for op in both:
                tag = local(op)
                var = op.find("variable")
                val = op.find("baseValue")
                if var is None or val is None or var.get("identifier") != ident:
                    continue
                if tag == "gte":
                    low = (val.text or "").strip()
                elif tag == "lte":
                    high = (val.text or "").strip()
            if low is not None and high is not None:
                return low, high
        return None

    def _equal_tolerance(self, ident: str) -> tuple[str, float, str] | None:
        if self.rp is None:
            return None
        for eq in self.rp.iter("equal"):
            if any(v.get("identifier") == ident for v in eq.iter("variable")):
                mode = eq.get("toleranceMode") or "exact"
                tol = (eq.get("tolerance") or "0").split()
                value = next((b.text for b in eq.iter("baseValue")), None) or ""
                return value, number(tol[0]) or 0.0, mode
        return None

    # points and feedback ----------------------------------------------------------------------------

    def _points(self, data: dict[str, Any]) -> None:
        value = None
        ms = self.outcomes.get("MAXSCORE")
        if ms is not None:
            value = number(ms.findtext("defaultValue/value"))
        if value is None and "SCORE" in self.outcomes:
            value = number(self.outcomes["SCORE"].get("normalMaximum"))
        for field_name in ("points_possible", "max_score"):  # Canvas's converter: Canvas's own, Blackboard's maximum score
            if value is None and self.instructure.get(field_name):
                value = number(self.instructure[field_name])
        if value is None:
            uppers = [d.upper for d in self.decls.values() if d.upper]
            if uppers:
                value = sum(u for u in uppers if u)
        if value is not None and value > 0:
            data["points"] = clean_number(value)
        elif value is not None:
            self.notes.append(f"the item gives {value:g} points; items need more than 0, so the default 1 applies")

    def modal(self, outcome: str | None = None, ident: str | None = None) -> list[etree._Element]:
        out = []
        for n, m in enumerate(self.modals):
            if (outcome is None or m.get("outcomeIdentifier") == outcome) and (ident is None or m.get("identifier") == ident):
                self.used_modals.add(n)
                out.append(m)
        return out

    def choice_feedback(self, choice_ident: str) -> str:
        for n, m in enumerate(self.modals):
            mid = m.get("identifier") or ""
            if mid == choice_ident or mid in (f"FEEDBACK_{choice_ident}_fb", f"{choice_ident}_fb") or (
                    choice_ident.startswith("RESPONSE_") and mid == f"FEEDBACK_{choice_ident[9:]}_fb"):
                if m.get("outcomeIdentifier") in ("SOLUTION_FB", "HINT_FB", "ANSWER_FB"):
                    continue
                self.used_modals.add(n)
                return self.text.md(inner_html(m))
        return ""

    def _feedback(self, data: dict[str, Any]) -> None:
        parts: list[str] = []
        for m in self.modal("SOLUTION_FB"):
            head, sections = split_sections(inner_html(m))
            head_md = self.text.md(head)
            if head_md:
                parts.append(head_md)
            expl = sections.pop("Explanation", None)
            if expl is not None:
                parts.insert(0, self.text.md(inner_html(expl)))
            self._sections(data, sections)
        for m in self.modal("HINT_FB"):
            _head, sections = split_sections(inner_html(m))
            sec = sections.get("Hints") if "Hints" in sections else sections.get("Hint")
            if sec is not None:
                data["hints"] = [h for h in (self.text.md(inner_html(li)) for li in items_of(sec)) if h]
        for n, m in enumerate(self.modals):
            if n in self.used_modals:
                continue
            mid = (m.get("identifier") or "").lower()
            md = self.text.md(inner_html(m))
            if not md:
                continue
            if mid in ("correct_fb", "correct"):
                self.notes.append("correct-answer feedback kept in the rationale (the item format has no correct-only feedback)")
                parts.append(md)
            elif mid in ("general_incorrect_fb", "incorrect"):
                self.notes.append("incorrect-answer feedback kept as a common mistake (the item format has no incorrect-only feedback)")
                data.setdefault("common_mistakes", []).append(md)
            else:
                if mid not in ("general_fb", "general", "solution"):
                    self.notes.append(f"feedback '{m.get('identifier')}' is not tied to anything the item format keeps: kept in the rationale")
                parts.append(md)
        parts += [e for e in self._extra if e]
        if parts:
            data["rationale"] = "\n\n".join(p for p in parts if p)

    def _sections(self, data: dict[str, Any], sections: dict[str, etree._Element]) -> None:
        for label, sec in sections.items():
            if label == "Solution":
                steps: list[Any] = []
                for li in items_of(sec):
                    title = None
                    first = li[0] if len(li) else None
                    # our export: <li><p><strong>title</strong></p>text blocks</li>; a lone bold paragraph is the text itself
                    if first is not None and len(li) > 1 and first.tag == "p" and len(first) == 1 and first[0].tag == "strong" \
                            and not (first.text or "").strip() and not (first[0].tail or "").strip():
                        title = text_of(first)
                        li.remove(first)
                    body = self.text.md(inner_html(li))
                    steps.append({"title": title, "text": body} if title else body)
                if steps:
                    data.setdefault("solution", {})["steps"] = steps
            elif label in ("Answer", "Quick check"):
                md = self.text.md(inner_html(sec))
                if md:
                    data.setdefault("solution", {})["final_answer" if label == "Answer" else "quick_check"] = md
            elif label == "Common mistakes":
                data.setdefault("common_mistakes", []).extend(m for m in (self.text.md(inner_html(li)) for li in items_of(sec)) if m)
            else:
                md = self.text.md(inner_html(sec))
                if md:
                    self._extra = self._extra + [f"**{label}**\n\n{md}"]

    # interactions ---------------------------------------------------------------------------------

    def _choiceInteraction(self, inter: etree._Element) -> dict[str, Any]:
        ident = inter.get("responseIdentifier") or ""
        decl = self.decls.get(ident)
        choices = inter.findall(".//simpleChoice")
        if len(choices) < 2:
            raise _Skip("choice interaction with fewer than two choices")
        keys = set(self.keys(ident))
        max_choices = inter.get("maxChoices") or "1"
        multiple = (decl is not None and decl.cardinality == "multiple") or max_choices != "1"
        stem = self.stem()
        texts = {c.get("identifier") or "": self.text.md(inner_html(c)) for c in choices}
        # Choices "True" and "False" are a true/false question, but in our own export (toolName
        # itembank), which names a true/false item's choices true and false: there they are a
        # multiple choice item's options that happen to read so, and come back as one.
        ours = TOOL_NAME in (self.root.get("toolName"), self.root.get("tool-name"))
        if not multiple and sorted(t.lower() for t in texts.values()) == ["false", "true"] and (not ours or set(texts) == {"true", "false"}):
            by_text = {t.lower(): i for i, t in texts.items()}
            key = next(iter(keys), None)
            if key is None:
                raise _Skip("true/false question without a correct answer")
            data: dict[str, Any] = {"type": "true_false", "stem": stem, "answer": texts.get(key, key).lower() == "true"}
            for value in ("true", "false"):
                fb = self.choice_feedback(by_text.get(value, value))
                if fb:
                    data[f"{value}_feedback"] = fb
            return data
        if not keys:
            raise _Skip("no correct choice is given (no correctResponse and no scoring rule)")
        unknown = sorted(keys - set(texts))
        if unknown:
            raise _Skip(f"the correct response names choice(s) {', '.join(unknown)} that the interaction does not offer")
        if not multiple and len(keys) > 1:
            multiple = True
            self.notes.append(f"single-choice question with {len(keys)} correct choices: read as multiple response")
        elif multiple and max_choices == "1" and len(keys) > 1:
            self.notes.append(f"the interaction lets a candidate pick one choice but {len(keys)} are correct: read as multiple response")
        used: set[str] = set()
        options = []
        blank = 0
        for n, c in enumerate(choices):
            cid = c.get("identifier") or ""
            if not texts[cid]:
                if cid in keys:
                    raise _Skip(f"choice {cid!r} has no text, and it is a correct one")
                blank += 1  # an editor's unused slot (as the QTI 1.2 reader drops Blackboard's)
                continue
            raw = cid[2:] if cid.startswith("C_") and _OUR_OPTION.fullmatch(cid) else cid
            opt: dict[str, Any] = {"id": option_id(raw, n, used), "text": texts[cid]}
            if cid in keys:
                opt["correct"] = True
            fb = self.choice_feedback(cid)
            if fb:
                opt["feedback"] = fb
            options.append(opt)
        if blank:
            self.notes.append(f"{blank} wrong choice{'s' * (blank > 1)} without text dropped ({len(options)} kept)")
        idents = [c.get("identifier") or "" for c in choices]
        if len(set(idents)) < len(idents):
            raise _Skip("two choices share one identifier: which one is correct cannot be told")
        problem = options_problem(options)
        if problem:
            raise _Skip(problem)
        data = {"type": "multiple_response" if multiple else "multiple_choice", "stem": stem, "options": options}
        if multiple:
            data["scoring"] = "partial" if decl is not None and decl.mapping else "all_or_nothing"
            if decl is not None and decl.mapping:
                self._partial_note(decl, idents, keys)
        if inter.get("shuffle") == "false" and not multiple or inter.get("shuffle") == "false":
            data["shuffle"] = False
        return data

    def _partial_note(self, decl: Decl, choices: list[str], keys: set[str]) -> None:
        """``scoring: partial`` is one mapping: each correct choice earns points/k, each wrong choice
        costs points/(n-k), the total kept within [0, points] (exporters/qti/writer.py writes it so).
        Another mapping (wrong choices that cost nothing or another share, keys worth different
        shares, a total that may fall below 0) is not kept: said in a note naming the values."""
        value = {c: decl.mapping.get(c, decl.default) for c in choices}
        right = [value[c] for c in choices if c in keys]
        wrong = [value[c] for c in choices if c not in keys]
        share = right[0] if right else 0.0
        penalty = -share * len(right) / len(wrong) if wrong else 0.0
        same = share > 0 and all(math.isclose(v, share, rel_tol=1e-6) for v in right) \
            and all(math.isclose(v, penalty, rel_tol=1e-6, abs_tol=1e-9) for v in wrong)
        floor = decl.lower is not None and decl.lower >= 0 or not any(v < 0 for v in value.values())
        if same and floor:
            return
        shown = ", ".join(f"{c} {value[c]:g}" for c in choices)
        lost = [] if same else [f"its values ({shown}) are not kept: read as scoring: partial, where each correct choice earns "
                                f"points/{len(right)} and each wrong choice costs points/{max(1, len(wrong))}"]
        if not floor:
            lost.append("its total may fall below 0 (no lowerBound of 0); partial scoring never gives less than 0")
        self.notes.append("multiple response mapping: " + "; ".join(lost))

    def _choices_as_matching(self, blocks: list[etree._Element]) -> dict[str, Any]:
        """Several single-choice interactions offering the same answers, each after its own prompt: a
        matching question as Blackboard and Canvas convert it to QTI 2."""
        sets = [[text_of(c) for c in b.findall(".//simpleChoice")] for b in blocks]
        by_position = not any(t for texts in sets for t in texts)
        if by_position:  # Blackboard: empty choices, the answers in a right-hand column, choice i <-> answer i
            rights = self._right_match_block(blocks)
            sets = [list(rights) for _b in blocks]
        if any(set(texts) != set(sets[0]) for texts in sets) or any(b.get("maxChoices", "1") != "1" for b in blocks):
            raise _Skip(f"{len(blocks)} interactions in one item (choiceInteraction x{len(blocks)}): no item type holds more than one")
        pairs = []
        for block in blocks:
            prompt_el = block.find("prompt")
            if prompt_el is not None and text_of(prompt_el):
                prompt = self.text.md(inner_html(prompt_el))
            else:
                prev = block.getprevious()
                after = block.getnext()
                if prev is None and by_position and after is not None and text_of(after):
                    prev = after  # Blackboard 8 converted: the list, then its left-hand text, in one block
                prompt = self.text.md(etree.tostring(prev, encoding="unicode", with_tail=False)) if prev is not None else ""
                if prev is not None:
                    replace_with_text(prev)
            choices = block.findall(".//simpleChoice")
            texts = {c.get("identifier") or "": (sets[0][n] if by_position else text_of(c)) for n, c in enumerate(choices)}
            keys = [k for k in self.keys(block.get("responseIdentifier") or "") if k in texts]
            if not keys and by_position:  # the conversion kept no score per pair, only its "correct" feedback
                keys = [k for k in self._feedback_values(block.get("responseIdentifier") or "", "correct") if k in texts]
                note = ("Blackboard matching: each pair's answer read from the condition that shows the 'correct' feedback "
                        "(the converted scoring gives no points per pair)")
                if keys and note not in self.notes:
                    self.notes.append(note)
            if not prompt or not keys:
                raise _Skip("a choice list of this matching question has no prompt or no correct answer")
            pairs.append({"prompt": prompt, "match": texts[keys[0]]})
        used = {p["match"] for p in pairs}
        if by_position and len(used) < len(pairs):
            raise _Skip("Blackboard matching read by position gives two prompts the same answer: the pairs cannot be trusted")
        data: dict[str, Any] = {"type": "matching", "stem": self.stem(), "pairs": pairs}
        distractors = [t for t in dict.fromkeys(sets[0]) if t and t not in used]
        if distractors:
            data["distractors"] = distractors
        if by_position:
            self.notes.append(f"Blackboard matching: {len(blocks)} lists of empty choices read with the answers of its right-hand "
                              "column (RIGHT_MATCH_BLOCK), the n-th choice of each list being the n-th answer")
        else:
            self.notes.append(f"{len(blocks)} single-choice lists with the same answers read as one matching question")
        return data

    def _right_match_block(self, blocks: list[etree._Element]) -> list[str]:
        """The answers of a Blackboard matching question converted to QTI 2 (``<div class="RIGHT_MATCH_BLOCK">``,
        one block per answer, in the order of every list's choices), taken out of the body; _Skip when
        that layout is not there whole."""
        assert self.body is not None
        found = [d for d in self.body.iter() if local(d) == "div" and "RIGHT_MATCH_BLOCK" in (d.get("class") or "").split()]
        head = f"{len(blocks)} choice lists whose choices have no text in the QTI"
        if len(found) != 1:
            raise _Skip(f"{head}, and no right-hand column (RIGHT_MATCH_BLOCK) holds the answers: the pairs cannot be recovered")
        rights = [text_of(d) for d in found[0] if isinstance(d.tag, str)]
        if not rights or not all(rights) or len(set(rights)) < len(rights):
            raise _Skip(f"{head}, and its right-hand column (RIGHT_MATCH_BLOCK) has an empty or repeated answer: the pairs cannot be recovered")
        counts = sorted({len(b.findall(".//simpleChoice")) for b in blocks})
        if counts != [len(rights)]:
            raise _Skip(f"{head}; its right-hand column has {len(rights)} answers but the lists offer {'/'.join(map(str, counts))} "
                        "choices: which choice is which answer cannot be told")
        replace_with_text(found[0])
        return rights

    def _text_entry(self, inter: etree._Element) -> dict[str, Any]:
        ident = inter.get("responseIdentifier") or ""
        decl = self.decls.get(ident)
        base = decl.base_type if decl else "string"
        unit = (inter.tail or "").strip() or None
        inter.tail = None  # the unit after the box (our export) is not part of the stem
        stem = self.stem()
        if base in ("float", "integer"):
            data: dict[str, Any] = {"type": "numeric", "stem": stem, **self._number(ident)}
            if unit:
                data["unit"] = unit
            return data
        answers = self._text_answers(ident, "the text entry")
        if not answers:
            self.notes.append("text entry without any accepted answer: read as an essay (scored by a person)")
            return {"type": "essay", "stem": stem}
        data = {"type": "short_answer", "stem": stem, "answers": answers}
        if decl is not None and decl.case_sensitive:
            data["case_sensitive"] = True
        if unit:
            self.notes.append(f"text after the answer box kept out: {unit!r}")
        return data

    def _number(self, ident: str) -> dict[str, Any]:
        keys = self.keys(ident)
        interval = self._intervals(ident)
        if interval is not None:
            low, high = interval
            lo, hi = number(low), number(high)
            centre = number(keys[0]) if keys else None
            if lo is None or hi is None:
                raise _Skip("numeric interval is not numbers")
            if centre is not None and abs(decimal_diff(low, keys[0]) - decimal_diff(keys[0], high)) < 1e-12 and not (
                    _decimals(keys[0]) > max(_decimals(low), _decimals(high))):  # our export's key of a range is its middle
                tol = decimal_diff(keys[0], high)
                return {"answer": clean_number(centre), **({"tolerance": clean_number(tol)} if tol else {})}
            return {"range": {"min": clean_number(lo), "max": clean_number(hi)}}
        eq = self._equal_tolerance(ident)
        if eq is not None:
            value_text, tol, mode = eq
            value = number(value_text) if value_text else (number(keys[0]) if keys else None)
            if value is None:
                raise _Skip("numeric answer is not a number")
            if mode == "relative":
                tol = abs(value) * tol / 100
                self.notes.append("relative tolerance (percent) converted to an absolute tolerance")
            return {"answer": clean_number(value), **({"tolerance": clean_number(tol)} if tol and mode != "exact" else {})}
        if not keys or number(keys[0]) is None:
            raise _Skip("numeric text entry without a correct value")
        return {"answer": clean_number(number(keys[0]) or 0.0)}

    def _extendedTextInteraction(self, inter: etree._Element) -> dict[str, Any]:
        ident = inter.get("responseIdentifier") or ""
        if self.modal("ANSWER_FB"):
            back = self.text.md(inner_html(self.modal("ANSWER_FB")[0]))
            return {"type": "flashcard", "stem": self.stem(), "answer": back or "(empty)"}
        answers = self._rp_values(ident)
        if answers:  # Canvas/Respondus short answers: a text box whose rules accept given texts
            return {"type": "short_answer", "stem": self.stem(), "answers": answers}
        data: dict[str, Any] = {"type": "essay"}
        assert self.body is not None
        self._rubrics_read = True
        for block in self.body.iter("rubricBlock"):
            view = block.get("view") or ""
            head, sections = split_sections(inner_html(block))
            if "scorer" in view:
                rub = sections.get("Scoring rubric")
                if rub is not None:
                    rubric = []
                    for li in items_of(rub):
                        m = re.match(r"^(.*?) \(([\d.]+) pts?\)(?:: (.*))?$", text_of(li), re.S)
                        if m:
                            entry: dict[str, Any] = {"criterion": m.group(1), "points": clean_number(float(m.group(2)))}
                            if m.group(3):
                                entry["description"] = m.group(3)
                            rubric.append(entry)
                    if rubric:
                        data["rubric"] = rubric
                sample = sections.get("Sample answer")
                if sample is not None:
                    data["sample_answer"] = self.text.md(inner_html(sample))
                if not sections and text_of(block):
                    self._extra = self._extra + [self.text.md(inner_html(block))]
                    self.notes.append("scorer rubric kept in the rationale")
            else:
                sec = sections.get("Hints") if "Hints" in sections else sections.get("Hint")
                if sec is not None:
                    data["hints"] = [h for h in (self.text.md(inner_html(li)) for li in items_of(sec)) if h]
                elif text_of(block):
                    self._extra = self._extra + [self.text.md(inner_html(block))]
                    self.notes.append(f"rubric block for '{view or 'all'}' kept in the rationale")
        if inter.get("placeholderText"):
            data["response_template"] = inter.get("placeholderText")
        html = self.body_html(self._clean_body())
        m = re.search(r"<p>Write (?:(\d+)–(\d+)|at least (\d+)|at most (\d+)) words\.</p>\s*$", html)
        if m:
            low, high = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            if low:
                data["min_words"] = int(low)
            if high:
                data["max_words"] = int(high)
            html = html[: m.start()]
        data["stem"] = self._with_stimulus(self.text.md(html))
        return {"type": "essay", "stem": data.pop("stem"), **{k: v for k, v in data.items() if k != "type"}}

    def _matchInteraction(self, inter: etree._Element) -> dict[str, Any]:
        ident = inter.get("responseIdentifier") or ""
        sets = inter.findall("simpleMatchSet")
        if len(sets) != 2:
            raise _Skip("match interaction without two sets")
        sources = {c.get("identifier") or "": c for c in sets[0].findall("simpleAssociableChoice")}
        targets = {c.get("identifier") or "": c for c in sets[1].findall("simpleAssociableChoice")}
        pairs_raw = [k.split() for k in self.keys(ident)]
        matched: dict[str, str] = {}
        for pr in pairs_raw:
            if len(pr) == 2:
                a, b = pr
                if a in targets and b in sources:
                    a, b = b, a
                if a in sources and b in targets and a not in matched:
                    matched[a] = b
        if not matched:
            raise _Skip("match interaction without a correct pair")
        pairs = []
        for sid, el in sources.items():
            if sid in matched:
                pairs.append({"prompt": self.text.md(inner_html(el)), "match": text_of(targets[matched[sid]])})
            else:
                self.notes.append(f"prompt {sid!r} has no correct match: dropped")
        used = set(matched.values())
        if not all(p["prompt"] and p["match"] for p in pairs):
            raise _Skip("a pair of the match has no text on one side")
        if len(pairs) < 2:
            raise _Skip(f"{len(pairs)} pair: a matching question needs at least two")
        # Several prompts may share a target (many-to-one, the spec's own "Characters and plays"):
        # the item keeps one pair per prompt, and its export offers the shared answer once again.
        # Two targets written alike are one answer in the item format: said, not merged silently.
        alike: dict[str, str] = {}
        for tid in dict.fromkeys(matched[sid] for sid in sources if sid in matched):
            key = shown_alike(text_of(targets[tid]))
            if key in alike:
                self.notes.append(f"targets {alike[key]!r} and {tid!r} have the same text ({key[:40]!r}): one answer in the item")
            alike.setdefault(key, tid)
        data: dict[str, Any] = {"type": "matching", "stem": self.stem(), "pairs": pairs}
        unused = [(tid, text_of(el)) for tid, el in targets.items() if tid not in used and text_of(el)]
        for tid, text in unused:
            if shown_alike(text) in alike:
                self.notes.append(f"targets {alike[shown_alike(text)]!r} and {tid!r} have the same text ({text[:40]!r}): one answer in the item")
        distractors = [text for _tid, text in unused if shown_alike(text) not in alike]
        if distractors:
            data["distractors"] = distractors
        if inter.get("shuffle") == "false":
            data["shuffle"] = False
        if any(len(el) for el in targets.values()):
            self.notes.append("answers of the right-hand side are plain text in the item format: formatting dropped")
        return data

    def _orderInteraction(self, inter: etree._Element) -> dict[str, Any]:
        ident = inter.get("responseIdentifier") or ""
        choices = {c.get("identifier") or "": c for c in inter.findall("simpleChoice")}
        order = [k for k in self.keys(ident) if k in choices]
        if len(order) < 2:
            raise _Skip("order interaction without a correct order")
        if len(order) < len(choices):
            self.notes.append(f"{len(choices) - len(order)} choice(s) outside the correct order dropped")
        sequence = [text_of(choices[k]) for k in order]
        if not all(sequence):
            raise _Skip("an entry of the order has no text")
        if len(set(sequence)) < len(sequence):
            raise _Skip("the correct order lists the same entry twice: an ordering item needs distinct entries")
        return {"type": "ordering", "stem": self.stem(), "sequence": sequence}

    def _associateInteraction(self, inter: etree._Element) -> dict[str, Any]:
        raise _Skip(UNSUPPORTED["associateInteraction"])

    def _gapMatchInteraction(self, inter: etree._Element) -> dict[str, Any]:
        ident = inter.get("responseIdentifier") or ""
        gap_texts = {g.get("identifier") or "": text_of(g) for g in inter.findall("gapText")}
        gap_texts.update({g.get("identifier") or "": text_of(g) for g in inter.findall("gapImg")})
        pairs = [k.split() for k in self.keys(ident)]
        correct: dict[str, str] = {}
        for pr in pairs:
            if len(pr) == 2:
                a, b = pr
                if a in gap_texts:
                    correct[b] = gap_texts[a]
                elif b in gap_texts:
                    correct[a] = gap_texts[b]
        choices = [t for t in dict.fromkeys(gap_texts.values()) if t]
        import copy

        holder = copy.deepcopy(inter)
        used: set[str] = set()
        blanks: dict[str, Any] = {}
        for n, gap in enumerate(list(holder.iter("gap"))):
            gid = gap.get("identifier") or ""
            if gid not in correct:
                raise _Skip(f"gap {gid!r} has no correct text")
            name = blank_name(gid, n, used)
            blanks[name] = {"choices": choices, "correct": correct[gid]}
            replace_with_text(gap, "{{" + name + "}}")
        for g in list(holder.iter("gapText", "gapImg", "prompt")):
            replace_with_text(g)
        self.notes.append("gap match (drag and drop into the text) read as a cloze with a dropdown per gap")
        prefix = self.stem()
        body = self.text.md(self.body_html(holder))
        stem = (prefix + "\n\n" + body).strip() if prefix else body
        problem = blanks_problem(stem, blanks)
        if problem:
            raise _Skip(problem)
        return {"type": "cloze", "stem": stem, "blanks": blanks}

    def _cloze(self, inters: list[etree._Element]) -> dict[str, Any]:
        import copy

        assert self.body is not None
        body = copy.deepcopy(self.body)
        protected = False
        for el in body.iter():
            for attr in ("text", "tail"):
                value = getattr(el, attr)
                if isinstance(value, str) and "{{" in value:
                    setattr(el, attr, protect_braces(value))
                    protected = True
        if protected:
            self.notes.append("'{{' written in the text kept as literal text (escaped), not read as a blank")
        used: set[str] = set()
        blanks: dict[str, Any] = {}
        feedback_names: dict[str, str] = {}
        for n, inter in enumerate([e for e in body.iter() if local(e) in INLINE]):
            ident = inter.get("responseIdentifier") or ""
            raw = ident[9:] if ident.startswith("RESPONSE_") else ident
            name = blank_name(raw, n, used)
            decl = self.decls.get(ident)
            if local(inter) == "inlineChoiceInteraction":
                opts = {c.get("identifier") or "": text_of(c) for c in inter.findall("inlineChoice")}
                keys = [k for k in self.keys(ident) if k in opts]
                if not keys:
                    raise _Skip(f"dropdown {ident!r} has no correct choice")
                blanks[name] = {"choices": [t for t in dict.fromkeys(opts.values()) if t], "correct": opts[keys[0]]}
            elif decl is not None and decl.base_type in ("float", "integer"):
                num = self._number(ident)
                if "range" in num:
                    lo, hi = num["range"]["min"], num["range"]["max"]
                    num = {"number": clean_number((lo + hi) / 2), "tolerance": clean_number((hi - lo) / 2)}
                    self.notes.append(f"blank '{name}': range read as its middle ± half its width")
                else:
                    num = {"number": num["answer"], **({"tolerance": num["tolerance"]} if num.get("tolerance") else {})}
                blanks[name] = num
            else:
                answers = self._text_answers(ident, f"blank '{name}'")
                if not answers:
                    raise _Skip(f"blank {ident!r} has no accepted answer")
                blanks[name] = {"answers": answers}
                if decl is not None and decl.case_sensitive:
                    blanks[name]["case_sensitive"] = True
            feedback_names[f"FB_{raw}"] = name
            replace_with_text(inter, "{{" + name + "}}")
        self.body, saved = body, self.body
        stem = restore_braces(self.stem())
        self.body = saved
        collected = {i.get("responseIdentifier") for i in inters}
        for ident in self.decls:
            if ident not in collected:
                self.notes.append(f"response '{ident}' is declared but no interaction collects it: ignored")
        for fid, name in feedback_names.items():
            for m in self.modal(None, fid):
                blanks[name]["feedback"] = self.text.md(inner_html(m))
        shares = self._blank_shares(list(blanks), inters)
        if shares and len(set(shares.values())) > 1:
            for name, share in shares.items():
                blanks[name]["points"] = clean_number(share)
        problem = blanks_problem(stem, blanks)
        if problem:
            raise _Skip(problem)
        return {"type": "cloze", "stem": stem, "blanks": blanks}

    def _blank_shares(self, names: list[str], inters: list[etree._Element]) -> dict[str, float]:
        """Each blank's score share in our export's rules (``SCORE = SCORE + share``)."""
        out: dict[str, float] = {}
        if self.rp is None:
            return out
        for name, inter in zip(names, inters):
            ident = inter.get("responseIdentifier") or ""
            for cond in self.rp.findall("responseCondition"):
                first = cond.find("responseIf")
                if first is None or first.find("not/isNull/variable[@identifier='%s']" % ident) is None:
                    continue
                for so in first.iter("setOutcomeValue"):
                    if so.get("identifier") == "SCORE":
                        val = number(so.findtext("sum/baseValue"))
                        if val is not None:
                            out[name] = val
        return out

    def _canvas_blanks(self, inters: list[etree._Element], qtype: str) -> dict[str, Any]:
        """Canvas's QTI 2.1 of a fill-in-multiple-blanks / dropdowns question: a choice interaction per blank."""
        used: set[str] = set()
        names: dict[str, str] = {}
        blanks: dict[str, Any] = {}
        for n, inter in enumerate(inters):
            prompt = inter.find("prompt")
            key = text_of(prompt) if prompt is not None else ""
            ident = inter.get("responseIdentifier") or ""
            key = key or ident.removeprefix("response_")
            name = blank_name(key, n, used)
            names[key] = name
            texts = {c.get("identifier") or "": text_of(c) for c in inter.findall("simpleChoice")}
            keys = [k for k in self.keys(ident) if k in texts]
            if qtype == "multiple_dropdowns_question":
                if not keys:
                    raise _Skip(f"dropdown [{key}] has no correct choice")
                blanks[name] = {"choices": [t for t in dict.fromkeys(texts.values()) if t], "correct": texts[keys[0]]}
            else:
                answers = [t for t in dict.fromkeys(texts.values()) if t]
                if not answers:
                    raise _Skip(f"blank [{key}] has no accepted answer")
                blanks[name] = {"answers": answers}
        import copy

        body = copy.deepcopy(self.body)
        assert body is not None
        for inter in [e for e in body.iter() if local(e) == "choiceInteraction"]:
            replace_with_text(inter)
        text = self.text.md(self.body_html(body))
        stem = re.sub(r"\\?\[([^\[\]\s\\]{1,64})\\?\]", lambda m: "{{" + names[m.group(1)] + "}}" if m.group(1) in names else m.group(0), text)
        missing = [n for n in blanks if "{{" + n + "}}" not in stem]
        if missing:
            raise _Skip(f"blank(s) {', '.join(missing)} do not appear as [name] in the question text")
        problem = blanks_problem(stem, blanks)
        if problem:
            raise _Skip(problem)
        return {"type": "cloze", "stem": stem, "blanks": blanks}


def _decimals(text: str) -> int:
    from decimal import Decimal, InvalidOperation

    try:
        exp = Decimal(text.strip()).normalize().as_tuple().exponent
    except InvalidOperation:
        return 0
    return -exp if isinstance(exp, int) and exp < 0 else 0


#: A choice identifier our export prefixed: an option id that starts with a digit, or one named like a
#: variable of the item (exporters/qti/ids.py: ``option_id``, ``VARIABLES``; an option id has no ``_``).
_OUR_OPTION = re.compile(r"C_(?:[0-9][A-Za-z0-9._-]*|RESPONSE|SCORE|MAXSCORE|FEEDBACK|completionStatus|numAttempts|duration)")

importer = QtiImporter()
