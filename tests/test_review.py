"""`itembank review import`: the round trip through a reviewer's workbook, and every guard.

Every test works on a copy of a bank in tmp_path and edits the workbook the way a reviewer's
spreadsheet program would (openpyxl load → edit cells → save).
"""

from __future__ import annotations

import difflib
import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from itembank import check_bank, export, load_bank
from itembank.cli import main
from itembank.fingerprint import fingerprint

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES = ROOT / "tests" / "banks" / "all-types"
DATE = "2024-05-01"


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    dest = tmp_path / "bank"
    shutil.copytree(ALL_TYPES, dest)
    return dest


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def export_workbook(root: Path, out: Path) -> Path:
    out.write_bytes(export(load_bank(root), "xlsx").data)
    return out


def review(src: Path, dest: Path, edits: dict[str, dict[str, Any]], *, extra_rows: list[dict[str, Any]] = ()) -> Path:
    """Fill in review cells (by item id → header → value) and save, as a reviewer would."""
    wb = openpyxl.load_workbook(src)
    ws = wb["Items"]
    header = [c.value for c in ws[1]]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    for item_id, cells in edits.items():
        for name, value in cells.items():
            ws.cell(rows[item_id], header.index(name) + 1).value = value
    for extra in extra_rows:
        r = ws.max_row + 1
        for name, value in extra.items():
            ws.cell(r, header.index(name) + 1).value = value
    wb.save(dest)
    return dest


def row_of(workbook: Path, item_id: str) -> int:
    ws = openpyxl.load_workbook(workbook)["Items"]
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == item_id)


def assert_only_review_lines_changed(old: str, new: str) -> None:
    """Byte-for-byte elsewhere: lines are only inserted (review keys) or have a status/difficulty value swapped."""
    a, b = old.splitlines(True), new.splitlines(True)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        assert op in ("insert", "replace"), f"lines removed: {a[i1:i2]}"
        if op == "replace":
            assert i2 - i1 == j2 - j1, (a[i1:i2], b[j1:j2])
            for old_line, new_line in zip(a[i1:i2], b[j1:j2]):
                key = old_line.split(":")[0]
                assert key.strip() in ("status", "difficulty") and new_line.split(":")[0] == key, (old_line, new_line)
            continue
        block = "".join(b[j1:j2])
        indent = len(block) - len(block.lstrip(" "))
        if block.lstrip().startswith("- "):  # entries appended to an existing reviews list
            parsed = YAML(typ="safe").load("\n".join(line[indent:] for line in block.splitlines()))
            assert isinstance(parsed, list) and all(set(e) <= {"decision", "reviewer", "comment", "date", "suggested_difficulty"} for e in parsed)
        else:
            parsed = YAML(typ="safe").load("\n".join(line[indent:] for line in block.splitlines()))
            assert set(parsed) <= {"status", "difficulty", "reviews"}, block


# --- the round trip ------------------------------------------------------------------------------


def test_round_trip_changes_only_the_review_fields(bank: Path, tmp_path: Path) -> None:
    before = snapshot(bank)
    wb = export_workbook(bank, tmp_path / "review.xlsx")
    edited = review(
        wb,
        tmp_path / "edited.xlsx",
        {
            "at-mc": {"Reviewer": "Ann", "Decision": "Approve", "Comments": "Clear.\nGood image."},
            "at-mr": {"Reviewer": "Bob", "Decision": "Revise", "Suggested difficulty": "medium", "Comments": "Option c: too obvious"},
            "at-tf": {"Decision": "Reject", "Comments": "Duplicates at-sa: 'quotes' & #hash"},
            "at-num-range": {"Reviewer": "Ann", "Decision": "approve", "Suggested difficulty": "Easy"},
            "at-card": {"Reviewer": "Ann"},  # a name but no decision: not reviewed yet
            "at-calc": {"Reviewer": "Cy", "Decision": "Approve", "Comments": "Checked {n} = 64: fine"},
        },
    )
    result = run("review", "import", edited, "--bank", bank, "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "updated 5 items in 2 files (3 approve, 1 revise, 1 reject); 8 rows without a decision" in result.output

    assert check_bank(bank).ok(strict=True)
    loaded = load_bank(bank)
    mc, mr, tf, rng, card = (loaded.by_id[i] for i in ("at-mc", "at-mr", "at-tf", "at-num-range", "at-card"))
    assert (mc.status, mr.status, tf.status, rng.status, card.status) == ("approved", "review", "retired", "approved", "draft")
    assert (mc.difficulty, mr.difficulty, rng.difficulty) == ("medium", "medium", "easy")
    assert [(r.decision, r.reviewer, r.comment, r.date, r.suggested_difficulty) for r in mc.reviews] == [("approve", "Ann", "Clear.\nGood image.", DATE, None)]
    assert [(r.decision, r.reviewer, r.comment, r.suggested_difficulty) for r in mr.reviews] == [("revise", "Bob", "Option c: too obvious", "medium")]
    assert tf.reviews[0].comment == "Duplicates at-sa: 'quotes' & #hash" and tf.reviews[0].reviewer is None
    assert card.reviews == ()
    calc = loaded.by_id["at-calc"]  # a calculated item: status and review written, variables and formula untouched
    assert calc.status == "approved" and [(r.reviewer, r.comment) for r in calc.reviews] == [("Cy", "Checked {n} = 64: fine")]

    after = snapshot(bank)
    assert set(after) == set(before)
    changed = {rel for rel in before if before[rel] != after[rel]}
    assert changed == {"choice.yaml", "other.yaml"}
    for rel in changed:
        assert_only_review_lines_changed(before[rel].decode(), after[rel].decode())
    # the other items' content did not move: their fingerprints are those of the export
    original = load_bank(ALL_TYPES)
    for item in loaded.items:
        if item.id not in ("at-mr", "at-num-range"):  # their difficulty changed, as asked
            assert fingerprint(item) == fingerprint(original.by_id[item.id])


def test_second_import_of_the_same_workbook_changes_nothing(bank: Path, tmp_path: Path) -> None:
    edited = review(export_workbook(bank, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"at-mr": {"Decision": "Revise", "Suggested difficulty": "easy", "Comments": "x"}})
    assert run("review", "import", edited, "--bank", bank, "--date", DATE).exit_code == 0
    once = snapshot(bank)
    result = run("review", "import", edited, "--bank", bank, "--date", "2024-06-01")
    assert result.exit_code == 0 and "already has this review" in result.output
    assert snapshot(bank) == once


def test_dry_run_prints_a_diff_and_writes_nothing(bank: Path, tmp_path: Path) -> None:
    before = snapshot(bank)
    edited = review(export_workbook(bank, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"at-sa": {"Reviewer": "Cy", "Decision": "Reject", "Comments": "Too easy"}})
    result = run("review", "import", edited, "--bank", bank, "--dry-run", "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "--- a/other.yaml\n+++ b/other.yaml\n" in result.output
    assert "+    status: retired\n" in result.output and "+      - decision: reject\n" in result.output and "+        comment: Too easy\n" in result.output
    assert "would update 1 item in 1 file" in result.output
    assert snapshot(bank) == before


LAYOUT = """\
# A hand-written file: comments, odd indentation, flow and block styles.
items:
- id: lay-a   # offset-0 sequences in this file
  type: true_false
  stem: Stems keep their "quotes".
  answer: true
  status: 'draft'
  difficulty: hard # keep this comment
  true_feedback: >-
    Folded text
    over two lines.
  false_feedback: No.
  reviews:
  - decision: revise
    reviewer: Old
    date: '2023-01-01'

# a comment that belongs to the next item
- id: lay-b
  type: flashcard
  stem: |
    Literal block

    # not a comment: part of the stem
  answer: Back
  tags: [x, y]
  reviews: []
- id: lay-c
  type: short_answer
  stem: Last one, no trailing newline
  answers:
  - one
  - two"""


LAYOUT_AFTER = """\
# A hand-written file: comments, odd indentation, flow and block styles.
items:
- id: lay-a   # offset-0 sequences in this file
  type: true_false
  stem: Stems keep their "quotes".
  answer: true
  status: 'approved'
  difficulty: medium # keep this comment
  true_feedback: >-
    Folded text
    over two lines.
  false_feedback: No.
  reviews:
  - decision: revise
    reviewer: Old
    date: '2023-01-01'
  - decision: approve
    reviewer: New
    date: '2024-05-01'
    suggested_difficulty: medium

# a comment that belongs to the next item
- id: lay-b
  type: flashcard
  stem: |
    Literal block

    # not a comment: part of the stem
  answer: Back
  tags: [x, y]
  reviews:
  - decision: revise
    comment: Shorter, please
    date: '2024-05-01'
  status: review
- id: lay-c
  type: short_answer
  stem: Last one, no trailing newline
  answers:
  - one
  - two
  status: retired
  reviews:
  - decision: reject
    date: '2024-05-01'
"""


def test_round_trip_preserves_an_unusual_layout(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    root.mkdir()
    (root / "layout.yaml").write_text(LAYOUT, encoding="utf-8")
    (root / "one.json").write_text('{"id": "js-1", "type": "flashcard", "stem": "Front", "answer": "Back", "status": "review"}\n', encoding="utf-8")
    edited = review(
        export_workbook(root, tmp_path / "r.xlsx"),
        tmp_path / "e.xlsx",
        {
            "lay-a": {"Reviewer": "New", "Decision": "Approve", "Suggested difficulty": "medium"},
            "lay-b": {"Decision": "Revise", "Comments": "Shorter, please"},
            "lay-c": {"Decision": "Reject"},
            "js-1": {"Decision": "Approve", "Reviewer": "J"},
        },
    )
    result = run("review", "import", edited, "--bank", root, "--date", DATE)
    assert result.exit_code == 0, result.output
    assert check_bank(root).ok(strict=True)
    new = (root / "layout.yaml").read_text(encoding="utf-8")
    # Pinned in full (reviewed by hand): every original line is still there byte for byte — the
    # file's 0-offset sequences, quotes, trailing comments, folded and literal blocks, the blank line
    # and comment before lay-b; status/difficulty changed in place, review lines were added in the
    # file's own indentation, and the flow `reviews: []` became a block list.
    assert new == LAYOUT_AFTER
    loaded = load_bank(root)
    a, b, c, js = (loaded.by_id[i] for i in ("lay-a", "lay-b", "lay-c", "js-1"))
    assert [r.reviewer for r in a.reviews] == ["Old", "New"] and a.difficulty == "medium" and a.status == "approved"
    assert b.stem == "Literal block\n\n# not a comment: part of the stem\n" and b.reviews[0].comment == "Shorter, please" and b.status == "review"
    assert c.status == "retired" and c.answers == ("one", "two")
    assert js.status == "approved" and js.reviews[0].reviewer == "J"


# --- guards: each a clear error (row number where there is one) and no file changed ---------------


def failing_import(root: Path, workbook: Path) -> str:
    before = snapshot(root)
    result = run("review", "import", workbook, "--bank", root, "--date", DATE)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert snapshot(root) == before, "a file changed although the import failed"
    return result.output


def test_fingerprint_mismatch_is_held_back_and_reported(bank: Path, tmp_path: Path) -> None:
    wb = export_workbook(bank, tmp_path / "r.xlsx")
    edited = review(wb, tmp_path / "e.xlsx", {"at-sa": {"Decision": "Approve"}})
    other = bank / "other.yaml"
    other.write_text(other.read_text().replace("Name the phase in which", "Name the training phase in which"))
    out = failing_import(bank, edited)
    assert f"row {row_of(edited, 'at-sa')}: item 'at-sa' changed since the workbook was exported" in out


def test_fingerprint_mismatch_does_not_block_the_other_items(bank: Path, tmp_path: Path) -> None:
    edited = review(export_workbook(bank, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"at-sa": {"Decision": "Approve"}, "at-mc": {"Decision": "Revise", "Comments": "c"}})
    other = bank / "other.yaml"
    other.write_text(other.read_text().replace("Name the phase in which", "Name the training phase in which"))
    result = run("review", "import", edited, "--bank", bank, "--date", DATE)
    assert result.exit_code == 1 and "1 held back" in result.output
    loaded = load_bank(bank)
    assert loaded.by_id["at-mc"].status == "review" and loaded.by_id["at-sa"].status == "draft"


def test_copies_of_one_workbook_for_several_reviewers_all_apply_though_one_suggested_a_difficulty(bank: Path, tmp_path: Path) -> None:
    """One workbook sent to several reviewers: the first import's suggested difficulty changed the
    item, and every other copy's review of it was held back as "changed since the workbook was
    exported" (the difficulty is in the fingerprint).  Only a difficulty changed since: the review
    applies, and a suggestion that replaces another is said."""
    wb = export_workbook(bank, tmp_path / "r.xlsx")
    first = review(wb, tmp_path / "one.xlsx", {"at-sa": {"Decision": "Revise", "Suggested difficulty": "hard", "Reviewer": "Ann"}})
    second = review(wb, tmp_path / "two.xlsx", {"at-sa": {"Decision": "Approve", "Reviewer": "Bob"}})
    third = review(wb, tmp_path / "three.xlsx", {"at-sa": {"Decision": "Revise", "Suggested difficulty": "easy", "Reviewer": "Cy"}})
    assert run("review", "import", first, "--bank", bank, "--date", DATE).exit_code == 0
    assert load_bank(bank).by_id["at-sa"].difficulty == "hard"
    result = run("review", "import", second, "--bank", bank, "--date", DATE)
    assert result.exit_code == 0 and "held back" not in result.output, result.output
    item = load_bank(bank).by_id["at-sa"]
    assert [(r.reviewer, r.decision) for r in item.reviews][-2:] == [("Ann", "revise"), ("Bob", "approve")] and item.difficulty == "hard"
    result = run("review", "import", third, "--bank", bank, "--date", DATE)
    assert result.exit_code == 0, result.output
    assert "this review's suggestion easy replaces it" in result.output
    assert load_bank(bank).by_id["at-sa"].difficulty == "easy"
    # Any other change still holds a review back.
    other = bank / "other.yaml"
    other.write_text(other.read_text().replace("Name the phase in which", "Name the training phase in which"))
    fourth = review(wb, tmp_path / "four.xlsx", {"at-sa": {"Decision": "Approve", "Reviewer": "Di"}})
    assert "changed since the workbook was exported" in failing_import(bank, fourth)


def test_unknown_id(bank: Path, tmp_path: Path) -> None:
    edited = review(export_workbook(bank, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"at-sa": {"Decision": "Approve"}})
    other = bank / "other.yaml"
    other.write_text(other.read_text().replace("id: at-sa", "id: at-sa-renamed"))
    out = failing_import(bank, edited)
    assert f"row {row_of(edited, 'at-sa')}: unknown item id 'at-sa'" in out and "nothing was imported" in out


def test_duplicated_row(bank: Path, tmp_path: Path) -> None:
    wb = export_workbook(bank, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(wb)["Items"]
    header = [c.value for c in ws[1]]
    copy = dict(zip(header, [c.value for c in ws[2]]))
    copy["Decision"] = "Reject"
    edited = review(wb, tmp_path / "e.xlsx", {"at-mc": {"Decision": "Approve"}}, extra_rows=[copy])
    out = failing_import(bank, edited)
    assert f"row {ws.max_row + 1}: item 'at-mc' appears twice (also at row 2)" in out


def test_edited_id_cell(bank: Path, tmp_path: Path) -> None:
    edited = review(export_workbook(bank, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"at-tf": {"ID": "at-sa", "Decision": "Approve"}})
    out = failing_import(bank, edited)
    assert f"row {row_of(tmp_path / 'r.xlsx', 'at-tf')}: the ID cell was edited ('at-tf' → 'at-sa')" in out


def test_row_added_by_hand_and_bad_cells_are_reported_together(bank: Path, tmp_path: Path) -> None:
    wb = export_workbook(bank, tmp_path / "r.xlsx")
    edited = review(
        wb,
        tmp_path / "e.xlsx",
        {"at-mc": {"Decision": "Maybe"}, "at-mr": {"Decision": "Approve", "Suggested difficulty": "brutal"}, "at-sa": {"Comments": "forgot the decision"}},
        extra_rows=[{"ID": "new-item", "Decision": "Approve"}],
    )
    out = failing_import(bank, edited)
    assert "4 problems in the workbook; nothing was imported" in out
    assert "row 2: Decision 'Maybe' is not one of Approve, Revise, Reject" in out
    assert "row 3: Suggested difficulty 'brutal'" in out
    assert f"row {row_of(wb, 'at-sa')}: item 'at-sa' has a comment or suggested difficulty but no Decision" in out
    assert "row 15: this row was not exported by itembank" in out


def test_workbook_of_another_bank_is_refused(bank: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-bank"
    shutil.copytree(ALL_TYPES, other)
    (other / "itembank.yaml").write_text("title: Another bank\n")
    edited = review(export_workbook(other, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"at-mc": {"Decision": "Approve"}})
    out = failing_import(bank, edited)
    assert "exported from bank 'Another bank', not from 'All types'" in out


def test_a_renamed_items_sheet_is_said(bank: Path, tmp_path: Path) -> None:
    """A reviewer renamed the Items sheet: it said "not an itembank review workbook"."""
    wb = openpyxl.load_workbook(export_workbook(bank, tmp_path / "r.xlsx"))
    wb["Items"].title = "Questions"
    wb.save(tmp_path / "renamed.xlsx")
    out = failing_import(bank, tmp_path / "renamed.xlsx")
    assert "the sheet 'Items' is missing (renamed or deleted?)" in out and "'Questions'" in out


def test_non_xlsx_file(bank: Path, tmp_path: Path) -> None:
    fake = tmp_path / "review.xlsx"
    fake.write_text("ID,Decision\nat-mc,Approve\n")
    assert "not an .xlsx workbook" in failing_import(bank, fake)


def test_truncated_and_corrupt_workbooks(bank: Path, tmp_path: Path) -> None:
    data = export_workbook(bank, tmp_path / "r.xlsx").read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    assert "not an .xlsx workbook" in failing_import(bank, truncated)
    # a well-formed zip whose workbook part is garbage
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(tmp_path / "r.xlsx") as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, b"<workbook><sheets><sheet" if info.filename == "xl/workbook.xml" else src.read(info))
    assert "corrupt .xlsx workbook" in failing_import(bank, damaged)
    # a zip that is not a spreadsheet at all
    plain = tmp_path / "plain.xlsx"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert "without xl/workbook.xml" in failing_import(bank, plain)


def test_zip_bombs_are_refused_before_parsing(bank: Path, tmp_path: Path) -> None:
    ratio_bomb = tmp_path / "ratio.xlsx"
    with zipfile.ZipFile(ratio_bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))  # compresses ~1000:1
    assert "zip bomb" in failing_import(bank, ratio_bomb) and "compressed" in failing_import(bank, ratio_bomb)
    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        for n in range(2_100):
            zf.writestr(f"x/{n}.xml", "")
    assert "parts" in failing_import(bank, many)
    entities = tmp_path / "entities.xlsx"
    with zipfile.ZipFile(entities, "w") as zf:
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><workbook>&lol;</workbook>')
    assert "declares a DTD" in failing_import(bank, entities)


def test_usage_errors_exit_2(bank: Path, tmp_path: Path) -> None:
    wb = export_workbook(bank, tmp_path / "r.xlsx")
    assert run("review", "import", wb, "--bank", bank, "--date", "1 May").exit_code == 2
    assert run("review", "import", wb, "--bank", bank, "--date", "2024-02-30").exit_code == 2
    assert run("review", "import", tmp_path / "missing.xlsx", "--bank", bank).exit_code == 2


def test_exported_headers_are_what_the_importer_reads(bank: Path, tmp_path: Path) -> None:
    """One layout (itembank.workbook_layout) on both sides: the exported workbook has every column and
    identity row the importer looks for, under the names it looks for."""
    from itembank import review as rv
    from itembank import workbook_layout as layout

    wb = export_workbook(bank, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(wb)
    header = [c.value for c in book[layout.ITEMS_SHEET][1]]
    assert set(layout.REQUIRED_HEADERS) <= set(header)
    meta = {r[0]: r[1] for r in book[layout.META_SHEET].iter_rows(values_only=True)}
    assert (meta[layout.META_FORMAT_KEY], meta[layout.META_VERSION_KEY], meta[layout.META_BANK_KEY]) == (layout.META_FORMAT, layout.META_VERSION, "All types")
    dropdown = next(dv for dv in book[layout.ITEMS_SHEET].data_validations.dataValidation if dv.promptTitle == layout.H_DECISION)
    assert dropdown.formula1 == '"' + ",".join(layout.DECISIONS) + '"'
    assert [d.lower() for d in layout.DECISIONS] == list(layout.DECISION_STATUS)
    # and the importer accepts it as it is
    meta_read, rows = rv.read_workbook(wb)
    rv.check_identity(wb, meta_read, load_bank(bank))
    assert len(rows) == len(load_bank(bank).items)


def test_the_layout_is_defined_once_and_the_core_imports_no_exporter() -> None:
    import ast

    from itembank import workbook_layout as layout
    from itembank.exporters.xlsx import workbook as xlsx
    from itembank.review import apply, rows

    for name in ("ITEMS_SHEET", "META_SHEET", "META_FORMAT", "H_DECISION", "H_FINGERPRINT", "DECISIONS"):
        assert getattr(xlsx, name) is getattr(layout, name), name
    for module, name in ((rows, "H_ID"), (apply, "DECISION_STATUS"), (rows, "REQUIRED_HEADERS")):
        assert getattr(module, name) is getattr(layout, name), name
    sources = list((ROOT / "itembank").rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any("exporters" in n.split(".") for n in names), f"{source.name} imports an exporter"


# --- layouts the in-place editor must handle (positions from PyYAML's composer) --------------------

EDGE_CASES = {
    # block `reviews` as the last key and no status: the new entries go under reviews, the new keys after
    "reviews_last": (
        "id: e1\ntype: flashcard\nstem: Front\nanswer: Back\nreviews:\n  - decision: revise\n    date: '2023-01-01'\n",
        (
            "id: e1\ntype: flashcard\nstem: Front\nanswer: Back\nreviews:\n  - decision: revise\n    date: '2023-01-01'\n"
            "  - decision: approve\n    comment: |-\n      Tab\there, 'q' and \"dq\": x #y\n\n      line 3\n    date: '2024-05-01'\n    suggested_difficulty: easy\n"
            "status: approved\ndifficulty: easy\n"
        ),
    ),
    # Windows line ends stay Windows line ends, also on the inserted lines
    "crlf": (
        "items:\r\n- id: e1\r\n  type: flashcard\r\n  stem: Front\r\n  answer: Back\r\n  status: draft\r\n- id: e2\r\n  type: flashcard\r\n  stem: F2\r\n  answer: B2\r\n",
        (
            "items:\r\n- id: e1\r\n  type: flashcard\r\n  stem: Front\r\n  answer: Back\r\n  status: approved\r\n  difficulty: easy\r\n  reviews:\r\n  - decision: approve\r\n"
            "    comment: |-\r\n      Tab\there, 'q' and \"dq\": x #y\r\n\r\n      line 3\r\n    date: '2024-05-01'\r\n    suggested_difficulty: easy\r\n- id: e2\r\n  type: flashcard\r\n  stem: F2\r\n  answer: B2\r\n"
        ),
    ),
    # a byte-order mark (columns count from after it), non-ASCII text, a double-quoted status
    "bom": (
        "\ufeffid: e1\ntype: flashcard\nstem: Front é 😀\nanswer: Back\nstatus: \"draft\"\n",
        (
            "\ufeffid: e1\ntype: flashcard\nstem: Front é 😀\nanswer: Back\nstatus: \"approved\"\ndifficulty: easy\nreviews:\n  - decision: approve\n"
            "    comment: |-\n      Tab\there, 'q' and \"dq\": x #y\n\n      line 3\n    date: '2024-05-01'\n    suggested_difficulty: easy\n"
        ),
    ),
    # a folded block scalar as the value to replace; the blank line and comment after it stay
    "block_value": (
        "id: e1\ntype: flashcard\nstem: Front\nanswer: Back\ndifficulty: >-\n  hard\n\n# trailing comment\nstatus: draft\n",
        (
            "id: e1\ntype: flashcard\nstem: Front\nanswer: Back\ndifficulty: easy\n\n# trailing comment\nstatus: approved\nreviews:\n  - decision: approve\n"
            "    comment: |-\n      Tab\there, 'q' and \"dq\": x #y\n\n      line 3\n    date: '2024-05-01'\n    suggested_difficulty: easy\n"
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_in_place_edits_of_unusual_files(case: str, tmp_path: Path) -> None:
    before, expected = EDGE_CASES[case]
    root = tmp_path / "bank"
    root.mkdir()
    (root / "f.yaml").write_bytes(before.encode("utf-8"))
    comment = "Tab\there, 'q' and \"dq\": x #y\n\nline 3"
    edited = review(export_workbook(root, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"e1": {"Decision": "Approve", "Suggested difficulty": "easy", "Comments": comment}})
    result = run("review", "import", edited, "--bank", root, "--date", DATE)
    assert result.exit_code == 0, result.output
    assert (root / "f.yaml").read_bytes().decode("utf-8") == expected
    item = load_bank(root).by_id["e1"]
    assert (item.status, item.difficulty, item.reviews[-1].comment) == ("approved", "easy", comment)


def test_json_file_with_a_bom(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    root.mkdir()
    (root / "one.json").write_text('\ufeff{"id": "js-1", "type": "flashcard", "stem": "Front", "answer": "Back"}\n', encoding="utf-8")
    edited = review(export_workbook(root, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"js-1": {"Decision": "Reject"}})
    assert run("review", "import", edited, "--bank", root, "--date", DATE).exit_code == 0
    assert (root / "one.json").read_text(encoding="utf-8").startswith("\ufeff{\n")
    assert load_bank(root).by_id["js-1"].status == "retired"


# --- the review records' YAML: every string reads back as itself ----------------------------------

TRICKY = [
    "plain words", "2024-05-01", "12:30", "1e3", "0x1F", "0o17", "1_000", ".5", "yes", "No", "on", "~", "null", "True",
    "- dash", "? q", ": colon", "a: b", "a #b", "ends with:", "'single'", '"double"', "#hash", "&anchor", "*alias", "!tag",
    "%pct", "@at", "`tick", "|pipe", ">gt", "[x]", "{y}", ",comma", "=eq", " leading", "trailing ", "tab\tinside",
    "\ttab first", "nbsp\u00a0inside", "nel\x85inside", "ls\u2028inside", "bom\ufeffinside", "ctl\x01\x7f\x9f", "é😀",
    "two\nlines", "\nleading newline", "trailing newline\n", " indented\nfirst", "a\n  indented second", "x\n\n\ny",
    "line\twith tab\nsecond", "\ttab line\nx", "ends blank\n ", "--- not a document", "... nor this", "a\r\nb", "a\rb",
    "<<",  # YAML 1.1's merge key: PyYAML refused the file (found by the property test below, 2026-12-05)
]


def _read_back(text: str) -> list[Any]:
    import yaml as pyyaml
    import yaml_rs

    return [
        yaml_rs.loads(text, parse_datetime=False),
        pyyaml.load(text, Loader=pyyaml.CSafeLoader),
        YAML(typ="safe", pure=True).load(text),
    ]


@pytest.mark.parametrize("value", TRICKY)
def test_review_record_scalars_read_back_exactly(value: str) -> None:
    from itembank.review.yaml_edit import entry_lines

    record = {"decision": "revise", "comment": value, "date": DATE}
    text = "reviews:\n" + "".join(f"{line}\n" for line in entry_lines(record, 2))
    for parsed in _read_back(text):
        assert parsed == {"reviews": [record]}, text


def test_review_record_scalars_property() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    from itembank.review.yaml_edit import entry_lines

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
    def check(value: str) -> None:
        record = {"comment": value}
        text = "".join(f"{line}\n" for line in entry_lines(record, 0))
        for parsed in _read_back(text):
            assert parsed == [record], text

    check()


# --- progress ---------------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only(bank: Path, tmp_path: Path) -> None:
    from itembank.progress import stage_progress
    from itembank.review import import_reviews

    assert stage_progress(io.StringIO()) is None  # not a terminal: quiet
    edited = review(export_workbook(bank, tmp_path / "r.xlsx"), tmp_path / "e.xlsx", {"at-mc": {"Decision": "Approve"}, "at-sa": {"Decision": "Approve"}})
    screen = _Tty()
    import_reviews(edited, load_bank(bank), date=DATE, dry_run=True, progress=stage_progress(screen, interval=0))
    n_rows = len(load_bank(bank).items)
    assert f"\rreading the workbook: {n_rows}/{n_rows} rows\n" in screen.getvalue()
    assert screen.getvalue().endswith("\rupdating item files: 2/2\n")
    # the CLI, whose stderr is not a terminal here, prints no progress
    result = run("review", "import", edited, "--bank", bank, "--date", DATE)
    assert result.exit_code == 0 and "updating item files" not in result.output
