"""Deterministic zips: the same files give the same bytes, on every machine and every day.

Every entry has a fixed date, ``rw-r--r--`` permissions and "made on Unix" (whatever the host), and
is deflated at the level its format chose.  The date is the format's: the zip epoch (1980-01-01) for
QTI and Canvas packages, 2000-01-01 for workbooks (what the xlsx export has always written).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_entry(name: str, *, level: int, date: tuple[int, int, int, int, int, int] = ZIP_EPOCH) -> zipfile.ZipInfo:
    """One entry's header: fixed date and permissions, deflated at ``level`` (also by ``ZipFile.open(info, "w")``)."""
    info = zipfile.ZipInfo(name, date_time=date)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # unix, whatever the host: same bytes on every OS
    # ZipFile.open(info, "w") and writestr(info, data) take the level from the ZipInfo
    # (public as compress_level from Python 3.13)
    if hasattr(info, "compress_level"):
        info.compress_level = level
    else:
        info._compresslevel = level  # type: ignore[attr-defined]
    return info


def zip_bytes(entries: Iterable[tuple[str, bytes]], *, level: int, date: tuple[int, int, int, int, int, int] = ZIP_EPOCH) -> bytes:
    """A zip of ``entries`` (name, data), in the order given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(zip_entry(name, level=level, date=date), data)
    return buf.getvalue()
