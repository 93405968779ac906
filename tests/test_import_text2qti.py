"""text2qti reader: its syntax, and a cross-check with text2qti itself (BSD-3-Clause, a test
dependency): a quiz file read by our text2qti reader must give the same items as text2qti's own Canvas
QTI zip read by our canvas reader.  The quiz comes from ../shared/bench/gen_text2qti.py (every feedback
text2qti accepts); the small sample below was written for this test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED, require
from import_compare import normal, read, strip_defaults
from itembank.importers.base import BadInput
from itembank.importers.canvas import importer as canvas_importer
from itembank.importers.text2qti import importer as t2q

SAMPLE = """\
Quiz title: Sample quiz
% a comment

Title: Capital
Points: 2
1.  What is the capital of *France*?
... Paris has been the capital since 987.
+   Well done.
-   Look at a map.
a)  Lyon
... Second city, not the capital.
*b) Paris
c)  Marseille

2.  The sun is a star.
*a) True
b)  False
... It is one.

3.  Pick the even numbers.
[ ] 1
[*] 2
[*] 4

4.  Name a primary colour.
*   red
*   blue

5.  Give $\\pi$ to two decimals.
=   3.14 +- 0.005

6.  Any number between 1 and 2.
=   [1, 2]

7.  About 200, within 5%.
=   200 +- 5%

8.  Explain why.

    Use two paragraphs.
____

9.  Upload your work.
^^^^

Text: Read the next part carefully.

GROUP
pick: 1
10. Grouped question.
*a) yes
b)  no
END_GROUP
"""


def _write(tmp_path: Path, text: str, name: str = "quiz.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_syntax(tmp_path: Path) -> None:
    path = _write(tmp_path, SAMPLE)
    assert t2q.sniff(path)
    result, _media = read(t2q, path)
    items = {i.data["stem"].split("\n")[0]: i for i in result.items}
    assert len(result.items) == 9
    mc = items["What is the capital of *France*?"]
    assert mc.data["title"] == "Capital" and mc.data["points"] == 2 and mc.data["topic"] == "Sample quiz"
    assert [o.get("correct", False) for o in mc.data["options"]] == [False, True, False]
    assert mc.data["options"][0]["feedback"] == "Second city, not the capital."
    assert mc.data["rationale"] == "Paris has been the capital since 987.\n\nWell done."
    assert mc.data["common_mistakes"] == ["Look at a map."]
    assert any("correct-answer feedback" in n for n in mc.notes)
    tf = items["The sun is a star."].data
    assert tf["type"] == "true_false" and tf["answer"] is True and tf["false_feedback"] == "It is one."
    assert items["Pick the even numbers."].data["type"] == "multiple_response"
    assert items["Name a primary colour."].data["answers"] == ["red", "blue"]
    assert items["Give $\\pi$ to two decimals."].data["answer"] == 3.14
    assert items["Give $\\pi$ to two decimals."].data["tolerance"] == 0.005
    assert items["Any number between 1 and 2."].data["range"] == {"min": 1, "max": 2}
    assert items["About 200, within 5%."].data["tolerance"] == 10
    essay = items["Explain why."].data
    assert essay["type"] == "essay" and essay["stem"] == "Explain why.\n\nUse two paragraphs."
    assert any("group" in n for n in items["Grouped question."].notes)
    reasons = sorted(s.reason for s in result.skipped)
    assert reasons == ["file-upload questions have no item type", "text-only entry: a description, not a question"]


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("1.  Q?\n*a) x\n*b) y\n", 1, "exactly one correct"),
        ("1.  Q?\n=   abc\n", 1, "invalid numerical"),
        ("Points: -1\n1.  Q?\n____\n", 2, "points"),
        ("1.  Q?\n*a) x\nb) y\n  stray\n", 4, "unexpected indented"),
        ("1.  Q?\n*a) x\n[*] y\n", 3, "mixes answer kinds"),
        ("hello\n", 1, "not text2qti syntax"),
        ("1.  Q?\n*a) x\nb)  X\n", 3, "duplicate choice"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(BadInput) as exc:
        read(t2q, path)
    assert f"{path}:{line}" in str(exc.value) and words in str(exc.value)


def test_not_utf8_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.md"
    path.write_bytes("1.  Caf\u00e9?\n____\n".encode("cp1252"))
    with pytest.raises(BadInput, match="not UTF-8"):
        read(t2q, path)


def test_local_image_stored_by_content(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(b"\x89PNG fake")
    path = _write(tmp_path, "1.  Look: ![a dot](img.png)\n____\n")
    result, media = read(t2q, path)
    [ref] = media
    assert media[ref] == b"\x89PNG fake" and f"]({ref})" in result.items[0].data["stem"]


def test_same_items_as_text2qti_itself(tmp_path: Path) -> None:
    gen = SHARED / "bench" / "gen_text2qti.py"
    require(gen.is_file(), f"text2qti generator at {gen}")
    exe = shutil.which("text2qti") or str(Path(sys.executable).parent / "text2qti")
    require(Path(exe).exists(), "text2qti (pip install text2qti==0.8.0)")
    quiz = tmp_path / "quiz.txt"
    subprocess.run([sys.executable, str(gen), "40", str(quiz)], check=True)
    subprocess.run([exe, str(quiz)], check=True, cwd=tmp_path, capture_output=True)
    ours, _m = read(t2q, quiz)
    theirs, _m2 = read(canvas_importer, tmp_path / "quiz.zip")
    assert len(ours.items) == len(theirs.items) == 40
    for a, b in zip(ours.items, theirs.items):
        left = normal(strip_defaults({k: v for k, v in a.data.items() if k not in ("topic",)}), {}, None)
        right = normal(strip_defaults({k: v for k, v in b.data.items() if k not in ("topic",)}), {}, None)
        if left.get("type") == "numeric":  # text2qti writes 4 decimals of the bounds
            for d in (left, right):
                d.pop("answer", None), d.pop("tolerance", None), d.pop("range", None)
        assert left == right, a.origin
