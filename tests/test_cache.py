"""The check cache (issue 13): the same findings, exit codes and outputs with it as without it.

Every bank the tests hold (the example bank, tests/banks/*, the valid and invalid case folders, which
between them carry schema errors, rule errors, YAML errors, unreadable encodings and duplicate ids)
is validated without the cache, cold, warm, and after edits of several kinds; the JSON reports must be
equal every time, and a warm run must not check any file again.  Damaged packs are rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import zlib
import os
import shutil
from pathlib import Path

import pytest
from conftest import first_difference
from click.testing import CliRunner

import itembank.validate as validate_module
from itembank import build, load_bank
from itembank.cache import CACHE_DIR, ENV_OFF
from itembank.cli import main

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"
BANKS = (
    [ROOT / "items"]
    + sorted(p for p in (ROOT / "tests" / "banks").iterdir() if p.is_dir())
    + sorted(p for p in (CASES / "valid").iterdir() if p.is_dir())
    + sorted(p for p in (CASES / "invalid-banks").iterdir() if p.is_dir())
    + [CASES / "invalid"]
)


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_OFF, raising=False)


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files checked for real (not taken from the cache), in order."""
    calls: list[str] = []
    real = validate_module.check_document

    def counting(doc, ctx, schema):  # type: ignore[no-untyped-def]
        calls.append(doc.rel)
        return real(doc, ctx, schema)

    monkeypatch.setattr(validate_module, "check_document", counting)
    return calls


def _copy(bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bank copied (without any cache) into tmp_path/bank; the working folder is tmp_path."""
    target = tmp_path / "bank"
    shutil.copytree(bank, target, symlinks=True, ignore=shutil.ignore_patterns(CACHE_DIR))
    monkeypatch.chdir(tmp_path)
    return target


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result.exit_code, result.output


def _validate(*args: str) -> tuple[int, dict]:
    code, out = _run("validate", "--format", "json", *args)
    return code, json.loads(out)


def _same_with_and_without_cache(*args: str, counted: list[str] | None = None) -> tuple[int, dict]:
    """Validate without the cache, then with it (cold or warm, as it stands), twice: all equal.
    The second cached run (warm) must check no file again."""
    reference = _validate("--no-cache", *args)
    assert _validate(*args) == reference
    if counted is not None:
        counted.clear()
    assert _validate(*args) == reference
    if counted is not None:
        assert counted == [], f"a warm run checked {counted} again"
    return reference


def _item_files(bank: Path) -> list[Path]:
    return validate_module.discover(bank.resolve())


EDITS = ["append-unknown-field", "break-yaml", "duplicate-file", "remove-file", "new-id-clash", "settings"]


def _edit(bank: Path, kind: str) -> None:
    files = _item_files(bank)
    with_ids = set(validate_module.bank_ids(bank).values())
    first = next((f for f in files if f in with_ids), files[0])  # a file that parses and has an item id
    if kind == "append-unknown-field":
        text = first.read_text(encoding="utf-8", errors="replace")
        if text.lstrip().startswith("{"):  # JSON: an unknown field inside the object
            first.write_text(text.replace("{", '{"surprise": 1, ', 1), encoding="utf-8")
        else:
            first.write_text(text + ("\n" if not text.endswith("\n") else "") + "surprise: 1\n", encoding="utf-8")
    elif kind == "break-yaml":
        other = files[1 % len(files)]
        other.write_bytes(b"broken: [unclosed\n" + other.read_bytes())
    elif kind == "duplicate-file":  # every id of the first file is now used twice
        shutil.copyfile(first, first.with_name("zz-copy-" + first.name))
    elif kind == "remove-file":
        files[-1].unlink()
    elif kind == "new-id-clash":  # a new file whose id an unchanged file already uses
        ids = validate_module.bank_ids(bank)
        taken = next(iter(ids)) if ids else "x"
        (bank / "aa-new.yaml").write_text(f"id: {taken}\ntype: true_false\nstem: A new item.\nanswer: true\nrationale: Because.\n", encoding="utf-8")
    elif kind == "settings":
        (bank / "itembank.yaml").write_text("title: Edited\nrequire_rationale: true\nrequire_distractor_feedback: true\nsurprise: 1\n", encoding="utf-8")


@pytest.mark.parametrize("bank", BANKS, ids=[p.relative_to(ROOT).as_posix() for p in BANKS])
def test_validate_reports_the_same_cold_warm_and_after_each_edit(bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    copy = _copy(bank, tmp_path, monkeypatch)
    reference = _same_with_and_without_cache("--bank", "bank", counted=counted)
    assert (copy / CACHE_DIR / "v1" / "checks.json").is_file()
    assert (copy / CACHE_DIR / ".gitignore").read_text().splitlines()[-1] == "*"
    for kind in EDITS:
        _edit(copy, kind)
        after = _same_with_and_without_cache("--bank", "bank", counted=counted)
        if kind != "remove-file":
            assert after != reference, f"the edit {kind} changed nothing: the test would prove nothing"
        reference = after
        # The files one by one, as a pre-commit hook gives them: the same with and without cache.
        for path in _item_files(copy)[:3]:
            _same_with_and_without_cache("--bank", "bank", str(path.relative_to(tmp_path)))
            _same_with_and_without_cache("--bank", "bank", "--lint", str(path.relative_to(tmp_path)))


@pytest.mark.parametrize("bank", [ROOT / "items", ROOT / "tests" / "banks" / "all-types"], ids=["items", "all-types"])
def test_lint_stats_and_exports_are_the_same_from_the_cache(bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    _copy(bank, tmp_path, monkeypatch)
    for args in (["lint", "--format", "json"], ["stats", "--json"], ["validate", "--lint", "--format", "json"]):
        reference = _run(*args, "--bank", "bank", "--no-cache")
        assert _run(*args, "--bank", "bank") == reference  # cold
        counted.clear()
        assert _run(*args, "--bank", "bank") == reference  # warm
        assert counted == []
    for fmt in ("json", "moodle", "gift"):
        assert _run("export", fmt, "--bank", "bank", "--no-cache", "-o", f"ref.{fmt}")[0] == 0
        assert _run("export", fmt, "--bank", "bank", "-o", f"cached.{fmt}")[0] == 0
        assert (tmp_path / f"cached.{fmt}").read_bytes() == (tmp_path / f"ref.{fmt}").read_bytes()


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bank", [ROOT / "items", ROOT / "tests" / "banks" / "all-types"], ids=["items", "all-types"])
def test_a_build_after_an_edit_from_the_cache_equals_a_clean_build_byte_for_byte(bank: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    copy = _copy(bank, tmp_path, monkeypatch)
    build(load_bank(copy, cache=True), tmp_path / "first", jobs=1)  # fills the cache
    first = _item_files(copy)[0]
    text = first.read_text(encoding="utf-8")
    assert "title: " in text
    first.write_text(text.replace("title: ", "title: Edited ", 1), encoding="utf-8")
    counted.clear()
    cached = load_bank(copy, cache=True)
    assert counted == [str(first)] or [Path(c).name for c in counted] == [first.name], counted  # only the edited file
    clean = load_bank(copy)
    assert cached == clean
    build(cached, tmp_path / "cached", jobs=1)
    build(clean, tmp_path / "clean", jobs=1)
    one, two = _digests(tmp_path / "cached"), _digests(tmp_path / "clean")
    assert len(one) > 10
    assert one == two, "; ".join(
        first_difference(*((tmp_path / side / n).read_bytes() if (tmp_path / side / n).is_file() else None for side in ("cached", "clean")), n)
        for n in sorted(set(one) | set(two))
        if one.get(n) != two.get(n)
    )
    assert _digests(tmp_path / "first") != two  # the edit shows in the outputs


def test_a_duplicate_id_against_an_unchanged_file_is_reported_for_the_file_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    assert _validate("--bank", "bank")[0] == 0  # fills the cache
    taken, where = next(iter(validate_module.bank_ids(copy).items()))
    new = copy / "zz-new.yaml"  # sorts after the file that has the id: the finding is on the new file
    new.write_text(f"id: {taken}\ntype: true_false\nstem: A new item.\nanswer: true\nrationale: Because.\n", encoding="utf-8")
    counted.clear()
    code, report = _validate("--bank", "bank", "bank/zz-new.yaml")
    assert counted == ["bank/zz-new.yaml"]  # the rest of the bank came from the cache
    assert code == 1
    assert [(p["file"], p["code"], p["item_id"]) for p in report["problems"]] == [("bank/zz-new.yaml", "IB201", taken)]
    assert os.path.basename(where) in report["problems"][0]["message"]
    assert _validate("--bank", "bank", "--no-cache", "bank/zz-new.yaml") == (code, report)
    # Sorting first, the new file makes the unchanged one the duplicate: still reported, on that file.
    new.rename(copy / "aa-new.yaml")
    code, report = _validate("--bank", "bank", "bank/aa-new.yaml")
    assert code == 1 and [p["code"] for p in report["problems"]] == ["IB201"]
    assert "aa-new.yaml" in report["problems"][0]["message"]
    assert _validate("--bank", "bank", "--no-cache", "bank/aa-new.yaml") == (code, report)


def test_an_image_that_goes_is_reported_although_the_file_naming_it_is_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _copy(ROOT / "tests" / "banks" / "all-types", tmp_path, monkeypatch)
    assert _validate("--bank", "bank")[0] == 0
    (copy / "media" / "loss-curve.png").unlink()
    code, report = _validate("--bank", "bank")
    assert code == 1 and "IB211" in {p["code"] for p in report["problems"]}
    assert _validate("--bank", "bank", "--no-cache") == (code, report)
    (copy / "media" / "LOSS-curve.png").write_bytes(b"png")  # a spelling that differs in case only
    (copy / "media" / "loss-curve.png").write_bytes(b"png")
    assert _same_with_and_without_cache("--bank", "bank")[0] == 0


@pytest.mark.parametrize(
    "damage",
    ["truncate", "garbage", "empty", "wrong-checksum", "other-fingerprint", "bad-entries", "folder-is-a-file", "items-shard", "items-shard-shape"],
)
def test_a_damaged_cache_is_rebuilt_never_fatal(damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    copy = _copy(ROOT / "tests" / "banks" / "all-types", tmp_path, monkeypatch)
    reference = _validate("--bank", "bank", "--no-cache")
    assert _validate("--bank", "bank") == reference
    pack = copy / CACHE_DIR / "v1" / "checks.json"
    data = pack.read_bytes()
    header, body = data.split(b"\n", 1)
    if damage == "truncate":
        pack.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        pack.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        pack.write_bytes(b"")
    elif damage == "wrong-checksum":  # a flipped byte inside a string still decodes: the checksum catches it
        i = body.index(b'"', 20) + 1
        pack.write_bytes(header + b"\n" + body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :])
    elif damage == "other-fingerprint":
        h = json.loads(header)
        h["fingerprint"] = "0" * 40
        pack.write_bytes(json.dumps(h).encode() + b"\n" + body)
    elif damage == "bad-entries":  # well-formed, checksummed, but entries of the wrong shape
        entries = json.loads(body)
        entries["entries"] = {k: {"p": 5, "i": "x", "l": None, "g": [[1]]} for k in entries["entries"]}
        new_body = json.dumps(entries).encode()
        h = json.loads(header)
        h["crc32"] = zlib.crc32(new_body)
        pack.write_bytes(json.dumps(h).encode() + b"\n" + new_body)
    elif damage == "items-shard":
        shard = sorted((copy / CACHE_DIR / "v1" / "items").glob("??.json"))[0]
        shard.write_bytes(shard.read_bytes()[:-10])
    elif damage == "items-shard-shape":  # checksummed, but an item's data is not a list of items
        shard = sorted((copy / CACHE_DIR / "v1" / "items").glob("??.json"))[0]
        h, b = shard.read_bytes().split(b"\n", 1)
        new_body = json.dumps({k: {"not": "a list"} for k in json.loads(b)}).encode()
        hh = json.loads(h)
        hh["crc32"] = zlib.crc32(new_body)
        shard.write_bytes(json.dumps(hh).encode() + b"\n" + new_body)
    elif damage == "folder-is-a-file":
        shutil.rmtree(copy / CACHE_DIR)
        (copy / CACHE_DIR).write_text("not a folder")
    counted.clear()
    assert _validate("--bank", "bank") == reference
    assert counted, "the damaged cache was used"
    if damage != "folder-is-a-file":
        counted.clear()
        assert _validate("--bank", "bank") == reference
        assert counted == []  # rebuilt and used again


def test_a_file_rewritten_with_the_same_size_and_modification_time_is_checked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stat shortcut cannot hide a change: the change time moves whatever ``touch`` does."""
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    target = _item_files(copy)[0]
    old = os.stat(target)
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns - 10_000_000_000))  # settled: known by its stat
    monkeypatch.setattr("itembank.cache.SETTLED_NS", 0)
    assert _validate("--bank", "bank")[0] == 0
    assert _validate("--bank", "bank")[0] == 0
    text = target.read_text(encoding="utf-8")
    assert "\nid: " in "\n" + text
    changed = text.replace("id: ", "id: X", 1)[:-1]  # same length: an upper-case id breaks its pattern
    assert len(changed.encode()) == len(text.encode())
    before = os.stat(target)
    target.write_text(changed, encoding="utf-8")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    code, report = _validate("--bank", "bank")
    assert code == 1 and report == _validate("--bank", "bank", "--no-cache")[1]


def test_an_edit_of_a_file_a_link_inside_the_bank_points_to_is_seen_through_the_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the cache on, an edit of the file a link points to is seen through the link, whose own
    ``lstat`` (made first, to tell links apart) does not change: a link is known by its file's ``stat``."""
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    first = _item_files(copy)[0]
    text = first.read_text(encoding="utf-8")
    assert "title: " in text
    real = copy / "kept" / "real.txt"  # not an item file name: read only through the link
    real.parent.mkdir()
    real.write_text(text.replace("id: ", "id: linked-", 1), encoding="utf-8")
    (copy / "zz-alias.yaml").symlink_to(real)
    monkeypatch.setattr("itembank.cache.SETTLED_NS", 0)  # every file known by its stat at once
    assert _validate("--bank", "bank")[0] == 0
    assert _validate("--bank", "bank")[0] == 0
    real.write_text(text.replace("id: ", "id: Linked-", 1), encoding="utf-8")  # an upper-case id breaks its pattern
    for args in (("--bank", "bank"), ("--bank", "bank", "bank/zz-alias.yaml")):
        code, report = _validate(*args)
        assert code == 1 and report == _validate(*args, "--no-cache")[1]
        assert [(p["file"], p["item_id"]) for p in report["problems"]] == [("bank/zz-alias.yaml", "Linked-" + text.split("id: ", 1)[1].split()[0])]


def test_a_hook_run_that_checked_few_files_anew_leaves_the_checks_pack_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    """``validate FILE`` (a pre-commit hook) of one edited file of a warm bank does not write the
    whole checks pack again (~40 ms of its 0.5 s on 10,000 files): the next run checks that file
    again and finds the same; a run over the bank records it; a run given many new files records them."""
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    assert _validate("--bank", "bank")[0] == 0  # fills the cache
    pack = copy / CACHE_DIR / "v1" / "checks.json"
    before = pack.read_bytes()
    first = _item_files(copy)[0]
    rel = str(first.relative_to(tmp_path))
    text = first.read_text(encoding="utf-8")
    first.write_text(text.replace("title: ", "title: Edited ", 1), encoding="utf-8")
    expected = _validate("--bank", "bank", "--no-cache", rel)
    for _ in range(2):
        counted.clear()
        assert _validate("--bank", "bank", rel) == expected
        assert counted == [rel]  # checked again each time: never taken from what the pack lacks
        assert pack.read_bytes() == before
    first.write_text(text.replace("id: ", "id: X", 1), encoding="utf-8")  # broken: reported, not hidden
    code, report = _validate("--bank", "bank", rel)
    assert code == 1 and (code, report) == _validate("--bank", "bank", "--no-cache", rel)
    assert pack.read_bytes() == before
    assert _validate("--bank", "bank")[0] == 1  # a run over the bank records the file
    assert pack.read_bytes() != before
    counted.clear()
    assert _validate("--bank", "bank", rel)[0] == 1 and counted == []
    # More new files than that in the bank (a checkout), checked for the rules across files: recorded.
    from itembank.cache import FEW_NEW

    first.write_text(text, encoding="utf-8")
    assert _validate("--bank", "bank")[0] == 0
    new = []
    for k in range(FEW_NEW + 1):
        path = copy / "many" / f"n{k:02d}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"id: many-{k}\ntype: true_false\nstem: New item {k}.\nanswer: true\nrationale: Because {k}.\n", encoding="utf-8")
        new.append(str(path.relative_to(tmp_path)))
    recorded = pack.read_bytes()
    counted.clear()
    assert _validate("--bank", "bank", rel)[0] == 0 and sorted(counted) == sorted(new)
    assert pack.read_bytes() != recorded
    counted.clear()
    assert _validate("--bank", "bank", rel)[0] == 0 and counted == []


def test_no_cache_and_the_environment_variable_write_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    assert _validate("--bank", "bank", "--no-cache")[0] == 0
    assert not (copy / CACHE_DIR).exists()
    monkeypatch.setenv(ENV_OFF, "1")
    assert _run("build", "--bank", "bank", "-o", "dist", "--format", "json")[0] == 0
    assert not (copy / CACHE_DIR).exists()
    monkeypatch.delenv(ENV_OFF)
    assert _run("build", "--bank", "bank", "-o", "dist", "--format", "json")[0] == 0
    assert (copy / CACHE_DIR / "v1" / "checks.json").is_file() and list((copy / CACHE_DIR / "v1" / "items").glob("??.json"))
    code, out = _run("cache", "clear", "--bank", "bank")
    assert code == 0 and "removed" in out and not (copy / CACHE_DIR).exists()
    code, out = _run("cache", "clear", "--bank", "bank")
    assert code == 0 and "no cache" in out


def test_a_cache_folder_that_is_a_link_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    """Someone else's folder put in place of the cache: not read, not written."""
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (copy / CACHE_DIR).symlink_to(elsewhere)
    assert _validate("--bank", "bank")[0] == 0
    counted.clear()
    assert _validate("--bank", "bank")[0] == 0
    assert counted and list(elsewhere.iterdir()) == []


def test_a_changed_setting_invalidates_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    """The settings are part of the key: a finding that depends on one comes and goes with it."""
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    (copy / "itembank.yaml").write_text("title: T\nrequire_rationale: false\n", encoding="utf-8")
    (copy / "zz.yaml").write_text("id: zz-no-rationale\ntype: true_false\nstem: A claim.\nanswer: true\n", encoding="utf-8")
    relaxed = _same_with_and_without_cache("--bank", "bank", counted=counted)
    (copy / "itembank.yaml").write_text("title: T\nrequire_rationale: true\n", encoding="utf-8")
    strict = _same_with_and_without_cache("--bank", "bank", counted=counted)
    assert relaxed != strict and relaxed[0] == 0


def test_a_cache_of_another_layout_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    old = copy / CACHE_DIR / "v0"
    old.mkdir(parents=True)
    (old / "checks.json").write_text("{}")
    (copy / CACHE_DIR / "notes.txt").write_text("not the cache's: left alone")
    assert _validate("--bank", "bank")[0] == 0
    assert not old.exists() and (copy / CACHE_DIR / "v1" / "checks.json").is_file()
    assert (copy / CACHE_DIR / "notes.txt").exists()


def test_files_given_as_a_hook_gives_them_the_settings_file_is_checked_as_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pre-commit passes every changed YAML file of the bank: itembank.yaml among them is the bank's
    settings (reported as IB015 when wrong), not an item that lacks every field."""
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    first = _item_files(copy)[0]
    code, report = _validate("--bank", "bank", "bank/itembank.yaml", str(first.relative_to(tmp_path)))
    assert code == 0 and report["files"] == 1, report
    (copy / "itembank.yaml").write_text("title: T\nsurprise: 1\n", encoding="utf-8")
    code, report = _validate("--bank", "bank", "bank/itembank.yaml")
    assert code == 1 and [p["code"] for p in report["problems"]] == ["IB015"]
    assert _validate("--bank", "bank", "--no-cache", "bank/itembank.yaml") == (code, report)


# --- generated banks and edits (hypothesis) ------------------------------------------------------

from unittest import mock  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from itembank.validate import check_bank  # noqa: E402
from tests.strategies import banks, dump_yaml, items, write_bank  # noqa: E402

_EDIT_KINDS = ("replace-item", "copy-file", "garbage", "drop-image", "same-id-new-file", "drop-file")


def _summary(root: Path, *, warm: bool = False) -> None:
    """Checked without and with the cache: the same problems and items (a warm run checks no file)."""
    nocache = check_bank(root, allow_empty=True)
    real = validate_module.check_document
    calls: list[str] = []

    def counting(doc, ctx, schema):  # type: ignore[no-untyped-def]
        calls.append(doc.rel)
        return real(doc, ctx, schema)

    with mock.patch.object(validate_module, "check_document", counting):
        cached = check_bank(root, allow_empty=True, cache=True)
    assert cached.problems == nocache.problems
    assert cached.items == nocache.items
    if warm:
        assert calls == [], calls


@settings(max_examples=25)
@given(bank=banks(max_items=8), edits=st.lists(st.tuples(st.sampled_from(_EDIT_KINDS), st.integers(0, 50), items(), st.binary(max_size=64)), min_size=1, max_size=4))
def test_generated_banks_and_edits_check_the_same_with_the_cache(tmp_path_factory: pytest.TempPathFactory, bank, edits) -> None:  # type: ignore[no-untyped-def]
    root = write_bank(bank, tmp_path_factory.mktemp("gen"))
    _summary(root)  # cold
    _summary(root, warm=True)
    for kind, n, item, junk in edits:
        files = sorted(root.glob("part-*.yaml"))
        target = files[n % len(files)] if files else root / "part-new.yaml"
        if kind == "replace-item":
            target.write_text(dump_yaml(item), encoding="utf-8")
        elif kind == "copy-file" and files:
            copy = root / f"part-{999 - n:03d}.yaml"
            if copy != target:  # an earlier copy drawn as the target and the same n: no file to copy it to
                shutil.copyfile(target, copy)
        elif kind == "garbage":
            target.write_bytes(junk)
        elif kind == "drop-image":
            images = sorted((root / "media").glob("*")) if (root / "media").is_dir() else []
            if images:
                images[n % len(images)].unlink()
        elif kind == "same-id-new-file" and files:
            taken = next(iter(validate_module.bank_ids(root)), "x")
            (root / f"a-{n:03d}.yaml").write_text(dump_yaml({**item, "id": taken}), encoding="utf-8")
        elif kind == "drop-file" and files:
            target.unlink()
        _summary(root)
        _summary(root, warm=True)


def test_a_dry_run_writes_nothing_into_the_bank_not_even_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _copy(ROOT / "items", tmp_path, monkeypatch)
    with pytest.MonkeyPatch.context() as off:  # the workbook made without filling the cache
        off.setenv(ENV_OFF, "1")
        assert _run("export", "xlsx", "--bank", "bank", "-o", "review.xlsx")[0] == 0
    assert not (copy / CACHE_DIR).exists()
    code, out = _run("review", "import", "review.xlsx", "--bank", "bank", "--dry-run")
    assert code == 0, out
    assert not (copy / CACHE_DIR).exists()
    source = tmp_path / "q.gift"
    source.write_text("::new-q:: Two plus two? {=4 ~5}\n", encoding="utf-8")
    code, out = _run("import", "gift", str(source), "--into", "bank", "--dry-run")
    assert code == 0, out
    assert not (copy / CACHE_DIR).exists()


_RESIDENT_AFTER_LOAD = """
import sys
from pathlib import Path
from itembank import api
api.load_bank(Path(sys.argv[1]), cache=True)
with open("/proc/self/statm") as f:
    print(int(f.read().split()[1]) * 4096)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads a process's resident memory from /proc")
def test_filling_the_check_cache_leaves_the_process_about_as_large_as_loading_without_it(tmp_path: Path) -> None:
    """Loading with an empty check cache used to keep every item's parsed data to the end of the run
    and leave the memory it freed in the process (4,000 items: ~1.34x the resident memory of a load
    without the cache; at 100,000 items the export workers forked after it started 570 MB larger).
    The data is kept as JSON text, and what loading frees goes back to the system."""
    import subprocess
    import sys

    from conftest import generated_bank

    bank = generated_bank(tmp_path / "bank", 4000)

    def resident(*env_off: str) -> int:
        env = {**os.environ, **dict.fromkeys(env_off, "1")}
        done = subprocess.run([sys.executable, "-c", _RESIDENT_AFTER_LOAD, str(bank)], env=env, capture_output=True, text=True, check=True)
        return int(done.stdout.strip())

    without = resident(ENV_OFF)
    shutil.rmtree(bank / CACHE_DIR, ignore_errors=True)
    cold = resident()
    assert (bank / CACHE_DIR).is_dir()
    assert cold < without * 1.25, (cold, without)


from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.cache import _pack_body, _read_pack, _write_pack

#: What a pack holds: texts (any code point, lone surrogates too: a file name that is not UTF-8),
#: integers of any size (a file's stat: sizes, nanoseconds, inodes), None, lists and objects.
_PACKED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(codec=None)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(st.characters(codec=None), max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(st.characters(codec=None), max_size=12), _PACKED, max_size=6))
def test_a_pack_body_reads_back_as_the_data_written(entries: dict[str, object]) -> None:
    """orjson writes the packs, json.dumps what orjson refuses; json.loads reads back the same data."""
    assert json.loads(_pack_body(entries)) == entries


@pytest.mark.parametrize(
    "entries",
    [
        {"files": {"/bank/a.yaml": [812, 1733250000123456789, 1733250000123456789, 2**63 + 5, 2049, 33188, "k"]}},
        {"files": {"/bank/caf\udce9.yaml": [1, 2, "k"]}},  # a file name that is not UTF-8 (surrogateescape)
        {"entries": {"k": {"p": [["IB101", "bad \u00e9 \U0001f600", 3, 1, "q1", "stem", "error", None]], "i": [[None, "q1"]], "l": [0], "g": []}}},
        {"big": [2**70, -(2**70)]},  # past orjson's 64 bits: json.dumps writes it
    ],
    ids=["stat", "not-utf8-name", "finding", "big-int"],
)
def test_a_written_pack_is_read_back(tmp_path: Path, entries: dict[str, object]) -> None:
    _write_pack(tmp_path / "checks.json", "fp", entries)
    assert _read_pack(tmp_path / "checks.json", "fp") == entries
    assert _read_pack(tmp_path / "checks.json", "other") == {}


from itembank.cache import raws_json  # noqa: E402
from itembank.sources import parse  # noqa: E402

#: What an item file's data can be once parsed (itembank.sources.parse): texts without a lone
#: surrogate, keys that are texts, integers of any size, finite floats, booleans, None.
_PARSED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PARSED, max_size=3))
def test_the_items_data_the_cache_keeps_reads_back_as_the_same_values_and_types(raws: list[object]) -> None:
    """raws_json writes with orjson (json.dumps for an integer past 64 bits): json.loads gives back each
    value with its type (1.0 stays a float, 10**16 an integer, -0.0 its sign), as json.dumps's text did."""
    back = json.loads(raws_json(raws))
    assert repr(back) == repr(json.loads(json.dumps(raws))) == repr(raws)


@pytest.mark.parametrize("text", ["a: .nan\n", "a: .inf\n", "a: -.inf\n", "a: 1e400\n", "1: x\n", "a: !!binary aGk=\n"])
def test_parse_refuses_the_values_orjson_would_write_otherwise(text: str) -> None:
    """orjson writes NaN and infinities as null: the cache may use it because a file holding one (or a
    key that is not a text) never loads."""
    data, found = parse(text, "f.yaml", is_json=False)
    assert data is None and found is not None and found.code == "IB014"


# --- what a run killed while writing the caches leaves (itembank.cache.remove_stale_temps) -----------

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

#: An export (the console script's, in a process of its own) killed by SIGKILL while its new fragment
#: pack is still its temporary file (a stopped machine, `kill -9`).
_KILLED_EXPORT = """
import os, signal, sys
from itembank import cli, fragments
real = fragments._SegmentWriter.finish
def finish(self):
    self._flush()
    os.kill(os.getpid(), signal.SIGKILL)
fragments._SegmentWriter.finish = finish
sys.argv = ["itembank", "export", "qti21", "--bank", sys.argv[1], "-o", sys.argv[2], "-j", "1"]
cli.run()
"""


def test_the_temporary_files_of_a_killed_run_are_removed_once_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _copy(ROOT / "tests" / "banks" / "all-types", tmp_path, monkeypatch)
    killed = subprocess.run([sys.executable, "-c", _KILLED_EXPORT, str(root), str(tmp_path / "q.zip")], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    fragments = root / CACHE_DIR / "v1" / "fragments"
    (left,) = fragments.glob(".qti21-bank.pack.*.tmp")
    assert left.stat().st_size > 0  # the pieces written so far
    items = root / CACHE_DIR / "v1" / "items"
    shard_left = items / ".00.json.abcd1234.tmp"  # as a run killed while writing a shard leaves one
    shard_left.write_bytes(b"{")
    fresh = fragments / ".json-bank.pack.zzzz9999.tmp"  # another run's, being written now
    fresh.write_bytes(b"x")
    mine = fragments / "notes.tmp"  # not named as the caches name theirs
    mine.write_bytes(b"x")
    hour_ago = time.time() - 3600
    for path in (left, shard_left, mine):
        os.utime(path, (hour_ago, hour_ago))
    (root / "aa-new.yaml").write_text("id: aa-new-item\ntype: true_false\nstem: A new item.\nanswer: true\nrationale: Because.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--bank", str(root), "-o", str(tmp_path / "dist"), "-j", "1", "--format", "qti21", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert not left.exists() and not shard_left.exists()
    assert fresh.exists() and mine.exists()
    assert not list(fragments.glob(".qti21-bank.pack.*.tmp"))
