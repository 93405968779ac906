#!/usr/bin/env python3
"""The check cache (issue 13): cold, warm and one-edit runs of ``validate`` and ``build``.

    .venv/bin/python benchmarks/incremental_bench.py [--size 10000] [--runs 3] [--build-runs 1] [--formats json] [--jobs 2]
        [--exports qti21,moodle] [--no-validate] [--per-file 1]

On a copy of the generated bank (``benchmarks/out/inc-N/``, edited by the benchmark; with
``--per-file K``, each topic's items put into files of K, ``items:`` lists, as a bank kept as a file
per chapter is):

- ``validate`` of the whole bank: without the cache (``--no-cache``), cold (cache folder removed
  first: the run fills it), warm (nothing changed), after editing one item;
- ``validate FILE`` of the one edited file as a pre-commit hook runs it (the rest of the bank from the
  cache; the duplicate id check still sees every file), and the same without the cache;
- ``build`` (``--formats``, default every format) cold, warm, after editing one item, after adding
  an item before every other and after removing the first one (each of those moves every later
  workbook row, printed question and HTML page: a title edit moves none);
- ``export FORMAT`` for each of ``--exports``: without the cache, and after editing one item (the
  fragment cache warm from the export before the edit: ``itembank.fragments``).

Every command is a whole process reaped with ``os.wait4``: wall, CPU (user + system, workers
included) and peak RSS; medians of the runs, the load average beside each row (the machine is shared:
CPU time is the steadier figure).  Each one-edit run edits the item again (a new title), so its file
is new to the cache every time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import yaml_rs

from itembank.yamlwrite import dump_item, dump_items
from precompile import precompile
from processes import environment, interpreter, measure

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ITEMBANK = str(Path(sys.executable).with_name("itembank"))
CACHE = ".itembank-cache"


#: The commands' environment: this one's, with the caches on whatever the caller's shell says (the
#: rows without them say ``--no-cache``).
ENV = environment(no_cache=False)


def timed(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, float]:
    run = measure(cmd, env=ENV)
    if problem := run.failed(" ".join(cmd), ok):
        raise SystemExit(problem)
    return run.wall, run.cpu, run.peak_mb


#: An item's title line, in a file of one item or in an ``items:`` list (:func:`grouped`).
TITLE = re.compile(r"(?m)^(\s*)title: ")


class Editor:
    """Edits one item of the bank (the first of the first file of ``web/``): a new title each time
    (the file stays valid)."""

    def __init__(self, bank: Path) -> None:
        self.path = sorted((bank / "web").glob("*.yaml"))[0]
        self.original = self.path.read_text(encoding="utf-8")
        assert TITLE.search(self.original), self.path
        self.n = 0

    def edit(self) -> None:
        self.n += 1
        self.path.write_text(TITLE.sub(rf"\g<1>title: Edited {self.n} ", self.original, count=1), encoding="utf-8")

    def restore(self) -> None:
        self.path.write_text(self.original, encoding="utf-8")


#: The file name and id of the item :class:`Mover` adds: its file sorts before the generated ones.
ADDED = "added-first"


class Mover:
    """Adds an item before every other (a copy of the first item of the first topic, under a new id,
    in a file that sorts first) or removes that first item (its file, or the item from its file of
    several), and puts the bank back as it was."""

    def __init__(self, bank: Path) -> None:
        topic = sorted(p for p in bank.iterdir() if p.is_dir() and not p.name.startswith("."))[0]
        self.first = sorted(topic.glob("*.yaml"))[0]
        self.original = self.first.read_text(encoding="utf-8")
        data = yaml_rs.loads(self.original, parse_datetime=False)
        self.items: list[dict[str, Any]] = data["items"] if "items" in data else [data]
        assert ADDED < self.first.stem, self.first
        self.added = topic / f"{ADDED}.yaml"
        self.added_text = dump_item({**self.items[0], "id": ADDED})

    def add(self) -> None:
        self.added.write_text(self.added_text, encoding="utf-8")

    def remove(self) -> None:
        if len(self.items) == 1:
            self.first.unlink()
        else:
            self.first.write_text(dump_items(self.items[1:]), encoding="utf-8")

    def restore(self) -> None:
        self.added.unlink(missing_ok=True)
        self.first.write_text(self.original, encoding="utf-8")


def grouped(bank: Path, per_file: int) -> None:
    """Put each topic folder's items into files of ``per_file`` (``items:`` lists, in the bank's
    order, each file named after its first item's, written as itembank writes item files), as a bank
    kept as a file per chapter is: an edit then changes a file of many items."""
    for topic in sorted(p for p in bank.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(topic.glob("*.yaml"))
        for start in range(0, len(files), per_file):
            group = files[start : start + per_file]
            items = [yaml_rs.loads(f.read_text(encoding="utf-8"), parse_datetime=False) for f in group]
            for f in group:
                f.unlink()
            group[0].write_text(dump_items(items), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3, help="runs of each validate row")
    ap.add_argument("--build-runs", type=int, default=1, help="runs of each build row (a full build is long; 0: no build rows)")
    ap.add_argument("--formats", default="", help="build only these formats (comma-separated); default every format")
    ap.add_argument("--jobs", default="2", help="build -j")
    ap.add_argument("--exports", default="", help="formats (comma-separated) to time one export of, without the cache and after one edit")
    ap.add_argument("--no-validate", action="store_true", help="leave out the validate rows")
    ap.add_argument("--per-file", type=int, default=1, help="items per file (a file per topic or chapter: items: lists); default 1")
    args = ap.parse_args()
    precompile()  # time what users run: the package's bytecode written (see precompile.py)
    n = args.size
    source = OUT / f"gen-{n}"
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(n), str(source), "--reuse"], check=True, stdout=subprocess.DEVNULL)
    bank = OUT / f"inc-{n}"
    shutil.rmtree(bank, ignore_errors=True)
    shutil.copytree(source, bank, ignore=shutil.ignore_patterns(CACHE))
    if args.per_file > 1:
        grouped(bank, args.per_file)
    editor = Editor(bank)
    mover = Mover(bank)
    rel_file = str(editor.path)
    dist = OUT / f"inc-build-{n}"

    def clear() -> None:
        shutil.rmtree(bank / CACHE, ignore_errors=True)

    def warm_up(cmd: list[str]) -> Callable[[], None]:
        return lambda: None if timed(cmd) else None

    def edit_after(cmd: list[str]) -> None:  # a warm cache first, then the edit
        timed(cmd)
        editor.edit()

    def moved_after(cmd: list[str], change: Callable[[], None]) -> None:  # the bank as it was, built, then changed
        mover.restore()
        timed(cmd)
        change()

    validate = [ITEMBANK, "validate", "--bank", str(bank)]
    fmt_args = [a for f in filter(None, args.formats.split(",")) for a in ("--format", f)]
    build = [ITEMBANK, "build", "--bank", str(bank), "-o", str(dist), "-j", args.jobs, *fmt_args]
    # name -> (prepare, command, runs); prepare runs before each timed run, untimed.
    rows: list[tuple[str, Callable[[], None], list[str], int]] = [
        ("validate --no-cache", lambda: None, [*validate, "--no-cache"], args.runs),
        ("validate, cold cache", clear, validate, args.runs),
        ("validate, warm cache", warm_up(validate), validate, args.runs),
        ("validate, 1 item edited", lambda: edit_after(validate), validate, args.runs),
        ("validate FILE --no-cache (1 edited)", editor.edit, [*validate, "--no-cache", rel_file], args.runs),
        ("validate FILE (1 edited, hook)", lambda: edit_after(validate), [*validate, rel_file], args.runs),
        ("build --no-cache", lambda: None, [*build, "--no-cache"], args.build_runs),
        ("build, cold cache", clear, build, args.build_runs),
        ("build, warm cache", warm_up(build), build, args.build_runs),
        ("build, 1 item edited", lambda: edit_after(validate), build, args.build_runs),
        ("build, 1 item added first", lambda: moved_after(build, mover.add), build, args.build_runs),
        ("build, first item removed", lambda: moved_after(build, mover.remove), build, args.build_runs),
    ]
    for fmt in filter(None, args.exports.split(",")):
        export = [ITEMBANK, "export", fmt, "--bank", str(bank), "-o", str(OUT / f"inc-export-{n}" / fmt)]
        rows.append((f"export {fmt} --no-cache", lambda: None, [*export, "--no-cache"], args.build_runs))
        rows.append((f"export {fmt}, 1 item edited", (lambda cmd: lambda: edit_after(cmd))(export), export, args.build_runs))
    if args.no_validate:
        rows = [r for r in rows if not r[0].startswith("validate")]
    label = f"build{' ' + args.formats if args.formats else ''} -j {args.jobs}"
    layout = f", {args.per_file} to a file" if args.per_file > 1 else ""
    print(f"{n} generated items{layout}; build = {label}; {interpreter()}")
    print(f"{'command':<38} | {'wall s':>7} | {'CPU s':>7} | {'peak MB':>7} | load")
    try:
        for name, prepare, cmd, runs in rows:
            if runs < 1:
                continue
            results = []
            for _ in range(runs):
                prepare()
                wall, cpu, peak = timed(cmd)
                results.append((wall, cpu, peak, os.getloadavg()[0]))
            print(
                f"{name:<38} | {statistics.median(r[0] for r in results):7.2f} | {statistics.median(r[1] for r in results):7.2f} | "
                f"{max(r[2] for r in results):7.0f} | {statistics.median(r[3] for r in results):.1f}",
                flush=True,
            )
    finally:
        editor.restore()
        mover.restore()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
