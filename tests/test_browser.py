"""The built site in headless Chromium, as a reader meets it.

Every page: no console error, no failed request, no request to any host but
the local server, every image loaded, math typeset. The palette toggle works.
Screenshots of every page are written to SCREENSHOTS (printed at the end) for a
person to look at. The live explorer has its own tests, in test_explorer.py.
"""

import os
from pathlib import Path

import pytest

from vae.errors import VAEError
from vae.site import browser

from .conftest import REPO, load_all_images, open_page

SCREENSHOTS = Path(os.environ.get("VAE_SCREENSHOTS", REPO / ".cache" / "screenshots"))
MATH_PAGES = {"", "autoencoders/", "variational-inference/", "results/", "notebook/"}

pytestmark = pytest.mark.slow


def test_every_page_loads_cleanly_and_typesets_its_math(site, served):
    base, chromium = served
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    urls = browser.pages(site / "site")
    assert len(urls) >= 8
    failures = []
    for url in urls:
        page, problems = open_page(chromium, base + url)
        if url in MATH_PAGES:
            page.wait_for_function("document.documentElement.dataset.mathTypeset === 'true'")
            if page.locator(".katex").count() == 0:
                problems.append("no math typeset")
            if page.locator(".katex-error").count():
                problems.append("KaTeX could not parse some math")
        load_all_images(page)
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src)"
        )
        problems += [f"image did not load: {src}" for src in broken]
        name = (url.strip("/") or "index").replace("/", "_")
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        failures += [f"{url or '/'}: {p}" for p in problems]
        page.context.close()
    print(f"\nscreenshots of {len(urls)} pages in {SCREENSHOTS}")
    assert failures == []


def test_every_page_is_within_the_weight_limit(site, served):
    table, ok = browser.report(site / "site", *served)
    print("\n" + table)
    assert ok, table


def test_the_palette_toggle_switches_to_dark_and_back(served):
    base, chromium = served
    page, problems = open_page(chromium, base)
    scheme = "document.body.getAttribute('data-md-color-scheme')"
    first = page.evaluate(scheme)
    page.locator("form[data-md-component=palette] label:visible").first.click()
    second = page.evaluate(scheme)
    assert {first, second} == {"default", "slate"}
    page.locator("form[data-md-component=palette] label:visible").first.click()
    assert page.evaluate(scheme) == first
    assert problems == []


def test_a_missing_browser_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(VAEError, match="apt-get install -y chromium"), browser.chromium():
        pass
