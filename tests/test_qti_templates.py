"""Calculated items as QTI 2.1 / 3.0 template processing.

The reference player does not run templates (``--expand-variants N`` is the route it scores, see
``test_calculated.py``), so the templates are checked here by a small QTI expression evaluator written
in this file from the QTI specification, independent of the exporter: for many variable values
(hypothesis draws from each variable's declared domain) the template's derived values, answer,
constraint, correct response, scoring ``equal`` and printed variables are evaluated from the XML and
compared with the item's own formula (itembank's evaluator) and with :func:`itembank.variants.accepts`.
Random formulas over the whole formula language are translated and checked the same way.  And every
template item validates against the official XSDs.
"""

from __future__ import annotations

import ast
import math
import os
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from itembank import load_bank
from itembank.audit import audit
from itembank.errors import ItembankError
from itembank.formats import ExportContext, ExportOptions, ExportResult, get_exporter
from itembank.formulas import EvaluationError, Evaluator
from itembank.model import Bank, CalculatedItem, Variable
from itembank.render import Renderer
from itembank.variants import accepts, absolute_tolerance, fill, plan, variant_of

BANK_DIR = ROOT / "tests" / "banks" / "calculated"
FORMATS = ["qti21", "qti30"]


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank(BANK_DIR)


def export(bank: Bank, fmt: str, **options: Any) -> ExportResult:
    return get_exporter(fmt).export(bank, ExportContext(renderer=Renderer(), options=ExportOptions(unzipped=True, **options), tool_version="test"))


def one_item_xml(item: CalculatedItem, fmt: str) -> etree._Element:
    from itembank.exporters.qti.writer import ItemWriter

    return etree.fromstring(ItemWriter(get_exporter(fmt).profile, Renderer(), item, "test").write())  # type: ignore[attr-defined]


# --- a QTI expression evaluator, from the spec (names in either version's spelling) ----------------


def local(node: etree._Element) -> str:
    """The element's QTI 2.1 name (``qti-set-template-value`` -> ``setTemplateValue``)."""
    name = etree.QName(node).localname
    if name.startswith("qti-"):
        head, *rest = name[4:].split("-")
        name = head + "".join(w.capitalize() for w in rest)
    return name


def attr(node: etree._Element, name: str, default: str | None = None) -> str | None:
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    return node.get(name, node.get(kebab, default))


def children(node: etree._Element) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str)]


class Null(Exception):
    """QTI NULL: an operand was NULL or the operation has no value."""


MATH: dict[str, Callable[..., float]] = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "atan2": math.atan2, "log": math.log10, "ln": math.log, "exp": math.exp, "abs": abs,
    "floor": lambda x: int(math.floor(x)), "ceil": lambda x: int(math.ceil(x)),
}


class QtiEval:
    """Evaluates QTI expressions over template variables ``env``; ``choose`` picks for random ones."""

    def __init__(self, env: dict[str, Any], choose: Callable[[Sequence[Any]], Any]) -> None:
        self.env = env
        self.choose = choose

    def __call__(self, node: etree._Element) -> Any:
        try:
            return self.value(node)
        except Null:
            return None

    def value(self, node: etree._Element) -> Any:
        name = local(node)
        kids = children(node)
        if name == "baseValue":
            return {"float": float, "integer": int}.get(attr(node, "baseType") or "", str)(node.text)
        if name == "variable":
            v = self.env.get(attr(node, "identifier"))  # type: ignore[arg-type]
            if v is None:
                raise Null
            return v
        if name == "isNull":
            return self(kids[0]) is None
        if name == "mathConstant":
            return {"pi": math.pi, "e": math.e}[node.get("name")]  # type: ignore[index]
        if name == "randomInteger":
            low, high, step = int(attr(node, "min", "0")), int(attr(node, "max")), int(attr(node, "step", "1"))  # type: ignore[arg-type]
            return self.choose(range(low, high + 1, step))
        if name == "random":
            return self.choose(self.value(kids[0]))
        if name == "multiple":
            return [self.value(k) for k in kids]
        args = [self.value(k) for k in kids]  # everything below: NULL in, NULL out
        try:
            result = self.operator(name, node, args)
        except (ZeroDivisionError, ValueError, OverflowError):
            raise Null from None
        if isinstance(result, complex) or (isinstance(result, float) and not math.isfinite(result)):
            raise Null
        return result

    def operator(self, name: str, node: etree._Element, a: list[Any]) -> Any:
        if name == "integerToFloat":
            return float(a[0])
        if name == "sum":
            return sum(a)
        if name == "product":
            return math.prod(a)
        if name == "subtract":
            return a[0] - a[1]
        if name == "divide":
            return a[0] / a[1]
        if name == "power":
            return float(a[0]) ** float(a[1])
        if name == "mathOperator":
            return MATH[node.get("name")](*a)  # type: ignore[index]
        if name in ("min", "max"):
            return (min if name == "min" else max)(a)
        if name == "not":
            return not a[0]
        if name == "and":
            return all(a)
        if name in ("gte", "lte"):
            return a[0] >= a[1] if name == "gte" else a[0] <= a[1]
        if name == "equal":
            return self.equal(node, a[0], a[1])
        raise AssertionError(f"the test evaluator does not know <{name}>")

    def equal(self, node: etree._Element, x: float, y: float) -> bool:
        mode = attr(node, "toleranceMode", "exact")
        if mode == "exact":
            return x == y
        refs = (attr(node, "tolerance") or "0").split()
        t = [float(self.env[r[1:-1]]) if r.startswith("{") else float(r) for r in refs]
        t0, t1 = t[0], t[-1]
        low, high = (x - t0, x + t1) if mode == "absolute" else (x * (1 - t0 / 100), x * (1 + t1 / 100))
        lower_ok = y >= low if attr(node, "includeLowerBound", "true") == "true" else y > low
        upper_ok = y <= high if attr(node, "includeUpperBound", "true") == "true" else y < high
        return lower_ok and upper_ok


def run_template(root: etree._Element, choose: Callable[[Sequence[Any]], Any], fixed: dict[str, float] | None = None) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Template processing, once: (template values, correct responses, whether the constraint held).
    ``fixed`` sets input variables instead of their random expressions."""
    tp = next(n for n in root.iter() if isinstance(n.tag, str) and local(n) == "templateProcessing")
    env: dict[str, Any] = {}
    correct: dict[str, Any] = {}
    ok = True
    ev = QtiEval(env, choose)
    for rule in children(tp):
        ident = attr(rule, "identifier")
        kind = local(rule)
        if kind == "setTemplateValue":
            env[ident] = fixed[ident] if fixed and ident in fixed else ev(children(rule)[0])  # type: ignore[index]
        elif kind == "templateConstraint":
            ok = ok and ev(children(rule)[0]) is True
        elif kind == "setCorrectResponse":
            correct[ident] = ev(children(rule)[0])  # type: ignore[index]
        else:
            raise AssertionError(f"unexpected template rule <{kind}>")
    return env, correct, ok


def scoring_equal(root: etree._Element) -> etree._Element:
    rp = next(n for n in root.iter() if isinstance(n.tag, str) and local(n) == "responseProcessing")
    return next(n for n in rp.iter() if isinstance(n.tag, str) and local(n) == "equal")


def printed_text(root: etree._Element, env: dict[str, Any], part: str = "itemBody") -> str:
    """The text of ``part`` with each printedVariable printed (C printf = Python's ``%``)."""
    body = next(n for n in root.iter() if isinstance(n.tag, str) and local(n) == part)
    out: list[str] = []

    def walk(node: etree._Element) -> None:
        if local(node) == "printedVariable":
            out.append(attr(node, "format", "%s") % env[attr(node, "identifier")])  # type: ignore[operator,index]
        else:
            out.append(node.text or "")
            for child in children(node):
                walk(child)
        if node is not body:
            out.append(node.tail or "")

    walk(body)
    return " ".join("".join(out).split())


# --- the domain of each variable, as this test reads the item format ------------------------------


def domain(v: Variable) -> list[float]:
    if v.values:
        return sorted(float(x) for x in v.values)
    low, high = float(v.min), float(v.max)  # type: ignore[arg-type]
    if v.step is not None:
        places = max(len(repr(float(x)).split(".")[1].rstrip("0")) for x in (v.min, v.step))  # type: ignore[arg-type]
        count = int((high - low) / float(v.step) + 1e-9) + 1
        return [round(low + k * float(v.step), places) for k in range(count)]
    scale = 10 ** (v.decimals or 0)
    return [k / scale for k in range(math.ceil(low * scale - 1e-9), math.floor(high * scale + 1e-9) + 1)]


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def templated(bank: Bank) -> list[CalculatedItem]:
    return [i for i in bank.items if isinstance(i, CalculatedItem) and "round(" not in i.formula]


# --- the bank's items --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_template_items_validate_against_the_official_schemas(bank: Bank, fmt: str, xsd_dir: Path) -> None:
    from itembank.exporters.qti import check_files

    result = export(bank, fmt)
    assert result.files is not None
    assert result.written == {"calculated": len(templated(bank))}
    for item in templated(bank):
        text = result.files[f"items/{item.id}.xml"].decode()
        assert re.search(r"<(qti-)?template-?[dD]eclaration", text) and re.search(r"<(qti-)?printed-?[vV]ariable", text)
    os.environ.setdefault("ITEMBANK_XSD_DIR", str(xsd_dir))
    assert check_files(get_exporter(fmt).profile, result.files) == []  # type: ignore[attr-defined]
    assert any("template processing" in n and "--expand-variants" in n for n in result.notes)
    assert audit(fmt, bank, result, Renderer()) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_draws_cover_exactly_each_variables_domain(bank: Bank, fmt: str) -> None:
    """randomInteger / random give the item's own values: the first and last choice are the domain's
    ends, the number of choices its size, and 200 seeded draws stay in it."""
    for item in templated(bank):
        root = one_item_xml(item, fmt)
        sizes: list[int] = []

        def first(seq: Sequence[Any]) -> Any:
            sizes.append(len(seq))
            return seq[0]

        lows, _, _ = run_template(root, first)
        highs, _, _ = run_template(root, lambda seq: seq[-1])
        for n, v in enumerate(item.variables):
            d = domain(v)
            assert sizes[n] == len(d), (item.id, v.name)
            assert close(lows[v.name], d[0]) and close(highs[v.name], d[-1]), (item.id, v.name)
        rng = random.Random(item.id)
        for _ in range(200):
            env, _, _ = run_template(root, lambda seq: seq[rng.randrange(len(seq))])
            for v in item.variables:
                assert any(close(env[v.name], x) for x in domain(v)), (item.id, v.name, env[v.name])


@st.composite
def item_and_values(draw: st.DrawFn, items: list[CalculatedItem]) -> tuple[CalculatedItem, dict[str, float]]:
    item = draw(st.sampled_from(items))
    return item, {v.name: draw(st.sampled_from(domain(v))) for v in item.variables}


TEMPLATED = templated(load_bank(BANK_DIR))


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=item_and_values(TEMPLATED), offset=st.floats(min_value=-3, max_value=3))
def test_template_computes_the_items_own_values_and_scores_as_it_does(fmt: str, case: tuple[CalculatedItem, dict[str, float]], offset: float) -> None:
    item, values = case
    root = ROOTS[fmt][item.id]
    env, correct, ok = run_template(root, lambda seq: pytest.fail("an input was drawn, not fixed"), fixed=values)
    try:
        variant = variant_of(plan(item), dict(values), Evaluator())
    except EvaluationError:
        assert not ok  # no finite value: the template redraws, as itembank's draws pass over it
        return
    expected = variant.names
    for name, _ in item.derived:
        assert close(env[name], expected[name]), (item.id, name)
    assert close(env["ANSWER"], variant.answer) and correct == {"RESPONSE": env["ANSWER"]}
    if item.answer_range is not None:
        assert ok == (item.answer_range[0] <= variant.answer <= item.answer_range[1])
    else:
        assert ok
    # scoring: a response `offset` tolerances away from the answer is accepted exactly when itembank accepts it
    tol = absolute_tolerance(item, variant.answer)
    response = variant.answer + offset * tol
    if abs(abs(offset) - 1) > 1e-6:  # not on the boundary itself, where rounding decides
        env_rp = dict(env, RESPONSE=response)
        eq = scoring_equal(root)
        assert QtiEval(env_rp, random.choice)(eq) is accepts(item, variant.answer, response), (item.id, offset)
    # the stem as printed equals the stem filled with the values
    names = dict(expected, answer=variant.answer)
    stem_html = Renderer().html(fill(item.stem, names))
    stem_words = " ".join("".join(etree.fromstring(f"<div>{stem_html}</div>").itertext()).split())
    assert printed_text(root, env).startswith(stem_words), (printed_text(root, env), stem_words)


ROOTS: dict[str, dict[str, etree._Element]] = {fmt: {i.id: one_item_xml(i, fmt) for i in TEMPLATED} for fmt in FORMATS}


def test_solution_feedback_prints_the_worked_values(bank: Bank) -> None:
    item = next(i for i in templated(bank) if i.id == "phys-pendulum")
    root = one_item_xml(item, "qti21")
    env, _, _ = run_template(root, lambda seq: seq[len(seq) // 2])
    feedback = printed_text(root, env, "modalFeedback")
    names = dict(variant_of(plan(item), {"L": env["L"]}, Evaluator()).names)
    names["answer"] = env["ANSWER"]
    for step in item.solution.steps:  # type: ignore[union-attr]
        assert fill(step.text, names) in feedback


# --- random formulas over the whole formula language --------------------------------------------------

LEAVES = st.sampled_from(["x", "y", "2", "0.5", "3", "1.5", "pi", "e", "10"])
UNARY = ["sqrt", "exp", "log", "ln", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "abs", "floor", "ceil"]


def formulas() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.sampled_from(["2", "3", "0.5", "-1", "y"]), st.sampled_from(["**", "^"])).map(lambda t: f"({t[0]}) {t[2]} {t[1]}"),
            st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["atan2", "min", "max", "pow", "log"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]}, {t[3]})"),
            inner.map(lambda s: f"-{s}"),
        )

    return st.recursive(LEAVES, extend, max_leaves=6)


GENERATED_BASE = TEMPLATED[0]


@settings(max_examples=300)
@given(formula=formulas(), derived=formulas(), x=st.integers(-30, 30), y=st.sampled_from([-2.0, 0.5, 3.0]))
def test_any_formula_translates_to_a_qti_expression_of_the_same_value(formula: str, derived: str, x: int, y: float) -> None:
    item = replace(
        GENERATED_BASE,
        id="gen",
        stem="x is {x}, y is {y:.1f}, d is {d:.3e}.",
        variables=(Variable(name="x", min=-3, max=3, decimals=1), Variable(name="y", values=(-2.0, 0.5, 3.0))),
        derived=(("d", derived),),
        formula=f"{formula} + d",
        tolerance=0.01,
        tolerance_type="absolute",
        answer_range=None,
        solution=None,
        rationale=None,
        hints=(),
        common_mistakes=(),
    )
    values = {"x": x / 10, "y": y}
    root = one_item_xml(item, "qti30")
    env, _, ok = run_template(root, random.choice, fixed=values)
    try:
        variant = variant_of(plan(item), dict(values), Evaluator())
    except EvaluationError:
        assert not ok
        return
    assert ok
    assert math.isclose(env["d"], variant.names["d"], rel_tol=1e-9, abs_tol=1e-9), (derived, values)
    assert math.isclose(env["ANSWER"], variant.answer, rel_tol=1e-9, abs_tol=1e-9), (formula, derived, values)


# --- what QTI cannot say: skipped with the reason, expanded on request ------------------------------


def _variant_of(bank: Bank, **changes: Any) -> CalculatedItem:
    item = next(i for i in templated(bank) if i.id == "phys-ohm")
    return replace(item, id="changed", **changes)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"formula": "round(i ** 2 * r, 1)"}, "round()"),
        ({"stem": "With $P = {i}^2 \\cdot {r}$, what is P?"}, "inside math"),
        ({"stem": "See [the sheet](https://example.org/{r}) for {i} A."}, "link"),
        ({"stem": "A current of {i:.1%} flows through {r} ohm."}, "printf"),
        ({"stem": "A current of {i:,} A flows through {r} ohm."}, "printf"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_what_qti_cannot_say_is_skipped_with_the_reason_or_expanded(bank: Bank, fmt: str, changes: dict[str, Any], reason: str) -> None:
    ok = next(i for i in templated(bank) if i.id == "phys-ohm")
    item = _variant_of(bank, **changes)
    two = Bank(root=bank.root, config=bank.config, items=(ok, item))
    result = export(two, fmt)
    assert result.written == {"calculated": 1}
    assert [i for i, _ in result.skipped] == ["changed"]
    assert reason in result.skipped[0][1] and "--expand-variants" in result.skipped[0][1]
    assert result.files is not None and "items/changed.xml" not in result.files
    assert audit(fmt, two, result, Renderer()) == []
    expanded = export(two, fmt, expand_variants=2)
    assert expanded.skipped == [] and expanded.files is not None
    assert {"items/changed-v1.xml", "items/changed-v2.xml", "items/phys-ohm-v1.xml"} <= set(expanded.files)


def test_a_placeholder_in_code_is_printed_there(bank: Bank) -> None:
    item = _variant_of(bank, stem="Evaluate `P = {i}**2 * {r}`: what power?")
    root = one_item_xml(item, "qti21")
    code = next(n for n in root.iter() if isinstance(n.tag, str) and local(n) == "code")
    assert [attr(c, "identifier") for c in children(code)] == ["i", "r"]


def test_literal_braces_and_reserved_names() -> None:
    from itembank.exporters.qti.template import identifiers, printf

    item = replace(TEMPLATED[0], variables=(Variable(name="SCORE", min=1, max=2, step=1), Variable(name="V_SCORE", min=1, max=2, step=1)), derived=(), formula="SCORE + V_SCORE")
    idents = identifiers(item)
    assert len(set(idents.values())) == 3 and idents["SCORE"] not in ("SCORE", "V_SCORE") and idents["V_SCORE"] == "V_SCORE"
    assert [printf(s) for s in ("", ".2f", "+08.3e", "g", "5")] == ["%.10g", "%.2f", "%+08.3e", "%g", "%5.10g"]


def test_the_audit_refuses_a_template_that_lost_a_printed_variable(bank: Bank) -> None:
    items = Bank(root=bank.root, config=bank.config, items=tuple(templated(bank)[:2]))
    result = export(items, "qti21")
    assert result.files is not None and audit("qti21", items, result, Renderer()) == []
    name = f"items/{items.items[0].id}.xml"
    result.files[name] = re.sub(rb"<printedVariable [^>]*/>", b"", result.files[name], count=1)
    problems = audit("qti21", items, result, Renderer())
    assert len(problems) == 1 and "placeholders but the output prints" in problems[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_only_untranslatable_items_is_a_clear_error(bank: Bank, fmt: str) -> None:
    only = Bank(root=bank.root, config=bank.config, items=tuple(i for i in bank.items if i not in templated(bank)))
    assert only.items
    with pytest.raises(ItembankError, match="round"):
        export(only, fmt)


def test_the_formula_tree_check_covers_every_function() -> None:
    """Every function of the formula language is either translated or refused by name (none forgotten)."""
    from itembank.exporters.qti.template import ExpressionWriter, TemplateError
    from itembank.exporters.qti.profiles import QTI21
    from itembank.formulas import FUNCTIONS

    for name, (_, (least, _most)) in FUNCTIONS.items():
        call = ast.parse(f"{name}({', '.join(['x'] * least)})", mode="eval").body
        writer = ExpressionWriter(QTI21, {"x": "x"})
        try:
            writer.check(call)
            writer.write(etree.Element("holder"), call)
        except TemplateError as exc:
            assert name == "round", (name, exc)
