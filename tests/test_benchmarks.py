"""Fast tests of the benchmark generators (benchmarks/generate.py and benchmarks/from_shared.py).

They pin what the benchmarks rely on: the same N and seed give byte-identical banks, smaller banks are
prefixes of larger ones, every item type is present, the banks validate, and the shared items are
mapped faithfully.  No timing is asserted here, ever: benchmarks/run.py measures, tests do not.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import sys
import threading
from collections import Counter
from functools import partial
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, SHARED, require
from ruamel.yaml import YAML

from itembank.model import ITEM_TYPES, ChoiceItem, NumericItem, ShortAnswerItem, TrueFalseItem
from itembank.validate import CheckResult, check_bank

BENCH = ROOT / "benchmarks"
EMPHASIS = re.compile(r"\*\*[a-z]+\*\*|(?<![*\w])\*[a-z]+\*(?!\*)")


def _load(name: str) -> ModuleType:
    """Import a benchmark script by path (benchmarks/ is scripts, not a package), with benchmarks/
    on sys.path as when it runs (a script imports its neighbours: ``precompile``)."""
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"itembank_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and typing look the module up by name
    spec.loader.exec_module(module)
    return module


generate = _load("generate")
from_shared = _load("from_shared")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def gen_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "bank"
    generate.write_bank(300, out)
    return out


@pytest.fixture(scope="module")
def gen_result(gen_bank: Path) -> CheckResult:
    return check_bank(gen_bank)


# --- generate.py ------------------------------------------------------------------------------------


def test_same_n_and_seed_give_byte_identical_banks(tmp_path: Path, gen_bank: Path) -> None:
    again = tmp_path / "again"
    generate.write_bank(300, again)
    assert _tree(again) == _tree(gen_bank)


def test_another_seed_gives_another_bank(tmp_path: Path, gen_bank: Path) -> None:
    other = tmp_path / "other"
    generate.write_bank(300, other, seed=7)
    mine, theirs = _tree(gen_bank), _tree(other)
    assert len(theirs) == len(mine)
    changed = {k for k in mine if k.endswith(".yaml") and mine.get(k) != theirs.get(k)}
    assert len(changed) > 290  # item files land in other topic folders or differ in content


def test_smaller_bank_is_a_prefix_of_a_larger_one(tmp_path: Path, gen_bank: Path) -> None:
    small = tmp_path / "small"
    generate.write_bank(40, small)
    small_files, big_files = _tree(small), _tree(gen_bank)
    items = {k: v for k, v in small_files.items() if k != "itembank.yaml"}
    assert len(items) == 40
    assert all(big_files[k] == v for k, v in items.items())


def test_first_ten_items_are_one_of_each_type(tmp_path: Path) -> None:
    out = tmp_path / "ten"
    generate.write_bank(10, out)
    result = check_bank(out)
    assert sorted(i.type for i in result.items) == sorted(generate.GENERATED_TYPES)


def test_generated_bank_validates_without_errors_or_warnings(gen_result: CheckResult) -> None:
    result = gen_result
    assert [p.format() for p in result.problems] == []
    assert len(result.items) == 300
    assert result.config.title == "Synthetic benchmark bank (300 items, seed 20240611)"


def test_every_type_present_with_a_realistic_mix(gen_result: CheckResult) -> None:
    counts = Counter(i.type for i in gen_result.items)
    assert set(counts) == set(generate.GENERATED_TYPES)
    assert counts.most_common(1)[0][0] == "multiple_choice"


def test_every_item_carries_explanations(gen_result: CheckResult) -> None:
    for item in gen_result.items:
        assert item.rationale and item.hints and item.common_mistakes, item.id
        assert item.solution is not None and len(item.solution.steps) >= 2 and item.solution.quick_check, item.id
        if isinstance(item, ChoiceItem):
            assert all(o.feedback for o in item.options), item.id  # wrong and right options alike
        if isinstance(item, TrueFalseItem):
            assert item.true_feedback and item.false_feedback, item.id


def test_texts_have_realistic_lengths_and_some_markdown(gen_result: CheckResult) -> None:
    items = gen_result.items
    stems = [i.stem for i in items if i.type != "flashcard"]
    assert all(150 <= len(s) for s in stems)
    assert 200 <= sorted(len(s) for s in stems)[len(stems) // 2] <= 700  # median stem length
    assert sum("```" in s for s in stems) >= 10  # fenced code blocks
    assert sum("$" in i.stem or "$" in (i.rationale or "") for i in items) >= 10  # math
    assert sum(bool(EMPHASIS.search(i.stem + (i.rationale or ""))) for i in items) >= 10
    assert any("<" in s for s in stems) and any("&" in (i.rationale or "") + i.stem for i in items)


def test_written_yaml_reads_the_same_with_an_independent_parser(gen_bank: Path) -> None:
    """yaml_rs wrote the files; ruamel.yaml (pure Python, YAML 1.2) must read the very data that was generated."""
    yaml = YAML(typ="safe", pure=True)
    for i in range(1, 301, 7):
        item = generate.make_item(i)
        path = gen_bank / item["topic"] / f"{item['id']}.yaml"
        assert yaml.load(path.read_text(encoding="utf-8")) == item


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SystemExit, match="not written by generate.py"):
        generate.write_bank(10, tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_rewrites_a_bank_behind_a_link_and_keeps_the_link(tmp_path: Path) -> None:
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real, target_is_directory=True)
    generate.write_bank(10, link)
    generate.write_bank(12, link)  # over its own earlier output: crashed on the link ("rmtree on a symbolic link")
    assert link.is_symlink() and len(list(real.rglob("gen-*.yaml"))) == 12


def test_cli_writes_the_bank(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["12", str(tmp_path / "b"), "--seed", "5"]) == 0
    assert "wrote 12 items" in capsys.readouterr().out
    assert len(list((tmp_path / "b").rglob("gen-*.yaml"))) == 12


# --- from_shared.py ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_items() -> ModuleType:
    require((SHARED / "bench" / "items.py").is_file(), f"shared bench items at {SHARED / 'bench'}")
    return from_shared.load_shared_items()


@pytest.fixture(scope="module")
def shared_bank(shared_items: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shared") / "bank"
    from_shared.write_bank(120, out)
    return out


@pytest.fixture(scope="module")
def shared_result(shared_bank: Path) -> CheckResult:
    return check_bank(shared_bank)


def test_shared_bank_is_deterministic(shared_bank: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    from_shared.write_bank(120, again)
    assert _tree(again) == _tree(shared_bank)


def test_shared_bank_validates_with_only_the_essay_rubric_warning(shared_result: CheckResult) -> None:
    result = shared_result
    assert result.errors == []
    assert len(result.items) == 120
    essays = {i.id for i in result.items if i.type == "essay"}
    assert essays and {p.item_id for p in result.warnings} == essays
    assert {p.code for p in result.warnings} == {"IB303"}
    assert result.config.title == "Benchmark quiz, 120 questions"


def test_shared_items_are_mapped_faithfully(shared_result: CheckResult, shared_items: ModuleType) -> None:
    items = {i.id: i for i in shared_result.items}
    seen_types = set()
    for n in range(1, 121):
        src = shared_items.make_item(n)
        item = items[src["id"]]
        seen_types.add(src["type"])
        assert item.type == from_shared.TYPE_MAP[src["type"]]
        assert (item.title, item.points, item.stem) == (src["title"], float(src["points"]), src["stem"])
        fb = src["feedback"]
        assert item.rationale is not None and fb["general"] in item.rationale
        if fb["correct"]:
            assert fb["correct"] in item.rationale
        assert item.common_mistakes == ((fb["incorrect"],) if fb["incorrect"] else ())
        if src["type"] in ("mc", "ma"):
            assert isinstance(item, ChoiceItem)
            assert [(o.text, o.correct, o.feedback) for o in item.options] == [(c["text"], c["correct"], c["feedback"]) for c in src["choices"]]
        elif src["type"] == "tf":
            assert isinstance(item, TrueFalseItem)
            truth = {c["text"]: c for c in src["choices"]}
            assert item.answer is truth["True"]["correct"]
            assert (item.true_feedback, item.false_feedback) == (truth["True"]["feedback"], truth["False"]["feedback"])
        elif src["type"] == "num":
            assert isinstance(item, NumericItem)
            assert (item.answer, item.tolerance) == (src["answer"]["value"], src["answer"]["tolerance"])
        elif src["type"] == "sa":
            assert isinstance(item, ShortAnswerItem) and not item.case_sensitive
            # Case-insensitive matching accepts exactly the answers text2qti lists.
            assert {a.casefold() for a in item.answers} == {a.casefold() for a in src["answer"]["answers"]}
    assert seen_types == {"mc", "ma", "tf", "num", "sa", "essay"}


def test_unknown_shared_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown shared item type 'hotspot'"):
        from_shared.convert({"id": "q1", "type": "hotspot", "title": "t", "points": 1, "stem": "s", "feedback": {}})


def test_reuse_keeps_an_up_to_date_bank_and_rewrites_a_changed_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b"
    generate.main(["15", str(out)])
    assert generate.up_to_date(15, out, generate.DEFAULT_SEED)
    assert not generate.up_to_date(16, out, generate.DEFAULT_SEED)
    victim = next(out.rglob("gen-000003.yaml"))
    original = victim.read_bytes()
    victim.unlink()  # a missing file makes the bank stale
    capsys.readouterr()
    generate.main(["15", str(out), "--reuse"])
    assert "wrote 15 items" in capsys.readouterr().out
    assert victim.read_bytes() == original
    generate.main(["15", str(out), "--reuse"])
    assert "is up to date" in capsys.readouterr().out


def test_no_benchmark_script_shadows_a_standard_module() -> None:
    """A script run as ``python benchmarks/x.py`` has benchmarks/ first on sys.path: a file named like
    a standard module (``html.py``) replaces it for itembank too (``html.unescape`` went missing and
    ``lint_pass.py`` crashed)."""
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    assert not scripts & set(sys.stdlib_module_names)


def test_a_timed_command_that_writes_much_on_stderr_is_not_stalled(tmp_path: Path) -> None:
    """``processes.measure`` (every benchmark's timer): a command writing more than a pipe holds
    finishes, and the end of what it wrote comes back; with a log, stdout and stderr go there."""
    processes = _load("processes")
    probe = "import sys; sys.stderr.write('x' * 400_000 + 'END'); print('out'); sys.exit(2)"
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(processes.measure([sys.executable, "-c", probe], env=processes.environment(no_cache=True))), daemon=True)
    worker.start()
    worker.join(120)
    assert outcome, "the timed command never finished (its stderr pipe filled up?)"
    (done,) = outcome
    assert done.code == 2 and done.stderr.endswith("xEND") and 60_000 <= len(done.stderr) <= 70_000
    logged = processes.measure([sys.executable, "-c", probe], env=processes.environment(no_cache=True), log=tmp_path / "log")
    text = (tmp_path / "log").read_text()
    assert logged.code == 2 and "out" in text and text.count("x") == 400_000 and logged.stderr == ""


@pytest.mark.parametrize(("script", "argv"), [("build_bench", ["build_bench.py", "--sizes", "10"]), ("run", None)])
def test_the_benchmarks_name_the_interpreter_they_time(script: str, argv: list[str] | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The same code ran 5-15 % faster on an optimized build of CPython than on a plain one: a
    table's script prints the interpreter its commands run on (the one beside the script's: its
    version and the installation its virtual environment was made from) before anything else."""
    processes = _load("processes")
    line = processes.interpreter()
    assert platform.python_version() in line and line.endswith(f" from {sys.base_prefix}")

    class Stop(Exception):
        pass

    def stop(*_args: object, **_kwargs: object) -> None:
        raise Stop

    module = _load(script)
    monkeypatch.setattr(module, "precompile", lambda: None)
    if script == "run":
        monkeypatch.setattr(module, "shared_bench_dir", stop)  # (what it looks at right after)
        call = partial(module.main, ["--sizes", "10", "--runs", "1"])
    else:
        monkeypatch.setattr(module.subprocess, "run", stop)  # (the bank's generation, its first command)
        monkeypatch.setattr(sys, "argv", argv)
        call = module.main
    with pytest.raises(Stop):
        call()
    assert capsys.readouterr().out.splitlines()[0] == line


@pytest.mark.parametrize("script", ["run", "build_bench"])
def test_timed_commands_run_without_the_caches(script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmarks compare whole runs (with a peer, or with each other): the check and fragment
    caches, on by default, would make every run after the first a warm one."""
    monkeypatch.delenv("ITEMBANK_NO_CACHE", raising=False)  # as a user runs them (the tests turn the caches off)
    module = _load(script)
    probe = [sys.executable, "-c", "import os, sys; sys.exit(0 if os.environ.get('ITEMBANK_NO_CACHE') == '1' else 3)"]
    if script == "run":
        assert module.run_process(probe, tmp_path, tmp_path / "log").rc == 0
    else:
        module.timed(probe)  # exits the benchmark (SystemExit) when the command fails


def test_the_reference_validator_gets_the_files_itembank_validates(tmp_path: Path) -> None:
    """check-jsonschema is given the item files only: not the check cache's packs (JSON with a
    header line, which it cannot read), nor media or assessments."""
    import shutil

    bank = tmp_path / "bank"
    shutil.copytree(ROOT / "items", bank, ignore=shutil.ignore_patterns(".itembank-cache"))
    (bank / ".itembank-cache" / "v1" / "items").mkdir(parents=True)
    (bank / ".itembank-cache" / "v1" / "items" / "ab.json").write_text('{"header": 1}\n{}', encoding="utf-8")
    files = _load("run").bank_files(bank)
    assert files and not [f for f in files if ".itembank-cache" in f or f.startswith(("media/", "assessments/"))]


def test_the_benchmarks_time_the_package_with_its_bytecode_written() -> None:
    """Where PYTHONDONTWRITEBYTECODE is set, every timed process compiled the whole package again
    (~0.5 s of CPU on a slow day): the benchmarks write the bytecode first, as Python does on a
    user's machine at the first run."""
    precompile = _load("precompile")
    precompile.precompile()
    folders = precompile.package_folders()
    assert {f.name for f in folders} == {"itembank", "exporters"}
    modules = [p for folder in folders for p in folder.rglob("*.py")]
    assert len(modules) > 100
    stale = [p for p in modules if not Path(importlib.util.cache_from_source(str(p))).is_file()]
    assert stale == []
    for script in ("run", "build_bench", "incremental_bench", "edit_ab", "cores_busy"):
        assert "    precompile()" in (BENCH / f"{script}.py").read_text(encoding="utf-8")


def test_build_timeline_lists_every_export_of_the_build_with_its_cpu(tmp_path: Path) -> None:
    """benchmarks/build_timeline.py wraps an internal function of the build (it stops if the name
    goes): each export of the build is on a line of its own, in workers and in one process."""
    import subprocess

    from itembank.formats import registry

    for jobs in ("2", "1"):
        run = subprocess.run([sys.executable, str(BENCH / "build_timeline.py"), str(ROOT / "tests/banks/all-types"), "--jobs", jobs],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert lines[0].startswith("imports ") and "(13 items)" in lines[0]
        listed = [line.split()[0] for line in lines if re.match(r"  \S+ +\d+ +[\d.]+ +[\d.]+  user ", line)]
        assert sorted(listed) == sorted(registry()), run.stdout
        assert lines[-1].startswith("CPU: this process user ")
    # --cache uses both caches even where the environment turns them off (as this suite's does).
    import shutil

    bank = tmp_path / "bank"
    shutil.copytree(ROOT / "tests/banks/all-types", bank)
    run = subprocess.run([sys.executable, str(BENCH / "build_timeline.py"), str(bank), "--jobs", "1", "--cache"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "ITEMBANK_NO_CACHE": "1"})
    assert run.returncode == 0, run.stderr
    assert (bank / ".itembank-cache" / "v1" / "checks.json").is_file() and any((bank / ".itembank-cache" / "v1" / "fragments").iterdir())


def test_cores_busy_reads_the_kernels_counters_and_reports_each_interval(tmp_path: Path) -> None:
    """benchmarks/cores_busy.py: the busy share of two readings of the counters, and a run that
    builds a bank and prints the build's CPU, the busy and idle core-seconds and one figure per interval."""
    import subprocess

    cores_busy = _load("cores_busy")
    assert cores_busy.busy_share((100, 1000), (150, 1200)) == 0.75  # 50 of 200 ticks idle
    assert cores_busy.busy_share((100, 1000), (100, 1000)) == 0.0  # no tick between the readings
    if not cores_busy.STAT.is_file():
        pytest.skip("no /proc/stat here")
    idle, total = cores_busy.counters()
    assert 0 <= idle <= total
    run = subprocess.run([sys.executable, str(BENCH / "cores_busy.py"), str(ROOT / "tests/banks/all-types"), "--interval", "0.05"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].endswith("-j 2, without the caches") and lines[1] == "run 1:"
    wall = float(re.match(r"wall ([\d.]+) s; the build's CPU ([\d.]+) s", lines[2]).group(1))  # type: ignore[union-attr]
    assert re.match(r"the machine's \d+ cores: busy [\d.]+ of [\d.]+ core-seconds \([\d.]+ %\), idle -?[\d.]+$", lines[3]), lines[3]
    figures = lines[4].split(": ", 1)[1].split()
    assert 1 <= len(figures) <= wall / 0.05 + 1 and all(0 <= float(f) <= (os.cpu_count() or 1) for f in figures)  # one per interval
    failing = subprocess.run([sys.executable, str(BENCH / "cores_busy.py"), str(tmp_path / "no-bank")], capture_output=True, text=True, timeout=300)
    assert failing.returncode != 0 and "the build failed" in failing.stderr
    # A command that writes more on stderr than a pipe holds is not stalled (it was, on a pipe).
    probe = "import sys; sys.stderr.write('x' * 400_000 + 'END'); sys.exit(3)"
    run, shares = cores_busy.sampled([sys.executable, "-c", probe], os.environ.copy(), 0.05)
    assert run.code == 3 and run.stderr.endswith("xEND") and len(run.stderr) == 2000 and shares


def test_incremental_bench_runs_its_commands_with_the_cache_whatever_the_environment_says(monkeypatch) -> None:
    """The rows that measure the cache must use it: a caller's ITEMBANK_NO_CACHE=1 (this suite sets
    it) would turn it off in them; the rows without the cache say --no-cache."""
    monkeypatch.setenv("ITEMBANK_NO_CACHE", "1")
    bench = _load("incremental_bench")
    probe = [sys.executable, "-c", "import os, sys; sys.exit(3 if 'ITEMBANK_NO_CACHE' in os.environ else 0)"]
    bench.timed(probe)  # raises SystemExit (FAILED) when the command sees the variable


def test_edit_ab_runs_both_arms_in_turn_and_compares_them(tmp_path: Path) -> None:
    """benchmarks/edit_ab.py on a small generated bank, against itself and against HEAD (checked out in
    a worktree that is removed after): every round times both arms, the order swaps from round to
    round, and the summary gives both arms' medians and their ratio."""
    import subprocess

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for which in (["--same"], ["--base", "HEAD"]):
        out = tmp_path / which[-1].strip("-")
        run = subprocess.run(
            [sys.executable, str(BENCH / "edit_ab.py"), *which, "--size", "12", "--rounds", "2", "--warm", "1", "--jobs", "1", "--out", str(out)],
            capture_output=True, text=True, timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        rounds = [line for line in run.stdout.splitlines() if line.lstrip().startswith("round ")]
        firsts = [m.group(1) for r in rounds if (m := re.search(r"\((base|this) first\)", r))]
        assert len(rounds) == 2 and sorted(firsts) == ["base", "this"], run.stdout
        assert all(re.search(r"base [\d.]+ s \([\d.]+ CPU\), this [\d.]+ s \([\d.]+ CPU\)$", r) for r in rounds), run.stdout
        summary = {line.split("|")[0].strip() for line in run.stdout.splitlines() if "|" in line}
        assert {"base", "this"} <= summary, run.stdout
        assert re.search(r"^this / base \(median wall\): [\d.]+$", run.stdout, re.M), run.stdout
        assert (out / "ab-bank-base").is_dir() and (out / "ab-bank-this").is_dir()
    worktrees = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True).stdout
    assert str(tmp_path) not in worktrees  # the base's worktree is gone
    assert (tmp_path / "same" / "ab-bank-this" / ".itembank-cache").is_dir()  # builds with the caches fill them
    # --no-cache: the builds run without the caches (none is made in either bank), and say so.
    out = tmp_path / "no-cache"
    run = subprocess.run(
        [sys.executable, str(BENCH / "edit_ab.py"), "--same", "--no-cache", "--size", "12", "--rounds", "2", "--warm", "0", "--jobs", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "build -j 1 without the caches" in run.stdout and len(re.findall(r"^\s*round ", run.stdout, re.M)) == 2, run.stdout
    assert not any((out / f"ab-bank-{arm}" / ".itembank-cache").exists() for arm in ("base", "this"))


def test_the_benchmarks_time_a_process_and_set_the_caches_one_way(monkeypatch) -> None:
    """benchmarks/processes.py: what edit_ab, incremental_bench, build_bench and build_timeline share.
    A child sees the caches' switch as asked, whatever the caller's environment says; its exit code,
    stderr and own CPU come back."""
    monkeypatch.setenv("ITEMBANK_NO_CACHE", "1")
    processes = _load("processes")
    probe = "import os, sys; print(os.environ.get('ITEMBANK_NO_CACHE', '-'), file=sys.stderr); sum(range(3_000_000)); sys.exit(4)"
    on = processes.measure([sys.executable, "-c", probe], env=processes.environment(no_cache=False))
    off = processes.measure([sys.executable, "-c", probe], env=processes.environment(no_cache=True, EXTRA="x"))
    assert (on.code, on.stderr.strip(), off.stderr.strip()) == (4, "-", "1")
    problem = on.failed("the probe")
    assert problem is not None and problem.startswith("FAILED (exit 4): the probe\n") and problem.endswith("-\n")
    assert on.failed("the probe", ok=(4,)) is None
    assert on.cpu > 0 and on.wall >= on.cpu * 0.5 and on.peak_mb > 1
    env = {"ITEMBANK_NO_CACHE": "1", "A": "b"}
    assert processes.cache_mode(env, no_cache=False) is env and env == {"A": "b"}


def test_build_bench_growth_divides_by_the_smaller_runs_on_either_side() -> None:
    """The 100,000-item build against the 10,000-item ones run just before and just after it (a machine
    whose speed drifts): each ratio, and the one against their geometric mean; a command measured at
    one size only has no line."""
    growth = _load("build_bench").growth
    lines = growth([
        (10, "build", 2.0, 4.0), (10, "validate", 1.0, 1.0),
        (100, "build", 36.0, 36.0), (100, "lint", 5.0, 5.0),
        (10, "build", 4.5, 9.0),
    ])
    assert len(lines) == 1 and lines[0].startswith("growth 100 / 10 items, build: ")
    # wall: 36 / 2 = 18x, 36 / 4.5 = 8x, 36 / sqrt(2 * 4.5) = 12x; CPU: 9x, 4x, 36 / 6 = 6x
    assert "wall 12.0x (18.0x / 8.0x against the run before and run after)" in lines[0]
    assert "CPU 6.0x (9.0x / 4.0x against the run before and run after)" in lines[0]
    only_before = growth([(10, "build", 2.0, 2.0), (100, "build", 22.0, 30.0)])
    assert only_before == ["growth 100 / 10 items, build: wall 11.0x (11.0x against the run before); CPU 15.0x (15.0x against the run before)"]


def test_incremental_bench_adds_an_item_before_every_other_and_removes_the_first_one(tmp_path: Path, gen_bank: Path) -> None:
    """The rows "1 item added first" and "first item removed": the bank stays valid, the added item
    comes first in the bank's order (every later row, question and page moves), the removed one is
    the first, and restore() gives back the very files."""
    import shutil

    from itembank import api

    bank = tmp_path / "bank"
    shutil.copytree(gen_bank, bank)
    _mover_adds_and_removes_the_first_item(bank, [i.id for i in api.load_bank(bank).items])


def _mover_adds_and_removes_the_first_item(bank: Path, ids: list[str]) -> None:
    """incremental_bench's Mover on ``bank`` (whose items are ``ids``, in order): the added item
    comes before every other, the removed one is the first; restore() gives back the very files."""
    from itembank import api

    before = _tree(bank)
    mover = _load("incremental_bench").Mover(bank)
    mover.add()
    added = api.load_bank(bank).items
    assert added[0].id == "added-first" and [i.id for i in added[1:]] == ids
    mover.restore()
    assert _tree(bank) == before
    mover.remove()
    assert [i.id for i in api.load_bank(bank).items] == ids[1:]
    mover.restore()
    assert _tree(bank) == before


def test_incremental_bench_groups_items_into_files_of_several_and_still_edits_adds_and_removes(tmp_path: Path, gen_bank: Path) -> None:
    """--per-file K: the same items in the same order, K to a file (items: lists); the editor changes
    the first item's title alone, the mover adds a copy before every other and removes the first item
    from its file of several; restore() gives back the very files."""
    import shutil

    from itembank import api

    bench = _load("incremental_bench")
    bank = tmp_path / "bank"
    shutil.copytree(gen_bank, bank)
    first = api.load_bank(bank).items
    bench.grouped(bank, 3)
    files = sorted(p for p in bank.rglob("*.yaml") if p.name != "itembank.yaml")
    loaded = api.load_bank(bank).items
    assert [i.id for i in loaded] == [i.id for i in first] and [i.stem for i in loaded] == [i.stem for i in first]
    assert len(files) < len(first) and max(sum(1 for i in loaded if i.location.path == f.relative_to(bank).as_posix()) for f in files) == 3
    before = _tree(bank)

    editor = bench.Editor(bank)
    editor.edit()
    edited = api.load_bank(bank).items
    changed = [(a.id, b.title) for a, b in zip(loaded, edited) if a.title != b.title]
    assert len(changed) == 1 and changed[0][1].startswith("Edited 1 ")
    editor.restore()
    assert _tree(bank) == before

    _mover_adds_and_removes_the_first_item(bank, [i.id for i in loaded])
