"""Datasets: the embedded split, IDX parsing, lookup and every bad-input case."""

import errno
import gzip
import hashlib
import os
import shutil

import numpy as np
import pytest
import torch

from vae import atomic, data, datafiles
from vae.config import DataConfig
from vae.errors import ConfigError, DataError

from .conftest import make_idx_files


def test_embedded_split_is_stratified_and_in_range():
    ds = data.load_dataset("mnist5k")
    assert ds.train_images.shape == (4500, 28, 28)
    assert ds.test_images.shape == (500, 28, 28)
    assert ds.train_images.dtype == torch.uint8
    assert torch.bincount(ds.train_labels).tolist() == [450] * 10
    assert torch.bincount(ds.test_labels).tolist() == [50] * 10
    # Real digits: a good share of ink, and gray levels as well as black and white.
    x = data.to_unit_interval(ds.train_images)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert 0.05 < x.mean() < 0.25
    assert ((x > 0.1) & (x < 0.9)).any()


def test_embedded_split_is_deterministic_and_disjoint():
    first = data._embedded_dataset()
    second = data._embedded_dataset()
    assert first.fingerprint == second.fingerprint
    train = {bytes(im.numpy()) for im in first.train_images}
    test = {bytes(im.numpy()) for im in first.test_images}
    assert not train & test


def test_fingerprint_changes_with_one_pixel():
    ds = data.load_dataset("mnist5k")
    images = ds.train_images.clone()
    images[0, 0, 0] ^= 1
    changed = data.Dataset(
        ds.name, images, ds.train_labels, ds.test_images, ds.test_labels, ds.class_names
    )
    assert changed.fingerprint != ds.fingerprint


def test_binarizations():
    ds = data.load_dataset("mnist5k")
    gray = data.test_inputs(ds, "continuous")
    fixed = data.test_inputs(ds, "fixed")
    assert torch.equal(fixed, data.test_inputs(ds, "dynamic"))  # one fixed draw for both
    assert set(fixed.unique().tolist()) == {0.0, 1.0}
    assert len(gray.unique()) > 2
    # A Bernoulli draw keeps the mean gray level.
    assert abs(fixed.mean() - gray.mean()) < 0.005


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    arrays = make_idx_files(tmp_path / "mnist", gz=gz)
    ds = data.load_dataset("mnist", str(tmp_path))
    assert ds.train_images.shape == (60_000, 28, 28)
    assert np.array_equal(ds.test_images.numpy(), arrays["test_images"])
    assert np.array_equal(ds.train_labels.numpy(), arrays["train_labels"])
    assert ds.class_names[0] == "0"


def test_lookup_order_env_then_cache_then_debian(tmp_path, monkeypatch, idx_dir):
    monkeypatch.setenv("VAE_DATA_DIR", str(idx_dir.parent))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert datafiles.locate("mnist") == idx_dir
    dirs = datafiles.search_dirs("fashion-mnist")
    assert dirs[0] == idx_dir.parent / "fashion-mnist"
    assert dirs[2] == tmp_path / "cache" / "vae-explained" / "data" / "fashion-mnist"
    assert dirs[-2] == datafiles.DEBIAN_DIR / "fashion-mnist"
    # An explicit directory is the only place searched.
    assert datafiles.search_dirs("mnist", tmp_path) == [tmp_path / "mnist", tmp_path]


def test_missing_files_say_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr(datafiles, "DEBIAN_DIR", tmp_path / "no-debian")
    with pytest.raises(DataError) as err:
        datafiles.locate("fashion-mnist")
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / "nowhere" / "fashion-mnist") in message
    assert "python -m vae data download fashion-mnist" in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_subset_takes_the_first_images_of_each_split():
    full = data.load_dataset("mnist5k")
    part = full.subset(train=30, test=7)
    assert torch.equal(part.train_images, full.train_images[:30])
    assert torch.equal(part.train_labels, full.train_labels[:30])
    assert torch.equal(part.test_images, full.test_images[:7])
    assert torch.equal(part.test_labels, full.test_labels[:7])
    assert part.name == full.name and part.fingerprint != full.fingerprint


def test_unknown_dataset_and_binarization():
    with pytest.raises(DataError, match="unknown dataset"):
        data.load_dataset("cifar")
    with pytest.raises(ConfigError, match="unknown dataset"):
        DataConfig(dataset="cifar")
    with pytest.raises(ConfigError, match="unknown binarization"):
        DataConfig(binarize="sometimes")
    assert DataConfig().binarize == "dynamic"


@pytest.fixture
def broken(tmp_path, idx_dir):
    directory = tmp_path / "mnist"
    shutil.copytree(idx_dir, directory)
    return directory


def _rewrite(path, transform):
    path.write_bytes(gzip.compress(transform(gzip.decompress(path.read_bytes()))))


def test_wrong_magic_number(broken):
    _rewrite(broken / "train-images-idx3-ubyte.gz", lambda raw: b"\x00\x00\x0d\x03" + raw[4:])
    with pytest.raises(DataError, match="wrong magic number 0x00000d03"):
        data.load_idx_dataset("mnist", broken)


def test_truncated_data(broken):
    _rewrite(broken / "t10k-images-idx3-ubyte.gz", lambda raw: raw[:-100])
    with pytest.raises(DataError, match=r"truncated: .* the header promises 7840000"):
        data.load_idx_dataset("mnist", broken)


def test_truncated_gzip_stream(broken):
    path = broken / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(DataError, match="damaged or truncated"):
        data.load_idx_dataset("mnist", broken)


def test_trailing_bytes(broken):
    _rewrite(broken / "t10k-labels-idx1-ubyte.gz", lambda raw: raw + b"\x00")
    with pytest.raises(DataError, match="unexpected bytes"):
        data.load_idx_dataset("mnist", broken)


def test_wrong_image_count(broken):
    data.write_idx(broken / "t10k-images-idx3-ubyte.gz", np.zeros((9_999, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"shape \(9999, 28, 28\), expected \(10000, 28, 28\)"):
        data.load_idx_dataset("mnist", broken)


def test_label_out_of_range(broken):
    data.write_idx(broken / "t10k-labels-idx1-ubyte.gz", np.full(10_000, 12, np.uint8))
    with pytest.raises(DataError, match="out of range"):
        data.load_idx_dataset("mnist", broken)


def test_source_id_follows_the_files(tmp_path, idx_dir):
    copy = tmp_path / "mnist"
    shutil.copytree(idx_dir, copy)
    first = datafiles.source_id("mnist", tmp_path)
    assert first == datafiles.source_id("mnist", tmp_path)
    path = copy / "t10k-labels-idx1-ubyte.gz"
    os.utime(path, ns=(1, 1))
    assert datafiles.source_id("mnist", tmp_path) != first
    assert datafiles.source_id("mnist5k").startswith("sha256:")


def _publish_as(monkeypatch, name, directory):
    """Adds the MD5s of the files in `directory` to the checksums `name` published."""
    published = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in directory.iterdir()}
    monkeypatch.setitem(datafiles.MD5, name, published)


def test_files_another_dataset_published_are_refused(tmp_path, monkeypatch, idx_dir):
    """MNIST and Fashion-MNIST share a format; their published MD5s tell them apart."""
    copy = tmp_path / "files"
    shutil.copytree(idx_dir, copy)
    # Unknown files load under either name, as before.
    assert data.load_idx_dataset("mnist", copy).name == "mnist"
    assert data.load_idx_dataset("fashion-mnist", copy).name == "fashion-mnist"
    _publish_as(monkeypatch, "fashion-mnist", copy)
    with pytest.raises(DataError) as err:
        data.load_idx_dataset("mnist", copy)
    assert str(err.value) == (
        f"{copy / 'train-images-idx3-ubyte.gz'} is a fashion-mnist file, by its published MD5, "
        "not mnist; choose --dataset fashion-mnist or other files"
    )
    assert data.load_idx_dataset("fashion-mnist", copy).name == "fashion-mnist"


def test_one_foreign_file_among_four_is_refused(tmp_path, monkeypatch, idx_dir):
    copy = tmp_path / "files"
    shutil.copytree(idx_dir, copy)
    labels = copy / "t10k-labels-idx1-ubyte.gz"
    monkeypatch.setitem(
        datafiles.DEBIAN_MD5,
        "fashion-mnist",
        {labels.name: hashlib.md5(labels.read_bytes()).hexdigest()},
    )
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz is a fashion-mnist file"):
        data.load_idx_dataset("mnist", copy)


def test_the_published_checksums_tell_the_datasets_apart():
    """Every file of each table has a checksum of its own, and no checksum names two
    datasets, so a file's MD5 names at most one dataset."""
    owners: dict[str, set[str]] = {}
    for table in (datafiles.MD5, datafiles.DEBIAN_MD5):
        for name, checksums in table.items():
            assert set(checksums) <= {f"{stem}.gz" for stem, _ in datafiles.IDX_FILES.values()}
            assert all(len(md5) == 32 and int(md5, 16) >= 0 for md5 in checksums.values())
            for md5 in checksums.values():
                owners.setdefault(md5, set()).add(name)
    assert len(owners) == 12 and all(len(names) == 1 for names in owners.values())


def test_file_md5_matches_hashlib(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 1000)  # several read blocks
    assert datafiles.file_md5(path) == hashlib.md5(path.read_bytes()).hexdigest()
    assert datafiles.published_as(path) is None


def test_a_cache_that_cannot_be_written_only_costs_the_parse(tmp_path, monkeypatch):
    """The parsed digits go to the cache through `atomic.write_file`; a full disk
    there is no error, leaves no partial file, and the digits still load."""

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(datafiles, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(atomic, "_write_synced", full_disk)
    pixels, labels = data._embedded_arrays()
    assert pixels.shape == (5000, 784) and labels.shape == (5000,)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(datafiles, "cache_dir", lambda: tmp_path)
    again, _ = data._embedded_arrays()  # writes the cache this time
    assert [p.suffix for p in tmp_path.iterdir()] == [".npz"]
    assert np.array_equal(again, pixels)
