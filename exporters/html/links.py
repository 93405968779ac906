"""The site's own invariant: every relative link and image of every page names a file of the site."""

from __future__ import annotations

import re
from collections.abc import Mapping
from posixpath import dirname, join, normpath
from urllib.parse import unquote

# Attribute values are always double-quoted: Jinja templates write them so, and so does lxml.
_REF = re.compile(rb'\s(?:href|src)="([^"]*)"')
_EXTERNAL = re.compile(rb"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|#)")


def broken_links(files: Mapping[str, bytes]) -> list[str]:
    """``page: target`` for each relative reference that resolves to no file of ``files``."""
    problems = []
    for name in sorted(files):
        if not name.endswith(".html"):
            continue
        for raw in sorted(set(_REF.findall(files[name]))):
            if not raw or _EXTERNAL.match(raw):
                continue
            target = unquote(raw.decode("utf-8").split("#", 1)[0].split("?", 1)[0])
            path = normpath(join(dirname(name), target))
            if path not in files:
                problems.append(f"{name}: {raw.decode('utf-8')}")
    return problems
