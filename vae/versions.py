"""The versions of Python and of the libraries that can change a trained model
or a figure, read from package metadata without importing the libraries."""

from __future__ import annotations

import functools
import importlib.metadata
import platform

# Libraries whose version can change a model's weights: its arithmetic.
TRAINING_LIBRARIES = ("torch", "numpy")
# A figure depends on those and on the plotting library, which draws its pixels.
FIGURE_LIBRARIES = (*TRAINING_LIBRARIES, "matplotlib")


@functools.lru_cache(maxsize=4)
def _versions(libraries: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found = {"python": platform.python_version()}
    for name in libraries:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return tuple(found.items())


def library_versions(libraries: tuple[str, ...] = TRAINING_LIBRARIES) -> dict[str, str]:
    """{"python": ..., and each of `libraries`: its version}; by default the ones a
    trained model depends on (pass FIGURE_LIBRARIES for a figure's).

    Read once per process: a long-running `mkdocs serve` needs a restart to
    notice an upgraded library.
    """
    return dict(_versions(tuple(libraries)))
