"""Moodle's grade list, and how a multiple response item's scoring is put on it.

Moodle's importer (with its default "Match grades: error if grade not listed") rejects an answer
whose fraction is not one of the grades below, and a multiple-answer multichoice question must have
positive fractions that add up to 100 % (Moodle rounds the sum to two decimals of a fraction, so
3 × 33.33333 passes).  This module is pure so that validation (rule IB221) and the Moodle XML and
GIFT exporters share one answer to "how is this item scored in Moodle?".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

#: Moodle's positive grades in percent (question_bank::fraction_options_full), largest first.
MOODLE_GRADES: tuple[float, ...] = (
    100.0, 90.0, 83.33333, 80.0, 75.0, 70.0, 66.66667, 60.0, 50.0, 40.0, 33.33333,
    30.0, 25.0, 20.0, 16.66667, 14.28571, 12.5, 11.11111, 10.0, 5.0,
)  # fmt: skip
#: How far from 100 the positive fractions may add up (in percent; Moodle allows 0.5).
SUM_TOLERANCE = 0.01
#: The most correct options 100 % can be split across: the smallest positive grade is 5 %.
MAX_CORRECT = int(100 / MOODLE_GRADES[-1])


@dataclass(frozen=True, slots=True)
class MoodleFractions:
    """Fractions (percent, each on Moodle's list) for the correct and the wrong options, in order.

    ``exact`` is False when Moodle cannot express the item's scoring exactly (all_or_nothing): the
    best mapping is used and the exporter says so.
    """

    correct: tuple[float, ...]
    wrong: tuple[float, ...]
    exact: bool = True


def moodle_fractions(n_correct: int, n_wrong: int, scoring: str = "partial") -> MoodleFractions | None:
    """Fractions for a multiple response item with ``n_correct`` keys and ``n_wrong`` distractors.

    Correct options share 100 %: ``100/n`` each when that is on the list, else the two closest list
    values whose counts add up to exactly 100 (the larger share goes to the first options).  With
    ``partial`` scoring the wrong options share -100 % the same way, so that ticking every box scores
    0; beyond 20 distractors each gets -5 % (the sum is below -100, and Moodle floors a score at 0).
    ``all_or_nothing`` cannot be expressed by multichoice fractions: every wrong option gets -100 %,
    so any wrong tick scores 0, but a learner who ticks only some keys still gets their share.
    Returns None when the keys cannot be scored on the list (more than 20 correct options).
    """
    if n_correct < 1 or n_wrong < 0:
        return None
    correct = split_hundred(n_correct)
    if correct is None:
        return None
    if scoring == "all_or_nothing":
        return MoodleFractions(correct, (-100.0,) * n_wrong, exact=False)
    wrong = split_hundred(n_wrong) if n_wrong else ()
    if wrong is None:
        wrong = (MOODLE_GRADES[-1],) * n_wrong
    return MoodleFractions(correct, tuple(-w for w in wrong))


@cache
def split_hundred(n: int) -> tuple[float, ...] | None:
    """``n`` list grades adding up to 100 (within 0.01), as equal as the list allows; None if none do."""
    if n < 1 or n > MAX_CORRECT:
        return None
    ideal = 100.0 / n
    for grade in MOODLE_GRADES:
        if abs(grade * n - 100.0) <= SUM_TOLERANCE:
            return (grade,) * n
    best: tuple[float, tuple[float, ...]] | None = None
    # Two grades around the ideal share: a × high + (n − a) × low = 100.
    for high in MOODLE_GRADES:
        if high < ideal:
            break
        for low in MOODLE_GRADES:
            if low >= ideal:
                continue
            for a in range(1, n):
                if abs(a * high + (n - a) * low - 100.0) > SUM_TOLERANCE:
                    continue
                split = (high,) * a + (low,) * (n - a)
                spread = sum((g - ideal) ** 2 for g in split)
                if best is None or spread < best[0] - 1e-9:
                    best = (spread, split)
    return best[1] if best else None


def format_fraction(value: float) -> str:
    """A fraction as Moodle writes it: ``100``, ``-50``, ``33.33333``."""
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def on_moodle_list(value: float) -> bool:
    """Whether a percentage is one of Moodle's grades (or its negative, or 0)."""
    return value == 0 or any(abs(abs(value) - g) < 0.001 for g in MOODLE_GRADES)
