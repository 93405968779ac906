"""What the Moodle XML and GIFT exporters share (a private helper module, not an exporter).

Both formats go into the same importer (Moodle's question bank → Import), so they must agree on
the scoring of multiple response items (``itembank.moodle_grades``), the category path, the tags,
what the general feedback holds, and the flavour of HTML Moodle shows: math as MathJax ``\\( \\)`` /
``\\[ \\]`` delimiters (Moodle's MathJax filter reads those) and images as ``@@PLUGINFILE@@/name``
files of the field that shows them.
"""

from __future__ import annotations

import base64
import html as _html
import hashlib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from lxml import etree
from markupsafe import Markup

from itembank.model import AnyItem, Bank, FlashcardItem
from itembank.moodle_grades import format_fraction, moodle_fractions  # noqa: F401  (re-exported for both exporters)
from itembank.render import Renderer, local_image, math_spans, replace_with_text

from ..kit.escape import finalize, markup
from ..kit.explain import Section, SectionKind, explanation
from ..kit.numbers import number_text, plural

#: Significant digits of a number in Moodle's formats (PHP's float precision).
MOODLE_DIGITS = 15

_MATH_DELIMITERS = {"math-display": ("\\[", "\\]"), "math-inline": ("\\(", "\\)")}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
#: Types whose Moodle question type has no hints (qformat_xml reads none for them): their hints go
#: into the general feedback instead of being lost.
TYPES_WITHOUT_HINTS = frozenset({"true_false", "essay", "flashcard"})


class ItemSkipped(Exception):
    """An item this format cannot carry faithfully; the message is the reason given to the user."""


@dataclass(frozen=True, slots=True)
class Image:
    """An image a field shows: its file name inside the field, and its path relative to the bank."""

    name: str
    ref: str


@dataclass(frozen=True, slots=True)
class Html:
    """One field's HTML as Moodle should store it, and the image files it references."""

    text: str
    images: tuple[Image, ...] = ()


EMPTY = Html("")


class MoodleHtml:
    """Markdown → the HTML Moodle shows, through the build's shared renderer (each text rendered once)."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def block(self, text: str | None) -> Html:
        """A Markdown text as block HTML (paragraphs, lists, ``<pre><code>``)."""
        if not text:
            return EMPTY
        html = self.renderer.html(text)
        if not _needs_rewrite(html):
            return Html(html)  # the common case: the renderer's HTML is already what Moodle wants
        return self.finish(self._fresh_tree(text))

    def inline(self, text: str | None) -> Html:
        """A one-paragraph Markdown text without its ``<p>`` (option texts, prompts, short feedback)."""
        out = self.block(text)
        body = out.text
        if body.startswith("<p>") and body.endswith("</p>") and body.count("<p>") == 1:
            return Html(body[3:-4], out.images)
        return out

    def blocks(self, text: str) -> list[etree._Element]:
        """Private copies of a text's rendered blocks, to compose a field from several texts."""
        return list(self._fresh_tree(text))

    def _fresh_tree(self, text: str) -> etree._Element:
        """A ``<div>`` of the rendered text that nobody else holds.

        Parsed from the renderer's cached HTML rather than taken from ``renderer.fragment``: that
        would also keep a tree of every composed text in the renderer's cache for the whole build,
        which for 10,000 items is most of the export's memory.
        """
        try:
            return etree.fromstring(f"<div>{self.renderer.html(text)}</div>", _PARSER)
        except etree.XMLSyntaxError:  # raw HTML that validation would have refused: the renderer's fallback
            return self.renderer.fragment(text)

    def finish(self, div: etree._Element) -> Html:
        """Moodle-flavour a composed ``<div>`` (math delimiters, image files) and serialize its content."""
        _math_to_delimiters(div)
        images = _images_to_pluginfile(div)
        html = etree.tostring(div, encoding="unicode", method="html")
        # Strip the wrapper; method="html" writes void elements (<br>, <img>) and empty cells the way
        # browsers parse them, where the XML method would write <td/>.
        return Html(html[len("<div>") : -len("</div>")].strip(), images)


def _needs_rewrite(html: str) -> bool:
    return 'class="math ' in html or "<img " in html


def _math_to_delimiters(div: etree._Element) -> None:
    for span, latex, display in math_spans(div):
        opening, closing = _MATH_DELIMITERS["math-display" if display else "math-inline"]
        replace_with_text(span, opening + latex + closing)


def _images_to_pluginfile(div: etree._Element) -> tuple[Image, ...]:
    """Point relative image references at files of this field; names are unique within the field."""
    images: dict[str, Image] = {}  # ref -> Image, in first-seen order
    taken: set[str] = set()
    for img in div.iter("img"):
        ref = local_image(img.get("src") or "")
        if ref is None:
            continue  # the browser fetches it: nothing to package
        image = images.get(ref)
        if image is None:
            image = Image(_unique_name(posixpath.basename(ref) or "image", taken), ref)
            taken.add(image.name)
            images[ref] = image
        img.set("src", "@@PLUGINFILE@@/" + quote(image.name))
    return tuple(images.values())


def _unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while f"{stem}-{n}{dot}{ext}" in taken:
        n += 1
    return f"{stem}-{n}{dot}{ext}"


class MediaFiles:
    """Base64 of the bank's image files, read once per build however many fields show them."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self._cache: dict[str, str] = {}
        #: Every image asked for, in order (the fragment cache notes which files an item's question read).
        self.asked: list[str] = []

    def base64(self, ref: str) -> str:
        self.asked.append(ref)
        data = self._cache.get(ref)
        if data is None:
            path: Path = self.bank.media_path(ref)
            try:
                data = base64.b64encode(path.read_bytes()).decode("ascii")
            except OSError as exc:
                raise ItemSkipped(f"image '{ref}' cannot be read ({exc.strerror or exc})") from None
            self._cache[ref] = data
        return data

    def state(self, ref: str) -> str:
        """What the image file is now, as a short hash (or why it cannot be read): a cached question
        that embeds it is used only while this is what it was when it was built."""
        try:
            data = self.base64(ref)
        except ItemSkipped as why:
            return f"unreadable: {why}"
        finally:
            self.asked.pop()
        return hashlib.blake2b(data.encode("ascii"), digest_size=8).hexdigest()


# --- what both formats say the same way ------------------------------------------------------


def category_path(bank_title: str, topic: str) -> str:
    """``$course$/<bank title>/<topic>``; a '/' inside a name is doubled, as Moodle's path splitter expects."""
    return _category(bank_title, topic)


#: The characters Moodle will not have in a tag: PARAM_TAG removes them (Moodle XML import), and the
#: GIFT reader's [tag:...] pattern stops at them (the tag is skipped).  An objective such as
#: "Solve x < 3" is a tag.
TAG_UNSAFE = re.compile(r"[<>`]")
PHP_TRIM = " \t\n\r\0\x0b"  # what PHP's trim() takes off, as Moodle's split_category_path does


def _category(*names: str) -> str:
    """``$course$/a/b/...``, each name written as Moodle's ``assemble_category_path`` writes it, so that
    its ``split_category_path`` gives the names back: a '/' inside a name is doubled, and a name that
    then starts (ends) with '/' gets a space before (after) it, which the split's trim takes off again
    (without it 'A/' then 'B' would be 'A///B', a run of slashes that is no separator: one name 'A//B').
    Moodle trims each name, so the names are trimmed here too (``category_notes`` says which were)."""
    parts = []
    for name in names:
        part = (name.strip(PHP_TRIM) or "-").replace("/", "//")
        if part.startswith("/"):
            part = " " + part
        if part.endswith("/"):
            part += " "
        parts.append(part)
    return "$course$/" + "/".join(parts)


def category_notes(bank: Bank) -> list[str]:
    """What of a topic Moodle cannot keep as its category's name: Moodle trims each name of a path
    (``split_category_path``), so a topic with spaces at its start or end loses them, and an empty one
    is written '-'. Said, not lost silently."""
    if bank.form is not None:
        names = [s.title for s in bank.form.sections]
    else:
        names = list(bank.topics())
    changed = sorted({n for n in names if n.strip(PHP_TRIM) != n or not n.strip(PHP_TRIM)})
    if not changed:
        return []
    shown = ", ".join(repr(n) for n in changed[:5]) + (" ..." if len(changed) > 5 else "")
    return [f"{len(changed)} topic(s) have spaces at their start or end, or are blank, which a Moodle category "
            f"name cannot keep (Moodle trims each name of a category path; a blank one is written '-'): {shown}"]


def pool_category_name(title: str, pick: int, size: int) -> str:
    """A delivery-time pool's category: named for the pool and its pick count."""
    return f"{title} (random {pick} of {size})"


def categories(bank: Bank) -> list[tuple[str, str, list[AnyItem]]]:
    """(comment, category path, items) in export order.

    The whole bank: one category per topic, ``$course$/<bank title>/<topic>``.  An assessment form:
    its own tree ``$course$/<assessment>/Form A/<section>`` holding exactly the form's questions in
    the form's order, and each delivery-time pool in a sibling category named for the pool and its
    pick count (``<section> (random 2 of 5)``), to build the quiz from (docs/moodle.md).
    """
    if bank.form is None:
        by_topic: dict[str, list[AnyItem]] = {}
        for item in bank.items:
            by_topic.setdefault(item.topic or "General", []).append(item)
        return [(f"topic: {topic}", category_path(bank.title, topic), by_topic[topic]) for topic in bank.topics()]
    form = bank.form
    out: list[tuple[str, str, list[AnyItem]]] = []
    used: set[str] = set()
    for section in form.sections:
        name = section.title if section.pick is None else pool_category_name(section.title, section.pick, len(section.item_ids))
        unique, n = name, 2
        while unique in used:
            unique, n = f"{name} ({n})", n + 1
        used.add(unique)
        kind = "section" if section.pick is None else "pool"
        out.append((f"{kind}: {unique}", _category(form.assessment, f"Form {form.form}", unique), [bank.by_id[i] for i in section.item_ids]))
    return out


def form_note(bank: Bank) -> str | None:
    """How to build the Moodle quiz from a form's categories (the summary's note)."""
    if bank.form is None:
        return None
    form = bank.form
    pools = [s for s in form.sections if s.pick is not None]
    how = (
        f"form {form.form} is the category tree {form.assessment}/Form {form.form}/<section>: create the quiz "
        f"'{form.quiz_title}', then per section 'Add > from question bank' its category's questions in the listed order"
    )
    if pools:
        how += "; for each pool category '... (random N of M)' use 'Add > a random question' from that category with N questions"
    return how + " (docs/moodle.md)"


def item_tags(item: AnyItem) -> list[str]:
    """The item's metadata as Moodle tags: ``difficulty:hard``, ..., the free tags, ``objective:...``, ``status:approved``."""
    tags: list[str] = []
    for key in ("difficulty", "level", "bloom", "topic"):
        value = getattr(item, key)
        if value:
            tags.append(f"{key}:{value}")
    tags.extend(item.tags)
    tags.extend(f"objective:{o}" for o in item.objectives)
    # Moodle's XML importer (qformat_xml::import_headers, 4.x) reads no question status: every imported
    # question is "Ready".  The bank's status travels as a tag (docs/moodle.md).
    tags.append(f"status:{item.status}")
    if isinstance(item, FlashcardItem):
        tags.append("type:flashcard")  # says which items were flashcards before they became essays
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))


def format_number(value: float) -> str:
    """A number as both importers parse it: ``50000``, ``0.0055``, ``1e-05`` (15 significant digits, PHP's float precision)."""
    return number_text(value, significant=MOODLE_DIGITS)


def general_feedback(item: AnyItem, mh: MoodleHtml, *, hints: bool) -> Html:
    """The general feedback: the card's back (flashcards), rationale, worked solution, quick check,
    common mistakes, and, with ``hints``, the hints (for question types that have no hint field).
    """
    sections = explanation(item, EXPLANATION_LABELS if hints else EXPLANATION_LABELS_NO_HINTS)
    if all(s.kind == "rationale" for s in sections):
        return mh.block(item.rationale)  # the common case: one text, no composing
    composed = _composed(sections, mh.renderer)
    if composed is not None:  # (most items: each text's HTML as the renderer wrote it, joined by a template)
        return Html(composed)
    div = etree.Element("div")
    for section in sections:
        if section.label:
            _heading(div, section.label)
        if section.text:
            div.extend(mh.blocks(section.text))
        if section.steps:
            steps = etree.SubElement(div, "ol")
            for step in section.steps:
                li = etree.SubElement(steps, "li")
                if step.title:
                    etree.SubElement(etree.SubElement(li, "p"), "strong").text = step.title
                li.extend(mh.blocks(step.text))
        if section.items:
            _list(div, "ol" if section.kind == "hints" else "ul", section.items, mh)
    return mh.finish(div)


#: What lxml's HTML method writes otherwise than the renderer (pyromark) did, once parsed: a void
#: element (``<br />`` -> ``<br>``), a link's or an image's address (escaped as a URI); and what
#: :meth:`MoodleHtml.finish` changes (math, images).  A text whose HTML has none of them is written
#: by it as the renderer wrote it.  (Substrings: ``in`` finds each faster than one expression all.)
_NOT_AS_RENDERED = ("/>", "<a ", "<img", 'class="math ')
#: Characters lxml refuses or may write otherwise (composed as a tree: the same error or bytes).
_NOT_AS_TYPED = re.compile("[\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: The start of raw HTML in Markdown (a tag, a comment, a declaration): the renderer passes it on as
#: written (``<b>`` never closed), which parsing it as XML would not (validation refuses it: IB215).
_RAW_HTML = re.compile(r"<[A-Za-z/!?]")
#: The composing template (``templates/explanation.html.j2``).
EXPLANATION_TEMPLATE = Path(__file__).with_name("templates") / "explanation.html.j2"


def _kept_as_rendered(renderer: Renderer, text: str) -> Markup | None:
    """The renderer's HTML of ``text`` when lxml's HTML method writes it unchanged once parsed (see
    :data:`_NOT_AS_RENDERED`), else None."""
    html = renderer.html(text)
    for part in _NOT_AS_RENDERED:
        if part in html:
            return None
    if _NOT_AS_TYPED.search(html) or ("<" in text and _RAW_HTML.search(text)):
        return None
    return markup(html)


#: A section as the template takes it: label, text, steps (title, text), list tag, items.
_Section = tuple["str | None", "Markup | None", "list[tuple[str | None, Markup]]", str, "list[Markup]"]


def _composed(sections: list[Section], renderer: Renderer) -> str | None:
    """The general feedback of ``sections`` written by the template (:data:`EXPLANATION_TEMPLATE`),
    the text the tree of :func:`general_feedback` serializes to; None when a text's HTML is not
    kept as the renderer wrote it or a title is not escaped alike (the tree composes it)."""
    out: list[_Section] = []
    for section in sections:
        text = _kept_as_rendered(renderer, section.text) if section.text else None
        if (section.text and text is None) or (section.label and _NOT_AS_TYPED.search(section.label)):
            return None
        steps: list[tuple[str | None, Markup]] = []
        for step in section.steps:
            body = _kept_as_rendered(renderer, step.text)
            if body is None or (step.title and _NOT_AS_TYPED.search(step.title)):
                return None
            steps.append((step.title or None, body))
        items: list[Markup] = []
        for each in section.items:
            body = _kept_as_rendered(renderer, each)
            if body is None:
                return None
            items.append(body)
        out.append((section.label or None, text, steps, "ol" if section.kind == "hints" else "ul", items))
    return _explanation_macro()(out).strip()


@lru_cache(maxsize=1)
def _explanation_macro() -> Callable[[list[_Section]], str]:
    """The macro of :data:`EXPLANATION_TEMPLATE` (its environment made once a process)."""
    import jinja2  # (by the processes that compose feedback: a build's parent loads every format first)

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: EXPLANATION_TEMPLATE.read_text(encoding="utf-8")),
        autoescape=False,  # every value is written by finalize: a text's HTML as it is, any other escaped
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    macro: Callable[[list[_Section]], str] = env.get_template(EXPLANATION_TEMPLATE.name).module.explanation  # type: ignore[attr-defined]
    return macro


#: Headings of the general feedback's sections, in order (the rationale goes first, unheaded).
EXPLANATION_LABELS: dict[SectionKind, str | None] = {
    "answer": "Answer",
    "rationale": None,
    "steps": "Solution",
    "final_answer": "Final answer",
    "quick_check": "Quick check",
    "common_mistakes": "Common mistakes",
    "hints": "Hints",
}
EXPLANATION_LABELS_NO_HINTS: dict[SectionKind, str | None] = {k: v for k, v in EXPLANATION_LABELS.items() if k != "hints"}


def _heading(div: etree._Element, text: str) -> None:
    etree.SubElement(etree.SubElement(div, "p"), "strong").text = text


def _list(div: etree._Element, tag: str, texts: tuple[str, ...], mh: MoodleHtml) -> None:
    lst = etree.SubElement(div, tag)
    for text in texts:
        etree.SubElement(lst, "li").extend(mh.blocks(text))


def grader_info(item: AnyItem, mh: MoodleHtml) -> Html:
    """Essay/flashcard information for graders: the rubric with points, the sample answer (or the card's back)."""
    rubric = getattr(item, "rubric", ())
    sample = getattr(item, "sample_answer", None) or (item.answer if isinstance(item, FlashcardItem) else None)
    if not rubric and not sample:
        return EMPTY
    div = etree.Element("div")
    if rubric:
        total = sum(c.points for c in rubric)
        _heading(div, f"Rubric ({plural(total, 'point', significant=MOODLE_DIGITS)})")
        lst = etree.SubElement(div, "ul")
        for c in rubric:
            li = etree.SubElement(lst, "li")
            li.extend(mh.blocks(c.criterion))
            etree.SubElement(li, "p").text = plural(c.points, 'point', significant=MOODLE_DIGITS)
            if c.description:
                li.extend(mh.blocks(c.description))
    if sample:
        _heading(div, "Sample answer" if not isinstance(item, FlashcardItem) else "Answer")
        div.extend(mh.blocks(sample))
    return mh.finish(div)


def match_answer(text: str) -> str:
    """A matching question's answer (plain text) as Moodle shows it as typed.

    Moodle stores it as a string and shows it through ``format_string`` (qtype_match_renderer::
    format_choices), which strips tags and decodes entities: ``<=`` would show as nothing, ``a<b``
    as "a" and ``&lt;`` as "<".  HTML-escaped, it shows as written (``&`` alone would do, escaped
    or not: it is escaped too, so that ``&lt;`` typed as such stays four characters)."""
    return _html.escape(text, quote=False)


#: A numeric string for PHP 8 (leading and trailing white space allowed; no hexadecimal, INF or NAN).
_PHP_NUMERIC = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_PHP_INT = re.compile(r"\s*[+-]?\d+\s*")


def _php_number(text: str) -> int | float | None:
    """The number PHP's ``==`` compares a numeric string as (None: not a numeric string)."""
    if not _PHP_NUMERIC.fullmatch(text):
        return None
    if _PHP_INT.fullmatch(text) and abs(int(text)) < 2**63:
        return int(text)
    return float(text)


def match_answers(texts: list[str]) -> list[str]:
    """A matching question's answers (:func:`match_answer` each) that Moodle keeps apart.

    qtype_match makes one choice of answers that are equal for ``array_search``, which compares with
    PHP's ``==``: two numeric strings as numbers, so "0.1" and "0.10", or "1e3" and "1000", became one
    choice (one of the two texts in every menu, both pairs scored by it).  Such a later answer gets
    its first character as an entity: not a numeric string, it stays a choice of its own, shown the
    same.  The same text (pairs that share a match) stays one choice."""
    out: dict[str, str] = {}
    numbers: list[int | float] = []
    for text in texts:
        if text in out:
            continue
        written = match_answer(text)
        number = _php_number(written)
        if number is not None:
            if any(number == other for other in numbers):
                written = f"&#{ord(written[0])};{written[1:]}"
            else:
                numbers.append(number)
        out[text] = written
    return [out[text] for text in texts]


def plain_to_html(text: str) -> str:
    """Plain text (a response template) as HTML paragraphs, escaped, lines kept."""
    div = etree.Element("div")
    for para in re.split(r"\n\s*\n", text.strip("\n")):
        p = etree.SubElement(div, "p")
        lines = para.split("\n")
        p.text = lines[0]
        for line in lines[1:]:
            etree.SubElement(p, "br").tail = line
    return etree.tostring(div, encoding="unicode", method="html")[len("<div>") : -len("</div>")]
