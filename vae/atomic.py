"""Writing files and directories all at once or not at all.

`write_file` writes one file: the bytes go to a hidden sibling
`.NAME.PID.partial`, are flushed to disk, and `os.replace` puts it under the
name, so a reader sees the old file or the new one, never half of one.

`write_atomically` writes a directory of files the same way: into a hidden
temporary sibling directory, which then takes the place of the target. A
directory cannot be swapped with one portable call, so the old one is first
moved aside as `.NAME.*.old`, then the new one is renamed into place. A crash
between the two renames leaves no NAME; `sweep` puts the old one back.

A process killed part-way leaves only hidden `.NAME.*.partial` or `.NAME.*.old`
entries, never a half-written NAME; `sweep` removes or restores them. A full
disk raises `DiskFullError`, one line naming the path, with nothing left behind.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from vae.errors import VAEError

PARTIAL_SUFFIX = ".partial"
OLD_SUFFIX = ".old"


class DiskFullError(VAEError, OSError):
    """No space left (or quota exceeded) where a file was being written.

    It keeps the system's `errno` and `strerror`, and `filename` is the path
    being written; its message is one line naming that path.
    """

    def __str__(self) -> str:
        return f"no space left on the device while writing {self.filename}"


def _no_space(error: OSError, path: Path) -> DiskFullError | None:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(error.errno, error.strerror or os.strerror(error.errno), str(path))
    return None


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_file(path: Path, data: bytes) -> None:
    """Writes `data` to file `path`: readers see the old file or the new one.

    Raises:
        DiskFullError: the device is full; nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        _write_synced(partial, data)
        os.replace(partial, path)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise (_no_space(e, path) or e) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _replace(tmp: Path, path: Path) -> None:
    """Puts directory `tmp` under the name `path`, which exists."""
    old = path.with_name(f".{path.name}.{uuid.uuid4().hex}{OLD_SUFFIX}")
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)  # a failure, unlike a crash, leaves the old directory named
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_atomically(path: Path, files: dict[str, bytes]) -> None:
    """Writes `files` (relative names) into directory `path`: all at once or not at all.

    Raises:
        DiskFullError: the device is full; nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent))
    try:
        for name, data in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)  # names may hold a "/"
            _write_synced(tmp / name, data)
        if path.exists():
            _replace(tmp, path)
        else:
            os.rename(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise (_no_space(e, path) or e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _writer_alive(partial: Path) -> bool:
    """Whether the process that names itself in `.NAME.PID.partial` still runs."""
    pid = partial.name[: -len(PARTIAL_SUFFIX)].rpartition(".")[2]
    if not pid.isdigit() or int(pid) == os.getpid():
        # A writer in this process removes its own partial file, so one named
        # with this PID was left by an earlier process that had the same PID.
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(directory: Path, names: str = "*") -> None:
    """Cleans up after writers killed in `directory`, for the NAMEs matching the glob `names`.

    Partial directories are removed, and partial files whose writer is dead. An
    old directory is removed if its name is taken again, and put back under its
    name if a crash left none there.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return
    for leftover in sorted(directory.glob(f".{names}.*{PARTIAL_SUFFIX}")):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        elif not _writer_alive(leftover):
            leftover.unlink(missing_ok=True)
    for old in sorted(directory.glob(f".{names}.*{OLD_SUFFIX}")):
        name = old.name[1:].rsplit(".", 2)[0]  # .NAME.HEX.old -> NAME
        target = directory / name
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(old, target)
