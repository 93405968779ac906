"""GIFT -> items, reading the syntax as Moodle's importer (``qformat_gift``) does.

Questions are separated by blank lines; ``//`` lines are comments, and the comment before a question
may hold ``[id:...]`` and ``[tag:...]`` (Moodle 4.x); ``$CATEGORY:`` sets the topic; ``::name::``
the title; ``[html]`` / ``[moodle]`` / ``[plain]`` / ``[markdown]`` the text format; escapes
``\\: \\# \\= \\{ \\} \\~ \\n \\\\``.  Types as Moodle tells them apart: ``{}`` essay, ``{#...}``
numerical (``value:tolerance``, ``min..max``, weights, ``~#`` wrong-answer feedback), ``~`` in the
answers multichoice (``=`` present: one key, else multiple response with ``%weights%``), ``=a -> b``
matching, ``T``/``TRUE``/``F``/``FALSE`` true/false with ``#wrong#right`` feedback, anything else
short answer; ``####`` starts the general feedback; answers inside the text ("missing word") leave
``_____`` in the stem.  A file that is not UTF-8 is refused with the byte's line and column (Moodle's
import form refuses it too), naming Windows-1252 when the bytes look like it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from .kit.categories import ParentNotes, category_names
from .kit.numbers import clean_number
from .base import BadInput, ImportContext, ImportedItem, ReadResult, Skipped
from .kit.feedback import choice_scoring, split_general_feedback, split_grader_info
from .kit.html import html_to_markdown, text_to_markdown
from .kit.ids import option_id, renamed_note
from .kit.meta import apply_tags, item_title

MAX_GIFT_BYTES = 50 * 1024 * 1024

# private-use placeholders for escaped characters (Moodle uses "&&058;" etc. the same way)
_ESC = {":": "\ue100", "#": "\ue101", "=": "\ue102", "{": "\ue103", "}": "\ue104", "~": "\ue105", "n": "\ue106"}
_POST = {v: ("\n" if k == "n" else k) for k, v in _ESC.items()}
_BACKSLASH = "\ue107"
_WEIGHT = re.compile(r"^%(-*[0-9]{1,2}\.?[0-9]*)%")
_LOOKS_WEIGHT = re.compile(r"^-?[0-9]{1,3}(?:\.[0-9]*)?%[^\s%.,;:!?)]")  # '~50%a': a weight without its first '%' ('~50%' is text)
_ID = re.compile(r"\[id:((?:\\]|[^\]\x00-\x1f])+)\]")
_TAG = re.compile(r"\[tag:((?:\\]|[^\]<>`\x00-\x1f\x7f])*)\]")
_FORMATS = {"html": "html", "moodle": "moodle", "plain": "plain", "markdown": "markdown"}
_ANSWERS = re.compile(r"\{\s*(?:[=~#]|(?:T|F|TRUE|FALSE)\s*[#}]|\})")  # an answer block: {=a ~b}, {#5}, {T}, {}
#: What starts a tag, a comment or a declaration: '<' then a name ended by a space, '/' or '>', the tag
#: closed by a '>' (quoted attribute values may hold '<' and '>').  Any other '<' is text.
_TAG_START = re.compile(r"""<(?:/?[A-Za-z][A-Za-z0-9:-]*(?=[\s/>])(?:"[^"]*"|'[^']*'|[^<>"'])*>|!--.*?-->|![A-Za-z][^<>]*>)""", re.S)
_CP1252_HINT = re.compile(rb"[\x80-\x9f]|[\xa0-\xff](?![\x80-\xbf])")


def _pre(text: str) -> str:
    text = text.replace("\\\\", _BACKSLASH)
    for ch, ph in _ESC.items():
        text = text.replace("\\" + ch, ph)
    return text.replace(_BACKSLASH, "\\")


def _post(text: str) -> str:
    for ph, ch in _POST.items():
        text = text.replace(ph, ch)
    return text


def decode(raw: bytes, label: str) -> str:
    """UTF-8 (a BOM is dropped); anything else is refused with the position of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = ""
        try:
            sample = raw.decode("cp1252")
            if _CP1252_HINT.search(raw):
                around = sample[max(0, exc.start - 10) : exc.start + 10].replace("\n", " ")
                hint = (f"; it looks like Windows-1252 (there the byte reads {raw[exc.start:exc.start + 1].decode('cp1252')!r}, "
                        f"as in {around!r}): convert it with `iconv -f WINDOWS-1252 -t UTF-8`")
        except UnicodeDecodeError:
            pass
        raise BadInput(f"{label}:{line}:{col}", f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded (Moodle refuses such files too){hint}") from None


NOT_CARRIED = ("GIFT carries no author, source, review history, lint ignores, analysis evidence, option ids (options are named a, b, c...), "
               "points, shuffle setting, case sensitivity, numeric units, essay grader information (rubric, sample answer), "
               "word limits or response template, images, and no cloze with several blanks")


class _Block:
    def __init__(self, line: int) -> None:
        self.line = line
        self.lines: list[str] = []
        self.numbers: list[int] = []  # each of ``lines``' line number in the file
        self.comments: list[str] = []


def split_blocks(text: str) -> list[_Block]:
    """Questions as Moodle reads them: runs of non-blank lines; ``//`` lines are comments."""
    blocks: list[_Block] = []
    cur: _Block | None = None
    pending_comments: list[str] = []
    for n, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped:
            if cur is not None:
                blocks.append(cur)
                cur = None
            continue
        if cur is None:
            cur = _Block(n)
            cur.comments = pending_comments
            pending_comments = []
        if stripped.startswith("//"):
            cur.comments.append(stripped)
        else:
            cur.lines.append(line.rstrip("\r"))
            cur.numbers.append(n)
    if cur is not None:
        blocks.append(cur)
    return blocks


class _Skip(Exception):
    pass


class GiftImporter:
    name = "gift"
    description = "GIFT text files (Moodle's import syntax)"

    def sniff(self, path: Path) -> bool:
        if not path.is_file() or path.suffix.lower() not in (".gift", ".txt"):
            return False
        try:
            head = path.read_bytes()[:8192].decode("utf-8", "replace")
        except OSError:
            return False
        if "{" not in head:
            return False
        # titles, categories and comments are optional: a question alone is "text{answers}"
        return bool(re.search(r"^\s*(::|\$CATEGORY:|//)", head, re.M)) or _ANSWERS.search(head) is not None

    def read(self, path: Path, ctx: ImportContext) -> ReadResult:
        label = str(path)
        try:
            size = path.stat().st_size
            if size > MAX_GIFT_BYTES:
                raise BadInput(label, f"refused: {size:,} bytes (limit {MAX_GIFT_BYTES:,})")
            raw = path.read_bytes()
        except OSError as exc:
            raise BadInput(label, f"cannot read: {exc.strerror or exc}") from None
        if b"\x00" in raw[:8192]:
            raise BadInput(label, "binary file (NUL bytes), not GIFT text")
        text = decode(raw, label).replace("\r\n", "\n").replace("\r", "\n")
        result = ReadResult(format_notes=[NOT_CARRIED], not_carried=frozenset({"options[].id"}))
        category = ""
        cut: tuple[Skipped, _Block] | None = None  # a question whose answers a blank line cut off, and its block
        names: list[str] = []  # the category's path as Moodle splits it, without the context and 'top'
        where = ""
        parent_notes = ParentNotes()  # the parents an item's one topic drops: said once per category path
        # our tag scheme (our export says so in its first line): topics come from tags, not categories
        scheme = re.search(r"\[tag:topic:", text) is not None or "GIFT export by itembank" in text[:2000]
        for block in split_blocks(text):
            body = "\n".join(block.lines).strip()
            if not body:
                continue
            origin = f"{label}:{block.line}"
            pre = _pre(body)
            notes: list[str] = []
            if cut is not None:
                # the block before opened its answers and did not close them: a blank line inside them
                first, first_block = cut
                lb, rb = pre.find("{"), pre.find("}")
                if lb == -1 and (rb != -1 or not re.match(r"^\$CATEGORY:", pre)):
                    first.reason = (f"a blank line after line {first_block.numbers[-1]} inside its answers: a blank line ends a "
                                    "question, so Moodle reads this one without its closing '}' and refuses it, and the lines "
                                    "after the blank line too; remove the blank line(s) inside the braces")
                    result.skipped.append(Skipped(f"line {block.line}", origin, f"the rest of question {first.ident!r} "
                                                  f"(line {first_block.line}), after a blank line inside its answers (see there)"))
                    if rb != -1:
                        cut = None
                    continue
                cut = None
            if re.match(r"^\$CATEGORY:", pre):
                head, _nl, pre = pre.partition("\n")
                cat_path = _post(head[10:]).strip()
                names = category_names(cat_path)
                category, where = (names[-1] if names else ""), f"$CATEGORY: {cat_path} (line {block.line})"
                pre = pre.strip()
                if not pre:
                    continue
                # a question on the next lines: Moodle takes the whole block for the category's name
                # (the question lost, the category named after it); read as the question it is
                block = _rest_of(block)
                origin = f"{label}:{block.line}"
                notes.append(f"written right after the line '{_post(head).strip()}' with no blank line between: Moodle would "
                             "take the whole block for the category's name and lose this question; read as a question")
            if not scheme:
                _line_notes(block, notes)
            try:
                data, ident = _question(pre, block, "" if scheme else category, ctx, notes)
            except _Skip as exc:
                name = _name_of(pre)
                result.skipped.append(Skipped(name or f"line {block.line}", origin, str(exc)))
                if "{" in pre and "}" not in pre:
                    cut = (result.skipped[-1], block)
                continue
            if data is None:
                result.skipped.append(Skipped(ident, origin, "description only (no question to answer)"))
                continue
            if category and not scheme and data.get("topic") == category:
                note = parent_notes.note(where, names)
                if note:
                    result.format_notes.append(note)
            result.items.append(ImportedItem(data, origin, notes))
        return result


_EOL_COMMENT = re.compile(r"(?<=\s)//")
_EOL_BACKSLASH = re.compile(r"(?<!\\)(?:\\\\)*\\$")  # an odd number of '\' at the end: the last one escapes nothing


def _line_notes(block: _Block, notes: list[str]) -> None:
    """What hand-written GIFT means that Moodle does not read so: a '//' after text (Moodle's comments
    are whole lines), a '\\' at the end of a line (GIFT has no line continuation)."""
    last = len(block.lines) - 1
    for i, (line, n) in enumerate(zip(block.lines, block.numbers)):
        m = _EOL_COMMENT.search(line)
        if m:
            notes.append(f"{line[m.start():].strip()!r} on line {n} is text for Moodle, not a comment (a comment is a line that "
                         "starts with '//'): read as text")
        if i < last and _EOL_BACKSLASH.search(line.rstrip()):
            notes.append(f"line {n} ends with '\\': GIFT has no line continuation, so the backslash is text and the line break "
                         "is kept, as Moodle reads them")


def _rest_of(block: _Block) -> _Block:
    """The block without its first line (the ``$CATEGORY:`` line)."""
    rest = _Block(block.numbers[1])
    rest.lines, rest.numbers, rest.comments = block.lines[1:], block.numbers[1:], block.comments
    return rest


def _name_of(pre: str) -> str:
    if pre.startswith("::"):
        end = pre.find("::", 2)
        if end != -1:
            return " ".join(_post(pre[2:end]).split())
    return ""


def _split_format(text: str, default: str) -> tuple[str, str]:
    """Moodle's parse_text_with_format: a leading ``[html]`` etc. sets the format."""
    if text.startswith("["):
        end = text.find("]")
        fmt = _FORMATS.get(text[1:end]) if end != -1 else None
        if fmt:
            return text[end + 1 :], fmt
    return text, default


def _literal_lt(text: str) -> str:
    """An HTML or Moodle-format text with each '<' that begins no tag written ``&lt;``: a hand-written
    ``a<b?`` or ``x<5`` is text (an HTML parser would take ``<b?`` for a tag and drop the rest)."""
    if "<" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt == -1:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:lt])
        m = _TAG_START.match(text, lt)
        if m:
            out.append(m.group(0))
            pos = m.end()
        else:
            out.append("&lt;")
            pos = lt + 1


class _Text:
    def __init__(self, notes: list[str]) -> None:
        self.notes = notes

    def md(self, raw: str, default_fmt: str) -> str:
        text, fmt = _split_format(raw.strip(), default_fmt)
        text = _post(text).strip()
        if not text:
            return ""
        if fmt == "plain":
            return text_to_markdown(text)
        if fmt == "markdown":
            return text
        text = _literal_lt(text)
        if fmt == "moodle":
            text = text.replace("\n", "<br>\n")
        md, found = html_to_markdown(text)
        self.notes.extend(n for n in found if n not in self.notes)
        return md

    def html(self, raw: str, default_fmt: str) -> tuple[str, str]:
        text, fmt = _split_format(raw.strip(), default_fmt)
        text = _post(text).strip()
        return (_literal_lt(text) if fmt in ("html", "moodle") else text), fmt

    def plain(self, raw: str, default_fmt: str) -> str:
        text, fmt = _split_format(raw.strip(), default_fmt)
        text = _post(text).strip()
        if fmt in ("html", "moodle") and ("<" in text or "&" in text):
            from lxml import html as lxml_html

            try:
                text = "".join(lxml_html.fragment_fromstring(_literal_lt(text), create_parent="div").itertext())
            except Exception:  # noqa: BLE001 - keep the raw text
                pass
        return " ".join(text.split())


def _question(pre: str, block: _Block, category: str, ctx: ImportContext, notes: list[str]) -> tuple[dict[str, Any] | None, str]:
    comments = "\n".join(block.comments)
    m = _ID.search(comments)
    source_id = m.group(1).replace("\\]", "]").strip() if m else None
    tags = [t.replace("\\]", "]").strip() for t in _TAG.findall(comments)]
    name = ""
    text = pre
    if text.startswith("::"):
        end = text.find("::", 2)
        if end != -1:
            name = " ".join(_post(text[2:end]).split())
            text = text[end + 2 :].strip()
        else:
            # Moodle drops the '::' and names the question after its text
            text = text[2:].strip()
            notes.append("the title has no closing '::' (::title::): the text after '::' read as the question, as Moodle reads it")
    start, finish = text.find("{"), text.find("}")
    if start == -1 and finish == -1:
        return None, source_id or name or f"line {block.line}"
    if start == -1 or finish == -1 or finish < start:
        raise _Skip("unbalanced braces: the answers need { and } (escape literal ones as \\{ \\})")
    inner = text.find("{", start + 1, finish)
    if inner != -1:
        # an answer block not closed before the next '{' (Moodle reads up to the first '}': the
        # next question's text became an answer)
        line = block.numbers[min(pre[: len(pre) - len(text) + inner].count("\n"), len(block.numbers) - 1)]
        raise _Skip(f"a '{{' on line {line} inside the answers: this question's answers lack their closing '}}' (or the "
                    "next question needs a blank line before it); write a literal brace as \\{ \\}")
    after = text[finish + 1 :]
    if "{" in after:
        # Moodle reads the first {...} only: a second question written without a blank line before
        # it (or a literal brace) would end up, raw, in this one's text
        line = block.numbers[min(pre[: len(pre) - len(text) + finish + 1 + after.find("{")].count("\n"), len(block.numbers) - 1)]
        raise _Skip(f"a second answer block '{{' on line {line}, after this question's answers: separate questions with "
                    "a blank line (Moodle would read the next question into this one's text); write a literal brace as \\{ \\}")
    answer_text = text[start + 1 : finish].strip()
    if text.endswith("}"):
        qtext = text[:start] + text[finish + 1 :]
    else:
        qtext = text[:start] + "_____" + text[finish + 1 :]
        if text[finish + 1 :].strip() and not _is_missing_word_ok(text[finish + 1 :]):
            notes.append("text after the answers kept in the question (Moodle's missing-word format)")
    general = ""
    gf = answer_text.rfind("####")
    if gf != -1:
        general = answer_text[gf + 4 :]
        answer_text = answer_text[:gf].strip()
    conv = _Text(notes)
    qraw, qfmt = _split_format(qtext.strip(), "moodle")
    data: dict[str, Any] = {}
    markers = apply_tags(data, tags, notes)
    if category and "topic" not in data:
        data["topic"] = category
    if name and name != source_id:
        data["title"] = item_title(name, notes)
    stem = conv.md(f"[{qfmt}]" + qraw if qraw.startswith("[") else qraw, qfmt)
    if not stem:
        if not name:
            raise _Skip("the question text is empty (Moodle would import a question showing students no text, under a "
                        "default name): write the question before its answers '{'")
        # '::T::{#5}': Moodle imports it with an empty question text, which our items cannot hold
        stem = text_to_markdown(name)
        notes.append(f"no question text, only the title {name!r}: Moodle imports the question with an empty text (students "
                     "see the answers alone); an item needs a stem, so the title is also the stem")
    ident = source_id or name or f"line {block.line}"

    if answer_text == "":
        qtype = "essay"
    elif answer_text.startswith(">"):
        qtype = "ordering"  # qtype_ordering's GIFT syntax: {>N options, then one entry per line}
    elif answer_text.startswith("#"):
        qtype = "numerical"
    elif "~" in answer_text:
        qtype = "multichoice"
    elif "=" in answer_text and "->" in answer_text:
        qtype = "match"
    else:
        check = answer_text
        if answer_text.find("#") > 0:
            check = answer_text[: answer_text.find("#")].strip()
        qtype = "truefalse" if check in ("T", "TRUE", "F", "FALSE") else "shortanswer"
        if qtype == "shortanswer" and _post(check).strip().upper() in ("T", "TRUE", "F", "FALSE"):
            notes.append(f"{{{_post(check).strip()}}} read as a short answer whose answer is {_post(check).strip()!r}, as Moodle reads it: "
                         "a true/false question is written {T}, {TRUE}, {F} or {FALSE}, in capitals")

    type_data = {"essay": _essay, "numerical": _numerical, "multichoice": _multichoice, "match": _match,
                 "truefalse": _truefalse, "shortanswer": _shortanswer, "ordering": _ordering}[qtype](answer_text, qfmt, conv, notes, markers)
    back_blocks = type_data.pop("_back_blocks", 0)
    if general.strip():
        gtext, gfmt = conv.html(general, qfmt)
        if gfmt == "plain":
            data["rationale"] = text_to_markdown(gtext)
        elif gfmt == "markdown":
            data["rationale"] = gtext
        else:
            if gfmt == "moodle":
                gtext = gtext.replace("\n", "<br>\n")
            if type_data["type"] == "flashcard":
                rubric, sample, back = split_grader_info(gtext, [])
                if back:
                    type_data["answer"] = back
                    back_blocks = _count_back_blocks(gtext)
                    if back_blocks > 1:
                        notes.append("GIFT holds a flashcard's back and its rationale in one general feedback with nothing between them: "
                                     "all of it kept as the flashcard's back")
            split_general_feedback(gtext, data, notes, None, back_blocks)
    if type_data["type"] == "flashcard" and not type_data.get("answer"):
        raise _Skip("a flashcard (type:flashcard tag) without its back (an Answer section in the general feedback)")
    extra = type_data.pop("_extra_feedback", [])
    if extra:
        data["rationale"] = "\n\n".join(([data["rationale"]] if data.get("rationale") else []) + extra)
    data.update(type_data)
    data["stem"] = stem
    data["id"] = ctx.ids.derive(source_id, name, stem)
    if source_id and data["id"] != source_id:
        notes.append(renamed_note("GIFT id", source_id, data["id"]))
    return data, ident


def _count_back_blocks(html: str) -> int:
    from .kit.feedback import _blocks, _heading

    blocks = _blocks(html) or []
    heads = [_heading(b) for b in blocks]
    if "Answer" not in heads:
        return 0
    i = heads.index("Answer") + 1
    n = 0
    while i + n < len(blocks) and heads[i + n] is None:
        n += 1
    return n


def _is_missing_word_ok(after: str) -> bool:
    return True


def _weight(ans: str) -> tuple[float | None, str]:
    m = _WEIGHT.match(ans)
    if not m:
        return None, ans
    try:
        w = float(m.group(1).replace("--", "-"))
    except ValueError:
        return None, ans
    return w, ans[m.end() :]


def _comment(ans: str) -> tuple[str, str]:
    bits = ans.split("#", 1)
    return bits[0].strip(), (bits[1].strip() if len(bits) > 1 else "")


def _eq_in_feedback(prev: str, part: str) -> str:
    """The feedback text around an '=' that likely belongs to it: ``part`` starts at an '=' and
    ``prev``, the answer before it, has a feedback ('#') that runs into it with no space before the
    '=' (``x=2``) or a space after it (``x = 2``), as an answer's own '=' is not written.  "" if not."""
    if not part.startswith("=") or "#" not in prev:
        return ""
    if prev[-1:].isspace() and part[1:2].strip():
        return ""
    return " ".join(_post(prev.split("#", 1)[1] + part.split("#", 1)[0]).split())


def _eq_note(what: str, prev: str, feedback: str, kept: str) -> str:
    """The note for an '=' inside a feedback, which Moodle reads as the start of a new answer."""
    return (f"{what} comes from the '=' in the feedback of {prev} ({feedback!r}): Moodle starts a new answer worth 100% "
            f"at every '=' not escaped, {kept}; if the '=' belongs to the feedback, write it \\=")


def _split_answers(text: str, notes: list[str], kept: str) -> list[str]:
    """A short answer's or numerical's answers, split at each '=' as Moodle does; an '=' that looks
    like part of a feedback (``=4#since x = 2``) is noted, the answer it starts named."""
    parts = text.split("=")
    for i in range(1, len(parts)):
        feedback = _eq_in_feedback(parts[i - 1], "=" + parts[i])
        if feedback:
            prev = _post(_comment(_weight(parts[i - 1].strip())[1])[0]).strip()
            new = _post(_comment(_weight(parts[i].strip())[1])[0]).strip()
            notes.append(_eq_note(f"answer {new!r}", f"answer {prev!r}", feedback, kept))
    if parts and not parts[0].strip():
        parts = parts[1:]
    return parts


def _multichoice(answer_text: str, fmt: str, conv: _Text, notes: list[str], markers: set[str]) -> dict[str, Any]:
    single = "=" in answer_text
    parts = answer_text.replace("=", "~=").split("~")
    if parts and not parts[0].strip():
        parts = parts[1:]
    in_feedback = [_eq_in_feedback(parts[i - 1], part) if i else "" for i, part in enumerate(parts)]
    # every '=' inside a feedback: for Moodle they also make the question single-answer
    flips = single and all(fb or not part.startswith("=") for fb, part in zip(in_feedback, parts))
    if len(parts) < 2:
        raise _Skip("a multiple choice question needs at least two answers")
    options: list[dict[str, Any]] = []
    fractions: list[float] = []
    used: set[str] = set()
    for i, part in enumerate(parts):
        part = part.strip()
        if part.startswith("="):
            frac, part = 100.0, part[1:]
        else:
            w, rest = _weight(part)
            frac, part = (w, rest) if w is not None else (0.0, part)
        ans, fb = _comment(part)
        text = conv.md(ans, fmt)
        if not text:
            raise _Skip(f"answer {i + 1} is empty")
        opt: dict[str, Any] = {"id": option_id(None, i, used), "text": text}
        if in_feedback[i]:
            notes.append(_eq_note(f"option {opt['id']} ({_post(ans).strip()!r})", f"option {options[-1]['id']}", in_feedback[i],
                                  "as read here" + (" (and, as the only '=', it makes the question single-answer)" if flips else "")))
        shown = _post(ans).strip()
        if _WEIGHT.match(shown):
            notes.append(f"option {opt['id']} reads {shown!r}: after '=' (100%) a weight is text, as Moodle reads it; "
                         f"a partial weight is written ~{shown}")
        elif _LOOKS_WEIGHT.match(shown):
            notes.append(f"option {opt['id']} reads {shown!r}, a weight without its first '%', read as text (as Moodle "
                         f"reads it) worth {frac:g}%; a weight is written ~%{shown}")
        if (single and frac >= 99.99) or (not single and frac > 0):
            opt["correct"] = True
        elif single and frac > 0:
            notes.append(f"partial credit {frac:g}% on option {opt['id']} dropped (a multiple choice item has one key)")
        elif single and frac < 0:
            notes.append(f"penalty {frac:g}% on option {opt['id']} dropped (a multiple choice item scores a wrong answer 0)")
        fbm = conv.md(fb, fmt) if fb else ""
        if fbm:
            opt["feedback"] = fbm
        options.append(opt)
        fractions.append(frac)
    n_correct = sum(1 for o in options if o.get("correct"))
    out: dict[str, Any] = {"type": "multiple_choice" if single else "multiple_response", "options": options}
    if single and n_correct != 1:
        if n_correct == 0:
            raise _Skip("no answer is marked correct with =")
        out["type"] = "multiple_response"
        keys = ", ".join(f"{o['id']} ({o['text'][:40]!r})" for o in options if o.get("correct"))
        notes.append(f"{n_correct} answers marked = ({keys}): Moodle takes any one of them as fully right; imported as "
                     "multiple response, which asks for all of them: make it a multiple choice with one key, or a short answer")
    elif not single:
        if n_correct == 0:
            raise _Skip("no answer has a positive weight")
        scoring = choice_scoring(fractions, options, notes)
        if scoring is None:
            notes.append("GIFT weights (" + ", ".join(f"{f:g}%" for f in fractions) + ") approximated by partial scoring")
        elif scoring == "all_or_nothing":
            out["scoring"] = "all_or_nothing"
    return out


def _truefalse(answer_text: str, fmt: str, conv: _Text, notes: list[str], markers: set[str]) -> dict[str, Any]:
    bits = answer_text.split("#", 2)
    value = bits[0].strip() in ("T", "TRUE")
    wrong = conv.md(bits[1], fmt) if len(bits) > 1 else ""
    right = conv.md(bits[2], fmt) if len(bits) > 2 else ""
    out: dict[str, Any] = {"type": "true_false", "answer": value}
    # "#wrong#right": the first feedback is shown for the wrong answer
    true_fb, false_fb = (right, wrong) if value else (wrong, right)
    if true_fb:
        out["true_feedback"] = true_fb
    if false_fb:
        out["false_feedback"] = false_fb
    return out


def _shortanswer(answer_text: str, fmt: str, conv: _Text, notes: list[str], markers: set[str]) -> dict[str, Any]:
    parts = _split_answers(answer_text, notes, "so it is an accepted answer here too")
    if not parts:
        raise _Skip("a short answer question needs at least one answer")
    answers: list[str] = []
    for part in parts:
        part = part.strip()
        w, rest = _weight(part)
        frac, part = (w, rest) if w is not None else (100.0, part)
        ans, fb = _comment(part)
        text = conv.plain(ans, fmt)
        if not text:
            continue
        if frac >= 99.99:
            if re.search(r"(?<!\\)\*", text):
                notes.append(f"answer {text!r} uses Moodle's * wildcard; kept as literal text")
            answers.append(text.replace("\\*", "*"))
            if fb:
                notes.append(f"feedback on answer {text!r} dropped (short answers carry no per-answer feedback)")
        elif frac > 0:
            notes.append(f"answer {text!r} worth {frac:g}% dropped (partial credit answers cannot be kept)")
        elif frac < 0:
            notes.append(f"answer {text!r} worth {frac:g}% dropped (a short answer item scores a wrong answer 0)")
        elif fb:
            notes.append(f"feedback for wrong answer {text!r} dropped")
    if not answers:
        raise _Skip("no answer is worth 100%")
    return {"type": "short_answer", "answers": list(dict.fromkeys(answers))}


#: A number as PHP's is_numeric (Moodle's test) reads it: ASCII digits, an optional sign, point and exponent.
#: Python's float() takes more ('1_000', '٣', 'inf'), which Moodle does not.
_PHP_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: What Moodle makes of an answer that is not a number (its tolerance being one): format.php's
#: ``is_numeric($ans) || $ans = '*'`` assigns '*', the answer that matches any response, at 100%.
_ANY_ANSWER = " (Moodle would import it as '*', which takes any response as right)"


def _num(s: str) -> float | None:
    s = s.strip()
    if not _PHP_NUMBER.fullmatch(s):
        return None
    v = float(s)
    return v if abs(v) != float("inf") else None


def _comma_hint(ans: str) -> str:
    """A number written with a decimal comma (1,5), which Moodle's GIFT reader refuses too."""
    if re.search(r"[0-9],[0-9]", ans):
        pointed = re.sub(r"([0-9]),([0-9])", r"\1.\2", ans)
        return f": write decimals with a point ({pointed}), as Moodle reads them"
    return ""


def _numerical(answer_text: str, fmt: str, conv: _Text, notes: list[str], markers: set[str]) -> dict[str, Any]:
    body = answer_text[1:]
    wrong_fb = ""
    if "~" in body:
        pos = body.find("~")
        wrong_fb = body[pos:]
        body = body[:pos]
    parts = _split_answers(body, notes, "as read here")
    if not parts:
        raise _Skip("a numerical question needs an answer")
    full: list[tuple[dict[str, Any], str]] = []
    for part in parts:
        part = part.strip()
        w, rest = _weight(part)
        frac, part = (w, rest) if w is not None else (100.0, part)
        ans, fb = _comment(part)
        ans = _post(ans)
        if ".." in ans[1:]:
            lo, hi = ans.split("..", 1)
            a, b = _num(lo), _num(hi)
            if a is None or b is None:
                raise _Skip(f"numerical range {ans!r} is not two numbers" + _comma_hint(ans))
            value: dict[str, Any] = {"range": {"min": clean_number(min(a, b)), "max": clean_number(max(a, b))}}
        elif ":" in ans[1:]:
            v, t = ans.split(":", 1)
            a, tol = _num(v), _num(t)
            if a is None or tol is None:
                raise _Skip(f"numerical answer {ans!r} is not value:tolerance" + (_ANY_ANSWER if tol is not None else "")
                            + _comma_hint(ans))
            value = {"answer": clean_number(a)}
            if tol:
                value["tolerance"] = clean_number(abs(tol))
        else:
            a = _num(ans)
            if a is None:
                raise _Skip(f"numerical answer {ans!r} is not a number" + _ANY_ANSWER + _comma_hint(ans))
            value = {"answer": clean_number(a)}
        if frac >= 99.99:
            full.append((value, fb))
        elif frac > 0:
            notes.append(f"answer {ans} worth {frac:g}% dropped (partial credit answers cannot be kept)")
        elif frac < 0:
            notes.append(f"answer {ans} worth {frac:g}% dropped (a numeric item scores a wrong answer 0)")
        elif fb:
            notes.append(f"feedback for wrong answer {ans} dropped")
    if not full:
        raise _Skip("no numerical answer is worth 100%")
    out: dict[str, Any] = {"type": "numeric", **full[0][0]}
    if len(full) > 1:
        notes.append(f"{len(full) - 1} more answer(s) at 100% dropped (an item has one accepted value or range)")
    if full[0][1]:
        notes.append("answer-specific feedback on the numeric answer kept as general feedback")
        out["_extra_feedback"] = [conv.md(full[0][1], fmt)]
    if wrong_fb:
        _a, fb = _comment(wrong_fb.lstrip("~"))
        if fb:
            notes.append("feedback for wrong numeric answers dropped")
    return out


def _match(answer_text: str, fmt: str, conv: _Text, notes: list[str], markers: set[str]) -> dict[str, Any]:
    parts = answer_text.split("=")
    if parts and not parts[0].strip():
        parts = parts[1:]
    pairs, distractors = [], []
    for part in parts:
        if "->" not in part:
            raise _Skip(f"matching answer {_post(part).strip()!r} has no '->'")
        left, right = part.split("->", 1)
        prompt = conv.md(left, fmt)
        match = _shown_match(right)
        if not match:
            raise _Skip("a matching answer after '->' is empty")
        if prompt:
            pairs.append({"prompt": prompt, "match": match})
        else:
            distractors.append(match)
    if len(pairs) < 2:
        raise _Skip("a matching question needs at least two pairs")
    out: dict[str, Any] = {"type": "matching", "pairs": pairs}
    if distractors:
        out["distractors"] = distractors
    return out


def _shown_match(raw: str) -> str:
    """A matching answer as Moodle shows it, whatever the question's format: through format_string
    (qtype_match_renderer::format_choices), which strips tags as PHP's strip_tags does (a "<" not
    followed by white space starts one) and decodes entities; our exports write the answers
    HTML-escaped for it (``a &lt; b`` is "a < b"), as the Moodle XML reader reads them."""
    text = _post(raw)
    if "<" in text or "&" in text:
        text = html.unescape(_STRIPPED_TAG.sub("", text))
    return " ".join(text.split())


_STRIPPED_TAG = re.compile(r"<(?!\s)[^>]*(?:>|$)")


def _plain_entry(line: str, fmt: str) -> str:
    """An ordering entry as the plain text it shows: in an HTML question (our exports write
    ``[html]``), its tags dropped and its entities decoded (``x &lt; y`` is "x < y"), as the Moodle
    XML reader reads an ordering answer."""
    text = _post(line)
    if fmt in ("html", "moodle") and ("<" in text or "&" in text):
        text = html.unescape(_TAG_START.sub("", _literal_lt(text)))
    return " ".join(text.split())



def _ordering(answer_text: str, fmt: str, conv: _Text, notes: list[str], markers: set[str]) -> dict[str, Any]:
    lines = [ln.strip() for ln in answer_text.split("\n")]
    options = lines[0][1:].split()
    seq = [_plain_entry(ln, fmt) for ln in lines[1:] if ln.strip()]
    if len(seq) < 2:
        raise _Skip("an ordering question needs at least two entries, one per line")
    words = [w.upper() for w in options[1:]]
    if any(w in ("RANDOM", "CONTIGUOUS") for w in words):
        notes.append("Moodle shows a subset of the entries; all entries are kept")
    grading = next((w for w in words if w.startswith(("RELATIVE", "LONGEST"))), None)
    if grading:
        notes.append(f"Moodle's ordering grading '{grading}' dropped (exports grade by absolute position)")
    return {"type": "ordering", "sequence": seq}


def _essay(answer_text: str, fmt: str, conv: _Text, notes: list[str], markers: set[str]) -> dict[str, Any]:
    if "type:flashcard" in markers:
        return {"type": "flashcard"}
    return {"type": "essay"}


importer = GiftImporter()
