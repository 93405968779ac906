"""Progress lines on stderr for long work, only when a person is watching (a terminal).

One module for every command: loading a bank, a build's exports, a review import.  Each factory
returns ``None`` when the stream is not a terminal, so callers pass it on without checking.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import IO, Protocol

from .reporters import printable

#: ``progress(stage, done, total)``: ``stage`` is "rows" (workbook rows read; ``total`` 0 when the
#: sheet does not say how many it has) or "files" (item files edited and checked).
Progress = Callable[[str, int, int], None]

_STAGE_TEXT = {"rows": "reading the workbook: {done}/{total} rows", "files": "updating item files: {done}/{total}"}

#: Erase the current terminal line (after ``\r``).
CLEAR_LINE = "\r\x1b[K"


def _watched(stream: IO[str] | None) -> IO[str] | None:
    out = stream if stream is not None else sys.stderr
    return out if hasattr(out, "isatty") and out.isatty() else None


def check_progress(stream: IO[str] | None = None) -> Callable[[int, int], None] | None:
    """``progress(done, total)`` for checking a bank's files: a line per hundred files of large banks."""
    out = _watched(stream)
    if out is None:
        return None

    def report(done: int, total: int) -> None:
        if total >= 200 and (done % 100 == 0 or done == total):
            out.write(f"\rchecking {done}/{total} files" + ("\n" if done == total else ""))
            out.flush()

    return report


class BuildProgress(Protocol):
    """What a build tells about its exports as they go (``itembank.api.build``'s ``progress``):
    how many it will run, then each one's start and end (``target``: ``bank`` or a form's name), and
    a tick now and then while it waits for its workers (a line can show the time going by)."""

    def planned(self, exports: int) -> None: ...

    def started(self, fmt: str, target: str) -> None: ...

    def finished(self, fmt: str, target: str) -> None: ...

    def tick(self) -> None: ...


class TerminalBuildProgress:
    """One line rewritten in place on a terminal: how many of the build's exports are done, and each
    export under way with the seconds it has taken so far, e.g.
    ``exporting 3/9 done: qti30 (bank) 4 s, canvas (bank)`` (an export's seconds from its first; the
    line cut to the terminal's width: a line that wrapped could not be rewritten).  ``clock`` and
    ``width``: for the tests."""

    def __init__(self, out: IO[str], clock: Callable[[], float] = time.monotonic, width: Callable[[], int] | None = None) -> None:
        self.out = out
        self.clock = clock
        self.width = width or (lambda: shutil.get_terminal_size((80, 24)).columns)
        self.total = 0
        self.done = 0
        self.running: dict[tuple[str, str], float] = {}  # (format, target) -> when it started
        self.shown = ""

    def planned(self, exports: int) -> None:
        self.total = exports
        self._show()

    def started(self, fmt: str, target: str) -> None:
        self.running[(fmt, target)] = self.clock()
        self._show()

    def finished(self, fmt: str, target: str) -> None:
        self.running.pop((fmt, target), None)
        self.done += 1
        self._show()

    def tick(self) -> None:
        self._show()

    def line(self) -> str:
        """The line as it stands now (without the terminal's control characters)."""
        now = self.clock()
        # (the seconds from the first: a build in one process redraws only as exports start and end)
        under_way = ", ".join(
            f"{printable(fmt)} ({printable(target)})" + (f" {now - since:.0f} s" if now - since >= 1 else "")  # (a form's name is the bank's text)
            for (fmt, target), since in self.running.items()
        )
        text = f"exporting {self.done}/{self.total} done" + (f": {under_way}" if under_way else "")
        room = max(20, self.width() - 1)
        return text if len(text) <= room else text[: room - 3] + "..."

    def _show(self) -> None:
        text = self.line()
        if text == self.shown:
            return
        self.shown = text
        self.out.write(f"\r{text}\x1b[K")
        self.out.flush()

    def clear(self) -> None:
        """Take the line away (before the build's summary is printed)."""
        if self.shown:
            self.out.write(CLEAR_LINE)
            self.out.flush()
            self.shown = ""


def build_progress(stream: IO[str] | None = None) -> TerminalBuildProgress | None:
    """A build's progress line on ``stream`` (default stderr), or None when it is not a terminal."""
    out = _watched(stream)
    return TerminalBuildProgress(out) if out is not None else None


def stage_progress(stream: IO[str] | None = None, *, interval: float = 0.2) -> Progress | None:
    """``progress(stage, done, total)`` for staged work (a review import).

    Rewritten in place (``\r``) at most every ``interval`` seconds; each stage ends its line when done.
    """
    out = _watched(stream)
    if out is None:
        return None
    last = {"at": 0.0}

    def report(stage: str, done: int, total: int) -> None:
        finished = total > 0 and done >= total
        now = time.monotonic()
        if not finished and now - last["at"] < interval:
            return
        last["at"] = now
        text = _STAGE_TEXT.get(stage, stage + ": {done}/{total}").format(done=done, total=total or "?")
        out.write(f"\r{text}" + ("\n" if finished else ""))
        out.flush()

    return report
