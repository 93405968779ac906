"""The net of issue 11: generated banks (``strategies.py``) through validation, every exporter and
every real consumer.

* every generated item is valid (no error, no warning) and loads as written;
* every format exports every item or lists it as skipped with a reason, and what it writes is read
  back: QTI 2.1 / 3.0 against the official XSDs, Canvas by the structural check, Moodle XML and GIFT
  by our readers (the GIFT reader follows Moodle's own parser), Markdown through pandoc;
* the real QTI player PASSes every generated item (one player run per QTI version over all the
  generated banks, merged into one package).

CI runs a small derandomized number of examples (profile ``ci``, see conftest.py); the long run is
``pytest --hypothesis-profile=long tests/test_generated_banks.py`` (README, Development).
"""

from __future__ import annotations

import dataclasses
import html
import io
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import lxml.html
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable
from lxml import etree

from conftest import SHARED, require
from itembank import Bank, audit
from itembank.errors import ItembankError
from itembank.model import ClozeItem, MatchingItem, OrderingItem, shown_alike
from itembank.formats import ExportContext, ExportOptions, registry
from itembank.render import Renderer
from itembank.validate import check_bank
from strategies import GeneratedBank, banks, inline_text, items, write_bank
from test_gift import read_gift
from test_moodle import format_string, match_choices

os.environ.setdefault("ITEMBANK_XSD_DIR", str(SHARED / "xsd"))

#: Generated banks per test: (validated, exported through every format, merged for the QTI player).
#: CI (profile "ci", derandomized): a few, about a minute in all; "long": thousands, random.
SIZES = {"long": (1000, 150, 30)}.get(settings.get_current_profile_name(), (20, 5, 5))
VALIDATED, EXAMPLES, PLAYER_BANKS = SIZES
CHECKED = {"qti21", "qti30", "canvas"}  # formats with a --check of their own (XSDs, structure)


def load(generated: GeneratedBank, folder: Path) -> Bank:
    result = check_bank(write_bank(generated, folder))
    assert [p.format() for p in result.problems] == []
    return result.bank()


def _xsd_ready() -> bool:
    return (Path(os.environ["ITEMBANK_XSD_DIR"]) / "catalog.xml").is_file()


def test_no_generated_text_shows_nothing() -> None:
    """An option, step or hint of only ``&nbsp;`` shows nothing, and validation refuses it (IB213):
    the generator never makes one, even from pieces that are all such (found by the long run: an
    ordering step ``&nbsp;``, one draw in thousands)."""
    for blank in ("&nbsp;", " ", "&nbsp; &#x200B;"):
        with pytest.raises((NoSuchExample, Unsatisfiable)):  # (Unsatisfiable: every draw was filtered out)
            find(inline_text(1, 3, pieces=st.just(blank)), lambda _text: True, settings=settings(database=None))
    assert find(inline_text(1, 3, pieces=st.sampled_from(("&nbsp;", "x"))), lambda text: "&nbsp;" in text, settings=settings(database=None))


def test_the_generator_makes_matching_items_whose_pairs_share_a_match() -> None:
    """Pairs may share a match (cat → mammal, dog → mammal): the generated banks that every format
    exports hold such items too, next to items with a match per pair."""
    def shared(item: dict) -> bool:
        return len({shown_alike(p["match"]) for p in item["pairs"]}) < len(item["pairs"])

    found = find(items("matching"), shared, settings=settings(database=None))
    assert len(found["pairs"]) > len({shown_alike(p["match"]) for p in found["pairs"]}) >= 2
    assert find(items("matching"), lambda item: not shared(item), settings=settings(database=None))


@settings(max_examples=VALIDATED)
@given(generated=banks(max_items=6))
def test_generated_items_are_valid_and_load_as_written(tmp_path_factory, generated) -> None:
    bank = load(generated, tmp_path_factory.mktemp("bank"))
    assert [i.id for i in bank.items] == [i["id"] for i in generated.items]
    for item, raw in zip(bank.items, generated.items):
        assert item.stem == raw["stem"]
        assert item.hints == tuple(raw.get("hints", ()))
        assert item.rationale == raw.get("rationale")


def _pandoc(files: dict[str, bytes]) -> list[str]:
    problems = []
    for name, data in sorted(files.items()):
        if not name.endswith(".md"):
            continue
        proc = subprocess.run(["pandoc", "-f", "markdown", "-t", "html"], input=data, capture_output=True, timeout=60)
        if proc.returncode != 0:
            problems.append(f"{name}: {proc.stderr.decode(errors='replace')}")
    return problems


def _moodle_shows_the_matches(item: MatchingItem, answers: list[str], fmt: str) -> None:
    """A matching question's answers as Moodle makes them choices (PHP's loose ==) and shows them
    (format_string): each target and distractor once, as typed (white space as a browser shows it)."""
    shown = [" ".join(format_string(c).split()) for c in match_choices(answers)]
    assert shown == [" ".join(t.split()) for t in (*item.targets, *item.distractors)], (fmt, item.id)


def _read_back(fmt: str, bank: Bank, result) -> None:
    """What each format wrote, read back by its reader."""
    written_ids = {i.id for i in bank.items} - {item_id for item_id, _ in result.skipped}
    if fmt == "gift":
        questions = [q for q in read_gift(result.data.decode("utf-8")) if q.qtype != "category"]
        assert sorted(q.idnumber for q in questions) == sorted(written_ids)
        for q in questions:
            item = bank.by_id[q.idnumber or ""]
            if isinstance(item, MatchingItem):
                _moodle_shows_the_matches(item, [answer for _, answer in q.subquestions], fmt)
            elif isinstance(item, OrderingItem):  # the entries as qtype_ordering keeps and shows them
                assert [" ".join(html.unescape(a).split()) for _, a, _ in q.answers] == [" ".join(s.split()) for s in item.sequence], item.id
    elif fmt == "moodle":
        root = etree.fromstring(result.data)
        ids = [q.findtext("idnumber") for q in root.iterfind("question") if q.get("type") != "category"]
        assert sorted(ids) == sorted(written_ids)
        for q in root.iterfind("question[@type='match']"):
            item = bank.by_id[q.findtext("idnumber") or ""]
            assert isinstance(item, MatchingItem)
            _moodle_shows_the_matches(item, [s.findtext("answer/text") or "" for s in q.iterfind("subquestion")], fmt)
    elif fmt == "json":
        assert [i["id"] for i in json.loads(result.data)["items"]] == [i.id for i in bank.items]
    elif fmt == "markdown":
        assert _pandoc(result.files) == []
    elif fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(result.data)) as z:
            assert z.testzip() is None


@settings(max_examples=EXAMPLES)
@given(generated=banks(min_items=10, max_items=12, every_type=True))
def test_every_format_exports_every_generated_item_and_reads_back(tmp_path_factory, generated) -> None:
    if not _xsd_ready():
        require(False, "official XML schemas (../shared/xsd)")
    bank = load(generated, tmp_path_factory.mktemp("bank"))
    renderer = Renderer()
    for fmt, exporter in registry().items():
        ctx = ExportContext(renderer=renderer, options=ExportOptions(check=fmt in CHECKED), tool_version="test")
        result = exporter.export(bank, ctx)
        skipped = [item_id for item_id, _ in result.skipped]
        assert all(reason.strip() for _, reason in result.skipped), fmt
        if fmt not in ("xlsx", "json", "markdown"):
            # One account per item: written (counted by type) or skipped with a reason.
            assert sum(result.written.values()) + len(skipped) == len(bank.items), (fmt, result.summary())
        _read_back(fmt, bank, result)
        assert audit.audit(fmt, bank, result, renderer) == [], fmt  # the invariants every export keeps


@settings(max_examples=EXAMPLES)
@given(generated=banks(min_items=4, max_items=6, every_type=True, types_from=("calculated", "numeric", "calculated", "cloze")))
def test_every_format_exports_generated_calculated_items_or_says_why(tmp_path_factory, generated) -> None:
    """Calculated items with placeholders among hostile Markdown (bold, code, math, links, entities, RTL
    text), next to other items: every format writes each or skips it with a reason (QTI: template
    processing, valid against the XSDs; a placeholder in math or a format printf lacks is skipped), and
    keeps the invariants; with --expand-variants too."""
    if not _xsd_ready():
        require(False, "official XML schemas (../shared/xsd)")
    bank = load(generated, tmp_path_factory.mktemp("bank"))
    renderer = Renderer()
    for fmt, exporter in registry().items():
        for expand in (0, 2) if "expand_variants" in exporter.options else (0,):
            options = ExportOptions(check=fmt in CHECKED, expand_variants=expand)
            try:
                result = exporter.export(bank, ExportContext(renderer=renderer, options=options, tool_version="test"))
            except ItembankError as exc:  # a package of nothing: every item was skipped, and it says why
                assert "every item was skipped" in str(exc), (fmt, str(exc))
                continue
            assert all(reason.strip() for _, reason in result.skipped), fmt
            if fmt not in ("xlsx", "json", "markdown"):
                assert sum(result.written.values()) + len(result.skipped) == len(bank.items), (fmt, expand, result.summary())
            if not expand:
                _read_back(fmt, bank, result)
            assert audit.audit(fmt, bank, result, renderer) == [], (fmt, expand)


_PLACEHOLDER_TROUBLE = re.compile(r"placeholder|did not survive|only inside code|private-use")


@settings(max_examples=EXAMPLES * 4)
@given(generated=banks(min_items=3, max_items=5, types_from=("cloze",)))
def test_every_valid_blank_name_gives_one_answer_field_per_blank_in_every_format(tmp_path_factory, generated) -> None:
    """Cloze items whose blanks have any name the format allows (``_a_``, ``{{_x}} ... {{y_}}``,
    ``a_b_c``: underscores Markdown would read as emphasis) in any Markdown around them (emphasis
    around and beside, lists, tables, headings, code, math): every format writes every item (GIFT,
    which has no cloze, says why) with one answer field per blank, as the audit counts them (QTI's
    interactions, Moodle's embedded answers, Canvas's [name]s), and the HTML pages one input per blank."""
    if not _xsd_ready():
        require(False, "official XML schemas (../shared/xsd)")
    bank = load(generated, tmp_path_factory.mktemp("bank"))
    renderer = Renderer()
    for fmt, exporter in registry().items():
        result = exporter.export(bank, ExportContext(renderer=renderer, options=ExportOptions(check=fmt in CHECKED), tool_version="test"))
        if fmt == "gift":
            assert {reason for _, reason in result.skipped} == {"GIFT has no cloze question type (use the Moodle XML export)"}
            continue
        # Skipped only for what the format cannot say of a blank's content (Moodle: an image in its
        # feedback, an answer ending in a backslash), never for where or how its placeholder stands.
        assert not [s for s in result.skipped if _PLACEHOLDER_TROUBLE.search(s[1])], (fmt, result.skipped)
        _read_back(fmt, bank, result)
        assert audit.audit(fmt, bank, result, renderer) == [], fmt
        if fmt == "html":
            skipped = {item_id for item_id, _ in result.skipped}
            pages = [lxml.html.document_fromstring(data.decode("utf-8")) for name, data in sorted((result.files or {}).items()) if name.endswith(".html")]
            for item in bank.items:
                assert isinstance(item, ClozeItem)
                if item.id in skipped:
                    continue
                fields = [f.get("data-blank") for doc in pages for f in doc.xpath(f'//article[@data-item="{item.id}"]//*[self::input or self::select][@data-blank]')]
                assert sorted(fields) == sorted(b.name for b in item.blanks), (item.id, item.stem)


# --- the real QTI player, on every generated item ----------------------------------------------------


def _player_cannot_tell(r: dict) -> bool:
    wrong = (r.get("wrongResponse") or {}).get("RESPONSE")
    right = (r.get("correctResponse") or {}).get("RESPONSE")
    try:
        return r["problems"] == [f"wrong response scored {r['wrongScore']}, not below the correct score {r['correctScore']}"] and float(right) + 7.5 == float(right) or float(wrong) == float(right)
    except (TypeError, ValueError, KeyError):
        return False


def merged_bank(parts: list[Bank]) -> Bank:
    """One bank of every generated bank's items (ids prefixed by the bank's number)."""
    items = []
    for n, part in enumerate(parts):
        items.extend(dataclasses.replace(item, id=f"b{n:03d}-{item.id}") for item in part.items)
    return Bank(root=parts[0].root, config=parts[0].config, items=tuple(items))


@pytest.mark.consumer
@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_the_qti_player_passes_every_generated_item(qti_player: Path, tmp_path_factory, fmt: str) -> None:
    parts: list[Bank] = []
    root = tmp_path_factory.mktemp("banks")

    @settings(max_examples=PLAYER_BANKS)
    @given(generated=banks(min_items=7, max_items=10, every_type=False))
    def collect(generated) -> None:
        parts.append(load(generated, root / f"bank-{len(parts):03d}"))

    collect()
    # Images: every generated bank holds the same files; the merged bank reads them from the first.
    bank = merged_bank(parts)
    result = registry()[fmt].export(bank, ExportContext(renderer=Renderer(), tool_version="test"))
    package = tmp_path_factory.mktemp("player") / f"{fmt}.zip"
    package.write_bytes(result.data)
    report = package.with_suffix(".json")
    proc = subprocess.run(
        ["bash", str(qti_player), str(package), "--no-shots", "--json", str(report), "--jobs", "2"], capture_output=True, text=True, timeout=3600
    )
    assert report.is_file(), proc.stdout + proc.stderr
    results = json.loads(report.read_text())["results"]
    by_item = {i.id: i for i in bank.items}
    assert len(results) == len(bank.items)
    # WARN is the player's "a scripted drag did not produce the response, set through the API": an
    # image-only entry of an ordering item is dragged as an image by Chromium.  Scores still count.
    # A key so large that the player's wrong answer (key + 7.5) is the same float (6.02214076e23) scores
    # full marks both ways: the harness cannot tell, the item is right; not counted against us.
    bad = [
        r for r in results
        if (r["status"] == "FAIL" and not _player_cannot_tell(r))
        or (r["status"] == "WARN" and not all("UI gesture" in n for n in r["notes"]))
    ]
    detail = "\n".join(
        f"{r['status']} {r['identifier']}: {r.get('problems')} correct={r.get('correctResponse')} wrong={r.get('wrongResponse')}" for r in bad
    )
    assert not bad, f"{len(bad)} of {len(results)} generated items do not PASS:\n{detail}\n{proc.stdout[-3000:]}"
    for r in results:
        item = by_item[re.sub(r"^I_", "", r["identifier"])] if re.sub(r"^I_", "", r["identifier"]) in by_item else None
        if item is not None and item.gradable:
            assert float(r["correctScore"]) == item.points, (item.id, r["correctScore"])
