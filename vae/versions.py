"""The versions of Python and of the libraries that can change a trained model
or a figure, read from package metadata without importing the libraries."""

from __future__ import annotations

import functools
import importlib.metadata
import platform

# Libraries whose version can change a model's weights or a figure's pixels.
LIBRARIES = ("torch", "numpy", "matplotlib")


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return tuple(found.items())


def library_versions() -> dict[str, str]:
    """{"python": ..., "torch": ..., "numpy": ..., "matplotlib": ...}.

    Read once per process: a long-running `mkdocs serve` needs a restart to
    notice an upgraded library.
    """
    return dict(_versions())
