"""The folder a build replaced is removed: in the background by the console script (which does not
wait for it, nor keep the caller's pipes open with it), before the call returns for everyone else
(itembank.discard)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from itembank import discard as discard_module
from itembank.discard import discard

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES = ROOT / "tests" / "banks" / "all-types"

needs_sh = pytest.mark.skipif(not os.path.isfile(discard_module.REMOVER[0]), reason="no /bin/sh: the folder is removed before the call returns")


def _gone(path: Path, within: float = 60.0) -> bool:
    """Whether ``path`` is gone, waiting up to ``within`` seconds for a background removal."""
    deadline = time.monotonic() + within
    while os.path.lexists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _old_build(tmp_path: Path) -> Path:
    old = tmp_path / ".dist.old-test"
    (old / "html" / "items").mkdir(parents=True)
    (old / "bank.json").write_text("[]\n")
    (old / "html" / "items" / "q1.html").write_text("<p>q1</p>\n")
    os.symlink(tmp_path / "outside", old / "link")  # removed as a link: what it points to stays
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("mine\n")
    return old


def test_a_library_caller_gets_the_folder_removed_before_the_call_returns(tmp_path: Path) -> None:
    old = _old_build(tmp_path)
    discard(old)
    assert not os.path.lexists(old)
    assert (tmp_path / "outside" / "keep.txt").read_text() == "mine\n"


def test_the_first_process_of_a_container_removes_it_before_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As PID 1 the orphaned rm would be this process's child, never reaped: no background then."""
    old = _old_build(tmp_path)
    monkeypatch.setattr(discard_module, "holding", lambda: True)
    monkeypatch.setattr(discard_module.os, "getpid", lambda: 1)
    started: list[object] = []
    monkeypatch.setattr(discard_module.subprocess, "Popen", lambda *a, **k: started.append(a))
    discard(old)
    assert not os.path.lexists(old) and started == []


#: A process that holds (as the console script does), discards a folder and ends; its background
#: removal is made to wait ``PAUSE`` seconds first, so that what the command does not wait for shows.
SCRIPT = """
import sys
from pathlib import Path
from itembank import discard, ending
ending.hold()
discard.REMOVER = (discard.REMOVER[0], "-c", '(sleep PAUSE; rm -rf -- "$1") </dev/null >/dev/null 2>&1 &', "test")
discard.discard(Path(sys.argv[1]))
print("returned", flush=True)
ending.end_process(0)
"""


@needs_sh
def test_the_console_script_leaves_the_folder_to_the_background_and_its_pipes_close(tmp_path: Path) -> None:
    old = _old_build(tmp_path)
    run = subprocess.run([sys.executable, "-c", SCRIPT.replace("PAUSE", "5"), str(old)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (run.returncode, run.stdout, run.stderr) == (0, "returned\n", "")
    # run() read the command's output to its end: had the background removal kept the pipe open, it
    # would have waited for it, and the folder would be gone by now.
    assert os.path.isdir(old)
    assert _gone(old)
    assert (tmp_path / "outside" / "keep.txt").read_text() == "mine\n"


@needs_sh
def test_a_folder_with_a_name_the_shell_would_read_is_removed_as_it_is(tmp_path: Path) -> None:
    old = tmp_path / '.dist.old-$(touch pwned) "a b" ; *'
    old.mkdir()
    (old / "f.txt").write_text("x\n")
    (tmp_path / "sibling").mkdir()
    run = subprocess.run([sys.executable, "-c", SCRIPT.replace("PAUSE", "0"), str(old)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0
    assert _gone(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sibling"]


@needs_sh
def test_a_second_build_by_the_console_script_replaces_the_first_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    command = [sys.executable, "-m", "itembank.cli", "build", "--bank", str(ALL_TYPES), "-o", str(dist), "--format", "json", "--format", "gift", "--no-cache"]
    for _ in range(2):
        run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in dist.iterdir()) == ["ITEMBANK-MANIFEST", "bank.json", "questions.gift"]
    deadline = time.monotonic() + 60
    while [p for p in tmp_path.iterdir() if p.name != "dist"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.name for p in tmp_path.iterdir()] == ["dist"]


# --- what an earlier build left: its removal cut short (itembank.output.leftovers) ------------------

from itembank import api, output  # noqa: E402


def _left_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two builds into dist/ whose removal of the replaced folder never ran (the machine stopped):
    dist/ and the ``.dist.old-…`` folder the second build left beside it."""
    dist = tmp_path / "dist"
    bank = api.load_bank(ALL_TYPES)
    with monkeypatch.context() as patched:
        patched.setattr(output, "discard", lambda folder: None)
        for _ in range(2):
            api.build(bank, dist, formats=["json", "gift"], jobs=1)
    (left,) = [p for p in tmp_path.iterdir() if p.name.startswith(".dist.old-")]
    return dist, left


def test_a_build_removes_what_an_earlier_build_left_beside_its_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist, left = _left_over(tmp_path, monkeypatch)
    assert output.leftovers(dist) == []  # moved aside moments ago: another build's, being removed
    monkeypatch.setattr(output, "LEFTOVER_AGE", 0)
    assert output.leftovers(dist) == [left]
    api.build(api.load_bank(ALL_TYPES), dist, formats=["json", "gift"], jobs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]
    assert sorted(p.name for p in dist.iterdir()) == ["ITEMBANK-MANIFEST", "bank.json", "questions.gift"]


def test_what_only_looks_like_a_leftover_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder of that name holding a file itembank did not write, a link of that name, other names:
    kept (and what the link points to)."""
    dist, left = _left_over(tmp_path, monkeypatch)
    monkeypatch.setattr(output, "LEFTOVER_AGE", 0)
    (left / "notes.txt").write_text("mine\n")  # not in its manifest
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine\n")
    (tmp_path / ".dist.old-linkname").symlink_to(elsewhere, target_is_directory=True)
    for name in (".dist.old-toolongname", ".dist.old-short", ".other.old-abcdefgh", ".dist.staging-abcdefgh"):
        (tmp_path / name).mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    assert output.leftovers(dist) == []
    api.build(api.load_bank(ALL_TYPES), dist, formats=["json"], jobs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (left / "notes.txt").read_text() == "mine\n" and (elsewhere / "keep.txt").read_text() == "mine\n"


# --- a build killed before its swap: its staging folder (itembank.output.leftovers) -----------------

#: A build (the console script's, from a process of its own) killed by SIGKILL just before its swap,
#: its outputs written into its staging folder: what a stopped machine or `kill -9` leaves.
_KILLED_BUILD = """
import os, signal, sys
from itembank import api, cli, output
output.swap_in = lambda staging, target: os.kill(os.getpid(), signal.SIGKILL)
sys.argv = ["itembank", "build", "--bank", sys.argv[1], "-o", sys.argv[2], "--format", "json", "--format", "gift", "--no-cache", "-j", "1"]
cli.run()
"""


def _killed_build(tmp_path: Path) -> tuple[Path, Path]:
    """dist/ of a finished build, and the staging folder the next build, killed, left beside it."""
    dist = tmp_path / "dist"
    api.build(api.load_bank(ALL_TYPES), dist, formats=["json", "gift"], jobs=1)
    run = subprocess.run([sys.executable, "-c", _KILLED_BUILD, str(ALL_TYPES), str(dist)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == -9, run.stderr
    (staging,) = [p for p in tmp_path.iterdir() if p.name.startswith(".dist.staging-")]
    assert (staging / "bank.json").is_file()  # written, never swapped in
    return dist, staging


def test_a_build_removes_the_staging_folder_of_a_build_killed_before_its_swap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist, staging = _killed_build(tmp_path)
    assert output.leftovers(dist) == []  # untouched for less than LEFTOVER_AGE: its workers may still write
    monkeypatch.setattr(output, "LEFTOVER_AGE", 0)
    assert output.leftovers(dist) == [staging]
    api.build(api.load_bank(ALL_TYPES), dist, formats=["json"], jobs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]
    assert sorted(p.name for p in dist.iterdir()) == ["ITEMBANK-MANIFEST", "bank.json", "questions.gift"]


def test_the_staging_folder_of_a_running_process_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's own, and one whose maker still runs (a build beside this one), are kept;
    one named by a process whose number a later process took (another start time) is removed."""
    monkeypatch.setattr(output, "LEFTOVER_AGE", 0)
    dist = tmp_path / "dist"
    mine = output.staging_dir(dist)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        prefix = f".dist.staging-{output._host_tag()}-{sleeper.pid}-"
        started = output._started(sleeper.pid)
        running = tmp_path / f"{prefix}{max(started, 0)}-abcdefgh"
        running.mkdir()
        assert output.leftovers(dist) == []
        if started > 0:  # (where the start time can be read: Linux)
            reused = tmp_path / f"{prefix}{started + 1}-abcdefgh"
            reused.mkdir()
            assert output.leftovers(dist) == [reused]
    finally:
        sleeper.kill()
        sleeper.wait()
    after = output.leftovers(dist)
    assert running in after  # its maker has ended now
    assert mine not in after


def test_what_only_looks_like_a_staging_leftover_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another machine's (or container's) staging folder on a shared disk, a name from before names
    said whose it is, a link of that name, another output's: kept, with what they hold."""
    dist, staging = _killed_build(tmp_path)
    monkeypatch.setattr(output, "LEFTOVER_AGE", 0)
    host = output._host_tag()
    rest = staging.name[len(f".dist.staging-{host}") :]
    other_host = "0" * 8 if host != "0" * 8 else "1" * 8
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine\n")
    kept = [f".dist.staging-{other_host}{rest}", ".dist.staging-abcdefgh", f".other.staging-{host}{rest}", f".dist.staging-{host}-1-2-toolongname"]
    for name in kept:
        (tmp_path / name).mkdir()
        (tmp_path / name / "keep.txt").write_text("mine\n")
    (tmp_path / f".dist.staging-{host}-999999999-5-linkname").symlink_to(elsewhere, target_is_directory=True)
    assert output.leftovers(dist) == [staging]
    api.build(api.load_bank(ALL_TYPES), dist, formats=["json"], jobs=1)
    assert not staging.exists()
    for name in kept:
        assert (tmp_path / name / "keep.txt").read_text() == "mine\n"
    assert (elsewhere / "keep.txt").read_text() == "mine\n"


# --- an export killed while writing its one-file output (itembank.stale_temps) ----------------------

_KILLED_EXPORT = """
import os, signal, sys
from itembank import atomic, cli
def replace(tmp, path):
    os.kill(os.getpid(), signal.SIGKILL)
atomic.os.replace = replace
sys.argv = ["itembank", "export", "json", "--bank", sys.argv[1], "-o", sys.argv[2], "--no-cache"]
cli.run()
"""


def test_an_export_removes_what_one_killed_while_writing_the_same_file_left(tmp_path: Path) -> None:
    out = tmp_path / "out" / "bank.json"
    run = subprocess.run([sys.executable, "-c", _KILLED_EXPORT, str(ALL_TYPES), str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == -9, run.stderr
    (left,) = out.parent.glob(".bank.json.*.tmp")
    assert left.stat().st_size > 0 and not out.exists()
    other = out.parent / ".notes.json.abcd1234.tmp"  # another file's: left alone
    other.write_text("{}")
    hour_ago = time.time() - 3600
    for path in (left, other):
        os.utime(path, (hour_ago, hour_ago))
    fresh = out.parent / ".bank.json.zzzz9999.tmp"  # being written by another export now: left alone
    fresh.write_text("{")
    done = subprocess.run([sys.executable, "-m", "itembank.cli", "export", "json", "--bank", str(ALL_TYPES), "-o", str(out), "--no-cache"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, other.name, fresh.name])


def test_a_build_into_a_folder_of_a_very_long_name_still_stages_beside_it(tmp_path: Path) -> None:
    """Its staging folder's name would pass the file system's limit with whose it is: named as before."""
    dist = tmp_path / ("d" * 220)
    api.build(api.load_bank(ALL_TYPES), dist, formats=["json"], jobs=1)
    api.build(api.load_bank(ALL_TYPES), dist, formats=["json"], jobs=1)
    assert sorted(p.name for p in dist.iterdir()) == ["ITEMBANK-MANIFEST", "bank.json"]


def test_a_staging_name_whose_process_number_no_process_can_have_is_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without /proc (the start time unknown), kill(pid, 0) says whether the process runs: a number
    past what the system takes is no process (OverflowError, not a crash of the build)."""
    monkeypatch.setattr(output, "_started", lambda pid: 0)
    assert output._ended(9_999_999_999, 5) is True
    assert output._ended(os.getpid(), 0) is False
    assert output._ended(os.getppid(), 0) is False  # running: kept
