"""A share of a CPU-bound pass run in a forked child process, so that a second core takes part.

``lint`` of a 10,000-item bank is about a second of pure-Python work, item after item.  A process
pool costs tens of milliseconds to start and pickles every task; a bare ``fork`` costs a few
milliseconds, the child already holds everything the parent loaded (copy-on-write), and only its
results cross back, as frames: the bytes go into an unnamed temporary file, and a header (where
and how long) through a pipe, ended by an end mark.  A pipe alone holds 64 KB: a child sending
megabytes would wait, blocked, until the parent reads, which it does only when it has finished its
own share (measured: blocked for most of its run).  Nothing depends on the child: when it cannot be started, fails or is killed, its frames stop
short and the caller does the rest itself, so the output is the same bytes whether a child ran or
not (and whatever the machine's cores).

The child never writes to the parent's streams and ends with ``os._exit`` (no ``atexit`` handlers,
no flush of buffers it inherited).  No child is forked while other threads run (one of them could
hold a lock the child would then wait for forever), nor where ``fork`` does not exist.  A child
whose frames all arrived is not waited for at once (tearing down its copy of a large process
takes 5-35 ms): it is reaped later, at the latest when this process exits.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import IO, Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

#: Set to ``1`` to do every share in this process (``ITEMBANK_JOBS=1``).
ENV_JOBS = "ITEMBANK_JOBS"
#: A frame's header in the pipe: where its bytes start in the data file, and their length + 1 (0: the end).
_HEADER = struct.Struct("<QQ")
#: Children whose results are in but that may not have exited yet (reaped without blocking, or at exit).
_unreaped: list[int] = []


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def give_back_memory() -> None:
    """Give the C allocator's free memory back to the system (glibc's ``malloc_trim``; nothing where
    there is none).  Freed memory stays in the process otherwise, and a forked child counts it as
    its own (copy-on-write pages are resident in both)."""
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


def fork_safe() -> bool:
    """Whether this process may fork a worker: ``fork`` exists, one thread runs, not macOS (where a
    forked child of a process that loaded system frameworks may crash; Python's own default start
    method there is spawn), and ``ITEMBANK_JOBS`` is not 1."""
    if os.environ.get(ENV_JOBS, "").strip() == "1":
        return False
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    return threading.active_count() == 1


def can_fork() -> bool:
    """Whether a share of the work may go to a forked child: :func:`fork_safe`, and a second core."""
    return fork_safe() and usable_cores() >= 2


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _reap(block: bool) -> None:
    for pid in list(_unreaped):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        except InterruptedError:
            continue
        if done:
            _unreaped.remove(pid)


atexit.register(_reap, True)


class Child(Generic[T]):
    """``work()`` running in a forked child; :meth:`result` gives what it returned (pickled across).

    :meth:`streaming` starts a child that sends several frames of bytes as it goes (:meth:`frames`).
    Use it as a context manager, so that the child is waited for (and killed if its results are no
    longer wanted) whatever happens in the parent meanwhile.
    """

    def __init__(self, work: Callable[[], T]) -> None:
        self._start(None, work)

    @staticmethod
    def streaming(work: Callable[[Callable[[bytes], None]], None]) -> Child[bytes]:
        """A child running ``work(send)``, where each ``send(data)`` is one frame for :meth:`frames`."""
        child: Child[bytes] = object.__new__(Child)
        child._start(work)
        return child

    def _start(self, body: Callable[[Callable[[bytes], None]], None] | None, value: Callable[[], object] | None = None) -> None:
        """Fork a child that runs ``body(send)``, or that sends what ``value()`` returns as one frame,
        pickled straight into the data file (never whole in memory, neither here nor there: the
        pages of an HTML export of 100,000 items are ~400 MB)."""
        self._pid: int | None = None
        self._fd: int | None = None  # the pipe: frame headers
        self._data: IO[bytes] | None = None  # the frames' bytes
        self.complete = False  # every frame arrived, with the end mark
        _reap(block=False)
        try:
            data = tempfile.TemporaryFile(prefix="itembank-child-")
        except OSError:
            return
        try:
            read, write = os.pipe()
        except OSError:
            data.close()
            return
        try:
            pid = os.fork()
        except OSError:  # no more processes: the parent does the work
            os.close(read)
            os.close(write)
            data.close()
            return
        if pid == 0:  # the child
            code = 1
            try:
                os.close(read)
                fd, offset = data.fileno(), 0

                def send(payload: bytes) -> None:
                    nonlocal offset
                    done = 0
                    while done < len(payload):
                        done += os.pwrite(fd, memoryview(payload)[done:], offset + done)
                    _write_all(write, _HEADER.pack(offset, len(payload) + 1))
                    offset += len(payload)

                if value is not None:
                    _write_all(write, _HEADER.pack(0, _dump(fd, value()) + 1))
                else:
                    assert body is not None
                    body(send)
                _write_all(write, _HEADER.pack(0, 0))  # the end mark: everything was sent
                code = 0
            except BaseException:  # noqa: BLE001 - the parent does the rest itself
                pass
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._fd, self._data = pid, read, data

    def _read(self, n: int) -> bytes | None:
        assert self._fd is not None
        parts = []
        while n:
            try:
                chunk = os.read(self._fd, n)
            except InterruptedError:
                continue
            if not chunk:
                return None  # the child ended before sending it all
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def frames(self) -> Iterator[bytes]:
        """The frames the child sends, as they come; :attr:`complete` tells whether all came."""
        if self._fd is None or self._data is None:
            return
        try:
            while True:
                header = self._read(_HEADER.size)
                if header is None:
                    return
                offset, size = _HEADER.unpack(header)
                if size == 0:
                    self.complete = True
                    return
                parts, at, left = [], offset, size - 1
                while left:
                    chunk = os.pread(self._data.fileno(), left, at)
                    if not chunk:
                        return  # cannot happen: the child wrote the bytes before the header
                    parts.append(chunk)
                    at += len(chunk)
                    left -= len(chunk)
                yield b"".join(parts)
        finally:
            self.close()

    def result(self) -> tuple[bool, T | None]:
        """``(True, value)`` with what ``work()`` returned, or ``(False, None)`` when the child did not finish it.

        The value is unpickled from the data file as it is read, not from a copy of its bytes."""
        if self._fd is None or self._data is None:
            return False, None
        try:
            first, end = self._read(_HEADER.size), self._read(_HEADER.size)
            if first is None or end is None:
                return False, None
            (offset, size), mark = _HEADER.unpack(first), _HEADER.unpack(end)
            if size == 0 or mark != (0, 0):
                return False, None  # not one frame, then the end mark
            self.complete = True
            try:
                self._data.seek(offset)  # the child has written everything: the file's position is ours
                return True, pickle.load(self._data)
            except Exception:  # noqa: BLE001 - cannot happen with a complete frame; the parent does the work
                return False, None
        finally:
            self.close()

    def close(self) -> None:
        """Stop reading; a child that has not sent everything is stopped.  No zombie is left behind."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._data is not None:
            self._data.close()
            self._data = None
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        if not self.complete:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _unreaped.append(pid)
        _reap(block=not self.complete)

    def __enter__(self) -> Child[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_pid", None) is not None or getattr(self, "_fd", None) is not None or getattr(self, "_data", None) is not None:
            self.close()


def _dump(fd: int, value: object) -> int:
    """Pickle ``value`` into the file ``fd`` from its start, as it is pickled; its size."""
    with os.fdopen(os.dup(fd), "wb") as out:
        out.seek(0)
        pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        return out.tell()


def shared_out(work: Callable[[Sequence[T]], R], tasks: Sequence[T], jobs: int) -> list[R]:
    """``[work(tasks[0::n]), work(tasks[1::n]), ...]`` for ``n = min(jobs, len(tasks))`` shares: the
    first in this process, the others in forked children meanwhile (one share, here, when ``jobs`` is
    1 or :func:`can_fork` says no).  The shares are fixed by the task order alone, so the results do
    not depend on how many processes ran; a child that fails or dies has its share done here.

    An error is the one a single process would raise: when a share raises, the tasks are run again
    here, in their order, up to the first that fails (its error is raised; a share's error only if
    that run does not fail).  So of two items that cannot be exported, the error names the first,
    whichever share each was in."""
    n = min(jobs, len(tasks)) if jobs > 1 and can_fork() else 1
    if n <= 1:
        return [work(tasks)]
    children = [Child(partial(work, tasks[k::n])) for k in range(1, n)]
    try:
        results = [work(tasks[0::n])]
        for k, child in enumerate(children, 1):
            ok, value = child.result()
            results.append(cast(R, value) if ok else work(tasks[k::n]))  # failed or died: done here
        return results
    except Exception:
        for child in children:  # (before the tasks run again: their cores are free)
            child.close()
        try:
            work(tasks)
        except Exception as first:
            raise first from None
        raise
    finally:
        for child in children:
            child.close()


def in_task_order(shares: Sequence[Sequence[R]], count: int) -> list[R]:
    """The results of :func:`shared_out`'s shares of ``count`` tasks, where each share's ``work``
    gave one result per task, back in the tasks' order (task k is in share k mod n: share j is
    ``tasks[j::n]``)."""
    n = len(shares)
    return [shares[k % n][k // n] for k in range(count)]
