#!/usr/bin/env python3
"""Import speed (issue 16):  import_moodle.py [--size 10000] [--runs 3]

Target: importing an N-question Moodle XML file takes <= 1.5x the time our Moodle export of the same
bank takes.  Measured three ways: one file per item (the default), ``--layout topic`` (one file per
topic) and ``--dry-run`` (everything but writing), each run right after an export run.  The bank is the synthetic all-type bank of generate.py (every field filled); the XML is
``itembank export moodle`` of it; the import is ``itembank import moodle XML --into fresh/``.  Whole
processes, alternating (export, import, export, import...), median wall and CPU (user+sys) time and
peak RSS, side by side.  Writes nothing outside benchmarks/out/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "import"
BIN = Path(sys.executable).parent
ITEMBANK = str(BIN / "itembank")


def run(cmd: list[str]) -> tuple[float, float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    bank = OUT / f"bank{args.size}"
    subprocess.run([sys.executable, str(BENCH / "generate.py"), str(args.size), str(bank), "--reuse"], check=True, stdout=subprocess.DEVNULL)
    xml = OUT / f"moodle{args.size}.xml"
    target = OUT / "imported"
    export_cmd = [ITEMBANK, "export", "moodle", "--bank", str(bank), "-o", str(xml)]
    imports = {
        "import": [ITEMBANK, "import", "moodle", str(xml), "--into", str(target)],
        "import --layout topic": [ITEMBANK, "import", "moodle", str(xml), "--into", str(target), "--layout", "topic"],
        "import --dry-run": [ITEMBANK, "import", "moodle", str(xml), "--into", str(target), "--dry-run"],
    }
    runs: dict[str, list[tuple[float, float, float]]] = {"export": [], **{k: [] for k in imports}}
    for _ in range(args.runs):
        for name, cmd in imports.items():
            runs["export"].append(run(export_cmd))
            shutil.rmtree(target, ignore_errors=True)
            runs[name].append(run(cmd))
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in runs.items()}
    print(f"| {args.size:,} questions | wall s | CPU s | peak MB | wall / export | CPU / export |")
    print("|---|---:|---:|---:|---:|---:|")
    for k in runs:
        w, c, m = med[k]
        ew, ec, _m = med["export"]
        verdict = "" if k == "export" else (" PASS" if w / ew <= 1.5 else " MISS")
        print(f"| itembank {k} moodle | {w:.2f} | {c:.2f} | {m:.0f} | {w / ew:.2f}x{verdict} | {c / ec:.2f}x |")
    print("\ntarget: import <= 1.5x the export's wall time")
    print(f"median of {args.runs} alternating runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
