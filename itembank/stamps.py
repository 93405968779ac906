"""Libraries by their installed files: what the caches' fingerprints name besides the code.

A library is named by the file it is imported from, by size and modification time (an upgrade
writes it anew), worked out once per process: the check cache (``itembank.cache``) names its parsing
libraries so, and the fragment cache's scope (``itembank.fragments``) the libraries whose output
lands in exports (openpyxl's style ids in a workbook row, Jinja2's rendering of a page...).
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib.util import find_spec


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
