"""The figure engine's scheduler: decide what is stale, then train models and
draw figures as one task graph.

A figure script declares the page it feeds (`PAGE`) and the trained models it
asks for (`MODELS`). A build

1. finds the stale figures: a figure reruns when its script, a `vae` module it
   imported, a model it used, a file it read, a dataset or a library version
   changed, or when one of its outputs is missing or damaged (see
   `stale_reason`);
2. makes a task for every model those figures declare that the store does not
   hold, and a task for every stale figure, which waits for its models;
3. runs the tasks on `jobs` worker processes (`vae.site.worker`), models
   longest chain first, each worker with `cores // jobs` math threads;
4. logs each task and the critical path: the chain of a model's training and
   the figure waiting for it that decided when the build finished.

This module imports neither torch nor matplotlib, so checking that nothing is
stale is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vae import datafiles
from vae.atomic import sweep
from vae.errors import VAEError
from vae.site import experiments
from vae.site.context import NUMBERS, WORDS
from vae.site.fingerprint import file_hash, module_path, source_hash
from vae.site.launcher import Handle, launcher
from vae.site.project import FigureScript, Project, discover
from vae.site.store import ModelStore, model_key
from vae.site.worker import MANIFEST, collect, write_request
from vae.versions import library_versions

DEFAULT_TIMEOUT_S = 900.0
POLL_S = 0.02


@dataclass
class FigureResult:
    """What happened to one figure in one build."""

    name: str
    status: str  # "cached", "ran" or "failed"
    seconds: float = 0.0
    reason: str = ""  # why it ran, or why it failed
    error: str = ""  # the traceback of a failure
    trained: list[str] = field(default_factory=list)  # models trained for it in this build
    flops: int | None = None  # matrix-product FLOPs, when counted (see vae.site.worker)


@dataclass
class ModelResult:
    """One model task of a build."""

    name: str
    status: str  # "ran", "cached" (another process trained it) or "failed"
    seconds: float = 0.0
    error: str = ""
    flops: int | None = None


@dataclass
class BuildReport:
    """The results of a build and where its outputs are."""

    results: list[FigureResult]
    figures_dir: Path  # holds one directory of outputs per figure
    seconds: float
    models: list[ModelResult] = field(default_factory=list)
    critical_path: list[tuple[str, float]] = field(default_factory=list)

    @property
    def failed(self) -> list[FigureResult]:
        """The figures whose script failed."""
        return [r for r in self.results if r.status == "failed"]

    def numbers(self) -> dict[str, dict[str, Any]]:
        """Every figure's numbers and words, by figure name."""
        out: dict[str, dict[str, Any]] = {}
        for result in self.results:
            for filename in (NUMBERS, WORDS):
                path = self.figures_dir / result.name / filename
                if path.is_file():
                    out.setdefault(result.name, {}).update(json.loads(path.read_text()))
        return out


def stale_reason(script: FigureScript, project: Project) -> str | None:
    """Why `script` must run again, or None if its cached outputs are current."""
    out = project.figures_out / script.name
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except FileNotFoundError:
        return "never built"
    except (OSError, ValueError):
        return "its record is damaged"
    if manifest.get("script") != source_hash(script.path):
        return "script changed"
    if manifest.get("versions") != library_versions():
        return "library versions changed"
    for module, digest in manifest.get("modules", {}).items():
        path = module_path(module, project.package_dir)
        if path is None or source_hash(path) != digest:
            return f"{module} changed"
    for relative, digest in manifest.get("files", {}).items():
        path = project.root / relative
        if not path.is_file() or file_hash(path) != digest:
            return f"{relative} changed"
    for name, key in manifest.get("models", {}).items():
        try:
            current = model_key(name, project.profile, project.package_dir, project.device)
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
            if hashlib.sha256((out / filename).read_bytes()).hexdigest() != digest:
                return f"output {filename} is damaged"
        except OSError:
            return f"output {filename} is missing"
    return None


@dataclass
class _Task:
    kind: str  # "model" or "figure"
    name: str
    cost: float  # estimated seconds
    priority: float = 0.0  # seconds of the longest chain this task starts
    needs: tuple[str, ...] = ()  # model tasks it waits for
    script: FigureScript | None = None
    reason: str = ""


SECONDS_PER_EPOCH = 0.3  # a model's training time per epoch when it has never been timed
UNTIMED_FIGURE_S = 5.0  # a figure's time when it has never run


def _model_cost(name: str, project: Project, timings: dict[str, float]) -> float:
    """Seconds the model took to train last time, or an estimate from its epochs."""
    config = experiments.get(name).run_config(project.profile, project.device)
    return float(timings.get(f"model {name}", config.train.epochs * SECONDS_PER_EPOCH))


TIMINGS = "timings.json"  # beside the figures: how long each took last time


def _timings(project: Project) -> dict[str, float]:
    """Seconds each figure (by name) and each model ("model NAME") took when it
    last ran: kept apart from the figures' records, so that two builds of the
    same figure stay byte-identical."""
    try:
        return json.loads((project.figures_out.parent / TIMINGS).read_text())
    except (OSError, ValueError):
        return {}


def _select(scripts: list[FigureScript], only: list[str] | None) -> list[FigureScript]:
    if not only:
        return scripts
    known = {s.name for s in scripts}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise VAEError(f"unknown figure {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in scripts if s.name in only]


def plan(
    project: Project, scripts: list[FigureScript], force: bool = False
) -> tuple[list[_Task], dict[str, str | None]]:
    """The tasks a build must run, and each figure's reason to run (None: cached).

    Raises:
        VAEError: a script declares an unknown experiment.
    """
    store = ModelStore(project.models_dir, project.profile, project.package_dir, project.device)
    reasons = {s.name: ("forced" if force else stale_reason(s, project)) for s in scripts}
    stale = [s for s in scripts if reasons[s.name] is not None]
    for script in stale:
        for name in script.models:
            experiments.get(name)  # an unknown name fails here, before anything runs
    needed = sorted({m for s in stale for m in s.models})
    missing = [m for m in needed if not store.has(m)]
    timings = _timings(project)
    tasks = [_Task("model", m, _model_cost(m, project, timings)) for m in missing]
    figures = [
        _Task(
            "figure",
            s.name,
            float(timings.get(s.name, UNTIMED_FIGURE_S)),
            needs=tuple(m for m in s.models if m in missing),
            script=s,
            reason=reasons[s.name] or "",
        )
        for s in stale
    ]
    # A task's priority is the length of the longest chain it starts: a model's
    # training plus the longest figure waiting for it. The scheduler starts the
    # ready task with the highest priority, so the chain that decides the end
    # of the build starts first.
    for model in tasks:
        waiting = [f.cost for f in figures if model.name in f.needs]
        model.priority = model.cost + max(waiting, default=0.0)
    for figure in figures:
        figure.priority = figure.cost
    return sorted(tasks + figures, key=lambda t: -t.priority), reasons


def build(
    project: Project,
    only: list[str] | None = None,
    force: bool = False,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    log: Callable[[str], None] = print,
) -> BuildReport:
    """Brings every figure's outputs up to date, training the models they need first.

    Args:
        project: the checkout, profile and device to build for.
        only: names of the figures to consider (default: all).
        force: rerun even figures whose outputs are current.
        jobs: worker processes at once (default: the number of CPU cores).
        timeout: seconds one task may run before its worker is killed.
        log: receives one line per task and a summary.

    Returns:
        The report; a failed figure or model is in it, not raised.

    Raises:
        VAEError: a bad argument (unknown profile or figure name, jobs < 1) or a
            script that declares an unknown experiment.
    """
    if project.profile not in experiments.PROFILES:
        raise VAEError(f"unknown profile {project.profile!r}; choose quick or full")
    started = time.perf_counter()
    scripts = _select(discover(project.figures_src), only)
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise VAEError(f"jobs must be >= 1, got {jobs}")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    sweep(project.figures_out)
    sweep(project.models_dir)
    tasks, reasons = plan(project, scripts, force)
    for script in scripts:
        if reasons[script.name] is None:
            log(f"  cached  {script.name}")

    figures: dict[str, FigureResult] = {
        s.name: FigureResult(s.name, "cached") for s in scripts if reasons[s.name] is None
    }
    models: dict[str, ModelResult] = {}
    finished_at: dict[str, float] = {}  # task name -> seconds since start
    pending = list(tasks)
    scratch_root = Path(tempfile.mkdtemp(prefix="vae-figures-"))
    running: dict[str, tuple[_Task, Handle, Path, float]] = {}
    workers = launcher(project, threads) if tasks else None

    def ready(task: _Task) -> bool:
        return all(m in models for m in task.needs)

    try:
        while pending or running:
            for task in list(pending):
                if len(running) >= jobs:
                    break
                if not ready(task):
                    continue
                pending.remove(task)
                failed = [m for m in task.needs if models[m].status == "failed"]
                if failed:
                    error = f"model {', '.join(failed)} failed to train:\n" + "\n".join(
                        models[m].error for m in failed
                    )
                    figures[task.name] = FigureResult(task.name, "failed", 0.0, task.reason, error)
                    log(f"  FAILED  {task.name} (its model failed)")
                    continue
                scratch = scratch_root / f"{task.kind}-{task.name}"
                request = write_request(task.kind, task.name, task.script, project, scratch)
                process = workers.start(request, scratch / "log.txt")  # type: ignore[union-attr]
                running[task.name] = (task, process, scratch, time.perf_counter())
                what = "training" if task.kind == "model" else "running "
                why = f" ({task.reason})" if task.reason else ""
                log(f"  {what} {task.name}{why}")
            for name, (task, process, scratch, t0) in list(running.items()):
                elapsed = time.perf_counter() - t0
                if process.poll() is None:
                    if elapsed <= timeout:
                        continue
                    process.kill()
                    process.wait()
                    message = {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
                else:
                    message = collect(process.returncode, scratch)
                del running[name]
                finished_at[name] = time.perf_counter() - started
                status, error = message["status"], message.get("error", "")
                if task.kind == "model":
                    models[name] = ModelResult(name, status, elapsed, error, message.get("flops"))
                    word = {"ran": "trained", "cached": "loaded ", "failed": "FAILED "}[status]
                    log(f"  {word} {name}  {elapsed:.1f} s")
                else:
                    trained = [m for m in task.needs if models[m].status == "ran"]
                    figures[name] = FigureResult(
                        name, status, elapsed, task.reason, error, trained, message.get("flops")
                    )
                    word = "ran    " if status == "ran" else "FAILED "
                    log(f"  {word} {name}  {elapsed:.1f} s")
            time.sleep(POLL_S)
    finally:
        for _, process, _, _ in running.values():
            process.kill()
            process.wait()
        if workers is not None:
            workers.close()
        shutil.rmtree(scratch_root, ignore_errors=True)

    ordered = [figures[s.name] for s in scripts]
    ran = {r.name: round(r.seconds, 2) for r in ordered if r.status == "ran"}
    ran.update(
        {f"model {m.name}": round(m.seconds, 2) for m in models.values() if m.status == "ran"}
    )
    if ran:
        timings = project.figures_out.parent / TIMINGS
        partial = timings.with_name(f".{TIMINGS}.{os.getpid()}.partial")
        partial.write_text(json.dumps({**_timings(project), **ran}, indent=1, sort_keys=True))
        os.replace(partial, timings)
    seconds = time.perf_counter() - started
    path = _critical_path(tasks, models, figures, finished_at)
    if path:
        chain = " -> ".join(f"{name} {secs:.1f} s" for name, secs in path)
        log(f"critical path: {chain} (ends at {finished_at[path[-1][0].split()[-1]]:.1f} s)")
    counts = {k: sum(r.status == k for r in ordered) for k in ("ran", "cached", "failed")}
    trained = sum(m.status == "ran" for m in models.values())
    log(
        f"figures ({project.profile}): {counts['ran']} ran, {counts['cached']} cached, "
        f"{counts['failed']} failed; {trained} models trained in {seconds:.1f} s"
    )
    return BuildReport(ordered, project.figures_out, seconds, list(models.values()), path)


def _critical_path(
    tasks: list[_Task],
    models: dict[str, ModelResult],
    figures: dict[str, FigureResult],
    finished_at: dict[str, float],
) -> list[tuple[str, float]]:
    """The chain (a model, then the figure that waited for it) that finished last."""
    ran = [t for t in tasks if t.kind == "figure" and t.name in finished_at]
    if not ran:
        return [(f"train {m}", r.seconds) for m, r in models.items()][:1]
    last = max(ran, key=lambda t: finished_at[t.name])
    path = []
    if last.needs:
        slowest = max(last.needs, key=lambda m: finished_at.get(m, 0.0))
        path.append((f"train {slowest}", models[slowest].seconds))
    path.append((f"figure {last.name}", figures[last.name].seconds))
    return path
