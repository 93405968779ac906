"""A calculated item as QTI template processing: template variables drawn at random, derived values and
the answer computed with QTI expressions, the correct response and the tolerance from them, and the
item's texts showing the values with ``printedVariable``.

What our formula language has that QTI's expressions lack is refused with :class:`TemplateError`
(the caller then skips the item with the reason, or ``--expand-variants N`` writes concrete items):

* ``round()``: QTI's ``round`` and ``roundTo`` round halves up, ours (Python's) halves to even
  (``round(2.5)`` is 2): the template would key a different answer on a tie;
* a placeholder inside math (``$…{n}…$``) or in a link or image address: ``printedVariable`` can
  stand only in text;
* a placeholder format printf cannot say (``{n:,}``, ``{p:.1%}``);
* a range whose grid does not fit QTI's 32-bit ``randomInteger``.

How values are drawn: every variable is a float template variable.  A grid (``step``) or a rounded
range (``decimals``) is drawn as ``randomInteger`` on the grid scaled to integers and divided back
(``divide(integerToFloat(randomInteger(20, 300, 1)), 100)`` for 0.20..3.00 in hundredths): the values
are exactly the grid of the item, which ``randomFloat`` (any float, no step) cannot give.  A list of
values is ``random`` of a ``multiple``.  A ``templateConstraint`` redraws when the answer (or a derived
value) has no value or falls outside ``answer_range``, as our own draws pass over such values.

Functions: QTI's ``mathOperator`` ``log`` is base 10 and ``ln`` natural (TAO's qtism reads them so; the
citolab player's code reads ``log`` as natural), so ``log(x)`` and ``ln(x)`` are written ``ln``, ``log10(x)``
``log``, ``log(x, b)`` ``ln x / ln b``; ``atan2(y, x)`` keeps its order (qtism and citolab alike).

Scoring: ``equal`` with ``toleranceMode="absolute"``; for a relative tolerance the absolute tolerance is a
template variable (``TOLERANCE = abs(ANSWER) × t``) referenced as ``tolerance="{TOLERANCE}"``, because
QTI's ``relative`` mode (``x(1 − t/100) ≤ y ≤ x(1 + t/100)``) is an empty interval for a negative answer
in a literal implementation (TAO's, for one).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, replace

from lxml import etree

from itembank.formulas import CONSTANTS, Formula, FormulaError, parse
from itembank.model import CalculatedItem, Solution, Step, Variable
from itembank.variants import PLACEHOLDER

from ..kit.numbers import number_text
from .profiles import MATHML_NS, Profile

#: Identifiers the item's own declarations use: a variable of one of these names gets a ``V_`` prefix.
RESERVED = frozenset({"RESPONSE", "SCORE", "MAXSCORE", "FEEDBACK", "SOLUTION_FB", "HINT_FB", "ANSWER", "TOLERANCE",
                      "completionStatus", "numAttempts", "duration"})
ANSWER = "ANSWER"
TOLERANCE = "TOLERANCE"
_INT_MAX = 2**31 - 1

#: Our functions that are a QTI mathOperator of the same arity (name there).
_MATH_OPERATORS = {
    "exp": "exp", "ln": "ln", "log10": "log", "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin",
    "acos": "acos", "atan": "atan", "atan2": "atan2", "abs": "abs", "floor": "floor", "ceil": "ceil",
}

#: Where a placeholder stands while the texts are rendered (private-use characters: no Markdown meaning).
_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_OPEN_IN_URL = "%EE%80%80"  # the slot as a link's or image's address writes it (UTF-8, percent-encoded)
_SPEC = re.compile(r"^(?P<flags>[+ ]?0?)(?P<width>\d*)(?:\.(?P<precision>\d+))?(?P<kind>[eEfFgG]?)$")


class TemplateError(ValueError):
    """The item cannot be written as QTI template processing; the message says why."""


def printf(spec: str) -> str:
    """A Python format spec (``.2f``) as the printf format of ``printedVariable`` (``%.2f``); no spec:
    ``%.10g`` (what :func:`itembank.variants.show` prints: integers without ``.0``, 10 significant digits)."""
    if not spec:
        return "%.10g"
    m = _SPEC.match(spec)
    if m is None or (not m.group("kind") and m.group("precision") is not None):
        # "{x:.3}" is Python's general format, which differs from %g ("2.0" against "2"); ",", "%", "d" ... have no printf twin
        raise TemplateError(f"the placeholder format ':{spec}' has no printf equivalent for QTI's printedVariable")
    kind = {"": "g", "F": "f"}.get(m.group("kind"), m.group("kind"))
    precision = m.group("precision") if m.group("precision") is not None else ("10" if not m.group("kind") else "")
    return f"%{m.group('flags')}{m.group('width')}{'.' + precision if precision else ''}{kind}"


def identifiers(item: CalculatedItem) -> dict[str, str]:
    """Each variable's (input and derived) template identifier, and ``answer`` -> ``ANSWER``."""
    names = [v.name for v in item.variables] + [n for n, _ in item.derived]
    taken = set(RESERVED) | set(names)
    out: dict[str, str] = {}
    for name in names:
        ident = name
        while ident in RESERVED or (ident != name and ident in taken):
            ident = f"V_{ident}"
        taken.add(ident)
        out[name] = ident
    out["answer"] = ANSWER
    return out


@dataclass
class Template:
    """What the item writer writes for one calculated item."""

    item: CalculatedItem  # its texts with placeholders replaced by slots (see :func:`fill_slots`)
    slots: list[tuple[str, str]]  # (template identifier, printf format) of each slot
    declarations: list[etree._Element]
    processing: etree._Element


def build(p: Profile, item: CalculatedItem) -> Template:
    """The template declarations and processing of ``item``; :class:`TemplateError` if QTI cannot say it."""
    idents = identifiers(item)
    writer = ExpressionWriter(p, idents)
    formulas = [(name, _parse(text)) for name, text in item.derived] + [("answer", _parse(item.formula))]
    for _, formula in formulas:
        writer.check(formula.tree)
    decls: list[etree._Element] = []
    tp = p.el(None, "templateProcessing")

    def declare(ident: str) -> None:
        decls.append(p.el(None, "templateDeclaration", identifier=ident, cardinality="single", baseType="float"))

    for v in item.variables:
        declare(idents[v.name])
        _draw(p, p.el(tp, "setTemplateValue", identifier=idents[v.name]), v)
    for name, formula in formulas:
        declare(idents[name])
        writer.write(p.el(tp, "setTemplateValue", identifier=idents[name]), formula.tree)
    if item.tolerance_type == "relative":
        declare(TOLERANCE)
        tol = p.el(p.el(tp, "setTemplateValue", identifier=TOLERANCE), "product")
        p.el(_named(p, tol, "mathOperator", "abs"), "variable", identifier=ANSWER)
        p.el(tol, "baseValue", number_text(item.tolerance), baseType="float")
    # Redraw (QTI restarts template processing) while a computed value has none or the answer is out of range.
    both = p.el(p.el(tp, "templateConstraint"), "and")
    for name, _ in formulas:
        p.el(p.el(p.el(both, "not"), "isNull"), "variable", identifier=idents[name])
    if item.answer_range is not None:
        low, high = item.answer_range
        for op, bound in (("gte", low), ("lte", high)):
            cmp = p.el(both, op)
            p.el(cmp, "variable", identifier=ANSWER)
            p.el(cmp, "baseValue", number_text(bound), baseType="float")
    p.el(p.el(tp, "setCorrectResponse", identifier="RESPONSE"), "variable", identifier=ANSWER)
    marked, slots = _mark(item, idents)
    return Template(item=marked, slots=slots, declarations=decls, processing=tp)


def score_condition(p: Profile, parent: etree._Element, item: CalculatedItem) -> None:
    """``equal(ANSWER, RESPONSE)`` within the item's tolerance (see the module's note on relative ones)."""
    tolerance = "{" + TOLERANCE + "}" if item.tolerance_type == "relative" else number_text(item.tolerance)
    eq = p.el(parent, "equal", toleranceMode="absolute", tolerance=tolerance)
    p.el(eq, "variable", identifier=ANSWER)
    p.el(eq, "variable", identifier="RESPONSE")


def _parse(text: str) -> Formula:
    try:
        return parse(text)
    except FormulaError as exc:  # validation (IB230) refuses these first
        raise TemplateError(f"the formula {text!r} does not parse: {exc}") from None


def _draw(p: Profile, target: etree._Element, v: Variable) -> None:
    """The expression drawing ``v``: its list, or its grid as scaled integers."""
    if v.values:
        multiple = p.el(p.el(target, "random"), "multiple")
        for value in v.values:
            p.el(multiple, "baseValue", number_text(float(value)), baseType="float")
        return
    places = v.places
    scale = 10**places
    low, high = float(v.min), float(v.max)  # type: ignore[arg-type]
    if v.step is not None:
        step = round(float(v.step) * scale)
        first = round(low * scale)
        count = int((high - low) / float(v.step) + 1e-9) + 1  # as itembank.variants draws the grid
        last = first + (count - 1) * step
    else:
        step, first, last = 1, math.ceil(low * scale - 1e-9), math.floor(high * scale + 1e-9)
    if max(abs(first), abs(last)) > _INT_MAX or step < 1:
        raise TemplateError(f"the range of '{v.name}' in steps of 10^-{places} does not fit QTI's 32-bit randomInteger")
    attrs = {"min": str(first), "max": str(last)}
    if step != 1:
        attrs["step"] = str(step)
    if places == 0:
        p.el(p.el(target, "integerToFloat"), "randomInteger", **attrs)
        return
    div = p.el(target, "divide")
    p.el(p.el(div, "integerToFloat"), "randomInteger", **attrs)
    p.el(div, "baseValue", number_text(float(scale)), baseType="float")


def _named(p: Profile, parent: etree._Element, tag: str, name: str) -> etree._Element:
    """A ``mathOperator``/``mathConstant`` with its ``name`` (a keyword :meth:`Profile.el` keeps for itself)."""
    node = p.el(parent, tag)
    node.set("name", name)
    return node


class ExpressionWriter:
    """A formula's tree (parsed by :mod:`itembank.formulas`) as a QTI expression."""

    def __init__(self, p: Profile, idents: dict[str, str]) -> None:
        self.p = p
        self.idents = idents

    def check(self, node: ast.expr) -> None:
        """Refuse what QTI cannot compute the same way (before anything is written)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "round":
                raise TemplateError(
                    "the formula uses round(): QTI's round and roundTo round halves up, the item's round halves "
                    "to even (round(2.5) is 2), so a QTI template would key another answer on a tie"
                )

    def write(self, parent: etree._Element, node: ast.expr) -> None:
        p = self.p
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, (int, float))  # the formula checker admits numbers only
            p.el(parent, "baseValue", number_text(float(node.value)), baseType="float")
        elif isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                _named(p, parent, "mathConstant", node.id)
            elif node.id in self.idents:
                p.el(parent, "variable", identifier=self.idents[node.id])
            else:  # validation (IB231) refuses these first
                raise TemplateError(f"'{node.id}' is not a variable of the item")
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                neg = p.el(parent, "subtract")
                p.el(neg, "baseValue", "0", baseType="float")
                self.write(neg, node.operand)
            else:
                self.write(parent, node.operand)
        elif isinstance(node, ast.BinOp):
            self._binary(parent, node.op, node.left, node.right)
        elif isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            self._call(parent, node.func.id, node.args)
        else:  # the formula checker admits nothing else
            raise TemplateError(f"'{ast.unparse(node)}' has no QTI expression")

    def _binary(self, parent: etree._Element, op: ast.operator, left: ast.expr, right: ast.expr) -> None:
        names: dict[type[ast.operator], str] = {ast.Add: "sum", ast.Sub: "subtract", ast.Mult: "product", ast.Div: "divide", ast.Pow: "power"}
        if type(op) in names:
            node = self.p.el(parent, names[type(op)])
            self.write(node, left)
            self.write(node, right)
            return
        assert isinstance(op, ast.Mod)
        # a % b as Python computes it for floats: a - b * floor(a / b) (QTI's integerModulus takes integers only)
        sub = self.p.el(parent, "subtract")
        self.write(sub, left)
        prod = self.p.el(sub, "product")
        self.write(prod, right)
        div = self.p.el(_named(self.p, prod, "mathOperator", "floor"), "divide")
        self.write(div, left)
        self.write(div, right)

    def _call(self, parent: etree._Element, name: str, args: list[ast.expr]) -> None:
        p = self.p
        if name in _MATH_OPERATORS and not (name == "log10" and len(args) != 1):
            op = _named(p, parent, "mathOperator", _MATH_OPERATORS[name])
            for a in args:
                self.write(op, a)
        elif name == "log" and len(args) == 1:
            self.write(_named(p, parent, "mathOperator", "ln"), args[0])
        elif name == "log":  # log(x, base) = ln x / ln base
            div = p.el(parent, "divide")
            for a in args:
                self.write(_named(p, div, "mathOperator", "ln"), a)
        elif name == "sqrt":  # QTI's mathOperator has no sqrt
            power = p.el(parent, "power")
            self.write(power, args[0])
            p.el(power, "baseValue", "0.5", baseType="float")
        elif name == "pow":
            power = p.el(parent, "power")
            self.write(power, args[0])
            self.write(power, args[1])
        elif name in ("min", "max"):
            node = p.el(parent, name)
            for a in args:
                self.write(node, a)
        else:
            raise TemplateError(f"the formula uses {name}(), which has no QTI expression")


# --- placeholders -> printedVariable ------------------------------------------------------------


def _mark(item: CalculatedItem, idents: dict[str, str]) -> tuple[CalculatedItem, list[tuple[str, str]]]:
    """The item with each placeholder of its texts replaced by a numbered slot, and the slots."""
    slots: list[tuple[str, str]] = []

    def mark(text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            whole = m.group(0)
            if whole in ("{{", "}}"):
                return whole[0]
            slots.append((idents[m.group(1)], printf(m.group(2) or "")))
            return f"{_OPEN}{len(slots) - 1}{_CLOSE}"

        return PLACEHOLDER.sub(sub, text)

    def opt(text: str | None) -> str | None:
        return None if text is None else mark(text)

    sol = item.solution
    solution = None if sol is None else Solution(
        steps=tuple(Step(text=mark(s.text), title=opt(s.title)) for s in sol.steps),
        final_answer=opt(sol.final_answer),
        quick_check=opt(sol.quick_check),
    )
    marked = replace(
        item,
        stem=mark(item.stem),
        rationale=opt(item.rationale),
        hints=tuple(mark(h) for h in item.hints),
        common_mistakes=tuple(mark(c) for c in item.common_mistakes),
        solution=solution,
    )
    return marked, slots


def fill_slots(p: Profile, root: etree._Element, slots: list[tuple[str, str]]) -> None:
    """Replace every slot in ``root``'s text by a ``printedVariable``; :class:`TemplateError` if a slot
    stands where one cannot (math, an attribute such as a link's address or an image's alt text)."""
    if not slots:
        return
    texts = (p.tag("itemBody"), p.tag("modalFeedback"))  # where the item's texts are (not its processing)
    nodes = [node for part in root if part.tag in texts for node in part.iter() if isinstance(node.tag, str)]
    for node in nodes:
        for attr, value in node.attrib.items():
            if _OPEN in value or _OPEN_IN_URL in value or _OPEN_IN_URL.lower() in value:
                raise TemplateError(f"a placeholder stands in the {attr!r} of a <{etree.QName(node).localname}> (a link's address, an image's text): QTI can print a variable only in text")
        for where in ("text", "tail"):
            value = getattr(node, where)
            if not value or _OPEN not in value:
                continue
            # a node's text is inside the node, its tail inside its parent
            holders = (node, *node.iterancestors()) if where == "text" else tuple(node.iterancestors())
            if any(_is_math(a) for a in holders):
                raise TemplateError("a placeholder stands inside math ($…$): QTI's printedVariable cannot stand in MathML")
            _split(p, node, where, value, slots)


def _is_math(node: etree._Element) -> bool:
    tag = node.tag
    return isinstance(tag, str) and (tag.startswith(f"{{{MATHML_NS}}}") or "math" in (node.get("class") or "").split())


def _split(p: Profile, node: etree._Element, where: str, value: str, slots: list[tuple[str, str]]) -> None:
    pieces = _SLOT.split(value)  # text, slot, text, slot, ..., text
    if where == "text":
        parent, pos = node, 0
        node.text = pieces[0]
    else:
        parent_or_none = node.getparent()
        assert parent_or_none is not None  # a tail belongs to a child
        parent, pos = parent_or_none, parent_or_none.index(node) + 1
        node.tail = pieces[0]
    for i in range(1, len(pieces), 2):
        ident, fmt = slots[int(pieces[i])]
        pv = p.el(None, "printedVariable", identifier=ident, format=fmt)
        pv.tail = pieces[i + 1]
        parent.insert(pos, pv)
        pos += 1

