"""``xlsx``: the reviewer workbook — one row per item, review columns, Summary and Guide sheets;
read back by ``itembank review import``.  The writer is :mod:`.workbook` (its layout, speed and
determinism are described there).

This module is the format as the registry sees it (its name, options, default statuses and costs),
and imports the writer only when it exports: openpyxl and the lint rules the workbook shows take
~0.1 s to import, and a build's parent, which imports every format before its workers fork, has no
use for them (the worker that writes the workbook imports them, beside the other worker).
"""

from __future__ import annotations

from itembank.formats import ExportContext, ExportResult
from itembank.model import STATUSES, Bank


class XlsxExporter:
    build_cost = 2.3  # the lint column included; see itembank.formats.Exporter
    cached_build_cost = 0.50
    shares_out = True  # its items over ExportContext.jobs processes; see itembank.formats.Exporter
    name = "xlsx"
    description = "reviewer workbook (Excel/LibreOffice) with review columns; read back by `itembank review import`"
    default_output = "review.xlsx"
    options = frozenset({"status"})
    default_status = STATUSES

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        from .workbook import export_workbook

        return export_workbook(bank, ctx)


exporter = XlsxExporter()

__all__ = ["XlsxExporter", "exporter"]
