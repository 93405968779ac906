"""Item analysis from the LMS's own response reports (classical test theory, as Moodle computes it).

>>> from itembank import load_bank
>>> from itembank.analysis import analyze
>>> result = analyze(["responses.csv", "grades.csv"], load_bank("items"))
>>> [i.id for i in result.flagged()]

Modules, in the order data flows: :mod:`.readers` (report files → slots and attempts),
:mod:`.mapping` (slots → items, responses → options), :mod:`.statistics` (Moodle's formulas),
:mod:`.flags` (codes and reasons), :mod:`.pipeline` (the pipeline), :mod:`.report` (text, JSON).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .codes import FLAG_NAMES

if TYPE_CHECKING:
    from .flags import Flag
    from .pipeline import Analysis, ItemStats, OptionStats, TestStats, analyze
    from .readers import Report, ReportError, read_report

from ..errors import MappingError

_LAZY = {
    "Analysis": "pipeline",
    "ItemStats": "pipeline",
    "OptionStats": "pipeline",
    "TestStats": "pipeline",
    "analyze": "pipeline",
    "Flag": "flags",
    "Report": "readers",
    "ReportError": "readers",
    "read_report": "readers",
}


def __getattr__(name: str) -> Any:
    """numpy is imported only when an analysis runs, not by whoever needs the flag names."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)


__all__ = [
    "FLAG_NAMES",
    "Analysis",
    "Flag",
    "ItemStats",
    "MappingError",
    "OptionStats",
    "Report",
    "ReportError",
    "TestStats",
    "pipeline",
    "read_report",
]
