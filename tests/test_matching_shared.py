"""Matching items whose pairs share a match (Moodle's "Classify the animals": cat → mammal, dog →
mammal, frog → amphibian), in every format and back.

Each distinct match is one target that several prompts take (``MatchingItem.targets``); every
export offers it once, and each prompt's correct answer is its match's target.  Validation used to
refuse such an item (IB217, "two identical targets cannot be told apart"), and with it every
import of one.  The real QTI player scores them in test_qti_player.py, the practice page's
self-check in test_html_browser.py.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from conftest import SHARED, require
from itembank import Bank, audit, export, load_bank
from itembank.analysis.pipeline import random_guess_score
from itembank.exporters.html.keys import matching_ids, scoring_key
from itembank.exporters.markdown import matches_column
from itembank.imports import run_import
from itembank.model import MatchingItem
from itembank.render import Renderer
from itembank.validate import check_bank
from test_canvas import Q, bank_items, export_files, score
from test_gift import read_gift

os.environ.setdefault("ITEMBANK_XSD_DIR", str(SHARED / "xsd"))

CLASSIFY = """\
id: classify
type: matching
stem: Classify the animals.
points: 2
pairs:
  - {prompt: frog, match: amphibian}
  - {prompt: cat, match: mammal}
  - {prompt: newt, match: amphibian}
  - {prompt: dog, match: mammal}
distractors: [insect]
"""
PAIRS = [("frog", "amphibian"), ("cat", "mammal"), ("newt", "amphibian"), ("dog", "mammal")]

MOODLE_FIXTURE = SHARED / "corpora" / "moodle-fixtures" / "question__type__match__tests__fixtures__testquestion.moodle.xml"
QTI_SAMPLE = SHARED / "clients" / "qti-player" / "samples" / "qti3" / "match.xml"


def _bank(tmp_path: Path, text: str = CLASSIFY) -> Bank:
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir(exist_ok=True)
    (bank_dir / "classify.yaml").write_text(text, encoding="utf-8")
    result = check_bank(bank_dir)
    assert [p.format() for p in result.problems] == []
    return result.bank()


def _imported(tmp_path: Path, name: str, data: bytes, reader: str) -> dict[str, Any]:
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / "imported"
    report = run_import([src], out, fmt=reader)
    assert [s for f in report.files for s in f.skipped] == []
    [item] = load_bank(out).items  # what came in validates
    assert isinstance(item, MatchingItem)
    return {"pairs": [(p.prompt, p.match) for p in item.pairs], "distractors": list(item.distractors)}


def test_the_model_names_each_distinct_match_once(tmp_path: Path) -> None:
    item = _bank(tmp_path).items[0]
    assert isinstance(item, MatchingItem)
    assert item.targets == ("amphibian", "mammal") and item.target_of == (0, 1, 0, 1) and item.shares_matches
    # matches shown alike (runs of white space) are one target, as first written
    spaced = _bank(tmp_path, CLASSIFY.replace("{prompt: dog, match: mammal}", "{prompt: dog, match: '  mammal '}")).items[0]
    assert isinstance(spaced, MatchingItem) and spaced.targets == ("amphibian", "mammal") and spaced.target_of == (0, 1, 0, 1)
    # Moodle's random guess score: one of the distinct answers its menus offer (amphibian, mammal, insect)
    assert random_guess_score(spaced) == pytest.approx(1 / 3)


def test_an_item_without_shared_matches_has_a_target_per_pair(all_types_bank: Bank) -> None:
    item = all_types_bank.by_id["at-match"]
    assert isinstance(item, MatchingItem)
    assert item.targets == tuple(p.match for p in item.pairs) and item.target_of == (0, 1, 2) and not item.shares_matches


# --- QTI 2.1 / 3.0 -----------------------------------------------------------------------------------


def _qti_item(files: dict[str, bytes]) -> etree._Element:
    [name] = [n for n in files if n.startswith("items/") and n.endswith(".xml")]
    return etree.fromstring(files[name])


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_qti_offers_each_distinct_match_once_and_keys_every_prompt(tmp_path: Path, fmt: str) -> None:
    if not (SHARED / "xsd" / "catalog.xml").is_file():
        require(False, "official XML schemas (../shared/xsd)")
    bank = _bank(tmp_path)
    result = export(bank, fmt, check=True, unzipped=True)  # --check: valid against the official XSDs
    assert result.files is not None and dict(result.written) == {"matching": 1}
    assert audit.audit(fmt, bank, result, Renderer()) == []
    root = _qti_item(result.files)
    v3 = fmt == "qti30"

    def attr(el: etree._Element, name: str) -> str | None:
        return el.get({"matchMax": "match-max", "mapKey": "map-key", "mappedValue": "mapped-value"}.get(name, name) if v3 else name)

    sets = root.xpath("//*[local-name()='simpleMatchSet' or local-name()='qti-simple-match-set']")
    sources, targets = ([(c.get("identifier"), c.xpath("string()"), attr(c, "matchMax")) for c in s] for s in sets)
    assert sources == [("P1", "frog", "1"), ("P2", "cat", "1"), ("P3", "newt", "1"), ("P4", "dog", "1")]
    # one target per distinct match, then the distractor; any target takes several prompts (matchMax 0)
    assert targets == [("M1", "amphibian", "0"), ("M2", "mammal", "0"), ("D1", "insect", "0")]
    correct = root.xpath("//*[local-name()='correctResponse' or local-name()='qti-correct-response']/*/text()")
    assert correct == ["P1 M1", "P2 M2", "P3 M1", "P4 M2"]
    entries = root.xpath("//*[local-name()='mapEntry' or local-name()='qti-map-entry']")
    assert {attr(e, "mapKey"): attr(e, "mappedValue") for e in entries} == {k: "0.5" for k in correct}


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_qti_without_shared_matches_keeps_one_prompt_per_target(all_types_bank: Bank, fmt: str) -> None:
    result = export(all_types_bank, fmt, unzipped=True)
    assert result.files is not None
    [name] = [n for n in result.files if "at-match" in n and n.endswith(".xml")]
    text = result.files[name].decode()
    attr = "match-max" if fmt == "qti30" else "matchMax"
    assert f'{attr}="0"' not in text and text.count(f'{attr}="1"') == 3 + 4  # 3 prompts, 3 matches + 1 distractor


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_qti_shared_matches_come_back_from_our_export(tmp_path: Path, fmt: str) -> None:
    data = export(_bank(tmp_path), fmt).data
    assert data is not None
    assert _imported(tmp_path, "out.zip", data, "qti") == {"pairs": PAIRS, "distractors": ["insect"]}


def test_the_qti_specs_many_to_one_sample_imports(tmp_path: Path) -> None:
    """The player's copy of the spec's "Characters and plays" (Demetrius and Lysander both in A
    Midsummer-Night's Dream) was skipped as a many-to-one match; it is a matching item now."""
    require(QTI_SAMPLE.is_file(), f"QTI player samples at {QTI_SAMPLE}")
    got = _imported(tmp_path, "match.xml", QTI_SAMPLE.read_bytes(), "qti")
    assert got["pairs"] == [("Capulet", "Romeo and Juliet"), ("Demetrius", "A Midsummer-Night's Dream"),
                            ("Lysander", "A Midsummer-Night's Dream"), ("Prospero", "The Tempest")]
    assert got["distractors"] == []


# --- Canvas ------------------------------------------------------------------------------------------


def test_canvas_offers_each_distinct_match_once_and_scores_every_prompt(tmp_path: Path) -> None:
    """Canvas gives answers with the same right side one match_id (its Matching answer parser): the
    package lists each distinct text once under every prompt, and two prompts' conditions name it;
    matches shown alike ("mammal", " mammal  ") are that one choice too."""
    bank = _bank(tmp_path, CLASSIFY.replace("{prompt: dog, match: mammal}", "{prompt: dog, match: ' mammal  '}"))
    files, result = export_files(bank, check=True)
    assert dict(result.written) == {"matching": 1}
    item = bank_items(bank, files)["classify"]
    lids = item.findall(f"{Q}presentation/{Q}response_lid")
    assert [lid.findtext(f"{Q}material/{Q}mattext") for lid in lids] == ["frog", "cat", "newt", "dog"]
    for lid in lids:
        assert sorted(rl.findtext(f".//{Q}mattext") for rl in lid.iter(f"{Q}response_label")) == ["amphibian", "insect", "mammal"]
    ident = {rl.findtext(f".//{Q}mattext"): rl.get("ident") for rl in lids[0].iter(f"{Q}response_label")}
    right = {lid.get("ident"): {ident[m]} for lid, (_p, m) in zip(lids, PAIRS)}
    assert score(item, right)[0] == pytest.approx(100, abs=0.02)
    right[lids[2].get("ident")] = {ident["mammal"]}  # newt → mammal: 3 of 4
    assert score(item, right)[0] == pytest.approx(75, abs=0.02)


def test_canvas_shared_matches_come_back_from_our_export(tmp_path: Path) -> None:
    data = export(_bank(tmp_path), "canvas").data
    assert data is not None
    assert _imported(tmp_path, "out.zip", data, "canvas") == {"pairs": PAIRS, "distractors": ["insect"]}


# --- Moodle XML and GIFT ------------------------------------------------------------------------------


def test_moodle_xml_repeats_the_answer_text_of_a_shared_match(tmp_path: Path) -> None:
    """qtype_match offers each distinct answer text once in every prompt's menu; pairs whose matches
    are shown alike carry the same text (the first spelling), so Moodle sees one answer."""
    bank = _bank(tmp_path, CLASSIFY.replace("{prompt: dog, match: mammal}", "{prompt: dog, match: 'mammal  '}"))
    data = export(bank, "moodle").data
    assert data is not None
    [q] = etree.fromstring(data).xpath("//question[@type='match' or @type='matching']")
    subs = [(s.findtext("text") or "", s.findtext("answer/text")) for s in q.findall("subquestion")]
    assert [a for _p, a in subs] == ["amphibian", "mammal", "amphibian", "mammal", "insect"]
    assert subs[-1][0] == ""  # the distractor: a subquestion with an empty prompt


def test_moodle_xml_shared_matches_come_back_from_our_export(tmp_path: Path) -> None:
    data = export(_bank(tmp_path), "moodle").data
    assert data is not None
    assert _imported(tmp_path, "questions.xml", data, "moodle") == {"pairs": PAIRS, "distractors": ["insect"]}


def test_moodles_own_classify_the_animals_imports(tmp_path: Path) -> None:
    """qtype_match's own test question (frog and newt → amphibian, cat → mammal, an extra "insect"),
    refused before: "same match as pairs[0]"."""
    require(MOODLE_FIXTURE.is_file(), f"Moodle importer fixtures at {MOODLE_FIXTURE}")
    got = _imported(tmp_path, "testquestion.moodle.xml", MOODLE_FIXTURE.read_bytes(), "moodle")
    assert got == {"pairs": [("frog", "amphibian"), ("cat", "mammal"), ("newt", "amphibian")], "distractors": ["insect"]}


def test_gift_repeats_the_answer_of_a_shared_match_and_it_comes_back(tmp_path: Path) -> None:
    data = export(_bank(tmp_path), "gift").data
    assert data is not None
    [q] = [q for q in read_gift(data.decode("utf-8")) if q.qtype != "category"]  # read as Moodle's parser does
    assert q.qtype == "match" and q.subquestions == [*PAIRS, ("", "insect")]
    assert _imported(tmp_path, "questions.gift", data, "gift") == {"pairs": PAIRS, "distractors": ["insect"]}


# --- Markdown, HTML, xlsx, json ---------------------------------------------------------------------


def test_markdown_prints_a_shared_match_once_and_keys_it_for_each_prompt(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    item = bank.items[0]
    assert isinstance(item, MatchingItem)
    column = matches_column(item)
    assert sorted(column) == ["amphibian", "insect", "mammal"]
    result = export(bank, "markdown")
    assert result.files is not None and audit.audit("markdown", bank, result, Renderer()) == []
    text = b"".join(result.files.values()).decode()
    assert "An option may match more than one item." in text
    letter = {m: "ABC"[column.index(m)] for m in column}
    for n, (prompt, match) in enumerate(PAIRS, 1):
        assert f"| {n}. {prompt} | **{letter[match]}.** {match} |" in text


def test_html_self_check_key_gives_prompts_of_a_shared_match_one_target(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    item = bank.items[0]
    assert isinstance(item, MatchingItem)
    _prompts, targets = matching_ids(item)
    assert targets == [("M1", "amphibian"), ("M2", "mammal"), ("D1", "insect")]
    key = scoring_key(item)
    assert key is not None and key["pairs"] == {"P1": "M1", "P2": "M2", "P3": "M1", "P4": "M2"} and key["share"] == 0.5
    result = export(bank, "html")
    assert audit.audit("html", bank, result, Renderer()) == []


def test_xlsx_and_json_carry_every_pair(tmp_path: Path) -> None:
    bank = _bank(tmp_path)
    for fmt in ("xlsx", "json"):
        result = export(bank, fmt)
        assert audit.audit(fmt, bank, result, Renderer()) == [], fmt
    data = export(bank, "json").data
    assert data is not None
    [raw] = json.loads(data)["items"]
    assert [(p["prompt"], p["match"]) for p in raw["pairs"]] == PAIRS
    with zipfile.ZipFile(io.BytesIO(export(bank, "xlsx").data or b"")) as z:
        strings = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else \
            "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert all(f"{p} → {m}" in strings for p, m in PAIRS)
