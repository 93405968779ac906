"""One item -> a QTI assessmentItem: interactions, response processing, feedback (one builder per item type)."""

from __future__ import annotations

from decimal import Decimal

import hashlib
from collections.abc import Callable, Hashable, Iterable
from typing import ClassVar

from lxml import etree

from itembank.model import (
    AnyItem,
    Blank,
    CalculatedItem,
    ChoiceItem,
    ClozeItem,
    Criterion,
    EssayItem,
    FlashcardItem,
    ItemType,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
    OpaqueStem,
    markdown_texts,
    opaque_placeholders,
)
from itembank.render import Renderer

from ..kit.blanks import place_blanks
from ..kit.explain import Section, SectionKind, explanation
from ..kit.numbers import number_text
from ..kit.mathml import available as mathml_available
from .body import BodyWriter, ItemAssets
from .ids import blank_choice, blank_feedback, blank_response, option_id, qti_id
from .profiles import MATHML_NS, TOOL_NAME, XSI_NS, Profile
from . import template

# --- one item -------------------------------------------------------------------------------

#: Declarations and rules that are the same in many items, built once per profile and then copied
#: (an lxml deep copy costs about what one element built from Python does, whatever its size).
_SHARED: dict[tuple[str, Hashable], etree._Element] = {}
_SHARED_MAX = 4096  # distinct shapes kept (both versions); beyond it a shape is built each time (same tree, only slower)


def shared(profile: Profile, key: Hashable, build: Callable[[], etree._Element]) -> etree._Element:
    """A copy of the tree ``build()`` makes, which depends on ``profile`` and ``key`` only."""
    proto = _SHARED.get((profile.key, key))
    if proto is None:
        proto = build()
        if len(_SHARED) >= _SHARED_MAX:
            return proto
        _SHARED[(profile.key, key)] = proto
    # lxml's __copy__ copies the whole subtree (what copy.deepcopy does, without its memo); called
    # directly, without copy.copy's lookup of it (~0.4 us of each of ~20 copies an item)
    return proto.__copy__()  # type: ignore[attr-defined]  # lxml-stubs lack it (copy.copy's hook)


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
        # The body, the processing and the feedback are built in place in the item's tree (an element
        # moved from a tree of its own into another is walked again, all it holds); the declarations
        # go before the body when they are all known (responses first, then outcomes).
        self.body = self.p.el(self.root, "itemBody")
        self._rp = self.p.el(self.root, "responseProcessing")
        #: Rules that are the same in many items, not yet in the processing (:meth:`shared_rule`).
        self._rules: list[tuple[Hashable, Callable[[], etree._Element]]] = []
        self.responses: list[etree._Element] = []
        #: The outcome declarations, as (identifier, cardinality, baseType, default, attributes): made
        #: at the end, all in one copy (most items of a bank declare the same outcomes).
        self.outcomes: list[OutcomeSpec] = []
        self.template: template.Template | None = None
        #: The modal feedback asked for, made at the end (:meth:`modal`): (outcome, identifier, title), fill.
        self._modals: list[tuple[tuple[str, str, str], Callable[..., None]]] = []
        self.sections: list[Section] = []  # the explanation's, set by build()

    # structure ---------------------------------------------------------------------------

    def _root(self) -> etree._Element:
        # A new root with its namespace declarations is the dearest element of an item: copied from
        # a prototype, its identifier and title set in place (same attribute order).
        root = shared(self.p, ("root", self.tool_version), self._new_root)
        root.set("identifier", qti_id(self.item.id, "I_"))
        root.set("title", _one_line(self.item.name))
        return root

    def _new_root(self) -> etree._Element:
        nsmap = {None: self.p.ns, "xsi": XSI_NS}
        if mathml_available():
            nsmap["m"] = MATHML_NS
        root = etree.Element(self.p.tag("assessmentItem"), nsmap=nsmap)  # type: ignore[arg-type]  # lxml-stubs: None is the default namespace's key
        root.set(f"{{{XSI_NS}}}schemaLocation", f"{self.p.ns} {self.p.schema_location}")
        root.set("identifier", "")
        root.set("title", "")
        root.set(self.p.attr("adaptive"), "false")
        root.set(self.p.attr("timeDependent"), "false")
        root.set(self.p.attr("toolName"), TOOL_NAME)
        if self.tool_version:
            root.set(self.p.attr("toolVersion"), self.tool_version)
        return root

    def build(self) -> etree._Element:
        """The item's tree; a calculated item's raises :class:`template.TemplateError` when QTI cannot hold it."""
        if isinstance(self.item, CalculatedItem):
            # its texts from here on hold slots where the placeholders were (printedVariables at the end)
            self.template = template.build(self.p, self.item)
            self.item = self.template.item
        self.sections = explanation(self.item, SOLUTION_LABELS)
        self.body_writer.parse_ahead(markdown_texts(self.item))
        self._score_outcomes()
        self.BUILDERS[self.item.type](self)
        self._general_feedback()
        self._take_modals()
        for node in [*self.responses, *self._outcome_declarations()]:
            self.body.addprevious(node)
        if self.template is not None:
            for node in [*self.template.declarations, self.template.processing]:
                self.body.addprevious(node)
        if not len(self.rp):
            self.root.remove(self._rp)
        if self.template is not None:
            template.fill_slots(self.p, self.root, self.template.slots)
        return self.root

    # declarations ------------------------------------------------------------------------

    def response(self, ident: str, cardinality: str, base_type: str, correct: Iterable[str] = ()) -> etree._Element:
        values = tuple(correct)

        def build() -> etree._Element:
            decl = self.p.el(None, "responseDeclaration", identifier=ident, cardinality=cardinality, baseType=base_type)
            if values:
                cr = self.p.el(decl, "correctResponse")
                for v in values:
                    self.p.el(cr, "value", v)
            return decl

        # a string or float key is the author's text or number, nearly always different: not worth
        # keeping (the numeric items of 10,000 generated ones were 1,500 of the 2,048 shapes kept,
        # and every shape past them was built each time: the resources, feedback shells...)
        decl = build() if base_type in ("string", "float") else shared(self.p, ("response", ident, cardinality, base_type, values), build)
        self.responses.append(decl)
        return decl

    def outcome(self, ident: str, cardinality: str, base_type: str, default: str | None = None, **attrs: str) -> None:
        self.outcomes.append((ident, cardinality, base_type, default, tuple(attrs.items())))

    def _outcome_declarations(self) -> list[etree._Element]:
        """The item's outcome declarations, in the order declared: copied together."""
        specs = tuple(self.outcomes)
        return list(shared(self.p, ("outcomes", specs), lambda: _holder(_outcome_declaration(self.p, spec) for spec in specs)))

    def _score_outcomes(self) -> None:
        item = self.item
        if item.type == "essay":
            # Scored by a person: the platform asks a grader, the rubric is in a scorer-only rubric block.
            # QTI 3.0 says so with external-scored; 2.1 has no such attribute (no SCORE rule = not machine-scored).
            extra = {"externalScored": "human"} if self.p.kebab else {}
            self.outcome("SCORE", "single", "float", "0", normalMaximum=number_text(item.points), **extra)
        elif item.type == "flashcard":
            self.outcome("SCORE", "single", "float", "0")
        else:
            self.outcome("SCORE", "single", "float", "0", normalMaximum=number_text(item.points))
        if item.type != "flashcard":
            self.outcome("MAXSCORE", "single", "float", number_text(item.points))

    # response processing helpers ------------------------------------------------------------

    @property
    def rp(self) -> etree._Element:
        """The responseProcessing, every rule given so far in it."""
        if self._rules:
            self._take_rules()
        return self._rp

    def shared_rule(self, key: Hashable, build: Callable[[], etree._Element]) -> None:
        """A rule that ``key`` names whatever the item (see :func:`shared`), after the rules before it.

        Kept back until the processing is asked for, so that the rules given one after another
        (an item's score, feedback, solution and hint rules) are one copy."""
        self._rules.append((key, build))

    def _take_rules(self) -> None:
        rules, self._rules = self._rules, []  # (the builds refer to the builder: no cycle left, see _take_modals)
        if len(rules) == 1:
            self._rp.append(shared(self.p, *rules[0]))
            return
        holder = shared(self.p, ("rules", tuple(key for key, _ in rules)), lambda: _holder(build() for _, build in rules))
        self._rp.extend(list(holder))

    def set_outcome(self, parent: etree._Element | None, ident: str) -> etree._Element:
        return self.p.el(parent, "setOutcomeValue", identifier=ident)

    def base(self, parent: etree._Element, base_type: str, value: str) -> etree._Element:
        return self.p.el(parent, "baseValue", value, baseType=base_type)

    def var(self, parent: etree._Element, ident: str) -> etree._Element:
        return self.p.el(parent, "variable", identifier=ident)

    def score_if(self, build_condition, score_expr=None, *, otherwise_expr=None, null_response: str | None = "RESPONSE",
                 same: str | None = None) -> None:
        """``if RESPONSE is null: SCORE=0 elif condition: SCORE=MAXSCORE (or expr) else SCORE=0 (or expr)``.

        ``same``: a name for a rule that is the same in every item (built once, then copied)."""

        def build() -> etree._Element:
            cond = self.p.el(None, "responseCondition")
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
            return cond

        if same is None:
            self.rp.append(build())
        else:
            self.shared_rule(("score", same, null_response), build)

    def match_correct(self, parent: etree._Element, ident: str = "RESPONSE") -> None:
        m = self.p.el(parent, "match")
        self.var(m, ident)
        self.p.el(m, "correct", identifier=ident)

    def mirror_feedback(self) -> None:
        """FEEDBACK := RESPONSE (when answered), so each chosen option's modal feedback shows."""

        def build() -> etree._Element:
            cond = self.p.el(None, "responseCondition")
            branch = self.p.el(cond, "responseIf")
            self.var(self.p.el(self.p.el(branch, "not"), "isNull"), "RESPONSE")
            self.var(self.set_outcome(branch, "FEEDBACK"), "RESPONSE")
            return cond

        self.shared_rule("mirror-feedback", build)

    def modal(self, outcome: str, ident: str, title: str, fill: Callable[..., None]) -> None:
        """A modalFeedback shown when ``outcome`` holds ``ident``, its content put in by ``fill(parent)``.

        Made at the end of the item (:meth:`_take_modals`), after the processing, in the order asked
        for; nothing an item type builds after its first feedback says anything (a note) before it."""
        self._modals.append(((outcome, ident, title), fill))

    def _take_modals(self) -> None:
        """The item's modal feedback: the empty feedback elements (and 3.0's content wrappers) are
        one copy of those of items with the same (outcome, identifier, title) run, each then filled."""
        # taken out of the builder: the fills refer to it, and a cycle would keep every item's tree
        # alive while an export pauses the cyclic collector (itembank.gcpause)
        modals, self._modals = self._modals, []
        if not modals:
            return
        keys = tuple(key for key, _ in modals)
        holder = shared(self.p, ("modals", keys), lambda: _holder(_modal_shell(self.p, *key) for key in keys))
        for fb, (_, fill) in zip(list(holder), modals):
            self.root.append(fb)
            fill(fb[0] if self.p.kebab else fb)

    # stem ------------------------------------------------------------------------------------

    def stem(self, parent: etree._Element | None = None) -> None:
        self.body_writer.into(self.body if parent is None else parent, self.item.stem)

    # per type --------------------------------------------------------------------------------

    def _choices(self, options: list[tuple[str, str, bool, str | None]], max_choices: int, shuffle: bool) -> None:
        """One choiceInteraction; options are (identifier, text, correct, feedback)."""
        self.stem()
        idents = tuple(ident for ident, *_rest in options)
        inter = shared(self.p, ("choices", idents, max_choices, shuffle), lambda: self._choice_shell(idents, max_choices, shuffle))
        self.body.append(inter)
        for choice, (_ident, text, _correct, _fb) in zip(inter, options):
            self.body_writer.inline_into(choice, text)
        self.assets.interactions.append("choiceInteraction")
        with_feedback = [(i, fb) for i, _t, _c, fb in options if fb]
        if with_feedback:
            card = "single" if max_choices == 1 else "multiple"
            self.outcome("FEEDBACK", card, "identifier")
            for ident, fb_text in with_feedback:
                self.modal("FEEDBACK", ident, "Feedback", lambda parent, t=fb_text: self.body_writer.into(parent, t))

    def _choice_shell(self, idents: tuple[str, ...], max_choices: int, shuffle: bool) -> etree._Element:
        """A choiceInteraction with an empty simpleChoice per identifier (:meth:`_choices` fills them)."""
        inter = self.p.el(None, "choiceInteraction", responseIdentifier="RESPONSE", shuffle=_bool(shuffle),
                          maxChoices=str(max_choices), minChoices="0")
        for ident in idents:
            self.p.el(inter, "simpleChoice", identifier=ident)
        return inter

    def _build_multiple_choice(self) -> None:
        item = self.item
        assert isinstance(item, ChoiceItem)
        opts = [(option_id(o.id), o.text, o.correct, o.feedback) for o in item.options]
        self.response("RESPONSE", "single", "identifier", [i for i, _t, c, _f in opts if c])
        self._choices(opts, 1, item.shuffle)
        self.score_if(lambda b: self.match_correct(b), same="match")
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
        self.score_if(lambda b: self.match_correct(b), same="match")
        if item.true_feedback or item.false_feedback:
            self.mirror_feedback()

    def _build_multiple_response(self) -> None:
        item = self.item
        assert isinstance(item, ChoiceItem)
        opts = [(option_id(o.id), o.text, o.correct, o.feedback) for o in item.options]
        keys = [i for i, _t, c, _f in opts if c]
        decl = self.response("RESPONSE", "multiple", "identifier", keys)
        self._choices(opts, len(opts), item.shuffle)
        if item.scoring == "partial":
            # The exact key scores full points; any other response its mapped share: each key earns
            # points/k, each distractor costs points/(n-k), clamped to [0, points].
            n_wrong = max(1, len(opts) - len(keys))
            mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=number_text(item.points), defaultValue="0")
            for ident, _t, correct, _f in opts:
                value = item.points / len(keys) if correct else -item.points / n_wrong
                self.p.el(mapping, "mapEntry", mapKey=ident, mappedValue=number_text(value))
            self.score_if(lambda b: self.match_correct(b), otherwise_expr=lambda t: self.p.el(t, "mapResponse", identifier="RESPONSE"), same="match-else-map")
        else:
            self.score_if(lambda b: self.match_correct(b), same="match")
        if any(fb for *_x, fb in opts):
            self.mirror_feedback()

    def _build_short_answer(self) -> None:
        item = self.item
        assert isinstance(item, ShortAnswerItem)
        decl = self.response("RESPONSE", "single", "string", [item.answers[0]])
        mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=number_text(item.points), defaultValue="0")
        for answer in _unique(item.answers):
            self.p.el(mapping, "mapEntry", mapKey=answer, mappedValue=number_text(item.points), caseSensitive=_bool(item.case_sensitive))
        self.stem()
        para = etree.SubElement(self.body, self.p.html("p"))
        longest = max(len(a) for a in item.answers)
        self.p.el(para, "textEntryInteraction", responseIdentifier="RESPONSE", expectedLength=str(max(10, longest + 5)))
        self.assets.interactions.append("textEntryInteraction")
        self.score_if(lambda b: self._is_positive_map(b, "RESPONSE"), lambda t: self.p.el(t, "mapResponse", identifier="RESPONSE"), same="map")

    def _is_positive_map(self, parent: etree._Element, ident: str) -> None:
        gt = self.p.el(parent, "gt")
        self.p.el(gt, "mapResponse", identifier=ident)
        self.base(gt, "float", "0")

    def _build_numeric(self) -> None:
        item = self.item
        assert isinstance(item, NumericItem)
        self.response("RESPONSE", "single", "float", [number_text(item.centre)])
        self.stem()
        para = etree.SubElement(self.body, self.p.html("p"))
        width = max(len(number_text(v)) for v in (*item.bounds, item.centre))
        inter = self.p.el(para, "textEntryInteraction", responseIdentifier="RESPONSE", expectedLength=str(max(8, width + 2)))
        if item.unit:
            inter.tail = f" {item.unit}"
        self.assets.interactions.append("textEntryInteraction")
        self.score_if(lambda b: self._in_interval(b, "RESPONSE", *item.bounds))

    def _build_calculated(self) -> None:
        """Template processing draws the values and computes the answer (see :mod:`.template`); the
        response is compared with it within the tolerance."""
        item = self.item
        assert isinstance(item, CalculatedItem)
        self.response("RESPONSE", "single", "float")  # the correct response is set by template processing
        self.stem()
        para = etree.SubElement(self.body, self.p.html("p"))
        inter = self.p.el(para, "textEntryInteraction", responseIdentifier="RESPONSE", expectedLength="12")
        if item.unit:
            inter.tail = f" {item.unit}"
        self.assets.interactions.append("textEntryInteraction")
        self.score_if(lambda b: template.score_condition(self.p, b, item))

    def _in_interval(self, parent: etree._Element, ident: str, low: float, high: float) -> None:
        both = self.p.el(parent, "and")
        gte = self.p.el(both, "gte")
        self.var(gte, ident)
        self.base(gte, "float", number_text(low))
        lte = self.p.el(both, "lte")
        self.var(lte, ident)
        self.base(lte, "float", number_text(high))

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
        """Essays and flashcards have no correct/incorrect, so hints are shown up front in a candidate rubric block."""
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
                self._criterion_into(etree.SubElement(ul, h("li")), c)
        else:
            etree.SubElement(target, h("p")).text = f"Up to {number_text(item.points)} points, scored by a person."
        if item.sample_answer:
            etree.SubElement(target, h("h4")).text = "Sample answer"
            self.body_writer.into(target, item.sample_answer)

    def _criterion_into(self, li: etree._Element, c: Criterion) -> None:
        """``<strong>criterion (N pts)</strong>: description``, both rendered like the item's other texts
        (Markdown, math as MathML); a criterion or description of more than one paragraph as its blocks."""
        h = self.p.html
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
        if not c.description:
            return
        description = self.body_writer.blocks(c.description)
        if end is not None and _one_paragraph(description):
            end.tail = ": "
            _move_content(description[0], li)
        else:
            li.extend(description)

    def _build_matching(self) -> None:
        item = self.item
        assert isinstance(item, MatchingItem)
        n = len(item.pairs)
        prompts = [f"P{i}" for i in range(1, n + 1)]
        # One target per distinct match (MatchingItem.targets): pairs that share a match take the
        # same target, so M<j> is the j-th distinct match (M<i> for pair i when none is shared).
        matches = [f"M{j}" for j in range(1, len(item.targets) + 1)]
        keys = [f"{p} {matches[t]}" for p, t in zip(prompts, item.target_of)]
        decl = self.response("RESPONSE", "multiple", "directedPair", keys)
        mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=number_text(item.points), defaultValue="0")
        for key in keys:
            self.p.el(mapping, "mapEntry", mapKey=key, mappedValue=number_text(item.points / n))
        self.stem()
        inter = self.p.el(self.body, "matchInteraction", responseIdentifier="RESPONSE", shuffle=_bool(item.shuffle),
                          maxAssociations=str(n), minAssociations="0")
        sources = self.p.el(inter, "simpleMatchSet")
        for p, pair in zip(prompts, item.pairs):
            choice = self.p.el(sources, "simpleAssociableChoice", identifier=p, matchMax="1")
            self.body_writer.inline_into(choice, pair.prompt)
        targets = self.p.el(inter, "simpleMatchSet")
        answers = list(zip(matches, item.targets))
        answers += [(f"D{i}", text) for i, text in enumerate(item.distractors, 1)]
        # A shared match is given to several prompts: every target then takes any number of prompts
        # (matchMax 0, "no restriction" in QTI), as Moodle's dropdowns offer every answer to every
        # prompt; a limit on the shared targets only would tell learners which answers repeat.
        match_max = "0" if item.shares_matches else "1"
        for ident, text in answers:  # plain text (itembank.fields): literal, never rendered as Markdown
            self.p.el(targets, "simpleAssociableChoice", _one_line(text), identifier=ident, matchMax=match_max)
        self.assets.interactions.append("matchInteraction")
        self.score_if(lambda b: self._is_positive_map(b, "RESPONSE"), lambda t: self.p.el(t, "mapResponse", identifier="RESPONSE"), same="map")

    def _build_ordering(self) -> None:
        item = self.item
        assert isinstance(item, OrderingItem)
        idents = [f"S{i}" for i in range(1, len(item.sequence) + 1)]
        self.response("RESPONSE", "ordered", "identifier", idents)
        self.stem()
        inter = self.p.el(self.body, "orderInteraction", responseIdentifier="RESPONSE", shuffle="true")
        # Written scrambled (deterministically): a platform that ignores shuffle must not show the key.
        for ident, text in _scrambled(item.id, list(zip(idents, item.sequence))):  # plain text, literal
            self.p.el(inter, "simpleChoice", _one_line(text), identifier=ident)
        self.assets.interactions.append("orderInteraction")
        self.score_if(lambda b: self.match_correct(b), same="match")

    def _build_cloze(self) -> None:
        item = self.item
        assert isinstance(item, ClozeItem)
        total = sum(b.points for b in item.blanks) or 1.0
        idents = {b.name: blank_response(b.name) for b in item.blanks}
        # SCORE = sum of the shares of the blanks answered correctly.  When the shares written as
        # decimals do not add up to the item's points exactly (1 point over 3 blanks:
        # 0.3333333333333333 x 3 = 0.9999999999999999, never full marks), SCORE sums the blanks'
        # own points and is scaled once at the end: (sum x points) / total is exact at full marks.
        shares = [item.points * b.points / total for b in item.blanks]
        exact = sum(Decimal(number_text(x)) for x in shares) == Decimal(number_text(item.points))
        weights = shares if exact else [b.points for b in item.blanks]
        for blank, share in zip(item.blanks, shares):
            # A text blank's mapping only says "accepted" (> 0); it shows the blank's share of the
            # points, to 12 significant digits when the share has no short decimal.
            self._blank_declaration(blank, idents[blank.name], share if exact else float(number_text(share, significant=12)))
        holder = etree.Element("div")
        # The placeholders as tokens Markdown cannot touch (a blank named _a_ is no emphasis).
        opaque = opaque_placeholders(item.stem)
        self.body_writer.into(holder, opaque.text)
        # Each token becomes the blank's inline interaction; one in code (or an attribute) is given back as written.
        place_blanks(holder, opaque, _in_code, lambda parent, after, text: self._splice(parent, after, text, item, idents, opaque))
        for block in list(holder):
            self.body.append(block)
        for blank, weight in zip(item.blanks, weights):
            self._blank_rule(blank, idents[blank.name], weight)
        if not exact:
            scaled = self.p.el(self.p.el(self.set_outcome(self.rp, "SCORE"), "divide"), "product")
            self.var(scaled, "SCORE")
            self.base(scaled, "float", number_text(item.points))
            self.base(scaled.getparent(), "float", number_text(total))  # type: ignore[arg-type]
        fb = [b for b in item.blanks if b.feedback]
        if fb:
            self.outcome("FEEDBACK", "multiple", "identifier")
            self._blank_feedback_rules(fb, idents)
            for blank in fb:
                ident = blank_feedback(blank.name)
                self.modal("FEEDBACK", ident, f"Blank {blank.name}", lambda parent, t=blank.feedback: self.body_writer.into(parent, t))

    def _blank_declaration(self, blank: Blank, ident: str, share: float) -> None:
        if blank.kind == "choice":
            keys = [self._choice_ident(blank, i) for i, c in enumerate(blank.choices, 1) if c == blank.correct]
            self.response(ident, "single", "identifier", keys[:1])
        elif blank.kind == "numeric":
            assert blank.number is not None
            self.response(ident, "single", "float", [number_text(blank.number)])
        else:
            decl = self.response(ident, "single", "string", [blank.answers[0]])
            mapping = self.p.el(decl, "mapping", lowerBound="0", upperBound=number_text(share), defaultValue="0")
            for answer in _unique(blank.answers):
                self.p.el(mapping, "mapEntry", mapKey=answer, mappedValue=number_text(share), caseSensitive=_bool(blank.case_sensitive))

    def _choice_ident(self, blank: Blank, n: int) -> str:
        """The identifier of a dropdown blank's ``n``-th choice (from 1): see :func:`.ids.blank_choice`."""
        item = self.item
        assert isinstance(item, ClozeItem)
        return blank_choice(blank.name, n, [b.name for b in item.blanks])

    def _blank_correct(self, parent: etree._Element, blank: Blank, ident: str) -> None:
        if blank.kind == "choice":
            self.match_correct(parent, ident)
        elif blank.kind == "numeric":
            assert blank.number is not None
            self._in_interval(parent, ident, *blank.bounds)
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
        self.base(total, "float", number_text(share))

    def _blank_feedback_rules(self, blanks: list[Blank], idents: dict[str, str]) -> None:
        """FEEDBACK holds FB_<blank> for each blank answered but not correctly."""
        for blank in blanks:
            ident = idents[blank.name]
            value = blank_feedback(blank.name)
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

    def _splice(self, parent: etree._Element, after: etree._Element | None, text: str, item: ClozeItem, idents: dict[str, str], opaque: OpaqueStem) -> None:
        pos = 0 if after is None else parent.index(after) + 1
        last: etree._Element | None = after
        pieces = opaque.split(text)
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
                # A dropdown choice is plain text (itembank.fields): written literally.
                self.p.el(inter, "inlineChoice", _one_line(choice), identifier=self._choice_ident(blank, i))
            self.assets.interactions.append("inlineChoiceInteraction")
            return inter
        if blank.kind == "numeric":
            length = len(number_text(blank.number or 0)) + 2
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
        if item.hints:
            self._hint_rubric()  # as for essays: nothing is scored, so the hints come up front
        self.p.el(self.body, "extendedTextInteraction", responseIdentifier="RESPONSE", expectedLines="3")
        self.assets.interactions.append("extendedTextInteraction")
        self.outcome("ANSWER_FB", "single", "identifier")
        self.base(self.set_outcome(self.rp, "ANSWER_FB"), "identifier", "ANSWER")
        self.modal("ANSWER_FB", "ANSWER", "Answer", lambda parent: self.body_writer.into(parent, item.answer))

    # general feedback ---------------------------------------------------------------------------

    def _general_feedback(self) -> None:
        item = self.item
        sections = self.sections  # has_solution(item) is bool(sections)
        if sections:
            self.outcome("SOLUTION_FB", "single", "identifier")
            self.shared_rule("solution-rule", self._solution_rule)
            self.modal("SOLUTION_FB", "SOLUTION", "Explanation", lambda parent: self._solution_into(parent, sections))
        if item.hints and item.gradable:
            # Hints after an attempt that did not earn full marks: renders and scores everywhere,
            # unlike an endAttemptInteraction hint request (see docs/qti.md).
            self.outcome("HINT_FB", "single", "identifier")
            self.shared_rule("hint-rule", self._hint_rule)
            self.modal("HINT_FB", "HINT", "Hint", self._hints_into)

    def _solution_rule(self) -> etree._Element:
        rule = self.set_outcome(None, "SOLUTION_FB")
        self.base(rule, "identifier", "SOLUTION")
        return rule

    def _hint_rule(self) -> etree._Element:
        cond = self.p.el(None, "responseCondition")
        branch = self.p.el(cond, "responseIf")
        lt = self.p.el(branch, "lt")
        self.var(lt, "SCORE")
        self.var(lt, "MAXSCORE")
        self.base(self.set_outcome(branch, "HINT_FB"), "identifier", "HINT")
        return cond

    def _hints_into(self, parent: etree._Element) -> None:
        h = self.p.html
        etree.SubElement(parent, h("h4")).text = "Hint" if len(self.item.hints) == 1 else "Hints"
        ul = etree.SubElement(parent, h("ul"))
        for hint in self.item.hints:
            self.body_writer.into(etree.SubElement(ul, h("li")), hint)

    def _solution_into(self, parent: etree._Element, sections: list[Section]) -> None:
        h = self.p.html
        for section in sections:
            etree.SubElement(parent, h("h4")).text = section.label
            if section.text:
                self.body_writer.into(parent, section.text)
            if section.steps:
                ol = etree.SubElement(parent, h("ol"))
                for step in section.steps:
                    li = etree.SubElement(ol, h("li"))
                    if step.title:
                        etree.SubElement(li, h("p")).append(_strong(h, step.title))
                    self.body_writer.into(li, step.text)
            if section.items:
                ul = etree.SubElement(parent, h("ul"))
                for text in section.items:
                    self.body_writer.into(etree.SubElement(ul, h("li")), text)

    #: The builder of each item type (a type missing here has no equivalent in this format).
    BUILDERS: ClassVar[dict[ItemType, Callable[["ItemBuilder"], None]]] = {
        "multiple_choice": _build_multiple_choice,
        "multiple_response": _build_multiple_response,
        "true_false": _build_true_false,
        "short_answer": _build_short_answer,
        "numeric": _build_numeric,
        "essay": _build_essay,
        "matching": _build_matching,
        "ordering": _build_ordering,
        "cloze": _build_cloze,
        "flashcard": _build_flashcard,
        "calculated": _build_calculated,
    }


#: An outcome declaration: identifier, cardinality, baseType, default value, other attributes (2.1 spelling).
OutcomeSpec = tuple[str, str, str, "str | None", tuple[tuple[str, str], ...]]


def _holder(nodes: Iterable[etree._Element]) -> etree._Element:
    """An element (not QTI's) holding ``nodes``, for an item to take them from."""
    holder = etree.Element("holder")
    holder.extend(nodes)
    return holder


def _modal_shell(p: Profile, outcome: str, ident: str, title: str) -> etree._Element:
    """An empty modalFeedback (in 3.0 with its empty content wrapper)."""
    fb = p.el(None, "modalFeedback", outcomeIdentifier=outcome, identifier=ident, showHide="show", title=title)
    p.content(fb)
    return fb


def _outcome_declaration(p: Profile, spec: OutcomeSpec) -> etree._Element:
    """The outcomeDeclaration of ``spec``."""
    ident, cardinality, base_type, default, attrs = spec
    decl = p.el(None, "outcomeDeclaration", identifier=ident, cardinality=cardinality, baseType=base_type, **dict(attrs))
    if default is not None:
        p.el(p.el(decl, "defaultValue"), "value", default)
    return decl


def _in_code(element: etree._Element) -> bool:
    """Whether a cloze placeholder in ``element`` is code (``pre``, ``code``): it stays as written."""
    return etree.QName(element).localname in ("pre", "code")


def _one_paragraph(blocks: list[etree._Element]) -> bool:
    return len(blocks) == 1 and etree.QName(blocks[0]).localname == "p"


def _add_text(parent: etree._Element, text: str) -> None:
    """``text`` after everything ``parent`` holds."""
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _move_content(source: etree._Element, target: etree._Element) -> None:
    """``source``'s text and children, appended to what ``target`` holds (``source`` left empty)."""
    if source.text:
        _add_text(target, source.text)
    for child in list(source):
        target.append(child)


def _strong(h, text: str) -> etree._Element:
    node = etree.Element(h("strong"))
    node.text = text
    return node


#: Headings of the solution feedback's sections, in order (hints have their own modal feedback).
SOLUTION_LABELS: dict[SectionKind, str | None] = {
    "rationale": "Explanation",
    "steps": "Solution",
    "final_answer": "Answer",
    "quick_check": "Quick check",
    "common_mistakes": "Common mistakes",
}


def has_solution(item: AnyItem) -> bool:
    return bool(explanation(item, SOLUTION_LABELS))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _one_line(text: str) -> str:
    """A plain-text field (itembank.fields) where the format has no line break: spaces for breaks."""
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
