"""QTI identifiers (NCNames) for bank ids, and QTI's spelling of numbers."""

from __future__ import annotations

import re
from functools import lru_cache

# --- identifiers and numbers ------------------------------------------------------------------


@lru_cache(maxsize=1024)  # option ids (a, b, c...) and blank names repeat across items
def qti_id(raw: str, prefix: str) -> str:
    """A QTI identifier (an NCName) for a bank id; ids that cannot start one get ``prefix``.

    Bank ids are ``[a-z0-9][a-z0-9._-]*`` and option ids ``[A-Za-z0-9][A-Za-z0-9._-]*``: neither has
    ``_``, so a prefix like ``I_`` can never collide with another id.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", raw)
    return safe if re.match(r"[A-Za-z]", safe) else f"{prefix}{safe}"

