"""MathML -> LaTeX, for the ``$...$`` math of imported item text (QTI 2.x/3.0 bodies carry MathML).

Presentation MathML is a tree of tokens (``mi``, ``mn``, ``mo``, ``mtext``) and layouts (``mfrac``,
``msup``, ``msqrt``...); each maps to one LaTeX construct.  A ``<semantics>`` element with a TeX
annotation (what MathJax and many editors write) gives the author's own LaTeX, used as is.
Unicode operators and letters are mapped back to LaTeX commands through the symbol table of
latex2mathml (the library our QTI exporter uses for the opposite direction), so ``∑`` is ``\\sum``
and ``α`` is ``\\alpha`` again.  Unknown elements keep their text content; the caller is told
(``MathResult.unknown``) so it can note the simplification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from lxml import etree

__all__ = ["MathResult", "convert_mathml", "mathml_to_latex", "is_mathml"]

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

_FUNCTIONS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "lim", "max", "min", "sup", "inf",
    "det", "dim", "gcd", "arg", "deg", "ker", "Pr", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan",
    "lg", "hom", "liminf", "limsup",
}
#: Characters that stand for themselves in LaTeX math (no command needed).
_PLAIN = set("+-=<>()[]/|!?.,;:'*0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
_ESCAPE = {"{": r"\{", "}": r"\}", "%": r"\%", "#": r"\#", "&": r"\&", "_": r"\_", "$": r"\$", "\\": r"\backslash"}
_PREFERRED = {
    "\u2212": "-", "\u00b7": r"\cdot", "\u22c5": r"\cdot", "\u00d7": r"\times", "\u2264": r"\leq", "\u2265": r"\geq",
    "\u2260": r"\neq", "\u2192": r"\to", "\u2026": r"\ldots", "\u22ef": r"\cdots", "\u2032": "'", "\u2061": "",
    "\u2062": "", "\u2063": "", "\u00a0": "~", "\u2205": r"\emptyset", "\u221e": r"\infty", "\u2202": r"\partial",
}
_ACCENTS = {"^": r"\hat", "\u02c6": r"\hat", "\u00af": r"\bar", "\u203e": r"\overline", "~": r"\tilde", "\u02dc": r"\tilde",
            "\u2192": r"\vec", "\u20d7": r"\vec", ".": r"\dot", "\u02d9": r"\dot", "\u00a8": r"\ddot", "\u23de": r"\overbrace",
            "\u23df": r"\underbrace", "_": r"\underline", "\u0332": r"\underline"}
_BIG_OPS = {"\u2211", "\u220f", "\u222b", "\u222c", "\u222d", "\u222e", "\u22c3", "\u22c2", "\u2a01", "\u2a02"}
_VARIANTS = {"bold": r"\mathbf", "double-struck": r"\mathbb", "script": r"\mathcal", "fraktur": r"\mathfrak",
             "sans-serif": r"\mathsf", "monospace": r"\mathtt", "normal": r"\mathrm", "italic": ""}


@dataclass
class MathResult:
    latex: str
    display: bool
    unknown: list[str] = field(default_factory=list)  # element names converted by their text only


@cache
def _symbols() -> dict[str, str]:
    """Unicode character -> LaTeX command, from latex2mathml's unimathsymbols table (first command wins)."""
    table: dict[str, str] = {}
    try:
        text = resources.files("latex2mathml").joinpath("unimathsymbols.txt").read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):  # pragma: no cover - latex2mathml is a runtime dependency
        return table
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        cols = line.split("^")
        if len(cols) < 4:
            continue
        try:
            char = chr(int(cols[0], 16))
        except ValueError:
            continue
        command = cols[2] or cols[3]
        if command.startswith("\\") and char not in table:
            table[char] = command
    return table


def _itext(el: etree._Element) -> str:
    return "".join(t for t in el.itertext() if isinstance(t, str))


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def is_mathml(el: etree._Element) -> bool:
    return isinstance(el.tag, str) and _local(el) == "math" and etree.QName(el).namespace in (MATHML_NS, None)


def _char(c: str) -> str:
    if c in _PLAIN:
        return c
    if c in _ESCAPE:
        return _ESCAPE[c]
    if c in _PREFERRED:
        return _PREFERRED[c]
    cmd = _symbols().get(c)
    if cmd:
        return cmd + " "
    return c  # a character MathJax shows as itself


def _text(s: str) -> str:
    out = "".join(_char(c) for c in s)
    return re.sub(r"\s+", " ", out)


def _group(s: str) -> str:
    s = s.strip()
    if len(s) == 1 or re.fullmatch(r"\\[A-Za-z]+", s):
        return s
    return "{" + s + "}"


class _Converter:
    def __init__(self) -> None:
        self.unknown: list[str] = []

    def children(self, el: etree._Element) -> list[etree._Element]:
        return [c for c in el if isinstance(c.tag, str)]

    def row(self, el: etree._Element) -> str:
        parts = [self.conv(c) for c in self.children(el)]
        out = ""
        for p in parts:
            if out and p and (re.search(r"\\[A-Za-z]+$", out) or (out[-1].isalnum() and not out.endswith("}"))) and p[0].isalnum():
                out += " "
            out += p
        return out

    def conv(self, el: etree._Element) -> str:
        name = _local(el)
        method = getattr(self, f"_{name}", None)
        if method is not None:
            return method(el)
        if name not in ("math",):
            self.unknown.append(name)
        return self.row(el) if self.children(el) else _text(_itext(el))

    # tokens
    def _mi(self, el: etree._Element) -> str:
        text = _itext(el).strip()
        variant = el.get("mathvariant")
        if len(text) > 1 and text in _FUNCTIONS:
            return "\\" + text
        if len(text) == 1 and ord(text) >= 0x1D400:  # mathematical alphanumeric symbols (bold x = U+1D431)
            return self._styled(text)
        body = _text(text)
        if variant in _VARIANTS and _VARIANTS[variant] and (len(text) == 1 or variant != "italic"):
            return f"{_VARIANTS[variant]}{{{body}}}"
        if len(text) > 1:
            return f"\\mathrm{{{body}}}"
        return body

    def _styled(self, char: str) -> str:
        import unicodedata

        name = unicodedata.name(char, "")
        m = re.match(r"MATHEMATICAL (BOLD |DOUBLE-STRUCK |SCRIPT |FRAKTUR |SANS-SERIF |MONOSPACE |ITALIC )?.*?(CAPITAL|SMALL) (\w+)$", name)
        if not m:
            return _char(char)
        letter = m.group(3)
        base = letter if m.group(2) == "CAPITAL" else letter.lower()
        if len(base) > 1:  # a Greek letter spelled out: BOLD SMALL ALPHA
            base = "\\" + (letter.capitalize() if m.group(2) == "CAPITAL" else letter.lower())
        style = (m.group(1) or "").strip().lower()
        cmd = {"bold": r"\mathbf", "double-struck": r"\mathbb", "script": r"\mathcal", "fraktur": r"\mathfrak",
               "sans-serif": r"\mathsf", "monospace": r"\mathtt"}.get(style, "")
        return f"{cmd}{{{base}}}" if cmd else base

    def _mn(self, el: etree._Element) -> str:
        return _text(_itext(el).strip())

    def _mo(self, el: etree._Element) -> str:
        text = _itext(el).strip()
        if el.get("fence") == "true" and el.get("stretchy") == "true":
            cmd = r"\left" if el.get("form") == "prefix" else r"\right"
            return f"{cmd}{_char(text) if text else '.'}"
        if len(text) > 1 and text in _FUNCTIONS:
            return "\\" + text
        return _text(text)

    def _mtext(self, el: etree._Element) -> str:
        text = _itext(el).replace("\u00a0", " ")
        if not text.strip():
            return "~" if text else ""
        return "\\text{" + text.replace("\\", "\\textbackslash ").replace("{", "\\{").replace("}", "\\}") + "}"

    def _ms(self, el: etree._Element) -> str:
        return self._mtext(el)

    def _mspace(self, el: etree._Element) -> str:
        width = el.get("width", "")
        return {"0.167em": r"\,", "0.222em": r"\:", "0.278em": r"\;", "1em": r"\quad", "2em": r"\qquad"}.get(width, r"\ ")

    # layouts
    def _mrow(self, el: etree._Element) -> str:
        return self.row(el)

    _mstyle = _mrow
    _mpadded = _mrow
    _merror = _mrow
    _menclose = _mrow

    def _mphantom(self, el: etree._Element) -> str:
        return r"\phantom{" + self.row(el) + "}"

    def _mfrac(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(el)
        num, den = self.conv(kids[0]), self.conv(kids[1])
        if el.get("linethickness") in ("0", "0px", "0em"):
            return r"\binom{" + num + "}{" + den + "}"
        return r"\frac{" + num + "}{" + den + "}"

    def _msqrt(self, el: etree._Element) -> str:
        return r"\sqrt{" + self.row(el) + "}"

    def _mroot(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(el)
        return r"\sqrt[" + self.conv(kids[1]) + "]{" + self.conv(kids[0]) + "}"

    def _script(self, el: etree._Element, sub: int | None, sup: int | None) -> str:
        kids = self.children(el)
        need = 1 + (sub is not None) + (sup is not None)
        if len(kids) != need:
            return self.row(el)
        base = self.conv(kids[0]).strip()
        out = base if base else "{}"
        if sub is not None:
            out += "_" + _group(self.conv(kids[sub]))
        if sup is not None:
            out += "^" + _group(self.conv(kids[sup]))
        return out

    def _msub(self, el: etree._Element) -> str:
        return self._script(el, 1, None)

    def _msup(self, el: etree._Element) -> str:
        return self._script(el, None, 1)

    def _msubsup(self, el: etree._Element) -> str:
        return self._script(el, 1, 2)

    def _mover(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(el)
        over = _itext(kids[1]).strip()
        base = self.conv(kids[0])
        if _local(kids[1]) == "mo" and over in _ACCENTS:
            return _ACCENTS[over] + "{" + base + "}"
        first = _itext(kids[0]).strip()
        if first in _BIG_OPS or first in ("lim",):
            return base + "^" + _group(self.conv(kids[1]))
        return r"\overset{" + self.conv(kids[1]) + "}{" + base + "}"

    def _munder(self, el: etree._Element) -> str:
        kids = self.children(el)
        if len(kids) != 2:
            return self.row(el)
        under = _itext(kids[1]).strip()
        base = self.conv(kids[0])
        if _local(kids[1]) == "mo" and under in ("_", "\u0332", "\u23df"):
            return _ACCENTS[under] + "{" + base + "}"
        return base.rstrip() + "_" + _group(self.conv(kids[1]))

    def _munderover(self, el: etree._Element) -> str:
        return self._script(el, 1, 2)

    def _mfenced(self, el: etree._Element) -> str:
        open_, close = el.get("open", "("), el.get("close", ")")
        seps = el.get("separators", ",").strip() or ","
        parts = [self.conv(c) for c in self.children(el)]
        inner = ""
        for i, p in enumerate(parts):
            if i:
                inner += seps[min(i - 1, len(seps) - 1)]
            inner += p
        return r"\left" + (_char(open_) or ".") + inner + r"\right" + (_char(close) or ".")

    def _mtable(self, el: etree._Element) -> str:
        rows = []
        for tr in self.children(el):
            cells = [self.row(td) for td in self.children(tr)] if _local(tr) in ("mtr", "mlabeledtr") else [self.conv(tr)]
            rows.append(" & ".join(cells))
        return r"\begin{matrix}" + r" \\ ".join(rows) + r"\end{matrix}"

    def _semantics(self, el: etree._Element) -> str:
        for ann in self.children(el):
            if _local(ann) == "annotation" and (ann.get("encoding") or "").lower() in ("application/x-tex", "tex", "latex", "text/x-latex"):
                return (ann.text or "").strip()
        kids = [k for k in self.children(el) if _local(k) not in ("annotation", "annotation-xml")]
        return "".join(self.conv(k) for k in kids)

    def _annotation(self, el: etree._Element) -> str:
        return ""

    _annotation_xml = _annotation


def mathml_to_latex(math: etree._Element) -> str:
    """The LaTeX of a ``<math>`` element (namespaced or not).  ValueError when it holds elements
    this converter does not know (the caller keeps the text content and notes it)."""
    result = convert_mathml(math)
    if result.unknown:
        raise ValueError(f"MathML element(s) without a LaTeX equivalent here: {', '.join(result.unknown)}")
    if not result.latex:
        raise ValueError("empty MathML")
    return result.latex


def convert_mathml(math: etree._Element) -> MathResult:
    """The LaTeX of a ``<math>`` element (namespaced or not), whether it is display math, and the
    names of elements converted by their text only."""
    conv = _Converter()
    body = conv.row(math) if _local(math) == "math" else conv.conv(math)
    latex = re.sub(r"[ \t\n]+", " ", body).strip()
    display = math.get("display") == "block" or math.get("mode") == "display"
    return MathResult(latex, display, sorted(set(conv.unknown)))
