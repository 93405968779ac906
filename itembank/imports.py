"""The import pipeline's spine: importer registry (built-ins in code, plug-ins by entry point).

Files -> importer.read() -> ReadResult -> ids/conflicts -> YAML files in the bank.  The importer
contract is :mod:`importers.base`.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from importers.base import BUILTIN, ENTRY_POINT_GROUP, Importer

from .export import ItembankError, UsageError


class BrokenImporter:
    """Stands in for an importer whose module failed to load, so the failure is reported, not hidden."""

    description = "(failed to load)"

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.error = error

    def sniff(self, path: Any) -> bool:
        return False

    def read(self, path: Any, ctx: Any) -> Any:
        raise ItembankError(f"import format '{self.name}' failed to load: {type(self.error).__name__}: {self.error}")


def _load_ref(name: str, ref: str) -> Importer:
    module, _, attr = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except Exception as exc:  # a broken plug-in must not take the other formats down with it
        return BrokenImporter(name, exc)  # type: ignore[return-value]
    return obj() if isinstance(obj, type) else obj  # type: ignore[no-any-return]


def importer_names() -> list[str]:
    """Built-in formats first (in their listed order), then plug-ins by name."""
    extra = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN)
    return list(BUILTIN) + extra


@cache
def get_importer(name: str) -> Importer:
    """One importer, loading only its own module."""
    if name in BUILTIN:
        return _load_ref(name, BUILTIN[name])
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise UsageError(f"unknown import format '{name}' (known: {', '.join(importer_names())}, auto)")
    ep = next(iter(found))
    return _load_ref(name, ep.value)
