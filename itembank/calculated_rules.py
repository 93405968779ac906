"""Validation of calculated items: formulas, variable ranges, placeholders, and seeded sampling.

One rule (:func:`calculated`, listed in :data:`itembank.rules.RULES`) yields findings with paths into
the raw mapping, so the validator can give each one its file and line.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .formulas import RESERVED, EvaluationError, Evaluator, FormulaError, parse
from .model import CalculatedItem, SourceRef
from .variants import draws, placeholders, plan, variant_of
from .wording import quoted

if TYPE_CHECKING:
    from .rules import Finding, RuleContext

#: Seeded draws of the variables that validation evaluates (the answer and every derived variable).
SAMPLE_DRAWS = 300
#: The most steps from 0 a variable's values may be (15 significant digits: what a float holds exactly in decimal).
_EXACT = 10.0**15


def _texts(item: dict[str, Any]) -> Iterator[tuple[tuple[object, ...], str]]:
    for key in ("stem", "rationale"):
        if isinstance(item.get(key), str):
            yield (key,), item[key]
    for key in ("hints", "common_mistakes"):
        for i, text in enumerate(item.get(key) or ()):
            yield (key, i), text
    solution = item.get("solution") or {}
    for i, step in enumerate(solution.get("steps") or ()):
        if isinstance(step, str):
            yield ("solution", "steps", i), step
        else:
            yield ("solution", "steps", i, "text"), step["text"]
            if step.get("title"):
                yield ("solution", "steps", i, "title"), step["title"]
    for key in ("final_answer", "quick_check"):
        if isinstance(solution.get(key), str):
            yield ("solution", key), solution[key]


def calculated(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] != "calculated":
        return
    bad = False
    variables: dict[str, Any] = item["variables"]
    defined: set[str] = set()
    for name, v in variables.items():
        if name in RESERVED or name == "answer":
            yield ("variables", name), "IB232", f"{quoted(name)} is a function or constant name (or `answer`); name the variable otherwise"
            bad = True
        defined.add(name)
        if "values" in v:
            extra = sorted(set(v) & {"min", "max", "step", "decimals"})
            if extra:
                yield ("variables", name), "IB232", f"give either `values` or a range, not both (also has {', '.join(extra)})"
                bad = True
            continue
        lo, hi = v["min"], v["max"]
        if lo > hi:
            yield ("variables", name), "IB232", f"min {lo} is greater than max {hi}"
            bad = True
        if ("step" in v) == ("decimals" in v):
            yield ("variables", name), "IB232", "a range needs exactly one of `step` (a grid) or `decimals` (uniform, rounded)"
            bad = True
        elif "step" in v and lo <= hi and v["step"] > hi - lo and hi > lo:
            yield ("variables", name, "step"), "IB232", f"step {v['step']} is larger than the range {lo}..{hi}: the variable never changes"
            bad = True
        elif "decimals" in v and lo <= hi and hi - lo < 10 ** -v["decimals"] and hi > lo:
            yield ("variables", name, "decimals"), "IB232", f"the range {lo}..{hi} is narrower than {v['decimals']} decimal places can show"
            bad = True
        else:
            unit = v["step"] if "step" in v else 10.0 ** -v["decimals"]
            if max(abs(lo), abs(hi)) / unit > _EXACT:
                yield (("variables", name, "step" if "step" in v else "decimals"), "IB232",
                       f"values {lo}..{hi} to {'a step of ' + repr(v['step']) if 'step' in v else repr(v['decimals']) + ' decimal places'} need more "
                       "than the 15 significant digits a number holds (and Moodle and Canvas store): they cannot be written as drawn; "
                       "use a coarser step or scale the variable (a unit)")
                bad = True
    for name, text in (item.get("derived") or {}).items():
        if name in defined or name in RESERVED or name == "answer":
            yield ("derived", name), "IB232", f"derived variable {quoted(name)} clashes with a variable, function or constant of that name"
            bad = True
        try:
            formula = parse(text)
        except FormulaError as exc:
            yield ("derived", name), "IB230", str(exc)
            bad = True
        else:
            missing = sorted(formula.names - defined)
            if missing:
                yield ("derived", name), "IB231", f"uses {', '.join(repr(m) for m in missing)}, which no variable (or earlier derived variable) defines"
                bad = True
        defined.add(name)
    try:
        answer = parse(item["formula"])
    except FormulaError as exc:
        yield ("formula",), "IB230", str(exc)
        bad = True
    else:
        missing = sorted(answer.names - defined)
        if missing:
            yield ("formula",), "IB231", f"uses {', '.join(repr(m) for m in missing)}, which no variable defines"
            bad = True
    if item.get("tolerance", 0) < 0:
        yield ("tolerance",), "IB206", f"tolerance {item['tolerance']} is negative"
    rng = item.get("answer_range")
    if rng and rng["min"] > rng["max"]:
        yield ("answer_range",), "IB207", f"answer_range min {rng['min']} is greater than max {rng['max']}"
        rng = None
    shown = defined | {"answer"}
    for path, text in _texts(item):
        for name, spec in placeholders(text):
            if name not in shown:
                yield path, "IB233", f"placeholder {{{name}}} names no variable (defined: {', '.join(sorted(defined))}); write {{{{ and }}}} for literal braces"
            elif spec:
                try:
                    format(1.5, spec)
                except ValueError as exc:
                    yield path, "IB233", f"placeholder {{{name}:{spec}}} has a bad number format: {exc}"
    if bad:
        return
    yield from _sample(item, rng)


def _sample(raw: dict[str, Any], rng: dict[str, float] | None) -> Iterator[Finding]:
    """Evaluate seeded draws; report the first draw that has no finite value or an answer out of range."""
    from .normalize import to_model

    item = to_model(raw, SourceRef(path=""))
    assert isinstance(item, CalculatedItem)
    p, ev = plan(item), Evaluator()
    stream = draws(item)
    for _ in range(SAMPLE_DRAWS):
        names = next(stream)
        shown = ", ".join(f"{k}={v:g}" for k, v in names.items())
        try:
            v = variant_of(p, dict(names), ev)
        except EvaluationError as exc:
            where: tuple[object, ...] = ("formula",)
            for dname, formula in p.derived:  # which formula broke: the first derived one that fails
                try:
                    names[dname] = ev.value(formula, names)
                except EvaluationError:
                    where = ("derived", dname)
                    break
            yield where, "IB234", f"with {shown}: {exc}"
            return
        if rng is not None and not (rng["min"] <= v.answer <= rng["max"]):
            yield ("answer_range",), "IB235", f"with {shown} the answer is {v.answer:g}, outside {rng['min']:g}..{rng['max']:g}"
            return
        if not math.isfinite(v.answer):  # pragma: no cover - the evaluator refuses these
            yield ("formula",), "IB234", f"with {shown}: no finite answer"
            return
