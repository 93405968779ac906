#!/usr/bin/env python3
"""Build speed at scale (issue 13): whole-process wall, CPU and peak of the single exports and of
``itembank build`` (in one process and with workers), on the generated bank.

    .venv/bin/python benchmarks/build_bench.py [--sizes 10000] [--runs 3] [--formats qti21,qti30,canvas]

Every command is a whole process reaped with ``os.wait4``: wall time, CPU time (user + system of the
process and the workers it waited for) and peak RSS (``ru_maxrss``: the largest single process of
the tree, workers included).  Medians of ``--runs`` runs; the commands alternate within a run so
that load changes hit all of them.  The machine's load average is printed beside each row: on a
shared machine CPU time is the steadier figure.  Outputs go to ``benchmarks/out/build-N/``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from precompile import precompile
from processes import environment, interpreter, measure

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ITEMBANK = str(Path(sys.executable).with_name("itembank"))


#: Every run does the whole work: the check and fragment caches (on by default since they landed)
#: would make every run after the first a warm one (``incremental_bench.py`` measures them).
NO_CACHE = environment(no_cache=True)


def timed(cmd: list[str]) -> tuple[float, float, float]:
    run = measure(cmd, env=NO_CACHE)
    if problem := run.failed(" ".join(cmd)):
        raise SystemExit(problem)
    return run.wall, run.cpu, run.peak_mb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default="qti21,qti30,canvas", help="single exports to time beside the builds")
    ap.add_argument("--jobs", default="1,2", help="worker counts of the builds")
    args = ap.parse_args()
    precompile()  # time what users run: the package's bytecode written (see precompile.py)
    print(interpreter())
    print(f"{'N':>7} | {'command':<34} | {'wall s':>7} | {'CPU s':>7} | {'peak MB':>7} | load")
    measured: list[tuple[int, str, float, float]] = []  # (size, command, median wall, median CPU)
    for n in (int(s) for s in args.sizes.split(",")):
        bank = OUT / f"gen-{n}"
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(n), str(bank), "--reuse"], check=True, stdout=subprocess.DEVNULL)
        dist = OUT / f"build-{n}"
        commands: dict[str, list[str]] = {"validate": [ITEMBANK, "validate", "--bank", str(bank)]}
        for fmt in filter(None, args.formats.split(",")):
            commands[f"export {fmt}"] = [ITEMBANK, "export", fmt, "--bank", str(bank), "-o", str(dist / f"single-{fmt}")]
        for jobs in args.jobs.split(","):
            commands[f"build -j {jobs}"] = [ITEMBANK, "build", "--bank", str(bank), "-o", str(dist / f"j{jobs}"), "-j", jobs]
        rows: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                wall, cpu, peak = timed(cmd)
                rows[name].append((wall, cpu, peak, os.getloadavg()[0]))
        for name, runs in rows.items():
            medians = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
            measured.append((n, name, *medians))
            print(
                f"{n:>7} | {name:<34} | {medians[0]:7.2f} | {medians[1]:7.2f} | {max(r[2] for r in runs):7.0f} | "
                f"{statistics.median(r[3] for r in runs):.1f}",
                flush=True,
            )
    for line in growth(measured):
        print(line)
    return 0


def growth(measured: list[tuple[int, str, float, float]]) -> list[str]:
    """How each command's time grew from the smallest size to each larger one (issue 13: the build
    of 100,000 items within 11x that of 10,000): its medians divided by those of the smallest size's
    runs made just before and just after it (``--sizes 10000,100000,10000``), and by their geometric
    mean.  This machine's speed drifts by up to a fifth within minutes (the same 10,000-item build
    took 14.6 s and 18.4 s four minutes apart on 2026-12-04), so a ratio against one run alone says
    as much about the drift as about the code: the two neighbours bound it, their mean is the figure."""
    if not measured:
        return []
    base = min(n for n, *_ in measured)
    out: list[str] = []
    for at, (n, name, wall, cpu) in enumerate(measured):
        if n == base:
            continue
        before = next((m for m in reversed(measured[:at]) if m[0] == base and m[1] == name), None)
        after = next((m for m in measured[at + 1 :] if m[0] == base and m[1] == name), None)
        around = [m for m in (before, after) if m is not None]
        if not around:
            continue
        parts = []
        for label, value, index in (("wall", wall, 2), ("CPU", cpu, 3)):
            ratios = [value / m[index] for m in around]
            mean = value / statistics.geometric_mean(m[index] for m in around)
            shown = " / ".join(f"{r:.1f}x" for r in ratios)
            parts.append(f"{label} {mean:.1f}x ({shown} against the {' and '.join(w for w, m in (('run before', before), ('run after', after)) if m is not None)})")
        out.append(f"growth {n:,} / {base:,} items, {name}: " + "; ".join(parts))
    return out


if __name__ == "__main__":
    raise SystemExit(main())
