"""QTI 2.1 / 3.0 packages: schema validity (official XSDs), determinism, structure, scoring rules, feedback.

The real QTI player runs are in test_qti_player.py (slow); everything here is lxml + the XSDs.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from itembank.exporters import qti
from itembank.exporters.kit import xsd
from itembank.exporters.qti.profiles import MATHML_NS
from itembank.exporters.qti.writer import ItemWriter
from itembank import Bank
from itembank.api import InvalidBank, load_bank
from itembank.errors import ItembankError
from itembank.formats import ExportContext, ExportOptions, ExportResult
from itembank.model import BankConfig, Blank, ChoiceItem, ClozeItem, Criterion, EssayItem, Form, Option, Section, SourceRef
from itembank.render import Renderer
from itembank.validate import check_bank

#: The interaction each item type is written with (cloze: an inline one per blank).
INTERACTION = {
    "multiple_choice": "choiceInteraction",
    "multiple_response": "choiceInteraction",
    "true_false": "choiceInteraction",
    "short_answer": "textEntryInteraction",
    "numeric": "textEntryInteraction",
    "essay": "extendedTextInteraction",
    "matching": "matchInteraction",
    "ordering": "orderInteraction",
    "flashcard": "extendedTextInteraction",
}
PROFILES = {"qti21": qti.QTI21, "qti30": qti.QTI30}
CP = {"qti21": "http://www.imsglobal.org/xsd/imscp_v1p1", "qti30": "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"}
LOM = "http://ltsc.ieee.org/xsd/LOM"


def export_files(bank: Bank, fmt: str, **options: object) -> tuple[dict[str, bytes], ExportResult]:
    from itembank.formats import get_exporter

    ctx = ExportContext(renderer=Renderer(), options=ExportOptions(**{"unzipped": True, **options}), tool_version="test")
    result = get_exporter(fmt).export(bank, ctx)
    assert result.files is not None
    return result.files, result


@pytest.fixture(scope="module")
def packages(seed_bank: Bank, all_types_bank: Bank) -> dict[tuple[str, str], tuple[dict[str, bytes], ExportResult]]:
    return {(b, f): export_files(bank, f) for b, bank in (("seed", seed_bank), ("all", all_types_bank)) for f in PROFILES}


def q(fmt: str, name: str) -> str:
    """Qualified name of a QTI element given in its 2.1 spelling."""
    return PROFILES[fmt].tag(name)


def a(fmt: str, name: str) -> str:
    return PROFILES[fmt].attr(name)


def item_tree(files: dict[str, bytes], item_id: str) -> etree._Element:
    return etree.fromstring(files[f"items/{item_id}.xml"])


BANK_FORMATS = [(b, f) for b in ("seed", "all") for f in PROFILES]


# --- validity against the official schemas ----------------------------------------------------


@pytest.mark.consumer
@pytest.mark.parametrize("bank,fmt", BANK_FORMATS)
def test_every_item_test_and_manifest_validates(packages, xsd_dir: Path, bank: str, fmt: str) -> None:
    files, result = packages[(bank, fmt)]
    xml = {name: data for name, data in files.items() if name.endswith(".xml") and name != "imsmanifest.xml"}
    assert len(xml) == sum(result.written.values()) + 1  # every item plus the test
    assert xsd.validate_files(xml, fmt, xsd_dir) == []
    assert xsd.validate_file(files["imsmanifest.xml"], f"{fmt}-cp", xsd_dir) == []


@pytest.mark.consumer
def test_xsd_helper_reports_invalid_documents(xsd_dir: Path) -> None:
    bad = b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x" adaptive="false" timeDependent="false"/>'
    problems = xsd.validate_file(bad, "qti21", xsd_dir)
    assert any("title" in p for p in problems)
    assert xsd.validate_file(b"<not-closed>", "qti21", xsd_dir)[0].startswith("not well-formed")
    with pytest.raises(ItembankError, match="unknown schema key"):
        xsd.validate_file(bad, "nope", xsd_dir)


@pytest.mark.consumer
def test_xsd_fallback_subprocess_runs_the_installed_module(xsd_dir: Path, packages) -> None:
    """The fallback when the catalog came too late in-process: `python -m itembank.exporters.kit.xsd`."""
    files, _ = packages[("all", "qti21")]
    bad = b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x" adaptive="false" timeDependent="false"/>'
    problems = xsd.validate_in_subprocess({"good.xml": files["imsmanifest.xml"], "bad.xml": bad}, "qti21-cp", xsd_dir.resolve())
    assert problems and all(p.startswith("bad.xml: ") for p in problems)
    assert xsd.validate_in_subprocess({"item.xml": bad}, "qti21", xsd_dir.resolve()) == xsd.validate_files({"item.xml": bad}, "qti21", xsd_dir)


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
def test_check_option_validates_and_notes(all_types_bank: Bank, xsd_dir: Path, monkeypatch, fmt: str) -> None:
    monkeypatch.setenv("ITEMBANK_XSD_DIR", str(xsd_dir))
    _files, result = export_files(all_types_bank, fmt, check=True)
    assert any("valid against" in n for n in result.notes)


@pytest.mark.consumer
def test_check_files_lists_failures(all_types_bank: Bank, xsd_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("ITEMBANK_XSD_DIR", str(xsd_dir))
    files, _ = export_files(all_types_bank, "qti21")
    files["items/at-tf.xml"] = files["items/at-tf.xml"].replace(b' title="at-tf"', b"")
    problems = qti.check_files(qti.QTI21, files)
    assert len(problems) == 1 and problems[0].startswith("items/at-tf.xml:") and "title" in problems[0]


def test_check_without_schema_folder_is_a_clear_error(all_types_bank: Bank, monkeypatch) -> None:
    monkeypatch.delenv("ITEMBANK_XSD_DIR", raising=False)
    with pytest.raises(ItembankError, match="ITEMBANK_XSD_DIR"):
        export_files(all_types_bank, "qti30", check=True)


# --- determinism and packaging ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", PROFILES)
def test_zip_is_byte_identical_across_runs(all_types_bank: Bank, fmt: str) -> None:
    from itembank.formats import get_exporter

    runs = [get_exporter(fmt).export(all_types_bank, ExportContext(renderer=Renderer(), tool_version="t")).data for _ in range(2)]
    assert runs[0] is not None and runs[0] == runs[1]
    with zipfile.ZipFile(io.BytesIO(runs[0])) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names[0] == "imsmanifest.xml" and names[1:] == sorted(names[1:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize("bank,fmt", BANK_FORMATS)
def test_every_item_written_and_manifest_consistent(packages, seed_bank, all_types_bank, bank: str, fmt: str) -> None:
    files, result = packages[(bank, fmt)]
    source = seed_bank if bank == "seed" else all_types_bank
    assert sum(result.written.values()) == len(source.items) and result.skipped == []
    manifest = etree.fromstring(files["imsmanifest.xml"])
    cp = CP[fmt]
    resources = manifest.findall(f"{{{cp}}}resources/{{{cp}}}resource")
    ids = {r.get("identifier") for r in resources}
    for res in resources:
        for f in res.findall(f"{{{cp}}}file"):
            assert f.get("href") in files, f"manifest lists a missing file {f.get('href')}"
        for dep in res.findall(f"{{{cp}}}dependency"):
            assert dep.get("identifierref") in ids
    item_res = [r for r in resources if r.get("type") == PROFILES[fmt].item_resource]
    assert sorted(r.get("href") for r in item_res) == sorted(f"items/{i.id}.xml" for i in source.items)
    test_res = [r for r in resources if r.get("type") == PROFILES[fmt].test_resource]
    assert len(test_res) == 1
    assert {d.get("identifierref") for d in test_res[0].findall(f"{{{cp}}}dependency")} == {r.get("identifier") for r in item_res}
    # every packaged file is listed in the manifest
    listed = {f.get("href") for f in manifest.iter(f"{{{cp}}}file")}
    assert listed == set(files) - {"imsmanifest.xml"}


def test_media_packaged_with_dependency_and_relative_src(packages, all_types_bank: Bank) -> None:
    for fmt in PROFILES:
        files, _ = packages[("all", fmt)]
        assert files["media/loss-curve.png"] == (all_types_bank.root / "media/loss-curve.png").read_bytes()
        img = next(item_tree(files, "at-mc").iter(q(fmt, "img").replace("qti-img", "img")))
        assert img.get("src") == "../media/loss-curve.png" and img.get("alt") == "Loss falling over epochs"
        manifest = etree.fromstring(files["imsmanifest.xml"])
        cp = CP[fmt]
        media_res = [r for r in manifest.iter(f"{{{cp}}}resource") if r.get("href") == "media/loss-curve.png"]
        assert len(media_res) == 1 and media_res[0].get("type") == "webcontent"
        mc = next(r for r in manifest.iter(f"{{{cp}}}resource") if r.get("href") == "items/at-mc.xml")
        assert [d.get("identifierref") for d in mc.findall(f"{{{cp}}}dependency")] == [media_res[0].get("identifier")]


def test_qti21_manifest_declares_itself_for_canvas(packages) -> None:
    files, _ = packages[("seed", "qti21")]
    manifest = etree.fromstring(files["imsmanifest.xml"])
    cp = CP["qti21"]
    assert manifest.findtext(f"{{{cp}}}metadata/{{{cp}}}schema") == "QTIv2.1 Package"
    assert "http://www.imsglobal.org/xsd/imsqti_v2p1" in manifest.nsmap.values()


@pytest.mark.parametrize("bank,fmt", BANK_FORMATS)
def test_lom_metadata(packages, seed_bank, all_types_bank, bank: str, fmt: str) -> None:
    files, _ = packages[(bank, fmt)]
    source = seed_bank if bank == "seed" else all_types_bank
    manifest = etree.fromstring(files["imsmanifest.xml"])
    by_href = {r.get("href"): r for r in manifest.iter(f"{{{CP[fmt]}}}resource")}
    md_ns = PROFILES[fmt].md_ns
    for item in source.items:
        res = by_href[f"items/{item.id}.xml"]
        lom = res.find(f".//{{{LOM}}}lom")
        assert lom.findtext(f"{{{LOM}}}general/{{{LOM}}}title/{{{LOM}}}string") == item.name
        keywords = [k.findtext(f"{{{LOM}}}string") for k in lom.iterfind(f"{{{LOM}}}general/{{{LOM}}}keyword")]
        assert keywords == list(item.tags)
        difficulty = lom.findtext(f"{{{LOM}}}educational/{{{LOM}}}difficulty/{{{LOM}}}value")
        assert difficulty == {"easy": "easy", "medium": "medium", "hard": "difficult", None: None}[item.difficulty]
        objectives = [c.findtext(f"{{{LOM}}}description/{{{LOM}}}string") for c in lom.iterfind(f"{{{LOM}}}classification")]
        assert objectives == list(item.objectives)
        qmd = res.find(f".//{{{md_ns}}}qtiMetadata")
        assert qmd.findtext(f"{{{md_ns}}}toolName") == "itembank"
        expected = INTERACTION.get(item.type)  # (cloze: one per blank, of its kind)
        kinds = [k.text for k in qmd.iterfind(f"{{{md_ns}}}interactionType")]
        if expected:
            assert kinds == [expected]
        else:
            assert set(kinds) <= {"textEntryInteraction", "inlineChoiceInteraction"} and kinds


# --- sections ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", PROFILES)
def test_one_section_per_topic(packages, all_types_bank: Bank, fmt: str) -> None:
    files, _ = packages[("all", fmt)]
    test = etree.fromstring(files["assessment.xml"])
    sections = list(test.iter(q(fmt, "assessmentSection")))
    assert [s.get("title") for s in sections] == all_types_bank.topics()
    for s in sections:
        refs = [r.get("identifier") for r in s.iter(q(fmt, "assessmentItemRef"))]
        assert refs == [i.id for i in all_types_bank.items if (i.topic or "General") == s.get("title")]


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
def test_form_sections_with_pick(all_types_bank: Bank, xsd_dir: Path, fmt: str) -> None:
    form = Form(
        assessment="quiz",
        title="Quiz",
        form="A",
        instructions="Answer **all** questions.",
        sections=(
            Section(title="Warm-up", item_ids=("at-tf", "at-sa", "at-num"), pick=2, shuffle=True),
            Section(title="Main", item_ids=("at-mc", "at-match")),
        ),
    )
    ids = {i for s in form.sections for i in s.item_ids}
    bank = dataclasses.replace(all_types_bank, items=tuple(i for i in all_types_bank.items if i.id in ids), by_id={}, form=form)
    files, result = export_files(bank, fmt)
    assert sum(result.written.values()) == 5
    test = etree.fromstring(files["assessment.xml"])
    sections = list(test.iter(q(fmt, "assessmentSection")))
    assert [s.get("title") for s in sections] == ["Warm-up", "Main"]
    assert sections[0].find(q(fmt, "selection")).get("select") == "2"
    assert sections[0].find(q(fmt, "ordering")).get("shuffle") == "true"
    assert sections[1].find(q(fmt, "selection")) is None
    assert xsd.validate_file(files["assessment.xml"], fmt, xsd_dir) == []


# --- interactions, scoring and feedback ------------------------------------------------------------


@pytest.mark.parametrize("bank,fmt", BANK_FORMATS)
def test_per_option_feedback_for_every_option_that_has_one(packages, seed_bank, all_types_bank, bank: str, fmt: str) -> None:
    files, _ = packages[(bank, fmt)]
    source = seed_bank if bank == "seed" else all_types_bank
    checked = 0
    for item in source.items:
        if not isinstance(item, ChoiceItem):
            continue
        root = item_tree(files, item.id)
        modal = {m.get("identifier"): m for m in root.iter(q(fmt, "modalFeedback")) if m.get(a(fmt, "outcomeIdentifier")) == "FEEDBACK"}
        for option in item.options:
            if option.feedback:
                assert option.id in modal, f"{item.id}: option {option.id} lost its feedback"
                assert source is not None and "".join(modal[option.id].itertext()).strip() == Renderer().plain(option.feedback)
                checked += 1
            else:
                assert option.id not in modal
    assert checked > 0


@pytest.mark.parametrize("fmt", PROFILES)
def test_true_false_feedback_and_solution_and_hints(packages, fmt: str) -> None:
    files, _ = packages[("all", fmt)]
    tf = item_tree(files, "at-tf")
    ids = {m.get("identifier") for m in tf.iter(q(fmt, "modalFeedback"))}
    assert {"true", "false", "SOLUTION"} <= ids
    mc = item_tree(files, "at-mc")
    modal = {m.get("identifier"): "".join(m.itertext()) for m in mc.iter(q(fmt, "modalFeedback"))}
    solution = modal["SOLUTION"]
    for text in ("A decreasing training loss", "Read the axes", "Compare the first and last", "option a",
                 "Falling loss = learning", "Reading the curve right to left"):
        assert text in solution
    assert "Look at the direction of the curve." in modal["HINT"]


@pytest.mark.parametrize("fmt", PROFILES)
def test_scoring_rules(packages, fmt: str) -> None:
    files, _ = packages[("all", fmt)]
    # numeric: interval check on the float response, not string equality
    rng = item_tree(files, "at-num-range")
    assert rng.find(q(fmt, "responseDeclaration")).get(a(fmt, "baseType")) == "float"
    assert [b.text for b in rng.iter(q(fmt, "baseValue")) if b.getparent().tag in (q(fmt, "gte"), q(fmt, "lte"))] == ["0.001", "0.01"]
    # multiple response partial: keys +3/2, distractors -3/2, clamped to [0, 3]
    mr = item_tree(files, "at-mr")
    mapping = mr.find(f"{q(fmt, 'responseDeclaration')}/{q(fmt, 'mapping')}")
    assert (mapping.get(a(fmt, "lowerBound")), mapping.get(a(fmt, "upperBound"))) == ("0", "3")
    values = {e.get(a(fmt, "mapKey")): e.get(a(fmt, "mappedValue")) for e in mapping}
    assert values == {"a": "1.5", "b": "1.5", "c": "-1.5", "d": "-1.5"}
    strict = item_tree(files, "at-mr-strict")
    assert strict.find(f".//{q(fmt, 'mapping')}") is None and strict.find(f".//{q(fmt, 'mapResponse')}") is None
    # short answer: every accepted answer mapped, case rule honoured
    sa = item_tree(files, "at-sa")
    entries = list(sa.iter(q(fmt, "mapEntry")))
    assert [(e.get(a(fmt, "mapKey")), e.get(a(fmt, "caseSensitive"))) for e in entries] == [("pre-training", "false"), ("pretraining", "false")]
    # matching: directed pairs, distractor present as a target
    match = item_tree(files, "at-match")
    assert match.find(q(fmt, "responseDeclaration")).get(a(fmt, "baseType")) == "directedPair"
    assert "D1" in {c.get("identifier") for c in match.iter(q(fmt, "simpleAssociableChoice"))}
    # ordering: written scrambled so that a platform without shuffle does not show the key
    order = item_tree(files, "at-order")
    shown = [c.get("identifier") for c in order.iter(q(fmt, "simpleChoice"))]
    assert sorted(shown) == ["S1", "S2", "S3", "S4"] and shown != ["S1", "S2", "S3", "S4"]
    # cloze: one inline interaction per blank
    cloze = item_tree(files, "at-cloze")
    assert len(list(cloze.iter(q(fmt, "textEntryInteraction")))) == 2
    assert len(list(cloze.iter(q(fmt, "inlineChoiceInteraction")))) == 1
    assert "{{" not in "".join(cloze.itertext())


@pytest.mark.parametrize("fmt", PROFILES)
def test_essay_rubric_is_scorer_only_with_sample_answer(packages, fmt: str) -> None:
    files, _ = packages[("all", fmt)]
    essay = item_tree(files, "at-essay")
    blocks = {b.get("view"): "".join(b.itertext()) for b in essay.iter(q(fmt, "rubricBlock"))}
    assert "General patterns from large data" in blocks["scorer"]
    assert "Pre-training learns general patterns; fine-tuning adapts them" in blocks["scorer"]
    assert "Think about learning general skills first" in blocks["candidate"]
    assert "General patterns" not in blocks["candidate"]
    inter = next(essay.iter(q(fmt, "extendedTextInteraction")))
    assert inter.get(a(fmt, "placeholderText")) == "Pre-training is ..."


@pytest.mark.parametrize("fmt", PROFILES)
def test_flashcard_back_shown_after_attempt_and_not_scored(packages, fmt: str) -> None:
    files, result = packages[("seed", fmt)]
    assert result.written["flashcard"] == 5
    card = item_tree(files, "pt-card-1")
    assert card.find(f".//{q(fmt, 'correctResponse')}") is None
    back = [m for m in card.iter(q(fmt, "modalFeedback")) if m.get("identifier") == "ANSWER"]
    assert len(back) == 1 and "learns general patterns from a large dataset" in "".join(back[0].itertext())


@pytest.mark.parametrize("fmt", PROFILES)
def test_math_becomes_mathml(packages, fmt: str) -> None:
    files, _ = packages[("all", fmt)]
    mc = item_tree(files, "at-mc")
    maths = list(mc.iter(f"{{{MATHML_NS}}}math"))
    assert len(maths) == 1 and "log" in "".join(maths[0].itertext())


@pytest.mark.parametrize("fmt", PROFILES)
def test_a_repeated_formula_is_mathml_everywhere_it_appears(fmt: str) -> None:
    """Formulas are converted once and cached: every use gets its own copy, tail text kept."""
    item = ChoiceItem(
        id="rep", type="multiple_choice", location=SourceRef("r.yaml"), stem="Is $O(n^2)$ worse than $O(n^2)$ here?",
        options=(Option(id="a", text="$O(n^2)$ yes", correct=True, feedback="$O(n^2)$ twice."),
                 Option(id="b", text="no", feedback="It is $O(n^2)$.")),
    )
    for _ in range(2):  # a second item build reuses the cached conversions
        root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
        maths = list(root.iter(f"{{{MATHML_NS}}}math"))
        assert len(maths) == 5 and all("".join(m.itertext()) == "O(n2)" for m in maths)
        assert [m.tail for m in maths[:2]] == [" worse than ", " here?"]


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
def test_cloze_blank_feedback_validates(all_types_bank: Bank, xsd_dir: Path, fmt: str) -> None:
    item = ClozeItem(
        id="cz", type="cloze", location=SourceRef("x.yaml"), stem="Say {{w}} and {{n}}.",
        blanks=(Blank(name="w", kind="text", answers=("hi",), feedback="Say *hi*."),
                Blank(name="n", kind="numeric", number=2.5, tolerance=0.5, feedback="About 2.5.")),
    )
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
    assert xsd.validate_file(qti.to_bytes(root), fmt, xsd_dir) == []
    assert {m.get("identifier") for m in root.iter(q(fmt, "modalFeedback"))} == {"FB_w", "FB_n"}


# --- text that XML must escape, and text it cannot hold ------------------------------------------

XML_LEGAL = st.characters(blacklist_categories=("Cs",), blacklist_characters="".join(
    [chr(c) for c in range(0x20) if c not in (9, 10, 13)] + ["\ufffe", "\uffff"]))


def mc_item(text: str) -> ChoiceItem:
    return ChoiceItem(
        id="prop", type="multiple_choice", location=SourceRef("p.yaml"), stem=text or "x", title=text or None,
        options=(Option(id="a", text=text or "a", correct=True, feedback=text or None), Option(id="b", text="b", feedback="no")),
        rationale=text or None, hints=(text,) if text else (),
    )


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(XML_LEGAL, max_size=40).map(lambda s: s + " <b> & ]]> \u00e9\U0001F600"))
def test_arbitrary_unicode_survives_into_valid_xml(xsd_dir: Path, fmt: str, text: str) -> None:
    data = ItemWriter(PROFILES[fmt], Renderer(), mc_item(text), "t").write()
    assert xsd.validate_file(data, fmt, xsd_dir) == []
    back = etree.fromstring(data)
    assert back.get("title") == " ".join(text.split())
    assert "]]>" in "".join(back.itertext()) and "&" in "".join(back.itertext())


def test_control_characters_are_a_validation_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "itembank.yaml").write_text("title: Bad\n")
    (tmp_path / "bad.yaml").write_text(
        'id: bad-1\ntype: short_answer\nstem: "bell \\x07 here"\nanswers: [x]\n', encoding="utf-8")
    result = check_bank(tmp_path)
    assert "IB216" in {p.code for p in result.errors}
    with pytest.raises(InvalidBank):
        load_bank(tmp_path)


def test_exporter_turns_unwritable_text_into_itembank_error(all_types_bank: Bank) -> None:
    item = dataclasses.replace(mc_item("ok"), stem="bell \x07 here")
    bank = dataclasses.replace(all_types_bank, items=(item,), by_id={})
    for fmt in PROFILES:
        with pytest.raises(ItembankError, match="prop"):
            export_files(bank, fmt)


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_plain_text_fields_are_literal_in_qti(tmp_path: Path, fmt: str) -> None:
    """Matching answers, distractors, ordering entries and dropdown choices are plain text
    (itembank.fields, the README's field table): QTI wrote them as Markdown (MathML, <em>) where
    every other format shows them as typed (issue 11 #10)."""
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    (bank_dir / "plain.yaml").write_text(
        "items:\n"
        "  - {id: m1, type: matching, stem: Match., pairs: [{prompt: mean, match: '$\\bar{x}$'}, {prompt: var, match: 's^2 *not* md'}], distractors: ['**d**']}\n"
        "  - {id: o1, type: ordering, stem: Order., sequence: ['a *b*', '$c$']}\n"
        "  - {id: c1, type: cloze, stem: 'Pick {{x}}.', blanks: {x: {choices: ['*y*', '$z$'], correct: '*y*'}}}\n",
        encoding="utf-8",
    )
    files, _result = export_files(load_bank(bank_dir), fmt)
    texts: dict[str, list[str]] = {}
    for name, data in files.items():
        if not name.startswith("items/"):
            continue
        root = etree.fromstring(data)
        for el in root.iter():
            if isinstance(el.tag, str) and etree.QName(el).localname in ("simpleAssociableChoice", "simpleChoice", "inlineChoice", "qti-simple-associable-choice", "qti-simple-choice", "qti-inline-choice"):
                texts.setdefault(name, []).append("".join(el.itertext()))
                assert len(el) == 0, etree.tostring(el)  # no markup inside a plain-text choice
    flat = sorted(t for values in texts.values() for t in values)
    for typed in ["$\\bar{x}$", "s^2 *not* md", "**d**", "a *b*", "$c$", "*y*", "$z$"]:
        assert typed in flat, (typed, flat)


_TEXTS = st.lists(st.sampled_from(["word", " ", "\n", "\n\n", "**b**", "*i*", "`c`", "- li\n", "1. li\n", "> q\n", "~~s~~", "$x^2$", "![a](p.png)", "[l](https://e.org)", "&", "<", "| a | b |\n|---|---|\n| 1 | 2 |\n", "    code\n", "é"]), max_size=12).map("".join)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_texts_parsed_straight_into_the_qti_namespace_are_what_converting_them_makes(text: str) -> None:
    """Texts with only tags QTI keeps as they are skip the conversion walk; they must come out
    exactly as the walk makes them (same serialization, in both QTI versions)."""
    from itembank.exporters.qti import body
    from itembank.exporters.qti.profiles import QTI21, QTI30

    for profile in (QTI21, QTI30):
        r = Renderer()
        quick = body.BodyWriter(profile, r, body.ItemAssets()).blocks(text)
        root = body._fresh_tree(r, text)
        body.BodyWriter(profile, r, body.ItemAssets())._convert(root)
        walked = list(root)

        def serialized(blocks: list[etree._Element]) -> list[bytes]:
            holder = etree.Element(profile.tag("itemBody"), nsmap={None: profile.ns})
            for b in blocks:
                holder.append(b)
            return [etree.tostring(holder)]

        assert serialized(quick) == serialized(walked), text


#: Rendered HTML as raw strings (seeded into the renderer's cache): tags that cross from one text into
#: the next, which no Markdown renders but which parse_ahead must not turn into "valid" blocks.
_RAW = ["<p>a</p>\n", "<div><p>b", "c</p></div>", "</div><div>", "<p>x &amp; y</p>", "<p>&nbsp;</p>", "tail only", "<hr />"]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_TEXTS, st.sampled_from(_RAW)), max_size=8))
def test_texts_parsed_ahead_together_are_what_parsing_each_alone_makes(texts: list[str]) -> None:
    """BodyWriter.parse_ahead parses an item's texts in one go; each text's blocks must come out
    exactly as parsing it alone makes them (same serialization, tails included), in both versions."""
    from itembank.exporters.qti import body
    from itembank.exporters.qti.profiles import QTI21, QTI30

    for profile in (QTI21, QTI30):
        r = Renderer()
        for raw in _RAW:
            r._html[raw] = raw  # as if rendered so: lets a test reach what Markdown never renders
        ahead = body.BodyWriter(profile, r, body.ItemAssets())
        ahead.parse_ahead(texts)
        alone = body.BodyWriter(profile, r, body.ItemAssets())

        def serialized(blocks: list[etree._Element]) -> bytes:
            holder = etree.Element(profile.tag("itemBody"), nsmap={None: profile.ns})
            for b in blocks:
                holder.append(b)
            return etree.tostring(holder)

        for text in texts:
            assert serialized(ahead.blocks(text)) == serialized(alone.blocks(text)), (texts, text)


# --- items built over processes (export -j N) --------------------------------------------------


@pytest.mark.parametrize("source,expand", [("items", 0), ("tests/banks/all-types", 0), ("tests/banks/all-types", 3),
                                           ("tests/banks/calculated", 0), ("tests/banks/calculated", 3), ("generated", 0)])
def test_items_built_over_processes_are_the_same_bytes(source: str, expand: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`export -j N` builds the items in N forked processes: the package (zipped and as files) is
    byte for byte the one process's, with the same account of items; calculated items built before
    (as template processing) or expanded into variants go through unchanged."""
    import itembank.exporters.qti.package as package
    from conftest import ROOT, count_shares, generated_bank
    from itembank.api import export
    from itembank.exporters.kit.zip import Chunked, deflate_pieces, zip_bytes
    from itembank.exporters.qti.package import ZIP_LEVEL
    from itembank.forked import can_fork

    bank = load_bank(generated_bank(tmp_path / "gen", 200) if source == "generated" else ROOT / source)
    shares = count_shares(monkeypatch, package)  # share out even these small banks
    for fmt in PROFILES:
        shares.clear()
        ones = []
        for unzipped in (False, True):
            one = export(bank, fmt, jobs=1, unzipped=unzipped, expand_variants=expand)
            ones.append(one)
            for jobs in (2, 3):
                many = export(bank, fmt, jobs=jobs, unzipped=unzipped, expand_variants=expand)
                assert many.data == one.data
                assert list(many.files or {}) == list(one.files or {}) and many.files == one.files
                assert (many.skipped, many.written, many.notes) == (one.skipped, one.written, one.notes)
        assert shares == ([1, 2, 3, 1, 2, 3] if can_fork() else [1] * 6)  # the items really were shared out
        # The zip (items deflated in the shares) is the kit's zip of the package's files, deflated
        # at once (whose headers are zipfile's: tests/test_kit_zip.py), the manifest in chunks of
        # resources (kit.zip.Chunked).
        files = ones[1].files or {}
        order = ["imsmanifest.xml"] + sorted(n for n in files if n != "imsmanifest.xml")
        manifest = deflate_pieces([files["imsmanifest.xml"]], ZIP_LEVEL, Chunked(b"</resource>"))
        assert ones[0].data == zip_bytes([(n, manifest if n == "imsmanifest.xml" else files[n]) for n in order], level=ZIP_LEVEL)


def test_an_item_that_fails_in_a_worker_process_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An item refused in a forked share (text XML cannot hold) stops the export with the item's id,
    as in one process."""
    import itembank.exporters.qti.package as package
    from itembank.api import export

    items = [ChoiceItem(id=f"q{n}", type="multiple_choice", stem=f"Question {n}?" if n != 3 else "Bad \x01 text?",
                        options=(Option(id="a", text="a", correct=True), Option(id="b", text="b")), location=SourceRef("x.yaml"))
             for n in range(6)]
    bank = Bank(root=Path("."), config=BankConfig(title="t"), items=tuple(items))
    monkeypatch.setattr(package, "PARALLEL_FROM", 0)
    for jobs in (1, 2, 3):  # q3 is in share 1 of 2 and share 0 of 3: a child's error and the parent's
        with pytest.raises(ItembankError, match=r"item q3: text cannot be written as XML"):
            export(bank, "qti21", jobs=jobs)


def test_the_renderer_keeps_its_latest_trees_only(monkeypatch: pytest.MonkeyPatch, all_types_bank) -> None:
    """A renderer keeps the trees of the texts asked for last, not one of every text (most are asked
    for once: 100,000 items' trees took ~100 MB); an export whose texts' trees are let go and parsed
    again writes the same bytes."""
    import itembank.render as render
    from itembank.formats import get_exporter

    r = Renderer()
    texts = [f"Text *{n}* with `code`" for n in range(render._TREES + 10)]
    first = r.tree(texts[0])
    assert r.tree(texts[0]) is first  # kept while recent
    for text in texts:
        r.tree(text)
    assert len(r._tree) == render._TREES and texts[0] not in r._tree
    again = r.tree(texts[0])
    assert again is not first and etree.tostring(again) == etree.tostring(first)
    kept = get_exporter("qti21").export(all_types_bank, ExportContext(renderer=Renderer(), tool_version="t")).data
    monkeypatch.setattr(render, "_TREES", 1)
    assert get_exporter("qti21").export(all_types_bank, ExportContext(renderer=Renderer(), tool_version="t")).data == kept


def _resource(profile: object, item: object, interactions: list[str], version: str = "1.0", bank_title: str = "Bank & co", media: set[str] | None = None) -> etree._Element:
    """The item's manifest resource as written (manifest.resource_text), read back with lxml inside
    the manifest's namespaces."""
    from itembank.exporters.qti.body import ItemAssets
    from itembank.exporters.qti.manifest import ItemEntry, item_resource, manifest_nsmap, resource_text

    entry = ItemEntry(item, "items/x.xml", ItemAssets(interactions=list(interactions), media=media or set()))  # type: ignore[arg-type]
    text = resource_text(item_resource(profile, entry, bank_title, version, Renderer()))  # type: ignore[arg-type]
    declared = " ".join(f'xmlns:{k}="{v}"' if k else f'xmlns="{v}"' for k, v in manifest_nsmap(profile).items())  # type: ignore[arg-type]
    return etree.fromstring(f"<manifest {declared}><resources>\n".encode() + text + b"</resources></manifest>")[0][0]


@pytest.mark.parametrize("fmt", PROFILES)
def test_qti_metadata_follows_each_item(all_types_bank: Bank, fmt: str) -> None:
    """An item's qtiMetadata says what the item is: its interactions, whether it has feedback, a
    solution, the tool's version."""
    profile = PROFILES[fmt]
    ns = profile.md_ns
    essay = next(i for i in all_types_bank.items if i.type == "essay")
    bare = dataclasses.replace(essay, sample_answer=None, rationale=None, hints=(), solution=None, common_mistakes=())

    def metadata(item: object, interactions: list[str], version: str = "1.0") -> dict[str, list[str]]:
        md = _resource(profile, item, interactions, version).find(f"{{{profile.cp_ns}}}metadata/{{{ns}}}qtiMetadata")
        assert md is not None
        out: dict[str, list[str]] = {}
        for child in md:
            out.setdefault(etree.QName(child).localname, []).append(child.text or "")
        return out

    full, empty = metadata(essay, ["extendedTextInteraction"]), metadata(bare, ["extendedTextInteraction"])
    assert (full["feedbackType"], full["solutionAvailable"]) == (["nonadaptive"], ["true"])
    assert (empty["feedbackType"], empty["solutionAvailable"]) == (["none"], ["false"])
    two = metadata(essay, ["textEntryInteraction", "inlineChoiceInteraction", "textEntryInteraction"])
    assert two["interactionType"] == ["textEntryInteraction", "inlineChoiceInteraction"] and two["composite"] == ["true"]
    assert full["composite"] == ["false"] and full["toolVersion"] == ["1.0"]
    assert "toolVersion" not in metadata(essay, ["extendedTextInteraction"], "")


def test_lom_of_each_item_holds_its_own_texts(all_types_bank: Bank) -> None:
    """An item's LOM holds its texts (escaped, read back as written), a place for each keyword and
    objective, its status and difficulty in LOM's vocabularies."""
    base = next(i for i in all_types_bank.items if i.type == "multiple_choice")

    def read(item: object) -> tuple[str | None, ...]:
        lom = _resource(qti.QTI21, item, ["choiceInteraction"]).find(f"{{{qti.QTI21.cp_ns}}}metadata/{{{LOM}}}lom")
        assert lom is not None
        general = lom.find(f"{{{LOM}}}general")
        return (
            general.findtext(f"{{{LOM}}}identifier/{{{LOM}}}catalog"),
            general.findtext(f"{{{LOM}}}identifier/{{{LOM}}}entry"),
            general.findtext(f"{{{LOM}}}title/{{{LOM}}}string"),
            tuple(k.findtext(f"{{{LOM}}}string") for k in general.iterfind(f"{{{LOM}}}keyword")),  # type: ignore[arg-type]
            lom.findtext(f"{{{LOM}}}lifeCycle/{{{LOM}}}status/{{{LOM}}}value"),
            lom.findtext(f"{{{LOM}}}educational/{{{LOM}}}difficulty/{{{LOM}}}value"),
            tuple(c.findtext(f"{{{LOM}}}description/{{{LOM}}}string") for c in lom.iterfind(f"{{{LOM}}}classification")),  # type: ignore[arg-type]
        )

    for tags in [(), ("a",), ("x", "y & z", "w")]:
        for objectives in [(), ("Explain A < B",), ("B", "C")]:
            for difficulty, status in [(None, "draft"), ("hard", "approved"), ("easy", "retired")]:
                item = dataclasses.replace(base, id="q1", title='Title "1" & <2>', tags=tags, objectives=objectives, difficulty=difficulty, status=status)
                want_difficulty = {"hard": "difficult", "easy": "easy", None: None}[difficulty]
                want_status = {"draft": "draft", "approved": "final", "retired": "unavailable"}[status]
                assert read(item) == ("Bank & co", "q1", 'Title "1" & <2>', tags, want_status, want_difficulty, objectives)


#: Texts with what escaping is about, for the manifest's values (titles, tags, objectives, the bank's title).
_MANIFEST_TEXT = st.lists(st.sampled_from([*"ab é1&<>\"'\n\t\r ]", "]]>", "&amp;", "𝄞", ""]), max_size=12).map("".join)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_MANIFEST_TEXT, tag=_MANIFEST_TEXT, objective=_MANIFEST_TEXT, bank_title=_MANIFEST_TEXT, version=_MANIFEST_TEXT, media=st.sets(_MANIFEST_TEXT, max_size=2))
def test_a_resource_is_what_lxml_pretty_prints(all_types_bank: Bank, title: str, tag: str, objective: str, bank_title: str, version: str, media: set[str]) -> None:
    """The template writes an item's resource as lxml pretty-printed the same tree inside the
    manifest (the bytes the lxml builder wrote): read back and pretty-printed again, the same text."""
    base = next(i for i in all_types_bank.items if i.type == "multiple_choice")
    item = dataclasses.replace(base, title=title or "t", tags=(tag,) if tag else (), objectives=(objective,) if objective else ())
    for profile in PROFILES.values():
        from itembank.exporters.qti.body import ItemAssets
        from itembank.exporters.qti.manifest import ItemEntry, item_resource, manifest_nsmap, resource_text

        entry = ItemEntry(item, "items/x.xml", ItemAssets(interactions=["choiceInteraction"], media=set(media)))
        text = resource_text(item_resource(profile, entry, bank_title, version, Renderer()))
        wrapper = etree.Element(f"{{{profile.cp_ns}}}manifest", nsmap=manifest_nsmap(profile))
        resources = etree.SubElement(wrapper, f"{{{profile.cp_ns}}}resources")
        declared = " ".join(f'xmlns:{k}="{v}"' if k else f'xmlns="{v}"' for k, v in manifest_nsmap(profile).items())
        read = etree.fromstring(f"<manifest {declared}><resources>\n".encode() + text.replace(b"\r", b"&#13;") + b"</resources></manifest>")[0][0]
        for element in read.iter():  # a text written "" reads back as none: set again, as the builder set it
            if element.text is None and not len(element) and etree.QName(element).localname in ("string", "entry", "catalog", "toolVersion"):
                element.text = ""
        for element in read.iter():
            element.tail = None
            if len(element):
                element.text = None
        resources.append(read)
        pretty = etree.tostring(wrapper, encoding="UTF-8", pretty_print=True)
        assert pretty[pretty.index(b"    <resource ") : pretty.rindex(b"  </resources>")] == text


# --- identifiers: every id the schemas allow gets its own QTI identifier ---------------------------

#: The schemas' patterns (schemas/item.schema.json): a blank's name, an option's id.
BLANK_NAME = r"[A-Za-z_][A-Za-z0-9_-]{0,31}"
OPTION_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}"
#: Elements whose identifier is a variable of the item, and those whose identifier is a choice: QTI
#: wants every one of them distinct in an item (a choice's "must not be used by any other choice or
#: item variable"; a response declaration's is an xs:ID, so the XSD refuses a repeated one).
_VARIABLES = ("responseDeclaration", "outcomeDeclaration", "templateDeclaration")
_CHOICES = ("simpleChoice", "inlineChoice", "simpleAssociableChoice", "gapText", "gapImg", "hotspotChoice", "associableHotspot", "hottext", "gap")
#: Variables QTI declares in every item by itself.
_BUILT_IN = ("completionStatus", "numAttempts", "duration")


def item_identifiers(root: etree._Element, fmt: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The identifiers of the item's variables and choices, and its modal feedbacks' (outcome, identifier)."""
    idents = [e.get("identifier") or "" for tag in (*_VARIABLES, *_CHOICES) for e in root.iter(q(fmt, tag))]
    modal = [(m.get(a(fmt, "outcomeIdentifier")) or "", m.get("identifier") or "") for m in root.iter(q(fmt, "modalFeedback"))]
    return idents, modal


def assert_identifiers_distinct(root: etree._Element, fmt: str) -> None:
    idents, modal = item_identifiers(root, fmt)
    assert len(set(idents)) == len(idents), sorted(i for i in idents if idents.count(i) > 1)
    assert not set(idents) & set(_BUILT_IN), idents
    assert len(set(modal)) == len(modal), modal


@st.composite
def blank_names(draw: st.DrawFn) -> list[str]:
    """Distinct blank names the schema allows, with the ones that can meet in an identifier made on
    purpose: ``_x`` and ``B__x``, a dropdown ``a`` (choices ``a_1`` ...) and a blank ``a_1``."""
    names: list[str] = draw(st.lists(st.one_of(st.from_regex(BLANK_NAME, fullmatch=True), st.sampled_from(["_x", "B__x", "a", "a_1", "_", "B_", "x-1", "RESPONSE"])),
                                     min_size=1, max_size=4, unique=True))
    for base in draw(st.lists(st.sampled_from(names), max_size=3)):
        names.append(draw(st.sampled_from([f"_{base}", f"B_{base}", f"B__{base}", f"{base}_1", f"{base}_2", f"{base}_11", f"{base}_1_1"])))
    return [n for n in dict.fromkeys(names) if re.fullmatch(BLANK_NAME, n)][:6]


def cloze_of(names: list[str], kinds: list[str], feedback: list[bool]) -> ClozeItem:
    blanks = []
    for i, (name, kind, fb) in enumerate(zip(names, kinds, feedback)):
        text = f"Blank {i} was wrong." if fb else None
        if kind == "choice":
            blanks.append(Blank(name=name, kind="choice", choices=("up", "down", "left"), correct="down", feedback=text))
        elif kind == "numeric":
            blanks.append(Blank(name=name, kind="numeric", number=2.5, tolerance=0.5, feedback=text))
        else:
            blanks.append(Blank(name=name, kind="text", answers=(f"w{i}",), feedback=text))
    # each placeholder in a paragraph of its own (Markdown emphasis cannot reach across paragraphs)
    stem = "\n\n".join(f"Part {i}: {{{{{name}}}}}" for i, name in enumerate(names))
    return ClozeItem(id="ids", type="cloze", location=SourceRef("x.yaml"), stem=stem, blanks=tuple(blanks))


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_every_blank_name_the_schema_allows_gets_identifiers_of_its_own(xsd_dir: Path, fmt: str, data: st.DataObject) -> None:
    """Bug 12: blanks ``_x`` and ``B__x`` were both ``RESPONSE_B__x`` (qti_id prefixed ``_x`` with
    ``B_``, assuming no id has ``_``; blank names may), and a dropdown ``a``'s first choice was
    ``RESPONSE_a_1``, the response of a blank ``a_1``.  Whatever the names, the item's variables and
    choices have distinct identifiers, each blank's interaction collects its own response, and the
    item validates."""
    names = data.draw(blank_names())
    kinds = data.draw(st.lists(st.sampled_from(["text", "choice", "numeric"]), min_size=len(names), max_size=len(names)))
    feedback = data.draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names)))
    item = cloze_of(names, kinds, feedback)
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
    assert_identifiers_distinct(root, fmt)
    responses = [d.get("identifier") for d in root.iter(q(fmt, "responseDeclaration"))]
    assert len(responses) == len(names)
    inters = [e for tag in ("textEntryInteraction", "inlineChoiceInteraction") for e in root.iter(q(fmt, tag))]
    collected = [e.get(a(fmt, "responseIdentifier")) for e in inters]
    assert len(set(collected)) == len(collected) and set(collected) <= set(responses)
    assert xsd.validate_file(qti.to_bytes(root), fmt, xsd_dir) == []


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ids=st.lists(st.one_of(st.from_regex(OPTION_ID, fullmatch=True), st.sampled_from(["1", "a", "RESPONSE", "SCORE", "MAXSCORE", "FEEDBACK", "duration", "numAttempts", "completionStatus"])),
                    min_size=2, max_size=6, unique=True),
       multiple=st.booleans())
def test_every_option_id_the_schema_allows_gets_an_identifier_of_its_own(xsd_dir: Path, fmt: str, ids: list[str], multiple: bool) -> None:
    """Option ids may be ``SCORE`` or ``duration``: as a choice's identifier that is a variable of the item."""
    options = tuple(Option(id=i, text=f"Option {n}", correct=n == 0, feedback=f"Because {n}.") for n, i in enumerate(ids))
    item = ChoiceItem(id="opts", type="multiple_response" if multiple else "multiple_choice", location=SourceRef("x.yaml"),
                      stem="Pick.", options=options, rationale="So.", hints=("Look.",))
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
    assert_identifiers_distinct(root, fmt)
    choices = [c.get("identifier") for c in root.iter(q(fmt, "simpleChoice"))]
    assert len(choices) == len(ids)
    assert xsd.validate_file(qti.to_bytes(root), fmt, xsd_dir) == []


COLLIDE = 'id: collide\ntype: cloze\nstem: "First {{_x}} then {{B__x}}."\nblanks: {_x: {answers: [one]}, B__x: {answers: [two]}}\n'


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
def test_blanks_x_and_B__x_of_one_item_are_two_responses(tmp_path: Path, xsd_dir: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """Bug 12's item: the export wrote two response declarations ``RESPONSE_B__x`` without a word
    (``--check`` refused it).  Now each blank has its own, and the package validates."""
    from itembank.api import export

    (tmp_path / "collide.yaml").write_text(COLLIDE, encoding="utf-8")
    monkeypatch.setenv("ITEMBANK_XSD_DIR", str(xsd_dir))
    result = export(load_bank(tmp_path), fmt, unzipped=True, check=True)  # the audit runs too
    assert result.files is not None
    root = etree.fromstring(result.files["items/collide.xml"])
    assert [d.get("identifier") for d in root.iter(q(fmt, "responseDeclaration"))] == ["RESPONSE__x", "RESPONSE_B__x"]
    assert [e.get(a(fmt, "responseIdentifier")) for e in root.iter(q(fmt, "textEntryInteraction"))] == ["RESPONSE__x", "RESPONSE_B__x"]
    assert_identifiers_distinct(root, fmt)


@pytest.mark.parametrize("fmt", PROFILES)
def test_the_identifiers_of_ordinary_ids_are_what_they_were(fmt: str) -> None:
    """Users map these in their LMS: only ids that could collide got new identifiers."""
    cloze = ClozeItem(id="2cz", type="cloze", location=SourceRef("x.yaml"), stem="{{w}} {{pick}} {{n_1}}",
                      blanks=(Blank(name="w", kind="text", answers=("hi",), feedback="No."),
                              Blank(name="pick", kind="choice", choices=("x", "y"), correct="y", feedback="No."),
                              Blank(name="n_1", kind="numeric", number=1.0)))
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), cloze, "t").write())
    assert root.get("identifier") == "I_2cz"
    assert [d.get("identifier") for d in root.iter(q(fmt, "responseDeclaration"))] == ["RESPONSE_w", "RESPONSE_pick", "RESPONSE_n_1"]
    assert [c.get("identifier") for c in root.iter(q(fmt, "inlineChoice"))] == ["RESPONSE_pick_1", "RESPONSE_pick_2"]
    assert sorted(m.get("identifier") for m in root.iter(q(fmt, "modalFeedback"))) == ["FB_pick", "FB_w"]
    mc = ChoiceItem(id="mc", type="multiple_choice", location=SourceRef("x.yaml"), stem="Pick.",
                    options=(Option(id="a", text="A", correct=True), Option(id="1", text="B"), Option(id="x.y-z", text="C")))
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), mc, "t").write())
    assert root.get("identifier") == "mc"
    assert [c.get("identifier") for c in root.iter(q(fmt, "simpleChoice"))] == ["a", "C_1", "x.y-z"]


# --- the scorer's rubric: Markdown like every other text ----------------------------------------------

R5 = 'id: r5\ntype: essay\nstem: Explain.\nrubric:\n  - {criterion: "Uses **both** terms and $\\\\alpha$", points: 1, description: "see `code`"}\n'


def scorer_rubric(root: etree._Element, fmt: str) -> etree._Element:
    [block] = [b for b in root.iter(q(fmt, "rubricBlock")) if b.get("view") == "scorer"]
    return block


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
def test_the_scorer_rubric_is_rendered_markdown_with_math_and_code(tmp_path: Path, xsd_dir: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """Bug 5: a rubric criterion and its description are Markdown (itembank.fields), as the Moodle,
    Canvas and HTML exports show them; QTI wrote them as typed: ``<strong>Uses **both** terms and
    $\\alpha$ (1 pt)</strong>: see `code```.  Now they are rendered (math as MathML), points kept."""
    from itembank.api import export

    (tmp_path / "r5.yaml").write_text(R5, encoding="utf-8")
    monkeypatch.setenv("ITEMBANK_XSD_DIR", str(xsd_dir))
    result = export(load_bank(tmp_path), fmt, unzipped=True, check=True)  # the audit runs too
    assert result.files is not None
    block = scorer_rubric(etree.fromstring(result.files["items/r5.xml"]), fmt)
    [li] = block.iter(PROFILES[fmt].html("li"))
    shown = etree.tostring(li, encoding="unicode")
    assert "<strong>both</strong>" in shown and "<code>code</code>" in shown, shown
    assert len(list(li.iter(f"{{{MATHML_NS}}}math"))) == 1 and "α" in "".join(li.itertext()), shown
    criterion = li[0]
    assert etree.QName(criterion).localname == "strong" and "".join(criterion.itertext()).endswith(" (1 pt)"), shown
    assert "".join(li.itertext()).endswith("(1 pt): see code"), shown
    assert not [mark for mark in ("**", "$", "`") if mark in "".join(block.itertext())], shown


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
def test_a_rubric_of_several_paragraphs_keeps_its_blocks_and_points(xsd_dir: Path, fmt: str) -> None:
    """A criterion or description that is more than one paragraph (a list, code) cannot stand inside
    ``<strong>`` or after ``: ``: it is written as its blocks, the points after the criterion."""
    item = EssayItem(id="r6", type="essay", location=SourceRef("x.yaml"), stem="Explain.", points=3, rubric=(
        Criterion(criterion="Names both:\n\n- *pre-training*\n- fine-tuning", points=2, description="One line.\n\n```\ncode()\n```"),
        Criterion(criterion="$x^2$ plain", points=0.5, description="- a list"),
        Criterion(criterion="Plain", points=0.5),
    ))
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
    assert xsd.validate_file(qti.to_bytes(root), fmt, xsd_dir) == []
    first, second, third = next(scorer_rubric(root, fmt).iter(PROFILES[fmt].html("ul")))
    assert [etree.QName(e).localname for e in first] == ["p", "ul", "p", "p", "pre"]
    assert ["".join(e.itertext()).strip() for e in first] == ["Names both:", "pre-training\nfine-tuning", "(2 pts)", "One line.", "code()"]
    assert [etree.QName(e).localname for e in second] == ["strong", "ul"] and len(list(second.iter(f"{{{MATHML_NS}}}math"))) == 1
    assert " ".join("".join(second.itertext()).split()) == "x2 plain (0.5 pts) a list"
    assert etree.tostring(third, encoding="unicode").endswith("><strong>Plain (0.5 pts)</strong></li>")


@pytest.mark.parametrize("fmt", PROFILES)
def test_a_rubric_without_markdown_is_written_as_it_was(fmt: str) -> None:
    """Plain criteria and descriptions give the markup they always had."""
    item = EssayItem(id="r7", type="essay", location=SourceRef("x.yaml"), stem="Explain.", points=3, rubric=(
        Criterion(criterion="Relevant", points=2, description="Mentions the task."), Criterion(criterion="Short", points=1)))
    ul = next(scorer_rubric(etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write()), fmt).iter(PROFILES[fmt].html("ul")))
    assert [etree.tostring(li, encoding="unicode").split(">", 1)[1] for li in ul] == [
        "<strong>Relevant (2 pts)</strong>: Mentions the task.</li>", "<strong>Short (1 pt)</strong></li>"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["<p>", "</p>", "<br />", "<pre>", "</code>", "<a href=\"x\">", "</a>", "<img src=\"a\" />",
                                 "<td>", "<p class=\"x\">", "<pp>", "</p />", "<br/>", "text", " & ", "<span class=\"math\">"]), max_size=8))
def test_only_kept_tags_is_the_tag_by_tag_check(pieces: list[str]) -> None:
    """The one-search check of a rendered text's tags says what looking up each tag in _KEPT_AS_IS says."""
    from itembank.exporters.qti.body import _KEPT_AS_IS, _only_kept_tags

    html = "".join(pieces)
    assert _only_kept_tags(html) == _KEPT_AS_IS.issuperset(re.findall(r"<[^>]*>", html))


@pytest.mark.parametrize("fmt", PROFILES)
def test_item_specific_declarations_are_not_kept_as_shared_shapes(fmt: str) -> None:
    """A numeric item's key and interval are its own numbers: its processing is written, not kept
    among the shared shapes (1,500 numeric keys once filled the table, and every shape after them
    was built each time)."""
    from itembank.exporters.qti import writer
    from itembank.model import NumericItem

    def numeric(n: int) -> NumericItem:
        return NumericItem(id=f"n{n}", type="numeric", location=SourceRef("n.yaml"), stem="How many?", answer=1000.0 + n)

    ItemWriter(PROFILES[fmt], Renderer(), numeric(0), "t").write()
    kept = len(writer._SHARED)
    for n in range(1, 50):
        root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), numeric(n), "t").write())
        assert [v.text for v in root.iter(q(fmt, "value")) if v.getparent().tag == q(fmt, "correctResponse")] == [f"{1000 + n}"]
        assert [v.text for v in root.iter(q(fmt, "baseValue")) if v.getparent().tag in (q(fmt, "gte"), q(fmt, "lte"))] == [f"{1000 + n}"] * 2
    assert len(writer._SHARED) == kept


@pytest.mark.parametrize("fmt", PROFILES)
def test_a_built_item_leaves_no_reference_cycle(fmt: str) -> None:
    """An export pauses the cyclic collector (itembank.gcpause): a builder that referred to itself
    (its feedback's fills kept in it) kept every item's tree alive to the end (+180 MB at 10,000 items);
    the writer's rules (a closure kept in it) must not refer to it either, whatever the item's type."""
    from itembank.model import FlashcardItem
    import gc
    import weakref

    was = gc.isenabled()
    gc.disable()
    try:
        card = FlashcardItem(id="f", type="flashcard", location=SourceRef("f.yaml"), stem="Front?", answer="Back.")
        for item in (mc_item("A *choice*"), card):
            writer = ItemWriter(PROFILES[fmt], Renderer(), item, "t")
            writer.write()
            gone = weakref.ref(writer)
            del writer
            assert gone() is None, item.type
    finally:
        if was:
            gc.enable()
