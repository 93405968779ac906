"""Calculated items in formats that cannot hold variables: expanded into concrete numeric items
(``--expand-variants N``), or skipped with a reason that says how to get them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from itembank.errors import ItembankError
from itembank.formats import ExportResult
from itembank.model import AnyItem, Bank, CalculatedItem, NumericItem
from itembank.variants import expand, form_seed


def expanded(item: AnyItem, count: int, why: str) -> list[NumericItem] | str:
    """``count`` numeric variants of a calculated item (ids ``<id>-v1`` ...), or the reason it is skipped
    (``why`` says why the format does not take the item as it is)."""
    assert isinstance(item, CalculatedItem)
    if count <= 0:
        return (
            f"{why}: export with --expand-variants N to write N concrete numeric variants, "
            "or use the moodle (calculated) or canvas (formula question) format"
        )
    try:
        return expand(item, count)
    except ValueError as exc:  # no finite variants (validation rules this out for 300 draws)
        return str(exc)


def refuse_clashing_ids(bank: Bank, count: int) -> None:
    """Refuse ``--expand-variants N`` when a variant's id (``<id>-v1`` ... ``<id>-vN``) is the id of an
    item of the bank: two items of one id would be written (the export then broke its invariants
    with a message about a stem; an import would take one for the other).  One variant keeps its
    item's id."""
    if count <= 1:
        return
    ids = {i.id: i for i in bank.items if not isinstance(i, CalculatedItem)}
    for item in bank.items:
        if not isinstance(item, CalculatedItem):
            continue
        n = next((n for n in range(1, count + 1) if f"{item.id}-v{n}" in ids), None)
        if n is not None:
            other = ids[f"{item.id}-v{n}"]
            fewer = f", or export with --expand-variants {n - 1} or fewer" if n > 2 else ""
            raise ItembankError(
                f"--expand-variants {count} writes calculated item '{item.id}' ({item.location.path}) as numeric items "
                f"'{item.id}-v1' ... '{item.id}-v{count}', but item '{other.id}' ({other.location.path}) already has the id "
                f"'{other.id}': rename one of the two items{fewer}"
            )


def expansion_note(expanded_ids: list[str], count: int) -> str:
    shown = ", ".join(expanded_ids[:10]) + (" ..." if len(expanded_ids) > 10 else "")
    ids = "ids <id>-v1 ..." if count > 1 else "each with its item's id"
    return f"{len(expanded_ids)} calculated item(s) written as {count} numeric variant(s) each ({ids}): {shown}"


def expand_bank(
    bank: Bank, count: int, why: str, result: ExportResult, why_not: Callable[[CalculatedItem], str | None] | None = None
) -> tuple[Bank, int]:
    """``bank`` with each calculated item replaced by ``count`` numeric variants (a form's sections list
    the variants in its place), or left out and skipped with the reason, when ``count`` is 0; and the
    number of calculated items expanded.  With ``why_not`` (a format that can hold some calculated
    items), when ``count`` is 0 an item it gives no reason for stays as it is; one it gives a reason for
    is skipped with that reason."""
    if not any(isinstance(i, CalculatedItem) for i in bank.items):
        return bank, 0
    refuse_clashing_ids(bank, count)
    items: list[AnyItem] = []
    replaced: dict[str, tuple[str, ...]] = {}
    for item in bank.items:
        if not isinstance(item, CalculatedItem):
            items.append(item)
            continue
        reason = why
        if count <= 0 and why_not is not None:
            own = why_not(item)
            if own is None:
                items.append(item)
                continue
            reason = own
        numeric = expanded(item, count, reason)
        if isinstance(numeric, str):
            result.skip(item.id, numeric)
            replaced[item.id] = ()
            continue
        items.extend(numeric)
        replaced[item.id] = tuple(n.id for n in numeric)
        result.variants[item.id] = len(numeric)
    expanded_ids = [i for i, ids in replaced.items() if ids]
    if expanded_ids:
        result.notes.append(expansion_note(expanded_ids, count))
    form = bank.form
    if form is not None:
        sections = tuple(
            replace(s, item_ids=tuple(j for i in s.item_ids for j in replaced.get(i, (i,)))) for s in form.sections
        )
        form = replace(form, sections=tuple(s for s in sections if s.item_ids))
    return Bank(root=bank.root, config=bank.config, items=tuple(items), form=form, assessments=bank.assessments), len(expanded_ids)


def count_expanded(result: ExportResult, expanded_items: int, count: int) -> None:
    """Count each expanded calculated item once, as ``calculated``, instead of as its numeric variants."""
    if expanded_items:
        result.written["numeric"] -= expanded_items * count
        if result.written["numeric"] <= 0:
            del result.written["numeric"]
        result.written["calculated"] += expanded_items


def concrete_bank(bank: Bank, result: ExportResult) -> tuple[Bank, list[str]]:
    """``bank`` with each calculated item replaced (same id) by one seeded variant as a numeric item: a
    printed form draws its own variant (the form's seed), the whole bank seed 0.  Also the ids replaced."""
    ids = [i.id for i in bank.items if isinstance(i, CalculatedItem)]
    if not ids:
        return bank, []
    seed = form_seed(bank.form)
    items: list[AnyItem] = []
    for item in bank.items:
        if isinstance(item, CalculatedItem):
            try:
                items.append(expand(item, 1, seed)[0])
            except ValueError as exc:
                result.skip(item.id, str(exc))
                ids.remove(item.id)
        else:
            items.append(item)
    result.notes.append(f"{len(ids)} calculated item(s) printed as the variant drawn with seed {seed}; the key shows its numbers")
    return Bank(root=bank.root, config=bank.config, items=tuple(items), form=bank.form, assessments=bank.assessments), ids
