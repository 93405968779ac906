"""Calculated items as Moodle writes them: the answer formula in Moodle's syntax (``{x}``, ``pow``, ``pi()``),
placeholders turned into Moodle's ``{x}`` and ``{=formula}``, and dataset definitions with generated items.

What ``qformat_xml::import_calculated`` reads (Moodle 4.x): ``synchronize``, ``single``, ``answer``
(``text`` = formula, ``tolerance``, ``tolerancetype`` 1 relative / 2 nominal, ``correctanswerformat``
1 decimals, ``correctanswerlength``), ``units``, ``unitgradingtype``, ``unitpenalty``, ``showunits``,
``unitsleft``, and ``dataset_definitions`` (``status``, ``name``, ``type``, ``distribution``,
``minimum``, ``maximum``, ``decimals``, ``itemcount``, ``dataset_items``, ``number_of_items``).
Moodle has no derived variables: each is inlined into the formulas that use it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from itembank.formulas import Dialect, Formula, inline, parse, write
from itembank.model import CalculatedItem, Solution, Step
from itembank.variants import PLACEHOLDER, Variant, texts, variants

from ..kit.numbers import fixed_text

MOODLE = Dialect(
    variable=lambda name: "{" + name + "}",
    power=lambda a, b: f"pow({a}, {b})",
    constants={"pi": "pi()", "e": "exp(1)"},
    functions={"ln": "log"},
    # Our % takes the divisor's sign (-7 % 3 is 2), PHP's fmod the dividend's (-1): fmod(fmod(a, b) + b, b)
    # is ours, whatever the signs.
    modulo=lambda a, b: f"fmod(fmod({a}, {b}) + {b}, {b})",
)

#: Why a formula with round() may give Moodle another answer than ours (the export's note).
ROUND_NOTE = (
    "Moodle computes a calculated item's answers with PHP's round(), which rounds a half away from zero "
    "(round(2.5) is 3, round(-0.5) is -1); itembank rounds it to the even neighbour (2, -0): where a value "
    "rounded is a half, Moodle's answer differs from the key in"
)


def uses_round(item: CalculatedItem) -> bool:
    """Whether the answer formula, or a derived variable, calls round()."""
    trees = [parse(item.formula).tree, *(parse(text).tree for _, text in item.derived)]
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "round" for t in trees for n in ast.walk(t))

TOLERANCE_TYPE = {"relative": "1", "absolute": "2"}  # Moodle: 1 relative, 2 nominal, 3 geometric


class MoodleCalculated:
    """One calculated item's Moodle view: formulas in Moodle's syntax and its generated datasets."""

    def __init__(self, item: CalculatedItem, count: int) -> None:
        self.item = item
        self.derived: dict[str, Formula] = {}
        for name, text in item.derived:
            self.derived[name] = parse(text)
        self.answer = self.formula(parse(item.formula))
        self.variants: list[Variant] = variants(item, count)

    def formula(self, f: Formula) -> str:
        return write(inline(f, self.derived), MOODLE)

    def text(self, text: str) -> str:
        """Our placeholders as Moodle's: ``{n}`` for a variable, ``{=...}`` for a derived value or the answer."""

        def sub(m: re.Match[str]) -> str:
            whole = m.group(0)
            if whole in ("{{", "}}"):
                return whole[0]
            name = m.group(1)
            if name == "answer":
                return "{=" + self.answer + "}"
            if name in self.derived:
                return "{=" + self.formula(self.derived[name]) + "}"
            return "{" + name + "}"

        return PLACEHOLDER.sub(sub, text)

    def item_for_text(self) -> CalculatedItem:
        """The item with every text's placeholders in Moodle's syntax (for the shared header/feedback builders)."""
        t = self.text
        sol = self.item.solution
        solution = (
            None
            if sol is None
            else Solution(
                steps=tuple(Step(text=t(s.text), title=t(s.title) if s.title else None) for s in sol.steps),
                final_answer=t(sol.final_answer) if sol.final_answer else None,
                quick_check=t(sol.quick_check) if sol.quick_check else None,
            )
        )
        return replace(
            self.item,
            stem=t(self.item.stem),
            rationale=t(self.item.rationale) if self.item.rationale else None,
            hints=tuple(t(h) for h in self.item.hints),
            common_mistakes=tuple(t(c) for c in self.item.common_mistakes),
            solution=solution,
        )

    def lost_formats(self) -> bool:
        """Whether a placeholder's number format (``{m:.2f}``) is dropped: Moodle shows dataset values as stored."""
        return any(m.group(2) for _, text in texts(self.item) for m in PLACEHOLDER.finditer(text) if m.group(1))


def dataset_value(value: float, places: int) -> str:
    return fixed_text(value, places)
