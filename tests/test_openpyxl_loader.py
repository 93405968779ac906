"""openpyxl is imported without numpy (itembank.openpyxl_loader): a build, an xlsx export and a
review import do not pay for numpy, which still imports afterwards; the workbooks are the same."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ALL_TYPES = Path(__file__).resolve().parents[1] / "tests" / "banks" / "all-types"


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_every_exporter_of_a_build_loads_without_numpy_which_imports_afterwards() -> None:
    """The formats load without their writers' libraries (a build's parent imports every format
    before its workers fork: openpyxl, Jinja2 and latex2mathml are imported by the workers that
    use them); the workbook's writer then imports openpyxl without numpy."""
    out = _run(
        f"""
        import sys
        import itembank.formats as formats
        for name in formats.registry():
            formats.get_exporter(name)
        print('openpyxl' in sys.modules, 'jinja2' in sys.modules, 'latex2mathml' in sys.modules)
        from itembank import api
        bank = api.load_bank({str(ALL_TYPES)!r})
        assert api.export(bank, 'xlsx').data and api.export(bank, 'html').files
        import openpyxl.compat.numbers
        print('numpy' in sys.modules, 'openpyxl' in sys.modules, openpyxl.compat.numbers.NUMPY)
        print('jinja2' in sys.modules, 'latex2mathml' in sys.modules)
        import numpy
        print(numpy.float64(1.5) + 1)
        """
    )
    assert out.splitlines() == ["False False False", "False True False", "True True", "2.5"]


def test_the_review_reader_loads_openpyxl_without_numpy() -> None:
    out = _run(
        """
        import sys
        from itembank.review import rows
        try:
            rows.read_workbook(__import__('pathlib').Path('/nonexistent.xlsx'))
        except Exception:
            pass
        print('numpy' in sys.modules, 'openpyxl' in sys.modules)
        """
    )
    assert out == "False True"


def test_a_process_that_imported_numpy_first_keeps_openpyxl_s_numpy_support() -> None:
    out = _run(
        """
        import numpy
        import itembank.openpyxl_loader
        import openpyxl.compat.numbers
        print(openpyxl.compat.numbers.NUMPY)
        """
    )
    assert out == "True"
