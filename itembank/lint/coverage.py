"""Blueprint coverage: can the bank fill every form of every assessment without repeating items?"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Bank
from ..problems import json_path
from ..wording import plural
from .registry import Finding, rule

if TYPE_CHECKING:
    from .engine import LintContext


@rule(
    "IB554",
    "blueprint-coverage",
    "too few approved items to give each form of an assessment its own items",
    "HDR 1 (test specifications)",
    scope="bank",
)
def blueprint_coverage(bank: Bank, ctx: LintContext) -> Iterator[Finding]:
    """Filter rules claim items in the order the selection does (explicit ids first, then file order),
    each needing ``count × forms`` distinct items for forms that share none.

    The blueprints are the ones validation resolved (``bank.assessments``): a blueprint with errors is
    validate's to report, and the assessments folder is not read again."""
    for name in sorted(bank.assessments):
        assessment = bank.assessments[name].assessment
        if assessment.forms < 2:
            continue  # one form repeats nothing
        claimed = {i for s in assessment.sections for r in s.rules if r.ids is not None for i in r.ids}
        for section in assessment.sections:
            for r in section.rules:
                if r.ids is not None or r.count is None or r.delivery != "build":
                    continue
                need = r.count * assessment.forms
                pool = [i.id for i in bank.items if i.id not in claimed and r.matches(i)]
                claimed.update(pool[:need])
                if len(pool) < need:
                    yield Finding(
                        f"rule {json_path(list(r.path))} ({r.describe()}) draws {r.count} per form: {assessment.forms} forms without repeats need {need}, the bank has {len(pool)}",
                        f"write {plural(need - len(pool), 'more matching item')} (or approve drafts), or accept that forms share items",
                        r.path + ("count",),
                        file=Path(assessment.file).resolve(),
                        text=assessment.text,
                    )
