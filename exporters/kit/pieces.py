"""An item's piece of an export as a value of the fragment cache (``itembank.fragments``).

A piece is its checksum, one JSON line, its *head* (what the export needs besides the bytes: a skip
reason, the notes the item adds, the image files it read), then its *body* (the item's output, as
bytes).  The checksum (CRC-32, eight hex digits and a newline) covers the head and the body: a piece
whose checksum does not match, or whose head does not parse or is not an object, is *damaged*, and
:func:`decode` gives None for it (the item is built again, never an error).  Plain JSON and bytes,
never pickle: reading a cache cannot run code.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from isal.isal_zlib import crc32

from itembank.fragments import from_json_piece, json_piece

_SUM = 9  # b"%08x\n"


def encode(head: dict[str, Any], body: bytes) -> bytes:
    """``head`` (JSON values only) and ``body`` as one piece."""
    rest = json_piece(head) + b"\n" + body  # JSON writes a newline inside a string as "\n": the first one ends the head
    return b"%08x\n" % crc32(rest) + rest


def decode(raw: bytes | None) -> tuple[dict[str, Any], bytes] | None:
    """The head and body :func:`encode` wrote, or None when there is no piece or it is damaged."""
    if raw is None or len(raw) < _SUM or raw[_SUM - 1 : _SUM] != b"\n":
        return None
    try:
        if int(raw[: _SUM - 1], 16) != crc32(memoryview(raw)[_SUM:]):
            return None
        end = raw.index(b"\n", _SUM)
        head = from_json_piece(raw[_SUM:end])
    except ValueError:  # also UnicodeDecodeError and JSONDecodeError
        return None
    if not isinstance(head, dict):
        return None
    return head, raw[end + 1 :]


def strings(value: Any) -> TypeGuard[list[str]]:
    """Whether ``value`` is a list of strings (to check a decoded head before using it)."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
