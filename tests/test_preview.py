"""``itembank preview``: start it, fetch over loopback, edit a file, see the change, stop it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import SEED_BANK

ITEMBANK = [sys.executable, "-m", "itembank.cli"]


def _start(bank: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*ITEMBANK, "preview", "--bank", str(bank), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.match(r"preview: (http://127\.0\.0\.1:\d+/index\.html)$", line.strip())
    if not match:
        proc.kill()
        raise AssertionError(f"no URL printed: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc, match.group(1)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Cache-Control"] == "no-store"
        return response.read().decode("utf-8")


def _wait_for(url: str, needle: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        page = _get(url)
        if needle in page or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def test_preview_serves_rebuilds_and_stops(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    shutil.copytree(SEED_BANK, bank, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    proc, url = _start(bank, "pt-quiz-1", "pt-card-1")
    try:
        home = _get(url)
        assert "Pre-training and Fine-tuning" in home
        practice = _get(url.replace("index.html", "practice.html"))
        assert "What is the main goal of pre-training a model?" in practice
        assert 'data-item="pt-quiz-2"' not in practice  # only the chosen items
        assert "What is pre-training in machine learning?" in _get(url.replace("index.html", "flashcards.html"))
        item = bank / "quiz" / "pt-quiz-1.yaml"
        item.write_text(item.read_text().replace("stem: What is the main goal", "stem: Edited & new, what is the main goal"))
        page = _wait_for(url.replace("index.html", "practice.html"), "Edited &amp; new, what is the main goal")
        assert "Edited &amp; new, what is the main goal" in page
        # a broken edit keeps the last good pages and says why
        item.write_text(item.read_text().replace("type: multiple_choice", "type: nonsense"))
        time.sleep(1.5)
        assert "Edited &amp; new" in _get(url.replace("index.html", "practice.html"))
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "rebuilt after a change to pt-quiz-1.yaml" in out
    assert "not rebuilt:" in out
    # ... and says which error, where, so the author need not run validate to find it
    assert re.search(r"^  \S*pt-quiz-1\.yaml:\d+:\d+: error IB104 \[pt-quiz-1\] type: ", out, re.M), out
    assert "preview: stopped" in out


def test_preview_stops_on_sigterm(tmp_path: Path) -> None:
    proc, url = _start(SEED_BANK)
    assert "test-pattern-check-A.html" in _get(url)  # the whole bank: tests included
    proc.terminate()
    out, _err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "preview: stopped" in out


def test_preview_unknown_item_is_a_usage_error() -> None:
    run = subprocess.run([*ITEMBANK, "preview", "--bank", str(SEED_BANK), "no-such-item"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "no item with id 'no-such-item'" in run.stderr
