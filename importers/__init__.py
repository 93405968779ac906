"""Import formats, shipped as ``itembank.importers``: one module per format.

``BUILTINS`` is the registry of built-in formats (name -> "module:attr", imported only when used;
``--format auto`` asks their sniffers in this order); third-party packages add formats through the
``itembank.importers`` entry-point group (see ``itembank.imports``).  An importer reads files and
returns an ``itembank.importing.ReadResult`` (items in our format, Markdown text); it never writes
files, never imports another importer or the CLI.  Shared helpers (safe XML and zip reading,
HTML -> Markdown, MathML -> LaTeX, ids, media, tag scheme) live in ``kit``.
"""

from __future__ import annotations

BUILTINS: dict[str, str] = {
    "moodle": "itembank.importers.moodle:importer",
    "canvas": "itembank.importers.canvas:importer",
    "qti": "itembank.importers.qti:importer",
    "aiken": "itembank.importers.aiken:importer",  # before gift and text2qti: plain-text formats, most specific first
    "text2qti": "itembank.importers.text2qti:importer",
    "gift": "itembank.importers.gift:importer",
}
