"""The deterministic zip of the exporter kit: zipfile's headers around zlib-ng's deflate streams, the
same bytes whether a member comes as data, deflated ahead (in a worker process of a shared-out
export) or streamed in writes of any size."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import itembank.exporters.kit.zip as kit
from itembank.errors import ItembankError
from itembank.exporters.kit.zip import CHUNK, LEVELS, ZIP_EPOCH, ZipStream, _zipfile_bytes, deflate, deflate_pieces, zip_bytes

names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\\"), min_size=1, max_size=40)
datas = st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode))
dates = st.sampled_from([ZIP_EPOCH, (2000, 1, 1, 0, 0, 0), (2026, 12, 1, 23, 59, 58)])


class _KitCompressor:
    """zipfile's compressor replaced by the kit's deflate (zlib-ng, in CHUNK pieces): zipfile then
    writes the reference zip, its headers its own."""

    def __init__(self, level: int) -> None:
        self.data = bytearray()
        self.level = level

    def compress(self, data: bytes) -> bytes:
        self.data += data
        return b""

    def flush(self) -> bytes:
        return deflate(bytes(self.data), self.level).stream


@contextmanager
def _zipfile_deflating_as_the_kit() -> Iterator[None]:
    original = zipfile._get_compressor  # type: ignore[attr-defined]

    def compressor(compress_type: int, level: int | None = None) -> object:
        return _KitCompressor(level if level is not None else 1) if compress_type == zipfile.ZIP_DEFLATED else original(compress_type, level)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(zipfile, "_get_compressor", compressor)
        yield


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(names, datas), max_size=8, unique_by=lambda e: e[0]), st.sampled_from(list(LEVELS)), dates, st.data())
def test_zip_bytes_are_zipfiles_bytes_with_members_deflated_ahead_or_not(entries, level, date, data) -> None:  # type: ignore[no-untyped-def]
    ahead = [data.draw(st.booleans()) for _ in entries]
    mixed = [(name, deflate(d, level) if pre else d) for (name, d), pre in zip(entries, ahead)]
    with _zipfile_deflating_as_the_kit():
        reference = _zipfile_bytes(entries, level=level, date=date)
    assert zip_bytes(mixed, level=level, date=date) == reference
    with zipfile.ZipFile(io.BytesIO(reference)) as zf:  # and it reads back (zlib inflates zlib-ng's stream)
        assert zf.testzip() is None and [zf.read(i) for i in zf.infolist()] == [d for _, d in entries]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(names, st.lists(st.integers(0, 3 * CHUNK), max_size=4)), max_size=4, unique_by=lambda e: e[0]),
       st.sampled_from(list(LEVELS)), dates, st.data())
def test_a_streamed_zip_is_the_same_bytes_whatever_the_writes(members, level, date, data) -> None:  # type: ignore[no-untyped-def]
    """The data is handed to the compressor in CHUNK pieces, however it is written: a member
    written in writes of any sizes (a Canvas quiz as lxml and the fragment cache write it, a
    workbook's rows) is the zip of the same data given at once, across CHUNK boundaries too."""
    contents = []
    buf = io.BytesIO()
    stream = ZipStream(buf, level=level, date=date)
    for name, sizes in members:
        writes = [bytes([n % 251]) * n if n % 2 else (b"<item>%d</item>" % n) * (n // 12) for n in sizes]
        contents.append((name, b"".join(writes)))
        with stream.open(name) as out:
            for w in writes:
                at = 0
                while at < len(w):  # and each write cut again, at random
                    k = data.draw(st.integers(1, max(1, len(w) - at)))
                    out.write(w[at : at + k])
                    at += k
    stream.close()
    assert buf.getvalue() == zip_bytes(contents, level=level, date=date)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.testzip() is None and [zf.read(i) for i in zf.infolist()] == [d for _, d in contents]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3 * CHUNK), max_size=6), st.sampled_from(list(LEVELS)), st.data())
def test_data_deflated_from_its_pieces_is_the_data_deflated_joined(sizes, level, data) -> None:  # type: ignore[no-untyped-def]
    """A member deflated from its pieces (a QTI manifest: its skeleton's head, every item's resource,
    its tail) is the same stream, size and CRC-32 as the pieces joined and deflated at once, however
    they are cut, across CHUNK boundaries too; the zip's member reads back as the joined data."""
    pieces = [bytes([n % 251]) * n if n % 2 else (b"<resource>%d</resource>" % n) * (n // 22) for n in sizes]
    if pieces and data.draw(st.booleans()):  # many small pieces, as a manifest's resources are
        cut = data.draw(st.lists(st.integers(1, 4000), min_size=1, max_size=50))
        whole, pieces, at = b"".join(pieces), [], 0
        for k in cut * (len(whole) // sum(cut) + 1):
            if at >= len(whole):
                break
            pieces.append(whole[at : at + k])
            at += k
    joined = b"".join(pieces)
    assert deflate_pieces(pieces, level) == deflate(joined, level)
    with zipfile.ZipFile(io.BytesIO(zip_bytes([("m.xml", deflate_pieces(iter(pieces), level))], level=level))) as zf:
        assert zf.read("m.xml") == joined


def test_more_members_than_a_plain_zip_holds_get_zipfiles_zip64_end_records() -> None:
    entries = [(f"items/i{n}.xml", b"<x/>" * (n % 5)) for n in range(70_000)]
    written = zip_bytes([(name, deflate(d, 1)) for name, d in entries], level=1)
    with _zipfile_deflating_as_the_kit():
        assert written == _zipfile_bytes(entries, level=1)
    with zipfile.ZipFile(io.BytesIO(written)) as zf:
        assert len(zf.infolist()) == 70_000
    streamed = io.BytesIO()
    stream = ZipStream(streamed, level=1)
    for name, d in entries:
        stream.write(name, d)
    stream.close()
    assert streamed.getvalue() == written


def test_deflate_levels_are_zlib_ngs() -> None:
    for level in (-1, 10, 11):
        with pytest.raises(ValueError, match="0-9"):
            deflate(b"x", level)
        with pytest.raises(ValueError, match="0-9"):
            ZipStream(io.BytesIO(), level=level)


def test_a_member_past_what_a_plain_zip_holds_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kit, "_LIMIT", 1000)  # (2 GB of data would take the test minutes)
    stream = ZipStream(io.BytesIO(), level=1)
    stream.write("small.xml", b"<x/>")
    with pytest.raises(ItembankError, match="'big.xml'.*2 GB"):
        stream.write("big.xml", bytes(range(256)) * 8)


# --- members deflated in chunks (kit.zip.Chunked) --------------------------------------------------

_ITEMS = st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"</i>", b"")), max_size=60)


class _Store:
    """A chunk store as the fragment cache is one: a dict by key."""

    def __init__(self) -> None:
        self.kept: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.kept.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.kept[key] = value


def _chunked_stream(items: list[bytes], level: int, store: _Store | None, writes: list[int]) -> tuple[bytes, kit.Chunked]:
    """The items (each ended by ``</i>``) written into a chunked member in writes of the given sizes."""
    data = b"".join(i + b"</i>" for i in items)
    chunked = kit.Chunked(b"</i>", store)
    buf = io.BytesIO()
    stream = ZipStream(buf, level=level)
    with stream.open("m.xml", chunked) as out:
        at, k = 0, 0
        while at < len(data):
            size = writes[k % len(writes)] if writes else len(data)
            out.write(data[at : at + size])
            at, k = at + size, k + 1
    stream.close()
    return buf.getvalue(), chunked


@settings(max_examples=150, deadline=None)
@given(_ITEMS, st.sampled_from(list(LEVELS)), st.lists(st.integers(1, 5000), max_size=5), st.lists(st.integers(1, 5000), max_size=5), st.integers(1, 64))
def test_a_chunked_member_is_the_same_bytes_whatever_the_writes_and_reads_back(items, level, writes, other, spread) -> None:  # type: ignore[no-untyped-def]
    """The cuts follow the content: the same items give the same zip whatever the writes, as a
    manifest deflated from its pieces does; the stream is plain deflate (zipfile reads it back)."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(kit, "SPREAD", spread)  # many cuts on little data
        m.setattr(kit, "CHUNK_MAX", 4096)  # and cuts without a marker
        first, _ = _chunked_stream(items, level, None, writes)
        assert first == _chunked_stream(items, level, None, other)[0]
        data = b"".join(i + b"</i>" for i in items)
        pieces = deflate_pieces([i + b"</i>" for i in items], level, kit.Chunked(b"</i>"))
        assert zip_bytes([("m.xml", pieces)], level=level) == first
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert zf.testzip() is None and zf.read("m.xml") == data


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=200).map(lambda b: b.replace(b"</i>", b"")), min_size=20, max_size=200), st.sampled_from(list(LEVELS)), st.data())
def test_a_chunk_kept_is_reused_and_an_edit_deflates_its_own_chunk_again(items, level, data) -> None:  # type: ignore[no-untyped-def]
    """Deflated again with the chunks kept: the same bytes, every chunk taken from the store; after
    one item is edited, only the chunks around it are deflated again, and the zip is the one a
    build without the store writes."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(kit, "SPREAD", 8)
        store = _Store()
        cold, made = _chunked_stream(items, level, store, [1000])
        chunks = made.deflated + made.reused
        # each distinct chunk deflated once: a chunk equal to one before it in the member is taken
        # from the store already (the store keeps chunks by their content)
        assert made.deflated == len(store.kept) > 0
        warm, again = _chunked_stream(items, level, store, [777])
        assert warm == cold and again.deflated == 0 and again.reused == chunks
        k = data.draw(st.integers(0, len(items) - 1))
        edited = items[:k] + [items[k] + b"edited"] + items[k + 1 :]
        after, redone = _chunked_stream(edited, level, store, [1000])
        assert after == _chunked_stream(edited, level, None, [1000])[0]
        assert redone.deflated <= 2 < chunks or chunks <= 2  # the edited item's chunk (and the next, when a cut moved)


def test_equal_chunks_in_one_member_are_deflated_once() -> None:
    """A chunk equal to one before it in the same member is taken from the store at once (found by
    the long hypothesis run: the property above asserted that a first build reuses nothing)."""
    items = [b" ", b"\x00", b"\x01\x010", b" "] + [b"\x00"] * 16  # the case it found
    with pytest.MonkeyPatch.context() as m:
        m.setattr(kit, "SPREAD", 8)
        store = _Store()
        cold, made = _chunked_stream(items, 0, store, [1000])
        assert made.reused >= 1 and made.deflated == len(store.kept) > 0
        assert cold == _chunked_stream(items, 0, None, [1000])[0]
        with zipfile.ZipFile(io.BytesIO(cold)) as zf:
            assert zf.read("m.xml") == b"".join(i + b"</i>" for i in items)


def test_a_damaged_chunk_kept_is_deflated_again() -> None:
    items = [b"item %d " % n * (n % 7 + 1) for n in range(400)]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(kit, "SPREAD", 8)
        store = _Store()
        clean, _ = _chunked_stream(items, 1, store, [500])
        for key, value in list(store.kept.items())[::2]:
            store.kept[key] = value[:-1] + bytes([value[-1] ^ 1])  # a byte of the stream
        again, redone = _chunked_stream(items, 1, store, [500])
        assert again == clean and redone.deflated == (len(store.kept) + 1) // 2 and redone.reused == len(store.kept) // 2


def test_a_damaged_or_foreign_chunk_key_is_not_the_chunks() -> None:
    """The key is the chunk's content, length and level: another chunk, level or length is another key."""
    a = kit.chunk_key(1, b"<i>a</i>")
    assert a != kit.chunk_key(3, b"<i>a</i>") and a != kit.chunk_key(1, b"<i>b</i>") and a != kit.chunk_key(1, b"<i>a</i>\0")
    assert len(a) == 16 and a == kit.chunk_key(1, bytearray(b"<i>a</i>"))
