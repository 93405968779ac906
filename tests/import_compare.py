"""Helpers for the import round-trip tests: read items as dicts, normalise them for comparison.

Text fields are compared by what they render to (our own renderer), not by their Markdown spelling:
``\\&`` and ``&`` are the same text.  Image references are compared by the bytes they point at
(the import stores media by content hash, the bank by name).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from itembank.importers.base import ImportContext, ReadResult
from itembank.importers.kit.ids import IdAllocator
from itembank.importers.kit.media import MediaStore
from itembank.render import Renderer

_R = Renderer()
#: fields holding Markdown (compared rendered)
MARKDOWN = {"stem", "rationale", "text", "feedback", "true_feedback", "false_feedback", "sample_answer", "final_answer",
            "quick_check", "prompt", "description", "answer_md"}


def bank_items(root: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(root.rglob("*.yaml")):
        if path.name == "itembank.yaml" or "assessments" in path.parts:
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        out.extend(doc["items"] if "items" in doc else [doc])
    return out


def read(importer: Any, path: Path) -> tuple[ReadResult, dict[str, bytes]]:
    ctx = ImportContext(ids=IdAllocator(), media=MediaStore())
    result = importer.read(path, ctx)
    return result, dict(ctx.media.files)


def _render(text: str, media: dict[str, bytes], root: Path | None) -> str:
    html = _R.html(text)

    def src(m: re.Match[str]) -> str:
        ref = m.group(1)
        data = media.get(ref)
        if data is None and root is not None and (root / ref).is_file():
            data = (root / ref).read_bytes()
        return 'src="sha:' + hashlib.sha256(data).hexdigest()[:16] + '"' if data is not None else m.group(0)

    html = re.sub(r'src="([^"]+)"', src, html)

    def math(m: re.Match[str]) -> str:  # the same math written with other spacing is the same math
        from html import unescape

        from latex2mathml.converter import convert

        return f'<span class="{m.group(1)}">' + convert(unescape(m.group(2))) + "</span>"

    html = re.sub(r'<span class="(math math-(?:inline|display))">(.*?)</span>', math, html)
    return " ".join(html.split())


def normal(value: Any, media: dict[str, bytes], root: Path | None, key: str = "") -> Any:
    """A comparable form: Markdown rendered, numbers as floats, steps as {title, text}."""
    if isinstance(value, dict):
        return {k: normal(v, media, root, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "steps":
            value = [v if isinstance(v, dict) else {"text": v} for v in value]
        return [normal(v, media, root, "text" if key in ("hints", "common_mistakes", "steps") else key) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and (key in MARKDOWN or key in ("hints", "common_mistakes")):
        return _render(value, media, root)
    return value


DEFAULTS = {"case_sensitive": False, "shuffle": True, "tolerance": 0, "points": 1}


def strip_defaults(item: dict[str, Any]) -> dict[str, Any]:
    """The item without fields equal to the schema's defaults (on the item and on each blank)."""
    out = {k: v for k, v in item.items() if not (k in DEFAULTS and k != "points" and v == DEFAULTS[k])}
    if item.get("type") == "multiple_response" and out.get("scoring", "partial") == "partial":
        out.pop("scoring", None)
    if "blanks" in out:
        out["blanks"] = {n: {k: v for k, v in b.items() if not (k in DEFAULTS and v == DEFAULTS[k])} for n, b in out["blanks"].items()}
    return out


def numeric_bounds(item: dict[str, Any]) -> tuple[float, float]:
    if "range" in item:
        return float(item["range"]["min"]), float(item["range"]["max"])
    tol = float(item.get("tolerance", 0))
    return float(item["answer"]) - tol, float(item["answer"]) + tol


def diff(expected: dict[str, Any], got: dict[str, Any], ignore: set[str]) -> list[str]:
    """Field-by-field differences (``ignore``: fields the format cannot carry)."""
    out = []
    for key in sorted(set(expected) | set(got)):
        if key in ignore:
            continue
        if expected.get(key) != got.get(key):
            out.append(f"{key}: expected {expected.get(key)!r}, got {got.get(key)!r}")
    return out
