"""Running the task graph: workers forked from multiprocessing's fork server
give the same records as fresh interpreters, get one math thread each, fail
or time out clearly, end with their build, and a full disk stops the build.
Also the order the scheduler starts tasks in, and bf16's fallback to fp32."""

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vae.errors import VAEError
from vae.site import experiments, launcher, scheduler, worker
from vae.site.context import NUMBERS
from vae.site.project import FigureScript, Project
from vae.site.scheduler import build, plan

REPO = Path(__file__).resolve().parents[1]

needs_forkserver = pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no fork server here"
)

REPORTS_THREADS = """
import multiprocessing
import os

import torch
from vae.config import ModelConfig

PAGE = "index.md"


def make(ctx):
    ctx.number("threads", torch.get_num_threads())
    ctx.number("data_dim", ModelConfig().data_dim)
    # Forked from the fork server, not started by the build itself.
    ctx.number("forked", int(os.getppid() != multiprocessing.parent_process().pid))
"""

CRASHES = """
import os


def make(ctx):
    print("about to crash", flush=True)
    os._exit(3)
"""


@pytest.fixture
def project(tmp_path):
    shutil.copytree(REPO / "vae", tmp_path / "vae", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "threads.py").write_text(REPORTS_THREADS)
    return Project(tmp_path, "quick", tmp_path / "cache")


def quiet(line):
    pass


def record(project, name):
    manifest = json.loads((project.figures_out / name / scheduler.MANIFEST).read_text())
    del manifest["outputs"]
    return manifest


@needs_forkserver
def test_a_forked_worker_records_what_a_fresh_one_does(project, monkeypatch):
    monkeypatch.setenv(worker.WARM_ENV, "0")
    assert build(project, jobs=2, log=quiet).numbers()["threads"]["forked"] == 0
    fresh = record(project, "threads")
    monkeypatch.setenv(worker.WARM_ENV, "1")
    report = build(project, jobs=2, force=True, log=quiet)
    assert report.results[0].status == "ran"
    assert report.numbers()["threads"]["forked"] == 1
    assert record(project, "threads") == fresh
    # The package's own modules the script and the worker import are in the
    # record, from the project's copy of the package; not the scheduler's.
    assert {"vae.config", "vae.site.worker"} <= set(fresh["modules"])
    assert not {"vae.site.launcher", "vae.site.scheduler"} & set(fresh["modules"])


def test_every_task_has_one_math_thread_however_many_run(project, monkeypatch):
    """Broken version: `cores // jobs` threads, so that a model trained with
    VAE_JOBS=1 differs in its last bits from the same model trained with two jobs,
    under the same cache key."""
    monkeypatch.setattr(scheduler.os, "cpu_count", lambda: 4)
    for jobs in (1, 2, 4):
        build(project, jobs=jobs, force=True, log=quiet)
        assert build(project, log=quiet).numbers()["threads"]["threads"] == 1


@needs_forkserver
def test_numpy_and_torch_get_the_share_of_threads_in_a_forked_worker(project):
    pytest.importorskip("threadpoolctl")
    (project.figures_src / "blas.py").write_text(
        "import threadpoolctl\n\n"
        "def make(ctx):\n"
        "    for pool in threadpoolctl.threadpool_info():\n"
        "        ctx.number(pool['internal_api'], pool['num_threads'])\n"
    )
    # A process of its own, so that the fork server starts with this build.
    subprocess.run(
        [sys.executable, "-m", "vae", "figures", "--jobs", "2", "--root", project.root],
        cwd=project.root,
        env={**os.environ, "VAE_CACHE_DIR": str(project.cache_dir), "VAE_PROFILE": "quick"},
        capture_output=True,
        check=True,
    )
    numbers = json.loads((project.figures_out / "blas" / NUMBERS).read_text())
    assert numbers and set(numbers.values()) == {scheduler.TASK_THREADS}, numbers


def test_a_worker_sees_the_environment_of_its_build_not_of_the_fork_server(project, monkeypatch):
    (project.figures_src / "env.py").write_text(
        "import os\n\ndef make(ctx):\n    ctx.words('seen', os.environ.get('VAE_TEST_SEEN', ''))\n"
    )
    build(project, log=quiet)  # the fork server is running now
    monkeypatch.setenv("VAE_TEST_SEEN", "after")
    assert build(project, force=True, log=quiet).numbers()["env"]["seen"] == "after"


def test_a_worker_that_dies_is_a_failure_with_its_status_and_log(project):
    (project.figures_src / "crash.py").write_text(CRASHES)
    report = build(project, log=quiet)
    failed = {r.name: r.error for r in report.failed}
    assert list(failed) == ["crash"]
    assert "status 3" in failed["crash"] and "about to crash" in failed["crash"]
    assert {r.name: r.status for r in report.results}["threads"] == "ran"


def alive(pid):
    """Whether process `pid` runs (a zombie, ended but not reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_task_ends_with_its_build_when_the_build_is_killed(project):
    pid_file = project.root / "task.pid"
    (project.figures_src / "slow.py").write_text(
        "import os, pathlib, time\n\n"
        "def make(ctx):\n"
        f"    pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "vae", "figures", "--only", "slow", "--root", project.root],
        cwd=project.root,
        env={**os.environ, "VAE_CACHE_DIR": str(project.cache_dir), "VAE_PROFILE": "quick"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    task = int(pid_file.read_text())
    assert alive(task)
    process.send_signal(signal.SIGKILL)  # the build alone, not its process group
    process.wait()
    deadline = time.monotonic() + 10
    while alive(task):
        assert time.monotonic() < deadline, "the task outlived its build"
        time.sleep(0.05)


FILLS_THE_DISK = """
import errno
import os


def make(ctx):
    ctx.save("big.bin", b"x" * 1000)
    real_fsync = os.fsync

    def full_once(fd):  # the outputs do not fit; the small result that follows does
        os.fsync = real_fsync
        raise OSError(errno.ENOSPC, "No space left on device")

    os.fsync = full_once
"""


def test_a_full_disk_stops_the_build_at_once_with_one_line(project):
    (project.figures_src / "full.py").write_text(FILLS_THE_DISK)
    (project.figures_src / "slow.py").write_text(
        "import time\n\ndef make(ctx):\n    time.sleep(60)\n"
    )
    marker = project.root / "later-ran"
    (project.figures_src / "later.py").write_text(
        f"import pathlib\n\ndef make(ctx):\n    pathlib.Path({str(marker)!r}).touch()\n"
    )
    # The slow figure runs beside the full one; "later" waits for a free worker.
    timings = {"full": 50.0, "slow": 40.0, "later": 1.0, "threads": 0.5}
    project.figures_out.mkdir(parents=True)
    (project.figures_out.parent / scheduler.TIMINGS).write_text(json.dumps(timings))
    lines = []
    started = time.monotonic()
    with pytest.raises(VAEError) as raised:
        build(project, jobs=2, log=lines.append)
    assert time.monotonic() - started < 30  # the slow figure was killed
    message = str(raised.value)
    assert message == f"no space left on the device while writing {project.figures_out / 'full'}"
    assert not marker.exists()  # nothing started after the disk filled
    assert not any("Traceback" in line for line in lines)
    assert [p.name for p in project.figures_out.iterdir()] == []  # nothing half-written


def test_one_worker_runs_the_tasks_in_turn_and_their_events_say_when(project):
    (project.figures_src / "second.py").write_text("def make(ctx):\n    pass\n")
    tasks = [
        launcher.Task("figure", name, 1.0, 60.0, script=FigureScript(name, path, None))
        for name, path in [(p.stem, p) for p in sorted(project.figures_src.glob("*.py"))][::-1]
    ]
    lines = []
    began = time.perf_counter()
    events = launcher.run(tasks, project, jobs=1, threads=1, log=lines.append, began=began)
    assert [(e.kind, e.name, e.status) for e in events] == [
        ("figure", "threads", "ran"),
        ("figure", "second", "ran"),
    ]
    first, second = events
    assert 0 <= first.start < first.end <= second.start < second.end
    assert lines[0] == "  running  threads" and lines[2] == "  running  second"


def test_a_task_that_runs_too_long_says_how_to_allow_more(project, monkeypatch):
    (project.figures_src / "slow.py").write_text(
        "import time\n\ndef make(ctx):\n    time.sleep(60)\n"
    )
    monkeypatch.setenv("VAE_TASK_TIMEOUT", "1.5")
    started = time.monotonic()
    report = build(project, only=["slow"], log=quiet)
    assert time.monotonic() - started < 20
    error = report.failed[0].error
    assert error.startswith("timed out after 2 s")
    assert "$VAE_TASK_TIMEOUT=SECONDS" in error and "python -m vae figures --timeout" in error
    monkeypatch.setenv("VAE_TASK_TIMEOUT", "soon")
    with pytest.raises(VAEError, match=r"^\$VAE_TASK_TIMEOUT='soon': expected a positive number"):
        build(project, only=["slow"], log=quiet)


def test_a_task_is_given_ten_times_its_last_time_but_at_least_the_floor():
    assert scheduler.task_timeout(None) == scheduler.DEFAULT_TIMEOUT_S == 900.0
    assert scheduler.task_timeout(2.0) == scheduler.TIMEOUT_FLOOR_S == 300.0
    assert scheduler.task_timeout(45.0) == 450.0


def test_the_timeout_comes_from_the_argument_the_environment_or_the_last_time(
    tmp_path, monkeypatch
):
    project = Project(tmp_path, "quick", tmp_path / "cache")
    scripts = [FigureScript(n, tmp_path / f"{n}.py", None, ()) for n in ("timed", "new")]
    for script in scripts:
        script.path.write_text("def make(ctx):\n    pass\n")
    project.figures_out.mkdir(parents=True)
    (project.figures_out.parent / scheduler.TIMINGS).write_text(json.dumps({"timed": 60.0}))
    monkeypatch.delenv("VAE_TASK_TIMEOUT", raising=False)
    assert {t.name: t.timeout for t in plan(project, scripts)[0]} == {"timed": 600, "new": 900}
    assert {t.timeout for t in plan(project, scripts, timeout=5.0)[0]} == {5.0}


def test_the_longest_chain_starts_first(tmp_path):
    project = Project(REPO, "full", tmp_path / "cache")
    scripts = [
        FigureScript("short", tmp_path / "short.py", None, ("vae-20d-beta-1",)),
        FigureScript("long", tmp_path / "long.py", None, ("vae-20d-beta-2",)),
        FigureScript("alone", tmp_path / "alone.py", None, ()),
    ]
    for script in scripts:
        script.path.write_text("def make(ctx):\n    pass\n")
    timings = {"short": 1.0, "long": 30.0, "alone": 8.0}
    timings |= {"model vae-20d-beta-1": 10.0, "model vae-20d-beta-2": 10.0}
    project.figures_out.parent.mkdir(parents=True)
    (project.figures_out.parent / scheduler.TIMINGS).write_text(json.dumps(timings))
    tasks, _ = plan(project, scripts)
    # 10 + 30 s, then 10 + 1 s, then 8 s, then 1 s.
    assert [t.name for t in tasks][:3] == ["vae-20d-beta-2", "long", "vae-20d-beta-1"]
    assert [t.priority for t in tasks] == [40.0, 30.0, 11.0, 8.0, 1.0]


def test_bf16_falls_back_to_fp32_without_native_bf16(monkeypatch):
    experiment = experiments.get("vae-2d")
    assert experiment.config.train.precision == "bf16"
    monkeypatch.setattr(experiments, "native_bf16", lambda device: False)
    assert experiment.run_config("full").train.precision == "fp32"
    monkeypatch.setattr(experiments, "native_bf16", lambda device: device == "cpu")
    assert experiment.run_config("full").train.precision == "bf16"
    assert experiment.run_config("full", "cuda").train.precision == "fp32"


def test_the_command_line_timeout_is_a_positive_number_of_seconds(capsys):
    from vae.site.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["figures", "--timeout", "30"]).timeout == 30.0
    assert parser.parse_args(["figures"]).timeout is None  # then the environment decides
    with pytest.raises(SystemExit):
        parser.parse_args(["figures", "--timeout", "-1"])
    assert "expected a positive number of seconds, got '-1'" in capsys.readouterr().err


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs, where this process may mount one (root on Linux); else skip."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", str(where)], check=True)


def test_a_real_full_disk_leaves_one_line_and_nothing_half_written(project, small_disk):
    (project.figures_src / "big.py").write_text(
        "def make(ctx):\n    ctx.save('big.bin', bytes(4_000_000))\n"
    )
    project = Project(project.root, "quick", small_disk)
    with pytest.raises(VAEError, match=r"^no space left on the device while writing .*/big$"):
        build(project, jobs=1, log=quiet)
    leftovers = [p.name for p in small_disk.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
