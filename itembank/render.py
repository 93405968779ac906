"""The shared text renderer: item Markdown → HTML, parsed once per build and shared by exporters.

CommonMark (plus tables, strikethrough and ``$math$``) is rendered by pyromark (pulldown-cmark,
Rust): ~3 µs for a typical stem, where pure-Python renderers take 50–500 µs — Markdown is most of
what a QTI exporter spends its time on.  Raw HTML is rejected by validation (rule IB215), so the
output is well-formed XHTML that lxml can parse and each exporter can re-serialize in its own
namespace and escaping.

Math comes out as ``<span class="math math-inline">LaTeX</span>`` (or ``math-display``); each
exporter decides how to show it (MathJax delimiters, MathML...).
"""

from __future__ import annotations

import copy
import html as _html
import posixpath
import re
from urllib.parse import unquote

import pyromark
from lxml import etree

_OPTIONS = pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
#: A Markdown text that renders as one paragraph holding the text itself: one line that starts with
#: a letter (no list, heading, quote or code block) and holds no character Markdown or HTML reads
#: (no emphasis, code, link, math, entity, tag, escape, table or strikethrough).  Most texts of a
#: bank are such sentences (4 of 5 texts of the generated bank): :meth:`Renderer.html` writes
#: their HTML without the Markdown parser and without keeping it, and the audit takes the text as
#: its one piece.  Exact: tested against the parser over generated texts of these characters.
PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,.;:?'()/%-]*\Z")
#: The Markdown dialect of the model (for a caller that renders a whole document without caching it).
MARKDOWN_OPTIONS = _OPTIONS
#: A rendered math span (its LaTeX is escaped text: no tags inside), an image, any tag.
_MATH_OR_IMAGE = re.compile(r'<span class="math[^"]*">[^<]*</span>|<img\b[^>]*>')
_ANY_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
#: How many parsed trees a renderer keeps (:meth:`Renderer.tree`), the latest asked for.
_TREES = 1024


class Renderer:
    """Caches every rendering of a text, so a build renders each text once whatever the exporter count."""

    def __init__(self, html: dict[str, str] | None = None, converted: dict[str, dict[str, str]] | None = None) -> None:
        #: ``html``: the HTML of texts rendered before, taken as this renderer's own and added to (a
        #: text's HTML depends on the text alone): a build's worker keeps it from export to export.
        self._html: dict[str, str] = {} if html is None else html
        #: What exporters made of texts ahead, for several exports of a build (``Exporter.prepares``):
        #: by a kind the exporter names, each text's conversion (a function of the text alone, as its
        #: HTML is).  Filled in a build's parent before it forks the workers, which inherit it.
        self.converted: dict[str, dict[str, str]] = {} if converted is None else converted
        self._tree: dict[str, etree._Element] = {}
        self._words: dict[str, list[str]] = {}
        self.renders = 0  # how many distinct texts were rendered (measured by tests)
        self.rendered_chars = 0  # the length of the HTML they rendered to

    def html(self, text: str) -> str:
        """The HTML (XHTML-compatible) of a Markdown text.  A :data:`PLAIN` text's is written as it
        is asked for, neither parsed nor kept (nor counted in :attr:`renders`): its paragraph is
        written in the time a lookup takes, and keeping it took most of the memory a build's workers
        held for their texts (at 100,000 items each export's renderer held ~370 MB)."""
        out = self._html.get(text)
        if out is None:
            if PLAIN.match(text):
                return f"<p>{text.rstrip()}</p>"
            self.renders += 1
            out = pyromark.html(text, options=_OPTIONS).strip()
            self.rendered_chars += len(out)
            self._html[text] = out
        return out

    def tree(self, text: str) -> etree._Element:
        """A ``<div>`` (no namespace) holding the rendered blocks.  Callers must not modify it: copy first."""
        out = self._tree.get(text)
        if out is None:
            try:
                out = etree.fromstring(f"<div>{self.html(text)}</div>", _PARSER)
            except etree.XMLSyntaxError:
                # Validation keeps such text out of exports; this keeps a library caller from crashing.
                out = etree.Element("div")
                etree.SubElement(out, "p").text = text
            if len(self._tree) >= _TREES:  # the oldest goes (most texts are asked for once: a tree of each would stay)
                del self._tree[next(iter(self._tree))]
            self._tree[text] = out
        return out

    def fragment(self, text: str) -> etree._Element:
        """A private copy of :meth:`tree`, safe to modify."""
        # lxml's __copy__ copies the whole subtree, as __deepcopy__ does, without copy.deepcopy's memo
        # bookkeeping (≈1/3 of the cost of a copy of a small fragment).
        return copy.copy(self.tree(text))

    def inline_html(self, text: str) -> str:
        """HTML of a one-paragraph text without the ``<p>`` wrapper (for options, pairs, titles)."""
        out = self.html(text)
        if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
            return out[3:-4]
        return out

    def visible_html(self, text: str) -> str:
        """The cached HTML of a text with its math and images left out (formats show those their own
        way: MathML, LaTeX, a file), each replaced by an empty tag ``<>`` so that the text on either
        side stays apart.  Regular expressions are exact here: rendered Markdown is well-formed, with
        no tag inside a math span and no ``<`` or ``>`` in an attribute."""
        html = self.html(text)
        if "<span class=\"math" in html or "<img" in html:
            html = _MATH_OR_IMAGE.sub("<>", html)
        return html

    def visible_text(self, text: str) -> str:
        """The text a reader sees of a Markdown text (:meth:`visible_html`), tags read as spaces."""
        visible = _ANY_TAG.sub(" ", self.visible_html(text))
        return _html.unescape(visible) if "&" in visible else visible

    def words(self, text: str) -> list[str]:
        """The words (casefolded) of :meth:`visible_text` (the export audit reads every text of
        every export this way)."""
        out = self._words.get(text)
        if out is None:
            out = _WORD.findall(self.visible_text(text).casefold())
            self._words[text] = out
        return out

    def one_line(self, text: str) -> str:
        """:meth:`plain` on one line (each run of white space one space), read off the HTML without
        parsing a tree: a tag is nothing (:meth:`plain` joins an element's texts as they are) and
        blocks are apart already (rendered Markdown ends every block with a line break).  The QTI
        manifest describes each item by its stem this way: parsing every stem again for it was
        ~3% of a QTI export."""
        html = self.html(text)
        flat = _ANY_TAG.sub("", html) if "<" in html else html
        words = (_html.unescape(flat) if "&" in flat else flat).split()
        return " ".join(words or text.split())

    def plain(self, text: str) -> str:
        """The text with Markdown markup removed, paragraphs separated by blank lines."""
        root = self.tree(text)
        blocks = ["".join(child.itertext()).strip() for child in root]  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here
        return "\n\n".join(b for b in blocks if b) or text.strip()


_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def literal(text: str) -> str:
    """Plain text (itembank.fields) as Markdown that renders to exactly that text, on one line.

    CommonMark lets a backslash escape any ASCII punctuation, so escaping all of it is always safe:
    ``<script>``, ``*``, ``[x](y)``, ``$x$``, ``&amp;`` stay literal.  Line breaks become spaces.
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def escape(text: str) -> str:
    """HTML-escape plain text (for exporters that build HTML strings for a CDATA field)."""
    return _html.escape(text, quote=True)


# --- helpers for exporters that rework a rendered tree ----------------------------------------


def math_spans(root: etree._Element) -> list[tuple[etree._Element, str, bool]]:
    """The math of a rendered tree, in document order: (span, LaTeX source, whether display math).

    A list, not a generator, so callers may replace the spans while going through it.
    """
    found = []
    for span in root.iter("span"):
        classes = (span.get("class") or "").split()
        if "math" in classes:
            found.append((span, "".join(span.itertext()), "math-display" in classes))  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here
    return found


_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def local_image(src: str) -> str | None:
    """The bank-relative file a rendered ``<img src>`` names, or None for a URL the reader fetches.

    The renderer percent-encodes ``src`` (``media/%C3%A9.png``); this decodes it, drops a query or
    fragment and normalises ``./`` and ``a/../``.  A result starting with ``../`` or ``/`` lies outside
    the bank (validation refuses those, rule IB212).
    """
    if not src or _REMOTE.match(src):
        return None
    path = unquote(src.split("#", 1)[0].split("?", 1)[0])
    return posixpath.normpath(path) if path else None


def replace_with_text(element: etree._Element, text: str = "") -> None:
    """Put ``text`` (and the element's tail) where the element was, and remove the element."""
    parent = element.getparent()
    if parent is None:
        return
    joined = text + (element.tail or "")
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(element)
