"""Round trip for the Moodle XML and GIFT importers: export in format F, import, compare the models.

Equal except for what F cannot carry, and every such loss is named in the import report.  On the
example bank, the every-type bank, and generated banks of valid items of every type (hypothesis).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ALL_TYPES_BANK, SEED_BANK
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_helpers import NOT_CARRIED, canonical, differences, report_text

from itembank import export, load_bank
from itembank.imports import run_import
from itembank.rules import RuleContext, check_item
from itembank.model import BankConfig
from itembank.problems import RULES
from itembank.schema import item_schema

SUFFIX = {"moodle": "questions.xml", "gift": "questions.gift"}
#: Item types that come back with a different but equivalent form (a calculated item's formula is
#: rewritten in Moodle's syntax and back, derived variables inlined): they must come back, and are
#: compared by evaluating their formulas in test_import_calculated.py, not field by field here.
COMPARED_ELSEWHERE = {"calculated"}
#: Report words for fields that differ for a reason the importer states per item.
ITEM_NOTE_WORDS = {"scoring": "scoring"}


def roundtrip(bank_dir: Path, fmt: str, tmp: Path) -> tuple[Any, Any, Path]:
    bank = load_bank(bank_dir)
    result = export(bank, fmt)
    src = tmp / SUFFIX[fmt]
    src.write_bytes(result.data or b"")
    out = tmp / "imported"
    report = run_import([src], out, fmt=fmt)
    return result, report, out


def check_roundtrip(bank_dir: Path, fmt: str, tmp: Path) -> int:
    exported, report, out = roundtrip(bank_dir, fmt, tmp)
    if not exported.written:  # every item was one the format cannot hold (the export said why)
        assert exported.skipped and report.total == 0
        return 0
    # every exported item comes back, nothing is skipped on the way in but the types no reader reads yet
    orig = canonical(bank_dir)
    exported_ids = set(orig) - {i for i, _r in exported.skipped}
    elsewhere = {i for i in exported_ids if orig[i]["type"] in COMPARED_ELSEWHERE}
    assert report.total == sum(exported.written.values()), [(f.skipped, exported.skipped) for f in report.files]
    skipped_in = [s for f in report.files for s in f.skipped]
    assert not skipped_in, skipped_in
    got = canonical(out)  # canonical() loads: the imported bank validates
    assert set(got) == exported_ids
    for item_id, item in got.items():
        if item_id in elsewhere:
            assert item["type"] == orig[item_id]["type"]
            continue
        diffs = differences(orig[item_id], item, bank_dir, out)
        said = report_text(report, item_id)
        for field, (was, now) in diffs.items():
            word = NOT_CARRIED[fmt].get(field) or ITEM_NOTE_WORDS.get(field)
            if fmt == "moodle" and item["type"] == "cloze" and field in ("points", "blanks"):
                word = "blank weights"  # Moodle's cloze mark is the sum of integer blank weights
            if fmt == "gift" and item["type"] == "flashcard" and field in ("answer", "rationale"):
                word = "flashcard's back"
            assert word is not None, f"{fmt}: {item_id}.{field} changed and the format can carry it: {was!r} -> {now!r}"
            assert word in said, f"{fmt}: {item_id}.{field} lost ({was!r} -> {now!r}) but the import report does not say '{word}'"
    return len(got)


@pytest.mark.parametrize("fmt", ["moodle", "gift"])
@pytest.mark.parametrize("bank_dir", [ALL_TYPES_BANK, SEED_BANK], ids=["all-types", "items"])
def test_roundtrip_banks(bank_dir: Path, fmt: str, tmp_path: Path) -> None:
    n = check_roundtrip(bank_dir, fmt, tmp_path)
    assert n >= 9


@pytest.mark.parametrize("fmt,reader", [("qti21", "qti"), ("qti30", "qti"), ("canvas", "canvas"), ("moodle", "moodle"), ("gift", "gift")])
def test_options_that_validation_tells_apart_come_back_from_our_own_export(fmt: str, reader: str, tmp_path: Path) -> None:
    """Options, choices and pairs that differ only in letter case are valid (learners tell "Yes" from
    "yes"): every importer takes them back from our export (the QTI and Canvas readers refused the
    item, "the same text", lower-casing what validation keeps apart)."""
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    (bank_dir / "case.yaml").write_text(
        "items:\n"
        "  - {id: case-mc, type: multiple_choice, stem: Which one?, options: [{id: a, text: 'Yes', correct: true}, {id: b, text: 'yes', feedback: Lower case.}, {id: c, text: 'YES', feedback: Upper case.}]}\n"
        "  - {id: case-mr, type: multiple_response, stem: Which ones?, options: [{id: a, text: 'pH', correct: true}, {id: b, text: 'ph', correct: true}, {id: c, text: 'PH', feedback: Upper case.}]}\n",
        encoding="utf-8",
    )
    bank = load_bank(bank_dir)
    result = export(bank, fmt)
    assert sorted(result.written.elements()) == ["multiple_choice", "multiple_response"], result.skipped
    src = tmp_path / ("out.zip" if fmt in ("qti21", "qti30", "canvas") else SUFFIX[fmt])
    src.write_bytes(result.data or b"")
    report = run_import([src], tmp_path / "imported", fmt=reader)
    assert [s for f in report.files for s in f.skipped] == []
    got = canonical(tmp_path / "imported")
    assert {i: [o["text"] for o in item["options"]] for i, item in got.items()} == {"case-mc": ["Yes", "yes", "YES"], "case-mr": ["pH", "ph", "PH"]}


def test_math_in_a_cloze_blanks_feedback_comes_back_from_moodle_as_math(tmp_path: Path) -> None:
    """Moodle's cloze syntax needs a feedback's backslash written ``&#92;``: ``\\(x^2\\)`` is then
    ``&#92;(x^2&#92;)``, which the importer read as text (a visible "\\(x^2\\)"), not as math."""
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    (bank_dir / "cz.yaml").write_text(
        "id: cz\ntype: cloze\nstem: 'Square of x is {{sq}}, and $5 is {{p}}.'\n"
        "blanks:\n  sq: {answers: ['x^2'], feedback: 'It is $x^2$, see **this**.'}\n"
        "  p: {answers: [money], feedback: 'A \\\\ backslash, $$a_1$$ shown, and \\$5.'}\n",
        encoding="utf-8",
    )
    bank = load_bank(bank_dir)
    result = export(bank, "moodle")
    assert b"&#92;(x^2&#92;)" in (result.data or b"")
    src = tmp_path / "questions.xml"
    src.write_bytes(result.data or b"")
    run_import([src], tmp_path / "imported", fmt="moodle")
    got = canonical(tmp_path / "imported")["cz"]  # (Moodle keeps no blank names: compared in the stem's order)
    want = canonical(bank_dir)["cz"]
    from itembank.model import placeholder_names

    feedback = [[item["blanks"][name]["feedback"] for name in placeholder_names(item["stem"])] for item in (got, want)]
    assert feedback[0] == feedback[1] and feedback[1][0] == "It is $x^2$, see **this**."


@pytest.mark.parametrize("fmt,reader", [("qti21", "qti"), ("qti30", "qti"), ("canvas", "canvas")])
def test_literal_double_braces_in_a_cloze_stem_come_back_as_written(fmt: str, reader: str, tmp_path: Path) -> None:
    """``{{`` that is no placeholder (``{{ not a blank }}``), in code or not, comes back as written:
    the QTI and Canvas readers wrote every literal ``{{`` as ``\\{\\{``, which shows its backslashes in code."""
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    stem = "Templates write {{ not a blank }} as text; type {{a}}.\n\n```\nprint('{{ not a blank }}')\n```\n\nAnd `{{ not one }}` inline."
    (bank_dir / "cz.yaml").write_text(json.dumps({"id": "cz", "type": "cloze", "stem": stem, "blanks": {"a": {"answers": ["this"]}}}), encoding="utf-8")
    bank = load_bank(bank_dir)
    result = export(bank, fmt)
    assert not result.skipped
    src = tmp_path / "out.zip"
    src.write_bytes(result.data or b"")
    run_import([src], tmp_path / "imported", fmt=reader)
    got = canonical(tmp_path / "imported")["cz"]["stem"]
    assert "\\{" not in got
    assert got.replace(next(iter(canonical(tmp_path / "imported")["cz"]["blanks"])), "a") == stem


@pytest.mark.parametrize("fmt", ["gift", "moodle"])
def test_ordering_steps_come_back_as_the_plain_text_they_are(fmt: str, tmp_path: Path) -> None:
    """An ordering's steps are plain text: written escaped, read back as the text they show (the GIFT
    reader kept a step's HTML as its text: ``x &lt; y``)."""
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    steps = ["x < y **bold**", "then *a* _b_", "Le caf&eacute; last"]
    (bank_dir / "o.yaml").write_text(json.dumps({"id": "o1", "type": "ordering", "stem": "Order them.", "sequence": steps}), encoding="utf-8")
    result = export(load_bank(bank_dir), fmt)
    assert not result.skipped
    src = tmp_path / SUFFIX[fmt]
    src.write_bytes(result.data or b"")
    run_import([src], tmp_path / "imported", fmt=fmt)
    assert canonical(tmp_path / "imported")["o1"]["sequence"] == steps


def test_options_that_show_alike_are_refused_by_validation() -> None:
    """Markdown shows a run of spaces as one: "foo bar" and "foo  bar" are the same option to a
    learner (IB217; it validated, then our QTI importer refused our own export)."""
    from itembank.rules import RuleContext as Ctx, check_item

    ctx = Ctx(Path("."), BankConfig(title="t"))
    item = {"id": "r4", "type": "multiple_choice", "stem": "Which one?",
            "options": [{"id": "a", "text": "foo bar", "correct": True}, {"id": "b", "text": "foo  bar"}, {"id": "c", "text": "foo\nbar"}]}  # fmt: skip
    found = [(f[0], f[1]) for f in check_item(item, ctx)]
    assert (("options", 1, "text"), "IB217") in found and (("options", 2, "text"), "IB217") in found


def test_moodle_roundtrip_keeps_every_type_and_composed_fields(tmp_path: Path) -> None:
    _e, _r, out = roundtrip(ALL_TYPES_BANK, "moodle", tmp_path)
    got = canonical(out)
    assert {i["type"] for i in got.values()} == {i["type"] for i in canonical(ALL_TYPES_BANK).values()}
    mc = got["at-mc"]
    assert mc["solution"]["steps"][0] == {"title": "Read the axes", "text": "Epochs run left to right, loss bottom to top."}
    assert mc["common_mistakes"] == ["Reading the curve right to left"] and mc["hints"] == ["Look at the direction of the curve."]
    assert mc["difficulty"] == "medium" and mc["bloom"] == "analyze" and mc["objectives"] == ["Read a training curve"]
    essay = got["at-essay"]
    assert [c["points"] for c in essay["rubric"]] == [1, 1, 1, 1] and essay["min_words"] == 20 and essay["response_template"] == "Pre-training is ..."
    assert got["at-card"]["type"] == "flashcard"
    # the image came back as a file of the bank with the same bytes
    img = next(out.glob("media/*.png"))
    assert img.read_bytes() == (ALL_TYPES_BANK / "media" / "loss-curve.png").read_bytes()


# --- generated banks ------------------------------------------------------------------------------

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_SPECIAL = st.sampled_from(["<", "&", "*", "_", "`x`", "**b**", "#", "~", "=", ":", "{", "}", "%", "\"", "'", "\\", "$x^2$", "->", "[", "]", "é", "—"])
# starts with a word: a text that is only "#" or "-" is an empty heading or list in Markdown
_TEXT = st.tuples(_WORD, st.lists(st.one_of(_WORD, _WORD, _SPECIAL), max_size=7)).map(lambda t: " ".join([t[0], *t[1]]))
_PLAIN = st.lists(_WORD, min_size=1, max_size=4).map(" ".join)
_NUM = st.one_of(st.integers(-1000, 1000), st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False).map(lambda f: round(f, 3)))


@st.composite
def items(draw: Any) -> dict[str, Any]:
    t = draw(st.sampled_from(["multiple_choice", "multiple_response", "true_false", "short_answer", "numeric", "essay",
                              "matching", "ordering", "cloze", "flashcard"]))
    item: dict[str, Any] = {"type": t, "stem": draw(_TEXT)}
    if draw(st.booleans()):
        item["rationale"] = draw(_TEXT)
    if draw(st.booleans()):
        item["difficulty"] = draw(st.sampled_from(["easy", "medium", "hard"]))
    if draw(st.booleans()):
        item["tags"] = draw(st.lists(_PLAIN, min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        item["hints"] = draw(st.lists(_TEXT, min_size=1, max_size=2))
    if t in ("multiple_choice", "multiple_response"):
        n = draw(st.integers(2, 5))
        texts = draw(st.lists(_TEXT, min_size=n, max_size=n, unique_by=lambda s: s.strip()))
        keys = {0} if t == "multiple_choice" else set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)))
        item["options"] = [{"id": chr(97 + i), "text": s, "correct": i in keys, "feedback": draw(_TEXT)} for i, s in enumerate(texts)]
        if t == "multiple_response" and draw(st.booleans()):
            item["scoring"] = "all_or_nothing"
    elif t == "true_false":
        item["answer"] = draw(st.booleans())
        item["true_feedback"] = draw(_TEXT)
    elif t == "short_answer":
        item["answers"] = draw(st.lists(_PLAIN, min_size=1, max_size=3, unique=True))
    elif t == "numeric":
        item["answer"] = draw(_NUM)
        item["tolerance"] = abs(draw(_NUM))
    elif t == "essay":
        item["rubric"] = [{"criterion": draw(_TEXT), "points": draw(st.integers(1, 3))} for _ in range(draw(st.integers(1, 3)))]
        item["sample_answer"] = draw(_TEXT)
    elif t == "flashcard":
        item["answer"] = draw(_TEXT)
    elif t == "matching":
        prompts = draw(st.lists(_TEXT, min_size=2, max_size=4, unique_by=lambda s: s.strip()))
        matches = draw(st.lists(_PLAIN, min_size=len(prompts), max_size=len(prompts), unique=True))
        item["pairs"] = [{"prompt": p, "match": m} for p, m in zip(prompts, matches)]
    elif t == "ordering":
        item["sequence"] = draw(st.lists(_PLAIN, min_size=2, max_size=5, unique=True))
    elif t == "cloze":
        item["stem"] = draw(_PLAIN) + " {{x}} " + draw(_PLAIN) + " {{y}}."
        item["blanks"] = {"x": {"answers": draw(st.lists(_PLAIN, min_size=1, max_size=2, unique=True))},
                          "y": {"choices": ["alpha", "beta", "gamma"], "correct": draw(st.sampled_from(["alpha", "beta", "gamma"]))}}
    return item


def _valid(item: dict[str, Any]) -> bool:
    if list(item_schema().errors(item)):
        return False
    ctx = RuleContext(Path("."), BankConfig())
    return not [c for _p, c, _m in check_item(item, ctx) if RULES.get(c, ("error",))[0] == "error"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(bank=st.lists(items(), min_size=1, max_size=6), fmt=st.sampled_from(["moodle", "gift"]))
def test_roundtrip_generated_banks(bank: list[dict[str, Any]], fmt: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("gen")
    src = tmp / "bank"
    src.mkdir()
    kept = []
    for n, item in enumerate(bank):
        item = dict(item, id=f"gen-{n}")
        if _valid(item):
            kept.append(item)
    if not kept:
        return
    (src / "items.json").write_text(json.dumps({"items": kept}), encoding="utf-8")
    check_roundtrip(src, fmt, tmp)
    shutil.rmtree(tmp, ignore_errors=True)

