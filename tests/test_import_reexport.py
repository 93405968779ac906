"""Questions other systems wrote, imported, then exported again: the bank they make is valid, and its
QTI package passes the official schemas and the real QTI player (rendered, answered, scored).

Sources, read in place from ../shared: canvas-lms's QTI import fixtures and the QTI player's own
QTI 2.1/3.0 sample items (not the deliberately broken ones)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import SHARED, require
from itembank import Bank, load_bank
from itembank.api import export
from itembank.imports import run_import
from itembank.validate import check_bank

FIXTURES = SHARED / "corpora" / "canvas-fixtures"
SAMPLES = SHARED / "clients" / "qti-player" / "samples"


@pytest.fixture(scope="module")
def foreign_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(FIXTURES.is_dir() and SAMPLES.is_dir(), "canvas corpus and QTI player samples in ../shared")
    sources = [p for p in sorted(FIXTURES.rglob("*")) if p.is_file() and p.name != "SOURCES.json"]
    sources += [p for p in sorted(SAMPLES.rglob("*.xml")) if not {"stimuli", "broken", "packages"} & set(p.parts)]
    root = tmp_path_factory.mktemp("foreign") / "bank"
    run_import(sources, root)
    return root


def test_imported_bank_validates(foreign_bank: Path) -> None:
    result = check_bank(foreign_bank)
    assert not result.errors, [p.message for p in result.errors][:5]
    assert len(result.items) >= 50


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_reexport_passes_the_official_schemas(foreign_bank: Path, xsd_dir: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITEMBANK_XSD_DIR", str(xsd_dir))
    result = export(load_bank(foreign_bank), fmt, check=True)
    assert result.notes[-1].startswith("--check:") and "valid against" in result.notes[-1]


def test_reexport_passes_the_canvas_check(foreign_bank: Path) -> None:
    result = export(load_bank(foreign_bank), "canvas", check=True)
    assert "structural check passed" in result.notes[-1]
    assert not result.skipped


@pytest.mark.consumer
def test_reexport_scores_in_the_real_player(foreign_bank: Path, qti_player: Path, tmp_path: Path) -> None:
    bank = load_bank(foreign_bank)
    package = tmp_path / "qti30.zip"
    package.write_bytes(export(bank, "qti30").data or b"")
    report = tmp_path / "report.json"
    proc = subprocess.run(["bash", str(qti_player), str(package), "--no-shots", "--json", str(report), "--jobs", "2"],
                          capture_output=True, text=True, timeout=900)
    assert report.is_file(), proc.stdout + proc.stderr
    results = json.loads(report.read_text())["results"]
    assert len(results) == len(bank.items)
    # A source's own remote image (canvas-lms's escaped/multiple_answer.xml shows one from
    # lh4.ggpht.com) cannot load here, offline: that item renders and scores, and fails only on it.
    remote = [r for r in results if r["status"] == "FAIL" and _only_remote_images_failed(r, bank)]
    assert len(remote) <= 2, remote  # que_1049 from the fixture and its packaged copy
    assert {r["status"] for r in results if r not in remote} == {"PASS"}, proc.stdout
    assert proc.returncode == 0 or remote


def _only_remote_images_failed(result: dict, bank: Bank) -> bool:
    """The player's only problem with the item is http(s) images that the imported item itself shows
    (kept from its source as they were), and the item scores its correct and a wrong response."""
    import re

    prefix = "images failed to load: "
    if result["problems"] or not result["renderProblems"] or result["correctScore"] != str(result["expectedMax"]) or result["wrongScore"] != "0":
        return False
    item = next((i for i in bank.items if i.id == result["identifier"]), None)
    for problem in result["renderProblems"]:
        urls = problem[len(prefix):].split(", ") if problem.startswith(prefix) else [""]
        if item is None or not all(re.match(r"https?://", u) and u in repr(item) for u in urls):
            return False
    return True
