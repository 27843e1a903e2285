"""The figure engine's scheduler: decide what is stale, then train models and
draw figures as one task graph.

A figure script declares the page it feeds (`PAGE`) and the trained models it
asks for (`MODELS`). A build

1. sweeps up what killed builds left half-written (`vae.atomic.sweep`), and
   finds the stale figures: a figure reruns when its script, a `vae` module it
   imported, a model it used, a file it read, a dataset or a library version
   changed, or when one of its outputs is missing or damaged (see
   `stale_reason`);
2. makes a task for every model those figures declare that the store does not
   hold intact, and a task for every stale figure, which waits for its models;
3. runs the tasks on `jobs` worker processes (`vae.site.worker`), longest
   chain first, each worker with one math thread and a timeout
   (`task_timeout`), waking when a process ends or runs out of time;
4. returns a `BuildReport` with one `TaskEvent` per task (kept in
   last-build.json for the site benchmark), and logs each task and the
   critical path: the chain of a model's training and the figure waiting for
   it that decided when the build finished.

A full disk stops the build at once: the running tasks are killed, no other
starts, and the build raises the one-line error that names the file.

This module imports neither torch nor matplotlib, so checking that nothing is
stale is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vae import datafiles
from vae.atomic import sweep, write_file
from vae.checkpoint import check_run
from vae.errors import CheckpointError, VAEError
from vae.site import experiments
from vae.site.context import NUMBERS, WORDS
from vae.site.fingerprint import file_hash, module_path, source_hash
from vae.site.launcher import TASK_THREADS, Task, TaskEvent, run
from vae.site.project import (
    FigureScript,
    Project,
    discover,
    select,
    syntax_error_message,
    timeout_from_env,
)
from vae.site.store import ModelStore, model_key
from vae.site.worker import MANIFEST
from vae.versions import FIGURE_LIBRARIES, library_versions

DEFAULT_TIMEOUT_S = 900.0  # seconds a task that has never been timed may run
TIMEOUT_FLOOR_S = 300.0  # the least a timed task is given ...
TIMEOUT_FACTOR = 10.0  # ... or this many times its last time, whichever is more
TIMINGS = "timings.json"  # beside the figures: how long each task took last time
LAST_BUILD = "last-build.json"  # beside them too: the events of the last build


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
class BuildReport:
    """The results of a build and where its outputs are."""

    results: list[FigureResult]
    figures_dir: Path  # holds one directory of outputs per figure
    seconds: float
    models: list[TaskEvent] = field(default_factory=list)  # the model tasks
    events: list[TaskEvent] = field(default_factory=list)  # one per task, in order of ending

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


def critical_path(events: list[TaskEvent]) -> list[TaskEvent]:
    """The chain (a model, then the figure that waited for it) that ended last."""
    models = {e.name: e for e in events if e.kind == "model"}
    figures = [e for e in events if e.kind == "figure" and e.status != "cached"]
    if not figures:
        return [max(models.values(), key=lambda e: e.end)] if models else []
    last = max(figures, key=lambda e: e.end)
    waited = [models[m] for m in last.needs if m in models]
    return [max(waited, key=lambda e: e.end), last] if waited else [last]


def last_build(project: Project) -> list[TaskEvent]:
    """The events of the last build of `project`'s profile (none if it never built)."""
    try:
        saved = json.loads((project.figures_out.parent / LAST_BUILD).read_text())
        return [TaskEvent(**{**event, "needs": tuple(event["needs"])}) for event in saved]
    except (OSError, ValueError, TypeError, KeyError):
        return []


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
    if manifest.get("versions") != library_versions(FIGURE_LIBRARIES):
        return "library versions changed"
    for module, digest in manifest.get("modules", {}).items():
        path = module_path(module, project.package_dir)
        try:
            if path is None or source_hash(path) != digest:
                return f"{module} changed"
        except SyntaxError:  # the script's run will say where
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


SECONDS_PER_EPOCH = 0.3  # a model's training time per epoch when it has never been timed
UNTIMED_FIGURE_S = 5.0  # a figure's time when it has never run


def _timings(project: Project) -> dict[str, float]:
    """Seconds each figure (by name) and each model ("model NAME") took when it
    last ran: kept apart from the figures' records, so that two builds of the
    same figure stay byte-identical."""
    try:
        return json.loads((project.figures_out.parent / TIMINGS).read_text())
    except (OSError, ValueError):
        return {}


def task_timeout(last: float | None) -> float:
    """Seconds a task may run when no timeout is set, from its last time (None: never timed)."""
    if last is None:
        return DEFAULT_TIMEOUT_S
    return max(TIMEOUT_FLOOR_S, TIMEOUT_FACTOR * last)


def _model_reason(store: ModelStore, name: str) -> str | None:
    """Why model `name` must be trained, or None if the store holds it intact."""
    path = store.path(name)
    if not path.exists():
        return "not in the store"
    try:
        check_run(path)
    except CheckpointError as e:
        return f"its stored copy is damaged: {e}"
    return None


def plan(
    project: Project, scripts: list[FigureScript], force: bool = False, timeout: float | None = None
) -> tuple[list[Task], dict[str, str | None]]:
    """The tasks a build must run, and each figure's reason to run (None: cached).

    Args:
        timeout: seconds every task may run (default: `task_timeout` of its last time).

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
    missing = {m: why for m in needed if (why := _model_reason(store, m)) is not None}
    timings = _timings(project)

    def limit(key: str) -> float:
        return timeout or task_timeout(timings.get(key))

    # A task's priority is the length of the longest chain it starts: a figure's
    # own time, a model's training plus the longest figure waiting for it. The
    # scheduler starts the ready task with the highest priority, so the chain
    # that decides the end of the build starts first.
    figures = []
    for s in stale:
        cost = float(timings.get(s.name, UNTIMED_FIGURE_S))
        needs = tuple(m for m in s.models if m in missing)
        why = reasons[s.name] or ""
        figures.append(Task("figure", s.name, cost, limit(s.name), cost, needs, s, why))
    tasks = []
    for name, why in missing.items():
        epochs = experiments.get(name).run_config(project.profile, project.device).train.epochs
        cost = float(timings.get(f"model {name}", epochs * SECONDS_PER_EPOCH))
        waiting = max((f.cost for f in figures if name in f.needs), default=0.0)
        tasks.append(Task("model", name, cost, limit(f"model {name}"), cost + waiting, reason=why))
    return sorted(tasks + figures, key=lambda t: -t.priority), reasons


def build(
    project: Project,
    only: list[str] | None = None,
    force: bool = False,
    jobs: int | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] = print,
) -> BuildReport:
    """Brings every figure's outputs up to date, training the models they need first.

    Args:
        project: the checkout, profile and device to build for.
        only: names of the figures to consider (default: all).
        force: rerun even figures whose outputs are current.
        jobs: worker processes at once (default: the number of CPU cores).
        timeout: seconds one task may run before its worker is killed (default:
            $VAE_TASK_TIMEOUT, else `task_timeout` of the task's last time).
        log: receives one line per task and a summary.

    Returns:
        The report; a failed figure or model is in it, not raised.

    Raises:
        VAEError: a bad argument (unknown profile or figure name, jobs < 1), a
            script that declares an unknown experiment, a syntax error in the
            training code, or a full disk (`vae.atomic.DiskFullError`'s line).
    """
    if project.profile not in experiments.PROFILES:
        raise VAEError(f"unknown profile {project.profile!r}; choose quick or full")
    began = time.perf_counter()
    timeout = timeout if timeout is not None else timeout_from_env()
    if timeout is not None and not timeout > 0:
        raise VAEError(f"timeout must be a positive number of seconds, got {timeout}")
    scripts = select(discover(project.figures_src), only)
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise VAEError(f"jobs must be >= 1, got {jobs}")
    threads = TASK_THREADS
    for directory in (project.figures_out, project.models_dir, project.figures_out.parent):
        sweep(directory)
    try:
        tasks, reasons = plan(project, [s for s in scripts if not s.error], force, timeout)
    except SyntaxError as e:  # in the training code, which every model's key hashes
        raise VAEError(syntax_error_message(e, project.root)) from None

    events = []
    for script in scripts:
        if script.error:
            log(f"  FAILED  {script.name} (its script does not parse)")
            why = "its script does not parse"
            events.append(
                TaskEvent("figure", script.name, "failed", reason=why, error=script.error)
            )
        elif reasons[script.name] is None:
            log(f"  cached  {script.name}")
            events.append(TaskEvent("figure", script.name, "cached"))
    if tasks:
        events += run(tasks, project, jobs, threads, log, began)

    report = _report(project, scripts, events, time.perf_counter() - began)
    _save(project, report)
    path = critical_path(events)
    if path:
        verb = {"model": "train", "figure": "figure"}
        chain = " -> ".join(f"{verb[e.kind]} {e.name} {e.seconds:.1f} s" for e in path)
        log(f"critical path: {chain} (ends at {path[-1].end:.1f} s)")
    counts = {k: sum(r.status == k for r in report.results) for k in ("ran", "cached", "failed")}
    trained = sum(m.status == "ran" for m in report.models)
    log(
        f"figures ({project.profile}): {counts['ran']} ran, {counts['cached']} cached, "
        f"{counts['failed']} failed; {trained} models trained in {report.seconds:.1f} s"
    )
    return report


def _report(
    project: Project, scripts: list[FigureScript], events: list[TaskEvent], seconds: float
) -> BuildReport:
    """The build's report: its figures in the scripts' order, its models, its events."""
    models = [e for e in events if e.kind == "model"]
    ran = {m.name for m in models if m.status == "ran"}
    figures = {e.name: e for e in events if e.kind == "figure"}
    results = []
    for script in scripts:
        e = figures[script.name]
        trained = [m for m in e.needs if m in ran]
        results.append(
            FigureResult(e.name, e.status, e.seconds, e.reason, e.error, trained, e.flops)
        )
    return BuildReport(results, project.figures_out, seconds, models, events)


def _save(project: Project, report: BuildReport) -> None:
    """Keeps the times of the tasks that ran (for the next build's plan and
    timeouts) and the events of this build, beside the figures."""
    times = {r.name: round(r.seconds, 2) for r in report.results if r.status == "ran"}
    times |= {f"model {m.name}": round(m.seconds, 2) for m in report.models if m.status == "ran"}
    if times:
        timings = json.dumps({**_timings(project), **times}, indent=1, sort_keys=True)
        write_file(project.figures_out.parent / TIMINGS, timings.encode())
    events = json.dumps([asdict(e) for e in report.events], indent=1)
    write_file(project.figures_out.parent / LAST_BUILD, events.encode())
