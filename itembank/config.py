"""The bank's settings file, ``itembank.yaml`` at the bank root (optional)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import BankConfig
from .positions import PositionIndex
from .problems import Problem, problem
from .sources import read_document

CONFIG_NAME = "itembank.yaml"
_FIELDS = {"title": str, "require_distractor_feedback": bool, "require_rationale": bool}


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
        if want is None:
            message = f"unknown setting '{key}' (known: {', '.join(_FIELDS)})"
        elif not isinstance(value, want) or (isinstance(value, str) and not value.strip()):
            message = f"setting '{key}' must be {'text' if want is str else 'true or false'}"
        else:
            values[key] = value
            continue
        line, col = PositionIndex(doc.text or "").locate((key,), key=True)
        problems.append(problem(display, "IB015", message, line=line, column=col, path=key))
    return BankConfig(**values), problems
