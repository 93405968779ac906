"""Guards against hostile or broken workbook files (zip bombs, entity bombs), before any XML parser sees them."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import ItembankError

# --- limits against hostile or broken files ------------------------------------------------------

MAX_WORKBOOK_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 2_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
#: Uncompressed/compressed ratio above which a large member is taken for a zip bomb.  Spreadsheet XML
#: compresses ~5–30×; bombs compress ~1000×.
MAX_RATIO = 200
RATIO_CHECK_FROM = 1024 * 1024  # small members may compress well without being dangerous
DTD_SCAN_BYTES = 64 * 1024

# --- reading the workbook ------------------------------------------------------------------------


def check_archive(path: Path) -> None:
    """Refuse what is not a sane xlsx before any XML parser sees it (zip bombs, entity bombs)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ItembankError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_WORKBOOK_BYTES:
        raise ItembankError(f"{path}: {size:,} bytes is more than a review workbook can be ({MAX_WORKBOOK_BYTES:,})")
    if not zipfile.is_zipfile(path):
        raise ItembankError(f"{path}: not an .xlsx workbook (an .xlsx file is a zip archive; this one is not)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ItembankError(f"{path}: refused: the archive has {len(infos):,} parts (limit {MAX_MEMBERS:,}); not a review workbook")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise ItembankError(f"{path}: refused: the archive unpacks to {total:,} bytes (limit {MAX_UNCOMPRESSED_BYTES:,}): a zip bomb?")
            for info in infos:
                ratio = info.file_size / max(1, info.compress_size)
                if info.file_size >= RATIO_CHECK_FROM and ratio > MAX_RATIO:
                    raise ItembankError(f"{path}: refused: part {info.filename} is compressed {ratio:,.0f}:1 (limit {MAX_RATIO}:1): a zip bomb?")
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise ItembankError(f"{path}: not an .xlsx workbook (a zip archive without xl/workbook.xml)")
            for info in infos:
                if info.filename.endswith((".xml", ".rels")):
                    with zf.open(info) as fh:
                        head = fh.read(DTD_SCAN_BYTES)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise ItembankError(f"{path}: refused: part {info.filename} declares a DTD (spreadsheets never do; entity expansion attack?)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ItembankError(f"{path}: corrupt .xlsx workbook: {exc}") from None

