"""Jinja2's autoescape with the same escaping in fewer Python calls, for a format whose templates
autoescape (the HTML pages).

With autoescape on, a template prints every value through ``markupsafe.escape``.  For the two kinds
of value templates print most, that is two or three Python calls each (``escape``, ``Markup.__new__``
with its ``hasattr``, and ``__html__`` for a Markup): a fifth of the HTML export's time on 10,000
items.  :func:`escape` gives the same string for each: a :class:`~markupsafe.Markup` as it is (it
is safe: ``escape`` would copy it), a ``str`` escaped by markupsafe's own escaping, and any other
value by ``markupsafe.escape`` itself.  :class:`Template` makes a template print through it.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from types import CodeType
from typing import Any

import jinja2
import markupsafe
from markupsafe import Markup


def _escaped_text(value: str) -> str:
    """What markupsafe escapes in a string, as it writes each (its pure-Python escaping)."""
    return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;").replace('"', "&#34;")


#: markupsafe's escaping of a ``str`` (its C speedup where built): the string ``escape`` wraps in
#: Markup.  Not a public name: where a release no longer has it, the same escaping in Python.
_inner: Callable[[str], str] = getattr(markupsafe, "_escape_inner", _escaped_text)
_new = str.__new__


def escape(value: Any) -> Markup:
    """``markupsafe.escape(value)``: the same string, made in one call for a ``str`` or a Markup."""
    kind = type(value)
    if kind is Markup:
        return value  # (escape copies a Markup: the same string)
    if kind is str:
        return _new(Markup, _inner(value))  # (Markup(s): str.__new__ for a str)
    return markupsafe.escape(value)


class Template(jinja2.Template):
    """A template that prints values through :func:`escape` (set as an environment's
    ``template_class``): a compiled template looks ``escape`` up in its module's namespace, which
    imports markupsafe's; the namespace's name is set to :func:`escape` once the template is made."""

    @classmethod
    def from_code(
        cls,
        environment: jinja2.Environment,
        code: CodeType,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
    ) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        namespace = template.root_render_func.__globals__
        if namespace.get("escape") is not markupsafe.escape:  # a Jinja2 that compiles otherwise: as it is
            return template
        namespace["escape"] = escape
        return template
