"""Validate exported XML against the official XSDs, offline (shared by ``--check`` and the tests).

Not an exporter.  The schema folder (``ITEMBANK_XSD_DIR``, e.g. ``../shared/xsd``) holds the XSDs and
a ``catalog.xml`` mapping every remote ``schemaLocation`` to a local file.  libxml2 reads
``XML_CATALOG_FILES`` once, the first time it resolves an external resource in the process; after
that, changing the variable has no effect.  So:

* this module adds the folder's catalog to ``XML_CATALOG_FILES`` as early as it can (at import, when
  ``ITEMBANK_XSD_DIR`` is set, and again before the first schema load), which is enough whenever
  nothing in the process has resolved an external XML resource yet — the normal case;
* if a schema still fails to load in-process (the catalog came too late), validation runs in a fresh
  Python subprocess with the variable set before lxml is imported (``python -m itembank.exporters.kit.xsd``).

Each schema is loaded once per process (QTI 3.0 takes ~4 s); validating a document takes < 1 ms.

API (kept small on purpose, other exporters use it too)::

    validate_file(path_or_bytes, "qti21") -> list[str]          # [] when valid
    validate_files({"name.xml": bytes_or_path, ...}, "qti30") -> list[str]   # "name: message" lines
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: schema key -> XSD file, relative to the schema folder (see ../shared/xsd/README.md)
SCHEMAS: dict[str, str] = {
    "qti21": "qti21/imsqti_v2p1p2.xsd",
    "qti21-cp": "qti21/qtiv2p1_imscpv1p2_v1p0.xsd",
    "qti30": "qti30/imsqti_asiv3p0p1_v1p0.xsd",
    "qti30-cp": "qti30/imsqtiv3p0_imscpv1p2_v1p0.xsd",
    "imscp": "imscp/imscp_v1p1.xsd",
    "qti12-cc": "qti12/ccv1p1_qtiasiv1p2p1_v1p0.xsd",
}


def _add_catalog(xsd_dir: Path) -> None:
    """Put the folder's catalog first in XML_CATALOG_FILES (space-separated list, per libxml2)."""
    catalog = str((xsd_dir / "catalog.xml").resolve())
    current = os.environ.get("XML_CATALOG_FILES", "").split()
    if catalog not in current:
        os.environ["XML_CATALOG_FILES"] = " ".join([catalog, *current])


# Why here, before the lxml import below: libxml2 reads the variable at its first external lookup.
if os.environ.get("ITEMBANK_XSD_DIR"):
    _add_catalog(Path(os.environ["ITEMBANK_XSD_DIR"]))

from lxml import etree  # noqa: E402  (after the catalog variable is set, on purpose)

from itembank.errors import ItembankError  # noqa: E402

_SCHEMA_CACHE: dict[tuple[str, str], etree.XMLSchema] = {}
_IN_PROCESS_BROKEN: set[tuple[str, str]] = set()


def schema_dir(xsd_dir: str | Path | None = None) -> Path:
    """The schema folder: the argument, else ``ITEMBANK_XSD_DIR``; an ItembankError if unusable."""
    raw = xsd_dir if xsd_dir is not None else os.environ.get("ITEMBANK_XSD_DIR")
    if not raw:
        raise ItembankError("no schema folder: set ITEMBANK_XSD_DIR to a folder with the QTI XSDs and catalog.xml")
    path = Path(raw)
    if not (path / "catalog.xml").is_file():
        raise ItembankError(f"schema folder {path} has no catalog.xml (ITEMBANK_XSD_DIR must point at the XSD folder)")
    return path


def _parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=False)


def _schema_file(xsd: Path, schema_key: str) -> Path:
    if schema_key not in SCHEMAS:
        raise ItembankError(f"unknown schema key '{schema_key}' (known: {', '.join(SCHEMAS)})")
    path = xsd / SCHEMAS[schema_key]
    if not path.is_file():
        raise ItembankError(f"schema file missing: {path}")
    return path


def load_schema(schema_key: str, xsd_dir: str | Path | None = None) -> etree.XMLSchema:
    """The compiled schema, loaded once per process.  Raises etree.XMLSchemaParseError if it cannot load."""
    xsd = schema_dir(xsd_dir)
    cache_key = (str(xsd.resolve()), schema_key)
    schema = _SCHEMA_CACHE.get(cache_key)
    if schema is None:
        _add_catalog(xsd)
        doc = etree.parse(str(_schema_file(xsd, schema_key)), _parser())
        schema = etree.XMLSchema(doc)
        _SCHEMA_CACHE[cache_key] = schema
    return schema


def _read(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def _validate_with(schema: etree.XMLSchema, data: bytes) -> list[str]:
    try:
        doc = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]  # lxml-stubs: _ErrorLog is iterable


def _cache_dir() -> Path | None:
    """Where documents already found valid are remembered (None: no cache).

    ``ITEMBANK_CACHE_DIR``, else ``$XDG_CACHE_HOME/itembank``, else ``~/.cache/itembank``;
    ``ITEMBANK_CACHE_DIR=off`` turns it off.
    """
    raw = os.environ.get("ITEMBANK_CACHE_DIR")
    if raw == "off":
        return None
    if raw:
        return Path(raw)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "itembank"


_FINGERPRINTS: dict[str, str] = {}


def _schema_fingerprint(xsd: Path) -> str:
    """Every file of the schema folder (name, size, mtime): a changed schema is a new cache."""
    key = str(xsd.resolve())
    if key not in _FINGERPRINTS:
        h = hashlib.sha256()
        for f in sorted(xsd.rglob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.relative_to(xsd).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        _FINGERPRINTS[key] = h.hexdigest()[:16]
    return _FINGERPRINTS[key]


def _known_valid(xsd: Path, schema_key: str) -> tuple[Path | None, set[str]]:
    folder = _cache_dir()
    if folder is None:
        return None, set()
    folder = folder / "xsd-valid" / f"{schema_key}-{_schema_fingerprint(xsd)}"
    try:
        return folder, {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    except OSError:
        return None, set()


def _remember_valid(folder: Path | None, digests: list[str]) -> None:
    if folder is None or not digests:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for d in digests:
            (folder / d).touch()
    except OSError:
        pass  # a cache that cannot be written only costs time


def validate_files(docs: Mapping[str, bytes | str | Path], schema_key: str, xsd_dir: str | Path | None = None) -> list[str]:
    """Validate several documents against one schema; returns ``"name: problem"`` lines (empty = valid).

    The QTI 3.0 schema takes seconds to compile, validating a document under a millisecond: so a
    document (by its SHA-256) found valid against this exact schema folder is remembered on disk
    (see :func:`_cache_dir`), identical documents are validated once, and the schema is compiled only
    when some document is new.
    """
    xsd = schema_dir(xsd_dir)
    data = {name: _read(source) for name, source in docs.items()}
    digests = {name: hashlib.sha256(d).hexdigest() for name, d in data.items()}
    folder, known = _known_valid(xsd, schema_key)
    todo: dict[str, bytes] = {}
    for name in sorted(data):
        if digests[name] not in known and digests[name] not in {digests[n] for n in todo}:
            todo[name] = data[name]
    if not todo:
        return []
    problems = _validate_uncached(todo, schema_key, xsd)
    bad = {line.split(": ", 1)[0] for line in problems}
    _remember_valid(folder, [digests[n] for n in todo if n not in bad])
    if problems:
        # A duplicate of an invalid document is invalid too: report it under each name.
        extra = [f"{n}: {line.split(': ', 1)[1]}" for n in sorted(data) if n not in todo and n not in bad
                 for line in problems if digests[line.split(': ', 1)[0]] == digests[n]]
        problems = sorted(problems + extra)
    return problems


def _validate_uncached(docs: Mapping[str, bytes], schema_key: str, xsd: Path) -> list[str]:
    cache_key = (str(xsd.resolve()), schema_key)
    if cache_key not in _IN_PROCESS_BROKEN:
        try:
            schema = load_schema(schema_key, xsd)
        except etree.XMLSchemaParseError:
            # Most likely libxml2 had already read its catalogs before ours was set: retry out of process.
            _IN_PROCESS_BROKEN.add(cache_key)
        else:
            return [f"{name}: {msg}" for name in sorted(docs) for msg in _validate_with(schema, _read(docs[name]))]
    return validate_in_subprocess(docs, schema_key, xsd)


def validate_file(source: bytes | str | Path, schema_key: str, xsd_dir: str | Path | None = None) -> list[str]:
    """Validate one document (bytes or a path); returns the problems, [] when valid."""
    name = "document" if isinstance(source, bytes) else str(source)
    prefix = f"{name}: "
    return [line[len(prefix):] for line in validate_files({name: source}, schema_key, xsd_dir)]


def validate_in_subprocess(docs: Mapping[str, bytes | str | Path], schema_key: str, xsd: Path) -> list[str]:
    """Run the validation in a fresh interpreter whose environment has the catalog from the start."""
    payload = {
        "xsd_dir": str(xsd),
        "schema_key": schema_key,
        "docs": {name: _read(src).decode("utf-8", errors="surrogateescape") for name, src in docs.items()},
    }
    env = dict(os.environ, ITEMBANK_XSD_DIR=str(xsd))
    env["XML_CATALOG_FILES"] = str((xsd / "catalog.xml").resolve())
    proc = subprocess.run(
        [sys.executable, "-m", "itembank.exporters.kit.xsd"],
        input=json.dumps(payload, ensure_ascii=True),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise ItembankError(f"schema validation failed to run ({schema_key}): {proc.stderr.strip()[-500:]}")
    return list(json.loads(proc.stdout))


def _main() -> None:
    """Subprocess entry: JSON {xsd_dir, schema_key, docs} on stdin, JSON list of problems on stdout."""
    payload = json.loads(sys.stdin.read())
    xsd = Path(payload["xsd_dir"])
    try:
        schema = load_schema(payload["schema_key"], xsd)
    except etree.XMLSchemaParseError as exc:
        sys.stderr.write(f"cannot load schema {payload['schema_key']} from {xsd}: {exc}\n")
        sys.exit(1)
    docs = payload["docs"]
    problems = [
        f"{name}: {msg}"
        for name in sorted(docs)
        for msg in _validate_with(schema, docs[name].encode("utf-8", errors="surrogateescape"))
    ]
    sys.stdout.write(json.dumps(problems))


if __name__ == "__main__":
    _main()
