"""Frozen forms: ``assessments/NAME.lock.yaml``, what each form of a blueprint delivered when locked.

A teacher prints form A on Monday and imports it into the LMS on Tuesday; between the two, a review
import may change items that a filter rule matches, and a new draw would give other questions.  The
lock records, per form and section, the drawn item ids in order, each choice item's option order, the
points the form gives each item and a fingerprint of each item (:mod:`itembank.fingerprint`), plus a
fingerprint of the blueprint's data.  While the blueprint is unchanged, every export builds the forms
from the lock, not from a new draw (:func:`itembank.assessments.forms`).

Validation checks a lock against the bank: a locked item that is gone or retired is an error (IB409),
one whose content changed since locking a warning (IB408), an unreadable lock an error (IB410), and a
blueprint changed since locking a warning (IB411: the lock is not used until it is made again).

The file is written by :func:`lock_text` (``itembank assessment lock NAME``): YAML with a fixed key
order, so the same forms give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .assessments import LOCK_SUFFIX, Assessment, Lock, LockedItem, LockedSection, Selection, forms, lock_path, read_assessment, select
from .errors import InvalidBank, ItembankError, UsageError
from .fingerprint import fingerprint
from .model import AnyItem, Bank, ChoiceItem
from .positions import PositionIndex
from .problems import Problem, json_path, problem
from .sources import read_document
from .wording import plural

LOCK_VERSION = 1
_HEADER = (
    "# Frozen forms of assessments/{name}.yaml, written by `itembank assessment lock {name}`.\n"
    "# Commit it next to the blueprint: while the blueprint is unchanged, every export delivers these\n"
    "# forms (items, order, option order, points). Run the command again to draw new forms.\n"
)


# --- reading and checking -------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, where: tuple[object, ...], message: str) -> None:
        super().__init__(message)
        self.where = where


def _expect(value: Any, kind: type | tuple[type, ...], where: tuple[object, ...], what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _Bad(where, f"{what} must be {getattr(kind, '__name__', 'a value')}")
    return value


def _parse(data: Any) -> Lock:
    """The lock from its YAML data; raises _Bad (path, message) for anything malformed."""
    _expect(data, dict, (), "the lock file")
    if data.get("version") != LOCK_VERSION:
        raise _Bad(("version",), f"unknown lock version {data.get('version')!r} (expected {LOCK_VERSION})")
    blueprint = _expect(data.get("blueprint"), str, ("blueprint",), "blueprint")
    raw_forms = _expect(data.get("forms"), dict, ("forms",), "forms")
    out: dict[str, tuple[LockedSection, ...]] = {}
    for letter, raw_sections in raw_forms.items():
        where: tuple[object, ...] = ("forms", letter)
        _expect(raw_sections, list, where, f"form {letter}")
        sections = []
        for s, raw in enumerate(raw_sections):
            at = where + (s,)
            _expect(raw, dict, at, "a section")
            items = []
            for k, entry in enumerate(_expect(raw.get("items"), list, at + ("items",), "items")):
                it = at + ("items", k)
                _expect(entry, dict, it, "an item")
                options = entry.get("options")
                if options is not None:
                    _expect(options, list, it + ("options",), "options")
                    if not all(isinstance(o, str) for o in options):
                        raise _Bad(it + ("options",), "options must be option ids")
                points = _expect(entry.get("points"), (int, float), it + ("points",), "points")
                items.append(
                    LockedItem(
                        id=_expect(entry.get("id"), str, it + ("id",), "id"),
                        fingerprint=_expect(entry.get("fingerprint"), str, it + ("fingerprint",), "fingerprint"),
                        points=float(points),
                        options=tuple(options) if options is not None else None,
                    )
                )
            pick = raw.get("pick")
            if pick is not None:
                _expect(pick, int, at + ("pick",), "pick")
            instructions = raw.get("instructions")
            if instructions is not None:
                _expect(instructions, str, at + ("instructions",), "instructions")
            sections.append(
                LockedSection(
                    title=_expect(raw.get("title"), str, at + ("title",), "title"),
                    items=tuple(items),
                    pick=pick,
                    shuffle=bool(raw.get("shuffle", False)),
                    instructions=instructions,
                )
            )
        out[str(letter)] = tuple(sections)
    return Lock(blueprint=blueprint, forms=out)


def read_lock(path: Path, file: str) -> tuple[Lock | None, list[Problem], PositionIndex | None]:
    doc = read_document(path, file)
    if doc.problem is not None:
        return None, [doc.problem], None
    pos = PositionIndex(doc.text or "")
    try:
        return _parse(doc.data), [], pos
    except _Bad as bad:
        line, col = pos.locate(bad.where)
        return None, [problem(file, "IB410", f"{bad} (make it again with `itembank assessment lock NAME`)", line=line, column=col, path=json_path(list(bad.where)))], pos


def check_lock(path: Path, file: str, assessment: Assessment, items: list[AnyItem] | tuple[AnyItem, ...]) -> tuple[Lock | None, list[Problem]]:
    """The lock of ``assessment`` if it is in force (the blueprint unchanged), and its problems."""
    lock, problems, pos = read_lock(path, file)
    if lock is None or pos is None:
        return None, problems
    name = assessment.name
    if lock.blueprint != assessment.fingerprint:
        return None, [
            problem(
                file,
                "IB411",
                f"assessments/{name}.yaml changed since the forms were locked: exports draw new forms, not the locked ones "
                f"(`itembank assessment lock {name}` locks the new forms; revert the blueprint to use the lock)",
                line=pos.locate(("blueprint",))[0],
            )
        ]
    by_id = {i.id: i for i in items}
    for letter, sections in lock.forms.items():
        for s, section in enumerate(sections):
            for k, locked in enumerate(section.items):
                where = ("forms", letter, s, "items", k, "id")
                line, col = pos.locate(where)
                item = by_id.get(locked.id)
                if item is None:
                    problems.append(problem(file, "IB409", f"form {letter} delivers item '{locked.id}', which is no longer in the bank", line=line, column=col, item_id=locked.id, path=json_path(list(where))))
                elif item.status == "retired":
                    problems.append(problem(file, "IB409", f"form {letter} delivers item '{locked.id}', which is now retired", line=line, column=col, item_id=locked.id, path=json_path(list(where))))
                elif fingerprint(item) != locked.fingerprint:
                    problems.append(
                        problem(
                            file,
                            "IB408",
                            f"item '{locked.id}' of form {letter} changed since the forms were locked (in {item.location.path}); "
                            "the form delivers its current text: check it, then lock again to record it",
                            line=line,
                            column=col,
                            item_id=locked.id,
                            path=json_path(list(where)),
                        )
                    )
    return lock, problems


# --- writing --------------------------------------------------------------------------------------


def lock_data(assessment: Assessment, built: list[Bank], bank: Bank) -> dict[str, Any]:
    """The lock of freshly built forms, as YAML-ready data in a fixed key order (fingerprints of the
    bank's items as written, not of the form's copies with their points and option order applied)."""
    forms_data: dict[str, Any] = {}
    for form_bank in built:
        assert form_bank.form is not None
        sections = []
        for section in form_bank.form.sections:
            entries = []
            for item_id in section.item_ids:
                item = form_bank.by_id[item_id]
                entry: dict[str, Any] = {"id": item.id, "fingerprint": fingerprint(bank.by_id[item_id]), "points": item.points}
                if isinstance(item, ChoiceItem):
                    entry["options"] = [o.id for o in item.options]
                entries.append(entry)
            data: dict[str, Any] = {"title": section.title}
            if section.instructions:
                data["instructions"] = section.instructions
            if section.pick is not None:
                data["pick"] = section.pick
            if section.shuffle:
                data["shuffle"] = True
            data["items"] = entries
            sections.append(data)
        forms_data[form_bank.form.form] = sections
    return {"version": LOCK_VERSION, "assessment": assessment.name, "blueprint": assessment.fingerprint, "forms": forms_data}


def lock_text(assessment: Assessment, built: list[Bank], bank: Bank) -> str:
    body = yaml.safe_dump(lock_data(assessment, built, bank), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    return _HEADER.format(name=assessment.name) + body


def make_lock(bank: Bank, name: str) -> tuple[Path, str]:
    """Draw the named assessment's forms afresh against the bank (ignoring any lock) and return the
    lock file's path and text.  A blueprint with errors is an :class:`InvalidBank`-like failure."""
    from .assessments import assessment_dir, assessment_files

    if bank.form is not None:
        raise ItembankError("lock the assessment of the whole bank, not of a form")
    files = {p.stem: p for p in assessment_files(bank.root)}
    path = files.get(name)
    if path is None:
        known = ", ".join(files) or f"none in {assessment_dir(bank.root)}"
        raise UsageError(f"no assessment '{name}' (known: {known})")
    assessment, problems = read_assessment(path, str(path))
    selection: Selection | None = None
    if assessment is not None:
        selection, drawn = select(assessment, bank.items)
        problems = problems + drawn
    errors = [p for p in problems if p.severity == "error"]
    if errors or assessment is None or selection is None:
        from .validate import CheckResult

        raise InvalidBank(CheckResult(root=bank.root, config=bank.config, problems=errors))
    built = forms(bank, assessment, selection)
    return lock_path(path), lock_text(assessment, built, bank)


LOCK_CODES = frozenset({"IB408", "IB409", "IB410", "IB411"})


def lock_assessment(root: Path | str, name: str) -> tuple[Path, str, list[str]]:
    """(Re)create ``assessments/NAME.lock.yaml`` of the bank at ``root`` and return its path, text and
    a line per form.  The bank must be valid apart from the problems of locks themselves (making the
    lock again is how a lock's IB409 is resolved); nothing is written here (the caller writes atomically).
    """
    from .validate import check_bank

    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"bank folder '{root}' does not exist")
    result = check_bank(root)
    blocking = [p for p in result.errors if p.code not in LOCK_CODES and not p.file.lower().endswith(LOCK_SUFFIX)]
    if blocking:
        result.problems = blocking
        raise InvalidBank(result)
    bank = result.bank()
    path, text = make_lock(bank, name)
    data = yaml.safe_load(text)
    lines = [
        f"form {letter}: {plural(sum(len(s['items']) for s in sections), 'item')} in {len(sections)} section{'s' * (len(sections) != 1)}"
        for letter, sections in data["forms"].items()
    ]
    return path, text, lines
