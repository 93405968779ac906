"""Assessments: blueprint schema, seeded selection and forms, validation problems, CLI and build."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from itembank import Bank, build, check_bank, load_bank
from itembank.api import export
from itembank.assessments import build_forms, form_bank
from itembank.cli import main
from itembank.errors import ItembankError
from itembank.model import ChoiceItem
from itembank.positions import PositionIndex
from itembank.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES_BANK = ROOT / "tests" / "banks" / "all-types"

PATTERN_IDS = {f"pt-quiz-{n}" for n in range(1, 6)} | {f"pt-practice-{n}" for n in range(1, 6)}

MIXED = """\
title: Mixed check
instructions: Answer every question.
seed: 7
forms: 3
include_drafts: true
sections:
  - title: Choices
    select:
      - ids: [at-mc]
        points: 5
      - type: [multiple_response, true_false]
        count: 2
  - title: Open
    instructions: Write clearly.
    select:
      - type: [short_answer, numeric, essay, cloze, matching, ordering]
        count: 4
      - type: [numeric, short_answer, cloze, matching, ordering]
        count: 2
        delivery: random
        title: Open pool
        points: 2
"""


def make_bank(tmp_path: Path, **blueprints: str) -> Path:
    """A copy of the every-type bank with the given assessments (name -> YAML text)."""
    root = tmp_path / "bank"
    shutil.copytree(ALL_TYPES_BANK, root)
    (root / "assessments").mkdir()
    for name, text in blueprints.items():
        (root / "assessments" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def shape(bank: Bank) -> list[tuple[str, float, tuple[str, ...]]]:
    """What must be reproducible about a form: item order, points and option order."""
    return [(i.id, i.points, tuple(o.id for o in i.options) if isinstance(i, ChoiceItem) else ()) for i in bank.items]


def line_of(text: str, *path: object) -> int:
    return PositionIndex(text).locate(path)[0]


# --- schema ---------------------------------------------------------------------------------------


def walk_objects(node: object):
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for v in node.values():
            yield from walk_objects(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_objects(v)


def test_schema_is_draft_2020_12_with_id_descriptions_and_closed_objects() -> None:
    schema = load_schema("assessment")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/assessment.schema.json")
    objects = list(walk_objects(schema))
    assert len(objects) == 3  # assessment, section, rule
    for obj in objects:
        assert obj["additionalProperties"] is False
        for name, prop in obj["properties"].items():
            assert prop.get("description"), f"property {name} has no description"


# --- selection and forms --------------------------------------------------------------------------


def test_same_seed_gives_same_selection_and_order(tmp_path: Path) -> None:
    bank = load_bank(make_bank(tmp_path, mixed=MIXED))
    first = [shape(f) for f in build_forms(bank, "mixed")]
    random.seed(12345)  # the global RNG must play no part
    second = [shape(f) for f in build_forms(bank, "mixed")]
    assert first == second
    assert len(first) == 3


def test_selection_does_not_depend_on_string_hash_salt(tmp_path: Path) -> None:
    root = make_bank(tmp_path, mixed=MIXED)
    code = (
        "import json, sys; from itembank import load_bank; from itembank.assessments import build_forms;"
        "print(json.dumps([[i.id for i in f.items] for f in build_forms(load_bank(sys.argv[1]), 'mixed')]))"
    )
    runs = {
        subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": salt}).stdout
        for salt in ("1", "2", "3")
    }
    assert len(runs) == 1


def test_forms_hold_the_same_items_in_different_orders(tmp_path: Path) -> None:
    bank = load_bank(make_bank(tmp_path, mixed=MIXED))
    forms = build_forms(bank, "mixed")
    assert [f.form.form for f in forms] == ["A", "B", "C"]
    ids = [[i.id for i in f.items] for f in forms]
    assert all(sorted(x) == sorted(ids[0]) for x in ids)
    assert len({tuple(x) for x in ids}) == 3  # every form has its own order


def test_another_seed_draws_another_selection(tmp_path: Path) -> None:
    # 2 of 6 open items: over a few seeds the draw must change (a fixed draw would ignore the seed).
    draws = set()
    for seed in range(6):
        root = make_bank(tmp_path / str(seed), mixed=MIXED.replace("seed: 7", f"seed: {seed}"))
        forms = build_forms(load_bank(root), "mixed")
        draws.add(frozenset(i.id for i in forms[0].items))
    assert len(draws) > 1


def test_form_model_sections_pools_points_and_pinned_options(tmp_path: Path) -> None:
    bank = load_bank(make_bank(tmp_path, mixed=MIXED))
    form = form_bank(bank, "mixed", "b")
    assert form.form is not None and form.form.name == "mixed-B"
    assert form.form.instructions == "Answer every question."
    titles = [(s.title, len(s.item_ids), s.pick) for s in form.form.sections]
    # Choices: at-mc + 2 drawn; Open: 4 drawn; the random rule's pool holds every remaining candidate.
    assert titles[:2] == [("Choices", 3, None), ("Open", 4, None)]
    pool = form.form.sections[2]
    assert (pool.title, pool.pick, pool.shuffle) == ("Open pool", 2, True)
    assert len(pool.item_ids) == 3
    assert [i.id for i in form.items] == [i for s in form.form.sections for i in s.item_ids]
    mc = form.by_id["at-mc"]
    assert mc.points == 5  # the rule's points override the item's 2
    assert isinstance(mc, ChoiceItem) and mc.shuffle is False  # pinned: platforms keep the printed order
    assert sorted(o.id for o in mc.options) == ["a", "b", "c"]
    orders = {tuple(o.id for o in f.by_id["at-mr"].options) for f in build_forms(bank, "mixed")}
    assert len(orders) > 1  # options are shuffled per form


def test_shuffle_off_keeps_bank_and_listed_order(tmp_path: Path) -> None:
    text = """\
title: Fixed
include_drafts: true
shuffle_items: false
shuffle_options: false
forms: 2
sections:
  - title: One
    select:
      - ids: [at-num, at-mc]
      - type: essay
        count: 1
"""
    bank = load_bank(make_bank(tmp_path, fixed=text))
    forms = build_forms(bank, "fixed")
    assert [[i.id for i in f.items] for f in forms] == [["at-num", "at-mc", "at-essay"]] * 2
    assert [o.id for o in forms[1].by_id["at-mc"].options] == ["a", "b", "c"]


def test_pattern_check_draws_the_ten_multiple_choice_items_by_difficulty(seed_bank: Bank) -> None:
    forms = build_forms(seed_bank, "pattern-check")
    assert [f.form.name for f in forms] == ["pattern-check-A", "pattern-check-B"]
    for form in forms:
        assert {i.id for i in form.items} == PATTERN_IDS
        assert all(i.type == "multiple_choice" for i in form.items)
        for section in form.form.sections:
            assert section.pick is None
            assert {form.by_id[i].difficulty for i in section.item_ids} == {section.title.lower()}
    assert [i.id for i in forms[0].items] != [i.id for i in forms[1].items]


# --- validation -----------------------------------------------------------------------------------

UNFILLABLE = """\
title: Too hard
include_drafts: true
sections:
  - title: Warm-up
    select:
      - ids: [at-tf]
  - title: Hard part
    select:
      - difficulty: hard
        count: 3
"""


def test_unfillable_blueprint_is_an_error_naming_the_rule_with_file_and_line(tmp_path: Path) -> None:
    root = make_bank(tmp_path, hard=UNFILLABLE)
    result = check_bank(root)
    [p] = [p for p in result.errors if p.code == "IB404"]
    assert p.file.endswith("assessments/hard.yaml")
    assert p.line == line_of(UNFILLABLE, "sections", 1, "select", 0, "count") == 10
    assert p.path == "sections[1].select[0].count"
    assert "sections[1].select[0]" in p.message and "asks for 3 items" in p.message and "only 1 matching item (at-mr)" in p.message
    with pytest.raises(ItembankError):
        load_bank(root)  # an invalid blueprint makes the bank invalid


def test_matching_items_an_earlier_rule_took_are_named_not_denied(tmp_path: Path) -> None:
    """Rules draw in file order: when an earlier rule took the items a later one matches, IB404 said
    "there is no matching item" although there were; it names them and the rule that took them."""
    text = """\
title: Taken
include_drafts: true
sections:
  - title: Any
    select:
      - count: 13
  - title: Multiple choice
    select:
      - type: multiple_choice
        count: 1
"""
    result = check_bank(make_bank(tmp_path, taken=text))
    [p] = [p for p in result.errors if p.code == "IB404"]
    assert "there is no matching item left: 1 more matches but earlier rules took them (at-mc by sections[0].select[0])" in p.message, p.message


def test_unknown_duplicate_and_draft_ids_are_reported(tmp_path: Path) -> None:
    text = """\
title: Ids
sections:
  - title: One
    select:
      - ids: [at-mc, at-nope]
  - title: Two
    select:
      - ids: [at-mc, at-tf]
"""
    result = check_bank(make_bank(tmp_path, ids=text))
    found = {(p.code, p.item_id, p.line, p.path) for p in result.problems}
    assert ("IB402", "at-nope", 5, "sections[0].select[0].ids[1]") in found
    assert ("IB403", "at-mc", 8, "sections[1].select[0].ids[0]") in found
    assert ("IB405", "at-tf", 8, "sections[1].select[0].ids[1]") in found  # drafts need include_drafts
    assert len(result.errors) == 3


def test_drafts_are_only_drawn_with_include_drafts(tmp_path: Path) -> None:
    text = "title: T\nsections:\n  - title: S\n    select:\n      - type: essay\n        count: 1\n"
    assert [p.code for p in check_bank(make_bank(tmp_path / "a", t=text)).errors] == ["IB404"]
    ok = make_bank(tmp_path / "b", t=text.replace("  - title: S\n", "  - title: S\n    include_drafts: true\n"))
    assert check_bank(ok).errors == []


def test_schema_problems_are_located(tmp_path: Path) -> None:
    text = """\
title: Bad
forms: 40
sections:
  - title: One
    select:
      - tpye: essay
        count: 1
      - ids: [at-mc]
        topic: training
"""
    result = check_bank(make_bank(tmp_path, bad=text))
    msgs = {(p.code, p.line, p.message) for p in result.errors}
    assert ("IB401", 6, "unknown field 'tpye' (did you mean 'type'?)") in msgs
    assert any(code == "IB401" and line == 2 and "26" in m for code, line, m in msgs)
    assert any(code == "IB401" and line == 8 and "cannot also filter by topic" in m for code, line, m in msgs)


def test_validate_command_reports_blueprint_problems(tmp_path: Path) -> None:
    root = make_bank(tmp_path, hard=UNFILLABLE)
    out = CliRunner().invoke(main, ["validate", "--bank", str(root)])
    assert out.exit_code == 1
    assert "hard.yaml:10:" in out.output and "IB404" in out.output
    single = CliRunner().invoke(main, ["validate", "--bank", str(root), str(root / "assessments" / "hard.yaml")])
    assert single.exit_code == 1 and "IB404" in single.output


# --- CLI and build ---------------------------------------------------------------------------------


def test_export_with_assessment_and_form(tmp_path: Path) -> None:
    root = make_bank(tmp_path, mixed=MIXED)
    out = tmp_path / "b.json"
    run = CliRunner().invoke(main, ["export", "json", "--bank", str(root), "--assessment", "mixed", "--form", "B", "-o", str(out)])
    assert run.exit_code == 0, run.output
    expected = [i.id for i in form_bank(load_bank(root), "mixed", "B").items]
    assert [i["id"] for i in json.loads(out.read_bytes())["items"]] == expected


def test_export_api_matches_form(tmp_path: Path) -> None:
    bank = load_bank(make_bank(tmp_path, mixed=MIXED))
    data = json.loads(export(bank, "json", assessment="mixed", form="C").data or b"")
    assert [i["id"] for i in data["items"]] == [i.id for i in form_bank(bank, "mixed", "C").items]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--assessment", "nope"], "no assessment 'nope'"),
        (["--assessment", "mixed", "--form", "Z"], "no form 'Z'"),
        (["--form", "A"], "--form needs --assessment"),
    ],
)
def test_export_usage_errors(tmp_path: Path, args: list[str], needle: str) -> None:
    root = make_bank(tmp_path, mixed=MIXED)
    run = CliRunner().invoke(main, ["export", "json", "--bank", str(root), "-o", str(tmp_path / "x.json"), *args])
    assert run.exit_code == 2
    assert needle in run.output
    assert "Traceback" not in run.output


def test_build_writes_whole_bank_and_every_form(tmp_path: Path) -> None:
    root = make_bank(tmp_path, mixed=MIXED)
    dist = tmp_path / "dist"
    report = build(load_bank(root), dist, formats=["json", "markdown"])
    assert report.forms == ["mixed-A", "mixed-B", "mixed-C"]
    assert (dist / "bank.json").is_file() and (dist / "print" / "bank.md").is_file()
    for letter in "ABC":
        form_dir = dist / "assessments" / f"mixed-{letter}"
        assert (form_dir / "print" / f"mixed-{letter}.md").is_file()
        ids = [i["id"] for i in json.loads((form_dir / "bank.json").read_bytes())["items"]]
        assert ids == [i.id for i in form_bank(load_bank(root), "mixed", letter).items]
    assert len(report.outputs) == 2 * 4


def test_build_command_with_assessment_builds_only_its_forms(tmp_path: Path) -> None:
    root = make_bank(tmp_path, mixed=MIXED)
    dist = tmp_path / "dist"
    run = CliRunner().invoke(main, ["build", "--bank", str(root), "-o", str(dist), "--format", "json", "--assessment", "mixed", "--form", "A"])
    assert run.exit_code == 0, run.output
    assert "assessment forms: mixed-A" in run.output
    assert sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*.json")) == ["assessments/mixed-A/bank.json"]


def test_example_assessment_lives_in_the_seed_bank() -> None:
    assert (ROOT / "items" / "assessments" / "pattern-check.yaml").is_file()
    assert check_bank(ROOT / "items").errors == []


def test_export_builds_forms_from_the_loaded_bank_and_never_reads_the_folder_again(tmp_path: Path) -> None:
    """Validation resolves the blueprints once; the Bank keeps them (bank.assessments)."""
    root = make_bank(tmp_path, mixed=MIXED)
    bank = load_bank(root)
    assert list(bank.assessments) == ["mixed"]
    expected = [shape(f) for f in build_forms(bank, "mixed")]
    shutil.rmtree(root)  # nothing of the folder is needed any more: media are read at export, so no images here
    assert [shape(f) for f in build_forms(bank, "mixed")] == expected
    assert shape(form_bank(bank, "mixed", "B")) == expected[1]
    with pytest.raises(ItembankError, match="no assessment 'other' \\(known: mixed\\)"):
        build_forms(bank, "other")
