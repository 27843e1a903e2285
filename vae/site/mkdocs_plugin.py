"""The MkDocs plugin `vae-figures`: a thin adapter from MkDocs events to the
figure engine. It is the only module that imports MkDocs.

- before each build (and each `mkdocs serve` rebuild) it brings the figures up
  to date (`vae.site.scheduler`), in the profile named by $VAE_PROFILE
  (default "full"), on the device named by $VAE_DEVICE (default "cpu"), with
  $VAE_JOBS workers (default: one per core), and copies their outputs to
  docs/figures/ (`vae.site.publish`, which git ignores), where the pages find them;
- a failing figure fails `mkdocs build`; under `mkdocs serve` the last good
  outputs stay and the pages it feeds say that the figure is stale;
- it puts the executed notebook in the place of its source page;
- it tells the placeholder extension (`vae.site.placeholders`, which fills in
  the numbers and words) which page it renders, for its messages;
- it tells the figure-scripts extension (`vae.site.pages`) which checkout it builds;
- it strips the notebook page of CDN scripts and CSS it does not use, and
  repairs every page for readers with a keyboard or a screen reader (see
  `vae.site.finish`, which remembers finished pages between builds);
- it copies KaTeX into docs/assets/katex/ too (see `vae.site.assets`), so that
  no page asks a third-party host for it;
- with no `repo_url` in mkdocs.yml or the environment, it takes the
  checkout's `origin` remote, so that every page links to the repository.

Zensical runs no MkDocs plugins: there, `python -m vae figures` first does
what `on_pre_build` does, and the placeholder extension does the rest.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files

log = get_plugin_logger("vae-figures")

PLACEHOLDER_EXTENSION = "vae.site.placeholders"
EXTENSIONS = {  # the Markdown extensions the pages need, and what each does
    PLACEHOLDER_EXTENSION: "it puts the figures' numbers into the pages",
    "vae.site.pages": "it writes the figure-scripts page's sections and the training tables",
}


def repository_url(root: Path) -> str | None:
    """The https address of the checkout's `origin` remote, or None."""
    try:
        url = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if url.startswith("git@") and ":" in url:  # git@github.com:owner/name.git
        host, _, path = url[4:].partition(":")
        url = f"https://{host}/{path}"
    if not url.startswith("https://"):
        return None
    return url.removesuffix(".git")


class FiguresPlugin(BasePlugin):
    """Brings the figures up to date before a build and adapts the pages to them."""

    def __init__(self) -> None:
        self.command = "build"
        self.report = None
        self.scripts: list = []
        self.pages = None  # the finished-page cache

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.command = command

    def on_config(self, config):
        from vae.errors import VAEError
        from vae.site.project import Project, profile_from_env

        for extension, does in EXTENSIONS.items():
            if extension not in config["markdown_extensions"]:
                raise PluginError(f"add {extension} to markdown_extensions in mkdocs.yml: {does}")
        try:
            project = Project(self._root(config), profile_from_env())
        except VAEError as e:
            raise PluginError(str(e)) from None
        settings = config["mdx_configs"].setdefault(PLACEHOLDER_EXTENSION, {})
        settings["figures_out"] = str(project.figures_out)
        config["mdx_configs"].setdefault("vae.site.pages", {})["root"] = str(project.root)
        if not config.get("repo_url"):
            url = repository_url(self._root(config))
            if url:
                config["repo_url"] = url
                config["repo_name"] = "/".join(url.split("/")[-2:])
        if not config.get("repo_url"):
            config["edit_uri"] = None  # an edit link needs a repository to point into
        return config

    @staticmethod
    def _root(config) -> Path:
        return Path(config.config_file_path).resolve().parent

    def on_pre_build(self, config) -> None:
        from vae.errors import VAEError
        from vae.site.finish import PageCache
        from vae.site.project import (
            Project,
            device_from_env,
            discover,
            jobs_from_env,
            profile_from_env,
        )
        from vae.site.publish import figure_files, katex_files, publish
        from vae.site.scheduler import build

        root = self._root(config)
        docs_dir = Path(config.docs_dir)
        try:
            project = Project(root, profile_from_env(), device=device_from_env())
            self.pages = PageCache(project.cache_dir / "pages")
            report = build(project, jobs=jobs_from_env(), log=log.info)
            self.scripts = discover(project.figures_src)
            publish({**figure_files(self.scripts, report.figures_dir), **katex_files()}, docs_dir)
            settings = config["mdx_configs"].setdefault(PLACEHOLDER_EXTENSION, {})
            settings["figures"] = [s.name for s in self.scripts]
        except VAEError as e:
            raise PluginError(str(e)) from None
        self.report = report
        if not report.failed:
            return
        if self.command == "serve":
            for failure in report.failed:
                log.warning(
                    f"figure {failure.name} failed; its last good output stays:\n{failure.error}"
                )
            return
        details = "\n".join(f"--- figure {f.name} ---\n{f.error}" for f in report.failed)
        names = ", ".join(f.name for f in report.failed)
        raise PluginError(f"figure script failed: {names}\n{details}")

    @event_priority(100)  # before mkdocs-jupyter, which must see the executed notebook
    def on_files(self, files: Files, config) -> Files:
        from vae.site.publish import notebook_page

        if self.report is None:
            return files
        for script in self.scripts:
            executed = notebook_page(script, self.report.figures_dir)
            if executed is None:
                continue
            source = files.get_file_from_path(script.page)
            if source is not None:
                files.remove(source)
            # A plain File rooted in the cache, not File.generated: mkdocs-jupyter
            # wraps it and needs its source directory.
            files.append(
                File(script.page, str(executed.parent), config.site_dir, config.use_directory_urls)
            )
        return files

    def on_page_markdown(self, markdown: str, page, config, files) -> str:
        settings = config["mdx_configs"].setdefault(PLACEHOLDER_EXTENSION, {})
        settings["page"] = page.file.src_uri
        if self.report is not None and self.report.failed:
            failed = {f.name for f in self.report.failed}
            for script in self.scripts:
                if script.name in failed and script.page == page.file.src_uri:
                    markdown = stale_note(script.name) + markdown
        return markdown

    def on_page_content(self, html: str, page, config, files) -> str:
        from vae.site.pages import unsearched_code

        return unsearched_code(html)  # before the search plugin indexes the page

    def on_post_page(self, output: str, page, config) -> str:
        from vae.errors import VAEError
        from vae.site.finish import finish

        notebook = page.file.src_uri.endswith(".ipynb")
        try:
            return self.pages.finish(output, notebook) if self.pages else finish(output, notebook)
        except VAEError as e:  # a full disk under the page cache, say
            raise PluginError(str(e)) from None

    def on_post_build(self, config) -> None:
        if self.pages is not None:
            self.pages.prune()

    def on_serve(self, server, config, builder):
        root = self._root(config)
        for path in (root / "figures", root / "vae"):
            server.watch(str(path))
        return server


def stale_note(name: str) -> str:
    """The warning a page shows while its figure's script fails under `mkdocs serve`."""
    return (
        f'!!! failure "This figure is stale: its script failed"\n\n'
        f"    `figures/{name}.py` raised an error; what is shown is its last good output. "
        f"See the terminal running `mkdocs serve` for the traceback.\n\n"
    )
