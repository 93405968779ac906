"""itembank: an assessment item bank kept as plain files, proven correct, exported everywhere."""

from __future__ import annotations

__version__ = "0.1.0"


def _mount_source_exporters() -> None:
    """In a source checkout (an editable install, the tests), mount the repository folders
    ``exporters/`` and ``importers/`` as ``itembank.exporters`` and ``itembank.importers``; a wheel
    already ships them there (pyproject.toml)."""
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for name in ("exporters", "importers"):
        source = here.parent / name
        if (here / name).is_dir() or not (source / "__init__.py").is_file():
            continue
        spec = importlib.util.spec_from_file_location(f"{__name__}.{name}", source / "__init__.py", submodule_search_locations=[str(source)])
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        globals()[name] = module


_mount_source_exporters()

from .api import BuildReport, build, export, load_bank  # noqa: E402
from .errors import InvalidBank, ItembankError, UsageError  # noqa: E402
from .formats import ExportContext, ExportOptions, ExportResult, registry  # noqa: E402
from .model import Bank, BankConfig  # noqa: E402
from .problems import Problem  # noqa: E402
from .validate import CheckResult, check_bank, check_paths  # noqa: E402

__all__ = [
    "Bank",
    "BankConfig",
    "BuildReport",
    "CheckResult",
    "ExportContext",
    "ExportOptions",
    "ExportResult",
    "InvalidBank",
    "ItembankError",
    "Problem",
    "UsageError",
    "build",
    "check_bank",
    "check_paths",
    "export",
    "load_bank",
    "registry",
]
