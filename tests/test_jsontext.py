"""``itembank.jsontext``: JSON written by orjson where it writes what ``json.dumps`` writes, else by
``json.dumps`` — the same text, or the same error, for any value.  The review fingerprint depends on
it: a workbook written before holds fingerprints of ``json.dumps``'s text, and an item whose content
did not change must keep its fingerprint (else its review is held back as stale)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank import jsontext
from itembank.api import load_bank
from itembank.fingerprint import FINGERPRINT_LENGTH, WORKFLOW_FIELDS, fingerprint
from itembank.model import SourceRef
from itembank.normalize import to_data, to_model
from strategies import items

from conftest import ROOT

#: Values where orjson's text and json.dumps's may part: floats about 1e-4 (json.dumps's exponent
#: starts below it), large floats (exponents), NaN and infinities, integers about 64 bits, texts of
#: control and non-BMP characters, lone surrogates, keys that are not texts.
_EDGES = (
    st.floats(min_value=1e-7, max_value=1e-3) | st.floats(min_value=1e14, max_value=1e25) | st.floats()
    | st.sampled_from([1e-4, -1e-4, 9.999999999999999e-05, 1e16, 1e-05, 0.0, -0.0, float("inf"), float("nan")])
    | st.integers(min_value=2**62, max_value=2**66).map(lambda n: n * (-1) ** n)
    | st.text(alphabet=st.characters(max_codepoint=0x20) | st.sampled_from("\"\\\x7f\u2028\U0001f600\ud800é/<"))
    | st.booleans() | st.none()
)
_VALUES = st.recursive(
    _EDGES,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=3) | st.integers(max_value=3) | st.booleans() | st.none(), inner, max_size=4),
    max_leaves=10,
)


def _outcome(write: Any, value: Any) -> tuple[Any, ...]:
    try:
        return ("wrote", write(value))
    except (TypeError, ValueError) as e:  # (UnicodeEncodeError is a ValueError)
        return ("raised", type(e))


@given(_VALUES)
@settings(max_examples=500, deadline=None)
def test_compact_is_the_canonical_json_dumps_text_or_its_error(value: Any) -> None:
    def old(v: Any) -> bytes:
        return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")

    assert _outcome(jsontext.compact, value) == _outcome(old, value)


@given(_VALUES)
@settings(max_examples=500, deadline=None)
def test_indented_is_the_indented_json_dumps_text_or_its_error(value: Any) -> None:
    def old(v: Any) -> bytes:
        return json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")

    assert _outcome(jsontext.indented, value) == _outcome(old, value)


def test_usual_data_is_written_by_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the module: a usual item's data never reaches json.dumps."""
    data = to_data(load_bank(ROOT / "tests" / "banks" / "all-types").items[0])
    monkeypatch.setattr(jsontext.json, "dumps", lambda *a, **k: pytest.fail("json.dumps was called"))
    assert jsontext.compact(data) and jsontext.indented(data)


def _fingerprint_before(item: Any) -> str:
    """The fingerprint as it was computed before jsontext (json.dumps's text): the oracle."""
    data = to_data(item)
    for key in WORKFLOW_FIELDS:
        data.pop(key, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


@pytest.mark.parametrize("bank", ["items", "tests/banks/all-types", "tests/banks/calculated", "tests/banks/html-edge"])
def test_fingerprints_are_those_written_into_earlier_workbooks(bank: str) -> None:
    for item in load_bank(ROOT / bank).items:
        assert fingerprint(item) == _fingerprint_before(item), item.id


@given(items())
@settings(max_examples=300, deadline=None)
def test_fingerprints_of_generated_items_are_those_of_json_dumps(raw: dict[str, Any]) -> None:
    item = to_model(raw, SourceRef(path="generated.yaml"))
    assert fingerprint(item) == _fingerprint_before(item)


def test_a_fingerprint_changes_with_a_small_tolerance() -> None:
    """A float below 1e-4 (json.dumps writes 1e-05, orjson 0.00001) takes json.dumps's way: the
    fingerprint is json.dumps's, and differs from the one of another tolerance."""
    raw = {"id": "n1", "type": "numeric", "stem": "Value?", "answer": 1.0, "tolerance": 1e-05, "difficulty": "easy"}
    item = to_model(raw, SourceRef(path="n.yaml"))
    other = to_model({**raw, "tolerance": 2e-05}, SourceRef(path="n.yaml"))
    assert fingerprint(item) == _fingerprint_before(item) != fingerprint(other)
