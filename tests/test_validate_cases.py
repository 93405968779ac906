"""Example folders turned into parametrised tests.

- ``cases/invalid/*``: one bad file each.  The expectation is the file's first line
  (``# expect: CODE [LINE] [ITEM-ID]``) or, for files that cannot hold a comment (binary, wrong
  encoding, empty, JSON), a sibling ``NAME.expect`` holding ``CODE [LINE] [ITEM-ID]``.
- ``cases/invalid-banks/*``: a folder that is invalid as a bank (ids across files, settings); its
  ``expect`` file holds ``FILE CODE [LINE] [ITEM-ID]``.
- ``cases/valid/*``: folders that must validate cleanly.

Each invalid case asserts the exit code (1), the rule code, the line and the item id of the report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from itembank.cache import CACHE_DIR
from itembank.cli import main

CASES = Path(__file__).parent / "cases"
_EXPECT = re.compile(r"^(IB\d{3})(?:\s+(\d+))?(?:\s+(\S+))?\s*$")


def _expectation(path: Path) -> tuple[str, int | None, str | None]:
    sidecar = path.with_name(path.name + ".expect")
    if sidecar.exists():
        spec = sidecar.read_text().strip()
    else:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# expect: "), f"{path.name} has no expectation line"
        spec = first[len("# expect: ") :]
    m = _EXPECT.match(spec)
    assert m, f"bad expectation {spec!r} in {path.name}"
    return m.group(1), int(m.group(2)) if m.group(2) else None, m.group(3)


#: (The check cache a run with ITEMBANK_NO_CACHE=0 writes into the folder is not a case.)
INVALID = sorted(p for p in (CASES / "invalid").iterdir() if not p.name.endswith(".expect") and p.name != CACHE_DIR)


def _run(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["validate", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


def test_there_are_at_least_thirty_invalid_cases() -> None:
    assert len(INVALID) >= 30


@pytest.mark.parametrize("case", INVALID, ids=[p.name for p in INVALID])
def test_invalid_file_is_reported_precisely(case: Path) -> None:
    code, line, item_id = _expectation(case)
    assert line is not None, f"{case.name}: every case states the line it expects"
    exit_code, report = _run(str(case), "--bank", str(case.parent))
    assert exit_code == 1
    assert report["ok"] is False
    matching = [p for p in report["problems"] if p["code"] == code]
    assert matching, f"expected {code}, got {[p['code'] for p in report['problems']]}"
    prob = matching[0]
    assert prob["file"].endswith(case.name)
    assert prob["severity"] == "error"
    assert prob["line"] == line, prob
    if item_id is not None:
        assert prob["item_id"] == item_id
    else:  # a file-level problem names no item
        assert prob["item_id"] is None or code in ("IB105",), prob


_BESIDE = [
    ("Call `df.head()`, then {{m}}.", []),
    ("`code`{{m}} right after code.", []),
    ("Solve $x = 2$: {{m}}.", []),
    ("**{{m}}** in bold, _{{n}}_ in italics.", []),
    ("See [the docs](https://example.org) and {{m}}.", []),
    ("![a plot](https://example.org/p.png) shows {{m}}.", []),
    ("Call `f({{m}})` now.", [("m", "inline code")]),
    ("```\n{{m}}\n```\n\nand {{n}}.", [("m", "a code block")]),
    ("$$\n{{m}}\n$$", [("m", "math")]),
    ("[go {{m}}](https://example.org)", [("m", "a link's text")]),
    ("[go](https://example.org/{{m}}) and {{n}}", [("m", "the address or title of a link")]),
    ("![x {{m}}](https://example.org/p.png \"{{n}}\")", [("n", "the address or title of an image"), ("m", "an image's description")]),
    ("[**{{m}}**](https://example.org) and {{n}}", [("m", "a link's text")]),
    # Names whose underscores Markdown would read as emphasis: read whole, as every exporter reads them.
    ("{{_x}} and {{y_}} in prose, {{_a_}} too.", []),
    ("[go {{_x}} and {{y_}}](https://example.org)", [("_x", "a link's text"), ("y_", "a link's text")]),
    ("`f({{_x}}, {{y_}})` and {{a_b_c}}", [("_x", "inline code"), ("y_", "inline code")]),
]


@pytest.mark.parametrize("stem,refused", _BESIDE, ids=[s for s, _ in _BESIDE])
def test_a_cloze_blank_beside_code_math_or_links_is_fine_inside_them_it_is_refused(stem: str, refused: list[tuple[str, str]]) -> None:
    """IB225: a placeholder where no answer field can go (code, math, an image, a link) is refused; one
    beside them (or in emphasis) is a blank like any other."""
    from itembank.rules import cloze_blanks
    from itembank.model import placeholder_names

    names = dict.fromkeys(placeholder_names(stem))
    item = {"type": "cloze", "stem": stem, "blanks": {name: {"answers": ["x"]} for name in names}}
    found = [(path, code, message) for path, code, message in cloze_blanks(item, None) if code == "IB225"]  # type: ignore[arg-type]
    assert [(m.split("{{")[1].split("}}")[0], m.split("stands in ")[1].split(", where")[0]) for _, _, m in found] == refused
    assert all(path == ("stem",) for path, _, _ in found)


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    big.write_text("stem: '" + "x" * (6 * 1024 * 1024) + "'\n")
    exit_code, report = _run(str(big), "--bank", str(tmp_path))
    assert exit_code == 1
    assert [p["code"] for p in report["problems"]] == ["IB001"]


BANKS = sorted(p for p in (CASES / "invalid-banks").iterdir() if p.is_dir())


@pytest.mark.parametrize("bank", BANKS, ids=[p.name for p in BANKS])
def test_invalid_bank_is_reported_precisely(bank: Path) -> None:
    fname, code, *rest = (bank / "expect").read_text().split()
    line = int(rest[0]) if rest else None
    item_id = rest[1] if len(rest) > 1 else None
    exit_code, report = _run("--bank", str(bank))
    assert exit_code == 1
    prob = next(p for p in report["problems"] if p["code"] == code)
    assert prob["file"].endswith(fname)
    if line is not None:
        assert prob["line"] == line
    if item_id is not None:
        assert prob["item_id"] == item_id


VALID = sorted(p for p in (CASES / "valid").iterdir() if p.is_dir())


@pytest.mark.parametrize("bank", VALID, ids=[p.name for p in VALID])
def test_valid_bank_passes_strict(bank: Path) -> None:
    exit_code, report = _run("--bank", str(bank), "--strict")
    assert report["problems"] == []
    assert exit_code == 0
    assert report["items"] >= 1


def test_every_problem_of_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "two.yaml").write_text(
        "items:\n"
        "  - {id: a1, type: numeric, stem: x, answer: 1, tolerance: -1}\n"
        "  - {id: a2, type: cloze, stem: 'x {{b}}', blanks: {c: {answers: [y]}}}\n"
    )
    (tmp_path / "three.yaml").write_text("id: a1\ntype: flashcard\nstem: s\nanswer: t\n")
    exit_code, report = _run("--bank", str(tmp_path))
    codes = sorted(p["code"] for p in report["problems"])
    assert exit_code == 1
    assert codes == ["IB201", "IB206", "IB208", "IB209"]


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    (tmp_path / "essay.yaml").write_text("id: e1\ntype: essay\nstem: Write.\n")
    code, report = _run("--bank", str(tmp_path))
    assert code == 0 and report["warnings"] == 1
    assert report["problems"][0]["code"] == "IB303"
    code, _ = _run("--bank", str(tmp_path), "--strict")
    assert code == 1


def test_relaxed_policy_allows_wrong_options_without_feedback() -> None:
    code, report = _run("--bank", str(CASES / "valid" / "relaxed-policy"))
    assert code == 0, report
    # The same item in a bank with the default policy is an IB203 error.
    strict_code, strict_report = _run(str(CASES / "valid" / "relaxed-policy" / "mc.yaml"), "--bank", str(CASES / "invalid-banks" / "dup-ids"))
    assert strict_code == 1
    assert [p["code"] for p in strict_report["problems"]] == ["IB203"]


def test_unknown_field_does_not_hide_the_other_problems_of_the_item(tmp_path: Path) -> None:
    (tmp_path / "typo.yaml").write_text(
        "id: uf2\ntype: multiple_choice\nstem: x\noptoins: 1\noptions:\n"
        "  - {id: a, text: One, correct: true}\n  - {id: b, text: Two}\n"
    )
    exit_code, report = _run("--bank", str(tmp_path))
    assert exit_code == 1
    assert [(p["code"], p["line"]) for p in report["problems"]] == [("IB102", 4), ("IB203", 7)]
    assert report["items"] == 0  # an item with an error is never loaded


MARKDOWN_PLACES = [
    ("stem", "id: m1\ntype: flashcard\nstem: '{x}'\nanswer: back\n"),
    ("answer", "id: m1\ntype: flashcard\nstem: front\nanswer: '{x}'\n"),
    ("rationale", "id: m1\ntype: flashcard\nstem: s\nanswer: a\nrationale: '{x}'\n"),
    ("hints[0]", "id: m1\ntype: flashcard\nstem: s\nanswer: a\nhints: ['{x}']\n"),
    ("common_mistakes[0]", "id: m1\ntype: flashcard\nstem: s\nanswer: a\ncommon_mistakes: ['{x}']\n"),
    ("solution.steps[0]", "id: m1\ntype: flashcard\nstem: s\nanswer: a\nsolution: {{steps: ['{x}']}}\n"),
    ("solution.steps[0].text", "id: m1\ntype: flashcard\nstem: s\nanswer: a\nsolution: {{steps: [{{title: t, text: '{x}'}}]}}\n"),
    ("solution.final_answer", "id: m1\ntype: flashcard\nstem: s\nanswer: a\nsolution: {{final_answer: '{x}'}}\n"),
    ("solution.quick_check", "id: m1\ntype: flashcard\nstem: s\nanswer: a\nsolution: {{quick_check: '{x}'}}\n"),
    ("options[1].text", "id: m1\ntype: multiple_choice\nstem: s\noptions: [{{id: a, text: t, correct: true}}, {{id: b, text: '{x}', feedback: f}}]\n"),
    ("options[1].feedback", "id: m1\ntype: multiple_choice\nstem: s\noptions: [{{id: a, text: t, correct: true}}, {{id: b, text: u, feedback: '{x}'}}]\n"),
    ("true_feedback", "id: m1\ntype: true_false\nstem: s\nanswer: true\ntrue_feedback: '{x}'\n"),
    ("false_feedback", "id: m1\ntype: true_false\nstem: s\nanswer: true\nfalse_feedback: '{x}'\n"),
    ("rubric[0].criterion", "id: m1\ntype: essay\nstem: s\nrubric: [{{criterion: '{x}', points: 1}}]\n"),
    ("rubric[0].description", "id: m1\ntype: essay\nstem: s\nrubric: [{{criterion: c, points: 1, description: '{x}'}}]\n"),
    ("sample_answer", "id: m1\ntype: essay\nstem: s\nrubric: [{{criterion: c, points: 1}}]\nsample_answer: '{x}'\n"),
    ("pairs[1].prompt", "id: m1\ntype: matching\nstem: s\npairs: [{{prompt: p, match: m}}, {{prompt: '{x}', match: n}}]\n"),
    ("blanks.b.feedback", "id: m1\ntype: cloze\nstem: 'a {{{{b}}}}'\nblanks: {{b: {{answers: [x], feedback: '{x}'}}}}\n"),
]


@pytest.mark.parametrize("path,template", MARKDOWN_PLACES, ids=[p for p, _ in MARKDOWN_PLACES])
def test_every_markdown_field_is_checked_for_html_and_images(tmp_path: Path, path: str, template: str) -> None:
    """Raw HTML and missing images are found in every Markdown field the schema has, not only stems."""
    for bad, code in (("<b>bold</b>", "IB215"), ("![x](media/missing.png)", "IB211")):
        (tmp_path / "m.yaml").write_text(template.format(x=bad))
        _, report = _run("--bank", str(tmp_path))
        assert [(p["code"], p["path"]) for p in report["problems"] if p["severity"] == "error"] == [(code, path)]


def test_the_fast_control_character_precheck_never_misses_one() -> None:
    """Validation skips the per-string scan when a whole-item pre-check says "clean": it must never
    say clean when a string holds a character XML cannot carry, whatever backslashes surround it."""
    from itembank.rules import XML_BAD, may_hold_xml_bad

    for code in [*range(0x20), 0x7F, 0xE9, 0xFFFE, 0xFFFF, 0xD800, 0xDFFF]:
        for text in (chr(code), "a" + chr(code), "\\" + chr(code), "\\\\" + chr(code), r"\frac{1}{2}" + chr(code)):
            blob = json.dumps({"stem": text}, ensure_ascii=False)
            if XML_BAD.search(text):
                assert may_hold_xml_bad(blob), (hex(code), text)
    assert not may_hold_xml_bad(json.dumps({"stem": r"$\frac{a}{b} + \beta$ and C:\\files"}, ensure_ascii=False))


#: Texts around the characters where the fast pre-checks could go wrong: "<" before every kind of
#: character, brackets, "&#", backslashes, control and non-ASCII characters.
_MARKUP_ALPHABET = st.sampled_from(
    ["<", ">", "/", "!", "?", "-", "a", "Z", "1", " ", "@", ":", ".", "[", "]", "(", ")", "&#", "&", "#", ";", "`", "\\", "\n", "x", "\x07", "é", "\ufffe"]
    + ["<!--", "-->", "<b>", "</b>", "<?x", "<!X", "<![CDATA[", "<http:", "<a@b.c>", "<1a@b.c>", "<_x>", "< b>", "<>", "](", "]:", "javascript:", "x.png"]
)
_MARKUP_TEXTS = st.lists(st.one_of(_MARKUP_ALPHABET, st.text(max_size=3)), max_size=24).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127)), _MARKUP_TEXTS))
def test_the_ascii_control_character_check_agrees_with_the_regex(text: str) -> None:
    from itembank.rules import XML_BAD, has_xml_bad

    assert has_xml_bad(text) == (XML_BAD.search(text) is not None)


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(_MARKUP_TEXTS, st.text(max_size=40), st.text(alphabet="](:&#<a/!? ", max_size=12)))
def test_the_markup_precheck_is_its_plain_definition(text: str) -> None:
    """``_may_hold_markup`` scans with one-character finds; it means exactly this."""
    from itembank.rules import _may_hold_markup

    plain = "](" in text or "]:" in text or "&#" in text or re.search(r"<[A-Za-z/!?]", text) is not None
    assert _may_hold_markup(text) == plain


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(_MARKUP_TEXTS, st.text(max_size=40)))
def test_a_text_the_markup_precheck_skips_has_no_markup_finding(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """Validation parses a text's Markdown only when ``_may_hold_markup`` says it may hold HTML, a
    link, an image or a character reference: a text it skips must have nothing to report."""
    from itembank.model import BankConfig
    from itembank.rules import RuleContext, _may_hold_markup, markup_findings

    if not _may_hold_markup(text):
        ctx = RuleContext(tmp_path_factory.getbasetemp(), BankConfig())
        assert list(markup_findings(("stem",), text, ctx)) == []


def _text_content_everywhere(item: dict[str, object], ctx: object) -> list[tuple[object, ...]]:
    """text_content without any pre-check: every string scanned, every Markdown text parsed."""
    from itembank.rules import XML_BAD, all_strings, is_blank, markdown_texts, markup_findings

    out: list[tuple[object, ...]] = []
    if is_blank(item["stem"]):  # type: ignore[arg-type]
        out.append((("stem",), "IB213", "stem is empty"))
    for path, text in all_strings(item):
        m = XML_BAD.search(text)
        if m:
            out.append((path, "IB216", f"control character U+{ord(m.group()):04X} at offset {m.start()} cannot be exported to XML; remove it"))
    for path, text in markdown_texts(item):
        out.extend(markup_findings(path, text, ctx))  # type: ignore[arg-type]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=_MARKUP_TEXTS, feedback=_MARKUP_TEXTS, hint=_MARKUP_TEXTS, escaped=st.booleans())
def test_text_content_finds_what_the_exhaustive_scan_finds(tmp_path: Path, stem: str, feedback: str, hint: str, escaped: bool) -> None:
    """The whole-file and whole-item pre-checks of ``text_content`` only skip work: its findings are
    those of scanning every string and parsing every text, with the file's text known (no escape
    sequence in it) or not."""
    from itembank.model import BankConfig
    from itembank.rules import RuleContext, text_content

    item = {
        "id": "q1",
        "type": "multiple_choice",
        "stem": "Which? " + stem,
        "hints": [hint],
        "options": [{"id": "a", "text": "yes", "correct": True}, {"id": "b", "text": "no", "feedback": feedback}],
    }
    ctx = RuleContext(tmp_path, BankConfig())
    source = json.dumps(item, ensure_ascii=False)
    ctx.source_text = source if not escaped and "\\" not in source else None
    assert list(text_content(item, ctx)) == _text_content_everywhere(item, ctx)


@pytest.mark.parametrize(
    "text",
    ['answer: "bell \\a here"\n', "answer: bell \x07 here\n", "answer: 'bell \x07 and a \\\\ backslash'\n"],
    ids=["yaml-escape", "raw-character", "raw-with-backslash"],
)
def test_control_characters_are_found_however_they_are_written(tmp_path: Path, text: str) -> None:
    (tmp_path / "c.yaml").write_text("id: c1\ntype: flashcard\nstem: front\n" + text)
    exit_code, report = _run("--bank", str(tmp_path))
    assert exit_code == 1
    assert [(p["code"], p["path"]) for p in report["problems"]] == [("IB216", "answer")]


def test_checking_a_bank_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    """check_paths pauses the cyclic collector while loading and moves what it loaded to the oldest
    generation (freeze + unfreeze): afterwards the collector is on again (or still off), nothing
    stays frozen, and a frozen set that someone else made (api.build, before forking) is left alone."""
    import gc

    from itembank.validate import check_bank

    (tmp_path / "q.yaml").write_text("id: q1\ntype: flashcard\nstem: front\nanswer: back\n")
    assert gc.isenabled()
    assert check_bank(tmp_path).ok()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        assert check_bank(tmp_path).ok()
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert check_bank(tmp_path).ok()
        assert gc.get_freeze_count() == frozen and gc.isenabled()
    finally:
        gc.unfreeze()


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(alphabet=" #a\n", max_size=12), st.text(max_size=30)))
def test_the_yaml_trap_precheck_finds_every_space_hash(text: str) -> None:
    from itembank.yaml_traps import _space_hash

    assert _space_hash(text) == (" #" in text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(min_value=-(10**30), max_value=10**30)))
def test_a_number_the_precision_rule_lets_through_survives_fifteen_digits(value: float) -> None:
    """IB224 is sound and tight: a number of at most 15 significant digits is the same number once
    written with 15 (as the exports write it); one of more is not."""
    import sys
    from decimal import Decimal

    from itembank.rules import KEPT_DIGITS, significant_digits

    written = f"{float(value):.{KEPT_DIGITS}g}"
    exact = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if significant_digits(value) <= KEPT_DIGITS:
        assert float(written) == float(value)  # the LMS stores the same double
        if value == 0 or abs(value) >= sys.float_info.min:  # subnormals hold fewer digits than 15
            assert Decimal(written) == exact  # and it is the number as written
    else:
        assert Decimal(written) != exact


_KEY_NUMBERS = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False).map(float),
)


@settings(max_examples=500, deadline=None)
@given(_KEY_NUMBERS, st.one_of(st.sampled_from([0.5, 0.01, 1e-9, 1e-6, 0.000001, 2]), st.floats(min_value=1e-12, max_value=1e6)))
def test_an_answer_and_tolerance_the_rule_lets_through_have_bounds_fifteen_digits_hold(answer: float, tolerance: float) -> None:
    """IB224 on ``answer ± tolerance``: when it lets an item through, both bounds written with 15
    significant digits (as the exports write them) are the exact decimal bounds; -335446165 ± 1e-9
    validated and Canvas then refused the export (its audit saw an 18-digit bound)."""
    from decimal import Decimal

    from itembank.model import as_written, interval
    from itembank.rules import KEPT_DIGITS, number_precision

    item = {"type": "numeric", "answer": answer, "tolerance": tolerance}
    found = [f for f in number_precision(item, None) if f[1] == "IB224"]  # type: ignore[arg-type]
    if found:
        return
    exact = (as_written(answer) - as_written(tolerance), as_written(answer) + as_written(tolerance))
    for bound, want in zip(interval(answer, tolerance), exact):
        assert Decimal(f"{bound:.{KEPT_DIGITS}g}") == want


@pytest.mark.parametrize(
    "text,documents",
    [("---\na: 1\n---\nb: 2\n", (2, 3)), ("# c\n---\n- a\n", (1, None)), ("a: 1\n---\nb: 2\n---\nc: 3\n", (3, 2)), ("- a\n- b\n", (1, None)), ("%YAML 1.2\n---\na: 1\n", (1, None)),
     ("- \"a\x0c--- b\"\n- \"c\u2028--- d\"\n", (1, None))],  # a form feed or U+2028 ends no line
)
def test_the_yaml_documents_of_a_file_are_counted_for_its_message(text: str, documents: tuple[int, int | None]) -> None:
    """A file of several YAML documents reads as their list: IB013 says so, at the second (it said
    "file holds a list ... put a list under `items:`", which is what the author had tried to do)."""
    from itembank.validate import _documents

    assert _documents(text) == documents


# --- lines as YAML and JSON count them -------------------------------------------------------------
# libyaml (the position parser) counts NEL, U+2028 and U+2029 as line breaks, refuses a surrogate pair
# written as escapes ("\ud83d\ude00", as json.dumps writes a non-BMP character) and a BOM inside the
# text, and str.splitlines splits at form feeds and \x1c-\x1e as well: problems were placed a line or
# more too low, or at 1:1.  YAML 1.2 and JSON end a line at \n, \r\n or \r only.

_ODD_CHARS = ["a", " ", "é", "\x85", "\u2028", "\u2029", "\x0c", "\x1c", "\x1d", "\x1e", "\ufeff", "😀", "\t", "#", ":"]
_odd_text = st.lists(st.sampled_from(_ODD_CHARS), max_size=8).map("".join)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'


@st.composite
def _files_with_odd_characters(draw: st.DrawFn) -> tuple[str, str, int, int]:
    """A one-item file with odd characters in texts and comments and an unknown field `bogus`
    somewhere: (file name, text, the line and column of `bogus`)."""
    fields = {"id": "q1", "type": "flashcard", "stem": "Front", "answer": "Back"}
    for name in draw(st.lists(st.sampled_from(["title", "topic", "author", "source"]), unique=True)):
        fields[name] = draw(_odd_text)
    bogus = draw(st.sampled_from(["bogus", "bogus😀", "bogus\u2028x"]))
    order = draw(st.permutations([*fields, "bogus"]))
    if draw(st.booleans()):
        item = {(bogus if k == "bogus" else k): (1 if k == "bogus" else fields[k]) for k in order}
        text = json.dumps(item, indent=draw(st.sampled_from([1, 2])), ensure_ascii=draw(st.booleans()))
        line = next(n for n, t in enumerate(text.split("\n"), 1) if t.lstrip().startswith('"bogus'))
        col = text.split("\n")[line - 1].index('"bogus') + 1
        return "a.json", text, line, col
    lines: list[str] = []
    for k in order:
        if draw(st.booleans()):
            lines.append("# " + draw(_odd_text))
        lines.append(f"{_quoted(bogus)}: 1" if k == "bogus" else f"{k}: {_quoted(fields[k]) if k in ('title', 'topic', 'author', 'source') else fields[k]}" + (" # " + draw(_odd_text) if draw(st.booleans()) else ""))
    return "a.yaml", "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n# " + "\u2028"])), lines.index(f"{_quoted(bogus)}: 1") + 1, 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_files_with_odd_characters())
def test_a_problem_is_placed_on_the_line_of_its_key_whatever_characters_the_texts_hold(tmp_path: Path, case: tuple[str, str, int, int]) -> None:
    name, text, line, col = case
    bank = tmp_path / "bank"
    bank.mkdir(exist_ok=True)
    for old in bank.iterdir():
        old.unlink()
    (bank / name).write_bytes(text.encode("utf-8"))
    exit_code, report = _run("--bank", str(bank), "--no-cache")
    found = [p for p in report["problems"] if p["code"] == "IB102"]
    assert exit_code == 1 and found, report
    assert (found[0]["line"], found[0]["column"]) == (line, col), (report, text)


# --- anchors, aliases and merge keys ----------------------------------------------------------------

_ANCHORED = "items:\n  - &base\n    id: q1\n    type: true_false\n    stem: Is it?\n    answer: {answer}\n  - *base\n"


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_an_item_repeated_by_an_alias_is_reported_once_and_its_id_at_the_alias(tmp_path: Path, cache: bool) -> None:
    """`- *base` repeats an item: its problems were printed twice, word for word, at the anchor, and
    the duplicate id was placed at the anchored item's id rather than at the alias."""
    flags = [] if cache else ["--no-cache"]
    (tmp_path / "a.yaml").write_text(_ANCHORED.format(answer="maybe"), encoding="utf-8")
    code, report = _run("--bank", str(tmp_path), *flags)
    assert code == 1 and [(p["code"], p["line"], p["column"]) for p in report["problems"]] == [("IB103", 6, 13)], report
    (tmp_path / "a.yaml").write_text(_ANCHORED.format(answer="true"), encoding="utf-8")
    code, report = _run("--bank", str(tmp_path), *flags)
    assert code == 1 and [(p["code"], p["line"], p["column"]) for p in report["problems"]] == [("IB201", 7, 5)], report
    assert "`*base`" in report["problems"][0]["message"]
    (tmp_path / "a.yaml").write_text("items:\n  - &base {id: q1, type: true_false, stem: Is it?, answer: true}\n  - *base\n", encoding="utf-8")
    code, report = _run("--bank", str(tmp_path), *flags)
    assert [(p["code"], p["line"], p["column"]) for p in report["problems"]] == [("IB201", 3, 5)], report


@pytest.mark.parametrize(
    "text,line,col",
    [
        ("items:\n  - &base\n    id: q2\n    type: true_false\n    stem: Is it?\n    answer: true\n  - <<: *base\n    id: q3\n", 7, 5),
        ("id: q4\n<<: {type: flashcard, stem: Front}\nanswer: Back\n", 2, 1),
        ("id: q5\ntype: multiple_choice\nstem: Pick\noptions:\n  - &o {id: a, text: A, correct: true}\n  - <<: *o\n    id: b\n", 6, 5),
    ],
)
def test_a_merge_key_is_said_to_be_unsupported_once(tmp_path: Path, text: str, line: int, col: int) -> None:
    """`<<: *base` (YAML 1.1's merge key; YAML 1.2 has none) gave "unknown field '<<'" plus the
    fields it was meant to bring in as missing, with no word about why."""
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    code, report = _run("--bank", str(tmp_path), "--no-cache")
    problems = [p for p in report["problems"] if p["file"].endswith("a.yaml")]
    assert code == 1 and [(p["code"], p["line"], p["column"]) for p in problems] == [("IB014", line, col)], report
    assert "merge key" in problems[0]["message"] and "write the fields out" in problems[0]["message"]


def test_the_working_folder_is_asked_once_per_check_not_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file's path is shown relative to the working folder: asked once per check (a system call
    per file was 5 % of loading a bank from the check cache), the same paths shown."""
    import os

    from itembank.validate import check_bank

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: T\n", encoding="utf-8")
    for n in range(30):
        (bank / f"q{n}.yaml").write_text(f"id: q{n}\ntype: true_false\nstem: Is {n} even?\nanswer: {str(n % 2 == 0).lower()}\n", encoding="utf-8")
    (bank / "bad.yaml").write_text("id: bad\ntype: no_such_type\nstem: x\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    calls = []
    real = os.getcwd
    monkeypatch.setattr(os, "getcwd", lambda: calls.append(1) or real())
    result = check_bank(bank, cache=False)
    assert {p.file for p in result.errors} == {"bank/bad.yaml"}  # shown from the working folder
    assert len(result.items) == 30
    assert sorted(i.location.path for i in result.items) == sorted(f"q{n}.yaml" for n in range(30))
    assert len(calls) <= 3
