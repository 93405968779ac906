"""Cloze blanks put into a rendered stem: for the formats that render the stem to a tree and put an
answer field (a QTI inline interaction, an HTML input or menu) where each placeholder was."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from itembank.model import OpaqueStem

#: ``splice(parent, after, text)``: ``text`` (holding tokens) put into ``parent`` after the child
#: ``after`` (None: as its text), each token replaced by its blank's field.
Splice = Callable[[etree._Element, "etree._Element | None", str], None]


def place_blanks(root: etree._Element, opaque: OpaqueStem, literal: Callable[[etree._Element], bool], splice: Splice) -> None:
    """Each token of ``opaque`` in the rendered ``root`` handed to ``splice``, but a token in code (an
    element ``literal`` says is code, or one below it) or in an attribute, which is given back as the
    placeholder as written.  The text after a code element (its tail) is prose again: in
    ``call `df.` {{method}}`` the blank is in the tail of ``<code>``, and is a blank."""
    for node in list(root.iter()):
        if not isinstance(node.tag, str):
            continue
        for attr in node.attrib:
            value = node.get(attr, "")
            if opaque.has_token(value):
                node.set(attr, opaque.restore(value))
        below_code = any(literal(a) for a in node.iterancestors())
        if node.text and opaque.has_token(node.text):
            if below_code or literal(node):
                node.text = opaque.restore(node.text)
            else:
                text, node.text = node.text, None
                splice(node, None, text)
        if node is not root and node.tail and opaque.has_token(node.tail):
            if below_code:
                node.tail = opaque.restore(node.tail)
                continue
            parent = node.getparent()
            assert parent is not None  # node is below root
            text, node.tail = node.tail, None
            splice(parent, node, text)
