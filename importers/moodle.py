"""Moodle XML (Moodle 4.x "Export questions" files, and ours) -> items.

Reads every question type Moodle core writes: multichoice, truefalse, shortanswer, numerical, essay,
match, ordering, cloze (multianswer: SHORTANSWER, MULTICHOICE variants, NUMERICAL), gapselect and
ddwtos (-> cloze with dropdown blanks), description (reported), with hints, combined feedback, tags
(our scheme back to fields), categories (-> topic), ``idnumber`` (-> id) and files (base64,
``@@PLUGINFILE@@``, and Moodle 1.9's ``<image_base64>``) extracted to ``media/``.  Our own export's
general feedback (solution, common mistakes, hints) and grader information (rubric, sample answer)
are split back into their fields.

Calculated questions (``calculated``, ``calculatedsimple``) are read by :mod:`.moodle_calculated`.
Questions a bank item cannot hold (calculated multichoice, drag-and-drop onto an image, random, multiple
response blanks in a cloze...) are skipped with the reason.
"""

from __future__ import annotations

import base64
import binascii
import html as _html
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree

from .kit.categories import ParentNotes, category_names
from .kit.numbers import clean_number
from .base import BadInput, ImportContext, ImportedItem, ReadResult, Skipped
from .kit.feedback import _blocks, _heading, _ser, choice_scoring, split_general_feedback, split_grader_info
from .kit.html import fragment, html_to_markdown, text_to_markdown
from .kit.ids import blank_name, option_id, renamed_note
from .kit.media import MediaTooLarge
from .kit.meta import apply_tags, item_title
from .kit.xml import parse_xml

#: Types Moodle (core and common plug-ins) writes that an item cannot hold: skipped with this reason.
UNSUPPORTED = {
    "calculatedmulti": "calculated multichoice questions (options computed from formulas) have no item type here: a calculated item's answer is one number",
    "ddimageortext": "drag and drop onto an image has no item type here",
    "ddmarker": "drag markers onto an image has no item type here",
    "randomsamatch": "random short-answer matching draws from other questions; import those instead",
    "random": "a random question is a quiz slot drawing from a category, not a question",
    "missingtype": "the question's type was missing in the Moodle it came from",
    "stack": "STACK (computer-algebra) questions have no item type here",
    "coderunner": "CodeRunner (program) questions have no item type here",
    "recordrtc": "audio/video recording questions have no item type here",
    "drawing": "drawing questions have no item type here",
    "formulas": "formulas questions have no item type here",
    "wordselect": "word-select questions have no item type here",
    "gapfill": "gapfill (plug-in) questions are not supported; export them as cloze",
    "pmatch": "pattern-match questions have no item type here",
    "algebra": "algebra questions have no item type here",
    "regexp": "regular-expression short answers have no item type here",
    "multinumerical": "multi-numerical questions have no item type here",
    "varnumeric": "variable numeric questions have no item type here",
    "varnumericset": "variable numeric questions have no item type here",
    "oumultiresponse": "OU multiple response is not supported; export it as multichoice",
    "ddimagetoimage": "drag and drop onto an image has no item type here",
}
NOT_CARRIED = ("Moodle XML carries no author, source, review history, lint ignores, analysis evidence or option ids (options are named a, b, c...; "
               "cloze blanks b1, b2...); a numeric range comes back as its centre ± tolerance; a cloze's points come back as the sum "
               "of its integer blank weights")
DESCRIPTION_REASON = "description only (no question to answer)"
KNOWN = {"category", "multichoice", "truefalse", "shortanswer", "numerical", "essay", "match", "matching", "ordering",
         "cloze", "multianswer", "gapselect", "ddwtos", "description", "calculated", "calculatedsimple"} | set(UNSUPPORTED)

DEFAULT_COMBINED = {
    "correctfeedback": ("your answer is correct.", "", "correct"),
    "partiallycorrectfeedback": ("your answer is partially correct.", "", "partially correct"),
    "incorrectfeedback": ("your answer is incorrect.", "", "incorrect"),
}
_MAX_BASE64_CHARS = 70 * 1024 * 1024


def _find(el: etree._Element, path: str) -> etree._Element | None:
    """``el.find(path)`` for a path of plain child names (``name/text``): the first match in document
    order, as ElementPath gives it, at a third of the cost (an import calls this ~250,000 times)."""
    head, _, rest = path.partition("/")
    for child in el.iterchildren(head):
        found = _find(child, rest) if rest else child
        if found is not None:
            return found
    return None


def _findall(el: etree._Element, path: str) -> list[etree._Element]:
    """``el.findall(path)`` for a path of plain child names, in ElementPath's (document) order."""
    head, _, rest = path.partition("/")
    children = list(el.iterchildren(head))
    return [found for child in children for found in _findall(child, rest)] if rest else children


def _t(el: etree._Element | None, path: str, default: str = "") -> str:
    if el is None:
        return default
    found = _find(el, path)
    if found is None or found.text is None:
        return default
    return found.text


def _num(s: str, default: float | None = None) -> float | None:
    try:
        v = float(s.strip().replace(",", "."))
    except (ValueError, AttributeError):
        return default
    return v if v == v and v not in (float("inf"), float("-inf")) else default


class _Q:
    """Reading one question: its origin, notes and media."""

    def __init__(self, el: etree._Element, label: str, ctx: ImportContext) -> None:
        self.el = el
        self.ctx = ctx
        self.origin = f"{label}:{el.sourceline or 0}"
        self.notes: list[str] = []
        self.calc: Any = None  # calculated questions: their texts' tokens (moodle_calculated.CalculatedText)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # --- text fields ---

    def files(self, field: etree._Element) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for f in field.iterchildren("file"):
            name = f.get("name") or ""
            data = f.text or ""
            if len(data) > _MAX_BASE64_CHARS:
                raise BadInput(f"{self.origin}", f"refused: embedded file {name!r} is {len(data):,} base64 characters (limit {_MAX_BASE64_CHARS:,})")
            try:
                blob = base64.b64decode("".join(data.split()), validate=True)
            except (binascii.Error, ValueError):
                self.note(f"embedded file {name!r} is not valid base64; dropped")
                continue
            path = (f.get("path") or "/").strip("/")
            out[(path + "/" if path else "") + name] = blob
            out.setdefault(name, blob)
        return out

    def resolver(self, field: etree._Element | None) -> Any:
        files = self.files(field) if field is not None else {}

        def resolve(src: str) -> str | None:
            if not src.startswith("@@PLUGINFILE@@"):
                return None
            rel = unquote(src[len("@@PLUGINFILE@@") :].split("?", 1)[0]).lstrip("/")
            blob = files.get(rel)
            if blob is None:
                return ""
            try:
                return str(self.ctx.media.add(blob, rel.rsplit("/", 1)[-1]))
            except MediaTooLarge as exc:
                raise BadInput(self.origin, f"refused: {exc}") from None

        return resolve

    def html(self, field: etree._Element | None) -> str:
        """The raw text of a field (``<x format=...><text>...</text></x>``)."""
        if field is None:
            return ""
        t = next(field.iterchildren("text"), None)
        return (t.text or "") if t is not None else (field.text or "")

    def md(self, field: etree._Element | None, default_format: str = "html") -> str:
        """A field as Markdown, by its format."""
        if field is None:
            return ""
        raw = self.html(field)
        if not raw.strip():
            return ""
        fmt = (field.get("format") or default_format).lower()
        try:
            if fmt in ("plain_text", "plain"):
                return text_to_markdown(raw)
            if fmt == "markdown":
                self.note("Moodle Markdown text kept as it is (check Markdown Extra syntax)")
                return raw.strip()
            if fmt in ("moodle_auto_format", "auto") and "<" not in raw:
                raw = "<p>" + _html.escape(raw.strip(), quote=False).replace("\n", "<br>") + "</p>" if "&" not in raw else raw
            md, notes = html_to_markdown(raw, self.resolver(field))
        except ValueError as exc:
            raise BadInput(self.origin, f"refused: {exc}") from None
        for n in notes:
            self.note(n)
        return md

    def plain(self, field: etree._Element | None) -> str:
        """A field as one line of plain text (answers, match items, blank choices)."""
        raw = self.html(field)
        return _plain(raw, self)


def _plain(raw: str, q: _Q | None = None) -> str:
    if "<" in raw:
        try:
            frag = fragment(raw)
            for br in frag.iter("br"):
                br.tail = " " + (br.tail or "")
            text = "".join(str(t) for t in frag.itertext())
            if q is not None and any(e.tag in ("img", "sub", "sup", "b", "strong", "i", "em") for e in frag.iter() if isinstance(e.tag, str)):
                q.note("formatting or an image inside an answer that holds plain text was dropped")
        except (etree.ParserError, ValueError):
            text = raw
    else:
        text = _html.unescape(raw) if "&" in raw else raw
    return " ".join(text.split())


def _template_text(html: str) -> str:
    """A response template (HTML paragraphs with <br>) back to plain text."""
    blocks = _blocks(html)
    if not blocks:
        return _html.unescape(re.sub(r"<[^>]+>", "", html)).strip()
    paras = []
    for b in blocks:
        for br in b.iter("br"):
            br.tail = "\n" + (br.tail or "")
        paras.append("".join(str(t) for t in b.itertext()))
    return "\n\n".join(paras).strip()


# --- the reader -------------------------------------------------------------------------------------


class MoodleXmlImporter:
    name = "moodle"
    description = "Moodle XML question files (Moodle 4.x export, and ours)"

    def sniff(self, path: Path) -> bool:
        if not path.is_file():
            return False
        try:
            with path.open("rb") as fh:
                head = fh.read(4096)
        except OSError:
            return False
        if head.startswith(b"PK\x03\x04"):  # a zip (a stored one shows its files' XML here): not Moodle XML
            return False
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its mark (what the reader reads too)
            head = head.decode("utf-16", "ignore").encode("utf-8")
        return b"<quiz" in head or (b"<question" in head and b"type=" in head and b"<questiontext" in head)

    def read(self, path: Path, ctx: ImportContext) -> ReadResult:
        label = str(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise BadInput(label, f"cannot read: {exc.strerror or exc}") from None
        root = parse_xml(raw, label)
        if root.tag == "question":
            questions = [root]
        elif root.tag == "quiz":
            questions = [q for q in root if q.tag == "question"]
            others = [c for c in root if isinstance(c.tag, str) and c.tag != "question"]
            if others:
                raise BadInput(f"{label}:{others[0].sourceline}", f"<{others[0].tag}> inside <quiz> is not a Moodle XML question")
        else:
            raise BadInput(f"{label}:{root.sourceline}", f"not a Moodle XML file: the root element is <{root.tag}>, not <quiz>")
        for qel in questions:
            qtype = (qel.get("type") or "").strip()
            if not qtype:
                raise BadInput(f"{label}:{qel.sourceline}", "<question> without a type attribute")
            if qtype not in KNOWN:
                raise BadInput(f"{label}:{qel.sourceline}", f"unknown question type '{qtype}' (not a Moodle core or known plug-in type)")
        result = ReadResult(format_notes=[NOT_CARRIED], not_carried=frozenset({"options[].id"}))
        category = ""
        # A file that carries our tag scheme (topic:... tags) says each question's topic itself;
        # its categories only group the questions (an item without a topic sits in "General").
        # Our export also names each category's topic in a comment before it ("<!-- topic: X -->").
        scheme = any((t.text or "").strip().lower().startswith("topic:") for t in root.iter("text") if _parent_tag(t) == "tag") or any(
            str(c.text or "").strip().startswith("topic:") for c in root.iter(etree.Comment))
        names: list[str] = []  # the category's path as Moodle splits it, without the context and 'top'
        where = ""
        parent_notes = ParentNotes()  # the parents an item's one topic drops: said once per category path
        for qel in questions:
            qtype = qel.get("type", "")
            if qtype == "category":
                cat_path = _t(qel, "category/text").strip()
                names = category_names(cat_path)
                category, where = (names[-1] if names else ""), f"category {cat_path} (line {qel.sourceline})"
                continue
            q = _Q(qel, label, ctx)
            name = " ".join(_t(qel, "name/text").split())
            ident = _t(qel, "idnumber").strip() or name or f"line {qel.sourceline}"
            if qtype == "description":
                result.skipped.append(Skipped(ident, q.origin, DESCRIPTION_REASON))
                continue
            if qtype in UNSUPPORTED:
                result.skipped.append(Skipped(ident, q.origin, f"{qtype}: {UNSUPPORTED[qtype]}"))
                continue
            try:
                data = _read_question(q, qtype, name, "" if scheme else category)
            except _Skip as exc:
                result.skipped.append(Skipped(ident, q.origin, str(exc)))
                continue
            if category and not scheme and data.get("topic") == category:
                note = parent_notes.note(where, names)
                if note:
                    result.format_notes.append(note)
            result.items.append(ImportedItem(data, q.origin, q.notes))
        return result


def _parent_tag(el: etree._Element) -> str:
    parent = el.getparent()
    return str(parent.tag) if parent is not None else ""


class _Skip(Exception):
    pass


def _read_question(q: _Q, qtype: str, name: str, category: str) -> dict[str, Any]:
    el = q.el
    if qtype in ("calculated", "calculatedsimple"):
        from .moodle_calculated import CalculatedText

        q.calc = CalculatedText(q)
        q.calc.prepare()  # wildcards and {=...} become tokens before any text turns into Markdown
    data: dict[str, Any] = {}
    tags = [" ".join((t.text or "").split()) for t in _findall(el, "tags/tag/text")]
    markers = apply_tags(data, tags, q.notes)
    if _find(el, "coursetags") is not None:
        course_tags = [" ".join((t.text or "").split()) for t in _findall(el, "coursetags/tag/text")]
        if course_tags:
            data.setdefault("tags", []).extend(t for t in course_tags if t and t not in data.get("tags", []))
    if category and "topic" not in data:
        data["topic"] = category
    source_id = _t(el, "idnumber").strip() or None
    if name and name != source_id:  # our export names an untitled item by its id
        data["title"] = item_title(name, q.notes)
    stem = q.md(_find(el, "questiontext"))
    old_image = _old_image(q)
    if old_image:
        stem = (stem + "\n\n" + old_image).strip()
    if _t(el, "hidden").strip() == "1":
        q.note("the question was hidden in Moodle")

    kind = {"multichoice": _multichoice, "truefalse": _truefalse, "shortanswer": _shortanswer, "numerical": _numerical,
            "essay": _essay, "match": _match, "matching": _match, "ordering": _ordering, "cloze": _cloze, "multianswer": _cloze,
            "gapselect": _gapselect, "ddwtos": _gapselect, "calculated": _calculated, "calculatedsimple": _calculated}[qtype]
    type_data, stem = kind(q, data, stem, markers)
    data.update(type_data)
    data["stem"] = stem
    if not stem.strip():
        raise _Skip("the question text is empty")

    if data["type"] != "cloze":
        grade = _num(_t(el, "defaultgrade", "1"), 1.0)
        if grade is not None and grade > 0 and grade != 1:
            data["points"] = clean_number(grade)
        elif grade is not None and grade <= 0:
            q.note(f"default mark {_t(el, 'defaultgrade')} is not a positive number; 1 point used")
    # general feedback: ours is split back into its fields
    back_blocks = data.pop("_back_blocks", 0)
    general = _find(el, "generalfeedback")
    split_general_feedback(q.html(general), data, q.notes, q.resolver(general), back_blocks)
    if general is not None and (general.get("format") or "html") == "plain_text" and "rationale" in data:
        data["rationale"] = text_to_markdown(q.html(general))
    hint_els = list(el.iterchildren("hint"))
    hints = [q.md(h) for h in hint_els]
    hints = [h for h in hints if h]
    if hints:
        data["hints"] = data.get("hints", []) + hints
        if any(_find(h, "shownumcorrect") is not None or _find(h, "clearwrong") is not None or _find(h, "options") is not None for h in hint_els):
            q.note("hint options (show the number correct, clear wrong responses) dropped")
    _combined(q, data)
    extra = data.pop("_extra_feedback", [])
    if extra:
        data["rationale"] = "\n\n".join([data["rationale"]] + extra if data.get("rationale") else extra)
    if q.calc is not None:
        q.calc.finish(data)
    data["id"] = q.ctx.ids.derive(source_id, name, stem)
    if source_id and data["id"] != source_id:
        q.note(renamed_note("Moodle idnumber", source_id, data["id"]))
    return data


def _old_image(q: _Q) -> str:
    """Moodle 1.9's ``<image>`` + ``<image_base64>`` below the question text."""
    name = _t(q.el, "image").strip()
    b64 = _t(q.el, "image_base64")
    if not b64.strip():
        if name:
            q.note(f"image {name!r} (Moodle 1.9 image field) has no data in the file; dropped")
        return ""
    try:
        blob = base64.b64decode("".join(b64.split()), validate=True)
    except (binascii.Error, ValueError):
        q.note(f"image {name!r} (Moodle 1.9 image field) is not valid base64; dropped")
        return ""
    try:
        rel = q.ctx.media.add(blob, name or "image.png")
    except MediaTooLarge as exc:
        raise BadInput(q.origin, f"refused: {exc}") from None
    return f"![{name}]({rel})"


def _combined(q: _Q, data: dict[str, Any]) -> None:
    """Combined feedback (correct / partially correct / incorrect): Moodle's default wording is
    dropped; any other text is kept at the end of the rationale, with a note."""
    kept = []
    for tag, (default, _empty, label) in DEFAULT_COMBINED.items():
        field = q.el.find(tag)
        if field is None:
            continue
        md = q.md(field)
        plain = " ".join(_plain(q.html(field)).split()).lower()
        if not md or plain in (default, ""):
            continue
        kept.append(f"**When {label}:** {md}" if "\n" not in md else f"**When {label}:**\n\n{md}")
    if kept:
        q.note("combined feedback (correct / partially correct / incorrect) kept at the end of the rationale")
        data.setdefault("_extra_feedback", []).extend(kept)


def _answers(q: _Q) -> list[tuple[float, etree._Element]]:
    out = []
    for a in _findall(q.el, "answer"):
        frac = _num(a.get("fraction", "0"), None)
        if frac is None:
            raise _Skip(f"answer at line {a.sourceline} has grade {a.get('fraction')!r}, not a number")
        out.append((frac, a))
    return out


def _multichoice(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    single = _t(q.el, "single", "true").strip().lower() in ("true", "1")
    answers = _answers(q)
    if len(answers) < 2:
        raise _Skip(f"multichoice with {len(answers)} answer(s); an item needs at least two options")
    used: set[str] = set()
    options = []
    for i, (frac, a) in enumerate(answers):
        opt: dict[str, Any] = {"id": option_id(None, i, used), "text": q.md(a)}
        if not opt["text"]:
            raise _Skip(f"answer {i + 1} has no text")
        if single:
            if frac >= 99.99:
                opt["correct"] = True
            elif frac > 0:
                q.note(f"partial credit {frac:g}% on option {opt['id']} dropped (a multiple choice item has one key)")
            elif frac < 0:
                q.note(f"penalty {frac:g}% on option {opt['id']} dropped (a multiple choice item scores a wrong answer 0)")
        elif frac > 0:
            opt["correct"] = True
        fb = q.md(_find(a, "feedback"))
        if fb:
            opt["feedback"] = fb
        options.append(opt)
    out: dict[str, Any] = {"type": "multiple_choice" if single else "multiple_response", "options": options}
    n_correct = sum(1 for o in options if o.get("correct"))
    if single and n_correct != 1:
        if n_correct == 0:
            raise _Skip("no answer has grade 100%; a multiple choice item needs one key")
        out["type"] = "multiple_response"
        q.note(f"single-answer question with {n_correct} answers at 100% imported as multiple response")
        single = False
    if not single:
        fr = [f for f, _a in answers]
        scoring = choice_scoring(fr, options, q.notes)
        if scoring is None:
            q.note("Moodle's answer grades (" + ", ".join(f"{f:g}%" for f in fr) + ") approximated by partial scoring")
        elif scoring == "all_or_nothing":
            out["scoring"] = "all_or_nothing"
    out["shuffle"] = _t(q.el, "shuffleanswers", "true").strip().lower() in ("true", "1")
    if out["shuffle"]:
        del out["shuffle"]
    return out, stem


def _truefalse(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    out: dict[str, Any] = {"type": "true_false"}
    answer = None
    for frac, a in _answers(q):
        value = _plain(q.html(a)).strip().lower()
        if value not in ("true", "false"):
            raise _Skip(f"true/false answer {value!r} is neither true nor false")
        fb = q.md(_find(a, "feedback"))
        if fb:
            out["true_feedback" if value == "true" else "false_feedback"] = fb
        if frac >= 99.99:
            answer = value == "true"
    if answer is None:
        raise _Skip("neither true nor false has grade 100%")
    out["answer"] = answer
    return out, stem


def _unescape_sa(s: str) -> str:
    return s.replace("\\*", "*")


def _shortanswer(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    answers: list[str] = []
    for frac, a in _answers(q):
        text = _plain(q.html(a))
        if not text:
            continue
        fb = q.md(_find(a, "feedback"))
        if frac >= 99.99:
            if re.search(r"(?<!\\)\*", text):
                q.note(f"answer {text!r} uses Moodle's * wildcard; kept as literal text")
            answers.append(_unescape_sa(text))
            if fb:
                q.note(f"feedback on answer {text!r} dropped (short answers carry no per-answer feedback)")
        elif frac > 0:
            q.note(f"answer {text!r} worth {frac:g}% dropped (partial credit answers cannot be kept)")
        elif fb:
            q.note(f"feedback for wrong answer {text!r} dropped")
    if not answers:
        raise _Skip("no answer has grade 100%")
    out: dict[str, Any] = {"type": "short_answer", "answers": list(dict.fromkeys(answers))}
    if _t(q.el, "usecase", "0").strip() == "1":
        out["case_sensitive"] = True
    return out, stem


def _numerical(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    out: dict[str, Any] = {"type": "numeric"}
    full = []
    for frac, a in _answers(q):
        text = _plain(q.html(a))
        fb = q.md(_find(a, "feedback"))
        if text == "*":
            if fb:
                q.note("feedback for any other answer (*) dropped")
            continue
        value = _num(text)
        if value is None:
            raise _Skip(f"numerical answer {text!r} is not a number")
        tol = _num(_t(a, "tolerance", "0"), 0.0) or 0.0
        if frac >= 99.99:
            full.append((value, abs(tol), fb))
        elif frac > 0:
            q.note(f"answer {text} ± {tol:g} worth {frac:g}% dropped (partial credit answers cannot be kept)")
        elif fb:
            q.note(f"feedback for wrong answer {text} dropped")
    if not full:
        raise _Skip("no numerical answer has grade 100%")
    value, tol, fb = full[0]
    if len(full) > 1:
        q.note(f"{len(full) - 1} more answer(s) at 100% dropped (an item has one accepted value or range)")
    out["answer"] = clean_number(value)
    if tol:
        out["tolerance"] = clean_number(tol)
    if fb:
        q.note("answer-specific feedback on the numeric answer kept as general feedback")
        data.setdefault("_extra_feedback", []).append(fb)
    units = _findall(q.el, "units/unit")
    base = [u for u in units if _num(_t(u, "multiplier", "1"), None) == 1]
    if base:
        unit = " ".join(_t(base[0], "unit_name").split())
        if unit:
            out["unit"] = unit
    if len(units) > len(base[:1]):
        q.note("units other than the base unit (with multipliers) dropped")
    if _t(q.el, "unitgradingtype", "0").strip() not in ("0", "") and units:
        q.note("unit penalty dropped (the unit is optional in exports)")
    return out, stem


def _calculated(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    from .moodle_calculated import read_calculated

    return read_calculated(q, data, stem)


def _essay(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    rubric, sample, back = split_grader_info(q.html(_find(q.el, "graderinfo")), q.notes, q.resolver(_find(q.el, "graderinfo")))
    if "type:flashcard" in markers:
        if not back:
            back = sample
        if not back:
            raise _Skip("a flashcard (type:flashcard tag) without its back in the grader information")
        data["_back_blocks"] = len(_blocks(_back_html(q)) or [])
        return {"type": "flashcard", "answer": back}, stem
    out: dict[str, Any] = {"type": "essay"}
    if rubric:
        out["rubric"] = rubric
    if sample:
        out["sample_answer"] = sample
    for tag, key in (("minwordlimit", "min_words"), ("maxwordlimit", "max_words")):
        v = _num(_t(q.el, tag, ""), None)
        if v is not None and v > 0:
            out[key] = int(v)
    template = q.html(_find(q.el, "responsetemplate"))
    if template.strip():
        text = _template_text(template) if (_find(q.el, "responsetemplate").get("format") or "html") != "plain_text" else template.strip()  # type: ignore[union-attr]
        if text:
            out["response_template"] = text
    fmt = _t(q.el, "responseformat", "editor").strip()
    if fmt in ("noinline",):
        q.note("response format 'attachments only' dropped (exports ask for typed text)")
    if (_num(_t(q.el, "attachments", "0"), 0) or 0) != 0:
        q.note("file attachments dropped (exports ask for typed text)")
    return out, stem


def _back_html(q: _Q) -> str:
    html = q.html(_find(q.el, "graderinfo"))
    blocks = _blocks(html) or []
    heads = [_heading(b) for b in blocks]
    if "Answer" in heads:
        i = heads.index("Answer")
        return _ser(blocks[i + 1 :])
    return ""


def _match(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    pairs = []
    distractors = []
    for sub in _findall(q.el, "subquestion"):
        prompt = q.md(sub)
        match = _plain(_t(sub, "answer/text"))
        if not match:
            continue
        if prompt:
            pairs.append({"prompt": prompt, "match": match})
        else:
            distractors.append(match)
    out: dict[str, Any] = {"type": "matching", "pairs": pairs}
    if distractors:
        out["distractors"] = distractors
    if _t(q.el, "shuffleanswers", "true").strip().lower() in ("false", "0"):
        out["shuffle"] = False
    return out, stem


def _ordering(q: _Q, data: dict[str, Any], stem: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    answers = _answers(q)
    if all(a.get("fraction") is not None for _f, a in answers) and len({f for f, _a in answers}) == len(answers) and any(f != 100 for f, _a in answers):
        answers = sorted(answers, key=lambda p: p[0])
    seq = []
    for _f, a in answers:
        text = _plain(q.html(a))
        if not text:
            raise _Skip(f"ordering entry at line {a.sourceline} is empty")
        seq.append(text)
        if q.md(_find(a, "feedback")):
            q.note("feedback on ordering entries dropped")
    grading = _t(q.el, "gradingtype", "ABSOLUTE_POSITION").strip().upper() or "ABSOLUTE_POSITION"
    if grading not in ("ABSOLUTE_POSITION", "ALL_OR_NOTHING"):
        q.note(f"Moodle's ordering grading '{grading}' dropped (exports grade by absolute position)")
    select = _t(q.el, "selecttype", "ALL").strip().upper()
    if select not in ("ALL", "0", ""):
        q.note(f"Moodle shows a subset of the entries ({select}); all entries are kept")
    return {"type": "ordering", "sequence": seq}, stem


# --- cloze ---------------------------------------------------------------------------------------

# Moodle's qtype_multianswer pattern (question/type/multianswer/questiontype.php), simplified:
# {weight:TYPE:alternatives}, an alternative ~-separated: [=|%n%]answer[#feedback]
_EMBED = re.compile(r"\{(\d*):(SHORTANSWER|SA|MW|SHORTANSWER_C|SAC|MWC|NUMERICAL|NM|MULTICHOICE|MC|MULTICHOICE_V|MCV|MULTICHOICE_H|MCH|"
                    r"MULTICHOICE_S|MCS|MULTICHOICE_VS|MCVS|MULTICHOICE_HS|MCHS|MULTIRESPONSE|MR|MULTIRESPONSE_H|MRH|MULTIRESPONSE_S|MRS|"
                    r"MULTIRESPONSE_HS|MRHS):((?:[^{}\\]|\\.)*)\}")
_ALT_SPLIT = re.compile(r"(?<!\\)~")


def _cloze_unescape(s: str) -> str:
    s = re.sub(r"\\(.)", r"\1", s)
    return s


def _parse_alternatives(body: str) -> list[tuple[float, str, str]]:
    out = []
    for alt in _ALT_SPLIT.split(body):
        frac = 0.0
        if alt.startswith("="):
            frac, alt = 100.0, alt[1:]
        else:
            m = re.match(r"^%(-?\d+(?:\.\d+)?)%", alt)
            if m:
                frac, alt = float(m.group(1)), alt[m.end() :]
        m2 = re.search(r"(?<!\\)#", alt)
        answer, fb = (alt[: m2.start()], alt[m2.end() :]) if m2 else (alt, "")
        out.append((frac, answer, fb))
    return out


def _cloze(q: _Q, data: dict[str, Any], stem_md: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    field = _find(q.el, "questiontext")
    raw = q.html(field)
    blanks: dict[str, Any] = {}
    used: set[str] = set()
    tokens: dict[str, str] = {}
    problems: list[str] = []

    def sub(m: re.Match[str]) -> str:
        weight = int(m.group(1)) if m.group(1) else 1
        kind = m.group(2)
        alts = _parse_alternatives(m.group(3))
        name = blank_name(None, len(tokens), used)
        blank = _cloze_blank(q, kind, alts, problems)
        if blank is None:
            return m.group(0)
        if weight != 1:
            blank["points"] = weight
        if weight == 0:
            problems.append("a blank has weight 0")
        blanks[name] = blank
        tok = f"IBBLANK{len(tokens)}Z"
        tokens[tok] = name
        return tok

    replaced = _EMBED.sub(sub, raw)
    if problems:
        raise _Skip(problems[0])
    if not blanks:
        raise _Skip("cloze question without any embedded answer Moodle can read")
    if re.search(r"\{\d*:[A-Z_]+:", replaced):
        raise _Skip("an embedded answer is malformed (Moodle refuses it too)")
    fmt = (field.get("format") or "html") if field is not None else "html"
    if fmt in ("plain_text", "plain"):
        md = text_to_markdown(replaced)
    else:
        md, notes = html_to_markdown(replaced, q.resolver(field))
        for n in notes:
            q.note(n)
    for tok, name in tokens.items():
        if md.count(tok) != 1:
            raise _Skip("an embedded answer sits where Markdown cannot hold a blank (inside a link or code)")
        md = md.replace(tok, "{{" + name + "}}")
    total = sum(b.get("points", 1) for b in blanks.values())
    out: dict[str, Any] = {"type": "cloze", "blanks": blanks}
    if total != 1:
        out["points"] = clean_number(float(total))
    return out, md


def _cloze_blank(q: _Q, kind: str, alts: list[tuple[float, str, str]], problems: list[str]) -> dict[str, Any] | None:
    def text_of(s: str) -> str:
        return _plain(_cloze_unescape(s))

    def fb_of(s: str) -> str:
        s = _cloze_unescape(s)
        if not s.strip():
            return ""
        md, notes = html_to_markdown(s)
        for n in notes:
            q.note(n)
        return md

    if kind.startswith(("MULTIRESPONSE", "MR")):
        problems.append("a multiple-response blank (MULTIRESPONSE) has no equivalent in a cloze item")
        return None
    if kind.startswith(("SHORTANSWER", "SA", "MW")):
        answers, wrong_fb = [], ""
        for frac, ans, fb in alts:
            a = text_of(ans)
            if frac >= 99.99 and a:
                answers.append(_unescape_sa(a))
            elif a == "*" and frac <= 0:
                wrong_fb = fb_of(fb)
            elif frac > 0:
                q.note(f"blank answer {a!r} worth {frac:g}% dropped (partial credit answers cannot be kept)")
            elif fb:
                q.note(f"feedback for wrong blank answer {a!r} dropped")
        if not answers:
            problems.append("a short-answer blank has no answer at 100%")
            return None
        blank: dict[str, Any] = {"answers": list(dict.fromkeys(answers))}
        if kind in ("SHORTANSWER_C", "SAC", "MWC"):
            blank["case_sensitive"] = True
        if wrong_fb:
            blank["feedback"] = wrong_fb
        return blank
    if kind in ("NUMERICAL", "NM"):
        full = None
        wrong_fb = ""
        for frac, ans, fb in alts:
            a = text_of(ans)
            if a == "*":
                wrong_fb = fb_of(fb)
                continue
            value, _, tol = a.partition(":")
            v = _num(value)
            if v is None:
                problems.append(f"numerical blank answer {a!r} is not a number")
                return None
            if frac >= 99.99 and full is None:
                full = (v, abs(_num(tol, 0.0) or 0.0))
            elif frac > 0:
                q.note(f"blank answer {a} worth {frac:g}% dropped (partial credit answers cannot be kept)")
        if full is None:
            problems.append("a numerical blank has no answer at 100%")
            return None
        blank = {"number": clean_number(full[0])}
        if full[1]:
            blank["tolerance"] = clean_number(full[1])
        if wrong_fb:
            blank["feedback"] = wrong_fb
        return blank
    # MULTICHOICE variants -> dropdown
    choices: list[str] = []
    correct = None
    fbs: list[tuple[str, str]] = []
    for frac, ans, fb in alts:
        c = text_of(ans)
        if not c:
            continue
        if c in choices:
            problems.append(f"choice {c!r} appears twice in one blank")
            return None
        choices.append(c)
        f = fb_of(fb)
        if frac >= 99.99 and correct is None:
            correct = c
            if f:
                q.note(f"feedback on the correct choice {c!r} dropped")
        else:
            if frac > 0:
                q.note(f"choice {c!r} worth {frac:g}% scores 0 (a dropdown blank has one correct choice)")
            if f:
                fbs.append((c, f))
    if correct is None:
        problems.append("a multiple-choice blank has no choice at 100%")
        return None
    if kind not in ("MULTICHOICE", "MC"):
        q.note(f"{kind} layout (vertical/horizontal buttons, shuffle) shown as a dropdown")
    blank = {"choices": choices, "correct": correct}
    distinct = list(dict.fromkeys(f for _c, f in fbs))
    if len(distinct) == 1 and len(fbs) == len(choices) - 1:
        blank["feedback"] = distinct[0]
    elif fbs:
        blank["feedback"] = "\n\n".join(f"{c}: {f}" for c, f in fbs)
        q.note("per-choice feedback of a dropdown blank merged into the blank's feedback")
    return blank


def _gapselect(q: _Q, data: dict[str, Any], stem_md: str, markers: set[str]) -> tuple[dict[str, Any], str]:
    qtype = q.el.get("type")
    opt_tag = "selectoption" if qtype == "gapselect" else "dragbox"
    options = []
    for o in q.el.findall(opt_tag):
        text = _plain(_t(o, "text"))
        group = (_t(o, "group", "1").strip() or "1")
        options.append((text, group))
        if qtype == "ddwtos" and _find(o, "infinite") is not None:
            q.note("'unlimited use' of drag boxes dropped (dropdowns can always repeat a choice)")
    if not options:
        raise _Skip(f"{qtype} question without choices")
    field = _find(q.el, "questiontext")
    raw = q.html(field)
    blanks: dict[str, Any] = {}
    used: set[str] = set()
    tokens: dict[str, str] = {}
    problems: list[str] = []

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if not 1 <= n <= len(options):
            problems.append(f"gap [[{n}]] names no choice (there are {len(options)})")
            return m.group(0)
        correct, group = options[n - 1]
        choices = list(dict.fromkeys(t for t, g in options if g == group and t))
        if not correct:
            problems.append(f"choice {n} is empty")
            return m.group(0)
        name = blank_name(None, len(tokens), used)
        blanks[name] = {"choices": choices, "correct": correct}
        tok = f"IBBLANK{len(tokens)}Z"
        tokens[tok] = name
        return tok

    replaced = re.sub(r"\[\[(\d+)\]\]", sub, raw)
    if problems:
        raise _Skip(problems[0])
    if not blanks:
        raise _Skip(f"{qtype} question without any [[n]] gap")
    md, notes = html_to_markdown(replaced, q.resolver(field))
    for n_ in notes:
        q.note(n_)
    for tok, name in tokens.items():
        if md.count(tok) != 1:
            raise _Skip("a gap sits where Markdown cannot hold a blank (inside a link or code)")
        md = md.replace(tok, "{{" + name + "}}")
    if qtype == "ddwtos":
        q.note("drag and drop into text imported as dropdown blanks")
    for b in blanks.values():
        if len(b["choices"]) < 2:
            q.note("a gap whose group has one choice became a one-choice dropdown")
    out: dict[str, Any] = {"type": "cloze", "blanks": blanks}
    grade = _num(_t(q.el, "defaultgrade", "1"), 1.0)
    if grade and grade != 1:
        out["points"] = clean_number(grade)
    return out, md


importer = MoodleXmlImporter()
