"""openpyxl, imported without numpy.

openpyxl imports numpy when it is installed (itembank's analysis installs it) only so that a cell
may hold a numpy number; itembank writes Python values into workbooks and reads text out of them.
Importing numpy is most of the time openpyxl takes to import: 0.06-0.08 s of every command that
writes or reads a workbook (a build, ``export xlsx``, ``review import``), in a build's serial start.
So the first import of openpyxl in a process hides numpy from it (a ``None`` entry in
``sys.modules`` makes ``import numpy`` fail, as Python documents) and shows it again at once: numpy
imports as usual afterwards.  In a process that imported numpy already, openpyxl finds it.

Import this module before openpyxl (``import itembank.openpyxl_loader``); it does the rest.
"""

from __future__ import annotations

import sys


def _load_openpyxl() -> None:
    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import openpyxl  # noqa: F401 - imported for its side effect: openpyxl.compat.numbers is set
    finally:
        if sys.modules.get("numpy", 0) is None:
            del sys.modules["numpy"]


_load_openpyxl()
