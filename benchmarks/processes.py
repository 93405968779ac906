"""What the benchmark scripts share about the processes they time: the caches' switch in a child's
environment, and one command run as a whole process reaped with ``os.wait4``.

``ITEMBANK_NO_CACHE`` set in the caller's shell (this test suite sets it) would turn the caches off
in a row meant to use them: :func:`cache_mode` takes it out, or sets it for a row without them.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def interpreter() -> str:
    """The Python that runs the timed commands (the scripts run the ``itembank`` beside their own
    interpreter): its version and the installation the virtual environment was made from.  The
    same code ran 5-15 % faster on an optimized build of CPython (profile-guided and link-time
    optimized, as Linux distributions and python.org build it) than on one built without those
    options, as pyenv builds by default: a table's figures hold for the interpreter it names
    (docs/benchmarks.md, 2026-12-05, "The interpreter")."""
    return f"{platform.python_implementation()} {platform.python_version()} from {sys.base_prefix}"


#: The variable that turns itembank's check and fragment caches off (``itembank.cache.ENV_OFF``).
NO_CACHE_VAR = "ITEMBANK_NO_CACHE"


def cache_mode(env: MutableMapping[str, str], *, no_cache: bool) -> MutableMapping[str, str]:
    """``env`` (changed in place, and returned) with the caches on, whatever the caller's shell set,
    or off (``no_cache``)."""
    env.pop(NO_CACHE_VAR, None)
    if no_cache:
        env[NO_CACHE_VAR] = "1"
    return env


def environment(*, no_cache: bool, **extra: str) -> dict[str, str]:
    """This process's environment with the caches on or off, and ``extra`` variables."""
    env = {**os.environ, **extra}
    cache_mode(env, no_cache=no_cache)
    return env


@dataclass(frozen=True)
class Measured:
    """One command as a whole process: wall, user and system CPU of its tree (s), peak RSS of its
    largest process (MB), exit code and the end of what it wrote on stderr."""

    wall: float
    user: float
    system: float
    peak_mb: float
    code: int
    stderr: str

    @property
    def cpu(self) -> float:
        return self.user + self.system

    def failed(self, what: str, ok: Sequence[int] = (0,)) -> str | None:
        """How the command ``what`` failed, with the end of its stderr (a script's SystemExit message),
        or None when its exit code is in ``ok``."""
        return None if self.code in ok else f"FAILED (exit {self.code}): {what}\n{self.stderr[-STDERR_SHOWN:]}"


def measure(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path | None = None, log: Path | None = None, sample: tuple[float, Callable[[], object]] | None = None
) -> Measured:
    """Run ``cmd`` and reap it with ``os.wait4``: its own resource usage, that of the workers it
    waited for included (``RUSAGE_CHILDREN`` would mix every child so far).  Its stdout is thrown
    away and its stderr kept (the end of it in :attr:`Measured.stderr`), or both go to ``log``.
    Never a pipe: a command that writes more than a pipe holds would wait for a reader, and the
    reader (here, after ``wait4``) for the command.  Interrupted (Ctrl-C), the command is killed.
    ``sample``: (seconds, a function) called every that many seconds while the command runs (the
    cores' counters read by ``cores_busy.py``)."""
    with tempfile.TemporaryFile() as spare:
        out = open(log, "wb") if log is not None else spare  # noqa: SIM115 - closed below
        try:
            start = time.perf_counter()
            proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out if log is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT if log is not None else out,
            )
            try:
                if sample is None:
                    _, status, usage = os.wait4(proc.pid, 0)
                else:
                    interval, read = sample
                    while True:
                        time.sleep(interval)
                        read()
                        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                        if pid:
                            break
            except BaseException:  # do not leave the measured command running
                proc.kill()
                proc.wait()
                raise
            wall = time.perf_counter() - start
        finally:
            if log is not None:
                out.close()
        proc.returncode = os.waitstatus_to_exitcode(status)  # (reaped here: Popen must not wait for it again)
        spare.seek(max(0, spare.seek(0, os.SEEK_END) - _STDERR_KEPT))
        err = spare.read().decode(errors="replace")
    return Measured(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, err)


#: The end of a failed command's stderr that a message shows (:meth:`Measured.failed`, ``cores_busy.py``).
STDERR_SHOWN = 2000
#: The end of a command's stderr that :func:`measure` keeps.
_STDERR_KEPT = 64 << 10
