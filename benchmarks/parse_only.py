#!/usr/bin/env python3
"""Parser comparison on a bank's files:  parse_only.py BANK [--parser yaml_rs|pyyaml] [--validate]

Backs the choice of yaml_rs over PyYAML's C loader (libyaml) with figures from the very same files:

- default: read every item file and parse it (nothing else), print the count;
- ``--validate``: run the full ``itembank validate`` pipeline (``check_bank``) with the chosen parser
  in place of yaml_rs, so the difference is what a user would see.

With ``--parser pyyaml`` the loader is ``yaml.CSafeLoader`` (libyaml); the script refuses to run with
the pure-Python loader, which would make the comparison meaningless.  Both parsers must give the same
data: ``--compare`` parses every file with both and exits 1 on the first difference.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml_rs

CONFIG_NAME = "itembank.yaml"


def item_files(bank: Path) -> list[Path]:
    """The bank's item files in a stable order (every .yaml/.yml except the root settings file)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(bank):
        dirnames.sort()
        for name in filenames:
            if name.endswith((".yaml", ".yml")) and not (Path(dirpath) == bank and name == CONFIG_NAME):
                found.append(Path(dirpath) / name)
    return sorted(found)


def pyyaml_loads() -> Callable[[str], Any]:
    try:
        import yaml
    except ImportError:
        raise SystemExit("error: PyYAML is not installed (pip install pyyaml)") from None
    if not getattr(yaml, "__with_libyaml__", False):
        raise SystemExit("error: PyYAML has no libyaml C extension; CSafeLoader is unavailable")
    loader = yaml.CSafeLoader
    return lambda text: yaml.load(text, Loader=loader)  # CSafeLoader: the safe loader, in C


def yaml_rs_loads() -> Callable[[str], Any]:
    return lambda text: yaml_rs.loads(text, parse_datetime=False)


LOADERS: dict[str, Callable[[], Callable[[str], Any]]] = {"yaml_rs": yaml_rs_loads, "pyyaml": pyyaml_loads}


def parse_all(files: list[Path], loads: Callable[[str], Any]) -> int:
    n = 0
    for path in files:
        loads(path.read_text(encoding="utf-8"))
        n += 1
    return n


def validate_with(bank: Path, parser: str) -> int:
    """Full check_bank with ``parser`` swapped in; returns the number of valid items."""
    from itembank import sources
    from itembank.validate import check_bank

    if parser == "pyyaml":
        import yaml

        load = pyyaml_loads()

        # sources.parse calls yaml_rs.loads(text, parse_datetime=..., alias_limits=...) and catches
        # yaml_rs.YAMLDecodeError: stand in for that module with the same two names.
        def loads(text: str, **_ignored: Any) -> Any:
            try:
                return load(text)
            except yaml.YAMLError as exc:
                raise sources.yaml_rs.YAMLDecodeError(str(exc)) from None

        sources.yaml_rs = SimpleNamespace(loads=loads, YAMLDecodeError=yaml_rs.YAMLDecodeError, AliasLimits=yaml_rs.AliasLimits)  # type: ignore[assignment]
    result = check_bank(bank)
    if result.errors:
        raise SystemExit(f"error: {len(result.errors)} errors with parser {parser}; first: {result.errors[0].format()}")
    return len(result.items)


def compare(files: list[Path]) -> int:
    a, b = yaml_rs_loads(), pyyaml_loads()
    for path in files:
        text = path.read_text(encoding="utf-8")
        if a(text) != b(text):
            print(f"{path}: yaml_rs and PyYAML read different data", file=sys.stderr)
            return 1
    print(f"{len(files)} files: yaml_rs and PyYAML read the same data")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bank", type=Path, help="bank folder")
    ap.add_argument("--parser", choices=sorted(LOADERS), default="yaml_rs")
    ap.add_argument("--validate", action="store_true", help="run the whole validate pipeline, not just the parser")
    ap.add_argument("--compare", action="store_true", help="check both parsers read identical data, then exit")
    args = ap.parse_args(argv)
    if not args.bank.is_dir():
        ap.error(f"bank folder '{args.bank}' does not exist")
    if args.compare:
        return compare(item_files(args.bank))
    if args.validate:
        n = validate_with(args.bank, args.parser)
        print(f"{args.parser}: validated {n} items")
    else:
        n = parse_all(item_files(args.bank), LOADERS[args.parser]())
        print(f"{args.parser}: parsed {n} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
