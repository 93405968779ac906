"""What the code and libraries are, for the caches' fingerprints: by their bytes, looked up by their stat.

The check cache (``itembank.cache``) and the fragment cache's scope (``itembank.fragments``) must
change when the code or a library whose behaviour reaches the results changes, and only then.
Knowing files by size and modification time is cheap (a ``stat`` each, as Python knows its ``.pyc``
files) but says "changed" whenever the same bytes are written anew: a reinstall of the same
versions, a fresh checkout, a CI runner that restored the bank's cache folder from the last run
and installed everything again.  So the fingerprints name the files' *bytes* (:func:`by_content`):
worked out once per stat fingerprint (a few tens of ms: the itembank package's files, each
library's install record) and remembered in a small file in the bank's cache folder, so that a run
whose files have the stat they had costs a ``stat`` per file, as before, and a run on a fresh
install of the same code reuses the caches instead of starting cold.

A library is named by its distribution's install record (pip's ``RECORD``: every file it installed
with its SHA-256), found beside the module; a module without one (a source checkout on the path) by
the bytes of its files.  A file changed in place with its size and modification time put back is
not seen (as with ``.pyc`` files); ``itembank cache clear`` then starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from importlib.util import find_spec
from pathlib import Path

#: Stat fingerprints remembered per memo file (the newest kept): installs and checkouts a bank saw.
MEMO_ENTRIES = 32


@cache
def library_stamp(*modules: str) -> str:
    """The installed files of ``modules`` (top-level names), by size and modification time."""
    h = hashlib.blake2b(digest_size=12)
    for name in modules:
        origin = _origin(name)
        try:
            st = os.stat(origin) if origin else None
        except OSError:
            st = None
        h.update(f"{name} {origin} {st.st_size if st else '-'} {st.st_mtime_ns if st else '-'}\n".encode())
    return h.hexdigest()


@cache
def library_content(*modules: str) -> str:
    """The installed files of ``modules`` by their bytes: each one's install record, else its files."""
    h = hashlib.blake2b(digest_size=16)
    for name in modules:
        origin = _origin(name)
        if origin is None:
            h.update(f"{name} -\n".encode())
            continue
        path = Path(origin)
        top = path.parent if path.name == "__init__.py" else path  # the package's folder, or the module's file
        record = _records(top.parent).get(name)
        if record is not None:
            h.update(f"{name} record\n".encode() + record)
        else:
            files = sorted(p for p in top.rglob("*") if code_or_data(p)) if top.is_dir() else [top]
            h.update(f"{name} files {files_content((p.relative_to(top.parent).as_posix(), p) for p in files)}\n".encode())
    return h.hexdigest()


def files_content(files: Iterable[tuple[str, Path]]) -> str:
    """``files`` (the name each is known by, where it is) by their names and bytes, as one hash."""
    h = hashlib.blake2b(digest_size=16)
    for name, path in files:
        data = path.read_bytes()
        h.update(f"{name}\0{len(data)}\0".encode("utf-8", "surrogatepass") + data)
    return h.hexdigest()


def by_content(by_stat: str, content: Callable[[], str], memo: Path | None) -> str:
    """What some files are by their bytes (``content()``, which reads them), looked up by what they
    are by their stat (``by_stat``) in ``memo`` (a JSON file in the bank's cache folder), and
    remembered there when it was not; without a memo (no cache folder of ours), ``by_stat``."""
    if memo is None:
        return by_stat
    known = _memo(memo)
    found = known.get(by_stat)
    if isinstance(found, str):
        return found
    made = content()
    known.pop(by_stat, None)
    known[by_stat] = made
    while len(known) > MEMO_ENTRIES:
        del known[next(iter(known))]
    _write_memo(memo, known)
    return made


def _memo(path: Path) -> dict[str, str]:
    """The memo file's entries (read each time: a few hundred bytes, and the cache folder may have
    been cleared since); empty when it is missing, damaged, a link or another user's."""
    entries: dict[str, str] = {}
    try:
        st = os.lstat(path)
        getuid = getattr(os, "getuid", None)
        if stat.S_ISREG(st.st_mode) and (getuid is None or st.st_uid == getuid()):
            loaded = json.loads(path.read_bytes())
            if isinstance(loaded, dict):
                entries = {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, str)}
    except (OSError, ValueError):
        pass
    return entries


def _write_memo(path: Path, entries: dict[str, str]) -> None:
    """Write the memo atomically; a memo that cannot be written is only worked out again next time."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(json.dumps(entries, indent=0).encode("ascii"))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _origin(name: str) -> str | None:
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin not in (None, "built-in", "frozen") else None


def code_or_data(path: Path) -> bool:
    """Whether ``path`` is a file a package ships (its code, templates, data), not compiled bytecode."""
    return path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")


@cache
def _records(site: Path) -> dict[str, bytes]:
    """Every distribution's install record in the folder ``site``, by the top-level modules it holds
    (each record read once), without what a given install adds (its compiled ``.pyc`` files, the
    installer's own files, the scripts' places): the files' names, SHA-256s and sizes, and a hash of
    its metadata (the version)."""
    found: dict[str, bytes] = {}
    try:
        infos = sorted(site.glob("*.dist-info"))
    except OSError:
        return found
    for info in infos:
        try:
            lines = (info / "RECORD").read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        kept = sorted(line for line in lines if line and not line.startswith((f"{info.name}/", "..")) and "__pycache__" not in line)
        metadata = info / "METADATA"
        try:
            version = metadata.read_bytes()
        except OSError:
            version = b""
        record = "\n".join(kept).encode("utf-8") + b"\n" + hashlib.blake2b(version, digest_size=16).digest()
        for line in kept:
            where = line.split(",", 1)[0]  # a package's file (name/...), or a module of its own (name.py, name.cpython-...so)
            found.setdefault(where.split("/", 1)[0] if "/" in where else where.split(".", 1)[0], record)
    return found
