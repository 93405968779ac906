"""Turning one schema-valid item mapping into its typed model object, defaults filled in."""

from __future__ import annotations

from typing import Any

from .model import (
    AnyItem,
    Blank,
    CalculatedItem,
    BlankKind,
    ChoiceItem,
    ClozeItem,
    Criterion,
    EssayItem,
    Evidence,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    Option,
    OrderingItem,
    Pair,
    Review,
    ShortAnswerItem,
    Solution,
    SourceRef,
    Step,
    Suppression,
    TrueFalseItem,
    Variable,
    placeholder_names,
)

_COMMON = ("title", "difficulty", "level", "topic", "bloom", "author", "source", "rationale")


def _tuple(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(raw.get(key) or ())


def _solution(raw: dict[str, Any] | None) -> Solution | None:
    if not raw:
        return None
    steps = tuple(Step(text=s) if isinstance(s, str) else Step(text=s["text"], title=s.get("title")) for s in raw.get("steps", ()))
    return Solution(steps=steps, final_answer=raw.get("final_answer"), quick_check=raw.get("quick_check"))


def _evidence(raw: dict[str, Any]) -> Evidence:
    fields = {k: v for k, v in raw.items() if k not in ("options", "groups", "flags")}
    return Evidence(
        **fields,
        options=tuple((str(k), float(v)) for k, v in (raw.get("options") or {}).items()),
        groups=tuple((str(k), (float(v[0]), float(v[1]), float(v[2]))) for k, v in (raw.get("groups") or {}).items()),
        flags=tuple(raw.get("flags") or ()),
    )


def _variable(name: str, raw: dict[str, Any]) -> Variable:
    return Variable(
        name=name,
        min=float(raw["min"]) if "min" in raw else None,
        max=float(raw["max"]) if "max" in raw else None,
        step=float(raw["step"]) if "step" in raw else None,
        decimals=raw.get("decimals"),
        values=tuple(float(x) for x in raw.get("values", ())),
    )


def variable_data(v: Variable) -> dict[str, Any]:
    """A variable as written in an item file (only the keys it has)."""
    if v.values:
        return {"values": list(v.values)}
    out: dict[str, Any] = {"min": v.min, "max": v.max}
    if v.step is not None:
        out["step"] = v.step
    if v.decimals is not None:
        out["decimals"] = v.decimals
    return out


def to_model(raw: dict[str, Any], location: SourceRef) -> AnyItem:
    """Build the model object.  ``raw`` must already have passed the schema and rules."""
    common: dict[str, Any] = {k: raw.get(k) for k in _COMMON}
    common.update(
        id=raw["id"],
        type=raw["type"],
        stem=raw["stem"],
        location=location,
        tags=_tuple(raw, "tags"),
        objectives=_tuple(raw, "objectives"),
        points=float(raw.get("points", 1)),
        status=raw.get("status", "draft"),
        hints=_tuple(raw, "hints"),
        solution=_solution(raw.get("solution")),
        common_mistakes=_tuple(raw, "common_mistakes"),
        reviews=tuple(Review(**r) for r in raw.get("reviews", ())),
        evidence=tuple(_evidence(e) for e in raw.get("evidence") or ()),
        lint_ignore=tuple(Suppression(code=s["code"], reason=s["reason"]) for s in (raw.get("lint") or {}).get("ignore", ())),
    )
    t = raw["type"]
    if t in ("multiple_choice", "multiple_response"):
        options = tuple(Option(id=o["id"], text=o["text"], correct=bool(o.get("correct", False)), feedback=o.get("feedback")) for o in raw["options"])
        return ChoiceItem(**common, options=options, shuffle=raw.get("shuffle", True), scoring=raw.get("scoring", "partial"))
    if t == "true_false":
        return TrueFalseItem(**common, answer=raw["answer"], true_feedback=raw.get("true_feedback"), false_feedback=raw.get("false_feedback"))
    if t == "short_answer":
        return ShortAnswerItem(**common, answers=tuple(raw["answers"]), case_sensitive=raw.get("case_sensitive", False))
    if t == "numeric":
        rng = raw.get("range")
        return NumericItem(
            **common,
            answer=float(raw["answer"]) if "answer" in raw else None,
            tolerance=float(raw.get("tolerance", 0)),
            range=(float(rng["min"]), float(rng["max"])) if rng else None,
            unit=raw.get("unit"),
        )
    if t == "essay":
        rubric = tuple(Criterion(criterion=c["criterion"], points=float(c["points"]), description=c.get("description")) for c in raw.get("rubric", ()))
        return EssayItem(
            **common,
            rubric=rubric,
            sample_answer=raw.get("sample_answer"),
            min_words=raw.get("min_words"),
            max_words=raw.get("max_words"),
            response_template=raw.get("response_template"),
        )
    if t == "matching":
        pairs = tuple(Pair(prompt=p["prompt"], match=p["match"]) for p in raw["pairs"])
        return MatchingItem(**common, pairs=pairs, distractors=_tuple(raw, "distractors"), shuffle=raw.get("shuffle", True))
    if t == "ordering":
        return OrderingItem(**common, sequence=tuple(raw["sequence"]))
    if t == "cloze":
        # Blanks in the order their placeholders appear in the stem: that is the order learners meet them.
        order = list(dict.fromkeys(placeholder_names(raw["stem"])))
        blanks = []
        for name in order:
            b = raw["blanks"][name]
            kind: BlankKind = "choice" if "choices" in b else "numeric" if "number" in b else "text"
            blanks.append(
                Blank(
                    name=name,
                    kind=kind,
                    answers=tuple(b.get("answers", ())),
                    case_sensitive=b.get("case_sensitive", False),
                    choices=tuple(b.get("choices", ())),
                    correct=b.get("correct"),
                    number=float(b["number"]) if "number" in b else None,
                    tolerance=float(b.get("tolerance", 0)),
                    points=float(b.get("points", 1)),
                    feedback=b.get("feedback"),
                )
            )
        return ClozeItem(**common, blanks=tuple(blanks))
    if t == "flashcard":
        return FlashcardItem(**common, answer=raw["answer"])
    if t == "calculated":
        rng = raw.get("answer_range")
        return CalculatedItem(
            **common,
            variables=tuple(_variable(name, v) for name, v in raw["variables"].items()),
            derived=tuple((name, text) for name, text in (raw.get("derived") or {}).items()),
            formula=raw["formula"],
            tolerance=float(raw.get("tolerance", 0)),
            tolerance_type=raw.get("tolerance_type", "absolute"),
            unit=raw.get("unit"),
            answer_decimals=int(raw.get("answer_decimals", 2)),
            answer_range=(float(rng["min"]), float(rng["max"])) if rng else None,
        )
    raise ValueError(f"unknown item type {t!r}")  # unreachable after schema validation


def to_data(item: AnyItem) -> dict[str, Any]:
    """The normalized item as plain data in the file format's shape, every default filled in."""
    out: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "title": item.title,
        "stem": item.stem,
        "difficulty": item.difficulty,
        "level": item.level,
        "topic": item.topic,
        "tags": list(item.tags),
        "objectives": list(item.objectives),
        "bloom": item.bloom,
        "points": item.points,
        "status": item.status,
        "author": item.author,
        "source": item.source,
        "rationale": item.rationale,
        "hints": list(item.hints),
        "common_mistakes": list(item.common_mistakes),
    }
    if item.solution is not None:
        out["solution"] = {
            "steps": [{"title": s.title, "text": s.text} if s.title else {"text": s.text} for s in item.solution.steps],
            "final_answer": item.solution.final_answer,
            "quick_check": item.solution.quick_check,
        }
    if item.reviews:
        out["reviews"] = [{k: v for k, v in (("decision", r.decision), ("reviewer", r.reviewer), ("comment", r.comment), ("date", r.date), ("suggested_difficulty", r.suggested_difficulty)) if v is not None} for r in item.reviews]
    if item.evidence:
        out["evidence"] = [evidence_data(e) for e in item.evidence]
    if item.lint_ignore:
        out["lint"] = {"ignore": [{"code": s.code, "reason": s.reason} for s in item.lint_ignore]}
    if isinstance(item, ChoiceItem):
        out["options"] = [{"id": o.id, "text": o.text, "correct": o.correct, "feedback": o.feedback} for o in item.options]
        out["shuffle"] = item.shuffle
        if item.type == "multiple_response":
            out["scoring"] = item.scoring
    elif isinstance(item, TrueFalseItem):
        out.update(answer=item.answer, true_feedback=item.true_feedback, false_feedback=item.false_feedback)
    elif isinstance(item, ShortAnswerItem):
        out.update(answers=list(item.answers), case_sensitive=item.case_sensitive)
    elif isinstance(item, NumericItem):
        if item.answer is not None:
            out.update(answer=item.answer, tolerance=item.tolerance)
        if item.range is not None:
            out["range"] = {"min": item.range[0], "max": item.range[1]}
        out["unit"] = item.unit
    elif isinstance(item, EssayItem):
        out.update(
            rubric=[{"criterion": c.criterion, "points": c.points, "description": c.description} for c in item.rubric],
            sample_answer=item.sample_answer,
            min_words=item.min_words,
            max_words=item.max_words,
            response_template=item.response_template,
        )
    elif isinstance(item, MatchingItem):
        out.update(pairs=[{"prompt": p.prompt, "match": p.match} for p in item.pairs], distractors=list(item.distractors), shuffle=item.shuffle)
    elif isinstance(item, OrderingItem):
        out["sequence"] = list(item.sequence)
    elif isinstance(item, ClozeItem):
        out["blanks"] = {
            b.name: (
                {"answers": list(b.answers), "case_sensitive": b.case_sensitive}
                if b.kind == "text"
                else {"choices": list(b.choices), "correct": b.correct}
                if b.kind == "choice"
                else {"number": b.number, "tolerance": b.tolerance}
            )
            | {"points": b.points, "feedback": b.feedback}
            for b in item.blanks
        }
    elif isinstance(item, FlashcardItem):
        out["answer"] = item.answer
    elif isinstance(item, CalculatedItem):
        out.update(
            variables={v.name: variable_data(v) for v in item.variables},
            derived=dict(item.derived),
            formula=item.formula,
            tolerance=item.tolerance,
            tolerance_type=item.tolerance_type,
            unit=item.unit,
            answer_decimals=item.answer_decimals,
            answer_range={"min": item.answer_range[0], "max": item.answer_range[1]} if item.answer_range else None,
        )
    return out


def evidence_data(e: Evidence) -> dict[str, Any]:
    """An evidence record as it is written in an item file (keys in this order, absent figures left out)."""
    out: dict[str, Any] = {"date": e.date, "source": e.source, "n": e.n}
    for key in ("facility", "sd", "discrimination", "discriminative_efficiency"):
        value = getattr(e, key)
        if value is not None:
            out[key] = value
    if e.options:
        out["options"] = dict(e.options)
    if e.groups:
        out["groups"] = {k: list(v) for k, v in e.groups}
    if e.flags:
        out["flags"] = list(e.flags)
    if e.suggested_difficulty is not None:
        out["suggested_difficulty"] = e.suggested_difficulty
    return out
