"""The deterministic zip of the exporter kit writes zipfile's bytes, whether a member comes as data
or deflated ahead (in a worker process of a shared-out export)."""

from __future__ import annotations

import io
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.exporters.kit.zip import ZIP_EPOCH, _zipfile_bytes, deflate, zip_bytes

names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\\"), min_size=1, max_size=40)
datas = st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(names, datas), max_size=8, unique_by=lambda e: e[0]), st.sampled_from([1, 6, 9]),
       st.sampled_from([ZIP_EPOCH, (2000, 1, 1, 0, 0, 0), (2026, 12, 1, 23, 59, 58)]), st.data())
def test_zip_bytes_are_zipfiles_bytes_with_members_deflated_ahead_or_not(entries, level, date, data) -> None:  # type: ignore[no-untyped-def]
    ahead = [data.draw(st.booleans()) for _ in entries]
    mixed = [(name, deflate(d, level) if pre else d) for (name, d), pre in zip(entries, ahead)]
    reference = _zipfile_bytes(entries, level=level, date=date)
    assert zip_bytes(mixed, level=level, date=date) == reference
    with zipfile.ZipFile(io.BytesIO(reference)) as zf:  # and it reads back
        assert zf.testzip() is None and [zf.read(i) for i in zf.infolist()] == [d for _, d in entries]


def test_more_members_than_a_plain_zip_holds_get_zipfiles_zip64_end_records() -> None:
    entries = [(f"items/i{n}.xml", b"<x/>" * (n % 5)) for n in range(70_000)]
    written = zip_bytes([(name, deflate(d, 6)) for name, d in entries], level=6)
    assert written == _zipfile_bytes(entries, level=6)
    with zipfile.ZipFile(io.BytesIO(written)) as zf:
        assert len(zf.infolist()) == 70_000
