"""Writing a directory of files all at once or not at all.

The files go into a hidden temporary sibling directory, each flushed to disk,
and the directory is then renamed into place. A process killed part-way leaves
only the hidden `.NAME.*.partial` directory, never a half-written NAME.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


def write_atomically(path: Path, files: dict[str, bytes]) -> None:
    """Writes `files` into directory `path`, replacing it as a whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent))
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if path.exists():
            old = path.with_name(f".{path.name}.{uuid.uuid4().hex}.old")
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
