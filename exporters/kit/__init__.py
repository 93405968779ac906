"""The small kit exporters share (and nothing else of each other's): deterministic zips (``zip``),
numbers as text (``numbers``), an item's explanation as headed sections (``explain``), texts
escaped as lxml writes them (``escape``, for the formats written by templates), what several
formats say alike of an item (``wording``: word limits, the order of shown entries), and
validation against the official XML schemas (``xsd``, also ``python -m itembank.exporters.kit.xsd``).
"""
