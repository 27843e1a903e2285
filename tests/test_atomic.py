"""Files and directories written all at once: a reader sees the old contents or
the new, a failure leaves the old ones and nothing beside them, a full disk is
one line naming the path, and `sweep` cleans up after writers that were killed."""

import errno
import os
import re
import subprocess
import sys
import threading

import pytest

from vae import atomic
from vae.atomic import DiskFullError, sweep, write_atomically, write_file

from .conftest import FullDiskFile


def contents(path):
    return {p.name: p.read_bytes() for p in path.iterdir()}


def names(path):
    return sorted(p.name for p in path.iterdir())


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# -- write_file ---------------------------------------------------------------


def test_write_file_replaces_the_file_and_leaves_nothing_beside_it(tmp_path):
    target = tmp_path / "sub" / "page.html"
    write_file(target, b"old")
    write_file(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert names(target.parent) == ["page.html"]


def test_while_the_new_bytes_are_written_the_name_holds_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "page.html"
    write_file(target, b"old " * 1000)
    seen = []
    real_fsync = os.fsync

    def watching(fd):
        seen.append(target.read_bytes())  # the new bytes are written, not yet in place
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", watching)
    write_file(target, b"new " * 2000)
    assert seen == [b"old " * 1000]
    assert target.read_bytes() == b"new " * 2000


def test_a_reader_never_sees_half_a_file(tmp_path):
    target = tmp_path / "page.html"
    versions = [b"a" * 300_000, b"b" * 500_000]
    write_file(target, versions[0])
    torn = []
    done = threading.Event()

    def read():
        while not done.is_set():
            data = target.read_bytes()
            if data not in versions:
                torn.append(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(60):
            write_file(target, versions[i % 2])
    finally:
        done.set()
        reader.join()
    assert torn == []


@pytest.mark.parametrize("exists", [True, False], ids=["over an old file", "a new file"])
def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path, monkeypatch, exists):
    target = tmp_path / "page.html"
    if exists:
        write_file(target, b"old")

    def failing_replace(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="Input/output error") as raised:
        write_file(target, b"new")
    assert not isinstance(raised.value, DiskFullError)
    assert names(tmp_path) == (["page.html"] if exists else [])
    if exists:
        assert target.read_bytes() == b"old"


def test_an_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_file(tmp_path / "page.html", b"new")
    assert names(tmp_path) == []


# -- a full disk ----------------------------------------------------------------


def full_disk(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_one_line_naming_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "page.html"
    write_file(target, b"old")
    monkeypatch.setattr(atomic.os, "fsync", full_disk)
    with pytest.raises(DiskFullError) as raised:
        write_file(target, b"new")
    error = raised.value
    assert str(error) == f"no space left on the device while writing {target}"
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert error.strerror == os.strerror(errno.ENOSPC) and error.filename == str(target)
    assert error.__cause__ is None and error.__suppress_context__  # no chained traceback
    assert contents(tmp_path) == {"page.html": b"old"}


def test_a_full_disk_while_writing_a_directory_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "run"
    write_atomically(target, {"a.txt": b"old"})

    monkeypatch.setattr(atomic, "open", FullDiskFile, raising=False)
    message = f"no space left on the device while writing {target}"
    with pytest.raises(DiskFullError, match=f"^{re.escape(message)}$"):
        write_atomically(target, {"a.txt": b"new", "b.txt": b"new"})
    assert names(tmp_path) == ["run"] and contents(target) == {"a.txt": b"old"}


# -- write_atomically -------------------------------------------------------------


def test_a_directory_is_replaced_whole_with_nested_names(tmp_path):
    target = tmp_path / "out"
    write_atomically(target, {"a.txt": b"1"})
    write_atomically(target, {"b.txt": b"2", "sub/c.txt": b"3"})
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.txt")) == [
        "b.txt",
        "sub/c.txt",
    ]
    assert names(tmp_path) == ["out"]


def test_a_failed_second_rename_puts_the_old_directory_back_at_once(tmp_path, monkeypatch):
    target = tmp_path / "out"
    write_atomically(target, {"a.txt": b"old"})
    real_rename = os.rename
    calls = []

    def failing_second_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError(errno.EIO, "the new directory could not be renamed")
        real_rename(src, dst)

    monkeypatch.setattr(atomic.os, "rename", failing_second_rename)
    with pytest.raises(OSError, match="could not be renamed"):
        write_atomically(target, {"a.txt": b"new"})
    assert names(tmp_path) == ["out"] and contents(target) == {"a.txt": b"old"}


CRASH_BETWEEN_THE_RENAMES = """
import os, sys
from vae import atomic
real_rename, calls = os.rename, []
def rename(src, dst):
    calls.append(src)
    if len(calls) == 2:
        os._exit(9)  # killed: no handler runs
    real_rename(src, dst)
atomic.os.rename = rename
atomic.write_atomically(sys.argv[1], {"a.txt": b"new"})
"""


def test_a_crash_between_the_two_renames_is_repaired_by_sweep(tmp_path):
    target = tmp_path / "out"
    write_atomically(target, {"a.txt": b"old"})
    crashed = subprocess.run([sys.executable, "-c", CRASH_BETWEEN_THE_RENAMES, str(target)])
    assert crashed.returncode == 9
    assert not target.exists()  # the window: the old copy sits aside as .out.*.old
    assert any(name.startswith(".out.") and name.endswith(".old") for name in names(tmp_path))
    sweep(tmp_path)
    assert names(tmp_path) == ["out"] and contents(target) == {"a.txt": b"old"}


# -- sweep ------------------------------------------------------------------------


def test_sweep_removes_dead_writers_partial_files_and_keeps_a_live_writers(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for pid in (dead_pid(), live.pid, os.getpid()):
            (tmp_path / f".page.html.{pid}.partial").write_bytes(b"half")
        sweep(tmp_path)
        # A partial file named with this process's PID was left by an earlier
        # process that had the PID: a writer here removes its own.
        assert names(tmp_path) == [f".page.html.{live.pid}.partial"]
    finally:
        live.kill()
        live.wait()
    sweep(tmp_path)
    assert names(tmp_path) == []


def test_sweep_removes_partial_directories_and_old_copies_whose_name_is_taken(tmp_path):
    write_atomically(tmp_path / "out", {"a.txt": b"current"})
    (tmp_path / ".out.k3j2.partial").mkdir()
    (tmp_path / ".out.abcd.old").mkdir()
    sweep(tmp_path)
    assert names(tmp_path) == ["out"] and contents(tmp_path / "out") == {"a.txt": b"current"}


def test_sweep_restores_an_old_directory_whose_name_is_missing(tmp_path):
    (tmp_path / ".out.abcd.old").mkdir()
    (tmp_path / ".out.abcd.old" / "a.txt").write_bytes(b"old")
    sweep(tmp_path)
    assert names(tmp_path) == ["out"] and contents(tmp_path / "out") == {"a.txt": b"old"}


def test_sweep_touches_only_the_names_it_is_given(tmp_path):
    pid = dead_pid()
    for name in ("page.html", "notes.txt"):
        (tmp_path / f".{name}.{pid}.partial").write_bytes(b"half")
    sweep(tmp_path, names="*.html")
    assert names(tmp_path) == [f".notes.txt.{pid}.partial"]


def test_sweep_of_a_missing_directory_does_nothing(tmp_path):
    sweep(tmp_path / "absent")
    assert not (tmp_path / "absent").exists()
