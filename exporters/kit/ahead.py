"""An export's per-item pieces built ahead of its writer over forked processes.

A writer that goes through the items in one order (Canvas's quiz, Moodle's categories) asks for
each item's piece (its serialized question and what building it noted, as the fragment cache keeps
it) in that order; :class:`BuiltAhead` builds them :data:`BLOCK` at a time, each block shared out
over the export's processes (``itembank.forked.shared_out``: the same pieces whatever the number,
the first share in this process), so that a single-format export uses every core while the writer
stays one sequential pass.  A piece depends on its item alone: the writer adds what it noted as it
takes it, in its own order, as it does for a piece from the fragment cache.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from itembank.forked import in_task_order, shared_out
from itembank.model import AnyItem

if TYPE_CHECKING:
    from itembank.fragments import Fragments

#: From this many pieces to build (of a block), they are built over the processes; below it a fork
#: costs more than it saves.
PARALLEL_FROM = 1000
#: The pieces built ahead at a time (a few KB each: ~25 MB wait in memory, whatever the bank's size).
BLOCK = 5000


class BuiltAhead:
    """The pieces of ``order``'s items made by ``make`` (a share of items -> their pieces, in order)
    over ``jobs`` processes, :data:`BLOCK` at a time in the order the writer asks for them; ``kept``:
    whether the fragment cache has an item's piece (it is read there, not built).  Asked for an item
    it has not built, it builds the block that starts there."""

    def __init__(self, order: Sequence[AnyItem], make: Callable[[Sequence[AnyItem]], list[bytes]], jobs: int, kept: Callable[[AnyItem], bool] | None = None) -> None:
        self.order, self.make, self.jobs, self.kept = order, make, jobs, kept
        self.position: dict[str, int] = {}
        for k, item in enumerate(order):
            self.position.setdefault(item.id, k)
        self.ready: dict[str, bytes] = {}
        self.done = 0  # the order's items before this one were built or left to the cache

    def take(self, item: AnyItem) -> bytes | None:
        """The piece of ``item`` built ahead (once); None when it is not one to build here."""
        raw = self.ready.pop(item.id, None)
        if raw is not None:
            return raw
        at = self.position.get(item.id)
        if at is None or at < self.done:
            return None
        block = list(self.order[at : at + BLOCK])
        if self.kept is not None:  # (the item asked for is built: the cache's piece of it was damaged)
            kept = self.kept
            block = [i for i in block if i is item or not kept(i)]
        jobs = self.jobs if len(block) >= PARALLEL_FROM else 1
        self.ready = dict(zip((i.id for i in block), in_task_order(shared_out(self.make, block, jobs), len(block))))
        self.done = at + BLOCK
        return self.ready.pop(item.id, None)


def worth_it(order: Sequence[AnyItem], make: Callable[[Sequence[AnyItem]], list[bytes]], jobs: int, kept: Callable[[AnyItem], bool] | None = None) -> BuiltAhead | None:
    """:class:`BuiltAhead` when there is more than one job and ``order`` holds :data:`PARALLEL_FROM`
    items or more; else None (the writer builds each piece itself, one after the other)."""
    if jobs <= 1 or len(order) < PARALLEL_FROM:
        return None
    return BuiltAhead(order, make, jobs, kept)


def kept_in(fragments: Fragments | None, *key: str) -> Callable[[AnyItem], bool] | None:
    """Whether the export's fragment cache has an item's piece kept under ``key`` (the parts after
    the item, as the export names it); None without a cache."""
    if fragments is None:
        return None
    return lambda item: fragments.has(fragments.key(item, *key))
