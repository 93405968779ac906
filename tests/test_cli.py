"""The CLI contract: exit codes, no tracebacks, skeletons, build, json export, schema, docs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from itembank import check_bank, export, load_bank
from itembank.cli import main
from itembank.model import ITEM_TYPES
from itembank.problems import RULES
from itembank.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "cases"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("item_type", ITEM_TYPES)
def test_new_writes_a_valid_skeleton_of_every_type(tmp_path: Path, item_type: str) -> None:
    code, out = invoke("new", item_type, f"new-{item_type.replace('_', '-')}", "--bank", str(tmp_path))
    assert code == 0, out
    result = check_bank(tmp_path)
    assert result.problems == []
    assert [i.type for i in result.items] == [item_type]


def test_new_refuses_to_overwrite_and_bad_ids(tmp_path: Path) -> None:
    assert invoke("new", "flashcard", "card-1", "--bank", str(tmp_path))[0] == 0
    code, out = invoke("new", "flashcard", "card-1", "--bank", str(tmp_path))
    assert code == 1 and "exists" in out
    code, out = invoke("new", "flashcard", "Bad Id", "--bank", str(tmp_path))
    assert code == 2 and "must match" in out


def test_new_refuses_dash_as_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`new TYPE ID -o -` wrote a file named '-' in the working folder: no command writes to
    standard output, so '-' is refused (exit 2) and nothing is written."""
    monkeypatch.chdir(tmp_path)
    code, out = invoke("new", "flashcard", "card-1", "--bank", ".", "-o", "-")
    assert code == 2 and "'-'" in out, out
    assert list(tmp_path.iterdir()) == []


def test_schema_help_names_every_schema() -> None:
    """`schema --help` said '(item, bank or config)' though 'assessment' works too."""
    from itembank.schema import SCHEMA_NAMES

    code, out = invoke("schema", "--help")
    assert code == 0
    described = re.search(r"Print a JSON Schema \(([^)]*)\)", " ".join(out.split()))
    assert described is not None, out
    assert re.split(r", | or ", described.group(1)) == list(SCHEMA_NAMES)


def test_usage_errors_exit_2() -> None:
    assert invoke("validate", "--format", "xml")[0] == 2
    assert invoke("validate", "/nonexistent/path")[0] == 2
    assert invoke("export", "no-such-format", "--bank", str(ROOT / "tests/banks/all-types"))[0] == 2
    assert invoke("frobnicate")[0] == 2


def test_real_binary_reports_every_invalid_case_without_a_traceback() -> None:
    """The installed command, as CI calls it: exit 1, one line per problem, never a traceback."""
    exe = Path(sys.executable).with_name("itembank")
    proc = subprocess.run([str(exe), "validate", "--bank", str(CASES / "invalid")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert re.match(r"^invalid: \d+ files, ", lines[-1])
    for line in lines[:-1]:
        assert re.match(r"^\S+:\d+:\d+: (error|warning) IB\d{3}( \[[^\]]+\])?( \S+:)? .+", line), line


def test_github_format_emits_workflow_annotations(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("id: x1\ntype: flashcard\nstem: s\n")
    code, out = invoke("validate", "--bank", str(tmp_path), "--format", "github")
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("::error file=")
    assert ",line=1," in first and "title=IB101 [x1]" in first


def test_build_refuses_an_invalid_bank_and_writes_nothing(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "x.yaml").write_text("id: x1\ntype: flashcard\nstem: s\n")
    out = tmp_path / "dist"
    code, output = invoke("build", "--bank", str(bank), "-o", str(out), "--format", "json")
    assert code == 1
    assert "IB101" in output
    assert not out.exists()


def test_build_writes_json_valid_against_the_bank_schema(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    code, output = invoke("build", "--bank", str(ROOT / "tests/banks/all-types"), "-o", str(out), "--format", "json")
    assert code == 0, output
    doc = json.loads((out / "bank.json").read_text())
    jsonschema.Draft202012Validator(load_schema("bank")).validate(doc)
    assert len(doc["items"]) == 13
    assert {i["type"] for i in doc["items"]} == set(ITEM_TYPES)
    # defaults are filled in
    card = next(i for i in doc["items"] if i["type"] == "flashcard")
    assert card["points"] == 1.0 and card["status"] == "draft"
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_json_export_is_deterministic() -> None:
    bank = load_bank(ROOT / "tests/banks/all-types")
    first = export(bank, "json").data
    second = export(load_bank(ROOT / "tests/banks/all-types"), "json").data
    assert first == second and first is not None


def test_export_json_to_a_chosen_path(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    code, out = invoke("export", "json", "-o", str(target), "--bank", str(ROOT / "tests/banks/all-types"))
    assert code == 0, out
    assert "13 items written" in out
    assert json.loads(target.read_text())["format"] == "itembank-bank"


def test_stats_counts_by_type(tmp_path: Path) -> None:
    code, out = invoke("stats", "--bank", str(ROOT / "tests/banks/all-types"), "--json")
    assert code == 0
    stats = json.loads(out)
    assert stats["type"]["multiple_response"] == 2
    assert sum(stats["type"].values()) == 13
    assert stats["type"]["calculated"] == 1


def _walk_properties(schema: object, path: str = "") -> list[str]:
    missing = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict) and "description" not in sub and path.count("then") == 0:
                missing.append(f"{path}/{name}")
        for key, sub in schema.items():
            if key in ("if", "then"):
                continue
            missing += _walk_properties(sub, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, sub in enumerate(schema):
            missing += _walk_properties(sub, f"{path}/{i}")
    return missing


@pytest.mark.parametrize("name", ["item", "bank", "config", "assessment"])
def test_schemas_are_draft_2020_12_with_ids_and_descriptions(name: str) -> None:
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["$id"].endswith(f"{name}.schema.json")
    assert _walk_properties(schema) == []


def test_schema_command_prints_the_item_schema() -> None:
    code, out = invoke("schema")
    assert code == 0
    assert json.loads(out)["$id"] == load_schema("item")["$id"]


def test_schema_ships_inside_the_installed_package() -> None:
    from importlib import resources

    packaged = resources.files("itembank") / "schemas" / "item.schema.json"
    source = ROOT / "schemas" / "item.schema.json"
    # Editable installs read the source tree; a wheel carries the copy.  Either way it must be reachable.
    from itembank.schema import schema_dir

    assert (schema_dir() / "item.schema.json").read_bytes() == source.read_bytes()
    if packaged.is_file():
        assert packaged.read_bytes() == source.read_bytes()


def test_every_command_and_rule_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert f"itembank {name}" in readme, f"command {name} is not documented"
    from itembank.lint import LINT_RULES

    for code in [*RULES, *LINT_RULES]:
        assert f"| {code} |" in readme, f"rule {code} is not documented"


def test_library_api_raises_invalid_bank_with_every_problem(tmp_path: Path) -> None:
    from itembank import InvalidBank

    (tmp_path / "x.yaml").write_text("items:\n  - {id: a, type: flashcard, stem: s}\n  - {id: b, type: flashcard, stem: '', answer: t}\n")
    with pytest.raises(InvalidBank) as info:
        load_bank(tmp_path)
    assert sorted(p.code for p in info.value.result.problems) == ["IB101", "IB213"]


def test_progress_is_quiet_when_not_a_terminal(tmp_path: Path) -> None:
    for i in range(250):
        (tmp_path / f"c{i:03}.yaml").write_text(f"id: c{i}\ntype: flashcard\nstem: s\nanswer: t\n")
    exe = Path(sys.executable).with_name("itembank")
    proc = subprocess.run([str(exe), "validate", "--bank", str(tmp_path)], capture_output=True, text=True, env={**os.environ})
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout.strip() == "ok: 250 files, 250 valid items, 0 errors, 0 warnings"


def test_model_and_schema_agree_on_the_item_types() -> None:
    schema = load_schema("item")
    assert tuple(schema["$defs"]["item"]["properties"]["type"]["enum"]) == ITEM_TYPES
    rules = {r["if"]["properties"]["type"]["const"] for r in schema["$defs"]["item"]["allOf"]}
    assert rules == set(ITEM_TYPES)


def test_build_reports_each_export_before_running_it(tmp_path: Path) -> None:
    from itembank import build

    bank = load_bank(ROOT / "items")
    started: list[tuple[str, str]] = []
    written: list[str] = []
    report = build(bank, tmp_path, formats=["json", "gift"], on_start=lambda f, t: started.append((f, t)), on_export=lambda f, p, r: written.append(f))
    # each export announced once (with workers, the costliest start first: the order is theirs)
    assert len(set(started)) == len(started) and {("json", "bank"), ("gift", "bank")} <= set(started)
    assert ("json", "pattern-check-A") in started and ("gift", "pattern-check-B") in started
    assert len(started) == len(written) == len(report.outputs)


@pytest.mark.parametrize("fmt", ["qti21", "qti30", "canvas", "moodle", "markdown"])
def test_an_image_with_a_non_ascii_name_is_packaged(tmp_path: Path, fmt: str) -> None:
    """The renderer percent-encodes image sources; every exporter must still find the bank's file."""
    import base64
    import io
    import zipfile

    (tmp_path / "media").mkdir()
    png = (ROOT / "tests/banks/all-types/media/loss-curve.png").read_bytes()
    (tmp_path / "media" / "é curve.png").write_bytes(png)
    (tmp_path / "q.yaml").write_text(
        "id: img-q\ntype: multiple_choice\nstem: 'See ![chart](<media/é curve.png>)'\n"
        "options:\n  - {id: a, text: Up, correct: true, feedback: Yes.}\n  - {id: b, text: Down, feedback: No.}\n",
        encoding="utf-8",
    )
    assert check_bank(tmp_path).problems == []
    result = export(load_bank(tmp_path), fmt)
    if result.files is not None:
        blobs = list(result.files.values())
    elif result.data is not None and result.data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(result.data)) as zf:
            blobs = [zf.read(n) for n in zf.namelist()]
    else:
        assert result.data is not None
        blobs = [result.data, base64.b64decode(b"".join(re.findall(rb"encoding=\"base64\">([^<]+)<", result.data)))]
    assert png in blobs


def test_summaries_count_in_words_for_one_item(tmp_path: Path) -> None:
    """'1 item written', '1 file, 1 valid item' — never '1 items' (a new user's first bank has one item)."""
    bank = tmp_path / "items"
    bank.mkdir()
    (bank / "q.yaml").write_text("id: q1\ntype: true_false\nstem: The sample mean is an unbiased estimator.\nanswer: true\n", encoding="utf-8")
    code, out = invoke("validate", "--bank", str(bank))
    assert code == 0 and out.strip() == "ok: 1 file, 1 valid item, 0 errors, 0 warnings", out
    code, out = invoke("export", "json", "--bank", str(bank), "-o", str(tmp_path / "bank.json"))
    assert code == 0 and "1 item written (1 true_false)" in out, out
    code, out = invoke("build", "--bank", str(bank), "-o", str(tmp_path / "dist"), "--format", "json")
    assert code == 0 and ": 1 item valid" in out and "1 items" not in out, out
    code, out = invoke("stats", "--bank", str(bank))
    assert code == 0 and out.splitlines()[0].endswith(": 1 item"), out


def test_the_readme_names_every_command_that_takes_no_bank() -> None:
    """The README's 'Every command that reads a bank takes --bank' names the exceptions truly."""
    import click

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = next(line for line in readme.splitlines() if "takes `--bank PATH`" in line)

    def leaves(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
        out: list[tuple[str, click.Command]] = []
        for name, cmd in group.commands.items():
            out.extend(leaves(cmd, f"{prefix}{name} ") if isinstance(cmd, click.Group) else [(f"{prefix}{name}", cmd)])
        return out

    without = sorted(name for name, cmd in leaves(main) if not any("--bank" in p.opts for p in cmd.params if isinstance(p, click.Option)))
    assert without, "every command takes --bank: drop the exceptions from the README"
    for name in without:
        assert f"`{name}`" in sentence, f"{name} takes no --bank but the README says it does: {sentence}"


def test_every_option_of_every_command_is_in_the_readme_command_table() -> None:
    """Each command's row of the README's command table names every option of the command, each of
    its spellings (``-o`` and ``--output``): ``review import --date`` and ``analyze --write``,
    ``--dry-run`` and ``--date`` were missing.  ``--help`` is everywhere; ``--bank`` is the sentence
    above the table (test_the_readme_names_every_command_that_takes_no_bank)."""
    import click

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `itembank")]

    def commands(cmd: click.Command, path: str) -> list[tuple[str, click.Command]]:
        out = [(path, cmd)] if any(isinstance(p, click.Option) and p.name != "help" for p in cmd.params) or not isinstance(cmd, click.Group) else []
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                out += commands(sub, f"{path} {name}")
        return out

    missing = []
    for path, cmd in commands(main, "itembank"):
        head = rf"\| `{re.escape(path)} -" if isinstance(cmd, click.Group) else rf"\| `{re.escape(path)}(?=[ `])"  # a group's own options: `itembank --version`
        row = next((r for r in rows if re.match(head, r)), None)
        if row is None:
            missing.append(f"{path}: no row")
            continue
        for param in cmd.params:
            if not isinstance(param, click.Option) or param.name in ("help", "bank"):
                continue
            for spelling in [*param.opts, *param.secondary_opts]:
                if not re.search(rf"(?<![\w-]){re.escape(spelling)}(?![\w-])", row):
                    missing.append(f"{path} {spelling}")
    assert missing == [], "not in the README's command table: " + ", ".join(missing)


def test_no_rule_code_is_defined_twice_in_a_code_table() -> None:
    """A dict literal keeps the last of two equal keys without a word: two features once both took
    IB407, and the first rule's description vanished from RULES. Read every dict literal in the
    package's source and refuse a key written twice."""
    import ast

    package = Path(__file__).resolve().parents[1]
    repeated = []
    for source in sorted([*package.joinpath("itembank").rglob("*.py"), *package.joinpath("exporters").rglob("*.py")]):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                repeated += [f"{source.name}: {k!r}" for k in sorted({k for k in keys if keys.count(k) > 1}, key=repr)]
    assert repeated == []


def _two_banks(root: Path) -> Path:
    """``root/items`` (the default bank) and, beside it, a file ``loose/card.yaml`` that reuses an
    id of ``items``; returns the item file of ``items`` whose id is reused."""
    shutil.copytree(ROOT / "items", root / "items")
    reused = sorted((root / "items" / "flashcards").glob("*.yaml"))[0]
    (root / "loose").mkdir()
    shutil.copy(reused, root / "loose" / "card.yaml")
    return reused


def test_validate_a_file_outside_the_default_bank_checks_it_in_its_own_bank(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that lies in no bank is checked on its own, and a file of a second bank as part of that
    bank: not as part of ``items/`` (the default bank), whose ids they were found to reuse (IB201,
    exit 1, before the change)."""
    _two_banks(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out = invoke("validate", "loose/card.yaml")
    assert (code, "IB201" in out) == (0, False), out
    code, out = invoke("validate", "loose")
    assert (code, "IB201" in out) == (0, False), out
    # A second bank (its itembank.yaml): its own ids are still checked across its files.
    shutil.copy(tmp_path / "items" / "itembank.yaml", tmp_path / "loose" / "itembank.yaml")
    shutil.copy(tmp_path / "loose" / "card.yaml", tmp_path / "loose" / "twin.yaml")
    code, out = invoke("validate", "loose/card.yaml")
    assert code == 1 and "IB201" in out and "loose/twin.yaml" in out and "items/" not in out, out


def test_validate_files_of_the_bank_are_still_checked_as_part_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of ``items/`` given alone still meets the rest of the bank: a copy of another item
    under a new name in the bank is a duplicate id, also when only the copy is given."""
    reused = _two_banks(tmp_path)
    monkeypatch.chdir(tmp_path)
    shutil.copy(reused, reused.with_name("copy.yaml"))
    code, out = invoke("validate", str(reused.with_name("copy.yaml").relative_to(tmp_path)))
    assert code == 1 and "IB201" in out, out


def test_validate_with_bank_checks_a_file_as_part_of_it_and_refuses_paths_across_banks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--bank items loose/card.yaml`` asks for the file to be checked as part of ``items`` (a new
    file before it is added: its id is taken there); a missing ``--bank`` folder and files of two
    banks at once without it are usage errors (exit 2, naming the folder or the banks)."""
    reused = _two_banks(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out = invoke("validate", "--bank", "items", "loose/card.yaml")
    assert code == 1 and "IB201" in out and f"already used in items/flashcards/{reused.name}" in out, out
    code, out = invoke("validate", "--bank", "missing", "loose/card.yaml")
    assert code == 2 and "'missing' does not exist" in out, out
    code, out = invoke("validate", "loose/card.yaml", str(reused.relative_to(tmp_path)))
    assert code == 2 and "different banks ((no bank), items)" in out, out


def test_the_bank_of_a_link_loop_is_the_default_bank_it_lies_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``validate.bank_of_paths`` (the library under ``validate PATH``) given a link loop in
    ``items/``: the default bank, where check_paths reports it (IB006); it raised RuntimeError
    (``Path.resolve`` of a loop) before it followed links as check_paths does."""
    from itembank.validate import bank_of_paths, check_paths

    _two_banks(tmp_path)
    (tmp_path / "items" / "loop.yaml").symlink_to("loop.yaml")
    monkeypatch.chdir(tmp_path)
    root, within = bank_of_paths([Path("items/loop.yaml")], Path("items"), bank_given=False)
    assert (root, within) == (Path("items"), True)
    result = check_paths([Path("items/loop.yaml")], root=root, within_bank=within)
    assert [p.code for p in result.problems] == ["IB006"]
