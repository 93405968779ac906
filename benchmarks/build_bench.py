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
from processes import environment, measure

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
    print(f"{'N':>7} | {'command':<34} | {'wall s':>7} | {'CPU s':>7} | {'peak MB':>7} | load")
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
            print(
                f"{n:>7} | {name:<34} | {statistics.median(r[0] for r in runs):7.2f} | "
                f"{statistics.median(r[1] for r in runs):7.2f} | {max(r[2] for r in runs):7.0f} | "
                f"{statistics.median(r[3] for r in runs):.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
