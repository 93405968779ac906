"""Moodle ``calculated`` and ``calculatedsimple`` questions -> our ``calculated`` items.

What is read (as ``qformat_xml::import_calculated`` reads it): the 100 % ``answer`` (its ``text`` is the
formula in Moodle's syntax, translated by :mod:`.formula_translate`; ``tolerance``, ``tolerancetype``
1 relative / 2 nominal / 3 geometric, ``correctanswerformat`` 1 decimals / 2 significant figures,
``correctanswerlength``), ``units`` (the base unit), and ``dataset_definitions`` (``name``, ``status``
private/shared, ``distribution``, ``minimum``, ``maximum``, ``decimals``) -> variables with a range
and decimals.  The texts' wildcards ``{x}`` become placeholders; ``{=formula}`` becomes ``{answer}``
when it is the answer's formula, else a derived variable, formatted with the answer's decimals
(``{answer:.2f}``: Moodle shows each ``{=...}`` with the correct answer length).  Every simplification is a note; a formula
we cannot read skips the question with the reason.

Before the shared reader converts the texts to Markdown, :func:`prepare` swaps each wildcard,
``{=...}`` and literal brace for a plain token (Markdown would escape ``*`` inside a formula and
could split a brace); :func:`finish` puts placeholders in their place in every text field.
"""

from __future__ import annotations

import ast
import html
import math
import re
from typing import TYPE_CHECKING, Any

from .formula_translate import Untranslatable, grid_variable, moodle_formula, our_name, put_placeholders
from .kit.numbers import clean_number

if TYPE_CHECKING:
    from .moodle import _Q

TYPES = ("calculated", "calculatedsimple")

#: Text fields of a question that show wildcards (not the answer's formula, not names or tags).
_TEXT_FIELDS = ("questiontext", "generalfeedback", "hint", "answer/feedback", "correctfeedback", "partiallycorrectfeedback",
                "incorrectfeedback")
_FORMULA_IN_TEXT = re.compile(r"\{=([^{}]*(?:\{[A-Za-z][A-Za-z0-9\-_\s]*\}[^{}]*)*)\}")
_WILDCARD = re.compile(r"\{([A-Za-z][A-Za-z0-9\-_\s]*)\}")


def _key(formula: str) -> str:
    return ast.dump(ast.parse(formula, mode="eval"))


class CalculatedText:
    """The tokens that stand for wildcards, ``{=...}`` and literal braces while texts go through Markdown."""

    def __init__(self, q: _Q) -> None:
        self.q = q
        self.rename: dict[str, str] = {}
        taken: set[str] = set()
        for d in q.el.findall("dataset_definitions/dataset_definition"):
            name = (d.findtext("name/text") or d.findtext("name") or "").strip()
            if name and name not in self.rename:
                self.rename[name] = our_name(name, taken)
        self.taken = taken
        self.tokens: dict[str, str] = {}  # token -> what it becomes in our text
        self.formulas: list[tuple[str, str]] = []  # (token, our formula) of each {=...}
        self.derived: dict[str, str] = {}  # our name -> formula
        self.unread: list[str] = []

    def _token(self, kind: str, value: str) -> str:
        tok = f"IBCALC{kind}{len(self.tokens)}Z"
        self.tokens[tok] = value
        return tok

    def prepare(self) -> None:
        """Swap wildcards, ``{=...}`` and literal braces in the question's texts for tokens (in place)."""
        for path in _TEXT_FIELDS:
            for field in self.q.el.findall(path):
                t = field.find("text")
                if t is not None and t.text:
                    t.text = self._tokenize(t.text)

    def _tokenize(self, raw: str) -> str:
        def formula(m: re.Match[str]) -> str:
            notes: list[str] = []
            try:
                ours = moodle_formula(m.group(1), self.rename, notes)
            except Untranslatable as exc:
                self.unread.append(f"{{={html.unescape(m.group(1))}}} ({exc})")
                return self._token("L", "{{" + html.unescape(m.group(0))[1:-1].replace("{", "{{").replace("}", "}}") + "}}")
            for n in notes:
                self.q.note(n)
            tok = self._token("F", "")
            self.formulas.append((tok, ours))
            return tok

        def wildcard(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in self.rename:
                return self._token("V", "{" + self.rename[name] + "}")
            return self._token("L", "{{" + name + "}}")

        raw = _FORMULA_IN_TEXT.sub(formula, raw)
        raw = _WILDCARD.sub(wildcard, raw)
        raw = raw.replace("{", self._token("L", "{{")) if "{" in raw else raw
        return raw.replace("}", self._token("L", "}}")) if "}" in raw else raw

    def resolve(self, answer: str, variables: set[str], spec: str) -> None:
        """Decide what each ``{=...}`` becomes: ``{answer}``, a variable, or a derived variable, shown with
        ``spec`` (Moodle shows every ``{=...}`` with the answer's correct answer length)."""
        answer_key = _key(answer)
        by_key: dict[str, str] = {}
        fmt = ":" + spec if spec else ""
        for tok, formula in self.formulas:
            k = _key(formula)
            if k == answer_key:
                self.tokens[tok] = "{answer" + fmt + "}"
            elif formula in variables:
                self.tokens[tok] = "{" + formula + fmt + "}"
            else:
                if k not in by_key:
                    name = our_name(f"calc{len(by_key) + 1}", self.taken)
                    by_key[k] = name
                    self.derived[name] = formula
                self.tokens[tok] = "{" + by_key[k] + fmt + "}"
        if self.unread:
            self.q.note("formula(s) in the text that our formulas cannot hold are shown as written: " + "; ".join(self.unread))

    def finish(self, data: dict[str, Any]) -> None:
        """Put placeholders where the tokens are, in every text field of ``data``."""
        put_placeholders(data, self.tokens, "IBCALC")


def _text(el: Any, tag: str) -> str:
    found = el.find(tag)
    if found is None:
        return ""
    inner = found.find("text")
    return ((inner.text if inner is not None else found.text) or "").strip()


def _number(text: str) -> float | None:
    try:
        v = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_calculated(q: _Q, data: dict[str, Any], stem: str) -> tuple[dict[str, Any], str]:
    """The calculated item's own fields (raises the reader's skip exception with the reason)."""
    from .moodle import _answers, _plain, _Skip

    calc: CalculatedText = q.calc
    out: dict[str, Any] = {"type": "calculated"}
    # variables: one per dataset definition
    variables: dict[str, Any] = {}
    for d in q.el.findall("dataset_definitions/dataset_definition"):
        name = _text(d, "name")
        if not name:
            raise _Skip(f"a dataset definition at line {d.sourceline} has no name")
        ours = calc.rename[name]
        if ours != name:
            q.note(f"wildcard {{{name}}} is named {ours} (a variable name has letters, digits and _ only)")
        lo, hi = _number(_text(d, "minimum")), _number(_text(d, "maximum"))
        if lo is None or hi is None:
            raise _Skip(f"dataset {{{name}}} has no numeric minimum and maximum")
        if lo > hi:
            lo, hi = hi, lo
            q.note(f"dataset {{{name}}}: minimum and maximum swapped (the minimum was the larger)")
        dec_text = _text(d, "decimals")
        places = int(_number(dec_text) or 0) if dec_text else 0
        places = max(0, min(places, 10))
        variables[ours], rounded = grid_variable(lo, hi, places)
        if rounded:
            q.note(f"dataset {{{name}}}: range {lo:g}..{hi:g} rounded to its {places} decimal place(s)")
        status = _text(d, "status").lower()
        if status == "shared":
            q.note(f"shared dataset {{{name}}} became this item's own variable (its values are no longer shared with other questions)")
        dist = _text(d, "distribution").lower()
        if dist and dist != "uniform":
            q.note(f"dataset {{{name}}}: Moodle's {dist} distribution became uniform draws")
    if not variables:
        raise _Skip("a calculated question without dataset definitions (no wildcard to vary)")
    n_items = max((len(d.findall("dataset_items/dataset_item")) for d in q.el.findall("dataset_definitions/dataset_definition")), default=0)
    if n_items:
        q.note(f"Moodle's {n_items} stored dataset item(s) (the value sets it shows) are not kept: variants are drawn from each dataset's range")
    if _text(q.el, "synchronize") not in ("", "0"):
        q.note("synchronised shared datasets (the same values across questions) are not kept")
    out["variables"] = variables
    # the answer
    full = []
    for frac, a in _answers(q):
        text = _plain(q.html(a))
        if frac >= 99.99:
            full.append((text, a))
        elif frac > 0:
            q.note(f"answer {text} worth {frac:g}% dropped (partial credit answers cannot be kept)")
        elif q.md(a.find("feedback")):
            q.note(f"feedback for wrong answer {text} dropped")
    if not full:
        raise _Skip("no answer formula has grade 100%")
    text, a = full[0]
    if len(full) > 1:
        q.note(f"{len(full) - 1} more answer formula(s) at 100% dropped (an item has one answer formula)")
    notes: list[str] = []
    try:
        formula = moodle_formula(text, calc.rename, notes)
    except Untranslatable as exc:
        raise _Skip(f"the answer formula {text!r} cannot be read: {exc}") from None
    for n in notes:
        q.note(n)
    out["formula"] = formula
    tol = _number(_text(a, "tolerance") or "0") or 0.0
    kind = _text(a, "tolerancetype") or "1"
    if kind == "1":
        out["tolerance_type"] = "relative"
    elif kind == "3":
        out["tolerance_type"] = "relative"
        q.note(f"Moodle's geometric tolerance {abs(tol):g} (answer/(1+t) .. answer*(1+t)) became a relative tolerance {abs(tol):g}, "
               "which also accepts down to answer*(1-t)")
    elif kind != "2":
        q.note(f"unknown tolerance type {kind!r} read as nominal (absolute)")
    if tol:
        out["tolerance"] = clean_number(abs(tol))
    length_text = _text(a, "correctanswerlength")
    spec = ""
    if length_text:
        length = int(_number(length_text) or 0)
        out["answer_decimals"] = max(0, min(length, 10))
        if _text(a, "correctanswerformat") == "2":
            q.note(f"Moodle shows the correct answer (and each {{=...}} in the texts) with {length} significant figure(s); "
                   f"the item shows {out['answer_decimals']} decimal place(s) and the texts' values unformatted")
        else:
            spec = f".{out['answer_decimals']}f"
    calc.resolve(formula, set(variables), spec)
    if calc.derived:
        out["derived"] = dict(calc.derived)
    fb = q.md(a.find("feedback"))
    if fb:
        q.note("answer-specific feedback on the answer formula kept as general feedback")
        data.setdefault("_extra_feedback", []).append(fb)
    units = q.el.findall("units/unit")
    base = [u for u in units if _number(u.findtext("multiplier") or "1") == 1]
    if base:
        unit = " ".join((base[0].findtext("unit_name") or "").split())
        if unit:
            out["unit"] = unit
    if len(units) > len(base[:1]):
        q.note("units other than the base unit (with multipliers) dropped")
    if (q.el.findtext("unitgradingtype") or "0").strip() not in ("0", "") and units:
        q.note("unit penalty dropped (the unit is optional in exports)")
    return out, stem
