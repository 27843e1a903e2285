"""KaTeX, the math typesetter the site serves from itself.

The site makes no request to a third-party host, so the KaTeX files are taken
once from the npm registry, at install time, by `python -m vae assets` (which
runs `npm pack` and checks the tarball against a pinned SHA-512), and kept in
the user cache. The MkDocs hook copies the few files a page needs into the site.
Nothing here runs during a build or the tests unless asked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from vae.errors import VAEError

KATEX_VERSION = "0.16.22"
# SHA-512 of katex-0.16.22.tgz as published on the npm registry.
KATEX_SHA512 = (
    "5c21d1754c3895fdd22816897b812f82a22e5b090f4a8f57a1e3bc1a3416f780"
    "69ed35aff61361cd98d9f8e1fdc9fd5498bca06fb0c84f91921508b2b75eb362"
)
KATEX_ENV = "VAE_KATEX_DIR"
# What the site serves, relative to KaTeX's dist/: the script, auto-render, the
# stylesheet and the woff2 fonts (the only format current browsers ask for).
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js")


def katex_dir() -> Path:
    """Where KaTeX's dist/ files are kept: $VAE_KATEX_DIR, or the user cache."""
    if os.environ.get(KATEX_ENV):
        return Path(os.environ[KATEX_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vae-explained" / "vendor" / f"katex-{KATEX_VERSION}"


def katex_files() -> list[tuple[str, Path]]:
    """(path in the site's assets/katex/, file on disk) for every file the site serves.

    Raises:
        VAEError: KaTeX is not there; the message says how to fetch it.
    """
    root = katex_dir()
    if not all((root / name).is_file() for name in KATEX_FILES):
        raise VAEError(
            f"KaTeX {KATEX_VERSION} is not in {root}; run `python -m vae assets` once "
            "(it fetches it from the npm registry)"
        )
    files = [(name, root / name) for name in KATEX_FILES]
    files += [(f"fonts/{p.name}", p) for p in sorted((root / "fonts").glob("*.woff2"))]
    return files


def fetch_katex() -> Path:
    """Fetches KaTeX with `npm pack`, verifies it, and unpacks dist/ into katex_dir().

    Returns:
        The directory, which is replaced as a whole or left as it was.

    Raises:
        VAEError: npm is missing or fails, or the tarball's checksum is wrong.
    """
    target = katex_dir()
    if shutil.which("npm") is None:
        raise VAEError("npm is needed to fetch KaTeX once: install Node.js and npm")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        result = subprocess.run(
            ["npm", "pack", f"katex@{KATEX_VERSION}", "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        tarball = Path(tmp) / f"katex-{KATEX_VERSION}.tgz"
        if result.returncode != 0 or not tarball.is_file():
            raise VAEError(f"npm pack katex@{KATEX_VERSION} failed: {result.stderr.strip()}")
        digest = hashlib.sha512(tarball.read_bytes()).hexdigest()
        if digest != KATEX_SHA512:
            raise VAEError(f"{tarball.name}: SHA-512 mismatch ({digest[:16]}…), not using it")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as archive:
            archive.extractall(unpacked, filter="data")
        staged = Path(tmp) / "dist"
        shutil.move(unpacked / "package" / "dist", staged)
        if target.exists():
            shutil.rmtree(target)
        os.rename(staged, target)
    return target
