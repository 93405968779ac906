"""How the ``itembank`` process ends: without freeing what it loaded.

A command that loaded a bank holds millions of small objects (10,000 items: the model, the check
cache's data, the rendered texts).  Python's normal shutdown frees them one by one when the work is
done: 0.18-0.20 s after a build of 10,000 items (5 % of a build after a one-item edit), ~0.04 s
after ``validate FILE`` of one of them (10 % of the pre-commit hook); 0.01-0.03 s without.  The
memory goes back to the system with the process anyway, so the console script ends the process at
once (as mypy does), after what a normal shutdown does that anyone could see: the exit handlers run (``atexit``: temporary folders, the
multiprocessing workers, coverage) and the standard streams are flushed.  Where that is not enough
(another thread still runs, a stream cannot be flushed: a closed pipe), the normal shutdown runs,
with its usual report and exit code.

What a command loaded is also kept while the command returns (:func:`keep`): a command's local
variables are freed when its function returns, before the process ends, and freeing the loaded bank
then was 0.06 s of a build after a one-item edit of 10,000 items.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

#: What :func:`keep` holds until the process ends (only once :func:`hold` was called).
_KEPT: list[object] = []
_holding = False


def hold() -> None:
    """From now on :func:`keep` holds what it is given until the process ends (the console script
    calls it; library callers and tests, whose process goes on, do not)."""
    global _holding
    _holding = True


def holding() -> bool:
    """Whether the console script runs this process (:func:`hold` was called): what is left when a
    command returns may then be left to the process's end, or to the background
    (``itembank.discard``)."""
    return _holding


def keep(*objects: object) -> None:
    """Hold ``objects`` (a loaded bank, a check's result) until the process ends, so that they are not
    freed one by one when the command that loaded them returns; nothing unless :func:`hold` was called."""
    if _holding:
        _KEPT.extend(objects)


def end_process(code: str | int | None) -> NoReturn:
    """End the process with ``code`` as ``sys.exit(code)`` does (None: 0), skipping the freeing of
    objects when ``code`` is None or an exit status (0-255)."""
    status = 0 if code is None else code
    if threading.active_count() > 1 or not isinstance(status, int) or not 0 <= status <= 255:
        sys.exit(code)  # another thread runs (a normal shutdown waits for it), or a code Python words
    atexit._run_exitfuncs()  # noqa: SLF001 - what Py_Finalize runs first (they run once: the list is then empty)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # Python reports it and exits 120: leave it to Python
        sys.exit(status)
    os._exit(status)
