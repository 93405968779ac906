"""Our exports' composed texts, split back into fields.

The Moodle XML and GIFT exports put rationale, worked solution, quick check, common mistakes (and,
for types without hint fields, the hints) into one general feedback under bold headings, and the
rubric and sample answer into the grader information.  These functions recognise exactly that
composition and give the fields back; any other text stays whole (rationale / sample answer).
"""

from __future__ import annotations

import html as _html
import re
from typing import Any

from lxml import etree

from itembank.moodle_grades import moodle_fractions, on_moodle_list

from .numbers import clean_number
from .html import ResolveSrc, fragment, html_to_markdown

_HEADINGS = ("Answer", "Solution", "Final answer", "Quick check", "Common mistakes", "Hints")
_POINTS_P = re.compile(r"^(\d+(?:\.\d+)?)\s+points?$")
_RUBRIC_H = re.compile(r"^Rubric \((\d+(?:\.\d+)?) points?\)$")


def _blocks(html: str) -> list[etree._Element] | None:
    try:
        root = fragment(html)
    except (etree.ParserError, ValueError):
        return None
    if (root.text or "").strip():
        return None
    return list(root)


def _heading(el: etree._Element) -> str | None:
    if el.tag == "p" and len(el) == 1 and el[0].tag == "strong" and not (el.text or "").strip() and not (el[0].tail or "").strip():
        return (el[0].text or "").strip()
    return None


def _ser(blocks: list[etree._Element]) -> str:
    out = []
    for b in blocks:
        tail, b.tail = b.tail, None
        out.append(etree.tostring(b, encoding="unicode", method="html"))
        b.tail = tail
    return "".join(out)


def _inner(el: etree._Element) -> str:
    return (_html.escape(el.text or "", quote=False)) + "".join(etree.tostring(c, encoding="unicode", method="html") for c in el)


def split_general_feedback(html: str, data: dict[str, Any], notes: list[str], resolve: ResolveSrc | None = None, back_blocks: int = 0) -> None:
    """Our export's general feedback (rationale, Solution, Final answer, Quick check, Common
    mistakes, Hints, and a flashcard's Answer) back into fields; any other feedback -> rationale.
    ``back_blocks``: how many blocks after an "Answer" heading are the flashcard's back (dropped here)."""
    if not html.strip():
        return

    def md_of(html_s: str) -> str:
        md, found = html_to_markdown(html_s, resolve)
        notes.extend(n for n in found if n not in notes)
        return md

    blocks = _blocks(html) if "<strong>" in html else None
    if not blocks or not any(_heading(b) in _HEADINGS for b in blocks):
        md = md_of(html)
        if md:
            data["rationale"] = md
        return

    sections: list[tuple[str | None, list[etree._Element]]] = [(None, [])]
    for b in blocks:
        h = _heading(b)
        if h in _HEADINGS:
            sections.append((h, []))
        else:
            sections[-1][1].append(b)
    solution: dict[str, Any] = {}
    rationale_parts: list[str] = []
    for title, content in sections:
        if title is None or (title == "Answer" and back_blocks):
            if title == "Answer":
                content = content[back_blocks:]
            if content:
                rationale_parts.append(_ser(content))
        elif title == "Answer":
            rationale_parts.append(_ser(content))
        elif title == "Solution" and content and content[0].tag == "ol":
            steps: list[Any] = []
            for li in content[0].findall("li"):
                kids = list(li)
                if kids and _heading(kids[0]) is not None and not (li.text or "").strip():
                    steps.append({"title": _heading(kids[0]), "text": md_of(_ser(kids[1:]))})
                else:
                    steps.append(md_of(_inner(li)))
            solution["steps"] = steps
            if content[1:]:
                rationale_parts.append(_ser(content[1:]))
        elif title == "Final answer":
            solution["final_answer"] = md_of(_ser(content))
        elif title == "Quick check":
            solution["quick_check"] = md_of(_ser(content))
        elif title in ("Common mistakes", "Hints") and content and content[0].tag in ("ul", "ol"):
            values = [md_of(_inner(li)) for li in content[0].findall("li")]
            data["common_mistakes" if title == "Common mistakes" else "hints"] = [v for v in values if v]
            if content[1:]:
                rationale_parts.append(_ser(content[1:]))
        else:
            rationale_parts.append(f"<p><strong>{_html.escape(title)}</strong></p>" + _ser(content))
    if solution:
        data["solution"] = solution
    rationale = md_of("".join(rationale_parts)) if rationale_parts else ""
    if rationale:
        data["rationale"] = rationale


def split_grader_info(html: str, notes: list[str], resolve: ResolveSrc | None = None) -> tuple[list[dict[str, Any]], str, str]:
    """Our export's grader information -> (rubric, sample answer, flashcard back); any other -> sample answer."""

    def md_of(html_s: str) -> str:
        md, found = html_to_markdown(html_s, resolve)
        notes.extend(n for n in found if n not in notes)
        return md

    if not html.strip():
        return [], "", ""
    blocks = _blocks(html) if "<strong>" in html else None
    heads = [_heading(b) for b in blocks] if blocks else []
    if not blocks or not any(h and (_RUBRIC_H.match(h) or h in ("Sample answer", "Answer")) for h in heads):
        notes.append("grader information kept as the sample answer")
        return [], md_of(html), ""
    rubric: list[dict[str, Any]] = []
    sample = back = ""
    i = 0
    while i < len(blocks):
        h = heads[i]
        if h and _RUBRIC_H.match(h) and i + 1 < len(blocks) and blocks[i + 1].tag == "ul":
            for li in blocks[i + 1].findall("li"):
                kids = list(li)
                at = next((k for k, c in enumerate(kids) if c.tag == "p" and _POINTS_P.match("".join(str(t) for t in c.itertext()).strip())), None)
                if at is None:
                    continue
                m = _POINTS_P.match("".join(str(t) for t in kids[at].itertext()).strip())
                assert m is not None
                crit: dict[str, Any] = {"criterion": md_of(_ser(kids[:at])), "points": clean_number(float(m.group(1)))}
                desc = md_of(_ser(kids[at + 1 :]))
                if desc:
                    crit["description"] = desc
                rubric.append(crit)
            i += 2
            continue
        if h in ("Sample answer", "Answer"):
            j = i + 1
            while j < len(blocks) and heads[j] not in ("Sample answer", *_HEADINGS) and not (heads[j] and _RUBRIC_H.match(heads[j] or "")):
                j += 1
            text = md_of(_ser(blocks[i + 1 : j]))
            if h == "Sample answer":
                sample = text
            else:
                back = text
            i = j
            continue
        i += 1
    return rubric, sample, back


AMBIGUOUS_SCORING = ("with a single wrong option, partial and all-or-nothing scoring give Moodle the same grades; "
                     "scoring: partial assumed")


def choice_scoring(fractions: list[float], options: list[dict[str, Any]], notes: list[str] | None = None) -> str | None:
    """``partial`` or ``all_or_nothing`` when the Moodle fractions are what our exports write for
    it (or a plausible partial scheme); None when they fit neither.  When they fit both (a single
    wrong option at -100%), ``partial`` with a note in ``notes``."""
    correct = [f for f, o in zip(fractions, options) if o.get("correct")]
    wrong = [f for f, o in zip(fractions, options) if not o.get("correct")]
    fits = []
    for scoring in ("partial", "all_or_nothing"):
        mf = moodle_fractions(len(correct), len(wrong), scoring)
        if mf is None:
            continue
        if all(abs(a - b) < 0.01 for a, b in zip(sorted(correct), sorted(mf.correct))) and all(abs(a - b) < 0.01 for a, b in zip(sorted(wrong), sorted(mf.wrong))):
            fits.append(scoring)
    if len(fits) == 2:
        if notes is not None and AMBIGUOUS_SCORING not in notes:
            notes.append(AMBIGUOUS_SCORING)
        return "partial"
    if fits:
        return fits[0]
    if all(f <= 0 for f in wrong) and abs(sum(correct) - 100) < 0.6:
        if notes is not None:
            off = [f for f in fractions if not on_moodle_list(f)]
            note = "grades (" + ", ".join(f"{f:g}%" for f in fractions) + ") read as partial scoring (equal shares)"
            if off:
                note += f"; {', '.join(f'{f:g}%' for f in off)} is not on Moodle's grade list (Moodle's own import refuses this question)"
            notes.append(note)
        return "partial"
    return None
