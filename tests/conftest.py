"""Shared fixtures: the seed bank, the every-type bank, and the real consumers in ../shared.

Real consumers (official XSDs, the QTI player, LibreOffice, pandoc) are required under CI=true: a
missing one fails the test there instead of skipping it, so CI can never go green without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from itembank import Bank, load_bank

ROOT = Path(__file__).resolve().parents[1]
# Every schema check in the tests validates for real: no remembered "already valid" documents.
os.environ["ITEMBANK_CACHE_DIR"] = "off"
# Every bank is checked for real, and commands write nothing into a bank (the tests of "nothing
# written" stay exact); tests/test_cache.py turns the check cache on. ITEMBANK_NO_CACHE=0 runs
# the whole suite with it.
os.environ.setdefault("ITEMBANK_NO_CACHE", "1")
SHARED = Path(os.environ.get("ITEMBANK_SHARED", ROOT.parent / "shared"))
IN_CI = os.environ.get("CI") == "true"
SEED_BANK = ROOT / "items"
ALL_TYPES_BANK = ROOT / "tests" / "banks" / "all-types"


def generated_bank(folder: Path, count: int) -> Path:
    """``benchmarks/generate.py count folder``: a deterministic bank of every type, written at ``folder``."""
    import sys

    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), str(count), str(folder)], check=True, capture_output=True)
    return folder


def count_shares(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[int]:
    """Make ``module`` (an exporter that shares its work out with ``shared_out`` from
    ``PARALLEL_FROM`` items on) share out even small banks, and record how many shares each call
    made: the returned list proves the work really was shared (one share where the machine cannot fork)."""
    shares: list[int] = []
    real = module.shared_out

    def counting(work: Any, tasks: Any, jobs: int) -> Any:
        out = real(work, tasks, jobs)
        shares.append(len(out))
        return out

    monkeypatch.setattr(module, "PARALLEL_FROM", 0)
    monkeypatch.setattr(module, "shared_out", counting)
    return shares


def first_difference(one: bytes | None, two: bytes | None, name: str = "output") -> str:
    """Where two outputs differ, for an assertion's message: in a zip, the members that differ and
    the first difference in the first of them; else the first differing byte, with the bytes around
    it (a byte difference seen once in a long run is then described, not only reported)."""
    import io
    import zipfile

    if one == two:
        return f"{name}: the same bytes"
    if one is None or two is None:
        return f"{name}: one is missing"
    if one[:4] == two[:4] == b"PK\x03\x04":
        try:
            a, b = zipfile.ZipFile(io.BytesIO(one)), zipfile.ZipFile(io.BytesIO(two))
            names = sorted(set(a.namelist()) | set(b.namelist()))
            differ = [n for n in names if n not in a.namelist() or n not in b.namelist() or a.read(n) != b.read(n)]
            if differ and differ[0] in a.namelist() and differ[0] in b.namelist():
                return f"{name}: members differ: {differ[:10]}; " + first_difference(a.read(differ[0]), b.read(differ[0]), differ[0])
            return f"{name}: members differ: {differ[:10]}"
        except zipfile.BadZipFile:
            pass
    at = next((k for k, (x, y) in enumerate(zip(one, two)) if x != y), min(len(one), len(two)))
    return f"{name}: {len(one)} and {len(two)} bytes, first difference at {at}: {one[max(0, at - 120) : at + 120]!r} against {two[max(0, at - 120) : at + 120]!r}"


def require(condition: bool, what: str) -> None:
    """Skip locally, fail under CI=true, when an external consumer is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required external consumer missing under CI=true: {what}")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def seed_bank() -> Bank:
    return load_bank(SEED_BANK)


@pytest.fixture(scope="session")
def all_types_bank() -> Bank:
    return load_bank(ALL_TYPES_BANK)


@pytest.fixture(scope="session")
def xsd_dir() -> Path:
    """../shared/xsd (or ITEMBANK_XSD_DIR) with its catalog.xml."""
    d = Path(os.environ.get("ITEMBANK_XSD_DIR", SHARED / "xsd"))
    require((d / "catalog.xml").is_file(), f"official XML schemas at {d}")
    return d


@pytest.fixture(scope="session")
def qti_player() -> Path:
    """The real QTI player's check.sh, installed (install.sh) by .ci/run."""
    script = SHARED / "clients" / "qti-player" / "check.sh"
    require(script.is_file(), f"QTI player at {script}")
    probe = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
    require(probe.returncode != 2 or "dependencies missing" not in probe.stderr, "QTI player dependencies (run its install.sh)")
    return script


@pytest.fixture(scope="session")
def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    require(exe is not None, "LibreOffice (soffice)")
    return exe  # type: ignore[return-value]


@pytest.fixture(scope="session")
def pandoc() -> str:
    exe = shutil.which("pandoc")
    require(exe is not None, "pandoc")
    return exe  # type: ignore[return-value]


# Hypothesis: CI runs a bounded, derandomized number of examples (the same every run); the long run
# (`pytest --hypothesis-profile=long tests/test_generated_banks.py`) explores thousands, randomly.
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

# No shrinking in CI: a failing generated bank is reported as generated (whole), in seconds rather
# than after minutes of shrinking; the long run shrinks.
settings.register_profile(
    "ci", derandomize=True, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci")
