"""Safe XML parsing for importers: no DTD, no entity expansion, no network, no huge trees.

Every importer parses XML through :func:`parse_xml`, so an XXE or "billion laughs" file is refused
with one clear message, and a malformed file is reported with its line and column.
"""

from __future__ import annotations

from lxml import etree

from ..base import BadInput

#: Any text node larger than this (after base64 decoding checks etc.) is suspicious; lxml's own
#: limit without huge_tree is 10 MB per text node, which we keep.
_PARSER_KW = dict(
    resolve_entities=False,
    no_network=True,
    huge_tree=False,
    load_dtd=False,
    dtd_validation=False,
    remove_comments=False,
)


def _parser(remove_blank_text: bool = False) -> etree.XMLParser:
    return etree.XMLParser(remove_blank_text=remove_blank_text, **_PARSER_KW)  # type: ignore[arg-type]


def parse_xml(data: bytes, origin: str) -> etree._Element:
    """Parse ``data`` (bytes, encoding from the XML declaration) and return the root element.

    Refuses documents that declare a DTD with entities (XXE, entity expansion), external DTDs, and
    malformed XML; the message names ``origin`` and the line/column.
    """
    head = data[:65536]
    if b"<!ENTITY" in head or b"<!entity" in head:
        raise BadInput(origin, "refused: the XML declares entities (<!ENTITY>); question files never need them (XXE or entity-expansion attack?)")
    if b"<!DOCTYPE" in head:
        # A bare DOCTYPE without internal subset is harmless (QTI 1.2 files from Respondus carry one);
        # an internal subset or SYSTEM identifier is refused.
        start = head.index(b"<!DOCTYPE")
        end = head.find(b">", start)
        decl = head[start : end + 1] if end != -1 else head[start:]
        if b"[" in decl:
            raise BadInput(origin, "refused: the XML has an internal DTD subset; question files never need one (entity-expansion attack?)")
    try:
        tree = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, col = (exc.position if exc.position else (exc.lineno or 0, 0))
        msg = str(exc.msg if hasattr(exc, "msg") else exc)
        if "entity" in msg.lower() and ("amplification" in msg.lower() or "loop" in msg.lower()):
            raise BadInput(f"{origin}:{line}", f"refused: entity expansion ({msg})") from None
        raise BadInput(f"{origin}:{line}:{col}", f"malformed XML: {msg}") from None
    if tree is None:
        raise BadInput(origin, "empty XML document")
    for el in tree.iter(etree.Entity):  # entity references left unexpanded: refuse, never guess
        raise BadInput(f"{origin}:{el.sourceline}", f"refused: undefined entity reference {el.text}")
    return tree


def line_of(el: etree._Element) -> int:
    line = el.sourceline
    return line if isinstance(line, int) else 0
