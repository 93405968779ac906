"""Numbers as text, one way for every format: ``3`` not ``3.0``, ``0.1`` not ``0.1000000000000000055``."""

from __future__ import annotations

from decimal import Decimal

from itembank.model import NumericItem


def number_text(value: float | Decimal, *, significant: int | None = None) -> str:
    """A number for people and importers alike.

    Integral values below 10^15 without a fraction (``50000``); other floats in their shortest
    round-trip form (``0.0055``, ``1e-05``), or with ``significant`` digits for a consumer that reads
    no more (Moodle: 15); a Decimal exactly, without exponent or trailing zeros.
    """
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(float(value), f".{significant}g") if significant else repr(float(value))


def fixed_text(value: float, places: int) -> str:
    """``value`` with exactly ``places`` decimal places, rounded in decimal from its shortest form: the
    value as its author or its grid means it (``2.77``, ``50000000000000000000000``), never the binary
    expansion of the float (``2.7700000000000005``, ``49999999999999995805696``)."""
    return format(Decimal(repr(float(value))), f".{places}f")


def key_text(item: NumericItem, *, significant: int | None = None) -> str:
    """A numeric item's key as shown to people: on its ``shown_decimals`` (a calculated item's variant:
    its ``answer_decimals``, ``3.14``), else as :func:`number_text` writes it."""
    if item.shown_decimals is not None:
        return fixed_text(item.centre, item.shown_decimals)
    return number_text(item.centre, significant=significant)


def percent_text(fraction: float) -> str:
    """A fraction as a percentage, computed in decimal from the number as written: ``0.07`` is ``7``,
    never ``7.000000000000001`` (the binary product ``0.07 * 100``)."""
    return number_text(Decimal(repr(float(fraction))) * 100)


def plural(count: float, one: str, *, significant: int | None = None) -> str:
    """``1 point``, ``2 points``, ``0.5 points``: the number and the word that goes with it."""
    return f"{number_text(count, significant=significant)} {one}{'' if count == 1 else 's'}"
