#!/usr/bin/env python3
"""Benchmark of the HTML export (issue 14):  html_export.py [--sizes 1000,10000] [--runs 3]

Target: the site for 10,000 items builds in <= 3 s.  Each figure is a whole process (wall time,
CPU time and peak RSS via wait4, as run.py measures), the median of ``--runs`` alternating runs, on
the deterministic generated bank (generate.py, all ten types):

  validate   ``itembank validate``             the load+validate floor every export pays
  html       ``itembank export html``          the site (load + validate + pages + write), its pages
                                               rendered over the usable cores (``-j``, the default)
  html -j 1  ``itembank export html -j 1``     the same in one process
  markdown   ``itembank export markdown``      the other student-facing export, same items

No other tool builds an interactive offline page from an item bank, so the peers are our own floor
and our printable export.  CPU time is the figure to read on a shared machine (wall time includes
waiting for other processes).  Tests never assert these times.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ITEMBANK, OUT, PYTHON, REPO, Run, parse_sizes, run_process  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=parse_sizes, default=[1000, 10000], help="bank sizes (default 1000,10000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per command; the median is reported (default 3)")
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        bank = OUT / f"gen-{n}"
        subprocess.run([PYTHON, str(REPO / "benchmarks" / "generate.py"), str(n), str(bank), "--reuse"], check=True, capture_output=True)
        cmds = {
            "validate": [ITEMBANK, "validate", "--bank", str(bank)],
            "html -j 1": [ITEMBANK, "export", "html", "-j", "1", "--bank", str(bank), "-o", str(OUT / f"html-{n}")],
            "html": [ITEMBANK, "export", "html", "--bank", str(bank), "-o", str(OUT / f"html-{n}")],
            "markdown": [ITEMBANK, "export", "markdown", "--bank", str(bank), "-o", str(OUT / f"markdown-{n}")],
        }
        runs: dict[str, list[Run]] = {k: [] for k in cmds}
        for _ in range(args.runs):
            for key, cmd in cmds.items():
                run = run_process(cmd, REPO, OUT / "logs" / f"html-bench-{key}-{n}.log")
                if run.rc != 0:
                    print(f"CRASHED: {' '.join(cmd)} (exit {run.rc}); see {OUT / 'logs'}", file=sys.stderr)
                    return 1
                runs[key].append(run)
        pages = len(list((OUT / f"html-{n}").glob("*.html")))
        size = sum(f.stat().st_size for f in (OUT / f"html-{n}").rglob("*") if f.is_file()) / 1024 / 1024
        for key, rs in runs.items():
            rows.append((n, key, statistics.median(r.wall for r in rs), statistics.median(r.cpu for r in rs), max(r.rss_mb for r in rs)))
        wall = {key: statistics.median(r.wall for r in rs) for key, rs in runs.items()}
        cpu = {key: statistics.median(r.cpu for r in rs) for key, rs in runs.items()}
        rows.append((n, "html - validate (pages only)", wall["html"] - wall["validate"], cpu["html"] - cpu["validate"], float("nan")))
        print(f"N={n:,}: {pages} pages, {size:.1f} MB", flush=True)
        shutil.rmtree(OUT / f"markdown-{n}", ignore_errors=True)
    print(f"\nPython {platform.python_version()}; median of {args.runs} alternating runs; whole process\n")
    print("| N | command | wall s | CPU s | peak RSS MB |\n|---:|---|---:|---:|---:|")
    for n, key, wall, cpu, rss in rows:
        print(f"| {n:,} | {key} | {wall:.2f} | {cpu:.2f} | {'' if rss != rss else f'{rss:.0f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
