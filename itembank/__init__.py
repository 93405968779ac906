"""itembank: an assessment item bank kept as plain files, proven correct, exported everywhere."""

from __future__ import annotations

__version__ = "0.1.0"

from .api import BuildReport, InvalidBank, build, export, load_bank  # noqa: E402
from .export import ExportContext, ExportResult, ItembankError, registry  # noqa: E402
from .model import Bank, BankConfig  # noqa: E402
from .problems import Problem  # noqa: E402
from .validate import CheckResult, check_bank, check_paths  # noqa: E402

__all__ = [
    "Bank",
    "BankConfig",
    "BuildReport",
    "CheckResult",
    "ExportContext",
    "ExportResult",
    "InvalidBank",
    "ItembankError",
    "Problem",
    "build",
    "check_bank",
    "check_paths",
    "export",
    "load_bank",
    "registry",
]
