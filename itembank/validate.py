"""Load + validate: files → plain data → schema → rules → typed model, every problem collected.

Nothing here raises for bad input: each problem becomes a :class:`Problem` with file, line, column,
item id, path and rule code, and the run goes on so that one pass reports everything.
"""

from __future__ import annotations

import marshal
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .assessments import Selection, assessment_dir, assessment_files, check_assessments
from .cache import CheckCache, CheckedElsewhere, FileCheck, LoggingRuleContext, data_key, disabled_by_env, file_key, raws_json
from .config import CONFIG_NAME, find_bank, load_config
from .errors import UsageError
from .forked import Child, can_fork
from .fragments import remember_digest
from .gcpause import gc_paused
from .model import AnyItem, Bank, BankConfig, SourceRef
from .normalize import to_model
from .positions import PositionIndex, text_lines
from .problems import RULES, Problem, json_path, problem
from .rules import RuleContext, check_item
from .schema import YAML_READ_MARK, ItemSchema, item_schema
from .sources import Document, followed, read_bytes, read_document
from .yaml_traps import find_traps, may_hold_traps

ITEM_SUFFIXES = (".yaml", ".yml", ".json")
#: Folders of a bank that hold other things than items.
SKIP_DIRS = {"media", "assessments", "node_modules", "__pycache__"}


@dataclass
class CheckResult:
    """The outcome of checking a bank (or some of its files)."""

    root: Path
    config: BankConfig
    items: list[AnyItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    assessments: dict[str, Selection] = field(default_factory=dict)  # whole-bank checks: the valid blueprints, resolved

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def ok(self, *, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)

    def bank(self) -> Bank:
        """The loaded bank; only meaningful when there are no errors."""
        return Bank(root=self.root, config=self.config, items=tuple(self.items), assessments=dict(self.assessments))


def display_path(path: Path, cwd: str | None = None) -> str:
    """A path as the user should see it: relative to the working directory (``cwd``: as
    ``os.getcwd()`` gave it, for a caller that shows many paths at once) when inside it."""
    text = str(path)
    if cwd is None:
        cwd = os.getcwd()
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    if os.path.isabs(text):
        # A plain prefix test: os.path.relpath costs more than reading the file on large banks.
        return text[len(prefix):] if text.startswith(prefix) else text
    return text


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a file name whose bytes are not UTF-8 (held as lone surrogates)
        return False


def _shown(path: Path) -> str:
    """A problem's file for a path whose name may not be valid UTF-8: its bytes kept (as lone
    surrogates), so a report can name the file exactly (SARIF's uri); the reporters show them as
    ``\\xNN`` (:func:`itembank.problems.shown_file`)."""
    return display_path(path)


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


#: IB006 for a file whose links never end (``self.yaml -> self.yaml``): refused like a link out of the bank.
LINK_LOOP = "file is a link loop (following its links never reaches a file): refused"


def discover(root: Path, refused: list[Problem] | None = None, bank: Path | None = None) -> list[Path]:
    """Item files of a bank folder, sorted so that every run sees the same order.

    Names starting with ``.`` are left out (hidden drafts, ``.git``), and so are the folders of
    :data:`SKIP_DIRS` at the top.  A folder that is a link is walked like the folder it leads to
    when that lies inside the bank (its files named under the link, as a linked file is), and is
    refused (IB006) when it leads out of the bank or back to a folder it is in; a folder that cannot
    be read is IB005.  Those problems go to ``refused`` (when given): nothing is left out silently.
    ``bank``: the bank's folder, when ``root`` is a folder inside it (default: ``root``).
    """
    bank = root if bank is None or not _inside(root, bank) else bank
    found: list[Path] = []
    problems = refused if refused is not None else []

    def walk(folder: Path, real: Path) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            problems.append(problem(_shown(folder), "IB005", f"cannot read folder: {exc.strerror or exc}: the items in it are not checked"))
            return
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_link = is_dir = False
            here = folder / name
            if is_dir:
                if not (folder == root and name in SKIP_DIRS):
                    walk(here, real / name)
                continue
            if is_link:
                target = followed(here)
                if target is not None and target.is_dir():
                    if folder == root and name in SKIP_DIRS:
                        continue
                    if not _inside(target, bank):
                        if (example := _item_file_in(target)) is not None:  # a folder of images only is the image checks' business (IB212)
                            problems.append(problem(_shown(here), "IB006", f"folder is a link to a folder outside the bank, holding item files ({example}): refused, they are not checked"))
                    elif _inside(real, target):
                        problems.append(problem(_shown(here), "IB006", "folder is a link loop (it leads back to a folder it is in): refused"))
                    elif not _skipped(target, bank):
                        walk(here, target)
                    continue
            if not name.lower().endswith(ITEM_SUFFIXES) or (folder == root and name == CONFIG_NAME):
                continue
            found.append(here)

    walk(root, root)
    start = len(str(root)) + 1
    return sorted(found, key=lambda p: str(p)[start:].replace(os.sep, "/"))


#: How many folders :func:`_item_file_in` lists before it stops looking (and answers as if it found one).
_LOOK_FOLDERS = 2000


def _item_file_in(folder: Path) -> str | None:
    """The first item file name (``.yaml``, ``.yml``, ``.json``, not hidden) under ``folder`` and
    its subfolders, links not followed; ``"…"`` if there are too many folders to look through."""
    pending = [folder]
    looked = 0
    while pending:
        looked += 1
        if looked > _LOOK_FOLDERS:
            return "…"
        try:
            with os.scandir(pending.pop()) as listing:
                for entry in listing:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif entry.name.lower().endswith(ITEM_SUFFIXES):
                        return entry.name
        except OSError:
            return "…"  # cannot be read: cannot be told free of items
    return None


def _skipped(real: Path, root: Path) -> bool:
    """Whether a folder inside the bank is one the walk leaves out (hidden, or media/, assessments/...)."""
    parts = real.relative_to(root).parts
    return any(part.startswith(".") for part in parts) or (bool(parts) and parts[0] in SKIP_DIRS)


def _split_items(doc: Document) -> tuple[list[tuple[int | None, Any]], Problem | None]:
    data = doc.data
    if isinstance(data, dict) and "items" in data and set(data) == {"items"}:
        if not isinstance(data["items"], list) or not data["items"]:
            return [], problem(doc.rel, "IB013", "`items:` must be a non-empty list of items")
        return list(enumerate(data["items"])), None
    if isinstance(data, dict):
        return [(None, data)], None
    documents, second = _documents(doc.text) if isinstance(data, list) and doc.text is not None and not doc.rel.lower().endswith(".json") else (1, None)
    if documents > 1:  # YAML reads a file of several documents as the list of them
        return [], problem(doc.rel, "IB013", f"file holds {documents} YAML documents (separated by `---`): a file holds one item, or a list of items under `items:`", line=second)
    got = "a list" if isinstance(data, list) else "nothing" if data is None else "a single value"
    hint = " (put a list under `items:`)" if isinstance(data, list) else ""
    return [], problem(doc.rel, "IB013", f"file holds {got}, not an item mapping or `items:` list{hint}")


#: A line that starts a YAML document (``---`` at the start of a line, alone or before content).
_DOCUMENT_START = re.compile(r"---(?:[ \t]|$)")


def _documents(text: str) -> tuple[int, int | None]:
    """How many YAML documents a text holds, and the line where the second starts: one, plus one for
    each ``---`` after some content (a ``---`` at the top, before any content but comments and
    directives, starts the first)."""
    count, content, second = 1, False, None
    for n, line in enumerate(text_lines(text), 1):
        if _DOCUMENT_START.match(line):
            if content:
                count += 1
                second = second or n
            content = False
            continue
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "%")):
            content = True
    return count, second


def bank_of_paths(paths: Sequence[Path], bank: Path, *, bank_given: bool) -> tuple[Path, bool]:
    """Where the files and folders ``paths`` are checked (``itembank validate PATH...``): the bank
    folder to check them in and whether they are checked as part of it (:func:`check_paths`'s
    ``root`` and ``within_bank``).

    With ``--bank`` (``bank_given``): as part of that bank, wherever they lie (a new file checked
    against the bank before it is added: its ids, the bank's settings); a :class:`UsageError` when
    the folder does not exist.  Without it: as part of the default bank when they lie in it; else as
    part of the bank they lie in (the nearest folder upwards with an ``itembank.yaml``), or on their
    own when they lie in none -- not as part of a bank they are not in, whose ids they would be
    found to reuse; a :class:`UsageError` for paths of different banks (one bank at a time)."""
    if bank_given:
        if not bank.is_dir():
            raise UsageError(f"bank folder '{bank}' does not exist")
        return bank, True
    default = followed(bank) if bank.is_dir() else None

    def bank_of(path: Path) -> Path | None:
        real = followed(path)  # (None for a link loop: check_paths reports it, IB006)
        if default is not None and real is not None and _inside(real, default):
            return default
        return find_bank(path if path.is_dir() else path.parent)

    banks = {bank_of(path) for path in paths}
    if len(banks) > 1:
        named = sorted(display_path(found) if found is not None else "(no bank)" for found in banks)
        raise UsageError(f"the paths lie in different banks ({', '.join(named)}): check one bank at a time")
    (found,) = banks
    if found is not None:
        return (bank if found == default else Path(display_path(found))), True
    return (paths[0] if paths[0].is_dir() else paths[0].parent), False


def check_paths(
    paths: Sequence[Path],
    *,
    root: Path,
    progress: Callable[[int, int], None] | None = None,
    allow_empty: bool = False,
    cache: bool = False,
    within_bank: bool = False,
    jobs: int | None = 1,
) -> CheckResult:
    """Check the given files/folders as one bank rooted at ``root`` (ids must be unique across all).

    Finding no item file at all is an error (IB016) unless ``allow_empty``: a mistyped ``--bank``
    must not pass as a valid, empty bank.

    ``within_bank``: the given files are checked as part of the whole bank at ``root``: the rules
    across files (duplicate ids, image names differing in case, blueprints) see every file of the
    bank; reported are the given files' findings, and a duplicate id one of them takes part in.
    ``cache``: reuse the per-file results of earlier runs (``itembank.cache``); the findings are
    the same with or without it.  ``jobs``: ``None`` lets a forked child check the last files of a
    large bank when there is a second core (the CLI's choice; the findings are the same); the
    library's default, 1, checks in this process only.
    """
    # No cyclic garbage collection while loading (itembank.gcpause): validate, lint and every export
    # load through here.
    with gc_paused():
        return _check_paths(paths, root=root, progress=progress, allow_empty=allow_empty, cache=cache, within_bank=within_bank, jobs=jobs)


def _check_paths(
    paths: Sequence[Path],
    *,
    root: Path,
    progress: Callable[[int, int], None] | None,
    allow_empty: bool,
    cache: bool,
    within_bank: bool,
    jobs: int | None,
) -> CheckResult:
    root = root.resolve()
    cwd = os.getcwd()  # once: a system call per file was 5 % of loading a bank from the check cache
    config, config_problems = load_config(root, display_path(root / CONFIG_NAME, cwd))
    result = CheckResult(root=root, config=config, problems=list(config_problems))
    files: list[Path] = []
    refused: list[Problem] = []
    settings_given = False
    for p in paths:
        given = Path(os.path.abspath(p))
        real = followed(p)
        if real is None:
            refused.append(problem(_shown(given), "IB006", LINK_LOOP))
            continue
        p = real
        if p.is_dir():
            files.extend(discover(p, refused, root))
        elif p != given and _inside(given, root) and not _inside(p, root):
            refused.append(problem(_shown(given), "IB006", "file is a link to a file outside the bank: refused"))
        elif within_bank and (folder := followed(given.parent)) is not None and _inside(walked := folder / given.name, root):
            if walked == root / CONFIG_NAME:  # the settings are checked as settings (always), not as an item
                settings_given = True
            else:
                files.append(walked)  # named as the bank's walk names it (a link stays a link)
        else:
            files.append(p)
    files = list(dict.fromkeys(files))
    # Blueprints in <bank>/assessments/ are checked against the items once these are loaded.
    # (paths are resolved above, so comparing the parent folder is enough; no per-file resolve()).
    # The parent folder by its text, in one pass: Path.parent makes a path object per file, twice
    # (~4 % of loading 10,000 files from the check cache).
    blueprint_dir = str(assessment_dir(root))
    blueprints: list[Path] = []
    items_files: list[Path] = []
    for f in files:
        (blueprints if os.path.dirname(f) == blueprint_dir else items_files).append(f)
    files = items_files
    result.files = len(files)
    result.problems.extend(refused)
    if not files and not blueprints and not refused and not settings_given and not allow_empty:
        result.problems.append(
            problem(_shown(root), "IB016", "no items found: no .yaml, .yml or .json item files under this folder (is --bank right?)")
        )
    whole = any(followed(p) == root for p in paths)
    mine: set[Path] | None = None  # the files whose findings are reported (None: all that are checked)
    if within_bank and not whole:
        mine = set(files)
        bank_files = discover(root)
        known = set(bank_files)
        files = bank_files + [f for f in files if f not in known]
    store = CheckCache(root, config) if cache and not disabled_by_env() else None
    ctx = store.ctx if store is not None else RuleContext(root, config)
    schema = item_schema()
    root_prefix = str(root) if str(root).endswith(os.sep) else str(root) + os.sep
    first_seen: dict[str, tuple[str, Path]] = {}
    dup_pending: list[tuple[str, FileCheck, int | None, str, str]] = []
    bank_items: list[AnyItem] = []  # every file's items, for the blueprints (within_bank only)
    items_of_all = mine is None or bool(blueprints)
    # Without the cache, or with an empty one (every file is checked: a first run, new code or
    # settings, a fresh clone in CI), the last files of a large bank are checked meanwhile by a forked
    # child (_Share); with the cache, the child also works out what the cache keeps of each file.
    forking = jobs != 1 and (store is None or store.empty()) and can_fork()
    sizes = _sizes(files) if forking and len(files) < PARALLEL_MIN_FILES else None
    forking = forking and (len(files) >= PARALLEL_MIN_FILES or sizes is not None)
    share = _Share(files, root, config, schema, keyed=store is not None, sizes=sizes) if forking else None
    for n, path in enumerate(files, 1):
        if progress is not None:
            progress(n, len(files))
        reported = mine is None or path in mine
        rel = display_path(path, cwd)
        if not _utf8(rel):
            if reported:
                result.problems.append(problem(_shown(path), "IB004", "file name is not valid UTF-8: rename the file"))
            continue
        try:
            # One lstat tells a link apart and, for a file that is no link, is the stat the cache keys on.
            own: os.stat_result | None = os.lstat(path)
        except OSError:
            own = None  # (os.path.islink's answer: not a link; reading it says what is wrong)
        if own is not None and stat.S_ISLNK(own.st_mode):
            real = followed(path)
            if real is None or not _inside(real, root):
                if reported:
                    message = LINK_LOOP if real is None else "file is a link to a file outside the bank: refused"
                    result.problems.append(problem(rel, "IB006", message))
                continue
            own = None  # a link inside the bank: the cache stats what it points to
        need = reported or items_of_all
        if store is not None:
            done = share.take(n - 1, path, rel, ctx) if share is not None and n > share.cut else None
            checked = store.check(path, rel, need, lambda doc: check_document(doc, ctx, schema), own, done)
        elif share is not None and n > share.cut:
            checked = share.check(n - 1, path, rel, ctx, schema)
        else:
            checked = check_document(read_document(path, rel), ctx, schema)
        if reported:
            result.problems.extend(checked.problems)
        for index, item_id in checked.ids:
            if item_id in first_seen:
                where, first_path = first_seen[item_id]
                if reported or (mine is not None and first_path in mine):
                    dup_pending.append((rel, checked, index, item_id, where))
            else:
                first_seen[item_id] = (rel, path)
        if need and checked.raws is not None:
            # path.relative_to(root) by string (pathlib's parsing was 2 % of validating a large bank)
            text = str(path)
            bank_rel = text[len(root_prefix) :].replace(os.sep, "/") if text.startswith(root_prefix) else rel
            # A model is its data read at its place in its file: the fragment cache's digest.  For a
            # file of one item, its data is the file's bytes (hashed already, the cache's key); for a
            # file of several, each item's own data, so that editing one leaves the others' digests
            # (and their pieces of every export) as they were.
            sources = None
            if checked.key is not None:
                if len(checked.raws) == 1:
                    sources = [f"{checked.key} {bank_rel} {index}" for index in checked.loaded]
                else:
                    sources = [f"data {data_key(raw)} {bank_rel} {index}" for index, raw in zip(checked.loaded, checked.raws)]
            models = [to_model(raw, SourceRef(path=bank_rel, line=1, index=index)) for index, raw in zip(checked.loaded, checked.raws)]
            if sources is not None:
                for model, source in zip(models, sources):
                    remember_digest(model, source)
            if reported:
                result.items.extend(models)
            if mine is not None:
                bank_items.extend(models)
    if share is not None:
        share.close()
    for rel, checked, index, item_id, where in dup_pending:
        pos = PositionIndex(checked.source_text())
        line, col = pos.locate(_prefix(index) + ("id",))
        alias = pos.alias(_prefix(index)) if index is not None else None
        also = ""
        if alias is not None:  # `- *base` repeats an item: the anchored item's id is not where the alias is
            line, col, anchor = alias
            also = f" (the alias `*{anchor}` repeats the item anchored as `&{anchor}`: write each item out with its own id)"
        result.problems.append(problem(rel, "IB201", f"id '{item_id}' is already used in {where}{also}", line=line, column=col, item_id=item_id, path="id"))
    result.items = _unique(result.items)
    if store is not None:
        store.save(whole_bank=whole or mine is not None, raws_of_whole_bank=whole or (mine is not None and items_of_all), given_files=mine is not None)
    _check_blueprints(result, whole, blueprints, root, _unique(bank_items) if mine is not None else None, cache)
    result.problems.sort(key=lambda p: (p.file, p.line, p.column, p.code))
    return result


#: Banks with fewer item files are checked in one process (a fork would cost more than it saves),
#: unless their files hold at least :data:`PARALLEL_MIN_BYTES` (a bank kept as files of many items).
PARALLEL_MIN_FILES = 2000
#: The bytes of item files from which fewer than :data:`PARALLEL_MIN_FILES` are checked by two
#: processes too (2,000 files of an item: ~6 MB): the 10,000 generated items 1,000 to a file, 30 MB
#: in 12 files, took 1.6 s to validate without the cache, 1.1 s an item a file.
PARALLEL_MIN_BYTES = 6 << 20


def _sizes(files: list[Path]) -> list[int] | None:
    """The files' sizes, when they hold enough to share their checking (:data:`PARALLEL_MIN_BYTES`
    over two files at least); else None."""
    if len(files) < 2:
        return None
    sizes = []
    for path in files:
        try:
            sizes.append(os.stat(path).st_size)
        except OSError:
            sizes.append(0)
    return sizes if sum(sizes) >= PARALLEL_MIN_BYTES else None


class _Share:
    """The files from ``cut`` on, checked by a forked child while this process checks the first ones.

    Checking a file is a pure function of its bytes and the bank settings, except for the image
    checks its rules make (does the file exist? is it the first spelling of that name in the bank?),
    whose answers depend on the files before it: as with the check cache, the child writes down
    each file's image checks, this process replays them in the bank's order and checks again itself
    any file whose answers differ (or that the child did not check).  So the findings are the same
    as one process's.  The child sends its findings as rows and the entries' data as ``marshal``
    (plain JSON data: several times faster than pickling), :data:`SHARE_FRAME` files at a time, so
    that this process builds the models of the first ones while the child checks the next.
    """

    def __init__(self, files: list[Path], root: Path, config: BankConfig, schema: ItemSchema, keyed: bool = False, sizes: list[int] | None = None) -> None:
        """``sizes``: the files' sizes, for a share of few large files (cut by bytes, not by files)."""
        self.cut = share_cut(len(files)) if sizes is None else share_cut_by_size(sizes)
        self._results: dict[int, Any] = {}
        self._upto = self.cut  # the child's results are in for the files before this one
        self._child = Child.streaming(lambda send: _check_share(files, self.cut, root, config, schema, send, keyed))
        self._frames: Iterator[bytes] | None = self._child.frames()

    def check(self, n: int, path: Path, rel: str, ctx: RuleContext, schema: ItemSchema) -> FileCheck:
        """File ``n``'s check: the child's when its image answers hold here, else done now."""
        done = self.take(n, path, rel, ctx)
        return done.check if done is not None else check_document(read_document(path, rel), ctx, schema)

    def take(self, n: int, path: Path, rel: str, ctx: RuleContext) -> CheckedElsewhere | None:
        """File ``n``'s check by the child, when the child checked it and its image answers hold here
        (None: check it here).  Without ``keyed``, its key, size and JSON text are left empty."""
        self._wait_for(n)
        found = self._results.pop(n, None)
        if found is None:
            return None
        rows, ids, loaded, raws, images, key, size, text = found
        if not all(ctx.image_status(ref) == status and ctx.case_twin(ref) == twin for ref, status, twin in images):
            return None
        checked = FileCheck(
            problems=[Problem(rel, *row) for row in rows],
            ids=[(index, item_id) for index, item_id in ids],
            loaded=loaded,
            raws=raws,
            path=path,
        )
        return CheckedElsewhere(key=key, size=size, check=checked, images=[(ref, status) for ref, status, _twin in images], raws_json=text)

    def _wait_for(self, n: int) -> None:
        """Read the child's frames up to the one that holds file ``n`` (or to its end)."""
        while n >= self._upto and self._frames is not None:
            frame = next(self._frames, None)
            try:
                self._upto, found = marshal.loads(frame) if frame is not None else (self._upto, None)
            except (ValueError, EOFError, TypeError):
                found = None
            if found is None:
                self.close()  # no more from the child: this process checks the rest
            else:
                self._results.update(found)

    def close(self) -> None:
        self._frames = None
        self._child.close()


#: Files (or items, in files of several) per frame the checking child sends (~0.7 MB of item data).
SHARE_FRAME = 250


def share_cut(files: int) -> int:
    """How many of the files this process checks itself when a child checks the rest: 35%, as
    this process also builds every model and reads the child's results (per file, ~0.4 of the
    child's time to check it)."""
    return files * 7 // 20


def share_cut_by_size(sizes: list[int]) -> int:
    """:func:`share_cut` for files of different sizes (files of many items): the files this process
    checks hold 35% of the bytes (one file at least, and one left to the child)."""
    want, held = sum(sizes) * 7 // 20, 0
    for n, size in enumerate(sizes):
        if held >= want and n > 0:
            return min(n, len(sizes) - 1)
        held += size
    return len(sizes) - 1


def _check_share(
    files: list[Path], cut: int, root: Path, config: BankConfig, schema: ItemSchema, send: Callable[[bytes], None], keyed: bool = False
) -> None:
    """In the child: frames of (the next file's index, {file index: (finding rows, ids, loaded
    entries, their data, image checks, and with ``keyed`` the file's cache key, its size and its
    data as the cache keeps it; else '', 0, '')})."""
    ctx = LoggingRuleContext(root, config)
    out: dict[int, Any] = {}
    items = 0  # in the frame being gathered
    cwd = os.getcwd()
    for n in range(cut, len(files)):
        path = files[n]
        rel = display_path(path, cwd)
        if not _utf8(rel) or (os.path.islink(path) and ((real := followed(path)) is None or not _inside(real, root))):
            continue  # the parent reports these without checking them
        ctx.image_log = []
        if keyed:
            raw, _prob = read_bytes(path, rel)
            if raw is None:
                continue  # the file system's answer: the parent's own read gives it (and never caches it)
            checked = check_document(read_document(path, rel, raw), ctx, schema)
            kept = (file_key(path, rel, raw), len(raw), raws_json(checked.raws))
        else:
            checked = check_document(read_document(path, rel), ctx, schema)
            kept = ("", 0, "")
        rows = [(p.code, p.message, p.line, p.column, p.item_id, p.path, p.severity, p.suggestion) for p in checked.problems]
        images = [(ref, status, ctx.case_twin(ref)) for ref, status in ctx.image_log]
        out[n] = (rows, checked.ids, checked.loaded, checked.raws, images, *kept)
        items += len(checked.raws or ())
        if (n + 1 - cut) % SHARE_FRAME == 0 or items >= SHARE_FRAME:  # (files of many items: a frame a few)
            send(marshal.dumps((n + 1, out)))
            out, items = {}, 0
    send(marshal.dumps((len(files), out)))


def check_document(doc: Document, ctx: RuleContext, schema: ItemSchema) -> FileCheck:
    """The per-file part of checking: a parsed file's own findings, its ids, the entries that load."""
    out = FileCheck(text=doc.text)
    if doc.problem is not None:
        out.problems.append(doc.problem)
        return out
    entries, prob = _split_items(doc)
    if prob is not None:
        out.problems.append(prob)
        return out
    out.raws = []
    ctx.source_text = doc.text
    yaml_merges = doc.text is not None and "<<" in doc.text and not doc.rel.lower().endswith(".json")
    pending: list[tuple[int | None, str | None, tuple[object, ...], str, str, bool]] = []
    for index, raw in entries:
        item_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        if not isinstance(raw, dict):
            pending.append((index, None, (), "IB013", "an entry of `items:` must be a mapping (an item)", False))
            continue
        merges = list(_merge_keys(raw)) if yaml_merges else []
        if merges:  # what the merge left out (missing fields, an unknown '<<') would only add noise
            for mpath in merges:
                pending.append((index, item_id, mpath, "IB014", MERGE_KEY, True))
            continue
        serrs = schema.errors(raw)
        for e in serrs:
            pending.append((index, item_id, e.path, e.code, e.message, e.at_key))
        if serrs:
            # Unknown or misplaced top-level fields leave the rest of the item well-shaped: check it
            # anyway, so one run reports everything (the item is still not loaded).
            if all(e.code in ("IB102", "IB107") and len(e.path) == 1 for e in serrs):
                stray = {e.path[0] for e in serrs}
                trimmed = {k: v for k, v in raw.items() if k not in stray}
                if schema.is_valid(trimmed):
                    for fpath, code, message in check_item(trimmed, ctx):
                        pending.append((index, item_id, fpath, code, message, False))
            continue
        findings = list(check_item(raw, ctx))
        for fpath, code, message in findings:
            pending.append((index, item_id, fpath, code, message, False))
        if item_id is not None:
            out.ids.append((index, item_id))
        if any(f[1] in _ERROR_CODES for f in findings):
            continue
        out.loaded.append(index)
        out.raws.append(raw)
    if pending:
        listed = len(entries) if entries and entries[0][0] is not None else None
        out.problems.extend(_locate(doc, pending, listed))
    if doc.text is not None and not doc.rel.lower().endswith(".json") and may_hold_traps(doc.text):
        out.problems.extend(_traps(doc, entries))
    return out


#: IB014 for a YAML merge key: yaml_rs reads YAML 1.2, which has none, so ``<<: *base`` is a field named '<<'.
MERGE_KEY = "merge keys (`<<: *anchor`) are not supported (YAML 1.2 has none: the anchored fields are not merged in): write the fields out in this item"


def _merge_keys(data: Any) -> Iterator[tuple[object, ...]]:
    """The paths of the ``<<`` keys in an entry's data."""
    stack: list[tuple[Any, tuple[object, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "<<":
                    yield path + (k,)
                else:
                    stack.append((v, path + (k,)))
        elif isinstance(node, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(node))


def _check_blueprints(
    result: CheckResult, whole: bool, blueprints: list[Path], root: Path, bank_items: list[AnyItem] | None, cache: bool
) -> None:
    """Check the bank's assessments (all of them for a whole-bank check, else the files given)."""
    if whole:
        try:
            blueprints = assessment_files(root)
        except OSError as exc:  # a folder the user may not list: its blueprints are not checked, and that is said
            folder = assessment_dir(root)
            result.problems.append(problem(_shown(folder), "IB005", f"cannot read folder: {exc.strerror or exc}: the assessments in it are not checked"))
            return
    if not blueprints:
        return
    if whole:
        items = result.items
    elif bank_items is not None:
        items = bank_items
    else:
        items = check_paths([root], root=root, allow_empty=True, cache=cache).items
    problems, resolved = check_assessments(blueprints, items, display_path)
    result.problems.extend(problems)
    if whole:
        result.assessments = resolved


_ERROR_CODES = {code for code, (severity, _) in RULES.items() if severity == "error"}


def _prefix(index: int | None) -> tuple[object, ...]:
    return () if index is None else ("items", index)


def _locate(doc: Document, pending: Iterable[tuple[int | None, str | None, tuple[object, ...], str, str, bool]], entries: int | None = None) -> list[Problem]:
    """The pending findings placed in the file (``entries``: how many its ``items:`` list holds, if it has one)."""
    pos = PositionIndex(doc.text or "", entries)
    out = []
    for index, item_id, path, code, message, at_key in pending:
        line, col = pos.locate(_prefix(index) + tuple(path), key=at_key)
        if YAML_READ_MARK in message:
            written = pos.source(_prefix(index) + tuple(path))
            message = message.replace(YAML_READ_MARK, f"`{written}`" if written else "this value")
        out.append(problem(doc.rel, code, message, line=line, column=col, item_id=item_id, path=json_path(list(path))))
    # An entry written as an alias (`- *base`) is placed where its anchor's text is: its findings
    # would repeat the anchored entry's, word for word (its id, twice, is IB201 at the alias).
    return list(dict.fromkeys(out))


def _traps(doc: Document, entries: list[tuple[int | None, Any]]) -> list[Problem]:
    """Warnings for YAML that parsed into something else than the author meant (``yaml_traps``)."""
    ids = {index: raw.get("id") for index, raw in entries if isinstance(raw, dict) and isinstance(raw.get("id"), str)}
    out = []
    for path, code, message, line, col in find_traps(doc.text or "", entries):
        index: int | None = None
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
            index, path = path[1], path[2:]
        elif ids.get(None) is None:
            continue  # not an item file's field
        out.append(problem(doc.rel, code, message, line=line, column=col, item_id=ids.get(index), path=json_path(list(path))))
    return out


def _unique(items: list[AnyItem]) -> list[AnyItem]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            out.append(item)
    return out


def bank_ids(root: Path) -> dict[str, Path]:
    """Every item id written in the bank's files (valid items or not), with the first file using it."""
    ids: dict[str, Path] = {}
    for path in discover(root.resolve()):
        doc = read_document(path, str(path))
        if doc.problem is not None:
            continue
        entries, _ = _split_items(doc)
        for _, raw in entries:
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                ids.setdefault(raw["id"], path)
    return ids


def check_bank(
    root: Path | str,
    *,
    progress: Callable[[int, int], None] | None = None,
    allow_empty: bool = False,
    cache: bool = False,
    jobs: int | None = 1,
) -> CheckResult:
    """Check a whole bank folder (``cache``: with the per-file results of earlier runs, ``itembank.cache``;
    ``jobs``: as for :func:`check_paths`)."""
    root = Path(root)
    return check_paths([root], root=root, progress=progress, allow_empty=allow_empty, cache=cache, jobs=jobs)
