"""The console script ends its process without freeing what it loaded (itembank.ending), and is
otherwise the command it was: same output, same exit codes, exit handlers run, other threads and
failing streams left to Python's normal shutdown."""

from __future__ import annotations

import subprocess
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from itembank.ending import end_process

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES = ROOT / "tests" / "banks" / "all-types"
INVALID = ROOT / "tests" / "cases" / "invalid"

#: A process that runs the command through ``ENTRY`` (run: the console script; main: click's
#: command, ended by Python's normal shutdown), with an object that says when it is freed and an
#: exit handler that says when it runs.
SCRIPT = """
import atexit, sys
class Loud:
    def __del__(self):
        print("freed", flush=True)
kept = Loud()
atexit.register(lambda: print("exit handler", flush=True))
sys.argv = ["itembank", *sys.argv[1:]]
import itembank.cli
itembank.cli.ENTRY()
"""


def _command(entry: str, *args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = prelude + SCRIPT.replace("ENTRY", entry)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_the_installed_command_is_run() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "itembank"]
    assert script.value == "itembank.cli:run"


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "--bank", str(ALL_TYPES)),  # 0
        ("validate", "--bank", str(INVALID)),  # 1, a report on stdout
        ("export", "no-such-format", "--bank", str(ALL_TYPES)),  # 2, a usage error on stderr
        ("validate", "--format", "json", "--bank", str(ALL_TYPES)),
    ],
    ids=["ok", "invalid", "usage", "json"],
)
def test_the_console_script_ends_as_the_command_did_without_freeing_its_objects(args: tuple[str, ...]) -> None:
    normal = _command("main", *args)
    quick = _command("run", *args)
    assert quick.returncode == normal.returncode
    assert quick.stderr == normal.stderr
    # Python's shutdown runs the exit handlers, then frees the objects; the console script only runs them.
    assert normal.stdout.endswith("exit handler\nfreed\n")
    assert quick.stdout == normal.stdout.removesuffix("freed\n")
    assert "Traceback" not in quick.stderr


def test_the_exit_codes_of_the_console_script() -> None:
    assert [_command("run", *a).returncode for a in (("--version",), ("validate", "--bank", str(INVALID)), ("frobnicate",))] == [0, 1, 2]


def test_another_thread_gets_the_normal_shutdown() -> None:
    """A thread still running is waited for (ending the process at once would cut it off)."""
    prelude = "import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.3), print('thread done', flush=True))).start()\n"
    proc = _command("run", "--version", prelude=prelude)
    assert proc.returncode == 0
    assert "thread done" in proc.stdout
    assert proc.stdout.endswith("freed\n")


def test_a_stream_that_cannot_be_flushed_gets_the_normal_report_and_code() -> None:
    """stdout fails when it is flushed at the end (a reader that went away): Python says so and exits
    120, as it did before.  (Here it fails once the exit handlers ran; the one that arms it runs last.)"""
    prelude = (
        "import atexit, io, sys\n"
        "class Stdout(io.StringIO):\n"
        "    armed = False\n"
        "    def flush(self):\n"
        "        if Stdout.armed:\n"
        "            raise BrokenPipeError(32, 'Broken pipe')\n"
        "atexit.register(lambda: setattr(Stdout, 'armed', True))\n"
        "sys.stdout = Stdout()\n"
    )
    normal = _command("main", "--version", prelude=prelude)
    quick = _command("run", "--version", prelude=prelude)
    assert normal.returncode == quick.returncode == 120
    assert "BrokenPipeError" in normal.stderr
    assert "BrokenPipeError" in quick.stderr


def test_a_code_python_words_itself_is_left_to_python() -> None:
    with pytest.raises(SystemExit) as info:
        end_process("the message")
    assert info.value.code == "the message"
    with pytest.raises(SystemExit) as info:
        end_process(300)
    assert info.value.code == 300


def test_with_another_thread_alive_the_process_is_not_ended_here() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(SystemExit) as info:
            end_process(0)
        assert info.value.code == 0
    finally:
        stop.set()
        thread.join()


#: Records a weak reference to what the command loads (the bank, or validate's result) and says,
#: when the exit handlers run, whether it is still there.
WATCH = """
import atexit, weakref
import itembank.api, itembank.cli
loaded = []
def watched(real):
    def call(*args, **kwargs):
        out = real(*args, **kwargs)
        loaded.append(weakref.ref(out))
        return out
    return call
itembank.api.load_bank = watched(itembank.api.load_bank)
itembank.cli.check_bank = watched(itembank.cli.check_bank)
atexit.register(lambda: print("loaded still held:", [ref() is not None for ref in loaded], flush=True))
"""


@pytest.mark.parametrize("command", ["build", "export", "validate"])
def test_what_a_command_loaded_is_not_freed_when_it_returns(command: str, tmp_path: Path) -> None:
    """The console script keeps the loaded bank until the process ends (freeing it when the command's
    function returned was 0.06 s of a build after an edit of 10,000 items); click's command, whose
    process goes on (library callers, tests), lets it go as before."""
    args = {
        "build": ("build", "--bank", str(ALL_TYPES), "-o", str(tmp_path / "dist"), "--format", "json"),
        "export": ("export", "json", "--bank", str(ALL_TYPES), "-o", str(tmp_path / "bank.json")),
        "validate": ("validate", "--bank", str(ALL_TYPES)),
    }[command]
    quick = _command("run", *args, prelude=WATCH)
    normal = _command("main", *args, prelude=WATCH)
    assert quick.returncode == normal.returncode == 0, quick.stderr + normal.stderr
    assert "loaded still held: [True]" in quick.stdout
    assert "loaded still held: [False]" in normal.stdout
