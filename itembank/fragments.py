"""The fragment cache: per format, each item's piece of an export, kept by content (issue 13).

An export is mostly per-item work (an item's QTI file, its Moodle question, its workbook row) put
together by a little whole-bank work (a manifest, a header, the numbering).  The per-item work is a
pure function of the item (its content, including where it was read from), the format, the
format's options, the form being exported, the bank settings and the code.  So an exporter may keep
each item's piece under the item's *digest* (:func:`item_digest`) and take it back on the next run
when nothing of that changed: after editing one item of 10,000, a build redoes one item's work per
format and puts the rest together from the cache.  The export audit (``itembank.audit``) keeps its
per-item verdict the same way, next to the pieces (an item whose own output is the same bytes as
last time, and which passed then, passes).

Where: ``<bank>/.itembank-cache/v1/fragments/<format>-<target>.pack``, one pack per format and
target (``bank`` or an assessment form), made only inside a cache folder that the check cache made
(``itembank.cache``: git-ignored, safe to delete).  Its header names its *scope*: the hash of the
code (the ``itembank`` package, the exporter's package, the libraries; see
:func:`itembank.cache.code_fingerprint`), the bank settings, the format, its options and the target.
A changed option or code is another scope: the pack is ignored, then overwritten by this export's.

Never trusted blindly: a pack is read only when it is ours (``itembank.cache``'s owner check) and
its header names its scope and layout; each of its segments' index (where its pieces are) is read
only when its CRC-32 matches (a damaged index and those after it are left out: an empty cache at
worst), and each piece only when its own CRC-32, in the index, matches (a damaged piece is made
again, as one that an exporter cannot decode: :meth:`Fragments.cached`).  So opening a pack reads
its indexes alone, and each piece is checked as an export reads it: not the whole pack once more
beforehand (375 MB over the nine formats of 10,000 items: 0.15 s of a build's CPU after an edit).  The pieces an export makes are
written as they are made, as a new segment at the end of the pack, whose head is written once the
export has passed its audit (an export that fails cuts the pack back to what it was); a pack of
another scope is replaced by a new one, written into a temporary file and renamed over it.  Pieces
no export uses any more (edited or removed items) stay until they are most of the pack, which is
then written anew with only the used ones.  The pack is binary (length-prefixed records), never
pickle: reading a cache someone else prepared cannot run code.  ``ITEMBANK_NO_CACHE=1`` /
``--no-cache`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import orjson
from isal.isal_zlib import crc32

from .cache import FORMAT, _owned, cache_dir, code_fingerprint
from .json_read import loads
from .model import AnyItem
from .stale_temps import remove_stale_temps
from .stamps import by_content, code_or_data, files_content, library_content, library_stamp

T = TypeVar("T")

_MAGIC = "itembank-fragments"
#: Bumped when the layout of a pack changes.
PACK_FORMAT = 4
FRAGMENTS_DIR = "fragments"
_KEY = 16  # bytes of a piece's key

class _Digest(weakref.ref[AnyItem]):
    """A weak reference to an item that carries the item's digest (and its own key, to leave with the item)."""

    __slots__ = ("key", "digest")
    key: int
    digest: bytes


def _gone(ref: _Digest) -> None:
    if _DIGESTS.get(ref.key) is ref:
        del _DIGESTS[ref.key]


#: id(item) -> its digest (with a weak reference to the item): an item's digest is worked out once
#: per process (a build works them out before it forks its export workers, which inherit them), and
#: forgotten when the item goes.
_DIGESTS: dict[int, _Digest] = {}


def _keep(item: AnyItem, digest: bytes) -> None:
    ref = _Digest(item, _gone)
    ref.key, ref.digest = id(item), digest
    _DIGESTS[ref.key] = ref


def item_digest(item: AnyItem) -> bytes:
    """What an item is, as one hash: its every field (the model's ``repr``: dataclasses of strings,
    numbers, tuples and nested dataclasses, printed the same way in every process), its source file
    and line included; or what the loader said of it (:func:`remember_digest`)."""
    known = _DIGESTS.get(id(item))
    if known is not None and known() is item:
        return known.digest
    digest = hashlib.blake2b(repr(item).encode("utf-8", "surrogatepass"), digest_size=_KEY).digest()
    _keep(item, digest)
    return digest


def remember_digest(item: AnyItem, source: str) -> None:
    """Give ``item`` the digest of ``source``, which determines it: the loader knows an item alone in
    its file as the hash of the file's bytes and the file, one of several as the hash of its own data,
    the file and its place in it (cheaper than :func:`item_digest`'s ``repr``; the code and the bank
    settings, which also make the model, are in every pack's scope)."""
    _keep(item, hashlib.blake2b(b"source\0" + source.encode("utf-8", "surrogatepass"), digest_size=_KEY).digest())


def digest_items(items: Iterable[AnyItem]) -> None:
    """Work out the digests of ``items`` now (before forking: the workers inherit them)."""
    for item in items:
        item_digest(item)


@cache
def _package_files(module: str) -> tuple[tuple[str, Path], ...]:
    """The files of the package that ``module`` (an exporter's) belongs to, each with its name in the
    package: its outermost package whose folder holds the module (``itembank.exporters`` when that
    is a folder of its own, as in an editable install; a plug-in's whole package)."""
    import importlib

    own = getattr(importlib.import_module(module), "__file__", None)
    if not own:
        return ()
    own_path = Path(own).resolve()
    files, top = [own_path], own_path.parent
    parts = module.split(".")
    for n in range(1, len(parts)):
        where = getattr(importlib.import_module(".".join(parts[:n])), "__file__", None)
        if where and Path(where).name == "__init__.py" and own_path.is_relative_to(Path(where).resolve().parent):
            # every file of it: its code, and its templates and styles (an HTML page's look)
            top = Path(where).resolve().parent
            files = sorted(p for p in top.rglob("*") if code_or_data(p))
            break
    return tuple((path.relative_to(top).as_posix(), path) for path in files)


@cache
def _package_fingerprint(module: str) -> str:
    """The exporter's package (:func:`_package_files`) by size and modification time (the built-in
    exporters share one package: one entry of the stamps' memo for all of them)."""
    h = hashlib.blake2b(digest_size=20)
    for name, path in _package_files(module):
        st = path.stat()
        h.update(f"{path.as_posix()} {name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _package_content(module: str) -> str:
    """The exporter's package (:func:`_package_files`) by its files' names and bytes."""
    return files_content(_package_files(module))


#: The libraries whose output lands in exports (beyond those of the check cache's fingerprint).
_EXPORT_LIBRARIES = ("lxml", "isal", "zlib_ng", "openpyxl", "jinja2", "markupsafe", "latex2mathml", "rapidfuzz", "simpleeval", "textstat_rs", "textstat")


def scope_of(exporter_module: str, *parts: str, memo: Path | None = None) -> str:
    """The scope of a pack: the code (itembank's and every file of the exporter's package), the
    libraries exports use and ``parts`` (format, options, target, bank settings), as one hash; the
    code and libraries by their bytes, looked up in ``memo`` by their stat (``itembank.stamps``;
    :func:`itembank.cache.stamps_memo`), or without a memo by their stat alone."""
    h = hashlib.blake2b(digest_size=20)
    by_stat = f"{_package_fingerprint(exporter_module)} {library_stamp(*_EXPORT_LIBRARIES)}"
    exports = by_content(by_stat, lambda: f"{_package_content(exporter_module)} {library_content(*_EXPORT_LIBRARIES)}", memo)
    h.update(f"{_MAGIC} {PACK_FORMAT}\n{code_fingerprint(memo)}\n{exporter_module}\n{exports}\n".encode())
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


class Fragments:
    """One export's pieces: read from its pack when first asked, written back by :meth:`save`."""

    def __init__(self, root: Path, name: str, scope: str) -> None:
        self.top = cache_dir(root)
        self.folder = self.top / f"v{FORMAT}" / FRAGMENTS_DIR
        self.scope = scope
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        if safe != name or len(safe) > 100:
            safe = safe[:60] + "-" + hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
        self.path = self.folder / f"{safe}.pack"
        self._old: _Pack | None = None
        self._new: dict[bytes, bytes] = {}  # pieces made, when they cannot be written as they come
        self._used: dict[bytes, None] = {}  # the keys of the pieces this export used, in the order it first did
        self._writer: _SegmentWriter | None = None  # this export's new pieces, written as they are made
        self._written: set[bytes] = set()
        self._writable: bool | None = None
        self.hits = 0
        self.misses = 0
        # put() is also called from the thread that deflates a Canvas package (exporters/kit/zip.py,
        # Chunked) while the export's thread puts its pieces: one segment writer, one at a time.
        self._lock = threading.Lock()

    def warm(self) -> bool:
        """Whether an export of this scope wrote the pack (so most pieces are likely read, not made);
        reads the pack's first line only."""
        return pack_scope(self.path) == self.scope

    # --- keys and pieces ---------------------------------------------------------------------------

    @staticmethod
    def key(item: AnyItem, *extra: str) -> bytes:
        """The key of a piece of ``item`` (``extra``: what else the piece depends on, e.g. its number)."""
        if not extra:
            return item_digest(item)
        # The digest, then each part after a NUL, hashed in one call (one update per part: 1.1 µs a
        # key, this 0.87; a build after an edit makes ~145,000 keys).
        return hashlib.blake2b(item_digest(item) + b"\0" + "\0".join(extra).encode("utf-8", "surrogatepass"), digest_size=_KEY).digest()

    @staticmethod
    def data_key(data: bytes) -> bytes:
        """The key of a piece that is no one item's (a deflated chunk of many items, a QTI test), by
        what it is made of: ``data``, which starts with what kind of piece it is."""
        return hashlib.blake2b(data, digest_size=_KEY).digest()

    def get(self, key: bytes) -> bytes | None:
        value = self._new.get(key)
        if value is None:
            value = self._pack().get(key)
        if value is not None:
            self._used[key] = None
        return value

    def has(self, key: bytes) -> bool:
        """Whether a piece is kept under ``key`` (nothing read but the pack's index; it may still turn
        out damaged when it is read)."""
        return key in self._new or key in self._pack().index

    def used(self, keys: Iterable[bytes]) -> None:
        """Count the pieces under ``keys`` as used by this export (read by a forked child, whose own
        count stays in the child): they stay in the pack when it is written anew."""
        for key in keys:
            if self.has(key):
                self._used[key] = None

    def put(self, key: bytes, value: bytes) -> None:
        """Keep a piece made now: written into the pack at once (it is not held here: a cold export
        of 10,000 items makes ~50 MB of them), or held until :meth:`save` where the pack cannot be
        written.  A piece asked for again in the same export is taken from the old pack or made again."""
        with self._lock:
            self._used[key] = None
            writer = self._open()
            if writer is None:
                self._new[key] = value
                return
            writer.add(key, value)
            self._written.add(key)

    def _open(self) -> _SegmentWriter | None:
        """The segment this export's new pieces go into: at the end of the pack when the pack is of
        this scope (its pieces stay where they are), else in a new pack (a temporary file)."""
        if self._writer is not None or self._writable is False:
            return self._writer
        self._writable = False
        try:
            if not _owned(self.top) or not _owned(self.top / f"v{FORMAT}"):
                return None  # only inside the check cache's folder (git-ignored, tagged): never a new folder in a bank
            self.folder.mkdir(exist_ok=True)
            if not _owned(self.folder):
                return None
            old = self._pack()
            self._writer = _SegmentWriter(self.path, self.scope, old.end if old.end else None, old.file)
        except OSError:
            return None
        self._writable = True
        return self._writer

    def cached(self, key: bytes, make: Callable[[], T], encode: Callable[[T], bytes], decode: Callable[[bytes], T]) -> T:
        """The piece under ``key``: decoded from the pack, or made (and kept) when it is not there or
        does not decode (a damaged piece is made again, never an error)."""
        found, value = self.lookup(key, decode)
        if found:
            return value  # type: ignore[return-value]
        value = make()
        self.put(key, encode(value))
        return value

    def lookup(self, key: bytes, decode: Callable[[bytes], T]) -> tuple[bool, T | None]:
        """A hit: (True, the piece under ``key`` decoded); a miss: (False, None) when it is not there
        or does not decode: the caller makes it (perhaps with others, in another process) and keeps
        it with :meth:`put`.  Both are counted."""
        raw = self.get(key)
        if raw is not None:
            try:
                value = decode(raw)
            except Exception:  # noqa: BLE001 - any damage: the piece is made again
                self._used.pop(key, None)
            else:
                self.hits += 1
                return True, value
        self.misses += 1
        return False, None

    # --- the pack ----------------------------------------------------------------------------------

    def _pack(self) -> _Pack:
        """The pack's pieces, opened when first asked for; none when it is missing, not ours, of
        another scope or damaged (its segments up to the first whose index is damaged when only a
        later one is; a damaged piece is found missing when it is read)."""
        if self._old is None:
            self._old = _Pack.read(self.path, self.scope) if _owned(self.path) else _Pack()
        return self._old

    def save(self) -> None:
        """Finish the segment of the pieces made by this export (the export passed its audit).  The
        pieces it did not use stay in the pack until they are most of it; then the pack is written
        anew with only the used ones.  A cache that cannot be written is only a slower next run."""
        old = self._old if self._old is not None else _Pack()
        if self._writer is None and not self._new:
            return
        try:
            writer = self._open()
            if writer is None:
                return
            if writer.fresh:  # a new pack: every piece this export used goes in (none is in the file yet)
                for key in [key for key in self._used if key not in self._written]:
                    value = self._new.get(key)
                    if value is None:
                        value = old.get(key)
                    if value is not None:
                        writer.add(key, value)
            self._writer = None
            writer.finish()
            if not writer.fresh:
                self._compact_if_stale(old, writer)
        except OSError:
            self.abandon()

    def _compact_if_stale(self, old: _Pack, writer: _SegmentWriter) -> None:
        """Write the pack anew with only the pieces this export used when those left unused (items
        edited or removed since) are more than half of it: in the order the export used them (the
        next export asks for them in about that order, and reads them ahead: :meth:`_Pack.get`)."""
        live = sum(old.size(key) for key in self._used if key not in self._written) + writer.written
        if writer.end - old.start <= 2 * live + _SLACK:
            return
        pieces = _Pack.read(self.path, self.scope)
        write_pack(self.path, self.scope, ((key, value) for key in list(self._used) if (value := pieces.get(key)) is not None))

    def abandon(self) -> None:
        """Drop the pieces being written (an export that failed keeps the old pack as it was)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abandon()


# --- the pack's layout: a JSON line (format, version, scope), then segments, each appended by one
# export: a head (magic, body length, count, CRC-32 of the index), the values, and the index (key,
# length and CRC-32 of each value, in order).  A later segment's piece wins over an earlier one under
# its key. ---

_SEGMENT = struct.Struct("<4sQII")
_SEGMENT_MAGIC = b"IBsg"
_ENTRY = struct.Struct("<16sII")
_SLACK = 1 << 20  # unused bytes a pack may carry whatever its size
_FLUSH = 1 << 22  # bytes of values gathered before each write
_WINDOW = 1 << 18  # bytes read ahead by a pack's reader (never past its valid part)


class _Pack:
    """A pack as read: where each piece stands in it, and where its valid part ends.  The file stays
    open (closed with this object) and a piece is read from it when asked for: an export's memory
    holds the pieces it uses, not the whole pack (a few hundred MB at 100,000 items).  Its valid part
    never changes while it is open: later exports only append after it, or replace the file (another
    inode, while this one still reads the old)."""

    __slots__ = ("fh", "index", "start", "end", "file", "window", "__weakref__")

    def __init__(self) -> None:
        self.fh: BinaryIO | None = None
        self.file: tuple[int, int] | None = None  # the file read: its inode and size
        self.index: dict[bytes, tuple[int, int, int]] = {}  # key -> where its piece starts, its length, its CRC-32
        self.start = 0  # where the first segment begins (after the header line)
        self.end = 0  # where the last whole, undamaged segment ends (0: no usable pack)
        self.window: tuple[int, bytes] = (0, b"")  # the bytes last read ahead, and where they start

    def get(self, key: bytes) -> bytes | None:
        """The piece under ``key``, when its bytes are those written (its CRC-32).  An export asks
        for its pieces in the order it wrote them, so a small piece comes from the bytes read ahead
        of it (:data:`_WINDOW` at a time, one system call for dozens of pieces: one call per piece
        was 8 % of a build's CPU after a one-item edit).  A piece that does not go on from the
        bytes last read (asked for out of the pack's order) is read alone; from the next one that
        goes on from there, the pack is read ahead again."""
        where = self.index.get(key)
        if where is None or self.fh is None:
            return None
        offset, length, check = where
        at, window = self.window  # one tuple, read and replaced whole: safe for a thread beside this one
        begin = offset - at
        if 0 <= begin and begin + length <= len(window):
            value = window[begin : begin + length]
        else:
            try:
                if length >= _WINDOW or not 0 <= begin <= len(window):
                    # A piece that does not go on from the bytes last read is read alone: asked for
                    # out of the pack's order, a window read for each of 8,000 pieces of a Canvas
                    # export read 2 GB of its pack to use 50 MB (0.1 s of CPU).
                    value = _read_at(self.fh, offset, length)
                    self.window = (offset, value)
                else:
                    window = _read_at(self.fh, offset, max(length, min(_WINDOW, self.end - offset)))
                    self.window = (offset, window)
                    value = window[:length]
            except OSError:
                return None
        return value if len(value) == length and crc32(value) == check else None

    def size(self, key: bytes) -> int:
        where = self.index.get(key)
        return 0 if where is None else where[1]

    @classmethod
    def read(cls, path: Path, scope: str) -> _Pack:
        pack = cls()
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed with the pack
        except OSError:
            return pack
        weakref.finalize(pack, fh.close)
        try:
            line = fh.readline(1 << 16)
            st = os.fstat(fh.fileno())
            header = json.loads(line) if line.endswith(b"\n") else None
            if not isinstance(header, dict) or header.get("format") != _MAGIC or header.get("version") != PACK_FORMAT or header.get("scope") != scope:
                return pack
            pack.fh, pack.start, pack.file = fh, len(line), (st.st_ino, st.st_size)
            pack.end = pack._segments(fh, pack.start, st.st_size)
        except (OSError, ValueError, UnicodeDecodeError):
            pack.fh, pack.index, pack.end = None, {}, 0
        return pack

    def _segments(self, fh: BinaryIO, at: int, size_of_file: int) -> int:
        """Index the segments from ``at``, up to the first one that is cut short or whose index is
        damaged (its CRC-32); where they end.  The values are not read here: each is checked by its
        own CRC-32 when it is read (:meth:`get`)."""
        while at + _SEGMENT.size <= size_of_file:
            magic, size, count, crc = _SEGMENT.unpack(_read_at(fh, at, _SEGMENT.size))
            body = at + _SEGMENT.size
            values_end = body + size - count * _ENTRY.size
            if magic != _SEGMENT_MAGIC or body + size > size_of_file or values_end < body:
                break
            entries = _read_at(fh, values_end, count * _ENTRY.size)
            if len(entries) != count * _ENTRY.size or crc32(entries) != crc:
                break
            found: dict[bytes, tuple[int, int, int]] = {}
            offset = body
            for key, length, check in _ENTRY.iter_unpack(entries):
                found[key] = (offset, length, check)
                offset += length
            if offset != values_end:
                break
            self.index.update(found)
            at = body + size
        return at


def _read_at(fh: BinaryIO, offset: int, size: int) -> bytes:
    """``size`` bytes of ``fh`` from ``offset`` (fewer at its end)."""
    if hasattr(os, "pread"):
        return os.pread(fh.fileno(), size, offset)
    fh.seek(offset)
    return fh.read(size)


class _SegmentWriter:
    """A segment being written: at the end of a pack (``append_at``: where its last whole segment
    ends; what follows is cut off, if the pack is still the file ``read``: its inode and size when
    read), or as the one segment of a new pack in a temporary file renamed
    over the old one when finished (readers see the old pack or the whole new one).  Its head is
    written last, so a reader meanwhile (or after a crash) sees a damaged last segment: one it skips."""

    def __init__(self, path: Path, scope: str, append_at: int | None = None, read: tuple[int, int] | None = None) -> None:
        self.path = path
        self.fresh = append_at is None
        self.begin: int | None = None  # where the segment starts, once this writer may write there
        self.file: BinaryIO
        remove_stale_temps(path.parent)  # (the new packs' files of runs killed while writing them)
        if append_at is None:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            self.file = os.fdopen(fd, "wb")
        else:
            self.tmp = ""
            self.file = open(path, "r+b")  # noqa: SIM115 - closed by finish or abandon
        try:
            if append_at is not None:
                _lock(self.file)
                st = os.fstat(self.file.fileno())
                if read is None or (st.st_ino, st.st_size) != read:
                    raise OSError("the pack changed since it was read (another export of it)")
            if append_at is None:
                header = {"format": _MAGIC, "version": PACK_FORMAT, "scope": scope}
                self.file.write(json.dumps(header).encode("ascii") + b"\n")
                self.begin = self.file.tell()
            else:
                self.begin = append_at
                self.file.seek(append_at)
                self.file.truncate()
            self.file.write(bytes(_SEGMENT.size))
        except BaseException:
            self.abandon()
            raise
        self.written = 0
        self.end = 0
        self.entries: list[bytes] = []
        self.pending: list[bytes] = []
        self.pending_size = 0

    def add(self, key: bytes, value: bytes) -> None:
        if len(key) != _KEY:
            raise ValueError(f"a piece's key is {_KEY} bytes")
        self.entries.append(_ENTRY.pack(key, len(value), crc32(value)))
        self.pending.append(value)
        self.pending_size += len(value)
        if self.pending_size >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        chunk = b"".join(self.pending)
        self.pending, self.pending_size = [], 0
        self.written += len(chunk)
        try:
            self.file.write(chunk)
        except BaseException:
            self.abandon()
            raise

    def finish(self) -> None:
        self._flush()
        index = b"".join(self.entries)
        size = self.written + len(index)
        begin = self.begin
        assert begin is not None  # set when the writer was made
        try:
            self.file.write(index)
            self.end = begin + _SEGMENT.size + size
            self.file.seek(begin)
            self.file.write(_SEGMENT.pack(_SEGMENT_MAGIC, size, len(self.entries), crc32(index)))
            self.file.close()
            if self.fresh:
                os.replace(self.tmp, self.path)
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        try:
            if not self.fresh and not self.file.closed and self.begin is not None:
                self.file.truncate(self.begin)
        except OSError:
            pass
        self.file.close()
        if self.fresh:
            Path(self.tmp).unlink(missing_ok=True)


def _lock(file: BinaryIO) -> None:
    """Hold the pack for this export's segment (released when the file is closed): a second export
    of the same pack at the same time (another build of the bank) gets OSError and keeps its pieces
    for this run only, instead of writing over the first one's segment."""
    try:
        import fcntl
    except ImportError:  # not on a POSIX system: an interleaved segment fails its CRC-32s and is skipped
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def write_pack(path: Path, scope: str, pieces: Iterable[tuple[bytes, bytes]]) -> None:
    """Write a pack of ``pieces`` (16-byte key, value) atomically: readers see the old pack or the new one."""
    writer = _SegmentWriter(path, scope)
    for key, value in pieces:
        writer.add(key, value)
    writer.finish()


def pack_scope(path: Path) -> str | None:
    """The scope a pack's header names (None: not a pack)."""
    try:
        with open(path, "rb") as fh:
            header = json.loads(fh.readline())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    scope = header.get("scope") if isinstance(header, dict) else None
    return scope if isinstance(scope, str) else None


def read_pack(path: Path, scope: str) -> dict[bytes, bytes]:
    """A pack's undamaged pieces (of its segments up to the first whose index is damaged), or ``{}`` when it is missing,
    not a pack or of another scope."""
    pack = _Pack.read(path, scope)
    return {key: value for key in pack.index if (value := pack.get(key)) is not None}


def json_piece(value: Any) -> bytes:
    """A structured piece as bytes (JSON; for values made of str, int, float, bool, None, lists, dicts)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def strings_piece(strings: Iterable[str]) -> bytes:
    """:func:`json_piece` of a list of texts, the same bytes, written by orjson: a Markdown export
    keeps two lists of texts per item, and ``json.dumps`` took ~0.18 s of CPU for 10,000 items where
    orjson takes 0.05-0.12 s.  orjson escapes a text as ``json.dumps(ensure_ascii=False)`` does (the
    same short escapes, other control characters as lower-case ``\\u00XX``, nothing else); a text
    it refuses (a lone surrogate, kept as :func:`json_piece` keeps it) goes to :func:`json_piece`."""
    values = list(strings)
    try:
        return orjson.dumps(values)
    except TypeError:  # (orjson.JSONEncodeError is one)
        return json_piece(values)


def from_json_piece(raw: bytes) -> Any:
    """What :func:`json_piece` wrote: ``json.loads``'s value, without its steps in Python (``itembank.json_read``)."""
    return loads(raw)
