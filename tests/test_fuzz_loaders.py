"""Fuzzing the loaders (issue 9): whatever a bank file holds, ``validate`` ends with exit 0, 1 or 2,
never a traceback, and its output is valid for its format; an item that validates exports.

Three generators: arbitrary bytes (as a ``.yaml`` and a ``.json`` file), arbitrary JSON values and
arbitrary YAML documents (PyYAML's emitter, so tags, anchors and odd scalars appear), and items built
from the real field names with arbitrary values (so the schema, the rules and the exporters are
reached, not only the parser).

Profiles (environment variable ``ITEMBANK_FUZZ``):

- ``ci`` (default): bounded and derandomized, the same examples on every run (~20 s in all);
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

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
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
_SUMMARY = re.compile(r"^(ok|invalid): \d+ files, \d+ valid items, \d+ errors?, \d+ warnings?$")
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


def test_the_fuzzers_reach_valid_and_invalid_banks() -> None:
    """The item generator is not only producing parse errors: some examples load and export."""
    valid = {"id": "q1", "type": "flashcard", "stem": "&#27;", "answer": "Back"}
    assert _validate_all_formats({"a.yaml": _yaml_dump(valid)}) == 1
    valid["stem"] = "Front"
    assert _validate_all_formats({"a.yaml": _yaml_dump(valid)}) == 0
