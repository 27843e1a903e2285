"""The training loop: Adam on the negative (beta-weighted) ELBO.

The whole training set lives in one tensor on the device; an epoch is a random
permutation cut into batches, so no per-example Python code runs. Every random
draw (initialisation, shuffling, noise on z, dynamic binarization) comes from
generators seeded by `TrainConfig.seed`, so a run is repeatable for a given seed,
device and thread count.

The loss of a batch is the mean over its examples of
-(log p(x|z) - beta * KL(q(z|x) || p(z))), each term summed over dimensions.
"""

from __future__ import annotations

import math
import time

import torch
from tqdm.auto import tqdm

from vae import objectives
from vae.config import RunConfig
from vae.data import Dataset, binarize, fixed_generator, test_inputs, to_unit_interval
from vae.errors import VAEError
from vae.models import LatentModel, build_model

EVAL_BATCH = 1000  # examples per forward pass when evaluating; affects memory only
EVAL_SEED = 4321  # seed of the noise on z when evaluating, so test numbers repeat


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when it is available and the CPU otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VAEError("--device cuda was asked for, but torch sees no CUDA device")
    if name not in ("cpu", "cuda"):
        raise VAEError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)


@torch.no_grad()
def evaluate(
    model: LatentModel, x: torch.Tensor, beta: float = 1.0, seed: int = EVAL_SEED
) -> dict[str, float]:
    """Mean test ELBO, reconstruction term and KL over inputs x, one z per example."""
    model.eval()
    generator = torch.Generator(device=x.device).manual_seed(seed)
    totals = torch.zeros(2, dtype=torch.float64)
    for start in range(0, x.shape[0], EVAL_BATCH):
        terms = model.terms(x[start : start + EVAL_BATCH], generator)
        totals += torch.stack([terms.log_px_given_z.sum(), terms.kl.sum()]).double().cpu()
    log_px_given_z, kl = (totals / x.shape[0]).tolist()
    return {
        "elbo": log_px_given_z - kl,
        "loss": -(log_px_given_z - beta * kl),
        "log_px_given_z": log_px_given_z,
        "kl": kl,
    }


@torch.no_grad()
def iwae_estimate(
    model: LatentModel, x: torch.Tensor, k: int, seed: int = EVAL_SEED, batch: int = 100
) -> float:
    """Mean over x of the IWAE bound with k samples: a lower bound on log p(x) in nats."""
    if k < 1:
        raise VAEError(f"k must be >= 1, got {k}")
    model.eval()
    generator = torch.Generator(device=x.device).manual_seed(seed)
    total = 0.0
    for start in range(0, x.shape[0], batch):
        log_w = model.log_weights(x[start : start + batch], k, generator)
        total += objectives.iwae_bound(log_w).double().sum().item()
    return total / x.shape[0]


def train(
    config: RunConfig,
    dataset: Dataset,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
) -> tuple[LatentModel, list[dict[str, float]]]:
    """Trains a fresh model as `config` describes.

    Args:
        config: model, data and optimisation settings.
        dataset: the images; `config.data.dataset` should name it.
        device: where to train.
        progress: show a progress bar; None shows one only on a terminal.

    Returns:
        The trained model (in eval mode) and one history row per epoch with the
        training loss, ELBO and its terms, the test ELBO and its terms, the
        seconds of the training pass and of the whole epoch with evaluation.

    Raises:
        VAEError: the loss became NaN or infinite; the message names epoch and step.
    """
    device = torch.device(device)
    tc = config.train
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(tc.seed)
        model = build_model(config.model).to(device)
    shuffle_gen = torch.Generator().manual_seed(tc.seed)
    noise_gen = torch.Generator(device=device).manual_seed(tc.seed + 1)
    binarize_gen = torch.Generator(device=device).manual_seed(tc.seed + 2)
    # The fused kernel updates every parameter in one pass; on a 2-core CPU the
    # default per-tensor loop costs almost as much as the model's matrix products.
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.learning_rate, fused=True)

    probabilities = to_unit_interval(dataset.train_images).to(device)  # (N, 28, 28)
    mode = config.data.binarize
    if mode == "fixed":
        train_x = binarize(probabilities.cpu(), fixed_generator()).to(device)
    else:
        train_x = probabilities
    test_x = test_inputs(dataset, mode).to(device)

    n = train_x.shape[0]
    steps = math.ceil(n / tc.batch_size)
    history: list[dict[str, float]] = []
    bar = tqdm(
        total=tc.epochs * steps,
        disable=None if progress is None else not progress,
        unit="step",
        desc=f"train {config.model.kind}",
        leave=False,
    )
    try:
        for epoch in range(1, tc.epochs + 1):
            started = time.perf_counter()
            if mode == "dynamic":
                train_x = binarize(probabilities, binarize_gen)
            model.train()
            order = torch.randperm(n, generator=shuffle_gen).to(device)
            sums = torch.zeros(2, dtype=torch.float64, device=device)
            for step in range(steps):
                x = train_x[order[step * tc.batch_size : (step + 1) * tc.batch_size]]
                # --8<-- [start:step]
                terms = model.terms(x, noise_gen)
                loss = -objectives.elbo(terms.log_px_given_z, terms.kl, tc.beta).mean()
                if not torch.isfinite(loss):
                    raise VAEError(
                        f"training stopped: the loss became {loss.item()} at epoch {epoch}, "
                        f"step {step + 1}; try a lower learning rate"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                # --8<-- [end:step]
                sums += torch.stack([terms.log_px_given_z.sum(), terms.kl.sum()]).detach()
                bar.update()
            train_rec, train_kl = (sums / n).tolist()
            train_seconds = time.perf_counter() - started
            test = evaluate(model, test_x, tc.beta)
            row = {
                "epoch": epoch,
                "train_loss": -(train_rec - tc.beta * train_kl),
                "train_elbo": train_rec - train_kl,
                "train_log_px_given_z": train_rec,
                "train_kl": train_kl,
                "test_loss": test["loss"],
                "test_elbo": test["elbo"],
                "test_log_px_given_z": test["log_px_given_z"],
                "test_kl": test["kl"],
                "train_seconds": train_seconds,
                "seconds": time.perf_counter() - started,
            }
            history.append(row)
            bar.set_postfix(epoch=epoch, test_elbo=f"{test['elbo']:.1f}")
    finally:
        bar.close()
    model.eval()
    return model, history
