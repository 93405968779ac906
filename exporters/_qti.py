"""Shared builder of QTI 2.1 and QTI 3.0 content packages (not an exporter; ``qti21``/``qti30`` use it).

QTI 2.1 and 3.0 are one information model with two spellings: 2.1 uses camelCase elements and
attributes in the ``imsqti_v2p1`` namespace (``choiceInteraction maxChoices``), 3.0 uses kebab-case
``qti-`` elements in ``imsqtiasi_v3p0`` (``qti-choice-interaction max-choices``) and wraps rubric and
modal-feedback content in ``qti-content-body``.  Everything here is written once in the 2.1 spelling
and a :class:`Profile` renames it.  XHTML body elements (``p``, ``img``, ``pre``...) are the same in both.

Scoring is explicit ``responseProcessing`` (no templates) built only from operators the reference
player implements (``match``, ``mapResponse``, ``isNull``, ``gte``/``lte``, ``and``/``or``/``not``,
``stringMatch``, ``sum``), because templates cannot set the feedback outcomes and the player implements
only three of them.  ``equal toleranceMode`` is avoided: the player logs "toleranceMode is not
supported yet" and returns false, so numeric tolerance is a ``gte``/``lte`` interval check.
"""

from __future__ import annotations

import hashlib
import io
import re
from urllib.parse import quote
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from itembank.export import ExportContext, ExportResult, ItembankError
from itembank.model import (
    AnyItem,
    Bank,
    Blank,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
)
from itembank.render import Renderer, local_image, replace_with_text

try:  # MathML for $math$; without the package, math stays LaTeX in a span (documented in docs/qti.md)
    from latex2mathml.converter import convert as _latex_to_mathml
except ImportError:  # pragma: no cover - exercised only where latex2mathml is missing
    _latex_to_mathml = None

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
TOOL_NAME = "itembank"
TOOL_VENDOR = "itembank"

#: Same pattern as itembank.rules.PLACEHOLDER (exporters may not import the rules module).
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]{0,31})\s*\}\}")

#: LOM educational/difficulty vocabulary (LOMv1.0) for the bank's three levels.
LOM_DIFFICULTY = {"easy": "easy", "medium": "medium", "hard": "difficult"}

ITEMS_DIR = "items"
TEST_FILE = "assessment.xml"
MANIFEST = "imsmanifest.xml"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: byte-identical zips from the same bank


# --- version profiles -------------------------------------------------------------------------


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


@dataclass(frozen=True)
class Profile:
    """Everything that differs between QTI 2.1 and 3.0 output."""

    key: str  # schema key in exporters._xsd: "qti21" / "qti30"
    ns: str
    schema_location: str
    cp_ns: str
    cp_schema_location: str
    md_ns: str
    md_schema_location: str
    item_resource: str
    test_resource: str
    package_schema: str
    package_schema_version: str
    kebab: bool
    extra_manifest_ns: dict[str, str] = field(default_factory=dict)

    def tag(self, name: str) -> str:
        """The qualified element name for a QTI element given in its 2.1 spelling."""
        local = f"qti-{_kebab(name)}" if self.kebab else name
        return f"{{{self.ns}}}{local}"

    def html(self, name: str) -> str:
        """XHTML elements keep their names in both versions, in the QTI namespace."""
        return f"{{{self.ns}}}{name}"

    def attr(self, name: str) -> str:
        return _kebab(name) if self.kebab else name

    def el(self, parent: etree._Element | None, name: str, text: str | None = None, **attrs: str) -> etree._Element:
        """A QTI element (2.1 spelling) with attributes (2.1 spelling), appended to ``parent`` if given."""
        tag = self.tag(name)
        node = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
        for key, value in attrs.items():
            node.set(self.attr(key), value)
        if text is not None:
            node.text = text
        return node

    def content(self, parent: etree._Element) -> etree._Element:
        """Where rubric/modal-feedback content goes: 3.0 wants a ``qti-content-body`` wrapper."""
        return self.el(parent, "contentBody") if self.kebab else parent


QTI21 = Profile(
    key="qti21",
    ns="http://www.imsglobal.org/xsd/imsqti_v2p1",
    schema_location="http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1p2.xsd",
    cp_ns="http://www.imsglobal.org/xsd/imscp_v1p1",
    cp_schema_location="http://www.imsglobal.org/xsd/qti/qtiv2p1/qtiv2p1_imscpv1p2_v1p0.xsd",
    md_ns="http://www.imsglobal.org/xsd/imsqti_metadata_v2p1",
    md_schema_location="http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_metadata_v2p1p1.xsd",
    item_resource="imsqti_item_xmlv2p1",
    test_resource="imsqti_test_xmlv2p1",
    # Canvas treats a package as QTI 2 only with this <schema> (or the QTI 2.1 namespace) in the manifest.
    package_schema="QTIv2.1 Package",
    package_schema_version="1.0.0",
    kebab=False,
    extra_manifest_ns={"imsqti": "http://www.imsglobal.org/xsd/imsqti_v2p1"},
)

QTI30 = Profile(
    key="qti30",
    ns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0",
    schema_location="https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0p1_v1p0.xsd",
    cp_ns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1",
    cp_schema_location="https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd",
    md_ns="http://www.imsglobal.org/xsd/imsqti_metadata_v3p0",
    md_schema_location="https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_metadatav3p0_v1p0.xsd",
    item_resource="imsqti_item_xmlv3p0",
    test_resource="imsqti_test_xmlv3p0",
    package_schema="QTI Package",
    package_schema_version="3.0.0",
    kebab=True,
)


# --- identifiers and numbers ------------------------------------------------------------------


def qti_id(raw: str, prefix: str) -> str:
    """A QTI identifier (an NCName) for a bank id; ids that cannot start one get ``prefix``.

    Bank ids are ``[a-z0-9][a-z0-9._-]*`` and option ids ``[A-Za-z0-9][A-Za-z0-9._-]*``: neither has
    ``_``, so a prefix like ``I_`` can never collide with another id.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", raw)
    return safe if re.match(r"[A-Za-z]", safe) else f"{prefix}{safe}"


def num(value: float) -> str:
    """A number as QTI writes it: integral values without ``.0``, others via repr (round-trips)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


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
        root = self.renderer.fragment(text)
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
        for node in list(root.iter()):
            if node is root or not isinstance(node.tag, str):
                continue
            if etree.QName(node).namespace is not None:
                continue  # already converted (MathML)
            name = node.tag
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
            node.tag = self.p.html(name)

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
        if _latex_to_mathml is None:
            return False
        latex = "".join(span.itertext())
        display = "block" if "math-display" in (span.get("class") or "") else "inline"
        try:
            math = etree.fromstring(_latex_to_mathml(latex, display=display).encode("utf-8"))
        except Exception:  # latex2mathml raises many types on bad LaTeX: keep the source, never crash
            return False
        _strip_mathml_attrs(math)
        math.tail = span.tail
        parent = span.getparent()
        if parent is None:
            return False
        parent.replace(span, math)
        return True


def _strip_mathml_attrs(math: etree._Element) -> None:
    """Drop attributes outside MathML 2 (QTI 2.1 validates MathML against the MathML 2 schema)."""
    for node in math.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in list(node.attrib):
            if attr not in ("display", "mathvariant", "stretchy", "fence", "separator", "accent", "movablelimits",
                            "columnalign", "rowspacing", "columnspacing", "lspace", "rspace", "form", "width"):
                del node.attrib[attr]


# --- one item -------------------------------------------------------------------------------


INTERACTION = {
    "multiple_choice": "choiceInteraction",
    "multiple_response": "choiceInteraction",
    "true_false": "choiceInteraction",
    "short_answer": "textEntryInteraction",
    "numeric": "textEntryInteraction",
    "essay": "extendedTextInteraction",
    "matching": "matchInteraction",
    "ordering": "orderInteraction",
    "flashcard": "extendedTextInteraction",
}


class ItemBuilder:
    """Builds one ``assessmentItem`` tree.  Outcomes: SCORE, MAXSCORE, FEEDBACK (per option),
    SOLUTION_FB (rationale/solution after every attempt) and HINT_FB (hints after a not-fully-correct one)."""

    def __init__(self, profile: Profile, renderer: Renderer, item: AnyItem, tool_version: str) -> None:
        self.p = profile
        self.item = item
        self.assets = ItemAssets()
        self.body_writer = BodyWriter(profile, renderer, self.assets)
        self.tool_version = tool_version
        self.root = self._root()
        self.body = self.p.el(None, "itemBody")
        self.rp = self.p.el(None, "responseProcessing")
        self.feedback: list[etree._Element] = []
        self.responses: list[etree._Element] = []
        self.outcomes: list[etree._Element] = []
        self.extra_after_body: list[etree._Element] = []

    # structure ---------------------------------------------------------------------------

    def _root(self) -> etree._Element:
        nsmap = {None: self.p.ns, "xsi": XSI_NS}
        if _latex_to_mathml is not None:
            nsmap["m"] = MATHML_NS
        root = etree.Element(self.p.tag("assessmentItem"), nsmap=nsmap)
        root.set(f"{{{XSI_NS}}}schemaLocation", f"{self.p.ns} {self.p.schema_location}")
        root.set("identifier", qti_id(self.item.id, "I_"))
        root.set("title", _one_line(self.item.name))
        root.set(self.p.attr("adaptive"), "false")
        root.set(self.p.attr("timeDependent"), "false")
        root.set(self.p.attr("toolName"), TOOL_NAME)
        if self.tool_version:
            root.set(self.p.attr("toolVersion"), self.tool_version)
        return root

    def build(self) -> etree._Element:
        self._score_outcomes()
        builder = getattr(self, f"_build_{self.item.type}")
        builder()
        self._general_feedback()
        for node in [*self.responses, *self.outcomes]:
            self.root.append(node)
        self.root.append(self.body)
        if len(self.rp):
            self.root.append(self.rp)
        for fb in self.feedback:
            self.root.append(fb)
        return self.root

    # declarations ------------------------------------------------------------------------

    def response(self, ident: str, cardinality: str, base_type: str, correct: Iterable[str] = ()) -> etree._Element:
        decl = self.p.el(None, "responseDeclaration", identifier=ident, cardinality=cardinality, baseType=base_type)
        values = list(correct)
        if values:
            cr = self.p.el(decl, "correctResponse")
            for v in values:
                self.p.el(cr, "value", v)
        self.responses.append(decl)
        return decl

    def outcome(self, ident: str, cardinality: str, base_type: str, default: str | None = None, **attrs: str) -> None:
        decl = self.p.el(None, "outcomeDeclaration", identifier=ident, cardinality=cardinality, baseType=base_type, **attrs)
        if default is not None:
            dv = self.p.el(decl, "defaultValue")
            self.p.el(dv, "value", default)
        self.outcomes.append(decl)

    def _score_outcomes(self) -> None:
        item = self.item
        if item.type == "essay":
            # Scored by a person: the platform asks a grader, the rubric is in a scorer-only rubric block.
            # QTI 3.0 says so with external-scored; 2.1 has no such attribute (no SCORE rule = not machine-scored).
            extra = {"externalScored": "human"} if self.p.kebab else {}
            self.outcome("SCORE", "single", "float", "0", normalMaximum=num(item.points), **extra)
        elif item.type == "flashcard":
            self.outcome("SCORE", "single", "float", "0")
        else:
            self.outcome("SCORE", "single", "float", "0", normalMaximum=num(item.points))
        if item.type != "flashcard":
            self.outcome("MAXSCORE", "single", "float", num(item.points))

    # response processing helpers ------------------------------------------------------------

    def set_outcome(self, parent: etree._Element, ident: str) -> etree._Element:
        return self.p.el(parent, "setOutcomeValue", identifier=ident)

    def base(self, parent: etree._Element, base_type: str, value: str) -> etree._Element:
        return self.p.el(parent, "baseValue", value, baseType=base_type)

    def var(self, parent: etree._Element, ident: str) -> etree._Element:
        return self.p.el(parent, "variable", identifier=ident)

    def score_if(self, build_condition, score_expr=None, *, otherwise_expr=None, null_response: str | None = "RESPONSE") -> None:
        """``if RESPONSE is null: SCORE=0 elif condition: SCORE=MAXSCORE (or expr) else SCORE=0 (or expr)``."""
        cond = self.p.el(self.rp, "responseCondition")
        if null_response is not None:
            first = self.p.el(cond, "responseIf")
            self.var(self.p.el(first, "isNull"), null_response)
            self.base(self.set_outcome(first, "SCORE"), "float", "0")
            branch = self.p.el(cond, "responseElseIf")
        else:
            branch = self.p.el(cond, "responseIf")
        build_condition(branch)
        target = self.set_outcome(branch, "SCORE")
        if score_expr is None:
            self.var(target, "MAXSCORE")
        else:
            score_expr(target)
        otherwise = self.set_outcome(self.p.el(cond, "responseElse"), "SCORE")
        if otherwise_expr is None:
            self.base(otherwise, "float", "0")
        else:
            otherwise_expr(otherwise)

    def match_correct(self, parent: etree._Element, ident: str = "RESPONSE") -> None:
        m = self.p.el(parent, "match")
        self.var(m, ident)
        self.p.el(m, "correct", identifier=ident)

    def mirror_feedback(self) -> None:
        """FEEDBACK := RESPONSE (when answered), so each chosen option's modal feedback shows."""
        cond = self.p.el(self.rp, "responseCondition")
        branch = self.p.el(cond, "responseIf")
        self.var(self.p.el(self.p.el(branch, "not"), "isNull"), "RESPONSE")
        self.var(self.set_outcome(branch, "FEEDBACK"), "RESPONSE")

    def modal(self, outcome: str, ident: str, title: str, fill) -> None:
        fb = self.p.el(None, "modalFeedback", outcomeIdentifier=outcome, identifier=ident, showHide="show", title=title)
        fill(self.p.content(fb))
        self.feedback.append(fb)

    # stem ------------------------------------------------------------------------------------

    def stem(self, parent: etree._Element | None = None) -> None:
        self.body_writer.into(self.body if parent is None else parent, self.item.stem)

    # per type --------------------------------------------------------------------------------

    def _choices(self, options: list[tuple[str, str, bool, str | None]], max_choices: int, shuffle: bool) -> None:
        """One choiceInteraction; options are (identifier, text, correct, feedback)."""
        self.stem()
        inter = self.p.el(self.body, "choiceInteraction", responseIdentifier="RESPONSE", shuffle=_bool(shuffle),
                          maxChoices=str(max_choices), minChoices="0")
        for ident, text, _correct, _fb in options:
            choice = self.p.el(inter, "simpleChoice", identifier=ident)
            self.body_writer.inline_into(choice, text)
        self.assets.interactions.append("choiceInteraction")
        with_feedback = [(i, fb) for i, _t, _c, fb in options if fb]
        if with_feedback:
            card = "single" if max_choices == 1 else "multiple"
            self.outcome("FEEDBACK", card, "identifier")
            for ident, fb_text in with_feedback:
                self.modal("FEEDBACK", ident, "Feedback", lambda parent, t=fb_text: self.body_writer.into(parent, t))

    def _build_multiple_choice(self) -> None:
        item = self.item
        assert isinstance(item, ChoiceItem)
        opts = [(qti_id(o.id, "C_"), o.text, o.correct, o.feedback) for o in item.options]
        self.response("RESPONSE", "single", "identifier", [i for i, _t, c, _f in opts if c])
        self._choices(opts, 1, item.shuffle)
        self.score_if(lambda b: self.match_correct(b))
        if any(fb for *_x, fb in opts):
            self.mirror_feedback()

    def _build_true_false(self) -> None:
        item = self.item
        assert isinstance(item, TrueFalseItem)
        opts = [
            ("true", "True", item.answer, item.true_feedback),
            ("false", "False", not item.answer, item.false_feedback),
        ]
        self.response("RESPONSE", "single", "identifier", ["true" if item.answer else "false"])
        self._choices(opts, 1, False)  # True before False, always
        self.score_if(lambda b: self.match_correct(b))
        if item.true_feedback or item.false_feedback:
            self.mirror_feedback()

    def _build_multiple_response(self) -> None:
        item = self.item
        assert isinstance(item, ChoiceItem)
        opts = [(qti_id(o.id, "C_"), o.text, o.correct, o.feedback) for o in item.options]
        keys = [i for i, _t, c, _f in opts if c]
        decl = self.response("RESPONSE", "multiple", "identifier", keys)
        self._choices(opts, len(opts), item.shuffle)
        if item.scoring == "partial":
            # The exact key scores full points; any other response its mapped share: each key earns
            # points/k, each distractor costs points/(n-k), clamped to [0, points].
            n_wrong = max(1, len(opts) - len(keys))
            mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=num(item.points), defaultValue="0")
            for ident, _t, correct, _f in opts:
                value = item.points / len(keys) if correct else -item.points / n_wrong
                self.p.el(mapping, "mapEntry", mapKey=ident, mappedValue=num(value))
            self.score_if(lambda b: self.match_correct(b), otherwise_expr=lambda t: self.p.el(t, "mapResponse", identifier="RESPONSE"))
        else:
            self.score_if(lambda b: self.match_correct(b))
        if any(fb for *_x, fb in opts):
            self.mirror_feedback()

    def _build_short_answer(self) -> None:
        item = self.item
        assert isinstance(item, ShortAnswerItem)
        decl = self.response("RESPONSE", "single", "string", [item.answers[0]])
        mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=num(item.points), defaultValue="0")
        for answer in _unique(item.answers):
            self.p.el(mapping, "mapEntry", mapKey=answer, mappedValue=num(item.points), caseSensitive=_bool(item.case_sensitive))
        self.stem()
        para = self.p.html("p")
        para = etree.SubElement(self.body, para)
        longest = max(len(a) for a in item.answers)
        self.p.el(para, "textEntryInteraction", responseIdentifier="RESPONSE", expectedLength=str(max(10, longest + 5)))
        self.assets.interactions.append("textEntryInteraction")
        self.score_if(lambda b: self._is_positive_map(b, "RESPONSE"), lambda t: self.p.el(t, "mapResponse", identifier="RESPONSE"))

    def _is_positive_map(self, parent: etree._Element, ident: str) -> None:
        gt = self.p.el(parent, "gt")
        self.p.el(gt, "mapResponse", identifier=ident)
        self.base(gt, "float", "0")

    def _build_numeric(self) -> None:
        item = self.item
        assert isinstance(item, NumericItem)
        self.response("RESPONSE", "single", "float", [num(item.centre)])
        self.stem()
        para = etree.SubElement(self.body, self.p.html("p"))
        width = max(len(num(v)) for v in (*item.bounds, item.centre))
        inter = self.p.el(para, "textEntryInteraction", responseIdentifier="RESPONSE", expectedLength=str(max(8, width + 2)))
        if item.unit:
            inter.tail = f" {item.unit}"
        self.assets.interactions.append("textEntryInteraction")
        self.score_if(lambda b: self._in_interval(b, "RESPONSE", *item.bounds))

    def _in_interval(self, parent: etree._Element, ident: str, low: float, high: float) -> None:
        both = self.p.el(parent, "and")
        gte = self.p.el(both, "gte")
        self.var(gte, ident)
        self.base(gte, "float", num(low))
        lte = self.p.el(both, "lte")
        self.var(lte, ident)
        self.base(lte, "float", num(high))

    def _build_essay(self) -> None:
        item = self.item
        assert isinstance(item, EssayItem)
        self.response("RESPONSE", "single", "string")
        self.stem()
        limits = _word_limits(item.min_words, item.max_words)
        if limits:
            etree.SubElement(self.body, self.p.html("p")).text = limits
        if item.hints:
            self._hint_rubric()
        attrs = {"responseIdentifier": "RESPONSE", "expectedLines": str(_expected_lines(item.max_words))}
        if item.response_template:
            attrs["placeholderText"] = item.response_template
        self.p.el(self.body, "extendedTextInteraction", **attrs)
        self.assets.interactions.append("extendedTextInteraction")
        self._scorer_rubric(item)

    def _hint_rubric(self) -> None:
        """Essays have no correct/incorrect, so hints are shown up front in a candidate rubric block."""
        attrs = {"view": "candidate"}
        if self.p.kebab:
            attrs["use"] = "instructions"
        block = self.p.el(self.body, "rubricBlock", **attrs)
        self._hints_into(self.p.content(block))

    def _scorer_rubric(self, item: EssayItem) -> None:
        attrs = {"view": "scorer"}
        if self.p.kebab:
            attrs["use"] = "scoring"
        block = self.p.el(self.body, "rubricBlock", **attrs)
        target = self.p.content(block)
        h = self.p.html
        etree.SubElement(target, h("h4")).text = "Scoring rubric"
        if item.rubric:
            ul = etree.SubElement(target, h("ul"))
            for c in item.rubric:
                li = etree.SubElement(ul, h("li"))
                strong = etree.SubElement(li, h("strong"))
                strong.text = f"{c.criterion} ({num(c.points)} pt{'s' if c.points != 1 else ''})"
                if c.description:
                    strong.tail = f": {c.description}"
        else:
            etree.SubElement(target, h("p")).text = f"Up to {num(item.points)} points, scored by a person."
        if item.sample_answer:
            etree.SubElement(target, h("h4")).text = "Sample answer"
            self.body_writer.into(target, item.sample_answer)

    def _build_matching(self) -> None:
        item = self.item
        assert isinstance(item, MatchingItem)
        n = len(item.pairs)
        pairs = [(f"P{i}", f"M{i}") for i in range(1, n + 1)]
        decl = self.response("RESPONSE", "multiple", "directedPair", [f"{p} {m}" for p, m in pairs])
        mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=num(item.points), defaultValue="0")
        for p, m in pairs:
            self.p.el(mapping, "mapEntry", mapKey=f"{p} {m}", mappedValue=num(item.points / n))
        self.stem()
        inter = self.p.el(self.body, "matchInteraction", responseIdentifier="RESPONSE", shuffle=_bool(item.shuffle),
                          maxAssociations=str(n), minAssociations="0")
        sources = self.p.el(inter, "simpleMatchSet")
        for (p, _m), pair in zip(pairs, item.pairs):
            choice = self.p.el(sources, "simpleAssociableChoice", identifier=p, matchMax="1")
            self.body_writer.inline_into(choice, pair.prompt)
        targets = self.p.el(inter, "simpleMatchSet")
        answers = [(m, pair.match) for (_p, m), pair in zip(pairs, item.pairs)]
        answers += [(f"D{i}", text) for i, text in enumerate(item.distractors, 1)]
        for ident, text in answers:
            choice = self.p.el(targets, "simpleAssociableChoice", identifier=ident, matchMax="1")
            self.body_writer.inline_into(choice, text)
        self.assets.interactions.append("matchInteraction")
        self.score_if(lambda b: self._is_positive_map(b, "RESPONSE"), lambda t: self.p.el(t, "mapResponse", identifier="RESPONSE"))

    def _build_ordering(self) -> None:
        item = self.item
        assert isinstance(item, OrderingItem)
        idents = [f"S{i}" for i in range(1, len(item.sequence) + 1)]
        self.response("RESPONSE", "ordered", "identifier", idents)
        self.stem()
        inter = self.p.el(self.body, "orderInteraction", responseIdentifier="RESPONSE", shuffle="true")
        # Written scrambled (deterministically): a platform that ignores shuffle must not show the key.
        for ident, text in _scrambled(item.id, list(zip(idents, item.sequence))):
            choice = self.p.el(inter, "simpleChoice", identifier=ident)
            self.body_writer.inline_into(choice, text)
        self.assets.interactions.append("orderInteraction")
        self.score_if(lambda b: self.match_correct(b))

    def _build_cloze(self) -> None:
        item = self.item
        assert isinstance(item, ClozeItem)
        total = sum(b.points for b in item.blanks) or 1.0
        idents = {b.name: f"RESPONSE_{qti_id(b.name, 'B_')}" for b in item.blanks}
        for blank in item.blanks:
            self._blank_declaration(blank, idents[blank.name], item.points * blank.points / total)
        holder = etree.Element("div")
        self.body_writer.into(holder, item.stem)
        self._replace_placeholders(holder, item, idents)
        for block in list(holder):
            self.body.append(block)
        # SCORE = sum of the shares of the blanks answered correctly.
        for blank in item.blanks:
            self._blank_rule(blank, idents[blank.name], item.points * blank.points / total)
        fb = [b for b in item.blanks if b.feedback]
        if fb:
            self.outcome("FEEDBACK", "multiple", "identifier")
            self._blank_feedback_rules(fb, idents)
            for blank in fb:
                ident = f"FB_{qti_id(blank.name, 'B_')}"
                self.modal("FEEDBACK", ident, f"Blank {blank.name}", lambda parent, t=blank.feedback: self.body_writer.into(parent, t))

    def _blank_declaration(self, blank: Blank, ident: str, share: float) -> None:
        if blank.kind == "choice":
            keys = [f"{ident}_{i}" for i, c in enumerate(blank.choices, 1) if c == blank.correct]
            self.response(ident, "single", "identifier", keys[:1])
        elif blank.kind == "numeric":
            assert blank.number is not None
            self.response(ident, "single", "float", [num(blank.number)])
        else:
            decl = self.response(ident, "single", "string", [blank.answers[0]])
            mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=num(share), defaultValue="0")
            for answer in _unique(blank.answers):
                self.p.el(mapping, "mapEntry", mapKey=answer, mappedValue=num(share), caseSensitive=_bool(blank.case_sensitive))

    def _blank_correct(self, parent: etree._Element, blank: Blank, ident: str) -> None:
        if blank.kind == "choice":
            self.match_correct(parent, ident)
        elif blank.kind == "numeric":
            assert blank.number is not None
            self._in_interval(parent, ident, blank.number - blank.tolerance, blank.number + blank.tolerance)
        else:
            self._is_positive_map(parent, ident)

    def _if_answered(self, ident: str) -> etree._Element:
        """A ``responseIf`` entered only when ``ident`` has a value.  Nested rather than ``and``-ed so
        that no operator ever sees a null response (the player's mapResponse fails on null strings)."""
        cond = self.p.el(self.rp, "responseCondition")
        branch = self.p.el(cond, "responseIf")
        self.var(self.p.el(self.p.el(branch, "not"), "isNull"), ident)
        return branch

    def _blank_rule(self, blank: Blank, ident: str, share: float) -> None:
        inner = self.p.el(self._if_answered(ident), "responseCondition")
        branch = self.p.el(inner, "responseIf")
        self._blank_correct(branch, blank, ident)
        total = self.p.el(self.set_outcome(branch, "SCORE"), "sum")
        self.var(total, "SCORE")
        self.base(total, "float", num(share))

    def _blank_feedback_rules(self, blanks: list[Blank], idents: dict[str, str]) -> None:
        """FEEDBACK holds FB_<blank> for each blank answered but not correctly."""
        for blank in blanks:
            ident = idents[blank.name]
            value = f"FB_{qti_id(blank.name, 'B_')}"
            inner = self.p.el(self._if_answered(ident), "responseCondition")
            branch = self.p.el(inner, "responseIf")
            self._blank_correct(self.p.el(branch, "not"), blank, ident)
            # FEEDBACK starts NULL: the first blank sets it, later ones add to it.
            update = self.p.el(branch, "responseCondition")
            first = self.p.el(update, "responseIf")
            self.var(self.p.el(first, "isNull"), "FEEDBACK")
            self.base(self.p.el(self.set_outcome(first, "FEEDBACK"), "multiple"), "identifier", value)
            rest = self.p.el(update, "responseElse")
            multiple = self.p.el(self.set_outcome(rest, "FEEDBACK"), "multiple")
            self.var(multiple, "FEEDBACK")
            self.base(multiple, "identifier", value)

    def _replace_placeholders(self, holder: etree._Element, item: ClozeItem, idents: dict[str, str]) -> None:
        """Split text nodes at {{name}} and insert the blank's inline interaction there."""
        for node in list(holder.iter()):
            if not isinstance(node.tag, str) or etree.QName(node).localname in ("pre", "code"):
                continue
            if node.text and PLACEHOLDER.search(node.text):
                text, node.text = node.text, None
                self._splice(node, None, text, item, idents)
            if node is not holder and node.tail and PLACEHOLDER.search(node.tail):
                parent = node.getparent()
                text, node.tail = node.tail, None
                self._splice(parent, node, text, item, idents)

    def _splice(self, parent: etree._Element, after: etree._Element | None, text: str, item: ClozeItem, idents: dict[str, str]) -> None:
        pos = 0 if after is None else parent.index(after) + 1
        last: etree._Element | None = after
        pieces = PLACEHOLDER.split(text)
        # pieces alternates: text, name, text, name, ..., text
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                if last is None:
                    parent.text = (parent.text or "") + piece
                else:
                    last.tail = (last.tail or "") + piece
                continue
            inter = self._blank_interaction(item.blank(piece), idents[piece])
            parent.insert(pos, inter)
            pos += 1
            last = inter

    def _blank_interaction(self, blank: Blank, ident: str) -> etree._Element:
        if blank.kind == "choice":
            inter = self.p.el(None, "inlineChoiceInteraction", responseIdentifier=ident, shuffle="false")
            for i, choice in enumerate(blank.choices, 1):
                # inlineChoice holds text only: the plain text of the choice's Markdown.
                self.p.el(inter, "inlineChoice", self.body_writer.plain(choice), identifier=f"{ident}_{i}")
            self.assets.interactions.append("inlineChoiceInteraction")
            return inter
        if blank.kind == "numeric":
            length = len(num(blank.number or 0)) + 2
        else:
            length = max(len(a) for a in blank.answers) + 2
        self.assets.interactions.append("textEntryInteraction")
        return self.p.el(None, "textEntryInteraction", responseIdentifier=ident, expectedLength=str(max(6, length)))

    def _build_flashcard(self) -> None:
        """A flashcard: the front as the question, free recall in a text box, the back shown afterwards."""
        item = self.item
        assert isinstance(item, FlashcardItem)
        self.response("RESPONSE", "single", "string")
        self.stem()
        self.p.el(self.body, "extendedTextInteraction", responseIdentifier="RESPONSE", expectedLines="3")
        self.assets.interactions.append("extendedTextInteraction")
        self.outcome("ANSWER_FB", "single", "identifier")
        self.base(self.set_outcome(self.rp, "ANSWER_FB"), "identifier", "ANSWER")
        self.modal("ANSWER_FB", "ANSWER", "Answer", lambda parent: self.body_writer.into(parent, item.answer))

    # general feedback ---------------------------------------------------------------------------

    def _general_feedback(self) -> None:
        item = self.item
        if _has_solution(item):
            self.outcome("SOLUTION_FB", "single", "identifier")
            self.base(self.set_outcome(self.rp, "SOLUTION_FB"), "identifier", "SOLUTION")
            self.modal("SOLUTION_FB", "SOLUTION", "Explanation", self._solution_into)
        if item.hints and item.gradable:
            # Hints after an attempt that did not earn full marks: renders and scores everywhere,
            # unlike an endAttemptInteraction hint request (see docs/qti.md).
            self.outcome("HINT_FB", "single", "identifier")
            cond = self.p.el(self.rp, "responseCondition")
            branch = self.p.el(cond, "responseIf")
            lt = self.p.el(branch, "lt")
            self.var(lt, "SCORE")
            self.var(lt, "MAXSCORE")
            self.base(self.set_outcome(branch, "HINT_FB"), "identifier", "HINT")
            self.modal("HINT_FB", "HINT", "Hint", self._hints_into)

    def _hints_into(self, parent: etree._Element) -> None:
        h = self.p.html
        etree.SubElement(parent, h("h4")).text = "Hint" if len(self.item.hints) == 1 else "Hints"
        ul = etree.SubElement(parent, h("ul"))
        for hint in self.item.hints:
            self.body_writer.into(etree.SubElement(ul, h("li")), hint)

    def _solution_into(self, parent: etree._Element) -> None:
        item = self.item
        h = self.p.html
        if item.rationale:
            etree.SubElement(parent, h("h4")).text = "Explanation"
            self.body_writer.into(parent, item.rationale)
        sol = item.solution
        if sol and sol.steps:
            etree.SubElement(parent, h("h4")).text = "Solution"
            ol = etree.SubElement(parent, h("ol"))
            for step in sol.steps:
                li = etree.SubElement(ol, h("li"))
                if step.title:
                    etree.SubElement(li, h("p")).append(_strong(h, step.title))
                self.body_writer.into(li, step.text)
        if sol and sol.final_answer:
            etree.SubElement(parent, h("h4")).text = "Answer"
            self.body_writer.into(parent, sol.final_answer)
        if sol and sol.quick_check:
            etree.SubElement(parent, h("h4")).text = "Quick check"
            self.body_writer.into(parent, sol.quick_check)
        if item.common_mistakes:
            etree.SubElement(parent, h("h4")).text = "Common mistakes"
            ul = etree.SubElement(parent, h("ul"))
            for mistake in item.common_mistakes:
                self.body_writer.into(etree.SubElement(ul, h("li")), mistake)


def _strong(h, text: str) -> etree._Element:
    node = etree.Element(h("strong"))
    node.text = text
    return node


def _has_solution(item: AnyItem) -> bool:
    sol = item.solution
    return bool(item.rationale or item.common_mistakes or (sol and (sol.steps or sol.final_answer or sol.quick_check)))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _word_limits(low: int | None, high: int | None) -> str:
    if low and high:
        return f"Write {low}–{high} words."
    if low:
        return f"Write at least {low} words."
    if high:
        return f"Write at most {high} words."
    return ""


def _expected_lines(max_words: int | None) -> int:
    return max(5, min(30, (max_words or 150) // 10))


def _scrambled(seed: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A deterministic non-identity permutation (for two or more entries)."""
    keyed = sorted(pairs, key=lambda p: hashlib.sha256(f"{seed}\0{p[0]}".encode()).hexdigest())
    if len(pairs) > 1 and keyed == pairs:
        keyed = keyed[1:] + keyed[:1]
    return keyed


# --- the assessment test ----------------------------------------------------------------------


@dataclass(frozen=True)
class SectionPlan:
    title: str
    item_ids: tuple[str, ...]
    pick: int | None = None
    shuffle: bool = False


def plan_sections(bank: Bank) -> list[SectionPlan]:
    """One section per form section when the bank is a form; else one per topic, in first-seen order."""
    if bank.form is not None:
        return [SectionPlan(s.title, s.item_ids, s.pick, s.shuffle) for s in bank.form.sections]
    by_topic: dict[str, list[str]] = {}
    for item in bank.items:
        by_topic.setdefault(item.topic or "General", []).append(item.id)
    return [SectionPlan(topic, tuple(ids)) for topic, ids in by_topic.items()]


def build_test(profile: Profile, bank: Bank, hrefs: dict[str, str], tool_version: str, renderer: Renderer) -> etree._Element:
    p = profile
    root = etree.Element(p.tag("assessmentTest"), nsmap={None: p.ns, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{p.ns} {p.schema_location}")
    title = bank.title if bank.form is None else f"{bank.form.title} (form {bank.form.form})"
    root.set("identifier", "TEST" if bank.form is None else qti_id(bank.form.name, "T_"))
    root.set("title", _one_line(title))
    root.set(p.attr("toolName"), TOOL_NAME)
    if tool_version:
        root.set(p.attr("toolVersion"), tool_version)
    p.el(root, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float")
    part = p.el(root, "testPart", identifier="PART_1", navigationMode="nonlinear", submissionMode="individual")
    for n, section in enumerate(plan_sections(bank), 1):
        sec = p.el(part, "assessmentSection", identifier=f"SECTION_{n}", title=_one_line(section.title), visible="true")
        if section.pick is not None:
            p.el(sec, "selection", select=str(section.pick))
        if section.shuffle:
            p.el(sec, "ordering", shuffle="true")
        if n == 1 and bank.form is not None and bank.form.instructions:
            attrs = {"view": "candidate"}
            if p.kebab:
                attrs["use"] = "instructions"
            block = p.el(sec, "rubricBlock", **attrs)
            writer = BodyWriter(p, renderer, ItemAssets(), depth=0)
            writer.into(p.content(block), bank.form.instructions)
        for item_id in section.item_ids:
            p.el(sec, "assessmentItemRef", identifier=qti_id(item_id, "I_"), href=hrefs[item_id])
    processing = p.el(root, "outcomeProcessing")
    total = p.el(p.el(processing, "setOutcomeValue", identifier="SCORE"), "sum")
    p.el(total, "testVariables", variableIdentifier="SCORE")
    return root


# --- the manifest -----------------------------------------------------------------------------


@dataclass
class ItemEntry:
    item: AnyItem
    href: str
    assets: ItemAssets


def _lom_string(parent: etree._Element, tag: str, text: str) -> None:
    node = etree.SubElement(parent, f"{{{LOM_NS}}}{tag}")
    etree.SubElement(node, f"{{{LOM_NS}}}string").text = text


def _vocab(parent: etree._Element, tag: str, value: str) -> None:
    node = etree.SubElement(parent, f"{{{LOM_NS}}}{tag}")
    etree.SubElement(node, f"{{{LOM_NS}}}source").text = "LOMv1.0"
    etree.SubElement(node, f"{{{LOM_NS}}}value").text = value


def item_lom(item: AnyItem, bank_title: str, renderer: Renderer) -> etree._Element:
    """LOM for one item: identifier, title, description, keywords, difficulty, objectives."""
    lom = etree.Element(f"{{{LOM_NS}}}lom")
    general = etree.SubElement(lom, f"{{{LOM_NS}}}general")
    ident = etree.SubElement(general, f"{{{LOM_NS}}}identifier")
    etree.SubElement(ident, f"{{{LOM_NS}}}catalog").text = bank_title
    etree.SubElement(ident, f"{{{LOM_NS}}}entry").text = item.id
    _lom_string(general, "title", _one_line(item.name))
    _lom_string(general, "description", _one_line(renderer.plain(item.stem))[:1000])
    for tag in item.tags:
        _lom_string(general, "keyword", tag)
    if item.difficulty in LOM_DIFFICULTY:
        educational = etree.SubElement(lom, f"{{{LOM_NS}}}educational")
        _vocab(educational, "difficulty", LOM_DIFFICULTY[item.difficulty])
    for objective in item.objectives:
        classification = etree.SubElement(lom, f"{{{LOM_NS}}}classification")
        _vocab(classification, "purpose", "educational objective")
        _lom_string(classification, "description", objective)
    return lom


def item_qti_metadata(profile: Profile, entry: ItemEntry, tool_version: str) -> etree._Element:
    md = etree.Element(f"{{{profile.md_ns}}}qtiMetadata")
    item = entry.item

    def add(tag: str, text: str) -> None:
        etree.SubElement(md, f"{{{profile.md_ns}}}{tag}").text = text

    add("itemTemplate", "false")
    add("timeDependent", "false")
    add("composite", _bool(len(set(entry.assets.interactions)) > 1 or len(entry.assets.interactions) > 1))
    for kind in _unique(entry.assets.interactions):
        add("interactionType", kind)
    has_feedback = _has_solution(item) or bool(item.hints) or item.type == "flashcard" or _has_option_feedback(item)
    add("feedbackType", "nonadaptive" if has_feedback else "none")
    solution = item.type != "essay" or (isinstance(item, EssayItem) and bool(item.sample_answer))
    add("solutionAvailable", _bool(solution))
    add("toolName", TOOL_NAME)
    if tool_version:
        add("toolVersion", tool_version)
    add("toolVendor", TOOL_VENDOR)
    return md


def _has_option_feedback(item: AnyItem) -> bool:
    if isinstance(item, ChoiceItem):
        return any(o.feedback for o in item.options)
    if isinstance(item, TrueFalseItem):
        return bool(item.true_feedback or item.false_feedback)
    if isinstance(item, ClozeItem):
        return any(b.feedback for b in item.blanks)
    return False


def media_id(path: str) -> str:
    return "MEDIA-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:16]


def item_resource_id(item_id: str) -> str:
    return f"ITEM-{item_id}"


def build_manifest(profile: Profile, bank: Bank, entries: list[ItemEntry], media: list[str], tool_version: str, renderer: Renderer) -> etree._Element:
    p = profile
    # extra_manifest_ns: QTI 2.1 declares its item namespace too, which is how Canvas recognizes QTI 2.
    nsmap = {None: p.cp_ns, "imsmd": LOM_NS, "qtimd": p.md_ns, "xsi": XSI_NS, **p.extra_manifest_ns}
    root = etree.Element(f"{{{p.cp_ns}}}manifest", nsmap=nsmap)
    root.set("identifier", "MANIFEST-" + hashlib.sha256(bank.title.encode("utf-8")).hexdigest()[:16])
    root.set(f"{{{XSI_NS}}}schemaLocation", " ".join([
        p.cp_ns, p.cp_schema_location,
        LOM_NS, "http://www.imsglobal.org/xsd/imsmd_loose_v1p3p2.xsd",
        p.md_ns, p.md_schema_location,
    ]))
    cp = p.cp_ns
    metadata = etree.SubElement(root, f"{{{cp}}}metadata")
    etree.SubElement(metadata, f"{{{cp}}}schema").text = p.package_schema
    etree.SubElement(metadata, f"{{{cp}}}schemaversion").text = p.package_schema_version
    lom = etree.SubElement(metadata, f"{{{LOM_NS}}}lom")
    general = etree.SubElement(lom, f"{{{LOM_NS}}}general")
    _lom_string(general, "title", _one_line(bank.title))
    etree.SubElement(root, f"{{{cp}}}organizations")
    resources = etree.SubElement(root, f"{{{cp}}}resources")

    test = etree.SubElement(resources, f"{{{cp}}}resource", identifier="TEST-1", type=p.test_resource, href=TEST_FILE)
    etree.SubElement(test, f"{{{cp}}}file", href=TEST_FILE)
    for entry in entries:
        etree.SubElement(test, f"{{{cp}}}dependency", identifierref=item_resource_id(entry.item.id))

    for entry in entries:
        res = etree.SubElement(resources, f"{{{cp}}}resource", identifier=item_resource_id(entry.item.id), type=p.item_resource, href=entry.href)
        md = etree.SubElement(res, f"{{{cp}}}metadata")
        md.append(item_qti_metadata(p, entry, tool_version))
        md.append(item_lom(entry.item, bank.title, renderer))
        etree.SubElement(res, f"{{{cp}}}file", href=entry.href)
        for path in sorted(entry.assets.media):
            etree.SubElement(res, f"{{{cp}}}dependency", identifierref=media_id(path))

    for path in media:
        res = etree.SubElement(resources, f"{{{cp}}}resource", identifier=media_id(path), type="webcontent", href=quote(path))
        etree.SubElement(res, f"{{{cp}}}file", href=quote(path))
    return root


# --- the package --------------------------------------------------------------------------------


def to_bytes(root: etree._Element, pretty: bool = False) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)


def build_files(profile: Profile, bank: Bank, ctx: ExportContext, result: ExportResult) -> dict[str, bytes]:
    """Every file of the package, by relative path."""
    files: dict[str, bytes] = {}
    entries: list[ItemEntry] = []
    for item in bank.items:
        href = f"{ITEMS_DIR}/{item.id}.xml"
        builder = ItemBuilder(profile, ctx.renderer, item, ctx.tool_version)
        try:
            files[href] = to_bytes(builder.build())
        except ValueError as exc:  # lxml refuses text XML cannot hold (validation rule IB216 catches it first)
            raise ItembankError(f"item {item.id}: text cannot be written as XML ({exc}); run `itembank validate`") from None
        entries.append(ItemEntry(item, href, builder.assets))
        result.wrote(item.type)
    media = sorted({m for e in entries for m in e.assets.media})
    for path in media:
        source = bank.media_path(path)
        if not source.is_file():
            raise ItembankError(f"image '{path}' is referenced but missing from the bank")
        files[path] = source.read_bytes()
    hrefs = {e.item.id: e.href for e in entries}
    missing = [i for s in plan_sections(bank) for i in s.item_ids if i not in hrefs]
    if missing:
        raise ItembankError(f"the form lists items that are not in the bank: {', '.join(sorted(set(missing)))}")
    try:
        files[TEST_FILE] = to_bytes(build_test(profile, bank, hrefs, ctx.tool_version, ctx.renderer))
        files[MANIFEST] = to_bytes(build_manifest(profile, bank, entries, media, ctx.tool_version, ctx.renderer), pretty=True)
    except ValueError as exc:
        raise ItembankError(f"bank metadata cannot be written as XML ({exc}); run `itembank validate`") from None
    return files


def zip_files(files: dict[str, bytes]) -> bytes:
    """A deterministic zip: manifest first, then sorted paths, fixed timestamps and permissions."""
    buf = io.BytesIO()
    order = [MANIFEST] + sorted(k for k in files if k != MANIFEST)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the host: same bytes on every OS
            zf.writestr(info, files[name], compresslevel=6)
    return buf.getvalue()


def check_files(profile: Profile, files: dict[str, bytes]) -> list[str]:
    """Validate every XML file of a package against the official schemas (ITEMBANK_XSD_DIR)."""
    from . import _xsd  # imported late: only --check and the tests need the schemas

    docs = {name: data for name, data in files.items() if name.endswith(".xml") and name != MANIFEST}
    problems = _xsd.validate_files(docs, profile.key)
    problems += _xsd.validate_files({MANIFEST: files[MANIFEST]}, f"{profile.key}-cp")
    return problems


def export_package(profile: Profile, bank: Bank, ctx: ExportContext) -> ExportResult:
    result = ExportResult()
    files = build_files(profile, bank, ctx, result)
    if ctx.option("check"):
        problems = check_files(profile, files)
        if problems:
            shown = "\n  ".join(problems[:50])
            more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
            raise ItembankError(f"{profile.key} package is not valid against the official schemas:\n  {shown}{more}")
        result.notes.append(f"--check: {len(files)} files, every XML file valid against the {profile.key} schemas")
    if ctx.option("unzipped"):
        result.files = files
    else:
        result.data = zip_files(files)
    return result
