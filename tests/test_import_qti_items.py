"""QTI 2.x/3.0 and QTI 1.2 shapes our own exports never write (hand-written here): other vendors'
response processing, gap match, tolerance modes, MathML, QTI 3.0 single files, choice lists as
matching, Canvas question groups and bank references, and MathML -> LaTeX itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from latex2mathml.converter import convert
from lxml import etree

from import_compare import read
from itembank.importers.canvas import importer as canvas_importer
from itembank.importers.kit.mathml import convert_mathml, mathml_to_latex
from itembank.importers.qti import importer as qti_importer

NS21 = "http://www.imsglobal.org/xsd/imsqti_v2p1"


def _item21(tmp_path: Path, body: str, decls: str = "", rp: str = "", extra: str = "", name: str = "item.xml") -> Path:
    path = tmp_path / name
    path.write_text(
        f'<assessmentItem xmlns="{NS21}" identifier="q1" title="Q one" adaptive="false" timeDependent="false">'
        f"{decls}<outcomeDeclaration identifier='SCORE' cardinality='single' baseType='float'/>"
        f"<itemBody>{body}</itemBody>{rp}{extra}</assessmentItem>", encoding="utf-8")
    return path


def _one(path: Path, importer=qti_importer) -> tuple[dict, list[str]]:
    result, _m = read(importer, path)
    assert not result.skipped, result.skipped
    [item] = result.items
    return item.data, item.notes


def _skip(path: Path, importer=qti_importer) -> str:
    result, _m = read(importer, path)
    assert not result.items
    [s] = result.skipped
    return s.reason


def test_match_correct_template_and_mathml(tmp_path: Path) -> None:
    math = convert(r"\frac{a}{b}").replace('xmlns="http://www.w3.org/1998/Math/MathML"', 'xmlns="http://www.w3.org/1998/Math/MathML"')
    path = _item21(
        tmp_path,
        f"<p>Simplify {math}.</p><choiceInteraction responseIdentifier='RESPONSE' maxChoices='1'>"
        "<simpleChoice identifier='A'>one</simpleChoice><simpleChoice identifier='B'>two</simpleChoice></choiceInteraction>",
        "<responseDeclaration identifier='RESPONSE' cardinality='single' baseType='identifier'><correctResponse><value>B</value>"
        "</correctResponse></responseDeclaration>",
        "<responseProcessing template='http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct'/>")
    data, _notes = _one(path)
    assert data["type"] == "multiple_choice" and data["stem"] == r"Simplify $\frac{a}{b}$."
    assert [o.get("correct", False) for o in data["options"]] == [False, True]
    assert data["id"] == "q1" and data["title"] == "Q one"


def test_equal_with_absolute_tolerance(tmp_path: Path) -> None:
    path = _item21(
        tmp_path, "<p>g?</p><p><textEntryInteraction responseIdentifier='R'/></p>",
        "<responseDeclaration identifier='R' cardinality='single' baseType='float'/>",
        "<responseProcessing><responseCondition><responseIf><equal toleranceMode='absolute' tolerance='0.05 0.05'>"
        "<variable identifier='R'/><baseValue baseType='float'>9.81</baseValue></equal>"
        "<setOutcomeValue identifier='SCORE'><baseValue baseType='float'>1</baseValue></setOutcomeValue></responseIf>"
        "</responseCondition></responseProcessing>")
    data, _notes = _one(path)
    assert data["type"] == "numeric" and data["answer"] == 9.81 and data["tolerance"] == 0.05


def test_gap_match_becomes_dropdown_cloze(tmp_path: Path) -> None:
    path = _item21(
        tmp_path,
        "<gapMatchInteraction responseIdentifier='R'><gapText identifier='T1' matchMax='1'>cat</gapText>"
        "<gapText identifier='T2' matchMax='1'>dog</gapText><p>A <gap identifier='G1'/> barks.</p></gapMatchInteraction>",
        "<responseDeclaration identifier='R' cardinality='multiple' baseType='directedPair'><correctResponse>"
        "<value>T2 G1</value></correctResponse></responseDeclaration>")
    data, notes = _one(path)
    assert data["type"] == "cloze" and data["stem"] == "A {{G1}} barks."
    assert data["blanks"] == {"G1": {"choices": ["cat", "dog"], "correct": "dog"}}
    assert any("gap match" in n for n in notes)


def test_choice_lists_with_prompts_read_as_matching(tmp_path: Path) -> None:
    lists = "".join(
        f"<p>{left}</p><choiceInteraction responseIdentifier='R{n}' maxChoices='1'><simpleChoice identifier='a{n}'>Paris</simpleChoice>"
        f"<simpleChoice identifier='b{n}'>Rome</simpleChoice><simpleChoice identifier='c{n}'>Oslo</simpleChoice></choiceInteraction>"
        for n, left in enumerate(["France", "Italy"]))
    decls = "".join(f"<responseDeclaration identifier='R{n}' cardinality='single' baseType='identifier'><correctResponse>"
                    f"<value>{key}{n}</value></correctResponse></responseDeclaration>" for n, key in enumerate("ab"))
    data, _n = _one(_item21(tmp_path, "<p>Match the capitals.</p>" + lists, decls))
    assert data["type"] == "matching" and data["stem"] == "Match the capitals."
    assert data["pairs"] == [{"prompt": "France", "match": "Paris"}, {"prompt": "Italy", "match": "Rome"}]
    assert data["distractors"] == ["Oslo"]


def test_associate_and_composite_are_skipped(tmp_path: Path) -> None:
    path = _item21(tmp_path, "<associateInteraction responseIdentifier='R' maxAssociations='1'>"
                             "<simpleAssociableChoice identifier='A' matchMax='1'>a</simpleAssociableChoice></associateInteraction>")
    assert "associate" in _skip(path)
    path = _item21(tmp_path, "<extendedTextInteraction responseIdentifier='A'/><extendedTextInteraction responseIdentifier='B'/>",
                   name="two.xml")
    assert "2 interactions in one item" in _skip(path)


def test_qti30_single_file(tmp_path: Path) -> None:
    path = tmp_path / "q.xml"
    path.write_text(
        '<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="q30" title="t" adaptive="false" '
        'time-dependent="false"><qti-response-declaration identifier="RESPONSE" cardinality="multiple" base-type="identifier">'
        "<qti-correct-response><qti-value>A</qti-value><qti-value>C</qti-value></qti-correct-response></qti-response-declaration>"
        "<qti-item-body><p>Pick two.</p><qti-choice-interaction response-identifier='RESPONSE' max-choices='0'>"
        "<qti-simple-choice identifier='A'>x</qti-simple-choice><qti-simple-choice identifier='B'>y</qti-simple-choice>"
        "<qti-simple-choice identifier='C'>z</qti-simple-choice></qti-choice-interaction></qti-item-body>"
        "<qti-modal-feedback outcome-identifier='FEEDBACK' identifier='B' show-hide='show'><qti-content-body><p>No.</p>"
        "</qti-content-body></qti-modal-feedback></qti-assessment-item>", encoding="utf-8")
    assert qti_importer.sniff(path) and not canvas_importer.sniff(path)
    data, _n = _one(path)
    assert data["type"] == "multiple_response" and data["scoring"] == "all_or_nothing"
    assert [o.get("correct", False) for o in data["options"]] == [True, False, True]
    assert data["options"][1]["feedback"] == "No."


# --- QTI 1.2 -----------------------------------------------------------------------------------------

QTI12 = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"


def _mc_item(ident: str, title: str, extra_meta: str = "") -> str:
    return (f'<item ident="{ident}" title="{title}"><itemmetadata><qtimetadata>'
            "<qtimetadatafield><fieldlabel>question_type</fieldlabel><fieldentry>multiple_choice_question</fieldentry></qtimetadatafield>"
            f"<qtimetadatafield><fieldlabel>points_possible</fieldlabel><fieldentry>2</fieldentry></qtimetadatafield>{extra_meta}"
            "</qtimetadata></itemmetadata><presentation><material><mattext texttype='text/html'>&lt;p&gt;2+2?&lt;/p&gt;</mattext></material>"
            "<response_lid ident='response1' rcardinality='Single'><render_choice>"
            "<response_label ident='11'><material><mattext>4</mattext></material></response_label>"
            "<response_label ident='12'><material><mattext>5</mattext></material></response_label></render_choice></response_lid>"
            "</presentation><resprocessing><outcomes><decvar varname='SCORE'/></outcomes>"
            "<respcondition continue='No'><conditionvar><varequal respident='response1'>11</varequal></conditionvar>"
            "<setvar action='Set' varname='SCORE'>100</setvar></respcondition></resprocessing></item>")


def test_canvas_quiz_group_and_bank_reference(tmp_path: Path) -> None:
    path = tmp_path / "quiz.xml"
    path.write_text(
        f'<questestinterop xmlns="{QTI12}"><assessment ident="a1" title="Week 1"><section ident="root_section">'
        "<section ident='g1' title='Pick one'><selection_ordering><selection><selection_number>1</selection_number>"
        "<selection_extension><points_per_item>2</points_per_item></selection_extension></selection></selection_ordering>"
        + _mc_item("q1", "First") + _mc_item("q2", "Second") +
        "</section><section ident='g2' title='From bank'><selection_ordering><selection><sourcebank_ref>bank9</sourcebank_ref>"
        "<selection_number>3</selection_number></selection></selection_ordering></section>"
        "</section></assessment></questestinterop>", encoding="utf-8")
    result, _m = read(canvas_importer, path)
    assert [i.data["id"] for i in result.items] == ["q1", "q2"]
    assert all(i.data["topic"] == "Pick one" and i.data["points"] == 2 for i in result.items)
    assert all(any("picks 1 of 2" in n for n in i.notes) for i in result.items)
    [skipped] = result.skipped
    assert "bank9" in skipped.reason and "not in this package" in skipped.reason


def test_canvas_unsupported_types_are_skipped(tmp_path: Path) -> None:
    items = "".join(
        _mc_item(f"q{n}", t).replace("multiple_choice_question", t) for n, t in
        enumerate(["calculated_question", "file_upload_question", "text_only_question"]))
    path = tmp_path / "bank.xml"
    path.write_text(f'<questestinterop xmlns="{QTI12}"><objectbank ident="b"><qtimetadata><qtimetadatafield><fieldlabel>bank_title'
                    f"</fieldlabel><fieldentry>B</fieldentry></qtimetadatafield></qtimetadata>{items}</objectbank></questestinterop>")
    result, _m = read(canvas_importer, path)
    assert not result.items
    assert [s.ident for s in result.skipped] == ["q0", "q1", "q2"]
    assert ["<calculated> definition" in result.skipped[0].reason, "file-upload" in result.skipped[1].reason,
            "text-only" in result.skipped[2].reason] == [True, True, True]


# --- MathML -> LaTeX ---------------------------------------------------------------------------------

@pytest.mark.parametrize("latex", [
    r"L = -\sum_i y_i \log p_i", r"\frac{a}{b} + \sqrt{x^2} \leq \alpha", r"\mathbf{x} \cdot \hat{y}", r"\int_0^1 f(x)\,dx",
    r"\left( a \right) \neq b", r"e^{i\pi}+1=0", r"\sqrt[3]{8}=2", r"10^{-3} \times 2.5", r"\{a, b\}", r"x_{i,j}^2",
])
def test_mathml_to_latex_gives_the_same_math(latex: str) -> None:
    back = mathml_to_latex(etree.fromstring(convert(latex)))
    assert convert(back) == convert(latex)


def test_mathml_tex_annotation_and_display() -> None:
    el = etree.fromstring('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><semantics><mi>x</mi>'
                          '<annotation encoding="application/x-tex">\\vec{x}</annotation></semantics></math>')
    result = convert_mathml(el)
    assert (result.latex, result.display) == (r"\vec{x}", True)
    with pytest.raises(ValueError):
        mathml_to_latex(etree.fromstring('<math xmlns="http://www.w3.org/1998/Math/MathML"><mblink>x</mblink></math>'))


def test_course_export_holds_each_quiz_twice_and_reads_it_once(tmp_path: Path) -> None:
    """A Canvas course export (.imscc) has the Common Cartridge copy of a quiz (<id>/assessment_qti.xml)
    and Canvas's own (non_cc_assessments/<id>.xml.qti): one question each, read once, from the latter."""
    import zipfile

    quiz = f'<questestinterop xmlns="{QTI12}"><assessment ident="a1" title="Week 1"><section ident="root_section">' + \
        _mc_item("q1", "First") + "</section></assessment></questestinterop>"
    cc = quiz.replace("2+2?", "2+2 (cc copy)?")
    path = tmp_path / "course.imscc"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("imsmanifest.xml", '<manifest xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"><resources>'
                    '<resource type="imsqti_xmlv1p2/imscc_xmlv1p1/assessment" href="a1/assessment_qti.xml"/></resources></manifest>')
        zf.writestr("a1/assessment_qti.xml", cc)
        zf.writestr("non_cc_assessments/a1.xml.qti", quiz)
        zf.writestr("a1/assessment_meta.xml", '<quiz xmlns="http://canvas.instructure.com/xsd/cccv1p0" identifier="a1">'
                    "<title>Week one quiz</title></quiz>")
    assert canvas_importer.sniff(path)
    result, _m = read(canvas_importer, path)
    [item] = result.items
    assert item.data["stem"] == "2+2?" and item.data["topic"] == "Week one quiz"


def _canvas_item(qtype: str, presentation: str, conditions: str) -> str:
    return (f'<item ident="x1" title="X"><itemmetadata><qtimetadata><qtimetadatafield><fieldlabel>question_type</fieldlabel>'
            f"<fieldentry>{qtype}</fieldentry></qtimetadatafield></qtimetadata></itemmetadata>"
            f"<presentation><material><mattext texttype='text/html'>&lt;p&gt;Q&lt;/p&gt;</mattext></material>{presentation}</presentation>"
            f"<resprocessing><outcomes><decvar varname='SCORE'/></outcomes>{conditions}</resprocessing></item>")


def _label(ident: str, text: str) -> str:
    return f"<response_label ident='{ident}'><material><mattext texttype='text/plain'>{text}</mattext></material></response_label>"


def _canvas_one(tmp_path: Path, item: str) -> tuple[dict, list[str]]:
    path = tmp_path / "x.xml"
    path.write_text(f'<questestinterop xmlns="{QTI12}">{item}</questestinterop>', encoding="utf-8")
    return _one(path, canvas_importer)


def test_new_quizzes_ordering(tmp_path: Path) -> None:
    item = _canvas_item(
        "ordering_question",
        "<response_lid ident='response1' rcardinality='Ordered'><render_extension><ims_render_object shuffle='No'><flow_label>"
        + _label("1", "third") + _label("2", "first") + _label("3", "second") + "</flow_label></ims_render_object></render_extension></response_lid>",
        "<respcondition><conditionvar><varequal respident='response1'>2</varequal><varequal respident='response1'>3</varequal>"
        "<varequal respident='response1'>1</varequal></conditionvar><setvar action='Set' varname='SCORE'>100</setvar></respcondition>")
    data, _n = _canvas_one(tmp_path, item)
    assert data["type"] == "ordering" and data["sequence"] == ["first", "second", "third"]


def test_new_quizzes_categorization_as_matching(tmp_path: Path) -> None:
    pool = _label("a", "Brady") + _label("b", "Judge") + _label("c", "Nobody")
    item = _canvas_item(
        "categorization_question",
        f"<response_lid ident='cat1' rcardinality='Multiple'><material><mattext>NFL</mattext></material><render_choice>{pool}</render_choice></response_lid>"
        f"<response_lid ident='cat2' rcardinality='Multiple'><material><mattext>MLB</mattext></material><render_choice>{pool}</render_choice></response_lid>",
        "<respcondition><conditionvar><varequal respident='cat1'>a</varequal></conditionvar><setvar action='Add' varname='SCORE'>50</setvar></respcondition>"
        "<respcondition><conditionvar><varequal respident='cat2'>b</varequal></conditionvar><setvar action='Add' varname='SCORE'>50</setvar></respcondition>")
    data, notes = _canvas_one(tmp_path, item)
    assert data["pairs"] == [{"prompt": "Brady", "match": "NFL"}, {"prompt": "Judge", "match": "MLB"}]
    assert any("Nobody" in n for n in notes)


@pytest.mark.parametrize("cond, expected, note", [
    ("<or><varequal respident='response1' margintype='percent' margin='1'>5.0</varequal><and><vargte respident='response1'>4.95</vargte>"
     "<varlte respident='response1'>5.05</varlte></and></or>", {"answer": 5, "tolerance": 0.05}, "1%"),
    ("<or><varequal respident='response1' precisiontype='significantDigits' precision='1'>8.0</varequal><and>"
     "<vargt respident='response1'>7.5</vargt><varlte respident='response1'>8.5</varlte></and></or>", {"answer": 8, "tolerance": 0.5}, "exclusive"),
    ("<vargte respident='response1'>6.0</vargte><varlte respident='response1'>8.0</varlte>", {"range": {"min": 6, "max": 8}}, None),
])
def test_canvas_numerical_answers(tmp_path: Path, cond: str, expected: dict, note: str | None) -> None:
    item = _canvas_item("numerical_question", "<response_str ident='response1' rcardinality='Single'><render_fib fibtype='Decimal'>"
                        "<response_label ident='answer1'/></render_fib></response_str>",
                        f"<respcondition continue='No'><conditionvar>{cond}</conditionvar><setvar action='Set' varname='SCORE'>100</setvar></respcondition>")
    data, notes = _canvas_one(tmp_path, item)
    assert {k: data[k] for k in expected} == expected
    assert (note is None and not notes) or any(note and note in n for n in notes)


def test_test_section_selection_and_topic(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "items").mkdir(parents=True)
    for n in (1, 2):
        _item21(pkg / "items", "<p>Q?</p><extendedTextInteraction responseIdentifier='R'/>", name=f"i{n}.xml")
        text = (pkg / "items" / f"i{n}.xml").read_text().replace('identifier="q1"', f'identifier="q{n}"')
        (pkg / "items" / f"i{n}.xml").write_text(text)
    (pkg / "test.xml").write_text(
        f'<assessmentTest xmlns="{NS21}" identifier="t" title="T"><testPart identifier="p" navigationMode="linear" submissionMode="individual">'
        "<assessmentSection identifier='s' title='Cells' visible='true'><selection select='1'/>"
        "<assessmentItemRef identifier='a' href='items/i1.xml'/><assessmentItemRef identifier='b' href='items/i2.xml'/>"
        "<assessmentItemRef identifier='c' href='items/gone.xml'/></assessmentSection></testPart></assessmentTest>")
    result, _m = read(qti_importer, pkg)
    assert sorted(i.data["id"] for i in result.items) == ["q1", "q2"]
    assert all(i.data["topic"] == "Cells" and any("selects 1 of 3" in n for n in i.notes) for i in result.items)
    [gone] = result.skipped
    assert "items/gone.xml" in gone.reason


def test_canvas_quiz_description_is_reported(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "quiz.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a1/a1.xml", f'<questestinterop xmlns="{QTI12}"><assessment ident="a1" title="W"><section ident="root_section">'
                    + _mc_item("q1", "First") + "</section></assessment></questestinterop>")
        zf.writestr("a1/assessment_meta.xml", '<quiz xmlns="http://canvas.instructure.com/xsd/cccv1p0" identifier="a1"><title>W</title>'
                    "<description>&lt;p&gt;Read carefully&lt;/p&gt;</description></quiz>")
    result, _m = read(canvas_importer, path)
    assert len(result.items) == 1 and any("description" in p for p in result.problems)


def test_body_rubric_and_end_attempt_are_accounted_for(tmp_path: Path) -> None:
    path = _item21(
        tmp_path,
        "<rubricBlock view='scorer'><p>Accept Paris only.</p></rubricBlock><p>Capital?</p>"
        "<choiceInteraction responseIdentifier='RESPONSE' maxChoices='1'><simpleChoice identifier='A'>Paris</simpleChoice>"
        "<simpleChoice identifier='B'>Lyon</simpleChoice></choiceInteraction><endAttemptInteraction responseIdentifier='HINT' title='Hint'/>",
        "<responseDeclaration identifier='RESPONSE' cardinality='single' baseType='identifier'><correctResponse><value>A</value>"
        "</correctResponse></responseDeclaration>")
    data, notes = _one(path)
    assert data["stem"] == "Capital?" and data["rationale"] == "Accept Paris only."
    assert any("rubric block" in n for n in notes) and any("'Hint' button" in n for n in notes)


def test_template_item_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.xml"
    path.write_text(f'<assessmentItem xmlns="{NS21}" identifier="t" title="t" adaptive="false" timeDependent="false">'
                    "<responseDeclaration identifier='R' cardinality='single' baseType='integer'/>"
                    "<templateDeclaration identifier='X' cardinality='single' baseType='integer'/>"
                    "<itemBody><p>2+<printedVariable identifier='X'/>?</p><p><textEntryInteraction responseIdentifier='R'/></p></itemBody>"
                    "</assessmentItem>")
    assert "template item" in _skip(path)


def test_manifest_xml_base_prefixes_item_hrefs(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "content" / "items").mkdir(parents=True)
    _item21(pkg / "content" / "items", "<p>Q?</p><extendedTextInteraction responseIdentifier='R'/>", name="i1.xml")
    (pkg / "imsmanifest.xml").write_text(
        '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources xml:base="content/">'
        '<resource identifier="r1" type="imsqti_item_xmlv2p1" xml:base="items/" href="i1.xml"><file href="i1.xml"/></resource>'
        "</resources></manifest>")
    result, _m = read(qti_importer, pkg)
    assert [i.data["id"] for i in result.items] == ["q1"] and not result.skipped


_MAP_RP = "<responseProcessing template='http://www.imsglobal.org/question/qti_v2p1/rptemplates/map_response'/>"


def test_a_partly_right_mapped_answer_is_dropped_with_a_note_never_taken_as_right(tmp_path: Path) -> None:
    """A text entry's mapping may give an answer partial credit (Paris 2, Lutetia 1): the reader took
    every answer mapped above 0 as fully right, without a word."""
    decl = ("<responseDeclaration identifier='R' cardinality='single' baseType='string'><correctResponse><value>Paris</value></correctResponse>"
            "<mapping defaultValue='0'><mapEntry mapKey='Paris' mappedValue='2'/><mapEntry mapKey='Lutetia' mappedValue='1'/>"
            "<mapEntry mapKey='Lyon' mappedValue='-1'/></mapping></responseDeclaration>")
    data, notes = _one(_item21(tmp_path, "<p>Capital of France?</p><p><textEntryInteraction responseIdentifier='R'/></p>", decl, _MAP_RP))
    assert data["type"] == "short_answer" and data["answers"] == ["Paris"]
    assert any("'Lutetia' worth 1 of 2 dropped" in n for n in notes), notes
    # Inline (a cloze blank): the same.
    decl = ("<responseDeclaration identifier='R' cardinality='single' baseType='string'>"
            "<mapping defaultValue='0'><mapEntry mapKey='York' mappedValue='1'/><mapEntry mapKey='york' mappedValue='0.5'/></mapping></responseDeclaration>")
    data, notes = _one(_item21(tmp_path, "<p>New <textEntryInteraction responseIdentifier='R'/> is a city.</p>", decl, _MAP_RP, name="cz.xml"))
    assert data["type"] == "cloze" and [b["answers"] for b in data["blanks"].values()] == [["York"]]
    assert any("'york' worth 0.5 of 1 dropped" in n for n in notes), notes


def _mr(tmp_path: Path, entries: str, lower: str = " lowerBound='0'", name: str = "mr.xml") -> tuple[dict, list[str]]:
    decl = ("<responseDeclaration identifier='R' cardinality='multiple' baseType='identifier'><correctResponse><value>A</value><value>B</value>"
            f"</correctResponse><mapping{lower} upperBound='2' defaultValue='0'>{entries}</mapping></responseDeclaration>")
    body = ("<choiceInteraction responseIdentifier='R' maxChoices='0'><prompt>Which are even?</prompt><simpleChoice identifier='A'>2</simpleChoice>"
            "<simpleChoice identifier='B'>4</simpleChoice><simpleChoice identifier='C'>5</simpleChoice><simpleChoice identifier='D'>7</simpleChoice></choiceInteraction>")
    return _one(_item21(tmp_path, body, decl, _MAP_RP, name=name))


def test_a_multiple_response_mapping_that_partial_scoring_cannot_hold_is_said(tmp_path: Path) -> None:
    """Penalties on wrong choices (or none, or keys worth different shares) became scoring: partial,
    which has its own (each key +points/k, each wrong choice -points/(n-k), never below 0), without a
    word.  The mapping partial scoring is (our export's) reads without a note."""
    keys = "<mapEntry mapKey='A' mappedValue='1'/><mapEntry mapKey='B' mappedValue='1'/>"
    data, notes = _mr(tmp_path, keys + "<mapEntry mapKey='C' mappedValue='-0.25'/><mapEntry mapKey='D' mappedValue='-0.25'/>")
    assert data["type"] == "multiple_response" and data["scoring"] == "partial"
    assert [n for n in notes if "mapping" in n] == [
        "multiple response mapping: its values (A 1, B 1, C -0.25, D -0.25) are not kept: read as scoring: partial, "
        "where each correct choice earns points/2 and each wrong choice costs points/2"]
    _data, notes = _mr(tmp_path, keys, name="no-penalty.xml")  # wrong choices cost nothing (defaultValue 0)
    assert any("(A 1, B 1, C 0, D 0) are not kept" in n for n in notes), notes
    ours = keys + "<mapEntry mapKey='C' mappedValue='-1'/><mapEntry mapKey='D' mappedValue='-1'/>"
    _data, notes = _mr(tmp_path, ours, name="ours.xml")
    assert not [n for n in notes if "mapping" in n], notes
    _data, notes = _mr(tmp_path, ours, lower="", name="unbounded.xml")
    assert [n for n in notes if "mapping" in n] == [
        "multiple response mapping: its total may fall below 0 (no lowerBound of 0); partial scoring never gives less than 0"]


_MC = ("<responseDeclaration identifier='RESPONSE' cardinality='single' baseType='identifier'><correctResponse><value>{key}</value>"
       "</correctResponse></responseDeclaration>")
_RP = "<responseProcessing template='http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct'/>"


def test_blank_wrong_choices_are_dropped_with_a_note(tmp_path: Path) -> None:
    """A QTI 2 choice question holding empty choices (an editor's unused slots, as Blackboard's QTI 1.2
    has them) was skipped whole ('choice ... has no text'); as the QTI 1.2 reader does, a blank wrong
    choice is dropped with a note, and a blank correct one still skips the question, saying so."""
    body = ("<p>Which is a prime?</p><choiceInteraction responseIdentifier='RESPONSE' maxChoices='1'>"
            "<simpleChoice identifier='A'>4</simpleChoice><simpleChoice identifier='B'>7</simpleChoice>"
            "<simpleChoice identifier='C'></simpleChoice><simpleChoice identifier='D'> </simpleChoice></choiceInteraction>")
    data, notes = _one(_item21(tmp_path, body, _MC.format(key="B"), _RP))
    assert [(o["text"], o.get("correct", False)) for o in data["options"]] == [("4", False), ("7", True)]
    assert "2 wrong choices without text dropped (2 kept)" in notes, notes
    reason = _skip(_item21(tmp_path, body, _MC.format(key="C"), _RP, name="blank-key.xml"))
    assert reason == "choice 'C' has no text, and it is a correct one"
