"""``qti30``: an IMS QTI 3.0 content package (zip, or a folder with ``--unzipped``).

One item file per item, an assessment test with a section per topic (or per form section), media
with manifest dependencies, LOM + QTI metadata, in the QTI 3.0 ``qti-`` vocabulary.  The builder is
shared with ``qti21``:
see ``itembank.exporters.qti`` and docs/qti.md.
"""

from __future__ import annotations

from .qti import QTI30, QtiExporter

exporter = QtiExporter(QTI30, "IMS QTI 3.0 content package (zip; --unzipped for a folder; --check validates it)")
