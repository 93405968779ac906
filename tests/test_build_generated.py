"""Generated banks (hypothesis) through the build's speed machinery (issue 13): the work shared out
over forked processes, and the fragment cache after an edit, give the bytes of one plain process.

The share-outs start at 1,000 items (or 2,000 files) in real use, so the examples of the other tests
(a bank of ten items) never take them; here every threshold is 0 or 1, every share-out of every
format, of the checking, the lint column and the audits runs on banks of every type with hostile
texts (code, math, links, images, cloze blanks), and each is shown to have run.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import first_difference
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import GeneratedBank, banks, dump_yaml, items, write_bank

from itembank import api, build, load_bank
from itembank.errors import ItembankError
from itembank.forked import fork_safe
from itembank.formats import ExportResult, registry
from itembank.fragments import Fragments
from itembank.validate import check_bank

EXAMPLES = {"long": 60}.get(settings.get_current_profile_name(), 4)
GENERATED = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: The modules that share work out from a threshold of items, and that threshold's name.
SHARING = {
    "itembank.exporters.qti.package": "PARALLEL_FROM",
    "itembank.exporters.xlsx.workbook": "PARALLEL_FROM",
    "itembank.exporters.html.site": "PARALLEL_FROM",
    "itembank.exporters.kit.ahead": "PARALLEL_FROM",
    "itembank.audit": "PARALLEL_FROM",
}

#: The formats whose output the audit reads item by item (shared out: the others are read whole).
AUDITED_BY_ITEM = {"canvas", "gift", "markdown", "moodle", "qti21", "qti30", "xlsx"}


@contextmanager
def every_share_forced() -> Iterator[dict[str, list[Any]]]:
    """Every share-out from one item (one file) on; yields, by module, the shares each of its
    ``shared_out`` calls made and the tasks it was given (in this process: a worker's calls are not
    seen), and under ``"validate"`` the files each forked check of the bank gave its child, under
    ``"lint"`` a 1 for each forked lint."""
    from itembank import validate
    from itembank.lint import engine

    seen: dict[str, list[Any]] = {name: [] for name in [*SHARING, "validate", "lint"]}
    with pytest.MonkeyPatch.context() as mp:
        for name, threshold in SHARING.items():
            module = importlib.import_module(name)
            mp.setattr(module, threshold, 1 if name.endswith("ahead") else 0)
            real = module.shared_out

            def counting(work: Any, tasks: Any, jobs: int, real: Callable[..., Any] = real, name: str = name) -> Any:
                out = real(work, tasks, jobs)
                seen[name].append((len(out), len(tasks)))
                return out

            mp.setattr(module, "shared_out", counting)
        mp.setattr(importlib.import_module("itembank.exporters.kit.ahead"), "BLOCK", 3)  # blocks of 3 questions
        mp.setattr(validate, "PARALLEL_MIN_FILES", 1)
        mp.setattr(validate, "SHARE_FRAME", 2)
        share = validate._Share

        class CountedShare(share):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                seen["validate"].append(len(args[0]) - self.cut)  # the files the child checks

        mp.setattr(validate, "_Share", CountedShare)
        mp.setattr(engine, "PARALLEL_MIN_ITEMS", 1)
        child = engine.Child

        def counted_child(work: Any) -> Any:
            seen["lint"].append(1)
            return child(work)

        mp.setattr(engine, "Child", counted_child)
        yield seen


def _valid(generated: GeneratedBank, folder: Path) -> Path:
    root = write_bank(generated, folder)
    assume(not any(p.severity == "error" for p in check_bank(root).problems))  # (a drawn number validation refuses, IB224)
    return root


def _forking(generated: GeneratedBank, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bank written (see :func:`_valid`), for a test of what forked processes do: skipped where
    this process may not fork (nothing would be shared out)."""
    if not fork_safe():
        pytest.skip("this process may not fork: nothing is shared out")
    return _valid(generated, tmp_path_factory.mktemp("bank"))


def _account(result: ExportResult) -> tuple[Any, ...]:
    return (result.summary(), result.written, result.skipped, result.notes)


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _same_folders(one: Path, two: Path) -> None:
    a, b = _digests(one), _digests(two)
    assert len(a) > 10
    assert a == b, "; ".join(
        first_difference(*((side / n).read_bytes() if (side / n).is_file() else None for side in (one, two)), n)
        for n in sorted(set(a) | set(b))
        if a.get(n) != b.get(n)
    )


@GENERATED
@given(generated=banks(min_items=10, max_items=14, every_type=True))
def test_every_format_shared_out_over_processes_is_the_export_of_one_process(tmp_path_factory: pytest.TempPathFactory, generated: GeneratedBank) -> None:
    root = _forking(generated, tmp_path_factory)
    bank = load_bank(root, jobs=1)
    with every_share_forced() as seen:
        shared_bank = load_bank(root, jobs=2)
        assert seen["validate"] and seen["validate"][0] > 0, "a child checked none of the files"
        assert shared_bank == bank
        for fmt, exporter in registry().items():
            try:
                plain = api.export(bank, fmt, jobs=1)
            except ItembankError as refused:  # the export refuses the bank (its audit): over processes too
                with pytest.raises(ItembankError) as shared:
                    api.export(shared_bank, fmt, jobs=2)
                assert str(shared.value) == str(refused)
                continue
            for calls in seen.values():
                calls.clear()
            two = api.export(shared_bank, fmt, jobs=2)
            assert two.data == plain.data, first_difference(two.data, plain.data, fmt)
            assert two.files == plain.files, fmt
            assert _account(two) == _account(plain), fmt
            # every share-out made as many shares as it could (two processes, or one for one task)
            assert all(shares == max(1, min(2, tasks)) for name in SHARING for shares, tasks in seen[name]), (fmt, seen)
            made = [shares for name in SHARING if name != "itembank.audit" for shares, _tasks in seen[name]]
            if vars(type(exporter)).get("shares_out"):
                assert max(made, default=1) > 1, (fmt, seen)  # the export's own work was shared out
            if fmt in AUDITED_BY_ITEM:
                assert seen["itembank.audit"], (fmt, "the audit did not read the output over processes")
            if fmt == "xlsx":
                assert seen["lint"], "the lint column was not shared with a child"


@GENERATED
@given(generated=banks(min_items=10, max_items=14, every_type=True))
def test_a_build_over_workers_with_every_share_forced_is_the_build_of_one_process(tmp_path_factory: pytest.TempPathFactory, generated: GeneratedBank) -> None:
    root = _forking(generated, tmp_path_factory)
    out = tmp_path_factory.mktemp("out")
    one = build(load_bank(root, jobs=1), out / "one", jobs=1)
    with every_share_forced():
        two = build(load_bank(root, jobs=2), out / "two", jobs=2)
    assert one.workers == 1 and two.workers == 2
    _same_folders(out / "one", out / "two")
    assert [(n, _account(r)) for n, _p, r in one.outputs] == [(n, _account(r)) for n, _p, r in two.outputs]


_EDITS = ("replace", "add", "remove", "retitle")


@pytest.mark.parametrize("kind", _EDITS)
@GENERATED
@given(generated=banks(min_items=8, max_items=12, every_type=True), edit=st.tuples(st.integers(0, 50), items()), jobs=st.sampled_from([1, 2]))
def test_a_build_from_the_cache_after_a_generated_edit_is_a_clean_build(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, kind: str, generated: GeneratedBank, edit: tuple[int, Any], jobs: int
) -> None:
    """The check cache and the fragment cache filled by a build, one file of the bank changed (an item
    replaced by another, a file added or removed, an item's title changed), the next build with both
    caches warm: the bytes of a build without any cache, each output's account too."""
    monkeypatch.delenv("ITEMBANK_NO_CACHE", raising=False)
    root = _valid(generated, tmp_path_factory.mktemp("bank"))
    out = tmp_path_factory.mktemp("out")
    build(load_bank(root, cache=True), out / "first", jobs=jobs, cache=True)  # fills both caches
    n, item = edit
    files = sorted(root.glob("part-*.yaml"))
    target = files[n % len(files)]
    if kind == "replace":
        target.write_text(dump_yaml(item), encoding="utf-8")
    elif kind == "add":
        (root / "part-zz-new.yaml").write_text(dump_yaml(item), encoding="utf-8")
    elif kind == "remove":
        assume(len(files) > 1)
        target.unlink()
    else:
        text = target.read_text(encoding="utf-8")
        assume("title: " in text)
        target.write_text(text.replace("title: ", "title: Edited ", 1), encoding="utf-8")
    checked = check_bank(root)
    assume(not any(p.severity == "error" for p in checked.problems))  # (a replaced id taken twice: IB201)
    assert any((root / ".itembank-cache" / "v1" / "fragments").glob("*.pack")), "the first build kept no pieces"
    kept: list[bytes] = []
    get = Fragments.get

    def counted(self: Fragments, key: bytes) -> bytes | None:
        found = get(self, key)
        if found is not None:
            kept.append(key)
        return found

    monkeypatch.setattr(Fragments, "get", counted)
    cached = build(load_bank(root, cache=True), out / "cached", jobs=jobs, cache=True)
    monkeypatch.undo()
    if jobs == 1:  # (a worker's reads are not seen here)
        assert kept, "the build after the edit took nothing from the fragment cache"
    monkeypatch.setenv("ITEMBANK_NO_CACHE", "1")
    clean = build(load_bank(root), out / "clean", jobs=1)
    _same_folders(out / "cached", out / "clean")
    assert [(n, _account(r)) for n, _p, r in cached.outputs] == [(n, _account(r)) for n, _p, r in clean.outputs]
