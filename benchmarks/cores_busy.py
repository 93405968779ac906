"""How busy the machine's cores are while ``itembank build`` runs (issue 13: "use the cores").

    .venv/bin/python benchmarks/cores_busy.py BANK [--jobs 2] [--interval 0.25] [--runs 1] [--cache]

Runs the build as users run it (the CLI, a process of its own, its output in a temporary folder)
and reads the kernel's CPU counters (the first line of ``/proc/stat``: every core's busy and idle
time) every ``--interval`` seconds until the build ends.  Prints, per run: the wall time, the
build's own CPU (its process tree, reaped with ``os.wait4``: user and system), the core-seconds
the machine spent busy and idle over the build, and the busy cores of each interval, so that a
phase where a core waits (the start, the loading, the last export) shows where it is.

What it shows is the machine's, not the build's alone: another program's load counts as busy
(compare the busy core-seconds with the build's own CPU: the difference is the rest of the
machine).  Without ``--cache`` (the default) neither cache is used, as ``ITEMBANK_NO_CACHE=1``.
Linux only (``/proc/stat``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from precompile import precompile
from processes import STDERR_SHOWN, Measured, environment, measure

STAT = Path("/proc/stat")


def counters() -> tuple[int, int]:
    """(idle, total) clock ticks of all cores since boot: the first line of ``/proc/stat``
    (``cpu user nice system idle iowait irq softirq steal ...``; idle and iowait are idle)."""
    fields = STAT.read_text(encoding="ascii").split("\n", 1)[0].split()
    if not fields or fields[0] != "cpu":
        raise SystemExit(f"{STAT}: not the counters this script reads")
    ticks = [int(v) for v in fields[1:]]
    return ticks[3] + ticks[4], sum(ticks)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the cores' time that was busy between two readings of :func:`counters` (0-1)."""
    idle, total = after[0] - before[0], after[1] - before[1]
    return 1 - idle / total if total > 0 else 0.0


def sampled(cmd: list[str], env: dict[str, str], interval: float) -> tuple[Measured, list[float]]:
    """Run ``cmd`` (``processes.measure``: its stderr in a temporary file, never a pipe, and reaped
    with ``os.wait4``) and read :func:`counters` every ``interval`` seconds until it ends: the
    command as measured, the end of its stderr kept (``processes.STDERR_SHOWN``), and the busy share of
    each interval."""
    shares: list[float] = []
    last = counters()

    def read() -> None:
        nonlocal last
        now = counters()
        shares.append(busy_share(last, now))
        last = now

    run = measure(cmd, env=env, cwd=ROOT, sample=(interval, read))
    return replace(run, stderr=run.stderr[-STDERR_SHOWN:]), shares


def one_build(bank: Path, jobs: int, interval: float, cache: bool) -> None:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", "from itembank.cli import run; run()", "build", "--bank", str(bank), "-o", str(Path(tmp) / "dist"), "-j", str(jobs)]
        run, shares = sampled(cmd, environment(no_cache=not cache), interval)
    if run.code:
        raise SystemExit(f"the build failed (exit {run.code}):\n{run.stderr}")
    wall = run.wall
    # The last interval is cut short by the build's end: it counts for the part that ran.
    seconds = [interval] * (len(shares) - 1) + [wall - interval * (len(shares) - 1)]
    busy = sum(share * cores * s for share, s in zip(shares, seconds))
    print(f"wall {wall:.2f} s; the build's CPU {run.cpu:.2f} s (user {run.user:.2f}, system {run.system:.2f})")
    print(f"the machine's {cores} cores: busy {busy:.2f} of {cores * wall:.2f} core-seconds ({100 * busy / (cores * wall):.1f} %), idle {cores * wall - busy:.2f}")
    print(f"busy cores every {interval:g} s: " + " ".join(f"{share * cores:.1f}" for share in shares))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bank", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--interval", type=float, default=0.25, help="seconds between two readings of the counters")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--cache", action="store_true", help="use the check and fragment caches (default: neither)")
    args = ap.parse_args()
    if not STAT.is_file():
        raise SystemExit(f"{STAT} is not here: this script reads Linux's CPU counters")
    if args.interval <= 0:
        raise SystemExit("--interval must be above 0")
    precompile()
    print(f"itembank build of {args.bank}, -j {args.jobs}, {'with' if args.cache else 'without'} the caches")
    for run in range(1, args.runs + 1):
        print(f"run {run}:")
        one_build(args.bank.resolve(), args.jobs, args.interval, args.cache)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
