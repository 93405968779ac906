"""Cloze blanks put into a rendered stem: for the formats that render the stem to a tree and put an
answer field (a QTI inline interaction, an HTML input or menu) where each placeholder was."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from lxml import etree

from itembank.model import OpaqueStem

#: ``field(name)``: the answer field (a new element) of the blank ``name``.
Field = Callable[[str], etree._Element]


def place_blanks(root: etree._Element, opaque: OpaqueStem, literal: Callable[[etree._Element], bool], field: Field) -> None:
    """Each token of ``opaque`` in the rendered ``root`` replaced by its blank's ``field``, but a token
    in code (an element ``literal`` says is code, or one below it) or in an attribute, which is given
    back as the placeholder as written.  The text after a code element (its tail) is prose again: in
    ``call `df.` {{method}}`` the blank is in the tail of ``<code>``, and is a blank."""
    splice = partial(_splice, opaque=opaque, field=field)
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


def _splice(parent: etree._Element, after: etree._Element | None, text: str, *, opaque: OpaqueStem, field: Field) -> None:
    """``text`` (holding tokens) put into ``parent`` after its child ``after`` (None: as its text),
    each token replaced by its blank's field, in order."""
    pos = 0 if after is None else parent.index(after) + 1
    last = after
    for i, piece in enumerate(opaque.split(text)):  # text, name, text, name, ..., text
        if i % 2 == 0:
            if last is None:
                parent.text = (parent.text or "") + piece
            else:
                last.tail = (last.tail or "") + piece
            continue
        last = field(piece)
        parent.insert(pos, last)
        pos += 1
