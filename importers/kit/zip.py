"""Safe reading of zip packages (Canvas .zip/.imscc, QTI content packages).

Zip bombs are refused before anything is decompressed (the same guard as the review import:
:func:`itembank.ziplimits.check_zip_limits`); member names that escape the package (``../``,
absolute paths, drive letters, backslashes) are refused -- nothing is ever extracted to disk,
members are read into memory with a size cap.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from itembank.errors import ItembankError
from itembank.ziplimits import check_zip_limits

from ..base import BadInput

MAX_PACKAGE_BYTES = 2 * 1024 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024 * 1024
MAX_MEMBER_BYTES = 200 * 1024 * 1024


def _safe_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    if len(name) > 1 and name[1] == ":":
        return False
    norm = posixpath.normpath(name)
    return not (norm == ".." or norm.startswith("../"))


class SafeZip:
    """A zip package opened for reading with every member name checked.  Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise BadInput(self.label, f"cannot read: {exc.strerror or exc}") from None
        if size > MAX_PACKAGE_BYTES:
            raise BadInput(self.label, f"refused: {size:,} bytes is more than a question package can be")
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise BadInput(self.label, f"not a readable zip package: {exc}") from None
        try:
            check_zip_limits(self.zf, self.label, max_members=MAX_MEMBERS, max_total=MAX_UNCOMPRESSED_BYTES, part="member", kind="a question package")
        except ItembankError as exc:
            self.zf.close()
            raise BadInput(self.label, str(exc).removeprefix(self.label + ": ")) from None
        for info in self.zf.infolist():
            if not _safe_name(info.filename):
                self.zf.close()
                raise BadInput(self.label, f"refused: member name {info.filename!r} points outside the package (zip slip)")

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zf.close()

    def names(self) -> list[str]:
        """Member file names (folders left out), normalised POSIX paths."""
        return [posixpath.normpath(i.filename) for i in self.zf.infolist() if not i.is_dir()]

    def has(self, name: str) -> bool:
        return self._info(name) is not None

    def _info(self, name: str) -> zipfile.ZipInfo | None:
        want = posixpath.normpath(name)
        for info in self.zf.infolist():
            if posixpath.normpath(info.filename) == want:
                return info
        return None

    def read(self, name: str) -> bytes:
        """The member's bytes (``name`` relative to the package root, normalised); BadInput if missing or too large."""
        if not _safe_name(name):
            raise BadInput(f"{self.label}#{name}", "refused: path points outside the package")
        info = self._info(name)
        if info is None:
            raise BadInput(f"{self.label}#{name}", "missing from the package")
        if info.file_size > MAX_MEMBER_BYTES:
            raise BadInput(f"{self.label}#{name}", f"refused: {info.file_size:,} bytes (limit {MAX_MEMBER_BYTES:,})")
        try:
            with self.zf.open(info) as fh:
                data = fh.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise BadInput(f"{self.label}#{name}", f"cannot read member: {exc}") from None
        if len(data) > MAX_MEMBER_BYTES:  # the central directory lied about the size
            raise BadInput(f"{self.label}#{name}", "refused: member larger than declared (zip bomb?)")
        return data


def is_zip(path: Path) -> bool:
    try:
        return path.is_file() and zipfile.is_zipfile(path)
    except OSError:
        return False
