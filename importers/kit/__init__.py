"""Helpers every importer shares (the importers' counterpart of the exporter kit).

* :mod:`.xml` -- ``parse_xml``: lxml without DTDs, entities, network or huge trees (XXE refused).
* :mod:`.zip` -- ``SafeZip``: package reading with zip-slip and zip-bomb guards.
* :mod:`.html` -- ``html_to_markdown``: HTML fields -> Markdown (+ notes on what was simplified).
* :mod:`.mathml` -- ``mathml_to_latex``: MathML element -> LaTeX (for ``$...$``).
* :mod:`.ids` -- ``IdAllocator``: source id if it fits, else slug + stable hash; unique.
* :mod:`.media` -- ``MediaStore``: files named by content hash under ``media/``.
* :mod:`.meta` -- ``apply_tags``: our tag scheme (``difficulty:hard``...) back to fields.
* :mod:`.categories` -- ``category_names``: a Moodle category path split as Moodle splits it;
  ``ParentNotes``: the note, once per path, that an item's one topic drops the parent categories.
"""
