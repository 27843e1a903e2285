"""The house's two halves: the library in `vae`, the site machinery in `vae.site`.

Imports point one way (the site uses the library, never the reverse), only the
plugin imports MkDocs, figure scripts never import each other, and no module
grows past the size one reader can hold.
"""

import ast

import pytest

from .conftest import REPO

LIBRARY = sorted(p for p in (REPO / "vae").glob("*.py") if p.name != "__main__.py")
SITE = sorted((REPO / "vae" / "site").glob("*.py"))
FIGURES = sorted((REPO / "figures").glob("*.py"))
MAX_LINES = 350


def imported(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_the_library_never_imports_the_site_machinery(path):
    assert not any(n == "vae.site" or n.startswith("vae.site.") for n in imported(path))


def test_only_the_plugin_imports_mkdocs():
    importers = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "vae").rglob("*.py")
        if any(n.split(".")[0] == "mkdocs" for n in imported(p))
    }
    assert importers == {"vae/site/mkdocs_plugin.py"}


def test_figure_scripts_never_import_each_other():
    for path in (REPO / "figures").glob("*.py"):
        assert not any(n.split(".")[0] == "figures" for n in imported(path)), path.name


@pytest.mark.parametrize(
    "path", LIBRARY + SITE + FIGURES, ids=lambda p: p.relative_to(REPO).as_posix()
)
def test_no_module_is_too_long_to_read(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES
