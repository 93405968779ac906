"""Rendered Markdown -> QTI-namespace XHTML for one item (media rewritten, math as MathML)."""

from __future__ import annotations

import copy
import re

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote

from lxml import etree

from itembank.errors import ItembankError
from itembank.render import Renderer, local_image, replace_with_text

from ..kit.mathml import converter, unescape_text
from .profiles import Profile

# MathML for $math$ by latex2mathml (kit.mathml.converter: imported when a formula is converted);
# without the package, math stays LaTeX in a span (documented in docs/qti.md).
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
#: Tags (as the renderer writes them) that stay exactly as they are in QTI: allowed, no attributes.
_KEPT_AS_IS = frozenset(
    form for t, attrs in _ALLOWED.items() if not attrs for form in (f"<{t}>", f"</{t}>", f"<{t} />")
)
_KEPT_NAMES = "|".join(t for t, attrs in _ALLOWED.items() if not attrs)
#: A tag (rendered Markdown escapes every other ``<``) that is not one of :data:`_KEPT_AS_IS`.
_NOT_KEPT = re.compile(f"<(?!/?(?:{_KEPT_NAMES})>|(?:{_KEPT_NAMES}) />)")


def _only_kept_tags(html: str) -> bool:
    """Whether every tag of ``html`` is one of :data:`_KEPT_AS_IS` (one search, where listing the
    tags and looking each up took twice as long: this runs on every text of every item)."""
    return _NOT_KEPT.search(html) is None
#: What parse_ahead puts between texts (its namespace is nobody's: no rendered text can hold it).
_SPLIT_NS = "urn:itembank:qti:split"
_SPLIT_TAG = f"{{{_SPLIT_NS}}}split"
_SPLIT = f'<split xmlns="{_SPLIT_NS}"/>'
_RENAMED = {"del": "span", "s": "span", "strike": "span", "ins": "span", "u": "span", "mark": "span", "input": None}


@dataclass
class ItemAssets:
    """What building one item collected: media it references and interaction types it used."""

    media: set[str] = field(default_factory=set)
    interactions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the item lost or changed to fit the format


class BodyWriter:
    """Turns rendered Markdown into QTI-namespace XHTML for one item (media rewritten, math converted)."""

    def __init__(self, profile: Profile, renderer: Renderer, assets: ItemAssets, depth: int = 1) -> None:
        self.p = profile
        self.renderer = renderer
        self.assets = assets
        self.up = "../" * depth  # item files live in items/, media paths are relative to the root
        self._ready: dict[str, list[etree._Element]] = {}  # blocks parsed ahead by parse_ahead, used once

    def parse_ahead(self, texts: Iterable[str]) -> None:
        """Parse the plain texts among ``texts`` (see :meth:`blocks`) in one go, for :meth:`blocks` to use.

        One parse per item instead of one per text (a parse costs ~2 us before its first element).
        The texts are parsed side by side, split by an element of a namespace of its own that no text
        holds; when every split lands between the texts' top-level elements, each text's share is
        exactly what parsing it alone gives.  Otherwise (or on a syntax error) nothing is kept and
        each text is parsed alone, as before.
        """
        wanted: list[str] = []
        htmls: list[str] = []
        for text in dict.fromkeys(texts):
            html = self.renderer.html(text)
            if text not in self._ready and _only_kept_tags(html):
                wanted.append(text)
                htmls.append(html)
        if len(wanted) < 2:
            return
        try:
            root = etree.fromstring(f'<div xmlns="{self.p.ns}">{_SPLIT.join(htmls)}</div>', _PARSER)
        except etree.XMLSyntaxError:
            return
        splits = root.findall(_SPLIT_TAG)  # the top-level ones only
        if len(splits) != len(wanted) - 1:
            return
        nodes = list(root)
        cuts = [-1, *(root.index(split) for split in splits), len(nodes)]
        self._ready.update((text, nodes[a + 1 : b]) for text, a, b in zip(wanted, cuts, cuts[1:]))

    def blocks(self, text: str) -> list[etree._Element]:
        """The text's block elements, converted; append them where blocks are allowed."""
        ready = self._ready.pop(text, None)
        if ready is not None:
            return ready
        html = self.renderer.html(text)
        if _only_kept_tags(html):
            # Only tags QTI keeps as they are (no attribute, no math, no image: most texts): parsed
            # straight into the QTI namespace, with nothing to convert.
            try:
                return list(etree.fromstring(f'<div xmlns="{self.p.ns}">{html}</div>', _PARSER))
            except etree.XMLSyntaxError:
                pass
        root = _fresh_tree(self.renderer, text)
        self._convert(root)
        return list(root)

    def into(self, parent: etree._Element, text: str) -> None:
        for block in self.blocks(text):
            parent.append(block)

    def inline_into(self, parent: etree._Element, text: str) -> None:
        """Inline content of a one-paragraph text (the ``<p>`` unwrapped), for choices and pairs.

        A choice is clicked or dragged as a whole: a link inside it would take the candidate away
        from the test, so a link becomes its text and its address in brackets (nothing lost; noted).
        """
        blocks = self.blocks(text)
        for block in blocks:
            for link in list(block.iter(self.p.html("a"))):  # converted links are in the QTI namespace
                href, label = link.get("href", ""), "".join(link.itertext())  # type: ignore[arg-type]
                link.tag = self.p.html("span")
                link.attrib.clear()
                if href and href != label:
                    tail = etree.SubElement(link, self.p.html("span"))
                    tail.text = f" ({href})"
                self.assets.notes.append(f"a link in a choice is written as its text and address ({href}): a click on the choice must not leave the test")
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
        if converter() is None:
            return False
        latex = "".join(span.itertext())  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here
        display = "block" if "math-display" in (span.get("class") or "") else "inline"
        converted = _mathml(latex, display)
        if converted is None:
            return False
        math = copy.copy(converted)
        for note in fit_mathml(math, self.p.key):
            self.assets.notes.append(f"${latex}$: {note}")
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
    convert = converter()
    assert convert is not None  # (_math asked first)
    try:
        math = etree.fromstring(convert(latex, display=display).encode("utf-8"))
    except Exception:  # latex2mathml raises many types on bad LaTeX: keep the source, never crash
        return None
    _strip_mathml_attrs(math)
    unescape_text(math)
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



#: MathML 3's negative named spaces (LaTeX ``\!`` is ``negativethinmathspace``), which MathML 2 (the
#: QTI 2.1 schema) does not name: the same widths in em (MathML 3, section 2.1.5.2).
_NEGATIVE_SPACES = {
    "negativeveryverythinmathspace": "-0.0556em",
    "negativeverythinmathspace": "-0.1111em",
    "negativethinmathspace": "-0.1667em",
    "negativemediummathspace": "-0.2222em",
    "negativethickmathspace": "-0.2778em",
    "negativeverythickmathspace": "-0.3333em",
    "negativeveryverythickmathspace": "-0.3889em",
}
_MATHML2_NAMED = {name[len("negative"):] for name in _NEGATIVE_SPACES}
#: MathML 2 lengths: a number with a unit, or 0 (the schema's length-with-unit).
_MATHML2_LENGTH = re.compile(r"^-?([0-9]+|[0-9]*\.[0-9]+)(em|ex|px|in|cm|mm|pt|pc|%)$|^0$")
_MATHML3_LENGTH = re.compile(r"^\s*((-?[0-9]*([0-9]\.?|\.[0-9])[0-9]*(e[mx]|in|cm|mm|p[xtc]|%)?)|(negative)?((very){0,2}thi(n|ck)|medium)mathspace)\s*$")
_LENGTH_ATTRS = ("width", "lspace", "rspace", "height", "depth")


def fit_mathml(math: etree._Element, schema_key: str) -> list[str]:
    """Make converted MathML valid for the profile's MathML schema; say what changed, if anything lost.

    QTI 2.1 validates math against MathML 2, QTI 3.0 against MathML 3: a MathML 3 length name MathML 2
    lacks is mapped to the same width in em (nothing lost, no note); a length neither can read is
    dropped (the default spacing), with a note.
    """
    notes: list[str] = []
    mathml2 = schema_key == "qti21"
    for node in math.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in _LENGTH_ATTRS:
            value = node.get(attr)
            if value is None:
                continue
            if etree.QName(node).localname == "mspace" and attr == "width" and value.strip() in _MATHML2_NAMED | set(_NEGATIVE_SPACES):
                if mathml2 and value.strip() in _NEGATIVE_SPACES:
                    node.set(attr, _NEGATIVE_SPACES[value.strip()])
                continue
            if (_MATHML2_LENGTH if mathml2 else _MATHML3_LENGTH).match(value):
                continue
            del node.attrib[attr]
            notes.append(f"MathML {'2' if mathml2 else '3'} cannot hold {attr}={value!r} on <{etree.QName(node).localname}>; default spacing used")
    return notes
