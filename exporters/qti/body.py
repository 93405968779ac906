"""Rendered Markdown -> QTI-namespace XHTML for one item (media rewritten, math as MathML)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote

from lxml import etree

from itembank.errors import ItembankError
from itembank.render import Renderer, local_image, replace_with_text

from .profiles import Profile

try:  # MathML for $math$; without the package, math stays LaTeX in a span (documented in docs/qti.md)
    from latex2mathml.converter import convert as latex_to_mathml
except ImportError:  # pragma: no cover - exercised only where latex2mathml is missing
    latex_to_mathml = None  # type: ignore[assignment]
# --- Markdown -> QTI XHTML --------------------------------------------------------------------

#: XHTML elements QTI 2.1 and 3.0 both allow in item bodies, with the attributes we keep.
_ALLOWED: dict[str, frozenset[str]] = {
    **{t: frozenset() for t in (
        "p", "div", "span", "em", "strong", "code", "pre", "blockquote", "br", "hr", "sub", "sup",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "kbd", "var", "samp", "abbr", "cite",
        "q", "dfn", "b", "i", "small", "big", "tt", "address", "dl", "dt", "dd",
        "table", "caption", "thead", "tbody", "tfoot", "tr",
    )},
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "a": frozenset({"href"}),
}
_RENAMED = {"del": "span", "s": "span", "strike": "span", "ins": "span", "u": "span", "mark": "span", "input": None}


@dataclass
class ItemAssets:
    """What building one item collected: media it references and interaction types it used."""

    media: set[str] = field(default_factory=set)
    interactions: list[str] = field(default_factory=list)


class BodyWriter:
    """Turns rendered Markdown into QTI-namespace XHTML for one item (media rewritten, math converted)."""

    def __init__(self, profile: Profile, renderer: Renderer, assets: ItemAssets, depth: int = 1) -> None:
        self.p = profile
        self.renderer = renderer
        self.assets = assets
        self.up = "../" * depth  # item files live in items/, media paths are relative to the root

    def blocks(self, text: str) -> list[etree._Element]:
        """The text's block elements, converted; append them where blocks are allowed."""
        root = _fresh_tree(self.renderer, text)
        self._convert(root)
        return list(root)

    def into(self, parent: etree._Element, text: str) -> None:
        for block in self.blocks(text):
            parent.append(block)

    def inline_into(self, parent: etree._Element, text: str) -> None:
        """Inline content of a one-paragraph text (the ``<p>`` unwrapped), for choices and pairs."""
        blocks = self.blocks(text)
        if len(blocks) == 1 and etree.QName(blocks[0]).localname == "p":
            only = blocks[0]
            parent.text = (parent.text or "") + (only.text or "")
            for child in list(only):
                parent.append(child)
        else:
            for block in blocks:
                parent.append(block)

    def plain(self, text: str) -> str:
        return self.renderer.plain(text)

    def _convert(self, root: etree._Element) -> None:
        html = self.p.html
        for node in list(root.iter()):
            name = node.tag
            if node is root or not isinstance(name, str):
                continue
            if name[0] == "{":
                continue  # already converted (MathML)
            if name in _RENAMED:
                replacement = _RENAMED[name]
                if replacement is None:
                    replace_with_text(node)
                    continue
                node.set("class", f"md-{name}")
                name = replacement
            elif name not in _ALLOWED:
                name = "span"
            allowed = _ALLOWED.get(name, frozenset())
            for attr in list(node.attrib):
                if attr == "class" and node.get("class"):
                    continue
                if attr not in allowed:
                    del node.attrib[attr]
            if name == "img":
                node.set("alt", node.get("alt") or "")  # required by QTI
                self._media(node)
            if name == "span" and "math" in (node.get("class") or "").split():
                if self._math(node):
                    continue
            node.tag = html(name)

    def _media(self, img: etree._Element) -> None:
        src = img.get("src", "")
        ref = local_image(src)
        if ref is None:
            return
        if ref.startswith(("../", "/")) or ref == "..":
            raise ItembankError(f"image '{src}' points outside the bank")
        self.assets.media.add(ref)
        img.set("src", self.up + quote(ref))

    def _math(self, span: etree._Element) -> bool:
        """Replace a math span by MathML; False (keep the span with its LaTeX) if conversion fails."""
        if latex_to_mathml is None:
            return False
        latex = "".join(span.itertext())  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here
        display = "block" if "math-display" in (span.get("class") or "") else "inline"
        converted = _mathml(latex, display)
        if converted is None:
            return False
        math = copy.copy(converted)
        math.tail = span.tail
        parent = span.getparent()
        if parent is None:
            return False
        parent.replace(span, math)
        return True


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _fresh_tree(renderer: Renderer, text: str) -> etree._Element:
    """A ``<div>`` of the rendered text that nobody else holds, parsed from the renderer's cached HTML.

    Not ``renderer.fragment``: that keeps a tree of every text in the renderer for the whole build
    (most of a QTI export's memory, for texts nearly all used once) and then copies it.
    """
    try:
        return etree.fromstring(f"<div>{renderer.html(text)}</div>", _PARSER)
    except etree.XMLSyntaxError:  # raw HTML that validation refuses: the renderer's fallback
        return renderer.fragment(text)


@lru_cache(maxsize=4096)
def _mathml(latex: str, display: str) -> etree._Element | None:
    """The MathML of a LaTeX formula (MathML 2 attributes only), or None if it does not convert.

    Cached: converting is ≈2.5 ms a formula (latex2mathml is pure Python, a third of a QTI export
    without the cache), and banks repeat formulas ($O(n^2)$, $p < 0.05$).  Callers get a copy.
    """
    try:
        math = etree.fromstring(latex_to_mathml(latex, display=display).encode("utf-8"))
    except Exception:  # latex2mathml raises many types on bad LaTeX: keep the source, never crash
        return None
    _strip_mathml_attrs(math)
    return math


def _strip_mathml_attrs(math: etree._Element) -> None:
    """Drop attributes outside MathML 2 (QTI 2.1 validates MathML against the MathML 2 schema)."""
    for node in math.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in list(node.attrib):
            if attr not in ("display", "mathvariant", "stretchy", "fence", "separator", "accent", "movablelimits",
                            "columnalign", "rowspacing", "columnspacing", "lspace", "rspace", "form", "width"):
                del node.attrib[attr]

