"""Fuzzing the loaders (issue 9): whatever a bank file holds, ``validate`` ends with exit 0, 1 or 2,
never a traceback, and its output is valid for its format; an item that validates exports.

Four generators: arbitrary bytes (as a ``.yaml`` and a ``.json`` file), arbitrary JSON values and
arbitrary YAML documents (PyYAML's emitter, so tags, anchors and odd scalars appear), items built
from the real field names with arbitrary values (the schema and the rules are reached, not only the
parser), and items of every type valid in shape with arbitrary text in every text field (about a
quarter validate, and each of those is exported in every format).

Profiles (environment variable ``ITEMBANK_FUZZ``):

- ``ci`` (default): 60 examples per test, derandomized: the same examples on every run (~20 s);
- ``long``: 5,000 examples per test with a random seed, for a fuzzing session:
  ``ITEMBANK_FUZZ=long .venv/bin/python -m pytest tests/test_fuzz_loaders.py`` (about 30 minutes);
  ``ITEMBANK_FUZZ_EXAMPLES=N`` sets another count.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis.errors import InvalidArgument
from hypothesis import strategies as st

from itembank.cli import main

PROFILE = os.environ.get("ITEMBANK_FUZZ", "ci")
_EXAMPLES = int(os.environ.get("ITEMBANK_FUZZ_EXAMPLES") or {"ci": 60, "long": 5_000}[PROFILE])
FUZZ = settings(
    max_examples=_EXAMPLES,
    derandomize=PROFILE == "ci",
    deadline=None,
    database=None if PROFILE == "ci" else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

_ANNOTATION = re.compile(r"^::(error|warning) file=[^:,]*,line=\d+,col=\d+,title=[^:,]*::")
_SUMMARY = re.compile(r"^(ok|invalid): \d+ files?, \d+ valid items?, \d+ errors?, \d+ warnings?$")
_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _check_output(fmt: str, output: str) -> None:
    if fmt == "json":
        report = json.loads(output)
        assert set(report) == {"ok", "files", "items", "errors", "warnings", "problems"}
        for p in report["problems"]:
            assert re.fullmatch(r"IB\d{3}", p["code"]) and p["line"] >= 1 and p["column"] >= 1, p
        return
    assert not _RAW_CONTROL.search(output), output
    lines = output.splitlines()
    assert _SUMMARY.match(lines[-1]), lines[-1]
    for count, noun in re.findall(r"(\d+) (?:valid )?(\w+)", lines[-1]):
        assert noun.endswith("s") == (count != "1"), lines[-1]  # "1 file", "2 files", "0 errors"
    for line in lines[:-1]:
        if fmt == "github":
            assert _ANNOTATION.match(line), line
        else:
            assert re.search(r":\d+:\d+: (error|warning) IB\d{3}", line) and not line.startswith("::"), line


def _validate_all_formats(files: dict[str, bytes]) -> int:
    """Validate a bank holding ``files`` with every reporter; return the exit code (the same for all)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bank"
        root.mkdir()
        for name, data in files.items():
            (root / name).write_bytes(data)
        codes = set()
        for fmt in ("json", "text", "github"):
            result = CliRunner().invoke(main, ["validate", "--format", fmt, "--bank", str(root)])
            assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
            assert result.exit_code in (0, 1, 2), result.output
            assert "Traceback" not in result.output and "internal error" not in result.output, result.output
            _check_output(fmt, result.output)
            codes.add(result.exit_code)
        assert len(codes) == 1, codes
        code = codes.pop()
        try:
            event(f"validate exit {code}")  # shown by --hypothesis-show-statistics
        except InvalidArgument:  # called outside a hypothesis test
            pass
        if code == 0:
            _export_everything(root)
        return code


def _export_everything(root: Path) -> None:
    """A bank that validates must export in every format, in memory, without an internal error."""
    from itembank import export, load_bank
    from itembank.errors import ItembankError
    from itembank.formats import registry

    bank = load_bank(root)
    for name in registry():
        try:
            export(bank, name)
        except ItembankError:
            pass  # a reported, user-facing refusal is fine; anything else fails the test


# --- generators ----------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8") | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=30)
_scalars = st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**400), max_value=10**400) | st.floats() | _text
_json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=25)

FIELDS = [
    "id", "type", "stem", "title", "difficulty", "level", "topic", "tags", "objectives", "bloom", "points", "status", "author",
    "source", "rationale", "hints", "solution", "common_mistakes", "options", "answer", "answers", "tolerance", "range", "unit",
    "rubric", "pairs", "distractors", "sequence", "blanks", "shuffle", "scoring", "case_sensitive", "true_feedback",
    "false_feedback", "sample_answer", "min_words", "max_words", "response_template",
]  # fmt: skip
TYPES = ["multiple_choice", "multiple_response", "true_false", "short_answer", "numeric", "essay", "matching", "ordering", "cloze", "flashcard"]

_hostile_text = st.sampled_from(
    ["", " ", "\u200b", "&nbsp;", "&#27;", "<!-- x -->", "<b>x</b>", "[x](javascript:alert(1))", "![i](media/x.png)", "![i](/etc/passwd)",
     "$x$", "{{b}}", "a\nb", "\x1b[31m", "::error::x", "\u202e", "=1+1", "# h", "]]>", "`code`", "1e309", "\\ud800"]
)  # fmt: skip
_field_value = _json_values | _hostile_text | st.lists(_hostile_text | _text, max_size=3)
_option = st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "c"]), "text": _hostile_text | _text}, optional={"correct": st.booleans(), "feedback": _hostile_text})
_items = st.fixed_dictionaries(
    {"id": st.sampled_from(["q1", "q2"]) | _text, "type": st.sampled_from(TYPES), "stem": _hostile_text | _text},
    optional={
        "options": st.lists(_option, min_size=0, max_size=4),
        "answer": _field_value,
        "pairs": st.lists(st.fixed_dictionaries({"prompt": _hostile_text | _text, "match": _hostile_text | _text}), max_size=3),
        "blanks": st.dictionaries(st.sampled_from(["b", "c"]), st.fixed_dictionaries({}, optional={"answers": st.lists(_text, max_size=2), "choices": st.lists(_hostile_text, max_size=3), "correct": _hostile_text, "number": _scalars})),
        **{f: _field_value for f in ("title", "topic", "tags", "points", "tolerance", "range", "sequence", "hints", "rubric", "solution")},
    },
)  # fmt: skip


# Items valid in shape, of every type, with arbitrary text in every text field: most validate, so
# every exporter runs on them (the generators above mostly stop at validation).
_any_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40) | _hostile_text.filter(bool)
_plain_extras = st.fixed_dictionaries(
    {}, optional={"title": _any_text, "topic": _any_text, "author": _any_text, "source": _any_text, "tags": st.lists(_any_text, max_size=2)}
)


@st.composite
def _valid_shaped_items(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(TYPES))
    item: dict[str, Any] = {"id": "f1", "type": kind, "stem": draw(_any_text), **draw(_plain_extras)}
    if kind in ("multiple_choice", "multiple_response"):
        n = draw(st.integers(2, 4))
        texts = draw(st.lists(_any_text, min_size=n, max_size=n, unique_by=str.strip))
        keys = {0} if kind == "multiple_choice" else {0, *draw(st.sets(st.integers(1, n - 1), max_size=1))}
        item["options"] = [{"id": "abcd"[i], "text": t, "correct": i in keys, "feedback": draw(_any_text)} for i, t in enumerate(texts)]
    elif kind == "true_false":
        item["answer"] = draw(st.booleans())
    elif kind == "short_answer":
        item["answers"] = draw(st.lists(_any_text, min_size=1, max_size=3, unique_by=lambda t: t.strip().casefold()))
    elif kind == "numeric":
        item["answer"] = draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
        item["tolerance"] = draw(st.floats(0, 10))
        item["unit"] = draw(_any_text)
    elif kind == "essay":
        item["rubric"] = [{"criterion": draw(_any_text), "points": 1}]
        item["response_template"] = draw(_any_text)
    elif kind == "matching":
        prompts = draw(st.lists(_any_text, min_size=2, max_size=3, unique_by=str.strip))
        matches = draw(st.lists(_any_text, min_size=len(prompts), max_size=len(prompts), unique_by=str.strip))
        item["pairs"] = [{"prompt": p, "match": m} for p, m in zip(prompts, matches)]
    elif kind == "ordering":
        item["sequence"] = draw(st.lists(_any_text, min_size=2, max_size=4, unique_by=str.strip))
    elif kind == "cloze":
        item["stem"] = draw(_any_text).replace("{", "(") + " {{b}} " + draw(_any_text).replace("{", "(")
        if draw(st.booleans()):
            choices = draw(st.lists(_any_text, min_size=2, max_size=3, unique=True))
            item["blanks"] = {"b": {"choices": choices, "correct": choices[0]}}
        else:
            item["blanks"] = {"b": {"answers": [draw(_any_text)]}}
    else:
        item["answer"] = draw(_any_text)
    return item


def _yaml_dump(value: Any) -> bytes:
    try:
        return yaml.dump(value, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
    except (yaml.YAMLError, UnicodeEncodeError, ValueError):
        return b"id: x\n"


# --- tests ---------------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_loaders(data: bytes) -> None:
    _validate_all_formats({"a.yaml": data, "b.json": data})


@FUZZ
@given(_json_values)
def test_arbitrary_json_and_yaml_values_never_crash_the_loaders(value: Any) -> None:
    as_json = json.dumps(value, ensure_ascii=True, allow_nan=True).encode("ascii")
    _validate_all_formats({"a.json": as_json, "b.yaml": _yaml_dump(value)})


@FUZZ
@given(st.one_of(_items, st.fixed_dictionaries({"items": st.lists(_items, min_size=1, max_size=3)})))
def test_items_with_arbitrary_field_values_are_reported_or_exported(item: dict[str, Any]) -> None:
    as_json = json.dumps(item, ensure_ascii=True, allow_nan=True).encode("ascii")
    _validate_all_formats({"a.json": as_json})
    _validate_all_formats({"b.yaml": _yaml_dump(item)})


@FUZZ
@given(_valid_shaped_items())
def test_valid_shaped_items_with_arbitrary_text_validate_and_export(item: dict[str, Any]) -> None:
    _validate_all_formats({"a.json": json.dumps(item, ensure_ascii=True).encode("ascii")})


def test_the_fuzzers_reach_valid_and_invalid_banks() -> None:
    """The item generator is not only producing parse errors: some examples load and export."""
    valid = {"id": "q1", "type": "flashcard", "stem": "&#27;", "answer": "Back"}
    assert _validate_all_formats({"a.yaml": _yaml_dump(valid)}) == 1
    valid["stem"] = "Front"
    assert _validate_all_formats({"a.yaml": _yaml_dump(valid)}) == 0


# --- integers of more than 4,300 digits ------------------------------------------------------------
# Python refuses to turn such an int into text (sys.set_int_max_str_digits): every message, position,
# cache entry and export that did so crashed ("internal error: ValueError: Exceeds the limit").

_BLUEPRINT = "title: T\nsections:\n  - title: S\n    items: [q1]\n"
_ITEM_LINES = ["id: q1", "type: numeric", "stem: How many?", "tolerance: 0", "answer: 3"]


@st.composite
def _huge_int_banks(draw: st.DrawFn) -> tuple[dict[str, bytes], str, int, int]:
    """A bank with one huge integer somewhere: (files, the file holding it, its line, its column)."""
    digits = draw(st.integers(310, 6000) | st.sampled_from([4300, 4301, 5000]))
    number = draw(st.sampled_from(["", "-", "+"])) + "1" + "0" * (digits - 1)
    where = draw(st.sampled_from(["value", "key", "flow-key", "list", "settings", "blueprint", "lock", "json"]))
    item = list(_ITEM_LINES)
    field = draw(st.integers(0, len(item)))  # the line the number goes on (0-based), or after the last
    files: dict[str, bytes] = {}
    name, line, col = "a.yaml", field + 1, 1
    if where == "value":
        key = draw(st.sampled_from([*FIELDS, "tolerance"]))
        item = [t for t in item if not t.startswith(key + ":")]
        field = min(field, len(item))
        item.insert(field, f"{key}: {number}")
        line, col = field + 1, len(key) + 3
    elif where == "key":
        item.insert(field, f"? {number}\n: 1")
        col = 3
    elif where == "flow-key":
        item.insert(field, "range: {" + number[:1000] + ": 1}")  # an implicit key has at most 1024 characters
        col = 9
    elif where == "list":
        item.insert(field, f"tags: [x, {number}]")
        col = 11
    elif where == "json":
        name = "a.json"
        files[name] = ('{"id": "q1", "type": "numeric", "stem": "S",\n"tolerance": 0,\n"answer": ' + number.lstrip("+") + "}").encode()
        line, col = 3, 11
    if where in ("settings", "blueprint", "lock"):
        name = {"settings": "itembank.yaml", "blueprint": "assessments/t.yaml", "lock": "assessments/t.lock.yaml"}[where]
        files[name] = f"title: T\nseed: {number}\n".encode() if where != "lock" else f"version: {number}\n".encode()
        line, col = (1, 10) if where == "lock" else (2, 7)
        if where != "blueprint":
            files.setdefault("assessments/t.yaml", _BLUEPRINT.encode())
    files.setdefault("a.yaml", ("\n".join(item) + "\n").encode())
    return files, name, line, col


@settings(FUZZ, max_examples=min(_EXAMPLES, 40))
@given(_huge_int_banks())
def test_huge_integers_are_refused_where_they_stand(case: tuple[dict[str, bytes], str, int, int]) -> None:
    files, name, line, col = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bank"
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        assert _validate_all_formats_in(root) == 1
        result = CliRunner().invoke(main, ["validate", "--format", "json", "--bank", str(root)])
        found = [p for p in json.loads(result.output)["problems"] if p["code"] in ("IB014", "IB015") and p["file"].endswith(name)]
        assert found, result.output[:2000]
        assert (found[0]["line"], found[0]["column"]) == (line, col), found
        assert "float" in found[0]["message"] or "not a string" in found[0]["message"], found
        for args in (["validate", "--format", "sarif"], ["lint"], ["stats"], ["export", "json", "-o", f"{tmp}/x.json"], ["build", "-o", f"{tmp}/dist", "--format", "json"]):
            run = CliRunner().invoke(main, [*args, "--bank", str(root)])
            assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
            assert run.exit_code in (1, 2) and "internal error" not in run.output, (args, run.output[-2000:])


def _validate_all_formats_in(root: Path) -> int:
    codes = set()
    for fmt in ("json", "text", "github"):
        result = CliRunner().invoke(main, ["validate", "--format", fmt, "--bank", str(root)])
        assert "internal error" not in result.output and result.exit_code in (0, 1, 2), result.output[-2000:]
        _check_output(fmt, result.output)
        codes.add(result.exit_code)
    assert len(codes) == 1, codes
    return codes.pop()


@pytest.mark.parametrize("number", ["1" + "0" * 4_000_000, "0x" + "f" * 4_000_000], ids=["decimal", "hexadecimal"])
def test_an_integer_of_millions_of_digits_is_refused_quickly(tmp_path: Path, number: str) -> None:
    """A 4 MB integer took 36 s (yaml_rs converts decimal digits in quadratic time) or 41 s (the
    message divided it by 10**n for its first digits): a bank file could stall CI for minutes."""
    import time

    (tmp_path / "a.yaml").write_text(f"id: t\ntype: numeric\nstem: x\ntolerance: 0\nanswer: {number}\n", encoding="utf-8")
    start = time.monotonic()
    result = CliRunner().invoke(main, ["validate", "--format", "json", "--no-cache", "--bank", str(tmp_path)])
    took = time.monotonic() - start
    problems = json.loads(result.output)["problems"]
    assert [(p["code"], p["line"], p["column"]) for p in problems] == [("IB014", 5, 9)], problems
    assert "digits" in problems[0]["message"] and len(problems[0]["message"]) < 200
    assert took < 10, took


@pytest.mark.parametrize("digits", [309, 320, 4300, 5000])
@pytest.mark.parametrize("sign", ["", "-"])
def test_a_huge_integer_is_told_the_same_in_json_and_yaml(digits: int, sign: str) -> None:
    """The JSON loader said "number 1222…222… is not a finite number that fits a float" (its first 40
    characters, no length); the YAML one "number 12222222222222222222… (320 digits) is too large (it does
    not fit a float)", and before yaml_rs, for 4,000 digits or more, its first 20 characters sign included.
    Now both give the sign, the first 20 digits and the count, at the same place in the line."""
    from itembank.sources import parse

    number = sign + "9" + "2" * (digits - 1)
    from_json = parse('{"id": "x",\n"points": ' + number + "}", "a.json", is_json=True)[1]
    from_yaml = parse("id: x\npoints: " + number + "\n", "a.yaml", is_json=False)[1]
    assert from_json is not None and from_yaml is not None
    expected = f"number {sign}9{'2' * 19}… ({digits:,} digits) is too large (it does not fit a float)"
    assert (from_json.code, from_json.message, from_json.line) == ("IB014", expected, 2)
    assert (from_yaml.code, from_yaml.message, from_yaml.line) == ("IB014", expected, 2)
