"""The built site in headless Chromium, as a reader meets it.

Every page: no console error, no failed request, no request to any host but
the local server, every image loaded, math typeset. The palette toggle works.
The explorer decodes as the pointer moves, matches torch on the exported
weights, and places a drawn digit on the map. Screenshots of every page are
written to SCREENSHOTS (printed at the end) for a person to look at.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vae.checkpoint import load_run
from vae.errors import VAEError
from vae.site import browser

from .conftest import REPO, open_page

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


def exported_decoder(site):
    """numpy decoder on the weights the explorer downloads, as float16 -> float32."""
    directory = site / "site" / "figures" / "explorer"
    spec = json.loads((directory / "vae-2d.json").read_text())
    part = spec["parts"]["decoder"]
    raw = (directory / part["file"]).read_bytes()
    t = {}
    for entry in part["tensors"]:
        count = int(np.prod(entry["shape"]))
        values = np.frombuffer(raw, "<f2", count, entry["offset"]).astype(np.float32)
        t[entry["name"]] = values.reshape(entry["shape"])

    def decode(z):
        h = torch.relu(
            torch.from_numpy(t["decoder.body.0.weight"]) @ z
            + torch.from_numpy(t["decoder.body.0.bias"])
        )
        out = torch.from_numpy(t["decoder.output.weight"]) @ h + torch.from_numpy(
            t["decoder.output.bias"]
        )
        return torch.sigmoid(out).numpy()

    return decode, t


def test_the_browser_decoder_matches_torch_on_the_exported_weights(site, served):
    base, chromium = served
    page, problems = open_page(chromium, base + "explorer/")
    page.evaluate("window.vaeExplorer.ready")
    decode, _ = exported_decoder(site)
    worst = 0.0
    for z in ([0.0, 0.0], [1.5, -0.7], [-2.2, 2.9], [3.5, 3.5]):
        in_browser = np.array(page.evaluate(f"window.vaeExplorer.decode({z})"))
        worst = max(worst, float(np.abs(in_browser - decode(torch.tensor(z))).max()))
    assert worst <= 1e-4
    assert problems == []


def test_half_precision_moves_no_pixel_by_more_than_2_percent(site):
    [run_dir] = (site / "cache" / "models").glob("vae-2d-*")
    model = load_run(run_dir).model
    decode, _ = exported_decoder(site)
    axis = torch.linspace(-4, 4, 21)
    for z in torch.cartesian_prod(axis, axis):
        with torch.no_grad():
            full = model.decode_mean(z.unsqueeze(0)).flatten().numpy()
        assert np.abs(full - decode(z)).max() <= 0.02


def test_pointer_and_keys_move_the_code_and_redraw_the_digit(served):
    base, chromium = served
    page, problems = open_page(chromium, base + "explorer/")
    page.evaluate("window.vaeExplorer.ready")
    box = page.locator(".vae-explorer__map").bounding_box()
    digit = "document.querySelector('.vae-explorer__digit').toDataURL()"
    z = "document.querySelector('.vae-explorer').dataset.z"
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.3 * box["height"])
    first_digit, first_z = page.evaluate(digit), page.evaluate(z)
    page.mouse.move(box["x"] + 0.75 * box["width"], box["y"] + 0.7 * box["height"])
    assert page.evaluate(z) != first_z
    assert page.evaluate(digit) != first_digit
    page.focus(".vae-explorer__map")
    before = [float(v) for v in page.evaluate(z).split(",")]
    page.keyboard.press("ArrowRight")
    after = [float(v) for v in page.evaluate(z).split(",")]
    assert after[0] == pytest.approx(before[0] + 0.1) and after[1] == pytest.approx(before[1])
    assert problems == []


def test_a_tap_on_a_touch_screen_chooses_a_code(served):
    base, chromium = served
    context = chromium.new_context(
        viewport={"width": 400, "height": 800}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(base + "explorer/", wait_until="networkidle")
    page.evaluate("window.vaeExplorer.ready")
    z = "document.querySelector('.vae-explorer').dataset.z"
    before = page.evaluate(z)
    box = page.locator(".vae-explorer__map").bounding_box()
    assert box["width"] <= 400  # the map fits a phone's screen
    page.touchscreen.tap(box["x"] + 0.8 * box["width"], box["y"] + 0.2 * box["height"])
    assert page.evaluate(z) != before
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "explorer_phone.png", full_page=True)
    assert errors == []
    context.close()


def test_drawing_a_digit_places_it_on_the_map(served):
    base, chromium = served
    page, problems = open_page(chromium, base + "explorer/")
    page.evaluate("window.vaeExplorer.ready")
    pad = page.locator(".vae-explorer__pad").bounding_box()
    page.mouse.move(pad["x"] + pad["width"] / 2, pad["y"] + 0.15 * pad["height"])
    page.mouse.down()
    for i in range(1, 20):
        page.mouse.move(pad["x"] + pad["width"] / 2, pad["y"] + (0.15 + 0.04 * i) * pad["height"])
    page.mouse.up()
    page.wait_for_function("document.querySelector('.vae-explorer').dataset.encoded")
    mu = [
        float(v)
        for v in page.evaluate("document.querySelector('.vae-explorer').dataset.encoded").split(",")
    ]
    assert len(mu) == 2 and all(np.isfinite(mu))
    assert "drawing encoded at" in page.locator(".vae-explorer__readout").inner_text()
    assert problems == []


def test_a_missing_browser_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(VAEError, match="apt-get install -y chromium"), browser.chromium():
        pass
