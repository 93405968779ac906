#!/usr/bin/env python3
"""Fill an exported review workbook as reviewers would:  fill_review.py WORKBOOK.xlsx OUT.xlsx

Every item row gets a reviewer, a decision (Approve, Revise, Reject in turn), a comment, and every
third row a suggested difficulty, so that ``itembank review import`` of OUT has real work to do: one
review record per item, written into every item file.  The columns are found by their header
(``Reviewer``, ``Decision``, ``Suggested difficulty``, ``Comments``) on the sheet that has them; the
workbook is otherwise saved unchanged.  Deterministic: the same input gives the same values.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DECISIONS = ("Approve", "Revise", "Reject")
DIFFICULTIES = ("easy", "medium", "hard")
HEADERS = ("Reviewer", "Decision", "Suggested difficulty", "Comments")


def fill(workbook: Path, out: Path) -> int:
    """Fill the review columns of every item row; return how many rows were filled."""
    from openpyxl import load_workbook

    wb = load_workbook(workbook)
    for ws in wb.worksheets:
        header = {str(c.value).strip(): c.column for c in ws[1] if c.value is not None}
        if "Decision" in header:
            break
    else:
        raise ValueError(f"{workbook}: no sheet has a 'Decision' column")
    missing = [h for h in HEADERS if h not in header]
    if missing:
        raise ValueError(f"{workbook}: sheet '{ws.title}' lacks the column(s) {', '.join(missing)}")
    filled = 0
    for row in range(2, ws.max_row + 1):
        if ws.cell(row=row, column=1).value in (None, ""):
            continue  # not an item row
        k = row - 2
        ws.cell(row=row, column=header["Reviewer"], value=f"Reviewer {k % 7 + 1}")
        ws.cell(row=row, column=header["Decision"], value=DECISIONS[k % 3])
        ws.cell(row=row, column=header["Comments"], value=f"Benchmark review comment {k + 1}: wording checked, key checked.")
        if k % 3 == 0:
            ws.cell(row=row, column=header["Suggested difficulty"], value=DIFFICULTIES[k % 9 // 3])
        filled += 1
    wb.save(out)
    return filled


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workbook", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    try:
        n = fill(args.workbook, args.out)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"filled {n} rows into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
