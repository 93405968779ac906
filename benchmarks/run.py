#!/usr/bin/env python3
"""Benchmarks for issues 2-5:  run.py [--sizes 1000,10000] [--runs 3] [--review-max 1000]

Every figure is a whole process (``subprocess`` + ``os.wait4``: wall time, CPU time and the
process's peak RSS), the median over ``--runs`` runs in which the compared commands alternate
(A B A B ...), so that machine noise hits both sides alike.  Banks and inputs are regenerated first
(deterministically) under ``benchmarks/out/``.

  1. load+validate   ``itembank validate --bank B`` vs ``check-jsonschema --schemafile
                     schemas/item.schema.json`` on the same files (generated bank);   target <= 0.5x
  2. Canvas export   ``itembank export canvas`` vs ``text2qti`` on the same questions
                     (from_shared bank / gen_text2qti.py);                             target <= 0.25x, < 200 MB
  3. Moodle, GIFT    each vs the Canvas export of the same run;                          target <= 1.5x, < 200 MB
  4. xlsx            ``itembank export xlsx`` vs xlsx_floor.py (same cell values, write-only mode);
                     target <= 2x; then ``itembank review import`` of that workbook with a decision on
                     every row (fill_review.py), if the command exists: one run, N <= --review-max only
  5. parsers         (information) parse-only and full validate with yaml_rs vs PyYAML's C loader
  6. lint            ``itembank lint --bank B`` (load, validate, every lint rule, near-duplicates
                     included) next to ``itembank validate --bank B`` and check-jsonschema (the
                     peer: it checks the schema only) on the same generated bank; target <= 2 s
                     at N = 10,000.  ``lint_pass.py`` gives the split (information)

``--only lint,validate`` runs some groups (validate, export, xlsx, parsers, lint; default all).

Formats whose exporter does not load are reported as "not available".  The table goes to stdout and
to ``benchmarks/out/results.md`` (raw runs in ``results.json``).  Exit status: 0 even when a target
is missed; 1 only when a command crashed (non-zero exit where success was expected).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from precompile import precompile
from processes import interpreter
from processes import measure as measure_process

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
OUT = BENCH / "out"
SCHEMA = REPO / "schemas" / "item.schema.json"
REVIEW_DATE = "2024-06-11"


def venv_bin() -> Path:
    """The project venv's bin folder (the interpreter running this script, else .venv/bin)."""
    here = Path(sys.executable).parent
    return here if (here / "itembank").exists() else REPO / ".venv" / "bin"


BIN = venv_bin()
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
ITEMBANK = str(BIN / "itembank")


def shared_bench_dir() -> Path:
    return Path(os.environ.get("ITEMBANK_SHARED", REPO.parent / "shared")) / "bench"


# --- measuring one process ----------------------------------------------------------------------


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds
    rss_mb: float  # peak resident set size
    rc: int


#: Every run does the whole work, as the peers do: itembank's check and fragment caches (on by
#: default since they landed) would make every run after the first a warm one, compared with a
#: peer that has none (``incremental_bench.py`` measures the caches).
NO_CACHE = {**os.environ, "ITEMBANK_NO_CACHE": "1"}


def run_process(cmd: list[str], cwd: Path, log: Path) -> Run:
    """Run ``cmd`` to completion; output goes to ``log`` (``processes.measure``: a pipe could fill up and stall it)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    done = measure_process(cmd, env=NO_CACHE, cwd=cwd, log=log)
    return Run(wall=done.wall, cpu=done.cpu, rss_mb=done.peak_mb, rc=done.code)


def run_batches(batches: list[list[str]], cwd: Path, log: Path) -> Run:
    """Several invocations that together do one job: times add up, peak memory is the largest."""
    runs = [run_process(cmd, cwd, log.with_suffix(f".{i}.log") if len(batches) > 1 else log) for i, cmd in enumerate(batches)]
    bad = next((r.rc for r in runs if r.rc != 0), 0)
    return Run(wall=sum(r.wall for r in runs), cpu=sum(r.cpu for r in runs), rss_mb=max(r.rss_mb for r in runs), rc=bad)


@dataclass
class Task:
    """One measured command; ``prepare`` runs untimed before each run (e.g. a fresh bank copy)."""

    key: str
    label: str
    batches: list[list[str]]
    cwd: Path = REPO
    prepare: Callable[[], None] | None = None
    available: bool = True
    why_not: str = ""
    runs: list[Run] = field(default_factory=list)
    crashed: str = ""
    last_line: str = ""
    output: Path | None = None  # what an export writes
    summary_prefix: str = ""  # the output line worth keeping starts with this (else: the last line)

    @property
    def ok(self) -> bool:
        return self.available and not self.crashed and bool(self.runs)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def rss(self) -> float:
        return max(r.rss_mb for r in self.runs)


#: A command whose first run takes longer than this is not repeated: at N = 10,000 check-jsonschema
#: (~75 s) alone would otherwise take 4 of run.py's 10 minutes, and its spread is tiny next to the ratio.
SLOW_SECONDS = 60.0


def measure(tasks: list[Task], runs: int) -> None:
    """Alternate the tasks ``runs`` times (A B C A B C ...); a crashed task is not run again."""
    for r in range(runs):
        for task in tasks:
            if not task.available or task.crashed:
                continue
            if task.runs and task.runs[0].wall > SLOW_SECONDS:
                continue  # slow: one run is its figure
            if task.prepare is not None:
                task.prepare()
            log = OUT / "logs" / f"{task.key.replace('/', '_')}.log"
            result = run_batches(task.batches, task.cwd, log)
            tail = _summary_line(log, task.summary_prefix)
            if result.rc != 0:
                task.crashed = f"exit {result.rc}: {tail}"
                print(f"  {task.label}: FAILED ({task.crashed}); log: {log.relative_to(REPO)}", flush=True)
                continue
            task.runs.append(result)
            task.last_line = tail
            print(f"  run {r + 1}/{runs} {task.label}: {result.wall:.2f} s, {result.rss_mb:.0f} MB", flush=True)


def _summary_line(log: Path, prefix: str = "") -> str:
    """The line of a command's output that says what it did (e.g. how many items it wrote)."""
    try:
        lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    chosen = next((ln for ln in lines if prefix and ln.startswith(prefix)), lines[-1] if lines else "")
    return chosen[:200]


# --- what exists --------------------------------------------------------------------------------

_FORMATS_PROBE = """
import json
from itembank.formats import BrokenExporter, registry
out = {}
for name, e in registry().items():
    out[name] = {"ok": False, "why": f"{type(e.error).__name__}: {e.error}"} if isinstance(e, BrokenExporter) else {"ok": True, "output": e.default_output}
print(json.dumps(out))
"""


def export_formats() -> dict[str, dict[str, object]]:
    """Every registered format: loadable (with its default output name) or why not."""
    probe = subprocess.run([PYTHON, "-c", _FORMATS_PROBE], cwd=REPO, check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        raise SystemExit(f"error: cannot list itembank's formats:\n{probe.stderr}")
    return json.loads(probe.stdout)


def review_import_command(workbook: Path, bank: Path) -> list[str] | None:
    """The ``itembank review import`` command line, or None when the command does not exist."""
    probe = subprocess.run([ITEMBANK, "review", "import", "--help"], cwd=REPO, check=False, capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    cmd = [ITEMBANK, "review", "import", str(workbook)]
    if "--bank" in probe.stdout:
        cmd += ["--bank", str(bank)]
    if "--date" in probe.stdout:
        cmd += ["--date", REVIEW_DATE]  # review records carry a date; keep them independent of the clock
    return cmd


# --- inputs -------------------------------------------------------------------------------------


def prepare_inputs(sizes: list[int]) -> dict[str, float]:
    """Generate every bank and text2qti input; return how long each took (for information)."""
    took: dict[str, float] = {}
    for n in sizes:
        steps = [
            # --reuse: a bank already written by the same code for the same N is kept (it would be byte-identical).
            (f"generate.py {n}", [PYTHON, str(BENCH / "generate.py"), str(n), str(OUT / f"gen-{n}"), "--reuse"]),
            (f"from_shared.py {n}", [PYTHON, str(BENCH / "from_shared.py"), str(n), str(OUT / f"shared-{n}"), "--reuse"]),
            (f"gen_text2qti.py {n}", [PYTHON, str(shared_bench_dir() / "gen_text2qti.py"), str(n), str(OUT / "text2qti" / f"quiz-{n}.txt")]),
        ]
        (OUT / "text2qti").mkdir(parents=True, exist_ok=True)
        for name, cmd in steps:
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=REPO, check=False, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"error: {name} failed:\n{done.stdout}{done.stderr}")
            took[name] = time.perf_counter() - start
            print(f"prepared: {name} ({took[name]:.1f} s): {done.stdout.strip()}", flush=True)
    return took


def bank_files(bank: Path) -> list[str]:
    """Item files relative to the bank, sorted: exactly what ``itembank validate`` reads (its own
    discovery: hidden folders such as the check cache's, and media/assessments, left out)."""
    from itembank.validate import discover

    return sorted(os.path.relpath(path, bank) for path in discover(bank))


def argv_batches(prefix: list[str], args: list[str]) -> list[list[str]]:
    """Split ``args`` so that no command line exceeds the kernel's limit (like xargs does)."""
    env_bytes = sum(len(k) + len(v) + 2 for k, v in os.environ.items())
    budget = os.sysconf("SC_ARG_MAX") - env_bytes - 64 * 1024  # headroom for the pointer array and aux data
    fixed = sum(len(a) + 1 + 8 for a in prefix)
    batches: list[list[str]] = []
    current: list[str] = []
    size = fixed
    for a in args:
        cost = len(a) + 1 + 8  # the string, its NUL, its argv pointer
        if current and size + cost > budget:
            batches.append(prefix + current)
            current, size = [], fixed
        current.append(a)
        size += cost
    if current:
        batches.append(prefix + current)
    return batches


# --- the benchmarks -----------------------------------------------------------------------------


def validate_tasks(n: int) -> list[Task]:
    bank = OUT / f"gen-{n}"
    files = bank_files(bank)
    return [
        Task(f"validate/itembank/{n}", f"itembank validate N={n}", [[ITEMBANK, "validate", "--bank", str(bank)]]),
        Task(f"validate/check-jsonschema/{n}", f"check-jsonschema N={n}", argv_batches([str(BIN / "check-jsonschema"), "--schemafile", str(SCHEMA)], files), cwd=bank),
    ]


def export_task(fmt: str, n: int, bank: Path, formats: dict[str, dict[str, object]]) -> Task:
    info = formats.get(fmt)
    out = OUT / "exports" / str(n) / fmt / str((info or {}).get("output") or f"{fmt}.out")
    task = Task(f"export/{fmt}/{n}", f"itembank export {fmt} N={n}", [[ITEMBANK, "export", fmt, "--bank", str(bank), "-o", str(out)]], output=out, summary_prefix=f"{fmt}: ")
    if info is None:
        task.available, task.why_not = False, "not available (no such format)"
    elif not info["ok"]:
        task.available, task.why_not = False, "not available (exporter failed to load)"
    return task


def export_tasks(n: int, formats: dict[str, dict[str, object]]) -> list[Task]:
    bank = OUT / f"shared-{n}"
    quiz = OUT / "text2qti" / f"quiz-{n}.txt"
    text2qti = Task(f"export/text2qti/{n}", f"text2qti N={n}", [[str(BIN / "text2qti"), quiz.name]], cwd=quiz.parent)
    if not (BIN / "text2qti").exists():
        text2qti.available, text2qti.why_not = False, "not available (text2qti not installed in the venv)"
    return [export_task("canvas", n, bank, formats), text2qti, export_task("moodle", n, bank, formats), export_task("gift", n, bank, formats)]


def xlsx_tasks(n: int, formats: dict[str, dict[str, object]], review_max: int) -> list[Task]:
    """The xlsx export, its floor, and the review import of the exported workbook once it is filled in."""
    bank = OUT / f"shared-{n}"
    xlsx = export_task("xlsx", n, bank, formats)
    workbook = xlsx.output
    assert workbook is not None
    values = OUT / "xlsx" / f"values-{n}.json"
    floor_out = OUT / "xlsx" / f"floor-{n}.xlsx"

    def dump_values() -> None:
        # Untimed: the floor writes exactly the cells the exporter wrote in its latest run.
        if values.exists():
            return
        values.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([PYTHON, str(BENCH / "xlsx_floor.py"), "dump", str(workbook), str(values)], check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"error: xlsx_floor.py dump failed: {done.stdout}{done.stderr}")

    values.unlink(missing_ok=True)
    floor = Task(f"xlsx/floor/{n}", f"xlsx_floor.py N={n}", [[PYTHON, str(BENCH / "xlsx_floor.py"), "write", str(values), str(floor_out)]], prepare=dump_values)
    floor.available, floor.why_not = xlsx.available, "not available (needs the xlsx export's cell values)"
    tasks = [xlsx, floor]

    copy = OUT / "review" / f"bank-{n}"
    filled = OUT / "review" / f"filled-{n}.xlsx"
    filled.unlink(missing_ok=True)
    cmd = review_import_command(filled, copy) if xlsx.available else None
    review = Task(f"review/import/{n}", f"itembank review import N={n}", [cmd or []], summary_prefix="updated ")

    def fresh_copy() -> None:
        # Untimed: a decision on every row of the exporter's workbook (fill_review.py), and a pristine
        # bank copy, because the import writes reviews into the item files.
        if not filled.exists():
            done = subprocess.run([PYTHON, str(BENCH / "fill_review.py"), str(workbook), str(filled)], check=False, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"error: fill_review.py failed: {done.stdout}{done.stderr}")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(bank, copy)

    review.prepare = fresh_copy
    review.cwd = copy.parent
    copy.parent.mkdir(parents=True, exist_ok=True)
    if cmd is None:
        review.available = False
        review.why_not = "not available (needs the xlsx export)" if not xlsx.available else "not available (no `itembank review import` command)"
    elif n > review_max:
        review.available = False
        review.why_not = f"skipped: N > --review-max {review_max}"
    tasks.append(review)
    return tasks


def parser_tasks(n: int) -> list[Task]:
    bank = str(OUT / f"gen-{n}")
    script = str(BENCH / "parse_only.py")
    tasks = [
        Task(f"parse/yaml_rs/{n}", f"parse only, yaml_rs N={n}", [[PYTHON, script, bank, "--parser", "yaml_rs"]]),
        Task(f"parse/pyyaml/{n}", f"parse only, PyYAML C N={n}", [[PYTHON, script, bank, "--parser", "pyyaml"]]),
        Task(f"pvalidate/yaml_rs/{n}", f"validate with yaml_rs N={n}", [[PYTHON, script, bank, "--parser", "yaml_rs", "--validate"]]),
        Task(f"pvalidate/pyyaml/{n}", f"validate with PyYAML C N={n}", [[PYTHON, script, bank, "--parser", "pyyaml", "--validate"]]),
    ]
    probe = subprocess.run([PYTHON, "-c", "import yaml, sys; sys.exit(0 if yaml.__with_libyaml__ else 1)"], check=False, capture_output=True)
    if probe.returncode != 0:
        for t in tasks[1::2]:
            t.available, t.why_not = False, "not available (PyYAML with libyaml is not installed)"
    return tasks


def lint_tasks(n: int) -> list[Task]:
    bank = str(OUT / f"gen-{n}")
    return [
        Task(f"lint/itembank/{n}", f"itembank lint N={n}", [[ITEMBANK, "lint", "--bank", bank]]),
        Task(f"lint/validate/{n}", f"itembank validate N={n}", [[ITEMBANK, "validate", "--bank", bank]]),
        Task(f"lint/pass/{n}", f"lint_pass.py N={n}", [[PYTHON, str(BENCH / "lint_pass.py"), bank, "--runs", "1"]]),
    ]


#: ``itembank lint`` on 10,000 generated items, whole process (issue 12).
LINT_SECONDS = 2.0


def limit_row(measure: str, n: int, task: Task, seconds: float, reference: Task, ref_name: str) -> list[str]:
    """An absolute time target, with a reference command shown beside it."""
    ref_cell = f"{ref_name}: {fig(reference)}"
    if not task.ok:
        return [measure, f"{n:,}", fig(task), ref_cell, "—", f"≤ {seconds:g} s", "FAILED" if task.crashed else "n/a"]
    ratio = f"{task.wall / reference.wall:.2f}" if reference.ok else "—"
    return [measure, f"{n:,}", fig(task, n), ref_cell, ratio, f"≤ {seconds:g} s", "PASS" if task.wall <= seconds else "MISS"]


# --- the table ----------------------------------------------------------------------------------


def fig(task: Task, n: int | None = None) -> str:
    if not task.available:
        return task.why_not
    if task.crashed:
        return f"FAILED ({task.crashed[:80]})"
    rate = f", {n / task.wall:,.0f} items/s" if n else ""
    once = " (1 run)" if len(task.runs) == 1 else ""
    return f"{task.wall:.2f} s (CPU {task.cpu:.2f} s){rate}, {task.rss:.0f} MB{once}"


def ratio_row(measure: str, n: int, subject: Task, reference: Task, target: float, *, rate: bool = False, ref_name: str = "") -> list[str]:
    sub, ref = fig(subject, n if rate else None), fig(reference, n if rate else None)
    ref_cell = f"{ref_name or reference.label.rsplit(' N=', 1)[0]}: {ref}"
    if subject.ok and reference.ok:
        ratio = subject.wall / reference.wall
        return [measure, f"{n:,}", sub, ref_cell, f"{ratio:.3f}", f"≤ {target:g}", "PASS" if ratio <= target else "MISS"]
    verdict = "FAILED" if subject.crashed or reference.crashed else "n/a"
    return [measure, f"{n:,}", sub, ref_cell, "—", f"≤ {target:g}", verdict]


def memory_row(measure: str, n: int, task: Task, limit_mb: float) -> list[str]:
    if not task.ok:
        return [measure, f"{n:,}", fig(task), "—", "—", f"< {limit_mb:g} MB", "FAILED" if task.crashed else "n/a"]
    return [measure, f"{n:,}", f"{task.rss:.0f} MB peak", "—", "—", f"< {limit_mb:g} MB", "PASS" if task.rss < limit_mb else "MISS"]


def info_row(measure: str, n: int, task: Task, reference: Task | None = None, ref_name: str = "", *, rate: bool = False) -> list[str]:
    if reference is None:
        return [measure, f"{n:,}", fig(task, n if rate else None), "—", "—", "info", "—"]
    ratio = f"{task.wall / reference.wall:.3f}" if task.ok and reference.ok else "—"
    return [measure, f"{n:,}", fig(task), f"{ref_name}: {fig(reference)}", ratio, "info", "—"]


def markdown_table(rows: list[list[str]]) -> str:
    head = ["measure", "N", "itembank (median wall, peak RSS)", "reference", "ratio", "target", "result"]
    head[2] = "itembank (median wall (CPU user+sys), peak RSS)"
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("every size must be at least 10 (so that all ten item types are present)")
    return sorted(set(sizes))


GROUPS = ("validate", "export", "xlsx", "parsers", "lint")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("--sizes", type=parse_sizes, default=[1000, 10000], help="bank sizes (default 1000,10000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per command; the median is reported (default 3)")
    ap.add_argument(
        "--review-max",
        type=int,
        default=1000,
        help="largest N at which `itembank review import` is timed (default 1000: it rewrites every item file and is slow)",
    )
    ap.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups to run (default: all of {','.join(GROUPS)})")
    args = ap.parse_args(argv)
    precompile()  # time what users run: the package's bytecode written (see precompile.py)
    python = interpreter()  # (named first, and in the results' header)
    print(python, flush=True)
    only = {g.strip() for g in args.only.split(",") if g.strip()}
    if not only or only - set(GROUPS):
        ap.error(f"--only takes groups among {', '.join(GROUPS)}")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not (shared_bench_dir() / "items.py").is_file():
        ap.error(f"shared bench inputs not found at {shared_bench_dir()} (set ITEMBANK_SHARED)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind (and stop the running child) on kill
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    prep = prepare_inputs(args.sizes)
    formats = export_formats()
    print("formats: " + ", ".join(f"{k} ({'ok' if v['ok'] else 'not available'})" for k, v in formats.items()), flush=True)
    unavailable = [f"format {k} is not available: {v['why']}" for k, v in formats.items() if not v["ok"]]

    rows: list[list[str]] = []
    all_tasks: list[Task] = []
    notes: list[str] = list(unavailable)
    load_before = os.getloadavg()
    for n in args.sizes:
        print(f"\n== N = {n:,}", flush=True)
        ib, cj = validate_tasks(n)  # check-jsonschema is the reference of both validate and lint
        if "validate" in only:
            measure([ib, cj], args.runs)
            rows.append(ratio_row("load+validate (generated bank)", n, ib, cj, 0.5, rate=True))
            notes.append(f"N={n:,}: check-jsonschema got {len(bank_files(OUT / f'gen-{n}')):,} files in {len(cj.batches)} invocation(s)")
            all_tasks += [ib, cj]

        if "export" in only:
            canvas, t2q, moodle, gift = exp = export_tasks(n, formats)
            measure(exp, args.runs)
            rows.append(ratio_row("Canvas export (shared bank)", n, canvas, t2q, 0.25))
            rows.append(memory_row("Canvas export memory", n, canvas, 200))
            for fmt_task, name in ((moodle, "Moodle XML"), (gift, "GIFT")):
                rows.append(ratio_row(f"{name} export vs Canvas", n, fmt_task, canvas, 1.5, ref_name="itembank export canvas"))
                rows.append(memory_row(f"{name} export memory", n, fmt_task, 200))
            all_tasks += exp

        if "xlsx" in only:
            xlsx, floor, review = xt = xlsx_tasks(n, formats, args.review_max)
            measure([xlsx, floor], args.runs)
            rows.append(ratio_row("xlsx export vs write-only floor", n, xlsx, floor, 2.0, ref_name="xlsx_floor.py"))
            measure([review], 1)  # information only, nothing to alternate with; one run keeps run.py short
            rows.append(info_row("review import of that workbook (filled, 1 run)", n, review, rate=True))
            all_tasks += xt

        if "lint" in only:
            lint, lval, lpass = lt = lint_tasks(n)
            measure([lint, lval] + ([] if cj.runs or cj.crashed else [cj]), args.runs)
            if n >= 10_000:
                rows.append(limit_row("lint (load, validate, all rules)", n, lint, LINT_SECONDS, lval, "itembank validate"))
            else:
                rows.append(info_row("lint (load, validate, all rules)", n, lint, lval, "itembank validate"))
            rows.append(info_row("lint vs check-jsonschema (schema only)", n, lint, cj, "check-jsonschema"))
            if "validate" not in only:
                all_tasks.append(cj)
            measure([lpass], 1)
            if lpass.ok:
                try:
                    split = json.loads((OUT / "logs" / f"{lpass.key.replace('/', '_')}.log").read_text(encoding="utf-8"))
                    notes.append(
                        f"N={n:,}: lint pass alone (in process, after load+validate {split['load_validate_s']} s): "
                        f"{split['lint_wall_s']} s wall, {split['lint_cpu_s']} s CPU, {split['findings']:,} findings; "
                        f"slowest rules (CPU s): " + ", ".join(f"{k} {v}" for k, v in sorted(split["per_rule_cpu_s"].items(), key=lambda kv: -kv[1])[:4])
                    )
                except (OSError, ValueError, KeyError):
                    pass
            all_tasks += lt

    n = max(args.sizes)
    if "parsers" in only:
        print(f"\n== parsers, N = {n:,} (information)", flush=True)
        p_rs, p_py, v_rs, v_py = pt = parser_tasks(n)
        measure(pt, args.runs)
        rows.append(info_row("parse only: yaml_rs vs PyYAML C", n, p_rs, p_py, "PyYAML CSafeLoader"))
        rows.append(info_row("validate: yaml_rs vs PyYAML C", n, v_rs, v_py, "PyYAML CSafeLoader"))
        all_tasks += pt

    total = time.perf_counter() - started
    load_after = os.getloadavg()
    table = markdown_table(rows)
    outputs = [f"- {t.label}: `{t.last_line}`" for t in all_tasks if t.ok and t.last_line]
    header = (
        f"# itembank benchmarks\n\n"
        f"{python} on {platform.machine()}, {os.cpu_count()} CPUs; sizes {', '.join(f'{s:,}' for s in args.sizes)}; "
        f"median of {args.runs} alternating runs; whole process (wall time, peak RSS via wait4); "
        f"run.py took {total:.0f} s in all; load average (1, 5, 15 min) {', '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{', '.join(f'{x:.2f}' for x in load_after)} after (the machine may be shared: CPU time is the steadier figure).\n"
    )
    body = (
        f"{header}\n{table}\n\n## Notes\n\n"
        + "\n".join(f"- {x}" for x in notes)
        + "\n- input generation (untimed in the table): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in prep.items())
        + "\n\n## Last output line of each command\n\n"
        + "\n".join(outputs)
        + "\n"
    )
    (OUT / "results.md").write_text(body, encoding="utf-8")
    raw = {t.key: {"label": t.label, "available": t.available, "why_not": t.why_not, "crashed": t.crashed, "runs": [r.__dict__ for r in t.runs]} for t in all_tasks}
    (OUT / "results.json").write_text(json.dumps(raw, indent=1, sort_keys=True), encoding="utf-8")
    print("\n" + table)
    print(f"\nrun.py took {total:.0f} s; written {OUT.relative_to(REPO)}/results.md")
    crashed = [t for t in all_tasks if t.crashed]
    for t in crashed:
        print(f"CRASHED: {t.label}: {t.crashed}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
