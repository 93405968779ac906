"""The fragment cache in the Moodle XML, GIFT and Canvas exports (issue 13).

Each export with the cache (cold, warm, after editing one item, after damaging the pack, after
changing an image) must be the export without it, byte for byte, with the same notes, skips and
counts; and a warm export must really take its pieces from the cache (hits, and a miss for each
edited item only).
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import ALL_TYPES_BANK, ROOT, SEED_BANK, generated_bank

from itembank import __version__, api, load_bank
from itembank.cache import ENV_OFF
from itembank.errors import ItembankError
import itembank.fragments as pack_layout
from itembank.fragments import Fragments, pack_scope, read_pack, scope_of
from itembank.formats import ExportContext, ExportResult, get_exporter, make_options
from itembank.model import Bank

FORMATS = ["moodle", "gift", "canvas"]
BANKS = [SEED_BANK, *sorted(p for p in (ROOT / "tests" / "banks").iterdir() if (p / "itembank.yaml").is_file())]


def _copy(src: Path, dest: Path) -> Path:
    """A copy of a bank with an (empty) cache folder, where the fragment cache may write its packs."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".itembank-cache"))
    (dest / ".itembank-cache" / "v1").mkdir(parents=True)
    return dest


def _fragments(bank: Bank, fmt: str, form: str = "bank") -> Fragments:
    """The export's fragment cache, as the API makes it (made here: the tests run with ITEMBANK_NO_CACHE=1)."""
    exporter = get_exporter(fmt)
    return Fragments(bank.root, f"{fmt}-{form}", scope_of(type(exporter).__module__, fmt, form, repr(bank.config)))


def _export(bank: Bank, fmt: str, fragments: Fragments | None, **where: str) -> ExportResult:
    """``api.export`` (the exporter, its audit with the cache's verdicts, the pack saved)."""
    exporter = get_exporter(fmt)
    ctx = ExportContext(options=make_options({}, exporter.options, fmt), tool_version=__version__, fragments=fragments)
    return api.export(bank, fmt, ctx=ctx, **where)


def _same(cached: ExportResult, plain: ExportResult) -> None:
    assert cached.data == plain.data
    assert cached.files == plain.files
    assert cached.written == plain.written
    assert cached.skipped == plain.skipped
    assert cached.notes == plain.notes


def _pieces(bank: Bank, fmt: str) -> int:
    """How many pieces an export of ``bank`` takes: an item each (Canvas: each item it can hold)."""
    result = _export(bank, fmt, None)
    return sum(result.written.values()) + (0 if fmt == "canvas" else len(result.skipped))


def _damage_piece(pack: Path, where: str) -> None:
    """Flip a bit of the largest item piece (in its body, its head or its checksum), or of the
    largest deflated chunk (``chunk``: a quiz's or a bank's, kit.zip.Chunked), and write the pack
    again with a digest that fits (damage the pack's own check cannot see)."""
    from itembank.fragments import pack_scope, read_pack, write_pack

    scope = pack_scope(pack)
    assert scope is not None
    pieces = read_pack(pack, scope)
    chunks = [k for k in pieces if pieces[k][8:12] == b"\n{}\n"]  # (a deflated chunk: a piece with an empty head)
    key = max(chunks if where == "chunk" else set(pieces) - set(chunks), key=lambda k: len(pieces[k]))
    raw = bytearray(pieces[key])
    head_end = raw.index(b"\n", 9)
    raw[{"body": len(raw) - 3, "head": (9 + head_end) // 2, "checksum": 0, "chunk": len(raw) // 2}[where]] ^= 0x01
    pieces[key] = bytes(raw)
    write_pack(pack, scope, sorted(pieces.items()))


def _edit_one_title(root: Path, fmt: str, among: str | None = None) -> str:
    """Give one item (the first that the format writes; of the file ``among`` only, when given) a
    new title in its YAML file; the item's id."""
    bank = load_bank(root)
    skipped = {i for i, _ in _export(bank, fmt, None).skipped}
    item = next(i for i in bank.items if i.id not in skipped and i.status != "retired" and among in (None, i.location.path))
    path = root / item.location.path
    lines = path.read_text(encoding="utf-8").split("\n")
    at = next(n for n, line in enumerate(lines) if re.fullmatch(rf"(\s*-?\s*)id:\s*['\"]?{re.escape(item.id)}['\"]?\s*", line))
    indent = len(re.match(r"(\s*-?\s*)", lines[at]).group(1))  # type: ignore[union-attr]
    title = " " * indent + f"title: Edited title of {item.id}"
    for n in range(at + 1, len(lines)):
        line = lines[n]
        if line.strip() and (len(line) - len(line.lstrip()) < indent or line.lstrip().startswith("- ") and len(line) - len(line.lstrip()) < indent):
            break  # the next item
        if len(line) - len(line.lstrip()) == indent and line.lstrip().startswith("title:"):
            lines[n] = title
            break
    else:
        lines.insert(at + 1, title)
    if title not in lines:
        lines.insert(at + 1, title)
    path.write_text("\n".join(lines), encoding="utf-8")
    return item.id


def _cold(bank: Bank, fmt: str) -> tuple[ExportResult, int, Fragments]:
    """The export without the cache, its number of pieces, and a cold export's fragments (checked:
    the same output, every piece made)."""
    plain = _export(bank, fmt, None)
    count = _pieces(bank, fmt)
    cold = _fragments(bank, fmt)
    _same(_export(bank, fmt, cold), plain)
    assert (cold.hits, cold.misses) == (0, count)
    return plain, count, cold


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("src", BANKS, ids=lambda p: p.name)
def test_cold_warm_and_damaged_exports_are_the_export_without_the_cache(tmp_path: Path, src: Path, fmt: str) -> None:
    root = _copy(src, tmp_path / "bank")
    bank = load_bank(root)
    plain, count, cold = _cold(bank, fmt)
    assert cold.path.is_file()

    warm = _fragments(bank, fmt)
    _same(_export(bank, fmt, warm), plain)
    assert (warm.hits, warm.misses) == (count, 0)  # every piece from the cache: none built

    # Damage a byte in the middle of the pack: the piece that holds it no longer matches its CRC-32
    # and is built again (an item's piece: one miss; a deflated chunk: deflated again, no miss);
    # the others are read.
    pack = warm.path
    raw = bytearray(pack.read_bytes())
    middle = len(raw) // 2
    scope = pack_scope(pack)
    assert scope is not None
    holding = [key for key, (at, size, _crc) in pack_layout._Pack.read(pack, scope).index.items() if at <= middle < at + size]
    assert len(holding) == 1
    chunk = read_pack(pack, scope)[holding[0]][8:12] == b"\n{}\n"  # (as _damage_piece tells a chunk)
    raw[middle] ^= 0xFF
    pack.write_bytes(bytes(raw))
    ignored = _fragments(bank, fmt)
    _same(_export(bank, fmt, ignored), plain)
    assert (ignored.hits, ignored.misses) == ((count, 0) if chunk else (count - 1, 1))

    # Damage one piece where the pack's checksum cannot see it (the checksum made to fit): that
    # piece, and only it, is built again: a byte of its body, of its head (JSON), of its checksum.
    for where in ("body", "head", "checksum"):
        _damage_piece(pack, where)
        damaged = _fragments(bank, fmt)
        _same(_export(bank, fmt, damaged), plain)
        assert (damaged.hits, damaged.misses) == (count - 1, 1), where
    if fmt == "canvas":  # a damaged chunk of the quiz's deflate stream: deflated again, the same package
        _damage_piece(pack, "chunk")
        damaged = _fragments(bank, fmt)
        _same(_export(bank, fmt, damaged), plain)
        assert (damaged.hits, damaged.misses) == (count, 0)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("src", [SEED_BANK, ALL_TYPES_BANK], ids=lambda p: p.name)
def test_after_editing_one_item_only_it_is_built_again(tmp_path: Path, src: Path, fmt: str) -> None:
    root = _copy(src, tmp_path / "bank")
    bank = load_bank(root)
    _export(bank, fmt, _fragments(bank, fmt))  # cold: fills the cache
    count = _pieces(bank, fmt)
    edited = _edit_one_title(root, fmt)

    bank = load_bank(root)
    plain = _export(bank, fmt, None)
    assert f"Edited title of {edited}".encode() in (plain.data or b"".join((plain.files or {}).values())) or fmt == "canvas"
    warm = _fragments(bank, fmt)
    _same(_export(bank, fmt, warm), plain)
    assert (warm.hits, warm.misses) == (count - 1, 1)


def test_canvas_after_editing_one_item_has_its_new_title(tmp_path: Path) -> None:
    """The Canvas package is a zip: the edited title is looked for in its unzipped files."""
    root = _copy(ALL_TYPES_BANK, tmp_path / "bank")
    bank = load_bank(root)
    _export(bank, "canvas", _fragments(bank, "canvas"))
    edited = _edit_one_title(root, "canvas")
    bank = load_bank(root)
    exporter = get_exporter("canvas")
    ctx = ExportContext(options=make_options({"unzipped": True}, exporter.options, "canvas"), tool_version=__version__)
    plain = api.export(bank, "canvas", ctx=ctx)
    assert any(f"Edited title of {edited}".encode() in data for data in (plain.files or {}).values())


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_assessment_form_from_the_cache(tmp_path: Path, fmt: str) -> None:
    root = _copy(SEED_BANK, tmp_path / "bank")
    bank = load_bank(root)
    name = next(iter(bank.assessments))
    plain = _export(bank, fmt, None, assessment=name)
    target = api.select_bank(bank, name)
    assert target.form is not None
    for run in ("cold", "warm"):
        fragments = _fragments(bank, fmt, target.form.name)
        _same(_export(bank, fmt, fragments, assessment=name), plain)
        assert fragments.hits > 0 if run == "warm" else fragments.misses > 0
        if run == "warm":
            assert fragments.misses == 0


def test_moodle_question_with_a_changed_image_is_built_again(tmp_path: Path) -> None:
    """A Moodle question embeds its images' bytes: a changed, then missing, image file is not taken
    from the cache (the item's YAML is the same)."""
    root = _copy(ALL_TYPES_BANK, tmp_path / "bank")
    bank = load_bank(root)
    plain = _export(bank, "moodle", None)
    images = sorted(p for p in (root / "media").rglob("*") if p.is_file() and p.name.encode() in (plain.data or b""))
    assert images, "the every-type bank shows an image in Moodle XML"
    _export(bank, "moodle", _fragments(bank, "moodle"))

    images[0].write_bytes(images[0].read_bytes() + b"\n<!-- changed -->\n")
    bank = load_bank(root)
    changed = _export(bank, "moodle", None)
    assert changed.data != plain.data
    warm = _fragments(bank, "moodle")
    _same(_export(bank, "moodle", warm), changed)
    assert warm.misses >= 1 and warm.hits > 0

    images[0].unlink()
    gone = _export(bank, "moodle", None)
    assert gone.skipped != changed.skipped  # the item that shows it is skipped now, with the reason
    again = _fragments(bank, "moodle")
    _same(_export(bank, "moodle", again), gone)


@pytest.mark.parametrize("fmt", FORMATS)
def test_generated_bank_cold_warm_and_one_edit(tmp_path: Path, fmt: str) -> None:
    root = generated_bank(tmp_path / "gen", 300)
    (root / ".itembank-cache" / "v1").mkdir(parents=True)
    bank = load_bank(root)
    plain, count, cold = _cold(bank, fmt)
    warm = _fragments(bank, fmt)
    _same(_export(bank, fmt, warm), plain)
    assert (warm.hits, warm.misses) == (count, 0)

    edited = _edit_one_title(root, fmt)
    bank = load_bank(root)
    plain = _export(bank, fmt, None)
    after = _fragments(bank, fmt)
    _same(_export(bank, fmt, after), plain)
    assert (after.hits, after.misses) == (count - 1, 1), edited


@pytest.mark.parametrize("fmt", [*FORMATS, "qti21", "qti30"])
def test_one_edit_in_a_file_of_many_items_makes_that_item_alone_again(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader knows an item of a file of several by its own data, not the file's bytes: editing
    one leaves the pieces of the others (a bank kept as a file per topic: 1,000 items in a file made
    an edit rebuild all of them, ~5.5 s instead of ~3.3 s for a build of 10,000 items)."""
    monkeypatch.delenv(ENV_OFF, raising=False)  # the loader's digests come with its check cache
    root = _copy(ALL_TYPES_BANK, tmp_path / "bank")
    bank = load_bank(root, cache=True)
    path, held = Counter(i.location.path for i in bank.items).most_common(1)[0]
    assert held > 3
    plain = _export(bank, fmt, None)
    cold = _fragments(bank, fmt)
    _same(_export(bank, fmt, cold), plain)
    assert cold.hits == 0 and cold.misses >= held
    warm = _fragments(bank, fmt)
    _same(_export(bank, fmt, warm), plain)
    # (QTI builds a calculated item at every export, to learn what QTI can say of it: a miss each time)
    assert warm.hits + warm.misses == cold.misses and warm.misses == (1 if fmt.startswith("qti") else 0)

    edited = _edit_one_title(root, fmt, among=path)
    bank = load_bank(root, cache=True)
    after = _fragments(bank, fmt)
    _same(_export(bank, fmt, after), _export(load_bank(root), fmt, None))
    assert (after.hits, after.misses) == (warm.hits - 1, warm.misses + 1), edited


# --- Canvas questions built over forked processes ------------------------------------------------------


def _over_processes(monkeypatch: pytest.MonkeyPatch, fmt: str, block: int) -> tuple[list[int], dict[str, int]]:
    """Canvas's, Moodle's or GIFT's questions built ahead over forked processes (``kit.ahead``) from 1
    question on, ``block`` at a time.  Returns the number of shares each build made (one where the
    machine cannot fork), and counts of this process's questions: built in its own share
    (``ahead``), and built in all (``built``; more than ``ahead`` when a question built ahead was not
    used and was built again)."""
    from conftest import count_shares

    from itembank.exporters.canvas import package
    from itembank.exporters.kit import ahead
    from itembank.exporters.moodle import gift, xml

    module: Any = {"canvas": package, "moodle": xml, "gift": gift}[fmt]
    shares = count_shares(monkeypatch, ahead)
    monkeypatch.setattr(ahead, "PARALLEL_FROM", 1)
    monkeypatch.setattr(ahead, "BLOCK", block)
    here = {"ahead": 0, "built": 0}
    made_piece, made_pieces = module._made_piece, module._made_pieces

    def piece(*args: Any) -> Any:
        here["built"] += 1
        return made_piece(*args)

    def pieces(*args: Any) -> Any:
        here["ahead"] += len(args[-1])
        return made_pieces(*args)

    monkeypatch.setattr(module, "_made_piece", piece)
    monkeypatch.setattr(module, "_made_pieces", pieces)
    return shares, here


def _jobs(bank: Bank, fmt: str, jobs: int, fragments: Fragments | None = None, **where: str) -> ExportResult:
    exporter = get_exporter(fmt)
    ctx = ExportContext(options=make_options({}, exporter.options, fmt), tool_version=__version__, fragments=fragments, jobs=jobs)
    return api.export(bank, fmt, ctx=ctx, **where)


@pytest.mark.parametrize("fmt", ["canvas", "moodle", "gift"])
@pytest.mark.parametrize("src", BANKS, ids=lambda p: p.name)
def test_questions_built_over_processes_are_the_same_export(tmp_path: Path, src: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The questions built ahead in forked processes (blocks of 3, in the order the export writes
    them; Canvas's zip deflated in this process): the output, notes, counts and skips of the export
    in one process (and one thread); for the bank and for every form of its assessments (sections,
    picks)."""
    from itembank.assessments import build_forms
    from itembank.forked import can_fork

    shares, here = _over_processes(monkeypatch, fmt, 3)
    bank = load_bank(src)
    targets = [bank] + [form for name in bank.assessments for form in build_forms(bank, name)]
    for target in targets:
        plain = _export(target, fmt, None)
        shares.clear()
        here.update(ahead=0, built=0)
        _same(_jobs(target, fmt, 2), plain)
        if len(target.items) > 1 and plain.data is not None:
            assert shares and max(shares) == (2 if can_fork() else 1)  # really built in shares
            assert here["built"] == here["ahead"] > 0  # and every question built ahead was used
            if can_fork():
                assert here["ahead"] < _pieces(target, fmt)  # the others were built by the children


@pytest.mark.parametrize(
    ("fmt", "option", "value", "src"),
    [("gift", "expand_variants", 3, "calculated"), ("gift", "strict", True, "all-types"), ("moodle", "variants", 4, "calculated")],
)
def test_questions_built_over_processes_take_the_export_options(fmt: str, option: str, value: object, src: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Built over processes with the options that change what a question is (calculated items as
    numeric variants, a skip instead of a loss, dataset sizes): the one-process export's output,
    notes, counts, skips and variants."""
    from itembank.forked import can_fork

    shares, here = _over_processes(monkeypatch, fmt, 2)
    bank = load_bank(ROOT / "tests" / "banks" / src)
    exporter = get_exporter(fmt)
    results = []
    for jobs in (1, 2):
        ctx = ExportContext(options=make_options({option: value}, exporter.options, fmt), tool_version=__version__, jobs=jobs)
        results.append(api.export(bank, fmt, ctx=ctx))
    _same(results[1], results[0])
    assert results[1].variants == results[0].variants
    if option == "expand_variants":
        assert results[0].variants and set(results[0].variants.values()) == {3}  # written as variants
    if option == "strict":
        assert any("strict" in why for _id, why in results[0].skipped)  # what GIFT would lose: skipped
    assert shares and max(shares) == (2 if can_fork() else 1) and here["built"] == here["ahead"] > 0


@pytest.mark.parametrize("fmt", ["canvas", "moodle", "gift"])
def test_questions_built_over_processes_go_into_the_cache_and_come_from_it(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cold, the questions built in forked processes are kept (by this process); warm, none is
    built; after one edit, only that one: the output each time is the one-process export's."""
    from itembank.forked import can_fork

    shares, here = _over_processes(monkeypatch, fmt, 50)
    root = generated_bank(tmp_path / "gen", 120)
    (root / ".itembank-cache" / "v1").mkdir(parents=True)
    bank = load_bank(root)
    plain = _export(bank, fmt, None)
    count = _pieces(bank, fmt)
    cold = _fragments(bank, fmt)
    shares.clear()
    _same(_jobs(bank, fmt, 2, cold), plain)
    assert (cold.hits, cold.misses) == (0, count) and len(shares) == -(-count // 50) and set(shares) == {2 if can_fork() else 1}
    assert here["built"] == here["ahead"] > 0
    warm = _fragments(bank, fmt)
    shares.clear()
    here.update(ahead=0, built=0)
    _same(_jobs(bank, fmt, 2, warm), plain)
    assert (warm.hits, warm.misses) == (count, 0) and shares == [] and here == {"ahead": 0, "built": 0}

    edited = _edit_one_title(root, fmt)
    bank = load_bank(root)
    plain = _export(bank, fmt, None)
    after = _fragments(bank, fmt)
    shares.clear()
    here.update(ahead=0, built=0)
    _same(_jobs(bank, fmt, 2, after), plain)
    assert (after.hits, after.misses) == (count - 1, 1) and shares == [1], edited  # the edited question alone, here
    assert here == {"ahead": 1, "built": 1}


# --- the audit's per-item verdicts, and the Moodle document cut as bytes ------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_warm_export_audits_only_what_it_did_not_pass_before(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit's memo hits for these formats: a warm export reads back only the items whose own
    output changed.  An item that passed only with a note's help (GIFT's essays lose their rubric:
    noted) passes unread while a note names it, and is read again when none does."""
    from itembank import audit

    root = _copy(ALL_TYPES_BANK, tmp_path / "bank")
    bank = load_bank(root)
    audited: list[str] = []
    real = audit._Reader.item

    def counting(reader: audit._Reader, item: object) -> object:  # each item read back
        audited.append(item.id)  # type: ignore[attr-defined]
        return real(reader, item)  # type: ignore[arg-type]

    monkeypatch.setattr(audit._Reader, "item", counting)
    plain = _export(bank, fmt, None)
    everything = len(audited)
    assert everything > 0
    audited.clear()
    _export(bank, fmt, _fragments(bank, fmt))
    assert len(audited) == everything  # cold: every item read back
    audited.clear()
    _export(bank, fmt, _fragments(bank, fmt))
    assert audited == []  # warm: nothing read back, the items a note speaks for included
    if fmt == "gift":  # an essay (its rubric noted) whose note is gone: read back, and refused
        essay = next(i.id for i in bank.items if i.type == "essay")
        assert essay in "\n".join(plain.notes)
        exporter = get_exporter(fmt)
        real_export = exporter.export

        def unnoted(*args: Any, **kw: Any) -> ExportResult:
            result = real_export(*args, **kw)
            result.notes[:] = [n for n in result.notes if essay not in n]
            return result

        monkeypatch.setattr(exporter, "export", unnoted)
        audited.clear()
        with pytest.raises(ItembankError, match=re.escape(essay)):
            _export(bank, fmt, _fragments(bank, fmt))
        assert essay in audited
        monkeypatch.setattr(exporter, "export", real_export)

    edited = _edit_one_title(root, fmt)
    bank = load_bank(root)
    audited.clear()
    _export(bank, fmt, _fragments(bank, fmt))
    assert edited in audited


@pytest.mark.parametrize("fmt", [*FORMATS, "qti21", "qti30", "xlsx", "markdown"])
def test_the_audit_keeps_a_run_of_items_verdicts_as_one(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm export looks up one verdict per run of ``audit.RUN`` items whose outputs passed (each
    item's own verdict only in a run that changed); after editing one item, only its run is looked
    at item by item and only it is read back; the same output as without the cache throughout."""
    from itembank import audit

    monkeypatch.setattr(audit, "RUN", 3, raising=False)  # (the all-types bank holds a few runs of 3)
    root = _copy(ALL_TYPES_BANK, tmp_path / "bank")
    bank = load_bank(root)
    audited: list[str] = []
    looked: list[str] = []
    real_item, real_key = audit._Reader.item, Fragments.key

    def reading(reader: audit._Reader, item: object) -> object:
        audited.append(item.id)  # type: ignore[attr-defined]
        return real_item(reader, item)  # type: ignore[arg-type]

    def keying(item: Any, *extra: str) -> bytes:
        if extra[:1] == ("audit",):
            looked.append(item.id)
        return real_key(item, *extra)

    monkeypatch.setattr(audit._Reader, "item", reading)
    monkeypatch.setattr(Fragments, "key", staticmethod(keying))
    plain = _export(bank, fmt, None)
    _same(_export(bank, fmt, _fragments(bank, fmt)), plain)  # cold: every verdict made, and each run's
    audited.clear()
    looked.clear()
    _same(_export(bank, fmt, _fragments(bank, fmt)), plain)
    assert audited == [] and looked == []  # warm: a look-up per run, none per item
    edited = _edit_one_title(root, fmt)
    bank = load_bank(root)
    plain = _export(bank, fmt, None)
    audited.clear()
    looked.clear()
    _same(_export(bank, fmt, _fragments(bank, fmt)), plain)
    assert audited == [edited] and edited in looked and 0 < len(looked) <= 3  # its run only
    audited.clear()
    looked.clear()
    _same(_export(bank, fmt, _fragments(bank, fmt)), plain)
    assert audited == [] and looked == []  # its run kept as one again


@pytest.mark.parametrize("src", BANKS, ids=lambda p: p.name)
def test_moodle_questions_cut_as_bytes_read_as_the_parsed_ones(src: Path) -> None:
    from itembank import audit

    document = _export(load_bank(src), "moodle", None).data
    assert document is not None and b"<![CDATA[" in document
    parsed = dict(audit._moodle_questions(document))
    sliced = audit._moodle_sliced(document)
    assert sliced is not None and list(sliced) == list(parsed)
    for ident, entry in sliced.items():
        assert isinstance(entry, audit._Member)
        assert entry.load().raw == parsed[ident]
        # a view of the document, not a copy of its bytes (a copy of every question: ~350 MB at 100,000 items)
        assert isinstance(entry.raw, memoryview) and entry.raw.obj is document


@pytest.mark.parametrize("src", BANKS, ids=lambda p: p.name)
def test_gift_blocks_are_views_read_as_the_text_split_at_blank_lines(src: Path) -> None:
    """The audit's part of each GIFT question: what the document's text, split at its blank lines,
    gives for the block naming the item (GIFT's \\n read as a newline), taken from a view of the
    document's bytes and decoded when read."""
    from itembank import audit

    bank = load_bank(src)
    result = _export(bank, "gift", None)
    document = result.data
    assert document is not None
    expected: dict[str, str] = {}
    for block in document.decode("utf-8").split("\n\n"):
        m = re.search(r"// \[id:([^\]]+)\]", block)
        if m:
            expected[m.group(1)] = audit._GIFT_NEWLINE.sub(audit._gift_newline, block)
    entries = audit._per_item("gift", bank, result)
    assert list(entries) == list(expected)
    assert expected or src.name == "calculated"  # (its items are calculated: GIFT has no such question)
    for ident, entry in entries.items():
        assert isinstance(entry, audit._Member) and isinstance(entry.raw, memoryview) and entry.raw.obj is document
        assert entry.load().raw == expected[ident]


def test_split_at_gives_where_split_cuts() -> None:
    from itembank import audit

    for data in [b"", b"a", b"\n\n", b"a\n\nb", b"a\n\n\nb\n\n", b"\n\n\n\na", "é\n\nü".encode()]:
        assert [data[b:e] for b, e in audit._split_at(data, b"\n\n")] == data.split(b"\n\n")


@pytest.mark.parametrize(
    "hidden",
    [
        b"<![CDATA[<p>a</question><question>b</p>]]>",
        b"<![CDATA[<idnumber>other</idnumber>]]>",
        b"<!-- </question> -->",
    ],
)
def test_moodle_questions_are_parsed_when_a_cdata_section_or_comment_holds_their_tags(hidden: bytes) -> None:
    from itembank import audit

    document = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n  <question type="essay">\n    <questiontext format="html"><text>'
        + (hidden if not hidden.startswith(b"<!--") else b"<![CDATA[<p>x</p>]]>")
        + b"</text></questiontext>\n    <idnumber>q1</idnumber>\n  </question>\n"
        + (hidden if hidden.startswith(b"<!--") else b"")
        + b"\n</quiz>\n"
    )
    assert audit._moodle_sliced(document) is None
    assert list(dict(audit._moodle_questions(document))) == ["q1"]


# --- generated banks (hypothesis): the space of inputs, not examples ---------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from strategies import GeneratedBank, banks, write_bank  # noqa: E402

from itembank.validate import check_bank  # noqa: E402

GENERATED = {"long": 100}.get(settings.get_current_profile_name(), 5)


@settings(max_examples=GENERATED, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=banks(min_items=6, max_items=10, every_type=True))
def test_generated_banks_from_the_cache_are_the_export_without_it(tmp_path_factory: pytest.TempPathFactory, generated: GeneratedBank) -> None:
    from itembank import audit

    root = write_bank(generated, tmp_path_factory.mktemp("bank"))
    checked = check_bank(root)
    assume(not any(p.severity == "error" for p in checked.problems))  # (the strategy can draw a number validation refuses, IB224)
    (root / ".itembank-cache" / "v1").mkdir(parents=True)
    bank = checked.bank()
    for fmt in FORMATS:
        try:
            plain = _export(bank, fmt, None)
        except ItembankError as refused:  # the export refuses the bank (its audit): with the cache too
            with pytest.raises(ItembankError) as cached:
                _export(bank, fmt, _fragments(bank, fmt))
            assert str(cached.value) == str(refused)
            continue
        count = _pieces(bank, fmt)
        for run in ("cold", "warm"):
            fragments = _fragments(bank, fmt)
            _same(_export(bank, fmt, fragments), plain)
            assert (fragments.hits, fragments.misses) == ((0, count) if run == "cold" else (count, 0)), (fmt, run)
        if fmt == "moodle" and plain.data is not None:
            sliced = audit._moodle_sliced(plain.data)
            parsed = dict(audit._moodle_questions(plain.data))
            if sliced is not None:  # (None: a text holds a question tag, and the document is parsed)
                assert list(sliced) == list(parsed)
                assert all(entry.load().raw == parsed[ident] for ident, entry in sliced.items() if isinstance(entry, audit._Member))


@pytest.mark.parametrize("fmt", ["canvas", "moodle", "gift"])
@settings(max_examples=GENERATED, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=banks(min_items=6, max_items=10, every_type=True))
def test_generated_banks_questions_built_over_processes_are_the_same_export(tmp_path_factory: pytest.TempPathFactory, fmt: str, generated: GeneratedBank) -> None:
    """Canvas's, Moodle's or GIFT's questions built ahead over forked processes (blocks of 3): the
    one-process export, whatever the items' texts (code, math, images, links, cloze blanks, every type)."""
    root = write_bank(generated, tmp_path_factory.mktemp("bank"))
    checked = check_bank(root)
    assume(not any(p.severity == "error" for p in checked.problems))
    bank = checked.bank()
    with pytest.MonkeyPatch.context() as patch:
        try:
            plain = _export(bank, fmt, None)
        except ItembankError:  # the export refuses the bank (its audit): built over processes too
            _over_processes(patch, fmt, 3)
            with pytest.raises(ItembankError):
                _jobs(bank, fmt, 2)
            return
        _shares, here = _over_processes(patch, fmt, 3)
        _same(_jobs(bank, fmt, 2), plain)
        assert here["built"] == here["ahead"] > 0


def test_canvas_keeps_its_deflating_thread_unless_it_builds_questions_in_processes(monkeypatch: pytest.MonkeyPatch, all_types_bank: Bank) -> None:
    """The zip is deflated on a thread except when the questions are built over processes, and both
    are decided on the questions Canvas can hold (flashcards are skipped): a bank with as many
    items as the threshold but fewer such questions keeps its thread and builds in one process."""
    from itembank.exporters import canvas
    from itembank.exporters.kit import ahead

    shares, _here = _over_processes(monkeypatch, "canvas", 3)
    pools: list[object] = []
    members = canvas.Members

    def recording(zf: Any, pool: Any = None) -> Any:
        pools.append(pool)
        return members(zf, pool)

    monkeypatch.setattr(canvas, "Members", recording)
    questions = sum(1 for item in all_types_bank.items if item.type != "flashcard")
    assert questions < len(all_types_bank.items)
    for threshold, shared in ((len(all_types_bank.items), False), (questions, True)):
        monkeypatch.setattr(ahead, "PARALLEL_FROM", threshold)
        shares.clear()
        pools.clear()
        _same(_jobs(all_types_bank, "canvas", 2), _export(all_types_bank, "canvas", None))
        assert (pools[0] is None) == shared and bool(shares) == shared, (threshold, pools, shares)


@pytest.mark.parametrize("fmt", ["canvas", "moodle"])
def test_over_processes_names_the_first_question_it_cannot_write(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two questions whose text XML cannot hold (validation refuses it, IB216; a library caller may
    not validate): the error names the first of them in the quiz (Canvas) or the document
    (Moodle), as the export in one process does, though the second is in this process's share and
    the first in a child's."""
    import dataclasses

    from itembank.exporters.kit import ahead

    _over_processes(monkeypatch, fmt, 4)
    asked: list[tuple[int, int]] = []  # (questions, jobs) of each shared_out call, recorded before it raises
    sharing = ahead.shared_out

    def recording(work: Any, tasks: Any, jobs: int) -> Any:
        asked.append((len(tasks), jobs))
        return sharing(work, tasks, jobs)

    monkeypatch.setattr(ahead, "shared_out", recording)
    bank = load_bank(ALL_TYPES_BANK)
    mc = [i for i in bank.items if i.type == "multiple_choice"][0]
    items = tuple(dataclasses.replace(mc, id=f"q{k}", stem=f"bell \x07 {k}" if k in (1, 2) else mc.stem) for k in range(4))
    bank = dataclasses.replace(bank, items=items, by_id={})
    for jobs in (1, 2):
        with pytest.raises(ItembankError, match="item 'q1':"):
            _jobs(bank, fmt, jobs)
    assert asked == [(4, 2)]  # with 2 jobs, the block of four questions was shared out (1 job: not)
