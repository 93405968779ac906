"""What the exporters that write MathML (QTI, HTML) both fix in latex2mathml's output."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from typing import Callable

from lxml import etree


@cache
def available() -> bool:
    """Whether latex2mathml is installed (found, not imported: a build's parent imports every
    exporter, and importing latex2mathml was 23 ms of the serial start of a build after an edit,
    whose exports convert no formula: their pieces come from the fragment cache)."""
    return importlib.util.find_spec("latex2mathml") is not None


@cache
def converter() -> Callable[..., str] | None:
    """latex2mathml's ``convert``, imported on first use; None without the package (math then stays
    LaTeX, documented in docs/qti.md)."""
    if not available():
        return None
    try:
        from latex2mathml.converter import convert
    except ImportError:  # pragma: no cover - a broken install: as without it
        return None
    return convert


#: LaTeX's escapes of characters it reads as syntax: ``\text{50\%}`` shows "50%".
_TEXT_ESCAPE = re.compile(r"\\([%$&#_{}])")


def unescape_text(math: etree._Element) -> None:
    """Undo LaTeX's escapes in the text runs (``<mtext>``) of ``math``: latex2mathml keeps them as
    written, so ``\\text{50\\%}`` showed "50\\%" where LaTeX shows "50%"."""
    for node in math.iter():
        if isinstance(node.tag, str) and etree.QName(node).localname == "mtext" and node.text and "\\" in node.text:
            node.text = _TEXT_ESCAPE.sub(r"\1", node.text)
