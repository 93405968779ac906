"""``json``: the whole normalized bank as one JSON document (defaults filled in).

Valid against ``schemas/bank.schema.json``; meant for other tools, and the simplest template for a
new exporter.
"""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from itembank.formats import ExportContext, ExportResult
from itembank.jsontext import indented
from itembank.model import STATUSES, AnyItem, Bank
from itembank.normalize import to_data


class JsonExporter:
    build_cost = 0.15  # see itembank.formats.Exporter
    cached_build_cost = 0.06
    shares_out = False  # one process writes it; see itembank.formats.Exporter
    name = "json"
    description = "the normalized bank as one JSON document (schemas/bank.schema.json)"
    default_output = "bank.json"
    options = frozenset({"status"})
    default_status = STATUSES

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        """The document, written item by item (each unchanged item's JSON from the fragment cache
        when there is one): the bytes ``json.dumps`` writes of the whole document, without holding
        the whole document as Python data and then as text (100,000 items: ~1.5 GB).

        The document is written without its items, then each item as ``json.dumps`` writes it
        alone, moved in by the two levels of indentation the document gives it (a JSON text has no
        line break but between its tokens: a string's is ``\\n``)."""
        result = ExportResult()
        fragments = ctx.fragments

        def pieces() -> Iterator[bytes]:
            for n, item in enumerate(bank.items):
                if fragments is not None:
                    yield fragments.cached(fragments.key(item, "json"), partial(_item_json, item), bytes, _checked_piece)
                else:
                    yield _item_json(item)
                result.wrote(item.type)
                if n % _COLLECT == _COLLECT - 1:
                    # json.dumps with an indent (an item orjson does not write alike: _piece) leaves a
                    # cycle of closures behind at each call (~2 KB), which only the cyclic collector
                    # frees, and an export pauses it (itembank.gcpause): the youngest generation, what
                    # was made since the last time, is collected here.
                    gc.collect(0)

        doc = {
            "format": "itembank-bank",
            "version": 1,
            "generator": f"itembank {ctx.tool_version}".strip(),
            "title": bank.title,
        }
        data = _document(doc, pieces())
        if data is None:  # cannot happen ("items" sorts after "format" and "generator", before "title")
            raise AssertionError("the JSON document's keys no longer put the items after the first two")
        result.data = data
        return result


#: The document's empty list of items, as ``json.dumps(indent=2, sort_keys=True)`` writes it.
_NO_ITEMS = b'\n  "items": [],\n'
#: Items written between two collections of the garbage ``json.dumps`` leaves.
_COLLECT = 1000


def _document(doc: dict[str, Any], pieces: Iterable[bytes]) -> bytes | None:
    """The bytes of ``doc`` with ``"items"``: the items' :func:`_piece` (as ``json.dumps`` writes
    the whole); None when ``doc``'s keys do not put the items after the first two (never here).
    Each piece is written into the document as it comes: one copy of the document in memory, not
    the pieces and then their join (~340 MB each for 100,000 items)."""
    items = iter(pieces)
    first = next(items, None)
    if first is None:
        return (json.dumps({**doc, "items": []}, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    head, sep, tail = json.dumps({**doc, "items": []}, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8").partition(_NO_ITEMS)
    if not sep:
        return None
    out = io.BytesIO()
    out.write(head)
    out.write(b'\n  "items": [\n')
    out.write(first)
    for piece in items:
        out.write(b",\n")
        out.write(piece)
    out.write(b"\n  ],\n")
    out.write(tail)
    out.write(b"\n")
    return out.getvalue()


def _piece(data: Any) -> bytes:
    """``data`` (an item's) as ``json.dumps`` writes it inside the document's list of items: its
    indented text (:func:`itembank.jsontext.indented`, orjson where it writes alike: with an
    indent, ``json.dumps`` encodes in Python, 0.53 s of the 0.97 s export of the 10,000 generated
    items; orjson 0.07 s), moved in by the document's two levels of indentation."""
    return b"    " + indented(data).replace(b"\n", b"\n    ")


def _item_json(item: AnyItem) -> bytes:
    """An item's JSON as it stands in the document (:meth:`JsonExporter._from_pieces`)."""
    data = to_data(item)
    data["file"] = item.location.path
    return _piece(data)


def _checked_piece(raw: bytes) -> bytes:
    if not raw.startswith(b"    {") or not raw.endswith(b"}"):  # (an item is an object)
        raise ValueError("not an item's JSON")
    return raw


exporter = JsonExporter()
