"""Moodle question category paths (Moodle XML ``<category>``, GIFT ``$CATEGORY:``).

Moodle's ``split_category_path`` splits a path at each single '/' (a doubled '//' is a '/' inside a
name) and trims each name; ``create_category_path`` drops a first ``$course$``-like context, puts
everything under the context's own category, which is named exactly ``top`` (lower case), and skips
any name ``top`` it does not find (so ``$course$/top/A`` and ``A`` are the same category). An item
has one topic: the last name. The parents are not kept, which the report says once per path.
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


class ParentNotes:
    """The note that a category path's parents are not kept, once per path (by its names: the same
    category however it is written), for the caller to add when an item takes its topic from the path."""

    def __init__(self) -> None:
        self._said: set[tuple[str, ...]] = set()

    def note(self, where: str, names: list[str]) -> str | None:
        """``where``: how the report names the path (the line and the path as written). ``None`` for
        a path without parents, or one already noted."""
        if len(names) < 2 or tuple(names) in self._said:
            return None
        self._said.add(tuple(names))
        parents = names[:-1]
        which = (f"the parent category {parents[0]!r} is" if len(parents) == 1
                 else f"the parent categories {', '.join(repr(n) for n in parents)} are")
        top = next((n for n in parents if n.lower() == "top"), None)  # 'Top': written by hand for Moodle's own?
        also = f"; Moodle's own top category is 'top' in lower case, {top!r} is a category of its own" if top else ""
        return (f"{where}: Moodle makes the category tree {' > '.join(names)}; its questions get the topic {names[-1]!r} "
                f"(an item has one topic: {which} not kept{also})")
