"""The itembank package compiled to bytecode before a benchmark times it.

Python writes a module's bytecode (``__pycache__``) the first time it imports it, and later
processes read it instead of compiling the source again: that is what a user's machine runs after
the first command.  Where ``PYTHONDONTWRITEBYTECODE`` is set (the machine these figures were
measured on sets it) nothing is written, and every timed process compiled the whole package anew:
importing the CLI and every format took 1.6-1.8 s of CPU without bytecode and 1.0-1.2 s with it
(2026-12-02, a slow day; ~0.15 s on a usual one, 5% of a build after an edit).  The peers
(text2qti, check-jsonschema) are installed by pip, which compiles them.
"""

from __future__ import annotations

import compileall
from pathlib import Path


def package_folders() -> list[Path]:
    """The folders of the installed itembank package (its formats are a folder of their own)."""
    import itembank
    import itembank.exporters

    return sorted({Path(p) for p in [*itembank.__path__, *itembank.exporters.__path__]})


def precompile() -> None:
    """Write the bytecode of every module of the package (a no-op where it is up to date)."""
    for folder in package_folders():
        if not compileall.compile_dir(str(folder), quiet=1):
            raise SystemExit(f"could not compile {folder}")


if __name__ == "__main__":  # `python benchmarks/precompile.py` before timing by hand (the scripts here import it)
    precompile()
