"""The worker side of the figure engine: one task in a process of its own.

`start` runs one task the scheduler hands out in a new process, which leaves
`result.json` in the directory the request names (read it with `collect`):

- a *model* task trains an experiment and puts it in the model store;
- a *figure* task runs a script's `make(ctx)` with a `FigureContext`, then
  writes its outputs and its record (what it depended on) as one directory.

Every task runs in a fresh process, so that what one script imports or changes
cannot leak into the next and the record of the modules it imported is its own.
Importing torch and matplotlib costs such a process about 2.5 s, more than many
figures take to draw, so where the platform allows it the processes are forked
from `multiprocessing`'s fork server, which imports those libraries once
(`PRELOADED`, third-party only: the `vae` modules a task uses are imported by
the task itself). `VAE_WARM_WORKERS=0` starts a new interpreter per task
instead (multiprocessing's "spawn"); either way the task process imports
this module by name and runs `run_task`, so a figure's record names the same
modules. `python -m vae.site.worker REQUEST.json` runs one task in the
foreground, for debugging.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import traceback
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from vae.atomic import DiskFullError, write_atomically
from vae.errors import VAEError
from vae.site import fingerprint
from vae.site.context import FigureContext
from vae.site.fingerprint import source_hash
from vae.site.project import FigureScript, Project, syntax_error_message
from vae.site.store import ModelStore
from vae.versions import FIGURE_LIBRARIES, library_versions

MANIFEST = "_manifest.json"
# Set to 1 (by the site benchmark) to count each task's matrix-product FLOPs.
COUNT_FLOPS_ENV = "VAE_COUNT_FLOPS"
WARM_ENV = "VAE_WARM_WORKERS"  # 0: a new interpreter per task
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# What every task imports anyway; the fork server imports it once. torch.optim
# imports torch._dynamo (and sympy with it) at an optimizer's first step: about
# a second that every training task would otherwise pay again.
PRELOADED = (
    "numpy",
    "torch",
    "torch._dynamo",
    "matplotlib.pyplot",
    "safetensors.torch",
    "tqdm.auto",
)


def _snapshot(package_dir: Path) -> dict[Path, str]:
    """Hashes of every module of the package as it is now, before a script runs.

    The record must describe the code that ran: a file edited while the script
    runs then reads as changed, and the next build reruns the figure.
    """
    hashes = {}
    for path in package_dir.rglob("*.py"):
        with contextlib.suppress(SyntaxError):  # a module that fails to parse is never imported
            hashes[path.resolve()] = source_hash(path)
    return hashes


def _project_modules(package_dir: Path, snapshot: dict[Path, str]) -> dict[str, str]:
    """The `vae` modules this process imported from `package_dir`, with their hashes."""
    package_dir = package_dir.resolve()
    found = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if (name == "vae" or name.startswith("vae.")) and file:
            path = Path(file).resolve()
            if path.is_relative_to(package_dir):
                found[name] = snapshot.get(path) or source_hash(path)
    return found


def run_figure(script: FigureScript, project: Project) -> dict[str, Any]:
    """Runs one script and writes its outputs and record; returns the result."""
    ctx = FigureContext(script, project)
    script_hash = source_hash(script.path)
    snapshot = _snapshot(project.package_dir)
    spec = importlib.util.spec_from_file_location(f"_figure_{script.name}", script.path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    if not callable(getattr(module, "make", None)):
        raise VAEError(f"{script.path} defines no make(ctx) function")
    module.make(ctx)
    files = ctx.outputs()
    manifest = {
        "script": script_hash,
        "modules": _project_modules(project.package_dir, snapshot),
        "models": ctx.models,
        "data": ctx.datasets,
        "files": ctx.files_read,
        "versions": library_versions(FIGURE_LIBRARIES),
        "profile": project.profile,
        "outputs": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    write_atomically(project.figures_out / script.name, files)
    return {"status": "ran"}


def run_model(name: str, project: Project) -> dict[str, Any]:
    """Trains experiment `name` into the store, unless another process already has."""
    from vae.data import load_dataset
    from vae.site import experiments
    from vae.train import train

    store = ModelStore(project.models_dir, project.profile, project.package_dir, project.device)
    with store.lock(name):
        if store.has(name):
            return {"status": "cached"}
        config = experiments.get(name).run_config(project.profile, project.device)
        dataset = load_dataset(config.data.dataset)
        model, history = train(config, dataset, project.device, progress=False)
        store.save(name, model, config, history, dataset.fingerprint)
    return {"status": "ran"}


def write_request(
    kind: str, name: str, script: FigureScript | None, project: Project, scratch: Path
) -> Path:
    """Writes the request for one task ("model" or "figure") into `scratch`, where its
    log and result will be too (read the result with `collect`); returns its path."""
    scratch.mkdir(parents=True, exist_ok=True)
    request = {
        "kind": kind,
        "name": name,
        "script": str(script.path) if script else None,
        "page": script.page if script else None,
        "models": list(script.models) if script else [],
        "root": str(project.root),
        "profile": project.profile,
        "cache": str(project.cache_dir),
        "device": project.device,
        "result_dir": str(scratch / "result"),
        # What this process has parsed of the code the task will import.
        "facts": fingerprint.known(
            [*sorted(project.package_dir.rglob("*.py")), *([script.path] if script else [])]
        ),
    }
    path = scratch / "request.json"
    path.write_text(json.dumps(request))
    return path


def collect(returncode: int | None, scratch: Path) -> dict[str, Any]:
    """The result a finished worker left, or a failure built from its log."""
    try:
        return json.loads((scratch / "result" / "result.json").read_text())
    except (OSError, ValueError):
        try:
            log_text = (scratch / "log.txt").read_text(errors="replace")[-4000:]
        except OSError:  # it ended before it could open its log
            log_text = ""
        return {
            "status": "failed",
            "error": f"worker exited with status {returncode}\n{log_text}",
        }


def _counting_flops():
    """A context that counts the matrix products' FLOPs when $VAE_COUNT_FLOPS is 1."""
    if os.environ.get(COUNT_FLOPS_ENV) != "1":
        return contextlib.nullcontext(None)
    from torch.utils.flop_counter import FlopCounterMode

    return FlopCounterMode(display=False)


def _failure(error: BaseException, root: Path) -> dict[str, Any]:
    """The result of a task that raised `error`: its traceback, but a full disk in one
    line (the scheduler stops the build on it) and a syntax error in two."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        if not isinstance(error, DiskFullError):
            error = DiskFullError(error.errno, error.strerror, error.filename or "a file")
        return {"status": "failed", "error": str(error), "disk_full": True}
    if isinstance(error, SyntaxError):
        return {"status": "failed", "error": syntax_error_message(error, root)}
    return {"status": "failed", "error": traceback.format_exc()}


def main(request_path: str) -> None:
    """Runs the task a request file describes and leaves result.json beside it."""
    request = json.loads(Path(request_path).read_text())
    fingerprint.remember(request.get("facts", []))
    project = Project(
        Path(request["root"]), request["profile"], Path(request["cache"]), request["device"]
    )
    try:
        with _counting_flops() as counter:
            if request["kind"] == "model":
                result = run_model(request["name"], project)
            else:
                script = FigureScript(
                    request["name"],
                    Path(request["script"]),
                    request["page"],
                    tuple(request["models"]),
                )
                result = run_figure(script, project)
        if counter is not None:
            result["flops"] = counter.get_total_flops()
    except BaseException as e:  # the result says what went wrong, whatever it was
        result = _failure(e, project.root)
    write_atomically(Path(request["result_dir"]), {"result.json": json.dumps(result).encode()})


# -- the task's process --------------------------------------------------------------


def worker_env(project: Project, threads: int) -> dict[str, str]:
    """The environment of a task: `threads` math threads, the Agg backend, and the
    checkout's own package first on the path (not an installed copy: what the
    script, its subprocesses and the record of its imports must see)."""
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env[variable] = str(threads)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project.root), env.get("PYTHONPATH")]))
    return env


def start_method() -> str:
    """The fork server where the platform has one, unless $VAE_WARM_WORKERS is 0;
    else "spawn", a new interpreter per task."""
    methods = multiprocessing.get_all_start_methods()
    warm = os.environ.get(WARM_ENV, "1") != "0"
    return "forkserver" if warm and "forkserver" in methods else "spawn"


def start(request: Path, log: Path, project: Project, threads: int) -> BaseProcess:
    """Starts the task `request` describes in a process of its own (see `run_task`).

    The process's `sentinel` is ready when it ends; `exitcode` is then its status.
    """
    context = multiprocessing.get_context(start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(list(PRELOADED))
    env = worker_env(project, threads)
    root = str(project.root)
    process = context.Process(target=run_task, args=(str(request), str(log), threads, env, root))
    with _as_seen_by_the_task(env, root):
        process.start()
    return process


@contextlib.contextmanager
def _as_seen_by_the_task(env: dict[str, str], root: str):
    """This process's environment and path, for a moment, as a task starting must see them.

    The fork server, started by the first task, keeps the environment it starts
    with, and the BLAS libraries it preloads read their number of threads from
    it only then. A task imports this module by name, with a copy of this
    process's sys.path, to find `run_task`: the checkout's package must come first.
    """
    saved = dict(os.environ)
    os.environ.update(env)
    sys.path.insert(0, root)
    try:
        yield
    finally:
        sys.path.remove(root)
        os.environ.clear()
        os.environ.update(saved)


def run_task(request: str, log: str, threads: int, env: dict[str, str], root: str) -> None:
    """A task's process: its log as stdout and stderr, the environment and math
    threads it was given, the checkout as working directory, then the task."""
    _end_with_parent()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(root)
    import matplotlib
    import torch

    matplotlib.use("Agg")  # the fork server imported it before this environment was set
    torch.set_num_threads(threads)
    main(request)


def _end_with_parent() -> None:
    """Ends this process if the build that started it dies, rather than run on alone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main(sys.argv[1])
