"""An export never destroys files (issue 9): it replaces only what it owns, never writes into the
bank, and a build that fails part-way leaves ``dist/`` as it was."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from itembank.cli import main
from itembank.output import MANIFEST

ALL_TYPES = Path(__file__).parent / "banks" / "all-types"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's project: a git folder, a bank in items/, some notes; the working folder is the project."""
    proj = tmp_path / "proj"
    shutil.copytree(ALL_TYPES, proj / "items")
    (proj / ".git").mkdir()
    (proj / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (proj / "notes.md").write_text("my notes\n")
    monkeypatch.chdir(proj)
    return proj


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result.exit_code, result.output


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "args",
    [
        ["export", "markdown", "-o", "."],
        ["export", "markdown", "-o", "../proj"],
        ["export", "qti21", "--unzipped", "-o", "."],
        ["export", "markdown", "-o", "items"],
        ["export", "markdown", "-o", "items/print"],
        ["export", "json", "-o", "items/a.yaml"],
        ["export", "json", "-o", "items/media/bank.json"],
        ["export", "json", "-o", "."],
        ["build", "-o", "."],
        ["build", "-o", "items"],
        ["build", "-o", "items/dist"],
    ],
    ids=lambda a: " ".join(a),
)
def test_outputs_that_would_destroy_or_pollute_the_project_are_refused(project: Path, args: list[str]) -> None:
    before = _snapshot(project)
    code, out = _run(*args, "--bank", "items")
    assert code == 2, out
    assert "refusing" in out or "is a folder" in out, out
    assert _snapshot(project) == before  # nothing written, nothing removed
    assert not [p for p in project.rglob("*staging*")]


def test_a_folder_with_files_itembank_did_not_write_is_never_replaced(project: Path) -> None:
    (project / "print").mkdir()
    (project / "print" / "mine.md").write_text("keep me")
    code, out = _run("export", "markdown", "-o", "print", "--bank", "items")
    assert code == 2 and "print/mine.md" not in out and "mine.md" in out
    assert (project / "print" / "mine.md").read_text() == "keep me"


def test_an_export_replaces_its_own_previous_output_and_an_empty_folder(project: Path) -> None:
    (project / "out").mkdir()  # empty: fine
    assert _run("export", "markdown", "-o", "out", "--bank", "items")[0] == 0
    first = _snapshot(project / "out")
    assert MANIFEST in first and "bank.md" in first[MANIFEST].decode()
    assert _run("export", "markdown", "-o", "out", "--bank", "items")[0] == 0  # its own: replaced
    assert _snapshot(project / "out") == first  # same bank, same bytes
    (project / "out" / "extra.txt").write_text("added by hand")
    code, out = _run("export", "markdown", "-o", "out", "--bank", "items")
    assert code == 2 and "extra.txt" in out
    assert (project / "out" / "extra.txt").read_text() == "added by hand"


def test_build_replaces_its_own_dist_and_refuses_one_with_other_files(project: Path) -> None:
    assert _run("build", "--bank", "items", "--format", "json", "--format", "markdown")[0] == 0
    manifest = (project / "dist" / MANIFEST).read_text().splitlines()
    assert "bank.json" in manifest and "print/bank.md" in manifest
    assert _run("build", "--bank", "items", "--format", "json")[0] == 0  # again: its own
    assert (project / "dist" / "print" / "bank.md").is_file()  # a partial build keeps the other outputs
    (project / "dist" / "todo.txt").write_text("mine")
    code, out = _run("build", "--bank", "items", "--format", "json")
    assert code == 2 and "todo.txt" in out
    assert (project / "dist" / "todo.txt").read_text() == "mine"


def test_a_build_failing_part_way_leaves_dist_as_it_was(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run("build", "--bank", "items", "--format", "json", "--format", "markdown")[0] == 0
    before = _snapshot(project / "dist")
    (project / "items" / "choice.yaml").write_text((project / "items" / "choice.yaml").read_text().replace("Loss curve reading", "Loss curve reading, changed", 1))

    from itembank import output

    reached = project.parent / "write-reached"  # a file: the write may happen in a build worker process
    real = output.write_files

    def failing(folder: Path, files: dict[str, bytes], previous: Path | None = None) -> None:
        reached.touch()
        real(folder, dict(list(files.items())[:1]), previous)  # (the first file: the same as the last build's, linked)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_files", failing)
    code, out = _run("build", "--bank", "items", "--format", "json", "--format", "markdown")
    assert reached.exists(), "the failure was never reached"
    assert code == 1 and "No space left on device" in out
    assert _snapshot(project / "dist") == before  # not a mix of old and new
    assert sorted(p.name for p in project.iterdir()) == [".git", "dist", "items", "notes.md"]  # no staging left


def test_dot_output_is_refused_cleanly_even_without_a_bank_inside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("keep")
    monkeypatch.chdir(work)
    code, out = _run("export", "markdown", "-o", ".", "--bank", str(ALL_TYPES))
    assert code == 2 and "keep.txt" in out
    assert os.listdir(work) == ["keep.txt"]


def test_an_output_path_that_is_a_link_is_not_followed(project: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (project / "bank.json").symlink_to(victim)
    code, out = _run("export", "json", "-o", "bank.json", "--bank", "items")
    assert code == 2 and "link" in out
    assert victim.read_text() == "precious"


@pytest.mark.parametrize(
    "args",
    [
        ["export", "json", "-o", "loop.json"],
        ["export", "json", "-o", "loopdir/bank.json"],
        ["export", "markdown", "-o", "loopdir"],
        ["export", "qti21", "--unzipped", "-o", "loopdir/qti"],
        ["build", "-o", "loopdir"],
    ],
    ids=lambda a: " ".join(a),
)
def test_an_output_path_that_is_a_link_loop_is_a_usage_error(project: Path, args: list[str]) -> None:
    """Was "internal error: RuntimeError: Symlink loop from ..." (Path.resolve on Python 3.11)."""
    (project / "loop.json").symlink_to("loop.json")
    (project / "loopdir").symlink_to("loopdir")
    before = _snapshot(project)
    code, out = _run(*args, "--bank", "items")
    assert code == 2, out
    assert "link loop" in out and args[args.index("-o") + 1] in out, out
    assert _snapshot(project) == before and (project / "loop.json").is_symlink() and (project / "loopdir").is_symlink()
    assert not [p for p in project.rglob("*staging*")]


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["", "force"])
@pytest.mark.parametrize("target", ["items/loop2.yaml", "loopdir/x2.yaml"])
def test_new_refuses_a_file_that_is_a_link_loop(project: Path, target: str, force: list[str]) -> None:
    (project / "items" / "loop2.yaml").symlink_to("loop2.yaml")
    (project / "loopdir").symlink_to("loopdir")
    before = _snapshot(project)
    code, out = _run("new", "true_false", "x2", "-o", target, "--bank", "items", *force)
    assert code == 2, out
    assert "link loop" in out and target in out, out
    assert _snapshot(project) == before and os.readlink(project / "items" / "loop2.yaml") == "loop2.yaml"
    assert not [p for p in project.rglob(".loop2.yaml.*")]


def test_one_file_exports_keep_dist_owned_so_build_can_replace_it(project: Path) -> None:
    """`export json` on a fresh checkout creates dist/; a later build must still own dist/."""
    assert _run("export", "json", "--bank", "items")[0] == 0
    assert sorted(os.listdir(project / "dist")) == ["bank.json"]  # a one-file export adds nothing else
    assert _run("build", "--bank", "items", "--format", "markdown")[0] == 0  # bank.json is a build output
    assert (project / "dist" / "bank.json").is_file() and (project / "dist" / "print" / "bank.md").is_file()
    # A one-file export into a built dist/ (a format the build left out) is recorded in its manifest.
    assert _run("export", "gift", "--bank", "items")[0] == 0
    assert "questions.gift" in (project / "dist" / MANIFEST).read_text().splitlines()
    assert _run("build", "--bank", "items", "--format", "json")[0] == 0
    # An export to a file in a folder itembank does not own leaves no manifest there.
    (project / "exports").mkdir()
    assert _run("export", "json", "--bank", "items", "-o", "exports/bank.json")[0] == 0
    assert sorted(os.listdir(project / "exports")) == ["bank.json"]


@pytest.mark.parametrize("args", [["export", "moodle", "-o", "notes.md/x.xml"], ["export", "markdown", "-o", "notes.md/print"], ["build", "-o", "notes.md/dist"]])
def test_an_output_below_a_file_is_a_usage_error_that_names_the_file(project: Path, args: list[str]) -> None:
    before = _snapshot(project)
    code, out = _run(*args, "--bank", "items")
    assert code == 2, out
    assert "notes.md is a file, not a folder" in out, out
    assert _snapshot(project) == before


# --- one-file outputs: a file itembank did not write is never replaced --------------------------------

#: Every format that writes one file, and a name a user might give it.
ONE_FILE = [("moodle", "quiz.xml"), ("gift", "notes.txt"), ("xlsx", "review.xlsx"), ("json", "bank.json"),
            ("qti21", "quiz.zip"), ("qti30", "quiz.zip"), ("canvas", "quiz.zip")]


@pytest.mark.parametrize("fmt,name", ONE_FILE)
def test_a_one_file_export_replaces_its_own_file_and_the_same_bank_gives_the_same_bytes(project: Path, fmt: str, name: str) -> None:
    assert _run("export", fmt, "-o", name)[0] == 0
    first = (project / name).read_bytes()
    code, out = _run("export", fmt, "-o", name)
    assert code == 0, out
    assert (project / name).read_bytes() == first


@pytest.mark.parametrize("fmt,name", ONE_FILE)
@pytest.mark.parametrize("foreign", [b"my notes\n", b'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n</quiz>\n', b"{\"format\": \"other\"}\n"])
def test_a_one_file_export_refuses_a_file_itembank_did_not_write_and_leaves_it(project: Path, fmt: str, name: str, foreign: bytes) -> None:
    """`itembank export gift -o notes.txt` replaced the user's notes: a file at -o is replaced only
    when itembank wrote it (its mark) or with --force; otherwise exit 2, the file as it was."""
    (project / name).write_bytes(foreign)
    code, out = _run("export", fmt, "-o", name)
    assert code == 2, out
    assert f"refusing to replace {name}" in out and "itembank did not write" in out and "--force" in out, out
    assert (project / name).read_bytes() == foreign
    code, out = _run("export", fmt, "-o", name, "--force")
    assert code == 0, out
    assert (project / name).read_bytes() != foreign
    assert _run("export", fmt, "-o", name)[0] == 0  # ours now


@pytest.mark.parametrize("fmt", ["xlsx", "qti21", "canvas"])
def test_a_zip_that_lost_its_mark_is_no_longer_ours(project: Path, fmt: str) -> None:
    """A workbook a reviewer saved in Excel or LibreOffice (or a package rezipped) no longer carries
    the zip comment itembank writes: it holds their work now, and is refused."""
    import zipfile

    assert _run("export", fmt, "-o", "out.zip")[0] == 0
    with zipfile.ZipFile(project / "out.zip") as z:
        members = [(i, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(project / "out.zip", "w") as z:
        for info, data in members:
            z.writestr(info, data)
    saved = (project / "out.zip").read_bytes()
    assert _run("export", fmt, "-o", "out.zip")[0] == 2
    assert (project / "out.zip").read_bytes() == saved


def test_an_empty_file_and_a_file_listed_in_a_manifest_may_be_replaced(project: Path) -> None:
    (project / "empty.txt").write_bytes(b"")
    assert _run("export", "gift", "-o", "empty.txt")[0] == 0
    assert _run("build")[0] == 0
    assert _run("export", "moodle", "-o", "dist/moodle.xml")[0] == 0


def test_a_refused_one_file_output_is_refused_before_the_export_runs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file at -o that is not ours is refused before the bank is exported (on a large bank the
    export costs seconds, all of it for nothing), with the same message and exit code."""
    import itembank.api

    ran: list[str] = []
    real = itembank.api.export
    monkeypatch.setattr(itembank.api, "export", lambda *a, **k: ran.append("export") or real(*a, **k))
    (project / "notes.txt").write_bytes(b"my notes\n")
    code, out = _run("export", "gift", "-o", "notes.txt")
    assert code == 2 and "refusing to replace notes.txt" in out, out
    assert ran == []
    assert (project / "notes.txt").read_bytes() == b"my notes\n"
    assert _run("export", "gift", "-o", "fresh.txt")[0] == 0 and ran == ["export"]  # the export itself still runs


@pytest.mark.parametrize("args", [["export", "gift", "-o", "-"], ["export", "markdown", "-o", "-"], ["build", "-o", "-"]], ids=["export", "export-folder", "build"])
def test_dash_as_output_is_refused_not_a_file_named_dash(project: Path, args: list[str]) -> None:
    """No command writes to standard output: `-o -` is a usage error, not a file or folder named '-'."""
    code, out = _run(*args)
    assert code == 2, out
    assert "standard output" in out, out
    assert not (project / "-").exists()


def test_a_fifo_at_the_output_path_is_refused_and_left_as_it_is(project: Path) -> None:
    """A named pipe (or a device) at -o is not a file itembank wrote: refused, not replaced by a regular file."""
    os.mkfifo(project / "pipe")
    code, out = _run("export", "json", "-o", "pipe")
    assert code == 2, out
    assert (project / "pipe").is_fifo()


def test_the_zip_mark_is_added_without_copying_the_package() -> None:
    """A package of tens of megabytes gets its mark (the zip comment) as a second piece written after
    it, not by a copy of its bytes (the copy raised a 10,000-item build's peak by ~40 MB)."""
    import io
    import zipfile

    from itembank.formats import ZIP_MARK
    from itembank.output import marked_zip

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x" * 1000)
    data = buf.getvalue()
    pieces = marked_zip(data)
    assert isinstance(pieces[0], memoryview) and pieces[0].obj is data  # the package itself, not a copy
    with zipfile.ZipFile(io.BytesIO(b"".join(pieces))) as z:
        assert z.comment == ZIP_MARK and z.read("a.txt") == b"x" * 1000
    assert marked_zip(b"not a zip") == (b"not a zip",)
