"""Moodle question category paths (Moodle XML ``<category>``, GIFT ``$CATEGORY:``).

Moodle's ``split_category_path`` splits a path at each single '/' (a doubled '//' is a '/' inside a
name) and trims each name; ``create_category_path`` drops a first ``$course$``-like context, puts
everything under the context's own category, which is named exactly ``top`` (lower case), and skips
any name ``top`` it does not find (so ``$course$/top/A`` and ``A`` are the same category). An item
has one topic: the last name.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"(?<!/)/(?!/)")
_CONTEXT = re.compile(r"\$[a-z]+\$")


def category_names(path: str) -> list[str]:
    """The categories a path makes in Moodle, outermost first, without the context and ``top``:
    ``'$course$/top/Input//Output/Files'`` -> ``['Input/Output', 'Files']``; ``'Topics'`` is a name
    like any other (only ``top`` itself is Moodle's)."""
    names = [n.replace("//", "/").strip() for n in _SPLIT.split(path)]
    if names and _CONTEXT.fullmatch(names[0]):
        names = names[1:]
    return [n for n in names if n and n != "top"]
