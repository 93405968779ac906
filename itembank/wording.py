"""Counts in messages, one way everywhere: ``1 item``, ``2 items`` (never ``1 items`` or ``item(s)``).

The core cannot import the exporters' kit (``exporters/kit/numbers.py`` has the same helper for
formats, with number formatting); this one is for whole counts in the core's own messages.
"""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 item``, ``0 items``, ``3 classes`` (``many`` for an irregular plural)."""
    return f"{count} {one if count == 1 else (many or one + 's')}"
