"""Every error itembank raises on purpose, in one place.

Messages speak about the bank and its files, never about command-line flags: the CLI
(``itembank.cli``) maps these classes to exit codes in one place (usage errors 2, the others 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .validate import CheckResult


class ItembankError(Exception):
    """A domain error with a message fit for the user."""


class UsageError(ItembankError):
    """The request itself is wrong (an unknown format, assessment or form, an unsupported option)."""


class OutputRefused(UsageError):
    """An output path would replace or pollute what itembank does not own (a folder with other
    files, a file itembank did not write, the bank, a link): refused, nothing written."""


class InvalidBank(ItembankError):
    """The bank has errors; ``result.problems`` lists them all."""

    def __init__(self, result: CheckResult) -> None:
        self.result = result
        n = len(result.errors)
        super().__init__(f"the bank has {n} error{'s' * (n != 1)}")


class ReviewImportError(ItembankError):
    """The workbook cannot be imported; ``details`` lists every problem (with row numbers)."""

    def __init__(self, summary: str, details: list[str]) -> None:
        super().__init__(summary)
        self.details = details


class MappingError(ItembankError):
    """Report slots could not be mapped to items for certain; ``details`` says which and why."""

    def __init__(self, summary: str, details: list[str]) -> None:
        super().__init__(summary)
        self.details = details
