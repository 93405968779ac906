"""The Moodle XML question writer's own promise (exporters/moodle/xml.py): its template is not
autoescaped, so every question it writes must be what lxml writes for the same tree: read back with
lxml (CDATA kept), indented as a child of ``<quiz>`` and serialized again, it gives the same bytes.
A value left unescaped would not read back, or would read back as something else.  What the
questions say is checked elsewhere (tests/test_moodle.py and its golden file, the Moodle importer).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from strategies import banks, write_bank

from itembank.api import load_bank
from itembank.errors import ItembankError
from itembank.exporters.kit import escape
from itembank.exporters.moodle import xml as moodle
from itembank.exporters.moodle.content import MediaFiles, MoodleHtml
from itembank.model import (
    Bank,
    BankConfig,
    ChoiceItem,
    Criterion,
    EssayItem,
    MatchingItem,
    NumericItem,
    Option,
    OrderingItem,
    Pair,
    ShortAnswerItem,
    SourceRef,
    TrueFalseItem,
)
from itembank.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
_PARSER = etree.XMLParser(strip_cdata=False, resolve_entities=False)
#: Texts with what escaping is about: markup characters, entities, "]]>" (no CDATA can hold it), line
#: breaks, tabs, carriage returns, quotes.
TRICKY = st.lists(
    st.sampled_from([*"ab é1.:*_`&<>\"'\n#-[]()!~={}\t", "**b**", "`c`", "\n\n", "&amp;", "&#13;", "]]>", "[x]", "𝄞"]),
    min_size=1, max_size=20,
).map("".join).filter(str.strip)
HERE = SourceRef("t.yaml")


def as_lxml_writes(question: bytes) -> bytes:
    """``question`` read with lxml and written again as the Moodle exporter's lxml builder wrote each
    question: indented as a child of ``<quiz>``, two spaces a level; an element whose text was set
    to "" (a pair of tags, which reads back as no text) written so again; a carriage return kept as
    it is in CDATA (where lxml writes it as given; reading turns it into a line feed), and nowhere
    else (where it is written ``&#13;``)."""
    assert b"\r" not in _CDATA.sub(b"", question)
    element = etree.fromstring(question.replace(b"\r", _CR), _PARSER)
    for empty in _EMPTY_PAIR.findall(question):
        for found in element.iter(empty.decode()):
            if found.text is None and not len(found):
                found.text = ""
    etree.indent(element, space="  ", level=1)
    return (b"  " + etree.tostring(element, encoding="UTF-8") + b"\n").replace(_CR, b"\r")


_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_CR = "\ue000".encode()  # (a private-use character: no text here holds it)
_EMPTY_PAIR = re.compile(rb"<([A-Za-z_]+)></\1>")


def written(item: object, bank: Bank | None = None) -> bytes:
    writer = moodle._QuestionWriter(MoodleHtml(Renderer()), MediaFiles(bank or _bank()), 3)
    return moodle._question_bytes(writer, item)  # type: ignore[arg-type]


def _bank(*items: object) -> Bank:
    return Bank(root=ROOT, config=BankConfig(title="T"), items=tuple(items))  # type: ignore[arg-type]


def _check_every_question(bank: Bank) -> int:
    """Every question of ``bank`` is what lxml writes; how many were written (not skipped)."""
    seen = 0
    for item in bank.items:
        try:
            question = written(item, bank)
        except moodle.ItemSkipped:
            continue
        assert question == as_lxml_writes(question), item.id
        seen += 1
    return seen


@pytest.mark.parametrize("name", ["all-types", "html-edge", "calculated"])
def test_every_question_of_the_test_banks_is_what_lxml_writes(name: str) -> None:
    bank = load_bank(ROOT / "tests" / "banks" / name, cache=False)
    assert _check_every_question(bank) >= len(bank.items) - 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(generated=banks(min_items=1, max_items=8, every_type=True))
def test_every_generated_question_is_what_lxml_writes(tmp_path_factory: pytest.TempPathFactory, generated: object) -> None:
    _check_every_question(load_bank(write_bank(generated, tmp_path_factory.mktemp("bank")), cache=False))  # type: ignore[arg-type]


def _tricky_items(title: str, text: str) -> list[object]:
    answer = title.strip() or "x"
    return [
        ChoiceItem(id="c", type="multiple_response", location=HERE, stem=text, title=title, hints=(text,), tags=(title,),
                   options=(Option(id="a", text=text, correct=True, feedback=text), Option(id="b", text=title, correct=True), Option(id="d", text="z"))),
        TrueFalseItem(id="t", type="true_false", location=HERE, stem=text, title=title, answer=False, true_feedback=text, rationale=title),
        ShortAnswerItem(id="s", type="short_answer", location=HERE, stem=text, title=title, answers=(answer,)),
        NumericItem(id="n", type="numeric", location=HERE, stem=text, title=title, answer=1.5, tolerance=0.25, unit=answer),
        EssayItem(id="e", type="essay", location=HERE, stem=text, title=title, response_template=title, sample_answer=text,
                  rubric=(Criterion(criterion=text, points=1, description=title),), min_words=3),
        MatchingItem(id="m", type="matching", location=HERE, stem=text, title=title,
                     pairs=(Pair(prompt=text, match=answer), Pair(prompt="p", match="q")), distractors=(answer + "!",)),
        OrderingItem(id="o", type="ordering", location=HERE, stem=text, title=title, sequence=(answer, answer + "?")),
    ]


@settings(max_examples=100, deadline=None)
@given(title=TRICKY, text=TRICKY)
def test_tricky_texts_are_written_as_lxml_writes_them(title: str, text: str) -> None:
    for item in _tricky_items(title, text):
        question = written(item)
        assert question == as_lxml_writes(question), getattr(item, "type")
        read = etree.fromstring(question, _PARSER)
        assert read.findtext("name/text") == title  # the title, whatever it holds, reads back as itself


@pytest.mark.parametrize("bad", ["\x01", "\x0b", "\ufffe", "\ud800"])
def test_a_character_xml_cannot_hold_is_an_error_naming_the_item(bad: str) -> None:
    """As lxml refused it: a ValueError that the exporter says with the item's id (validation, rule
    IB216, finds such text in a bank first)."""
    bad_text = f"a{bad}b"
    good = {"stem": "s", "title": "t", "tags": ("x",), "hints": ("h",)}
    for field, value in (("title", bad_text), ("stem", bad_text), ("tags", (bad_text,)), ("hints", (bad_text,))):
        item = ChoiceItem(id="bad-item", type="multiple_choice", location=HERE, **{**good, field: value},  # type: ignore[arg-type]
                          options=(Option(id="a", text="x", correct=True), Option(id="b", text="y")))
        with pytest.raises(ItembankError, match="item 'bad-item'"):
            written(item)


def test_the_check_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the escaping of plain values taken away, a title with '&' and '<' no longer reads back."""
    item = ChoiceItem(id="u", type="multiple_choice", location=HERE, stem="Pick.", title="A & <B>",
                      options=(Option(id="a", text="x", correct=True), Option(id="b", text="y")))
    question = written(item)
    assert b"<text>A &amp; &lt;B&gt;</text>" in question and question == as_lxml_writes(question)
    monkeypatch.setattr(escape, "xml_text", lambda value: value)
    with pytest.raises(etree.XMLSyntaxError):
        as_lxml_writes(written(item))
