"""Counts in messages, one way everywhere: ``1 item``, ``2 items`` (never ``1 items`` or ``item(s)``).

The core cannot import the exporters' kit (``exporters/kit/numbers.py`` has the same helper for
formats, with number formatting); this one is for whole counts in the core's own messages.
"""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 item``, ``0 items``, ``3 classes`` (``many`` for an irregular plural)."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def quoted(name: object) -> str:
    """``'name'`` for a message, every character one cannot see written as an escape (:func:`visible`):
    a BOM or a zero-width space in a field name reads ``'\\ufeffstem'``, not ``'stem'``.  Every
    reporter shows the same text (JSON, SARIF, GitHub, text)."""
    return f"'{visible(str(name))}'"


def visible(text: str) -> str:
    """``text`` with every character one cannot see written as an escape: controls, format characters
    (U+FEFF, U+200B, bidirectional marks), spaces other than U+0020, unassigned and private-use code
    points, lone surrogates; a backslash is doubled, so an escape is never ambiguous."""
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text  # the common case, checked in C
    return "".join(_visible(c) for c in text)


def _visible(c: str) -> str:
    import unicodedata

    if c == "\\":
        return "\\\\"
    if c == " " or unicodedata.category(c) not in _INVISIBLE:
        return c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


#: Control, format (U+FEFF, U+200B..U+200F, bidirectional marks), surrogate, private use, unassigned,
#: and separators (any space but U+0020 looks like one, or like nothing).
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
