"""Files we did not write: canvas-lms's QTI import fixtures (../shared/corpora/canvas-fixtures, AGPL,
read in place, never copied) and the same files wrapped in IMS packages (canvas-packages).

Each file is sniffed to the ``canvas`` (QTI 1.2) or ``qti`` (QTI 2.x) reader, then either imports --
every question accounted for (an item valid under the schema, or a skip with a reason) -- or is
refused with a message naming the file.  The package gives the same account as the bare file.
Also: bad input (malformed XML, XXE, zip slip, zip bomb) is refused with file and position.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from conftest import SHARED, require
from import_compare import read
from itembank.importers.base import BadInput
from itembank.importers.canvas import importer as canvas_importer
from itembank.importers.qti import importer as qti_importer
from itembank.importers.text2qti import importer as text2qti_importer
from itembank.imports import plan_import
from itembank.schema import item_schema

FIXTURES = SHARED / "corpora" / "canvas-fixtures"
PACKAGES = SHARED / "corpora" / "canvas-packages"
FILES = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file() and p.name != "SOURCES.json") \
    if FIXTURES.is_dir() else []
READERS = {"canvas": canvas_importer, "qti": qti_importer}


def _questions(path: Path) -> int:
    """How many questions a file holds: QTI 1.2 <item>s, QTI 2 items, or a test's item references
    (plus Blackboard question groups drawn from elsewhere)."""
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    names = [etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)]
    groups = sum(1 for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "selection_ordering"
                 and not any(etree.QName(x).localname == "item" for x in e.getparent().iter() if isinstance(x.tag, str)))
    return names.count("item") + names.count("assessmentItem") + names.count("assessmentItemRef") + groups


def _reader_for(path: Path) -> str:
    hits = [name for name, imp in READERS.items() if imp.sniff(path)]
    assert len(hits) == 1, f"{path}: sniffed as {hits}"
    return hits[0]


def _account(path: Path) -> tuple[str, int, int, list[str]]:
    fmt = _reader_for(path)
    try:
        result, _media = read(READERS[fmt], path)
    except BadInput as exc:
        assert str(path) in str(exc)
        return fmt, -1, -1, [str(exc)]
    for item in result.items:
        errors = [e.message for e in item_schema().errors(item.data)]
        assert not errors, f"{item.origin}: {errors}"
        assert item.origin.startswith(str(path))
    for skipped in result.skipped:
        assert skipped.reason and skipped.origin.startswith(str(path))
    return fmt, len(result.items), len(result.skipped), [s.reason for s in result.skipped]


def test_corpus_present() -> None:
    require(FIXTURES.is_dir() and PACKAGES.is_dir(), f"canvas corpus at {FIXTURES}")
    assert len(FILES) == 56


def _validates_in_a_bank(path: Path, tmp_path: Path) -> None:
    """Every item the reader gives also passes the framework's whole check (schema and rules)."""
    report, _files = plan_import([path], tmp_path / "bank")
    bad = [r for fr in report.files for _i, r in fr.skipped if "would not validate" in r]
    assert not bad, bad


@pytest.mark.parametrize("name", FILES)
def test_fixture_accounted_for(name: str, tmp_path: Path) -> None:
    path = FIXTURES / name
    fmt, items, skipped, _reasons = _account(path)
    assert items >= 0, f"{name} refused"  # none of these files is broken: each must import
    assert items + skipped >= _questions(path), f"{name}: {items} imported + {skipped} skipped < {_questions(path)} questions"
    _validates_in_a_bank(path, tmp_path)


@pytest.mark.parametrize("name", FILES)
def test_package_gives_the_same_account(name: str) -> None:
    package = PACKAGES / f"{name}.zip"
    require(package.is_file(), f"package {package}")
    bare = _account(FIXTURES / name)
    wrapped = _account(package)
    assert wrapped[:3] == bare[:3]


# --- expectations on particular files (what a teacher would check) ---------------------------------

def _items(path: Path) -> list[dict]:
    fmt = _reader_for(path)
    result, _m = read(READERS[fmt], path)
    return [i.data for i in result.items]


def test_canvas_bank_file() -> None:
    require(FIXTURES.is_dir(), "canvas corpus")
    [item] = _items(FIXTURES / "canvas" / "multiple_choice_html.xml")
    assert item["type"] == "multiple_choice" and item["topic"] == "Test Bank"
    assert [o.get("correct", False) for o in item["options"]].count(True) == 1
    assert all(o.get("feedback") for o in item["options"])


def test_canvas_fimb_qti2() -> None:
    require(FIXTURES.is_dir(), "canvas corpus")
    [item] = _items(FIXTURES / "canvas" / "fimb.xml")
    assert item["type"] == "cloze" and item["points"] == 10.23
    assert item["blanks"]["begin"] == {"answers": ["begin", "start"]}
    assert "{{problems}}" in item["stem"] and "{{something}}" in item["stem"]


def test_formula_questions_are_read_and_text_only_skipped_with_reasons() -> None:
    require(FIXTURES.is_dir(), "canvas corpus")
    for name in ("canvas/calculated.xml", "canvas/calculated_simple.xml"):  # checked in depth in test_import_calculated.py
        _fmt, items, skipped, reasons = _account(FIXTURES / name)
        assert (items, skipped) == (1, 0), (name, reasons)
    for name, words in [("bbultra/questions/text_only_question.xml", "text-only"),
                        ("qti/more_terrible_qti.xml", "associate")]:
        _fmt, items, skipped, reasons = _account(FIXTURES / name)
        assert (items, skipped) == (0, 1) and words in reasons[0], (name, reasons)


def test_html_that_canvas_converter_escaped_in_a_div_is_read_as_html() -> None:
    """Canvas's QTI converter writes a QTI 1.2 text/html material into QTI 2.1 as escaped text in a
    ``<div class="html">``, which Canvas parses as HTML.  It came in as its source: a stem full of
    ``\\<br\\>`` and ``\\<b\\>Question:``, a rationale ``viva la mol\\&eacute;``."""
    require(FIXTURES.is_dir(), "canvas corpus")
    [essay] = _items(FIXTURES / "qti" / "weird_html.xml")
    assert essay["rationale"] == "viva la molé"
    result, _m = read(qti_importer, FIXTURES / "html_sanitization" / "questions" / "escaped" / "multiple_answer.xml")
    [item] = result.items
    assert item.data["stem"].endswith("**Question:** Respondus can embed video, audio and images from which two popular websites mentioned above?")
    assert "\\<" not in item.data["stem"] and "course – you" in item.data["stem"]
    assert [o["text"] for o in item.data["options"]][::2] == ["YouTube", "Facebook"]
    assert "<script> content dropped (Markdown cannot hold it)" in item.notes


# Blackboard matching writes empty choices and the answers in a right-hand column (RIGHT_MATCH_BLOCK),
# the n-th choice of every list being the n-th answer -- in its QTI 1.2 (Blackboard 8) and as Canvas's
# converter turns it into QTI 2.1 (Blackboard 9; the html_sanitization copy of the Blackboard 8 file,
# whose lists and right column are in another order).  Blackboard ordering lists its entries with
# text and gives the correct order as the varequals of one condition.
BLACKBOARD = {
    "bb8/questions/matching.xml": ("Match these.", [("left 1", "right 1"), ("left 2", "right 2"), ("left 3", "right 3"), ("left 4", "right 4")]),
    "bb9/questions/matching3.xml": ("Match the correct satellite with the correct planet.",
                                    [("Mars", "Phobos"), ("Saturn", "Mimas"), ("Earth", "Luna"), ("Jupiter", "Ganymede")]),
    "html_sanitization/questions/nodes/matching.xml": (
        "Match these.", [("left 1", '<span style=";">right 1</span>'), ("*left 2*", "rïght 2"), ("left 3", "right 3"), ("left 4", "right 4")]),
}


@pytest.mark.parametrize("name", sorted(BLACKBOARD))
@pytest.mark.parametrize("packaged", [False, True])
def test_blackboard_matching_pairs_are_read_from_the_right_hand_column(name: str, packaged: bool) -> None:
    require(FIXTURES.is_dir() and PACKAGES.is_dir(), "canvas corpus")
    path = PACKAGES / f"{name}.zip" if packaged else FIXTURES / name
    _fmt, items, skipped, reasons = _account(path)
    assert (items, skipped) == (1, 0), reasons
    [item] = _items(path)
    stem, pairs = BLACKBOARD[name]
    assert item["type"] == "matching" and item["stem"] == stem
    assert [(p["prompt"], p["match"]) for p in item["pairs"]] == pairs
    assert "distractors" not in item
    assert item["points"] == (25 if "bb9" in name else 10)  # qmd_absolutescore_max / Canvas's max_score


def test_blackboard_ordering_is_read_in_its_correct_order() -> None:
    require(FIXTURES.is_dir(), "canvas corpus")
    [item] = _items(FIXTURES / "bb8" / "questions" / "ordering.xml")
    assert item["type"] == "ordering" and item["stem"] == "It is in numerical order."
    assert item["sequence"] == ["a", "b", "c", "d"]  # the entries are listed b, a, c, d
    assert item["points"] == 10


BLANK_CHOICES = "bb8/questions/multiple_choice_blank_answers.xml"


@pytest.mark.parametrize("packaged", [False, True])
def test_blackboard_blank_wrong_choices_are_dropped_with_a_note(packaged: bool) -> None:
    """Blackboard keeps the empty choices of its editor's four (True, False, '', ''): the question was
    skipped whole ("choice ... has no text"); now its blank wrong choices are dropped, and a note says how many."""
    require(FIXTURES.is_dir() and PACKAGES.is_dir(), "canvas corpus")
    path = PACKAGES / f"{BLANK_CHOICES}.zip" if packaged else FIXTURES / BLANK_CHOICES
    _fmt, items, skipped, reasons = _account(path)
    assert (items, skipped) == (1, 0), reasons
    result, _m = read(canvas_importer, path)
    [item] = result.items
    assert item.data["type"] == "multiple_choice" and item.data["stem"] == "This is a great question."
    assert [(o["text"], o.get("correct", False)) for o in item.data["options"]] == [("True", False), ("False", True)]
    assert [n for n in item.notes if "without text" in n] == ["2 wrong choices without text dropped (2 kept)"], item.notes


def test_a_blank_correct_choice_still_skips_the_question(tmp_path: Path) -> None:
    require(FIXTURES.is_dir(), "canvas corpus")
    text = (FIXTURES / BLANK_CHOICES).read_text(encoding="utf-8")
    correct = "73478560c56547f08cdc3eec5e363775"
    blank = "78e36a7831e84a0f94ce01a151771f94"
    path = tmp_path / "blank_key.xml"
    path.write_text(text.replace(f"\n            {correct}\n", f"\n            {blank}\n"), encoding="utf-8")
    _fmt, items, skipped, reasons = _account(path)
    assert (items, skipped) == (0, 1) and reasons == [f"choice {blank!r} has no text, and it is a correct one"], reasons


def test_test_without_its_items_reports_each_reference() -> None:
    require(FIXTURES.is_dir(), "canvas corpus")
    _fmt, items, skipped, reasons = _account(FIXTURES / "respondus" / "questions" / "assessment.xml")
    assert items == 0 and skipped == 8 and all("not in this package" in r for r in reasons)


# --- bad input ---------------------------------------------------------------------------------------

def _zip(tmp_path: Path, files: dict[str, bytes], name: str = "bad.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in files.items():
            zf.writestr(member, data)
    return path


MANIFEST12 = b'<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources><resource type="imsqti_xmlv1p2" href="q/q.xml"/></resources></manifest>'


def test_malformed_xml_in_a_package_names_member_and_line(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"imsmanifest.xml": MANIFEST12, "q/q.xml": b"<questestinterop>\n<item ident='a'>\n<oops></item></questestinterop>"})
    with pytest.raises(BadInput) as exc:
        read(canvas_importer, path)
    assert f"{path}#q/q.xml:3" in str(exc.value) and "malformed XML" in str(exc.value)


@pytest.mark.parametrize("importer", ["canvas", "qti"])
def test_xxe_and_entity_expansion_refused(tmp_path: Path, importer: str) -> None:
    root = "questestinterop" if importer == "canvas" else "assessmentItem"
    xxe = f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<{root}>&x;</{root}>'.encode()
    path = tmp_path / "x.xml"
    path.write_bytes(xxe)
    with pytest.raises(BadInput, match="refused"):
        read(READERS[importer], path)
    bomb = (f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            f"<{root}>&b;</{root}>").encode()
    path.write_bytes(bomb)
    with pytest.raises(BadInput, match="refused"):
        read(READERS[importer], path)


def test_zip_slip_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"imsmanifest.xml": MANIFEST12, "../../evil.xml": b"<questestinterop/>"})
    with pytest.raises(BadInput, match="zip slip"):
        read(canvas_importer, path)


def test_zip_bomb_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("imsmanifest.xml", MANIFEST12)
        zf.writestr("q/q.xml", b"\0" * (300 * 1024 * 1024))  # 300 MB of zeros, ~300 KB compressed
    path = tmp_path / "bomb.zip"
    path.write_bytes(buf.getvalue())
    with pytest.raises(BadInput) as exc:
        read(canvas_importer, path)
    assert str(path) in str(exc.value)


def test_qti2_given_to_canvas_reader_says_which_reader(tmp_path: Path) -> None:
    path = tmp_path / "item.xml"
    path.write_bytes(b'<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="a"><itemBody/></assessmentItem>')
    with pytest.raises(BadInput, match="itembank import qti"):
        read(canvas_importer, path)


# --- the QTI player's own sample items (../shared/clients/qti-player/samples: QTI 2.1 and 3.0 items and
# packages written for that harness, including deliberately broken ones), read in place --------------

PLAYER_SAMPLES = SHARED / "clients" / "qti-player" / "samples"
SAMPLE_FILES = sorted(p.relative_to(PLAYER_SAMPLES).as_posix() for p in PLAYER_SAMPLES.rglob("*")
                      if p.suffix in (".xml", ".zip") and "stimuli" not in p.parts and "qti3-package" not in p.parts) \
    if PLAYER_SAMPLES.is_dir() else []
SAMPLE_SKIPS = {"associate": "associate", "hotspot": "hotspot", "hottext": "hot text", "slider": "slider",
                "unknown-interaction": "drawing", "unknown-choice": "does not offer", "too-many-correct": "no text"}
# qti3/match.xml (D and L both match M: many-to-one) was skipped; pairs may share a match now, so it imports
# (test_matching_shared.py::test_the_qti_specs_many_to_one_sample_imports checks its pairs).


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_player_sample(name: str, tmp_path: Path) -> None:
    require(PLAYER_SAMPLES.is_dir(), f"QTI player samples at {PLAYER_SAMPLES}")
    path = PLAYER_SAMPLES / name
    assert qti_importer.sniff(path) or name == "broken/malformed.xml"
    if name == "broken/malformed.xml":
        with pytest.raises(BadInput, match=r"malformed\.xml:\d+:\d+: malformed XML"):
            read(qti_importer, path)
        return
    _fmt, items, skipped, reasons = _account(path)
    stem = Path(name).stem
    expected_skip = SAMPLE_SKIPS.get(name) or SAMPLE_SKIPS.get(stem)
    if expected_skip:
        assert (items, skipped) == (0, 1) and expected_skip in reasons[0], reasons
    elif path.suffix == ".zip":
        assert items + skipped == len(etree.fromstring(zipfile.ZipFile(path).read("imsmanifest.xml")).findall(".//{*}resource[@type]")) \
            - sum(1 for r in etree.fromstring(zipfile.ZipFile(path).read("imsmanifest.xml")).iter("{*}resource")
                  if "item" not in (r.get("type") or ""))
    else:
        assert (items, skipped) == (1, 0), reasons
    _validates_in_a_bank(path, tmp_path)


def test_player_sample_stimulus_goes_into_the_stem() -> None:
    require(PLAYER_SAMPLES.is_dir(), "QTI player samples")
    result, _m = read(qti_importer, PLAYER_SAMPLES / "qti3" / "stimulus-choice.xml")
    [item] = result.items
    assert item.data["stem"].startswith("### The Tyger") and any("shared stimulus" in n for n in item.notes)


# --- damaged files: never a traceback, never an item the bank would refuse ---------------------------

def _mutants(seed: int, count: int) -> list[tuple[str, bytes]]:
    """Corpus and sample files with elements removed, duplicated or emptied and attributes changed."""
    import copy
    import random

    rng = random.Random(seed)
    sources = sorted(p for p in FIXTURES.rglob("*.xml*")) + sorted(
        p for p in PLAYER_SAMPLES.rglob("*.xml") if "broken" not in p.parts and "stimuli" not in p.parts)
    out = []
    for _ in range(count):
        src = rng.choice(sources)
        root = etree.parse(str(src), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        for _ in range(rng.randint(1, 3)):
            el = rng.choice(elements)
            op = rng.randint(0, 4)
            if op == 0 and el.getparent() is not None:
                el.getparent().remove(el)
            elif op == 1 and el.attrib:
                del el.attrib[rng.choice(sorted(el.attrib))]
            elif op == 2:
                el.text = rng.choice(["", "0", "-1", "abc", "1e999", "NaN", "<p>x</p>", "{{x}}", "[b]"])
            elif op == 3 and el.attrib:
                el.set(rng.choice(sorted(el.attrib)), rng.choice(["", "x", "0", "Multiple", "true"]))
            elif op == 4 and el.getparent() is not None:
                el.getparent().append(copy.deepcopy(el))
        out.append((src.name, etree.tostring(root)))
    return out


def test_damaged_files_are_read_or_refused_cleanly(tmp_path: Path) -> None:
    require(FIXTURES.is_dir() and PLAYER_SAMPLES.is_dir(), "canvas corpus and QTI player samples")
    from itembank.errors import ItembankError

    for n, (name, data) in enumerate(_mutants(20261201, 80)):
        path = tmp_path / f"{n}-{name}"
        path.write_bytes(data)
        for fmt in ("canvas", "qti"):
            try:
                report, _files = plan_import([path], tmp_path / f"bank-{n}-{fmt}", fmt=fmt)
            except ItembankError as exc:  # BadInput and the like: a message, never a traceback
                message = " ".join([str(exc), *getattr(exc, "details", [])])
                assert str(path) in message, message
                continue
            bad = [r for fr in report.files for _i, r in fr.skipped if "would not validate" in r]
            assert not bad, (name, bad)


def test_sniffing_tells_the_formats_apart(tmp_path: Path) -> None:
    """``--format auto``: our packages and the canvas corpus go to these readers, Moodle's files never do."""
    from itembank import load_bank
    from itembank.api import export
    from itembank.imports import sniff_format

    from conftest import ALL_TYPES_BANK

    bank = load_bank(ALL_TYPES_BANK)
    for fmt, reader in (("canvas", "canvas"), ("qti21", "qti"), ("qti30", "qti")):
        path = tmp_path / f"{fmt}.zip"
        path.write_bytes(export(bank, fmt).data or b"")
        assert sniff_format(path) == reader
    moodle = SHARED / "corpora" / "moodle-fixtures"
    require(moodle.is_dir(), f"moodle corpus at {moodle}")
    for path in sorted(moodle.iterdir()):
        assert not any(READERS[n].sniff(path) for n in READERS), path
        assert not text2qti_importer.sniff(path), path
