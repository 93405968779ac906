"""``xlsx``: the reviewer workbook — one row per item, review columns, Summary and Guide sheets
(the writer: :mod:`itembank.exporters.xlsx` is the format, which imports this module when it exports).

Reviewers judge items in Excel or LibreOffice Calc and never read YAML; ``itembank review import``
(:mod:`itembank.review`) reads their decisions back.  The layout both sides rely on (sheet and header
names, the hidden ``itembank`` sheet's keys, the decisions) is defined once in the core module
:mod:`itembank.workbook_layout`; the core never imports this exporter.

Sheets
    ``Items``   one row per item: the item's fields, its lint findings (``itembank.lint.workbook``),
                then Reviewer / Decision / Suggested difficulty /
                Comments (unlocked, dropdowns), then two hidden locked columns: the exported id and the
                item's content fingerprint (:mod:`itembank.fingerprint`).  The sheet is protected
                without a password (filter, sort and resizing stay allowed) so that only the review
                columns can be typed into.
    ``Summary`` counts by type × difficulty and by topic (values, so filtering never changes them),
                the review progress (COUNTIF formulas over the Decision column, which ignore filters),
                lint findings per rule and each bank-level lint finding (key balance, coverage, ...).
    ``Guide``   how to review and what each column means.
    ``itembank`` (very hidden) the bank's identity, so that a workbook of another bank is refused.

Speed: the workbook is written with openpyxl's write-only mode, but the Items rows — nearly all of the
file — are written directly as SpreadsheetML markup by a Jinja2 template (``row.xml.j2``, rendered
by :class:`_RowWriter`; every value escaped by :func:`..kit.escape.xml_text` as lxml escapes an element's
text; styles registered once through openpyxl) and spliced into the sheet while the zip is written:
per-cell openpyxl objects would cost more than everything else together.  Deflate level 1 keeps compression a small share.
Determinism: fixed document dates, fixed zip timestamps and sorted zip entries.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import IO, Any

import jinja2

import itembank.openpyxl_loader  # noqa: F401 - before openpyxl: openpyxl without numpy (see it)
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from itembank.analysis.codes import FLAG_NAMES as ANALYSIS_FLAGS
from itembank.fingerprint import fingerprint
from itembank.formats import ExportContext, ExportResult
from itembank.forked import in_task_order, shared_out
from itembank.fragments import Fragments, from_json_piece, strings_piece
from itembank.lint.workbook import WorkbookFindings, workbook_findings
from itembank.model import (
    DIFFICULTIES,
    ITEM_TYPES,
    STATUSES,
    AnyItem,
    Bank,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    CalculatedItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
)
from itembank.variants import variants
from itembank.workbook_layout import (
    DECISIONS,
    GUIDE_SHEET,
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
    META_GENERATOR_KEY,
    META_ITEMS_KEY,
    META_SHEET,
    META_VERSION,
    META_VERSION_KEY,
    STATISTICS_SHEET,
    SUMMARY_SHEET,
)

from ..kit.explain import SectionKind, explanation
from ..kit.escape import xml_text
from ..kit.numbers import number_text, percent_text, plural
from ..kit.zip import Chunked, ChunkStore, ZipStream

# The layout the importer relies on (sheet and header names, meta keys, decisions) is defined once,
# in the core: itembank.workbook_layout.

KEY_MARK = "✓ "

#: Excel's hard limit on the characters of one cell; longer text would make Excel "repair" the file.
MAX_CELL_CHARS = 32_767
#: Excel's maximum row height in points.
MAX_ROW_HEIGHT = 409.0
LINE_HEIGHT = 15.0  # points per line of Calibri 11
#: Fixed document dates: the same bank gives the same bytes whenever it is exported.
FIXED_DATE = datetime(2000, 1, 1)
ZIP_DATE = (2000, 1, 1, 0, 0, 0)
#: The workbook's deflate level (zlib-ng's, ``kit.zip``).
ZIP_LEVEL = 2
#: Text a spreadsheet would read as a formula (or as the start of one) if it were typed in.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    style: str  # key of _STYLES
    meaning: str  # for the Guide sheet
    hidden: bool = False


# --- styles -------------------------------------------------------------------------------------

_TOP_WRAP = Alignment(wrap_text=True, vertical="top")
_THIN = Side(style="thin", color="FFB0B0B0")

_STYLES: dict[str, dict[str, Any]] = {
    "header": {"font": Font(bold=True), "fill": PatternFill("solid", fgColor="FFD9E1F2"), "alignment": Alignment(wrap_text=True, vertical="center"), "border": Border(bottom=_THIN)},
    "text": {"alignment": _TOP_WRAP},
    "id": {"alignment": _TOP_WRAP, "font": Font(bold=True)},
    "number": {"alignment": Alignment(vertical="top", horizontal="center")},
    "key": {"alignment": _TOP_WRAP, "font": Font(bold=True, color="FF006100"), "fill": PatternFill("solid", fgColor="FFC6EFCE")},
    # number_format "@" (Text): what a reviewer types is kept as typed, so a comment starting with "="
    # stays a comment instead of becoming a formula (and #VALUE! after LibreOffice recalculates).
    "review": {"alignment": _TOP_WRAP, "protection": Protection(locked=False), "fill": PatternFill("solid", fgColor="FFFFF9E5"), "border": Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN), "number_format": "@"},
    "hidden": {"alignment": Alignment(vertical="top"), "font": Font(color="FF808080")},
    "title": {"font": Font(bold=True, size=14)},
    "bold": {"font": Font(bold=True)},
    "guide": {"alignment": _TOP_WRAP},
    "figure": {"alignment": Alignment(vertical="top", horizontal="center"), "number_format": "0.00"},
    "flag": {"alignment": _TOP_WRAP, "font": Font(color="FF9C0006"), "fill": PatternFill("solid", fgColor="FFFFC7CE")},
    "lint": {"alignment": _TOP_WRAP, "font": Font(color="FF9C5700"), "fill": PatternFill("solid", fgColor="FFFFEB9C")},
}
#: The Items column with each item's lint findings (for reading; the import ignores it).
LINT_HEADER = "Lint findings"


@dataclass(frozen=True)
class Formula:
    """A formula this exporter composes itself (the Summary's review progress), written by
    :meth:`_StyleBook.cell` as a formula cell.  Nothing else becomes one: every ``str`` is written as
    text, whatever it starts with (``=``, ``+``, ``-``, ``@``: an author's text stays text)."""

    text: str  # with its leading "="


class _StyleBook:
    """Each named style turned once into openpyxl's per-cell style array, shared by every cell."""

    def __init__(self, ws: Any) -> None:
        self.arrays: dict[tuple[str, bool], StyleArray] = {}
        self.ids: dict[tuple[str, bool], str] = {}  # the cellXfs index of each, for hand-built cells
        for name, attrs in _STYLES.items():
            for quoted in (False, True):
                probe = WriteOnlyCell(ws)
                for attr, value in attrs.items():
                    setattr(probe, attr, value)
                # quotePrefix: Excel shows and keeps the cell as text even when a reviewer edits it.
                probe.quotePrefix = quoted
                self.arrays[(name, quoted)] = probe._style  # type: ignore[attr-defined]  # openpyxl's style array, set directly for speed
                self.ids[(name, quoted)] = str(probe.style_id)  # registers the style in the workbook

    def cell(self, ws: Any, value: Any, style: str) -> Cell:
        c = WriteOnlyCell(ws)
        if isinstance(value, Formula):
            quoted = False
            c.value = value.text
            c.data_type = "f"
        elif isinstance(value, str):
            value = _cell_text(value)
            quoted = value.startswith(FORMULA_PREFIXES)
            c.value = value
            # openpyxl turns text starting with "=" into a formula: force it back to a string cell.
            c.data_type = "s"
        else:
            quoted = False
            c.value = value
        c._style = self.arrays[(style, quoted)]  # type: ignore[attr-defined]
        return c


_CUT_MARK = "\n[… cut: longer than an Excel cell holds]"


def _cell_text(text: str) -> str:
    """Text a cell can hold: no XML-illegal control characters, no CRLF, within Excel's cell limit.

    Trailing whitespace (the newline YAML block scalars end with) is dropped; leading characters are
    kept as they are — a leading tab or ``=`` is shown verbatim, as text.
    """
    text = text.rstrip()
    if "\r" in text[1:]:
        text = text[:1] + text[1:].replace("\r\n", "\n")
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - len(_CUT_MARK)] + _CUT_MARK
    return text


# --- what each cell says ------------------------------------------------------------------------


def _lines(prefix: Callable[[int], str], texts: Iterable[str]) -> str:
    return "\n".join(f"{prefix(n)}{t}" for n, t in enumerate(texts, 1))


def answer_text(item: AnyItem) -> str:
    """The key of any item type, as a reviewer reads it."""
    if isinstance(item, ChoiceItem):
        keys = ", ".join(o.id for o in item.keys)
        if item.type == "multiple_response":
            return f"{keys} ({'all or nothing' if item.scoring == 'all_or_nothing' else 'partial credit'})"
        return keys
    if isinstance(item, TrueFalseItem):
        return "True" if item.answer else "False"
    if isinstance(item, ShortAnswerItem):
        return " | ".join(item.answers) + (" (case-sensitive)" if item.case_sensitive else "")
    if isinstance(item, NumericItem):
        unit = f" {item.unit}" if item.unit else ""
        if item.range is not None:
            return f"any value from {number_text(item.range[0])} to {number_text(item.range[1])}{unit}"
        assert item.answer is not None
        return f"{number_text(item.answer)} ± {number_text(item.tolerance)}{unit}"
    if isinstance(item, EssayItem):
        parts = []
        if item.sample_answer:
            parts.append(f"Sample answer: {item.sample_answer}")
        if item.min_words is not None or item.max_words is not None:
            parts.append(f"Words: {item.min_words if item.min_words is not None else 0}–{item.max_words if item.max_words is not None else '∞'}")
        if item.response_template:
            parts.append(f"Answer box starts with: {item.response_template}")
        return "\n".join(parts) or "(graded by hand with the rubric)"
    if isinstance(item, MatchingItem):
        text = "\n".join(f"{p.prompt} → {p.match}" for p in item.pairs)
        if item.distractors:
            text += "\nDistractors: " + ", ".join(item.distractors)
        return text
    if isinstance(item, OrderingItem):
        return _lines(lambda n: f"{n}. ", item.sequence)
    if isinstance(item, ClozeItem):
        return "\n".join(_blank_text(b) for b in item.blanks)
    if isinstance(item, FlashcardItem):
        return item.answer
    if isinstance(item, CalculatedItem):
        return calculated_text(item)
    return ""  # pragma: no cover - every model type is handled above


def calculated_text(item: CalculatedItem) -> str:
    """A calculated item's definition (variables, derived, formula, tolerance) and one sample variant."""
    lines = []
    for v in item.variables:
        if v.values:
            lines.append(f"{v.name} ∈ {{{', '.join(number_text(x) for x in v.values)}}}")
        else:
            grid = f"step {number_text(v.step)}" if v.step is not None else f"{v.decimals} decimals"
            lines.append(f"{v.name} from {number_text(v.low)} to {number_text(v.high)} ({grid})")
    lines += [f"{name} = {formula}" for name, formula in item.derived]
    unit = f" {item.unit}" if item.unit else ""
    tolerance = f"{percent_text(item.tolerance)} %" if item.tolerance_type == "relative" else number_text(item.tolerance)
    lines.append(f"answer = {item.formula} ± {tolerance}{unit}")
    try:
        sample = variants(item, 1)[0]
    except ValueError as exc:
        lines.append(f"Sample variant: none ({exc})")
    else:
        shown = ", ".join(f"{k} = {x:.6g}" for k, x in sample.values)
        lines.append(f"Sample variant: {shown} → answer {sample.answer:.{item.answer_decimals}f}{unit}")
    return "\n".join(lines)


def _blank_text(b: Any) -> str:
    if b.kind == "choice":
        key = f"{b.correct} (choices: {', '.join(b.choices)})"
    elif b.kind == "numeric":
        key = f"{number_text(b.number)} ± {number_text(b.tolerance)}"
    else:
        key = " | ".join(b.answers) + (" (case-sensitive)" if b.case_sensitive else "")
    extra = f" [{plural(b.points, 'pt')}]" if b.points != 1 else ""
    fb = f" — {b.feedback}" if b.feedback else ""
    return f"{{{{{b.name}}}}}: {key}{extra}{fb}"


def _options(item: AnyItem) -> list[tuple[str, str | None, bool]]:
    """(option cell, explanation, is key) for choice and true/false items."""
    if isinstance(item, ChoiceItem):
        return [(f"{KEY_MARK if o.correct else ''}{o.id}) {o.text}", o.feedback, o.correct) for o in item.options]
    if isinstance(item, TrueFalseItem):
        return [
            (f"{KEY_MARK if item.answer else ''}True", item.true_feedback, item.answer),
            (f"{KEY_MARK if not item.answer else ''}False", item.false_feedback, not item.answer),
        ]
    return []


def _solution(item: AnyItem) -> str | None:
    if item.solution is None:
        return None
    parts: list[str] = []
    for section in explanation(item, SOLUTION_LABELS):
        if section.steps:
            parts += [f"{n}. {s.title}: {s.text}" if s.title else f"{n}. {s.text}" for n, s in enumerate(section.steps, 1)]
        else:
            parts.append(f"{section.label}: {section.text}")
    return "\n".join(parts)


#: Labels of the Solution column's parts, in order (the steps are numbered, unlabelled).
SOLUTION_LABELS: dict[SectionKind, str | None] = {"steps": None, "final_answer": "Final answer", "quick_check": "Quick check"}


def _rubric(item: AnyItem) -> str | None:
    if not isinstance(item, EssayItem) or not item.rubric:
        return None
    return "\n".join(f"• {c.criterion} ({plural(c.points, 'pt')})" + (f": {c.description}" if c.description else "") for c in item.rubric)


def _history(item: AnyItem) -> str | None:
    if not item.reviews:
        return None
    out = []
    for r in item.reviews:
        head = " ".join(x for x in (r.date, r.decision, f"({r.reviewer})" if r.reviewer else None) if x)
        if r.suggested_difficulty:
            head += f", suggested {r.suggested_difficulty}"
        out.append(head + (f": {r.comment}" if r.comment else ""))
    return "\n".join(out)


def _source_file(item: AnyItem) -> str:
    loc = item.location
    return loc.path if loc.index is None else f"{loc.path} (item {loc.index + 1})"


def _evidence_values(item: AnyItem) -> list[tuple[Any, str]]:
    """Facility, discrimination and a one-cell summary of the item's latest evidence record."""
    if not item.evidence:
        return [(None, "figure"), (None, "figure"), (None, "text")]
    e = item.evidence[-1]
    parts = [f"{e.date}, n={e.n}"]
    parts += [f"{code} {ANALYSIS_FLAGS.get(code, '')}".strip() for code in e.flags]
    if e.suggested_difficulty and e.suggested_difficulty != item.difficulty:
        parts.append(f"data supports: {e.suggested_difficulty}")
    return [(e.facility, "figure"), (e.discrimination, "figure"), ("; ".join(parts), "flag" if e.flags else "text")]


# --- the Items sheet's columns ------------------------------------------------------------------


def item_columns(n_options: int) -> list[Column]:
    """Every column of the Items sheet, for a bank whose choice items have at most n_options options."""
    cols = [
        Column(H_ID, 16, "id", "The item's id (do not edit: the import matches rows by it)."),
        Column("Type", 15, "text", "Question type."),
        Column("Topic", 15, "text", "Topic the item belongs to."),
        Column("Difficulty", 11, "text", "Difficulty the author gave (easy / medium / hard)."),
        Column("Level", 12, "text", "Learner level (beginner / intermediate / advanced)."),
        Column("Bloom", 11, "text", "Cognitive level (Bloom's taxonomy)."),
        Column("Status", 10, "text", "Workflow status before this review (draft / review / approved / retired)."),
        Column("Points", 8, "number", "Maximum score."),
        Column("Title", 22, "text", "Short title."),
        Column("Stem", 60, "text", "The question as learners see it (Markdown source: **bold**, `code`, $math$, ![image](file))."),
    ]
    for n in range(1, n_options + 1):
        cols.append(Column(f"Option {n}", 32, "text", f"Option {n}, with its id; ✓ and green marks a correct option."))
        cols.append(Column(f"Explanation {n}", 38, "text", f"Feedback shown for option {n}: for a wrong option, why it is wrong."))
    cols += [
        Column("Answer", 34, "text", "The correct answer(s): keys, accepted answers, value ± tolerance, pairs, order, blanks."),
        Column("Rationale", 44, "text", "Why the key is right (shown after answering)."),
        Column("Hints", 34, "text", "Hints, in order."),
        Column("Solution", 44, "text", "Worked solution steps, final answer and quick check."),
        Column("Common mistakes", 34, "text", "Mistakes learners commonly make."),
        Column("Rubric", 40, "text", "Essay scoring criteria with points."),
        Column("Tags", 18, "text", "Keywords."),
        Column("Objectives", 26, "text", "Learning objectives."),
        Column("Source", 20, "text", "Where the content comes from."),
        Column("Source file", 24, "text", "The bank file that holds the item."),
        Column("Review history", 30, "text", "Earlier review decisions recorded in the bank."),
        Column("Facility", 10, "figure", "Latest item analysis (itembank analyze): the share of the marks students got, 0 to 1 (see the Statistics sheet)."),
        Column("Discrimination", 14, "figure", "Latest item analysis: correlation of the item with the rest of the test, -1 to 1; below 0.20 separates strong from weak students poorly."),
        Column("Analysis flags", 30, "text", "Latest item analysis: its date, attempts, flags (AN codes, see the Statistics sheet) and the difficulty the data supports."),
        Column(
            LINT_HEADER,
            46,
            "lint",
            "Item-writing flaws `itembank lint` found: rule code, field, reason and a suggestion (docs/lint.md). Bank-wide ones are on the Summary sheet.",
        ),
        Column(H_REVIEWER, 16, "review", "YOUR NAME (or initials)."),
        Column(H_DECISION, 12, "review", "YOUR DECISION: Approve, Revise or Reject (pick from the list)."),
        Column(H_SUGGESTED, 13, "review", "Optional: the difficulty you think is right (easy / medium / hard)."),
        Column(H_COMMENTS, 44, "review", "What to change and why (required in spirit for Revise and Reject)."),
        Column(H_EXPORTED_ID, 14, "hidden", "Hidden: the id as exported (detects edited id cells).", hidden=True),
        Column(H_FINGERPRINT, 18, "hidden", "Hidden: fingerprint of the item's content when exported.", hidden=True),
    ]
    return cols


#: The two cells of an option an item does not have.
_NO_OPTION: list[tuple[Any, str]] = [(None, "text"), (None, "text")]


def item_values(item: AnyItem, n_options: int, findings: str | None = None) -> list[tuple[Any, str]]:
    """The Items row of one item as (value, style) pairs, in :func:`item_columns` order.

    ``findings``: the item's lint findings as cell text (``itembank.lint.workbook``)."""
    row: list[tuple[Any, str]] = [
        (item.id, "id"),
        (item.type, "text"),
        (item.topic, "text"),
        (item.difficulty, "text"),
        (item.level, "text"),
        (item.bloom, "text"),
        (item.status, "text"),
        (int(item.points) if float(item.points).is_integer() else item.points, "number"),
        (item.title, "text"),
        (item.stem, "text"),
    ]
    options = _options(item)
    for text, why, key in options[:n_options]:
        row.append((text, "key" if key else "text"))
        row.append((why, "text"))
    if len(options) < n_options:  # the columns of the options other items have (the bank's widest sets them)
        row += _NO_OPTION * (n_options - len(options))
    row += [
        (answer_text(item), "text"),
        (item.rationale, "text"),
        (_lines(lambda n: f"{n}. ", item.hints) or None, "text"),
        (_solution(item), "text"),
        (_lines(lambda n: "• ", item.common_mistakes) or None, "text"),
        (_rubric(item), "text"),
        (", ".join(item.tags) or None, "text"),
        ("; ".join(item.objectives) or None, "text"),
        (item.source, "text"),
        (_source_file(item), "text"),
        (_history(item), "text"),
        *_evidence_values(item),
        (findings, "lint"),
        (None, "review"),
        (None, "review"),
        (None, "review"),
        (None, "review"),
        (item.id, "hidden"),
        (fingerprint(item), "hidden"),
    ]
    return row


def row_height(values: list[tuple[Any, str]], chars_per_line: Sequence[float]) -> float:
    """Points needed to show every wrapped line of the row's tallest cell (Excel cannot auto-fit on open).

    An estimate: each paragraph takes ceil(characters / characters-per-line) lines.
    """
    most = 1.0
    for (value, _style), per_line in zip(values, chars_per_line):
        if type(value) is not str or (len(value) <= per_line and "\n" not in value):
            continue
        lines = sum(-(-len(part) // per_line) or 1 for part in value.split("\n"))
        most = max(most, lines)
    return min(MAX_ROW_HEIGHT, most * LINE_HEIGHT + 3)


def chars_per_line(widths: list[float]) -> list[int]:
    """Characters of prose per line in columns of these widths (Calibri 11: ~1.15 per width unit)."""
    return [max(1, int(w * 1.15)) for w in widths]


# --- the workbook -------------------------------------------------------------------------------

_FILLS = {
    "green": PatternFill("solid", bgColor="FFC6EFCE"),
    "amber": PatternFill("solid", bgColor="FFFFEB9C"),
    "red": PatternFill("solid", bgColor="FFFFC7CE"),
    "grey": PatternFill("solid", bgColor="FFE7E6E6"),
    "blue": PatternFill("solid", bgColor="FFDDEBF7"),
}
_DIFFICULTY_COLOURS = {"easy": "green", "medium": "amber", "hard": "red"}
_STATUS_COLOURS = {"draft": "grey", "review": "amber", "approved": "green", "retired": "red"}
_DECISION_COLOURS = {"Approve": "green", "Revise": "amber", "Reject": "red"}


def _colour_rules(ws: Any, ref: str, colours: dict[str, str]) -> None:
    for value, colour in colours.items():
        ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[f'"{value}"'], fill=_FILLS[colour]))


def _dropdown(ws: Any, ref: str, values: Iterable[str], title: str) -> None:
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(values) + '"',
        allow_blank=True,
        showDropDown=False,  # (sic) False shows the in-cell arrow
        showErrorMessage=True,
        errorTitle=title,
        error=f"Pick one of: {', '.join(values)}",
        showInputMessage=True,
        promptTitle=title,
        prompt=f"{', '.join(values)} (or leave empty)",
    )
    dv.add(ref)
    ws.data_validations.append(dv)


def _write_items(
    ws: Any,
    bank: Bank,
    styles: _StyleBook,
    result: ExportResult,
    findings: dict[str, str],
    rows_out: IO[bytes],
    fragments: Fragments | None = None,
    jobs: int = 1,
) -> tuple[list[Column], int]:
    n_options = max((len(_options(i)) for i in bank.items), default=0)
    cols = item_columns(n_options)
    widths = [c.width for c in cols]
    for idx, col in enumerate(cols, 1):
        dim = ws.column_dimensions[get_column_letter(idx)]
        dim.width = col.width
        dim.hidden = col.hidden
    ws.freeze_panes = "B2"  # header row and id column stay in view
    ws.sheet_view.zoomScale = 90

    ws.row_dimensions[1].height = 32
    ws.append([styles.cell(ws, c.header, "header") for c in cols])
    # The item rows are written here as markup (_RowWriter, by the template row.xml.j2) and spliced into
    # the sheet's <sheetData> when the zip is written (see _DeterministicZip): openpyxl's per-cell
    # Python objects would cost more than the rest of the export together.  openpyxl still writes
    # everything else of the sheet.
    _rows_xml(rows_out, bank, n_options, widths, styles, result, findings, fragments, jobs)

    last_row = max(2, len(bank.items) + 1)
    letter = {c.header: get_column_letter(i) for i, c in enumerate(cols, 1)}
    ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{last_row}"

    def rows(header: str) -> str:
        return f"{letter[header]}2:{letter[header]}{last_row}"

    _colour_rules(ws, rows("Difficulty"), _DIFFICULTY_COLOURS)
    _colour_rules(ws, rows(H_SUGGESTED), _DIFFICULTY_COLOURS)
    _colour_rules(ws, rows("Status"), _STATUS_COLOURS)
    _colour_rules(ws, rows(H_DECISION), _DECISION_COLOURS)
    # A decided row without a comment on Revise/Reject gets its Comments cell flagged.
    dec, com = letter[H_DECISION], letter[H_COMMENTS]
    ws.conditional_formatting.add(rows(H_COMMENTS), FormulaRule(formula=[f'AND(OR(${dec}2="Revise",${dec}2="Reject"),LEN(TRIM(${com}2))=0)'], fill=_FILLS["red"]))
    _dropdown(ws, rows(H_DECISION), DECISIONS, "Decision")
    _dropdown(ws, rows(H_SUGGESTED), DIFFICULTIES, "Suggested difficulty")

    # Protection keeps the item columns and the hidden fingerprint read-only; the review cells are
    # unlocked.  No password: it guards against slips, not against people (the import re-checks all).
    prot = ws.protection
    prot.sheet = True
    prot.autoFilter = False
    prot.sort = False
    prot.formatColumns = False
    prot.formatRows = False
    prot.formatCells = True
    ws.print_options.gridLines = True
    ws.page_setup.orientation = "landscape"
    return cols, last_row


def _rows_xml(
    out: IO[bytes],
    bank: Bank,
    n_options: int,
    widths: list[float],
    styles: _StyleBook,
    result: ExportResult,
    findings: dict[str, str],
    fragments: Fragments | None = None,
    jobs: int = 1,
) -> None:
    """Write into ``out`` the Items sheet's item rows as SpreadsheetML ``<row>`` elements (no namespace: they sit inside
    the sheet's default namespace), every text an inline string cell — never a formula (no shared
    strings: each row stands alone, which is what lets the fragment cache keep it).

    ``fragments``: the export's fragment cache: an unchanged item's row (with the same option
    columns and lint findings) is taken from it as the bytes written last time, with the notes it
    made, renumbered when the item moved (an item added or removed before it); the other rows are
    built and kept.  ``jobs``: from
    :data:`PARALLEL_FROM` rows to build, forked processes build a share of them
    (``itembank.forked.shared_out``: the same rows whatever the number), :data:`ROWS_AT_ONCE` rows
    at a time, so that what waits to be written stays small."""
    writer = _RowWriter(n_options, widths, styles)
    items = bank.items
    for start in range(0, len(items), ROWS_AT_ONCE):
        block = range(start, min(start + ROWS_AT_ONCE, len(items)))
        rows: dict[int, tuple[bytes, list[str]]] = {}
        keys: dict[int, bytes] = {}
        if fragments is not None:
            for i in block:
                cell_findings = findings.get(items[i].id)
                keys[i] = fragments.key(items[i], "row", str(n_options), "" if cell_findings is None else "\0" + cell_findings)
                found, kept = fragments.lookup(keys[i], partial(_from_row_piece, i + 2))
                if found and kept is not None:
                    rows[i] = kept
        todo = [i for i in block if i not in rows]
        made = in_task_order(shared_out(partial(_make_rows, writer, items, findings), todo, jobs if len(todo) >= PARALLEL_FROM else 1), len(todo))
        for i, built in zip(todo, made):
            rows[i] = built
            if fragments is not None:
                fragments.put(keys[i], _row_piece(rows[i]))
        for i in block:
            row, notes = rows[i]
            result.notes.extend(notes)
            out.write(row)
            result.wrote(items[i].type)


#: From this many rows to build (of a block of :data:`ROWS_AT_ONCE`), the rows are built over
#: ``ExportContext.jobs`` processes; below it a fork costs more than it saves.
PARALLEL_FROM = 1000
#: The rows built at a time: ~4 KB each, so ~20 MB wait in memory, whatever the bank's size.
ROWS_AT_ONCE = 5000


def _make_rows(writer: _RowWriter, items: Sequence[AnyItem], findings: dict[str, str], indexes: Sequence[int]) -> list[tuple[bytes, list[str]]]:
    """The rows (and their notes) of the items at ``indexes`` (row number: index + 2)."""
    return [writer.row(items[i], i + 2, findings.get(items[i].id)) for i in indexes]


#: A cell of a row, as the template takes it: (reference, style id, kind, value); see row.xml.j2.
_Cell = tuple[str, str, str, str | None]


class _RowWriter:
    """Writes one item's ``<row>`` of the Items sheet (see :func:`_rows_xml`).

    The row is the template ``row.xml.j2``'s macro ``row`` (:func:`_row_macro`), given the row
    number, its height and each cell's reference, style id, kind and value; it writes the very bytes
    lxml wrote when the row was built as elements (``tests/test_xlsx_rows.py`` holds the two to the
    same bytes).  Every value it writes passes through :func:`..kit.escape.xml_text`: each cell's text (the
    only text from the item) is escaped, and the attribute values — letters, digits and number text
    (the row number, the height from ``number_text``, the column letters, the style ids) — are
    written as they are, as XML writes them."""

    def __init__(self, n_options: int, widths: list[float], styles: _StyleBook) -> None:
        self.n_options = n_options
        self.letters = [get_column_letter(i) for i in range(1, len(widths) + 1)]
        self.per_line = chars_per_line(widths)
        self.sid = styles.ids
        self.write = _row_macro()

    def row(self, item: AnyItem, r: int, findings: str | None) -> tuple[bytes, list[str]]:
        """The item's row (number ``r``) as bytes, and the notes it makes."""
        letters, sid = self.letters, self.sid
        notes: list[str] = []
        values = item_values(item, self.n_options, findings)
        cells: list[_Cell] = []
        append = cells.append
        for col, (value, style) in enumerate(values):
            if value is None and style != "review":  # (most cells of a wide bank's rows: no option there)
                continue
            if isinstance(value, str) and value:
                if len(value) > MAX_CELL_CHARS:
                    notes.append(f"{item.id}: a text longer than {MAX_CELL_CHARS:,} characters was cut in the workbook")
                text = _cell_text(value)
                # A text that starts or ends with whitespace keeps it ("spaced": xml:space="preserve" on its <t>).
                kind = "text" if text == text.strip() else "spaced"
                append((f"{letters[col]}{r}", sid[(style, text.startswith(FORMULA_PREFIXES))], kind, text))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                append((f"{letters[col]}{r}", sid[(style, False)], "number", number_text(value)))
            elif style == "review":  # empty but unlocked, so that the reviewer can type into it
                append((f"{letters[col]}{r}", sid[(style, False)], "empty", None))
        return self.write(str(r), number_text(row_height(values, self.per_line)), cells).encode("utf-8"), notes


@cache
def _row_macro() -> Callable[[str, str, list[_Cell]], str]:
    """The macro ``row`` of ``row.xml.j2`` (loaded once; a forked child inherits it).  Its
    environment writes every value through :func:`..kit.escape.xml_text` (``finalize``; no autoescape:
    Jinja's would escape quotes, which lxml wrote as they are).  The macro, not ``render``: a macro
    collects its output in a list, a whole ``<c>`` at a time, where a template's render yields it
    piece by piece (the macro: ~10% less time for the rows)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=False,
        finalize=xml_text,
        undefined=jinja2.StrictUndefined,
    )
    macro: Callable[[str, str, list[_Cell]], str] = env.get_template("row.xml.j2").module.row  # type: ignore[attr-defined]
    return macro


def _row_piece(made: tuple[bytes, list[str]]) -> bytes:
    """A row as a fragment: its notes as a JSON line, then the row's bytes as :class:`_RowWriter` wrote them."""
    row, notes = made
    return strings_piece(notes) + b"\n" + row


def _from_row_piece(r: int, raw: bytes) -> tuple[bytes, list[str]]:
    """The row :func:`_row_piece` kept, as row number ``r`` (:func:`_renumbered` when it was kept
    under another); ValueError when the piece is not one."""
    line, _, row = raw.partition(b"\n")
    notes = [] if line == b"[]" else from_json_piece(line)  # (most rows make no note)
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ValueError("not a row's notes")
    if not row.startswith(b'<row r="%d" ' % r):
        row = _renumbered(row, r)
    if not row.endswith(b"</row>"):
        raise ValueError("not a row")
    return row, notes


#: A row's start tag as :class:`_RowWriter` writes it (its number first), and a cell's (its reference first).
_ROW_NUMBER = re.compile(rb'<row r="([1-9][0-9]*)" ')
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]*)"')


def _renumbered(row: bytes, r: int) -> bytes:
    """A kept row as row number ``r``: its own number and every cell's reference changed, nothing
    else (in markup, ``<`` starts a tag: no text holds ``<c r=``); ValueError when a cell is not
    numbered as the row was."""
    head = _ROW_NUMBER.match(row)
    if head is None:
        raise ValueError("not a row")
    old, new = head.group(1), b"%d" % r

    def cell(m: re.Match[bytes]) -> bytes:
        if m.group(2) != old:
            raise ValueError("a cell of another row")
        return b'<c r="' + m.group(1) + new + b'"'

    body, count = _CELL_REF.subn(cell, row[head.end() :])
    if count != row.count(b"<c "):
        raise ValueError("a cell not written as the row writer writes one")
    return b'<row r="' + new + b'" ' + body


class _Rows:
    """A write-only sheet that counts the rows appended (to merge cells and size the row being written)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.count = 0

    def append(self, row: list[Any]) -> None:
        self.ws.append(row)
        self.count += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ws, name)


def _write_summary(wb: Workbook, bank: Bank, styles: _StyleBook, decision_ref: str, lint: WorkbookFindings) -> None:
    ws = _Rows(wb.create_sheet(SUMMARY_SHEET))
    ws.column_dimensions["A"].width = 28
    for c in "BCDEF":
        ws.column_dimensions[c].width = 12
    cell = styles.cell
    ws.append([cell(ws, f"{bank.title}: {len(bank.items)} items", "title")])
    ws.append([])
    # Values, not formulas over the Items sheet: a reviewer's filter must never change these counts.
    diff_cols = [*DIFFICULTIES, None]
    ws.append([cell(ws, h, "header") for h in ("Type", "easy", "medium", "hard", "(no difficulty)", "Total")])
    by_type = Counter((i.type, i.difficulty) for i in bank.items)
    for t in ITEM_TYPES:
        counts = [by_type[(t, d)] for d in diff_cols]
        if sum(counts):
            ws.append([cell(ws, t, "text"), *(cell(ws, n, "number") for n in counts), cell(ws, sum(counts), "number")])
    totals = [sum(1 for i in bank.items if i.difficulty == d) for d in diff_cols]
    ws.append([cell(ws, "Total", "bold"), *(cell(ws, n, "number") for n in totals), cell(ws, len(bank.items), "number")])
    ws.append([])
    ws.append([cell(ws, h, "header") for h in ("Topic", "Items", "draft", "review", "approved", "retired")])
    by_topic = Counter(i.topic or "General" for i in bank.items)
    by_topic_status = Counter((i.topic or "General", i.status) for i in bank.items)
    for topic in bank.topics():
        ws.append([cell(ws, topic, "text"), cell(ws, by_topic[topic], "number"), *(cell(ws, by_topic_status[(topic, s)], "number") for s in STATUSES)])
    ws.append([])
    # Review progress: COUNTIF counts every row whether or not it is filtered out, and recomputes
    # as the reviewer fills in decisions.
    ws.append([cell(ws, h, "header") for h in ("Review progress", "Rows")])
    # Formulas (Formula): a str starting with "=" would be written as text, as every text is.
    for d in DECISIONS:
        ws.append([cell(ws, d, "text"), cell(ws, Formula(f'=COUNTIF({decision_ref},"{d}")'), "number")])
    # The items less the decided rows (the range has one empty row when there is no item: not ROWS()).
    ws.append([cell(ws, "Not decided yet", "text"), cell(ws, Formula(f'={len(bank.items)}-COUNTIF({decision_ref},"?*")'), "number")])
    _write_lint_summary(ws, styles, lint)
    ws.protection.sheet = True


def _write_lint_summary(ws: _Rows, styles: _StyleBook, lint: WorkbookFindings) -> None:
    """Findings per lint rule, then each bank-level finding (key balance, coverage, ...) in full."""
    cell = styles.cell
    ws.append([])
    ws.append([cell(ws, h, "header") for h in ("Lint (itembank lint)", "Findings")])
    for code, name, n in lint.counts:
        ws.append([cell(ws, f"{code} {name}", "text"), cell(ws, n, "number")])
    if not lint.counts:
        ws.append([cell(ws, "no findings", "text"), cell(ws, 0, "number")])
    ws.append([])
    if not lint.bank_rules:
        ws.append([cell(ws, "Bank-level lint rules are not run on a part of the bank (an assessment form or a status selection): see the whole bank's workbook.", "text")])
        return
    ws.append([cell(ws, "Bank-level finding", "header"), cell(ws, "Where and why (with a suggestion)", "header")])
    for code, name, message, where in lint.bank:
        n = ws.count + 1  # the row this append writes
        ws.merged_cells.add(f"B{n}:F{n}")
        ws.row_dimensions[n].height = LINE_HEIGHT * math.ceil((len(where) + len(message) + 2) / 70) + 3
        ws.append([cell(ws, f"{code} {name}", "text"), cell(ws, f"{where}: {message}", "guide")])
    if not lint.bank:
        ws.append([cell(ws, "none", "text")])


GUIDE_TEXT = (
    "How to review",
    "1. Go to the Items sheet. Each row is one question. Read the stem, the options (✓ and green mark the correct ones) with the explanation beside each, the answer, the rationale, hints and solution.",
    "2. In the yellow columns on the right: type your name under Reviewer, pick a Decision, optionally a Suggested difficulty, and write Comments. Leave a row's Decision empty if you did not review it.",
    "3. Approve = the item is ready for use. Revise = it needs changes (say which in Comments). Reject = it should not be used (say why).",
    "4. Only the yellow review columns can be edited; filter and sort freely, but do not insert, delete or rename columns and never edit the ID column. Save as .xlsx and send the file back.",
    "5. Facility, Discrimination and Analysis flags (and the Statistics sheet, when there is one) come from the analysis of quizzes already taken (itembank analyze): a flagged item deserves a close look, and a difficulty the data supports belongs in Suggested difficulty.",
    "",
    "What happens to your decisions (itembank review import)",
    "Approve sets the item's status to approved; Revise sets it to review; Reject sets it to retired. A suggested difficulty replaces the item's difficulty. Every decision is kept in the item's review history with your name, comment and the import date.",
    "Decisions on an item the author changed after this workbook was made are not applied: the author is told to ask you again.",
    "",
    "Columns of the Items sheet",
)


def _write_guide(wb: Workbook, styles: _StyleBook, cols: list[Column]) -> None:
    ws = wb.create_sheet(GUIDE_SHEET)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100
    for n, line in enumerate(GUIDE_TEXT, 1):
        heading = bool(line) and not line[0].isdigit() and len(line) < 80
        if heading:
            ws.append([styles.cell(ws, line, "title" if n == 1 else "bold")])
            continue
        if line:
            ws.merged_cells.add(f"A{n}:B{n}")  # a paragraph spans both columns
            ws.row_dimensions[n].height = LINE_HEIGHT * math.ceil(len(line) / 130) + 3
        ws.append([styles.cell(ws, line, "guide") if line else None])
    seen: set[str] = set()
    for col in cols:
        key = col.header.rstrip("0123456789 ")
        if key in seen:
            continue
        seen.add(key)
        header = col.header if key == col.header else f"{key} 1, 2, …"
        ws.append([styles.cell(ws, header, "bold"), styles.cell(ws, col.meaning, "guide")])
    ws.protection.sheet = True


def _write_meta(wb: Workbook, bank: Bank, ctx: ExportContext, styles: _StyleBook) -> None:
    ws = wb.create_sheet(META_SHEET)
    ws.sheet_state = "veryHidden"
    for key, value in (
        (META_FORMAT_KEY, META_FORMAT),
        (META_VERSION_KEY, META_VERSION),
        (META_BANK_KEY, bank.title),
        (META_ITEMS_KEY, len(bank.items)),
        (META_GENERATOR_KEY, f"itembank {ctx.tool_version}".strip()),
    ):
        ws.append([styles.cell(ws, key, "text"), styles.cell(ws, value, "text")])
    ws.protection.sheet = True


#: Per flagged item a bar chart; past this many, the rest are listed in the table only (and noted).
MAX_ITEM_CHARTS = 40
#: Flagged items labelled by name in the scatter chart (one series each); past this, one series "other flagged".
MAX_LABELLED = 25
_GROUPS = ("low", "middle", "high")


def _write_statistics(wb: Workbook, bank: Bank, styles: _StyleBook, result: ExportResult) -> None:
    """The Statistics sheet: each analysed item's latest evidence, a facility/discrimination scatter
    (flagged items named) and, per flagged item, its option choices by score group — native charts
    that Excel and LibreOffice draw from the sheet's own cells."""
    analysed = [i for i in bank.items if i.evidence]
    if not analysed:
        return
    flagged = [i for i in analysed if i.evidence[-1].flags]
    plain = [i for i in analysed if not i.evidence[-1].flags]
    ws = wb.create_sheet(STATISTICS_SHEET)
    for col, width in zip("ABCDEFGHIJ", (16, 28, 11, 7, 10, 14, 11, 11, 12, 40)):
        ws.column_dimensions[col].width = width
    cell = styles.cell
    written = [0]  # rows appended so far (a write-only sheet cannot be asked)

    def put(cells: list[Any]) -> None:
        ws.append(cells)
        written[0] += 1

    put([cell(ws, f"Item analysis: the latest evidence of {plural(len(analysed), 'item')} ({len(flagged)} flagged)", "title")])
    put([cell(ws, "Written by `itembank analyze --write` from the LMS's reports; flagged items first. Facility: share of the marks (0-1). Discrimination: correlation with the rest of the test (below 0.20 is weak).", "guide")])
    put([])
    header = ("ID", "Title", "Date", "n", "Facility", "Discrimination", "Efficiency", "Difficulty", "Data supports", "Flags")
    put([cell(ws, h, "header") for h in header])
    first = 5
    for item in flagged + plain:
        e = item.evidence[-1]
        flags = "; ".join(f"{c} {ANALYSIS_FLAGS.get(c, '')}".strip() for c in e.flags)
        put(
            [
                cell(ws, item.id, "id"),
                cell(ws, item.title or "", "text"),
                cell(ws, e.date, "text"),
                cell(ws, e.n, "number"),
                cell(ws, e.facility, "figure"),
                cell(ws, e.discrimination, "figure"),
                cell(ws, e.discriminative_efficiency, "figure"),
                cell(ws, item.difficulty or "", "text"),
                cell(ws, e.suggested_difficulty or "", "text"),
                cell(ws, flags, "flag" if flags else "text"),
            ]
        )
    last = first + len(analysed) - 1
    scatter = ScatterChart()
    scatter.title = "Facility against discrimination (red: flagged)"
    scatter.legend = None
    scatter.x_axis.crosses = "min"  # the facility axis along the bottom, below negative discriminations
    scatter.style = 13
    scatter.x_axis.title = "facility"
    scatter.y_axis.title = "discrimination"
    scatter.x_axis.scaling.min, scatter.x_axis.scaling.max = 0, 1
    scatter.y_axis.scaling.min, scatter.y_axis.scaling.max = -1, 1
    scatter.x_axis.delete = False
    scatter.y_axis.delete = False
    scatter.height, scatter.width = 10, 17

    def points(title: str, row0: int, row1: int, colour: str, label: bool) -> None:
        series = Series(Reference(ws, min_col=6, min_row=row0, max_row=row1), Reference(ws, min_col=5, min_row=row0, max_row=row1), title=title)
        series.marker.symbol = "circle"
        series.marker.size = 8
        series.marker.graphicalProperties.solidFill = colour
        series.marker.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.noFill = True
        if label:
            series.dLbls = DataLabelList(showSerName=True, showVal=False, showCatName=False, showLegendKey=False, showPercent=False, showBubbleSize=False)
        scatter.series.append(series)

    if plain:
        points("items", first + len(flagged), last, "2C7FB8", False)
    for n, item in enumerate(flagged):
        if n < MAX_LABELLED:
            points(item.id, first + n, first + n, "C0392B", True)
    if len(flagged) > MAX_LABELLED:
        points("other flagged items", first + MAX_LABELLED, first + len(flagged) - 1, "C0392B", False)
    ws.add_chart(scatter, "L2")
    # Per flagged item: a small table (option x score group) and its bar chart beside it.
    row = max(last + 3, 24)
    for n, item in enumerate(flagged):
        e = item.evidence[-1]
        if not e.groups:
            continue
        if n >= MAX_ITEM_CHARTS:
            result.notes.append(f"Statistics sheet: bar charts for the first {MAX_ITEM_CHARTS} flagged items only ({len(flagged)} flagged)")
            break
        while written[0] < row - 1:
            put([])
        keys = {o.id for o in item.options if o.correct} if isinstance(item, ChoiceItem) else {str(item.answer).lower()} if isinstance(item, TrueFalseItem) else set()
        put([cell(ws, f"{item.id}: option choices by score group", "bold")])
        put([cell(ws, h, "header") for h in ("Option", "low group", "middle group", "high group")])
        for oid, shares in e.groups:
            label = f"{oid} (key)" if oid in keys else oid
            put([cell(ws, label, "text"), *(cell(ws, v, "figure") for v in shares)])
        top, bottom = row + 1, row + 1 + len(e.groups)
        bars = BarChart()
        bars.type = "col"
        bars.grouping = "clustered"
        bars.title = f"{item.id}: {' '.join(e.flags)}"
        bars.y_axis.title = "share of the group"
        bars.y_axis.scaling.min, bars.y_axis.scaling.max = 0, 1
        bars.x_axis.delete = False
        bars.y_axis.delete = False
        bars.add_data(Reference(ws, min_col=2, max_col=4, min_row=top, max_row=bottom), titles_from_data=True)
        bars.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=bottom))
        for series, colour in zip(bars.series, ("9ECAE1", "4292C6", "08306B")):
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        bars.height, bars.width = 7, 12
        ws.add_chart(bars, f"F{row}")
        row += 16
    ws.protection.sheet = True


class _DeterministicZip:
    """The archive openpyxl's writer writes into: it collects the parts and, on close, writes them
    into ``file`` sorted, with a fixed timestamp (``kit.zip.ZipStream``), each worksheet's item rows
    (``splice``) added at the end of its ``<sheetData>``.  Such a worksheet is deflated in chunks of
    rows (``kit.zip.Chunked``), kept in ``chunks`` (the export's fragment cache) when there is one:
    after a one-item edit, a chunk or two of the 38 MB of 10,000 items' rows is deflated again."""

    def __init__(self, file: IO[bytes], splice: dict[Any, IO[bytes]] | None = None, chunks: ChunkStore | None = None) -> None:
        self._file = file
        self._parts: dict[str, bytes] = {}
        self._splice = splice or {}  # worksheet -> a file of the rows to add at the end of its <sheetData>
        self._chunks = chunks

    def writestr(self, zinfo_or_arcname: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else str(zinfo_or_arcname)
        self._parts[name] = data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
        with open(filename, "rb") as fh:  # openpyxl deletes its temporary sheet file right after
            self._parts[str(arcname or filename)] = fh.read()

    def namelist(self) -> list[str]:
        """No member yet (the parts are written on close): what the ``zipfile.ZipFile`` this class
        was answered openpyxl's manifest, which then adds no ``Default`` content type of its own."""
        return []

    def close(self) -> None:
        parts: dict[str, tuple[bytes | IO[bytes], ...]] = {name: (data,) for name, data in self._parts.items()}
        self._parts = {}
        spliced: set[str] = set()
        for ws, rows in self._splice.items():
            name = ws.path[1:]  # known once openpyxl has numbered the sheets
            whole = parts[name][0]
            assert isinstance(whole, bytes)
            head, sep, tail = whole.rpartition(b"</sheetData>")
            if not sep:
                raise RuntimeError(f"{name} has no <sheetData> to add rows to")
            parts[name] = (head, rows, sep, tail)  # written in turn: no joined copy of the rows
            spliced.add(name)
        # Level 2 (zlib-ng's): 38 MB of a 10,000-item workbook in 0.18 s into 8.6 MB (level 1: 0.11 s
        # but 10.9 MB, static codes only); a review workbook is written often and sent once.
        archive = ZipStream(self._file, level=ZIP_LEVEL, date=ZIP_DATE)
        for name in sorted(parts):  # "[Content_Types].xml" sorts first, as Office likes
            chunked = Chunked(b"</row>", self._chunks) if name in spliced else None
            with archive.open(name, chunked) as dest:
                for piece in parts[name]:
                    if isinstance(piece, bytes):
                        dest.write(piece)
                    else:
                        piece.seek(0)
                        shutil.copyfileobj(piece, dest, _COPY)
        archive.close()


#: How much of the rows' file is copied into the zip at a time.
_COPY = 1 << 20


def _save(wb: Workbook, splice: dict[Any, IO[bytes]], chunks: ChunkStore | None = None) -> bytes:
    wb.properties.creator = "itembank"
    wb.properties.lastModifiedBy = "itembank"
    wb.properties.created = FIXED_DATE
    wb.properties.modified = FIXED_DATE
    buf = io.BytesIO()
    archive = _DeterministicZip(buf, splice, chunks)
    # not wb.save(): that stamps "modified" with the clock.  The archive is not a ZipFile: it has
    # what the writer uses of one (writestr, write, namelist, close).
    ExcelWriter(wb, archive).save()  # type: ignore[arg-type]
    return buf.getvalue()


def export_workbook(bank: Bank, ctx: ExportContext) -> ExportResult:
    """The reviewer workbook of ``bank`` (the ``xlsx`` format's export)."""
    result = ExportResult()
    wb = Workbook(write_only=True)
    wb.security = WorkbookProtection(lockStructure=True)  # sheets cannot be renamed, moved or unhidden
    ws = wb.create_sheet(ITEMS_SHEET)
    styles = _StyleBook(ws)
    lint = workbook_findings(bank, ctx.fragments, ctx.jobs)
    # The item rows (~4 KB each: 400 MB for 100,000 items) wait in a temporary file until the zip is written.
    with tempfile.SpooledTemporaryFile(max_size=_ROWS_IN_MEMORY) as rows:
        cols, last_row = _write_items(ws, bank, styles, result, lint.by_item, rows, ctx.fragments, ctx.jobs)
        letter = get_column_letter([c.header for c in cols].index(H_DECISION) + 1)
        decision_ref = f"{quote_sheetname(ITEMS_SHEET)}!${letter}$2:${letter}${last_row}"
        _write_summary(wb, bank, styles, decision_ref, lint)
        _write_statistics(wb, bank, styles, result)
        _write_guide(wb, styles, cols)
        _write_meta(wb, bank, ctx, styles)
        result.data = _save(wb, {ws: rows}, ctx.fragments)
    return result


#: Below this the item rows never touch the disk (small banks, tests).
_ROWS_IN_MEMORY = 4 << 20

