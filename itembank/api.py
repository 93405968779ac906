"""The library API the CLI is a thin layer over.

>>> from itembank import load_bank, export
>>> bank = load_bank("items")          # raises InvalidBank with every problem if invalid
>>> result = export(bank, "json")      # ExportResult: .data bytes, .written, .skipped
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import pickle
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from pathlib import Path
from typing import Any, Callable

from . import __version__, audit, output
from .assessments import ASSESSMENTS_DIR, build_forms, form_bank
from .atomic import write_file_atomic
from .errors import InvalidBank, ItembankError, UsageError
from .cache import disabled_by_env, stamps_memo
from .forked import fork_safe, give_back_memory, usable_cores
from .fragments import Fragments, digest_items, scope_of
from .formats import ExportContext, ExportOptions, ExportResult, Exporter, filter_status, get_exporter, make_options, options_for, registry
from .gcpause import frozen, gc_paused
from .model import AnyItem, Bank, markdown_texts
from .progress import BuildProgress
from .render import Renderer
from .schedule import start_order, tail_jobs
from .validate import check_bank

__all__ = ["BuildReport", "InvalidBank", "build", "export", "form_dir", "load_bank", "select_bank"]

FORM_WITHOUT_ASSESSMENT = "a form was given without its assessment (a form belongs to an assessment)"

def load_bank(
    root: Path | str = "items",
    *,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    allow_empty: bool = False,
    cache: bool = False,
    jobs: int | None = 1,
) -> Bank:
    """Load and validate a bank folder; raise :class:`InvalidBank` if it has errors.

    ``progress(done, total)`` is called as files are checked.  A folder without item files is an
    error (IB016) unless ``allow_empty``.  ``cache``: reuse (and refill) the bank's check cache,
    ``itembank.cache``: the same bank, faster when few files changed.  ``jobs``: as for
    :func:`itembank.validate.check_paths` (None: a forked child checks a share of a large bank).
    """
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"bank folder '{root}' does not exist")
    result = check_bank(root, progress=progress, allow_empty=allow_empty, cache=cache, jobs=jobs)
    if not result.ok(strict=strict):
        raise InvalidBank(result)
    # What loading freed (parsed files, the check cache's data: ~300 MB at 100,000 items) goes back
    # to the system: else the export workers forked from this process would each start with it.
    give_back_memory()
    return result.bank()


def select_bank(bank: Bank, assessment: str | None = None, form: str | None = None) -> Bank:
    """The whole bank, or one form (default A) of the named assessment of the bank."""
    if assessment is None:
        if form is not None:
            raise UsageError(FORM_WITHOUT_ASSESSMENT)
        return bank
    return form_bank(bank, assessment, form)


def form_dir(out_dir: Path | str, bank: Bank) -> Path:
    """Where a build puts an assessment form's exports: ``<out>/assessments/<name>-<form>/``."""
    return Path(out_dir) if bank.form is None else Path(out_dir) / ASSESSMENTS_DIR / bank.form.name


def export(
    bank: Bank,
    fmt: str,
    *,
    ctx: ExportContext | None = None,
    assessment: str | None = None,
    form: str | None = None,
    jobs: int = 1,
    cache: bool = False,
    **options: Any,
) -> ExportResult:
    """Run one exporter in memory (nothing is written), on the bank or on one assessment form.

    ``jobs``: processes the exporter may fork (:attr:`ExportContext.jobs`; ignored with ``ctx``).
    ``cache``: keep each item's piece of the output in the bank's fragment cache and reuse what is
    there (``itembank.fragments``; not with ``ITEMBANK_NO_CACHE=1``): the same bytes, faster when few
    items changed since the last export of this format.

    ``options`` are :class:`~itembank.formats.ExportOptions` fields; one the format does not take is
    a :class:`UsageError` (so is ``options`` together with ``ctx``, which carries its own).  The
    whole bank is exported with the statuses ``status`` names, or the format's ``default_status``
    (LMS formats and print leave ``retired`` items out; the result counts them in ``left_out``).
    """
    exporter = get_exporter(fmt)
    if ctx is None:
        ctx = ExportContext(options=make_options(options, exporter.options, f"format '{fmt}'"), tool_version=__version__, jobs=jobs)
    elif options:
        raise UsageError("give the export options in ctx.options or as keyword arguments, not both")
    else:
        make_options(asdict(ctx.options), exporter.options, f"format '{fmt}'")
    target = select_bank(bank, assessment, form)
    if cache and ctx.fragments is None:
        ctx = replace(ctx, fragments=fragments_for(target, exporter, ctx.options))
    return _export_one(target, exporter, ctx)


def fragments_for(target: Bank, exporter: Exporter, options: ExportOptions) -> Fragments | None:
    """The fragment cache of one export of ``target`` (the bank or a form) in ``exporter``'s format
    with ``options`` (None when the cache is turned off by ``ITEMBANK_NO_CACHE``)."""
    if disabled_by_env():
        return None
    where = _target_name(target)
    scope = scope_of(type(exporter).__module__, exporter.name, where, repr(options), repr(target.form), repr(target.config), __version__, memo=stamps_memo(target.root))
    return Fragments(target.root, f"{exporter.name}-{where}", scope)


def _write_output(dest: Path, result: ExportResult, previous: Path | None = None) -> None:
    """One export's output written at ``dest`` in a build's staging folder (replacing the previous
    one), and let go: a build holds one package in memory at a time, not all of them.
    ``previous``: the same output of the last build (in the folder the staging one replaces), whose
    files with the same bytes are linked rather than written again (:func:`output.place_file`)."""
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    elif dest.exists() or dest.is_symlink():
        dest.unlink()
    if result.files is not None:
        output.write_files(dest, result.files, previous)
        (dest / output.MANIFEST).write_bytes(output.manifest_bytes(set(result.files)))
    elif result.data is not None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # a zip carries itembank's mark, as `export -o` writes it
        output.place_file(dest, output.marked_zip(result.data), 0o644, previous)
    else:
        raise ItembankError("exporter produced no output")
    result.files = result.data = None


def _staged_build(out_dir: Path, bank_root: Path, produce: Callable[[Path], None], replaced: frozenset[Path] = frozenset()) -> None:
    """A build's outputs, all at once: ``produce`` writes them into a staging folder beside
    ``out_dir`` (a copy of its previous outputs but those in ``replaced``, which ``produce`` writes
    anew, the new ones written over them), which is then swapped in, so a failure leaves the old
    ``out_dir`` untouched."""
    # Files a build writes are its own by name too (a one-file export may have written one there).
    known = frozenset(e.default_output for e in registry().values() if e.default_output)
    target = output.check_target(out_dir, bank_root, folder=True, known=known)
    staging = output.staging_dir(target)
    try:
        if target.exists():
            skip = {target / p for p in replaced}

            def written_anew(folder: str, names: list[str]) -> set[str]:
                return {n for n in names if Path(folder, n) in skip}

            shutil.copytree(target, staging, symlinks=True, dirs_exist_ok=True, ignore=written_anew, copy_function=output.link_or_copy)
        produce(staging)
        # A new file: the old one may be linked from the last build (output.link_or_copy), and a file linked
        # from it is never written in place (that would change the old output before the swap).
        manifest = staging / output.MANIFEST
        manifest.unlink(missing_ok=True)
        manifest.write_bytes(output.manifest_bytes(output.listed_files(staging)))
        os.chmod(staging, 0o755)
        output.swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@dataclass
class BuildReport:
    """What ``build`` did: one entry per exporter, in order."""

    outputs: list[tuple[str, Path, ExportResult]] = field(default_factory=list)
    renders: int = 0  # texts rendered: once each in one process; with workers, about once per process (the parent's, before forking them, each worker's for its exports: _KeptHtml)
    workers: int = 1  # processes that ran the exports
    forms: list[str] = field(default_factory=list)  # assessment forms built, e.g. "pattern-check-A"
    removed: list[Path] = field(default_factory=list)  # form folders of forms that no longer exist


def build(
    bank: Bank,
    out_dir: Path | str = "dist",
    *,
    formats: list[str] | None = None,
    on_export: Callable[[str, Path, ExportResult], None] | None = None,
    on_start: Callable[[str, str], None] | None = None,
    assessment: str | None = None,
    form: str | None = None,
    jobs: int | None = None,
    cache: bool = False,
    progress: BuildProgress | None = None,
    **options: Any,
) -> BuildReport:
    """Run every registered exporter (or ``formats``) into ``out_dir``, sharing one renderer.

    ``jobs``: how many processes run the exports (default: the usable cores; 1 runs them in this
    process, as does a process that may not fork: ``itembank.forked.fork_safe``).  Workers are forked after loading, so they share the loaded bank; the outputs are
    the same bytes whatever ``jobs`` is, and are written together as before.  ``cache``: each export
    uses the bank's fragment cache (:func:`export`'s ``cache``): after an edit of a few items, only
    their pieces are made again.

    Without ``assessment``: the whole bank into ``out_dir`` and every form of every assessment of the
    bank into ``out_dir/assessments/<name>-<form>/``.  With it: only that assessment's forms (or
    ``form``), into the same folders.  ``on_start(format, target)`` is called before each export
    (target: ``bank`` or the form's name), ``on_export`` after each is written.  ``progress``
    (:class:`itembank.progress.BuildProgress`) hears how many exports the build runs, each one's
    start and end as they happen, and a tick about every :data:`PROGRESS_TICK` seconds while the
    build waits for its workers.
    """
    out_dir = Path(out_dir)
    names = formats or list(registry())
    exporters = {name: get_exporter(name) for name in names}
    # An option is refused only when no format of the build takes it; each format gets the ones it takes.
    accepted = frozenset().union(*(e.options for e in exporters.values()))
    chosen = make_options(options, accepted, f"any format of this build ({', '.join(exporters)})")
    renderer = Renderer()
    report = BuildReport()
    if assessment is not None:
        targets = [select_bank(bank, assessment, form)] if form is not None else build_forms(bank, assessment)
    elif form is not None:
        raise UsageError(FORM_WITHOUT_ASSESSMENT)
    else:
        targets = [bank] + [f for name in bank.assessments for f in build_forms(bank, name)]
    report.forms = [t.form.name for t in targets if t.form is not None]
    work = [(target, name) for target in targets for name in exporters]
    cores = usable_cores() if jobs is None else max(1, jobs)
    workers = min(cores, len(work))
    dests = [form_dir(out_dir, target) / exporters[name].default_output for target, name in work]
    caching = cache and not disabled_by_env()
    if caching:  # worked out once, here: forked workers inherit them
        digest_items(item for target in targets for item in target.items)
    results: list[ExportResult] = []
    removed: list[Path] = []
    renders = 0
    if progress is not None:
        progress.planned(len(work))

    def produce(staging: Path) -> None:
        """Every export, each written into ``staging`` as soon as it is done (in a worker, by the worker)."""
        nonlocal renders
        where = [staging / d.relative_to(out_dir) for d in dests]
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods() and fork_safe():
            warm = [_warm(target, exporters[name], chosen, caching) for target, name in work]
            costs = [_job_cost(target, exporters[name], hot) for (target, name), hot in zip(work, warm)]
            # Worked out once, here, when more than one export reads every item back: forked workers
            # inherit them.  Not for exports whose fragment cache is warm (a build after an edit): their
            # audits read back only the few items whose output changed, which cut their own pieces.
            readers = [audit.reads_back(name) and not hot for (_target, name), hot in zip(work, warm)]
            # And the texts' conversions that two or more of the exports share (Exporter.prepares: QTI
            # 2.1's and 3.0's markup), when their fragment cache is cold (a warm one makes few items).
            converters = _shared_preparations(exporters[name] for (_target, name), hot in zip(work, warm) if not hot)
            needs = [reads or (not hot and getattr(exporters[name], "prepares", None) in converters) for (_target, name), reads, hot in zip(work, readers, warm)]
            prepare: Callable[[Callable[[], None]], None] | None = None
            cut = len({name for (_target, name), reads in zip(work, readers) if reads}) > 1
            if cut or converters:

                def prepare_audits(tick: Callable[[], None]) -> None:
                    """(an item of several targets: cut once), and the conversions of ``converters``.
                    The texts rendered so, and the other Markdown texts, are kept for the workers,
                    which then start from them (:class:`_KeptHtml`).  ``tick``: called about every
                    :data:`PROGRESS_TICK` seconds (100,000 items take ~4.5 s)."""
                    nonlocal renders
                    items = [item for target in targets for item in target.items]
                    prepared = Renderer(_KEPT.html, _KEPT.converted)
                    last = time.monotonic()
                    kept = _ConvertedSize(prepared.converted)
                    for step in ([audit.prepare] if cut else []) + converters:
                        with gc_paused():
                            for start in range(0, len(items), _PREPARED_AT_ONCE):
                                if step is not audit.prepare and kept.grown() > REUSE_MARGIN:
                                    break  # (the rest is converted by each export, as without it)
                                step(items[start : start + _PREPARED_AT_ONCE], prepared)
                                if time.monotonic() - last >= PROGRESS_TICK:
                                    tick()
                                    last = time.monotonic()
                    _render_ahead(items, prepared)
                    _KEPT.inherit(prepared)
                    renders += prepared.renders

                prepare = prepare_audits
            found, rendered = _export_parallel(work, exporters, chosen, workers, on_start, where, dests, caching, costs, progress, prepare, [not n for n in needs])
            renders += rendered
            results.extend(found)
            report.workers = workers
        else:
            # The loaded bank is frozen (the collector no longer walks it) and what an export leaves in
            # cycles (its trees, its writers: the HTML export leaves ~400,000 objects) is collected
            # before the next export starts, which then reuses that memory instead of adding to it.
            # A build of one export (one format, one target) shares it out over the cores, as
            # ``itembank export`` does; else each export runs alone, as ``jobs`` asks.
            alone = cores if len(work) == 1 else 1
            with frozen():
                for (target, name), dest, before in zip(work, where, dests):
                    if on_start is not None:
                        on_start(name, _target_name(target))
                    if progress is not None:
                        progress.started(name, _target_name(target))
                    result = _export_one(target, exporters[name], _build_context(exporters[name], chosen, renderer, target if caching else None, alone))
                    _write_output(dest, result, before)
                    results.append(result)
                    if progress is not None:
                        progress.finished(name, _target_name(target))
                    gc.collect()
            renders = renderer.renders
        if form is None:  # in the staging folder: the swap makes the whole build visible at once
            stale = _remove_stale_forms(staging, bank, report.forms, assessment)
            removed.extend(Path(out_dir) / p.relative_to(staging) for p in stale)

    _staged_build(out_dir, bank.root, produce, frozenset(d.relative_to(out_dir) for d in dests))
    for (_target, name), path, result in zip(work, dests, results):
        report.outputs.append((name, path, result))
        if on_export is not None:
            on_export(name, path, result)
    report.removed = removed
    report.renders = renders
    return report


def _target_name(target: Bank) -> str:
    """What a build calls the target of an export: ``bank``, or the form's name (``quiz-A``)."""
    return target.form.name if target.form is not None else "bank"


#: Seconds between the ticks a build's progress hears while it waits for its workers (or prepares
#: what they inherit).
PROGRESS_TICK = 0.5
#: Items whose texts a build's parent cuts for the audits between two looks at the clock.
_PREPARED_AT_ONCE = 1000


def _no_tick() -> None:
    """A build without progress: nothing to tell."""


def _shared_preparations(exporters: Iterable[Exporter]) -> list[Callable[[Sequence[AnyItem], Renderer], None]]:
    """The conversions (``Exporter.prepares``) that two or more of ``exporters`` name, in the order
    first named: a build's parent makes them once for all of them (one export alone gains nothing)."""
    named = [prepares for e in exporters if (prepares := getattr(e, "prepares", None)) is not None]
    return [p for p in dict.fromkeys(named) if named.count(p) > 1]


def _job_cost(target: Bank, exporter: Exporter, warm: bool) -> float:
    """What one export of a build is expected to cost, for the workers to start the costliest first:
    the format's ``build_cost`` per item, or its ``cached_build_cost`` when the export is ``warm``
    (:func:`_warm`: the build uses the fragment cache and the export's pack is there; after an
    edit, most pieces are read, not made: the order of the costs changes, the Canvas and workbook
    audits then leading)."""
    cost: float = getattr(exporter, "build_cost", 1.0)
    if warm:
        cost = getattr(exporter, "cached_build_cost", cost)
    return cost * len(target.items)


def _warm(target: Bank, exporter: Exporter, chosen: ExportOptions, caching: bool) -> bool:
    """Whether a build's export of ``target`` finds its fragment cache written by an export of the
    same scope (most of its pieces, and its audit's verdicts, are then read, not made)."""
    if not caching:
        return False
    fragments = fragments_for(target, exporter, options_for(exporter, chosen))
    return fragments is not None and fragments.warm()


def _export_one(target: Bank, exporter: Exporter, ctx: ExportContext) -> ExportResult:
    """One export: the items the format delivers, checked against the invariants (itembank.audit),
    and an account of those the status filter left out."""
    delivered, left_out = filter_status(target, exporter, ctx.options)
    try:
        with gc_paused():  # an export makes many small acyclic objects; see itembank.gcpause
            result = exporter.export(delivered, ctx)
            audit.check(exporter.name, delivered, result, ctx.renderer, ctx.fragments, ctx.jobs)  # the invariants, on what was produced
    except BaseException:
        if ctx.fragments is not None:  # the pack being written is dropped: the old one stays
            ctx.fragments.abandon()
        raise
    if ctx.fragments is not None:  # the export passed its audit: its pieces (and verdicts) are kept
        ctx.fragments.save()
    result.left_out.update(left_out)
    return result


def _build_context(exporter: Exporter, chosen: ExportOptions, renderer: Renderer, cached: Bank | None = None, jobs: int = 1) -> ExportContext:
    """A build's context for one export: the build's options the format takes, the shared renderer,
    the fragment cache of the export of ``cached`` (the target) when the build uses the cache, and
    the processes it may use (``jobs``: :attr:`ExportContext.jobs`)."""
    options = options_for(exporter, chosen)
    fragments = fragments_for(cached, exporter, options) if cached is not None else None
    return ExportContext(renderer=renderer, options=options, tool_version=__version__, fragments=fragments, jobs=jobs)


#: About the memory a text kept for the workers holds besides its characters: its string object and
#: its place in a table (:class:`_KeptHtml`, :class:`_ConvertedSize`).
_BYTES_A_TEXT = 100


class _ConvertedSize:
    """About the memory the conversions a build's parent makes ahead (:attr:`Renderer.converted`)
    hold, as :meth:`_KeptHtml.added` counts the HTML's: their characters and ~100 bytes a text.
    Every worker holds them from its start, as it holds the loaded bank, so the parent makes no more
    than :data:`REUSE_MARGIN` of them (100,000 items' QTI markup held ~120 MB more in every worker:
    the build's peak 1,738 -> 1,863 MB); a larger bank's other texts are converted by each export."""

    def __init__(self, converted: dict[str, dict[str, str]]) -> None:
        self.converted = converted
        self.counted: dict[str, int] = {}  # texts of each kind counted so far (a dict keeps their order)
        self.size = 0

    def grown(self) -> int:
        """The size of what is held now (the texts added since the last call counted)."""
        for kind, texts in self.converted.items():
            done = self.counted.get(kind, 0)
            if len(texts) > done:
                self.size += sum(len(t) + _BYTES_A_TEXT for t in itertools.islice(texts.values(), done, None))
                self.counted[kind] = len(texts)
        return self.size


#: What forked build workers inherit (set in the parent just before the first fork, cleared after).
_WORK: dict[str, Any] = {}


class _KeptHtml:
    """In a build worker: the HTML of the texts its exports rendered, kept for its next export (most
    formats render the same texts: in a build without the caches, a worker's second export that
    renders, such as Canvas after QTI, took 0.2-0.5 s less CPU of ~4 s), starting from what the
    parent rendered before forking it (every Markdown text of the items but the plain sentences,
    whose HTML is written as it is asked for: :data:`itembank.render.PLAIN`; :func:`_render_ahead`).
    Let go when the worker is still past its memory margin after giving back what it freed
    (:func:`_worker_process`), so that the margin bounds a build's peak as before, and at once when
    it is larger than the margin.

    Except the parent's HTML when it is larger than the margin (a bank of tens of thousands of
    items: ~105 MB for 100,000): a worker never lets it go, and one past its margin exits instead
    (a new one starts from it again).  Until 2026-12-05 the parent let it go then, and each export
    rendered every text again; it is in a worker's memory from its start, as the loaded bank is
    (shared with the parent until touched)."""

    def __init__(self) -> None:
        self.html: dict[str, str] = {}
        #: What the parent converted ahead for several exports (:attr:`Renderer.converted`), let go
        #: with the HTML (an export then converts its texts itself, as it does alone).
        self.converted: dict[str, dict[str, str]] = {}
        #: About the memory it holds that may be let go: the HTML's characters, and ~100 bytes a
        #: text (the string objects and the table; most of the HTML is ASCII).
        self.size = 0
        #: Whether :attr:`html` holds the parent's HTML, larger than the margin: never let go in a worker.
        self.whole = False

    @staticmethod
    def added(renderer: Renderer) -> int:
        """About the memory a renderer made on :attr:`html` added to it."""
        return renderer.rendered_chars + _BYTES_A_TEXT * renderer.renders

    def took(self, renderer: Renderer) -> None:
        """Count what an export's ``renderer`` (made on :attr:`html`) added to it."""
        self.size += self.added(renderer)
        if self.size > REUSE_MARGIN:
            self.let_go()

    def inherit(self, renderer: Renderer) -> None:
        """In the parent, before forking: what ``renderer`` (made on :attr:`html`) rendered is the
        workers' start; counted as what they may let go when it fits in their margin, else never
        let go (:attr:`whole`)."""
        added = self.added(renderer)
        if added > REUSE_MARGIN:
            self.whole = True
        else:
            self.size += added

    def let_go(self) -> None:
        """In a worker: what it holds, unless it holds the parent's HTML whole."""
        if not self.whole:
            self.clear()

    def clear(self) -> None:
        self.html.clear()
        self.converted.clear()
        self.size = 0
        self.whole = False


_KEPT = _KeptHtml()


def _render_ahead(items: Sequence[AnyItem], renderer: Renderer) -> None:
    """In a build's parent, before the workers fork: the Markdown texts of ``items`` that the audit's
    preparation did not render, so that every worker starts from all of them (:class:`_KeptHtml`).
    Since plain sentences are written without the parser (:data:`itembank.render.PLAIN`), that is
    few texts (509 of 10,000 items' 149,893; the audit's preparation renders 28,514)."""
    for item in items:
        for text in markdown_texts(item):
            renderer.html(text)


def _run_job(index: int, jobs: int = 1) -> tuple[ExportResult, int]:
    """In a worker: run export ``index`` of the build with a renderer of its own, starting from the
    HTML the worker's earlier exports rendered (:class:`_KeptHtml`), over ``jobs`` processes (the
    last export of a build may take the cores the others freed: :mod:`itembank.schedule`), and write
    its output into the staging folder; the account of the export (not its bytes) and how many texts
    it rendered go back to the parent."""
    target, name = _WORK["work"][index]
    renderer = Renderer(_KEPT.html, _KEPT.converted)
    exporter = _WORK["exporters"][name]
    try:
        result = _export_one(target, exporter, _build_context(exporter, _WORK["options"], renderer, target if _WORK["cache"] else None, jobs))
    finally:
        _KEPT.took(renderer)
    _write_output(_WORK["where"][index], result, _WORK["dests"][index])
    return result, renderer.renders


#: A build worker takes another export only while its resident memory is at most this much above
#: what it was when it was forked: a worker after a few small exports (a build after an edit, whose
#: exports read most of their pieces from the fragment cache) is still as small as a new one, and
#: costs no new fork and no new copy-on-write faults on the loaded bank (~0.1-0.2 s of CPU each for
#: 10,000 items); a worker that held a large package gives its memory back by exiting.  A worker
#: starts an export at most this much above a new worker, so a build's peak is at most its largest
#: export's plus this margin.
REUSE_MARGIN = 64 << 20


def _resident() -> int | None:
    """This process's resident memory in bytes (Linux's ``/proc/self/statm``), None where unknown."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _within(start: int | None, margin: int) -> bool:
    """Whether this process's resident memory is at most ``margin`` above ``start`` (False where
    either is unknown)."""
    now = _resident()
    return start is not None and now is not None and now - start <= margin


def _worker_process(conn: Connection, first: tuple[int, int], others: list[Connection]) -> None:
    """A worker's life: export ``first`` (the export's index, the processes it may use), its outcome
    sent to the parent (an error too, raised there) with whether the worker can take another
    (:data:`REUSE_MARGIN`); then each export the parent sends, until it sends None.  ``others``: the
    parent's ends of the other workers' pipes, inherited by the fork and closed here (a worker then
    sees EOF when the parent is gone)."""
    for other in others:
        other.close()
    start = _resident()
    job: tuple[int, int] | None = first
    try:
        while job is not None:
            try:
                outcome: tuple[str, Any] = ("ok", _run_job(*job))
            except BaseException as exc:
                outcome = ("error", exc)
            # Far past the margin the worker exits at once: collecting a large export's garbage and
            # giving its memory back (a large heap to walk at 100,000 items) would be for nothing.
            # (The HTML kept is not counted here: it is let go below, not a reason to exit.)
            more = outcome[0] == "ok" and _within(start, 2 * REUSE_MARGIN + _KEPT.size)
            if more:
                gc.collect()  # what the export left in cycles, before its memory is measured
                if not _within(start, REUSE_MARGIN):
                    # Only then: memory kept is memory the next export uses without faulting it in
                    # again (new pages cost the kernel much on this machine: the workers' system CPU
                    # after a one-item edit 0.75-0.87 s when they gave it back each time, 0.64-0.77 s since).
                    give_back_memory()
                    if _KEPT.size and not _within(start, REUSE_MARGIN):
                        _KEPT.let_go()  # then the HTML kept (~37 MB for 10,000 items: the next export renders again)
                        give_back_memory()
                    more = _within(start, REUSE_MARGIN)
            try:
                conn.send((*outcome, more))
            except (pickle.PicklingError, TypeError, AttributeError):  # an error that cannot travel: its text does
                conn.send(("error", ItembankError(f"{type(outcome[1]).__name__}: {outcome[1]}"), False))
                return
            if not more:
                return
            try:
                job = conn.recv()
            except EOFError:
                return
    finally:
        conn.close()


def _export_parallel(
    work: list[tuple[Bank, str]],
    exporters: dict[str, Exporter],
    chosen: ExportOptions,
    workers: int,
    on_start: Callable[[str, str], None] | None,
    where: list[Path],
    dests: list[Path],
    cache: bool,
    costs: list[float],
    progress: BuildProgress | None = None,
    prepare: Callable[[Callable[[], None]], None] | None = None,
    early: Sequence[bool] = (),
) -> tuple[list[ExportResult], int]:
    """Every export of ``work`` in forked worker processes, each written at its ``where`` entry (in the
    staging folder; ``dests``: the same outputs of the last build, :func:`_write_output`); results
    in ``work``'s order.

    A worker is forked from this process (after loading: it starts from the loaded bank alone) when
    a slot frees and no worker waits for work; a worker takes further exports only while its memory
    stays near its start (:data:`REUSE_MARGIN`), so a build's peak is at most its largest export's
    plus that margin, not the heap that a worker's earlier exports left behind (freed, but not
    given back).

    ``prepare``: work the workers inherit (the audits' preparation, the conversions several formats share), done here before the first
    worker that needs it is forked (given the progress's ``tick``); ``early``: per export, whether
    it needs none of it.  While this process prepares, the costliest export that needs none (the
    HTML pages) already runs in a worker forked before it, which then stops (a build of 10,000
    items: the 0.6 s of preparation no longer leaves a core idle)."""
    _WORK.update(work=work, exporters=exporters, options=chosen, where=where, dests=dests, cache=cache)
    results: dict[int, ExportResult] = {}
    renders = 0
    context = multiprocessing.get_context("fork")
    running: dict[Connection, tuple[int, Any]] = {}
    idle: list[tuple[Connection, Any]] = []  # workers that wait for another export
    # The loaded bank goes to the permanent generation: the collector never walks it again, and
    # the workers' copy-on-write pages stay shared (gc.freeze's documented use before fork).
    failed = False
    with frozen():
        try:
            # Costliest first (``costs``: :func:`_job_cost` of each), so that no long export starts last
            # while the other workers idle, and last one that can share out (itembank.schedule); the
            # outputs do not depend on the order.
            shares = [bool(getattr(exporters[name], "shares_out", False)) for _target, name in work]
            pending = list(range(len(work)))
            early_worker: Connection | None = None  # forked before ``prepare``: it takes no other export
            started: dict[int, float] = {}  # when each export started (time.monotonic)
            done: list[tuple[float, float]] = []  # (expected cost, seconds) of each export that ended

            def start(index: int) -> Connection:
                """Export ``index`` in a waiting worker, else in a new one (on_start is called when a
                worker takes the export); the last one over the cores the others free, when they
                will soon be done (:func:`itembank.schedule.tail_jobs`)."""
                target, name = work[index]
                if on_start is not None:
                    on_start(name, _target_name(target))
                if progress is not None:
                    progress.started(name, _target_name(target))
                now = time.monotonic()
                others = [(costs[i], now - started[i]) for i, _process in running.values()]
                jobs = tail_jobs(costs[index], others, done, workers) if not pending and shares[index] else 1
                started[index] = now
                while idle:
                    waiting, process = idle.pop()
                    try:
                        waiting.send((index, jobs))
                        running[waiting] = (index, process)
                        return waiting
                    except OSError:  # it died while it waited: another worker takes the export
                        waiting.close()
                        process.join()
                conn, theirs = context.Pipe(duplex=True)
                process = context.Process(target=_worker_process, args=(theirs, (index, jobs), list(running)), daemon=True)
                process.start()
                theirs.close()  # the worker holds its own end: EOF here if it dies
                running[conn] = (index, process)
                return conn

            if prepare is not None:
                # The costliest export that needs none of it runs while this process prepares.
                first = max((i for i in pending if early[i]), key=lambda i: costs[i], default=None)
                if first is not None:
                    pending.remove(first)
                    early_worker = start(first)
            pending = [pending[i] for i in start_order([costs[i] for i in pending], [shares[i] for i in pending])]
            if prepare is not None:
                prepare(progress.tick if progress is not None else _no_tick)
                gc.freeze()  # what it made joins the loaded bank in the permanent generation (see frozen())
            while pending or running:
                while pending and len(running) < workers:
                    start(pending.pop(0))
                ready_ones = connection_wait(list(running), timeout=PROGRESS_TICK if progress is not None else None)
                if not ready_ones and progress is not None:
                    progress.tick()
                for ready in ready_ones:
                    assert isinstance(ready, Connection)
                    index, process = running.pop(ready)
                    done.append((costs[index], time.monotonic() - started[index]))
                    try:
                        status, value, more = ready.recv()
                    except EOFError:
                        ready.close()
                        process.join()
                        raise ItembankError(f"a worker process ended without its result (exit code {process.exitcode})") from None
                    if more and ready is not early_worker:
                        idle.append((ready, process))
                    elif more:  # (it has not what the others inherit: it stops)
                        _stop_waiting(ready, process)
                    else:
                        ready.close()
                        if status == "error":  # (a failed build leaves no worker behind)
                            process.join()
                        else:
                            _let_exit(process)
                    if status == "error":
                        raise value
                    results[index], count = value
                    renders += count
                    if progress is not None:
                        done_target, done_name = work[index]
                        progress.finished(done_name, _target_name(done_target))
        except BaseException:
            failed = True
            raise
        finally:
            for waiting, process in idle:  # done: an idle worker is told to stop, and exits
                _stop_waiting(waiting, process, failed)
            for receive, (_index, process) in running.items():  # after an error: the other workers stop
                receive.close()
                if process.is_alive():
                    process.terminate()
                process.join()
            _WORK.clear()
            _KEPT.clear()  # (what the audit's preparation rendered here, for the workers)
    return [results[i] for i in range(len(work))], renders


def _stop_waiting(waiting: Connection, process: Any, wait: bool = False) -> None:
    """Tell a worker that waits for another export to stop (it exits); ``wait``: for it to exit
    (a failed build leaves no worker behind), else it is reaped later (:func:`_let_exit`)."""
    try:
        waiting.send(None)
    except OSError:
        process.terminate()
    waiting.close()
    if wait:
        process.join()
    else:
        _let_exit(process)


def _let_exit(process: Any) -> None:
    """A worker that sent its last result and exits by itself: reaped now if it has exited, else
    later (``multiprocessing`` reaps its finished children when it starts the next one, and when
    asked for them), not waited for: a worker of a large bank takes 10-35 ms to give its memory
    back, which the build does not need (its output is written before its result is sent)."""
    process.join(timeout=0)


#: In ``<out>/assessments/``: the form folders the last builds wrote, one name a line.
FORMS_MARKER = ".itembank-forms"


def _remove_stale_forms(out_dir: Path, bank: Bank, built: list[str], assessment: str | None) -> list[Path]:
    """Remove the form folders of forms that no longer exist, and only folders a build owns: those
    listed in the marker the builds write, or named ``<an assessment of the bank>-<letter>``.
    A build of one assessment only looks at that assessment's folders."""
    folder = out_dir / ASSESSMENTS_DIR
    if not folder.is_dir():
        return []
    marker = folder / FORMS_MARKER
    listed = set(marker.read_text(encoding="utf-8").split()) if marker.is_file() else set()
    names = [assessment] if assessment is not None else list(bank.assessments)
    pattern = re.compile("(" + "|".join(re.escape(n) for n in names) + r")-[A-Z]") if names else None
    removed: list[Path] = []
    keep = set(built)
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir() or entry.name in keep:
            continue
        in_scope = assessment is None or entry.name.startswith(f"{assessment}-")
        owned = entry.name in listed or (pattern is not None and pattern.fullmatch(entry.name) is not None)
        if in_scope and owned:
            shutil.rmtree(entry)
            removed.append(entry)
    still = sorted(keep | {n for n in listed if (folder / n).is_dir()})
    write_file_atomic(marker, "".join(f"{n}\n" for n in still).encode("utf-8"))
    return removed
