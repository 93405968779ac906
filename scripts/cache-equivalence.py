"""A build with the caches against one without them, byte for byte, after each of many random edits.

    .venv/bin/python scripts/cache-equivalence.py BANK [--rounds N] [--seed S] [--keep DIR]

BANK is copied to a temporary folder (never changed).  Each round edits the copy at random (a
title, a stem (of any item of a file of several too), a hint, an option or feedback line, with words that exports and their audit find
hard: long decimals, ``{{b1}}``, ``[b1]``, ``{a}``, ``]]>``, ``=SUM(A1)``, RTL marks; a copied item under a
new id; a deleted file; a file rewritten with the same bytes), runs ``itembank validate`` (an edit
that makes the bank invalid is undone), then ``itembank build -j 2`` with the caches and
``itembank build --no-cache -j 1``, and compares every output file.  Exit 1 at the first
difference or failed build (``--keep DIR``: the two differing files are copied there).

Not a test (a round takes seconds; the interesting rounds are rare): run it on a bank nobody here
wrote, e.g. one imported from ``../shared/corpora`` (``itembank import auto FILE --into BANK``).
It found the audit's refusals of valid author text fixed on 2026-12-04, and a workbook whose Guide
sheet deflated to other bytes (the same content) once in several hundred builds (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ITEMBANK = str(Path(sys.executable).with_name("itembank"))
WORDS = ["alpha", "β-test", "x < y & z", "`code`", "$x^2$", "**bold**", "naïve", "100%", "a\\b", "=SUM(A1)", "é", "3.141592653589793",
         "0.30000000000000004", "{{b1}}", "]]>", "\u202e rtl", "😀", "a_b_c", "{a}", "[b1]", "#", "//", "~", "1e-7"]  # fmt: skip
FIELDS = re.compile(r"^\s*(- )?(text|feedback|rationale|match|prompt|answer|sample_answer|true_feedback|false_feedback|criterion): \S")
OPS = ("title", "stem", "hint", "field", "field", "copy", "delete", "rewrite")


def run(*args: str) -> tuple[int, str]:
    done = subprocess.run([ITEMBANK, *args], capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def differing(a: Path, b: Path) -> list[str]:
    names = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} | {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    return sorted(str(n) for n in names if not ((a / n).is_file() and (b / n).is_file() and (a / n).read_bytes() == (b / n).read_bytes()))


def edit(bank: Path, rnd: random.Random, round_no: int) -> str:
    """One random edit of the bank's item files; what it was."""
    files = sorted(f for f in bank.rglob("*.yaml") if f.name != "itembank.yaml" and "assessments" not in f.parts)
    f = rnd.choice(files)
    text, op, word = f.read_text(encoding="utf-8"), rnd.choice(OPS), rnd.choice(WORDS)
    # (an item alone in its file, or any entry of a file of several: ``items:`` lists, indented)
    titles = [m for m in re.finditer(r"^([ ]*(?:- )?)title: .*$", text, re.M)]
    stems = [m for m in re.finditer(r"^([ ]*(?:- )?)stem: ", text, re.M)]
    if op == "title" and titles:
        m = rnd.choice(titles)
        text = text[: m.start()] + m.group(1) + "title: " + json.dumps(f"{word} {rnd.random()}", ensure_ascii=False) + text[m.end() :]
    elif op == "stem" and stems:
        m = rnd.choice(stems)
        text = text[: m.start()] + m.group(1) + "stem: " + rnd.choice(["Edited ", "Now ", "Again "]) + text[m.end() :]
    elif op == "hint" and "\nhints:" not in text:
        text = text.rstrip("\n") + "\nhints:\n- " + json.dumps(f"{word} {rnd.choice(WORDS)}", ensure_ascii=False) + "\n"
    elif op == "field":
        lines = text.split("\n")
        spots = [i for i, line in enumerate(lines) if FIELDS.match(line)]
        if spots:
            i = rnd.choice(spots)
            key, _, value = lines[i].partition(": ")
            value = value.strip("'\"")
            lines[i] = key + ": " + json.dumps(rnd.choice([f"{word} {value}", f"{value} {word}"]), ensure_ascii=False)
            text = "\n".join(lines)
    elif op == "copy" and (m := re.search(r"^id: (.*)$", text, re.M)):
        new_id = f"{m.group(1).strip()}-copy{round_no}"
        (f.parent / f"{new_id}.yaml").write_text(text.replace(m.group(0), f"id: {new_id}", 1), encoding="utf-8")
        return f"copy {f.name}"
    elif op == "delete" and len(files) > 20:
        f.unlink()
        return f"delete {f.name}"
    f.write_text(text, encoding="utf-8")  # ("rewrite": the same bytes, a new modification time)
    return f"{op} {f.name}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bank", type=Path)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="copy the two differing files here")
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        bank, cached, clean = Path(tmp, "bank"), Path(tmp, "cached"), Path(tmp, "clean")
        shutil.copytree(args.bank, bank, ignore=shutil.ignore_patterns(".itembank-cache"))
        for n in range(args.rounds):
            before = {f: f.read_bytes() for f in bank.rglob("*.yaml")}
            what = edit(bank, rnd, n)
            if run("validate", "--bank", str(bank))[0] != 0:  # undone: validation says why, not the builds
                for f in set(bank.rglob("*.yaml")) - set(before):
                    f.unlink()
                for f, data in before.items():
                    f.write_bytes(data)
                print(f"{n:4} {what}: invalid, undone", flush=True)
                continue
            with_cache, out1 = run("build", "--bank", str(bank), "-o", str(cached), "-j", "2")
            without, out2 = run("build", "--bank", str(bank), "-o", str(clean), "--no-cache", "-j", "1")
            if (with_cache, without) != (0, 0):
                print(f"{n:4} {what}: builds exited {with_cache} (cached) and {without} (no cache)\n{out1[-1500:]}\n{out2[-1500:]}")
                return 1
            diff = differing(cached, clean)
            print(f"{n:4} {what}: {'DIFFERENT ' + ', '.join(diff) if diff else 'the same bytes'}", flush=True)
            if diff:
                if args.keep is not None:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    for side, folder in (("cached", cached), ("clean", clean)):
                        if (folder / diff[0]).is_file():
                            shutil.copy(folder / diff[0], args.keep / f"round{n}-{side}-{diff[0].replace('/', '_')}")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
