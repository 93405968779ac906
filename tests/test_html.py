"""The HTML export without a browser: every item accounted for, escaping, scoring data from the
model, MathML, images, pagination, determinism.  (The browser tests are in test_html_browser.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import markupsafe
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from markupsafe import Markup

from conftest import ALL_TYPES_BANK, ROOT, count_shares, generated_bank
from itembank import Bank, load_bank
from itembank.api import export
from itembank.formats import ExportContext
from itembank.model import BankConfig, ClozeItem, MatchingItem, ShortAnswerItem, SourceRef, Blank, Pair

EDGE_BANK = ROOT / "tests" / "banks" / "html-edge"


def _files(bank: Bank, **options: object) -> dict[str, bytes]:
    result = export(bank, "html", **options)
    assert result.files is not None
    return result.files


def _doc(data: bytes) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(data.decode("utf-8"))


def _keys(doc: lxml.html.HtmlElement) -> dict[str, dict]:
    return json.loads(doc.get_element_by_id("ib-keys").text)


@pytest.mark.parametrize("root", ["items", "tests/banks/all-types", "tests/banks/html-edge"])
def test_every_item_written_once_on_its_part(root: str) -> None:
    bank = load_bank(ROOT / root)
    result = export(bank, "html")
    assert result.skipped == []
    assert sum(result.written.values()) == len(bank.items)
    files = result.files or {}
    seen: list[str] = []
    for name in ("flashcards.html", "practice.html", "open.html"):
        if name in files:
            seen += [el.get("data-item") for el in _doc(files[name]).xpath("//*[@data-item]")]
    assert sorted(seen) == sorted(i.id for i in bank.items)
    assert files["assets/itembank.js"] and files["assets/itembank.css"]


def test_same_input_same_bytes(seed_bank: Bank) -> None:
    assert _files(seed_bank) == _files(seed_bank)


def test_no_network_reference_in_any_page(seed_bank: Bank) -> None:
    for name, data in _files(seed_bank).items():
        if name.endswith(".html"):
            doc = _doc(data)
            refs = doc.xpath("//@src | //@href")
            assert all(not re.match(r"^[a-z]+://|^//", r) for r in refs), (name, refs)


def test_every_control_has_a_label(all_types_bank: Bank) -> None:
    for name, data in _files(all_types_bank).items():
        if not name.endswith(".html"):
            continue
        doc = _doc(data)
        labelled = set(doc.xpath("//label/@for"))
        for control in doc.xpath("//input | //select | //textarea"):
            assert control.get("id") in labelled or control.get("aria-label"), (name, lxml.html.tostring(control))
        assert doc.get("lang") == "en"
        assert all(img.get("alt") is not None for img in doc.xpath("//img"))


def test_plain_text_fields_are_escaped() -> None:
    files = _files(load_bank(EDGE_BANK))
    raw = files["practice.html"].decode()
    assert "<script>alert(1)" not in raw and "&lt;/script&gt;&lt;script&gt;alert(1)" in raw
    doc = _doc(files["practice.html"])
    options = [o.text for o in doc.xpath('//article[@data-item="edge-match"]//select[1]/option')]
    assert "</script><script>alert(1)</script>" in options and "<bold> & strong" in options
    assert "<title>Practice — HTML edge cases &lt;&amp;&gt;</title>" in raw
    keys = _keys(doc)
    assert keys["edge-code"]["answers"] == ["<b>&amp;"]  # JSON in <script>: "<" is \u003c, never "</script>"
    assert "<b>&amp;" not in doc.get_element_by_id("ib-keys").text_content().replace("\\u003c", "")


def test_math_is_mathml_and_images_are_copied(all_types_bank: Bank) -> None:
    files = _files(all_types_bank)
    doc = _doc(files["practice.html"])
    maths = doc.xpath('//article[@data-item="at-mc"]//math')
    assert maths and maths[0].get("display") == "inline" and "$" not in doc.xpath('string(//article[@data-item="at-mc"]//div[@class="stem"])')
    img = doc.xpath('//article[@data-item="at-mc"]//img')[0]
    assert img.get("src") == "media/media/loss-curve.png" and img.get("alt") == "Loss falling over epochs"
    assert files["media/media/loss-curve.png"] == (ALL_TYPES_BANK / "media" / "loss-curve.png").read_bytes()


def test_scoring_data_comes_from_the_model(all_types_bank: Bank) -> None:
    keys = _keys(_doc(_files(all_types_bank)["practice.html"]))
    assert keys["at-mr"] == {"kind": "choice", "points": 3.0, "keys": ["a", "b"], "partial": True,
                             "values": {"a": 1.5, "b": 1.5, "c": -1.5, "d": -1.5}}
    assert keys["at-mr-strict"]["partial"] is False
    assert keys["at-sa"] == {"kind": "text", "points": 1.0, "answers": ["pre-training", "pretraining"], "case": False}
    assert keys["at-num-range"] == {"kind": "number", "points": 1.0, "low": 0.001, "high": 0.01}
    assert keys["at-match"]["share"] == 1.0 and keys["at-match"]["pairs"] == {"P1": "M1", "P2": "M2", "P3": "M3"}
    assert keys["at-order"]["order"] == ["S1", "S2", "S3", "S4"]
    assert {b: v["share"] for b, v in keys["at-cloze"]["blanks"].items()} == {"phase1": 1.0, "phase2": 1.0, "epochs": 1.0}
    assert "at-card" not in keys


def test_ordering_and_matching_never_start_in_key_order(all_types_bank: Bank) -> None:
    doc = _doc(_files(all_types_bank)["practice.html"])
    steps = doc.xpath('//article[@data-item="at-order"]//li/@data-step')
    assert sorted(steps) == ["S1", "S2", "S3", "S4"] and steps != ["S1", "S2", "S3", "S4"]


def test_numeric_bounds_are_the_decimal_ones() -> None:
    from itembank.exporters.html.keys import scoring_key
    from itembank.model import NumericItem

    item = NumericItem(id="n", type="numeric", stem="s", location=SourceRef("x.yaml"), answer=0.7, tolerance=0.1)
    key = scoring_key(item)
    assert key is not None and key["high"] == 0.8 and key["low"] == 0.6


def _bank(*items: object) -> Bank:
    return Bank(root=ROOT, config=BankConfig(title="t"), items=tuple(items))  # type: ignore[arg-type]


def test_cloze_blank_after_inline_code_and_inside_code() -> None:
    after = ClozeItem(id="c1", type="cloze", stem="Run `fit()` {{a}} now.", location=SourceRef("x.yaml"),
                      blanks=(Blank(name="a", kind="text", answers=("then",)),))
    inside = ClozeItem(id="c2", type="cloze", stem="Literal `{{a}}` only.", location=SourceRef("x.yaml"),
                       blanks=(Blank(name="a", kind="text", answers=("x",)),))
    result = export(_bank(after, inside), "html")
    doc = _doc((result.files or {})["practice.html"])
    stem = doc.xpath('//article[@data-item="c1"]//div[@class="stem"]')[0]
    assert [c.tag for c in stem.iter("code", "input")] == ["code", "input"]
    assert result.skipped == [("c2", "cloze blank(s) a appear only inside code, where no input can go")]


def test_pages_of_page_size(seed_bank: Bank) -> None:
    files = _files(seed_bank, page_size=4)
    assert {"practice.html", "practice-2.html", "practice-3.html", "flashcards-2.html"} <= set(files)
    doc = _doc(files["practice-2.html"])
    assert doc.xpath('//nav[@class="pager"]//a[@aria-current="page"]/text()') == ["2"]
    assert doc.xpath("//article//h3/text()")[0] == "Question 5"


def test_assessment_form_is_a_test_page(seed_bank: Bank) -> None:
    files = _files(seed_bank, assessment="pattern-check", form="B")
    doc = _doc(files["index.html"])
    assert doc.xpath("//section[@data-title]/@data-title") == ["Easy", "Medium", "Hard"]
    assert len(doc.xpath("//article[@data-item]")) == 10
    assert not doc.xpath('//button[@class="check"]')


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "\x00" not in s and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)))
def test_any_plain_text_round_trips_through_the_page(value: str) -> None:
    """Whatever a plain-text field holds is what the page shows (escaped, never interpreted)."""
    value = "".join(c for c in value if c.isprintable()) or "x"
    sa = ShortAnswerItem(id="s", type="short_answer", stem="Q", location=SourceRef("x.yaml"), answers=(value,))
    mt = MatchingItem(id="m", type="matching", stem="Q", location=SourceRef("x.yaml"),
                      pairs=(Pair("a", value), Pair("b", value + "2")))
    result = export(_bank(sa, mt), "html", ctx=ExportContext())
    doc = _doc((result.files or {})["practice.html"])
    assert _keys(doc)["s"]["answers"] == [value]
    options = doc.xpath('//article[@data-item="m"]//select[1]/option/text()')
    assert value in options


QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"


def _qti_scoring(xml: bytes) -> dict[str, object]:
    """What the QTI 2.1 item scores with: MAXSCORE, the mappings, the interval bounds."""
    from lxml import etree

    root = etree.fromstring(xml)
    out: dict[str, object] = {"max": float(root.find(f".//{QTI}outcomeDeclaration[@identifier='MAXSCORE']//{QTI}value").text)}
    maps = {}
    for decl in root.iter(f"{QTI}responseDeclaration"):
        entries = [(e.get("mapKey"), float(e.get("mappedValue")), e.get("caseSensitive")) for e in decl.iter(f"{QTI}mapEntry")]
        if entries:
            maps[decl.get("identifier")] = entries
    out["maps"] = maps
    out["bounds"] = [float(b.text) for op in ("gte", "lte") for e in root.iter(f"{QTI}{op}") for b in e.iter(f"{QTI}baseValue")]
    return out


@pytest.mark.parametrize("source", ["items", "tests/banks/all-types", "tests/banks/html-edge", "generated"])
def test_scoring_data_equals_the_qti_exports(source: str, tmp_path: Path) -> None:
    """The page's scoring data and the QTI items (scored by the real QTI player in test_qti_player)
    come from the same model values: same maxima, same per-option and per-pair values, same
    accepted answers and case rules, same numeric intervals (to 15 significant digits)."""
    if source == "generated":
        bank = load_bank(generated_bank(tmp_path / "gen", 300))
    else:
        bank = load_bank(ROOT / source)
    from itembank.exporters.html.keys import scoring_key

    qti = export(bank, "qti21", unzipped=True).files or {}
    checked = 0
    for item in bank.items:
        key = scoring_key(item)
        name = next((n for n in qti if n.startswith("items/") and n.endswith(".xml") and f'identifier="{item.id}"'.encode() in qti[n][:2000]), None)
        if key is None or key["kind"] == "essay" or name is None:
            continue
        q = _qti_scoring(qti[name])
        assert q["max"] == pytest.approx(key["points"]), item.id
        maps = q["maps"]
        assert isinstance(maps, dict)
        if key["kind"] == "choice" and key["partial"]:
            values = {k.split("_", 1)[-1] if k.startswith("C_") else k: v for k, v, _c in maps["RESPONSE"]}
            assert values == pytest.approx(key["values"]), item.id
        elif key["kind"] == "text":
            assert sorted({k for k, _v, _c in maps["RESPONSE"]}) == sorted(set(key["answers"]))
            assert {c for _k, _v, c in maps["RESPONSE"]} == {"true" if key["case"] else "false"}
        elif key["kind"] == "number":
            assert q["bounds"] == pytest.approx([key["low"], key["high"]], rel=1e-12), item.id
        elif key["kind"] == "match":
            assert all(v == pytest.approx(key["share"]) for _k, v, _c in maps["RESPONSE"]), item.id
        elif key["kind"] == "cloze":
            for blank in key["blanks"].values():
                if blank["kind"] == "text":
                    shares = {v for entries in maps.values() for _k, v, _c in entries}
                    assert any(blank["share"] == pytest.approx(s) for s in shares), item.id
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("root", ["items", "tests/banks/all-types", "tests/banks/html-edge"])
def test_every_link_and_image_resolves_with_check(root: str) -> None:
    from itembank.exporters.html.links import broken_links

    result = export(load_bank(ROOT / root), "html", check=True)
    files = result.files or {}
    assert broken_links(files) == []
    assert any(n.startswith("checked: every link") for n in result.notes)
    pages = [n for n in files if n.endswith(".html")]
    victim = next((n for n in files if n.startswith("media/")), "flashcards.html" if "flashcards.html" in files else pages[-1])
    damaged = {k: v for k, v in files.items() if k != victim}
    assert broken_links(damaged), f"removing {victim} must break a link"


def test_pool_note_and_summary_note_read_right_for_one(tmp_path: Path) -> None:
    """'1 of these 2 questions is drawn', '1 essay item:' — not 'are drawn' / 'item(s)'."""
    import shutil

    root = tmp_path / "bank"
    shutil.copytree(ALL_TYPES_BANK, root)
    (root / "assessments").mkdir()
    (root / "assessments" / "quiz.yaml").write_text(
        "title: Quiz\ninclude_drafts: true\nsections:\n  - title: Pool\n    select:\n"
        "      - {type: [true_false, short_answer], count: 1, delivery: random}\n",
        encoding="utf-8",
    )
    bank = load_bank(root)
    doc = _doc(_files(bank, assessment="quiz")["index.html"])
    assert doc.xpath('normalize-space(//p[@class="pick-note"])') == "1 of these 2 questions is drawn at random each time the page is opened."
    result = export(bank, "html")
    essays = sum(1 for i in bank.items if i.type == "essay")
    assert any(n.startswith(f"{essays} essay item{'s' * (essays != 1)}: ") for n in result.notes), result.notes
    assert not any("(s)" in n for n in result.notes), result.notes


def _cloze_skip_bank() -> Bank:
    """Items around a cloze no page can show: the question numbers after it must not shift."""
    items: list[object] = [
        ShortAnswerItem(id=f"s{n}", type="short_answer", stem=f"Question {n}?", answers=("yes",), location=SourceRef("x.yaml"))
        for n in range(5)
    ]
    items.insert(2, ClozeItem(id="c2", type="cloze", stem="Literal `{{a}}` only.", location=SourceRef("x.yaml"),
                              blanks=(Blank(name="a", kind="text", answers=("x",)),)))
    return _bank(*items)


@pytest.mark.parametrize("source", ["items", "tests/banks/all-types", "tests/banks/html-edge", "cloze-skip", "generated"])
def test_pages_shared_out_over_processes_are_the_same_bytes(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`export -j N` renders the pages in N forked processes: the site is byte for byte the one
    process's, files in the same order, with the same account of items."""
    import itembank.exporters.html.site as site

    if source == "generated":
        bank = load_bank(generated_bank(tmp_path / "gen", 200))
    elif source == "cloze-skip":
        bank = _cloze_skip_bank()
    else:
        bank = load_bank(ROOT / source)
    shares = count_shares(monkeypatch, site)  # share out even these small banks
    one = export(bank, "html", page_size=2, jobs=1)
    for jobs in (2, 3):
        many = export(bank, "html", page_size=2, jobs=jobs)
        assert list(many.files or {}) == list(one.files or {})
        assert many.files == one.files
        assert (many.skipped, many.written, many.notes) == (one.skipped, one.written, one.notes)
    from itembank.forked import can_fork

    assert shares == ([1, 2, 3] if can_fork() else [1, 1, 1])  # the pages really were shared out
    # Each page's questions go on from the previous page's, a skipped item taking no number.
    files = one.files or {}
    for part in ("practice", "open"):
        pages = sorted((n for n in files if re.fullmatch(rf"{part}(-\d+)?\.html", n)), key=lambda n: int(re.sub(r"\D", "", n) or 1))
        numbers = [h.text_content() for name in pages for h in _doc(files[name]).xpath("//article/header/h3")]
        assert numbers == [f"Question {n}" for n in range(1, len(numbers) + 1)]


def test_small_banks_stay_in_one_process(seed_bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    import itembank.exporters.html.site as site

    jobs_seen: list[int] = []
    real = site.shared_out
    monkeypatch.setattr(site, "shared_out", lambda work, tasks, jobs: jobs_seen.append(jobs) or real(work, tasks, jobs))
    export(seed_bank, "html", jobs=4)
    assert len(seed_bank.items) < site.PARALLEL_FROM and jobs_seen == [1]


def test_page_texts_keep_only_what_they_reworked() -> None:
    """The pages' texts are the renderer's HTML (kept by the renderer) or, with math or an image,
    reworked and kept here once: never a second copy of every text of the bank."""
    from markupsafe import Markup

    from itembank.exporters.html.content import HtmlText
    from itembank.render import PLAIN, Renderer

    r = Renderer()
    text = HtmlText(r)
    plain, math = "A *plain* text", "Area $\\pi r^2$ here"
    assert text.block(plain) == Markup(r.html(plain)) and text.inline(plain) == Markup(r.inline_html(plain))
    assert text.block(plain) == text.block(plain) and plain not in text._block and plain not in text._inline
    shown = text.block(math)
    assert "<math" in shown and text.block(math) is shown and math in text._block
    assert "<math" in text.inline(math) and math in text._inline
    # A plain sentence (itembank.render.PLAIN: 4 of 5 texts), whose HTML the renderer writes anew
    # each time it is asked for and keeps nowhere: not kept here either.
    sentence = "A plain sentence, with nothing to render."
    assert PLAIN.match(sentence) and r.html(sentence) is not r.html(sentence)
    assert text.block(sentence) == Markup("<p>A plain sentence, with nothing to render.</p>")
    assert text.inline(sentence) == Markup("A plain sentence, with nothing to render.")
    assert sentence not in text._block and sentence not in text._inline


@pytest.mark.parametrize("fmt", ["html", "qti21", "qti30"])
def test_latex_escapes_inside_text_show_their_characters(fmt: str, tmp_path: Path) -> None:
    """``\\text{50\\%}`` shows "50%" in LaTeX: latex2mathml kept the escapes in the MathML text run,
    so the page and the QTI item showed "50\\%" (and "\\$5", "a\\_b")."""
    import io
    import zipfile

    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    stem = "Rates $\\text{50\\%}$ and $\\text{\\$5 \\#1 a\\_b}$ with $50\\%$ and $x \\in \\{1\\}$."
    (bank_dir / "m.yaml").write_text(json.dumps({"id": "m1", "type": "true_false", "stem": stem, "answer": True}), encoding="utf-8")
    result = export(load_bank(bank_dir), fmt)
    if result.files is not None:
        texts = [data.decode() for name, data in result.files.items() if name.endswith((".html", ".xml"))]
    else:
        with zipfile.ZipFile(io.BytesIO(result.data or b"")) as z:
            texts = [z.read(n).decode() for n in z.namelist() if n.startswith("items/")]
    page = next(t for t in texts if "Rates" in t)
    mtext = [lxml.html.fromstring(m).text_content() for m in re.findall(r"<(?:\w+:)?mtext\b[^>]*>.*?</(?:\w+:)?mtext>", page)]
    assert [m.replace("\xa0", " ") for m in mtext] == ["50%", "$5 #1 a_b"]
    assert "\\" not in "".join(mtext)


# --- the templates' escaping (exporters.kit.autoescape) ---------------------------------------------


class _Html:
    """A value with its own HTML (``__html__``), as markupsafe honours it."""

    def __init__(self, html: str) -> None:
        self.html = html

    def __html__(self) -> str:
        return self.html


class _Sub(Markup):
    """A Markup subclass (escape makes a Markup of its string)."""


_PRINTED = st.one_of(
    st.text(),
    st.text().map(Markup),
    st.text().map(_Sub),
    st.text().map(_Html),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(value=_PRINTED)
def test_the_html_templates_escape_every_value_as_markupsafe_does(value: object) -> None:
    """What the HTML pages' templates print through (kit.autoescape.escape) is markupsafe.escape's
    string and type, for every kind of value, and so is the Python escaping it falls back to."""
    from exporters.kit import autoescape

    expected = markupsafe.escape(value)
    got = autoescape.escape(value)
    assert type(got) is Markup and type(expected) is Markup
    assert str(got) == str(expected)
    if type(value) is str:
        assert autoescape._escaped_text(value) == str(expected)


def test_the_html_templates_print_through_the_kit_escape() -> None:
    """Every template of the HTML pages prints values through the kit's escape, and so does one made
    from a string, whose value (in a macro too) is a hostile string, escaped, or a Markup, as it is."""
    from exporters.html.site import environment
    from exporters.kit import autoescape

    env = environment()
    names = env.list_templates()
    assert "item.html.j2" in names
    for name in names:
        template = env.get_template(name)
        assert template.root_render_func.__globals__["escape"] is autoescape.escape, name
    made = env.from_string("{{ a }}|{{ b }}|{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}{{ m(a) }}")
    hostile = "<script>alert('x') & \"y\"</script>"
    assert made.render(a=hostile, b=Markup("<b>kept</b>")) == (
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &#34;y&#34;&lt;/script&gt;|<b>kept</b>|"
        "<i>&lt;script&gt;alert(&#39;x&#39;) &amp; &#34;y&#34;&lt;/script&gt;</i>"
    )
