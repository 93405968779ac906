"""Item analysis from the LMS's own response reports (classical test theory, as Moodle computes it).

>>> from itembank import load_bank
>>> from itembank.analysis import analyze
>>> result = analyze(["responses.csv", "grades.csv"], load_bank("items"))
>>> [i.id for i in result.flagged()]

Modules, in the order data flows: :mod:`.readers` (report files → slots and attempts),
:mod:`.mapping` (slots → items, responses → options), :mod:`.statistics` (Moodle's formulas),
:mod:`.flags` (codes and reasons), :mod:`.analyze` (the pipeline), :mod:`.report` (text, JSON).
"""

from __future__ import annotations

from .analyze import Analysis, ItemStats, OptionStats, TestStats, analyze
from .flags import FLAG_NAMES, Flag
from .mapping import MappingError
from .readers import Report, ReportError, read_report

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
    "analyze",
    "read_report",
]
