"""Review import never loses a link or a decision (issue 9)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from itembank import export, load_bank
from itembank.cli import main

ALL_TYPES = Path(__file__).resolve().parents[1] / "tests" / "banks" / "all-types"


def _run(*args: str) -> Any:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    dest = tmp_path / "bank"
    shutil.copytree(ALL_TYPES, dest)
    return dest


def _workbook(root: Path, out: Path, cells: dict[str, dict[str, Any]]) -> Path:
    src = out.with_suffix(".orig.xlsx")
    src.write_bytes(export(load_bank(root), "xlsx").data or b"")
    wb = openpyxl.load_workbook(src)
    ws = wb["Items"]
    header = [c.value for c in ws[1]]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    for item_id, values in cells.items():
        for name, value in values.items():
            ws.cell(rows[item_id], header.index(name) + 1).value = value
    wb.save(out)  # openpyxl stores formulas without a cached value, as a script or a web editor may
    return out


def test_a_linked_item_file_is_written_through_and_stays_a_link(bank: Path, tmp_path: Path) -> None:
    # The target sits in a hidden folder of the bank (not read as items itself); a link leaving the
    # bank is refused by validate (IB006), so the import never sees one.
    (bank / ".store").mkdir()
    shutil.move(bank / "other.yaml", bank / ".store" / "other.yaml")
    (bank / "other.yaml").symlink_to(Path(".store") / "other.yaml")
    first_id = load_bank(bank).items[-1].id
    wb = _workbook(bank, tmp_path / "r.xlsx", {first_id: {"Decision": "Approve"}})
    result = _run("review", "import", wb, "--bank", bank, "--date", "2024-05-01")
    assert result.exit_code == 0, result.output
    assert (bank / "other.yaml").is_symlink(), "the link was replaced by a plain copy"
    assert "decision: approve" in (bank / ".store" / "other.yaml").read_text(encoding="utf-8")


def test_a_decision_formula_without_a_saved_value_is_reported_not_read_as_no_decision(bank: Path, tmp_path: Path) -> None:
    item_id = load_bank(bank).items[0].id
    before = {p: p.read_bytes() for p in bank.rglob("*.yaml")}
    wb = _workbook(bank, tmp_path / "r.xlsx", {item_id: {"Decision": '=IF(1=1,"Approve","Reject")'}})
    result = _run("review", "import", wb, "--bank", bank, "--date", "2024-05-01")
    assert result.exit_code == 1, result.output
    assert "formula" in result.output and "Decision" in result.output
    assert {p: p.read_bytes() for p in bank.rglob("*.yaml")} == before  # nothing written
