"""Formulas of calculated items: parsing, checking, safe evaluation, and writing them for other platforms.

A formula is an arithmetic expression over the item's variables, in the syntax teachers know from a
calculator: ``+ - * / % **`` (``^`` is accepted as a power too), parentheses, numbers, variable names,
the constants ``pi`` and ``e``, and the functions in :data:`FUNCTIONS`.  Nothing else: no attributes,
subscripts, comparisons, strings, lambdas or comprehensions.

Evaluation is done by `simpleeval <https://github.com/danthedeckie/simpleeval>`_ (never ``eval``):
it walks Python's own parse tree with a whitelist of operators and functions.  We parse each
formula once (:func:`parse`), check its tree ourselves (only the node kinds above, only known names),
and hand the parsed tree to simpleeval for every variant, so generating 10,000 variants costs no
re-parsing.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simpleeval import SimpleEval  # type: ignore[import-untyped]

#: name -> (function, the number of arguments it takes: (least, most)).
FUNCTIONS: dict[str, tuple[Callable[..., float], tuple[int, int]]] = {
    "sqrt": (math.sqrt, (1, 1)),
    "exp": (math.exp, (1, 1)),
    "log": (math.log, (1, 2)),  # natural log; log(x, base)
    "ln": (math.log, (1, 1)),
    "log10": (math.log10, (1, 1)),
    "sin": (math.sin, (1, 1)),
    "cos": (math.cos, (1, 1)),
    "tan": (math.tan, (1, 1)),
    "asin": (math.asin, (1, 1)),
    "acos": (math.acos, (1, 1)),
    "atan": (math.atan, (1, 1)),
    "atan2": (math.atan2, (2, 2)),
    "abs": (abs, (1, 1)),
    "round": (lambda x, n=0: float(round(x, int(n))), (1, 2)),
    "floor": (lambda x: float(math.floor(x)), (1, 1)),
    "ceil": (lambda x: float(math.ceil(x)), (1, 1)),
    "min": (min, (2, 8)),
    "max": (max, (2, 8)),
    "pow": (lambda a, b: _power(a, b), (2, 2)),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS)

_MAX_EXPONENT = 1000.0


class FormulaError(ValueError):
    """A formula that cannot be parsed or uses something it may not."""


class EvaluationError(ArithmeticError):
    """A formula that parsed but has no finite value for these variable values."""


def _power(a: float, b: float) -> float:
    if abs(b) > _MAX_EXPONENT:
        raise OverflowError("exponent too large")
    # in floats: an integer power tower such as (9**999)**999 would otherwise build a huge integer
    result = float(a) ** float(b)
    if isinstance(result, complex):
        raise ValueError("negative number to a fractional power")
    return float(result)


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed, checked formula: its text, its tree, and the variable names it reads."""

    text: str
    tree: ast.expr
    names: frozenset[str]


def parse(text: str) -> Formula:
    """Parse and check ``text``; :class:`FormulaError` says what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula is empty")
    if len(text) > 2000:
        raise FormulaError("the formula is longer than 2000 characters")
    try:
        # "^" is a power, as on a calculator, with the power's precedence ("v^2 * k" is (v^2) * k):
        # Python would read it as a bitwise xor that binds looser than * and +.
        with warnings.catch_warnings():  # ("1if a else 2": Python's SyntaxWarning went to stderr, beside the finding)
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text.strip().replace("^", "**"), mode="eval").body
    except SyntaxError as exc:
        raise FormulaError(f"not a formula: {exc.msg}") from None
    names: set[str] = set()
    _check(tree, names)
    return Formula(text=text, tree=tree, names=frozenset(names))


def _check(node: ast.AST, names: set[str]) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise FormulaError(f"only numbers may appear as constants, not {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise FormulaError(f"'{node.id}' is a function: call it, e.g. {node.id}(x)")
        if node.id not in CONSTANTS:
            names.add(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise FormulaError(f"'{ast.unparse(node)}': only + - * / % ** (or ^) are allowed")
        _check(node.left, names)
        _check(node.right, names)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise FormulaError("only + and - may stand before a value")
        _check(node.operand, names)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise FormulaError(f"unknown function '{called}' (known: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            raise FormulaError(f"{node.func.id}() takes no keyword arguments")
        least, most = FUNCTIONS[node.func.id][1]
        if not least <= len(node.args) <= most:
            want = str(least) if least == most else f"{least} to {most}"
            raise FormulaError(f"{node.func.id}() takes {want} argument{'s' * (most > 1)}, not {len(node.args)}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise FormulaError("* arguments are not allowed")
            _check(arg, names)
    else:
        raise FormulaError(f"'{ast.unparse(node)}' is not allowed in a formula (only numbers, variables, + - * / % ** and functions)")


class Evaluator:
    """Evaluates parsed formulas with simpleeval, over a whitelist of operators and functions."""

    def __init__(self) -> None:
        operators: dict[type, Callable[..., Any]] = {**_BINOPS, **_UNARY}
        self._se = SimpleEval(operators=operators, functions={k: f for k, (f, _) in FUNCTIONS.items()}, names={})

    def value(self, formula: Formula, names: Mapping[str, float]) -> float:
        """The formula's value; :class:`EvaluationError` if it is not a finite number."""
        self._se.names = dict(CONSTANTS, **names)
        try:
            result = self._se.eval(formula.text, previously_parsed=formula.tree)
        except ZeroDivisionError:
            raise EvaluationError("division by zero") from None
        except (ValueError, OverflowError, TypeError) as exc:
            raise EvaluationError(f"no value: {exc}") from None
        try:
            number = float(result)
        except (TypeError, ValueError, OverflowError):
            raise EvaluationError(f"not a number: {result!r}") from None
        if math.isnan(number):
            raise EvaluationError("the result is not a number (NaN)")
        if math.isinf(number):
            raise EvaluationError("the result is infinite")
        return number


# --- writing a formula in another platform's syntax ---------------------------------------------

_PRECEDENCE: dict[type[ast.operator], int] = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Mod: 2, ast.Pow: 4}
_SYMBOL: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}


@dataclass(frozen=True)
class Dialect:
    """How a platform writes variables, powers, constants and function names."""

    variable: Callable[[str], str]
    power: Callable[[str, str], str]
    constants: Mapping[str, str]
    functions: Mapping[str, str]  # our name -> theirs (absent: the same)
    modulo: Callable[[str, str], str] | None = None  # None: "a % b"
    #: A call the platform writes its own way: (our name, the arguments written) -> the call, or None for
    #: the default (``functions``' name, the same arguments).
    call: Callable[[str, list[str]], str | None] | None = None
    #: A negative value, given its operand as written (None: "-" before it).
    negative: Callable[[str], str] | None = None
    #: A number constant (None: Python's spelling, e.g. ``1e-05``).
    number: Callable[[int | float], str] | None = None


def inline(formula: Formula, derived: Mapping[str, Formula]) -> ast.expr:
    """The formula's tree with every derived variable replaced by its own (inlined) formula."""

    class _Inline(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in derived:
                return self.visit(ast.parse(ast.unparse(derived[node.id].tree), mode="eval").body)
            return node

    result: ast.expr = _Inline().visit(ast.parse(ast.unparse(formula.tree), mode="eval").body)
    return result


def write(tree: ast.expr, dialect: Dialect) -> str:
    """``tree`` in ``dialect``'s syntax, parenthesised wherever precedence needs it."""

    def go(node: ast.expr, parent: int = 0) -> str:
        if isinstance(node, ast.Constant):
            if dialect.number is not None and isinstance(node.value, (int, float)):
                return dialect.number(node.value)
            return repr(node.value) if isinstance(node.value, float) else str(node.value)
        if isinstance(node, ast.Name):
            return dialect.constants[node.id] if node.id in CONSTANTS else dialect.variable(node.id)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub) and dialect.negative is not None:
                text = dialect.negative(go(node.operand, 3))
                return f"({text})" if parent >= 3 and not text.startswith("(") else text
            text = ("-" if isinstance(node.op, ast.USub) else "") + go(node.operand, 3)
            return f"({text})" if parent >= 3 else text
        if isinstance(node, ast.BinOp):
            prec = _PRECEDENCE[type(node.op)]
            if prec == 4:
                return dialect.power(go(node.left, 5), go(node.right, 0))
            if isinstance(node.op, ast.Mod) and dialect.modulo is not None:
                return dialect.modulo(go(node.left, 0), go(node.right, 0))
            text = f"{go(node.left, prec)} {_SYMBOL[type(node.op)]} {go(node.right, prec + 1)}"
            return f"({text})" if parent > prec else text
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [go(a, 0) for a in node.args]
            own = dialect.call(node.func.id, args) if dialect.call is not None else None
            if own is not None:
                return own
            name = dialect.functions.get(node.func.id, node.func.id)
            return f"{name}({', '.join(args)})"
        raise FormulaError(f"cannot write {ast.unparse(node)}")  # unreachable after _check

    return go(tree)
