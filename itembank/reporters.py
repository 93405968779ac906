"""Ways to print validation and lint problems, chosen by name (``--format``)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from . import __version__
from .problems import RULES, Problem, shown_file
from .validate import CheckResult
from .wording import plural, visible

#: What must never reach a terminal or a CI log raw: C0/C1 controls (an ESC sequence can retitle a
#: terminal or hide text), DEL, line and paragraph separators, bidirectional overrides (text that
#: reads differently from what it is) and lone surrogates (not encodable).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with every unsafe character written as an escape (``\\x1b``, ``\\u202e``).

    Tab is kept; newline and carriage return are escaped too unless ``newlines`` (for text that is
    itself several lines, where each line is checked separately).
    """
    if text.isascii() and text.isprintable():
        return text  # only U+0020-U+007E: nothing to escape (the common case, checked in C)
    if not newlines:
        text = text.replace("\n", "\\n").replace("\r", "\\r")
    return _UNSAFE.sub(_escape_char, text)


def _safe_problem(p: Problem) -> Problem:
    # The path names fields as written: a BOM or zero-width space in a name is shown (visible), as in the message.
    file, message, path = printable(shown_file(p.file)), printable(p.message), visible(p.path)
    item_id = None if p.item_id is None else printable(p.item_id)
    if file is p.file and message is p.message and path is p.path and item_id is p.item_id:
        return p  # nothing escaped: no copy (dataclasses.replace costs more than the escaping)
    return replace(p, file=file, message=message, path=path, item_id=item_id)


def _line(text: str) -> str:
    """One report line, which must not be read as a GitHub workflow command (those start with ``::``)."""
    return "./" + text if text.startswith("::") else text


def _summary(result: CheckResult) -> str:
    e, w = len(result.errors), len(result.warnings)
    status = "ok" if not e else "invalid"
    return f"{status}: {plural(result.files, 'file')}, {plural(len(result.items), 'valid item')}, {plural(e, 'error')}, {plural(w, 'warning')}"


def text(result: CheckResult) -> str:
    lines = [_line(_safe_problem(p).format()) for p in result.problems]
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def as_json(result: CheckResult) -> str:
    doc = {
        "ok": not result.errors,
        "files": result.files,
        "items": len(result.items),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "problems": [_json_safe(p).as_dict() for p in result.problems],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _json_safe(p: Problem) -> Problem:
    """Only lone surrogates need care in JSON (json.dumps escapes controls; a surrogate cannot be encoded)."""
    fix = lambda t: _SURROGATES.sub(_escape_char, t)  # noqa: E731
    return replace(p, file=fix(shown_file(p.file)), message=fix(p.message), path=fix(p.path))


_SURROGATES = re.compile("[\ud800-\udfff]")


def _gh_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    value = printable(value, newlines=True)
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: each problem becomes an annotation on the file and line."""
    lines = []
    for p in result.problems:
        level = "error" if p.severity == "error" else "warning"
        title = f"{p.code}" + (f" [{p.item_id}]" if p.item_id else "")
        msg = (f"{visible(p.path)}: " if p.path else "") + p.message
        lines.append(
            f"::{level} file={_gh_escape(shown_file(p.file), prop=True)},line={p.line},col={p.column},title={_gh_escape(title, prop=True)}::{_gh_escape(msg)}"
        )
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _sarif_rules() -> list[dict[str, Any]]:
    from .lint import LINT_RULES

    rules: list[dict[str, Any]] = []
    for code, (severity, summary) in RULES.items():
        rules.append(
            {
                "id": code,
                "name": f"validation-{code.lower()}",
                "shortDescription": {"text": summary},
                "defaultConfiguration": {"level": severity},
                "properties": {"tags": ["validation"]},
            }
        )
    for code, r in LINT_RULES.items():
        text = f"{r.summary} (guideline: {r.guideline}; see {r.help_anchor})."
        rules.append(
            {
                "id": code,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": text},
                "help": {"text": text, "markdown": f"{r.summary}. Guideline: {r.guideline}. Details and examples: `{r.help_anchor}`."},
                "defaultConfiguration": {"level": r.severity},
                "properties": {"tags": ["lint", "item-writing"], "guideline": r.guideline},
            }
        )
    return rules


def _uri(file: str) -> dict[str, str]:
    """The file's name as a URI: its bytes percent-encoded (``bad%FFname.yaml`` for a name that is not
    valid UTF-8; never the report's ``\\xff`` escape)."""
    raw = os.fsencode(Path(file).as_posix())
    if os.path.isabs(file):
        return {"uri": "file://" + quote(raw)}
    return {"uri": quote(raw), "uriBaseId": "%SRCROOT%"}


def _fingerprint(p: Problem) -> str:
    """Stable across line moves: the file, rule, item and field (GitHub matches alerts by it)."""
    return hashlib.sha256(f"{shown_file(p.file)}\0{p.code}\0{p.item_id or ''}\0{p.path}\0{p.message}".encode()).hexdigest()[:32]


def sarif(result: CheckResult) -> str:
    """SARIF 2.1.0, for GitHub code scanning (``github/codeql-action/upload-sarif``) and other viewers."""
    rules = _sarif_rules()
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for p in result.problems:
        message = (f"{visible(p.path)}: " if p.path else "") + p.message + (f". Suggestion: {p.suggestion}." if p.suggestion else "")
        entry: dict[str, Any] = {
            "ruleId": p.code,
            "level": "error" if p.severity == "error" else "warning",
            "message": {"text": message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _uri(p.file),
                        "region": {"startLine": max(p.line, 1), "startColumn": max(p.column, 1)},
                    }
                }
            ],
            "partialFingerprints": {"itembankFinding/v1": _fingerprint(p)},
        }
        if p.code in index:
            entry["ruleIndex"] = index[p.code]
        props = {k: v for k, v in (("itemId", p.item_id), ("path", p.path or None), ("suggestion", p.suggestion)) if v}
        if props:
            entry["properties"] = props
        results.append(entry)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "itembank", "version": __version__, "semanticVersion": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


REPORTERS: dict[str, Callable[[CheckResult], str]] = {"text": text, "json": as_json, "github": github, "sarif": sarif}
