"""Zip-bomb guards shared by every reader of a zip archive (review workbooks, import packages).

Checked on the central directory before anything is decompressed: number of members, total
uncompressed size, and the compression ratio of each large member.
"""

from __future__ import annotations

import zipfile

from .errors import ItembankError

#: Uncompressed/compressed ratio above which a large member is taken for a zip bomb.  XML compresses
#: ~5-30x; bombs compress ~1000x.
MAX_RATIO = 200
RATIO_CHECK_FROM = 1024 * 1024  # small members may compress well without being dangerous


def check_zip_limits(zf: zipfile.ZipFile, label: str, *, max_members: int, max_total: int, part: str = "part", kind: str = "") -> None:
    """Raise :class:`ItembankError` naming ``label`` if the archive is too many members, too large
    unpacked, or has a member compressed suspiciously well (``kind``: what the archive should be).
    """
    infos = zf.infolist()
    if len(infos) > max_members:
        raise ItembankError(f"{label}: refused: the archive has {len(infos):,} {part}s (limit {max_members:,})" + (f"; not {kind}" if kind else ""))
    total = sum(i.file_size for i in infos)
    if total > max_total:
        raise ItembankError(f"{label}: refused: the archive unpacks to {total:,} bytes (limit {max_total:,}): a zip bomb?")
    for info in infos:
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size >= RATIO_CHECK_FROM and ratio > MAX_RATIO:
            raise ItembankError(f"{label}: refused: {part} {info.filename} is compressed {ratio:,.0f}:1 (limit {MAX_RATIO}:1): a zip bomb?")
