"""``itembank preview``: build the HTML pages of some items (or the whole bank) into a temporary
folder, serve them on 127.0.0.1 and rebuild whenever a file of the bank changes.

Serving is Python's own static file server bound to the loopback interface; watching is done by
watchfiles (Rust ``notify``, debounced).  A change that makes the bank invalid is reported and the
last good pages stay up.  Nothing is written outside the temporary folder, which is removed on exit.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import signal
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .api import load_bank
from .atomic import write_result
from .errors import InvalidBank, ItembankError, UsageError
from .formats import ExportContext, ExportOptions, get_exporter
from .model import Bank
from .render import Renderer
from .wording import plural

Echo = Callable[[str], None]
_SHOWN_PROBLEMS = 20  # a broken edit's errors shown in the preview's output (validate lists them all)


def select_items(bank: Bank, item_ids: Sequence[str]) -> Bank:
    """The bank limited to ``item_ids`` (in the order given); every id must exist."""
    if not item_ids:
        return bank
    unknown = [i for i in item_ids if i not in bank.by_id]
    if unknown:
        raise UsageError(f"no item with id {', '.join(repr(u) for u in unknown)} in {bank.root}")
    chosen = tuple(bank.by_id[i] for i in dict.fromkeys(item_ids))
    return Bank(root=bank.root, config=bank.config, items=chosen)


def build_pages(root: Path, item_ids: Sequence[str], target: Path) -> Bank:
    """Load, validate and export the chosen items as the html format into ``target`` (atomically)."""
    bank = select_items(load_bank(root), item_ids)
    ctx = ExportContext(renderer=Renderer(), options=ExportOptions(tests=not item_ids), tool_version=__version__)
    write_result(get_exporter("html").export(bank, ctx), target)
    return bank


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a reload always shows the latest build
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def preview(
    root: Path,
    item_ids: Sequence[str] = (),
    *,
    port: int = 0,
    open_browser: bool = False,
    echo: Echo = print,
    stop: threading.Event | None = None,
) -> None:
    """Serve the pages until interrupted (Ctrl-C) or ``stop`` is set."""
    import watchfiles

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():  # `kill` stops it as cleanly as Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    workdir = Path(tempfile.mkdtemp(prefix="itembank-preview-"))
    site = workdir / "site"
    try:
        bank = build_pages(root, item_ids, site)
        handler = functools.partial(_Handler, directory=str(site))
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            raise UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
        thread = threading.Thread(target=server.serve_forever, name="itembank-preview", daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        echo(f"preview: {url}")
        echo(f"  {plural(len(bank.items), 'item')} from {root}; watching for changes (Ctrl-C to stop)")
        if open_browser:
            webbrowser.open(url)
        try:
            for changes in watchfiles.watch(root, stop_event=stop, raise_interrupt=False, yield_on_timeout=False):
                names = sorted({Path(p).name for _change, p in changes if Path(p).exists()}) or ["a removed file"]
                try:
                    bank = build_pages(root, item_ids, site)
                except InvalidBank as exc:
                    echo(f"not rebuilt: {exc} (the last good pages stay)")
                    errors = exc.result.errors
                    for p in errors[:_SHOWN_PROBLEMS]:
                        echo(f"  {p.format()}")
                    if len(errors) > _SHOWN_PROBLEMS:
                        echo(f"  ... and {len(errors) - _SHOWN_PROBLEMS} more (itembank validate lists them all)")
                    continue
                except ItembankError as exc:
                    echo(f"not rebuilt: {exc} (the last good pages stay)")
                    continue
                echo(f"rebuilt after a change to {', '.join(names[:3])}{' …' if len(names) > 3 else ''}: {plural(len(bank.items), 'item')}")
        finally:
            server.shutdown()
            server.server_close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    echo("preview: stopped")
