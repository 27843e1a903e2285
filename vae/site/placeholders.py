"""Numbers and words from the figures, put into the pages as text.

A page quotes what a figure recorded (`ctx.number`, `ctx.words`) as
`{{ FIGURE.KEY }}`, or `{{ FIGURE.KEY:FORMAT }}` for a number. This module is
a Python-Markdown extension, so MkDocs and Zensical both run it:

- before Markdown parses the page, it checks every `{{` outside code: each
  must be a placeholder whose figure recorded that key, and a format may only
  follow a number. Anything else is a warning naming the page and the line,
  which fails a strict MkDocs build;
- after Markdown has turned the page into HTML, it replaces each placeholder
  with its value, HTML-escaped. A value therefore can never become markup: a
  number that lands at the start of a line is not a list item, and a value in
  a table cell, an alt text or an equation stays inside it.

Numbers are formatted by `format_number`; words are inserted as they are.
The values are read from the figure outputs of the checkout this module
belongs to, in the profile that `$VAE_PROFILE` names (see `vae.site.project`).
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
from pathlib import Path
from typing import Any

from markdown import Extension, Markdown
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?::([^}\s]+))?\s*\}\}")
OPENING = "{{"
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+).*?\1")
HEADING = re.compile(r"^#{1,6}\s")

# A warning on a logger under "mkdocs" fails `mkdocs build --strict`.
log = logging.getLogger("mkdocs.vae.placeholders")


def format_number(value: int | float, spec: str | None) -> str:
    """A number as the prose shows it: ints with thousands separators, floats to
    two decimals, unless `spec` (a `format` spec) says otherwise. A value that
    rounds to zero shows as zero, without a sign."""
    if spec:
        text = format(value, spec)
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = f"{value:,.2f}"
    if value != 0 and not any(digit in text for digit in "123456789"):
        unsigned = spec.replace("+", "") if spec else spec
        return format_number(0.0 if isinstance(value, float) else 0, unsigned)
    return text


def render(value: Any, spec: str | None) -> str:
    """The text a recorded value puts on the page.

    Raises:
        ValueError: a format spec on words, or one that does not fit the number.
    """
    if isinstance(value, str):
        if spec:
            raise ValueError("words take no format")
        return value
    return format_number(value, spec)


def load_values(figures_out: Path, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """{figure: {key: value}} from each figure's numbers.json and words.json.

    The files are read again only when one of them changed: a page renders many
    Markdown documents (the API reference one per docstring), and each asks.
    """
    from vae.site.context import NUMBERS, WORDS

    directories = (
        [figures_out / n for n in names] if names is not None else sorted(figures_out.glob("*"))
    )
    files = []
    for directory in directories:
        for filename in (NUMBERS, WORDS):
            try:
                stat = (directory / filename).stat()
            except OSError:
                continue
            files.append((str(directory / filename), stat.st_mtime_ns, stat.st_size))
    return _read_values(tuple(files))


@functools.lru_cache(maxsize=8)
def _read_values(files: tuple[tuple[str, int, int], ...]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for path, _, _ in files:
        try:
            recorded = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            continue
        values.setdefault(Path(path).parent.name, {}).update(recorded)
    return values


def checkout() -> Path:
    """The checkout being built: the working directory when it holds one (as
    when `zensical build` runs there), else the one this module belongs to."""
    here = Path.cwd()
    if (here / "figures").is_dir() and (here / "vae").is_dir():
        return here
    return Path(__file__).resolve().parents[2]


def current_values() -> dict[str, dict[str, Any]]:
    """The values the figure engine last recorded for the checkout's current
    figure scripts, in the profile $VAE_PROFILE names."""
    from vae.site.project import Project, profile_from_env

    project = Project(checkout(), profile_from_env())
    return load_values(project.figures_out, _script_names(project.figures_src))


def _script_names(figures_src: Path) -> list[str]:
    """The figure scripts' names: the files in figures/ that do not start with '_'."""
    return sorted(p.stem for p in figures_src.glob("*.py") if not p.name.startswith("_"))


def problems(text: str, values: dict[str, dict[str, Any]]) -> list[tuple[int, str]]:
    """(line number, message) for every `{{` outside code that is not a
    placeholder of a recorded value."""
    found = []
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0]
            continue
        if fence is not None:
            if opened and opened.group(1)[0] == fence:
                fence = None
            continue
        line = CODE_SPAN.sub("", line)
        if HEADING.match(line) and PLACEHOLDER.search(line):
            found.append((number, "a heading cannot quote a value: the contents list shows it raw"))
        start = line.find(OPENING)
        while start != -1:
            match = PLACEHOLDER.match(line, start)
            if match is None:
                end = line.find("}}", start)
                snippet = line[start : end + 2 if end != -1 else None][:60]
                found.append(
                    (number, f"{snippet!r} is not a placeholder; write {{{{ FIGURE.KEY }}}}")
                )
                start = line.find(OPENING, start + 2)
                continue
            figure, key, spec = match.groups()
            if key not in values.get(figure, {}):
                found.append((number, f"no value {figure}.{key} (from figures/{figure}.py)"))
            else:
                try:
                    render(values[figure][key], spec)
                except ValueError as e:
                    found.append((number, f"{figure}.{key}: bad format {spec!r} ({e})"))
            start = line.find(OPENING, match.end())
    return found


def page_name(md: Markdown, configured: str) -> str:
    """The page being rendered: as MkDocs's plugin sets it, or Zensical's context."""
    if configured:
        return configured
    for extension in getattr(md, "registeredExtensions", []):
        page = getattr(extension, "_kwargs", {}).get("page")
        if page is not None and getattr(page, "path", None):
            return str(page.path)
    return "a page"


class _Check(Preprocessor):
    def __init__(self, md: Markdown, extension: PlaceholderExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, lines: list[str]) -> list[str]:
        values = self.extension.values()
        page = page_name(self.md, self.extension.getConfig("page"))
        for number, message in problems("\n".join(lines), values):
            log.warning(f"{page}:{number}: {message}")
        return lines


class _Insert(Postprocessor):
    def __init__(self, md: Markdown, extension: PlaceholderExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, text: str) -> str:
        values = self.extension.values()

        def replace(match: re.Match) -> str:
            figure, key, spec = match.groups()
            try:
                value = render(values[figure][key], spec and html.unescape(spec))
            except (KeyError, ValueError):
                return match.group(0)  # already reported by the check
            return html.escape(value, quote=True)

        return PLACEHOLDER.sub(replace, text)


class PlaceholderExtension(Extension):
    """Checks placeholders before Markdown runs and fills them in after it."""

    def __init__(self, **kwargs: Any) -> None:
        self.config = {
            "page": ["", "the page being rendered, for messages (set by the MkDocs plugin)"],
            "figures_out": ["", "where the figure outputs are (default: the checkout's)"],
            "figures": [[], "the figures whose values count (default: all in figures_out)"],
        }
        super().__init__(**kwargs)
        self._values: dict[str, dict[str, Any]] | None = None

    def values(self) -> dict[str, dict[str, Any]]:
        """The recorded values, read once per Markdown instance."""
        if self._values is None:
            where = self.getConfig("figures_out")
            names = self.getConfig("figures") or None
            self._values = load_values(Path(where), names) if where else current_values()
        return self._values

    def extendMarkdown(self, md: Markdown) -> None:
        md.registerExtension(self)
        # After pymdownx.snippets (32) has included files, before fenced code is stashed (25).
        md.preprocessors.register(_Check(md, self), "vae_placeholders_check", 28)
        # Last: after raw HTML, code blocks and math are back in the page.
        md.postprocessors.register(_Insert(md, self), "vae_placeholders_insert", 1)


def makeExtension(**kwargs: Any) -> PlaceholderExtension:
    return PlaceholderExtension(**kwargs)
