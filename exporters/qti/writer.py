"""One item -> the bytes of its QTI ``assessmentItem`` file, written by a Jinja2 template.

The templates (``templates/``) are written once, in QTI 2.1's spelling; QTI 3.0's are made from
them when loaded (:func:`spelled`: ``qti-`` kebab-case names, the namespace and schema).  What differs
in structure between the versions (3.0's ``qti-content-body`` wrappers, ``external-scored``, a
rubric block's ``use``) is an ``{% if kebab %}`` in the template.

The values come from the model (:class:`ItemWriter`): identifiers, numbers, and each Markdown text as
XHTML markup.  A rendered text that holds only tags QTI keeps as they are (most texts) is given as
the renderer wrote it, in the spelling lxml serializes (:func:`_as_lxml_writes`); any other (math,
images, links, attributes) is converted by :class:`.body.BodyWriter` as an lxml tree and serialized.
Every other value is escaped as lxml escapes it (:func:`text`, :func:`attr`), so that the file is
byte for byte what building the tree element by element and serializing it wrote before (and what
a bank's cached fragments hold).  Parts that are trees by nature (a cloze stem with its blanks put
in, a rubric criterion, a calculated item's template processing) are built with lxml and
serialized into the template; a calculated item's file is parsed again to put its printed
variables where its placeholders are (:func:`.template.fill_slots`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lxml import etree
from markupsafe import Markup

from itembank.model import (
    AnyItem,
    Blank,
    CalculatedItem,
    ChoiceItem,
    ClozeItem,
    Criterion,
    EssayItem,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
    markdown_texts,
    opaque_placeholders,
)
from itembank.render import PLAIN, Renderer

from ..kit.blanks import place_blanks
from ..kit.escape import xml_attr, xml_text
from ..kit.explain import Section, explanation
from ..kit.mathml import available as mathml_available
from ..kit.numbers import number_text
from ..kit.wording import scrambled, word_limits
from . import template as calc
from .body import _NOT_KEPT, BodyWriter, ItemAssets
from .fields import SOLUTION_LABELS, expected_lines, one_line, unique
from .ids import blank_choice, blank_feedback, blank_response, option_id, qti_id
from .profiles import MATHML_NS, QTI21, XSI_NS, Profile

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).with_name("templates")

#: XHTML elements the templates write (the same names in both QTI versions); every other is QTI's.
_HTML = frozenset({"p", "h4", "ol", "ul", "li", "strong"})


# --- escaping as lxml serializes ---------------------------------------------------------------

#: Markup of a string this module made (``str.__new__``: Markup's own constructor is Python code,
#: ~0.5 us of each of the dozens of values of an item).
_markup: Callable[[str], Markup] = partial(str.__new__, Markup)


def text(value: str) -> Markup:
    """``value`` as element text, escaped as lxml writes it (:func:`..kit.escape.xml_text`)."""
    return _markup(xml_text(value))


def attr(value: str) -> Markup:
    """``value`` as an attribute's value (between double quotes), escaped as lxml writes it."""
    return _markup(xml_attr(value))


#: An element written empty as a pair of tags (``<li></li>``): lxml writes it ``<li/>``.  In markup
#: ``<`` only starts a tag and ``>`` in a text or an attribute is ``&gt;``, so no text can hold one.
_EMPTY_PAIR = re.compile(r"<([A-Za-z][\w.:-]*)((?:\s+[\w.:-]+=\"[^\"]*\")*)></\1>")
#: What a rendered text cannot be given as it is for: a tag QTI does not keep as it is (math, an image,
#: a link, an attribute: :func:`.body._only_kept_tags`), a character lxml writes as a reference or refuses.
_NOT_AS_IS = _NOT_KEPT
_NOT_AS_IS_CHAR = re.compile("[\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # (NOT_XML and CR: apart from the tags, two searches take half the time of one)
#: Nor can a text whose Markdown may hold raw HTML: the renderer passes it through as it is written
#: (``<b>`` never closed), where its own markup is well-formed.  Raw HTML (a tag, a comment, a
#: declaration, an autolink) starts with one of these in CommonMark; such a text is parsed (BodyWriter).
_RAW_HTML = re.compile(r"<[A-Za-z/!?]")


def _as_is(md: str, html: str) -> bool:
    """Whether the renderer's XHTML of ``md`` can be given as it is (see :data:`_NOT_AS_IS`)."""
    return _NOT_AS_IS.search(html) is None and _NOT_AS_IS_CHAR.search(html) is None and ("<" not in md or _RAW_HTML.search(md) is None)


def _as_lxml_writes(html: str) -> str:
    """The renderer's XHTML (only tags QTI keeps as they are) in the spelling lxml serializes it."""
    if "&" in html:
        html = html.replace("&quot;", '"').replace("&#39;", "'")
    if " />" in html:
        html = html.replace("<br />", "<br/>").replace("<hr />", "<hr/>")
    return _EMPTY_PAIR.sub(r"<\1\2/>", html) if "></" in html else html


# --- the templates, per version ------------------------------------------------------------------


def spelled(source: str, p: Profile) -> str:
    """A template in ``p``'s spelling, from its QTI 2.1 source: QTI 3.0's element and attribute names
    (``qti-`` and kebab case), namespace and schema.  A tag is ``<name`` (no Jinja code in a tag's
    name), an attribute ``␣camelCase="``; the XHTML elements (:data:`_HTML`) keep their names."""
    if not p.kebab:
        return source
    source = source.replace(QTI21.ns, p.ns).replace(QTI21.schema_location, p.schema_location)

    def tag(m: re.Match[str]) -> str:
        name = m.group(2)
        return m.group(0) if name in _HTML else f"{m.group(1)}{p.tag(name).split('}')[1]}"

    source = re.sub(r"(</?)([A-Za-z][A-Za-z]*)(?=[\s/>])", tag, source)
    return re.sub(r" ([a-z]+[A-Z][A-Za-z]*)=\"", lambda m: f' {p.attr(m.group(1))}="', source)


def _source(p: Profile, name: str) -> tuple[str, str, Callable[[], bool]] | None:
    """The template ``name`` of ``templates/`` in ``p``'s spelling (Jinja2's FunctionLoader), each
    line's indentation and line break taken out: the files are indented to be read, the item's XML
    has no space between tags (a template's text never continues from one line to the next)."""
    path = TEMPLATES / name
    if not path.is_file():
        return None
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    kept = [line for line in lines if not line.startswith("{#")]
    if kept and kept[0].startswith("<?xml"):  # the declaration's line break is the file's, as lxml writes it
        kept[0] += "\n"
    return spelled("".join(kept), p), str(path), lambda: True


class Templates:
    """The items' templates in one version's spelling.

    Not Jinja's autoescape in the items' templates: an escape call and a new Markup for each of the
    ~50 values of an item were a fifth of writing it.  Every value is escaped by this module already
    (:func:`text`, :func:`attr`, the texts' XHTML: :class:`Markup`) or holds nothing XML escapes
    (identifiers, numbers, fixed words).  ``strict`` templates (the tests') autoescape: an item they
    write differently is one with a value this module left unescaped.  The macros of
    ``parts.xml.j2`` (written once per shape: :func:`shared`) escape what they are given.
    """

    def __init__(self, p: Profile, strict: bool = False) -> None:
        self.env = self._environment(p, autoescape=strict)
        self.kinds: dict[str, jinja2.Template] = {}
        #: The macros of ``parts.xml.j2`` (autoescaped).
        self.parts: Any = self._environment(p, autoescape=True).get_template("parts.xml.j2").module

    @staticmethod
    def _environment(p: Profile, autoescape: bool) -> jinja2.Environment:
        import jinja2  # (by the processes that write items: a build's parent loads every format first)

        loader = jinja2.FunctionLoader(partial(_source, p))
        env = jinja2.Environment(loader=loader, autoescape=autoescape, undefined=jinja2.StrictUndefined, auto_reload=False)
        env.globals.update(kebab=p.kebab, mathml=mathml_available())
        return env

    def of(self, kind: str) -> jinja2.Template:
        """The template of an item type (``<kind>.xml.j2``)."""
        t = self.kinds.get(kind)
        if t is None:
            t = self.kinds[kind] = self.env.get_template(f"{kind}.xml.j2")
        return t


_TEMPLATES: dict[tuple[str, bool], Templates] = {}


def templates(p: Profile, strict: bool = False) -> Templates:
    """The templates in ``p``'s spelling (made once per version)."""
    made = _TEMPLATES.get((p.key, strict))
    if made is None:
        made = _TEMPLATES[(p.key, strict)] = Templates(p, strict)
    return made


#: Parts that are the same in many items (the outcome declarations, the processing of most types),
#: written once per version and shape.
_SHARED: dict[tuple[str, Hashable], Markup] = {}
_SHARED_MAX = 4096  # shapes kept (both versions); beyond it a shape is written each time (the same markup, only slower)


def shared(p: Profile, key: Hashable, make: Callable[[], Markup]) -> Markup:
    """What ``make()`` writes, which depends on ``p`` and ``key`` only."""
    made = _SHARED.get((p.key, key))
    if made is None:
        made = make()
        if len(_SHARED) < _SHARED_MAX:
            _SHARED[(p.key, key)] = made
    return made


#: The rules of an item type's response processing: a key naming them when they are the same in
#: every item of that shape (None: the item's own), and what writes them.
Rules = tuple["Hashable | None", Callable[[], Markup]]


# --- one item ------------------------------------------------------------------------------------

#: An outcome declaration: identifier, cardinality, baseType, default value, other attributes (spelled);
#: plain strings, escaped by the macro that writes them (``parts.xml.j2``).
Outcome = tuple[str, str, str, "str | None", tuple[tuple[str, str], ...]]
#: A modal feedback: outcome, identifier, title, content.
Modal = tuple[str, str, Markup, Markup]


@dataclass
class Written:
    """An item's file and what writing it collected (media, interactions, notes)."""

    data: bytes
    assets: ItemAssets


class ItemWriter:
    """Writes one item's ``assessmentItem`` (see the module's note).  Outcomes: SCORE, MAXSCORE,
    FEEDBACK (per option or blank), ANSWER_FB (a flashcard's back), SOLUTION_FB (the explanation after
    every attempt) and HINT_FB (the hints after a not-fully-correct one)."""

    def __init__(self, profile: Profile, renderer: Renderer, item: AnyItem, tool_version: str, strict: bool = False) -> None:
        self.p = profile
        self.t = templates(profile, strict)
        self.renderer = renderer
        self.item = item
        self.tool_version = tool_version
        self.assets = ItemAssets()
        self.body_writer = BodyWriter(profile, renderer, self.assets)
        self.outcomes: list[Outcome] = []
        self.modals: list[Modal] = []
        self.template: calc.Template | None = None
        self.rules: Rules = (("none",), lambda: Markup(""))  # set by the item type's writer
        #: The hints (each its blocks): shown up front by the types nothing scores (essay, flashcard),
        #: else after an attempt short of full marks.
        self.hints: list[Markup] = []
        #: The texts' markup converted ahead by a build's parent (:func:`prepare`), by Markdown text.
        self.prepared_blocks = renderer.converted.get(BLOCKS, _NOTHING)
        self.prepared_inline = renderer.converted.get(INLINE, _NOTHING)

    # texts -------------------------------------------------------------------------------------

    def blocks(self, md: str) -> Markup:
        """A Markdown text's block elements, as markup in the item's namespaces."""
        made = self.prepared_blocks.get(md)
        if made is not None:
            return cast(Markup, made)  # (what prepare() kept: Markup)
        html = self.renderer.html(md)
        if _as_is(md, html):
            return _markup(_as_lxml_writes(html))
        holder = self._holder()
        holder.extend(self.body_writer.blocks(md))
        return _inner(holder)

    def inline(self, md: str) -> Markup:
        """A one-paragraph text as a choice holds it (the ``<p>`` unwrapped: :meth:`.BodyWriter.inline_into`)."""
        made = self.prepared_inline.get(md)
        if made is not None:
            return cast(Markup, made)
        html = self.renderer.html(md)
        if html.startswith("<p>") and html.endswith(("</p>", "</p>\n")) and _as_is(md, html):
            inner = html[3 : html.rindex("</p>")]
            if "<p>" not in inner and "</p>" not in inner:
                return _markup(_as_lxml_writes(inner))
        holder = self._holder()
        self.body_writer.inline_into(holder, md)
        return _inner(holder)

    def _holder(self) -> etree._Element:
        """An element to build a part in, declaring the item's namespaces (serialized without it: :func:`_inner`)."""
        nsmap = {None: self.p.ns, "xsi": XSI_NS}
        if mathml_available():
            nsmap["m"] = MATHML_NS
        return etree.Element(self.p.tag("holder"), nsmap=nsmap)  # type: ignore[arg-type]  # lxml-stubs: None is the default namespace's key

    # the item ----------------------------------------------------------------------------------

    def write(self) -> bytes:
        """The item's file; a calculated item's raises :class:`.template.TemplateError` when QTI cannot hold it."""
        item = self.item
        if isinstance(item, CalculatedItem):
            # its texts from here on hold slots where the placeholders were (printed variables at the end)
            self.template = calc.build(self.p, item)
            item = self.item = self.template.item
        self._score_outcomes()
        kind, values = WRITERS[item.type](self)
        sections = self._solution(explanation(item, SOLUTION_LABELS))
        if sections:
            self.outcome("SOLUTION_FB", "single", "identifier")
        hints = bool(item.hints) and item.gradable
        if hints:
            self.outcome("HINT_FB", "single", "identifier")
            self.hints = [self.blocks(h) for h in item.hints]
        p, P = self.p, self.t.parts
        outcomes = tuple(self.outcomes)
        key, rules = self.rules
        if key is None:
            processing = P.processing(rules(), bool(sections), hints)
        else:
            processing = shared(p, ("processing", key, bool(sections), hints), lambda: P.processing(rules(), bool(sections), hints))
        out = self.t.of(kind).render(
            id=Markup(qti_id(item.id, "I_")),
            title=attr(one_line(item.name)),
            version=attr(self.tool_version),
            outcomes=shared(p, ("outcomes", outcomes), lambda: P.outcomes(outcomes)),
            calculated=self._calculated_parts(),
            processing=processing,
            modals=self.modals,
            sections=sections,
            hint_modal=hints,
            hints=self.hints,
            hint_title=_HINTS if len(item.hints) > 1 else _HINT,
            **values,
        ).encode("utf-8")
        if self.template is not None:
            root = etree.fromstring(out)
            calc.fill_slots(self.p, root, self.template.slots)
            out = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return out

    def outcome(self, ident: str, cardinality: str, base_type: str, default: str | None = None, **attrs: str) -> None:
        self.outcomes.append((ident, cardinality, base_type, default, tuple((self.p.attr(k), v) for k, v in attrs.items())))

    def _score_outcomes(self) -> None:
        item = self.item
        points = number_text(item.points)
        if item.type == "essay":
            # Scored by a person: the platform asks a grader, the rubric is in a scorer-only rubric block.
            # QTI 3.0 says so with external-scored; 2.1 has no such attribute (no SCORE rule = not machine-scored).
            extra = {"externalScored": "human"} if self.p.kebab else {}
            self.outcome("SCORE", "single", "float", "0", normalMaximum=points, **extra)
        elif item.type == "flashcard":
            self.outcome("SCORE", "single", "float", "0")
        else:
            self.outcome("SCORE", "single", "float", "0", normalMaximum=points)
        if item.type != "flashcard":
            self.outcome("MAXSCORE", "single", "float", points)

    def _calculated_parts(self) -> Markup:
        if self.template is None:
            return Markup("")
        holder = self._holder()
        holder.extend([*self.template.declarations, self.template.processing])
        return _inner(holder)

    # feedback ----------------------------------------------------------------------------------

    def _solution(self, sections: list[Section]) -> list[tuple[Markup, Markup | None, list[tuple[Markup | None, Markup]], list[Markup]]]:
        """The explanation's sections: heading, text, steps (title, text), items (every kind of
        section has a heading in QTI: :data:`.fields.SOLUTION_LABELS`)."""
        return [
            (
                text(s.label or ""),
                self.blocks(s.text) if s.text else None,
                [(text(step.title) if step.title else None, self.blocks(step.text)) for step in s.steps],
                [self.blocks(t) for t in s.items],
            )
            for s in sections
        ]

    # per type ----------------------------------------------------------------------------------

    def choice(self) -> tuple[str, dict[str, Any]]:
        item = self.item
        if isinstance(item, TrueFalseItem):
            options = [(_TRUE, "True", item.answer, item.true_feedback), (_FALSE, "False", not item.answer, item.false_feedback)]
            shuffle, max_choices = False, 1  # True before False, always
        else:
            assert isinstance(item, ChoiceItem)
            options = [(_option(o.id), o.text, o.correct, o.feedback) for o in item.options]
            shuffle = item.shuffle
            max_choices = len(options) if item.type == "multiple_response" else 1
        stem = self.blocks(item.stem)
        choices = [(i, self.inline(t)) for i, t, _c, _f in options]
        self.assets.interactions.append("choiceInteraction")
        feedback = [(i, fb) for i, _t, _c, fb in options if fb]
        if feedback:
            self.outcome("FEEDBACK", "single" if max_choices == 1 else "multiple", "identifier")
            self.modals.extend((_FEEDBACK, i, _FEEDBACK_TITLE, self.blocks(fb)) for i, fb in feedback)
        keys = [i for i, _t, correct, _f in options if correct]
        mapping: list[tuple[str, str]] = []
        if isinstance(item, ChoiceItem) and item.type == "multiple_response" and item.scoring == "partial":
            # The exact key scores full points; any other response its mapped share: each key earns
            # points/k, each distractor costs points/(n-k), clamped to [0, points].
            n_wrong = max(1, len(options) - len(keys))
            mapping = [(i, _number(item.points / len(keys) if correct else -item.points / n_wrong)) for i, _t, correct, _f in options]
        P = self.t.parts
        self.rules = (
            ("choice", bool(mapping), bool(feedback)),
            lambda: P.score_if(P.match_correct(_RESPONSE), None, P.map_response(_RESPONSE) if mapping else None)
            + (P.mirror_feedback() if feedback else Markup("")),
        )
        return "choice", {
            "cardinality": _SINGLE if max_choices == 1 else _MULTIPLE,
            "keys": keys,
            "mapping": mapping,
            "points": _number(item.points),
            "stem": stem,
            "shuffle": _bool(shuffle),
            "max_choices": Markup(max_choices),
            "choices": choices,
            "feedback": bool(feedback),
        }

    def short_answer(self) -> tuple[str, dict[str, Any]]:
        item = self.item
        assert isinstance(item, ShortAnswerItem)
        points = _number(item.points)
        stem = self.blocks(item.stem)
        self.assets.interactions.append("textEntryInteraction")
        self.rules = self._mapped()
        return "short_answer", {
            "key": text(item.answers[0]),
            "points": points,
            "answers": [attr(a) for a in unique(item.answers)],
            "case_sensitive": _bool(item.case_sensitive),
            "stem": stem,
            "length": Markup(max(10, max(len(a) for a in item.answers) + 5)),
        }

    def numeric(self) -> tuple[str, dict[str, Any]]:
        item = self.item
        stem = self.blocks(item.stem)
        self.assets.interactions.append("textEntryInteraction")
        unit = text(f" {item.unit}") if item.unit else None  # type: ignore[union-attr]
        P = self.t.parts
        if isinstance(item, CalculatedItem):
            condition = self._calculated_condition()
            self.rules = (None, lambda: P.score_if(condition))
            return "calculated", {"stem": stem, "unit": unit}
        assert isinstance(item, NumericItem)
        low, high = item.bounds
        self.rules = (None, lambda: P.score_if(P.in_interval(_RESPONSE, _number(low), _number(high))))
        width = max(len(number_text(v)) for v in (*item.bounds, item.centre))
        return "numeric", {
            "key": _number(item.centre),
            "stem": stem,
            "unit": unit,
            "length": Markup(max(8, width + 2)),
        }

    def _calculated_condition(self) -> Markup:
        item = self.item
        assert isinstance(item, CalculatedItem)
        holder = self._holder()
        calc.score_condition(self.p, holder, item)
        return _inner(holder)

    def essay(self) -> tuple[str, dict[str, Any]]:
        item = self.item
        assert isinstance(item, EssayItem)
        stem = self.blocks(item.stem)
        limits = word_limits(item.min_words, item.max_words)
        self.hints = [self.blocks(h) for h in item.hints]  # nothing is scored by the machine: the hints come up front
        self.assets.interactions.append("extendedTextInteraction")
        criteria = [self._criterion(c) for c in item.rubric]
        return "essay", {
            "stem": stem,
            "limits": text(limits) if limits else None,
            "lines": Markup(expected_lines(item.max_words)),
            "placeholder": attr(item.response_template) if item.response_template else None,
            "criteria": criteria,
            "points": _number(item.points),
            "sample": self.blocks(item.sample_answer) if item.sample_answer else None,
        }

    def _criterion(self, c: Criterion) -> Markup:
        """``<strong>criterion (N pts)</strong>: description``, both rendered like the item's other texts
        (Markdown, math as MathML); a criterion or description of more than one paragraph as its blocks."""
        h = self.p.html
        holder = self._holder()
        li = etree.SubElement(holder, h("li"))
        points = f"({number_text(c.points)} pt{'s' if c.points != 1 else ''})"
        criterion = self.body_writer.blocks(c.criterion)
        end: etree._Element | None = None  # the strong whose tail takes ": description"
        if _one_paragraph(criterion):
            end = etree.SubElement(li, h("strong"))
            _move_content(criterion[0], end)
            _add_text(end, f" {points}")
        else:
            li.extend(criterion)
            etree.SubElement(etree.SubElement(li, h("p")), h("strong")).text = points
        if c.description:
            description = self.body_writer.blocks(c.description)
            if end is not None and _one_paragraph(description):
                end.tail = ": "
                _move_content(description[0], li)
            else:
                li.extend(description)
        return _inner(holder)

    def flashcard(self) -> tuple[str, dict[str, Any]]:
        item = self.item
        assert isinstance(item, FlashcardItem)
        stem = self.blocks(item.stem)
        self.hints = [self.blocks(h) for h in item.hints]  # as for essays: nothing is scored, so the hints come up front
        self.assets.interactions.append("extendedTextInteraction")
        self.outcome("ANSWER_FB", "single", "identifier")
        self.modals.append((*_ANSWER_MODAL, self.blocks(item.answer)))
        P = self.t.parts
        self.rules = (("flashcard",), lambda: P.flashcard_rule())
        return "flashcard", {"stem": stem}

    def matching(self) -> tuple[str, dict[str, Any]]:
        item = self.item
        assert isinstance(item, MatchingItem)
        n = len(item.pairs)
        prompts = [Markup(f"P{i}") for i in range(1, n + 1)]
        # One target per distinct match (MatchingItem.targets): pairs that share a match take the
        # same target, so M<j> is the j-th distinct match (M<i> for pair i when none is shared).
        matches = [Markup(f"M{j}") for j in range(1, len(item.targets) + 1)]
        keys = [Markup(f"{p} {matches[t]}") for p, t in zip(prompts, item.target_of)]
        stem = self.blocks(item.stem)
        sources = [(p, self.inline(pair.prompt)) for p, pair in zip(prompts, item.pairs)]
        answers = list(zip(matches, item.targets)) + [(Markup(f"D{i}"), t) for i, t in enumerate(item.distractors, 1)]
        self.assets.interactions.append("matchInteraction")
        self.rules = self._mapped()
        return "matching", {
            "keys": keys,
            "points": _number(item.points),
            "share": _number(item.points / n),
            "stem": stem,
            "shuffle": _bool(item.shuffle),
            "n": Markup(n),
            "sources": sources,
            # plain text (itembank.fields): literal, never rendered as Markdown
            "targets": [(i, text(one_line(t))) for i, t in answers],
            # A shared match is given to several prompts: every target then takes any number of prompts
            # (matchMax 0, "no restriction" in QTI), as Moodle's dropdowns offer every answer to every
            # prompt; a limit on the shared targets only would tell learners which answers repeat.
            "match_max": Markup("0" if item.shares_matches else "1"),
        }

    def ordering(self) -> tuple[str, dict[str, Any]]:
        item = self.item
        assert isinstance(item, OrderingItem)
        idents = [Markup(f"S{i}") for i in range(1, len(item.sequence) + 1)]
        stem = self.blocks(item.stem)
        self.assets.interactions.append("orderInteraction")
        self.rules = self._matched()
        # Written scrambled (deterministically): a platform that ignores shuffle must not show the key.
        shown = [(i, text(one_line(t))) for i, t in scrambled(item.id, list(zip(idents, item.sequence)))]
        return "ordering", {"keys": idents, "stem": stem, "choices": shown}

    def cloze(self) -> tuple[str, dict[str, Any]]:
        return "cloze", _Cloze(self).values()

    def _mapped(self) -> Rules:
        """The processing of an item scored by its response's mapping (short answer, matching)."""
        P = self.t.parts
        return ("mapped",), lambda: P.score_if(P.positive_map(_RESPONSE), P.map_response(_RESPONSE))

    def _matched(self) -> Rules:
        """The processing of an item scored by matching the correct response (ordering)."""
        P = self.t.parts
        return ("matched",), lambda: P.score_if(P.match_correct(_RESPONSE))

    def _inline_choices(self, blank: Blank) -> list[str]:
        item = self.item
        assert isinstance(item, ClozeItem)
        names = [b.name for b in item.blanks]
        return [blank_choice(blank.name, n, names) for n in range(1, len(blank.choices) + 1)]


class _Cloze:
    """A cloze item's parts: the stem with its blanks put in and the per-blank scoring are trees by
    nature (the blanks stand anywhere in the rendered stem), built with lxml and serialized."""

    def __init__(self, w: ItemWriter) -> None:
        self.w, self.p = w, w.p
        item = w.item
        assert isinstance(item, ClozeItem)
        self.item = item
        self.idents = {b.name: blank_response(b.name) for b in item.blanks}

    def values(self) -> dict[str, Any]:
        w, p, item, idents = self.w, self.p, self.item, self.idents
        total = sum(b.points for b in item.blanks) or 1.0
        # SCORE = sum of the shares of the blanks answered correctly.  When the shares written as
        # decimals do not add up to the item's points exactly (1 point over 3 blanks:
        # 0.3333333333333333 x 3 = 0.9999999999999999, never full marks), SCORE sums the blanks'
        # own points and is scaled once at the end: (sum x points) / total is exact at full marks.
        shares = [item.points * b.points / total for b in item.blanks]
        exact = sum(Decimal(number_text(x)) for x in shares) == Decimal(number_text(item.points))
        weights = shares if exact else [b.points for b in item.blanks]
        declarations = w._holder()
        for blank, share in zip(item.blanks, shares):
            # A text blank's mapping only says "accepted" (> 0); it shows the blank's share of the
            # points, to 12 significant digits when the share has no short decimal.
            self._declaration(declarations, blank, idents[blank.name], share if exact else float(number_text(share, significant=12)))
        body = w._holder()
        # The placeholders as tokens Markdown cannot touch (a blank named _a_ is no emphasis).
        opaque = opaque_placeholders(item.stem)
        body.extend(w.body_writer.blocks(opaque.text))
        # Each token becomes the blank's inline interaction; one in code (or an attribute) is given back as written.
        place_blanks(body, opaque, _in_code, lambda name: self._interaction(self.item.blank(name), self.idents[name]))
        rules = w._holder()
        for blank, weight in zip(item.blanks, weights):
            self._rule(rules, blank, idents[blank.name], weight)
        if not exact:
            scaled = p.el(p.el(p.el(rules, "setOutcomeValue", identifier="SCORE"), "divide"), "product")
            p.el(scaled, "variable", identifier="SCORE")
            p.el(scaled, "baseValue", number_text(item.points), baseType="float")
            p.el(scaled.getparent(), "baseValue", number_text(total), baseType="float")
        fb = [b for b in item.blanks if b.feedback]
        if fb:
            w.outcome("FEEDBACK", "multiple", "identifier")
            for blank in fb:
                self._feedback_rule(rules, blank)
            w.modals.extend(
                (_FEEDBACK, Markup(blank_feedback(b.name)), attr(f"Blank {b.name}"), w.blocks(b.feedback or "")) for b in fb
            )
        made = _inner(rules)
        w.rules = (None, lambda: made)
        return {"declarations": _inner(declarations), "body": _inner(body)}

    def _declaration(self, parent: etree._Element, blank: Blank, ident: str, share: float) -> None:
        p = self.p
        if blank.kind == "choice":
            idents = self.w._inline_choices(blank)
            keys = [idents[i] for i, c in enumerate(blank.choices) if c == blank.correct]
            self._response(parent, ident, "identifier", keys[:1])
        elif blank.kind == "numeric":
            assert blank.number is not None
            self._response(parent, ident, "float", [number_text(blank.number)])
        else:
            decl = self._response(parent, ident, "string", [blank.answers[0]])
            mapping = p.el(decl, "mapping", lowerBound="0", upperBound=number_text(share), defaultValue="0")
            for answer in unique(blank.answers):
                p.el(mapping, "mapEntry", mapKey=answer, mappedValue=number_text(share), caseSensitive=_bool(blank.case_sensitive))

    def _response(self, parent: etree._Element, ident: str, base_type: str, values: list[str]) -> etree._Element:
        p = self.p
        decl = p.el(parent, "responseDeclaration", identifier=ident, cardinality="single", baseType=base_type)
        if values:
            cr = p.el(decl, "correctResponse")
            for v in values:
                p.el(cr, "value", v)
        return decl

    def _correct(self, parent: etree._Element, blank: Blank, ident: str) -> None:
        p = self.p
        if blank.kind == "choice":
            m = p.el(parent, "match")
            p.el(m, "variable", identifier=ident)
            p.el(m, "correct", identifier=ident)
        elif blank.kind == "numeric":
            assert blank.number is not None
            low, high = blank.bounds
            both = p.el(parent, "and")
            for op, bound in (("gte", low), ("lte", high)):
                cmp = p.el(both, op)
                p.el(cmp, "variable", identifier=ident)
                p.el(cmp, "baseValue", number_text(bound), baseType="float")
        else:
            gt = p.el(parent, "gt")
            p.el(gt, "mapResponse", identifier=ident)
            p.el(gt, "baseValue", "0", baseType="float")

    def _if_answered(self, rules: etree._Element, ident: str) -> etree._Element:
        """A ``responseIf`` entered only when ``ident`` has a value.  Nested rather than ``and``-ed so
        that no operator ever sees a null response (the player's mapResponse fails on null strings)."""
        p = self.p
        branch = p.el(p.el(rules, "responseCondition"), "responseIf")
        p.el(p.el(p.el(branch, "not"), "isNull"), "variable", identifier=ident)
        return branch

    def _rule(self, rules: etree._Element, blank: Blank, ident: str, share: float) -> None:
        p = self.p
        branch = p.el(p.el(self._if_answered(rules, ident), "responseCondition"), "responseIf")
        self._correct(branch, blank, ident)
        total = p.el(p.el(branch, "setOutcomeValue", identifier="SCORE"), "sum")
        p.el(total, "variable", identifier="SCORE")
        p.el(total, "baseValue", number_text(share), baseType="float")

    def _feedback_rule(self, rules: etree._Element, blank: Blank) -> None:
        """FEEDBACK holds FB_<blank> for each blank answered but not correctly."""
        p = self.p
        ident = self.idents[blank.name]
        value = blank_feedback(blank.name)
        branch = p.el(p.el(self._if_answered(rules, ident), "responseCondition"), "responseIf")
        self._correct(p.el(branch, "not"), blank, ident)
        # FEEDBACK starts NULL: the first blank sets it, later ones add to it.
        update = p.el(branch, "responseCondition")
        first = p.el(update, "responseIf")
        p.el(p.el(first, "isNull"), "variable", identifier="FEEDBACK")
        p.el(p.el(p.el(first, "setOutcomeValue", identifier="FEEDBACK"), "multiple"), "baseValue", value, baseType="identifier")
        multiple = p.el(p.el(p.el(update, "responseElse"), "setOutcomeValue", identifier="FEEDBACK"), "multiple")
        p.el(multiple, "variable", identifier="FEEDBACK")
        p.el(multiple, "baseValue", value, baseType="identifier")

    def _interaction(self, blank: Blank, ident: str) -> etree._Element:
        p, assets = self.p, self.w.assets
        if blank.kind == "choice":
            inter = p.el(None, "inlineChoiceInteraction", responseIdentifier=ident, shuffle="false")
            for choice, cid in zip(blank.choices, self.w._inline_choices(blank)):
                # A dropdown choice is plain text (itembank.fields): written literally.
                p.el(inter, "inlineChoice", one_line(choice), identifier=cid)
            assets.interactions.append("inlineChoiceInteraction")
            return inter
        if blank.kind == "numeric":
            length = len(number_text(blank.number or 0)) + 2
        else:
            length = max(len(a) for a in blank.answers) + 2
        assets.interactions.append("textEntryInteraction")
        return p.el(None, "textEntryInteraction", responseIdentifier=ident, expectedLength=str(max(6, length)))


#: The writer of each item type's values, and its template (a type missing here has no equivalent in this format).
WRITERS: dict[str, Callable[[ItemWriter], tuple[str, dict[str, Any]]]] = {
    "multiple_choice": ItemWriter.choice,
    "multiple_response": ItemWriter.choice,
    "true_false": ItemWriter.choice,
    "short_answer": ItemWriter.short_answer,
    "numeric": ItemWriter.numeric,
    "calculated": ItemWriter.numeric,
    "essay": ItemWriter.essay,
    "matching": ItemWriter.matching,
    "ordering": ItemWriter.ordering,
    "cloze": ItemWriter.cloze,
    "flashcard": ItemWriter.flashcard,
}


# --- texts converted ahead, for both versions -----------------------------------------------------

#: The kinds of :attr:`Renderer.converted` that :func:`prepare` fills: a text's blocks, a choice's
#: or a prompt's inline content.
BLOCKS, INLINE = "qti-blocks", "qti-inline"
_NOTHING: dict[str, str] = {}
#: An attribute :func:`.body.fit_mathml` fits to each version's MathML (a text whose markup holds one
#: is left to each version; found in a text too, where it changes nothing, the text is only left so).
_FITTED = re.compile(r'\s(?:width|lspace|rspace|height|depth)="')


def prepare(items: Sequence[AnyItem], renderer: Renderer) -> None:
    """The markup of ``items``' Markdown texts (:meth:`ItemWriter.blocks`, a choice's or a prompt's
    :meth:`ItemWriter.inline`), kept in ``renderer.converted`` for the writers of both versions: a
    build's parent converts them once before it forks its workers, which inherit them, instead of the
    QTI 2.1 and 3.0 exports each converting every text again (``Exporter.prepares``).

    Only a text whose markup is the same in both versions, and whose conversion collects nothing for
    the item: not a plain sentence (written in the time a lookup takes), an image (a file of the
    package), a note (a link in a choice), nor MathML that a version fits (:data:`_FITTED`).  XHTML
    elements have the same names in both versions, and a text's markup is serialized without its
    holder's namespace declarations (:func:`_inner`), so what the QTI 2.1 writer makes of such a text
    is what the 3.0 writer makes of it.  A text whose conversion fails is left to the export, which
    reports it as it does without this."""
    blocks = renderer.converted.setdefault(BLOCKS, {})
    inline = renderer.converted.setdefault(INLINE, {})
    for item in items:
        if isinstance(item, ChoiceItem):
            choices = [o.text for o in item.options]
        elif isinstance(item, MatchingItem):
            choices = [p.prompt for p in item.pairs]
        else:
            choices = []
        writer: ItemWriter | None = None
        for md, kept, convert in [*((t, blocks, ItemWriter.blocks) for t in markdown_texts(item) if t not in choices), *((t, inline, ItemWriter.inline) for t in choices)]:
            if md in kept or PLAIN.match(md):
                continue
            if writer is None:
                writer = ItemWriter(QTI21, renderer, item, "")
                writer.prepared_blocks = writer.prepared_inline = _NOTHING
            writer.assets = writer.body_writer.assets = ItemAssets()
            try:
                made = convert(writer, md)
            except Exception:  # noqa: BLE001 - the export meets the text again and reports it
                continue
            if _same_in_both(made, writer.assets):
                kept[md] = made


def _same_in_both(made: Markup, collected: ItemAssets) -> bool:
    """Whether a text's markup ``made``, which collected ``collected`` for its item, is what either
    version writes and all that writing it does (see :func:`prepare`)."""
    return not (collected.media or collected.notes or collected.interactions or _FITTED.search(made))


def _inner(holder: etree._Element) -> Markup:
    """What ``holder`` holds, serialized in its namespaces (its own tags cut off)."""
    out = etree.tostring(holder, encoding=str)
    if out.endswith("/>"):
        return Markup(holder.text or "")
    return Markup(out[out.index(">") + 1 : out.rindex("</")])


def _in_code(element: etree._Element) -> bool:
    """Whether a cloze placeholder in ``element`` is code (``pre``, ``code``): it stays as written."""
    return etree.QName(element).localname in ("pre", "code")


def _one_paragraph(blocks: list[etree._Element]) -> bool:
    return len(blocks) == 1 and etree.QName(blocks[0]).localname == "p"


def _add_text(parent: etree._Element, value: str) -> None:
    """``value`` after everything ``parent`` holds."""
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + value
    else:
        parent.text = (parent.text or "") + value


def _move_content(source: etree._Element, target: etree._Element) -> None:
    """``source``'s text and children, appended to what ``target`` holds (``source`` left empty)."""
    if source.text:
        _add_text(target, source.text)
    for child in list(source):
        target.append(child)


def _bool(value: bool) -> Markup:
    return _TRUE if value else _FALSE


_TRUE, _FALSE = Markup("true"), Markup("false")
_RESPONSE = Markup("RESPONSE")


@lru_cache(maxsize=4096)  # points and shares repeat across items
def _number(value: float) -> Markup:
    """A number as QTI writes it (:func:`..kit.numbers.number_text`: digits, a sign, a point, an exponent)."""
    return Markup(number_text(value))


@lru_cache(maxsize=1024)  # option ids (a, b, c...) repeat across items
def _option(raw: str) -> Markup:
    """A choice's identifier (:func:`.ids.option_id`: an NCName)."""
    return Markup(option_id(raw))


_SINGLE, _MULTIPLE = Markup("single"), Markup("multiple")
_FEEDBACK, _FEEDBACK_TITLE = Markup("FEEDBACK"), Markup("Feedback")
_HINT, _HINTS = Markup("Hint"), Markup("Hints")
_ANSWER_MODAL = (Markup("ANSWER_FB"), Markup("ANSWER"), Markup("Answer"))

