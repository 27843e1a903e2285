"""The artifact cache: content-addressed trained models and code fingerprints.

A trained model is stored under a key that hashes everything that determines
it: its config, the code its training runs, the data and the library versions.
Whichever figure asks first trains it; every other figure, in this build or a
later one, loads it. Change any of those inputs and the key changes, so the
model is trained again; change nothing and it never is.

Code is fingerprinted by its syntax tree with docstrings removed, so editing a
comment or a docstring changes no key.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import functools
import hashlib
import importlib.metadata
import json
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from vae import datafiles, experiments
from vae.errors import CheckpointError

if TYPE_CHECKING:
    from vae.checkpoint import Run

PACKAGE_DIR = Path(__file__).resolve().parent
# The module whose import closure is "the code a training run runs".
TRAINING_ENTRY = "vae.train"
# Libraries whose version can change a model or a figure.
LIBRARIES = ("torch", "numpy", "matplotlib")


def source_hash(path: Path) -> str:
    """SHA-256 of a Python file's syntax tree without docstrings or comments."""
    stat = Path(path).stat()
    return _source_hash(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1024)
def _source_hash(path: str, mtime_ns: int, size: int) -> str:
    """source_hash, remembered per file version: a check of an unchanged tree parses nothing."""
    tree = ast.parse(Path(path).read_bytes(), filename=path)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def module_path(module: str, package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The file of a `vae.*` module inside `package_dir`, or None."""
    parts = module.split(".")
    if parts[0] != "vae":
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_closure(module: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every `vae.*` module that `module` imports, directly or not, itself included.

    Read from the source statically, imports inside functions included.
    """
    versions = tuple(
        (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(package_dir.glob("*.py"))
    )
    return list(_import_closure(module, package_dir, versions))


@functools.lru_cache(maxsize=64)
def _import_closure(module: str, package_dir: Path, versions: tuple) -> tuple[str, ...]:
    """import_closure, remembered while no file of the package changes."""
    seen: set[str] = set()
    stack = [module]
    while stack:
        name = stack.pop()
        path = module_path(name, package_dir)
        if name in seen or path is None:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                stack += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                stack.append(node.module)
                stack += [f"{node.module}.{alias.name}" for alias in node.names]
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=1)
def _library_versions() -> tuple[tuple[str, str], ...]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return tuple(versions.items())


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries in LIBRARIES, without importing them.

    Read once per process: a long-running `mkdocs serve` needs a restart to
    notice an upgraded library.
    """
    return dict(_library_versions())


def model_key(name: str, profile: experiments.Profile, package_dir: Path = PACKAGE_DIR) -> str:
    """The cache key of an experiment's trained model: a SHA-256 hex digest."""
    config = experiments.get(name).run_config(profile)
    code = {
        m: source_hash(module_path(m, package_dir))  # type: ignore[arg-type]
        for m in import_closure(TRAINING_ENTRY, package_dir)
    }
    material = {
        "config": config.to_dict(),
        "code": code,
        "data": datafiles.source_id(config.data.dataset),
        "versions": library_versions(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes, held for the `with` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ModelStore:
    """Trained models under ROOT/NAME-KEY/, each a run directory (see vae.checkpoint)."""

    def __init__(
        self,
        root: Path,
        profile: experiments.Profile = "full",
        package_dir: Path = PACKAGE_DIR,
    ) -> None:
        self.root = Path(root)
        self.profile = profile
        self.package_dir = package_dir

    def path(self, name: str, key: str) -> Path:
        """Where the model `name` with cache key `key` lives."""
        return self.root / f"{name}-{key[:20]}"

    def get(self, name: str, progress: bool | None = None) -> tuple[Run, str, bool]:
        """The trained model `name`, trained now if no valid copy is cached.

        A copy that fails to load (damaged or incomplete) is trained again.

        Returns:
            The run, its cache key, and whether it was trained by this call.
        """
        from vae.checkpoint import load_run, save_run
        from vae.data import load_dataset
        from vae.train import train

        key = model_key(name, self.profile, self.package_dir)
        path = self.path(name, key)
        with file_lock(self.root / ".locks" / f"{name}-{key[:20]}.lock"):
            if path.exists():
                try:
                    return load_run(path), key, False
                except CheckpointError:
                    pass  # damaged: fall through and train again
            config = experiments.get(name).run_config(self.profile)
            dataset = load_dataset(config.data.dataset)
            model, history = train(config, dataset, "cpu", progress=progress)
            save_run(path, model, config, history, dataset.fingerprint, {"experiment": name})
            return load_run(path), key, True
