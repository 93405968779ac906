"""A build links the files of the last build whose bytes it would write again (itembank.output.place_file):
the outputs are the bytes a clean build writes, whatever happened to the old files since."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank import build, load_bank, output
from itembank.atomic import umask

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES = ROOT / "tests" / "banks" / "all-types"
FORMATS = ["json", "html", "markdown", "canvas", "qti21"]


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of ``folder``: its bytes and its inode."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_ino) for p in sorted(folder.rglob("*")) if p.is_file()}


def _edited_bank(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    shutil.copytree(ALL_TYPES, bank)
    return bank


def _edit(bank: Path) -> None:
    choice = bank / "choice.yaml"
    choice.write_text(choice.read_text(encoding="utf-8").replace("Loss curve reading", "Loss curve reading, edited", 1), encoding="utf-8")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rebuild_links_the_files_whose_bytes_did_not_change(tmp_path: Path, jobs: int) -> None:
    bank = _edited_bank(tmp_path)
    dist = tmp_path / "dist"
    build(load_bank(bank), dist, formats=FORMATS, jobs=jobs)
    before = _files(dist)
    _edit(bank)
    build(load_bank(bank), dist, formats=FORMATS, jobs=jobs)
    after = _files(dist)
    build(load_bank(bank), tmp_path / "clean", formats=FORMATS, jobs=1)
    clean = _files(tmp_path / "clean")
    assert {rel: data for rel, (data, _ino) in after.items()} == {rel: data for rel, (data, _ino) in clean.items()}
    kept = {rel for rel, (data, ino) in after.items() if rel in before and before[rel] == (data, ino)}
    unchanged = {rel for rel, (data, _ino) in after.items() if rel in before and before[rel][0] == data and Path(rel).name != output.MANIFEST}
    changed = {rel for rel, (data, _ino) in after.items() if rel not in before or before[rel][0] != data}
    # every file with the same bytes is the last build's file (one inode), every other one new
    assert kept == unchanged and unchanged and changed
    assert {"bank.json", "canvas.zip", "qti21.zip"} <= changed  # the edited item is in them
    assert any(rel.startswith("html/") for rel in kept)  # e.g. the flashcards and open-question pages
    mode = 0o666 & ~umask()
    for rel in after:
        assert stat.S_IMODE((dist / rel).stat().st_mode) == (0o644 if rel.endswith(".zip") else mode), rel
        assert (dist / rel).stat().st_nlink == 1  # the old folder's names are gone


def test_an_old_file_changed_since_is_not_linked(tmp_path: Path) -> None:
    """An old output changed in place (same size, another byte), with other permissions, or with a
    name elsewhere is written anew: the bytes are compared, never trusted from a name or a size."""
    bank = _edited_bank(tmp_path)
    dist = tmp_path / "dist"
    build(load_bank(bank), dist, formats=["json", "html"], jobs=1)
    clean = _files(dist)
    page = sorted(rel for rel in clean if rel.startswith("html/") and rel.endswith(".html"))[0]
    data = bytearray((dist / page).read_bytes())
    data[len(data) // 2] ^= 1
    (dist / page).write_bytes(bytes(data))  # the same size, one byte changed
    os.chmod(dist / "bank.json", 0o600)
    others = sorted(rel for rel in clean if rel.startswith("html/") and rel != page and rel.endswith(".html"))
    os.link(dist / others[0], tmp_path / "upload.html")  # a name elsewhere: not shared with the new output
    build(load_bank(bank), dist, formats=["json", "html"], jobs=1)
    again = _files(dist)
    assert {rel: data for rel, (data, _ino) in again.items()} == {rel: data for rel, (data, _ino) in clean.items()}
    assert stat.S_IMODE((dist / "bank.json").stat().st_mode) == 0o666 & ~umask()
    assert again[page][1] != clean[page][1] and again["bank.json"][1] != clean["bank.json"][1]  # written, not linked
    assert again[others[0]][1] != clean[others[0]][1] and again[others[1]][1] == clean[others[1]][1]


def test_a_file_system_without_hard_links_gets_the_files_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bank = _edited_bank(tmp_path)
    dist = tmp_path / "dist"
    build(load_bank(bank), dist, formats=["json", "html"], jobs=1)
    clean = _files(dist)

    def refused(src: object, dst: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refused)
    build(load_bank(bank), dist, formats=["json", "html"], jobs=1)
    again = _files(dist)
    assert {rel: data for rel, (data, _ino) in again.items()} == {rel: data for rel, (data, _ino) in clean.items()}
    assert not any(again[rel][1] == ino for rel, (_data, ino) in clean.items() if rel in again)  # all written anew


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=4),
    change=st.one_of(st.none(), st.integers(min_value=0, max_value=39), st.just(-1), st.just(-2)),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_same_bytes_is_true_only_for_the_very_bytes(tmp_path_factory: pytest.TempPathFactory, data: bytes, cuts: list[int], change: int | None, chunk: int) -> None:
    """Any split of the new bytes into pieces, any chunk size of the reading: equal exactly when the
    old file holds those bytes (one byte changed, one byte more, one byte less: not equal)."""
    folder = tmp_path_factory.mktemp("same")
    old = bytearray(data)
    if change is not None and change >= 0 and old:
        old[change % len(old)] ^= 0x20
    elif change == -1:
        old += b"x"
    elif change == -2 and old:
        del old[-1]
    path = folder / "old"
    path.write_bytes(bytes(old))
    os.chmod(path, 0o644)
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    pieces = [data[a:b] for a, b in zip(bounds, bounds[1:])] or [b""]
    output._COMPARE, saved = chunk, output._COMPARE
    try:
        assert output.same_bytes(path, pieces, 0o644) == (bytes(old) == data)
        assert not output.same_bytes(path, pieces, 0o600)
        assert not output.same_bytes(folder / "missing", pieces, 0o644)
    finally:
        output._COMPARE = saved


@pytest.mark.parametrize("links", [True, False])
def test_a_build_of_some_formats_keeps_the_other_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, links: bool) -> None:
    """`build --format json` over a full build: the other formats' outputs stay as they were, linked
    into the new folder (or copied where a link cannot be made), the json written again."""
    bank = _edited_bank(tmp_path)
    dist = tmp_path / "dist"
    build(load_bank(bank), dist, formats=FORMATS, jobs=1)
    before = _files(dist)
    _edit(bank)
    os.link(dist / "canvas.zip", tmp_path / "upload.zip")  # a name elsewhere: copied, not shared
    if not links:

        def refused(src: object, dst: object) -> None:
            raise OSError(1, "Operation not permitted")

        monkeypatch.setattr(os, "link", refused)
    build(load_bank(bank), dist, formats=["json"], jobs=1)
    after = _files(dist)
    others = [rel for rel in before if rel.split("/")[0] not in ("bank.json", output.MANIFEST)]
    assert others and all(after[rel][0] == before[rel][0] for rel in others)
    assert all((after[rel][1] == before[rel][1]) == (links and rel != "canvas.zip") for rel in others)
    assert after["bank.json"][0] != before["bank.json"][0]
    assert all((dist / rel).stat().st_nlink == 1 for rel in after)


def test_a_build_failing_at_the_swap_leaves_the_old_files_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files linked into the staging folder are never written in place (the build's manifest is a new
    file): when the build fails at the very end, every old file holds its old bytes."""
    bank = _edited_bank(tmp_path)
    dist = tmp_path / "dist"
    build(load_bank(bank), dist, formats=[f for f in FORMATS if f != "json"], jobs=1)
    before = _files(dist)
    _edit(bank)

    def failing(staging: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "swap_in", failing)
    with pytest.raises(OSError):
        build(load_bank(bank), dist, formats=["json"], jobs=1)  # (its manifest lists one file more)
    assert _files(dist) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank", "dist"]  # no staging folder left
