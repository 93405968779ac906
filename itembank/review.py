"""``itembank review import``: reviewers' decisions from the review workbook back into the item files.

The workbook is the one ``itembank export xlsx`` writes (``exporters/xlsx.py``).  Each reviewed row
becomes, on its item:

* ``status``: Approve → ``approved``, Revise → ``review``, Reject → ``retired``;
* ``difficulty``: the suggested difficulty, when the reviewer gave one;
* a record appended to ``reviews`` (decision, reviewer, comment, date, suggested_difficulty).

Safety, in this order:

1. the file is checked before it is opened as a workbook: size, zip member count, total uncompressed
   size, compression ratio, no DTDs (zip and entity bombs); non-xlsx or corrupt files are refused;
2. the workbook must be an itembank review workbook *of this bank* (its hidden ``itembank`` sheet);
3. every row is validated before anything is written: unknown ids, duplicated rows, edited id cells,
   rows that were never exported and unknown decisions are errors with their row number, and one error
   stops the whole import;
4. a row whose item changed since the export (fingerprint mismatch) is held back and reported: the
   reviewer judged another text than the bank now holds;
5. every file's new text is computed first, re-parsed, compared with the intended data and the
   changed items are validated; only then is each file written atomically.

Files are edited in place, not re-serialized: positions come from PyYAML's C composer (libyaml node
marks), the new YAML (the review records: a few short strings) is written here in the plainest style
that reads back exactly, and only the changed scalars and the inserted lines differ — comments, key
order, quoting and line wrapping of everything else stay byte-for-byte (a re-dump would re-indent or
re-wrap hand-written files).  JSON item files are re-serialized with two-space indentation (key order
kept).  The workbook layout is :mod:`itembank.workbook_layout`, shared with the exporter.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as _dt
import difflib
import gc
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .export import ItembankError, write_file_atomic
from .fingerprint import fingerprint
from .model import DIFFICULTIES, AnyItem, Bank
from .problems import RULES
from .rules import RuleContext, check_item
from .schema import item_schema
from .sources import parse
from .workbook_layout import (
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

# --- limits against hostile or broken files ------------------------------------------------------

MAX_WORKBOOK_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 2_000
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
#: Uncompressed/compressed ratio above which a large member is taken for a zip bomb.  Spreadsheet XML
#: compresses ~5–30×; bombs compress ~1000×.
MAX_RATIO = 200
RATIO_CHECK_FROM = 1024 * 1024  # small members may compress well without being dangerous
DTD_SCAN_BYTES = 64 * 1024

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ReviewImportError(ItembankError):
    """The workbook cannot be imported; ``details`` lists every problem (with row numbers)."""

    def __init__(self, summary: str, details: list[str]) -> None:
        super().__init__(summary)
        self.details = details


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


@dataclass
class FileChange:
    path: Path
    rel: str
    old: str
    new: str

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.old.splitlines(True), self.new.splitlines(True), f"a/{self.rel}", f"b/{self.rel}"))


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    workbook: Path
    date: str
    dry_run: bool
    changes: list[FileChange] = field(default_factory=list)
    applied: list[ReviewRow] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)  # fingerprint mismatches: reported, not applied
    skipped: list[str] = field(default_factory=list)  # already imported
    undecided: int = 0

    def diff(self) -> str:
        return "".join(c.diff() for c in self.changes)

    def summary(self) -> str:
        verb = "would update" if self.dry_run else "updated"
        counts = {d: sum(1 for r in self.applied if r.decision == d) for d in DECISION_STATUS}
        parts = ", ".join(f"{n} {d}" for d, n in counts.items() if n)
        line = f"{verb} {len(self.applied)} item{'s' * (len(self.applied) != 1)} in {len(self.changes)} file{'s' * (len(self.changes) != 1)}"
        if parts:
            line += f" ({parts})"
        if self.undecided:
            line += f"; {self.undecided} row{'s' * (self.undecided != 1)} without a decision"
        if self.held_back:
            line += f"; {len(self.held_back)} held back (item changed since export)"
        if self.skipped:
            line += f"; {len(self.skipped)} already imported"
        return line


# --- progress ------------------------------------------------------------------------------------

#: ``progress(stage, done, total)``: ``stage`` is "rows" (workbook rows read; ``total`` 0 when the
#: sheet does not say how many it has) or "files" (item files edited and checked).
Progress = Callable[[str, int, int], None]

_STAGE_TEXT = {"rows": "reading the workbook: {done}/{total} rows", "files": "updating item files: {done}/{total}"}


def terminal_progress(stream: Any = None, *, interval: float = 0.2) -> Progress | None:
    """A one-line progress report on ``stream`` (stderr) when a person is watching it, else None.

    Rewritten in place (``\r``) at most every ``interval`` seconds; each stage ends its line when done.
    """
    out = stream if stream is not None else sys.stderr
    if not (hasattr(out, "isatty") and out.isatty()):
        return None
    last = {"at": 0.0}

    def report(stage: str, done: int, total: int) -> None:
        finished = total > 0 and done >= total
        now = time.monotonic()
        if not finished and now - last["at"] < interval:
            return
        last["at"] = now
        text = _STAGE_TEXT.get(stage, stage + ": {done}/{total}").format(done=done, total=total or "?")
        out.write(f"\r{text}" + ("\n" if finished else ""))
        out.flush()

    return report


# --- reading the workbook ------------------------------------------------------------------------


def check_archive(path: Path) -> None:
    """Refuse what is not a sane xlsx before any XML parser sees it (zip bombs, entity bombs)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ItembankError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_WORKBOOK_BYTES:
        raise ItembankError(f"{path}: {size:,} bytes is more than a review workbook can be ({MAX_WORKBOOK_BYTES:,})")
    if not zipfile.is_zipfile(path):
        raise ItembankError(f"{path}: not an .xlsx workbook (an .xlsx file is a zip archive; this one is not)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ItembankError(f"{path}: refused: the archive has {len(infos):,} parts (limit {MAX_MEMBERS:,}); not a review workbook")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED_BYTES:
                raise ItembankError(f"{path}: refused: the archive unpacks to {total:,} bytes (limit {MAX_UNCOMPRESSED_BYTES:,}): a zip bomb?")
            for info in infos:
                ratio = info.file_size / max(1, info.compress_size)
                if info.file_size >= RATIO_CHECK_FROM and ratio > MAX_RATIO:
                    raise ItembankError(f"{path}: refused: part {info.filename} is compressed {ratio:,.0f}:1 (limit {MAX_RATIO}:1): a zip bomb?")
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise ItembankError(f"{path}: not an .xlsx workbook (a zip archive without xl/workbook.xml)")
            for info in infos:
                if info.filename.endswith((".xml", ".rels")):
                    with zf.open(info) as fh:
                        head = fh.read(DTD_SCAN_BYTES)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise ItembankError(f"{path}: refused: part {info.filename} declares a DTD (spreadsheets never do; entity expansion attack?)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ItembankError(f"{path}: corrupt .xlsx workbook: {exc}") from None


def _text(value: Any) -> str | None:
    """A cell's value as trimmed text (None when empty); numbers as Excel would show them."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return text or None


def read_workbook(path: Path, progress: Progress | None = None) -> tuple[dict[str, str], list[tuple[int, dict[str, str | None]]]]:
    """The workbook's identity (hidden ``itembank`` sheet) and its Items rows (row number, header → text)."""
    from openpyxl import load_workbook

    check_archive(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except ItembankError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged parts; all mean "corrupt"
        raise ItembankError(f"{path}: corrupt .xlsx workbook: {type(exc).__name__}: {exc}") from None
    try:
        if META_SHEET not in wb.sheetnames or ITEMS_SHEET not in wb.sheetnames:
            raise ItembankError(f"{path}: not an itembank review workbook (make one with `itembank export xlsx`)")
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
            cells = {h: _text(values[i]) if i < len(values) else None for h, i in index.items()}
            if any(v is not None for v in cells.values()):
                out.append((n, cells))
            if progress is not None and (n - 1) % 500 == 0:
                progress("rows", n - 1, max(expected, n - 1))
        if progress is not None and n > 1:
            progress("rows", n - 1, n - 1)
        return meta, out
    except ItembankError:
        raise
    except Exception as exc:  # noqa: BLE001 - as above, for parts read lazily while iterating
        raise ItembankError(f"{path}: corrupt .xlsx workbook: {type(exc).__name__}: {exc}") from None
    finally:
        wb.close()


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


# --- writing new YAML: review records as block lines ---------------------------------------------
#
# The records are few short strings; each is written in the plainest style that reads back as the
# same string under YAML 1.2 (yaml_rs, ruamel) *and* 1.1 (PyYAML): plain, else single-quoted, else
# a literal block (multi-line), else double-quoted with JSON escapes.  The whole edited file is
# parsed again and compared before anything is written, so a wrong choice here can stop an import
# but never change what a file says.

#: Plain scalars that a YAML 1.1 or 1.2 resolver reads as something other than a string.
_RESERVED_WORDS = frozenset({"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", "inf", "nan"})
#: Numbers, dates and times in either YAML version (ints with _ or sexagesimal :, 0x/0o/0b, floats,
#: ISO dates); deliberately wide — a false positive only costs a pair of quotes.
_SCALAR_LIKE = re.compile(r"[-+]?[0-9_.,:]+(?:[eE][-+]?[0-9]+)?|0[xXoObB][0-9a-fA-F_]+|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)")
_PLAIN_FIRST_BAD = frozenset("-?:,[]{}#&*!|>'\"%@`=~+.")
#: Characters a YAML stream may not hold raw, or that YAML 1.1 reads as line breaks.
_DQ_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _plain_ok(s: str) -> bool:
    if not s or s != s.strip() or not s.isprintable() or s[0] in _PLAIN_FIRST_BAD:
        return False
    if ": " in s or " #" in s or s.endswith(":") or s.lower() in _RESERVED_WORDS:
        return False
    return not (s[0].isdigit() and _SCALAR_LIKE.fullmatch(s))


def _double_quoted(s: str) -> str:
    # JSON escapes (\" \\ \n \t \uXXXX for C0 controls) are all valid YAML double-quoted escapes.
    return _DQ_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(s, ensure_ascii=False))


def _inline_scalar(s: str) -> str:
    """``s`` as a one-line YAML scalar."""
    if _plain_ok(s):
        return s
    if s.isprintable():  # no line breaks, tabs or control characters
        return "'" + s.replace("'", "''") + "'"
    return _double_quoted(s)


def _literal_ok(s: str) -> bool:
    """A ``|-`` block holds ``s`` exactly: printable lines, no trailing newline, and a first content
    line that does not start with a space (which would need an indentation indicator)."""
    if "\n" not in s or s.endswith("\n"):
        return False
    lines = s.split("\n")
    first = next((line for line in lines if line), "")
    if first[:1] in (" ", "\t"):
        return False
    # Tabs are content inside a line, but never where indentation is read.
    return all(line[:1] != "\t" and line.replace("\t", " ").isprintable() for line in lines)


def _key_value_lines(key: str, value: str) -> list[str]:
    """``key: value`` as block YAML lines (keys at column 0, a literal block indented by 2)."""
    if _literal_ok(value):
        return [f"{key}: |-"] + [f"  {line}" if line else "" for line in value.split("\n")]
    return [f"{key}: {_inline_scalar(value)}"]


def _entry_lines(record: dict[str, str], dash_col: int) -> list[str]:
    """A ``- key: value`` sequence entry whose dash sits at ``dash_col``."""
    lines = [line for k, v in record.items() for line in _key_value_lines(k, v)]
    pad = " " * dash_col
    return [f"{pad}- {lines[0]}"] + [f"{pad}  {line}" if line else "" for line in lines[1:]]


# --- editing item files in place ------------------------------------------------------------------
#
# Positions come from PyYAML's C composer (libyaml): node trees with start/end marks, ~30x faster
# than a pure-Python round-trip parser.  Marks are used by their character *index*, never by their
# line number: libyaml also breaks lines at \r, NEL, LS and PS, which this module's line table (split
# at \n only) does not.

_Node = yaml.Node
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the pure-Python loader only without libyaml


class _Text:
    """A file's text with line offsets, collecting edits that are applied together."""

    def __init__(self, text: str) -> None:
        self.text = text
        # A leading BOM is not part of libyaml's character index.
        self.base = 1 if text.startswith("\ufeff") else 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        if self.starts[-1] != len(text):
            self.starts.append(len(text))  # sentinel: starts[n_lines] is the end of the text
        self.n_lines = len(self.starts) - 1
        first = text[: self.starts[1]] if self.n_lines else ""
        self.nl = "\r\n" if first.endswith("\r\n") else "\n"  # new lines end as the file's do
        self.edits: list[tuple[int, int, str]] = []

    def line(self, n: int) -> str:
        return self.text[self.starts[n] : self.starts[n + 1]]

    def offset(self, mark: Any) -> int:
        return mark.index + self.base

    def line_col(self, mark: Any) -> tuple[int, int]:
        at = self.offset(mark)
        n = bisect.bisect_right(self.starts, at) - 1
        return n, at - self.starts[n] - (self.base if n == 0 else 0)  # a BOM takes no column

    def line_of(self, mark: Any) -> int:
        return self.line_col(mark)[0]

    def col_of(self, mark: Any) -> int:
        return self.line_col(mark)[1]

    def _block(self, lines: list[str]) -> str:
        return "".join(f"{line}{self.nl}" for line in lines)

    def replace_scalar(self, key: _Node, node: _Node, value: str) -> None:
        """Put ``value`` in place of the scalar ``node`` (the value of ``key``), in the same quotes."""
        start, end = self.offset(node.start_mark), self.offset(node.end_mark)
        if node.style == "'":
            new = "'" + value.replace("'", "''") + "'"
        elif node.style == '"':
            new = _double_quoted(value)
        elif node.style in ("|", ">"):
            # The block's span runs into the next line: keep the line end and blank lines after it.
            body = self.text[start:end]
            new = _inline_scalar(value) + body[len(body.rstrip()) :]
        elif start == end:  # `key:` with nothing after it: the value goes right after the colon
            colon = self.text.index(":", self.offset(key.end_mark))
            start = end = colon + 1
            new = f" {_inline_scalar(value)}"
        else:
            new = _inline_scalar(value)
        self.edits.append((start, end, new))

    def insert_lines(self, before_line: int, lines: list[str]) -> None:
        at = self.starts[before_line] if before_line < self.n_lines else len(self.text)
        prefix = "" if at == 0 or self.text[at - 1] == "\n" else self.nl
        self.edits.append((at, at, prefix + self._block(lines)))

    def replace_lines(self, first: int, end: int, lines: list[str]) -> None:
        self.edits.append((self.starts[first], self.starts[min(end, self.n_lines)], self._block(lines)))

    def content_end(self, first: int, bound: int, indent: int) -> int:
        """The line after the last content line in [first, bound): trailing blank lines and comments
        indented no deeper than ``indent`` belong to what follows, not to this node."""
        end = bound
        while end > first + 1:
            line = self.line(end - 1)
            stripped = line.strip()
            if stripped and not (stripped.startswith("#") and len(line) - len(line.lstrip(" ")) <= indent):
                break
            end -= 1
        return end

    def result(self) -> str:
        """The text with every edit applied; insertions at one place keep the order they were made in."""
        out: list[str] = []
        at = 0
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1])):  # stable
            if start < at:
                raise ItembankError("internal error: overlapping edits")  # pragma: no cover - a bug
            out += (self.text[at:start], new)
            at = end
        out.append(self.text[at:])
        return "".join(out)


def _pairs(node: _Node) -> dict[str, tuple[_Node, _Node]]:
    """A block or flow mapping's entries by key text."""
    return {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _is_block_seq(node: _Node) -> bool:
    return isinstance(node, yaml.SequenceNode) and bool(node.value) and not node.flow_style


def _seq_offset(nodes: list[Any], text: _Text) -> int:
    """How far this file indents a block sequence's dash past its key (``options:\n  - id``: 2), from
    the first block sequence found in ``nodes`` (the item, then the whole document); 2 if none."""
    for node in nodes:
        if not isinstance(node, yaml.MappingNode):
            continue
        for key, value in node.value:
            if _is_block_seq(value):  # a block sequence's start mark is its first dash
                return max(0, text.col_of(value.start_mark) - text.col_of(key.start_mark))
    return 2


def _edit_item(text: _Text, node: _Node, doc: _Node, bound: int, rows: list[ReviewRow], date: str, raw: dict[str, Any]) -> None:
    """Queue the edits of one item's mapping (which ends before line ``bound``); ``raw`` is its data."""
    pairs = _pairs(node)
    keys = [k.value for k, _v in node.value]
    first_line, indent = text.line_col(node.value[0][0].start_mark)
    pad = " " * indent
    last = rows[-1]
    new_status = DECISION_STATUS[last.decision]
    suggested = next((r.suggested for r in reversed(rows) if r.suggested), None)
    appended: list[str] = []  # new keys, added after the item's last content line

    for key, value in (("status", new_status), ("difficulty", suggested)):
        if value is None:
            continue
        if key in pairs and isinstance(pairs[key][1], yaml.ScalarNode):
            text.replace_scalar(pairs[key][0], pairs[key][1], value)
        elif key not in pairs:
            appended.append(f"{pad}{key}: {value}")

    records = [r.record(date) for r in rows]
    offset = _seq_offset([node, doc], text)
    if "reviews" in pairs:
        key_node, seq = pairs["reviews"]
        pos = keys.index("reviews")
        region_end = text.line_of(node.value[pos + 1][0].start_mark) if pos + 1 < len(keys) else bound
        key_line, key_col = text.line_col(key_node.start_mark)
        end = text.content_end(key_line, region_end, key_col)
        if _is_block_seq(seq):
            dash = text.col_of(seq.start_mark)
            text.insert_lines(end, [ln for rec in records for ln in _entry_lines(rec, dash)])
        else:
            # Flow style (`reviews: []`) or empty: rewrite just this key as a block list.
            old = [{k: str(v) for k, v in r.items()} for r in raw.get("reviews") or []]
            block = [f"{pad}reviews:"] + [ln for rec in old + records for ln in _entry_lines(rec, indent + offset)]
            text.replace_lines(key_line, end, block)
    else:
        appended.append(f"{pad}reviews:")
        appended.extend(ln for rec in records for ln in _entry_lines(rec, indent + offset))
    if appended:
        text.insert_lines(text.content_end(first_line, bound, indent), appended)


def _apply_to_data(raw: dict[str, Any], rows: list[ReviewRow], date: str) -> None:
    """The same change on plain data: what the edited file must parse to."""
    raw["status"] = DECISION_STATUS[rows[-1].decision]
    suggested = next((r.suggested for r in reversed(rows) if r.suggested), None)
    if suggested:
        raw["difficulty"] = suggested
    raw["reviews"] = list(raw.get("reviews") or []) + [r.record(date) for r in rows]


def _is_listed(data: Any) -> bool:
    """A file of the form ``items: [...]`` (else the file is one item)."""
    return isinstance(data, dict) and set(data) == {"items"}


def _yaml_change(rel: str, old: str, data: Any, edits: dict[int | None, list[ReviewRow]], date: str) -> str:
    """The new text of a YAML file whose parsed content is ``data``."""
    text = _Text(old)
    try:
        doc = yaml.compose(old[text.base :], Loader=_LOADER)
    except yaml.YAMLError as exc:  # the project's parser read it; libyaml (YAML 1.1) may not
        raise ItembankError(f"{rel}: cannot read the file for editing: {' '.join(str(exc).split())}") from None
    listed = _is_listed(data)
    if listed:
        seq = _pairs(doc)["items"][1] if isinstance(doc, yaml.MappingNode) else None
        nodes = list(seq.value) if isinstance(seq, yaml.SequenceNode) else []
    else:
        nodes = [doc]
    for index, rows in edits.items():
        i = 0 if index is None else index
        node = nodes[i] if i < len(nodes) else None
        id_node = _pairs(node).get("id", (None, None))[1] if isinstance(node, yaml.MappingNode) and node.value else None
        if not isinstance(id_node, yaml.ScalarNode) or id_node.value != rows[0].item_id:
            raise ItembankError(f"{rel}: item {rows[0].item_id!r} is no longer where the bank was read from; run the import again")
        if listed and i + 1 < len(nodes):
            nxt = nodes[i + 1]
            first = nxt.value[0][0] if isinstance(nxt, yaml.MappingNode) and nxt.value else nxt
            bound = text.line_of(first.start_mark)
        else:
            bound = text.n_lines
        raw = data["items"][i] if listed else data
        _edit_item(text, node, doc, bound, rows, date, raw)
    return text.result()


def _json_change(rel: str, old: str, edits: dict[int | None, list[ReviewRow]], date: str) -> str:
    data = json.loads(old)
    for index, rows in edits.items():
        _apply_to_data(data if index is None else data["items"][index], rows, date)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _verify(rel: str, before: Any, new: str, edits: dict[int | None, list[ReviewRow]], date: str, ctx: RuleContext, is_json: bool) -> None:
    """The new text must parse to exactly the old data (``before``, changed here into the expected
    data) plus the review changes, and the changed items must still be valid; otherwise nothing is
    written."""
    after, prob = parse(new, rel, is_json=is_json)
    if prob is not None:
        raise ItembankError(f"{rel}: the edited file would not parse ({prob.message}); nothing was written")
    items = before["items"] if _is_listed(before) else None
    for index, rows in edits.items():
        _apply_to_data(before if index is None else items[index], rows, date)  # type: ignore[index]
    if after != before:
        raise ItembankError(f"{rel}: cannot update the file without changing other content (unusual YAML layout?); nothing was written")
    schema = item_schema()
    got = after["items"] if items is not None else None
    for index, rows in edits.items():
        raw = after if index is None else got[index]  # type: ignore[index]
        errors = [e.message for e in schema.errors(raw)]
        errors += [msg for _p, code, msg in check_item(raw, ctx) if RULES.get(code, ("error",))[0] == "error"]
        if errors:
            raise ItembankError(f"{rel}: item {rows[0].item_id!r} would be invalid after the import ({errors[0]}); nothing was written")


# --- the import ----------------------------------------------------------------------------------


def _today() -> str:
    return _dt.date.today().isoformat()


def check_date(date: str) -> str:
    if not _DATE.match(date):
        raise ItembankError(f"date {date!r} must be YYYY-MM-DD")
    try:
        _dt.date.fromisoformat(date)
    except ValueError:
        raise ItembankError(f"date {date!r} is not a real date") from None
    return date


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: parsing makes millions of short-lived, acyclic objects, and
    with a loaded bank in memory each automatic collection walks it all again (more than halved the
    time of composing a 10,000-item bank).  Reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plan_import(workbook: Path, bank: Bank, *, date: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Read and check the workbook and compute every file's new text; write nothing."""
    workbook = Path(workbook)
    date = check_date(date) if date is not None else _today()
    with _gc_paused():
        meta, rows = read_workbook(workbook, progress)
    check_identity(workbook, meta, bank)
    reviewed, undecided = review_rows(workbook, rows, bank)
    report = ImportReport(workbook=workbook, date=date, dry_run=True, undecided=undecided)

    by_file: dict[str, dict[int | None, list[ReviewRow]]] = {}
    for r in reviewed:
        item: AnyItem = bank.by_id[r.item_id]
        # Checked first: importing a suggested difficulty changes the content, so a second import of
        # the same workbook would otherwise look like an edit made after the export.
        if item.reviews and _same_review(item, r):
            report.skipped.append(f"row {r.row}: item {r.item_id!r} already has this review (imported before); skipped")
            continue
        if fingerprint(item) != r.fingerprint:
            report.held_back.append(f"row {r.row}: item {r.item_id!r} changed since the workbook was exported; its review was not applied (export a new workbook for it)")
            continue
        by_file.setdefault(item.location.path, {}).setdefault(item.location.index, []).append(r)
        report.applied.append(r)

    ctx = RuleContext(bank.root, bank.config)
    for n, rel in enumerate(sorted(by_file), 1):
        with _gc_paused():
            report.changes.append(_plan_file(bank.root / rel, rel, by_file[rel], date, ctx))
        if progress is not None:
            progress("files", n, len(by_file))
    return report


def _plan_file(path: Path, rel: str, edits: dict[int | None, list[ReviewRow]], date: str, ctx: RuleContext) -> FileChange:
    """One file's new text, checked (:func:`_verify`)."""
    try:
        old = path.read_bytes().decode("utf-8")  # as stored: no newline translation
    except (OSError, UnicodeDecodeError) as exc:
        raise ItembankError(f"{rel}: cannot read: {exc}") from None
    is_json = path.suffix.lower() == ".json"
    bom = "\ufeff" if old.startswith("\ufeff") else ""  # read past, as the bank loader does, and kept
    before, prob = parse(old[len(bom) :], rel, is_json=is_json)
    if prob is not None:  # the validator read it moments ago: it changed since
        raise ItembankError(f"{rel}: cannot read the file for editing: {prob.message}")
    new = bom + _json_change(rel, old[len(bom) :], edits, date) if is_json else _yaml_change(rel, old, before, edits, date)
    _verify(rel, before, new[len(bom) :], edits, date, ctx, is_json)
    return FileChange(path=path, rel=rel, old=old, new=new)


def _same_review(item: AnyItem, row: ReviewRow) -> bool:
    last = item.reviews[-1]
    return (last.decision, last.reviewer, last.comment, last.suggested_difficulty) == (row.decision, row.reviewer, row.comment, row.suggested)


def apply_import(report: ImportReport) -> None:
    """Write every changed file atomically; if the bank changed since planning, write nothing."""
    for change in report.changes:
        try:
            current = change.path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise ItembankError(f"{change.rel}: cannot read: {exc}") from None
        if current != change.old:
            raise ItembankError(f"{change.rel} changed while the import ran; nothing was written (run it again)")
    written: list[FileChange] = []
    try:
        for change in report.changes:
            write_file_atomic(change.path, change.new.encode("utf-8"))
            written.append(change)
    except OSError as exc:
        for change in written:  # put back what was already replaced: all or nothing
            write_file_atomic(change.path, change.old.encode("utf-8"))
        raise ItembankError(f"{exc.filename or 'a file'}: cannot write: {exc.strerror or exc}; no file was changed") from None
    report.dry_run = False


def import_reviews(
    workbook: Path | str, bank: Bank, *, date: str | None = None, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Import the review decisions of ``workbook`` into ``bank``'s files (nothing written when dry_run)."""
    report = plan_import(Path(workbook), bank, date=date, progress=progress)
    if not dry_run:
        apply_import(report)
    return report
