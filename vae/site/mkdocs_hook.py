"""The MkDocs hook: a thin adapter from MkDocs events to the figure engine.

- before each build (and each `mkdocs serve` rebuild) it brings the figures up
  to date (`vae.site.scheduler`), in the profile named by $VAE_PROFILE
  (default "full"), on the device named by $VAE_DEVICE (default "cpu"), with
  $VAE_JOBS workers (default: one per core);
- it adds the figure outputs to the site under figures/NAME/, from the cache,
  so nothing generated is ever written into docs/;
- it replaces {{ NAME.KEY }} (or {{ NAME.KEY:FORMAT }}) in the pages with the
  numbers the figure NAME recorded; an unknown key is a warning, which fails
  a strict build;
- a failing figure fails `mkdocs build`; under `mkdocs serve` the last good
  outputs stay and the pages it feeds say that the figure is stale;
- it strips the notebook page of CDN scripts and CSS it does not use, and
  repairs every page for readers with a keyboard or a screen reader (see
  `vae.site.finish`, which remembers finished pages between builds);
- it writes the figure-scripts page's sections from the scripts themselves
  (see `vae.site.pages`);
- it serves KaTeX from the site itself (assets/katex/, see `vae.site.assets`), so
  no page asks a third-party host for it.

This is the only module that imports MkDocs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files

log = get_plugin_logger("vae-figures")

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?::([^}\s]+))?\s*\}\}")
URL_PREFIX = "figures"
KATEX_URL = "assets/katex"
FIGURE_SCRIPTS_PAGE = "figure-scripts.md"  # its sections are written from the scripts

_state: dict[str, Any] = {"command": "build", "report": None, "scripts": []}


def format_number(value: Any, spec: str | None) -> str:
    """Numbers in the prose: floats to two decimals, integers with thousands separators."""
    if spec:
        return format(value, spec)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}"


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_startup(command: str, dirty: bool) -> None:
    _state["command"] = command


def on_config(config):
    root = str(_root(config))
    if root not in sys.path:
        sys.path.insert(0, root)  # the checkout's own `vae`, even if another is installed
    return config


def on_pre_build(config) -> None:
    from vae.errors import VAEError
    from vae.site.finish import PageCache
    from vae.site.project import (
        Project,
        device_from_env,
        discover,
        jobs_from_env,
        profile_from_env,
    )
    from vae.site.scheduler import build

    root = _root(config)
    try:
        project = Project(root, profile_from_env(), device=device_from_env())
        _state["pages"] = PageCache(project.cache_dir / "pages")
        report = build(project, jobs=jobs_from_env(), log=log.info)
        _state["scripts"] = discover(project.figures_src)
    except VAEError as e:
        raise PluginError(str(e)) from None
    _state["report"] = report
    if not report.failed:
        return
    if _state["command"] == "serve":
        for failure in report.failed:
            log.warning(
                f"figure {failure.name} failed; its last good output stays:\n{failure.error}"
            )
        return
    details = "\n".join(f"--- figure {f.name} ---\n{f.error}" for f in report.failed)
    names = ", ".join(f.name for f in report.failed)
    raise PluginError(f"figure script failed: {names}\n{details}")


@event_priority(100)  # before mkdocs-jupyter, which must see the executed notebook
def on_files(files: Files, config) -> Files:
    for file in _katex_files(config):
        files.append(file)
    report = _state["report"]
    if report is None:
        return files
    for script in _state["scripts"]:
        directory = report.figures_dir / script.name
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if not path.is_file() or path.name.startswith("_"):
                continue
            if (
                script.page
                and script.page.endswith(".ipynb")
                and path.name == Path(script.page).name
            ):
                # An executed notebook takes the place of its source page.
                source = files.get_file_from_path(script.page)
                if source is not None:
                    files.remove(source)
                # A plain File rooted in the cache, not File.generated: mkdocs-jupyter
                # wraps it and needs its source directory.
                files.append(
                    File(script.page, str(directory), config.site_dir, config.use_directory_urls)
                )
                continue
            uri = f"{URL_PREFIX}/{script.name}/{path.name}"
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def _katex_files(config) -> list[File]:
    from vae.errors import VAEError
    from vae.site.assets import katex_files

    try:
        return [
            File.generated(config, f"{KATEX_URL}/{name}", abs_src_path=str(path))
            for name, path in katex_files()
        ]
    except VAEError as e:
        raise PluginError(str(e)) from None


def on_page_markdown(markdown: str, page, config, files) -> str:
    report = _state["report"]
    numbers = report.numbers() if report is not None else {}

    def replace(match: re.Match) -> str:
        figure, key, spec = match.groups()
        try:
            value = numbers[figure][key]
        except KeyError:
            log.warning(f"{page.file.src_uri}: no number {figure}.{key} (from figures/{figure}.py)")
            return match.group(0)
        try:
            return format_number(value, spec)
        except (ValueError, TypeError):
            log.warning(f"{page.file.src_uri}: bad format {spec!r} for {figure}.{key}")
            return match.group(0)

    markdown = PLACEHOLDER.sub(replace, markdown)
    if page.file.src_uri == FIGURE_SCRIPTS_PAGE:
        from vae.site.pages import fill, nav_titles

        markdown = fill(markdown, _state["scripts"], nav_titles(config["nav"]))
    if report is not None and report.failed:
        failed = {f.name for f in report.failed}
        stale = [
            s.name for s in _state["scripts"] if s.name in failed and s.page == page.file.src_uri
        ]
        for name in stale:
            note = (
                f'!!! failure "This figure is stale: its script failed"\n\n'
                f"    `figures/{name}.py` raised an error; what is shown is its last good output. "
                f"See the terminal running `mkdocs serve` for the traceback.\n\n"
            )
            markdown = note + markdown
    return markdown


def on_post_page(output: str, page, config) -> str:
    from vae.site.finish import finish

    notebook = page.file.src_uri.endswith(".ipynb")
    pages = _state.get("pages")
    return pages.finish(output, notebook) if pages else finish(output, notebook)


def on_post_build(config) -> None:
    if _state.get("pages"):
        _state["pages"].prune()


def on_serve(server, config, builder):
    root = _root(config)
    for path in (root / "figures", root / "vae"):
        server.watch(str(path))
    return server
