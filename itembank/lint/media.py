"""Images need a text alternative that says what the image shows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from collections.abc import Iterator

import pyromark

from ..model import AnyItem, ChoiceItem, EssayItem, FlashcardItem, MatchingItem, TrueFalseItem
from .registry import Finding, rule

if TYPE_CHECKING:
    from .engine import LintContext

_GENERIC = re.compile(
    r"^(?:an?\s+|the\s+)?(?:image|img|picture|pic|photo|photograph|figure|fig|graph|chart|diagram|plot|screenshot|icon|illustration|drawing)\.?(?:\s*\d+)?$",
    re.I,
)


def markdown_fields(item: AnyItem) -> Iterator[tuple[tuple[object, ...], str]]:
    """Every Markdown text of the item with its path in the file."""
    yield ("stem",), item.stem
    if item.rationale:
        yield ("rationale",), item.rationale
    for i, h in enumerate(item.hints):
        yield ("hints", i), h
    if isinstance(item, ChoiceItem):
        for i, o in enumerate(item.options):
            yield ("options", i, "text"), o.text
            if o.feedback:
                yield ("options", i, "feedback"), o.feedback
    elif isinstance(item, TrueFalseItem):
        for key in ("true_feedback", "false_feedback"):
            value = getattr(item, key)
            if value:
                yield (key,), value
    elif isinstance(item, MatchingItem):
        for i, p in enumerate(item.pairs):
            yield ("pairs", i, "prompt"), p.prompt
    elif isinstance(item, EssayItem) and item.sample_answer:
        yield ("sample_answer",), item.sample_answer
    elif isinstance(item, FlashcardItem):
        yield ("answer",), item.answer


def images(text: str) -> Iterator[tuple[str, str]]:
    """(source, alt text) of every image in a Markdown text."""
    depth = 0
    src = ""
    alt: list[str] = []
    for raw in pyromark.events(text, options=pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES):
        if not isinstance(raw, dict):
            continue
        event: dict[str, Any] = dict(raw)
        start = event.get("Start")
        if isinstance(start, dict) and "Image" in start:
            depth += 1
            if depth == 1:
                src, alt = start["Image"]["dest_url"], []
        elif event.get("End") == "Image":
            depth -= 1
            if depth == 0:
                yield src, "".join(alt).strip()
        elif depth:
            for kind in ("Text", "Code", "InlineMath", "DisplayMath"):
                if kind in event:
                    alt.append(str(event[kind]))


def _alt_problem(src: str, alt: str) -> str | None:
    if not alt:
        return "has no alt text"
    name = src.rsplit("/", 1)[-1]
    base = name.rsplit(".", 1)[0]
    low = alt.lower().strip()
    if low in (name.lower(), base.lower(), base.lower().replace("-", " ").replace("_", " ")):
        return f'has its file name as alt text ("{alt}")'
    if _GENERIC.match(low):
        return f'has a generic alt text ("{alt}") that says nothing about what it shows'
    return None


@rule("IB512", "image-alt-text", "an image has no meaningful alt text", "WCAG 2.1 SC 1.1.1 (HDR 14)")
def image_alt_text(item: AnyItem, ctx: LintContext) -> Iterator[Finding]:
    for path, text in markdown_fields(item):
        if "![" not in text:
            continue
        for src, alt in images(text):
            problem = _alt_problem(src, alt)
            if problem is not None:
                yield Finding(
                    f"image '{src}' {problem}: learners using a screen reader cannot answer",
                    "write what the image shows that the question needs, e.g. ![Loss falls from 2.0 to 0.1 over 10 epochs](media/loss.png)",
                    path,
                )
