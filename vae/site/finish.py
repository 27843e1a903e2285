"""The last step of every page, remembered: the notebook page slimmed, every
page made accessible, its code's commonest tokens left plain and its figures loaded
lazily (`vae.site.notebook_html`, `vae.site.html`, `vae.site.pages`).

Parsing a rendered page is most of what the site machinery adds to a rebuild in
which nothing changed, so the finished pages are kept in a cache keyed by the
rendered HTML and the source of the modules that finish it. A page that renders
as it did last time is read back instead of parsed again. The cache holds the
pages of the last build only.

A kept page starts with the SHA-256 of the page on a line of its own. A page
that does not match it (cut short by a full disk, or damaged since) is finished
again and kept anew, never published as it is.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

from vae.atomic import sweep, write_file

# The modules whose code shapes a finished page, in vae/site/.
FINISHERS = (
    "finish.py",
    "html.py",
    "splices.py",
    "notebook_html.py",
    "pages.py",
    "training_page.py",
)
# The name of every file the cache writes: KEY.html, KEY the key's 64 hex digits.
PAGE_NAMES = "[0-9a-f]" * 64 + ".html"


def finish(output: str, notebook: bool) -> str:
    """The page as readers get it; `notebook` for the executed notebook's page."""
    from vae.site.html import accessible
    from vae.site.pages import lazy_figures, plain_code

    if notebook:
        from vae.site.notebook_html import repair, slim

        output = repair(slim(output))
    return lazy_figures(plain_code(accessible(output)))


class PageCache:
    """Finished pages under DIRECTORY/KEY.html, for one build."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.used: set[str] = set()
        code = hashlib.sha256(version("tinycss2").encode())
        for name in FINISHERS:
            code.update((Path(__file__).parent / name).read_bytes())
        self.code = code.hexdigest()

    def finish(self, output: str, notebook: bool) -> str:
        """`finish(output, notebook)`, read from the cache when it is there whole.

        Raises:
            DiskFullError: the device is full; the page is not kept.
        """
        material = f"{self.code}\n{notebook}\n{output}".encode()
        path = self.directory / f"{hashlib.sha256(material).hexdigest()}.html"
        self.used.add(path.name)
        kept = _read_page(path)
        if kept is not None:
            return kept
        text = finish(output, notebook)
        page = text.encode("utf-8")
        write_file(path, _digest(page) + b"\n" + page)
        return text

    def prune(self) -> None:
        """Removes the pages this build did not ask for, and partial ones left by
        killed builds; nothing else in the directory is touched."""
        for path in self.directory.glob(PAGE_NAMES):
            if path.name not in self.used and path.is_file():
                path.unlink(missing_ok=True)
        sweep(self.directory, names=PAGE_NAMES)


def _digest(page: bytes) -> bytes:
    return hashlib.sha256(page).hexdigest().encode("ascii")


def _read_page(path: Path) -> str | None:
    """The page kept at `path`, or None if there is none or it is not the whole page."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    digest, _, page = data.partition(b"\n")
    return page.decode("utf-8") if digest == _digest(page) else None
