"""Every page as a reader with a screen reader, only a keyboard or a small screen
meets it.

axe-core (vendored by `python -m vae assets`, put into each page by the test,
so nothing is fetched) checks every page in both colour schemes; a violation of
impact "serious" or "critical" fails, printed with its rule, page and element.
At 200% zoom on a phone-sized screen no page scrolls sideways and nothing sticks
out of it; what does scroll sideways inside the page is a code block, a table or
a displayed equation, in a box the keyboard can focus, with a name. Screenshots
of every page in the dark scheme and on the zoomed phone screen go to
SCREENSHOTS beside those of tests/test_browser.py.
"""

import pytest

from vae.site import assets, browser

from .conftest import load_all_images, open_page
from .test_browser import SCREENSHOTS

pytestmark = pytest.mark.slow

SCHEMES = {"light": "default", "dark": "slate"}  # prefers-color-scheme -> Material's scheme
FAILING_IMPACTS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}  # CSS pixels at 100%
ZOOM = 2
# What may scroll sideways inside a page, when it is a focusable, named box.
SCROLLERS = (
    "pre > code, .highlight-ipynb, .jp-OutputArea-output, .vae-table-scroll,"
    " div.arithmatex, .vae-display-math"
)
MATH_READY = (
    "!document.querySelector('.arithmatex, .jp-RenderedMarkdown')"
    " || document.documentElement.dataset.mathTypeset === 'true'"
)


def axe_script():
    return dict(assets.files(assets.AXE))["axe.min.js"]


def screenshot_name(url: str, suffix: str) -> str:
    return (url.strip("/") or "index").replace("/", "_") + f"_{suffix}.png"


def test_no_page_has_a_serious_accessibility_violation_in_either_scheme(site, served):
    base, chromium = served
    script = axe_script()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    urls = browser.pages(site / "site")
    assert len(urls) >= 8
    found = []
    for preference, scheme in SCHEMES.items():
        for url in urls:
            page, problems = open_page(chromium, base + url, color_scheme=preference)
            assert page.evaluate("document.body.dataset.mdColorScheme") == scheme
            page.wait_for_function(MATH_READY)
            page.add_script_tag(path=str(script))
            violations = page.evaluate(
                "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            )
            for violation in violations:
                if violation["impact"] not in FAILING_IMPACTS:
                    continue
                for node in violation["nodes"]:
                    found.append(
                        f"{violation['id']} ({violation['impact']}) on /{url} in {preference}: "
                        f"{' '.join(node['target'])}\n    {node['html'][:160]}\n"
                        f"    {node['failureSummary'].splitlines()[-1].strip()}"
                    )
            if preference == "dark":
                load_all_images(page)
                page.screenshot(path=SCREENSHOTS / screenshot_name(url, "dark"), full_page=True)
            found += [f"/{url} in {preference}: {p}" for p in problems]
            page.context.close()
    assert not found, f"{len(found)} violations:\n" + "\n".join(found)


OVERFLOW = """(allowed) => {
  const width = document.documentElement.clientWidth;
  const shown = (e) => {
    const style = getComputedStyle(e);
    const box = e.getBoundingClientRect();
    return style.visibility !== "hidden" && style.display !== "none" && box.width > 0;
  };
  // Off-canvas panels (the navigation drawer), visually hidden text (the
  // MathML that KaTeX keeps for screen readers) and the tail of KaTeX's root
  // sign (an SVG 400em wide, clipped by its own box to the radicand) are not
  // on the page.
  const away = (e) => {
    for (let node = e; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.position === "fixed" || style.clip !== "auto") return true;
      if (node.classList && node.classList.contains("hide-tail") && style.overflow === "hidden")
        return true;
    }
    return false;
  };
  const describe = (e) =>
    e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined
      ? "." + e.className.trim().split(/\\s+/).join(".") : "");
  const sticksOut = (e) =>
    e !== document.body &&
    shown(e) &&
    !away(e) &&
    !(e.parentElement && e.parentElement.closest(allowed)) &&
    e.getBoundingClientRect().right > width + 0.5;
  const problems = [];
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth > width) problems.push(`the page is ${scrollWidth}px wide in ${width}px`);
  for (const e of document.body.querySelectorAll("*")) {
    if (!shown(e) || away(e)) continue;
    const style = getComputedStyle(e);
    const scrolls = ["auto", "scroll"].includes(style.overflowX) && e.scrollWidth > e.clientWidth;
    if (scrolls) {
      if (!e.matches(allowed)) problems.push(`${describe(e)} scrolls sideways`);
      else if (e.tabIndex < 0 || !e.getAttribute("aria-label"))
        problems.push(`${describe(e)} scrolls sideways but is not a focusable, named box`);
    }
    // Only the outermost of the elements that stick out is named, with its text.
    if (sticksOut(e) && !sticksOut(e.parentElement)) {
      const right = e.getBoundingClientRect().right.toFixed(1);
      const text = e.textContent.trim().slice(0, 60);
      problems.push(`${describe(e)} sticks out to ${right}px: "${text}"`);
    }
  }
  return [...new Set(problems)];
}"""


def test_no_page_scrolls_sideways_at_200_percent_on_a_phone(site, served):
    base, chromium = served
    viewport = {"width": PHONE["width"] // ZOOM, "height": PHONE["height"] // ZOOM}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    urls = browser.pages(site / "site")
    assert len(urls) >= 8
    found = []
    for url in urls:
        page, problems = open_page(
            chromium, base + url, viewport=viewport, device_scale_factor=ZOOM
        )
        page.wait_for_function(MATH_READY)
        problems += page.evaluate(OVERFLOW, SCROLLERS)
        load_all_images(page)
        page.screenshot(path=SCREENSHOTS / screenshot_name(url, "phone200"), full_page=True)
        found += [f"/{url}: {p}" for p in problems]
        page.context.close()
    assert not found, "\n".join(found)
