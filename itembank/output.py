"""Where an export may write, and writing it there without ever destroying what it does not own.

An export replaces only what it owns: a folder it created, or one holding nothing but its own
previous output; a file it wrote before (marked as its own: :func:`owned_file`), or an empty one.  Every folder itembank writes (a ``--unzipped`` package, the Markdown print folder,
``dist/`` of a build) carries a manifest, :data:`MANIFEST` (one path a line), listing the files it wrote; a folder is
owned when it is empty, or when its manifest lists every file in it (files in a sub-folder may
instead be listed by that sub-folder's own manifest).  Anything else is refused with a message
(:class:`OutputRefused`, a usage error: exit 2), as is any output inside the bank or holding it.

``build`` writes into a staging folder beside the output folder and swaps it in at the end, so a
failure part-way leaves the previous ``dist/`` exactly as it was.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import socket
import stat
import struct
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from .atomic import umask
from .direct_write import write_pieces
from .discard import discard
from .errors import OutputRefused
from .formats import MOODLE_XML_MARK, ZIP_MARK
from .sources import followed
from .stale_temps import TEMPFILE_CHARS, remove_stale_temps

#: Visible on purpose (a build leaves no hidden files), and not ``.json`` (exports are).
MANIFEST = "ITEMBANK-MANIFEST"
_HEADER = "# itembank output manifest: the files itembank wrote here, which it alone may replace"


def absolute(path: Path | str) -> Path:
    """The path made absolute without following links (``.`` becomes the working folder, with a name)."""
    return Path(os.path.abspath(path))


def real_target(path: Path) -> Path:
    """``path`` with every link on the way followed; a link loop on the way (``loop.json ->
    loop.json``, or a folder of the path) is refused (:class:`OutputRefused`): nothing could be written there."""
    real = followed(path)
    if real is not None:
        return real
    whole = absolute(path)
    loop = next((p for p in (*reversed(whole.parents), whole) if followed(p) is None), whole)
    where = "it is" if loop == whole else f"{loop} on its way is"
    raise OutputRefused(f"refusing to write {path}: {where} a link loop (following its links never reaches a file or folder)")


def check_target(path: Path, bank_root: Path | None, *, folder: bool, known: frozenset[str] = frozenset(), force: bool = False) -> Path:
    """Refuse an output path that lies in the bank or holds it; for a folder, one not owned; for a
    file, an existing one that is not itembank's (:func:`owned_file`), unless ``force``.

    Returns the absolute path to write to.
    """
    target = absolute(path)
    real = real_target(path)
    if bank_root is not None:
        bank = bank_root.resolve()
        if real == bank or real.is_relative_to(bank):
            raise OutputRefused(f"refusing to write {path}: it is inside the bank {bank_root} (the next validate would read it as items)")
        if bank.is_relative_to(real):
            raise OutputRefused(f"refusing to write {path}: the bank {bank_root} is inside it and would be replaced")
    if target.is_symlink():
        raise OutputRefused(f"refusing to write {path}: it is a symbolic link (give the real path)")
    for parent in target.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputRefused(f"cannot write {path}: {parent} is a file, not a folder")
            break
    if folder:
        if target.exists():
            if not target.is_dir():
                raise OutputRefused(f"refusing to write the folder {path}: a file of that name exists")
            stranger = first_unowned(target, known)
            if stranger is not None:
                raise OutputRefused(
                    f"refusing to replace {path}: it holds {stranger}, which itembank did not write "
                    f"(an export replaces only an empty folder or its own previous output; choose another -o or remove the folder)"
                )
    elif target.is_dir():
        raise OutputRefused(f"{path} is a folder; this format writes one file (give a file name)")
    elif not force and (target.exists() or target.is_symlink()) and not owned_file(target):
        raise OutputRefused(
            f"refusing to replace {path}: it is a file itembank did not write (an export replaces only its own "
            f"previous output: a file it marked as its own, or one listed in the {MANIFEST} of its folder); "
            f"choose another -o, or pass --force to replace it"
        )
    return target


#: How much of a file's start :func:`owned_file` reads for a text output's mark.
_HEAD = 4096
#: The marks of itembank's one-file text outputs, at their start: the Moodle XML comment, GIFT's first
#: line, the JSON export's format and generator.
_TEXT_MARKS = (
    re.compile(rb"<\?xml [^>]*\?>\n<quiz>\n  " + re.escape(MOODLE_XML_MARK)),
    re.compile(rb"// [^\n]*: Moodle GIFT export by itembank; "),
    re.compile(rb'\{\s*"format": "itembank-[a-z-]+",\s*"generator": "itembank[ "]'),
)


def owned_file(path: Path) -> bool:
    """Whether the file at ``path`` is itembank's own one-file output, which an export may replace:
    empty (nothing to lose), listed in the manifest of its folder (``dist/`` of a build), or carrying
    the mark its export wrote (:data:`itembank.formats.ZIP_MARK` as a zip's comment, a text output's
    first line).  A file edited in another program may lose its mark (a workbook saved by Excel or
    LibreOffice drops the zip comment): it is then the user's, and refused."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        if path.stat().st_size == 0:
            return True
        probe = path.parent
        for _ in range(4):  # the manifest write_file_owned records it in (dist/assessments/NAME-A/...)
            listed = _read_manifest(probe)
            if listed is not None:
                if path.relative_to(probe).as_posix() in listed:
                    return True
                break
            if probe.parent == probe:
                break
            probe = probe.parent
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
            if head.startswith(b"PK\x03\x04"):
                with zipfile.ZipFile(fh) as z:
                    return z.comment == ZIP_MARK
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return any(mark.match(head) for mark in _TEXT_MARKS)


def marked_zip(data: bytes) -> tuple[bytes | memoryview, ...]:
    """A zip's bytes with :data:`~itembank.formats.ZIP_MARK` as its archive comment (a zip that has a
    comment already, or is no zip, as it is), as pieces to write one after the other: the package
    (tens of megabytes for a large bank) is not copied to add its last bytes."""
    end = len(data) - 22  # the end of central directory record, when the zip has no comment
    if end < 0 or data[:4] != b"PK\x03\x04" or data[end:end + 4] != b"PK\x05\x06" or data[-2:] != b"\0\0":
        return (data,)
    return memoryview(data)[:-2], struct.pack("<H", len(ZIP_MARK)) + ZIP_MARK


def _read_manifest(folder: Path) -> set[str] | None:
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return None
    if not lines or lines[0] != _HEADER:
        return None
    return {line for line in lines[1:] if line}


def first_unowned(folder: Path, known: frozenset[str] = frozenset()) -> str | None:
    """The first entry of ``folder`` (relative path) that no manifest accounts for, or None if owned.

    ``known``: file names a build writes (``bank.json``, ``moodle.xml``...), owned by their name too at
    the top of the folder and in ``assessments/<form>/`` (one-file exports write there without a
    manifest of their own).
    """
    if not os.listdir(folder):
        return None
    return _unlisted(folder, folder, _read_manifest(folder) or set(), known)


def _known_place(rel: str, known: frozenset[str]) -> bool:
    parts = rel.split("/")
    return parts[-1] in known and (len(parts) == 1 or (len(parts) == 3 and parts[0] == "assessments"))


def _unlisted(top: Path, here: Path, listed: set[str], known: frozenset[str] = frozenset()) -> str | None:
    for name in sorted(os.listdir(here)):
        path = here / name
        rel = path.relative_to(top).as_posix()
        if rel == MANIFEST or rel in listed or (_known_place(rel, known) and path.is_file() and not path.is_symlink()):
            if path.is_symlink() or not path.is_file():
                return rel  # a listed name that is now a folder or a link: not what we wrote
            continue
        if path.is_dir() and not path.is_symlink():
            if (path / MANIFEST).is_file():  # a folder output with its own manifest
                inner = first_unowned(path)
                found = None if inner is None else f"{rel}/{inner}"
            else:
                found = _unlisted(top, path, listed, known)
            if found is not None:
                return found
            continue
        return rel
    return None


def manifest_bytes(files: list[str] | set[str]) -> bytes:
    """The manifest of a folder: the files written, sorted (the same files give the same bytes)."""
    return "\n".join([_HEADER, *sorted(set(files) - {MANIFEST}), ""]).encode("utf-8")


def listed_files(folder: Path) -> set[str]:
    """Every regular file under ``folder``, relative POSIX paths (the manifest itself excluded)."""
    out = set()
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            rel = (Path(dirpath) / name).relative_to(folder).as_posix()
            if rel != MANIFEST:
                out.add(rel)
    return out


def write_files(folder: Path, files: dict[str, bytes], previous: Path | None = None) -> None:
    """Write ``files`` (relative POSIX paths) into ``folder``, refusing paths that leave it.
    ``previous``: the folder's last build, whose files with the same bytes are linked, not written
    (:func:`place_file`)."""
    mode = 0o666 & ~umask()
    for rel in sorted(files):
        parts = Path(rel).parts
        if not rel or ".." in parts or Path(rel).is_absolute() or rel == MANIFEST:
            raise ValueError(f"exporter produced an unsafe path: {rel!r}")
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        place_file(target, (files[rel],), mode, previous / rel if previous is not None else None)


def place_file(target: Path, pieces: Sequence[bytes | memoryview], mode: int, previous: Path | None = None) -> bool:
    """Write ``pieces`` as the new file ``target`` with permissions ``mode``; or, when ``previous`` (the
    same output of the last build, about to be replaced by the build writing ``target``) is a
    regular file with those permissions and those very bytes, link it as ``target`` (a hard link:
    the build's swap then removes the old name only).  True when linked.

    A build after a one-item edit writes ~215 MB of outputs for 10,000 items, most of its HTML pages
    the same bytes as the last build's: comparing reads the old file (~0.065 s for the 41 MB of
    pages, not in the page cache: they were written past it), where writing them took ~0.12 s
    and removing the old copies in the swap ~0.04 s more.  The bytes are compared, not trusted from
    a name, a size or a date: an old file changed in place since is written anew.  Where a link
    cannot be made (a file system without hard links), the file is written."""
    if previous is not None and same_bytes(previous, pieces, mode):
        try:
            os.link(previous, target)
            return True
        except OSError:
            pass
    write_pieces(target, pieces)
    os.chmod(target, mode)
    return False


def link_or_copy(source: str, dest: str) -> None:
    """Into a build's staging folder, an output of the last build that this build does not write (a
    build of some formats keeps the others'): linked (the swap then removes its old name only;
    ~0.2 s for the 180 MB of the other formats of 10,000 items when copied), copied where a link
    cannot be made or may not (:func:`_linkable`).  ``shutil.copytree``'s ``copy_function``."""
    try:
        if _linkable(os.lstat(source)):
            os.link(source, dest)
            return
    except OSError:
        pass
    shutil.copy2(source, dest)


def _linkable(st: os.stat_result) -> bool:
    """Whether an old output with this ``lstat`` may become a new output's file: a regular file (not
    a link) with no other name (a file someone linked elsewhere, such as an upload folder, is not
    shared with the new output)."""
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1


#: How much of an old file :func:`same_bytes` reads at a time.
_COMPARE = 1 << 20


def same_bytes(path: Path, pieces: Sequence[bytes | memoryview], mode: int) -> bool:
    """Whether ``path`` may be linked (:func:`_linkable`), has permissions ``mode`` and holds the bytes
    of ``pieces`` one after the other (read up to the first difference)."""
    views = [memoryview(p).cast("B") for p in pieces]
    try:
        st = os.lstat(path)
        if not _linkable(st) or stat.S_IMODE(st.st_mode) != mode or st.st_size != sum(len(v) for v in views):
            return False
        buffer = bytearray(_COMPARE)
        with open(path, "rb", buffering=0) as old:
            for view in views:
                at = 0
                while at < len(view):
                    want = min(_COMPARE, len(view) - at)
                    got = old.readinto(memoryview(buffer)[:want])
                    if not got or buffer[:got] != view[at : at + got]:
                        return False
                    at += got
            return not old.read(1)  # (grown since the lstat: not the same)
    except OSError:
        return False


def swap_in(staging: Path, target: Path) -> None:
    """Put the finished ``staging`` folder where ``target`` is (already checked as owned); the
    previous one, and what earlier builds left of theirs (:func:`leftovers`), are removed."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=_old_prefix(target), dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    for folder in ([old] if old is not None else []) + leftovers(target):
        discard(folder)  # (by the console script: in the background)


def _old_prefix(target: Path) -> str:
    """How :func:`swap_in` names the folder it moves ``target`` to (then ``tempfile``'s 8 characters)."""
    return f".{target.name}.old-"


#: A folder moved aside this many seconds ago or more (its change time: the move sets it) is no other
#: build's, whose own removal of it starts at once: a leftover (:func:`leftovers`).  A staging folder
#: whose build has ended is left this long too (the workers of a build killed meanwhile may still be
#: writing their last export into it).
LEFTOVER_AGE = 15 * 60


def leftovers(target: Path) -> list[Path]:
    """What earlier builds into ``target`` left beside it, to remove (each ~210 MB for 10,000 items),
    all of this user's, folders (not links) untouched for at least :data:`LEFTOVER_AGE`:

    - the folders builds moved ``target`` to and did not remove (the background removal cut short: the
      machine stopped; a build killed right after its swap): named as :func:`swap_in` names them,
      holding only what itembank wrote (:func:`first_unowned`: what lets a build replace ``target``
      itself);
    - the staging folders of builds killed before their swap (the machine stopped, ``kill -9``):
      named as :func:`staging_dir` names them on this machine, by a process that is no longer
      running (:func:`_ended`).  Its content cannot prove it ours (a build cut short wrote part of
      it, with no manifest yet): its name does.

    Anything else of those names is left alone (another machine's staging folder, on a shared
    disk; a staging folder named before its name said whose it was)."""
    old, staging = _old_prefix(target), _staging_prefix(target)
    now = time.time()
    found: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return found
    for entry in entries:
        name = entry.name
        if name.startswith(old):
            if not _TEMP_NAME.fullmatch(name[len(old) :]):
                continue
            replaced = True  # (a replaced output: ours only if it holds what itembank wrote)
        elif name.startswith(staging):
            made = _STAGING_NAME.fullmatch(name[len(staging) :])
            if made is None or made.group(1) != _host_tag() or not _ended(int(made.group(2)), int(made.group(3))):
                continue
            replaced = False  # (its name proves it ours; its content cannot)
        else:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode) or now - st.st_ctime < LEFTOVER_AGE or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
                continue
            if not replaced or first_unowned(Path(entry.path)) is None:
                found.append(Path(entry.path))
        except OSError:  # (gone meanwhile, or unreadable: not ours to remove)
            continue
    return sorted(found)


#: The 8 characters ``tempfile`` ends a folder's name with.
_TEMP_NAME = re.compile(TEMPFILE_CHARS)

#: The rest of a staging folder's name (:func:`staging_dir`): the machine, the process and when it started.
_STAGING_NAME = re.compile(rf"([0-9a-f]{{8}})-([0-9]{{1,10}})-([0-9]{{1,20}})-{TEMPFILE_CHARS}")


def _staging_prefix(target: Path) -> str:
    """How :func:`staging_dir` names a staging folder of ``target`` (then whose it is, and ``tempfile``'s 8 characters)."""
    return f".{target.name}.staging-"


@functools.cache
def _host_tag() -> str:
    """This machine, as a staging folder's name tells it: a hash of its name and (Linux) of its
    processes' numbering (a container's own), so that a folder another machine or container made on
    a shared disk is never judged by this one's processes."""
    try:
        numbering = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        numbering = ""
    return hashlib.blake2b(f"{socket.gethostname()}\0{numbering}".encode("utf-8", "surrogateescape"), digest_size=4).hexdigest()


def _started(pid: int) -> int:
    """When process ``pid`` started (Linux: clock ticks after boot, ``/proc/PID/stat``); 0 where that
    cannot be read, -1 when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()  # (the command's name, in brackets, may hold spaces)
        return int(fields[19])  # field 22 of the line: the start time
    except FileNotFoundError:
        return -1 if os.path.isdir("/proc/self") else 0
    except (OSError, IndexError, ValueError):
        return 0


def _ended(pid: int, started: int) -> bool:
    """Whether the process that made a staging folder (``pid``, started at ``started``: :func:`_started`)
    has ended: no such process, or another one under its number (started at another time)."""
    if pid == os.getpid():
        return False
    now = _started(pid)
    if now == -1:
        return True
    if now > 0 and started > 0:
        return now != started
    try:
        os.kill(pid, 0)  # (no /proc: is there a process of that number at all)
    except (ProcessLookupError, OverflowError):  # (no such process; a number no process can have)
        return True
    except OSError:  # (one of another user's: running)
        return False
    return False


def staging_dir(target: Path) -> Path:
    """A new staging folder beside ``target``, named after this machine and process (the next build
    removes it if this one is killed before its swap: :func:`leftovers`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    prefix = f"{_staging_prefix(target)}{_host_tag()}-{pid}-{max(_started(pid), 0)}-"
    if len(os.fsencode(prefix)) + 8 > _NAME_MAX:  # (an output folder of a very long name: named as before, never removed)
        prefix = _staging_prefix(target)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))


#: The longest file name most file systems take (bytes).
_NAME_MAX = 255


def write_file_owned(target: Path, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write a one-file output (atomically) and record it in the nearest enclosing manifest (``dist/``
    of a build), so that the folder stays owned."""
    from .atomic import write_file_atomic

    remove_stale_temps(target.parent, target.name)  # (what an export killed while writing it left)
    write_file_atomic(target, data)
    # The nearest folder (up to a few levels: dist/assessments/NAME-A/) whose manifest should list it.
    probe = target.parent
    for _ in range(4):
        listed = _read_manifest(probe)
        if listed is not None:
            rel = target.relative_to(probe).as_posix()
            if rel not in listed:
                write_file_atomic(probe / MANIFEST, manifest_bytes(listed | {rel}))
            return
        if probe.parent == probe:
            return
        probe = probe.parent


def write_tree_owned(target: Path, files: dict[str, bytes]) -> None:
    """Write a folder output (with its manifest) to ``target``, already checked by :func:`check_target`."""
    staging = staging_dir(target)
    try:
        write_files(staging, files)
        (staging / MANIFEST).write_bytes(manifest_bytes(set(files)))
        os.chmod(staging, 0o777 & ~umask())  # mkdtemp made it 0700: an ordinary folder follows the umask
        swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
