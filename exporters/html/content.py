"""Item Markdown → HTML fragments for the pages: MathML for ``$math$``, bank images, cloze blanks.

The shared renderer turns Markdown into HTML whose text is escaped by the Markdown renderer itself
(raw HTML in items is refused by validation, rule IB215).  Where the fragment needs rework (math,
images, cloze blanks) it is done on an lxml tree and serialized by lxml, never by joining strings.
The result is handed to the templates as :class:`markupsafe.Markup`; everything else the
templates print is escaped by Jinja's autoescape.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from urllib.parse import quote

from lxml import etree
from markupsafe import Markup

from itembank.errors import ItembankError
from itembank.model import Blank, ClozeItem, opaque_placeholders
from itembank.render import Renderer, local_image, math_spans

from ..kit.blanks import place_blanks
from ..kit.escape import markup
from ..kit.mathml import converter, unescape_text

# The same LaTeX → MathML conversion as the QTI export (kit.mathml.converter: latex2mathml, imported
# when a formula is converted; without it math stays LaTeX).

MEDIA_DIR = "media"
#: Elements whose text is literal: a ``{{name}}`` there is shown, not turned into a blank.
_LITERAL = frozenset({"pre", "code", "math"})


def _literal(element: etree._Element) -> bool:
    """Whether a cloze placeholder in ``element`` stays literal text (code, math)."""
    return element.tag in _LITERAL


@lru_cache(maxsize=4096)
def _mathml(latex: str, display: bool) -> etree._Element | None:
    """MathML for one LaTeX text, namespace-free (the HTML parser puts <math> in the MathML namespace)."""
    convert = converter()
    if convert is None:
        return None
    try:
        root = etree.fromstring(convert(latex, display="block" if display else "inline").encode("utf-8"))
    except Exception:  # latex2mathml raises many types on bad LaTeX: keep the source, never crash
        return None
    unescape_text(root)
    for node in root.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(root)
    root.set("display", "block" if display else "inline")
    root.set("aria-label", latex)  # screen readers without MathML support read the LaTeX source
    return root


def _serialize_children(root: etree._Element) -> str:
    """The HTML of a ``<div>``'s content (the wrapper dropped), serialized by lxml."""
    out = etree.tostring(root, method="html", encoding="unicode")
    assert out.startswith("<div>") and out.endswith("</div>"), out[:20]
    return out[5:-6]


class HtmlText:
    """Renders item texts for the pages and records the bank images they use."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.media: set[str] = set()
        # The texts reworked (math, images), by their Markdown: the others are the renderer's HTML,
        # which the renderer keeps (a second copy of every text here was ~300 MB at 100,000 items).
        self._block: dict[str, Markup] = {}
        self._inline: dict[str, Markup] = {}
        self._cloze: dict[tuple[str, tuple[Blank, ...], str], tuple[Markup, frozenset[str]]] = {}

    # -- public ----------------------------------------------------------------------------------

    def block(self, text: str | None) -> Markup:
        """A Markdown text as HTML blocks."""
        if not text:
            return Markup("")
        out = self._block.get(text)
        if out is None:
            html, reworked = self._fix(text)
            out = markup(html)
            if reworked:  # kept (the renderer keeps its own HTML, or writes a plain sentence's anew)
                self._block[text] = out
        return out

    def inline(self, text: str | None) -> Markup:
        """A one-paragraph Markdown text without its ``<p>`` (options, pair prompts); blocks otherwise."""
        if not text:
            return Markup("")
        out = self._inline.get(text)
        if out is None:
            html, reworked = self._fix(text)
            if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
                html = html[3:-4]
            out = markup(html)
            if reworked:
                self._inline[text] = out
        return out

    def plain(self, text: str) -> str:
        return self.renderer.plain(text)

    def missing_blanks(self, item: ClozeItem, dom_id: str) -> list[str]:
        """The blanks of ``item`` that no input can take (their placeholders appear only in code)."""
        _markup, placed = self.cloze(item, dom_id)
        return [b.name for b in item.blanks if b.name not in placed]

    def cloze(self, item: ClozeItem, dom_id: str) -> tuple[Markup, set[str]]:
        """The cloze stem with each ``{{name}}`` replaced by its input or menu (blanks numbered 1..n),
        and the names of the blanks placed (a placeholder inside code stays literal text)."""
        key = (item.stem, item.blanks, dom_id)
        out = self._cloze.get(key)
        if out is None:
            out = self._cloze[key] = self._make_cloze(item, dom_id)
        return out[0], set(out[1])

    def _make_cloze(self, item: ClozeItem, dom_id: str) -> tuple[Markup, frozenset[str]]:
        placed: set[str] = set()
        # The placeholders as tokens Markdown cannot touch (a blank named _a_ is no emphasis).
        opaque = opaque_placeholders(item.stem)
        root = copy.copy(self.renderer.tree(opaque.text))  # lxml's __copy__ is a deep copy in C
        self._rework(root)
        numbers = {b.name: n for n, b in enumerate(item.blanks, 1)}

        def field(name: str) -> etree._Element:
            placed.add(name)
            return _blank_control(item.blank(name), numbers[name], dom_id)

        place_blanks(root, opaque, _literal, field)
        return Markup(_serialize_children(root)), frozenset(placed)

    # -- internals -------------------------------------------------------------------------------

    def _fix(self, text: str) -> tuple[str, bool]:
        """The text's HTML for the pages, and whether it was reworked (math, images) rather than
        the renderer's as it is.  (Not told by the string's identity: the renderer writes a plain
        sentence's HTML anew each time it is asked, :data:`itembank.render.PLAIN`.)"""
        html = self.renderer.html(text)
        if "<img" not in html and "math" not in html:
            return html, False  # the common case: the renderer's HTML as it is
        root = copy.copy(self.renderer.tree(text))
        self._rework(root)
        return _serialize_children(root), True

    def _rework(self, root: etree._Element) -> None:
        for span, latex, display in math_spans(root):
            math = _mathml(latex, display)
            if math is None:
                continue
            math = copy.copy(math)  # lxml copies the whole subtree in C
            math.tail = span.tail
            parent = span.getparent()
            assert parent is not None
            parent.replace(span, math)
        for img in root.iter("img"):
            src = img.get("src", "")
            ref = local_image(src)
            img.set("alt", img.get("alt") or "")
            img.set("loading", "lazy")
            if ref is None:
                continue  # a URL: the reader's browser fetches it (validation warns about remote images)
            if ref.startswith(("../", "/")) or ref == "..":
                raise ItembankError(f"image '{src}' points outside the bank")
            self.media.add(ref)
            img.set("src", f"{MEDIA_DIR}/{quote(ref)}")


def _blank_control(blank: Blank, number: int, dom_id: str) -> etree._Element:
    """``<input>`` or ``<select>`` for one blank, labelled "Blank N" for assistive technology."""
    attrs = {
        "class": "blank",
        "id": f"{dom_id}-b{number}",
        "data-blank": blank.name,
        "aria-label": f"Blank {number}",
    }
    if blank.kind == "choice":
        select = etree.Element("select", attrs)
        etree.SubElement(select, "option", value="").text = "—"
        for n, choice in enumerate(blank.choices, 1):
            etree.SubElement(select, "option", value=str(n)).text = choice
        return select
    attrs["type"] = "text"
    attrs["autocomplete"] = "off"
    attrs["spellcheck"] = "false"
    if blank.kind == "numeric":
        attrs["inputmode"] = "decimal"
        attrs["size"] = "8"
    else:
        attrs["size"] = str(max(8, min(30, max(len(a) for a in blank.answers) + 2)))
    return etree.Element("input", attrs)
