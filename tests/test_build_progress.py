"""A build's progress: each export's start and end as they happen, one line rewritten on a terminal
(how many are done, which run and for how long), nothing on a pipe."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from itembank import api
from itembank.api import build, load_bank
from itembank.progress import CLEAR_LINE, TerminalBuildProgress, build_progress

ROOT = Path(__file__).resolve().parent.parent


class Recorded:
    """A BuildProgress that keeps what it heard."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.ticks = 0

    def planned(self, exports: int) -> None:
        self.events.append(("planned", str(exports)))

    def started(self, fmt: str, target: str) -> None:
        self.events.append(("started", fmt, target))

    def finished(self, fmt: str, target: str) -> None:
        self.events.append(("finished", fmt, target))

    def tick(self) -> None:
        self.ticks += 1


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_tells_each_exports_start_and_end_once(tmp_path: Path, jobs: int) -> None:
    bank = load_bank(ROOT / "items")
    heard = Recorded()
    report = build(bank, tmp_path / "out", formats=["json", "gift", "markdown"], jobs=jobs, progress=heard)
    exports = {(name, "bank" if path.parent == tmp_path / "out" else path.parent.name) for name, path, _result in report.outputs}
    assert report.forms, "the example bank's assessments give the build forms to export too"
    assert heard.events[0] == ("planned", str(len(report.outputs)))
    started = [e[1:] for e in heard.events if e[0] == "started"]
    finished = [e[1:] for e in heard.events if e[0] == "finished"]
    assert sorted(started) == sorted(finished) == sorted(exports)  # each export once, forms by their names
    for export in exports:  # an export ends after it starts
        assert heard.events.index(("started", *export)) < heard.events.index(("finished", *export))
    assert len(heard.events) == 1 + 2 * len(exports)


def test_a_parallel_build_ticks_while_it_waits_for_its_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "PROGRESS_TICK", 0.001)
    heard = Recorded()
    build(load_bank(ROOT / "items"), tmp_path / "out", formats=["qti21", "canvas"], jobs=2, progress=heard)
    assert heard.ticks > 0


def test_a_parallel_build_ticks_while_it_prepares_what_its_workers_inherit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent cuts the items' texts for the audits while the HTML pages run in a worker forked
    before (100,000 items: ~4.5 s): the line's seconds keep counting meanwhile."""
    from itembank import audit

    heard = Recorded()
    real = audit.prepare

    def prepare(items: object, renderer: object = None) -> None:
        heard.events.append(("prepare", str(heard.ticks)))
        real(items, renderer)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "prepare", prepare)
    monkeypatch.setattr(api, "PROGRESS_TICK", 0.0)
    monkeypatch.setattr(api, "_PREPARED_AT_ONCE", 2)
    build(load_bank(ROOT / "items"), tmp_path / "out", formats=["html", "qti21", "gift"], jobs=2, progress=heard)
    prepared = [int(e[1]) for e in heard.events if e[0] == "prepare"]
    assert len(prepared) > 2 and prepared == sorted(prepared) and prepared[-1] > prepared[0]  # a tick between parts
    order = [e[1] if e[0] != "prepare" else "prepare" for e in heard.events if e[0] in ("started", "prepare")]
    assert order[0] == "html" and order.index("qti21") > max(i for i, e in enumerate(order) if e == "prepare")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_says_how_many_are_done_and_what_runs_for_how_long() -> None:
    out, clock = io.StringIO(), Clock()
    line = TerminalBuildProgress(out, clock=clock, width=lambda: 200)
    line.planned(3)
    assert line.line() == "exporting 0/3 done"
    line.started("qti21", "bank")
    clock.now += 0.4
    line.started("canvas", "quiz-A")
    assert line.line() == "exporting 0/3 done: qti21 (bank), canvas (quiz-A)"  # no seconds before the first
    clock.now += 2.0
    line.tick()
    assert line.line() == "exporting 0/3 done: qti21 (bank) 2 s, canvas (quiz-A) 2 s"
    line.finished("qti21", "bank")
    assert line.line() == "exporting 1/3 done: canvas (quiz-A) 2 s"
    line.finished("canvas", "quiz-A")
    assert line.line() == "exporting 2/3 done"
    written = out.getvalue()
    # each state written once, rewriting the line: a carriage return, the text, the rest of the line erased
    assert written.split("\r")[1:] == [
        "exporting 0/3 done\x1b[K",
        "exporting 0/3 done: qti21 (bank)\x1b[K",
        "exporting 0/3 done: qti21 (bank), canvas (quiz-A)\x1b[K",
        "exporting 0/3 done: qti21 (bank) 2 s, canvas (quiz-A) 2 s\x1b[K",
        "exporting 1/3 done: canvas (quiz-A) 2 s\x1b[K",
        "exporting 2/3 done\x1b[K",
    ]
    line.tick()  # nothing changed: nothing written
    assert out.getvalue() == written
    line.clear()
    assert out.getvalue() == written + CLEAR_LINE


def test_the_line_never_wraps() -> None:
    line = TerminalBuildProgress(io.StringIO(), width=lambda: 40)
    line.planned(9)
    for fmt in ("qti21", "qti30", "canvas"):
        line.started(fmt, "a-long-assessment-name-B")
    assert len(line.line()) == 39 and line.line().endswith("...")


def test_a_names_control_characters_do_not_reach_the_terminal() -> None:
    """A form's name comes from the bank (an assessment's file name): shown escaped, as every bank
    text the CLI prints."""
    line = TerminalBuildProgress(io.StringIO(), width=lambda: 200)
    line.planned(1)
    line.started("qti21", "quiz\x1b[31m-A")
    assert "\x1b" not in line.line() and "quiz\\x1b[31m-A" in line.line()


def test_no_line_where_no_one_watches() -> None:
    assert build_progress(io.StringIO()) is None


def _build_command(out: Path) -> list[str]:
    return [str(Path(sys.executable).with_name("itembank")), "build", "--bank", str(ROOT / "items"), "-o", str(out), "--format", "json", "--format", "gift"]


def test_a_build_on_a_pipe_writes_no_progress(tmp_path: Path) -> None:
    proc = subprocess.run(_build_command(tmp_path / "out"), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "exporting" not in proc.stdout and "built " in proc.stdout


def test_a_build_on_a_terminal_shows_its_progress_and_takes_it_away(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(_build_command(tmp_path / "out"), stdout=subprocess.PIPE, stderr=secondary, text=True)
        os.close(secondary)
        secondary = -1
        seen = b""
        while True:
            ready, _, _ = select.select([primary], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the other end closed (Linux: EIO)
                break
            if not chunk:
                break
            seen += chunk
        stdout, _ = proc.communicate(timeout=60)
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    assert proc.returncode == 0
    terminal = seen.decode("utf-8")
    exports = len([line for line in stdout.splitlines() if line.startswith(("json:", "gift:"))])  # one line each
    assert exports >= 4  # the bank's and its forms' (the example bank has an assessment)
    assert f"\rexporting 0/{exports} done" in terminal
    assert f"\rexporting {exports}/{exports} done\x1b[K" in terminal
    assert terminal.endswith(CLEAR_LINE)  # taken away before the summary
    assert "exporting" not in stdout
