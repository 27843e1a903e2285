"""Workers forked from a warm parent: they give the same records as fresh
interpreters, get their share of threads, and fail or time out as clearly.
Also the order the scheduler starts tasks in, and bf16's fallback to fp32."""

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from vae.site import experiments, launcher, scheduler
from vae.site.project import FigureScript, Project
from vae.site.scheduler import build, plan
from vae.site.worker import write_request

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="warm workers fork: Linux only")

REPORTS_THREADS = """
import torch
from vae.config import ModelConfig

PAGE = "index.md"


def make(ctx):
    ctx.number("threads", torch.get_num_threads())
    ctx.number("data_dim", ModelConfig().data_dim)
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


def test_a_forked_worker_records_what_a_fresh_one_does(project, monkeypatch):
    monkeypatch.setenv(launcher.WARM_ENV, "0")
    build(project, jobs=2, log=quiet)
    fresh = record(project, "threads")
    monkeypatch.setenv(launcher.WARM_ENV, "1")
    report = build(project, jobs=2, force=True, log=quiet)
    assert report.results[0].status == "ran"
    assert record(project, "threads") == fresh
    # Only the package's own modules the script and the worker import are in
    # the record, not the launcher that forked it.
    assert "vae.config" in fresh["modules"]
    assert "vae.site.launcher" not in fresh["modules"]


def test_a_forked_worker_gets_its_share_of_the_threads(project, monkeypatch):
    monkeypatch.setattr(scheduler.os, "cpu_count", lambda: 4)
    build(project, jobs=2, log=quiet)
    assert build(project, log=quiet).numbers()["threads"]["threads"] == 2
    build(project, jobs=4, force=True, log=quiet)
    assert build(project, log=quiet).numbers()["threads"]["threads"] == 1


def test_a_worker_that_dies_is_a_failure_with_its_status_and_log(project):
    (project.figures_src / "crash.py").write_text(CRASHES)
    report = build(project, log=quiet)
    failed = {r.name: r.error for r in report.failed}
    assert list(failed) == ["crash"]
    assert "status 3" in failed["crash"] and "about to crash" in failed["crash"]
    assert {r.name: r.status for r in report.results}["threads"] == "ran"


def test_the_warm_parent_ends_with_the_build_and_takes_orphans_with_it(project, tmp_path):
    (project.figures_src / "slow.py").write_text(
        "import time\n\ndef make(ctx):\n    time.sleep(60)\n"
    )
    script = FigureScript("slow", project.figures_src / "slow.py", None, ())
    request = write_request("figure", "slow", script, project, tmp_path / "scratch")
    warm = launcher.WarmLauncher(project, threads=1)
    child = warm.start(request, tmp_path / "scratch" / "log.txt")
    assert child.poll() is None
    started = time.monotonic()
    warm.close()  # as if the scheduler had died without killing its task
    assert time.monotonic() - started < 10
    assert warm._process.returncode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)


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


def test_a_child_that_ends_before_its_start_is_read_is_not_lost(tmp_path):
    import io
    import types

    read, write = os.pipe()
    os.write(write, b"started 4242\nexited 4242 1\n")  # one chunk: the child died at once
    warm = launcher.WarmLauncher.__new__(launcher.WarmLauncher)
    warm.threads, warm._children, warm._early, warm._buffer = 1, {}, {}, b""
    warm._process = types.SimpleNamespace(stdin=io.BytesIO())
    warm._out = read
    os.set_blocking(read, False)  # as the launcher's own pipe is
    child = warm.start(tmp_path / "request.json", tmp_path / "log.txt")
    assert child.pid == 4242 and child.poll() == 1
    os.close(read)
    os.close(write)
