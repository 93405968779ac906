"""GIFT export, read back by a port of Moodle 4.x's GIFT importer (qformat_gift::readquestion).

``read_gift`` below follows qformat_gift step by step: blocks split on blank lines, ``//`` comment
lines (with ``[id:]`` and ``[tag:]``), ``escapedchar_pre``/``escapedchar_post`` placeholders, the
first ``{`` and ``}``, ``####`` general feedback, the ``[format]`` marker, and Moodle's order of
type detection (``{}`` essay, ``#`` numerical, ``~`` multichoice, ``=`` with ``->`` match, T/F,
else short answer).  What it reads is compared with the bank.

The golden file ``tests/golden/gift/seed.gift`` pins the complete GIFT export of the example bank
``items/``.  After reviewing a change, refresh it with:

    .venv/bin/itembank export gift --bank items -o tests/golden/gift/seed.gift
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from itembank.exporters.moodle import gift
from itembank import Bank
from itembank.formats import ExportContext
from itembank.model import BankConfig, ChoiceItem, MatchingItem, Option, Pair, ShortAnswerItem, SourceRef, TrueFalseItem
from itembank.render import Renderer
from test_moodle import format_string

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "gift" / "seed.gift"
HERE = SourceRef("mem.yaml")

# --- a port of qformat_gift's reader ------------------------------------------------------------

_ESCAPED = [("\\:", "&&058;"), ("\\#", "&&035;"), ("\\=", "&&061;"), ("\\{", "&&123;"), ("\\}", "&&125;"), ("\\~", "&&126;"), ("\\n", "&&010")]
_PLACEHOLDER_CHARS = {"&&058;": ":", "&&035;": "#", "&&061;": "=", "&&123;": "{", "&&125;": "}", "&&126;": "~", "&&010": "\n"}
_WEIGHT = re.compile(r"^%-*([0-9]{1,2})\.?([0-9]*)%")


def escapedchar_pre(s: str) -> str:
    s = s.replace("\\\\", "&&092;")
    for escaped, placeholder in _ESCAPED:
        s = s.replace(escaped, placeholder)
    return s.replace("&&092;", "\\")


def escapedchar_post(s: str) -> str:
    for placeholder, char in _PLACEHOLDER_CHARS.items():
        s = s.replace(placeholder, char)
    return s


def parse_text_with_format(s: str) -> tuple[str, str]:
    fmt = "html"
    if s.startswith("["):
        end = s.find("]")
        name = s[1:end]
        if name in ("html", "plain", "markdown", "moodle"):
            fmt, s = name, s[end + 1 :]
    return escapedchar_post(s).strip(), fmt


def weight_of(answer: str) -> tuple[float, str]:
    answer = answer[1:]
    end = answer.find("%")
    return float(answer[:end]) / 100, answer[end + 1 :]


def comment_split(answer: str) -> tuple[str, str]:
    """qformat_gift::commentparser: the answer, and the text after its first '#' (the feedback)."""
    if "#" in answer:
        head, tail = answer.split("#", 1)
        return head, parse_text_with_format(tail)[0]
    return answer, ""


@dataclass
class Question:
    qtype: str
    name: str
    text: str
    fmt: str
    generalfeedback: str = ""
    idnumber: str | None = None
    tags: list[str] = field(default_factory=list)
    answers: list[tuple[float, str, str]] = field(default_factory=list)  # fraction, text, feedback
    single: bool = True
    feedback_true: str = ""
    feedback_false: str = ""
    correct: bool | None = None
    tolerance: float = 0.0
    subquestions: list[tuple[str, str]] = field(default_factory=list)
    category: str | None = None
    ordering: tuple[str, ...] = ()  # qtype_ordering's settings: count, select, layout, grading, show, numbering


_ORDERING = re.compile(
    r"^\s*>\s*(\d+)\s*((?:ALL|EXACT|RANDOM|REL|CONTIGUOUS|CONTIG)?)\s*((?:HORIZONTAL|HORI|H|1|VERTICAL|VERT|V|0)?)\s*"
    r"((?:ALL_OR_NOTHING|ABSOLUTE_POSITION|ABSOLUTE|ABS|RELATIVE_NEXT_EXCLUDE_LAST|RELATIVE_NEXT_INCLUDE_LAST|"
    r"RELATIVE_ONE_PREVIOUS_AND_NEXT|RELATIVE_ALL_PREVIOUS_AND_NEXT|RELATIVE_TO_CORRECT|RELATIVE|RELLONGEST_ORDERED_SUBSET|"
    r"LONGEST_CONTIGUOUS_SUBSET)?)\s*((?:SHOW|TRUE|YES|1|HIDE|FALSE|NO|0)?)\s*((?:none|123|abc|ABCD|iii|IIII)?)\s*(.*?)\s*$",
    re.S,
)


def read_gift(data: str) -> list[Question]:
    """Questions (and categories, qtype 'category') in file order."""
    out: list[Question] = []
    for block in re.split(r"\n[ \t]*\n", data):
        lines, comments = [], ""
        for line in block.split("\n"):
            if line.strip().startswith("//"):
                comments += line.strip() + "\n"
            else:
                lines.append(line)
        text = "\n".join(lines).strip()
        if not text:
            continue
        text = escapedchar_pre(text)
        if text.startswith("$CATEGORY:"):
            out.append(Question("category", "", "", "", category=text[10:].strip()))
            continue
        idnumber = m.group(1).strip() if (m := re.search(r"\[id:\s*((?:\\]|[^\]])+)\s*\]", comments)) else None
        # qformat_gift::extract_idnumber_and_tags_from_comment: no '<', '>', '`' or control character, '\]' for ']'.
        tags = [t.strip().replace("\\]", "]") for t in re.findall(r"\[tag:((?:\\\]|[^\]<>`\x00-\x1f\x7f])+)\]", comments)]
        name = ""
        if text.startswith("::"):
            text = text[2:]
            end = text.find("::")
            name, text = escapedchar_post(text[:end]), text[end + 2 :].strip()
        start, finish = text.find("{"), text.find("}")
        assert start >= 0 and finish > start, f"GIFT brace error in {text!r}"
        answertext = text[start + 1 : finish].strip()
        questiontext = text[:start] + text[finish + 1 :]
        general = ""
        if (gf := answertext.rfind("####")) >= 0:
            general, answertext = answertext[gf + 4 :], answertext[:gf].strip()
        qtext, fmt = parse_text_with_format(questiontext)
        q = Question("", name, qtext, fmt, parse_text_with_format(general)[0], idnumber, tags)
        ordering = _ORDERING.match(answertext)
        if ordering is not None:
            # qtype_ordering's import_from_gift (plugins get the first try): the answer text as
            # escapedchar_pre left it (comment lines blanked above), one entry a line, never
            # escapedchar_post'ed; PHP's array_filter drops the blank lines, and "0" (falsy in PHP).
            q.qtype = "ordering"
            q.ordering = ordering.groups()[:6]
            entries = [line.strip() for line in re.split(r"[\r\n]+", ordering.group(7))]
            q.answers = [(float(i), entry, "") for i, entry in enumerate((e for e in entries if e not in ("", "0")), 1)]
        elif answertext == "":
            q.qtype = "essay"
        elif answertext.startswith("#"):
            q.qtype = "numerical"
            answer = answertext[1:].strip()
            if answer.find("..") > 0:  # [min]..[max]: their middle, and its distance to max
                low, high = (float(v) for v in answer.split("..", 1))
                middle = (high + low) / 2
                q.answers, q.tolerance = [(1.0, repr(middle), "")], high - middle
            else:
                value, _, tol = answer.partition(":")
                q.answers, q.tolerance = [(1.0, value.strip(), "")], float(tol or 0)
        elif "~" in answertext:
            q.qtype = "multichoice"
            q.single = "=" in answertext
            parts = answertext.replace("=", "~=").split("~")
            if not parts[0].strip():
                parts.pop(0)
            for part in parts:
                part = part.strip()
                if part.startswith("="):
                    fraction, part = 1.0, part[1:]
                elif _WEIGHT.match(part):
                    fraction, part = weight_of(part)
                else:
                    fraction = 0.0
                answer, feedback = comment_split(part)
                q.answers.append((fraction, parse_text_with_format(answer)[0], feedback))
        elif "=" in answertext and "->" in answertext:
            q.qtype = "match"
            parts = answertext.split("=")
            if not parts[0].strip():
                parts.pop(0)
            for part in parts:
                marker = part.find("->")
                q.subquestions.append((parse_text_with_format(part[:marker])[0], escapedchar_post(part[marker + 2 :]).strip()))
        else:
            check = answertext.split("#", 1)[0].strip() if "#" in answertext else answertext
            if check in ("T", "TRUE", "F", "FALSE"):
                q.qtype = "truefalse"
                _, comment = answertext.split("#", 1) if "#" in answertext else (answertext, "")
                wrong, _, right = comment.partition("#")
                wrong, right = parse_text_with_format(wrong)[0], parse_text_with_format(right)[0]
                q.correct = check in ("T", "TRUE")
                q.feedback_true, q.feedback_false = (right, wrong) if q.correct else (wrong, right)
            else:
                q.qtype = "shortanswer"
                parts = answertext.split("=")
                if not parts[0].strip():
                    parts.pop(0)
                for part in parts:
                    part = part.strip()
                    fraction = 1.0
                    if _WEIGHT.match(part):
                        fraction, part = weight_of(part)
                    answer, feedback = comment_split(part)
                    q.answers.append((fraction, escapedchar_post(answer).strip(), feedback))
        out.append(q)
    return out


# --- helpers ------------------------------------------------------------------------------------


def export(bank: Bank, renderer: Renderer | None = None) -> tuple[str, gift.ExportResult]:
    result = gift.exporter.export(bank, ExportContext(renderer=renderer or Renderer()))
    assert result.data is not None
    return result.data.decode("utf-8"), result


def by_id(data: str) -> dict[str, Question]:
    return {q.idnumber: q for q in read_gift(data) if q.qtype != "category"}


def mem_bank(*items: object, title: str = "Mem") -> Bank:
    return Bank(root=ROOT, config=BankConfig(title=title), items=tuple(items))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def all_types(all_types_bank: Bank) -> tuple[str, gift.ExportResult, dict[str, Question]]:
    data, result = export(all_types_bank)
    return data, result, by_id(data)


# --- structure ----------------------------------------------------------------------------------


def test_categories_per_topic_and_every_item_accounted_for(all_types, all_types_bank):
    data, result, qs = all_types
    cats = [q.category for q in read_gift(data) if q.qtype == "category"]
    assert cats == [f"$course$/All types/{t}" for t in all_types_bank.topics()]
    assert sum(result.written.values()) + len(result.skipped) == len(all_types_bank.items)
    assert len(qs) == sum(result.written.values())


def test_types_gift_cannot_express_are_skipped_with_reasons(all_types):
    _, result, qs = all_types
    reasons = dict(result.skipped)
    assert set(reasons) == {"at-mc", "at-cloze", "at-calc"}
    assert "image" in reasons["at-mc"] and "no cloze question type" in reasons["at-cloze"]  # (whatever its blanks: it said "several blanks" of a one-blank cloze too)
    assert "variables" in reasons["at-calc"] and "--expand-variants" in reasons["at-calc"]
    assert not set(reasons) & set(qs)


def test_ordering_is_written_for_moodles_ordering_question(all_types, all_types_bank):
    # issue 11 #4: qtype_ordering (core since Moodle 4.4) reads "{>N SELECT LAYOUT GRADING SHOW NUMBERING"
    # then one entry a line, with "####" general feedback read by GIFT itself.
    _, _, qs = all_types
    q = qs["at-order"]
    assert q.qtype == "ordering"
    assert q.ordering == ("4", "ALL", "VERTICAL", "ABSOLUTE_POSITION", "SHOW", "none")
    assert [a for _, a, _ in q.answers] == list(all_types_bank.by_id["at-order"].sequence)


def test_ordering_entries_gift_cannot_carry_skip_the_item():
    from itembank.model import OrderingItem

    bad = OrderingItem(id="o", type="ordering", location=HERE, stem="s", sequence=("a", "b } c", "d"))
    data, result = export(mem_bank(bad))
    assert [i for i, _ in result.skipped] == ["o"] and "'}'" in result.skipped[0][1]


def test_ordering_steps_are_plain_text_as_in_moodle_xml():
    """A step is plain text (itembank.fields): GIFT rendered it as Markdown (``*a*`` in italics,
    ``**x**`` bold, ``caf&eacute;`` "café") where the Moodle XML export writes it as typed."""
    from itembank.model import OrderingItem

    steps = ("x < y **bold**", "then *a* _b_", "Le caf&eacute; last")
    item = OrderingItem(id="o", type="ordering", location=HERE, stem="Order them.", sequence=steps)
    data, result = export(mem_bank(item))
    assert not result.skipped
    lines = data.split("{", 1)[1].split("}", 1)[0].strip().splitlines()[1:]
    assert lines == ["x &lt; y **bold**", "then *a* _b_", "Le caf&amp;eacute; last"]


def test_ordering_steps_moodle_would_drop_are_written_so_that_it_keeps_them():
    """qtype_ordering's GIFT import reads one entry a line after qformat_gift has blanked every line
    starting with '//' (a comment) and drops the entries PHP's array_filter finds false: a step
    '// read the input' (a Parsons problem) or '0' (numbers in order) vanished from the question.
    Their first character is written as an entity, which the ordering question shows as it."""
    from itembank.model import OrderingItem

    steps = ("// read the input", "0", "x = 0", "//")
    item = OrderingItem(id="o", type="ordering", location=HERE, stem="Order them.", sequence=steps)
    data, result = export(mem_bank(item))
    assert not result.skipped
    q = by_id(data)["o"]
    assert [_html.unescape(a) for _, a, _ in q.answers] == list(steps)

def test_points_gift_cannot_carry_are_a_note_or_with_strict_a_skip(all_types_bank):
    # issue 11 #3: GIFT has no mark syntax; Moodle imports every GIFT question worth 1.
    _, result = export(all_types_bank)
    notes = "\n".join(result.notes)
    assert "points" in notes and "at-num (2)" in notes and "at-essay (4)" in notes
    from itembank.formats import ExportContext, ExportOptions

    strict = gift.exporter.export(all_types_bank, ExportContext(renderer=Renderer(), options=ExportOptions(strict=True)))
    reasons = dict(strict.skipped)
    assert "at-num" in reasons and "worth 2 points" in reasons["at-num"]
    worth_one = {i.id for i in all_types_bank.items if i.points == 1}
    assert not worth_one & {i for i in reasons if "points" in reasons[i]}


def test_losses_are_reported_as_notes(all_types):
    _, result, _ = all_types
    notes = "\n".join(result.notes)
    assert "numeric units" in notes and "at-num" in notes
    assert "essay grader information" in notes and "at-essay" in notes


def test_name_idnumber_tags_and_format(all_types):
    _, _, qs = all_types
    q = qs["at-mr"]
    assert (q.name, q.fmt) == ("Pick the pre-training benefits", "html")
    assert q.tags == ["difficulty:hard", "topic:training", "status:draft"]
    assert q.text == "<p>Which are benefits of pre-training? Select all that apply.</p>"
    assert q.generalfeedback == "<p>Pre-training transfers general knowledge.</p>"


# --- per type -----------------------------------------------------------------------------------


def test_tags_are_written_as_moodle_reads_them_or_noted():
    """Moodle reads a [tag:...] without '<', '>', '`' or a control character, with ']' written '\\]'.
    A tag (an objective is one) holding ']' was left out with a note though '\\]' carries it; one
    holding '<', '>' or '`' ('objective:Solve x < 3', 'objective:Use `print()`') was written, and
    Moodle skipped it without a word.  Now ']' is escaped, the others noted."""
    item = ShortAnswerItem(
        id="t", type="short_answer", location=HERE, stem="s", answers=("a",),
        tags=("a]b", "tab\there"), objectives=("Solve x < 3", "Use `print()`", "plain"),
    )  # fmt: skip
    data, result = export(mem_bank(item))
    assert by_id(data)["t"].tags == ["a]b", "tab here", "objective:plain", "status:draft"]
    assert any("<" in note and "t" in note.split(": ")[-1].split(", ") for note in result.notes), result.notes

def test_multiple_response_weights(all_types):
    _, _, qs = all_types
    q = qs["at-mr"]
    assert q.qtype == "multichoice" and not q.single
    assert [(f, t) for f, t, _ in q.answers] == [
        (0.5, "Less task data needed"), (0.5, "Faster task training"),
        (-0.5, "Guaranteed perfect accuracy"), (-0.5, "No need for any data"),
    ]  # fmt: skip
    assert q.answers[2][2] == "<p>Nothing guarantees that.</p>"
    assert [f for f, _, _ in qs["at-mr-strict"].answers] == [0.5, 0.5, -1.0]


def test_multiple_choice_single_with_feedback():
    item = ChoiceItem(
        id="mc", type="multiple_choice", location=HERE, stem="Pick: a = b?",
        options=(Option(id="a", text="yes {x}", correct=True, feedback="Right: ~ok"), Option(id="b", text="%5% no", feedback="# wrong")),
    )  # fmt: skip
    q = by_id(export(mem_bank(item))[0])["mc"]
    assert q.qtype == "multichoice" and q.single
    assert q.text == "<p>Pick: a = b?</p>"
    assert q.answers == [(1.0, "yes {x}", "<p>Right: ~ok</p>"), (0.0, "%5% no", "<h1>wrong</h1>")]


def test_true_false_feedbacks(all_types):
    _, _, qs = all_types
    q = qs["at-tf"]
    assert q.qtype == "truefalse" and q.correct is True
    assert "that is what makes it fine-tuning" in q.feedback_true
    assert "training from scratch" in q.feedback_false


def test_short_answer(all_types):
    _, _, qs = all_types
    q = qs["at-sa"]
    assert q.qtype == "shortanswer"
    assert q.answers == [(1.0, "pre-training", ""), (1.0, "pretraining", "")]


def test_short_answer_specials_and_what_gift_cannot_say():
    ok = ShortAnswerItem(id="ok", type="short_answer", stem="x", location=HERE, answers=("a=b", "%50%", "c*"))
    case = ShortAnswerItem(id="case", type="short_answer", stem="x", location=HERE, answers=("A",), case_sensitive=True)
    arrow = ShortAnswerItem(id="arrow", type="short_answer", stem="x", location=HERE, answers=("a->b",))
    data, result = export(mem_bank(ok, case, arrow))
    assert by_id(data)["ok"].answers == [(1.0, "a=b", ""), (1.0, "%50%", ""), (1.0, "c\\*", "")]  # \* = literal star
    assert {i for i, _ in result.skipped} == {"case", "arrow"}


def test_numeric(all_types):
    _, _, qs = all_types
    assert (qs["at-num"].qtype, qs["at-num"].answers[0][1], qs["at-num"].tolerance) == ("numerical", "50000", 0.0)
    r = qs["at-num-range"]
    centre = float(r.answers[0][1])
    assert (centre - r.tolerance, centre + r.tolerance) == pytest.approx((0.001, 0.01))


def test_matching_with_extra_wrong_answer(all_types):
    _, _, qs = all_types
    assert qs["at-match"].qtype == "match"
    assert qs["at-match"].subquestions == [
        ("Pre-training", "Learns general patterns"),
        ("Fine-tuning", "Adapts to a task"),
        ("Evaluation", "Measures performance"),
        ("", "Deletes data"),
    ]


def test_essay_and_flashcard(all_types):
    _, _, qs = all_types
    assert qs["at-essay"].qtype == "essay"
    assert "Think about learning general skills first" in qs["at-essay"].generalfeedback  # hints kept
    card = qs["at-card"]
    assert card.qtype == "essay" and "Learning general patterns from a large dataset" in card.generalfeedback



def test_backslash_n_in_code_is_written_and_passes_the_audit():
    """C's ``printf("%d\n", x)`` in a code block: GIFT writes the backslash escaped (``\\n``), which
    Moodle reads back as a backslash and an "n", not a newline.  The audit read every ``\n`` of the
    output as GIFT's newline, ``\\n`` included, lost the "n" and refused the export ("a bug in
    itembank", nothing written) for any stem, option or feedback showing a ``\n`` in code."""
    from itembank import audit

    code = 'What prints?\n\n```c\nprintf("%d\\n", x); // C:\\\\new\n```'
    mc = ChoiceItem(
        id="c", type="multiple_choice", location=HERE, stem=code, rationale="A `\\n` is a newline.",
        options=(Option(id="a", text="`1\\n`", correct=True), Option(id="b", text="`\\\\n`", feedback="Two backslashes: `\\\\n`")),
    )  # fmt: skip
    renderer = Renderer()
    bank = mem_bank(mc)
    data, result = export(bank, renderer)
    q = by_id(data)["c"]
    assert 'printf("%d\\n", x); // C:\\\\new\n</code>' in q.text  # Moodle's reading: the backslashes as written
    assert [a[1] for a in q.answers] == ["<code>1\\n</code>", "<code>\\\\n</code>"]
    assert audit.audit("gift", bank, result, renderer) == []


def test_matching_answers_show_in_moodle_as_typed():
    """GIFT's match answers are stored as they stand (escapes undone) and shown through
    format_string, as from Moodle XML (test_moodle): '<=' showed as nothing, 'a<b' as 'a'."""
    from test_moodle import MARKUP_LIKE_MATCHES, format_string

    targets = MARKUP_LIKE_MATCHES
    item = MatchingItem(
        id="m", type="matching", location=HERE, stem="Match",
        pairs=tuple(Pair(prompt=f"p{n}", match=t) for n, t in enumerate(targets[:-1])), distractors=(targets[-1],),
    )  # fmt: skip
    data, _ = export(mem_bank(item))
    assert [format_string(answer) for _, answer in by_id(data)["m"].subquestions] == list(targets)


def test_matches_that_are_equal_numbers_stay_apart_in_moodle():
    """As from Moodle XML (test_moodle): '0.1' and '0.10' were one choice for qtype_match."""
    from test_moodle import NUMERIC_MATCHES, format_string, match_choices

    item = MatchingItem(
        id="m", type="matching", location=HERE, stem="Round",
        pairs=tuple(Pair(prompt=f"p{n}", match=t) for n, t in enumerate(NUMERIC_MATCHES[:-1])), distractors=(NUMERIC_MATCHES[-1],),
    )  # fmt: skip
    data, _ = export(mem_bank(item))
    choices = match_choices([answer for _, answer in by_id(data)["m"].subquestions])
    assert [format_string(c) for c in choices] == list(NUMERIC_MATCHES)

# --- determinism and golden ---------------------------------------------------------------------


def test_output_is_deterministic(all_types_bank):
    assert export(all_types_bank)[0] == export(all_types_bank)[0]


def test_seed_bank_matches_the_reviewed_golden_file(seed_bank):
    data, result = export(seed_bank)
    assert not result.skipped
    assert data.encode("utf-8") == GOLDEN.read_bytes(), "export changed: review the diff, then refresh (see module docstring)"
    assert len(by_id(data)) == len(seed_bank.items)


# --- property: any text survives ------------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Co"), blacklist_characters="\ufffe\uffff") | st.sampled_from("<&]]>{}~#=:\\\n"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip())


def literal_markdown(s: str) -> str:
    """Markdown whose rendering is the text itself: ASCII punctuation backslash-escaped, no indents."""
    return "\n".join(re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", line.strip()) for line in s.split("\n"))


def words(html: str) -> list[str]:
    return lxml.html.fragment_fromstring(html, create_parent="div").text_content().split() if html else []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stem=_TEXT, option=_TEXT, feedback=_TEXT, title=_TEXT, plain=_TEXT)
@example(stem="0", option="0", feedback="0", title="0", plain="<")  # (a random run's find: the match stored as "&lt;")
def test_any_text_survives_and_reads_back_equal(stem, option, feedback, title, plain):
    renderer = Renderer()
    name = title.replace("\n", " ").strip()
    mc = ChoiceItem(
        id="p", type="multiple_choice", location=HERE, title=name, stem=literal_markdown(stem), rationale=literal_markdown(feedback),
        options=(Option(id="a", text=literal_markdown(option), correct=True, feedback=literal_markdown(feedback)),
                 Option(id="b", text="other", feedback="no")),
    )  # fmt: skip
    tf = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=False, false_feedback=literal_markdown(feedback))
    answer = plain.replace("\n", " ").strip()
    sa = ShortAnswerItem(id="s", type="short_answer", location=HERE, stem="s", answers=(answer,))
    match = MatchingItem(
        id="m", type="matching", location=HERE, stem="m",
        pairs=(Pair(prompt=literal_markdown(option), match=answer), Pair(prompt="two", match="2")),
    )  # fmt: skip
    data, result = export(mem_bank(mc, tf, sa, match, title=title.strip()), renderer)
    qs = by_id(data)
    q = qs["p"]
    assert q.name == name
    assert q.text == renderer.html(mc.stem) and words(q.text) == stem.split()
    assert q.answers[0][1] == renderer.inline_html(mc.options[0].text) and words(q.answers[0][1]) == option.split()
    assert words(q.answers[0][2]) == feedback.split()
    assert words(q.generalfeedback) == feedback.split()
    assert words(qs["t"].feedback_false) == feedback.split()
    if "->" in answer:
        assert "s" in dict(result.skipped)
    else:
        assert qs["s"].answers[0][1].replace("\\*", "*") == answer
    # A match is stored as HTML text where Moodle's format_string would read it otherwise (a "<" at
    # its end starts a tag there: test_matching_answers_show_in_moodle_as_typed): what it shows is the answer.
    prompt, shown = qs["m"].subquestions[0]
    assert (prompt, format_string(shown)) == (renderer.inline_html(match.pairs[0].prompt), answer)


# --- the $CATEGORY: line: what Moodle's reader gives back ------------------------------------------


def moodle_split_category_path(path: str) -> list[str]:
    """qformat_default::split_category_path (Moodle 4.5), without PARAM_TEXT's tag stripping (no '<' here)."""
    return [raw.replace("//", "/").strip(" \t\n\r\0\x0b") for raw in re.split(r"(?<!/)/(?!/)", path)]


@pytest.mark.parametrize("topic", ["C:\\new", "a\\nb", "x\\\\y", "\\", "t\\:#={}~", "end\\", "A/", "/A", "a//b"])
def test_a_topic_with_backslashes_is_read_back_by_moodle_exactly(topic):
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=topic)
    data, _ = export(mem_bank(item, title="B"))
    (cat,) = [q.category for q in read_gift(data) if q.qtype == "category"]  # escapedchar_pre, no _post: as Moodle
    assert moodle_split_category_path(cat or "") == ["$course$", "B", topic]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=st.text(alphabet=st.sampled_from("/\\n:#={}~&a "), min_size=1, max_size=12).filter(
    lambda s: s == s.strip(" \t\n\r\0\x0b") and s != "" and "&&092;" not in s))
def test_any_topic_is_the_category_moodle_reads_from_the_gift_line(topic):
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=topic)
    data, _ = export(mem_bank(item, title="B"))
    (cat,) = [q.category for q in read_gift(data) if q.qtype == "category"]
    assert moodle_split_category_path(cat or "") == ["$course$", "B", topic]


def test_a_topic_moodle_cannot_read_back_from_the_gift_line_is_said():
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic="x&&092;y")
    _, result = export(mem_bank(item, title="B"))
    assert any("&&092;" in n for n in result.notes)


@pytest.mark.parametrize("topic", ["two\nlines", "a\n\nb", "a\n// not a comment", "x\r\ny  \n  z"])
def test_a_topic_with_a_line_break_stays_on_the_category_line_with_a_note(topic):
    """A topic is one YAML string and may hold a line break; written as it stood, the $CATEGORY: line
    ran on ('two' then 'lines' on the next line), a blank line ended the category's block (Moodle then
    read 'b' as a question without answers) and a line starting with '//' was a comment.  Each line
    break (with the spaces around it) is a space on the line, and a note says so."""
    item = TrueFalseItem(id="t", type="true_false", location=HERE, stem="s", answer=True, topic=topic)
    data, result = export(mem_bank(item, title="B"))
    (line,) = [ln for ln in data.splitlines() if ln.startswith("$CATEGORY:")]
    assert line == "$CATEGORY: $course$/B/" + " ".join(topic.split()).replace("/", "//")  # (a "/" in a name is doubled)
    assert [q.qtype for q in read_gift(data)] == ["category", "truefalse"]
    assert any("line break" in n and "$course$/B/" in n for n in result.notes)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from([*"ab ~=#{}:\\\n\r\t&<é%"]), max_size=40))
def test_escape_by_replacements_is_the_regular_expressions(text: str) -> None:
    """gift.escape's replacements (the backslash first) write what one substitution of every special
    character wrote, line breaks (CR LF, CR, LF) as ``\\n`` after it."""
    reference = gift._SPECIAL.sub(r"\\\1", text.replace("\r\n", "\n").replace("\r", "\n")).replace("\n", "\\n")
    assert gift.escape(text) == reference
