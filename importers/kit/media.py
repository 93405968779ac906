"""Media extracted from sources, named by content hash: ``media/<sha256[:16]>.<ext>``.

The same bytes always get the same name (no duplicates across questions or re-imports); the item
text references the file relative to the bank root, as our exporters expect.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import PurePosixPath

MEDIA_DIR = "media"
#: One file larger than this is refused (a question image/attachment; anything larger is a bomb or a mistake).
MAX_MEDIA_BYTES = 50 * 1024 * 1024
#: All media of one import together.
MAX_TOTAL_MEDIA_BYTES = 1024 * 1024 * 1024

_EXT_RE = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


class MediaTooLarge(ValueError):
    pass


class MediaStore:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.total = 0

    def add(self, data: bytes, filename: str = "", mimetype: str = "") -> str:
        """Store ``data``; return its bank-relative path ``media/<hash>.<ext>``."""
        if len(data) > MAX_MEDIA_BYTES:
            raise MediaTooLarge(f"file {filename or '(unnamed)'} is {len(data):,} bytes (limit {MAX_MEDIA_BYTES:,})")
        ext = PurePosixPath(filename).suffix.lower() if filename else ""
        if not _EXT_RE.match(ext or ""):
            ext = (mimetypes.guess_extension(mimetypes_clean(mimetype)) or ".bin") if mimetype else ".bin"
        rel = f"{MEDIA_DIR}/{hashlib.sha256(data).hexdigest()[:16]}{ext}"
        if rel not in self.files:
            self.total += len(data)
            if self.total > MAX_TOTAL_MEDIA_BYTES:
                raise MediaTooLarge(f"media of this import exceed {MAX_TOTAL_MEDIA_BYTES:,} bytes")
            self.files[rel] = data
        return rel


def mimetypes_clean(mt: str) -> str:
    return mt.split(";", 1)[0].strip().lower()
