"""``qti21``: an IMS QTI 2.1 content package (zip, or a folder with ``--unzipped``).

One item file per item, an assessment test with a section per topic (or per form section), media
with manifest dependencies, LOM + QTI metadata.  The manifest declares ``<schema>QTIv2.1 Package``
and the QTI 2.1 namespace so that Canvas imports it as QTI 2.  The builder is shared with ``qti30``:
see ``itembank.exporters.qti`` and docs/qti.md.
"""

from __future__ import annotations

from .qti import QTI21, QtiExporter

exporter = QtiExporter(QTI21, "IMS QTI 2.1 content package (zip; --unzipped for a folder; --check validates it)")
