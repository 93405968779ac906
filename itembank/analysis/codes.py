"""The analysis flag codes and their names: stable, like the validator's rule codes (no numpy here)."""

from __future__ import annotations

FLAG_NAMES: dict[str, str] = {
    "AN101": "too-easy",
    "AN102": "too-hard",
    "AN103": "low-discrimination",
    "AN104": "negative-discrimination",
    "AN105": "key-less-popular",
    "AN106": "dead-distractor",
    "AN107": "probable-miskey",
    "AN108": "no-variance",
}
