"""Numbers as an imported item's YAML shows them."""

from __future__ import annotations


def clean_number(value: float) -> int | float:
    """3.0 -> 3 (YAML reads better), other numbers unchanged (infinities and NaN too)."""
    return int(value) if float(value).is_integer() and abs(value) < 1e15 else value
