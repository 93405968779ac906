"""The example bank ``items/``: valid, complete, and faithful to the quiz page it was written from.

The faithfulness tests parse the source page (``<shared>/seed/pretraining-finetuning-quiz.txt``) and
compare every question, option, explanation, solution step, hint and common mistake with the bank,
item by item in page order.  Texts are compared after collapsing whitespace and dropping Markdown
backticks (the bank writes code such as ``print(predictions)`` as inline code) and the page's
"[OK]" markers; nothing else is forgiven, so a reworded or missing text fails.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest

from conftest import SEED_BANK, SHARED, require
from itembank import Bank, check_bank
from itembank.model import ChoiceItem, EssayItem, FlashcardItem

SEED_PAGE = SHARED / "seed" / "pretraining-finetuning-quiz.txt"

CARD_IDS = [f"pt-card-{n}" for n in range(1, 6)]
QUIZ_IDS = [f"pt-quiz-{n}" for n in range(1, 6)]
OPEN_IDS = ["pt-open-1", "pt-open-2"]
PRACTICE_IDS = [f"pt-practice-{n}" for n in range(1, 6)]
CHOICE_IDS = QUIZ_IDS + PRACTICE_IDS
FOLDER_OF = {"pt-card": "flashcards", "pt-quiz": "quiz", "pt-open": "open", "pt-practice": "practice"}
LETTERS = "ABCD"
LEVELS = ("beginner", "intermediate", "advanced")
DIFFICULTIES = ("easy", "medium", "hard")


# --- the source page --------------------------------------------------------------------------


@dataclass
class Card:
    level: str
    front: str
    back: str


@dataclass
class QuizQuestion:
    question: str
    options: list[str]
    explanation: str


@dataclass
class OpenQuestion:
    question: str
    hint: str
    concepts: int


@dataclass
class PracticeProblem:
    question_lines: list[str]
    difficulty: str
    options: list[str]
    steps: list[tuple[str, str]] = field(default_factory=list)
    final_answer: str = ""
    key_letter: str = ""
    quick_check: str = ""
    hint: str = ""
    mistakes: list[str] = field(default_factory=list)


@dataclass
class SeedPage:
    cards: list[Card]
    quiz: list[QuizQuestion]
    open: list[OpenQuestion]
    practice: list[PracticeProblem]


def strip_ok(text: str) -> str:
    """The page ends check lines with an "[OK]" marker that is decoration, not content."""
    return re.sub(r"\s*\[OK\]\s*$", "", text)


def parse_cards(lines: list[str], i: int) -> tuple[list[Card], int]:
    cards = []
    while lines[i] in LEVELS:
        assert lines[i + 3] == "Click to reveal answer", f"unexpected flashcard layout at line {i + 4}: {lines[i + 3]!r}"
        cards.append(Card(level=lines[i], front=lines[i + 1], back=lines[i + 2]))
        i += 4
    return cards, i


def parse_quiz(lines: list[str], i: int) -> tuple[list[QuizQuestion], int]:
    questions = []
    while i + 6 < len(lines) and lines[i + 5].startswith("✗"):
        options = lines[i + 1 : i + 5]
        assert [o[:1] for o in options] == list(LETTERS), f"quiz options at line {i + 2} are not A-D: {options}"
        questions.append(QuizQuestion(question=lines[i], options=[o[1:] for o in options], explanation=lines[i + 6]))
        i += 7
    return questions, i


def parse_open(lines: list[str], i: int) -> tuple[list[OpenQuestion], int]:
    questions = []
    while i + 2 < len(lines) and (m := re.fullmatch(r"You got /(\d+) concepts\.", lines[i + 2])):
        questions.append(OpenQuestion(question=lines[i], hint=lines[i + 1], concepts=int(m.group(1))))
        i += 3
    return questions, i


def parse_practice_block(block: list[str]) -> PracticeProblem:
    """One numbered practice problem, from its question line to its last common mistake."""
    first = re.sub(r"^\d+\.\s+", "", block[0])
    at = next(n for n, line in enumerate(block) if line in DIFFICULTIES)
    problem = PracticeProblem(question_lines=[first, *block[1:at]], difficulty=block[at], options=[])
    n = at + 1
    for letter in LETTERS:
        m = re.fullmatch(rf"{letter}\.\s+(.*)", block[n])
        assert m, f"practice option {letter} missing in {first!r}: {block[n]!r}"
        problem.options.append(m.group(1))
        n += 1
    assert block[n] == "Solution", f"no Solution after the options of {first!r}"
    n += 1
    while m := re.fullmatch(r"Step \d+:\s+(.*)", block[n]):
        problem.steps.append((m.group(1), block[n + 1]))
        n += 2
    assert block[n] == "Final Answer:", f"no Final Answer in {first!r}"
    m = re.fullmatch(r"(.*) -> Option ([A-D])", block[n + 1])
    assert m, f"final answer of {first!r} does not name an option: {block[n + 1]!r}"
    problem.final_answer, problem.key_letter = block[n + 1], m.group(2)
    assert block[n + 2] == "Quick Check:", f"no Quick Check in {first!r}"
    problem.quick_check = strip_ok(block[n + 3])
    assert block[n + 4].startswith("Hint: "), f"no Hint in {first!r}"
    problem.hint = strip_ok(block[n + 4][len("Hint: ") :])
    assert block[n + 5] == "Common Mistakes:", f"no Common Mistakes in {first!r}"
    problem.mistakes = block[n + 6 :]
    return problem


def parse_practice(lines: list[str], i: int) -> list[PracticeProblem]:
    starts = [n for n in range(i, len(lines)) if re.match(r"^\d+\.\s", lines[n])]
    bounds = [*starts, len(lines)]
    return [parse_practice_block(lines[a:b]) for a, b in zip(bounds, bounds[1:])]


def parse_seed_page(text: str) -> SeedPage:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    i = lines.index("Recall & Review") + 1
    cards, i = parse_cards(lines, i)
    quiz, i = parse_quiz(lines, i)
    open_questions, i = parse_open(lines, i)
    assert lines[i] == "Practice", f"expected the Practice section at line {i + 1}, found {lines[i]!r}"
    return SeedPage(cards=cards, quiz=quiz, open=open_questions, practice=parse_practice(lines, i + 1))


@pytest.fixture(scope="module")
def page() -> SeedPage:
    require(SEED_PAGE.is_file(), f"seed page {SEED_PAGE}")
    parsed = parse_seed_page(SEED_PAGE.read_text(encoding="utf-8"))
    # The parser must have found the whole page, or every comparison below would pass vacuously.
    assert (len(parsed.cards), len(parsed.quiz), len(parsed.open), len(parsed.practice)) == (5, 5, 2, 5)
    return parsed


def norm(text: str | None) -> str:
    """Whitespace collapsed, Markdown backticks dropped (inline code on the page is plain text)."""
    return " ".join((text or "").replace("`", "").split())


def contains_in_order(haystack: str, needles: list[str]) -> bool:
    at = 0
    for needle in needles:
        found = norm(haystack).find(norm(needle), at)
        if found < 0:
            return False
        at = found + len(norm(needle))
    return True


# --- validity and shape -----------------------------------------------------------------------


def test_seed_bank_is_valid_without_warnings() -> None:
    result = check_bank(SEED_BANK)
    assert [p.message for p in result.problems] == []
    assert result.files == 17
    assert len(result.items) == 17
    assert result.config.title == "Pre-training and Fine-tuning"


def test_seed_bank_holds_exactly_the_17_ids_by_type(seed_bank: Bank) -> None:
    by_type: dict[str, list[str]] = {}
    for item in seed_bank.items:
        by_type.setdefault(item.type, []).append(item.id)
    assert {t: sorted(ids) for t, ids in by_type.items()} == {
        "flashcard": sorted(CARD_IDS),
        "multiple_choice": sorted(CHOICE_IDS),
        "essay": sorted(OPEN_IDS),
    }
    assert Counter(i.type for i in seed_bank.items) == {"flashcard": 5, "multiple_choice": 10, "essay": 2}


def test_each_item_is_one_file_named_by_its_id_in_its_folder(seed_bank: Bank) -> None:
    for item in seed_bank.items:
        prefix = item.id.rsplit("-", 1)[0]
        assert item.location.path == f"{FOLDER_OF[prefix]}/{item.id}.yaml"
        assert item.location.index is None, f"{item.id} shares a file with other items"


def test_every_item_has_the_shared_metadata(seed_bank: Bank) -> None:
    for item in seed_bank.items:
        assert item.status == "approved", item.id
        assert item.source == "Pre-training and fine-tuning quiz page", item.id
        assert item.topic in ("pre-training", "fine-tuning"), item.id
        assert item.title and item.level and item.bloom and item.tags and item.objectives, item.id


def test_every_option_of_every_multiple_choice_item_has_feedback(seed_bank: Bank) -> None:
    for item_id in CHOICE_IDS:
        item = seed_bank.by_id[item_id]
        assert isinstance(item, ChoiceItem)
        assert [o.id for o in item.options] == ["a", "b", "c", "d"], item_id
        assert len(item.keys) == 1, item_id
        for option in item.options:
            assert norm(option.feedback), f"{item_id} option {option.id} has no feedback"
            assert norm(option.feedback) != norm(option.text), f"{item_id} option {option.id} feedback only repeats the option"
        wrong = [norm(o.feedback) for o in item.options if not o.correct]
        assert len(set(wrong)) == len(wrong), f"{item_id}: distractor feedback must be specific to each distractor"


def test_every_quiz_question_has_difficulty_and_rationale(seed_bank: Bank) -> None:
    difficulties = Counter(seed_bank.by_id[i].difficulty for i in QUIZ_IDS)
    assert set(difficulties) == set(DIFFICULTIES), f"quiz difficulties should spread over easy/medium/hard: {difficulties}"
    for item_id in QUIZ_IDS:
        assert norm(seed_bank.by_id[item_id].rationale), item_id


def test_every_practice_problem_is_fully_worked(seed_bank: Bank) -> None:
    for item_id in PRACTICE_IDS:
        item = seed_bank.by_id[item_id]
        assert item.difficulty in DIFFICULTIES, item_id
        assert item.solution is not None, item_id
        assert len(item.solution.steps) >= 2, item_id
        assert all(s.title and norm(s.text) for s in item.solution.steps), f"{item_id}: steps need a title and a text"
        assert norm(item.solution.final_answer), item_id
        assert norm(item.solution.quick_check), item_id
        assert len(item.hints) == 1 and norm(item.hints[0]), item_id
        assert item.common_mistakes and all(norm(m) for m in item.common_mistakes), item_id
        assert norm(item.rationale), item_id


def test_no_page_decoration_leaked_into_the_bank() -> None:
    for path in sorted(SEED_BANK.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert "[OK]" not in text, path
        assert "Click to reveal" not in text, path


def test_essays_have_four_one_point_rubric_criteria(seed_bank: Bank) -> None:
    for item_id in OPEN_IDS:
        item = seed_bank.by_id[item_id]
        assert isinstance(item, EssayItem)
        assert len(item.rubric) == 4, item_id
        assert [c.points for c in item.rubric] == [1, 1, 1, 1], item_id
        assert item.points == 4, item_id
        assert len({norm(c.criterion) for c in item.rubric}) == 4, item_id
        assert norm(item.sample_answer) and item.hints, item_id


# --- faithfulness to the page -----------------------------------------------------------------


def test_flashcards_match_the_page(page: SeedPage, seed_bank: Bank) -> None:
    for card, item_id in zip(page.cards, CARD_IDS, strict=True):
        item = seed_bank.by_id[item_id]
        assert isinstance(item, FlashcardItem)
        assert norm(item.stem) == norm(card.front), item_id
        assert norm(item.answer) == norm(card.back), item_id
        assert item.level == card.level, item_id


def test_quiz_questions_and_options_match_the_page(page: SeedPage, seed_bank: Bank) -> None:
    for question, item_id in zip(page.quiz, QUIZ_IDS, strict=True):
        item = seed_bank.by_id[item_id]
        assert isinstance(item, ChoiceItem)
        assert norm(item.stem) == norm(question.question), item_id
        assert [norm(o.text) for o in item.options] == [norm(t) for t in question.options], item_id
        assert norm(item.rationale) == norm(question.explanation), item_id


def test_open_questions_match_the_page(page: SeedPage, seed_bank: Bank) -> None:
    for question, item_id in zip(page.open, OPEN_IDS, strict=True):
        item = seed_bank.by_id[item_id]
        assert isinstance(item, EssayItem)
        assert norm(item.stem) == norm(question.question), item_id
        assert [norm(h) for h in item.hints] == [norm(question.hint)], item_id
        assert len(item.rubric) == question.concepts, item_id


def test_practice_problems_match_the_page(page: SeedPage, seed_bank: Bank) -> None:
    for problem, item_id in zip(page.practice, PRACTICE_IDS, strict=True):
        item = seed_bank.by_id[item_id]
        assert isinstance(item, ChoiceItem) and item.solution is not None
        # Problem 3 spreads its question over several lines around a code block: each line, in order.
        assert contains_in_order(item.stem, problem.question_lines), item_id
        assert [norm(o.text) for o in item.options] == [norm(t) for t in problem.options], item_id
        assert item.difficulty == problem.difficulty, item_id
        assert item.keys[0].id == problem.key_letter.lower(), f"{item_id}: key differs from the page's Final Answer"
        assert [(s.title, norm(s.text)) for s in item.solution.steps] == [(t, norm(x)) for t, x in problem.steps], item_id
        assert norm(item.solution.final_answer) == norm(problem.final_answer), item_id
        assert norm(item.solution.quick_check) == norm(problem.quick_check), item_id
        assert [norm(h) for h in item.hints] == [norm(problem.hint)], item_id
        assert [norm(m) for m in item.common_mistakes] == [norm(m) for m in problem.mistakes], item_id


def test_practice_code_is_a_fenced_python_block(seed_bank: Bank) -> None:
    stem = seed_bank.by_id["pt-practice-3"].stem
    block = re.search(r"```python\n(.*?)\n```", stem, re.S)
    assert block, "pt-practice-3 must hold its pseudocode in a ```python block"
    assert block.group(1).splitlines() == [
        "model = load_pretrained_model()",
        "model.train(specific_task_data)",
        "predictions = model.predict(test_data)",
        "print(predictions)",
    ]


def test_every_page_text_appears_in_the_bank(page: SeedPage, seed_bank: Bank) -> None:
    """A bank-wide sweep: each question and option text of the page is somewhere in the bank's texts."""
    bank_texts = norm(" \n ".join(_all_texts(seed_bank)))
    page_texts = [c.front for c in page.cards]
    page_texts += [t for q in page.quiz for t in (q.question, *q.options)]
    page_texts += [q.question for q in page.open]
    page_texts += [t for p in page.practice for t in (*p.question_lines, *p.options)]
    missing = [t for t in page_texts if norm(t) not in bank_texts]
    assert missing == []


def _all_texts(bank: Bank) -> list[str]:
    texts: list[str] = []
    for item in bank.items:
        texts.append(item.stem)
        if isinstance(item, ChoiceItem):
            texts.extend(o.text for o in item.options)
    return texts

