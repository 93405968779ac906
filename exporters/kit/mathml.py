"""What the exporters that write MathML (QTI, HTML) both fix in latex2mathml's output."""

from __future__ import annotations

import re

from lxml import etree

#: LaTeX's escapes of characters it reads as syntax: ``\text{50\%}`` shows "50%".
_TEXT_ESCAPE = re.compile(r"\\([%$&#_{}])")


def unescape_text(math: etree._Element) -> None:
    """Undo LaTeX's escapes in the text runs (``<mtext>``) of ``math``: latex2mathml keeps them as
    written, so ``\\text{50\\%}`` showed "50\\%" where LaTeX shows "50%"."""
    for node in math.iter():
        if isinstance(node.tag, str) and etree.QName(node).localname == "mtext" and node.text and "\\" in node.text:
            node.text = _TEXT_ESCAPE.sub(r"\1", node.text)
