"""The format registry (built-ins in code, plug-ins by entry point) and declared export options."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from itembank import ExportOptions, UsageError, export, load_bank
from itembank import formats
from itembank.api import build
from itembank.cli import main
from itembank.exporters import BUILTINS

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "tests" / "banks" / "all-types"

PLUGINS = ROOT / "tests" / "plugins"


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[EntryPoint]]:
    """Entry points as an installed package would declare them (the list is the test's to fill)."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    declared: list[EntryPoint] = []
    monkeypatch.setattr(formats, "entry_points", lambda group: [ep for ep in declared if ep.group == group])
    formats.refresh()
    yield declared
    formats.refresh()
    sys.modules.pop("itembank_echo", None)


def test_builtins_are_registered_in_code_without_any_entry_point(plugins: list[EntryPoint]) -> None:
    assert sorted(formats.registry()) == sorted(BUILTINS) == ["canvas", "gift", "html", "json", "markdown", "moodle", "qti21", "qti30", "xlsx"]
    for name, exporter in formats.registry().items():
        assert exporter.name == name and exporter.options <= formats.OPTION_NAMES


def test_a_plugin_adds_a_format(plugins: list[EntryPoint]) -> None:
    plugins.append(EntryPoint("echo", "itembank_echo:exporter", formats.ENTRY_POINT_GROUP))
    assert "echo" in formats.registry()
    result = export(load_bank(BANK), "echo")
    assert result.data is not None and result.data.decode().split() == [i.id for i in load_bank(BANK).items]


def test_a_plugin_with_a_builtin_name_is_an_error_naming_both(plugins: list[EntryPoint]) -> None:
    plugins.append(EntryPoint("json", "itembank_echo:exporter", formats.ENTRY_POINT_GROUP))
    with pytest.raises(formats.ItembankError) as caught:
        formats.get_exporter("json")
    assert "itembank.exporters.json:exporter" in str(caught.value) and "itembank_echo:exporter" in str(caught.value)
    code = CliRunner().invoke(main, ["formats"]).exit_code
    assert code == 1


def test_a_broken_plugin_is_reported_not_hidden(plugins: list[EntryPoint]) -> None:
    plugins.append(EntryPoint("broken", "no_such_module_anywhere:exporter", formats.ENTRY_POINT_GROUP))
    assert isinstance(formats.registry()["broken"], formats.BrokenExporter)
    with pytest.raises(formats.ItembankError, match="failed to load"):
        export(load_bank(BANK), "broken")


@pytest.mark.parametrize(
    ("fmt", "options", "message"),
    [
        ("json", {"check": True}, "option check not taken by format 'json'"),
        ("markdown", {"unzipped": True}, "option unzipped not taken by format 'markdown'"),
        ("qti21", {"zipped": True}, "unknown export option: zipped"),
        ("canvas", {"unzipped": "yes"}, "export option unzipped must be bool"),
    ],
)
def test_the_api_refuses_options_a_format_does_not_declare(fmt: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        export(load_bank(BANK), fmt, **options)


def test_declared_options_reach_the_exporter_typed() -> None:
    result = export(load_bank(BANK), "qti21", unzipped=True)
    assert result.files is not None and "imsmanifest.xml" in result.files
    assert export(load_bank(BANK), "json", check=False).data  # an option at its default is no request


def test_build_passes_each_format_only_the_options_it_takes(tmp_path: Path) -> None:
    report = build(load_bank(BANK), tmp_path, formats=["json", "qti21"], unzipped=True)
    assert (tmp_path / "bank.json").is_file() and (tmp_path / "qti21.zip" / "imsmanifest.xml").is_file()
    assert [name for name, _, _ in report.outputs] == ["json", "qti21"]
    with pytest.raises(UsageError, match="not taken by any format of this build"):
        build(load_bank(BANK), tmp_path / "b", formats=["json", "gift"], unzipped=True)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["export", "json", "--check"],
        ["export", "xlsx", "--unzipped"],
        ["build", "--format", "json", "--format", "moodle", "--unzipped"],
    ],
)
def test_the_cli_refuses_unsupported_options_with_exit_2(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*args, "--bank", str(BANK), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "not taken by" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_options_are_a_typed_frozen_record() -> None:
    options = ExportOptions(check=True)
    with pytest.raises(AttributeError):
        options.check = False  # type: ignore[misc]
    assert formats.options_for(formats.get_exporter("json"), options) == ExportOptions()
    assert formats.options_for(formats.get_exporter("canvas"), options) == options
