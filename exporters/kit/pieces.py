"""An item's piece of an export as a value of the fragment cache (``itembank.fragments``).

A piece is one JSON line, its *head* (what the export needs besides the bytes: a skip reason, the
notes the item adds, the image files it read), then its *body* (the item's output, as bytes).  The
head carries a CRC-32 of the body: a piece whose head does not parse, is not an object, or whose
body does not match is *damaged*, and :func:`decode` gives None for it (the item is built again,
never an error).  Plain JSON and bytes, never pickle: reading a cache cannot run code.
"""

from __future__ import annotations

import zlib
from typing import Any, TypeGuard

from itembank.fragments import from_json_piece, json_piece

_CHECK = "#"


def _checksum(body: bytes) -> int:
    # CRC-32: finds damage to one piece (a flipped byte, a cut) at a fraction of a hash's cost; the
    # pack as a whole is checked with BLAKE2b when it is read (itembank.fragments).
    return zlib.crc32(body)


def encode(head: dict[str, Any], body: bytes) -> bytes:
    """``head`` (JSON values only) and ``body`` as one piece."""
    return json_piece({**head, _CHECK: _checksum(body)}) + b"\n" + body


def decode(raw: bytes | None) -> tuple[dict[str, Any], bytes] | None:
    """The head and body :func:`encode` wrote, or None when there is no piece or it is damaged."""
    if raw is None:
        return None
    line, sep, body = raw.partition(b"\n")  # JSON writes a newline inside a string as "\n": the first one ends the head
    if not sep:
        return None
    try:
        head = from_json_piece(line)
    except ValueError:  # also UnicodeDecodeError
        return None
    if not isinstance(head, dict) or head.pop(_CHECK, None) != _checksum(body):
        return None
    return head, body


def strings(value: Any) -> TypeGuard[list[str]]:
    """Whether ``value`` is a list of strings (to check a decoded head before using it)."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
