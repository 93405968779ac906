"""Item ids for imported questions: deterministic, valid, unique.

The source's own id (Moodle ``idnumber``, GIFT ``[id:]``, QTI identifier, Canvas ident) is used when
it fits our id pattern; otherwise a slug of the question's name plus a short hash of its content
(the same question always gets the same id, so a re-import meets ``--on-conflict``).  Within one
import run ids are unique; a derived id that clashes with an unrelated bank item gets a longer hash.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
OPTION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
BLANK_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,31}$")


def slug(text: str, max_len: int = 40) -> str:
    """``"What is a Token?"`` -> ``"what-is-a-token"`` (ASCII, lowercase, ``-`` separated)."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[^a-z0-9]+", "-", norm).strip("-")
    s = s[:max_len].rstrip("-")
    return s or "q"


def short_hash(*parts: str, length: int = 8) -> str:
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return h[:length]


class IdAllocator:
    """Hands out item ids.  ``bank_ids``: ids already in the target bank (derived ids avoid them)."""

    def __init__(self, bank_ids: Iterable[str] = ()) -> None:
        self.bank_ids = set(bank_ids)
        self.used: set[str] = set()

    def derive(self, source_id: str | None, name: str, content: str = "") -> str:
        """The id for a question: ``source_id`` if valid (a source id already used in this run gets
        a suffix), else ``slug(name)-<hash of name+content>``.
        """
        if source_id is not None:
            sid = source_id.strip()
            if ID_RE.match(sid):
                return self._unique(sid, name, content, from_source=True)
            lowered = sid.lower()
            if ID_RE.match(lowered):
                return self._unique(lowered, name, content, from_source=True)
        base = slug(name or content or "q")
        for length in (8, 12, 16, 24, 32):
            cand = f"{base}-{short_hash(name, content, length=length)}"
            if cand not in self.used and cand not in self.bank_ids:
                self.used.add(cand)
                return cand
            if cand not in self.used and cand in self.bank_ids:
                # the same question imported before: same id, the framework applies --on-conflict
                self.used.add(cand)
                return cand
        return self._unique(base, name, content, from_source=False)

    def _unique(self, cand: str, name: str, content: str, *, from_source: bool) -> str:
        if cand not in self.used:
            self.used.add(cand)
            return cand
        n = 2
        while True:
            suffix = f"-{n}"
            c = cand[: 64 - len(suffix)] + suffix
            if c not in self.used:
                self.used.add(c)
                return c
            n += 1


def option_id(raw: str | None, index: int, used: set[str]) -> str:
    """An option id: the source's if it fits and is new, else ``a``, ``b``, ... by position."""
    if raw and OPTION_ID_RE.match(raw) and raw not in used:
        used.add(raw)
        return raw
    letters = "abcdefghijklmnopqrstuvwxyz"
    cand = letters[index] if index < 26 else f"o{index + 1}"
    while cand in used:
        cand = f"o{index + 1}-{len(used)}"
    used.add(cand)
    return cand


def blank_name(raw: str | None, index: int, used: set[str]) -> str:
    """A cloze placeholder name: the source's if it fits, else ``b1``, ``b2``, ..."""
    if raw and BLANK_NAME_RE.match(raw) and raw not in used:
        used.add(raw)
        return raw
    n = index + 1
    cand = f"b{n}"
    while cand in used:
        n += 1
        cand = f"b{n}"
    used.add(cand)
    return cand


def renamed_note(what: str, source_id: str, item_id: str) -> str:
    """Why an item did not get the id its source gave (``what``: "GIFT id", "Moodle idnumber"): an
    earlier question of this import has it, or it is no valid item id."""
    valid = next((c for c in (source_id, source_id.lower()) if ID_RE.match(c)), None)
    if valid is not None and item_id != valid:
        return f"{what} {source_id!r} is the id of an earlier question in this import; the item's id is {item_id!r}"
    return f"{what} {source_id!r} is not a valid item id; the item's id is {item_id!r}"
