"""Atomic writing of export results: readers see the old file (or folder) or the whole new one."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import ItembankError
from .formats import ExportResult


def write_file_atomic(path: Path, data: bytes) -> None:
    """Write bytes so that readers see the old file or the whole new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree_atomic(path: Path, files: dict[str, bytes]) -> None:
    """Write a folder's files into a fresh sibling folder, then swap it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for rel in sorted(files):
            target = tmp / rel
            if ".." in Path(rel).parts or Path(rel).is_absolute():
                raise ValueError(f"exporter produced an unsafe path: {rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[rel])
        old = None
        if path.exists():
            if not path.is_dir():
                raise ItembankError(f"{path} exists and is not a folder")
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_result(result: ExportResult, path: Path) -> None:
    if result.files is not None:
        write_tree_atomic(path, result.files)
    elif result.data is not None:
        if path.is_dir():
            raise ItembankError(f"{path} is a folder; this format writes one file")
        write_file_atomic(path, result.data)
    else:
        raise ItembankError("exporter produced no output")
