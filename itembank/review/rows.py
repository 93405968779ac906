"""Reading the review workbook: its identity, its rows, and each row checked against the bank."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ItembankError, ReviewImportError
from ..model import DIFFICULTIES, Bank
from ..progress import Progress
from ..workbook_layout import (
    DECISION_STATUS,
    H_COMMENTS,
    H_DECISION,
    H_EXPORTED_ID,
    H_FINGERPRINT,
    H_ID,
    H_REVIEWER,
    H_SUGGESTED,
    ITEMS_SHEET,
    META_BANK_KEY,
    META_FORMAT,
    META_FORMAT_KEY,
    META_SHEET,
    META_VERSION,
    META_VERSION_KEY,
    REQUIRED_HEADERS,
)
from .archive import check_archive


@dataclass
class ReviewRow:
    """One reviewed row of the Items sheet."""

    row: int
    item_id: str
    fingerprint: str
    decision: str  # approve / revise / reject
    reviewer: str | None
    comment: str | None
    suggested: str | None

    def record(self, date: str) -> dict[str, str]:
        """The review record as it goes into the item's ``reviews`` list."""
        rec = {"decision": self.decision}
        if self.reviewer:
            rec["reviewer"] = self.reviewer
        if self.comment:
            rec["comment"] = self.comment
        rec["date"] = date
        if self.suggested:
            rec["suggested_difficulty"] = self.suggested
        return rec



def _text(value: Any) -> str | None:
    """A cell's value as trimmed text (None when empty); numbers as Excel would show them."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return text or None


#: What a spreadsheet stores for a formula that failed (OOXML error values).
_ERROR_VALUES = frozenset({"#VALUE!", "#NAME?", "#REF!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!"})


class FormulaCell(str):
    """A review cell that holds a formula or its error, not text (reported, never imported)."""


def read_workbook(path: Path, progress: Progress | None = None) -> tuple[dict[str, str], list[tuple[int, dict[str, str | None]]]]:
    """The workbook's identity (hidden ``itembank`` sheet) and its Items rows (row number, header → text)."""
    from .. import openpyxl_loader  # noqa: F401 - before openpyxl: openpyxl without numpy
    from openpyxl import load_workbook

    check_archive(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except ItembankError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged parts; all mean "corrupt"
        raise ItembankError(f"{path}: corrupt .xlsx workbook: {type(exc).__name__}: {exc}") from None
    try:
        if META_SHEET not in wb.sheetnames:
            raise ItembankError(f"{path}: not an itembank review workbook (make one with `itembank export xlsx`)")
        if ITEMS_SHEET not in wb.sheetnames:  # an itembank workbook whose reviewer renamed or deleted the sheet
            others = ", ".join(repr(n) for n in wb.sheetnames if n != META_SHEET)
            raise ItembankError(f"{path}: the sheet {ITEMS_SHEET!r} is missing (renamed or deleted?): the workbook has {others}; name the sheet of the items {ITEMS_SHEET!r} again")
        meta = {}
        for row in wb[META_SHEET].iter_rows(values_only=True):
            if row and row[0] is not None:
                meta[str(row[0])] = _text(row[1] if len(row) > 1 else None) or ""
        sheet = wb[ITEMS_SHEET]
        expected = max(0, (sheet.max_row or 1) - 1)  # from the sheet's <dimension>, when it has one
        rows = sheet.iter_rows(values_only=True)
        header = [(_text(h) or "") for h in next(rows, ())]
        missing = [h for h in REQUIRED_HEADERS if h not in header]
        if missing:
            raise ItembankError(f"{path}: the {ITEMS_SHEET} sheet has no column {', '.join(repr(m) for m in missing)} (were columns renamed or deleted?)")
        index = {h: header.index(h) for h in REQUIRED_HEADERS}
        out = []
        n = 1
        for n, values in enumerate(rows, 2):
            cells: dict[str, str | None] = {}
            for h, i in index.items():
                value = values[i] if i < len(values) else None
                if isinstance(value, str) and value in _ERROR_VALUES:
                    # A formula (a comment typed as "=...") that the spreadsheet computed into an error:
                    # the reviewer's text is gone from the file, so the row cannot be imported as is.
                    value = FormulaCell(value)
                cells[h] = value if isinstance(value, FormulaCell) else _text(value)
            if any(v is not None for v in cells.values()):
                out.append((n, cells))
            if progress is not None and (n - 1) % 500 == 0:
                progress("rows", n - 1, max(expected, n - 1))
        if progress is not None and n > 1:
            progress("rows", n - 1, n - 1)
        _refuse_unsaved_formulas(path, getattr(sheet, "_worksheet_path", None), index, out)
        return meta, out
    except ItembankError:
        raise
    except Exception as exc:  # noqa: BLE001 - as above, for parts read lazily while iterating
        raise ItembankError(f"{path}: corrupt .xlsx workbook: {type(exc).__name__}: {exc}") from None
    finally:
        wb.close()


def _refuse_unsaved_formulas(path: Path, part: str | None, index: dict[str, int], rows: list[tuple[int, dict[str, str | None]]]) -> None:
    """A review cell holding a formula whose value was never saved reads as empty: that must not pass
    as "no decision".  Only when the Items sheet holds formulas at all (it never does as exported) is
    it read a second time, for the formulas themselves."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            raw = zf.read(part.lstrip("/")) if part else b"<f"
    except (KeyError, OSError, zipfile.BadZipFile):
        raw = b"<f"
    if b"<f>" not in raw and b"<f " not in raw:
        return
    from .. import openpyxl_loader  # noqa: F401 - before openpyxl: openpyxl without numpy
    from openpyxl import load_workbook

    seen = {n: cells for n, cells in rows}
    problems = []
    wb = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    try:
        for n, values in enumerate(wb[ITEMS_SHEET].iter_rows(min_row=2, values_only=True), 2):
            for header, i in index.items():
                value = values[i] if i < len(values) else None
                if isinstance(value, str) and value.startswith("=") and (seen.get(n) or {}).get(header) is None:
                    problems.append(
                        f"row {n}: the {header} cell holds a formula ({value[:40]}) with no saved value; type the value, "
                        "or open and save the workbook in Excel or LibreOffice so that its value is stored"
                    )
    finally:
        wb.close()
    if problems:
        raise ReviewImportError(f"{path}: {len(problems)} review cell{'s' * (len(problems) != 1)} cannot be read; nothing was written", problems)


def check_identity(path: Path, meta: dict[str, str], bank: Bank) -> None:
    if meta.get(META_FORMAT_KEY) != META_FORMAT:
        raise ItembankError(f"{path}: not an itembank review workbook (make one with `itembank export xlsx`)")
    if meta.get(META_VERSION_KEY) != str(META_VERSION):
        raise ItembankError(f"{path}: review workbook version {meta.get(META_VERSION_KEY)!r} is not supported (this itembank reads version {META_VERSION})")
    if meta.get(META_BANK_KEY) != bank.title:
        raise ItembankError(f"{path}: this workbook was exported from bank {meta.get(META_BANK_KEY)!r}, not from {bank.title!r} ({bank.root}); refusing to import it here")


def review_rows(path: Path, rows: list[tuple[int, dict[str, str | None]]], bank: Bank) -> tuple[list[ReviewRow], int]:
    """Validate every row; return the reviewed ones and the count of rows without a decision.

    Raises :class:`ReviewImportError` listing every bad row, so that nothing is applied.
    """
    problems: list[str] = []
    seen: dict[str, int] = {}
    out: list[ReviewRow] = []
    undecided = 0
    for n, c in rows:
        bad = [(h, v) for h, v in c.items() if isinstance(v, FormulaCell)]
        if bad:
            for h, v in bad:
                problems.append(
                    f"row {n}, column {h}: the cell holds {v} (the spreadsheet read what was typed as a formula); "
                    "retype it as text (start it with an apostrophe ' or a space) and save again"
                )
            continue
        shown, exported, fp = c[H_ID], c[H_EXPORTED_ID], c[H_FINGERPRINT]
        if exported is None or fp is None:
            problems.append(f"row {n}: this row was not exported by itembank (its hidden id/fingerprint cells are empty); add items to the bank, not to the workbook")
            continue
        if shown != exported:
            problems.append(f"row {n}: the ID cell was edited ({exported!r} → {shown!r}); put back {exported!r}")
            continue
        if exported in seen:
            problems.append(f"row {n}: item {exported!r} appears twice (also at row {seen[exported]}); keep one row per item")
            continue
        seen[exported] = n
        if exported not in bank.by_id:
            problems.append(f"row {n}: unknown item id {exported!r}: bank {bank.title!r} has no such item (deleted or renamed since the export?)")
            continue
        decision = (c[H_DECISION] or "").lower()
        suggested = (c[H_SUGGESTED] or "").lower() or None
        if not decision:
            if c[H_COMMENTS] or suggested:
                problems.append(f"row {n}: item {exported!r} has a comment or suggested difficulty but no Decision (pick Approve, Revise or Reject)")
            else:
                undecided += 1
            continue
        if decision not in DECISION_STATUS:
            problems.append(f"row {n}: Decision {c[H_DECISION]!r} is not one of Approve, Revise, Reject")
            continue
        if suggested is not None and suggested not in DIFFICULTIES:
            problems.append(f"row {n}: Suggested difficulty {c[H_SUGGESTED]!r} is not one of {', '.join(DIFFICULTIES)}")
            continue
        out.append(ReviewRow(row=n, item_id=exported, fingerprint=fp, decision=decision, reviewer=c[H_REVIEWER], comment=c[H_COMMENTS], suggested=suggested))
    if problems:
        raise ReviewImportError(f"{path}: {len(problems)} problem{'s' * (len(problems) != 1)} in the workbook; nothing was imported", problems)
    return out, undecided


