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

from .site import HtmlExporter

exporter = HtmlExporter()

__all__ = ["HtmlExporter", "exporter"]
