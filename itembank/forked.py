"""A share of a CPU-bound pass run in a forked child process, so that a second core takes part.

``lint`` of a 10,000-item bank is about a second of pure-Python work, item after item.  A process
pool costs tens of milliseconds to start and pickles every task; a bare ``fork`` costs a few
milliseconds, the child already holds everything the parent loaded (copy-on-write), and only its
result crosses back, pickled, through a pipe.  Nothing depends on the child: when it cannot be
started, fails or is killed, :meth:`Child.result` says so and the caller does that share itself, so
the output is the same bytes whether a child ran or not (and whatever the machine's cores).

The child never writes to the parent's streams and ends with ``os._exit`` (no ``atexit`` handlers,
no flush of buffers it inherited).  No child is forked while other threads run (one of them could
hold a lock the child would then wait for forever), nor where ``fork`` does not exist.
"""

from __future__ import annotations

import os
import pickle
import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")

#: Set to ``1`` to do every share in this process (``ITEMBANK_JOBS=1``).
ENV_JOBS = "ITEMBANK_JOBS"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether a share of the work may go to a forked child: a second core, ``fork``, one thread."""
    if os.environ.get(ENV_JOBS, "").strip() == "1":
        return False
    return hasattr(os, "fork") and usable_cores() >= 2 and threading.active_count() == 1


class Child(Generic[T]):
    """``work()`` running in a forked child; :meth:`result` waits for what it returned.

    Use it as a context manager, so that the child is waited for (and killed if its result is no
    longer wanted) whatever happens in the parent meanwhile.
    """

    def __init__(self, work: Callable[[], T]) -> None:
        self._pid: int | None = None
        self._fd: int | None = None
        self._done = False
        try:
            read, write = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:  # no more processes: the parent does the work
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child
            code = 1
            try:
                os.close(read)
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent does the work again
                pass
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._fd = pid, read

    def result(self) -> tuple[bool, T | None]:
        """``(True, value)`` with what ``work()`` returned, or ``(False, None)`` when the child did not finish it."""
        if self._pid is None or self._fd is None or self._done:
            return False, None
        self._done = True
        try:
            with os.fdopen(self._fd, "rb") as inp:
                data = inp.read()  # read before waiting: a full pipe would block the child's write
        finally:
            self._fd = None
            status = self._wait()
        if status != 0:
            return False, None
        try:
            return True, pickle.loads(data)
        except Exception:  # noqa: BLE001 - a truncated result: the parent does the work again
            return False, None

    def _wait(self) -> int:
        assert self._pid is not None
        while True:
            try:
                _, status = os.waitpid(self._pid, 0)
                return os.waitstatus_to_exitcode(status)
            except InterruptedError:
                continue
            except ChildProcessError:
                return -1

    def close(self) -> None:
        """Stop a child whose result was not asked for, and wait for it (no zombie is left)."""
        if self._pid is None or self._done:
            return
        self._done = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            os.kill(self._pid, 9)
        except OSError:
            pass
        self._wait()

    def __enter__(self) -> Child[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
