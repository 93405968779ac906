"""Load + validate: files → plain data → schema → rules → typed model, every problem collected.

Nothing here raises for bad input: each problem becomes a :class:`Problem` with file, line, column,
item id, path and rule code, and the run goes on so that one pass reports everything.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .assessments import Selection, assessment_dir, assessment_files, check_assessments
from .config import CONFIG_NAME, load_config
from .model import AnyItem, Bank, BankConfig, SourceRef
from .normalize import to_model
from .positions import PositionIndex
from .problems import RULES, Problem, json_path, problem
from .rules import RuleContext, check_item
from .schema import YAML_READ_MARK, item_schema
from .sources import Document, read_document
from .yaml_traps import find_traps, may_hold_traps

ITEM_SUFFIXES = (".yaml", ".yml", ".json")
#: Folders of a bank that hold other things than items.
SKIP_DIRS = {"media", "assessments", "node_modules", "__pycache__"}


@dataclass
class CheckResult:
    """The outcome of checking a bank (or some of its files)."""

    root: Path
    config: BankConfig
    items: list[AnyItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    assessments: dict[str, Selection] = field(default_factory=dict)  # whole-bank checks: the valid blueprints, resolved

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def ok(self, *, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)

    def bank(self) -> Bank:
        """The loaded bank; only meaningful when there are no errors."""
        return Bank(root=self.root, config=self.config, items=tuple(self.items), assessments=dict(self.assessments))


def display_path(path: Path) -> str:
    """A path as the user should see it: relative to the working directory when inside it."""
    text = str(path)
    cwd = os.getcwd()
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    if os.path.isabs(text):
        # A plain prefix test: os.path.relpath costs more than reading the file on large banks.
        return text[len(prefix):] if text.startswith(prefix) else text
    return text


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a file name whose bytes are not UTF-8 (held as lone surrogates)
        return False


def _shown(path: Path) -> str:
    """A path fit for a report even when its name is not valid UTF-8 (bytes shown as ``\\xNN``)."""
    return os.fsencode(display_path(path)).decode("utf-8", "backslashreplace")


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def discover(root: Path) -> list[Path]:
    """Item files of a bank folder, sorted so that every run sees the same order."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (here == root and d in SKIP_DIRS))
        for name in filenames:
            if name.startswith(".") or not name.lower().endswith(ITEM_SUFFIXES):
                continue
            if here == root and name == CONFIG_NAME:
                continue
            found.append(here / name)
    start = len(str(root)) + 1
    return sorted(found, key=lambda p: str(p)[start:].replace(os.sep, "/"))


def _split_items(doc: Document) -> tuple[list[tuple[int | None, Any]], Problem | None]:
    data = doc.data
    if isinstance(data, dict) and "items" in data and set(data) == {"items"}:
        if not isinstance(data["items"], list) or not data["items"]:
            return [], problem(doc.rel, "IB013", "`items:` must be a non-empty list of items")
        return list(enumerate(data["items"])), None
    if isinstance(data, dict):
        return [(None, data)], None
    got = "a list" if isinstance(data, list) else "nothing" if data is None else "a single value"
    hint = " (put a list under `items:`)" if isinstance(data, list) else ""
    return [], problem(doc.rel, "IB013", f"file holds {got}, not an item mapping or `items:` list{hint}")


def check_paths(
    paths: Sequence[Path],
    *,
    root: Path,
    progress: Callable[[int, int], None] | None = None,
    allow_empty: bool = False,
) -> CheckResult:
    """Check the given files/folders as one bank rooted at ``root`` (ids must be unique across all).

    Finding no item file at all is an error (IB016) unless ``allow_empty``: a mistyped ``--bank``
    must not pass as a valid, empty bank.
    """
    # No cyclic garbage collection while loading: each automatic collection of the oldest generation
    # walks every object loaded so far, and loading makes almost only acyclic data that reference
    # counting frees (the little cyclic garbage, e.g. an invalid item's schema errors, is collected
    # by a later full collection).  Validate, lint and every export load through here.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _check_paths(paths, root=root, progress=progress, allow_empty=allow_empty)
    finally:
        if paused:
            if gc.get_freeze_count() == 0:
                # What was loaded is long-lived: freeze + unfreeze moves every tracked object into the
                # oldest generation without walking them, where the first young collection after
                # loading would walk the whole bank (~70 ms of 10,000 items).
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _check_paths(paths: Sequence[Path], *, root: Path, progress: Callable[[int, int], None] | None, allow_empty: bool) -> CheckResult:
    root = root.resolve()
    config, config_problems = load_config(root, display_path(root / CONFIG_NAME))
    result = CheckResult(root=root, config=config, problems=list(config_problems))
    files: list[Path] = []
    refused: list[Problem] = []
    for p in paths:
        given = Path(os.path.abspath(p))
        p = p.resolve()
        if p.is_dir():
            files.extend(discover(p))
        elif p != given and _inside(given, root) and not _inside(p, root):
            refused.append(problem(_shown(given), "IB006", "file is a link to a file outside the bank: refused"))
        else:
            files.append(p)
    files = list(dict.fromkeys(files))
    # Blueprints in <bank>/assessments/ are checked against the items once these are loaded.
    # (paths are resolved above, so comparing the parent folder is enough; no per-file resolve()).
    blueprint_dir = assessment_dir(root)
    blueprints = [f for f in files if f.parent == blueprint_dir]
    files = [f for f in files if f.parent != blueprint_dir]
    result.files = len(files)
    result.problems.extend(refused)
    if not files and not blueprints and not refused and not allow_empty:
        result.problems.append(
            problem(_shown(root), "IB016", "no items found: no .yaml, .yml or .json item files under this folder (is --bank right?)")
        )
    ctx = RuleContext(root, config)
    schema = item_schema()
    root_prefix = str(root) if str(root).endswith(os.sep) else str(root) + os.sep
    first_seen: dict[str, str] = {}
    dup_pending: list[tuple[Document, int | None, str]] = []
    for n, path in enumerate(files, 1):
        if progress is not None:
            progress(n, len(files))
        rel = display_path(path)
        if not _utf8(rel):
            result.problems.append(problem(_shown(path), "IB004", "file name is not valid UTF-8: rename the file"))
            continue
        if os.path.islink(path) and not _inside(path.resolve(), root):
            result.problems.append(problem(rel, "IB006", "file is a link to a file outside the bank: refused"))
            continue
        doc = read_document(path, rel)
        if doc.problem is not None:
            result.problems.append(doc.problem)
            continue
        entries, prob = _split_items(doc)
        if prob is not None:
            result.problems.append(prob)
            continue
        ctx.source_text = doc.text
        pending: list[tuple[int | None, str | None, tuple[object, ...], str, str, bool]] = []
        for index, raw in entries:
            item_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            if not isinstance(raw, dict):
                pending.append((index, None, (), "IB013", "an entry of `items:` must be a mapping (an item)", False))
                continue
            serrs = schema.errors(raw)
            for e in serrs:
                pending.append((index, item_id, e.path, e.code, e.message, e.at_key))
            if serrs:
                # Unknown or misplaced top-level fields leave the rest of the item well-shaped: check it
                # anyway, so one run reports everything (the item is still not loaded).
                if all(e.code in ("IB102", "IB107") and len(e.path) == 1 for e in serrs):
                    stray = {e.path[0] for e in serrs}
                    trimmed = {k: v for k, v in raw.items() if k not in stray}
                    if schema.is_valid(trimmed):
                        for fpath, code, message in check_item(trimmed, ctx):
                            pending.append((index, item_id, fpath, code, message, False))
                continue
            findings = list(check_item(raw, ctx))
            for fpath, code, message in findings:
                pending.append((index, item_id, fpath, code, message, False))
            if item_id is not None:
                if item_id in first_seen:
                    dup_pending.append((doc, index, item_id))
                else:
                    first_seen[item_id] = rel
            if any(f[1] in _ERROR_CODES for f in findings):
                continue
            # path.relative_to(root) by string (pathlib's parsing was 2 % of validating a large bank)
            text = str(path)
            bank_rel = text[len(root_prefix) :].replace(os.sep, "/") if text.startswith(root_prefix) else rel
            result.items.append(to_model(raw, SourceRef(path=bank_rel, line=1, index=index)))
        if pending:
            result.problems.extend(_locate(doc, pending))
        if doc.text is not None and not doc.rel.lower().endswith(".json") and may_hold_traps(doc.text):
            result.problems.extend(_traps(doc, entries))
    for doc, index, item_id in dup_pending:
        where = first_seen[item_id]
        pos = PositionIndex(doc.text or "")
        line, col = pos.locate(_prefix(index) + ("id",))
        result.problems.append(problem(doc.rel, "IB201", f"id '{item_id}' is already used in {where}", line=line, column=col, item_id=item_id, path="id"))
    result.items = _unique(result.items)
    _check_blueprints(result, paths, blueprints, root)
    result.problems.sort(key=lambda p: (p.file, p.line, p.column, p.code))
    return result


def _check_blueprints(result: CheckResult, paths: Sequence[Path], blueprints: list[Path], root: Path) -> None:
    """Check the bank's assessments (all of them for a whole-bank check, else the files given)."""
    whole = any(p.resolve() == root for p in paths)
    if whole:
        blueprints = assessment_files(root)
    if not blueprints:
        return
    items = result.items if whole else check_paths([root], root=root, allow_empty=True).items
    problems, resolved = check_assessments(blueprints, items, display_path)
    result.problems.extend(problems)
    if whole:
        result.assessments = resolved


_ERROR_CODES = {code for code, (severity, _) in RULES.items() if severity == "error"}


def _prefix(index: int | None) -> tuple[object, ...]:
    return () if index is None else ("items", index)


def _locate(doc: Document, pending: Iterable[tuple[int | None, str | None, tuple[object, ...], str, str, bool]]) -> list[Problem]:
    pos = PositionIndex(doc.text or "")
    out = []
    for index, item_id, path, code, message, at_key in pending:
        line, col = pos.locate(_prefix(index) + tuple(path), key=at_key)
        if YAML_READ_MARK in message:
            written = pos.source(_prefix(index) + tuple(path))
            message = message.replace(YAML_READ_MARK, f"`{written}`" if written else "this value")
        out.append(problem(doc.rel, code, message, line=line, column=col, item_id=item_id, path=json_path(list(path))))
    return out


def _traps(doc: Document, entries: list[tuple[int | None, Any]]) -> list[Problem]:
    """Warnings for YAML that parsed into something else than the author meant (``yaml_traps``)."""
    ids = {index: raw.get("id") for index, raw in entries if isinstance(raw, dict) and isinstance(raw.get("id"), str)}
    out = []
    for path, code, message, line, col in find_traps(doc.text or ""):
        index: int | None = None
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
            index, path = path[1], path[2:]
        elif ids.get(None) is None:
            continue  # not an item file's field
        out.append(problem(doc.rel, code, message, line=line, column=col, item_id=ids.get(index), path=json_path(list(path))))
    return out


def _unique(items: list[AnyItem]) -> list[AnyItem]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            out.append(item)
    return out


def bank_ids(root: Path) -> dict[str, Path]:
    """Every item id written in the bank's files (valid items or not), with the first file using it."""
    ids: dict[str, Path] = {}
    for path in discover(root.resolve()):
        doc = read_document(path, str(path))
        if doc.problem is not None:
            continue
        entries, _ = _split_items(doc)
        for _, raw in entries:
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                ids.setdefault(raw["id"], path)
    return ids


def check_bank(root: Path | str, *, progress: Callable[[int, int], None] | None = None, allow_empty: bool = False) -> CheckResult:
    """Check a whole bank folder."""
    root = Path(root)
    return check_paths([root], root=root, progress=progress, allow_empty=allow_empty)
