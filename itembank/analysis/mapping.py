"""Which bank item sat in which quiz slot, and which option each response names.

Three sources, in order of authority:

1. a slot map (``map_file``; the CLI's ``--map``): a YAML/JSON mapping ``slot: item-id`` (``null`` leaves a slot out), optionally
   nested per report file name (``{responses.csv: {1: pt-quiz-1}}``).
2. the assessment form the quiz was built from (``form``; ``--assessment/--form``): slot *n* is the *n*-th item the form delivers.  Forms whose
   sections draw items at delivery time cannot be mapped by position (refused).
3. Otherwise by content: a slot fits an item when the question text the report carries matches the
   item's stem, or when every response seen in the slot is one of the item's options.  Slots that
   fit exactly one item (after removing items that other slots took for certain) are mapped;
   the others are reported, with their candidates, and left out — never guessed.

Whatever the source, a mapped slot whose responses name no option of its item is reported: a
wrong form or an item edited since the quiz gives wrong statistics.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from ..errors import ItembankError, UsageError
from ..model import AnyItem, Bank, ChoiceItem, TrueFalseItem
from ..render import Renderer
from .readers import Attempt, Report, Slot, clean_response, split_canvas_list

_RENDERER = Renderer()
_TAGS = re.compile(r"<[^>]+>")
_MARKUP = re.compile(r"\\\(|\\\)|\\\[|\\\]|[`*_$]")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Compare texts the way a reader would: entities decoded, tags/markup dropped, spaces and case folded."""
    text = html.unescape(_TAGS.sub(" ", text))
    text = _MARKUP.sub("", text)
    return _SPACE.sub(" ", text).strip().rstrip(".").strip().casefold()


@lru_cache(maxsize=65536)
def normalize_markdown(text: str) -> str:
    """An item's Markdown text as the LMS shows it in a report (plain text), normalized."""
    return normalize(_RENDERER.plain(text))


def choices(item: AnyItem) -> list[tuple[str, str, bool]]:
    """(id, text as the author wrote it, keyed?) of each option a response can name; true/false has two."""
    if isinstance(item, ChoiceItem):
        return [(o.id, o.text, o.correct) for o in item.options]
    if isinstance(item, TrueFalseItem):
        return [("true", "True", item.answer), ("false", "False", not item.answer)]
    return []


def option_texts(item: AnyItem) -> list[str]:
    """The normalized texts a report can name for each option (by option position)."""
    return [normalize_markdown(text) for _, text, _ in choices(item)]


def option_ids(item: AnyItem) -> list[str]:
    return [oid for oid, _, _ in choices(item)]


def key_index(item: AnyItem) -> list[int]:
    """Positions (in :func:`option_ids`) of the keyed options."""
    return [i for i, (_, _, key) in enumerate(choices(item)) if key]


def split_response(item: AnyItem, text: str, kind: str) -> list[str]:
    """The parts of a response naming several options (multiple response), else the text itself.

    Canvas joins the chosen texts with ``,`` (escaping its own); Moodle joins them with ``; ``
    (qtype_multichoice_multi_question::summarise_response) without escaping, so :func:`match_options`
    re-joins parts where an option's own text holds a ``; ``."""
    if isinstance(item, ChoiceItem) and item.type == "multiple_response":
        if kind == "canvas-student-analysis":
            return split_canvas_list(text)
        return text.split("; ")
    return [text]


def match_options(item: AnyItem, text: str, kind: str) -> list[int] | None:
    """The option positions a response names, or None when some part names no option."""
    texts = option_texts(item)
    if not texts:
        return None
    index = {t: i for i, t in enumerate(texts)}
    parts = split_response(item, text, kind)
    if kind == "canvas-student-analysis" or len(parts) == 1:
        found = [index.get(normalize(part)) for part in parts if part.strip()]
        return None if None in found else [i for i in found if i is not None]
    # Moodle's "; "-joined list: the segmentation into option texts (a text may itself hold "; ").
    best: list[list[int] | None] = [[]] + [None] * len(parts)
    for end in range(1, len(parts) + 1):
        for start in range(end - 1, -1, -1):
            head = best[start]
            i = index.get(normalize("; ".join(parts[start:end])))
            if head is not None and i is not None:
                best[end] = head + [i]
                break
    return best[-1]


@dataclass
class Administration:
    """One delivery of a quiz: a report file, or a Moodle Responses + Grades pair of the same attempts."""

    name: str
    kind: str  # the report kind that carries the responses (or the marks, for grades alone)
    slots: list[Slot]
    attempts: list[Attempt]
    responses: dict[str, list[str]]  # slot key -> raw cell per attempt
    marks: dict[str, npt.NDArray[np.float64]]  # slot key -> mark per attempt (NaN = none)
    has_responses: bool
    has_marks: bool
    notes: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # slot key -> item id ("" = left out)
    counts: dict[str, Counter[str]] | None = None  # cache of slot_counts

    @classmethod
    def of(cls, r: Report) -> Administration:
        return cls(r.name, r.kind, list(r.slots), list(r.attempts), dict(r.responses), dict(r.marks), r.has_responses, r.has_marks, list(r.notes))

    def keep(self, rows: list[int]) -> None:
        """Keep only these attempts (positions), in this order."""
        self.attempts = [self.attempts[i] for i in rows]
        self.responses = {k: [col[i] for i in rows] for k, col in self.responses.items()}
        index = np.array(rows, dtype=np.intp)
        self.marks = {k: col[index] for k, col in self.marks.items()}
        self.counts = None


def combine(reports: list[Report]) -> list[Administration]:
    """Pair each Moodle Responses report with the Grades report of the same attempts; the rest stand alone."""
    grades = [r for r in reports if r.kind == "moodle-grades"]
    used: set[int] = set()
    out: list[Administration] = []
    for r in reports:
        if r.kind == "moodle-grades":
            continue
        adm = Administration.of(r)
        if r.kind == "moodle-responses" and grades:
            keys = {a.key for a in r.attempts}
            best = max((g for g in grades if id(g) not in used), key=lambda g: len(keys & {a.key for a in g.attempts}), default=None)
            if best is not None and keys & {a.key for a in best.attempts}:
                used.add(id(best))
                _merge(adm, best)
        out.append(adm)
    out.extend(Administration.of(g) for g in grades if id(g) not in used)
    return out


def _merge(adm: Administration, grades: Report) -> None:
    by_key = {a.key: i for i, a in enumerate(grades.attempts)}
    maxes = {s.key: s.max_mark for s in grades.slots}
    if set(maxes) != {s.key for s in adm.slots}:
        raise ItembankError(f"{adm.name} and {grades.name}: the slots differ ({len(adm.slots)} responses, {len(maxes)} marks); are they the same quiz?")
    adm.slots = [Slot(key=s.key, label=s.label, max_mark=maxes[s.key], question_text=s.question_text, right_answer=s.right_answer) for s in adm.slots]
    rows, partner = [], []
    for i, a in enumerate(adm.attempts):
        g = by_key.pop(a.key, None)
        if g is None:
            adm.notes.append(f"{adm.name}:{a.line}: left out: this attempt is not in {grades.name}")
            continue
        rows.append(i)
        partner.append(g)
        if grades.attempts[g].total is not None:
            a.total = grades.attempts[g].total
    for g in by_key.values():
        adm.notes.append(f"{grades.name}:{grades.attempts[g].line}: left out: this attempt is not in {adm.name}")
    if len(rows) < len(adm.attempts):
        adm.keep(rows)
    index = np.array(partner, dtype=np.intp)
    adm.marks = {k: col[index] for k, col in grades.marks.items()}
    adm.name = f"{adm.name} + {grades.name}"
    adm.kind = "moodle-responses+grades"
    adm.has_marks = True
    adm.notes.extend(grades.notes)


def read_map(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"slot map {path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"slot map {path}: not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"slot map {path}: expected a mapping of slot to item id, e.g. '1: pt-quiz-1'")
    return data


def _slot_counts(adm: Administration) -> dict[str, Counter[str]]:
    """Per slot, how often each (cleaned) response text was given; no-answers left out."""
    if adm.counts is not None:
        return adm.counts
    counts: dict[str, Counter[str]] = {}
    for s in adm.slots:
        c: Counter[str] = Counter()
        for raw, n in Counter(adm.responses.get(s.key, ())).items():
            text = clean_response(raw)
            if text is not None:
                c[text] += n
        counts[s.key] = c
    adm.counts = counts
    return counts


def _fits(item: AnyItem, counts: Counter[str], kind: str) -> bool:
    return bool(counts) and all(match_options(item, text, kind) is not None for text in counts)


def _stem_fits(item: AnyItem, question: str) -> bool:
    a, b = normalize_markdown(item.stem), normalize(question)
    if not a or not b:
        return False
    return a == b or (min(len(a), len(b)) >= 30 and (a.startswith(b) or b.startswith(a)))


def map_by_content(adm: Administration, bank: Bank) -> list[str]:
    """Map slots by their question texts and responses; returns the problems (ambiguous/unmatched slots)."""
    counts = _slot_counts(adm)
    candidates: dict[str, list[str]] = {}
    for slot in adm.slots:
        if slot.key in adm.mapping:
            continue
        by_stem = [i.id for i in bank.items if slot.question_text and _stem_fits(i, slot.question_text)]
        by_options = [i.id for i in bank.items if _fits(i, counts[slot.key], adm.kind)]
        if by_stem and by_options:
            both = [i for i in by_stem if i in by_options]
            candidates[slot.key] = both or by_stem
        else:
            candidates[slot.key] = by_stem or by_options
    taken = set(adm.mapping.values())
    changed = True
    while changed:  # a slot with one candidate takes it; other slots lose it
        changed = False
        for key, cands in candidates.items():
            free = [c for c in cands if c not in taken]
            if len(free) == 1 and key not in adm.mapping:
                adm.mapping[key] = free[0]
                taken.add(free[0])
                changed = True
    problems = []
    for slot in adm.slots:
        if slot.key in adm.mapping:
            continue
        free = [c for c in candidates.get(slot.key, []) if c not in taken]
        seen = ", ".join(f"'{t}'" for t, _ in counts[slot.key].most_common(3)) or "no response texts in this report"
        if len(free) > 1:
            problems.append(f"{adm.name}: slot {slot.key} ({slot.label}) fits {len(free)} items: {', '.join(free)}; say which in a slot map")
        else:
            problems.append(f"{adm.name}: slot {slot.key} ({slot.label}) fits no item of the bank (responses seen: {seen}); map it in a slot map, or leave it out there with '{slot.key}: null'")
    return problems


def map_from_form(adm: Administration, form: Bank) -> None:
    assert form.form is not None
    if any(s.pick is not None for s in form.form.sections):
        raise UsageError(f"form {form.form.name} draws items at delivery time, so slots cannot be mapped by position; use a slot map")
    items = [i.id for i in form.items]
    if len(items) != len(adm.slots):
        raise UsageError(f"{adm.name}: {len(adm.slots)} slots but form {form.form.name} has {len(items)} items; is it the quiz built from that form?")
    for slot, item_id in zip(adm.slots, items):
        adm.mapping[slot.key] = item_id


def map_from_file(adm: Administration, data: dict[str, Any], bank: Bank, source: str) -> None:
    own = next((v for k, v in data.items() if isinstance(v, dict) and str(k) in adm.name.split(" + ")), None)
    table = own if own is not None else {k: v for k, v in data.items() if not isinstance(v, dict)}
    keys = {s.key for s in adm.slots}
    for k, v in table.items():
        key = str(k)
        if key not in keys:
            continue
        if v is None:
            adm.mapping[key] = ""  # explicitly left out
            continue
        if str(v) not in bank.by_id:
            raise UsageError(f"slot map {source}: slot {key}: no item '{v}' in the bank")
        adm.mapping[key] = str(v)


def check_mapping(adm: Administration, bank: Bank) -> list[str]:
    """Problems with a mapping whatever its source: an item twice, responses naming no option of the item."""
    problems = []
    seen: dict[str, str] = {}
    for key, item_id in adm.mapping.items():
        if not item_id:
            continue
        if item_id in seen:
            problems.append(f"{adm.name}: slots {seen[item_id]} and {key} are both mapped to {item_id}")
        seen[item_id] = key
    counts = _slot_counts(adm)
    for key, item_id in adm.mapping.items():
        if not item_id:
            continue
        item = bank.by_id[item_id]
        if not option_texts(item):
            continue
        foreign = [t for t in counts[key] if match_options(item, t, adm.kind) is None]
        if foreign and len(foreign) == len(counts[key]):
            problems.append(
                f"{adm.name}: slot {key} is mapped to {item_id}, but none of its responses is an option of that item "
                f"(e.g. '{foreign[0]}'): wrong form or mapping?"
            )
    return problems
