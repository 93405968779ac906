"""The bank's settings file, ``itembank.yaml`` at the bank root (optional)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from .model import BankConfig, LintSettings, Suppression
from .positions import PositionIndex
from .problems import Problem, json_path, problem
from .sources import read_document
from .rules import XML_BAD
from .wording import quoted

CONFIG_NAME = "itembank.yaml"
_FIELDS: dict[str, type] = {"title": str, "require_distractor_feedback": bool, "require_rationale": bool, "lint": dict}


@cache
def _lint_validator() -> Any:
    import jsonschema_rs

    from .schema import load_schema

    full = load_schema("config")
    return jsonschema_rs.validator_for({"$schema": full["$schema"], "$defs": full["$defs"], **full["properties"]["lint"]})


def _lint_settings(value: dict[str, Any]) -> tuple[LintSettings | None, list[tuple[tuple[object, ...], str]]]:
    """The ``lint:`` section, or the schema's complaints as (path, message)."""
    errors = [(("lint",) + tuple(e.instance_path), e.message) for e in _lint_validator().iter_errors(value)]
    if errors:
        return None, errors
    return (
        LintSettings(
            select=tuple(value.get("select", ())),
            ignore=tuple(Suppression(code=s["code"], reason=s["reason"]) for s in value.get("ignore", ())),
            thresholds=tuple((value.get("thresholds") or {}).items()),
        ),
        [],
    )


def load_config(root: Path, display: str) -> tuple[BankConfig, list[Problem]]:
    """Read the settings, falling back to defaults (and reporting IB015) on anything wrong."""
    path = root / CONFIG_NAME
    if not path.is_file():
        return BankConfig(title=root.resolve().name.replace("-", " ").replace("_", " ").title() or "Item bank"), []
    doc = read_document(path, display)
    if doc.problem is not None:
        return BankConfig(), [doc.problem]
    data = doc.data
    if not isinstance(data, dict):
        return BankConfig(), [problem(display, "IB015", "settings must be a mapping, e.g. `title: My bank`")]
    problems = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        want = _FIELDS.get(key)
        if want is dict and isinstance(value, dict):
            settings, errors = _lint_settings(value)
            if settings is not None:
                values[key] = settings
            pos = PositionIndex(doc.text or "") if errors else None
            for where, message in errors:
                assert pos is not None
                line, col = pos.locate(where)
                problems.append(problem(display, "IB015", f"lint settings: {message}", line=line, column=col, path=json_path(list(where))))
            continue
        if want is None:
            message = f"unknown setting {quoted(key)} (known: {', '.join(_FIELDS)})"
        elif not isinstance(value, want) or (isinstance(value, str) and not value.strip()):
            message = f"setting {quoted(key)} must be {'text' if want is str else 'a mapping' if want is dict else 'true or false'}"
        elif isinstance(value, str) and XML_BAD.search(value):
            bad = XML_BAD.search(value)
            assert bad is not None
            message = f"setting {quoted(key)} holds the control character U+{ord(bad.group()):04X}, which no export can carry; remove it"
        else:
            values[key] = value
            continue
        line, col = PositionIndex(doc.text or "").locate((key,), key=True)
        problems.append(problem(display, "IB015", message, line=line, column=col, path=key))
    return BankConfig(**values), problems


def find_bank(start: Path) -> Path | None:
    """The bank folder ``start`` lies in: the nearest folder, from ``start`` up, holding ``itembank.yaml``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None
