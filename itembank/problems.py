"""Problems found in a bank, and the catalogue of stable rule codes.

A rule code never changes meaning once released: CI scripts and editors match on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]

#: code -> (severity, one-line summary).  The README's rule table is generated from this.
RULES: dict[str, tuple[Severity, str]] = {
    # files
    "IB001": ("error", "file is too large"),
    "IB002": ("error", "file is empty"),
    "IB003": ("error", "file is binary, not text"),
    "IB004": ("error", "file is not valid UTF-8"),
    "IB005": ("error", "file or folder cannot be read"),
    "IB006": ("error", "not a regular file (FIFO, device, socket), a link to a file or folder outside the bank, or a link loop"),
    "IB010": ("error", "YAML or JSON syntax error"),
    "IB011": ("error", "duplicate key in a mapping (a later value would silently overwrite an earlier one)"),
    "IB012": ("error", "too many aliases or too deep nesting (alias bomb)"),
    "IB013": ("error", "file holds neither an item nor an `items:` list"),
    "IB014": ("error", "unsupported YAML value (non-string key, date, or other non-JSON type)"),
    "IB015": ("error", "bank settings file (itembank.yaml) is invalid"),
    "IB016": ("error", "no items found (an empty bank or a wrong --bank; allow with --allow-empty)"),
    # schema
    "IB100": ("error", "value is not valid under the item schema"),
    "IB101": ("error", "required field is missing"),
    "IB102": ("error", "unknown field (typo?)"),
    "IB103": ("error", "value has the wrong type"),
    "IB104": ("error", "value is not one of the allowed values"),
    "IB105": ("error", "value does not match the required pattern"),
    "IB106": ("error", "value is out of range or too short/long"),
    "IB107": ("error", "field does not apply to this item type"),
    # semantic rules
    "IB201": ("error", "item id is used more than once in the bank"),
    "IB202": ("error", "multiple choice must have exactly one correct option"),
    "IB203": ("error", "wrong option has no explanation (feedback)"),
    "IB204": ("error", "multiple response must have at least one correct option"),
    "IB205": ("error", "option ids must be unique within the item"),
    "IB206": ("error", "numeric tolerance must be >= 0"),
    "IB207": ("error", "numeric range must have min <= max"),
    "IB208": ("error", "cloze placeholder in the stem has no blank"),
    "IB209": ("error", "cloze blank is not used in the stem"),
    "IB210": ("error", "matching needs at least two pairs"),
    "IB211": ("error", "referenced image does not exist"),
    "IB212": ("error", "referenced image lies outside the bank"),
    "IB213": ("error", "text is empty"),
    "IB214": ("error", "dropdown blank's correct value is not one of its choices"),
    "IB215": ("error", "raw HTML is not allowed in Markdown text"),
    "IB216": ("error", "text holds a control character that XML cannot carry"),
    "IB217": ("error", "duplicate entries where each must be distinct"),
    "IB218": ("error", "numeric item needs either answer or range, not both"),
    "IB219": ("error", "essay word limits are inverted (min_words > max_words)"),
    "IB220": ("error", "cloze placeholder is used more than once"),
    "IB221": ("error", "multiple response item cannot be scored in Moodle's grade list"),
    "IB222": ("error", "link or image URL has a scheme that is not allowed (only http, https, mailto and bank paths)"),
    "IB223": ("error", "image file names differ only in letter case (they collide on Windows and macOS)"),
    "IB224": ("error", "an answer number, or an answer ± tolerance bound, has more significant digits than exports keep (15), or the bound lies beyond a double's range"),
    "IB225": ("error", "cloze placeholder stands in code, math, an image or a link, where no answer field can go"),
    "IB230": ("error", "calculated formula does not parse or uses something a formula may not"),
    "IB231": ("error", "calculated formula uses a variable that is not defined (before it)"),
    "IB232": ("error", "calculated variable is not sane (range, step/decimals, name)"),
    "IB233": ("error", "placeholder names no variable, or has a bad number format"),
    "IB234": ("error", "a sampled variant has no finite value (division by zero, NaN, infinity, domain)"),
    "IB235": ("error", "a sampled variant's answer lies outside the declared answer_range"),
    # warnings
    "IB301": ("warning", "item has no rationale"),
    "IB302": ("warning", "every option of a multiple response item is correct"),
    "IB303": ("warning", "essay has no rubric"),
    "IB304": ("warning", "rubric points do not add up to the item's points"),
    "IB320": ("warning", "a [...] list looks like one sentence split at its commas"),
    "IB321": ("warning", "text is cut at ` #`: YAML reads the rest of the line as a comment"),
    "IB322": ("warning", "LaTeX between \\( \\) or \\[ \\] is not math: Markdown reads the backslashes as escapes"),
    # assessments (blueprints in the bank's assessments/ folder)
    "IB401": ("error", "assessment file is not valid under the assessment schema"),
    "IB402": ("error", "assessment names an item id that is not in the bank"),
    "IB403": ("error", "assessment selects the same item twice"),
    "IB404": ("error", "assessment rule cannot be filled: too few matching items"),
    "IB405": ("error", "assessment lists an item whose status it does not allow"),
    "IB406": ("warning", "assessment rule draws every matching item, so a delivery-time pool is not random"),
    "IB407": ("error", "delivery-time pool holds items worth different points (one point value per Canvas question group)"),
    "IB408": ("warning", "locked form's item changed since the lock was made"),
    "IB409": ("error", "locked form's item is gone from the bank or retired"),
    "IB410": ("error", "lock file is not valid"),
    "IB411": ("warning", "blueprint changed since the lock was made: the lock is not used"),
    "IB412": ("error", "two assessment files have the same name (same.yaml and same.yml)"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, located as precisely as the input allows."""

    file: str
    code: str
    message: str
    line: int = 1
    column: int = 1
    item_id: str | None = None
    path: str = ""
    severity: Severity = "error"
    suggestion: str | None = None  # what to do about it (lint findings carry one)

    def format(self) -> str:
        """``file:line:col: error IB203 [id] path: message`` — the compiler-style line."""
        who = f" [{self.item_id}]" if self.item_id else ""
        where = f" {self.path}:" if self.path else ""
        fix = f" (suggestion: {self.suggestion})" if self.suggestion else ""
        return f"{shown_file(self.file)}:{self.line}:{self.column}: {self.severity} {self.code}{who}{where} {self.message}{fix}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def shown_file(file: str) -> str:
    """A problem's ``file`` as text any output can carry: the bytes of a name that is not valid UTF-8
    (``file`` holds them as the operating system gives them, lone surrogates) shown as ``\\xNN``.
    ``os.fsencode(file)`` is the name itself (the SARIF reporter's uri)."""
    if file.isascii():
        return file
    try:
        return file.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no byte stands for: shown by the reporters' escaping
        return file


def problem(file: str, code: str, message: str, **kw: object) -> Problem:
    """A Problem whose severity comes from the rule catalogue."""
    return Problem(file=file, code=code, message=message, severity=RULES[code][0], **kw)  # type: ignore[arg-type]


def json_path(parts: tuple[object, ...] | list[object]) -> str:
    """``("options", 2, "feedback")`` -> ``options[2].feedback``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out
