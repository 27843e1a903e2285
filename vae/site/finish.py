"""The last step of every page, remembered: the notebook page slimmed, every
page made accessible, its code's plain names unwrapped and its figures loaded
lazily (`vae.site.notebook_html`, `vae.site.html`, `vae.site.pages`).

Parsing a rendered page is most of what the site machinery adds to a rebuild in
which nothing changed, so the finished pages are kept in a cache keyed by the
rendered HTML and the source of the modules that finish it. A page that renders
as it did last time is read back instead of parsed again. The cache holds the
pages of the last build only.
"""

from __future__ import annotations

import hashlib
import os
from importlib.metadata import version
from pathlib import Path

FINISHERS = ("html.py", "notebook_html.py", "pages.py")  # in vae/site/


def finish(output: str, notebook: bool) -> str:
    """The page as readers get it; `notebook` for the executed notebook's page."""
    from vae.site.html import accessible
    from vae.site.pages import lazy_figures, plain_names

    if notebook:
        from vae.site.notebook_html import repair, slim

        output = repair(slim(output))
    return lazy_figures(plain_names(accessible(output)))


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
        """`finish(output, notebook)`, read from the cache when it is there."""
        material = f"{self.code}\n{notebook}\n{output}".encode()
        path = self.directory / f"{hashlib.sha256(material).hexdigest()}.html"
        self.used.add(path.name)
        try:
            return path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            pass
        text = finish(output, notebook)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)  # a reader sees the whole page or none
        return text

    def prune(self) -> None:
        """Removes the pages this build did not ask for."""
        for path in self.directory.glob("*.html"):
            if path.name not in self.used:
                path.unlink(missing_ok=True)
