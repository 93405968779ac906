"""`itembank analyze` (issue 18): report readers, slot mapping, Moodle's statistics, flags.

The figures are checked against formulas written out here, from the report files read with the
csv module, independently of itembank.analysis; a tiny class is also worked by hand to the digit.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import math
import shutil
import statistics
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import ROOT, SEED_BANK, SHARED, require
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itembank import Bank, load_bank
from itembank.analysis import MappingError, ReportError, analyze, read_report
from itembank.analysis.readers import split_canvas_list
from itembank.api import select_bank

SAMPLES = SHARED / "samples" / "moodle-quiz-reports"
RESPONSES = SAMPLES / "responses.csv"
GRADES = SAMPLES / "grades.csv"
# The sample quiz: slots 1-5 are pt-quiz-1..5, slots 6-10 pt-practice-1..5 (samples/README.md).
SAMPLE_MAP = {str(n): f"pt-quiz-{n}" for n in range(1, 6)} | {str(n): f"pt-practice-{n - 5}" for n in range(6, 11)}


@pytest.fixture(scope="module")
def samples() -> Path:
    require(RESPONSES.is_file() and GRADES.is_file(), f"Moodle report samples in {SAMPLES}")
    return SAMPLES


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def _write(path: Path, rows: list[list[str]], bom: bool = True) -> Path:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    return path


def _hand_marks() -> tuple[list[str], list[list[float]]]:
    """The sample Grades report's per-slot marks, read plainly (the 'Overall average' row dropped)."""
    rows = _rows(GRADES)
    header = rows[0]
    cols = [i for i, h in enumerate(header) if h.startswith("Q. ")]
    marks = [[float(r[i]) for i in cols] for r in rows[1:] if not r[0].startswith("Overall average")]
    return [header[i].split()[1] for i in cols], marks


def _approx(a: float | None, b: float, tol: float = 1e-9) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=tol, abs_tol=tol)


# ---------------------------------------------------------------- readers


def test_moodle_samples_are_read_with_their_quirks(samples: Path) -> None:
    responses, grades = read_report(RESPONSES), read_report(GRADES)
    assert responses.kind == "moodle-responses" and grades.kind == "moodle-grades"
    assert [s.key for s in responses.slots] == [str(n) for n in range(1, 11)]
    assert len(responses.attempts) == 20 and len(grades.attempts) == 20  # the "Overall average" row is not an attempt
    assert grades.slots[0].max_mark == 1.0 and grades.max_total == 10.0
    first = responses.attempts[0]
    assert first.student == "s001@example.com" and first.started == "10 March 2025  10:34 AM"
    assert responses.responses["1"][0] == "To learn general patterns from a large dataset"  # no BOM in the first header
    assert grades.marks["2"][1] == 1.0 and grades.attempts[0].total == 6.0
    assert grades.marks["1"].tolist() == [float(r[8]) for r in _rows(GRADES)[1:21]]


def test_unfinished_attempts_and_ungraded_marks_are_reported(tmp_path: Path, samples: Path) -> None:
    rows = _rows(GRADES)
    rows[1][3] = "In progress"
    rows[2][8] = "Requires grading"
    report = read_report(_write(tmp_path / "g.csv", rows))
    assert len(report.attempts) == 19
    assert any(":2: left out: attempt is 'In progress'" in n for n in report.notes)
    assert math.isnan(report.marks["1"][0]) and any("'Requires grading' is not a number (e.g. requires grading) on line(s) 3" in n for n in report.notes)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"a,b,c\n1,2,3\n", "not a report itembank reads"),
        (b"\xff\xfe\x00a", "not UTF-8"),
        (b'"Last name",Status,"Response 1"\nX,Finished\n', ":2: 2 cells where the header has 3"),
    ],
)
def test_bad_report_files_get_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(content)
    with pytest.raises(ReportError, match=message):
        read_report(path)


def test_a_responses_report_with_every_try_is_refused(tmp_path: Path, samples: Path) -> None:
    rows = _rows(RESPONSES)
    with pytest.raises(ReportError, match=r":3: the same attempt as line 2 .*Which tries: last try"):
        read_report(_write(tmp_path / "r.csv", [rows[0], rows[1], rows[1]] + rows[2:]))


def test_canvas_multiple_answer_lists_split_on_unescaped_commas() -> None:
    assert split_canvas_list(r"Less data\, less time,Faster training") == ["Less data, less time", "Faster training"]
    assert split_canvas_list("") == []


# ---------------------------------------------------------------- figures against hand formulas


def test_sample_item_figures_match_the_formulas(samples: Path, seed_bank: Bank) -> None:
    result = analyze([RESPONSES, GRADES], seed_bank)
    by_id = {i.id: i for i in result.items}
    slots, marks = _hand_marks()
    totals = [sum(row) for row in marks]
    for j, slot in enumerate(slots):
        x = [row[j] for row in marks]
        rest = [t - m for t, m in zip(totals, x)]
        n = len(x)
        xm, om = sum(x) / n, sum(rest) / n
        cov = sum((a - xm) * (b - om) for a, b in zip(x, rest)) / (n - 1)
        covmax = sum((a - xm) * (b - om) for a, b in zip(sorted(x), sorted(rest))) / (n - 1)
        item = by_id[SAMPLE_MAP[slot]]
        assert item.s == 20
        assert _approx(item.facility, sum(x) / n)  # facility = mean mark / max mark (1.00)
        assert _approx(item.sd, statistics.stdev(x))
        assert _approx(item.discrimination, statistics.correlation(x, rest))
        assert _approx(item.efficiency, cov / covmax)
        assert _approx(item.random_guess, 1 / 4)  # one key among four options
    # Literal figures, counted in the file by eye: slot 1 has fifteen 1.00 of 20; slot 4 six.
    assert by_id["pt-quiz-1"].facility == 15 / 20 and by_id["pt-quiz-4"].facility == 6 / 20


def test_sample_test_figures_match_the_formulas(samples: Path, seed_bank: Bank) -> None:
    test = analyze([RESPONSES, GRADES], seed_bank).tests[0].figures
    _, marks = _hand_marks()
    t = [sum(row) for row in marks]
    s, p = len(t), len(marks[0])
    mean = sum(t) / s
    m2, m3, m4 = (sum((v - mean) ** r for v in t) / s for r in (2, 3, 4))
    k2 = s * m2 / (s - 1)
    k3 = s * s * m3 / ((s - 1) * (s - 2))
    k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
    alpha = p / (p - 1) * (1 - sum(statistics.variance([row[j] for row in marks]) for j in range(p)) / k2)
    assert (test.s, test.items, test.max_total) == (20, 10, 10.0)
    assert _approx(test.mean, 121 / 20)  # = the report's own "Overall average" 6.05
    assert _approx(test.median, statistics.median(t))
    assert _approx(test.sd, statistics.stdev(t))
    assert _approx(test.skewness, k3 / k2**1.5)
    assert _approx(test.kurtosis, k4 / k2**2)
    assert _approx(test.alpha, alpha)
    assert _approx(test.error_ratio, math.sqrt(1 - alpha))
    assert _approx(test.standard_error, math.sqrt(1 - alpha) * statistics.stdev(t))


TINY = [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]]


def test_a_tiny_class_worked_by_hand(tmp_path: Path, seed_bank: Bank) -> None:
    """Four students, three items (marks above), worked on paper:

    item 1: x = 1,1,1,0  rest o = 2,1,0,0;  x̄ = o̅ = .75;  Σdx² = .75, Σdo² = 2.75, Σdx·do = .75
            → discrimination .75 / sqrt(.75 · 2.75) = .52223;  sorted pairs give Σ = .75 → efficiency 1
    test:   T = 3,2,1,0; mean 1.5, median 1.5, SD sqrt(5/3) = 1.29099; item variances .25 + 1/3 + .25
            α = 3/2 · (1 − (5/6)/(5/3)) = .75; error ratio .5; SE .64550; skewness 0;
            kurtosis: m2 = 1.25, m4 = 2.5625, k4 = 16 (5 · 2.5625 − 9 · 1.5625) / 6 = −10/3, / (5/3)² = −1.2
    """
    header = ["Last name", "First name", "Email address", "Status", "Started", "Completed", "Duration", "Grade/3.00"] + [f"Q. {j} /1.00" for j in (1, 2, 3)]
    rows = [header] + [[f"S{i}", "X", f"s{i}@x", "Finished", "1 March 2025  9:00 AM", "", "", f"{sum(r):.2f}"] + [f"{m:.2f}" for m in r] for i, r in enumerate(TINY)]
    (tmp_path / "map.yaml").write_text("1: pt-quiz-1\n2: pt-quiz-2\n3: pt-quiz-3\n")
    result = analyze([_write(tmp_path / "g.csv", rows)], seed_bank, map_file=tmp_path / "map.yaml")
    item1 = next(i for i in result.items if i.id == "pt-quiz-1")
    assert round(item1.discrimination or 0, 5) == 0.52223
    assert item1.efficiency == pytest.approx(1.0)
    assert item1.facility == 0.75
    f = result.tests[0].figures
    assert (f.mean, f.median) == (1.5, 1.5)
    assert round(f.sd or 0, 5) == 1.29099
    assert f.alpha == pytest.approx(0.75) and f.error_ratio == pytest.approx(0.5)
    assert round(f.standard_error or 0, 5) == 0.6455
    assert f.skewness == pytest.approx(0.0, abs=1e-12) and f.kurtosis == pytest.approx(-1.2)


def test_responses_alone_are_scored_with_the_banks_keys_like_moodle_did(samples: Path, seed_bank: Bank) -> None:
    alone = analyze([RESPONSES], seed_bank)
    both = analyze([RESPONSES, GRADES], seed_bank)
    strip = lambda d: {k: v for k, v in d.items() if k != "slots"}
    assert [strip(i.as_dict()) for i in alone.items] == [strip(i.as_dict()) for i in both.items]


def test_option_shares_and_groups(samples: Path, seed_bank: Bank) -> None:
    item = next(i for i in analyze([RESPONSES, GRADES], seed_bank).items if i.id == "pt-quiz-4")
    # Column "Response 4" counted by hand: a (key) 6, b 4, c 10, d 0.
    counts = {o.id: o.count for o in item.options}
    assert counts == {"a": 6, "b": 4, "c": 10, "d": 0}
    assert [o.key for o in item.options] == [True, False, False, False]
    codes = {f.code for f in item.flags}
    assert {"AN105", "AN106", "AN104"} <= codes and all(f.tentative for f in item.flags)  # n = 20: tentative


# ---------------------------------------------------------------- mapping


def test_content_mapping_finds_the_sample_quiz_order(samples: Path, seed_bank: Bank) -> None:
    mapping = analyze([RESPONSES], seed_bank).tests[0].mapping
    assert mapping == SAMPLE_MAP


def test_a_grades_report_alone_needs_a_mapping(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    with pytest.raises(MappingError) as err:
        analyze([GRADES], seed_bank)
    assert "slots 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 need the assessment form the quiz was built from, a slot map" in err.value.details[0]
    (tmp_path / "map.yaml").write_text("".join(f"{k}: {v}\n" for k, v in SAMPLE_MAP.items()))
    mapped = analyze([GRADES], seed_bank, map_file=tmp_path / "map.yaml")
    assert [i.facility for i in mapped.items] == [i.facility for i in analyze([RESPONSES, GRADES], seed_bank).items]


def test_ambiguous_slots_are_reported_with_their_candidates(samples: Path, tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    shutil.copytree(SEED_BANK, bank, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    twin = (bank / "quiz" / "pt-quiz-1.yaml").read_text().replace("id: pt-quiz-1", "id: pt-quiz-1-copy")
    (bank / "quiz" / "pt-quiz-1-copy.yaml").write_text(twin)
    with pytest.raises(MappingError) as err:
        analyze([RESPONSES], load_bank(bank))
    assert err.value.details == ["responses.csv: slot 1 (Response 1) fits 2 items: pt-quiz-1-copy, pt-quiz-1; say which in a slot map"]
    (tmp_path / "map.yaml").write_text("1: pt-quiz-1-copy\n")
    result = analyze([RESPONSES], load_bank(bank), map_file=tmp_path / "map.yaml")
    assert result.tests[0].mapping["1"] == "pt-quiz-1-copy" and result.tests[0].mapping["2"] == "pt-quiz-2"


def test_a_wrong_form_is_caught_by_its_responses(samples: Path, seed_bank: Bank) -> None:
    form_a = select_bank(seed_bank, "pattern-check", "A")  # not the sample quiz's order
    with pytest.raises(MappingError) as err:
        analyze([RESPONSES], seed_bank, form=form_a)
    assert any("slot 1 is mapped to pt-practice-1, but none of its responses is an option" in d for d in err.value.details)


def _permute_slots(rows: list[list[str]], order: list[int], first: int = 8) -> list[list[str]]:
    """Columns first.. reordered so that new slot k holds old slot order[k] (headers renumbered)."""
    out = []
    for r, row in enumerate(rows):
        cells = [row[first + i] for i in order] if len(row) > first else []
        if r == 0:
            cells = [h.replace(str(i + 1), str(k + 1), 1) if h.startswith("Response") else h for k, (h, i) in enumerate(zip(cells, order))]
            cells = [f"Response {k + 1}" if h.startswith("Response") else h for k, h in enumerate(cells)]
        out.append(row[:first] + cells)
    return out


def test_a_form_maps_slots_by_delivery_order(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    form_a = select_bank(seed_bank, "pattern-check", "A")
    inverse = {v: int(k) - 1 for k, v in SAMPLE_MAP.items()}
    order = [inverse[i.id] for i in form_a.items]
    path = _write(tmp_path / "form-a.csv", _permute_slots(_rows(RESPONSES), order))
    by_form = analyze([path], seed_bank, form=form_a)
    assert by_form.tests[0].mapping == {str(k + 1): i.id for k, i in enumerate(form_a.items)}
    assert [i.facility for i in by_form.items] == [i.facility for i in analyze([RESPONSES], seed_bank).items]


def test_a_grades_report_maps_by_form_order(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    form_a = select_bank(seed_bank, "pattern-check", "A")
    inverse = {v: int(k) - 1 for k, v in SAMPLE_MAP.items()}
    order = [inverse[i.id] for i in form_a.items]
    rows = []
    for r, row in enumerate(_rows(GRADES)):
        cells = [row[8 + i] for i in order]
        rows.append(row[:8] + ([f"Q. {k + 1} /1.00" for k in range(10)] if r == 0 else cells))
    by_form = analyze([_write(tmp_path / "g.csv", rows)], seed_bank, form=form_a)
    assert [(i.id, i.facility, i.discrimination) for i in by_form.items] == [(i.id, i.facility, i.discrimination) for i in analyze([RESPONSES, GRADES], seed_bank).items]


# ---------------------------------------------------------------- Canvas


def canvas_student_analysis(path: Path, qid_base: int = 9000) -> Path:
    """The sample class as Canvas's Student Analysis CSV (columns as StudentAnalysis#to_csv writes them)."""
    bank = load_bank(SEED_BANK)
    rows = _rows(RESPONSES)
    _, marks = _hand_marks()
    header = ["name", "id", "sis_id", "section", "section_id", "section_sis_id", "submitted"]
    for slot in range(1, 11):
        item = bank.by_id[SAMPLE_MAP[str(slot)]]
        header += [f"{qid_base + slot}: {item.stem}", "1.0"]
    header += ["n correct", "n incorrect", "score"]
    out = [header]
    for i, row in enumerate(rows[1:]):
        cells = [f"{row[1]} {row[0]}", str(100 + i), row[0], "Section 1", "77", "", "2025-03-10T10:41:00Z"]
        for slot in range(10):
            answer = row[8 + slot]
            cells += ["" if answer == "-" else answer, f"{marks[i][slot]:.1f}"]
        right = int(sum(marks[i]))
        cells += [str(right), str(10 - right), f"{sum(marks[i]):.1f}"]
        out.append(cells)
    return _write(path, out, bom=False)


def test_canvas_student_analysis_gives_the_same_figures(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    path = canvas_student_analysis(tmp_path / "Student Analysis.csv")
    report = read_report(path)
    assert report.kind == "canvas-student-analysis" and [s.key for s in report.slots] == [str(9001 + k) for k in range(10)]
    canvas = analyze([path], seed_bank)
    moodle = analyze([RESPONSES, GRADES], seed_bank)
    assert canvas.tests[0].mapping == {str(9000 + int(k)): v for k, v in SAMPLE_MAP.items()}
    strip = lambda d: {k: v for k, v in d.items() if k != "slots"}
    assert [strip(i.as_dict()) for i in canvas.items] == [strip(i.as_dict()) for i in moodle.items]
    assert canvas.tests[0].figures == moodle.tests[0].figures


def test_several_reports_are_pooled(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    """Two sections (the sample split in halves, one as Moodle reports, one as Canvas) pool into the whole class."""
    rows, grades = _rows(RESPONSES), _rows(GRADES)
    a = _write(tmp_path / "a-responses.csv", rows[:11])
    b = _write(tmp_path / "b-responses.csv", [rows[0]] + rows[11:])
    ga = _write(tmp_path / "a-grades.csv", grades[:11])
    gb = _write(tmp_path / "b-grades.csv", [grades[0]] + grades[11:])
    pooled = analyze([a, ga, b, gb], seed_bank)
    whole = analyze([RESPONSES, GRADES], seed_bank)
    assert len(pooled.tests) == 2 and [t.figures.s for t in pooled.tests] == [10, 10]
    for p, w in zip(pooled.items, whole.items):
        assert p.s == 20 and p.facility == pytest.approx(w.facility) and p.discrimination == pytest.approx(w.discrimination)
        assert [o.count for o in p.options] == [o.count for o in w.options]


# ---------------------------------------------------------------- properties


def _figures(result: Any) -> list[Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in ("slots", "mapping", "name")}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, float):
            return round(value, 9)
        return value

    return [clean(i.as_dict()) for i in result.items] + [clean({k: v for k, v in t.as_dict().items()}) for t in result.tests]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(20)))
def test_row_order_does_not_change_anything(tmp_path_factory: pytest.TempPathFactory, seed_bank: Bank, order: list[int]) -> None:
    require(RESPONSES.is_file(), "Moodle report samples")
    tmp = tmp_path_factory.mktemp("rows")
    rows, grades = _rows(RESPONSES), _rows(GRADES)
    r = _write(tmp / "r.csv", [rows[0]] + [rows[1 + i] for i in order])
    g = _write(tmp / "g.csv", [grades[0]] + [grades[1 + i] for i in order] + grades[21:])
    assert _figures(analyze([r, g], seed_bank)) == _figures(analyze([RESPONSES, GRADES], seed_bank))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(10)))
def test_slot_order_does_not_change_anything_when_mapped(tmp_path_factory: pytest.TempPathFactory, seed_bank: Bank, order: list[int]) -> None:
    require(GRADES.is_file(), "Moodle report samples")
    tmp = tmp_path_factory.mktemp("slots")
    grades = _rows(GRADES)
    permuted = []
    for r, row in enumerate(grades):
        cells = [row[8 + i] for i in order]
        if r == 0:
            cells = [f"Q. {k + 1} /1.00" for k in range(10)]
        permuted.append(row[:8] + cells)
    g = _write(tmp / "g.csv", permuted)
    (tmp / "map.yaml").write_text("".join(f"{k + 1}: {SAMPLE_MAP[str(i + 1)]}\n" for k, i in enumerate(order)))
    (tmp / "id.yaml").write_text("".join(f"{k}: {v}\n" for k, v in SAMPLE_MAP.items()))
    assert _figures(analyze([g], seed_bank, map_file=tmp / "map.yaml")) == _figures(analyze([GRADES], seed_bank, map_file=tmp / "id.yaml"))


# ---------------------------------------------------------------- a simulated class with planted flaws


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"itembank_bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModuleType]:
    sim = _bench("simulate_class")
    out = tmp_path_factory.mktemp("sim")
    sim.write_bank(out, 20, 18)
    sim.write_reports(out, 1000, 20, 18, grades=True)
    return out, sim


def test_planted_flaws_are_flagged_and_nothing_else_is(simulated: tuple[Path, ModuleType]) -> None:
    out, sim = simulated
    result = analyze([out / "responses.csv", out / "grades.csv"], load_bank(out / "bank"))
    flags = {i.id: {f.code: f for f in i.flags} for i in result.items}
    assert "AN104" in flags[sim.NEGATIVE]
    assert flags[sim.DEAD]["AN106"].option == "d"
    assert flags[sim.MISKEY]["AN107"].option == "b"  # the option the class answered as the key
    assert not any(f.tentative for codes in flags.values() for f in codes.values() if f.code in ("AN104", "AN106", "AN107"))
    for item_id, codes in flags.items():
        if item_id not in (sim.NEGATIVE, sim.MISKEY):
            assert "AN104" not in codes and "AN107" not in codes, item_id
        if item_id != sim.DEAD:
            assert "AN106" not in codes, item_id
    # Clean items discriminate (2PL with a >= 0.8 on a 20-item test).
    assert all((i.discrimination or 0) > 0.2 for i in result.items if i.id not in (sim.NEGATIVE, sim.MISKEY))


def test_facility_follows_the_models_difficulty(simulated: tuple[Path, ModuleType]) -> None:
    """The easier an item in the model (lower b), the higher its facility: ranks agree almost exactly."""
    out, sim = simulated
    result = analyze([out / "responses.csv"], load_bank(out / "bank"))
    b = dict(zip(sim.item_ids(20), (p[1] for p in sim.item_params(20, 18))))
    clean = [i for i in result.items if i.id not in (sim.NEGATIVE, sim.MISKEY)]
    by_b = sorted(clean, key=lambda i: b[i.id])
    ranks_f = {i.id: r for r, i in enumerate(sorted(clean, key=lambda i: -(i.facility or 0)))}
    n = len(clean)
    spearman = 1 - 6 * sum((r - ranks_f[i.id]) ** 2 for r, i in enumerate(by_b)) / (n * (n * n - 1))
    assert spearman > 0.9
    assert result.tests[0].figures.alpha is not None and result.tests[0].figures.alpha > 0.7


# ---------------------------------------------------------------- the evidence field


EVIDENCE = """evidence:
  - date: '2025-03-10'
    source: 'Moodle quiz Responses + Grades reports: responses.csv, grades.csv (slot 4)'
    n: 20
    facility: 0.3
    discrimination: -0.1383
    options: {a: 0.3, b: 0.2, c: 0.5, d: 0}
    flags: [AN104, AN105, AN106]
    suggested_difficulty: hard
"""


def test_evidence_is_a_known_field(tmp_path: Path) -> None:
    from itembank.fingerprint import fingerprint
    from itembank.validate import check_bank

    bank = tmp_path / "bank"
    shutil.copytree(SEED_BANK, bank, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    path = bank / "quiz" / "pt-quiz-4.yaml"
    before = fingerprint(load_bank(bank).by_id["pt-quiz-4"])
    path.write_text(path.read_text() + EVIDENCE)
    item = load_bank(bank).by_id["pt-quiz-4"]
    (e,) = item.evidence
    assert (e.date, e.n, e.facility, e.discrimination, e.flags) == ("2025-03-10", 20, 0.3, -0.1383, ("AN104", "AN105", "AN106"))
    assert dict(e.options) == {"a": 0.3, "b": 0.2, "c": 0.5, "d": 0.0}
    assert fingerprint(item) == before  # evidence is about the item, not its content: reviews stay current
    path.write_text(path.read_text().replace("n: 20", "n: -1").replace("facility: 0.3", "facility: 1.5").replace("AN104", "X1"))
    codes = {(p.code, p.path) for p in check_bank(bank).errors}
    assert {("IB106", "evidence[0].n"), ("IB106", "evidence[0].facility"), ("IB105", "evidence[0].flags[0]")} <= codes


def test_canvas_questions_not_given_are_not_zero_marks(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    """A question group gives each student some questions: Canvas leaves both cells empty for the others."""
    path = canvas_student_analysis(tmp_path / "sa.csv")
    rows = _rows(path)
    col = rows[0].index(next(h for h in rows[0] if h.startswith("9001: ")))
    for row in rows[1:6]:
        row[col] = row[col + 1] = ""  # five students were not given slot 9001 (pt-quiz-1)
    item = next(i for i in analyze([_write(path, rows, bom=False)], seed_bank).items if i.id == "pt-quiz-1")
    _, marks = _hand_marks()
    given = [m[0] for m in marks[5:]]
    assert item.s == 15 and item.facility == pytest.approx(sum(given) / 15)
    assert sum(o.count for o in item.options) == 15


def test_attempt_policy(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    """S001 takes the quiz again later and gets everything right: first / last / highest / all."""
    rows, grades = _rows(RESPONSES), _rows(GRADES)
    bank = load_bank(SEED_BANK)
    keys = [next(o.text for o in bank.by_id[SAMPLE_MAP[str(n)]].options if o.correct) for n in range(1, 11)]  # type: ignore[union-attr]
    again = rows[1][:4] + ["11 March 2025  9:00 AM", "11 March 2025  9:10 AM", "10 mins", "10.00"] + keys
    g_again = grades[1][:4] + ["11 March 2025  9:00 AM", "11 March 2025  9:10 AM", "10 mins", "10.00"] + ["1.00"] * 10
    r = _write(tmp_path / "r.csv", [rows[0], again] + rows[1:])  # the later attempt listed first
    g = _write(tmp_path / "g.csv", [grades[0], g_again] + grades[1:])
    means = {p: analyze([r, g], seed_bank, attempts=p).tests[0].figures for p in ("first", "last", "highest", "all")}
    assert means["first"].s == 20 and means["first"].mean == pytest.approx(121 / 20)
    assert means["last"].mean == pytest.approx((121 - 6 + 10) / 20) == means["highest"].mean
    assert means["all"].s == 21 and means["all"].mean == pytest.approx((121 + 10) / 21)


# ---------------------------------------------------------------- the command


def test_cli_text_json_html_and_exit_codes(samples: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from itembank.cli import main

    runner = CliRunner()
    text = runner.invoke(main, ["analyze", "--bank", str(SEED_BANK), str(RESPONSES), str(GRADES)])
    assert text.exit_code == 0, text.output
    assert "mean 60.50%" in text.output and "pt-quiz-4" in text.output and "AN105?" in text.output
    # pt-quiz-2 has two dead distractors: one AN106 in its table row (each has its own line below),
    # and the count of flagged items reads as words
    row = next(line for line in text.output.splitlines() if line.startswith("pt-quiz-2 "))
    assert row.split()[-1] == "AN106?", row
    assert "6 flagged items (" in text.output and "(s)" not in text.output
    js = runner.invoke(main, ["analyze", "--bank", str(SEED_BANK), str(RESPONSES), "--format", "json", "--html", str(tmp_path / "html")])
    assert js.exit_code == 0
    import json

    doc = json.loads(js.stdout)
    assert doc["tests"][0]["mean"] == 6.05 and {i["id"] for i in doc["items"]} == set(SAMPLE_MAP.values())
    assert (tmp_path / "html" / "index.html").is_file()
    unmapped = runner.invoke(main, ["analyze", "--bank", str(SEED_BANK), str(GRADES)])
    assert unmapped.exit_code == 1 and "need the assessment form the quiz was built from, a slot map" in unmapped.output
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    assert runner.invoke(main, ["analyze", "--bank", str(SEED_BANK), str(bad)]).exit_code == 1
    assert runner.invoke(main, ["analyze", "--bank", str(SEED_BANK), "--form", "A", str(GRADES)]).exit_code == 2
    assert runner.invoke(main, ["analyze", "--bank", str(SEED_BANK), "--assessment", "nope", str(GRADES)]).exit_code == 2


def test_moodle_right_answer_column_is_checked_against_the_bank_key(samples: Path, seed_bank: Bank, tmp_path: Path) -> None:
    rows = _rows(RESPONSES)
    rows[0].append("Right answer 4")
    for row in rows[1:]:
        row.append("Training a model on a large dataset")  # pt-quiz-4's option c, not its key a
    result = analyze([_write(tmp_path / "r.csv", rows)], seed_bank)
    assert any("slot 4: the LMS's right answer is c but pt-quiz-4 keys a" in w for w in result.warnings)
    for row in rows[1:]:
        row[-1] = "Adjusting a general language model to understand medical terms"  # the key: no warning
    assert not [w for w in analyze([_write(tmp_path / "r2.csv", rows)], seed_bank).warnings if "right answer" in w]


ALL_TYPES = ROOT / "tests" / "banks" / "all-types"


def test_canvas_multiple_answer_and_true_false_responses(tmp_path: Path) -> None:
    """Canvas writes a multiple-answer response as the chosen texts joined by ',' (a comma inside an
    option escaped as '\\,'); marks come from the points column.  Question texts map the slots."""
    bank = load_bank(ALL_TYPES)
    mr, tf = bank.by_id["at-mr"], bank.by_id["at-tf"]
    header = ["name", "id", "section", "section_id", "submitted", f"11: {mr.stem}", "2.0", f"12: {tf.stem}", "1.0", "n correct", "n incorrect", "score"]
    answers = [
        ("Less task data needed,Faster task training", 2.0, "True", 1.0),
        ("Less task data needed", 1.0, "True", 1.0),
        ("Less task data needed,Guaranteed perfect accuracy", 0.0, "False", 0.0),
        ("", 0.0, "True", 1.0),
    ]
    rows = [header] + [[f"S{i}", str(i), "A", "1", "2025-03-10T10:00:00Z", a, f"{p:.1f}", t, f"{q:.1f}", "0", "0", f"{p + q:.1f}"] for i, (a, p, t, q) in enumerate(answers)]
    result = analyze([_write(tmp_path / "sa.csv", rows, bom=False)], bank)
    assert result.tests[0].mapping == {"11": "at-mr", "12": "at-tf"}
    got = {i.id: i for i in result.items}
    assert {o.id: o.count for o in got["at-mr"].options} == {"a": 3, "b": 1, "c": 1, "d": 0, None: 1}  # one no-answer row
    assert got["at-mr"].facility == pytest.approx((2 + 1 + 0 + 0) / 4 / 2) and got["at-mr"].random_guess is None
    assert {o.id: o.count for o in got["at-tf"].options} == {"true": 3, "false": 1}
    assert got["at-tf"].facility == 0.75 and got["at-tf"].random_guess == 0.5


def test_moodle_multiple_answer_summaries_split_where_options_hold_semicolons(tmp_path: Path) -> None:
    from itembank.analysis.mapping import match_options

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "mr.yaml").write_text(
        "id: mr\ntype: multiple_response\nstem: Pick\noptions:\n"
        "  - {id: a, text: 'Fast; cheap', correct: true}\n  - {id: b, text: Cheap, correct: true}\n  - {id: c, text: Slow, feedback: No.}\n"
    )
    item = load_bank(bank).by_id["mr"]
    assert match_options(item, "Fast; cheap; Cheap", "moodle-responses") == [0, 1]
    assert match_options(item, "Cheap; Slow", "moodle-responses") == [1, 2]
    assert match_options(item, "Fast; Slow", "moodle-responses") is None
    assert match_options(item, r"Fast; cheap,Slow", "canvas-student-analysis") == [0, 2]
