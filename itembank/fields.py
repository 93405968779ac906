"""What kind of text every field is: the one decision each exporter follows (issue 9).

Every text field of an item, of the bank settings and of an assessment blueprint is exactly one of:

- ``markdown``: the author writes Markdown.  Validation refuses raw HTML (comments included, IB215),
  URLs with a scheme other than http/https/mailto (IB222), missing or outside images (IB211/IB212)
  and characters XML cannot carry, written or as references (IB216).  Exports render it with the
  shared renderer (HTML formats) or keep it as Markdown (the printed Markdown), never as raw markup.
- ``plain``: one line of literal text.  Nothing in it is markup: ``<script>``, ``# x``, ``]]>``,
  ``&amp;``, ``{``, ``=`` are shown as typed.  Each format escapes it for itself (HTML/XML text or
  attribute, GIFT's ``~=#{}:``, Markdown punctuation, spreadsheet formulas); a line break is shown as
  a space where the format has no line (a title, a heading, a dropdown choice).
- ``plain_lines``: literal text whose line breaks matter (an essay's response template): escaped like
  ``plain``, line breaks kept.

Paths use ``[]`` for "every entry of a list" and ``*`` for "every key of a mapping".  The README's
field table says the same, and ``tests/test_fields.py`` checks that validation and this table agree.
"""

from __future__ import annotations

from typing import Literal

FieldKind = Literal["markdown", "plain", "plain_lines"]

#: Item fields (``items/*.yaml``).
ITEM_FIELDS: dict[str, FieldKind] = {
    # Markdown: what learners read as content
    "stem": "markdown",
    "rationale": "markdown",
    "hints[]": "markdown",
    "common_mistakes[]": "markdown",
    "solution.steps[]": "markdown",
    "solution.steps[].text": "markdown",
    "solution.final_answer": "markdown",
    "solution.quick_check": "markdown",
    "options[].text": "markdown",
    "options[].feedback": "markdown",
    "true_feedback": "markdown",
    "false_feedback": "markdown",
    "rubric[].criterion": "markdown",
    "rubric[].description": "markdown",
    "sample_answer": "markdown",
    "pairs[].prompt": "markdown",
    "blanks.*.feedback": "markdown",
    "answer": "markdown",  # the back of a flashcard (a true/false or numeric answer is not text)
    # Plain text: names, labels and the strings a learner's answer is compared with
    "id": "plain",
    "options[].id": "plain",
    "title": "plain",
    "topic": "plain",
    "tags[]": "plain",
    "objectives[]": "plain",
    "author": "plain",
    "source": "plain",
    "unit": "plain",
    "formula": "plain",  # calculated: a formula (itembank.formulas), never shown as markup
    "derived.*": "plain",
    "answers[]": "plain",
    "pairs[].match": "plain",
    "distractors[]": "plain",
    "sequence[]": "plain",
    "solution.steps[].title": "plain",
    "blanks.*.answers[]": "plain",
    "blanks.*.choices[]": "plain",
    "blanks.*.correct": "plain",
    "reviews[].reviewer": "plain",
    "reviews[].date": "plain",
    "reviews[].comment": "plain_lines",
    "evidence[].date": "plain",  # analysis evidence, written by `itembank analyze --write`
    "evidence[].source": "plain",
    "evidence[].flags[]": "plain",
    "lint.ignore[].reason": "plain",  # why a lint finding is accepted (itembank lint)
    "response_template": "plain_lines",
}

#: Bank settings (``itembank.yaml``).
CONFIG_FIELDS: dict[str, FieldKind] = {
    "title": "plain",
    "lint.select[]": "plain",  # rule codes
    "lint.ignore[].reason": "plain",
}

#: Assessment blueprints (``assessments/*.yaml``).
ASSESSMENT_FIELDS: dict[str, FieldKind] = {
    "title": "plain",
    "instructions": "markdown",
    "sections[].title": "plain",
    "sections[].instructions": "markdown",
    "sections[].select[].title": "plain",
}


def kind(path: str, table: dict[str, FieldKind] = ITEM_FIELDS) -> FieldKind:
    """The kind of a field path such as ``options[].text`` (KeyError for a field that is not text)."""
    return table[path]


def markdown_fields(table: dict[str, FieldKind] = ITEM_FIELDS) -> list[str]:
    return [p for p, k in table.items() if k == "markdown"]


def plain_fields(table: dict[str, FieldKind] = ITEM_FIELDS) -> list[str]:
    return [p for p, k in table.items() if k != "markdown"]
