"""Downloads, offline: a local HTTP server on 127.0.0.1 serves generated IDX files."""

import hashlib

import pytest

from vae import download
from vae.errors import DataError
from vae.site.browser import serve

from .conftest import make_idx_files


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Serves two mirrors: /good/ with valid files and /bad/ with altered ones."""
    root = tmp_path_factory.mktemp("www")
    make_idx_files(root / "good")
    make_idx_files(root / "bad", seed=1)
    checksums = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in (root / "good").iterdir()}
    with serve(root) as base:
        yield base.rstrip("/"), checksums


def test_download_verifies_and_keeps_the_files(tmp_path, server):
    base, checksums = server
    directory = download.download(
        "mnist", tmp_path, mirrors=(f"{base}/good/",), checksums=checksums, progress=False
    )
    assert directory == tmp_path / "mnist"
    assert sorted(p.name for p in directory.iterdir()) == sorted(checksums)
    # A second call finds every file in place and fetches nothing (no mirror reachable).
    download.download("mnist", tmp_path, mirrors=("http://127.0.0.1:9/",), checksums=checksums)


def test_checksum_mismatch_leaves_no_file(tmp_path, server):
    base, checksums = server
    with pytest.raises(DataError, match="checksum mismatch") as err:
        download.download(
            "mnist", tmp_path, mirrors=(f"{base}/bad/",), checksums=checksums, progress=False
        )
    assert "\n" not in str(err.value)
    assert list((tmp_path / "mnist").iterdir()) == []


def test_falls_back_to_the_next_mirror(tmp_path, server):
    base, checksums = server
    download.download(
        "mnist",
        tmp_path,
        mirrors=(f"{base}/missing/", f"{base}/bad/", f"{base}/good/"),
        checksums=checksums,
        progress=False,
    )
    assert len(list((tmp_path / "mnist").iterdir())) == 4


def test_unreachable_mirror_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match=r"could not download train-images-idx3-ubyte\.gz"):
        download.download("mnist", tmp_path, mirrors=("http://127.0.0.1:9/",), progress=False)


def test_unknown_dataset(tmp_path):
    with pytest.raises(DataError, match="downloadable: mnist, fashion-mnist"):
        download.download("svhn", tmp_path)


def test_published_checksums_cover_every_file():
    for name in ("mnist", "fashion-mnist"):
        assert len(download.MD5[name]) == 4
        assert all(len(md5) == 32 for md5 in download.MD5[name].values())
