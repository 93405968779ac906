#!/usr/bin/env python3
"""Import speed (issue 16):  import_moodle.py [--size 10000] [--runs 3] [--into DIR]

Target (issue 16): importing an N-question Moodle XML file takes <= 1.5x the time our Moodle export
of the same bank takes.  The export, as a user runs it, ends with its post-export audit (a read-back
of the output, itembank/audit.py) that the import has no counterpart of; so the import is also
compared with the export *without* the audit (the same command, the audit switched off in-process;
its output is checked to be byte-identical), with a stricter bar: import CPU <= 1.2x that.

The bank is the synthetic all-type bank of generate.py (every field filled); the XML is ``itembank
export moodle`` of it; the import is ``itembank import moodle XML --into DIR`` into a fresh folder
(default benchmarks/out/import/imported), also with ``--layout topic`` and ``--dry-run``.  Whole
processes, alternating (export, export without audit, import, import --layout topic, import
--dry-run, then again), median wall, CPU (user+sys) and sys time and peak RSS, side by side.  CPU
time is the figure to compare on a shared machine (wall time counts the other processes); creating
10,000 files is sys time, which on a busy disk varies from run to run (``--into /dev/shm/x``
separates that).  Writes nothing outside benchmarks/out/ (and --into).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from processes import measure

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out" / "import"
BIN = Path(sys.executable).parent
ITEMBANK = str(BIN / "itembank")

#: ``itembank ARGS...`` with the post-export audit replaced by a no-op (wherever a module holds it).
NO_AUDIT = """
import sys
import itembank.api, itembank.audit as audit, itembank.cli
real = getattr(audit, "check", None)
assert callable(real), "itembank.audit.check is gone: update benchmarks/import_moodle.py"
def skip(*args, **kwargs):
    return None
for module in list(sys.modules.values()):
    if getattr(module, "__name__", "").startswith("itembank") and getattr(module, "check", None) is real:
        module.check = skip
audit.check = skip
sys.argv = ["itembank", *sys.argv[1:]]
itembank.cli.main()
"""


def run(cmd: list[str]) -> tuple[float, float, float, float]:
    """(wall s, CPU s = user+sys, sys s, peak MB) of one whole process (``processes.measure``)."""
    done = measure(cmd, env=dict(os.environ))
    if problem := done.failed(" ".join(cmd)):
        raise SystemExit(problem)
    return done.wall, done.cpu, done.system, done.peak_mb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--into", type=Path, default=OUT / "imported", help="the fresh folder each import writes (removed before each run)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    bank = OUT / f"bank{args.size}"
    subprocess.run([sys.executable, str(BENCH / "generate.py"), str(args.size), str(bank), "--reuse"], check=True, stdout=subprocess.DEVNULL)
    xml = OUT / f"moodle{args.size}.xml"
    xml_no_audit = OUT / f"moodle{args.size}-no-audit.xml"
    target = args.into
    exports = {
        "export moodle": [ITEMBANK, "export", "moodle", "--bank", str(bank), "-o", str(xml)],
        "export moodle, audit off": [sys.executable, "-c", NO_AUDIT, "export", "moodle", "--bank", str(bank), "-o", str(xml_no_audit)],
    }
    imports = {
        "import moodle": [ITEMBANK, "import", "moodle", str(xml), "--into", str(target)],
        "import moodle --layout topic": [ITEMBANK, "import", "moodle", str(xml), "--into", str(target), "--layout", "topic"],
        "import moodle --dry-run": [ITEMBANK, "import", "moodle", str(xml), "--into", str(target), "--dry-run"],
    }
    runs: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in [*exports, *imports]}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, cmd in exports.items():
            runs[name].append(run(cmd))
        for name, cmd in imports.items():
            shutil.rmtree(target, ignore_errors=True)
            runs[name].append(run(cmd))
    shutil.rmtree(target, ignore_errors=True)
    if not filecmp.cmp(xml, xml_no_audit, shallow=False):
        raise SystemExit("the export without its audit wrote other bytes than the export: not the same work, no comparison")
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(4)) for k, v in runs.items()}
    ew, ec, _es, _em = med["export moodle"]
    nw, nc, _ns, _nm = med["export moodle, audit off"]
    print(f"| {args.size:,} questions | wall s | CPU s | of it sys | peak MB | CPU / export audit off | CPU / export | wall / export |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for k in runs:
        w, c, sy, m = med[k]
        print(f"| itembank {k} | {w:.2f} | {c:.2f} | {sy:.2f} | {m:.0f} | {c / nc:.2f}x | {c / ec:.2f}x | {w / ew:.2f}x |")
    iw, ic, _is, _im = med["import moodle"]
    print()
    print(f"issue 16 target, import <= 1.5x the export as users run it (with its audit), wall: {iw / ew:.2f}x {'PASS' if iw / ew <= 1.5 else 'MISS'}"
          f" (CPU {ic / ec:.2f}x)")
    print(f"stricter, import <= 1.2x the export without its audit, CPU: {ic / nc:.2f}x {'PASS' if ic / nc <= 1.2 else 'MISS'}"
          f" (wall {iw / nw:.2f}x)")
    print(f"median of {args.runs} alternating runs; imports into {target}; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
