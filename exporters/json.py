"""``json``: the whole normalized bank as one JSON document (defaults filled in).

Valid against ``schemas/bank.schema.json``; meant for other tools, and the simplest template for a
new exporter.
"""

from __future__ import annotations

import json

from itembank.formats import ExportContext, ExportResult
from itembank.model import STATUSES, Bank
from itembank.normalize import to_data


class JsonExporter:
    build_cost = 0.5
    name = "json"
    description = "the normalized bank as one JSON document (schemas/bank.schema.json)"
    default_output = "bank.json"
    options = frozenset({"status"})
    default_status = STATUSES

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        result = ExportResult()
        items = []
        for item in bank.items:
            data = to_data(item)
            data["file"] = item.location.path
            items.append(data)
            result.wrote(item.type)
        doc = {
            "format": "itembank-bank",
            "version": 1,
            "generator": f"itembank {ctx.tool_version}".strip(),
            "title": bank.title,
            "items": items,
        }
        # sort_keys for byte-stable output; ensure_ascii=False keeps text readable.
        result.data = (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        return result


exporter = JsonExporter()
