"""A download writes each file all at once: a full disk is one line and leaves no
file, and no other mirror is tried (offline: urlopen answers from memory)."""

import errno
import hashlib
import io

import pytest

from vae import atomic, download

PAYLOAD = b"\x1f\x8b" + bytes(range(256)) * 300  # any bytes; only the MD5 is checked


@pytest.fixture
def served(monkeypatch):
    """Every URL answers PAYLOAD; returns the URLs asked for."""
    asked = []

    def urlopen(url, timeout):
        asked.append(url)
        response = io.BytesIO(PAYLOAD)
        response.headers = {"Content-Length": str(len(PAYLOAD))}
        return response

    monkeypatch.setattr(download.urllib.request, "urlopen", urlopen)
    return asked


def test_a_fetched_file_is_written_whole(tmp_path, served):
    dest = tmp_path / "train-images-idx3-ubyte.gz"
    download._fetch("http://mirror/x", dest, hashlib.md5(PAYLOAD).hexdigest(), progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == [dest.name]  # no partial file beside it


def test_a_full_disk_is_one_line_and_leaves_no_file(tmp_path, served, monkeypatch):
    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_write_synced", full_disk)
    checksums = {
        f"{stem}.gz": hashlib.md5(PAYLOAD).hexdigest() for stem, _ in download.IDX_FILES.values()
    }
    with pytest.raises(atomic.DiskFullError) as error:
        download.download(
            "mnist", tmp_path, mirrors=("http://a/", "http://b/"), checksums=checksums
        )
    dest = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    assert str(error.value) == f"no space left on the device while writing {dest}"
    assert served == ["http://a/train-images-idx3-ubyte.gz"]  # the next mirror cannot help
    assert list((tmp_path / "mnist").iterdir()) == []
