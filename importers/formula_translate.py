"""Formulas written for Moodle (PHP syntax over ``{name}`` wildcards) and Canvas, translated into our
formula language (:mod:`itembank.formulas`), or refused with the precise reason.

Translation goes through Python's parse tree: functions we lack but can express exactly
(``deg2rad``, ``sinh``, ``log1p``...) are rewritten into ones we have, and the result is checked
by :func:`itembank.formulas.parse`, so a translated formula is always one the validator accepts.
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Callable, Mapping
from typing import Any

from itembank.formulas import FUNCTIONS, RESERVED, FormulaError, parse

from .kit.numbers import clean_number


class Untranslatable(ValueError):
    """A formula with no equivalent in our formula language (the message says why)."""


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


def our_name(name: str, taken: set[str]) -> str:
    """A variable name of ours for a source name (``x-1``, ``rate 2``): kept when it is valid, else made valid and unique."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name.strip())[:30] or "v"
    if not re.match(r"[A-Za-z_]", base):
        base = "v_" + base
    if base in RESERVED or base == "answer":
        base += "_"
    cand, n = base, 2
    while cand in taken:
        cand, n = f"{base}{n}", n + 1
    taken.add(cand)
    return cand


def _call(name: str, *args: ast.expr) -> ast.expr:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _bin(a: ast.expr, op: ast.operator, b: ast.expr) -> ast.expr:
    return ast.BinOp(left=a, op=op, right=b)


def _num(v: float) -> ast.expr:
    return ast.Constant(value=v)


def _exp(x: ast.expr) -> ast.expr:
    return _call("exp", x)


def _neg(x: ast.expr) -> ast.expr:
    return ast.UnaryOp(op=ast.USub(), operand=x)


def _pi() -> ast.expr:
    return ast.Name(id="pi", ctx=ast.Load())


#: Functions Moodle (PHP) has and we do not, written with ours (exact identities).
_REWRITE: dict[str, tuple[int, Callable[..., ast.expr]]] = {
    "deg2rad": (1, lambda x: _bin(_bin(x, ast.Mult(), _pi()), ast.Div(), _num(180))),
    "rad2deg": (1, lambda x: _bin(_bin(x, ast.Mult(), _num(180)), ast.Div(), _pi())),
    "expm1": (1, lambda x: _bin(_exp(x), ast.Sub(), _num(1))),
    "log1p": (1, lambda x: _call("log", _bin(_num(1), ast.Add(), x))),
    "sinh": (1, lambda x: _bin(_bin(_exp(x), ast.Sub(), _exp(_neg(x))), ast.Div(), _num(2))),
    "cosh": (1, lambda x: _bin(_bin(_exp(x), ast.Add(), _exp(_neg(x))), ast.Div(), _num(2))),
    "tanh": (1, lambda x: _bin(_bin(_exp(x), ast.Sub(), _exp(_neg(x))), ast.Div(), _bin(_exp(x), ast.Add(), _exp(_neg(x))))),
    "asinh": (1, lambda x: _call("log", _bin(x, ast.Add(), _call("sqrt", _bin(_bin(x, ast.Pow(), _num(2)), ast.Add(), _num(1)))))),
    "acosh": (1, lambda x: _call("log", _bin(x, ast.Add(), _call("sqrt", _bin(_bin(x, ast.Pow(), _num(2)), ast.Sub(), _num(1)))))),
    "atanh": (1, lambda x: _bin(_num(0.5), ast.Mult(), _call("log", _bin(_bin(_num(1), ast.Add(), x), ast.Div(), _bin(_num(1), ast.Sub(), x))))),
}
#: Moodle functions with no counterpart: the formula is refused with this reason.
_NO_EQUIVALENT = {"bindec", "decbin", "decoct", "octdec", "is_finite", "is_infinite", "is_nan"}


class _Translate(ast.NodeTransformer):
    def __init__(self, rename: Mapping[str, str], notes: list[str], dialect: str) -> None:
        self.rename = rename
        self.notes = notes
        self.dialect = dialect

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.rename:
            return ast.Name(id=self.rename[node.id], ctx=ast.Load())
        if self.dialect == "canvas" and node.id in ("pi", "e"):
            return node
        raise Untranslatable(f"'{node.id}' is neither a variable nor a constant")

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mod) and self.dialect == "moodle":
            self.notes.append("Moodle's % (PHP: whole numbers, the sign of the dividend) became % on real numbers (the sign of the divisor): "
                              "values differ for fractional or negative operands")
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if not isinstance(node.func, ast.Name):
            raise Untranslatable(f"'{ast.unparse(node.func)}' is not a function name")
        name = node.func.id.lower()
        args = [self.visit(a) for a in node.args]
        if self.dialect == "moodle":
            if name == "pi":
                if args:
                    raise Untranslatable("pi() takes no arguments")
                return _pi()
            if name == "fmod" and len(args) == 2:
                self.notes.append("Moodle's fmod(a, b) became a % b: the same for operands of one sign, different when their signs differ")
                return _bin(args[0], ast.Mod(), args[1])
        else:  # canvas: ln is the natural log, log is base 10
            if name == "ln":
                name = "log"
            elif name == "log" and len(args) == 1:
                name = "log10"
        if name in _REWRITE and len(args) == _REWRITE[name][0]:
            return _REWRITE[name][1](*args)
        if name in _NO_EQUIVALENT:
            raise Untranslatable(f"the function {name}() has no equivalent in our formulas")
        if name not in FUNCTIONS:
            raise Untranslatable(f"unknown function {name}()")
        return _call(name, *args)


def _finish(tree: ast.expr, notes: list[str], dialect: str, rename: Mapping[str, str]) -> str:
    out = _Translate(rename, notes, dialect).visit(tree)
    text = ast.unparse(ast.fix_missing_locations(ast.Expression(body=out)))
    try:
        parse(text)
    except FormulaError as exc:
        raise Untranslatable(str(exc)) from None
    return text


_MOODLE_WILDCARD = re.compile(r"\{([A-Za-z][A-Za-z0-9\-_\s]*)\}")


def moodle_formula(text: str, rename: Mapping[str, str], notes: list[str]) -> str:
    """A Moodle formula (``{a} * pow({b}, 2) + pi()``) in our syntax; ``rename`` maps Moodle's wildcard
    names to ours.  :class:`Untranslatable` says why not."""
    src = html.unescape(text).strip()
    if not src:
        raise Untranslatable("the formula is empty")
    missing = sorted({m.group(1) for m in _MOODLE_WILDCARD.finditer(src)} - set(rename))
    if missing:
        raise Untranslatable(f"the formula uses {{{missing[0]}}}, which no dataset defines")
    tokens = {name: f"IBW{i}Z" for i, name in enumerate(rename)}
    back = {tok: rename[name] for name, tok in tokens.items()}
    body = _MOODLE_WILDCARD.sub(lambda m: tokens[m.group(1)], src)
    bad = re.search(r"[<>?:!=~^&|]", body)
    if bad:
        what = "a conditional (?:)" if bad.group(0) in "?:" else "a comparison or logical operator" if bad.group(0) in "<>!=&|~" else "^ (bitwise in PHP)"
        raise Untranslatable(f"the formula uses {what} ('{bad.group(0)}'), which our formulas cannot hold")
    if re.search(r"[{}\[\]$\"'#;]", body):
        raise Untranslatable(f"'{src}' is not a formula Moodle's syntax allows (stray braces, brackets or quotes)")
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError as exc:
        raise Untranslatable(f"'{src}' cannot be parsed: {exc.msg}") from None
    return _finish(tree, notes, "moodle", back)


def canvas_formula(text: str, names: Mapping[str, str], notes: list[str]) -> str:
    """A Canvas formula (``x^2 + ln(y)``, variables by bare name) in our syntax."""
    src = html.unescape(text).strip()
    if not src:
        raise Untranslatable("the formula is empty")
    if re.search(r"[<>?:!=~&|{}\[\]$\"'#;]", src):
        raise Untranslatable(f"'{src}' uses something our formulas cannot hold (comparisons, conditionals, brackets)")
    tokens = {name: f"IBW{i}Z" for i, name in enumerate(sorted(names, key=len, reverse=True))}
    back = {tok: names[name] for name, tok in tokens.items()}
    body = src
    if tokens:
        pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(re.escape(n) for n in tokens) + r")(?![A-Za-z0-9_])")
        body = pattern.sub(lambda m: tokens[m.group(1)], body)
    try:  # "^" is Canvas's power, with the power's precedence
        tree = ast.parse(body.replace("**", "^").replace("^", "**"), mode="eval").body
    except SyntaxError as exc:
        raise Untranslatable(f"'{src}' cannot be parsed: {exc.msg}") from None
    return _finish(tree, notes, "canvas", back)


def grid_variable(lo: float, hi: float, places: int) -> tuple[dict[str, Any], bool]:
    """Our variable for values drawn from ``lo..hi`` (``lo <= hi``) with ``places`` decimals: its one
    or two values when the rounded range holds no step of that grid, else its min, max and decimals;
    and whether rounding to ``places`` moved an end (the caller notes it)."""
    lo_r, hi_r = round(lo, places), round(hi, places)
    if lo_r == hi_r or hi_r - lo_r < 10**-places:
        spec: dict[str, Any] = {"values": [clean_number(lo_r)] if lo_r == hi_r else [clean_number(lo_r), clean_number(hi_r)]}
    else:
        spec = {"min": clean_number(lo_r), "max": clean_number(hi_r), "decimals": places}
    return spec, (lo_r, hi_r) != (lo, hi)


def map_strings(value: Any, fix: Callable[[str], str]) -> Any:
    """``value`` with ``fix`` applied to every string in it (lists and dicts walked into, as copies)."""
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [map_strings(v, fix) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fix) for k, v in value.items()}
    return value


#: Fields of an imported calculated item that hold no text a token could stand in.
_NOT_TEXT = ("variables", "derived", "formula", "id")


def put_placeholders(data: dict[str, Any], tokens: Mapping[str, str], marker: str) -> None:
    """Put each placeholder where its token stands (tokens start with ``marker``), in every text of
    an imported calculated item: the tokens kept placeholders whole through the HTML conversion."""
    if not tokens:
        return
    pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))

    def fix(text: str) -> str:
        return pattern.sub(lambda m: tokens[m.group(0)], text) if marker in text else text

    for key in list(data):
        if key not in _NOT_TEXT:
            data[key] = map_strings(data[key], fix)
