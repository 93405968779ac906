"""Calculated items' numbers as each format writes them: variable values on their step's decimal
places, keys within their own tolerance and with the author's ``answer_decimals``, and the notes an
export owes when Moodle or Canvas cannot carry something (formats, placeholders in feedback, ``%`` and
``round()`` on negatives)."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from itembank.formats import ExportContext, ExportOptions, ExportResult, get_exporter
from itembank.exporters.kit.numbers import key_text
from itembank.model import Bank, CalculatedItem, SourceRef, Variable
from itembank.render import Renderer
from itembank.variants import Variant, absolute_tolerance, accepts, as_numeric, variants

BANK_DIR = ROOT / "tests" / "banks" / "calculated"
QTI12 = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


def calc(id: str = "c1", **fields: object) -> CalculatedItem:
    base = CalculatedItem(
        id=id,
        type="calculated",
        stem="What is {a} + {b}?",
        location=SourceRef(path="items.yaml"),
        variables=(Variable(name="a", min=0.1, max=3, step=0.01), Variable(name="b", min=0.1, max=3, step=0.07)),
        formula="a + b",
        tolerance=0.01,
        answer_decimals=2,
    )
    return replace(base, **fields)


def bank_of(*items: CalculatedItem) -> Bank:
    from itembank import load_bank

    bank = load_bank(BANK_DIR)
    return Bank(root=bank.root, config=bank.config, items=items, assessments={})


def export(bank: Bank, fmt: str, **options: object) -> tuple[bytes | dict[str, bytes], ExportResult]:
    result = get_exporter(fmt).export(bank, ExportContext(renderer=Renderer(), options=ExportOptions(**options), tool_version="test"))  # type: ignore[arg-type]
    out = result.data if result.data is not None else result.files
    assert out is not None
    return out, result


def moodle_datasets(data: bytes) -> dict[str, list[str]]:
    root = etree.fromstring(data)
    return {
        d.findtext("name/text") or "": [v.text or "" for v in d.iterfind("dataset_items/dataset_item/value")]
        for d in root.iterfind("question/dataset_definitions/dataset_definition")
    }


# --- places follow the step's decimal value ---------------------------------------------------------


def test_places_follow_the_steps_decimal_value_not_its_repr() -> None:
    """``step: 1e-12`` has 12 places (it had 10, so every variant drew 0); ``1e20`` has none."""
    assert Variable(name="a", min=0, max=1e-11, step=1e-12).places == 12
    assert Variable(name="a", min=0, max=1e21, step=1e20).places == 0
    assert Variable(name="a", min=0, max=1, step=2.5e-7).places == 8
    assert Variable(name="a", min=100.0, max=200.0, step=10.0).places == 0
    tiny = calc(variables=(Variable(name="a", min=1e-12, max=1e-11, step=1e-12), Variable(name="b", values=(1.0,))))
    drawn = {v.names["a"] for v in variants(tiny, 30)}
    assert len(drawn) > 3 and 0 not in drawn
    assert all(1e-12 <= x <= 1e-11 and abs(x / 1e-12 - round(x / 1e-12)) < 1e-6 for x in drawn)


def test_moodle_writes_a_huge_steps_values_as_the_decimals_they_are() -> None:
    """A huge step: Moodle's datasets held the float's binary expansion (``4999…5805696.0000000000``)."""
    huge = calc(variables=(Variable(name="a", min=1e20, max=1e22, step=1e20), Variable(name="b", values=(1.0,))))
    data, _ = export(bank_of(huge), "moodle", variants=8)
    assert isinstance(data, bytes)
    values = moodle_datasets(data)["a"]
    assert len(values) == 8
    for text in values:
        assert re.fullmatch(r"[1-9]\d*00000000000000000000", text), text  # a whole multiple of 1e20, no fraction
    tiny = calc(variables=(Variable(name="a", min=1e-12, max=1e-11, step=1e-12), Variable(name="b", values=(1.0,))))
    data, _ = export(bank_of(tiny), "moodle", variants=8)
    assert isinstance(data, bytes)
    written = moodle_datasets(data)["a"]
    assert all(re.fullmatch(r"0\.0000000000\d\d", t) and t != "0.000000000000" for t in written), written


# --- a key lies inside its own accepted range -------------------------------------------------------

_answers = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300).filter(lambda x: x == 0 or abs(x) > 1e-300)
_tolerances = st.one_of(
    st.tuples(st.just("relative"), st.one_of(st.just(0.0), st.floats(min_value=1e-16, max_value=0.5))),
    st.tuples(st.just("absolute"), st.one_of(st.just(0.0), st.floats(min_value=1e-300, max_value=1e6))),
)


@settings(max_examples=400, deadline=None)
@given(_answers, _tolerances)
def test_a_written_key_is_inside_its_own_accepted_range(answer: float, tolerance: tuple[str, float]) -> None:
    """The variant's key (HTML, GIFT, QTI ``--expand-variants``) was always 12 significant digits, off the
    answer by more than a relative tolerance below ~1e-12 accepts: the key was marked wrong by its own
    item.  Now the key is within the tolerance of the answer, and the written range holds the answer."""
    kind, tol = tolerance
    item = calc(tolerance=tol, tolerance_type=kind)
    numeric = as_numeric(item, Variant(values=(("a", 1.0), ("b", 1.0)), answer=answer))
    assert numeric.answer is not None
    allowed = Decimal(repr(absolute_tolerance(item, answer)))
    assert abs(Decimal(repr(numeric.answer)) - Decimal(repr(answer))) <= allowed
    low, high = numeric.bounds
    assert low <= answer <= high and low <= numeric.answer <= high
    assert accepts(item, answer, numeric.answer)
    shown = Decimal(key_text(numeric))  # the printed and HTML key (answer_decimals, or more) too
    assert abs(shown - Decimal(repr(answer))) <= allowed


def test_a_tight_relative_tolerance_keeps_the_digits_it_needs() -> None:
    item = calc(tolerance=1e-13, tolerance_type="relative")
    numeric = as_numeric(item, Variant(values=(("a", 1.0), ("b", 1.0)), answer=69.93514285714285))
    assert numeric.answer == 69.93514285714285
    assert as_numeric(calc(), Variant(values=(("a", 1.0), ("b", 1.0)), answer=3.1700000000000004)).answer == 3.17


# --- Canvas var_sets in decimal, and the audit that checks them --------------------------------------


def canvas_var_sets(item: CalculatedItem, count: int = 10) -> list[dict[str, str]]:
    files, _ = export(bank_of(item), "canvas", unzipped=True, variants=count)
    assert isinstance(files, dict)
    sets = []
    for name, data in files.items():
        if name.startswith("non_cc_assessments/") and name.endswith(".qti"):
            for vs in etree.fromstring(data).iter(f"{QTI12}var_set"):
                sets.append({v.get("name") or "": v.text or "" for v in vs.iterfind(f"{QTI12}var")} | {"answer": vs.findtext(f"{QTI12}answer") or ""})
    assert len(sets) == count
    return sets


def test_canvas_var_sets_hold_decimals_never_binary_rounding() -> None:
    """``a + b`` on grids of 0.01 and 0.07: Canvas's var_sets held ``3.1700000000000004``,
    ``3.9499999999999997``; now each value on its variable's places and each answer as its key."""
    from itembank import api

    item = calc()
    for s in canvas_var_sets(item):
        assert re.fullmatch(r"\d\.\d\d", s["a"]) and re.fullmatch(r"\d\.\d\d", s["b"]), s
        assert Decimal(s["answer"]) == Decimal(s["a"]) + Decimal(s["b"]), s
    api.export(bank_of(item), "canvas", variants=10)  # the audit passes


def test_the_audit_refuses_a_calculated_items_binary_rounding_but_not_a_key_its_tolerance_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit checked numbers of numeric and cloze items only; a calculated item's outputs too now."""
    from itembank import api
    from itembank.errors import ItembankError
    from itembank.exporters.canvas import items as canvas_items

    monkeypatch.setattr(canvas_items, "key", lambda item, answer: answer)  # as before the fix: the float's repr
    with pytest.raises(ItembankError, match=r"binary rounding"):
        api.export(bank_of(calc()), "canvas", variants=10)
    api.export(bank_of(calc(tolerance=0.0)), "canvas", variants=10)  # tolerance 0: the key is the float itself
    api.export(bank_of(calc(tolerance=1e-15, tolerance_type="relative")), "moodle", variants=10)


# --- answer_decimals in the printed and HTML keys ---------------------------------------------------


def test_printed_and_html_keys_show_answer_decimals_or_the_places_the_tolerance_needs() -> None:
    """The Markdown key and the HTML answer showed 12 significant digits (0.557142857143) where Moodle
    and Canvas show the answer on ``answer_decimals`` (0.56); a tolerance tighter than those places
    shows as many more as it needs (0.5571 ± 0.0001); the accepted range is the tolerance around the
    answer, as before."""
    for tolerance, places in ((0.01, 2), (0.0001, 4), (0.5, 2)):
        item = calc(stem="What is {a} / 7?", variables=(Variable(name="a", min=1, max=9, step=1),), formula="a / 7", tolerance=tolerance)
        v = variants(item, 1)[0]
        shown = format(Decimal(repr(v.answer)), f".{places}f")
        files, _ = export(bank_of(item), "markdown")
        assert isinstance(files, dict)
        key = next(d.decode() for k, d in files.items() if k.endswith("-key.md"))
        assert f"**Answer:** {shown} ± {tolerance:g}" in key, key
        numeric = as_numeric(item, v)
        assert numeric.bounds[0] <= v.answer - tolerance * 0.999 and v.answer + tolerance * 0.999 <= numeric.bounds[1]
    files, _ = export(bank_of(item), "html")
    assert isinstance(files, dict)
    pages = "".join(d.decode() for k, d in files.items() if k.endswith(".html"))
    assert f"{shown} (± 0.5)" in pages


# --- placeholder formats Moodle and Canvas drop are noted --------------------------------------------


@pytest.mark.parametrize("where", ["final_answer", "quick_check", "title"])
def test_a_dropped_placeholder_format_in_the_solution_is_noted(where: str) -> None:
    """Moodle dropped ``{answer:.2f}`` in a final answer, quick check or step title without a note (it
    looked at the stem, rationale, hints, mistakes and steps' texts only); Canvas missed step titles."""
    from itembank.model import Solution, Step

    text = "so the sum is {answer:.2f}"
    solution = Solution(
        steps=(Step(text="Add them.", title=text if where == "title" else None),),
        final_answer=text if where == "final_answer" else None,
        quick_check=text if where == "quick_check" else None,
    )
    item = calc(solution=solution)
    for fmt in ("moodle", "canvas"):
        _, result = export(bank_of(item), fmt)
        assert any("({m:.2f})" in n and item.id in n for n in result.notes) or any("format" in n and item.id in n for n in result.notes), (fmt, result.notes)


def test_canvas_notes_the_values_its_feedback_shows_as_names() -> None:
    """Canvas's feedback cannot hold a formula question's values: a placeholder there was written as
    ``[name]`` without a note; now the item is named in one.  An item whose feedback shows no value has none."""
    item = calc(rationale="Add {a} and {b}.", hints=("Start from {a}.",))
    _, result = export(bank_of(item, calc(id="c2", rationale="Add them.")), "canvas")
    named = [n for n in result.notes if "[name]" in n and "question text only" in n]
    assert len(named) == 1 and "c1" in named[0] and "c2" not in named[0].split("in: ")[-1], result.notes


# --- formulas in Canvas's language --------------------------------------------------------------------


def test_canvas_writes_a_two_argument_log_as_its_log_with_a_base() -> None:
    """Canvas's calculator has ``log(x, [base])`` (base 10 without one) and a one-argument ``ln``: our
    ``log(x, b)`` was written ``ln(x, b)``; ``log(x)`` (natural) is still ``ln(x)``, ``log10(x)`` ``log(x)``."""
    import math

    from itembank.exporters.canvas.calculated import CANVAS
    from itembank.formulas import parse, write

    assert write(parse("log(a, b) + log(a) + log10(b)").tree, CANVAS) == "log(a, b) + ln(a) + log(b)"
    item = calc(variables=(Variable(name="a", min=2, max=50, step=1), Variable(name="b", values=(2.0, 3.0))), formula="log(a, b)")
    files, _ = export(bank_of(item), "canvas", unzipped=True)
    assert isinstance(files, dict)
    formulas = {el.text for name, data in files.items() if name.endswith(".qti") for el in etree.fromstring(data).iter(f"{QTI12}formula")}
    assert formulas == {"log(a, b)"}
    canvas_log = lambda x, base=10.0: math.log(x) / math.log(base)  # noqa: E731 - Canvas's calcCmd log
    for s in canvas_var_sets(item):
        assert math.isclose(canvas_log(float(s["a"]), float(s["b"])), float(s["answer"]), rel_tol=1e-9), s


def calccmd(formula: str, values: dict[str, float]) -> float:
    """A formula as Canvas's calculator (calcCmd, which computes its formula questions) reads it: the tokens
    ``+ - * / ^ ( ) ,``, plain decimals and names; ``-`` glued to the number or name after it; ``^`` first,
    then ``* /``, then ``+ -``, each from the left; its functions (those we write), an unknown one an error."""
    import math

    pattern = re.compile(r"\s+|(?P<name>[a-zA-Z][a-zA-Z0-9_.]*)|(?P<number>[0-9]*\.?[0-9]+)|(?P<op>[-+*/(),^])")
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(formula):
        m = pattern.match(formula, at)
        if m is None or m.end() == at:
            raise ValueError(f"unrecognized token at {at}")
        if m.lastgroup:
            tokens.append((m.lastgroup, m.group(0)))
        at = m.end()
    methods = {
        "abs": abs, "asin": math.asin, "acos": math.acos, "atan": math.atan, "ln": math.log,
        "log": lambda x, base=10.0: math.log(x) / math.log(base or 10), "sin": math.sin, "cos": math.cos,
        "tan": math.tan, "sqrt": math.sqrt, "ceil": math.ceil, "floor": math.floor, "min": min, "max": max,
        "round": lambda x: math.floor(x + 0.5),  # JavaScript's Math.round: a half up
        "e": lambda x=1.0: math.exp(x or 1),
    }  # fmt: skip
    known = dict(values, pi=math.pi, e=math.e)
    pos = 0

    def argument() -> float:
        nonlocal pos
        kind, text = tokens[pos]
        pos += 1
        if kind == "number":
            return float(text)
        if text == "-" and pos < len(tokens) and tokens[pos][0] in ("number", "name"):
            return -argument()  # glued: -x is the variable x negated, -2 the number
        if kind == "name" and pos < len(tokens) and tokens[pos][1] == "(":
            pos += 1
            args = []
            if tokens[pos][1] == ")":
                pos += 1
            else:
                while True:
                    args.append(expression((",", ")")))
                    pos += 1
                    if tokens[pos - 1][1] == ")":
                        break
            if text not in methods:
                raise ValueError(f"unrecognized method {text}")
            return float(methods[text](*args))
        if kind == "name":
            if text not in known:
                raise ValueError(f"undefined variable {text}")
            return known[text]
        if text == "(":
            value = expression((")",))
            pos += 1
            return value
        raise ValueError(f"expecting a value, got {text!r}")

    def expression(enders: tuple[str, ...]) -> float:
        items: list[float | str] = [argument()]
        while pos < len(tokens) and tokens[pos][1] not in enders:
            if tokens[pos][1] not in "+-*/^":
                raise ValueError(f"unexpected {tokens[pos][1]!r}")
            items.append(tokens[pos][1])
            pos_advance()
            items.append(argument())
        for ops in ("^", "*/", "+-"):
            done: list[float | str] = [items[0]]
            for op, right in zip(items[1::2], items[2::2], strict=True):
                if op in ops:
                    left = float(done.pop())
                    r = float(right)
                    done.append(math.pow(left, r) if op == "^" else left * r if op == "*" else left / r if op == "/" else left + r if op == "+" else left - r)
                else:
                    done += [op, right]
            items = done
        return float(items[0])

    def pos_advance() -> None:
        nonlocal pos
        pos += 1

    value = expression(())
    if pos != len(tokens):
        raise ValueError("unexpected tokens at the end")
    return value


CANVAS_FORMULAS = [
    # (our formula, variables, the note it owes: None, "round" or a function Canvas lacks)
    ("exp(a / 2)", None, None),
    ("pow(a + b, b) + sqrt(a) * ln(b)", None, None),
    ("round(a / 3, 2) + round(b * 3)", (Variable(name="a", values=(0.4, 1.3, 2.9)), Variable(name="b", values=(0.2, 1.1, 2.6))), "round"),
    ("-n ** 2 + -(n + m) + 1e-05 * m - exp(-n / 20) + (-2) ** m", (Variable(name="n", min=1, max=60, step=1), Variable(name="m", values=(-7.0, 3.0, 5.0))), None),
    ("atan2(a, b)", None, "atan2"),
    ("a % b", None, "%"),
]


@pytest.mark.parametrize(("formula", "variables", "note"), CANVAS_FORMULAS)
def test_canvas_writes_each_formula_in_its_calculators_language_or_notes_what_it_cannot(formula: str, variables: tuple[Variable, ...] | None, note: str | None) -> None:
    """Canvas's calculator has no exp, pow, two-argument round, atan2 or %, reads ``-`` only before a
    number or a name (``-(a + b)`` is an error, ``-x^2`` is ``(-x)^2``) and no ``1e-05``: they were written
    as they are.  Now each is written in its terms (``e^(x)``, ``(a)^(b)``, ``round(x * 10^n) / 10^n``, ``(0 - ...)``, ``0.00001``), and the formula as Canvas computes it gives
    our answer on every var_set; what it cannot compute as we do (atan2; % but for whole numbers) or rounds otherwise (a half, round) is a
    note naming the item, its var_sets still carry our answers."""
    import math

    from itembank.formulas import Evaluator, parse

    stem = {"stem": " and ".join("{" + v.name + "}" for v in variables) + "?", "variables": variables} if variables else {}
    item = calc(formula=formula, **stem)
    files, result = export(bank_of(item), "canvas", unzipped=True, variants=8)
    assert isinstance(files, dict)
    written = {el.text or "" for name, data in files.items() if name.endswith(".qti") for el in etree.fromstring(data).iter(f"{QTI12}formula")}
    assert len(written) == 1
    canvas = written.pop()
    notes = [n for n in result.notes if "round" in n or "recompute" in n]
    if note is None:
        assert notes == [], result.notes
    elif note == "round":
        assert len(notes) == 1 and "half" in notes[0] and notes[0].endswith(": c1"), notes
    else:
        assert len(notes) == 1 and f"using {note}" in notes[0] and notes[0].endswith("in: c1"), notes
        with pytest.raises(ValueError, match=f"unrecognized (method {note}|token)"):
            calccmd(canvas, {"a": 1.0, "b": 1.0})
    ours = Evaluator()
    for s in canvas_var_sets(item, 8):
        values = {k: float(v) for k, v in s.items() if k != "answer"}
        expected = ours.value(parse(formula), values)
        assert abs(float(s["answer"]) - expected) <= 0.01 + 1e-9, s  # the var_set carries our answer
        if note is None or note == "round":
            assert math.isclose(calccmd(canvas, values), expected, rel_tol=1e-9, abs_tol=1e-9), (canvas, s)


# --- Moodle's % and round() -----------------------------------------------------------------------------


def moodle_value(formula: str, values: dict[str, float]) -> float:
    """A Moodle formula as PHP computes it: fmod takes the dividend's sign, round() rounds halves away from zero."""
    import math

    def php_round(x: float, n: float = 0) -> float:
        scale = 10 ** int(n)
        return math.copysign(math.floor(abs(x) * scale + 0.5), x) / scale

    text = re.sub(r"\{(\w+)\}", lambda m: repr(values[m.group(1)]), formula).replace("pi()", "pi")
    namespace = {"fmod": math.fmod, "floor": math.floor, "round": php_round, "pow": math.pow, "pi": math.pi, "abs": abs}
    return float(eval(text, {"__builtins__": {}}, namespace))  # noqa: S307 - the test's own reading of Moodle's formula


def test_moodle_computes_our_modulo_on_negative_operands() -> None:
    """Our % (Python's: the divisor's sign, -7 % 3 == 2) was written fmod(a, b) (PHP's: the dividend's,
    -1): Moodle's answers differed from the keys wherever the signs differ."""
    item = calc(variables=(Variable(name="a", min=-20, max=20, step=1), Variable(name="b", values=(-3.0, 3.0, 7.0))), formula="a % b", tolerance=0.0)
    data, result = export(bank_of(item), "moodle", variants=30)
    assert isinstance(data, bytes)
    root = etree.fromstring(data)
    formula = root.findtext("question/answer/text") or ""
    sets = list(zip(*(([float(v) for v in vals]) for vals in moodle_datasets(data).values())))
    names = list(moodle_datasets(data))
    assert any((s[names.index("a")] < 0) != (s[names.index("b")] < 0) for s in sets)
    for s in sets:
        values = dict(zip(names, s))
        assert moodle_value(formula, values) == values["a"] % values["b"], (formula, values)
    assert not any("round()" in n for n in result.notes)


def test_moodle_notes_a_round_whose_halves_php_rounds_otherwise() -> None:
    """round() in the formula (or a derived variable): PHP rounds a half away from zero, we to even; the
    item is named in a note.  An item without round() is not."""
    halves = calc(id="halves", variables=(Variable(name="a", min=-5, max=5, step=0.5), Variable(name="b", values=(0.0,))), formula="round(a) + b")
    derived = calc(id="derived", derived=(("r", "round(a * 10)"),), formula="r + b")
    plain = calc(id="plain")
    _, result = export(bank_of(halves, derived, plain), "moodle")
    notes = [n for n in result.notes if "PHP's round()" in n]
    assert len(notes) == 1 and "halves" in notes[0] and "derived" in notes[0] and "plain" not in notes[0].split(" in:")[-1], result.notes
