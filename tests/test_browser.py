"""The built site in headless Chromium, as a reader meets it.

Every page: no console error, no failed request, no request to any host but
the local server, every image loaded, math typeset. The palette toggle works.
On a phone 390 px wide, every figure's smallest text reads at 9 px or more.
Screenshots of every page, at the desktop's width and the phone's in both
colour schemes, are written to SCREENSHOTS (printed at the end) for a person to
look at. The live explorer has its own tests, in test_explorer.py.
"""

import base64
import io
import os
import re
import urllib.request
from pathlib import Path

import pytest

from vae.errors import VAEError
from vae.site import browser, plotting

from .conftest import REPO, load_all_images, open_page

SCREENSHOTS = Path(os.environ.get("VAE_SCREENSHOTS", REPO / ".cache" / "screenshots"))
PHONE = {"width": 390, "height": 844}
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


# Each figure's rendered width and its source; the page is at its final layout.
IMAGES = """() => Array.from(document.images).map(i => ({
  src: i.currentSrc || i.src, width: i.getBoundingClientRect().width,
  natural: i.naturalWidth, notebook: !!i.closest('.jp-OutputArea'),
}))"""


def smallest_text_px(image: dict) -> float | None:
    """The CSS px of the smallest text in a figure as shown: an SVG figure
    records its smallest size in points and its width; a notebook plot is a
    PNG drawn in the house style at the dpi it records. None: no text."""
    if image["src"].endswith(".svg"):
        svg = urllib.request.urlopen(image["src"]).read().decode()
        smallest = float(re.search(r'data-min-text-pt="([\d.]+)"', svg).group(1))
        width_pt = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', svg).group(1))
        return smallest * image["width"] / width_pt  # 1 pt of the SVG is 4/3 px at 1:1
    if image["notebook"]:
        from PIL import Image

        data = base64.b64decode(image["src"].split(",", 1)[1])
        dpi = Image.open(io.BytesIO(data)).info["dpi"][0]
        natural_text_px = plotting.MIN_FONT_PT * dpi / 72
        return natural_text_px * image["width"] / image["natural"]
    return None  # a grid of digits, drawn by plotting.grid_png, holds no text


def test_every_figure_reads_on_a_phone_in_both_schemes(site, served):
    base, chromium = served
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    small, measured = [], 0
    for url in browser.pages(site / "site"):
        for scheme in ("light", "dark"):
            page, problems = open_page(chromium, base + url, viewport=PHONE, color_scheme=scheme)
            load_all_images(page)
            name = (url.strip("/") or "index").replace("/", "_")
            page.screenshot(path=SCREENSHOTS / f"{name}_390_{scheme}.png", full_page=True)
            if scheme == "light":
                for image in page.evaluate(IMAGES):
                    if "/figures/" not in image["src"] and not image["notebook"]:
                        continue
                    px = smallest_text_px(image)
                    if px is not None:
                        measured += 1
                        if px < plotting.MIN_PHONE_PX - 0.05:
                            small.append(f"/{url}: {image['src'].rsplit('/', 1)[-1]} {px:.1f} px")
            assert problems == []
            page.context.close()
    assert measured >= 25  # every SVG figure and the notebook's plots
    assert small == []
