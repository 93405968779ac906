"""The QTI assessment test: one section per topic, or per section of an assessment form."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from itembank.model import (
    Bank,
)
from itembank.render import Renderer

from .body import BodyWriter, ItemAssets
from .ids import qti_id
from .fields import one_line
from .profiles import TOOL_NAME, XSI_NS, Profile

# --- the assessment test ----------------------------------------------------------------------


@dataclass(frozen=True)
class SectionPlan:
    title: str
    item_ids: tuple[str, ...]
    pick: int | None = None
    shuffle: bool = False
    identifier_suffix: str = ""  # "_TOPIC": the section of a topic named like the no-topic section (NO_TOPIC)


#: The section of the items without a topic is titled this.  A section of items whose topic *is*
#: "General" has an identifier that says so (SECTION_<n>_TOPIC), so that an import of our package
#: tells the two apart (importers/qti.py reads our SECTION_<n> titled "General" back as no topic).
NO_TOPIC = "General"


def plan_sections(bank: Bank) -> list[SectionPlan]:
    """One section per form section when the bank is a form; else one per topic, in first-seen order."""
    if bank.form is not None:
        return [SectionPlan(s.title, s.item_ids, s.pick, s.shuffle) for s in bank.form.sections]
    by_topic: dict[str | None, list[str]] = {}
    for item in bank.items:
        by_topic.setdefault(item.topic or None, []).append(item.id)
    return [
        SectionPlan(topic or NO_TOPIC, tuple(ids), identifier_suffix="_TOPIC" if topic == NO_TOPIC else "")
        for topic, ids in by_topic.items()
    ]


def build_test(profile: Profile, bank: Bank, hrefs: dict[str, str], tool_version: str, renderer: Renderer) -> etree._Element:
    p = profile
    root = etree.Element(p.tag("assessmentTest"), nsmap={None: p.ns, "xsi": XSI_NS})  # type: ignore[dict-item]  # lxml-stubs: None is the default namespace's key
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{p.ns} {p.schema_location}")
    title = bank.title if bank.form is None else bank.form.quiz_title
    root.set("identifier", "TEST" if bank.form is None else qti_id(bank.form.name, "T_"))
    root.set("title", one_line(title))
    root.set(p.attr("toolName"), TOOL_NAME)
    if tool_version:
        root.set(p.attr("toolVersion"), tool_version)
    p.el(root, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float")
    part = p.el(root, "testPart", identifier="PART_1", navigationMode="nonlinear", submissionMode="individual")
    for n, section in enumerate(plan_sections(bank), 1):
        sec = p.el(part, "assessmentSection", identifier=f"SECTION_{n}{section.identifier_suffix}", title=one_line(section.title), visible="true")
        if section.pick is not None:
            p.el(sec, "selection", select=str(section.pick))
        if section.shuffle:
            p.el(sec, "ordering", shuffle="true")
        if n == 1 and bank.form is not None and bank.form.instructions:
            attrs = {"view": "candidate"}
            if p.kebab:
                attrs["use"] = "instructions"
            block = p.el(sec, "rubricBlock", **attrs)
            writer = BodyWriter(p, renderer, ItemAssets(), depth=0)
            writer.into(p.content(block), bank.form.instructions)
        for item_id in section.item_ids:
            p.el(sec, "assessmentItemRef", identifier=qti_id(item_id, "I_"), href=hrefs[item_id])
    processing = p.el(root, "outcomeProcessing")
    total = p.el(p.el(processing, "setOutcomeValue", identifier="SCORE"), "sum")
    p.el(total, "testVariables", variableIdentifier="SCORE")
    return root

