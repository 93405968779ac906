"""The wheel, installed into a fresh venv: `itembank.exporters` ships inside the package, there is
no top-level `exporters` (PyPI has a distribution of that name), built-in formats need no entry
point, and a third-party package still adds one through the `itembank.exporters` group.

Dependencies come from the test environment (a path line in the new venv), so nothing is downloaded
but the build backend; the wheel itself is installed with --no-deps --no-index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.packaging

PLUGIN_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "itembank-echo"
version = "1.0"

[project.entry-points."itembank.exporters"]
echo = "itembank_echo:exporter"
"""



def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT, cwd=out)
    [whl] = out.glob("itembank-*.whl")
    return whl


def test_the_wheel_ships_exporters_inside_itembank(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "itembank/exporters/__init__.py" in names and "itembank/exporters/kit/zip.py" in names
    assert "itembank/schemas/item.schema.json" in names
    assert not [n for n in names if n.split("/")[0] not in ("itembank",) and ".dist-info/" not in n]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "itembank.exporters" not in zipfile.ZipFile(wheel).read(entry_points).decode()  # built-ins are in code


def test_a_fresh_venv_imports_itembank_exporters_and_no_top_level_exporters(wheel: Path, tmp_path: Path, xsd_dir: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    # the dependencies, from the test environment (its own itembank is not a site dir here, so unused)
    (site / "deps-from-tests.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)

    probe = (
        "import importlib.util, itembank, itembank.exporters, itembank.exporters.qti.writer;"
        "print(itembank.exporters.__file__);"
        "print(importlib.util.find_spec('exporters'))"
    )
    where, top_level = run(python, "-c", probe, cwd=tmp_path).split()
    assert Path(where).is_relative_to(site / "itembank" / "exporters"), where
    assert top_level == "None"

    formats = run(bindir / "itembank", "formats", cwd=tmp_path)
    assert [line.split()[0] for line in formats.splitlines()] == ["canvas", "gift", "html", "json", "markdown", "moodle", "qti21", "qti30", "xlsx"]
    run(bindir / "itembank", "build", "--bank", ROOT / "tests" / "banks" / "all-types", "-o", tmp_path / "dist", cwd=tmp_path)
    assert (tmp_path / "dist" / "qti30.zip").is_file() and (tmp_path / "dist" / "canvas.zip").is_file()
    # the html format's templates and static files are package data of the wheel
    assert (tmp_path / "dist" / "html" / "practice.html").is_file() and (tmp_path / "dist" / "html" / "assets" / "itembank.js").is_file()

    # the schema check's fallback runs `python -m itembank.exporters.kit.xsd` in a subprocess
    fallback = (
        "import pathlib, sys; from itembank.exporters.kit import xsd;"
        "print(xsd.validate_in_subprocess({'bad.xml': b'<nothing/>'}, 'qti21', pathlib.Path(sys.argv[1])))"
    )
    assert "bad.xml: line 1" in run(python, "-c", fallback, xsd_dir.resolve(), cwd=tmp_path)

    # a third-party format, installed as its own package, is found through the entry point group
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "pyproject.toml").write_text(PLUGIN_PYPROJECT, encoding="utf-8")
    shutil.copy(ROOT / "tests" / "plugins" / "itembank_echo.py", plugin)
    run(python, "-m", "pip", "install", "-q", "--no-deps", plugin, cwd=tmp_path)
    assert "echo" in run(bindir / "itembank", "formats", cwd=tmp_path).split()
    run(bindir / "itembank", "export", "echo", "--bank", ROOT / "tests" / "banks" / "all-types", "-o", tmp_path / "ids.txt", cwd=tmp_path)
    assert "at-mc" in (tmp_path / "ids.txt").read_text(encoding="utf-8").split()
