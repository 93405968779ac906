"""Atomic writing of export results: readers see the old file (or folder) or the whole new one.

Where an output may go, and the folder swap, are ``itembank.output``'s job."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .direct_write import write_pieces
from .errors import ItembankError
from .formats import ExportResult


def umask() -> int:
    """The process's umask (reading it means setting it: put it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file_atomic(path: Path, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write bytes (or pieces of bytes, one after the other) so that readers see the old file or the
    whole new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.close(fd)  # written by name: a large file past the page cache (itembank.direct_write)
        write_pieces(tmp, (data,) if isinstance(data, bytes) else data, fsync=True)
        os.chmod(tmp, 0o666 & ~umask())  # what open() would give a new file: the umask is respected
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_result(result: ExportResult, path: Path, *, bank_root: Path | None = None, force: bool = False) -> None:
    """Write one export's output, replacing only what itembank owns (``itembank.output``).

    With ``bank_root``, an output inside the bank (or holding it) is refused.  ``force``: a one-file
    output replaces whatever file is at ``path`` (a folder output is never forced).
    """
    from .output import check_target, marked_zip, write_file_owned, write_tree_owned

    if result.files is not None:
        write_tree_owned(check_target(path, bank_root, folder=True), result.files)
    elif result.data is not None:
        # A zip carries itembank's mark as its comment (output.owned_file): a later export may replace it.
        write_file_owned(check_target(path, bank_root, folder=False, force=force), marked_zip(result.data))
    else:
        raise ItembankError("exporter produced no output")
