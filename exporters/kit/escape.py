"""Text and attribute values escaped exactly as lxml serializes them, for the formats written by a
template engine without its autoescape (the QTI item writer, the workbook's rows): the same bytes as
building the elements with lxml, and the same refusal of what XML cannot hold."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from markupsafe import Markup

#: What lxml raises for a string XML 1.0 cannot hold, word for word.
NOT_XML_MESSAGE = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"
#: What XML 1.0 cannot hold: control characters but tab, line feed and carriage return; lone
#: surrogates; U+FFFE and U+FFFF (validation rule IB216 finds them in a bank first).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


#: What an element's text or an attribute's value escapes or refuses: one search finds a value that
#: is written as it is (most are).
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_SPECIAL = re.compile("[&<>\"\n\t\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _refuse(value: str) -> None:
    if NOT_XML.search(value):
        value.encode("utf-8")  # lxml encodes first: a lone surrogate fails here (UnicodeEncodeError), as in lxml
        raise ValueError(NOT_XML_MESSAGE)


def xml_text(value: str) -> str:
    """``value`` as an element's text: ``&``, ``<``, ``>`` and a carriage return (``&#13;``)
    escaped; quotes, tabs and line feeds as they are.  ValueError for what lxml refuses."""
    if _TEXT_SPECIAL.search(value) is None:
        return value
    _refuse(value)
    return _replaced(value, _TEXT_REFERENCES)


def xml_attr(value: str) -> str:
    """``value`` as an attribute's value between double quotes: also ``"`` and the white space an
    attribute would lose (``&#10;``, ``&#13;``, ``&#9;``) escaped.  ValueError for what lxml refuses."""
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return _replaced(xml_text(value), _ATTR_REFERENCES)


#: What an element's text writes as a reference ("&" first: no later reference is escaped again),
#: and what an attribute's value writes so besides.
_TEXT_REFERENCES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ATTR_REFERENCES = (('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))


def _replaced(value: str, references: tuple[tuple[str, str], ...]) -> str:
    """``value`` with each character of ``references`` replaced, only where it occurs (most texts
    have none of them)."""
    for char, reference in references:
        if char in value:
            value = value.replace(char, reference)
    return value


# --- for the environments of templates that are not autoescaped (Moodle questions, QTI manifest resources)

#: Markup of a string escaped (or checked) already: ``str.__new__``, as Markup's own constructor is Python code.
markup: Callable[[str], Markup] = partial(str.__new__, Markup)


def finalize(value: object) -> str:
    """A template environment's ``finalize``: a Markup as it is (escaped or checked by the writer),
    any other string escaped as an element's text (:func:`xml_text`); anything else is a writer's
    mistake (a number the writer did not write as text)."""
    if type(value) is Markup:
        return value
    if not isinstance(value, str):
        raise TypeError(f"a template value must be a string, not {type(value).__name__}: {value!r}")
    return xml_text(value)


def attr_markup(value: str) -> Markup:
    """The template filter ``attr``: ``value`` escaped for an attribute between double quotes."""
    return markup(xml_attr(value))


def as_is(value: str) -> Markup:
    """``value`` written as it is (in CDATA, in a comment), refused as lxml refuses it: a character
    XML 1.0 cannot hold is a ValueError (a lone surrogate a UnicodeEncodeError, as in lxml)."""
    _refuse(value)
    return markup(value)
