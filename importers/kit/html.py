"""HTML fields (Moodle, Canvas, QTI item bodies) -> our Markdown.

``html_to_markdown(html) -> (markdown, notes)``: keeps paragraphs, emphasis, code (inline and
blocks), lists, tables, images, links; MathJax ``\\( \\)`` / ``\\[ \\]`` / ``$$`` and MathML become
``$...$``; what Markdown cannot hold (colours, alignment, iframes, scripts...) is kept as faithfully
as possible and named in ``notes``.  ``src`` of images is passed through ``resolve_src`` so the
importer can map ``@@PLUGINFILE@@/x.png`` or a package path to ``media/<hash>.png``.
"""

from __future__ import annotations

from collections.abc import Callable

ResolveSrc = Callable[[str], str | None]  # source src -> bank-relative path, or None to keep as is


def html_to_markdown(html: str, resolve_src: ResolveSrc | None = None) -> tuple[str, list[str]]:
    raise NotImplementedError("converter being chosen; see the commit that lands it")


def text_to_markdown(text: str) -> str:
    """Plain text (GIFT [plain], Aiken) -> Markdown that renders as the same text (escapes * _ ` etc.)."""
    raise NotImplementedError
