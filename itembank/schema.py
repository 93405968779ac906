"""The JSON Schemas that ship with itembank, and schema checking of one item.

Checking is two-tier: jsonschema-rs (compiled, Rust) answers "valid?" for every item; only an
invalid item is run through the reference ``jsonschema`` implementation, whose errors carry the
keyword, path and context needed for a precise message.  Both implement Draft 2020-12, so they agree
on validity; the split keeps a 10,000-item bank fast.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import jsonschema_rs

from .wording import quoted

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_NAMES = ("item", "bank", "config", "assessment")


def schema_dir() -> Path:
    """Where the schemas are: inside the installed package, or the source tree's ``schemas/``."""
    packaged = resources.files("itembank") / "schemas"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "schemas"


@cache
def schema_text(name: str) -> str:
    """The schema file's text, exactly as shipped."""
    return (schema_dir() / f"{name}.schema.json").read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_text(name))


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One schema violation inside an item, relative to the item."""

    path: tuple[object, ...]
    code: str
    message: str
    at_key: bool = False  # point at the key (unknown/misplaced field) rather than the value


class ItemSchema:
    """Checks single items against ``#/$defs/item`` of the item schema."""

    def __init__(self) -> None:
        full = load_schema("item")
        # Validate one item at a time (the file-level oneOf is for editors): the same $defs, rooted at the item.
        sub = {"$schema": full["$schema"], "$defs": full["$defs"], "$ref": "#/$defs/item"}
        self._fast = jsonschema_rs.validator_for(sub)
        self._sub = sub
        self._slow_validator: Draft202012Validator | None = None
        self._forbidden: dict[str, list[str]] = {
            rule["if"]["properties"]["type"]["const"]: [k for k, v in rule["then"].get("properties", {}).items() if v is False]
            for rule in full["$defs"]["item"]["allOf"]
        }

    @property
    def _slow(self) -> Draft202012Validator:
        # Imported on first use: only invalid items need jsonschema's detailed errors, and importing
        # it costs more than validating a small bank.
        if self._slow_validator is None:
            import jsonschema

            self._slow_validator = jsonschema.Draft202012Validator(self._sub)
        return self._slow_validator

    def is_valid(self, item: Any) -> bool:
        return bool(self._fast.is_valid(item))

    def errors(self, item: Any) -> list[SchemaError]:
        if self.is_valid(item):
            return []
        out: list[SchemaError] = []
        seen: set[tuple[tuple[object, ...], str]] = set()
        for err in self._slow.iter_errors(item):
            for e in self._explain(err, item):
                if (e.path, e.message) not in seen:
                    seen.add((e.path, e.message))
                    out.append(e)
        return sorted(out, key=lambda e: (len(e.path), [str(p) for p in e.path]))

    def _explain(self, err: ValidationError, item: Any) -> Iterator[SchemaError]:
        path = tuple(err.absolute_path)
        kw = err.validator
        if err.schema is False:
            # A field forbidden for this type (`"options": false` in the type's rule); jsonschema's error
            # does not name it, so name every such field the item has.
            item_type = item.get("type") if isinstance(item, dict) else None
            for name in self._forbidden.get(item_type, ()) if isinstance(item_type, str) else ():
                if name in item:
                    yield SchemaError((name,), "IB107", f"field {quoted(name)} does not apply to type {item_type}", at_key=True)
        elif kw in ("oneOf", "anyOf") and err.context:
            if "answer" in str(err.schema) and "range" in str(err.schema):
                yield SchemaError(path, "IB218", "numeric item needs `answer` (with optional `tolerance`) or `range`")
                return
            if path and path[-2:-1] == ("blanks",):
                yield SchemaError(path, "IB100", "a blank needs exactly one of: `answers` (typed), `choices` + `correct` (dropdown), or `number` (numeric)")
                return
            from jsonschema.exceptions import best_match

            yield from self._explain(best_match(err.context), item)
        elif kw == "required":
            missing = [p for p in err.validator_value if isinstance(err.instance, dict) and p not in err.instance]
            for name in missing:
                yield SchemaError(path + (name,), "IB101", f"required field {quoted(name)} is missing")
        elif kw == "additionalProperties":
            allowed = set(err.schema.get("properties", {}))
            extras = sorted(set(err.instance) - allowed) if isinstance(err.instance, dict) else []
            for name in extras:
                hint = difflib.get_close_matches(name, sorted(allowed), n=1)
                more = f" (did you mean {quoted(hint[0])}?)" if hint else ""
                yield SchemaError(path + (name,), "IB102", f"unknown field {quoted(name)}{more}", at_key=True)
        elif kw == "type":
            want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
            yield SchemaError(path, "IB103", f"expected {want}, got {_kind(err.instance)}{_coercion_fix(want, err.instance)}")
        elif kw in ("enum", "const"):
            allowed_values = err.validator_value if kw == "enum" else [err.validator_value]
            yield SchemaError(path, "IB104", f"{err.instance!r} is not one of: {', '.join(map(str, allowed_values))}")
        elif kw == "pattern":
            yield SchemaError(path, "IB105", f"{err.instance!r} does not match {err.validator_value}")
        elif kw == "propertyNames":
            yield SchemaError(path, "IB105", f"name {err.instance!r} is not allowed: {err.message}")
        elif kw in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minProperties"):
            if kw == "minLength" and err.validator_value == 1:
                yield SchemaError(path, "IB213", "text is empty")
            else:
                yield SchemaError(path, "IB106", _range_message(kw, err))
        else:
            yield SchemaError(path, "IB100", err.message)


#: Where YAML's own reading of a bare value is the author's surprise, the message says how to keep it.
YAML_READ_MARK = "{yaml}"


def _coercion_fix(want: str, value: Any) -> str:
    """The fix for a value YAML turned into a number, boolean or null where text was meant (and back)."""
    if "string" in want and (type(value) in (bool, int, float) or value is None):
        what = f"the number {value!r}" if type(value) in (int, float) else _kind(value)
        return f": YAML read {YAML_READ_MARK} as {what}; put it in quotes to keep it as text"
    if want == "boolean" and isinstance(value, str) and value.strip().lower() in ("yes", "no", "on", "off", "y", "n"):
        return f": {value!r} is text in YAML 1.2; write true or false"
    return ""


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number", type(None): "nothing (null)"}.get(type(value), type(value).__name__)


def _range_message(kw: str, err: ValidationError) -> str:
    v = err.validator_value
    return {
        "minItems": f"needs at least {v} entries",
        "maxItems": f"allows at most {v} entries",
        "minLength": f"needs at least {v} characters",
        "maxLength": f"allows at most {v} characters",
        "minimum": f"must be >= {v}",
        "maximum": f"must be <= {v}",
        "exclusiveMinimum": f"must be > {v}",
        "exclusiveMaximum": f"must be < {v}",
        "minProperties": f"needs at least {v} entries",
    }[kw]


@cache
def item_schema() -> ItemSchema:
    return ItemSchema()
