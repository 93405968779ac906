"""Generated banks (hypothesis) through canvas / qti21 / qti30 and back: what the fixed banks do not
contain -- markup characters, Unicode, emphasis, code, many options, odd numbers -- must survive the
export and the import, equal as rendered, except what each format cannot carry."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from import_compare import diff, normal, numeric_bounds, read, strip_defaults
from itembank.importers.canvas import importer as canvas_importer
from itembank.importers.qti import importer as qti_importer
from itembank import load_bank
from itembank.api import export
from itembank.validate import check_bank
from test_import_roundtrip_qti import NOT_CARRIED, REPORTED_BY_EXPORT

WORDS = st.sampled_from([
    "loss", "Epoch", "model", "a<b", "x & y", "café", "naïve", "中文", "don't", '"quoted"', "(1)", "50%", "*star*", "_under_",
    "`code`", "**bold**", "e.g.", "->", "#tag", "a/b", "[x]", "{y}", "3.5", "-2", "tab\tin", "&amp;", "~tilde~",
])


@st.composite
def text(draw: st.DrawFn, min_words: int = 1, max_words: int = 8) -> str:
    words = draw(st.lists(WORDS, min_size=min_words, max_size=max_words))
    out = " ".join(w for w in words).strip()
    return out or "text"


@st.composite
def item(draw: st.DrawFn, n: int) -> dict:
    kind = draw(st.sampled_from(["multiple_choice", "multiple_response", "true_false", "short_answer", "numeric", "essay",
                                 "matching", "ordering", "cloze"]))
    data: dict = {"id": f"gen-{n}", "type": kind, "stem": draw(text(3, 12)), "topic": draw(st.sampled_from(["alpha", "beta"]))}
    if draw(st.booleans()):  # a titled item keeps its id too (Canvas: in a metadata field)
        # (no tab: the QTI exports write a title as an XML normalizedString, a tab becomes a space)
        data["title"] = draw(text(1, 5)).replace("\t", " ")
    if draw(st.booleans()):
        data["rationale"] = draw(text(2, 10))
    if draw(st.booleans()):
        data["points"] = draw(st.sampled_from([1, 2, 0.5, 3, 10]))
    if draw(st.booleans()):
        data["hints"] = draw(st.lists(text(1, 5), min_size=1, max_size=3))
    if draw(st.booleans()):
        data["common_mistakes"] = draw(st.lists(text(1, 5), min_size=1, max_size=2))
    if draw(st.booleans()):
        steps = draw(st.lists(text(1, 6), min_size=1, max_size=3))
        data["solution"] = {"steps": [{"title": s.split()[0], "text": s} if n % 2 else s for n, s in enumerate(steps)]}
        if draw(st.booleans()):
            data["solution"]["final_answer"] = draw(text(1, 4))
    if kind in ("multiple_choice", "multiple_response"):
        count = draw(st.integers(2, 6))
        texts = draw(st.lists(text(1, 5), min_size=count, max_size=count, unique_by=lambda t: " ".join(t.split()).lower()))
        keys = {0} if kind == "multiple_choice" else set(draw(st.sets(st.integers(0, count - 1), min_size=1)))
        data["options"] = []
        for i, t in enumerate(texts):
            opt = {"id": "abcdef"[i], "text": t}
            if i in keys:
                opt["correct"] = True
            if draw(st.booleans()):
                opt["feedback"] = draw(text(1, 6))
            data["options"].append(opt)
    elif kind == "true_false":
        data["answer"] = draw(st.booleans())
        if draw(st.booleans()):
            data["true_feedback"] = draw(text())
    elif kind == "short_answer":
        data["answers"] = draw(st.lists(st.sampled_from(["pre-training", "fine tuning", "GPU", "42", "naïve"]), min_size=1, max_size=3,
                                        unique=True))
    elif kind == "numeric":
        value = draw(st.sampled_from([0.5, 3, -2, 1000, 0.001, 12.25]))
        if draw(st.booleans()):
            data["answer"] = value
            data["tolerance"] = draw(st.sampled_from([0, 0.1, 2]))
        else:
            data["range"] = {"min": value, "max": value + draw(st.sampled_from([0.5, 1, 10]))}
        if draw(st.booleans()):
            data["unit"] = draw(st.sampled_from(["ms", "kg", "°C"]))
    elif kind == "essay":
        if draw(st.booleans()):
            data["sample_answer"] = draw(text(2, 8))
        if draw(st.booleans()):
            data["rubric"] = [{"criterion": c, "points": p} for c, p in zip(
                draw(st.lists(st.sampled_from(["Clear", "Correct terms", "Examples given"]), min_size=1, max_size=3, unique=True)),
                [1, 2, 0.5])]
        if draw(st.booleans()):
            data["min_words"] = draw(st.sampled_from([10, 50]))
        if draw(st.booleans()):
            data["max_words"] = draw(st.sampled_from([100, 300]))
    elif kind == "matching":
        count = draw(st.integers(2, 4))
        prompts = draw(st.lists(text(1, 3), min_size=count, max_size=count, unique_by=lambda t: " ".join(t.split()).lower()))
        matches = draw(st.lists(st.sampled_from(["one", "two", "three", "four", "five"]), min_size=count, max_size=count, unique=True))
        data["pairs"] = [{"prompt": p, "match": m} for p, m in zip(prompts, matches)]
        if draw(st.booleans()):
            data["distractors"] = ["six"]
    elif kind == "ordering":
        data["sequence"] = draw(st.lists(st.sampled_from(["first", "second", "third", "fourth"]), min_size=2, max_size=4, unique=True))
    elif kind == "cloze":
        data["stem"] = draw(text(1, 4)) + " {{b1}} " + draw(text(1, 4)) + " {{b2}}."
        data["blanks"] = {"b1": {"answers": ["alpha"]}, "b2": {"choices": ["x", "y", "z"], "correct": "y"}}
    return data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(items=st.lists(st.integers(), min_size=1, max_size=6).flatmap(lambda ns: st.tuples(*[item(i) for i in range(len(ns))])))
@pytest.mark.parametrize("fmt", ["canvas", "qti21", "qti30"])
def test_generated_bank_round_trip(fmt: str, items: tuple[dict, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bank"
        root.mkdir()
        (root / "itembank.yaml").write_text("title: Generated\nrequire_distractor_feedback: false\n", encoding="utf-8")
        (root / "items.yaml").write_text(yaml.safe_dump({"items": list(items)}, allow_unicode=True), encoding="utf-8")
        assume(not check_bank(root).errors)  # only valid banks are exported (raw HTML etc. is refused earlier)
        bank = load_bank(root)
        result = export(bank, fmt)
        package = Path(tmp) / "p.zip"
        package.write_bytes(result.data or b"")
        read_result, media = read(canvas_importer if fmt == "canvas" else qti_importer, package)
    assert not read_result.skipped
    assert len(read_result.items) == len(items)
    by_id = {i.data["id"]: i for i in read_result.items}
    for original in items:
        got_item = by_id.get(original["id"])
        if got_item is None:
            pytest.fail(f"{fmt}: {original['id']} not imported under its id: {sorted(by_id)}")
        got = got_item.data
        exp = normal(strip_defaults({k: v for k, v in original.items() if k != "id"}), {}, None)
        new = normal(strip_defaults({k: v for k, v in got.items() if k != "id"}), media, None)
        exp.setdefault("points", 1.0)
        ignore = set(NOT_CARRIED[fmt])
        if original["type"] == "numeric":
            assert numeric_bounds(original) == pytest.approx(numeric_bounds(got))
            ignore |= {"answer", "tolerance", "range"}
        problems = [p for p in diff(exp, new, ignore) if p.split(":")[0] not in REPORTED_BY_EXPORT[fmt]
                    or original["id"] not in " ".join(result.notes + got_item.notes)]
        assert not problems, f"{fmt} {original['id']}: " + "; ".join(problems)
