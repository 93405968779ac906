"""Structural check of a Canvas QTI 1.2 package, the way Canvas's importer reads it (private module).

No complete public schema exists for Canvas's QTI 1.2 dialect, so this reads the package as Canvas's
QTI migration tool and ``qti_exporter`` do and reports what would make an import fail or silently lose
something.  Used by ``itembank export canvas --check`` and by the tests.

    check_package({"imsmanifest.xml": bytes, ...}) -> list[str]   # [] when the package is sound
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote_plus

from lxml import etree

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CANVAS = "{http://canvas.instructure.com/xsd/cccv1p0}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"

#: Classic Quizzes question types the importer knows (``AssessmentQuestion::ALL_QUESTION_TYPES``).
CANVAS_TYPES = frozenset(
    {
        "multiple_choice_question",
        "true_false_question",
        "short_answer_question",
        "fill_in_multiple_blanks_question",
        "multiple_answers_question",
        "multiple_dropdowns_question",
        "matching_question",
        "numerical_question",
        "calculated_question",
        "essay_question",
        "file_upload_question",
        "text_only_question",
    }
)
_CHOICE = {"multiple_choice_question", "true_false_question", "multiple_answers_question"}
_BLANKS = {"fill_in_multiple_blanks_question", "multiple_dropdowns_question"}
_FILEBASE = re.compile(r"\$IMS-CC-FILEBASE\$/([^\"'\s<>?#]+)")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _parse(name: str, data: bytes, problems: list[str]) -> etree._Element | None:
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        problems.append(f"{name}: not well-formed XML: {exc}")
        return None


def _metadata(item: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in item.iterfind(f"{QTI}itemmetadata/{QTI}qtimetadata/{QTI}qtimetadatafield"):
        out[(f.findtext(f"{QTI}fieldlabel") or "").strip()] = (f.findtext(f"{QTI}fieldentry") or "").strip()
    return out


def _scoring_conditions(item: etree._Element) -> list[etree._Element]:
    return [rc for rc in item.iterfind(f"{QTI}resprocessing/{QTI}respcondition") if rc.find(f"{QTI}setvar") is not None]


def _expected_answer_ids(item: etree._Element, qtype: str) -> list[str] | None:
    """The answer ids Canvas pairs with ``original_answer_ids``, in order (None: not checkable by count)."""
    pres = item.find(f"{QTI}presentation")
    if pres is None:
        return []
    if qtype in _CHOICE or qtype in _BLANKS:
        return [rl.get("ident", "") for rl in pres.iter(f"{QTI}response_label")]
    if qtype == "matching_question":
        return [lid.get("ident", "").removeprefix("response_") for lid in pres.iterfind(f"{QTI}response_lid")]
    return None


def check_item(item: etree._Element, where: str) -> list[str]:
    """Problems of one ``<item>`` as Canvas reads it."""
    problems: list[str] = []
    ident = item.get("ident") or "?"
    at = f"{where}: item {ident}"
    md = _metadata(item)
    qtype = md.get("question_type", "")
    if qtype not in CANVAS_TYPES:
        problems.append(f"{at}: question_type {qtype!r} is not a Canvas question type")
    try:
        if float(md.get("points_possible", "")) < 0:
            raise ValueError
    except ValueError:
        problems.append(f"{at}: points_possible {md.get('points_possible')!r} is not a non-negative number")
    if "original_answer_ids" not in md:
        problems.append(f"{at}: no original_answer_ids")
    ids = [i for i in md.get("original_answer_ids", "").split(",") if i]
    if any(not i.isdigit() or int(i) == 0 for i in ids):
        problems.append(f"{at}: original_answer_ids {ids} are not all positive integers (Canvas replaces others at random)")
    if len(set(ids)) != len(ids):
        problems.append(f"{at}: original_answer_ids repeat an id")
    expected = _expected_answer_ids(item, qtype)
    scoring = _scoring_conditions(item)
    if expected is not None and ids != expected:
        problems.append(f"{at}: original_answer_ids {ids} do not match the response labels {expected}")
    elif qtype == "short_answer_question":
        accepted = [v for rc in scoring for v in rc.iterfind(f"{QTI}conditionvar/{QTI}varequal")]
        if len(ids) != len(accepted):
            problems.append(f"{at}: {len(ids)} original_answer_ids for {len(accepted)} accepted answers")
    elif qtype == "numerical_question" and len(ids) != len(scoring):
        problems.append(f"{at}: {len(ids)} original_answer_ids for {len(scoring)} numeric answers")
    elif qtype in ("essay_question", "text_only_question") and ids:
        problems.append(f"{at}: an {qtype} has no answers, but original_answer_ids is {ids}")
    if qtype not in ("essay_question", "text_only_question", "file_upload_question") and not scoring:
        problems.append(f"{at}: no response condition sets SCORE: the question can never be right")
    problems.extend(_check_responses(item, at))
    problems.extend(_check_feedback(item, at))
    if qtype == "calculated_question":
        problems.extend(check_calculated(item, at))
    return problems


def _number(text: str | None) -> float | None:
    try:
        return float(text or "")
    except ValueError:
        return None


def check_calculated(item: etree._Element, at: str) -> list[str]:
    """What Canvas's importer reads of a formula question: a formula, declared variables (name, scale,
    min <= max), and var_sets giving every variable a number within its range and a numeric answer."""
    calc = item.find(f"{QTI}itemproc_extension/{QTI}calculated")
    if calc is None:
        return [f"{at}: calculated_question without itemproc_extension/calculated"]
    problems: list[str] = []
    if not (calc.findtext(f"{QTI}formulas/{QTI}formula") or "").strip():
        problems.append(f"{at}: calculated_question has no formula")
    tolerance = (calc.findtext(f"{QTI}answer_tolerance") or "").removesuffix("%")
    if _number(tolerance) is None or float(tolerance) < 0:
        problems.append(f"{at}: answer_tolerance {calc.findtext(f'{QTI}answer_tolerance')!r} is not a number >= 0 (or a percentage)")
    ranges: dict[str, tuple[float, float]] = {}
    for var in calc.iterfind(f"{QTI}vars/{QTI}var"):
        name = var.get("name") or ""
        low, high = _number(var.findtext(f"{QTI}min")), _number(var.findtext(f"{QTI}max"))
        if not name or not (var.get("scale") or "").isdigit() or low is None or high is None or low > high:
            problems.append(f"{at}: variable {name!r} needs a name, a scale and numeric min <= max")
            continue
        ranges[name] = (low, high)
    if not ranges:
        problems.append(f"{at}: calculated_question declares no variables")
    sets = calc.findall(f"{QTI}var_sets/{QTI}var_set")
    if not sets:
        problems.append(f"{at}: calculated_question has no var_sets (Canvas would have no answers)")
    for n, vs in enumerate(sets, 1):
        given = {v.get("name") or "": _number(v.text) for v in vs.iterfind(f"{QTI}var")}
        if set(given) != set(ranges):
            problems.append(f"{at}: var_set {n} gives {sorted(given)}, not the declared variables {sorted(ranges)}")
        for name, value in given.items():
            if name in ranges and (value is None or not ranges[name][0] - 1e-9 <= value <= ranges[name][1] + 1e-9):
                problems.append(f"{at}: var_set {n}: {name} = {value} lies outside {ranges[name]}")
        if _number(vs.findtext(f"{QTI}answer")) is None:
            problems.append(f"{at}: var_set {n} has no numeric answer")
    return problems


def _check_responses(item: etree._Element, at: str) -> list[str]:
    """Every condition refers to a declared response, and a choice response to one of its labels."""
    problems: list[str] = []
    labels: dict[str, set[str] | None] = {}
    for lid in item.iter(f"{QTI}response_lid"):
        labels[lid.get("ident", "")] = {rl.get("ident", "") for rl in lid.iter(f"{QTI}response_label")}
    for rs in item.iter(f"{QTI}response_str"):
        labels[rs.get("ident", "")] = None  # free text: any value
    for tag in ("varequal", "vargte", "varlte", "vargt", "varlt"):
        for v in item.iter(f"{QTI}{tag}"):
            rid = v.get("respident", "")
            if rid not in labels:
                problems.append(f"{at}: <{tag}> refers to undeclared response {rid!r}")
            elif labels[rid] is not None and (v.text or "") not in labels[rid]:  # type: ignore[operator]
                problems.append(f"{at}: <{tag}> of {rid!r} names {v.text!r}, not one of its response labels")
            elif labels[rid] is None and tag != "varequal":
                try:
                    float(v.text or "")
                except ValueError:
                    problems.append(f"{at}: <{tag}> bound {v.text!r} is not a number")
    return problems


def _check_feedback(item: etree._Element, at: str) -> list[str]:
    problems: list[str] = []
    feedback = [fb.get("ident", "") for fb in item.iterfind(f"{QTI}itemfeedback")]
    if len(set(feedback)) != len(feedback):
        problems.append(f"{at}: two itemfeedback elements share an ident")
    shown = {d.get("linkrefid", "") for d in item.iter(f"{QTI}displayfeedback")}
    for ref in sorted(shown - set(feedback)):
        problems.append(f"{at}: displayfeedback points at missing itemfeedback {ref!r}")
    for ref in sorted(set(feedback) - shown):
        problems.append(f"{at}: itemfeedback {ref!r} is never displayed")
    for fb in item.iterfind(f"{QTI}itemfeedback"):
        if not "".join(fb.itertext()).strip():  # type: ignore[arg-type]  # lxml-stubs: itertext() yields str here
            problems.append(f"{at}: itemfeedback {fb.get('ident')!r} is empty")
    return problems


def check_package(files: Mapping[str, bytes]) -> list[str]:
    """Every problem found in a package given as ``{relative path: bytes}``."""
    problems: list[str] = []
    if "imsmanifest.xml" not in files:
        return ["imsmanifest.xml is missing: Canvas cannot read the package"]
    manifest = _parse("imsmanifest.xml", files["imsmanifest.xml"], problems)
    if manifest is None:
        return problems
    resources = {r.get("identifier", ""): r for r in manifest.iter(f"{CP}resource")}
    listed: set[str] = set()
    for ident, res in resources.items():
        for f in res.iterfind(f"{CP}file"):
            # Canvas takes the file's name with CGI.unescape ("+" is a space); its converter
            # (QTIMigrationTool) decodes each %XX to one character: an encoded UTF-8 name names no file
            href = unquote_plus(f.get("href", ""))
            listed.add(href)
            if href not in files:
                problems.append(f"imsmanifest.xml: resource {ident} lists {f.get('href', '')}, which is not in the package")
            elif re.search("%[89a-fA-F][0-9a-fA-F]", f.get("href", "")):
                problems.append(f"imsmanifest.xml: resource {ident} lists {f.get('href', '')}: Canvas's converter cannot read "
                                "a percent-encoded non-ASCII name (write the characters as they are)")
        for dep in res.iterfind(f"{CP}dependency"):
            if dep.get("identifierref") not in resources:
                problems.append(f"imsmanifest.xml: resource {ident} depends on unknown resource {dep.get('identifierref')}")
    quizzes = [r for r in resources.values() if (r.get("type") or "").startswith("imsqti")]
    if not quizzes:
        problems.append("imsmanifest.xml: no imsqti resource: Canvas would not recognise a QTI package")
    for name in sorted(files):
        if name.endswith((".xml", ".qti")) and name != "imsmanifest.xml" and name not in listed:
            problems.append(f"{name}: in the package but not listed in imsmanifest.xml")

    bank_items: set[str] = set()
    quiz_refs: list[tuple[str, str]] = []
    item_files = sorted(n for n in files if n.endswith(".xml.qti")) + sorted(
        file.get("href", "") for r in quizzes if (file := r.find(f"{CP}file")) is not None
    )
    for name in item_files:
        if name not in files:
            continue
        root = _parse(name, files[name], problems)
        if root is None:
            continue
        problems.extend(_check_container(name, root, bank_items, quiz_refs))
    for quiz in quizzes:
        problems.extend(_check_quiz_meta(quiz, resources, files))
    for where, ref in quiz_refs:
        if bank_items and ref not in bank_items:
            problems.append(f"{where}: assessment_question_identifierref {ref} names no question-bank item")
    problems.extend(_check_images(files, listed))
    return problems


def _check_container(name: str, root: etree._Element, bank_items: set[str], quiz_refs: list[tuple[str, str]]) -> list[str]:
    problems: list[str] = []
    if root.tag != f"{QTI}questestinterop":
        return [f"{name}: root is <{etree.QName(root).localname}>, not <questestinterop>"]
    seen: set[str] = set()
    for bank in root.iterfind(f"{QTI}objectbank"):
        first = bank[0] if len(bank) else None
        title = [
            f.findtext(f"{QTI}fieldentry")
            for f in bank.iterfind(f"{QTI}qtimetadata/{QTI}qtimetadatafield")
            if f.findtext(f"{QTI}fieldlabel") == "bank_title"
        ]
        if first is None or first.tag != f"{QTI}qtimetadata" or not title or not (title[0] or "").strip():
            problems.append(f"{name}: objectbank {bank.get('ident')} has no bank_title before its items")
        for item in bank.iter(f"{QTI}item"):
            bank_items.add(item.get("ident", ""))
    for item in root.iter(f"{QTI}item"):
        ident = item.get("ident", "")
        if ident in seen:
            problems.append(f"{name}: item ident {ident} is used twice")
        seen.add(ident)
        problems.extend(check_item(item, name))
        ref = _metadata(item).get("assessment_question_identifierref")
        if ref:
            quiz_refs.append((f"{name}: item {ident}", ref))
    for sec in root.iter(f"{QTI}section"):
        number = sec.findtext(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_number")
        if number is not None:
            members = len(sec.findall(f"{QTI}item"))
            if not number.isdigit() or not 0 < int(number) <= members:
                problems.append(f"{name}: section {sec.get('ident')} picks {number} of {members} questions")
    return problems


def _check_quiz_meta(quiz: etree._Element, resources: Mapping[str, etree._Element], files: Mapping[str, bytes]) -> list[str]:
    """assessment_meta.xml's quiz identifier must equal the assessment ident, or Canvas ignores the settings."""
    problems: list[str] = []
    qfile = quiz.find(f"{CP}file")
    href = qfile.get("href", "") if qfile is not None else ""
    if href not in files:
        return problems
    root = etree.fromstring(files[href], _PARSER)
    asmt = root.find(f"{QTI}assessment")
    if asmt is None:
        return [f"{href}: no <assessment>"]
    metas = [
        resources[d.get("identifierref", "")].get("href", "")
        for d in quiz.iterfind(f"{CP}dependency")
        if d.get("identifierref", "") in resources
    ]
    metas = [m for m in metas if m.endswith("assessment_meta.xml")]
    if not metas:
        return [f"imsmanifest.xml: quiz {quiz.get('identifier')} has no assessment_meta.xml dependency"]
    for meta in metas:
        if meta not in files:
            continue
        q = etree.fromstring(files[meta], _PARSER)
        if q.tag != f"{CANVAS}quiz":
            problems.append(f"{meta}: root is not a Canvas <quiz>")
            continue
        if q.get("identifier") != asmt.get("ident"):
            problems.append(f"{meta}: quiz identifier {q.get('identifier')} != assessment ident {asmt.get('ident')}")
        if quiz.get("identifier") != asmt.get("ident"):
            problems.append(f"imsmanifest.xml: quiz resource {quiz.get('identifier')} != assessment ident {asmt.get('ident')}")
        for tag in ("title", "quiz_type", "points_possible"):
            if not (q.findtext(f"{CANVAS}{tag}") or "").strip():
                problems.append(f"{meta}: <{tag}> is missing or empty")
        stated = (q.findtext(f"{CANVAS}points_possible") or "").strip()
        total = _quiz_total(asmt)
        try:
            if stated and total is not None and abs(float(stated) - total) > 1e-9:
                problems.append(f"{meta}: points_possible {stated} is not what the quiz's questions add up to ({total:g})")
        except ValueError:
            problems.append(f"{meta}: points_possible {stated!r} is not a number")
    return problems


def _points(item: etree._Element) -> float | None:
    try:
        return float(_metadata(item).get("points_possible", ""))
    except ValueError:
        return None


def read_quiz(files: Mapping[str, bytes]) -> dict[str, object]:
    """The quiz of a package as Canvas reads it: title, points_possible, and per section its title,
    question idents (in order) with their points, the group's pick and points per item (or None)."""
    manifest = etree.fromstring(files["imsmanifest.xml"], _PARSER)
    quiz = next(r for r in manifest.iter(f"{CP}resource") if (r.get("type") or "").startswith("imsqti"))
    qfile = quiz.find(f"{CP}file")
    assert qfile is not None
    asmt = etree.fromstring(files[qfile.get("href", "")], _PARSER).find(f"{QTI}assessment")
    assert asmt is not None
    meta_name = f"{asmt.get('ident')}/assessment_meta.xml"
    meta = etree.fromstring(files[meta_name], _PARSER)
    sections = []
    for sec in asmt.iterfind(f"{QTI}section/{QTI}section"):
        pick = sec.findtext(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_number")
        per = sec.findtext(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_extension/{QTI}points_per_item")
        sections.append(
            {
                "title": sec.get("title"),
                "items": [(i.get("ident"), _points(i)) for i in sec.iterfind(f"{QTI}item")],
                "pick": int(pick) if pick is not None else None,
                "points_per_item": float(per) if per is not None else None,
            }
        )
    return {
        "title": asmt.get("title"),
        "meta_title": meta.findtext(f"{CANVAS}title"),
        "points_possible": float(meta.findtext(f"{CANVAS}points_possible") or "nan"),
        "shuffle_answers": meta.findtext(f"{CANVAS}shuffle_answers"),
        "sections": sections,
    }


def _quiz_total(asmt: etree._Element) -> float | None:
    """What the quiz's questions add up to: each question's points, a group's pick × its points per item."""
    total = 0.0
    for sec in asmt.iter(f"{QTI}section"):
        pick = sec.findtext(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_number")
        items = sec.findall(f"{QTI}item")
        if pick is not None:
            per = sec.findtext(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_extension/{QTI}points_per_item")
            try:
                total += int(pick) * float(per or "nan")
            except ValueError:
                return None
            continue
        for item in items:
            points = _points(item)
            if points is None:
                return None
            total += points
    return total


def _check_images(files: Mapping[str, bytes], listed: set[str]) -> list[str]:
    """Every ``$IMS-CC-FILEBASE$/path`` in question HTML is a packaged, listed web_resources file."""
    problems: list[str] = []
    for name in sorted(files):
        if not name.endswith((".xml", ".qti")) or name == "imsmanifest.xml":
            continue
        root = etree.fromstring(files[name], _PARSER)
        for mat in root.iter(f"{QTI}mattext"):
            for m in _FILEBASE.finditer(mat.text or ""):
                path = "web_resources/" + unquote_plus(m.group(1))  # as Canvas reads it (CGI.unescape)
                if path not in files:
                    problems.append(f"{name}: image {path} is referenced but not packaged")
                elif path not in listed:
                    problems.append(f"{name}: image {path} is not listed in imsmanifest.xml")
    return problems
