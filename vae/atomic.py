"""Writing a directory of files all at once or not at all.

The files go into a hidden temporary sibling directory, each flushed to disk,
and that directory then takes the place of the target:

- on Linux, by one `renameat2(RENAME_EXCHANGE)` call, which swaps the two
  names atomically, so there is no moment without a directory under the name;
- elsewhere, by two renames (the old directory aside as `.NAME.*.old`, then the
  new one into place). A crash between them leaves no NAME; `sweep` puts the
  old directory back.

A process killed part-way leaves only hidden `.NAME.*.partial` or `.NAME.*.old`
directories, never a half-written NAME; `sweep` removes or restores them.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

PARTIAL_SUFFIX = ".partial"
OLD_SUFFIX = ".old"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two existing paths atomically; False where the system cannot."""
    if sys.platform != "linux":
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # the file system does not support the exchange
    raise OSError(code, os.strerror(code), str(a))


def _replace(tmp: Path, path: Path) -> None:
    """Puts directory `tmp` under the name `path`, which exists."""
    if _exchange(tmp, path):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old directory
        return
    old = path.with_name(f".{path.name}.{uuid.uuid4().hex}{OLD_SUFFIX}")
    os.rename(path, old)
    os.rename(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def write_atomically(path: Path, files: dict[str, bytes]) -> None:
    """Writes `files` (relative names) into directory `path`: all at once or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent))
    try:
        for name, data in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)  # names may hold a "/"
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if path.exists():
            _replace(tmp, path)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep(directory: Path) -> None:
    """Cleans up after writers killed in `directory`.

    Partial directories are removed. An old directory is removed if its name
    is taken again, and put back under its name if a crash left none there.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return
    for leftover in sorted(directory.glob(f".*{PARTIAL_SUFFIX}")):
        shutil.rmtree(leftover, ignore_errors=True)
    for old in sorted(directory.glob(f".*{OLD_SUFFIX}")):
        name = old.name[1:].rsplit(".", 2)[0]  # .NAME.HEX.old -> NAME
        target = directory / name
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(old, target)
