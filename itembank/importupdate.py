"""``--on-conflict update``: rewrite only the fields an import changed, in place.

Uses the review import's in-place YAML editor (libyaml node positions, edits applied together, the
result re-parsed and checked): the file's comments, key order, quoting and the other items stay as
they are; a changed field's lines are replaced by the new value, a new field is added at the end of
its item.  A field the import does not carry (e.g. ``author`` from a format without it) is kept.
Two texts that render the same Markdown count as unchanged (an importer escapes more than people do).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeGuard

import pyromark
import yaml

from .errors import ItembankError
from .model import as_written
from .problems import RULES
from .review.yaml_edit import _pairs, item_nodes
from .rules import RuleContext, check_item
from .schema import item_schema, load_schema
from .sources import parse
from .yamlwrite import key_lines

_RENDER = pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH


def same(old: Any, new: Any) -> bool:
    """Equal data, where two Markdown texts are equal when they render the same."""
    if old == new:
        return True
    if isinstance(old, str) and isinstance(new, str):
        return pyromark.html(old, options=_RENDER) == pyromark.html(new, options=_RENDER)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(same(a, b) for a, b in zip(old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(same(old[k], new[k]) for k in old)
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool) and not isinstance(new, bool):
        return float(old) == float(new)
    return False


def changed_fields(old: dict[str, Any], new: dict[str, Any], not_carried: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields of ``new`` that change the item ``old``: a field the item leaves out and the import
    gives its default (``status: draft``, ``points: 1``) changes nothing and is not written in, nor
    does what the format never carries (``not_carried``: its option ids, its scoring), which the item keeps."""
    new = _keeping_what_the_format_lacks(old, _as_the_bank_writes_it(old, new), not_carried)
    defaults = _item_defaults()
    return {k: v for k, v in new.items() if k != "id" and not same(old[k] if k in old else defaults.get(k), v)}


@lru_cache(maxsize=1)
def _item_defaults() -> dict[str, Any]:
    """The item schema's defaults of top-level fields (status, points, shuffle, scoring...)."""
    fields = load_schema("item")["$defs"]["item"]["properties"]
    return {k: spec["default"] for k, spec in fields.items() if isinstance(spec, dict) and "default" in spec}


def _keeping_what_the_format_lacks(old: dict[str, Any], new: dict[str, Any], not_carried: frozenset[str]) -> dict[str, Any]:
    """``new`` with the item's own values where the format carries none (importing.ReadResult.not_carried).

    Options get the item's ids back: an option of the same text (rendered alike) takes its id, then
    one in the same place that no other took; an option that is new keeps the name the import gave
    it (made unique).  Option ids are what frozen forms (assessments/*.lock.yaml) and reviews name."""
    out = dict(new)
    if "scoring" in not_carried and "scoring" in out:
        del out["scoring"]
    olds, news = old.get("options"), out.get("options")
    if "options[].id" in not_carried and isinstance(olds, list) and isinstance(news, list):
        olds = [o for o in olds if isinstance(o, dict)]
        ids: list[Any] = [None] * len(news)
        taken: set[int] = set()
        for i, option in enumerate(news):
            match = next((j for j, o in enumerate(olds) if j not in taken and isinstance(option, dict) and same(o.get("text"), option.get("text"))), None)
            if match is not None:
                ids[i] = olds[match].get("id")
                taken.add(match)
        for i in range(len(news)):
            if ids[i] is None and i < len(olds) and i not in taken:
                ids[i] = olds[i].get("id")
                taken.add(i)
        used = {x for x in ids if x is not None}
        options = []
        for i, option in enumerate(news):
            if not isinstance(option, dict):
                options.append(option)
                continue
            oid = ids[i]
            if oid is None:
                oid = base = str(option.get("id") or "new")
                n = 1
                while oid in used:
                    n += 1
                    oid = f"{base}{n}"
                used.add(oid)
            options.append({**option, "id": oid})
        out["options"] = options
    return out


def _as_the_bank_writes_it(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """An imported numeric answer in the form the bank's item writes it, an interval either way.

    Moodle and GIFT keep an answer and a tolerance, Canvas may give a range; an item may have one
    form or the other, never both.  So an item written as a range keeps a range (the same interval:
    unchanged; another: the new one as a range), one written as answer ± tolerance keeps that form,
    computed in decimal from the numbers as written (a range 1-3 is 2 ± 1)."""
    if new.get("type") != "numeric" or old.get("type") != "numeric":
        return new
    answer, tolerance, rng = new.get("answer"), new.get("tolerance") or 0, new.get("range")
    if isinstance(old.get("range"), dict) and "range" not in new and _number_like(answer) and _number_like(tolerance):
        centre, spread = as_written(answer), abs(as_written(tolerance))
        out = {k: v for k, v in new.items() if k not in ("answer", "tolerance")}
        out["range"] = {"min": _plain_number(centre - spread), "max": _plain_number(centre + spread)}
        return out
    if "answer" in old and "answer" not in new and isinstance(rng, dict) and _number_like(rng.get("min")) and _number_like(rng.get("max")):
        low, high = as_written(rng["min"]), as_written(rng["max"])
        out = {k: v for k, v in new.items() if k != "range"}
        out["answer"], out["tolerance"] = _plain_number((low + high) / 2), _plain_number((high - low) / 2)
        return out
    return new


def _number_like(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain_number(value: Decimal) -> int | float:
    """A decimal as YAML writes a number the way people do: ``2``, not ``2.0``; else the nearest float."""
    return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)


def _edit_yaml(rel: str, text_s: str, data: Any, changes: dict[int | None, dict[str, Any]]) -> str:
    text, _doc, nodes, listed = item_nodes(rel, text_s, data)
    for index, fields in changes.items():
        i = 0 if index is None else index
        node = nodes[i]
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            raise ItembankError(f"{rel}: item {i + 1} is written in flow style ({{...}}); update it by hand or remove it before importing")
        if listed and i + 1 < len(nodes):
            nxt = nodes[i + 1]
            first = nxt.value[0][0] if isinstance(nxt, yaml.MappingNode) and nxt.value else nxt
            bound = text.line_of(first.start_mark)
        else:
            bound = text.n_lines
        pairs = _pairs(node)
        keys = [k.value for k, _v in node.value]
        first_line, indent = text.line_col(node.value[0][0].start_mark)
        appended: list[str] = []
        for key, value in fields.items():
            if key in pairs:
                key_node, _val = pairs[key]
                pos = keys.index(key)
                region_end = text.line_of(node.value[pos + 1][0].start_mark) if pos + 1 < len(keys) else bound
                key_line, key_col = text.line_col(key_node.start_mark)
                end = text.content_end(key_line, region_end, key_col)
                lines = key_lines(key, value, key_col)
                prefix = text.line(key_line)[:key_col]
                if prefix.strip():  # the first key of a list entry: keep its "- "
                    lines[0] = prefix + lines[0][key_col:]
                text.replace_lines(key_line, end, lines)
            else:
                appended.extend(key_lines(key, value, indent))
        if appended:
            text.insert_lines(text.content_end(first_line, bound, indent), appended)
    return text.result()


def plan_updates(root: Path, updates: list[tuple[dict[str, Any], Any, frozenset[str]]], ctx: RuleContext) -> tuple[dict[str, str], list[str]]:
    """New texts of the bank files holding updated items, and the ids that needed no change."""
    by_file: dict[str, dict[int | None, tuple[str, dict[str, Any]]]] = {}
    kept: list[str] = []
    raw_cache: dict[str, tuple[str, Any]] = {}
    for new, existing, not_carried in updates:
        rel = existing.location.path
        if rel not in raw_cache:
            path = root / rel
            try:
                old_text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ItembankError(f"{rel}: cannot read: {exc}") from None
            bom = "\ufeff" if old_text.startswith("\ufeff") else ""
            data, prob = parse(old_text[len(bom) :], rel, is_json=path.suffix.lower() == ".json")
            if prob is not None:
                raise ItembankError(f"{rel}: cannot read the file for editing: {prob.message}")
            raw_cache[rel] = (old_text, data)
        data = raw_cache[rel][1]
        index = existing.location.index
        old_item = data["items"][index] if index is not None else data
        fields = changed_fields(old_item, new, not_carried)
        if not fields:
            kept.append(new["id"])
            continue
        by_file.setdefault(rel, {})[index] = (new["id"], fields)
    out: dict[str, str] = {}
    schema = item_schema()
    for rel, changes in by_file.items():
        old_text, data = raw_cache[rel]
        bom = "\ufeff" if old_text.startswith("\ufeff") else ""
        plain = {i: f for i, (_id, f) in changes.items()}
        is_json = rel.lower().endswith(".json")
        if is_json:
            new_data = json.loads(old_text[len(bom) :])
            for i, f in plain.items():
                (new_data if i is None else new_data["items"][i]).update(f)
            new_text = bom + json.dumps(new_data, indent=2, ensure_ascii=False) + "\n"
        else:
            new_text = bom + _edit_yaml(rel, old_text[len(bom) :], data, plain)
        after, prob = parse(new_text[len(bom) :], rel, is_json=is_json)
        if prob is not None:
            raise ItembankError(f"{rel}: the updated file would not parse ({prob.message}); nothing was written")
        expected = json.loads(json.dumps(data))
        for i, f in plain.items():
            (expected if i is None else expected["items"][i]).update(json.loads(json.dumps(f)))
        if after != expected:
            raise ItembankError(f"{rel}: cannot update the file without changing other content (unusual YAML layout?); nothing was written")
        for i, (item_id, _f) in changes.items():
            raw = after if i is None else after["items"][i]
            errors = [e.message for e in schema.errors(raw)]
            errors += [msg for _p, code, msg in check_item(raw, ctx) if RULES.get(code, ("error",))[0] == "error"]
            if errors:
                raise ItembankError(f"{rel}: item {item_id!r} would be invalid after the update ({errors[0]}); nothing was written")
        out[rel] = new_text
    return out, kept
