"""Delivery across platforms (issue 15): status filters, forms as real quizzes, frozen forms."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from itembank import build, load_bank
from itembank.api import export
from itembank.cli import main
from itembank.errors import UsageError
from itembank.formats import DELIVERY_STATUSES, STATUSES, default_status, get_exporter

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES_BANK = ROOT / "tests" / "banks" / "all-types"
LMS_FORMATS = ("canvas", "qti21", "qti30", "moodle", "gift")


def status_bank(tmp_path: Path) -> Path:
    """The every-type bank with two retired items (at-tf, at-sa) and one in review (at-num)."""
    root = tmp_path / "bank"
    shutil.copytree(ALL_TYPES_BANK, root)
    other = root / "other.yaml"
    text = other.read_text(encoding="utf-8")
    for item_id, status in (("at-tf", "retired"), ("at-sa", "retired"), ("at-num", "review")):
        text = text.replace(f"  - id: {item_id}\n", f"  - id: {item_id}\n    status: {status}\n", 1)
    other.write_text(text, encoding="utf-8")
    return root


# --- status ----------------------------------------------------------------------------------------


def test_default_status_per_format_family() -> None:
    for fmt in (*LMS_FORMATS, "markdown"):
        assert default_status(get_exporter(fmt)) == DELIVERY_STATUSES, fmt
    for fmt in ("json", "xlsx"):
        assert default_status(get_exporter(fmt)) == STATUSES, fmt


@pytest.mark.parametrize("fmt", LMS_FORMATS)
def test_lms_formats_leave_retired_items_out_and_say_so(tmp_path: Path, fmt: str) -> None:
    bank = load_bank(status_bank(tmp_path))
    result = export(bank, fmt)
    assert result.left_out == {"retired": 2}
    assert "; 2 retired items left out" in result.summary()
    written = sum(result.written.values()) + len(result.skipped)
    assert written == len(bank.items) - 2
    out = result.data if result.data is not None else b"".join(result.files.values()) if result.files else b""
    if fmt in ("moodle", "gift"):
        assert b"at-tf" not in out and b"at-sa" not in out and b"at-num" in out


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
def test_json_and_xlsx_keep_every_status(tmp_path: Path, fmt: str) -> None:
    result = export(load_bank(status_bank(tmp_path)), fmt)
    assert not result.left_out and "left out" not in result.summary()


def test_explicit_status_selects_exactly_those(tmp_path: Path) -> None:
    bank = load_bank(status_bank(tmp_path))
    only_review = export(bank, "json", status=("review",))
    assert b'"at-num"' in (only_review.data or b"") and b'"at-mc"' not in (only_review.data or b"")
    assert only_review.left_out == {"approved": 1, "draft": len(bank.items) - 4, "retired": 2}
    everything = export(bank, "moodle", status=["draft", "review", "approved", "retired"])
    assert not everything.left_out and b"status:retired" in (everything.data or b"")
    with pytest.raises(UsageError, match="unknown item status: gone"):
        export(bank, "moodle", status=("gone",))


def test_moodle_and_gift_carry_the_status_as_a_tag(tmp_path: Path) -> None:
    bank = load_bank(status_bank(tmp_path))
    xml = (export(bank, "moodle").data or b"").decode()
    assert "<text>status:approved</text>" in xml and "<text>status:review</text>" in xml
    gift = (export(bank, "gift").data or b"").decode()
    assert re.search(r"// \[id:at-num\].*\[tag:status:review\]", gift)


def test_cli_status_option_and_summary_line(tmp_path: Path) -> None:
    root = status_bank(tmp_path)
    runner = CliRunner()
    res = runner.invoke(main, ["export", "gift", "--bank", str(root), "-o", str(tmp_path / "q.gift")])
    assert res.exit_code == 0, res.output
    assert "2 retired items left out" in res.output
    res = runner.invoke(main, ["export", "gift", "--bank", str(root), "--status", "approved,review", "-o", str(tmp_path / "q2.gift")])
    assert res.exit_code == 0, res.output
    assert re.search(r"1 items written .*; 1 skipped; \d+ draft, 2 retired items left out", res.output), res.output
    res = runner.invoke(main, ["export", "gift", "--bank", str(root), "--status", "aproved"])
    assert res.exit_code == 2 and "aproved" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["build", "--bank", str(root), "-o", str(tmp_path / "dist"), "--format", "json", "--format", "canvas"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert any(line.startswith("canvas:") and "2 retired items left out" in line for line in lines)
    assert any(line.startswith("json:") and "left out" not in line for line in lines)


def test_build_applies_an_explicit_status_to_every_format(tmp_path: Path) -> None:
    bank = load_bank(status_bank(tmp_path))
    report = build(bank, tmp_path / "dist", formats=["json", "moodle"], status=("approved",))
    for _, _, result in report.outputs:
        assert sum(result.written.values()) + len(result.skipped) == 1
