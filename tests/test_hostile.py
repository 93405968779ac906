"""Hostile input that cannot live in ``cases/invalid`` as one plain file: special files, links,
file names, whole banks, and what reporters print (issue 9).

Content cases (numbers, tags, surrogates, raw HTML, URLs, empty texts...) are one file each in
``cases/invalid`` and run by ``test_validate_cases.py``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from itembank.cli import main

FLASHCARD = "id: {id}\ntype: flashcard\nstem: {stem}\nanswer: Back.\n"


def _validate(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["validate", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


def _codes(report: dict) -> list[tuple[str, str]]:
    return [(p["code"], Path(p["file"]).name) for p in report["problems"]]


def _bank(tmp_path: Path) -> Path:
    root = tmp_path / "bank"
    root.mkdir()
    (root / "ok.yaml").write_text(FLASHCARD.format(id="ok1", stem="Front."), encoding="utf-8")
    return root


# --- special files and links ---------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_named_like_an_item_is_refused_without_hanging(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    os.mkfifo(root / "a.yaml")
    out: list[tuple[int, dict]] = []
    worker = threading.Thread(target=lambda: out.append(_validate("--bank", str(root))), daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        with open(root / "a.yaml", "wb"):
            pass
        pytest.fail("validate hangs on a FIFO")
    code, report = out[0]
    assert code == 1
    assert ("IB006", "a.yaml") in _codes(report)
    assert "FIFO" in next(p["message"] for p in report["problems"] if p["code"] == "IB006")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_item_file_linked_to_dev_zero_is_refused(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "zero.yaml").symlink_to("/dev/zero")
    code, report = _validate("--bank", str(root))
    assert code == 1
    assert _codes(report) == [("IB006", "zero.yaml")]


def test_the_size_limit_is_enforced_while_reading_not_from_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that grows (or lies about its size) is cut at the limit: never read without end."""
    from itembank import sources

    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text("stem: '" + "x" * 5000 + "'\n")
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(sources.os, "read", counting_read)
    raw, prob = sources.read_bytes(big, "big.yaml", limit=1000)
    assert raw is None and prob is not None and prob.code == "IB001"
    assert sum(reads) <= 1001


def test_an_item_file_linked_outside_the_bank_is_refused(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    secret = tmp_path / "secret.yaml"
    secret.write_text(FLASHCARD.format(id="secret", stem="Outside."), encoding="utf-8")
    (root / "link.yaml").symlink_to(secret)
    code, report = _validate("--bank", str(root))
    assert code == 1
    assert _codes(report) == [("IB006", "link.yaml")]
    # Named on the command line, the link is refused just the same.
    code, report = _validate(str(root / "link.yaml"), "--bank", str(root))
    assert code == 1 and _codes(report) == [("IB006", "link.yaml")]


def test_an_item_file_linked_inside_the_bank_is_read(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "sub").mkdir()
    (root / "sub" / "real.yaml").write_text(FLASHCARD.format(id="real1", stem="Inside."), encoding="utf-8")
    (root / "alias.yaml").symlink_to(root / "sub" / "real.yaml")
    code, report = _validate("--bank", str(root))
    # The same item seen twice under two names: reported, never silently taken once.
    assert code == 1 and [p["code"] for p in report["problems"]] == ["IB201"]


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_a_folder_that_cannot_be_read_is_an_error_not_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: bool) -> None:
    """A folder the user may not list (``chmod 700``, another owner) passed as a clean bank, and its
    items were left out of every export: the walk ignored listing errors."""
    root = _bank(tmp_path)
    (root / "locked").mkdir()
    (root / "locked" / "q.yaml").write_text(FLASHCARD.format(id="hidden1", stem="Front."), encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(str(path)).name == "locked":  # the tests run as root, who may read any folder
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    flags = [] if cache else ["--no-cache"]
    for _ in range(2):
        code, report = _validate("--bank", str(root), *flags)
        assert code == 1 and _codes(report) == [("IB005", "locked")], report
        assert "cannot read folder" in report["problems"][0]["message"] and report["items"] == 1
    code, report = _validate(str(root / "locked"), "--bank", str(root), *flags)
    assert code == 1 and _codes(report) == [("IB005", "locked")]
    result = CliRunner().invoke(main, ["export", "json", "-o", str(tmp_path / "bank.json"), "--bank", str(root)])
    assert result.exit_code == 1 and "IB005" in result.output and not (tmp_path / "bank.json").exists(), result.output


def _unlistable_assessments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing a folder named ``assessments`` fails as for a folder the user may not read (the tests
    run as root, who may read any folder)."""
    real_iterdir = Path.iterdir

    def iterdir(self: Path) -> object:
        if self.name == "assessments":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)


def test_an_assessments_folder_that_cannot_be_read_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It gave "Error: Permission denied: .../assessments" and no report (empty JSON output)."""
    root = _bank(tmp_path)
    (root / "assessments").mkdir()
    (root / "assessments" / "quiz.yaml").write_text("title: Q\nsections: [{title: S, items: [ok1]}]\n", encoding="utf-8")
    _unlistable_assessments(monkeypatch)
    code, report = _validate("--bank", str(root))
    assert code == 1 and _codes(report) == [("IB005", "assessments")] and "not checked" in report["problems"][0]["message"], report


def test_assessment_lock_with_an_assessments_folder_that_cannot_be_read_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``assessment lock`` stopped with "Error: Permission denied: .../assessments" (before a820a99); it
    is the bank's report, IB005 at the folder, and exit 1, nothing written."""
    root = _bank(tmp_path)
    (root / "assessments").mkdir()
    (root / "assessments" / "quiz.yaml").write_text("title: Q\ninclude_drafts: true\nsections: [{title: S, select: [{ids: [ok1]}]}]\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["validate", "--bank", str(root)]).exit_code == 0  # a valid bank, its check cached
    _unlistable_assessments(monkeypatch)
    result = CliRunner().invoke(main, ["assessment", "lock", "quiz", "--bank", str(root)])
    assert result.exit_code == 1, result.output
    assert f"{root / 'assessments'}:1:1: error IB005 cannot read folder: Permission denied" in result.output, result.output
    assert "nothing was written" in result.output and not (root / "assessments" / "quiz.lock.yaml").exists()


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_a_linked_folder_is_walked_inside_the_bank_and_refused_otherwise(tmp_path: Path, cache: bool) -> None:
    """Folders that are links were skipped silently (os.walk does not follow them), items and all.
    Now they are treated as linked files are: followed inside the bank, refused (IB006) out of it or
    in a loop."""
    root = _bank(tmp_path)
    (root / "real").mkdir()
    (root / "real" / "r.yaml").write_text(FLASHCARD.format(id="real1", stem="Inside."), encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "e.yaml").write_text(FLASHCARD.format(id="out1", stem="Outside."), encoding="utf-8")
    (root / "sub").mkdir()
    (root / "sub" / "alias").symlink_to(root / "real")
    flags = [] if cache else ["--no-cache"]
    code, report = _validate("--bank", str(root), *flags)
    # The same item seen twice under two names: reported, as for a linked file.
    assert code == 1 and [(p["code"], p["item_id"]) for p in report["problems"]] == [("IB201", "real1")], report
    assert {Path(p["file"]).parent.name for p in report["problems"]} <= {"real", "alias"} and report["files"] == 3
    code, report = _validate(str(root / "sub"), "--bank", str(root), *flags)  # a folder given: the link still leads into the bank
    assert report["files"] == 1 and [p["code"] for p in report["problems"]] in ([], ["IB201"])
    (root / "sub" / "alias").unlink()
    (root / "out").symlink_to(tmp_path / "elsewhere")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "self").symlink_to("self")
    code, report = _validate("--bank", str(root), *flags)
    assert code == 1 and sorted(_codes(report)) == [("IB006", "out"), ("IB006", "up")], report
    messages = {Path(p["file"]).name: p["message"] for p in report["problems"]}
    assert "outside the bank" in messages["out"] and "link loop" in messages["up"]
    assert report["items"] == 2  # ok1 and real1: out1 is not read


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_told_to_be_saved_as_utf8(tmp_path: Path, codec: str) -> None:
    """Notepad's "Unicode" (UTF-16, with or without a byte order mark) was IB003 "file holds NUL
    bytes: it is binary", for items, the bank settings and assessments alike."""
    root = _bank(tmp_path)
    (root / "u.yaml").write_bytes(FLASHCARD.format(id="u1", stem="Café").encode(codec))
    (root / "itembank.yaml").write_bytes("title: T\n".encode(codec))
    (root / "assessments").mkdir()
    (root / "assessments" / "quiz.yaml").write_bytes("title: Q\nsections: [{title: S, items: [ok1]}]\n".encode(codec))
    code, report = _validate("--bank", str(root))
    assert code == 1 and sorted(_codes(report)) == [("IB004", "itembank.yaml"), ("IB004", "quiz.yaml"), ("IB004", "u.yaml")], report
    assert all("UTF-16" in p["message"] and "save it as UTF-8" in p["message"] for p in report["problems"]), report


def test_a_binary_file_with_nul_bytes_is_still_binary(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "png.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    (root / "zeros.json").write_bytes(b"\x00" * 64)
    code, report = _validate("--bank", str(root))
    assert code == 1 and sorted(_codes(report)) == [("IB003", "png.yaml"), ("IB003", "zeros.json")], report


def _looped_bank(tmp_path: Path) -> Path:
    """A bank of one valid item and three item files whose links never end (bug 6)."""
    root = _bank(tmp_path)
    (root / "self.yaml").symlink_to("self.yaml")  # a link to itself
    (root / "sub").mkdir()
    (root / "sub" / "a.yaml").symlink_to("b.yaml")  # a -> b -> a
    (root / "sub" / "b.yaml").symlink_to("a.yaml")
    return root


LOOPED = [("IB006", "self.yaml"), ("IB006", "a.yaml"), ("IB006", "b.yaml")]


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_an_item_file_that_is_a_link_loop_is_refused_and_the_rest_checked(tmp_path: Path, cache: bool) -> None:
    """Was "internal error: RuntimeError: Symlink loop from ..." (Path.resolve on Python 3.11)."""
    root = _looped_bank(tmp_path)
    flags = [] if cache else ["--no-cache"]
    for _ in range(2):  # the second run from the check cache (with it on)
        code, report = _validate("--bank", str(root), *flags)
        assert code == 1
        assert sorted(_codes(report)) == sorted(LOOPED)
        assert all("link loop" in p["message"] for p in report["problems"])
        assert report["items"] == 1 and report["files"] == 4  # ok.yaml is still checked, and valid
    # Files and folders given on the command line, as part of the bank.
    code, report = _validate(str(root / "sub"), "--bank", str(root), *flags)
    assert code == 1 and _codes(report) == [("IB006", "a.yaml"), ("IB006", "b.yaml")]
    code, report = _validate(str(root / "ok.yaml"), "--bank", str(root), *flags)
    assert code == 0 and report["items"] == 1


def test_build_and_export_report_a_link_loop_in_the_bank_by_its_code(tmp_path: Path) -> None:
    root = _looped_bank(tmp_path)
    for args in (["build", "-o", str(tmp_path / "dist")], ["export", "json", "-o", str(tmp_path / "bank.json")]):
        result = CliRunner().invoke(main, [*args, "--bank", str(root)])
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.output and "Traceback" not in result.output, result.output
        assert result.output.count("IB006") == 3 and "self.yaml" in result.output and "link loop" in result.output
        assert "1 valid item" in result.output  # the rest of the bank was checked
    assert not (tmp_path / "dist").exists() and not (tmp_path / "bank.json").exists()


def test_a_link_loop_given_to_the_library_is_a_finding(tmp_path: Path) -> None:
    """A path given to check_paths (the CLI's click refuses a loop as not existing first)."""
    from itembank.validate import check_paths

    root = _looped_bank(tmp_path)
    result = check_paths([root / "self.yaml", root / "ok.yaml"], root=root, within_bank=True)
    assert [(p.code, Path(p.file).name) for p in result.problems] == [("IB006", "self.yaml")]
    assert "link loop" in result.problems[0].message and [i.id for i in result.items] == ["ok1"]
    result = check_paths([root], root=root)
    assert sorted((p.code, Path(p.file).name) for p in result.problems) == sorted(LOOPED)


def test_the_forked_share_skips_a_link_loop_as_this_process_does(tmp_path: Path) -> None:
    """The child checking the last files of a large bank leaves a looped file to this process."""
    import marshal

    from itembank import validate
    from itembank.schema import item_schema

    root = _looped_bank(tmp_path)
    files = validate.discover(root)
    frames: list[bytes] = []
    validate._check_share(files, 0, root, validate.load_config(root, "itembank.yaml")[0], item_schema(), frames.append)
    checked = {n for frame in frames for n in marshal.loads(frame)[1]}
    assert [files[n].name for n in sorted(checked)] == ["ok.yaml"]


def test_an_image_linked_outside_the_bank_is_refused(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "media").mkdir()
    outside = tmp_path / "environ.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n secret")
    (root / "media" / "env.png").symlink_to(outside)
    (root / "img.yaml").write_text(FLASHCARD.format(id="img1", stem="'![x](media/env.png)'"), encoding="utf-8")
    code, report = _validate("--bank", str(root))
    assert code == 1 and _codes(report) == [("IB212", "img.yaml")]
    # A linked folder that leaves the bank is caught the same way.
    (root / "media" / "env.png").unlink()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "env.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "pics").symlink_to(tmp_path / "elsewhere")
    (root / "img.yaml").write_text(FLASHCARD.format(id="img1", stem="'![x](pics/env.png)'"), encoding="utf-8")
    code, report = _validate("--bank", str(root))
    assert code == 1 and _codes(report) == [("IB212", "img.yaml")]


def test_an_image_linked_inside_the_bank_is_fine(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "media").mkdir()
    (root / "media" / "real.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "media" / "alias.png").symlink_to(root / "media" / "real.png")
    (root / "img.yaml").write_text(FLASHCARD.format(id="img1", stem="'![x](media/alias.png)'"), encoding="utf-8")
    code, report = _validate("--bank", str(root))
    assert code == 0, report


def test_image_names_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "media").mkdir()
    (root / "media" / "Plot.png").write_bytes(b"\x89PNG\r\n\x1a\n1")
    (root / "media" / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n2")
    (root / "a.yaml").write_text(FLASHCARD.format(id="a1", stem="'![x](media/Plot.png)'"), encoding="utf-8")
    (root / "b.yaml").write_text(FLASHCARD.format(id="b1", stem="'![x](media/plot.png)'"), encoding="utf-8")
    code, report = _validate("--bank", str(root))
    assert code == 1
    prob = next(p for p in report["problems"] if p["code"] == "IB223")
    assert prob["file"].endswith("b.yaml") and prob["line"] == 3 and prob["item_id"] == "b1"
    assert "media/Plot.png" in prob["message"]


def _non_utf8_item(root: Path, raw: bytes, item_id: str) -> str:
    """A flashcard in a file whose name is the bytes ``raw`` (not UTF-8): its name as Python holds it;
    the test is skipped where the file system refuses such names."""
    name = os.fsdecode(raw)
    try:
        (root / name).write_text(FLASHCARD.format(id=item_id, stem="Front."), encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    return name


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_reported_and_the_report_stays_printable(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    name = _non_utf8_item(root, b"caf\xe9.yaml", "cafe")
    for fmt in ("text", "github"):
        result = CliRunner().invoke(main, ["validate", "--format", fmt, "--bank", str(root)])
        assert result.exit_code == 1, result.output
        assert "caf\\xe9.yaml" in result.output
        result.output.encode("utf-8")  # printable
    _, report = _validate("--bank", str(root))
    assert [p["code"] for p in report["problems"]] == ["IB004"]
    assert report["problems"][0]["file"].endswith("caf\\xe9.yaml")


def test_ten_thousand_options_are_refused_not_crashing_an_export(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    root.mkdir()
    options = "".join(f"  - {{id: o{i}, text: Option {i}, feedback: No.}}\n" for i in range(10_000))
    (root / "many.yaml").write_text("id: many\ntype: multiple_choice\nstem: Pick.\noptions:\n  - {id: a, text: Right, correct: true}\n" + options)
    code, report = _validate("--bank", str(root))
    assert code == 1 and [(p["code"], p["line"]) for p in report["problems"]] == [("IB106", 4)]
    result = CliRunner().invoke(main, ["export", "xlsx", "--bank", str(root), "-o", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not (tmp_path / "r.xlsx").exists()


# --- link loops met by an import ------------------------------------------------------------------


QTI_ITEM = (
    '<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="q1" title="Q one" adaptive="false"'
    ' timeDependent="false"><responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">'
    '<correctResponse><value>B</value></correctResponse></responseDeclaration><itemBody><p>See <img src="{src}" alt="a dot"/></p>'
    '<choiceInteraction responseIdentifier="RESPONSE" maxChoices="1"><simpleChoice identifier="A">one</simpleChoice>'
    '<simpleChoice identifier="B">two</simpleChoice></choiceInteraction></itemBody><responseProcessing'
    ' template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct"/></assessmentItem>'
)


def _import(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["import", *args])
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_an_image_beside_a_qti_file_that_is_a_link_loop_is_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was "internal error: RuntimeError: Symlink loop from ..." (Path.resolve on Python 3.11)."""
    monkeypatch.chdir(tmp_path)
    Path("loop.png").symlink_to("loop.png")
    Path("item.xml").write_text(QTI_ITEM.format(src="loop.png"), encoding="utf-8")
    code, out = _import("qti", "item.xml", "--into", "bank", "--dry-run")
    assert code == 0 and "not in the package, replaced by their description: loop.png" in out, out  # as a missing one


def test_an_image_beside_a_text2qti_quiz_that_is_a_link_loop_is_kept_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was "internal error: RuntimeError: Symlink loop from ..." (Path.resolve on Python 3.11)."""
    from import_compare import read
    from itembank.importers.text2qti import importer as t2q

    monkeypatch.chdir(tmp_path)
    Path("loop.png").symlink_to("loop.png")
    Path("quiz.md").write_text("Quiz title: T\n\n1.  What? ![x](loop.png)\n*a) yes\nb) no\n", encoding="utf-8")
    result, _media = read(t2q, Path("quiz.md"))
    assert "image 'loop.png' next to the quiz file is a link loop: kept as written" in result.items[0].notes
    code, out = _import("text2qti", "quiz.md", "--into", "bank", "--dry-run")
    assert code == 0 and "IB211" in out and "loop.png" in out, out  # kept as written: not importable, skipped


@pytest.mark.parametrize("into", ["lb", "lb/sub"])
def test_an_import_into_a_link_loop_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, into: str) -> None:
    """Was "internal error: RuntimeError: Symlink loop from ..." (Path.resolve on Python 3.11)."""
    monkeypatch.chdir(tmp_path)
    Path("lb").symlink_to("lb")
    Path("img.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    Path("item.xml").write_text(QTI_ITEM.format(src="img.png"), encoding="utf-8")
    for dry in ([], ["--dry-run"]):
        code, out = _import("qti", "item.xml", "--into", into, *dry)
        assert code == 2 and f"--into {into}: following its links never reaches a folder (a link loop)" in out, out
    assert os.readlink("lb") == "lb"


# --- whole banks ---------------------------------------------------------------------------------


def test_an_empty_bank_is_no_items_found_unless_allowed(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an item")
    code, report = _validate("--bank", str(empty))
    assert code == 1 and [p["code"] for p in report["problems"]] == ["IB016"]
    assert "no items found" in report["problems"][0]["message"]
    code, report = _validate("--bank", str(empty), "--allow-empty")
    assert code == 0 and report["problems"] == []
    result = CliRunner().invoke(main, ["validate", "--bank", str(empty)])
    assert result.exit_code == 1 and "no items found" in result.output
    # build and export refuse it too: nothing to export is not a success.
    result = CliRunner().invoke(main, ["build", "--bank", str(empty), "-o", str(tmp_path / "dist")])
    assert result.exit_code == 1 and "IB016" in result.output
    assert not (tmp_path / "dist").exists()


def test_two_blueprints_with_the_same_name_are_refused(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "ok.yaml").write_text("id: ok1\ntype: flashcard\nstem: Front.\nanswer: Back.\nstatus: approved\n", encoding="utf-8")
    (root / "assessments").mkdir()
    blueprint = "title: Same\nsections:\n  - title: S\n    select:\n      - ids: [ok1]\n"
    (root / "assessments" / "same.yaml").write_text(blueprint, encoding="utf-8")
    (root / "assessments" / "same.yml").write_text(blueprint.replace("Same", "Other"), encoding="utf-8")
    code, report = _validate("--bank", str(root))
    assert code == 1, report
    assert [(p["code"], Path(p["file"]).name) for p in report["problems"]] == [("IB412", "same.yml")]


# --- reporters -----------------------------------------------------------------------------------

ESC_TITLE = "\x1b]0;pwned\x07"


def _hostile_bank(tmp_path: Path) -> Path:
    root = tmp_path / "bank"
    root.mkdir()
    # A control sequence in a file name, in an unknown key and in a value that appears in messages,
    # a bidirectional override, and a value that would start a GitHub workflow command.
    (root / f"x{ESC_TITLE}.yaml").write_text("id: a1\ntype: flashcard\nstem: Front.\nanswer: Back.\ndifficulty: hard\x1b[2J\n", encoding="utf-8")
    (root / "b.yaml").write_text('id: b1\ntype: flashcard\nstem: Front.\nanswer: Back.\n"\\e[31m\\u202e::error::x": 1\n', encoding="utf-8")
    (root / "::error file=x.yaml::pwned.yaml").write_text("id: c1\ntype: flashcard\nstem: ''\nanswer: Back.\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_reports_never_carry_raw_control_characters_or_workflow_commands(tmp_path: Path, fmt: str) -> None:
    root = _hostile_bank(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--format", fmt, "--bank", str(root)])
    assert result.exit_code == 1
    out = result.output
    assert "\x1b" not in out and "\x07" not in out
    if fmt == "json":  # JSON escapes the controls and keeps the exact values for tools
        report = json.loads(out)
        assert len(report["problems"]) == 3
        assert any("\x1b" in p["file"] for p in report["problems"])
        return
    assert "\u202e" not in out
    lines = out.splitlines()
    assert len(lines) == 4, lines  # one line per problem and the summary: no value splits a line
    assert "\\x1b" in out and "\\u202e" in out
    if fmt == "text":
        assert not any(line.startswith("::") for line in lines), lines
    else:  # every line but the summary is exactly one annotation, its properties free of "::"
        import re

        annotation = re.compile(r"^::(error|warning) file=[^:,]*,line=\d+,col=\d+,title=[^:,]*::")
        assert all(annotation.match(line) for line in lines[:-1]), lines


def test_blueprint_instructions_are_checked_as_markdown(tmp_path: Path) -> None:
    """Blueprint instructions are Markdown (itembank.fields): raw HTML and script URLs are refused there too."""
    root = _bank(tmp_path)
    (root / "ok.yaml").write_text("id: ok1\ntype: flashcard\nstem: Front.\nanswer: Back.\nstatus: approved\n", encoding="utf-8")
    (root / "assessments").mkdir()
    (root / "assessments" / "quiz.yaml").write_text(
        "title: Quiz\ninstructions: \"<!-- x --><script>alert(1)</script>\"\nsections:\n"
        "  - title: S\n    instructions: \"[go](javascript:alert(1))\"\n    select:\n      - ids: [ok1]\n",
        encoding="utf-8",
    )
    code, report = _validate("--bank", str(root))
    assert code == 1
    assert [(p["code"], p["line"], p["path"]) for p in report["problems"]] == [("IB215", 2, "instructions"), ("IB222", 5, "sections[0].instructions")]


def test_build_export_and_stats_never_print_raw_control_characters(tmp_path: Path) -> None:
    """The bank title, topics, section titles and notes reach the terminal escaped, as reports do."""
    root = _bank(tmp_path)
    (root / "itembank.yaml").write_text('title: "Bank \\u202e reversed"\n', encoding="utf-8")
    (root / "ok.yaml").write_text('id: ok1\ntype: flashcard\nstem: Front.\nanswer: Back.\ntopic: "t\\u202e\\u2028x"\n', encoding="utf-8")
    for args in (["build", "-o", str(tmp_path / "dist"), "--format", "json"], ["stats"], ["export", "json", "-o", str(tmp_path / "b.json")]):
        result = CliRunner().invoke(main, [*args, "--bank", str(root)])
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output and "\u202e" not in result.output, result.output
    assert "\\u202e" in CliRunner().invoke(main, ["stats", "--bank", str(root)]).output
    # A control character in the bank title is refused like one in an item (exports cannot carry it).
    (root / "itembank.yaml").write_text('title: "Bank \\e]0;pwned\\a"\n', encoding="utf-8")
    code, report = _validate("--bank", str(root))
    assert code == 1 and [(p["code"], p["line"]) for p in report["problems"]] == [("IB015", 1)]


def test_a_control_character_in_a_blueprint_is_reported_not_an_export_failure(tmp_path: Path) -> None:
    root = _bank(tmp_path)
    (root / "ok.yaml").write_text("id: ok1\ntype: flashcard\nstem: Front.\nanswer: Back.\nstatus: approved\n", encoding="utf-8")
    (root / "assessments").mkdir()
    (root / "assessments" / "q.yaml").write_text('title: Quiz\nsections:\n  - title: "S \\e[2J"\n    select:\n      - ids: [ok1]\n', encoding="utf-8")
    code, report = _validate("--bank", str(root))
    assert code == 1
    assert [(p["code"], p["line"], p["path"]) for p in report["problems"]] == [("IB216", 3, "sections[0].title")]


def _printable_reference(text: str, newlines: bool) -> str:
    """The escaping ``printable`` must do, written without its fast path."""
    import re

    unsafe = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
    if not newlines:
        text = text.replace("\n", "\\n").replace("\r", "\\r")
    return unsafe.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def test_printable_escapes_every_unsafe_character_on_its_fast_path_too() -> None:
    """Report text that is plain ASCII skips the escaping regex: that shortcut must never let a
    control character, DEL, a newline or a bidirectional override through."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from itembank.reporters import printable

    @settings(max_examples=500, deadline=None)
    @given(text=st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=0x7F)), st.text(alphabet="\t\n\r\x1b\x7f\x85\u202e a~é")), newlines=st.booleans())
    def check(text: str, newlines: bool) -> None:
        assert printable(text, newlines=newlines) == _printable_reference(text, newlines)

    check()


@pytest.mark.parametrize("fmt", ["text", "github", "json", "sarif"])
def test_an_invisible_character_in_a_field_name_is_shown_as_an_escape(tmp_path: Path, fmt: str) -> None:
    """"unknown field '\\ufeffstem' (did you mean 'stem'?)" printed the BOM raw: the name read
    'stem' on screen. Every reporter's message quotes the name with such characters escaped."""
    root = tmp_path / "bank"
    root.mkdir()
    (root / "q.yaml").write_text("id: q1\ntype: flashcard\nstem: Front.\nanswer: Back.\n\ufeffstem: x\nhint\u200b: y\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--format", fmt, "--bank", str(root)])
    assert result.exit_code == 1, result.output
    if fmt == "json":
        messages = [p["message"] for p in json.loads(result.output)["problems"]]
    elif fmt == "sarif":
        messages = [r["message"]["text"] for r in json.loads(result.output)["runs"][0]["results"]]
    else:
        messages = result.output.splitlines()[:-1]
    assert len(messages) == 2, messages
    assert any("unknown field '\\ufeffstem' (did you mean 'stem'?)" in m for m in messages), messages
    assert any("unknown field 'hint\\u200b'" in m for m in messages), messages
    assert not any("\ufeff" in m or "\u200b" in m for m in messages), messages


def test_quoted_names_every_invisible_character_and_keeps_the_rest() -> None:
    from itembank.wording import quoted

    assert quoted("stem") == "'stem'"
    assert quoted("énoncé") == "'énoncé'"
    assert quoted("\ufeffa\u200bb\u00a0c\x00d\u2060e") == "'\\ufeffa\\u200bb\\xa0c\\x00d\\u2060e'"
    assert quoted("a\\ufeff") == "'a\\\\ufeff'"  # a written backslash is not an escape
    assert quoted("a b") == "'a b'" and quoted(3) == "'3'"


def test_a_file_name_that_is_not_utf8_is_its_own_bytes_in_the_sarif_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SARIF's uri was the report's display escape, percent-encoded (bad%5Cxffname.yaml): a file
    that does not exist.  It is the name's bytes percent-encoded (bad%FFname.yaml); the text, github
    and json reports still show the byte as \\xff, and the SARIF fingerprint is what it was."""
    import hashlib
    from urllib.parse import unquote_to_bytes

    root = _bank(tmp_path)
    name = _non_utf8_item(root, b"bad\xffname.yaml", "bad")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--format", "sarif", "--bank", "bank"])
    assert result.exit_code == 1, result.output
    [finding] = json.loads(result.output)["runs"][0]["results"]
    location = finding["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "bank/bad%FFname.yaml", "uriBaseId": "%SRCROOT%"}
    assert (tmp_path / os.fsdecode(unquote_to_bytes(location["uri"]))).is_file()
    shown = "bank/bad\\xffname.yaml"
    assert finding["partialFingerprints"]["itembankFinding/v1"] == hashlib.sha256(
        f"{shown}\0IB004\0\0\0file name is not valid UTF-8: rename the file".encode()
    ).hexdigest()[:32]
    _, report = _validate("--bank", "bank")
    assert [p["file"] for p in report["problems"]] == [shown]
    for fmt in ("text", "github"):
        out = CliRunner().invoke(main, ["validate", "--format", fmt, "--bank", "bank"]).output
        assert shown in out and "\\udc" not in out, out
    # outside the working folder: a file: URI of the same bytes
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = CliRunner().invoke(main, ["validate", "--format", "sarif", "--bank", str(root)])
    [finding] = json.loads(result.output)["runs"][0]["results"]
    uri = finding["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and uri.endswith("/bank/bad%FFname.yaml"), uri


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("1e309", "number 1e309 is not finite: it is beyond the largest number a double holds (±1.8e308)"),
        ("-1.5E400", "number -1.5E400 is not finite: it is beyond the largest number a double holds (±1.8e308)"),
        ("-.Inf", "number -.Inf is not finite"),
        (".nan", "number .nan is not finite"),
    ],
)
def test_a_number_that_is_not_finite_is_quoted_as_written(tmp_path: Path, written: str, message: str) -> None:
    """YAML 1e309 was reported as 'number inf is not finite' (Python's float, not the author's text)."""
    root = tmp_path / "bank"
    root.mkdir()
    (root / "q.yaml").write_text(f"id: q1\ntype: numeric\nstem: How many?\nanswer: 2\ntolerance: [1, {written}]\n", encoding="utf-8")
    _, report = _validate("--bank", str(root))
    assert [(p["code"], p["line"], p["column"], p["message"]) for p in report["problems"]] == [("IB014", 5, 16, message)]
