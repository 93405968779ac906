"""Calculated items as Canvas ``calculated_question`` (Classic Quizzes "Formula question").

What Canvas's QTI importer (``Qti::CalculatedInteraction``) reads from ``itemproc_extension/calculated``:
``answer_tolerance`` (a number, or a percentage such as ``1%``), ``unit_value``, ``vars/var`` (``name``,
``scale`` = decimal places, ``min``, ``max``), ``var_sets/var_set`` (each ``var name=…`` value and its
``answer``), and ``formulas`` (``decimal_places``, one ``formula``).  The question text shows a
variable as ``[name]``.  Canvas has no derived variables, so they are inlined into the formula;
the answers of the var_sets are ours (computed here), so Canvas never has to evaluate the formula.
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal

from itembank.formulas import Dialect, Formula, inline, parse, write
from itembank.model import CalculatedItem
from itembank.variants import PLACEHOLDER, Variant, texts, variants

#: Canvas's calculator (``calcCmd``, which its formula questions use): the operators ``+ - * / ^`` only
#: (``^`` before ``* /``, before ``+ -``, each from the left), ``-`` glued to a number or a variable, plain
#: decimal numbers (no ``1e-05``), the constants ``pi`` and ``e``, and the functions abs, acos, asin, atan,
#: at, ceil, comb, cos, cosec, cotan, count, deg_to_rad, e, fact, first, floor, if, last, length, ln,
#: log (``log(x, [base])``, base 10), max, mean, median, min, perm, pi, rad_to_deg, rand, range, reverse,
#: round (one argument, halves up), sec, sin, sort, sqrt, sum, tan.  Ours it lacks are written in it
#: (:func:`_canvas_call`) except these, which it cannot compute as we do: name -> why (the export's note).
CANVAS_LACKS: dict[str, str] = {
    "atan2": "Canvas's calculator has no atan2 (nor comparisons to build it from)",
    # a - b * floor(a / b) is our % for whole numbers only: with others its binary rounding differs
    # (3 % 0.2 is 0.19999999999999984, 3 - 0.2 * floor(3 / 0.2) is 0)
    "%": "Canvas's calculator has no % operator",
}

#: Why a formula with round() may give Canvas another answer than ours (the export's note).
ROUND_NOTE = (
    "Canvas's calculator rounds a half up (round(2.5) is 3, round(-2.5) is -2) and has no round(x, n) "
    "(written round(x * 10^n) / 10^n); itembank rounds a half to the even neighbour (2, -2): the var_sets carry "
    "itembank's answers, but where a value rounded is a half, an answer Canvas recomputes differs, in"
)

_ATOM = re.compile(r"[A-Za-z][A-Za-z0-9_.]*|[0-9]*\.?[0-9]+")


def _canvas_call(name: str, args: list[str]) -> str | None:
    """Our functions Canvas lacks, in its terms: ``log(x, base)`` is its own (its calculator: ``log(x,
    [base])``, base 10 without one; our two-argument log was written ``ln(x, b)``, and Canvas's ln takes
    one argument); ``exp(x)`` is ``e^(x)``, ``pow(a, b)`` ``(a)^(b)``, ``round(x, n)``
    ``(round((x) * 10^(n)) / 10^(n))``.  ``atan2`` stays as it is (see :data:`CANVAS_LACKS`)."""
    if name == "log" and len(args) == 2:
        return f"log({', '.join(args)})"
    if name == "exp":
        return f"e^({args[0]})"
    if name == "pow":
        return f"({args[0]})^({args[1]})"
    if name == "round" and len(args) == 2:
        return f"(round(({args[0]}) * 10^({args[1]})) / 10^({args[1]}))"
    return None


def _canvas_negative(operand: str) -> str:
    """Canvas reads ``-`` before a number or a variable only (``-(a + b)`` is an error) and glues it to
    it (``-x^(2)`` is ``(-x)^2``): any other negative is ``(0 - ...)``."""
    return "-" + operand if _ATOM.fullmatch(operand) else f"(0 - {operand})"


def _canvas_number(value: int | float) -> str:
    """A plain decimal: Canvas reads ``1e-05`` as 1, the constant e, minus 5."""
    return format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)


CANVAS = Dialect(
    variable=lambda name: name,
    power=lambda a, b: f"{a}^({b})",
    constants={"pi": "pi", "e": "e"},
    functions={"log": "ln", "log10": "log"},  # Canvas: ln is natural, log is base 10 (or log(x, base))
    call=_canvas_call,
    negative=_canvas_negative,
    number=_canvas_number,
)


def called(item: CalculatedItem) -> set[str]:
    """The functions the answer formula calls, its derived variables' included, and ``%`` if it has one."""
    trees = [parse(item.formula).tree, *(parse(text).tree for _, text in item.derived)]
    nodes = [n for t in trees for n in ast.walk(t)]
    names = {n.func.id for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return names | ({"%"} if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod) for n in nodes) else set())


class CanvasCalculated:
    def __init__(self, item: CalculatedItem, count: int) -> None:
        self.item = item
        self.derived: dict[str, Formula] = {name: parse(text) for name, text in item.derived}
        tree = inline(parse(item.formula), self.derived)
        self.formula = write(tree, CANVAS)
        self.variants: list[Variant] = variants(item, count)
        self.inputs = {v.name for v in item.variables}

    def stem(self, text: str) -> str:
        """Our placeholders as Canvas's ``[name]`` (input variables only; see :meth:`stem_problem`)."""

        def sub(m: re.Match[str]) -> str:
            whole = m.group(0)
            if whole in ("{{", "}}"):
                return whole[0]
            return f"[{m.group(1)}]"

        return PLACEHOLDER.sub(sub, text)

    def feedback(self, text: str) -> str:
        """Feedback texts: Canvas does not fill in values there, so each placeholder shows as ``[name]``."""
        return self.stem(text)


def lost_formats(item: CalculatedItem) -> bool:
    """Whether a placeholder's number format (``{m:.2f}``) is dropped: Canvas's ``[name]`` has none."""
    return any(m.group(2) for _, text in texts(item) for m in PLACEHOLDER.finditer(text) if m.group(1))


def feedback_placeholders(item: CalculatedItem) -> bool:
    """Whether a feedback text (rationale, hints, common mistakes, solution) shows a value: Canvas fills
    in values in the question text only, so there each placeholder stays the variable's name, ``[name]``."""
    return any(m.group(1) for where, text in texts(item) if where != ("stem",) for m in PLACEHOLDER.finditer(text))


def stem_problem(item: CalculatedItem) -> str | None:
    """Why the stem cannot be shown in Canvas (it shows a derived value or the answer), else None."""
    inputs = {v.name for v in item.variables}
    for m in PLACEHOLDER.finditer(item.stem):
        if m.group(1) and m.group(1) not in inputs:
            return (
                f"its stem shows {{{m.group(1)}}}, a computed value: Canvas's question text can show only input "
                "variables ([name]); use the moodle format, or --expand-variants with QTI"
            )
    return None
