"""Writing an import: a new bank folder appears whole or not at all; an existing one is restored on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from itembank import imports
from itembank.errors import ItembankError

FILES = {"itembank.yaml": b"title: T\n", "a.yaml": b"id: a\n", "topic/b.yaml": b"id: b\n", "media/x.png": b"\x89PNG" + bytes(range(256)) * 50}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_new_folder_is_written_whole_with_the_umask(tmp_path: Path) -> None:
    into = tmp_path / "deep" / "bank"
    old = os.umask(0o027)
    try:
        imports.write_files(into, FILES)
    finally:
        os.umask(old)
    assert _tree(into) == FILES
    assert stat.S_IMODE(into.stat().st_mode) == 0o750
    assert stat.S_IMODE((into / "topic").stat().st_mode) == 0o750
    assert stat.S_IMODE((into / "a.yaml").stat().st_mode) == 0o640
    assert sorted(p.name for p in into.parent.iterdir()) == ["bank"]  # no staging folder left beside it


def test_new_folder_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    into = tmp_path / "bank"
    real_open = os.open
    calls = []

    def failing_open(path: object, flags: int, mode: int = 0o777, *a: object, **k: object) -> int:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, flags, mode, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(ItembankError, match="No space left on device; nothing was written"):
        imports.write_files(into, FILES)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []  # neither the bank nor its staging folder


def test_new_folder_taken_meanwhile_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    into = tmp_path / "bank"
    real_rename = os.rename

    def racing_rename(src: str, dst: object) -> None:
        Path(str(dst)).mkdir()
        (Path(str(dst)) / "theirs.yaml").write_bytes(b"id: theirs\n")
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", racing_rename)
    with pytest.raises(ItembankError, match="nothing was written"):
        imports.write_files(into, FILES)
    assert _tree(into) == {"theirs.yaml": b"id: theirs\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank"]


def test_existing_folder_failure_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    into = tmp_path / "bank"
    into.mkdir()
    (into / "a.yaml").write_bytes(b"id: a\ntitle: ours\n")
    before = _tree(into)
    real_replace = os.replace
    calls = []

    def failing_replace(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ItembankError, match="the import was undone"):
        imports.write_files(into, FILES)
    monkeypatch.undo()
    assert _tree(into) == before  # and no temporary file left
