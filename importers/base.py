"""The importer contract, re-exported for the importers: defined in the core, :mod:`itembank.importing`."""

from __future__ import annotations

from itembank.importing import (
    ENTRY_POINT_GROUP,
    BadInput,
    ImportContext,
    ImportedItem,
    Importer,
    ReadResult,
    Skipped,
)

from . import BUILTINS as BUILTIN

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "BadInput", "ImportContext", "ImportedItem", "Importer", "ReadResult", "Skipped"]
