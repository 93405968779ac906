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

Files are edited in place, not re-serialized: positions come from ruamel.yaml's round-trip loader,
new YAML (the review records) is produced by ruamel.yaml's dumper, and only the changed scalars and the
inserted lines differ — comments, key order, quoting and line wrapping of everything else stay
byte-for-byte (a re-dump would re-indent or re-wrap hand-written files).  JSON item files are
re-serialized with two-space indentation (key order kept).
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from .export import ItembankError, write_file_atomic
from .fingerprint import fingerprint
from .model import DIFFICULTIES, AnyItem, Bank
from .problems import RULES
from .rules import RuleContext, check_item
from .schema import item_schema
from .sources import parse

# --- the workbook layout (written by exporters/xlsx.py; kept in step by the tests) ---------------

ITEMS_SHEET = "Items"
META_SHEET = "itembank"
META_FORMAT = "itembank-review-workbook"
META_VERSION = 1
H_ID = "ID"
H_REVIEWER = "Reviewer"
H_DECISION = "Decision"
H_SUGGESTED = "Suggested difficulty"
H_COMMENTS = "Comments"
H_EXPORTED_ID = "Exported id"
H_FINGERPRINT = "Fingerprint"
REQUIRED_HEADERS = (H_ID, H_REVIEWER, H_DECISION, H_SUGGESTED, H_COMMENTS, H_EXPORTED_ID, H_FINGERPRINT)

#: What each decision does to the item's status (documented in docs/review.md).
DECISION_STATUS = {"approve": "approved", "revise": "review", "reject": "retired"}

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


def read_workbook(path: Path) -> tuple[dict[str, str], list[tuple[int, dict[str, str | None]]]]:
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
        rows = wb[ITEMS_SHEET].iter_rows(values_only=True)
        header = [(_text(h) or "") for h in next(rows, ())]
        missing = [h for h in REQUIRED_HEADERS if h not in header]
        if missing:
            raise ItembankError(f"{path}: the {ITEMS_SHEET} sheet has no column {', '.join(repr(m) for m in missing)} (were columns renamed or deleted?)")
        index = {h: header.index(h) for h in REQUIRED_HEADERS}
        out = []
        for n, values in enumerate(rows, 2):
            cells = {h: _text(values[i]) if i < len(values) else None for h, i in index.items()}
            if any(v is not None for v in cells.values()):
                out.append((n, cells))
        return meta, out
    except ItembankError:
        raise
    except Exception as exc:  # noqa: BLE001 - as above, for parts read lazily while iterating
        raise ItembankError(f"{path}: corrupt .xlsx workbook: {type(exc).__name__}: {exc}") from None
    finally:
        wb.close()


def check_identity(path: Path, meta: dict[str, str], bank: Bank) -> None:
    if meta.get("format") != META_FORMAT:
        raise ItembankError(f"{path}: not an itembank review workbook (make one with `itembank export xlsx`)")
    if meta.get("version") != str(META_VERSION):
        raise ItembankError(f"{path}: review workbook version {meta.get('version')!r} is not supported (this itembank reads version {META_VERSION})")
    if meta.get("bank") != bank.title:
        raise ItembankError(f"{path}: this workbook was exported from bank {meta.get('bank')!r}, not from {bank.title!r} ({bank.root}); refusing to import it here")


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


# --- editing item files in place --------------------------------------------------------------


def _rt_yaml() -> YAML:
    y = YAML(typ="rt")
    y.width = 4096  # never re-wrap the lines we write
    y.indent(mapping=2, sequence=2, offset=0)
    return y


def _dump_mapping(data: dict[str, str]) -> list[str]:
    """Block YAML lines of a flat mapping (keys at column 0), strings quoted as YAML needs."""
    node = CommentedMap()
    for k, v in data.items():
        node[k] = LiteralScalarString(v) if "\n" in v else v
    buf = io.StringIO()
    _rt_yaml().dump(node, buf)
    return buf.getvalue().splitlines()


def _entry_lines(record: dict[str, str], dash_col: int) -> list[str]:
    """A ``- key: value`` sequence entry whose dash sits at ``dash_col``."""
    lines = _dump_mapping(record)
    pad = " " * dash_col
    return [f"{pad}- {lines[0]}"] + [f"{pad}  {line}" if line else "" for line in lines[1:]]


class _Text:
    """A file's text with line offsets, collecting edits that are applied together, last first."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.edits: list[tuple[int, int, str]] = []

    def offset(self, line: int, col: int) -> int:
        return self.starts[line] + col

    def replace_scalar(self, line: int, col: int, value: str) -> None:
        """Replace the one-word scalar starting at (line, col), keeping its quotes if it has them."""
        src = self.lines[line]
        quote = src[col] if col < len(src) and src[col] in "'\"" else ""
        if quote:
            end = src.index(quote, col + 1) + 1
            new = f"{quote}{value}{quote}"
        else:
            m = re.compile(r"[^\s#,}\]]+").match(src, col)
            end = m.end() if m else col
            new = value
        self.edits.append((self.offset(line, col), self.offset(line, end), new))

    def insert_lines(self, before_line: int, lines: list[str]) -> None:
        at = self.starts[before_line] if before_line < len(self.lines) else len(self.text)
        prefix = "" if at == 0 or self.text[at - 1] == "\n" else "\n"
        self.edits.append((at, at, prefix + "".join(f"{line}\n" for line in lines)))

    def replace_lines(self, first: int, end: int, lines: list[str]) -> None:
        self.edits.append((self.starts[first], self.starts[end] if end < len(self.lines) else len(self.text), "".join(f"{line}\n" for line in lines)))

    def content_end(self, first: int, bound: int, indent: int) -> int:
        """The line after the last content line in [first, bound): trailing blank lines and comments
        indented no deeper than ``indent`` belong to what follows, not to this node."""
        end = bound
        while end > first + 1:
            line = self.lines[end - 1]
            stripped = line.strip()
            if stripped and not (stripped.startswith("#") and len(line) - len(line.lstrip(" ")) <= indent):
                break
            end -= 1
        return end

    def result(self) -> str:
        out = self.text
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            out = out[:start] + new + out[end:]
        return out


def _seq_offset(nodes: list[Any], text: _Text) -> int:
    """How far this file indents a block sequence's dash past its key (``options:\n  - id``: 2), from
    the first block sequence found in ``nodes`` (the item, then the whole document); 2 if none."""
    for node in nodes:
        if not isinstance(node, CommentedMap):
            continue
        for key, value in node.items():
            if isinstance(value, CommentedSeq) and value and not value.fa.flow_style() and 0 in value.lc.data:
                line, col = value.lc.data[0][0], value.lc.data[0][1]
                dash = text.lines[line][:col].rstrip().rfind("-")
                if dash >= 0:
                    return max(0, dash - node.lc.data[key][1])
    return 2


def _edit_item(text: _Text, node: CommentedMap, doc: Any, bound: int, rows: list[ReviewRow], date: str) -> None:
    """Queue the edits of one item's mapping (which ends before line ``bound``)."""
    keys = list(node.keys())
    first_line, indent = node.lc.data[keys[0]][0], node.lc.data[keys[0]][1]
    pad = " " * indent
    last = rows[-1]
    new_status = DECISION_STATUS[last.decision]
    suggested = next((r.suggested for r in reversed(rows) if r.suggested), None)
    appended: list[str] = []  # new keys, added after the item's last content line

    for key, value in (("status", new_status), ("difficulty", suggested)):
        if value is None:
            continue
        if key in node and isinstance(node[key], str):
            line, col = node.lc.data[key][2], node.lc.data[key][3]
            text.replace_scalar(line, col, value)
        elif key not in node:
            appended.append(f"{pad}{key}: {value}")

    records = [r.record(date) for r in rows]
    offset = _seq_offset([node, doc], text)
    if "reviews" in node and isinstance(node["reviews"], CommentedSeq) and node["reviews"] and not node["reviews"].fa.flow_style():
        seq = node["reviews"]
        pos = keys.index("reviews")
        region_end = node.lc.data[keys[pos + 1]][0] if pos + 1 < len(keys) else bound
        key_col = node.lc.data["reviews"][1]
        end = text.content_end(node.lc.data["reviews"][0], region_end, key_col)
        line, col = seq.lc.data[0][0], seq.lc.data[0][1]
        dash = text.lines[line][:col].rstrip().rfind("-")
        text.insert_lines(end, [ln for rec in records for ln in _entry_lines(rec, dash)])
    elif "reviews" in node:
        # Flow style (`reviews: []`) or empty: rewrite just this key as a block list.
        old = [dict(r) for r in node["reviews"] or []]
        pos = keys.index("reviews")
        region_end = node.lc.data[keys[pos + 1]][0] if pos + 1 < len(keys) else bound
        key_line = node.lc.data["reviews"][0]
        end = text.content_end(key_line, region_end, node.lc.data["reviews"][1])
        block = [f"{pad}reviews:"] + [ln for rec in old + records for ln in _entry_lines({k: str(v) for k, v in rec.items()}, indent + offset)]
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


def _item_nodes(doc: Any) -> list[Any]:
    return list(doc["items"]) if isinstance(doc, dict) and set(doc) == {"items"} else [doc]


def _yaml_change(path: Path, rel: str, old: str, edits: dict[int | None, list[ReviewRow]], date: str) -> str:
    try:
        doc = _rt_yaml().load(old)
    except Exception as exc:  # noqa: BLE001 - the validator read it moments ago; a failure means it changed
        raise ItembankError(f"{rel}: cannot read the file for editing: {exc}") from None
    text = _Text(old)
    nodes = _item_nodes(doc)
    listed = isinstance(doc, dict) and set(doc) == {"items"}
    for index, rows in edits.items():
        node = nodes[0 if index is None else index]
        if not isinstance(node, CommentedMap) or node.get("id") != rows[0].item_id:
            raise ItembankError(f"{rel}: item {rows[0].item_id!r} is no longer where the bank was read from; run the import again")
        if listed and index is not None and index + 1 < len(nodes):
            nxt = nodes[index + 1]
            bound = nxt.lc.data[next(iter(nxt))][0] if isinstance(nxt, CommentedMap) and nxt else nxt.lc.line
        else:
            bound = len(text.lines)
        _edit_item(text, node, doc, bound, rows, date)
    return text.result()


def _json_change(rel: str, old: str, edits: dict[int | None, list[ReviewRow]], date: str) -> str:
    data = json.loads(old)
    for index, rows in edits.items():
        _apply_to_data(data if index is None else data["items"][index], rows, date)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _verify(rel: str, old: str, new: str, edits: dict[int | None, list[ReviewRow]], date: str, ctx: RuleContext, is_json: bool) -> None:
    """The new text must parse to exactly the old data plus the review changes, and the changed items
    must still be valid; otherwise nothing is written."""
    before, prob = parse(old, rel, is_json=is_json)
    after, prob2 = parse(new, rel, is_json=is_json)
    if prob is not None or prob2 is not None:
        raise ItembankError(f"{rel}: the edited file would not parse ({(prob2 or prob).message}); nothing was written")
    expected = copy.deepcopy(before)
    items = expected["items"] if isinstance(expected, dict) and set(expected) == {"items"} else None
    for index, rows in edits.items():
        _apply_to_data(expected if index is None else items[index], rows, date)  # type: ignore[index]
    if after != expected:
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


def plan_import(workbook: Path, bank: Bank, *, date: str | None = None) -> ImportReport:
    """Read and check the workbook and compute every file's new text; write nothing."""
    workbook = Path(workbook)
    date = check_date(date) if date is not None else _today()
    meta, rows = read_workbook(workbook)
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
    for rel in sorted(by_file):
        path = bank.root / rel
        edits = by_file[rel]
        try:
            old = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ItembankError(f"{rel}: cannot read: {exc}") from None
        is_json = path.suffix.lower() == ".json"
        new = _json_change(rel, old, edits, date) if is_json else _yaml_change(path, rel, old, edits, date)
        _verify(rel, old, new, edits, date, ctx, is_json)
        report.changes.append(FileChange(path=path, rel=rel, old=old, new=new))
    return report


def _same_review(item: AnyItem, row: ReviewRow) -> bool:
    last = item.reviews[-1]
    return (last.decision, last.reviewer, last.comment, last.suggested_difficulty) == (row.decision, row.reviewer, row.comment, row.suggested)


def apply_import(report: ImportReport) -> None:
    """Write every changed file atomically; if the bank changed since planning, write nothing."""
    for change in report.changes:
        try:
            current = change.path.read_text(encoding="utf-8")
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


def import_reviews(workbook: Path | str, bank: Bank, *, date: str | None = None, dry_run: bool = False) -> ImportReport:
    """Import the review decisions of ``workbook`` into ``bank``'s files (nothing written when dry_run)."""
    report = plan_import(Path(workbook), bank, date=date)
    if not dry_run:
        apply_import(report)
    return report
