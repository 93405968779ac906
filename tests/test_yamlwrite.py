"""Writing items as YAML: the one-pass writer gives the bytes of the reference (order, then emit), and reads back."""

from __future__ import annotations

from typing import Any

import yaml
import pytest
import yaml_rs
from hypothesis import example, given
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


def _read(text: str) -> Any:
    """The YAML as the bank reads it (``itembank.sources``: yaml_rs without dates: with them it reads
    even a quoted ``'2024-01-01'`` as a date)."""
    return yaml_rs.loads(text, parse_datetime=False)


_DATE_LIKE = {"id": "d", "type": "multiple_response", "stem": "When?", "options": [{"id": "a", "text": "2024-01-01", "correct": True}, {"id": "b", "text": "2024-01-01T10:00:00"}]}


@given(items())
def test_dump_item_is_the_reference_on_items(item: dict[str, Any]) -> None:
    text = yamlwrite.dump_item(item)
    assert text == _reference(item)
    assert _read(text) == item


@given(st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=6))
def test_dump_item_is_the_reference_on_any_mapping(data: dict[str, Any]) -> None:
    assert yamlwrite.dump_item(data) == _reference(data)


@given(st.lists(items(), min_size=1, max_size=3))
@example([_DATE_LIKE])  # (the long run's find: read back with dates on, the text came back a date)
def test_dump_items_reads_back(batch: list[dict[str, Any]]) -> None:
    assert _read(yamlwrite.dump_items(batch)) == {"items": batch}


def test_date_like_texts_are_strings_to_the_bank_and_to_yaml_1_1() -> None:
    """A text that looks like a date is quoted: the bank's reader and PyYAML (YAML 1.1, which reads
    a plain 2024-01-01 as a date) both read it back as the text."""
    text = yamlwrite.dump_items([_DATE_LIKE])
    assert "text: '2024-01-01'" in text
    assert _read(text) == yaml.safe_load(text) == {"items": [_DATE_LIKE]}


@pytest.mark.parametrize("text", ["_1_", "_1", "__1__", "_1.5_", "_1_000", "_0x1", "_", "_a_"])
def test_underscored_number_like_texts_are_strings_to_the_bank(text: str) -> None:
    """The bank's reader takes a plain ``_1_`` for the number 1 (underscores in a number, even first
    and last): a cloze blank named ``_1_`` (a valid name) was written plain by the importers and read
    back as the key 1, which the bank refuses (IB014).  Such texts are quoted, as values and as keys."""
    item = {"id": "c", "type": "cloze", "stem": f"Fill {{{{{text}}}}}.", "blanks": {text: {"answers": [text]}}}
    written = yamlwrite.dump_items([item])
    assert _read(written) == yaml.safe_load(written) == {"items": [item]}
