"""Export formats, shipped as ``itembank.exporters``: one module (or package) per format.

``BUILTINS`` is the registry of built-in formats (name -> "module:attr", imported only when used);
third-party packages add formats through the ``itembank.exporters`` entry-point group (see
``itembank.formats``).  An exporter reads the model (and the shared renderer and ``kit``) and returns
bytes; it never imports another exporter or the CLI, and never writes files itself.
"""

from __future__ import annotations

BUILTINS: dict[str, str] = {
    "canvas": "itembank.exporters.canvas:exporter",
    "gift": "itembank.exporters.moodle.gift:exporter",
    "html": "itembank.exporters.html:exporter",
    "json": "itembank.exporters.json:exporter",
    "markdown": "itembank.exporters.markdown:exporter",
    "moodle": "itembank.exporters.moodle.xml:exporter",
    "qti21": "itembank.exporters.qti21:exporter",
    "qti30": "itembank.exporters.qti30:exporter",
    "xlsx": "itembank.exporters.xlsx:exporter",
}
