"""The figure pipeline, in temporary projects: what reruns, what is cached,
what a failure or a kill leaves behind, and byte-identical rebuilds."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vae.site import project as project_module
from vae.site import scheduler
from vae.site.project import Project
from vae.site.scheduler import build

REPO = Path(__file__).resolve().parents[1]

USES_PLOTTING = """
import numpy as np
from vae.site import plotting

PAGE = "index.md"


def make(ctx):
    fig, ax = plotting.figure()
    ax.plot(np.arange(5), np.arange(5) ** 2)
    ctx.save("line.svg", plotting.svg_bytes(fig))
    ctx.number("answer", 42)
"""

USES_CONFIG = """
from vae.config import ModelConfig


def make(ctx):
    ctx.save("size.txt", str(ModelConfig().data_dim).encode())
"""


@pytest.fixture
def project(tmp_path):
    """A checkout with the real package and two small figure scripts."""
    shutil.copytree(REPO / "vae", tmp_path / "vae", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "plot.py").write_text(USES_PLOTTING)
    (tmp_path / "figures" / "size.py").write_text(USES_CONFIG)
    return Project(tmp_path, "quick", tmp_path / "cache")


def statuses(report):
    return {r.name: r.status for r in report.results}


def quiet(line):
    pass


def test_first_build_runs_then_everything_is_cached(project):
    first = build(project, log=quiet)
    assert statuses(first) == {"plot": "ran", "size": "ran"}
    assert first.numbers() == {"plot": {"answer": 42}}
    assert (project.figures_out / "size" / "size.txt").read_text() == "784"
    second = build(project, log=quiet)
    assert statuses(second) == {"plot": "cached", "size": "cached"}


def test_the_record_names_the_modules_a_script_imported(project):
    build(project, log=quiet)
    plot = (project.figures_out / "plot" / scheduler.MANIFEST).read_text()
    size = (project.figures_out / "size" / scheduler.MANIFEST).read_text()
    assert '"vae.site.plotting"' in plot and '"vae.site.plotting"' not in size
    assert '"vae.config"' in size


def test_editing_a_module_reruns_only_the_figures_that_imported_it(project):
    build(project, log=quiet)
    plotting = project.package_dir / "site" / "plotting.py"
    plotting.write_text(plotting.read_text() + "\n\ndef extra():\n    return 1\n")
    assert statuses(build(project, log=quiet)) == {"plot": "ran", "size": "cached"}


def test_comments_and_docstrings_rerun_nothing(project):
    build(project, log=quiet)
    plotting = project.package_dir / "site" / "plotting.py"
    source = plotting.read_text().replace('"""Plotting helpers', '"""Helpers for plotting', 1)
    plotting.write_text(source + "\n# a comment\n")
    assert statuses(build(project, log=quiet)) == {"plot": "cached", "size": "cached"}


def test_editing_a_script_reruns_it(project):
    build(project, log=quiet)
    script = project.figures_src / "size.py"
    script.write_text(script.read_text().replace("data_dim", "latent_dim"))
    report = build(project, log=quiet)
    assert statuses(report) == {"plot": "cached", "size": "ran"}
    assert report.results[1].reason == "script changed"


def test_a_damaged_output_is_rebuilt(project):
    build(project, log=quiet)
    (project.figures_out / "size" / "size.txt").write_text("garbage")
    report = build(project, log=quiet)
    assert statuses(report) == {"plot": "cached", "size": "ran"}
    assert "damaged" in report.results[1].reason
    assert (project.figures_out / "size" / "size.txt").read_text() == "784"


def test_a_damaged_record_is_rebuilt(project):
    build(project, log=quiet)
    (project.figures_out / "plot" / scheduler.MANIFEST).write_text("{not json")
    assert statuses(build(project, log=quiet))["plot"] == "ran"


def test_a_failing_script_is_reported_with_its_traceback(project):
    (project.figures_src / "broken.py").write_text(
        "def make(ctx):\n    raise RuntimeError('boom')\n"
    )
    report = build(project, log=quiet)
    assert statuses(report)["broken"] == "failed"
    assert "RuntimeError: boom" in report.failed[0].error
    assert not (project.figures_out / "broken").exists()
    assert statuses(report)["plot"] == "ran"  # the others still build


def test_a_failure_keeps_the_last_good_output(project):
    build(project, log=quiet)
    script = project.figures_src / "size.py"
    script.write_text(script.read_text() + "\nraise ValueError('broken now')\n")
    report = build(project, log=quiet)
    assert statuses(report)["size"] == "failed"
    assert (project.figures_out / "size" / "size.txt").read_text() == "784"


def test_a_script_that_runs_too_long_is_stopped(project):
    (project.figures_src / "slow.py").write_text(
        "import time\n\ndef make(ctx):\n    time.sleep(60)\n"
    )
    started = time.monotonic()
    report = build(project, only=["slow"], timeout=1.0, log=quiet)
    assert time.monotonic() - started < 20
    assert "timed out" in report.failed[0].error


def test_only_and_force(project):
    build(project, log=quiet)
    report = build(project, only=["size"], force=True, log=quiet)
    assert statuses(report) == {"size": "ran"}
    with pytest.raises(scheduler.VAEError, match="unknown figure nope"):
        build(project, only=["nope"], log=quiet)


def test_cli_exit_status_names_the_failing_figure(project):
    (project.figures_src / "broken.py").write_text("def make(ctx):\n    1 / 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "vae", "figures", "--profile", "quick", "--root", project.root],
        capture_output=True,
        text=True,
        cwd=project.root,
        env={**os.environ, "VAE_CACHE_DIR": str(project.cache_dir)},
    )
    assert result.returncode == 2
    assert "ZeroDivisionError" in result.stderr
    assert "1 figure(s) failed: broken" in result.stderr
    assert "ran     plot" in result.stdout


def test_a_killed_build_leaves_no_half_written_output(project):
    (project.figures_src / "hang.py").write_text(
        "import pathlib, time\n\n"
        "def make(ctx):\n"
        "    ctx.save('half.txt', b'x')\n"
        f"    pathlib.Path({str(project.root / 'started')!r}).touch()\n"
        "    time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "vae", "figures", "--only", "hang", "--root", project.root],
        cwd=project.root,
        start_new_session=True,
        env={**os.environ, "VAE_CACHE_DIR": str(project.cache_dir), "VAE_PROFILE": "quick"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (project.root / "started").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (project.figures_out / "hang").exists()
    # The next build starts from nothing and sweeps up any leftovers.
    (project.figures_src / "hang.py").unlink()
    assert statuses(build(project, log=quiet)) == {"plot": "ran", "size": "ran"}
    leftovers = [p for p in project.figures_out.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_profile_from_env(monkeypatch):
    monkeypatch.delenv("VAE_PROFILE", raising=False)
    assert project_module.profile_from_env() == "full"
    monkeypatch.setenv("VAE_PROFILE", "quick")
    assert project_module.profile_from_env() == "quick"
    monkeypatch.setenv("VAE_PROFILE", "fast")
    with pytest.raises(scheduler.VAEError, match="choose quick or full"):
        project_module.profile_from_env()


USES_MODEL = """
from vae.site import plotting

MODELS = ("ae-2d",)


def make(ctx):
    run = ctx.model("ae-2d")
    ctx.number("epochs", run.config.train.epochs)
"""


def test_the_critical_path_is_the_last_figure_and_the_model_it_waited_for():
    event = scheduler.TaskEvent
    events = [
        event("model", "slow", "ran", 0.0, 9.0),
        event("model", "fast", "ran", 0.0, 2.0),
        event("figure", "late", "ran", 2.0, 11.0, needs=("fast",)),
        event("figure", "waits", "ran", 9.0, 10.0, needs=("slow", "fast")),
        event("figure", "old", "cached", 0.0, 0.0),
    ]
    assert [e.name for e in scheduler.critical_path(events)] == ["fast", "late"]
    events[2] = event("figure", "late", "ran", 2.0, 5.0, needs=("fast",))
    assert [e.name for e in scheduler.critical_path(events)] == ["slow", "waits"]
    assert [e.name for e in scheduler.critical_path(events[:2])] == ["slow"]
    assert scheduler.critical_path([events[4]]) == []


@pytest.mark.slow
def test_a_training_code_edit_retrains_its_models_and_reruns_only_their_figures(project):
    (project.figures_src / "model.py").write_text(USES_MODEL)
    lines = []
    first = build(project, log=lines.append)
    assert [(m.name, m.status) for m in first.models] == [("ae-2d", "ran")]
    assert statuses(first) == {"model": "ran", "plot": "ran", "size": "ran"}
    # The logged chain ends at the figure that ended last; which one that is
    # depends on the machine's load, so the line is checked against the events.
    path = scheduler.critical_path(first.events)
    logged = [line for line in lines if line.startswith("critical path: ")]
    assert len(logged) == 1 and f"figure {path[-1].name} " in logged[0]
    if path[-1].name == "model":
        assert logged[0].startswith("critical path: train ae-2d")
    # Nothing changed: nothing trains, nothing runs.
    again = build(project, log=quiet)
    assert again.models == [] and set(statuses(again).values()) == {"cached"}
    train = project.package_dir / "train.py"
    train.write_text(train.read_text() + "\n\ndef _edited():\n    return 1\n")
    edited = build(project, log=quiet)
    assert [(m.name, m.status) for m in edited.models] == [("ae-2d", "ran")]
    assert statuses(edited) == {"model": "ran", "plot": "cached", "size": "cached"}
    assert edited.results[0].reason == "model ae-2d changed"


def test_an_undeclared_model_is_a_clear_failure(project):
    (project.figures_src / "sneaky.py").write_text("def make(ctx):\n    ctx.model('vae-2d')\n")
    report = build(project, only=["sneaky"], log=quiet)
    assert "asks for 'vae-2d': add it to MODELS" in report.failed[0].error


def test_an_unknown_experiment_fails_before_anything_runs(project):
    (project.figures_src / "typo.py").write_text(
        "MODELS = ('vea-2d',)\n\ndef make(ctx):\n    pass\n"
    )
    with pytest.raises(scheduler.VAEError, match="unknown experiment 'vea-2d'"):
        build(project, log=quiet)
    assert not project.figures_out.exists() or not any(project.figures_out.iterdir())


def test_a_script_edited_while_it_runs_is_rerun_next_time(project):
    """The record describes the code that ran, not the file as it is afterwards."""
    path = project.figures_src / "edited.py"
    path.write_text(
        "import pathlib\n\n\n"
        "def make(ctx):\n"
        f"    p = pathlib.Path({str(path)!r})\n"
        "    p.write_text(p.read_text().replace('EDIT = 0', 'EDIT = 1'))\n\n\n"
        "EDIT = 0\n"
    )
    assert statuses(build(project, only=["edited"], log=quiet)) == {"edited": "ran"}
    second = build(project, only=["edited"], log=quiet)
    assert second.results[0].reason == "script changed"
    assert statuses(build(project, only=["edited"], log=quiet)) == {"edited": "cached"}


def test_a_syntax_error_in_a_script_is_two_lines_naming_file_and_line(project):
    (project.figures_src / "typo.py").write_text("PAGE = 'index.md'\n\ndef make(ctx)\n    pass\n")
    lines = []
    report = build(project, log=lines.append)
    assert statuses(report) == {"plot": "ran", "size": "ran", "typo": "failed"}
    assert report.failed[0].error == "figures/typo.py, line 3: expected ':'\n    def make(ctx)"
    assert "  FAILED  typo (its script does not parse)" in lines


def test_a_syntax_error_in_a_module_fails_only_the_figures_that_import_it(project):
    build(project, log=quiet)
    plotting = project.package_dir / "site" / "plotting.py"
    plotting.write_text(plotting.read_text() + "\ndef broken(:\n")
    report = build(project, log=quiet)
    assert statuses(report) == {"plot": "failed", "size": "cached"}
    assert report.results[0].reason == "vae.site.plotting changed"
    assert report.failed[0].error.startswith("vae/site/plotting.py, line ")
    assert report.failed[0].error.endswith("\n    def broken(:")


def test_a_syntax_error_in_the_training_code_is_one_clear_error(project):
    (project.figures_src / "model.py").write_text(USES_MODEL)
    train = project.package_dir / "train.py"
    train.write_text(train.read_text() + "\nif True\n")
    # (vae.site.fingerprint.import_closure parses without a file name: it names none.)
    with pytest.raises(scheduler.VAEError, match=r", line \d+: expected ':'\n    if True$"):
        build(project, log=quiet)


def test_a_model_is_trained_with_its_reason_missing_or_damaged(project):
    (project.figures_src / "model.py").write_text(USES_MODEL)
    scripts = [s for s in scheduler.discover(project.figures_src) if s.name == "model"]
    (task,) = [t for t in scheduler.plan(project, scripts)[0] if t.kind == "model"]
    assert (task.name, task.reason) == ("ae-2d", "not in the store")
    store = scheduler.ModelStore(project.models_dir, project.profile, project.package_dir)
    store.path("ae-2d").mkdir(parents=True)
    (store.path("ae-2d") / "weights.safetensors").write_bytes(b"not weights")
    (task,) = [t for t in scheduler.plan(project, scripts)[0] if t.kind == "model"]
    assert task.reason.startswith("its stored copy is damaged: ")
    assert "not a complete run" in task.reason


def test_a_build_sweeps_what_killed_builds_left_half_written(project):
    project.models_dir.mkdir(parents=True)
    project.figures_out.mkdir(parents=True)
    dead = 2**22 + 1  # above the kernel's largest pid: no such process
    leftovers = [
        project.figures_out.parent / f".{scheduler.TIMINGS}.{dead}.partial",
        project.models_dir / ".ae-2d-0123.abcd.partial",
        project.figures_out / ".plot.efgh.partial",
    ]
    leftovers[0].write_text("{")
    for directory in leftovers[1:]:
        directory.mkdir()
    build(project, log=quiet)
    assert [p for p in leftovers if p.exists()] == []


def test_the_events_of_the_last_build_are_kept_for_the_benchmark(project):
    report = build(project, log=quiet)
    assert [(e.kind, e.name, e.status) for e in report.events] in (
        [("figure", "plot", "ran"), ("figure", "size", "ran")],
        [("figure", "size", "ran"), ("figure", "plot", "ran")],
    )
    assert all(0 < e.start < e.end <= report.seconds for e in report.events)
    assert scheduler.last_build(project) == report.events
    again = build(project, log=quiet)
    assert [e.status for e in scheduler.last_build(project)] == ["cached", "cached"]
    assert scheduler.last_build(project) == again.events
