"""Invariants every export must keep, checked on what it actually produced, at export time.

An exporter can be wrong on content nobody anticipated (a blank after inline code, a lost hint): its
own tests pass and it says "written".  So after every export, :func:`audit` reads the output back
and checks, for every item the export did not list as skipped:

* every text an author wrote for it (stem, options, their feedback, hints, rationale, solution,
  mistakes, pairs, steps, blanks' feedback...) is in the item's output, or a note line names the item;
* a cloze left no ``{{name}}`` of its blanks behind and, in the formats that make interactions
  (QTI, Moodle XML, Canvas), made exactly one answer field per blank;
* numeric bounds are written as the author's value ± tolerance computed exactly (``1.965``, never
  ``1.9649999999999999``).

A broken invariant is an :class:`~itembank.errors.ItembankError` naming the item, its file and the
text: the export is refused, never written wrong.  The checks read text (tags stripped, entities
decoded, words compared in order), so they hold for any format; the built-in formats also tell where
one item's output is, so that a text must be found in its own item's output.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal

from lxml import etree

from .errors import ItembankError
from .formats import ExportResult
from .model import AnyItem, Bank, ClozeItem, NumericItem, as_written, placeholder_names, replace_placeholders
from .render import Renderer, replace_with_text

_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")
#: A decimal number in an output; one with 16 or more significant digits that the author did not write
#: is the trace of binary arithmetic (1.96 + 0.005 = 1.9649999999999999).
_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?(?![\w.])")
_MATH = {"math", "annotation"}


#: The built-in formats whose output this module reads back.
_READ_BACK = {"qti21", "qti30", "moodle", "gift", "canvas", "markdown", "xlsx"}
#: Formats whose XML holds HTML as text (CDATA or escaped): read twice, as XML then as HTML.
_HTML_IN_XML = {"moodle", "canvas"}
_GIFT_ESCAPE = re.compile(r"\\([~=#{}:\\])")


def _html_text(markup: str) -> str:
    import lxml.html

    if "<" not in markup and "&" not in markup:
        return markup
    try:
        return " ".join(lxml.html.fragment_fromstring(markup, create_parent="div").itertext())
    except (etree.ParserError, ValueError):
        return html.unescape(_TAG.sub(" ", markup))


def words(fmt: str, text: str, renderer: Renderer) -> list[str]:
    """The words a reader of the output sees, read the way the format is read."""
    if fmt == "markdown":
        plain = " ".join(renderer.tree(text).itertext())  # type: ignore[arg-type]
    elif fmt == "gift":
        plain = _html_text(_GIFT_ESCAPE.sub(r"\1", text))
    elif text.lstrip().startswith("<"):
        try:
            root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
            plain = " ".join(root.itertext())  # type: ignore[arg-type]
        except etree.XMLSyntaxError:
            plain = text
        if fmt in _HTML_IN_XML:
            # Most texts are HTML, some plain (a Moodle match answer shows "<div>" as typed): both readings.
            plain = _html_text(plain) + " " + plain
    else:
        plain = text
    return _WORD.findall(plain.casefold())


def _needle(renderer: Renderer, markdown: str) -> list[str]:
    """The words a reader sees of a Markdown text, math and images left out (formats show those
    their own way: MathML, LaTeX, a file)."""
    root = renderer.fragment(markdown)
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if el.tag == "img" or (el.tag == "span" and "math" in (el.get("class") or "").split()):
            replace_with_text(el, " ")
    return _WORD.findall(" ".join(root.itertext()).casefold())  # type: ignore[arg-type]


def in_order(needle: list[str], hay: list[str]) -> bool:
    """Whether ``needle`` is a subsequence of ``hay`` (each word found after the previous one).

    ``list.index`` scans in C: the generator this replaced compared word by word in Python and was
    most of an audited export's time (30 million comparisons for 10,000 items)."""
    pos = 0
    try:
        for w in needle:
            pos = hay.index(w, pos) + 1
    except ValueError:
        return False
    return True


def texts(item: AnyItem) -> Iterator[tuple[str, str]]:
    """(field, Markdown) of every text of an item an export must carry."""
    # A cloze's blanks become answer fields: the words around them must be there, checked below.
    yield "stem", replace_placeholders(item.stem, lambda name: " ") if isinstance(item, ClozeItem) else item.stem
    if item.rationale:
        yield "rationale", item.rationale
    for i, h in enumerate(item.hints):
        yield f"hints[{i}]", h
    for i, m in enumerate(item.common_mistakes):
        yield f"common_mistakes[{i}]", m
    if item.solution is not None:
        for i, step in enumerate(item.solution.steps):
            yield f"solution.steps[{i}]", step.text
        if item.solution.final_answer:
            yield "solution.final_answer", item.solution.final_answer
        if item.solution.quick_check:
            yield "solution.quick_check", item.solution.quick_check
    for i, o in enumerate(getattr(item, "options", ())):
        yield f"options[{i}].text", o.text
        if o.feedback:
            yield f"options[{i}].feedback", o.feedback
    for name in ("true_feedback", "false_feedback", "sample_answer"):
        value = getattr(item, name, None)
        if isinstance(value, str) and value:
            yield name, value
    for i, p in enumerate(getattr(item, "pairs", ())):
        yield f"pairs[{i}].prompt", p.prompt
        yield f"pairs[{i}].match", p.match
    for i, s in enumerate(getattr(item, "sequence", ())):
        yield f"sequence[{i}]", s
    for i, c in enumerate(getattr(item, "rubric", ())):
        yield f"rubric[{i}].criterion", c.criterion
    if isinstance(item, ClozeItem):
        for b in item.blanks:
            if b.feedback:
                yield f"blanks.{b.name}.feedback", b.feedback
    if item.type == "flashcard":
        yield "answer", getattr(item, "answer")


# --- where each item's output is --------------------------------------------------------------------


_TEXT_FILES = (".xml", ".md", ".html", ".txt", ".gift", ".csv", ".json", ".rels")


def _outputs(result: ExportResult) -> dict[str, bytes]:
    """The output's text files by name ("" for a single-file output), media left out."""
    if result.files is not None:
        return {n: d for n, d in result.files.items() if n.lower().endswith(_TEXT_FILES)}
    data = result.data or b""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {n: z.read(n) for n in z.namelist() if n.lower().endswith(_TEXT_FILES)}
    return {"": data}


def _per_item(fmt: str, bank: Bank, files: dict[str, bytes]) -> dict[str, str]:
    """Each item's own output text, for the formats whose layout is known; {} for the others."""
    out: dict[str, str] = {}
    if fmt in ("qti21", "qti30"):
        for item in bank.items:
            data = files.get(f"items/{item.id}.xml")
            if data is not None:
                out[item.id] = data.decode("utf-8")
    elif fmt == "moodle":
        root = etree.fromstring(files[""])
        for q in root.iterfind("question"):
            ident = q.findtext("idnumber")
            if ident:
                out[ident] = etree.tostring(q, encoding="unicode")
    elif fmt == "gift":
        for block in files[""].decode("utf-8").split("\n\n"):
            m = re.search(r"// \[id:([^\]]+)\]", block)
            if m:
                out[m.group(1)] = block.replace("\\n", "\n")
    return out


def _fields(fmt: str, item: AnyItem, text: str) -> int | None:
    """How many answer fields a cloze's output made (None: the format makes none to count)."""
    if fmt in ("qti21", "qti30"):
        return len(re.findall(r'<(?:qti-)?(?:text-entry|inline-choice|textEntry|inlineChoice)(?:-interaction|Interaction)\b', text))
    if fmt == "moodle":
        return len(re.findall(r"\{\d+:(?:SHORTANSWER|SA|MW|SHORTANSWER_C|SAC|MWC|NUMERICAL|NM|MULTICHOICE|MC|MULTICHOICE_S|MCS|MULTICHOICE_V|MCV|MULTICHOICE_H|MCH)[^:]*:", html.unescape(text)))
    return None


# --- the audit ------------------------------------------------------------------------------------------


def audit(fmt: str, bank: Bank, result: ExportResult, renderer: Renderer) -> list[str]:
    """Every broken invariant of one export (``[]`` when it kept them all)."""
    if fmt not in _READ_BACK:
        # json is the model itself (checked against bank.schema.json by the tests); a third-party
        # format's output is not something this module knows how to read.
        return []
    files = _outputs(result)
    per_item = _per_item(fmt, bank, files)
    whole_words: set[str] | None = None
    skipped = {i for i, _ in result.skipped}
    noted = "\n".join(result.notes)
    problems: list[str] = []
    for item in bank.items:
        if item.id in skipped:
            continue
        own = per_item.get(item.id)
        if own is None and per_item:
            problems.append(f"[{item.id}] is neither in the output nor listed as skipped")
            continue
        hay = words(fmt, own, renderer) if own is not None else None
        if hay is None and whole_words is None:
            whole_words = {w for d in files.values() for w in words(fmt, d.decode("utf-8", "replace"), renderer)}
        mentioned = item.id in noted
        for where, text in texts(item):
            needle = _needle(renderer, text)
            found = in_order(needle, hay) if hay is not None else set(needle) <= (whole_words or set())
            if not found and not mentioned:
                problems.append(f"[{item.id}] {where} is not in the output and no note says why: {text[:60]!r}")
        body = own if own is not None else None
        if isinstance(item, ClozeItem) and body is not None:
            for name in placeholder_names(html.unescape(body)):
                if name in {b.name for b in item.blanks}:
                    problems.append(f"[{item.id}] the cloze blank {{{{{name}}}}} is left in the output as text")
            n = _fields(fmt, item, body)
            if n is not None and n != len(item.blanks):
                problems.append(f"[{item.id}] the cloze has {len(item.blanks)} blanks but the output has {n} answer fields")
        if body is not None and (isinstance(item, NumericItem) or isinstance(item, ClozeItem)):
            written = _author_numbers(item)
            for m in _DECIMAL.finditer(_TAG.sub(" ", body)):
                digits = len(m.group().lstrip("-").split("e")[0].replace(".", "").lstrip("0"))
                if digits >= 16 and m.group() not in written:
                    problems.append(f"[{item.id}] a number is written as {m.group()}: binary rounding, not the value as written")
                    break
    return problems


def _author_numbers(item: AnyItem) -> str:
    """The item's own texts and numbers, where a long number may legitimately appear."""
    numbers: list[float] = []
    if isinstance(item, NumericItem):
        numbers += [v for v in (item.answer, item.tolerance) if v is not None] + list(item.range or ())
    if isinstance(item, ClozeItem):
        numbers += [v for b in item.blanks for v in (b.number, b.tolerance) if v is not None]
    return "\n".join([t for _, t in texts(item)] + [repr(float(v)) for v in numbers])


def check(fmt: str, bank: Bank, result: ExportResult, renderer: Renderer) -> None:
    """Raise when the export broke an invariant (the message names each item and its file)."""
    problems = audit(fmt, bank, result, renderer)
    if problems:
        where = {i.id: i.location.path for i in bank.items}
        shown = "\n  ".join(f"{where.get(_id(p), '?')}: {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ItembankError(f"{fmt}: the export broke its invariants (a bug in itembank: please report it); nothing was written:\n  {shown}{more}")


def _id(problem: str) -> str:
    return problem[1 : problem.index("]")] if problem.startswith("[") else ""


def exact_bounds(value: float, tolerance: float) -> tuple[Decimal, Decimal]:
    """``value ± tolerance`` exactly, as the author wrote both (for callers that compare texts)."""
    v, t = as_written(value), as_written(tolerance)
    return v - t, v + t
