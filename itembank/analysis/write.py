"""``analyze --write``: append an evidence record to every analysed item, in place.

The review import's in-place editor (:mod:`itembank.review.yaml_edit`) does the editing: the record
is added to the item's ``evidence`` list (created after the item's last line if missing) and nothing
else in the file moves — comments, key order, quoting and wrapping stay as they were.  Each file's
new text is parsed again and compared with the intended data, and the changed items validated,
before any file is written; then all files are written atomically (all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Bank, Evidence
from ..normalize import evidence_data
from ..review.apply import FileChange, check_date, plan_file_change, write_changes, write_target
from ..review.yaml_edit import EditedText, append_entries, inline_scalar
from ..rules import RuleContext
from . import evidence as ev
from .pipeline import Analysis


class EvidenceEdit:
    """One item's change: a record appended to ``evidence``."""

    def __init__(self, item_id: str, record: dict[str, Any]) -> None:
        self.item_id = item_id
        self.record = record

    def edit(self, text: EditedText, node: Any, doc: Any, bound: int, raw: dict[str, Any]) -> None:
        first_line, indent = text.line_col(node.value[0][0].start_mark)
        appended = append_entries(text, node, doc, bound, raw, "evidence", [self.record], lambda rec, col: ev.entry_lines(rec, col, inline_scalar))
        if appended:
            text.insert_lines(text.content_end(first_line, bound, indent), appended)

    def apply(self, raw: dict[str, Any]) -> None:
        raw["evidence"] = list(raw.get("evidence") or []) + [self.record]


@dataclass
class WriteReport:
    date: str
    dry_run: bool
    changes: list[FileChange] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # item ids
    skipped: list[str] = field(default_factory=list)

    def diff(self) -> str:
        return "".join(c.diff() for c in self.changes)

    def summary(self) -> str:
        verb = "would add" if self.dry_run else "added"
        n, f = len(self.written), len(self.changes)
        line = f"{verb} evidence to {n} item{'s' * (n != 1)} in {f} file{'s' * (f != 1)}"
        if self.skipped:
            line += f"; {len(self.skipped)} already recorded"
        return line


def _same(old: Evidence, new: dict[str, Any]) -> bool:
    """The same figures from the same reports, whatever the date: running --write twice adds nothing."""
    data = evidence_data(old)
    return {k: v for k, v in data.items() if k != "date"} == {k: v for k, v in new.items() if k != "date"}


def plan_evidence(analysis: Analysis, bank: Bank, date: str) -> WriteReport:
    """Every file's new text with the analysis's evidence records appended; nothing written."""
    date = check_date(date)
    report = WriteReport(date=date, dry_run=True)
    by_file: dict[str, dict[int | None, EvidenceEdit]] = {}
    for item_id, rec in ev.records(analysis, date).items():
        item = bank.by_id[item_id]
        if any(_same(old, rec) for old in item.evidence):
            report.skipped.append(item_id)
            continue
        by_file.setdefault(item.location.path, {})[item.location.index] = EvidenceEdit(item_id, rec)
        report.written.append(item_id)
    ctx = RuleContext(bank.root, bank.config)
    for rel in sorted(by_file):
        report.changes.append(plan_file_change(write_target(Path(bank.root), rel), rel, by_file[rel], ctx))
    return report


def write_evidence(analysis: Analysis, bank: Bank, date: str, *, dry_run: bool = False) -> WriteReport:
    """Append the analysis's evidence to the bank's item files (nothing written when ``dry_run``)."""
    report = plan_evidence(analysis, bank, date)
    if not dry_run:
        write_changes(report.changes)
        report.dry_run = False
    return report
