"""Calculated items: formulas, seeded variants, and every format, checked against computations written
here independently of itembank's evaluator (plain Python arithmetic per item).

The bank is ``tests/banks/calculated`` (statistics, physics, finance; units, relative tolerance,
derived variables, value lists).  Moodle XML and Canvas packages are read back and each generated
value set's answer is recomputed from the values the file holds; the Moodle and Canvas formulas are
also evaluated (here, in the test, by a translation to Python over a math-only namespace) on those
values and must give the same answers.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from itembank import load_bank
from itembank.formats import ExportContext, ExportOptions, get_exporter
from itembank.formulas import EvaluationError, Evaluator, FormulaError, parse
from itembank.model import Bank, CalculatedItem, Form, NumericItem, Section
from itembank.render import Renderer
from itembank.variants import accepts, fill, placeholders, variants

BANK_DIR = ROOT / "tests" / "banks" / "calculated"

#: The answer of each item, written independently of itembank (no formula strings, no evaluator).
EXPECTED: dict[str, Callable[[dict[str, float]], float]] = {
    "stat-se": lambda v: v["s"] / math.sqrt(v["n"]),
    "stat-z": lambda v: (v["x"] - v["mu"]) / v["sigma"],
    "stat-ci-half": lambda v: 1.96 * v["s"] / math.sqrt(v["n"]),
    "phys-fall": lambda v: v["g"] * v["t"] * v["t"] / 2,
    "phys-pendulum": lambda v: 2 * math.pi * math.sqrt(v["L"] / 9.81),
    "phys-projectile": lambda v: v["v"] * v["v"] * math.sin(math.radians(2 * v["deg"])) / 9.81,
    "phys-ohm": lambda v: v["i"] * v["i"] * v["r"],
    "fin-compound": lambda v: round(v["p"] * (1 + v["r"] / 100) ** v["n"], 2),
    "fin-annuity": lambda v: v["pv"] * (v["rate"] / 1200) / (1 - (1 + v["rate"] / 1200) ** -v["n"]),
    "fin-continuous": lambda v: v["p"] * math.exp(v["r"] * v["t"] / 100),
}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank(BANK_DIR)


def calc_items(bank: Bank) -> list[CalculatedItem]:
    items = [i for i in bank.items if isinstance(i, CalculatedItem)]
    assert len(items) >= 8
    return items


def export(bank: Bank, fmt: str, **options: object) -> tuple[bytes | dict[str, bytes], object]:
    result = get_exporter(fmt).export(bank, ExportContext(renderer=Renderer(), options=ExportOptions(**options), tool_version="test"))  # type: ignore[arg-type]
    out = result.data if result.data is not None else result.files
    assert out is not None
    return out, result


# --- formulas -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "a.__class__",
        "open('f')",
        "'text'",
        "[1, 2]",
        "lambda: 1",
        "a if b else c",
        "a < b",
        "sqrt(x=2)",
        "f(1)",
        "sqrt",
        "x[0]",
        "True",
        "a and b",
        "",
        "(1",
    ],
)
def test_formulas_outside_the_grammar_are_refused(text: str) -> None:
    with pytest.raises(FormulaError):
        parse(text)


def test_caret_is_a_power_with_the_powers_precedence() -> None:
    ev = Evaluator()
    assert ev.value(parse("v^2 * k"), {"v": 3, "k": 2}) == 18
    assert ev.value(parse("2^3^2"), {}) == 2**9
    assert ev.value(parse("-x^2"), {"x": 3}) == -9


def test_functions_and_constants() -> None:
    ev = Evaluator()
    assert close(ev.value(parse("sqrt(16) + exp(0) + log(e) + ln(1) + log10(1000) + log(8, 2)"), {}), 4 + 1 + 1 + 0 + 3 + 3)
    assert close(ev.value(parse("sin(pi / 2) + cos(0) + tan(0) + asin(1) + acos(1) + atan(0) + atan2(1, 1)"), {}), 1 + 1 + math.pi / 2 + math.pi / 4)
    assert ev.value(parse("round(2.345, 2) + abs(-1) + min(3, 1, 2) + max(1, 5) + floor(1.5) + ceil(1.5) + pow(2, 3) + 7 % 3"), {}) == 2.35 + 1 + 1 + 5 + 1 + 2 + 8 + 1


@pytest.mark.parametrize("text,names", [("1 / x", {"x": 0}), ("log(x)", {"x": -1}), ("sqrt(x)", {"x": -4}), ("exp(x)", {"x": 1e6}), ("x ** 0.5", {"x": -2}), ("10 ** 5000", {}), ("((9 ** 999) ** 999) ** 999", {}), ("0 ** -1", {})])
def test_no_finite_value_is_an_evaluation_error(text: str, names: dict[str, float]) -> None:
    with pytest.raises(EvaluationError):
        Evaluator().value(parse(text), names)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab xy019.+-*/%^()e,_sqrtlogpimnax'\"[]:=<>", max_size=40))
def test_any_text_parses_or_is_refused_and_evaluates_or_is_refused(text: str) -> None:
    try:
        formula = parse(text)
    except FormulaError:
        return
    try:
        value = Evaluator().value(formula, {n: 1.5 for n in formula.names})
    except EvaluationError:
        return
    assert math.isfinite(value)



@pytest.mark.parametrize("text", ["1if a else 2", "a if 1else 2", "(1)(a)", "0x1for"])
def test_a_formula_python_warns_about_is_refused_without_a_warning_on_stderr(text: str) -> None:
    """Python's parser warns about some texts (``1if``: "invalid decimal literal"): the warning went
    to the command's stderr (``<unknown>:1: SyntaxWarning``) beside the finding; the finding alone
    is the answer."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(FormulaError):
            parse(text)
    assert [str(w.message) for w in caught] == []


# --- variants ---------------------------------------------------------------------------------------


def test_every_variant_answer_equals_the_independent_computation(bank: Bank) -> None:
    for item in calc_items(bank):
        vs = variants(item, 200)
        assert len(vs) == 200
        for v in vs:
            assert close(v.answer, EXPECTED[item.id](v.names)), (item.id, v)


def test_variables_stay_in_range_on_their_grid_or_list(bank: Bank) -> None:
    for item in calc_items(bank):
        vs = variants(item, 300)
        for var in item.variables:
            seen = {v.names[var.name] for v in vs}
            assert all(var.low <= x <= var.high for x in seen), (item.id, var.name)
            if var.values:
                assert seen <= set(var.values)
            elif var.step is not None:
                assert all(close((x - var.low) / var.step, round((x - var.low) / var.step)) for x in seen), (item.id, var.name)
            else:
                assert all(round(x, var.decimals or 0) == x for x in seen)
            assert len(seen) > 1, (item.id, var.name, "never varies")


def test_variants_are_seeded(bank: Bank) -> None:
    item = calc_items(bank)[0]
    assert variants(item, 20, seed=3) == variants(item, 20, seed=3)
    assert variants(item, 20, seed=3) != variants(item, 20, seed=4)


def test_placeholders_fill_with_formats_and_braces() -> None:
    assert placeholders("{a} and {b:.2f} {{x}}") == [("a", ""), ("b", ".2f")]
    assert fill("{a} and {b:.2f} {{x}} {c:.0%}", {"a": 3.0, "b": 1.23456, "c": 0.25}) == "3 and 1.23 {x} 25%"


def test_tolerance_relative_and_absolute(bank: Bank) -> None:
    rel = next(i for i in calc_items(bank) if i.tolerance_type == "relative")
    assert accepts(rel, 100.0, 100.0 * (1 + rel.tolerance * 0.99))
    assert not accepts(rel, 100.0, 100.0 * (1 + rel.tolerance * 1.01))
    absolute = next(i for i in calc_items(bank) if i.tolerance_type == "absolute")
    assert accepts(absolute, 5.0, 5.0 + absolute.tolerance)
    assert not accepts(absolute, 5.0, 5.0 + absolute.tolerance * 1.01)


# --- Moodle XML -------------------------------------------------------------------------------------


@pytest.mark.parametrize("tolerance", [0.07, 0.29, 0.57, 0.033, 0.0001, 1e-07, 0.1234567, 0.5])
def test_a_relative_tolerance_is_written_as_the_percentage_of_the_number_as_written(bank: Bank, tolerance: float) -> None:
    """Canvas and the workbook write a relative tolerance as a percentage: 0.07 is ``7%``, never the
    binary product ``0.07 * 100`` (``7.000000000000001%``)."""
    from decimal import Decimal

    from openpyxl import load_workbook

    item = replace(next(i for i in calc_items(bank) if i.tolerance_type == "relative"), tolerance=tolerance)
    one = Bank(root=bank.root, config=bank.config, items=(item,), assessments={})
    percent = format((Decimal(repr(tolerance)) * 100).normalize(), "f")
    files, _ = export(one, "canvas", unzipped=True)
    assert isinstance(files, dict)
    written = [el.text for name, data in files.items() if name.endswith((".xml", ".qti")) for el in etree.fromstring(data).iter("{*}answer_tolerance")]
    assert written and set(written) == {percent + "%"}
    data, _ = export(one, "xlsx")
    assert isinstance(data, bytes)
    cells = [str(c.value) for ws in load_workbook(io.BytesIO(data)).worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any(f"± {percent} %" in c for c in cells)
    assert not any("00000000000" in c for c in cells if "±" in c)


def moodle_formula_value(formula: str, values: dict[str, float]) -> float:
    """Evaluate a Moodle formula the way Moodle's PHP would, by translation to Python (test only)."""
    text = re.sub(r"\{(\w+)\}", lambda m: repr(values[m.group(1)]), formula).replace("pi()", "pi")
    namespace = {k: getattr(math, k) for k in ("sqrt", "exp", "log", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "pi", "pow", "fmod", "floor", "ceil")}
    namespace.update(abs=abs, min=min, max=max, round=lambda x, n=0: round(x, int(n)))
    return float(eval(text, {"__builtins__": {}}, namespace))  # noqa: S307 - the test's own reading of Moodle's formula


def test_moodle_xml_reads_back_with_datasets_formula_tolerance_and_units(bank: Bank) -> None:
    data, result = export(bank, "moodle", variants=7)
    assert isinstance(data, bytes)
    root = etree.fromstring(data)
    questions = {q.findtext("idnumber"): q for q in root.iterfind("question") if q.get("type") == "calculated"}
    assert set(questions) == {i.id for i in calc_items(bank)}
    for item in calc_items(bank):
        q = questions[item.id]
        answer = q.find("answer")
        assert answer is not None and answer.get("fraction") == "100"
        assert float(answer.findtext("tolerance") or "") == item.tolerance
        assert answer.findtext("tolerancetype") == ("1" if item.tolerance_type == "relative" else "2")
        assert answer.findtext("correctanswerlength") == str(item.answer_decimals)
        assert (q.findtext("units/unit/unit_name") or None) == item.unit
        datasets = {d.findtext("name/text"): d for d in q.iterfind("dataset_definitions/dataset_definition")}
        assert set(datasets) == {v.name for v in item.variables}
        sets: dict[int, dict[str, float]] = {}
        for name, d in datasets.items():
            assert d.findtext("status/text") == "private" and d.findtext("itemcount") == "7"
            for di in d.iterfind("dataset_items/dataset_item"):
                sets.setdefault(int(di.findtext("number") or 0), {})[name] = float(di.findtext("value") or "")
        assert sorted(sets) == list(range(1, 8))
        formula = answer.findtext("text") or ""
        assert "{" in formula and not set(item.derived and dict(item.derived)) & set(re.findall(r"\{(\w+)\}", formula))
        for values in sets.values():
            expected = EXPECTED[item.id](values)
            assert close(moodle_formula_value(formula, values), expected), (item.id, formula, values)
        text = q.findtext("questiontext/text") or ""
        assert not re.search(r"\{\w+:", text), "number formats are Moodle-free"
        assert all("{" + v.name + "}" in text for v in item.variables if "{" + v.name in item.stem)


def test_moodle_text_shows_derived_values_as_moodle_expressions(bank: Bank) -> None:
    data, _ = export(bank, "moodle")
    assert isinstance(data, bytes)
    q = next(q for q in etree.fromstring(data).iterfind("question") if q.findtext("idnumber") == "stat-se")
    feedback = q.findtext("generalfeedback/text") or ""
    assert "{=" in feedback and "{s} / sqrt({n})" in feedback


# --- Canvas -----------------------------------------------------------------------------------------


def canvas_formula_value(formula: str, values: dict[str, float]) -> float:
    text = formula.replace("^", "**")
    namespace = dict(values, sqrt=math.sqrt, ln=math.log, log=math.log10, exp=math.exp, sin=math.sin, cos=math.cos, tan=math.tan, pi=math.pi, e=math.e)
    namespace.update(abs=abs, min=min, max=max, round=lambda x, n=0: round(x, int(n)))
    return float(eval(text, {"__builtins__": {}}, namespace))  # noqa: S307 - the test's own reading of Canvas's formula


def test_canvas_package_reads_back_with_variables_var_sets_and_answers(bank: Bank) -> None:
    from itembank.exporters.canvas.check import check_package

    files, result = export(bank, "canvas", unzipped=True, variants=6)
    assert isinstance(files, dict)
    assert check_package(files) == []
    qti = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
    found: dict[str, etree._Element] = {}
    for name, data in files.items():
        if name.startswith("non_cc_assessments/"):
            for el in etree.fromstring(data).iter(f"{qti}item"):
                found[el.get("title") or ""] = el
    by_title = {i.name: i for i in calc_items(bank)}
    assert set(found) == set(by_title)
    for title, el in found.items():
        item = by_title[title]
        types = [f.findtext(f"{qti}fieldentry") for f in el.iter(f"{qti}qtimetadatafield") if f.findtext(f"{qti}fieldlabel") == "question_type"]
        assert types == ["calculated_question"]
        calc = el.find(f"{qti}itemproc_extension/{qti}calculated")
        assert calc is not None
        tol = calc.findtext(f"{qti}answer_tolerance") or ""
        assert tol == (f"{item.tolerance * 100:g}%" if item.tolerance_type == "relative" else f"{item.tolerance:g}")
        declared = {v.get("name"): v for v in calc.iterfind(f"{qti}vars/{qti}var")}
        assert set(declared) == {v.name for v in item.variables}
        for var in item.variables:
            assert int(declared[var.name].get("scale") or -1) == var.places
            assert float(declared[var.name].findtext(f"{qti}min") or "") == var.low
        formula = calc.findtext(f"{qti}formulas/{qti}formula") or ""
        sets = calc.findall(f"{qti}var_sets/{qti}var_set")
        assert len(sets) == 6
        for vs in sets:
            values = {v.get("name") or "": float(v.text or "") for v in vs.iterfind(f"{qti}var")}
            answer = float(vs.findtext(f"{qti}answer") or "")
            assert close(answer, EXPECTED[item.id](values)), (item.id, values)
            assert close(canvas_formula_value(formula, values), answer), (item.id, formula)
        stem = el.findtext(f"{qti}presentation/{qti}material/{qti}mattext") or ""
        assert "{" not in stem and all(f"[{v.name}]" in stem for v in item.variables if "{" + v.name in item.stem)


def test_canvas_skips_an_item_whose_stem_shows_a_computed_value(bank: Bank) -> None:
    item = calc_items(bank)[0]
    shows = replace(item, id="shows-derived", stem=item.stem + " (hint: the answer is near {answer:.1f})")
    _, result = export(Bank(root=BANK_DIR, config=bank.config, items=(item, shows)), "canvas")
    assert [i for i, _ in result.skipped] == ["shows-derived"]  # type: ignore[attr-defined]
    assert "computed value" in result.skipped[0][1]  # type: ignore[attr-defined]


# --- QTI, GIFT, markdown, xlsx, json ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_qti_without_expansion_writes_templates_or_skips_with_the_reason_and_with_it_writes_valid_numeric_items(bank: Bank, fmt: str, xsd_dir: Path) -> None:
    from itembank.exporters.qti import check_files

    mixed = Bank(root=bank.root, config=bank.config, items=bank.items + (NumericItem(id="plain", type="numeric", stem="2+2?", location=bank.items[0].location, answer=4.0),))
    files, result = export(mixed, fmt, unzipped=True)
    # template processing (tests/test_qti_templates.py) for every item but the one whose formula rounds
    rounding = {i.id for i in calc_items(bank) if "round(" in i.formula}
    assert rounding and {i for i, _ in result.skipped} == rounding  # type: ignore[attr-defined]
    assert all("--expand-variants" in r and "round()" in r for _, r in result.skipped)  # type: ignore[attr-defined]
    assert result.written == {"calculated": len(calc_items(bank)) - len(rounding), "numeric": 1}  # type: ignore[attr-defined]
    files, result = export(bank, fmt, unzipped=True, expand_variants=3)
    assert isinstance(files, dict)
    assert result.written == {"calculated": len(calc_items(bank))}  # type: ignore[attr-defined]
    for item in calc_items(bank):
        for n in (1, 2, 3):
            assert f"items/{item.id}-v{n}.xml" in files
    import os

    os.environ.setdefault("ITEMBANK_XSD_DIR", str(xsd_dir))
    assert check_files(get_exporter(fmt).profile, files) == []  # type: ignore[attr-defined]


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_expanded_variants_score_in_the_real_player(qti_player: Path, bank: Bank, tmp_path: Path, fmt: str) -> None:
    import subprocess

    from itembank.exporters.qti.ids import qti_id

    data, _ = export(bank, fmt, expand_variants=2)
    assert isinstance(data, bytes)
    package = tmp_path / f"{fmt}.zip"
    package.write_bytes(data)
    report_path = tmp_path / "report.json"
    proc = subprocess.run(["bash", str(qti_player), str(package), "--no-shots", "--json", str(report_path), "--jobs", "2"], capture_output=True, text=True, timeout=900)
    report = json.loads(report_path.read_text())
    results = {r["identifier"]: r for r in report["results"]}
    assert sorted(results) == sorted(qti_id(f"{i.id}-v{n}", "I_") for i in calc_items(bank) for n in (1, 2))
    assert {r["status"] for r in results.values()} == {"PASS"}, proc.stdout
    for r in results.values():
        assert r["scorable"] and float(r["correctScore"]) == 1.0 and float(r["wrongScore"]) == 0


def test_gift_skips_without_expansion_and_expands_with_it(bank: Bank) -> None:
    data, result = export(bank, "gift")
    assert result.written == {} and len(result.skipped) == len(calc_items(bank))  # type: ignore[attr-defined]
    data, result = export(bank, "gift", expand_variants=2)
    assert isinstance(data, bytes)
    text = data.decode()
    for item in calc_items(bank):
        for n, v in enumerate(variants(item, 2), 1):
            block = text.split(f"::{item.name}-v{n}::", 1)[1].split("\n\n", 1)[0]
            answer = float(re.search(r"\{\s*#(-?[\d.e+-]+):", block).group(1))  # type: ignore[union-attr]
            assert math.isclose(answer, EXPECTED[item.id](v.names), rel_tol=1e-11), (item.id, block)


def test_markdown_forms_draw_their_own_variant_and_the_key_shows_it(bank: Bank) -> None:
    item = next(i for i in calc_items(bank) if i.id == "stat-se")
    keys = []
    for letter in ("A", "B"):  # two forms of one assessment (one blueprint seed): each its own variant
        form = Form(assessment="t", title="T", form=letter, sections=(Section(title="S", item_ids=(item.id,)),), seed=11)
        files, result = export(Bank(root=bank.root, config=bank.config, items=(item,), form=form), "markdown")
        assert isinstance(files, dict)
        v = variants(item, 1, f"11:{letter}")[0]
        paper = files["t-" + letter + ".md"].decode() if ("t-" + letter + ".md") in files else next(d.decode() for k, d in files.items() if k.endswith(".md") and "key" not in k and "flash" not in k)
        key = next(d.decode() for k, d in files.items() if k.endswith("-key.md"))
        assert f"{v.names['n']:g} values" in paper and f"{v.names['s']:.1f} mm" in paper and "{" not in paper.split("---")[-1]
        assert f"{v.names['se']:.3f} mm" in key  # the worked solution, filled in
        keys.append(key)
    assert keys[0] != keys[1]


def test_xlsx_shows_the_formula_and_a_sample_variant(bank: Bank) -> None:
    import openpyxl

    data, _ = export(bank, "xlsx")
    assert isinstance(data, bytes)
    ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    for item in calc_items(bank):
        cell = str(rows[item.id]["Answer"])
        assert f"answer = {item.formula}" in cell and "Sample variant:" in cell
        v = variants(item, 1)[0]
        assert f"answer {v.answer:.{item.answer_decimals}f}" in cell


def test_json_carries_the_definition(bank: Bank) -> None:
    import jsonschema

    from itembank.schema import load_schema

    data, _ = export(bank, "json")
    assert isinstance(data, bytes)
    doc = json.loads(data)
    jsonschema.Draft202012Validator(load_schema("bank")).validate(doc)
    se = next(i for i in doc["items"] if i["id"] == "stat-se")
    assert se["variables"] == {"n": {"min": 20, "max": 100, "step": 10}, "s": {"min": 2, "max": 12, "decimals": 1}}
    assert se["derived"] == {"se": "s / sqrt(n)"} and se["formula"] == "se" and se["tolerance_type"] == "relative"


def test_every_format_writes_or_skips_every_calculated_item(bank: Bank) -> None:
    from itembank.formats import registry

    plain = NumericItem(id="plain", type="numeric", stem="2+2?", location=bank.items[0].location, answer=4.0)
    mixed = Bank(root=bank.root, config=bank.config, items=bank.items + (plain,))
    for name, exporter in registry().items():
        out, result = export(mixed, name, **({"unzipped": True} if "unzipped" in exporter.options else {}))  # type: ignore[arg-type]
        accounted = sum(result.written.values()) + len(result.skipped)  # type: ignore[attr-defined]
        assert accounted == len(mixed.items), name


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_qti_of_only_calculated_items_qti_cannot_compute_without_expansion_is_a_clear_error(bank: Bank, fmt: str) -> None:
    from itembank.errors import ItembankError

    rounding = Bank(root=bank.root, config=bank.config, items=tuple(i for i in calc_items(bank) if "round(" in i.formula))
    with pytest.raises(ItembankError, match="--expand-variants"):
        export(rounding, fmt)


@pytest.mark.parametrize("fmt", ["qti21", "qti30", "gift"])
def test_expanded_variant_ids_that_an_item_has_are_a_clear_error(bank: Bank, fmt: str) -> None:
    """--expand-variants 3 names a calculated item's variants <id>-v1 ... <id>-v3; an item of the bank
    already named <id>-v1 gave two items of one id, and the export failed with a message about a
    stem "not in the output".  Now it is refused, naming both items and what to do."""
    from itembank import api
    from itembank.errors import ItembankError

    calc = calc_items(bank)[0]
    for n, fewer in ((1, ""), (3, ", or export with --expand-variants 2 or fewer")):
        taken = NumericItem(id=f"{calc.id}-v{n}", type="numeric", stem="2+2?", location=bank.items[0].location, answer=4.0)
        clash = Bank(root=bank.root, config=bank.config, items=(calc, taken))
        message = (f"--expand-variants 3 writes calculated item '{calc.id}' ({calc.location.path}) as numeric items '{calc.id}-v1' ... "
                   f"'{calc.id}-v3', but item '{calc.id}-v{n}' ({taken.location.path}) already has the id '{calc.id}-v{n}': "
                   f"rename one of the two items{fewer}")
        with pytest.raises(ItembankError) as caught:
            api.export(clash, fmt, expand_variants=3)
        assert str(caught.value) == message
    # no clash with fewer variants than the taken number
    api.export(clash, fmt, expand_variants=2)


@pytest.mark.parametrize("fmt", ["qti21", "qti30", "gift"])
def test_one_expanded_variant_passes_the_audit(bank: Bank, fmt: str) -> None:
    """--expand-variants 1 writes each calculated item as one numeric item of the same id; the audit
    took that output for the calculated item itself and stopped the QTI export ("the calculated
    item has 2 placeholders but the output prints 0 variables": a bug in itembank)."""
    from itembank import api

    result = api.export(bank, fmt, expand_variants=1)
    assert result.written["calculated"] == len(calc_items(bank)), result.summary()
    assert result.variants == {i.id: 1 for i in calc_items(bank)}
    assert any("written as 1 numeric variant(s) each (each with its item's id)" in n for n in result.notes), result.notes


def test_zip_packages_hold_no_placeholder(bank: Bank) -> None:
    data, _ = export(bank, "qti21", expand_variants=1)
    assert isinstance(data, bytes)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("items/"):
                assert not re.search(r"\{[A-Za-z_]\w*(:[^}]*)?\}", zf.read(name).decode()), name


def test_html_practice_shows_a_concrete_variant_scored_by_its_answer(bank: Bank) -> None:
    files, result = export(bank, "html")
    assert isinstance(files, dict)
    assert result.written == {"calculated": len(calc_items(bank))}  # type: ignore[attr-defined]
    pages = "".join(d.decode() for k, d in files.items() if k.endswith(".html"))
    assert not re.search(r"\{[A-Za-z_]\w*(:[^}]*)?\}", pages)
    item = next(i for i in calc_items(bank) if i.id == "stat-se")
    v = variants(item, 1)[0]
    assert f"A sample of {v.names['n']:g} values has standard deviation {v.names['s']:.1f} mm" in pages
    # the shown answer on the item's answer_decimals (as Moodle and Canvas show it); the page's scoring
    # data accepts the tolerance around the answer itself
    assert f"{v.answer:.{item.answer_decimals}f} mm (± " in pages
    page = next(d.decode() for k, d in files.items() if k.endswith(".html") and f"{v.answer:.{item.answer_decimals}f} mm (± " in d.decode())
    keys = json.loads(re.search(r'<script type="application/json" id="ib-keys">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    spans = [(k["low"], k["high"]) for k in keys.values() if k.get("kind") == "number"]
    tol = item.tolerance * v.answer
    assert any(low <= v.answer - tol * 0.999 and v.answer + tol * 0.999 <= high for low, high in spans), spans
