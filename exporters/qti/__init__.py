"""The shared builder of QTI 2.1 and QTI 3.0 content packages (``qti21`` and ``qti30`` are its two exporters).

QTI 2.1 and 3.0 are one information model with two spellings: 2.1 uses camelCase elements and
attributes in the ``imsqti_v2p1`` namespace (``choiceInteraction maxChoices``), 3.0 uses kebab-case
``qti-`` elements in ``imsqtiasi_v3p0`` (``qti-choice-interaction max-choices``) and wraps rubric and
modal-feedback content in ``qti-content-body``.  Everything here is written once in the 2.1 spelling
and a :class:`~.profiles.Profile` renames it.  XHTML body elements (``p``, ``img``, ``pre``...) are the
same in both.

Scoring is explicit ``responseProcessing`` (no response processing templates) built only from operators the reference
player implements (``match``, ``mapResponse``, ``isNull``, ``gte``/``lte``, ``and``/``or``/``not``,
``stringMatch``, ``sum``), because templates cannot set the feedback outcomes and the player implements
only three of them.  ``equal toleranceMode`` is avoided: the player logs "toleranceMode is not
supported yet" and returns false, so numeric tolerance is a ``gte``/``lte`` interval check.

Modules: ``profiles`` (the two spellings, namespaces, package names), ``ids``, ``fields`` (plain
fields and labels), ``body`` (Markdown -> XHTML and MathML), ``writer`` (one item's file, by a Jinja2
template per item type: ``templates/``), ``template`` (a calculated item's template processing),
``assessment_test``, ``shapes`` and ``manifest`` (with LOM), ``package`` (files, zip, ``--check``).
"""

from __future__ import annotations

from itembank.formats import DELIVERY_STATUSES, ExportContext, ExportResult
from itembank.model import Bank

from .package import build_files, check_files, export_package, to_bytes
from .profiles import QTI21, QTI30, Profile
from .writer import prepare as prepare_texts

__all__ = ["QTI21", "QTI30", "Profile", "QtiExporter", "build_files", "check_files", "export_package", "to_bytes"]


class QtiExporter:
    """The exporter of one QTI version: ``qti21`` and ``qti30`` are its two instances."""

    build_cost = 3.0  # an item file of XHTML elements each, zipped (the costliest; see itembank.formats.Exporter)
    cached_build_cost = 0.22
    shares_out = True  # its items over ExportContext.jobs processes; see itembank.formats.Exporter
    #: The texts' markup, the same in both versions: a build with both converts it once (writer.prepare).
    prepares = staticmethod(prepare_texts)

    options = frozenset({"check", "unzipped", "status", "expand_variants"})
    default_status = DELIVERY_STATUSES

    def __init__(self, profile: Profile, description: str) -> None:
        self.profile = profile
        self.name = profile.key
        self.default_output = f"{profile.key}.zip"
        self.description = description

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        return export_package(self.profile, bank, ctx)
