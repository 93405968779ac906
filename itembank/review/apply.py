"""The import: plan every file's new text, check it, then write each file atomically."""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..atomic import write_file_atomic
from ..errors import ItembankError
from ..fingerprint import fingerprint
from ..gcpause import gc_paused
from ..model import DIFFICULTIES, AnyItem, Bank
from ..progress import Progress
from ..rules import RuleContext
from ..sources import parse
from ..workbook_layout import (
    DECISION_STATUS,
)
from .rows import ReviewRow, check_identity, read_workbook, review_rows
from .yaml_edit import ItemEdit, ReviewEdit, json_change, verify, yaml_change

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class FileChange:
    path: Path
    rel: str
    old: str
    new: str

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.old.splitlines(True), self.new.splitlines(True), f"a/{self.rel}", f"b/{self.rel}"))


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    workbook: Path
    date: str
    dry_run: bool
    changes: list[FileChange] = field(default_factory=list)
    applied: list[ReviewRow] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)  # fingerprint mismatches: reported, not applied
    notes: list[str] = field(default_factory=list)  # applied, with something the user should know
    skipped: list[str] = field(default_factory=list)  # already imported
    undecided: int = 0

    def diff(self) -> str:
        return "".join(c.diff() for c in self.changes)

    def summary(self) -> str:
        verb = "would update" if self.dry_run else "updated"
        counts = {d: sum(1 for r in self.applied if r.decision == d) for d in DECISION_STATUS}
        parts = ", ".join(f"{n} {d}" for d, n in counts.items() if n)
        line = f"{verb} {len(self.applied)} item{'s' * (len(self.applied) != 1)} in {len(self.changes)} file{'s' * (len(self.changes) != 1)}"
        if parts:
            line += f" ({parts})"
        if self.undecided:
            line += f"; {self.undecided} row{'s' * (self.undecided != 1)} without a decision"
        if self.held_back:
            line += f"; {len(self.held_back)} held back (item changed since export)"
        if self.skipped:
            line += f"; {len(self.skipped)} already imported"
        return line


# --- the import ----------------------------------------------------------------------------------


def _today() -> str:
    return _dt.date.today().isoformat()


def check_date(date: str) -> str:
    if not _DATE.match(date):
        raise ItembankError(f"date {date!r} must be YYYY-MM-DD")
    try:
        _dt.date.fromisoformat(date)
    except ValueError:
        raise ItembankError(f"date {date!r} is not a real date") from None
    return date


def plan_import(workbook: Path, bank: Bank, *, date: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Read and check the workbook and compute every file's new text; write nothing."""
    workbook = Path(workbook)
    date = check_date(date) if date is not None else _today()
    with gc_paused():
        meta, rows = read_workbook(workbook, progress)
    check_identity(workbook, meta, bank)
    reviewed, undecided = review_rows(workbook, rows, bank)
    report = ImportReport(workbook=workbook, date=date, dry_run=True, undecided=undecided)

    by_file: dict[str, dict[int | None, list[ReviewRow]]] = {}
    for r in reviewed:
        item: AnyItem = bank.by_id[r.item_id]
        # Checked first: importing a suggested difficulty changes the content, so a second import of
        # the same workbook would otherwise look like an edit made after the export.
        if item.reviews and _same_review(item, r):
            report.skipped.append(f"row {r.row}: item {r.item_id!r} already has this review (imported before); skipped")
            continue
        if fingerprint(item) != r.fingerprint:
            exported = _difficulty_at_export(item, r.fingerprint)
            if exported is _CHANGED:
                report.held_back.append(f"row {r.row}: item {r.item_id!r} changed since the workbook was exported; its review was not applied (export a new workbook for it)")
                continue
            # Only its difficulty changed (another reviewer's suggestion, imported from a copy of
            # this workbook): the content this reviewer judged is the bank's; the review applies.
            if r.suggested is not None and r.suggested != item.difficulty:
                report.notes.append(
                    f"row {r.row}: item {r.item_id!r}'s difficulty became {item.difficulty or 'unset'} since the workbook was exported "
                    f"(it showed {exported or 'unset'}); this review's suggestion {r.suggested} replaces it (both stay in its reviews)"
                )
        by_file.setdefault(item.location.path, {}).setdefault(item.location.index, []).append(r)
        report.applied.append(r)

    ctx = RuleContext(bank.root, bank.config)
    for n, rel in enumerate(sorted(by_file), 1):
        with gc_paused():
            report.changes.append(_plan_file(write_target(bank.root, rel), rel, by_file[rel], date, ctx))
        if progress is not None:
            progress("files", n, len(by_file))
    return report


def write_target(root: Path, rel: str) -> Path:
    """The file to rewrite for item file ``rel``: a link is written through to its target (so it
    stays a link), which must lie inside the bank; validation already refuses links leaving it."""
    path = root / rel
    if not path.is_symlink():
        return path
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise ItembankError(f"{rel}: is a link to {real}, outside the bank; refusing to write through it")
    return real


def _plan_file(path: Path, rel: str, edits: dict[int | None, list[ReviewRow]], date: str, ctx: RuleContext) -> FileChange:
    return plan_file_change(path, rel, {i: ReviewEdit(rows, date) for i, rows in edits.items()}, ctx)


def plan_file_change(path: Path, rel: str, edits: Mapping[int | None, ItemEdit], ctx: RuleContext) -> FileChange:
    """One file's new text with ``edits`` applied to its items (by position; None: the file's only item), checked (:func:`verify`)."""
    try:
        old = path.read_bytes().decode("utf-8")  # as stored: no newline translation
    except (OSError, UnicodeDecodeError) as exc:
        raise ItembankError(f"{rel}: cannot read: {exc}") from None
    is_json = path.suffix.lower() == ".json"
    bom = "\ufeff" if old.startswith("\ufeff") else ""  # read past, as the bank loader does, and kept
    before, prob = parse(old[len(bom) :], rel, is_json=is_json)
    if prob is not None:  # the validator read it moments ago: it changed since
        raise ItembankError(f"{rel}: cannot read the file for editing: {prob.message}")
    new = bom + json_change(rel, old[len(bom) :], edits) if is_json else yaml_change(rel, old, before, edits)
    verify(rel, before, new[len(bom) :], edits, ctx, is_json)
    return FileChange(path=path, rel=rel, old=old, new=new)


#: :func:`_difficulty_at_export`'s answer for an item whose content changed, not only its difficulty.
_CHANGED = object()


def _difficulty_at_export(item: AnyItem, exported: str) -> object:
    """The difficulty the item had when the workbook's fingerprint ``exported`` was taken, if the
    item differs from it in its difficulty only (several reviewers' copies of one workbook: one's
    suggested difficulty, imported, must not hold back the others' reviews); else :data:`_CHANGED`."""
    for difficulty in (None, *DIFFICULTIES):
        if difficulty != item.difficulty and fingerprint(replace(item, difficulty=difficulty)) == exported:
            return difficulty
    return _CHANGED


def _same_review(item: AnyItem, row: ReviewRow) -> bool:
    last = item.reviews[-1]
    return (last.decision, last.reviewer, last.comment, last.suggested_difficulty) == (row.decision, row.reviewer, row.comment, row.suggested)


def apply_import(report: ImportReport) -> None:
    """Write every changed file atomically; if the bank changed since planning, write nothing."""
    write_changes(report.changes)
    report.dry_run = False


def write_changes(changes: list[FileChange]) -> None:
    """Write every changed file atomically, all or nothing; if a file changed since planning, write nothing."""
    for change in changes:
        try:
            current = change.path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise ItembankError(f"{change.rel}: cannot read: {exc}") from None
        if current != change.old:
            raise ItembankError(f"{change.rel} changed while the command ran; nothing was written (run it again)")
    written: list[FileChange] = []
    try:
        for change in changes:
            write_file_atomic(change.path, change.new.encode("utf-8"))
            written.append(change)
    except OSError as exc:
        for change in written:  # put back what was already replaced: all or nothing
            write_file_atomic(change.path, change.old.encode("utf-8"))
        raise ItembankError(f"{exc.filename or 'a file'}: cannot write: {exc.strerror or exc}; no file was changed") from None


def import_reviews(
    workbook: Path | str, bank: Bank, *, date: str | None = None, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Import the review decisions of ``workbook`` into ``bank``'s files (nothing written when dry_run)."""
    report = plan_import(Path(workbook), bank, date=date, progress=progress)
    if not dry_run:
        apply_import(report)
    return report
