"""The second core: a share of validate's and lint's work in a forked child (``itembank.forked``).

Whatever the child does, the findings must be those of one process: the same problems, in the same
order.  The thresholds (2,000 files or items) are lowered here so that small banks take the forked
path, and each test checks that a child really ran.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from itembank import forked, validate
from itembank.cache import CACHE_DIR, ENV_OFF
from itembank.lint import engine, lint_bank
from itembank.lint.registry import LINT_RULES
from itembank.validate import check_bank

CASES = Path(__file__).parent / "lint_cases"
BANKS = Path(__file__).parent / "banks"

pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="needs fork, a second core and no other thread")


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[forked.Child[object]]:
    """Every Child started (for the tests' checks that the forked path ran); thresholds lowered."""
    started: list[forked.Child[object]] = []
    original = forked.Child._start

    def start(self: forked.Child[object], *how: object) -> None:
        original(self, *how)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(forked.Child, "_start", start)
    monkeypatch.setattr(validate, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_ITEMS", 1)
    return started


def test_child_returns_what_work_returned() -> None:
    with forked.Child(lambda: {"pid": os.getpid(), "data": [1, "two", None]}) as child:
        done, value = child.result()
    assert done and value is not None
    assert value["data"] == [1, "two", None] and value["pid"] != os.getpid()


def test_child_that_fails_or_dies_gives_no_result() -> None:
    def boom() -> None:
        raise ValueError("in the child")

    with forked.Child(boom) as child:
        assert child.result() == (False, None)

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    with forked.Child(die) as child:
        assert child.result() == (False, None)


def test_a_large_result_comes_back_whole_and_one_cut_short_gives_none() -> None:
    """A child's value is pickled into the data file as it is made and unpickled from it: megabytes
    come back intact; a child that dies half way through sending its value gives no result."""
    pages = [bytes([n]) * (1 << 20) for n in range(8)]
    with forked.Child(lambda: pages) as child:
        assert child.result() == (True, pages)

    class DiesWhenSent:
        def __reduce__(self) -> tuple[object, ...]:
            os.kill(os.getpid(), signal.SIGKILL)
            raise AssertionError("unreachable")

    with forked.Child(lambda: [*pages, DiesWhenSent()]) as dying:
        assert dying.result() == (False, None)


def test_child_not_asked_is_stopped_and_reaped() -> None:
    child = forked.Child(lambda: signal.pause())
    pid = child._pid
    assert pid is not None
    child.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already waited for: no zombie left
    assert child.result() == (False, None)


def test_jobs_env_turns_forking_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.ENV_JOBS, "1")
    assert not forked.can_fork()


def test_no_fork_while_another_thread_runs() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.can_fork()
    finally:
        stop.set()
        thread.join()
    assert forked.can_fork()


def _image_item(item_id: str, image: str) -> str:
    return (
        f"id: {item_id}\ntype: multiple_choice\nstem: 'Which curve is shown? ![A loss curve falling]({image})'\n"
        "options:\n  - id: a\n    text: Loss\n    correct: true\n  - id: b\n    text: Accuracy\n  - id: c\n    text: Recall\n"
    )


def _mixed_bank(tmp_path: Path) -> Path:
    """Items of every type, lint cases, an invalid file, a duplicate id, and image names that differ
    only in case on both sides of the child's share (the child cannot know the first spelling)."""
    bank = tmp_path / "bank"
    shutil.copytree(BANKS / "all-types", bank)
    for case in sorted(CASES.glob("IB5[0-4]*")):
        for name in ("trigger.yaml", "ok.yaml"):
            shutil.copy(case / name, bank / f"case-{case.name.lower()}-{name}")
    (bank / "media").mkdir(exist_ok=True)
    (bank / "media" / "Curve.png").write_bytes(b"png")
    (bank / "media" / "curve.png").write_bytes(b"png")
    (bank / "aaa-first.yaml").write_text(_image_item("img-first", "media/Curve.png"), encoding="utf-8")
    (bank / "zzz-twin.yaml").write_text(_image_item("img-twin", "media/curve.png"), encoding="utf-8")
    (bank / "zzz-missing.yaml").write_text(_image_item("img-missing", "media/nothing.png"), encoding="utf-8")
    (bank / "zzz-broken.yaml").write_text("id: broken\ntype: multiple_choice\nstem: [oops\n", encoding="utf-8")
    shutil.copy(bank / "case-ib501-ok.yaml", bank / "zzz-same-id.yaml")
    files = [p.name for p in validate.discover(bank.resolve())]
    cut = validate.share_cut(len(files))
    assert files.index("aaa-first.yaml") < cut <= files.index("zzz-twin.yaml")  # each side of the share
    return bank


def test_validate_with_a_child_finds_what_one_process_finds(
    tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = _mixed_bank(tmp_path)
    shared = check_bank(bank, jobs=None)
    assert children, "no child was forked"
    monkeypatch.setenv(forked.ENV_JOBS, "1")
    alone = check_bank(bank)
    assert shared.problems == alone.problems
    assert shared.items == alone.items
    codes = {p.code for p in alone.problems}
    assert {"IB223", "IB211", "IB010", "IB201"} <= codes  # the cases this bank is made of
    twin = next(p for p in alone.problems if p.code == "IB223")
    assert "media/Curve.png" in twin.message and twin.file.endswith("zzz-twin.yaml")


def test_validate_falls_back_when_the_child_fails(tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch) -> None:
    bank = _mixed_bank(tmp_path)
    monkeypatch.setenv(forked.ENV_JOBS, "1")
    alone = check_bank(bank)
    monkeypatch.delenv(forked.ENV_JOBS)

    def fail(*args: object) -> None:
        raise RuntimeError("the child's share fails")

    monkeypatch.setattr(validate, "_check_share", fail)
    shared = check_bank(bank, jobs=None)
    assert children, "no child was forked"
    assert shared.problems == alone.problems and shared.items == alone.items


def test_validate_when_the_child_dies_half_way(tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The frames that arrived are used; the files after them are checked here."""
    bank = _mixed_bank(tmp_path)
    alone = check_bank(bank)
    parent = os.getpid()
    monkeypatch.setattr(validate, "SHARE_FRAME", 2)
    read, check = validate.read_document, validate.check_document
    in_child: list[Path] = []
    here: list[str] = []

    def dying_read(path: Path, rel: str) -> object:
        if os.getpid() != parent:
            in_child.append(path)
            if len(in_child) > 5:
                os._exit(7)  # after two frames of two files
        return read(path, rel)

    def counted_check(doc: object, ctx: object, schema: object) -> object:
        if os.getpid() == parent:
            here.append(doc.rel)  # type: ignore[attr-defined]
        return check(doc, ctx, schema)  # type: ignore[arg-type]

    monkeypatch.setattr(validate, "read_document", dying_read)
    monkeypatch.setattr(validate, "check_document", counted_check)
    shared = check_bank(bank, jobs=None)
    assert children, "no child was forked"
    assert shared.problems == alone.problems and shared.items == alone.items
    assert len(here) == shared.files - 4  # the child's first four files came from its frames


def _cache_files(bank: Path) -> dict[str, bytes]:
    """The check cache's files (the fragment packs aside: no export ran)."""
    top = bank / CACHE_DIR
    return {str(p.relative_to(top)): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


def _filled_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any, dict[str, bytes]]:
    """The mixed bank with the check cache turned on; what one process finds on it with an empty
    cache and the cache files it fills; the cache then removed again and forking allowed."""
    bank = _mixed_bank(tmp_path)
    shutil.rmtree(bank / CACHE_DIR, ignore_errors=True)  # (a cache of the copied bank, if a run made one)
    monkeypatch.delenv(ENV_OFF, raising=False)  # the tests' default turns the cache off
    monkeypatch.setenv(forked.ENV_JOBS, "1")
    alone = check_bank(bank, cache=True)
    filled_alone = _cache_files(bank)
    shutil.rmtree(bank / CACHE_DIR)
    monkeypatch.delenv(forked.ENV_JOBS)
    return bank, alone, filled_alone


def test_an_empty_cache_is_filled_with_a_child_as_one_process_fills_it(
    tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first run with the cache (a fresh clone in CI) shares the checking as a run without it does:
    the same findings and items, and the same cache, whose next run finds every file in it."""
    bank, alone, filled_alone = _filled_alone(tmp_path, monkeypatch)
    shared = check_bank(bank, cache=True, jobs=None)
    assert len(children) == 1, "no child was forked"
    assert shared.problems == alone.problems and shared.items == alone.items
    assert _cache_files(bank) == filled_alone
    children.clear()
    warm = check_bank(bank, cache=True, jobs=None)
    assert not children  # a cache that knows the files is read here: the child would have nothing to do
    assert warm.problems == alone.problems and warm.items == alone.items


def test_an_empty_cache_when_the_child_dies_half_way(
    tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files the child did not send are checked here, and kept in the cache all the same."""
    bank, alone, filled_alone = _filled_alone(tmp_path, monkeypatch)
    parent = os.getpid()
    monkeypatch.setattr(validate, "SHARE_FRAME", 2)
    read = validate.read_document
    in_child: list[Path] = []

    def dying_read(path: Path, rel: str, raw: bytes | None = None) -> object:
        if os.getpid() != parent:
            in_child.append(path)
            if len(in_child) > 5:
                os._exit(7)  # after two frames of two files
        return read(path, rel, raw)

    monkeypatch.setattr(validate, "read_document", dying_read)
    shared = check_bank(bank, cache=True, jobs=None)
    assert len(children) == 1, "no child was forked"
    assert shared.problems == alone.problems and shared.items == alone.items
    assert _cache_files(bank) == filled_alone


@pytest.mark.parametrize("bank", ["all-types", "html-edge", "calculated"] + [f"lint:{c.name}" for c in sorted(CASES.glob("IB55*"))])
def test_lint_with_a_child_finds_what_one_process_finds(bank: str, children: list[forked.Child[object]]) -> None:
    root = CASES / bank[5:] / "trigger" if bank.startswith("lint:") else BANKS / bank
    loaded = check_bank(root).bank()
    one = lint_bank(loaded)
    assert not children
    shared = lint_bank(loaded, jobs=None)
    assert children, "no child was forked"
    assert shared == one


def test_lint_of_every_case_with_a_child(tmp_path: Path, children: list[forked.Child[object]]) -> None:
    bank = _mixed_bank(tmp_path)
    loaded = check_bank(bank).bank()
    assert not children  # the library's default: one process
    shared = lint_bank(loaded, jobs=None)
    assert children
    one = lint_bank(loaded, jobs=1)
    assert shared == one
    assert {p.code for p in one} >= {"IB501", "IB502", "IB503", "IB504", "IB510", "IB514"}


def test_lint_with_a_memo_shares_only_the_bank_rules(tmp_path: Path, children: list[forked.Child[object]]) -> None:
    """With a memo (the review workbook's fragment cache) every item is linted here, through the
    memo, and a child runs the bank rules alone: the same findings as one process, and no item rule
    runs in the child (its findings would not reach the memo)."""
    bank = _mixed_bank(tmp_path)
    shutil.copy(CASES / "IB553" / "trigger" / "items.yaml", bank / "near-duplicates.yaml")
    loaded = check_bank(bank).bank()
    one = lint_bank(loaded, jobs=1)
    bank_codes = {code for code, r in LINT_RULES.items() if r.scope == "bank"}
    assert any(p.code in bank_codes for p in one)  # a bank rule found something: the child's share is not empty
    asked: list[tuple[str, int]] = []

    def memo(item: Any, make: Any) -> Any:
        asked.append((item.id, os.getpid()))
        return make()

    assert lint_bank(loaded, jobs=None, memo=memo) == one
    assert children, "no child was forked"
    live = [i.id for i in loaded.items if i.status != "retired"]
    assert asked == [(i, os.getpid()) for i in live]  # every item, in order, in this process
    asked.clear()
    children.clear()
    assert lint_bank(loaded, jobs=None, memo=memo, bank_rules=False) == [p for p in one if p.code not in bank_codes]
    assert not children  # no bank rules: nothing for a child to do


def test_lint_falls_back_when_the_child_dies(tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = check_bank(_mixed_bank(tmp_path)).bank()
    one = lint_bank(loaded, jobs=1)
    monkeypatch.setattr(forked.pickle, "dumps", lambda *a, **k: os._exit(3))  # only the child pickles
    assert lint_bank(loaded, jobs=None) == one


def test_the_cli_shares_the_work_and_reports_the_same(tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from itembank.cli import main

    bank = str(_mixed_bank(tmp_path))
    monkeypatch.setenv("ITEMBANK_NO_CACHE", "1")  # the check cache is read in one process
    outputs: dict[tuple[str, str], str] = {}
    for jobs in ("", "1"):
        monkeypatch.setenv(forked.ENV_JOBS, jobs)
        children.clear()
        for args in (["lint"], ["validate", "--lint"], ["validate"]):
            run = CliRunner().invoke(main, [*args, "--bank", bank, "--format", "json"])
            assert run.exit_code == 1, run.output  # the bank holds invalid files
            outputs[jobs, args[-1]] = run.output
        assert len(children) == (5 if jobs == "" else 0)  # lint: 2, validate --lint: 2, validate: 1
    for command in ("lint", "--lint", "validate"):
        assert outputs["", command] == outputs["1", command]


def test_a_bank_of_few_files_of_many_items_is_shared_by_bytes(tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer files than PARALLEL_MIN_FILES, but PARALLEL_MIN_BYTES in them: a child checks the last
    ones (the cut by bytes: ~35% here), a frame every SHARE_FRAME items; the same findings and items
    as one process."""
    monkeypatch.setattr(validate, "PARALLEL_MIN_FILES", 10**6)
    monkeypatch.setattr(validate, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(validate, "SHARE_FRAME", 3)
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: Files of many\n", encoding="utf-8")
    sizes = {"a.yaml": 4, "b.yaml": 9, "c.yaml": 2, "d.yaml": 12}
    for name, count in sizes.items():
        entries = "".join(
            f"  - id: {name[0]}{n}\n    type: true_false\n    stem: Statement {name[0]}{n} holds?\n    answer: {'true' if n % 2 else 'false'}\n    rationale: Because. # cut\n"
            for n in range(count)
        )
        (bank / name).write_text("items:\n" + entries, encoding="utf-8")
    (bank / "d.yaml").write_text((bank / "d.yaml").read_text(encoding="utf-8").replace("id: d3", "id: a1"), encoding="utf-8")  # a duplicate id across the cut
    files = validate.discover(bank.resolve())
    cut = validate.share_cut_by_size([p.stat().st_size for p in files])
    assert [p.name for p in files[:cut]] == ["a.yaml", "b.yaml"]  # 13 of 27 items' bytes: past 35%
    shared = check_bank(bank, jobs=None)
    assert children, "no child was forked"
    monkeypatch.setenv(forked.ENV_JOBS, "1")
    alone = check_bank(bank)
    assert shared.problems == alone.problems and any(p.code == "IB201" for p in alone.problems) and any(p.code == "IB321" for p in alone.problems)
    assert shared.items == alone.items and len(alone.items) == 26


def test_share_cut_by_size_leaves_each_side_a_file() -> None:
    assert validate.share_cut_by_size([100, 1]) == 1
    assert validate.share_cut_by_size([1, 100]) == 1
    assert validate.share_cut_by_size([10] * 20) == 7
    assert validate.share_cut_by_size([1, 1, 1, 97]) == 3


def test_validate_of_given_files_shares_the_bank_with_a_child_and_finds_what_one_process_finds(
    tmp_path: Path, children: list[forked.Child[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`itembank validate FILE` without the cache (a pre-commit hook on a fresh clone): the rest of the
    bank, checked for the cross-file rules, is shared with a child too; the findings of the files
    given (a duplicate of an id the child's share holds among them) are one process's."""
    bank = _mixed_bank(tmp_path)
    given = [bank / "case-ib501-ok.yaml", bank / "zzz-missing.yaml"]
    shared = validate.check_paths(given, root=bank, within_bank=True, jobs=None)
    assert children, "no child was forked"
    monkeypatch.setenv(forked.ENV_JOBS, "1")
    alone = validate.check_paths(given, root=bank, within_bank=True, jobs=None)
    assert shared.problems == alone.problems and shared.items == alone.items
    codes = {p.code for p in alone.problems}
    assert "IB201" in codes and "IB211" in codes, codes  # the id the child's file repeats; the given file's missing image
