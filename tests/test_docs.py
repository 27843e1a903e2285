"""The article's source: no unfinished markers, no model number typed by hand,
and every figure it shows is made by a script and captioned."""

import re
from pathlib import Path

from vae.site import scheduler

DOCS = Path(__file__).resolve().parents[1] / "docs"
FIGURES = Path(__file__).resolve().parents[1] / "figures"
# Published numbers quoted with a citation (Burda et al. 2015, Table 1).
CITED = {"86.76", "84.78"}


def prose(path: Path) -> str:
    """The page without fenced code, inline code and {{ placeholders }}."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"arXiv:\d+\.\d+", "", text)  # citations
    return re.sub(r"\{\{.*?\}\}", "", text)


def test_no_unfinished_markers():
    for page in DOCS.glob("*.md"):
        text = page.read_text()
        for marker in ("??", "TODO", "FIXME", "XXX"):
            assert marker not in text, f"{page.name} contains {marker}"


def test_no_model_number_typed_by_hand():
    for page in DOCS.glob("*.md"):
        decimals = set(re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", prose(page)))
        assert decimals <= CITED, f"{page.name}: numbers not from the code: {decimals - CITED}"


def test_every_figure_comes_from_a_script_and_has_a_caption():
    scripts = {s.name for s in scheduler.discover(FIGURES)}
    for page in DOCS.glob("*.md"):
        text = page.read_text()
        for match in re.finditer(r"!\[([^\]]*)\]\(figures/(\w+)/[^)]+\)", text):
            alt, figure = match.groups()
            assert figure in scripts, f"{page.name}: no script figures/{figure}.py"
            assert len(alt) > 20, f"{page.name}: alt text too short for {match.group(0)}"
        blocks = re.findall(r"!\[[^\]]*\]\(figures/[^)]+\)\n\n/// figure-caption", text)
        images = re.findall(r"!\[[^\]]*\]\(figures/", text)
        assert len(blocks) == len(images), f"{page.name}: an image lacks a caption"
        assert "/// tab" not in text, f"{page.name}: tabs use the === syntax of pymdownx.tabbed"


def test_every_script_feeds_a_page_that_exists():
    for script in scheduler.discover(FIGURES):
        assert script.page is not None, f"{script.name} names no PAGE"
        assert (DOCS / script.page).is_file(), f"{script.name}: no page {script.page}"
