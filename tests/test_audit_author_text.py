"""The export audit against what the author wrote that looks like what it refuses: a long number
(the look of binary rounding, ``0.30000000000000004``) in a title or tag, and a cloze blank's
``{{name}}`` in a hint, a title or the stem with its braces escaped.  Those stand in the output as
written; the audit's checks still find a number itembank rounded and a blank it left as text."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

import pytest

from itembank import api
from itembank.errors import ItembankError
from itembank.formats import registry
from itembank.render import Renderer

LONG = "0.30000000000000004"  # what 0.1 + 0.2 prints: the look of binary rounding

ITEMS = f"""\
items:
- id: n1
  type: numeric
  title: Constant {LONG}
  topic: Topic {LONG}
  tags: [p={LONG}]
  objectives: [Reads {LONG}]
  author: Ann {LONG}
  source: Table {LONG}
  stem: What is 1 + 1?
  answer: 2
  tolerance: 0
- id: c1
  type: cloze
  title: "{LONG}"
  topic: "{LONG}"
  stem: One plus one is {{{{b1}}}}.
  blanks:
    b1:
      number: 2
      tolerance: 0
- id: k1
  type: calculated
  title: Rounded {LONG}
  stem: What is {{a}} + 1?
  variables:
    a: {{min: 1, max: 3, step: 1}}
  formula: a + 1
  tolerance: 0.01
"""


def _bank(root: Path, items: str) -> api.Bank:
    """The bank of one file, ``items.yaml``, holding ``items``."""
    (root / "items.yaml").write_text(items, encoding="utf-8")
    return api.load_bank(root)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> api.Bank:
    return _bank(tmp_path_factory.mktemp("bank"), ITEMS)


@pytest.mark.parametrize("fmt", sorted(registry()))
def test_a_long_number_the_author_wrote_in_a_title_or_tag_is_not_binary_rounding(bank: api.Bank, fmt: str) -> None:
    """A title, topic, tag, objective, author or source holding ``0.30000000000000004`` (a valid
    bank: the number is text there) is exported: the Moodle, GIFT and workbook exports refused it as
    "a number is written as 0.30000000000000004: binary rounding" (a bug in itembank, nothing
    written), because the audit looked for the author's numbers in the item's teaching texts and
    its numbers only."""
    result = api.export(bank, fmt)  # (raised ItembankError "... binary rounding ...")
    skipped = dict(result.skipped)
    assert "n1" not in skipped and not any("round" in why for why in skipped.values()), skipped


def test_binary_rounding_in_a_number_itembank_wrote_is_still_refused(bank: api.Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself stands: the numeric key written as the float's ``repr`` of 0.1 + 0.2
    (itembank's own arithmetic, not a number the author wrote) is refused, in an item whose title
    holds other long numbers."""
    from itembank.exporters.moodle import content, xml

    real = content.format_number

    def rounded(value: float) -> str:
        return "0.1000000000000000055" if value == 2 else real(value)

    for module in (content, xml):
        if hasattr(module, "format_number"):
            monkeypatch.setattr(module, "format_number", rounded)
    with pytest.raises(ItembankError, match=r"\[n1\] a number is written as 0.1000000000000000055: binary rounding"):
        api.export(bank, "moodle")


BRACES = """\
items:
- id: z1
  type: cloze
  title: "Fill {{b1}}"
  stem: 'Templates write \\{\\{b1\\}\\} as it is; one plus one is {{b1}} and two plus two is {{b2}}.'
  rationale: "The blank {{b1}} takes a number."
  hints: ["Think of {{b1}} as a sum"]
  blanks:
    b1:
      number: 2
      tolerance: 0
      feedback: "{{b1}} is two"
    b2:
      number: 4
      tolerance: 0
"""


@pytest.fixture(scope="module")
def braces_bank(tmp_path_factory: pytest.TempPathFactory) -> api.Bank:
    return _bank(tmp_path_factory.mktemp("braces"), BRACES)


@pytest.mark.parametrize("fmt", sorted(registry()))
def test_a_blank_name_the_author_wrote_as_text_is_not_a_blank_left_in_the_output(braces_bank: api.Bank, fmt: str) -> None:
    """``{{b1}}`` in the title, rationale, a hint and a blank's feedback, and ``\\{\\{b1\\}\\}`` in
    the stem (Markdown: the text ``{{b1}}``), of a valid cloze item: exported (QTI 2.1 and 3.0,
    Canvas and Moodle refused it as "the cloze blank {{b1}} is left in the output as text")."""
    result = api.export(braces_bank, fmt)
    skipped = dict(result.skipped)
    assert not any("left in the output" in why for why in skipped.values()), skipped


def test_a_blank_left_as_text_is_still_found_beside_one_the_author_wrote(tmp_path: Path) -> None:
    """The Moodle export of the item with its blank ``b2`` (which no other text of the item names)
    turned back into ``{{b2}}`` in the question text: the audit finds it; ``b1``'s ``{{b1}}`` that
    the author wrote stays allowed."""
    from itembank import audit

    bank = _bank(tmp_path, BRACES)
    result = api.export(bank, "moodle")
    assert result.data is not None
    text = result.data.decode("utf-8")
    fields = re.findall(r"\{1:NUMERICAL:[^}]*\}", text)
    assert len(fields) == 2, fields
    broken = dataclasses.replace(result, data=text.replace(fields[1], "{{b2}}").encode("utf-8"))
    problems = audit.audit("moodle", bank, broken, Renderer())
    assert "[z1] the cloze blank {{b2}} is left in the output as text" in problems, problems
    assert not any("{{b1}}" in p for p in problems), problems


def test_the_workbook_holds_a_feedback_that_names_a_blank_whose_name_markdown_reads_as_emphasis(tmp_path: Path) -> None:
    """A blank ``___-_-`` whose feedback names it (``{{___-_-}} $x$``): the workbook shows the
    feedback as written, and its audit reads the cell with the placeholder whole, but read the
    feedback rendered alone (``{{__<em>-</em>-}}``: the word "__") and refused the export."""
    bank = _bank(
        tmp_path,
        "id: u1\ntype: cloze\nstem: One plus one is {{___-_-}}.\nblanks:\n  ___-_-:\n    answers: [two]\n"
        "    feedback: '{{___-_-}} $\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}$'\n",
    )
    assert bank.items[0].blanks[0].feedback.startswith("{{___-_-}} $")
    api.export(bank, "xlsx")  # (raised "blanks.___-_-.feedback is not in the output")


@pytest.mark.parametrize("fmt", ["qti21", "qti30"])
def test_a_placeholder_markdown_drops_is_not_counted_as_one_to_print(tmp_path: Path, fmt: str) -> None:
    """A rationale whose line ```` ``` $x = {s}$ ```` opens a code block (its language: ``$x``; the
    rest of the line is dropped by Markdown, its placeholder with it): the QTI audit counted the
    placeholders as written (6) against the variables printed (5) and refused the export; it counts
    those a reader sees.  (Found by the generated banks' long run.)"""
    bank = _bank(
        tmp_path,
        "id: k1\ntype: calculated\nstem: 'What is {d}, or {d:08.3f}?'\n"
        "variables:\n  n: {min: 10, max: 100, step: 10}\n  s: {min: 0.5, max: 9.5, decimals: 1}\n"
        "derived: {d: 'n * s'}\nformula: 's / sqrt(n)'\ntolerance: 0.5\ntolerance_type: relative\n"
        'rationale: "{d:g} ({n:g}) *{s}* ```c\\nint main(void) {{ return 0; }}\\n``` $x = {s}$"\n',
    )
    result = api.export(bank, fmt)  # (raised "the calculated item has 6 placeholders but the output prints 5 variables")
    assert result.data is not None and not result.skipped
    with zipfile.ZipFile(io.BytesIO(result.data)) as package:
        item = package.read(next(n for n in package.namelist() if n.endswith("k1.xml")))
    assert len(re.findall(rb"<(?:printedVariable|qti-printed-variable)\b", item)) == 5


RANGE = """\
items:
- id: r1
  type: numeric
  stem: Name a number between the two bounds.
  range: {min: 900719925474099.0, max: 900719925474100.0}
  rationale: Any number between them.
"""


@pytest.mark.parametrize("fmt", sorted(registry()))
def test_the_middle_of_a_range_with_sixteen_digits_is_not_binary_rounding(tmp_path: Path, fmt: str) -> None:
    """A range whose middle, worked out in decimal (``NumericItem.centre``), has 16 significant
    digits: 900719925474099.5, exact.  The QTI exports write it as the correct response, and the
    audit refused it as "a number is written as 900719925474099.5: binary rounding" (nothing
    written; found by tests/test_build_generated.py), as it knew the author's numbers and not the
    middle itembank works out from them in decimal."""
    bank = _bank(tmp_path, RANGE)
    result = api.export(bank, fmt)  # (raised ItembankError "... binary rounding ..." for qti21 and qti30)
    assert "r1" not in dict(result.skipped)
    if fmt in ("qti21", "qti30"):
        assert result.data is not None
        with zipfile.ZipFile(io.BytesIO(result.data)) as package:
            assert "900719925474099.5" in package.read("items/r1.xml").decode("utf-8")


def test_a_middle_worked_out_in_binary_is_still_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check stands for a range: the middle of 0.1 and 0.2 worked out in binary floats
    (0.15000000000000002, not the 0.15 the author's numbers make) is refused."""
    from itembank.model import NumericItem

    bank = _bank(tmp_path, RANGE.replace("900719925474099.0", "0.1").replace("900719925474100.0", "0.2"))
    monkeypatch.setattr(NumericItem, "centre", property(lambda self: (self.bounds[0] + self.bounds[1]) / 2 if self.answer is None else self.answer))
    with pytest.raises(ItembankError, match=r"\[r1\] a number is written as 0.15000000000000002: binary rounding"):
        api.export(bank, "qti21")


def test_the_numbers_worked_out_in_decimal_leave_out_what_is_not_finite() -> None:
    """Validation refuses a number that is not finite (IB014), but a library caller may export a bank
    it did not validate: the audit works out no middle or bounds from such a number (inf - inf
    raised decimal.InvalidOperation), and those it does work out are the exact decimal ones."""
    from decimal import Decimal

    from itembank.audit import _worked_out_in_decimal

    inf = float("inf")
    assert _worked_out_in_decimal(inf, tolerance=inf) == []
    assert _worked_out_in_decimal(-inf, inf) == []
    assert _worked_out_in_decimal(0.1, 0.2) == [Decimal("0.15"), Decimal("0.05")]
    assert _worked_out_in_decimal(1.96, tolerance=0.005) == [Decimal("1.955"), Decimal("1.965")]
