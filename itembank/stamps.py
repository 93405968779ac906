"""What else a kept piece of output depends on: the libraries and data files that made it.

The fragment cache's scope (``itembank.fragments``) holds the itembank package's code and the
libraries of the check cache (``itembank.cache``); a piece an exporter keeps may also depend on
another library (openpyxl's style ids in a workbook row, Jinja2's rendering of a page) or on files
that are not Python (an exporter's templates).  :func:`stamp` names those, as the check cache
names its files: by size and modification time (an upgrade or an edit writes them anew), worked
out once per process.  An exporter adds the stamp to its pieces' keys.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib.util import find_spec
from pathlib import Path


@cache
def library_stamp(*modules: str) -> str:
    """The installed files of ``modules`` (top-level names), by size and modification time."""
    h = hashlib.blake2b(digest_size=12)
    for name in modules:
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
        try:
            st = os.stat(origin) if origin else None
        except OSError:
            st = None
        h.update(f"{name} {origin} {st.st_size if st else '-'} {st.st_mtime_ns if st else '-'}\n".encode())
    return h.hexdigest()


@cache
def folder_stamp(folder: str) -> str:
    """The files under ``folder`` (an exporter's templates), by name, size and modification time."""
    h = hashlib.blake2b(digest_size=12)
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        h.update(f"{path.relative_to(root).as_posix()} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()
