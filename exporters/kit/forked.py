"""Independent pieces of one export shared out over forked processes (``ExportContext.jobs``).

A forked child sees the loaded bank as it is in the parent (copy-on-write: nothing of the bank is
pickled); only what it returns travels back, pickled through a pipe.  The shares are fixed by the
task order alone, so the output never depends on how many processes ran: share ``k`` of ``n`` is
``tasks[k::n]``, share 0 runs in this process.

It is used only where it was measured to pay (the HTML export's pages), and only when the caller
asked for more than one job: forking a process that runs threads (the preview server) is unsafe,
so the library's default is one job, and the CLI's ``export -j`` sets it.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from itembank.errors import ItembankError

T = TypeVar("T")
R = TypeVar("R")


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def shared_out(work: Callable[[Sequence[T]], R], tasks: Sequence[T], jobs: int) -> list[R]:
    """``[work(tasks[0::n]), work(tasks[1::n]), ...]`` with ``n = min(jobs, len(tasks))`` shares, the
    first in this process, the others in forked children (one share, in this process, when ``jobs``
    is 1 or the platform cannot fork).  A child's error is raised here."""
    n = min(jobs, len(tasks)) if can_fork() else 1
    if n <= 1:
        return [work(tasks)]
    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Connection]] = []
    try:
        for k in range(1, n):
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(send, work, tasks[k::n]), daemon=True)
            child.start()
            send.close()  # the child holds its own end: EOF here when it dies
            children.append((child, receive))
        results = [work(tasks[0::n])]
        for child, receive in children:
            results.append(_result_of(child, receive))
        return results
    finally:
        for child, receive in children:
            receive.close()
            if child.is_alive():
                child.terminate()
            child.join()


def _child(send: Connection, work: Callable[[Sequence[Any]], Any], share: Sequence[Any]) -> None:
    try:
        outcome: tuple[str, Any] = ("ok", work(share))
    except BaseException as exc:  # sent to the parent, raised there
        outcome = ("error", exc)
    try:
        send.send(outcome)
    except (pickle.PicklingError, TypeError, AttributeError):  # an error that cannot travel: its text does
        send.send(("error", ItembankError(f"{type(outcome[1]).__name__}: {outcome[1]}")))
    finally:
        send.close()


def _result_of(child: Any, receive: Connection) -> Any:
    try:
        status, value = receive.recv()
    except EOFError:
        child.join()
        raise ItembankError(f"a worker process ended without its result (exit code {child.exitcode})") from None
    if status == "error":
        raise value
    return value
