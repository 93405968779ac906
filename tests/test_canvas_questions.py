"""The Canvas question writer's own promises (exporters/canvas/items.py): its templates are not
autoescaped, so every value it gives them must be escaped as lxml escapes it, and a quiz copy is its
bank copy with another ident and one more metadata field.  What the questions say is checked
elsewhere (tests/test_canvas.py, its checker, the import into Canvas's own parser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itembank.exporters.canvas import items
from itembank.exporters.canvas.html import CanvasHtml
from itembank.exporters.canvas.items import ItemBuilder, quiz_copy
from lxml import etree
from strategies import banks, write_bank

from itembank.api import load_bank
from itembank.model import ChoiceItem, Criterion, EssayItem, Option, ShortAnswerItem, SourceRef
from itembank.render import Renderer

ROOT = Path(__file__).resolve().parent.parent
#: Texts with what escaping is about, raw HTML and entities among them (no math: Canvas's rewrite of
#: a text with math parses its HTML, and raw HTML is refused by validation before it gets there).
TRICKY = st.lists(
    st.sampled_from([*"ab é1.:*_`&<>\"'\n#-[]()!~=\r\t", "**b**", "`c`", "\n\n", "<b>", "</b>", "&amp;", "&#13;", "]]>", "[x]"]),
    min_size=1, max_size=20,
).map("".join).filter(str.strip)


def _both(item: object) -> tuple[object, object]:
    """The item's bank copy by plain and by strict (autoescaped) templates."""
    out = []
    for strict in (False, True):
        builder = ItemBuilder(CanvasHtml(Renderer()), [], 3, strict=strict)
        try:
            built = builder.build(item, "bank-ident")  # type: ignore[arg-type]
            out.append(built.data if built is not None else None)
        except ValueError as exc:
            out.append(repr(exc))
    return out[0], out[1]


def test_strict_templates_write_the_banks_questions_alike() -> None:
    """Strict templates autoescape: a question they write differently has a value left unescaped."""
    for name in ("all-types", "html-edge", "calculated"):
        for item in load_bank(ROOT / "tests" / "banks" / name, cache=False).items:
            plain, strict = _both(item)
            assert plain == strict, (name, item.id)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(bank=banks(min_items=1, max_items=6, every_type=True))
def test_strict_templates_write_generated_questions_alike(tmp_path_factory: pytest.TempPathFactory, bank: object) -> None:
    root = write_bank(bank, tmp_path_factory.mktemp("bank"))  # type: ignore[arg-type]
    for item in load_bank(root, cache=False).items:
        plain, strict = _both(item)
        assert plain == strict, item.id


@settings(max_examples=100, deadline=None)
@given(title=TRICKY, text=TRICKY)
def test_strict_templates_write_tricky_texts_alike(title: str, text: str) -> None:
    where = SourceRef("t.yaml")
    for item in (
        ChoiceItem(id="c", type="multiple_choice", location=where, stem=text, title=title,
                   options=(Option(id="a", text=text, correct=True, feedback=text), Option(id="b", text=title))),
        ShortAnswerItem(id="s", type="short_answer", location=where, stem=text, title=title, answers=(title.strip() or "x",)),
        EssayItem(id="e", type="essay", location=where, stem=text, title=title, response_template=title, sample_answer=text,
                  rubric=(Criterion(criterion=text, points=1, description=title),)),
    ):
        plain, strict = _both(item)
        assert plain == strict, item.type


def test_strict_templates_find_a_value_left_unescaped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: with the title's escaping taken away, strict templates write it otherwise."""
    item = ChoiceItem(id="u", type="multiple_choice", location=SourceRef("u.yaml"), stem="Pick.", title='A & "B"',
                      options=(Option(id="a", text="x", correct=True), Option(id="b", text="y")))
    plain, strict = _both(item)
    assert plain == strict and b'title="A &amp; &quot;B&quot;"' in plain  # type: ignore[operator]
    monkeypatch.setattr(items, "_attr", lambda value: value)
    plain, strict = _both(item)
    assert plain != strict


@settings(max_examples=50, deadline=None)
@given(bank_ident=st.text("abcdef0123456789&<>\"'", min_size=1, max_size=12), quiz_ident=st.text("abcdef0123456789&<>\"", min_size=1, max_size=12))
def test_a_quiz_copy_is_the_bank_copy_with_its_ident_and_a_reference(bank_ident: str, quiz_ident: str) -> None:
    """What lxml writes for the bank copy's element given the quiz ident and the reference field."""
    item = ChoiceItem(id="q", type="multiple_choice", location=SourceRef("q.yaml"), stem="Pick.",
                      options=(Option(id="a", text="x", correct=True), Option(id="b", text="y")))
    built = ItemBuilder(CanvasHtml(Renderer()), [], 3).build(item, bank_ident)
    assert built is not None
    element = etree.fromstring(built.data)
    element.set("ident", quiz_ident)
    items.meta_field(element[0][0], "assessment_question_identifierref", bank_ident)
    assert quiz_copy(built.data, bank_ident, quiz_ident) == etree.tostring(element, encoding="UTF-8")
