"""Pages written from the figure scripts themselves.

The figure-scripts page holds a marker that the MkDocs hook replaces with one
section per discovered script (its docstring's first paragraph, the page it
feeds, the models it asks for, and its source), in the order of the pages it
feeds. A new script therefore appears there, with the anchor its captions link
to (`figure-scripts.md#NAME`), as soon as it exists.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from vae.site.project import FigureScript

MARKER = "<!-- the figure scripts, generated -->"
EXPERIMENTS_SOURCE = "vae/site/experiments.py"
# A figure's <img> tag without a loading attribute (figures live under figures/).
_FIGURE_IMG = re.compile(r'<img(?![^>]*\sloading=)(?=[^>]*\ssrc="[^"]*figures/)')
# A highlighted name, the commonest token of a code block: the theme colours it
# as the code's own text (--md-code-hl-name-color is --md-code-fg-color).
_PLAIN_NAME = re.compile(r'<span class="n">([^<]*)</span>')


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
    """The first paragraph of the script's docstring, on one line ("" if none)."""
    docstring = ast.get_docstring(ast.parse(script.path.read_bytes())) or ""
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


def plain_names(html: str) -> str:
    """The page with its code's names unwrapped from the `<span class="n">` that
    gives them the colour they have anyway: a sixth of the figure-scripts page."""
    return _PLAIN_NAME.sub(r"\1", html)
