"""Hypothesis strategies for VALID items of every type, written the way teachers write them.

Import from any test (``tests/`` is on ``sys.path`` under pytest)::

    from hypothesis import given
    from strategies import banks, items, markdown, write_bank

    @given(banks())
    def test_something(tmp_path_factory, generated):
        root = write_bank(generated, tmp_path_factory.mktemp("bank"))
        ...

What the Markdown mixes (each piece is a strategy of its own, see ``PIECES``):

* inline code (with ``<``, ``&``, ``]]>``, braces) and fenced code blocks, next to cloze blanks and math
  (``call `df.` {{method}} `()` `` is in the mix on purpose);
* ``$...$`` and ``$$...$$`` with LaTeX that latex2mathml accepts: spacing ``\\! \\, \\; \\quad``,
  ``\\left( \\right)``, ``\\text{}``, ``\\mathbb``, matrices, ``\\begin{aligned}``, ``<`` inside math;
* images with alt text (the files are generated into the bank's ``media/``), links, lists, emphasis,
  entities (``&amp;`` ``&copy;`` ``&#x1F600;``), non-BMP characters, right-to-left text, ``]]>``,
  ``\\<`` (the escape the item format requires outside code), ``&``, GIFT/Moodle specials
  (``~ = # { } : *``) and the numbers teachers write (1.96 ± 0.005, 1e-7, large integers).

Every generated item is valid with no warning under the default settings (``test_generated_banks``
checks that first); the generators keep to the rules the validator enforces (distinct options, a
keyed option, explanations for distractors, blanks used once, rubric points adding up...).

``banks()`` gives a :class:`GeneratedBank`: item mappings, the image files they reference, and how
to split them into files; ``write_bank(bank, folder)`` writes it as YAML files (block style, as an
author writes them) with ``itembank.yaml`` and ``media/``.
"""

from __future__ import annotations

import struct
from decimal import Decimal
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml_rs
from hypothesis import strategies as st

from itembank.model import shown_alike
from itembank.rules import is_blank

# --- the pieces of text ---------------------------------------------------------------------------

WORDS = (
    "model", "data", "mean", "variance", "sample", "the", "of", "fit", "learning", "rate", "test",
    "café", "naïve", "Straße", "データ", "模型", "分布", "σ-algebra", "x²",
)
NON_BMP = ("𝔼", "𝟙", "😀", "🧪", "𝑥", "𠀋")
RTL = ("שלום", "مرحبا", "ממוצע", "متوسط")
SPECIAL = ("&", "]]>", "\\<", "A & B", "x \\< y", "~", "=", "#", ":", "->", "%", "50%", "C#", "\\*", "a_b", "'", '"', "§", "±", "—", "…")
ENTITIES = ("&amp;", "&copy;", "&#x1F600;", "&lt;", "&nbsp;", "&#42;")
NUMBERS = ("1.96 ± 0.005", "1e-7", "9007199254740993", "0.1 + 0.2", "-3.5", "1,000", "3.14159", "1.10", "2024-01-01", "10^6")

#: LaTeX that latex2mathml converts: what statistics and ML teachers write.
LATEX = (
    r"\bar{x}",
    r"\hat{\beta}_1",
    r"x^2 + y^2",
    r"\frac{a}{b}",
    r"N\!\left(\mu, \sigma^2\right)",
    r"a\,b\;c\quad d",
    r"\text{mean} = 3",
    r"\mathbb{R}^n",
    r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}",
    r"\begin{bmatrix} a & b \end{bmatrix}",
    r"\begin{aligned} a &= b \\ c &= d \end{aligned}",
    r"\sum_{i=1}^{n} x_i",
    r"\alpha < \beta",
    r"x \le y \ge z",
    r"\sqrt{2}",
    r"\sqrt[3]{x}",
    r"1.96 \pm 0.005",
    r"\mathrm{Var}(X)",
    r"P(A \mid B)",
    r"\|x\|_2",
    r"e^{-\lambda t}",
    r"\int_0^1 f(x)\,dx",
)

CODE_SPANS = ("df.", "()", "x < y && z", "a & b", "]]>", "<div>", "print('hi')", "d = {'a': 1}", "#include <stdio.h>", "s[::-1]", "$HOME", "a*b", "x = ~y", "\\n", "C:\\new")
CODE_BLOCKS = (
    ("python", "import numpy as np\nx = np.array([1, 2, 3])\nif x.mean() < 2 and x.sum() > 0:\n    print(\"ok & done\")"),
    ("", "SELECT * FROM t WHERE a < 3;"),
    ("c", "#include <stdio.h>\nint main(void) { return 0; } // ]]>"),
    ("c", "printf(\"%d\\n\", x); /* C:\\new */"),  # a backslash before a letter: GIFT's "\\n" is a newline, this is not
    ("yaml", "key: value  # not a comment of the item"),
)


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small valid PNG (so every consumer that opens images can open it)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


#: The images every generated bank holds (``media/<name>``); texts reference some of them.
IMAGES = {f"media/fig-{i}.png": png_bytes(3 + i, 2 + i, (40 * i % 256, 90, 200)) for i in range(3)}
IMAGES["media/graphique répartition.png"] = png_bytes(5, 5, (10, 160, 10))


def _word() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(WORDS),
        st.sampled_from(NON_BMP),
        st.sampled_from(RTL),
        st.sampled_from(SPECIAL),
        st.sampled_from(ENTITIES),
        st.sampled_from(NUMBERS),
    )


def _plain_words(min_size: int = 1, max_size: int = 6) -> st.SearchStrategy[str]:
    return st.lists(_word(), min_size=min_size, max_size=max_size).map(" ".join)


def _link() -> st.SearchStrategy[str]:
    return st.builds(
        lambda text, url: f"[{text}]({url})",
        st.sampled_from(("the docs", "Wikipedia", "énoncé", "R & Python")),
        st.sampled_from(("https://example.org/a?b=1&c=2", "https://en.wikipedia.org/wiki/Normal_distribution", "https://example.org/%C3%A9t%C3%A9")),
    )


def _image() -> st.SearchStrategy[str]:
    return st.builds(
        lambda alt, ref: f"![{alt}](<{ref}>)" if " " in ref else f"![{alt}]({ref})",
        st.sampled_from(("loss curve", "a graph of f(x) & g(x)", "courbe", "גרף", "")),
        st.sampled_from(sorted(IMAGES)),
    )


def inline_piece() -> st.SearchStrategy[str]:
    """One inline piece of Markdown (no blank): words, code, math, emphasis, a link, an image."""
    return st.one_of(
        _plain_words(),
        _plain_words(),
        st.sampled_from(CODE_SPANS).map(lambda c: f"`{c}`"),
        st.sampled_from(LATEX).map(lambda m: f"${m}$"),
        _plain_words(1, 3).map(lambda w: f"*{w}*"),
        _plain_words(1, 3).map(lambda w: f"**{w}**"),
        _link(),
        _image(),
    )


def inline_text(min_size: int = 1, max_size: int = 6, pieces: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    """One line of inline Markdown: what goes in an option, a pair, a hint (``pieces``: its pieces,
    :func:`inline_piece` by default)."""
    # Not a text that shows nothing (``&nbsp;`` alone): validation refuses it where a text is required (IB213).
    return st.lists(inline_piece() if pieces is None else pieces, min_size=min_size, max_size=max_size).map(" ".join).filter(lambda s: not is_blank(s))


def _block(inline: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        inline,
        inline,
        st.lists(inline, min_size=2, max_size=3).map(lambda xs: "\n".join(f"- {x}" for x in xs)),
        st.lists(inline, min_size=2, max_size=3).map(lambda xs: "\n".join(f"{i}. {x}" for i, x in enumerate(xs, 1))),
        st.sampled_from(CODE_BLOCKS).map(lambda c: f"```{c[0]}\n{c[1]}\n```"),
        st.sampled_from(LATEX).map(lambda m: f"$${m}$$"),
    )


def markdown(max_blocks: int = 3) -> st.SearchStrategy[str]:
    """A Markdown text of a few blocks (paragraphs, lists, fenced code, display math)."""
    return st.lists(_block(inline_text()), min_size=1, max_size=max_blocks).map("\n\n".join)


def plain_text(min_size: int = 1, max_size: int = 4) -> st.SearchStrategy[str]:
    """Text that is not Markdown (titles, short answers, dropdown choices): specials included."""
    # (a long decimal: the look of binary rounding, as the author wrote it, e.g. in a title)
    extra = st.sampled_from(("<", "a<b", "*", "x*", "{", "}", "~", "=", "#", ":", "|", "\\", "&", "]]>", "%", "'", '"', "0.30000000000000004"))
    return st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(RTL), st.sampled_from(NON_BMP), extra), min_size=min_size, max_size=max_size).map(
        " ".join
    )


#: Plain texts (matches, steps) that LMS importers read as something else: markup to strip (Moodle
#: shows a match through format_string), numbers PHP's == finds equal ("0.1" and "0.10" were one
#: Moodle choice), a GIFT comment line ("//"), PHP's false "0" (a dropped ordering step).
PLAIN_TRAPS = ("<", "<=", "a<b", "x >= 1", "R&D", "&lt;", "0.1", "0.10", "1e3", "1000", "0", "-0", "// step", "//")


def _plain_entry(max_size: int = 3) -> st.SearchStrategy[str]:
    """A match, distractor or ordering step: mostly inline text, sometimes one of :data:`PLAIN_TRAPS`."""
    return st.one_of(inline_text(1, max_size), inline_text(1, max_size), st.sampled_from(PLAIN_TRAPS))


# --- numbers --------------------------------------------------------------------------------------

# (the largest integers here have 15 significant digits: one more is a validation error, IB224)
EDGE_VALUES = (1.96, 0.1, 0.3, 1e-7, 2.5e-10, 123456789012, 900719925474099, -3.5, 0.0, 1.005, 2.675, 1e15, 6.02214076e23, 100.0)
EDGE_TOLERANCES = (0.005, 0.0, 0.05, 1e-7, 0.5, 1, 0.001, 1e-9)


def numbers() -> st.SearchStrategy[float | int]:
    return st.one_of(
        st.sampled_from(EDGE_VALUES),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False).map(lambda f: float(f"{f:.6g}")),
    )


@st.composite
def answer_keys(draw: st.DrawFn) -> tuple[float | int, float | int]:
    """A number and its tolerance that validation takes: ``number ± tolerance`` fits in the 15
    significant digits the exports keep (IB224); else the tolerance is the widest edge tolerance that
    fits, or none (1e15 ± 1e-9 is not a key any LMS can hold)."""
    from itembank.rules import number_precision

    number, tolerance = draw(numbers()), draw(tolerances())

    def fits(t: float | int) -> bool:
        return not any(f[1] == "IB224" for f in number_precision({"type": "numeric", "answer": number, "tolerance": t}, None))  # type: ignore[arg-type]

    if not fits(tolerance):
        tolerance = next((t for t in sorted(EDGE_TOLERANCES, reverse=True) if t and fits(t) and t < 7.5), 0.0)
    return number, tolerance


def tolerances() -> st.SearchStrategy[float | int]:
    """Tolerances below 7.5: the QTI player's "wrong" answer to a number is the key + 7.5, which a
    wider tolerance would accept (the player then FAILs the item for a wrong answer scoring full)."""
    return st.one_of(st.sampled_from(EDGE_TOLERANCES), st.floats(min_value=0, max_value=5, allow_nan=False).map(lambda f: float(f"{f:.3g}")))


# --- items --------------------------------------------------------------------------------------------


def _distinct(strategy: st.SearchStrategy[str], n_min: int, n_max: int, *, key: Any = None) -> st.SearchStrategy[list[str]]:
    """Distinct texts, made distinct by a suffix when the generator repeats itself."""

    def tag(xs: list[str]) -> list[str]:
        seen: set[str] = set()
        out = []
        for i, x in enumerate(xs):
            k = (key or str.strip)(x)
            if k in seen or not k:
                x = f"{x} (v{i})"
            seen.add((key or str.strip)(x))
            out.append(x)
        return out

    return st.lists(strategy, min_size=n_min, max_size=n_max).map(tag)


@st.composite
def _common(draw: st.DrawFn, item_id: str, item_type: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": item_type}
    if draw(st.booleans()):
        item["title"] = draw(plain_text(1, 5))
    item["topic"] = draw(st.sampled_from(("statistics", "machine learning", "Wahrscheinlichkeit", "ריכוז", "R & Python", "Chapter 3.141592653589793")))
    item["difficulty"] = draw(st.sampled_from(("easy", "medium", "hard")))
    if draw(st.booleans()):
        item["tags"] = draw(st.lists(st.sampled_from(("stats", "ml", "café", "t-test", "p<0.05", "x=0.1428571428571428")), unique=True, max_size=3))
    item["points"] = draw(st.sampled_from((1, 1, 2, 3, 0.5, 2.5, 10)))
    item["status"] = draw(st.sampled_from(("draft", "approved", "review")))
    return item


def _teaching(draw: st.DrawFn, item: dict[str, Any]) -> None:
    if draw(st.booleans()):
        item["rationale"] = draw(markdown(2))
    if draw(st.booleans()):
        item["hints"] = draw(st.lists(inline_text(1, 4), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        steps = draw(st.lists(st.one_of(inline_text(1, 3), st.builds(lambda t, x: {"title": t, "text": x}, plain_text(1, 3), markdown(1))), min_size=1, max_size=2))
        item["solution"] = {"steps": steps, "final_answer": draw(inline_text(1, 2))}
    if draw(st.integers(0, 3)) == 0:
        item["common_mistakes"] = draw(st.lists(inline_text(1, 3), min_size=1, max_size=2))


@st.composite
def _choice(draw: st.DrawFn, item: dict[str, Any]) -> dict[str, Any]:
    multiple = item["type"] == "multiple_response"
    n = draw(st.integers(2, 5))
    texts = draw(_distinct(inline_text(1, 4), n, n))
    if multiple:
        n_correct = draw(st.integers(1, min(3, n - 1)))
        keys = set(draw(st.permutations(range(n)))[:n_correct])
        item["scoring"] = draw(st.sampled_from(("partial", "all_or_nothing")))
    else:
        keys = {draw(st.integers(0, n - 1))}
    options = []
    for i, text in enumerate(texts):
        option: dict[str, Any] = {"id": f"o{i}" if draw(st.booleans()) else "abcde"[i], "text": text}
        if i in keys:
            option["correct"] = True
            if draw(st.booleans()):
                option["feedback"] = draw(inline_text(1, 3))
        else:
            option["feedback"] = draw(markdown(1))
        options.append(option)
    item["options"] = options
    item["shuffle"] = draw(st.booleans())
    return item


#: Blank names Markdown would read as emphasis (or cut in two) if an exporter rendered them as written.
UNDERSCORE_NAMES = ("_a_", "__a__", "_x", "y_", "a_b_c", "_", "__", "___", "_-_", "a__b", "_1_", "A_", "x-_-y")


def blank_names() -> st.SearchStrategy[str]:
    """Every blank name the item format allows (``itembank.model.PLACEHOLDER``), underscores often."""
    return st.one_of(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,31}", fullmatch=True),
        st.from_regex(r"[_a][_a-]{0,5}", fullmatch=True),
        st.sampled_from(UNDERSCORE_NAMES),
    )


@st.composite
def _cloze(draw: st.DrawFn, item: dict[str, Any]) -> dict[str, Any]:
    n = draw(st.integers(1, 4))
    names = draw(st.lists(blank_names(), min_size=n, max_size=n, unique=True))
    blanks: dict[str, Any] = {}
    parts: list[str] = []
    for name in names:
        kind = draw(st.sampled_from(("text", "choice", "numeric")))
        if kind == "text":
            blank: dict[str, Any] = {"answers": draw(_distinct(plain_text(1, 2), 1, 3, key=lambda s: s.strip().casefold()))}
        elif kind == "choice":
            choices = draw(_distinct(plain_text(1, 2), 2, 4))
            blank = {"choices": choices, "correct": draw(st.sampled_from(choices))}
        else:
            number, tolerance = draw(answer_keys())
            blank = {"number": number, "tolerance": tolerance}
        if draw(st.integers(0, 2)) == 0:
            # (sometimes naming its blank as text: ``{{name}}`` outside the stem is no blank)
            blank["feedback"] = draw(st.sampled_from(("", "{{" + name + "}}: "))) + draw(inline_text(1, 3))
        blanks[name] = blank
        # Where the blank stands: after inline code, next to math, in emphasis (around it or beside
        # it: a name's underscores must pair with none of it), in a list, a table, a heading, in prose.
        before = draw(st.sampled_from(("", "`df.` ", "$\\bar{x}$ = ", "call `f(x)`", "**", "*", "_", "the ", "$N\\!\\left(0, 1\\right)$ ",
                                       "*so* ", "_so_ ", "__so__ ", "a_b ", "`a[NAME]` is ")))
        # (``a[NAME]``: the blank's own name in brackets, which Canvas takes for the blank's field)
        before = before.replace("NAME", name)
        wrap = before if before in ("**", "*", "_") else ""
        after = wrap or draw(st.sampled_from(("", " `()`", " $\\sigma$", ", then", " & more", " *so*", " _so_", " __so__", " a_b")))
        placeholder = "{{" + name + "}}" if draw(st.integers(0, 4)) else "{{ " + name + " }}"
        parts.append(draw(inline_text(0, 2)) + " " + before + placeholder + after)
    layout = draw(st.sampled_from(("prose", "list", "paragraphs", "table", "heading")))
    if layout == "list":
        stem = draw(inline_text(1, 2)) + "\n\n" + "\n".join(f"- {p.strip()}" for p in parts)
    elif layout == "paragraphs":
        stem = "\n\n".join(p.strip() for p in parts)
    elif layout == "table":
        stem = draw(inline_text(1, 2)) + "\n\n| part | blank |\n|---|---|\n" + "\n".join(f"| {k} | {p.strip()} |" for k, p in enumerate(parts, 1))
    elif layout == "heading":
        stem = "## " + parts[0].strip() + ("\n\n" + " ".join(p.strip() for p in parts[1:]) if parts[1:] else "")
    else:
        stem = " ".join(p.strip() for p in parts)
    if draw(st.booleans()):
        stem += "\n\n" + draw(st.sampled_from(CODE_BLOCKS).map(lambda c: f"```{c[0]}\n{c[1]}\n```"))
    if draw(st.integers(0, 4)) == 0:  # a blank's placeholder written as text, its braces escaped
        stem += "\n\nTemplates write \\{\\{" + names[0] + "\\}\\} as it is."
    item["stem"] = stem
    item["blanks"] = blanks
    item["points"] = draw(st.sampled_from((1, n, 2 * n)))
    return item


@st.composite
def _body(draw: st.DrawFn, item: dict[str, Any]) -> dict[str, Any]:
    t = item["type"]
    if t != "cloze":
        item["stem"] = draw(markdown(3))
    if t in ("multiple_choice", "multiple_response"):
        draw(_choice(item))
    elif t == "true_false":
        item["answer"] = draw(st.booleans())
        if draw(st.booleans()):
            item["true_feedback"] = draw(inline_text(1, 3))
            item["false_feedback"] = draw(inline_text(1, 3))
    elif t == "short_answer":
        item["answers"] = draw(_distinct(plain_text(1, 3), 1, 3, key=lambda s: s.strip().casefold()))
        item["case_sensitive"] = draw(st.booleans())
    elif t == "numeric":
        if draw(st.integers(0, 3)):
            item["answer"], item["tolerance"] = draw(answer_keys())
        else:
            low = float(draw(numbers()))  # (an int beyond 2**53 would compare above its own float max: IB207)
            width = draw(st.sampled_from(("0", "0.01", "1", "2.5", "10")))
            high = float(Decimal(repr(float(low))) + Decimal(width))  # exact: never below low
            from itembank.rules import KEPT_DIGITS, significant_digits

            if significant_digits(high) > KEPT_DIGITS:  # (900719925474099 + 2.5: a 16-digit bound is IB224)
                high = low
            item["range"] = {"min": low, "max": max(high, low)}
        if draw(st.booleans()):
            item["unit"] = draw(st.sampled_from(("m/s", "kg", "%", "µs", "€", "examples")))
    elif t == "essay":
        n = draw(st.integers(0, 3))
        if n:
            criteria = draw(_distinct(inline_text(1, 3), n, n))
            each = draw(st.sampled_from((1, 2, 0.5)))
            item["rubric"] = [{"criterion": c, "points": each} for c in criteria]
            item["points"] = each * n
        else:
            item["rubric"] = [{"criterion": draw(inline_text(1, 3)), "points": item["points"]}]
        if draw(st.booleans()):
            item["sample_answer"] = draw(markdown(2))
        if draw(st.booleans()):
            lo = draw(st.integers(0, 100))
            item["min_words"], item["max_words"] = lo, max(1, lo + draw(st.integers(0, 500)))  # max_words >= 1
        if draw(st.booleans()):
            item["response_template"] = draw(plain_text(1, 4))
    elif t == "matching":
        n = draw(st.integers(2, 4))
        prompts = draw(_distinct(inline_text(1, 3), n, n))
        # Sometimes fewer distinct matches than prompts: pairs that share a match ("cat → mammal,
        # dog → mammal"), each distinct match one target of every export, taken by several prompts.
        k = draw(st.integers(2, n)) if n > 2 and draw(st.booleans()) else n
        distinct = draw(_distinct(_plain_entry(), k, k))
        matches = distinct + [draw(st.sampled_from(distinct)) for _ in range(n - k)]
        matches = draw(st.permutations(matches))
        item["pairs"] = [{"prompt": p, "match": m} for p, m in zip(prompts, matches)]
        if draw(st.booleans()):
            extra = draw(_plain_entry(2))
            if shown_alike(extra) not in {shown_alike(m) for m in matches}:
                item["distractors"] = [extra]
    elif t == "ordering":
        n = draw(st.integers(3, 5))
        item["sequence"] = draw(_distinct(_plain_entry(), n, n))
    elif t == "cloze":
        draw(_cloze(item))
    elif t == "flashcard":
        item["answer"] = draw(markdown(2))
    elif t == "calculated":
        draw(_calculated(item))
    return item


ITEM_TYPES = ("multiple_choice", "multiple_response", "true_false", "short_answer", "numeric", "essay", "matching", "ordering", "cloze", "flashcard")

# --- calculated items (not in ITEM_TYPES: the readers do not import them; ask with items("calculated")) --

#: Variables a generated calculated item may use: grids, rounded ranges and lists, negative values too.
CALC_VARIABLES: dict[str, dict[str, Any]] = {
    "n": {"min": 10, "max": 100, "step": 10},
    "s": {"min": 0.5, "max": 9.5, "decimals": 1},
    "p": {"values": [0.05, 0.1, 0.25]},
    "k": {"min": -5, "max": 5, "step": 0.5},
    "rate": {"min": 1, "max": 3, "decimals": 2},
}
#: Formulas over them with a finite value everywhere (validation draws 300 variants); "round" too,
#: which QTI templates refuse (skipped with the reason there).
CALC_FORMULAS = (
    "n * s", "s / sqrt(n)", "p * n + k", "exp(p) * s", "log(n) + k ^ 2", "max(s, k) - min(p, 1)",
    "atan2(k, s)", "n % 7 + s", "abs(k) * rate", "sin(k) + cos(s)", "round(s * rate, 2)", "-k / rate",
)
#: Python format specs teachers write (printf has a twin of all but the last two: QTI skips those).
CALC_FORMATS = ("", "", ":.2f", ":g", ":.3e", ":+.1f", ":08.3f", ":.1%", ":,")


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@st.composite
def _placeholder(draw: st.DrawFn, names: list[str]) -> str:
    text = "{" + draw(st.sampled_from(names)) + draw(st.sampled_from(CALC_FORMATS)) + "}"
    return draw(st.sampled_from((text, text, f"**{text}**", f"*{text}*", f"{text}²", f"({text})")))


@st.composite
def _with_placeholders(draw: st.DrawFn, text: str, names: list[str]) -> str:
    """``text`` (its braces escaped) with placeholders added between its pieces, sometimes in math."""
    pieces = [_escape_braces(text)]
    for _ in range(draw(st.integers(1, 3))):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(_placeholder(names)))
    if draw(st.integers(0, 6)) == 0:  # inside math: QTI's printedVariable cannot stand there
        pieces.append(f"$x = {{{draw(st.sampled_from(names))}}}$")
    return " ".join(pieces)


@st.composite
def _calculated(draw: st.DrawFn, item: dict[str, Any]) -> None:
    from itembank.formulas import parse

    formula = draw(st.sampled_from(CALC_FORMULAS))
    names = sorted(parse(formula).names)
    item["variables"] = {n: CALC_VARIABLES[n] for n in names}
    shown = list(names)
    if draw(st.booleans()):
        derived = draw(st.sampled_from([f for f in CALC_FORMULAS if f != formula]))
        for n in sorted(parse(derived).names):
            item["variables"].setdefault(n, CALC_VARIABLES[n])
        item["derived"] = {"d": derived}
        item["formula"] = f"{formula} + d" if draw(st.booleans()) else formula
        shown.append("d")
    else:
        item["formula"] = formula
    item["stem"] = draw(_with_placeholders(draw(inline_text(1, 4)), shown))
    if draw(st.booleans()):
        item["stem"] = _escape_braces(draw(markdown(2))) + "\n\n" + item["stem"]
    item["tolerance"] = draw(st.sampled_from((0.01, 0.5, 0.001, 0)))
    item["tolerance_type"] = draw(st.sampled_from(("absolute", "relative")))
    if draw(st.booleans()):
        item["unit"] = draw(st.sampled_from(("m/s", "kg", "%", "µs", "€")))
    item["answer_decimals"] = draw(st.integers(0, 4))


def _calculated_teaching(draw: st.DrawFn, item: dict[str, Any]) -> None:
    """The teaching texts of a calculated item: braces escaped, placeholders of its values added."""
    names = [*item["variables"], *item.get("derived", {}), "answer"]
    if "rationale" in item:
        item["rationale"] = draw(_with_placeholders(item["rationale"], names))
    if "hints" in item:
        item["hints"] = [draw(_with_placeholders(h, names)) for h in item["hints"]]
    if "common_mistakes" in item:
        item["common_mistakes"] = [_escape_braces(c) for c in item["common_mistakes"]]
    if "solution" in item:
        sol = item["solution"]
        sol["steps"] = [
            {"title": _escape_braces(s["title"]), "text": draw(_with_placeholders(s["text"], names))} if isinstance(s, dict) else draw(_with_placeholders(s, names))
            for s in sol["steps"]
        ]
        sol["final_answer"] = _escape_braces(sol["final_answer"]) + " {answer:.3f}"


@st.composite
def items(draw: st.DrawFn, item_type: str | None = None, item_id: str | None = None) -> dict[str, Any]:
    """One valid item mapping (of ``item_type``, or any type)."""
    t = item_type or draw(st.sampled_from(ITEM_TYPES))
    item = draw(_common(item_id or f"gen-{t.replace('_', '-')}", t))
    draw(_body(item))
    _teaching(draw, item)  # flashcards too: the schema lets them have hints, rationale, solution
    if t == "calculated":
        _calculated_teaching(draw, item)
    return item


@dataclass
class GeneratedBank:
    """Items (plain mappings, in bank order), how they are split into files, and the bank's images."""

    items: list[dict[str, Any]]
    files: list[list[int]] = field(default_factory=list)  # item indexes per file; one-item files hold a mapping
    images: dict[str, bytes] = field(default_factory=lambda: dict(IMAGES))
    title: str = "Generated & <bank>"


@st.composite
def banks(draw: st.DrawFn, min_items: int = 1, max_items: int = 10, every_type: bool = False, types_from: tuple[str, ...] = ITEM_TYPES) -> GeneratedBank:
    """A bank of valid items with unique ids; ``every_type`` puts one item of each type first."""
    types = list(types_from) if every_type else []
    types += draw(st.lists(st.sampled_from(types_from), min_size=max(0, min_items - len(types)), max_size=max(0, max_items - len(types))))
    generated = [draw(items(t, f"g{i:03d}-{t.replace('_', '-')}")) for i, t in enumerate(types)]
    files: list[list[int]] = []
    i = 0
    while i < len(generated):
        k = draw(st.integers(1, 3))
        files.append(list(range(i, min(i + k, len(generated)))))
        i += k
    return GeneratedBank(items=generated, files=files)


class _Dumper(yaml.SafeDumper):
    """PyYAML writes YAML 1.1: a text like ``1e-7`` it leaves bare, and YAML 1.2 (our reader) reads a
    number.  Texts that a YAML 1.2 reader would not read back as the same text are quoted."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    node = dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)
    if "\n" not in value:
        try:
            same = yaml_rs.loads(f"v: {value}", parse_datetime=False) == {"v": value}
        except Exception:
            same = False
        if not same:
            node.style = '"'
    return node


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """YAML as an author writes it: block style, unicode kept, no line folding."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False)


def write_bank(bank: GeneratedBank, root: Path) -> Path:
    """Write the bank under ``root`` (``itembank.yaml``, item files, ``media/``); returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "itembank.yaml").write_text(dump_yaml({"title": bank.title}), encoding="utf-8")
    for ref, data in bank.images.items():
        (root / ref).parent.mkdir(parents=True, exist_ok=True)
        (root / ref).write_bytes(data)
    for n, indexes in enumerate(bank.files or [[i] for i in range(len(bank.items))]):
        content = bank.items[indexes[0]] if len(indexes) == 1 else {"items": [bank.items[i] for i in indexes]}
        (root / f"part-{n:03d}.yaml").write_text(dump_yaml(content), encoding="utf-8")
    return root
