"""The fragment cache (issue 13) in the xlsx, Markdown, HTML and JSON exports: the same bytes as
without it (cold, warm, after an edit, with a damaged pack or piece), and really used."""

from __future__ import annotations

import json
from html import escape
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank import __version__
from itembank.api import export, fragments_for, load_bank, select_bank
from itembank.cache import ENV_OFF
from itembank.forked import can_fork
from itembank.formats import DELIVERY_STATUSES, ExportContext, ExportResult, get_exporter, make_options
from itembank.model import Bank

from conftest import ROOT, count_shares, first_difference, generated_bank

FORMATS = ("xlsx", "markdown", "html", "json")


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_OFF, raising=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_bank(tmp_path_factory.mktemp("gen") / "bank", 300)


def _copy(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".itembank-cache"))
    return dest


def _load(root: Path) -> Bank:
    return load_bank(root, cache=True)  # (the check cache makes the folder the fragment cache lives in)


def _run(bank: Bank, fmt: str, cached: bool, jobs: int = 1) -> tuple[ExportResult, Any]:
    exporter = get_exporter(fmt)
    options = make_options({}, exporter.options)
    fragments = fragments_for(bank, exporter, options) if cached else None
    if cached:
        assert fragments is not None
    ctx = ExportContext(options=options, tool_version=__version__, jobs=jobs, fragments=fragments)
    return export(bank, fmt, ctx=ctx), fragments


def _output(result: ExportResult) -> tuple[Any, ...]:
    return (result.data, result.files, result.notes, result.skipped, result.written, result.left_out)


def _same(bank: Bank, fmt: str, **kw: Any) -> Any:
    """Export with the cache; assert it is what the export without it gives; the cache's counts."""
    plain, _ = _run(bank, fmt, cached=False)
    cached, fragments = _run(bank, fmt, cached=True, **kw)
    assert _output(cached) == _output(plain), (
        first_difference(cached.data, plain.data)
        + "".join(f"; {first_difference((cached.files or {}).get(n), (plain.files or {}).get(n), n)}" for n in sorted(set(cached.files or {}) | set(plain.files or {})) if (cached.files or {}).get(n) != (plain.files or {}).get(n))
        + ("" if cached.notes == plain.notes else f"; notes differ: {cached.notes} against {plain.notes}")
    )
    return fragments


def _pack(bank: Bank, fmt: str) -> Path:
    return bank.root / ".itembank-cache" / "v1" / "fragments" / f"{fmt}-{'bank' if bank.form is None else bank.form.name}.pack"


def _edit_one(root: Path, bank: Bank) -> str:
    """Change the stem of one delivered item in its file (as an author would); its id."""
    for item in bank.items:
        if item.status not in DELIVERY_STATUSES:
            continue
        first = next((line.strip() for line in item.stem.splitlines() if len(line.strip()) > 12), None)
        if first is None or first.startswith(("#", "-", "*", ">", "$", "`", "|", "!", "[")):
            continue
        path = root / item.location.path
        text = path.read_text(encoding="utf-8")
        at = text.find(first)
        if at < 0 or text.count(first) != 1 or text.rfind("stem:", 0, at) < 0:
            continue
        path.write_text(text[:at] + "Edited now. " + text[at:], encoding="utf-8")
        return item.id
    raise AssertionError("no item to edit")


BANKS = ["items", "tests/banks/all-types", "tests/banks/calculated", "tests/banks/html-edge", "generated"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("source", BANKS)
def test_cold_warm_edited_damaged_are_the_bytes_without_cache(fmt: str, source: str, tmp_path: Path, generated: Path) -> None:
    root = _copy(generated if source == "generated" else ROOT / source, tmp_path / "bank")
    bank = _load(root)
    cold = _same(bank, fmt)
    assert cold.misses > 0 and cold.hits == 0
    warm = _same(bank, fmt)
    assert warm.hits == cold.misses and warm.misses == 0  # every piece from the cache: it was used

    edited_id = _edit_one(root, bank)
    bank = _load(root)
    after = _same(bank, fmt)
    assert after.hits + after.misses == warm.hits  # the other pieces came from the cache
    if source == "generated":
        assert after.hits > 0
    # The loader knows an item by its own data (its file's bytes when the file holds it alone): the
    # edited item is the one made again, whatever else its file holds.
    edited = [bank.by_id[edited_id]]
    # (Markdown and HTML show a calculated item as a variant, known by its content: only the edited one.)
    delivered = [i for i in edited if i.status in DELIVERY_STATUSES and (i.type != "calculated" or i.id == edited_id)]
    if fmt == "xlsx":
        # each item's row, its lint findings and its text for the near-duplicate rule; and that rule's
        # search, whose texts the edit of a stem changed (kept for the texts it searched)
        assert after.misses == 3 * len(edited) + 1
    elif fmt == "json":
        assert after.misses == len(edited)
    elif fmt == "markdown":
        assert after.misses == len(delivered)
    else:  # the pages that show an edited item
        files = _run(bank, fmt, cached=False)[0].files
        assert files is not None
        showing = [n for n, data in files.items() if n.endswith(".html") and n != "index.html" and any(f'id="q-{i.id}"'.encode() in data for i in delivered)]
        assert showing and after.misses == len(showing), (edited_id, showing)

    # A damaged index (a byte flipped in a segment's list of its pieces) is no cache, nor is any
    # segment after it: the same bytes. The pack's last index (the edit's pieces) damaged: only
    # those made again.
    pack = _pack(bank, fmt)
    data = bytearray(pack.read_bytes())
    data[-5] ^= 0xFF
    pack.write_bytes(bytes(data))
    damaged = _same(bank, fmt)
    assert damaged.misses == after.misses and damaged.hits == after.hits
    # A byte flipped inside a piece of its first segment: that piece alone is made again (its own
    # CRC-32; it may be a piece no export asks for any more, the edited item's old one), the rest read.
    data = bytearray(pack.read_bytes())
    data[data.index(b"\n") + 40] ^= 0xFF
    pack.write_bytes(bytes(data))
    damaged = _same(bank, fmt)
    assert damaged.misses <= 1 and damaged.hits + damaged.misses == after.hits + after.misses


@pytest.mark.parametrize("fmt", ["xlsx", "markdown", "html"])
def test_an_item_added_first_and_one_removed_keep_the_other_items_pieces(fmt: str, tmp_path: Path, generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook row, a printed question and a page's question carry their number (the row's, the
    question's): an item added before the others, or one removed, moves every item after it (and
    onto other pages).  Their pieces are kept without the number (a printed entry with its width:
    the indent under ``n.``) and numbered anew when read: the same bytes as without the cache, and
    only the added item's pieces made (each number that changed its width too, for Markdown: 9 ->
    10, 99 -> 100; the pages whose items moved, for HTML, put together from the items' articles,
    only the added one rendered).  The audit's verdicts hold for the moved items too: it reads back
    the added item and the few made again."""
    from itembank import audit
    from itembank.exporters.html import site

    viewed: list[str] = []
    real_view = site.item_view
    monkeypatch.setattr(site, "item_view", lambda item, *rest: (viewed.append(item.id), real_view(item, *rest))[1])
    audited: list[str] = []
    real = audit._Reader.item

    def counting(reader: audit._Reader, item: Any) -> Any:
        audited.append(item.id)
        return real(reader, item)

    monkeypatch.setattr(audit._Reader, "item", counting)
    root = _copy(generated, tmp_path / "bank")
    bank = _load(root)
    _same(bank, fmt)
    warm = _same(bank, fmt)
    assert warm.misses == 0
    first = root / bank.items[0].location.path
    text = first.read_text(encoding="utf-8")
    (first.parent / ("0-" + first.name)).write_text(text.replace(f"id: {bank.items[0].id}\n", "id: added-first\n", 1), encoding="utf-8")
    middle = next(i for i in bank.items[len(bank.items) // 2 :] if i.type != "flashcard")
    (root / middle.location.path).unlink()
    bank = _load(root)
    assert bank.items[0].id == "added-first" and middle.id not in bank.by_id
    audited.clear()
    viewed.clear()
    _run(bank, fmt, cached=False)
    everything, shown = len(audited), len(viewed)  # the export without the cache reads back, shows, every item
    audited.clear()
    viewed.clear()
    after = _same(bank, fmt)  # (that export again, then with the cache)
    if fmt == "html":  # not read back (the site is checked by the browser tests): its pages
        assert shown > 100 and viewed[shown:] == ["added-first"], viewed[shown:]
        assert after.misses > 1  # the pages whose items moved: put together anew
        return
    again = audited[everything:]
    assert everything > 100 and "added-first" in again and len(again) <= 4, (everything, again)
    # xlsx: the added item's row, lint findings and text, the near-duplicate search, and the row of
    # the item it copies (its lint cell now names the copy); Markdown: the added item's entries
    made = {"xlsx": 3 + 1 + 1, "markdown": 1 + 2}[fmt]
    assert after.misses <= made and after.hits >= warm.hits - made - 3, (after.hits, after.misses, warm.hits)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=40), number=st.integers(min_value=1, max_value=99_999), other=st.integers(min_value=1, max_value=99_999))
def test_a_row_unnumbered_is_the_same_row_whatever_its_number_and_another_row_for_other_text(text: str, number: int, other: int) -> None:
    """The audit knows a moved workbook row by the row without its numbers (their widths kept): a
    row renumbered as the export renumbers a kept one reads the same; a row whose text differs,
    even by a text that looks like a cell's reference or a number, reads otherwise."""
    from itembank.audit import _row_unnumbered
    from itembank.exporters.xlsx.workbook import _renumbered

    def row(n: int, t: str) -> bytes:
        cells = "".join(f'<c r="{col}{n}" s="1" t="inlineStr"><is><t>{escape(t)}</t></is></c>' for col in ("A", "B", "AA"))
        return f'<row r="{n}" ht="15" customHeight="1">{cells}<c r="AB{n}" s="2"/></row>'.encode()

    written = row(number, text)
    moved = _renumbered(written, other)
    assert moved == row(other, text)
    same_width = len(str(number)) == len(str(other))
    assert (_row_unnumbered(moved) == _row_unnumbered(written)) == same_width
    assert _row_unnumbered(written) is not None
    for changed in (text + "x", text + f'<c r="A{number}"', f"{number}" + text, text[:-1]):
        if changed != text:
            assert _row_unnumbered(row(number, changed)) != _row_unnumbered(written)
    assert _row_unnumbered(b'<row r="1"><c s="1" r="A1"/></row>') is not None  # (a cell not written so keeps its number)
    assert _row_unnumbered(b'<row r="x"><c r="A1"/></row>') is None and _row_unnumbered(b'<row r="1"><c r="11"/></row>') is None
    assert _row_unnumbered(b'<row r="12') is None  # (no end to its number)


def test_a_printed_question_unnumbered_keeps_the_width_and_a_card_has_no_such_identity() -> None:
    from itembank.audit import _Printed

    entry = lambda n, t: [f"{n}. *(1 point)*\n\n   {t}\n", f"{n}. `q1` · 1 point\n\n   {t}\n"]  # noqa: E731
    assert _Printed(entry(12, "A text.")).moved() == _Printed(entry(47, "A text.")).moved() is not None
    assert _Printed(entry(12, "A text.")).moved() != _Printed(entry(120, "A text.")).moved()
    assert _Printed(entry(12, "A text.")).moved() != _Printed(entry(12, "A text!")).moved()
    assert _Printed(["## Card 3: Front\n\n**Front:** x\n"]).moved() is None  # its number is text of its heading


def _rewrite_pack(path: Path, change: Any) -> int:
    """Rewrite a pack with ``change(value) -> value`` applied to each piece, its digest made anew
    (a piece damaged behind a valid pack); the number of pieces changed."""
    from itembank.fragments import pack_scope, read_pack, write_pack

    scope = pack_scope(path)
    assert scope is not None
    pieces = read_pack(path, scope)
    assert pieces
    changed = {key: change(value) for key, value in pieces.items()}
    write_pack(path, scope, sorted(changed.items()))
    return sum(changed[k] != pieces[k] for k in pieces)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_damaged_piece_is_made_again(fmt: str, tmp_path: Path) -> None:
    bank = _load(_copy(ROOT / "items", tmp_path / "bank"))
    cold = _same(bank, fmt)
    damaged = _rewrite_pack(_pack(bank, fmt), lambda value: b"\xff\x00 not a piece" if value != b"passed" else value)
    assert damaged > 0
    again = _same(bank, fmt)  # the same bytes: no error
    assert again.misses == cold.misses  # every damaged piece was made again


def test_damaged_html_page_media_line_is_made_again(tmp_path: Path) -> None:
    """A page piece whose media line is not JSON, or whose page is gone, is rendered again."""
    bank = _load(_copy(ROOT / "tests" / "banks" / "all-types", tmp_path / "bank"))
    _same(bank, "html")
    assert _rewrite_pack(_pack(bank, "html"), lambda value: value.partition(b"\n")[0] + b"\n" if value != b"passed" else value) > 0
    again = _same(bank, "html")
    assert again.hits == 0 and again.misses > 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_form_export(fmt: str, tmp_path: Path) -> None:
    bank = _load(_copy(ROOT / "items", tmp_path / "bank"))
    form = select_bank(bank, "pattern-check", "A")
    cold = _same(form, fmt)
    warm = _same(form, fmt)
    if fmt == "html":  # a form's site is its one test page, rendered every time (the bank's test pages are kept)
        assert cold.misses == warm.misses == warm.hits == 0
    else:
        assert warm.misses == 0 and warm.hits == cold.misses > 0


def test_html_pages_rendered_in_forked_shares_are_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, generated: Path) -> None:
    from itembank.exporters.html import site

    shares = count_shares(monkeypatch, site)
    bank = _load(_copy(generated, tmp_path / "bank"))
    monkeypatch.setattr(site, "PARALLEL_FROM", 0)
    cold = _same(bank, "html", jobs=2)
    assert cold.misses > 1 and shares
    warm = _same(bank, "html", jobs=2)
    assert warm.misses == 0 and warm.hits == cold.misses


def test_html_articles_taken_in_forked_shares_make_the_same_site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, generated: Path) -> None:
    """Pages put together from kept articles in forked shares (an item added first moved every
    practice page's items): the site without the cache."""
    from itembank.exporters.html import site

    shares = count_shares(monkeypatch, site)
    root = _copy(generated, tmp_path / "bank")
    bank = _load(root)
    _same(bank, "html", jobs=2)
    first = root / bank.items[0].location.path
    text = first.read_text(encoding="utf-8")
    (first.parent / ("0-" + first.name)).write_text(text.replace(f"id: {bank.items[0].id}\n", "id: added-first\n", 1), encoding="utf-8")
    bank = _load(root)
    shares.clear()
    after = _same(bank, "html", jobs=2)
    assert after.misses > 1 and shares[-1] == (2 if can_fork() else 1)


def test_site_with_a_different_page_size_is_not_taken_from_another_layout(tmp_path: Path, generated: Path) -> None:
    """The page size is an option (the cache's scope); a page's key also holds its place in the site."""
    bank = _load(_copy(generated, tmp_path / "bank"))
    exporter = get_exporter("html")
    for size in (50, 70, 50):
        options = make_options({"page_size": size}, exporter.options)
        plain = export(bank, "html", ctx=ExportContext(options=options, tool_version=__version__))
        cached = export(bank, "html", ctx=ExportContext(options=options, tool_version=__version__, fragments=fragments_for(bank, exporter, options)))
        assert cached.files == plain.files


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.text(max_size=6), _JSON, max_size=4), max_size=4), st.text(), st.text())
@settings(max_examples=200, deadline=None)
def test_the_json_document_put_together_from_pieces_is_what_json_dumps_writes(items: list[dict[str, Any]], title: str, generator: str) -> None:
    """Any items (line separators, quotes, backslashes, nested lists and empty containers included)."""
    from itembank.exporters.json import _document, _piece

    doc = {"format": "itembank-bank", "version": 1, "generator": generator, "title": title}
    whole = (json.dumps({**doc, "items": items}, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8", "surrogatepass")
    try:
        together = _document(doc, [_piece(i) for i in items])
    except UnicodeEncodeError:  # a lone surrogate: the export without the cache fails on it alike
        return
    assert together == whole


#: Values where orjson's text and json.dumps's may part: floats about 1e-4 (json.dumps's exponent
#: starts below it), large floats (exponents), NaN and infinities, integers about 64 bits, texts of
#: control and non-BMP characters, keys that are not texts.
_EDGES = (
    st.floats(min_value=1e-7, max_value=1e-3) | st.floats(min_value=1e14, max_value=1e25) | st.floats()
    | st.sampled_from([1e-4, -1e-4, 9.999999999999999e-05, 1e16, 1e-05, 0.0, -0.0, float("inf"), float("nan")])
    | st.integers(min_value=2**62, max_value=2**66).map(lambda n: n * (-1) ** n)
    | st.text(alphabet=st.characters(max_codepoint=0x20) | st.sampled_from("\"\\\x7f\u2028\U0001f600"))
)


@given(st.dictionaries(st.text(max_size=3) | st.integers(max_value=3) | st.booleans() | st.none(), st.lists(_EDGES, max_size=3) | _EDGES, max_size=4))
@settings(max_examples=300, deadline=None)
def test_an_item_of_the_json_export_is_what_json_dumps_writes_whatever_its_values(data: dict[Any, Any]) -> None:
    """orjson writes most items (exporters.json._piece); where its text could differ from
    json.dumps's, json.dumps writes the item, so an item's bytes are always json.dumps's."""
    from itembank.exporters.json import _piece

    try:
        expected = ("    " + json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True).replace("\n", "\n    ")).encode("utf-8")
    except TypeError:  # keys of mixed types cannot be sorted: the export fails alike
        with pytest.raises(TypeError):
            _piece(data)
        return
    assert _piece(data) == expected


def test_the_json_export_writes_usual_items_with_orjson(monkeypatch: pytest.MonkeyPatch, all_types_bank: Bank) -> None:
    """Every item of the all-types bank (numbers, nested solutions, rubrics, cloze blanks) is written
    by orjson: json.dumps writes the document's head alone."""
    from itembank import api
    from itembank.exporters import json as json_export

    calls: list[object] = []
    real = json_export.json.dumps

    def counted(value: object, **kw: Any) -> str:
        calls.append(value)
        return real(value, **kw)

    monkeypatch.setattr(json_export.json, "dumps", counted)
    assert api.export(all_types_bank, "json").data
    assert len(calls) == 1 and isinstance(calls[0], dict) and calls[0]["items"] == []


@pytest.mark.parametrize("source", [ROOT / "items", ROOT / "tests" / "banks" / "all-types", ROOT / "tests" / "banks" / "calculated"], ids=lambda p: p.name)
def test_the_json_export_is_json_dumps_of_the_whole_document(source: Path) -> None:
    """The export writes the document item by item (never the whole as one Python value); its bytes
    are still those of ``json.dumps`` of the whole, as they always were."""
    from itembank import api
    from itembank.normalize import to_data

    bank = api.load_bank(source)
    items = []
    for item in bank.items:
        data = to_data(item)
        data["file"] = item.location.path
        items.append(data)
    doc = {"format": "itembank-bank", "version": 1, "generator": f"itembank {api.__version__}", "title": bank.title, "items": items}
    assert api.export(bank, "json").data == (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def test_exports_leave_no_pile_of_cyclic_garbage_while_the_collector_is_paused(monkeypatch: pytest.MonkeyPatch, all_types_bank) -> None:
    """An export runs with the cyclic collector paused (itembank.gcpause): what it leaves in cycles
    stays until the end.  The JSON export collects what json.dumps leaves as it goes; the HTML pages
    keep no page's item views once written (the item macro is imported without the page's context)."""
    import gc

    import itembank.exporters.json as json_exporter
    from itembank.exporters.html.views import ItemView
    from itembank.formats import ExportContext, get_exporter

    monkeypatch.setattr(json_exporter, "_COLLECT", 2)
    assert len(all_types_bank.items) >= 10
    gc.collect()
    gc.disable()
    try:
        get_exporter("json").export(all_types_bank, ExportContext(tool_version="t"))
        assert gc.collect() < 100  # at most the last item's (~33 objects a call); every item's were ~33 × the items
        get_exporter("html").export(all_types_bank, ExportContext(tool_version="t"))
        assert not [o for o in gc.get_objects() if isinstance(o, ItemView)]
    finally:
        gc.enable()


def test_workbook_rows_built_in_forked_shares_are_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, generated: Path) -> None:
    """Rows built in forked shares go into the fragment cache (by this process: a child's writes
    would be lost), and the next export takes every one of them from it."""
    import itembank.exporters.xlsx.workbook as xlsx
    from itembank.forked import can_fork

    shares = count_shares(monkeypatch, xlsx)
    bank = _load(_copy(generated, tmp_path / "bank"))
    cold = _same(bank, "xlsx", jobs=2)
    # (_same exports without the cache in one process first: its one share, then the cached export's)
    assert cold.misses > len(bank.items) and shares == [1, 2 if can_fork() else 1]  # rows and lint findings made; the rows in two shares
    shares.clear()
    warm = _same(bank, "xlsx", jobs=2)
    assert warm.misses == 0 and warm.hits == cold.misses and shares == [1, 1]  # nothing left to build: one empty share
