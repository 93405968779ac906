"""The package's files: quiz, settings, one question bank per topic, manifest."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import IO, TYPE_CHECKING

from lxml import etree

from itembank.errors import ItembankError
from itembank.formats import ExportContext, ExportResult
from itembank.model import (
    CalculatedItem,
    AnyItem,
    Bank,
    FlashcardItem,
    Item,
)
from itembank.render import Renderer

from ..kit import ahead as kit_ahead
from ..kit import pieces
from ..kit.numbers import number_text, plural
from ..kit.zip import Chunked
from .calculated import CANVAS_LACKS, ROUND_NOTE, called, feedback_placeholders, lost_formats, stem_problem
from .html import CanvasHtml
from .items import QTI, ItemBuilder, meta_field, quiz_copy, sub
from .names import (
    BANK_FOLDER,
    CANVAS_NS,
    CP_NS,
    LOR,
    NO_TOPIC,
    QTI_NS,
    QTI_SCHEMA,
    XSI,
    bank_item_ident,
    migration_id,
    package_href,
    question_bank_title,
    quiz_ident,
    quiz_item_ident,
    topic_parts,
)
from .zipstream import BankSpool, Members

if TYPE_CHECKING:
    from itembank.fragments import Fragments


@contextmanager
def qti_document(out: IO[bytes]) -> Iterator[etree.xmlfile]:
    """An incremental writer of a ``<questestinterop>`` document: questions are written as they are built."""
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(QTI + "questestinterop", {f"{{{XSI}}}schemaLocation": QTI_SCHEMA}, nsmap={None: QTI_NS, "xsi": XSI}):
            yield xf


@dataclass
class QuizSection:
    ident: str
    title: str
    item_ids: tuple[str, ...]
    pick: int | None = None



def _sections(bank: Bank, qident: str) -> list[QuizSection]:
    """The form's sections, or one section per topic (Canvas flattens sections without a pick)."""
    if bank.form is not None:
        return [
            QuizSection(migration_id("itembank-section", qident, str(n), s.title), s.title, s.item_ids, s.pick)
            for n, s in enumerate(bank.form.sections)
        ]
    by_topic: dict[str | None, list[str]] = {}
    for item in bank.items:
        by_topic.setdefault(item.topic or None, []).append(item.id)
    return [
        QuizSection(migration_id("itembank-section", qident, *topic_parts(topic)), topic or NO_TOPIC, tuple(ids))
        for topic, ids in by_topic.items()
    ]


def _bank_ident(bank: Bank, topic: str | None) -> str:
    """The ident of a topic's question bank (``None``: the items without a topic, see names.NO_TOPIC)."""
    return migration_id("itembank-bank", bank.title, *topic_parts(topic))


def _bank_path(bank: Bank, topic: str | None) -> str:
    return f"{BANK_FOLDER}/{_bank_ident(bank, topic)}.xml.qti"


def _exportable(bank: Bank, result: ExportResult) -> dict[str, AnyItem]:
    """The items Canvas can hold, by id; every other item is skipped with its reason."""
    exported: dict[str, AnyItem] = {}
    for item in bank.items:
        if isinstance(item, FlashcardItem):
            result.skip(item.id, "flashcards have no Canvas quiz question type (use the markdown or xlsx export)")
        elif isinstance(item, CalculatedItem) and (problem := stem_problem(item)) is not None:
            result.skip(item.id, problem)
        elif item.type not in ItemBuilder.BUILDERS:
            result.skip(item.id, f"item type '{item.type}' has no Canvas question type")
        else:
            exported[item.id] = item
    return exported


def builds_ahead(bank: Bank, jobs: int) -> bool:
    """Whether an export of ``bank`` with ``jobs`` processes builds its questions in them
    (``kit.ahead``): more than one job, and ``kit.ahead.PARALLEL_FROM`` questions or more."""
    return jobs > 1 and len(_exportable(bank, ExportResult())) >= kit_ahead.PARALLEL_FROM


def _formula_notes(exported: dict[str, AnyItem], result: ExportResult) -> None:
    """Formulas Canvas's calculator cannot compute as we do: a function it lacks (the var_sets still
    carry our answers, so the questions score), or round()."""
    lacking: dict[str, list[str]] = {}
    rounding: list[str] = []
    for item in exported.values():
        if isinstance(item, CalculatedItem):
            functions = called(item)
            for name in sorted(functions & CANVAS_LACKS.keys()):
                lacking.setdefault(name, []).append(item.id)
            if "round" in functions:
                rounding.append(item.id)
    for name, ids in sorted(lacking.items()):
        result.notes.append(
            f"{CANVAS_LACKS[name]}: Canvas cannot recompute a formula using {name if name == '%' else name + '()'} (the var_sets carry "
            f"itembank's answers, so the questions score; regenerating them in Canvas fails), in: {', '.join(ids)}"
        )
    if rounding:
        result.notes.append(f"{ROUND_NOTE}: {', '.join(rounding)}")


def write_package(bank: Bank, ctx: ExportContext, result: ExportResult, members: Members, jobs: int = 1) -> None:
    """Write every file of the package into ``members``, in sorted order (see the section comment).

    ``jobs``: more than 1 builds the questions in that many processes; the caller passes it where
    :func:`builds_ahead` says so, with a ``members`` that deflates in this thread (no process forks
    while another thread runs).  The same bytes."""
    html = CanvasHtml(ctx.renderer)
    builder = ItemBuilder(html, result.notes, ctx.options.variants)
    qident = quiz_ident(bank)
    exported = _exportable(bank, result)
    formats = [i.id for i in exported.values() if isinstance(i, CalculatedItem) and lost_formats(i)]
    if formats:
        result.notes.append(
            "Canvas shows a formula question's variables as [name] with the variable's decimal places: "
            f"placeholder number formats ({{m:.2f}}) are dropped in: {', '.join(formats)}"
        )
    named = [i.id for i in exported.values() if isinstance(i, CalculatedItem) and feedback_placeholders(i)]
    if named:
        result.notes.append(
            "Canvas fills in a formula question's values in its question text only: the rationale, hints, common "
            f"mistakes and solution show each value as its variable's name, [name], in: {', '.join(named)}"
        )
    _formula_notes(exported, result)
    shuffle_note = _shuffle_note(bank, exported)
    if shuffle_note:
        result.notes.append(shuffle_note)
    topics = list(dict.fromkeys(i.topic or None for i in exported.values()))
    members.write(f"{qident}/assessment_meta.xml", _assessment_meta(bank, qident, exported, html))
    # The bank copies wait on disk, with the fragment cache too: they are copies (the pack's pieces,
    # when the pack has them, are other bytes), ~500 MB of them for 100,000 items.
    with tempfile.SpooledTemporaryFile(max_size=BankSpool.MEMORY) as spool_file:
        spool = BankSpool(spool_file)
        written: set[str] = set()
        built = None
        if jobs > 1:
            # The order the quiz writer asks for the questions in: the sections', then the others'.
            order = [exported[i] for sec in _sections(bank, qident) for i in sec.item_ids if i in exported]
            shown = {item.id for item in order}
            order += [item for item in exported.values() if item.id not in shown]
            fragments = ctx.fragments
            kept = (lambda item: fragments.has(_piece_key(fragments, bank, qident, item))) if fragments is not None else None
            built = kit_ahead.BuiltAhead(order, partial(_made_pieces, ctx.renderer, bank, qident, ctx.options.variants), jobs, kept)
        cached = _CachedQuestions(builder, bank, qident, result, spool, written, ctx.fragments, built) if ctx.fragments is not None or built is not None else None
        # The quiz and the question banks are deflated in chunks of items, kept in the fragment
        # cache (kit.zip.Chunked): after a one-item edit, a chunk or two of ~100 MB is deflated again.
        with members.open(f"{qident}/{qident}.xml", Chunked(b"</item>", ctx.fragments)) as out:
            _write_quiz(out, bank, qident, exported, builder, spool, written, result, cached)
        # items of the bank that no section delivers still belong in the question bank
        for item in exported.values():
            if item.id not in written:
                if cached is not None:
                    cached.quiz_copy(item)  # its bank copy is spooled (the quiz copy is not used)
                else:
                    _build(builder, bank, item, result, spool, written)
        images = {path: ref for ref, path in html.images.items()}  # refs "a.png" and "./a.png": one file
        bank_paths = {_bank_path(bank, t): t for t in topics}
        members.write("imsmanifest.xml", _manifest(qident, sorted(bank_paths), sorted(images)))
        for path in sorted(bank_paths):
            with members.open(path, Chunked(b"</item>", ctx.fragments)) as out:
                _write_bank(out, bank, bank_paths[path], spool)
    for path in sorted(images):
        # images[path] is a file name as render.local_image gives it: decoded, its fragment or query
        # already dropped; a '#' or '?' left in it is part of the name (media/C#-logo.png)
        target = bank.media_path(images[path])
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise ItembankError(f"image '{images[path]}' cannot be read: {exc.strerror or exc}") from None
        members.write(path, data)


def _write_quiz(
    out: IO[bytes],
    bank: Bank,
    qident: str,
    exported: dict[str, AnyItem],
    builder: ItemBuilder,
    spool: BankSpool,
    written: set[str],
    result: ExportResult,
    cached: _CachedQuestions | None = None,
) -> None:
    """The quiz: a section per form section (or topic); each question is built, its bank copy
    spooled, then given its quiz ident and a reference to the bank copy and written here (``cached``:
    the questions of the fragment cache, which does all that for an item)."""
    with qti_document(out) as xf:
        title = bank.form.quiz_title if bank.form else bank.title
        with xf.element(QTI + "assessment", ident=qident, title=title):
            md = etree.Element("qtimetadata")
            meta_field(md, "cc_maxattempts", "1")
            xf.write(md)
            with xf.element(QTI + "section", ident="root_section"):
                for sec in _sections(bank, qident):
                    members = [exported[i] for i in sec.item_ids if i in exported]
                    if not members:
                        continue
                    with xf.element(QTI + "section", ident=sec.ident, title=sec.title):
                        if sec.pick is not None:
                            xf.write(_selection(sec, members, result))
                        for item in members:
                            if cached is not None:
                                quiz_copy = cached.quiz_copy(item)
                                xf.flush()  # what the writer holds goes out first; the question follows as serialized
                                out.write(quiz_copy)
                                continue
                            bank_copy = _build(builder, bank, item, result, spool, written)
                            xf.flush()  # what the writer holds goes out first; the question follows as written
                            out.write(_quiz_copy(bank_copy, bank, qident, item))


def _write_bank(out: IO[bytes], bank: Bank, topic: str | None, spool: BankSpool) -> None:
    """One topic's question bank: an ``<objectbank>``, its ``bank_title``, then the spooled questions."""
    with qti_document(out) as xf, xf.element(QTI + "objectbank", ident=_bank_ident(bank, topic)):
        md = etree.Element("qtimetadata")
        meta_field(md, "bank_title", question_bank_title(bank, topic))  # before the items: read while parsing
        xf.write(md)
        xf.flush()  # what the writer holds goes out first; the questions follow as serialized
        spool.copy(topic, out)


def _build(
    builder: ItemBuilder, bank: Bank, item: AnyItem, result: ExportResult, spool: BankSpool, written: set[str]
) -> bytes:
    """Write one question; the first time, count it and spool its question-bank copy."""
    bank_copy = _question(builder, bank, item)
    if item.id not in written:
        written.add(item.id)
        result.wrote(item.type)
        spool.add(item.topic or None, bank_copy)
    return bank_copy


def _question(builder: ItemBuilder, bank: Bank, item: AnyItem) -> bytes:
    """One item's question, as its question-bank copy."""
    try:
        built = builder.build(item, bank_item_ident(bank, item))
    except ValueError as exc:  # characters XML 1.0 cannot hold (validation rule IB216), refused as lxml refuses them
        raise ItembankError(f"item '{item.id}': {exc} (validating the bank finds the text)") from None
    assert built is not None  # exported holds only buildable types
    return built.data


class _CachedQuestions:
    """Each item's question, bank copy and quiz copy, from the fragment cache when the item is
    unchanged, else built ahead in other processes (``ahead``) or here (:func:`_build`,
    :func:`_quiz_copy`), and kept.

    A piece holds the bank copy's bytes (as :func:`_build` spools them), then what the quiz copy has
    besides (:func:`_quiz_copy_layout`; the quiz writer writes the element as lxml serializes it on
    its own: inside the quiz document it inherits the default namespace), and in its head the
    layout, the notes the build added (added back in the same order) and the images the question
    shows (the package holds them).  A damaged piece is built again."""

    def __init__(
        self,
        builder: ItemBuilder,
        bank: Bank,
        qident: str,
        result: ExportResult,
        spool: BankSpool,
        written: set[str],
        fragments: Fragments | None,
        ahead: kit_ahead.BuiltAhead | None = None,
    ) -> None:
        self.builder, self.bank, self.qident = builder, bank, qident
        self.result, self.spool, self.written, self.fragments, self.ahead = result, spool, written, fragments, ahead

    def quiz_copy(self, item: AnyItem) -> bytes:
        """The item's quiz copy; the first time, the item is counted and its bank copy spooled."""
        bank_copy, quiz_copy = self._piece(item)
        if item.id not in self.written:
            self.written.add(item.id)
            self.result.wrote(item.type)
            self.spool.add(item.topic or None, bank_copy)
        return quiz_copy

    def _piece(self, item: AnyItem) -> tuple[bytes, bytes]:
        fragments = self.fragments
        key = _piece_key(fragments, self.bank, self.qident, item) if fragments is not None else b""
        if fragments is not None:
            found = self._used(fragments.get(key))
            if found is not None:
                fragments.hits += 1
                return found
            fragments.misses += 1
        raw = self.ahead.take(item) if self.ahead is not None else None
        copies = self._used(raw)
        if raw is None or copies is None:  # not built ahead: built here
            raw, bank_copy, quiz_copy = _made_piece(self.builder, self.bank, self.qident, item)
            copies = bank_copy, quiz_copy
        if fragments is not None:
            fragments.put(key, raw)
        return copies

    def _used(self, raw: bytes | None) -> tuple[bytes, bytes] | None:
        """The copies of a piece (its notes and images added to this export's), None when there is
        none or it is damaged."""
        piece = pieces.decode(raw)
        if piece is None:
            return None
        head, body = piece
        copies = _copies(head.get("q"), body)
        notes, images = head.get("n"), head.get("i")
        if copies is None or not pieces.strings(notes) or not pieces.strings(images):
            return None
        self.builder.notes.extend(notes)
        for ref in images:
            self.builder.html.package_image(ref)
        return copies


def _piece_key(fragments: Fragments, bank: Bank, qident: str, item: AnyItem) -> bytes:
    """The fragment cache's key of an item's piece."""
    return fragments.key(item, "question", bank_item_ident(bank, item), qident)


def _made_piece(builder: ItemBuilder, bank: Bank, qident: str, item: AnyItem) -> tuple[bytes, bytes, bytes]:
    """An item's question built with ``builder`` (its notes and images added to the builder's): the
    piece the fragment cache keeps of it (:class:`_CachedQuestions`), its bank copy and its quiz copy."""
    marks = len(builder.notes), len(builder.html.asked)
    bank_copy = _question(builder, bank, item)
    quiz_copy = _quiz_copy(bank_copy, bank, qident, item)
    layout, rest = _quiz_copy_layout(bank_copy, quiz_copy, bank_item_ident(bank, item))
    head = {"q": layout, "n": builder.notes[marks[0] :], "i": list(dict.fromkeys(builder.html.asked[marks[1] :]))}
    return pieces.encode(head, bank_copy + rest), bank_copy, quiz_copy


def _made_pieces(renderer: Renderer, bank: Bank, qident: str, variants: int, items: Sequence[AnyItem]) -> list[bytes]:
    """The pieces of ``items`` (:func:`_made_piece`), built with a builder of their own: what
    building them notes is in the pieces, and is added to the export's as each is used."""
    builder = ItemBuilder(CanvasHtml(renderer), [], variants)
    return [_made_piece(builder, bank, qident, item)[0] for item in items]


_METADATA_END = b"</qtimetadata>"


def _quiz_copy_layout(bank_copy: bytes, quiz_copy: bytes, bank_ident: str) -> tuple[list[int], bytes]:
    """How a piece keeps the quiz copy next to the bank copy without a second copy of the question.

    The quiz copy is the bank copy (lxml's bytes of the same element) with another ident and one more
    metadata field (:func:`_quiz_copy`): so it is kept as the bytes that differ, the new ident
    attribute and the field (both written by lxml, in ``quiz_copy``), and where they go in the bank
    copy.  The layout is checked here against the real quiz copy; when it does not give those bytes
    the quiz copy is kept whole.  Returns (the layout, the bytes kept after the bank copy)."""
    old = f'ident="{bank_ident}"'.encode()
    at, end = bank_copy.find(old), bank_copy.find(_METADATA_END)
    if 0 < at < end:
        ident = quiz_copy[at : quiz_copy.index(b'"', at + len(b'ident="')) + 1]
        grown = len(quiz_copy) - len(bank_copy)
        field = quiz_copy[end + len(ident) - len(old) : end + grown]
        layout = [len(bank_copy), at, at + len(old), end, len(ident)]
        if _patched(bank_copy, ident + field, layout) == quiz_copy:
            return layout, ident + field
    return [len(bank_copy)], quiz_copy


def _patched(bank_copy: bytes, rest: bytes, layout: list[int]) -> bytes:
    _, at, after, end, size = layout
    return bank_copy[:at] + rest[:size] + bank_copy[after:end] + rest[size:] + bank_copy[end:]


def _copies(layout: object, body: bytes) -> tuple[bytes, bytes] | None:
    """The bank copy and quiz copy of a piece (:func:`_quiz_copy_layout`), or None when its layout is damaged."""
    if not isinstance(layout, list) or not all(type(n) is int for n in layout) or not layout or not 0 <= layout[0] <= len(body):
        return None
    bank_copy, rest = body[: layout[0]], body[layout[0] :]
    if len(layout) == 1:
        return bank_copy, rest
    if len(layout) != 5 or not 0 < layout[1] <= layout[2] <= layout[3] <= layout[0] or not 0 <= layout[4] <= len(rest):
        return None
    return bank_copy, _patched(bank_copy, rest, layout)


def _quiz_copy(bank_copy: bytes, bank: Bank, qident: str, item: Item) -> bytes:
    """The quiz question of a bank question: its own ident plus a reference to the bank copy."""
    return quiz_copy(bank_copy, bank_item_ident(bank, item), quiz_item_ident(qident, item))


def _selection(sec: QuizSection, members: list[AnyItem], result: ExportResult) -> etree._Element:
    """A Canvas question group: pick ``n`` of the section's questions, each worth the same points."""
    points = {m.points for m in members}
    if len(points) > 1:
        result.notes.append(
            f"section '{sec.title}': a Canvas question group gives every question the same points; "
            f"used {number_text(max(points))} (items have {', '.join(number_text(p) for p in sorted(points))})"
        )
    assert sec.pick is not None
    so = etree.Element("selection_ordering")
    sel = sub(so, "selection")
    sub(sel, "selection_number").text = str(min(sec.pick, len(members)))
    sub(sub(sel, "selection_extension"), "points_per_item").text = number_text(max(points))
    return so


def _quiz_points(bank: Bank, exported: dict[str, AnyItem]) -> float:
    if bank.form is None:
        return sum(i.points for i in bank.items if i.id in exported)
    total = 0.0
    for s in bank.form.sections:
        members = [bank.by_id[i] for i in s.item_ids if i in exported]
        if not members:
            continue
        if s.pick is None:
            total += sum(m.points for m in members)
        else:
            total += min(s.pick, len(members)) * max(m.points for m in members)
    return total


def _shuffle_flags(bank: Bank, exported: dict[str, AnyItem]) -> dict[str, bool]:
    return {i.id: f for i in bank.items if i.id in exported and (f := getattr(i, "shuffle", None)) is not None}


def _shuffle(bank: Bank, exported: dict[str, AnyItem]) -> bool:
    """Canvas shuffles answers per quiz: on only when every choice/matching item allows it."""
    flags = _shuffle_flags(bank, exported)
    return bool(flags) and all(flags.values())


def _shuffle_note(bank: Bank, exported: dict[str, AnyItem]) -> str | None:
    """What Canvas does when the items' ``shuffle`` settings differ (it has one setting per quiz)."""
    flags = _shuffle_flags(bank, exported)
    fixed = [i for i, f in flags.items() if not f]
    free = [i for i, f in flags.items() if f]
    if not fixed or not free:
        return None
    return (
        f"Canvas shuffles answers for the whole quiz or not at all: {plural(len(fixed), 'item')} {'keeps its' if len(fixed) == 1 else 'keep their'} answer order "
        f"({', '.join(fixed[:5])}{' ...' if len(fixed) > 5 else ''}), so the quiz's 'Shuffle answers' is off and "
        f"{plural(len(free), 'item')} that allow{'s' * (len(free) == 1)} shuffling {'is' if len(free) == 1 else 'are'} shown in {'its' if len(free) == 1 else 'their'} exported order ({', '.join(free[:5])}{' ...' if len(free) > 5 else ''})"
    )


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _assessment_meta(bank: Bank, qident: str, exported: dict[str, AnyItem], html: CanvasHtml) -> bytes:
    root = etree.Element(f"{{{CANVAS_NS}}}quiz", nsmap={None: CANVAS_NS, "xsi": XSI}, identifier=qident)  # type: ignore[dict-item]  # lxml-stubs: None is the default namespace's key
    root.set(f"{{{XSI}}}schemaLocation", f"{CANVAS_NS} https://canvas.instructure.com/xsd/cccv1p0.xsd")
    c = f"{{{CANVAS_NS}}}"
    title = bank.form.quiz_title if bank.form else bank.title
    points = number_text(_quiz_points(bank, exported))
    description = html.block(bank.form.instructions) if bank.form and bank.form.instructions else ""

    def add(parent: etree._Element, tag: str, text: str) -> etree._Element:
        el = etree.SubElement(parent, c + tag)
        el.text = text
        return el

    add(root, "title", title)
    add(root, "description", description)
    add(root, "shuffle_answers", "true" if _shuffle(bank, exported) else "false")
    add(root, "scoring_policy", "keep_highest")
    add(root, "hide_results", "")
    add(root, "quiz_type", "assignment")
    add(root, "points_possible", points)
    add(root, "show_correct_answers", "true")
    add(root, "anonymous_submissions", "false")
    add(root, "could_be_locked", "false")
    add(root, "allowed_attempts", "1")
    add(root, "one_question_at_a_time", "false")
    add(root, "cant_go_back", "false")
    add(root, "available", "false")
    add(root, "one_time_results", "false")
    add(root, "show_correct_answers_last_attempt", "false")
    add(root, "only_visible_to_overrides", "false")
    add(root, "module_locked", "false")
    assignment = etree.SubElement(root, c + "assignment", identifier=migration_id("itembank-assignment", qident))
    add(assignment, "title", title)
    add(assignment, "workflow_state", "unpublished")
    add(assignment, "quiz_identifierref", qident)
    add(assignment, "points_possible", points)
    add(assignment, "grading_type", "points")
    add(assignment, "submission_types", "online_quiz")
    add(root, "assignment_group_identifierref", migration_id("itembank-assignment-group", bank.title))
    return _serialize(root)


def _manifest(qident: str, bank_paths: list[str], image_paths: list[str]) -> bytes:
    m = f"{{{CP_NS}}}"
    root = etree.Element(m + "manifest", nsmap={None: CP_NS, "xsi": XSI}, identifier=migration_id("itembank-manifest", qident))  # type: ignore[dict-item]  # lxml-stubs: None is the default namespace's key
    md = etree.SubElement(root, m + "metadata")
    etree.SubElement(md, m + "schema").text = "IMS Content"
    etree.SubElement(md, m + "schemaversion").text = "1.1.3"
    etree.SubElement(root, m + "organizations")
    res = etree.SubElement(root, m + "resources")
    meta_ident = migration_id("itembank-quiz-meta", qident)
    quiz = etree.SubElement(res, m + "resource", identifier=qident, type="imsqti_xmlv1p2")
    etree.SubElement(quiz, m + "file", href=f"{qident}/{qident}.xml")
    etree.SubElement(quiz, m + "dependency", identifierref=meta_ident)
    meta = etree.SubElement(res, m + "resource", identifier=meta_ident, type=LOR, href=f"{qident}/assessment_meta.xml")
    etree.SubElement(meta, m + "file", href=f"{qident}/assessment_meta.xml")
    for path in bank_paths:
        ident = path.rsplit("/", 1)[1].split(".", 1)[0]
        r = etree.SubElement(res, m + "resource", identifier=ident, type=LOR, href=path)
        etree.SubElement(r, m + "file", href=path)
    for path in image_paths:  # the zip members' names; the hrefs are URI references (package_href)
        href = package_href(path)
        r = etree.SubElement(res, m + "resource", identifier=migration_id("itembank-file", path), type="webcontent", href=href)
        etree.SubElement(r, m + "file", href=href)
    return _serialize(root)

