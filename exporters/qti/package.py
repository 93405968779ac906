"""The QTI package: every file of it, zipped or as a folder, and its optional schema check."""

from __future__ import annotations

from lxml import etree

from itembank.errors import ItembankError
from itembank.formats import ExportContext, ExportResult
from itembank.model import (
    Bank,
)

from ..kit.zip import zip_bytes
from .assessment_test import build_test, plan_sections
from .item import ItemBuilder
from .manifest import ItemEntry, build_manifest
from .profiles import ITEMS_DIR, MANIFEST, TEST_FILE, Profile

# --- the package --------------------------------------------------------------------------------


def to_bytes(root: etree._Element, pretty: bool = False) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)


def build_files(profile: Profile, bank: Bank, ctx: ExportContext, result: ExportResult) -> dict[str, bytes]:
    """Every file of the package, by relative path."""
    files: dict[str, bytes] = {}
    entries: list[ItemEntry] = []
    for item in bank.items:
        href = f"{ITEMS_DIR}/{item.id}.xml"
        builder = ItemBuilder(profile, ctx.renderer, item, ctx.tool_version)
        try:
            files[href] = to_bytes(builder.build())
        except ValueError as exc:  # lxml refuses text XML cannot hold (validation rule IB216 catches it first)
            raise ItembankError(f"item {item.id}: text cannot be written as XML ({exc}); validating the bank finds it") from None
        entries.append(ItemEntry(item, href, builder.assets))
        result.wrote(item.type)
    media = sorted({m for e in entries for m in e.assets.media})
    for path in media:
        source = bank.media_path(path)
        if not source.is_file():
            raise ItembankError(f"image '{path}' is referenced but missing from the bank")
        files[path] = source.read_bytes()
    hrefs = {e.item.id: e.href for e in entries}
    missing = [i for s in plan_sections(bank) for i in s.item_ids if i not in hrefs]
    if missing:
        raise ItembankError(f"the form lists items that are not in the bank: {', '.join(sorted(set(missing)))}")
    try:
        files[TEST_FILE] = to_bytes(build_test(profile, bank, hrefs, ctx.tool_version, ctx.renderer))
        files[MANIFEST] = to_bytes(build_manifest(profile, bank, entries, media, ctx.tool_version, ctx.renderer), pretty=True)
    except ValueError as exc:
        raise ItembankError(f"bank metadata cannot be written as XML ({exc}); validating the bank finds it") from None
    return files


def zip_files(files: dict[str, bytes]) -> bytes:
    """A deterministic zip: manifest first, then sorted paths, fixed timestamps and permissions."""
    order = [MANIFEST] + sorted(k for k in files if k != MANIFEST)
    return zip_bytes(((name, files[name]) for name in order), level=6)


def check_files(profile: Profile, files: dict[str, bytes]) -> list[str]:
    """Validate every XML file of a package against the official schemas (ITEMBANK_XSD_DIR)."""
    from ..kit import xsd  # imported late: only --check and the tests need the schemas

    docs = {name: data for name, data in files.items() if name.endswith(".xml") and name != MANIFEST}
    problems = xsd.validate_files(docs, profile.key)
    problems += xsd.validate_files({MANIFEST: files[MANIFEST]}, f"{profile.key}-cp")
    return problems


def export_package(profile: Profile, bank: Bank, ctx: ExportContext) -> ExportResult:
    result = ExportResult()
    files = build_files(profile, bank, ctx, result)
    if ctx.options.check:
        problems = check_files(profile, files)
        if problems:
            shown = "\n  ".join(problems[:50])
            more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
            raise ItembankError(f"{profile.key} package is not valid against the official schemas:\n  {shown}{more}")
        result.notes.append(f"--check: {len(files)} files, every XML file valid against the {profile.key} schemas")
    if ctx.options.unzipped:
        result.files = files
    else:
        result.data = zip_files(files)
    return result
