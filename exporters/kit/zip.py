"""Deterministic zips: the same files give the same bytes, on every machine and every day.

Every entry has a fixed date, ``rw-r--r--`` permissions and "made on Unix" (whatever the host), and
is deflated at the level its format chose.  The date is the format's: the zip epoch (1980-01-01) for
QTI and Canvas packages, 2000-01-01 for workbooks (what the xlsx export has always written).

A member may come deflated already (:func:`deflate`, e.g. in a worker process of a shared-out
export): :func:`zip_bytes` then writes its stream as it is, in the very bytes ``zipfile`` writes
for the same data (the headers below are zipfile's; a test holds them to it).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

_VERSION = 20  # zipfile's DEFAULT_VERSION: "made by" and "needed to extract" without zip64
_PERMISSIONS = 0o644 << 16
_UNIX = 3
_UTF8_NAME = 0x800
_LIMIT = (1 << 31) - 1  # zipfile's ZIP64_LIMIT: past it zipfile writes zip64 fields (we let it)
_COUNT_LIMIT = (1 << 16) - 1


@dataclass(frozen=True)
class Deflated:
    """A member's data deflated ahead of the zip, as the zip deflates it (raw deflate stream)."""

    stream: bytes
    size: int  # of the data
    crc: int


def deflate(data: bytes, level: int) -> Deflated:
    """``data`` deflated the way ``zipfile`` deflates a member at ``level`` (one compress, one flush)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Deflated(compressor.compress(data) + compressor.flush(), len(data), zlib.crc32(data))


def zip_entry(name: str, *, level: int, date: tuple[int, int, int, int, int, int] = ZIP_EPOCH) -> zipfile.ZipInfo:
    """One entry's header: fixed date and permissions, deflated at ``level`` (also by ``ZipFile.open(info, "w")``)."""
    info = zipfile.ZipInfo(name, date_time=date)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = _PERMISSIONS
    info.create_system = _UNIX  # unix, whatever the host: same bytes on every OS
    # ZipFile.open(info, "w") and writestr(info, data) take the level from the ZipInfo
    # (public as compress_level from Python 3.13)
    if hasattr(info, "compress_level"):
        info.compress_level = level
    else:
        info._compresslevel = level  # type: ignore[attr-defined]
    return info


def zip_bytes(
    entries: Iterable[tuple[str, bytes | Deflated]], *, level: int, date: tuple[int, int, int, int, int, int] = ZIP_EPOCH
) -> bytes:
    """A zip of ``entries`` (name, data or data deflated at ``level`` by :func:`deflate`), in the order given."""
    members = [(name, data if isinstance(data, Deflated) else deflate(data, level)) for name, data in entries]
    if sum(30 + len(name.encode()) + len(d.stream) for name, d in members) > _LIMIT or any(d.size * 1.05 > _LIMIT for _, d in members):
        # zip64 sizes and offsets (packages past 2 GB): zipfile writes them, from the data
        return _zipfile_bytes(((name, zlib.decompress(d.stream, -15)) for name, d in members), level=level, date=date)
    dosdate = (date[0] - 1980) << 9 | date[1] << 5 | date[2]
    dostime = date[3] << 11 | date[4] << 5 | (date[5] // 2)
    # The zip as a list of its pieces, joined once: the members' streams are not copied into a buffer
    # first (a package of 100,000 items is ~200 MB: each copy counts).
    chunks: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, d in members:
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_NAME
        header = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", _VERSION, 0, flags, zipfile.ZIP_DEFLATED, dostime, dosdate,
                             d.crc, len(d.stream), d.size, len(encoded), 0)
        chunks += (header, encoded, d.stream)
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, flags, zipfile.ZIP_DEFLATED,
                                   dostime, dosdate, d.crc, len(d.stream), d.size, len(encoded), 0, 0, 0, 0, _PERMISSIONS, offset)
                       + encoded)
        offset += len(header) + len(encoded) + len(d.stream)
    start = offset
    size = sum(len(record) for record in central)
    end = start + size
    chunks += central
    count = len(central)
    if count > _COUNT_LIMIT:  # zip64 end records, as zipfile writes them
        chunks.append(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
        chunks.append(struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1))
        count = min(count, 0xFFFF)
    chunks.append(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))
    return b"".join(chunks)


def _zipfile_bytes(entries: Iterable[tuple[str, bytes]], *, level: int, date: tuple[int, int, int, int, int, int] = ZIP_EPOCH) -> bytes:
    """A zip of ``entries`` written by ``zipfile`` (what :func:`zip_bytes` writes, byte for byte)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(zip_entry(name, level=level, date=date), data)
    return buf.getvalue()
