"""Namespaces, folder names and identifiers of a Canvas QTI 1.2 package."""

from __future__ import annotations

import hashlib
import zlib
from urllib.parse import quote

from itembank.model import (
    Bank,
    Item,
)

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CANVAS_NS = "http://canvas.instructure.com/xsd/cccv1p0"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_SCHEMA = f"{QTI_NS} http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
LOR = "associatedcontent/imscc_xmlv1p1/learning-application-resource"
FILEBASE = "$IMS-CC-FILEBASE$"
WEB_RESOURCES = "web_resources"
BANK_FOLDER = "non_cc_assessments"
# Deflate level 2 (zlib-ng's, ``kit.zip``): the 100 MB of XML of a 10,000-question package deflate in
# 0.31 s of CPU into 15.5 MB (level 1: 0.19 s but 19.6 MB, static codes only; level 3: 0.49 s, 14.1 MB).
ZIP_LEVEL = 2


#: What a manifest href leaves as it is besides letters, digits and "-._~": the rest of RFC 3986's
#: path characters but "+" (Canvas reads an href with CGI.unescape, which takes "+" for a space).
_HREF_SAFE = "!$&'()*,;=:@"


def package_href(path: str) -> str:
    """The href of the package file ``path`` (a zip member's name) in imsmanifest.xml: a relative URI
    reference (IMS CP), each ASCII character a path cannot hold as it is percent-encoded ("C#.png" ->
    "C%23.png": "#" would start a fragment, "?" a query, "%" an escape), a non-ASCII one written as
    it is (an IRI).  That is how Canvas reads it back to the file's name: its QTI converter
    (QTIMigrationTool) finds the file by decoding %XX one byte to one character, so an encoded
    UTF-8 name names no file, and Canvas then takes the name with CGI.unescape, as it does the
    question HTML's $IMS-CC-FILEBASE$ references (CanvasHtml.package_image), which must match it."""
    return "/".join("".join(c if ord(c) > 127 else quote(c, safe=_HREF_SAFE) for c in seg) for seg in path.split("/"))


# --- identifiers --------------------------------------------------------------------------------


def migration_id(*parts: str) -> str:
    """A Canvas-style migration id ("g" + MD5): stable across exports, so re-imports update in place."""
    return "g" + hashlib.md5("\x00".join(parts).encode("utf-8")).hexdigest()


def bank_item_ident(bank: Bank, item: Item) -> str:
    """The ident of an item's question-bank copy (its Canvas assessment-question migration id)."""
    return migration_id("itembank-question", bank.title, item.id)


def quiz_item_ident(quiz_ident: str, item: Item) -> str:
    return migration_id("itembank-quiz-question", quiz_ident, item.id)


def quiz_ident(bank: Bank) -> str:
    form = bank.form.name if bank.form else ""
    return migration_id("itembank-quiz", bank.title, form)


#: The question bank and quiz section of the items without a topic are named this.  Their idents are
#: the ones they always had; a bank of items whose topic *is* "General" gets idents of its own
#: (:func:`topic_parts`), so that an import tells the two apart (importers/canvas.py reads the
#: no-topic bank of our export back as no topic).
NO_TOPIC = "General"


def topic_parts(topic: str | None) -> tuple[str, ...]:
    """What a topic's bank and section idents are derived from (``None``: the items without a topic)."""
    if topic is None:
        return (NO_TOPIC,)
    return (topic, "topic") if topic == NO_TOPIC else (topic,)


def question_bank_title(bank: Bank, topic: str | None) -> str:
    return f"{bank.title} — {topic or NO_TOPIC}"


def answer_ids(item: Item, count: int) -> list[str]:
    """Integer answer ids (Canvas re-reads ``original_answer_ids`` as integers; others become random)."""
    base = (zlib.crc32(item.id.encode("utf-8")) % 9000 + 1000) * 1000
    return [str(base + i + 1) for i in range(count)]



