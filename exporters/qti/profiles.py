"""QTI 2.1 and 3.0 as one model with two spellings: the version profiles, namespaces and package names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
TOOL_NAME = "itembank"
TOOL_VENDOR = "itembank"


#: LOM educational/difficulty vocabulary (LOMv1.0) for the bank's three levels.
LOM_DIFFICULTY = {"easy": "easy", "medium": "medium", "hard": "difficult"}

ITEMS_DIR = "items"
TEST_FILE = "assessment.xml"
MANIFEST = "imsmanifest.xml"


# --- version profiles -------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


@lru_cache(maxsize=None)
def _qualified(ns: str, kebab: bool, name: str) -> str:
    local = f"qti-{_kebab(name)}" if kebab else name
    return f"{{{ns}}}{local}"


@dataclass(frozen=True)
class Profile:
    """Everything that differs between QTI 2.1 and 3.0 output."""

    key: str  # format name and schema key in kit.xsd: "qti21" / "qti30"
    ns: str
    schema_location: str
    cp_ns: str
    cp_schema_location: str
    md_ns: str
    md_schema_location: str
    item_resource: str
    test_resource: str
    package_schema: str
    package_schema_version: str
    kebab: bool
    extra_manifest_ns: dict[str, str] = field(default_factory=dict)
    #: Qualified names by 2.1 spelling and attribute names by 2.1 spelling, filled as they are asked for.
    _tags: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _attrs: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def tag(self, name: str) -> str:
        """The qualified element name for a QTI element given in its 2.1 spelling."""
        return _qualified(self.ns, self.kebab, name)

    def html(self, name: str) -> str:
        """XHTML elements keep their names in both versions, in the QTI namespace."""
        return f"{{{self.ns}}}{name}"

    def attr(self, name: str) -> str:
        return _kebab(name) if self.kebab else name

    def el(self, parent: etree._Element | None, name: str, text: str | None = None, **attrs: str) -> etree._Element:
        """A QTI element (2.1 spelling) with attributes (2.1 spelling), appended to ``parent`` if given."""
        # The hottest call of a QTI export: names come from the profile's tables, attributes are
        # given to lxml in one go, in the order written.
        tag = self._tags.get(name)
        if tag is None:
            tag = self._tags[name] = _qualified(self.ns, self.kebab, name)
        if attrs and self.kebab:
            names = self._attrs
            attrs = {names.get(key) or names.setdefault(key, _kebab(key)): value for key, value in attrs.items()}
        node = etree.Element(tag, attrs) if parent is None else etree.SubElement(parent, tag, attrs)
        if text is not None:
            node.text = text
        return node

    def content(self, parent: etree._Element) -> etree._Element:
        """Where rubric/modal-feedback content goes: 3.0 wants a ``qti-content-body`` wrapper."""
        return self.el(parent, "contentBody") if self.kebab else parent


QTI21 = Profile(
    key="qti21",
    ns="http://www.imsglobal.org/xsd/imsqti_v2p1",
    schema_location="http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1p2.xsd",
    cp_ns="http://www.imsglobal.org/xsd/imscp_v1p1",
    cp_schema_location="http://www.imsglobal.org/xsd/qti/qtiv2p1/qtiv2p1_imscpv1p2_v1p0.xsd",
    md_ns="http://www.imsglobal.org/xsd/imsqti_metadata_v2p1",
    md_schema_location="http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_metadata_v2p1p1.xsd",
    item_resource="imsqti_item_xmlv2p1",
    test_resource="imsqti_test_xmlv2p1",
    # Canvas treats a package as QTI 2 only with this <schema> (or the QTI 2.1 namespace) in the manifest.
    package_schema="QTIv2.1 Package",
    package_schema_version="1.0.0",
    kebab=False,
    extra_manifest_ns={"imsqti": "http://www.imsglobal.org/xsd/imsqti_v2p1"},
)

QTI30 = Profile(
    key="qti30",
    ns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0",
    schema_location="https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0p1_v1p0.xsd",
    cp_ns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1",
    cp_schema_location="https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd",
    md_ns="http://www.imsglobal.org/xsd/imsqti_metadata_v3p0",
    md_schema_location="https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_metadatav3p0_v1p0.xsd",
    item_resource="imsqti_item_xmlv3p0",
    test_resource="imsqti_test_xmlv3p0",
    package_schema="QTI Package",
    package_schema_version="3.0.0",
    kebab=True,
)

