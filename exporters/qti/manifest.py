"""The IMS content-package manifest: resources, dependencies, LOM and QTI metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
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


from ..kit.escape import attr_markup, finalize
from .body import ItemAssets
from .fields import boolean, has_solution, one_line, unique
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


@dataclass(slots=True)
class Resource:
    """What an item's ``<resource>`` in the manifest says (``templates/resource.xml.j2``): its
    identifier, type and file; its QTI metadata (interactions, feedback, solution, the tool); its
    LOM (the bank as catalog, the item's id, title, description, keywords, status, difficulty and
    objectives); the media it depends on."""

    identifier: str
    type: str
    href: str
    composite: str
    interactions: list[str]
    feedback_type: str
    solution: str
    tool_version: str
    catalog: str
    entry: str
    title: str
    description: str
    keywords: tuple[str, ...]
    status: str
    difficulty: str | None
    objectives: tuple[str, ...]
    dependencies: list[str]
    tool_name: str = TOOL_NAME
    tool_vendor: str = TOOL_VENDOR


def item_resource(profile: Profile, entry: ItemEntry, bank_title: str, tool_version: str, renderer: Renderer) -> Resource:
    """What the item's resource says: its QTI metadata from what writing it collected (its
    interactions), its LOM from the item (LOM's vocabularies: :data:`LOM_STATUS`, ``LOM_DIFFICULTY``)."""
    item = entry.item
    interactions = entry.assets.interactions
    has_feedback = has_solution(item) or bool(item.hints) or item.type == "flashcard" or _has_option_feedback(item)
    solution = item.type != "essay" or (isinstance(item, EssayItem) and bool(item.sample_answer))
    return Resource(
        identifier=item_resource_id(item.id),
        type=profile.item_resource,
        href=entry.href,
        composite=boolean(len(interactions) > 1),
        interactions=unique(interactions),
        feedback_type="nonadaptive" if has_feedback else "none",
        solution=boolean(solution),
        tool_version=tool_version,
        catalog=bank_title,
        entry=item.id,
        title=one_line(item.name),
        description=renderer.one_line(item.stem)[:1000],
        keywords=item.tags,
        status=LOM_STATUS[item.status],
        difficulty=LOM_DIFFICULTY.get(item.difficulty) if item.difficulty is not None else None,
        objectives=item.objectives,
        dependencies=[media_id(path) for path in sorted(entry.assets.media)],
    )


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


#: Where the items' resources go in the manifest's skeleton (a comment: text and attributes escape ``<``).
_ITEMS_HERE = "itembank:items"
#: The start of a resource's first line in the pretty-printed manifest (resources are at depth 2).
_RESOURCE_LINE = b"\n    <resource "
#: The items' resources' template (a macro ``resource``, given a :class:`Resource`).
RESOURCE_TEMPLATE = Path(__file__).with_name("templates") / "resource.xml.j2"


def manifest_pieces(
    profile: Profile, bank: Bank, entries: list[ItemEntry], media: list[str], tool_version: str, renderer: Renderer, resources: list[bytes]
) -> list[bytes]:
    """The manifest's bytes in pieces, one after the other: the skeleton (everything but the items'
    resources) up to a comment where the resources go, the items' ``resources`` (:func:`resource_texts`,
    in ``entries``' order), the rest of the skeleton.  A zip deflates them as they are
    (``kit.zip.deflate_pieces``): no copy of the whole manifest is made."""
    skeleton = to_pretty_bytes(build_manifest(profile, bank, entries, media))
    marker = f"    <!--{_ITEMS_HERE}-->\n".encode()
    head, found, tail = skeleton.partition(marker)
    if not found or len(resources) != len(entries):
        raise AssertionError("the manifest skeleton lost its place for the items")
    return [head, *resources, tail]


@lru_cache(maxsize=1)
def _resource_macro() -> Callable[[Resource], str]:
    """The macro of :data:`RESOURCE_TEMPLATE` (its environment made once a process)."""
    import jinja2  # (by the processes that write resources: a build's parent loads every format first)

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: RESOURCE_TEMPLATE.read_text(encoding="utf-8")),
        autoescape=False,  # every value is escaped by finalize or the attr filter
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
        keep_trailing_newline=True,
    )
    env.filters["attr"] = attr_markup
    macro: Callable[[Resource], str] = env.get_template(RESOURCE_TEMPLATE.name).module.resource  # type: ignore[attr-defined]
    return macro


def resource_text(resource: Resource) -> bytes:
    """One item's resource as the pretty-printed manifest holds it (:data:`RESOURCE_TEMPLATE`): its
    lines at depth 2, the line break after the last.  ValueError for a text XML cannot hold."""
    return _resource_macro()(resource)[1:].encode("utf-8")  # (the macro's text starts with a line break)


def resource_texts(profile: Profile, bank: Bank, entries: list[ItemEntry], tool_version: str, renderer: Renderer) -> list[bytes]:
    """Each item's resource as the pretty-printed manifest holds it (:func:`resource_text`)."""
    return [resource_text(item_resource(profile, entry, bank.title, tool_version, renderer)) for entry in entries]


def is_resource_text(text: bytes) -> bool:
    """Whether ``text`` is shaped as :func:`resource_texts` makes one (for a piece read from a cache)."""
    return text.startswith(_RESOURCE_LINE[1:]) and text.endswith(b"</resource>\n") and text.count(_RESOURCE_LINE) == 0


def to_pretty_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def manifest_nsmap(p: Profile) -> dict[Any, str]:
    # extra_manifest_ns: QTI 2.1 declares its item namespace too, which is how Canvas recognizes QTI 2.
    return {None: p.cp_ns, "imsmd": LOM_NS, "qtimd": p.md_ns, "xsi": XSI_NS, **p.extra_manifest_ns}


def build_manifest(profile: Profile, bank: Bank, entries: list[ItemEntry], media: list[str]) -> etree._Element:
    """The package's manifest as a tree, a comment where the items' resources go (they are written
    by :func:`resource_texts`; :func:`manifest_pieces` puts them there)."""
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

    resources.append(etree.Comment(_ITEMS_HERE))

    for path in media:
        res = etree.SubElement(resources, f"{{{cp}}}resource", identifier=media_id(path), type="webcontent", href=quote(path))
        etree.SubElement(res, f"{{{cp}}}file", href=quote(path))
    return root

