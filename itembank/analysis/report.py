"""The analysis as text (for people) and JSON (for programs)."""

from __future__ import annotations

import json

from .codes import FLAG_NAMES
from .pipeline import Analysis, ItemStats
from ..wording import plural


def _pct(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f}%"


def _num(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "-"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.00"


def to_json(analysis: Analysis) -> str:
    return json.dumps(analysis.as_dict(), indent=2, ensure_ascii=False) + "\n"


def to_text(analysis: Analysis) -> str:
    """Moodle's units on screen (percentages), so the figures can be set beside its Statistics report."""
    out: list[str] = []
    for t in analysis.tests:
        f = t.figures
        out.append(f"{t.name} ({t.as_dict()['report']}): {f.s} attempts, {f.items} slots, max {f.max_total:g} marks")
        if f.mean is not None and f.max_total:
            out.append(
                f"  mean {_pct(f.mean / f.max_total)}  median {_pct((f.median or 0) / f.max_total)}  SD {_pct(f.sd / f.max_total if f.sd is not None else None)}"
                f"  skewness {_num(f.skewness, 4)}  kurtosis {_num(f.kurtosis, 4)}"
            )
            out.append(
                f"  coefficient of internal consistency (Cronbach's alpha) {_pct(f.alpha)}  error ratio {_pct(f.error_ratio)}"
                f"  standard error {_pct(f.standard_error / f.max_total if f.standard_error is not None else None)}"
            )
    out.append("")
    header = f"{'item':<24} {'n':>5} {'facility':>9} {'SD':>8} {'guess':>8} {'discr.':>8} {'effic.':>8}  flags"
    out.append(header)
    out.append("-" * len(header))
    for item in analysis.items:
        # one code per kind: two dead distractors are two lines below, one AN106 here
        codes = ",".join(dict.fromkeys(f.code + ("?" if f.tentative else "") for f in item.flags))
        out.append(
            f"{item.id[:24]:<24} {item.s:>5} {_pct(item.facility):>9} {_pct(item.sd):>8} {_pct(item.random_guess):>8}"
            f" {_pct(item.discrimination):>8} {_pct(item.efficiency):>8}  {codes}"
        )
    flagged = analysis.flagged()
    if flagged:
        out.append("")
        out.append(f"{plural(len(flagged), 'flagged item')} ('?' = tentative: small sample or within the margin):")
        for item in flagged:
            out.extend(_item_detail(item))
    if analysis.warnings:
        out.append("")
        out.extend(f"warning: {w}" for w in analysis.warnings)
    if analysis.notes:
        out.append("")
        out.extend(f"note: {n}" for n in analysis.notes)
    return "\n".join(out) + "\n"


def _item_detail(item: ItemStats) -> list[str]:
    lines = [f"\n  {item.id} — {item.title} (tag: {item.difficulty or 'none'}; the data supports: {item.suggested_difficulty or '-'})"]
    for f in item.flags:
        lines.append(f"    {f.code} {FLAG_NAMES[f.code]}{' (tentative)' if f.tentative else ''}: {f.message}")
    if item.options:
        lines.append(f"    {'option':<14} {'key':>3} {'chosen':>7} {'discr.':>7}   low  mid  high")
        for o in item.options:
            name = f"{o.label} {o.id}" if o.id else o.label
            g = o.groups
            lines.append(
                f"    {name[:14]:<14} {'*' if o.key else '':>3} {o.share:>7.0%} {_num(o.discrimination):>7}  "
                f"{g.get('low', 0):>4.0%} {g.get('middle', 0):>4.0%} {g.get('high', 0):>5.0%}"
            )
    return lines
