#!/usr/bin/env python3
"""Benchmark for issue 18:  analyze_bench.py [--students 10000] [--items 100] [--runs 3]

Generates a simulated class (simulate_class.py: Moodle 4.5 Responses and Grades reports, 2PL model,
planted flaws) under ``benchmarks/out/analyze/`` and times the whole ``itembank analyze`` process on
it, as a user runs it: wall time, CPU time (user + system) and peak RSS, the median of ``--runs``.
Target: a 10,000-student × 100-item report analysed in <= 2 s.  There is no peer to run beside it:
no open tool reads these LMS reports (Moodle computes the same figures inside its own PHP, on its
database).  CPU time is printed because a shared machine's wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from processes import measure

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out" / "analyze"
TARGET = 2.0


def run(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, cpu s, peak RSS MB) of one whole process (``processes.measure``)."""
    done = measure(cmd, env=dict(os.environ))
    if problem := done.failed(" ".join(cmd)):
        sys.exit(problem)
    return done.wall, done.cpu, done.peak_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--students", type=int, default=10000)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    out = OUT / f"{args.students}x{args.items}"
    if not (out / "grades.csv").is_file():
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "simulate_class.py"), str(out), "--students", str(args.students), "--items", str(args.items), "--grades"], check=True)
    exe = str(Path(sys.executable).with_name("itembank"))
    cases = {
        "Responses report": [exe, "analyze", "--bank", str(out / "bank"), str(out / "responses.csv"), "--format", "json"],
        "Responses + Grades": [exe, "analyze", "--bank", str(out / "bank"), str(out / "responses.csv"), str(out / "grades.csv"), "--format", "json"],
        "(start-up: itembank --version)": [exe, "--version"],
    }
    size = (out / "responses.csv").stat().st_size / 1e6
    print(f"itembank analyze, {args.students:,} students x {args.items} items (responses.csv {size:.0f} MB), median of {args.runs} runs")
    print(f"{'input':<32} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}  target <= {TARGET:g} s")
    for name, cmd in cases.items():
        runs = [run(cmd) for _ in range(args.runs)]
        wall, cpu, rss = (statistics.median(r[i] for r in runs) for i in range(3))
        verdict = "" if name.startswith("(") else ("PASS" if wall <= TARGET else ("PASS (cpu)" if cpu <= TARGET else "MISS"))
        print(f"{name:<32} {wall:>8.2f} {cpu:>8.2f} {rss:>8.0f}  {verdict}")
    print(f"load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
