"""Fetching MNIST and Fashion-MNIST from their public mirrors.

Only the `python -m vae data download` command reaches the network; nothing in
the build or the tests does. Each file is read into memory, checked against the
MD5 that the dataset's authors published, and only then written, all at once
(`vae.atomic.write_file`), so an interrupted or corrupted download never leaves
a file that looks complete.

The published checksums are in `vae.datafiles.MD5`.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from vae import atomic
from vae.config import IDX_DATASETS
from vae.data import load_idx_dataset
from vae.datafiles import IDX_FILES, MD5, cache_dir, file_md5
from vae.errors import DataError

MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

CHUNK = 1 << 16
TIMEOUT_S = 30


def _fetch(url: str, dest: Path, md5: str, progress: bool | None) -> None:
    """Downloads `url` into memory (the largest file is 26 MB), checks the MD5,
    and only then writes `dest`, all at once."""
    h = hashlib.md5()
    blocks = []
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=dest.name,
            leave=False,
            disable=None if progress is None else not progress,
        ) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                blocks.append(block)
                h.update(block)
                bar.update(len(block))
    if h.hexdigest() != md5:
        raise DataError(f"checksum mismatch (MD5 {h.hexdigest()}, expected {md5})")
    atomic.write_file(dest, b"".join(blocks))


def download(
    name: str,
    root: str | os.PathLike | None = None,
    mirrors: tuple[str, ...] | None = None,
    checksums: dict[str, str] | None = None,
    progress: bool | None = None,
) -> Path:
    """Downloads the four IDX files of `name` into ROOT/NAME and checks them.

    Files already present with the right checksum are kept. Each file is tried on
    every mirror in turn.

    Args:
        name: "mnist" or "fashion-mnist".
        root: the data root; by default the user cache directory.
        mirrors: base URLs to try, in order; by default the public ones.
        checksums: MD5 per file name; by default the published ones.
        progress: show progress bars; None shows them only on a terminal.

    Returns:
        The directory holding the files.

    Raises:
        DataError: unknown name, every mirror failed, or a file fails its checks.
        DiskFullError: the disk filled up while a file was written; nothing is left.
    """
    if name not in IDX_DATASETS:
        raise DataError(f"unknown dataset {name!r}; downloadable: {', '.join(IDX_DATASETS)}")
    directory = Path(root if root is not None else cache_dir()) / name
    directory.mkdir(parents=True, exist_ok=True)
    mirrors = mirrors or MIRRORS[name]
    checksums = checksums or MD5[name]
    for stem, _ in IDX_FILES.values():
        file_name = f"{stem}.gz"
        dest = directory / file_name
        if dest.is_file() and file_md5(dest) == checksums[file_name]:
            continue
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + file_name
            try:
                _fetch(url, dest, checksums[file_name], progress)
                break
            except atomic.DiskFullError:
                raise  # no mirror helps; one line naming the file
            except (urllib.error.URLError, OSError, DataError) as e:
                errors.append(f"{url}: {getattr(e, 'reason', e)}")
        else:
            raise DataError(f"could not download {file_name}: " + "; ".join(errors))
    load_idx_dataset(name, directory)  # the files must also parse as the dataset
    return directory
