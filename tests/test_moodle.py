"""Moodle XML export: every element and value Moodle 4.x's qformat_xml importer reads, per item type.

The file is parsed with lxml and read the way ``qformat_xml::import_question`` reads it (paths such
as ``questiontext/text``, ``answer/@fraction``, ``answer/feedback/text``); cloze texts are parsed
with a port of qtype_multianswer's embedded-answer pattern.  No Moodle runs here: the acceptance
import into Moodle 4.5 is done by hand (docs/moodle.md).

The golden file ``tests/golden/moodle/seed.xml`` pins the complete export of the example bank
``items/`` (category paths, every field, fractions, tags, order, bytes).  After reviewing a change,
refresh it with:

    .venv/bin/itembank export moodle --bank items -o tests/golden/moodle/seed.xml
"""

from __future__ import annotations

import base64
import html as _html
import re
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from itembank.exporters.moodle import xml as moodle
from itembank import Bank
from itembank.formats import ExportContext
from itembank.model import BankConfig, Blank, ChoiceItem, ClozeItem, Option, ShortAnswerItem, SourceRef, TrueFalseItem
from itembank.moodle_grades import MOODLE_GRADES, moodle_fractions, split_hundred
from itembank.render import Renderer
from itembank.validate import check_bank

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "moodle" / "seed.xml"
HERE = SourceRef("mem.yaml")


def export(bank: Bank) -> tuple[bytes, moodle.ExportResult]:
    result = moodle.exporter.export(bank, ExportContext(renderer=Renderer()))
    assert result.data is not None
    return result.data, result


def questions(data: bytes) -> dict[str, etree._Element]:
    """Questions by idnumber (what Moodle stores the item id as)."""
    root = etree.fromstring(data)
    return {q.findtext("idnumber"): q for q in root.iterfind("question") if q.get("type") != "category"}


def text(q: etree._Element, path: str) -> str:
    return q.findtext(f"{path}/text") or ""


def mem_bank(*items: object, title: str = "Mem") -> Bank:
    return Bank(root=ROOT, config=BankConfig(title=title), items=tuple(items))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def all_types(all_types_bank: Bank) -> tuple[Bank, bytes, dict[str, etree._Element]]:
    data, _ = export(all_types_bank)
    return all_types_bank, data, questions(data)


# --- document ---------------------------------------------------------------------------------


def test_document_starts_with_the_declaration_and_has_a_quiz_root(all_types):
    _, data, _ = all_types
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
    assert etree.fromstring(data).tag == "quiz"


def test_one_category_per_topic_before_its_questions(all_types):
    bank, data, _ = all_types
    root = etree.fromstring(data)
    current, seen = None, []
    for q in root.iterfind("question"):
        if q.get("type") == "category":
            current = text(q, "category")
            seen.append(current)
            continue
        item = bank.by_id[q.findtext("idnumber")]
        assert current == f"$course$/All types/{item.topic}"
    assert seen == [f"$course$/All types/{t}" for t in bank.topics()]


def test_every_item_is_written_or_skipped(all_types_bank, seed_bank):
    for bank in (all_types_bank, seed_bank):
        data, result = export(bank)
        assert sum(result.written.values()) + len(result.skipped) == len(bank.items)
        assert len(questions(data)) == sum(result.written.values())
    assert not export(all_types_bank)[1].skipped


def test_common_fields(all_types):
    bank, _, qs = all_types
    for item in bank.items:
        q = qs[item.id]
        assert q.get("type") == moodle.QTYPES[item.type]
        assert text(q, "name") == item.name
        assert q.find("questiontext").get("format") == "html"
        if item.type != "cloze":  # Moodle sums a cloze's blank weights instead
            assert float(q.findtext("defaultgrade")) == item.points
        assert q.findtext("penalty") is not None
    mc = qs["at-mc"]
    tags = [t.findtext("text") for t in mc.iterfind("tags/tag")]
    assert tags == [
        "difficulty:medium", "level:intermediate", "bloom:analyze", "topic:training",
        "curves", "loss & accuracy", "objective:Read a training curve", "status:approved",
    ]  # fmt: skip
    assert [text(h, ".") for h in mc.iterfind("hint")] == ["<p>Look at the direction of the curve.</p>"]


def test_general_feedback_holds_rationale_solution_quick_check_and_mistakes(all_types):
    _, _, qs = all_types
    feedback = lxml.html.fragment_fromstring(text(qs["at-mc"], "generalfeedback"), create_parent="div").text_content()
    for part in (
        "A decreasing training loss shows learning progress.",
        "Read the axes",
        "Epochs run left to right, loss bottom to top.",
        "Compare the first and last points.",
        "The loss falls -> option a",
        "Falling loss = learning",
        "Reading the curve right to left",
    ):
        assert part in feedback


def test_stem_html_keeps_code_math_and_embeds_the_image(all_types):
    bank, _, qs = all_types
    q = qs["at-mc"]
    stem = text(q, "questiontext")
    assert "<code>loss &lt; 0.1</code>" in stem
    assert r"\(L = -\sum_i y_i \log p_i\)" in stem and "math-inline" not in stem
    assert 'src="@@PLUGINFILE@@/loss-curve.png"' in stem
    (f,) = q.iterfind("questiontext/file")
    assert (f.get("name"), f.get("path"), f.get("encoding")) == ("loss-curve.png", "/", "base64")
    assert base64.b64decode(f.text) == bank.media_path("media/loss-curve.png").read_bytes()


def test_html_is_in_cdata(all_types):
    _, data, _ = all_types
    assert b"<text><![CDATA[<p>Fine-tuning starts from a pre-trained model.</p>]]></text>" in data


# --- per type ---------------------------------------------------------------------------------


def answers(q: etree._Element) -> list[tuple[str, str, str]]:
    return [(a.get("fraction"), text(a, "."), text(a, "feedback")) for a in q.iterfind("answer")]


def test_multiple_choice(all_types):
    _, _, qs = all_types
    q = qs["at-mc"]
    assert (q.findtext("single"), q.findtext("shuffleanswers"), q.findtext("answernumbering")) == ("true", "true", "abc")
    got = answers(q)
    assert [a[0] for a in got] == ["100", "0", "0"]
    assert got[2][1] == "The model is &lt;broken&gt; &amp; so is the data"
    assert got[1][2] == "<p>The curve goes down, not up.</p>"
    assert q.find("answer").get("format") == "html"


def test_multiple_response_partial_fractions_are_on_moodles_list(all_types):
    _, _, qs = all_types
    q = qs["at-mr"]
    assert q.findtext("single") == "false"
    assert [a[0] for a in answers(q)] == ["50", "50", "-50", "-50"]
    assert [a[2] for a in answers(q)] == ["<p>Yes.</p>", "<p>Yes.</p>", "<p>Nothing guarantees that.</p>", "<p>Data is still needed.</p>"]


def test_multiple_response_all_or_nothing_penalises_every_wrong_option_fully(all_types_bank):
    data, result = export(all_types_bank)
    q = questions(data)["at-mr-strict"]
    assert [a[0] for a in answers(q)] == ["50", "50", "-100"]
    assert any("all_or_nothing" in n and "at-mr-strict" in n for n in result.notes)


def test_true_false_has_both_feedbacks(all_types):
    _, _, qs = all_types
    got = {a[1]: a for a in answers(qs["at-tf"])}
    assert got["true"][0] == "100" and got["false"][0] == "0"
    assert "that is what makes it fine-tuning" in got["true"][2]
    assert "training from scratch" in got["false"][2]


def test_short_answer(all_types):
    _, _, qs = all_types
    q = qs["at-sa"]
    assert q.findtext("usecase") == "0"
    assert [(a[0], a[1]) for a in answers(q)] == [("100", "pre-training"), ("100", "pretraining")]


def test_short_answer_star_is_literal_and_case_is_kept():
    item = ShortAnswerItem(id="s", type="short_answer", stem="x", location=HERE, answers=("a*b",), case_sensitive=True)
    q = questions(export(mem_bank(item))[0])["s"]
    assert q.findtext("usecase") == "1"
    assert answers(q)[0][1] == r"a\*b"  # Moodle's shortanswer reads an unescaped * as a wildcard


def test_numeric_tolerance_and_units(all_types):
    _, _, qs = all_types
    q = qs["at-num"]
    (a,) = q.iterfind("answer")
    assert (text(a, "."), a.findtext("tolerance")) == ("50000", "0")
    assert q.findtext("units/unit/unit_name") == "examples" and q.findtext("units/unit/multiplier") == "1"
    assert q.findtext("showunits") == "0" and q.findtext("unitgradingtype") == "0"
    r = qs["at-num-range"]
    (a,) = r.iterfind("answer")
    centre, tol = float(text(a, ".")), float(a.findtext("tolerance"))
    assert centre == pytest.approx(0.0055) and tol == pytest.approx(0.0045)
    assert (centre - tol, centre + tol) == pytest.approx((0.001, 0.01))
    assert r.find("units") is None and r.findtext("showunits") == "3"


def test_essay(all_types):
    _, _, qs = all_types
    q = qs["at-essay"]
    assert (q.findtext("responseformat"), q.findtext("responserequired")) == ("editor", "1")
    assert (q.findtext("minwordlimit"), q.findtext("maxwordlimit")) == ("20", "200")
    info = text(q, "graderinfo")
    assert "Rubric (4 points)" in info and "How the two phases work together" in info
    assert "Pre-training learns general patterns; fine-tuning adapts them to a task." in info
    assert text(q, "responsetemplate") == "<p>Pre-training is ...</p>"
    # Moodle's essay type has no hints: they are kept in the general feedback.
    assert q.find("hint") is None and "Think about learning general skills first" in text(q, "generalfeedback")


def test_matching_subquestions_and_extra_wrong_answer(all_types):
    _, _, qs = all_types
    q = qs["at-match"]
    subs = [(text(s, "."), s.findtext("answer/text")) for s in q.iterfind("subquestion")]
    assert subs == [
        ("Pre-training", "Learns general patterns"),
        ("Fine-tuning", "Adapts to a task"),
        ("Evaluation", "Measures performance"),
        ("", "Deletes data"),
    ]
    assert q.findtext("shuffleanswers") == "true"



def format_string(stored: str) -> str:
    """What a browser shows of a text Moodle stores as a plain string and displays with
    ``format_string`` (core\formatting, Moodle 4.x; no filters): a bare ``&`` escaped
    (replace_ampersands_not_followed_by_entity), every tag stripped (PHP's strip_tags: ``<`` not
    followed by white space starts a tag, to the next ``>`` or the end), ``<`` ``>`` escaped
    ($CFG->formatstringstriptags, on by default), then the HTML read by the browser.  Used for a
    matching question's answers (qtype_match_renderer::format_choices)."""
    html = re.sub(r"&(?![a-zA-Z0-9#]{1,8};)", "&amp;", stored)
    html = re.sub(r"<(?!\s)[^>]*(?:>|$)", "", html)
    return _html.unescape(html.replace("<", "&lt;").replace(">", "&gt;"))


#: Match texts a programming or maths teacher writes: operators, tags, an entity typed as such.
MARKUP_LIKE_MATCHES = ("<", "<=", "a<b", "x >= 1", "<bold> & strong", "&lt; is an entity", "R&D", "</script><script>alert(1)</script>")


def test_matching_answers_show_in_moodle_as_typed():
    """A match (and a distractor) is plain text, and Moodle shows a matching question's answers
    through format_string, which strips tags and decodes entities: written as typed, '<=' showed
    as nothing, 'a<b' as 'a' and '&lt;' as '<'.  They are written as HTML text."""
    from itembank.model import MatchingItem, Pair

    targets = MARKUP_LIKE_MATCHES
    item = MatchingItem(
        id="m", type="matching", location=HERE, stem="Match",
        pairs=tuple(Pair(prompt=f"p{n}", match=t) for n, t in enumerate(targets[:-1])), distractors=(targets[-1],),
    )  # fmt: skip
    q = questions(export(mem_bank(item))[0])["m"]
    shown = [format_string(s.findtext("answer/text") or "") for s in q.iterfind("subquestion")]
    assert shown == list(targets)


_PHP_NUMERIC = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def match_choices(answers: list[str]) -> list[str]:
    """qtype_match's choices (initialise_question_instance): an answer ``array_search`` finds among
    the choices (PHP's loose ``==``: two numeric strings compare as numbers) is that choice."""
    def loose_equal(a: str, b: str) -> bool:
        if _PHP_NUMERIC.fullmatch(a) and _PHP_NUMERIC.fullmatch(b):
            return float(a) == float(b)
        return a == b

    choices: list[str] = []
    for answer in answers:
        if not any(loose_equal(answer, c) for c in choices):
            choices.append(answer)
    return choices


#: Matches that differ as text and are equal numbers for PHP (a significant-figures exercise).
NUMERIC_MATCHES = ("0.1", "0.10", "1e3", "1000", "-0", "0")


def test_matches_that_are_equal_numbers_stay_apart_in_moodle():
    """qtype_match merged '0.1' and '0.10' (or '1e3' and '1000') into one choice, as PHP's == finds
    them equal: one of the two texts in every menu, the other gone, and both pairs scored by one
    choice.  Now every match is a choice of its own, shown as typed; a shared match stays one."""
    from itembank.model import MatchingItem, Pair

    item = MatchingItem(
        id="m", type="matching", location=HERE, stem="Round 0.1 as asked",
        pairs=(*(Pair(prompt=f"p{n}", match=t) for n, t in enumerate(NUMERIC_MATCHES[:-1])), Pair(prompt="again", match="0.10")),
        distractors=(NUMERIC_MATCHES[-1],),
    )  # fmt: skip
    q = questions(export(mem_bank(item))[0])["m"]
    choices = match_choices([s.findtext("answer/text") or "" for s in q.iterfind("subquestion")])
    assert [format_string(c) for c in choices] == list(NUMERIC_MATCHES)


def test_tags_moodle_changes_on_import_are_noted():
    """Moodle cleans a tag with PARAM_TAG, which removes '<', '>' and '`': 'objective:Solve x < 3'
    became 'objective:Solve x  3' without a word (a tag over 50 characters was noted already)."""
    item = ShortAnswerItem(id="t", type="short_answer", location=HERE, stem="s", answers=("a",), objectives=("Solve x < 3", "Use `print()`", "plain"))
    data, result = export(mem_bank(item))
    assert [t.text for t in questions(data)["t"].iterfind("tags/tag/text")] == ["objective:Solve x < 3", "objective:Use `print()`", "objective:plain", "status:draft"]
    assert [n for n in result.notes if "PARAM_TAG" in n] == ["2 tag(s) hold '<', '>' or '`', which Moodle removes from a tag on import (PARAM_TAG), e.g. 'objective:Solve x < 3'"]

def test_ordering(all_types):
    _, _, qs = all_types
    q = qs["at-order"]
    assert q.get("type") == "ordering"
    fields = {t: q.findtext(t) for t in ("layouttype", "selecttype", "selectcount", "gradingtype", "showgrading", "numberingstyle")}
    assert fields == {
        "layouttype": "VERTICAL", "selecttype": "ALL", "selectcount": "4",
        "gradingtype": "ABSOLUTE_POSITION", "showgrading": "SHOW", "numberingstyle": "none",
    }  # fmt: skip
    assert [a[1] for a in answers(q)] == ["Collect a large general corpus", "Pre-train", "Fine-tune on task data", "Evaluate"]


def test_flashcard_is_a_self_check_essay_with_the_back_as_feedback(all_types):
    _, _, qs = all_types
    q = qs["at-card"]
    assert q.get("type") == "essay" and q.findtext("responserequired") == "0"
    back = "Learning general patterns from a large dataset before a specific task."
    assert back in text(q, "generalfeedback") and back in text(q, "graderinfo")
    assert "type:flashcard" in [t.findtext("text") for t in q.iterfind("tags/tag")]


# --- cloze: a port of qtype_multianswer's parser -----------------------------------------------

_ALT = (
    r"(?:(=)|%(-?[0-9]+(?:[.,][0-9]*)?)%)?"
    r"(.+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$))"
    r"(?:#(.*?(?<!\\)(?=[~}]|$)))?"
)
_EMBEDDED = re.compile(r"\{([0-9]*):(SHORTANSWER_C|SHORTANSWER|MULTICHOICE|NUMERICAL):((?:~?" + _ALT + r")+?)\}", re.DOTALL)
_ONE_ALT = re.compile("~?" + _ALT, re.DOTALL)
_UNESCAPE = re.compile(r'\\([}#~/"\\])')


def parse_cloze(html: str) -> list[tuple[int, str, list[tuple[float, str, str]]]]:
    """(weight, type, [(fraction, answer, feedback)]) per embedded answer, unescaped as Moodle does."""
    out = []
    for m in _EMBEDDED.finditer(html):
        alts = []
        for a in _ONE_ALT.finditer(m.group(3)):
            fraction = 1.0 if a.group(1) else float(a.group(2) or 0) / 100
            answer = _UNESCAPE.sub(r"\1", _html.unescape(a.group(3)))
            alts.append((fraction, answer, _html.unescape(a.group(4) or "")))
        out.append((int(m.group(1)), m.group(2), alts))
    return out


def test_cloze_embedded_answers(all_types):
    _, _, qs = all_types
    q = qs["at-cloze"]
    assert q.find("defaultgrade") is None
    parsed = parse_cloze(text(q, "questiontext"))
    assert parsed == [
        (1, "SHORTANSWER", [(1.0, "pre-trained", ""), (1.0, "pretrained", "")]),
        (1, "MULTICHOICE", [(1.0, "fine-tuned", ""), (0.0, "deleted", ""), (0.0, "ignored", "")]),
        (1, "NUMERICAL", [(1.0, "3:0", "")]),
    ]
    assert "{{" not in text(q, "questiontext")


def test_cloze_escapes_answers_and_feedback_and_braces_in_the_text():
    special = 'a}b#c~d/e"f\\g<h&i'
    item = ClozeItem(
        id="c", type="cloze", location=HERE, points=2,
        stem="Set {x} to {{one}} or pick {{two}}.",
        blanks=(
            Blank(name="one", kind="text", answers=(special, "plain"), case_sensitive=True, points=1, feedback="Not }~# quite"),
            Blank(name="two", kind="choice", choices=("yes", special), correct=special, points=3),
        ),
    )  # fmt: skip
    data, result = export(mem_bank(item))
    assert not result.skipped
    html = text(questions(data)["c"], "questiontext")
    assert "&#123;x}" in html  # a literal brace cannot start an embedded answer
    (w1, t1, alts1), (w2, t2, alts2) = parse_cloze(html)
    assert (t1, t2) == ("SHORTANSWER_C", "MULTICHOICE")
    assert [a[1] for a in alts1] == [special, "plain", "*"]
    assert alts1[2] == (0.0, "*", "Not }~# quite")
    assert [(a[0], a[1]) for a in alts2] == [(0.0, "yes"), (1.0, special)]
    # Weights keep the blanks' proportions (1:3); they cannot add up to 2 points in integers.
    assert (w1, w2) == (1, 3)


def test_a_cloze_whose_mark_in_moodle_is_not_its_points_is_noted():
    """Moodle marks a cloze out of the sum of its integer blank weights: two 1-point blanks of a
    1-point item make a question out of 2, which the export must say (it said nothing)."""
    blanks = (Blank(name="c", kind="text", answers=("France",)), Blank(name="d", kind="text", answers=("Italy",)))
    stem = "Paris is in {{c}} and Rome in {{d}}."
    changed = ClozeItem(id="two-blanks", type="cloze", location=HERE, stem=stem, blanks=blanks)
    kept = ClozeItem(id="two-points", type="cloze", location=HERE, stem=stem, blanks=blanks, points=2)
    half = ClozeItem(id="half", type="cloze", location=HERE, stem="Paris is in {{c}}.", blanks=blanks[:1], points=0.5)
    data, result = export(mem_bank(changed, kept, half))
    assert not result.skipped
    weights = {qid: [w for w, _, _ in parse_cloze(text(q, "questiontext"))] for qid, q in questions(data).items()}
    assert weights == {"two-blanks": [1, 1], "two-points": [1, 1], "half": [1]}
    notes = [n for n in result.notes if "cloze" in n]
    assert len(notes) == 1 and "2 item(s)" in notes[0]
    assert "two-blanks (1 -> 2)" in notes[0] and "half (0.5 -> 1)" in notes[0] and "two-points" not in notes[0]


def test_cloze_answer_that_moodle_cannot_end_is_skipped_with_a_reason():
    item = ClozeItem(
        id="c", type="cloze", location=HERE, stem="A {{x}}.", blanks=(Blank(name="x", kind="text", answers=("R&",)),)
    )
    data, result = export(mem_bank(item))
    assert result.skipped and result.skipped[0][0] == "c" and "'&'" in result.skipped[0][1]
    assert "c" not in questions(data)


# --- grades and validation --------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 21))
def test_split_hundred_uses_listed_grades_that_moodle_accepts(n):
    split = split_hundred(n)
    assert split is not None and len(split) == n
    assert all(g in MOODLE_GRADES for g in split)
    # qtype_multichoice rounds the sum of positive fractions to 2 decimals and wants exactly 1.
    assert round(sum(split) / 100, 2) == 1.0
    assert abs(sum(split) - 100) <= 0.01


def test_fractions_make_ticking_everything_score_zero():
    for n_correct in range(1, 8):
        for n_wrong in range(1, 25):
            f = moodle_fractions(n_correct, n_wrong, "partial")
            assert f is not None
            assert sum(f.correct) + sum(f.wrong) <= 0.01  # Moodle floors a negative total at 0
            assert all(-w in MOODLE_GRADES for w in f.wrong)
    assert moodle_fractions(21, 1) is None


def test_validation_reports_ib221_for_an_item_moodle_cannot_score(tmp_path):
    opts = "\n".join(f"  - {{id: o{i}, text: Option {i}, correct: true}}" for i in range(21))
    (tmp_path / "mr.yaml").write_text(f"id: mr\ntype: multiple_response\nstem: Pick all.\noptions:\n{opts}\n  - {{id: w, text: Wrong, feedback: No.}}\n")
    codes = [p.code for p in check_bank(tmp_path).problems]
    assert "IB221" in codes
    (tmp_path / "mr.yaml").write_text(
        "id: mr\ntype: multiple_response\nstem: Pick all.\noptions:\n"
        + "\n".join(f"  - {{id: o{i}, text: Option {i}, correct: true}}" for i in range(11))
        + "\n  - {id: w, text: Wrong, feedback: No.}\n"
    )
    assert "IB221" not in [p.code for p in check_bank(tmp_path).problems]


# --- determinism, golden, CLI -----------------------------------------------------------------


def test_output_is_deterministic(all_types_bank):
    assert export(all_types_bank)[0] == export(all_types_bank)[0]


def test_seed_bank_matches_the_reviewed_golden_file(seed_bank):
    data, result = export(seed_bank)
    assert not result.skipped
    assert data == GOLDEN.read_bytes(), "export changed: review the diff, then refresh (see module docstring)"


def test_cli_writes_the_file_atomically(tmp_path, all_types_bank):
    out = tmp_path / "dist" / "moodle.xml"
    run = subprocess.run(
        [sys.executable, "-m", "itembank.cli", "export", "moodle", "--bank", str(ROOT / "tests/banks/all-types"), "-o", str(out)],
        check=False, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "13 items written" in run.stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ["moodle.xml"]  # no temporary file left behind
    assert out.read_bytes() == export(all_types_bank)[0]  # the CLI writes exactly what the exporter produced


def test_cli_reports_a_missing_bank_without_a_traceback(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "itembank.cli", "export", "moodle", "--bank", str(tmp_path / "nope"), "-o", str(tmp_path / "m.xml")],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode != 0 and "Traceback" not in run.stderr and "does not exist" in run.stderr


# --- property: any text survives --------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Co"), blacklist_characters="\ufffe\uffff") | st.sampled_from("<&]]>{}~#=:\n"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip())


def literal_markdown(s: str) -> str:
    """Markdown whose rendering is the text itself: ASCII punctuation backslash-escaped, no indents."""
    lines = [re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", line.strip()) for line in s.split("\n")]
    return "\n".join(lines)


def words(html: str) -> list[str]:
    return lxml.html.fragment_fromstring(html, create_parent="div").text_content().split() if html else []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stem=_TEXT, option=_TEXT, feedback=_TEXT, title=_TEXT)
def test_any_text_survives_and_reads_back_equal(stem, option, feedback, title):
    renderer = Renderer()
    item = ChoiceItem(
        id="p", type="multiple_choice", location=HERE, title=title.replace("\n", " ").strip(), stem=literal_markdown(stem),
        rationale=literal_markdown(feedback),
        options=(Option(id="a", text=literal_markdown(option), correct=True, feedback=literal_markdown(feedback)),
                 Option(id="b", text="other", feedback="no")),
    )  # fmt: skip
    tf = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=False, false_feedback=literal_markdown(feedback))
    data = moodle.exporter.export(mem_bank(item, tf, title=title.strip()), ExportContext(renderer=renderer)).data
    qs = questions(data)
    q = qs["p"]
    assert text(q, "name") == item.title
    assert text(q, "questiontext") == renderer.html(item.stem)
    assert words(text(q, "questiontext")) == stem.split()
    (a, _b) = q.iterfind("answer")
    assert text(a, ".") == renderer.inline_html(item.options[0].text)
    assert words(text(a, ".")) == option.split()
    assert words(text(a, "feedback")) == feedback.split()
    assert words(text(q, "generalfeedback")) == feedback.split()
    false_answer = next(x for x in qs["t"].iterfind("answer") if text(x, ".") == "false")
    assert words(text(false_answer, "feedback")) == feedback.split()


def test_cdata_terminator_in_any_field_round_trips():
    item = ShortAnswerItem(
        id="cd", type="short_answer", location=HERE, title="a ]]> b", stem="Is `x]]>y` or x]]>y ok?",
        answers=("p]]>q",), rationale="r ]]> s",
    )  # fmt: skip
    data, _ = export(mem_bank(item))
    q = questions(data)["cd"]  # lxml parses it: no CDATA section was broken
    assert text(q, "name") == "a ]]> b"
    assert answers(q)[0][1] == "p]]>q"
    assert words(text(q, "questiontext")) == ["Is", "x]]>y", "or", "x]]>y", "ok?"]
    assert words(text(q, "generalfeedback")) == ["r", "]]>", "s"]


# --- category paths: what Moodle's split_category_path gives back ---------------------------------


def moodle_split_category_path(path: str) -> list[str]:
    """qformat_default::split_category_path (Moodle 4.5): split at each '/' with no '/' either side,
    '//' -> '/', PHP trim() (PARAM_TEXT's tag stripping is left out: the topics below hold no '<')."""
    return [raw.replace("//", "/").strip(" \t\n\r\0\x0b") for raw in re.split(r"(?<!/)/(?!/)", path)]


def category_paths(data: bytes) -> list[str]:
    return [text(q, "category") for q in etree.fromstring(data).iterfind("question") if q.get("type") == "category"]


_TOPIC = st.text(alphabet=st.sampled_from("/ab \\:&"), min_size=1, max_size=12).filter(
    lambda s: s == s.strip(" \t\n\r\0\x0b") and s != "")


@pytest.mark.parametrize("topic", ["A/", "/A", "/", "//", "A//B", "a / b", "x///", "/ and / /", "C:\\new"])
def test_category_path_gives_back_the_topic_as_moodle_splits_it(topic):
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=topic)
    data, result = export(mem_bank(item, title="Bank/"))
    assert [moodle_split_category_path(p) for p in category_paths(data)] == [["$course$", "Bank/", topic]]
    assert not any("trims" in n for n in result.notes)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=_TOPIC, title=_TOPIC)
def test_any_topic_is_one_category_name_moodle_gives_back(topic, title):
    from itembank.importers.kit.categories import category_names

    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=topic)
    data, _ = export(mem_bank(item, title=title))
    (path,) = category_paths(data)
    assert moodle_split_category_path(path) == ["$course$", title, topic]
    assert category_names(path)[-1] == topic  # our importer's mirror of it agrees


def test_a_topic_moodle_trims_is_said_in_a_note():
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=" padded ")
    data, result = export(mem_bank(item))
    assert moodle_split_category_path(category_paths(data)[0])[-1] == "padded"
    assert any("' padded '" in n and "trims" in n for n in result.notes)


@pytest.mark.parametrize("topic", ["Pros---cons", "a--b", "--", "-", "x-", "-x-", "a----b", "pre-- \n--post"])
def test_a_topic_with_hyphens_is_named_in_its_categorys_comment(topic):
    """The comment before a category names its topic; XML allows no "--" in a comment (a topic
    with "---" stopped the export with lxml's ValueError)."""
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=topic)
    data, _ = export(mem_bank(item))
    (comment,) = [c.text for c in etree.fromstring(data).iter(etree.Comment) if "topic:" in (c.text or "")]
    assert "--" not in comment and not comment.endswith("-")
    assert comment.replace(" ", "") == "topic:" + topic.replace(" ", "").replace("\n", "")  # the topic's hyphens and words, spaced
    assert moodle_split_category_path(category_paths(data)[0])[-1] == topic.strip()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=st.text(alphabet=st.sampled_from("-a \n"), min_size=1, max_size=12).filter(lambda s: s.strip(" \t\n\r\0\x0b") != ""))
def test_any_topic_of_hyphens_exports(topic):
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=topic)
    data, _ = export(mem_bank(item))
    assert [c.text.count("-") for c in etree.fromstring(data).iter(etree.Comment) if "topic:" in (c.text or "")] == [topic.count("-")]
