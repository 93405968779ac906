"""``analyze``: report files → attempts → slot/item mapping → marks and choices → figures and flags."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import MappingError, UsageError
from ..model import AnyItem, Bank, ChoiceItem, MatchingItem, TrueFalseItem
from ..gcpause import gc_paused
from . import flags as flagging
from .mapping import (
    Administration,
    check_mapping,
    combine,
    key_index,
    map_by_content,
    map_from_file,
    map_from_form,
    match_options,
    option_ids,
    read_map,
)
from .mapping import (
    choices as item_choices,
)
from .readers import KIND_NAMES, Attempt, clean_response, read_report
from .statistics import ItemFigures, TestFigures, correlation, item_figures, midrank_percentiles, test_figures, wilson_interval
from ..wording import plural

AttemptPolicy = Literal["first", "last", "highest", "all"]
LOW_GROUP, HIGH_GROUP = 0.27, 0.73  # Kelley's 27% score groups, on mid-rank percentiles
NO_ANSWER = "(no answer)"
OTHER = "(other)"


@dataclass
class OptionStats:
    id: str | None  # None for the "(no answer)" / "(other)" rows
    label: str
    text: str
    key: bool
    count: int
    share: float
    discrimination: float | None
    groups: dict[str, float]  # share choosing it within the low / middle / high score group

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "text": self.text,
            "key": self.key,
            "count": self.count,
            "share": _r(self.share),
            "discrimination": _r(self.discrimination),
            "groups": {k: _r(v) for k, v in self.groups.items()},
        }


@dataclass
class ItemStats:
    id: str
    type: str
    title: str
    difficulty: str | None
    max_mark: float
    slots: list[str]  # "<administration>: slot N"
    s: int
    facility: float | None
    facility_interval: tuple[float, float] | None
    sd: float | None  # as a fraction of the max mark (Moodle's display)
    discrimination: float | None
    efficiency: float | None
    random_guess: float | None
    options: list[OptionStats]
    suggested_difficulty: str | None = None
    flags: list[flagging.Flag] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "difficulty": self.difficulty,
            "suggested_difficulty": self.suggested_difficulty,
            "max_mark": self.max_mark,
            "slots": self.slots,
            "n": self.s,
            "facility": _r(self.facility),
            "facility_interval": [_r(v) for v in self.facility_interval] if self.facility_interval else None,
            "sd": _r(self.sd),
            "discrimination": _r(self.discrimination),
            "discriminative_efficiency": _r(self.efficiency),
            "random_guess": _r(self.random_guess),
            "options": [o.as_dict() for o in self.options],
            "flags": [f.as_dict() for f in self.flags],
            "warnings": self.warnings,
        }


@dataclass
class TestStats:
    name: str
    kind: str
    figures: TestFigures
    slots_used: int
    mapping: dict[str, str]  # slot key -> item id ("" = left out)

    def as_dict(self) -> dict[str, Any]:
        f = self.figures
        return {
            "name": self.name,
            "report": KIND_NAMES.get(self.kind, self.kind),
            "n": f.s,
            "slots": f.items,
            "max_total": f.max_total,
            "mean": _r(f.mean),
            "median": _r(f.median),
            "sd": _r(f.sd),
            "skewness": _r(f.skewness),
            "kurtosis": _r(f.kurtosis),
            "alpha": _r(f.alpha),
            "error_ratio": _r(f.error_ratio),
            "standard_error": _r(f.standard_error),
            "mapping": {k: (v or None) for k, v in self.mapping.items()},
        }


@dataclass
class Analysis:
    sources: list[str]
    tests: list[TestStats]
    items: list[ItemStats]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: AttemptPolicy = "first"

    def flagged(self) -> list[ItemStats]:
        return [i for i in self.items if i.flags]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "attempts": self.attempts,
            "tests": [t.as_dict() for t in self.tests],
            "items": [i.as_dict() for i in self.items],
            "warnings": self.warnings,
            "notes": self.notes,
        }


def _r(v: float | None, digits: int = 4) -> float | None:
    return None if v is None else round(float(v), digits)


def random_guess_score(item: AnyItem) -> float | None:
    """Moodle's ``get_random_guess_score`` for the matching question type, as a fraction."""
    if isinstance(item, ChoiceItem):
        if item.type == "multiple_response":
            return None  # Moodle: "pretty much impossible to compute for _multi questions"
        return len(item.keys) / len(item.options)  # average option fraction
    if isinstance(item, TrueFalseItem):
        return 0.5
    if isinstance(item, MatchingItem):
        return 1 / len(set(item.targets) | set(item.distractors))  # each distinct answer once, as Moodle's menus offer them
    if item.type in ("short_answer", "numeric"):
        return 0.0
    return None


_MOODLE_DATE = re.compile(r"\s+")


def _when(attempt: Attempt) -> tuple[int, str, int]:
    """Sort key for an attempt's order in time: attempt number, then start time, then file line."""
    stamp = ""
    if attempt.started:
        text = _MOODLE_DATE.sub(" ", attempt.started.strip())
        for fmt in ("%d %B %Y %I:%M %p", "%d %B %Y %H:%M"):
            try:
                stamp = datetime.strptime(text, fmt).isoformat()
                break
            except ValueError:
                continue
        else:
            stamp = text  # ISO 8601 (Canvas) sorts as text
    return (attempt.attempt_number or 0, stamp, attempt.line)


def _select_attempts(adm: Administration, policy: AttemptPolicy) -> None:
    if policy == "all":
        return
    by_student: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(adm.attempts):
        by_student[a.student].append(i)
    if all(len(rows) == 1 for rows in by_student.values()):
        return
    score = np.zeros(len(adm.attempts))
    for col in adm.marks.values():
        score += np.nan_to_num(col)
    kept = []
    for rows in by_student.values():
        ordered = sorted(rows, key=lambda i: _when(adm.attempts[i]))
        if policy == "first":
            kept.append(ordered[0])
        elif policy == "last":
            kept.append(ordered[-1])
        else:  # highest: the best total, the earliest of equals
            kept.append(max(ordered, key=lambda i: (score[i], -ordered.index(i))))
    adm.notes.append(f"{adm.name}: {plural(len(adm.attempts) - len(kept), 'further attempt')} by the same students left out (attempts counted: {policy})")
    adm.keep(sorted(kept, key=lambda i: adm.attempts[i].line))


@dataclass
class _Column:
    """One mapped slot of one administration, as arrays over that administration's attempts."""

    marks: np.ndarray  # float64, NaN = no mark
    choices: np.ndarray | None  # bool (attempts × options): which options each attempt chose
    no_answer: np.ndarray | None  # bool
    other: np.ndarray | None  # bool: a response naming no option of the item
    max_mark: float
    presented: np.ndarray | None = None  # bool; None = every attempt was given the slot


def _column(adm: Administration, key: str, item: AnyItem | None, max_mark: float) -> _Column:
    n = len(adm.attempts)
    marks = adm.marks[key].copy() if adm.has_marks and key in adm.marks else np.full(n, np.nan)
    raw = adm.responses.get(key)
    presented = None
    if adm.kind == "canvas-student-analysis" and raw is not None:
        # Canvas leaves both cells empty for a question this submission was not given (question groups).
        presented = ~(np.array([c == "" for c in raw], dtype=bool) & np.isnan(marks))
        if presented.all():
            presented = None
    if item is None or raw is None or not option_ids(item):
        return _Column(marks, None, None, None, max_mark, presented)
    k = len(option_ids(item))
    # Each distinct cell is matched once; rows are coded by their cell's pattern (0 = no answer, 1 = other).
    patterns: list[tuple[int, ...] | None] = [None, None]
    code_of: dict[str, int] = {}
    for cell in set(raw):
        text = clean_response(cell)
        if text is None:
            code_of[cell] = 0
            continue
        matched = match_options(item, text, adm.kind)
        if matched is None:
            code_of[cell] = 1
        else:
            code_of[cell] = len(patterns)
            patterns.append(tuple(matched))
    codes = np.array([code_of[c] for c in raw], dtype=np.intp)
    table = np.zeros((len(patterns), k), dtype=bool)
    for p, picked in enumerate(patterns):
        if picked:
            table[p, list(picked)] = True
    choices = table[codes]
    no_answer = codes == 0
    other = codes == 1
    if not adm.has_marks:
        keys = key_index(item)
        if isinstance(item, ChoiceItem) and item.type == "multiple_response":
            marks[:] = np.nan  # partial-credit rules differ per LMS: marks must come from the report
        else:
            right = choices[:, keys[0]] if keys else np.zeros(n, dtype=bool)
            marks = np.where(right, max_mark, 0.0)
            marks[other] = np.nan  # cannot score a response that is not an option of the item
    return _Column(marks, choices, no_answer, other, max_mark, presented)


def analyze(
    reports: Sequence[Path | str],
    bank: Bank,
    *,
    form: Bank | None = None,
    map_file: Path | None = None,
    attempts: AttemptPolicy = "first",
) -> Analysis:
    """Item and test statistics from LMS report files, slots mapped to the bank's items.

    ``form``: an assessment form (``select_bank(bank, name, letter)``) whose delivery order maps slots
    by position.  ``map_file``: explicit ``slot: item-id`` mapping.  Otherwise slots are mapped by
    their question texts and responses; slots that cannot be mapped for certain raise
    :class:`MappingError` listing them (map them, or leave them out with ``slot: null``).
    """
    if not reports:
        raise UsageError("give at least one report file (Moodle Responses/Grades CSV, Canvas Student Analysis CSV)")
    with gc_paused():  # a million short-lived cells: automatic collections would walk them again and again
        return _analyze(reports, bank, form, map_file, attempts)


def _analyze(reports: Sequence[Path | str], bank: Bank, form: Bank | None, map_file: Path | None, attempts: AttemptPolicy) -> Analysis:
    read = [read_report(p) for p in reports]
    administrations = combine(read)
    map_data = read_map(map_file) if map_file is not None else None
    problems: list[str] = []
    for adm in administrations:
        _select_attempts(adm, attempts)
        if map_data is not None:
            map_from_file(adm, map_data, bank, str(map_file))
        if form is not None and not adm.mapping:
            map_from_form(adm, form)
        if len(adm.mapping) < len(adm.slots):
            if not adm.has_responses and all(not s.question_text for s in adm.slots):
                missing = [s.key for s in adm.slots if s.key not in adm.mapping]
                problems.append(
                    f"{adm.name}: a Grades report names no options or questions, so slots {', '.join(missing)} need "
                    "the assessment form the quiz was built from, a slot map, or the Responses report of the same attempts"
                )
            else:
                problems.extend(map_by_content(adm, bank))
        problems.extend(check_mapping(adm, bank))
    if problems:
        raise MappingError(f"{plural(len(problems), 'slot mapping problem')}: nothing was analysed", problems)
    return _compute(read, administrations, bank, attempts)


def _key_disagreements(adm: Administration, bank: Bank) -> list[str]:
    """Moodle's "Right answer N" column (when downloaded) against the bank's key: a quiz graded with
    another key than the bank holds gives marks that disagree with the bank."""
    out = []
    for slot in adm.slots:
        item_id = adm.mapping.get(slot.key)
        if not slot.right_answer or not item_id or not option_ids(bank.by_id[item_id]):
            continue
        item = bank.by_id[item_id]
        named = match_options(item, slot.right_answer, adm.kind)
        if named is not None and sorted(named) != sorted(key_index(item)):
            ids = option_ids(item)
            out.append(
                f"{adm.name}: slot {slot.key}: the LMS's right answer is {', '.join(ids[i] for i in named)} but {item_id} keys "
                f"{', '.join(ids[i] for i in key_index(item))}: the quiz was graded with another key than the bank holds"
            )
    return out


def _compute(read: list[Any], administrations: list[Administration], bank: Bank, policy: AttemptPolicy) -> Analysis:
    warnings: list[str] = []
    notes = [n for adm in administrations for n in adm.notes]
    per_item: dict[str, list[tuple[Administration, str, _Column, np.ndarray]]] = defaultdict(list)
    tests: list[TestStats] = []
    for adm in administrations:
        warnings.extend(_key_disagreements(adm, bank))
        columns: dict[str, _Column] = {}
        for slot in adm.slots:
            item_id = adm.mapping.get(slot.key) or None
            item = bank.by_id.get(item_id) if item_id else None
            max_mark = slot.max_mark if slot.max_mark is not None else (item.points if item is not None else 1.0)
            columns[slot.key] = _column(adm, slot.key, item, max_mark)
        scored = [k for k, c in columns.items() if not np.isnan(c.marks).all()]
        unscored = [k for k in columns if k not in scored]
        if unscored:
            notes.append(f"{adm.name}: slots {', '.join(unscored)} have no marks (no Grades report, not scorable from the responses): left out of the totals")
        if not scored:
            warnings.append(f"{adm.name}: no marks at all; only option shares can be reported")
        matrix = np.column_stack([columns[k].marks for k in scored]) if scored else np.zeros((len(adm.attempts), 0))
        missing = np.isnan(matrix)
        matrix = np.nan_to_num(matrix)
        for j, k in enumerate(scored):
            if columns[k].presented is not None:
                missing[:, j] &= columns[k].presented  # a question not given is not a mark missing
        if missing.any():
            notes.append(f"{adm.name}: {plural(int(missing.sum()), 'mark')} not given (e.g. requires grading) count{'s' * (int(missing.sum()) == 1)} as 0, as in Moodle's statistics")
        totals = matrix.sum(axis=1)
        max_total = float(sum(columns[k].max_mark for k in scored))
        tests.append(TestStats(adm.name, adm.kind, test_figures(matrix, max_total), len(scored), dict(adm.mapping)))
        for j, key in enumerate(scored):
            item_id = adm.mapping.get(key)
            if item_id:
                col = columns[key]
                col.marks = matrix[:, j] if col.presented is None else np.where(col.presented, matrix[:, j], np.nan)
                per_item[item_id].append((adm, key, col, totals))
        for key in unscored:
            item_id = adm.mapping.get(key)
            if item_id:
                per_item[item_id].append((adm, key, columns[key], totals))
    items = [_item_stats(bank.by_id[i.id], per_item[i.id], warnings) for i in bank.items if i.id in per_item]
    for s in tests:
        if s.figures.s < flagging.SMALL_SAMPLE:
            warnings.append(f"{s.name}: {s.figures.s} attempts: figures from fewer than {flagging.SMALL_SAMPLE} attempts are rough; flags are tentative")
    return Analysis(sources=[str(r.path) for r in read], tests=tests, items=items, warnings=warnings, notes=notes, attempts=policy)


def _item_stats(item: AnyItem, parts: list[tuple[Administration, str, _Column, np.ndarray]], warnings: list[str]) -> ItemStats:
    maxes = {c.max_mark for _, _, c, _ in parts}
    max_mark = parts[0][2].max_mark
    if len(maxes) > 1:
        warnings.append(f"{item.id}: different max marks across reports ({', '.join(f'{m:g}' for m in sorted(maxes))}); marks rescaled to {max_mark:g}")
    xs: list[np.ndarray] = []
    os_: list[np.ndarray] = []
    totals: list[np.ndarray] = []
    choices: list[np.ndarray | None] = []
    no_answer: list[np.ndarray | None] = []
    other: list[np.ndarray | None] = []
    sources: list[tuple[int, float]] = []
    for _, _, col, tot in parts:
        if col.presented is not None:
            keep = col.presented
            tot = tot[keep]
            col = _Column(
                col.marks[keep],
                None if col.choices is None else col.choices[keep],
                None if col.no_answer is None else col.no_answer[keep],
                None if col.other is None else col.other[keep],
                col.max_mark,
            )
        scale = max_mark / col.max_mark if col.max_mark else 1.0
        valid = ~np.isnan(col.marks)
        xs.append(np.where(valid, col.marks * scale, np.nan))
        os_.append((tot - np.nan_to_num(col.marks)) * scale)
        totals.append(tot * scale)
        sources.append((id(tot), scale))
        if col.choices is not None:
            choices.append(col.choices)
            no_answer.append(col.no_answer)
            other.append(col.other)
        else:
            k = len(option_ids(item))
            choices.append(np.zeros((len(col.marks), k), dtype=bool) if k else None)
            no_answer.append(None)
            other.append(None)
    x_all = np.concatenate(xs)
    o_all = np.concatenate(os_)
    has_marks = ~np.isnan(x_all)
    figures = item_figures(x_all[has_marks], o_all[has_marks], max_mark) if has_marks.any() else ItemFigures(0, None, 0.0, None, None, None)
    s = figures.s
    options: list[OptionStats] = []
    response_parts = [i for i, na in enumerate(no_answer) if na is not None]
    if response_parts:
        sel = np.concatenate([c for i in response_parts if (c := choices[i]) is not None])
        na = np.concatenate([c for i in response_parts if (c := no_answer[i]) is not None])
        ot = np.concatenate([c for i in response_parts if (c := other[i]) is not None])
        rest = np.concatenate([os_[i] for i in response_parts])
        tot = np.concatenate([totals[i] for i in response_parts])
        n = sel.shape[0]
        pct = _percentiles(tuple(sources[i] for i in response_parts), tot)
        groups = {"low": pct < LOW_GROUP, "middle": (pct >= LOW_GROUP) & (pct <= HIGH_GROUP), "high": pct > HIGH_GROUP}
        keys = set(key_index(item))
        ids = option_ids(item)
        texts = [text for _, text, _ in item_choices(item)]
        columns: list[tuple[str | None, str, str, bool, np.ndarray]] = [(ids[j], chr(ord("A") + j) if j < 26 else str(j + 1), texts[j], j in keys, sel[:, j]) for j in range(len(ids))]
        columns.append((None, NO_ANSWER, "", False, na))
        if ot.any():
            columns.append((None, OTHER, "a response that is none of the item's options", False, ot))
            warnings.append(f"{item.id}: {plural(int(ot.sum()), 'response')} name{'s' * (int(ot.sum()) == 1)} no option of the item (edited since the quiz?)")
        for oid, label, text, is_key, chose in columns:
            if oid is None and not chose.any():
                continue
            count = int(chose.sum())
            options.append(
                OptionStats(
                    id=oid,
                    label=label,
                    text=text,
                    key=is_key,
                    count=count,
                    share=count / n if n else 0.0,
                    discrimination=correlation(chose.astype(np.float64), rest),
                    groups={g: float(chose[m].mean()) if m.any() else 0.0 for g, m in groups.items()},
                )
            )
        if s == 0:
            s = n
    sd = figures.sd / max_mark if figures.sd is not None and max_mark else None
    interval = None
    if figures.facility is not None and item.type in ("multiple_choice", "true_false") and figures.s:
        interval = wilson_interval(figures.facility * figures.s, figures.s)
    stats = ItemStats(
        id=item.id,
        type=item.type,
        title=item.name,
        difficulty=item.difficulty,
        max_mark=max_mark,
        slots=[f"{adm.name}: slot {key}" for adm, key, _, _ in parts],
        s=s,
        facility=figures.facility,
        facility_interval=interval,
        sd=sd,
        discrimination=figures.discrimination,
        efficiency=figures.efficiency,
        random_guess=random_guess_score(item),
        options=options,
    )
    if stats.facility is not None:
        stats.suggested_difficulty = flagging.band_of(stats.facility)
    if 0 < s < flagging.SMALL_SAMPLE:
        stats.warnings.append(f"n={s}: fewer than {flagging.SMALL_SAMPLE} attempts; read the figures as rough")
    stats.flags = flagging.item_flags(stats)
    return stats


_PERCENTILES: dict[tuple[tuple[int, float], ...], tuple[np.ndarray, np.ndarray]] = {}


def _percentiles(key: tuple[tuple[int, float], ...], totals: np.ndarray) -> np.ndarray:
    """Mid-rank percentiles of these totals, computed once per set of administrations."""
    hit = _PERCENTILES.get(key)
    if hit is not None and hit[0].shape == totals.shape and np.array_equal(hit[0], totals):
        return hit[1]
    pct = midrank_percentiles(totals)
    _PERCENTILES.clear()
    _PERCENTILES[key] = (totals, pct)
    return pct
