"""`python -m vae bench-site`: how long the site takes to build, what reruns,
and how each task's time compares with the floor its arithmetic sets.

In a temporary copy of the checkout, with an empty cache, it times with
`mkdocs build`:

1. a clean build (every model trained, every figure drawn);
2. a rebuild with nothing changed, against a plain MkDocs build of the same
   pages with the figures plugin switched off: the difference is the plugin's cost;
3. a rebuild after a prose-only edit;
4. a rebuild after adding a function to `vae/site/plotting.py`;
5. a rebuild after adding a function to `vae/train.py` (the training code).

What each build ran is read from the events the scheduler keeps of its last
build (`vae.site.scheduler.last_build`), not from its log.

It then reruns every figure once more with their matrix products' FLOPs counted
(`torch.utils.flop_counter`), and prints, per model and per figure, the time it
took in the clean build next to its floor: its FLOPs at the rate this machine
multiplies matrices on one worker's threads. A model's FLOPs are estimated as
6 x examples x weights per training epoch (forward and backward) plus
2 x examples x weights per evaluation.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vae.site.project import Project, copy_checkout
from vae.site.scheduler import TaskEvent, critical_path, last_build

PLUGIN = "- vae-figures"  # the line of mkdocs.yml that the plain build leaves out
# The matrix product the floor is measured on: a batch through the first layer.
FLOOR_SHAPE = (128, 784, 400)


def without_plugin(config: str) -> str:
    """mkdocs.yml without the figures plugin: the plain build the plugin's cost is
    measured against."""
    lines = config.splitlines(keepends=True)
    return "".join(line for line in lines if line.split("#")[0].strip() != PLUGIN)


def _mkdocs(root: Path, config: str, profile: str, jobs: int | None) -> float:
    env = {
        **os.environ,
        "VAE_PROFILE": profile,
        "VAE_CACHE_DIR": str(root / "cache"),
        "NO_MKDOCS_2_WARNING": "1",
    }
    if jobs:
        env["VAE_JOBS"] = str(jobs)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", config],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"mkdocs build failed:\n{result.stderr[-3000:]}")
    return seconds


def counts(events: list[TaskEvent]) -> tuple[str, str]:
    """(figures rerun, models trained) in a build's events."""
    figures = sum(e.kind == "figure" and e.status == "ran" for e in events)
    models = sum(e.kind == "model" and e.status == "ran" for e in events)
    return str(figures), str(models)


def describe_path(events: list[TaskEvent]) -> str:
    """The critical path of a build, as the scheduler logs it."""
    path = critical_path(events)
    if not path:
        return "-"
    verb = {"model": "train", "figure": "figure"}
    chain = " -> ".join(f"{verb[e.kind]} {e.name} {e.seconds:.1f} s" for e in path)
    return f"{chain} (ends at {path[-1].end:.1f} s)"


def matmul_rate(threads: int, repeats: int = 50) -> float:
    """FLOP/s of an fp32 matrix product of FLOOR_SHAPE on `threads` threads."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        m, k, n = FLOOR_SHAPE
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(5):
            a @ b
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        return 2 * m * k * n * repeats / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)


def model_flops(name: str, profile: str) -> float:
    """Estimated FLOPs of training experiment `name`, evaluation included."""
    from vae.data import load_dataset
    from vae.models import build_model
    from vae.site import experiments

    config = experiments.get(name).run_config(profile)  # type: ignore[arg-type]
    model = build_model(config.model)
    weights = sum(p.numel() for p in model.parameters() if p.dim() == 2)  # the matrices
    dataset = load_dataset(config.data.dataset)
    train, test = len(dataset.train_images), len(dataset.test_images)
    return float(config.train.epochs * (6 * train + 2 * test) * weights)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    from vae.bench import format_table

    return format_table(header, rows)


def run(root: Path, profile: str = "full", jobs: int | None = None) -> str:
    """Runs the builds and the FLOP count; returns the tables as text."""
    from vae.site.scheduler import build

    cores = os.cpu_count() or 1
    jobs = jobs or cores
    with tempfile.TemporaryDirectory(prefix="vae-bench-site-") as tmp:
        copy = Path(tmp)
        copy_checkout(root, copy)
        project = Project(copy, profile, copy / "cache")  # type: ignore[arg-type]
        (copy / "mkdocs-plain.yml").write_text(without_plugin((copy / "mkdocs.yml").read_text()))

        def timed(what: str) -> None:
            seconds = _mkdocs(copy, "mkdocs.yml", profile, jobs)
            rows.append((what, seconds, *counts(last_build(project))))

        rows: list[tuple[str, float, str, str]] = []
        timed("clean build")
        clean = last_build(project)
        timed("rebuild, nothing changed")
        plain_seconds = _mkdocs(copy, "mkdocs-plain.yml", profile, jobs)
        rows.append(("plain MkDocs build (no plugin)", plain_seconds, "-", "-"))
        page = next((copy / "docs").glob("*.md"))
        page.write_text(page.read_text() + "\nA sentence added by the benchmark.\n")
        timed("rebuild after a prose edit")
        for module in ("site/plotting.py", "train.py"):
            path = copy / "vae" / module
            path.write_text(path.read_text() + "\n\ndef _benchmark_edit():\n    return 1\n")
            timed(f"rebuild after editing vae/{module}")

        os.environ["VAE_COUNT_FLOPS"] = "1"
        try:
            counted = build(project, force=True, jobs=jobs, log=lambda _: None)
        finally:
            del os.environ["VAE_COUNT_FLOPS"]

    threads = max(1, cores // jobs)
    rate = matmul_rate(threads)
    builds = _table(
        ("build", "seconds", "figures rerun", "models trained"),
        [(r[0], f"{r[1]:.2f}", r[2], r[3]) for r in rows],
    )
    overhead = rows[1][1] - rows[2][1]
    flops = {r.name: r.flops for r in counted.results}
    task_rows = []
    ran = [e for e in clean if e.status == "ran"]
    for event in sorted(ran, key=lambda e: -e.seconds):
        if event.kind == "model":
            task_flops = model_flops(event.name, profile)
        else:
            task_flops = float(flops.get(event.name) or 0.0)
        floor = task_flops / rate
        ratio = f"{event.seconds / floor:.1f}x" if floor > 0.05 else "-"
        task_rows.append(
            (
                event.kind,
                event.name,
                f"{event.seconds:.1f}",
                f"{task_flops / 1e9:.1f}",
                f"{floor:.2f}",
                ratio,
            )
        )
    tasks = _table(("task", "name", "seconds", "GFLOP", "floor s", "time / floor"), task_rows)
    m, k, n = FLOOR_SHAPE
    return "\n".join(
        [
            f"site build, profile {profile}, {cores} cores, {jobs} workers",
            builds,
            f"plugin overhead on a no-change rebuild: {overhead:+.2f} s",
            f"critical path of the clean build: {describe_path(clean)}",
            "",
            f"per task in the clean build; floor = its matrix-product FLOPs at "
            f"{rate / 1e9:.0f} GFLOP/s (fp32 {m}x{k} by {k}x{n} on {threads} thread(s), "
            "the rate one worker gets; a lower bound for this kind of code, not for any code)",
            tasks,
        ]
    )
