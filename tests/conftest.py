"""Shared fixtures: small generated IDX datasets; the site, built once in the
quick profile in a temporary copy of the checkout, and served to headless
Chromium for the browser tests."""

import errno
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from vae.data import IMAGE_SHAPE, write_idx
from vae.datafiles import IDX_FILES
from vae.site import browser
from vae.site.project import copy_checkout

REPO = Path(__file__).resolve().parents[1]


def make_idx_files(directory: Path, seed: int = 0, gz: bool = True) -> dict[str, np.ndarray]:
    """Writes the four IDX files of a synthetic dataset of the full MNIST size.

    Images are mostly zeros, so the files compress to a few hundred kilobytes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for key, (stem, count) in IDX_FILES.items():
        if key.endswith("images"):
            array = np.zeros((count, *IMAGE_SHAPE), dtype=np.uint8)
            array[:, 10:18, 10:18] = rng.integers(0, 256, size=(count, 1, 1), dtype=np.uint8)
        else:
            array = (np.arange(count) % 10).astype(np.uint8)
        write_idx(directory / (f"{stem}.gz" if gz else stem), array)
        arrays[key] = array
    return arrays


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory) -> Path:
    """A directory holding a valid synthetic dataset in IDX format."""
    directory = tmp_path_factory.mktemp("idx") / "mnist"
    make_idx_files(directory)
    return directory


def copy_repo(destination: Path) -> Path:
    """A copy of what a site build reads: package, scripts, pages, config."""
    destination.mkdir(parents=True)
    return copy_checkout(REPO, destination)


# A GitHub address, as the Pages workflow sets: the browser tests then check that
# the repository link asks GitHub's API for nothing.
REPO_URL = "https://github.com/vae-explained/vae-explained"


def mkdocs_build(root: Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` in `root`, quick profile, cache in ROOT/cache."""
    env = {
        **os.environ,
        "VAE_PROFILE": "quick",
        "VAE_CACHE_DIR": str(root / "cache"),
        "NO_MKDOCS_2_WARNING": "1",
        "VAE_REPO_URL": REPO_URL,
    }
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """(checkout root, build result): one clean strict build shared by the site tests."""
    root = copy_repo(tmp_path_factory.mktemp("site") / "repo")
    result = mkdocs_build(root)
    assert result.returncode == 0, result.stderr
    return root, result


@pytest.fixture(scope="session")
def site(built_site):
    """The checkout root of the shared build; the pages are in ROOT/site."""
    return built_site[0]


@pytest.fixture(scope="session")
def served(site):
    """(base URL, Chromium) with the built site served on 127.0.0.1."""
    with browser.serve(site / "site") as base, browser.chromium() as chromium:
        yield base, chromium


def load_all_images(page):
    """Loads every figure now, as a reader scrolling through would (figures load
    lazily, so a full-page screenshot would otherwise show blanks)."""
    page.evaluate(
        "Promise.all(Array.from(document.images).map(i => { i.loading = 'eager';"
        " return i.complete ? null : new Promise(r => { i.onload = i.onerror = r; }); }))"
    )


def open_page(chromium, url, **context):
    """A fresh page that records console errors, failed and external requests.

    Returns the page and the list its problems are appended to.
    """
    options = {"viewport": {"width": 1200, "height": 900}, **context}
    page = chromium.new_context(**options).new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))

    def check_host(request):
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")):
            return
        if host != "127.0.0.1":
            problems.append(f"external request: {request.url}")

    page.on("request", check_host)
    page.goto(url, wait_until="networkidle")
    return page, problems


class FullDiskFile:
    """Stands in for `open` in `vae.atomic`: the file opens, and every write fails
    as on a full disk (ENOSPC)."""

    def __init__(self, path, mode):
        self.file = open(path, mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture(scope="module")
def dataset():
    """The embedded digits."""
    from vae.data import load_dataset

    return load_dataset("mnist5k")


@pytest.fixture(scope="module")
def small(dataset):
    """A small part of them, for quick training runs."""
    return dataset.subset(train=960, test=200)
