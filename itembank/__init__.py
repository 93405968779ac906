"""itembank: an assessment item bank kept as plain files, proven correct, exported everywhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

# The public names are imported on first use (PEP 562): ``itembank validate`` and ``lint`` need
# neither the exporters' API (audit, lxml checks, the process pool) nor the format registry, and
# importing them all up front was a third of the command's start-up time.
_PUBLIC = {
    "BuildReport": "api",
    "build": "api",
    "export": "api",
    "load_bank": "api",
    "InvalidBank": "errors",
    "ItembankError": "errors",
    "UsageError": "errors",
    "ExportContext": "formats",
    "ExportOptions": "formats",
    "ExportResult": "formats",
    "registry": "formats",
    "Bank": "model",
    "BankConfig": "model",
    "Problem": "problems",
    "CheckResult": "validate",
    "check_bank": "validate",
    "check_paths": "validate",
}

if TYPE_CHECKING:
    from .api import BuildReport, build, export, load_bank
    from .errors import InvalidBank, ItembankError, UsageError
    from .formats import ExportContext, ExportOptions, ExportResult, registry
    from .model import Bank, BankConfig
    from .problems import Problem
    from .validate import CheckResult, check_bank, check_paths


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


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
