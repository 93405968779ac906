"""The general feedback of Moodle XML and GIFT (exporters/moodle/content.py, general_feedback): a
feedback of several sections is joined by a template when every text's HTML is what lxml's HTML
method writes of it, else composed as an lxml tree.  Both ways give the same text, whatever the
texts hold (this file), and the feedback says what the item's explanation says (tests/test_moodle.py,
tests/test_gift.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.exporters.moodle import content
from itembank.exporters.moodle.content import MoodleHtml, general_feedback
from itembank.model import ChoiceItem, Option, Solution, SourceRef, Step
from itembank.render import Renderer

HERE = SourceRef("t.yaml")
_PROSE = ["word", " ", "**b**", "_i_", "`c<d`", "a & b", "x < y", '"q"', "'s'", "\n\n", "é𝄞", "\n\n- item\n- item", "\n\n1. one\n2. two",
          "\n\n```py\nx<1\n```\n", "\n\n> quote", "&amp;"]
#: Markdown the join takes as the renderer wrote it, and Markdown with what it must not: line
#: breaks (``<br />``), rules, links, images, math, raw HTML, carriage returns, control characters.
MARKDOWN = st.one_of(
    st.lists(st.sampled_from(_PROSE), min_size=1, max_size=12),
    st.lists(st.sampled_from([*_PROSE, "line  \nbreak", "\n\n---\n\n", "[l](http://e.org/a b)", "![i](media/x.png)", "$x^2$",
                              "<b>", "</b>", "&#13;", "\r", "\x01"]), min_size=1, max_size=12),
).map("".join).filter(str.strip)
TITLE = st.none() | st.lists(st.sampled_from(["T", " ", "&", "<", ">", '"', "é", "\r", "\x02"]), min_size=1, max_size=6).map("".join)


def _both(item: ChoiceItem) -> tuple[object, object]:
    """The general feedback as the exporter writes it, and as the tree alone composes it."""
    out = []
    for tree_only in (False, True):
        with pytest.MonkeyPatch.context() as patch:
            if tree_only:
                patch.setattr(content, "_composed", lambda sections, renderer: None)
            try:
                out.append(general_feedback(item, MoodleHtml(Renderer()), hints=True))
            except ValueError as exc:
                out.append(repr(exc))
    return out[0], out[1]


@settings(max_examples=300, deadline=None)
@given(rationale=st.none() | MARKDOWN, steps=st.lists(st.tuples(TITLE, MARKDOWN), max_size=3), final=st.none() | MARKDOWN,
       mistakes=st.lists(MARKDOWN, max_size=2), hints=st.lists(MARKDOWN, max_size=2))
def test_the_joined_feedback_is_the_composed_trees(rationale: str | None, steps: list[tuple[str | None, str]], final: str | None,
                                                   mistakes: list[str], hints: list[str]) -> None:
    item = ChoiceItem(id="c", type="multiple_choice", location=HERE, stem="Pick.", rationale=rationale, hints=tuple(hints),
                      solution=Solution(steps=tuple(Step(text=t, title=title) for title, t in steps), final_answer=final),
                      common_mistakes=tuple(mistakes), options=(Option(id="a", text="x", correct=True), Option(id="b", text="y")))
    joined, composed = _both(item)
    assert joined == composed


def test_most_feedback_is_joined_and_the_check_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A usual feedback is joined by the template (not composed as a tree); with its headings left
    unescaped, the joined text differs from the tree's."""
    item = ChoiceItem(id="c", type="multiple_choice", location=HERE, stem="Pick.", rationale="Because.",
                      solution=Solution(steps=(Step(text="First.", title="A & B"),), quick_check="Check it."),
                      options=(Option(id="a", text="x", correct=True), Option(id="b", text="y")))
    assert content._composed(content.explanation(item, content.EXPLANATION_LABELS), Renderer()) is not None
    joined, composed = _both(item)
    assert joined == composed and "<strong>A &amp; B</strong>" in joined.text  # type: ignore[attr-defined]
    monkeypatch.setattr(content, "finalize", str)
    content._explanation_macro.cache_clear()
    try:
        joined, composed = _both(item)
        assert joined != composed
    finally:
        content._explanation_macro.cache_clear()


@pytest.mark.parametrize("name", ["all-types", "html-edge", "calculated"])
def test_the_test_banks_feedback_is_joined_alike(name: str) -> None:
    from itembank.api import load_bank

    bank = load_bank(Path(__file__).resolve().parent / "banks" / name, cache=False)
    for item in bank.items:
        joined, composed = _both(item)  # type: ignore[arg-type]
        assert joined == composed, item.id
