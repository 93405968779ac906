"""The export pipeline's spine: exporter interface, registry, results and atomic writing.

An exporter is an object with ``name``, ``description``, ``default_output`` and an
``export(bank, ctx) -> ExportResult`` method returning bytes (one file) or a mapping of relative
paths to bytes (a folder).  Exporters are found through the ``itembank.exporters`` entry-point group,
so a third-party package can add a format without touching itembank; writing to disk, atomically,
is done here, never by an exporter.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .model import Bank
from .render import Renderer

ENTRY_POINT_GROUP = "itembank.exporters"


class ItembankError(Exception):
    """A domain error with a message fit for the user (the CLI turns it into exit code 1 or 2)."""

    exit_code = 1


class UsageError(ItembankError):
    exit_code = 2


@dataclass
class ExportContext:
    """What an exporter may use besides the bank: options and the shared renderer (one per build)."""

    renderer: Renderer = field(default_factory=Renderer)
    options: dict[str, Any] = field(default_factory=dict)
    tool_version: str = ""

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass
class ExportResult:
    """What an exporter produced, and the account of every item: written (by type) or skipped (why)."""

    data: bytes | None = None  # a single file
    files: dict[str, bytes] | None = None  # a folder: relative POSIX path -> bytes
    written: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (item id, reason)
    notes: list[str] = field(default_factory=list)

    def wrote(self, item_type: str) -> None:
        self.written[item_type] += 1

    def skip(self, item_id: str, reason: str) -> None:
        self.skipped.append((item_id, reason))

    def summary(self) -> str:
        total = sum(self.written.values())
        parts = ", ".join(f"{n} {t}" for t, n in sorted(self.written.items()))
        line = f"{total} items written" + (f" ({parts})" if parts else "")
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        return line


@runtime_checkable
class Exporter(Protocol):
    name: str
    description: str
    default_output: str  # file or folder name under dist/

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult: ...


class BrokenExporter:
    """Stands in for an exporter whose plug-in failed to load, so the failure is reported, not hidden."""

    description = "(failed to load)"
    default_output = ""

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.error = error

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        raise ItembankError(f"export format '{self.name}' failed to load: {type(self.error).__name__}: {self.error}")


def _load(ep: Any) -> Exporter:
    try:
        obj = ep.load()
    except Exception as exc:  # a broken plug-in must not take the other formats down with it
        return BrokenExporter(ep.name, exc)
    return obj() if isinstance(obj, type) else obj


@cache
def registry() -> dict[str, Exporter]:
    """Every installed exporter by name, in name order."""
    return {ep.name: _load(ep) for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)}


@cache
def get_exporter(name: str) -> Exporter:
    """One exporter, loading only its own module (an export of one format needs no other)."""
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        known = ", ".join(sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))) or "none installed"
        raise UsageError(f"unknown export format '{name}' (known: {known})")
    return _load(next(iter(found)))


# --- atomic writing ---------------------------------------------------------------------------


def write_file_atomic(path: Path, data: bytes) -> None:
    """Write bytes so that readers see the old file or the whole new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree_atomic(path: Path, files: dict[str, bytes]) -> None:
    """Write a folder's files into a fresh sibling folder, then swap it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for rel in sorted(files):
            target = tmp / rel
            if ".." in Path(rel).parts or Path(rel).is_absolute():
                raise ValueError(f"exporter produced an unsafe path: {rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[rel])
        old = None
        if path.exists():
            if not path.is_dir():
                raise ItembankError(f"{path} exists and is not a folder")
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_result(result: ExportResult, path: Path) -> None:
    if result.files is not None:
        write_tree_atomic(path, result.files)
    elif result.data is not None:
        if path.is_dir():
            raise ItembankError(f"{path} is a folder; this format writes one file")
        write_file_atomic(path, result.data)
    else:
        raise ItembankError("exporter produced no output")
