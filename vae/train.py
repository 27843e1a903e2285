"""The training loop: Adam on the negative (beta-weighted) ELBO, or on minus the
importance-weighted bound L_k (`vae.losses`).

The whole training set lives in one tensor on the device; an epoch is a random
permutation cut into batches, so no per-example Python code runs, and the loop
waits for the device only once every `CHECK_EVERY` steps, to check the loss.
Every random draw (initialisation, shuffling, noise on z, dynamic binarization)
comes from generators seeded by `TrainConfig.seed`, so a run is repeatable for a
given seed, device and thread count.

The loss of a batch is the mean over its examples of
-(log p(x|z) - beta * KL(q(z|x) || p(z))), each term summed over dimensions, or
of -L_k; either way each history row reports the ELBO and its two terms. Beta
may rise over the first epochs (KL annealing) and the KL may have free bits
(`vae.losses`); the test loss, which decides whether training worked, is
always the one they lead to: the full beta, no free bits.

Training stops with a `TrainingError`, and returns nothing to save, when the
training loss becomes NaN or infinite, or when training made the model worse.
Training exists to lower the loss, so the trained model's test loss must end
below the untrained model's, L0. A run whose test loss after an epoch exceeds L0
by more than |L0| (twice L0, for a positive loss) has run away and is stopped
there, without spending its remaining epochs; one that ends above L0 by any
amount is refused at the end. A spike within an epoch that the optimiser
recovers from, or a worse epoch that later ones make up for, is not counted.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable

import torch

from vae.config import DEVICES, RunConfig, TrainConfig
from vae.data import Dataset, binarize, fixed_generator, test_inputs, to_unit_interval
from vae.errors import TrainingError, VAEError
from vae.losses import batch_loss
from vae.models import LatentModel, build_model
from vae.precision import BF16Optimizer, autocast

EVAL_BATCH = 1000  # examples per forward pass when evaluating; affects memory only
EVAL_SEED = 4321  # seed of the noise on z when evaluating, so test numbers repeat
IWAE_BATCH = 100  # images per IWAE pass; affects memory only
# Decoded pixels (samples x images x pixels) per IWAE chunk. Each of the few
# tensors of that size alive at once takes 64 MiB in float32, so an estimate
# stays well under 1 GB whatever k is.
IWAE_CHUNK_ELEMENTS = 2**24
CHECK_EVERY = 100  # training steps between two checks that the loss is finite


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when it is available and the CPU otherwise."""
    if name not in DEVICES:
        raise VAEError(f"unknown device {name!r}; choose {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VAEError("--device cuda was asked for, but torch sees no CUDA device")
    return torch.device(name)


def make_optimizer(params: Iterable[torch.Tensor], learning_rate: float) -> torch.optim.Optimizer:
    """Adam with the fused kernel, which updates every parameter in one pass.

    On a 2-core CPU the default per-tensor loop costs almost as much as the
    model's matrix products.
    """
    return torch.optim.Adam(params, lr=learning_rate, fused=True)


@torch.no_grad()
def evaluate(
    model: LatentModel,
    x: torch.Tensor,
    beta: float = 1.0,
    seed: int = EVAL_SEED,
    iwae_k: int | None = None,
) -> dict[str, float]:
    """Mean test ELBO, reconstruction term and KL over inputs x, one z per example.

    The loss is minus the beta-weighted ELBO or, given `iwae_k` (for a model
    trained on the importance-weighted bound), minus the bound with that many samples.
    """
    model.eval()
    generator = torch.Generator(device=x.device).manual_seed(seed)
    totals = torch.zeros(2, dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], EVAL_BATCH):
        terms = model.terms(x[start : start + EVAL_BATCH], generator)
        totals += torch.stack([terms.log_px_given_z.sum(), terms.kl.sum()]).double()
    log_px_given_z, kl = (totals / x.shape[0]).tolist()
    loss = -(log_px_given_z - beta * kl) if iwae_k is None else -iwae_estimate(model, x, iwae_k)
    return {
        "elbo": log_px_given_z - kl,
        "loss": loss,
        "log_px_given_z": log_px_given_z,
        "kl": kl,
    }


@torch.no_grad()
def iwae_estimate(
    model: LatentModel,
    x: torch.Tensor,
    k: int,
    seed: int = EVAL_SEED,
    samples_per_chunk: int | None = None,
) -> float:
    """Mean over x of the IWAE bound with k samples: a lower bound on log p(x) in nats.

    The k samples of a batch of images are decoded a chunk at a time, and their
    log-sum-exp is accumulated across chunks, so memory does not grow with k.
    The samples, and so the estimate, do not depend on the chunk size.

    Args:
        model: a model with a density q(z|x) (not the plain autoencoder).
        x: inputs, shape (N, *image_shape).
        k: importance samples per image.
        seed: seed of the samples.
        samples_per_chunk: samples decoded at once; by default as many as fit
            in `IWAE_CHUNK_ELEMENTS` decoded pixels.
    """
    if k < 1:
        raise VAEError(f"k must be >= 1, got {k}")
    model.eval()
    generator = torch.Generator(device=x.device).manual_seed(seed)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], IWAE_BATCH):
        batch = x[start : start + IWAE_BATCH]
        chunk = samples_per_chunk or max(1, IWAE_CHUNK_ELEMENTS // batch[0].numel() // len(batch))
        posterior = model.encode(batch)
        # log sum_i w_i over the samples so far; log(a + b) = logaddexp(log a, log b).
        log_sum = torch.full((len(batch),), -math.inf, device=x.device)
        for first in range(0, k, chunk):
            log_w = model.log_weights(batch, min(chunk, k - first), generator, posterior)
            log_sum = torch.logaddexp(log_sum, torch.logsumexp(log_w, dim=0))
        total += (log_sum - math.log(k)).double().sum()  # L_k = log (1/k) sum_i w_i
    return total.item() / x.shape[0]


def _test(model: LatentModel, x: torch.Tensor, settings: TrainConfig) -> dict[str, float]:
    """`evaluate`, with the loss of the objective being trained."""
    if settings.objective == "iwae":
        return evaluate(model, x, settings.beta, iwae_k=settings.k)
    return evaluate(model, x, settings.beta)


def _stop(epoch: int, what: str) -> TrainingError:
    return TrainingError(f"training stopped in epoch {epoch}: {what}; try a lower learning rate")


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
        epoch's beta, the training loss, ELBO and its terms, the test ELBO and
        its terms, the seconds of the training pass and of the whole epoch with
        evaluation.

    Raises:
        TrainingError: the loss became NaN or infinite, or diverged (the message
            names the epoch), or the trained model's test loss is above the
            untrained model's.
        VAEError: bf16 precision on a device without it.
    """
    device = torch.device(device)
    settings = config.train
    precision = autocast(settings.precision, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = build_model(config.model).to(device)
    shuffle_gen = torch.Generator().manual_seed(settings.seed)
    noise_gen = torch.Generator(device=device).manual_seed(settings.seed + 1)
    binarize_gen = torch.Generator(device=device).manual_seed(settings.seed + 2)
    optimizer: torch.optim.Optimizer | BF16Optimizer
    if settings.precision == "bf16":
        # bfloat16 weights, a float32 master copy; evaluation reads the master.
        optimizer = BF16Optimizer(model, lambda p: make_optimizer(p, settings.learning_rate))
        float32 = optimizer.float32
    else:
        optimizer = make_optimizer(model.parameters(), settings.learning_rate)
        float32 = contextlib.nullcontext

    probabilities = to_unit_interval(dataset.train_images.to(device))  # (N, 28, 28)
    binarization = config.data.binarize
    if binarization == "fixed":
        train_x = binarize(probabilities.cpu(), fixed_generator()).to(device)
    else:
        train_x = probabilities
    test_x = test_inputs(dataset, binarization).to(device)

    n = train_x.shape[0]
    steps = math.ceil(n / settings.batch_size)
    history: list[dict[str, float]] = []
    with float32():
        untrained_loss = _test(model, test_x, settings)["loss"]
    diverged_above = untrained_loss + abs(untrained_loss)
    bar = _progress_bar(settings.epochs * steps, progress, f"train {config.model.kind}")
    try:
        for epoch in range(1, settings.epochs + 1):
            started = time.perf_counter()
            beta = settings.beta_at(epoch)  # below settings.beta while the KL warms up
            if binarization == "dynamic":
                train_x = binarize(probabilities, binarize_gen)
            model.train()
            order = torch.randperm(n, generator=shuffle_gen).to(device)
            # log p(x|z), KL and the loss summed over the epoch's examples.
            sums = torch.zeros(3, dtype=torch.float64, device=device)
            for step in range(steps):
                batch = order[step * settings.batch_size : (step + 1) * settings.batch_size]
                x = train_x.index_select(0, batch)  # a third of the time of train_x[batch]
                with precision:  # summed over dimensions, averaged over the batch
                    loss, terms = batch_loss(model, x, settings, beta, noise_gen)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                sums += torch.stack(
                    [terms.log_px_given_z.sum(), terms.kl.sum(), loss * x.shape[0]]
                ).detach()
                if (step + 1) % CHECK_EVERY == 0 or step + 1 == steps:
                    if not torch.isfinite(sums).all():  # waits for the device, once per check
                        raise _stop(epoch, "the training loss became NaN or infinite")
                bar.update()
            train_rec, train_kl, train_loss = (sums / n).tolist()
            train_seconds = time.perf_counter() - started
            with float32():
                test = _test(model, test_x, settings)
            if not test["loss"] <= diverged_above:
                raise _stop(
                    epoch,
                    f"the test loss diverged to {test['loss']:.3g} nats, against "
                    f"{untrained_loss:.1f} for the untrained model",
                )
            row = {
                "epoch": epoch,
                "beta": beta,
                "train_loss": train_loss,
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
    if history and history[-1]["test_loss"] > untrained_loss:
        epochs = "1 epoch" if len(history) == 1 else f"{len(history)} epochs"
        raise TrainingError(
            f"training made the model worse: its test loss rose from {untrained_loss:.1f} nats "
            f"untrained to {history[-1]['test_loss']:.1f} after {epochs}; try a lower learning rate"
        )
    if isinstance(optimizer, BF16Optimizer):
        optimizer.release()
    model.eval()
    return model, history


def step_flops(model: LatentModel, x: torch.Tensor, settings: TrainConfig) -> int:
    """The matrix-product FLOPs of one training step on the batch x, forward and
    backward, as torch's `FlopCounterMode` counts them: a cost that, unlike a
    time, is the same on every machine and every run. The model's gradients are
    cleared afterwards."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        loss, _ = batch_loss(model, x, settings, settings.beta, torch.Generator().manual_seed(0))
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def training_flops(model: LatentModel, x: torch.Tensor, settings: TrainConfig, digits: int) -> int:
    """The matrix-product FLOPs of a whole training run on `digits` training
    examples: one step's on a batch of the run's size from x (repeated if x is
    smaller), times the run's steps (`step_flops`)."""
    batch = x[: settings.batch_size]
    if len(batch) < settings.batch_size:
        repeats = -(-settings.batch_size // len(batch))
        batch = batch.repeat(repeats, *([1] * (batch.dim() - 1)))[: settings.batch_size]
    steps = math.ceil(digits / settings.batch_size) * settings.epochs
    return step_flops(model, batch, settings) * steps


def _progress_bar(total: int, show: bool | None, description: str):
    from tqdm.auto import tqdm  # imported here: start-up stays lean

    disable = None if show is None else not show
    return tqdm(total=total, disable=disable, unit="step", desc=description, leave=False)
