"""Calculated items: time to generate seeded variants (issue 17's target: 10,000 variants <= 1 s).

    .venv/bin/python benchmarks/variants_bench.py [--count 10000] [--runs 5]

Generates ``count`` variants of each item of tests/banks/calculated (statistics, physics, finance:
1-3 variables, derived variables, sqrt/exp/sin/powers), then ``count`` variants spread over the
whole bank, and prints the median CPU and wall time of ``runs`` runs per line, with the rate and the
target.  A naive baseline is printed beside it: the same answers by re-parsing every formula for every
variant with simpleeval (what a straightforward use of the library does), so the figure shows what
parsing once buys.  No peer tool generates these item variants from the same definitions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simpleeval import SimpleEval  # type: ignore[import-untyped]  # noqa: E402

from itembank import load_bank  # noqa: E402
from itembank.formulas import CONSTANTS, FUNCTIONS  # noqa: E402
from itembank.model import CalculatedItem  # noqa: E402
from itembank.variants import draws, plan, variants  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    cpu, wall = [], []
    for _ in range(runs):
        plan.cache_clear()  # parsing is part of the measured work
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall)


def naive(item: CalculatedItem, count: int) -> None:
    se = SimpleEval(functions={k: f for k, (f, _) in FUNCTIONS.items()})
    stream = draws(item)
    for _ in range(count):
        names = dict(CONSTANTS, **next(stream))
        se.names = names
        for name, text in item.derived:
            names[name] = se.eval(text.replace("^", "**"))
        se.eval(item.formula.replace("^", "**"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bank = load_bank(ROOT / "tests" / "banks" / "calculated")
    items = [i for i in bank.items if isinstance(i, CalculatedItem)]
    print(f"{args.count:,} variants per line, median of {args.runs} runs (CPU / wall); target <= 1 s")
    print(f"{'item':<18} {'itembank':>16} {'re-parse each time':>20} {'variants/s':>12}  target")
    for item in items:
        cpu, wall = timed(lambda: variants(item, args.count), args.runs)
        ncpu, _ = timed(lambda: naive(item, args.count), max(1, args.runs // 2))
        print(f"{item.id:<18} {cpu:7.3f} / {wall:6.3f} s {ncpu:17.3f} s {args.count / cpu:12,.0f}  {'PASS' if cpu <= 1 else 'MISS'}")
    per = max(1, args.count // len(items))
    cpu, wall = timed(lambda: [variants(i, per) for i in items], args.runs)
    print(f"{'whole bank':<18} {cpu:7.3f} / {wall:6.3f} s {'':>19} {per * len(items) / cpu:12,.0f}  {'PASS' if cpu <= 1 else 'MISS'}")


if __name__ == "__main__":
    main()
