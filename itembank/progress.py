"""Progress lines on stderr for long work, only when a person is watching (a terminal).

One module for every command: loading a bank, a build's exports, a review import.  Each factory
returns ``None`` when the stream is not a terminal, so callers pass it on without checking.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

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


def export_progress(stream: IO[str] | None = None) -> Callable[[str, str], None] | None:
    """``progress(format, target)``: one rewritten line naming the export under way."""
    out = _watched(stream)
    if out is None:
        return None

    def report(fmt: str, target: str) -> None:
        out.write(f"\rexporting {fmt} ({target})\x1b[K")
        out.flush()

    return report


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
