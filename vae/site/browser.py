"""The built site in a real browser: a local server, headless Chromium, and
`python -m vae page-weight`, which reports the bytes each page transfers on its
first load, and what each model of the live explorer adds when a reader chooses it.

Playwright for Python drives Debian's Chromium (/usr/bin/chromium); nothing is
downloaded. The site is served from 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

from vae.errors import VAEError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGE_LIMIT_BYTES = 1_500_000


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serves `site` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def pages(site: Path) -> list[str]:
    """Site-relative URLs of every page (directory URLs), the home page first."""
    found = sorted(
        p.parent.relative_to(site).as_posix() + "/"
        for p in site.rglob("index.html")
        if not p.relative_to(site).as_posix().startswith(("assets/", "figures/"))
    )
    return [url if url != "./" else "" for url in found]


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium driven by Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise VAEError("Playwright is missing: pip install -e '.[test]'") from None
    if not Path(CHROMIUM).is_file():
        raise VAEError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def page_weights(site: Path, base: str, browser) -> list[tuple[str, int, int]]:
    """(page, requests, bytes) for every page of `site`, served at `base`, as
    loaded in `browser` with an empty cache."""
    rows = []
    for url in pages(site):
        context = browser.new_context()
        page = context.new_page()
        sizes: list[int] = []
        page.on("requestfinished", lambda request, sizes=sizes: sizes.append(_body_size(request)))
        page.goto(base + url, wait_until="networkidle")
        page.wait_for_timeout(300)
        rows.append((url or "/", len(sizes), sum(sizes)))
        context.close()
    return rows


def _body_size(request) -> int:
    response = request.response()
    if response is None:
        return 0
    try:
        return len(response.body())
    except Exception:  # a response without a body (a redirect, say)
        return 0


EXPLORER_PAGE = "explorer/"
EXPLORER_INDEX = "figures/explorer/explorer.json"


def explorer_costs(site: Path, base: str, browser) -> list[tuple[str, int, int, bool]]:
    """(model, requests, bytes, default) for what loading each explorer model adds.

    Opens the explorer page, then asks it to load each model in turn, decoder and
    encoder (`window.vaeExplorer.load`), counting the requests each one makes. The
    default model's decoder is part of the page's first load, so only its encoder
    is counted here. Empty when the site has no explorer.
    """
    index = site / EXPLORER_INDEX
    if not index.is_file():
        return []
    spec = json.loads(index.read_text())
    names = [m["name"] for m in spec["models"]]
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + EXPLORER_PAGE, wait_until="networkidle")
    page.evaluate("window.vaeExplorer.ready")
    rows = []
    for name in names:
        sizes: list[int] = []

        def record(request, sizes=sizes) -> None:
            sizes.append(_body_size(request))

        page.on("requestfinished", record)
        page.evaluate("name => window.vaeExplorer.load(name)", name)
        page.wait_for_timeout(500)  # the last "requestfinished" events may trail the promise
        page.remove_listener("requestfinished", record)
        rows.append((name, len(sizes), sum(sizes), name == spec["default"]))
    context.close()
    return rows


def report(site: Path, base: str | None = None, browser=None) -> tuple[str, bool]:
    """The page-weight table as text, and whether every page is within the limit.

    The first load of every page, then what each explorer model costs when chosen.
    """
    if base is None or browser is None:
        with serve(site) as base, chromium() as browser:
            return report(site, base, browser)
    rows = page_weights(site, base, browser)
    width = max(len(r[0]) for r in rows)
    lines = [f"{'first load of':<{width}}  requests  bytes      within {PAGE_LIMIT_BYTES:,}"]
    ok = True
    for url, count, size in rows:
        fits = size <= PAGE_LIMIT_BYTES
        ok &= fits
        lines.append(f"{url:<{width}}  {count:>8}  {size:>9,}  {'yes' if fits else 'NO'}")
    costs = explorer_costs(site, base, browser)
    if costs:
        lines += ["", f"{EXPLORER_PAGE} models, loaded when chosen (beyond the first load):"]
        name_width = max(len(c[0]) for c in costs)
        for name, count, size, default in costs:
            note = "  (the encoder: its decoder is in the first load)" if default else ""
            requests = f"{count} request{'' if count == 1 else 's'}"
            lines.append(f"  {name:<{name_width}}  {requests:>11}  {size:>9,} bytes{note}")
    return "\n".join(lines), ok
