"""`analyze --write`: evidence records appended in place; shown by `stats` and in the review workbook
(Items columns, a Statistics sheet with native charts that LibreOffice draws)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEED_BANK, SHARED, require
from openpyxl import load_workbook

from itembank import load_bank
from itembank.analysis import analyze
from itembank.analysis.write import write_evidence
from itembank.api import export
from itembank.cli import main

SAMPLES = SHARED / "samples" / "moodle-quiz-reports"
REPORTS = [SAMPLES / "responses.csv", SAMPLES / "grades.csv"]
FLAGGED = ["pt-practice-1", "pt-practice-2", "pt-practice-3", "pt-quiz-2", "pt-quiz-4", "pt-quiz-5"]


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    """The seed bank with the file layouts an editor must keep: comments, a two-item `items:` file,
    an `evidence: []` flow list, an existing evidence block, a JSON item file."""
    require(REPORTS[0].is_file(), f"Moodle report samples in {SAMPLES}")
    root = tmp_path / "bank"
    shutil.copytree(SEED_BANK, root, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    quiz = root / "quiz"
    # pt-quiz-2 and pt-quiz-3 in one items: file, with comments between and after
    two = "# two items in one file\nitems:\n"
    for name in ("pt-quiz-2", "pt-quiz-3"):
        body = (quiz / f"{name}.yaml").read_text()
        body = "\n".join(line for line in body.splitlines() if not line.startswith("#"))
        two += "  - " + body.replace("\n", "\n    ").rstrip() + "\n    # end of " + name + "\n"
        (quiz / f"{name}.yaml").unlink()
    (quiz / "pair.yaml").write_text(two + "# trailing comment\n")
    one = quiz / "pt-quiz-1.yaml"
    one.write_text(one.read_text() + "evidence: []  # none yet\n")
    five = quiz / "pt-quiz-5.yaml"
    five.write_text(
        five.read_text()
        + "evidence:\n- date: '2024-01-15'\n  source: an older run\n  n: 12\n  facility: 0.5\n# after the list\n"
    )
    data = load_bank(root).by_id["pt-practice-1"]
    del data
    practice = root / "practice" / "pt-practice-1.yaml"
    import yaml

    (root / "practice" / "pt-practice-1.json").write_text(json.dumps(yaml.safe_load(practice.read_text()), indent=2) + "\n")
    practice.unlink()
    return root


def _kept_in_order(old: str, new: str) -> bool:
    """Every old line is still there, in order (the edit only inserted lines)."""
    it = iter(new.splitlines())
    return all(any(line == n for n in it) for line in old.splitlines())


def test_write_appends_evidence_and_keeps_everything_else(bank: Path) -> None:
    before = {p: p.read_text() for p in bank.rglob("*") if p.is_file()}
    loaded = load_bank(bank)
    result = analyze(REPORTS, loaded)
    report = write_evidence(result, loaded, "2025-03-10")
    assert report.summary() == "added evidence to 10 items in 9 files"
    after = {p: p.read_text() for p in bank.rglob("*") if p.is_file()}
    changed = {p.name for p in after if after[p] != before[p]}
    assert changed == {"pair.yaml", "pt-quiz-1.yaml", "pt-quiz-4.yaml", "pt-quiz-5.yaml", "pt-practice-1.json"} | {f"pt-practice-{n}.yaml" for n in (2, 3, 4, 5)}
    for p, old in before.items():
        if p.suffix == ".yaml" and p.name != "pt-quiz-1.yaml":  # a flow list is rewritten as a block list
            assert _kept_in_order(old, after[p]), p
    pair = after[bank / "quiz" / "pair.yaml"]
    assert pair.count("evidence:") == 2 and pair.endswith("# trailing comment\n") and "# end of pt-quiz-2" in pair
    assert "# after the list" in after[bank / "quiz" / "pt-quiz-5.yaml"]
    reloaded = load_bank(bank)
    by_id = {i.id: i for i in result.items}
    for item_id, stats in by_id.items():
        e = reloaded.by_id[item_id].evidence[-1]
        assert (e.date, e.n) == ("2025-03-10", 20)
        assert e.facility == round(stats.facility or 0, 4) and e.discrimination == round(stats.discrimination or 0, 4)
        assert dict(e.options) == {o.id: round(o.share, 4) for o in stats.options if o.id}
        assert list(e.flags) == sorted({f.code for f in stats.flags})
    assert [e.source for e in reloaded.by_id["pt-quiz-5"].evidence] == ["an older run", "Moodle quiz Responses + Grades reports responses.csv + grades.csv (slot 5)"]
    assert len(reloaded.by_id["pt-quiz-1"].evidence) == 1
    # The same figures again: nothing added.
    again = write_evidence(analyze(REPORTS, reloaded), reloaded, "2025-03-11")
    assert again.changes == [] and len(again.skipped) == 10


def test_cli_write_dry_run_and_stats(bank: Path) -> None:
    runner = CliRunner()
    before = {p: p.read_bytes() for p in bank.rglob("*") if p.is_file()}
    dry = runner.invoke(main, ["analyze", "--bank", str(bank), *map(str, REPORTS), "--write", "--dry-run", "--date", "2025-03-10"])
    assert dry.exit_code == 0, dry.output
    assert "+evidence:" in dry.stderr and "would add evidence to 10 items" in dry.stderr
    assert before == {p: p.read_bytes() for p in bank.rglob("*") if p.is_file()}
    assert runner.invoke(main, ["analyze", "--bank", str(bank), *map(str, REPORTS), "--dry-run"]).exit_code == 2
    assert runner.invoke(main, ["analyze", "--bank", str(bank), *map(str, REPORTS), "--write", "--date", "2025-13-01"]).exit_code == 2
    done = runner.invoke(main, ["analyze", "--bank", str(bank), *map(str, REPORTS), "--write", "--date", "2025-03-10"])
    assert done.exit_code == 0 and "added evidence to 10 items" in done.stderr
    assert runner.invoke(main, ["validate", "--bank", str(bank)]).exit_code == 0
    stats = runner.invoke(main, ["stats", "--bank", str(bank)])
    assert "10 analysed, 6 flagged" in stats.output
    assert re.search(r"pt-quiz-4\s+2025-03-10\s+n=20\s+facility 0.30\s+discrimination -0.14\s+AN104 AN105 AN106", stats.output)
    doc = json.loads(runner.invoke(main, ["stats", "--bank", str(bank), "--json"]).output)
    assert doc["evidence"]["flagged"] == sorted(FLAGGED)


@pytest.fixture
def analysed(bank: Path) -> Path:
    loaded = load_bank(bank)
    write_evidence(analyze(REPORTS, loaded), loaded, "2025-03-10")
    return bank


def test_workbook_shows_the_evidence(analysed: Path, tmp_path: Path) -> None:
    data = export(load_bank(analysed), "xlsx").data
    assert data is not None and export(load_bank(analysed), "xlsx").data == data  # same bank, same bytes, charts included
    path = tmp_path / "review.xlsx"
    path.write_bytes(data)
    wb = load_workbook(path)
    items = list(wb["Items"].iter_rows(values_only=True))
    head = items[0]
    row = next(r for r in items if r[0] == "pt-quiz-4")
    assert row[head.index("Facility")] == 0.3 and row[head.index("Discrimination")] == -0.1383
    assert "AN104 negative-discrimination" in row[head.index("Analysis flags")]
    card = next(r for r in items if r[0] == "pt-card-1")
    assert card[head.index("Facility")] is None
    stats = [r for r in wb["Statistics"].iter_rows(values_only=True)]
    ids = [r[0] for r in stats[4:14]]
    assert ids[:6] == [i for i in (r.id for r in load_bank(analysed).items) if i in FLAGGED]  # flagged first, bank order
    assert len(ids) == 10
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert sum("<scatterChart>" in c for c in charts) == 1
    assert sum("<barChart>" in c for c in charts) == len(FLAGGED)
    # A bank without evidence gets no Statistics sheet and no charts.
    plain = tmp_path / "plain.xlsx"
    plain.write_bytes(export(load_bank(SEED_BANK), "xlsx").data or b"")
    assert "Statistics" not in load_workbook(plain).sheetnames


@pytest.mark.consumer
def test_libreoffice_draws_the_statistics_charts(analysed: Path, soffice: str, tmp_path: Path) -> None:
    src = tmp_path / "review.xlsx"
    src.write_bytes(export(load_bank(analysed), "xlsx").data or b"")
    profile = tmp_path / "lo-profile"
    out = tmp_path / "out"
    for target in ("ods", "html"):
        proc = subprocess.run(
            [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", target, "--outdir", str(out), str(src)],
            check=False,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out / "review.ods") as z:
        kinds = [m.group(1) for n in z.namelist() if re.fullmatch(r"Object \d+/content.xml", n) for m in [re.search(r'chart:class="chart:(\w+)"', z.read(n).decode())] if m]
    assert sorted(kinds) == sorted(["scatter"] + ["bar"] * len(FLAGGED))
    # LibreOffice's HTML export draws every chart as a picture: it rendered them, not just parsed them.
    pictures = re.findall(r'src="(review_html_[0-9a-f]+\.png)"', (out / "review.html").read_text(errors="replace"))
    assert len(pictures) == 1 + len(FLAGGED)
    assert all((out / p).stat().st_size > 3000 for p in pictures)
    shutil.rmtree(profile, ignore_errors=True)
