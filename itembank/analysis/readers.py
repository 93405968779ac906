"""Reading the LMS's own response reports into one shape: slots (quiz positions) and attempts.

Three report formats, recognised by their header row:

- Moodle quiz **Responses** report, downloaded as CSV (Moodle 4.5): identity columns, ``Status``,
  ``Started``, ``Completed``, ``Duration``, ``Grade/<max>``, then ``Response N`` per slot (the
  summary of the student's answer; ``-`` when not answered), optionally ``Question N`` and
  ``Right answer N`` when the teacher ticked them.
- Moodle quiz **Grades** report as CSV: the same identity columns and ``Q. N /<max mark>`` per slot,
  ``-`` for a mark not given (e.g. requires grading), and one or more ``Overall average`` rows.
- Canvas Classic Quizzes **Student Analysis** CSV, as ``Quizzes::QuizStatistics::StudentAnalysis#to_csv``
  writes it: ``name, id, [sis_id], [root_account], section, section_id, [section_sis_id], submitted,
  [attempt]``, then per question a ``"<question id>: <question text>"`` column holding the answer
  text and a column headed by the question's points possible holding the points scored, then
  ``n correct``, ``n incorrect``, ``score``.  Multiple-answer and multiple-blank answers are joined
  with ``,`` (a literal comma escaped as ``\\,``).

Nothing here knows the bank: slots are mapped to items in :mod:`.mapping`.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import ItembankError

ReportKind = Literal["moodle-responses", "moodle-grades", "canvas-student-analysis"]

KIND_NAMES: dict[str, str] = {
    "moodle-responses": "Moodle quiz Responses report",
    "moodle-grades": "Moodle quiz Grades report",
    "moodle-responses+grades": "Moodle quiz Responses + Grades reports",
    "canvas-student-analysis": "Canvas Student Analysis report",
}


class ReportError(ItembankError):
    """A report file that cannot be read, with the file and (where known) the line."""


@dataclass(frozen=True)
class Slot:
    """One question position of the quiz, as the report names it."""

    key: str  # "1", "2", ... (Moodle slot number) or the Canvas question id
    label: str  # the header as written, for messages
    max_mark: float | None = None  # from "Q. 3 /2.00" or the Canvas points column's header
    question_text: str | None = None  # Canvas header text / Moodle "Question N" column (first row)
    right_answer: str | None = None  # Moodle "Right answer N" column (first row)


@dataclass
class Attempt:
    """One finished attempt's identity: who, when, where in the file.  Its cells live in the report's columns."""

    student: str  # identity: e-mail, user id or name, whatever the report has
    started: str | None
    line: int  # line in the CSV file (1-based, header = 1)
    total: float | None = None
    attempt_number: int | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.student, self.started)


@dataclass
class Report:
    """One report file, read column by column (a 10,000 × 100 report is a million cells)."""

    path: Path
    kind: ReportKind
    slots: list[Slot]
    attempts: list[Attempt]
    responses: dict[str, list[str]] = field(default_factory=dict)  # slot key -> raw cell per attempt (see clean_response)
    marks: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)  # slot key -> mark per attempt, NaN = none
    max_total: float | None = None
    notes: list[str] = field(default_factory=list)  # rows left out and why

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def has_responses(self) -> bool:
        return self.kind != "moodle-grades"

    @property
    def has_marks(self) -> bool:
        return self.kind != "moodle-responses"


_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_MOODLE_RESPONSE = re.compile(r"^Response (\d+)$")
_MOODLE_QUESTION = re.compile(r"^Question (\d+)$")
_MOODLE_RIGHT = re.compile(r"^Right answer (\d+)$")
_MOODLE_MARK = re.compile(r"^Q\. ?(\d+) ?/ ?(\d+(?:[.,]\d+)?)$")
_MOODLE_GRADE = re.compile(r"^Grade ?/ ?(\d+(?:[.,]\d+)?)$")
_CANVAS_QUESTION = re.compile(r"^(\d+): ?(.*)$", re.DOTALL)
_NOT_ANSWERED = {"", "-"}


def _number(text: str) -> float | None:
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    return float(text.replace(",", "."))


@lru_cache(maxsize=1 << 16)
def clean_response(text: str) -> str | None:
    """A response cell as the student's answer: entities decoded (Moodle writes ``&#039;`` in places); None = not answered."""
    text = (html.unescape(text) if "&" in text else text).strip()
    return None if text in _NOT_ANSWERED else text


def _marks(column: Sequence[str]) -> tuple[npt.NDArray[np.float64], list[str]]:
    """A column of mark cells as numbers (NaN where there is none), and the cells that are not numbers."""
    values: dict[str, float] = {}
    odd: list[str] = []
    for cell in set(column):
        number = _number(cell)
        values[cell] = np.nan if number is None else number
        if number is None and cell.strip() not in _NOT_ANSWERED:
            odd.append(cell.strip())
    return np.array([values[c] for c in column], dtype=np.float64), odd


def read_report(path: Path | str) -> Report:
    """Read one report file, recognising its format from the header row."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path}: not UTF-8 text (byte {exc.start}); download the report as CSV from the LMS") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ReportError(f"{path}: not a CSV file: {exc}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ReportError(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    if any(_MOODLE_RESPONSE.match(h) for h in header):
        return _read_moodle(path, header, rows, "moodle-responses")
    if any(_MOODLE_MARK.match(h) for h in header):
        return _read_moodle(path, header, rows, "moodle-grades")
    if "score" in header and any(_CANVAS_QUESTION.match(h) for h in header):
        return _read_canvas(path, header, rows)
    raise ReportError(
        f"{path}:1: not a report itembank reads: expected a Moodle quiz Responses report ('Response 1', ...), "
        "a Moodle quiz Grades report ('Q. 1 /1.00', ...) or a Canvas Student Analysis report ('<id>: <question>', ..., 'score'), "
        "downloaded as CSV"
    )


def _body(path: Path, header: list[str], rows: list[list[str]]) -> list[tuple[int, list[str]]]:
    """The data rows with their line numbers, blank rows dropped, every row as wide as the header."""
    width = len(header)
    body = [(line, row) for line, row in enumerate(rows[1:], start=2) if row and any(row)]
    for line, row in body:
        if len(row) != width:
            raise ReportError(f"{path}:{line}: {len(row)} cells where the header has {width}; is the file complete?")
    return body


def _column(header: list[str], name: str) -> int | None:
    return header.index(name) if name in header else None


def _read_moodle(path: Path, header: list[str], rows: list[list[str]], kind: ReportKind) -> Report:
    slots: dict[str, dict[str, object]] = {}
    columns: dict[int, tuple[str, str]] = {}  # column -> (role, slot key)
    max_total = None
    for col, h in enumerate(header):
        if m := _MOODLE_RESPONSE.match(h):
            slots.setdefault(m.group(1), {"label": h})
            columns[col] = ("response", m.group(1))
        elif m := _MOODLE_MARK.match(h):
            slots.setdefault(m.group(1), {"label": h})["max"] = float(m.group(2).replace(",", "."))
            columns[col] = ("mark", m.group(1))
        elif m := _MOODLE_QUESTION.match(h):
            columns[col] = ("question", m.group(1))
        elif m := _MOODLE_RIGHT.match(h):
            columns[col] = ("right", m.group(1))
        elif m := _MOODLE_GRADE.match(h):
            max_total = float(m.group(1).replace(",", "."))
            columns[col] = ("total", "")
    status_col = _column(header, "Status")
    started_col = _column(header, "Started")
    ident = [c for c in (_column(header, n) for n in ("Email address", "ID number", "Username")) if c is not None]
    names = [c for c in (_column(header, n) for n in ("First name", "Last name")) if c is not None]
    notes: list[str] = []
    kept: list[tuple[int, list[str]]] = []
    for line, row in _body(path, header, rows):
        if row[0].strip().startswith("Overall average"):
            continue  # Moodle's summary rows (whole quiz, per group), not attempts
        if status_col is not None and row[status_col].strip() not in ("Finished", ""):
            notes.append(f"{path.name}:{line}: left out: attempt is '{row[status_col].strip()}', not Finished (Moodle's statistics use finished attempts only)")
            continue
        kept.append((line, row))
    attempts = []
    for line, row in kept:
        student = next((row[c].strip() for c in ident if row[c].strip()), "") or " ".join(row[c].strip() for c in names if row[c].strip()) or row[0].strip()
        attempts.append(Attempt(student=student, started=row[started_col].strip() if started_col is not None else None, line=line))
    if started_col is not None:
        seen: dict[tuple[str, str | None], int] = {}
        for a in attempts:
            if a.key in seen:
                raise ReportError(
                    f"{path}:{a.line}: the same attempt as line {seen[a.key]} ({a.student}, started {a.started}): "
                    "download the report with 'Which tries: last try' (one row per attempt)"
                )
            seen[a.key] = a.line
    cells = list(zip(*(row for _, row in kept))) if kept else [()] * len(header)
    report = Report(path=path, kind=kind, slots=[], attempts=attempts, max_total=max_total, notes=notes)
    extra: dict[str, dict[str, str]] = {}
    for col, (role, key) in columns.items():
        column = cells[col]
        if role == "response":
            report.responses[key] = list(column)
        elif role == "mark":
            report.marks[key], odd = _marks(column)
            for value in sorted(set(odd)):
                lines = [kept[i][0] for i, c in enumerate(column) if c.strip() == value]
                notes.append(f"{path.name}: slot {key}: mark '{value}' is not a number (e.g. requires grading) on line(s) {', '.join(map(str, lines[:5]))}{' ...' if len(lines) > 5 else ''}; left out")
        elif role == "total":
            totals, _ = _marks(column)
            for attempt, total in zip(attempts, totals):
                attempt.total = None if np.isnan(total) else float(total)
        else:
            first = next((clean_response(c) for c in column if clean_response(c)), None)
            if first:
                extra.setdefault(key, {})[role] = first
    report.slots = [
        Slot(
            key=k,
            label=str(v["label"]),
            max_mark=v.get("max"),  # type: ignore[arg-type]
            question_text=extra.get(k, {}).get("question"),
            right_answer=extra.get(k, {}).get("right"),
        )
        for k, v in sorted(slots.items(), key=lambda kv: int(kv[0]))
    ]
    return report


def split_canvas_list(text: str) -> list[str]:
    """Canvas joins the choices of a multiple-answer response with ``,`` and escapes a literal one as ``\\,``."""
    parts, current, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] == ",":
            current.append(",")
            i += 2
            continue
        if text[i] == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(text[i])
        i += 1
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _read_canvas(path: Path, header: list[str], rows: list[list[str]]) -> Report:
    slots: list[Slot] = []
    pairs: list[tuple[int, int, str]] = []  # (answer column, points column, question id)
    col = 0
    while col < len(header):
        m = _CANVAS_QUESTION.match(header[col])
        if m and col + 1 < len(header) and _number(header[col + 1]) is not None:
            slots.append(Slot(key=m.group(1), label=header[col], max_mark=_number(header[col + 1]), question_text=clean_response(m.group(2))))
            pairs.append((col, col + 1, m.group(1)))
            col += 2
        else:
            col += 1
    if not pairs:
        raise ReportError(f"{path}:1: a Canvas Student Analysis header needs '<question id>: <text>' columns each followed by a points column")
    who = next((c for c in (_column(header, n) for n in ("id", "sis_id", "name")) if c is not None), None)
    attempt_col = _column(header, "attempt")
    submitted_col = _column(header, "submitted")
    score_col = header.index("score")
    body = _body(path, header, rows)
    attempts = []
    for line, row in body:
        attempts.append(
            Attempt(
                student=row[who].strip() if who is not None and row[who].strip() else f"row {line}",  # anonymous surveys have no identity
                started=row[submitted_col].strip() if submitted_col is not None else None,
                line=line,
                total=_number(row[score_col]),
                attempt_number=int(row[attempt_col]) if attempt_col is not None and row[attempt_col].strip().isdigit() else None,
            )
        )
    cells = list(zip(*(row for _, row in body))) if body else [()] * len(header)
    report = Report(path=path, kind="canvas-student-analysis", slots=slots, attempts=attempts)
    for answer_col, points_col, key in pairs:
        # A question the submission was not given (question groups) has both cells empty: no mark, no response.
        report.responses[key] = list(cells[answer_col])
        report.marks[key], _ = _marks(cells[points_col])
    return report
