"""What writing QTI items with a template would cost (issue 13): a spike, beside the exporter's builder.

    .venv/bin/python benchmarks/template_spike.py BANK [--runs 3]

The QTI exporter builds each item as an lxml tree, element by element through lxml's Python API, and
serializes it.  This script writes the bank's true/false and multiple-choice items with one Jinja2
template instead (``template_spike/single_choice.qti21.xml.j2``, autoescaped, written in QTI 2.1's
spelling; QTI 3.0's template is made from it by :func:`spelled`): the values from the model, as the
builder works them out (the explanation's sections, the feedback, the hints, the numbers and
identifiers); a text that holds only tags QTI keeps as they are is given as the renderer wrote it
(with its ``&quot;`` and ``<br />`` written as lxml writes them), any other (math, images, links) is
converted through lxml as the builder does and serialized in the item's namespaces (a choice's one
paragraph is given as its content, as the builder's ``inline_into`` puts it).  It checks that each
item comes out as the very bytes of ``ItemBuilder.build`` + ``to_bytes``, in QTI 2.1 and 3.0, then
times both over the same items (the renders and the builder's shared subtrees warm, one process,
``--runs`` times each).  Exit 1 if any item differs.  Not the exporter: two types, no manifest
entry, no deflate; it reaches into the exporter's internals and stops with a message if they are
gone.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["ITEMBANK_NO_CACHE"] = "1"

from jinja2 import Environment  # noqa: E402
from lxml import etree  # noqa: E402
from markupsafe import Markup  # noqa: E402

from itembank import api  # noqa: E402
from itembank.render import Renderer  # noqa: E402

try:
    from itembank.exporters.kit.explain import explanation  # noqa: E402
    from itembank.exporters.kit.numbers import number_text  # noqa: E402
    from itembank.exporters.qti.body import BodyWriter, ItemAssets, _only_kept_tags  # noqa: E402
    from itembank.exporters.qti.ids import option_id, qti_id  # noqa: E402
    from itembank.exporters.qti.item import SOLUTION_LABELS, ItemBuilder, _one_line  # noqa: E402
    from itembank.exporters.qti.package import to_bytes  # noqa: E402
    from itembank.exporters.qti.profiles import MATHML_NS, QTI21, QTI30, Profile  # noqa: E402
except ImportError as exc:
    raise SystemExit(f"the QTI exporter's internals this spike uses are gone ({exc}): update the spike") from None

TEMPLATE = Path(__file__).with_name("template_spike") / "single_choice.qti21.xml.j2"
#: XHTML elements of the template (the same names in both QTI versions); the others are QTI's.
_HTML = frozenset({"p", "h4", "ol", "ul", "li", "strong"})
TYPES = ("true_false", "multiple_choice")


def spelled(source: str, p: Profile) -> str:
    """The template in ``p``'s spelling, from its QTI 2.1 source: QTI 3.0's element and attribute
    names (``qti-`` and kebab case), namespaces and schema, and a modal feedback's content inside
    ``qti-content-body`` (what ``Profile.content`` adds)."""
    if not p.kebab:
        return source
    source = source.replace(QTI21.ns, p.ns).replace(QTI21.schema_location, p.schema_location)
    source = re.sub(r"(<modalFeedback [^>]*>)(.*?)(</modalFeedback>)", r"\1<contentBody>\2</contentBody>\3", source, flags=re.S)

    def tag(m: re.Match[str]) -> str:
        name = m.group(2)
        return m.group(0) if name in _HTML else f"{m.group(1)}{p.tag(name).split('}')[1]}"

    source = re.sub(r"(</?)([A-Za-z][A-Za-z]*)(?=[\s/>])", tag, source)
    return re.sub(r" ([a-z]+[A-Z][A-Za-z]*)=\"", lambda m: f' {p.attr(m.group(1))}="', source)


def xhtml(writer: BodyWriter, renderer: Renderer, text: str) -> Markup:
    """A Markdown text as the builder puts it into the item, as markup for the template."""
    html = renderer.html(text)
    if _only_kept_tags(html):
        return Markup(html.replace("&quot;", '"').replace("&#39;", "'").replace("<br />", "<br/>").replace("<hr />", "<hr/>"))
    ns = writer.p.ns
    wrapper = etree.Element(f"{{{ns}}}div", nsmap={None: ns, "m": MATHML_NS})
    wrapper.extend(writer.blocks(text))
    out = etree.tostring(wrapper, encoding=str)
    return Markup("" if out.endswith("/>") else out[out.index(">") + 1 : out.rindex("</div>")])


def inline(writer: BodyWriter, renderer: Renderer, text: str) -> Markup:
    """A choice's text as the builder puts it into its ``simpleChoice`` (one paragraph: its content)."""
    html = renderer.html(text)
    if html.startswith("<p>") and html.endswith(("</p>", "</p>\n")) and _only_kept_tags(html):
        inner = html[3 : html.rindex("</p>")]
        if "<p>" not in inner and "</p>" not in inner:
            return Markup(inner.replace("&quot;", '"').replace("&#39;", "'").replace("<br />", "<br/>").replace("<hr />", "<hr/>"))
    ns = writer.p.ns
    wrapper = etree.Element(f"{{{ns}}}div", nsmap={None: ns, "m": MATHML_NS})
    writer.inline_into(etree.SubElement(wrapper, f"{{{ns}}}choice"), text)
    out = etree.tostring(wrapper, encoding=str)
    if out.endswith("<choice/></div>"):
        return Markup("")
    return Markup(out[out.index("<choice>") + len("<choice>") : out.rindex("</choice>")])


def values(p: Profile, item: Any, renderer: Renderer, version: str) -> dict[str, Any]:
    """What the template needs of a true/false or multiple-choice item, worked out from the model."""
    writer = BodyWriter(p, renderer, ItemAssets())
    sections = []
    for s in explanation(item, SOLUTION_LABELS):
        sections.append({
            "label": s.label,
            "text": xhtml(writer, renderer, s.text) if s.text else None,
            "steps": [(step.title, xhtml(writer, renderer, step.text)) for step in s.steps] or None,
            "items": [xhtml(writer, renderer, t) for t in s.items] or None,
        })
    if item.type == "true_false":
        options = [("true", "True", item.answer, item.true_feedback), ("false", "False", not item.answer, item.false_feedback)]
        shuffle = False
    else:
        options = [(option_id(o.id), o.text, o.correct, o.feedback) for o in item.options]
        shuffle = item.shuffle
    stem = xhtml(writer, renderer, item.stem)  # (before the choices: the builder converts them in this order)
    return {
        "id": qti_id(item.id, "I_"),
        "title": _one_line(item.name),
        "version": version,
        "correct": [i for i, _text, correct, _fb in options if correct],
        "points": number_text(item.points),
        "stem": stem,
        "shuffle": "true" if shuffle else "false",
        "choices": [(i, inline(writer, renderer, text)) for i, text, _correct, _fb in options],
        "feedback": [(i, xhtml(writer, renderer, fb)) for i, _text, _correct, fb in options if fb],
        "sections": sections,
        "hints": [xhtml(writer, renderer, h) for h in item.hints] if item.hints and item.gradable else [],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bank", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    source = TEMPLATE.read_text(encoding="utf-8").rstrip("\n")
    bank = api.load_bank(args.bank, cache=False, jobs=None)
    items = [i for i in bank.items if i.type in TYPES]
    if not items:
        raise SystemExit("the bank has no true/false or multiple-choice item")
    renderer, version = Renderer(), api.__version__
    kinds = ", ".join(f"{sum(i.type == t for i in items)} {t.replace('_', ' ')}" for t in TYPES)
    failed = False
    for p in (QTI21, QTI30):
        template = Environment(autoescape=True).from_string(spelled(source, p))

        def built(item: Any, p: Profile = p) -> bytes:
            return to_bytes(ItemBuilder(p, renderer, item, version).build())

        def written(item: Any, p: Profile = p, template: Any = template) -> bytes:
            return template.render(**values(p, item, renderer, version)).encode("utf-8")

        different = [i.id for i in items if built(i) != written(i)]  # (also warms the renders and shared subtrees)
        print(f"{p.key}: {len(items)} items ({kinds}): {len(items) - len(different)} the same bytes by the template as by the builder")
        if different:
            failed = True
            print("  different: " + ", ".join(different[:10]) + (" ..." if len(different) > 10 else ""))
        for _ in range(args.runs):
            start = time.process_time()
            for item in items:
                built(item)
            middle = time.process_time()
            for item in items:
                written(item)
            end = time.process_time()
            per = 1e6 / len(items)
            print(f"  CPU per item: builder (lxml) {(middle - start) * per:.0f} us, template (Jinja2) {(end - middle) * per:.0f} us")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
