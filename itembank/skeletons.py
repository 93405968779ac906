"""Valid starting points for each item type (``itembank new TYPE ID``)."""

from __future__ import annotations

from .model import ITEM_TYPES

_HEAD = """\
# {type} item — edit the text, keep the id stable once the item is in use.
id: {id}
type: {type}
title: {title}
topic: general
difficulty: medium
level: beginner
bloom: understand
points: {points}
status: draft
tags: []
"""

_TEACHING = """\
rationale: |
  Why the key is right.
hints:
  - A nudge towards the answer.
"""

_BODIES = {
    "multiple_choice": """\
stem: |
  Write the question here.
shuffle: true
options:
  - id: a
    text: The correct answer
    correct: true
    feedback: Why this is right.
  - id: b
    text: A plausible wrong answer
    feedback: Why this is wrong.
  - id: c
    text: Another wrong answer
    feedback: Why this is wrong.
""",
    "multiple_response": """\
stem: |
  Select all that apply.
scoring: partial
options:
  - id: a
    text: A correct statement
    correct: true
    feedback: Why this belongs.
  - id: b
    text: Another correct statement
    correct: true
    feedback: Why this belongs.
  - id: c
    text: A wrong statement
    feedback: Why this does not belong.
""",
    "true_false": """\
stem: |
  A statement the learner judges true or false.
answer: true
true_feedback: Right — explain why.
false_feedback: Not quite — explain why it is true.
""",
    "short_answer": """\
stem: |
  Name the thing.
answers:
  - thing
  - the thing
case_sensitive: false
""",
    "numeric": """\
stem: |
  Compute the value.
answer: 42
tolerance: 0.5
unit: ms
""",
    "essay": """\
stem: |
  Explain in your own words.
rubric:
  - criterion: Names the first key concept
    points: 1
  - criterion: Names the second key concept
    points: 1
sample_answer: |
  A model answer for graders.
min_words: 30
max_words: 300
""",
    "matching": """\
stem: |
  Match each term with its description.
pairs:
  - prompt: Term one
    match: Description one
  - prompt: Term two
    match: Description two
distractors:
  - A description that matches nothing
""",
    "ordering": """\
stem: |
  Put the steps in order.
sequence:
  - First step
  - Second step
  - Third step
""",
    "cloze": """\
stem: |
  The capital of France is {{capital}} and it lies on the {{river}}.
blanks:
  capital:
    answers: [Paris]
  river:
    choices: [Seine, Rhine, Danube]
    correct: Seine
""",
    "flashcard": """\
stem: |
  The front of the card: a question or term.
answer: |
  The back of the card: the answer.
""",
    "calculated": """\
stem: |
  A sample of {n} values has standard deviation {s:.1f}.
  What is the standard error of the mean?
variables:
  n: {min: 20, max: 100, step: 10}
  s: {min: 2, max: 12, decimals: 1}
derived:
  se: s / sqrt(n)
formula: se
tolerance: 0.01
tolerance_type: relative
answer_decimals: 3
solution:
  steps:
    - "SE = s / sqrt(n) = {s:.1f} / sqrt({n}) = {se:.3f}"
""",
}


def skeleton(item_type: str, item_id: str) -> str:
    """YAML text of a valid item of the given type."""
    if item_type not in ITEM_TYPES:
        raise ValueError(f"unknown type {item_type!r}")
    points = 2 if item_type == "essay" else 1
    head = _HEAD.format(type=item_type, id=item_id, title=item_id.replace("-", " ").capitalize(), points=points)
    teaching = "" if item_type == "flashcard" else _TEACHING
    return head + _BODIES[item_type] + teaching
