#!/usr/bin/env python3
"""Time the lint pass alone, in process:  lint_pass.py BANK [--runs 3] [--jobs 2]

``itembank lint`` = load and validate the bank + the lint pass; ``run.py`` times the whole process
next to ``itembank validate`` on the same bank.  This prints the split: load+validate once, then
the lint pass (every rule, near-duplicates included, findings located) ``--runs`` times on the
loaded bank, as wall and CPU seconds, with the time of each rule on the last run.  With
``--jobs 2`` the pass is shared with a forked child as ``itembank lint`` does (``lint_cpu_s`` is
then this process's CPU, ``lint_child_cpu_s`` the child's); the per-rule times are one process's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from pathlib import Path

from itembank import forked, load_bank
from itembank.lint import LINT_RULES, LintContext, lint_bank
from itembank.lint.text import clear_caches
from itembank.validate import display_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bank", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="2: share the pass with a forked child, as the CLI does (default 1)")
    args = ap.parse_args()
    jobs = None if args.jobs > 1 else 1
    start, cpu = time.perf_counter(), time.process_time()
    bank = load_bank(args.bank)
    load = time.perf_counter() - start
    load_cpu = time.process_time() - cpu
    walls, cpus, child_cpus, found = [], [], [], 0
    for _ in range(args.runs):
        clear_caches()  # every run reads the texts afresh, as the command does
        before = os.times()
        w, c = time.perf_counter(), time.process_time()
        found = len(lint_bank(bank, display=display_path, jobs=jobs))
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
        forked._reap(block=True)  # the child's CPU time counts once it is waited for
        after = os.times()
        child_cpus.append(after.children_user + after.children_system - before.children_user - before.children_system)
    clear_caches()
    ctx = LintContext()
    per_rule = {}
    gc.disable()  # as lint_bank does
    for code, r in LINT_RULES.items():
        c = time.process_time()
        if r.scope == "item":
            for item in bank.items:
                for _ in r.check(item, ctx):
                    pass
        else:
            for _ in r.check(bank, ctx):
                pass
        per_rule[code] = round(time.process_time() - c, 4)
    gc.enable()
    print(
        json.dumps(
            {
                "items": len(bank.items),
                "findings": found,
                "load_validate_s": round(load, 3),
                "load_validate_cpu_s": round(load_cpu, 3),
                "lint_wall_s": round(statistics.median(walls), 3),
                "lint_cpu_s": round(statistics.median(cpus), 3),
                "lint_child_cpu_s": round(statistics.median(child_cpus), 3),
                "per_rule_cpu_s": per_rule,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
