"""Import formats: one module per format, each an :class:`importers.base.Importer`.

The built-in importers are listed in :data:`importers.base.BUILTIN` (name -> "module:attr", loaded
lazily); a third-party package adds one through the ``itembank.importers`` entry-point group.
An importer reads files and returns a :class:`importers.base.ReadResult` (items in our item format,
Markdown text); it never writes files, never imports another importer or the CLI.  Shared helpers
(safe XML and zip reading, HTML -> Markdown, ids, media, tag scheme) live in :mod:`importers.kit`.
"""
