"""``itembank lint``: item-writing flaws, reported as warnings with their own codes (IB5xx).

Validation proves an item is well-formed; lint says whether it is a good item, by the
multiple-choice item-writing guidelines of Haladyna, Downing & Rodriguez (2002).  One module per
rule family registers its rules in :data:`LINT_RULES`; :func:`lint_bank` runs them.

>>> from itembank import load_bank
>>> from itembank.lint import lint_bank
>>> for p in lint_bank(load_bank("items")): print(p.format())
"""

from __future__ import annotations

from . import bank, choices, coverage, duplicates, media, stems  # noqa: F401  (each registers its rules)
from .engine import LintContext, gc_paused, lint_bank, lint_result, selected_rules
from .registry import DEFAULT_THRESHOLDS, LINT_RULES, Finding, LintRule, matches

__all__ = [
    "DEFAULT_THRESHOLDS",
    "LINT_RULES",
    "Finding",
    "LintContext",
    "LintRule",
    "gc_paused",
    "lint_bank",
    "lint_result",
    "matches",
    "selected_rules",
]

# Modules register in import order; list the rules by code.
_by_code = dict(sorted(LINT_RULES.items()))
LINT_RULES.clear()
LINT_RULES.update(_by_code)
