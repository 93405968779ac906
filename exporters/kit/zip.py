"""Deterministic zips: the same files give the same bytes, every time.

Every entry has a fixed date, ``rw-r--r--`` permissions and "made on Unix" (whatever the host), and
is deflated at the level its format chose.  The date is the format's: the zip epoch (1980-01-01) for
QTI and Canvas packages, 2000-01-01 for workbooks (what the xlsx export has always written).

Deflating is zlib-ng's (``zlib_ng``; the formats use its level 2), a deflater that gives the same
stream for the same data and level every time.  ISA-L, used until 2026-12-04 (2-4 times faster),
did not: in a process that had run other exports (a build's worker), fresh ISA-L compressors given
the same member alternated, for a while, between two valid streams (one had missed a match), and
about one workbook in 500 came out in other bytes with the same content; zeroing the compressor's
memory did not change it, and zlib and zlib-ng gave one stream each time in that very process
(docs/benchmarks.md, 2026-12-04; intel/isa-l#140 is open upstream).  zlib-ng 2.3.3 (in zlib-ng
1.1 on PyPI) has the fix for its own case (a stream reused after a reset, zlib-ng#2100); a
compressor here is never reused.  On the packages of 10,000 generated items level 2 deflates a
Canvas package's 100 MB of XML in 0.31 s into 15.5 MB, a QTI package's 8,305 item files in 0.50 s
into 17.6 MB and a workbook's 38 MB in 0.18 s into 8.6 MB (ISA-L: 0.13, 0.42 and 0.07 s into 16.2,
17.6 and 8.9 MB; zlib at level 1: 0.47, 0.66 and 0.27 s).  Any unzip reads it: the stream is plain
deflate.  The data is handed to the compressor in :data:`CHUNK` pieces, however it was written: an
entry streamed in writes of any size (:class:`ZipStream`) and the same data deflated at once
(:func:`deflate`) are the same bytes.  zlib-ng picks its code by the processor, so another machine
may deflate the same members into other bytes, never into other members; the fragment cache, which
keeps deflated item files, is stamped with the installed library and belongs to one machine.

A member made of many items (a Canvas quiz, a worksheet's rows, a QTI manifest) may be deflated
in *chunks* (:class:`Chunked`): cut after the item's end tag where the item's bytes say so (their
CRC-32, so the cuts follow the content, not the writes), each chunk deflated alone and ended by a
sync flush (byte-aligned, not the last block), the member ended by an empty last block.  A plain
deflate stream, as pigz writes one; a chunk's stream is the same wherever it stands, so the
fragment cache keeps each one by its content (XXH3-128 and length) and a build after a one-item
edit deflates one chunk of the quiz again, not 100 MB.  Cut or not, the same data always gives
the same bytes: the format decides, not the cache.

A member may come deflated already (:func:`deflate`, e.g. in a worker process of a shared-out
export): :func:`zip_bytes` then writes its stream as it is.  The headers are the very bytes
``zipfile`` writes for the same member (a test holds them to it, with zipfile deflating as here).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Protocol

import xxhash
import zlib_ng.zlib_ng as zlib_ng
from isal import isal_zlib

from itembank.errors import ItembankError
from itembank.fragments import Fragments

from . import pieces

#: A member's date: year, month, day, hours, minutes, seconds.
Date = tuple[int, int, int, int, int, int]

ZIP_EPOCH: Date = (1980, 1, 1, 0, 0, 0)

_VERSION = 20  # zipfile's DEFAULT_VERSION: "made by" and "needed to extract" without zip64
_PERMISSIONS = 0o644 << 16
_UNIX = 3
_UTF8_NAME = 0x800
_LIMIT = (1 << 31) - 1  # zipfile's ZIP64_LIMIT: past it zipfile writes zip64 fields (we let it)
_COUNT_LIMIT = (1 << 16) - 1


@dataclass(frozen=True)
class Deflated:
    """A member's data deflated ahead of the zip, as the zip deflates it (raw deflate stream)."""

    stream: bytes
    size: int  # of the data
    crc: int


#: The deflate levels there are (zlib-ng's): 0 (stored) and 1 (fastest) to 9 (smallest).
LEVELS = range(10)
#: How much data the compressor is given at a time (see the module's docstring).
CHUNK = 1 << 16  # (as fast as 1 MB pieces, measured on a Canvas package; what waits to be deflated stays small)


def compressor(level: int) -> zlib_ng._Compress:
    """A raw deflate compressor at ``level`` (:data:`LEVELS`), as a zip member's data is deflated:
    a new one for each stream (zlib-ng's stream is the same bytes for the same data only from a
    fresh compressor: zlib-ng#2100)."""
    if level not in LEVELS:
        raise ValueError(f"deflate level {level} is not one of 0-9")
    return zlib_ng.compressobj(level, zlib_ng.DEFLATED, -15)


class ChunkStore(Protocol):
    """Where deflated chunks are kept (an export's fragment cache): by :func:`chunk_key`."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...


@dataclass
class Chunked:
    """A member deflated in chunks: each ends after an occurrence of ``marker`` (an item's end tag)
    whose item's bytes (since the previous ``marker``) have a CRC-32 that is a multiple of
    :data:`SPREAD`, or at :data:`CHUNK_MAX` bytes; each is taken from ``store`` when it is there
    (by :func:`chunk_key`), else deflated and put there at once (the deflating may run on a thread
    beside the export's: the store takes puts from it; nothing waits in memory).  A chunk is kept as
    a piece (``kit.pieces``, after its CRC-32): a damaged one is deflated again, never used."""

    marker: bytes
    store: ChunkStore | None = None
    deflated: int = 0  # chunks deflated now
    reused: int = 0  # chunks taken from the store


#: One item in this many ends a chunk (on average): ~1-1.6 MB of a Canvas quiz's or a worksheet's
#: XML.  Each cut costs the deflater its window (~0.5 % of the size at this spread).
SPREAD = 256
#: A chunk ends here at the latest (XML without the marker: memory stays bounded).
CHUNK_MAX = 1 << 23
#: The empty last block that ends a chunked member (fixed codes, end of block: what zlib writes).
_LAST_BLOCK = b"\x03\x00"


def chunk_key(level: int, chunk: bytes | bytearray | memoryview) -> bytes:
    """A deflated chunk's key in a :class:`ChunkStore`: its data's XXH3-128 (~20 GB/s: SHA-256
    would cost half of what the cache saves), its length and the level, made a key of the fragment
    cache (:meth:`Fragments.data_key`)."""
    return Fragments.data_key(b"deflate-chunk %d %d " % (level, len(chunk)) + xxhash.xxh3_128_digest(chunk))


def deflate(data: bytes, level: int) -> Deflated:
    """``data`` deflated as a zip member at ``level``: the bytes :class:`ZipStream` writes for it."""
    return deflate_pieces((data,), level)


def deflate_pieces(pieces: Iterable[bytes], level: int, chunked: Chunked | None = None) -> Deflated:
    """The data of ``pieces``, one after the other, deflated as :func:`deflate` deflates them joined
    (the same bytes), without joining them: a member made of many pieces (a QTI manifest of 100,000
    items' resources, ~250 MB) is never a copy in memory.  ``chunked``: in chunks (:class:`Chunked`),
    as :meth:`ZipStream.open` deflates a member with the same ``chunked``."""
    stream: list[bytes] = []
    deflater = _Deflater(level, stream.append, chunked)
    for piece in pieces:
        deflater.write(piece)
    deflater.finish()
    return Deflated(b"".join(stream), deflater.size, deflater.crc)


class _Deflater:
    """A member's data deflated as it comes, handed to the compressor in :data:`CHUNK` pieces
    whatever the sizes of the writes (chunked: one :class:`Chunked` chunk at a time), each piece of
    the stream passed to ``out``: :func:`deflate` and :class:`ZipStream` both deflate through it,
    so that their streams are the same bytes."""

    def __init__(self, level: int, out: Callable[[bytes], object], chunked: Chunked | None = None) -> None:
        self._level = level
        # one compressor for the whole stream; none for a chunked one (a compressor per chunk: two
        # at a time would hold two compressors' windows)
        self._compressor = compressor(level) if chunked is None else None
        self._out = out
        self._pending = bytearray()  # the data since the last whole CHUNK (chunked: since the chunk's start)
        self.crc = self.size = self.compressed = 0
        self._chunked = chunked
        self._item = 0  # chunked: where the current item starts in _pending (after the last marker)
        self._scan = 0  # chunked: where the search for the next marker goes on

    def write(self, data: bytes) -> int:
        n = len(data)
        self.crc = isal_zlib.crc32(data, self.crc)
        self.size += n
        if self._compressor is None:
            self._pending += data
            self._cut()
            return n
        at = 0
        if self._pending:  # first fill the chunk begun
            at = CHUNK - len(self._pending)
            self._pending += data[:at]
            if len(self._pending) < CHUNK:
                return n
            self._deflated(self._compressor.compress(self._pending))
            self._pending = bytearray()
        view = memoryview(data)
        while n - at >= CHUNK:
            self._deflated(self._compressor.compress(view[at : at + CHUNK]))
            at += CHUNK
        if at < n:
            self._pending += view[at:]
        return n

    def finish(self) -> None:
        """The rest of the data deflated, and the stream ended."""
        if self._compressor is None:
            if self._pending:
                self._chunk(len(self._pending))
            self._deflated(_LAST_BLOCK)
            return
        if self._pending:
            self._deflated(self._compressor.compress(self._pending))
            self._pending = bytearray()
        self._deflated(self._compressor.flush())

    def _cut(self) -> None:
        """Deflate each whole chunk of the data held (:class:`Chunked`)."""
        assert self._chunked is not None
        marker, pending = self._chunked.marker, self._pending  # (a chunk is cut from it in place)
        while True:
            at = pending.find(marker, self._scan)
            end = at + len(marker) if at >= 0 else -1
            if 0 <= end <= CHUNK_MAX:
                if isal_zlib.crc32(memoryview(pending)[self._item : end]) % SPREAD:
                    self._item = self._scan = end  # not a cut: on to the next item
                else:
                    self._chunk(end)
            elif len(pending) >= CHUNK_MAX:
                self._chunk(CHUNK_MAX)
            else:
                self._scan = max(self._item, len(pending) - len(marker) + 1)
                return

    def _chunk(self, size: int) -> None:
        """The first ``size`` bytes held, a chunk: its stream from the store, or deflated alone."""
        assert self._chunked is not None
        chunked = self._chunked
        with memoryview(self._pending) as held, held[:size] as chunk:  # no copy of the chunk's data
            key = chunk_key(self._level, chunk)
            kept = pieces.decode(chunked.store.get(key)) if chunked.store is not None else None
            if kept is None:
                deflater = compressor(self._level)
                stream = deflater.compress(chunk) + deflater.flush(zlib_ng.Z_SYNC_FLUSH)
                chunked.deflated += 1
                if chunked.store is not None:
                    chunked.store.put(key, pieces.encode({}, stream))
            else:
                stream = kept[1]
                chunked.reused += 1
        del self._pending[:size]
        self._item = self._scan = 0
        self._deflated(stream)

    def _deflated(self, stream: bytes) -> None:
        self.compressed += len(stream)
        self._out(stream)


def zip_entry(name: str, *, level: int, date: Date = ZIP_EPOCH) -> zipfile.ZipInfo:
    """One entry's header: fixed date and permissions, deflated at ``level`` (also by ``ZipFile.open(info, "w")``)."""
    info = zipfile.ZipInfo(name, date_time=date)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = _PERMISSIONS
    info.create_system = _UNIX  # unix, whatever the host: same bytes on every OS
    # ZipFile.open(info, "w") and writestr(info, data) take the level from the ZipInfo
    # (public as compress_level from Python 3.13)
    if hasattr(info, "compress_level"):
        info.compress_level = level
    else:
        info._compresslevel = level  # type: ignore[attr-defined]
    return info


def zip_bytes(entries: Iterable[tuple[str, bytes | Deflated]], *, level: int, date: Date = ZIP_EPOCH) -> bytes:
    """A zip of ``entries`` (name, data or data deflated at ``level`` by :func:`deflate`), in the order given."""
    members = [(name, data if isinstance(data, Deflated) else deflate(data, level)) for name, data in entries]
    if sum(30 + len(name.encode()) + len(d.stream) for name, d in members) > _LIMIT or any(d.size * 1.05 > _LIMIT for _, d in members):
        # zip64 sizes and offsets (packages past 2 GB): zipfile writes them, from the data (deflated by zlib)
        return _zipfile_bytes(((name, zlib.decompress(d.stream, -15)) for name, d in members), level=level, date=date)
    dos = _dos(date)
    # The zip as a list of its pieces, joined once: the members' streams are not copied into a buffer
    # first (a package of 100,000 items is ~200 MB: each copy counts).
    chunks: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, d in members:
        encoded, flags = _encoded(name)
        header = _local_header(encoded, flags, dos, d.crc, len(d.stream), d.size)
        chunks += (header, d.stream)
        central.append(_central_record(encoded, flags, dos, d.crc, len(d.stream), d.size, offset))
        offset += len(header) + len(d.stream)
    return b"".join([*chunks, *central, *_end_records(central, offset)])


def _dos(date: Date) -> tuple[int, int]:
    """The date as a zip header holds it: (time, date) in MS-DOS form."""
    return date[3] << 11 | date[4] << 5 | (date[5] // 2), (date[0] - 1980) << 9 | date[1] << 5 | date[2]


def _encoded(name: str) -> tuple[bytes, int]:
    """A member's name as zipfile writes it, and the flag it sets for it (UTF-8 unless ASCII)."""
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME


def _local_header(encoded: bytes, flags: int, dos: tuple[int, int], crc: int, compressed: int, size: int) -> bytes:
    """A member's local header and name, as zipfile writes them (its data follows)."""
    return struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", _VERSION, 0, flags, zipfile.ZIP_DEFLATED, *dos, crc, compressed, size, len(encoded), 0) + encoded


def _central_record(encoded: bytes, flags: int, dos: tuple[int, int], crc: int, compressed: int, size: int, offset: int) -> bytes:
    """A member's record in the central directory, as zipfile writes it (``offset``: its local header's)."""
    return struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, flags, zipfile.ZIP_DEFLATED,
                       *dos, crc, compressed, size, len(encoded), 0, 0, 0, 0, _PERMISSIONS, offset) + encoded


def _end_records(central: list[bytes], start: int) -> list[bytes]:
    """The records after the central directory (``central``, written at ``start``), as zipfile writes them."""
    size = sum(len(record) for record in central)
    count = len(central)
    records = []
    if count > _COUNT_LIMIT:  # zip64 end records, as zipfile writes them
        records.append(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
        records.append(struct.pack("<4sLQL", b"PK\x06\x07", 0, start + size, 1))
        count = min(count, 0xFFFF)
    records.append(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))
    return records


class ZipStream:
    """A zip written member by member into ``out`` (a seekable binary file, at its start): the bytes
    :func:`zip_bytes` writes for the same members, whatever the sizes of the writes.

    A member is streamed (:meth:`open`: written as it comes, deflated :data:`CHUNK` at a time) or
    given whole (:meth:`write`); its header is written first and completed when the member is
    closed, as zipfile does in a seekable file.  :meth:`close` writes the central directory.  A
    member or a zip past 2 GB (which would need zip64 fields) is an :class:`ItembankError`.
    """

    def __init__(self, out: IO[bytes], *, level: int, date: Date = ZIP_EPOCH) -> None:
        compressor(level)  # a level there is, or ValueError now
        self._out, self._level, self._dos = out, level, _dos(date)
        self._base = out.tell()
        self._central: list[bytes] = []
        self._writing = False

    @contextmanager
    def open(self, name: str, chunked: Chunked | None = None) -> Iterator[IO[bytes]]:
        """A member ``name``, to write its data into; complete once the ``with`` block ends.
        ``chunked``: deflated in chunks (:class:`Chunked`)."""
        if self._writing:
            raise ValueError("a member of the zip is still being written")
        self._writing = True
        member = _Member(self, name, chunked)
        try:
            yield member  # type: ignore[misc]  # has the write() writers use
            member.finish()
        finally:
            self._writing = False

    def write(self, name: str, data: bytes) -> None:
        """A member ``name`` holding ``data``."""
        with self.open(name) as member:
            member.write(data)

    def close(self) -> None:
        """The central directory and end records, after the members."""
        if self._writing:
            raise ValueError("a member of the zip is still being written")
        start = self._out.tell() - self._base
        self._out.write(b"".join([*self._central, *_end_records(self._central, start)]))


class _Member:
    """One member of a :class:`ZipStream` being written."""

    def __init__(self, zip_: ZipStream, name: str, chunked: Chunked | None = None) -> None:
        self._zip, self._name = zip_, name
        self._encoded, self._flags = _encoded(name)
        out = zip_._out
        self._offset = out.tell() - zip_._base
        out.write(_local_header(self._encoded, self._flags, zip_._dos, 0, 0, 0))  # completed by finish()
        self._deflater = _Deflater(zip_._level, out.write, chunked)
        self.write = self._deflater.write

    def finish(self) -> None:
        """The rest of the data deflated, and the member's header completed (CRC, sizes)."""
        d = self._deflater
        d.finish()
        zip_, out = self._zip, self._zip._out
        end = out.tell()
        if d.size * 1.05 > _LIMIT or d.compressed > _LIMIT or end - zip_._base > _LIMIT:
            raise ItembankError(f"zip member {self._name!r}: the package would pass 2 GB, which a plain zip cannot hold (export fewer items at a time)")
        out.seek(zip_._base + self._offset)
        out.write(_local_header(self._encoded, self._flags, zip_._dos, d.crc, d.compressed, d.size))
        out.seek(end)
        zip_._central.append(_central_record(self._encoded, self._flags, zip_._dos, d.crc, d.compressed, d.size, self._offset))


def _zipfile_bytes(entries: Iterable[tuple[str, bytes]], *, level: int, date: Date = ZIP_EPOCH) -> bytes:
    """A zip of ``entries`` written by ``zipfile`` (deflated by zlib at ``level``), zip64 fields and all."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(zip_entry(name, level=level, date=date), data)
    return buf.getvalue()
