#!/usr/bin/env python3
"""The floor for the xlsx export: the same cell values, written unstyled in openpyxl's write-only mode.

Two steps, so that only the writing is timed:

    xlsx_floor.py dump WORKBOOK.xlsx VALUES.json   # untimed: the exporter's cell values, sheet by sheet
    xlsx_floor.py write VALUES.json FLOOR.xlsx     # timed: load the values (json), write them

``write`` is the cheapest way openpyxl can produce a workbook holding exactly what ``itembank export
xlsx`` put in its cells: no styles, widths, validation lists, freeze panes or formulas beyond the
values themselves.  Values are str, int, float, bool or None; anything else (a date) is dumped as its
ISO text, which costs the same to write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return str(value)


def dump_values(workbook: Path, out: Path) -> tuple[int, int]:
    """Write ``{"sheets": [{"title", "rows"}]}``; return (sheets, cells)."""
    from openpyxl import load_workbook

    wb = load_workbook(workbook, read_only=True, data_only=True)
    sheets = []
    cells = 0
    for ws in wb.worksheets:
        rows = [[_plain(v) for v in row] for row in ws.iter_rows(values_only=True)]
        # Trailing empty cells of a row cost nothing to write in write-only mode; keep rows as read.
        cells += sum(len(r) for r in rows)
        sheets.append({"title": ws.title, "rows": rows})
    wb.close()
    out.write_text(json.dumps({"sheets": sheets}, ensure_ascii=False), encoding="utf-8")
    return len(sheets), cells


def write_floor(values: Path, out: Path) -> int:
    """Write the values unstyled; return the number of cells."""
    from openpyxl import Workbook

    data = json.loads(values.read_text(encoding="utf-8"))
    wb = Workbook(write_only=True)
    cells = 0
    for sheet in data["sheets"]:
        ws = wb.create_sheet(title=sheet["title"])
        for row in sheet["rows"]:
            ws.append(row)
            cells += len(row)
    wb.save(out)
    return cells


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump", help="extract an xlsx workbook's cell values to JSON")
    d.add_argument("workbook", type=Path)
    d.add_argument("values", type=Path)
    w = sub.add_parser("write", help="write JSON cell values as an unstyled write-only workbook")
    w.add_argument("values", type=Path)
    w.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "dump":
            n_sheets, cells = dump_values(args.workbook, args.values)
            print(f"dumped {cells} cells from {n_sheets} sheet(s)")
        else:
            cells = write_floor(args.values, args.out)
            print(f"wrote {cells} cells to {args.out}")
    except Exception as exc:  # a bad or missing workbook: one line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
