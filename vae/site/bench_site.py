"""`python -m vae bench-site`: how long the site takes to build, what reruns,
and how each task's time compares with the floor its arithmetic sets.

In a temporary copy of the checkout, with an empty cache, it times with
`mkdocs build`:

1. a clean build (every model trained, every figure drawn);
2. a rebuild with nothing changed, against a plain MkDocs build of the same
   pages with the figure hook switched off: the difference is the hook's cost;
3. a rebuild after a prose-only edit;
4. a rebuild after adding a function to `vae/site/plotting.py`;
5. a rebuild after adding a function to `vae/train.py` (the training code).

It then reruns every figure once more with their matrix products' FLOPs counted
(`torch.utils.flop_counter`), and prints, per model and per figure, the time it
took in the clean build next to its floor: its FLOPs at the rate this machine
multiplies matrices on one worker's threads. A model's FLOPs are estimated as
6 x examples x weights per training epoch (forward and backward) plus
2 x examples x weights per evaluation.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COPIED = ("vae", "figures", "docs", "mkdocs.yml")
SUMMARY = re.compile(
    r"figures \((\w+)\): (\d+) ran, (\d+) cached, (\d+) failed; (\d+) models trained"
)
# A task's line, "  trained NAME  9.4 s", after the log's prefix (not the summary's "trained in").
TASK = re.compile(r"(?:^|:)\s+(trained|ran)\s+(\S+)\s+([\d.]+) s$", re.MULTILINE)
CRITICAL = re.compile(r"critical path: (.+)$", re.MULTILINE)
# The matrix product the floor is measured on: a batch through the first layer.
FLOOR_SHAPE = (128, 784, 400)


def copy_checkout(root: Path, destination: Path) -> Path:
    """Copies what a site build reads (package, scripts, pages, config) to `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def _mkdocs(root: Path, config: str, profile: str, jobs: int | None) -> tuple[float, str]:
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
    return seconds, result.stderr


def _counts(log: str) -> tuple[str, str]:
    match = SUMMARY.search(log)
    if not match:
        return "-", "-"
    return match.group(2), match.group(5)


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
    from vae.site.project import Project
    from vae.site.scheduler import build

    cores = os.cpu_count() or 1
    jobs = jobs or cores
    with tempfile.TemporaryDirectory(prefix="vae-bench-site-") as tmp:
        copy = Path(tmp)
        copy_checkout(root, copy)
        config = (copy / "mkdocs.yml").read_text()
        plain = re.sub(r"(?m)^hooks:\n(?:  - .*\n)+", "", config)
        (copy / "mkdocs-plain.yml").write_text(plain)
        rows = []
        seconds, clean_log = _mkdocs(copy, "mkdocs.yml", profile, jobs)
        rows.append(("clean build", seconds, *_counts(clean_log)))
        seconds, log = _mkdocs(copy, "mkdocs.yml", profile, jobs)
        plain_seconds, _ = _mkdocs(copy, "mkdocs-plain.yml", profile, jobs)
        rows.append(("rebuild, nothing changed", seconds, *_counts(log)))
        rows.append(("plain MkDocs build (no hook)", plain_seconds, "-", "-"))
        page = next((copy / "docs").glob("*.md"))
        page.write_text(page.read_text() + "\nA sentence added by the benchmark.\n")
        seconds, log = _mkdocs(copy, "mkdocs.yml", profile, jobs)
        rows.append(("rebuild after a prose edit", seconds, *_counts(log)))
        for module in ("site/plotting.py", "train.py"):
            path = copy / "vae" / module
            path.write_text(path.read_text() + "\n\ndef _benchmark_edit():\n    return 1\n")
            seconds, log = _mkdocs(copy, "mkdocs.yml", profile, jobs)
            rows.append((f"rebuild after editing vae/{module}", seconds, *_counts(log)))

        os.environ["VAE_COUNT_FLOPS"] = "1"
        try:
            project = Project(copy, profile, copy / "cache")  # type: ignore[arg-type]
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
    critical = CRITICAL.search(clean_log)
    clean_times = {(kind, name): float(s) for kind, name, s in TASK.findall(clean_log)}
    task_rows = []
    for (kind, name), secs in sorted(clean_times.items(), key=lambda item: -item[1]):
        if kind == "trained":
            flops = model_flops(name, profile)
        else:
            result = next((r for r in counted.results if r.name == name), None)
            flops = float(result.flops) if result is not None and result.flops else 0.0
        floor = flops / rate
        ratio = f"{secs / floor:.1f}x" if floor > 0.05 else "-"
        what = "model" if kind == "trained" else "figure"
        task_rows.append((what, name, f"{secs:.1f}", f"{flops / 1e9:.1f}", f"{floor:.2f}", ratio))
    tasks = _table(("task", "name", "seconds", "GFLOP", "floor s", "time / floor"), task_rows)
    m, k, n = FLOOR_SHAPE
    return "\n".join(
        [
            f"site build, profile {profile}, {cores} cores, {jobs} workers",
            builds,
            f"hook overhead on a no-change rebuild: {overhead:+.2f} s",
            f"critical path of the clean build: {critical.group(1) if critical else '-'}",
            "",
            f"per task in the clean build; floor = its matrix-product FLOPs at "
            f"{rate / 1e9:.0f} GFLOP/s (fp32 {m}x{k} by {k}x{n} on {threads} thread(s), "
            "the rate one worker gets; a lower bound for this kind of code, not for any code)",
            tasks,
        ]
    )
