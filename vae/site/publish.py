"""Figure outputs copied where the pages find them: docs/figures/NAME/FILE.

The figure engine keeps every output in its cache. So that a page can show a
figure with any builder, MkDocs or Zensical, hook or no hook, the current
outputs are copied into docs/figures/ (which git ignores). A record of what
was copied, docs/figures/.published.json, lets the next copy remove the files
it wrote before and no longer needs, and nothing else: a file someone put
there by hand is never touched. Files are only rewritten when their bytes
change, so `mkdocs serve`, which watches docs/, settles after one rebuild.

Not copied: the records and values (names starting with "_", numbers.json,
words.json) and a notebook that takes the place of its page (MkDocs's
notebook plugin would render the copy as a second page).
"""

from __future__ import annotations

import json
from pathlib import Path

from vae.atomic import write_file
from vae.site.context import NUMBERS, WORDS
from vae.site.project import FigureScript

PUBLISHED = "figures"  # under docs/, and the URL prefix of every figure
RECORD = ".published.json"


def published_files(script: FigureScript, figures_out: Path) -> dict[str, Path]:
    """{path under docs/figures/: output in the cache} for one figure."""
    directory = figures_out / script.name
    if not directory.is_dir():
        return {}
    files = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.startswith("_") or path.name in (NUMBERS, WORDS):
            continue
        if script.page and script.page.endswith(".ipynb") and path.name == Path(script.page).name:
            continue  # an executed notebook page (see `notebook_page`)
        files[f"{script.name}/{path.name}"] = path
    return files


def notebook_page(script: FigureScript, figures_out: Path) -> Path | None:
    """The executed notebook that takes the place of the script's page, if any."""
    if not (script.page and script.page.endswith(".ipynb")):
        return None
    path = figures_out / script.name / Path(script.page).name
    return path if path.is_file() else None


def publish(scripts: list[FigureScript], figures_out: Path, docs_dir: Path) -> list[str]:
    """Copies the figures' current outputs into DOCS_DIR/figures/; returns what changed.

    Removes only files that an earlier copy wrote (listed in its record) and
    that are no longer outputs.
    """
    target = Path(docs_dir) / PUBLISHED
    record_path = target / RECORD
    try:
        before = set(json.loads(record_path.read_text()))
    except (OSError, ValueError, TypeError):
        before = set()
    wanted: dict[str, Path] = {}
    for script in scripts:
        wanted.update(published_files(script, figures_out))
    changed = []
    for relative, source in wanted.items():
        data = source.read_bytes()
        destination = target / relative
        try:
            if destination.read_bytes() == data:
                continue
        except OSError:
            pass
        write_file(destination, data)
        changed.append(relative)
    for relative in sorted(before - set(wanted)):
        path = target / relative
        if path.is_file():
            path.unlink()
            changed.append(relative)
        if path.parent != target and path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()
    record = (json.dumps(sorted(wanted), indent=1) + "\n").encode()
    if changed or not record_path.is_file():
        write_file(record_path, record)
    return changed
