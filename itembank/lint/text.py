"""Plain words out of an item's Markdown, for rules that read the text as a learner does.

Code (fenced blocks and inline spans) and math are not prose: they are removed (inline code and math
become ``_`` so a sentence keeps its shape).  Images and links keep their visible text only.  These
are regular expressions, not a Markdown parse: lint reads every stem of a 10,000-item bank, and a
rule only needs words and sentence ends, not structure.
"""

from __future__ import annotations

import re
from functools import lru_cache

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[ \t]*$|\Z)", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$[^$\n]+?\$", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|$&~])")
_EMPHASIS = re.compile(r"(?<!\w)[*_]{1,3}|[*_]{1,3}(?!\w)")
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")
_TABLE_ROW = re.compile(r"^ {0,3}\|.*$", re.M)
_WORD = re.compile(r"[a-z0-9]+(?:['’\-][a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


@lru_cache(maxsize=1 << 17)
def prose(md: str, *, emphasis: bool = False) -> str:
    """The Markdown as one line of plain prose; with ``emphasis=True`` the ``*``/``_`` markers stay."""
    text = _FENCE.sub(" ", md) if "```" in md or "~~~" in md else md
    if "`" in text:
        text = _INLINE_CODE.sub("_", text)
    if "$" in text:
        text = _MATH.sub("_", text)
    if "](" in text:
        text = _LINK.sub(r"\1", _IMAGE.sub(" ", text))
    if "|" in text:
        text = _TABLE_ROW.sub(" ", text)  # a table is data, not a sentence
    if "{{" in text:
        text = _PLACEHOLDER.sub("___", text)
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    if not emphasis and ("*" in text or "_" in text):
        text = _EMPHASIS.sub("", text)
    return " ".join(text.split())


# prose() is kept for the whole run (bank rules read every stem and option again); the word caches
# only need to outlive one item (the item rules run item by item), which keeps memory flat.
@lru_cache(maxsize=1 << 12)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def words(text: str) -> list[str]:
    """Lower-case words (hyphenated words and contractions stay one word)."""
    return list(_words(text))


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


@lru_cache(maxsize=1 << 12)
def last_sentence(md: str, *, emphasis: bool = False) -> str:
    """The stem's last sentence: where a question or an incomplete statement stands."""
    parts = sentences(prose(md, emphasis=emphasis))
    return parts[-1].strip() if parts else ""


_SUFFIXES = ("ing", "ed", "es", "s", "e")


@lru_cache(maxsize=1 << 16)
def stem_word(word: str) -> str:
    """A light stem so that ``models``/``model`` and ``fine-tuning``/``fine-tune`` match."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


#: Words too common to cue anything (articles, pronouns, auxiliaries, prepositions, question words).
STOPWORDS = frozenset(
    """a an the and or but nor so yet of to in on at by for with from into onto over under about after
    before between through during without within as than then that this these those there here it its
    is are was were be been being am do does did done has have had having can could may might must
    shall should will would not no yes i you he she we they them their our your his her my me us who
    whom whose which what when where why how all any both each few more most other some such only own
    same too very just also if because while until again further once out up down off above below
    one two three first second best most least following statement statements option options true false
    correct incorrect answer""".split()
)


@lru_cache(maxsize=1 << 12)
def _content_words(text: str) -> frozenset[str]:
    return frozenset(stem_word(w) for w in _words(text) if len(w) >= 3 and w not in STOPWORDS)


def content_words(text: str) -> set[str]:
    """Stemmed words that carry content (no stopwords, at least three letters)."""
    return set(_content_words(text))


def clear_caches() -> None:
    """Forget the texts of a lint run (the caches hold one bank's texts while its rules run)."""
    for fn in (prose, _words, last_sentence, _content_words, stem_word):
        fn.cache_clear()
