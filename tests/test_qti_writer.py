"""The QTI item writer's own promises (exporters/qti/writer.py): its templates are not autoescaped, so
every value it gives them must be escaped exactly as lxml escapes it, and a text given as the
renderer wrote it must be what parsing and serializing it with lxml gives.  What the items say is
checked elsewhere (tests/test_qti.py, the schemas and the QTI player)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itembank.exporters.qti import writer
from itembank.exporters.qti.profiles import QTI21, QTI30
from itembank.exporters.qti.writer import ItemWriter, spelled
from lxml import etree
from markupsafe import Markup
from strategies import banks, markdown, write_bank

from itembank.api import load_bank
from itembank.model import ChoiceItem, Criterion, EssayItem, Option, SourceRef
from itembank.render import Renderer

PROFILES = {"qti21": QTI21, "qti30": QTI30}
ROOT = Path(__file__).resolve().parent.parent

#: Markdown with what the renderer passes through or turns into references: raw HTML (unclosed too),
#: entities, a carriage return, control characters, math, images, links, tables, code.
RAW = st.lists(
    st.sampled_from([*"ab cé1.:*_`$&<>\"'\n#-[]()!~=\r\t\f", "x^2", "$x$", "**b**", "`c`", "\n\n", "![i](p.png)", "[l](http://x.y)",
                     "<b>", "</b>", "<i>x</i>", "<br>", "&amp;", "&#13;", "&#1;", "&nbsp;", "<!-- c -->", "- ", "1. ",
                     "| a |\n|---|\n| b |", "]]>", "\ufffe"]),
    min_size=1, max_size=25,
).map("".join).filter(str.strip)


def lxml_text(value: str) -> bytes | type[ValueError]:
    element = etree.Element("e")
    try:
        element.text = value
        return etree.tostring(element, encoding="utf-8")[3:-4]
    except ValueError:
        return ValueError


def lxml_attr(value: str) -> bytes | type[ValueError]:
    try:
        return etree.tostring(etree.Element("e", a=value), encoding="utf-8")[6:-3]
    except ValueError:
        return ValueError


def escaped(escape, value: str) -> bytes | type[ValueError]:  # type: ignore[no-untyped-def]
    try:
        return escape(value).encode("utf-8")
    except ValueError:  # (a lone surrogate fails in encoding, as lxml's does)
        return ValueError


#: Texts rich in what escaping is about: markup characters, white space lxml writes as references,
#: characters XML cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF).
TRICKY = st.text(st.one_of(st.sampled_from(list("&<>\"'\r\n\t\x00\x01\x0b\x1f\x7f\x85\ud800\udfff\ufffe\uffffé]")), st.characters()))


@settings(max_examples=500)
@given(TRICKY)
def test_text_and_attributes_are_escaped_as_lxml_writes_them(value: str) -> None:
    assert escaped(writer.text, value) == lxml_text(value)
    assert escaped(writer.attr, value) == lxml_attr(value)


def _lxml_path(w: ItemWriter, md: str, inline: bool) -> Markup:
    """What the writer gives for a text when it parses it (its slow path), whatever the text."""
    holder = w._holder()
    if inline:
        w.body_writer.inline_into(holder, md)
    else:
        holder.extend(w.body_writer.blocks(md))
    return writer._inner(holder)


@pytest.mark.parametrize("fmt", PROFILES)
@settings(max_examples=300, deadline=None)
@given(md=st.one_of(markdown(), RAW))
def test_a_text_given_as_rendered_is_what_lxml_writes(fmt: str, md: str) -> None:
    """The renderer's HTML given as it is (most texts) is the very markup parsing it gives, or it
    is parsed; a text lxml refuses is refused alike."""
    renderer = Renderer()
    for inline in (False, True):
        fast, slow = ItemWriter(PROFILES[fmt], renderer, _item(md), "t"), ItemWriter(PROFILES[fmt], renderer, _item(md), "t")
        try:
            expected: object = _lxml_path(slow, md, inline)
        except ValueError:
            expected = ValueError
        try:
            got: object = fast.inline(md) if inline else fast.blocks(md)
        except ValueError:
            got = ValueError
        assert got == expected
        assert (fast.assets.notes, fast.assets.media) == (slow.assets.notes, slow.assets.media)


def _item(md: str) -> ChoiceItem:
    return ChoiceItem(id="w", type="multiple_choice", location=SourceRef("w.yaml"), stem=md,
                      options=(Option(id="a", text=md, correct=True, feedback=md), Option(id="b", text="b")))


def _both(item: object, fmt: str) -> tuple[object, object]:
    out = []
    for strict in (False, True):
        try:
            out.append(ItemWriter(PROFILES[fmt], Renderer(), item, "t", strict=strict).write())  # type: ignore[arg-type]
        except ValueError as exc:
            out.append(repr(exc))
    return out[0], out[1]


@pytest.mark.parametrize("fmt", PROFILES)
def test_strict_templates_write_the_banks_items_alike(fmt: str) -> None:
    """Strict templates autoescape: an item they write differently has a value the writer left unescaped."""
    for name in ("all-types", "html-edge", "calculated"):
        for item in load_bank(ROOT / "tests" / "banks" / name, cache=False).items:
            plain, strict = _both(item, fmt)
            assert plain == strict, (name, item.id)


@pytest.mark.parametrize("fmt", PROFILES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(bank=banks(min_items=1, max_items=6, every_type=True))
def test_strict_templates_write_generated_items_alike(tmp_path_factory: pytest.TempPathFactory, fmt: str, bank: object) -> None:
    root = write_bank(bank, tmp_path_factory.mktemp("bank"))  # type: ignore[arg-type]
    for item in load_bank(root, cache=False).items:
        plain, strict = _both(item, fmt)
        assert plain == strict, item.id


@pytest.mark.parametrize("fmt", PROFILES)
@settings(max_examples=100, deadline=None)
@given(title=RAW, text=RAW)
def test_strict_templates_write_raw_texts_alike(fmt: str, title: str, text: str) -> None:
    essay = EssayItem(id="e", type="essay", location=SourceRef("e.yaml"), stem=text, title=title, hints=(text,), sample_answer=text,
                      rubric=(Criterion(criterion=text, points=1, description=title),), response_template=title)
    for item in (_item(text), essay):
        plain, strict = _both(item, fmt)
        assert plain == strict


def test_strict_templates_find_a_value_left_unescaped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: with the title's escaping taken away, strict templates write it otherwise."""
    item = ChoiceItem(id="u", type="multiple_choice", location=SourceRef("u.yaml"), stem="Pick.", title='A & "B"',
                      options=(Option(id="a", text="x", correct=True), Option(id="b", text="y")))
    plain, strict = _both(item, "qti21")
    assert plain == strict and b'title="A &amp; &quot;B&quot;"' in plain  # type: ignore[operator]
    monkeypatch.setattr(writer, "attr", lambda value: value)
    plain, strict = _both(item, "qti21")
    assert plain != strict


def test_qti30_templates_have_no_qti21_names() -> None:
    """Every QTI element and attribute name of the templates is spelled for 3.0 (the XHTML ones keep theirs)."""
    for path in sorted(writer.TEMPLATES.glob("*.xml.j2")):
        source = spelled(path.read_text(encoding="utf-8"), QTI30)
        assert QTI21.ns not in source, path.name
        assert not re.findall(r"</?(?!qti-)[a-z]+[A-Z][A-Za-z]*", source), path.name
        assert not re.findall(r" [a-z]+[A-Z][A-Za-z]*=\"", source), path.name


# --- texts converted ahead, once for both versions (writer.prepare) --------------------------------


def _written(items: list[object], fmt: str, renderer: Renderer) -> list[object]:
    """Each item's file and what writing it collected (notes, media), or its error."""
    out: list[object] = []
    for item in items:
        w = ItemWriter(PROFILES[fmt], renderer, item, "t")  # type: ignore[arg-type]
        try:
            out.append((w.write(), w.assets.notes, sorted(w.assets.media)))
        except Exception as exc:  # noqa: BLE001 - compared, not raised
            out.append(repr(exc))
    return out


def _prepared(items: list[object]) -> Renderer:
    renderer = Renderer()
    writer.prepare(items, renderer)  # type: ignore[arg-type]
    return renderer


def _alike_prepared_or_not(items: list[object]) -> Renderer:
    """Both versions write ``items`` alike from texts their parent converted ahead (with QTI 2.1's
    writer) and from a fresh renderer: the files, their notes and their media."""
    renderer = _prepared(items)
    for fmt in PROFILES:
        assert _written(items, fmt, renderer) == _written(items, fmt, Renderer()), fmt
    return renderer


@pytest.mark.parametrize("name", ["all-types", "html-edge", "calculated"])
def test_texts_converted_ahead_are_written_as_each_version_writes_them(name: str) -> None:
    renderer = _alike_prepared_or_not(list(load_bank(ROOT / "tests" / "banks" / name, cache=False).items))
    if name != "calculated":  # (its texts hold placeholders the writer fills: few are asked for as they are)
        assert renderer.converted[writer.BLOCKS], "nothing was converted ahead: the comparison proves nothing"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(bank=banks(min_items=1, max_items=6, every_type=True))
def test_generated_texts_converted_ahead_are_written_as_each_version_writes_them(tmp_path_factory: pytest.TempPathFactory, bank: object) -> None:
    root = write_bank(bank, tmp_path_factory.mktemp("bank"))  # type: ignore[arg-type]
    _alike_prepared_or_not(list(load_bank(root, cache=False).items))


@settings(max_examples=100, deadline=None)
@given(md=st.one_of(markdown(), RAW))
def test_a_text_converted_ahead_is_written_as_each_version_writes_it(md: str) -> None:
    """In a stem, a choice and its feedback (blocks and inline content), and a matching prompt."""
    from itembank.model import MatchingItem, Pair

    pairs = MatchingItem(id="m", type="matching", location=SourceRef("m.yaml"), stem="Match.", pairs=(Pair(prompt=md, match="x"), Pair(prompt="b", match="y")))
    _alike_prepared_or_not([_item(md), pairs])


@pytest.mark.parametrize(
    "md",
    [
        r"A normal law $N\!\left(\mu, \sigma^2\right)$.",  # MathML 2 has no negative named space: fitted for QTI 2.1
        "See ![a curve](media/curve.png) here.",  # the image is a file of the package
    ],
)
def test_what_a_version_writes_its_own_way_is_not_converted_ahead(md: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text whose markup or collected files depend on how it was written (MathML fitted to each
    version, an image) is left to each writer; kept anyway, a version writes its item otherwise."""
    item = ChoiceItem(id="w", type="multiple_choice", location=SourceRef("w.yaml"), stem=md,
                      options=(Option(id="a", text="a", correct=True), Option(id="b", text="b")))
    assert md not in _prepared([item]).converted[writer.BLOCKS]
    monkeypatch.setattr(writer, "_same_in_both", lambda made, collected: True)
    renderer = _prepared([item])
    assert md in renderer.converted[writer.BLOCKS]
    assert any(_written([item], fmt, renderer) != _written([item], fmt, Renderer()) for fmt in PROFILES)
