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

Never trusted blindly: a pack is read only when it is ours (``itembank.cache``'s owner check), its
header names its scope and layout, and the digest of its records (written last) matches; anything
else is an empty cache.  A piece that an exporter cannot decode is made again
(:meth:`Fragments.cached`).  The next pack is written as the pieces are made, into a temporary file
renamed over the old pack once the export has passed its audit (an export that fails keeps the old
pack), with only the pieces this export used: it never grows past one export's pieces.  The pack is binary (length-prefixed records), never pickle: reading a
cache someone else prepared cannot run code.  ``ITEMBANK_NO_CACHE=1`` / ``--no-cache`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import weakref
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from .cache import FORMAT, _owned, cache_dir, code_fingerprint
from .model import AnyItem
from .stamps import library_stamp

T = TypeVar("T")

_MAGIC = "itembank-fragments"
#: Bumped when the layout of a pack changes.
PACK_FORMAT = 2
FRAGMENTS_DIR = "fragments"
_KEY = 16  # bytes of a piece's key
_RECORD = struct.Struct("<I")  # a value's length, after its key

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
    """Give ``item`` the digest of ``source``, which determines it: the loader knows each item as
    the hash of its file's bytes, the file and its place in the file (cheaper than :func:`item_digest`'s
    ``repr``; the code and the bank settings, which also make the model, are in every pack's scope)."""
    _keep(item, hashlib.blake2b(b"source\0" + source.encode("utf-8", "surrogatepass"), digest_size=_KEY).digest())


def digest_items(items: Iterable[AnyItem]) -> None:
    """Work out the digests of ``items`` now (before forking: the workers inherit them)."""
    for item in items:
        item_digest(item)


@cache
def _package_fingerprint(module: str) -> str:
    """The files of the package that ``module`` (an exporter's) belongs to, by size and modification
    time: its outermost package whose folder holds the module (``itembank.exporters`` when that is
    a folder of its own, as in an editable install; a plug-in's whole package)."""
    import importlib

    own = getattr(importlib.import_module(module), "__file__", None)
    h = hashlib.blake2b(digest_size=20)
    h.update(module.encode())
    if not own:
        return h.hexdigest()
    own_path = Path(own).resolve()
    files = [own_path]
    parts = module.split(".")
    for n in range(1, len(parts)):
        where = getattr(importlib.import_module(".".join(parts[:n])), "__file__", None)
        if where and Path(where).name == "__init__.py" and own_path.is_relative_to(Path(where).resolve().parent):
            # every file of it: its code, and its templates and styles (an HTML page's look)
            found = Path(where).resolve().parent.rglob("*")
            files = sorted(p for p in found if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))
            break
    for path in files:
        st = path.stat()
        h.update(f"{path.as_posix()} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


#: The libraries whose output lands in exports (beyond those of the check cache's fingerprint).
_EXPORT_LIBRARIES = ("lxml", "openpyxl", "jinja2", "markupsafe", "latex2mathml", "rapidfuzz", "simpleeval", "textstat_rs", "textstat")


def scope_of(exporter_module: str, *parts: str) -> str:
    """The scope of a pack: the code (itembank's and every file of the exporter's package), the
    libraries exports use (by their installed files' size and modification time) and ``parts``
    (format, options, target, bank settings), as one hash."""
    h = hashlib.blake2b(digest_size=20)
    libraries = library_stamp(*_EXPORT_LIBRARIES)
    h.update(f"{_MAGIC} {PACK_FORMAT}\n{code_fingerprint()}\n{_package_fingerprint(exporter_module)}\n{libraries}\n".encode())
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
        self._old: dict[bytes, bytes] | None = None
        self._new: dict[bytes, bytes] = {}  # pieces made, when they cannot be written as they come
        self._used: set[bytes] = set()
        self._writer: _PackWriter | None = None  # the next pack, written as pieces are made
        self._written: set[bytes] = set()
        self._writable: bool | None = None
        self.hits = 0
        self.misses = 0

    # --- keys and pieces ---------------------------------------------------------------------------

    @staticmethod
    def key(item: AnyItem, *extra: str) -> bytes:
        """The key of a piece of ``item`` (``extra``: what else the piece depends on, e.g. its number)."""
        if not extra:
            return item_digest(item)
        h = hashlib.blake2b(item_digest(item), digest_size=_KEY)
        for part in extra:
            h.update(b"\0" + part.encode("utf-8", "surrogatepass"))
        return h.digest()

    def get(self, key: bytes) -> bytes | None:
        if self._old is None:
            self._old = self._read()
        value = self._new.get(key)
        if value is None:
            value = self._old.get(key)
        if value is not None:
            self._used.add(key)
        return value

    def put(self, key: bytes, value: bytes) -> None:
        """Keep a piece made now: written into the next pack at once (it is not held here: a cold
        export of 10,000 items makes ~50 MB of them), or held until :meth:`save` where the pack
        cannot be written.  A piece asked for again in the same export is taken from the old pack
        or made again."""
        self._used.add(key)
        writer = self._open()
        if writer is None:
            self._new[key] = value
            return
        writer.add(key, value)
        self._written.add(key)

    def _open(self) -> _PackWriter | None:
        if self._writer is not None or self._writable is False:
            return self._writer
        self._writable = False
        try:
            if not _owned(self.top) or not _owned(self.top / f"v{FORMAT}"):
                return None  # only inside the check cache's folder (git-ignored, tagged): never a new folder in a bank
            self.folder.mkdir(exist_ok=True)
            if not _owned(self.folder):
                return None
            self._writer = _PackWriter(self.path, self.scope)
        except OSError:
            return None
        self._writable = True
        return self._writer

    def cached(self, key: bytes, make: Callable[[], T], encode: Callable[[T], bytes], decode: Callable[[bytes], T]) -> T:
        """The piece under ``key``: decoded from the pack, or made (and kept) when it is not there or
        does not decode (a damaged piece is made again, never an error)."""
        raw = self.get(key)
        if raw is not None:
            try:
                value = decode(raw)
            except Exception:  # noqa: BLE001 - any damage: the piece is made again
                self._used.discard(key)
            else:
                self.hits += 1
                return value
        self.misses += 1
        value = make()
        self.put(key, encode(value))
        return value

    # --- the pack ----------------------------------------------------------------------------------

    def _read(self) -> dict[bytes, bytes]:
        """The pack's pieces, or ``{}`` when it is missing, not ours, damaged or of another scope."""
        return read_pack(self.path, self.scope) if _owned(self.path) else {}

    def save(self) -> None:
        """Write the pieces this export used (nothing else: the pack holds one export's pieces), if
        they differ from the pack's; a cache that cannot be written is only a slower next run."""
        old = self._old if self._old is not None else {}
        if self._writer is None and not self._new and self._used == old.keys():
            return
        merged = {**old, **self._new}
        try:
            writer = self._open()
            if writer is None:
                return
            for key in sorted(self._used - self._written):
                value = merged.get(key)
                if value is not None:
                    writer.add(key, value)
            self._writer = None
            writer.finish()
        except OSError:
            self.abandon()

    def abandon(self) -> None:
        """Drop the pack being written (an export that failed keeps the old pack)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.abandon()


# --- the pack's layout: a JSON line (format, version, scope), records (key, length, value), and the
# BLAKE2b digest of the records (written last: the pack is written as a stream, never held whole) ---

_DIGEST = 20


class _PackWriter:
    """A pack being written into a temporary file beside ``path``, renamed over it when finished
    (readers see the old pack or the whole new one).  A key written twice: the last one counts."""

    def __init__(self, path: Path, scope: str) -> None:
        self.path = path
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.file = os.fdopen(fd, "wb")
        self.digest = hashlib.blake2b(digest_size=_DIGEST)
        header = {"format": _MAGIC, "version": PACK_FORMAT, "scope": scope}
        try:
            self.file.write(json.dumps(header).encode("ascii") + b"\n")
        except BaseException:
            self.abandon()
            raise

    def add(self, key: bytes, value: bytes) -> None:
        if len(key) != _KEY:
            raise ValueError(f"a piece's key is {_KEY} bytes")
        record = key + _RECORD.pack(len(value))
        self.digest.update(record)
        self.digest.update(value)
        try:
            self.file.write(record)
            self.file.write(value)
        except BaseException:
            self.abandon()
            raise

    def finish(self) -> None:
        try:
            self.file.write(self.digest.digest())
            self.file.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        self.file.close()
        Path(self.tmp).unlink(missing_ok=True)


def write_pack(path: Path, scope: str, pieces: Iterable[tuple[bytes, bytes]]) -> None:
    """Write a pack of ``pieces`` (16-byte key, value) atomically: readers see the old pack or the new one."""
    writer = _PackWriter(path, scope)
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
    """A pack's pieces, or ``{}`` when it is missing, damaged (its digest, its records) or of another scope."""
    try:
        with open(path, "rb") as fh:
            header = json.loads(fh.readline())
            data = fh.read()
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(header, dict) or header.get("format") != _MAGIC or header.get("version") != PACK_FORMAT or header.get("scope") != scope:
        return {}
    if len(data) < _DIGEST:
        return {}
    view, end = memoryview(data), len(data) - _DIGEST
    if hashlib.blake2b(view[:end], digest_size=_DIGEST).digest() != data[end:]:
        return {}
    out: dict[bytes, bytes] = {}
    at = 0
    try:
        while at < end:
            key = bytes(view[at : at + _KEY])
            (size,) = _RECORD.unpack_from(data, at + _KEY)
            at += _KEY + _RECORD.size
            if at + size > end:
                return {}
            out[key] = bytes(view[at : at + size])
            at += size
    except struct.error:
        return {}
    return out


def json_piece(value: Any) -> bytes:
    """A structured piece as bytes (JSON; for values made of str, int, float, bool, None, lists, dicts)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def from_json_piece(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8", "surrogatepass"))
