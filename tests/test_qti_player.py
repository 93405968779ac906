"""QTI 2.1 and 3.0 packages in a real QTI player (@citolab/qti-components in headless Chromium).

``check.sh`` answers every item as a candidate would, with the declared correct response and with a
wrong one, and runs the item's own response processing.  Four player runs (seed bank and every-type
bank, each in QTI 2.1 and 3.0), about 15-60 s each, and two short ones of calculated items written as
template processing, which the player renders but does not run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from itembank.exporters.qti.ids import qti_id
from itembank import Bank
from itembank import load_bank
from itembank.formats import ExportContext, ExportOptions, get_exporter
from itembank.model import CalculatedItem, ChoiceItem, TrueFalseItem
from itembank.render import Renderer
from itembank.variants import expand

from conftest import ROOT
from test_matching_shared import CLASSIFY as SHARED_MATCH  # the one YAML of that item

CASES = [("seed", "qti21"), ("seed", "qti30"), ("all", "qti21"), ("all", "qti30")]


def run_player(script: Path, bank: Bank, fmt: str, tmp: Path, expand_variants: int = 0) -> tuple[subprocess.CompletedProcess[str], dict]:
    options = ExportOptions(expand_variants=expand_variants)
    data = get_exporter(fmt).export(bank, ExportContext(renderer=Renderer(), options=options, tool_version="test")).data
    assert data is not None
    package = tmp / f"{fmt}.zip"
    package.write_bytes(data)
    report = tmp / "report.json"
    proc = subprocess.run(
        ["bash", str(script), str(package), "--no-shots", "--json", str(report), "--jobs", "2"],
        capture_output=True, text=True, timeout=900,
    )
    assert report.is_file(), f"player wrote no report:\n{proc.stdout}\n{proc.stderr}"
    return proc, json.loads(report.read_text())


def _played(script: Path, tmp: Path, fmt: str, name: str, text: str) -> tuple[Bank, subprocess.CompletedProcess[str], dict]:
    """A one-file bank (``name``: ``text``) loaded and played in ``fmt``: the bank, the process, its report."""
    bank_dir = tmp / "bank"
    bank_dir.mkdir()
    (bank_dir / name).write_text(text, encoding="utf-8")
    bank = load_bank(bank_dir)
    return (bank, *run_player(script, bank, fmt, tmp))


def _has_option_feedback(item) -> bool:
    if isinstance(item, ChoiceItem):
        return any(o.feedback for o in item.options)
    if isinstance(item, TrueFalseItem):
        return bool(item.true_feedback or item.false_feedback)
    return False


@pytest.mark.consumer
@pytest.mark.parametrize("bank_name,fmt", CASES)
def test_every_item_scores_in_the_real_player(qti_player: Path, seed_bank: Bank, all_types_bank: Bank, tmp_path: Path, bank_name: str, fmt: str) -> None:
    bank = seed_bank if bank_name == "seed" else all_types_bank
    # The player does not run template processing: calculated items go the route it scores, two
    # concrete numeric variants each (test_template_items_render_in_the_real_player: the templates).
    proc, report = run_player(qti_player, bank, fmt, tmp_path, expand_variants=2)
    delivered = [v for i in bank.items for v in (expand(i, 2) if isinstance(i, CalculatedItem) else [i])]
    assert bank_name == "seed" or len(delivered) > len(bank.items)  # all-types has a calculated item
    results = {r["identifier"]: r for r in report["results"]}
    assert sorted(results) == sorted(qti_id(i.id, "I_") for i in delivered)
    # No WARN either: none of our interactions hits a player limitation its README documents.
    statuses = {r["status"] for r in results.values()}
    assert statuses == {"PASS"}, "\n" + proc.stdout
    assert proc.returncode == 0
    for item in delivered:
        r = results[qti_id(item.id, "I_")]
        assert r["rendered"] and not r["renderProblems"], (item.id, r["renderProblems"])
        if not item.gradable:
            assert not r["scorable"], item.id  # essays and flashcards: rendered, never machine-scored
            continue
        assert r["scorable"], item.id
        assert float(r["correctScore"]) == item.points == r["expectedMax"], (item.id, r["correctScore"])
        assert float(r["wrongScore"]) == 0, (item.id, r["wrongScore"])
        assert not r["uiFailed"], item.id  # answered with real clicks/typing/drags, not through the API
        outcomes = r["outcomesAfterCorrect"]
        if _has_option_feedback(item):
            given, shown = r["correctResponse"]["RESPONSE"], outcomes["FEEDBACK"]
            if isinstance(given, list):  # multiple cardinality: a set, in any order
                given, shown = sorted(given), sorted(shown)
            assert shown == given, item.id
        if item.rationale:
            assert outcomes["SOLUTION_FB"] == "SOLUTION", item.id
        if item.hints:
            assert outcomes.get("HINT_FB") is None, item.id  # no hint after a fully correct answer


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_template_items_render_in_the_real_player(qti_player: Path, tmp_path: Path, fmt: str) -> None:
    """Calculated items as template processing: the player converts (2.1) and renders them with no
    render problem, and says it cannot score them (no static correct response: it runs no templates).
    Their values, answers and scoring are checked by the evaluator in test_qti_templates.py."""
    bank = load_bank(ROOT / "tests" / "banks" / "calculated")
    templated = [i for i in bank.items if isinstance(i, CalculatedItem) and "round(" not in i.formula]
    proc, report = run_player(qti_player, bank, fmt, tmp_path)
    results = {r["identifier"]: r for r in report["results"]}
    assert sorted(results) == sorted(qti_id(i.id, "I_") for i in templated), proc.stdout
    for item in templated:
        r = results[qti_id(item.id, "I_")]
        assert r["status"] == "PASS" and r["rendered"] and not r["renderProblems"], (item.id, r)
        assert not r["scorable"] and any("correct-response" in n for n in r["notes"]), (item.id, r)


#: Ids the schemas allow that once met in one QTI identifier (bug 12): blanks ``_x`` and ``B__x``; a
#: dropdown ``a`` (its choices ``RESPONSE_a_1`` ...) beside a blank ``a_1``; options named like the
#: item's variables.
COLLIDING = """\
items:
  - id: collide
    type: cloze
    stem: "First {{_x}} then {{B__x}}."
    blanks: {_x: {answers: [one]}, B__x: {answers: [two]}}
  - id: collide-choices
    type: cloze
    stem: "Pick {{a}}, type {{a_1}} and {{a_2}}."
    blanks:
      a: {choices: [up, down], correct: down, feedback: Not that way.}
      a_1: {answers: [left], feedback: Try again.}
      a_2: {number: 3, tolerance: 0.5}
  - id: collide-options
    type: multiple_choice
    stem: "Pick the score."
    options:
      - {id: SCORE, text: The score, correct: true, feedback: Right.}
      - {id: RESPONSE, text: The response, feedback: No.}
      - {id: "1", text: The first, feedback: No.}
      - {id: duration, text: The time, feedback: No.}
"""


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_ids_that_once_shared_an_identifier_score_in_the_real_player(qti_player: Path, tmp_path: Path, fmt: str) -> None:
    bank, proc, report = _played(qti_player, tmp_path, fmt, "collide.yaml", COLLIDING)
    results = {r["identifier"]: r for r in report["results"]}
    assert sorted(results) == sorted(qti_id(i.id, "I_") for i in bank.items), proc.stdout
    for item in bank.items:
        r = results[qti_id(item.id, "I_")]
        assert r["status"] == "PASS" and r["rendered"] and not r["renderProblems"], (item.id, r)
        assert r["scorable"] and not r["uiFailed"], (item.id, r)
        assert float(r["correctScore"]) == item.points == r["expectedMax"], (item.id, r["correctScore"])
        assert float(r["wrongScore"]) == 0, (item.id, r["wrongScore"])
    assert proc.returncode == 0


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_a_rubric_rendered_from_markdown_renders_in_the_real_player(qti_player: Path, tmp_path: Path, fmt: str) -> None:
    """Bug 5: the scorer rubric's criterion and description as rendered Markdown (strong, MathML,
    code): the essay renders with no render problem (and, like every essay, is not machine-scored)."""
    _bank, proc, report = _played(
        qti_player, tmp_path, fmt, "r5.yaml",
        'id: r5\ntype: essay\nstem: Explain.\npoints: 2\nrubric:\n  - {criterion: "Uses **both** terms and $\\\\alpha$", points: 1, description: "see `code`"}\n'
        '  - {criterion: "Lists:\\n\\n- *one*\\n- two", points: 1, description: "More.\\n\\n```\\nx = 1\\n```"}\n')
    [r] = report["results"]
    assert r["identifier"] == "r5" and r["status"] == "PASS" and r["rendered"] and not r["renderProblems"], (r, proc.stdout)
    assert not r["scorable"]
    assert proc.returncode == 0


#: Pairs that share a match (Moodle's "Classify the animals"): one target per distinct match, which
#: several prompts take (matchMax 0); with matchMax 1 the player lets a learner give "mammal" to one
#: prompt only, and its drag of the key falls back to the API (uiFailed, WARN).


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_a_match_several_prompts_share_scores_in_the_real_player(qti_player: Path, tmp_path: Path, fmt: str) -> None:
    _bank, proc, report = _played(qti_player, tmp_path, fmt, "classify.yaml", SHARED_MATCH)
    [r] = report["results"]
    assert r["identifier"] == "classify" and r["status"] == "PASS" and r["rendered"] and not r["renderProblems"], (r, proc.stdout)
    assert r["correctResponse"]["RESPONSE"] == ["P1 M1", "P2 M2", "P3 M1", "P4 M2"]
    assert r["scorable"] and not r["uiFailed"], r  # the key entered with real drags: M1 and M2 each taken twice
    assert float(r["correctScore"]) == 2 == r["expectedMax"], r["correctScore"]
    assert float(r["wrongScore"]) == 0, (r["wrongResponse"], r["wrongScore"])
    assert proc.returncode == 0
