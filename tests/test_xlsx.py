"""The reviewer workbook (`itembank export xlsx`): content, layout, formula safety, determinism, LibreOffice."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from itembank import Bank, export, load_bank
from itembank.fingerprint import fingerprint

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES = ROOT / "tests" / "banks" / "all-types"


def workbook(bank: Bank) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(export(bank, "xlsx").data))


def items_sheet(wb: openpyxl.Workbook) -> tuple[list[str], dict[str, dict[str, object]]]:
    """Header names, and each item's row as header -> value."""
    ws = wb["Items"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    return header, {r[0]: dict(zip(header, r)) for r in rows[1:]}


def sheet_xml(data: bytes, name: str = "xl/worksheets/sheet1.xml") -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name).decode("utf-8")


def test_every_item_has_one_row_in_bank_order(all_types_bank: Bank) -> None:
    result = export(all_types_bank, "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(result.data))
    ids = [r[0] for r in wb["Items"].iter_rows(min_row=2, values_only=True)]
    assert ids == [i.id for i in all_types_bank.items]
    assert sum(result.written.values()) == len(all_types_bank.items) and not result.skipped
    assert wb.sheetnames == ["Items", "Summary", "Guide", "itembank"]


def test_seed_bank_every_item_has_a_row(seed_bank: Bank) -> None:
    _, rows = items_sheet(workbook(seed_bank))
    assert list(rows) == [i.id for i in seed_bank.items]


def test_keys_marked_with_explanations_beside_options(all_types_bank: Bank) -> None:
    wb = workbook(all_types_bank)
    header, rows = items_sheet(wb)
    mc = rows["at-mc"]
    assert mc["Option 1"] == "✓ a) Loss keeps falling, so the model is learning"
    assert mc["Explanation 1"] == "Right — a falling loss means the fit improves."
    assert mc["Option 2"] == "b) Loss is rising" and mc["Explanation 2"] == "The curve goes down, not up."
    assert mc["Option 3"] == r"c) The model is \<broken> & so is the data"
    assert header.index("Explanation 1") == header.index("Option 1") + 1
    mr = rows["at-mr"]
    assert [mr[f"Option {n}"].startswith("✓") for n in (1, 2, 3, 4)] == [True, True, False, False]
    tf = rows["at-tf"]
    assert tf["Option 1"] == "✓ True" and tf["Option 2"] == "False"
    assert tf["Explanation 2"].startswith("It does start from one")
    # the key is also marked visually: bold green on a green fill
    ws = wb["Items"]
    key_cell = ws.cell(2, header.index("Option 1") + 1)
    other_cell = ws.cell(2, header.index("Option 2") + 1)
    assert key_cell.font.b and key_cell.fill.fgColor.rgb == "FFC6EFCE"
    assert not other_cell.font.b and other_cell.fill.fill_type is None


def test_answers_and_explanations_for_every_type(all_types_bank: Bank) -> None:
    _, rows = items_sheet(workbook(all_types_bank))
    answer = {i: r["Answer"] for i, r in rows.items()}
    assert answer["at-mc"] == "a"
    assert answer["at-mr"] == "a, b (partial credit)"
    assert answer["at-mr-strict"] == "a, b (all or nothing)"
    assert answer["at-tf"] == "True"
    assert answer["at-sa"] == "pre-training | pretraining"
    assert answer["at-num"] == "50000 ± 0 examples"
    assert answer["at-num-range"] == "any value from 0.001 to 0.01"
    assert "Sample answer: Pre-training learns general patterns" in answer["at-essay"] and "Words: 20–200" in answer["at-essay"]
    assert answer["at-match"].splitlines() == [
        "Pre-training → Learns general patterns",
        "Fine-tuning → Adapts to a task",
        "Evaluation → Measures performance",
        "Distractors: Deletes data",
    ]
    assert answer["at-order"].splitlines()[0] == "1. Collect a large general corpus" and answer["at-order"].splitlines()[-1] == "4. Evaluate"
    assert answer["at-cloze"].splitlines() == [
        "{{phase1}}: pre-trained | pretrained",
        "{{phase2}}: fine-tuned (choices: fine-tuned, deleted, ignored)",
        "{{epochs}}: 3 ± 0",
    ]
    assert answer["at-card"] == "Learning general patterns from a large dataset before a specific task."
    mc = rows["at-mc"]
    assert mc["Rationale"] == "A decreasing training loss shows learning progress."
    assert mc["Hints"] == "1. Look at the direction of the curve."
    assert mc["Solution"].splitlines() == [
        "1. Read the axes: Epochs run left to right, loss bottom to top.",
        "2. Compare the first and last points.",
        "Final answer: The loss falls -> option a",
        "Quick check: Falling loss = learning",
    ]
    assert mc["Common mistakes"] == "• Reading the curve right to left"
    assert mc["Tags"] == "curves, loss & accuracy" and mc["Source file"] == "choice.yaml (item 1)"
    assert mc["Stem"].startswith("The curve below") and "$L = -\\sum_i y_i \\log p_i$" in mc["Stem"]
    assert rows["at-essay"]["Rubric"].splitlines()[0] == "• General patterns from large data (1 pt)"
    assert (mc["Difficulty"], mc["Level"], mc["Bloom"], mc["Status"], mc["Points"], mc["Topic"]) == ("medium", "intermediate", "analyze", "approved", 2, "training")


def test_review_columns_dropdowns_and_protection(all_types_bank: Bank) -> None:
    wb = workbook(all_types_bank)
    ws = wb["Items"]
    header, rows = items_sheet(wb)
    col = {h: openpyxl.utils.get_column_letter(header.index(h) + 1) for h in header}
    last = len(all_types_bank.items) + 1
    lists = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert lists['"Approve,Revise,Reject"'] == f"{col['Decision']}2:{col['Decision']}{last}"
    assert lists['"easy,medium,hard"'] == f"{col['Suggested difficulty']}2:{col['Suggested difficulty']}{last}"
    assert header[-6:] == ["Reviewer", "Decision", "Suggested difficulty", "Comments", "Exported id", "Fingerprint"]
    # fingerprint and exported id: hidden, locked, on a protected sheet
    assert ws.protection.sheet
    for h in ("Exported id", "Fingerprint"):
        assert ws.column_dimensions[col[h]].hidden
        assert ws[f"{col[h]}2"].protection.locked
    assert not any(ws.column_dimensions[col[h]].hidden for h in header[:-2])
    # reviewers can type in the review cells only, and still filter and sort
    for h in ("Reviewer", "Decision", "Suggested difficulty", "Comments"):
        assert ws[f"{col[h]}{last}"].protection.locked is False
    assert ws["A2"].protection.locked and ws[f"{col['Stem']}2"].protection.locked
    assert ws.protection.autoFilter is False and ws.protection.sort is False
    for item in all_types_bank.items:
        assert rows[item.id]["Fingerprint"] == fingerprint(item)
        assert rows[item.id]["Exported id"] == item.id


def test_readable_layout(all_types_bank: Bank) -> None:
    data = export(all_types_bank, "xlsx").data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Items"]
    header, _ = items_sheet(wb)
    last = len(all_types_bank.items) + 1
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{last}"
    assert all(ws.cell(1, n).font.b for n in range(1, len(header) + 1))
    assert ws.cell(2, header.index("Stem") + 1).alignment.wrap_text
    assert ws.column_dimensions["J"].width == 60  # Stem
    # row heights grow with the text: the multi-line at-mc row is taller than the one-line at-card row
    heights = {ws.cell(r, 1).value: ws.row_dimensions[r].height for r in range(2, last + 1)}
    assert heights["at-mc"] > heights["at-card"] >= 15
    # conditional formatting colours difficulty, status and the decision
    ranges = {str(cf.sqref) for cf in ws.conditional_formatting}
    col = {h: openpyxl.utils.get_column_letter(header.index(h) + 1) for h in header}
    for h in ("Difficulty", "Status", "Decision"):
        assert f"{col[h]}2:{col[h]}{last}" in ranges
    xml = sheet_xml(data)
    assert '<formula>"hard"</formula>' in xml and '<formula>"approved"</formula>' in xml


def test_summary_and_guide(all_types_bank: Bank) -> None:
    wb = workbook(all_types_bank)
    summary = [r for r in wb["Summary"].iter_rows(values_only=True)]
    by_first = {r[0]: r for r in summary if r and r[0]}
    assert by_first["multiple_response"][1:6] == (0, 0, 1, 1, 2)  # easy, medium, hard, none, total
    assert by_first["Total"][5] == len(all_types_bank.items)
    assert by_first["basics"][1] == 9 and by_first["training"][1] == 3 and by_first["writing"][1] == 1
    assert by_first["Approve"][1].startswith("=COUNTIF('Items'!$AI$2:$AI$14")
    # the review progress is formulas the spreadsheet computes (not text showing "=COUNTIF(...)")
    progress = [row for row in wb["Summary"].iter_rows() if row[0].value in ("Approve", "Revise", "Reject", "Not decided yet")]
    assert [(row[0].value, row[1].data_type) for row in progress] == [("Approve", "f"), ("Revise", "f"), ("Reject", "f"), ("Not decided yet", "f")]
    guide = "\n".join(str(c) for r in wb["Guide"].iter_rows(values_only=True) for c in r if c)
    assert "Approve sets the item's status to approved" in guide
    assert "Decision" in guide and "Fingerprint" in guide


@pytest.fixture
def injection_bank(tmp_path: Path) -> Bank:
    root = tmp_path / "bank"
    root.mkdir()
    (root / "itembank.yaml").write_text("title: Injection\n")
    (root / "inj.yaml").write_text(
        """items:
  - id: inj-mc
    type: multiple_choice
    stem: '=HYPERLINK("http://x","y")'
    options:
      - {id: a, text: '+1+1', correct: true}
      - {id: b, text: '-2', feedback: "@SUM(A1:A2)"}
      - {id: c, text: "\\tcmd|' /C calc'!A0", feedback: "\\rX"}
    rationale: '=1+2'
  - id: inj-card
    type: flashcard
    stem: '@front'
    answer: '=cmd|"/c calc"!A1'
""",
        encoding="utf-8",
    )
    return load_bank(root)


def test_formula_injection_is_written_as_inert_text(injection_bank: Bank) -> None:
    data = export(injection_bank, "xlsx").data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["Items"]
    header, rows = items_sheet(wb)
    assert rows["inj-mc"]["Stem"] == '=HYPERLINK("http://x","y")'
    assert rows["inj-mc"]["Rationale"] == "=1+2"
    assert rows["inj-mc"]["Explanation 2"] == "@SUM(A1:A2)"
    assert rows["inj-mc"]["Option 3"] == "c) \tcmd|' /C calc'!A0"
    assert rows["inj-mc"]["Explanation 3"] == "\rX"
    assert rows["inj-card"]["Stem"] == "@front" and rows["inj-card"]["Answer"] == '=cmd|"/c calc"!A1'
    stem = ws.cell(2, header.index("Stem") + 1)
    assert stem.data_type == "s" and stem.quotePrefix  # Excel keeps it text even when edited
    items_xml = sheet_xml(data)
    assert "<f>" not in items_xml and "<f " not in items_xml
    assert '<t>=HYPERLINK("http://x","y")</t>' in items_xml


def test_a_text_with_leading_spaces_keeps_them_and_only_its_cell_says_so(tmp_path: Path) -> None:
    """A cell whose text starts with spaces keeps them (``xml:space="preserve"``), in the middle of a
    row of cells that have none: the mark is not carried over to the cells written after it."""
    root = tmp_path / "bank"
    root.mkdir()
    (root / "a.yaml").write_text(
        "id: sp\ntype: multiple_choice\nstem: Pick one\nrationale: \"   indented reason\"\noptions:\n"
        "  - id: a\n    text: \"  two spaces first\"\n    correct: true\n  - id: b\n    text: plain\n    feedback: No.\n",
        encoding="utf-8",
    )
    (root / "b.yaml").write_text("id: zz\ntype: true_false\nstem: \" leading\"\nanswer: true\n", encoding="utf-8")
    data = export(load_bank(root), "xlsx").data
    _, rows = items_sheet(openpyxl.load_workbook(io.BytesIO(data)))
    assert rows["sp"]["Option 1"].endswith(")   two spaces first") and rows["sp"]["Option 2"].endswith(") plain")
    assert rows["sp"]["Rationale"] == "   indented reason" and rows["zz"]["Stem"] == " leading"
    texts = re.findall(r"<t( [^>]*)?>([^<]*)</t>", sheet_xml(data))
    spaced = {text for attrs, text in texts if attrs}
    assert spaced == {"   indented reason", " leading"}, spaced
    assert all(attrs == ' xml:space="preserve"' for attrs, _ in texts if attrs)


def test_output_is_deterministic(all_types_bank: Bank) -> None:
    first = export(all_types_bank, "xlsx").data
    second = export(load_bank(ALL_TYPES), "xlsx").data
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        names = zf.namelist()
        assert names == sorted(names) and names[0] == "[Content_Types].xml"
        assert {i.date_time for i in zf.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = zf.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2


def test_overlong_text_is_cut_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    root.mkdir()
    (root / "long.yaml").write_text(f"id: long\ntype: flashcard\nstem: Front\nanswer: {'word ' * 8000}\n")
    result = export(load_bank(root), "xlsx")
    _, rows = items_sheet(openpyxl.load_workbook(io.BytesIO(result.data)))
    assert len(rows["long"]["Answer"]) <= 32_767 and rows["long"]["Answer"].endswith("longer than an Excel cell holds]")
    assert any("long" in n and "cut" in n for n in result.notes)


@pytest.mark.consumer
def test_libreoffice_opens_it_and_sees_every_item(all_types_bank: Bank, injection_bank: Bank, soffice: str, tmp_path: Path) -> None:
    profile = tmp_path / "lo-profile"
    for bank in (all_types_bank, injection_bank):
        src = tmp_path / f"{bank.title}.xlsx"
        src.write_bytes(export(bank, "xlsx").data)
        out = tmp_path / f"csv-{bank.title}"
        proc = subprocess.run(
            [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out), str(src)],
            check=False,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr
        csv_path = out / f"{bank.title}.csv"
        assert csv_path.is_file(), proc.stdout + proc.stderr
        rows = list(csv.reader(csv_path.open(encoding="utf-8")))
        assert rows[0][:2] == ["ID", "Type"]
        assert [r[0] for r in rows[1:]] == [i.id for i in bank.items]
        if bank is injection_bank:
            # LibreOffice read the cell as text, not as a formula it would have evaluated
            stem = rows[0].index("Stem")
            assert rows[1][stem] == '=HYPERLINK("http://x","y")'
    shutil.rmtree(profile, ignore_errors=True)


def _review_progress(path: Path) -> dict[str, object]:
    """The Summary's review progress as a reader that does not calculate sees it (the values saved with the formulas)."""
    rows = [r for r in openpyxl.load_workbook(path, data_only=True)["Summary"].iter_rows(values_only=True)]
    top = next(n for n, r in enumerate(rows) if r[0] == "Review progress")
    return {r[0]: r[1] for r in rows[top + 1 : top + 5]}


@pytest.mark.consumer
def test_libreoffice_computes_the_review_progress_and_an_items_text_starting_with_equals_stays_text(
    all_types_bank: Bank, injection_bank: Bank, soffice: str, tmp_path: Path
) -> None:
    """The Summary's review progress counts the Decision column with formulas (docs/review.md).  They
    were written as text cells (every str was forced to a string cell), so a spreadsheet showed
    "=COUNTIF('Items'!...)" as typed.  Only the formulas the exporter composes are formulas: an
    item's text starting with "=" stays text, in LibreOffice too."""
    decided = {"at-mc": "Approve", "at-tf": "Approve", "at-num": "Approve", "at-sa": "Revise", "at-cloze": "Revise", "at-essay": "Reject"}
    src = tmp_path / "src"
    src.mkdir()
    # A reviewer's workbook with six decisions typed in (openpyxl saves no computed values: LibreOffice computes them).
    wb = openpyxl.load_workbook(io.BytesIO(export(all_types_bank, "xlsx").data))
    ws = wb["Items"]
    decision = [c.value for c in ws[1]].index("Decision") + 1
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, 1).value in decided:
            ws.cell(row, decision).value = decided[ws.cell(row, 1).value]
    wb.save(src / "reviewed.xlsx")
    (src / "injection.xlsx").write_bytes(export(injection_bank, "xlsx").data)
    (src / "none.xlsx").write_bytes(export(all_types_bank, "xlsx", status="retired").data)  # no item: an empty Decision column
    out = tmp_path / "lo"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
         *(str(src / n) for n in ("reviewed.xlsx", "injection.xlsx", "none.xlsx"))],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    n = len(all_types_bank.items)
    assert _review_progress(out / "reviewed.xlsx") == {"Approve": 3, "Revise": 2, "Reject": 1, "Not decided yet": n - 6}
    assert _review_progress(out / "injection.xlsx") == {"Approve": 0, "Revise": 0, "Reject": 0, "Not decided yet": len(injection_bank.items)}
    assert _review_progress(out / "none.xlsx") == {"Approve": 0, "Revise": 0, "Reject": 0, "Not decided yet": 0}
    # The item's text that starts with "=" is a text cell after LibreOffice read and saved the workbook.
    header, rows = items_sheet(openpyxl.load_workbook(out / "injection.xlsx"))
    assert rows["inj-mc"]["Stem"] == '=HYPERLINK("http://x","y")' and rows["inj-card"]["Answer"] == '=cmd|"/c calc"!A1'
    ws = openpyxl.load_workbook(out / "injection.xlsx")["Items"]
    assert ws.cell(2, header.index("Stem") + 1).data_type == "s" and ws.cell(2, header.index("Rationale") + 1).data_type == "s"
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)

def _unsuppressed_seed_bank(tmp_path: Path) -> Path:
    """The example bank without its lint suppressions: its true findings show."""
    bank = tmp_path / "items"
    shutil.copytree(ROOT / "items", bank, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    for f in bank.rglob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if "\nlint:\n" in text:
            f.write_text(text[: text.index("\nlint:\n") + 1], encoding="utf-8")
    return bank


def test_lint_findings_column_and_summary(tmp_path: Path) -> None:
    wb = workbook(load_bank(_unsuppressed_seed_bank(tmp_path)))
    header, rows = items_sheet(wb)
    assert header.index("Lint findings") < header.index("Reviewer")
    cell = rows["pt-quiz-2"]["Lint findings"]
    assert isinstance(cell, str) and cell.startswith("IB501 options[1].text: the key (option b, 48 characters)") and "Suggestion:" in cell
    assert rows["pt-quiz-1"]["Lint findings"] is None
    assert sorted(i for i, r in rows.items() if r["Lint findings"]) == ["pt-practice-1", "pt-quiz-2", "pt-quiz-4"]
    summary = [r for r in wb["Summary"].iter_rows(values_only=True)]
    top = next(n for n, r in enumerate(summary) if r[0] == "Lint (itembank lint)")
    counts = {}
    for r in summary[top + 1 :]:
        if not r or r[0] is None:
            break
        counts[r[0]] = r[1]
    assert counts == {"IB501 key-longest": 3, "IB552 longest-key-share": 1, "IB554 blueprint-coverage": 3}
    start = next(n for n, r in enumerate(summary) if r[0] == "Bank-level finding")
    bank_rows = [r[:2] for r in summary[start + 1 :] if r[0]]
    assert [code for code, _ in bank_rows] == ["IB554 blueprint-coverage"] * 3 + ["IB552 longest-key-share"]
    assert bank_rows[0][1].startswith("assessments/pattern-check.yaml:22: rule sections[0].select[0]")
    assert "itembank.yaml:1: the key is the longest option in 8 of 10" in bank_rows[3][1]
    # each bank finding's text spans B:F on its own row, tall enough for its lines
    ws = openpyxl.load_workbook(io.BytesIO(export(load_bank(_unsuppressed_seed_bank(tmp_path / "again")), "xlsx").data))["Summary"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    first = start + 2  # 1-based row of the first bank finding
    assert {f"B{first + k}:F{first + k}" for k in range(4)} <= merged
    assert all((ws.row_dimensions[first + k].height or 0) > 15 for k in range(4))


def test_lint_column_is_empty_on_a_clean_bank_and_forms_skip_bank_rules(seed_bank: Bank) -> None:
    wb = workbook(seed_bank)  # the example bank accepts its findings with reasons
    _, rows = items_sheet(wb)
    assert all(r["Lint findings"] is None for r in rows.values())
    summary = {r[0]: r for r in wb["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["no findings"][1] == 0 and "none" in summary
    form = openpyxl.load_workbook(io.BytesIO(export(seed_bank, "xlsx", assessment="pattern-check", form="A").data))
    texts = [r[0] for r in form["Summary"].iter_rows(values_only=True) if r and r[0]]
    assert any(str(t).startswith("Bank-level lint rules are not run on a part of the bank") for t in texts)
    approved = openpyxl.load_workbook(io.BytesIO(export(load_bank(ALL_TYPES), "xlsx", status=["approved"]).data))
    texts = [r[0] for r in approved["Summary"].iter_rows(values_only=True) if r and r[0]]
    assert any(str(t).startswith("Bank-level lint rules are not run on a part of the bank") for t in texts)


@pytest.mark.parametrize("source", ["generated", "tests/banks/all-types", "items"])
def test_rows_and_lint_shared_out_over_processes_are_the_same_bytes(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A single export with several processes (``jobs``) builds the item rows in forked shares, a
    block at a time, and lints with a child: the workbook is byte for byte the one process's, with
    the same account of items and the same notes, in the same order."""
    import itembank.exporters.xlsx.workbook as xlsx
    from conftest import count_shares, generated_bank
    from itembank.forked import can_fork
    from itembank.lint import engine

    bank = load_bank(generated_bank(tmp_path / "gen", 120) if source == "generated" else ROOT / source)
    one = export(bank, "xlsx", jobs=1)
    shares = count_shares(monkeypatch, xlsx)  # share out even these small banks
    monkeypatch.setattr(xlsx, "ROWS_AT_ONCE", 7)  # several blocks, the last one short
    monkeypatch.setattr(engine, "PARALLEL_MIN_ITEMS", 1)  # the lint column's child too
    blocks = [min(7, len(bank.items) - start) for start in range(0, len(bank.items), 7)]
    for jobs in (2, 3):
        shares.clear()
        many = export(bank, "xlsx", jobs=jobs)
        assert many.data == one.data
        assert (many.notes, many.written, many.skipped) == (one.notes, one.written, one.skipped)
        assert shares == ([min(jobs, n) for n in blocks] if can_fork() else [1] * len(blocks))  # the rows really were shared out
