"""Flags: what the figures say about an item, each with a code, a reason and how sure it is.

| code | name | raised when |
|---|---|---|
| AN101 | too-easy | facility is above the band of the item's difficulty tag (suggests the tag that fits) |
| AN102 | too-hard | facility is below the band of the item's difficulty tag (suggests the tag that fits) |
| AN103 | low-discrimination | 0 ≤ discrimination index < 0.20 |
| AN104 | negative-discrimination | discrimination index < 0: stronger students do worse on it |
| AN105 | key-less-popular | a distractor was chosen more often than the key |
| AN106 | dead-distractor | a distractor nobody chose |
| AN107 | probable-miskey | the key's option discrimination is ≤ 0 while a distractor's is at least 0.20 and that distractor is the top score group's most frequent choice |
| AN108 | no-variance | every attempt got the same mark: the item says nothing about who knows more |

Difficulty bands (facility): easy ≥ 0.75, medium 0.45–0.75, hard < 0.45.  A flag is *tentative*
when fewer than 30 attempts took the item, and a difficulty flag also when the 95% interval of the
facility reaches into the tag's band: small classes get a warning, not fake precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .codes import FLAG_NAMES
from .statistics import wilson_interval

BANDS: dict[str, tuple[float, float]] = {"easy": (0.75, 1.0), "medium": (0.45, 0.75), "hard": (0.0, 0.45)}
LOW_DISCRIMINATION = 0.20
SMALL_SAMPLE = 30



@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    tentative: bool = False
    option: str | None = None  # the option concerned (dead distractor, probable key)

    @property
    def name(self) -> str:
        return FLAG_NAMES[self.code]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name, "message": self.message, "tentative": self.tentative}
        if self.option is not None:
            out["option"] = self.option
        return out


def band_of(facility: float) -> str:
    """The difficulty tag a facility supports."""
    if facility >= BANDS["easy"][0]:
        return "easy"
    if facility >= BANDS["medium"][0]:
        return "medium"
    return "hard"


def _in_band(low: float, high: float, tag: str) -> bool:
    b_low, b_high = BANDS[tag]
    return high >= b_low and low <= b_high


def item_flags(stats: Any) -> list[Flag]:
    """Flags for one :class:`~itembank.analysis.pipeline.ItemStats`."""
    flags: list[Flag] = []
    s = stats.s
    small = s < SMALL_SAMPLE
    f = stats.facility
    if f is not None and stats.difficulty in BANDS:
        fits = band_of(f)
        if fits != stats.difficulty:
            low, high = wilson_interval(f * s, s)
            tentative = small or _in_band(low, high, stats.difficulty)
            code = "AN101" if BANDS[fits][0] > BANDS[stats.difficulty][0] else "AN102"
            word = "easier" if code == "AN101" else "harder"
            flags.append(
                Flag(
                    code,
                    f"facility {f:.2f} (95% interval {low:.2f}–{high:.2f}, n={s}) is {word} than '{stats.difficulty}' "
                    f"({BANDS[stats.difficulty][0]:.2f}–{BANDS[stats.difficulty][1]:.2f}); the data supports '{fits}'",
                    tentative,
                )
            )
    d = stats.discrimination
    if stats.sd is not None and stats.sd == 0:
        flags.append(Flag("AN108", f"all {s} attempts got the same mark ({f:.2f} of the maximum)" if f is not None else "all attempts got the same mark", small))
    elif d is not None and d < 0:
        flags.append(Flag("AN104", f"discrimination index {d:.2f}: students who did better on the rest of the test did worse on this item", small))
    elif d is not None and d < LOW_DISCRIMINATION:
        flags.append(Flag("AN103", f"discrimination index {d:.2f} is below {LOW_DISCRIMINATION:.2f}: the item barely separates stronger from weaker students", small))
    options = [o for o in stats.options if o.id is not None]
    keys = [o for o in options if o.key]
    distractors = [o for o in options if not o.key]
    if len(keys) == 1 and distractors and stats.type in ("multiple_choice", "true_false"):
        key = keys[0]
        top = max(distractors, key=lambda o: (o.count, o.id))
        if top.count > key.count:
            flags.append(
                Flag("AN105", f"distractor {top.id} was chosen by {top.share:.0%} of students, the key {key.id} by {key.share:.0%}", small, option=top.id)
            )
        for o in distractors:
            if o.count == 0 and s > 0:
                flags.append(Flag("AN106", f"distractor {o.id} was chosen by nobody (n={s})", small, option=o.id))
        suspects = [
            o
            for o in distractors
            if o.discrimination is not None
            and o.discrimination >= LOW_DISCRIMINATION
            and (key.discrimination is None or key.discrimination <= 0)
            and all(o.groups.get("high", 0) > other.groups.get("high", 0) for other in options if other is not o)
        ]
        if suspects:
            best = max(suspects, key=lambda o: (o.discrimination or 0, o.id))
            kd = "undefined" if key.discrimination is None else f"{key.discrimination:.2f}"
            flags.append(
                Flag(
                    "AN107",
                    f"the top score group prefers {best.id} ({best.groups.get('high', 0):.0%}) to the key {key.id} ({key.groups.get('high', 0):.0%}); "
                    f"option discrimination {best.id} {best.discrimination:.2f}, key {kd}: check whether {best.id} is the right answer",
                    small,
                    option=best.id,
                )
            )
    return flags
