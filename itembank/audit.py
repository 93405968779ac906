"""Invariants every export must keep, checked on what it actually produced, at export time.

An exporter can be wrong on content nobody anticipated (a blank after inline code, a lost hint): its
own tests pass and it says "written".  So after every export, :func:`audit` reads the output back
and checks, for every item the export did not list as skipped:

* every text an author wrote for it (stem, options, their feedback, hints, rationale, solution,
  mistakes, pairs, steps, rubric criteria and descriptions, blanks' feedback...) is in the item's
  output, or a note line names the item;
* a cloze left no ``{{name}}`` of its blanks behind and, in the formats that make interactions
  (QTI, Moodle XML, Canvas), made exactly one answer field per blank;
* numeric bounds are written as the author's value ± tolerance computed exactly (``1.965``, never
  ``1.9649999999999999``);
* a QTI item gives each of its variables and choices an identifier of its own, and each modal
  feedback an outcome and identifier of its own (two blanks once shared one response).

A broken invariant is an :class:`~itembank.errors.ItembankError` naming the item, its file and the
text: the export is refused, never written wrong.  The checks read text, so they hold for any format; for the built-in formats the audit also knows
where one item's output is (a QTI file, a Moodle question, a GIFT block, a workbook row), so that a
text must be found in its own item's output.

A text is looked for in two steps.  First as it stands: the pieces of text the renderer wrote
between tags (a cloze stem's also cut at its blanks), each found whole, in order, escaped as the
format escapes them — one substring search each, and enough for almost every text.  In an output
read as a whole (the printed Markdown), a piece is one of its texts, or ends one after a space or a
mark (``1. <prompt>``).  Only a text not found so is read word by word (tags stripped, entities
decoded, casefolded, words compared in order: :func:`found_in`), which is slower and more forgiving
(a format may show math, images or a blank its own way).  An output that shows the Markdown as
written (a workbook row) is read so twice, as typed and each cell as the Markdown it holds, as the
text itself is read (``caf&eacute;`` is "café", ``a\\_b`` is "a_b"; not in code nor after a
backslash): a text is found in either.  Being found in the first step implies being found in the
second (property tests hold it), so the first step only saves time: what fails the audit is the
same.  Large outputs are read in slices and streams, never as whole copies.
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
import os
import re
import sys
import tempfile
import weakref
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, AnyStr, cast

import pyromark
import xxhash
from isal import isal_zlib
from lxml import etree

from .errors import ItembankError
from .forked import in_task_order, shared_out
from .formats import ExportResult
from .fragments import item_digest
from .gcpause import gc_paused
from .model import AnyItem, Bank, CalculatedItem, ClozeItem, NumericItem, as_written, opaque_placeholders, placeholder_names, replace_placeholders
from .render import MARKDOWN_OPTIONS, PLAIN, Renderer
from .variants import PLACEHOLDER, expand, key

if TYPE_CHECKING:
    from .fragments import Fragments

#: The hash that tells an item's output apart (the audit's verdicts are kept under it): XXH3-128,
#: as the fragment cache keys its deflated chunks (exporters/kit/zip.py).  A build after an edit
#: hashes ~200 MB of outputs of 10,000 items: SHA-256 took 0.16 s per 100 MB here, XXH3 3 ms.
_hash = xxhash.xxh3_128

_TAG = re.compile(r"<[^>]*>")
_NON_WORD = re.compile(r"\W+")
_HAS_WORD = re.compile(r"\w")
_WORD = re.compile(r"\w+")
#: A decimal number in an output; one with 16 or more significant digits that the author did not write
#: is the trace of binary arithmetic (1.96 + 0.005 = 1.9649999999999999).
_DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?(?![\w.])")
#: The significant digits from which a :data:`_DECIMAL` is long (the look of binary rounding).
LONG_DIGITS = 16
#: Each byte as ``9`` if it is a digit or ``?`` (what a character outside ASCII is encoded as, read
#: as a digit: ``\d`` matches every script's digits), else as a space (:func:`_may_hold_long_number`).
_DIGITS_AS_NINES = bytes(ord("9") if ord("0") <= b <= ord("9") or b == ord("?") else ord(" ") for b in range(256))
#: The digits in a row that a long number has on one side of its point (:func:`_may_hold_long_number`).
_HALF_OF_LONG = b"9" * -(-LONG_DIGITS // 2)
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


#: The built-in formats whose output this module reads back.
_READ_BACK = {"qti21", "qti30", "moodle", "gift", "canvas", "markdown", "xlsx"}
#: Formats whose XML holds HTML as text (CDATA or escaped): read twice, as XML then as HTML.
_HTML_IN_XML = {"moodle", "canvas"}
#: Formats that show the item's Markdown as written (a cloze's ``{{blank}}`` included), for editing:
#: read word by word as typed, and also as the Markdown each cell shows (:func:`_source_reading`).
_SHOWS_SOURCE = {"xlsx"}
#: Formats whose items' parts are checked for the texts only (the printed Markdown was read as a
#: whole before it was read item by item, and its other checks were never made).
_TEXTS_ONLY = {"markdown"}
_GIFT_ESCAPE = re.compile(r"\\([~=#{}:\\])")
#: Formats that print a calculated item's placeholders as template variables (no text to find there).
_PRINTED = {"qti21", "qti30"}
_PRINTED_VARIABLE = re.compile(r"<(?:qti-printed-variable|printedVariable)\b")
#: QTI elements whose identifier names a variable of the item or one of its choices: no two of them
#: may share one ("must not be used by any other choice or item variable").
_QTI_NAMED = ("responseDeclaration", "outcomeDeclaration", "templateDeclaration", "simpleChoice", "inlineChoice",
              "simpleAssociableChoice", "gapText", "gapImg", "hotspotChoice", "associableHotspot", "hottext", "gap")
#: Per QTI version, the start tag of each of those elements (group 1: its name) and of a modal feedback
#: (group 1 empty), with its attributes (group 2).  XML writes no ``>`` or ``"`` inside an attribute's
#: value (``&gt;``, ``&quot;``): a tag ends at the first ``>``, a value at the first ``"``.
_QTI_IDENTIFIED = {
    "qti21": re.compile("<(?:(" + "|".join(_QTI_NAMED) + r")|modalFeedback)\s([^>]*)>"),
    "qti30": re.compile("<qti-(?:(" + "|".join(re.sub(r"(?=[A-Z])", "-", n).lower() for n in _QTI_NAMED) + r")|modal-feedback)\s([^>]*)>"),
}
_QTI_IDENTIFIER = re.compile(r'(?:^|\s)identifier="([^"]*)"')
_QTI_OUTCOME = re.compile(r'(?:^|\s)(?:outcomeIdentifier|outcome-identifier)="([^"]*)"')


def _html_text(markup: str) -> str:
    """The text of HTML that a Markdown renderer wrote, tags read as word breaks and entities decoded.

    Such HTML is well-formed: a tag is ``<…>`` and text never holds a bare ``<`` (it is ``&lt;``), so
    a regular expression reads it exactly, at a fraction of an HTML parser's cost (the audit runs
    after every export)."""
    if "<" not in markup and "&" not in markup:
        return markup
    return html.unescape(_TAG.sub(" ", markup))


def reading(fmt: str, text: str) -> str:
    """What a reader of the output sees, as its words (casefolded) between single spaces, with a
    space at each end: a phrase ``" w1 w2 "`` is in it as a substring exactly when those words stand
    together in the output, and ``.split()`` gives the words."""
    if fmt == "markdown":
        # The Markdown as a reader sees it rendered (not cached: an output is read once).
        plain = _html_text(pyromark.html(text, options=MARKDOWN_OPTIONS))
    elif fmt == "gift":
        plain = html.unescape(_GIFT_ESCAPE.sub(r"\1", text))  # HTML or plain: tags only add words
    elif text.lstrip().startswith("<"):
        try:
            root = etree.fromstring(text.encode("utf-8"), _XML)
            return _element_reading(fmt, root)
        except etree.XMLSyntaxError:
            plain = text
    else:
        plain = text
    return _spaced(plain)


def _spaced(plain: str) -> str:
    return " " + _NON_WORD.sub(" ", plain.casefold()) + " "


def _element_reading(fmt: str, element: etree._Element) -> str:
    """:func:`reading` of an output's XML element (an item's part of a larger document, or all of it)."""
    plain = " ".join(element.itertext())  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here
    if fmt in _HTML_IN_XML and "&" in plain:
        # The text holds HTML (mostly; a Moodle match answer is plain, "<div>" as typed): entities
        # decoded, tags left in.  Tags only add words (tag and attribute names), so every word of
        # both readings — as HTML and as typed — is in this one, in order.
        plain = html.unescape(plain)
    return _spaced(plain)


def _source_reading(element: etree._Element) -> str:
    """:func:`reading` of an output's XML element that shows Markdown as written (a workbook row):
    each of its children (a cell) read as the Markdown it holds, as the renderer reads a text (a
    character reference or a backslash escape decoded, code as written, tags as word breaks).  Read
    as typed, ``caf&eacute;`` would be the words "caf eacute", not the "café" of the text."""
    cells = ["".join(child.itertext()) for child in element] if len(element) else ["".join(element.itertext())]  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here
    return _spaced(" ".join(_cell_text(cell) for cell in cells if cell))


def _cell_text(cell: str) -> str:
    """A cell's Markdown as the renderer reads it, a cloze placeholder read as a whole (its name's
    underscores are no emphasis: :class:`itembank.model.OpaqueStem`) and shown as written."""
    if "{{" not in cell:
        return _html_text(pyromark.html(cell, options=MARKDOWN_OPTIONS))
    opaque = opaque_placeholders(cell)
    return opaque.restore(_html_text(pyromark.html(opaque.text, options=MARKDOWN_OPTIONS)))


def found_in(needle: list[str], hay: str) -> bool:
    """Whether the words ``needle`` are in the reading ``hay`` in order (others may stand between:
    a format shows math and images its own way).  Most texts stand there as one phrase, which a
    substring search finds at once; the others are checked word by word."""
    return f" {' '.join(needle)} " in hay or in_order(needle, hay.split())


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


def _is_plain(where: str) -> bool:
    """Whether the text at ``where`` (as :func:`texts` names it) is plain text, not Markdown
    (``itembank.fields``: an ordering's steps and a matching's targets are compared as typed): every
    export shows it as typed, so ``caf&eacute;`` there is the words "caf" and "eacute", not "café"."""
    return where.startswith("sequence[") or where.endswith(".match")


def texts(item: AnyItem) -> Iterator[tuple[str, str]]:
    """(field, Markdown) of every text of an item an export must carry."""
    # A cloze's blanks become answer fields: the words around them must be there, checked below.
    # Each blank stands as braces around a space, which Markdown reads as every exporter reads the
    # token it puts there (itembank.model.OpaqueStem): the words around are those the output shows.
    yield "stem", replace_placeholders(item.stem, lambda name: _STAND_IN) if isinstance(item, ClozeItem) else item.stem
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
        if c.description:
            yield f"rubric[{i}].description", c.description
    if isinstance(item, ClozeItem):
        for b in item.blanks:
            if b.feedback:
                yield f"blanks.{b.name}.feedback", b.feedback
    if item.type == "flashcard":
        yield "answer", getattr(item, "answer")


# --- where each item's output is --------------------------------------------------------------------


_TEXT_FILES = (".xml", ".qti", ".md", ".html", ".txt", ".gift", ".csv", ".json", ".rels")


def _outputs(result: ExportResult) -> Iterator[tuple[str, bytes]]:
    """The output's text files, (name, bytes) ("" for a single-file output), media left out, in the
    output's order; a zip's members read one at a time, each let go when the caller moves on (all the
    decompressed files of 10,000 items together are ~100 MB)."""
    if result.files is not None:
        yield from ((n, d) for n, d in result.files.items() if n.lower().endswith(_TEXT_FILES))
        return
    data = result.data or b""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for n in z.namelist():
                if n.lower().endswith(_TEXT_FILES):
                    yield n, z.read(n)
        return
    yield "", data


def _single(result: ExportResult) -> bytes:
    """A one-file output's bytes (what ``_outputs`` gives under the name "")."""
    return dict(_outputs(result))[""]


class _Own:
    """One item's part of an output, as written (``raw``), read further only when the audit needs it."""

    __slots__ = ("fmt", "raw", "_element", "_reading", "_source")

    def __init__(self, fmt: str, raw: str) -> None:
        self.fmt = fmt
        self.raw = raw
        self._element: etree._Element | None = None
        self._reading: str | None = None
        self._source: str | None = None

    def has(self, pieces: list[str]) -> bool:
        """Whether the output holds the pieces, as the format writes them, in order, each as whole words."""
        write = _AS_WRITTEN_IN[self.fmt]
        return not self.lacking(pieces if write is None else [write(piece) for piece in pieces], (len(pieces),))

    def lacking(self, pieces: Sequence[str], ends: Sequence[int]) -> list[int]:
        """Which texts the output does not hold (:meth:`has`), text ``k`` being ``pieces[ends[k - 1]:ends[k]]``
        as the format writes them (:func:`_lacking`)."""
        return _lacking(self.raw, pieces, ends, self.fmt != "gift")

    def found(self, needle: list[str]) -> bool:
        """Whether the words ``needle`` are in the part, read word by word, in order (:func:`found_in`)."""
        if self._reading is None:
            self._reading = self.reading()
        if found_in(needle, self._reading):
            return True
        if self.fmt not in _SHOWS_SOURCE:
            return False
        if self._source is None:  # read only for a text not found as typed (rare: no cost to the others)
            element = self._parsed()
            self._source = _source_reading(element) if element is not None else reading("markdown", self.raw)
        return found_in(needle, self._source)

    def found_as_typed(self, needle: list[str]) -> bool:
        """:meth:`found` in an XML part whose texts are read without decoding them as HTML too: where a
        format that holds HTML in XML writes a plain text as plain text (Canvas's ``text/plain``
        material, a Moodle match answer), ``caf&amp;eacute;`` shows "caf&eacute;", not "café"; in GIFT,
        whose match answers Moodle reads as plain text, the text with GIFT's escapes undone only."""
        if self.fmt == "gift":
            return found_in(needle, _spaced(_GIFT_ESCAPE.sub(r"\1", self.raw)))
        element = self._parsed() if self.fmt in _HTML_IN_XML else None
        return element is not None and found_in(needle, _spaced(" ".join(element.itertext())))  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here

    def reading(self) -> str:
        element = self._parsed()
        return reading(self.fmt, self.raw) if element is None else _element_reading(self.fmt, element)

    def _parsed(self) -> etree._Element | None:
        """The part as XML (parsed once), or None for a part that is not (GIFT, or not well-formed)."""
        if self.fmt == "gift" or not self.raw.lstrip().startswith("<"):
            return None
        if self._element is None:
            try:
                self._element = etree.fromstring(self.raw.encode("utf-8"), _XML)
            except etree.XMLSyntaxError:
                return None
        return self._element

    @property
    def markup(self) -> str:
        return self.raw

    def identity(self) -> bytes:
        return _hash(self.raw.encode("utf-8", "surrogatepass")).digest()

    def moved(self) -> bytes | None:
        """What the part is whatever its place in the output (:meth:`_Printed.moved`); None: only
        its :meth:`identity`."""
        return None


class _Files:
    """A package's files, each read when asked for (its zip opened once)."""

    def __init__(self, result: ExportResult) -> None:
        self._result = result
        self._zip: zipfile.ZipFile | None = None

    def read(self, name: str) -> bytes:
        if self._result.files is not None:
            return self._result.files[name]
        package = self._open()
        return _inflated(self._result.data or b"", package.getinfo(name)) or package.read(name)

    def names(self) -> list[str]:
        """The text files' names, in the output's order (the zip opened once, for :meth:`read` too)."""
        every = list(self._result.files) if self._result.files is not None else self._open().namelist()
        return [n for n in every if n.lower().endswith(_TEXT_FILES)]

    def stream(self, name: str) -> IO[bytes]:
        """The file's bytes as a stream (a zip member decompressed as it is read, its CRC-32 checked at its end)."""
        if self._result.files is not None:
            return io.BytesIO(self._result.files[name])
        data = self._result.data or b""
        info = self._open().getinfo(name)
        span = _deflated_span(data, info)
        if span is not None:
            return _Inflating(memoryview(data)[span[0] : span[1]], info)  # type: ignore[return-value]
        return self._open().open(name)

    def identity(self, name: str) -> bytes:
        """What tells the file's bytes apart without reading them: in a zip its CRC-32 and sizes (the
        bytes of a file unpacked from it are checked against those), else a hash of the bytes."""
        if self._result.files is not None:
            return _hash(self._result.files[name]).digest()
        info = self._open().getinfo(name)
        return f"{info.CRC} {info.file_size} {info.compress_size}".encode()

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(io.BytesIO(self._result.data or b""))
        return self._zip


#: What ISA-L's inflater raises on a damaged stream (its stubs do not say it is an exception class).
_INFLATE_ERRORS: tuple[type[Exception], ...] = (cast("type[Exception]", isal_zlib.error), zlib.error)


def _inflated(data: bytes, info: zipfile.ZipInfo) -> bytes | None:
    """A deflated zip member's bytes, inflated from the zip's ``data`` as ``ZipFile.read`` inflates
    them, without its Python reader per member (a third of the QTI audit's reading of 8,305 item
    files) and by ISA-L (a third of zlib's time); None for a member that is not a plain deflated one
    whose local header agrees with the directory, or whose size or CRC-32 is not the directory's
    (``ZipFile.read`` reads it, or says what is wrong)."""
    span = _deflated_span(data, info)
    if span is None:
        return None
    try:
        inflater = isal_zlib.decompressobj(-15)
        out = inflater.decompress(memoryview(data)[span[0] : span[1]])
    except _INFLATE_ERRORS:
        return None
    return out if inflater.eof and len(out) == info.file_size and isal_zlib.crc32(out) == info.CRC else None


def _deflated_span(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int] | None:
    """Where a plain deflated member's stream is in the zip's ``data`` (its local header agreeing
    with the directory); None for any other member."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x61:  # encrypted, patched, strongly encrypted
        return None
    at = info.header_offset
    header = data[at : at + 30]
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        return None
    flags, name_size, extra_size = int.from_bytes(header[6:8], "little"), int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
    if flags & 0x61:
        return None
    try:
        name = data[at + 30 : at + 30 + name_size].decode("utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    if name != info.orig_filename:
        return None
    start = at + 30 + name_size + extra_size
    if start + info.compress_size > len(data):
        return None
    return start, start + info.compress_size


class _Inflating(io.RawIOBase):
    """A plain deflated member read as a stream (:meth:`_Files.stream`), inflated by ISA-L from the
    zip's bytes a slice at a time, as ``ZipFile.open`` reads it (three times as fast: the Canvas
    audit reads ~100 MB of XML from a package of 10,000 items).  Its size and CRC-32 are checked
    when its end is read: ``zipfile.BadZipFile`` if they are not the directory's, or if the stream
    ends short."""

    #: Compressed bytes handed to the inflater at a time.
    SLICE = 1 << 17

    def __init__(self, stream: memoryview, info: zipfile.ZipInfo) -> None:
        super().__init__()
        self._stream, self._info = stream, info
        self._inflater = isal_zlib.decompressobj(-15)
        self._at = 0
        self._tail = b""  # what the inflater left of the last slice (its output was capped)
        self._crc = self._size = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size == 0:
            return b""
        cap = size if size is not None and size > 0 else 0  # (0: inflate all a slice holds)
        while not self._ended:
            if self._tail:
                source: bytes | memoryview = self._tail
            elif self._at < len(self._stream):
                source = self._stream[self._at : self._at + self.SLICE]
                self._at += len(source)
            else:
                source = b""  # every byte handed over: what the inflater still holds (a capped read left it)
            try:
                out = self._inflater.decompress(source, cap)
            except _INFLATE_ERRORS as exc:
                raise zipfile.BadZipFile(f"{self._info.filename}: {exc}") from None
            self._tail = self._inflater.unconsumed_tail
            if not out and not source:
                self._end()
            elif out:
                self._crc = isal_zlib.crc32(out, self._crc)
                self._size += len(out)
                return out
        return b""

    def _end(self) -> None:
        self._ended = True
        if not self._inflater.eof or self._size != self._info.file_size or self._crc != self._info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32, size or end for file {self._info.filename!r}")


class _Member:
    """An item's own file in a package, read (:meth:`load`) when the audit comes to the item: the
    items' files are held one at a time, not all at once."""

    __slots__ = ("fmt", "files", "name")

    def __init__(self, fmt: str, files: _Files, name: str) -> None:
        self.fmt, self.files, self.name = fmt, files, name

    def load(self) -> _Own:
        return _Own(self.fmt, self.files.read(self.name).decode("utf-8"))

    def identity(self) -> bytes:
        return self.name.encode("utf-8", "surrogatepass") + b"\0" + self.files.identity(self.name)

    def moved(self) -> bytes | None:
        return None


class _Rendered(_Own):
    """An item's part of the printed Markdown, rendered (``raw``: the HTML a reader of it sees)."""

    __slots__ = ()

    def reading(self) -> str:
        return _spaced(_html_text(self.raw))


class _Printed:
    """An item's part of the printed Markdown (its question on the paper and its entry in the key,
    or its card), rendered (:meth:`load`) only when the audit comes to the item."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    def load(self) -> _Own:
        # Each part alone, as a Markdown reader renders it: a list entry (or a card) is a block of
        # the document, made the same alone as in it, but for the link references another part may
        # define (an item's texts are read alone the same way, below: _shown_pieces).
        return _Rendered("markdown", "\n".join(pyromark.html(part, options=MARKDOWN_OPTIONS) for part in self.parts))

    def identity(self) -> bytes:
        h = _hash()
        for part in self.parts:
            h.update(part.encode("utf-8", "surrogatepass") + b"\0")
        return h.digest()

    def moved(self) -> bytes | None:
        """The identity of a question's entries with their numbers left out, each number's width
        kept (it sets the indent under ``n.``): an item added or removed before it numbers them
        anew, and a list's number is no text (a Markdown reader makes it the list's start).  None
        for a card, whose number is text of its heading."""
        h = _hash(b"moved\0")
        for part in self.parts:
            number = _ENTRY_NUMBER.match(part)
            if number is None:
                return None
            h.update(b"%d\0" % len(number.group(1)) + part[number.end(1) :].encode("utf-8", "surrogatepass") + b"\0")
        return h.digest()


#: The number a paper's question and a key's entry start with (``n.``, as :func:`_entries` cuts them).
_ENTRY_NUMBER = re.compile(r"(\d+)\. ")


class _Copies:
    """An item written more than once (a Canvas quiz item and its question bank copy): a text must
    be in every copy.  ``holding``: the copies whose holding the pieces means that every copy holds
    them (the others are the same text with more around it); by default, all."""

    def __init__(self, parts: list[_Own], holding: list[_Own] | None = None) -> None:
        self.parts = parts
        self.holding = parts if holding is None else holding
        self._readings: list[str] | None = None

    def has(self, pieces: list[str]) -> bool:
        return all(part.has(pieces) for part in self.holding)

    def lacking(self, pieces: Sequence[str], ends: Sequence[int]) -> list[int]:
        if len(self.holding) == 1:
            return self.holding[0].lacking(pieces, ends)
        return sorted({k for part in self.holding for k in part.lacking(pieces, ends)})

    def found(self, needle: list[str]) -> bool:
        if self._readings is None:
            self._readings = [part.reading() for part in self.parts]
        return all(found_in(needle, reading) for reading in self._readings)

    def found_as_typed(self, needle: list[str]) -> bool:
        return all(part.found_as_typed(needle) for part in self.parts)

    @property
    def markup(self) -> str:
        return "\n".join(part.raw for part in self.parts)


class _Slices:
    """An item's part of a package file (a workbook row), or its copies (in a Canvas package, the
    quiz's and its question bank's), kept aside as they stand in their files' bytes (:class:`_Spill`)
    and read (:meth:`load`) only when the audit comes to the item: a Canvas package of 100,000 items
    holds ~1 GB of XML, a workbook ~400 MB, which is never held in memory whole."""

    __slots__ = ("fmt", "spill", "spans", "digests")

    def __init__(self, fmt: str, spill: _Spill) -> None:
        self.fmt, self.spill = fmt, spill
        self.spans: list[tuple[int, int]] = []  # (where, length) of each copy in the spill
        self.digests: list[bytes] = []  # each copy's hash, worked out as it is put aside

    def add(self, raw: bytes) -> None:
        """One more copy, put aside, and hashed while it is at hand (reading every copy back from
        the spill to hash it, 20,000 reads for the Canvas package of 10,000 items, cost more)."""
        self.spans.append((self.spill.add(raw), len(raw)))
        self.digests.append(_hash(raw).digest())

    def load(self) -> _Own | _Copies:
        parts = [_Own(self.fmt, self.spill.read(at, size).decode("utf-8")) for at, size in self.spans]
        return parts[0] if len(parts) == 1 else _Copies(parts, _holding(self.fmt, parts))

    def identity(self) -> bytes:
        """The copies' hashes, in order (each a fixed length: the copies are told apart)."""
        return self.digests[0] if len(self.digests) == 1 else _hash(b"".join(self.digests)).digest()

    def moved(self) -> bytes | None:
        """A workbook row's identity with its row number left out (:func:`_row_unnumbered`): an item
        added or removed before it numbers it anew.  Read back from the spill: asked only of a row
        whose own identity has no verdict."""
        if self.fmt != "xlsx" or len(self.spans) != 1:
            return None
        at, size = self.spans[0]
        row = _row_unnumbered(self.spill.read(at, size))
        return None if row is None else _hash(b"moved\0" + row).digest()


def _row_unnumbered(row: bytes) -> bytes | None:
    """A workbook row as the xlsx export writes it (``<row r="N" ...>``, each cell ``<c r="AN" ...``)
    with the row's number and its cells' row numbers left out, each number's width kept; None for a
    row not written so.  The numbers are attributes, never text the audit reads (a tag is no text:
    :func:`_find_words`, :func:`reading`), and ``<c r="`` is a tag wherever it stands (text holds
    no ``<``).  One row maps to one result whatever its numbers, two rows that differ elsewhere to
    two."""
    cells = row.split(b'<c r="')
    head = cells[0]
    end = head.find(b'"', len(b'<row r="'))
    number = head[len(b'<row r="') : end]
    if not head.startswith(b'<row r="') or end < 0 or not number.isdigit():
        return None
    out = [b'<row r="%d' % len(number) + head[end:]]
    for cell in cells[1:]:
        end = cell.find(b'"')
        letters = cell[:end].rstrip(b"0123456789")
        digits = end - len(letters)
        if end < 0 or not digits or not letters.isalpha():
            return None
        out.append(letters + b"%d" % digits + cell[end:])
    return b'<c r="'.join(out)


#: What a Canvas quiz's copy of an item has that its question bank's copy has not: the value of its
#: own ident (inside a tag) and the metadata field naming the bank's copy (an element of its own).
_CANVAS_IDENT = '<item ident="'
_CANVAS_REF = "<qtimetadatafield><fieldlabel>assessment_question_identifierref</fieldlabel><fieldentry>"
_CANVAS_REF_END = "</fieldentry></qtimetadatafield>"


def _canvas_shared(raw: str) -> str:
    """A Canvas item's copy without what only the quiz's copy has (:data:`_CANVAS_REF`, the ident's
    value); string searches, not a regular expression (which took 3 s over 10,000 items)."""
    if raw.startswith(_CANVAS_IDENT):
        end = raw.find('"', len(_CANVAS_IDENT))
        if end >= 0:
            raw = raw[: len(_CANVAS_IDENT)] + raw[end:]
    at = raw.find(_CANVAS_REF)
    if at >= 0:
        end = raw.find(_CANVAS_REF_END, at)
        if end >= 0 and "<" not in raw[at + len(_CANVAS_REF) : end]:
            raw = raw[:at] + raw[end + len(_CANVAS_REF_END) :]
    return raw


def _holding(fmt: str, parts: list[_Own]) -> list[_Own] | None:
    """The copies :meth:`_Copies.has` must look in: in a Canvas package whose two copies of an item
    are the same but for what only the quiz's has (:func:`_canvas_shared`), the bank's alone.
    Exact: the quiz's copy is then the bank's with an ident of the same place (inside a tag) and one
    more element, so pieces found in order in the bank's copy, as whole words outside tags, are
    found so in the quiz's (half the Canvas audit's search; a text lost from either copy makes them
    differ, and both are searched).  None: every copy."""
    if fmt != "canvas" or len(parts) != 2:
        return None
    bare = [part for part in parts if _CANVAS_REF not in part.raw]  # the bank's copy (both: either)
    first, second = (_canvas_shared(part.raw) for part in parts)
    if first != second or not bare:
        return None
    return bare[:1]


class _Spill:
    """Bytes put aside until the audit comes to them: in memory while they are few, then in an
    unnamed temporary file (the disk holds what memory would), read back with ``os.pread``, which
    moves no shared file position (the audit's forked processes read the same file).  Written with
    :meth:`add`, then :meth:`done`; where no temporary file can be written, it stays in memory."""

    #: Bytes held in memory before they go to a file.
    MEMORY = 8 << 20
    #: Bytes gathered before each write to the file.
    _BATCH = 1 << 20

    def __init__(self) -> None:
        self._memory: bytearray | None = bytearray()
        self._file: IO[bytes] | None = None
        self._pending = bytearray()
        self._written = 0  # bytes in the file
        self.size = 0

    def add(self, data: bytes) -> int:
        """Put ``data`` aside; where it is (for :meth:`read`)."""
        at = self.size
        self.size += len(data)
        if self._memory is not None:
            self._memory += data
            if len(self._memory) > self.MEMORY:
                self._to_file()
            return at
        self._pending += data
        if len(self._pending) >= self._BATCH:
            self._flush()
        return at

    def done(self) -> None:
        """Every byte added is readable (and a forked process reads the same file)."""
        if self._pending:
            self._flush()

    def read(self, at: int, size: int) -> bytes:
        if self._memory is not None:
            return bytes(self._memory[at : at + size])
        if self._pending:
            self._flush()
            if self._memory is not None:  # the file failed: all of it is in memory now
                return bytes(self._memory[at : at + size])
        return self._pread(at, size)

    def _pread(self, at: int, size: int) -> bytes:
        assert self._file is not None
        parts: list[bytes] = []
        while size:
            chunk = os.pread(self._file.fileno(), size, at)
            if not chunk:
                raise OSError(f"the audit's temporary file ended at {at}")
            parts.append(chunk)
            at += len(chunk)
            size -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory = bytearray()
        self._pending = bytearray()
        self.size = self._written = 0

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _to_file(self) -> None:
        try:
            self._file = tempfile.TemporaryFile(prefix="itembank-audit-")
        except OSError:
            self.MEMORY = sys.maxsize  # no file: memory it is
            return
        self._pending, self._memory = self._memory or bytearray(), None
        self._flush()

    def _flush(self) -> None:
        assert self._file is not None
        data, fd = self._pending, self._file.fileno()
        try:
            done = 0
            while done < len(data):
                done += os.pwrite(fd, data[done:] if done else data, self._written + done)
        except OSError:  # the disk is full: what the file holds comes back to memory, and stays there
            memory = bytearray(self._pread(0, self._written)) if self._written else bytearray()
            memory += self._pending
            self._file.close()
            self._file, self._memory, self._pending = None, memory, bytearray()
            self.MEMORY = sys.maxsize
            return
        self._written += len(self._pending)
        self._pending = bytearray()


#: An item's own part of an output, as :func:`_per_item` finds it (read further when the audit comes to it).
_Entry = _Own | _Member | _Printed | _Slices


_GIFT_SPECIAL = re.compile(r"[\\~=#{}:]")


def _gift_escaped(piece: str) -> str:
    r"""``_GIFT_SPECIAL.sub(r"\\\g<0>", piece)``: each of its characters with a backslash before it,
    in calls of ``str.replace`` (the backslash first: no later one adds a backslash it would double),
    a fifth of the time of ``re.sub`` with a call per match, or of ``str.translate``."""
    return piece.replace("\\", "\\\\").replace("~", "\\~").replace("=", "\\=").replace("#", "\\#").replace("{", "\\{").replace("}", "\\}").replace(":", "\\:")


def _xml_text(piece: str) -> str:
    return piece.replace("&", "&amp;")


#: How each per-item format writes a piece of rendered HTML text (entities as the renderer wrote
#: them); None: as it stands.
_AS_WRITTEN_IN: dict[str, Callable[[str], str] | None] = {
    "qti21": None,  # XHTML in XML: the same escaping
    "qti30": None,
    "moodle": _xml_text,  # HTML as text of an XML element
    "canvas": _xml_text,
    "xlsx": None,  # the Markdown as written, in XML
    "markdown": None,  # the printed Markdown rendered, as the item's texts are
    "gift": _gift_escaped,
}


def _lacking(hay: str, pieces: Sequence[str], ends: Sequence[int], xml: bool) -> list[int]:
    """Which texts ``hay`` does not hold, text ``k`` being ``pieces[ends[k - 1]:ends[k]]`` (the
    first from 0), each piece found by :func:`_find_words`, in order from where the text's previous
    piece ends: all of an item's texts in one call (an audit looks for ~150,000 texts).

    A piece's first occurrence is taken here when what stands on either side of it is no word
    character (:data:`_NOT_WORD`) and, in XML, a ``>`` or no open tag stands before it: what
    :func:`_find_words` would take, without a call and its tests of the piece's ends (most pieces
    of an output stand so: ~1.2 million of a build's audits).  Any other is left to it.

    A text is looked for first from where the text before it was found (a format writes most of an
    item's texts in their order: the search then reads 60 % fewer characters), and from the start
    only when it is not there.  The outcome is the same: each piece's first fit from where the one
    before ends is the earliest place it can end, so a text is found from the start whenever it can
    be found at all, and one found further on is found there too."""
    lacking: list[int] = []
    find, rfind, size, not_word = hay.find, hay.rfind, len(hay), _NOT_WORD
    start = resume = 0
    for k, stop in enumerate(ends):
        for origin in (resume, 0) if resume else (0,):
            pos = origin
            for i in range(start, stop):
                piece = pieces[i]
                at = find(piece, pos)
                if at < 0:
                    break
                end = at + len(piece)
                if (end == size or hay[end] in not_word) and (
                    not at
                    or (before := hay[at - 1]) == ">"
                    or (before in not_word and (not xml or (lt := rfind("<", 0, at)) < 0 or find(">", lt, at) >= 0))
                ):
                    pos = end
                    continue
                pos = _find_words(hay, piece, pos, xml)
                if pos < 0:
                    break
            else:  # every piece found: the next text is looked for from here first
                resume = pos
                break
        else:
            lacking.append(k)
        start = stop
    return lacking


#: Characters that are no word character (``\w``: alphanumeric or ``_``), among those that stand
#: most often beside a text in an output: tags' ends, spaces, punctuation, entities' ends.
_NOT_WORD = frozenset(" \n\t<>;&.,:!?()\"'")


def _find_words(hay: str, text: str, start: int = 0, xml: bool = False) -> int:
    """Where ``text`` ends in ``hay`` (from ``start``) standing with no word character joined to
    either end (and, in XML, outside a tag: a tag's name and attributes are not text); -1 when it is
    not there."""
    at = hay.find(text, start)
    if at < 0:
        return -1
    # A word character is what \w matches: alphanumeric or "_".  Tested once for the text's ends.
    first, last, n = text[0], text[-1], len(text)
    word_first, word_last = first.isalnum() or first == "_", last.isalnum() or last == "_"
    while at >= 0:
        end = at + n
        if word_first and at and ((c := hay[at - 1]).isalnum() or c == "_"):
            pass  # a word character before it: the text is part of a longer word
        elif word_last and end < len(hay) and ((c := hay[end]).isalnum() or c == "_"):
            pass
        elif xml and at and hay[at - 1] != ">" and (lt := hay.rfind("<", 0, at)) >= 0 and hay.find(">", lt, at) < 0:
            pass  # inside a tag (right after a ">", it is not: no "<" since)
        else:
            return end
        at = hay.find(text, at + 1)
    return -1


def _shown_pieces(renderer: Renderer, text: str) -> list[str]:
    """The pieces of text a reader sees of a Markdown text, as the renderer wrote them between tags
    (math and images left out; pieces without a word left out)."""
    if PLAIN.match(text):
        return [text.rstrip()]  # (it starts with a letter: a word; render.PLAIN)
    markup = renderer.visible_html(text)
    blanks = _BLANK in markup
    if not blanks and markup.startswith("<p>") and markup.find("<", 3) == len(markup) - 4 and markup.endswith("</p>"):
        # One paragraph without markup (most texts): its one piece, as _TAG.split would give it.
        piece = markup[3:-4].strip()
        return [piece] if _HAS_WORD.search(piece) else []
    segments = _TAG.split(markup)
    if blanks:
        segments = [part for seg in segments for part in seg.replace(_BLANK_MARK, _BLANK).split(_BLANK)]
    return [p for p in (seg.strip() for seg in segments) if p and _HAS_WORD.search(p)]


#: What the quick find puts where a cloze has a blank (an export writes an answer field there):
#: :func:`_shown_pieces` cuts a piece there.  A character that no word has, that Markdown reads as
#: whitespace, as it reads the space the word-by-word reading puts there, and that no entity holds.
_BLANK = "\f"
#: What the audit puts where a cloze has a blank: braces, as around the token each exporter renders
#: there (itembank.model.OpaqueStem), so that Markdown reads the text on either side as it reads it
#: in the export (``{{_x}} and {{y_}}`` is no emphasis; ``_{{w}}_`` is); around a space for the
#: word-by-word reading, around :data:`_BLANK` for the quick find.
_STAND_IN = "{ }"
_BLANK_MARK = "{" + _BLANK + "}"


def _cloze_stem_pieces(renderer: Renderer, stem: str, text: str) -> list[str]:
    """The pieces of a cloze stem, cut at its blanks; ``text`` is the stem as the word-by-word
    reading has it (:func:`texts`)."""
    marked = replace_placeholders(stem, lambda name: _BLANK_MARK)
    # The pieces must hold the words read word by word: if the marks changed what Markdown makes of
    # the stem (a rare layout: a blank alone on a line...), its pieces are looked for as they stand.
    return _shown_pieces(renderer, marked if renderer.words(marked) == renderer.words(text) else text)


def _text_nodes(data: bytes) -> Iterator[str]:
    """The text nodes of an XML document, read as a stream (a Canvas quiz of 10,000 items is 60 MB
    of XML: as a tree, ten times that in memory)."""
    for _event, element in etree.iterparse(io.BytesIO(data), events=("end",), resolve_entities=False, no_network=True, huge_tree=True):
        if element.text:
            yield element.text
        for child in element:
            if child.tail:
                yield child.tail
        element.clear(keep_tail=True)


class _Whole:
    """A whole output (for the formats whose items are not told apart in it): its texts as they
    stand between tags, and (read only when the audit needs it) the set of its words."""

    def __init__(self, fmt: str, files: Iterator[tuple[str, bytes]]) -> None:
        self.fmt = fmt
        nodes: set[str] = set()  # a set: a text the output repeats (a Canvas quiz and its bank) is read once
        for _name, data in files:
            if fmt == "markdown":
                nodes.add(pyromark.html(data.decode("utf-8", "replace"), options=MARKDOWN_OPTIONS))
                continue
            try:
                nodes.update(_text_nodes(data))
            except etree.XMLSyntaxError:
                nodes.add(data.decode("utf-8", "replace"))
        self._nodes = nodes
        self.pieces: set[str] = set()
        if fmt in _HTML_IN_XML or fmt == "markdown":
            for node in nodes:
                self.pieces.update(_segments(node))
        else:
            self.pieces.update(node.strip() for node in nodes)
        self._words: set[str] | None = None
        self._by_end: dict[str, list[str]] | None = None

    def has(self, text: str, pieces: list[str]) -> bool:
        """Whether the output holds the text as written (a cell), or each of its pieces as the renderer
        wrote them (entities as written, or decoded) between tags."""
        return text.strip() in self.pieces or all(p in self.pieces or self._ends(p) for p in pieces) or all(html.unescape(p) in self.pieces for p in pieces)

    def _ends(self, piece: str) -> bool:
        """Whether the piece ends a text of the output (a matching table's ``1. <prompt>``, a cloze
        blank's line before ``. <the rest of the sentence>``) after a space, or starting with a mark
        that is neither a word character nor part of an entity (``&``, ``#``, ``;``): then the words
        of the piece are words of that text, as those of a piece found whole are."""
        if len(piece) < _END:
            return False
        if self._by_end is None:  # the texts by their last characters, made at the first piece not found whole
            self._by_end = {}
            for seg in self.pieces:
                if len(seg) > _END:
                    self._by_end.setdefault(seg[-_END:], []).append(seg)
        first = piece[0]
        mark = not (first.isalnum() or first == "_" or first in "&#;")
        for seg in self._by_end.get(piece[-_END:], ()):
            if len(seg) > len(piece) and seg.endswith(piece) and (mark or seg[-len(piece) - 1] in " \t\n\f"):
                return True
        return False

    def words(self) -> set[str]:
        if self._words is None:
            self._words = set()
            for node in self._nodes:  # cut by cut: the set of distinct words is small, the text is not
                for cut in _cuts(node):
                    # Markdown rendered: tags stripped; HTML or plain text in XML: entities decoded, tags
                    # left in (they only add words).  The words of _spaced(plain).split(), without the copies.
                    plain = _html_text(cut) if self.fmt == "markdown" else html.unescape(cut)
                    self._words.update(_WORD.findall(plain.casefold()))
        return self._words


def _segments(markup: str) -> Iterator[str]:
    """The texts between the tags of ``markup``, stripped: ``_TAG.split(markup)``, read cut by cut (a
    printed bank is 25 MB of HTML; a list of all its pieces takes ten times that)."""
    for k, cut in enumerate(_cuts(markup)):
        segments = _TAG.split(cut)
        yield from (seg.strip() for seg in (segments[1:] if k else segments))  # a cut starts at a tag: no text before it


#: How many last characters :meth:`_Whole._ends` looks a piece up by (a shorter piece must be found whole).
_END = 8

#: About how many characters :func:`_cuts` puts in a cut.
_CUT = 1 << 18


def _cuts(markup: str) -> Iterator[str]:
    """``markup`` in consecutive cuts of about :data:`_CUT` characters, read as the whole is read.

    Each cut (but the first) starts at a ``<`` that :data:`_TAG` matches when it reads the whole text
    (no earlier match reaches it: the ``<`` before it was closed by a ``>``; a ``>`` follows it), so
    the tags of the cuts are those of the whole.  A tag read as a space, or that ``<`` left as is,
    ends any entity and word before it, so the cuts also unescape and split into words as the whole
    does: whatever the markup, the pieces and words of the cuts are those of the whole text."""
    start, end = 0, len(markup)
    while end - start > _CUT:
        at = markup.find("<", start + _CUT)
        if at < 0 or markup.find(">", at) < 0:
            break  # no tag left to cut at
        while at >= 0 and markup.rfind(">", 0, at) < markup.rfind("<", 0, at):
            at = markup.find("<", at + 1)
        if at < 0 or markup.find(">", at) < 0:
            break
        yield markup[start:at]
        start = at
    yield markup[start:]


_XLSX_ID = re.compile(rb'<row\b[^>]*><c r="A\d+"[^>]*><is><t>([^<]*)</t></is></c>')  # (matched at the row's start)
_CANVAS_TITLE = re.compile(r'<item\b[^>]*?\btitle="([^"]*)"')
_CANVAS_ID_FIELD = re.compile(r"<fieldlabel>itembank_id</fieldlabel>\s*<fieldentry>([^<]*)</fieldentry>")
_CANVAS_TITLE_BYTES = re.compile(_CANVAS_TITLE.pattern.encode())
_CANVAS_ID_FIELD_BYTES = re.compile(_CANVAS_ID_FIELD.pattern.encode())
_MOODLE_ID = re.compile(r"<idnumber>([^<]*)</idnumber>")
_MOODLE_ID_BYTES = re.compile(rb"<idnumber>([^<]*)</idnumber>")


def _per_item(fmt: str, bank: Bank, result: ExportResult, spill: _Spill | None = None) -> dict[str, _Entry]:
    """Each item's own output, for the formats whose layout is known; {} for the others.  The files
    are read one at a time, and a large one is sliced as bytes (its markers are ASCII: the same cuts
    as in its text), each part decoded alone: only the parts stay.  ``spill``: where a Canvas
    package's and a workbook's parts are put aside (closed by the caller; without it, one that
    closes when dropped)."""
    out: dict[str, _Entry] = {}
    if fmt == "markdown":
        out.update(_printed_parts(bank, result))
    elif fmt in ("qti21", "qti30"):
        package = _Files(result)
        for name in package.names():  # every item file: also the variants of an expanded calculated item
            if name.startswith("items/") and name.endswith(".xml"):
                out[name[len("items/") : -len(".xml")]] = _Member(fmt, package, name)
    elif fmt == "moodle":
        document = _single(result)
        sliced = _moodle_sliced(document) if b"<![CDATA[" in document else None
        if sliced is not None:
            out.update(sliced)
        elif b"<![CDATA[" in document:  # sliced as XML: CDATA could hold "</question>" (escaped text cannot)
            for idnumber, question in _moodle_questions(document):
                out[idnumber] = _Own(fmt, question)
        else:
            for question in _parts(document.decode("utf-8"), "<question", "</question>"):
                ident = _MOODLE_ID.search(question)
                if ident and ident.group(1):
                    out[html.unescape(ident.group(1))] = _Own(fmt, question)
    elif fmt == "xlsx":
        # A row per item, its id in column A (the Items sheet; the first sheet that has the item),
        # each sheet read as a stream and each item's row put aside (``spill``) as it passes.
        spill = _Spill() if spill is None else spill
        for raw in _sorted_parts(result, lambda n: n.startswith("xl/worksheets/"), b"<row", b"</row>"):
            first = _XLSX_ID.match(raw)  # the row's start, as bytes: the id alone is decoded
            if first:
                name = html.unescape(first.group(1).decode("utf-8"))
                if name not in out:
                    row = _Slices(fmt, spill)
                    row.add(raw)
                    out[name] = row
        spill.done()
    elif fmt == "canvas":
        # Each item is in the quiz and in its topic's question bank: <item title="id or title"> with,
        # for a titled item, an itembank_id field.
        # Each file is read as a stream and each item's bytes are put aside (``spill``) as it passes.
        copies: dict[str, _Slices] = {}
        spill = _Spill() if spill is None else spill
        quiz_files = _sorted_parts(result, lambda n: n.endswith((".xml", ".qti")) and n != "imsmanifest.xml" and not n.endswith("assessment_meta.xml"), b"<item ", b"</item>")
        for raw in quiz_files:
            field = _CANVAS_ID_FIELD_BYTES.search(raw)
            title = _CANVAS_TITLE_BYTES.match(raw)
            written = field.group(1) if field else (title.group(1) if title else None)
            if written:
                name = html.unescape(written.decode("utf-8"))
                slices = copies.get(name)
                if slices is None:
                    slices = copies[name] = _Slices(fmt, spill)
                slices.add(raw)
        spill.done()
        out.update(copies)
    elif fmt == "gift":
        # Each question's block (the text between blank lines) is a view of the document's bytes,
        # decoded when the audit comes to it: neither the document's text nor its blocks are copied
        # (the bytes have the same cuts as the text: the markers are ASCII).
        document = _single(result)
        view = memoryview(document)
        for begin, end in _split_at(document, b"\n\n"):
            m = _GIFT_ID_BYTES.search(document, begin, end)
            if m:
                out[m.group(1).decode("utf-8")] = _GiftBlock(view[begin:end])
    return out


#: A GIFT question's id, in the comment the exporter writes before it (``// [id:q1]``).
_GIFT_ID_BYTES = re.compile(rb"// \[id:([^\]]+)\]")


def _split_at(data: bytes, separator: bytes) -> Iterator[tuple[int, int]]:
    """Where each part of ``data.split(separator)`` begins and ends in ``data`` (the parts are not made)."""
    at = 0
    while True:
        cut = data.find(separator, at)
        if cut < 0:
            yield at, len(data)
            return
        yield at, cut
        at = cut + len(separator)


class _GiftBlock(_Member):
    """A GIFT question's block, a view of the document's bytes, read (:meth:`load`) when the audit
    comes to it: its text with GIFT's ``\\n`` read as the newline it stands for."""

    __slots__ = ("raw",)

    def __init__(self, raw: memoryview) -> None:
        self.fmt, self.raw = "gift", raw

    def load(self) -> _Own:
        return _Own(self.fmt, _GIFT_NEWLINE.sub(_gift_newline, bytes(self.raw).decode("utf-8")))

    def identity(self) -> bytes:
        return _hash(self.raw).digest()


#: A backslash and the character it escapes, read in pairs from the left as Moodle reads them: ``\\n`` is
#: GIFT's newline, but ``\\\\n`` an escaped backslash before an "n" (C's ``printf("%d\\n")`` in a code block).
_GIFT_NEWLINE = re.compile(r"\\(.)", re.S)


def _gift_newline(m: re.Match[str]) -> str:
    """GIFT's ``\\n`` as the newline it stands for; any other escape kept as written."""
    return "\n" if m.group(1) == "n" else m.group()


#: A line at the start of a line (the printed Markdown's blocks: an entry of its numbered lists, a heading, a paragraph).
_FLUSH = re.compile(r"^(?=\S)", re.M)
#: A line break before such a line: a search that jumps from line break to line break (``_FLUSH``
#: tries every position: 0.07 s on the 17 MB key of 10,000 items, this 0.01 s).
_BEFORE_FLUSH = re.compile(r"\n(?=\S)")


def _flush_lines(document: str) -> Iterator[int]:
    """Where each line that starts at the margin starts: ``_FLUSH``'s matches."""
    if document[:1] and not document[0].isspace():
        yield 0
    for m in _BEFORE_FLUSH.finditer(document):
        yield m.end()
#: A question's first line on the paper: its number and points (``1. *(2 points)*``).
_PAPER_ENTRY = re.compile(r"(\d+)\. \*\([^)\n]*\bpoints?\)\*\n")
#: An entry's first line in the key: its number, its name, its id in code, its points (``1. *Title* (`id`) · 2 points``).
_KEY_ENTRY = re.compile(r"(\d+)\. (?:[^\n]* \()?`([a-z0-9][a-z0-9._-]*)`\)? · [^\n]*\bpoints?\n")
_CARD = re.compile(r"## Card (\d+): ")


def _printed_parts(bank: Bank, result: ExportResult) -> dict[str, _Printed]:
    """Each item's part of the printed Markdown (``exporters/markdown.py``), or {} when the output
    does not read as that layout (then the audit reads it as a whole).

    The paper and the key are numbered lists whose entries are indented under their first line:
    each entry runs from its first line to the next line that starts at the margin.  Question ``n``
    is entry ``n`` of the paper and entry ``n`` of the key, whose first line names the item's id;
    the numbers must run 1, 2, ... in both, else nothing is sliced.  Card ``k`` of ``flashcards.md``
    (``## Card k: ...`` to the next card) is the bank's ``k``-th flashcard, the cards numbered 1, 2, ...
    as many as the bank has."""
    files = result.files or {}
    keys = [n for n in files if n.endswith("-key.md")]
    if len(keys) != 1 or keys[0][: -len("-key.md")] + ".md" not in files:
        return {}
    paper = files[keys[0][: -len("-key.md")] + ".md"].decode("utf-8")
    key = files[keys[0]].decode("utf-8")
    questions = _entries(paper, _PAPER_ENTRY)
    answers = _entries(key, _KEY_ENTRY)
    if questions is None or answers is None or len(questions) != len(answers):
        return {}
    out: dict[str, _Printed] = {}
    for question, (m, answer) in zip(questions, answers):
        ident = m.group(2)
        if ident in out:
            return {}
        out[ident] = _Printed([question[1], answer])
    cards = [i for i in bank.items if i.type == "flashcard"]
    text = files.get("flashcards.md", b"").decode("utf-8")
    starts = [at for at in _flush_lines(text) if _CARD.match(text, at)]
    if [int(_CARD.match(text, at).group(1)) for at in starts] != list(range(1, len(cards) + 1)):  # type: ignore[union-attr]
        return {}
    bounds = [*starts, len(text)]
    for card, begin, end in zip(cards, bounds, bounds[1:]):
        if card.id in out:
            return {}
        out[card.id] = _Printed([text[begin:end]])
    return out


def _entries(document: str, first_line: re.Pattern[str]) -> list[tuple[re.Match[str], str]] | None:
    """The entries of the numbered lists of ``document`` whose first line is ``first_line``, each
    with its text, in order; None unless they are numbered 1, 2, ..."""
    out: list[tuple[re.Match[str], str]] = []
    begin: int | None = None
    found: re.Match[str] | None = None
    for at in _flush_lines(document):
        if begin is not None and found is not None:
            out.append((found, document[begin:at]))
            begin = found = None
        line = first_line.match(document, at)
        if line is not None:
            if int(line.group(1)) != len(out) + 1:
                return None
            begin, found = at, line
    if begin is not None and found is not None:
        out.append((found, document[begin:]))
    return out


def _parts(document: AnyStr, start: AnyStr, end: AnyStr) -> Iterator[AnyStr]:
    """The parts of ``document`` from ``start`` to ``end`` included, one for each ``end``: from the
    first ``start`` after the previous ``end``, a part without a ``start`` left out.  Sliced from
    the document, without a list of all of it cut at each ``end`` (the output of 10,000 items is
    36-60 MB: each copy of it counts)."""
    for begin, stop in _spans(document, start, end):
        yield document[begin:stop]


def _sorted_parts(result: ExportResult, keep: Callable[[str], bool], start: bytes, end: bytes) -> Iterator[bytes]:
    """The parts (:func:`_streamed_parts`) of the text files whose names ``keep`` takes, in the order
    of their names, each file read as a stream (a zip's directory read once)."""
    package = _Files(result)
    for member in sorted(n for n in package.names() if keep(n)):
        with package.stream(member) as stream:
            yield from _streamed_parts(stream, start, end)


#: How much of a package file :func:`_streamed_parts` reads at a time.
_READ = 1 << 20


def _streamed_parts(stream: IO[bytes], start: bytes, end: bytes, size: int = _READ) -> Iterator[bytes]:
    """``_parts(stream.read(), start, end)``, read ``size`` bytes at a time: only the bytes
    since the last ``end`` are held (a part, and what stands between parts)."""
    held, scan = b"", 0
    while True:
        chunk = stream.read(size)
        held = held + chunk if held else chunk
        # As _spans reads the whole: from the previous end (here, the start of ``held``) to each end.
        # No end starts before ``scan`` (the last search reached there).
        previous, at = 0, held.find(end, scan)
        while at >= 0:
            begin = held.find(start, previous, at)
            previous = at + len(end)
            if begin >= 0:
                yield held[begin:previous]
            at = held.find(end, previous)
        if not chunk:
            return
        held = held[previous:]
        scan = max(0, len(held) - len(end) + 1)


def _spans(document: AnyStr, start: AnyStr, end: AnyStr) -> Iterator[tuple[int, int]]:
    """Where :func:`_parts`'s parts are: (begin, end) offsets in ``document``."""
    previous, at = 0, document.find(end)
    while at >= 0:
        begin = document.find(start, previous, at)
        previous = at + len(end)
        if begin >= 0:
            yield begin, previous
        at = document.find(end, previous)


class _SlicedQuestion(_Member):
    """A Moodle question cut from the document as bytes (:func:`_moodle_sliced`): it is what those
    bytes are (:meth:`identity`: nothing parsed), and it is read (:meth:`load`) only when the audit
    comes to it, as the very text :func:`_moodle_questions` gives (the question parsed alone, then
    written with the whitespace that follows it)."""

    __slots__ = ("raw", "tail")

    def __init__(self, raw: memoryview, tail: bytes) -> None:
        self.fmt, self.raw, self.tail = "moodle", raw, tail  # raw: a view of the document (its bytes are not copied)

    def load(self) -> _Own:
        return _Own(self.fmt, etree.tostring(etree.fromstring(bytes(self.raw), _XML), encoding="unicode") + self.tail.decode("ascii"))

    def identity(self) -> bytes:
        return _hash(self.raw).digest() + self.tail


_MOODLE_MARKUP = (b"<question", b"</question", b"<idnumber", b"</idnumber")


def _moodle_sliced(document: bytes) -> dict[str, _Entry] | None:
    """Each question of a Moodle XML document that has an idnumber, cut as bytes at its tags, when
    that is safe; else None (then :func:`_moodle_questions` parses the document).

    Safe when the document holds no markup but elements, CDATA sections and comments (one ``<?``,
    its declaration; every ``<!`` a CDATA section or a comment), when no CDATA section or comment
    holds a ``question`` or ``idnumber`` tag (so every one of those in the document is markup),
    and when only whitespace follows each question: the cuts are then the elements' own bounds.
    A search of each CDATA section, not a parse: a tenth of the time on 10,000 questions."""
    find = document.find
    hidden = 0
    for opening, closing in ((b"<![CDATA[", b"]]>"), (b"<!--", b"-->")):
        at = find(opening)
        while at >= 0:
            end = find(closing, at)
            if end < 0:
                return None
            if find(b"question", at, end) >= 0 or find(b"idnumber", at, end) >= 0:
                section = document[at:end]
                if any(tag in section for tag in _MOODLE_MARKUP):
                    return None
            hidden += 1
            at = find(opening, end)
    # Every "<!" is a section found above: each of those begins with one, so when "!" occurs no more
    # often than they do, "<!" does not either.  Counting "!" alone is three times faster than
    # counting "<!" (which stops at every "<", every tag); "!" in the text makes it count "<!".
    if (document.count(b"!") != hidden and document.count(b"<!") != hidden) or _declarations(document) != 1:
        return None
    out: dict[str, _Entry] = {}
    view = memoryview(document)  # each question a view of the document's bytes, not a copy of them
    previous, at = 0, find(b"</question>")
    while at >= 0:  # as _parts cuts: from the first "<question" after the previous end to each end
        begin, end = find(b"<question", previous, at), at + len(b"</question>")
        previous, at = end, find(b"</question>", end)
        if begin < 0:
            continue
        first = find(b"<idnumber", begin, end)
        if first < 0:
            continue  # (findtext: None)
        ident = _MOODLE_ID_BYTES.match(document, first, end)
        if ident is None or find(b"<idnumber", ident.end(), end) >= 0:
            return None  # not as the exporter writes it, or more than one: parsed instead
        if not ident.group(1):
            continue
        follows = find(b"<", end)
        tail = document[end:follows] if follows >= 0 else document[end:]
        if tail.strip():
            return None
        out[html.unescape(ident.group(1).decode("utf-8"))] = _SlicedQuestion(view[begin:end], tail)
    return out


def _declarations(document: bytes) -> int:
    """``document.count(b"<?")``, from the places of ``?`` when it is rare (a question mark in a few
    thousand questions' text): ~12 ms on 36 MB instead of ~30 ms (``<`` starts every tag)."""
    if document.count(b"?") > _FEW_MARKS:
        return document.count(b"<?")
    count, at = 0, document.find(b"?", 1)
    while at >= 0:
        count += document[at - 1] == 0x3C  # "<"
        at = document.find(b"?", at + 1)
    return count


#: Up to how many question marks :func:`_declarations` looks at each one's place.
_FEW_MARKS = 50_000


def _moodle_questions(document: bytes) -> Iterator[tuple[str, str]]:
    """(idnumber, the question as XML) of each question of a Moodle XML document that has an
    idnumber, read as a stream: the tree of 10,000 questions takes ~270 MB, one question a few KB."""
    pending: etree._Element | None = None
    for _event, q in etree.iterparse(io.BytesIO(document), events=("end",), tag="question", resolve_entities=False, no_network=True, huge_tree=True):
        parent = q.getparent()
        if parent is None or parent.getparent() is not None:
            continue  # only the quiz's own questions
        if pending is not None:  # its tail (after its end tag) is read now
            yield from _moodle_question(pending)
        pending = q
        while q.getprevious() is not None:  # the questions read, and comments between them
            del parent[0]
    if pending is not None:
        yield from _moodle_question(pending)


def _moodle_question(q: etree._Element) -> Iterator[tuple[str, str]]:
    ident = q.findtext("idnumber")
    if ident:
        yield ident, etree.tostring(q, encoding="unicode")


_CANVAS_QUESTION = re.compile(r"<presentation>\s*<material>\s*<mattext\b[^>]*>([^<]*)</mattext>")


def _fields(fmt: str, item: AnyItem, text: str) -> int | None:
    """How many answer fields a cloze's output made (None: the format makes none to count)."""
    if fmt in ("qti21", "qti30"):
        return len(re.findall(r'<(?:qti-)?(?:text-entry|inline-choice|textEntry|inlineChoice)(?:-interaction|Interaction)\b', text))
    if fmt == "canvas":
        # Canvas puts each blank's field at the first [variable] of the question text (the first
        # material, HTML as text), the variable named by its response_lid: a field where the
        # question text shows its [variable] once (twice: the field may land on the other one).
        if not isinstance(item, ClozeItem):
            return None
        m = _CANVAS_QUESTION.search(text)
        question = html.unescape(m.group(1)) if m else ""
        variables = dict.fromkeys(re.findall(r'<response_lid ident="response_([^"]*)"', text))
        return sum(question.count(f"[{html.unescape(v)}]") == 1 for v in variables)
    if fmt == "moodle":
        return len(re.findall(r"\{\d+:(?:SHORTANSWER|SA|MW|SHORTANSWER_C|SAC|MWC|NUMERICAL|NM|MULTICHOICE|MC|MULTICHOICE_S|MCS|MULTICHOICE_V|MCV|MULTICHOICE_H|MCH)[^:]*:", html.unescape(text)))
    return None


# --- the audit ------------------------------------------------------------------------------------------


#: What the fragment cache keeps for an item that passed the audit (itembank.fragments).
_PASSED = b"passed"
#: ... and for one that passed with a note's help (a text its output cannot hold, and a note naming
#: it): it passes again, unread, while a note names it.
_NOTED = b"passed, named by a note"
#: ... and for a run of items (:func:`_audit`) of which some passed so: then the ids of those follow.
_NOTED_RUN = b"passed, these named by notes:"


#: From this many items to read, the audit is shared out over the export's processes (``jobs``).
PARALLEL_FROM = 1000


def audit(fmt: str, bank: Bank, result: ExportResult, renderer: Renderer, fragments: Fragments | None = None, jobs: int = 1) -> list[str]:
    """Every broken invariant of one export (``[]`` when it kept them all).

    ``fragments``: the export's fragment cache.  An item whose own output (a package file, a
    question, a row: its bytes, or in a zip its CRC-32 and sizes) is what it was when the same item
    passed before, in the same format, options and code, passes without being read again (one that
    passed with a note's help, while a note of this export still names it).  ``jobs``: the items are read over that
    many processes (``itembank.forked.shared_out``; the same findings, in the same order)."""
    if fmt not in _READ_BACK:
        # json is the model itself (checked against bank.schema.json by the tests); a third-party
        # format's output is not something this module knows how to read.
        return []
    with _Spill() as spill:
        return _audit(fmt, bank, result, renderer, fragments, jobs, _per_item(fmt, bank, result, spill))


#: Items whose verdicts are also kept as one (:func:`_audit`): consecutive delivered items of an output.
RUN = 64


def _audit(fmt: str, bank: Bank, result: ExportResult, renderer: Renderer, fragments: Fragments | None, jobs: int, per_item: dict[str, _Entry]) -> list[str]:
    skipped = {i for i, _ in result.skipped}
    todo: list[tuple[AnyItem, bytes | None, bytes | None]] = []  # an item to read, the keys of its verdict
    reader = _Reader(fmt, per_item, None, result, renderer)  # its notes, joined once, for the verdicts too
    # The runs looked at item by item: their key, the ids of their items read now, and of those kept
    # as passed with a note's help (which pass while a note names them).
    runs: list[tuple[bytes, list[str], list[str]]] = []

    def look_up(run: list[tuple[AnyItem, _Entry]]) -> None:
        """A run of items with their own output, in the output's order: passed as a whole when its
        key (each item's digest and its output's identity, in order) was kept as passed (one look-up
        for the run: ~3 µs an item less, ~0.2 s of CPU over a build's audits of 10,000 items after an
        edit), else looked at item by item as before."""
        assert fragments is not None
        parts = [b"audit-run\0", fmt.encode("utf-8", "surrogatepass"), b"\0"]
        identities = []
        for item, entry in run:
            identity = entry.identity()
            identities.append(identity)
            parts += (item_digest(item), len(identity).to_bytes(4, "little"), identity)
        key = fragments.data_key(b"".join(parts))
        kept = fragments.get(key)
        if kept == _PASSED:
            return
        if kept is not None and kept.startswith(_NOTED_RUN):
            named = kept[len(_NOTED_RUN) :].decode("utf-8", "surrogatepass").split("\0")
            if all(i in reader.noted() for i in named):  # (each still named by a note, as one item's _NOTED)
                return
        read: list[str] = []
        noted: list[str] = []
        for (item, entry), identity in zip(run, identities):
            verdict = fragments.key(item, "audit", fmt, identity.hex())
            kept = fragments.get(verdict)
            if kept == _PASSED:
                continue
            if kept == _NOTED and item.id in reader.noted():  # what its reading found lacking is spoken for again
                noted.append(item.id)
                continue
            # Numbered anew (an item added or removed before it): the verdict of its part as it is
            # whatever its number, kept under its own identity too for the next export.
            moved = entry.moved()
            again = fragments.key(item, "audit-moved", fmt, moved.hex()) if moved is not None else None
            kept = fragments.get(again) if again is not None else None
            if kept == _PASSED or (kept == _NOTED and item.id in reader.noted()):
                fragments.put(verdict, kept)
                if kept == _NOTED:
                    noted.append(item.id)
                continue
            todo.append((item, verdict, again))
            read.append(item.id)
        runs.append((key, read, noted))

    run: list[tuple[AnyItem, _Entry]] = []
    for item in _as_delivered(bank.items, per_item, result.variants):
        if item.id in skipped:
            continue
        entry = per_item.get(item.id)
        if fragments is not None and entry is not None:
            run.append((item, entry))
            if len(run) == RUN:
                look_up(run)
                run = []
            continue
        if run:  # (the run ends here: the items stay in the output's order)
            look_up(run)
            run = []
        todo.append((item, None, None))
    if run:
        look_up(run)
    # An output without a known layout (the printed Markdown) is read as a whole, once, here.
    reader.whole = _Whole(fmt, _outputs(result)) if todo and not per_item else None
    read = in_task_order(shared_out(reader.read, [item for item, _verdict, _again in todo], jobs if len(todo) >= PARALLEL_FROM else 1), len(todo))
    problems: list[str] = []
    passed: dict[str, bool] = {}  # read now and passed: whether without a note's help
    for (item, verdict, again), (found, unaided) in zip(todo, read):
        problems += found
        if not found:
            passed[item.id] = unaided
        if verdict is not None and fragments is not None and not found:
            fragments.put(verdict, _PASSED if unaided else _NOTED)
            if again is not None:
                fragments.put(again, _PASSED if unaided else _NOTED)
    if fragments is not None:
        for key, ids, noted in runs:  # a run whose every item passed: kept as one (naming those a note helped)
            if all(i in passed for i in ids):
                noted += [i for i in ids if not passed[i]]
                fragments.put(key, _NOTED_RUN + "\0".join(noted).encode("utf-8", "surrogatepass") if noted else _PASSED)
    return problems


class _Reader:
    """Reads items back from one export's output: what each broke, and whether it passed without a note's help."""

    def __init__(self, fmt: str, per_item: dict[str, _Entry], whole: _Whole | None, result: ExportResult, renderer: Renderer) -> None:
        self.fmt, self.per_item, self.whole, self.result, self.renderer = fmt, per_item, whole, result, renderer
        self._noted: str | None = None

    def read(self, items: Sequence[AnyItem]) -> list[tuple[list[str], bool]]:
        return [self.item(item) for item in items]

    def noted(self) -> str:
        if self._noted is None:
            self._noted = "\n".join(self.result.notes)
        return self._noted

    def item(self, item: AnyItem) -> tuple[list[str], bool]:
        fmt, renderer, whole = self.fmt, self.renderer, self.whole
        entry = self.per_item.get(item.id)
        own = entry.load() if isinstance(entry, (_Member, _Printed, _Slices)) else entry  # this item's file alone, let go with the next item
        if own is None and self.per_item:
            return [f"[{item.id}] is neither in the output nor listed as skipped"], False
        problems: list[str] = []
        helped = False
        # A calculated item's {name:fmt} becomes a value (a printed variant), a variable ([name] in Canvas,
        # {name} in Moodle, formats dropped with a note) or QTI's printedVariable: the words around it must be
        # there, and in QTI one printedVariable per placeholder (checked below).
        calculated = isinstance(item, CalculatedItem)
        known = _known(item, renderer)
        # Most texts stand in the output as the renderer wrote them, between tags: found as they
        # stand (all of the item's texts in one search), without reading the output word by word.
        if own is not None:
            lacking = own.lacking(known.written(fmt), known.ends)
            read = known.texts(item) if lacking else []
        else:
            read = known.texts(item)
            lacking = [k for k, (_w, _t, text, _p) in enumerate(read) if not whole.has(text, list(known.pieces_of(k)))]  # type: ignore[union-attr]
        for k in lacking:
            where, written, text, plain = read[k]
            needle = _WORD.findall(text.casefold()) if plain else renderer.words(text)
            if own is not None:
                found = own.found(needle) or (plain and own.found_as_typed(needle))
                if not found and fmt in _SHOWS_SOURCE and not plain and "{{" in text:
                    # The workbook's cells are read with a placeholder's name whole (_cell_text): so is
                    # a text that names one (``{{a_b_}}`` in a blank's feedback), its underscores no emphasis.
                    found = own.found(_spaced(_cell_text(text)).split())
            else:
                found = set(needle) <= whole.words()  # type: ignore[union-attr]
            if not found:
                helped = True
                if item.id not in self.noted():
                    problems.append(f"[{item.id}] {where} is not in the output and no note says why: {written[:60]!r}")
        if own is None:
            return problems, not helped
        if calculated and fmt in _PRINTED:
            assert isinstance(item, CalculatedItem)
            want = sum(_printed_placeholders(renderer, t) for _, t in texts(item))
            want += sum(len(_placeholders(s.title)) for s in item.solution.steps if s.title) if item.solution is not None else 0
            got = len(_PRINTED_VARIABLE.findall(own.markup))
            if got != want:
                problems.append(f"[{item.id}] the calculated item has {want} placeholders but the output prints {got} variables")
        if fmt in _QTI_IDENTIFIED:
            problems += [f"[{item.id}] {p}" for p in qti_identifier_clashes(fmt, own.markup)]
        if isinstance(item, ClozeItem) and fmt not in _SHOWS_SOURCE and fmt not in _TEXTS_ONLY:
            body = own.markup
            blanks = {b.name for b in item.blanks}
            left = [name for name in placeholder_names(html.unescape(body)) if name in blanks]
            shown = _placeholders_shown(item, renderer) if left else set()
            for name in left:
                if name not in shown:
                    problems.append(f"[{item.id}] the cloze blank {{{{{name}}}}} is left in the output as text")
            n = _fields(fmt, item, body)
            if n is not None and n != len(item.blanks):
                problems.append(f"[{item.id}] the cloze has {len(item.blanks)} blanks but the output has {n} answer fields")
        if isinstance(item, (NumericItem, ClozeItem, CalculatedItem)) and fmt not in _TEXTS_ONLY:
            authored: str | None = None  # (worked out for the first long number only: most items have none)
            markup = own.markup
            for m in _DECIMAL.finditer(_TAG.sub(" ", markup)) if _may_hold_long_number(markup) else ():
                if significant_digits(m.group()) < LONG_DIGITS:
                    continue
                if authored is None:
                    authored = _author_numbers(item)
                if m.group() not in authored and not _computed_exactly(item, m.group()):
                    problems.append(f"[{item.id}] a number is written as {m.group()}: binary rounding, not the value as written")
                    break
        return problems, not helped


class _Known(weakref.ref[AnyItem]):
    """What the audit reads of an item whatever the format (a weak reference to the item, kept in
    :data:`_KNOWN`): the pieces of all its texts (:func:`texts`) as the renderer writes them, one
    after the other, text ``k``'s ending at ``ends[k]``; and those pieces as each format writes them.
    Little else is kept (10,000 items have 150,000 texts): the rest of a text (where, as written,
    as read) is worked out again for a text not found so (:meth:`texts`)."""

    __slots__ = ("key", "pieces", "ends", "_written")
    key: int
    pieces: tuple[str, ...]
    ends: tuple[int, ...]
    _written: dict[Callable[[str], str], tuple[str, ...]]

    def written(self, fmt: str) -> tuple[str, ...]:
        """The pieces as ``fmt`` writes them (:data:`_AS_WRITTEN_IN`), worked out once per escaping."""
        write = _AS_WRITTEN_IN[fmt]
        if write is None:
            return self.pieces
        out = self._written.get(write)
        if out is None:
            out = self._written[write] = tuple(write(piece) for piece in self.pieces)
        return out

    def texts(self, item: AnyItem) -> list[tuple[str, str, str, bool]]:
        """Each text of ``item`` (the item of this reference) as (where, as written, as read, whether plain)."""
        return list(_read_texts(item))

    def pieces_of(self, k: int) -> tuple[str, ...]:
        return self.pieces[self.ends[k - 1] if k else 0 : self.ends[k]]


def _read_texts(item: AnyItem) -> Iterator[tuple[str, str, str, bool]]:
    """(where, as written, as read, whether plain) of each text of ``item`` (:func:`texts`): a calculated
    item's read without its placeholders; a plain text (:func:`_is_plain`) is read as typed."""
    calculated = isinstance(item, CalculatedItem)
    for where, written in texts(item):
        yield where, written, _without_placeholders(written) if calculated else written, _is_plain(where)


def _gone(ref: _Known) -> None:
    if _KNOWN.get(ref.key) is ref:
        del _KNOWN[ref.key]


#: id(item) -> what the audit reads of it whatever the format (:class:`_Known`): a process that
#: audits several exports of the same items (a build's worker; a build in one process) cuts each
#: text into pieces once.  Forgotten when the item goes.  The pieces are the renderer's output, a
#: function of the text alone (:class:`itembank.render.Renderer` caches it): one renderer's are
#: every renderer's.
_KNOWN: dict[int, _Known] = {}


def _known(item: AnyItem, renderer: Renderer) -> _Known:
    """What the audit reads of ``item`` whatever the format (:class:`_Known`)."""
    keep = type(renderer) is Renderer  # (a renderer of another kind may render otherwise: neither kept nor taken)
    ref = _KNOWN.get(id(item)) if keep else None
    if ref is not None and ref() is item:
        return ref
    pieces: list[str] = []
    ends: list[int] = []
    for where, _written, text, plain in _read_texts(item):
        if plain:  # literal text (itembank.fields): shown as typed, its markup characters escaped
            if _HAS_WORD.search(text):
                pieces.append(html.escape(text.strip(), quote=False))
        elif where == "stem" and isinstance(item, ClozeItem):
            pieces += _cloze_stem_pieces(renderer, item.stem, text)
        else:
            pieces += _shown_pieces(renderer, text)
        ends.append(len(pieces))
    ref = _Known(item, _gone)
    ref.key, ref.pieces, ref.ends, ref._written = id(item), tuple(pieces), tuple(ends), {}
    if keep:
        _KNOWN[ref.key] = ref
    return ref


def reads_back(fmt: str) -> bool:
    """Whether :func:`audit` reads the output of ``fmt`` back (else it finds nothing to check)."""
    return fmt in _READ_BACK


def prepare(items: Iterable[AnyItem], renderer: Renderer | None = None) -> None:
    """Cut the texts of ``items`` into pieces now (:func:`_known`): a build does so before it forks
    its export workers, which each audit one format of the same items and inherit the pieces.

    With the cyclic collector paused (:func:`itembank.gcpause.gc_paused`): the pieces are millions
    of acyclic strings and tuples, and each full collection they set off would walk the loaded bank
    again.  Measured on 100,000 items, serial work before the first worker starts: 6.50, 5.63 s ->
    4.97, 3.87 s (10,000 items: the same within the runs' spread, 0.43-0.51 s)."""
    renderer = Renderer() if renderer is None else renderer
    with gc_paused():
        for item in items:
            _known(item, renderer)


def qti_identifier_clashes(fmt: str, markup: str) -> list[str]:
    """What a QTI item's markup (``fmt``: qti21 or qti30) uses twice: an identifier of a variable or a
    choice (one identifier for two of them), or a modal feedback's outcome and identifier (two feedbacks
    shown as one)."""
    found: list[str] = []
    seen: set[str] = set()
    shown: set[tuple[str, str]] = set()
    for named, attrs in _QTI_IDENTIFIED[fmt].findall(markup):
        m = _QTI_IDENTIFIER.search(attrs)
        ident = m.group(1) if m else ""
        if named:
            if ident in seen:
                found.append(f"the QTI identifier {ident!r} is used twice in the item (by its variables and choices, which QTI wants distinct)")
            seen.add(ident)
            continue
        outcome = _QTI_OUTCOME.search(attrs)
        when = (outcome.group(1) if outcome else "", ident)
        if when in shown:
            found.append(f"the QTI identifier {ident!r} is used twice in the item (by two modal feedbacks shown when {when[0]} has it)")
        shown.add(when)
    return list(dict.fromkeys(found))


_VARIANT_ID = re.compile(r"(.+)-v\d+")


def _as_delivered(items: tuple[AnyItem, ...], per_item: dict[str, _Entry], written: dict[str, int] | None = None) -> Iterator[AnyItem]:
    """The items as the output holds them: a calculated item written as numeric variants ``<id>-v1`` ...
    (``--expand-variants N``) as those variants, each with its own numbers filled in.  ``written``
    (ExportResult.variants) says how many each; else they are counted in the output (one variant,
    which keeps the item's id, cannot be told from the item itself there)."""
    if not any(isinstance(i, CalculatedItem) for i in items):
        return iter(items)
    if written:
        return (v for item in items for v in (expand(item, written[item.id]) if isinstance(item, CalculatedItem) and item.id in written else (item,)))
    variants: dict[str, int] = {}  # id -> number of <id>-vN outputs, counted once over the output
    ids = {i.id for i in items}  # an item of the bank named <id>-v3 is that item, not a variant
    for key in per_item:
        m = _VARIANT_ID.fullmatch(key)
        if m and key not in ids:
            variants[m.group(1)] = variants.get(m.group(1), 0) + 1
    return (
        v
        for item in items
        for v in (expand(item, variants[item.id]) if isinstance(item, CalculatedItem) and item.id not in per_item and item.id in variants else (item,))
    )


def _without_placeholders(text: str) -> str:
    """``text`` without its placeholders and the word characters touching them (``{t}²`` prints ``3.2²``),
    each left as a middle dot: no word, and no Markdown either (spaces at a line's start would make it code)."""
    marked = PLACEHOLDER.sub(lambda m: "\0" if m.group(1) else m.group(0)[0], text)
    return re.sub(r"\w*\0\w*", "\u00b7", marked)


def _placeholders(text: str) -> list[str]:
    return [m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(1)]


def _printed_placeholders(renderer: Renderer, text: str) -> int:
    """How many of a Markdown text's placeholders its reader sees, each to be printed: each stands
    in for a mark between braces (Markdown reads the text around it as it reads it around the
    placeholder), and the marks in the rendered HTML's text are counted; not those Markdown puts in a
    tag or drops (a line ```` ``` $x = {s}$ ```` opens a code block whose language is ``$x``)."""
    if not _placeholders(text):
        return 0
    mark = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
    marked = PLACEHOLDER.sub(lambda m: "{" + mark + "}" if m.group(1) else m.group(0), text)
    return _TAG.sub(" ", renderer.html(marked)).count(mark)


def significant_digits(number: str) -> int:
    """How many significant digits a :data:`_DECIMAL` has (its mantissa's, leading zeros left out)."""
    return len(number.lstrip("-").split("e")[0].replace(".", "").lstrip("0"))


def _may_hold_long_number(markup: str) -> bool:
    """Whether ``markup`` may hold a :data:`_DECIMAL` of :data:`LONG_DIGITS` or more significant
    digits, as the audit's number check reads it (its tags read as spaces): False only when it
    cannot.  Such a number has one point among its digits, so half of them in a row on one side of
    it (:data:`_HALF_OF_LONG`), and stands in ``markup`` as it is (a tag read as a space joins nothing).  Read in C: the text encoded as ASCII (any other
    character as ``?``, taken for a digit), its bytes mapped (:data:`_DIGITS_AS_NINES`), one
    substring search: ~6 µs for a 5.7 KB QTI item against the ~68 µs of the regular expressions it
    spares (~0.5 s of a build's CPU, for numbers almost no output has)."""
    return _HALF_OF_LONG in markup.encode("ascii", "replace").translate(_DIGITS_AS_NINES)


def _computed_exactly(item: AnyItem, number: str) -> bool:
    """Whether a calculated item's long number is a value it computes that its tolerance needs to the last
    digit (a key within a tolerance of 0 or below 12 significant digits: :func:`itembank.variants.key`);
    a computed value 12 digits show within the tolerance, or a variable's value, written long is binary
    rounding."""
    if not isinstance(item, CalculatedItem):
        return False
    value = float(number)
    return key(item, value) == value


def _author_numbers(item: AnyItem) -> str:
    """The item's own texts and numbers, where a long number may legitimately appear: every text
    the author wrote in it (its teaching texts, and its title, topic, tags, objectives, author,
    source, reviews...: a title "Constant 0.30000000000000004" was refused as binary rounding), and
    its numbers as Python prints them."""
    numbers: list[float | Decimal] = []
    if isinstance(item, NumericItem):
        numbers += [v for v in (item.answer, item.tolerance) if v is not None] + list(item.range or ())
        if item.range is not None:
            numbers += _worked_out_in_decimal(*item.range)
        elif item.answer is not None:
            numbers += _worked_out_in_decimal(item.answer, tolerance=item.tolerance)
    if isinstance(item, ClozeItem):
        numbers += [v for b in item.blanks for v in (b.number, b.tolerance) if v is not None]
        numbers += [d for b in item.blanks if b.number is not None for d in _worked_out_in_decimal(b.number, tolerance=b.tolerance)]
    if isinstance(item, CalculatedItem):
        numbers += [item.tolerance, *(item.answer_range or ())]
        numbers += [float(n) for v in item.variables for n in (v.min, v.max, v.step, *v.values) if n is not None]
    return "\n".join([*_strings(item), *(repr(float(v)) for v in numbers)])


def _worked_out_in_decimal(low: float, high: float | None = None, *, tolerance: float | None = None) -> list[Decimal]:
    """The numbers a format may write that itembank works out from an item's own in decimal, as the
    model does (``NumericItem.bounds``, ``centre``, ``half_width``; ``model.interval``), but worked
    out here again: a range's middle and half-width (``low``, ``high``), or an answer's bounds
    (``low`` ± ``tolerance``).  Exact, each the float nearest it as a format writes it: a middle of
    16 digits (900719925474099.5 for 900719925474099 and 900719925474100) is no binary rounding;
    0.15000000000000002 for 0.1 and 0.2 is (the middle worked out in binary floats)."""
    if not all(math.isfinite(v) for v in (low, high, tolerance) if v is not None):
        return []  # (validation refuses such a number, IB014: a library caller may not validate)
    a = as_written(low)
    if high is None:
        t = as_written(tolerance or 0.0)
        return [a - t, a + t]
    b = as_written(high)
    middle = (a + b) / 2
    return [middle, max(middle - a, b - middle)]


def _placeholders_shown(item: ClozeItem, renderer: Renderer) -> set[str]:
    """The blank names the author wrote as text, which an output shows as ``{{name}}`` where no blank
    is: in a title, tag, hint or feedback (as written, and as Markdown renders it), and in the stem
    written with its braces escaped (``\\{\\{b1\\}\\}``, which Markdown renders as ``{{b1}}``);
    the stem's own placeholders are its blanks, not text."""
    shown: set[str] = set()
    for field in dataclasses.fields(item):
        if field.name != "stem":
            for text in _strings(getattr(item, field.name)):
                shown.update(placeholder_names(text))
                shown.update(placeholder_names(html.unescape(renderer.html(text))))
    stem = replace_placeholders(item.stem, lambda name: _STAND_IN)
    shown.update(placeholder_names(html.unescape(renderer.html(stem))))
    return shown


def _strings(value: object) -> Iterator[str]:
    """Every text in a model value: its own, or its fields' and members', depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (tuple, list)):
        for member in value:
            yield from _strings(member)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name))


def check(fmt: str, bank: Bank, result: ExportResult, renderer: Renderer, fragments: Fragments | None = None, jobs: int = 1) -> None:
    """Raise when the export broke an invariant (the message names each item and its file)."""
    problems = audit(fmt, bank, result, renderer, fragments, jobs)
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
