#!/usr/bin/env python3
"""A simulated class: a bank of multiple-choice items and Moodle quiz reports from a 2PL model.

    simulate_class.py OUT_DIR [--students N] [--items M] [--seed S] [--grades]

Student ability θ ~ N(0, 1); item j (tagged easy/medium/hard from b_j) is answered correctly with probability
1 / (1 + exp(-a_j (θ - b_j))) (two-parameter logistic model), a_j ~ U(0.8, 2.0), b_j ~ U(-1.5, 1.5).
A wrong answer picks one of the item's distractors at random.  Three items carry planted flaws:

- ``sim-003`` **negative discrimination**: a = -1.2 (weaker students are likelier to be right);
- ``sim-005`` **dead distractor**: option d is never chosen (wrong answers pick b or c);
- ``sim-007`` **miskey**: the students answer as if b were right (2PL on b), but the bank, and so
  the quiz's grading, keys a; a wrong answer is a, c or d.

Writes ``OUT_DIR/bank/`` (one YAML file per item, ``itembank.yaml``), ``OUT_DIR/responses.csv``
(Moodle 4.5 Responses report bytes: BOM, CRLF, quoting, date format as in the real samples) and with
``--grades`` ``OUT_DIR/grades.csv``.  The same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
from pathlib import Path

NEGATIVE, DEAD, MISKEY = "sim-003", "sim-005", "sim-007"
OPTIONS = "abcd"


def item_ids(m: int) -> list[str]:
    return [f"sim-{j + 1:03d}" for j in range(m)]


def option_text(j: int, o: str) -> str:
    return f"Answer {o.upper()} to question {j + 1}, option {OPTIONS.index(o) + 1}"


def item_params(m: int, seed: int) -> list[tuple[float, float]]:
    """(a, b) per item; item j's parameters depend only on (seed, j)."""
    out = []
    for j, item_id in enumerate(item_ids(m)):
        rng = random.Random(f"{seed}-{j}")
        a, b = rng.uniform(0.8, 2.0), rng.uniform(-1.5, 1.5)
        out.append((-1.2 if item_id == NEGATIVE else a, b))
    return out


def tag(b: float) -> str:
    """The difficulty tag an author would have guessed right: easy below b = -0.6, hard above 0.6."""
    return "easy" if b < -0.6 else "hard" if b > 0.6 else "medium"


def write_bank(out: Path, m: int, seed: int) -> None:
    bank = out / "bank"
    bank.mkdir(parents=True, exist_ok=True)
    (bank / "itembank.yaml").write_text("title: Simulated class\n", encoding="utf-8")
    for j, (item_id, (_, b)) in enumerate(zip(item_ids(m), item_params(m, seed))):
        lines = [
            f"id: {item_id}",
            "type: multiple_choice",
            f"difficulty: {tag(b)}",
            f"stem: Simulated question number {j + 1}?",
            "options:",
        ]
        for o in OPTIONS:
            lines.append(f"  - id: {o}")
            lines.append(f"    text: {option_text(j, o)}")
            if o == "a":
                lines.append("    correct: true")
            else:
                lines.append(f"    feedback: Option {o} is not the answer.")
        (bank / f"{item_id}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def simulate(n: int, m: int, seed: int) -> tuple[list[list[str]], list[list[float]]]:
    """Per student: the chosen option letter per item, and the mark per item (graded with key a)."""
    rng = random.Random(seed)
    params = item_params(m, seed)
    choices: list[list[str]] = []
    marks: list[list[float]] = []
    for _ in range(n):
        theta = rng.gauss(0.0, 1.0)
        row_c, row_m = [], []
        for item_id, (a, b) in zip(item_ids(m), params):
            p = 1 / (1 + math.exp(-a * (theta - b)))
            right = "b" if item_id == MISKEY else "a"
            if rng.random() < p:
                pick = right
            else:
                wrong = [o for o in OPTIONS if o != right and not (item_id == DEAD and o == "d")]
                pick = rng.choice(wrong)
            row_c.append(pick)
            row_m.append(1.0 if pick == "a" else 0.0)
        choices.append(row_c)
        marks.append(row_m)
    return choices, marks


def _moodle_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def write_reports(out: Path, n: int, m: int, seed: int, grades: bool) -> None:
    choices, marks = simulate(n, m, seed)
    ident = ["Last name", "First name", "Email address", "Status", "Started", "Completed", "Duration", f"Grade/{m:.2f}"]
    people = []
    for i in range(n):
        minute = i % 60
        people.append([f"S{i + 1:05d}", "Sim", f"s{i + 1:05d}@example.com", "Finished", f"10 March 2025  9:{minute:02d} AM", f"10 March 2025  10:{minute:02d} AM", "1 hour"])
    rows = []
    for i in range(n):
        total = sum(marks[i])
        rows.append(people[i] + [f"{total:.2f}"] + [option_text(j, o) for j, o in enumerate(choices[i])])
    (out / "responses.csv").write_bytes(_moodle_csv(ident + [f"Response {j + 1}" for j in range(m)], rows))
    if grades:
        rows = [people[i] + [f"{sum(marks[i]):.2f}"] + [f"{x:.2f}" for x in marks[i]] for i in range(n)]
        averages = [sum(marks[i][j] for i in range(n)) / n for j in range(m)]
        rows.append(["Overall average", "", "", "", "", "", "", f"{sum(averages):.2f}"] + [f"{x:.2f}" for x in averages])
        (out / "grades.csv").write_bytes(_moodle_csv(ident + [f"Q. {j + 1} /1.00" for j in range(m)], rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("out", type=Path)
    ap.add_argument("--students", type=int, default=1000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--grades", action="store_true")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    write_bank(args.out, args.items, args.seed)
    write_reports(args.out, args.students, args.items, args.seed, args.grades)
    print(f"{args.out}: {args.items} items, {args.students} students")


if __name__ == "__main__":
    main()
