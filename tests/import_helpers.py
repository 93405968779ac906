"""Round-trip comparison for the import tests: export a bank in format F, import it, compare models.

Both sides go through the JSON export (the model with defaults filled in).  Markdown texts are equal
when they render the same (an importer escapes more than people do); images are equal when their
files hold the same bytes.  What a format cannot carry is listed per format, and each such field must
be named in the import report (format notes or the item's notes).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pyromark

from itembank import export, load_bank

_RENDER = pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
MARKDOWN_FIELDS = {"stem", "rationale", "text", "feedback", "true_feedback", "false_feedback", "prompt", "criterion", "description",
                   "sample_answer", "final_answer", "quick_check"}
MARKDOWN_LISTS = {"hints", "common_mistakes"}

#: Fields a format never carries, and the words the import report uses for them.
NOT_CARRIED: dict[str, dict[str, str]] = {
    "moodle": {"status": "status", "author": "author", "source": "source", "reviews": "review history", "lint": "lint ignores",
               "evidence": "analysis evidence"},
    "gift": {"status": "status", "author": "author", "source": "source", "reviews": "review history", "lint": "lint ignores",
             "evidence": "analysis evidence", "points": "points",
             "shuffle": "shuffle", "case_sensitive": "case sensitivity", "unit": "units", "rubric": "grader information",
             "sample_answer": "grader information", "min_words": "word limits", "max_words": "word limits",
             "response_template": "response template"},
}


def canonical(bank_dir: Path) -> dict[str, dict[str, Any]]:
    bank = load_bank(bank_dir)
    data = json.loads(export(bank, "json").data or b"{}")
    out = {}
    for item in data["items"]:
        item.pop("file", None)
        out[item["id"]] = item
    return out


def _image_hashes(text: str, root: Path) -> str:
    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        path = root / ref
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else f"missing:{ref}"
        return f'src="{digest}"'

    return re.sub(r'src="([^"]+)"', sub, text)


def _md(text: str, root: Path) -> str:
    html = pyromark.html(text or "", options=_RENDER)
    return " ".join(_image_hashes(html, root).split())


def _interval(item: dict[str, Any]) -> tuple[float, float]:
    if item.get("range"):
        return float(item["range"]["min"]), float(item["range"]["max"])
    a, t = float(item["answer"]), float(item.get("tolerance") or 0)
    return a - t, a + t


def _norm(value: Any, key: str, root: Path) -> Any:
    if isinstance(value, str) and key in MARKDOWN_FIELDS:
        return _md(value, root)
    if isinstance(value, list) and key in MARKDOWN_LISTS:
        return [_md(v, root) for v in value]
    if isinstance(value, list):
        return [_norm(v, key, root) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v, k, root) for k, v in value.items()}
    if isinstance(value, float) and value == int(value):
        return int(value)
    return value


def _cloze_positional(item: dict[str, Any]) -> dict[str, Any]:
    """Blanks renamed b1, b2... in stem order (no format keeps placeholder names)."""
    names = re.findall(r"\{\{([A-Za-z_][A-Za-z0-9_-]*)\}\}", item["stem"])
    mapping = {n: f"b{i + 1}" for i, n in enumerate(names)}
    item = dict(item)
    item["stem"] = re.sub(r"\{\{([A-Za-z_][A-Za-z0-9_-]*)\}\}", lambda m: "{{" + mapping[m.group(1)] + "}}", item["stem"])
    item["blanks"] = {mapping[k]: v for k, v in item["blanks"].items()}
    return item


def differences(orig: dict[str, Any], got: dict[str, Any], orig_root: Path, got_root: Path) -> dict[str, tuple[Any, Any]]:
    """Field -> (original, imported) for every field that differs in meaning."""
    a, b = dict(orig), dict(got)
    if a["type"] == "cloze":
        a, b = _cloze_positional(a), _cloze_positional(b)
    diffs: dict[str, tuple[Any, Any]] = {}
    if a["type"] == "numeric" and b.get("type") == "numeric":
        ia, ib = _interval(a), _interval(b)
        if abs(ia[0] - ib[0]) > 1e-9 * max(1, abs(ia[0])) or abs(ia[1] - ib[1]) > 1e-9 * max(1, abs(ia[1])):
            diffs["answer"] = (ia, ib)
        for k in ("answer", "tolerance", "range"):
            a.pop(k, None)
            b.pop(k, None)
    for opts in (a.get("options"), b.get("options")):
        if opts:
            for i, o in enumerate(opts):
                o.pop("id", None)  # no format carries option ids
    if a.get("title") == a["id"]:
        a.pop("title")
    if b.get("title") == b["id"]:
        b.pop("title")
    for key in sorted(set(a) | set(b)):
        as_key = "text" if key == "answer" and a["type"] == "flashcard" else key  # a card's back is Markdown
        va, vb = _norm(a.get(key), as_key, orig_root), _norm(b.get(key), as_key, got_root)
        if va != vb:
            diffs[key] = (va, vb)
    return diffs


def report_text(report: Any, item_id: str) -> str:
    """Everything the import report says about one item: its file's format notes and its own notes."""
    parts = []
    for fr in report.files:
        parts.extend(fr.format_notes)
        parts.extend(n for i, n in fr.notes if i == item_id)
    return "\n".join(parts)
