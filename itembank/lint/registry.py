"""The catalogue of lint rules: code, name, guideline, default severity and check function.

Codes are stable (CI scripts, suppressions and editors match on them) and live in their own range,
IB5xx: IB501-IB549 look at one item, IB550-IB599 at the whole bank.  Every rule cites the
guideline it comes from: Haladyna, Downing & Rodriguez (2002), "A review of multiple-choice
item-writing guidelines for classroom assessment", Applied Measurement in Education 15(3), 309-333,
numbered as in their Table 1 (HDR 1-31), unless it says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from collections.abc import Callable, Iterator

if TYPE_CHECKING:
    from ..model import AnyItem, Bank
    from .engine import LintContext

Scope = Literal["item", "bank"]
CODE_PREFIX = "IB5"


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule found: a one-line reason, a suggestion, and where (a path inside an item or a file)."""

    message: str
    suggestion: str
    path: tuple[object, ...] = ()
    item: AnyItem | None = None  # bank rules: the item the finding belongs to (located in its file)
    file: Path | None = None  # bank rules: another file (a blueprint); None with no item: itembank.yaml
    text: str | None = None  # that file's text, when the rule has it (positions without reading it again)


ItemCheck = Callable[["AnyItem", "LintContext"], Iterator[Finding]]
BankCheck = Callable[["Bank", "LintContext"], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class LintRule:
    code: str
    name: str  # kebab-case, shown in SARIF and docs
    summary: str  # one line, for the README table and SARIF
    guideline: str  # where the rule comes from, e.g. "HDR 24"
    scope: Scope
    check: Callable[..., Iterator[Finding]]
    severity: Literal["warning", "error"] = "warning"
    thresholds: tuple[str, ...] = field(default=())
    types: tuple[str, ...] | None = None  # item rules: the item types it looks at (None: every type)
    #: Run once before a bank's rules are shared with a forked child: loads what the check would
    #: load on first use (a dictionary), so that the child inherits it instead of loading it again.
    setup: Callable[[], None] | None = None

    @property
    def help_anchor(self) -> str:
        return f"docs/lint.md#{self.code.lower()}-{self.name}"


LINT_RULES: dict[str, LintRule] = {}


CHOICE = ("multiple_choice", "multiple_response")


def rule(
    code: str,
    name: str,
    summary: str,
    guideline: str,
    *,
    scope: Scope = "item",
    thresholds: tuple[str, ...] = (),
    types: tuple[str, ...] | None = None,
    setup: Callable[[], None] | None = None,
) -> Callable[[Any], Any]:
    """Register a check function under a code (``types``: the item types it is run on; ``setup``:
    see :attr:`LintRule.setup`)."""

    def register(fn: Callable[..., Iterator[Finding]]) -> Callable[..., Iterator[Finding]]:
        assert code.startswith(CODE_PREFIX) and code not in LINT_RULES, code
        LINT_RULES[code] = LintRule(code, name, summary, guideline, scope, fn, thresholds=thresholds, types=types, setup=setup)
        return fn

    return register


def matches(code: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether a code is named by any of the codes or prefixes (``IB5``, ``IB50``, ``IB501``)."""
    return any(code.startswith(p.strip().upper()) for p in patterns if p.strip())


#: Defaults of every threshold a rule reads (``itembank.yaml``: ``lint: {thresholds: {...}}``).
DEFAULT_THRESHOLDS: dict[str, Any] = {
    "key_length_ratio": 1.25,
    "key_length_min_chars": 10,
    "min_options": 3,
    "max_options": 5,
    "clang_min_words": 2,
    "readability_max_grade": {"beginner": 12.0, "intermediate": 16.0, "advanced": 20.0},
    "readability_min_words": 15,
    "key_balance_p": 0.05,
    "key_balance_min_items": 20,
    "longest_key_share": 0.4,
    "longest_key_p": 0.05,
    "longest_key_min_items": 10,
    "near_duplicate_similarity": 0.9,
    "difficulty_spread_min_items": 6,
}
