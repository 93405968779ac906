"""A title longer than the 255 characters an item's title holds is cut on import, and every importer
says so in a note naming the item (Moodle XML and GIFT did; Canvas, QTI and text2qti cut it without a word)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from itembank import export, load_bank
from itembank.imports import run_import

LONG = "Long title " + "x" * 300  # 311 characters
SHORT = "Placeholder title " + "y" * 100


def _bank(tmp_path: Path) -> Path:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "q.yaml").write_text(
        f"id: q1\ntype: true_false\ntitle: {SHORT}\nstem: The sky is blue.\nanswer: true\n", encoding="utf-8"
    )
    return bank


def _with_long_title(data: bytes) -> bytes:
    """A zip whose members say the long title where the export wrote the short one."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info).replace(SHORT.encode(), LONG.encode()))
    return out.getvalue()


@pytest.mark.parametrize("fmt,reader,suffix", [("canvas", "canvas", "zip"), ("qti21", "qti", "zip"), ("qti30", "qti", "zip"), ("moodle", "moodle", "xml"), ("gift", "gift", "txt")])
def test_a_long_title_is_cut_with_a_note(tmp_path: Path, fmt: str, reader: str, suffix: str) -> None:
    result = export(load_bank(_bank(tmp_path)), fmt)
    assert result.data is not None
    zipped = result.data[:2] == b"PK"
    data = _with_long_title(result.data) if zipped else result.data.replace(SHORT.encode(), LONG.encode())
    assert data != result.data  # the source now holds the long title
    source = tmp_path / f"in.{suffix}"
    source.write_bytes(data)
    report = run_import([source], tmp_path / "into", fmt=reader, dry_run=True)
    [item] = report.items
    assert item["title"] == LONG[:255]
    notes = [note for f in report.files for _id, note in f.notes]
    assert any("255" in note and "title" in note for note in notes), notes


def test_a_long_text2qti_title_is_cut_with_a_note(tmp_path: Path) -> None:
    source = tmp_path / "quiz.txt"
    source.write_text(f"Quiz title: Q\n\nTitle: {LONG}\n1.  The sky is blue.\n*a) True\nb)  False\n", encoding="utf-8")
    report = run_import([source], tmp_path / "into", fmt="text2qti", dry_run=True)
    [item] = report.items
    assert item["title"] == LONG[:255]
    notes = [note for f in report.files for _id, note in f.notes]
    assert any("255" in note and "title" in note for note in notes), notes


def test_a_moodle_idnumber_an_earlier_question_took_is_said_so(tmp_path: Path) -> None:
    """Two questions with the same idnumber: the second's note said the idnumber 'is not a valid item
    id', sending the teacher after a wrong character; it is the id of an earlier question."""
    question = (
        '<question type="truefalse"><name><text>{name}</text></name><questiontext format="html"><text>{name} is true.</text></questiontext>'
        '<idnumber>dup</idnumber><answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer></question>'
    )
    source = tmp_path / "quiz.xml"
    source.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>{question.format(name="First")}{question.format(name="Second")}</quiz>\n', encoding="utf-8")
    report = run_import([source], tmp_path / "into", fmt="moodle", dry_run=True)
    assert [i["id"] for i in report.items] == ["dup", "dup-2"]
    notes = [note for f in report.files for _id, note in f.notes]
    assert "Moodle idnumber 'dup' is the id of an earlier question in this import; the item's id is 'dup-2'" in notes, notes
    assert not any("not a valid item id" in n for n in notes), notes
