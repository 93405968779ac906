"""itembank.json_read: the fragment cache's JSON heads read by the scanner directly give json.loads's
values and errors, on any value the cache writes and on damaged texts."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.fragments import from_json_piece, json_piece
from itembank.json_read import loads

# Every kind of value a head holds: text with any code point (lone surrogates too), integers past
# 64 bits, floats with NaN and the infinities, nesting.
_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(st.characters(codec=None)) | st.text()
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(st.characters(codec=None)), inner, max_size=4), max_leaves=30)


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN to NaN, and of the same types all the way down (1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_a_fragment_head_reads_back_as_json_loads_reads_it(value: Any) -> None:
    raw = json_piece(value)
    assert _same(from_json_piece(raw), json.loads(raw.decode("utf-8", "surrogatepass")))


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec=None), max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_any_text_gives_json_loads_value_or_its_error(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            loads(raw)
        return
    assert _same(loads(raw), expected)


@pytest.mark.parametrize("text", [' {"a": 1}', '{"a": 1} ', '{"a": 1}\n', "1 2", '{"a":', "[1,]", "", "NaN", '"\\ud800"', str(1 << 70)])
def test_what_the_scanner_does_not_take_whole_is_json_loads_business(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            loads(text.encode())
        return
    assert _same(loads(text.encode()), expected)
