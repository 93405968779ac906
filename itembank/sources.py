"""Reading one bank file safely into plain Python data.

The fast path parses with ``yaml_rs`` (a Rust YAML 1.2 parser, ~25x faster than PyYAML's C loader
here), which already refuses duplicate keys and alias bombs.  Positions are only needed when a file
has problems, so the slow position-tracking parse (``positions.py``) runs for those files alone.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml_rs

from .problems import Problem, problem

MAX_FILE_BYTES = 5 * 1024 * 1024
#: An alias may be replayed this many nodes in total; a legitimate bank never comes near it.
_ALIAS_LIMITS = yaml_rs.AliasLimits(max_total_replayed_events=100_000, max_replay_stack_depth=32)

_LINE_COL = re.compile(r"line (\d+),? column (\d+)")


@dataclass
class Document:
    """A parsed file: its data, or the problem that stopped it being read."""

    path: Path
    rel: str
    text: str | None = None
    data: Any = None
    problem: Problem | None = None


def read_text(path: Path, rel: str) -> tuple[str | None, Problem | None]:
    """Read a file as UTF-8 text, refusing what is not a reasonable text file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, problem(rel, "IB001", f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
        raw = path.read_bytes()
    except OSError as exc:
        return None, problem(rel, "IB005", f"cannot read file: {exc.strerror or exc}")
    if not raw.strip():
        return None, problem(rel, "IB002", "file is empty")
    if b"\x00" in raw[:8192]:
        return None, problem(rel, "IB003", "file holds NUL bytes: it is binary, not YAML or JSON")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, problem(rel, "IB004", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8 (save the file as UTF-8)", line=line, column=col)
    return text, None


def _json_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def parse(text: str, rel: str, *, is_json: bool) -> tuple[Any, Problem | None]:
    """Parse text into plain data (dict/list/str/int/float/bool/None) or return a located problem."""
    if is_json:
        try:
            return json.loads(text, object_pairs_hook=_json_no_duplicates, parse_constant=_reject_constant), None
        except _DuplicateKey as exc:
            return None, _locate_json_duplicate(text, rel, str(exc))
        except json.JSONDecodeError as exc:
            return None, problem(rel, "IB010", f"JSON syntax error: {exc.msg}", line=exc.lineno, column=exc.colno)
        except (ValueError, RecursionError) as exc:
            return None, problem(rel, "IB010", f"JSON error: {exc}")
    try:
        data = yaml_rs.loads(text, parse_datetime=False, alias_limits=_ALIAS_LIMITS)
    except yaml_rs.YAMLDecodeError as exc:
        return None, _yaml_problem(text, rel, str(exc))
    except RecursionError:
        return None, problem(rel, "IB012", "nesting is too deep")
    bad = _non_json(data)
    if bad is not None:
        line = col = 1
        if bad.startswith("mapping key"):
            from .positions import locate_non_string_key

            line, col = locate_non_string_key(text)
        return None, problem(rel, "IB014", bad, line=line, column=col)
    return data, None


def _yaml_problem(text: str, rel: str, message: str) -> Problem:
    first = message.strip().splitlines()[0] if message.strip() else "invalid YAML"
    if "duplicate" in first:
        # yaml_rs names the key but not where it is: the position-tracking parser finds it.
        from .positions import locate_duplicate_key

        line, col, key = locate_duplicate_key(text)
        return problem(rel, "IB011", f"duplicate key {key!r}: a second value would silently replace the first", line=line, column=col)
    if "alias" in first or "repetition" in first or "recursion" in first.lower():
        return problem(rel, "IB012", f"refused: {first} (anchors/aliases expand too much)")
    m = _LINE_COL.search(message)
    line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
    detail = message.strip().splitlines()[-1].strip() if "\n" in message.strip() else first
    detail = _LINE_COL.sub("", detail).replace(" at ,", "").strip().rstrip(",") or first
    return problem(rel, "IB010", f"YAML syntax error: {detail}", line=line, column=col)


def _locate_json_duplicate(text: str, rel: str, key: str) -> Problem:
    needle = json.dumps(key) + ""
    seen = 0
    line = col = 1
    for m in re.finditer(re.escape(needle) + r"\s*:", text):
        seen += 1
        if seen == 2:
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
            break
    return problem(rel, "IB011", f"duplicate key {key!r}: a second value would silently replace the first", line=line, column=col)


def _non_json(data: Any) -> str | None:
    """Reject values JSON cannot hold, so the schema and every exporter see plain data.

    yaml_rs (with parse_datetime=False) yields only JSON types and finite or infinite floats, so the
    walk only has to look at mapping keys and floats; containers of plain scalars are skipped fast.
    """
    stack = [data]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            for k in node:
                if type(k) is not str:
                    return f"mapping key {k!r} is not a string (quote it)"
            values: Any = node.values()
        elif type(node) is list:
            values = node
        else:  # a scalar document
            values = (node,)
        for v in values:
            t = type(v)
            if t is dict or t is list:
                stack.append(v)
            elif t is float and not math.isfinite(v):
                return f"number {v!r} is not finite"
            elif not (v is None or t is str or t is bool or t is int or t is float):
                return f"value of type {t.__name__} is not supported (quote it as a string)"
    return None


def read_document(path: Path, rel: str) -> Document:
    """Read and parse one file; never raises for bad content."""
    doc = Document(path=path, rel=rel)
    text, prob = read_text(path, rel)
    if prob is not None:
        doc.problem = prob
        return doc
    assert text is not None
    doc.text = text
    doc.data, doc.problem = parse(text, rel, is_json=path.suffix.lower() == ".json")
    return doc
