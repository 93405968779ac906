"""The YAML traps of a file of several items, found entry by entry (itembank.yaml_traps._by_entry):
the very findings, in the same order, as composing the whole file, whatever the file holds; and
each entry composed only when its text can hold a trap."""

from __future__ import annotations

from typing import Any

import yaml_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank import yaml_traps
from itembank.positions import item_spans
from itembank.yaml_traps import find_traps

#: Lines an entry's fields may be written as (with the entry's field indentation before each):
#: traps (a comment cutting a text, a sentence in a flow list), look-alikes in block scalars and
#: quotes, lists and nested lists, lines that look like an entry inside a block scalar, anchors and
#: aliases, comments.
FIELD_LINES = [
    "title: A plain title",
    "title: Use C# #include <stdio.h>",
    "stem: What is 2 # 3?",
    'stem: "Quoted # not a comment"',
    "stem: 'single # quoted'",
    "rationale: Because.   # a comment the author meant",
    "hints: [Fine-tuning = adapt a model, not train it from scratch.]",
    "hints: [one, two]",
    'hints: ["quoted, one", two]',
    "hints:\n{f}  - first hint # cut\n{f}  - second",
    "hints:\n{f}- at the same indentation\n{f}- again, with a comma.",
    "stem: |\n{f}  ## A heading\n{f}  - item: not an entry\n{f}- still in the block? no\n",
    "stem: |\n{f}  code # comment inside a block\n{f}  [a, b, sentence.]",
    "stem: >-\n{f}  folded # text\n{f}  more",
    "feedback: &fb Shared feedback # cut",
    "feedback: *fb",
    "# a comment line # with hashes",
    "",
    "stem: multi\n{f}  line plain # cut",
    'stem: "multi\n{f}  line quoted # kept"',
    "options:\n{f}  - id: a\n{f}    text: First # cut\n{f}  - id: b\n{f}    text: Second",
    "type: multiple_choice",
]


@st.composite
def item_files(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from([0, 2, 4]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    entries = []
    for n in range(draw(st.integers(1, 6))):
        field_indent = " " * (indent + 2)
        fields = [f"id: q{n}", *draw(st.lists(st.sampled_from(FIELD_LINES), max_size=5, unique_by=lambda line: line.split(":")[0] or line))]
        text = "\n".join(field.replace("{f}", field_indent) for field in fields)
        lines = text.split("\n")
        entry = " " * indent + "- " + lines[0] + "".join("\n" + (field_indent + line if not line.startswith(" ") and line else line) for line in lines[1:])
        entries.append(entry)
        if draw(st.booleans()):
            entries.append(draw(st.sampled_from(["# between entries", "", "  # indented comment"])))
    head = draw(st.sampled_from(["", "---\n", "# a bank file\n", "topic: shared\n"]))
    tail = draw(st.sampled_from(["", "\nother: value # trailing key", "\n# the end"]))
    return (head + "items:\n" + "\n".join(entries) + tail + "\n").replace("\n", newline)


def _entries(text: str) -> list[tuple[int | None, Any]] | None:
    try:
        data = yaml_rs.loads(text, parse_datetime=False)
    except Exception:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return None
    return list(enumerate(data["items"]))


@settings(max_examples=600, deadline=None)
@given(item_files())
def test_the_traps_found_entry_by_entry_are_those_of_the_whole_file(text: str) -> None:
    entries = _entries(text)
    if entries is None:
        return
    if yaml_traps._compose(text) is None:
        # libyaml refuses what YAML 1.2 allows (an anchor named again): the whole file gives no
        # finding at all, its entries alone may give theirs.
        assert find_traps(text) == []
        return
    assert find_traps(text, entries) == find_traps(text)


def test_only_the_entries_that_can_hold_a_trap_are_composed(monkeypatch: Any) -> None:
    entries_text = ["  - id: q%d\n    title: Plain %d\n    stem: |\n      - not an entry\n" % (n, n) for n in range(50)]
    entries_text[31] = "  - id: q31\n    title: Use C# #include\n"
    text = "items:\n" + "".join(entries_text)
    composed: list[str] = []
    real = yaml_traps._compose
    monkeypatch.setattr(yaml_traps, "_compose", lambda t: composed.append(t) or real(t))
    found = find_traps(text, _entries(text) or [])
    assert composed == [entries_text[31]]
    assert [(path, code, line) for path, code, _message, line, _col in found] == [(("items", 31, "title"), "IB321", 3 + sum(e.count("\n") for e in entries_text[:31]))]
    assert found == find_traps(text)


def test_an_alias_of_another_entrys_anchor_composes_the_whole_file() -> None:
    text = "items:\n  - id: a\n    feedback: &fb Shared # cut\n  - id: b\n    feedback: *fb\n    title: x # cut\n"
    entries = _entries(text)
    assert entries is not None and yaml_traps._by_entry(text, dict(entries)) is None  # (the alias alone is undefined)
    assert find_traps(text, entries) == find_traps(text) != []


def test_item_spans_of_other_shapes_is_none() -> None:
    assert item_spans("id: q1\ntitle: T\n") is None
    assert item_spans("items: []\n") is None
    assert item_spans("items:\n\t- id: a\n") is None
    assert item_spans("items:\r  - id: a\r") is None  # a lone CR
    assert item_spans("items:\n  - id: a\nitems:\n  - id: b\n") is None
    assert item_spans("items:\n  - id: a\n    x: 1\n  - id: b\nnext: 1\n") == [(1, 7, 26), (3, 26, 36)]


# --- findings placed in a file of several items (itembank.positions.PositionIndex, entries=N) ---------

from itembank.positions import PositionIndex  # noqa: E402


def _paths(value: Any, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every path into parsed data, and one past each (a field or an entry that is not there)."""
    out = [path]
    if isinstance(value, dict):
        out += [p for k, v in value.items() if isinstance(k, str) for p in _paths(v, path + (k,))] + [path + ("missing",)]
    elif isinstance(value, list):
        out += [p for i, v in enumerate(value) for p in _paths(v, path + (i,))] + [path + (len(value),)]
    return out


@settings(max_examples=300, deadline=None)
@given(item_files())
def test_a_finding_placed_from_its_entry_alone_is_where_the_whole_file_places_it(text: str) -> None:
    entries = _entries(text)
    if entries is None or yaml_traps._compose(text) is None:
        return
    whole, alone = PositionIndex(text), PositionIndex(text, len(entries))
    for path in _paths({"items": [raw for _i, raw in entries]}):
        for key in (False, True):
            assert alone.locate(path, key=key) == whole.locate(path, key=key), (path, key)
        assert alone.source(path) == whole.source(path), path


def test_a_finding_in_one_entry_composes_that_entry_alone(monkeypatch: Any) -> None:
    text = "items:\n" + "".join(f"  - id: q{n}\n    title: T{n}\n" for n in range(40))
    composed: list[str] = []
    real = yaml_traps._compose
    import itembank.positions as positions

    monkeypatch.setattr(positions, "_compose", lambda t: composed.append(t) or real(t))
    pos = PositionIndex(text, 40)
    assert pos.locate(("items", 25, "title")) == (3 + 2 * 25, 12)
    assert pos.source(("items", 25, "title")) == "T25"
    assert composed == ["  - id: q25\n    title: T25\n"]
    assert PositionIndex(text, 39).locate(("items", 25, "title")) == (53, 12)  # another count: the whole file
    assert len(composed) == 2 and composed[1] == text


def test_lint_places_a_finding_of_a_file_of_many_items_from_that_item_alone(tmp_path: Any, monkeypatch: Any) -> None:
    """itembank.lint.engine gives PositionIndex the number of items the bank read from the file."""
    from itembank import api
    import itembank.positions as positions
    from itembank.lint import engine
    from itembank.lint.engine import lint_bank

    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    (bank_dir / "itembank.yaml").write_text("title: T\n")
    entries = [f"  - id: q{n}\n    type: true_false\n    stem: Is {n} a number worth a statement?\n    answer: true\n    rationale: It is.\n" for n in range(30)]
    text = "items:\n" + "".join(entries)
    (bank_dir / "many.yaml").write_text(text)
    bank = api.load_bank(bank_dir)
    with monkeypatch.context() as whole_file:  # the count not given: the whole file composed, as before
        whole_file.setattr(engine._Locator, "_entries", lambda self, path: None)
        whole = [(p.code, p.item_id, p.line, p.column) for p in lint_bank(bank)]
    composed: list[str] = []
    real = positions._compose
    monkeypatch.setattr(positions, "_compose", lambda t: composed.append(t) or real(t))
    alone = [(p.code, p.item_id, p.line, p.column) for p in lint_bank(bank)]
    assert alone == whole and len({item_id for _c, item_id, line, _col in alone if line > 1}) > 1  # findings placed in several items
    assert composed and text not in composed


# --- a JSON file of several items ------------------------------------------------------------------

import json  # noqa: E402

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(["id", "title", "stem", "options", "hints", "x y", "é"]), JSON_VALUES, min_size=1, max_size=4), min_size=1, max_size=5),
    st.sampled_from([None, 0, 1, 2, 4]),
    st.booleans(),
)
def test_a_finding_in_a_json_file_of_several_items_is_placed_from_its_entry_alone(items: list[dict[str, Any]], indent: int | None, ascii_only: bool) -> None:
    text = json.dumps({"items": items}, indent=indent, ensure_ascii=ascii_only) + "\n"
    spans = item_spans(text)
    assert spans is not None and [json.loads(text[begin:end]) for _line, begin, end in spans] == items
    if yaml_traps._compose(text) is None:
        return
    whole, alone = PositionIndex(text), PositionIndex(text, len(items))
    for path in _paths({"items": items}):
        for key in (False, True):
            assert alone.locate(path, key=key) == whole.locate(path, key=key), (path, key)
        assert alone.source(path) == whole.source(path), path


def test_a_json_file_of_another_shape_has_no_spans() -> None:
    assert item_spans('{"id": "q1"}') is None
    assert item_spans('{"items": [{"id": 1}, ]}') is None  # (not JSON)
    assert item_spans('{"items": [{"id": 1}], "other": 2}') is None
    assert item_spans("{\"items\": []}") is None
