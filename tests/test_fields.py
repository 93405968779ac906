"""The field-kind table (itembank.fields) is the one decision: validation and the README follow it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from itembank.fields import ASSESSMENT_FIELDS, CONFIG_FIELDS, ITEM_FIELDS, markdown_fields
from itembank.rules import markdown_texts
from itembank.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]


def _generic(path: tuple[object, ...], raw: dict) -> str:
    out = ""
    node: object = raw
    for part in path:
        if isinstance(part, int):
            out += "[]"
        elif isinstance(node, dict) and part not in ITEM_FIELDS and out.endswith("blanks"):
            out += ".*"
        else:
            out += f".{part}" if out else str(part)
        node = node[part] if isinstance(node, (dict, list)) else None  # type: ignore[index]
    return out


def _items() -> list[dict]:
    found = []
    for bank in (ROOT / "items", ROOT / "tests" / "banks" / "all-types"):
        for f in bank.rglob("*.yaml"):
            if f.name == "itembank.yaml" or "assessments" in f.parts:
                continue
            data = yaml.safe_load(f.read_text(encoding="utf-8"))
            found.extend(data["items"] if "items" in data else [data])
    # A field the example banks leave out.
    found.append({"id": "c", "type": "cloze", "stem": "{{b}}", "blanks": {"b": {"answers": ["x"], "feedback": "Why."}}})
    return found


def test_validation_checks_exactly_the_markdown_fields_of_the_table() -> None:
    seen = {_generic(path, item) for item in _items() for path, _ in markdown_texts(item)}
    assert seen <= set(markdown_fields()), seen - set(markdown_fields())
    # Every Markdown field of the table is reached by validation on the example banks.
    assert set(markdown_fields()) <= seen, set(markdown_fields()) - seen


def _string_paths(schema: dict, node: dict, prefix: str = "") -> set[str]:
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    out: set[str] = set()
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types and "enum" not in node:
        out.add(prefix)
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict):
            out |= _string_paths(schema, sub, f"{prefix}.{key}" if prefix else key)
    if isinstance(node.get("items"), dict):
        out |= _string_paths(schema, node["items"], prefix + "[]")
    if isinstance(node.get("additionalProperties"), dict):
        out |= _string_paths(schema, node["additionalProperties"], prefix + ".*")
    for alt in node.get("oneOf", []) + node.get("anyOf", []):
        if isinstance(alt, dict):
            out |= _string_paths(schema, alt, prefix)
    return out


def test_every_text_field_of_the_schemas_has_a_kind() -> None:
    item = load_schema("item")
    paths = _string_paths(item, item["$defs"]["item"])
    paths.discard("type")
    assert paths - set(ITEM_FIELDS) == set(), paths - set(ITEM_FIELDS)
    config = load_schema("config")
    assert _string_paths(config, config) - set(CONFIG_FIELDS) == set()
    blueprint = load_schema("assessment")
    missing = {p for p in _string_paths(blueprint, blueprint) if not p.startswith(("sections[].select[].", "seed"))} - set(ASSESSMENT_FIELDS)
    assert not missing, missing


def test_the_readme_states_the_kind_of_every_field() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Text fields: Markdown or plain text", 1)[1].split("\n## ", 1)[0]
    for table in (ITEM_FIELDS, CONFIG_FIELDS, ASSESSMENT_FIELDS):
        for path, kind in table.items():
            assert f"`{path}`" in section, f"{path} ({kind}) is not in the README's field table"
    assert json.dumps(sorted(ITEM_FIELDS))  # the table is plain data
