"""Starting worker processes: each task in a process of its own, forked from a
warm parent where the platform allows it.

Every task of a build runs in a fresh process, so that what one script
imports or changes cannot leak into the next and the record of the modules it
imported is its own. Importing torch and matplotlib costs such a process about
2.5 s, more than many figures take to draw. So on Linux the build starts one
*warm parent* (`python -m vae.site.launcher`), which imports those libraries
once, computes nothing, and forks a child per task; the child redirects its
output to the task's log, sets its math threads and runs `vae.site.worker`.
Only third-party libraries are imported before the fork: the `vae` modules a
task uses are imported by the task itself, so its record stays the same.
Set `VAE_WARM_WORKERS=0` to start every task with a new interpreter instead
(the only way elsewhere): `python -m vae.site.launcher REQUEST.json`, which
imports the worker as the warm parent's children do, so either way a figure's
record names the same modules.

The warm parent reads one JSON request per line on its standard input and
answers `started PID` for each, then `exited PID STATUS` when the child ends.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from vae.errors import VAEError
from vae.site.project import Project

WARM_ENV = "VAE_WARM_WORKERS"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# What every task imports anyway; importing it before the fork is the saving.
PRELOADED = ("numpy", "torch", "matplotlib.pyplot", "safetensors.torch")
REAP_S = 0.05  # how often the warm parent looks for children that ended


class Handle(Protocol):
    """A running task's process, as the scheduler sees it (like `subprocess.Popen`)."""

    returncode: int | None

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...

    def wait(self) -> int: ...


def worker_env(project: Project, threads: int) -> dict[str, str]:
    """The environment of a worker: `threads` math threads, the Agg backend, and
    the checkout's own package first on the path (not an installed copy: what
    the script and the record of its imports must see)."""
    env = dict(os.environ)
    for variable in THREAD_VARIABLES:
        env[variable] = str(threads)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project.root), env.get("PYTHONPATH")]))
    return env


class FreshLauncher:
    """Starts every task with a new interpreter."""

    def __init__(self, project: Project, threads: int) -> None:
        self.project = project
        self.env = worker_env(project, threads)

    def start(self, request: Path, log: Path) -> Handle:
        with open(log, "wb") as log_file:
            return subprocess.Popen(
                [sys.executable, "-m", "vae.site.launcher", str(request)],
                cwd=self.project.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    def close(self) -> None:
        pass


class _Forked:
    """A child of the warm parent."""

    def __init__(self, pid: int, launcher: WarmLauncher) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._launcher = launcher

    def poll(self) -> int | None:
        if self.returncode is None:
            self._launcher.pump()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:  # it has just ended
                pass

    def wait(self) -> int:
        while self.returncode is None:
            self._launcher.pump(block=True)
        return self.returncode


class WarmLauncher:
    """Forks every task from one warm parent process."""

    def __init__(self, project: Project, threads: int) -> None:
        self.threads = threads
        self._children: dict[int, _Forked] = {}
        self._early: dict[int, int] = {}  # exits read before the start they belong to
        self._buffer = b""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "vae.site.launcher"],
            cwd=project.root,
            env=worker_env(project, threads),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdout is not None
        self._out = self._process.stdout.fileno()
        os.set_blocking(self._out, False)

    def start(self, request: Path, log: Path) -> Handle:
        message = {"request": str(request), "log": str(log), "threads": self.threads}
        try:
            self._process.stdin.write((json.dumps(message) + "\n").encode())  # type: ignore[union-attr]
            self._process.stdin.flush()  # type: ignore[union-attr]
        except BrokenPipeError:
            raise VAEError(self._died()) from None
        while True:  # the answer to this request comes before any other "started"
            for line in self._lines(block=True):
                if line.startswith("started "):
                    child = _Forked(int(line.split()[1]), self)
                    self._children[child.pid] = child
                    child.returncode = self._early.pop(child.pid, None)
                    return child

    def pump(self, block: bool = False) -> None:
        """Reads what the warm parent reported: children that ended."""
        for _ in self._lines(block):
            pass

    def _lines(self, block: bool) -> list[str]:
        if block:
            select.select([self._out], [], [])
        try:
            chunk = os.read(self._out, 65536)
        except BlockingIOError:
            return []
        if not chunk:  # the warm parent is gone: its children are unreachable
            for child in self._children.values():
                if child.returncode is None:
                    child.returncode = -9
            raise VAEError(self._died())
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        decoded = [line.decode() for line in lines]
        for line in decoded:
            if line.startswith("exited "):
                _, pid, status = line.split()
                child = self._children.get(int(pid))
                if child is not None:
                    child.returncode = int(status)
                else:  # a child that ended at once: its "started" is in this chunk
                    self._early[int(pid)] = int(status)
        return decoded

    def _died(self) -> str:
        self._process.wait()
        return (
            f"the warm worker parent exited with status {self._process.returncode}; "
            f"set {WARM_ENV}=0 to start every task with a new interpreter"
        )

    def close(self) -> None:
        """Ends the warm parent (the scheduler has already waited for or killed its children)."""
        if self._process.stdin and not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def launcher(project: Project, threads: int) -> FreshLauncher | WarmLauncher:
    """The launcher for this platform: warm on Linux unless $VAE_WARM_WORKERS is 0."""
    if sys.platform == "linux" and os.environ.get(WARM_ENV, "1") != "0":
        return WarmLauncher(project, threads)
    return FreshLauncher(project, threads)


# -- the warm parent --------------------------------------------------------------


def _run_child(message: dict) -> int:
    """In the forked child: the task's log as stdout and stderr, its threads, the task."""
    log = os.open(message["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the parent ignores it
    import torch

    torch.set_num_threads(message["threads"])
    from vae.site import worker

    worker.main(message["request"])
    return 0


def serve() -> None:
    """The warm parent's loop: fork a child per request line, report when each ends.

    Ctrl-C reaches the scheduler, which kills the children it started and closes
    this process's input; the parent itself ignores it. When its input closes,
    any child still running belongs to a scheduler that is gone, and is killed.
    """
    import importlib

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in PRELOADED:
        importlib.import_module(name)
    stdin = sys.stdin.fileno()
    pending = b""
    children: set[int] = set()
    open_input = True
    while open_input or children:
        readable, _, _ = select.select([stdin] if open_input else [], [], [], REAP_S)
        if readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                open_input = False
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                message = json.loads(line)
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    status = 1
                    try:
                        status = _run_child(message)
                    except BaseException:
                        import traceback

                        traceback.print_exc()
                    finally:
                        sys.stdout.flush()
                        sys.stderr.flush()
                        os._exit(status)
                children.add(pid)
                _report(f"started {pid}")
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            children.discard(pid)
            _report(f"exited {pid} {os.waitstatus_to_exitcode(status)}")


def _report(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the scheduler is gone; finish the children quietly
        sys.stdout = open(os.devnull, "w")


if __name__ == "__main__":
    if len(sys.argv) > 1:  # one task in this fresh interpreter
        from vae.site import worker

        worker.main(sys.argv[1])
    else:
        serve()
