"""`python -m vae bench`: this package's trainer against a conventional loader.

Three measurements in one process, on one dataset:

(a) `vae.train.train` on the architecture of the PyTorch VAE example
    (784-400-20, ReLU, batch 128, Adam 1e-3, summed binary cross-entropy);
(b) the same model and loss fed the way that example feeds MNIST: a
    `torch.utils.data.DataLoader` over a per-example dataset whose items go
    through a PIL image and a to-tensor transform, one by one;
(c) the machine's matrix-multiply rate, which turns the FLOPs of one epoch
    into a floor: no trainer of this model can run an epoch faster.

Times are of the training pass alone (test evaluation excluded), the median
over epochs after the first. Both report the test loss, -ELBO in nats, after
the same number of epochs.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from vae.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from vae.data import Dataset, load_dataset, to_unit_interval
from vae.train import train

HIDDEN, LATENT, BATCH, LR = 400, 20, 128, 1e-3


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
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
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


def conventional(dataset: Dataset, epochs: int, seed: int) -> tuple[list[float], float]:
    """Trains (b); returns seconds per training pass and the final test loss."""
    torch.manual_seed(seed)
    model = ExampleVAE(dataset.train_images[0].numel())
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(
        PerItemImages(dataset.train_images, dataset.train_labels), batch_size=BATCH, shuffle=True
    )
    seconds = []
    for _ in range(epochs):
        model.train()
        started = time.perf_counter()
        for x, _ in loader:
            optimizer.zero_grad()
            x_hat, mu, logvar = model(x)
            example_loss(x_hat, x, mu, logvar).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - started)
    model.eval()
    test_x = to_unit_interval(dataset.test_images)
    total = 0.0
    with torch.no_grad():
        for batch in test_x.split(1000):
            x_hat, mu, logvar = model(batch)
            total += example_loss(x_hat, batch, mu, logvar).item()
    return seconds, total / len(test_x)


def matmul_rate(size: int = 1024, seconds: float = 1.0) -> float:
    """Sustained float32 FLOP/s of square matrix products on this machine."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
    return 2 * size**3 * count / (time.perf_counter() - started)


def epoch_flops(data_dim: int, n: int) -> float:
    """FLOPs of one training epoch: forward, and backward for weights and activations.

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


def run(dataset_name: str, epochs: int, data_dir: str | None = None, seed: int = 0) -> str:
    """Runs (a), (b) and (c) and returns the table as text."""
    dataset = load_dataset(dataset_name, data_dir)
    n, data_dim = len(dataset.train_images), dataset.train_images[0].numel()
    config = RunConfig(
        ModelConfig(
            kind="vae",
            image_shape=tuple(dataset.train_images.shape[1:]),
            hidden_sizes=(HIDDEN,),
            latent_dim=LATENT,
            likelihood="bernoulli",
        ),
        DataConfig(dataset_name, "continuous"),
        TrainConfig(epochs=epochs, batch_size=BATCH, learning_rate=LR, seed=seed),
    )
    _, history = train(config, dataset, "cpu", progress=False)
    ours = [row["train_seconds"] for row in history]
    theirs, their_loss = conventional(dataset, epochs, seed)
    floor = epoch_flops(data_dim, n) / matmul_rate()

    def typical(seconds: list[float]) -> float:
        return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)

    a, b = typical(ours), typical(theirs)
    rows = [
        (
            "(a) vae.train",
            f"{a:.3f}",
            f"{b / a:.2f}x",
            f"{a / floor:.2f}x",
            f"{history[-1]['test_loss']:.2f}",
        ),
        (
            "(b) DataLoader, per-item transform",
            f"{b:.3f}",
            "1.00x",
            f"{b / floor:.2f}x",
            f"{their_loss:.2f}",
        ),
        ("(c) matmul floor", f"{floor:.3f}", f"{b / floor:.2f}x", "1.00x", "-"),
    ]
    header = ("trainer", "s/epoch", "speed-up vs (b)", "x floor", f"test loss @{epochs} ep")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        f"dataset {dataset_name}: {n} train / {len(dataset.test_images)} test, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
