"""The temporary files of atomic writes that a killed run left (``kill -9``, a stopped machine).

Every file this tool replaces atomically (``itembank.atomic``, the caches' packs, a fragment pack
being written anew) is first written into ``.NAME.XXXXXXXX.tmp`` beside it (``tempfile.mkstemp``),
then renamed over it; a run killed in between leaves that file for good: up to ~400 MB of fragment
packs after a cold build of 10,000 items, a package's size beside a one-file output.  A later run
that writes there removes them once stale (:func:`remove_stale_temps`).
"""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

#: A temporary file untouched this long is no running write's: a run writes its temporary files as
#: it goes (a fragment pack's piece by piece) and renames or removes them when done.
STALE_TEMP_AGE = 15 * 60

#: The 8 characters ``tempfile`` puts in the name of each file or folder it makes.
TEMPFILE_CHARS = r"[a-z0-9_]{8}"

#: How ``tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")`` names a temporary file (NAME: group 1).
_TEMP_NAME = re.compile(rf"\.(.+)\.{TEMPFILE_CHARS}\.tmp")


def remove_stale_temps(folder: Path, name: str | None = None) -> None:
    """Remove from ``folder`` the temporary files of atomic writes that killed runs left: files (not
    links) named as they are named (of the file ``name`` only, when given), of this user, untouched
    for :data:`STALE_TEMP_AGE`.  Were a file still being written removed (a run writing nothing for
    that long), that run's rename fails with an error: nothing already written is lost."""
    now = time.time()
    getuid = getattr(os, "getuid", None)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        temp = _TEMP_NAME.fullmatch(entry.name)
        if temp is None or (name is not None and temp.group(1) != name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= STALE_TEMP_AGE and (getuid is None or st.st_uid == getuid()):
                os.unlink(entry.path)
        except OSError:  # (gone meanwhile: another run removed it)
            continue
