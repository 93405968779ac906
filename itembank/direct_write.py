"""Writing a large output past the page cache (Linux's ``O_DIRECT``), where the system allows it.

A build writes ~215 MB of outputs for 10,000 items and reads none of them back.  Written the usual
way, each byte is first copied into the page cache, into pages the kernel takes from its free
memory; on a virtual machine whose free memory is given back to the host (virtio-balloon's free
page reporting, as on the machines itembank is measured on), each such page is first faulted in by
the host, and the copy cost ~9 ms of CPU a megabyte: 18 % of the CPU of a build after a one-item
edit (``perf``: ``copy_folio_from_iter_atomic``), ~1.4 s of it.  Written with ``O_DIRECT``, the
device reads the bytes from one small buffer of ours, reused: measured on a 35 MB file, 0.03-0.05 s
of wall and no CPU, where the copy took 0.18-0.40 s.

``O_DIRECT`` wants the buffer, the length and the file offset aligned to the device's block; the
data is copied into an aligned buffer :data:`BUFFER` bytes at a time, the last block padded with
zeros, and the file then cut to its length.  Where the system has no ``O_DIRECT`` (macOS,
Windows), or the file system refuses it (at the open or at a write: ``EINVAL``), the file is
written the usual way, from its start: the same bytes, never a partial file left behind by the
attempt.  Files under :data:`SMALLEST` bytes are written the usual way (nothing to gain).

Where the device itself is slow (a throttled cloud disk, a hard disk), waiting for it would cost
more than the copy: the first file of :data:`TIMED` bytes or more that a process writes so is timed,
and a process that wrote it slower than :data:`SLOWEST` bytes a second writes the usual way from
then on (the kernel then writes the bytes out after the command, as before).

Only for outputs: the caller makes them atomic (a build's staging folder, a temporary file renamed).
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

#: Files from this size on are written past the page cache (an HTML page of the generated bank is
#: ~280 KB; the build's largest outputs are tens of MB).
SMALLEST = 128 << 10
#: The aligned buffer the data is copied through (one per process, made when first used).
BUFFER = 1 << 20
#: The alignment asked of the buffer's length and the file's offsets: 4096 covers the block sizes
#: of the devices in use (512 and 4096 bytes); the buffer itself is page-aligned (an mmap).
BLOCK = 4096

#: A direct write of a file this large or larger is timed (once per process: the first one).
TIMED = 4 << 20
#: A device that took a timed file slower than this (bytes a second) is slower than the page cache
#: would be: the process writes the usual way from then on.  (This machine's took 35 MB in
#: 0.03-0.05 s, ~1 GB/s; the copy into the page cache, at ~9 ms a megabyte, is ~110 MB/s.)
SLOWEST = 400 << 20

_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
_buffer: mmap.mmap | None = None  # this process's own: never shared with a forked child (below)
_lock = threading.Lock()
_timed = False  # a file was timed in this process
_slow = False  # ... and the device was slower than SLOWEST


def _forget_buffer_in_child() -> None:
    """In a forked child: its own buffer (made at its first direct write) and its own lock (a lock
    some thread of the parent held at the fork stays held in the child)."""
    global _buffer, _lock
    _buffer = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_buffer_in_child)


def write_pieces(path: Path | str, pieces: Sequence[bytes | memoryview], *, fsync: bool = False) -> bool:
    """Write the pieces, one after the other, as the file ``path`` (created as ``open`` creates it,
    or truncated); ``fsync``: on the device before returning.  True when the bytes went past the
    page cache, False when they were written the usual way (the same bytes either way)."""
    views = [memoryview(p).cast("B") for p in pieces]
    total = sum(len(v) for v in views)
    if _O_DIRECT and total >= SMALLEST and not _slow:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_DIRECT, 0o666)
        except OSError:
            fd = -1  # the file system refuses O_DIRECT (another problem: the usual write reports it)
        if fd >= 0:
            try:
                with _lock:
                    timing = not _timed and total >= TIMED
                    start = time.perf_counter() if timing else 0.0
                    _write_direct(fd, views, total)
                    if timing:
                        _judge(total, time.perf_counter() - start)
                if fsync:
                    os.fsync(fd)
                return True
            except OSError:
                pass  # written again below, from its start
            finally:
                os.close(fd)
    with open(path, "wb") as fh:
        for view in views:
            fh.write(view)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return False


def _judge(size: int, seconds: float) -> None:
    """This process's device, by the first timed file: slower than :data:`SLOWEST`, no more direct writes."""
    global _timed, _slow
    _timed = True
    _slow = size < SLOWEST * seconds  # (size / seconds: bytes a second)


def _write_direct(fd: int, views: list[memoryview], total: int) -> None:
    """The views' bytes through the aligned buffer, the last block padded, the file cut to ``total``."""
    global _buffer
    if _buffer is None:
        # Private: an anonymous mapping is shared by default, and a child forked after this write
        # would copy into the same pages as its parent and its siblings (the bytes of another's file).
        # (Only where O_DIRECT exists, i.e. a Unix: MAP_PRIVATE too.)
        _buffer = mmap.mmap(-1, BUFFER, flags=mmap.MAP_PRIVATE)
    buf = _buffer
    fill = 0
    for view in views:
        while len(view):
            take = min(len(view), BUFFER - fill)
            buf[fill : fill + take] = view[:take]
            fill += take
            view = view[take:]
            if fill == BUFFER:
                _write_all(fd, buf, BUFFER)
                fill = 0
    if fill:
        padded = -(-fill // BLOCK) * BLOCK
        buf[fill:padded] = bytes(padded - fill)
        _write_all(fd, buf, padded)
    os.ftruncate(fd, total)


def _write_all(fd: int, buf: mmap.mmap, size: int) -> None:
    """The buffer's first ``size`` bytes (a multiple of :data:`BLOCK`); a short write is an error
    (what remains would be unaligned): the caller writes the file the usual way."""
    written = os.write(fd, memoryview(buf)[:size])
    if written != size:
        raise OSError(f"a direct write wrote {written} of {size} bytes")

