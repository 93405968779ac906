"""Our tag scheme back to fields: what the Moodle/GIFT/Canvas exports write as tags.

``difficulty:hard``, ``level:beginner``, ``bloom:apply``, ``topic:…``, ``objective:…``,
``status:approved`` become the item's fields; ``type:flashcard`` says the essay was a flashcard;
every other tag stays a free tag.  A scheme tag with a value our schema does not allow stays a free
tag, with a note.
"""

from __future__ import annotations

from typing import Any

ENUMS = {
    "difficulty": ("easy", "medium", "hard"),
    "level": ("beginner", "intermediate", "advanced"),
    "bloom": ("remember", "understand", "apply", "analyze", "evaluate", "create"),
    "status": ("draft", "review", "approved", "retired"),
}


def apply_tags(data: dict[str, Any], tags: list[str], notes: list[str]) -> set[str]:
    """Set fields of ``data`` from ``tags``; free tags go to ``data["tags"]``.  Returns the set of
    markers found (e.g. ``{"type:flashcard"}``) for the importer to act on.
    """
    free: list[str] = []
    markers: set[str] = set()
    objectives: list[str] = []
    for raw in tags:
        tag = raw.strip()
        if not tag:
            continue
        key, sep, value = tag.partition(":")
        key_l = key.strip().lower()
        value = value.strip()
        if sep and key_l in ENUMS:
            v = value.lower()
            if v in ENUMS[key_l] and key_l not in data:
                data[key_l] = v
                continue
            if v not in ENUMS[key_l]:
                notes.append(f"tag '{tag}' is not a {key_l} our schema knows ({', '.join(ENUMS[key_l])}); kept as a free tag")
        elif sep and key_l == "topic" and value:
            if "topic" not in data:
                data["topic"] = value
                continue
        elif sep and key_l == "objective" and value:
            objectives.append(value)
            continue
        elif sep and key_l == "type" and value:
            markers.add(f"type:{value}")
            continue
        if tag not in free:
            free.append(tag)
    if objectives:
        data["objectives"] = list(dict.fromkeys(objectives))
    if free:
        data["tags"] = free
    return markers


#: The longest title an item holds (``schemas/item.schema.json``).
TITLE_MAX = 255


def item_title(title: str, notes: list[str]) -> str:
    """A source's title as the item's: cut to :data:`TITLE_MAX` characters, which a note says."""
    if len(title) > TITLE_MAX:
        notes.append(f"title of {len(title)} characters cut to its first {TITLE_MAX} (an item's title holds {TITLE_MAX})")
    return title[:TITLE_MAX]
