"""Directories written all at once: a crash at any step leaves the old or the
new contents under the name, never nothing, once `sweep` has run."""

import os

import pytest

from vae import atomic
from vae.atomic import sweep, write_atomically


def contents(path):
    return {p.name: p.read_bytes() for p in path.iterdir()}


def test_replace_and_nested_names(tmp_path):
    target = tmp_path / "out"
    write_atomically(target, {"a.txt": b"1"})
    write_atomically(target, {"b.txt": b"2", "sub/c.txt": b"3"})
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.txt")) == [
        "b.txt",
        "sub/c.txt",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing left beside it


def test_the_exchange_leaves_no_moment_without_the_name(tmp_path, monkeypatch):
    """Where the system swaps the two names in one call, there is no window at all."""
    target = tmp_path / "out"
    write_atomically(target, {"a.txt": b"old"})
    if not atomic._exchange(tmp_path / "out", tmp_path / "out"):
        pytest.skip("this file system cannot exchange names atomically")
    seen = []
    real = atomic._exchange

    def watching(a, b):
        seen.append(target.is_dir())  # just before the swap
        done = real(a, b)
        seen.append(target.is_dir())  # just after it
        return done

    monkeypatch.setattr(atomic, "_exchange", watching)
    monkeypatch.setattr(atomic.shutil, "rmtree", lambda *a, **k: (_ for _ in ()).throw(OSError))
    with pytest.raises(OSError):  # a crash right after the swap, before the clean-up
        write_atomically(target, {"a.txt": b"new"})
    assert seen == [True, True]
    assert contents(target) == {"a.txt": b"new"}
    monkeypatch.undo()
    sweep(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_crash_between_the_two_renames_is_repaired_by_sweep(tmp_path, monkeypatch):
    """Where only plain renames exist: fail after the old directory moved aside."""
    target = tmp_path / "out"
    write_atomically(target, {"a.txt": b"old"})
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    real_rename = os.rename
    calls = []

    def failing_second_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("power cut")
        real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", failing_second_rename)
    with pytest.raises(OSError, match="power cut"):
        write_atomically(target, {"a.txt": b"new"})
    monkeypatch.undo()
    assert not target.exists()  # the window: the old copy sits aside as .out.*.old
    assert any(p.name.endswith(".old") for p in tmp_path.iterdir())
    sweep(tmp_path)
    assert contents(target) == {"a.txt": b"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_sweep_removes_partials_and_stale_old_copies(tmp_path):
    write_atomically(tmp_path / "out", {"a.txt": b"current"})
    (tmp_path / ".out.1234.partial").mkdir()
    (tmp_path / ".out.abcd.old").mkdir()
    sweep(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert contents(tmp_path / "out") == {"a.txt": b"current"}
