"""The article's source: no unfinished markers, no number typed by hand, and
every figure it shows is made by a script and captioned."""

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

from vae.site import scheduler

DOCS = Path(__file__).resolve().parents[1] / "docs"
FIGURES = Path(__file__).resolve().parents[1] / "figures"

# The numbers prose may type by hand; every other number, integers included,
# is inserted from the run that produced it.
YEAR = re.compile(r"(19|20)\d\d")
CONSTANTS = {"0", "1", "2"}  # of equations: N(0, I), 1/2, squares, beta = 1, "2-D"
CITED = {  # published numbers quoted beside their citation, by page
    # Burda et al. (2015): Table 1, 50-D code, 200 tanh units, k = 5,000 on 10,000 of 60,000.
    "results.md": {"86.76", "84.78", "50", "200", "5000", "10,000", "60,000"},
    # van den Oord et al. (2017): the commitment weight of the VQ-VAE paper.
    # Burda et al. (2016): 50-D codes, trained for 3,280 passes over the data.
    "extensions.md": {"0.25", "50", "3,280"},
}
NUMBER = re.compile(r"(?<![A-Za-z0-9.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![A-Za-z0-9])")


def pages() -> dict[str, str]:
    """Every page's source: markdown files, and the notebook's markdown cells."""
    sources = {page.name: page.read_text() for page in DOCS.glob("*.md")}
    for notebook in DOCS.glob("*.ipynb"):
        cells = json.loads(notebook.read_text())["cells"]
        sources[notebook.name] = "\n\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    return sources


def prose(text: str) -> str:
    """The page without code, placeholders, link targets, HTML tags, citations,
    and the numbers that name things: parts, list items, tables, sections of a
    cited book, digit classes."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\{\{.*?\}\}", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"<[^>]*>", "", text)  # HTML tags and their attributes
    text = re.sub(r"arXiv:\d+\.\d+", "", text)
    text = re.sub(r"(?i)\b(part|table|figure|section|chapter) \d+(\.\d+)*\b", "", text)
    text = re.sub(r"(?m)^(#+ |\s*)\d+\. ", "", text)  # numbered headings and lists
    text = re.sub(r"[\"“]\d[\"”]", "", text)  # a digit class, as in a "7"
    return text.replace("{,}", ",")  # LaTeX's thousands separator


def hand_typed(name: str, text: str) -> list[str]:
    """The numbers in a page's prose that are not on its allow-list."""
    allowed = CONSTANTS | CITED.get(name, set())
    return [n for n in NUMBER.findall(prose(text)) if n not in allowed and not YEAR.fullmatch(n)]


def test_no_unfinished_markers():
    for page in DOCS.glob("*.md"):
        text = page.read_text()
        for marker in ("??", "TODO", "FIXME", "XXX"):
            assert marker not in text, f"{page.name} contains {marker}"


@pytest.mark.parametrize(
    "text, found",
    [
        ("the bound is 86.75 nats", ["86.75"]),  # a decimal
        ("trained for 60 epochs on 4,500 digits", ["60", "4,500"]),  # integers
        ("a 20-D code and 784 pixels in \\(\\frac{1}{784}\\)", ["20", "784", "784"]),
        ("k = 5{,}000 samples", ["5,000"]),
        ('N(0, 1) in 2013 for a 2-D code; a "7" in part 3 (Table 1)', []),
        ("Bishop, Springer, 2006, section 10.1.2.", []),
        ("{{ model_scores.test_examples }} digits, see [x](a/b-12.md)", []),
    ],
)
def test_hand_typed_numbers_are_found(text, found):
    assert hand_typed("index.md", text) == found


def test_cited_numbers_are_allowed_only_on_their_page():
    assert hand_typed("results.md", "86.76 nats") == []
    assert hand_typed("index.md", "86.76 nats") == ["86.76"]


@pytest.mark.parametrize("name", sorted(pages()))
def test_no_number_typed_by_hand(name):
    lines = [line for line in prose(pages()[name]).splitlines() if hand_typed(name, line)]
    assert not lines, f"{name}: numbers not from the code, in:\n" + "\n".join(lines)


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


def captions(text: str) -> list[str]:
    """The text of each figure caption, without its script link."""
    blocks = re.findall(r"/// figure-caption\n(.*?)\n///", text, flags=re.S)
    return [re.sub(r"\s*\[Script\]\([^)]*\)", "", b).strip() for b in blocks]


def test_a_caption_says_what_to_look_at_then_gives_at_most_two_numbers():
    """A caption opens with one sentence, free of values, on what the figure
    shows; values beyond two belong in the text."""
    for page in DOCS.glob("*.md"):
        for caption in captions(page.read_text()):
            first = re.split(r"(?<=[.!?])\s", caption, maxsplit=1)[0]
            assert "{{" not in first, f"{page.name}: a value in the first sentence of {caption!r}"
            assert caption.count("{{") <= 2, f"{page.name}: more than two values in {caption!r}"


def test_every_script_feeds_a_page_that_exists():
    for script in scheduler.discover(FIGURES):
        assert script.page is not None, f"{script.name} names no PAGE"
        assert (DOCS / script.page).is_file(), f"{script.name}: no page {script.page}"


def test_notebook_outputs_with_warnings_errors_or_local_paths_are_caught():
    spec = importlib.util.spec_from_file_location("notebook_figure", FIGURES / "notebook.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    v4 = nbformat.v4

    def notebook(*outputs):
        return v4.new_notebook(cells=[v4.new_code_cell("x", outputs=list(outputs))])

    clean = v4.new_output("stream", name="stdout", text="test ELBO: -140.2\n")
    assert script.unwanted_output(notebook(clean), ["/home/me"]) == []
    warning = v4.new_output("stream", name="stderr", text="UserWarning: careful\n")
    error = v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])
    path = v4.new_output("execute_result", data={"text/plain": "'/home/me/data'"})
    found = script.unwanted_output(notebook(warning, error, path), ["/home/me"])
    assert len(found) == 3, found
