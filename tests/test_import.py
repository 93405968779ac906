"""`itembank import`: the command, the library API, conflicts, layouts, bad input, and the kit."""

from __future__ import annotations

import re
import io
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ALL_TYPES_BANK
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.importers.base import BadInput, ImportContext, ReadResult
from itembank.importers.kit.html import html_to_markdown, text_to_markdown
from itembank.importers.kit.ids import ID_RE, IdAllocator
from itembank.importers.kit.media import MediaStore, MediaTooLarge
from itembank.importers.kit.xml import parse_xml
from itembank.importers.kit.zip import SafeZip
from itembank import export, load_bank
from itembank.cli import main
from itembank.imports import ImportFailed, get_importer, importer_names, run_import

import pyromark

GOOD_XML = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/Top/Physics</text></category></question>
  <question type="truefalse">
    <name><text>Light speed</text></name>
    <questiontext format="html"><text><![CDATA[<p>Light is <b>faster</b> than sound.</p>]]></text></questiontext>
    <idnumber>phys-light</idnumber>
    <answer fraction="100" format="moodle_auto_format"><text>true</text><feedback><text>Yes.</text></feedback></answer>
    <answer fraction="0" format="moodle_auto_format"><text>false</text><feedback><text>No.</text></feedback></answer>
    <tags><tag><text>difficulty:easy</text></tag><tag><text>optics</text></tag></tags>
  </question>
  <question type="calculated"><name><text>Calc</text></name><questiontext><text>x</text></questiontext></question>
</quiz>
"""


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    p = tmp / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


def tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()} if d.exists() else {}


# --- command and report --------------------------------------------------------------------------


def test_import_command_report_and_files(tmp_path: Path) -> None:
    src = write(tmp_path, "q.xml", GOOD_XML)
    code, out = run("import", "moodle", str(src), "--into", str(tmp_path / "bank"))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"moodle: {src}: 1 item imported (1 true_false); 1 skipped"
    assert "  skipped [Calc]: a calculated question without dataset definitions (no wildcard to vary)" in lines
    item = load_bank(tmp_path / "bank").by_id["phys-light"]
    assert item.topic == "Physics" and item.difficulty == "easy" and item.tags == ("optics",) and item.status == "draft"
    assert item.stem == "Light is **faster** than sound." and item.true_feedback == "Yes."
    assert (tmp_path / "bank" / "phys-light.yaml").is_file()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path, "q.xml", GOOD_XML)
    code, out = run("import", "auto", str(src), "--into", str(tmp_path / "bank"), "--dry-run")
    assert code == 0 and "would write 1 file" in out and "phys-light.yaml" in out
    assert not (tmp_path / "bank").exists()


def test_status_option_and_topic_layout(tmp_path: Path) -> None:
    src = tmp_path / "at.xml"
    src.write_bytes(export(load_bank(ALL_TYPES_BANK), "moodle").data or b"")
    code, out = run("import", "moodle", str(src), "--into", str(tmp_path / "bank"), "--layout", "topic", "--status", "review")
    assert code == 0, out
    names = sorted(p.name for p in (tmp_path / "bank").glob("*.yaml"))
    assert names == ["basics.yaml", "training.yaml", "writing.yaml"]
    bank = load_bank(tmp_path / "bank")
    assert len(bank.items) == 13 and {i.status for i in bank.items} == {"review"}  # the calculated item included
    assert {i.topic for i in bank.items if i.location.path == "basics.yaml"} == {"basics"}


def test_same_input_same_bytes(tmp_path: Path) -> None:
    src = tmp_path / "at.xml"
    src.write_bytes(export(load_bank(ALL_TYPES_BANK), "moodle").data or b"")
    run_import([src], tmp_path / "a")
    run_import([src], tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b") != {}


# --- conflicts -------------------------------------------------------------------------------------


def test_conflict_error_is_default_and_writes_nothing(tmp_path: Path) -> None:
    src = write(tmp_path, "q.xml", GOOD_XML)
    bank = tmp_path / "bank"
    run_import([src], bank)
    before = tree(bank)
    code, out = run("import", "moodle", str(src), "--into", str(bank))
    assert code == 1 and "'phys-light' is already in the bank (phys-light.yaml)" in out and "nothing was written" in out
    assert tree(bank) == before


def test_conflict_skip_keeps_ours(tmp_path: Path) -> None:
    src = write(tmp_path, "q.xml", GOOD_XML)
    bank = tmp_path / "bank"
    run_import([src], bank)
    before = tree(bank)
    code, out = run("import", "moodle", str(src), "--into", str(bank), "--on-conflict", "skip")
    assert code == 0 and "skipped [phys-light]: already in the bank (phys-light.yaml); kept ours" in out
    assert tree(bank) == before


def test_conflict_update_rewrites_changed_fields_in_place(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: Mine\n")
    original = (
        "# physics questions, kept by hand\n"
        "items:\n"
        "  - id: phys-light   # from Moodle\n"
        "    type: true_false\n"
        "    title: Light speed\n"
        "    author: Ada          # ours only: Moodle has no author\n"
        "    stem: Light is slower than sound.\n"
        "    answer: false\n"
        "    true_feedback: Yes.\n"
        "    false_feedback: No.\n"
        "  - id: other\n"
        "    type: true_false\n"
        "    stem: Water is wet.\n"
        "    answer: true\n"
    )
    (bank / "physics.yaml").write_text(original)
    src = write(tmp_path, "q.xml", GOOD_XML)
    code, out = run("import", "moodle", str(src), "--into", str(bank), "--on-conflict", "update")
    assert code == 0, out
    assert "1 updated in place" in out
    new = (bank / "physics.yaml").read_text()
    assert "# physics questions, kept by hand" in new and "# from Moodle" in new and "author: Ada          # ours only" in new
    assert "Light is **faster** than sound." in new and "answer: true" in new
    assert new.split("  - id: other")[1] == original.split("  - id: other")[1]  # the other item untouched
    item = load_bank(bank).by_id["phys-light"]
    assert item.answer is True and item.author == "Ada" and item.tags == ("optics",) and item.difficulty == "easy"
    # importing the same again changes nothing
    code, out = run("import", "moodle", str(src), "--into", str(bank), "--on-conflict", "update")
    assert code == 0 and "1 left as they were" in out and "wrote 0 files" in out
    assert (bank / "physics.yaml").read_text() == new


@pytest.mark.parametrize("fmt,suffix", [("moodle", "q.xml"), ("gift", "q.gift"), ("canvas", "q.zip")])
@pytest.mark.parametrize("written", ["range: {min: 1, max: 3}", "answer: 2\n    tolerance: 1"])
def test_conflict_update_keeps_a_numeric_answer_in_the_form_the_bank_writes_it(fmt: str, suffix: str, written: str, tmp_path: Path) -> None:
    """An item may hold a range or an answer ± tolerance, not both: an update from a format that
    keeps the other form (Moodle and GIFT keep answer ± tolerance) failed ("would be invalid after
    the update") on our own export; the same interval now leaves the item as it was, another one is
    written in the item's form."""
    from itembank import export

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: Mine\n")
    item = bank / "num.yaml"
    original = (
        "items:\n  - id: num-range\n    type: numeric\n    topic: numbers\n    stem: Give a number between 1 and 3.\n"
        f"    {written}\n    rationale: Any of them.\n"
    )
    item.write_text(original)
    src = tmp_path / suffix
    src.write_bytes(export(load_bank(bank), fmt).data or b"")
    code, out = run("import", fmt, str(src), "--into", str(bank), "--on-conflict", "update")
    assert code == 0 and "1 left as they were" in out, out
    assert item.read_text() == original
    # Another interval (the answer changed in the LMS): written as the item writes it.
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "itembank.yaml").write_text("title: Mine\n")
    (changed / "num.yaml").write_text(original.replace("min: 1, max: 3", "min: 2.5, max: 3.5").replace("answer: 2\n", "answer: 3\n").replace("tolerance: 1\n", "tolerance: 0.5\n"))
    src.write_bytes(export(load_bank(changed), fmt).data or b"")
    code, out = run("import", fmt, str(src), "--into", str(bank), "--on-conflict", "update")
    assert code == 0 and "1 updated in place" in out, out
    got = load_bank(bank).by_id["num-range"]
    assert got.bounds == (2.5, 3.5)
    if "range" in written:
        assert got.range == (2.5, 3.5) and got.answer is None
    else:
        assert (got.answer, got.tolerance, got.range) == (3, 0.5, None)


# --- bad input: clear message with file and position, exit 1, nothing written -------------------

BAD = {
    "malformed.xml": ("<quiz>\n<question type='truefalse'>\n<name><text>x</text></nam>\n</question></quiz>", "malformed.xml:3:"),
    "xxe.xml": ('<?xml version="1.0"?>\n<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<quiz>&xxe;</quiz>', "entities"),
    "laughs.xml": ('<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<quiz>&b;</quiz>', "entities"),
    "unknown.xml": ("<quiz>\n  <question type='hologram'><name><text>x</text></name></question>\n</quiz>", "unknown.xml:2: unknown question type 'hologram'"),
    "notquiz.xml": ("<html><body/></html>", "the root element is <html>"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_xml_refused(name: str, tmp_path: Path) -> None:
    text, expected = BAD[name]
    good = write(tmp_path, "good.xml", GOOD_XML)
    bad = write(tmp_path, name, text)
    code, out = run("import", "moodle", str(good), str(bad), "--into", str(tmp_path / "bank"))
    assert code == 1
    assert expected in out and str(bad) in out
    assert "Traceback" not in out
    assert not (tmp_path / "bank").exists()  # the good file was not written either


def test_windows_1252_gift_refused_with_position(tmp_path: Path) -> None:
    src = write(tmp_path, "q.gift", "::Q1:: Caf\u00e9 or tea? {=tea ~coffee}\n".encode("cp1252"))
    code, out = run("import", "gift", str(src), "--into", str(tmp_path / "bank"))
    assert code == 1 and f"{src}:1:11: not UTF-8: byte 0xe9" in out and "Windows-1252" in out
    assert not (tmp_path / "bank").exists()


def test_huge_base64_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import itembank.importers.moodle as moodle

    monkeypatch.setattr(moodle, "_MAX_BASE64_CHARS", 1000)
    xml = GOOD_XML.replace("<![CDATA[<p>Light", '<![CDATA[<p><img src="@@PLUGINFILE@@/big.png"> Light').replace(
        "</text></questiontext>", "</text><file name=\"big.png\" path=\"/\" encoding=\"base64\">" + "A" * 2000 + "</file></questiontext>")
    src = write(tmp_path, "q.xml", xml)
    code, out = run("import", "moodle", str(src), "--into", str(tmp_path / "bank"))
    assert code == 1 and "embedded file 'big.png' is 2,000 base64 characters" in out and f"{src}:4" in out
    assert not (tmp_path / "bank").exists()


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    code, out = run("import", "lms9000", str(tmp_path))
    assert code == 2 and "unknown import format 'lms9000'" in out
    code, out = run("import", "moodle", str(tmp_path / "none.xml"), "--into", str(tmp_path / "bank"))
    assert code == 1 and "none.xml: no such file or folder" in out


def test_media_limits() -> None:
    store = MediaStore()
    a = store.add(b"png-bytes", "x.png")
    assert a.startswith("media/") and a.endswith(".png") and store.add(b"png-bytes", "other.png") == a
    import itembank.importers.kit.media as media

    with pytest.raises(MediaTooLarge):
        store.add(b"x" * (media.MAX_MEDIA_BYTES + 1), "big.bin")


# --- kit ---------------------------------------------------------------------------------------------


def test_safe_zip_refuses_slip_and_bombs(tmp_path: Path) -> None:
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("ok.xml", "<a/>")
        zf.writestr("../../evil.txt", "x")
    with pytest.raises(BadInput, match="zip slip"):
        SafeZip(slip)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(BadInput, match="zip bomb"):
        SafeZip(bomb)
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("dir/a.xml", "<a/>")
    with SafeZip(good) as z:
        assert z.names() == ["dir/a.xml"] and z.read("dir/a.xml") == b"<a/>"
        with pytest.raises(BadInput, match="outside the package"):
            z.read("../x")


def test_parse_xml_positions() -> None:
    with pytest.raises(BadInput) as exc:
        parse_xml(b"<a>\n<b></a>", "f.xml")
    assert str(exc.value).startswith("f.xml:2:")
    with pytest.raises(BadInput, match="entities"):
        parse_xml(b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "f.xml")


def test_ids_are_valid_unique_stable_and_avoid_the_bank() -> None:
    ids = IdAllocator(bank_ids={"taken"})
    assert ids.derive("Q-1", "n") == "q-1"
    assert ids.derive("q-1", "n") == "q-1-2"  # same source id twice in one import
    derived = ids.derive("T & F", "What is a Token?", "text")
    assert ID_RE.match(derived) and derived.startswith("what-is-a-token-")
    assert IdAllocator().derive(None, "What is a Token?", "text") == IdAllocator().derive("T & F", "What is a Token?", "text") == derived


@pytest.mark.parametrize(
    "html, md",
    [
        ("<p>Speed \\(v = d/t\\) and \\[E = mc^2\\]</p>", "Speed $v = d/t$ and $$E = mc^2$$"),
        ("<p>Costs $5</p>", "Costs \\$5"),
        ("<pre><code class=\"language-python\">x = a_b * 2\n</code></pre>", "```python\nx = a_b * 2\n```"),
        ("<table><tr><th>a</th></tr><tr><td>1</td></tr></table>", "| a |\n| --- |\n| 1 |"),
        ("<p>&lt;div&gt; &amp; *stars*</p>", "\\<div> & \\*stars\\*"),
        ('<p><math xmlns="http://www.w3.org/1998/Math/MathML"><msup><mi>x</mi><mn>2</mn></msup></math></p>', "$x^2$"),
    ],
)
def test_html_to_markdown_cases(html: str, md: str) -> None:
    got, _notes = html_to_markdown(html)
    assert got == md


def test_html_to_markdown_notes_what_it_drops() -> None:
    md, notes = html_to_markdown('<p style="color:red">red</p><iframe src="https://v.example/x"></iframe><script>x()</script>')
    assert "red" in md and "[iframe: x](https://v.example/x)" in md and "x()" not in md
    assert any("formatting" in n for n in notes) and any("iframe" in n for n in notes) and any("<script>" in n for n in notes)


_RENDER = pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Co")) | st.sampled_from("<>&*_`[]#$\\{}~=:|!-+.\n"), min_size=1, max_size=40))
def test_plain_text_survives_as_text(text: str) -> None:
    """Any plain text, as HTML text or as plain text, comes back as Markdown rendering exactly that text."""
    import html as _html

    from lxml import html as lxml_html

    md = text_to_markdown(text)
    rendered = pyromark.html(md, options=_RENDER)
    got = "".join(lxml_html.fragment_fromstring(rendered, create_parent="div").itertext()) if rendered.strip() else ""
    assert " ".join(got.split()) == " ".join(text.split())
    if "\\(" in text or "\\[" in text or "$$" in text:
        return  # in an HTML field those are MathJax math delimiters, by design (Moodle's MathJax filter reads them so)
    md2, _n = html_to_markdown("<p>" + _html.escape(" ".join(text.split())) + "</p>")
    rendered2 = pyromark.html(md2, options=_RENDER)
    got2 = "".join(lxml_html.fragment_fromstring(rendered2, create_parent="div").itertext()) if rendered2.strip() else ""
    assert " ".join(got2.split()) == " ".join(text.split())


# --- registry and plug-ins -------------------------------------------------------------------------


def test_registry_lists_builtin_formats_and_loads_lazily() -> None:
    names = importer_names()
    assert {"moodle", "gift", "aiken", "canvas", "qti", "text2qti"} <= set(names)
    imp = get_importer("gift")
    assert imp.name == "gift" and imp.description


def test_plugin_importer_through_entry_point(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import itembank.imports as imports
    from itembank.importers.base import ImportedItem, ReadResult

    class Plug:
        name = "plug"
        description = "test plug-in"

        def sniff(self, path: Path) -> bool:
            return path.suffix == ".plug"

        def read(self, path: Path, ctx: object) -> ReadResult:
            data = {"id": ctx.ids.derive("plug-1", "x"), "type": "true_false", "stem": path.read_text(), "answer": True}  # type: ignore[attr-defined]
            return ReadResult(items=[ImportedItem(data, f"{path}:1")])

    class EP:
        name = "plug"
        value = "plugmod:importer"

    import sys
    import types

    mod = types.ModuleType("plugmod")
    mod.importer = Plug()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "plugmod", mod)
    monkeypatch.setattr(imports, "entry_points", lambda group, name=None: [EP] if name in (None, "plug") else [])
    imports.get_importer.cache_clear()
    try:
        src = write(tmp_path, "x.plug", "The sky is blue.")
        report = run_import([src], tmp_path / "bank")  # auto: found by its sniffer
        assert report.files[0].fmt == "plug" and load_bank(tmp_path / "bank").by_id["plug-1"].stem == "The sky is blue."
    finally:
        imports.get_importer.cache_clear()


def test_invalid_imported_item_is_skipped_with_reason(tmp_path: Path) -> None:
    xml = GOOD_XML.replace('fraction="100" format="moodle_auto_format"><text>true', 'fraction="0" format="moodle_auto_format"><text>true')
    src = write(tmp_path, "q.xml", xml)
    report = run_import([src], tmp_path / "bank", dry_run=True)
    (fr,) = report.files
    assert ("phys-light", "neither true nor false has grade 100%") in fr.skipped


def test_an_embedded_image_is_imported_with_its_item(tmp_path: Path) -> None:
    """The media an import extracts count as bank files while its items are checked: the item is
    imported, its image written under media/, and the bank validates (a merge once marked such an
    image as broken, so the item was skipped as one that would not validate)."""
    import base64

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()
    xml = GOOD_XML.replace("<![CDATA[<p>Light", '<![CDATA[<p><img src="@@PLUGINFILE@@/ray.png" alt="a ray"> Light').replace(
        "</text></questiontext>", f"</text><file name=\"ray.png\" path=\"/\" encoding=\"base64\">{png}</file></questiontext>")
    src = write(tmp_path, "q.xml", xml)
    code, out = run("import", "moodle", str(src), "--into", str(tmp_path / "bank"))
    assert code == 0 and "1 item imported" in out and "would not validate" not in out, out
    item = load_bank(tmp_path / "bank").by_id["phys-light"]
    [ref] = re.findall(r"\]\((media/[^)]+)\)", item.stem)
    assert (tmp_path / "bank" / ref).read_bytes().startswith(b"\x89PNG")
    code, out = run("validate", "--bank", str(tmp_path / "bank"))
    assert code == 0, out


NEGATIVE_MC = {
    "q.xml": """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice"><name><text>Neg</text></name><questiontext format="html"><text>Pick A.</text></questiontext>
    <single>true</single>
    <answer fraction="100"><text>A</text></answer>
    <answer fraction="-33.33333"><text>B</text></answer>
    <answer fraction="0"><text>C</text></answer>
  </question>
</quiz>
""",
    "q.gift": "::Neg:: Pick A. {=A ~%-50%B#bad ~C}\n",
}


@pytest.mark.parametrize("name", sorted(NEGATIVE_MC))
def test_a_penalty_on_a_single_answer_option_is_noted_when_dropped(name: str, tmp_path: Path) -> None:
    """A multiple choice item scores a wrong answer 0: Moodle's negative marks on a single-answer
    question were dropped without a word (a positive partial credit was noted)."""
    src = write(tmp_path, name, NEGATIVE_MC[name])
    code, out = run("import", "auto", str(src), "--into", str(tmp_path / "bank"))
    assert code == 0, out
    assert "penalty" in out and "on option b dropped" in out, out


_MR = (
    "id: mr-1\ntype: multiple_response\ntopic: chem\nstem: Which elements form water?\nscoring: all_or_nothing\noptions:\n"
    "  - {id: hyd, text: Hydrogen, correct: true, feedback: Yes.}\n"
    "  - {id: oxy, text: Oxygen, correct: true, feedback: Yes.}\n"
    "  - {id: hel, text: Helium, feedback: \"No, a noble gas.\"}\n"
)


@pytest.mark.parametrize("fmt,suffix", [("canvas", "q.zip"), ("moodle", "q.xml"), ("gift", "q.gift")])
def test_conflict_update_keeps_what_the_format_does_not_carry(fmt: str, suffix: str, tmp_path: Path) -> None:
    """Option ids (and Canvas's all-or-nothing scoring) travel in none of these formats: an update
    renamed the options a, b, c (frozen forms and reviews name them) and set the scoring back to
    partial.  The item's own are kept; an edit in the LMS still comes in."""
    from itembank import export

    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: Mine\n")
    (bank / "mr.yaml").write_text(_MR)
    src = tmp_path / suffix
    src.write_bytes(export(load_bank(bank), fmt).data or b"")
    code, out = run("import", fmt, str(src), "--into", str(bank), "--on-conflict", "update")
    assert code == 0 and "1 left as they were" in out, out
    assert (bank / "mr.yaml").read_text() == _MR
    # Edited in the LMS: a wrong option reworded and one added.
    lms = tmp_path / "lms"
    lms.mkdir()
    (lms / "itembank.yaml").write_text("title: Mine\n")
    (lms / "mr.yaml").write_text(_MR.replace("text: Helium", "text: Neon").replace('"No, a noble gas."}\n', '"No, a noble gas."}\n  - {id: zz, text: Argon, feedback: Also noble.}\n'))
    src.write_bytes(export(load_bank(lms), fmt).data or b"")
    code, out = run("import", fmt, str(src), "--into", str(bank), "--on-conflict", "update")
    assert code == 0 and "1 updated in place" in out, out
    item = load_bank(bank).by_id["mr-1"]
    assert [(o.id, o.text) for o in item.options] == [("hyd", "Hydrogen"), ("oxy", "Oxygen"), ("hel", "Neon"), ("d", "Argon")]
    assert item.scoring == "all_or_nothing"


_TOPICS = (
    "items:\n"
    "  - {id: untopical, type: true_false, stem: Has it no topic?, answer: true}\n"
    "  - {id: general, type: true_false, topic: General, stem: Is its topic General?, answer: true}\n"
    "  - {id: lossy, type: true_false, topic: Loss, stem: Is its topic Loss?, answer: false}\n"
)


@pytest.mark.parametrize("fmt", ["canvas", "qti21", "qti30"])
def test_an_item_without_a_topic_comes_back_without_one(fmt: str, tmp_path: Path) -> None:
    """Our Canvas and QTI exports put the items without a topic in a bank or section named General:
    imported back, the item had ``topic: General``, and an --on-conflict update wrote it into the
    item.  Our no-topic section is told apart from a topic that is named General (its own bank and
    section); another tool's section named General is still a topic."""
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "itembank.yaml").write_text("title: Mine\n")
    (bank / "items.yaml").write_text(_TOPICS)
    src = tmp_path / "q.zip"
    src.write_bytes(export(load_bank(bank), fmt).data or b"")
    reader = get_importer("canvas" if fmt == "canvas" else "qti")
    from import_compare import read

    result, _media = read(reader, src)
    assert {i.data["id"]: i.data.get("topic") for i in result.items} == {"untopical": None, "general": "General", "lossy": "Loss"}
    code, out = run("import", fmt if fmt == "canvas" else "qti", str(src), "--into", str(bank), "--on-conflict", "update")
    assert code == 0 and "3 left as they were" in out, out
    assert (bank / "items.yaml").read_text() == _TOPICS
    # another tool's package: a section (bank) named General is a topic like any other
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp_path / "other.zip", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info).replace(b'toolName="itembank"', b'toolName="other"').replace(b'tool-name="itembank"', b'tool-name="other"')
            zout.writestr(info, re.sub(rb'(<objectbank ident=")g[0-9a-f]{32}', rb"\1bank-1", data) if fmt == "canvas" else data)
    result, _media = read(reader, tmp_path / "other.zip")
    assert {i.data["id"]: i.data.get("topic") for i in result.items if i.data["id"] == "untopical"} == {"untopical": "General"}


def test_import_auto_knows_what_the_explicit_readers_read(tmp_path: Path) -> None:
    """A Canvas package zipped as a folder (MyQuiz/imsmanifest.xml: what Finder's and Explorer's
    "Compress" make) or without its manifest, and a UTF-16 Moodle XML file, are read by `import canvas`
    and `import moodle`; `import auto` could not tell their format (exit 2)."""
    import io
    import zipfile

    from conftest import ALL_TYPES_BANK

    from itembank import export

    package = export(load_bank(ALL_TYPES_BANK), "canvas").data or b""
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        members = [(n, z.read(n)) for n in z.namelist()]
    sources = {}
    for name, keep in (("folder.zip", lambda n: True), ("no-manifest.zip", lambda n: n != "imsmanifest.xml")):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for n, data in members:
                if keep(n):
                    z.writestr(("MyQuiz/" if name == "folder.zip" else "") + n, data)
        sources[name] = write(tmp_path, name, buf.getvalue())
    sources["utf16.xml"] = write(tmp_path, "utf16.xml", GOOD_XML.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    for name, src in sources.items():
        fmt = "moodle" if name.endswith(".xml") else "canvas"
        code, explicit = run("import", fmt, str(src), "--into", str(tmp_path / f"explicit-{name}"), "--dry-run")
        assert code == 0, explicit
        code, out = run("import", "auto", str(src), "--into", str(tmp_path / f"auto-{name}"), "--dry-run")
        assert code == 0 and out.replace("auto-", "explicit-") == explicit, out



# --- Moodle XML categories -------------------------------------------------------------------------


def _category_xml(*blocks: tuple[str, list[str]]) -> str:
    """A Moodle XML file, one element a line: per block a category path and its true/false questions' names."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    for path, names in blocks:
        out.append(f'<question type="category"><category><text>{path}</text></category></question>')
        out += [f'<question type="truefalse"><name><text>{name}</text></name><questiontext format="html"><text>{name}?</text>'
                '</questiontext><answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text>'
                '</answer></question>' for name in names]
    return "\n".join(out + ["</quiz>\n"])


def _read_moodle(tmp_path: Path, xml: str) -> ReadResult:
    from itembank.importers.moodle import importer

    return importer.read(write(tmp_path, "cats.xml", xml), ImportContext(ids=IdAllocator(), media=MediaStore()))


def test_a_moodle_category_named_like_top_is_a_category(tmp_path: Path) -> None:
    """Moodle's own top category is named exactly 'top' (create_category_path compares with 'top');
    the importer dropped a first category whose name starts with 'top' ('Topics', 'Topology') as if
    it were Moodle's: '$course$/Topics' and '$course$/top/Topology' gave their items no topic at all."""
    result = _read_moodle(tmp_path, _category_xml(("$course$/Topics", ["A"]), ("$course$/top/Topology", ["B"]),
                                                  ("$course$/top/Toppings/Cheese", ["C"])))
    assert {i.data["title"]: i.data.get("topic") for i in result.items} == {"A": "Topics", "B": "Topology", "C": "Cheese"}
    assert "the parent category 'Toppings' is not kept)" in result.format_notes[-1]
    # 'Top' is a category of its own for Moodle (top is exactly 'top'); the note says so
    result = _read_moodle(tmp_path, _category_xml(("$course$/Top/Physics", ["P"])))
    assert result.items[0].data["topic"] == "Physics"
    assert result.format_notes[1:] == [
        "category $course$/Top/Physics (line 3): Moodle makes the category tree Top > Physics; its questions get the topic "
        "'Physics' (an item has one topic: the parent category 'Top' is not kept; Moodle's own top category is 'top' in "
        "lower case, 'Top' is a category of its own)"]


def test_moodle_category_parents_are_named_once_per_path(tmp_path: Path) -> None:
    """'$course$/top/Algebra/Groups' is the tree Algebra > Groups in Moodle: the items got the topic
    'Groups' and the parent was dropped without a word.  Now one note per category path (not per
    item, not again when the file comes back to the path); none for a path without parents beyond
    the context and 'top' (every Moodle export has '$course$/top/Default for X'), nor for a path none
    of whose questions is imported; a doubled '//' is a '/' inside a name, as Moodle splits paths."""
    xml = _category_xml(("$course$/top", []), ("$course$/top/Default for C1", ["D"]),
                        ("$course$/top/Default for C1/Algebra//Geometry/Groups", ["G1", "G2"]),
                        ("$course$/top/Solo", ["S"]), ("$course$/top/Default for C1/Algebra//Geometry/Groups", ["G3"]),
                        ("$course$/top/Empty/Parent", []), ("$course$/Topics/Algebra", ["A"]))
    result = _read_moodle(tmp_path, xml)
    assert {i.data["title"]: i.data.get("topic") for i in result.items} == {
        "D": "Default for C1", "G1": "Groups", "G2": "Groups", "S": "Solo", "G3": "Groups", "A": "Algebra"}
    assert result.format_notes[1:] == [
        "category $course$/top/Default for C1/Algebra//Geometry/Groups (line 6): Moodle makes the category tree "
        "Default for C1 > Algebra/Geometry > Groups; its questions get the topic 'Groups' (an item has one topic: the parent "
        "categories 'Default for C1', 'Algebra/Geometry' are not kept)",
        "category $course$/Topics/Algebra (line 14): Moodle makes the category tree Topics > Algebra; its questions get the "
        "topic 'Algebra' (an item has one topic: the parent category 'Topics' is not kept)"]
    assert all(i.notes == [] for i in result.items)
