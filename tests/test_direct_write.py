"""Large outputs written past the page cache (itembank.direct_write): the same bytes as a usual
write, whatever the sizes of the pieces and of the file (around the block and buffer sizes), and
the usual write where O_DIRECT is refused, at the open or at a write, with nothing of the attempt
left in the file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank import direct_write
from itembank.direct_write import BLOCK, BUFFER, SMALLEST, write_pieces

SIZES = [0, 1, SMALLEST - 1, SMALLEST, SMALLEST + 1, BUFFER - 1, BUFFER, BUFFER + 1, 2 * BUFFER + BLOCK - 1, 3 * BUFFER + 17]


@pytest.fixture(autouse=True)
def _device_judged_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a process whose device was judged fast: the tests' own writes are not
    timed (a slow moment of the disk would turn the usual write on for the rest of the run); the
    tests of the timing set these again."""
    monkeypatch.setattr(direct_write, "_timed", True)
    monkeypatch.setattr(direct_write, "_slow", False)


def _data(size: int, seed: int = 0) -> bytes:
    block = bytes((seed + i * 7 + i // 251) % 256 for i in range(4096))
    return (block * (size // 4096 + 1))[:size]


def _direct_allowed(folder: Path) -> bool:
    """Whether this folder's file system takes O_DIRECT (the probe the module makes at each write)."""
    if not getattr(os, "O_DIRECT", 0):
        return False
    probe = folder / "probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o666)
    except OSError:
        return False
    os.close(fd)
    probe.unlink()
    return True


@pytest.mark.parametrize("size", SIZES)
def test_a_file_is_its_bytes_whatever_its_size(tmp_path: Path, size: int) -> None:
    data = _data(size)
    path = tmp_path / "out.bin"
    path.write_bytes(b"old content, longer than some of the new ones" * 5000)  # truncated, not kept
    direct = write_pieces(path, [data])
    assert path.read_bytes() == data
    # past the page cache from SMALLEST bytes on, where the system and the file system allow it
    assert direct == (size >= SMALLEST and _direct_allowed(tmp_path))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, BUFFER + 3 * BLOCK), max_size=6), st.integers(0, 255))
def test_pieces_are_written_one_after_the_other(tmp_path_factory: pytest.TempPathFactory, sizes: list[int], seed: int) -> None:
    pieces = [_data(n, seed + k) for k, n in enumerate(sizes)]
    path = tmp_path_factory.mktemp("w") / "out.bin"
    write_pieces(path, [memoryview(p) if k % 2 else p for k, p in enumerate(pieces)], fsync=bool(seed % 2))
    assert path.read_bytes() == b"".join(pieces)


def test_a_file_system_that_refuses_o_direct_gets_the_usual_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def refusing(path: str, flags: int, mode: int = 0o777) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", refusing)
    data = _data(BUFFER + 5)
    path = tmp_path / "out.bin"
    assert write_pieces(path, [data]) is False
    assert path.read_bytes() == data


def test_a_direct_write_that_fails_half_way_leaves_the_usual_write_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write refused after some blocks went out: the file is written again from its start (none of
    the attempt's bytes, nor its length, stay)."""
    real_write = os.write
    calls = []

    def failing_second(fd: int, data: object) -> int:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", failing_second)
    data = _data(3 * BUFFER + 9, 3)
    path = tmp_path / "out.bin"
    assert write_pieces(path, [data]) is False
    assert len(calls) == 2  # (then the usual write, through the file object)
    assert path.read_bytes() == data


def test_a_short_direct_write_is_not_taken_for_a_whole_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, memoryview(data)[:BLOCK]))  # type: ignore[arg-type]
    data = _data(BUFFER + BLOCK)
    path = tmp_path / "out.bin"
    assert write_pieces(path, [data]) is False
    assert path.read_bytes() == data


def test_the_buffer_is_made_once_per_process(tmp_path: Path) -> None:
    if not _direct_allowed(tmp_path):
        pytest.skip("this file system takes no O_DIRECT")
    write_pieces(tmp_path / "a", [_data(SMALLEST)])
    first = direct_write._buffer
    write_pieces(tmp_path / "b", [_data(2 * BUFFER)])
    assert first is not None and direct_write._buffer is first


def test_a_slow_device_is_written_the_usual_way_after_the_first_timed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first file of TIMED bytes or more is timed: slower than SLOWEST bytes a second, the
    process writes the usual way from then on; faster, it keeps writing past the page cache."""
    if not _direct_allowed(tmp_path):
        pytest.skip("this file system takes no O_DIRECT")
    monkeypatch.setattr(direct_write, "_timed", False)
    monkeypatch.setattr(direct_write, "_slow", False)
    assert write_pieces(tmp_path / "small", [_data(SMALLEST)]) is True  # not timed: too small to tell
    assert direct_write._timed is False
    clock = iter([0.0, 1.0])  # the timed file takes a second: far slower than SLOWEST
    monkeypatch.setattr(direct_write.time, "perf_counter", lambda: next(clock))
    data = _data(direct_write.TIMED)
    assert write_pieces(tmp_path / "timed", [data]) is True and (tmp_path / "timed").read_bytes() == data
    assert direct_write._timed and direct_write._slow
    assert write_pieces(tmp_path / "after", [data]) is False and (tmp_path / "after").read_bytes() == data


def test_a_fast_device_keeps_direct_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _direct_allowed(tmp_path):
        pytest.skip("this file system takes no O_DIRECT")
    monkeypatch.setattr(direct_write, "_timed", False)
    monkeypatch.setattr(direct_write, "_slow", False)
    clock = iter([0.0, 0.001])  # 4 MiB in a millisecond
    monkeypatch.setattr(direct_write.time, "perf_counter", lambda: next(clock))
    assert write_pieces(tmp_path / "timed", [_data(direct_write.TIMED)]) is True
    assert direct_write._timed and not direct_write._slow
    assert write_pieces(tmp_path / "after", [_data(direct_write.TIMED)]) is True


def test_processes_forked_after_a_direct_write_each_write_their_own_bytes(tmp_path: Path) -> None:
    """A process that wrote a large file (its buffer made) and then forks writers, as a second
    ``api.build`` in one process does: each child writes its own files at the same time as the
    other, and each file is the bytes it was given.  (The buffer was a shared mapping, inherited by
    every child: two writers copied into the same pages, and 85 % of the files held the other's
    bytes.)"""
    if not _direct_allowed(tmp_path):
        pytest.skip("this file system takes no O_DIRECT")
    write_pieces(tmp_path / "parent", [_data(SMALLEST)])
    assert direct_write._buffer is not None
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    children = []
    for seed in (1, 2):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's own exit status is the assertion
            status = 3
            try:
                data = _data(2 * BUFFER + BLOCK, seed)
                os.write(ready_w, b".")
                os.read(go_r, 1)  # both children copy and write from here on, side by side
                wrong = 0
                for n in range(24):
                    path = tmp_path / f"child{seed}-{n}"
                    write_pieces(path, [data])
                    wrong += path.read_bytes() != data
                status = 1 if wrong else 0
            finally:
                os._exit(status)
        children.append(pid)
    for _ in children:
        os.read(ready_r, 1)
    os.write(go_w, b"..")
    statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    for fd in (ready_r, ready_w, go_r, go_w):
        os.close(fd)
    assert statuses == [0, 0], "a child's files did not hold its own bytes (1) or it failed (3)"
    assert (tmp_path / "parent").read_bytes() == _data(SMALLEST)
