"""Guards against hostile or broken workbook files (zip bombs, entity bombs), before any XML parser sees them."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import ItembankError
from ..ziplimits import check_zip_limits

# --- limits against hostile or broken files ------------------------------------------------------

MAX_WORKBOOK_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 2_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
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
            check_zip_limits(zf, str(path), max_members=MAX_MEMBERS, max_total=MAX_UNCOMPRESSED_BYTES, kind="a review workbook")
            infos = zf.infolist()
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

