"""A checkout as the figure engine sees it: where the scripts, the package and
the caches are, which profile and device it builds for, and the figure scripts
with what each declares (the page it feeds, the models it asks for)."""

from __future__ import annotations

import ast
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vae.errors import VAEError
from vae.site.experiments import EXPERIMENTS, PROFILES, Profile

PROFILE_ENV = "VAE_PROFILE"
CACHE_ENV = "VAE_CACHE_DIR"
DEVICE_ENV = "VAE_DEVICE"
DEVICES = ("cpu", "cuda")
JOBS_ENV = "VAE_JOBS"
TIMEOUT_ENV = "VAE_TASK_TIMEOUT"
# What a site build reads: copied by the site benchmark and the tests.
CHECKOUT = ("vae", "figures", "docs", "mkdocs.yml")
# MODELS = "all": every experiment in vae/site/experiments.py, named there once.
ALL_MODELS = "all"


def profile_from_env() -> Profile:
    """The profile named by $VAE_PROFILE, "full" when it is unset.

    Raises:
        VAEError: it names no known profile.
    """
    profile = os.environ.get(PROFILE_ENV, "full") or "full"
    if profile not in PROFILES:
        raise VAEError(f"${PROFILE_ENV}={profile!r}: choose quick or full")
    return profile  # type: ignore[return-value]


def device_from_env() -> str:
    """The device the site's models train on: $VAE_DEVICE, "cpu" when unset.

    The CPU is the default so that the published figures do not depend on the
    machine that built them; the device is part of every model's cache key.

    Raises:
        VAEError: it names no known device.
    """
    device = os.environ.get(DEVICE_ENV, "cpu") or "cpu"
    if device not in DEVICES:
        raise VAEError(f"${DEVICE_ENV}={device!r}: choose cpu or cuda")
    return device


def jobs_from_env() -> int | None:
    """Worker processes at once: $VAE_JOBS, or None (one per core) when unset.

    Raises:
        VAEError: it is not a positive integer.
    """
    text = os.environ.get(JOBS_ENV, "")
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise VAEError(f"${JOBS_ENV}={text!r}: expected a positive integer")
    return int(text)


def timeout_from_env() -> float | None:
    """Seconds one task may run: $VAE_TASK_TIMEOUT, or None (decided per task) when unset.

    Raises:
        VAEError: it is not a positive number.
    """
    text = os.environ.get(TIMEOUT_ENV, "")
    if not text:
        return None
    try:
        return positive_seconds(text)
    except ValueError:
        raise VAEError(f"${TIMEOUT_ENV}={text!r}: expected a positive number of seconds") from None


def positive_seconds(text: str) -> float:
    """A positive, finite number of seconds written as `text`.

    Raises:
        ValueError: it is not one; the message says what was expected.
    """
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"expected a positive number of seconds, got {text!r}")
    return seconds


def copy_checkout(root: Path, destination: Path) -> Path:
    """Copies what a site build reads (package, scripts, pages, config) to `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in CHECKOUT:
        source = root / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)
    return destination


def syntax_error_message(error: SyntaxError, root: Path) -> str:
    """A syntax error as two lines: where it is (relative to `root`) and the line itself."""
    where = Path(error.filename or "?")
    if where.is_absolute() and where.is_relative_to(root):
        where = where.relative_to(root)
    line = f"\n    {error.text.strip()}" if error.text and error.text.strip() else ""
    return f"{where.as_posix()}, line {error.lineno}: {error.msg}{line}"


@dataclass(frozen=True)
class FigureScript:
    """A script in figures/ and what it declares at module level."""

    name: str  # the file's stem; also the namespace of its numbers
    path: Path
    page: str | None  # PAGE: the page it feeds
    models: tuple[str, ...] = ()  # MODELS: the experiments it asks for ("all" spelled out)
    error: str = ""  # why it cannot run at all (a syntax error), else empty


@dataclass(frozen=True)
class Project:
    """Where the scripts, the package and the cache of one checkout are."""

    root: Path
    profile: Profile = "full"
    cache: Path | None = None  # default: $VAE_CACHE_DIR, else ROOT/.cache/vae
    device: str = "cpu"

    @property
    def cache_dir(self) -> Path:
        if self.cache is not None:
            return self.cache
        if os.environ.get(CACHE_ENV):
            return Path(os.environ[CACHE_ENV])
        return self.root / ".cache" / "vae"

    @property
    def figures_src(self) -> Path:
        return self.root / "figures"

    @property
    def package_dir(self) -> Path:
        return self.root / "vae"

    @property
    def figures_out(self) -> Path:
        return self.cache_dir / self.profile / "figures"

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


def _declared(tree: ast.Module, name: str):
    """The literal value assigned to a module-level `name`, or None."""
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise VAEError(f"{name} must be a literal value") from None
    return value


def discover(figures_dir: Path) -> list[FigureScript]:
    """The figure scripts in a directory, by name; files starting with '_' are skipped.

    A script that does not parse is listed with its syntax error (see
    `FigureScript.error`), so that it fails alone and says where.

    Raises:
        VAEError: a script's PAGE or MODELS is not a literal of the right type.
    """
    scripts = []
    for path in sorted(Path(figures_dir).glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as e:
            error = syntax_error_message(e, Path(figures_dir).resolve().parent)
            scripts.append(FigureScript(path.stem, path, None, (), error))
            continue
        try:
            page = _declared(tree, "PAGE")
            models = _declared(tree, "MODELS") or ()
        except VAEError as e:
            raise VAEError(f"{path}: {e}") from None
        if page is not None and not isinstance(page, str):
            raise VAEError(f"{path}: PAGE must be a string")
        if models == ALL_MODELS:
            models = tuple(EXPERIMENTS)
        if not isinstance(models, (tuple, list)) or not all(isinstance(m, str) for m in models):
            raise VAEError(f'{path}: MODELS must be a tuple of experiment names, or "all"')
        scripts.append(FigureScript(path.stem, path, page, tuple(models)))
    return scripts


def select(scripts: list[FigureScript], names: list[str] | None) -> list[FigureScript]:
    """The scripts called `names` (all of them when `names` is empty or None).

    Raises:
        VAEError: a name is not a script's; the message lists the known ones.
    """
    if not names:
        return scripts
    known = {s.name for s in scripts}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise VAEError(f"unknown figure {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in scripts if s.name in names]
