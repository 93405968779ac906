"""The analysis as one self-contained HTML page with inline SVG plots (``analyze --html DIR``).

Offline by construction: no script, no external file, no web font; a Content-Security-Policy that
forbids loading anything.  Built with lxml elements (lxml escapes), never by string concatenation.

- a facility-vs-discrimination scatter of every item, difficulty bands shaded, the 0.20
  discrimination line drawn, flagged items in red and labelled with their id;
- per flagged item, the share of each score group (low 27 %, middle, high 27 %) choosing each option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from ..atomic import write_file_atomic
from ..model import Bank
from .codes import FLAG_NAMES
from .flags import BANDS, LOW_DISCRIMINATION
from .pipeline import Analysis, ItemStats

FLAGGED = "#c0392b"
PLAIN = "#2c7fb8"
GROUP_COLOURS = {"low": "#9ecae1", "middle": "#4292c6", "high": "#08306b"}
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td:first-child { white-space: nowrap; }
.flag { display: inline-block; background: #fdecea; color: #8a1f11; border-radius: .3rem; padding: 0 .3rem; margin: 0 .1rem; }
.tentative { background: #f4f4f4; color: #555; }
.warning { color: #8a4b00; }
svg text { font-size: 12px; fill: #222; }
section.item { border-top: 2px solid #eee; margin-top: 2rem; }
"""


def _el(parent: Any, tag: str, text: str | None = None, **attrs: Any) -> Any:
    el = etree.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"): str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def scatter(parent: Any, analysis: Analysis) -> Any:
    """Facility (x) against discrimination index (y), flagged items labelled."""
    w, h, left, right, top, bottom = 640, 420, 56, 16, 16, 48
    ds = [i.discrimination for i in analysis.items if i.discrimination is not None]
    y_low = min([-0.2] + [d - 0.05 for d in ds])
    y_high = 1.0

    def px(facility: float) -> float:
        return left + facility * (w - left - right)

    def py(discrimination: float) -> float:
        return top + (y_high - discrimination) / (y_high - y_low) * (h - top - bottom)

    svg = _el(parent, "svg", width=w, height=h, viewBox=f"0 0 {w} {h}", role="img", aria_label="Facility against discrimination index, one point per item")
    _el(svg, "title", "Facility against discrimination index")
    for tag, (lo, hi) in BANDS.items():
        shade = {"easy": "#f1f8e9", "medium": "#fffde7", "hard": "#fbe9e7"}[tag]
        _el(svg, "rect", x=f"{px(lo):.1f}", y=top, width=f"{px(hi) - px(lo):.1f}", height=h - top - bottom, fill=shade)
        _el(svg, "text", tag, x=f"{(px(lo) + px(hi)) / 2:.1f}", y=top + 14, text_anchor="middle", fill="#777")
    for at in (0, 0.25, 0.5, 0.75, 1.0):
        _el(svg, "line", x1=f"{px(at):.1f}", x2=f"{px(at):.1f}", y1=top, y2=h - bottom, stroke="#ddd")
        _el(svg, "text", f"{at:.2f}", x=f"{px(at):.1f}", y=h - bottom + 16, text_anchor="middle")
    tick = -0.2 if y_low <= -0.2 else 0.0
    while tick <= y_high + 1e-9:
        if tick >= y_low:
            _el(svg, "text", f"{tick:.1f}", x=left - 6, y=f"{py(tick) + 4:.1f}", text_anchor="end")
            _el(svg, "line", x1=left, x2=w - right, y1=f"{py(tick):.1f}", y2=f"{py(tick):.1f}", stroke="#999" if abs(tick) < 1e-9 else "#eee")
        tick = round(tick + 0.2, 10)
    _el(svg, "line", x1=left, x2=w - right, y1=f"{py(LOW_DISCRIMINATION):.1f}", y2=f"{py(LOW_DISCRIMINATION):.1f}", stroke="#c0392b", stroke_dasharray="4 4")
    _el(svg, "text", f"discrimination {LOW_DISCRIMINATION:.2f}", x=left + 4, y=f"{py(LOW_DISCRIMINATION) - 4:.1f}", fill="#c0392b")
    _el(svg, "text", "facility (share of the marks)", x=f"{(left + w - right) / 2:.1f}", y=h - 8, text_anchor="middle")
    _el(svg, "text", "discrimination index", x=14, y=f"{(top + h - bottom) / 2:.1f}", text_anchor="middle", transform=f"rotate(-90 14 {(top + h - bottom) / 2:.1f})")
    for item in analysis.items:
        if item.facility is None or item.discrimination is None:
            continue
        flagged = bool(item.flags)
        g = _el(svg, "g", class_="point flagged" if flagged else "point", data_item=item.id)
        dot = _el(g, "circle", cx=f"{px(item.facility):.1f}", cy=f"{py(item.discrimination):.1f}", r=6 if flagged else 4.5, fill=FLAGGED if flagged else PLAIN)
        codes = ", ".join(f.code for f in item.flags)
        _el(dot, "title", f"{item.id}: facility {_pct(item.facility)}, discrimination {item.discrimination:.2f}" + (f" ({codes})" if codes else ""))
        if flagged:
            anchor = "end" if item.facility > 0.8 else "start"
            dx = -8 if anchor == "end" else 8
            _el(g, "text", item.id, x=f"{px(item.facility) + dx:.1f}", y=f"{py(item.discrimination) + 4:.1f}", text_anchor=anchor, fill=FLAGGED)
    return svg


def option_bars(parent: Any, item: ItemStats) -> Any:
    """Per option, three bars: the share of the low, middle and high score groups that chose it."""
    opts = item.options
    group_w, bar_w, left, top, bottom, plot_h = 96, 22, 44, 28, 44, 180
    w = max(left + group_w * len(opts) + 16, left + 3 * 110)
    h = top + plot_h + bottom
    svg = _el(parent, "svg", width=w, height=h, viewBox=f"0 0 {w} {h}", role="img", aria_label=f"Option choices of {item.id} by score group")
    _el(svg, "title", f"Option choices of {item.id} by score group")
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - frac)
        _el(svg, "line", x1=left, x2=w - 16, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke="#eee" if frac else "#999")
        _el(svg, "text", f"{frac:.0%}", x=left - 6, y=f"{y + 4:.1f}", text_anchor="end")
    for n, (name, colour) in enumerate(GROUP_COLOURS.items()):
        _el(svg, "rect", x=left + n * 110, y=4, width=12, height=12, fill=colour)
        _el(svg, "text", f"{name} group", x=left + n * 110 + 16, y=14)
    for k, o in enumerate(opts):
        x0 = left + k * group_w + (group_w - 3 * bar_w) / 2
        for n, group in enumerate(("low", "middle", "high")):
            share = o.groups.get(group, 0.0)
            bh = plot_h * share
            bar = _el(svg, "rect", x=f"{x0 + n * bar_w:.1f}", y=f"{top + plot_h - bh:.1f}", width=bar_w - 3, height=f"{bh:.1f}", fill=GROUP_COLOURS[group], class_=f"bar {group}")
            _el(bar, "title", f"{o.label}: {share:.0%} of the {group} group")
        label = f"{o.label} {o.id}" if o.id else o.label
        text = _el(svg, "text", label + (" (key)" if o.key else ""), x=f"{left + k * group_w + group_w / 2:.1f}", y=top + plot_h + 18, text_anchor="middle")
        if o.key:
            text.set("font-weight", "bold")
        _el(svg, "text", f"{o.share:.0%} overall", x=f"{left + k * group_w + group_w / 2:.1f}", y=top + plot_h + 34, text_anchor="middle", fill="#666")
    return svg


def render(analysis: Analysis, bank: Bank) -> bytes:
    html = etree.Element("html", lang="en")
    head = _el(html, "head")
    _el(head, "meta", charset="utf-8")
    _el(head, "meta", http_equiv="Content-Security-Policy", content="default-src 'none'; style-src 'unsafe-inline'")
    _el(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    _el(head, "title", f"Item analysis — {bank.title}")
    _el(head, "style", CSS)
    body = _el(html, "body")
    _el(body, "h1", f"Item analysis — {bank.title}")
    _el(body, "p", f"Reports: {', '.join(Path(s).name for s in analysis.sources)}. Attempts counted: {analysis.attempts}. "
        "Figures as Moodle's quiz statistics report computes them.")
    for w in analysis.warnings:
        _el(body, "p", w, class_="warning")
    _el(body, "h2", "Tests")
    table = _el(body, "table")
    head_row = _el(table, "tr")
    for h in ("report", "attempts", "mean", "median", "SD", "skewness", "kurtosis", "alpha", "standard error"):
        _el(head_row, "th", h)
    for t in analysis.tests:
        tf = t.figures
        row = _el(table, "tr")
        mt = tf.max_total or 1.0
        for value in (
            t.name,
            str(tf.s),
            _pct(tf.mean / mt if tf.mean is not None else None),
            _pct(tf.median / mt if tf.median is not None else None),
            _pct(tf.sd / mt if tf.sd is not None else None),
            "–" if tf.skewness is None else f"{tf.skewness:.3f}",
            "–" if tf.kurtosis is None else f"{tf.kurtosis:.3f}",
            _pct(tf.alpha),
            _pct(tf.standard_error / mt if tf.standard_error is not None else None),
        ):
            _el(row, "td", value)
    _el(body, "h2", "Items: facility against discrimination")
    scatter(_el(body, "figure"), analysis)
    items = _el(body, "table")
    head_row = _el(items, "tr")
    for h in ("item", "n", "facility", "SD", "random guess", "discrimination", "efficiency"):
        _el(head_row, "th", h)
    _el(head_row, "th", "flags", class_="text")
    for item in analysis.items:
        row = _el(items, "tr", id=f"row-{item.id}")
        _el(row, "td", item.id)
        for value in (str(item.s), _pct(item.facility), _pct(item.sd), _pct(item.random_guess), _pct(item.discrimination), _pct(item.efficiency)):
            _el(row, "td", value)
        cell = _el(row, "td", class_="text")
        for f in item.flags:
            _el(cell, "span", f.code, class_="flag tentative" if f.tentative else "flag", title=FLAG_NAMES[f.code] + (" (tentative)" if f.tentative else ""))
    flagged = analysis.flagged()
    _el(body, "h2", f"Flagged items ({len(flagged)})")
    for item in flagged:
        sec = _el(body, "section", class_="item", id=f"item-{item.id}")
        _el(sec, "h3", f"{item.id} — {item.title}")
        _el(sec, "p", f"Difficulty tag: {item.difficulty or 'none'}; the data supports: {item.suggested_difficulty or '–'}. n = {item.s}.")
        ul = _el(sec, "ul")
        for f in item.flags:
            li = _el(ul, "li")
            _el(li, "span", f.code, class_="flag tentative" if f.tentative else "flag")
            _el(li, "span").text = f" {FLAG_NAMES[f.code]}{' (tentative)' if f.tentative else ''}: {f.message}"
        for w in item.warnings:
            _el(sec, "p", w, class_="warning")
        if item.options:
            option_bars(_el(sec, "figure"), item)
            table = _el(sec, "table", class_="options")
            head_row = _el(table, "tr")
            for h in ("option", "text", "key", "chosen", "discrimination", "low", "middle", "high"):
                _el(head_row, "th", h)
            for o in item.options:
                row = _el(table, "tr")
                _el(row, "td", f"{o.label} {o.id}" if o.id else o.label)
                _el(row, "td", o.text, class_="text")
                _el(row, "td", "✓" if o.key else "")
                for value in (_pct(o.share), "–" if o.discrimination is None else f"{o.discrimination:.2f}", *(_pct(o.groups.get(g)) for g in ("low", "middle", "high"))):
                    _el(row, "td", value)
    out: bytes = etree.tostring(html, method="html", encoding="utf-8", doctype="<!DOCTYPE html>", pretty_print=True)
    return out


def write_html(analysis: Analysis, bank: Bank, out_dir: Path) -> Path:
    target = Path(out_dir) / "index.html"
    write_file_atomic(target, render(analysis, bank))
    return target
