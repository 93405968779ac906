"""HTML fields (Moodle, Canvas, QTI item bodies) -> our Markdown.

``html_to_markdown(html) -> (markdown, notes)``: keeps paragraphs, emphasis, code (inline and
blocks), lists, tables, images, links; MathJax ``\\( \\)`` / ``\\[ \\]`` / ``$$`` and MathML become
``$...$`` / ``$$...$$``; what Markdown cannot hold (colours, underline, iframes, scripts...) is kept as
faithfully as possible and named in ``notes``.  ``src`` of images is passed through ``resolve_src`` so
the importer can map ``@@PLUGINFILE@@/x.png`` or a package path to ``media/<hash>.png``.

The converter is html-to-markdown (Rust, via its Python binding): on the HTML fields of
../shared/corpora it is ~5x faster than html2text and ~18x faster than markdownify, writes fenced code
blocks with their language and GFM tables (html2text writes indented code and loose tables), and
escapes every Markdown-significant character of the text (html2text leaves ``*a*`` text unescaped,
which then renders as emphasis).  Its escaping is thorough, so a second pass removes escapes that
change nothing -- checked by rendering both versions with our own renderer.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Callable

import html_to_markdown as _h2m
import pyromark
from lxml import etree
from lxml import html as lxml_html

from itembank.render import replace_with_text

ResolveSrc = Callable[[str], str | None]  # source src -> bank-relative path; None: keep as is; "": missing (dropped, noted)

_OPTIONS = _h2m.ConversionOptions(
    escape_asterisks=True,
    escape_underscores=True,
    escape_misc=True,
    extract_metadata=False,
    autolinks=False,
    heading_style="atx",
    bullets="-",
    code_block_style="backticks",
    newline_style="backslash",  # a visible "\" line break, not two trailing spaces that editors strip
)


def _converter() -> Callable[[str], str]:
    """The conversion function.  The library rebuilds its Rust options object from the Python one on
    every call (~0.25 ms, more than the conversion itself); build it once when the binding allows."""
    try:
        import html_to_markdown._html_to_markdown as rust
        from html_to_markdown.api import _to_rust_conversion_options

        prepared = _to_rust_conversion_options(_OPTIONS)

        def fast(html: str) -> str:
            return str(rust.convert(html=html, options=prepared, visitor=None).content)

        if fast("<p>a <b>b</b></p>") == _h2m.convert("<p>a <b>b</b></p>", _OPTIONS).content:
            return fast
    except Exception:  # noqa: BLE001 - a different binding version: the public API
        pass
    return lambda html: str(_h2m.convert(html, _OPTIONS).content)


_convert = _converter()
_RENDER = pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH

#: A field larger than this is not a question text (refused by the caller's BadInput).
MAX_HTML_CHARS = 5_000_000

_MATH_RE = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]|\$\$(.+?)\$\$", re.S)
#: Tokens stand for Markdown (math, ``\$``) through the converter: ``<prefix><n>X``, letters and digits
#: that it leaves alone, with a prefix that the field's text does not hold (:meth:`_Conv.__init__`).
_TOKEN_PREFIX = "IBTOK"
#: Text with none of these, and no list/heading/quote marker at its start, is the same in Markdown.
_NO_MARKUP = re.compile(r"[<>&*_`\[\]\\$#!|~{}\n\r\t]|^\s*(?:[-+>=]|\d+[.)])")
# the same test in two parts (a character class scans much faster alone): markup = either matches
_MARKUP_CHAR = re.compile(r"[<>&*_`\[\]\\$#!|~{}\n\r\t]")
_MARKUP_START = re.compile(r"\s*(?:[-+>=]|\d+[.)])")
_DROP = {"script", "style", "head", "title", "meta", "link", "noscript", "template", "button", "input", "select", "textarea", "form"}
_EMBED = {"iframe", "video", "audio", "object", "embed", "source"}
_FORMAT_ONLY = {"u", "font", "big", "small", "mark", "ins", "span", "center", "abbr", "acronym", "cite", "dfn", "kbd", "samp", "var", "tt"}
_SUP = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_STYLE_NOTE = re.compile(r"(?:^|;)\s*(color|background|font-size|font-family|text-decoration|text-align\s*:\s*(?:center|right|justify))", re.I)
# escapes html-to-markdown adds that often change nothing; removed when rendering proves it
_UNESCAPE = re.compile(r"\\([_.\-#+|~!()=:>&])")
_WORD_UNDERSCORE = re.compile(r"(?<=[A-Za-z0-9])\\_(?=[A-Za-z0-9])")  # a_b needs no escape


_HTML_PARSER = etree.HTMLParser()  # lxml.html's parser options, without its element-class lookup
_FULL_HTML = re.compile(r"^\s*<(?:html|!doctype)", re.I)


def fragment(html: str) -> etree._Element:
    """``lxml.html.fragment_fromstring(html, create_parent="div")`` with plain lxml elements: the same
    tree and serialisation at half the cost (lxml.html looks up a Python class for every element;
    an import parses ~25,000 fields).  Raises what it raises (``etree.ParserError``, ``ValueError``)."""
    if _FULL_HTML.match(html):  # a whole document: lxml.html's own handling
        return lxml_html.fragment_fromstring(html, create_parent="div")
    doc = etree.fromstring(f"<html><body>{html}</body></html>", _HTML_PARSER)
    if doc is None:
        raise etree.ParserError("Document is empty")
    bodies = [e for e in doc if e.tag == "body"]
    if len(bodies) != 1:  # cannot happen for a body-wrapped fragment; lxml.html asserts it
        return lxml_html.fragment_fromstring(html, create_parent="div")
    body = bodies[0]
    root = etree.Element("div")
    if body.text and body.text.strip():
        root.text = body.text
    root.extend(body)
    return root


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


class _Conv:
    def __init__(self, resolve_src: ResolveSrc | None, source: str = "") -> None:
        self.resolve_src = resolve_src
        self.tokens: list[str] = []
        self.notes: list[str] = []
        # A prefix found nowhere in the field (as written or with its references decoded): the
        # field's own text can never be read as a token.
        seen = source + "\n" + html_module.unescape(source) if "&" in source else source
        self.prefix = _TOKEN_PREFIX
        while self.prefix in seen:
            self.prefix += "Q"
        self.token_re = re.compile(re.escape(self.prefix) + r"(\d+)X")

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def token(self, markdown: str) -> str:
        self.tokens.append(markdown)
        return f"{self.prefix}{len(self.tokens) - 1}X"

    def math(self, latex: str, display: bool) -> str:
        latex = latex.strip()
        if not latex:
            return ""
        return self.token(f"$${latex}$$" if display else f"${latex}$")

    def text(self, s: str | None) -> str | None:
        """Math delimiters -> tokens, literal ``$`` -> ``\\$`` token."""
        if not s or ("$" not in s and "\\" not in s):
            return s
        out: list[str] = []
        pos = 0
        for m in _MATH_RE.finditer(s):
            out.append(self._dollars(s[pos : m.start()]))
            if m.group(1) is not None:
                out.append(self.math(m.group(1), False))
            else:
                out.append(self.math(m.group(2) if m.group(2) is not None else m.group(3), True))
            pos = m.end()
        out.append(self._dollars(s[pos:]))
        return "".join(out)

    def _dollars(self, s: str) -> str:
        if "$" not in s:
            return s
        tok = self.token("\\$")
        return s.replace("$", tok)

    def walk(self, el: etree._Element, in_code: bool = False) -> None:
        for child in list(el):
            tag = _local(child.tag)
            if not isinstance(child.tag, str):  # comment, processing instruction
                tail = child.tail
                parent = child.getparent()
                if parent is not None:
                    _drop_keep_tail(child, tail)
                continue
            if tag == "math":
                self._mathml(child)
                continue
            if tag == "script" and "math/tex" in (child.get("type") or ""):
                replace_with_text(child, self.math(child.text or "", "mode=display" in (child.get("type") or "")))
                continue
            if tag in _DROP:
                self.note(f"<{tag}> content dropped (Markdown cannot hold it)")
                _drop_keep_tail(child, child.tail)
                continue
            if tag in _EMBED:
                src = child.get("src") or child.get("data") or ""
                if not src:
                    for s in child.iter("source"):
                        src = s.get("src") or ""
                        if src:
                            break
                if src and self.resolve_src is not None:
                    src = self.resolve_src(src) or src
                self.note(f"embedded <{tag}> kept as a link" if src else f"embedded <{tag}> without a source dropped")
                if src:
                    a = etree.Element("a", href=src)
                    a.text = child.get("title") or f"{tag}: {src.rsplit('/', 1)[-1]}"
                    a.tail = child.tail
                    child.getparent().replace(child, a)  # type: ignore[union-attr]
                else:
                    _drop_keep_tail(child, child.tail)
                continue
            if tag == "img":
                src = child.get("src") or ""
                if self.resolve_src is not None and src:
                    new = self.resolve_src(src)
                    if new == "":  # the file is not there: keep the description, say so
                        alt = child.get("alt") or ""
                        self.note(f"image {src!r} is not in the source; kept its description only" if alt else f"image {src!r} is not in the source; dropped")
                        replace_with_text(child, (self.text(f"[{alt}]") or "") if alt else "")
                        continue
                    if new is not None:
                        child.set("src", new)
                for attr in ("width", "height", "style", "class"):
                    if child.get(attr) is not None:
                        del child.attrib[attr]
                child.tail = None if child.tail is None or in_code else self.text(child.tail)
                continue
            if tag in ("sup", "sub") and not in_code:
                content = "".join(str(t) for t in child.itertext())
                table = _SUP if tag == "sup" else _SUB
                mapped = content.translate(table)
                if content and all(c in "0123456789+-=()" + ("n" if tag == "sup" else "") for c in content):
                    replace_with_text(child, mapped)
                else:
                    mark = "^" if tag == "sup" else "_"
                    replace_with_text(child, self.math(f"{{}}{mark}{{\\text{{{content}}}}}", False) if content.strip() else "")
                    self.note(f"<{tag}> text kept as math")
                continue
            if tag == "a" and self.resolve_src is not None and child.get("href"):
                new = self.resolve_src(child.get("href") or "")
                if new:
                    child.set("href", new)
            style = child.get("style") or ""
            if style and _STYLE_NOTE.search(style):
                self.note("text formatting (colour, size, alignment, underline) dropped")
            if tag in ("u", "font", "mark", "center", "big", "small"):
                self.note("text formatting (colour, size, alignment, underline) dropped")
            code = in_code or tag in ("code", "pre", "kbd", "samp", "tt")
            if not code:
                child.text = self.text(child.text)
            self.walk(child, code)
            if tag in _FORMAT_ONLY and tag not in ("kbd", "samp", "tt"):
                child.tag = "span"  # the converter keeps span content as text
            if not in_code:
                child.tail = self.text(child.tail)

    def _mathml(self, el: etree._Element) -> None:
        display = (el.get("display") or "").lower() == "block"
        try:
            from .mathml import mathml_to_latex  # written for the QTI importers

            latex = mathml_to_latex(el)
        except Exception as exc:  # ImportError until it exists, ValueError for unsupported MathML
            latex = ""
            alt = el.get("alttext") or ""
            for ann in el.iter():
                if _local(ann.tag) == "annotation" and "tex" in (ann.get("encoding") or "").lower():
                    latex = (ann.text or "").strip()
                    break
            if not latex:
                latex = alt.strip()
            if not latex:
                text = "".join(str(t) for t in el.itertext()).strip()
                self.note(f"MathML kept as its text only ({type(exc).__name__}: {exc})")
                replace_with_text(el, text)
                return
        replace_with_text(el, self.math(latex, display))


def _drop_keep_tail(el: etree._Element, tail: str | None) -> None:
    el.tail = tail
    replace_with_text(el, "")


_SIMPLE_TAGS = frozenset("p br strong b em i code pre ul ol li blockquote h1 h2 h3 h4 h5 h6 table thead tbody tr th td hr s del strike".split())
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)([^>]*)>|<[!?]")
_SAFE_ATTRS = re.compile(r'^(?:\s+href="https?://[^"]*"|\s+class="language-[A-Za-z0-9_+-]*")?\s*/?$')


def _simple(html: str) -> bool:
    """HTML the converter can take as it is: only plain structural tags (a link to a web page, a code
    language class), no math delimiters, no ``$``, no comments."""
    if "$" in html or "\\" in html:
        return False
    if "&" in html and any(c in html_module.unescape(html) for c in "$\\"):  # &#92;( is \( as much as \( is (Moodle's cloze feedback)
        return False
    for m in _TAG_RE.finditer(html):
        if m.group(2) is None:
            return False
        tag = m.group(2).lower()
        if tag not in _SIMPLE_TAGS and tag != "a":
            return False
        if m.group(3) and not _SAFE_ATTRS.match(m.group(3)):
            return False
    return True


def _render(md: str) -> str:
    return pyromark.html(md, options=_RENDER)


def _tidy(md: str) -> str:
    if "\n\n\n" not in md and " \n" not in md and "\t\n" not in md:
        return md.strip()
    md = re.sub(r"[ \t]+\n", lambda m: m.group(0) if m.group(0).startswith("  ") else "\n", md)
    md = re.sub(r"\n{3,}", "\n\n", md)
    return md.strip()


def html_to_markdown(html: str, resolve_src: ResolveSrc | None = None) -> tuple[str, list[str]]:
    """Convert an HTML field to Markdown; return it with notes on anything simplified."""
    if not html or not html.strip():
        return "", []
    if len(html) > MAX_HTML_CHARS:
        raise ValueError(f"text field of {len(html):,} characters (limit {MAX_HTML_CHARS:,})")
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<") == 2:  # one paragraph: the commonest field
        words = _word_paragraph(html[3:-4])
        if words is not None:
            return words, []
    if not (_MARKUP_CHAR.search(html) or _MARKUP_START.match(html)):  # i.e. not _NO_MARKUP.search(html)
        return " ".join(html.split()), []  # plain words: nothing to convert or escape
    words = _word_paragraphs(html)
    if words is not None:
        return words, []
    return _converted(html, resolve_src)


_WORD_PARAS = re.compile(r"(?:\s*<p>[^<>]*</p>)+\s*")
_PARA_TEXT = re.compile(r"<p>([^<>]*)</p>")


def _word_paragraphs(html: str) -> str | None:
    """``<p>words</p>...``, the most common field of all (plain sentences in paragraphs), without the
    converter: each paragraph's words, paragraphs a blank line apart -- what the converter gives, as
    tests/test_import_html_fast.py checks on generated texts.  None for anything else."""
    if not _WORD_PARAS.fullmatch(html):
        return None
    texts = [_word_paragraph(t) for t in _PARA_TEXT.findall(html)]
    if None in texts:
        return None
    return "\n\n".join(texts)  # type: ignore[arg-type]


def _word_paragraph(text: str) -> str | None:
    """One paragraph's text (between ``<p>`` and ``</p>``, no ``<``) as Markdown when it is plain words, else None."""
    if not text.strip() or _MARKUP_CHAR.search(text) or _MARKUP_START.match(text) or not text.isprintable():
        return None
    return " ".join(text.split())


def _converted(html: str, resolve_src: ResolveSrc | None) -> tuple[str, list[str]]:
    """The general path: math and media reworked in lxml, then the converter, then needless escapes removed."""
    conv = _Conv(resolve_src, html)
    if _simple(html):
        md = _convert(html)  # nothing to rework: no math, no $, no media, no formatting to drop
    else:
        try:
            root = fragment(html)
        except (etree.ParserError, ValueError):
            return text_to_markdown(html), ["text could not be read as HTML; kept as plain text"]
        root.text = conv.text(root.text)
        conv.walk(root)
        inner = etree.tostring(root, encoding="unicode", method="html")
        md = _convert(inner)
    full = conv.token_re.sub(lambda m: conv.tokens[int(m.group(1))], md)
    full = _tidy(full)
    light = _UNESCAPE.sub(r"\1", md)
    light = _WORD_UNDERSCORE.sub("_", light)
    if light != md:
        light_full = _tidy(conv.token_re.sub(lambda m: conv.tokens[int(m.group(1))], light))
        if _render(light_full) == _render(full):
            full = light_full
    return full, conv.notes


def text_to_markdown(text: str) -> str:
    """Plain text (GIFT [plain], Aiken) -> Markdown that renders as the same text (``*`` ``_`` ``<`` escaped, lines kept)."""
    if not text.strip():
        return ""
    if not _NO_MARKUP.search(text):
        return text.strip()
    div = etree.Element("div")
    for para in re.split(r"\n\s*\n", text.strip()):
        p = etree.SubElement(div, "p")
        lines = para.split("\n")
        p.text = lines[0]
        for line in lines[1:]:
            etree.SubElement(p, "br").tail = line
    inner = etree.tostring(div, encoding="unicode", method="html")
    md = _convert(inner)
    # $ is math in our Markdown; plain text never means math
    md = md.replace("$", "\\$")
    light = _UNESCAPE.sub(r"\1", md)
    light = _WORD_UNDERSCORE.sub("_", light)
    if _render(light) == _render(md):
        md = light
    return _tidy(md)
