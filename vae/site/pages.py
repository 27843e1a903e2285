"""Pages written from the figure scripts themselves.

The figure-scripts page holds a marker that this module's Markdown extension
(`vae.site.pages` in mkdocs.yml, run by MkDocs and Zensical alike) replaces with one
section per discovered script (its docstring's first paragraph, the page it
feeds, the models it asks for, and its source), in the order of the pages it
feeds. A new script therefore appears there, with the anchor its captions link
to (`figure-scripts.md#NAME`), as soon as it exists.

The training page's marker becomes the tables of every trained model, with
the scripts and pages that use each (`vae.site.training_page`).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

from vae.site import training_page
from vae.site.project import FigureScript

MARKER = "<!-- the figure scripts, generated -->"
EXPERIMENTS_SOURCE = "vae/site/experiments.py"
# A figure's <img> tag without a loading attribute (figures live under figures/).
_FIGURE_IMG = re.compile(r'<img(?![^>]*\sloading=)(?=[^>]*\ssrc="[^"]*figures/)')
# The opening tag of a highlighted code block.
_CODE_BLOCK = re.compile(r'(<div class="(?:language-\w+ )?highlight")>')
# The commonest tokens of a code block, which are left in the code's own colour:
# names (the theme colours them so anyway: --md-code-hl-name-color is
# --md-code-fg-color), whitespace (no colour), punctuation and operators.
_PLAIN_TOKEN = re.compile(r'<span class="[npow]">([^<]*)</span>')
# Adjacent pieces of one string literal (quotes, text, f-string braces): the
# theme gives each of these classes the string colour, so the run needs one span.
_STRING_OPEN = '<span class="(?:s|s1|s2|sb|sc|si|ss)">'
_STRING_RUN = re.compile(f"{_STRING_OPEN}[^<]*</span>(?:{_STRING_OPEN}[^<]*</span>)+")
_STRING_JOIN = re.compile(f"</span>{_STRING_OPEN}")

# A warning on a logger under "mkdocs" fails `mkdocs build --strict`.
log = logging.getLogger("mkdocs.vae.pages")


def nav_titles(nav: Any) -> dict[str, str]:
    """{page source path: title} from MkDocs' `nav` setting, in nav order."""
    titles: dict[str, str] = {}

    def walk(items: Iterable, title: str | None = None) -> None:
        for item in items:
            if isinstance(item, str):
                titles.setdefault(item, title or item)
            elif isinstance(item, dict):
                for key, value in item.items():
                    if isinstance(value, str):
                        titles.setdefault(value, key)
                    else:
                        walk(value)

    walk(nav or [])
    return titles


def summary(script: FigureScript) -> str:
    """The first paragraph of the script's docstring, on one line ("" if none, or if
    the script does not parse: its figure's failure says why)."""
    try:
        docstring = ast.get_docstring(ast.parse(script.path.read_bytes())) or ""
    except SyntaxError:
        return ""
    return " ".join(docstring.split("\n\n", 1)[0].split())


def figure_scripts_markdown(scripts: list[FigureScript], titles: dict[str, str]) -> str:
    """One section per script, ordered by the page it feeds, then the experiments."""
    order = {page: i for i, page in enumerate(titles)}
    ordered = sorted(scripts, key=lambda s: (order.get(s.page or "", len(order)), s.name))
    sections = []
    for script in ordered:
        lines = [f"## {script.path.name} {{#{script.name}}}", ""]
        about = summary(script)
        if script.page:
            title = titles.get(script.page, script.page)
            about += f" It feeds [{title}]({script.page})."
        if script.models:
            about += " Trained models: " + ", ".join(f"`{m}`" for m in script.models) + "."
        if about.strip():
            lines += [about.strip(), ""]
        lines += ["```python", f'--8<-- "figures/{script.path.name}"', "```", ""]
        sections.append("\n".join(lines))
    sections.append(
        "\n".join(
            [
                "## The named experiments {#experiments}",
                "",
                "What each model name means: the configs the scripts' models are trained from.",
                "",
                "```python",
                f'--8<-- "{EXPERIMENTS_SOURCE}"',
                "```",
                "",
            ]
        )
    )
    return "\n".join(sections)


def fill(markdown: str, scripts: list[FigureScript], titles: dict[str, str]) -> str:
    """The page with its marker replaced by the generated sections (unchanged if none)."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, figure_scripts_markdown(scripts, titles))


def lazy_figures(html: str) -> str:
    """The page with its figures loaded lazily: a reader downloads a figure when
    scrolling near it, so a long page's first load carries only what is on screen."""
    return _FIGURE_IMG.sub('<img loading="lazy" decoding="async"', html)


def unsearched_code(html: str) -> str:
    """The page with its code blocks marked for the search index to leave out
    (Material's `data-search-exclude`): the figure scripts' sources were two
    fifths of the index, which every page downloads, and their prose stays in."""
    return _CODE_BLOCK.sub(r"\1 data-search-exclude>", html)


def plain_code(html: str) -> str:
    """The page with its code's commonest tokens out of their `<span>`s: names,
    whitespace, punctuation and operators show in the code's own colour, and a
    string's pieces share one span. Keywords, strings, numbers, comments and the
    names of functions, classes and built-ins keep their colours.

    The tags were two thirds of the figure-scripts page, most of a reader's
    first load of it; this takes a third of the page's bytes away."""
    html = _PLAIN_TOKEN.sub(r"\1", html)
    return _STRING_RUN.sub(lambda run: _STRING_JOIN.sub("", run.group(0)), html)


# -- the figure-scripts page as a Markdown extension ------------------------------


def config_nav(config_file: Path) -> Any:
    """The `nav` of an mkdocs.yml, read without MkDocs (its tags read as nothing)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    try:
        return (yaml.load(Path(config_file).read_text(), Loader=Loader) or {}).get("nav")
    except (OSError, yaml.YAMLError):
        return None


class _Sections(Preprocessor):
    def __init__(self, md: Markdown, extension: FigureScriptsExtension) -> None:
        super().__init__(md)
        self.extension = extension

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        if MARKER not in text and training_page.MARKER not in text:
            return lines
        from vae.site.placeholders import checkout
        from vae.site.project import discover

        root = Path(self.extension.getConfig("root") or checkout())
        titles = nav_titles(config_nav(root / "mkdocs.yml"))
        scripts = discover(root / "figures")
        text = fill(text, scripts, titles)
        if training_page.MARKER in text:
            text = text.replace(training_page.MARKER, trained_models(root, scripts, titles))
        return text.split("\n")


def trained_models(root: Path, scripts: list[FigureScript], titles: dict[str, str]) -> str:
    """The training page's tables for the checkout at `root`, in the profile
    $VAE_PROFILE names; a warning, and a note on the page, when they cannot be made."""
    from vae.errors import VAEError
    from vae.site.project import Project, profile_from_env

    try:
        models = training_page.load(Project(root, profile_from_env()))
    except VAEError as e:
        log.warning(f"the trained models cannot be listed: {e}")
        return f'!!! failure "The trained models cannot be listed"\n\n    {e}\n'
    return training_page.markdown(models, scripts, titles)


class FigureScriptsExtension(Extension):
    """Writes the figure-scripts page's sections and the training page's tables
    where their markers stand, before pymdownx.snippets includes each script's source."""

    def __init__(self, **kwargs: Any) -> None:
        self.config = {"root": ["", "the checkout (default: the one being built)"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_Sections(md, self), "vae_figure_scripts", 40)


def makeExtension(**kwargs: Any) -> FigureScriptsExtension:
    return FigureScriptsExtension(**kwargs)
