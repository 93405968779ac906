"""Writing items as YAML: the one-pass writer gives the bytes of the reference (order, then emit), and reads back."""

from __future__ import annotations

from typing import Any

import yaml_rs
from hypothesis import given
from hypothesis import strategies as st
from strategies import items

from itembank import yamlwrite

# Anything an importer may put in a value, including what items never hold (lists in lists, empties).
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), st.sampled_from(["yes", "1e3", "2024-01-01", "a: b", "- x", "line\nline", "tail\n", "  lead\nx", "é\u2028", "'q'"]),
)
_KEYS = st.one_of(st.sampled_from(list(yamlwrite.FIELD_ORDER) + ["text", "id", "feedback", "b1", "{{x}}"]), st.text(min_size=1, max_size=6))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=12)


def _reference(item: dict[str, Any]) -> str:
    return yamlwrite.dump(yamlwrite.ordered(item))


@given(items())
def test_dump_item_is_the_reference_on_items(item: dict[str, Any]) -> None:
    text = yamlwrite.dump_item(item)
    assert text == _reference(item)
    assert yaml_rs.loads(text) == item


@given(st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=6))
def test_dump_item_is_the_reference_on_any_mapping(data: dict[str, Any]) -> None:
    assert yamlwrite.dump_item(data) == _reference(data)


@given(st.lists(items(), min_size=1, max_size=3))
def test_dump_items_reads_back(batch: list[dict[str, Any]]) -> None:
    assert yaml_rs.loads(yamlwrite.dump_items(batch)) == {"items": batch}
