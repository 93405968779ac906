"""The small kit exporters share (and nothing else of each other's): deterministic zips (``zip``),
numbers as text (``numbers``), an item's explanation as headed sections (``explain``), texts
escaped as lxml writes them (``escape``, for the formats written by templates), and
validation against the official XML schemas (``xsd``, also ``python -m itembank.exporters.kit.xsd``).
"""
