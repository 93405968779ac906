"""Ways to print validation problems, chosen by name (``--format``)."""

from __future__ import annotations

import json
from typing import Callable

from .validate import CheckResult


def _summary(result: CheckResult) -> str:
    e, w = len(result.errors), len(result.warnings)
    status = "ok" if not e else "invalid"
    return f"{status}: {result.files} files, {len(result.items)} valid items, {e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)}"


def text(result: CheckResult) -> str:
    lines = [p.format() for p in result.problems]
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def as_json(result: CheckResult) -> str:
    doc = {
        "ok": not result.errors,
        "files": result.files,
        "items": len(result.items),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "problems": [p.as_dict() for p in result.problems],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _gh_escape(value: str, *, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def github(result: CheckResult) -> str:
    """GitHub Actions workflow commands: each problem becomes an annotation on the file and line."""
    lines = []
    for p in result.problems:
        level = "error" if p.severity == "error" else "warning"
        title = f"{p.code}" + (f" [{p.item_id}]" if p.item_id else "")
        msg = (f"{p.path}: " if p.path else "") + p.message
        lines.append(
            f"::{level} file={_gh_escape(p.file, prop=True)},line={p.line},col={p.column},title={_gh_escape(title, prop=True)}::{_gh_escape(msg)}"
        )
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


REPORTERS: dict[str, Callable[[CheckResult], str]] = {"text": text, "json": as_json, "github": github}
