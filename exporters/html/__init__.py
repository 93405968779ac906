"""``html``: the bank as a static self-study site, and each assessment form as a test page.

``itembank export html`` writes a folder that works from ``file://`` and from any static host (no
server, no CDN, no network at run time):

* ``index.html`` — the bank's home page: what is in it, links to every part;
* ``flashcards.html`` — the flashcards grouped by level, revealed on click or keyboard, with
  shuffle and restart;
* ``practice.html`` — every gradable item with Check, the score, the chosen option's explanation,
  hints one at a time, then the explanation, answer, solution steps, final answer, quick check and
  common mistakes;
* ``open.html`` — open (essay) questions: the rubric's concepts revealed after the student writes;
* ``test-NAME-FORM.html`` — each form of each assessment of the bank: the blueprint's sections,
  one Submit, the score at the end;
* ``assets/`` (the page script and stylesheet), ``media/`` (the bank images the pages use).

Long parts are split into pages of ``page_size`` items.  With ``--assessment NAME --form X`` the
folder holds that form's test page as ``index.html``.  Scoring follows the QTI export (see
:mod:`.keys`); texts are rendered by :mod:`.content`; the templates (Jinja2, autoescaped) are in
``templates/`` and the static script and stylesheet in ``static/``.
"""

from __future__ import annotations

from itembank.formats import DELIVERY_STATUSES, ExportContext, ExportResult
from itembank.model import Bank


class HtmlExporter:
    """The format as the registry sees it; the writer (:mod:`.site`: Jinja2, the page views) is
    imported when it exports, not by a build's parent, which imports every format before its
    workers fork (~25 ms of its serial start)."""

    build_cost = 1.0  # see itembank.formats.Exporter
    cached_build_cost = 0.08
    shares_out = True  # its items over ExportContext.jobs processes; see itembank.formats.Exporter
    name = "html"
    description = "Static self-study site: flashcards, practice with Check and explanations, open questions, tests (works offline)"
    default_output = "html"
    options = frozenset({"check", "page_size", "lang", "tests", "status"})
    default_status = DELIVERY_STATUSES  # a site for learners: retired items left out

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        from .site import HtmlSite

        return HtmlSite().export(bank, ctx)


exporter = HtmlExporter()

__all__ = ["HtmlExporter", "exporter"]
