"""The fragment cache (issue 13): incremental exports and builds give a clean build's bytes.

A build with the cache, cold, warm, after editing one item and after damaging every pack, must write
exactly the files a build without the cache writes; a warm build must really reuse the pieces (the
QTI items are not built again), and a piece that is wrong (a cache someone tampered with) is caught
by the export audit, whose per-item verdicts are kept only for the output they were given on.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

import itembank.exporters.qti.package as qti_package
from itembank import api
from itembank.cache import CACHE_DIR, ENV_OFF
from itembank.cli import main
from itembank.errors import ItembankError
from itembank.formats import ExportOptions, get_exporter
from itembank import fragments
from itembank.fragments import FRAGMENTS_DIR, Fragments, item_digest, read_pack

from conftest import first_difference, generated_bank

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_OFF, raising=False)


def _bank(source: Path, tmp_path: Path, name: str = "bank") -> Path:
    target = tmp_path / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(CACHE_DIR))
    return target


def _tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path -> sha256 of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _build(bank: Path, out: Path, *args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["build", "--bank", str(bank), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return _tree(out)


def _packs(bank: Path) -> list[Path]:
    return sorted((bank / CACHE_DIR / "v1" / FRAGMENTS_DIR).glob("*.pack"))


def _edit_one(bank: Path) -> Path:
    """A new title for the first item file that has one and is delivered (the file stays valid)."""
    for path in sorted(bank.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "\ntitle: " in text and "status: retired" not in text and not {CACHE_DIR, "assessments"} & set(path.relative_to(bank).parts):
            path.write_text(text.replace("\ntitle: ", "\ntitle: Edited ", 1), encoding="utf-8")
            return path
    raise AssertionError("no item file with a title")


def _damage(pack: Path) -> None:
    """Flip bytes in the middle of the pack's body (its checksum no longer matches)."""
    data = bytearray(pack.read_bytes())
    at = data.index(b"\n") + 1 + (len(data) - data.index(b"\n")) // 2
    data[at : at + 4] = bytes(b ^ 0x5A for b in data[at : at + 4])
    pack.write_bytes(bytes(data))


@pytest.mark.parametrize("source", [ROOT / "items", ROOT / "tests" / "banks" / "all-types"], ids=lambda p: p.name)
def test_build_with_the_cache_writes_a_clean_builds_bytes(source: Path, tmp_path: Path) -> None:
    bank = _bank(source, tmp_path)
    clean = _build(bank, tmp_path / "clean", "--no-cache")
    assert not _packs(bank), "--no-cache must not write fragments"
    assert _build(bank, tmp_path / "cold") == clean
    packs = _packs(bank)
    assert {p.name.split("-")[0] for p in packs} >= {"qti21", "qti30"}
    assert _build(bank, tmp_path / "warm") == clean
    _edit_one(bank)
    edited = _build(bank, tmp_path / "edited-clean", "--no-cache")
    assert edited != clean
    assert _build(bank, tmp_path / "edited") == edited
    for pack in _packs(bank):
        _damage(pack)
    damaged = _build(bank, tmp_path / "damaged")
    assert damaged == edited, "; ".join(
        first_difference(_read(tmp_path / "damaged" / n), _read(tmp_path / "edited-clean" / n), n) for n in sorted(set(damaged) | set(edited)) if damaged.get(n) != edited.get(n)
    )


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    built: list[str] = []
    real = qti_package._build_items

    def counting(profile, bank, ctx, done, deflated, items):  # type: ignore[no-untyped-def]
        built.extend(i.id for i in items)
        return real(profile, bank, ctx, done, deflated, items)

    monkeypatch.setattr(qti_package, "_build_items", counting)
    return built


def test_a_warm_export_builds_only_the_edited_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bank_dir = generated_bank(tmp_path / "gen", 120)
    built = _count_builds(monkeypatch)
    loaded = api.load_bank(bank_dir, cache=True)
    clean = api.export(loaded, "qti21").data
    assert built, "the export without the cache builds every item"
    built.clear()
    assert api.export(loaded, "qti21", cache=True).data == clean
    delivered = len(built)
    assert delivered > 60  # every delivered item but the calculated ones (built to learn whether QTI can say them)
    built.clear()
    assert api.export(loaded, "qti21", cache=True).data == clean
    assert built == []  # warm: every item's file from the cache
    edited = _edit_one(bank_dir)
    loaded = api.load_bank(bank_dir, cache=True)
    fresh = api.export(loaded, "qti21").data
    built.clear()
    assert api.export(loaded, "qti21", cache=True).data == fresh
    assert built == [edited.stem]  # only the edited item was built again (the generator names a file by its item)


def _set_topic(path: Path, topic: str) -> None:
    """The item file's topic set to ``topic`` (a line added when it has none)."""
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if not line.startswith("topic: ")]
    at = next(k for k, line in enumerate(lines) if line.startswith("title: "))
    path.write_text("\n".join([*lines[: at + 1], f"topic: {topic}", *lines[at + 1 :]]), encoding="utf-8")


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_the_assessment_test_is_kept_until_its_sections_change(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test file (a reference per item, by topic) comes from the cache after an edit that leaves
    the sections as they were, and is built again, as a clean export builds it, when an item moves to
    another topic."""
    bank_dir = generated_bank(tmp_path / "gen", 60)
    made: list[int] = []
    real = qti_package.build_test

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(qti_package, "build_test", counting)
    loaded = api.load_bank(bank_dir, cache=True)
    assert api.export(loaded, fmt, cache=True).data == api.export(loaded, fmt).data
    edited = _edit_one(bank_dir)  # a new title: the same sections
    loaded = api.load_bank(bank_dir, cache=True)
    made.clear()
    assert api.export(loaded, fmt, cache=True).data == api.export(loaded, fmt).data
    assert made == [1]  # the export without the cache built it; the one with it did not
    _set_topic(edited, "A topic of its own")
    loaded = api.load_bank(bank_dir, cache=True)
    made.clear()
    moved = api.export(loaded, fmt, cache=True).data
    assert made == [1]
    assert moved == api.export(loaded, fmt).data
    with zipfile.ZipFile(io.BytesIO(moved)) as z:
        test = z.read(qti_package.TEST_FILE)
    assert b"A topic of its own" in test


def test_another_option_is_another_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bank_dir = _bank(ROOT / "items", tmp_path)
    loaded = api.load_bank(bank_dir, cache=True)
    built = _count_builds(monkeypatch)
    api.export(loaded, "qti21", cache=True)
    first = len(built)
    built.clear()
    api.export(loaded, "qti21", cache=True, expand_variants=2)
    assert len(built) >= first  # nothing reused across options
    built.clear()
    api.export(loaded, "qti21", cache=True, expand_variants=2)
    assert built == []


def test_a_wrong_piece_is_caught_by_the_audit(tmp_path: Path) -> None:
    """A pack that decodes but holds another item's file (someone wrote it: the checksum is right) is
    not taken on trust: the audit's verdict was for the item's own file, so it reads the item again."""
    bank_dir = _bank(ROOT / "items", tmp_path)
    loaded = api.load_bank(bank_dir, cache=True)
    api.export(loaded, "qti21", cache=True)
    api.export(loaded, "qti21", cache=True)  # warm: the verdicts are kept
    (pack,) = [p for p in _packs(bank_dir) if p.name == "qti21-bank.pack"]
    made = api.fragments_for(loaded, get_exporter("qti21"), ExportOptions())
    assert made is not None
    store = Fragments(bank_dir, "qti21-bank", made.scope)
    first, second = [i for i in loaded.items if i.type == "multiple_choice"][:2]
    a, b = (Fragments.key(i, "item", "deflated") for i in (first, second))
    pieces = read_pack(store.path, store.scope)
    assert a in pieces and b in pieces
    for key, value in pieces.items():
        store.put(key, value)
    store.put(a, pieces[b])
    store.put(b, pieces[a])
    store.save()
    with pytest.raises(ItembankError, match=first.id):
        api.export(loaded, "qti21", cache=True)
    assert pack.is_file()


def test_the_pack_round_trip_and_what_it_refuses(tmp_path: Path) -> None:
    bank_dir = _bank(ROOT / "items", tmp_path)
    api.load_bank(bank_dir, cache=True)  # makes the cache folder
    store = Fragments(bank_dir, "fmt-bank", "scope-1")
    store.put(b"k" * 16, b"one")
    store.put(b"j" * 16, b"")
    store.save()
    again = Fragments(bank_dir, "fmt-bank", "scope-1")
    assert again.get(b"k" * 16) == b"one" and again.get(b"j" * 16) == b""
    assert Fragments(bank_dir, "fmt-bank", "scope-2").get(b"k" * 16) is None  # another scope: empty
    # the next export's new pieces are a segment at the end; a piece it did not use stays ...
    size = again.path.stat().st_size
    again.put(b"m" * 16, b"three")
    again._used.pop(b"j" * 16, None)
    again.save()
    third = Fragments(bank_dir, "fmt-bank", "scope-1")
    assert third.get(b"m" * 16) == b"three" and third.get(b"k" * 16) == b"one" and third.get(b"j" * 16) == b""
    assert third.path.stat().st_size > size
    # ... until the unused pieces are most of the pack: then it is written anew with the used ones only
    third.put(b"n" * 16, b"x" * (3 << 20))
    third.save()
    fourth = Fragments(bank_dir, "fmt-bank", "scope-1")
    assert fourth.get(b"k" * 16) == b"one"
    fourth.put(b"p" * 16, b"four")
    fourth.save()
    assert fourth.path.stat().st_size < 1000
    fifth = Fragments(bank_dir, "fmt-bank", "scope-1")
    assert fifth.get(b"n" * 16) is None and fifth.get(b"m" * 16) is None
    assert fifth.get(b"k" * 16) == b"one" and fifth.get(b"p" * 16) == b"four"
    # a damaged or cut last segment is left out, the ones before it are read; the next export's
    # segment goes where the whole ones end
    two = fifth.path.read_bytes()
    fifth.put(b"q" * 16, b"five")
    fifth.save()
    three = fifth.path.read_bytes()
    assert three.startswith(two) and len(three) > len(two)
    for bad in (three[:-3], three[:-3] + b"\xff" * 100, three[: len(two)] + three[len(two) :].replace(b"five", b"fivE")):
        fifth.path.write_bytes(bad)
        reread = Fragments(bank_dir, "fmt-bank", "scope-1")
        assert reread.get(b"q" * 16) is None and reread.get(b"p" * 16) == b"four"
        reread.put(b"r" * 16, b"six")
        reread.save()
        assert Fragments(bank_dir, "fmt-bank", "scope-1").get(b"r" * 16) == b"six"
        assert fifth.path.read_bytes().startswith(two)
    # damaged, truncated, garbage: an empty cache, never an error
    pack = third.path
    fifth.path.write_bytes(two)
    good = pack.read_bytes()
    for bad in (good[:-3], good[:10], b"not a pack"):
        pack.write_bytes(bad)
        assert Fragments(bank_dir, "fmt-bank", "scope-1").get(b"k" * 16) is None
    # a damaged piece is not read (its own CRC-32), the others of its segment are
    pack.write_bytes(good.replace(b"four", b"fouR"))
    damaged = Fragments(bank_dir, "fmt-bank", "scope-1")
    assert damaged.get(b"p" * 16) is None and damaged.get(b"k" * 16) == b"one"
    # a name that is not a file name is still one pack of its own
    odd = Fragments(bank_dir, "fmt-a/../b", "s")
    assert odd.path.parent == pack.parent and "/" not in odd.path.name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.sampled_from([0, 1, 7, 4096, fragments._WINDOW - 1, fragments._WINDOW, fragments._WINDOW + 1, 3 * fragments._WINDOW]), min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
)
def test_pieces_read_ahead_are_the_pieces_put_in_any_order(tmp_path: Path, sizes: list[int], order: random.Random) -> None:
    """A piece is read from the bytes read ahead of an earlier one, or from the file: the bytes put,
    whatever the order asked, the sizes around the read-ahead's, and the segments they are in."""
    bank_dir = tmp_path / "bank"
    if not bank_dir.exists():
        shutil.copytree(ROOT / "items", bank_dir, ignore=shutil.ignore_patterns(CACHE_DIR))
        api.load_bank(bank_dir, cache=True)
    name = f"fmt-{len(list((bank_dir / CACHE_DIR).rglob('*.pack')))}"
    pieces = {hashlib.blake2b(str(n).encode(), digest_size=16).digest(): bytes([n % 251]) * size for n, size in enumerate(sizes)}
    keys = list(pieces)
    half = len(keys) // 2
    for part in (keys[:half], keys[half:]):  # two segments
        store = Fragments(bank_dir, name, "s")
        for key in part:
            store.put(key, pieces[key])
        store._used.update(dict.fromkeys(keys))
        store.save()
    asked = keys * 2
    order.shuffle(asked)
    reader = Fragments(bank_dir, name, "s")
    for key in [*keys, *asked]:  # in the order written (read ahead), then any order
        assert reader.get(key) == pieces[key]


def _bank_for_packs(tmp_path: Path) -> Path:
    bank_dir = tmp_path / "bank"
    shutil.copytree(ROOT / "items", bank_dir, ignore=shutil.ignore_patterns(CACHE_DIR))
    api.load_bank(bank_dir, cache=True)  # (the check cache's folder: packs are written only inside it)
    return bank_dir


def _written_pack(bank_dir: Path, count: int, size: int) -> dict[bytes, bytes]:
    """A pack ``fmt-bank`` (scope ``s``) of ``count`` pieces of ``size`` bytes, put in order by one
    export: the pieces by key, in that order."""
    pieces = {hashlib.blake2b(str(n).encode(), digest_size=16).digest(): bytes([n % 251]) * size for n in range(count)}
    store = Fragments(bank_dir, "fmt-bank", "s")
    for key, value in pieces.items():
        store.put(key, value)
    store.save()
    return pieces


def test_pieces_asked_for_out_of_the_packs_order_are_read_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces asked for in the pack's order come from bytes read ahead (a few reads for many pieces);
    asked for in another order, each is read alone: not a read-ahead window for each (a Canvas
    export after a compaction read 2 GB of its pack to use 50 MB)."""
    bank_dir = _bank_for_packs(tmp_path)
    pieces = _written_pack(bank_dir, 200, 4096)
    read: list[int] = []
    real = fragments._read_at
    monkeypatch.setattr(fragments, "_read_at", lambda fh, offset, size: read.append(size) or real(fh, offset, size))
    in_order = Fragments(bank_dir, "fmt-bank", "s")
    assert [in_order.get(key) for key in pieces] == list(pieces.values())
    # the pack's segment opened (its head, its index), its first piece alone, then windows of the rest
    assert len(read) <= 2 + 1 + -(-200 * 4096 // fragments._WINDOW)
    read.clear()
    shuffled = list(pieces)
    random.Random(7).shuffle(shuffled)
    any_order = Fragments(bank_dir, "fmt-bank", "s")
    assert [any_order.get(key) for key in shuffled] == [pieces[key] for key in shuffled]
    assert sum(read) <= 4 * 200 * 4096, f"{sum(read):,} bytes read for {200 * 4096:,} bytes of pieces"


def test_a_compacted_pack_holds_its_pieces_in_the_order_the_export_used_them(tmp_path: Path) -> None:
    """When most of a pack is pieces no export uses any more, it is written anew with the used ones
    in the order the export asked for them (its next export reads them ahead), not by key."""
    bank_dir = _bank_for_packs(tmp_path)
    pieces = _written_pack(bank_dir, 40, 100_000)
    used = list(pieces)[::4]
    used = used[1::2] + used[::2]  # an order that is neither the keys' nor the pack's
    assert used != sorted(used)
    second = Fragments(bank_dir, "fmt-bank", "s")
    assert [second.get(key) for key in used] == [pieces[key] for key in used]
    second.put(b"n" * 16, b"new")  # (a piece made now: the export writes a segment, then compacts)
    second.save()
    pack = fragments._Pack.read(second.path, "s")
    assert sorted(pack.index, key=lambda key: pack.index[key][0]) == [*used, b"n" * 16]
    assert all(pack.get(key) == pieces[key] for key in used)


def test_pieces_a_forked_child_read_are_kept_when_the_pack_is_written_anew(tmp_path: Path) -> None:
    """A piece read in a forked child is counted there; the export counts it as used when the child
    says so (:meth:`Fragments.used`), and a pack written anew keeps it (an unknown key is no piece)."""
    bank_dir = _bank_for_packs(tmp_path)
    pieces = _written_pack(bank_dir, 40, 100_000)
    read_here, read_there = list(pieces)[:5], list(pieces)[5:10]
    second = Fragments(bank_dir, "fmt-bank", "s")
    assert [second.get(key) for key in read_here] == [pieces[key] for key in read_here]
    second.used([*read_there, b"u" * 16])
    second.put(b"n" * 16, b"new")
    second.save()
    pack = fragments._Pack.read(second.path, "s")
    assert set(pack.index) == {*read_here, *read_there, b"n" * 16}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=6),
    segments=st.integers(min_value=1, max_value=3),
    damage=st.lists(st.tuples(st.floats(min_value=0, max_value=1, exclude_max=True), st.integers(min_value=1, max_value=255)), min_size=1, max_size=3),
    cut=st.none() | st.floats(min_value=0, max_value=1),
)
def test_a_damaged_pack_gives_each_piece_as_written_or_not_at_all(
    tmp_path: Path, sizes: list[int], segments: int, damage: list[tuple[float, int]], cut: float | None
) -> None:
    """Whatever bytes of a pack are changed (a value, an index, a segment's head) and wherever it
    is cut short, a piece read from it is the piece written under its key, or none: never other
    bytes.  (Each piece's own CRC-32 is checked when it is read; each index's when it is opened.)"""
    bank_dir = tmp_path / "bank"
    if not bank_dir.exists():
        shutil.copytree(ROOT / "items", bank_dir, ignore=shutil.ignore_patterns(CACHE_DIR))
        api.load_bank(bank_dir, cache=True)
    name = f"fmt-{len(list((bank_dir / CACHE_DIR).rglob('*.pack')))}"
    pieces = {hashlib.blake2b(str(n).encode(), digest_size=16).digest(): bytes((n + k) % 256 for k in range(size)) for n, size in enumerate(sizes)}
    keys = list(pieces)
    for part in range(segments):  # a segment per export, each adding its share of the pieces
        store = Fragments(bank_dir, name, "s")
        for key in keys[part::segments]:
            store.put(key, pieces[key])
        store._used.update(dict.fromkeys(keys))
        store.save()
    path = Fragments(bank_dir, name, "s").path
    data = bytearray(path.read_bytes())
    header = data.index(b"\n") + 1  # (the header line names the scope: changed, the pack is another's)
    for where, flip in damage:
        at = header + int(where * (len(data) - header))
        if at < len(data):
            data[at] ^= flip
    if cut is not None:
        data = data[: header + int(cut * (len(data) - header))]
    path.write_bytes(bytes(data))
    reader = Fragments(bank_dir, name, "s")
    for key, value in pieces.items():
        got = reader.get(key)
        assert got is None or got == value


def test_no_pack_outside_the_check_caches_folder(tmp_path: Path) -> None:
    """Without the check cache's folder (git-ignored, tagged) nothing is written into the bank."""
    bank_dir = _bank(ROOT / "items", tmp_path)
    store = Fragments(bank_dir, "fmt-bank", "s")
    store.put(b"k" * 16, b"v")
    store.save()
    assert not (bank_dir / CACHE_DIR).exists()


def test_the_loaders_digest_follows_the_file(tmp_path: Path) -> None:
    bank_dir = _bank(ROOT / "items", tmp_path)
    first = api.load_bank(bank_dir, cache=True)
    second = api.load_bank(bank_dir, cache=True)
    assert [item_digest(i) for i in first.items] == [item_digest(i) for i in second.items]
    assert len({item_digest(i) for i in first.items}) == len(first.items)
    edited = _edit_one(bank_dir)
    third = api.load_bank(bank_dir, cache=True)
    changed = [a.id for a, b in zip(first.items, third.items) if item_digest(a) != item_digest(b)]
    assert changed and all((bank_dir / i.location.path) == edited for i in third.items if i.id in changed)


def test_a_piece_that_does_not_decode_is_made_again(tmp_path: Path) -> None:
    bank_dir = _bank(ROOT / "items", tmp_path)
    loaded = api.load_bank(bank_dir, cache=True)
    clean = api.export(loaded, "qti21").data
    api.export(loaded, "qti21", cache=True)
    made = api.fragments_for(loaded, get_exporter("qti21"), ExportOptions())
    assert made is not None
    pieces = read_pack(made.path, made.scope)
    item = loaded.items[0]
    key = Fragments.key(item, "item", "deflated")
    assert key in pieces
    for garbage in (b"", b"no header line", b'{"m": 1}\n', b'{"m": [], "i": [], "n": [], "size": "x", "crc": 1}\nzz'):
        store = Fragments(bank_dir, "qti21-bank", made.scope)
        for k, v in pieces.items():
            store.put(k, v)
        store.put(key, garbage)
        store.save()
        assert api.export(loaded, "qti21", cache=True).data == clean


def test_the_scope_follows_the_exporters_templates_and_libraries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template or a library upgrade changes what an export writes: another scope (the pack is not
    used).  The same bytes written anew (a reinstall, a fresh checkout, a CI runner) are the same scope."""
    import itembank.fragments as fragments_module

    bank_dir = _bank(ROOT / "items", tmp_path)
    loaded = api.load_bank(bank_dir, cache=True)
    before = api.fragments_for(loaded, get_exporter("html"), ExportOptions())
    assert before is not None
    import itembank.exporters.html as html_exporter

    template = sorted((Path(html_exporter.__file__).parent / "templates").glob("*.j2"))[0]
    stat, text = template.stat(), template.read_bytes()

    def scope() -> str:
        fragments_module._package_fingerprint.cache_clear()
        fragments_module._package_files.cache_clear()
        found = api.fragments_for(loaded, get_exporter("html"), ExportOptions())
        assert found is not None
        return found.scope

    try:
        os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # the same bytes, written anew
        assert scope() == before.scope
        template.write_bytes(text + b"{# changed #}\n")
        assert scope() != before.scope
    finally:
        template.write_bytes(text)
        os.utime(template, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        fragments_module._package_fingerprint.cache_clear()
        fragments_module._package_files.cache_clear()
    assert scope() == before.scope
    monkeypatch.setattr(fragments_module, "library_stamp", lambda *names: "another openpyxl")
    monkeypatch.setattr(fragments_module, "library_content", lambda *names: "another openpyxl")
    upgraded = api.fragments_for(loaded, get_exporter("html"), ExportOptions())
    assert upgraded is not None and upgraded.scope != before.scope


def test_a_failed_export_keeps_the_old_pack_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces are written into the next pack as they are made; an export that fails (here: its
    audit) drops that pack, and the one before stays as it was."""
    import itembank.audit as audit_module

    bank_dir = _bank(ROOT / "items", tmp_path)
    loaded = api.load_bank(bank_dir, cache=True)
    api.export(loaded, "qti21", cache=True)
    (pack,) = [p for p in _packs(bank_dir) if p.name == "qti21-bank.pack"]
    before = pack.read_bytes()
    edited = _edit_one(bank_dir)
    loaded = api.load_bank(bank_dir, cache=True)

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ItembankError("refused")

    with monkeypatch.context() as patched:
        patched.setattr(audit_module, "check", refuse)
        with pytest.raises(ItembankError, match="refused"):
            api.export(loaded, "qti21", cache=True)
    assert pack.read_bytes() == before
    assert not [p for p in pack.parent.iterdir() if p.suffix == ".tmp"]
    assert edited.is_file() and api.export(loaded, "qti21", cache=True).data == api.export(loaded, "qti21").data
    assert pack.read_bytes() != before


def test_two_exports_of_one_pack_at_once_do_not_write_over_each_other(tmp_path: Path) -> None:
    """Two exports of the same pack at the same time (two builds of the bank): the first writes its
    segment; the second cannot take the pack, keeps its pieces for its own run and writes nothing."""
    bank_dir = _bank(ROOT / "items", tmp_path)
    api.load_bank(bank_dir, cache=True)  # makes the cache folder
    first = Fragments(bank_dir, "fmt-bank", "s")
    first.put(b"a" * 16, b"one")
    first.save()
    one, two, late = (Fragments(bank_dir, "fmt-bank", "s") for _ in range(3))
    assert one.get(b"a" * 16) == two.get(b"a" * 16) == late.get(b"a" * 16) == b"one"
    one.put(b"b" * 16, b"two")  # holds the pack until it saves
    two.put(b"c" * 16, b"three")
    assert two.get(b"c" * 16) == b"three"  # kept for this run
    two.save()
    one.save()
    # one that read the pack before another export's segment was added does not cut it off
    late.put(b"d" * 16, b"four")
    late.save()
    after = Fragments(bank_dir, "fmt-bank", "s")
    assert after.get(b"a" * 16) == b"one" and after.get(b"b" * 16) == b"two"
    assert after.get(b"c" * 16) is None and after.get(b"d" * 16) is None


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(st.characters(codec=None)), max_size=4))
def test_a_list_of_texts_is_kept_as_json_piece_keeps_it(strings: list[str]) -> None:
    """strings_piece (orjson) writes the bytes json_piece (json.dumps) writes, escapes and all; a text
    orjson refuses (a lone surrogate) is written by json_piece: either reads back as the texts."""
    assert fragments.strings_piece(strings) == fragments.json_piece(strings)
    assert fragments.from_json_piece(fragments.strings_piece(iter(strings))) == strings
