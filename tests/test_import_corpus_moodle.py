"""Every Moodle importer test fixture in ../shared/corpora/moodle-fixtures imports, or is refused with a
clear message, and every question in it is accounted for (imported, or skipped with a reason).

The files are read from ../shared (GPL: never copied into this repository); under CI=true a missing
../shared fails instead of skipping.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SHARED, require
from lxml import etree

from itembank import load_bank
from itembank.imports import ImportFailed, run_import

CORPUS = SHARED / "corpora" / "moodle-fixtures"
FILES = sorted(p.name for p in CORPUS.glob("*")) if CORPUS.is_dir() else []


def test_corpus_is_there() -> None:
    require(CORPUS.is_dir() and len(FILES) == 37, f"Moodle importer fixtures at {CORPUS} (37 files)")


def _questions_in(path: Path) -> int | None:
    """How many questions the file holds, counted independently of the importers."""
    name = path.name
    if name.endswith(".xml"):
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        qs = [root] if root.tag == "question" else root.findall("question")
        return sum(1 for q in qs if q.get("type") != "category")
    text = path.read_bytes().decode("utf-8", "replace")
    if "aiken" in name:
        return len(re.findall(r"^ANSWER", text, re.M))  # at least this many; unfinished ones come on top
    blocks = [b for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    real = [b for b in blocks if [ln for ln in b.split("\n") if ln.strip() and not ln.strip().startswith("//")]]
    return sum(1 for b in real if not re.match(r"^\s*(?://.*\n\s*)*\$CATEGORY:", b))


@pytest.mark.parametrize("name", FILES)
def test_corpus_file(name: str, tmp_path: Path) -> None:
    path = CORPUS / name
    out = tmp_path / "bank"
    try:
        report = run_import([path], out)  # --format auto: the sniffers must recognise every file
    except ImportFailed as exc:
        # refused: the message names the file and a position, and nothing was written
        assert exc.details and all(str(path) in d for d in exc.details)
        assert re.search(re.escape(str(path)) + r":\d+", exc.details[0]), exc.details
        assert not out.exists()
        assert "windows-1252" in name  # the only file broken beyond reading
        assert "Windows-1252" in exc.details[0] and "not UTF-8" in exc.details[0]
        return
    (fr,) = report.files
    accounted = sum(fr.imported.values()) + len(fr.skipped)
    expected = _questions_in(path)
    if "aiken" in name:
        assert accounted >= expected
    else:
        assert accounted == expected, (fr.imported, fr.skipped)
    assert all(reason.strip() for _i, reason in fr.skipped)
    if sum(fr.imported.values()):
        bank = load_bank(out)  # what was written validates
        assert len(bank.items) == sum(fr.imported.values())


def test_corpus_totals(tmp_path: Path) -> None:
    """The whole corpus at once (one import command): imported + skipped = every question of every readable file."""
    require(CORPUS.is_dir(), f"Moodle importer fixtures at {CORPUS}")
    readable = [CORPUS / n for n in FILES if "windows-1252" not in n]
    report = run_import(readable, tmp_path / "bank")
    assert len(report.files) == len(readable)
    assert report.total >= 50
    assert {f.fmt for f in report.files} == {"moodle", "gift", "aiken"}
    skipped = [r for f in report.files for _i, r in f.skipped]
    assert any("calculated" in r or "drag" in r for r in skipped)
    assert any("description only" in r for r in skipped)
    load_bank(tmp_path / "bank")


def test_invalid_grades_are_said(tmp_path: Path) -> None:
    """Moodle refuses a grade off its list (33%); the import keeps the question and says what it did."""
    path = CORPUS / "question__format__xml__tests__fixtures__error_invalid_grades.xml"
    require(path.is_file(), str(path))
    (fr,) = run_import([path], tmp_path / "bank", dry_run=True).files
    notes = " ".join(n for _i, n in fr.notes)
    assert "33% is not on Moodle's grade list" in notes and "partial scoring" in notes
