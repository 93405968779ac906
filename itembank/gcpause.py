"""One way to pause Python's cyclic garbage collector around a batch of work.

Loading, linting, importing and rendering 10,000 items make millions of small, acyclic objects that
reference counting frees.  With the collector on, each automatic collection of the oldest generation
walks everything alive again (the loaded bank included): pausing it halves some of those runs.

Resuming is the other half.  Objects made while paused pile up in the youngest generation, and the
first young collection after ``gc.enable()`` would walk them all (about 0.25 s after the HTML export
of 10,000 items).  ``gc.freeze()`` + ``gc.unfreeze()`` moves every tracked object into the oldest
generation without walking it, so that first collection is cheap.  Nothing is leaked: unfrozen
objects are collected as usual by later full collections.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside; on the way out, what was made moves to the oldest generation.

    Nested uses are fine: only the outermost one resumes the collector.  Inside a ``gc.freeze()``
    that someone else holds (a build freezes the loaded bank before its workers fork:
    :func:`frozen`), the settling step is left out so that their frozen objects stay frozen.
    Inside :func:`frozen` that is known without ``gc.get_freeze_count()``, which counts the frozen
    objects one by one (~20 ms after each export of a build of 10,000 items).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not _frozen and gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


#: How many :func:`frozen` blocks are open (in this process: a forked worker inherits its parent's).
_frozen = 0


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """Every object tracked now moves to the permanent generation (``gc.freeze()``) for the block: the
    collector no longer walks it, and forked workers' copy-on-write pages stay shared; unfrozen
    after.  :func:`gc_paused` inside leaves those objects frozen."""
    global _frozen
    gc.freeze()
    _frozen += 1
    try:
        yield
    finally:
        _frozen -= 1
        gc.unfreeze()
