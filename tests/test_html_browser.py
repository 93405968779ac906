"""The HTML export in a real browser: Debian's Chromium driven by Playwright (no browser download).

For every item of the example bank, the every-type bank and the HTML edge bank: answered correctly
the page shows full marks, answered wrongly zero and the right explanation; partial credit as the
other exports score it; flashcards reveal by click and keyboard; tests score at the end; axe-core
finds no serious or critical violation; the print stylesheet gives a clean paper.  Screenshots of
each page type go to build/html-screenshots/ (gitignored).  Under CI=true a missing Chromium,
Playwright or axe-core fails instead of skipping.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import ALL_TYPES_BANK, ROOT, SEED_BANK, generated_bank, require
from itembank import load_bank
from itembank.api import export
from itembank.atomic import write_result
from itembank.render import Renderer
from itembank.variants import expand
from itembank.model import (
    AnyItem,
    CalculatedItem,
    ChoiceItem,
    ClozeItem,
    EssayItem,
    MatchingItem,
    NumericItem,
    OrderingItem,
    ShortAnswerItem,
    TrueFalseItem,
)

pytestmark = pytest.mark.consumer

CHROMIUM = os.environ.get("ITEMBANK_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / ".consumers" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "build" / "html-screenshots"
EDGE_BANK = ROOT / "tests" / "banks" / "html-edge"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
RENDERER = Renderer()
BANKS = {"seed": SEED_BANK, "all-types": ALL_TYPES_BANK, "edge": EDGE_BANK}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM} (scripts/install-consumers.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright Python package (pip install -e '.[test]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each bank exported once, as a user would (``export html``), into a temporary folder."""
    out = {}
    for name, root in BANKS.items():
        target = tmp_path_factory.mktemp("html") / name
        write_result(export(load_bank(root), "html"), target)
        out[name] = target
    return out


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    local = ("file:", "http://127.0.0.1:")
    pg.on("request", lambda req: errors.append(f"network request {req.url}") if not req.url.startswith(local) else None)
    yield pg
    context.close()
    assert errors == [], f"script errors or network use on the page: {errors}"


def url(site: Path, file: str) -> str:
    return (site / file).as_uri()


@pytest.fixture(scope="module")
def static_host(sites: dict[str, Path]) -> Iterator[str]:
    """The exported folders served as a static host would (loopback HTTP, no server-side logic)."""
    import functools
    import http.server
    import threading

    root = next(iter(sites.values())).parent.parent
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def http_url(base: str, site: Path, file: str) -> str:
    return f"{base}/{site.parent.name}/{site.name}/{file}"


def items_of(bank: str) -> list[AnyItem]:
    """The bank's items as the practice page shows them: a calculated item as its seed-0 variant, a numeric
    item with the same id (the variants' answers are checked independently in test_calculated.py)."""
    return [expand(i, 1, 0)[0] if isinstance(i, CalculatedItem) else i for i in load_bank(BANKS[bank]).items]


def gradable(bank: str) -> list[tuple[str, AnyItem]]:
    return [(bank, i) for i in items_of(bank) if i.type not in ("essay", "flashcard")]


ALL_GRADABLE = gradable("seed") + gradable("all-types") + gradable("edge")


def find(page: Any, item_id: str) -> Any:
    """The item on its part's pages (the test banks fit on the first page)."""
    return page.locator(f'article[data-item="{item_id}"]')


def flip_case(text: str) -> str:
    return text.swapcase() if text.swapcase() != text else text


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def answer(article: Any, item: AnyItem, correct: bool) -> None:
    """Give the item's key (or a wrong answer) through the page's controls, as a student would."""
    dom = f"q-{item.id}"
    if isinstance(item, ChoiceItem):
        keys = {o.id for o in item.options if o.correct}
        wrong = [o.id for o in item.options if not o.correct]
        chosen = keys if correct else set(wrong if item.type == "multiple_response" else wrong[:1])
        for n, o in enumerate(item.options, 1):
            box = article.locator(f'[id="{dom}-c{n}"]')
            if o.id in chosen:
                article.locator(f'label[for="{dom}-c{n}"]').click()
                assert box.is_checked()
    elif isinstance(item, TrueFalseItem):
        value = item.answer if correct else not item.answer
        article.locator(f'label[for="{dom}-c{1 if value else 2}"]').click()
    elif isinstance(item, ShortAnswerItem):
        given = item.answers[0] if item.case_sensitive else flip_case(item.answers[0])
        article.locator("input.response").fill(f"  {given} " if correct else "certainly not this")
    elif isinstance(item, NumericItem):
        low, high = item.bounds
        article.locator("input.response").fill(number(item.centre) if correct else number(high + abs(high) + 1))
    elif isinstance(item, MatchingItem):
        n = len(item.pairs)
        for i in range(1, n + 1):
            target = i if correct else i % n + 1
            article.locator(f'select[data-prompt="P{i}"]').select_option(f"M{target}")
    elif isinstance(item, OrderingItem):
        want = [f"S{i}" for i in range(1, len(item.sequence) + 1)]
        if not correct:
            want.reverse()
        for pos, step in enumerate(want):
            li = article.locator(f'li[data-step="{step}"]')
            while article.locator("li[data-step]").evaluate_all("(els, s) => els.map(e => e.dataset.step).indexOf(s)", step) > pos:
                li.locator("button.move-up").click()
        order = article.locator("li[data-step]").evaluate_all("els => els.map(e => e.dataset.step)")
        assert order == want
    elif isinstance(item, ClozeItem):
        for n, blank in enumerate(item.blanks, 1):
            ctl = article.locator(f'[id="{dom}-b{n}"]')
            if blank.kind == "choice":
                right = str(blank.choices.index(blank.correct) + 1)
                other = next(str(k) for k in range(1, len(blank.choices) + 1) if str(k) != right)
                ctl.select_option(right if correct else other)
            elif blank.kind == "numeric":
                assert blank.number is not None
                ctl.fill(number(blank.number) if correct else number(blank.number + blank.tolerance + 1))
            else:
                given = blank.answers[0] if blank.case_sensitive else flip_case(blank.answers[0])
                ctl.fill(given if correct else "certainly not this")
    else:  # pragma: no cover
        raise AssertionError(item.type)


def result(article: Any) -> tuple[float, float, str]:
    r = article.locator(".result")
    return float(r.get_attribute("data-score")), float(r.get_attribute("data-max")), r.inner_text()


def visible_text(article: Any, selector: str) -> list[str]:
    return [t.strip() for t in article.locator(selector).evaluate_all("els => els.filter(e => !e.closest('[hidden]')).map(e => e.innerText)")]


@pytest.mark.parametrize("bank,item", ALL_GRADABLE, ids=[f"{b}:{i.id}" for b, i in ALL_GRADABLE])
def test_item_full_marks_then_zero_with_explanation(page: Any, sites: dict[str, Path], bank: str, item: AnyItem) -> None:
    page.goto(url(sites[bank], "practice.html"))
    article = find(page, item.id)
    article.scroll_into_view_if_needed()
    assert article.locator(".explain").is_hidden()
    answer(article, item, correct=True)
    article.locator("button.check").click()
    score, top, said = result(article)
    assert (score, top) == (round(item.points, 2), round(item.points, 2)), said
    assert said.startswith("✓ Correct")
    assert article.locator(".explain").is_visible() or not item.rationale

    page.reload()
    article = find(page, item.id)
    answer(article, item, correct=False)
    article.locator("button.check").click()
    score, top, said = result(article)
    assert score == 0 and top == round(item.points, 2), said
    assert said.startswith("✗ Incorrect")
    # the right explanation is shown: the chosen option's own, each wrong blank's, then the rationale
    expected: list[tuple[str, str]] = []
    if isinstance(item, ChoiceItem):
        picked = [o for o in item.options if not o.correct][: 1 if item.type == "multiple_choice" else None]
        expected += [(f'li[data-choice="{o.id}"] .choice-feedback', o.feedback) for o in picked if o.feedback]
    if isinstance(item, TrueFalseItem):
        fb = item.false_feedback if item.answer else item.true_feedback
        if fb:
            expected.append((f'li[data-choice="{"false" if item.answer else "true"}"] .choice-feedback', fb))
    if isinstance(item, ClozeItem):
        expected += [(f'li[data-blank="{b.name}"]', b.feedback) for b in item.blanks if b.feedback]
    if item.rationale:
        expected.append((".explain .ex-rationale", item.rationale))
    for selector, source in expected:
        element = article.locator(selector)
        assert element.is_visible(), f"{selector} hidden after a wrong answer"
        if "$" not in source:
            words = " ".join(RENDERER.plain(source).split())
            assert words[:40] in " ".join(element.inner_text().split()), (selector, source)
    # the explanations of options NOT chosen stay hidden
    if isinstance(item, ChoiceItem):
        for n, o in enumerate(item.options, 1):
            if o.correct and o.feedback:
                assert article.locator(f'li[data-choice="{o.id}"] .choice-feedback').is_hidden()


def test_a_large_bank_is_paged_and_each_page_works(page: Any, tmp_path: Path) -> None:
    """Generated bank of 600 items of all types: pages of 50, a pager that navigates by keyboard,
    items on a later page that grade like the first."""
    bank = load_bank(generated_bank(tmp_path / "bank", 600))
    site = tmp_path / "site"
    write_result(export(bank, "html", tests=False), site)
    practice = sorted(site.glob("practice*.html"))
    assert len(practice) >= 9
    page.goto(url(site, "practice.html"))
    assert page.locator("article.item").count() == 50
    page.locator('nav.pager a[rel="next"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/practice-2.html")
    assert page.locator("article.item h3").first.inner_text() == "Question 51"
    pages = page.locator("nav.pager li a").all_inner_texts()  # ... the last page's number, then "Next"
    assert pages[-1] == "Next" and pages[-2] == str(len(practice))
    page.goto(url(site, f"practice-{len(practice)}.html"))
    article = page.locator("article.item").first
    item = bank.by_id[article.get_attribute("data-item")]
    answer(article, item, correct=True)
    article.locator("button.check").click()
    assert result(article)[0] == round(item.points, 2)


def _score_after(page: Any, article: Any) -> float:
    article.locator("button.check").click()
    return result(article)[0]


def test_partial_credit_matches_the_other_exports(page: Any, sites: dict[str, Path]) -> None:
    """Multiple response (key points/k, distractor −points/(n−k), clamped), matching and cloze per
    part, as the QTI export scores them (checked there by the real QTI player)."""
    page.goto(url(sites["all-types"], "practice.html"))
    mr = find(page, "at-mr")  # 3 points, 2 keys of 4
    mr.locator('label[for="q-at-mr-c1"]').click()
    assert _score_after(page, mr) == 1.5
    assert mr.locator(".result").get_attribute("data-verdict") == "partial"
    mr.locator('label[for="q-at-mr-c3"]').click()  # one key and one distractor: 1.5 - 1.5
    assert _score_after(page, mr) == 0
    strict = find(page, "at-mr-strict")  # all or nothing
    strict.locator('label[for="q-at-mr-strict-c1"]').click()
    assert _score_after(page, strict) == 0
    match = find(page, "at-match")  # 3 points, 3 pairs: 1 each
    match.locator('select[data-prompt="P1"]').select_option("M1")
    match.locator('select[data-prompt="P2"]').select_option("D1")
    assert _score_after(page, match) == 1
    cloze = find(page, "at-cloze")  # 3 points, 3 blanks of 1
    cloze.locator('[id="q-at-cloze-b1"]').fill("PRE-TRAINED")  # case-insensitive
    cloze.locator('[id="q-at-cloze-b3"]').fill("4")
    assert _score_after(page, cloze) == 1
    num = find(page, "at-num-range")  # [0.001, 0.01], closed
    num.locator("input.response").fill("0.01")
    assert _score_after(page, num) == 1
    num.locator("input.response").fill("0.0101")
    assert _score_after(page, num) == 0
    num.locator("input.response").fill("1e-3")
    assert _score_after(page, num) == 1
    page.goto(url(sites["edge"], "practice.html"))
    code = find(page, "edge-code")  # case-sensitive
    code.locator("input.response").fill("<B>&amp;")
    assert _score_after(page, code) == 0
    code.locator("input.response").fill("<b>&amp;")
    assert _score_after(page, code) == 1
    cl = find(page, "edge-cloze")  # 2 points, blank weights 1 and 3: 0.5 and 1.5
    cl.locator('[id="q-edge-cloze-b2"]').fill("0.014")
    assert _score_after(page, cl) == 1.5
    assert cl.locator('li[data-blank="when"]').is_visible()  # that blank was left empty: its feedback shows


def _qti_rule_choice(item: ChoiceItem, chosen: set[str]) -> float:
    """The QTI export's rule, restated: exact key → points; partial → Σ values clamped; else 0."""
    keys = {o.id for o in item.options if o.correct}
    if chosen == keys:
        return item.points
    if item.type == "multiple_response" and item.scoring == "partial" and chosen:
        n_wrong = max(1, len(item.options) - len(keys))
        total = sum(item.points / len(keys) if o.correct else -item.points / n_wrong for o in item.options if o.id in chosen)
        return min(item.points, max(0.0, total))
    return 0.0


MULTI = [(b, i) for b in BANKS for i in items_of(b) if i.type == "multiple_response"]


@pytest.mark.parametrize("bank,item", MULTI, ids=[f"{b}:{i.id}" for b, i in MULTI])
def test_every_selection_of_a_multiple_response_item_scores_as_qti(page: Any, sites: dict[str, Path], bank: str, item: ChoiceItem) -> None:
    import itertools

    page.goto(url(sites[bank], "practice.html"))
    article = find(page, item.id)
    boxes = [article.locator(f'[id="q-{item.id}-c{n}"]') for n in range(1, len(item.options) + 1)]
    for picks in itertools.product([False, True], repeat=len(item.options)):
        for box, on in zip(boxes, picks):
            box.set_checked(on)
        chosen = {o.id for o, on in zip(item.options, picks) if on}
        assert _score_after(page, article) == round(_qti_rule_choice(item, chosen), 2), chosen


def test_every_matching_assignment_scores_per_pair(page: Any, sites: dict[str, Path]) -> None:
    import itertools

    item = next(i for i in items_of("all-types") if isinstance(i, MatchingItem))
    page.goto(url(sites["all-types"], "practice.html"))
    article = find(page, item.id)
    targets = [f"M{i}" for i in range(1, len(item.pairs) + 1)] + [f"D{i}" for i in range(1, len(item.distractors) + 1)]
    for combo in itertools.product(targets, repeat=len(item.pairs)):
        for n, target in enumerate(combo, 1):
            article.locator(f'select[data-prompt="P{n}"]').select_option(target)
        right = sum(1 for n, t in enumerate(combo, 1) if t == f"M{n}")
        expected = item.points if right == len(item.pairs) else right * item.points / len(item.pairs)
        assert _score_after(page, article) == round(expected, 2), combo


def test_prompts_that_share_a_match_take_the_same_target(page: Any, tmp_path: Path) -> None:
    """Moodle's "Classify the animals" (frog and newt → amphibian, cat and dog → mammal): each menu
    offers each distinct match once; the self-check gives full marks for the key and a share per
    prompt otherwise."""
    bank_dir = tmp_path / "bank"
    bank_dir.mkdir()
    (bank_dir / "classify.yaml").write_text(
        "id: classify\ntype: matching\nstem: Classify the animals.\npoints: 2\npairs:\n"
        "  - {prompt: frog, match: amphibian}\n  - {prompt: cat, match: mammal}\n"
        "  - {prompt: newt, match: amphibian}\n  - {prompt: dog, match: mammal}\ndistractors: [insect]\n", encoding="utf-8")
    site = tmp_path / "site"
    write_result(export(load_bank(bank_dir), "html"), site)
    page.goto(url(site, "practice.html"))
    article = find(page, "classify")
    for n in range(1, 5):
        offered = article.locator(f'select[data-prompt="P{n}"] option').evaluate_all("els => els.map(e => e.textContent)")
        assert sorted(offered[1:]) == ["amphibian", "insect", "mammal"]
    for n, label in enumerate(["amphibian", "mammal", "amphibian", "mammal"], 1):
        article.locator(f'select[data-prompt="P{n}"]').select_option(label=label)
    assert _score_after(page, article) == 2
    assert article.locator(".result").get_attribute("data-verdict") == "correct"
    article.locator('select[data-prompt="P3"]').select_option(label="mammal")  # newt → mammal: 3 of 4
    assert _score_after(page, article) == 1.5
    assert article.locator(".result").get_attribute("data-verdict") == "partial"


def test_hints_one_at_a_time(page: Any, sites: dict[str, Path]) -> None:
    page.goto(url(sites["edge"], "practice.html"))
    article = find(page, "edge-code")
    hints = article.locator("li.hint")
    assert hints.count() == 2 and hints.nth(0).is_hidden()
    button = article.locator("button.hint-button")
    button.click()
    assert hints.nth(0).is_visible() and hints.nth(1).is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('hint')")
    button.click()
    assert hints.nth(1).is_visible()
    assert button.get_attribute("aria-disabled") == "true"


ESSAYS = [(b, i) for b in BANKS for i in items_of(b) if isinstance(i, EssayItem)]


@pytest.mark.parametrize("bank,essay", ESSAYS, ids=[f"{b}:{i.id}" for b, i in ESSAYS])
def test_open_question_concepts_after_writing(page: Any, sites: dict[str, Path], bank: str, essay: EssayItem) -> None:
    page.goto(url(sites[bank], "open.html"))
    article = find(page, essay.id)
    article.locator("button.show-concepts").click()
    assert article.locator(".concepts").is_hidden()
    assert "Write your answer first" in article.locator(".result").inner_text()
    article.locator("textarea").fill("Pre-training learns general patterns; fine-tuning adapts the model to a task.")
    words = article.locator(".word-count").inner_text()
    assert words.startswith("11 words")
    assert ("(at least" in words) == bool(essay.min_words and essay.min_words > 11)
    article.locator("button.show-concepts").click()
    assert article.locator(".concepts").is_visible()
    labels = article.locator(".concept-list label")
    assert labels.count() == len(essay.rubric)
    for n in range(labels.count()):
        labels.nth(n).click()
    assert article.locator(".concept-score").get_attribute("data-covered") == str(len(essay.rubric))
    assert f"{len(essay.rubric)} of {len(essay.rubric)}" in article.locator(".concept-score").inner_text()
    if essay.sample_answer:
        assert article.locator(".sample").is_visible()
    if essay.hints:
        article.locator("button.hint-button").click()
        assert article.locator("li.hint").first.is_visible()


@pytest.mark.parametrize("bank", ["seed", "all-types", "edge"])
def test_flashcards_reveal_by_click_and_keyboard(page: Any, sites: dict[str, Path], bank: str) -> None:
    cards = [i for i in items_of(bank) if i.type == "flashcard"]
    page.goto(url(sites[bank], "flashcards.html"))
    for card in cards:
        li = page.locator(f'li.card[data-item="{card.id}"]')
        back = li.locator(".card-back")
        assert back.is_hidden()
        li.locator(".card-front").click()
        assert back.is_visible()
        button = li.locator("button.reveal")
        assert button.get_attribute("aria-expanded") == "true"
        button.focus()
        page.keyboard.press("Enter")
        assert back.is_hidden()
        page.keyboard.press("Space")
        assert back.is_visible()
    assert f"{len(cards)} of {len(cards)} cards revealed" in page.locator(".deck-status").inner_text()
    page.locator("button.restart").click()
    assert page.locator(".card-back:visible").count() == 0
    if bank == "seed":
        levels = page.locator("section.deck h2").all_inner_texts()
        assert levels == ["Beginner", "Intermediate"]
        order = lambda: page.locator("li.card").evaluate_all("els => els.map(e => e.dataset.item)")  # noqa: E731
        before = order()
        for _ in range(10):  # a shuffle of 3 beginner cards keeps the order 1 time in 6
            page.locator("button.shuffle").click()
            if order() != before:
                break
        assert sorted(order()) == sorted(before) and order() != before
        page.locator("button.restart").click()
        assert order() == before


def test_assessment_form_scores_at_the_end(page: Any, sites: dict[str, Path]) -> None:
    seed = load_bank(SEED_BANK)
    form = export(seed, "html", assessment="pattern-check", form="A")
    page.goto(url(sites["seed"], "test-pattern-check-A.html"))
    sections = page.locator("section.test-section h2").all_inner_texts()
    assert sections == ["Easy", "Medium", "Hard"]
    assert page.locator("button.check").count() == 0  # one Submit for the whole test
    from itembank.api import select_bank

    items = select_bank(seed, "pattern-check", "A").items
    for item in items:
        answer(find(page, item.id), item, correct=True)
    page.locator("button.submit-test").click()
    total = page.locator(".test-summary .total")
    assert total.get_attribute("data-score") == "10" and total.get_attribute("data-max") == "10"
    rows = page.locator(".section-scores tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["Easy", "Medium", "Hard"]
    assert page.evaluate("document.activeElement.id") == "summary"
    page.locator("button.reset-test").click()
    for item in items:
        answer(find(page, item.id), item, correct=False)
    page.locator("button.submit-test").click()
    assert total.get_attribute("data-score") == "0"
    assert find(page, items[0].id).locator(".explain").is_visible()
    assert form.files is not None and b'class="test"' in form.files["index.html"]


def test_random_delivery_section_draws_its_pick_when_the_page_opens(page: Any, tmp_path: Path) -> None:
    """A pool section (delivery: random) shows `count` of its items, drawn per opening; the score
    counts only the items shown."""
    import shutil

    bank_dir = tmp_path / "bank"
    shutil.copytree(SEED_BANK, bank_dir, ignore=shutil.ignore_patterns(".itembank-cache"))  # the bank, not a cache a command left in it
    (bank_dir / "assessments" / "pool.yaml").write_text(
        "title: Pool test\nsections:\n  - title: Fixed\n    select:\n      - ids: [pt-quiz-1]\n"
        "  - title: Pool\n    delivery: random\n    select:\n      - type: multiple_choice\n        difficulty: medium\n        count: 2\n"
    )
    bank = load_bank(bank_dir)
    site = tmp_path / "site"
    write_result(export(bank, "html"), site)
    pool = [i for i in bank.items if i.type == "multiple_choice" and i.difficulty == "medium"]
    from itembank.api import select_bank

    form = select_bank(bank, "pool", "A")  # option orders as the form has them
    page.goto(url(site, "test-pool-A.html"))
    section = page.locator('section.test-section[data-pick="2"]')
    assert section.locator("article.item").count() == len(pool) > 2
    shown = section.locator("article.item:not([hidden])")
    assert shown.count() == 2
    for n in range(shown.count()):
        item = form.by_id[shown.nth(n).get_attribute("data-item")]
        answer(shown.nth(n), item, correct=True)
    answer(find(page, "pt-quiz-1"), form.by_id["pt-quiz-1"], correct=True)
    page.locator("button.submit-test").click()
    total = page.locator(".test-summary .total")
    assert total.get_attribute("data-score") == "3" and total.get_attribute("data-max") == "3"


AXE_PAGES = [("seed", "index.html"), ("seed", "flashcards.html"), ("seed", "practice.html"), ("seed", "open.html"),
             ("seed", "test-pattern-check-A.html"), ("all-types", "practice.html"), ("edge", "practice.html"), ("edge", "flashcards.html")]


def run_axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("bank,file", AXE_PAGES, ids=[f"{b}:{f}" for b, f in AXE_PAGES])
def test_axe_no_serious_or_critical_violations(page: Any, sites: dict[str, Path], static_host: str, bank: str, file: str) -> None:
    """Served over loopback HTTP: axe reads the stylesheets (colour contrast), which file:// forbids."""
    require(AXE.is_file(), f"axe-core at {AXE} (scripts/install-consumers.sh)")
    page.goto(http_url(static_host, sites[bank], file))
    before = run_axe(page)
    # ... and with everything revealed: feedback, explanations, hints, concepts, card backs
    page.evaluate("""() => {
      document.querySelectorAll('textarea').forEach(t => { t.value = 'An answer.'; });
      document.querySelectorAll('button.check, button.show-concepts, button.hint-button, button.reveal').forEach(b => b.click());
      document.querySelectorAll('button.submit-test').forEach(b => b.click());
    }""")
    after = run_axe(page)
    problems = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in before + after]
    assert problems == []


def test_print_stylesheet_and_pdf(page: Any, sites: dict[str, Path], tmp_path: Path) -> None:
    page.goto(url(sites["all-types"], "practice.html"))
    page.emulate_media(media="print")
    assert page.locator("button.check").first.is_hidden()
    assert page.locator("nav").first.is_hidden()
    assert page.locator("article.item").first.is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "print-practice.png"), full_page=True)
    pdf = tmp_path / "paper.pdf"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url(sites["seed"], "test-pattern-check-A.html")],
                         capture_output=True, text=True, timeout=120)
    assert pdf.is_file(), run.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 1


SHOT_PAGES = [("seed", "index.html", "index"), ("seed", "flashcards.html", "flashcards"), ("seed", "practice.html", "practice"),
              ("seed", "open.html", "open"), ("seed", "test-pattern-check-A.html", "test"), ("all-types", "practice.html", "all-types-practice"),
              ("edge", "practice.html", "edge-practice")]


def test_screenshots_of_each_page_type(page: Any, sites: dict[str, Path]) -> None:
    """Artefacts for a person to look at (build/html-screenshots/); the assertions are elsewhere."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for bank, file, name in SHOT_PAGES:
        page.goto(url(sites[bank], file))
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        assert (SHOTS / f"{name}.png").stat().st_size > 1000
    # the answered states: a wrong choice with its explanation, a revealed card, a scored test
    page.goto(url(sites["seed"], "practice.html"))
    item = next(i for i in items_of("seed") if i.id == "pt-practice-1")
    article = find(page, item.id)
    article.locator("button.hint-button").click()
    answer(article, item, correct=False)
    article.locator("button.check").click()
    article.screenshot(path=str(SHOTS / "practice-answered-wrong.png"))
    page.goto(url(sites["seed"], "flashcards.html"))
    page.locator("li.card").first.click()
    page.screenshot(path=str(SHOTS / "flashcards-revealed.png"), full_page=True)
    page.goto(url(sites["seed"], "open.html"))
    page.locator("textarea").first.fill("Pre-training learns general patterns first; fine-tuning specialises.")
    page.locator("button.show-concepts").first.click()
    page.locator("article.item").first.screenshot(path=str(SHOTS / "open-concepts.png"))
    page.goto(url(sites["seed"], "test-pattern-check-A.html"))
    page.locator("button.submit-test").click()
    page.locator("#summary").screenshot(path=str(SHOTS / "test-summary.png"))


#: (accepted answer, case_sensitive, what the student types, right?): the page compares as
#: itembank.rules.typed_alike does.  "x  y" is shown "x y" (HTML collapses the spaces): typing what
#: one sees is right.  "İstanbul" lower-cased by JavaScript is "i̇stanbul" (a combining dot).
TYPED = [
    ("x  y", False, "x y", True),
    ("x  y", True, " x\ty  ", True),
    ("a\u3000b", False, "a b", True),
    ("İstanbul", False, "istanbul", True),
    ("İstanbul", False, "ISTANBUL", True),
    ("istanbul", False, "İSTANBUL", True),
    ("İstanbul", True, "istanbul", False),
    ("Straße", False, "STRASSE", True),
    ("ΟΔΟΣ", False, "οδοσ", True),
    ("café", False, "cafe\u0301", True),  # decomposed é
    ("café", True, "cafe\u0301", True),
    ("café", False, "cafe", False),
    ("ﬁne", False, "FINE", True),
    ("Yes", True, "yes", False),
    ("x y", False, "xy", False),
]


def test_typed_answers_compare_as_typed_alike(page: Any, tmp_path: Path) -> None:
    """A short answer or a typed blank is right when typed_alike (IB217's comparison) makes it the
    accepted answer: white space runs collapsed and trimmed, NFC/NFKC, a locale-independent case
    fold.  "x  y" rejected "x y" (shown so) and "İstanbul" rejected "istanbul" (toLowerCase)."""
    import json

    from itembank.rules import typed_alike

    bank = tmp_path / "bank"
    bank.mkdir()
    docs = []
    for n, (accepted, case, typed, right) in enumerate(TYPED):
        assert (typed_alike(accepted, case) == typed_alike(typed, case)) is right, (accepted, typed)
        docs.append({"id": f"sa-{n}", "type": "short_answer", "stem": "Type it.", "answers": [accepted], "case_sensitive": case})
        docs.append({"id": f"cz-{n}", "type": "cloze", "stem": "Type {{b}} here.", "blanks": {"b": {"answers": [accepted], "case_sensitive": case}}})
    (bank / "typed.json").write_text(json.dumps({"items": docs}, ensure_ascii=False), encoding="utf-8")
    site = tmp_path / "site"
    write_result(export(load_bank(bank), "html", tests=False), site)
    page.goto(url(site, "practice.html"))
    wrong = []
    for n, (accepted, case, typed, right) in enumerate(TYPED):
        for kind, control in (("sa", "input.response"), ("cz", f'[id="q-cz-{n}-b1"]')):
            article = find(page, f"{kind}-{n}")
            article.locator(control).fill(typed)
            article.locator("button.check").click()
            if (result(article)[0] == 1) is not right:
                wrong.append((kind, accepted, case, typed, right))
    assert wrong == []


def test_lang_marks_the_bank_texts_and_the_english_interface_stays_english(page: Any, tmp_path: Path) -> None:
    """--lang fr marked the whole page French, the English buttons ("Check", "Show a hint") and
    results too.  The page's language is its interface's (en); each element showing a bank text
    carries --lang."""
    site = tmp_path / "site"
    write_result(export(load_bank(ALL_TYPES_BANK), "html", lang="fr"), site)
    lang_of = "el => el.closest('[lang]').getAttribute('lang')"
    for file in ("index.html", "practice.html", "flashcards.html", "open.html"):
        page.goto(url(site, file))
        assert page.locator("html").get_attribute("lang") == "en"
        # the index's h1 is the bank's title (a bank text); the other pages' h1 is the part's name
        ui = page.locator("a.skip-link, nav a:not(.site-title a), footer p, .item-head h3, button, label[for$='-r'], .lead" + ("" if file == "index.html" else ", h1"))
        langs = ui.evaluate_all(f"els => els.map({lang_of})")
        assert langs and set(langs) == {"en"}, (file, langs)
        content = page.locator(".site-title" + (", h1" if file == "index.html" else "") + ", .stem, .choice label span[dir], .choice-feedback, .hint, .card-front, .card-back, .concept-desc, .sample, .explain div[dir], li.step .step-text")
        langs = content.evaluate_all(f"els => els.map({lang_of})")
        assert set(langs) == {"fr"}, (file, langs)
    page.goto(url(site, "practice.html"))
    article = page.locator("article.item-short_answer").first
    article.locator("input.response").fill("certainly not this")
    article.locator("button.check").click()
    assert article.locator(".result").evaluate(lang_of) == "en"
    assert article.locator(".stem").evaluate(lang_of) == "fr"
