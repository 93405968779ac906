"""The export audit's CPU cost per format (issue 13), and beside it the audit of another revision.

    .venv/bin/python benchmarks/audit_cost.py BANK [--formats F,...] [--runs 3] [--base REV]

Loads the bank once; per format runs the export once (as a build does: the shared renderer, no
fragment cache), then times ``audit.check`` of that output with ``time.process_time``, ``--runs``
times.  With ``--base REV`` (a git revision of this repository, e.g. ``main``) the audit module of
that revision is loaded beside this one and the two are run in turn (base, this, base, this...), so
that a noisy machine weighs on both alike; each run must find the same problems in both.  Each run
starts from the state a build's worker has after the export (what the audit keeps on the items
between runs is dropped: ``itembank.audit._KNOWN``), so every run costs what the first audit of
an item does; the column "this warm" runs it again right after, with what the audit kept of each
item (as a build's worker audits its second export).  Prints the median CPU seconds per format and audit.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from itembank import audit  # noqa: E402
from itembank.api import _build_context, load_bank  # noqa: E402
from itembank.gcpause import gc_paused  # noqa: E402
from itembank.formats import filter_status, get_exporter, make_options, options_for  # noqa: E402
from itembank.render import Renderer  # noqa: E402

FORMATS = "canvas,qti21,qti30,xlsx,moodle,gift,markdown"


def _base_audit(rev: str) -> ModuleType:
    """itembank/audit.py as of ``rev``, loaded as a module of the package (its relative imports work)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:itembank/audit.py"], check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="audit-base-")) / "audit_base.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("itembank._audit_base", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["itembank._audit_base"] = module
    spec.loader.exec_module(module)
    return module


def _timed(module: ModuleType, fmt: str, delivered, result, renderer: Renderer, warm: bool = False) -> tuple[float, list[str]]:  # type: ignore[no-untyped-def]
    if not warm:  # what the audit keeps of each item for the next export's audit (itembank.audit._known) is dropped
        getattr(module, "_KNOWN", {}).clear()
    gc.collect()
    with gc_paused():  # as in a build (itembank.api._export_one)
        start = time.process_time()
        problems = module.audit(fmt, delivered, result, renderer, None, 1)
        took = time.process_time() - start
    return took, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bank")
    parser.add_argument("--formats", default=FORMATS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", help="a git revision whose audit runs in turn with this one")
    args = parser.parse_args()
    bank = load_bank(args.bank)
    renderer = Renderer()
    audits: list[tuple[str, ModuleType, bool]] = ([(args.base, _base_audit(args.base), False)] if args.base else []) + [("this", audit, False), ("this warm", audit, True)]
    print(f"{len(bank.items)} items; CPU seconds, median of {args.runs} runs" + (f" (alternating {args.base} / this tree)" if args.base else ""))
    print(f"{'format':10} {'export':>7} " + " ".join(f"{name[:10]:>10}" for name, _, _ in audits))
    totals = [0.0] * len(audits)
    for fmt in args.formats.split(","):
        exporter = get_exporter(fmt)
        ctx = _build_context(exporter, make_options({}), renderer)
        delivered, _ = filter_status(bank, exporter, options_for(exporter, ctx.options))
        start = time.process_time()
        result = exporter.export(delivered, ctx)
        exported = time.process_time() - start
        times: list[list[float]] = [[] for _ in audits]
        found: list[list[str]] = []
        for _run in range(args.runs):
            for k, (_name, module, warm) in enumerate(audits):
                took, problems = _timed(module, fmt, delivered, result, renderer, warm)
                times[k].append(took)
                found.append(problems)
        if any(f != found[0] for f in found):
            sys.exit(f"{fmt}: the audits found different problems")
        medians = [statistics.median(t) for t in times]
        totals = [a + b for a, b in zip(totals, medians)]
        print(f"{fmt:10} {exported:7.2f} " + " ".join(f"{m:10.2f}" for m in medians), flush=True)
        del result
    print(f"{'total':10} {'':7} " + " ".join(f"{m:10.2f}" for m in totals))


if __name__ == "__main__":
    main()
