"""Running a build's task graph: every task in a worker process of its own
(`vae.site.worker.start`), at most `jobs` at once, longest chain first.

The scheduler decides the tasks (`vae.site.scheduler.plan`); `run` starts each
one whose models are trained, in the order given, then sleeps until a process
ends or the first one runs out of time, and records each end as a `TaskEvent`.
A figure whose model failed fails without running. A full disk stops the whole
build: the running tasks are killed, no other starts, and `run` raises the
one-line error that names the file.
"""

from __future__ import annotations

import multiprocessing.connection
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from vae.errors import VAEError
from vae.site.project import TIMEOUT_ENV, FigureScript, Project
from vae.site.worker import collect, start, write_request

# Math threads per task. Results depend on the thread count (sums are split
# differently), so it is fixed rather than `cores // jobs`: a model or a figure
# comes out the same whether one task runs or a dozen. Tasks side by side (one
# per core by default) use the cores.
TASK_THREADS = 1


@dataclass
class Task:
    """A model to train or a figure to draw."""

    kind: str  # "model" or "figure"
    name: str
    cost: float  # estimated seconds
    timeout: float  # seconds it may run
    priority: float = 0.0  # seconds of the longest chain this task starts
    needs: tuple[str, ...] = ()  # model tasks it waits for
    script: FigureScript | None = None
    reason: str = ""  # why it runs


@dataclass(frozen=True)
class TaskEvent:
    """How one task of a build ended; times are seconds since the build began."""

    kind: str  # "model" or "figure"
    name: str
    status: str  # "ran", "cached" or "failed" ("cached" model: another build trained it)
    start: float = 0.0
    end: float = 0.0
    reason: str = ""  # why it ran
    needs: tuple[str, ...] = ()  # the models a figure waited for
    error: str = ""  # what went wrong, when it failed
    flops: int | None = None  # matrix-product FLOPs, when counted (see vae.site.worker)

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class _Running:
    task: Task
    process: BaseProcess
    scratch: Path  # its request, log and result
    start: float


class _Run:
    """The state of one `run`: tasks waiting, tasks running, and how the others ended."""

    def __init__(self, tasks: list[Task], project: Project, jobs: int, threads: int, log, began):
        self.project, self.jobs, self.threads, self.log = project, jobs, threads, log
        self.began = began  # time.perf_counter() when the build began
        self.pending = list(tasks)
        self.running: list[_Running] = []
        self.ended: list[TaskEvent] = []
        self.models: dict[str, TaskEvent] = {}  # the model tasks that ended, by name
        self.disk_full = ""  # the error that stopped the build
        self.scratch_root = Path(tempfile.mkdtemp(prefix="vae-figures-"))  # requests, logs

    def now(self) -> float:
        return time.perf_counter() - self.began

    def start_ready(self) -> None:
        """Starts the ready tasks, in the order given, while a worker is free."""
        for task in [t for t in self.pending if all(m in self.models for m in t.needs)]:
            if len(self.running) >= self.jobs:
                return
            self.pending.remove(task)
            failed = [m for m in task.needs if self.models[m].status == "failed"]
            if failed:
                errors = "\n".join(self.models[m].error for m in failed)
                error = f"model {', '.join(failed)} failed to train:\n{errors}"
                self.finish(task, self.now(), {"status": "failed", "error": error})
                continue
            scratch = self.scratch_root / f"{task.kind}-{task.name}"
            request = write_request(task.kind, task.name, task.script, self.project, scratch)
            process = start(request, scratch / "log.txt", self.project, self.threads)
            self.running.append(_Running(task, process, scratch, self.now()))
            what = "training" if task.kind == "model" else "running "
            self.log(f"  {what} {task.name}" + (f" ({task.reason})" if task.reason else ""))

    def wait(self) -> None:
        """Sleeps until a running task ends or the first one runs out of time."""
        deadline = min(r.start + r.task.timeout for r in self.running)
        sentinels = [r.process.sentinel for r in self.running]
        multiprocessing.connection.wait(sentinels, timeout=max(0.0, deadline - self.now()))
        for running in list(self.running):
            task = running.task
            if running.process.exitcode is not None:
                message = collect(running.process.exitcode, running.scratch)
                running.process.close()
            elif self.now() - running.start >= task.timeout:
                _end(running.process)
                message = {"status": "failed", "error": timed_out(task.timeout)}
            else:
                continue
            self.running.remove(running)
            self.finish(task, running.start, message)
            if message.get("disk_full"):
                self.stop(message["error"])
                return

    def stop(self, error: str) -> None:
        """Kills the running tasks and starts no more."""
        self.disk_full = error
        for running in self.running:
            _end(running.process)
            self.finish(running.task, running.start, {"status": "failed", "error": error})
        self.running, self.pending = [], []

    def finish(self, task: Task, start: float, message: dict[str, Any]) -> None:
        """Records how `task` ended, and logs it."""
        end = self.now()
        status = message["status"]
        event = TaskEvent(
            task.kind,
            task.name,
            status,
            start,
            end,
            task.reason,
            task.needs,
            message.get("error", ""),
            message.get("flops"),
        )
        self.ended.append(event)
        if task.kind == "model":
            self.models[task.name] = event
            word = {"ran": "trained", "cached": "loaded ", "failed": "FAILED "}[status]
        else:
            word = "ran    " if status == "ran" else "FAILED "
        self.log(f"  {word} {task.name}  {end - start:.1f} s")


def _end(process: BaseProcess) -> None:
    """Kills a task's process and waits until it is gone."""
    process.kill()
    process.join()
    process.close()


def timed_out(seconds: float) -> str:
    """The error of a task killed after `seconds`, and how to give it more."""
    return (
        f"timed out after {seconds:.0f} s; allow more with ${TIMEOUT_ENV}=SECONDS "
        "or `python -m vae figures --timeout SECONDS`"
    )


def run(
    tasks: list[Task],
    project: Project,
    jobs: int,
    threads: int,
    log: Callable[[str], None],
    began: float,
) -> list[TaskEvent]:
    """Runs `tasks` on `jobs` worker processes of `threads` math threads each.

    Args:
        tasks: highest priority first (ready ones start in this order).
        began: `time.perf_counter()` when the build began, for the events' times.

    Returns:
        How each task ended, in the order they ended.

    Raises:
        VAEError: the disk is full (one line naming the file); the build stopped.
    """
    state = _Run(tasks, project, jobs, threads, log, began)
    try:
        while state.pending or state.running:
            state.start_ready()
            if state.running:
                state.wait()
            elif state.pending:  # a bug in the plan, which would otherwise hang here
                raise VAEError("tasks wait for models that no task trains")
    finally:
        for running in state.running:  # an interrupted build leaves no task behind
            _end(running.process)
        shutil.rmtree(state.scratch_root, ignore_errors=True)
    if state.disk_full:
        raise VAEError(state.disk_full)
    return state.ended
