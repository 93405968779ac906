"""Lint findings shaped for the reviewer workbook: one cell per item, a list for the bank.

The xlsx exporter calls :func:`workbook_findings`; the shaping lives here, in the core, so the
exporter only places text in cells.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cache import problem_row, row_problem
from ..fragments import from_json_piece, json_piece

from ..model import Bank
from ..problems import Problem
from .engine import lint_bank
from .registry import LINT_RULES

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..fragments import Fragments
    from ..model import AnyItem


@dataclass
class WorkbookFindings:
    """Item findings as cell text by item id; bank-level findings as rows; counts per rule."""

    by_item: dict[str, str] = field(default_factory=dict)
    bank: list[tuple[str, str, str, str]] = field(default_factory=list)  # (code, rule name, message, where)
    counts: list[tuple[str, str, int]] = field(default_factory=list)  # (code, rule name, findings) for every rule that found any
    bank_rules: bool = True  # False for a part of the bank (a form, a status selection): its counts would mislead


def finding_text(p: Problem) -> str:
    """``IB501 options[1].text: the key ... Suggestion: ...`` — one finding in a cell."""
    where = f" {p.path}" if p.path else ""
    fix = f" Suggestion: {p.suggestion}." if p.suggestion else ""
    return f"{p.code}{where}: {p.message}.{fix}"


def workbook_findings(bank: Bank, fragments: Fragments | None = None, jobs: int = 1) -> WorkbookFindings:
    """Lint the bank (item rules only for a part of it) for the workbook's Items and Summary sheets.

    ``fragments``: the workbook export's fragment cache, where an unchanged item's findings are kept
    (the item rules read the item alone; the rules and thresholds are the bank settings', which are
    in the cache's scope).  The bank rules run every time: they read the whole bank (the texts
    they read of each item, and the near-duplicate search for the same texts, are kept there too:
    :class:`_KeptTexts`, :class:`_KeptResults`).  ``jobs``: more
    than 1 lets a forked child share the work (:func:`~itembank.lint.engine.lint_bank`'s ``jobs``)."""
    root = bank.root

    def display(path: Path) -> str:
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            return str(path)

    # An assessment form, or a status selection (``--status``: by_id keeps the items left out), is a
    # part of the bank: counts over it (key balance, duplicates, coverage) would mislead.
    whole = bank.form is None and len(bank.items) == len(bank.by_id)
    out = WorkbookFindings(bank_rules=whole)
    memo = None if fragments is None else partial(_kept_findings, fragments)
    texts = None if fragments is None else _KeptTexts(fragments)
    results = None if fragments is None else _KeptResults(fragments)
    found = lint_bank(bank, display=display, bank_rules=out.bank_rules, locate_items=False, jobs=jobs, memo=memo, texts=texts, results=results)
    cells: dict[str, list[str]] = {}
    for p in found:
        if p.item_id is not None:
            cells.setdefault(p.item_id, []).append(finding_text(p))
        else:
            out.bank.append(
                (
                    p.code,
                    LINT_RULES[p.code].name,
                    p.message + (f". Suggestion: {p.suggestion}." if p.suggestion else ""),
                    f"{p.file}:{p.line}",
                )
            )
    out.by_item = {item_id: "\n".join(lines) for item_id, lines in cells.items()}
    counts = Counter(p.code for p in found)
    out.counts = [(code, LINT_RULES[code].name, counts[code]) for code in LINT_RULES if counts[code]]
    return out


def _kept_findings(fragments: Fragments, item: AnyItem, make: Callable[[], list[Problem]]) -> list[Problem]:
    """An item's lint findings (as the workbook lints: no line located), from the fragment cache or made."""
    return fragments.cached(fragments.key(item, "lint"), make, _findings_piece, _from_findings_piece)


class _KeptInPack:
    """Texts the bank rules work out, in the fragment cache, kept by the process that made this
    (the export's): a child that shares out the bank rules (``jobs``) makes its texts without the
    cache, so that it never writes into the pack this process is writing."""

    def __init__(self, fragments: Fragments) -> None:
        self.fragments, self.pid = fragments, os.getpid()

    def _text(self, key: Callable[[], bytes], make: Callable[[], str]) -> str:
        if os.getpid() != self.pid:
            return make()
        return self.fragments.cached(key(), make, _text_piece, _from_text_piece)


class _KeptTexts(_KeptInPack):
    """The bank rules' per-item texts (:data:`~itembank.lint.engine.TextMemo`)."""

    def __call__(self, item: AnyItem, name: str, make: Callable[[], str]) -> str:
        return self._text(lambda: self.fragments.key(item, "lint-text", name), make)


class _KeptResults(_KeptInPack):
    """What a bank rule works out from the whole bank (:data:`~itembank.lint.engine.ResultMemo`),
    under the hash of its inputs.  (The rule checks what it reads back, and searches again when it
    is not its result's shape.)"""

    def __call__(self, name: str, inputs: bytes, make: Callable[[], str]) -> str:
        return self._text(lambda: self.fragments.data_key(b"lint-result\0" + name.encode("utf-8", "surrogatepass") + b"\0" + inputs), make)


def _text_piece(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _from_text_piece(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def _findings_piece(found: list[Problem]) -> bytes:
    return json_piece([[p.file, *problem_row(p)] for p in found])


def _from_findings_piece(raw: bytes) -> list[Problem]:
    if raw == b"[]":  # most items: no findings
        return []
    rows: Any = from_json_piece(raw)
    out = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 9:  # the file, then problem_row's eight fields
            raise ValueError("not a finding")
        p = row_problem(row[0], row[1:])
        if not (isinstance(p.line, int) and isinstance(p.column, int) and all(isinstance(getattr(p, n), str) for n in ("file", "code", "message", "path", "severity"))):
            raise ValueError("not a finding")
        if p.code not in LINT_RULES:
            raise ValueError("not a finding of a known rule")
        out.append(p)
    return out
