"""Reading one bank file safely into plain Python data.

The fast path parses with ``yaml_rs`` (a Rust YAML 1.2 parser, ~25x faster than PyYAML's C loader
here), which already refuses duplicate keys and alias bombs.  Positions are only needed when a file
has problems, so the slow position-tracking parse (``positions.py``) runs for those files alone.

Only regular files are read (a FIFO would block, ``/dev/zero`` never ends), and the size limit is
enforced while reading, not trusted from ``stat``.  What comes out is plain JSON data: finite numbers
that fit a float, strings without lone surrogates, no YAML tags beyond the JSON ones, nesting at most
:data:`MAX_DEPTH` deep.  Anything else is a problem with the line and column where it stands.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml_rs

from .problems import Problem, problem

MAX_FILE_BYTES = 5 * 1024 * 1024
#: Containers may nest this deep; an item needs four or five levels.
MAX_DEPTH = 64
#: Integers must fit a float (every exporter writes numbers as floats somewhere).
_MAX_INT = int(sys.float_info.max)
#: An alias may be replayed this many nodes in total; a legitimate bank never comes near it.
_ALIAS_LIMITS = yaml_rs.AliasLimits(max_total_replayed_events=100_000, max_replay_stack_depth=32)

#: A run of digits this long may be an integer that yaml_rs would take long to convert: it is
#: looked for (as a plain scalar) before parsing.
_LONG_DIGITS_COUNT = 4000
_LONG_DIGITS = re.compile("[0-9]{%d}" % _LONG_DIGITS_COUNT)
_LINE_COL = re.compile(r"line (\d+),? column (\d+)")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Where a YAML tag may start (``!x`` after a separator); a false alarm only costs a token scan.
#: Substring tests, not a regex: a regex with a look-behind alternative costs ~0.2 ms a file.
def _may_hold_tag(text: str) -> bool:
    if "!" not in text:  # one fast scan settles almost every file
        return False
    return " !" in text or "\n!" in text or "\t!" in text or "[!" in text or "{!" in text or ",!" in text or text.startswith("!")
#: The tags whose meaning is a JSON type; every other tag is refused, never silently dropped.
_JSON_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


@dataclass
class Document:
    """A parsed file: its data, or the problem that stopped it being read."""

    path: Path
    rel: str
    text: str | None = None
    data: Any = None
    problem: Problem | None = None


_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def followed(path: Path) -> Path | None:
    """``path`` made absolute with every link on the way followed, or None when following them never
    ends: a link loop (``a.yaml -> a.yaml``, ``a -> b -> a``), or links nested too deep (ELOOP).

    ``Path.resolve`` raises RuntimeError for a loop up to Python 3.12; from 3.13 it returns the
    path as far as it got: the ``stat`` of the result tells a loop apart the same way on both.
    """
    try:
        real = path.resolve()
    except RuntimeError:  # Python 3.11 and 3.12: "Symlink loop from ..."
        return None
    try:
        os.stat(real)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
    return real


def read_bytes(path: Path, rel: str, limit: int = MAX_FILE_BYTES) -> tuple[bytes | None, Problem | None]:
    """The bytes of a regular file of at most ``limit`` bytes, or the problem (IB001, IB005, IB006).

    Opened without blocking (a FIFO would otherwise wait for a writer forever) and checked with
    ``fstat`` on the open descriptor, so a file swapped for a link or a device after a check is
    still caught.  At most ``limit + 1`` bytes are read, whatever the file claims its size is.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return None, problem(rel, "IB005", f"cannot read file: {exc.strerror or exc}")
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            return None, problem(rel, "IB006", f"file is {kind}, not a regular file: refused")
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            return None, problem(rel, "IB001", f"file is over the limit of {limit:,} bytes")
        return b"".join(chunks), None
    except OSError as exc:
        return None, problem(rel, "IB005", f"cannot read file: {exc.strerror or exc}")
    finally:
        os.close(fd)


def read_text(path: Path, rel: str) -> tuple[str | None, Problem | None]:
    """Read a file as UTF-8 text, refusing what is not a reasonable text file."""
    raw, prob = read_bytes(path, rel)
    if raw is None:
        return None, prob
    return decode_text(raw, rel)


def decode_text(raw: bytes, rel: str) -> tuple[str | None, Problem | None]:
    """A file's bytes as UTF-8 text, or the problem (IB002 empty, IB003 binary, IB004 not UTF-8)."""
    if not raw.strip():
        return None, problem(rel, "IB002", "file is empty")
    if b"\x00" in raw[:8192]:
        wide = _wide_encoding(raw)
        if wide is not None:
            notepad = " (Notepad's \"Unicode\")" if wide == "UTF-16" else ""
            return None, problem(rel, "IB004", f"file is {wide} text{notepad}, not UTF-8: save it as UTF-8")
        return None, problem(rel, "IB003", "file holds NUL bytes: it is binary, not YAML or JSON")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, problem(rel, "IB004", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8 (save the file as UTF-8)", line=line, column=col)
    return text, None


_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def _wide_encoding(raw: bytes) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when bytes holding NULs are text in that encoding (with a byte
    order mark, or without one when the start reads in one byte order as text, mostly ASCII), else None."""
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            return name
    for name, codec, unit in (("UTF-16", "utf-16-le", 2), ("UTF-16", "utf-16-be", 2), ("UTF-32", "utf-32-le", 4), ("UTF-32", "utf-32-be", 4)):
        head = raw[: 8192 - 8192 % unit]
        head = head[: len(head) - len(head) % unit]
        try:
            text = head.decode(codec)
        except UnicodeDecodeError:
            continue
        # YAML and JSON are mostly ASCII (keys, punctuation): binary bytes read in pairs are not.
        if text.strip() and not _NOT_TEXT.search(text) and sum(ch < "\x80" for ch in text) * 2 > len(text):
            return name
    return None


def _json_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    pass


class _BadValue(ValueError):
    """A JSON value the item format refuses (the scan in :func:`_json_offence` says where)."""


def _reject_constant(name: str) -> Any:
    raise _BadValue(name)


def _json_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _BadValue(literal)
    return value


def _json_int(literal: str) -> int:
    if len(literal) > 310:  # int() refuses > 4300 digits; anything past 309 cannot be a float
        raise _BadValue(literal)
    return int(literal)


def parse(text: str, rel: str, *, is_json: bool) -> tuple[Any, Problem | None]:
    """Parse text into plain data (dict/list/str/int/float/bool/None) or return a located problem."""
    if is_json:
        try:
            data = json.loads(
                text, object_pairs_hook=_json_no_duplicates, parse_constant=_reject_constant, parse_float=_json_float, parse_int=_json_int
            )
        except _DuplicateKey as exc:
            return None, _locate_json_duplicate(text, rel, str(exc))
        except json.JSONDecodeError as exc:
            return None, problem(rel, "IB010", f"JSON syntax error: {exc.msg}", line=exc.lineno, column=exc.colno)
        except (_BadValue, RecursionError):
            return None, _json_offence(text, rel) or problem(rel, "IB010", "JSON error: the file cannot be read as plain data")
        except ValueError as exc:
            return None, problem(rel, "IB010", f"JSON error: {exc}")
        if _non_json(data) is not None or ("\\u" in text and _has_surrogate(data)):
            return None, _json_offence(text, rel) or problem(rel, "IB014", _non_json(data) or "text holds a lone surrogate")
        return data, None
    if _LONG_DIGITS.search(text) is not None:
        from .positions import locate_long_integer

        long = locate_long_integer(text, _LONG_DIGITS_COUNT)
        if long is not None:  # refused before yaml_rs spends seconds making it an int (a minute for 5 MiB)
            line, col, written = long
            return None, problem(rel, "IB014", _huge_integer(written), line=line, column=col)
    try:
        data = yaml_rs.loads(text, parse_datetime=False, alias_limits=_ALIAS_LIMITS)
    except yaml_rs.YAMLDecodeError as exc:
        return None, _yaml_problem(text, rel, str(exc))
    except RecursionError:
        return None, problem(rel, "IB012", f"nesting is too deep (the limit is {MAX_DEPTH} levels)")
    if _may_hold_tag(text):
        from .positions import locate_tag

        found = locate_tag(text, _JSON_TAGS)
        if found is not None:
            line, col, tag = found
            return None, problem(rel, "IB014", f"YAML tag {tag} is not supported: write the value as plain text", line=line, column=col)
    bad = _non_json(data)
    if bad is not None:
        from .positions import locate_bad_value

        where = locate_bad_value(text, _bad_scalar)
        if type(where.value) is float and not math.isfinite(where.value) and where.written:
            # The number as the author wrote it (1e309), not Python's float (inf).
            beyond = "" if where.written.lstrip("+-").lower() in (".inf", ".nan") else ": it is beyond the largest number a double holds (±1.8e308)"
            bad = f"number {where.written[:40]}{'…' if len(where.written) > 40 else ''} is not finite{beyond}"
        return None, problem(rel, "IB012" if bad.startswith("nesting") else "IB014", bad, line=where.line, column=where.column)
    return data, None


def _bad_scalar(value: Any) -> bool:
    """Whether one parsed value (a key or a scalar) is refused by :func:`_non_json`."""
    t = type(value)
    if t is int:
        return bool(value > _MAX_INT or value < -_MAX_INT)  # (without the message's digits: slow on huge numbers)
    return _non_json([value]) is not None if not isinstance(value, (dict, list)) else False


def _yaml_problem(text: str, rel: str, message: str) -> Problem:
    first = message.strip().splitlines()[0] if message.strip() else "invalid YAML"
    m = _LINE_COL.search(message)
    line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
    if "duplicate" in first:
        # yaml_rs names the key but not where it is: the position-tracking parser finds it.
        from .positions import locate_duplicate_key

        line, col, key = locate_duplicate_key(text)
        return problem(rel, "IB011", f"duplicate key {key!r}: a second value would silently replace the first", line=line, column=col)
    if "alias" in first or "repetition" in first:
        return problem(rel, "IB012", f"refused: {first} (anchors/aliases expand too much)", line=line, column=col)
    if "recursion limit" in message.lower():
        return problem(rel, "IB012", f"nesting is too deep (the limit is {MAX_DEPTH} levels)", line=line, column=col)
    if "invalid tag" in first.lower():
        return problem(rel, "IB014", f"{first}: YAML tags are not part of the item format", line=line, column=col)
    detail = message.strip().splitlines()[-1].strip() if "\n" in message.strip() else first
    detail = _LINE_COL.sub("", detail).replace(" at ,", "").strip().rstrip(",") or first
    fix, line, col = _yaml_fix(text, detail, line, col)
    return problem(rel, "IB010", f"YAML syntax error: {detail}{fix}", line=line, column=col)


_QUOTE_OR_BLOCK = "put the whole text in quotes (\"...\") or write it as a block scalar (`|` and the text indented on the next lines)"


def _yaml_fix(text: str, detail: str, line: int, col: int) -> tuple[str, int, int]:
    """What to do about a YAML syntax error an author typically makes, and where it really is.

    Returns ``("; fix...", line, col)``; the position moves to where the mistake is when the parser
    noticed it later (an unclosed quote is reported where the next key starts).
    """
    from .positions import text_lines

    lines = text_lines(text)
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    low = detail.lower()
    if "tab" in low:
        tab_line = line if "\t" in here else next((n for n, t in enumerate(lines, 1) if "\t" in t), line)
        where = lines[tab_line - 1] if 0 < tab_line <= len(lines) else here
        return "; a tab character: YAML indents with spaces only (replace the tab with spaces)", tab_line, where.find("\t") + 1
    if "mapping values are not allowed" in low or "illegal placement of ':'" in low:
        if "[" in here or "{" in here or _previous_flow_open(lines, line):
            return f"; a `: ` inside [...] or {{...}} ends a key: quote the entry (\"...\") or write the list one entry a line with `- `", line, col
        return f"; the text holds `: ` (colon and space), which YAML reads as a new key: {_QUOTE_OR_BLOCK}", line, col
    if "multiline quoted scalar" in low or "unclosed quot" in low or "end of the stream" in low and '"' in text:
        opened = _unclosed_quote(lines, line)
        if opened is not None:
            return "; a quote opened here is never closed: end the text with the same quote mark (or drop the quotes and write it as a block scalar with `|`)", opened[0], opened[1]
        return f"; a quoted text is not closed: end it with the same quote mark it starts with", line, col
    if "trailing content after" in low and "quoted scalar" in low:
        return f"; text goes on after the closing quote: {_QUOTE_OR_BLOCK} (inside \"...\", write a quote as \\\")", line, col
    if "unclosed bracket" in low or "did not find expected ',' or ']'" in low:
        return "; a list in [...] is not closed, or an entry holds `#`, `: ` or `[`: write the list one entry a line with `- `, or quote the entries", line, col
    value = re.match(r"\s*(?:-\s+)?(?:[^\s:#'\"][^:#]*:\s+)?(.*)", here)
    if value is not None and value.group(1)[:1] in ("{", "[") and ("did not find expected" in low or "flow" in low):
        return f"; a value starting with `{value.group(1)[0]}` is read as a YAML {'mapping' if value.group(1)[0] == '{' else 'list'}; if it is text, {_QUOTE_OR_BLOCK}", line, here.find(value.group(1)) + 1
    if "unknown anchor" in low or "unexpected character" in low or "did not find expected key" in low and "{" in here:
        ch = here[col - 1 : col] if 0 < col <= len(here) else ""
        if ch in ("*", "&", "@", "`", "{", "!", "%", "|", ">"):
            return f"; a plain text cannot start with `{ch}`: {_QUOTE_OR_BLOCK}", line, col
    return "", line, col


def _previous_flow_open(lines: list[str], line: int) -> bool:
    """Whether an unclosed ``[`` or ``{`` on an earlier line is still open at ``line``."""
    depth = 0
    for t in lines[: line - 1]:
        depth += t.count("[") + t.count("{") - t.count("]") - t.count("}")
        depth = max(depth, 0)
    return depth > 0


def _unclosed_quote(lines: list[str], line: int) -> tuple[int, int] | None:
    """The line and column of the last value before ``line`` that opens a quote and never closes it."""
    for n in range(min(line, len(lines)) - 1, 0, -1):
        t = lines[n - 1]
        m = re.match(r"\s*(?:-\s+)?(?:[^\s:#][^:#]*:\s+)?(\"|')", t)
        if m is None:
            continue
        q = m.group(1)
        rest = t[m.end():]
        closed = rest.replace('\\"', "").count('"') if q == '"' else rest.replace("''", "").count("'")
        if closed == 0:
            return n, m.end()
    return None


def _locate_json_duplicate(text: str, rel: str, key: str) -> Problem:
    """IB011 at the first key of a JSON text that repeats one of its object's keys, compared by
    value (``"st\\u0065m"`` repeats ``"stem"``), each object's keys apart from the others'."""
    line = col = 1
    objects: list[set[str] | None] = []  # per open container: an object's keys so far, or None for a list
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        if tok in ("{", "["):
            objects.append(set() if tok == "{" else None)
        elif tok in ("}", "]"):
            if objects:
                objects.pop()
        elif tok[0] == '"' and objects and objects[-1] is not None and _JSON_KEY_END.match(text, m.end()):
            try:
                name = json.loads(tok)
            except ValueError:
                continue
            if name in objects[-1]:
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                key = name
                break
            objects[-1].add(name)
    return problem(rel, "IB011", f"duplicate key {key!r}: a second value would silently replace the first", line=line, column=col)


_JSON_KEY_END = re.compile(r"\s*:")
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]|-?Infinity|NaN|-?\d[0-9.eE+-]*', re.DOTALL)


_JSON_INTEGER = re.compile(r"-?\d+")


def _huge_integer(written: str) -> str:
    """The message for an integer too large for a float, from its spelling (never converted: it may hold
    millions of digits): its sign, first 20 digits and how many it has, as :func:`_shown_value` shows one."""
    sign = "-" if written.startswith("-") else ""
    digits = written.lstrip("+-").lstrip("0")
    return f"number {sign}{digits[:20]}… ({len(digits):,} digits) is too large (it does not fit a float)"


def _json_offence(text: str, rel: str) -> Problem | None:
    """The first value of a JSON text (in document order) that the item format refuses, located."""
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        tok = m.group()
        message = code = None
        if tok[0] == '"':
            if "\\u" in tok:
                try:
                    value = json.loads(tok)
                except ValueError:
                    continue
                hit = _SURROGATE.search(value)
                if hit:
                    code, message = "IB014", f"text holds a lone surrogate U+{ord(hit.group()):04X}, which is not a character (fix the \\u escape)"
        elif tok in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                code, message = "IB012", f"nesting is too deep (the limit is {MAX_DEPTH} levels)"
        elif tok in "]}":
            depth -= 1
        else:
            bad = tok in ("NaN", "Infinity", "-Infinity")
            if not bad:
                try:
                    value = float(tok)
                    bad = not math.isfinite(value) or ("." not in tok and "e" not in tok.lower() and len(tok) > 310)
                except ValueError:
                    bad = False
            if bad and _JSON_INTEGER.fullmatch(tok):  # as the YAML loader says it (_huge_integer, _shown_value)
                code, message = "IB014", _huge_integer(tok)
            elif bad:
                code, message = "IB014", f"number {tok[:40]}{'…' if len(tok) > 40 else ''} is not a finite number that fits a float"
        if message is not None:
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            return problem(rel, code or "IB014", message, line=line, column=col)
    return None


def _has_surrogate(data: Any) -> bool:
    stack = [data]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            for k, v in node.items():
                if _SURROGATE.search(k):
                    return True
                stack.append(v)
        elif type(node) is list:
            stack.extend(node)
        elif type(node) is str and _SURROGATE.search(node):
            return True
    return False


def _shown_value(value: Any) -> str:
    """A loaded key or number as a message shows it, never more than about 20 characters.

    Python refuses to turn an int of more than 4,300 digits into text (``sys.set_int_max_str_digits``):
    such a number is shown by its first digits and its length, computed without converting it.
    """
    if type(value) is int and abs(value) > _MAX_INT:
        sign = "-" if value < 0 else ""
        if value.bit_length() > _EXACT_BITS:  # dividing by 10**n takes seconds on a million digits
            bits = value.bit_length()
            return f"{sign}0x{abs(value) >> (bits - 64):x}… (an integer of {bits:,} bits, about {int(bits * _LOG10_2) + 1:,} decimal digits)"
        digits = _digits(abs(value))
        head = abs(value) // 10 ** (digits - 20)
        return f"{sign}{head}… ({digits:,} digits)"
    try:
        text = repr(value)
    except ValueError:  # pragma: no cover - every int too long for repr is caught above
        return f"a value of type {type(value).__name__}"
    return text if len(text) <= 40 else text[:20] + "…"


#: Integers up to this many bits are shown by their first decimal digits (a few milliseconds);
#: longer ones (a 5 MiB file may hold a number of millions of digits) by the hexadecimal ones.
_EXACT_BITS = 40_000
_LOG10_2 = 0.30102999566398120


def _digits(n: int) -> int:
    """The number of decimal digits of ``n`` > 0, without converting it to text."""
    digits = max(1, int(n.bit_length() * _LOG10_2))
    while 10**digits <= n:
        digits += 1
    while digits > 1 and 10 ** (digits - 1) > n:
        digits -= 1
    return digits


def _non_json(data: Any) -> str | None:
    """Reject values JSON cannot hold, so the schema and every exporter see plain data.

    yaml_rs (with parse_datetime=False) yields only JSON types, sets (``!!set``) and floats that may
    be infinite or NaN, so the walk looks at mapping keys, numbers, stray types and depth; containers
    of plain scalars are skipped fast.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nesting is too deep (the limit is {MAX_DEPTH} levels)"
        if type(node) is dict:
            for k in node:
                if type(k) is not str:
                    return f"mapping key {_shown_value(k)} is not a string (quote it)"
            values: Any = node.values()
        elif type(node) is list:
            values = node
        else:  # a scalar document
            values = (node,)
        for v in values:
            t = type(v)
            if t is dict or t is list:
                stack.append((v, depth + 1))
            elif t is float and not math.isfinite(v):
                return f"number {v!r} is not finite"
            elif t is int and (v > _MAX_INT or v < -_MAX_INT):
                return f"number {_shown_value(v)} is too large (it does not fit a float)"
            elif not (v is None or t is str or t is bool or t is int or t is float):
                return f"value of type {t.__name__} is not supported (quote it as a string)"
    return None


def read_document(path: Path, rel: str, raw: bytes | None = None) -> Document:
    """Read and parse one file (``raw``: its bytes, when already read); never raises for bad content."""
    doc = Document(path=path, rel=rel)
    text, prob = read_text(path, rel) if raw is None else decode_text(raw, rel)
    if prob is not None:
        doc.problem = prob
        return doc
    assert text is not None
    doc.text = text
    doc.data, doc.problem = parse(text, rel, is_json=path.suffix.lower() == ".json")
    return doc
