"""The QTI package: every file of it, zipped or as a folder, and its optional schema check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from functools import partial
from pathlib import Path

from lxml import etree

from itembank.errors import ItembankError
from itembank.forked import in_task_order, shared_out
from itembank.formats import ExportContext, ExportResult
from itembank.fragments import from_json_piece, json_piece
from itembank.model import AnyItem, Bank, CalculatedItem

from ..kit.pieces import decode as decode_piece, encode as encode_piece
from ..kit.variants import count_expanded, expand_bank
from ..kit.zip import Chunked, Deflated, deflate, deflate_pieces, zip_bytes
from .assessment_test import build_test, plan_sections
from .body import ItemAssets
from .writer import ItemWriter, Written
from .manifest import ItemEntry, is_resource_text, manifest_pieces, resource_texts
from .profiles import ITEMS_DIR, MANIFEST, TEST_FILE, Profile
from .template import TemplateError

#: Why a calculated item is written as concrete variants with --expand-variants (the player's route).
TEMPLATES_NOT_WRITTEN = (
    "calculated items are written as template processing only without --expand-variants (few delivery "
    "systems run templates, and the reference player does not)"
)

# --- the package --------------------------------------------------------------------------------


def to_bytes(root: etree._Element, pretty: bool = False) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)


#: From this many items on, the items are built over ``ExportContext.jobs`` processes; below it a
#: fork costs more than it saves.
PARALLEL_FROM = 1000

#: The package's deflate level: 2, zlib-ng's (``kit.zip``).  An item file is ~6 KB of XML: the 8,305
#: item files of the 10,000 generated items deflate in 0.50 s of CPU into 17.6 MB (level 1: 0.22 s but
#: 22.6 MB, static codes only; level 3: 0.67 s, 17.0 MB; 2026-12-04).
ZIP_LEVEL = 2


def build_files(
    profile: Profile,
    bank: Bank,
    ctx: ExportContext,
    result: ExportResult,
    built: dict[str, Written] | None = None,
    deflated: dict[str, Deflated] | None = None,
) -> dict[str, bytes]:
    """Every file of the package, by relative path (``built``: items already built, by id; with
    ``deflated``, the items' files are deflated for the zip where they are built, and the manifest
    from its pieces, and land there instead of in the files returned).

    The items are independent: with more than one job they are built (and deflated) in forked
    processes, and gathered here in the bank's order (the same bytes, whatever the number of jobs)."""
    pieces = _item_files(profile, bank, ctx, built or {}, deflated is not None)
    files: dict[str, bytes] = {}
    entries: list[ItemEntry] = []
    for item, piece in zip(bank.items, pieces):
        href = item_href(item)
        if isinstance(piece.data, Deflated):
            assert deflated is not None
            deflated[href] = piece.data
        else:
            files[href] = piece.data
        entries.append(ItemEntry(item, href, piece.assets))
        result.wrote(item.type)
        result.notes.extend(f"[{item.id}] {note}" for note in piece.assets.notes)
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
        files[TEST_FILE] = _test_file(profile, bank, hrefs, ctx)
        manifest = manifest_pieces(profile, bank, entries, media, ctx.tool_version, ctx.renderer, [p.resource for p in pieces])
        # For the zip, deflated from its pieces: a joined copy would be ~250 MB at 100,000 items.
        if deflated is not None:
            # in chunks of items' resources, kept in the fragment cache (kit.zip.Chunked): after a
            # one-item edit, one chunk is deflated again, not the 22 MB of 10,000 items' resources
            deflated[MANIFEST] = deflate_pieces(manifest, ZIP_LEVEL, Chunked(b"</resource>", ctx.fragments))
        else:
            files[MANIFEST] = b"".join(manifest)
    except ValueError as exc:
        raise ItembankError(f"bank metadata cannot be written as XML ({exc}); validating the bank finds it") from None
    return files


def _test_file(profile: Profile, bank: Bank, hrefs: dict[str, str], ctx: ExportContext) -> bytes:
    """The assessment test's file, from the fragment cache when what it is made of is unchanged:
    80 ms of lxml for 10,000 item references, the same after most edits (of anything but an item's
    id or topic).  Its key is every input of :func:`build_test` but those the pack's scope holds
    (the format, its options, the form, the bank settings, the code): the title, the tool version,
    and each section with its items' ids and files.  A damaged piece is built again."""
    fragments = ctx.fragments

    def built() -> bytes:
        return to_bytes(build_test(profile, bank, hrefs, ctx.tool_version, ctx.renderer))

    if fragments is None:
        return built()
    made: list[Any] = [bank.title, ctx.tool_version]
    for s in plan_sections(bank):
        made.append([s.title, s.pick, s.shuffle, s.identifier_suffix, [[i, hrefs.get(i)] for i in s.item_ids]])
    key = fragments.data_key(b"assessment-test\0" + json_piece(made))
    return fragments.cached(key, built, partial(encode_piece, {}), _test_body)


def _test_body(raw: bytes) -> bytes:
    """A kept test file's bytes (:func:`_test_file`); ValueError for a damaged piece."""
    piece = decode_piece(raw)
    if piece is None:
        raise ValueError("damaged piece")
    return piece[1]


def item_href(item: AnyItem) -> str:
    return f"{ITEMS_DIR}/{item.id}.xml"


@dataclass
class ItemPiece:
    """What the package holds of one item: its file (deflated for the zip, or as it is), what
    building it collected, and its resource in the manifest (pretty-printed, as the manifest holds it)."""

    data: bytes | Deflated
    assets: ItemAssets
    resource: bytes


def _item_files(profile: Profile, bank: Bank, ctx: ExportContext, built: dict[str, Written], deflated: bool) -> list[ItemPiece]:
    """Each item's piece, in the bank's order: from the fragment cache when the export has one and
    the item is there (``ctx.fragments``), the others built here or over ``ctx.jobs`` processes (from
    :data:`PARALLEL_FROM` items to build)."""
    fragments = ctx.fragments
    form = "deflated" if deflated else "xml"
    keys = [fragments.key(item, "item", form) for item in bank.items] if fragments is not None else []
    pieces: list[ItemPiece | None] = [None] * len(bank.items)
    if fragments is not None:
        for i, (item, key) in enumerate(zip(bank.items, keys)):
            if item.id not in built:  # (a calculated item built to learn whether QTI can say it: its file is there)
                raw = fragments.get(key)
                if raw is not None:
                    pieces[i] = _decoded(raw)
    todo = [i for i, piece in enumerate(pieces) if piece is None]
    jobs = ctx.jobs if len(todo) >= PARALLEL_FROM else 1
    made = in_task_order(shared_out(partial(_build_items, profile, bank, ctx, built, deflated), [bank.items[i] for i in todo], jobs), len(todo))
    for i, piece in zip(todo, made):
        pieces[i] = piece
        if fragments is not None:
            fragments.put(keys[i], _encoded(piece))
    if fragments is not None:
        fragments.hits += len(pieces) - len(todo)
        fragments.misses += len(todo)
    return pieces  # type: ignore[return-value]


def _encoded(piece: ItemPiece) -> bytes:
    """An item's piece as a fragment: a JSON line, then its resource, then its file (or deflate stream)."""
    head: dict[str, Any] = {"m": sorted(piece.assets.media), "i": piece.assets.interactions, "n": piece.assets.notes, "r": len(piece.resource)}
    if isinstance(piece.data, Deflated):
        head.update(size=piece.data.size, crc=piece.data.crc)
        body = piece.data.stream
    else:
        body = piece.data
    return json_piece(head) + b"\n" + piece.resource + body


def _decoded(raw: bytes) -> ItemPiece | None:
    """The fragment :func:`_encoded` wrote, or None when it is damaged (the item is built again)."""
    try:
        line, _, rest = raw.partition(b"\n")
        head = from_json_piece(line)
        assets = ItemAssets(media=set(head["m"]), interactions=list(head["i"]), notes=list(head["n"]))
        if not all(isinstance(x, str) for x in [*assets.media, *assets.interactions, *assets.notes]):
            return None
        cut = head["r"]
        if not isinstance(cut, int) or not 0 < cut <= len(rest):
            return None
        resource, body = rest[:cut], rest[cut:]
        if not is_resource_text(resource):
            return None
        if "crc" in head:
            size, crc = head["size"], head["crc"]
            if not isinstance(size, int) or not isinstance(crc, int):
                return None
            return ItemPiece(Deflated(body, size, crc), assets, resource)
        return ItemPiece(body, assets, resource)
    except (ValueError, KeyError, TypeError):
        return None


def _build_items(
    profile: Profile, bank: Bank, ctx: ExportContext, built: dict[str, Written], deflated: bool, items: Sequence[AnyItem]
) -> list[ItemPiece]:
    """Each item's piece (its file deflated for the zip if asked; ``built``: items already written, by id)."""
    made: list[tuple[bytes | Deflated, ItemAssets]] = []
    for item in items:
        written = built.get(item.id) or _written(profile, ctx, item)
        data = written.data
        made.append((deflate(data, ZIP_LEVEL) if deflated else data, written.assets))
    try:
        resources = resource_texts(profile, bank, [ItemEntry(item, item_href(item), assets) for item, (_, assets) in zip(items, made)], ctx.tool_version, ctx.renderer)
    except ValueError as exc:
        raise ItembankError(f"item metadata cannot be written as XML ({exc}); validating the bank finds it") from None
    return [ItemPiece(data, assets, resource) for (data, assets), resource in zip(made, resources)]


def zip_files(files: dict[str, bytes], deflated: dict[str, Deflated] | None = None) -> bytes:
    """A deterministic zip of ``files`` and the files already ``deflated``: manifest first, then
    sorted paths, fixed timestamps and permissions."""
    members: dict[str, bytes | Deflated] = {**files, **(deflated or {})}
    order = [MANIFEST] + sorted(k for k in members if k != MANIFEST)
    return zip_bytes(((name, members[name]) for name in order), level=ZIP_LEVEL)


def check_files(profile: Profile, files: dict[str, bytes]) -> list[str]:
    """Validate every XML file of a package against the official schemas (ITEMBANK_XSD_DIR)."""
    from ..kit import xsd  # imported late: only --check and the tests need the schemas

    docs = {name: data for name, data in files.items() if name.endswith(".xml") and name != MANIFEST}
    problems = xsd.validate_files(docs, profile.key)
    problems += xsd.validate_files({MANIFEST: files[MANIFEST]}, f"{profile.key}-cp")
    return problems


def _at_source(bank: Bank, problem: str) -> str:
    """``items/ID.xml: line N: message`` said where the author can fix it: the item's file and line."""
    name, sep, rest = problem.partition(": ")
    if not (sep and name.startswith(f"{ITEMS_DIR}/") and name.endswith(".xml")):
        return problem
    item = bank.by_id.get(name[len(ITEMS_DIR) + 1 : -4])
    if item is None:
        return problem
    return f"{item_source(bank, item)}: [{item.id}] {rest} (in the export's {name})"


def item_source(bank: Bank, item: AnyItem) -> str:
    """``file:line`` of the item in the bank (the file as the user sees it, the line the item starts)."""
    from itembank.positions import PositionIndex

    path = bank.root / item.location.path
    line = item.location.line
    if item.location.index is not None:
        try:
            line = PositionIndex(path.read_text(encoding="utf-8-sig")).locate(("items", item.location.index))[0]
        except OSError:
            pass
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = str(path)
    return f"{shown}:{line}"


def _written(profile: Profile, ctx: ExportContext, item: AnyItem) -> Written:
    """The item's file; a calculated item's raises :class:`TemplateError` when QTI cannot hold it."""
    writer = ItemWriter(profile, ctx.renderer, item, ctx.tool_version)
    try:
        return Written(writer.write(), writer.assets)
    except TemplateError:  # (a ValueError: the caller says why the item is skipped)
        raise
    except ValueError as exc:  # text XML cannot hold (validation rule IB216 catches it first)
        raise ItembankError(f"item {item.id}: text cannot be written as XML ({exc}); validating the bank finds it") from None


def template_refused(profile: Profile, ctx: ExportContext, built: dict[str, Written]) -> Callable[[CalculatedItem], str | None]:
    """Why a calculated item cannot be written as QTI template processing (None: it can, and its
    file is kept in ``built``)."""

    def why_not(item: CalculatedItem) -> str | None:
        try:
            built[item.id] = _written(profile, ctx, item)
        except TemplateError as exc:
            return f"not written as QTI template processing: {exc}"
        return None

    return why_not


def export_package(profile: Profile, bank: Bank, ctx: ExportContext) -> ExportResult:
    result = ExportResult()
    # Calculated items: N concrete numeric items each with --expand-variants N (what the reference player
    # scores); else template processing, or skipped with the reason when QTI's expressions cannot say it.
    built: dict[str, Written] = {}
    bank, expanded = expand_bank(bank, ctx.options.expand_variants, TEMPLATES_NOT_WRITTEN, result, template_refused(profile, ctx, built))
    if not bank.items and result.skipped:
        raise ItembankError(f"{profile.key}: every item was skipped, so there is no package to write: {result.skipped[0][1]}")
    # A zip nobody reads before it is written: the items are deflated where they are built.
    deflated: dict[str, Deflated] | None = None if ctx.options.unzipped or ctx.options.check else {}
    files = build_files(profile, bank, ctx, result, built, deflated)
    templated = [i.id for i in bank.items if isinstance(i, CalculatedItem)]
    if templated:
        shown = ", ".join(templated[:10]) + (" ..." if len(templated) > 10 else "")
        result.notes.append(
            f"{len(templated)} calculated item(s) written as QTI template processing (the delivery system draws the "
            f"values; few run templates: --expand-variants N writes N concrete numeric items instead): {shown}"
        )
    count_expanded(result, expanded, ctx.options.expand_variants)
    if ctx.options.check:
        problems = [_at_source(bank, p) for p in check_files(profile, files)]
        if problems:
            shown = "\n  ".join(problems[:50])
            more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
            raise ItembankError(f"{profile.key} package is not valid against the official schemas:\n  {shown}{more}")
        result.notes.append(f"--check: {len(files)} files, every XML file valid against the {profile.key} schemas")
    if ctx.options.unzipped:
        result.files = files
    else:
        result.data = zip_files(files, deflated)
    return result
