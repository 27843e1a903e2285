"""`python -m vae bench-site --precision`: does bfloat16 change the site's models?

Trains every experiment of the site three times at equal epochs: in float32,
in float32 with the next seed, and with bfloat16 matrix products (the losses and
sums stay float32). It prints, per model, the test ELBO of each, the bfloat16
run's difference from float32 next to the difference the seed alone makes, and
the training times. The site uses bfloat16 only where it multiplies natively
(see `vae.hardware.native_bf16`); this table is the evidence that its
models are the same models either way.
"""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent.futures import ProcessPoolExecutor

from vae.errors import VAEError
from vae.hardware import native_bf16

RUNS = (("fp32", 0), ("fp32", 1), ("bf16", 0))  # (precision, seed offset)


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def train_once(name: str, profile: str, precision: str, seed_offset: int) -> tuple[float, float]:
    """Test ELBO and training seconds of experiment `name` at `precision`."""
    from vae.data import load_dataset
    from vae.site import experiments
    from vae.train import train

    config = experiments.get(name).run_config(profile)  # type: ignore[arg-type]
    settings = dataclasses.replace(
        config.train, precision=precision, seed=config.train.seed + seed_offset
    )
    config = dataclasses.replace(config, train=settings)
    dataset = load_dataset(config.data.dataset)
    started = time.perf_counter()
    _, history = train(config, dataset, progress=False)
    return history[-1]["test_elbo"], time.perf_counter() - started


def run(profile: str = "full", jobs: int | None = None) -> str:
    """Trains the runs on `jobs` processes; returns the table as text.

    Raises:
        VAEError: this CPU has no native bfloat16 matrix products.
    """
    from vae.bench import format_table
    from vae.site import experiments

    if not native_bf16("cpu"):
        raise VAEError("this CPU has no native bfloat16 matrix products: nothing to compare")
    cores = os.cpu_count() or 1
    jobs = jobs or cores
    names = list(experiments.EXPERIMENTS)
    work = [(n, p, s) for n in names for p, s in RUNS]
    with ProcessPoolExecutor(
        jobs, initializer=_set_threads, initargs=(max(1, cores // jobs),)
    ) as pool:
        futures = {w: pool.submit(train_once, w[0], profile, w[1], w[2]) for w in work}
        results = {w: f.result() for w, f in futures.items()}
    rows = []
    worst = spread = 0.0
    for name in names:
        (fp32, fp32_s), (seed, _), (bf16, bf16_s) = (results[(name, p, s)] for p, s in RUNS)
        worst = max(worst, fp32 - bf16)
        spread = max(spread, abs(seed - fp32))
        rows.append(
            (
                name,
                f"{fp32:.2f}",
                f"{bf16:.2f}",
                f"{bf16 - fp32:+.2f}",
                f"{seed - fp32:+.2f}",
                f"{fp32_s:.1f}",
                f"{bf16_s:.1f}",
            )
        )
    header = (
        "model",
        "fp32 test ELBO",
        "bf16",
        "bf16 - fp32",
        "next seed - fp32",
        "fp32 s",
        "bf16 s",
    )
    return "\n".join(
        [
            f"precision, profile {profile}, equal epochs, {jobs} workers on {cores} cores",
            format_table(header, rows),
            f"bf16 at most {worst:.2f} nats below fp32; "
            f"the next seed moves fp32 by up to {spread:.2f} nats",
        ]
    )
