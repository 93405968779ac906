"""The Canvas QTI 1.2 package: structure as Canvas's importer reads it, scoring, feedback, determinism.

No public schema covers Canvas's QTI 1.2 dialect, so the package is checked structurally by
``itembank.exporters.canvas.check`` (the same code ``--check`` runs) and its response processing is
evaluated by a small QTI 1.2 condition interpreter below, the way Canvas scores a submission.
"""

from __future__ import annotations

import dataclasses
import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from itembank.exporters import canvas
from itembank.exporters.canvas.check import check_package
from itembank.exporters.canvas.names import bank_item_ident, quiz_ident
from itembank.exporters.canvas.zipstream import BackgroundWriter, BankSpool
from itembank.exporters.kit import zip as kit_zip
from itembank import Bank
from itembank.errors import ItembankError
from itembank.formats import ExportContext, ExportOptions, ExportResult
from itembank.model import Form, MatchingItem, Section, ShortAnswerItem, SourceRef
from itembank.render import Renderer

Q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
C = "{http://canvas.instructure.com/xsd/cccv1p0}"


def export_files(bank: Bank, **options: object) -> tuple[dict[str, bytes], ExportResult]:
    result = canvas.exporter.export(bank, ExportContext(renderer=Renderer(), options=ExportOptions(**{"unzipped": True, **options})))
    assert result.files is not None
    return result.files, result


def quiz_root(bank: Bank, files: dict[str, bytes]) -> etree._Element:
    qident = quiz_ident(bank)
    return etree.fromstring(files[f"{qident}/{qident}.xml"])


def bank_items(bank: Bank, files: dict[str, bytes]) -> dict[str, etree._Element]:
    """Question-bank items by model item id."""
    by_ident = {}
    for name, data in files.items():
        if name.startswith("non_cc_assessments/"):
            for item in etree.fromstring(data).iter(f"{Q}item"):
                by_ident[item.get("ident")] = item
    return {i.id: by_ident[bank_item_ident(bank, i)] for i in bank.items if bank_item_ident(bank, i) in by_ident}


def meta(item: etree._Element) -> dict[str, str]:
    return {
        f.findtext(f"{Q}fieldlabel"): f.findtext(f"{Q}fieldentry") or ""
        for f in item.iter(f"{Q}qtimetadatafield")
    }


def feedback_text(item: etree._Element, ident: str) -> str:
    for fb in item.iterfind(f"{Q}itemfeedback"):
        if fb.get("ident") == ident:
            html = fb.findtext(f".//{Q}mattext") or ""
            return "".join(etree.fromstring(f"<div>{html}</div>").itertext())
    return ""


# --- a QTI 1.2 response-processing interpreter (what Canvas does with the conditions) ------------


def _holds(cond: etree._Element, answers: dict[str, set[str] | str]) -> bool:
    tag = etree.QName(cond).localname
    if tag in ("conditionvar", "and"):
        return all(_holds(c, answers) for c in cond)
    if tag == "or":
        return any(_holds(c, answers) for c in cond)
    if tag == "not":
        return not _holds(cond[0], answers)
    if tag == "other":
        return True
    given_ = answers.get(cond.get("respident", ""))
    if tag == "varequal":
        if isinstance(given_, set):
            return cond.text in given_
        try:
            return float(given_ or "x") == float(cond.text or "")
        except ValueError:
            return (given_ or "").strip().lower() == (cond.text or "").strip().lower()
    value = float(given_)  # type: ignore[arg-type]
    bound = float(cond.text or "")
    return {"vargte": value >= bound, "varlte": value <= bound, "vargt": value > bound, "varlt": value < bound}[tag]


def score(item: etree._Element, answers: dict[str, set[str] | str]) -> tuple[float, list[str]]:
    """The SCORE (0–100) and the feedback shown, evaluating respconditions in order as Canvas does."""
    total, shown = 0.0, []
    for rc in item.iterfind(f"{Q}resprocessing/{Q}respcondition"):
        # a conditionvar holding several conditions side by side means "any of them" for Canvas's
        # short answers (sibling varequals), and "all" for numeric ranges (vargte + varlte)
        cv = rc.find(f"{Q}conditionvar")
        children = list(cv)
        if len(children) > 1 and all(etree.QName(c).localname == "varequal" for c in children):
            ok = any(_holds(c, answers) for c in children)
        else:
            ok = _holds(cv, answers)
        if not ok:
            continue
        for sv in rc.iterfind(f"{Q}setvar"):
            total = float(sv.text) if sv.get("action") == "Set" else total + float(sv.text)
        shown += [d.get("linkrefid") for d in rc.iterfind(f"{Q}displayfeedback")]
        if rc.get("continue") == "No":
            break
    return total, shown


def labels(item: etree._Element) -> list[str]:
    return [rl.get("ident") for rl in item.iter(f"{Q}response_label")]


# --- tests ------------------------------------------------------------------------------------------


def test_all_types_package_passes_the_structural_check(all_types_bank: Bank) -> None:
    files, result = export_files(all_types_bank)
    assert check_package(files) == []
    written = sum(result.written.values())
    assert written + len(result.skipped) == len(all_types_bank.items)
    assert result.skipped == [("at-card", "flashcards have no Canvas quiz question type (use the markdown or xlsx export)")]


def test_check_option_runs_the_check_and_says_so(all_types_bank: Bank) -> None:
    _, result = export_files(all_types_bank, check=True)
    assert any("structural check passed" in n for n in result.notes)


def test_seed_bank_package_passes_the_structural_check(seed_bank: Bank) -> None:
    files, result = export_files(seed_bank)
    assert check_package(files) == []
    assert sum(result.written.values()) + len(result.skipped) == len(seed_bank.items)


def test_question_types(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    types = {i: meta(el)["question_type"] for i, el in bank_items(all_types_bank, files).items()}
    assert types == {
        "at-mc": "multiple_choice_question",
        "at-mr": "multiple_answers_question",
        "at-mr-strict": "multiple_answers_question",
        "at-tf": "true_false_question",
        "at-sa": "short_answer_question",
        "at-num": "numerical_question",
        "at-num-range": "numerical_question",
        "at-essay": "essay_question",
        "at-match": "matching_question",
        "at-order": "matching_question",
        "at-cloze": "fill_in_multiple_blanks_question",
        "at-calc": "calculated_question",
    }
    assert meta(bank_items(all_types_bank, files)["at-num"])["points_possible"] == "2"


def test_quiz_meta_identifier_is_the_assessment_ident(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    qident = quiz_ident(all_types_bank)
    quiz = etree.fromstring(files[f"{qident}/assessment_meta.xml"])
    assert quiz.get("identifier") == quiz_root(all_types_bank, files).find(f"{Q}assessment").get("ident") == qident
    total = sum(i.points for i in all_types_bank.items if i.type != "flashcard")
    assert float(quiz.findtext(f"{C}points_possible")) == total
    assert quiz.findtext(f"{C}quiz_type") == "assignment"


def test_question_banks_are_named_by_bank_and_topic_and_the_quiz_refers_to_them(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    titles = set()
    for name, data in files.items():
        if name.startswith("non_cc_assessments/"):
            ob = etree.fromstring(data).find(f"{Q}objectbank")
            titles.add(meta(ob)["bank_title"])
    assert titles == {"All types — training", "All types — basics", "All types — writing"}
    bank_idents = {el.get("ident") for el in bank_items(all_types_bank, files).values()}
    quiz_items = list(quiz_root(all_types_bank, files).iter(f"{Q}item"))
    assert len(quiz_items) == 12
    assert {meta(i)["assessment_question_identifierref"] for i in quiz_items} == bank_idents
    # one section per topic, in first-seen order
    sections = quiz_root(all_types_bank, files).findall(f"{Q}assessment/{Q}section/{Q}section")
    assert [s.get("title") for s in sections] == ["training", "basics", "writing"]


def test_quiz_copy_has_the_same_content_as_the_bank_copy(all_types_bank: Bank) -> None:
    # Canvas de-duplicates a quiz question into its bank question only when the content is identical.
    files, _ = export_files(all_types_bank)
    bank = {el.get("ident"): el for el in bank_items(all_types_bank, files).values()}
    for qi in quiz_root(all_types_bank, files).iter(f"{Q}item"):
        twin = bank[meta(qi)["assessment_question_identifierref"]]
        strip = lambda el: [
            etree.tostring(c) for c in el if etree.QName(c).localname != "itemmetadata"
        ]
        assert strip(qi) == strip(twin)
        assert qi.get("title") == twin.get("title")


def test_correct_answers_score_full_and_wrong_answers_do_not(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    items = bank_items(all_types_bank, files)
    mc = items["at-mc"]
    a, b, _ = labels(mc)
    assert score(mc, {"response1": {a}})[0] == 100
    assert score(mc, {"response1": {b}})[0] == 0
    mr = items["at-mr"]
    ids = labels(mr)
    assert score(mr, {"response1": {ids[0], ids[1]}})[0] == 100
    assert score(mr, {"response1": {ids[0], ids[2]}})[0] == 0
    tf = items["at-tf"]
    assert score(tf, {"response1": {labels(tf)[0]}})[0] == 100
    assert score(tf, {"response1": {labels(tf)[1]}})[0] == 0
    sa = items["at-sa"]
    assert score(sa, {"response1": "pretraining"})[0] == 100
    assert score(sa, {"response1": "fine-tuning"})[0] == 0
    num = items["at-num"]
    assert score(num, {"response1": "50000"})[0] == 100
    assert score(num, {"response1": "50001"})[0] == 0
    rng = items["at-num-range"]
    assert score(rng, {"response1": "0.005"})[0] == 100
    assert score(rng, {"response1": "0.02"})[0] == 0


def test_matching_ordering_and_cloze_score_per_part(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    items = bank_items(all_types_bank, files)
    match = items["at-match"]
    lids = match.findall(f"{Q}presentation/{Q}response_lid")
    text_to_id = {rl.findtext(f".//{Q}mattext"): rl.get("ident") for rl in lids[0].iter(f"{Q}response_label")}
    assert "Deletes data" in text_to_id  # the distractor is offered
    right = {
        lids[0].get("ident"): {text_to_id["Learns general patterns"]},
        lids[1].get("ident"): {text_to_id["Adapts to a task"]},
        lids[2].get("ident"): {text_to_id["Measures performance"]},
    }
    assert score(match, right)[0] == pytest.approx(100, abs=0.02)
    right[lids[2].get("ident")] = {text_to_id["Deletes data"]}
    assert score(match, right)[0] == pytest.approx(66.66, abs=0.02)

    order = items["at-order"]
    lids = order.findall(f"{Q}presentation/{Q}response_lid")
    steps = {rl.findtext(f".//{Q}mattext"): rl.get("ident") for rl in lids[0].iter(f"{Q}response_label")}
    seq = ["Collect a large general corpus", "Pre-train", "Fine-tune on task data", "Evaluate"]
    assert [lid.findtext(f"{Q}material/{Q}mattext") for lid in lids] == [f"Position {n}" for n in range(1, 5)]
    assert score(order, {lid.get("ident"): {steps[s]} for lid, s in zip(lids, seq)})[0] == pytest.approx(100)
    assert score(order, {lid.get("ident"): {steps[s]} for lid, s in zip(lids, reversed(seq))})[0] == 0

    cloze = items["at-cloze"]
    stem = cloze.findtext(f"{Q}presentation/{Q}material/{Q}mattext")
    assert "[phase1]" in stem and "[phase2] (fine-tuned / deleted / ignored)" in stem and "[epochs]" in stem
    by_blank = {
        lid.get("ident"): {rl.findtext(f".//{Q}mattext"): rl.get("ident") for rl in lid.iter(f"{Q}response_label")}
        for lid in cloze.findall(f"{Q}presentation/{Q}response_lid")
    }
    assert set(by_blank["response_phase1"]) == {"pre-trained", "pretrained"}
    assert set(by_blank["response_phase2"]) == {"fine-tuned"}  # mixed cloze: the dropdown becomes a typed blank
    assert set(by_blank["response_epochs"]) == {"3", "3.0"}
    all_right = {k: {v[next(iter(v))]} for k, v in by_blank.items()}
    assert score(cloze, all_right)[0] == pytest.approx(100, abs=0.02)



def submission_text(question_text: str, variables: list[str]) -> str:
    """Quizzes::Quiz#generate_submission_question for a fill_in_multiple_blanks question: each
    blank's field replaces the FIRST ``[variable]`` of the question text (``text.sub``)."""
    import re

    for v in variables:
        question_text = re.sub(r"\[" + v + r"\]", f"<input name='{v}'/>", question_text, count=1)
    return question_text


def test_a_cloze_whose_text_shows_a_blank_name_in_brackets_gets_its_fields_in_place(tmp_path: Path) -> None:
    """'In `a[i]` the subscript is {{i}}': Canvas puts a blank's field at the first [i] of the
    question text, the one in the code, and left '[i]' where the blank is; the export's audit saw
    [i] twice and refused to write anything ('a bug in itembank').  Such a blank's Canvas variable is
    now one the text does not show (i_2), and the export is written."""
    from itembank import export, load_bank

    (tmp_path / "itembank.yaml").write_text("title: T\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        'id: idx\ntype: cloze\nstem: "In `a[i]` the subscript is {{i}}, and in a[n] too; [m] {{m}}. Lists start at {{n}}."\n'
        "blanks:\n  i: {answers: [i]}\n  n: {number: 0}\n  m: {answers: [m], feedback: Not m}\n",
        encoding="utf-8",
    )
    bank = load_bank(tmp_path)
    result = export(bank, "canvas", unzipped=True)  # the audit runs: it refused this item before
    item = next(i for n, d in (result.files or {}).items() if n.startswith("non_cc_assessments/") for i in etree.fromstring(d).iter(f"{Q}item"))
    variables = [lid.get("ident")[len("response_"):] for lid in item.findall(f"{Q}presentation/{Q}response_lid")]
    shown = submission_text(item.findtext(f"{Q}presentation/{Q}material/{Q}mattext") or "", variables)
    assert "<code>a[i]</code> the subscript is <input" in shown and "in a[n] too; [m] <input" in shown
    assert "Lists start at <input" in shown and shown.count("<input") == 3

def test_feedback_survives(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    items = bank_items(all_types_bank, files)
    mc = items["at-mc"]
    a, b, c = labels(mc)
    assert "falling loss means the fit improves" in feedback_text(mc, f"{a}_fb")
    assert '"&" and "<" are just text' in feedback_text(mc, f"{c}_fb")
    general = feedback_text(mc, "general_fb")
    for piece in ("decreasing training loss", "Read the axes", "Compare the first and last points", "option a",
                  "Falling loss = learning", "direction of the curve"):
        assert piece in general
    assert "Reading the curve right to left" in feedback_text(mc, "general_incorrect_fb")
    # choosing b shows the general feedback, b's own feedback and the incorrect feedback; a only its own
    assert score(mc, {"response1": {b}})[1] == ["general_fb", f"{b}_fb", "general_incorrect_fb"]
    assert score(mc, {"response1": {a}})[1] == ["general_fb", f"{a}_fb"]
    tf = items["at-tf"]
    t, f = labels(tf)
    assert "what makes it fine-tuning" in feedback_text(tf, f"{t}_fb")
    assert "training from scratch" in feedback_text(tf, f"{f}_fb")
    essay = feedback_text(items["at-essay"], "general_fb")
    assert "Adapting to a specific task" in essay and "fine-tuning adapts them to a task" in essay
    assert "learning general skills first" in essay  # the hint
    stem = items["at-essay"].findtext(f"{Q}presentation/{Q}material/{Q}mattext")
    assert "at least 20 and at most 200 words" in stem and "Pre-training is ..." in stem


def test_images_are_packaged_listed_and_referenced_through_the_filebase(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    assert files["web_resources/media/loss-curve.png"] == (all_types_bank.root / "media/loss-curve.png").read_bytes()
    stem = bank_items(all_types_bank, files)["at-mc"].findtext(f"{Q}presentation/{Q}material/{Q}mattext")
    assert 'src="$IMS-CC-FILEBASE$/media/loss-curve.png"' in stem
    manifest = etree.fromstring(files["imsmanifest.xml"])
    web = [r for r in manifest.iter("{*}resource") if r.get("type") == "webcontent"]
    assert [r.get("href") for r in web] == ["web_resources/media/loss-curve.png"]
    # math becomes MathJax-delimited LaTeX, code stays code
    assert r"\(L = -\sum_i y_i \log p_i\)" in stem and "<code>loss &lt; 0.1</code>" in stem


def test_manifest_hrefs_are_uri_references_canvas_reads_back(tmp_path: Path) -> None:
    """imsmanifest.xml listed ``media/C#-logo.png`` as ``href="web_resources/media/C#-logo.png"``: an
    href is a URI reference (IMS CP), where '#' starts a fragment, '?' a query and '%' an escape, and
    Canvas takes the file's name with CGI.unescape ('+' a space).  Each is percent-encoded now; a
    non-ASCII character is written as it is, because Canvas's QTI converter (QTIMigrationTool's
    DecodePathSegment) decodes each %XX to one character and an encoded UTF-8 name names no file.
    The question HTML's $IMS-CC-FILEBASE$ reference reads as the same file, and our importer reads
    the package back with the image."""
    import re
    from urllib.parse import unquote_plus

    from import_compare import read

    from itembank import export, load_bank
    from itembank.importers.canvas import importer as canvas_importer

    name = "C# sharp? 50%+1 café.png"
    root = tmp_path / "bank"
    (root / "media").mkdir(parents=True)
    image = b"\x89PNG\r\n\x1a\n odd name"
    (root / "media" / name).write_bytes(image)
    (root / "q.yaml").write_text('id: q\ntype: true_false\nstem: "See ![logo](media/C%23%20sharp%3F%2050%25%2B1%20caf%C3%A9.png)."\nanswer: true\n',
                                 encoding="utf-8")
    bank = load_bank(root)
    files, _ = export_files(bank)
    assert check_package(files) == []
    assert files[f"web_resources/media/{name}"] == image
    manifest = etree.fromstring(files["imsmanifest.xml"])
    [res] = [r for r in manifest.iter("{*}resource") if r.get("type") == "webcontent"]
    href = "web_resources/media/C%23%20sharp%3F%2050%25%2B1%20café.png"
    assert res.get("href") == href and [f.get("href") for f in res.iter("{*}file")] == [href]
    assert unquote_plus(href) == f"web_resources/media/{name}"  # Canvas's name of the file (CGI.unescape)
    assert re.sub("%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), href) == f"web_resources/media/{name}"  # its converter's
    stem = bank_items(bank, files)["q"].findtext(f"{Q}presentation/{Q}material/{Q}mattext") or ""
    [src] = re.findall(r'src="\$IMS-CC-FILEBASE\$/([^"]+)"', stem)
    assert "web_resources/" + unquote_plus(src) == unquote_plus(href)  # the HTML names the same file
    package = tmp_path / "c.zip"
    package.write_bytes(export(bank, "canvas").data or b"")
    result, media = read(canvas_importer, package)
    [item] = result.items
    assert list(media.values()) == [image] and next(iter(media)) in item.data["stem"], (item.data["stem"], item.notes)


def test_image_names_holding_hash_or_question_mark_are_packaged_and_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``media/C#-logo.png`` stopped the export ("image 'media/C#-logo.png' cannot be read"): the
    decoded file name was cut at '#' (and '?') once more.  A reference's own fragment or query
    (``a.png#x``, ``a.png?v=2``) still names the file without it."""
    from click.testing import CliRunner

    from itembank import load_bank
    from itembank.cli import main

    root = tmp_path / "bank"
    (root / "media").mkdir(parents=True)
    images = {"C#-logo.png": b"\x89PNG\r\n\x1a\n hash", "what?.png": b"\x89PNG\r\n\x1a\n question", "a.png": b"\x89PNG\r\n\x1a\n plain"}
    for name, data in images.items():
        (root / "media" / name).write_bytes(data)
    (root / "r3.yaml").write_text('id: r3\ntype: true_false\nstem: "See ![logo](media/C%23-logo.png) here."\nanswer: true\n')
    (root / "r4.yaml").write_text(
        'id: r4\ntype: true_false\nstem: "![q](media/what%3F.png), ![a](media/a.png#x) and ![b](media/a.png?v=2)."\nanswer: true\n'
    )
    bank = load_bank(root)
    files, _ = export_files(bank)
    assert check_package(files) == []  # every $IMS-CC-FILEBASE$ image (decoded) is packaged and listed
    for name, data in images.items():
        assert files[f"web_resources/media/{name}"] == data
    manifest = etree.fromstring(files["imsmanifest.xml"])
    web = [r.get("href") for r in manifest.iter("{*}resource") if r.get("type") == "webcontent"]
    # the hrefs are URI references (percent-encoded '#' and '?'): test_manifest_hrefs_are_uri_references_canvas_reads_back
    assert web == ["web_resources/media/C%23-logo.png", "web_resources/media/a.png", "web_resources/media/what%3F.png"]
    items = bank_items(bank, files)
    r3 = items["r3"].findtext(f"{Q}presentation/{Q}material/{Q}mattext")
    r4 = items["r4"].findtext(f"{Q}presentation/{Q}material/{Q}mattext")
    assert 'src="$IMS-CC-FILEBASE$/media/C%23-logo.png"' in r3
    assert 'src="$IMS-CC-FILEBASE$/media/what%3F.png"' in r4 and r4.count('src="$IMS-CC-FILEBASE$/media/a.png"') == 2
    # The command line's zip, the second time from the fragment cache: the same files.
    from itembank.cache import cache_dir

    monkeypatch.setenv("ITEMBANK_NO_CACHE", "0")
    for _ in range(2):
        result = CliRunner().invoke(main, ["export", "canvas", "--bank", str(root), "-o", str(tmp_path / "r3.zip")])
        assert result.exit_code == 0, result.output
        with zipfile.ZipFile(tmp_path / "r3.zip") as zf:
            assert {n: zf.read(n) for n in zf.namelist()} == files
    assert any(p.name.startswith("canvas") for p in cache_dir(root).rglob("*"))  # the fragment cache was used


def test_zip_is_deterministic_and_sorted(all_types_bank: Bank) -> None:
    def build() -> bytes:
        data = canvas.exporter.export(all_types_bank, ExportContext(renderer=Renderer())).data
        assert data is not None
        return data

    first, second = build(), build()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert check_package({n: zf.read(n) for n in names}) == []


def test_zip_holds_the_same_files_as_the_folder(all_types_bank: Bank) -> None:
    # the zip is streamed entry by entry, the folder collected in a dict: both must say the same
    files, _ = export_files(all_types_bank)
    data = canvas.exporter.export(all_types_bank, ExportContext(renderer=Renderer())).data
    assert data is not None
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == files


def test_check_option_reads_the_zip(all_types_bank: Bank) -> None:
    result = canvas.exporter.export(all_types_bank, ExportContext(renderer=Renderer(), options=ExportOptions(check=True)))
    assert result.data is not None and result.files is None
    assert any("structural check passed" in n for n in result.notes)


def _interleaved_topics_bank(all_types_bank: Bank, copies: int) -> Bank:
    """``copies`` renamed copies of the exportable items, in one form section whose topics alternate."""
    by_topic: dict[str, list] = {}
    for n in range(copies):
        for item in all_types_bank.items:
            if item.type != "flashcard":
                by_topic.setdefault(item.topic or "General", []).append(dataclasses.replace(item, id=f"{item.id}-{n}"))
    longest = max(len(v) for v in by_topic.values())
    items = tuple(v[i] for i in range(longest) for v in by_topic.values() if i < len(v))  # round robin
    form = Form(assessment="mix", title="Mixed", form="A", sections=(Section("All", tuple(i.id for i in items)),))
    return dataclasses.replace(all_types_bank, items=items, by_id={}, form=form)


def test_spooled_bank_copies_land_in_their_topic_bank_in_order(all_types_bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    # Bank copies wait in a temporary file while the quiz is written; with topics interleaved, each
    # bank gets several runs of it.  Forcing the spool to disk and copying in 7-byte chunks must give
    # the same package as the in-memory spool, and each bank exactly its topic's questions.
    bank = _interleaved_topics_bank(all_types_bank, 3)
    in_memory, _ = export_files(bank)
    monkeypatch.setattr(BankSpool, "MEMORY", 1)
    monkeypatch.setattr(BankSpool, "_CHUNK", 7)
    monkeypatch.setattr(BankSpool, "_BATCH", 5)  # written in many batches, each after some questions
    on_disk, _ = export_files(bank)
    assert on_disk == in_memory
    assert check_package(on_disk) == []
    for name, data in on_disk.items():
        if name.startswith("non_cc_assessments/"):
            ob = etree.fromstring(data).find(f"{Q}objectbank")
            topic = meta(ob)["bank_title"].split(" — ", 1)[1]
            idents = [el.get("ident") for el in ob.iter(f"{Q}item")]
            assert idents == [bank_item_ident(bank, i) for i in bank.items if i.topic == topic]


def test_export_holds_no_uncompressed_copy_of_the_package(all_types_bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    # Streaming: the questions go into the zip as they are built, so the Python heap never holds the
    # package's XML (a buffered export peaks above its uncompressed size; this one holds the zip,
    # the compressor's state, one question, one chunk of the deflate stream (kit.zip.Chunked) and
    # the batches on their way to the deflating thread).  The spool is put on disk so that the bank
    # copies do not sit in its in-memory buffer, and the batches (a fixed ~1.3 MB, and the spool's
    # 256 KB, at their normal sizes) and the chunks (up to CHUNK_MAX, ~1.6 MB on average) are made
    # small so that the bound is about the package.  Two packages, one twice the other: the peak
    # grows by far less than the XML does (what a copy of it would add), and stays under half of it.
    monkeypatch.setattr(BankSpool, "MEMORY", 1)
    monkeypatch.setattr(BackgroundWriter, "_BATCH", 16 * 1024)
    monkeypatch.setattr(BankSpool, "_BATCH", 16 * 1024)
    monkeypatch.setattr(kit_zip, "CHUNK_MAX", 64 * 1024)
    sizes: list[tuple[int, int]] = []
    for copies in (40, 80):
        bank = _interleaved_topics_bank(all_types_bank, copies)
        files, _ = export_files(bank)
        uncompressed = sum(len(d) for d in files.values())
        renderer = Renderer()
        canvas.exporter.export(bank, ExportContext(renderer=renderer))  # renders and caches every text first
        tracemalloc.start()
        try:
            result = canvas.exporter.export(bank, ExportContext(renderer=renderer))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.data is not None
        sizes.append((uncompressed, peak))
    (small, small_peak), (large, large_peak) = sizes
    assert small > 1_000_000 and large > 1.8 * small  # big enough for the bounds to mean something
    assert large_peak - small_peak < (large - small) / 4, sizes
    assert large_peak < large / 2, sizes


def test_form_sections_become_question_groups(all_types_bank: Bank) -> None:
    picked = ("at-mc", "at-mr", "at-mr-strict")
    items = tuple(all_types_bank.by_id[i] for i in (*picked, "at-tf", "at-sa"))
    form = Form(
        assessment="check",
        title="Check",
        form="A",
        instructions="Answer **every** question.",
        sections=(Section("Choice", picked, pick=2), Section("Recall", ("at-tf", "at-sa"))),
    )
    bank = dataclasses.replace(all_types_bank, items=items, by_id={}, form=form)
    files, result = export_files(bank)
    assert check_package(files) == []
    sections = quiz_root(bank, files).findall(f"{Q}assessment/{Q}section/{Q}section")
    assert [s.get("title") for s in sections] == ["Choice", "Recall"]
    assert sections[0].findtext(f"{Q}selection_ordering/{Q}selection/{Q}selection_number") == "2"
    assert sections[0].findtext(f"{Q}selection_ordering/{Q}selection/{Q}selection_extension/{Q}points_per_item") == "3"
    assert len(sections[0].findall(f"{Q}item")) == 3
    assert sections[1].find(f"{Q}selection_ordering") is None
    assert any("same points" in n for n in result.notes)  # 2, 3 and 1 point items in one group
    quiz = etree.fromstring(files[f"{quiz_ident(bank)}/assessment_meta.xml"])
    assert quiz.findtext(f"{C}title") == "Check (form A)"  # the paper's and the QTI test's title
    assert "<strong>every</strong>" in quiz.findtext(f"{C}description")
    assert float(quiz.findtext(f"{C}points_possible")) == 2 * 3 + 1 + 1


def test_what_canvas_cannot_hold_is_reported(all_types_bank: Bank) -> None:
    _, result = export_files(all_types_bank)
    assert any("[at-mr-strict] all-or-nothing" in n for n in result.notes)


# --- the checker finds what would break an import ----------------------------------------------------


def _mutate(files: dict[str, bytes], name: str, old: bytes, new: bytes) -> dict[str, bytes]:
    assert old in files[name]
    return {**files, name: files[name].replace(old, new, 1)}


def test_checker_reports_broken_packages(all_types_bank: Bank) -> None:
    files, _ = export_files(all_types_bank)
    qident = quiz_ident(all_types_bank)
    meta_name = f"{qident}/assessment_meta.xml"
    bad = _mutate(files, meta_name, f'identifier="{qident}"'.encode(), b'identifier="other"')
    assert any("quiz identifier other != assessment ident" in p for p in check_package(bad))

    bank_file = next(n for n in files if n.startswith("non_cc_assessments/") and b"loss-curve" in files[n])
    bad = _mutate(files, bank_file, b'linkrefid="general_fb"', b'linkrefid="nowhere_fb"')
    assert any("missing itemfeedback 'nowhere_fb'" in p for p in check_package(bad))

    bad = _mutate(files, bank_file, b"<fieldentry>multiple_choice_question</fieldentry>", b"<fieldentry>mcq</fieldentry>")
    assert any("'mcq' is not a Canvas question type" in p for p in check_package(bad))

    mc = bank_items(all_types_bank, files)["at-mc"]
    ids = meta(mc)["original_answer_ids"]
    swapped = ",".join(reversed(ids.split(","))).encode()
    bad = _mutate(files, bank_file, ids.encode(), swapped)
    assert any("do not match the response labels" in p for p in check_package(bad))

    bad = {k: v for k, v in files.items() if k != "web_resources/media/loss-curve.png"}
    assert any("loss-curve.png" in p and "not in the package" in p for p in check_package(bad))

    bad = _mutate(files, bank_file, b"<fieldlabel>bank_title</fieldlabel>", b"<fieldlabel>title</fieldlabel>")
    assert any("no bank_title" in p for p in check_package(bad))

    assert check_package({**files, "imsmanifest.xml": b"<manifest"})[0].startswith("imsmanifest.xml: not well-formed")


@pytest.mark.parametrize("unzipped", [True, False])
def test_unreadable_text_is_an_error_not_a_traceback(all_types_bank: Bank, unzipped: bool) -> None:
    # last, after questions already on their way into the zip: the error still comes out whole
    item = dataclasses.replace(all_types_bank.by_id["at-sa"], answers=("bad\x01answer",))
    items = (*(i for i in all_types_bank.items if i.id != "at-sa"), item)
    bank = dataclasses.replace(all_types_bank, items=items, by_id={})
    with pytest.raises(ItembankError, match="at-sa"):
        canvas.exporter.export(bank, ExportContext(renderer=Renderer(), options=ExportOptions(unzipped=unzipped)))


# --- property: any XML-legal text survives -----------------------------------------------------------

_XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff").filter(
    lambda ch: ch in "\t\n\r" or ord(ch) >= 0x20
)
# pieces joined: single characters anywhere in Unicode (XML-legal) and the usual troublemakers
_TEXT = (
    st.lists(st.text(_XML_CHARS, min_size=1, max_size=3) | st.sampled_from(["<", "&", "]]>", ">", '"', "&amp;"]), min_size=1, max_size=12)
    .map("".join)
    .filter(lambda s: s.strip() == s and s != "")
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=_TEXT, answer=_TEXT, match=_TEXT, stem=_TEXT, bank_title=_TEXT)
def test_any_text_survives_into_well_formed_xml(
    all_types_bank: Bank, title: str, answer: str, match: str, stem: str, bank_title: str
) -> None:
    loc = SourceRef("x.yaml")
    sa = ShortAnswerItem(id="p-sa", type="short_answer", stem=stem, location=loc, title=title, answers=(answer,))
    mt = MatchingItem(
        id="p-mt", type="matching", stem="Match.", location=loc,
        pairs=(dataclasses.replace(all_types_bank.by_id["at-match"].pairs[0], match=match),),
    )
    bank = Bank(root=Path("."), config=dataclasses.replace(all_types_bank.config, title=bank_title), items=(sa, mt))
    renderer = Renderer()
    result = canvas.exporter.export(bank, ExportContext(renderer=renderer, options=ExportOptions(unzipped=True)))
    files = result.files
    assert files is not None
    assert check_package(files) == []
    items = bank_items(bank, files)
    el = items["p-sa"]
    assert el.get("title") == title
    assert [v.text for v in el.iter(f"{Q}varequal")] == [answer]
    assert el.findtext(f"{Q}presentation/{Q}material/{Q}mattext") == f"<div>{renderer.html(stem)}</div>"
    offered = [rl.findtext(f".//{Q}mattext") for rl in items["p-mt"].iter(f"{Q}response_label")]
    assert offered == [match]
    titles = [meta(etree.fromstring(d).find(f"{Q}objectbank"))["bank_title"] for n, d in files.items() if n.endswith(".qti")]
    assert titles == [f"{bank_title} — General"]


@pytest.mark.parametrize(
    ("number", "accepted"),
    [(3, {"3", "3.0"}), (-42.0, {"-42", "-42.0"}), (2.5, {"2.5"}), (6.02214076e23, {"6.02214076e+23"}), (1e15, {"1000000000000000.0"}), (999999999999999.0, {"999999999999999", "999999999999999.0"})],
)
def test_a_numeric_blank_is_accepted_as_written_never_in_binary_digits(all_types_bank: Bank, number: float, accepted: set[str]) -> None:
    """A whole number also accepts its ``.0`` form, below 10^15 only: above, ``f"{x:.1f}"`` wrote the
    float's binary digits (6.02214076e23 as 602214075999999987023872.0), which the export's audit
    refused (found by the long run of generated banks)."""
    from itembank import api

    cloze = next(i for i in all_types_bank.items if i.id == "at-cloze")
    blanks = tuple(dataclasses.replace(b, number=number, tolerance=None) if b.name == "epochs" else b for b in cloze.blanks)
    bank = dataclasses.replace(all_types_bank, items=(dataclasses.replace(cloze, blanks=blanks),), by_id={})
    files, _ = export_files(bank)
    lids = {lid.get("ident"): {rl.findtext(f".//{Q}mattext") for rl in lid.iter(f"{Q}response_label")} for lid in bank_items(bank, files)["at-cloze"].iter(f"{Q}response_lid")}
    assert lids["response_epochs"] == accepted
    api.export(bank, "canvas")  # the export's audit passes (it refuses a number written with binary rounding)
