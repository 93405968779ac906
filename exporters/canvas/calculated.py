"""Calculated items as Canvas ``calculated_question`` (Classic Quizzes "Formula question").

What Canvas's QTI importer (``Qti::CalculatedInteraction``) reads from ``itemproc_extension/calculated``:
``answer_tolerance`` (a number, or a percentage such as ``1%``), ``unit_value``, ``vars/var`` (``name``,
``scale`` = decimal places, ``min``, ``max``), ``var_sets/var_set`` (each ``var name=…`` value and its
``answer``), and ``formulas`` (``decimal_places``, one ``formula``).  The question text shows a
variable as ``[name]``.  Canvas has no derived variables, so they are inlined into the formula;
the answers of the var_sets are ours (computed here), so Canvas never has to evaluate the formula.
"""

from __future__ import annotations

import re

from itembank.formulas import Dialect, Formula, inline, parse, write
from itembank.model import CalculatedItem
from itembank.variants import PLACEHOLDER, Variant, texts, variants

def _canvas_call(name: str, args: list[str]) -> str | None:
    """Canvas's ``log(x, base)`` is ours (its calculator: ``log(x, [base])``, base 10 without one): our
    two-argument log keeps its name (it was written ``ln(x, b)``, and Canvas's ln takes one argument)."""
    return f"log({', '.join(args)})" if name == "log" and len(args) == 2 else None


CANVAS = Dialect(
    variable=lambda name: name,
    power=lambda a, b: f"{a}^({b})",
    constants={"pi": "pi", "e": "e"},
    functions={"log": "ln", "log10": "log"},  # Canvas: ln is natural, log is base 10 (or log(x, base))
    call=_canvas_call,
)


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
