"""The caches know the code and libraries by their bytes (itembank.stamps): the same bytes written
anew (a reinstall, a fresh checkout, a CI runner that restored the bank's cache) keep the caches;
other bytes, or another library version, do not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from itembank import stamps
from itembank.stamps import MEMO_ENTRIES, by_content, library_content

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES = ROOT / "tests" / "banks" / "all-types"


def _forget() -> None:
    """What a new process knows: nothing yet."""
    library_content.cache_clear()
    stamps._records.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_memos() -> None:
    _forget()


def test_without_a_memo_the_stat_fingerprint_is_used() -> None:
    assert by_content("by-stat", lambda: pytest.fail("read the files"), None) == "by-stat"  # type: ignore[arg-type,return-value]


def test_the_bytes_are_read_once_per_stat_fingerprint_and_remembered(tmp_path: Path) -> None:
    memo = tmp_path / "stamps.json"
    reads: list[str] = []

    def content() -> str:
        reads.append("read")
        return "by-bytes"

    assert by_content("install-1", content, memo) == "by-bytes"
    assert by_content("install-1", content, memo) == "by-bytes"  # (from the file)
    assert reads == ["read"]
    memo.unlink()  # the cache cleared: worked out and written again
    assert by_content("install-1", content, memo) == "by-bytes" and reads == ["read", "read"] and memo.is_file()
    reads.pop()
    assert by_content("install-2", content, memo) == "by-bytes"  # the same bytes, written anew
    assert reads == ["read", "read"] and json.loads(memo.read_text()) == {"install-1": "by-bytes", "install-2": "by-bytes"}


def test_a_damaged_or_foreign_memo_is_worked_out_again_and_the_memo_stays_small(tmp_path: Path) -> None:
    memo = tmp_path / "stamps.json"
    memo.write_text('{"install-1": "forged"')  # cut short
    assert by_content("install-1", lambda: "by-bytes", memo) == "by-bytes"
    memo.unlink()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"install-1": "forged"}')
    memo.symlink_to(elsewhere)  # a link is not read
    assert by_content("install-1", lambda: "by-bytes", memo) == "by-bytes"
    assert elsewhere.read_text() == '{"install-1": "forged"}'  # (the link is replaced, not followed)
    for n in range(MEMO_ENTRIES + 5):
        by_content(f"install-{n}", lambda: "by-bytes", memo)
    kept = json.loads(memo.read_text())
    assert len(kept) == MEMO_ENTRIES and f"install-{MEMO_ENTRIES + 4}" in kept and "install-0" not in kept


def _fake_library(site: Path, version: str, record: bool = True) -> Path:
    package = site / "fakelib_ib"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(f"VERSION = {version!r}\n")
    if record:
        info = site / f"fakelib_ib-{version}.dist-info"
        shutil.rmtree(site / "fakelib_ib-1.0.dist-info", ignore_errors=True)
        info.mkdir()
        (info / "METADATA").write_text(f"Name: fakelib_ib\nVersion: {version}\n")
        (info / "RECORD").write_text(
            f"fakelib_ib/__init__.py,sha256=v{version},20\nfakelib_ib/__pycache__/__init__.cpython-311.pyc,,\n"
            f"{info.name}/INSTALLER,sha256=x,4\n{info.name}/RECORD,,\n"
        )
    return package


def test_a_library_is_known_by_its_install_record_or_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    package = _fake_library(tmp_path, "1.0")
    first = library_content("fakelib_ib")
    _forget()
    st = (package / "__init__.py").stat()
    os.utime(package / "__init__.py", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # reinstalled
    assert library_content("fakelib_ib") == first
    _forget()
    _fake_library(tmp_path, "2.0")  # upgraded
    assert library_content("fakelib_ib") != first
    _forget()
    shutil.rmtree(tmp_path / "fakelib_ib-2.0.dist-info")  # a source checkout on the path: by its files
    by_files = library_content("fakelib_ib")
    _forget()
    os.utime(package / "__init__.py", ns=(st.st_atime_ns, st.st_mtime_ns + 9_000_000_000))
    assert library_content("fakelib_ib") == by_files
    _forget()
    (package / "__init__.py").write_text("VERSION = '3.0'\n")
    assert library_content("fakelib_ib") != by_files


def _checks_fingerprint(bank: Path) -> str:
    header = (bank / ".itembank-cache" / "v1" / "checks.json").read_bytes().split(b"\n", 1)[0]
    return str(json.loads(header)["fingerprint"])


def test_a_fresh_copy_of_the_same_code_keeps_the_check_cache(tmp_path: Path) -> None:
    """What a CI runner does: the same code checked out again (new files, new times) and the bank's
    cache folder restored.  The cache made by the first copy is the second's: same fingerprint."""
    bank = tmp_path / "bank"
    shutil.copytree(ALL_TYPES, bank)
    copy = tmp_path / "checkout"
    for part in ("itembank", "exporters", "importers", "schemas"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"), copy_function=shutil.copy)  # new times, same bytes

    def validate(code: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(code)}
        env.pop("ITEMBANK_NO_CACHE", None)
        run = subprocess.run([sys.executable, "-m", "itembank.cli", "validate", "--bank", str(bank)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        where = subprocess.run([sys.executable, "-c", "import itembank; print(itembank.__file__)"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
        assert Path(where.stdout.strip()).resolve().is_relative_to(code.resolve()), where.stdout

    validate(ROOT)
    made = _checks_fingerprint(bank)
    validate(copy)
    assert _checks_fingerprint(bank) == made
    (copy / "itembank" / "rules.py").write_text((copy / "itembank" / "rules.py").read_text() + "\n# changed\n")
    validate(copy)
    assert _checks_fingerprint(bank) != made  # other code: another cache
