"""QTI 2.1 and 3.0 packages in a real QTI player (@citolab/qti-components in headless Chromium).

``check.sh`` answers every item as a candidate would, with the declared correct response and with a
wrong one, and runs the item's own response processing.  Exactly four player runs (seed bank and
every-type bank, each in QTI 2.1 and 3.0), about 15-60 s each.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from itembank.exporters.qti.ids import qti_id
from itembank import Bank
from itembank.formats import ExportContext, get_exporter
from itembank.model import ChoiceItem, TrueFalseItem
from itembank.render import Renderer

CASES = [("seed", "qti21"), ("seed", "qti30"), ("all", "qti21"), ("all", "qti30")]


def run_player(script: Path, bank: Bank, fmt: str, tmp: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    data = get_exporter(fmt).export(bank, ExportContext(renderer=Renderer(), tool_version="test")).data
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
    proc, report = run_player(qti_player, bank, fmt, tmp_path)
    results = {r["identifier"]: r for r in report["results"]}
    assert sorted(results) == sorted(qti_id(i.id, "I_") for i in bank.items)
    # No WARN either: none of our interactions hits a player limitation its README documents.
    statuses = {r["status"] for r in results.values()}
    assert statuses == {"PASS"}, "\n" + proc.stdout
    assert proc.returncode == 0
    for item in bank.items:
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
