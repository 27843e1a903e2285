"""The figure pipeline: rerun exactly the figure scripts whose inputs changed.

Each script in `figures/` defines `make(ctx)` and, optionally, `PAGE`, the page
it feeds. The pipeline runs a script in a fresh worker process and records what
it depended on:

- the script itself and every `vae` module it imported (syntax-tree hashes, so
  comments and docstrings do not count);
- the cache key of every trained model it asked for (see `vae.artifacts`);
- every dataset it read, and the versions of torch, numpy and matplotlib.

A later build compares that record with the tree as it is now and reruns a
script only if something in it changed, or if one of its outputs is missing
or damaged. Outputs and the record are written as one directory, atomically.

This module imports neither torch nor matplotlib, so checking that nothing is
stale is cheap; the workers import what the scripts need.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vae import artifacts, datafiles
from vae.atomic import PARTIAL_SUFFIX, write_atomically
from vae.errors import VAEError
from vae.experiments import PROFILES, Profile

MANIFEST = "_manifest.json"
NUMBERS = "numbers.json"
DEFAULT_TIMEOUT_S = 900.0
POLL_S = 0.05


PROFILE_ENV = "VAE_PROFILE"
CACHE_ENV = "VAE_CACHE_DIR"


def profile_from_env() -> Profile:
    """The profile named by $VAE_PROFILE, "full" when it is unset.

    Raises:
        VAEError: it names no known profile.
    """
    profile = os.environ.get(PROFILE_ENV, "full") or "full"
    if profile not in PROFILES:
        raise VAEError(f"${PROFILE_ENV}={profile!r}: choose quick or full")
    return profile  # type: ignore[return-value]


@dataclass(frozen=True)
class FigureScript:
    """A script in figures/ and the page it says it feeds."""

    name: str  # the file's stem; also the namespace of its numbers
    path: Path
    page: str | None  # value of the module-level PAGE string, if any


@dataclass
class FigureResult:
    """What happened to one figure in one build."""

    name: str
    status: str  # "cached", "ran" or "failed"
    seconds: float = 0.0
    reason: str = ""  # why it ran, or why it failed
    error: str = ""  # the traceback of a failure
    trained: list[str] = field(default_factory=list)  # models this run had to train


@dataclass
class BuildReport:
    """The results of a build and where its outputs are."""

    results: list[FigureResult]
    figures_dir: Path  # holds one directory of outputs per figure
    seconds: float

    @property
    def failed(self) -> list[FigureResult]:
        """The figures whose script failed."""
        return [r for r in self.results if r.status == "failed"]

    def numbers(self) -> dict[str, dict[str, Any]]:
        """Every figure's numbers, by figure name."""
        out = {}
        for result in self.results:
            path = self.figures_dir / result.name / NUMBERS
            if path.is_file():
                out[result.name] = json.loads(path.read_text())
        return out


@dataclass(frozen=True)
class Project:
    """Where the scripts, the package and the cache of one checkout are."""

    root: Path
    profile: Profile = "full"
    cache: Path | None = None  # default: $VAE_CACHE_DIR, else ROOT/.cache/vae

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


def discover(figures_dir: Path) -> list[FigureScript]:
    """The figure scripts in a directory, by name; files starting with '_' are skipped."""
    scripts = []
    for path in sorted(figures_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
        page = None
        for node in ast.parse(path.read_bytes()).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "PAGE" for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                page = str(node.value.value)
        scripts.append(FigureScript(path.stem, path, page))
    return scripts


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    """The fingerprint of a file a figure read: syntax tree for Python, else bytes."""
    if path.suffix == ".py":
        return artifacts.source_hash(path)
    return _sha256(path.read_bytes())


def stale_reason(script: FigureScript, project: Project) -> str | None:
    """Why `script` must run again, or None if its cached outputs are current."""
    out = project.figures_out / script.name
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except FileNotFoundError:
        return "never built"
    except (OSError, ValueError):
        return "its record is damaged"
    if manifest.get("script") != artifacts.source_hash(script.path):
        return "script changed"
    if manifest.get("versions") != artifacts.library_versions():
        return "library versions changed"
    for module, digest in manifest.get("modules", {}).items():
        path = artifacts.module_path(module, project.package_dir)
        if path is None or artifacts.source_hash(path) != digest:
            return f"{module} changed"
    for relative, digest in manifest.get("files", {}).items():
        path = project.root / relative
        if not path.is_file() or file_hash(path) != digest:
            return f"{relative} changed"
    for name, key in manifest.get("models", {}).items():
        try:
            current = artifacts.model_key(name, project.profile, project.package_dir)
        except VAEError:
            return f"experiment {name} is gone"
        if current != key:
            return f"model {name} changed"
    for name, source in manifest.get("data", {}).items():
        try:
            if datafiles.source_id(name) != source:
                return f"dataset {name} changed"
        except VAEError:
            return f"dataset {name} is gone"
    for filename, digest in manifest.get("outputs", {}).items():
        try:
            if _sha256((out / filename).read_bytes()) != digest:
                return f"output {filename} is damaged"
        except OSError:
            return f"output {filename} is missing"
    return None


# -- inside a worker ------------------------------------------------------------


class FigureContext:
    """What a figure script's `make(ctx)` receives: models, data and a place to save."""

    def __init__(self, script: FigureScript, project: Project) -> None:
        self.name = script.name
        self.profile = project.profile
        self.root = project.root
        self._store = artifacts.ModelStore(project.models_dir, project.profile, project.package_dir)
        self.files: dict[str, bytes] = {}
        self.numbers: dict[str, Any] = {}
        self.models: dict[str, str] = {}
        self.datasets: dict[str, str] = {}
        self.trained: list[str] = []
        self.files_read: dict[str, str] = {}

    def depend_on(self, path: Path) -> None:
        """Records a file the outputs depend on that is not a Python import.

        Python files are compared by syntax tree, others byte for byte.
        """
        path = Path(path).resolve()
        self.files_read[path.relative_to(self.root.resolve()).as_posix()] = file_hash(path)

    def model(self, name: str):
        """The trained model of experiment `name` (a `vae.checkpoint.Run`)."""
        run, key, trained = self._store.get(name, progress=False)
        self.models[name] = key
        if trained:
            self.trained.append(name)
        return run

    def dataset(self, name: str = "mnist5k"):
        """A dataset by name (a `vae.data.Dataset`)."""
        from vae.data import load_dataset

        self.datasets[name] = datafiles.source_id(name)
        return load_dataset(name)

    def save(self, filename: str, data: bytes) -> None:
        """Saves raw bytes as output `filename`."""
        if "/" in filename or filename.startswith((".", "_")) or filename == NUMBERS:
            raise VAEError(f"{self.name}: bad output name {filename!r}")
        self.files[filename] = data

    def number(self, key: str, value: float | int | str) -> None:
        """Records a number the prose quotes as {{ NAME.KEY }}."""
        if not key.isidentifier():
            raise VAEError(f"{self.name}: number key {key!r} must be an identifier")
        if isinstance(value, float) and value != value:
            raise VAEError(f"{self.name}: number {key} is NaN")
        self.numbers[key] = value


def _project_modules(package_dir: Path) -> dict[str, str]:
    """Hashes of the `vae` modules this process has imported from `package_dir`."""
    package_dir = package_dir.resolve()
    found = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (name == "vae" or name.startswith("vae.")) and file:
            path = Path(file).resolve()
            if path.is_relative_to(package_dir):
                found[name] = artifacts.source_hash(path)
    return found


def _worker(request: dict[str, Any]) -> dict[str, Any]:
    """Runs one script in this process; returns what the parent needs to know."""
    script = FigureScript(request["name"], Path(request["script"]), request["page"])
    project = Project(Path(request["root"]), request["profile"], Path(request["cache"]))
    try:
        ctx = FigureContext(script, project)
        spec = importlib.util.spec_from_file_location(f"_figure_{script.name}", script.path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        if not callable(getattr(module, "make", None)):
            raise VAEError(f"{script.path} defines no make(ctx) function")
        module.make(ctx)
        files = dict(ctx.files)
        if ctx.numbers:
            files[NUMBERS] = (json.dumps(ctx.numbers, indent=2, sort_keys=True) + "\n").encode()
        manifest = {
            "script": artifacts.source_hash(script.path),
            "modules": _project_modules(project.package_dir),
            "models": ctx.models,
            "data": ctx.datasets,
            "files": ctx.files_read,
            "versions": artifacts.library_versions(),
            "profile": project.profile,
            "outputs": {name: _sha256(data) for name, data in files.items()},
        }
        files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        write_atomically(project.figures_out / script.name, files)
        return {"status": "ran", "trained": ctx.trained}
    except BaseException:
        return {"status": "failed", "error": traceback.format_exc()}


def _worker_main(request_path: str) -> None:
    """Entry point of a worker process: `python -m vae.pipeline REQUEST.json`."""
    request = json.loads(Path(request_path).read_text())
    result = _worker(request)
    write_atomically(Path(request["result_dir"]), {"result.json": json.dumps(result).encode()})


def _start_worker(script: FigureScript, project: Project, scratch: Path) -> subprocess.Popen:
    """Starts a fresh Python process for `script`; its output goes to a log file."""
    scratch.mkdir(parents=True, exist_ok=True)
    request = {
        "name": script.name,
        "script": str(script.path),
        "page": script.page,
        "root": str(project.root),
        "profile": project.profile,
        "cache": str(project.cache_dir),
        "result_dir": str(scratch / "result"),
    }
    (scratch / "request.json").write_text(json.dumps(request))
    env = dict(os.environ)
    # One math thread per worker: workers run side by side, and a model trained
    # with a fixed thread count is bit-for-bit the same whatever --jobs was.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["MPLBACKEND"] = "Agg"
    # The checkout's own package, not an installed copy, is what the script and
    # the record of its imports must see.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project.root), env.get("PYTHONPATH")]))
    with open(scratch / "log.txt", "wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "vae.pipeline", str(scratch / "request.json")],
            cwd=project.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def _collect(process: subprocess.Popen, scratch: Path) -> dict[str, Any]:
    """The result a finished worker left, or a failure built from its log."""
    try:
        return json.loads((scratch / "result" / "result.json").read_text())
    except (OSError, ValueError):
        log_text = (scratch / "log.txt").read_text(errors="replace")[-4000:]
        return {
            "status": "failed",
            "error": f"worker exited with status {process.returncode}\n{log_text}",
        }


# -- the scheduler ----------------------------------------------------------------


def _clean_partials(*dirs: Path) -> None:
    """Removes what killed builds left behind."""
    for directory in dirs:
        if directory.is_dir():
            for path in directory.glob(f".*{PARTIAL_SUFFIX}"):
                shutil.rmtree(path, ignore_errors=True)


def build(
    project: Project,
    only: list[str] | None = None,
    force: bool = False,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    log: Callable[[str], None] = print,
) -> BuildReport:
    """Brings every figure's outputs up to date.

    Args:
        project: the checkout and profile to build.
        only: names of the figures to consider (default: all).
        force: rerun even figures whose outputs are current.
        jobs: worker processes at once (default: the number of CPU cores).
        timeout: seconds one figure may run before its worker is killed.
        log: receives one line per figure and a summary.

    Returns:
        The report; a failed figure is in it, not raised.

    Raises:
        VAEError: a bad argument (unknown profile or figure name, jobs < 1).
    """
    if project.profile not in PROFILES:
        raise VAEError(f"unknown profile {project.profile!r}; choose quick or full")
    started = time.perf_counter()
    scripts = discover(project.figures_src)
    if only:
        known = {s.name for s in scripts}
        unknown = [n for n in only if n not in known]
        if unknown:
            raise VAEError(
                f"unknown figure {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        scripts = [s for s in scripts if s.name in only]
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise VAEError(f"jobs must be >= 1, got {jobs}")
    _clean_partials(project.figures_out, project.models_dir)

    results: dict[str, FigureResult] = {}
    pending: list[tuple[FigureScript, str]] = []
    for script in scripts:
        reason = "forced" if force else stale_reason(script, project)
        if reason is None:
            results[script.name] = FigureResult(script.name, "cached")
            log(f"  cached  {script.name}")
        else:
            pending.append((script, reason))

    scratch_root = Path(tempfile.mkdtemp(prefix="vae-figures-"))
    running: dict[str, tuple[subprocess.Popen, Path, float, str]] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                script, reason = pending.pop(0)
                scratch = scratch_root / script.name
                process = _start_worker(script, project, scratch)
                running[script.name] = (process, scratch, time.perf_counter(), reason)
                log(f"  running {script.name} ({reason})")
            for name, (process, scratch, t0, reason) in list(running.items()):
                elapsed = time.perf_counter() - t0
                if process.poll() is None:
                    if elapsed <= timeout:
                        continue
                    process.kill()
                    process.wait()
                    message = {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
                else:
                    message = _collect(process, scratch)
                del running[name]
                result = FigureResult(
                    name,
                    message["status"],
                    elapsed,
                    reason,
                    message.get("error", ""),
                    message.get("trained", []),
                )
                results[name] = result
                if result.status == "ran":
                    trained = f"; trained {', '.join(result.trained)}" if result.trained else ""
                    log(f"  ran     {name}  {elapsed:.1f} s{trained}")
                else:
                    log(f"  FAILED  {name}  {elapsed:.1f} s")
            time.sleep(POLL_S)
    finally:
        for process, _, _, _ in running.values():
            process.kill()
            process.wait()
        shutil.rmtree(scratch_root, ignore_errors=True)

    ordered = [results[s.name] for s in scripts]
    seconds = time.perf_counter() - started
    counts = {k: sum(r.status == k for r in ordered) for k in ("ran", "cached", "failed")}
    log(
        f"figures ({project.profile}): {counts['ran']} ran, {counts['cached']} cached, "
        f"{counts['failed']} failed in {seconds:.1f} s"
    )
    return BuildReport(ordered, project.figures_out, seconds)


if __name__ == "__main__":
    _worker_main(sys.argv[1])
