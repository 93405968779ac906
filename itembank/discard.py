"""Removing the folder a build replaced: after the command, in the background, for the console script.

A build writes its outputs into a staging folder and swaps it in (``itembank.output.swap_in``); the
previous outputs, moved aside to a hidden folder beside it (``.dist.old-…``), are then removed.  For
10,000 items that is ~210 MB in ~180 files, and removing them took 0.12-0.13 s after the swap (the
file system frees their blocks and their cached pages): 3-4 % of a build after a one-item edit, spent
while the user waits, on a folder nothing reads again.  So the console script (which marks itself
with :func:`itembank.ending.hold`) leaves it to a background ``rm -rf``, started through ``sh`` (which
starts it and exits at once, so no process of ours is left to reap) with its standard streams on
``/dev/null`` (a pipe that reads the command's output ends when the command does) and none of our
other descriptors (Python's are not inheritable); it removes exactly the folder ``shutil.rmtree``
would.  A library caller or a test, whose process goes on and may look beside the output next, gets
the folder removed before the call returns, as does any system without ``/bin/sh`` and a process
that is a container's first (the orphaned ``rm`` would be its child, never reaped: ``preview``
rebuilds for hours).  If the background removal is cut short (the machine stops), a hidden
``.NAME.old-…`` folder is left beside the output, as a build that was killed after its swap left
one before: the next build into the same place removes it too, once it was moved aside at least
15 minutes before (``itembank.output.leftovers``: another build's is removed by that build), and so
the staging folder of a build killed before its swap, once the process its name gives has ended.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .ending import holding

#: The background removal: ``sh`` starts ``rm`` and exits (``$1``: the folder, never parsed by the shell).
REMOVER = ("/bin/sh", "-c", 'rm -rf -- "$1" </dev/null >/dev/null 2>&1 &', "itembank-discard")


def discard(folder: Path) -> None:
    """Remove ``folder`` (a build's replaced outputs, already moved aside): in the background in the
    console script, else now."""
    if holding() and _in_background(folder):
        return
    shutil.rmtree(folder, ignore_errors=True)


def _in_background(folder: Path) -> bool:
    """Start removing ``folder`` in the background; False if that could not be started."""
    if not os.path.isfile(REMOVER[0]) or os.getpid() == 1:
        return False  # (as a container's first process, we would inherit the rm and never reap it)
    try:
        shell = subprocess.Popen(  # noqa: S603 - a fixed command; the folder is an argument, not shell text
            [*REMOVER, os.fspath(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # (a Ctrl-C at the terminal after the command is not for it)
        )
        return shell.wait(timeout=10) == 0  # the shell ends as soon as rm is started
    except (OSError, subprocess.SubprocessError):
        return False
