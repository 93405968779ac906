/* itembank self-study pages: grading, hints, flashcards, tests.  No dependencies, no network.
 * Scoring data comes from the exporter (#ib-keys), computed from the same model values as the
 * QTI export; the rules are in exporters/html/keys.py.  The DOM is changed with textContent,
 * classList and the hidden attribute only: no HTML is built from strings here. */
(function () {
  "use strict";

  var KEYS = {};
  var NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

  function round2(x) { return Math.round(x * 100) / 100; }
  function show(x) { return String(round2(x)); }
  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }
  function pointsText(x) { return show(x) + (round2(x) === 1 ? " point" : " points"); }

  function parseNumber(text) {
    var s = String(text).trim().replace(/\u2212/g, "-");
    return NUMBER.test(s) ? Number(s) : null;
  }
  /* A typed answer as itembank.rules.typed_alike compares it (the same steps): runs of white space
   * (Python's str.split set, not U+FEFF) are one space, the ends trimmed; NFC, or when case does
   * not count NFKC, upper then lower case (locale-independent: ß and SS, ς and σ), the dot of a
   * capital İ dropped ("İstanbul" and "istanbul"), NFKC again. */
  var SPACES = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;
  function typedAlike(text, caseSensitive) {
    var s = String(text);
    s = caseSensitive ? s.normalize("NFC") : s.normalize("NFKC").toUpperCase().toLowerCase().replace(/i\u0307/g, "i").normalize("NFKC");
    return s.replace(SPACES, " ").replace(/^ | $/g, "");
  }
  function sameText(given, answers, caseSensitive) {
    var g = typedAlike(given, caseSensitive);
    if (!g) { return false; }
    return answers.some(function (a) { return typedAlike(a, caseSensitive) === g; });
  }
  function inRange(text, low, high) {
    var n = parseNumber(text);
    return n !== null && n >= low && n <= high;
  }
  function clamp(x, lo, hi) { return Math.max(lo, Math.min(hi, x)); }

  /* --- grading: returns {score, max, answered, parts} where parts marks each control ------- */
  function grade(article) {
    var key = KEYS[article.getAttribute("data-item")];
    if (!key) { return null; }
    var out = { score: 0, max: key.points, answered: false, parts: [] };
    if (key.kind === "choice") {
      var chosen = all(article, ".choices input:checked").map(function (i) { return i.value; });
      out.answered = chosen.length > 0;
      var exact = chosen.length === key.keys.length && chosen.every(function (c) { return key.keys.indexOf(c) >= 0; });
      if (exact) {
        out.score = key.points;
      } else if (key.partial && chosen.length) {
        var sum = chosen.reduce(function (s, c) { return s + (key.values[c] || 0); }, 0);
        out.score = clamp(sum, 0, key.points);
      }
      out.chosen = chosen;
    } else if (key.kind === "text" || key.kind === "number") {
      var input = article.querySelector("input.response");
      out.answered = input.value.trim() !== "";
      var ok = key.kind === "text" ? sameText(input.value, key.answers, key.case) : inRange(input.value, key.low, key.high);
      if (key.kind === "number" && out.answered && parseNumber(input.value) === null) { out.notNumber = true; }
      out.score = ok ? key.points : 0;
      out.parts.push([input, ok]);
    } else if (key.kind === "match") {
      var right = 0, selects = all(article, "select[data-prompt]");
      selects.forEach(function (sel) {
        var good = sel.value !== "" && key.pairs[sel.getAttribute("data-prompt")] === sel.value;
        if (sel.value !== "") { out.answered = true; }
        if (good) { right += 1; }
        out.parts.push([sel, good]);
      });
      out.score = right === selects.length ? key.points : right * key.share;
    } else if (key.kind === "order") {
      var order = all(article, "li[data-step]").map(function (li) { return li.getAttribute("data-step"); });
      out.answered = article.hasAttribute("data-moved");
      out.score = order.join("\n") === key.order.join("\n") ? key.points : 0;
    } else if (key.kind === "cloze") {
      var total = 0, allRight = true;
      all(article, "[data-blank]").forEach(function (ctl) {
        if (ctl.tagName === "LI") { return; }
        var spec = key.blanks[ctl.getAttribute("data-blank")];
        if (!spec) { return; }
        var v = ctl.value, good;
        if (String(v).trim() !== "") { out.answered = true; }
        if (spec.kind === "choice") { good = v !== "" && v === spec.correct; }
        else if (spec.kind === "number") { good = inRange(v, spec.low, spec.high); }
        else { good = sameText(v, spec.answers, spec.case); }
        if (good) { total += spec.share; } else { allRight = false; }
        out.parts.push([ctl, good]);
      });
      out.score = allRight ? key.points : total;
    } else {
      return null;
    }
    return out;
  }

  function verdict(r) {
    if (r.score >= r.max - 1e-9) { return ["correct", "\u2713 Correct"]; }
    if (r.score > 1e-9) { return ["partial", "\u25D0 Partly correct"]; }
    return ["incorrect", "\u2717 Incorrect"];
  }

  function render(article, r) {
    var v = verdict(r);
    article.classList.remove("is-correct", "is-partial", "is-incorrect");
    article.classList.add("is-" + v[0], "is-checked");
    var result = article.querySelector(".result");
    var text = v[1] + " \u2014 " + show(r.score) + " / " + pointsText(r.max);
    if (!r.answered) { text += " (no answer given)"; }
    if (r.notNumber) { text += " \u2014 enter a number, e.g. 3.5"; }
    result.textContent = text;
    result.setAttribute("data-score", show(r.score));
    result.setAttribute("data-max", show(r.max));
    result.setAttribute("data-verdict", v[0]);
    all(article, ".choice").forEach(function (li) {
      var id = li.getAttribute("data-choice");
      var picked = (r.chosen || []).indexOf(id) >= 0;
      var key = KEYS[article.getAttribute("data-item")];
      var isKey = key.keys.indexOf(id) >= 0;
      var fb = li.querySelector(".choice-feedback");
      if (fb) { fb.hidden = !picked; }
      li.classList.toggle("picked-right", picked && isKey);
      li.classList.toggle("picked-wrong", picked && !isKey);
      li.classList.toggle("the-key", isKey);
      li.querySelector(".mark").textContent = isKey ? (picked ? "\u2713 your answer, correct" : "\u2713 correct answer") : (picked ? "\u2717 your answer" : "");
    });
    r.parts.forEach(function (p) {
      p[0].setAttribute("aria-invalid", p[1] ? "false" : "true");
      p[0].classList.toggle("right", p[1]);
      p[0].classList.toggle("wrong", !p[1]);
      var holder = p[0].closest(".pair, .response-line");
      var mark = holder && holder.querySelector(".mark");
      if (mark) { mark.textContent = p[1] ? "\u2713" : "\u2717"; }
      var name = p[0].getAttribute("data-blank");
      if (name) {
        all(article, "li[data-blank]").forEach(function (li) {
          if (li.getAttribute("data-blank") === name) { li.hidden = p[1]; }
        });
      }
    });
    var ex = article.querySelector(".explain");
    if (ex) { ex.hidden = false; }
  }

  function resetItem(article) {
    article.classList.remove("is-correct", "is-partial", "is-incorrect", "is-checked");
    var result = article.querySelector(".result");
    if (result) { result.textContent = ""; result.removeAttribute("data-score"); result.removeAttribute("data-verdict"); }
    all(article, ".choice-feedback, li[data-blank], .explain, .concepts").forEach(function (el) { el.hidden = true; });
    all(article, ".mark").forEach(function (el) { el.textContent = ""; });
    all(article, ".choice").forEach(function (li) { li.classList.remove("picked-right", "picked-wrong", "the-key"); });
    all(article, "[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); el.classList.remove("right", "wrong"); });
  }

  /* --- hints: one at a time ------------------------------------------------------------- */
  function nextHint(button) {
    var article = button.closest(".item");
    var hidden = all(article, ".hint").filter(function (h) { return h.hidden; });
    var total = all(article, ".hint").length;
    if (!hidden.length) { return; }
    hidden[0].hidden = false;
    hidden[0].focus();
    if (hidden.length === 1) {
      button.textContent = "No more hints";
      button.setAttribute("aria-disabled", "true");
    } else {
      button.textContent = "Show another hint (" + (total - hidden.length + 2) + " of " + total + ")";
    }
  }

  /* --- open questions: concepts after writing ----------------------------------------- */
  function showConcepts(article, force) {
    var area = article.querySelector("textarea.response");
    var result = article.querySelector(".result");
    if (!force && area && area.value.trim() === "") {
      result.textContent = "Write your answer first, then compare it with the concepts.";
      area.focus();
      return;
    }
    result.textContent = "";
    var box = article.querySelector(".concepts");
    box.hidden = false;
    updateConcepts(article);
    var heading = box.querySelector("h4");
    if (heading && !force) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  }
  function updateConcepts(article) {
    var boxes = all(article, "input.concept");
    var out = article.querySelector(".concept-score");
    if (!out) { return; }
    var n = boxes.filter(function (b) { return b.checked; }).length;
    out.textContent = "You covered " + n + " of " + boxes.length + " concepts.";
    out.setAttribute("data-covered", String(n));
  }

  function countWords(area) {
    var out = area.closest(".item").querySelector(".word-count");
    if (!out) { return; }
    var n = area.value.trim() ? area.value.trim().split(/\s+/).length : 0;
    var low = Number(area.getAttribute("data-min-words") || 0), high = Number(area.getAttribute("data-max-words") || 0);
    var text = n + (n === 1 ? " word" : " words");
    if (low && n < low) { text += " (at least " + low + ")"; }
    if (high && n > high) { text += " (at most " + high + ")"; }
    out.textContent = text;
    out.classList.toggle("over", Boolean((low && n < low) || (high && n > high)));
  }

  /* --- ordering ------------------------------------------------------------------------- */
  function move(button, up) {
    var li = button.closest("li");
    var list = li.parentNode;
    var other = up ? li.previousElementSibling : li.nextElementSibling;
    if (!other) { return; }
    if (up) { list.insertBefore(li, other); } else { list.insertBefore(other, li); }
    var article = li.closest(".item");
    article.setAttribute("data-moved", "");
    button.focus();
    var pos = all(list, "li").indexOf(li) + 1;
    var status = article.querySelector(".order-status");
    if (status) { status.textContent = li.querySelector(".step-text").textContent + ": position " + pos + " of " + list.children.length; }
  }

  /* --- flashcards ----------------------------------------------------------------------- */
  function toggleCard(card, open) {
    var back = card.querySelector(".card-back");
    var button = card.querySelector(".reveal");
    var now = open === undefined ? back.hidden : open;
    back.hidden = !now;
    card.classList.toggle("revealed", now);
    button.setAttribute("aria-expanded", now ? "true" : "false");
    button.textContent = now ? "Hide answer" : "Reveal answer";
    deckStatus();
  }
  function deckStatus() {
    var status = document.querySelector(".deck-status");
    if (!status) { return; }
    var cards = all(document, ".card");
    var open = cards.filter(function (c) { return c.classList.contains("revealed"); }).length;
    status.textContent = open + " of " + cards.length + " cards revealed";
  }
  function shuffleDecks() {
    all(document, "ul.cards").forEach(function (list) {
      var cards = all(list, "li.card");
      for (var i = cards.length - 1; i > 0; i--) {
        var j = Math.floor(Math.random() * (i + 1));
        var t = cards[i]; cards[i] = cards[j]; cards[j] = t;
      }
      cards.forEach(function (c) { list.appendChild(c); });
    });
    all(document, ".card").forEach(function (c) { toggleCard(c, false); });
    document.querySelector(".deck-status").textContent = "Shuffled. " + document.querySelector(".deck-status").textContent;
  }
  function restartDecks() {
    all(document, "ul.cards").forEach(function (list) {
      var cards = all(list, "li.card");
      cards.sort(function (a, b) { return Number(a.getAttribute("data-n")) - Number(b.getAttribute("data-n")); });
      cards.forEach(function (c) { list.appendChild(c); });
    });
    all(document, ".card").forEach(function (c) { toggleCard(c, false); });
  }

  /* --- tests ---------------------------------------------------------------------------- */
  function drawPicks() {
    all(document, ".test-section[data-pick]").forEach(function (section) {
      var items = all(section, ".item");
      var pick = Number(section.getAttribute("data-pick"));
      var idx = items.map(function (_, i) { return i; });
      for (var i = idx.length - 1; i > 0; i--) {
        var j = Math.floor(Math.random() * (i + 1));
        var t = idx[i]; idx[i] = idx[j]; idx[j] = t;
      }
      var keep = idx.slice(0, pick);
      items.forEach(function (item, i) {
        var out = keep.indexOf(i) < 0;
        item.hidden = out;
        item.classList.toggle("not-drawn", out);
      });
    });
  }
  function submitTest(form) {
    var summary = document.getElementById("summary");
    var tbody = summary.querySelector("tbody");
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    var total = 0, max = 0, ungraded = 0;
    all(form, ".test-section").forEach(function (section) {
      var s = 0, m = 0;
      all(section, ".item").forEach(function (article) {
        if (article.hidden) { return; }
        if (article.querySelector(".concepts")) { showConcepts(article, true); ungraded += 1; return; }
        var r = grade(article);
        if (!r) { return; }
        render(article, r);
        s += r.score; m += r.max;
      });
      total += s; max += m;
      var tr = document.createElement("tr");
      [section.getAttribute("data-title"), show(s), show(m)].forEach(function (text, i) {
        var cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) { cell.setAttribute("scope", "row"); }
        cell.textContent = text;
        tr.appendChild(cell);
      });
      tbody.appendChild(tr);
    });
    var pct = max > 0 ? Math.round(100 * total / max) : 0;
    var line = summary.querySelector(".total");
    line.textContent = "You scored " + show(total) + " out of " + show(max) + " (" + pct + "%).";
    line.setAttribute("data-score", show(total));
    line.setAttribute("data-max", show(max));
    var note = summary.querySelector(".ungraded");
    note.hidden = ungraded === 0;
    note.textContent = ungraded ? ungraded + " open question(s) are not scored here: compare your answers with the concepts shown." : "";
    summary.hidden = false;
    form.classList.add("submitted");
    form.querySelector(".reset-test").hidden = false;
    summary.focus();
  }
  function resetTest(form) {
    form.reset();
    form.classList.remove("submitted");
    all(form, ".item").forEach(resetItem);
    document.getElementById("summary").hidden = true;
    form.querySelector(".reset-test").hidden = true;
    drawPicks();
    var first = form.querySelector(".item:not([hidden]) input, .item:not([hidden]) select, .item:not([hidden]) textarea, .item:not([hidden]) button");
    if (first) { first.focus(); }
  }

  /* --- wiring --------------------------------------------------------------------------- */
  function init() {
    var data = document.getElementById("ib-keys");
    KEYS = data ? JSON.parse(data.textContent) : {};
    all(document, ".card").forEach(function (c, i) { c.setAttribute("data-n", String(i)); });
    deckStatus();
    drawPicks();
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      ev.preventDefault();
      if (form.classList.contains("test")) { submitTest(form); return; }
      var article = form.closest(".item");
      if (!article || form.closest("form.test")) { return; }
      var r = grade(article);
      if (r) { render(article, r); }
    });
    document.addEventListener("click", function (ev) {
      var t = ev.target;
      if (!(t instanceof Element)) { return; }
      var b = t.closest("button");
      if (b) {
        if (b.classList.contains("hint-button")) { nextHint(b); }
        else if (b.classList.contains("show-concepts")) { showConcepts(b.closest(".item"), false); }
        else if (b.classList.contains("move-up")) { move(b, true); }
        else if (b.classList.contains("move-down")) { move(b, false); }
        else if (b.classList.contains("reveal")) { toggleCard(b.closest(".card, .item")); }
        else if (b.classList.contains("shuffle")) { shuffleDecks(); }
        else if (b.classList.contains("restart")) { restartDecks(); }
        else if (b.classList.contains("reset-test")) { resetTest(b.closest("form")); }
        return;
      }
      var card = t.closest(".card");
      if (card && !t.closest("a") && !window.getSelection().toString()) { toggleCard(card); }
    });
    document.addEventListener("input", function (ev) {
      var t = ev.target;
      if (t instanceof Element && t.matches("textarea.response")) { countWords(t); }
    });
    document.addEventListener("change", function (ev) {
      var t = ev.target;
      if (t instanceof Element && t.classList.contains("concept")) { updateConcepts(t.closest(".item")); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
