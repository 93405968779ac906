"""Aiken -> multiple choice items (Moodle's ``qformat_aiken`` reading).

A question is its text (one or more lines), then options ``A) text`` or ``A. text``, then
``ANSWER: X``.  Text is plain (``<``, ``&``, ``*`` are characters, not markup).  A question that
breaks the pattern (no options, no ANSWER line, an answer letter that names no option) is skipped
with the reason and its line; the next question is read from the next question text.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import BadInput, ImportContext, ImportedItem, ReadResult, Skipped
from .gift import decode
from .kit.html import text_to_markdown

MAX_AIKEN_BYTES = 20 * 1024 * 1024
_OPTION = re.compile(r"^([A-Z])[).]\s*(.*)$")
_ANSWER = re.compile(r"^ANSWER\s*:?\s*(.*)$")


class AikenImporter:
    name = "aiken"
    description = "Aiken multiple choice text files"

    def sniff(self, path: Path) -> bool:
        if not path.is_file():
            return False
        try:
            head = path.read_bytes()[:16384].decode("utf-8", "replace")
        except OSError:
            return False
        lines = [ln.strip() for ln in head.splitlines()]
        return any(_ANSWER.match(ln) and len(ln) < 20 for ln in lines) and sum(1 for ln in lines if _OPTION.match(ln)) >= 2 and "{" not in head

    def read(self, path: Path, ctx: ImportContext) -> ReadResult:
        label = str(path)
        try:
            if path.stat().st_size > MAX_AIKEN_BYTES:
                raise BadInput(label, f"refused: larger than {MAX_AIKEN_BYTES:,} bytes")
            raw = path.read_bytes()
        except OSError as exc:
            raise BadInput(label, f"cannot read: {exc.strerror or exc}") from None
        if b"\x00" in raw[:8192]:
            raise BadInput(label, "binary file (NUL bytes), not Aiken text")
        text = decode(raw, label).replace("\r\n", "\n").replace("\r", "\n")
        result = ReadResult(format_notes=["Aiken carries only the question text, its options and the key: no feedback, metadata or points"], not_carried=frozenset({"options[].id"}))
        stem: list[str] = []
        options: list[tuple[str, str]] = []
        start = 0

        def skip(reason: str) -> None:
            ident = " ".join(" ".join(stem).split())[:60] or f"line {start}"
            result.skipped.append(Skipped(ident, f"{label}:{start}", reason))

        for n, line in enumerate(text.split("\n"), 1):
            s = line.strip()
            if not s:
                continue
            m_ans = _ANSWER.match(s)
            m_opt = _OPTION.match(s)
            if m_ans and (options or stem):
                letter = m_ans.group(1).strip()
                if not stem:
                    skip("options without a question text")
                elif len(options) < 2:
                    skip(f"{len(options)} option(s); a multiple choice question needs at least two")
                elif letter not in [o[0] for o in options]:
                    skip(f"ANSWER: {letter!r} names none of the options ({', '.join(o[0] for o in options)})")
                else:
                    result.items.append(self._item(stem, options, letter, f"{label}:{start}", ctx))
                stem, options = [], []
                continue
            if m_opt and stem:
                if m_opt.group(1) in [o[0] for o in options]:
                    skip(f"option letter {m_opt.group(1)} appears twice")
                    stem, options = [], []
                    continue
                options.append((m_opt.group(1), m_opt.group(2).strip()))
                continue
            if options:  # a new question text before the previous one had its ANSWER line
                skip("no ANSWER: line after the options")
                stem, options = [], []
            if not stem:
                start = n
            stem.append(s)
        if stem or options:
            skip("no ANSWER: line after the options" if options else "a question text without options or ANSWER: line")
        return result

    def _item(self, stem: list[str], options: list[tuple[str, str]], letter: str, origin: str, ctx: ImportContext) -> ImportedItem:
        text = text_to_markdown("\n".join(stem))
        opts = []
        notes: list[str] = []
        for key, value in options:
            opt: dict[str, object] = {"id": key.lower(), "text": text_to_markdown(value) or value}
            if key == letter:
                opt["correct"] = True
            opts.append(opt)
        data = {"type": "multiple_choice", "stem": text, "options": opts}
        data["id"] = ctx.ids.derive(None, " ".join(stem), "\n".join(v for _k, v in options))
        return ImportedItem(data, origin, notes)


importer = AikenImporter()
