"""The article built by Zensical, Material's successor, which reads mkdocs.yml
but runs no MkDocs plugin: `python -m vae figures` puts the figures and KaTeX
where the pages find them, and the Markdown extensions fill in every number
and write the figure-scripts page."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from vae.site.placeholders import PLACEHOLDER

from .conftest import copy_repo

pytestmark = pytest.mark.slow

PAGES = ("index", "autoencoders", "variational-inference", "results", "training", "figure-scripts")


def test_zensical_builds_every_number_and_figure(built_site, tmp_path):
    root = copy_repo(tmp_path / "repo")
    shutil.copytree(built_site[0] / "cache", root / "cache")
    env = {**os.environ, "VAE_PROFILE": "quick", "VAE_CACHE_DIR": str(root / "cache")}
    figures = subprocess.run(
        [sys.executable, "-m", "vae", "figures"], cwd=root, env=env, capture_output=True, text=True
    )
    assert figures.returncode == 0, figures.stderr
    assert "0 ran" in figures.stderr + figures.stdout  # the cache is current: nothing reruns
    built = subprocess.run(
        [sys.executable, "-m", "zensical", "build"], cwd=root, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    output = re.sub(r"\x1b\[[0-9;]*m", "", built.stdout + built.stderr)
    assert built.returncode == 0, output
    assert "not a placeholder" not in output and "no value" not in output, output
    assert "anchor does not exist" not in output, output
    site = root / "site"
    for name in PAGES:
        page = site / name / "index.html" if name != "index" else site / "index.html"
        html = page.read_text()
        assert not PLACEHOLDER.search(html), f"{name}: a placeholder left raw"
        for source in re.findall(r'<img[^>]*\ssrc="([^"]+)"', html):
            if "figures/" in source:
                assert (page.parent / source).resolve().is_file(), f"{name}: {source} missing"
    assert (site / "figure-scripts" / "index.html").read_text().count('id="exact_posterior"') == 1
    assert "<code>vae-20d-gray</code>" in (site / "training" / "index.html").read_text()
    assert (site / "assets" / "katex" / "katex.min.js").is_file()
