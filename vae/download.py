"""Fetching MNIST and Fashion-MNIST from their public mirrors.

Only the `python -m vae data download` command reaches the network; nothing in
the build or the tests does. Each file is streamed into a temporary file beside
its destination, checked against the MD5 that the dataset's authors published,
and only then renamed into place, so an interrupted or corrupted download never
leaves a file that looks complete.

Checksums: MNIST as listed by torchvision's MNIST dataset; Fashion-MNIST from
the table in github.com/zalandoresearch/fashion-mnist (README, "Get the Data").
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from vae.config import IDX_DATASETS
from vae.data import load_idx_dataset
from vae.datafiles import IDX_FILES, cache_dir
from vae.errors import DataError

MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

CHUNK = 1 << 16
TIMEOUT_S = 30


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, dest: Path, md5: str, progress: bool | None) -> None:
    """Streams `url` into `dest` through a temporary file, checking the MD5."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
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
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
        if h.hexdigest() != md5:
            raise DataError(f"checksum mismatch (MD5 {h.hexdigest()}, expected {md5})")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


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
        if dest.is_file() and _md5(dest) == checksums[file_name]:
            continue
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + file_name
            try:
                _fetch(url, dest, checksums[file_name], progress)
                break
            except (urllib.error.URLError, OSError, DataError) as e:
                errors.append(f"{url}: {getattr(e, 'reason', e)}")
        else:
            raise DataError(f"could not download {file_name}: " + "; ".join(errors))
    load_idx_dataset(name, directory)  # the files must also parse as the dataset
    return directory
