"""What a first-time author hits (issue 11, defects 7, 8, 9 and 11): YAML traps, YAML errors with a
fix, output folder modes, and the small CLI defects.  Each test failed before its fix."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from itembank.cli import main
from itembank.sources import parse
from itembank.validate import check_bank

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    if cwd is None:
        r = runner.invoke(main, list(args))
    else:
        old = os.getcwd()
        os.chdir(cwd)
        try:
            r = runner.invoke(main, list(args))
        finally:
            os.chdir(old)
    return r.exit_code, r.stdout, r.stderr


def bank(tmp_path: Path, text: str, name: str = "a.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def codes(root: Path) -> list[tuple[str, int, str | None]]:
    return [(p.code, p.line, p.item_id) for p in check_bank(root).problems]


# --- 7: the README's example was a YAML trap -----------------------------------------------------


def readme_items() -> list[tuple[int, str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"```yaml\n(.*?)```", readme, re.S):
        block = m.group(1)
        if re.search(r"^id: ", block, re.M) and re.search(r"^type: ", block, re.M):
            out.append((readme.count("\n", 0, m.start()) + 2, block))
    return out


def test_readme_has_an_example_of_every_type() -> None:
    types = {re.search(r"^type: (\w+)", b, re.M).group(1) for _, b in readme_items()}  # type: ignore[union-attr]
    from itembank.model import ITEM_TYPES

    assert types == set(ITEM_TYPES)  # the calculated type included


@pytest.mark.parametrize("line,block", readme_items(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_every_readme_item_example_is_valid_without_a_warning(tmp_path: Path, line: int, block: str) -> None:
    # Every example is checked as written; its image (if any) does not matter here.
    (tmp_path / "x.yaml").write_text(block, encoding="utf-8")
    problems = [p.format() for p in check_bank(tmp_path).problems if p.code not in ("IB211",)]
    assert problems == [], f"README line {line}"


def test_a_flow_list_that_is_one_sentence_split_at_a_comma_warns(tmp_path: Path) -> None:
    root = bank(
        tmp_path,
        "id: a\ntype: flashcard\nstem: s\nanswer: t\n"
        "hints: [Fine-tuning = adapt a model, not train it from scratch.]\n"
        "common_mistakes: [Mixing up phases, Forgetting the data]\n",
    )
    found = check_bank(root).problems
    assert [(p.code, p.line, p.column, p.path, p.severity) for p in found] == [("IB320", 5, 8, "hints", "warning")]
    assert '["Fine-tuning = adapt a model, not train it from scratch."]' in found[0].message


def test_lists_of_separate_entries_do_not_warn(tmp_path: Path) -> None:
    root = bank(
        tmp_path,
        "items:\n"
        "  - {id: a, type: short_answer, stem: s, answers: [pre-training, pretraining]}\n"
        "  - {id: b, type: ordering, stem: s, sequence: [Collect a corpus, Pre-train, Fine-tune, Evaluate.]}\n"
        '  - {id: c, type: flashcard, stem: s, answer: t, hints: ["One, two, three."]}\n'
        "  - id: d\n    type: flashcard\n    stem: s\n    answer: t\n    hints:\n      - Adapt a model, not train it.\n",
    )
    assert codes(root) == []


@pytest.mark.parametrize(
    "value,written,what",
    [("1.10", "`1.10`", "the number 1.1"), ("true", "`true`", "true/false"), ("2024", "`2024`", "the number 2024"), ("null", "`null`", "nothing")],
)
def test_a_value_yaml_read_as_a_number_or_boolean_where_text_is_expected_says_so(tmp_path: Path, value: str, written: str, what: str) -> None:
    root = bank(tmp_path, f"id: a\ntype: short_answer\nstem: Version?\nanswers: [{value}, other]\n")
    (p,) = check_bank(root).problems
    assert (p.code, p.line, p.column, p.path) == ("IB103", 4, 11, "answers[0]")
    assert f"YAML read {written} as {what}" in p.message and "quotes" in p.message


def test_yes_no_for_a_boolean_says_to_write_true_or_false(tmp_path: Path) -> None:
    root = bank(tmp_path, "id: a\ntype: true_false\nstem: s\nanswer: no\n")
    (p,) = check_bank(root).problems
    assert p.code == "IB103" and "write true or false" in p.message


def test_a_comment_that_cuts_a_text_warns(tmp_path: Path) -> None:
    root = bank(tmp_path, "id: a\ntype: flashcard\nstem: Use C# #include <stdio.h>\nanswer: t\nstatus: draft   # a comment after a non-text field is fine\n")
    found = check_bank(root).problems
    assert [(p.code, p.line, p.column, p.path, p.severity) for p in found] == [("IB321", 3, 14, "stem", "warning")]
    assert "#include <stdio.h>" in found[0].message


# --- 8: YAML syntax errors say how to fix them ----------------------------------------------------


@pytest.mark.parametrize(
    "text,line,fix",
    [
        ("id: a\ntype: flashcard\nstem: Note: this is it\nanswer: x\n", 3, "put the whole text in quotes"),
        ("id: a\ntype: flashcard\nstem: Front.\nanswer:\n\tBack.\n", 5, "YAML indents with spaces only"),
        ('id: a\ntype: flashcard\nstem: "Hello world\nanswer: x\n', 3, "a quote opened here is never closed"),
        ("id: a\ntype: flashcard\nstem: 'Hello world\nanswer: x\n", 3, "a quote opened here is never closed"),
        ("id: a\ntype: flashcard\nstem: {{x}} is a placeholder\nanswer: x\n", 3, "is read as a YAML mapping"),
        ("id: a\ntype: flashcard\nstem: *bold* first\nanswer: x\n", 3, "cannot start with `*`"),
        ("id: a\ntype: flashcard\nstem: `code` first\nanswer: x\n", 3, "cannot start with `"),
        ("id: a\ntype: flashcard\nstem: s\nanswer: x\nhints: [use #1 first, then]\n", 5, "write the list one entry a line"),
    ],
)
def test_yaml_syntax_errors_name_the_fix_and_the_line(text: str, line: int, fix: str) -> None:
    _, p = parse(text, "x.yaml", is_json=False)
    assert p is not None and p.code == "IB010"
    assert p.line == line, p.format()
    assert fix in p.message, p.message


# --- 9: output folders respect the umask -----------------------------------------------------------


def test_output_folders_and_files_follow_the_umask(tmp_path: Path) -> None:
    from itembank.atomic import write_file_atomic, write_result
    from itembank.formats import ExportResult

    def write_tree_atomic(path: Path, files: dict[str, bytes]) -> None:
        write_result(ExportResult(files=files), path)


    old = os.umask(0o022)
    try:
        write_tree_atomic(tmp_path / "print", {"a.md": b"x", "sub/b.md": b"y"})
        write_file_atomic(tmp_path / "f.xml", b"z")
        os.umask(0o027)
        write_tree_atomic(tmp_path / "private", {"a.md": b"x"})
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "print") == 0o755
    assert mode(tmp_path / "print" / "sub") == 0o755
    assert mode(tmp_path / "f.xml") == 0o644
    assert mode(tmp_path / "private") == 0o750


def test_build_makes_readable_print_folders(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        code, out, err = invoke("build", "--bank", str(ROOT / "items"), "-o", str(tmp_path / "dist"), "--format", "markdown")
    finally:
        os.umask(old)
    assert code == 0, out + err
    folders = [tmp_path / "dist" / "print", *sorted((tmp_path / "dist" / "assessments").glob("*/print"))]
    assert len(folders) == 3
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder


# --- 11: the small ones ------------------------------------------------------------------------------


def test_new_refuses_an_id_the_bank_already_uses(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    bank(tmp_path, "items:\n  - {id: taken, type: flashcard, stem: s, answer: t}\n", "sub/a.yaml")
    code, out, err = invoke("new", "flashcard", "taken", "--bank", str(tmp_path))
    assert code == 1
    assert "id 'taken' is already used in" in out + err and "a.yaml" in out + err
    assert not (tmp_path / "taken.yaml").exists()
    code, out, err = invoke("new", "flashcard", "fresh", "--bank", str(tmp_path))
    assert code == 0 and (tmp_path / "fresh.yaml").is_file()


BLUEPRINT_BANK = "items:\n" + "".join(
    f"  - {{id: q{i}, type: flashcard, stem: s{i}, answer: t, status: approved, difficulty: easy}}\n" for i in range(3)
)


def test_a_schema_error_in_a_blueprint_does_not_hide_its_other_errors(tmp_path: Path) -> None:
    bank(tmp_path, BLUEPRINT_BANK)
    (tmp_path / "assessments").mkdir()
    (tmp_path / "assessments" / "quiz.yaml").write_text(
        "title: Quiz\nsections:\n"
        "  - title: One\n    select:\n      - {ids: [q0, nosuch]}\n      - {difficulty: easy, count: three}\n"
        "  - title: Two\n    colour: red\n    select:\n      - {ids: [q1]}\n"
        "  - title: Three\n    select:\n      - {ids: [q0]}\n"
    )
    found = sorted((p.code, p.line) for p in check_bank(tmp_path).problems)
    assert ("IB401", 6) in found  # count: three
    assert ("IB401", 8) in found  # unknown field colour
    assert ("IB402", 5) in found  # nosuch: found although the blueprint has schema errors
    assert ("IB403", 13) in found  # q0 twice


def test_a_pool_that_is_too_small_is_not_also_called_not_random(tmp_path: Path) -> None:
    bank(tmp_path, BLUEPRINT_BANK)
    (tmp_path / "assessments").mkdir()
    (tmp_path / "assessments" / "quiz.yaml").write_text(
        "title: Quiz\nsections:\n  - title: One\n    select:\n      - {difficulty: easy, count: 5, delivery: random}\n"
    )
    assert sorted(p.code for p in check_bank(tmp_path).problems) == ["IB404"]


def test_stats_on_an_invalid_bank_counts_what_it_can_and_exits_1(tmp_path: Path) -> None:
    bank(tmp_path, "items:\n  - {id: a, type: flashcard, stem: s, answer: t}\n  - {id: b, type: flashcard, stem: s}\n")
    code, out, err = invoke("stats", "--bank", str(tmp_path))
    assert code == 1
    assert "1 item" in out and "flashcard" in out
    assert "IB101" in err and "valid items only" in err


def test_validate_inside_a_bank_folder_finds_the_bank(tmp_path: Path) -> None:
    (tmp_path / "bank" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "bank" / "itembank.yaml").write_text("title: Found\n")
    bank(tmp_path / "bank" / "deep", "id: a\ntype: flashcard\nstem: s\nanswer: t\n")
    code, out, err = invoke("validate", cwd=tmp_path / "bank" / "deep" / "er")
    assert code == 0, out + err
    assert "1 valid item" in out
    code, out, err = invoke("validate", cwd=tmp_path)  # not in a bank, no items/: a clear usage error
    assert code == 2 and "does not exist" in out + err


def test_latex_between_backslash_parentheses_or_brackets_warns(tmp_path: Path) -> None:
    r"""``\(x^2\)`` and ``\[ ... \]`` are LaTeX's delimiters, but Markdown reads ``\(`` as an escaped
    '(' : every export showed "Solve for (x)" and "[a;b]" as text, without a word.  Now a warning
    (IB322) names the field; ``$...$``, code, an escaped backslash and escaped brackets around a
    citation are fine."""
    root = bank(
        tmp_path,
        "id: a\ntype: true_false\nstem: 'Solve for \\(x\\), then \\[a \\; b^2\\].'\nanswer: true\n"
        "true_feedback: 'Fine: $x$, `\\(x\\)` in code, \\\\(x\\\\) a backslash, see \\[1\\].'\n",
    )
    found = check_bank(root).problems
    assert [(p.code, p.path, p.severity) for p in found] == [("IB322", "stem", "warning")]
    assert "\\(...\\)" in found[0].message and "$...$" in found[0].message
