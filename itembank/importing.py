"""The importer interface: what an importer returns, and what it may use (the contract of ``itembank.importers``).

The core defines it (as :mod:`itembank.formats` does for exporters); importers import it from here
(or from ``itembank.importers.base``, which re-exports it).

Data flows one way: source files -> importer.read() -> ReadResult (item dicts in our format) ->
framework (ids made unique against the bank, conflicts, YAML writing, report).

An importer:

* ``name`` (the FORMAT of ``itembank import FORMAT``), ``description`` (one line);
* ``sniff(path) -> bool``: cheap check (first few KB, or a zip's member names) used by
  ``--format auto``; never raises;
* ``read(path, ctx) -> ReadResult``: reads ONE source (a file, a zip package or a folder).  It
  accounts for every question it sees: an :class:`ImportedItem` or a :class:`Skipped` with a reason.
  Input it cannot read at all (malformed XML, XXE, zip slip, bad encoding...) raises
  :class:`BadInput` with file and position; the framework then writes nothing and exits 1.
  A problem that stops one question only is a ``Skipped``, not a ``BadInput``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .errors import ItembankError

ENTRY_POINT_GROUP = "itembank.importers"

class BadInput(ItembankError):
    """A source that cannot be read: the message names the file and the position (line, member, ident)."""

    def __init__(self, origin: str, message: str) -> None:
        self.origin = origin
        self.detail = message
        super().__init__(f"{origin}: {message}")


@dataclass
class ImportedItem:
    """One question read, in our item format (schemas/item.schema.json), text fields in Markdown.

    ``data["id"]`` must come from ``ctx.ids.derive(...)``.  ``data`` may omit ``status`` (the
    framework sets ``--status``).  Media referenced as ``media/<hash>.<ext>`` (see ``ctx.media``).
    """

    data: dict[str, Any]
    origin: str  # where it came from: "file.xml:123" (line) or "file.zip#ident"
    notes: list[str] = field(default_factory=list)  # what was simplified or dropped, one sentence each


@dataclass
class Skipped:
    """A question not imported, and why (unsupported type, random question, description only...)."""

    ident: str  # the source's id or name of the question, as the user would find it
    origin: str
    reason: str


@dataclass
class ReadResult:
    """Everything read from one source."""

    items: list[ImportedItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)  # "media/<sha>.<ext>" -> bytes
    problems: list[str] = field(default_factory=list)  # warnings about the whole file (not per item)
    format_notes: list[str] = field(default_factory=list)  # what this format never carries (printed once per file)
    #: Fields the format never carries whose imported values are made up (options named a, b, c...;
    #: a scoring by default): ``--on-conflict update`` keeps the bank item's own (``options[].id``, ``scoring``).
    not_carried: frozenset[str] = frozenset()


@dataclass
class ImportContext:
    """What an importer may use: id allocation, the media store, and the user's options."""

    ids: Any  # importers.kit.ids.IdAllocator
    media: Any  # importers.kit.media.MediaStore (its .files end up in ReadResult.media via the framework)
    status: str = "draft"
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Importer(Protocol):
    name: str
    description: str

    def sniff(self, path: Path) -> bool: ...

    def read(self, path: Path, ctx: ImportContext) -> ReadResult: ...
