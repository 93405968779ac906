"""The ``itembank`` command: a thin click layer over the library API.

Exit codes: 0 success, 1 invalid bank or failed export, 2 usage error.  Library errors
(``itembank.errors``) become exit codes in one place, :class:`_Group`: a one-line message, never a
traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .atomic import write_file_atomic, write_result
from .ending import end_process, hold, keep
from .errors import InvalidBank, ItembankError, MappingError, ReviewImportError, UsageError
from .formats import STATUSES, get_exporter, registry
from .model import ITEM_TYPES
from .progress import build_progress, check_progress, stage_progress
from .reporters import REPORTERS, printable
from .schema import SCHEMA_NAMES, schema_text
from .skeletons import skeleton
from .stats import format_stats
from .validate import bank_of_paths, check_bank, check_paths, display_path
from .wording import plural


class Failure(click.ClickException):
    """Exit 1 with a message (click's own ClickException also exits 1; UsageError exits 2)."""

    exit_code = 1


def _load(bank: Path, *, dry_run: bool = False) -> Any:
    """The bank, checked; a dry run writes nothing into it, not even the check cache."""
    from .api import load_bank  # the API (exports, audit, process pool) is imported by the commands that use it

    loaded = load_bank(bank, progress=check_progress(), cache=_use_cache() and not dry_run, jobs=None)  # a second core helps
    keep(loaded)  # not freed when the command returns: the process ends without freeing it (itembank.ending)
    return loaded


def _use_cache() -> bool:
    """Whether this command may use the bank's check cache (``itembank.cache``): not with --no-cache."""
    return not click.get_current_context().meta.get("itembank.no_cache", False)


def _no_cache(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["itembank.no_cache"] = True


no_cache_option = click.option(
    "--no-cache",
    is_flag=True,
    expose_value=False,
    callback=_no_cache,
    help="Check (and export) every item again instead of reusing the bank's cache (.itembank-cache/; also ITEMBANK_NO_CACHE=1).",
)


def _check_form(assessment: str | None, form: str | None) -> None:
    if form is not None and assessment is None:
        raise click.UsageError("--form needs --assessment (a form belongs to an assessment)")


def _default_bank(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """Without --bank: ``items/`` when it exists, else the bank the working folder lies in
    (the nearest folder upwards with an ``itembank.yaml``), else ``items/`` (reported missing)."""
    if ctx.get_parameter_source(param.name or "bank") is not click.core.ParameterSource.DEFAULT or value.is_dir():
        return value
    from .config import find_bank

    found = find_bank(Path.cwd())
    return Path(display_path(found)) if found is not None else value


bank_option = click.option(
    "--bank",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("items"),
    show_default=True,
    callback=_default_bank,
    help="The bank folder (default: items/, or the bank the current folder is in, found by its itembank.yaml).",
)


class _Group(click.Group):
    """Turns an unexpected exception into a one-line report (exit 1); ITEMBANK_DEBUG=1 shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except InvalidBank as exc:
            click.echo(REPORTERS["text"](exc.result), err=True, nl=False)
            raise Failure("the bank is invalid: nothing was written") from None
        except (ReviewImportError, MappingError) as exc:
            for line in exc.details:
                click.echo(printable(f"  {line}"), err=True)
            raise Failure(printable(str(exc), newlines=True)) from None
        except UsageError as exc:
            raise click.UsageError(printable(str(exc), newlines=True)) from None
        except ItembankError as exc:
            raise Failure(printable(str(exc), newlines=True)) from None
        except OSError as exc:
            raise Failure(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
        except Exception as exc:
            if os.environ.get("ITEMBANK_DEBUG"):
                raise
            raise Failure(f"internal error: {type(exc).__name__}: {exc} (set ITEMBANK_DEBUG=1 for details, and please report it)") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="itembank")
def main() -> None:
    """Keep an assessment item bank as plain files, prove every item correct, export it everywhere."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@bank_option
@click.option("--format", "fmt", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True, help="Report format: text, json, github (workflow annotations) or sarif (code scanning).")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--lint", "with_lint", is_flag=True, help="Also report item-writing flaws (`itembank lint`).")
@click.option("--allow-empty", is_flag=True, help="Accept a bank with no item files (default: IB016, exit 1).")
@no_cache_option
def validate(paths: tuple[Path, ...], bank: Path, fmt: str, strict: bool, with_lint: bool, allow_empty: bool) -> None:
    """Check the bank (or the given files and folders) and report every problem.

    Files given in a bank are checked as part of it: an id another file of the bank already uses
    is still reported (the rest of the bank comes from the check cache when it is unchanged).

    Exit 0 when valid, 1 when there are errors (or warnings with --strict), 2 on usage errors.
    """
    if paths:
        bank_given = click.get_current_context().get_parameter_source("bank") is not click.core.ParameterSource.DEFAULT
        root, in_bank = bank_of_paths(paths, bank, bank_given=bank_given)
        result = check_paths(
            list(paths), root=root, progress=check_progress(), allow_empty=allow_empty, cache=in_bank and _use_cache(), within_bank=in_bank, jobs=None
        )
    else:
        if not bank.is_dir():
            raise click.UsageError(f"bank folder '{bank}' does not exist (give --bank or PATHS)")
        result = check_bank(bank, progress=check_progress(), allow_empty=allow_empty, cache=_use_cache(), jobs=None)
    keep(result)  # (itembank.ending)
    if with_lint:
        from .lint import lint_result

        # Some files of a bank: item rules only (bank counts over a part of it would mislead).
        result = lint_result(result, keep_warnings=True, bank_rules=not paths, jobs=None)
    click.echo(REPORTERS[fmt](result), nl=False)
    if not result.ok(strict=strict):
        sys.exit(1)


def _codes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--select IB501,IB51 --select IB553`` -> the codes/prefixes, each naming at least one lint rule."""
    from .lint import LINT_RULES, matches

    out = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
    for code in out:
        if not any(matches(known, (code,)) for known in LINT_RULES):
            raise click.BadParameter(f"{code!r} names no lint rule (codes: {', '.join(LINT_RULES)})")
    return out


@main.command()
@bank_option
@click.option("--format", "fmt", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True, help="Report format: text, json, github (workflow annotations) or sarif (code scanning).")
@click.option("--select", "select", multiple=True, callback=_codes, metavar="CODES", help="Only these rules (codes or prefixes, comma-separated, e.g. IB501,IB55).")
@click.option("--ignore", "ignore", multiple=True, callback=_codes, metavar="CODES", help="Skip these rules (codes or prefixes, comma-separated).")
@click.option("--strict", is_flag=True, help="Exit 1 when there is any finding.")
@no_cache_option
def lint(bank: Path, fmt: str, select: tuple[str, ...], ignore: tuple[str, ...], strict: bool) -> None:
    """Report item-writing flaws (IB5xx warnings): cues to the key, negative stems, near-duplicates,
    blueprint coverage and more (docs/lint.md).

    Exit 0 unless the bank is invalid (1: validation errors are shown too) or --strict finds anything.
    """
    from .lint import gc_paused, lint_result

    if not bank.is_dir():
        raise click.UsageError(f"bank folder '{bank}' does not exist (give --bank)")
    with gc_paused():  # one short batch run: reference counting frees what it makes (~15% faster)
        checked = check_bank(bank, progress=check_progress(), cache=_use_cache(), jobs=None)  # jobs=None: a second core helps
        result = lint_result(checked, select=select, ignore=ignore, jobs=None)
        click.echo(REPORTERS[fmt](result), nl=False)
        failed = not result.ok(strict=strict)
        # Freed now: the collector, back on, would first walk every object of the loaded bank once.
        del checked, result
    if failed:
        sys.exit(1)


def _assessment_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--form", "form", metavar="LETTER", help="The form of --assessment (A, B, ...); export default: A, build default: every form.")(f)
    f = click.option("--assessment", "assessment", metavar="NAME", help="An assessment of the bank (assessments/NAME.yaml) instead of the whole bank.")(f)
    return f


def _status_list(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """``--status approved --status review`` or ``--status approved,review``: the statuses, checked."""
    given = [s.strip() for v in value for s in v.split(",") if s.strip()]
    wrong = [s for s in given if s not in STATUSES]
    if wrong:
        raise click.BadParameter(f"{', '.join(wrong)} (statuses: {', '.join(STATUSES)})")
    return tuple(s for s in STATUSES if s in given)


def _export_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--lang", "lang", metavar="TAG", default="en", show_default=True, help="html: the language of the bank's texts (en, fr, pt-BR, ...), marked on each; the interface stays English (lang=en).")(f)
    f = click.option("--page-size", "page_size", type=click.IntRange(min=1), default=50, show_default=True, help="html: items per page.")(f)
    f = click.option(
        "--status",
        "status",
        multiple=True,
        metavar="STATUS[,STATUS]",
        callback=_status_list,
        help="Export only items with these statuses (draft, review, approved, retired; repeatable or comma-separated). "
        "Default: LMS formats and print leave retired items out; json and xlsx keep every item.",
    )(f)
    f = click.option("--strict", "strict", is_flag=True, help="Skip an item (with the reason) whose export would lose something, instead of a note (GIFT: points).")(f)
    f = click.option("--unzipped", is_flag=True, help="Package formats: write a folder instead of a zip.")(f)
    f = click.option("--check", "check", is_flag=True, help="Validate the output against the official schemas (ITEMBANK_XSD_DIR).")(f)
    f = click.option("--variants", type=click.IntRange(1, 100), default=10, show_default=True, help="Calculated items: generated value sets per item (Moodle datasets, Canvas var_sets).")(f)
    f = click.option("--expand-variants", "expand_variants", type=click.IntRange(0, 100), default=0, metavar="N", help="Calculated items: write N concrete numeric items each (QTI, GIFT).")(f)
    return f


def _not_stdout(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``-o -``: no command writes to standard output: refused (exit 2), not a file or folder named ``-``."""
    if value is not None and str(value) == "-":
        raise click.BadParameter("'-' (standard output) is not supported: give a file or folder name")
    return value


@main.command("export")
@click.argument("fmt", metavar="FORMAT")
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=_not_stdout, help="Where to write (default: dist/<format's default name>; not '-').")
@bank_option
@_assessment_options
@_export_options
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Processes the export may use (default: the usable cores; 1: this process only). The output is the same.")
@no_cache_option
@click.option("--force", is_flag=True, help="A one-file output replaces the file at -o even if itembank did not write it (without it, such a file is refused, exit 2).")
def export_cmd(fmt: str, output: Path | None, bank: Path, assessment: str | None, form: str | None, jobs: int | None, force: bool, **options: Any) -> None:
    """Export the bank (or one assessment form) to one FORMAT (see `itembank formats`)."""
    from .api import export as export_bank
    from .api import form_dir, select_bank, usable_cores
    from .output import check_target

    _check_form(assessment, form)
    exporter = get_exporter(fmt)
    loaded = select_bank(_load(bank), assessment, form)
    target = output or form_dir("dist", loaded) / exporter.default_output
    if not target.is_dir() or target.is_symlink():
        # Refused before the export runs (seconds on a large bank) rather than after: a file at -o that
        # itembank did not write, a link, a path in the bank.  write_result checks again as it writes.
        check_target(target, bank, folder=False, force=force)
    result = export_bank(loaded, fmt, jobs=jobs or usable_cores(), cache=_use_cache(), **options)
    write_result(result, target, bank_root=bank, force=force)
    _print_result(fmt, target, result)


def _print_result(fmt: str, target: Path, result: Any) -> None:
    # Names, notes and reasons may quote bank text: never let it reach the terminal raw.
    click.echo(printable(f"{fmt}: {target}: {result.summary()}"))
    for item_id, reason in result.skipped:
        click.echo(printable(f"  skipped [{item_id}]: {reason}"))
    for note in result.notes:
        click.echo(printable(f"  note: {note}"))


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False), default=Path("dist"), show_default=True, callback=_not_stdout, help="Output folder (not '-').")
@bank_option
@click.option("--format", "formats", multiple=True, help="Only these formats (repeatable); default: every installed one.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Processes running the exports (default: the usable cores; 1: this process only).")
@_assessment_options
@_export_options
@no_cache_option
def build(output: Path, bank: Path, formats: tuple[str, ...], jobs: int | None, assessment: str | None, form: str | None, **options: Any) -> None:
    """Validate the bank, then run every exporter on the whole bank and on every form of every
    assessment (into OUTPUT/assessments/NAME-FORM/), and print a summary."""
    from .api import build as build_bank

    _check_form(assessment, form)
    loaded = _load(bank)
    click.echo(printable(f"{loaded.title}: {plural(len(loaded.items), 'item')} valid"))
    progress = build_progress()

    def written(fmt: str, target: Path, result: Any) -> None:
        if progress is not None:  # the progress line goes before the summary lines
            progress.clear()
        _print_result(fmt, target, result)

    try:
        report = build_bank(loaded, output, formats=list(formats) or None, on_export=written, assessment=assessment, form=form, jobs=jobs, cache=_use_cache(), progress=progress, **options)
    finally:
        if progress is not None:  # (a failed build's error is not printed after the line)
            progress.clear()
    for path in report.removed:
        click.echo(f"removed {path}/: its form no longer exists")
    forms = f"; assessment forms: {', '.join(report.forms)}" if report.forms else ""
    each = "once each" if report.workers == 1 else f"in {report.workers} processes"
    click.echo(f"built {len(report.outputs)} exports into {output}/ ({report.renders} texts rendered {each}){forms}")


@main.command(help=f"Print a JSON Schema ({', '.join(SCHEMA_NAMES[:-1])} or {SCHEMA_NAMES[-1]}), e.g. for editor completion.")
@click.argument("name", type=click.Choice(SCHEMA_NAMES), default="item")
def schema(name: str) -> None:
    # The help names SCHEMA_NAMES itself: a list written here missed 'assessment'.
    click.echo(schema_text(name), nl=False)


@main.command()
@bank_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@no_cache_option
def stats(bank: Path, as_json: bool) -> None:
    """Counts by type, difficulty, topic and status; the latest item analysis (evidence) of each item.

    On a bank with errors: the problems on stderr, the counts of the items that are valid, exit 1.
    """
    if not bank.is_dir():
        raise click.UsageError(f"bank folder '{bank}' does not exist (give --bank)")
    result = check_bank(bank, progress=check_progress(), cache=_use_cache())
    loaded = result.bank()
    keep(result, loaded)  # (itembank.ending)
    if not result.ok():
        click.echo(REPORTERS["text"](result), err=True, nl=False)
    if as_json:
        import json

        from .stats import bank_stats, evidence_stats

        click.echo(json.dumps({**bank_stats(loaded), "evidence": evidence_stats(loaded)}, indent=2))
    else:
        click.echo(printable(format_stats(loaded), newlines=True), nl=False)
    if not result.ok():
        click.echo(f"the bank has {len(result.errors)} error(s): these counts cover its {len(loaded.items)} valid items only", err=True)
        sys.exit(1)


@main.command()
@click.argument("item_type", metavar="TYPE", type=click.Choice(ITEM_TYPES))
@click.argument("item_id", metavar="ID")
@bank_option
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), callback=_not_stdout, help="File to write (default: <bank>/<ID>.yaml; not '-').")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def new(item_type: str, item_id: str, bank: Path, output: Path | None, force: bool) -> None:
    """Write a valid skeleton item of TYPE with ID."""
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", item_id):
        raise click.UsageError(f"id '{item_id}' must match ^[a-z0-9][a-z0-9._-]{{0,63}}$")
    from .output import real_target

    target = output or bank / f"{item_id}.yaml"
    real = real_target(target)  # a link loop on the way: refused (exit 2)
    if target.exists() and not force:
        raise Failure(f"{target} exists (use --force to overwrite)")
    if bank.is_dir() and real.is_relative_to(bank.resolve()):
        from .validate import bank_ids

        where = bank_ids(bank).get(item_id)
        if where is not None and not (force and target.exists() and real == where.resolve()):
            raise Failure(f"id '{item_id}' is already used in {display_path(where)}: ids are unique across the bank (pick another)")
    write_file_atomic(target, skeleton(item_type, item_id).encode("utf-8"))
    click.echo(f"wrote {target}")


@main.command()
def formats() -> None:
    """List the installed export formats."""
    for name, exporter in registry().items():
        click.echo(f"{name:10} {exporter.default_output:24} {exporter.description}")


@main.command()
@click.argument("item_ids", nargs=-1, metavar="[ITEM_ID]...")
@bank_option
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default web browser.")
def preview(item_ids: tuple[str, ...], bank: Path, port: int, open_browser: bool) -> None:
    """Show items as a student sees them: build their HTML pages (the whole bank without ITEM_IDs)
    into a temporary folder, serve it on 127.0.0.1, print the URL and rebuild on every file change."""
    from .preview import preview as run_preview

    if not bank.is_dir():
        raise click.UsageError(f"bank folder '{bank}' does not exist")
    run_preview(bank, item_ids, port=port, open_browser=open_browser, echo=click.echo)  # errors: _Group


@main.group("cache")
def cache_group() -> None:
    """The bank's cache (<bank>/.itembank-cache/): per item file, what checking it found; per format, each item's piece of the export."""


@cache_group.command("clear")
@bank_option
def cache_clear(bank: Path) -> None:
    """Remove the bank's check and fragment caches (the next command checks and exports every item again and refills them)."""
    from .cache import cache_dir, clear

    folder = cache_dir(bank)
    click.echo(f"removed {folder}/" if clear(bank) else f"no cache at {folder}/")


@main.group()
def assessment() -> None:
    """Assessments: `assessment lock NAME` freezes the forms of assessments/NAME.yaml."""


@assessment.command("lock")
@click.argument("name")
@bank_option
def assessment_lock(name: str, bank: Path) -> None:
    """Draw the forms of assessments/NAME.yaml and freeze them in assessments/NAME.lock.yaml.

    Every later export delivers the locked forms (items, order, option order, points) while the
    blueprint is unchanged, whatever changes in the bank; run it again to draw new forms.
    """
    from .locks import lock_assessment

    path, text, lines = lock_assessment(bank, name)
    write_file_atomic(path, text.encode("utf-8"))
    click.echo(f"locked {name}: {path}")
    for line in lines:
        click.echo(f"  {line}")


@main.group()
def review() -> None:
    """Reviewer workbooks: hand out `itembank export xlsx`, read the decisions back with `review import`."""


def _review_date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from .review import check_date

    try:
        return None if value is None else check_date(value)
    except ItembankError as exc:
        raise click.BadParameter(str(exc)) from None


@review.command("import")
@click.argument("workbook", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@bank_option
@click.option("--dry-run", is_flag=True, help="Show the changes as a unified diff; write nothing.")
@click.option("--date", "date", metavar="YYYY-MM-DD", callback=_review_date, help="Date of the review records (default: today).")
def review_import(workbook: Path, bank: Path, dry_run: bool, date: str | None) -> None:
    """Write the reviewers' decisions in WORKBOOK into the item files.

    Approve → status approved, Revise → review, Reject → retired; a suggested difficulty replaces the
    item's difficulty; each decision is appended to the item's `reviews`.  Every row is checked
    first: one bad row and nothing is written.  Items changed since the export are held back and
    reported (exit 1).
    """
    from .review import import_reviews

    loaded = _load(bank, dry_run=dry_run)
    report = import_reviews(workbook, loaded, date=date, dry_run=dry_run, progress=stage_progress())
    if dry_run:
        click.echo(report.diff(), nl=False)
    click.echo(printable(report.summary()))
    for line in report.skipped:
        click.echo(printable(f"  skipped: {line}"))
    for line in report.notes:
        click.echo(printable(f"  note: {line}"))
    for line in report.held_back:
        click.echo(printable(f"  not updated: {line}"), err=True)
    if report.held_back:
        sys.exit(1)


@main.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@bank_option
@_assessment_options
@click.option("--map", "map_file", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="YAML/JSON 'slot: item-id' mapping (null leaves a slot out).")
@click.option("--attempts", type=click.Choice(["first", "last", "highest", "all"]), default="first", show_default=True, help="Which attempts of a student count.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Report format.")
@click.option("--html", "html_dir", type=click.Path(path_type=Path, file_okay=False), help="Also write an HTML report with plots into this folder.")
@click.option("--write", "write", is_flag=True, help="Append an evidence record to every analysed item's file.")
@click.option("--dry-run", is_flag=True, help="With --write: show the changes as a unified diff; write nothing.")
@click.option("--date", "date", metavar="YYYY-MM-DD", callback=_review_date, help="Date of the evidence records (default: today).")
def analyze(
    reports: tuple[Path, ...],
    bank: Path,
    assessment: str | None,
    form: str | None,
    map_file: Path | None,
    attempts: str,
    fmt: str,
    html_dir: Path | None,
    write: bool,
    dry_run: bool,
    date: str | None,
) -> None:
    """Item statistics from the LMS's response reports (Moodle Responses/Grades CSV, Canvas Student Analysis CSV).

    Slots are mapped to the bank's items by --assessment/--form, --map, or the responses' texts
    (ambiguous slots are reported, never guessed).  Figures are Moodle's statistics report's.
    """
    from .analysis import analyze as run_analysis
    from .analysis.report import to_json, to_text
    from .api import select_bank

    _check_form(assessment, form)
    if dry_run and not write:
        raise click.UsageError("--dry-run goes with --write")
    loaded = _load(bank, dry_run=dry_run)
    chosen = select_bank(loaded, assessment, form) if assessment is not None else None
    result = run_analysis(list(reports), loaded, form=chosen, map_file=map_file, attempts=attempts)  # type: ignore[arg-type]
    click.echo(to_json(result) if fmt == "json" else to_text(result), nl=False)
    if html_dir is not None:
        from .analysis.html import write_html

        click.echo(f"wrote {write_html(result, loaded, html_dir)}", err=True)
    if write:
        import datetime

        from .analysis.write import write_evidence

        report = write_evidence(result, loaded, date or datetime.date.today().isoformat(), dry_run=dry_run)
        if dry_run:
            click.echo(report.diff(), nl=False, err=True)
        click.echo(report.summary(), err=True)


# --- import ----------------------------------------------------------------------------------------


@main.command("import")
@click.argument("fmt", metavar="FORMAT")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--into", type=click.Path(path_type=Path, file_okay=False), default=Path("items"), show_default=True, help="The bank folder to import into (created if missing).")
@click.option("--dry-run", is_flag=True, help="Print what would be imported and written; write nothing.")
@click.option("--layout", type=click.Choice(["item", "topic"]), default="item", show_default=True, help="One YAML file per item, or per topic.")
@click.option("--on-conflict", type=click.Choice(["error", "skip", "update"]), default="error", show_default=True,
              help="An imported id already in the bank: stop (error), keep ours (skip), or rewrite the changed fields in place (update).")
@click.option("--status", type=click.Choice(["draft", "review", "approved", "retired"]), default=None,
              help="Status of the imported items (default: the source's status tag, else draft).")
def import_cmd(fmt: str, sources: tuple[Path, ...], into: Path, dry_run: bool, layout: str, on_conflict: str, status: str | None) -> None:
    """Import question files (FORMAT: moodle, gift, aiken, canvas, qti, text2qti, or auto) into the
    bank as YAML items that validate, with media under media/; every question is imported or
    reported as skipped with the reason."""
    from .imports import ImportFailed, importer_names, run_import

    if fmt != "auto" and fmt not in importer_names():
        raise click.UsageError(f"unknown import format '{fmt}' (known: {', '.join(importer_names())}, auto)")
    try:
        report = run_import(list(sources), into, fmt=fmt, layout=layout, on_conflict=on_conflict, status=status, dry_run=dry_run)
    except ImportFailed as exc:
        for line in exc.details:
            click.echo(f"  {line}", err=True)
        raise Failure(str(exc)) from None
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    except ItembankError as exc:
        raise Failure(str(exc)) from None
    for fr in report.files:
        click.echo(fr.summary())
        for problem in fr.problems:
            click.echo(f"  warning: {problem}")
        if fr.imported:
            for line in fr.format_notes:
                click.echo(f"  note: {line}")
        for ident, reason in fr.skipped:
            click.echo(f"  skipped [{ident}]: {reason}")
        for item_id, note in fr.notes:
            click.echo(f"  note [{item_id}]: {note}")
    for line in report.settings:
        click.echo(f"note: {line}")
    verb = "would write" if dry_run else "wrote"
    extra = []
    if report.updated:
        extra.append(f"{len(report.updated)} updated in place")
    if report.kept:
        extra.append(f"{len(report.kept)} left as they were")
    tail = f" ({'; '.join(extra)})" if extra else ""
    click.echo(f"{verb} {len(report.written)} file{'s' * (len(report.written) != 1)} into {into}/{tail}")
    if dry_run:
        for rel in report.written:
            click.echo(f"  {rel}")


def run() -> None:
    """The ``itembank`` console script: :func:`main`, then the process ends without freeing what it
    loaded (``itembank.ending``).  Library callers and tests call :func:`main` (click's runner):
    it returns or raises as click's commands do."""
    hold()  # what a command loaded is freed by no one: the process ends (itembank.ending)
    try:
        main()
    except SystemExit as done:
        end_process(done.code)


if __name__ == "__main__":  # pragma: no cover
    run()
