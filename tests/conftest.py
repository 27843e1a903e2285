"""Shared fixtures: small generated IDX datasets and a tiny trained run."""

from pathlib import Path

import numpy as np
import pytest

from vae.data import IMAGE_SHAPE, write_idx
from vae.datafiles import IDX_FILES


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
