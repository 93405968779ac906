"""A stable fingerprint of an item's content, to tell whether it changed between two points in time.

Used by the review workbook: the exporter writes each item's fingerprint into a hidden column and
``itembank review import`` refuses to apply a decision to an item whose content has changed since —
the reviewer judged other text than the one the bank now holds.

The fingerprint covers everything the author wrote (the normalized item, defaults filled in, so that
writing ``points: 1`` or leaving it out is the same content) except the review workflow itself:
``status`` and ``reviews`` change *because of* a review, so they must not make the review stale;
``evidence`` (written by ``itembank analyze --write``) is data about the item, not its content.
Where the item lives (its file) is not content either.
"""

from __future__ import annotations

import hashlib

from .jsontext import compact
from .model import AnyItem
from .normalize import to_data

#: Hex digits kept: 64 bits make an accidental collision between two versions of one item negligible.
FINGERPRINT_LENGTH = 16

#: Workflow fields (a review's, the analysis's); they are left out of the fingerprint.
WORKFLOW_FIELDS = ("status", "reviews", "evidence")


def canonical_json(item: AnyItem) -> bytes:
    """The item's content as canonical JSON, UTF-8: sorted keys, no insignificant whitespace, the text
    ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes (by orjson where it
    writes alike: :func:`itembank.jsontext.compact`; workbooks written before hold fingerprints of
    that text, which must not move).  The workbook export fingerprints every item: 10,000 items took
    0.42 s, 0.24 s of them in ``json.dumps``."""
    data = to_data(item)
    for key in WORKFLOW_FIELDS:
        data.pop(key, None)
    return compact(data)


def fingerprint(item: AnyItem) -> str:
    """A short hex digest of the item's content (sha256 of :func:`canonical_json`, truncated)."""
    return hashlib.sha256(canonical_json(item)).hexdigest()[:FINGERPRINT_LENGTH]
