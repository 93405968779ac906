"""Rules a JSON Schema cannot express, run on items the schema accepted.

Each rule yields ``(path, code, message)`` relative to the item; the validator adds file, line and
item id.  Rules read the raw mapping (not the model) so that paths match what the author wrote.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyromark

from .calculated_rules import calculated
from .model import BankConfig, as_written, opaque_placeholders, placeholder_names, shown_alike
from .moodle_grades import MAX_CORRECT, moodle_fractions
from .render import local_image
from .wording import quoted

Finding = tuple[tuple[object, ...], str, str]
Rule = Callable[[dict[str, Any], "RuleContext"], Iterator[Finding]]

# XML 1.0 cannot carry these (tab, LF and CR are fine).
XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_XML_BAD_RAW = re.compile("[\ufffe\uffff\ud800-\udfff]")


def may_hold_xml_bad(blob: str) -> bool:
    """Whether ``json.dumps(item, ensure_ascii=False)`` may contain a character XML cannot carry.

    JSON writes control characters as ``\\u00XX``, ``\\b`` or ``\\f`` and the others raw.  An author's
    own backslashes are written doubled, so those pairs are dropped first (LaTeX's ``\\frac`` and
    ``\\beta`` must not look like escapes).  A false positive only costs the exact per-string check.
    """
    escapes = blob.replace("\\\\", "") if "\\" in blob else blob
    return "\\u00" in escapes or "\\b" in escapes or "\\f" in escapes or _XML_BAD_RAW.search(blob) is not None


#: The characters of :data:`XML_BAD` that are ASCII (the others are not).
_ASCII_BAD = tuple(chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)))


def has_xml_bad(text: str) -> bool:
    """``XML_BAD.search(text) is not None``, several times faster on ASCII text (most item files):
    29 substring scans (memchr, in C) against a regular expression's character-by-character walk."""
    if text.isascii():
        return any(c in text for c in _ASCII_BAD)
    return XML_BAD.search(text) is not None


def string_values(node: Any) -> list[str]:
    """Every string value inside plain data (keys left out), in no particular order."""
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        t = type(n)
        if t is str:
            out.append(n)
        elif t is dict:
            stack.extend(n.values())
        elif t is list:
            stack.extend(n)
    return out


#: Link and image URL schemes that may reach an export (README, "Links and images").  Everything
#: else (javascript:, vbscript:, data:, file:, ...) is refused as IB222; a URL without a scheme is a
#: path (an image in the bank, or a page relative to where the export is shown).
ALLOWED_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: Browsers drop these inside a URL before reading its scheme (``java\tscript:`` is ``javascript:``).
_URL_IGNORED = re.compile("[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2060\ufeff]")
#: Characters that show nothing: a text made only of these is an invisible answer.
_VISIBLE = re.compile("[^\\s\u00ad\u034f\u115f\u1160\u180e\u200b-\u200f\u2060-\u2064\u3164\ufeff]")


def url_scheme_problem(url: str) -> str | None:
    """The refused scheme of a link or image URL, or None when the URL may be exported."""
    m = _SCHEME.match(_URL_IGNORED.sub("", url))
    if m is None or m.group(1).lower() in ALLOWED_SCHEMES:
        return None
    return m.group(1).lower()


def is_blank(text: str) -> bool:
    """Whether a text shows nothing at all (whitespace, zero-width characters, ``&nbsp;``)."""
    if "&" in text:
        text = html.unescape(text)
    return _VISIBLE.search(text) is None


_MD_OPTIONS = pyromark.Options.ENABLE_MATH | pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH


def typed_alike(text: str, case_sensitive: bool) -> str:
    """A typed answer as the self-study page compares it (``exporters/html/static/itembank.js``,
    ``typedAlike``, the same steps): runs of white space are one space and the ends trimmed (the page
    shows "x  y" as "x y", so "x y" is right); Unicode NFC, or for a case-insensitive answer NFKC and
    a locale-independent case fold: upper then lower case (ß and SS, ς and σ), and the dot of a
    capital İ dropped ("İstanbul" and "istanbul"), then NFKC again.  Two answers of a short answer
    item alike by it are one answer (IB217)."""
    import unicodedata

    if case_sensitive:
        folded = unicodedata.normalize("NFC", text)
    else:
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper().lower().replace("i\u0307", "i"))
    return " ".join(folded.split())


#: Markdown fields: top-level texts, lists of texts, and lists of mappings with text fields.
_MD_TEXT = ("stem", "rationale", "true_feedback", "false_feedback", "sample_answer")
_MD_LISTS = ("hints", "common_mistakes")
_MD_RECORDS = (("options", ("text", "feedback")), ("rubric", ("criterion", "description")), ("pairs", ("prompt",)))


class RuleContext:
    """What rules may look at besides the item: the bank's root and settings."""

    def __init__(self, root: Path, config: BankConfig) -> None:
        self.root = root.resolve()
        self.config = config
        self._exists: dict[str, str | None] = {}
        self._case: dict[str, str] = {}  # casefolded image name -> the first spelling seen
        #: The text of the file being checked, when known: lets whole-file pre-checks skip work.
        self.source_text: str | None = None

    def image_status(self, ref: str) -> str | None:
        """None if the image is fine, else the rule code that it breaks.

        The file is named exactly as the exporters will name it (``render.local_image``), so a
        reference that validates is one every exporter can package.
        """
        rel = local_image(ref)
        if rel is None:
            return None  # a URL: the platform fetches it, nothing to package
        if rel.startswith(("/", "../")) or rel == "..":
            return "IB212"
        if rel not in self._exists:
            self._exists[rel] = self._file_status(rel)
        status = self._exists[rel]
        if status is None:
            first = self._case.setdefault(rel.casefold(), rel)
            if first != rel:
                return "IB223"
        return status

    def expect_file(self, rel: str) -> None:
        """Count ``rel`` as a regular file of the bank although it is not written yet (an import's media)."""
        self._exists[rel] = None

    def case_twin(self, ref: str) -> str:
        """The other spelling of an image name that differs from ``ref`` only in letter case."""
        rel = local_image(ref) or ref
        return self._case.get(rel.casefold(), rel)

    def _file_status(self, rel: str) -> str | None:
        """Every link on the way is followed: the file must be a regular file inside the bank."""
        try:
            real = (self.root / rel).resolve()
        except (OSError, RuntimeError):  # a link loop
            return "IB211"
        if not real.is_relative_to(self.root):
            return "IB212"
        return None if real.is_file() else "IB211"


def markdown_texts(item: dict[str, Any]) -> Iterator[tuple[tuple[object, ...], str]]:
    """Every Markdown text of an item, with its path (written out: this runs for every item)."""
    for key in _MD_TEXT:
        value = item.get(key)
        if type(value) is str:
            yield (key,), value
    for key in _MD_LISTS:
        for i, value in enumerate(item.get(key) or ()):
            if type(value) is str:
                yield (key, i), value
    for key, fields in _MD_RECORDS:
        for i, record in enumerate(item.get(key) or ()):
            for f in fields:
                value = record.get(f) if type(record) is dict else None
                if type(value) is str:
                    yield (key, i, f), value
    solution = item.get("solution")
    if type(solution) is dict:
        for key in ("final_answer", "quick_check"):
            value = solution.get(key)
            if type(value) is str:
                yield ("solution", key), value
        for i, step in enumerate(solution.get("steps") or ()):
            if type(step) is str:
                yield ("solution", "steps", i), step
            elif type(step) is dict and type(step.get("text")) is str:
                yield ("solution", "steps", i, "text"), step["text"]
    if item.get("type") == "flashcard" and type(item.get("answer")) is str:
        yield ("answer",), item["answer"]  # the back of the card
    blanks = item.get("blanks")
    if type(blanks) is dict:
        for name, blank in blanks.items():
            if type(blank) is dict and type(blank.get("feedback")) is str:
                yield ("blanks", name, "feedback"), blank["feedback"]


def all_strings(node: Any, path: tuple[object, ...] = ()) -> Iterator[tuple[tuple[object, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from all_strings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from all_strings(v, path + (i,))


# --- rules -------------------------------------------------------------------------------------


def choice_keys(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] not in ("multiple_choice", "multiple_response"):
        return
    options = item["options"]
    keys = [o for o in options if o.get("correct")]
    if item["type"] == "multiple_choice" and len(keys) != 1:
        yield ("options",), "IB202", f"multiple choice has {len(keys)} correct options; mark exactly one `correct: true` (or use multiple_response)"
    if item["type"] == "multiple_response":
        if not keys:
            yield ("options",), "IB204", "no option is marked `correct: true`"
        elif len(keys) == len(options):
            yield ("options",), "IB302", "every option is correct: a learner who ticks everything gets full marks"
    seen_ids: dict[str, int] = {}
    seen_texts: dict[str, int] = {}
    for i, o in enumerate(options):
        if o["id"] in seen_ids:
            yield ("options", i, "id"), "IB205", f"option id '{o['id']}' is already used by options[{seen_ids[o['id']]}]"
        seen_ids.setdefault(o["id"], i)
        text = shown_alike(o["text"])
        if is_blank(text):
            yield ("options", i, "text"), "IB213", "option text is empty: learners would see an invisible answer"
        if text in seen_texts:
            yield ("options", i, "text"), "IB217", f"same text as options[{seen_texts[text]}]"
        seen_texts.setdefault(text, i)
    if ctx.config.require_distractor_feedback:
        for i, o in enumerate(options):
            if not o.get("correct") and not (o.get("feedback") or "").strip():
                yield ("options", i, "feedback"), "IB203", "wrong option has no explanation"


def numeric_answer(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] != "numeric":
        return
    if "answer" in item and "range" in item:
        yield ("range",), "IB218", "give either `answer` (± `tolerance`) or `range`, not both"
    if item.get("tolerance", 0) < 0:
        yield ("tolerance",), "IB206", f"tolerance {item['tolerance']} is negative"
    if "tolerance" in item and "answer" not in item:
        yield ("tolerance",), "IB218", "`tolerance` applies to `answer`; with `range`, the range is the tolerance"
    rng = item.get("range")
    if rng and rng["min"] > rng["max"]:
        yield ("range",), "IB207", f"range min {rng['min']} is greater than max {rng['max']}"


#: Significant digits every export keeps of a number: a double holds 15 decimal digits exactly,
#: and the LMS formats (Moodle, GIFT, QTI, Canvas) store their keys as doubles.
KEPT_DIGITS = 15


def significant_digits(value: float) -> int:
    """How many significant decimal digits ``value`` needs as parsed: an integer's own, a float's
    shortest round-trip form's (``repr``)."""
    text = str(abs(value)) if isinstance(value, int) else repr(abs(value))
    return len(text.lower().split("e")[0].replace(".", "").strip("0")) or 1


def _exact_numbers(fields: Iterable[tuple[tuple[str | int, ...], Any]]) -> Iterator[Finding]:
    for path, value in fields:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue  # not a number (the schema says so)
        digits = significant_digits(value)
        if digits > KEPT_DIGITS:
            yield path, "IB224", (
                f"{value!r} has {digits} significant digits; exports keep {KEPT_DIGITS} "
                f"(the LMSs store numbers as doubles) and would write {float(value):.{KEPT_DIGITS}g}: round it"
            )


def _exact_bounds(path: tuple[str | int, ...], value: Any, tolerance: Any) -> Iterator[Finding]:
    """``value ± tolerance``, which the LMS formats write as the accepted interval's bounds, must fit
    in the digits kept too (-335446165 ± 0.000000001 needs 18: Canvas would get another interval)."""
    numbers = (value, tolerance)
    if any(isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n) for n in numbers) or not tolerance:
        return
    if any(significant_digits(n) > KEPT_DIGITS for n in numbers):
        return  # said already
    v, t = as_written(value), as_written(abs(tolerance))
    for bound in (v - t, v + t):
        if not math.isfinite(float(bound)):
            yield path, "IB224", (
                f"{value!r} ± {tolerance!r} has a bound ({bound:.3e}) beyond the largest number a double holds (±1.8e308): "
                f"the LMSs would store it as infinity (a page's answer key could not be read, a player would score the "
                f"right answer wrong): use a smaller tolerance"
            )
            return
        digits = len(bound.normalize().as_tuple().digits) if bound else 1
        if digits > KEPT_DIGITS:
            yield path, "IB224", (
                f"{value!r} ± {tolerance!r} has a bound of {digits} significant digits ({bound}); exports write the accepted "
                f"interval's bounds with {KEPT_DIGITS} (the LMSs store numbers as doubles): a tolerance this small next to "
                f"this answer is lost: use fewer digits or a larger tolerance"
            )
            return


def number_precision(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    """The numbers of an answer key are kept as written: no export may silently round one."""
    if item["type"] == "numeric":
        rng = item.get("range") or {}
        yield from _exact_numbers([(("answer",), item.get("answer")), (("tolerance",), item.get("tolerance")),
                                   (("range", "min"), rng.get("min")), (("range", "max"), rng.get("max"))])
        yield from _exact_bounds(("tolerance",), item.get("answer"), item.get("tolerance"))
    elif item["type"] == "cloze":
        for name, blank in item["blanks"].items():
            yield from _exact_numbers([(("blanks", name, "number"), blank.get("number")),
                                       (("blanks", name, "tolerance"), blank.get("tolerance"))])
            yield from _exact_bounds(("blanks", name, "tolerance"), blank.get("number"), blank.get("tolerance"))


#: Markdown's leaf events whose text no answer field can stand in.
_NO_FIELD_IN = {"Code": "inline code", "InlineMath": "math", "DisplayMath": "math"}


def _unreachable_blanks(stem: str) -> Iterator[tuple[str, str]]:
    """(name, where) of each placeholder of a cloze stem that Markdown puts where no format can put
    an answer field: in code, in math, in an image's description or address, in a link.  The stem is
    read with its placeholders as tokens Markdown cannot touch, as every exporter renders it (a
    name's underscores are no emphasis that could hide a placeholder from this rule)."""
    opaque = opaque_placeholders(stem)

    def placeholder_names(text: str) -> list[str]:
        return opaque.split(text)[1::2]

    inside: list[str] = []  # what each open element makes of its text ("" : nothing special)
    pending: list[str] = []  # consecutive text events (a text may come in several)

    def flush() -> Iterator[tuple[str, str]]:
        where = next((w for w in reversed(inside) if w), "")
        if where and pending:
            yield from ((name, where) for name in placeholder_names("".join(pending)))
        pending.clear()

    events: list[Any] = list(pyromark.events(opaque.text, options=_MD_OPTIONS))  # (typed by pyromark as a union of literals)
    for event in events:
        if isinstance(event, dict) and "Text" in event:
            pending.append(str(event["Text"]))
            continue
        yield from flush()
        if not isinstance(event, dict):
            continue
        if "Start" in event:
            start = event["Start"]
            kind = next(iter(start)) if isinstance(start, dict) else start
            if kind in ("Image", "Link"):
                info = start[kind]
                noun = "an image" if kind == "Image" else "a link"
                for name in placeholder_names(f"{info.get('dest_url') or ''} {info.get('title') or ''}"):
                    yield name, f"the address or title of {noun}"
                inside.append("an image's description" if kind == "Image" else "a link's text")
            else:
                inside.append("a code block" if kind == "CodeBlock" else "")
        elif "End" in event:
            if inside:
                inside.pop()
        else:
            for kind, where in _NO_FIELD_IN.items():
                if kind in event:
                    yield from ((name, where) for name in placeholder_names(str(event[kind])))
    yield from flush()


def cloze_blanks(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] != "cloze":
        return
    used = placeholder_names(item["stem"])
    blanks = item["blanks"]
    if used:
        for name, where in _unreachable_blanks(item["stem"]):
            yield ("stem",), "IB225", (
                f"placeholder {{{{{name}}}}} stands in {where}, where no format can put an answer field (Moodle would "
                f"write its answer syntax there as text, QTI and HTML cannot make the field): move it out"
            )
    for name, n in Counter(used).items():
        if n > 1:
            yield ("stem",), "IB220", f"placeholder {{{{{name}}}}} appears {n} times; each blank is answered once"
    for name in dict.fromkeys(used):
        if name not in blanks:
            yield ("stem",), "IB208", f"placeholder {{{{{name}}}}} has no entry under `blanks`"
    for name, blank in blanks.items():
        if name not in used:
            yield ("blanks", name), "IB209", f"blank {quoted(name)} does not appear in the stem as {{{{{name}}}}}"
        if "choices" in blank:
            for k, choice in enumerate(blank["choices"]):
                if is_blank(choice):
                    yield ("blanks", name, "choices", k), "IB213", "choice is empty: learners would see an invisible answer"
            if blank.get("correct") not in blank["choices"]:
                yield ("blanks", name, "correct"), "IB214", f"{blank.get('correct')!r} is not one of the choices"
            if len({shown_alike(c) for c in blank["choices"]}) != len(blank["choices"]):
                yield ("blanks", name, "choices"), "IB217", "a choice is listed twice"
        if blank.get("tolerance", 0) < 0:
            yield ("blanks", name, "tolerance"), "IB206", f"tolerance {blank['tolerance']} is negative"


def matching_pairs(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] != "matching":
        return
    pairs = item["pairs"]
    if len(pairs) < 2:
        yield ("pairs",), "IB210", f"matching has {len(pairs)} pair; it needs at least 2"
    prompts = Counter(shown_alike(p["prompt"]) for p in pairs)
    for i, p in enumerate(pairs):
        if prompts[shown_alike(p["prompt"])] > 1:
            yield ("pairs", i, "prompt"), "IB217", "two pairs have the same prompt"
            break
    # Pairs may share a match (cat → mammal, dog → mammal): the exports offer each distinct match
    # once, as a target several prompts take (MatchingItem.targets), as Moodle's dropdowns do.
    for i, p in enumerate(pairs):
        for f in ("prompt", "match"):
            if is_blank(p[f]):
                yield ("pairs", i, f), "IB213", f"{f} is empty: learners would see nothing to match"
    matches = {shown_alike(p["match"]) for p in pairs}
    for i, d in enumerate(item.get("distractors", [])):
        if shown_alike(d) in matches:
            yield ("distractors", i), "IB217", f"distractor {d!r} is also a correct match"


def ordering_sequence(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] != "ordering":
        return
    for i, s in enumerate(item["sequence"]):
        if is_blank(s):
            yield ("sequence", i), "IB213", "step is empty"
    seq = [shown_alike(s) for s in item["sequence"]]
    if len(set(seq)) != len(seq):
        yield ("sequence",), "IB217", "an entry is listed twice; each step of the order must be distinct"


def short_answers(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] != "short_answer":
        return
    case = bool(item.get("case_sensitive"))
    seen = Counter(typed_alike(a, case) for a in item["answers"])
    for i, a in enumerate(item["answers"]):
        if seen[typed_alike(a, case)] > 1:
            yield ("answers", i), "IB217", f"answer {a!r} is listed twice"
            break


def essay_rubric(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if item["type"] != "essay":
        return
    lo, hi = item.get("min_words"), item.get("max_words")
    if lo is not None and hi is not None and lo > hi:
        yield ("min_words",), "IB219", f"min_words {lo} is greater than max_words {hi}"
    rubric = item.get("rubric")
    if not rubric:
        yield ("type",), "IB303", "essay has no rubric: graders get no scoring guide"
    else:
        total = sum(c["points"] for c in rubric)
        points = item.get("points", 1)
        if abs(total - points) > 1e-9:
            yield ("rubric",), "IB304", f"rubric points add up to {total:g} but the item is worth {points:g}"


def rationale_present(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    if ctx.config.require_rationale and item["type"] != "flashcard" and not (item.get("rationale") or "").strip():
        yield ("id",), "IB301", "item has no rationale"


def text_content(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    """Empty stems, characters XML cannot carry, raw HTML, and images that are missing or escape the bank."""
    if is_blank(item["stem"]):
        yield ("stem",), "IB213", "stem is empty"
    # Answer "is there anything to look at?" for the whole item first; the per-field walks below
    # only run for the few items where the answer is yes.
    src = ctx.source_text
    if src is None or "\\" in src:
        # Escape sequences may make characters the file does not show: look at the values themselves
        # (joined by a newline, which is neither a bad character nor part of any markup).
        src = "\n".join(string_values(item))
    # else: no escape sequences in the file: every character of every value stands in the file as is.
    may_be_bad = has_xml_bad(src)
    may_have_markup = _may_hold_markup(src)
    if may_be_bad:
        for path, text in all_strings(item):
            m = XML_BAD.search(text)
            if m:
                yield path, "IB216", f"control character U+{ord(m.group()):04X} at offset {m.start()} cannot be exported to XML; remove it"
    if "\\(" in src or "\\[" in src:
        for path, text in markdown_texts(item):
            found = eaten_math_delimiters(text)
            if found:
                opening, closing, dollars = found
                yield path, "IB322", (
                    f"{opening}...{closing} is not math here: Markdown reads {opening} as '{opening[1]}' and {closing} as '{closing[1]}', so learners see "
                    f"the LaTeX as plain text in every export; write {dollars}...{dollars}"
                )
    if not may_have_markup:
        return
    for path, text in markdown_texts(item):
        if not _may_hold_markup(text):
            continue  # no HTML, image, link or character reference: skip the parse (most texts)
        yield from markup_findings(path, text, ctx)


#: A LaTeX delimiter \( \) \[ \] whose backslash is not itself escaped (``\\(`` shows a backslash and a parenthesis).
_TEX_DELIMITER = re.compile(r"(?<!\\)((?:\\\\)*)\\([()\[\]])")
#: What the marks stand for in the rendered text: letters Markdown leaves alone.
_TEX_MARKS = {"(": "QqTEXOPENPARENqQ", ")": "QqTEXCLOSEPARENqQ", "[": "QqTEXOPENBRACKETqQ", "]": "QqTEXCLOSEBRACKETqQ"}
_CODE_OR_MATH = re.compile(r'<(code|pre)\b.*?</\1>|<span class="math [^"]*">.*?</span>', re.S)
#: LaTeX between \[ \]: a command, a sub- or superscript, braces or an equals sign (``\[1\]``, a
#: citation with escaped brackets, is not); between \( \) anything (``\(x\)``: nobody escapes a pair of
#: parentheses in Markdown prose).
_LATEX_LIKE = re.compile(r"\\[A-Za-z]+|[\^_{}=]")


def eaten_math_delimiters(text: str) -> tuple[str, str, str] | None:
    """``("\\(", "\\)", "$")`` (or the ``\\[ \\]`` pair and ``$$``) when the text writes LaTeX between
    ``\\( \\)`` (or ``\\[ \\]``) outside code and math: Markdown reads the backslash as an escape, so
    the math shows as text in every export.  None otherwise."""
    marked = _TEX_DELIMITER.sub(lambda m: m.group(1) + _TEX_MARKS[m.group(2)], text)
    if marked == text:
        return None
    shown = html.unescape(_CODE_OR_MATH.sub(" ", pyromark.html(marked, options=_MD_OPTIONS)))
    for opening, closing, dollars in (("(", ")", "$"), ("[", "]", "$$")):
        m = re.search(f"{_TEX_MARKS[opening]}(.*?){_TEX_MARKS[closing]}", shown, re.S)
        if m and m.group(1).strip() and (opening == "(" or _LATEX_LIKE.search(m.group(1))):
            return "\\" + opening, "\\" + closing, dollars
    return None


#: Where raw HTML or an autolink may start: CommonMark's HTML (blocks and inline: tags, closing tags,
#: comments, processing instructions, declarations, CDATA) and URI autolinks all begin with ``<``
#: and a letter, ``/``, ``!`` or ``?``.  (An e-mail autolink may start otherwise, e.g. ``<1a@b.c>``,
#: but gives no finding: it is a ``mailto:`` link.)  ``a < b`` cannot be markup.
_TAG_NEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/!?")
_LINK_NEXT = frozenset("(:")
_REF_NEXT = frozenset("#")


def _followed(text: str, char: str, following: frozenset[str]) -> bool:
    """Whether ``char`` stands somewhere in ``text`` right before one of ``following``.  Each step is
    a one-character find (memchr): several times faster than ``"](" in text`` on item files."""
    i = text.find(char)
    end = len(text) - 1
    while 0 <= i < end:
        if text[i + 1] in following:
            return True
        i = text.find(char, i + 1)
    return False


def _may_hold_markup(text: str) -> bool:
    """False when a text cannot hold HTML, an image, a link or a character reference (written out:
    this runs for every text of every item): none of ``](``, ``]:``, ``&#``, ``<`` + a letter, ``/``, ``!`` or ``?``."""
    return _followed(text, "]", _LINK_NEXT) or _followed(text, "&", _REF_NEXT) or _followed(text, "<", _TAG_NEXT)


def markup_findings(path: tuple[object, ...], text: str, ctx: RuleContext) -> Iterator[Finding]:
    """Raw HTML (comments included), refused URL schemes, images and decoded characters of one text."""
    html_seen = False
    # Only a numeric reference (&#27;) can decode to a character XML cannot carry; a raw one is
    # reported by the per-string scan.
    bad_char_seen = "&#" not in text or XML_BAD.search(text) is not None
    for event in pyromark.events(text, options=_MD_OPTIONS):
        if not isinstance(event, dict):
            continue
        if ("InlineHtml" in event or "Html" in event) and not html_seen:
            html_seen = True
            raw = str(event.get("InlineHtml") or event.get("Html") or "").strip()
            if raw.startswith("<!--"):
                yield path, "IB215", f"HTML comment {raw[:40]!r} is not allowed (a comment can hide markup from review); write notes as YAML `#` comments"
            else:
                yield path, "IB215", f"raw HTML {raw[:40]!r} is not allowed; put code in `backticks` or escape '<' as '\\<'"
            continue
        start = event.get("Start")
        if not isinstance(start, dict):
            if not bad_char_seen:
                value = event.get("Text")
                m = XML_BAD.search(value) if isinstance(value, str) else None
                if m:  # a character reference such as &#27; decoded to a character XML cannot carry
                    bad_char_seen = True
                    yield path, "IB216", f"a character reference decodes to U+{ord(m.group()):04X}, which cannot be exported to XML; remove it"
            continue
        kind = "Image" if "Image" in start else "Link" if "Link" in start else None
        if kind is None:
            continue
        ref = start[kind]["dest_url"]
        title = start[kind].get("title") or ""
        m = None if bad_char_seen else XML_BAD.search(title)
        if m:
            bad_char_seen = True
            yield path, "IB216", f"{kind.lower()} title holds U+{ord(m.group()):04X}, which cannot be exported to XML; remove it"
        scheme = url_scheme_problem(ref)
        if scheme is not None:
            allowed = ", ".join(f"{s}:" for s in ALLOWED_SCHEMES)
            shown = ref if len(ref) <= 60 else ref[:57] + "..."
            yield path, "IB222", f"{kind.lower()} URL {shown!r} uses the scheme '{scheme}:', which is not allowed (allowed: {allowed} and paths in the bank)"
            continue
        if kind == "Image":
            code = ctx.image_status(ref)
            if code == "IB211":
                yield path, code, f"image '{ref}' does not exist (paths are relative to the bank root)"
            elif code == "IB212":
                yield path, code, f"image '{ref}' points outside the bank"
            elif code == "IB223":
                yield path, code, f"image '{ref}' and '{ctx.case_twin(ref)}' differ only in letter case: they collide in zip files opened on Windows or macOS"


def moodle_grades(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    """A multiple response item must be scorable with Moodle's grade list (its Moodle XML/GIFT export)."""
    if item["type"] != "multiple_response":
        return
    options = item["options"]
    n_correct = sum(1 for o in options if o.get("correct"))
    if n_correct == 0:
        return  # IB204 already says so
    if moodle_fractions(n_correct, len(options) - n_correct, item.get("scoring", "partial")) is None:
        yield ("options",), "IB221", (
            f"{n_correct} correct options cannot share 100% on Moodle's grade list (at most {MAX_CORRECT}: its smallest grade is 5%)"
        )


RULES: tuple[Rule, ...] = (
    text_content,
    choice_keys,
    numeric_answer,
    number_precision,
    cloze_blanks,
    matching_pairs,
    ordering_sequence,
    short_answers,
    essay_rubric,
    rationale_present,
    moodle_grades,
    calculated,
)


def check_item(item: dict[str, Any], ctx: RuleContext) -> Iterator[Finding]:
    for rule in RULES:
        yield from rule(item, ctx)
