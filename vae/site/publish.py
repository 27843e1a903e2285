"""Generated files copied where the pages find them, inside docs/.

The figure engine keeps every output in its cache, and KaTeX lies in the
vendor directory (`vae.site.assets`). So that the pages find both with any
builder, MkDocs or Zensical, plugin or no plugin, they are copied into
docs/figures/NAME/FILE and docs/assets/katex/ (which git ignores). A record of
what was copied, docs/.published.json, lets the next copy remove the files it
wrote before and no longer needs, and nothing else: a file someone put there
by hand is never touched. Files are only rewritten when their bytes change,
so `mkdocs serve`, which watches docs/, settles after one rebuild.

Not copied: the figures' records and values (names starting with "_",
numbers.json, words.json) and a notebook that takes the place of its page
(MkDocs's notebook plugin would render the copy as a second page).
"""

from __future__ import annotations

import json
from pathlib import Path

from vae.atomic import write_file
from vae.site.context import NUMBERS, WORDS
from vae.site.project import FigureScript

FIGURES = "figures"  # under docs/, and the URL prefix of every figure
KATEX = "assets/katex"  # under docs/; javascripts/katex.js loads it from there
RECORD = ".published.json"


def figure_files(scripts: list[FigureScript], figures_out: Path) -> dict[str, Path]:
    """{path under docs/: output in the cache} for every figure's current outputs."""
    files = {}
    for script in scripts:
        directory = figures_out / script.name
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if not path.is_file() or path.name.startswith("_") or path.name in (NUMBERS, WORDS):
                continue
            if notebook_page(script, figures_out) == path:
                continue
            files[f"{FIGURES}/{script.name}/{path.name}"] = path
    return files


def katex_files() -> dict[str, Path]:
    """{path under docs/: vendored file} for KaTeX.

    Raises:
        VAEError: KaTeX has not been fetched (`python -m vae assets`).
    """
    from vae.site import assets

    return {f"{KATEX}/{name}": path for name, path in assets.katex_files()}


def notebook_page(script: FigureScript, figures_out: Path) -> Path | None:
    """The executed notebook that takes the place of the script's page, if any."""
    if not (script.page and script.page.endswith(".ipynb")):
        return None
    path = figures_out / script.name / Path(script.page).name
    return path if path.is_file() else None


def publish(files: dict[str, Path], docs_dir: Path) -> list[str]:
    """Copies `files` ({path under docs/: source}) into `docs_dir`; returns what changed.

    Removes only files that an earlier copy wrote (listed in its record) and
    that are no longer wanted.
    """
    docs_dir = Path(docs_dir)
    record_path = docs_dir / RECORD
    try:
        before = set(json.loads(record_path.read_text()))
    except (OSError, ValueError, TypeError):
        before = set()
    changed = []
    for relative, source in sorted(files.items()):
        data = source.read_bytes()
        destination = docs_dir / relative
        try:
            if destination.read_bytes() == data:
                continue
        except OSError:
            pass
        write_file(destination, data)
        changed.append(relative)
    for relative in sorted(before - set(files)):
        path = docs_dir / relative
        if path.is_file():
            path.unlink()
            changed.append(relative)
        for parent in path.parents:  # folders the copy made and left empty
            if parent == docs_dir or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()
    if changed or not record_path.is_file():
        write_file(record_path, (json.dumps(sorted(files), indent=1) + "\n").encode())
    return changed
