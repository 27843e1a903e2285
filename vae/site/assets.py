"""Vendored browser libraries: KaTeX for the site's math, axe-core for the
accessibility tests.

The site asks no third-party host for anything, so these are taken once, at
install time, by `python -m vae assets`: an HTTPS download of the package
tarball the npm registry publishes (no `npm` program needed), checked against a
pinned SHA-512, then unpacked into the user cache. `vae.site.publish` copies
the KaTeX files into docs/, where the pages load them; the browser tests serve
axe-core from 127.0.0.1. Nothing here runs during a build or the tests unless
asked.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from vae.atomic import write_atomically
from vae.errors import VAEError

VENDOR_ENV = "VAE_VENDOR_DIR"
REGISTRY_ENV = "VAE_NPM_REGISTRY"
REGISTRY = "https://registry.npmjs.org"
TIMEOUT_S = 60


@dataclass(frozen=True)
class Package:
    """An npm package the site or its tests use, pinned by version and checksum."""

    name: str
    version: str
    sha512: str  # of the tarball, as the registry publishes it (hex)
    files: tuple[str, ...]  # paths inside the package to keep
    fonts: str | None = None  # a directory whose .woff2 files are kept too

    @property
    def tarball_url(self) -> str:
        registry = os.environ.get(REGISTRY_ENV, REGISTRY).rstrip("/")
        return f"{registry}/{self.name}/-/{self.name}-{self.version}.tgz"


KATEX = Package(
    "katex",
    "0.16.22",
    "5c21d1754c3895fdd22816897b812f82a22e5b090f4a8f57a1e3bc1a3416f780"
    "69ed35aff61361cd98d9f8e1fdc9fd5498bca06fb0c84f91921508b2b75eb362",
    # The script, auto-render and the stylesheet; the woff2 fonts are the only
    # format current browsers ask for.
    ("dist/katex.min.js", "dist/katex.min.css", "dist/contrib/auto-render.min.js"),
    fonts="dist/fonts",
)
AXE = Package(
    "axe-core",
    "4.14.1",
    "1477dafa598d8d065f273d6af302aa203c02e83131707b7fa648cd41bd3d6b734f"
    "8c22a0dab86ee6a6f64b8afbe804b214d36db85a2826965edfb3a0b9d546b5",
    ("axe.min.js",),
)
VENDORED = (KATEX, AXE)


def vendor_dir(package: Package) -> Path:
    """Where a package's kept files live: $VAE_VENDOR_DIR, or the user cache."""
    root = (
        os.environ.get(VENDOR_ENV) or Path(platformdirs.user_cache_dir("vae-explained")) / "vendor"
    )
    return Path(root) / f"{package.name}-{package.version}"


def files(package: Package) -> list[tuple[str, Path]]:
    """(path relative to the package's dist/ or root, file on disk) for every kept file.

    Raises:
        VAEError: the package is not there; the message says how to fetch it.
    """
    root = vendor_dir(package)
    names = [_short(name) for name in package.files]
    if not all((root / name).is_file() for name in names):
        raise VAEError(
            f"{package.name} {package.version} is not in {root}; run `python -m vae assets` once "
            "(it downloads it from the npm registry)"
        )
    found = [(name, root / name) for name in names]
    if package.fonts:
        found += [(f"fonts/{p.name}", p) for p in sorted((root / "fonts").glob("*.woff2"))]
    return found


def katex_files() -> list[tuple[str, Path]]:
    """The KaTeX files the site serves under assets/katex/."""
    return files(KATEX)


def _short(name: str) -> str:
    return name.removeprefix("dist/")


def download(package: Package) -> bytes:
    """The package's tarball, checked against its pinned SHA-512.

    Raises:
        VAEError: the download fails or the checksum is wrong.
    """
    url = package.tarball_url
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as e:
        raise VAEError(f"could not download {url}: {getattr(e, 'reason', e)}") from None
    digest = hashlib.sha512(data).hexdigest()
    if digest != package.sha512:
        raise VAEError(f"{url}: SHA-512 mismatch ({digest[:16]}…), not using it")
    return data


def fetch(package: Package) -> Path:
    """Downloads, verifies and unpacks a package's kept files into `vendor_dir`.

    Returns:
        The directory, which is written as a whole or left as it was.
    """
    data = download(package)
    kept: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            name = member.name.removeprefix("package/")
            fonts = package.fonts and name.startswith(package.fonts + "/")
            if name in package.files or (fonts and name.endswith(".woff2")):
                kept[_short(name)] = archive.extractfile(member).read()  # type: ignore[union-attr]
    missing = [n for n in package.files if _short(n) not in kept]
    if missing:
        raise VAEError(f"{package.name} {package.version}: tarball lacks {', '.join(missing)}")
    target = vendor_dir(package)
    write_atomically(target, kept)
    return target


def ensure(package: Package) -> tuple[Path, bool]:
    """The package's directory, fetched first if missing; and whether it was fetched."""
    try:
        files(package)
        return vendor_dir(package), False
    except VAEError:
        return fetch(package), True
