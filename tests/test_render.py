"""The shared renderer's readings of a text agree with each other on any text teachers write."""

from __future__ import annotations

from hypothesis import given
from strategies import markdown

from itembank.render import Renderer


@given(markdown(max_blocks=4))
def test_one_line_is_plain_on_one_line(text: str) -> None:
    """:meth:`Renderer.one_line` reads the HTML without a tree: the same words as :meth:`plain`'s
    tree, in the same order, with no space added or lost inside a word."""
    renderer = Renderer()
    assert renderer.one_line(text) == " ".join(renderer.plain(text).split())


def test_one_line_of_texts_a_regular_expression_could_get_wrong() -> None:
    renderer = Renderer()
    cases = {
        "a *b* c**d**e": "a b cde",  # inline tags join their text as it is
        "x &amp; y &lt;z&gt; \"q\"": 'x & y <z> "q"',  # entities read once
        "&amp;lt;": "&lt;",
        "# Title\n\npara one\n\n- item\n- two": "Title para one item two",
        "| a | b |\n|---|---|\n| 1 | 2 |": "ab 12",  # table cells are not apart in the HTML, nor in plain
        "Energy $E = mc^2$ and $$\\frac{a}{b}$$": "Energy E = mc^2 and \\frac{a}{b}",
        "![alt text](img/p.png)": "![alt text](img/p.png)",  # no text at all: the Markdown itself, as plain
        "```\ncode <b>\n```": "code <b>",
    }
    for text, expected in cases.items():
        assert renderer.one_line(text) == expected
        assert " ".join(renderer.plain(text).split()) == expected
