"""`python -m vae bench`: this package's trainer against the PyTorch VAE example.

Every trainer fits the architecture of the PyTorch VAE example
(github.com/pytorch/examples, `vae/main.py`): 784-400-20 with ReLU, batch 128,
Adam with learning rate 1e-3, summed binary cross-entropy on gray levels. All
start from the images already in memory as uint8 tensors, train for the same
number of epochs and use the same optimizer, `vae.train.make_optimizer` (Adam's
fused kernel), except the one row that runs the example as published. Each
trainer runs `RUNS` times with a fresh model (seeds 0, 1, ...); the tables give
the median over the runs and their range.

The trainers:

- `vae.train` in float32, and in bfloat16 where torch has it on the CPU;
- the example's model, loss and loop, fed batches sliced from one resident
  tensor: the same loop over in-memory tensors;
- the same loop fed by the example's `DataLoader`: a per-example dataset whose
  items go through a PIL image and a to-tensor transform, one by one;
- the example as published: that `DataLoader` and torch's default Adam.

The first table times the training pass alone, per epoch, beside a floor: the
epoch's matrix-product FLOPs at the measured float32 rate of its largest
product (128x784 by 784x400). Lower precision, larger products or other kernels
can run faster than that rate; the floor says how far a trainer is from the
arithmetic, not that nothing can be faster. The second table times the whole
job: building the model, training, and a pass over the test set after every
epoch, as the example does (without writing its sample images). The test loss
is -ELBO per test image in nats, with one z per image.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from vae.config import DataConfig, ModelConfig, Precision, RunConfig, TrainConfig
from vae.data import Dataset, load_dataset, to_unit_interval
from vae.models import reparameterize
from vae.precision import supports_bf16
from vae.train import make_optimizer, train

HIDDEN, LATENT, BATCH, LR = 400, 20, 128, 1e-3
RUNS = 3  # runs of every timing
IN_MEMORY = "example loop, in-memory tensors"
LOADER = "example loop, its DataLoader"
PUBLISHED = "example as published (default Adam)"
TEST_BATCH = 1000  # test images per forward pass of the in-memory loop


def format_table(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the header, a rule, then the rows, in left-aligned columns.

    Raises:
        ValueError: a row has more or fewer cells than the header.
    """
    table = [[str(cell) for cell in header], *([str(cell) for cell in row] for row in rows)]
    for row in table:
        if len(row) != len(table[0]):
            raise ValueError(f"row {row} has {len(row)} cells, the header {len(table[0])}")
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(table[0]), line(["-" * w for w in widths]), *map(line, table[1:])])


# -- the PyTorch example ------------------------------------------------------


class ExampleVAE(nn.Module):
    """The layers of the PyTorch example's VAE, named as in this package."""

    def __init__(self, data_dim: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(data_dim, HIDDEN)
        self.mean = nn.Linear(HIDDEN, LATENT)
        self.logvar = nn.Linear(HIDDEN, LATENT)
        self.decoder_hidden = nn.Linear(LATENT, HIDDEN)
        self.output = nn.Linear(HIDDEN, data_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = F.relu(self.hidden(x.flatten(start_dim=1)))
        mu, logvar = self.mean(h), self.logvar(h)
        z = reparameterize(mu, logvar)
        x_hat = torch.sigmoid(self.output(F.relu(self.decoder_hidden(z))))
        return x_hat, mu, logvar


def example_loss(x_hat, x, mu, logvar) -> torch.Tensor:
    """Summed BCE plus analytic KL, summed over the batch, as in the example."""
    bce = F.binary_cross_entropy(x_hat, x.flatten(start_dim=1), reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kl


class PerItemImages(torch.utils.data.Dataset):
    """Images served one at a time through PIL and a to-tensor transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        image = Image.fromarray(self.images[i].numpy(), mode="L")
        pixels = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True))
        return pixels.unsqueeze(0).to(torch.float32).div(255.0), int(self.labels[i])


@dataclass(frozen=True)
class Job:
    """What one run of a trainer measured."""

    train_seconds: float  # the training passes, all epochs together
    seconds: float  # the whole job
    test_loss: float  # -ELBO per test image after the last epoch, nats


def _batches_in_memory(dataset: Dataset) -> tuple[Callable, Callable]:
    train_x = to_unit_interval(dataset.train_images)  # (N, 28, 28)
    test_x = to_unit_interval(dataset.test_images)

    def train_batches():
        order = torch.randperm(len(train_x))
        return (
            train_x.index_select(0, order[i : i + BATCH]) for i in range(0, len(train_x), BATCH)
        )

    return train_batches, lambda: test_x.split(TEST_BATCH)


def _batches_from_loader(dataset: Dataset) -> tuple[Callable, Callable]:
    train_loader = DataLoader(
        PerItemImages(dataset.train_images, dataset.train_labels), batch_size=BATCH, shuffle=True
    )
    test_loader = DataLoader(
        PerItemImages(dataset.test_images, dataset.test_labels), batch_size=BATCH
    )
    return (lambda: (x for x, _ in train_loader)), (lambda: (x for x, _ in test_loader))


def example_job(
    dataset: Dataset, epochs: int, seed: int, feed: str, published: bool = False
) -> Job:
    """The example's whole job: model, `epochs` epochs, a test pass after each.

    Args:
        dataset: the images.
        epochs: passes over the training set.
        seed: seeds the initialisation, the shuffling and the noise.
        feed: "tensors" (batches sliced from resident tensors) or "loader"
            (the example's DataLoader with its per-item transform).
        published: use the example's own optimizer, Adam with torch's default
            implementation, instead of `make_optimizer`.
    """
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        batches = {"tensors": _batches_in_memory, "loader": _batches_from_loader}[feed]
        train_batches, test_batches = batches(dataset)
        model = ExampleVAE(dataset.train_images[0].numel())
        if published:
            optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        else:
            optimizer = make_optimizer(model.parameters(), LR)
        train_seconds = 0.0
        for _ in range(epochs):
            model.train()
            epoch_started = time.perf_counter()
            for x in train_batches():
                optimizer.zero_grad()
                x_hat, mu, logvar = model(x)
                example_loss(x_hat, x, mu, logvar).backward()
                optimizer.step()
            train_seconds += time.perf_counter() - epoch_started
            model.eval()
            total = 0.0
            with torch.no_grad():
                for x in test_batches():
                    x_hat, mu, logvar = model(x)
                    total += example_loss(x_hat, x, mu, logvar).item()
    return Job(train_seconds, time.perf_counter() - started, total / len(dataset.test_images))


def package_job(dataset: Dataset, epochs: int, seed: int, precision: Precision = "fp32") -> Job:
    """`vae.train.train` on the example's settings: the whole job, timed."""
    started = time.perf_counter()
    config = RunConfig(
        ModelConfig(
            kind="vae",
            image_shape=tuple(dataset.train_images.shape[1:]),
            hidden_sizes=(HIDDEN,),
            latent_dim=LATENT,
            likelihood="bernoulli",
        ),
        DataConfig(dataset.name, "continuous"),
        TrainConfig(
            epochs=epochs, batch_size=BATCH, learning_rate=LR, seed=seed, precision=precision
        ),
    )
    _, history = train(config, dataset, "cpu", progress=False)
    seconds = time.perf_counter() - started
    return Job(sum(row["train_seconds"] for row in history), seconds, history[-1]["test_loss"])


# -- the floor ----------------------------------------------------------------


def matmul_rate(
    m: int = BATCH, k: int = 784, n: int = HIDDEN, dtype=torch.float32, seconds: float = 0.5
) -> float:
    """Sustained FLOP/s of an (m, k) by (k, n) matrix product in `dtype`."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    for _ in range(10):
        a @ b
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    return 2 * m * k * n * count / (time.perf_counter() - started)


def epoch_flops(data_dim: int, n: int) -> float:
    """Matrix-product FLOPs of one training epoch: forward, and backward for
    weights and activations.

    Each linear layer of fan-in i and fan-out o costs 2io per example forward,
    2io for its weight gradient and 2io for its input gradient, except the first,
    whose input (the data) needs no gradient. Elementwise work is not counted.
    """
    layers = [
        (data_dim, HIDDEN),
        (HIDDEN, LATENT),
        (HIDDEN, LATENT),
        (LATENT, HIDDEN),
        (HIDDEN, data_dim),
    ]
    per_example = sum(6 * i * o for i, o in layers) - 2 * data_dim * HIDDEN
    return float(per_example * n)


# -- the tables ---------------------------------------------------------------


def _summary(values: list[float], digits: int = 2) -> tuple[str, str]:
    """The median, and the range as 'min-max'."""
    return (
        f"{statistics.median(values):.{digits}f}",
        f"{min(values):.{digits}f}-{max(values):.{digits}f}",
    )


def run(dataset_name: str, epochs: int, data_dir: str | None = None, runs: int = RUNS) -> str:
    """Runs every trainer `runs` times and returns the two tables as text.

    The runs are interleaved (every trainer once, then every trainer again), so
    that a change in the machine's load falls on all trainers alike.
    """
    dataset = load_dataset(dataset_name, data_dir)
    n, data_dim = len(dataset.train_images), dataset.train_images[0].numel()
    trainers: dict[str, Callable[[int], Job]] = {
        "vae.train, fp32": lambda seed: package_job(dataset, epochs, seed, "fp32"),
    }
    if supports_bf16("cpu"):
        trainers["vae.train, bf16"] = lambda seed: package_job(dataset, epochs, seed, "bf16")
    trainers[IN_MEMORY] = lambda seed: example_job(dataset, epochs, seed, "tensors")
    trainers[LOADER] = lambda seed: example_job(dataset, epochs, seed, "loader")
    trainers[PUBLISHED] = lambda seed: example_job(dataset, epochs, seed, "loader", True)
    jobs: dict[str, list[Job]] = {name: [] for name in trainers}
    rates = []
    for seed in range(runs):
        for name, trainer in trainers.items():
            jobs[name].append(trainer(seed))
        rates.append(matmul_rate())
    floors = [epoch_flops(data_dim, n) / rate for rate in rates]

    per_epoch, whole = [], []
    reference = statistics.median(job.seconds for job in jobs[LOADER])
    for name, results in jobs.items():
        loss = f"{statistics.median(job.test_loss for job in results):.2f}"
        seconds = [job.train_seconds / epochs for job in results]
        speed = statistics.median(seconds) / statistics.median(floors)
        per_epoch.append((name, *_summary(seconds), f"{speed:.1f}x", loss))
        seconds = [job.seconds for job in results]
        speed_up = reference / statistics.median(seconds)
        whole.append((name, *_summary(seconds, 1), f"{speed_up:.2f}x", loss))
    shape = f"{BATCH}x{data_dim} by {data_dim}x{HIDDEN}"
    per_epoch.append((f"floor, {shape} fp32 rate", *_summary(floors), "1.0x", "-"))

    lines = [
        f"{dataset_name}: {n} training and {len(dataset.test_images)} test images; "
        f"{data_dim}-{HIDDEN}-{LATENT}, batch {BATCH}, Adam lr {LR:g} (fused except as "
        f"published); {epochs} epoch(s); median and range of {runs} run(s); "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}",
        "",
        "Training pass, seconds per epoch",
        format_table(("trainer", "median", "range", "x floor", "test loss"), per_epoch),
        f"The floor is the epoch's {epoch_flops(data_dim, n) / 1e9:.0f} GFLOP of matrix "
        f"products at {statistics.median(rates) / 1e9:.0f} GFLOP/s, the measured rate of "
        f"one {shape} float32 product; bf16 and other kernels can run faster.",
        "",
        f"The whole job ({epochs} epoch(s), a test pass after each), seconds",
        format_table(("trainer", "median", "range", "speed-up", "test loss"), whole),
        f"Speed-up: against '{LOADER}'. Test loss: -ELBO per test image, nats.",
    ]
    if not supports_bf16("cpu"):
        lines.append("This CPU has no bfloat16 matrix products: no bf16 row.")
    return "\n".join(lines)
