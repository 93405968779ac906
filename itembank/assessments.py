"""Assessments: blueprints in a bank's ``assessments/`` folder, resolved into seeded forms.

A blueprint (``assessments/NAME.yaml``, checked by ``schemas/assessment.schema.json``) has sections;
each section selects items with rules: explicit ``ids``, or filters (topic, tags, difficulty, type,
status) with a ``count``.  Resolution turns it into one :class:`~itembank.model.Bank` per form (A, B,
...) whose ``items`` are the selected items in delivery order and whose ``form`` describes the
sections, so that every exporter sees the same questions in the same order.

Randomness is always a local ``random.Random`` seeded with a string built from the blueprint's seed,
never the global RNG and never ``hash()`` (which is salted per process):

* the *selection* is seeded by ``seed``, section and rule only, so every form holds the same items;
* the *order* (questions within a section, options within an item) is seeded by ``seed``, form letter
  and section or item id, so forms A and B differ in order only.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import itertools
import math
import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

from .errors import ItembankError, UsageError
from .model import AnyItem, Bank, ChoiceItem, Form, Section
from .positions import PositionIndex
from .problems import Problem, json_path, problem
from .schema import load_schema
from .sources import read_document
from .wording import plural, quoted

ASSESSMENTS_DIR = "assessments"
SUFFIXES = (".yaml", ".yml", ".json")
FORM_LETTERS = string.ascii_uppercase
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: Statuses a rule selects when it names none: approved only, or every live status with include_drafts.
DEFAULT_STATUSES = ("approved",)
DRAFT_STATUSES = ("approved", "review", "draft")
_FILTERS = ("topic", "tags", "difficulty", "type", "status")
#: How many reshuffles a later form may try to get an order different from every earlier form.
_DISTINCT_ATTEMPTS = 20

#: Where a value sits in the blueprint data, as a JSON path of keys and indexes (for problems).
DataPath = tuple[object, ...]


# --- the blueprint as read -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One selection rule of a section (``sections[s].select[r]``)."""

    path: DataPath
    ids: tuple[str, ...] | None
    count: int | None
    topics: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    difficulties: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    points: float | None = None
    delivery: str = "build"
    title: str | None = None

    def matches(self, item: AnyItem) -> bool:
        """Whether a filter rule accepts the item (explicit-id rules match by id, not here)."""
        return (
            (not self.topics or item.topic in self.topics)
            and all(t in item.tags for t in self.tags)
            and (not self.difficulties or item.difficulty in self.difficulties)
            and (not self.types or item.type in self.types)
            and item.status in self.statuses
        )

    def describe(self) -> str:
        """The rule in words, for messages: ``3 × difficulty hard, type multiple_choice``."""
        if self.ids is not None:
            return f"ids {', '.join(self.ids)}"
        parts = [
            f"{name} {'/'.join(values)}"
            for name, values in (("topic", self.topics), ("tags", self.tags), ("difficulty", self.difficulties), ("type", self.types))
            if values
        ]
        parts.append(f"status {'/'.join(self.statuses)}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class BlueprintSection:
    index: int
    title: str
    rules: tuple[Rule, ...]
    instructions: str | None = None
    shuffle_items: bool = True
    shuffle_options: bool = True


@dataclass(frozen=True, slots=True)
class Assessment:
    """A schema-valid blueprint, defaults filled in."""

    name: str  # the file stem: names the forms (``NAME-A``) and the output folders
    file: str  # the file as the user sees it, for problems
    text: str  # the file's text, to locate problems
    title: str
    sections: tuple[BlueprintSection, ...]
    instructions: str | None = None
    seed: int = 0
    forms: int = 1
    fingerprint: str = ""  # of the blueprint's data (not its comments or layout): a lock records it

    @property
    def form_letters(self) -> tuple[str, ...]:
        return tuple(FORM_LETTERS[: self.forms])


def _many(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _rule(raw: dict[str, Any], path: DataPath, *, statuses: tuple[str, ...], delivery: str) -> Rule:
    ids = tuple(raw["ids"]) if "ids" in raw else None
    return Rule(
        path=path,
        ids=ids,
        count=raw.get("count"),
        topics=_many(raw.get("topic")),
        tags=_many(raw.get("tags")),
        difficulties=_many(raw.get("difficulty")),
        types=_many(raw.get("type")),
        statuses=_many(raw.get("status")) or statuses,
        points=float(raw["points"]) if "points" in raw else None,
        delivery=raw.get("delivery", delivery),
        title=raw.get("title"),
    )


def _assessment(name: str, file: str, text: str, data: dict[str, Any], skip: frozenset[DataPath] = frozenset()) -> Assessment:
    """Build the blueprint from schema-valid data, section values falling back to the assessment's.

    ``skip`` names sections and rules to leave out (those with schema errors, when the rest of an
    invalid blueprint is still checked); the others keep their paths.
    """
    sections = []
    for s, raw in enumerate(data["sections"]):
        if ("sections", s) in skip:
            continue
        drafts = raw.get("include_drafts", data.get("include_drafts", False))
        statuses = DRAFT_STATUSES if drafts else DEFAULT_STATUSES
        delivery = raw.get("delivery", data.get("delivery", "build"))
        rules = tuple(
            _rule(r, ("sections", s, "select", i), statuses=statuses, delivery=delivery)
            for i, r in enumerate(raw["select"])
            if ("sections", s, "select", i) not in skip
        )
        sections.append(
            BlueprintSection(
                index=s,
                title=raw["title"],
                rules=rules,
                instructions=raw.get("instructions"),
                shuffle_items=raw.get("shuffle_items", data.get("shuffle_items", True)),
                shuffle_options=raw.get("shuffle_options", data.get("shuffle_options", True)),
            )
        )
    return Assessment(
        name=name,
        file=file,
        text=text,
        title=data["title"],
        sections=tuple(sections),
        instructions=data.get("instructions"),
        seed=data.get("seed", 0),
        forms=data.get("forms", 1),
        fingerprint=data_fingerprint(data),
    )


def data_fingerprint(data: Any) -> str:
    """A short digest of JSON-like data (canonical JSON: sorted keys, no whitespace)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- reading and schema checking -------------------------------------------------------------------


def assessment_dir(root: Path) -> Path:
    return root / ASSESSMENTS_DIR


def assessment_files(root: Path) -> list[Path]:
    """The blueprint files of a bank, sorted by name (the folder is not searched recursively)."""
    folder = assessment_dir(root)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUFFIXES and not is_lock_file(p)
    )


LOCK_SUFFIX = ".lock.yaml"


def is_lock_file(path: Path) -> bool:
    """``NAME.lock.yaml``: a lock (frozen forms) of the blueprint ``NAME.yaml``, not a blueprint."""
    return path.name.lower().endswith(LOCK_SUFFIX)


def lock_path(blueprint: Path) -> Path:
    """Where a blueprint's lock lives: ``assessments/NAME.lock.yaml`` beside ``NAME.yaml``."""
    return blueprint.with_name(blueprint.stem + LOCK_SUFFIX)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # only when a bank has assessments: the import is slow

    return jsonschema.Draft202012Validator(load_schema("assessment"))


def _explain(err: ValidationError) -> Iterator[tuple[DataPath, str, bool]]:
    """(path, message, at_key) for one schema error, in words an author understands."""
    path = tuple(err.absolute_path)
    kw = err.validator
    if kw == "anyOf" and err.validator_value == [{"required": ["ids"]}, {"required": ["count"]}]:
        yield path, "a rule needs `ids` (explicit items) or `count` (how many items its filters draw)", False
    elif kw == "not" and isinstance(err.instance, dict) and "ids" in err.instance:
        extra = ", ".join(k for k in _FILTERS if k in err.instance)
        yield path, f"a rule with `ids` selects exactly those items; it cannot also filter by {extra} (use a separate rule)", False
    elif kw in ("oneOf", "anyOf") and err.context:
        from jsonschema.exceptions import best_match

        yield from _explain(best_match(err.context))
    elif kw == "required":
        for name in err.validator_value:
            if isinstance(err.instance, dict) and name not in err.instance:
                yield path, f"required field {quoted(name)} is missing", False
    elif kw == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(err.schema.get("properties", {}))
        for name in sorted(set(err.instance) - set(allowed)):
            hint = difflib.get_close_matches(name, allowed, n=1)
            more = f" (did you mean {quoted(hint[0])}?)" if hint else f" (allowed: {', '.join(allowed)})"
            yield path + (name,), f"unknown field {quoted(name)}{more}", True
    elif kw == "enum":
        yield path, f"{err.instance!r} is not one of: {', '.join(map(str, err.validator_value))}", False
    else:
        yield path, err.message, False


def read_assessment(path: Path, file: str) -> tuple[Assessment | None, list[Problem]]:
    """Read and schema-check one blueprint file.

    With errors, the Assessment is the blueprint's well-formed rest (or None), so that selection
    problems of the other rules are reported in the same run; callers must not resolve it.
    """
    doc = read_document(path, file)
    if doc.problem is not None:
        return None, [doc.problem]
    text = doc.text or ""
    problems: list[Problem] = []
    if not NAME_PATTERN.match(path.stem):
        problems.append(problem(file, "IB401", f"file name '{path.stem}' must match {NAME_PATTERN.pattern}: it names the forms and their output folders"))
    found: list[tuple[DataPath, str, bool]] = []
    for err in _validator().iter_errors(doc.data):
        for entry in _explain(err):
            if entry not in found:
                found.append(entry)
    if found:
        pos = PositionIndex(text)
        for where, message, at_key in found:
            line, col = pos.locate(where, key=at_key)
            problems.append(problem(file, "IB401", message, line=line, column=col, path=json_path(list(where))))
    if not found:
        problems.extend(_markdown_problems(path, file, text, doc.data))
        problems.extend(_control_characters(file, text, doc.data))
    if problems:
        rest = _partial(path.stem, file, text, doc.data, [w for w, _, _ in found]) if found else _assessment(path.stem, file, text, doc.data)
        return rest, problems
    return _assessment(path.stem, file, text, doc.data), []


def _control_characters(file: str, text: str, data: Any) -> list[Problem]:
    """A blueprint's texts (titles, instructions) reach every export: none may hold a character XML
    cannot carry (as in items, IB216)."""
    from .rules import XML_BAD, all_strings

    out: list[Problem] = []
    for where, value in all_strings(data):
        m = XML_BAD.search(value)
        if m:
            line, col = PositionIndex(text).locate(where)
            out.append(problem(file, "IB216", f"control character U+{ord(m.group()):04X} cannot be exported to XML; remove it", line=line, column=col, path=json_path(list(where))))
    return out


def _markdown_problems(path: Path, file: str, text: str, data: dict[str, Any]) -> list[Problem]:
    """The Markdown fields of a blueprint (``itembank.fields``) pass the checks item Markdown passes:
    no raw HTML, no refused URL scheme, images in the bank, no XML-illegal character references."""
    from .model import BankConfig
    from .rules import RuleContext, markup_findings

    texts: list[tuple[DataPath, str]] = []
    if isinstance(data.get("instructions"), str):
        texts.append((("instructions",), data["instructions"]))
    for i, section in enumerate(data.get("sections") or ()):
        if isinstance(section, dict) and isinstance(section.get("instructions"), str):
            texts.append((("sections", i, "instructions"), section["instructions"]))
    out: list[Problem] = []
    ctx = RuleContext(path.parent.parent, BankConfig())
    pos: PositionIndex | None = None
    for where, value in texts:
        for fpath, code, message in markup_findings(where, value, ctx):
            pos = pos or PositionIndex(text)
            line, col = pos.locate(fpath)
            out.append(problem(file, code, message, line=line, column=col, path=json_path(list(fpath))))
    return out


def _partial(name: str, file: str, text: str, data: Any, bad: list[DataPath]) -> Assessment | None:
    """The well-formed rest of a blueprint with schema errors, so its other problems are found too.

    A rule or section with an error is left out; an error elsewhere (the blueprint's own fields) is
    left out when the field is optional.  None when nothing sensible remains.
    """
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        return None
    data = dict(data)
    skip: set[DataPath] = set()
    for where in bad:
        if len(where) >= 4 and where[0] == "sections" and where[2] == "select":
            skip.add(where[:4])
        elif len(where) >= 2 and where[0] == "sections":
            skip.add(where[:2])
        elif where and where[0] not in ("sections", "title"):
            data.pop(str(where[0]), None)
        else:
            return None  # no sections list or no title: nothing to select against
    try:
        return _assessment(name, file, text, data, frozenset(skip))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


# --- selection (the same for every form) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pick:
    """What one rule selected: ``ids`` in a stable order; ``pick`` set for a delivery-time pool."""

    rule: Rule
    ids: tuple[str, ...]
    pick: int | None = None


@dataclass(frozen=True, slots=True)
class LockedItem:
    id: str
    fingerprint: str  # itembank.fingerprint of the item when it was locked
    points: float  # the points the form gives it (overrides applied)
    options: tuple[str, ...] | None = None  # a choice item's option ids in the form's order


@dataclass(frozen=True, slots=True)
class LockedSection:
    title: str
    items: tuple[LockedItem, ...]
    pick: int | None = None
    shuffle: bool = False
    instructions: str | None = None


@dataclass(frozen=True, slots=True)
class Lock:
    """Frozen forms (``assessments/NAME.lock.yaml``): what each form delivered when it was locked."""

    blueprint: str  # the blueprint's fingerprint when locked: a changed blueprint makes the lock unused
    forms: dict[str, tuple[LockedSection, ...]]  # form letter -> sections


@dataclass(frozen=True, slots=True)
class Selection:
    assessment: Assessment
    picks: tuple[tuple[Pick, ...], ...]  # per section, per rule
    points: dict[str, float]  # item id -> overriding points
    lock: Lock | None = None  # in force: the forms come from it, not from a new draw


class _Locator:
    """Turns a rule path into a located Problem (the position index is built only when needed)."""

    def __init__(self, assessment: Assessment) -> None:
        self.assessment = assessment
        self._pos: PositionIndex | None = None

    def __call__(self, code: str, where: DataPath, message: str, item_id: str | None = None) -> Problem:
        if self._pos is None:
            self._pos = PositionIndex(self.assessment.text)
        line, col = self._pos.locate(where)
        return problem(self.assessment.file, code, message, line=line, column=col, item_id=item_id, path=json_path(list(where)))


def select(assessment: Assessment, items: tuple[AnyItem, ...] | list[AnyItem]) -> tuple[Selection, list[Problem]]:
    """Apply every rule to the bank's items; problems say which rule failed and why.

    Explicit ids are claimed first (in file order), so that a filter rule never takes an item another
    rule names; filter rules then draw, in file order, from the items nobody has claimed yet.
    """
    by_id = {i.id: i for i in items}
    locate = _Locator(assessment)
    problems: list[Problem] = []
    claimed: dict[str, str] = {}  # item id -> the rule path that took it
    points: dict[str, float] = {}
    picks: dict[DataPath, Pick] = {}

    def claim(item_id: str, rule: Rule) -> None:
        claimed[item_id] = json_path(list(rule.path))
        if rule.points is not None:
            points[item_id] = rule.points

    for section in assessment.sections:
        for rule in section.rules:
            if rule.ids is None:
                continue
            ok: list[str] = []
            for k, item_id in enumerate(rule.ids):
                where = rule.path + ("ids", k)
                item = by_id.get(item_id)
                if item is None:
                    hint = difflib.get_close_matches(item_id, sorted(by_id), n=1)
                    more = f" (did you mean '{hint[0]}'?)" if hint else ""
                    problems.append(locate("IB402", where, f"no item with id '{item_id}' in the bank{more}", item_id))
                elif item_id in claimed:
                    problems.append(locate("IB403", where, f"item '{item_id}' is already selected by {claimed[item_id]}", item_id))
                elif item.status not in rule.statuses:
                    drafts = " (set `include_drafts: true` to allow drafts)" if item.status in DRAFT_STATUSES else ""
                    problems.append(locate("IB405", where, f"item '{item_id}' has status {item.status}; this rule allows {'/'.join(rule.statuses)}{drafts}", item_id))
                else:
                    claim(item_id, rule)
                    ok.append(item_id)
            picks[rule.path] = _draw(assessment, rule, ok, problems, locate)

    for section in assessment.sections:
        for rule in section.rules:
            if rule.ids is not None:
                continue
            candidates = [i.id for i in items if i.id not in claimed and rule.matches(i)]
            taken = {i.id: claimed[i.id] for i in items if i.id in claimed and rule.matches(i)}
            pick = _draw(assessment, rule, candidates, problems, locate, taken)
            for item_id in (candidates if pick.pick is not None else pick.ids):
                claim(item_id, rule)
            picks[rule.path] = pick

    for pick in picks.values():
        if pick.pick is not None and pick.rule.points is None:
            _check_pool_points(pick, by_id, problems, locate)
    ordered = tuple(tuple(picks[r.path] for r in s.rules) for s in assessment.sections)
    return Selection(assessment, ordered, points), problems


def _check_pool_points(pick: Pick, by_id: dict[str, AnyItem], problems: list[Problem], locate: _Locator) -> None:
    """A delivery-time pool's items must be worth the same: a Canvas question group has one point
    value, and learners drawing from one pool must sit tests of the same total (IB407)."""
    worth: dict[float, list[str]] = {}
    for item_id in pick.ids:
        worth.setdefault(by_id[item_id].points, []).append(item_id)
    if len(worth) < 2:
        return
    listed = "; ".join(f"{number(p)} point{'s' * (p != 1)}: {', '.join(ids)}" for p, ids in sorted(worth.items()))
    problems.append(
        locate(
            "IB407",
            pick.rule.path,
            f"the pool of rule {json_path(list(pick.rule.path))} holds items worth different points ({listed}); learners drawing "
            "from it would get tests of different totals, and a Canvas question group has one point value: set `points` on the "
            "rule, or split it into one rule per point value",
        )
    )


def number(value: float) -> str:
    return f"{value:g}"


def _draw(assessment: Assessment, rule: Rule, candidates: list[str], problems: list[Problem], locate: _Locator, taken: dict[str, str] | None = None) -> Pick:
    """Draw ``count`` of the candidates (keeping their order), or hand them all over as a pool.
    ``taken``: the items the rule matches that earlier rules took (item id -> that rule's path)."""
    want = len(candidates) if rule.count is None else rule.count
    short = len(candidates) < want
    if short:
        what = "usable listed item" if rule.ids is not None else "matching item"
        found = f"only {len(candidates)} {what}{'s' * (len(candidates) != 1)} ({', '.join(candidates)})" if candidates else f"there is no {what}"
        if taken:
            # Rules draw in file order: which items an earlier rule drew depends on the seed.
            by = "; ".join(f"{item_id} by {path}" for item_id, path in taken.items())
            found += (f" left: {len(taken)} more match{'es' * (len(taken) == 1)} but earlier rules took them ({by}); rules draw "
                      "in file order and which items a rule draws depends on the seed: narrow the earlier rules, or put this one first")
        problems.append(
            locate("IB404", rule.path + ("count",), f"rule {json_path(list(rule.path))} ({rule.describe()}) asks for {want} item{'s' * (want != 1)} but {found}")
        )
        want = len(candidates)
    if rule.delivery == "random":
        # Too few items (IB404 above) already says the pool cannot be drawn from; "every learner gets
        # all of them" would contradict it.
        if candidates and len(candidates) == want and not short:
            problems.append(
                locate("IB406", rule.path + ("delivery",), f"the pool of rule {json_path(list(rule.path))} has exactly {plural(want, 'item')}, so every learner gets {'it' if want == 1 else 'all of them'}")
            )
        return Pick(rule, tuple(candidates), pick=want)
    rng = random.Random(f"{assessment.seed}:select:{json_path(list(rule.path))}")
    drawn = set(rng.sample(candidates, want))
    return Pick(rule, tuple(i for i in candidates if i in drawn))


# --- forms (the order, per form) --------------------------------------------------------------------


def _section_order(assessment: Assessment, section: BlueprintSection, ids: list[str], letter: str, attempt: int) -> list[str]:
    out = list(ids)
    if section.shuffle_items:
        random.Random(f"{assessment.seed}:{letter}:{section.index}:{attempt}").shuffle(out)
    return out


def _form_orders(assessment: Assessment, selection: Selection) -> dict[str, list[list[str]]]:
    """Question order per form and section, each from the form's own seeded stream.

    Each section of a later form is reshuffled (seeded attempts) until its order differs from that
    section's order in every earlier form, as long as the section has orders left to give (a section
    of two questions has only two orders: forms A and B differ, C repeats one of them).
    """
    out: dict[str, list[list[str]]] = {letter: [] for letter in assessment.form_letters}
    for section, picks in zip(assessment.sections, selection.picks):
        ids = [i for p in picks if p.pick is None for i in p.ids]
        seen: list[list[str]] = []
        for letter in assessment.form_letters:
            order = _section_order(assessment, section, ids, letter, 0)
            if section.shuffle_items and len(seen) < math.factorial(min(len(ids), 10)):
                for attempt in range(1, _DISTINCT_ATTEMPTS):
                    if order not in seen:
                        break
                    order = _section_order(assessment, section, ids, letter, attempt)
                else:
                    # seeded attempts exhausted: take the first order no earlier form has
                    for candidate in itertools.permutations(ids):
                        if list(candidate) not in seen:
                            order = list(candidate)
                            break
            seen.append(order)
            out[letter].append(order)
    return out


def _prepare(item: AnyItem, assessment: Assessment, section: BlueprintSection, letter: str, points: dict[str, float]) -> AnyItem:
    """The item as this form delivers it: overridden points, options in the form's (pinned) order."""
    changes: dict[str, Any] = {}
    if item.id in points:
        changes["points"] = points[item.id]
    if isinstance(item, ChoiceItem):
        options = list(item.options)
        if section.shuffle_options and item.shuffle:
            random.Random(f"{assessment.seed}:{letter}:{item.id}:options").shuffle(options)
        # Pinned: a platform must not reshuffle, or the printed form and the online one would differ.
        changes.update(options=tuple(options), shuffle=False)
    return dataclasses.replace(item, **changes) if changes else item


def pool_title(section: str, pool: str | None) -> str:
    """A pool's section title: the blueprint section's title, then the pool's own name if it has one
    (``Part 2: Hard pool``), so that the section's title shows on every platform and on paper; a pool
    title that starts with the section's is kept as it is."""
    if not pool:
        return section
    if pool.casefold().startswith(section.casefold()):
        return pool  # already says it: "Open" and "Open pool"
    return f"{section}: {pool}"


def forms(bank: Bank, assessment: Assessment, selection: Selection) -> list[Bank]:
    """One Bank per form: selected items in delivery order, ``form`` describing the sections.

    When the selection carries a lock in force, the forms are the locked ones (same items, order,
    option order and points), whatever the bank's items now draw.
    """
    if selection.lock is not None:
        return _locked_forms(bank, assessment, selection.lock)
    out = []
    for letter, orders in _form_orders(assessment, selection).items():
        sections: list[Section] = []
        for section, picks, built in zip(assessment.sections, selection.picks, orders):
            first = True
            if built:
                sections.append(Section(title=section.title, item_ids=tuple(built), instructions=section.instructions))
                first = False
            for p in picks:
                if p.pick is None:
                    continue
                sections.append(
                    Section(
                        title=pool_title(section.title, p.rule.title),
                        item_ids=p.ids,
                        pick=p.pick,
                        shuffle=True,
                        instructions=section.instructions if first else None,
                    )
                )
                first = False
        where = {i: s for s in assessment.sections for p in selection.picks[s.index] for i in p.ids}
        items = tuple(_prepare(bank.by_id[i], assessment, where[i], letter, selection.points) for s in sections for i in s.item_ids)
        form = Form(
            assessment=assessment.name,
            title=assessment.title,
            form=letter,
            sections=tuple(sections),
            instructions=assessment.instructions,
            seed=assessment.seed,
        )
        out.append(Bank(root=bank.root, config=bank.config, items=items, form=form))
    return out


def _locked_item(item: AnyItem, locked: LockedItem) -> AnyItem:
    changes: dict[str, Any] = {}
    if item.points != locked.points:
        changes["points"] = locked.points
    if isinstance(item, ChoiceItem):
        by_id = {o.id: o for o in item.options}
        order = locked.options or tuple(by_id)
        # validation (IB408) warned if the options changed; ids that are gone are dropped, new ones kept last
        options = [by_id[o] for o in order if o in by_id] + [o for o in item.options if o.id not in order]
        changes.update(options=tuple(options), shuffle=False)
    return dataclasses.replace(item, **changes) if changes else item


def _locked_forms(bank: Bank, assessment: Assessment, lock: Lock) -> list[Bank]:
    out = []
    for letter, locked_sections in lock.forms.items():
        sections = tuple(
            Section(title=ls.title, item_ids=tuple(i.id for i in ls.items), pick=ls.pick, shuffle=ls.shuffle, instructions=ls.instructions)
            for ls in locked_sections
        )
        items = tuple(_locked_item(bank.by_id[li.id], li) for ls in locked_sections for li in ls.items)
        form = Form(
            assessment=assessment.name,
            title=assessment.title,
            form=letter,
            sections=sections,
            instructions=assessment.instructions,
            seed=assessment.seed,
        )
        out.append(Bank(root=bank.root, config=bank.config, items=items, form=form))
    return out


# --- entry points: validation and resolution --------------------------------------------------------


def check_assessments(
    files: list[Path], items: list[AnyItem] | tuple[AnyItem, ...], display: Any = str
) -> tuple[list[Problem], dict[str, Selection]]:
    """Every problem of these blueprint files against the bank's (valid) items, and the blueprints
    without errors resolved against the items (by name), which the loaded bank keeps."""
    from .locks import check_lock  # locks builds on this module

    problems: list[Problem] = []
    resolved: dict[str, Selection] = {}
    # a lock file given on its own stands for its blueprint
    files = list(dict.fromkeys(p.with_name(p.name[: -len(LOCK_SUFFIX)] + ".yaml") if is_lock_file(p) else p for p in files))
    first: dict[str, Path] = {}
    for path in files:
        other = first.setdefault(path.stem.casefold(), path)
        if other != path:
            problems.append(
                problem(display(path), "IB412", f"assessment '{path.stem}' is also defined by {other.name}: rename or remove one (exports are named after the assessment)")
            )
            continue
        assessment, found = read_assessment(path, display(path))
        problems.extend(found)
        if assessment is None:
            continue
        selection, more = select(assessment, items)
        lock_file = lock_path(path)
        lock, lock_problems = check_lock(lock_file, display(lock_file), assessment, items) if lock_file.is_file() else (None, [])
        problems.extend(lock_problems)
        if lock is not None:
            # the lock is in force: the forms are the locked ones, so a new draw's problems do not apply
            problems.extend(p for p in more if p.severity != "error")
            if not any(p.severity == "error" for p in lock_problems):
                resolved[assessment.name] = dataclasses.replace(selection, lock=lock)
            continue
        problems.extend(more)
        if not any(p.severity == "error" for p in more):
            resolved[assessment.name] = selection
    return problems, resolved


def build_forms(bank: Bank, name: str) -> list[Bank]:
    """Every form (A, B, ...) of the named assessment, from the selection validation resolved
    (``bank.assessments``): the bank folder is not read again."""
    if bank.form is not None:
        raise ItembankError("this bank is already an assessment form; resolve assessments against the whole bank")
    selection = bank.assessments.get(name)
    if selection is None:
        known = ", ".join(bank.assessments) or f"none in {assessment_dir(bank.root)}"
        raise UsageError(f"no assessment '{name}' (known: {known})")
    return forms(bank, selection.assessment, selection)


def form_bank(bank: Bank, name: str, form: str | None = None) -> Bank:
    """One form of the named assessment (default: the first, A)."""
    built = build_forms(bank, name)
    if form is None:
        return built[0]
    for b in built:
        assert b.form is not None
        if b.form.form == form.upper():
            return b
    letters = ", ".join(b.form.form for b in built if b.form is not None)
    raise UsageError(f"assessment '{name}' has no form '{form}' (forms: {letters})")
