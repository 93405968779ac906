"""What the QTI-family readers (``canvas`` for QTI 1.2, ``qti`` for QTI 2.x/3.0) share.

* :class:`Package` -- one source as a set of named files: a zip (``.zip``/``.imscc``, read through
  the kit's :class:`SafeZip`), a folder, or a single XML file;
* :class:`Text` -- HTML fields -> Markdown through the kit's converter, with images resolved to
  package files and stored by content hash (``media/<hash>.<ext>``), notes collected per question;
* :func:`split_sections` -- the labelled sections our own exporters write into one feedback field
  (``Solution``, ``Hints``, ``Rubric``...), so our own packages come back field by field;
* small number helpers.

Not an importer (``importers.base.BUILTIN`` lists none of this); importers never import each other.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lxml import etree, html as lxml_html

from itembank.model import PLACEHOLDER
from itembank.model import shown_alike
from itembank.sources import followed

from .base import BadInput
from .kit.numbers import clean_number
from .kit.html import html_to_markdown
from .kit.media import MediaTooLarge
from .kit.xml import parse_xml
from .kit.zip import SafeZip, is_zip

#: Files larger than this inside a folder source are refused like an oversized zip member.
MAX_FILE_BYTES = 200 * 1024 * 1024


# --- sources ----------------------------------------------------------------------------------


class Package:
    """One source (zip, folder or file) as named members; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self._zip: SafeZip | None = None
        self._files: dict[str, Path] = {}
        self._beside: Path | None = None
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    self._files[p.relative_to(path).as_posix()] = p
        elif is_zip(path):
            self._zip = SafeZip(path)
        elif path.is_file():
            self._files[path.name] = path
            self._beside = path.parent  # a single item file may refer to files next to it (images, stimuli)
        else:
            raise BadInput(self.label, "no such file or folder")
        self.single = self._zip is None and not path.is_dir()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.__exit__(*exc)

    def names(self) -> list[str]:
        return self._zip.names() if self._zip is not None else list(self._files)

    def _nearby(self, name: str) -> Path | None:
        """A file next to a single-file source (inside its folder, never above it)."""
        if self._beside is None or name.startswith(("../", "/")) or name == "..":
            return None
        target = followed(self._beside / name)
        if target is None:  # a link loop: no file
            return None
        try:
            target.relative_to(self._beside.resolve())
        except ValueError:
            return None
        return target if target.is_file() else None

    def has(self, name: str) -> bool:
        name = posixpath.normpath(name)
        if self._zip is not None:
            return self._zip.has(name)
        return name in self._files or self._nearby(name) is not None

    def origin(self, name: str) -> str:
        """How a member is named in messages: ``pkg.zip#path`` (zip, folder), the file itself, or a file beside it."""
        if self.single:
            return self.label if name in self._files else str(self.path.parent / name)
        return f"{self.label}#{name}"

    def read(self, name: str) -> bytes:
        name = posixpath.normpath(name)
        if self._zip is not None:
            return self._zip.read(name)
        path = self._files.get(name) or self._nearby(name)
        if path is None:
            raise BadInput(self.origin(name), "missing from the package")
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise BadInput(self.origin(name), f"refused: larger than {MAX_FILE_BYTES:,} bytes")
            return path.read_bytes()
        except OSError as exc:
            raise BadInput(self.origin(name), f"cannot read: {exc.strerror or exc}") from None

    def xml(self, name: str) -> etree._Element:
        return parse_xml(self.read(name), self.origin(name))

    def xml_names(self) -> list[str]:
        return [n for n in self.names() if n.lower().endswith((".xml", ".qti", ".xml.qti"))]


def head_bytes(path: Path, size: int = 8192) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def local(el: Any) -> str:
    """An element's local name (no namespace); '' for comments and processing instructions."""
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def strip_namespaces(root: etree._Element) -> etree._Element:
    """Drop every namespace (QTI 1.2/2.x files come with and without one); MathML is marked ``math``."""
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
        for key in list(el.attrib):
            if isinstance(key, str) and "}" in key:
                value = el.attrib.pop(key)
                short = key.split("}", 1)[1]
                if short not in el.attrib:
                    el.attrib[short] = value
    etree.cleanup_namespaces(root)
    return root


# --- text -------------------------------------------------------------------------------------


_FILEBASE = re.compile(r"^\$IMS[-_]CC[-_]FILEBASE\$/?", re.I)


@dataclass
class Text:
    """Converts a question's HTML to Markdown; images found in the package become media files."""

    package: Package
    media: Any  # kit.media.MediaStore
    base: str = ""  # folder of the XML file, for relative image paths
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: conversions already made in this package: html -> (markdown, notes, missing images).  Feedback and
    #: answers repeat a lot ("Correct!", "True"); the media store makes image resolution repeatable.
    cache: dict[tuple[str, str], tuple[str, list[str], list[str]]] = field(default_factory=dict)
    #: QTI 2.x as Canvas's converter (QTIMigrationTool) writes it: a ``<div class="html">`` holds HTML
    #: as escaped text, which Canvas parses as HTML (see _escaped_html)
    escaped_html_divs: bool = False

    def resolve(self, src: str) -> str | None:
        if not src or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", src):
            return None  # a URL: kept as is
        raw = unquote(src.split("#", 1)[0].split("?", 1)[0])
        candidates = []
        if _FILEBASE.match(raw):
            rest = _FILEBASE.sub("", raw)
            candidates += [f"web_resources/{rest}", rest]
        else:
            candidates += [posixpath.join(self.base, raw) if self.base else raw, raw]
        for cand in candidates:
            norm = posixpath.normpath(cand)
            if norm.startswith("../") or norm == ".." or norm.startswith("/"):
                continue
            if self.package.has(norm):
                data = self.package.read(norm)
                try:
                    return str(self.media.add(data, posixpath.basename(norm)))
                except MediaTooLarge as exc:
                    raise BadInput(self.package.origin(norm), f"refused: {exc}") from None
        self.missing.append(src)
        return None

    def _missing_images_as_text(self, html: str) -> str:
        """An image the package lacks would make the item invalid (a reference to no file): its alt text
        stands in for it, and the note names the file."""
        root = _fragment(html)
        changed = False
        for img in list(root.iter("img")):
            src = img.get("src") or ""
            if not src or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", src):
                continue
            before = len(self.missing)
            if self.resolve(src) is None and len(self.missing) > before:
                alt = img.get("alt") or posixpath.basename(unquote(src))
                span = etree.Element("span")
                span.text = f"[image: {alt}]"
                span.tail = img.tail
                parent = img.getparent()
                if parent is not None:
                    parent.replace(img, span)
                    changed = True
        return to_html(list(root), root.text or "") if changed else html

    def md(self, html: str | None) -> str:
        """Markdown of an HTML fragment ('' for nothing)."""
        if not html or not html.strip():
            return ""
        key = (self.base, html)
        hit = self.cache.get(key)
        if hit is None:
            missing_before = len(self.missing)
            source = _our_renamed_elements(html) if 'class="md-' in html else html
            if self.escaped_html_divs and 'class="html"' in source:
                source = _escaped_html(source)
            if "<img" in source:
                source = self._missing_images_as_text(source)
            out, notes = html_to_markdown(source, resolve_src=self.resolve)
            hit = self.cache[key] = (out.strip(), notes, self.missing[missing_before:])
            del self.missing[missing_before:]
        out, notes, missing = hit
        for n in notes:
            if n not in self.notes:
                self.notes.append(n)
        self.missing.extend(missing)
        return out

    def plain_md(self, text: str | None) -> str:
        """Markdown for a plain-text field (escaped so it renders as the same text)."""
        if not text or not text.strip():
            return ""
        from .kit.html import text_to_markdown

        return text_to_markdown(text.strip()).strip()

    def take_notes(self) -> list[str]:
        notes = list(self.notes)
        if self.missing:
            notes.append("image(s) not in the package, replaced by their description: " + ", ".join(dict.fromkeys(self.missing)))
        self.notes.clear()
        self.missing.clear()
        return notes


_MD_CLASSES = {"md-del": "del", "md-s": "s", "md-strike": "strike", "md-u": "u", "md-ins": "ins", "md-mark": "mark"}


def _escaped_html(html: str) -> str:
    """Each ``<div class="html">`` that holds only text, that text read as HTML: Canvas's QTI converter
    writes a QTI 1.2 text/html material so (``<div class="html">a &amp;lt;b&amp;gt;</div>``), and
    Canvas reads it back as HTML (Qti::HtmlHelper#detect_html); it came in as its source, tags shown."""
    root = _fragment(html)
    changed = False
    for div in root.iter("div"):
        if "html" in (div.get("class") or "").split() and len(div) == 0 and div.text and ("<" in div.text or "&" in div.text):
            inner = _fragment(div.text)
            div.text = inner.text
            div.extend(list(inner))
            changed = True
    return to_html(list(root), root.text or "") if changed else html


def _our_renamed_elements(html: str) -> str:
    """Our QTI export writes ``<del>`` (not allowed in QTI bodies) as ``<span class="md-del">``: undo it."""
    root = _fragment(html)
    for span in root.iter("span"):
        tag = _MD_CLASSES.get(span.get("class") or "")
        if tag:
            span.tag = tag
            del span.attrib["class"]
    return to_html(list(root), root.text or "")


# --- our own labelled feedback sections -------------------------------------------------------

#: Labels our exporters put in front of parts of one feedback text (Canvas: <p><strong>L</strong></p>;
#: QTI: <h4>L</h4>).  "Explanation" opens the rationale in QTI packages.
SECTION_LABELS = (
    "Explanation", "Solution", "Answer", "Quick check", "Hints", "Hint", "Rubric", "Scoring rubric", "Sample answer",
    "Common mistakes", "If a blank was wrong",
)


def _fragment(html: str) -> etree._Element:
    """An HTML fragment as a ``<div>`` tree (lxml.html: tolerant, no entities, no network)."""
    try:
        return lxml_html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        div = etree.Element("div")
        div.text = html
        return div


def _label_of(el: etree._Element) -> str | None:
    tag = el.tag if isinstance(el.tag, str) else ""
    text = " ".join("".join(t for t in el.itertext() if isinstance(t, str)).split())
    if tag == "h4" and text in SECTION_LABELS:
        return text
    if tag == "p" and len(el) == 1 and el[0].tag == "strong" and not (el.text or "").strip() and not (el[0].tail or "").strip():
        return text if text in SECTION_LABELS else None
    return None


def to_html(nodes: list[etree._Element], text: str = "") -> str:
    from html import escape

    return escape(text) + "".join(lxml_html.tostring(n, encoding="unicode") for n in nodes)


def split_sections(html: str) -> tuple[str, dict[str, etree._Element]]:
    """(the HTML before the first label, {label: <div> holding that section's elements})."""
    if "<strong>" not in html and "<h4>" not in html:
        return html, {}  # no label can be there: skip the parse
    root = _fragment(html)
    head: list[etree._Element] = []
    sections: dict[str, etree._Element] = {}
    current: etree._Element | None = None
    head_text = root.text or ""
    for child in list(root):
        label = _label_of(child)
        if label is not None and label not in sections:
            current = sections[label] = etree.Element("div")
            continue
        if current is None:
            head.append(child)
        else:
            current.append(child)
    return to_html(head, head_text), sections


def items_of(section: etree._Element) -> list[etree._Element]:
    """The ``<li>`` of the first list in a section."""
    for el in section.iter("ul", "ol"):
        return [li for li in el if li.tag == "li"]
    return []


def inner_html(el: etree._Element) -> str:
    from html import escape

    return escape(el.text or "") + "".join(lxml_html.tostring(c, encoding="unicode") for c in el)


def text_of(el: etree._Element) -> str:
    return " ".join("".join(t for t in el.itertext() if isinstance(t, str)).split())


# --- choices ---------------------------------------------------------------------------------


def options_problem(options: list[dict[str, Any]]) -> str | None:
    """Why a list of options cannot make a choice item (fewer than two, the same text twice), or None."""
    if len(options) < 2:
        return f"{len(options)} choice(s): a choice question needs at least two"
    seen: dict[str, int] = {}
    for n, opt in enumerate(options):
        key = shown_alike(opt["text"])  # as validation tells options apart (IB217): what it accepts comes in
        if key in seen:
            return f"choices {seen[key] + 1} and {n + 1} have the same text ({opt['text'][:40]!r}): learners could not tell them apart"
        seen[key] = n
    return None


def pairs_problem(pairs: list[dict[str, str]]) -> str | None:
    """Why pairs cannot make a matching item (fewer than two, an empty side, a prompt twice), or None."""
    if len(pairs) < 2:
        return f"{len(pairs)} pair(s): a matching question needs at least two"
    if not all(p["prompt"].strip() and p["match"].strip() for p in pairs):
        return "a pair has no text on one side"
    prompts = [shown_alike(p["prompt"]) for p in pairs]
    if len(set(prompts)) < len(prompts):
        return "two pairs have the same prompt: learners could not tell them apart"
    return None


def interval_problem(data: dict[str, Any]) -> str | None:
    rng = data.get("range")
    if rng is not None and rng["min"] > rng["max"]:
        return f"the accepted interval is empty ({rng['min']} to {rng['max']})"
    if data.get("tolerance", 0) < 0:
        return "negative tolerance"
    return None


def blanks_problem(stem: str, blanks: dict[str, Any]) -> str | None:
    """Why blanks cannot make a cloze item (none, an empty answer, a dropdown without its key, a blank
    missing from the text), or None."""
    if not blanks:
        return "no blank to fill in"
    for name, blank in blanks.items():
        if "{{" + name + "}}" not in stem:
            return f"blank '{name}' does not appear in the text"
        if "answers" in blank and not all(a.strip() for a in blank["answers"]):
            return f"blank '{name}' has an empty accepted answer"
        if "choices" in blank:
            if not all(c.strip() for c in blank["choices"]) or blank.get("correct") not in blank["choices"]:
                return f"dropdown '{name}' has an empty choice or its correct choice is not offered"
    return None


# --- cloze text ------------------------------------------------------------------------------

_LITERAL_OPEN = "\ue000"  # stands for a literal "{{" while a cloze stem is built (private-use character)


def protect_braces(text: str) -> str:
    """Source text's own ``{{`` must not become a placeholder in a cloze stem: hide it first..."""
    return text.replace("{{", _LITERAL_OPEN)


def restore_braces(md: str) -> str:
    """...and write it back: as ``{{`` where that makes no placeholder (``{{ not a blank }}``; in code,
    where an escape would show), escaped where it would (``\\{\\{x}}`` renders as ``{{x}}``)."""
    if _LITERAL_OPEN not in md:
        return md
    parts = md.split(_LITERAL_OPEN)
    out = [parts[0]]
    for part in parts[1:]:
        out.append("\\{\\{" if PLACEHOLDER.match("{{" + part) else "{{")
        out.append(part)
    return "".join(out)


# --- numbers ----------------------------------------------------------------------------------


def number(text: str | None) -> float | None:
    """A number written in a source ('3', '0.25', ' 1e-3 '); None when it is not one."""
    if text is None:
        return None
    s = text.strip().replace("\u2212", "-")
    if not s:
        return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    return float(d)


def decimal_diff(a: str, b: str) -> float:
    """``b - a`` computed in decimal (0.11 - 0.1 is 0.01, not 0.009999999999999995)."""
    return float(Decimal(b.strip()) - Decimal(a.strip()))


def iter_elements(root: etree._Element, name: str) -> Iterator[etree._Element]:
    for el in root.iter():
        if local(el) == name:
            yield el
