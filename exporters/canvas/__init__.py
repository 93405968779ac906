"""``canvas``: a Canvas QTI 1.2 package (Classic Quizzes "QTI .zip file" import, Canvas flavour).

Layout, as Canvas's own quiz export writes it and its importer (QTIMigrationTool + ``qti_exporter``)
reads it::

    imsmanifest.xml                        resources: quiz (imsqti_xmlv1p2) -> meta, banks, images
    <quiz>/<quiz>.xml                      <questestinterop><assessment ident="<quiz>">
    <quiz>/assessment_meta.xml             <quiz identifier="<quiz>"> settings (same ident, or ignored)
    non_cc_assessments/<bank>.xml.qti      one <objectbank> per topic, ``bank_title`` before the items
    web_resources/<image path>             images, referenced as ``$IMS-CC-FILEBASE$/<image path>``

Why an objectbank per topic: the importer's metadata map has no ``question_bank`` field for quiz
items (it logs it as unmapped); items inside an ``<objectbank>`` get the bank's ``bank_title`` and
ident instead, so the user gets a reusable bank named "<bank> — <topic>".  The quiz holds the same
questions (identical content) with ``assessment_question_identifierref`` pointing at the bank copy,
which Canvas's importer de-duplicates, exactly as Canvas's own exports do.

Type mapping and every choice made for what Classic Quizzes cannot hold: see ``docs/canvas.md``.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from itembank.errors import ItembankError
from itembank.formats import DELIVERY_STATUSES, ExportContext, ExportResult
from itembank.model import Bank

from ..kit.zip import ZipStream
from .names import ZIP_LEVEL
from .package import builds_ahead, write_package
from .zipstream import Members, ZipView


class CanvasExporter:
    build_cost = 2.2  # see itembank.formats.Exporter
    cached_build_cost = 0.58
    shares_out = True  # its items over ExportContext.jobs processes; see itembank.formats.Exporter
    name = "canvas"
    description = "Canvas QTI 1.2 .zip (Classic Quizzes import, question banks per topic)"
    default_output = "canvas.zip"
    options = frozenset({"check", "unzipped", "status", "variants"})
    default_status = DELIVERY_STATUSES

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        result = ExportResult()
        unzipped = ctx.options.unzipped
        buf = io.BytesIO()
        try:
            with ExitStack() as stack:
                # With more than one job the questions are built over forked processes, and the zip
                # is deflated here: no process forks while another thread runs (itembank.forked).
                shared = builds_ahead(bank, ctx.jobs)
                zf = None if unzipped else ZipStream(buf, level=ZIP_LEVEL)
                if zf is None:
                    members = Members(None)
                else:
                    members = Members(zf, None if shared else stack.enter_context(ThreadPoolExecutor(max_workers=1)))
                write_package(bank, ctx, result, members, ctx.jobs if shared else 1)
                if zf is not None:
                    zf.close()  # (the writing thread is done: every member is complete)
        except ValueError as exc:  # a bank or section title XML cannot hold
            raise ItembankError(f"canvas export: {exc} (validating the bank finds the text)") from None
        if unzipped:
            result.files = members.files
        else:
            result.data = buf.getvalue()
        if ctx.options.check:
            from .check import check_package

            problems = check_package(members.files if result.data is None else ZipView(result.data))
            if problems:
                shown = "\n  ".join(problems[:20])
                raise ItembankError(f"canvas package failed the structural check ({len(problems)} problems):\n  {shown}")
            result.notes.append("structural check passed (manifest, quiz settings, every item's type, points, answers, feedback)")
        return result



exporter = CanvasExporter()
