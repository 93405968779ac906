"""The IMS content-package manifest: resources, dependencies, LOM and QTI metadata."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
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

if TYPE_CHECKING:
    from itembank.fragments import Fragments

from .body import ItemAssets
from .item import _bool, _one_line, _unique, has_solution
from .profiles import LOM_DIFFICULTY, LOM_NS, TEST_FILE, TOOL_NAME, TOOL_VENDOR, XSI_NS, Profile

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)

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


def item_lom(item: AnyItem, bank_title: str, renderer: Renderer) -> etree._Element:
    """LOM for one item: identifier, title, description, keywords, status, difficulty, objectives."""
    lom = etree.Element(f"{{{LOM_NS}}}lom")
    general = etree.SubElement(lom, f"{{{LOM_NS}}}general")
    ident = etree.SubElement(general, f"{{{LOM_NS}}}identifier")
    etree.SubElement(ident, f"{{{LOM_NS}}}catalog").text = bank_title
    etree.SubElement(ident, f"{{{LOM_NS}}}entry").text = item.id
    _lom_string(general, "title", _one_line(item.name))
    _lom_string(general, "description", _one_line(renderer.plain(item.stem))[:1000])
    for tag in item.tags:
        _lom_string(general, "keyword", tag)
    # the item's status as LOM's lifeCycle status (draft, revised, final, unavailable)
    _vocab(etree.SubElement(lom, f"{{{LOM_NS}}}lifeCycle"), "status", LOM_STATUS[item.status])
    if item.difficulty in LOM_DIFFICULTY:
        educational = etree.SubElement(lom, f"{{{LOM_NS}}}educational")
        _vocab(educational, "difficulty", LOM_DIFFICULTY[item.difficulty])
    for objective in item.objectives:
        classification = etree.SubElement(lom, f"{{{LOM_NS}}}classification")
        _vocab(classification, "purpose", "educational objective")
        _lom_string(classification, "description", objective)
    return lom


def item_qti_metadata(profile: Profile, entry: ItemEntry, tool_version: str) -> etree._Element:
    md = etree.Element(f"{{{profile.md_ns}}}qtiMetadata")
    item = entry.item

    def add(tag: str, text: str) -> None:
        etree.SubElement(md, f"{{{profile.md_ns}}}{tag}").text = text

    add("itemTemplate", "false")
    add("timeDependent", "false")
    add("composite", _bool(len(set(entry.assets.interactions)) > 1 or len(entry.assets.interactions) > 1))
    for kind in _unique(entry.assets.interactions):
        add("interactionType", kind)
    has_feedback = has_solution(item) or bool(item.hints) or item.type == "flashcard" or _has_option_feedback(item)
    add("feedbackType", "nonadaptive" if has_feedback else "none")
    solution = item.type != "essay" or (isinstance(item, EssayItem) and bool(item.sample_answer))
    add("solutionAvailable", _bool(solution))
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
    cp = p.cp_ns
    res = etree.SubElement(parent, f"{{{cp}}}resource", identifier=item_resource_id(entry.item.id), type=p.item_resource, href=entry.href)
    md = etree.SubElement(res, f"{{{cp}}}metadata")
    md.append(item_qti_metadata(p, entry, tool_version))
    md.append(item_lom(entry.item, bank.title, renderer))
    etree.SubElement(res, f"{{{cp}}}file", href=entry.href)
    for path in sorted(entry.assets.media):
        etree.SubElement(res, f"{{{cp}}}dependency", identifierref=media_id(path))


_RESOURCE_END = "</resource>"


def _cached_resources(
    nsmap: dict[Any, str], p: Profile, bank: Bank, entries: list[ItemEntry], tool_version: str, renderer: Renderer, fragments: Fragments
) -> list[etree._Element]:
    """The items' ``<resource>`` elements, those of unchanged items from the fragment cache.

    A resource is kept as its XML written inside the manifest's namespaces (so without declarations
    of its own), and all the kept ones are parsed back in one go inside the same namespaces: the
    elements are those :func:`_item_resource` makes, and the manifest's bytes are the same.  A
    resource holds no ``</resource>`` but its end (text and attributes escape ``<``), which is where
    the written ones are cut apart."""
    keys = [fragments.key(e.item, "resource", e.href, *sorted(e.assets.media), "|", *e.assets.interactions) for e in entries]
    texts: list[str | None] = []
    for key in keys:
        raw = fragments.get(key)
        texts.append(raw.decode("utf-8", "surrogatepass") if raw is not None and raw.endswith(_RESOURCE_END.encode()) else None)
    todo = [i for i, t in enumerate(texts) if t is None]
    if todo:
        made = etree.Element("wrapper", nsmap=nsmap)
        for i in todo:
            _item_resource(made, p, bank, entries[i], tool_version, renderer)
        written = etree.tostring(made, encoding="unicode")
        inner = written[written.index(">") + 1 : written.rindex("</wrapper>")]
        parts = [part + _RESOURCE_END for part in inner.split(_RESOURCE_END)[:-1]]
        if len(parts) != len(todo):  # cannot happen (see above); the elements are used as they are
            return list(made)
        for i, part in zip(todo, parts):
            texts[i] = part
            fragments.put(keys[i], part.encode("utf-8", "surrogatepass"))
    fragments.hits += len(entries) - len(todo)
    fragments.misses += len(todo)
    declared = etree.tostring(etree.Element("wrapper", nsmap=nsmap), encoding="unicode")  # <wrapper xmlns...="..."/>
    try:
        whole = etree.fromstring(f"{declared[:-2]}>{''.join(t for t in texts if t is not None)}</wrapper>", _PARSER)
    except etree.XMLSyntaxError:  # a damaged piece: made again, all of them
        made = etree.Element("wrapper", nsmap=nsmap)
        for entry in entries:
            _item_resource(made, p, bank, entry, tool_version, renderer)
        return list(made)
    return list(whole)


def build_manifest(
    profile: Profile, bank: Bank, entries: list[ItemEntry], media: list[str], tool_version: str, renderer: Renderer, fragments: Fragments | None = None
) -> etree._Element:
    """The package's manifest (``fragments``: the export's fragment cache, for the items' resources)."""
    p = profile
    # extra_manifest_ns: QTI 2.1 declares its item namespace too, which is how Canvas recognizes QTI 2.
    nsmap = {None: p.cp_ns, "imsmd": LOM_NS, "qtimd": p.md_ns, "xsi": XSI_NS, **p.extra_manifest_ns}  # type: ignore[misc]  # lxml-stubs: None is the default namespace's key
    root = etree.Element(f"{{{p.cp_ns}}}manifest", nsmap=nsmap)
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
    _lom_string(general, "title", _one_line(bank.title))
    etree.SubElement(root, f"{{{cp}}}organizations")
    resources = etree.SubElement(root, f"{{{cp}}}resources")

    test = etree.SubElement(resources, f"{{{cp}}}resource", identifier="TEST-1", type=p.test_resource, href=TEST_FILE)
    etree.SubElement(test, f"{{{cp}}}file", href=TEST_FILE)
    for entry in entries:
        etree.SubElement(test, f"{{{cp}}}dependency", identifierref=item_resource_id(entry.item.id))

    if fragments is None:
        for entry in entries:
            _item_resource(resources, p, bank, entry, tool_version, renderer)
    else:
        resources.extend(_cached_resources(nsmap, p, bank, entries, tool_version, renderer, fragments))

    for path in media:
        res = etree.SubElement(resources, f"{{{cp}}}resource", identifier=media_id(path), type="webcontent", href=quote(path))
        etree.SubElement(res, f"{{{cp}}}file", href=quote(path))
    return root

