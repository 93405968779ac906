"""Running the lint rules over a loaded bank and turning findings into located Problems."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import partial

from ..config import CONFIG_NAME
from ..forked import Child, can_fork
from ..gcpause import gc_paused  # also itembank.lint.gc_paused, as before
from ..model import AnyItem, Bank
from ..positions import PositionIndex
from ..problems import Problem, json_path
from ..sources import read_text
from .locate import fast_locate
from .registry import DEFAULT_THRESHOLDS, LINT_RULES, Finding, LintRule, matches
from .text import clear_caches

#: Banks with fewer live items are linted in one process (a fork would cost more than it saves).
PARALLEL_MIN_ITEMS = 2000
#: With a child, this process lints this percentage of the items; the child the rest and the bank rules.
PARENT_SHARE = 66

#: ``memo(item, make)`` of :func:`lint_bank`: the item's findings, made by ``make()`` or kept from before.
ItemMemo = Callable[[AnyItem, Callable[[], list[Problem]]], list[Problem]]
#: ``texts(item, name, make)`` of :func:`lint_bank`: a text that a bank rule works out from one item
#: alone (``name`` says which), made by ``make()`` or kept from before: the same text either way.
TextMemo = Callable[[AnyItem, str, Callable[[], str]], str]
#: ``results(name, inputs, make)`` of :func:`lint_bank`: what a bank rule (``name``) worked out from
#: the whole bank, as text, made by ``make()`` or kept from an earlier run whose ``inputs`` (a hash
#: of everything the result depends on) were the same: the same text either way.
ResultMemo = Callable[[str, bytes, Callable[[], str]], str]


@dataclass
class LintContext:
    """What rules may read besides the bank: thresholds (defaults overridden by ``itembank.yaml``)."""

    thresholds: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    texts: TextMemo | None = None
    results: ResultMemo | None = None

    def threshold(self, name: str) -> Any:
        return self.thresholds[name]

    def kept_text(self, item: AnyItem, name: str, make: Callable[[], str]) -> str:
        """``make()``, or the text kept for the item under ``name`` (:data:`TextMemo`)."""
        return make() if self.texts is None else self.texts(item, name, make)

    def kept_result(self, name: str, inputs: bytes, make: Callable[[], str]) -> str:
        """``make()``, or the result kept under ``name`` for the same ``inputs`` (:data:`ResultMemo`)."""
        return make() if self.results is None else self.results(name, inputs, make)

    def live_items(self, bank: Bank) -> Iterator[AnyItem]:
        """Items still in use: retired ones are out of every form and every bank-level count."""
        return (i for i in bank.items if i.status != "retired")


def selected_rules(bank: Bank, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[LintRule]:
    """The rules to run: the bank's ``lint.select``/``lint.ignore``, then the caller's (``--select``/``--ignore``)."""
    settings = bank.config.lint
    bank_select = settings.select
    bank_ignore = tuple(s.code for s in settings.ignore)
    select, ignore = tuple(select), tuple(ignore)
    out = []
    for code, r in LINT_RULES.items():
        if bank_select and not matches(code, bank_select):
            continue
        if matches(code, bank_ignore):
            continue
        if select and not matches(code, select):
            continue
        if ignore and matches(code, ignore):
            continue
        out.append(r)
    return out


class _Locator:
    """File, line and column of a path inside an item's file or another file.

    Findings come file by file, so only the last file's node tree is kept (a 10,000-item bank with
    findings in every tenth file would otherwise hold a thousand trees)."""

    def __init__(self, bank: Bank, display: Any, *, items: bool = True) -> None:
        self.bank = bank
        self.display = display
        self.items = items  # False: item findings keep line 1 (their field path says where)
        self._last: tuple[Path, PositionIndex] | None = None
        self._text_of: tuple[Path, str] | None = None
        self._listed: Counter[Path] | None = None

    def _text(self, path: Path) -> str:
        if self._text_of is None or self._text_of[0] != path:
            text, _ = read_text(path, str(path)) if path.is_file() else (None, None)
            self._text_of = (path, text or "")
        return self._text_of[1]

    def _pos(self, path: Path) -> PositionIndex:
        if self._last is None or self._last[0] != path:
            self._last = (path, PositionIndex(self._text(path), self._entries(path)))
        return self._last[1]

    def _entries(self, path: Path) -> int | None:
        """How many items the bank read from ``path``'s ``items:`` list (None: not such a file), so
        that a finding in one item of a file of many composes that item alone (``PositionIndex``)."""
        if self._listed is None:
            self._listed = Counter(self.bank.root / i.location.path for i in self.bank.items if i.location.index is not None)
        return self._listed.get(path)

    def item(self, item: AnyItem, path: tuple[object, ...]) -> tuple[str, int, int]:
        file = self.bank.root / item.location.path
        if not self.items:
            return self.display(file), 1, 1
        if item.location.index is None:
            found = fast_locate(self._text(file), path)
            if found is not None:
                return self.display(file), found[0], found[1]
        prefix: tuple[object, ...] = () if item.location.index is None else ("items", item.location.index)
        line, col = self._pos(file).locate(prefix + path)
        return self.display(file), line, col

    def file(self, file: Path, path: tuple[object, ...], text: str | None = None) -> tuple[str, int, int]:
        if not path:
            line, col = 1, 1
        elif text is not None:
            line, col = PositionIndex(text).locate(path)
        else:
            line, col = self._pos(file).locate(path)
        return self.display(file), line, col


def _problem(r: LintRule, f: Finding, where: tuple[str, int, int], item_id: str | None) -> Problem:
    file, line, col = where
    return Problem(
        file=file,
        code=r.code,
        message=f.message,
        line=line,
        column=col,
        item_id=item_id,
        path=json_path(list(f.path)),
        severity=r.severity,
        suggestion=f.suggestion,
    )


def lint_bank(
    bank: Bank,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    display: Any = str,
    bank_rules: bool = True,
    locate_items: bool = True,
    jobs: int | None = 1,
    memo: ItemMemo | None = None,
    texts: TextMemo | None = None,
    results: ResultMemo | None = None,
) -> list[Problem]:
    """Every lint finding of a loaded bank, as warnings located at the field they are about.

    ``select``/``ignore`` are rule codes or prefixes (``IB50``); the bank's own ``itembank.yaml``
    settings apply first.  An item's ``lint: {ignore: [{code, reason}]}`` drops that rule's findings
    on that item.  ``display(path)`` turns a file path into the one shown in reports.  Without
    ``bank_rules`` only the item rules run (for a part of a bank, whose counts would mislead).
    Without ``locate_items`` item findings are not given a line (the field path still says where):
    the review workbook shows no line, and locating costs a YAML parse per file with findings.
    ``jobs``: ``None`` (or more than 1) shares a large bank's rules with a forked child when there
    is a second core (``itembank.forked``; the CLI's choice; the findings are the same); the
    default, 1, lints in this process only.  ``memo(item, make)``: an item's findings, ``make()`` or
    kept ones (the review workbook keeps them in its fragment cache, ``itembank.fragments``: the
    same findings, in the same order, without running the item rules on an unchanged item); with a
    memo the item rules run in this process and only the bank rules go to the child.  ``texts``: the
    per-item texts of the bank rules, made or kept (:data:`TextMemo`; the same findings).
    ``results``: what a bank rule works out from the whole bank, made or kept for the same inputs
    (:data:`ResultMemo`; the same findings).
    """
    with gc_paused():
        try:
            return _lint(bank, tuple(select), tuple(ignore), display, bank_rules, locate_items, jobs, memo, texts, results)
        finally:
            clear_caches()  # the texts of this bank are not needed any more


def _lint(
    bank: Bank,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    display: Any,
    bank_rules: bool,
    locate_items: bool,
    jobs: int | None,
    memo: ItemMemo | None = None,
    texts: TextMemo | None = None,
    results: ResultMemo | None = None,
) -> list[Problem]:
    ctx = LintContext(texts=texts, results=results)
    ctx.thresholds.update(dict(bank.config.lint.thresholds))
    rules = selected_rules(bank, select, ignore)
    locate = _Locator(bank, display, items=locate_items)
    suppressed = {item.id: {s.code for s in item.lint_ignore} for item in bank.items if item.lint_ignore}
    item_rules = [r for r in rules if r.scope == "item"]
    by_type: dict[str, list[LintRule]] = {}

    def one_item(item: AnyItem) -> list[Problem]:
        found: list[Problem] = []
        skip = suppressed.get(item.id, ())
        applicable = by_type.get(item.type)
        if applicable is None:
            applicable = by_type[item.type] = [r for r in item_rules if r.types is None or item.type in r.types]
        for r in applicable:
            if r.code in skip:
                continue
            for f in r.check(item, ctx):
                found.append(_problem(r, f, locate.item(item, f.path), item.id))
        return found

    def item_findings(items: list[AnyItem]) -> list[Problem]:
        found: list[Problem] = []
        for item in items:
            found.extend(one_item(item) if memo is None else memo(item, partial(one_item, item)))
        return found

    def bank_findings() -> list[Problem]:
        found: list[Problem] = []
        for r in rules:
            if r.scope != "bank" or not bank_rules:
                continue
            for f in r.check(bank, ctx):
                if f.item is not None:
                    if r.code in suppressed.get(f.item.id, ()):
                        continue
                    found.append(_problem(r, f, locate.item(f.item, f.path), f.item.id))
                elif f.file is None and not (bank.root / CONFIG_NAME).is_file():
                    # A finding about the bank, which has no settings file to point into: the bank's folder.
                    found.append(_problem(r, f, locate.file(bank.root, (), None), None))
                else:
                    found.append(_problem(r, f, locate.file(f.file or bank.root / CONFIG_NAME, f.path, f.text), None))
        return found

    live = [item for item in bank.items if item.status != "retired"]
    cut = len(live)

    def rest() -> list[Problem]:
        """The item rules of the items from ``cut`` on, then the bank rules."""
        return item_findings(live[cut:]) + bank_findings()

    # On a large bank a forked child does the rest (the last items and the bank rules, whose
    # near-duplicate search costs most) while this process lints the first items: the findings
    # are the same, in the same order (this process's, then the child's, as one pass lists them).
    # With a memo every item is linted here (the memo keeps what it makes in this process) and the
    # child does the bank rules alone.
    child: Child[list[Problem]] | None = None
    shared = memo is None or (bank_rules and any(r.scope == "bank" for r in rules))
    if jobs != 1 and shared and len(live) >= PARALLEL_MIN_ITEMS and can_fork():
        for r in rules:
            if r.setup is not None:
                r.setup()  # loaded once, here, for both processes
        cut = len(live) * PARENT_SHARE // 100 if memo is None else len(live)
        child = Child(rest)
    with child if child is not None else contextlib.nullcontext():
        out = item_findings(live[:cut])
        done, theirs = child.result() if child is not None else (False, None)
        out.extend(theirs if done and theirs is not None else rest())
    out.sort(key=lambda p: (p.file, p.line, p.column, p.code))
    return out


def lint_result(
    result: Any,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    keep_warnings: bool = False,
    bank_rules: bool = True,
    jobs: int | None = 1,
) -> Any:
    """A :class:`~itembank.validate.CheckResult` whose problems are the lint findings of the valid items.

    Validation errors stay in it (the bank they leave out is not fully linted, so the run fails);
    validation warnings stay only with ``keep_warnings`` (``validate --lint``).  ``jobs``: as for
    :func:`lint_bank`.
    """
    from ..validate import CheckResult, display_path

    bank = result.bank()
    kept = [p for p in result.problems if p.severity == "error" or keep_warnings]
    found = lint_bank(bank, select=select, ignore=ignore, display=display_path, bank_rules=bank_rules, jobs=jobs)
    problems = sorted(kept + found, key=lambda p: (p.file, p.line, p.column, p.code))
    return CheckResult(root=result.root, config=result.config, items=result.items, problems=problems, files=result.files)
