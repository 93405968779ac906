"""The IMS content-package manifest: resources, dependencies, LOM and QTI metadata."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from lxml import etree

from itembank.model import (
    AnyItem,
    Bank,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    TrueFalseItem,
)
from itembank.render import Renderer


from .body import ItemAssets
from .fields import boolean, has_solution, one_line, unique
from .shapes import shared
from .profiles import LOM_DIFFICULTY, LOM_NS, TEST_FILE, TOOL_NAME, TOOL_VENDOR, XSI_NS, Profile

# --- the manifest -----------------------------------------------------------------------------


@dataclass
class ItemEntry:
    item: AnyItem
    href: str
    assets: ItemAssets


#: Item status -> LOM lifeCycle status (LOMv1.0 vocabulary).
LOM_STATUS = {"draft": "draft", "review": "revised", "approved": "final", "retired": "unavailable"}


def _lom_string(parent: etree._Element, tag: str, text: str) -> None:
    node = etree.SubElement(parent, f"{{{LOM_NS}}}{tag}")
    etree.SubElement(node, f"{{{LOM_NS}}}string").text = text


def _vocab(parent: etree._Element, tag: str, value: str) -> None:
    node = etree.SubElement(parent, f"{{{LOM_NS}}}{tag}")
    etree.SubElement(node, f"{{{LOM_NS}}}source").text = "LOMv1.0"
    etree.SubElement(node, f"{{{LOM_NS}}}value").text = value


def item_lom(profile: Profile, item: AnyItem, bank_title: str, renderer: Renderer) -> etree._Element:
    """LOM for one item: identifier, title, description, keywords, status, difficulty, objectives.

    A copy of the tree built for the item's shape (the bank, how many keywords and objectives, its
    status and difficulty; kept as the item's shared declarations are, :func:`.shapes.shared`), the
    item's own texts put in: building every element for each item was about as much as its QTI
    metadata, which is copied the same way."""
    return _fill_lom(_empty_lom(profile, _lom_shape(item, bank_title)), item, renderer)


def _empty_lom(profile: Profile, shape: tuple[str, int, str, str | None, int]) -> etree._Element:
    """A copy of the LOM tree of ``shape`` (:func:`_lom_shape`), its item's texts not in yet."""
    return shared(profile, ("lom", *shape), partial(_lom_tree, *shape))


def _lom_shape(item: AnyItem, bank_title: str) -> tuple[str, int, str, str | None, int]:
    """What an item's LOM tree is made of but its texts (the arguments of :func:`_lom_tree`)."""
    difficulty = LOM_DIFFICULTY.get(item.difficulty) if item.difficulty is not None else None
    return (bank_title, len(item.tags), LOM_STATUS[item.status], difficulty, len(item.objectives))


def _fill_lom(lom: etree._Element, item: AnyItem, renderer: Renderer) -> etree._Element:
    """The item's texts put in the empty places of a copy of its shape's LOM tree."""
    general = lom[0]
    general[0][1].text = item.id
    general[1][0].text = one_line(item.name)
    general[2][0].text = renderer.one_line(item.stem)[:1000]
    for k, tag in enumerate(item.tags):
        general[3 + k][0].text = tag
    if item.objectives:
        for classification, objective in zip(list(lom)[-len(item.objectives) :], item.objectives):
            classification[1][0].text = objective
    return lom


def _lom_tree(bank_title: str, keywords: int, status: str, difficulty: str | None, objectives: int) -> etree._Element:
    """An item's LOM tree with empty places for its texts (:func:`item_lom` fills them)."""
    lom = etree.Element(f"{{{LOM_NS}}}lom")
    general = etree.SubElement(lom, f"{{{LOM_NS}}}general")
    ident = etree.SubElement(general, f"{{{LOM_NS}}}identifier")
    etree.SubElement(ident, f"{{{LOM_NS}}}catalog").text = bank_title
    etree.SubElement(ident, f"{{{LOM_NS}}}entry")
    _lom_string(general, "title", "")
    _lom_string(general, "description", "")
    for _ in range(keywords):
        _lom_string(general, "keyword", "")
    # the item's status as LOM's lifeCycle status (draft, revised, final, unavailable)
    _vocab(etree.SubElement(lom, f"{{{LOM_NS}}}lifeCycle"), "status", status)
    if difficulty is not None:
        educational = etree.SubElement(lom, f"{{{LOM_NS}}}educational")
        _vocab(educational, "difficulty", difficulty)
    for _ in range(objectives):
        classification = etree.SubElement(lom, f"{{{LOM_NS}}}classification")
        _vocab(classification, "purpose", "educational objective")
        _lom_string(classification, "description", "")
    return lom


def item_qti_metadata(profile: Profile, entry: ItemEntry, tool_version: str) -> etree._Element:
    """The item's ``qtiMetadata``: a copy of the one built for its shape (interactions, feedback,
    solution), which most items of a bank share (building it was ~4% of a QTI export's items)."""
    key = _qti_metadata_key(profile, entry, tool_version)
    return shared(profile, ("qtiMetadata", *key), partial(_qti_metadata, profile, *key))


def _qti_metadata_key(profile: Profile, entry: ItemEntry, tool_version: str) -> tuple[tuple[str, ...], bool, bool, str]:
    """What an item's ``qtiMetadata`` says (the arguments of :func:`_qti_metadata` after the profile)."""
    item = entry.item
    interactions = tuple(entry.assets.interactions)
    has_feedback = has_solution(item) or bool(item.hints) or item.type == "flashcard" or _has_option_feedback(item)
    solution = item.type != "essay" or (isinstance(item, EssayItem) and bool(item.sample_answer))
    return (interactions, has_feedback, solution, tool_version)


def _qti_metadata(profile: Profile, interactions: tuple[str, ...], has_feedback: bool, solution: bool, tool_version: str) -> etree._Element:
    md = etree.Element(f"{{{profile.md_ns}}}qtiMetadata")

    def add(tag: str, text: str) -> None:
        etree.SubElement(md, f"{{{profile.md_ns}}}{tag}").text = text

    add("itemTemplate", "false")
    add("timeDependent", "false")
    add("composite", boolean(len(set(interactions)) > 1 or len(interactions) > 1))
    for kind in unique(interactions):
        add("interactionType", kind)
    add("feedbackType", "nonadaptive" if has_feedback else "none")
    add("solutionAvailable", boolean(solution))
    add("toolName", TOOL_NAME)
    if tool_version:
        add("toolVersion", tool_version)
    add("toolVendor", TOOL_VENDOR)
    return md


def _has_option_feedback(item: AnyItem) -> bool:
    if isinstance(item, ChoiceItem):
        return any(o.feedback for o in item.options)
    if isinstance(item, TrueFalseItem):
        return bool(item.true_feedback or item.false_feedback)
    if isinstance(item, ClozeItem):
        return any(b.feedback for b in item.blanks)
    return False


def media_id(path: str) -> str:
    return "MEDIA-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:16]


def item_resource_id(item_id: str) -> str:
    return f"ITEM-{item_id}"


def _item_resource(parent: etree._Element, p: Profile, bank: Bank, entry: ItemEntry, tool_version: str, renderer: Renderer) -> None:
    """An item's ``<resource>``: its QTI metadata and LOM, its file and the media it depends on."""
    # One copy of the resource built for the item's shape (its metadata and LOM as item_qti_metadata
    # and item_lom make them), its own texts put in: building its elements was a tenth of an export.
    item = entry.item
    qti_md, lom = _qti_metadata_key(p, entry, tool_version), _lom_shape(item, bank.title)
    res = shared(p, ("resource", qti_md, lom), lambda: _resource_tree(p, entry, tool_version, bank.title, renderer))
    res.set("identifier", item_resource_id(item.id))
    res.set("href", entry.href)
    _fill_lom(res[0][1], item, renderer)
    res[1].set("href", entry.href)
    for path in sorted(entry.assets.media):
        etree.SubElement(res, f"{{{p.cp_ns}}}dependency", identifierref=media_id(path))
    parent.append(res)


def _resource_tree(p: Profile, entry: ItemEntry, tool_version: str, bank_title: str, renderer: Renderer) -> etree._Element:
    """An item's ``<resource>`` with its shape's metadata and LOM and empty places for its texts."""
    cp = p.cp_ns
    res = etree.Element(f"{{{cp}}}resource", identifier="", type=p.item_resource, href="")
    md = etree.SubElement(res, f"{{{cp}}}metadata")
    md.append(item_qti_metadata(p, entry, tool_version))
    md.append(_empty_lom(p, _lom_shape(entry.item, bank_title)))
    etree.SubElement(res, f"{{{cp}}}file", href="")
    return res


#: Where the items' resources go in the manifest's skeleton (a comment: text and attributes escape ``<``).
_ITEMS_HERE = "itembank:items"
#: The start of a resource's first line in the pretty-printed manifest (resources are at depth 2).
_RESOURCE_LINE = b"\n    <resource "
#: Item resources pretty-printed together (a tree of them at a time: 100,000 at once would be ~0.5 GB).
_CHUNK = 2000


def manifest_pieces(
    profile: Profile, bank: Bank, entries: list[ItemEntry], media: list[str], tool_version: str, renderer: Renderer, resources: list[bytes]
) -> list[bytes]:
    """The manifest's bytes in pieces, one after the other: the skeleton (everything but the items'
    resources) up to a comment where the resources go, the items' ``resources`` (:func:`resource_texts`,
    in ``entries``' order), the rest of the skeleton.  A zip deflates them as they are
    (``kit.zip.deflate_pieces``): no copy of the whole manifest is made."""
    skeleton = to_pretty_bytes(build_manifest(profile, bank, entries, media, tool_version, renderer, items=False))
    marker = f"    <!--{_ITEMS_HERE}-->\n".encode()
    head, found, tail = skeleton.partition(marker)
    if not found or len(resources) != len(entries):
        raise AssertionError("the manifest skeleton lost its place for the items")
    return [head, *resources, tail]


def resource_texts(profile: Profile, bank: Bank, entries: list[ItemEntry], tool_version: str, renderer: Renderer) -> list[bytes]:
    """Each item's resource as the whole manifest pretty-prints it: a chunk of resources at a time,
    pretty-printed inside the manifest's namespaces at the same depth, cut at the resources' first
    lines (a text cannot hold a line break followed by ``<``: it escapes ``<``)."""
    out: list[bytes] = []
    for at in range(0, len(entries), _CHUNK):
        chunk = entries[at : at + _CHUNK]
        wrapper = etree.Element(f"{{{profile.cp_ns}}}manifest", nsmap=manifest_nsmap(profile))
        resources = etree.SubElement(wrapper, f"{{{profile.cp_ns}}}resources")
        for entry in chunk:
            _item_resource(resources, profile, bank, entry, tool_version, renderer)
        written = to_pretty_bytes(wrapper)
        body = written[written.index(_RESOURCE_LINE) : written.rindex(b"\n  </resources>")]
        parts = body.split(_RESOURCE_LINE)[1:]
        if len(parts) != len(chunk):
            raise AssertionError("a manifest resource was not cut where it starts")
        out += [_RESOURCE_LINE[1:] + part + b"\n" for part in parts]
    return out


def is_resource_text(text: bytes) -> bool:
    """Whether ``text`` is shaped as :func:`resource_texts` makes one (for a piece read from a cache)."""
    return text.startswith(_RESOURCE_LINE[1:]) and text.endswith(b"</resource>\n") and text.count(_RESOURCE_LINE) == 0


def to_pretty_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def manifest_nsmap(p: Profile) -> dict[Any, str]:
    # extra_manifest_ns: QTI 2.1 declares its item namespace too, which is how Canvas recognizes QTI 2.
    return {None: p.cp_ns, "imsmd": LOM_NS, "qtimd": p.md_ns, "xsi": XSI_NS, **p.extra_manifest_ns}


def build_manifest(
    profile: Profile, bank: Bank, entries: list[ItemEntry], media: list[str], tool_version: str, renderer: Renderer, *, items: bool = True
) -> etree._Element:
    """The package's manifest as a tree (``items=False``: a comment where the items' resources go,
    for :func:`manifest_pieces`)."""
    p = profile
    root = etree.Element(f"{{{p.cp_ns}}}manifest", nsmap=manifest_nsmap(p))
    root.set("identifier", "MANIFEST-" + hashlib.sha256(bank.title.encode("utf-8")).hexdigest()[:16])
    root.set(f"{{{XSI_NS}}}schemaLocation", " ".join([
        p.cp_ns, p.cp_schema_location,
        LOM_NS, "http://www.imsglobal.org/xsd/imsmd_loose_v1p3p2.xsd",
        p.md_ns, p.md_schema_location,
    ]))
    cp = p.cp_ns
    metadata = etree.SubElement(root, f"{{{cp}}}metadata")
    etree.SubElement(metadata, f"{{{cp}}}schema").text = p.package_schema
    etree.SubElement(metadata, f"{{{cp}}}schemaversion").text = p.package_schema_version
    lom = etree.SubElement(metadata, f"{{{LOM_NS}}}lom")
    general = etree.SubElement(lom, f"{{{LOM_NS}}}general")
    _lom_string(general, "title", one_line(bank.title))
    etree.SubElement(root, f"{{{cp}}}organizations")
    resources = etree.SubElement(root, f"{{{cp}}}resources")

    test = etree.SubElement(resources, f"{{{cp}}}resource", identifier="TEST-1", type=p.test_resource, href=TEST_FILE)
    etree.SubElement(test, f"{{{cp}}}file", href=TEST_FILE)
    for entry in entries:
        etree.SubElement(test, f"{{{cp}}}dependency", identifierref=item_resource_id(entry.item.id))

    if items:
        for entry in entries:
            _item_resource(resources, p, bank, entry, tool_version, renderer)
    else:
        resources.append(etree.Comment(_ITEMS_HERE))

    for path in media:
        res = etree.SubElement(resources, f"{{{cp}}}resource", identifier=media_id(path), type="webcontent", href=quote(path))
        etree.SubElement(res, f"{{{cp}}}file", href=quote(path))
    return root

