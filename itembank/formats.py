"""Export formats: the exporter interface, its declared options, results, and the format registry.

An exporter is an object with ``name``, ``description``, ``default_output``, ``options`` (the names
of the :class:`ExportOptions` fields it accepts) and an ``export(bank, ctx) -> ExportResult`` method
returning bytes (one file) or a mapping of relative paths to bytes (a folder).  Writing to disk,
atomically, is :mod:`itembank.atomic`'s job, never an exporter's.

The built-in formats are a table in code (``itembank.exporters.BUILTINS``: name -> "module:attr",
imported only when used); third-party packages add formats through the ``itembank.exporters``
entry-point group.  A third-party format with a built-in's name is an error naming both.
"""

from __future__ import annotations

import importlib
import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import ItembankError, UsageError
from .model import STATUSES, Bank
from .render import Renderer
from .wording import plural

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .fragments import Fragments

ENTRY_POINT_GROUP = "itembank.exporters"

#: The default ``status`` of the formats that deliver to learners (LMS packages, print): every status
#: but ``retired``.  Formats for authors and reviewers (json, xlsx) keep every status.
DELIVERY_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s != "retired")


@dataclass(frozen=True)
class ExportOptions:
    """Every option an exporter may declare; each exporter accepts only those in its ``options``."""

    check: bool = False  # validate the output (official schemas, or the consumer's structural check)
    unzipped: bool = False  # package formats: a folder instead of a zip
    page_size: int = 50  # html: items per page of a part (flashcards, practice, open questions)
    lang: str = "en"  # html: the bank's texts' language (BCP 47), marked on each for screen readers and hyphenation; the interface is English
    tests: bool = True  # html: also a test page for every form of every assessment of the bank
    status: tuple[str, ...] = ()  # the item statuses to export; empty: the format's ``default_status``
    strict: bool = False  # skip an item whose export would lose something (points, ...) instead of noting the loss
    variants: int = 10  # calculated items: generated value sets per item (Moodle dataset items, Canvas var_sets)
    expand_variants: int = 0  # calculated items: write this many concrete numeric items each (QTI, GIFT); 0: don't


OPTION_NAMES = frozenset(f.name for f in fields(ExportOptions))


@dataclass
class ExportContext:
    """What an exporter may use besides the bank: its options and the shared renderer (one per build)."""

    renderer: Renderer = field(default_factory=Renderer)
    options: ExportOptions = field(default_factory=ExportOptions)
    tool_version: str = ""
    #: Processes the exporter may fork for independent pieces of its work (itembank/forked.py);
    #: the output is the same for any number.  1 (the default): this process only, the only safe
    #: choice in a program that runs threads.
    jobs: int = 1
    #: The export's fragment cache (itembank/fragments.py): each item's piece of the output kept by
    #: the item's content, for an exporter that knows its pieces.  None (the default): no cache.
    fragments: Fragments | None = None


# --- how a one-file output says it is itembank's (itembank.output.owned_file) -------------------------

#: The comment a Moodle XML export writes first in its <quiz>: a later export may replace the file;
#: any other file at an output path is refused (Moodle reads past comments).
MOODLE_XML_MARK = b"<!-- Moodle XML export by itembank: a later itembank export may replace this file -->"
#: The archive comment of every zip an export writes (QTI and Canvas packages, the review workbook):
#: LMSs, Excel and LibreOffice ignore it, and a workbook saved by a reviewer no longer has it (theirs now).
ZIP_MARK = b"itembank export: a later itembank export may replace this file"


@dataclass
class ExportResult:
    """What an exporter produced, and the account of every item: written (by type) or skipped (why)."""

    data: bytes | None = None  # a single file
    files: dict[str, bytes] | None = None  # a folder: relative POSIX path -> bytes
    written: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item id, reason)
    notes: list[str] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)  # status -> items the status filter left out
    #: calculated item id -> the numeric variants written in its place (--expand-variants N: ids
    #: <id>-v1 ... <id>-vN; one variant keeps the item's id), what the audit reads the output as
    variants: dict[str, int] = field(default_factory=dict)

    def wrote(self, item_type: str) -> None:
        self.written[item_type] += 1

    def skip(self, item_id: str, reason: str) -> None:
        self.skipped.append((item_id, reason))

    def summary(self) -> str:
        total = sum(self.written.values())
        parts = ", ".join(f"{n} {t}" for t, n in sorted(self.written.items()))
        line = f"{plural(total, 'item')} written" + (f" ({parts})" if parts else "")
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        if self.left_out:
            n = sum(self.left_out.values())
            which = ", ".join(f"{self.left_out[s]} {s}" for s in STATUSES if self.left_out[s])
            line += f"; {which} item{'s' * (n != 1)} left out"
        return line


@runtime_checkable
class Exporter(Protocol):
    name: str
    description: str
    default_output: str  # file or folder name under dist/
    options: frozenset[str]  # the ExportOptions fields this format accepts
    # A format that takes ``status`` also says which statuses it exports by default, as a class
    # attribute ``default_status`` (a tuple of STATUSES); without one, every status.
    # A format may say what an item costs it relative to the others, as a class attribute
    # ``build_cost`` (a float; without one, 1.0): a build with workers starts the costliest first,
    # so that no long export starts last while the other workers idle.  The built-in formats' costs
    # are the CPU time of each export's worker in a 2-worker build of the 10,000 generated items
    # (benchmarks/), relative to a QTI package's 3.0 (2026-12-02, two builds): qti 3.0, xlsx 2.3,
    # canvas 2.2, moodle 1.9, gift 1.2, html 1.0, markdown 0.8, json 0.15 (orjson).  With a warm fragment cache
    # (a build after an edit) an item costs a format its ``cached_build_cost`` (a float; without one,
    # its build_cost), measured the same way in warm builds: canvas 0.58, xlsx 0.50, markdown 0.30,
    # qti 0.22, gift 0.21, moodle 0.20, html 0.08, json 0.06 (the audits, which read the whole
    # output, are most of what is left).
    # A format that shares its items out over ``ExportContext.jobs`` forked processes says so as a
    # class attribute ``shares_out = True`` (without one: False, it ignores ``jobs``): a build starts
    # such an export last and may give it the cores the others free (itembank.schedule).
    # A format whose conversion of the items' texts another format of the build makes as well names
    # it as a class attribute ``prepares``, a function ``(items, renderer) -> None`` that keeps each
    # text's conversion in ``renderer.converted`` (a function of the text alone): a build with
    # workers calls each function two or more of its exports name once, before it forks the workers,
    # which inherit what it kept (QTI 2.1 and 3.0: their texts' markup, the same in both versions).

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult: ...


class BrokenExporter:
    """Stands in for an exporter whose plug-in failed to load, so the failure is reported, not hidden."""

    description = "(failed to load)"
    default_output = ""
    options: frozenset[str] = frozenset()

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.error = error

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        raise ItembankError(f"export format '{self.name}' failed to load: {type(self.error).__name__}: {self.error}")


# --- options ------------------------------------------------------------------------------------


def make_options(given: Mapping[str, Any], accepted: frozenset[str] | None = None, who: str = "this format") -> ExportOptions:
    """Typed options from keyword arguments; an unknown name, a wrong type, or an option set that
    ``accepted`` lacks is a :class:`UsageError` (``who`` names the format(s) in its message).

    ``accepted`` None: any known option.  An option left at its default is never refused (the CLI
    passes every flag, set or not).
    """
    unknown = sorted(set(given) - OPTION_NAMES)
    if unknown:
        raise UsageError(f"unknown export option{'s' * (len(unknown) > 1)}: {', '.join(unknown)} (options: {', '.join(sorted(OPTION_NAMES))})")
    if "status" in given:
        given = {**given, "status": _statuses(given["status"])}
    defaults = ExportOptions()
    for name, value in given.items():
        expected = type(getattr(defaults, name))
        if not isinstance(value, expected):
            raise UsageError(f"export option {name} must be {expected.__name__}, not {type(value).__name__}")
    if accepted is not None:
        refused = sorted(n for n, v in given.items() if n not in accepted and v != getattr(defaults, n))
        if refused:
            takes = ", ".join(sorted(accepted)) or "none"
            raise UsageError(f"option{'s' * (len(refused) > 1)} {', '.join(refused)} not taken by {who} (options taken: {takes})")
    return ExportOptions(**given)


def _statuses(value: Any) -> tuple[str, ...]:
    """A ``status`` option as a tuple in workflow order: one status, or a list or tuple of them."""
    values = (value,) if isinstance(value, str) else value
    if not isinstance(values, (list, tuple, frozenset, set)) or not all(isinstance(v, str) for v in values):
        raise UsageError(f"export option status must be a status or a list of them, not {type(value).__name__}")
    wrong = sorted(set(values) - set(STATUSES))
    if wrong:
        raise UsageError(f"unknown item status{'es' * (len(wrong) > 1)}: {', '.join(wrong)} (statuses: {', '.join(STATUSES)})")
    return tuple(s for s in STATUSES if s in values)


def default_status(exporter: Exporter) -> tuple[str, ...]:
    """The statuses a format exports when no ``status`` is given (every status for a format without a default)."""
    declared: tuple[str, ...] = getattr(exporter, "default_status", STATUSES)
    return declared


def filter_status(bank: Bank, exporter: Exporter, options: ExportOptions) -> tuple[Bank, Counter[str]]:
    """The bank as this format exports it: only the items whose status ``options.status`` (or the
    format's default) allows, and how many items of each status were left out.

    An assessment form is never filtered: its blueprint chose its items (approved only unless it says
    otherwise), and the paper and every platform must hold the same questions.  A ``status`` given
    explicitly that leaves out an item of a form is a :class:`UsageError` naming the items.
    """
    if "status" not in exporter.options:
        return bank, Counter()
    allowed = options.status or default_status(exporter)
    outside = [i for i in bank.items if i.status not in allowed]
    if not outside:
        return bank, Counter()
    if bank.form is not None:
        if not options.status:
            return bank, Counter()
        listed = ", ".join(f"{i.id} ({i.status})" for i in outside[:10]) + (" ..." if len(outside) > 10 else "")
        raise UsageError(
            f"form {bank.form.name} holds items that --status {','.join(options.status)} leaves out: {listed}; "
            "a form's items are chosen by its blueprint (change its rules' `status` or `include_drafts`)"
        )
    kept = tuple(i for i in bank.items if i.status in allowed)
    # by_id keeps every item: the bank's assessments build their forms from it (a form is never
    # filtered), while exporters export ``items``
    return dataclasses.replace(bank, items=kept, by_id=bank.by_id), Counter(i.status for i in outside)


def options_for(exporter: Exporter, options: ExportOptions) -> ExportOptions:
    """``options`` with the ones ``exporter`` does not accept back at their defaults."""
    defaults = ExportOptions()
    return ExportOptions(**{f.name: getattr(options if f.name in exporter.options else defaults, f.name) for f in fields(ExportOptions)})


# --- the registry -----------------------------------------------------------------------------


def _instance(obj: Any) -> Exporter:
    return obj() if isinstance(obj, type) else obj


def _load_builtin(name: str, target: str) -> Exporter:
    module, _, attr = target.partition(":")
    return _instance(getattr(importlib.import_module(module), attr))


def _load_plugin(ep: EntryPoint) -> Exporter:
    try:
        return _instance(ep.load())
    except Exception as exc:  # a broken plug-in must not take the other formats down with it
        return BrokenExporter(ep.name, exc)


def entry_points(group: str) -> Any:
    """The installed entry points of ``group`` (importlib.metadata is imported here: it costs a tenth
    of the start-up of commands that never look for a plug-in, such as ``validate`` and ``lint``)."""
    from importlib.metadata import entry_points as installed

    return installed(group=group)


@cache
def _sources() -> dict[str, str | EntryPoint]:
    """Every format's source by name: a built-in's "module:attr", or a plug-in's entry point."""
    # by name, not by import statement: the core never imports an exporter module (nor mypy a path
    # that exists only once the package is installed or mounted)
    from importlib.metadata import EntryPoint

    exporters = importlib.import_module(f"{__package__}.exporters")
    found: dict[str, str | EntryPoint] = dict(exporters.BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in exporters.BUILTINS:
            if ep.value == exporters.BUILTINS[ep.name]:
                continue  # an old install's metadata naming the built-in itself
            raise ItembankError(
                f"export format '{ep.name}' is defined twice: built in as {exporters.BUILTINS[ep.name]}, "
                f"and by the entry point {ep.value} (package {ep.dist.name if ep.dist else 'unknown'})"
            )
        if isinstance(found.get(ep.name), EntryPoint):
            other = found[ep.name]
            assert isinstance(other, EntryPoint)
            raise ItembankError(f"export format '{ep.name}' is defined twice: by the entry points {other.value} and {ep.value}")
        found[ep.name] = ep
    return found


def refresh() -> None:
    """Forget the formats found so far (after a plug-in was installed or removed in this process)."""
    _sources.cache_clear()
    get_exporter.cache_clear()


@cache
def get_exporter(name: str) -> Exporter:
    """One exporter, importing only its own module (an export of one format needs no other)."""
    sources = _sources()
    if name not in sources:
        raise UsageError(f"unknown export format '{name}' (known: {', '.join(sorted(sources))})")
    source = sources[name]
    return _load_builtin(name, source) if isinstance(source, str) else _load_plugin(source)


def registry() -> dict[str, Exporter]:
    """Every available exporter by name, in name order."""
    return {name: get_exporter(name) for name in sorted(_sources())}
