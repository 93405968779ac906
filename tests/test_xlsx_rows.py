"""The workbook's item rows (``_RowWriter.row``, issue 13): written by the Jinja2 template
``exporters/xlsx/row.xml.j2`` (every value through ``kit.escape.xml_text``), the very bytes lxml wrote
when the rows were built as elements.

The oracle, :func:`lxml_row`, is the row as it was built before: elements made with lxml (a prepared
text cell copied, its attributes set) and ``etree.tostring``.  Each test gives both the same item,
row number and lint findings and wants the same bytes and notes, or the same exception; one gives
the template's escaping function and lxml the same text.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from itembank.exporters.kit.escape import xml_text
from itembank.exporters.kit.numbers import number_text
from itembank.exporters.xlsx import workbook as W
from lxml import etree
from openpyxl import Workbook
from strategies import items

from itembank.model import AnyItem, ChoiceItem, SourceRef
from itembank.normalize import to_model

_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


@cache
def writer(n_options: int) -> W._RowWriter:
    """A row writer as the exporter makes one, for a bank whose widest choice item has ``n_options``."""
    ws = Workbook(write_only=True).create_sheet(W.ITEMS_SHEET)
    return W._RowWriter(n_options, [c.width for c in W.item_columns(n_options)], W._StyleBook(ws))


def lxml_row(w: W._RowWriter, item: AnyItem, r: int, findings: str | None) -> tuple[bytes, list[str]]:
    """The row as the exporter built it with lxml before it wrote markup (the oracle)."""
    notes: list[str] = []
    values = W.item_values(item, w.n_options, findings)
    row = etree.Element("row", r=str(r), ht=number_text(W.row_height(values, w.per_line)), customHeight="1")
    for col, (value, style) in enumerate(values):
        if value is None and style != "review":
            continue
        ref = f"{w.letters[col]}{r}"
        if isinstance(value, str) and value:
            if len(value) > W.MAX_CELL_CHARS:
                notes.append(f"{item.id}: a text longer than {W.MAX_CELL_CHARS:,} characters was cut in the workbook")
            text = W._cell_text(value)
            cell = etree.SubElement(row, "c", r=ref, s=w.sid[(style, text.startswith(W.FORMULA_PREFIXES))], t="inlineStr")
            t = etree.SubElement(etree.SubElement(cell, "is"), "t")
            if text != text.strip():
                t.set(_XML_SPACE, "preserve")
            t.text = text
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            etree.SubElement(etree.SubElement(row, "c", r=ref, s=w.sid[(style, False)], t="n"), "v").text = number_text(value)
        elif style == "review":
            etree.SubElement(row, "c", r=ref, s=w.sid[(style, False)])
    return etree.tostring(row, encoding="utf-8"), notes


def outcome(make: Any, *args: Any) -> tuple[Any, ...]:
    """What ``make(*args)`` returns, or the exception it raises (its type and arguments)."""
    try:
        return ("made", make(*args))
    except Exception as e:  # noqa: BLE001 - any exception, compared with the oracle's
        return ("raised", type(e), e.args)


def same_as_lxml(item: AnyItem, r: int, findings: str | None, n_options: int = 6) -> tuple[bytes, list[str]]:
    w = writer(n_options)
    written = outcome(w.row, item, r, findings)
    assert written == outcome(lxml_row, w, item, r, findings)
    assert written[0] == "made", written
    made: tuple[bytes, list[str]] = written[1]
    return made


def model(raw: dict[str, Any]) -> AnyItem:
    return to_model(raw, SourceRef(path="generated.yaml"))


#: Texts as lxml escapes them or keeps them: markup characters, quotes, CR/LF/tab, spaces at either end,
#: non-ASCII (non-BMP, right-to-left, no-break and ideographic spaces), and formula-like starts.
_PIECES = ("&", "<", ">", '"', "'", "\r", "\n", "\r\n", "\t", " ", "  ", "a", "word", "]]>", "&amp;", "&#13;", "<c r=", "é", "データ", "😀", "𝔼", "שלום", "\u00a0", "\u2028", "\u3000", "\x85")
tricky_texts = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(("", "=", "+", "-", "@", "\t", "\r", " ", "  ", "\n", "=SUM(A1:A3)", "@foo", "-1", "+", "\u00a0")),
        st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
        st.sampled_from(("", " ", "  ", "\n", "\t", "\r", "\u3000")),
    ),
)
#: Any text at all, control characters, U+FFFE and U+FFFF included (no lone surrogates: the item's
#: fingerprint fails first on one; see the test of a lone surrogate in the lint findings below).
any_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=150)
@given(raw=items(), r=st.integers(2, 1_048_576), findings=st.none() | tricky_texts, n_options=st.sampled_from((0, 2, 6)))
def test_a_generated_items_row_is_the_row_lxml_built(raw: dict[str, Any], r: int, findings: str | None, n_options: int) -> None:
    row, notes = same_as_lxml(model(raw), r, findings, n_options)
    assert row.startswith(b'<row r="%d" ' % r) and row.endswith(b"</row>") and notes == []


_TEXT_FIELDS = ("title", "stem", "rationale", "source", "topic", "author")


@settings(max_examples=200)
@given(raw=items(), texts=st.lists(tricky_texts | any_texts, min_size=len(_TEXT_FIELDS) + 2, max_size=len(_TEXT_FIELDS) + 2), r=st.integers(2, 10_000))
@example(raw={"id": "x", "type": "true_false", "stem": "s", "answer": True}, texts=[" lead", "trail ", "=1+1", "+x", "-y", "@z", "a\r\nb\rc", 'q " \' & < > \t'], r=2)
def test_an_items_tricky_texts_are_written_as_lxml_wrote_them(raw: dict[str, Any], texts: list[str], r: int) -> None:
    item = model(raw)
    changes: dict[str, Any] = {**dict(zip(_TEXT_FIELDS, texts)), "hints": (texts[-2],), "tags": (texts[-1],)}
    item = dataclasses.replace(item, **changes)
    if isinstance(item, ChoiceItem):  # the option columns: keys, texts and their feedback
        options = tuple(dataclasses.replace(o, text=texts[k % len(texts)], feedback=texts[(k + 1) % len(texts)]) for k, o in enumerate(item.options))
        item = dataclasses.replace(item, options=options)
    w = writer(6)
    written = outcome(w.row, item, r, texts[0])
    assert written == outcome(lxml_row, w, item, r, texts[0])
    if written[0] == "made" and texts[0]:  # and the title reads back as the text its cell holds
        title = f"{w.letters[[c.header for c in W.item_columns(6)].index('Title')]}{r}"
        cells = {c.get("r"): c for c in etree.fromstring(written[1][0])}
        assert cells[title].findtext("is/t") == W._cell_text(texts[0])


def lxml_text(text: str) -> bytes:
    """``text`` as lxml writes an element's text (the oracle of ``kit.escape.xml_text``)."""
    t = etree.Element("t")
    t.text = text
    return etree.tostring(t, encoding="utf-8")


@settings(max_examples=300)
@given(text=tricky_texts | any_texts | st.text(st.characters(whitelist_categories=("L", "N")), max_size=12) | st.text(max_size=12))
@example(text="A1048576")
@example(text="0.5")
@example(text="x\ud800")
@example(text="\ufffe")
def test_the_templates_escaping_writes_a_text_as_lxml_wrote_it(text: str) -> None:
    """Any text a cell holds (``_cell_text``'s: no control characters) as lxml wrote it: letters and
    digits alone included (the short way, for references and style ids), lone surrogates, U+FFFE and
    U+FFFF refused as lxml refuses them."""
    text = W._cell_text(text)
    assert outcome(lambda t: b"<t>" + xml_text(t).encode("utf-8") + b"</t>", text) == outcome(lxml_text, text)


def test_a_text_longer_than_a_cell_holds_is_cut_with_the_same_note() -> None:
    raw = {"id": "long-one", "type": "flashcard", "stem": "s " * 20_000, "answer": "x" * (W.MAX_CELL_CHARS + 1)}
    row, notes = same_as_lxml(model(raw), 7, "& " * 20_000)
    assert len(notes) == 3 and all(n.startswith("long-one: a text longer than 32,767 characters") for n in notes)
    assert row.count("[… cut: longer than an Excel cell holds]".encode()) == 3


@pytest.mark.parametrize("bad", ["\ufffe", "a\uffffb", "ok \ufffe and \uffff"])
def test_a_text_xml_cannot_carry_raises_what_lxml_raised(bad: str) -> None:
    """U+FFFE and U+FFFF (left by ``_cell_text``, which replaces control characters): ValueError
    with lxml's message, as when lxml refused the text."""
    item = model({"id": "bad", "type": "flashcard", "stem": f"stem {bad}", "answer": "x"})
    w = writer(0)
    with pytest.raises(ValueError, match="^All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters$"):
        w.row(item, 2, None)
    assert outcome(w.row, item, 2, None) == outcome(lxml_row, w, item, 2, None)


def test_a_lone_surrogate_raises_what_lxml_raised() -> None:
    """A lone surrogate cannot be encoded: UnicodeEncodeError (a ValueError), the very one lxml
    raised (the item's fingerprint fails first on one in the item; the lint findings are not in it)."""
    item = model({"id": "s", "type": "flashcard", "stem": "stem", "answer": "x"})
    w = writer(0)
    for findings in ("a\ud800b", "\udfff", "x \ud83d\ufffe"):
        with pytest.raises(UnicodeEncodeError):
            w.row(item, 2, findings)
        assert outcome(w.row, item, 2, findings) == outcome(lxml_row, w, item, 2, findings)


def test_control_characters_are_replaced_not_refused() -> None:
    """``_cell_text`` replaces the control characters XML cannot carry with U+FFFD (before and now)."""
    item = model({"id": "c", "type": "flashcard", "stem": "a\x00b\x01c\x0bd\x1fe", "answer": "x"})
    row, _ = same_as_lxml(item, 2, None, 0)
    assert "a\ufffdb\ufffdc\ufffdd\ufffde".encode() in row
