"""`itembank build` with several worker processes: the same bytes as in one process, all or nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from itembank import Bank, build, load_bank
from itembank.errors import ItembankError
from itembank.formats import ExportContext, ExportResult, get_exporter

ROOT = Path(__file__).resolve().parents[1]


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("bank_dir", ["items", "tests/banks/all-types"])
@pytest.mark.parametrize("unzipped", [False, True])
def test_parallel_build_writes_the_same_bytes_as_the_sequential_one(tmp_path: Path, bank_dir: str, unzipped: bool) -> None:
    bank = load_bank(ROOT / bank_dir)
    options = {"unzipped": True} if unzipped else {}
    one = build(bank, tmp_path / "one", jobs=1, **options)
    two = build(bank, tmp_path / "two", jobs=2, **options)
    assert one.workers == 1 and two.workers == 2
    seq, par = digests(tmp_path / "one"), digests(tmp_path / "two")
    assert len(seq) > 10 and seq == par
    assert [(n, p.relative_to(tmp_path / "one")) for n, p, _ in one.outputs] == [
        (n, p.relative_to(tmp_path / "two")) for n, p, _ in two.outputs
    ]
    # the per-export accounts come back from the workers too
    assert [(r.summary(), r.skipped, r.notes) for _, _, r in one.outputs] == [(r.summary(), r.skipped, r.notes) for _, _, r in two.outputs]


class _Failing:
    """An exporter that fails inside a worker while the other worker exports."""

    name = "gift"
    description = "fails"
    default_output = "questions.gift"
    options: frozenset[str] = frozenset()

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        raise ItembankError("gift exporter broke on purpose")


class _FailingMarkdown(_Failing):
    name = "markdown"
    default_output = "print"
    build_cost = 0.01  # started last (every export here reads its output back: none runs before the others),
    shares_out = True  # as the cheapest of those that share out (itembank.schedule)


def test_a_failing_export_in_a_worker_leaves_the_output_folder_as_it_was(tmp_path: Path, monkeypatch) -> None:
    bank = load_bank(ROOT / "items")
    out = tmp_path / "dist"
    build(bank, out, formats=["json", "gift", "markdown"], jobs=1)
    before = digests(out)
    monkeypatch.setattr("itembank.api.get_exporter", lambda name: _Failing() if name == "gift" else get_exporter(name))
    with pytest.raises(ItembankError, match="broke on purpose"):
        build(bank, out, formats=["json", "gift", "markdown"], jobs=2)
    assert digests(out) == before and "bank.json" in before and "questions.gift" in before


def test_parallel_build_reports_each_export_as_a_worker_takes_it(tmp_path: Path) -> None:
    bank = load_bank(ROOT / "items")
    started: list[tuple[str, str]] = []
    written: list[str] = []
    report = build(bank, tmp_path, formats=["json", "gift"], jobs=2,
                   on_start=lambda f, t: started.append((f, t)), on_export=lambda f, p, r: written.append(f))
    assert sorted(started) == sorted((f, t) for t in ("bank", "pattern-check-A", "pattern-check-B") for f in ("json", "gift"))
    assert written == ["json", "gift"] * 3  # outputs are moved into place in the sequential order
    assert report.renders > 0


def test_workers_start_the_costliest_exports_first(tmp_path: Path) -> None:
    """With workers, the QTI packages (the costliest per item) start first and the cheapest last,
    so that no long export starts while the other worker idles; but the last to start is the
    cheapest of those that can share their items out over processes (gift, not markdown or json:
    itembank.schedule), which may then take the cores the others free.  In one process the order
    is the formats' order.  Before them all, while the parent prepares what the audits read, the
    costliest export that reads nothing back (html; json when it is the only one) starts."""
    bank = load_bank(ROOT / "tests/banks/all-types")
    started: list[str] = []
    build(bank, tmp_path / "two", jobs=2, formats=["json", "gift", "qti21", "canvas", "qti30"], on_start=lambda name, target: started.append(name))
    assert started == ["json", "qti21", "qti30", "canvas", "gift"]
    started.clear()
    build(bank, tmp_path / "none-early", jobs=2, formats=["gift", "qti21", "canvas", "qti30"], on_start=lambda name, target: started.append(name))
    assert started == ["qti21", "qti30", "canvas", "gift"]
    started.clear()
    build(bank, tmp_path / "all", jobs=2, on_start=lambda name, target: started.append(name))
    # Every format's cost as measured (itembank.formats.Exporter): moodle, without one, came after
    # gift, html and markdown, and its 9 s of a 47 s build ran alone while the other worker idled.
    assert started == ["html", "qti21", "qti30", "xlsx", "canvas", "moodle", "markdown", "json", "gift"]
    started.clear()
    build(bank, tmp_path / "one", jobs=1, formats=["json", "gift", "qti21", "canvas", "qti30"], on_start=lambda name, target: started.append(name))
    assert started == ["json", "gift", "qti21", "canvas", "qti30"]


def test_a_build_does_not_fork_while_another_thread_runs(tmp_path: Path) -> None:
    """A forked child of a threaded process may hold a lock another thread had: the build runs its
    exports in this process then, with the same bytes."""
    import threading

    bank = load_bank(ROOT / "items")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        report = build(bank, tmp_path / "threaded", jobs=2, formats=["json", "gift"])
    finally:
        stop.set()
        other.join()
    assert report.workers == 1
    alone = build(bank, tmp_path / "alone", jobs=2, formats=["json", "gift"])
    assert digests(tmp_path / "threaded") == digests(tmp_path / "alone")


def test_every_built_in_format_declares_its_measured_build_cost() -> None:
    """A format without a ``build_cost`` is scheduled as 1.0, whatever it costs: every built-in
    format has its measured costs (itembank.formats.Exporter), cold and with a warm fragment cache,
    so that a new one cannot go unmeasured."""
    from itembank.formats import registry

    for cost in ("build_cost", "cached_build_cost"):
        missing = [name for name, exporter in registry().items() if not isinstance(vars(type(exporter)).get(cost), float)]
        assert missing == [], cost


def test_a_build_after_an_edit_starts_the_exports_costliest_with_their_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fragment cache warm, the QTI packages cost little (their item files are read back)
    and the Canvas and workbook exports (their audits) the most: a build after an edit starts those
    first.  Measured: the old order left markdown running alone for 1.2 s of a 9.5 s build.  An
    export whose pack is not there (the first build, or a format never built) keeps its cold cost."""
    import shutil

    from itembank.cache import CACHE_DIR, ENV_OFF

    monkeypatch.delenv(ENV_OFF, raising=False)
    source = tmp_path / "bank"
    shutil.copytree(ROOT / "tests/banks/all-types", source, ignore=shutil.ignore_patterns(CACHE_DIR))
    started: list[str] = []
    build(load_bank(source, cache=True), tmp_path / "out", jobs=2, cache=True, formats=["json", "markdown", "qti21", "canvas", "xlsx"],
          on_start=lambda name, target: started.append(name))
    # No pack yet: the cold costs (json, which reads nothing back, while the parent prepares the
    # audits); the cheapest that shares out (canvas) last.
    assert started == ["json", "qti21", "xlsx", "markdown", "canvas"]
    item = next(source.rglob("*.yaml"))
    item.write_text(item.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # an edit (the item is read again)
    started.clear()
    build(load_bank(source, cache=True), tmp_path / "out", jobs=2, cache=True, formats=["json", "markdown", "qti21", "canvas", "xlsx", "gift"],
          on_start=lambda name, target: started.append(name))
    assert started == ["gift", "canvas", "xlsx", "markdown", "json", "qti21"]  # gift: never built, cold; qti21 last, as it shares out


def _export_processes(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """Make every export of a build write a line into ``log`` as it starts (in its worker): the
    process, the format, and how many texts' HTML the worker has at hand."""
    import os

    import itembank.api as api

    real = api._run_job

    def run(index: int, jobs: int = 1) -> object:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {api._WORK['work'][index][1]} {len(api._KEPT.html)}\n")
        return real(index, jobs)

    monkeypatch.setattr(api, "_run_job", run)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="a worker's memory is read from /proc")
def test_a_worker_whose_memory_stays_small_takes_the_next_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new worker per export costs a fork and copy-on-write faults on the whole loaded bank: a
    worker whose memory stays within ``REUSE_MARGIN`` of its start takes the next export (the small
    exports of a build after an edit), one past it exits (a large package's heap is given back).
    The same bytes either way, and the same accounts."""
    import itembank.api as api

    bank = load_bank(ROOT / "items")
    one = build(bank, tmp_path / "one", jobs=1)
    log = tmp_path / "processes"
    _export_processes(monkeypatch, log)
    trims = tmp_path / "trims"
    real_trim = api.give_back_memory
    monkeypatch.setattr(api, "give_back_memory", lambda: (trims.open("a").write("trim\n"), real_trim()))
    two = build(bank, tmp_path / "two", jobs=2)
    ran = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    # The HTML pages of the bank, which read nothing back, in a worker of their own forked before the
    # parent prepared the audits (which the others inherit); two workers took every other export.
    early = [pid for pid, name, _kept in ran if name == "html"][0]
    assert [name for pid, name, _kept in ran if pid == early] == ["html"]
    assert len(ran) == len(two.outputs) > 2 and len({pid for pid, _name, _kept in ran if pid != early}) == 2
    # A worker within the margin keeps its freed memory for the next export (no pages faulted in again).
    assert not trims.exists()
    assert digests(tmp_path / "one") == digests(tmp_path / "two")
    assert [(r.summary(), r.skipped, r.notes) for _, _, r in one.outputs] == [(r.summary(), r.skipped, r.notes) for _, _, r in two.outputs]
    log.unlink()
    # No worker stays small enough: a process for each export.  (Not -1: a worker that gave back
    # memory the fork brought along can end below its start.)
    monkeypatch.setattr(api, "REUSE_MARGIN", -(1 << 40))
    build(bank, tmp_path / "three", jobs=2)
    ran = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    assert len({pid for pid, _name, _kept in ran}) == len(ran) == len(two.outputs)
    assert digests(tmp_path / "three") == digests(tmp_path / "one")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="a worker's memory is read from /proc")
def test_an_export_failing_in_a_reused_worker_stops_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An export that fails in a worker that already ran one is raised as in a new worker; the
    build's output folder stays as it was and no worker is left behind."""
    import multiprocessing

    bank = load_bank(ROOT / "items")
    out = tmp_path / "dist"
    build(bank, out, formats=["moodle", "markdown", "gift"], jobs=1)
    before = digests(out)
    log = tmp_path / "processes"
    _export_processes(monkeypatch, log)
    monkeypatch.setattr("itembank.api.get_exporter", lambda name: _FailingMarkdown() if name == "markdown" else get_exporter(name))
    with pytest.raises(ItembankError, match="broke on purpose"):  # markdown, made the cheapest, is started last
        build(bank, out, formats=["moodle", "markdown", "gift"], jobs=2)
    ran = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    pids = [pid for pid, _name, _kept in ran]
    assert len(pids) > len(set(pids))  # a worker took a second export before the failure stopped the build
    assert digests(out) == before
    assert not multiprocessing.active_children()


def test_a_build_does_not_wait_for_its_workers_to_exit_and_leaves_none_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's output is written before it sends its result: the build returns without waiting
    for the workers to exit (tearing down a large process takes 10-35 ms), each exits by itself and
    is reaped (here: held at its exit until the build has returned, then let go)."""
    import multiprocessing
    import time

    import itembank.api as api

    bank = load_bank(ROOT / "items")
    gate = tmp_path / "gate"
    real = api._worker_process

    def held(*args: object) -> None:
        try:
            real(*args)  # type: ignore[arg-type]
        finally:
            until = time.monotonic() + 20
            while not gate.exists() and time.monotonic() < until:
                time.sleep(0.01)

    monkeypatch.setattr(api, "_worker_process", held)
    one = build(bank, tmp_path / "one", jobs=1)
    two = build(bank, tmp_path / "two", jobs=2)
    assert two.workers == 2 and any(p.is_alive() for p in multiprocessing.active_children())  # returned before they exited
    assert digests(tmp_path / "one") == digests(tmp_path / "two") and len(one.outputs) == len(two.outputs)
    gate.touch()
    until = time.monotonic() + 20
    while multiprocessing.active_children() and time.monotonic() < until:  # (active_children reaps those that exited)
        time.sleep(0.01)
    assert not multiprocessing.active_children()


def test_a_failed_build_waits_for_its_idle_workers_to_exit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that fails (an export raising in a worker that ran one before) stops its idle
    workers and waits for them: none is left when the error reaches the caller, also when a worker
    takes its time to exit (here: held 0.3 s at its exit).  Since the build stopped waiting for
    workers that exit by themselves, an idle worker could outlive the failed build
    (test_an_export_failing_in_a_reused_worker_stops_the_build failed so, now and then)."""
    import multiprocessing
    import time

    import itembank.api as api

    bank = load_bank(ROOT / "items")
    real = api._worker_process

    def slow_to_exit(*args: object) -> None:
        try:
            real(*args)  # type: ignore[arg-type]
        finally:
            time.sleep(0.3)

    monkeypatch.setattr(api, "_worker_process", slow_to_exit)
    monkeypatch.setattr("itembank.api.get_exporter", lambda name: _FailingMarkdown() if name == "markdown" else get_exporter(name))
    with pytest.raises(ItembankError, match="broke on purpose"):
        build(bank, tmp_path / "dist", formats=["moodle", "markdown", "gift"], jobs=2)
    assert not multiprocessing.active_children()


class _Dying(_FailingMarkdown):
    """An exporter whose worker process dies in the middle of it (killed, out of memory...): started
    last, in a worker that ran exports before."""

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        import os

        os._exit(9)


def _built_in_one_process(tmp_path: Path, formats: list[str]) -> tuple[Bank, Path, dict[str, str]]:
    """The example bank, its build of ``formats`` in one process into ``tmp_path/dist``, and the
    digests of that output (what a failed parallel build must leave); skipped where no worker forks."""
    from itembank.forked import fork_safe

    if not fork_safe():
        pytest.skip("the build forks no worker here")
    bank = load_bank(ROOT / "items")
    out = tmp_path / "dist"
    build(bank, out, formats=formats, jobs=1)
    return bank, out, digests(out)


def test_a_worker_that_dies_stops_the_build_with_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies without its result (here in its second or third export) is an
    ItembankError naming its exit code, not a hang or a traceback; the other workers, running or
    idle, are stopped and the output folder stays as it was."""
    import multiprocessing

    bank, out, before = _built_in_one_process(tmp_path, ["moodle", "markdown", "gift"])
    monkeypatch.setattr("itembank.api.get_exporter", lambda name: _Dying() if name == "markdown" else get_exporter(name))
    with pytest.raises(ItembankError, match=r"a worker process ended without its result \(exit code 9\)"):
        build(bank, out, formats=["moodle", "markdown", "gift"], jobs=2)
    assert digests(out) == before
    assert not multiprocessing.active_children()


def test_a_parallel_build_cuts_the_items_texts_for_the_audits_once_before_it_forks(tmp_path: Path, monkeypatch) -> None:
    """The workers each audit a format of the same items: the texts' pieces (itembank.audit._known)
    are worked out in the parent, once, for every item of every target, and inherited; not when at
    most one format of the build is read back, nor in one process (its first audit keeps them)."""
    from itembank import audit

    prepared: list[list[str]] = []
    real = audit.prepare
    monkeypatch.setattr(audit, "prepare", lambda items, renderer=None: prepared.append([i.id for i in items]) or real([]))
    bank = load_bank(ROOT / "items")
    build(bank, tmp_path / "two", jobs=2, formats=["qti21", "moodle", "json"])
    assert len(prepared) == 1 and set(prepared[0]) == {i.id for i in bank.items}
    build(bank, tmp_path / "one", jobs=2, formats=["qti21", "json"])
    build(bank, tmp_path / "seq", jobs=1, formats=["qti21", "moodle"])
    assert len(prepared) == 1


def test_the_items_texts_are_cut_with_the_cyclic_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    """audit.prepare makes millions of acyclic objects for a large bank: a full collection they set
    off walks the whole loaded bank (at 100,000 items a quarter of the serial time before the
    build's workers start); the collector is back on afterwards."""
    import gc

    from itembank import audit

    seen: list[bool] = []
    real = audit._known
    monkeypatch.setattr(audit, "_known", lambda item, renderer: seen.append(gc.isenabled()) or real(item, renderer))
    bank = load_bank(ROOT / "items")
    assert gc.isenabled()
    audit.prepare(bank.items)
    assert len(seen) == len(bank.items) and not any(seen)
    assert gc.isenabled()


def test_a_build_with_its_fragment_cache_warm_does_not_cut_every_items_texts_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After an edit, the audits read back only the items whose output changed (the others passed
    before): cutting every item's texts in the parent first was serial work for nothing (measured:
    the build after a one-item edit of 10,000 items took ~0.7 s more CPU with it).  The first build
    with the cache, whose packs are not there yet, still cuts them once."""
    import shutil

    from itembank import audit
    from itembank.cache import CACHE_DIR, ENV_OFF
    from itembank.forked import fork_safe

    if not fork_safe():
        pytest.skip("the build forks no worker here")
    monkeypatch.delenv(ENV_OFF, raising=False)
    prepared: list[int] = []
    real = audit.prepare
    monkeypatch.setattr(audit, "prepare", lambda items, renderer=None: prepared.append(len(list(items))) or real([]))
    source = tmp_path / "bank"
    shutil.copytree(ROOT / "tests/banks/all-types", source, ignore=shutil.ignore_patterns(CACHE_DIR))
    formats = ["qti21", "moodle", "json"]
    build(load_bank(source, cache=True), tmp_path / "out", jobs=2, cache=True, formats=formats)
    assert len(prepared) == 1 and prepared[0] > 0  # no pack yet: every item is read back
    item = next(source.rglob("*.yaml"))
    item.write_text(item.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # an edit
    build(load_bank(source, cache=True), tmp_path / "out", jobs=2, cache=True, formats=formats)
    assert len(prepared) == 1


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="a worker's memory is read from /proc")
def test_a_worker_renders_each_text_once_for_all_its_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most formats render the same texts: each worker starts from the HTML the parent rendered
    before forking it (the audit's preparation renders the texts with markup) and keeps what its
    exports render for its next export, so that two workers render each text at most twice, not
    once per export.  A worker past its memory margin lets go of what its exports added; a new
    worker for each export still starts from the parent's.  The same bytes every way."""
    import itembank.api as api

    def bank() -> Bank:  # loaded for each build: what the audit knows of an item is kept with it
        return load_bank(ROOT / "tests/banks/all-types")

    formats = ["qti21", "qti30", "canvas", "moodle", "gift", "html"]
    one = build(bank(), tmp_path / "one", formats=formats, jobs=1)  # one renderer for every export
    log = tmp_path / "kept"
    _export_processes(monkeypatch, log)
    two = build(bank(), tmp_path / "two", formats=formats, jobs=2)
    ran = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    firsts: dict[str, int] = {}
    for pid, _name, kept in ran:
        firsts.setdefault(pid, int(kept))
    from itembank.model import markdown_texts

    from itembank.render import PLAIN

    texts = {text for item in bank().items for text in markdown_texts(item) if not PLAIN.match(text)}  # (a plain text's HTML is not kept: render.PLAIN)
    # The HTML pages read nothing back: they ran first, alone in a worker forked before the parent
    # rendered (while it did); the other exports' two workers started from every Markdown text.
    early_pid, early_name, early_kept = ran[0]
    assert early_name == "html" and early_kept == "0" and [name for pid, name, _ in ran if pid == early_pid] == ["html"]
    del firsts[early_pid]
    assert len(firsts) == 2 and all(kept >= len(texts) for kept in firsts.values())  # the parent's: every Markdown text but the plain ones
    assert not api._KEPT.html  # the parent lets go of them after the build
    monkeypatch.setattr(api, "REUSE_MARGIN", -(1 << 40))  # a new worker for each export, none of its own HTML kept
    fresh = build(bank(), tmp_path / "fresh", formats=formats, jobs=2)
    assert one.workers == 1 and two.workers == fresh.workers == 2
    # (before 2026-12-05 a worker let go of the parent's HTML too: fresh rendered more than twice)
    assert 0 < one.renders < two.renders <= fresh.renders <= 2 * one.renders, (one.renders, two.renders, fresh.renders)
    assert digests(tmp_path / "one") == digests(tmp_path / "two") == digests(tmp_path / "fresh")


def test_a_worker_keeps_no_more_html_than_its_memory_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTML a worker keeps is counted as its exports add to it, and let go at once when it is
    larger than the worker's memory margin (a large bank: each export renders again, as before)."""
    import itembank.api as api
    from itembank.render import Renderer

    kept = api._KeptHtml()
    first = Renderer(kept.html)
    first.html("Some *text*, rendered.")
    kept.took(first)
    assert kept.html and kept.size == first.rendered_chars + 100 > 100
    second = Renderer(kept.html)
    assert second.html("Some *text*, rendered.") == first.html("Some *text*, rendered.") and second.renders == 0
    monkeypatch.setattr(api, "REUSE_MARGIN", kept.size + 50)
    second.html("Another *text*")
    kept.took(second)
    assert not kept.html and kept.size == 0
    # The parent's HTML larger than the margin: kept whole, whatever the worker's exports add.
    monkeypatch.setattr(api, "REUSE_MARGIN", 120)
    parent = Renderer(kept.html)
    parent.html("A *text* the parent rendered before forking")
    kept.inherit(parent)
    assert kept.whole and kept.size == 0
    third = Renderer(kept.html)
    third.html("A *text* an export rendered, " + "long " * 100)
    kept.took(third)
    assert kept.size > api.REUSE_MARGIN and "A *text* the parent rendered before forking" in kept.html
    kept.clear()  # (the parent, after the build)
    assert not kept.html and not kept.whole


def test_the_workers_start_from_every_text_the_parent_rendered_whatever_its_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before forking the workers, the parent renders every Markdown text of the items, and each
    worker starts from all of it, also when it is larger than a worker's memory margin (a bank of
    tens of thousands of items): it is in the worker's memory from its start, as the bank is.  It
    used to be let go then, and each export rendered every text again (for 100,000 items ~2.5 s of
    CPU each).  What a worker's exports add is still let go past the margin (here: at once, a new
    worker for each export).  The same bytes."""
    import itembank.api as api
    from itembank.model import markdown_texts
    from itembank.render import PLAIN, Renderer

    def bank() -> Bank:  # loaded for each build: what the audit knows of an item is kept with it
        return load_bank(ROOT / "tests/banks/all-types")

    items = bank().items
    texts = {text for item in items for text in markdown_texts(item) if not PLAIN.match(text)}  # (a plain text's HTML is not kept)
    everything = Renderer()
    api._render_ahead(items, everything)
    assert everything.renders == len(texts)
    formats = ["qti21", "qti30", "canvas", "moodle", "gift"]
    one = build(bank(), tmp_path / "one", formats=formats, jobs=1)
    log = tmp_path / "kept"
    _export_processes(monkeypatch, log)
    monkeypatch.setattr(api, "REUSE_MARGIN", api._KeptHtml.added(everything) // 4)  # a quarter of the parent's HTML
    two = build(bank(), tmp_path / "two", formats=formats, jobs=2)
    ran = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(ran) == len(formats) and len({pid for pid, _name, _kept in ran}) == len(formats)  # a new worker for each export
    assert all(int(kept) >= len(texts) for _pid, _name, kept in ran)
    assert two.workers == 2 and digests(tmp_path / "one") == digests(tmp_path / "two")
    assert one.renders > 0


class _FailingJson(_Failing):
    name = "json"
    default_output = "bank.json"


class _DyingJson(_FailingJson):
    export = _Dying.export  # (its process dies, as _Dying's)


@pytest.mark.parametrize("broken", [_FailingJson, _DyingJson], ids=["raises", "dies"])
def test_an_export_run_while_the_parent_prepares_stops_the_build_when_it_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: type) -> None:
    """json reads nothing back: it runs first, in a worker forked before the parent prepares what
    the audits read.  When it fails (raises, or its process dies), the build fails with its error
    once the preparation is done, the other workers are stopped, and the output stays as it was."""
    import multiprocessing

    bank, out, before = _built_in_one_process(tmp_path, ["json", "moodle", "gift"])
    started: list[str] = []
    monkeypatch.setattr("itembank.api.get_exporter", lambda name: broken() if name == "json" else get_exporter(name))
    with pytest.raises(ItembankError, match="broke on purpose" if broken is _FailingJson else r"exit code 9"):
        build(bank, out, formats=["json", "moodle", "gift"], jobs=2, on_start=lambda name, target: started.append(name))
    assert started[0] == "json"
    assert digests(out) == before
    assert not multiprocessing.active_children()


def test_the_last_export_shares_out_over_the_cores_the_others_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last export to start is one that shares out (gift, not json), and when the exports still
    running are expected to end well before it (json: an eighth of gift's cost per item), it runs
    over as many processes as the build has workers (itembank.schedule): its items really shared
    out (built in the worker and in a child it forks), the same bytes as in one process.  The others
    run over one."""
    import os

    import itembank.exporters.kit.ahead as kit_ahead
    import itembank.exporters.moodle.gift as gift
    import itembank.api as api

    bank = load_bank(ROOT / "tests/banks/all-types")
    one = build(bank, tmp_path / "one", jobs=1, formats=["json", "gift"])
    log = tmp_path / "jobs"
    real_run, real_make, real_pieces = api._run_job, kit_ahead.BuiltAhead.__init__, gift._made_pieces

    def run(index: int, jobs: int = 1) -> object:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{api._WORK['work'][index][1]} {jobs}\n")
        return real_run(index, jobs)

    def sharing(self: kit_ahead.BuiltAhead, order: object, make: object, jobs: int, kept: object = None) -> None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"shared {jobs} {os.getpid()}\n")
        real_make(self, order, make, jobs, kept)  # type: ignore[arg-type]

    def pieces(*args: object) -> object:  # (in the worker, and in its child)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"made {os.getpid()}\n")
        return real_pieces(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(api, "_run_job", run)
    monkeypatch.setattr(kit_ahead, "PARALLEL_FROM", 0)  # (the bank is small: share it out all the same)
    monkeypatch.setattr(kit_ahead.BuiltAhead, "__init__", sharing)
    monkeypatch.setattr(gift, "_made_pieces", pieces)
    two = build(bank, tmp_path / "two", jobs=2, formats=["json", "gift"])
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.split()[0] not in ("shared", "made")] == ["json 1", "gift 2"]
    shared = [line.split() for line in lines if line.startswith("shared")]
    assert [line[:2] for line in shared] == [["shared", "2"]]
    makers = {line.split()[1] for line in lines if line.startswith("made")}
    assert len(makers) == 2 and shared[0][2] in makers  # the worker's share, and its child's
    assert two.workers == 2 and digests(tmp_path / "one") == digests(tmp_path / "two")
    assert [r.summary() for _, _, r in one.outputs] == [r.summary() for _, _, r in two.outputs]


def test_a_build_of_one_export_shares_it_out_over_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One format of a bank without assessments is one export: no worker, but the export takes the
    build's jobs, as ``itembank export`` does (it ran in one process before); with ``jobs=1``, one."""
    import itembank.api as api

    bank = load_bank(ROOT / "tests/banks/all-types")
    given: list[int] = []
    real = api._export_one
    monkeypatch.setattr(api, "_export_one", lambda target, exporter, ctx: given.append(ctx.jobs) or real(target, exporter, ctx))
    two = build(bank, tmp_path / "two", jobs=2, formats=["qti21"])
    one = build(bank, tmp_path / "one", jobs=1, formats=["qti21"])
    assert given == [2, 1] and two.workers == one.workers == 1
    assert digests(tmp_path / "one") == digests(tmp_path / "two")


def test_a_format_says_whether_it_shares_out_as_it_does() -> None:
    """``shares_out`` (itembank.formats.Exporter) is what the build's schedule trusts: each built-in
    format that asks for forked processes when given ``jobs=2`` says True, the others False."""
    import importlib

    import itembank.forked as forked
    from itembank.formats import make_options, registry
    from itembank.render import Renderer

    bank = load_bank(ROOT / "tests/banks/all-types")
    modules = ["itembank.exporters.html.site", "itembank.exporters.kit.ahead", "itembank.exporters.qti.package", "itembank.exporters.xlsx.workbook"]
    with pytest.MonkeyPatch.context() as mp:
        for name in modules:
            mp.setattr(importlib.import_module(name), "PARALLEL_FROM", 0)
        asked: list[bool] = []
        mp.setattr(forked, "can_fork", lambda: asked.append(True) or False)  # asked only for jobs > 1; no fork made
        for name, exporter in registry().items():
            asked.clear()
            exporter.export(bank, ExportContext(renderer=Renderer(), options=make_options({}), tool_version="test", jobs=2))
            assert bool(asked) == vars(type(exporter)).get("shares_out"), name


def test_a_parallel_build_converts_the_texts_both_qti_versions_write_once_before_it_forks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QTI 2.1 and 3.0 write the same markup for most texts (Exporter.prepares): the parent converts
    them once, for every item of every target, and the workers of both versions take them from it;
    not when the build writes one version, nor in one process."""
    import os

    from itembank.exporters.qti import QtiExporter, writer
    from itembank.forked import fork_safe
    from itembank.render import Renderer

    if not fork_safe():
        pytest.skip("the build forks no worker here")
    calls: list[list[str]] = []
    real = QtiExporter.prepares
    monkeypatch.setattr(QtiExporter, "prepares", staticmethod(lambda items, renderer: calls.append([i.id for i in items]) or real(items, renderer)))
    parent = os.getpid()
    asked = tmp_path / "converted-in-workers.txt"
    as_is = writer._as_is

    def recorded(md: str, html: str) -> bool:  # (the writer's own conversion of a text starts here)
        if os.getpid() != parent:
            with asked.open("a", encoding="utf-8") as out:
                out.write(repr(md) + "\n")
        return as_is(md, html)

    monkeypatch.setattr(writer, "_as_is", recorded)
    bank = load_bank(ROOT / "tests/banks/all-types")
    build(bank, tmp_path / "both", jobs=2, formats=["qti21", "qti30", "json"])
    assert len(calls) == 1 and set(calls[0]) == {i.id for i in bank.items}
    ahead = Renderer()
    real(list(bank.items), ahead)
    kept = {repr(md) for md in ahead.converted[writer.BLOCKS]}
    converted = set(asked.read_text(encoding="utf-8").splitlines())
    assert kept and converted, "nothing to compare"
    assert not kept & converted, "a worker converted a text again that its parent converted ahead"
    build(bank, tmp_path / "one", jobs=2, formats=["qti21", "json"])
    build(bank, tmp_path / "seq", jobs=1, formats=["qti21", "qti30"])
    assert len(calls) == 1


def test_the_parent_converts_no_more_ahead_than_the_workers_memory_margin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every worker holds what the parent converted from its start (as it holds the loaded bank): past
    the margin the parent stops, and the exports convert the other texts themselves, to the same bytes."""
    from itembank import api
    from itembank.exporters.qti import QtiExporter
    from itembank.forked import fork_safe

    if not fork_safe():
        pytest.skip("the build forks no worker here")
    calls: list[int] = []
    real = QtiExporter.prepares
    monkeypatch.setattr(QtiExporter, "prepares", staticmethod(lambda items, renderer: calls.append(len(items)) or real(items, renderer)))
    monkeypatch.setattr(api, "_PREPARED_AT_ONCE", 1)
    bank = load_bank(ROOT / "tests/banks/all-types")
    formats = ["qti21", "qti30"]
    build(bank, tmp_path / "all", jobs=2, formats=formats)
    assert calls == [1] * len(bank.items)
    calls.clear()
    monkeypatch.setattr(api, "REUSE_MARGIN", 1)  # past it after the first item with a text converted
    build(bank, tmp_path / "some", jobs=2, formats=formats)
    assert 0 < len(calls) < len(bank.items)
    build(bank, tmp_path / "one", jobs=1, formats=formats)
    assert digests(tmp_path / "some") == digests(tmp_path / "one") == digests(tmp_path / "all")
