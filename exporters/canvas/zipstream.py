"""Streaming the package's files into a zip in entry order, one question in memory at a time."""

from __future__ import annotations

import io
import zipfile
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import IO

from ..kit.zip import Chunked, ZipStream

# --- the package ----------------------------------------------------------------------------------
#
# The package is streamed: each question is built, serialized and dropped, and each file is written
# straight into its zip entry, so memory holds the compressed zip and one question's tree (with
# ``-j``, the bytes of a block of questions built ahead: package._Ahead), never the ~90 MB of XML a
# 10,000-question bank makes.  Entries are produced in sorted name order (the zip's
# entry order), which is also the order their contents can be known in:
#
#   g<quiz>/assessment_meta.xml      settings: computed from the bank up front
#   g<quiz>/g<quiz>.xml              the quiz: builds every question; the bank copies go to a spool
#   imsmanifest.xml                  needs every image, known once every question is built
#   non_cc_assessments/<bank>.xml.qti  copied from the spool
#   web_resources/…                  the images


class Members:
    """The files of the package, opened one at a time in sorted order: zip entries, or a folder's dict.

    A zip entry is deflated on a worker thread (``pool``): zlib-ng releases the GIL while it
    compresses, so that runs on another core while this thread builds the next questions.  Without
    a pool, in this thread (an export whose questions are built in forked processes: no process
    forks while another thread runs).
    """

    def __init__(self, zf: ZipStream | None, pool: ThreadPoolExecutor | None = None) -> None:
        self.zf = zf
        self.pool = pool
        self.files: dict[str, bytes] = {}  # the folder's files (``zf`` None)
        self._last = ""

    @contextmanager
    def open(self, name: str, chunked: Chunked | None = None) -> Iterator[IO[bytes]]:
        """A file to write; ``chunked``: a zip entry deflated in chunks (``kit.zip.Chunked``)."""
        if name <= self._last:  # a change of naming must not silently unsort the zip
            raise AssertionError(f"package file {name!r} comes after {self._last!r}: entries must be sorted")
        self._last = name
        if self.zf is None:
            buf = io.BytesIO()
            yield buf
            self.files[name] = buf.getvalue()
            return
        with self.zf.open(name, chunked) as entry:
            if self.pool is None:
                yield entry
                return
            out = BackgroundWriter(entry, self.pool)
            try:
                yield out  # type: ignore[misc]  # has the write() the writers use
            finally:
                out.drain()  # every batch is in the entry before it is closed, error or not

    def write(self, name: str, data: bytes) -> None:
        with self.open(name) as out:
            out.write(data)


class BackgroundWriter:
    """Passes what it is given to ``entry.write`` on the pool's worker, in batches and in order."""

    _BATCH = 256 * 1024
    _AHEAD = 4  # batches in flight at most: bounds the memory a slow worker can pile up

    def __init__(self, entry: IO[bytes], pool: ThreadPoolExecutor) -> None:
        self._entry = entry
        self._pool = pool
        self._parts: list[bytes] = []
        self._size = 0
        self._pending: deque[Future[int]] = deque()

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        if self._size >= self._BATCH:
            self._submit()
        return len(data)

    def _submit(self) -> None:
        if self._parts:
            batch = b"".join(self._parts)
            self._parts.clear()
            self._size = 0
            self._pending.append(self._pool.submit(self._entry.write, batch))
        while len(self._pending) > self._AHEAD:
            self._pending.popleft().result()  # re-raises the worker's error here

    def drain(self) -> None:
        self._submit()
        while self._pending:
            self._pending.popleft().result()


class ZipView(Mapping[str, bytes]):
    """The finished zip read as ``{name: bytes}`` on demand (for ``--check``), without unpacking it all."""

    def __init__(self, data: bytes) -> None:
        self._zf = zipfile.ZipFile(io.BytesIO(data))
        self._names = self._zf.namelist()

    def __getitem__(self, name: str) -> bytes:
        try:
            return self._zf.read(name)
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class BankSpool:
    """Serialized question-bank copies, by topic, until their files' turn comes.

    Every question is built while the quiz is written, but the banks' files come after the quiz in
    the zip.  Their copies wait in a temporary file (in memory while small), so neither copy of the
    questions is held in memory.
    """

    MEMORY = 4 * 1024 * 1024  # below this the spool never touches the disk (small banks, tests)
    _CHUNK = 64 * 1024  # read back at a time
    _BATCH = 256 * 1024  # gathered before each write (a fixed amount, whatever the bank's size)

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file  # a tempfile.SpooledTemporaryFile(max_size=MEMORY)
        self._ranges: dict[str | None, list[list[int]]] = {}  # topic (None: no topic) -> [start, length] runs in the file
        self._size = 0  # bytes added: where the next copy starts (counted here, not asked of the file)
        self._pending: list[bytes] = []  # added, not yet written: one write per _BATCH, not one per question
        self._pending_size = 0

    def add(self, topic: str | None, data: bytes) -> None:
        start = self._size
        self._size += len(data)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= self._BATCH:
            self._flush()
        runs = self._ranges.setdefault(topic, [])
        if runs and runs[-1][0] + runs[-1][1] == start:
            runs[-1][1] += len(data)  # consecutive questions of one topic: one run
        else:
            runs.append([start, len(data)])

    def copy(self, topic: str | None, out: IO[bytes]) -> None:
        self._flush()
        for start, length in self._ranges.get(topic, ()):
            self._file.seek(start)
            while length:
                chunk = self._file.read(min(length, self._CHUNK))
                if not chunk:
                    raise OSError("the question bank's spool ended early")
                out.write(chunk)
                length -= len(chunk)
        self._file.seek(0, io.SEEK_END)

    def _flush(self) -> None:
        if self._pending:
            self._file.write(b"".join(self._pending))
            self._pending, self._pending_size = [], 0
