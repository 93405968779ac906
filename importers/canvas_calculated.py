"""Canvas ``calculated_question`` (Classic Quizzes "Formula question") -> our ``calculated`` item.

Read from ``itemproc_extension/calculated`` (as Canvas's own export and ours write it, and as Canvas's
QTI converter reads it): ``vars/var`` (``name``, ``scale`` = decimal places, ``min``, ``max``) ->
variables with a range and decimals; ``formulas/formula`` -> the answer formula (the last one; an
earlier ``name = expression`` is a derived variable), ``decimal_places`` -> ``answer_decimals``;
``answer_tolerance`` (a number: absolute; ``5%``: relative 0.05); ``unit_value`` -> unit.  The
``var_sets`` (stored value sets) are not kept: variants are drawn from the ranges (noted).
Texts show a variable as ``[name]``: it becomes the placeholder ``{name}`` (and ``[answer]``, which our
export writes in feedback, ``{answer}``); literal braces are doubled.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .formula_translate import Untranslatable, canvas_formula, grid_variable, map_strings, our_name, put_placeholders
from .kit.numbers import clean_number

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.+)$", re.S)


class CanvasCalculated:
    """One ``<calculated>`` element: the item's fields, and its texts' placeholders."""

    def __init__(self, calc: etree._Element) -> None:
        self.el = calc
        self.rename: dict[str, str] = {}
        self.taken: set[str] = set()
        for v in calc.findall("vars/var"):
            name = (v.get("name") or "").strip()
            if name and name not in self.rename:
                self.rename[name] = our_name(name, self.taken)
        self.tokens: dict[str, str] = {}
        self.unknown: list[str] = []  # [name]s in the texts that name no variable (kept as text)

    def tokenize(self, html: str) -> str:
        """``html`` with ``[name]`` of a variable (and ``[answer]``) and literal braces as tokens (before Markdown)."""
        if not html:
            return html
        html = html.replace("{", "IBCANLBZ").replace("}", "IBCANRBZ")
        self.tokens["IBCANLBZ"], self.tokens["IBCANRBZ"] = "{{", "}}"
        names = dict(self.rename)
        if "answer" not in names:
            names["answer"] = "answer"

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in names:
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in self.unknown:
                    self.unknown.append(name)
                return m.group(0)
            tok = f"IBCANV{list(names).index(name)}Z"
            self.tokens[tok] = "{" + names[name] + "}"
            return tok

        return re.sub(r"\[([^\[\]<>]+)\]", sub, html)

    def finish(self, data: dict[str, Any]) -> None:
        put_placeholders(data, self.tokens, "IBCAN")

    def fields(self, notes: list[str]) -> dict[str, Any]:
        """The calculated item's own fields; :class:`Untranslatable` (or ValueError) says why they cannot be read."""
        out: dict[str, Any] = {"type": "calculated"}
        variables: dict[str, Any] = {}
        for v in self.el.findall("vars/var"):
            name = (v.get("name") or "").strip()
            if not name:
                raise ValueError(f"a variable at line {v.sourceline} has no name")
            ours = self.rename[name]
            if ours != name:
                notes.append(f"variable [{name}] is named {ours} (a variable name has letters, digits and _ only)")
            lo, hi = _number(v.findtext("min")), _number(v.findtext("max"))
            if lo is None or hi is None:
                raise ValueError(f"variable [{name}] has no numeric min and max")
            if lo > hi:
                lo, hi = hi, lo
                notes.append(f"variable [{name}]: min and max swapped (the min was the larger)")
            places = max(0, min(int(_number(v.get("scale")) or 0), 10))
            variables[ours], rounded = grid_variable(lo, hi, places)
            if rounded:
                notes.append(f"variable [{name}]: range {lo:g}..{hi:g} rounded to its {places} decimal place(s)")
        if not variables:
            raise ValueError("a formula question without variables")
        out["variables"] = variables
        formulas = [(f.text or "").strip() for f in self.el.findall("formulas/formula") if (f.text or "").strip()]
        if not formulas:
            raise ValueError("a formula question without a formula")
        names = dict(self.rename)
        derived: dict[str, str] = {}
        for text in formulas[:-1]:
            m = _ASSIGN.match(text)
            if not m:
                raise Untranslatable(f"formula {text!r} is neither the last (the answer) nor an assignment 'name = expression'")
            name = our_name(m.group(1), self.taken) if m.group(1) not in names else names[m.group(1)]
            derived[name] = canvas_formula(m.group(2), names, notes)
            names[m.group(1)] = name
        last = formulas[-1]
        m = _ASSIGN.match(last)
        if m:
            last = m.group(2)
        out["formula"] = canvas_formula(last, names, notes)
        if derived:
            out["derived"] = derived
        decimals = _number(self.el.find("formulas").get("decimal_places") if self.el.find("formulas") is not None else None)  # type: ignore[union-attr]
        if decimals is not None:
            out["answer_decimals"] = max(0, min(int(decimals), 10))
        tol = (self.el.findtext("answer_tolerance") or "").strip()
        if tol.endswith("%"):
            value = _number(tol[:-1])
            if value is None:
                raise ValueError(f"answer tolerance {tol!r} is not a percentage")
            if value:
                out["tolerance"] = clean_number(round(abs(value) / 100, 12))
            out["tolerance_type"] = "relative"
        elif tol:
            value = _number(tol)
            if value is None:
                raise ValueError(f"answer tolerance {tol!r} is not a number")
            if value:
                out["tolerance"] = clean_number(abs(value))
        unit = " ".join((self.el.findtext("unit_value") or "").split())
        if unit:
            out["unit"] = unit
        sets = self.el.findall("var_sets/var_set")
        if sets:
            notes.append(f"Canvas's {len(sets)} stored variable set(s) (the values it shows) are not kept: variants are drawn from each variable's range")
        return out


def finish_markdown(data: dict[str, Any], rename: dict[str, str], notes: list[str]) -> None:
    """Texts already in Markdown (the QTI 2.x reader): literal braces doubled, ``[name]`` of a variable
    (Markdown may have escaped it as ``\\[name\\]``) -> ``{name}``."""
    names = dict(rename)
    names.setdefault("answer", "answer")
    unknown: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1).replace("\\_", "_")
        if name in names:
            return "{" + names[name] + "}"
        if name not in unknown:
            unknown.append(name)
        return m.group(0)

    def fix(text: str) -> str:
        text = text.replace("{", "{{").replace("}", "}}")
        return re.sub(r"\\?\[((?:[A-Za-z0-9_]|\\_)+)\\?\]", sub, text)

    for key in list(data):
        if key not in ("variables", "derived", "formula", "id", "type", "unit", "title", "topic", "tags"):
            data[key] = map_strings(data[key], fix)
    if unknown:
        notes.append("the texts show " + ", ".join(f"[{n}]" for n in unknown) + ", which name(s) no variable of the formula question "
                     "(Canvas has no derived variables): kept as text")


def strip_unit(stem_html: str, unit: str | None) -> str:
    """Our own export writes the unit under the stem (``<p>Unit: mm</p>``): drop that line when the unit is kept."""
    from html import unescape

    m = re.search(r"<p>Unit: ([^<]+)</p>\s*$", stem_html)
    if m and unit and " ".join(unescape(m.group(1)).split()) == unit:
        return stem_html[: m.start()]
    return stem_html


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if v == v and abs(v) != float("inf") else None

