"""The import pipeline's spine: importer registry (built-ins in code, plug-ins by entry point).

Files -> importer.read() -> ReadResult -> ids/conflicts -> YAML files in the bank.  The importer
contract is :mod:`itembank.importing`; the built-in importers are ``itembank.importers.BUILTINS``.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from .errors import ItembankError, UsageError
from .importing import ENTRY_POINT_GROUP, BadInput, ImportContext, ImportedItem, Importer
from .yamlwrite import dump, dump_item, items_file


class BrokenImporter:
    """Stands in for an importer whose module failed to load, so the failure is reported, not hidden."""

    description = "(failed to load)"

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.error = error

    def sniff(self, path: Any) -> bool:
        return False

    def read(self, path: Any, ctx: Any) -> Any:
        raise ItembankError(f"import format '{self.name}' failed to load: {type(self.error).__name__}: {self.error}")


def _load_ref(name: str, ref: str) -> Importer:
    module, _, attr = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except Exception as exc:  # a broken plug-in must not take the other formats down with it
        return BrokenImporter(name, exc)
    return obj() if isinstance(obj, type) else obj


def _builtins() -> dict[str, str]:
    return dict(importlib.import_module(f"{__package__}.importers").BUILTINS)


def importer_names() -> list[str]:
    """Built-in formats first (in their listed order), then plug-ins by name."""
    builtin = _builtins()
    extra = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in builtin)
    return list(builtin) + extra


@cache
def get_importer(name: str) -> Importer:
    """One importer, loading only its own module."""
    builtin = _builtins()
    if name in builtin:
        return _load_ref(name, builtin[name])
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise UsageError(f"unknown import format '{name}' (known: {', '.join(importer_names())}, auto)")
    ep = next(iter(found))
    return _load_ref(name, ep.value)


# --- running an import ----------------------------------------------------------------------------

LAYOUTS = ("item", "topic")
ON_CONFLICT = ("error", "skip", "update")


@dataclass
class FileReport:
    """What one source gave: its items (by type), what was skipped and why, per-item notes."""

    fmt: str
    source: str
    imported: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (ident, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (item id, note)
    problems: list[str] = field(default_factory=list)
    format_notes: list[str] = field(default_factory=list)
    not_carried: frozenset[str] = frozenset()  # ReadResult.not_carried: kept from the bank's item by an update

    def summary(self) -> str:
        total = sum(self.imported.values())
        parts = ", ".join(f"{n} {t}" for t, n in sorted(self.imported.items()))
        line = f"{self.fmt}: {self.source}: {total} item{'s' * (total != 1)} imported" + (f" ({parts})" if parts else "")
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        return line


@dataclass
class ImportReport:
    """The whole import: per-source reports, and what was (or with dry_run would be) written."""

    files: list[FileReport] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # bank-relative paths of new or changed files
    updated: list[str] = field(default_factory=list)  # ids updated in place
    kept: list[str] = field(default_factory=list)  # ids left alone (--on-conflict skip, or unchanged)
    dry_run: bool = False
    settings: list[str] = field(default_factory=list)  # what the import decided about the bank's settings
    items: list[dict[str, Any]] = field(default_factory=list)  # the imported items, as written

    @property
    def total(self) -> int:
        return sum(sum(f.imported.values()) for f in self.files)


class ImportFailed(ItembankError):
    """The import stopped before writing anything; ``details`` lists every problem."""

    def __init__(self, summary: str, details: list[str]) -> None:
        self.details = details
        super().__init__(summary)


def sniff_format(path: Path) -> str:
    """The importer whose ``sniff`` recognises ``path`` (``--format auto``)."""
    hits = []
    for name in importer_names():
        imp = get_importer(name)
        try:
            if imp.sniff(path):
                hits.append(name)
        except Exception:  # a sniffer must never stop the import
            continue
    if not hits:
        raise UsageError(f"{path}: cannot tell its format; give it: itembank import FORMAT (one of {', '.join(importer_names())})")
    return hits[0]


def _bank_index(root: Path) -> tuple[dict[str, Any], Any]:
    """Ids of the bank's items -> their model item (with location); and the bank config."""
    from .validate import check_bank

    from .sources import followed

    if followed(root) is None:
        raise UsageError(f"--into {root}: following its links never reaches a folder (a link loop)")
    if not root.exists():
        return {}, None
    if not root.is_dir():
        raise UsageError(f"--into {root}: not a folder")
    result = check_bank(root)
    return {item.id: item for item in result.items}, result


def _validate_item(data: dict[str, Any], ctx: Any) -> tuple[list[str], str]:
    """The item's errors (schema first, then the error-level rules), and its YAML text ("" if the
    schema refused it).  The text is what will be written; the rules get it as the source text, as
    when they check a file, so their whole-text pre-checks skip the per-field walks."""
    from .problems import RULES
    from .rules import check_item
    from .schema import item_schema

    errors = [e.message for e in item_schema().errors(data)]
    if errors:
        return errors, ""
    text = dump_item(data)
    ctx.source_text = text
    try:
        errors = [f"{code}: {msg}" for _p, code, msg in check_item(data, ctx) if RULES.get(code, ("error",))[0] == "error"]
    finally:
        ctx.source_text = None
    return errors, text


def _target_name(base: str, taken: set[str], root: Path | None) -> str:
    """``base.yaml``, or ``base-2.yaml``... when taken here or in ``root`` (None: a new folder, nothing there)."""
    name = f"{base}.yaml"
    n = 2
    while name in taken or (root is not None and (root / name).exists()):
        name = f"{base}-{n}.yaml"
        n += 1
    taken.add(name)
    return name


def plan_import(
    sources: list[Path],
    into: Path,
    *,
    fmt: str = "auto",
    layout: str = "item",
    on_conflict: str = "error",
    status: str | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[ImportReport, dict[str, bytes]]:
    """Read every source, check every item, and compute the files to write (bank-relative path ->
    bytes).  Raises :class:`ImportFailed` (nothing to write) on unreadable input or conflicts."""
    # by name, not by import statement: the core never imports an importer module (nor mypy a path
    # that exists only once the package is installed or mounted)
    ids_kit = importlib.import_module(f"{__package__}.importers.kit.ids")
    media_kit = importlib.import_module(f"{__package__}.importers.kit.media")
    IdAllocator, slug = ids_kit.IdAllocator, ids_kit.slug
    MediaStore, MediaTooLarge = media_kit.MediaStore, media_kit.MediaTooLarge

    from .model import BankConfig
    from .rules import RuleContext

    if layout not in LAYOUTS:
        raise UsageError(f"--layout must be one of {', '.join(LAYOUTS)}")
    if on_conflict not in ON_CONFLICT:
        raise UsageError(f"--on-conflict must be one of {', '.join(ON_CONFLICT)}")
    if not sources:
        raise UsageError("give at least one SOURCE file")
    into = Path(into)
    bank_items, checked = _bank_index(into)
    ids = IdAllocator(bank_items)
    media = MediaStore()
    report = ImportReport()
    failures: list[str] = []
    read: list[tuple[FileReport, ImportedItem]] = []
    for src in sources:
        src = Path(src)
        if not src.exists():
            failures.append(f"{src}: no such file or folder")
            continue
        try:
            name = sniff_format(src) if fmt == "auto" else fmt
            imp = get_importer(name)
            ctx = ImportContext(ids=ids, media=media, status=status or "draft", options=dict(options or {}))
            result = imp.read(src, ctx)
        except BadInput as exc:
            failures.append(str(exc))
            continue
        except MediaTooLarge as exc:
            failures.append(f"{src}: refused: {exc}")
            continue
        except UsageError:
            raise
        except ItembankError as exc:
            failures.append(str(exc))
            continue
        fr = FileReport(fmt=name, source=str(src), problems=list(result.problems), format_notes=list(getattr(result, "format_notes", [])),
                        not_carried=frozenset(getattr(result, "not_carried", frozenset())))
        fr.skipped.extend((s.ident, s.reason) for s in result.skipped)
        report.files.append(fr)
        read.extend((fr, it) for it in result.items)
    if failures:
        raise ImportFailed(f"{len(failures)} source{'s' * (len(failures) != 1)} could not be imported; nothing was written", failures)

    # A new bank takes imported questions as they are: LMS banks rarely explain every distractor, so
    # the new bank's settings say so (written below, and reported).  An existing bank's settings stand.
    new_bank = not bank_items and not (into / "itembank.yaml").exists()
    if checked is not None and not new_bank:
        config = checked.config
    else:
        config = BankConfig(title=into.resolve().name.replace("-", " ").replace("_", " ").title() or "Item bank", require_distractor_feedback=False)
    rule_ctx = RuleContext(into, config)
    for rel in media.files:  # extracted media are not on disk yet: the image rule must count them
        rule_ctx.expect_file(rel)

    new_items: list[tuple[FileReport, ImportedItem, str]] = []  # with the item's YAML text
    updates: list[tuple[FileReport, ImportedItem, Any]] = []
    conflicts: list[str] = []
    for fr, it in read:
        data = it.data
        had_status = "status" in data
        if status is not None:
            data["status"] = status
        else:
            data.setdefault("status", "draft")
        errors, text = _validate_item(data, rule_ctx)
        if errors:
            fr.skipped.append((data.get("id", "?"), f"would not validate ({errors[0]}) [{it.origin}]"))
            continue
        existing = bank_items.get(data["id"])
        if existing is not None:
            if on_conflict == "error":
                conflicts.append(f"{it.origin}: id {data['id']!r} is already in the bank ({existing.location.path}); use --on-conflict skip or update")
                continue
            if on_conflict == "skip":
                fr.skipped.append((data["id"], f"already in the bank ({existing.location.path}); kept ours (--on-conflict skip)"))
                report.kept.append(data["id"])
                continue
            if status is None and not had_status:
                it = ImportedItem({k: v for k, v in data.items() if k != "status"}, it.origin, it.notes)
            updates.append((fr, it, existing))
        else:
            new_items.append((fr, it, text))
        fr.imported[data["type"]] += 1
        fr.notes.extend((data["id"], n) for n in it.notes)
        report.items.append(data)
    if conflicts:
        raise ImportFailed(f"{len(conflicts)} imported id{'s' * (len(conflicts) != 1)} already in the bank; nothing was written", conflicts)

    files: dict[str, bytes] = {}
    taken: set[str] = {"itembank.yaml"}
    on_disk = into if into.exists() else None  # a new folder has no file to avoid (no stat per item)
    if new_bank and new_items and any(_lacks_distractor_feedback(it.data) for _fr, it, _t in new_items):
        files["itembank.yaml"] = (
            "# Written by `itembank import`: the imported questions do not explain every wrong option.\n"
            + dump({"title": config.title, "require_distractor_feedback": False})
        ).encode("utf-8")
        report.settings.append("new bank: itembank.yaml says require_distractor_feedback: false (some imported wrong options have no explanation)")
    if layout == "item":
        for _fr, it, text in new_items:
            rel = _target_name(it.data["id"], taken, on_disk)
            files[rel] = text.encode("utf-8")
            _check_written(rel, files[rel], it.data)
    else:
        groups: dict[str, list[tuple[dict[str, Any], str]]] = {}
        for fr, it, text in new_items:
            topic = it.data.get("topic") or Path(fr.source).stem
            groups.setdefault(slug(str(topic), 60), []).append((it.data, text))
        for base, members in groups.items():
            rel = _target_name(base, taken, on_disk)
            files[rel] = items_file([text for _d, text in members]).encode("utf-8")
            _check_written(rel, files[rel], {"items": [d for d, _text in members]})
    if updates:
        from .importupdate import plan_updates

        changed, kept = plan_updates(into, [(it.data, existing, fr.not_carried) for fr, it, existing in updates], rule_ctx)
        for rel, text in changed.items():
            files[rel] = text.encode("utf-8")
        report.updated = [it.data["id"] for _fr, it, _e in updates if it.data["id"] not in kept]
        report.kept.extend(kept)
    for rel, blob in media.files.items():
        existing_file = into / rel
        if existing_file.exists() and existing_file.read_bytes() == blob:
            continue
        files[rel] = blob
    report.written = sorted(files)
    return report, files


def _lacks_distractor_feedback(data: dict[str, Any]) -> bool:
    return any(not o.get("correct") and not (o.get("feedback") or "").strip() for o in data.get("options") or [])


def _check_written(rel: str, blob: bytes, expected: Any) -> None:
    """The YAML we write must read back (with the bank's own parser) to the data we meant."""
    from .sources import parse

    data, prob = parse(blob.decode("utf-8"), rel, is_json=False)
    if prob is not None:
        raise ItembankError(f"internal error: {rel} would not parse back ({prob.message}); nothing was written")
    if data != expected:
        raise ItembankError(f"internal error: {rel} would not read back as the imported data; nothing was written")


def write_files(into: Path, files: dict[str, bytes]) -> None:
    """Write every file so that a reader never sees half of it, and a failure leaves nothing behind.

    A new bank folder is written whole in a staging folder beside it, then renamed into place: one
    rename, not one per file (creating files is most of the syscalls of a 10,000-item import).  Into
    an existing folder, each file goes to a temporary name and is renamed over; on failure what this
    call created is removed and what it replaced put back.  No fsync per file (10,000 fsyncs took a
    minute)."""
    import os

    if not into.exists():
        _write_new_folder(into, files)
        return
    done: list[tuple[Path, bytes | None]] = []
    made: set[Path] = set()
    tmp: Path | None = None
    try:
        for rel in sorted(files):
            path = into / rel
            try:
                old: bytes | None = path.read_bytes()
            except FileNotFoundError:
                old = None
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            tmp = path.with_name(f".{path.name}.importing")
            tmp.write_bytes(files[rel])
            os.replace(tmp, path)
            done.append((path, old))
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        for path, old in reversed(done):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(old)
        raise ItembankError(f"{exc.filename or into}: cannot write: {exc.strerror or exc}; the import was undone") from None


def _write_new_folder(into: Path, files: dict[str, bytes]) -> None:
    """All files into ``.NAME.importing-*`` beside ``into``, then one rename: the bank appears whole or not at all."""
    import os
    import shutil
    import tempfile

    from .atomic import umask

    staging: Path | None = None
    try:
        into.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{into.name}.importing-", dir=into.parent))
        os.chmod(staging, 0o777 & ~umask())  # what mkdir would give: the umask is respected
        made = {staging}
        for rel in sorted(files):
            path = staging / rel
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                view = memoryview(files[rel])
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
        os.rename(staging, into)  # fails if ``into`` appeared meanwhile and is not empty
    except OSError as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise ItembankError(f"{exc.filename or into}: cannot write: {exc.strerror or exc}; nothing was written") from None


def run_import(
    sources: list[Path | str],
    into: Path | str = "items",
    *,
    fmt: str = "auto",
    layout: str = "item",
    on_conflict: str = "error",
    status: str | None = None,
    dry_run: bool = False,
    options: dict[str, Any] | None = None,
) -> ImportReport:
    """Import ``sources`` into the bank folder ``into`` (created if missing); nothing written when dry_run."""
    from .gcpause import gc_paused

    into = Path(into)
    # No cyclic collection while importing (itembank.gcpause), as lint and the review import do.
    with gc_paused():
        report, files = plan_import([Path(s) for s in sources], into, fmt=fmt, layout=layout, on_conflict=on_conflict, status=status, options=options)
    report.dry_run = dry_run
    if not dry_run and files:
        write_files(into, files)
    return report
