"""Issue 11's export defects, each pinned by a test that failed before its fix (the generated-bank
net in test_generated_banks.py found them too)."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

import re
from pathlib import Path

import pytest
from lxml import etree

from itembank.exporters import qti
from itembank.exporters.kit import xsd
from itembank.exporters.qti.writer import ItemWriter
from itembank.model import Blank, ClozeItem, SourceRef
from itembank.forked import can_fork
from itembank.render import Renderer

PROFILES = {"qti21": qti.QTI21, "qti30": qti.QTI30}


def local(root: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname in (name, f"qti-{_kebab(name)}")]


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name)


# --- 1: a cloze blank right after inline code ----------------------------------------------------


@pytest.mark.parametrize("fmt", PROFILES)
@pytest.mark.parametrize(
    "stem",
    [
        "call `df.` {{method}} `()`",
        "call `df.`{{method}}`()` then **`x`** {{other}}",
        "- `a` {{method}}\n- *`b`* {{other}}",
    ],
)
def test_a_blank_after_inline_code_becomes_an_interaction(fmt: str, stem: str) -> None:
    names = ["method", "other"] if "other" in stem else ["method"]
    item = ClozeItem(
        id="cz", type="cloze", location=SourceRef("x.yaml"), stem=stem,
        blanks=tuple(Blank(name=n, kind="text", answers=("head",)) for n in names),
    )
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
    assert len(local(root, "textEntryInteraction")) == len(names)
    body = local(root, "itemBody")[0]
    assert "{{" not in "".join(body.itertext())
    # the code stays code
    assert [c.text for c in local(body, "code")][:1] == [stem.split("`")[1]]


def test_a_placeholder_inside_code_is_code_not_a_blank() -> None:
    # A {{name}} written inside backticks is shown as code (validation counts it as the blank's place,
    # so the exporter must still not leave the blank without an interaction: see the invariant tests).
    item = ClozeItem(
        id="cz", type="cloze", location=SourceRef("x.yaml"), stem="`{{x}}` then {{x}}",
        blanks=(Blank(name="x", kind="text", answers=("a",)),),
    )
    root = etree.fromstring(ItemWriter(qti.QTI21, Renderer(), item, "t").write())
    assert len(local(root, "textEntryInteraction")) == 1
    assert local(root, "code")[0].text == "{{x}}"


# --- 5: tolerance bounds in decimal ------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from itembank.model import NumericItem, interval  # noqa: E402


@pytest.mark.parametrize(
    "value,tolerance,low,high",
    [(1.96, 0.005, "1.955", "1.965"), (0.1, 0.2, "-0.1", "0.3"), (1e-7, 1e-9, "9.9e-08", "1.01e-07"), (2.675, 0.005, "2.67", "2.68"), (123456789012, 0.5, "123456789011.5", "123456789012.5")],
)
def test_bounds_are_computed_in_decimal_and_written_shortest(value: float, tolerance: float, low: str, high: str) -> None:
    from itembank.exporters.kit.numbers import number_text

    lo, hi = interval(value, tolerance)
    assert (number_text(lo), number_text(hi)) == (low, high)
    assert Decimal(number_text(hi)) - Decimal(repr(value)) == Decimal(repr(tolerance))


@pytest.mark.parametrize("fmt", PROFILES)
def test_qti_upper_bound_of_1_96_plus_0_005_is_1_965(fmt: str) -> None:
    item = NumericItem(id="n", type="numeric", location=SourceRef("x.yaml"), stem="z?", answer=1.96, tolerance=0.005)
    xml = etree.tostring(etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())).decode()
    assert "1.965" in xml and "1.955" in xml
    assert "1.9649999" not in xml and "1.95500000" not in xml
    cloze = ClozeItem(id="c", type="cloze", location=SourceRef("x.yaml"), stem="z = {{z}}", blanks=(Blank(name="z", kind="numeric", number=1.96, tolerance=0.005),))
    xml = etree.tostring(etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), cloze, "t").write())).decode()
    assert "1.965" in xml and "1.9649999" not in xml


def test_a_range_centre_and_half_width_are_exact() -> None:
    item = NumericItem(id="n", type="numeric", location=SourceRef("x.yaml"), stem="z?", range=(0.1, 0.3))
    assert (item.centre, item.half_width) == (0.2, 0.1)


# --- 2: MathML valid for each profile's schema; errors point at the YAML ------------------------------


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", PROFILES)
@pytest.mark.parametrize("latex", [r"N\!\left(\mu, \sigma^2\right)", r"a\,b\;c\quad d\!e", r"\begin{aligned} a &= b \\ c &= d \end{aligned}"])
def test_latex_spacing_makes_valid_mathml_for_the_profile(xsd_dir: Path, fmt: str, latex: str) -> None:
    item = ClozeItem(
        id="m", type="cloze", location=SourceRef("x.yaml"), stem=f"${latex}$ is {{{{w}}}}",
        blanks=(Blank(name="w", kind="text", answers=("normal",)),),
    )
    root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
    assert xsd.validate_file(qti.to_bytes(root), fmt, xsd_dir) == []
    widths = [m.get("width") for m in root.iter("{http://www.w3.org/1998/Math/MathML}mspace")]
    if r"\!" in latex:
        assert ("-0.1667em" if fmt == "qti21" else "negativethinmathspace") in widths


def test_check_errors_name_the_items_yaml_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from itembank.api import load_bank
    from itembank.exporters.qti.package import _at_source

    (tmp_path / "quiz.yaml").write_text("items:\n  - {id: a, type: flashcard, stem: s, answer: t}\n  - id: b\n    type: flashcard\n    stem: s\n    answer: t\n")
    monkeypatch.chdir(tmp_path)
    bank = load_bank(tmp_path)
    said = _at_source(bank, "items/b.xml: line 1: Element 'mspace': not valid")
    assert said.startswith("quiz.yaml:3: [b] line 1: Element 'mspace': not valid")
    assert "items/b.xml" in said


# --- 6: review comments starting with "=" ------------------------------------------------------------

import shutil  # noqa: E402
import subprocess  # noqa: E402

import openpyxl  # noqa: E402

from conftest import ALL_TYPES_BANK  # noqa: E402


def _workbook(root: Path, out: Path) -> Path:
    from itembank.api import export, load_bank

    out.write_bytes(export(load_bank(root), "xlsx").data)  # type: ignore[arg-type]
    return out


def test_review_columns_are_text_cells_so_a_typed_equals_sign_stays_text(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(_workbook(ALL_TYPES_BANK, tmp_path / "r.xlsx"))
    ws = wb["Items"]
    header = [c.value for c in ws[1]]
    for name in ("Reviewer", "Decision", "Suggested difficulty", "Comments"):
        col = header.index(name) + 1
        assert {ws.cell(r, col).number_format for r in range(2, ws.max_row + 1)} == {"@"}, name


@pytest.mark.consumer
def test_a_formula_in_a_review_column_is_reported_by_row_and_column(soffice: str, tmp_path: Path) -> None:
    from itembank.api import load_bank
    from itembank.errors import ReviewImportError
    from itembank.review import import_reviews

    bank_dir = tmp_path / "bank"
    shutil.copytree(ALL_TYPES_BANK, bank_dir)
    src = _workbook(bank_dir, tmp_path / "src.xlsx")
    # What a spreadsheet makes of "=good point" typed into a General cell: a formula.
    wb = openpyxl.load_workbook(src)
    ws = wb["Items"]
    header = [c.value for c in ws[1]]
    ws.cell(3, header.index("Decision") + 1).value = "Revise"
    ws.cell(3, header.index("Comments") + 1).value = "=good point"
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    # LibreOffice recalculates and saves it: the comment is now #NAME?.
    out = tmp_path / "lo"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(edited)],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    before = {p: p.read_bytes() for p in bank_dir.rglob("*.yaml")}
    with pytest.raises(ReviewImportError) as info:
        import_reviews(out / "edited.xlsx", load_bank(bank_dir), date="2026-12-01")
    details = "\n".join(info.value.details)
    assert "row 3, column Comments" in details and ("#VALUE!" in details or "#NAME?" in details)
    assert {p: p.read_bytes() for p in bank_dir.rglob("*.yaml")} == before  # nothing imported


# --- the invariants, checked inside every export --------------------------------------------------------

from itembank import audit  # noqa: E402
from itembank.formats import ExportOptions, ExportResult  # noqa: E402
from itembank.model import Bank, BankConfig, ChoiceItem, Option, TrueFalseItem  # noqa: E402


def _bank(*items: object) -> Bank:
    return Bank(root=ALL_TYPES_BANK, config=BankConfig(title="T"), items=tuple(items))  # type: ignore[arg-type]


def test_every_export_of_the_test_banks_keeps_the_invariants(seed_bank, all_types_bank) -> None:
    from itembank.formats import ExportContext, registry

    from itembank import load_bank

    calculated = load_bank(ALL_TYPES_BANK.parent / "calculated")  # placeholders printed, filled or kept in every format
    for bank in (seed_bank, all_types_bank, calculated):
        for fmt, exporter in registry().items():
            r = Renderer()
            assert audit.audit(fmt, bank, exporter.export(bank, ExportContext(renderer=r)), r) == [], fmt
            if "expand_variants" in exporter.options:  # calculated items as numeric variants <id>-v1 ...
                result = exporter.export(bank, ExportContext(renderer=r, options=ExportOptions(expand_variants=2)))
                assert audit.audit(fmt, bank, result, r) == [], (fmt, "--expand-variants 2")


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_the_audit_reads_expanded_variants_and_catches_a_variants_lost_stem(all_types_bank, fmt: str) -> None:
    """``--expand-variants``: each variant's texts, its own numbers filled in, must be in its own output
    (the audit once refused every such export of a bank with other items: the calculated id was "missing").
    GIFT passes too (the test above); its notes name the variants (units, points), which the audit
    accepts as saying why, so a lost text is shown here on QTI."""
    from itembank.formats import ExportContext, get_exporter
    from itembank.variants import expand

    r = Renderer()
    result = get_exporter(fmt).export(all_types_bank, ExportContext(renderer=r, options=ExportOptions(expand_variants=2, unzipped=True)))
    assert audit.audit(fmt, all_types_bank, result, r) == []
    stem = expand(next(i for i in all_types_bank.items if i.id == "at-calc"), 2)[1].stem  # the second variant's numbers
    assert result.files is not None
    text = result.files["items/at-calc-v2.xml"].decode()
    assert stem in text
    result.files["items/at-calc-v2.xml"] = text.replace(stem, "A sample.").encode()
    assert audit.audit(fmt, all_types_bank, result, r) == [f"[at-calc-v2] stem is not in the output and no note says why: {stem[:60]!r}"]


def test_the_audit_catches_a_lost_blank_a_lost_hint_and_float_noise() -> None:
    r = Renderer()
    cloze = ClozeItem(id="cz", type="cloze", location=SourceRef("x.yaml"), stem="call `df.` {{m}} `()`", blanks=(Blank(name="m", kind="text", answers=("head",)),))
    lost_blank = ExportResult(files={"items/cz.xml": b"<assessmentItem><itemBody><p>call <code>df.</code> {{m}} <code>()</code></p></itemBody></assessmentItem>"})
    found = audit.audit("qti21", _bank(cloze), lost_blank, r)
    assert any("{{m}} is left" in p for p in found) and any("1 blanks but the output has 0" in p for p in found)

    mc = ChoiceItem(id="mc", type="multiple_choice", location=SourceRef("x.yaml"), stem="Pick one", hints=("Think of the slope",),
                    options=(Option(id="a", text="Up", correct=True), Option(id="b", text="Down", feedback="No: it rises")))
    no_hint = ExportResult(data=b'<?xml version="1.0"?><quiz><question type="multichoice"><idnumber>mc</idnumber><questiontext><text><![CDATA[<p>Pick one</p>]]></text></questiontext>'
                                b"<answer><text>Up</text></answer><answer><text>Down</text><feedback><text>No: it rises</text></feedback></answer></question></quiz>")
    assert [p for p in audit.audit("moodle", _bank(mc), no_hint, r)] == ["[mc] hints[0] is not in the output and no note says why: 'Think of the slope'"]
    no_hint.notes.append("this format cannot carry hints: mc")
    assert audit.audit("moodle", _bank(mc), no_hint, r) == []

    num = NumericItem(id="n", type="numeric", location=SourceRef("x.yaml"), stem="z?", answer=1.96, tolerance=0.005)
    noisy = ExportResult(files={"items/n.xml": b"<assessmentItem><itemBody><p>z?</p></itemBody><lte>1.9649999999999999</lte></assessmentItem>"})
    assert any("1.9649999999999999" in p for p in audit.audit("qti21", _bank(num), noisy, r))


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_the_audit_refuses_a_qti_item_whose_identifiers_repeat(fmt: str) -> None:
    """Bug 12: a package whose item declared RESPONSE_B__x twice was written without a word (only
    ``--check``'s XSD noticed).  The audit reads each item's variables and choices (and its modal
    feedbacks' outcome and identifier): one identifier used twice refuses the export."""
    from itembank.formats import ExportContext, get_exporter

    r = Renderer()
    cloze = ClozeItem(id="cz", type="cloze", location=SourceRef("x.yaml"), stem="Say {{a}} and {{b}}.",
                      blanks=(Blank(name="a", kind="choice", choices=("x", "y"), correct="y", feedback="No."),
                              Blank(name="b", kind="text", answers=("hi",), feedback="No.")))
    result = get_exporter(fmt).export(_bank(cloze), ExportContext(renderer=r, options=ExportOptions(unzipped=True)))
    assert audit.audit(fmt, _bank(cloze), result, r) == []
    assert result.files is not None
    good = result.files["items/cz.xml"].decode()
    for was, now, ident in [
        ("RESPONSE_b", "RESPONSE_a", "RESPONSE_a"),  # two responses (the XSD refuses this one)
        ('"RESPONSE_a_2"', '"SCORE"', "SCORE"),  # a choice named like a variable
        ('"RESPONSE_a_2"', '"RESPONSE_a_1"', "RESPONSE_a_1"),  # two choices
        ('"FB_b"', '"FB_a"', "FB_a"),  # two modal feedbacks for the same outcome value
    ]:
        assert was in good
        result.files["items/cz.xml"] = good.replace(was, now).encode()
        found = audit.audit(fmt, _bank(cloze), result, r)
        assert len(found) == 1 and found[0].startswith(f"[cz] the QTI identifier {ident!r} is used twice in the item"), (was, found)


@pytest.mark.parametrize("fmt", ["qti21", "qti30", "moodle", "canvas"])
def test_the_audit_wants_a_rubric_criterions_description_in_the_output(fmt: str) -> None:
    """A rubric's description is a text of the item like its criterion (Markdown, shown to graders):
    the audit looked for the criterion only, so an export that lost a description passed."""
    from itembank.formats import ExportContext, get_exporter
    from itembank.model import Criterion, EssayItem

    r = Renderer()
    essay = EssayItem(id="es", type="essay", location=SourceRef("x.yaml"), stem="Explain it.", points=2, rubric=(
        Criterion(criterion="Names the cause", points=1, description="Overfitting on **small** data"),
        Criterion(criterion="Gives an example", points=1)))
    result = get_exporter(fmt).export(_bank(essay), ExportContext(renderer=r, options=ExportOptions(unzipped=True)))
    assert audit.audit(fmt, _bank(essay), result, r) == []
    lost = {name: data.replace(b"Overfitting on", b"Something") for name, data in (result.files or {"": result.data or b""}).items()}
    assert lost != (result.files or {"": result.data})
    broken = ExportResult(files=lost) if result.files is not None else ExportResult(data=lost[""])
    assert audit.audit(fmt, _bank(essay), broken, r) == ["[es] rubric[0].description is not in the output and no note says why: 'Overfitting on **small** data'"]


def test_a_broken_invariant_refuses_the_export_with_the_items_file(monkeypatch: pytest.MonkeyPatch, all_types_bank) -> None:
    from itembank.api import export
    from itembank.errors import ItembankError

    monkeypatch.setattr(audit, "audit", lambda fmt, bank, result, renderer, fragments=None, jobs=1: ["[at-cloze] the cloze blank {{phase1}} is left in the output as text"])
    with pytest.raises(ItembankError, match=r"other.yaml: \[at-cloze\] the cloze blank"):
        export(all_types_bank, "qti21")


# --- build --check: documents found valid are remembered ---------------------------------------------


@pytest.mark.consumer
def test_schema_check_remembers_valid_documents_and_never_invalid_ones(xsd_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from itembank.exporters.kit import xsd as kit_xsd

    item = ClozeItem(id="c", type="cloze", location=SourceRef("x.yaml"), stem="a {{b}}", blanks=(Blank(name="b", kind="text", answers=("x",)),))
    good = qti.to_bytes(etree.fromstring(ItemWriter(qti.QTI21, Renderer(), item, "t").write()))
    bad = good.replace(b"textEntryInteraction", b"noSuchInteraction")
    monkeypatch.setenv("ITEMBANK_CACHE_DIR", str(tmp_path / "cache"))
    first = kit_xsd.validate_files({"a.xml": good, "b.xml": bad}, "qti21", xsd_dir)
    assert first and {p.split(":")[0] for p in first} == {"b.xml"}
    assert kit_xsd.validate_files({"a.xml": good, "b.xml": bad}, "qti21", xsd_dir) == first

    def no_compile(*args: object, **kw: object) -> None:
        raise AssertionError("the schema was compiled although every document is known valid")

    monkeypatch.setattr(kit_xsd, "load_schema", no_compile)
    assert kit_xsd.validate_files({"again.xml": good, "copy.xml": good}, "qti21", xsd_dir) == []
    with pytest.raises(AssertionError, match="compiled"):
        kit_xsd.validate_files({"b.xml": bad}, "qti21", xsd_dir)  # an invalid document is checked every time


def test_a_cloze_whose_shares_do_not_add_up_in_decimal_still_reaches_full_marks() -> None:
    # found by the QTI player on a generated bank: 1 point over 3 blanks scored 0.9999999999999999
    item = ClozeItem(id="c", type="cloze", location=SourceRef("x.yaml"), stem="{{a}} {{b}} {{c}}", points=1,
                     blanks=tuple(Blank(name=n, kind="text", answers=("x",)) for n in "abc"))
    xml = etree.tostring(etree.fromstring(ItemWriter(qti.QTI21, Renderer(), item, "t").write())).decode()
    assert "0.3333333333333333" not in xml  # no share written with binary noise
    assert "<divide><product><variable identifier=\"SCORE\"/>" in xml  # the sum of points, scaled once


def test_a_flashcards_hints_are_in_its_qti_item() -> None:
    # found by the export invariants on the benchmark generator's bank: they were dropped silently
    from itembank.model import FlashcardItem

    card = FlashcardItem(id="f", type="flashcard", location=SourceRef("x.yaml"), stem="Front?", answer="Back.", hints=("Think of the first phase.",))
    for profile in PROFILES.values():
        xml = etree.tostring(etree.fromstring(ItemWriter(profile, Renderer(), card, "t").write())).decode()
        assert "Think of the first phase." in xml


@given(st.lists(st.sampled_from("abcd"), max_size=6), st.lists(st.sampled_from("abcde"), max_size=12))
def test_the_audit_reads_words_in_order_as_a_subsequence(needle: list[str], hay: list[str]) -> None:
    """The export audit's order check is exactly 'needle is a subsequence of hay' (written with
    list.index for speed; checked here against the plain definition)."""
    from itertools import combinations

    from itembank.audit import in_order

    expected = any(list(c) == needle for c in combinations(hay, len(needle))) if len(needle) <= len(hay) else False
    assert in_order(needle, hay) == expected


_MARKDOWNISH = st.lists(st.sampled_from(list("ab cé1.:*_`$&<>\"'\n#-[]()!~=\f") + ["x^2", "$x$", "**b**", "`c`", "\n\n", "![i](p.png)", "word"]), max_size=30).map("".join)


@settings(max_examples=300)
@example("a\n\nb", None).via("two paragraphs whose words the cut joins")  # type: ignore[arg-type]
@given(_MARKDOWNISH, st.data())
def test_the_audits_quick_find_never_passes_what_reading_word_by_word_fails(text: str, data: st.DataObject | None) -> None:
    """The audit first looks for a text's pieces as they stand; found so must imply found word by
    word in order (the audit's definition), so the quick step never hides a loss."""
    from itembank.audit import _AS_WRITTEN_IN, _Own, _shown_pieces, found_in

    r = Renderer()
    rendered = r.html(text)
    # The output: the rendered text, or it with a stretch cut out, inside an item of each format.
    cut = data.draw(st.tuples(st.integers(0, len(rendered)), st.integers(0, 12))) if data is not None else (4, 9)
    body = rendered[: cut[0]] + rendered[cut[0] + cut[1] :]
    for fmt, raw in _item_outputs(body).items():
        assert fmt in _AS_WRITTEN_IN
        own = _Own(fmt, raw)
        if own.has(_shown_pieces(r, text)):
            assert found_in(r.words(text), own.reading()), (fmt, raw)


#: Texts of the characters ``render.PLAIN`` lets through (its letters stand for all letters, its digits for all digits).
_PLAIN_TEXTS = st.sampled_from("AbZ").flatmap(lambda first: st.text(alphabet="Abz09 ,.;:?'()/%-", max_size=40).map(lambda rest: first + rest))


@settings(max_examples=500)
@example("A 1. list? no: (2) items - 3 % / 4;").via("list and percent signs after the first character")  # type: ignore[arg-type]
@example("Ends with two spaces  ").via("trailing spaces: no hard break at a paragraph's end")  # type: ignore[arg-type]
@example("See http://example.com/a-b").via("a bare URL is not a link")  # type: ignore[arg-type]
@example("I 1) a - b -- c --- d").via("dashes and a list marker inside a line")  # type: ignore[arg-type]
@given(_PLAIN_TEXTS)
def test_a_plain_text_is_its_own_piece_as_the_renderer_writes_it(text: str) -> None:
    """The renderer writes a plain one-line text (``render.PLAIN``) as one paragraph holding the text
    itself, without the Markdown parser, and the audit takes it as its own one piece without
    rendering it: exact only if the parser writes every such text so."""
    import pyromark

    from itembank.audit import _shown_pieces
    from itembank.render import MARKDOWN_OPTIONS, PLAIN

    assert PLAIN.match(text)
    assert pyromark.html(text, options=MARKDOWN_OPTIONS).strip() == f"<p>{text.rstrip()}</p>"
    assert Renderer().html(text) == f"<p>{text.rstrip()}</p>"
    fresh = Renderer()
    assert _shown_pieces(fresh, text) == [text.rstrip()] and fresh.renders == 0  # the quick way: nothing rendered


_DIGITS = st.text(st.sampled_from("0123456789\u0663"), min_size=1, max_size=20)
_NUMBER_TEXTS = st.one_of(
    st.text(st.sampled_from("0123456789.-e+ <>a_\u0663\u00e9?"), max_size=30),
    st.builds("{}.{}".format, _DIGITS, _DIGITS),  # a number, long or not
)


@settings(max_examples=1000)
@example("1.9649999999999999").via("binary rounding")  # type: ignore[arg-type]
@example("<b>12345678.</b>12345678").via("a tag between the digits reads as a space")  # type: ignore[arg-type]
@example("1.\u0663\u0663\u0663\u0663\u0663\u0663\u0663\u06631234567").via("digits of another script")  # type: ignore[arg-type]
@example("12345678.12345678").via("16 digits, 8 on each side of the point")  # type: ignore[arg-type]
@given(st.lists(_NUMBER_TEXTS, max_size=4).map("".join))
def test_the_long_number_check_skips_only_a_markup_without_one(markup: str) -> None:
    """The audit's number check reads a markup with its regular expressions only when
    ``_may_hold_long_number`` says it may hold a number of 16 or more significant digits: it must
    never say no to one that does."""
    from itembank.audit import _DECIMAL, _TAG, LONG_DIGITS, _may_hold_long_number, significant_digits

    longest = max((significant_digits(m.group()) for m in _DECIMAL.finditer(_TAG.sub(" ", markup))), default=0)
    if longest >= LONG_DIGITS:
        assert _may_hold_long_number(markup)


def test_the_long_number_check_says_no_to_short_numbers_and_text() -> None:
    """It spares the regular expressions for what most outputs hold (else it would save nothing)."""
    from itembank.audit import _may_hold_long_number

    assert not _may_hold_long_number('<p identifier="RESPONSE_1">Between 1.965 and 2.0000001, caf\u00e9 gen-000003</p>')
    assert _may_hold_long_number("<p>0.30000000000000004</p>")


@pytest.mark.parametrize("text", ["1. A list", "# Title", "> quote", "A *b*", "A `c`", "A $x$", "A & B", "A <b>", 'Say "hi"', "A\nB", "A\tB", "A_b_"])
def test_a_text_with_markdown_is_not_taken_as_plain(text: str) -> None:
    """What Markdown or HTML reads (a list, heading, quote, emphasis, code, math, entity, tag, a quote
    mark written as an entity, another line, a tab) sends the text through the renderer."""
    import pyromark

    from itembank.render import MARKDOWN_OPTIONS, PLAIN

    assert not PLAIN.match(text)
    assert Renderer().html(text) == pyromark.html(text, options=MARKDOWN_OPTIONS).strip()


def _item_outputs(body: str) -> dict[str, str]:
    """Rendered HTML inside an item of each per-item format, as that format writes it."""
    escaped_for_xml = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return {
        "qti21": f"<assessmentItem><itemBody><div>{body}</div></itemBody></assessmentItem>",
        "moodle": f"<question><questiontext><text>{escaped_for_xml}</text></questiontext></question>",
        "xlsx": f'<row r="2"><c r="A2" t="inlineStr"><is><t>{escaped_for_xml}</t></is></c></row>',
        "gift": body,
    }


@settings(max_examples=300)
@example("1.{{b}}x", None).via("a blank that makes a list item of its line as a space")  # type: ignore[arg-type]
@given(st.lists(st.sampled_from(["{{b}}", "{{b}}", "  ", "\n", "1."]), max_size=6).flatmap(lambda extra: _MARKDOWNISH.map(lambda t: "".join(extra) + t + "{{b}}")), st.data())
def test_a_cloze_stems_quick_find_never_passes_what_reading_word_by_word_fails(stem: str, data: st.DataObject | None) -> None:
    """A cloze stem's pieces are cut at its blanks (an export writes an answer field there): found
    so must still imply its words found in order, as the word-by-word reading has them (blanks as
    spaces), whatever Markdown makes of the stem around a blank."""
    from itembank.audit import _Own, _cloze_stem_pieces, found_in
    from itembank.model import replace_placeholders

    r = Renderer()
    text = replace_placeholders(stem, lambda name: " ")
    # The output: the stem with each blank an answer field, or that with a stretch cut out.
    rendered = r.html(replace_placeholders(stem, lambda name: "\f")).replace("\f", "<input/>")
    cut = data.draw(st.tuples(st.integers(0, len(rendered)), st.integers(0, 12))) if data is not None else (0, 0)
    body = rendered[: cut[0]] + rendered[cut[0] + cut[1] :]
    for fmt, raw in _item_outputs(body).items():
        own = _Own(fmt, raw)
        if own.has(_cloze_stem_pieces(r, stem, text)):
            assert found_in(r.words(text), own.reading()), (fmt, raw)


_MARKUPISH = st.lists(st.sampled_from(list("ab é1<>&;#/ \n\t.") + ["<p>", "</p>", "&amp;", "&amp", "&#65;", "&#x41;", "&eacute;", "&lt;", "<a b>", "<<", ">>", "\u00a0"]), max_size=40).map("".join)


@settings(max_examples=500)
@given(_MARKUPISH, st.integers(1, 8), st.sampled_from(["markdown", "moodle"]))
def test_the_audit_reads_a_whole_output_cut_by_cut_as_it_reads_it_whole(markup: str, cut: int, fmt: str) -> None:
    """A whole output (a printed bank: 25 MB of HTML) is read in cuts, to hold no list of all its
    pieces or words: the pieces and the words must be those of the whole text read at once, whatever
    the markup (an unclosed ``<``, an entity without its ``;``, a ``<`` inside a tag)."""
    import html as _html
    import re

    from itembank import audit

    tag = re.compile(r"<[^>]*>")
    old_cut, audit._CUT = audit._CUT, cut
    try:
        assert "".join(audit._cuts(markup)) == markup
        whole = audit._Whole.__new__(audit._Whole)
        whole.fmt, whole._nodes, whole._words = fmt, {markup}, None
        plain = (_html.unescape(tag.sub(" ", markup)) if "<" in markup or "&" in markup else markup) if fmt == "markdown" else _html.unescape(markup)
        assert whole.words() == set((" " + re.sub(r"\W+", " ", plain.casefold()) + " ").split())
        assert list(audit._segments(markup)) == [seg.strip() for seg in tag.split(markup)]
    finally:
        audit._CUT = old_cut


@settings(max_examples=500)
@example("x&#65;", 2, 6).via("a piece that starts inside a character reference")
@example("1. ab", 2, 5).via("a numbered text")
@example("a&#65;", 1, 6).via("a piece starting with a reference to a letter, after a letter")
@example("x&#65;b", 5, 7).via("a piece starting at the ';' that ends a reference to a letter")
@given(_MARKUPISH, st.integers(0, 40), st.integers(0, 40))
def test_a_piece_that_ends_a_text_of_a_whole_output_holds_only_its_words(markup: str, a: int, b: int) -> None:
    """The quick find of a whole output (Markdown) takes a piece that ends one of its texts after a
    space or a mark: the piece's words must then be words of the output, whatever the text (a
    character reference the piece starts inside of, a word it would cut)."""
    import html as _html
    import re

    from itembank import audit

    piece = markup[a:b].strip()
    if not piece:
        return
    old_end, audit._END = audit._END, 1
    try:
        whole = audit._Whole.__new__(audit._Whole)
        whole.fmt, whole._nodes, whole._words, whole._by_end = "markdown", {markup}, None, None
        whole.pieces = set(audit._segments(markup))
        if whole._ends(piece):
            assert set(re.findall(r"\w+", _html.unescape(piece).casefold())) <= whole.words()
    finally:
        audit._END = old_end


@given(st.lists(st.sampled_from(["<row", "</row>", "<row r='1'>", "x", "<", "row", ">"]), max_size=20).map("".join))
def test_the_audit_slices_an_output_into_items_as_splitting_it_at_each_end_tag_would(document: str) -> None:
    """The audit slices a 36-60 MB output into items without a list of all of it: the parts must be
    those the split at each end tag gave (a chunk without a start tag has no item: left out)."""
    from itembank.audit import _parts

    chunks = document.split("</row>")[:-1]
    where = [chunk.find("<row") for chunk in chunks]
    assert list(_parts(document, "<row", "</row>")) == [chunk[at:] + "</row>" for chunk, at in zip(chunks, where) if at >= 0]


def test_the_moodle_audit_reads_the_questions_as_a_stream_as_the_whole_tree_has_them() -> None:
    from itembank.audit import _XML, _moodle_questions

    document = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n  <!-- topic: a -->\n  <question type="category"><idnumber></idnumber></question>\n'
        b'  <question type="essay"><questiontext><text><![CDATA[<p>a </question> &amp; b</p>]]></text></questiontext><idnumber>q&amp;1</idnumber></question>  tail\n'
        b"  <!-- between -->\n  <question><idnumber>q2</idnumber><question><idnumber>nested</idnumber></question></question>\n</quiz>\n"
    )
    root = etree.fromstring(document, _XML)
    whole = [(q.findtext("idnumber"), etree.tostring(q, encoding="unicode")) for q in root.iterfind("question") if q.findtext("idnumber")]
    assert [ident for ident, _ in whole] == ["q&1", "q2"] and whole[0][1].endswith("</question>  tail\n  ")
    assert list(_moodle_questions(document)) == whole


def test_the_audit_finds_a_lost_text_in_its_own_workbook_row() -> None:
    r = Renderer()
    mc = ChoiceItem(id="mc", type="multiple_choice", location=SourceRef("x.yaml"), stem="Pick one", hints=("Think of the slope",),
                    options=(Option(id="a", text="Up", correct=True), Option(id="b", text="Down")))
    other = ChoiceItem(id="other", type="multiple_choice", location=SourceRef("y.yaml"), stem="Think of the slope", options=mc.options)

    def sheet(*rows: str) -> ExportResult:
        cells = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{ident}</t></is></c><c r="B{n}" t="inlineStr"><is><t>{text}</t></is></c></row>' for n, (ident, text) in enumerate((r.split("|") for r in rows), 2))
        return ExportResult(files={"xl/worksheets/sheet1.xml": f"<worksheet><sheetData>{cells}</sheetData></worksheet>".encode()})

    whole = sheet("mc|Pick one • Think of the slope Up Down", "other|Think of the slope Up Down")
    assert audit.audit("xlsx", _bank(mc, other), whole, r) == []
    # The hint is elsewhere in the workbook (another item's stem), not in its own row: a loss.
    lost = sheet("mc|Pick one Up Down", "other|Think of the slope Up Down")
    assert audit.audit("xlsx", _bank(mc, other), lost, r) == ["[mc] hints[0] is not in the output and no note says why: 'Think of the slope'"]


#: Texts whose Markdown the renderer reads differently from their characters: character references
#: for letters (named, decimal, hexadecimal), a reference written as text (``&amp;eacute;``), an
#: escaped ``<``, an escaped ``_`` inside a word; and references Markdown leaves as written (in code,
#: after a backslash, without their ``;``), which decoding every ``&...`` of a cell would misread.
MARKDOWN_READ_TEXTS = {
    "named": "Le caf&eacute; est bon",
    "decimal": "Le caf&#233; est bon",
    "hexadecimal": "&#x41;BC and &#x61;bc",
    "written-as-text": "the &amp;eacute; reference",
    "less-than": "a &lt; b",
    "escaped-underscore": "snake a\\_b case",
    "in-code": "Type `caf&eacute;` then a\\*b",
    "escaped": "caf\\&eacute; then a\\*b",
    "no-semicolon": "Copyright &copy 2020 &notit then a\\*b",
}


@pytest.mark.parametrize("text", MARKDOWN_READ_TEXTS.values(), ids=MARKDOWN_READ_TEXTS.keys())
def test_a_character_reference_in_any_markdown_text_builds_every_format(tmp_path: Path, text: str) -> None:
    """``caf&eacute;`` in a Markdown text is "café".  The workbook shows each text's Markdown as
    written, and the audit read a row's cells as typed ("caf eacute"): it refused the xlsx export
    ("stem is not in the output") and ``itembank build`` exited 1 on a valid bank.  Every Markdown
    field holds the text here (stem, options and their feedback, true/false feedback, hints,
    rationale, a cloze stem around its blanks and a blank's feedback, a flashcard's back), and every
    format is built.  So do an ordering's steps and a matching's targets, plain texts every format shows
    as typed (``caf&eacute;`` is the words "caf eacute" there): the audit read them as Markdown and
    refused the Markdown, Moodle, GIFT, Canvas and QTI exports, and GIFT rendered ordering steps."""
    import json

    from click.testing import CliRunner

    from itembank.cli import main
    from itembank.formats import registry

    def q(label: str) -> str:
        return json.dumps(f"{label} {text} end")  # a YAML double-quoted scalar

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: References\n")
    (bank / "items.yaml").write_text(
        "items:\n"
        f"  - {{id: tf, type: true_false, answer: true, stem: {q('Stem')}, true_feedback: {q('Yes')}, false_feedback: {q('No')},"
        f" rationale: {q('Because')}, hints: [{q('Hint')}]}}\n"
        f"  - id: mc\n    type: multiple_choice\n    stem: {q('Pick')}\n    rationale: {q('Why')}\n    hints: [{q('Think')}]\n"
        f"    options:\n      - {{id: a, text: {q('Alpha')}, correct: true, feedback: {q('Right')}}}\n"
        f"      - {{id: b, text: {q('Beta')}, feedback: {q('Wrong')}}}\n"
        f"  - id: cz\n    type: cloze\n    stem: {json.dumps(f'Fill {text} {{{{w}}}} and {text} {{{{n}}}} then {text}')}\n    hints: [{q('Blanks')}]\n"
        f"    blanks:\n      w: {{answers: [word], feedback: {q('Blank')}}}\n      n: {{number: 3, tolerance: 0}}\n"
        f"  - {{id: fc, type: flashcard, stem: {q('Front')}, answer: {q('Back')}}}\n"
        # Plain texts (itembank.fields), shown as typed in every format: an ordering's steps, a matching's targets.
        f"  - {{id: or, type: ordering, stem: {q('Order')}, sequence: [{q('First')}, {q('Then')}, 'Last']}}\n"
        f"  - {{id: ma, type: matching, stem: {q('Match')}, pairs: [{{prompt: One, match: {q('Target')}}}, {{prompt: Two, match: Other}}]}}\n"
    )
    out = tmp_path / "dist"
    result = CliRunner().invoke(main, ["build", "--bank", str(bank), "-o", str(out), "--no-cache", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "broke its invariants" not in result.output
    assert {p.name for p in out.iterdir()} >= {exporter.default_output for exporter in registry().values()}


@pytest.mark.parametrize(
    "cell,kept",
    [
        ("Le caf&amp;eacute; est bon", True),
        ("Le caf&amp;#233; est bon", True),
        ("Le caf&amp;#xE9; est bon", True),
        ("Le café est bon", True),
        ("Le caf&amp;egrave; est bon", False),  # "cafè": another letter
        ("Le caf est bon", False),
        ("Le est bon", False),
        ("Le caf\\&amp;eacute; est bon", False),  # escaped: Markdown shows "&eacute;" as written
        ("Le `caf&amp;eacute;` est bon", False),  # code: shown as written
        ("Le caf&amp;eacute est bon", False),  # no ";": not a reference in Markdown
    ],
)
def test_the_workbook_audit_reads_a_cell_as_the_markdown_it_shows_and_still_finds_a_lost_text(cell: str, kept: bool) -> None:
    """A workbook cell holds a text's Markdown as written: the audit reads it as Markdown (a
    reference is its letter; in code or after a backslash it is shown as written), so the stem
    "Le caf&eacute; est bon" is in a row that shows it, and not in one that shows other words."""
    r = Renderer()
    tf = TrueFalseItem(id="tf", type="true_false", location=SourceRef("x.yaml"), stem="Le caf&eacute; est bon", answer=True)
    row = f'<row r="2"><c r="A2" t="inlineStr"><is><t>tf</t></is></c><c r="B2" t="inlineStr"><is><t>{cell}</t></is></c><c r="C2"><v>1</v></c></row>'
    result = ExportResult(files={"xl/worksheets/sheet1.xml": f"<worksheet><sheetData>{row}</sheetData></worksheet>".encode()})
    expected = [] if kept else ["[tf] stem is not in the output and no note says why: 'Le caf&eacute; est bon'"]
    assert audit.audit("xlsx", _bank(tf), result, r) == expected


def test_the_audit_finds_a_lost_text_in_its_own_printed_entry() -> None:
    """The printed Markdown is read item by item (its question on the paper, its entry in the key, its
    card): a text found only in another item's part is lost.  Read as a whole, it passed."""
    from itembank.exporters.markdown import exporter as markdown
    from itembank.formats import ExportContext
    from itembank.model import FlashcardItem

    r = Renderer()
    mc = ChoiceItem(id="mc", type="multiple_choice", location=SourceRef("x.yaml"), stem="Pick one", hints=("Think of the slope",),
                    options=(Option(id="a", text="Up", correct=True, feedback="It rises"), Option(id="b", text="Down", feedback="Downhill all the way")))
    other = ChoiceItem(id="other", type="multiple_choice", location=SourceRef("y.yaml"), title="Slopes", stem="Think of the slope",
                       options=(Option(id="a", text="Up", correct=True, feedback="Yes"), Option(id="b", text="Down", feedback="No")))
    card = FlashcardItem(id="fc", type="flashcard", location=SourceRef("z.yaml"), stem="What is a gradient", answer="The slope of the surface")
    card2 = FlashcardItem(id="fc2", type="flashcard", location=SourceRef("z.yaml", 1), stem="What is a slope", answer="Rise over run")
    bank = _bank(mc, other, card, card2)
    result = markdown.export(bank, ExportContext(renderer=r))
    assert result.files is not None
    assert audit.audit("markdown", bank, result, r) == []
    assert set(audit._per_item("markdown", bank, result)) == {"mc", "other", "fc", "fc2"}  # read item by item

    def without(name: str, text: str, instead: str = "Something else") -> ExportResult:
        assert result.files is not None
        files = dict(result.files)
        files[name] = files[name].decode().replace(text, instead).encode()
        return ExportResult(files=files, notes=list(result.notes))

    # mc's hint is lost from the key; the same words are other's stem on the paper.
    lost = without("bank-key.md", "Think of the slope")
    assert audit.audit("markdown", bank, lost, r) == ["[mc] hints[0] is not in the output and no note says why: 'Think of the slope'"]
    # A card's back, lost; the words stand in the other card.
    lost_back = without("flashcards.md", "Rise over run", "The slope")
    assert audit.audit("markdown", bank, lost_back, r) == ["[fc2] answer is not in the output and no note says why: 'Rise over run'"]
    # An output that does not read as the printed layout (entries renumbered) is read as a whole:
    # a text lost from everywhere is still lost.
    renumbered = without("bank-key.md", "2. *Slopes*", "3. *Slopes*")
    assert audit._per_item("markdown", bank, renumbered) == {}
    assert audit.audit("markdown", bank, renumbered, r) == []
    gone = without("bank-key.md", "Downhill all the way")
    gone = ExportResult(files={**(gone.files or {}), "bank-key.md": (gone.files or {})["bank-key.md"].replace(b"2. *Slopes*", b"3. *Slopes*")})
    assert audit._per_item("markdown", bank, gone) == {}
    assert audit.audit("markdown", bank, gone, r) == ["[mc] options[1].feedback is not in the output and no note says why: 'Downhill all the way'"]


def test_the_markdown_audit_keeps_its_verdict_only_for_the_same_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An item that passed keeps its verdict (the fragment cache) only while its printed part is the same."""
    import shutil as _shutil

    from itembank.api import fragments_for, load_bank
    from itembank.exporters.markdown import exporter as markdown
    from itembank.formats import ExportContext, make_options

    monkeypatch.delenv("ITEMBANK_NO_CACHE", raising=False)
    root = tmp_path / "bank"
    _shutil.copytree(ALL_TYPES_BANK, root)
    bank = load_bank(root, cache=True)
    options = make_options({}, markdown.options)
    r = Renderer()
    fragments = fragments_for(bank, markdown, options)
    assert fragments is not None
    result = markdown.export(bank, ExportContext(renderer=r, options=options))
    assert audit.audit("markdown", bank, result, r, fragments) == []
    fragments.save()
    from itembank.fragments import read_pack

    kept = [v for v in read_pack(fragments.path, fragments.scope).values() if v == b"passed"]
    per_item = audit._per_item("markdown", bank, result)
    assert 0 < len(per_item) < audit.RUN
    # each item's verdict, again under its part's identity whatever its number (a question's, not a
    # card's: audit._Printed.moved), and their run's (fewer than RUN items: one run)
    moved = [e for e in per_item.values() if e.moved() is not None]
    assert 0 < len(moved) < len(per_item)
    assert len(kept) == len(per_item) + len(moved) + 1
    fragments = fragments_for(bank, markdown, options)  # the verdicts, read back from the pack
    assert fragments is not None
    hits: list[bytes] = []
    real_get = fragments.get

    def counting_get(key: bytes) -> bytes | None:
        value = real_get(key)
        if value == b"passed":
            hits.append(key)
        return value

    monkeypatch.setattr(fragments, "get", counting_get)
    # An item whose printed question lost its text is read again, and refused.
    item = next(i for i in bank.items if i.type not in ("flashcard", "cloze") and "\n" not in i.stem.strip() and i.stem.strip().encode() in (result.files or {})["bank.md"])
    stem = item.stem.strip()
    assert result.files is not None
    files = dict(result.files)
    files["bank.md"] = files["bank.md"].replace(stem.encode(), b"Something else")
    assert audit.audit("markdown", bank, ExportResult(files=files, notes=result.notes), r, fragments) == [
        f"[{item.id}] stem is not in the output and no note says why: {stem[:60]!r}"
    ]
    assert len(hits) == len(per_item) - 1  # its run changed: every other item passed on its own kept verdict


def test_the_canvas_audit_wants_each_text_in_the_quiz_and_in_the_bank_copy() -> None:
    r = Renderer()
    mc = ChoiceItem(id="mc", type="multiple_choice", location=SourceRef("x.yaml"), stem="Pick one", hints=("Think of the slope",),
                    options=(Option(id="a", text="Up", correct=True), Option(id="b", text="Down")))

    def item(*texts: str) -> str:
        return '<item ident="g1" title="mc">' + "".join(f"<mattext>&lt;p&gt;{t}&lt;/p&gt;</mattext>" for t in texts) + "</item>"

    def package(quiz: str, bank: str) -> ExportResult:
        return ExportResult(files={"g0/g0.xml": f"<questestinterop>{quiz}</questestinterop>".encode(),
                                   "non_cc_assessments/g2.xml.qti": f"<questestinterop>{bank}</questestinterop>".encode()})

    whole = item("Pick one", "Up", "Down", "Think of the slope")
    assert audit.audit("canvas", _bank(mc), package(whole, whole), r) == []
    lost_in_bank = package(whole, item("Pick one", "Up", "Down"))
    assert audit.audit("canvas", _bank(mc), lost_in_bank, r) == ["[mc] hints[0] is not in the output and no note says why: 'Think of the slope'"]
    # a titled item is found by its itembank_id field
    titled = ChoiceItem(id="mc", type="multiple_choice", location=SourceRef("x.yaml"), title="Slopes", stem="Pick one", options=mc.options)
    field = "<qtimetadatafield><fieldlabel>itembank_id</fieldlabel><fieldentry>mc</fieldentry></qtimetadatafield>"
    named = f'<item ident="g1" title="Slopes">{field}<mattext>&lt;p&gt;Pick one&lt;/p&gt;</mattext><mattext>Up</mattext><mattext>Down</mattext></item>'
    assert audit.audit("canvas", _bank(titled), package(named, named), r) == []


_MARKUP = st.lists(st.sampled_from([b"<item ", b"</item>", b"<item", b"</item", b"item>", b"<", b">", b"x", b"\n", b"<i"]), max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(document=_MARKUP, size=st.integers(min_value=1, max_value=20))
@example(document=b"<item a</item><item b</item>", size=7)
@example(document=b"<item <item a</item>x<item b</item>", size=3)
def test_a_package_file_read_as_a_stream_is_cut_as_it_is_cut_whole(document: bytes, size: int) -> None:
    """The Canvas and workbook audits read each package file a chunk at a time: the items' parts are those of the whole file."""
    import io

    streamed = list(audit._streamed_parts(io.BytesIO(document), b"<item ", b"</item>", size))
    assert streamed == list(audit._parts(document, b"<item ", b"</item>"))


def test_a_canvas_copy_is_cut_where_its_only_item_tag_starts(all_types_bank: Bank) -> None:
    """The Canvas audit cuts each copy from the first ``<item `` after the previous copy's end (one
    forward search; it searched backwards from the end, ~0.1 s more on 10,000 items): the same cut,
    as every copy the exporter writes holds one ``<item `` tag, its own."""
    import io
    import zipfile

    from itembank.formats import ExportContext, get_exporter

    result = get_exporter("canvas").export(all_types_bank, ExportContext(renderer=Renderer()))
    assert result.data is not None
    with zipfile.ZipFile(io.BytesIO(result.data)) as z:
        files = [z.read(n) for n in sorted(z.namelist()) if n.endswith((".xml", ".qti"))]
    cut = 0
    for document in files:
        chunks = document.split(b"</item>")[:-1]
        backwards = [chunk[chunk.rfind(b"<item ") :] + b"</item>" for chunk in chunks if b"<item " in chunk]
        assert list(audit._parts(document, b"<item ", b"</item>")) == backwards
        cut += len(backwards)
    assert cut >= 2 * len(all_types_bank.items) - 2  # (the quiz's and the question bank's copies)


def test_the_audit_puts_large_parts_aside_in_a_file_and_reads_them_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    parts = [bytes([65 + k % 26]) * (k * 37 % 500 + 1) for k in range(200)]
    with audit._Spill() as spill:
        spill.MEMORY = 1000
        spill._BATCH = 3000  # type: ignore[misc]
        where = [(spill.add(p), len(p)) for p in parts]
        spill.done()
        assert spill._file is not None and spill._memory is None  # on disk, not in memory
        assert [spill.read(at, n) for at, n in where] == parts
    # a disk that fills up: what was written comes back to memory, and the rest stays there
    real = os.pwrite
    calls = []

    def pwrite(fd: int, data: bytes, at: int) -> int:
        calls.append(at)
        if len(calls) > 2:
            raise OSError(28, "No space left on device")
        return real(fd, data, at)

    monkeypatch.setattr(os, "pwrite", pwrite)
    with audit._Spill() as spill:
        spill.MEMORY = 1000
        spill._BATCH = 3000  # type: ignore[misc]
        where = [(spill.add(p), len(p)) for p in parts]
        spill.done()
        assert len(calls) == 3 and spill._file is None and spill._memory is not None
        assert [spill.read(at, n) for at, n in where] == parts


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=3), st.lists(st.binary(max_size=40), min_size=1, max_size=3))
@settings(max_examples=200)
def test_an_items_parts_in_the_spill_are_told_apart_by_every_copy(one: list[bytes], other: list[bytes]) -> None:
    """The identity the audit keeps its verdict under (a Canvas item's quiz and bank copies, a
    workbook row) is the same for the same copies and differs when any copy differs, the first as
    much as the last, or when there is one copy more."""
    with audit._Spill() as spill:
        first, second = audit._Slices("canvas", spill), audit._Slices("canvas", spill)
        for raw in one:
            first.add(raw)
        for raw in other:
            second.add(raw)
        spill.done()
        assert (first.identity() == second.identity()) == (one == other)
        assert [spill.read(at, n) for at, n in first.spans] == one


@pytest.mark.parametrize("fmt", ["canvas", "xlsx"])
def test_the_audit_finds_the_same_with_the_items_parts_in_a_file(monkeypatch: pytest.MonkeyPatch, all_types_bank, fmt: str) -> None:
    """The Canvas and workbook audits put each item's part aside (in memory, or in a temporary file
    past a size): the same findings either way, on a whole export and on one that lost a text."""
    import dataclasses
    import io
    import zipfile

    from itembank.formats import ExportContext, get_exporter

    r = Renderer()
    result = get_exporter(fmt).export(all_types_bank, ExportContext(renderer=r))
    assert result.data is not None
    with zipfile.ZipFile(io.BytesIO(result.data)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    item = next(i for i in all_types_bank.items if i.type == "multiple_choice" and i.hints)
    hint = item.hints[0].encode()
    member = next(n for n in sorted(files) if hint in files[n])  # canvas: the quiz (the bank copy keeps it)
    lost = dataclasses.replace(result, data=None, files={**files, member: files[member].replace(hint, b"Zzzzq")})
    in_memory = [audit.audit(fmt, all_types_bank, x, r) for x in (result, lost)]
    assert in_memory == [[], [f"[{item.id}] hints[0] is not in the output and no note says why: {item.hints[0][:60]!r}"]]
    monkeypatch.setattr(audit._Spill, "MEMORY", 64)  # every item's part goes to the file
    to_file = audit._Spill._to_file
    files_made: list[int] = []
    monkeypatch.setattr(audit._Spill, "_to_file", lambda spill: (files_made.append(1), to_file(spill))[1])
    assert [audit.audit(fmt, all_types_bank, x, r) for x in (result, lost)] == in_memory
    assert len(files_made) == 2


@pytest.mark.parametrize("fmt", ["qti21", "moodle", "gift", "markdown", "canvas"])
def test_the_audit_shared_out_finds_what_one_process_finds(monkeypatch: pytest.MonkeyPatch, all_types_bank, fmt: str) -> None:
    """Over 1, 2 or 3 processes the audit reports the same findings in the same order, on an export
    that keeps its invariants and on one that lost texts of several items (read in different shares)."""
    import itembank.audit as audit_module
    from conftest import count_shares
    from itembank.formats import ExportContext, get_exporter

    r = Renderer()
    opts = ExportOptions(unzipped=True) if fmt in ("qti21", "canvas") else ExportOptions()
    result = get_exporter(fmt).export(all_types_bank, ExportContext(renderer=r, options=opts))
    shares = count_shares(monkeypatch, audit_module)
    assert [audit.audit(fmt, all_types_bank, result, r, jobs=j) for j in (1, 2, 3)] == [[], [], []]
    # every item's stem made unreadable where it stands (a word of it replaced)
    broken = 0
    for item in all_types_bank.items:
        word = max(re.findall(r"[A-Za-z]{5,}", item.stem) or [""], key=len)
        if not word:
            continue
        if result.files is not None:
            for name, data in result.files.items():
                if word.encode() in data:
                    result.files[name] = data.replace(word.encode(), b"Zzzzq")
                    broken += 1
        elif result.data is not None and word.encode() in result.data:
            result.data = result.data.replace(word.encode(), b"Zzzzq")
            broken += 1
    assert broken >= 3
    found = [audit.audit(fmt, all_types_bank, result, r, jobs=j) for j in (1, 2, 3)]
    assert found[0] and found[0] == found[1] == found[2]
    assert sorted(set(shares)) == ([1, 2, 3] if can_fork() else [1])  # the reads really were shared out


def test_the_canvas_audit_searches_one_copy_only_where_the_copies_are_the_same_text(all_types_bank) -> None:
    """A Canvas item is in the quiz and in its question bank; the copies differ only by what the
    quiz's has more (its ident, the field naming the bank's copy), so the pieces are searched in the
    bank's copy alone.  A text lost from either copy is still found missing (the copies then differ
    and both are searched), whichever copy lost it."""
    import dataclasses
    import io
    import zipfile

    from itembank.formats import ExportContext, get_exporter

    r = Renderer()
    result = get_exporter("canvas").export(all_types_bank, ExportContext(renderer=r))
    assert result.data is not None
    entries = audit._per_item("canvas", all_types_bank, result, None)
    loaded = {name: entry.load() for name, entry in entries.items()}
    copies = [c for c in loaded.values() if isinstance(c, audit._Copies)]
    assert copies and all(len(c.parts) == 2 and len(c.holding) == 1 for c in copies)
    assert all("assessment_question_identifierref" not in c.holding[0].raw for c in copies)  # the bank's copy
    with zipfile.ZipFile(io.BytesIO(result.data)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    item = next(i for i in all_types_bank.items if i.type == "multiple_choice" and i.hints)
    hint = item.hints[0].encode()
    holders = [n for n in sorted(files) if hint in files[n]]
    assert len(holders) == 2  # the quiz and the bank
    for member in holders:
        lost = dataclasses.replace(result, data=None, files={**files, member: files[member].replace(hint, b"Zzzzq")})
        assert audit.audit("canvas", all_types_bank, lost, r) == [f"[{item.id}] hints[0] is not in the output and no note says why: {item.hints[0][:60]!r}"], member


# --- a blank's name that Markdown would read as emphasis -------------------------------------------

_EMPHASIS_NAMES = """\
items:
- id: one
  type: cloze
  stem: "The {{_a_}} value."
  blanks:
    _a_: {answers: [x]}
- id: two
  type: cloze
  stem: "Both {{_x}} and {{y_}} here, *so* {{__a__}} _and_ **{{a_b_c}}** or _{{w}}_."
  blanks:
    _x: {answers: [x]}
    y_: {choices: [p, q], correct: p}
    __a__: {number: 3}
    a_b_c: {answers: [x]}
    w: {answers: [x]}
- id: three
  type: cloze
  stem: |
    ## Part {{_h_}} of it

    | name | value |
    |---|---|
    | {{_t}} | {{u_}} |

    - first {{_l}}
    - then {{l_}}

    `code {{x}}` stays code, and {{_}} after it.
  blanks:
    _h_: {answers: [x]}
    _t: {answers: [x]}
    u_: {answers: [x]}
    _l: {answers: [x]}
    l_: {answers: [x]}
    _: {answers: [x]}
"""


@pytest.mark.parametrize("fmt", ["qti21", "qti30", "canvas", "moodle", "html", "markdown", "xlsx"])
def test_blank_names_with_underscores_export_in_every_format(tmp_path: Path, fmt: str) -> None:
    """{{_a_}}, {{_x}} ... {{y_}}: Markdown read the underscores as emphasis, so QTI lost the
    placeholder (the audit refused a valid bank: exit 1), HTML skipped the items as 'inside code',
    Canvas wrote [<em>x] and [y</em>] silently.  Each blank is now one answer field in every format."""
    from click.testing import CliRunner

    from itembank.cli import main

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "c.yaml").write_text(_EMPHASIS_NAMES.replace("`code {{x}}` stays code", "`code` stays code"), encoding="utf-8")
    result = CliRunner().invoke(main, ["export", fmt, "--bank", str(bank), "-o", str(tmp_path / "out"), "--no-cache", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.output, result.output
    if fmt == "html":
        import lxml.html

        doc = lxml.html.document_fromstring((tmp_path / "out" / "practice.html").read_text(encoding="utf-8"))
        for item_id, names in {"one": ["_a_"], "two": ["_x", "y_", "__a__", "a_b_c", "w"], "three": ["_h_", "_t", "u_", "_l", "l_", "_"]}.items():
            fields = doc.xpath(f'//article[@data-item="{item_id}"]//*[self::input or self::select]/@data-blank')
            assert fields == names, item_id


def test_a_placeholder_in_code_stays_as_written_with_underscores() -> None:
    """A token in code is given back as the placeholder as written (the name's underscores, its spaces)."""
    stem = "Run `f({{ _x_ }})` then {{_y}} and {{ z_ }}."
    item = ClozeItem(id="cz", type="cloze", location=SourceRef("x.yaml"), stem=stem,
                     blanks=tuple(Blank(name=n, kind="text", answers=("a",)) for n in ("_y", "z_")))
    for fmt in PROFILES:
        root = etree.fromstring(ItemWriter(PROFILES[fmt], Renderer(), item, "t").write())
        assert len(local(root, "textEntryInteraction")) == 2
        assert [c.text for c in local(root, "code")] == ["f({{ _x_ }})"]


# --- the audit's cost (issue 13): the same findings, fewer calls ---------------------------------------


_HAYISH = st.lists(st.sampled_from(list("ab _1<>\\~=#{}:&;\n.(\"'é\t") + ["ab", "<p>", "</p>", "<a b>", "a b", "&lt;", "&gt;", '<a b="c>d">']), max_size=30).map("".join)


@settings(max_examples=1000)
@given(_HAYISH, st.lists(st.lists(st.sampled_from(["a", "b", "ab", "a b", "_", "1", "b<", ">a", "&", ";a", "#", ":b", "a\\", "é", "b.", "(a", "d"]), max_size=3), max_size=4), st.booleans())
@example("<a b>", [["b"]], True)  # in a tag, after a space: not text
@example("x &lt;a b=1&gt; <a b=1>", [["b"]], True)  # an escaped tag is text; the tag after it is not
@example("a_b b", [["b", "b"]], False)  # "_" joins a word: the first "b" is the second one (and no other follows)
@example("éb b", [["b", "b"]], False)
@example("b_ b", [["b", "b"]], False)
@example("b a b", [["a"], ["b"]], True)  # the second text found after the first (looked for from there first)
@example("b a", [["a"], ["b"]], False)  # ... and only before it: looked for again from the start
@example("a b<p>b a</p>", [["b", "a"], ["a", "b"], ["b"]], True)
def test_the_audits_search_of_all_an_items_texts_finds_what_a_search_of_each_piece_finds(hay: str, written: list[list[str]], xml: bool) -> None:
    """``_lacking`` looks for all of an item's texts in one call: a text is lacking exactly when
    ``_find_words``, piece after piece from where the previous one ends, misses one of its pieces."""
    def lacks(pieces: list[str]) -> bool:
        pos = 0
        for piece in pieces:
            pos = audit._find_words(hay, piece, pos, xml)
            if pos < 0:
                return True
        return False

    ends = [sum(map(len, written[: k + 1])) for k in range(len(written))]
    assert audit._lacking(hay, [piece for pieces in written for piece in pieces], ends, xml) == [k for k, pieces in enumerate(written) if lacks(pieces)]


@given(st.text(alphabet="ab \\~=#{}:é\n", max_size=20))
def test_the_gift_audit_escapes_a_piece_as_gift_does(piece: str) -> None:
    assert audit._gift_escaped(piece) == audit._GIFT_SPECIAL.sub(lambda m: "\\" + m.group(), piece)


def test_the_audit_cuts_an_items_texts_once_for_every_format_and_forgets_them_with_the_item() -> None:
    """What the audit reads of an item whatever the format (its texts' pieces) is worked out at its
    first audit and taken by the next format's: the findings are those of a first audit."""
    import gc

    mc = ChoiceItem(id="mc", type="multiple_choice", location=SourceRef("x.yaml"), stem="Pick *one*", hints=("Think of the slope",),
                    options=(Option(id="a", text="Up", correct=True), Option(id="b", text="Down", feedback="No: it rises")))
    moodle = ExportResult(data=b'<?xml version="1.0"?><quiz><question type="multichoice"><idnumber>mc</idnumber><questiontext><text><![CDATA[<p>Pick <em>one</em></p>]]></text></questiontext>'
                               b"<answer><text>Up</text></answer><answer><text>Down</text><feedback><text>No: it rises</text></feedback></answer></question></quiz>")
    qti = ExportResult(files={"items/mc.xml": b"<assessmentItem><itemBody><p>Pick <em>one</em></p><p>Up</p><p>Down</p><p>No: it rises</p><p>Think of the slope</p></itemBody></assessmentItem>"})
    lost = ["[mc] hints[0] is not in the output and no note says why: 'Think of the slope'"]
    r = Renderer()
    assert audit.audit("moodle", _bank(mc), moodle, r) == lost
    known = audit._KNOWN[id(mc)]
    assert known() is mc and [t[0] for t in known.texts(mc)] == ["stem", "hints[0]", "options[0].text", "options[1].text", "options[1].feedback"]
    assert [known.pieces_of(k) for k in range(5)] == [("Pick", "one"), ("Think of the slope",), ("Up",), ("Down",), ("No: it rises",)]
    fresh = Renderer()
    assert audit.audit("qti21", _bank(mc), qti, fresh) == []  # another renderer: the same pieces, not made again
    assert audit._KNOWN[id(mc)] is known and fresh.renders == 0
    assert audit.audit("moodle", _bank(mc), moodle, r) == lost

    class Other(Renderer):
        pass

    other = Other()
    assert audit.audit("moodle", _bank(mc), moodle, other) == lost and other.renders > 0  # a renderer of another kind renders for itself
    key = id(mc)
    del mc, known
    gc.collect()
    assert key not in audit._KNOWN


@settings(max_examples=100)
@given(st.lists(st.tuples(st.sampled_from(["items/a.xml", "items/é.xml", "b.txt", "c"]), st.binary(max_size=300), st.booleans()), min_size=1, max_size=4, unique_by=lambda m: m[0]))
def test_the_audit_inflates_a_zip_member_as_zipfile_reads_it(members: list[tuple[str, bytes, bool]]) -> None:
    """``_inflated`` gives a deflated member's bytes as ``ZipFile.read`` does, or None (a stored
    member, a wrong CRC-32 or size): then ``ZipFile.read`` reads it, or says what is wrong."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data, deflated in members:
            z.writestr(name, data, zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED)
    data = buffer.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            got = audit._inflated(data, info)
            assert got == (z.read(info.filename) if info.compress_type == zipfile.ZIP_DEFLATED else None)
            info.CRC ^= 1  # the directory says otherwise: not inflated here, and ZipFile.read refuses it
            assert audit._inflated(data, info) is None
            with pytest.raises(zipfile.BadZipFile):
                z.read(info)


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.sampled_from(["items/a.xml", "b.xml", "c"]), st.binary(max_size=3000) | st.text(max_size=400).map(lambda t: t.encode() * 50), st.booleans()), min_size=1, max_size=3, unique_by=lambda m: m[0]),
    st.lists(st.integers(min_value=-1, max_value=5000), min_size=1, max_size=20),
    st.integers(min_value=1, max_value=600),
)
def test_the_audit_streams_a_zip_member_as_zipfile_reads_it(members: list[tuple[str, bytes, bool]], sizes: list[int], slice_size: int) -> None:
    """``_Files.stream`` reads a deflated member by ISA-L in slices (``_Inflating``), in reads of any
    size: the bytes ``ZipFile.read`` gives; a wrong CRC-32 or size in the directory, or a stream cut
    short, is ``BadZipFile`` when the end is read, as ``ZipFile.open`` says it."""
    import copy
    import io
    import zipfile

    from itembank.formats import ExportResult

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data, deflated in members:
            z.writestr(name, data, zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED)
    data = buffer.getvalue()

    def read_all(stream: Any) -> bytes:  # reads of the sizes drawn, then the rest at once
        out: list[bytes] = []
        for k in range(10_000):
            size = sizes[k % len(sizes)] if k < 200 else -1
            chunk = stream.read(size)
            if size == 0:
                assert chunk == b""
                continue
            assert size < 0 or len(chunk) <= size
            if not chunk:
                return b"".join(out)
            out.append(chunk)
        raise AssertionError("no end")

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            files = audit._Files(ExportResult(data=data))
            stream = files.stream(info.filename)
            assert isinstance(stream, audit._Inflating) == (info.compress_type == zipfile.ZIP_DEFLATED)
            if isinstance(stream, audit._Inflating):
                stream.SLICE = slice_size
            assert read_all(stream) == z.read(info.filename)
            if info.compress_type != zipfile.ZIP_DEFLATED:
                continue
            for wrong in ({"CRC": info.CRC ^ 1}, {"file_size": info.file_size + 1}):
                bad = copy.copy(info)
                for field, value in wrong.items():
                    setattr(bad, field, value)
                start, end = audit._deflated_span(data, bad)  # type: ignore[misc]
                with pytest.raises(zipfile.BadZipFile):
                    read_all(audit._Inflating(memoryview(data)[start:end], bad))
            start, end = audit._deflated_span(data, info)  # type: ignore[misc]
            if end - start > 2:
                with pytest.raises(zipfile.BadZipFile):  # cut short
                    read_all(audit._Inflating(memoryview(data)[start : end - 2], info))


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(["\n", "\r", " ", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u3000", "a", "1", ".", "#", "é"]), max_size=40))
def test_the_lines_at_the_margin_are_found_as_the_multiline_regex_finds_them(document: str) -> None:
    """The printed Markdown's entries start at lines that start at the margin: found by jumping from
    line break to line break, they are where ``^(?=\\S)`` (MULTILINE) matches, whatever the spaces."""
    assert list(audit._flush_lines(document)) == [m.start() for m in audit._FLUSH.finditer(document)]


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), st.sampled_from(["", ' s="3"', ' t="inlineStr"']), st.integers(1, 10**6), st.text(max_size=30))
def test_a_workbook_rows_id_is_read_from_its_bytes_as_from_its_text(ident: str, attrs: str, row: int, rest: str) -> None:
    """The workbook audit reads each row's id (column A) from the row's bytes, decoding only the id:
    what the regular expression over the decoded row found."""
    import html as _html

    text = f'<row r="{row}"><c r="A{row}"{attrs}><is><t>{_html.escape(ident, quote=False)}</t></is></c>{rest}</row>'
    by_text = re.match(r'^<row\b[^>]*><c r="A\d+"[^>]*><is><t>([^<]*)</t></is></c>', text)
    by_bytes = audit._XLSX_ID.match(text.encode("utf-8"))
    assert (by_text is None) == (by_bytes is None)
    if by_text is not None and by_bytes is not None:
        assert by_bytes.group(1).decode("utf-8") == by_text.group(1)


_MOODLE_BITS = st.lists(
    st.sampled_from([b"<question>", b"</question>", b"<idnumber>q</idnumber>", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<!", b"!", b"?", b"<?", b"<", b"x", b"\n"]),
    max_size=30,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(_MOODLE_BITS, st.integers(0, 5))
def test_the_moodle_audit_slices_only_when_every_markup_declaration_is_a_section(body: bytes, few: int) -> None:
    """The Moodle audit cuts the document as bytes only when each ``<!`` in it opens a CDATA section
    or a comment and ``<?`` occurs once (it counts ``!`` and ``?`` alone where that tells: faster
    than counting the pairs); the count of ``<?`` is ``bytes.count``'s either way."""
    document = b'<?xml version="1.0"?>\n<quiz>' + body + b"</quiz>"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(audit, "_FEW_MARKS", few)  # both ways of counting "<?"
        assert audit._declarations(document) == document.count(b"<?")
        sliced = audit._moodle_sliced(document)
    if sliced is not None:
        at = document.find(b"<!")
        while at >= 0:
            assert document.startswith((b"<![CDATA[", b"<!--"), at), document
            at = document.find(b"<!", at + 1)
        assert document.count(b"<?") == 1
