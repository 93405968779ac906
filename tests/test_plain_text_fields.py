"""Every plain-text field (itembank.fields) with hostile values, in every format (issue 9).

Each plain field of a bank, its items and a blueprint holds ``<marker><script>…</script>`` plus a
line break, ``#``, ``]]>``, ``&amp;``, ``{c}`` and ``=d``.  In every export: nothing becomes live
markup (no script element anywhere, in XML or in the HTML a format carries as text), the text is
shown as typed where the format shows it as HTML, a line break never starts a Markdown heading or
block, GIFT's specials are escaped, no spreadsheet cell becomes a formula (the workbook's only
formulas are the four of its Summary's review progress, which the exporter composes), and JSON keeps
the exact value.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree, html

from itembank import export, load_bank
from itembank.fields import ASSESSMENT_FIELDS, CONFIG_FIELDS, ITEM_FIELDS
from itembank.render import Renderer

FORMATS = ["json", "moodle", "gift", "qti21", "qti30", "canvas", "xlsx", "markdown", "html"]


def hostile(marker: str) -> str:
    return f"{marker}<script>alert(1)</script>\n# injected ]]> &amp; {{c}} =d"


def one_line(marker: str) -> str:  # a choice must stay one line in some formats' models
    return f"{marker}<script>alert(1)</script> # injected ]]> &amp; {{c}} =d"


def _q(value: str) -> str:
    return json.dumps(value)  # a YAML double-quoted scalar


#: marker -> the field path of itembank.fields it stands in
FIELDS_USED = {
    "Zzbanktitle": "config:title",
    "Zzitemtitle": "title",
    "Zztopic": "topic",
    "Zztag": "tags[]",
    "Zzobj": "objectives[]",
    "Zzauthor": "author",
    "Zzsource": "source",
    "Zzunit": "unit",
    "Zzanswer": "answers[]",
    "Zzmatch": "pairs[].match",
    "Zzdistractor": "distractors[]",
    "Zzsequence": "sequence[]",
    "Zzsteptitle": "solution.steps[].title",
    "Zzchoice": "blanks.*.choices[]",
    "Zztyped": "blanks.*.answers[]",
    "Zztemplate": "response_template",
    "Zzquiztitle": "assessment:title",
    "Zzsection": "assessment:sections[].title",
    "Zzpool": "assessment:sections[].select[].title",
    "Zzreviewer": "reviews[].reviewer",
    "Zzcomment": "reviews[].comment",
}


def test_the_hostile_bank_covers_every_plain_field_that_exports_show() -> None:
    plain = {p for p, k in ITEM_FIELDS.items() if k != "markdown"}
    plain |= {f"config:{p}" for p, k in CONFIG_FIELDS.items() if k != "markdown"}
    plain |= {f"assessment:{p}" for p, k in ASSESSMENT_FIELDS.items() if k != "markdown"}
    # ids, dates and analysis flags are patterned (no markup possible); the dropdown key repeats a
    # choice; analysis evidence is written by `analyze --write` from a report's file name; a lint
    # suppression's reason is for authors (no export shows it).
    not_shown = {"id", "options[].id", "reviews[].date", "blanks.*.correct", "evidence[].date", "evidence[].source", "evidence[].flags[]",
                 "lint.ignore[].reason", "config:lint.select[]", "config:lint.ignore[].reason",
                 # a calculated item's formulas must parse in the formula grammar (IB230): numbers, names,
                 # operators and known functions, so no markup, quote or leading '=' can stand in them
                 "formula", "derived.*"}  # fmt: skip
    assert plain - not_shown == set(FIELDS_USED.values())


REVIEWS = "    reviews: [{decision: approve, reviewer: %s, comment: %s}]\n" % (_q('=HYPERLINK("http://x")Zzreviewer'), _q("=1+1" + hostile("Zzcomment")))


@pytest.fixture(scope="module")
def hostile_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "bank"
    (root / "assessments").mkdir(parents=True)
    (root / "itembank.yaml").write_text(f"title: {_q(hostile('Zzbanktitle'))}\n", encoding="utf-8")
    common = (
        f"    title: {_q(hostile('Zzitemtitle'))}\n    topic: {_q(hostile('Zztopic'))}\n    tags: [{_q(one_line('Zztag'))}]\n"
        f"    objectives: [{_q(hostile('Zzobj'))}]\n    author: {_q(hostile('Zzauthor'))}\n    source: {_q(hostile('Zzsource'))}\n"
        "    status: approved\n"
        + REVIEWS
    )
    items = [
        "  - id: q-cloze\n    type: cloze\n" + common + "    stem: 'Type {{t}} and pick {{b}}; then {{d}}.'\n"
        f"    blanks:\n      t: {{answers: [{_q(one_line('Zztyped'))}]}}\n"
        f"      b: {{choices: [{_q(one_line('Zzchoice'))}, other], correct: other}}\n"
        f"      d: {{choices: [{_q(one_line('Zzchoice'))}, other], correct: {_q(one_line('Zzchoice'))}}}\n",
        "  - id: q-essay\n    type: essay\n" + common + "    stem: Write.\n    rubric: [{criterion: c, points: 1}]\n"
        f"    response_template: {_q(hostile('Zztemplate'))}\n",
        "  - id: q-match\n    type: matching\n" + common + "    stem: Match.\n"
        f"    pairs:\n      - {{prompt: a, match: {_q(one_line('Zzmatch'))}}}\n      - {{prompt: b, match: other}}\n"
        f"    distractors: [{_q(one_line('Zzdistractor'))}]\n",
        "  - id: q-order\n    type: ordering\n" + common + f"    stem: Order.\n    sequence: [{_q(one_line('Zzsequence'))}, second]\n",
        "  - id: q-short\n    type: short_answer\n" + common + f"    stem: Name it.\n    answers: [{_q(one_line('Zzanswer'))}]\n"
        f"    solution: {{steps: [{{title: {_q(hostile('Zzsteptitle'))}, text: Do it.}}]}}\n",
        "  - id: q-num\n    type: numeric\n" + common + f"    stem: How many?\n    answer: 3\n    unit: {_q(one_line('Zzunit'))}\n",
    ]
    (root / "items.yaml").write_text("items:\n" + "".join(items), encoding="utf-8")
    (root / "assessments" / "quiz.yaml").write_text(
        f"title: {_q(hostile('Zzquiztitle'))}\ninstructions: Read *carefully*.\nsections:\n"
        f"  - title: {_q(hostile('Zzsection'))}\n    select:\n      - ids: [q-cloze, q-essay, q-match]\n"
        f"      - ids: [q-order, q-short, q-num]\n        title: {_q(hostile('Zzpool'))}\n",
        encoding="utf-8",
    )
    return root


def _outputs(root: Path, fmt: str, assessment: str | None) -> dict[str, bytes]:
    result = export(load_bank(root), fmt, **({"assessment": assessment} if assessment else {}))
    if result.files is not None:
        return dict(result.files)
    assert result.data is not None
    if result.data[:2] == b"PK" and fmt != "xlsx":
        with zipfile.ZipFile(io.BytesIO(result.data)) as zf:
            return {n: zf.read(n) for n in zf.namelist()}
    return {"out": result.data}


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _no_live_markup(fragment: str, where: str) -> None:
    """HTML carried as text: parsed, it holds no script and no element our values brought in, and a
    marker in it is followed by the literal text it was given."""
    tree = html.fragment_fromstring(fragment, create_parent="div")
    assert not tree.xpath("//script"), f"{where}: live <script> in {fragment[:200]!r}"
    text = tree.text_content()
    for marker in FIELDS_USED:
        if marker in text:
            assert f"{marker}<script>" in text, f"{where}: {marker} not shown as typed: {text[:200]!r}"


def _check_xml(data: bytes, where: str) -> None:
    root = etree.fromstring(data, _PARSER)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert etree.QName(el).localname != "script", f"{where}: script element"
        for name in el.attrib:
            assert not name.lower().startswith("on"), f"{where}: event attribute {name}"
        local = etree.QName(el).localname
        parent = el.getparent()
        is_html = (local == "mattext" and el.get("texttype") == "text/html") or (
            local == "text" and parent is not None and parent.get("format") == "html"
        )
        if is_html and el.text:
            _no_live_markup(el.text, f"{where} <{local}>")


def _check_html_page(data: bytes, where: str) -> None:
    """A page of the static site: its own scripts are fine; none may hold our value, and our value,
    where shown, is shown as typed (a ``</script>`` in a value must not end a data script early)."""
    doc = html.document_fromstring(data)
    for script in doc.iter("script"):
        assert "alert(1)" not in (script.text or "") or "Zz" in (script.text or "").split("alert(1)")[0][-40:] and script.get("type") in (
            "application/json",
            "application/ld+json",
        ), f"{where}: a value became a live script"
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for name in el.attrib:
            assert not (name.lower().startswith("on") and "alert(1)" in el.get(name, "")), f"{where}: event attribute from a value"
    text = doc.text_content()
    for marker in FIELDS_USED:
        if marker in text:
            assert f"{marker}<script>" in text, f"{where}: {marker} not shown as typed"


def _check_markdown(text: str, where: str) -> None:
    import pyromark

    rendered = pyromark.html(text, options=pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES)
    tree = html.fragment_fromstring(rendered, create_parent="div")
    assert not tree.xpath("//script"), f"{where}: live <script>"
    for h in tree.xpath("//h1|//h2|//h3|//h4|//h5|//h6"):
        assert "injected" not in h.text_content().split("#")[0] or h.text_content().startswith(tuple(FIELDS_USED)), (
            f"{where}: a line break in a plain field started a heading: {h.text_content()!r}"
        )
    assert not tree.xpath("//*[starts-with(normalize-space(text()), 'injected')][self::h1 or self::h2 or self::h3]")
    for marker in FIELDS_USED:
        if marker in tree.text_content():
            assert f"{marker}<script>" in tree.text_content(), f"{where}: {marker} not shown as typed"


_GIFT_VALUE = re.compile(r"(?<!\\)[{}=~#]")


def _check_gift(text: str, where: str) -> None:
    for line in text.splitlines():
        if line.startswith(("//", "$CATEGORY:")) or not any(m in line for m in FIELDS_USED):
            continue
        for marker in FIELDS_USED:
            start = line.find(marker)
            if start < 0:
                continue
            value = line[start : start + len(one_line(marker))]
            # The value's own specials are escaped: none of {, }, =, ~, # stands bare inside it.
            assert not _GIFT_VALUE.search(value.replace("<script>", "")), f"{where}: unescaped GIFT special in {value!r}"


#: The only formulas of a workbook: the Summary's review progress, which the exporter composes
#: (a count of each decision over the Decision column, and the items less the decided rows).
_PROGRESS_FORMULA = re.compile(r"""=(?:COUNTIF\('Items'!\$([A-Z]+)\$2:\$\1\$\d+,"(?:Approve|Revise|Reject)"\)|\d+-COUNTIF\('Items'!\$([A-Z]+)\$2:\$\2\$\d+,"\?\*"\))""")


def _check_xlsx(data: bytes, where: str) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    progress = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type != "f":
                    continue
                label = ws.cell(c.row, c.column - 1).value if c.column > 1 else None
                assert ws.title == "Summary" and c.column == 2 and label in ("Approve", "Revise", "Reject", "Not decided yet") and _PROGRESS_FORMULA.fullmatch(c.value), (
                    f"{where}: {ws.title}!{c.coordinate} is a formula: {c.value!r}"
                )
                progress.append(label)
    assert progress == ["Approve", "Revise", "Reject", "Not decided yet"], f"{where}: the review progress formulas: {progress}"


@pytest.mark.parametrize("assessment", [None, "quiz"], ids=["bank", "assessment"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_text_fields_are_escaped_in_every_format(hostile_bank: Path, fmt: str, assessment: str | None) -> None:
    outputs = _outputs(hostile_bank, fmt, assessment)
    seen = set()
    for name, data in outputs.items():
        where = f"{fmt}:{name}"
        text = data.decode("utf-8", "replace")
        seen |= {m for m in FIELDS_USED if m in text}
        if fmt == "json":
            doc = json.loads(data)
            assert hostile("Zzitemtitle") in json.dumps(doc, ensure_ascii=False) or hostile("Zzitemtitle") in [i.get("title") for i in doc["items"]]
        elif fmt == "xlsx":
            _check_xlsx(data, where)
        elif fmt == "gift":
            _check_gift(text, where)
        elif fmt == "markdown" and name.endswith(".md"):
            _check_markdown(text, where)
        elif name.endswith(".html"):
            _check_html_page(data, where)
        elif name.endswith(".xml") or fmt == "moodle":
            _check_xml(data, where)
    if fmt != "xlsx":
        assert {"Zzitemtitle", "Zzmatch", "Zzsequence"} & seen, f"{fmt}: the hostile values never reached the output"


def test_the_checks_catch_live_markup() -> None:
    """The helpers above fail on what they are meant to catch."""
    with pytest.raises(AssertionError):
        _no_live_markup("<p>Zztopic<script>alert(1)</script></p>", "x")
    with pytest.raises(AssertionError):
        _check_markdown("# Zztopic\n# injected\n", "x")
    with pytest.raises(AssertionError):
        _check_gift("::q::Q{=" + one_line("Zzmatch") + "}", "x")
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["A1"] = "=1+1"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(AssertionError):
        _check_xlsx(buf.getvalue(), "x")
    assert "&lt;script&gt;" in Renderer().html("Zztopic\\<script\\>")  # escaped Markdown stays text
