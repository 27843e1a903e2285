"""Snippet markers: every `# --8<-- [start:NAME]` section in the package and the
figure scripts is included by a page, so no marker outlives the prose that
quoted it. (A page that includes a missing section fails the strict build.)"""

import re

import pytest

from .conftest import REPO

MARKER = re.compile(r"^\s*# --8<-- \[(start|end):(\w+)\]\s*$", re.M)
INCLUDE = re.compile(r'--8<-- "([^":]+\.py):(\w+)"')

SOURCES = sorted(
    p.relative_to(REPO).as_posix()
    for folder in ("vae", "figures")
    for p in (REPO / folder).rglob("*.py")
    if MARKER.search(p.read_text(encoding="utf-8"))
)


def included() -> set[tuple[str, str]]:
    pages = [p for p in (REPO / "docs").rglob("*") if p.suffix in (".md", ".ipynb")]
    return {m.groups() for page in pages for m in INCLUDE.finditer(page.read_text("utf-8"))}


@pytest.mark.parametrize("source", SOURCES)
def test_every_snippet_section_is_included_by_a_page(source):
    sections = {name for _, name in MARKER.findall((REPO / source).read_text("utf-8"))}
    unused = sorted(name for name in sections if (source, name) not in included())
    assert unused == [], f"{source}: no page includes {unused}"


def test_the_marker_pattern_finds_the_sections_pages_include():
    found = {
        (source, name)
        for source in SOURCES
        for _, name in MARKER.findall((REPO / source).read_text("utf-8"))
    }
    assert included() and included() <= found
