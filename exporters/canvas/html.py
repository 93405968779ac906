"""HTML as Canvas shows it (math as Canvas equation images, images under $IMS-CC-FILEBASE$) and the feedback texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from lxml import etree

from itembank.model import (
    Item,
)
from itembank.render import Renderer, escape, local_image, math_spans

from ..kit.explain import Section, SectionKind, explanation
from .names import FILEBASE, WEB_RESOURCES

# --- HTML for Canvas ------------------------------------------------------------------------------


class CanvasHtml:
    """Item Markdown → the HTML Canvas stores, with images under the package and math as MathJax.

    Rendering goes through the shared (cached) renderer.  Only texts with an image or math need the
    Canvas rewrite (a parse); those results are cached here.  Everything else is the renderer's own
    string, returned as is: a second cache of every text would only cost memory.
    """

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.images: dict[str, str] = {}  # bank-relative ref -> package path
        #: Every image a text shows, each time the text is asked for (the fragment cache notes which
        #: images an item's question shows).
        self.asked: list[str] = []
        self._rewritten: dict[str, tuple[str, tuple[str, ...]]] = {}  # renderer HTML -> Canvas HTML, its images

    def block(self, text: str) -> str:
        return self._canvas(self.renderer.html(text))

    def inline(self, text: str) -> str:
        return self._canvas(self.renderer.inline_html(text))

    def _canvas(self, html: str) -> str:
        if "<img" not in html and "math" not in html:
            return html
        done = self._rewritten.get(html)
        if done is None:
            done = self._rewritten[html] = self._rewrite(html)
        else:
            self.asked.extend(done[1])
        return done[0]

    def _rewrite(self, html: str) -> tuple[str, tuple[str, ...]]:
        root = etree.fromstring(f"<div>{html}</div>")
        refs: list[str] = []
        for img in root.iter("img"):
            ref = local_image(img.get("src") or "")
            if ref is not None:
                img.set("src", self.package_image(ref))
                refs.append(ref)
        for span, latex, display in math_spans(root):
            for child in list(span):
                span.remove(child)
            # Canvas renders \( \) and $$ $$ with MathJax; the class stays for other readers.
            span.text = f"$${latex}$$" if display else f"\\({latex}\\)"
        parts = [escape(root.text or "")]
        parts.extend(etree.tostring(child, encoding="unicode") for child in root)
        return "".join(parts), tuple(refs)

    def package_image(self, ref: str) -> str:
        """The package path of the image ``ref`` (bank-relative), which the package will hold."""
        self.asked.append(ref)
        self.images[ref] = f"{WEB_RESOURCES}/{ref}"
        return f"{FILEBASE}/" + "/".join(quote(seg) for seg in ref.split("/"))


# --- feedback ------------------------------------------------------------------------------------


@dataclass
class Feedback:
    """The four kinds of feedback Canvas keeps (HTML), plus per-answer comments keyed by answer id."""

    general: str = ""
    correct: str = ""
    incorrect: str = ""
    answers: dict[str, str] = field(default_factory=dict)


def section_html(title: str, body: str) -> str:
    return f"<p><strong>{escape(title)}</strong></p>{body}"


def general_feedback(item: Item, html: CanvasHtml) -> str:
    """Rationale, solution steps, final answer, quick check and hints: shown after answering."""
    # Classic Quizzes have no hints; they survive as feedback shown after the attempt.
    return "".join(_section(s, html) for s in explanation(item, GENERAL_LABELS))


def incorrect_feedback(item: Item, html: CanvasHtml) -> str:
    return "".join(_section(s, html) for s in explanation(item, INCORRECT_LABELS))


#: Headings of the general feedback's sections, in order (the rationale goes first, unheaded).
GENERAL_LABELS: dict[SectionKind, str | None] = {"rationale": None, "steps": "Solution", "final_answer": "Answer", "quick_check": "Quick check", "hints": "Hints"}
#: The feedback shown after a wrong answer.
INCORRECT_LABELS: dict[SectionKind, str | None] = {"common_mistakes": "Common mistakes"}


def _section(section: Section, html: CanvasHtml) -> str:
    if section.steps:
        body = "<ol>" + "".join(
            f"<li>{'<strong>' + escape(s.title) + '</strong> ' if s.title else ''}{html.block(s.text)}</li>" for s in section.steps
        ) + "</ol>"
    elif section.items:
        body = "<ul>" + "".join(f"<li>{html.block(t)}</li>" for t in section.items) + "</ul>"
    else:
        assert section.text is not None
        body = html.block(section.text)
    return body if section.label is None else section_html(section.label, body)

