"""Printable Markdown: student paper, answer key, flashcards (structure, secrecy, pandoc, determinism)."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from itembank.exporters import markdown as md_exporter
from itembank.exporters.kit.numbers import key_text, number_text
from itembank import Bank, ExportContext, load_bank
from itembank.assessments import build_forms
from itembank.model import (
    AnyItem,
    CalculatedItem,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    FlashcardItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
)
from itembank.variants import expand, form_seed

ROOT = Path(__file__).resolve().parents[1]
ALL_TYPES_BANK = ROOT / "tests" / "banks" / "all-types"
PARSER = MarkdownIt("commonmark").enable("table")


def run(bank: Bank) -> dict[str, str]:
    result = md_exporter.exporter.export(bank, ExportContext())
    assert result.files is not None
    return {k: v.decode("utf-8") for k, v in result.files.items() if k.endswith(".md")}


def norm(text: str) -> str:
    return " ".join(text.split())


def questions(text: str) -> list[tuple[int, str]]:
    """(number, source text) of every top-level ordered-list entry: one per question."""
    tokens = PARSER.parse(text)
    lines = text.splitlines()
    out = []
    start = 1
    for tok in tokens:
        if tok.type == "ordered_list_open" and tok.level == 0:
            start = int(tok.attrGet("start") or 1)
        elif tok.type == "list_item_open" and tok.level == 1:
            assert tok.map is not None
            out.append((start, "\n".join(lines[tok.map[0] : tok.map[1]])))
            start += 1
    return out


def papers(bank: Bank) -> list[tuple[Bank, dict[str, str], str]]:
    """The whole bank and, if it has assessments, every form: (bank, files, name)."""
    out = [(bank, run(bank), "bank")]
    if (bank.root / "assessments").is_dir():
        for name in sorted(p.stem for p in (bank.root / "assessments").glob("*.yaml")):
            for form in build_forms(bank, name):
                assert form.form is not None
                out.append((form, run(form), form.form.name))
    return out


def as_printed(bank: Bank) -> list[AnyItem]:
    """The bank's items as paper prints them: a calculated item as its variant for the bank's form
    (its numbers filled in; the variants themselves are checked in test_calculated.py)."""
    return [expand(i, 1, form_seed(bank.form))[0] if isinstance(i, CalculatedItem) else i for i in bank.items]


# --- the secrets of an item ----------------------------------------------------------------------


def secrets(item: AnyItem) -> list[str]:
    """Texts that only the key may show: explanations, model answers, rubrics."""
    out = [item.rationale or "", *item.hints, *item.common_mistakes]
    if item.solution:
        out += [s.text for s in item.solution.steps] + [item.solution.final_answer or "", item.solution.quick_check or ""]
    if isinstance(item, ChoiceItem):
        out += [o.feedback or "" for o in item.options]
    if isinstance(item, TrueFalseItem):
        out += [item.true_feedback or "", item.false_feedback or ""]
    if isinstance(item, EssayItem):
        out += [item.sample_answer or ""] + [c.criterion for c in item.rubric] + [c.description or "" for c in item.rubric]
    if isinstance(item, FlashcardItem):
        out.append(item.answer)
    if isinstance(item, ClozeItem):
        out += [b.feedback or "" for b in item.blanks]
    return [norm(s) for s in out if s.strip()]


def answers(item: AnyItem, *, key: bool = False) -> list[str]:
    """Short correct answers: they must not appear in the item's own question on paper.

    A numeric range is the exception: its bounds are the key, but a stem may well state them.
    """
    if isinstance(item, ShortAnswerItem):
        return list(item.answers)
    if isinstance(item, NumericItem):
        if item.range is not None:
            return [number_text(x) for x in item.range] if key else []
        # the key as shown (a calculated variant's on its answer_decimals); on paper, neither form
        shown = key_text(item)
        return [shown] if key else list(dict.fromkeys([number_text(item.centre), shown]))
    if isinstance(item, ClozeItem):
        return [a for b in item.blanks if b.kind == "text" for a in b.answers] + [number_text(b.number) for b in item.blanks if b.kind == "numeric" and b.number is not None]
    return []


# --- secrecy ---------------------------------------------------------------------------------------


def check_paper_has_no_key(bank: Bank, files: dict[str, str], name: str, source: Bank) -> None:
    paper = norm(files[f"{name}.md"])
    for item in as_printed(source) + as_printed(bank):
        for secret in secrets(item):
            assert secret not in paper, f"[{item.id}] key text on the paper {name}.md: {secret[:60]!r}"
    blocks = dict(questions(files[f"{name}.md"]))
    printed = [i for i in as_printed(bank) if not isinstance(i, FlashcardItem)]
    for n, block in blocks.items():
        item = item_of(block, printed)
        # The question's own labels (its points, its blank numbers) are not answers.
        words = re.sub(r"\*\(\d+ points?\)\*|\*\*\(\d+\)\*\*|\(\d+\)&nbsp;", " ", norm(block)).replace("\\", "")
        for answer in answers(item):
            assert not re.search(rf"(?<![\w-]){re.escape(answer)}(?![\w-])", words, re.IGNORECASE), f"[{item.id}] answer {answer!r} printed in question {n}"


def item_of(block: str, items: list[AnyItem]) -> AnyItem:
    """The item whose stem (first line) the question block holds."""
    found = [i for i in items if norm(i.stem.split("{{")[0].splitlines()[0]) in norm(block)]
    assert len(found) == 1, block[:80]
    return found[0]


def test_paper_never_shows_key_text_for_any_seed_bank_item(seed_bank: Bank) -> None:
    for bank, files, name in papers(seed_bank):
        check_paper_has_no_key(bank, files, name, seed_bank)


def test_paper_never_shows_key_text_for_any_item_type(all_types_bank: Bank) -> None:
    files = run(all_types_bank)
    check_paper_has_no_key(all_types_bank, files, "bank", all_types_bank)
    paper = files["bank.md"]
    assert "{{" not in paper  # cloze placeholders became numbered blanks
    assert not re.search(r"\{[A-Za-z_]\w*(:[^}]*)?\}", paper)  # calculated placeholders became the variant's numbers
    [calc] = [i for i in as_printed(all_types_bank) if i.id == "at-calc"]
    assert norm(calc.stem) in norm(paper)
    for n in (1, 2, 3):
        assert f"({n})&nbsp;{md_exporter.BLANK_LINE}" in paper


def test_matching_and_ordering_are_not_printed_in_answer_order(all_types_bank: Bank) -> None:
    match = next(i for i in all_types_bank.items if isinstance(i, MatchingItem))
    right = md_exporter.matches_column(match)
    assert sorted(right) == sorted([p.match for p in match.pairs] + list(match.distractors))
    assert right[: len(match.pairs)] != [p.match for p in match.pairs]
    order = next(i for i in all_types_bank.items if isinstance(i, OrderingItem))
    assert md_exporter.steps_column(order) != list(order.sequence)
    assert sorted(md_exporter.steps_column(order)) == sorted(order.sequence)


# --- the key ---------------------------------------------------------------------------------------


def test_key_covers_every_question_with_its_explanations(seed_bank: Bank, all_types_bank: Bank) -> None:
    for source in (seed_bank, all_types_bank):
        for bank, files, name in papers(source):
            on_paper = [n for n, _ in questions(files[f"{name}.md"])]
            key = dict(questions(files[f"{name}-key.md"]))
            assert on_paper == list(key) == list(range(1, len(on_paper) + 1))
            printed = [i for i in as_printed(bank) if not isinstance(i, FlashcardItem)]
            if bank.form is None:  # the whole bank prints by topic, topics in first-seen order
                topics = bank.topics()
                printed.sort(key=lambda i: topics.index(i.topic or "General"))
            assert len(printed) == len(on_paper)
            for n, item in zip(on_paper, printed):
                entry = norm(key[n])
                assert f"`{item.id}`" in entry, f"question {n} of {name}-key.md is not {item.id}"
                for secret in secrets(item):
                    assert secret in entry, f"[{item.id}] key misses {secret[:60]!r}"
                if isinstance(item, ChoiceItem):
                    letters = ", ".join(f"**{md_exporter.letter(k)}**" for k, o in enumerate(item.options) if o.correct)
                    assert f"**Answer:** {letters}" in entry
                for answer in answers(item, key=True):
                    assert answer in entry.replace("\\", "")


def test_key_letters_match_the_printed_options(seed_bank: Bank) -> None:
    form = build_forms(seed_bank, "pattern-check")[1]
    files = run(form)
    paper, key = dict(questions(files["pattern-check-B.md"])), dict(questions(files["pattern-check-B-key.md"]))
    for n, item in enumerate(form.items, 1):
        assert isinstance(item, ChoiceItem)
        [k] = [k for k, o in enumerate(item.options) if o.correct]
        letter = md_exporter.letter(k)
        assert f"**{letter}.** {norm(item.options[k].text)}" in norm(paper[n])
        assert f"**Answer:** **{letter}**" in key[n]


# --- structure (CommonMark parse) -----------------------------------------------------------------


def headings(tokens: list[Token], tag: str) -> list[str]:
    return [tokens[k + 1].content for k, t in enumerate(tokens) if t.type == "heading_open" and t.tag == tag]


def test_paper_structure_for_a_form(seed_bank: Bank) -> None:
    form = build_forms(seed_bank, "pattern-check")[0]
    assert form.form is not None
    text = run(form)["pattern-check-A.md"]
    tokens = PARSER.parse(text)
    assert headings(tokens, "h1") == ["Test this pattern: pre-training and fine-tuning (form A)"]
    assert headings(tokens, "h2") == [s.title for s in form.form.sections] == ["Easy", "Medium", "Hard"]
    lists = [t for t in tokens if t.type == "ordered_list_open" and t.level == 0]
    assert [int(t.attrGet("start") or 1) for t in lists] == [1, 5, 9]
    assert [n for n, _ in questions(text)] == list(range(1, 11))
    for n, block in questions(text):
        inner = PARSER.parse(textwrap.dedent(block.split("\n", 1)[1]))  # the entry's content, without its marker
        options = [t for t in inner if t.type == "list_item_open" and t.level == 1]
        assert len(options) == 4, f"question {n} has no A-D option list"
        assert [f"**{c}.**" in block for c in "ABCD"] == [True] * 4
        assert "(1 point)" in block
    fences = [t for t in tokens if t.type == "fence"]
    assert [t.info for t in fences if t.info.startswith("{=")] == ["{=latex}", "{=html}"] * 2  # a break between the 3 sections
    code = [t for t in fences if t.info == "python"]
    assert len(code) == 1 and "model.train(specific_task_data)" in code[0].content  # code blocks intact


def test_paper_structure_for_every_type(all_types_bank: Bank) -> None:
    text = run(all_types_bank)["bank.md"]
    tokens = PARSER.parse(text)
    assert headings(tokens, "h2") == ["training", "basics", "writing"]
    assert len(questions(text)) == 12  # every item but the flashcard
    tables = [k for k, t in enumerate(tokens) if t.type == "table_open"]
    assert len(tables) == 1  # matching: two columns of a table
    rows = [t for t in tokens[tables[0] :] if t.type == "tr_open"]
    assert len(rows) == 1 + 4  # header + 3 prompts / 4 options (one distractor)
    images = [c for t in tokens if t.type == "inline" for c in (t.children or []) if c.type == "image"]
    assert [i.attrGet("src") for i in images] == ["media/loss-curve.png"]
    essay = dict(questions(text))[12]  # the last question: writing comes after basics (with the calculated item, 11)
    assert "A sample of" not in essay and essay.count("\\_" * 50) >= 4  # answer lines for open questions
    calc = dict(questions(text))[11]
    assert "A sample of" in calc and calc.rstrip().endswith(" mm")  # one answer line with the unit


def test_pipes_in_plain_text_stay_inside_their_table_cell(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    root.mkdir()
    (root / "m.yaml").write_text(
        """\
id: pipes
type: matching
stem: Match the shell pieces.
pairs:
  - {prompt: "`a | b`", match: "pipe | to the next"}
  - {prompt: "a *star*", match: "2 * 3 _x_ [y] <z> $5 & ~"}
""",
        encoding="utf-8",
    )
    bank = load_bank(root)
    text = run(bank)["bank.md"]
    tokens = PARSER.parse(text)
    rows = [t for t in tokens if t.type == "tr_open"]
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(cells) == 3 * (len(rows) - 1)  # every row still has exactly 3 cells
    inline = "".join(c.content for t in tokens if t.type == "inline" for c in (t.children or []) if c.type == "text")
    assert "pipe | to the next" in inline and "2 * 3 _x_ [y] <z> $5 & ~" in inline  # plain text shows as written


def test_letters_go_past_z() -> None:
    assert [md_exporter.letter(k) for k in (0, 3, 25, 26, 27, 51, 52)] == ["A", "D", "Z", "AA", "AB", "AZ", "BA"]


def test_flashcards_are_front_back_pairs(seed_bank: Bank) -> None:
    text = run(seed_bank)["flashcards.md"]
    cards = [i for i in seed_bank.items if isinstance(i, FlashcardItem)]
    assert len(headings(PARSER.parse(text), "h2")) == len(cards) == 5
    flat = norm(text)
    for card in cards:
        assert f"**Front:** {norm(card.stem)}" in flat and f"**Back:** {norm(card.answer)}" in flat


def test_media_are_copied_next_to_the_files(all_types_bank: Bank) -> None:
    result = md_exporter.exporter.export(all_types_bank, ExportContext())
    assert result.files is not None
    assert result.files["media/loss-curve.png"] == (ALL_TYPES_BANK / "media" / "loss-curve.png").read_bytes()
    assert sum(result.written.values()) == len(all_types_bank.items) and not result.skipped


def test_delivery_time_pool_prints_a_seeded_draw_and_accounts_for_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "bank"
    shutil.copytree(ALL_TYPES_BANK, root)
    (root / "assessments").mkdir()
    (root / "assessments" / "pool.yaml").write_text(
        "title: Pool\ninclude_drafts: true\nsections:\n  - title: P\n    delivery: random\n    select:\n      - {type: [numeric, short_answer, true_false], count: 2, points: 1}\n",
        encoding="utf-8",
    )
    form = build_forms(load_bank(root), "pool")[0]
    result = md_exporter.exporter.export(form, ExportContext())
    assert len(questions(result.files["pool-A.md"].decode())) == 2  # type: ignore[index]
    assert sum(result.written.values()) == 2 and len(result.skipped) == 2
    assert all("draws 2 of 4" in reason for _, reason in result.skipped)
    assert result.notes


# --- pandoc and determinism ---------------------------------------------------------------------------


@pytest.mark.consumer
@pytest.mark.parametrize("reader", ["markdown", "gfm+raw_attribute"])
def test_pandoc_converts_paper_key_and_flashcards_without_warnings(pandoc: str, seed_bank: Bank, all_types_bank: Bank, tmp_path: Path, reader: str) -> None:
    for source in (seed_bank, all_types_bank):
        for bank, files, name in papers(source):
            for fname in (f"{name}.md", f"{name}-key.md", "flashcards.md"):
                path = tmp_path / fname
                path.write_text(files[fname], encoding="utf-8")
                proc = subprocess.run([pandoc, "-f", reader, "-t", "html", "--fail-if-warnings", str(path)], capture_output=True, text=True, check=False)
                assert proc.returncode == 0 and proc.stderr == "", f"{fname}: {proc.stderr}"
                if fname == f"{name}.md":
                    sections = len(headings(PARSER.parse(files[fname]), "h2"))
                    assert proc.stdout.count('<div style="page-break-after: always;"></div>') == sections - 1
                    assert "\\newpage" not in proc.stdout  # the LaTeX break is not leaked into HTML
                    assert proc.stdout.count("<ol") >= sections


@pytest.mark.consumer
def test_pandoc_latex_gets_the_page_breaks(pandoc: str, seed_bank: Bank) -> None:
    form = build_forms(seed_bank, "pattern-check")[0]
    proc = subprocess.run([pandoc, "-f", "markdown", "-t", "latex", "--fail-if-warnings"], input=run(form)["pattern-check-A.md"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.count("\\newpage") == 2 and "page-break-after" not in proc.stdout


def test_export_is_byte_identical(seed_bank: Bank, all_types_bank: Bank) -> None:
    for source in (seed_bank, all_types_bank):
        first = md_exporter.exporter.export(source, ExportContext()).files
        second = md_exporter.exporter.export(source, ExportContext()).files
        assert first == second
    forms_a = [run(f) for f in build_forms(seed_bank, "pattern-check")]
    forms_b = [run(f) for f in build_forms(seed_bank, "pattern-check")]
    assert forms_a == forms_b
    assert forms_a[0]["pattern-check-A.md"] != forms_a[1]["pattern-check-B.md"].replace("(form B)", "(form A)")


@pytest.mark.parametrize(
    "stem",
    [
        "The **{{b}}** is bold.",
        "An *{{b}}* and a _{{c}}_ in emphasis.",
        "Plural {{b}}s and {{c}}_x glued to the blank.",
        "Two blanks {{b}}{{c}} side by side, x{{d}} after a word.",
        "Both ***{{b}}*** and **x {{c}}** too.",
    ],
    ids=["strong", "emphasis", "glued-after", "adjacent", "strong-emphasis"],
)
def test_a_numbered_blank_prints_whole_next_to_any_markup(tmp_path: Path, stem: str) -> None:
    """A cloze blank printed inside emphasis (`**{{b}}**`) or glued to a word (`{{b}}s`) stays its
    number and its line: the export passes its audit (it refused `{{b}}s`: the line took the letter
    into its word) and the rendered page shows no stray `*` (`**{{b}}**` printed '****(1)** ___**')."""
    from itembank.api import export

    names = sorted(set(re.findall(r"\{\{(\w+)\}\}", stem)))
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    blanks = "".join(f"  {n}: {{answers: [ans{n}]}}\n" for n in names)
    (bank_dir / "c.yaml").write_text(f"id: c1\ntype: cloze\ntitle: Blanks\nstem: {stem!r}\nblanks:\n{blanks}", encoding="utf-8")
    result = export(load_bank(bank_dir), "markdown")  # runs the export's audit: a stem not found in the output is an error
    assert result.files is not None
    page = result.files["bank.md"].decode("utf-8")
    shown = re.sub(r"<[^>]+>", "", PARSER.render(page))
    for k in range(1, len(names) + 1):
        assert f"({k})" in shown
    assert "*" not in shown, shown
