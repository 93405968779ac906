"""Evidence records: what ``analyze --write`` appends to each analysed item's ``evidence`` list.

A record keeps the figures a later reader needs to judge the item without the reports: when, from
which reports and slots, how many attempts, facility, SD, discrimination, discriminative
efficiency, each option's share and its share in the low / middle / high score groups, the flags
raised and the difficulty the data supports.  Fractions are rounded to 4 places.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .pipeline import Analysis, ItemStats
from .readers import KIND_NAMES

_SAFE_KEY = re.compile(r"[a-z][a-z0-9_-]*")
_RESERVED = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n", "inf", "nan"})


def _r(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


def item_source(analysis: Analysis, item_id: str) -> str:
    """Which reports and slots an item's figures come from, for people: 'Moodle quiz ... (slot 4)'."""
    parts = []
    for t in analysis.tests:
        slots = [k for k, v in t.mapping.items() if v == item_id]
        if slots:
            parts.append(f"{KIND_NAMES.get(t.kind, t.kind)} {t.name} (slot {', '.join(slots)})")
    return "; ".join(parts)


def record(analysis: Analysis, item: ItemStats, date: str) -> dict[str, Any]:
    """The evidence record of one analysed item, keys in the order they are written."""
    out: dict[str, Any] = {"date": date, "source": item_source(analysis, item.id), "n": item.s}
    for key, value in (
        ("facility", item.facility),
        ("sd", item.sd),
        ("discrimination", item.discrimination),
        ("discriminative_efficiency", item.efficiency),
    ):
        if value is not None:
            out[key] = _r(value)
    options = [o for o in item.options if o.id is not None]
    if options:
        out["options"] = {o.id: _r(o.share) for o in options}
        out["groups"] = {o.id: [_r(o.groups.get(g, 0.0)) for g in ("low", "middle", "high")] for o in options}
    if item.flags:
        out["flags"] = sorted({f.code for f in item.flags})
    if item.suggested_difficulty is not None:
        out["suggested_difficulty"] = item.suggested_difficulty
    return out


def records(analysis: Analysis, date: str) -> dict[str, dict[str, Any]]:
    """Evidence records by item id, for every item with figures."""
    return {i.id: record(analysis, i, date) for i in analysis.items if i.s > 0}


def _key(k: str) -> str:
    return k if _SAFE_KEY.fullmatch(k) and k not in _RESERVED else "'" + k.replace("'", "''") + "'"


def _number(v: float) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def value_text(key: str, value: Any, scalar: Callable[[str], str]) -> str:
    """One record value as one line of YAML (flow style for the option maps and the flag list).

    ``scalar`` turns a string into a one-line YAML scalar (the review editor's quoting rules).
    """
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{key}: unexpected value {value!r}")
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return scalar(value)
    if isinstance(value, list):
        return "[" + ", ".join(_number(v) if isinstance(v, (int, float)) else scalar(str(v)) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))}: {value_text(key, v, scalar)}" for k, v in value.items()) + "}"
    raise TypeError(f"{key}: unexpected value {value!r}")


def entry_lines(rec: dict[str, Any], dash_col: int, scalar: Callable[[str], str]) -> list[str]:
    """A ``- key: value`` block sequence entry whose dash sits at ``dash_col``."""
    pad = " " * dash_col
    lines = [f"{k}: {value_text(k, v, scalar)}" for k, v in rec.items()]
    return [f"{pad}- {lines[0]}"] + [f"{pad}  {line}" for line in lines[1:]]
