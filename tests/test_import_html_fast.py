"""The import's shortcuts around the HTML converter give exactly what the converter gives.

``html_to_markdown`` skips the converter for the commonest fields (plain words; paragraphs of plain
words): those shortcuts make a 10,000-question import twice as fast, and must change no byte.  Each is
checked here against the general path (``_converted``) on generated HTML, including the characters
that sit on the edge of "plain" (punctuation the converter escapes, non-breaking and other spaces,
digits and list markers at a paragraph's start, entities, empty paragraphs).
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from itembank.importers.kit import html as h

# Letters, digits, the punctuation teachers write, what Markdown escapes, spaces of every kind.
_CHARS = st.sampled_from(list("abcXYZ019 .,;:!?'\"()-+=*_#>~|`$\\/%@^&[]{}") + ["\u00a0", "\u2003", "\t", "\n", "é", "ß", "→", "&amp;", "&nbsp;", "1. ", "- "])
_TEXT = st.lists(_CHARS, max_size=30).map("".join)
_GAP = st.sampled_from(["", " ", "\n", "\n  "])
# Only what the shortcut may take (so most examples do take it): words, spaces, safe punctuation.
_WORDS = st.lists(st.sampled_from(list("abcXYZ019 .,;:!?'\"()-+=/%@^") + ["é", "→", "  ", "Hello", "e.g.", "C++", "3.14", "a-b"]), max_size=30).map("".join)


@st.composite
def paragraphs(draw: st.DrawFn, text: st.SearchStrategy[str] = _TEXT) -> str:
    texts = draw(st.lists(text, min_size=1, max_size=4))
    return draw(_GAP).join(f"<p>{t}</p>" for t in texts) + draw(_GAP)


@given(paragraphs())
@example("<p>The valid server directly updates the graph.</p>")
@example("<p>First.</p>\n<p>Second one, with (brackets) and a ; semicolon.</p>")
@example("<p>C++ 1.5 a-b x=y</p>")
@example("<p>a</p><p> </p><p>b</p>")
@example("<p>x\u00a0y</p>")
def test_word_paragraphs_shortcut_is_the_converter(html: str) -> None:
    fast = h._word_paragraphs(html)
    if fast is not None:
        assert (fast, []) == h._converted(html, None)


@given(paragraphs(_WORDS))
def test_word_paragraphs_shortcut_is_the_converter_on_words(html: str) -> None:
    fast = h._word_paragraphs(html)
    if fast is not None:
        assert (fast, []) == h._converted(html, None)


def test_word_paragraphs_shortcut_takes_the_common_field() -> None:
    # the shortcut must actually be taken for plain paragraphs (else this file tests nothing)
    assert h._word_paragraphs("<p>The valid server directly updates the graph.</p>\n<p>Then it stops.</p>") == (
        "The valid server directly updates the graph.\n\nThen it stops.")
    assert h._word_paragraphs("<p>It holds when <code>x</code>.</p>") is None
    assert h._word_paragraphs("<p>1. not a list</p>") is None


@given(st.lists(_CHARS, max_size=12).map("".join))
def test_markup_test_in_two_parts_is_the_one_pattern(text: str) -> None:
    assert bool(h._MARKUP_CHAR.search(text) or h._MARKUP_START.match(text)) == bool(h._NO_MARKUP.search(text))


@given(st.lists(st.sampled_from(["IBTOK0X", "IBTOK3X", "IBTOKQ0X", "IBTOK&#81;0X", r"\(x^2\)", "$5", "<b>bold</b>", " word "]), min_size=1, max_size=8))
@example(["IBTOK0X", r"\(x^2\)"])
@example(["IBTOK3X", "<b>bold</b>"])
def test_a_fields_own_text_is_never_read_as_a_token(parts: list[str]) -> None:
    """The converter stands math and ``$`` in with tokens; a field that holds text spelled like a
    token kept it as text (``IBTOK0X`` became the field's first formula) or crashed (IndexError)."""
    source = "<p>" + " ".join(parts) + "</p>"
    md, _notes = h.html_to_markdown(source)
    for literal in ("IBTOK0X", "IBTOK3X", "IBTOKQ0X"):
        assert md.count(literal) == source.count(literal) + (source.count("IBTOK&#81;0X") if literal == "IBTOKQ0X" else 0)
    if r"\(x^2\)" in parts:
        assert "$x^2$" in md
