"""Plans the site's pages and renders them with the package's Jinja2 templates (autoescaped)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from itembank.errors import ItembankError, UsageError
from itembank.forked import shared_out
from itembank.formats import ExportContext, ExportResult
from itembank.fragments import Fragments, from_json_piece, item_digest, json_piece
from itembank.model import LEVELS, AnyItem, Bank, CalculatedItem, ClozeItem
from itembank.variants import expand, form_seed

from ..kit import autoescape
from ..kit.numbers import plural
from .content import MEDIA_DIR, HtmlText
from .links import broken_links
from .keys import scoring_key
from .views import PART, ItemView, dom_id, item_view, points_label

HERE = Path(__file__).parent
STATIC = ("itembank.css", "itembank.js")
ASSETS_DIR = "assets"
#: A BCP 47 language tag, loosely: letters, digits and hyphens.
_LANG = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")
#: The language of the pages' own words (buttons, headings, messages).
UI_LANG = "en"
PART_TITLES = {"flashcards": "Flashcards", "practice": "Practice", "open": "Open questions"}
LEVEL_TITLES = {"beginner": "Beginner", "intermediate": "Intermediate", "advanced": "Advanced", "": "Any level"}


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped unless it is Markup from the renderer (content.py)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.template_class = autoescape.Template  # the same escaping in fewer calls (kit.autoescape)
    env.filters["points"] = points_label
    return env


@dataclass
class Group:
    """A headed run of items on a page (a topic, a level, a blueprint section)."""

    title: str
    items: list[Any]  # the items' views, or on practice pages their articles (:class:`Article`)
    instructions: Any = ""
    pick: int | None = None
    slug: str = ""


@dataclass
class Article:
    """An item of a practice page as the page shows it: its ``<article>`` (the ``item`` macro of
    ``item.html.j2``, rendered or kept) and its answer key (for the page's keys)."""

    id: str
    key: dict[str, Any] | None
    html: Markup


@dataclass
class Page:
    file: str
    part: str
    title: str
    groups: list[Group]
    number: int = 1
    count: int = 1
    links: list[tuple[int, str]] = field(default_factory=list)  # (page number, file) of the part's pages


@dataclass
class PartPage:
    """A page of one part of the site (flashcards, practice, open questions) to render."""

    part: str
    number: int
    count: int
    links: list[tuple[int, str]]
    items: Sequence[AnyItem]  # as shown (see HtmlSite._deliverable)
    first_number: int  # the question number of its first item

    @property
    def file(self) -> str:
        return page_file(self.part, self.number)


@dataclass
class TestPage:
    """An assessment form's test page to render."""

    form: Bank
    file: str


#: From this many items on, the pages are shared out over ``ExportContext.jobs`` processes; below
#: it a fork costs more than it saves.
PARALLEL_FROM = 1000


def _page_key(fragments: Fragments, bank: Bank, task: PartPage | TestPage, common: dict[str, Any], nav: list[tuple[str, str]]) -> bytes | None:
    """A page's key in the fragment cache: its items as shown (each with the topic it is grouped
    under), its place in the site, the navigation, the common values (None: a page without items,
    rendered every time)."""
    if isinstance(task, TestPage):
        assert task.form.form is not None
        items: Sequence[AnyItem] = task.form.items
        where = ["test", task.file, repr(task.form.form), repr(task.form.config)]
    else:
        items = task.items
        where = ["part", task.part, str(task.number), str(task.count), repr(task.links), str(task.first_number)]
    if not items:
        return None
    rest = [f"{item_digest(i).hex()} {bank.by_id[i.id].topic if i.id in bank.by_id else None!r}" for i in items[1:]]
    first = bank.by_id[items[0].id].topic if items[0].id in bank.by_id else None
    return fragments.key(items[0], "page", *where, repr(nav), repr(sorted(common.items())), repr(first), *rest)


def _article_key(fragments: Fragments, item: AnyItem, common: dict[str, Any]) -> bytes:
    """An item's article's key in the fragment cache: the item and the values every page shares,
    not its number (an article is numbered anew when an item before it came or went)."""
    return fragments.key(item, "article", repr(sorted(common.items())))


#: An article's heading, which holds its number (``item.html.j2``): ``<h3 id="q-ID-h">Question N</h3>``.
_ARTICLE_NUMBER = '-h">Question {}</h3>'


def _article_piece(number: int, html: str, media: set[str]) -> bytes:
    return json_piece([number, sorted(media)]) + b"\n" + html.encode("utf-8")


def _from_article_piece(number: int, raw: bytes) -> tuple[Markup, list[str]] | None:
    """A kept article as article ``number`` (renumbered: its heading's number, once) and the bank
    images it shows, or None when the piece is damaged or not numbered as kept (rendered again)."""
    line, sep, body = raw.partition(b"\n")
    try:
        head = from_json_piece(line)
        html = body.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if not sep or not isinstance(head, list) or len(head) != 2 or type(head[0]) is not int or not isinstance(head[1], list) or not all(isinstance(m, str) for m in head[1]):
        return None
    kept, media = head
    old = _ARTICLE_NUMBER.format(kept)
    if not html.startswith("<article ") or html.count(old) != 1:  # (as the macro writes an article)
        return None
    if kept != number:
        html = html.replace(old, _ARTICLE_NUMBER.format(number))
    return Markup(html), media


def _from_page_piece(raw: bytes) -> tuple[bytes, list[str]] | None:
    """A kept page and the bank images it shows, or None when the piece is damaged (rendered again)."""
    line, sep, page = raw.partition(b"\n")
    try:
        media = from_json_piece(line)
    except ValueError:
        return None
    if not sep or not page or not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        return None
    return page, media


def _missing_reason(names: Sequence[str]) -> str:
    return f"cloze blank(s) {', '.join(names)} appear only inside code, where no input can go"


def page_file(part: str, n: int) -> str:
    return f"{part}.html" if n == 1 else f"{part}-{n}.html"


def chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def runs(views: Sequence[Any], label: Any) -> list[Group]:
    """Consecutive items with the same label as one group."""
    groups: list[Group] = []
    for v in views:
        title = label(v)
        if not groups or groups[-1].title != title:
            groups.append(Group(title=title, items=[]))
        groups[-1].items.append(v)
    return groups


class HtmlSite:
    """The writer of the ``html`` format (:class:`itembank.exporters.html.HtmlExporter`)."""

    def export(self, bank: Bank, ctx: ExportContext) -> ExportResult:
        result = ExportResult()
        text = HtmlText(ctx.renderer)
        page_size = ctx.options.page_size
        if page_size < 1:
            raise UsageError(f"html: page_size must be at least 1, not {page_size}")
        if not _LANG.fullmatch(ctx.options.lang):
            raise UsageError(f"html: lang must be a language tag such as en, fr or pt-BR, not {ctx.options.lang!r}")
        lang = ctx.options.lang
        common = {
            "bank_title": bank.title,
            # The interface (headings, buttons, messages, the script's results) is English: the page's
            # language; --lang is the bank's texts', marked on each element that shows one.
            "ui_lang": UI_LANG,
            "tl": Markup(f' lang="{lang}"') if lang != UI_LANG else "",
            "version": ctx.tool_version,
            "assets": ASSETS_DIR,
        }
        files: dict[str, bytes] = {}
        if bank.form is not None:
            views, skipped = self._views(bank.items, text, form_seed(bank.form))
            files["index.html"] = self._test_page(bank, views, text, "index.html", common, nav=[])
            self._account(result, bank.items, skipped)
        else:
            files.update(self._site(bank, ctx, text, page_size, common, result))
        for name in STATIC:
            files[f"{ASSETS_DIR}/{name}"] = (HERE / "static" / name).read_bytes()
        for ref in sorted(text.media):
            try:
                files[f"{MEDIA_DIR}/{ref}"] = bank.media_path(ref).read_bytes()
            except OSError as exc:
                raise ItembankError(f"image '{ref}' cannot be read: {exc.strerror or exc}") from None
        essays = sum(1 for i in bank.items if i.type == "essay")
        if essays:
            result.notes.append(f"{plural(essays, 'essay item')}: the student compares the answer with the rubric's concepts (self-assessed, not scored)")
        if ctx.options.check:
            broken = broken_links(files)
            if broken:
                raise ItembankError(f"html: {plural(len(broken), 'link')} to no file of the site, e.g. {broken[0]}")
            pages = sum(n.endswith('.html') for n in files)
            result.notes.append(f"checked: every link and image of {pages} page{'s' * (pages != 1)} resolves")
        result.files = files
        return result

    # -- the whole bank ----------------------------------------------------------------------------

    def _site(self, bank: Bank, ctx: ExportContext, text: HtmlText, page_size: int, common: dict[str, Any],
              result: ExportResult) -> dict[str, bytes]:
        by_part: dict[str, list[AnyItem]] = {"flashcards": [], "practice": [], "open": []}
        for item in bank.items:
            by_part[PART.get(item.type, "practice")].append(item)
        order = {level: n for n, level in enumerate(LEVELS)}
        by_part["flashcards"].sort(key=lambda i: order.get(i.level or "", len(order)))
        topics = {topic: n for n, topic in enumerate(bank.topics())}  # one heading per topic, first-seen order
        for part in ("practice", "open"):
            by_part[part].sort(key=lambda i: topics[i.topic or "General"])
        tests = self._forms(bank) if ctx.options.tests else []
        nav = [("index.html", "Home")] + [(page_file(p, 1), PART_TITLES[p]) for p, items in by_part.items() if items]
        if tests:
            nav.append(("index.html#tests", "Tests"))
        env = environment()
        skipped_all: dict[str, str] = {}
        tasks: list[PartPage | TestPage] = []
        for part, items in by_part.items():
            if not items:
                continue
            shown, skipped = self._deliverable(items, text)
            skipped_all.update(skipped)
            pages = list(chunks(shown, page_size))
            links = [(n, page_file(part, n)) for n in range(1, len(pages) + 1)]
            tasks += [PartPage(part, n, len(pages), links, chunk, (n - 1) * page_size + 1) for n, chunk in enumerate(pages, 1)]
        self._account(result, bank.items, skipped_all)
        test_links = []
        for form in tests:
            assert form.form is not None
            name = f"test-{form.form.name}.html"
            tasks.append(TestPage(form, name))
            test_links.append((name, f"{form.form.title} — form {form.form.form}", len(form.items)))
        # The pages are independent: with more than one job they are shared out over forked
        # processes (the same bytes, in the same order, whatever the number of jobs).
        jobs = ctx.jobs if len(bank.items) >= PARALLEL_FROM else 1
        files: dict[str, bytes] = {}
        if ctx.fragments is None:
            work = partial(self._render_pages, bank, text, env, common, nav)
            shares = shared_out(work, tasks, jobs)
            for share in shares:
                text.media.update(share[1])
            rendered = {name: data for share in shares for name, data in share[0]}
        else:
            rendered = self._cached_pages(bank, ctx.fragments, tasks, text, env, common, nav, ctx.jobs)
        for task in tasks:
            files[task.file] = rendered[task.file]
        counts = {p: len(items) for p, items in by_part.items()}
        files["index.html"] = self._render(env, "index.html.j2", common, nav, page=Page("index.html", "index", "Home", []),
                                           counts=counts, tests=test_links, topics=bank.topics())
        return files

    def _render_pages(self, bank: Bank, text: HtmlText, env: jinja2.Environment, common: dict[str, Any],
                      nav: list[tuple[str, str]], tasks: Sequence[PartPage | TestPage],
                      separately: bool = False, kept: Fragments | None = None,
                      ) -> tuple[list[tuple[str, bytes]], set[str], list[set[str]], list[tuple[bytes, bytes]], list[bytes]]:
        """The pages of ``tasks`` (file name, bytes), and the bank images they show (``separately``:
        also each page's, each page rendered with a texts renderer of its own).  ``kept``: the
        fragment cache, where a practice page's articles are taken from; an article not there (or
        damaged) is rendered with a texts renderer of its own (the images it shows are its own) and
        returned with its key, for the caller to keep (this may be a forked child), as are the keys
        of the articles taken (for the caller to count as used)."""
        out: list[tuple[str, bytes]] = []
        each: list[set[str]] = []
        made: list[tuple[bytes, bytes]] = []
        taken: list[bytes] = []
        macro = env.get_template("item.html.j2").module.item  # type: ignore[attr-defined]
        shared = text
        for task in tasks:
            if separately:
                text = HtmlText(shared.renderer)
                each.append(text.media)
            if isinstance(task, TestPage):
                assert task.form.form is not None
                views, _skipped = self._views(task.form.items, text, form_seed(task.form.form))
                out.append((task.file, self._test_page(task.form, views, text, task.file, common, nav)))
                continue
            if task.part == "flashcards":
                views = [item_view(item, task.first_number + i, text) for i, item in enumerate(task.items)]
                groups = runs(views, lambda v: LEVEL_TITLES.get(v.level, v.level.title()))
            else:
                articles = [self._article(macro, common, item, task.first_number + i, text, kept, made, taken) for i, item in enumerate(task.items)]
                groups = runs(articles, lambda v: bank.by_id[v.id].topic or "General")
            page = Page(task.file, task.part, PART_TITLES[task.part], groups, task.number, task.count, task.links)
            template = "flashcards.html.j2" if task.part == "flashcards" else "items.html.j2"
            out.append((task.file, self._render(env, template, common, nav, page=page, mode="practice")))
        return out, set().union(*each) if separately else text.media, each, made, taken

    def _article(self, macro: Any, common: dict[str, Any], item: AnyItem, number: int, text: HtmlText,
                 kept: Fragments | None, made: list[tuple[bytes, bytes]], taken: list[bytes]) -> Article:
        """Item ``item``'s article as question ``number``, by ``macro`` (the ``item`` macro of
        ``item.html.j2``) or kept (see :meth:`_render_pages`)."""
        if kept is None:
            return Article(item.id, scoring_key(item), macro(item_view(item, number, text), "practice", common["tl"]))
        key = _article_key(kept, item, common)
        raw = kept.get(key)
        found = _from_article_piece(number, raw) if raw is not None else None
        if found is not None:
            html, media = found
            text.media.update(media)
            taken.append(key)
            return Article(item.id, scoring_key(item), html)
        own = HtmlText(text.renderer)
        html = macro(item_view(item, number, own), "practice", common["tl"])
        text.media.update(own.media)
        made.append((key, _article_piece(number, html, own.media)))
        return Article(item.id, scoring_key(item), html)

    def _cached_pages(self, bank: Bank, fragments: Fragments, tasks: Sequence[PartPage | TestPage], text: HtmlText, env: jinja2.Environment,
                      common: dict[str, Any], nav: list[tuple[str, str]], jobs: int) -> dict[str, bytes]:
        """The pages of ``tasks`` by file name: a page whose items (and everything else it shows) are
        unchanged comes from the fragment cache, with the bank images it shows; the others are
        rendered here or over ``jobs`` forked processes, then kept (in this process)."""
        keys = {task.file: _page_key(fragments, bank, task, common, nav) for task in tasks}
        rendered: dict[str, bytes] = {}
        todo: list[PartPage | TestPage] = []
        for task in tasks:
            key = keys[task.file]
            raw = fragments.get(key) if key is not None else None
            page = _from_page_piece(raw) if raw is not None else None
            if page is None:
                todo.append(task)
                continue
            rendered[task.file] = page[0]
            text.media.update(page[1])
        # Each page is rendered with a texts renderer of its own, so that the images it records are
        # those of this page (a text rendered before would not be recorded again); shared out over
        # the jobs when the pages to render show enough items.
        # A practice page is put together from its items' articles, kept on their own: a page whose
        # items moved (one added or removed before them) renders only the items without one.
        work = partial(self._render_pages, bank, text, env, common, nav, separately=True, kept=fragments)
        shown = sum(len(t.form.items) if isinstance(t, TestPage) else len(t.items) for t in todo)
        shares = shared_out(work, todo, jobs if shown >= PARALLEL_FROM and len(todo) > 1 else 1)
        for share in shares:
            text.media.update(share[1])
            for key, piece in share[3]:
                fragments.put(key, piece)
            fragments.used(share[4])
            for (name, data), media in zip(share[0], share[2]):
                rendered[name] = data
                key = keys[name]
                if key is not None:
                    fragments.put(key, json_piece(sorted(media)) + b"\n" + data)
        fragments.hits += len(tasks) - len(todo)
        fragments.misses += len(todo)
        return rendered

    def _forms(self, bank: Bank) -> list[Bank]:
        from itembank.assessments import build_forms

        return [f for name in bank.assessments for f in build_forms(bank, name)]

    # -- pieces ------------------------------------------------------------------------------------

    def _views(self, items: Sequence[AnyItem], text: HtmlText, seed: int | str = 0) -> tuple[list[ItemView], dict[str, str]]:
        """The views of the items a page can show, numbered from 1, and the reasons for the others."""
        shown, skipped = self._deliverable(items, text, seed)
        return [item_view(item, n, text) for n, item in enumerate(shown, 1)], skipped

    def _deliverable(self, items: Sequence[AnyItem], text: HtmlText, seed: int | str = 0) -> tuple[list[AnyItem], dict[str, str]]:
        """The items as the pages show them (a calculated item as one seeded variant: a test page
        uses its form's seed), and the reasons for those no page can show."""
        shown: list[AnyItem] = []
        skipped: dict[str, str] = {}
        for item in items:
            if isinstance(item, CalculatedItem):
                try:
                    item = expand(item, 1, seed)[0]
                except ValueError as exc:  # no finite variant (validation rules this out for 300 draws)
                    skipped[item.id] = str(exc)
                    continue
            if isinstance(item, ClozeItem):
                missing = text.missing_blanks(item, dom_id(item))
                if missing:
                    skipped[item.id] = _missing_reason(missing)
                    continue
            shown.append(item)
        return shown, skipped

    def _account(self, result: ExportResult, items: Sequence[AnyItem], skipped: dict[str, str]) -> None:
        for item in items:
            if item.id in skipped:
                result.skip(item.id, skipped[item.id])
            else:
                result.wrote(item.type)

    def _test_page(self, form: Bank, views: list[ItemView], text: HtmlText, file: str, common: dict[str, Any],
                   nav: list[tuple[str, str]]) -> bytes:
        assert form.form is not None
        by_id = {v.id: v for v in views}
        groups = []
        for n, section in enumerate(form.form.sections, 1):
            groups.append(Group(
                title=section.title,
                items=[by_id[i] for i in section.item_ids if i in by_id],
                instructions=text.block(section.instructions),
                pick=section.pick,
                slug=f"s{n}",
            ))
        page = Page(file, "test", form.form.title, groups)
        return self._render(environment(), "test.html.j2", common, nav, page=page, form=form.form,
                            instructions=text.block(form.form.instructions))

    def _render(self, env: jinja2.Environment, template: str, common: dict[str, Any], nav: list[tuple[str, str]], **values: Any) -> bytes:
        keys = {v.id: v.key for g in values["page"].groups for v in g.items if v.key is not None}
        html = env.get_template(template).render(**common, nav=nav, keys=keys, **values)
        return html.encode("utf-8")
