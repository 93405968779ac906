"""QTI identifiers (NCNames) for bank ids, and QTI's spelling of numbers.

Within an item, QTI wants every variable (response, outcome, template) and every choice to have an
identifier of its own: a choice's "must not be used by any other choice or item variable", and a
response declaration's identifier is an ``xs:ID``.  So each kind of id the schemas allow
(schemas/item.schema.json) maps to identifiers that no other id of the item can reach:

* item ids ``[a-z0-9][a-z0-9._-]*``: as they are, ``I_`` before a digit (no item id has ``_``);
* option ids ``[A-Za-z0-9][A-Za-z0-9._-]*``: as they are, ``C_`` before a digit or before an id that
  is the name of one of the item's variables (``SCORE``, ``duration``...; no option id has ``_``);
* blank names ``[A-Za-z_][A-Za-z0-9_-]*`` (they may have ``_``): response ``RESPONSE_<name>``,
  feedback ``FB_<name>``, a dropdown's choices ``RESPONSE_<name>_<n>``, or ``RESPONSE_<name>.<n>``
  when the item has a blank named ``<name>_<n>`` (no blank name has ``.``);
* matching ``P<n>``/``M<n>``/``D<n>``, ordering ``S<n>``, true/false ``true``/``false``: fixed;
* a calculated item's variables: :func:`.template.identifiers`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# --- identifiers and numbers ------------------------------------------------------------------

#: The variables an item may have: those the item writer declares and those QTI declares in every
#: item.  An option id that is one of them gets the ``C_`` prefix (a choice must not be named like a
#: variable).
VARIABLES = frozenset({"RESPONSE", "SCORE", "MAXSCORE", "FEEDBACK", "SOLUTION_FB", "HINT_FB", "ANSWER_FB",
                       "completionStatus", "numAttempts", "duration"})


@lru_cache(maxsize=1024)  # option ids (a, b, c...) and blank names repeat across items
def qti_id(raw: str, prefix: str) -> str:
    """A QTI identifier (an NCName) for a bank id; ids that cannot start one get ``prefix``.

    Bank ids are ``[a-z0-9][a-z0-9._-]*`` and option ids ``[A-Za-z0-9][A-Za-z0-9._-]*``: neither has
    ``_``, so a prefix like ``I_`` can never collide with another id.  Blank names may have ``_``:
    they are written by :func:`blank_response` and the functions after it, not by this one.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", raw)
    return safe if re.match(r"[A-Za-z]", safe) else f"{prefix}{safe}"


@lru_cache(maxsize=1024)
def option_id(raw: str) -> str:
    """A choice item's option as a ``simpleChoice`` identifier: :func:`qti_id`, and ``C_`` before an
    id named like one of the item's variables (:data:`VARIABLES`)."""
    return f"C_{raw}" if raw in VARIABLES else qti_id(raw, "C_")


def blank_response(name: str) -> str:
    """A cloze blank's response identifier (an NCName: a blank name is ``[A-Za-z_][A-Za-z0-9_-]*``)."""
    return f"RESPONSE_{name}"


def blank_feedback(name: str) -> str:
    """A cloze blank's modal feedback identifier (the value FEEDBACK takes when the blank is wrong)."""
    return f"FB_{name}"


def blank_choice(name: str, n: int, names: Iterable[str]) -> str:
    """The identifier of a dropdown blank's ``n``-th choice (from 1), among the item's blank ``names``:
    ``RESPONSE_<name>_<n>``, unless that is the response of a blank ``<name>_<n>`` of the item; then
    ``RESPONSE_<name>.<n>`` (a blank name has no ``.``, so nothing else is spelled so)."""
    own = f"{name}_{n}"
    return f"RESPONSE_{name}.{n}" if own in names else f"RESPONSE_{own}"
