"""The worker side of the figure engine: one task in a process of its own.

`python -m vae.site.worker REQUEST.json`, or `main` in a process forked by
`vae.site.launcher`, runs one task the scheduler handed out:

- a *model* task trains an experiment and puts it in the model store;
- a *figure* task runs a script's `make(ctx)` with a `FigureContext`, then
  writes its outputs and its record (what it depended on) as one directory.

Either way the worker leaves `result.json` in the directory the request names.
The launcher sets the worker's number of math threads, so workers side by side
do not oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from vae.atomic import write_atomically
from vae.errors import VAEError
from vae.site.context import FigureContext
from vae.site.fingerprint import source_hash
from vae.site.project import FigureScript, Project
from vae.site.store import ModelStore
from vae.versions import library_versions

MANIFEST = "_manifest.json"
# Set to 1 (by the site benchmark) to count each task's matrix-product FLOPs.
COUNT_FLOPS_ENV = "VAE_COUNT_FLOPS"


def _snapshot(package_dir: Path) -> dict[Path, str]:
    """Hashes of every module of the package as it is now, before a script runs.

    The record must describe the code that ran: a file edited while the script
    runs then reads as changed, and the next build reruns the figure.
    """
    return {p.resolve(): source_hash(p) for p in package_dir.rglob("*.py")}


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
        "versions": library_versions(),
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
    }
    path = scratch / "request.json"
    path.write_text(json.dumps(request))
    return path


def collect(returncode: int | None, scratch: Path) -> dict[str, Any]:
    """The result a finished worker left, or a failure built from its log."""
    try:
        return json.loads((scratch / "result" / "result.json").read_text())
    except (OSError, ValueError):
        log_text = (scratch / "log.txt").read_text(errors="replace")[-4000:]
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


def main(request_path: str) -> None:
    """Runs the task a request file describes and leaves result.json beside it."""
    request = json.loads(Path(request_path).read_text())
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
    except BaseException:
        result = {"status": "failed", "error": traceback.format_exc()}
    write_atomically(Path(request["result_dir"]), {"result.json": json.dumps(result).encode()})


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main(sys.argv[1])
