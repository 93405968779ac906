"""Concrete variants of calculated items: seeded draws of the variables, the derived values and the answer,
placeholders filled in, and a variant as the numeric item it is.

The same item, count and seed always give the same variants (the random source is seeded with the
item id and the seed, never the process's hash seed).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from functools import lru_cache

from .formulas import Evaluator, Formula, parse
from .model import CalculatedItem, Form, NumericItem, Solution, Step, Variable

#: ``{name}`` or ``{name:format}`` (Python's format mini-language); ``{{`` and ``}}`` are literal braces.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")


def placeholders(text: str) -> list[tuple[str, str]]:
    """The ``(name, format)`` of each placeholder in ``text``, in order (format "" when none)."""
    return [(m.group(1), m.group(2) or "") for m in PLACEHOLDER.finditer(text) if m.group(1)]


def show(value: float, spec: str = "") -> str:
    """A value as a placeholder shows it: with ``spec`` if given, else integers without ``.0`` and at
    most 10 significant digits."""
    if spec:
        return format(value, spec)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def fill(text: str, values: Mapping[str, float]) -> str:
    """``text`` with its placeholders replaced by ``values`` (a placeholder must name one of them)."""

    def sub(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        return show(values[m.group(1)], m.group(2) or "")

    return PLACEHOLDER.sub(sub, text)


@dataclass(frozen=True, slots=True)
class Variant:
    """One concrete version of a calculated item: every variable's value (inputs, then derived) and the answer."""

    values: tuple[tuple[str, float], ...]
    answer: float

    @property
    def names(self) -> dict[str, float]:
        return dict(self.values)


@dataclass(frozen=True)
class Plan:
    """A calculated item's parsed formulas and variable samplers, built once per item."""

    samplers: tuple[tuple[str, Callable[[random.Random], float]], ...]
    derived: tuple[tuple[str, Formula], ...]
    answer: Formula


def _sampler(v: Variable) -> Callable[[random.Random], float]:
    if v.values:
        values = tuple(float(x) for x in v.values)
        return lambda rng: values[int(rng.random() * len(values))]
    low, high = float(v.min), float(v.max)  # type: ignore[arg-type]
    if v.step is not None:
        step, places = float(v.step), v.places
        count = int((high - low) / step + 1e-9) + 1
        return lambda rng: round(low + int(rng.random() * count) * step, places)
    places = v.decimals or 0
    return lambda rng: round(low + rng.random() * (high - low), places)


@lru_cache(maxsize=4096)
def plan(item: CalculatedItem) -> Plan:
    """The item's sampling plan (formulas parsed once; :class:`itembank.formulas.FormulaError` if one is bad)."""
    return Plan(
        samplers=tuple((v.name, _sampler(v)) for v in item.variables),
        derived=tuple((name, parse(text)) for name, text in item.derived),
        answer=parse(item.formula),
    )


def variant_of(p: Plan, names: dict[str, float], ev: Evaluator) -> Variant:
    """The variant for given input values (derived values and answer computed; EvaluationError if none)."""
    for name, formula in p.derived:
        names[name] = ev.value(formula, names)
    return Variant(values=tuple(names.items()), answer=ev.value(p.answer, names))


def draws(item: CalculatedItem, seed: int | str = 0) -> Iterator[dict[str, float]]:
    """An endless seeded stream of input values for ``item``."""
    rng = random.Random(f"{item.id}/{seed}")
    samplers = plan(item).samplers
    while True:
        yield {name: draw(rng) for name, draw in samplers}


def variants(item: CalculatedItem, count: int, seed: int | str = 0) -> list[Variant]:
    """``count`` seeded variants of ``item``.  Draws with no finite answer (which validation rules out
    for a few hundred draws) are passed over; after ``count * 20`` such draws, ValueError."""
    p, ev = plan(item), Evaluator()
    out: list[Variant] = []
    failures = 0
    for names in draws(item, seed):
        if len(out) == count:
            break
        try:
            out.append(variant_of(p, names, ev))
        except ArithmeticError:
            failures += 1
            if failures > count * 20 + 100:
                raise ValueError(f"item '{item.id}': too many draws have no finite answer") from None
    return out


def form_seed(form: Form | None) -> int | str:
    """The variant seed of a delivered form: its blueprint's seed and its letter (forms A and B of one
    assessment draw different variants; a lock file, which freezes the seed and the items, freezes them)."""
    return 0 if form is None else f"{form.seed}:{form.form}"


def absolute_tolerance(item: CalculatedItem, answer: float) -> float:
    """The accepted absolute error around ``answer`` (a relative tolerance times the answer's size)."""
    return item.tolerance * abs(answer) if item.tolerance_type == "relative" else item.tolerance


def accepts(item: CalculatedItem, answer: float, response: float) -> bool:
    return abs(response - answer) <= absolute_tolerance(item, answer) * (1 + 1e-12) + 1e-12


def key(item: CalculatedItem, answer: float) -> float:
    """The answer as a key is written: 12 significant digits (``3.17``, never binary arithmetic's
    ``3.1700000000000004``), and more where the tolerance is tighter than 12 digits can show (up to the
    float itself), so the key lies well inside the accepted range around the answer: at most a ten-millionth
    of the tolerance away, which the written tolerance (:func:`as_numeric`: a millionth wider) covers."""
    exact = Decimal(repr(answer))
    slack = Decimal(repr(absolute_tolerance(item, answer))) * Decimal("1e-7")
    for digits in range(12, 18):
        candidate = float(f"{answer:.{digits}g}")
        if abs(Decimal(repr(candidate)) - exact) <= slack:
            return candidate
    return answer


def shown_decimals(item: CalculatedItem, answer: float) -> int:
    """The decimal places a key is shown with: the item's ``answer_decimals`` (as Moodle and Canvas show
    it), or more where the answer so rounded falls outside the tolerance (at most the float's own)."""
    exact = Decimal(repr(answer))
    tolerance = Decimal(repr(absolute_tolerance(item, answer)))
    last = max(item.answer_decimals, -exact.as_tuple().exponent)  # type: ignore[operator]
    wide = Context(prec=1000)  # every float in full, its 309 integer digits and 1074 places alike
    for places in range(item.answer_decimals, last + 1):
        if abs(exact.quantize(Decimal(1).scaleb(-places), context=wide) - exact) <= tolerance:
            return places
    return last


def as_numeric(item: CalculatedItem, variant: Variant, suffix: str = "") -> NumericItem:
    """The variant as the numeric item it is: every text's placeholders filled, the answer and an
    absolute tolerance.  ``suffix`` (e.g. ``-v1``) is added to the id and title."""
    names = variant.names
    names.setdefault("answer", variant.answer)

    def f(text: str | None) -> str | None:
        return None if text is None else fill(text, names)

    sol = item.solution
    solution = (
        None
        if sol is None
        else Solution(
            steps=tuple(Step(text=fill(s.text, names), title=f(s.title)) for s in sol.steps),
            final_answer=f(sol.final_answer),
            quick_check=f(sol.quick_check),
        )
    )
    return NumericItem(
        id=item.id + suffix,
        type="numeric",
        stem=fill(item.stem, names),
        location=item.location,
        title=(item.title + suffix) if (item.title and suffix) else item.title,
        difficulty=item.difficulty,
        level=item.level,
        topic=item.topic,
        tags=item.tags,
        objectives=item.objectives,
        bloom=item.bloom,
        points=item.points,
        status=item.status,
        author=item.author,
        source=item.source,
        rationale=f(item.rationale),
        hints=tuple(fill(h, names) for h in item.hints),
        solution=solution,
        common_mistakes=tuple(fill(c, names) for c in item.common_mistakes),
        reviews=item.reviews,
        evidence=item.evidence,
        # the key (12 significant digits, more if the tolerance needs them), the tolerance rounded up to 6
        answer=key(item, variant.answer),
        tolerance=float(f"{absolute_tolerance(item, variant.answer) * (1 + 1e-6):.6g}"),
        unit=item.unit,
        shown_decimals=shown_decimals(item, variant.answer),
    )


def expand(item: CalculatedItem, count: int, seed: int | str = 0) -> list[NumericItem]:
    """``count`` numeric items, one per variant, ids ``<id>-v1`` ... (one variant: the id unchanged)."""
    vs = variants(item, count, seed)
    if count == 1:
        return [as_numeric(item, vs[0])]
    return [as_numeric(item, v, f"-v{i}") for i, v in enumerate(vs, 1)]


def texts(item: CalculatedItem) -> Iterator[tuple[tuple[object, ...], str]]:
    """Every text of a calculated item that may hold placeholders (solution steps' titles too), with its path."""
    yield ("stem",), item.stem
    if item.rationale:
        yield ("rationale",), item.rationale
    for i, h in enumerate(item.hints):
        yield ("hints", i), h
    for i, c in enumerate(item.common_mistakes):
        yield ("common_mistakes", i), c
    if item.solution:
        for i, s in enumerate(item.solution.steps):
            yield ("solution", "steps", i), s.text
            if s.title:
                yield ("solution", "steps", i, "title"), s.title
        if item.solution.final_answer:
            yield ("solution", "final_answer"), item.solution.final_answer
        if item.solution.quick_check:
            yield ("solution", "quick_check"), item.solution.quick_check


__all__ = ["PLACEHOLDER", "Variant", "accepts", "absolute_tolerance", "as_numeric", "expand", "fill", "key", "placeholders", "plan", "show", "shown_decimals", "variants"]
