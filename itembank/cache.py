"""The incremental check cache: per item file, its bytes' hash -> what checking it found (issue 13).

Checking a file is a pure function of its bytes, its kind (YAML or JSON), the bank settings, the
schemas and the code -- except for the images it names, whose existence is the file system's.  So
the per-file part of ``validate`` (read, parse, schema, item rules, YAML traps, the located findings,
which entries load as items and their data) is kept under a hash of the bytes, and reused when the
same bytes come back.  What involves other files is never kept as a verdict: duplicate ids, and
everything about assessments and locks, are worked out again on every run from the per-file
results; the image checks a file made (exists? inside the bank? first spelling of that name in the
bank?) are replayed against the file system and the bank's order, and a file whose answers differ
is checked again.

Where: ``<bank>/.itembank-cache/`` (a ``.gitignore`` of ``*`` and a ``CACHEDIR.TAG`` inside), safe
to delete at any time (``itembank cache clear``).  In its ``v1/`` (the layout's version):

- ``checks.json``: per hash, the findings (without the file name: a display path depends on the
  working folder), the ids the duplicate check sees, which entries load, and the image checks;
- ``items/??.json``: per hash, the data of the entries that load (what the model is built from), read
  only by commands that need the items (``build``, ``export``, ``lint``, ``validate`` of a bank);
  256 shards by the hash's first two hex digits, so that one edit rewrites one small shard;
- ``stamps.json``: what the code and the libraries are by their bytes, per set of their files'
  sizes and times (``itembank.stamps``).

Never trusted blindly: a pack is used only when its header names the same *fingerprint* -- tool
version, the code of the ``itembank`` package and the schemas, the installed parsing and validating
libraries (each by its bytes, looked up by its files' sizes and times: the same code installed or
checked out again keeps the cache), Python's version and the bank settings (``itembank.yaml`` as read) -- and the checksum of its body matches; anything else (missing, truncated, corrupt, another
version, written by another user) is an empty cache that this run fills again, never an error.
The format is JSON, not pickle: reading a cache someone else prepared can at worst give wrong
findings, never run code; packs in a cache folder owned by another user are not read at all.
Writes are atomic (a temporary file renamed over the old one, without ``fsync``: a pack lost in a
crash is only a cold run).

``ITEMBANK_NO_CACHE=1`` (or the commands' ``--no-cache``) turns it off.  The library's
``check_bank``/``load_bank`` use it only when asked (``cache=True``); the CLI asks by default.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable

import orjson
from isal import isal_zlib

from . import __version__
from .model import BankConfig
from .problems import Problem
from .rules import RuleContext
from .schema import schema_dir
from .sources import Document, read_bytes, read_document
from .stale_temps import remove_stale_temps
from .stamps import by_content, files_content, library_content, library_stamp

CACHE_DIR = ".itembank-cache"
#: Set (to anything but ``0`` or empty) to check without the cache.
ENV_OFF = "ITEMBANK_NO_CACHE"
#: Bumped when the layout of the packs changes.
FORMAT = 1
_MAGIC = "itembank-check-cache"
_CHECKS = "checks.json"
_STAMPS = "stamps.json"  # what the code is by its bytes, per stat fingerprint (itembank.stamps)
_ITEMS = "items"  # a folder of shards, <first two hex digits of the key>.json: one edit rewrites one
#: A file is known by its ``stat`` only if its change time lay this long before the run (ns).
SETTLED_NS = 2_000_000_000
#: A run over given files leaves the checks pack unwritten when it learnt no more than this (see CheckCache.save).
FEW_NEW = 16
#: On Windows ``st_ctime`` is the creation time, which a rewrite does not move: files are always hashed.
_STAT_SHORTCUT = os.name != "nt"
#: The libraries whose behaviour is part of a file's findings.
_LIBRARIES = ("yaml_rs", "jsonschema_rs", "jsonschema", "pyromark", "yaml")


def disabled_by_env() -> bool:
    return os.environ.get(ENV_OFF, "") not in ("", "0")


@dataclass
class FileCheck:
    """What checking one file found: its own findings, and what the bank-wide rules need from it."""

    problems: list[Problem] = field(default_factory=list)
    #: (entry index, id) of the entries that take part in the duplicate id check, in file order.
    ids: list[tuple[int | None, str]] = field(default_factory=list)
    #: The entries that load as items (no error), in file order, and their data (``None``: not read).
    loaded: list[int | None] = field(default_factory=list)
    raws: list[Any] | None = None
    #: The file's text, or its bytes (a cache hit), for locating a finding found later.
    text: str | None = None
    source: bytes | None = None
    path: Path | None = None
    #: The cache's key of the file (the hash of its bytes), when the cache checked it.
    key: str | None = None

    def source_text(self) -> str:
        if self.text is None and self.source is None and self.path is not None:
            self.source, _ = read_bytes(self.path, str(self.path))  # a cache hit known by its stat
        if self.text is None and self.source is not None:
            self.text = self.source.decode("utf-8-sig", "replace")  # it decoded when it was checked
        return self.text or ""


class LoggingRuleContext(RuleContext):
    """A rule context that writes down the image checks the rules make (replayed on a cache hit)."""

    def __init__(self, root: Path, config: BankConfig) -> None:
        super().__init__(root, config)
        self.image_log: list[tuple[str, str | None]] = []

    def image_status(self, ref: str) -> str | None:
        status = super().image_status(ref)
        self.image_log.append((ref, status))
        return status


def code_fingerprint(memo: Path | None = None) -> str:
    """Tool version, the itembank package's code and schemas, the libraries' installed files, Python's:
    by their bytes (``itembank.stamps``), looked up in ``memo`` (:func:`stamps_memo`) by their sizes
    and modification times; without a memo, by those alone."""
    return by_content(_code_by_stat(), _code_by_content, memo)


def stamps_memo(root: Path) -> Path | None:
    """Where a bank's cache remembers what the code is by its bytes (``itembank.stamps.by_content``):
    in the check cache's folder of this layout, when it is there and ours; else None."""
    folder = cache_dir(root) / f"v{FORMAT}"
    return folder / _STAMPS if _owned(cache_dir(root)) and _owned(folder) else None


def _code_files() -> list[tuple[str, Path]]:
    package = Path(__file__).resolve().parent
    files = sorted(package.rglob("*.py")) + sorted(schema_dir().glob("*.json"))
    return [(path.relative_to(package).as_posix() if path.is_relative_to(package) else path.name, path) for path in files]


@cache
def _code_by_stat() -> str:
    """The code as :func:`code_fingerprint` names it, by size and modification time: reading ~70 files
    each run cost 20 ms; a ``stat`` each is what a run pays when nothing changed."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{_MAGIC} {FORMAT} {__version__} {sys.version}\n".encode())
    h.update(f"{library_stamp(*_LIBRARIES)}\n".encode())
    for name, path in _code_files():  # known by size and modification time, as Python's own .pyc files know them
        st = path.stat()
        h.update(f"{name} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@cache
def _code_by_content() -> str:
    """The code as :func:`code_fingerprint` names it, by its bytes (the libraries by their install records)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{_MAGIC} {FORMAT} content {__version__} {sys.version}\n".encode())
    h.update(f"{library_content(*_LIBRARIES)}\n{files_content(_code_files())}\n".encode())
    return h.hexdigest()


def cache_dir(root: Path) -> Path:
    return root / CACHE_DIR


def clear(root: Path) -> bool:
    """Remove a bank's cache folder; whether there was one."""
    folder = cache_dir(root)
    if folder.is_symlink():
        folder.unlink()
        return True
    if not folder.is_dir():
        return False
    shutil.rmtree(folder)
    return True


def _owned(path: Path) -> bool:
    """Whether ``path`` (a folder or file of the cache) is ours: not a link, owned by this user."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    if stat.S_ISLNK(st.st_mode):
        return False
    return getuid is None or st.st_uid == getuid()


def _read_pack(path: Path, fingerprint: str) -> dict[str, Any]:
    """A pack's entries, or ``{}`` when it is missing, not ours, corrupt or for another fingerprint."""
    if not _owned(path):
        return {}
    try:
        with open(path, "rb") as fh:
            header = json.loads(fh.readline())
            body = fh.read()
        if (
            not isinstance(header, dict)
            or header.get("format") != _MAGIC
            or header.get("version") != FORMAT
            or header.get("fingerprint") != fingerprint
            or header.get("crc32") != _body_check(body)
        ):
            return {}
        entries = json.loads(body)  # (validate.check_paths, the only caller, keeps the cyclic GC off)
        return entries if isinstance(entries, dict) else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def _body_check(body: bytes) -> int:
    """What tells a pack's body damaged (cut short, a byte changed on the disk): its CRC-32, as a zip
    checks its members; by ISA-L, ~20 GB/s (a BLAKE2b hash of the 28 MB of a 10,000-item bank's packs
    took ~30 ms of each load).  Not a digest: a pack is written by this tool into a folder of its own,
    not taken from elsewhere."""
    return isal_zlib.crc32(body)


def _write_pack(path: Path, fingerprint: str, entries: dict[str, Any]) -> None:
    """Write a pack atomically: readers see the old pack or the whole new one."""
    _write_body(path, fingerprint, _pack_body(entries))


def _pack_body(entries: Any) -> bytes:
    """A pack's body (or a file's items data in it: :func:`raws_json`): ``entries`` as compact JSON,
    by orjson (the checks pack of 10,000 files: ~3 ms against ~30 ms for ``json.dumps``, which was
    half of saving the cache after a one-item edit).  What orjson refuses (an integer past 64 bits,
    a text with a lone surrogate: a file name that is not UTF-8) is written by ``json.dumps``;
    either is read back by ``json.loads`` to the same data.  (The checks pack holds no floats; the
    items data's are finite, which orjson writes as their shortest digits: see :func:`raws_json`.)"""
    try:
        return orjson.dumps(entries)
    except TypeError:  # (orjson.JSONEncodeError is one)
        return json.dumps(entries, separators=(",", ":")).encode("ascii")  # ensure_ascii: the faster C path


def _write_body(path: Path, fingerprint: str, body: bytes) -> None:
    """Write a pack whose body (a JSON object) is ``body``, atomically."""
    header = {"format": _MAGIC, "version": FORMAT, "fingerprint": fingerprint, "crc32": _body_check(body)}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps(header).encode("ascii") + b"\n")
            fh.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_key(path: Path, rel: str, raw: bytes) -> str:
    """A file's key in the cache: the hash of its bytes and of whether it is read as JSON."""
    kind = f"{int(path.suffix.lower() == '.json')}{int(rel.lower().endswith('.json'))}"
    return hashlib.blake2b(kind.encode() + raw, digest_size=20).hexdigest()


@dataclass
class CheckedElsewhere:
    """A file checked by another process (a forked child of a run whose cache is empty): its key, its
    size, what checking it found, the image checks its rules made and its items' data as JSON text."""

    key: str
    size: int
    check: FileCheck
    images: list[tuple[str, str | None]]
    raws_json: str


def raws_json(raws: list[Any] | None) -> str:
    """A file's items' data as the cache keeps it: JSON text, read back by ``json.loads`` to the same data.

    Written by orjson: ~0.04 s for the 10,000 generated items' data where ``json.dumps`` took ~0.18 s,
    at every run that checks those files (a first run, a fresh clone in CI).  The data is what
    :func:`itembank.sources.parse` gives (texts without a lone surrogate, keys that are texts,
    finite numbers): orjson writes each such value as JSON that reads back the same (a float as its
    shortest digits, ``1e16`` where ``json.dumps`` writes ``1e+16``; the texts as UTF-8, not
    ``\\u`` escapes).  What it refuses (an integer past 64 bits) is written by ``json.dumps``
    (:func:`_pack_body`)."""
    return _pack_body(raws if raws is not None else []).decode("utf-8")


def data_key(raw: Any) -> str:
    """One item's data (what :func:`itembank.sources.parse` gives) as a key: the hash of its JSON
    (:func:`_pack_body`: the same data, the same text; another value or type, such as ``1`` and
    ``1.0``, another text)."""
    return hashlib.blake2b(_pack_body(raw), digest_size=20).hexdigest()


def problem_row(p: Problem) -> list[Any]:
    """A finding as a JSON row, without its file (a display path depends on the working folder)."""
    return [p.code, p.message, p.line, p.column, p.item_id, p.path, p.severity, p.suggestion]


def row_problem(file: str, row: list[Any]) -> Problem:
    """The finding :func:`problem_row` wrote, in ``file``."""
    code, message, line, column, item_id, path, severity, suggestion = row
    return Problem(file=file, code=code, message=message, line=line, column=column, item_id=item_id, path=path, severity=severity, suggestion=suggestion)


class CheckCache:
    """The cache of one bank for one run: looked up file by file, saved once at the end.

    A file's key is the hash of its bytes.  Reading and hashing every file of a large bank costs
    more than the rest of a warm run, so the checks pack also remembers, per path, the file's
    ``stat`` (size, modification and change times in ns, inode, device, mode) and its key, as git's
    index does: a file whose ``stat`` is unchanged is not read again.  Only a file whose change time
    lay well before the run that recorded it is remembered so (:data:`SETTLED_NS`): a file written
    again within the file system's clock tick of a recording cannot keep its old ``stat``.
    """

    def __init__(self, root: Path, config: BankConfig) -> None:
        self.top = cache_dir(root)
        self.folder = self.top / f"v{FORMAT}"  # the packs of this layout
        self.usable = self._prepare()
        code = code_fingerprint(self.folder / _STAMPS if self.usable else None)
        self.fingerprint = hashlib.blake2b(f"{code}\n{config!r}".encode(), digest_size=20).hexdigest()
        #: The rule context of the run: the cache must see the image checks the rules make.
        self.ctx = LoggingRuleContext(root, config)
        self._started = time.time_ns()
        self._loaded = False
        self._entries: dict[str, Any] = {}
        self._files: dict[str, Any] = {}
        self._items: dict[str, Any] = {}  # the items of the shards read so far
        self._shards: dict[str, set[str]] = {}  # shard read -> the keys it holds on disk
        self._items_owned: bool | None = None
        self._new_entries: dict[str, Any] = {}
        self._new_items: dict[str, Any] = {}
        self._new_files: dict[str, Any] = {}
        self._used: set[str] = set()
        self._seen: set[str] = set()
        self.hits = 0
        self.misses = 0

    def _prepare(self) -> bool:
        """Whether the folder is there (made if need be) and ours; nothing fails if it cannot be.
        Folders of other layouts (``v<N>``) are removed: no version of itembank reads them but theirs."""
        try:
            if not self.top.exists() and not self.top.is_symlink():
                self.top.mkdir()
                (self.top / ".gitignore").write_text("# made by itembank: its check cache, safe to delete\n*\n", encoding="utf-8")
                (self.top / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n# itembank's check cache (https://bford.info/cachedir/)\n", encoding="utf-8"
                )
            if not _owned(self.top):
                return False
            for old in self.top.glob("v*"):
                if old.name != self.folder.name and old.name[1:].isdigit() and _owned(old) and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            self.folder.mkdir(exist_ok=True)
        except OSError:
            return False
        return _owned(self.folder)

    def _pack(self, name: str) -> dict[str, Any]:
        return _read_pack(self.folder / name, self.fingerprint) if self.usable else {}

    def _shard(self, name: str) -> None:
        """Read one shard of the items pack (once): a file's items cost only their shard's decoding."""
        if name in self._shards:
            return
        folder = self.folder / _ITEMS
        if self._items_owned is None:
            self._items_owned = self.usable and _owned(folder)
        shard = _read_pack(folder / f"{name}.json", self.fingerprint) if self._items_owned else {}
        self._shards[name] = set(shard)
        self._items.update(shard)

    def _save_items(self) -> None:
        """Rewrite the shards whose keys changed; the bank's items only (this run read them all)."""
        folder = self.folder / _ITEMS
        folder.mkdir(exist_ok=True)
        self._items_owned = _owned(folder)
        if not self._items_owned:
            return
        remove_stale_temps(folder)
        for name in {p.stem for p in folder.glob("??.json")} | {key[:2] for key in self._used}:
            self._shard(name)
        shards: dict[str, list[str]] = {}  # shard -> the keys it is to hold
        for key in self._used:
            if key in self._new_items or key in self._items:
                shards.setdefault(key[:2], []).append(key)
        touched = {key[:2] for key in self._new_items}
        for name in sorted(self._shards):
            want = shards.get(name, [])
            if name not in touched and set(want) == self._shards[name]:
                continue
            if want:
                # The item data as JSON text, spliced as written (made this run) or written again (read from the shard).
                texts = (self._new_items.get(key) or raws_json(self._items[key]) for key in want)
                body = "{" + ",".join(f"{json.dumps(key)}:{text}" for key, text in zip(want, texts)) + "}"
                _write_body(folder / f"{name}.json", self.fingerprint, body.encode("utf-8"))
            else:
                (folder / f"{name}.json").unlink(missing_ok=True)

    def _load_checks(self) -> None:
        self._loaded = True
        pack = self._pack(_CHECKS)
        entries, files = pack.get("entries"), pack.get("files")
        if isinstance(entries, dict) and isinstance(files, dict):
            self._entries, self._files = entries, files

    def empty(self) -> bool:
        """Whether the cache knows no file's check (none made yet, or made by other code or settings):
        then every file is checked, and a run may share the checking with a forked child."""
        if not self._loaded:
            self._load_checks()
        return not self._entries

    def check(
        self,
        path: Path,
        rel: str,
        need_raws: bool,
        check_document: Callable[[Document], FileCheck],
        st: os.stat_result | None = None,
        done: CheckedElsewhere | None = None,
    ) -> FileCheck:
        """The file's check, from the cache when its bytes (and image answers) are known, else done now
        (or taken from ``done``, the check another process made of the file's bytes).
        ``st``: the file's ``stat`` when the caller made it already (an ``lstat`` of a file that is no link)."""
        if not self._loaded:
            self._load_checks()
        name = str(path)
        self._seen.add(name)
        raw: bytes | None = None
        try:
            if st is None:
                st = os.stat(path)
            sig: list[int] | None = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, st.st_mode]
        except OSError:
            sig = None
        known = self._files.get(name)
        if sig is not None and isinstance(known, list) and known[:-1] == sig:
            key = known[-1]
            done = None
        else:
            if done is None:
                raw, prob = read_bytes(path, rel)
                if raw is None:  # the file system's answer, not the content's: never cached
                    assert prob is not None
                    return FileCheck(problems=[prob], path=path)
                key, size = file_key(path, rel, raw), len(raw)
            else:
                key, size = done.key, done.size
            if _STAT_SHORTCUT and sig is not None and sig[0] == size and stat.S_ISREG(sig[5]) and sig[2] < self._started - SETTLED_NS:
                self._new_files[name] = sig + [key]
        self._used.add(key)
        found = self._hit(key, rel, need_raws)
        if found is not None:
            found.source, found.path, found.key = raw, path, key
            self.hits += 1
            return found
        if raw is None and done is None:  # known by its stat, but its entry is gone or damaged: read it after all
            self._files.pop(name, None)
            return self.check(path, rel, need_raws, check_document)
        self.misses += 1
        if done is not None:
            result, images, items_json = done.check, done.images, done.raws_json
        else:
            self.ctx.image_log = []
            result = check_document(read_document(path, rel, raw))
            images = self.ctx.image_log
            # Kept as JSON text, not as the parsed data: 100,000 items' dicts held to the end of the run
            # would sit among the models in memory the process keeps after freeing them.
            items_json = raws_json(result.raws)
        self._new_entries[key] = {
            "p": [problem_row(p) for p in result.problems],
            "i": [[index, item_id] for index, item_id in result.ids],
            "l": result.loaded,
            "g": [[ref, status] for ref, status in images],
        }
        self._new_items[key] = items_json
        result.key = key
        return result

    def _hit(self, key: str, rel: str, need_raws: bool) -> FileCheck | None:
        entry = self._new_entries.get(key) or self._entries.get(key)
        if entry is None:
            return None
        raws = None
        if need_raws:
            self._shard(key[:2])
            made = self._new_items.get(key)
            raws = json.loads(made) if made is not None else self._items.get(key)
            if raws is None:
                return None
        try:
            self.ctx.image_log = []
            for ref, status in entry["g"]:
                if self.ctx.image_status(ref) != status:
                    return None  # an image appeared, went, or another file spelled it first: check again
            loaded = list(entry["l"])
            if raws is not None and (not isinstance(raws, list) or len(raws) != len(loaded) or not all(type(r) is dict for r in raws)):
                return None
            return FileCheck(
                problems=[row_problem(rel, row) for row in entry["p"]],
                ids=[(index, item_id) for index, item_id in entry["i"]],
                loaded=loaded,
                raws=raws,
            )
        except (KeyError, TypeError, ValueError):  # a damaged entry: check the file again
            return None

    def save(self, *, whole_bank: bool, raws_of_whole_bank: bool, given_files: bool = False) -> None:
        """Write what changed.  After a run over the whole bank, only its files and entries are kept.

        ``given_files``: the run reported on files it was given (``validate FILE``, a pre-commit hook).
        When it checked at most :data:`FEW_NEW` files anew and learnt at most as many files' ``stat``,
        the checks pack stays as it was: writing the whole pack again (~40 ms for 10,000 files) costs
        more than checking those few files again next time (a few ms each); a run over the whole bank
        writes it."""
        if not self.usable:
            return
        if given_files and len(self._new_entries) <= FEW_NEW and len(self._new_files) <= FEW_NEW:
            return
        try:
            if not self._loaded:
                self._load_checks()
            entries = {**self._entries, **self._new_entries}
            files = {**self._files, **self._new_files}
            if whole_bank:
                entries = {k: v for k, v in entries.items() if k in self._used}
                files = {k: v for k, v in files.items() if k in self._seen}
            if self._new_entries or entries.keys() != self._entries.keys() or files != self._files:
                remove_stale_temps(self.folder)  # (what runs killed while writing here left)
                _write_pack(self.folder / _CHECKS, self.fingerprint, {"entries": entries, "files": files})
            # The items pack is large: rewritten only by a run that read the items of the whole bank.
            if raws_of_whole_bank and (self._shards or self._new_items):
                self._save_items()
        except OSError:
            pass  # a cache that cannot be written is only a slower next run
