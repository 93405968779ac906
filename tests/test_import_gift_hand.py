"""GIFT as teachers write it by hand, read as Moodle's qformat_gift reads it: what Moodle would
lose or misread is a skipped question or a note naming it, never a silent change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from itembank.importers.base import ImportContext, ReadResult
from itembank.importers.gift import importer
from itembank.importers.kit.ids import IdAllocator
from itembank.importers.kit.media import MediaStore


def read(tmp_path: Path, text: str) -> ReadResult:
    src = tmp_path / "hand.gift"
    src.write_text(text, encoding="utf-8")
    return importer.read(src, ImportContext(ids=IdAllocator(), media=MediaStore()))


def by_title(result: ReadResult) -> dict[str, Any]:
    return {i.data.get("title"): i for i in result.items}


def test_a_question_without_a_blank_line_before_it_is_not_swallowed(tmp_path: Path) -> None:
    """Two questions with no blank line between are one block for Moodle, which reads the first
    {...} only: the second question ('::Q2::Second{F}') ended up, raw, in the first one's stem and was
    lost without a word.  Now the block is skipped, saying where the second answers start."""
    result = read(tmp_path, "::Q1::First{T}\n::Q2::Second{F}\n\n::Q3::Third{=a ~b}\n// a comment\n::Q4::Fourth{T}\n\n"
                            "::Q5::The {=cat ~dog} sat on the mat.\n")
    assert [i.data["title"] for i in result.items] == ["Q5"]
    assert [(s.ident, s.origin) for s in result.skipped] == [("Q1", f"{tmp_path / 'hand.gift'}:1"), ("Q3", f"{tmp_path / 'hand.gift'}:4")]
    assert "second answer block '{' on line 2" in result.skipped[0].reason and "blank line" in result.skipped[0].reason
    assert "on line 6" in result.skipped[1].reason


def test_a_question_right_after_a_category_line_is_read_and_the_topic_kept_clean(tmp_path: Path) -> None:
    """'$CATEGORY: a/b' with the first question on the next line (no blank line): the whole block was
    taken for the category, so that question was lost without a word and every later item got the
    topic 'Algebra\\n::Glued::Question...{T}'.  Now the first line is the category, the question is
    read (noted: Moodle would lose it), and the topics are the category's last part."""
    result = read(tmp_path, "$CATEGORY: top/Maths/Algebra\n// [tag:easy]\n::Glued::Right after the category line{T}\n\n"
                            "::Next::Another{F}\n")
    items = by_title(result)
    assert sorted(items) == ["Glued", "Next"] and not result.skipped
    assert {i.data["topic"] for i in result.items} == {"Algebra"}
    glued = items["Glued"]
    assert glued.data["stem"] == "Right after the category line" and glued.data["answer"] is True
    assert glued.data["tags"] == ["easy"] and glued.origin.endswith(":3")
    assert any("'$CATEGORY: top/Maths/Algebra' with no blank line" in n and "lose this question" in n for n in glued.notes)
    assert items["Next"].notes == []


def test_true_false_in_lower_case_is_a_short_answer_and_says_so(tmp_path: Path) -> None:
    """Moodle tells true/false by T, TRUE, F or FALSE in capitals: '{true}' is a short answer whose
    answer is the word 'true' (students type it).  It was imported so without a word."""
    result = read(tmp_path, "::Low::Is it?{true}\n\n::Mixed::Is it?{False#No.}\n\n::Caps::Is it?{TRUE}\n\n::Word::Opposite of up?{=down}\n")
    items = by_title(result)
    assert items["Low"].data["type"] == "short_answer" and items["Low"].data["answers"] == ["true"]
    assert items["Low"].notes == ["{true} read as a short answer whose answer is 'true', as Moodle reads it: "
                                  "a true/false question is written {T}, {TRUE}, {F} or {FALSE}, in capitals"]
    assert items["Mixed"].data["answers"] == ["False"] and "{False} read as a short answer" in items["Mixed"].notes[0]
    assert items["Caps"].data["type"] == "true_false" and items["Caps"].notes == []
    assert items["Word"].notes == []


def test_penalties_and_wrong_answer_feedback_in_short_answer_and_numeric_are_noted(tmp_path: Path) -> None:
    """A short answer's or numeric's answer with a negative weight (=%-50%b) or a 0% answer with
    feedback (=%0%6#Too far) was dropped without a word (a positive partial weight was noted)."""
    result = read(tmp_path, "::SA::Q{=a =%-50%b =%0%c#Not c.}\n\n::NUM::N{#=5 =%-25%4 =%0%6#Too far.}\n")
    items = by_title(result)
    assert items["SA"].data["answers"] == ["a"]
    assert items["SA"].notes == ["answer 'b' worth -50% dropped (a short answer item scores a wrong answer 0)",
                                 "feedback for wrong answer 'c' dropped"]
    assert items["NUM"].data["answer"] == 5
    assert items["NUM"].notes == ["answer 4 worth -25% dropped (a numeric item scores a wrong answer 0)",
                                  "feedback for wrong answer 6 dropped"]


def test_a_title_without_its_closing_colons_is_question_text_without_them(tmp_path: Path) -> None:
    """'::Oops title text{T}': Moodle drops the leading '::' and reads the rest as the question; the
    stem was '::Oops title text', showing the GIFT syntax to students, without a word."""
    result = read(tmp_path, "::Oops, no closing colons. Is it?{T}\n")
    [item] = result.items
    assert item.data["stem"] == "Oops, no closing colons. Is it?" and "title" not in item.data
    assert item.notes == ["the title has no closing '::' (::title::): the text after '::' read as the question, as Moodle reads it"]


def test_auto_tells_gift_without_titles_categories_or_comments(tmp_path: Path) -> None:
    """A file of questions as Moodle's GIFT documentation writes them ('Who's buried in Grant's
    tomb?{~Grant =no one}', no '::title::', '$CATEGORY:' or '//') was 'cannot tell its format' for
    `import auto`, .gift or .txt alike."""
    from itembank.imports import sniff_format

    text = "Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}\n\nGrant is buried in Grant's tomb.{FALSE}\n"
    for name in ("quiz.gift", "quiz.txt"):
        src = tmp_path / name
        src.write_text(text, encoding="utf-8")
        assert sniff_format(src) == "gift"
    essay = tmp_path / "essay.txt"
    essay.write_text("Describe your summer.{}\n", encoding="utf-8")
    assert sniff_format(essay) == "gift"
    assert not importer.sniff(_written(tmp_path / "notes.txt", "A set {1, 2} and a dict {'a': 1}.\n"))
    assert not importer.sniff(_written(tmp_path / "aiken.txt", "What?\nA. yes\nB. no\nANSWER: A\n"))


def _written(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_several_equals_in_a_multiple_choice_say_the_scoring_changes(tmp_path: Path) -> None:
    """'{=Rome =Roma ~Milan}': for Moodle one answer is to be chosen and either key is fully right; a
    multiple response item asks for all its keys.  The note said only '2 answers marked = imported
    as multiple response', which hides that a student choosing Rome alone is now wrong."""
    [item] = read(tmp_path, "::Two keys::Capital of Italy?{=Rome =Roma ~Milan}\n").items
    assert item.data["type"] == "multiple_response"
    assert item.notes == ["2 answers marked = (a ('Rome'), b ('Roma')): Moodle takes any one of them as fully right; imported as "
                          "multiple response, which asks for all of them: make it a multiple choice with one key, or a short answer"]


def test_an_id_used_twice_is_said_to_be_taken_not_invalid(tmp_path: Path) -> None:
    """Two questions with '// [id:dup]': the second got 'dup-2' with the note "GIFT id 'dup' is not a
    valid item id", which sent the teacher looking for a wrong character."""
    result = read(tmp_path, "// [id:dup]\n::D1::Q{T}\n\n// [id:dup]\n::D2::Q{F}\n\n// [id:Bad Id!]\n::B::Q{T}\n\n// [id:UP]\n::U::Q{T}\n")
    items = by_title(result)
    assert items["D1"].data["id"] == "dup" and items["D1"].notes == []
    assert items["D2"].notes == ["GIFT id 'dup' is the id of an earlier question in this import; the item's id is 'dup-2'"]
    assert items["B"].notes == [f"GIFT id 'Bad Id!' is not a valid item id; the item's id is {items['B'].data['id']!r}"]
    assert items["U"].data["id"] == "up" and items["U"].notes == ["GIFT id 'UP' is not a valid item id; the item's id is 'up'"]


def test_a_title_too_long_is_cut_with_a_note(tmp_path: Path) -> None:
    """A ::title:: of more than 255 characters (a teacher pasting the question into it) was cut
    to 255 without a word."""
    [item] = read(tmp_path, "::" + "Why " * 80 + "::Why?{T}\n").items
    assert item.data["title"] == ("Why " * 80)[:255]
    assert item.notes == ["title of 319 characters cut to its first 255 (an item's title holds 255)"]


def test_a_weight_misplaced_or_misspelt_in_a_multiple_choice_is_noted(tmp_path: Path) -> None:
    """'=%50%a' (a weight after '=') and '~50%a' (without its first '%') are text for Moodle: the
    option read '%50%a' (a key) or '50%a' (worth 0) without a word.  Still read so, now noted with
    how a weight is written; answers that are percentages ('=50%', '~25% of them') are not."""
    result = read(tmp_path, "::EqW::Pick{=%50%a ~b}\n\n::NoPct::Pick{~50%a ~%50%b ~%50%c ~d}\n\n"
                            "::Share::What share?{=50% ~25% of them ~75%, roughly}\n")
    items = by_title(result)
    assert items["EqW"].data["options"][0] == {"id": "a", "text": "%50%a", "correct": True}
    assert items["EqW"].notes == ["option a reads '%50%a': after '=' (100%) a weight is text, as Moodle reads it; "
                                  "a partial weight is written ~%50%a"]
    assert items["NoPct"].data["options"][0] == {"id": "a", "text": "50%a"}
    assert items["NoPct"].notes[0] == ("option a reads '50%a', a weight without its first '%', read as text (as Moodle reads it) "
                                       "worth 0%; a weight is written ~%50%a")
    assert items["Share"].notes == []


def test_answers_without_their_closing_brace_do_not_take_in_the_next_question(tmp_path: Path) -> None:
    """'::Q1::First {=a ~b' then '::Q2::Second{T}' on the next line: Moodle reads up to the first
    '}', so option b was 'b ::Q2::Second{T' and Q2 was lost without a word.  Now skipped, naming
    the line of the second '{'; escaped braces in the text still read."""
    result = read(tmp_path, "::Q1::First {=a ~b\n::Q2::Second{T}\n\n::Q3::Set \\{1\\} {=a ~b}\n")
    assert [i.data["stem"] for i in result.items] == ["Set {1}"]
    [skipped] = result.skipped
    assert skipped.ident == "Q1" and "'{' on line 2 inside the answers" in skipped.reason and "closing '}'" in skipped.reason


def test_a_range_comes_back_as_a_range(tmp_path: Path) -> None:
    """A numeric range (1..5) was exported as '{#3:2}' and came back as answer 3, tolerance 2: the
    same interval in another form, so an update import rewrote a hand-written range.  GIFT has
    Moodle's '{#min..max}': the export writes it, and it reads back as the range."""
    from itembank import export, load_bank

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: Mine\n")
    (bank / "r.yaml").write_text("id: r\ntype: numeric\ntopic: t\nstem: Between -0.5 and 2.25?\nrange: {min: -0.5, max: 2.25}\n")
    data = (export(load_bank(bank), "gift").data or b"").decode()
    assert "#-0.5..2.25" in data
    [item] = read(tmp_path, data).items
    assert item.data["range"] == {"min": -0.5, "max": 2.25} and "answer" not in item.data


def test_a_decimal_comma_in_a_numeric_answer_is_named(tmp_path: Path) -> None:
    """'{#1,5:0,1}' (a decimal comma, as many teachers write numbers) is refused by Moodle too; the
    reason said only "is not value:tolerance", which the teacher reads as a wrong separator."""
    result = read(tmp_path, "::C1::Q{#1,5:0,1}\n\n::C2::Q{#1,5..2,5}\n\n::C3::Q{#2,5}\n\n::X::Q{#abc}\n")
    reasons = {s.ident: s.reason for s in result.skipped}
    assert reasons["C1"] == "numerical answer '1,5:0,1' is not value:tolerance: write decimals with a point (1.5:0.1), as Moodle reads them"
    assert reasons["C2"].endswith("(1.5..2.5), as Moodle reads them") and reasons["C3"].endswith("(2.5), as Moodle reads them")
    assert reasons["X"] == "numerical answer 'abc' is not a number (Moodle would import it as '*', which takes any response as right)"


def test_a_titled_question_without_text_takes_its_title_as_the_stem(tmp_path: Path) -> None:
    """'::T::{#5}' (the question written in the title, nothing before the answers) was skipped as
    "the question text is empty"; Moodle imports it, with an empty question text.  An item needs a
    stem: the title is it, noted.  Without a title there is nothing to show: skipped, saying why."""
    result = read(tmp_path, "::T::{#5}\n\n::What is 2+3?::{#5}\n\n::E::[html]{}\n\n{#5}\n")
    items = by_title(result)
    assert items["T"].data["stem"] == "T" and items["T"].data["answer"] == 5
    assert items["T"].notes == ["no question text, only the title 'T': Moodle imports the question with an empty text (students "
                                "see the answers alone); an item needs a stem, so the title is also the stem"]
    assert items["What is 2+3?"].data["stem"] == "What is 2+3?" and items["E"].data["type"] == "essay"
    [skipped] = result.skipped
    assert skipped.origin.endswith(":7") and skipped.reason.startswith("the question text is empty (Moodle would import")


def test_a_category_path_keeps_its_last_name_and_says_its_parents_are_dropped(tmp_path: Path) -> None:
    """'$CATEGORY: a/b/c' makes Moodle's category tree a > b > c; the items got the topic 'c' and the
    parents were dropped without a word.  A doubled '//' is a '/' inside a name for Moodle
    ('Input//Output' is one category, 'Input/Output'): it was split, the topic 'Output'."""
    result = read(tmp_path, "$CATEGORY: a/b/c\n\n::B::y{T}\n\n::C::z{T}\n\n$CATEGORY: $course$/top/Input//Output\n\n::A::x{T}\n\n"
                            "$CATEGORY: Solo\n\n::S::s{T}\n")
    assert {i.data["title"]: i.data["topic"] for i in result.items} == {"B": "c", "C": "c", "A": "Input/Output", "S": "Solo"}
    assert result.format_notes[1:] == ["$CATEGORY: a/b/c (line 1): Moodle makes the category tree a > b > c; its questions get "
                                       "the topic 'c' (an item has one topic: the parent categories 'a', 'b' are not kept)"]
    assert all(i.notes == [] for i in result.items)


def test_an_equals_sign_inside_a_feedback_is_named(tmp_path: Path) -> None:
    """'~wrong#because x = 2': Moodle starts a new answer worth 100% at every unescaped '=', so '2'
    became a key (and a question with no other '=' single-answer; a short answer accepted '2').
    Read so, as Moodle reads it, but without a word on where the key came from.  Now each such
    answer is named with the feedback it was cut from; answers written '=b' after a feedback are not."""
    result = read(tmp_path, "::MC::Pick{=right ~wrong#because x = 2 ~other}\n\n::MR::Pick{~%50%a#note x=2 ~%50%b ~c}\n\n"
                            "::SA::What is x?{=4#since x = 2}\n\n::NUM::What is x?{#4#since y = 2}\n\n"
                            "::OK::Pick{=a#good =b#fine ~c}\n\n::OK2::Q {#\n  =1822:0 # Correct!\n  =%50%1822:2 # Close.\n}\n")
    items = by_title(result)
    assert [o["text"] for o in items["MC"].data["options"]] == ["right", "wrong", "2", "other"]
    assert items["MC"].notes[0] == ("option c ('2') comes from the '=' in the feedback of option b ('because x = 2'): Moodle starts "
                                    "a new answer worth 100% at every '=' not escaped, as read here; if the '=' belongs to the "
                                    "feedback, write it \\=")
    assert items["MR"].data["type"] == "multiple_choice"
    assert any("option b ('2') comes from the '=' in the feedback of option a ('note x=2')" in n
               and "as the only '=', it makes the question single-answer" in n for n in items["MR"].notes)
    assert items["SA"].data["answers"] == ["4", "2"]
    assert items["SA"].notes[0].startswith("answer '2' comes from the '=' in the feedback of answer '4' ('since x = 2')")
    assert "so it is an accepted answer here too" in items["SA"].notes[0]
    assert items["NUM"].notes[0].startswith("answer '2' comes from the '=' in the feedback of answer '4' ('since y = 2')")
    assert not any("comes from the '='" in n for t in ("OK", "OK2") for n in items[t].notes)


def test_a_less_than_sign_in_html_or_moodle_text_is_text(tmp_path: Path) -> None:
    """'Is a<b?' in a [moodle] (the default) or [html] text lost everything from '<': the HTML parser
    took '<b?' for a tag, so the stem read 'Is a'.  A '<' that begins no tag is text now, in stems,
    options, feedback and short answers; real tags still count; the export gives the same text back."""
    from itembank import export, load_bank
    from itembank.imports import run_import

    src = tmp_path / "lt.gift"
    src.write_text("::M::[moodle]Is a<b? {T}\n\n::H::[html]Is a<b and 3 <5? <b>Yes</b>{T}\n\n::P::[plain]Is a<b? {T}\n\n"
                   "::D::Is x<y?{=x<y#since x<y ~y<x#no: x<y}\n\n::S::Write a<b{=a<b}\n\n::G::Q{T####as a<b}\n", encoding="utf-8")
    bank = tmp_path / "bank"
    run_import([str(src)], str(bank), fmt="gift", layout="item", on_conflict="error", status=None, dry_run=False)
    items = {i.title: i for i in load_bank(bank).items}
    assert items["M"].stem == items["P"].stem == "Is a\\<b?"
    assert items["H"].stem == "Is a\\<b and 3 \\<5? **Yes**"
    assert [(o.text, o.feedback) for o in items["D"].options] == [("x\\<y", "since x\\<y"), ("y\\<x", "no: x\\<y")]
    assert list(items["S"].answers) == ["a<b"] and items["G"].rationale == "as a\\<b"
    data = export(load_bank(bank), "gift").data or b""
    back = tmp_path / "back"
    (tmp_path / "again.gift").write_bytes(data)
    run_import([str(tmp_path / "again.gift")], str(back), fmt="gift", layout="item", on_conflict="error", status=None, dry_run=False)
    again = {i.title: i for i in load_bank(back).items}
    for title, item in items.items():
        assert (again[title].stem, again[title].rationale) == (item.stem, item.rationale), title
    assert [(o.text, o.feedback) for o in again["D"].options] == [(o.text, o.feedback) for o in items["D"].options]
    assert list(again["S"].answers) == ["a<b"]


def test_an_end_of_line_comment_and_a_trailing_backslash_are_named(tmp_path: Path) -> None:
    """'~3 // a wrong one' and 'What? // easy': Moodle's comments are whole lines ('//' first), so the
    option read '3 // a wrong one', shown to students, without a word; a '\\' at the end of a line
    (a line continuation elsewhere) is text and the line break stays.  Read as Moodle reads them,
    now noted; 'http://' and an escaped backslash ('\\\\') are not."""
    result = read(tmp_path, "::Cmt::What is 2+2? // easy\n{\n  =4\n  ~3 // a wrong one\n}\n\n"
                            "::BS::A line ending in a backslash \\\nand the next {T}\n\n"
                            "::OK::See http://example.org and C:\\\\\nthe next line {T}\n")
    items = by_title(result)
    assert [o["text"] for o in items["Cmt"].data["options"]] == ["4", "3 // a wrong one"]
    assert items["Cmt"].data["stem"] == "What is 2+2? // easy"
    assert items["Cmt"].notes == [
        "'// easy' on line 1 is text for Moodle, not a comment (a comment is a line that starts with '//'): read as text",
        "'// a wrong one' on line 4 is text for Moodle, not a comment (a comment is a line that starts with '//'): read as text"]
    assert items["BS"].data["stem"] == "A line ending in a backslash \\\\\\\nand the next"
    assert items["BS"].notes == ["line 7 ends with '\\': GIFT has no line continuation, so the backslash is text and the line "
                                 "break is kept, as Moodle reads them"]
    assert items["OK"].notes == []


def test_a_blank_line_inside_the_answers_is_named(tmp_path: Path) -> None:
    """'::Q::What?{' then '=a', a blank line, '~b', '}' (answers spaced out for reading): a blank line
    ends a question, so Moodle refuses both halves (no '}', no '{').  Both were reported as
    "unbalanced braces" (the braces are balanced, to the writer's eye), the second half under its
    line number only.  Now the question says where the blank line is, and each later piece whose
    question it is; a question that never closes its answers is reported as before."""
    result = read(tmp_path, "::Q::What?\n{\n=a\n\n~b\n\n~c\n}\n\n::Next::Fine {T}\n\n::Open::Never closed {=a ~b\n\n::After::Fine too {T}\n")
    assert [i.data["title"] for i in result.items] == ["Next", "After"]
    assert [(s.ident, s.origin.rsplit(":", 1)[1], s.reason) for s in result.skipped] == [
        ("Q", "1", "a blank line after line 3 inside its answers: a blank line ends a question, so Moodle reads this one without "
                   "its closing '}' and refuses it, and the lines after the blank line too; remove the blank line(s) inside the braces"),
        ("line 5", "5", "the rest of question 'Q' (line 1), after a blank line inside its answers (see there)"),
        ("line 7", "7", "the rest of question 'Q' (line 1), after a blank line inside its answers (see there)"),
        ("Open", "12", "unbalanced braces: the answers need { and } (escape literal ones as \\{ \\})")]


def test_a_numeric_answer_moodle_does_not_take_for_a_number_is_skipped_saying_what_moodle_makes_of_it(tmp_path: Path) -> None:
    """'{#1_000}' (or digits of another script, '{#٣}') imported as 1000 (3): Python's float() reads
    them, PHP's is_numeric, Moodle's test, does not.  And for an answer that is not a number Moodle
    sets '*' (format.php: ``is_numeric($ans) || $ans = '*'``), which takes any response as right: the
    reason now says so.  A value whose tolerance is not a number either is refused by Moodle."""
    result = read(tmp_path, "::U::N {#1_000}\n\n::A::N {#٣}\n\n::T::N {#abc:1}\n\n::OK::N {#1e3:.5}\n\n::R::N {#-.5..+2.}\n")
    items = by_title(result)
    assert (items["OK"].data["answer"], items["OK"].data["tolerance"]) == (1000, 0.5)
    assert items["R"].data["range"] == {"min": -0.5, "max": 2}
    reasons = {s.ident: s.reason for s in result.skipped}
    anything = " (Moodle would import it as '*', which takes any response as right)"
    assert reasons == {"U": "numerical answer '1_000' is not a number" + anything,
                       "A": "numerical answer '٣' is not a number" + anything,
                       "T": "numerical answer 'abc:1' is not value:tolerance" + anything}


def test_a_category_path_is_noted_once_however_often_the_file_comes_back_to_it(tmp_path: Path) -> None:
    """The note on a category's parents was said again each time the file switched back to the
    category (the same path, or written with Moodle's context and top); now once per category.  A
    single parent is named as one."""
    result = read(tmp_path, "$CATEGORY: a/b\n\n::B::y{T}\n\n$CATEGORY: x\n\n::X::x{T}\n\n$CATEGORY: $course$/top/a/b\n\n::C::z{T}\n")
    assert {i.data["title"]: i.data["topic"] for i in result.items} == {"B": "b", "X": "x", "C": "b"}
    assert result.format_notes[1:] == ["$CATEGORY: a/b (line 1): Moodle makes the category tree a > b; its questions get "
                                       "the topic 'b' (an item has one topic: the parent category 'a' is not kept)"]


def test_matching_answers_are_read_as_moodle_shows_them(tmp_path: Path) -> None:
    """Moodle shows a match answer through format_string: tags stripped, entities decoded.  Our
    exports write them HTML-escaped for that ('a&lt;b'), which the reader kept as typed, so a match
    'a<b' came back '&lt;'-escaped; a hand-written '<b>x</b>' shows 'x', 'a < b' stays."""
    result = read(tmp_path, "::M::Match{\n=one -> a&lt;b\n=two -> R&amp;D\n=three -> <b>x</b>\n=four -> a < b\n= -> &amp;lt;\n}\n")
    data = by_title(result)["M"].data
    assert [p["match"] for p in data["pairs"]] == ["a<b", "R&D", "x", "a < b"]
    assert data["distractors"] == ["&lt;"]
