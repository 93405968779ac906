"""The analysis HTML report (`analyze --html DIR`) opened in headless Chromium (Debian's /usr/bin/chromium).

Chromium's own parse of the page (``--dump-dom``) must hold every plot element we wrote, and its
screenshot must show the plots' colours: flagged points in red, the high score group's bars.
The page must be usable offline: no script, no external reference, a CSP that loads nothing.
"""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import SHARED, require
from lxml import html as lxml_html

from itembank import Bank
from itembank.analysis import analyze
from itembank.analysis.html import FLAGGED, GROUP_COLOURS, write_html

pytestmark = pytest.mark.consumer

CHROMIUM = os.environ.get("ITEMBANK_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SAMPLES = SHARED / "samples" / "moodle-quiz-reports"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, seed_bank: Bank) -> tuple[Path, object]:
    require((SAMPLES / "responses.csv").is_file(), f"Moodle report samples in {SAMPLES}")
    result = analyze([SAMPLES / "responses.csv", SAMPLES / "grades.csv"], seed_bank)
    return write_html(result, seed_bank, tmp_path_factory.mktemp("analysis-html")), result


def _png_pixels(data: bytes) -> tuple[int, int, list[list[bytes]]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([bytes(line[j * bpp : j * bpp + 3]) for j in range(width)])
        prev = line
    return width, height, rows


def _rgb(hex_colour: str) -> bytes:
    return bytes(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def test_page_is_offline_and_holds_every_plot(page: tuple[Path, object]) -> None:
    path, result = page
    doc = lxml_html.fromstring(path.read_bytes())
    assert not doc.xpath("//script") and not doc.xpath("//link")
    assert not [v for v in doc.xpath("//@src | //@href") if "://" in v]
    assert doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content") == ["default-src 'none'; style-src 'unsafe-inline'"]
    flagged = [i for i in result.items if i.flags]  # type: ignore[attr-defined]
    labels = doc.xpath("//svg//g[contains(@class, 'flagged')]/text/text()")
    assert sorted(labels) == sorted(i.id for i in flagged)
    for item in flagged:
        bars = doc.xpath(f"//section[@id='item-{item.id}']//svg//rect[contains(@class, 'bar')]")
        assert len(bars) == 3 * len(item.options)
        rows = doc.xpath(f"//section[@id='item-{item.id}']//table[@class='options']//tr[td]")
        assert [r.xpath("string(td[4])") for r in rows] == [f"{100 * o.share:.1f}%" for o in item.options]
    keyed = doc.xpath("//section[@id='item-pt-quiz-4']//table[@class='options']//tr[td[3]='✓']/td[1]/text()")
    assert keyed == ["A a"]  # the key of pt-quiz-4, chosen by 30 %


def test_chromium_parses_and_draws_the_plots(page: tuple[Path, object], tmp_path: Path) -> None:
    require(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM}")
    path, result = page
    dom = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", path.as_uri()], check=False, capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = lxml_html.fromstring(dom.stdout)
    points = parsed.xpath("//svg//g[contains(@class, 'point')]/circle")
    assert len(points) == sum(1 for i in result.items if i.facility is not None and i.discrimination is not None)  # type: ignore[attr-defined]
    assert len(parsed.xpath("//svg")) == 1 + sum(1 for i in result.items if i.flags)  # type: ignore[attr-defined]
    shot = tmp_path / "shot.png"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--screenshot={shot}", "--window-size=1000,3000", "--hide-scrollbars", path.as_uri()], check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    _, _, rows = _png_pixels(shot.read_bytes())
    colours: dict[bytes, int] = {}
    for row in rows:
        for px in row:
            colours[px] = colours.get(px, 0) + 1
    near = lambda want: sum(n for px, n in colours.items() if max(abs(a - b) for a, b in zip(px, want)) <= 12)
    assert near(_rgb(FLAGGED)) > 200, "flagged points are not drawn in red"
    assert near(_rgb(GROUP_COLOURS["high"])) > 200, "the high score group's bars are not drawn"
