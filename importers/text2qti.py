"""``text2qti``: the Markdown quiz files of text2qti (https://github.com/gpoore/text2qti, BSD-3-Clause),
the tool many Canvas users write quizzes in.  Its syntax, as text2qti 0.8 reads it:

* ``Quiz title:``, ``Quiz description:`` and quiz options; ``Title:`` and ``Points:`` before a question;
* ``1.  question text`` (continuation lines indented to the text);
* ``*a) correct`` / ``b) wrong`` (multiple choice; two choices True/False make a true/false question),
  ``[*] correct`` / ``[ ] wrong`` (multiple answers), ``*   answer`` (short answer), ``=   value``
  (numerical: ``[min, max]``, ``value +- margin``, ``value +- percent%``, an integer), ``____`` (essay),
  ``^^^^`` (file upload: skipped);
* feedback: ``...`` general (after the question) or per choice (after the choice), ``+`` correct,
  ``-`` incorrect, ``!`` solution;
* ``GROUP`` / ``pick:`` / ``points per question:`` / ``END_GROUP``, ``Text:`` entries, ``%`` and
  ``COMMENT``/``END_COMMENT`` comments.

Text is Markdown already (text2qti renders it with Python-Markdown; ``$...$`` is LaTeX as in our
format), so it is kept as written, de-indented; local images are stored by content hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itembank.sources import followed

from .kit.numbers import clean_number
from .base import BadInput, ImportContext, ImportedItem, ReadResult, Skipped
from .kit.ids import option_id
from .kit.meta import item_title

MAX_BYTES = 50 * 1024 * 1024

_PATTERNS = [
    ("question", r"\d+\."),
    ("mc_correct", r"\*[a-zA-Z]\)"),
    ("mc_choice", r"[a-zA-Z]\)"),
    ("ma_correct", r"\[\*\]"),
    ("ma_choice", r"\[ ?\]"),
    ("sa_answer", r"\*"),
    ("feedback", r"\.\.\."),
    ("correct_feedback", r"\+"),
    ("incorrect_feedback", r"\-"),
    ("solution", r"!"),
    ("essay", r"___+"),
    ("upload", r"\^\^\^+"),
    ("numerical", r"="),
    ("text_title", r"[Tt]ext [Tt]itle:"),
    ("text", r"[Tt]ext:"),
    ("quiz_title", r"[Qq]uiz [Tt]itle:"),
    ("quiz_description", r"[Qq]uiz description:"),
    ("title", r"[Tt]itle:"),
    ("points", r"[Pp]oints:"),
    ("end_group", r"END_GROUP"),
    ("start_group", r"GROUP"),
    ("group_pick", r"[Pp]ick:"),
    ("group_solutions_pick", r"[Ss]olutions pick:"),
    ("group_points", r"[Pp]oints per question:"),
    ("quiz_option", r"(?:[Ss]huffle answers|[Ss]how correct answers|[Oo]ne question at a time|[Cc]an't go back|"
                    r"[Ff]eedback is solution|[Ss]olutions sample groups|[Ss]olutions randomize groups):"),
]
_NO_CONTENT = {"essay", "upload", "start_group", "end_group"}
_SINGLE_LINE = {"points", "group_pick", "group_solutions_pick", "group_points", "numerical", "sa_answer", "quiz_option", "title",
                "text_title", "quiz_title"}
_START = re.compile("|".join(
    rf"(?P<{name}>{pat}[ \t]*$)" if name in _NO_CONTENT else rf"(?P<{name}>{pat}[ \t]+(?=\S))" for name, pat in _PATTERNS))
NOT_CARRIED = ("text2qti carries no difficulty, level, Bloom level, tags, objectives, author, source, status, option ids "
               "(options are named a, b, c...), hints, rubrics, word limits, case sensitivity, matching, ordering or cloze items; "
               "ids are made from the title (or the question's first words) and a hash of its text")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(\s+\"[^\"]*\")?\s*\)")


@dataclass
class Question:
    line: int
    text: str = ""
    title: str | None = None
    points: str | None = None
    kind: str | None = None  # mc, ma, sa, num, essay, upload
    choices: list[dict[str, Any]] = field(default_factory=list)
    feedback: str = ""
    correct_feedback: str = ""
    incorrect_feedback: str = ""
    solution: str = ""
    numerical: str = ""
    group: str | None = None
    problems: list[str] = field(default_factory=list)


class Text2qtiImporter:
    name = "text2qti"
    description = "text2qti Markdown quiz file (.md / .txt)"

    def sniff(self, path: Path) -> bool:
        try:
            if not path.is_file() or path.suffix.lower() not in (".md", ".txt", ".markdown", ".text"):
                return False
            head = path.read_bytes()[:16384].decode("utf-8", "replace")
        except OSError:
            return False
        lines = head.splitlines()
        questions = sum(1 for ln in lines if re.match(r"\d+\.[ \t]+\S", ln))
        answers = sum(1 for ln in lines if re.match(r"(\*?[a-zA-Z]\)|\[[ *]?\]|\*|=|\.\.\.)[ \t]+\S|___+\s*$", ln))
        return questions > 0 and answers > 0

    def read(self, path: Path, ctx: ImportContext) -> ReadResult:
        label = str(path)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise BadInput(label, f"refused: larger than {MAX_BYTES:,} bytes")
            raw = path.read_bytes()
        except OSError as exc:
            raise BadInput(label, f"cannot read: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise BadInput(f"{label}:{line}", "not UTF-8 (text2qti reads UTF-8 only); convert the file first") from None
        return _Parser(label, path.parent, text, ctx).run()


class _Parser:
    def __init__(self, label: str, folder: Path, text: str, ctx: ImportContext) -> None:
        self.label = label
        self.folder = folder
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.ctx = ctx
        self.result = ReadResult(format_notes=[NOT_CARRIED], not_carried=frozenset({"options[].id"}))
        self.quiz_title: str | None = None
        self.questions: list[Question] = []
        self.pending: dict[str, str] = {}
        self.group: str | None = None
        self.group_pick = "1"

    def error(self, line: int, msg: str) -> BadInput:
        return BadInput(f"{self.label}:{line}", msg)

    def _block(self, i: int, start: int) -> tuple[str, int]:
        """The content that begins at column ``start`` of line ``i`` and continues on lines indented
        to that column (blank lines inside allowed); returns (text, index of the next line)."""
        first = self.lines[i][start:]
        out = [first.rstrip()]
        j = i + 1
        while j < len(self.lines):
            line = self.lines[j]
            if not line.strip():
                k = j
                while k < len(self.lines) and not self.lines[k].strip():
                    k += 1
                if k < len(self.lines) and self.lines[k][:start].strip() == "" and len(self.lines[k]) - len(self.lines[k].lstrip()) >= start and start > 0:
                    out += [""] * (k - j)
                    j = k
                    continue
                break
            indent = len(line) - len(line.lstrip(" \t"))
            if indent >= start and start > 0 and "\t" not in line[:start]:
                out.append(line[start:].rstrip())
                j += 1
                continue
            break
        return "\n".join(out).strip("\n"), j

    def run(self) -> ReadResult:
        i = 0
        current: Question | None = None
        last: str | None = None  # what the last element was: question / choice
        while i < len(self.lines):
            line = self.lines[i]
            stripped = line.strip()
            if not stripped:
                i += 1
                continue
            if line.startswith("%"):
                i += 1
                continue
            if line.startswith("COMMENT"):
                j = i + 1
                while j < len(self.lines) and not self.lines[j].startswith("END_COMMENT"):
                    j += 1
                if j == len(self.lines):
                    raise self.error(i + 1, '"COMMENT" without a following "END_COMMENT"')
                i = j + 1
                continue
            if line[:1].isspace():
                raise self.error(i + 1, f"unexpected indented text: {stripped[:60]!r} (continuation lines must follow a question or answer)")
            m = _START.match(line)
            if not m:
                raise self.error(i + 1, f"not text2qti syntax: {stripped[:60]!r}")
            kind = m.lastgroup or ""
            start = m.end()
            if kind in _NO_CONTENT:
                content, nxt = "", i + 1
            elif kind in _SINGLE_LINE:
                content, nxt = line[start:].strip(), i + 1
            else:
                content, nxt = self._block(i, start)
            lineno = i + 1
            i = nxt
            if kind == "quiz_title":
                self.quiz_title = content
            elif kind in ("quiz_description", "quiz_option"):
                self.result.problems.append(f"{self.label}:{lineno}: quiz setting '{line.split(':', 1)[0]}' is not kept (items only)")
            elif kind in ("title", "points"):
                self.pending[kind] = content
            elif kind in ("text", "text_title"):
                if kind == "text":
                    self.result.skipped.append(Skipped(self.pending.pop("text_title", "") or f"text at line {lineno}", f"{self.label}:{lineno}",
                                                       "text-only entry: a description, not a question"))
                else:
                    self.pending["text_title"] = content
            elif kind == "start_group":
                self.group = f"group at line {lineno}"
                self.group_pick = "1"
            elif kind == "end_group":
                self.group = None
            elif kind in ("group_pick", "group_solutions_pick", "group_points"):
                if kind == "group_pick":
                    self.group_pick = content
            elif kind == "question":
                current = Question(lineno, content, self.pending.pop("title", None), self.pending.pop("points", None))
                if self.group:
                    current.group = f"in a text2qti question group that picks {self.group_pick}: the group is not kept, the question is"
                self.questions.append(current)
                last = "question"
            else:
                if current is None:
                    raise self.error(lineno, f"'{line.split()[0]}' before any question")
                self._answer(current, kind, content, lineno, last)
                last = "choice" if kind in ("mc_correct", "mc_choice", "ma_correct", "ma_choice", "sa_answer") else last
        for q in self.questions:
            self._emit(q)
        return self.result

    def _answer(self, q: Question, kind: str, content: str, line: int, last: str | None) -> None:
        def set_kind(k: str) -> None:
            if q.kind not in (None, k):
                raise self.error(line, f"question at line {q.line} mixes answer kinds ({q.kind} and {k})")
            q.kind = k

        if kind in ("mc_correct", "mc_choice"):
            set_kind("mc")
            q.choices.append({"text": content, "correct": kind == "mc_correct", "line": line})
        elif kind in ("ma_correct", "ma_choice"):
            set_kind("ma")
            q.choices.append({"text": content, "correct": kind == "ma_correct", "line": line})
        elif kind == "sa_answer":
            set_kind("sa")
            q.choices.append({"text": content, "correct": True, "line": line})
        elif kind == "numerical":
            set_kind("num")
            q.numerical = content
        elif kind == "essay":
            set_kind("essay")
        elif kind == "upload":
            set_kind("upload")
        elif kind == "feedback":
            if last == "choice" and q.choices:
                q.choices[-1]["feedback"] = content
            else:
                q.feedback = content
        elif kind == "correct_feedback":
            q.correct_feedback = content
        elif kind == "incorrect_feedback":
            q.incorrect_feedback = content
        elif kind == "solution":
            q.solution = content

    def _md(self, text: str, notes: list[str]) -> str:
        """The text with local images stored by content hash (URLs kept)."""
        def image(m: re.Match[str]) -> str:
            src = m.group(2)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", src):
                return m.group(0)
            target = followed(self.folder / src)
            if target is None:
                notes.append(f"image {src!r} next to the quiz file is a link loop: kept as written")
                return m.group(0)
            try:
                target.relative_to(self.folder.resolve())
            except ValueError:
                notes.append(f"image {src!r} lies outside the quiz file's folder: kept as written")
                return m.group(0)
            if not target.is_file():
                notes.append(f"image {src!r} not found next to the quiz file: kept as written")
                return m.group(0)
            rel = self.ctx.media.add(target.read_bytes(), target.name)
            return f"![{m.group(1)}]({rel})"

        return _IMAGE.sub(image, text).strip()

    def _emit(self, q: Question) -> None:
        origin = f"{self.label}:{q.line}"
        who = q.title or f"question at line {q.line}"
        notes: list[str] = []
        if q.kind is None:
            raise self.error(q.line, "question without answers (a), [*], *, =, ____ or ^^^^)")
        if q.kind == "upload":
            self.result.skipped.append(Skipped(who, origin, "file-upload questions have no item type"))
            return
        data: dict[str, Any] = {}
        stem = self._md(q.text, notes)
        if q.kind == "mc":
            keys = [c for c in q.choices if c["correct"]]
            if len(q.choices) < 2 or len(keys) != 1:
                raise self.error(q.line, "a multiple-choice question needs two or more choices and exactly one correct (*a))")
            texts = [c["text"].strip() for c in q.choices]
            if len(texts) == 2 and {t.lower() for t in texts} == {"true", "false"} and all(t in ("true", "True", "false", "False") for t in texts):
                data = {"type": "true_false", "stem": stem, "answer": keys[0]["text"].strip().lower() == "true"}
                for c in q.choices:
                    if c.get("feedback"):
                        data[f"{c['text'].strip().lower()}_feedback"] = self._md(c["feedback"], notes)
            else:
                data = {"type": "multiple_choice", "stem": stem, "options": self._options(q, notes)}
        elif q.kind == "ma":
            if len(q.choices) < 2 or not any(c["correct"] for c in q.choices):
                raise self.error(q.line, "a multiple-answers question needs two or more choices and at least one correct ([*])")
            data = {"type": "multiple_response", "stem": stem, "options": self._options(q, notes), "scoring": "partial"}
        elif q.kind == "sa":
            data = {"type": "short_answer", "stem": stem, "answers": [c["text"].strip() for c in q.choices]}
            if any(c.get("feedback") for c in q.choices):
                raise self.error(q.line, "short-answer answers cannot have their own feedback in text2qti")
        elif q.kind == "num":
            data = {"type": "numeric", "stem": stem, **self._numerical(q, notes)}
        elif q.kind == "essay":
            data = {"type": "essay", "stem": stem}
        rationale = [self._md(q.feedback, notes)] if q.feedback else []
        if q.correct_feedback:
            rationale.append(self._md(q.correct_feedback, notes))
            notes.append("correct-answer feedback (+) kept in the rationale (the item format has no correct-only feedback)")
        if rationale:
            data["rationale"] = "\n\n".join(rationale)
        if q.incorrect_feedback:
            data["common_mistakes"] = [self._md(q.incorrect_feedback, notes)]
            notes.append("incorrect-answer feedback (-) kept as a common mistake (the item format has no incorrect-only feedback)")
        if q.solution:
            data["solution"] = {"steps": [self._md(q.solution, notes)]}
        if q.points is not None:
            try:
                pts = float(q.points)
            except ValueError:
                raise self.error(q.line, f"invalid points value {q.points!r}") from None
            if pts <= 0:
                raise self.error(q.line, f"invalid points value {q.points!r}: must be more than 0")
            data["points"] = int(pts) if pts.is_integer() else pts
        if self.quiz_title:
            data["topic"] = self.quiz_title
        if q.group:
            notes.append(q.group)
        item_id = self.ctx.ids.derive(None, q.title or " ".join(re.sub(r"[^\w\s-]", " ", stem).split()[:8]) or "question", stem + "|" + data["type"])
        out = {"id": item_id, **({"title": item_title(q.title, notes)} if q.title else {}), **data}
        self.result.items.append(ImportedItem(out, origin, notes))

    def _options(self, q: Question, notes: list[str]) -> list[dict[str, Any]]:
        used: set[str] = set()
        options = []
        seen: set[str] = set()
        for c in q.choices:  # text2qti itself refuses this ("Duplicate choice for question")
            key = " ".join(c["text"].split()).lower()
            if key in seen:
                raise self.error(c["line"], f"duplicate choice {c['text'].strip()[:40]!r} in the question at line {q.line}")
            seen.add(key)
        for n, c in enumerate(q.choices):
            opt: dict[str, Any] = {"id": option_id(None, n, used), "text": self._md(c["text"], notes)}
            if c["correct"]:
                opt["correct"] = True
            if c.get("feedback"):
                opt["feedback"] = self._md(c["feedback"], notes)
            options.append(opt)
        return options

    def _numerical(self, q: Question, notes: list[str]) -> dict[str, Any]:
        text = q.numerical.strip()
        bad = self.error(q.line, f'invalid numerical answer {text!r}; need "[min, max]", "value +- margin" or an integer')
        try:
            if text.startswith("["):
                if not text.endswith("]") or "," not in text:
                    raise bad
                low, high = (float(v) for v in text[1:-1].split(",", 1))
                if low > high:
                    raise bad
                return {"range": {"min": clean_number(low), "max": clean_number(high)}}
            if "+-" in text:
                value_s, margin_s = text.split("+-", 1)
                value = float(value_s)
                percent = margin_s.strip().endswith("%")
                margin = float(margin_s.strip().rstrip("%"))
                if margin < 0:
                    raise bad
                if percent:
                    notes.append(f"margin {margin_s.strip()} of {value_s.strip()} converted to an absolute tolerance")
                    margin = abs(value) * margin / 100
                return {"answer": clean_number(value), **({"tolerance": clean_number(margin)} if margin else {})}
            if re.fullmatch(r"[+-]?\d+(_\d+)*", text):
                return {"answer": int(text.replace("_", ""))}
        except ValueError:
            raise bad from None
        raise bad


importer = Text2qtiImporter()
