#!/usr/bin/env python3
"""A build after a one-item edit, this checkout against another revision, alternating (issue 13).

    .venv/bin/python benchmarks/edit_ab.py --base REV [--size 10000] [--rounds 10] [--jobs 2] [--warm 2] [--no-cache]
    .venv/bin/python benchmarks/edit_ab.py --same [...]      # this checkout against itself: the method's spread

``--no-cache``: every build without the caches (``ITEMBANK_NO_CACHE=1``: the build of issue 13's
≤ 10 s target, each export made anew), the same edits in between; ``--warm 0`` is then enough.

The revision ``REV`` is checked out in a git worktree (``OUT/ab-base/``, detached, made again each
run; ``--out OUT``, default ``benchmarks/out``) and run with this environment's Python and
libraries, its own source first on the path; "this" is the checkout the script is in, as it stands
(uncommitted changes included).  Each arm builds its own copy of the generated bank
(``OUT/ab-bank-{base,this}/``, copied without caches), fills its caches with ``--warm`` builds,
then every round edits the same item of both copies (a new title) and runs ``itembank build -j
JOBS`` in each, the order swapped every round so that neither arm always runs right after the
other's build.  Both arms' bytecode is written first: where ``PYTHONDONTWRITEBYTECODE`` is set, an
arm without it compiles the whole package in every run (~0.3 s, more than most changes measured
here), which an A/B run must not measure.

Every build is a whole process reaped with ``os.wait4`` (wall, user + system CPU of the tree, peak
RSS).  Prints each pair, the medians, how many pairs each arm won, and the ratio of the medians.
Run ``--same`` beside a comparison: differences within its spread say nothing.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from precompile import precompile
from processes import environment, measure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
CACHE = ".itembank-cache"


def build(source: Path, bank: Path, dist: Path, jobs: str, no_cache: bool = False) -> tuple[float, float, float, float]:
    """One ``itembank build`` of ``bank`` by the code in ``source`` (``no_cache``: without the
    caches): wall, user, system (s), peak (MB)."""
    run = measure(
        [sys.executable, "-m", "itembank.cli", "build", "--bank", str(bank), "-o", str(dist), "-j", jobs],
        env=environment(no_cache=no_cache, PYTHONPATH=str(source)), cwd=source,
    )
    if problem := run.failed(f"the build of {bank} by {source}"):
        raise SystemExit(problem)
    return run.wall, run.user, run.system, run.peak_mb


def edit(bank: Path, rel: Path, original: str, n: int) -> None:
    """The item file ``rel`` of ``bank`` with its title changed (edit ``n``: a new title each time)."""
    (bank / rel).write_text(original.replace("\ntitle: ", f"\ntitle: Edited {n} ", 1), encoding="utf-8")


def worktree(rev: str, where: Path) -> Path:
    """``rev`` checked out at ``where`` (a detached git worktree, made afresh)."""
    if where.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)], check=False, capture_output=True)
        shutil.rmtree(where, ignore_errors=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=True)
    made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev], capture_output=True, text=True)
    if made.returncode != 0:
        raise SystemExit(f"cannot check out {rev}: {made.stderr.strip()}")
    return where


def runs_its_own_code(source: Path) -> None:
    """Stop unless a process started as :func:`build` starts one imports itembank (and its formats)
    from ``source``, not from wherever this environment installed it."""
    probe = "import itembank, itembank.exporters; print(itembank.__file__); print(*itembank.exporters.__path__)"
    found = subprocess.run([sys.executable, "-c", probe], cwd=source, env={**os.environ, "PYTHONPATH": str(source)}, capture_output=True, text=True)
    paths = [Path(line).resolve() for line in found.stdout.split()]
    if found.returncode != 0 or len(paths) != 2 or not all(path.is_relative_to(source.resolve()) for path in paths):
        raise SystemExit(f"a build run from {source} would not run its code: {found.stdout.strip()} {found.stderr.strip()[-500:]}")


def bytecode(source: Path) -> None:
    """The bytecode of every module under ``source`` (the package, its formats and importers)."""
    for folder in ("itembank", "exporters", "importers"):
        if (source / folder).is_dir() and not compileall.compile_dir(str(source / folder), quiet=1):
            raise SystemExit(f"could not compile {source / folder}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--base", help="the revision to compare this checkout with (e.g. main, HEAD~3, a commit)")
    which.add_argument("--same", action="store_true", help="this checkout against itself (the spread of the method)")
    ap.add_argument("--size", type=int, default=10000, help="generated items")
    ap.add_argument("--rounds", type=int, default=10, help="alternating pairs of builds")
    ap.add_argument("--jobs", default="2", help="build -j")
    ap.add_argument("--warm", type=int, default=2, help="builds of each arm before the timed rounds (the first fills its caches)")
    ap.add_argument("--no-cache", action="store_true", help="every build without the caches (ITEMBANK_NO_CACHE=1)")
    ap.add_argument("--out", type=Path, default=OUT, help="where the banks, the worktree and the outputs go (default benchmarks/out)")
    args = ap.parse_args()
    out = args.out.resolve()
    precompile()
    source = out / f"gen-{args.size}"
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.size), str(source), "--reuse"], check=True, stdout=subprocess.DEVNULL)
    base = ROOT if args.same else worktree(args.base, out / "ab-base")
    arms = {"base": base, "this": ROOT}
    for code in arms.values():
        runs_its_own_code(code)
        bytecode(code)
    rel = next(p.relative_to(source) for p in sorted(source.rglob("*.yaml")) if "\ntitle: " in p.read_text(encoding="utf-8"))
    original = (source / rel).read_text(encoding="utf-8")
    banks = {name: out / f"ab-bank-{name}" for name in arms}
    for bank in banks.values():
        shutil.rmtree(bank, ignore_errors=True)
        shutil.copytree(source, bank, ignore=shutil.ignore_patterns(CACHE))
    label = "this checkout, twice" if args.same else f"{args.base} (base) and this checkout"
    how = "without the caches" if args.no_cache else "with the caches"
    print(f"{args.size} generated items, build -j {args.jobs} {how} after editing {rel}; {label}; {args.rounds} rounds")
    runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in arms}
    n = 0
    for k in range(args.warm + args.rounds):
        n += 1
        order = list(arms) if k % 2 == 0 else list(reversed(arms))
        for name in order:
            edit(banks[name], rel, original, n)
            figures = build(arms[name], banks[name], out / f"ab-dist-{name}", args.jobs, args.no_cache)
            if k >= args.warm:
                runs[name].append(figures)
        if k >= args.warm:
            b, t = runs["base"][-1], runs["this"][-1]
            print(f"  round {k - args.warm + 1:>2} ({order[0]} first): base {b[0]:.2f} s ({b[1] + b[2]:.2f} CPU), this {t[0]:.2f} s ({t[1] + t[2]:.2f} CPU)")
    if args.rounds < 1:
        return 0
    print(f"{'arm':<5} | {'wall s':>7} | {'user s':>7} | {'sys s':>6} | {'peak MB':>7} | pairs faster")
    medians = {}
    for name in arms:
        won = sum(mine[0] < theirs[0] for mine, theirs in zip(runs[name], runs["this" if name == "base" else "base"]))
        walls = [r[0] for r in runs[name]]
        medians[name] = statistics.median(walls)
        print(
            f"{name:<5} | {medians[name]:>7.3f} | {statistics.median(r[1] for r in runs[name]):>7.3f} | "
            f"{statistics.median(r[2] for r in runs[name]):>6.3f} | {max(r[3] for r in runs[name]):>7.0f} | {won} of {args.rounds}"
        )
    print(f"this / base (median wall): {medians['this'] / medians['base']:.3f}")
    if not args.same:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
