"""Where one ``itembank build`` spends its time (issue 13): a timeline of its parts, in one run.

    .venv/bin/python benchmarks/build_timeline.py BANK [--jobs 2] [--cache] [--output DIR]

Runs the build as the CLI does (the bank loaded, then ``itembank.api.build``) and prints, from the
start of the process: the imports (the exporters, as the build's registry loads them), the
loading, the serial work before the first export starts, and per export the process that ran it,
its start, end, user and system CPU and page faults (``getrusage`` around the export and its
audit, in that process; writing the output is not in them).  Then the whole tree's user and
system CPU.  Without ``--cache`` (the default) neither cache is used, as
``ITEMBANK_NO_CACHE=1``; with it, both are (a build after an edit: run it after editing an item).

The per-export figures come from wrapping the build's export function (``itembank.api._export_one``,
an internal name: the script stops with a message if it is gone), so they are the worker's own;
nothing here changes what the build does.  One run, no medians: the machine's load shows in it.
Written for the 100,000-item build, whose kernel time (page faults in the forked workers) grows
faster than its user time: see the README's benchmark notes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from itembank import api  # noqa: E402
from itembank.formats import registry  # noqa: E402
from processes import cache_mode  # noqa: E402


def _since() -> float:
    return time.perf_counter() - START


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bank", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", action="store_true", help="use the check and fragment caches (default: neither)")
    ap.add_argument("--output", type=Path, default=None, help="the build's folder (default: a temporary one)")
    args = ap.parse_args()
    cache_mode(os.environ, no_cache=not args.cache)  # (the caller's shell may have turned them off)
    export_one = getattr(api, "_export_one", None)
    if export_one is None:
        raise SystemExit("itembank.api._export_one is gone: this script wraps it to time each export where it runs")

    def timed(target: Any, exporter: Any, ctx: Any) -> Any:
        begin, before = _since(), resource.getrusage(resource.RUSAGE_SELF)
        out = export_one(target, exporter, ctx)
        after = resource.getrusage(resource.RUSAGE_SELF)
        name = exporter.name if target.form is None else f"{exporter.name}:{target.form.name}"
        line = (
            f"  {name:<9} {os.getpid():>11}  {begin:8.2f} {_since():8.2f}  user {after.ru_utime - before.ru_utime:7.2f}"
            f"  sys {after.ru_stime - before.ru_stime:6.2f}  faults {after.ru_minflt - before.ru_minflt:>9,}\n"
        )
        # One write of the whole line: workers print at once, and print() writes a line and its end
        # apart (another worker's line could come between them).  What this process's stdout holds
        # goes out first.
        sys.stdout.flush()
        os.write(sys.stdout.fileno(), line.encode())
        return out

    api._export_one = timed  # type: ignore[assignment]
    list(registry())
    imported = _since()
    bank = api.load_bank(args.bank, cache=args.cache, jobs=None)
    loaded = _since()
    print(f"imports {imported:.2f} s, loading {loaded - imported:.2f} s ({len(bank.items):,} items)")
    first: list[float] = []
    print(f"  {'export':<9} {'process':>11}  {'start':>8} {'end':>8}  (seconds from this process's start)")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.output or Path(tmp) / "dist"
        api.build(bank, out, jobs=args.jobs, cache=args.cache, on_start=lambda name, target: first.append(_since()))
    done = _since()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"serial before the first export: {(first[0] if first else done) - loaded:.2f} s; build done at {done:.2f} s")
    print(
        f"CPU: this process user {own.ru_utime:.2f} s, sys {own.ru_stime:.2f} s; its children user {children.ru_utime:.2f} s, "
        f"sys {children.ru_stime:.2f} s; peak {max(own.ru_maxrss, children.ru_maxrss) / 1024:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
