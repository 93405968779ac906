"""The same exports again and again in one process: does each zip come out in the same bytes?

    .venv/bin/python scripts/deflate-soak.py BANK [--seconds S] [--formats qti21,moodle,xlsx] [--jobs N]

Loads BANK once, then for S seconds exports the formats in turn (alternately with and without the
fragment cache) and records each zip's layout: every member's name, CRC-32 and compressed size.
The same bank must give one layout per format; a member with the same CRC-32 and another
compressed size is the same content deflated into other bytes.  Prints the rounds, the layouts
seen and, for each layout beyond the first, the members that differ.  Exit 1 if any format had more
than one layout.

Not a test (the case it looks for is rare): on 2026-12-04 the ISA-L deflater the kit used then
gave 1 differing workbook in 1,673 rounds of qti21, moodle and xlsx exports of an 84-item bank
imported from ``../shared/corpora`` (``--jobs 1``), and 1 in 300-2,300 with ``--jobs 2``
(docs/benchmarks.md).  Run it after a change to how zips are deflated.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zipfile
from pathlib import Path

from itembank import api

Layout = tuple[tuple[str, int, int], ...]


def layout(data: bytes) -> Layout:
    """A zip's members as (name, CRC-32, compressed size), in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return tuple((i.filename, i.CRC, i.compress_size) for i in zf.infolist())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bank", type=Path)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--formats", default="qti21,moodle,xlsx")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    bank = api.load_bank(args.bank)
    formats = args.formats.split(",")
    seen: dict[str, dict[Layout, int]] = {f: {} for f in formats}
    rounds = 0
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        for fmt in formats:
            result = api.export(bank, fmt, cache=bool(rounds % 2), jobs=args.jobs)
            if result.data is not None and result.data[:2] == b"PK":
                counts = seen[fmt]
                key = layout(result.data)
                counts[key] = counts.get(key, 0) + 1
        rounds += 1
    print(f"{rounds} rounds of {', '.join(formats)} (jobs={args.jobs}) in {args.seconds:.0f} s")
    varied = False
    for fmt, counts in seen.items():
        if not counts:
            continue
        print(f"  {fmt}: {len(counts)} layout(s)")
        common = max(counts, key=lambda k: counts[k])
        for key, n in counts.items():
            if key != common:
                varied = True
                print(f"    {n} time(s):", [(a, b) for a, b in zip(key, common) if a != b])
    return 1 if varied else 0


if __name__ == "__main__":
    sys.exit(main())
